//! Node.js packages end to end: a real `npm install` tree with its `package-lock.json`
//! (plus the lockfiles yarn classic, yarn berry and pnpm 5–9 wrote for the same
//! `package.json`), a layer that deletes one installed package and replaces another, all
//! scanned by the real binary and compared with npm's own view of the tree (`npm query`),
//! Syft and Trivy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::node::{TOOLS, lockfile, projects};
use keelhaul_test::{keelhaul, peers, prerequisite};
use serde_json::Value;

/// (name, version) → paths.
type Found = BTreeMap<(String, String), BTreeSet<String>>;

/// keelhaul's npm packages with their locations of one evidence kind.
fn keelhaul_npm(report: &Value, evidence: &str) -> Found {
    let mut out = Found::new();
    for p in report["packages"].as_array().unwrap() {
        if p["ecosystem"] != "npm" {
            continue;
        }
        let key = (
            p["name"].as_str().unwrap().to_owned(),
            p["version"].as_str().unwrap().to_owned(),
        );
        for l in p["locations"].as_array().unwrap() {
            if l["evidence"] == evidence {
                out.entry(key.clone())
                    .or_default()
                    .insert(l["path"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}

/// `pkg:npm/%40scope/name@1.2.3?…` → (`@scope/name`, `1.2.3`).
fn npm_coordinates(purl: &str) -> Option<(String, String)> {
    let rest = purl.strip_prefix("pkg:npm/")?;
    let rest = rest.split(['?', '#']).next()?;
    let (name, version) = rest.rsplit_once('@')?;
    let decode = |s: &str| {
        s.replace("%40", "@")
            .replace("%2F", "/")
            .replace("%2f", "/")
    };
    Some((decode(name), decode(version)))
}

fn peer_npm(artifacts: &[peers::PeerArtifact]) -> Found {
    let mut out = Found::new();
    for a in artifacts.iter().filter(|a| a.purl_type == "npm") {
        let key = npm_coordinates(&a.purl).unwrap_or_else(|| panic!("purl {}", a.purl));
        out.entry(key).or_default().extend(a.paths.iter().cloned());
    }
    out
}

/// npm's own view of the installed tree: every package `npm query '*'` lists under a
/// `node_modules` directory (not the project, not workspace members), with the path of its
/// `package.json` under `prefix`.
fn npm_tree(project: &Path, prefix: &str) -> Found {
    let out = Command::new("npm")
        .args(["query", "*"])
        .current_dir(project)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "npm query: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found = Found::new();
    for n in nodes.as_array().unwrap() {
        let location = n["location"].as_str().unwrap_or_default();
        if !(location.starts_with("node_modules/") || location.contains("/node_modules/")) {
            continue;
        }
        found
            .entry((
                n["name"].as_str().unwrap().to_owned(),
                n["version"].as_str().unwrap().to_owned(),
            ))
            .or_default()
            .insert(format!("{prefix}/{location}/package.json"));
    }
    found
}

fn names(found: &Found) -> BTreeSet<String> {
    found.keys().map(|(n, v)| format!("{n}@{v}")).collect()
}

#[test]
fn npm_tree_and_lockfiles_against_npm_syft_and_trivy() {
    let Some(projects) = projects() else {
        prerequisite(false, "npm with access to the npm registry");
        return;
    };
    let npm3 = projects.join("npm3");
    let ms_2_0_0 = npm3.join("node_modules/debug/node_modules/ms");

    // Layer 1: the real install. Layer 2: the other tools' lockfiles for the same
    // package.json. Layer 3: `rm -rf node_modules/minimist` and `node_modules/ms` replaced
    // by the older copy debug nests (an opaque directory with ms 2.0.0's real files).
    let mut lockfiles = Layer::new()
        .compression(Compression::None)
        .created_by("COPY lockfiles /app/lockfiles");
    let mut tools = Vec::new();
    for (tool, file) in TOOLS {
        if tool == "npm3" {
            continue;
        }
        match lockfile(&projects, tool) {
            Some(p) => {
                lockfiles = lockfiles.file(
                    &format!("app/lockfiles/{tool}/{file}"),
                    std::fs::read(p).unwrap(),
                );
                tools.push((tool, file));
            }
            None => {
                prerequisite(false, &format!("{tool} lockfile"));
            }
        }
    }
    let mut replace = Layer::new()
        .compression(Compression::None)
        .created_by("RUN rm -rf node_modules/minimist && cp -r node_modules/debug/node_modules/ms node_modules/")
        .whiteout("app/web/node_modules/minimist")
        .opaque("app/web/node_modules/ms");
    for f in ["package.json", "index.js", "license.md", "readme.md"] {
        if let Ok(data) = std::fs::read(ms_2_0_0.join(f)) {
            replace = replace.file(&format!("app/web/node_modules/ms/{f}"), data);
        }
    }
    let image = Image::new()
        .layer(
            Layer::new()
                .compression(Compression::None)
                .created_by("RUN npm install")
                .tree(&npm3, "app/web"),
        )
        .layer(lockfiles)
        .layer(replace);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let archive = s.join("node.tar");
    let built = image.write_docker_archive(&archive, "keelhaul/node:1");
    let target = format!("docker-archive:{}", archive.display());
    let report = keelhaul(s, &["scan", &target, "--format", "json", "--no-cache"])
        .success()
        .json();
    let warnings = report["warnings"].as_array().map_or(0, Vec::len);
    assert_eq!(warnings, 0, "{}", report["warnings"]);

    // What npm installed, then what the top layer changed.
    let installed_by_npm = npm_tree(&npm3, "app/web");
    let mut expected = installed_by_npm.clone();
    let minimist = ("minimist".to_owned(), "1.2.0".to_owned());
    let ms_new = ("ms".to_owned(), "2.1.3".to_owned());
    let ms_old = ("ms".to_owned(), "2.0.0".to_owned());
    assert!(
        expected.remove(&minimist).is_some(),
        "npm installed minimist 1.2.0"
    );
    assert!(
        expected.remove(&ms_new).is_some(),
        "npm installed ms 2.1.3 at the top level"
    );
    expected
        .get_mut(&ms_old)
        .expect("debug nests ms 2.0.0")
        .insert("app/web/node_modules/ms/package.json".into());

    let installed = keelhaul_npm(&report, "installed");
    assert_eq!(
        installed,
        expected,
        "installed packages: only keelhaul {:?}, only expected {:?}",
        names(&installed)
            .difference(&names(&expected))
            .collect::<Vec<_>>(),
        names(&expected)
            .difference(&names(&installed))
            .collect::<Vec<_>>()
    );

    // Every lockfile declares what npm installed before the top layer: minimist and ms
    // 2.1.3 stay declared (the lockfile was not updated), without installed evidence.
    let declared = keelhaul_npm(&report, "declared");
    assert_eq!(names(&declared), names(&installed_by_npm));
    let mut lock_paths: BTreeSet<String> = tools
        .iter()
        .map(|(tool, file)| format!("app/lockfiles/{tool}/{file}"))
        .collect();
    lock_paths.insert("app/web/package-lock.json".into());
    for (key, paths) in &declared {
        assert_eq!(paths, &lock_paths, "{key:?} is declared by every lockfile");
    }
    assert!(!installed.contains_key(&minimist) && declared.contains_key(&minimist));

    // Layers: the replaced `ms` belongs to the layer that replaced it.
    let diff_ids: Vec<String> = built.layers.iter().map(|l| l.1.to_string()).collect();
    let layer_of = |name: &str, version: &str, path: &str| -> usize {
        let p = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["ecosystem"] == "npm" && p["name"] == name && p["version"] == version)
            .unwrap();
        let l = p["locations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["path"] == path)
            .unwrap_or_else(|| panic!("{name} {version} at {path}: {p}"));
        diff_ids
            .iter()
            .position(|d| l["layer"] == d.as_str())
            .unwrap()
    };
    assert_eq!(
        layer_of("ms", "2.0.0", "app/web/node_modules/ms/package.json"),
        2
    );
    assert_eq!(
        layer_of(
            "ms",
            "2.0.0",
            "app/web/node_modules/debug/node_modules/ms/package.json"
        ),
        0
    );
    assert_eq!(
        layer_of(
            "lodash",
            "4.17.15",
            "app/web/node_modules/lodash/package.json"
        ),
        0
    );
    assert_eq!(
        layer_of("lodash", "4.17.15", "app/lockfiles/pnpm9/pnpm-lock.yaml"),
        1
    );
    let scoped = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "@babel/code-frame")
        .unwrap();
    assert_eq!(scoped["purl"], "pkg:npm/%40babel/code-frame@7.22.13");
    assert_eq!(scoped["licenses"][0], "MIT");

    compare_with_peers(&archive, &target, &installed);
}

/// The bar: keelhaul's installed set ⊇ the union of Syft's and Trivy's, and every
/// package a peer reports that keelhaul does not (or the reverse) is a known difference.
fn compare_with_peers(archive: &Path, target: &str, installed: &Found) {
    let have_syft = peers::syft().is_some();
    let have_trivy = peers::trivy().is_some();
    if !prerequisite(have_syft && have_trivy, "Syft and Trivy") {
        return;
    }
    let syft = peer_npm(&peers::syft_artifacts(target));
    let trivy = peer_npm(&peers::trivy_artifacts(archive, false));

    // Both peers read every `package.json`, not only installed packages: they report the
    // project's own manifest and the npm workspace member (which npm links into
    // node_modules with a symlink). Neither is an installed dependency; keelhaul skips them.
    let project_manifests: Found = [
        (("keelhaul-node-fixture", "1.0.0"), "app/web/package.json"),
        (
            ("local-lib", "0.1.0"),
            "app/web/packages/local-lib/package.json",
        ),
    ]
    .into_iter()
    .map(|((n, v), p)| ((n.to_owned(), v.to_owned()), BTreeSet::from([p.to_owned()])))
    .collect();

    for (peer, found) in [("Syft", &syft), ("Trivy", &trivy)] {
        let mut extra = Found::new();
        for (key, paths) in found {
            match installed.get(key) {
                Some(ours) => assert!(
                    paths.is_subset(ours),
                    "{peer} finds {key:?} at {paths:?}, keelhaul at {ours:?}"
                ),
                None => {
                    extra.insert(key.clone(), paths.clone());
                }
            }
        }
        assert_eq!(
            extra, project_manifests,
            "{peer} reports packages keelhaul does not"
        );
        // Nothing the peer misses: neither reads a deleted layer's package nor a lockfile.
        let missing: BTreeSet<_> = names(installed)
            .difference(&names(found))
            .cloned()
            .collect();
        assert!(missing.is_empty(), "{peer} misses {missing:?}");
        // Each peer finds each package at the same paths as keelhaul.
        for (key, ours) in installed {
            assert_eq!(found.get(key), Some(ours), "{peer}: paths of {key:?}");
        }
    }
    eprintln!(
        "npm installed: keelhaul {}, Syft {}, Trivy {} (peers: + the project and its workspace member)",
        installed.len(),
        syft.len(),
        trivy.len()
    );
}
