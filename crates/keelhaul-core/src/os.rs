/// The distribution an image is built on, as detected from its release files.
///
/// `family` is a stable lowercase id (the os-release `ID` for most distros, normalised:
/// `rhel`, `centos`, `rocky`, `almalinux`, `ol`, `amzn`, `sles`, `opensuse-leap`, `photon`,
/// `openeuler`, `anolis`, `alinux`, `kylin`, `uos`, `euleros`, `hce`, `debian`, `ubuntu`,
/// `alpine`, …). `version` is the most precise release number the image states
/// (`12.8`, `3.20.3`, `9.4`); [`OsRelease::major_minor`] gives the part feeds are keyed by.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OsRelease {
    /// Normalised distribution id.
    pub family: String,
    /// Release number, when the image states one.
    pub version: Option<String>,
    /// Release codename (`bookworm`, `noble`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// Human-readable name from the release file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// The os-release `ID_LIKE` list (lowercase).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// The file the family and version were read from, inside the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
}

impl OsRelease {
    /// A release with only family and version set.
    pub fn new(family: &str, version: Option<&str>) -> OsRelease {
        OsRelease {
            family: family.to_owned(),
            version: version.map(str::to_owned),
            codename: None,
            pretty_name: None,
            id_like: Vec::new(),
            source_file: None,
        }
    }

    /// The release as feeds key it: the major version for Debian and the RHEL family
    /// (`12`, `9`), `major.minor` for Alpine and Ubuntu (`3.20`, `24.04`), the whole
    /// version otherwise.
    pub fn feed_release(&self) -> Option<String> {
        let v = self.version.as_deref()?;
        let mut parts = v.split('.');
        let major = parts.next().unwrap_or(v);
        Some(match self.family.as_str() {
            "debian" | "rhel" | "centos" | "rocky" | "almalinux" | "ol" | "fedora" | "anolis"
            | "alinux" | "euleros" => major.to_owned(),
            "alpine" | "ubuntu" | "photon" | "opensuse-leap" | "openeuler" | "hce" => {
                self.major_minor().unwrap_or_else(|| v.to_owned())
            }
            _ => v.to_owned(),
        })
    }

    /// `major.minor` of the version (or the whole version if it has one part).
    pub fn major_minor(&self) -> Option<String> {
        let v = self.version.as_deref()?;
        let parts: Vec<&str> = v.split('.').collect();
        Some(if parts.len() >= 2 {
            format!("{}.{}", parts[0], parts[1])
        } else {
            v.to_owned()
        })
    }

    /// The `distro` purl qualifier value: `debian-12`, `alpine-3.20.3`, `rhel-9.4`.
    pub fn purl_distro(&self) -> String {
        match (&self.family, &self.version) {
            (f, Some(v)) if f == "debian" => format!("debian-{}", v.split('.').next().unwrap_or(v)),
            (f, Some(v)) => format!("{f}-{v}"),
            (f, None) => f.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_release_per_family() {
        assert_eq!(
            OsRelease::new("debian", Some("12.8"))
                .feed_release()
                .as_deref(),
            Some("12")
        );
        assert_eq!(
            OsRelease::new("alpine", Some("3.20.3"))
                .feed_release()
                .as_deref(),
            Some("3.20")
        );
        assert_eq!(
            OsRelease::new("almalinux", Some("9.4"))
                .feed_release()
                .as_deref(),
            Some("9")
        );
        assert_eq!(
            OsRelease::new("ubuntu", Some("24.04"))
                .feed_release()
                .as_deref(),
            Some("24.04")
        );
        assert_eq!(OsRelease::new("debian", None).feed_release(), None);
        assert_eq!(
            OsRelease::new("debian", Some("12.8")).purl_distro(),
            "debian-12"
        );
        assert_eq!(
            OsRelease::new("alpine", Some("3.20.3")).purl_distro(),
            "alpine-3.20.3"
        );
    }
}
