//! `docker save` / `podman save` / `skopeo copy docker-archive:` output.
//!
//! `manifest.json` lists one entry per image: `Config` (a member path), `RepoTags`, and
//! `Layers` (member paths, bottom first). Layers are usually uncompressed tars named
//! `<diff-id-hex>.tar`, `<id>/layer.tar` (older Docker) or `blobs/sha256/<hex>` (Docker 25+).

use std::path::Path;
use std::sync::Arc;

use keelhaul_core::Digest;
use serde::Deserialize;

use crate::tar_index::TarIndex;
use crate::{
    ArchiveSelector, BlobSource, Image, ImageError, Layer, LayerData, Locator, PlatformSelector,
    parse_config,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

struct ArchiveBlobs {
    index: TarIndex,
    image: String,
}

impl BlobSource for ArchiveBlobs {
    fn open_blob(&self, digest: &Digest, _size: Option<u64>) -> Result<LayerData, ImageError> {
        Err(ImageError::MissingBlob {
            image: self.image.clone(),
            digest: digest.clone(),
        })
    }

    fn open_member(&self, path: &str) -> Result<LayerData, ImageError> {
        self.index
            .region(path)
            .map(LayerData::File)
            .ok_or_else(|| ImageError::MissingMember {
                archive: self.image.clone(),
                member: path.to_owned(),
            })
    }
}

/// The digest a member's name states, if it is content-addressed.
fn digest_from_member_name(name: &str) -> Option<Digest> {
    if let Some(hex) = name.strip_prefix("blobs/sha256/") {
        return format!("sha256:{hex}").parse().ok();
    }
    let hex = name.strip_suffix(".tar")?;
    (!hex.contains('/'))
        .then(|| format!("sha256:{hex}").parse().ok())
        .flatten()
}

/// A tag in the form Docker compares them: `repo` alone means `repo:latest`, and Docker
/// Hub's implicit `docker.io/` and `library/` are dropped (skopeo writes
/// `docker.io/keelhaul/app:1`, `docker save` writes `keelhaul/app:1`).
fn normalize_tag(tag: &str) -> String {
    let last = tag.rsplit('/').next().unwrap_or(tag);
    let tag = if last.contains(':') {
        tag.to_owned()
    } else {
        format!("{tag}:latest")
    };
    let tag = tag
        .strip_prefix("docker.io/")
        .or_else(|| tag.strip_prefix("index.docker.io/"))
        .unwrap_or(&tag);
    tag.strip_prefix("library/").unwrap_or(tag).to_owned()
}

pub(crate) fn open(
    file: &Path,
    selector: Option<&ArchiveSelector>,
    platform: &PlatformSelector,
) -> Result<Vec<Image>, ImageError> {
    let name = format!("docker-archive:{}", file.display());
    let index = TarIndex::build(file)?;
    let manifest_bytes = index.read_small("manifest.json", &name)?;
    let entries: Vec<Entry> =
        serde_json::from_slice(&manifest_bytes).map_err(|e| ImageError::Layout {
            image: name.clone(),
            file: "manifest.json".into(),
            reason: e.to_string(),
        })?;
    let tags_of = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
    let available = || {
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let tags = tags_of(e);
                if tags.is_empty() {
                    format!("@{i}")
                } else {
                    tags.join(" ")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let entry = match selector {
        Some(ArchiveSelector::Index(i)) => {
            entries.get(*i).ok_or_else(|| ImageError::TagNotFound {
                image: name.clone(),
                tag: format!("@{i}"),
                available: available(),
            })?
        }
        Some(ArchiveSelector::Tag(tag)) => {
            let want = normalize_tag(tag);
            entries
                .iter()
                .find(|e| tags_of(e).iter().any(|t| normalize_tag(t) == want))
                .ok_or_else(|| ImageError::TagNotFound {
                    image: name.clone(),
                    tag: tag.clone(),
                    available: available(),
                })?
        }
        None => match entries.as_slice() {
            [only] => only,
            [] => {
                return Err(ImageError::Layout {
                    image: name,
                    file: "manifest.json".into(),
                    reason: "it lists no images".into(),
                });
            }
            many => {
                return Err(ImageError::Ambiguous {
                    image: name.clone(),
                    count: many.len(),
                    available: available(),
                });
            }
        },
    };
    let config_bytes = index.read_small(&entry.config, &name)?;
    // The config member is named by its digest in every writer we know; check it when so.
    let config_digest =
        digest_from_member_name(entry.config.trim_end_matches(".json")).or_else(|| {
            digest_from_member_name(&format!("{}.tar", entry.config.trim_end_matches(".json")))
        });
    if let Some(d) = &config_digest {
        crate::verify_bytes(&config_bytes, d, &name)?;
    }
    let config = parse_config(&config_bytes, &name)?;
    if let (PlatformSelector::One(want), Some(have)) = (platform, config.platform())
        && !want.matches(&have)
    {
        return Err(ImageError::PlatformNotFound {
            image: name,
            platform: want.to_string(),
            available: have.to_string(),
        });
    }
    let history = config.layer_history();
    let aligned = config.rootfs.diff_ids.len() == entry.layers.len();
    let layers = entry
        .layers
        .iter()
        .enumerate()
        .map(|(i, member)| {
            let size = index.region(member).map(|r| r.len);
            Layer {
                index: i,
                digest: digest_from_member_name(member),
                diff_id: aligned.then(|| config.rootfs.diff_ids[i].clone()),
                media_type: String::new(),
                size,
                created_by: (history.len() == entry.layers.len())
                    .then(|| history[i].clone())
                    .flatten(),
                locator: Locator::Member(member.clone()),
            }
        })
        .collect();
    let name = match selector {
        Some(ArchiveSelector::Tag(t)) => format!("{name}:{t}"),
        Some(ArchiveSelector::Index(i)) => format!("{name}:@{i}"),
        None => name,
    };
    Ok(vec![Image {
        platform: config.platform(),
        manifest_digest: None,
        index_digest: None,
        config_digest: config_digest.or_else(|| Some(Digest::sha256_of(&config_bytes))),
        repo_tags: tags_of(entry),
        layers,
        config,
        config_bytes,
        source: Arc::new(ArchiveBlobs {
            index,
            image: name.clone(),
        }),
        name,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_that_state_digests() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(digest_from_member_name(&format!("{hex}.tar")).is_some());
        assert!(digest_from_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_from_member_name(&format!("{hex}/layer.tar")).is_none());
        assert_eq!(normalize_tag("keelhaul/base"), "keelhaul/base:latest");
        assert_eq!(normalize_tag("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(normalize_tag("x:1"), "x:1");
        assert_eq!(
            normalize_tag("docker.io/keelhaul/app:1"),
            normalize_tag("keelhaul/app:1")
        );
        assert_eq!(normalize_tag("docker.io/library/nginx"), "nginx:latest");
    }
}
