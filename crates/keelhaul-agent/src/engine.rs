//! The host's container engine, through the Docker Engine API on a unix socket (Docker, or
//! Podman's `podman system service`, which serves the same API).

use std::path::{Path, PathBuf};
use std::time::Duration;

use keelhaul_server::hosts::LocalImage;
use serde::Deserialize;

/// Why the engine could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The socket could not be reached or answered badly.
    #[error("the container engine at {socket} did not answer `{what}`: {source}")]
    Request {
        /// The socket.
        socket: PathBuf,
        /// What was asked.
        what: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// Writing the exported image failed.
    #[error("cannot write the exported image to {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A Docker-API engine on a unix socket.
#[derive(Debug, Clone)]
pub struct Engine {
    socket: PathBuf,
    client: reqwest::blocking::Client,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageSummary {
    id: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    repo_digests: Option<Vec<String>>,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    created: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Version {
    #[serde(default)]
    version: String,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Component {
    name: String,
}

/// `name:tag` → (`name`, `tag`); the tag is after the last `:` that follows the last `/`.
fn split_reference(reference: &str) -> (String, String) {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(i) => (
            reference[..slash + i].to_owned(),
            reference[slash + i + 1..].to_owned(),
        ),
        None => (reference.to_owned(), "latest".to_owned()),
    }
}

impl Engine {
    /// An engine on `socket`.
    pub fn new(socket: &Path) -> Result<Engine, EngineError> {
        let client = reqwest::blocking::Client::builder()
            .unix_socket(socket)
            .connect_timeout(Duration::from_secs(10))
            // Exports of big images take a while.
            .timeout(None)
            .build()
            .map_err(|source| EngineError::Request {
                socket: socket.to_owned(),
                what: "connect".to_owned(),
                source,
            })?;
        Ok(Engine {
            socket: socket.to_owned(),
            client,
        })
    }

    /// Turns a failure of `GET path` into an [`EngineError`].
    fn failed(&self, path: &str) -> impl FnOnce(reqwest::Error) -> EngineError {
        let (socket, what) = (self.socket.clone(), format!("GET {path}"));
        move |source| EngineError::Request {
            socket,
            what,
            source,
        }
    }

    fn get(&self, path: &str) -> Result<reqwest::blocking::Response, EngineError> {
        self.client
            .get(format!("http://localhost{path}"))
            .send()
            .and_then(|r| r.error_for_status())
            .map_err(self.failed(path))
    }

    /// `Docker Engine 27.1.1`, `Podman Engine 4.3.1`.
    pub fn version(&self) -> Result<String, EngineError> {
        let path = "/version";
        let v: Version = self.get(path)?.json().map_err(self.failed(path))?;
        let name = v
            .components
            .first()
            .map_or("Docker Engine", |c| c.name.as_str());
        Ok(format!("{name} {}", v.version).trim().to_owned())
    }

    /// Every image the engine holds, one entry per tag (an untagged image is `<none>:<none>`).
    pub fn images(&self) -> Result<Vec<LocalImage>, EngineError> {
        let path = "/images/json";
        let list: Vec<ImageSummary> = self.get(path)?.json().map_err(self.failed(path))?;
        let mut out = Vec::new();
        for image in list {
            let id = if image.id.starts_with("sha256:") {
                image.id.clone()
            } else {
                format!("sha256:{}", image.id)
            };
            let digests = image.repo_digests.unwrap_or_default();
            let tags: Vec<String> = image
                .repo_tags
                .unwrap_or_default()
                .into_iter()
                .filter(|t| t != "<none>:<none>")
                .collect();
            let tags = if tags.is_empty() {
                vec!["<none>:<none>".to_owned()]
            } else {
                tags
            };
            for reference in tags {
                let (repository, tag) = split_reference(&reference);
                // A pulled image knows its registry manifest digest, per repository.
                let digest = digests
                    .iter()
                    .find_map(|d| {
                        let (repo, digest) = d.split_once('@')?;
                        (repo == repository).then(|| digest.to_owned())
                    })
                    .unwrap_or_else(|| id.clone());
                out.push(LocalImage {
                    repository,
                    tag,
                    digest,
                    image_id: id.clone(),
                    size: image.size,
                    created: (image.created > 0).then(|| image.created.saturating_mul(1000)),
                });
            }
        }
        out.sort_by(|a, b| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)));
        out.dedup_by(|a, b| a.repository == b.repository && a.tag == b.tag);
        Ok(out)
    }

    /// Export an image (by id or reference) as a docker-archive tarball into `dest`.
    pub fn export(&self, image: &str, dest: &Path) -> Result<u64, EngineError> {
        let path = format!("/images/{}/get", encode_path(image));
        let mut response = self.get(&path)?;
        let mut file = std::fs::File::create(dest).map_err(|source| EngineError::Write {
            path: dest.to_owned(),
            source,
        })?;
        response.copy_to(&mut file).map_err(self.failed(&path))
    }
}

/// Image references go in a path segment: `/` and `:` stay (the API takes `name:tag` and
/// `registry/name`), anything else unusual is escaped.
fn encode_path(reference: &str) -> String {
    let mut out = String::new();
    for b in reference.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag_not_the_registry_port() {
        assert_eq!(
            split_reference("localhost:5000/app:1.0"),
            ("localhost:5000/app".into(), "1.0".into())
        );
        assert_eq!(
            split_reference("localhost:5000/app"),
            ("localhost:5000/app".into(), "latest".into())
        );
        assert_eq!(
            split_reference("docker.io/library/nginx:1.27"),
            ("docker.io/library/nginx".into(), "1.27".into())
        );
        assert_eq!(
            split_reference("<none>:<none>"),
            ("<none>".into(), "<none>".into())
        );
    }

    #[test]
    fn path_encoding_keeps_references_readable() {
        assert_eq!(encode_path("sha256:ab12"), "sha256:ab12");
        assert_eq!(encode_path("reg:5000/a b"), "reg:5000/a%20b");
    }
}
