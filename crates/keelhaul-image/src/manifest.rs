//! The JSON documents of an image: indexes, manifests, configs, as OCI and Docker write them.
//!
//! These are our own lenient serde structs rather than `oci-spec`'s: one type reads both the
//! OCI and the Docker schema-2 spelling, unknown fields are ignored, and only what keelhaul
//! needs is required, so a slightly non-conformant manifest from a real registry still scans.

use std::collections::BTreeMap;

use keelhaul_core::{Digest, Platform};
use serde::{Deserialize, Serialize};

/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker schema-2 manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema-2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema-1 manifest media types, refused.
pub const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
/// Annotation that names a manifest's tag in an OCI layout's `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    #[serde(default)]
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: Digest,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Platform, in indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The `platform` object of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// Architecture variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl PlatformSpec {
    /// As a [`Platform`].
    pub fn to_platform(&self) -> Platform {
        Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone().filter(|v| !v.is_empty()),
        }
    }
}

/// Any manifest-like document: an index/manifest list, an image manifest, or a schema-1
/// manifest (recognised only to be refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnyManifest {
    /// `schemaVersion`.
    #[serde(default)]
    pub schema_version: Option<u32>,
    /// `mediaType`, when the document states it.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Image manifest: the config blob.
    #[serde(default)]
    pub config: Option<Descriptor>,
    /// Image manifest: the layers, bottom first.
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    /// Index: the child manifests.
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
    /// Schema 1 only.
    #[serde(default)]
    pub fs_layers: Option<serde_json::Value>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// What a manifest-like document turned out to be.
#[derive(Debug, Clone)]
pub enum ManifestKind {
    /// An index or manifest list.
    Index(Vec<Descriptor>),
    /// An image manifest.
    Image {
        /// The config descriptor.
        config: Descriptor,
        /// The layer descriptors, bottom first.
        layers: Vec<Descriptor>,
    },
}

/// Why a manifest document cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON, or JSON of the wrong shape. The message includes serde's, so it is not
    /// also a `source` (an error chain would print it twice).
    #[error("Manifest is not valid JSON: {0}")]
    Json(serde_json::Error),
    /// Docker schema 1.
    #[error(
        "Docker schema 1 manifests are not supported (deprecated since 2017, they carry no layer digests that can be verified)"
    )]
    Schema1,
    /// Neither an index nor an image manifest.
    #[error("Document is neither an image index nor an image manifest (media type `{0}`)")]
    Unknown(String),
}

impl AnyManifest {
    /// Parse and classify.
    pub fn parse(bytes: &[u8]) -> Result<ManifestKind, ManifestError> {
        let m: AnyManifest = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        let media_type = m.media_type.clone().unwrap_or_default();
        if m.schema_version == Some(1)
            || m.fs_layers.is_some()
            || DOCKER_SCHEMA1.contains(&media_type.as_str())
        {
            return Err(ManifestError::Schema1);
        }
        match (m.manifests, m.config, m.layers) {
            (Some(children), _, None) => Ok(ManifestKind::Index(children)),
            (None, Some(config), Some(layers)) => Ok(ManifestKind::Image { config, layers }),
            (None, Some(config), None) => Ok(ManifestKind::Image {
                config,
                layers: Vec::new(),
            }),
            _ => Err(ManifestError::Unknown(media_type)),
        }
    }
}

/// Whether an index entry is an attestation or signature rather than a runnable image
/// (BuildKit's `unknown/unknown` attestation manifests, cosign artifacts).
pub fn is_attestation(d: &Descriptor) -> bool {
    d.annotations
        .get("vnd.docker.reference.type")
        .is_some_and(|t| t == "attestation-manifest")
        || d.platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" || p.architecture == "unknown")
}

/// The image configuration (`application/vnd.oci.image.config.v1+json` and Docker's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Creation time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// Architecture variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Runtime configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// Layer diff ids.
    #[serde(default)]
    pub rootfs: RootFs,
    /// Build history, one entry per build step (empty layers included).
    #[serde(default)]
    pub history: Vec<History>,
}

impl ImageConfig {
    /// The platform the config states.
    pub fn platform(&self) -> Option<Platform> {
        (!self.os.is_empty() && !self.architecture.is_empty()).then(|| Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone().filter(|v| !v.is_empty()),
        })
    }

    /// `created_by` of each non-empty history entry, aligned with the layers when the
    /// counts agree.
    pub fn layer_history(&self) -> Vec<Option<String>> {
        self.history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone())
            .collect()
    }
}

/// The runtime part of an image config. Only fields keelhaul reads are typed; Docker
/// spells them in PascalCase, as OCI does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// User to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Environment, `KEY=value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// Entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Exposed ports (`"8080/tcp": {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// Health check (Docker extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Digest of each uncompressed layer, bottom first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

/// One build step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True when the step made no layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_documents() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":1,"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#
        );
        assert!(
            matches!(AnyManifest::parse(index.as_bytes()), Ok(ManifestKind::Index(c)) if c.len() == 1)
        );
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"digest":"{d}","size":2}},"layers":[{{"digest":"{d}","size":3}}]}}"#
        );
        assert!(
            matches!(AnyManifest::parse(image.as_bytes()), Ok(ManifestKind::Image { layers, .. }) if layers.len() == 1)
        );
        let schema1 = r#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert!(matches!(
            AnyManifest::parse(schema1.as_bytes()),
            Err(ManifestError::Schema1)
        ));
        assert!(matches!(
            AnyManifest::parse(b"<html>"),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            AnyManifest::parse(b"{}"),
            Err(ManifestError::Unknown(_))
        ));
        let bad_digest = r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:zz","size":1}]}"#;
        assert!(matches!(
            AnyManifest::parse(bad_digest.as_bytes()),
            Err(ManifestError::Json(_))
        ));
    }
}
