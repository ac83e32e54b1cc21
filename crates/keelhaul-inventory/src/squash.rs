//! From per-layer facts to the image's inventory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use keelhaul_analyze::{Artifact, Fact, ImageView, LayerFacts};
use keelhaul_core::{Digest, Ecosystem, Evidence, Location, OsRelease, Package, purl_for};

use crate::os;

/// What is installed in an image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// The distribution, if detected.
    pub os: Option<OsRelease>,
    /// Installed packages, sorted by ecosystem, name, version, arch.
    pub packages: Vec<Package>,
    /// Problems found while reading layers and stacking them, one line each.
    pub warnings: Vec<String>,
}

/// Preference among database files that describe the same thing in one layer.
fn db_rank(db: &str) -> u8 {
    match db {
        "rpm-sqlite" => 0,
        "rpm-ndb" => 1,
        "rpm-bdb" => 2,
        _ => 3,
    }
}

/// Stack the layers' facts (bottom first) into an inventory. `layer_ids[i]` names layer
/// `i` in package locations.
pub fn build(layers: &[LayerFacts], layer_ids: &[Option<Digest>]) -> Inventory {
    let view = ImageView::new(layers);
    let mut warnings = Vec::new();
    for path in os::RELEASE_FILES {
        if let Err(e) = view.resolve(path) {
            warnings.push(e.to_string());
        }
    }
    let mut detected = os::detect(|p| view.text(p));

    let visible = view.visible_artifacts();
    // The top-most visible database per (analyzer, slot).
    let mut databases: BTreeMap<(&str, &str), (usize, &Artifact)> = BTreeMap::new();
    for &(layer, artifact) in &visible {
        let Fact::Packages { db, .. } = &artifact.fact else {
            continue;
        };
        let key = (artifact.analyzer.as_str(), artifact.slot());
        let better = match databases.get(&key) {
            None => true,
            Some(&(l, a)) => match &a.fact {
                Fact::Packages { db: other, .. } => {
                    layer > l || (layer == l && db_rank(db) < db_rank(other))
                }
                _ => true,
            },
        };
        if better {
            databases.insert(key, (layer, artifact));
        }
    }

    let mut packages: Vec<Package> = Vec::new();
    let mut distroless = false;
    for (&(analyzer, slot), &(top, artifact)) in &databases {
        let Fact::Packages {
            db,
            packages: top_packages,
        } = &artifact.fact
        else {
            continue;
        };
        distroless |= db == "dpkg-distroless";
        let lineage = view.lineage(analyzer, slot, top);
        let introduced = introduced_layers(top_packages, &lineage);
        for (p, introduced) in top_packages.iter().zip(introduced) {
            let layer = layer_ids.get(introduced.unwrap_or(top)).cloned().flatten();
            let mut p = p.clone();
            // Analyzers may name where inside the file a package was seen (a jar in a jar)
            // and what kind of record it is; the default is the file itself, installed.
            if p.locations.is_empty() {
                p.locations
                    .push(Location::file(artifact.path.clone(), Evidence::Installed));
            }
            for l in p.locations.iter_mut().filter(|l| l.layer.is_none()) {
                l.layer.clone_from(&layer);
            }
            packages.push(p);
        }
    }

    attach_owned_files(&mut packages, &visible);

    if detected.is_none() && distroless {
        detected = Some(distroless_debian(&packages));
    }
    for p in &mut packages {
        if p.purl.is_empty() {
            p.purl = purl_for(p, detected.as_ref());
        }
    }
    // Ownership is decided per record, before merging: a jar Debian installed and the
    // same jar bundled in an application are different things to match.
    attach_owners(&mut packages);
    let packages = merge_duplicates(packages);

    for (i, l) in layers.iter().enumerate() {
        let id = layer_ids.get(i).cloned().flatten().map_or_else(
            || format!("layer {i}"),
            |d| format!("layer {i} ({})", d.short()),
        );
        warnings.extend(l.warnings.iter().map(|w| format!("{id}: {w}")));
    }
    Inventory {
        os: detected,
        packages,
        warnings,
    }
}

/// For each package of the top database version, the lowest layer of the unbroken run of
/// versions, ending at the top, that all record it: the layer that installed it (or last
/// upgraded it). One identity set per version keeps this linear in the packages.
fn introduced_layers<'a>(
    top: &'a [Package],
    lineage: &[(usize, &'a Artifact)],
) -> Vec<Option<usize>> {
    let mut introduced: Vec<Option<usize>> = vec![None; top.len()];
    let mut alive: Vec<bool> = vec![true; top.len()];
    for (layer, artifact) in lineage.iter().rev() {
        let Fact::Packages { packages, .. } = &artifact.fact else {
            break;
        };
        let here: HashSet<(&str, &str, Option<&str>)> =
            packages.iter().map(Package::identity).collect();
        for (i, p) in top.iter().enumerate() {
            if alive[i] && here.contains(&p.identity()) {
                introduced[i] = Some(*layer);
            } else {
                alive[i] = false;
            }
        }
        if !alive.iter().any(|a| *a) {
            break;
        }
    }
    introduced
}

/// One package per (ecosystem, name, version, arch, owning OS package), with the
/// locations of every record that listed it: a package both installed and declared in a
/// lockfile is reported once, with both evidences. Sorted by those keys.
fn merge_duplicates(mut packages: Vec<Package>) -> Vec<Package> {
    let key = |p: &Package| {
        (
            p.ecosystem,
            p.name.clone(),
            p.version.clone(),
            p.arch.clone(),
            p.owned_by.clone(),
        )
    };
    packages.sort_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| a.locations.cmp(&b.locations))
    });
    let mut merged: Vec<Package> = Vec::with_capacity(packages.len());
    for p in packages {
        match merged.last_mut() {
            Some(last) if key(last) == key(&p) => {
                last.locations.extend(p.locations);
                last.source_name = last.source_name.take().or(p.source_name);
                last.source_version = last.source_version.take().or(p.source_version);
                last.supplier = last.supplier.take().or(p.supplier);
                if last.licenses.is_empty() {
                    last.licenses = p.licenses;
                }
                if last.files.is_empty() {
                    last.files = p.files;
                }
            }
            _ => merged.push(p),
        }
    }
    // A declaration nothing else installed (a lockfile pinning the very version Debian
    // ships, with no copy of its own) refers to the OS package's copy: it joins it.
    let owned: HashMap<(Ecosystem, String, String), usize> = merged
        .iter()
        .enumerate()
        .filter(|(_, p)| p.owned_by.is_some())
        .map(|(i, p)| ((p.ecosystem, p.name.clone(), p.version.clone()), i))
        .collect();
    let mut absorbed = vec![false; merged.len()];
    for i in 0..merged.len() {
        let p = &merged[i];
        let declared_only =
            p.owned_by.is_none() && p.locations.iter().all(|l| l.evidence == Evidence::Declared);
        if let Some(&j) = owned.get(&(p.ecosystem, p.name.clone(), p.version.clone()))
            && declared_only
        {
            let locations = std::mem::take(&mut merged[i].locations);
            merged[j].locations.extend(locations);
            absorbed[i] = true;
        }
    }
    let mut merged: Vec<Package> = merged
        .into_iter()
        .zip(absorbed)
        .filter(|(_, a)| !a)
        .map(|(p, _)| p)
        .collect();
    for p in &mut merged {
        p.locations.sort();
        p.locations.dedup();
    }
    merged
}

/// Mark language packages whose files an OS package installed (Debian's `python3-yaml`
/// ships `yaml/` and its `dist-info`): they are the distro's, patched by it, and matched
/// through its advisories only.
fn attach_owners(packages: &mut [Package]) {
    let mut owner_of: HashMap<String, String> = HashMap::new();
    for p in packages.iter().filter(|p| p.ecosystem.is_os()) {
        for f in &p.files {
            owner_of.entry(f.clone()).or_insert_with(|| p.purl.clone());
        }
    }
    if owner_of.is_empty() {
        return;
    }
    for p in packages.iter_mut().filter(|p| !p.ecosystem.is_os()) {
        let owner = p.locations.iter().find_map(|l| {
            // `archive.jar!member` is owned through the archive.
            let path = l.path.split('!').next().unwrap_or(&l.path);
            owner_of.get(path)
        });
        p.owned_by = owner.cloned();
    }
}

/// dpkg keeps file lists apart from the status file; give each package its files.
fn attach_owned_files(packages: &mut [Package], visible: &[(usize, &Artifact)]) {
    let mut owned: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (_, a) in visible {
        if let Fact::OwnedFiles { package, files } = &a.fact {
            owned
                .entry(package.as_str())
                .or_default()
                .extend(files.iter().map(String::as_str));
        }
    }
    if owned.is_empty() {
        return;
    }
    for p in packages
        .iter_mut()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
    {
        let with_arch = p.arch.as_ref().map(|a| format!("{}:{a}", p.name));
        let files = with_arch
            .as_deref()
            .and_then(|k| owned.get(k))
            .or_else(|| owned.get(p.name.as_str()));
        if let Some(files) = files {
            p.files = files.iter().map(|f| (*f).to_owned()).collect();
        }
    }
}

/// Distroless images have no release file; the major version of Debian's `base-files`
/// names the release (`12.4+deb12u5` is Debian 12; its minor is base-files' own, not the
/// point release).
fn distroless_debian(packages: &[Package]) -> OsRelease {
    let version = packages
        .iter()
        .find(|p| p.ecosystem == Ecosystem::Deb && p.name == "base-files")
        .and_then(|p| p.version.split(['.', '+', '-', '~']).next())
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_owned);
    let mut os = OsRelease::new("debian", version.as_deref());
    os.pretty_name = Some("Distroless (dpkg status.d)".into());
    os.source_file = Some("var/lib/dpkg/status.d".into());
    os
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dpkg_layer(packages: &[(&str, &str)]) -> LayerFacts {
        LayerFacts {
            matched: vec!["var/lib/dpkg/status".into()],
            artifacts: vec![Artifact {
                analyzer: "dpkg".into(),
                path: "var/lib/dpkg/status".into(),
                slot: None,
                fact: Fact::Packages {
                    db: "dpkg".into(),
                    packages: packages
                        .iter()
                        .map(|(n, v)| Package::new(Ecosystem::Deb, *n, *v))
                        .collect(),
                },
            }],
            ..LayerFacts::default()
        }
    }

    #[test]
    fn attributes_packages_to_the_layer_that_installed_them() {
        let layers = vec![
            dpkg_layer(&[("base", "1"), ("libc", "2.36")]),
            dpkg_layer(&[("base", "1"), ("libc", "2.36-9"), ("curl", "8")]),
            LayerFacts::default(),
        ];
        let ids: Vec<Option<Digest>> = (0..3).map(|i| Some(Digest::sha256_of(&[i]))).collect();
        let inv = build(&layers, &ids);
        let layer_of = |name: &str| {
            let p = inv
                .packages
                .iter()
                .find(|p| p.name == name)
                .expect("present");
            ids.iter().position(|id| id == &p.locations[0].layer)
        };
        assert_eq!(layer_of("base"), Some(0));
        assert_eq!(
            layer_of("libc"),
            Some(1),
            "an upgrade counts as introduced by the upgrading layer"
        );
        assert_eq!(layer_of("curl"), Some(1));
        assert_eq!(inv.packages.len(), 3);
    }

    #[test]
    fn ownership_keeps_bundled_copies_apart_and_takes_declarations_in() {
        let mut os = Package::new(Ecosystem::Deb, "liblog4j2-java", "2.19.0-1");
        os.purl = "pkg:deb/debian/liblog4j2-java@2.19.0-1".into();
        os.files = vec!["usr/share/java/log4j-core.jar".into()];
        let app = |path: &str, evidence| {
            let mut p = Package::new(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.19.0",
            );
            p.locations = vec![Location::file(path, evidence)];
            p
        };
        let mut packages = vec![
            os,
            app("usr/share/java/log4j-core.jar", Evidence::Installed),
            app(
                "opt/app/app.jar!BOOT-INF/lib/log4j-core.jar",
                Evidence::Installed,
            ),
            app("opt/app/pom.xml", Evidence::Declared),
        ];
        attach_owners(&mut packages);
        let merged = merge_duplicates(packages);
        let log4j: Vec<&Package> = merged
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Maven)
            .collect();
        assert_eq!(
            log4j.len(),
            2,
            "the bundled copy is not Debian's: {log4j:?}"
        );
        let owned = log4j
            .iter()
            .find(|p| p.owned_by.is_some())
            .expect("Debian's jar");
        assert_eq!(owned.evidence(), [Evidence::Installed]);
        let bundled = log4j
            .iter()
            .find(|p| p.owned_by.is_none())
            .expect("the bundled jar");
        // The declaration joined the bundled (unowned) copy, which exists.
        assert_eq!(
            bundled.evidence(),
            [Evidence::Installed, Evidence::Declared]
        );

        // With no copy of its own, a declaration joins the OS package's copy.
        let mut os = Package::new(Ecosystem::Deb, "python3-six", "1.16.0-4");
        os.purl = "pkg:deb/debian/python3-six@1.16.0-4".into();
        os.files = vec!["usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO".into()];
        let six = |path: &str, evidence| {
            let mut p = Package::new(Ecosystem::Pypi, "six", "1.16.0");
            p.locations = vec![Location::file(path, evidence)];
            p
        };
        let mut packages = vec![
            os,
            six(
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
                Evidence::Installed,
            ),
            six("app/uv.lock", Evidence::Declared),
        ];
        attach_owners(&mut packages);
        let merged = merge_duplicates(packages);
        let six: Vec<&Package> = merged
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Pypi)
            .collect();
        assert_eq!(six.len(), 1);
        assert!(six[0].owned_by.is_some());
        assert_eq!(six[0].evidence(), [Evidence::Installed, Evidence::Declared]);
    }

    #[test]
    fn a_whiteout_removes_the_database() {
        let mut top = LayerFacts::default();
        top.whiteouts.push("var/lib/dpkg".into());
        let layers = vec![dpkg_layer(&[("base", "1")]), top];
        assert!(build(&layers, &[None, None]).packages.is_empty());
    }
}
