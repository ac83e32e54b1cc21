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
}

impl Ecosystem {
    /// The purl type, which is also the JSON spelling.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
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
    /// Path inside the image, without a leading `/`.
    pub path: String,
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
        }
    }

    /// The key that identifies a package within one database: name, version, arch.
    pub fn identity(&self) -> (&str, &str, Option<&str>) {
        (&self.name, &self.version, self.arch.as_deref())
    }
}

/// The purl namespace for a distribution family (`debian`, `ubuntu`, `alpine`, `redhat`, …).
fn os_namespace(ecosystem: Ecosystem, os: Option<&OsRelease>) -> String {
    match os.map(|o| o.family.as_str()) {
        Some("rhel") => "redhat".to_owned(),
        Some(f) => f.to_owned(),
        None => match ecosystem {
            Ecosystem::Deb => "debian".to_owned(),
            Ecosystem::Apk => "alpine".to_owned(),
            Ecosystem::Rpm => "rpm".to_owned(),
        },
    }
}

/// The package URL of an OS package, per the purl spec's deb/apk/rpm types:
/// `pkg:deb/debian/NAME@VER?arch=…&distro=debian-12&upstream=SRC`,
/// `pkg:apk/alpine/NAME@VER?arch=…&distro=alpine-3.20.3&upstream=ORIGIN`,
/// `pkg:rpm/redhat/NAME@V-R?arch=…&epoch=E&distro=rhel-9.4&upstream=SRPM`.
///
/// `upstream` names the source package, with `@version` when the source version differs
/// from the binary's (binNMUs), as Syft writes it. rpm versions are written without the
/// epoch, which goes to its own qualifier.
pub fn purl_for(package: &Package, os: Option<&OsRelease>) -> String {
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
