use std::fmt;

use crate::{Digest, OsRelease};

/// A package ecosystem, named by its purl type.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Ecosystem {
    /// Debian packages (dpkg).
    Deb,
    /// Alpine packages (apk).
    Apk,
    /// RPM packages.
    Rpm,
    /// Python packages (PyPI).
    Pypi,
    /// Node.js packages (npm).
    Npm,
    /// Go modules.
    Golang,
    /// Rust crates.
    Cargo,
    /// Java artifacts (Maven coordinates `groupId:artifactId`).
    Maven,
    /// Ruby gems.
    Gem,
    /// PHP packages (Packagist, `vendor/name`).
    Composer,
    /// .NET packages.
    Nuget,
    /// Dart packages.
    Pub,
    /// Elixir/Erlang packages.
    Hex,
    /// Swift packages (`host/owner/name`).
    Swift,
    /// C/C++ packages (Conan).
    Conan,
    /// Conda packages.
    Conda,
}

impl Ecosystem {
    /// Every ecosystem, OS ones first.
    pub const ALL: [Ecosystem; 16] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::Pypi,
        Ecosystem::Npm,
        Ecosystem::Golang,
        Ecosystem::Cargo,
        Ecosystem::Maven,
        Ecosystem::Gem,
        Ecosystem::Composer,
        Ecosystem::Nuget,
        Ecosystem::Pub,
        Ecosystem::Hex,
        Ecosystem::Swift,
        Ecosystem::Conan,
        Ecosystem::Conda,
    ];

    /// The purl type, which is also the JSON spelling.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Golang => "golang",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
            Ecosystem::Pub => "pub",
            Ecosystem::Hex => "hex",
            Ecosystem::Swift => "swift",
            Ecosystem::Conan => "conan",
            Ecosystem::Conda => "conda",
        }
    }

    /// Whether packages of this ecosystem are operating-system packages.
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.purl_type())
    }
}

/// Where a package was found: the layer that introduced it and the file that records it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Location {
    /// The layer's diff id (digest of the uncompressed layer) or, when the image does not
    /// state one, the blob digest; `None` for a directory target.
    pub layer: Option<Digest>,
    /// Path inside the image, without a leading `/`. Inside an archive, the archive's path
    /// and the member's, joined by `!` (`opt/app.jar!BOOT-INF/lib/a.jar`).
    pub path: String,
    /// What kind of record the package was seen in.
    #[serde(default)]
    pub evidence: Evidence,
}

/// The kind of record a package was seen in.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// The metadata of an installed package (a package database, `METADATA`, a
    /// `package.json` under `node_modules`, a jar's `pom.properties`).
    #[default]
    Installed,
    /// A lockfile or manifest found in the image: what a build declared, not what is there.
    Declared,
    /// Build metadata embedded in an executable (Go buildinfo, cargo-auditable).
    Binary,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Evidence::Installed => "installed",
            Evidence::Declared => "declared",
            Evidence::Binary => "binary",
        })
    }
}

impl Location {
    /// A location in a file, with the layer to be filled in when the image is stacked.
    pub fn file(path: impl Into<String>, evidence: Evidence) -> Location {
        Location {
            layer: None,
            path: path.into(),
            evidence,
        }
    }
}

/// One installed package.
///
/// `version` is the full version as the package manager prints it: dpkg's
/// `[epoch:]upstream[-revision]`, apk's `1.2.3-r4`, rpm's `[epoch:]version-release`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Full version string.
    pub version: String,
    /// Ecosystem (purl type).
    pub ecosystem: Ecosystem,
    /// Package URL; empty until [`purl_for`] fills it in at image level, where the OS is known.
    #[serde(default)]
    pub purl: String,
    /// Architecture as the package manager records it (`amd64`, `x86_64`, `noarch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package (dpkg `Source:`, apk origin, the rpm's source rpm name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version, when it differs from or is needed beside `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// rpm epoch, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u32>,
    /// Licenses as declared by the package database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Maintainer (dpkg, apk) or vendor (rpm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// rpm modularity label (`nodejs:18:…`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modularity_label: Option<String>,
    /// Where it was found; the first entry is the package database record.
    pub locations: Vec<Location>,
    /// Files the package manager says this package owns (paths without a leading `/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// For a language package an OS package installed (Debian's `python3-*`), the purl of
    /// that OS package: it is matched through the distro's advisories only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

impl Package {
    /// A package with the required fields set and everything else empty.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem,
            purl: String::new(),
            arch: None,
            source_name: None,
            source_version: None,
            epoch: None,
            licenses: Vec::new(),
            supplier: None,
            modularity_label: None,
            locations: Vec::new(),
            files: Vec::new(),
            owned_by: None,
        }
    }

    /// A package seen at one path, with what kind of record it was (what analyzers make).
    pub fn found_at(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        path: impl Into<String>,
        evidence: Evidence,
    ) -> Package {
        let mut p = Package::new(ecosystem, name, version);
        p.locations = vec![Location::file(path, evidence)];
        p
    }

    /// The kinds of record the package was seen in, sorted, without repeats.
    pub fn evidence(&self) -> Vec<Evidence> {
        let mut e: Vec<Evidence> = self.locations.iter().map(|l| l.evidence).collect();
        e.sort();
        e.dedup();
        e
    }

    /// The key that identifies a package within one database: name, version, arch.
    pub fn identity(&self) -> (&str, &str, Option<&str>) {
        (&self.name, &self.version, self.arch.as_deref())
    }
}

/// A Python project name normalised per PEP 503: lowercase, each run of `-`, `_` and `.`
/// one `-` (`Foo.-_Bar` → `foo-bar`), as pip and PyPI compare names.
pub fn pep503_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// The purl namespace for a distribution family (`debian`, `ubuntu`, `alpine`, `redhat`, …).
fn os_namespace(ecosystem: Ecosystem, os: Option<&OsRelease>) -> String {
    match os.map(|o| o.family.as_str()) {
        Some("rhel") => "redhat".to_owned(),
        Some(f) => f.to_owned(),
        None => match ecosystem {
            Ecosystem::Apk => "alpine".to_owned(),
            Ecosystem::Rpm => "rpm".to_owned(),
            _ => "debian".to_owned(),
        },
    }
}

/// Split an ecosystem-native name into purl namespace and name: `@scope/pkg` (npm),
/// `group:artifact` (Maven), `vendor/pkg` (Composer), `host/path/module` (Go, Swift).
fn split_name(ecosystem: Ecosystem, name: &str) -> (Option<&str>, &str) {
    let split = match ecosystem {
        Ecosystem::Npm if name.starts_with('@') => name.split_once('/'),
        Ecosystem::Maven => name.split_once(':'),
        Ecosystem::Composer | Ecosystem::Golang | Ecosystem::Swift => name.rsplit_once('/'),
        _ => None,
    };
    match split {
        Some((ns, n)) if !ns.is_empty() && !n.is_empty() => (Some(ns), n),
        _ => (None, name),
    }
}

/// The package URL of an application package: `pkg:pypi/requests@2.19.1`,
/// `pkg:npm/%40babel/core@7.0.0`, `pkg:golang/github.com/spf13/cobra@v1.8.0`,
/// `pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1`, …
fn app_purl(package: &Package) -> Result<String, packageurl::Error> {
    let (namespace, name) = split_name(package.ecosystem, &package.name);
    let mut purl = packageurl::PackageUrl::new(package.ecosystem.purl_type(), name)?;
    if let Some(ns) = namespace {
        purl.with_namespace(ns)?;
    }
    if !package.version.is_empty() {
        purl.with_version(package.version.as_str())?;
    }
    Ok(purl.to_string())
}

/// The package URL of a package. Application packages get their ecosystem's purl
/// (namespace split from the native name); OS packages follow the purl spec's deb/apk/rpm
/// types:
/// `pkg:deb/debian/NAME@VER?arch=…&distro=debian-12&upstream=SRC`,
/// `pkg:apk/alpine/NAME@VER?arch=…&distro=alpine-3.20.3&upstream=ORIGIN`,
/// `pkg:rpm/redhat/NAME@V-R?arch=…&epoch=E&distro=rhel-9.4&upstream=SRPM`.
///
/// `upstream` names the source package, with `@version` when the source version differs
/// from the binary's (binNMUs), as Syft writes it. rpm versions are written without the
/// epoch, which goes to its own qualifier.
pub fn purl_for(package: &Package, os: Option<&OsRelease>) -> String {
    if !package.ecosystem.is_os() {
        return app_purl(package).unwrap_or_else(|_| {
            format!(
                "pkg:{}/{}@{}",
                package.ecosystem, package.name, package.version
            )
        });
    }
    let namespace = os_namespace(package.ecosystem, os);
    let version = match package.ecosystem {
        Ecosystem::Rpm => match package.version.split_once(':') {
            Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => package.version.as_str(),
        },
        _ => package.version.as_str(),
    };
    let build = || -> Result<String, packageurl::Error> {
        let mut purl =
            packageurl::PackageUrl::new(package.ecosystem.purl_type(), package.name.as_str())?;
        purl.with_namespace(namespace.as_str())?;
        purl.with_version(version)?;
        if let Some(arch) = &package.arch {
            purl.add_qualifier("arch", arch.as_str())?;
        }
        if let Some(epoch) = package.epoch {
            purl.add_qualifier("epoch", epoch.to_string())?;
        }
        if let Some(os) = os {
            purl.add_qualifier("distro", os.purl_distro())?;
        }
        if let Some(source) = &package.source_name {
            let upstream = match &package.source_version {
                Some(sv) if sv != &package.version => format!("{source}@{sv}"),
                _ => source.clone(),
            };
            if source != &package.name || upstream.contains('@') {
                purl.add_qualifier("upstream", upstream)?;
            }
        }
        Ok(purl.to_string())
    };
    // Every input above is a plain string; the builder only rejects malformed types and
    // qualifier keys, which are constants here. Fall back to a minimal form rather than panic.
    build().unwrap_or_else(|_| {
        format!(
            "pkg:{}/{}@{}",
            package.ecosystem.purl_type(),
            package.name,
            version
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_purl_has_sorted_qualifiers_and_upstream() {
        let mut p = Package::new(Ecosystem::Deb, "libgcc-s1", "12.2.0-14");
        p.arch = Some("amd64".into());
        p.source_name = Some("gcc-12".into());
        let os = OsRelease::new("debian", Some("12.8"));
        assert_eq!(
            purl_for(&p, Some(&os)),
            "pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12"
        );
        p.source_version = Some("12.2.0-13".into());
        assert!(purl_for(&p, Some(&os)).ends_with("upstream=gcc-12%4012.2.0-13"));
    }

    #[test]
    fn deb_epoch_version_is_percent_encoded() {
        let mut p = Package::new(Ecosystem::Deb, "login", "1:4.13+dfsg1-1");
        p.arch = Some("amd64".into());
        p.source_name = Some("login".into());
        let purl = purl_for(&p, Some(&OsRelease::new("debian", Some("12"))));
        assert_eq!(
            purl,
            "pkg:deb/debian/login@1:4.13%2Bdfsg1-1?arch=amd64&distro=debian-12"
        );
    }

    #[test]
    fn application_purls_split_namespaces() {
        let purl = |e, n: &str, v: &str| purl_for(&Package::new(e, n, v), None);
        assert_eq!(
            purl(Ecosystem::Pypi, "requests", "2.19.1"),
            "pkg:pypi/requests@2.19.1"
        );
        assert_eq!(
            purl(Ecosystem::Npm, "@babel/core", "7.0.0"),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(Ecosystem::Npm, "lodash", "4.17.15"),
            "pkg:npm/lodash@4.17.15"
        );
        assert_eq!(
            purl(Ecosystem::Golang, "github.com/spf13/cobra", "v1.8.0"),
            "pkg:golang/github.com/spf13/cobra@v1.8.0"
        );
        assert_eq!(
            purl(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1"
            ),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            purl(Ecosystem::Composer, "symfony/http-kernel", "5.4.0"),
            "pkg:composer/symfony/http-kernel@5.4.0"
        );
        assert_eq!(
            purl(Ecosystem::Cargo, "serde", "1.0.0"),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            purl(Ecosystem::Golang, "stdlib", "go1.22.1"),
            "pkg:golang/stdlib@go1.22.1"
        );
    }

    #[test]
    fn rpm_purl_moves_epoch_to_qualifier() {
        let mut p = Package::new(Ecosystem::Rpm, "openssl-libs", "1:3.0.7-25.el9_3");
        p.arch = Some("x86_64".into());
        p.epoch = Some(1);
        p.source_name = Some("openssl".into());
        p.source_version = Some("1:3.0.7-25.el9_3".into());
        let purl = purl_for(&p, Some(&OsRelease::new("rhel", Some("9.3"))));
        assert_eq!(
            purl,
            "pkg:rpm/redhat/openssl-libs@3.0.7-25.el9_3?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl"
        );
    }
}
