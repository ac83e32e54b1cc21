use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use keelhaul_core::Digest;

use crate::ImageError;
use crate::tar_index::{ArchiveKind, TarIndex};

/// What to scan, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An OCI image layout directory, optionally with a tag (`org.opencontainers.image.ref.name`).
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The tag.
        tag: Option<String>,
    },
    /// A tar of an OCI image layout.
    OciArchive {
        /// The tarball.
        file: PathBuf,
        /// The tag.
        tag: Option<String>,
    },
    /// `docker save` / `podman save` output.
    DockerArchive {
        /// The tarball.
        file: PathBuf,
        /// Which image of the archive.
        selector: Option<ArchiveSelector>,
    },
    /// An image in a registry.
    Registry(Reference),
    /// A root filesystem on disk.
    Dir(PathBuf),
}

/// Selects one image of a docker-archive holding several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveSelector {
    /// By one of its `RepoTags` (`repo:tag`; `repo` alone means `repo:latest`).
    Tag(String),
    /// By position in `manifest.json`, from 0 (`:@N`).
    Index(usize),
}

impl Target {
    /// Parse a target: a `scheme:` prefix, or a bare path whose kind is detected.
    pub fn parse(s: &str) -> Result<Target, ImageError> {
        let invalid = |reason: &str| ImageError::Target {
            target: s.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, tag) = split_path_and_suffix(rest, |p| p.is_dir());
            return Ok(Target::OciLayout { dir, tag });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (file, tag) = split_path_and_suffix(rest, |p| p.is_file());
            return Ok(Target::OciArchive { file, tag });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            let (file, sel) = split_path_and_suffix(rest, |p| p.is_file());
            let selector = match sel {
                None => None,
                Some(s) => Some(match s.strip_prefix('@') {
                    Some(n) => ArchiveSelector::Index(
                        n.parse().map_err(|_| invalid("`@N` needs a number"))?,
                    ),
                    None => ArchiveSelector::Tag(s),
                }),
            };
            return Ok(Target::DockerArchive { file, selector });
        }
        if let Some(rest) = s
            .strip_prefix("registry:")
            .or_else(|| s.strip_prefix("docker://"))
        {
            return Ok(Target::Registry(rest.parse()?));
        }
        if let Some(rest) = s.strip_prefix("dir:") {
            if rest.is_empty() {
                return Err(invalid("`dir:` needs a path"));
            }
            return Ok(Target::Dir(PathBuf::from(rest)));
        }
        if let Some((scheme, _)) = s.split_once(':')
            && !scheme.is_empty()
            && scheme.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            && !Path::new(s).exists()
        {
            return Err(invalid(&format!(
                "unknown scheme `{scheme}:` (use oci:, oci-archive:, docker-archive:, registry: or dir:)"
            )));
        }
        Self::detect(Path::new(s))
    }

    /// Work out what a bare path is: an OCI layout directory, a plain directory, an OCI
    /// archive or a docker archive.
    fn detect(path: &Path) -> Result<Target, ImageError> {
        let meta = std::fs::metadata(path).map_err(|source| ImageError::Io {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            return Ok(
                if path.join("index.json").is_file() && path.join("oci-layout").is_file() {
                    Target::OciLayout {
                        dir: path.to_owned(),
                        tag: None,
                    }
                } else {
                    Target::Dir(path.to_owned())
                },
            );
        }
        let index = TarIndex::build(path)?;
        match index.kind() {
            Some(ArchiveKind::Oci) => Ok(Target::OciArchive {
                file: path.to_owned(),
                tag: None,
            }),
            Some(ArchiveKind::Docker) => Ok(Target::DockerArchive {
                file: path.to_owned(),
                selector: None,
            }),
            None => Err(ImageError::Target {
                target: path.display().to_string(),
                reason: "a tar file with neither `manifest.json` (docker-archive) nor `index.json` (OCI)".into(),
            }),
        }
    }
}

/// Split `PATH[:SUFFIX]` where PATH may itself contain colons: the longest prefix that
/// exists wins; otherwise the last colon whose suffix has no `/` separates them.
fn split_path_and_suffix(s: &str, exists: impl Fn(&Path) -> bool) -> (PathBuf, Option<String>) {
    if exists(Path::new(s)) {
        return (PathBuf::from(s), None);
    }
    for (i, _) in s.match_indices(':') {
        if exists(Path::new(&s[..i])) {
            return (
                PathBuf::from(&s[..i]),
                Some(s[i + 1..].to_owned()).filter(|t| !t.is_empty()),
            );
        }
    }
    match s.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') && !path.is_empty() => {
            (PathBuf::from(path), Some(tag.to_owned()))
        }
        _ => (PathBuf::from(s), None),
    }
}

/// A registry image reference: `[HOST[:PORT]/]REPO[:TAG][@DIGEST]`, normalised as Docker
/// does (no host means Docker Hub, one-part names there live under `library/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host and port, as given (`docker.io` for Docker Hub).
    pub registry: String,
    /// Repository path.
    pub repository: String,
    /// Tag, if any; `latest` is assumed when neither tag nor digest is given.
    pub tag: Option<String>,
    /// Digest, if any (wins over the tag).
    pub digest: Option<Digest>,
}

impl Reference {
    /// What to ask the registry for: the digest if given, else the tag.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// The host to talk to (Docker Hub's API host for `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// Whether the registry is on this machine (plain HTTP is allowed without `--insecure`).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => self.registry.as_str(),
        };
        host == "localhost"
            || host == "[::1]"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl FromStr for Reference {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| ImageError::Target {
            target: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (rest, digest) = match s.rsplit_once('@') {
            Some((rest, d)) => (
                rest,
                Some(d.parse::<Digest>().map_err(|e| invalid(&e.to_string()))?),
            ),
            None => (s, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rsplit_once(':') {
            Some((n, t)) => (&rest[..slash + n.len()], Some(t.to_owned())),
            None => (rest, None),
        };
        if let Some(t) = &tag {
            let valid = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                && !t.starts_with(['.', '-']);
            if !valid {
                return Err(invalid(&format!("`{t}` is not a valid tag")));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !valid_repo {
            return Err(invalid(
                "repository names are lowercase letters, digits and `._-`, separated by `/`",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        s.parse().expect("valid reference")
    }

    #[test]
    fn references_normalise_like_docker() {
        let x = r("nginx");
        assert_eq!(
            (x.registry.as_str(), x.repository.as_str(), x.reference()),
            ("docker.io", "library/nginx", "latest".into())
        );
        let x = r("127.0.0.1:5000/team/app:1.0");
        assert_eq!(
            (x.registry.as_str(), x.repository.as_str(), x.tag.as_deref()),
            ("127.0.0.1:5000", "team/app", Some("1.0"))
        );
        assert!(x.is_loopback());
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let x = r(&format!("harbor.example.com/lib/nginx:1.25@{d}"));
        assert_eq!(x.reference(), d);
        assert!(!x.is_loopback());
        assert_eq!(
            x.to_string(),
            format!("harbor.example.com/lib/nginx:1.25@{d}")
        );
        let x = r("localhost:5000/app");
        assert_eq!(x.registry, "localhost:5000");
        assert!("Upper/Case".parse::<Reference>().is_err());
        assert!("host.io/app:bad tag".parse::<Reference>().is_err());
        assert!("host.io/app@sha256:short".parse::<Reference>().is_err());
        assert!("host.io//app".parse::<Reference>().is_err());
    }

    #[test]
    fn targets_by_scheme() {
        assert_eq!(
            Target::parse("oci:./no-such-layout:v1.2").expect("parses"),
            Target::OciLayout {
                dir: "./no-such-layout".into(),
                tag: Some("v1.2".into())
            }
        );
        assert_eq!(
            Target::parse("docker-archive:/nonexistent/app.tar:@2").expect("parses"),
            Target::DockerArchive {
                file: "/nonexistent/app.tar".into(),
                selector: Some(ArchiveSelector::Index(2))
            }
        );
        assert!(matches!(
            Target::parse("registry:127.0.0.1:5000/a/b:1"),
            Ok(Target::Registry(_))
        ));
        assert!(matches!(Target::parse("dir:/"), Ok(Target::Dir(_))));
        assert!(Target::parse("ftp:thing").is_err());
        assert!(Target::parse("dir:").is_err());
    }

    #[test]
    fn docker_archive_selector_with_colons() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("my:app.tar");
        std::fs::write(&file, b"").expect("write");
        let t = Target::parse(&format!("docker-archive:{}:repo/app:1.0", file.display()))
            .expect("parses");
        assert_eq!(
            t,
            Target::DockerArchive {
                file,
                selector: Some(ArchiveSelector::Tag("repo/app:1.0".into()))
            }
        );
    }
}
