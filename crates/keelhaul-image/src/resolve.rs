//! From a manifest-like document to image manifests, choosing platforms in indexes.
//! Shared by OCI layouts and registries, which differ only in how they fetch a document.

use keelhaul_core::{Digest, Platform};

use crate::manifest::{AnyManifest, Descriptor, ManifestKind};
use crate::{ImageError, PlatformSelector, select_children};

/// Nested indexes deeper than this are refused (real images nest at most twice).
const MAX_INDEX_DEPTH: usize = 4;

/// One image manifest reached from the starting document.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedManifest {
    pub manifest_digest: Digest,
    pub index_digest: Option<Digest>,
    pub platform: Option<Platform>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// Resolve `bytes` (the document named by `digest`) into image manifests.
pub(crate) fn resolve(
    bytes: &[u8],
    digest: &Digest,
    selector: &PlatformSelector,
    image: &str,
    fetch: &mut dyn FnMut(&Descriptor) -> Result<Vec<u8>, ImageError>,
) -> Result<Vec<ResolvedManifest>, ImageError> {
    resolve_at(bytes, digest, None, None, selector, image, fetch, 0)
}

#[allow(clippy::too_many_arguments)]
fn resolve_at(
    bytes: &[u8],
    digest: &Digest,
    parent_index: Option<&Digest>,
    platform: Option<Platform>,
    selector: &PlatformSelector,
    image: &str,
    fetch: &mut dyn FnMut(&Descriptor) -> Result<Vec<u8>, ImageError>,
    depth: usize,
) -> Result<Vec<ResolvedManifest>, ImageError> {
    let kind = AnyManifest::parse(bytes).map_err(|source| ImageError::Manifest {
        image: image.to_owned(),
        digest: digest.to_string(),
        source,
    })?;
    match kind {
        ManifestKind::Image { config, layers } => Ok(vec![ResolvedManifest {
            manifest_digest: digest.clone(),
            index_digest: parent_index.cloned(),
            platform,
            config,
            layers,
        }]),
        ManifestKind::Index(children) => {
            if depth >= MAX_INDEX_DEPTH {
                return Err(ImageError::Layout {
                    image: image.to_owned(),
                    file: digest.to_string(),
                    reason: format!("indexes nested more than {MAX_INDEX_DEPTH} deep"),
                });
            }
            let mut out = Vec::new();
            for child in select_children(&children, selector, image)? {
                let child_bytes = fetch(child)?;
                let child_platform = child.platform.as_ref().map(|p| p.to_platform());
                out.extend(resolve_at(
                    &child_bytes,
                    &child.digest,
                    Some(digest),
                    child_platform,
                    selector,
                    image,
                    fetch,
                    depth + 1,
                )?);
            }
            Ok(out)
        }
    }
}

/// The images of resolved manifests: each config fetched (and verified) by `fetch_config`,
/// parsed, and its layers listed.
pub(crate) fn images_from(
    resolved: Vec<ResolvedManifest>,
    name: &str,
    repo_tags: &[String],
    source: &std::sync::Arc<dyn crate::BlobSource>,
    mut fetch_config: impl FnMut(&Descriptor) -> Result<Vec<u8>, ImageError>,
) -> Result<Vec<crate::Image>, ImageError> {
    resolved
        .into_iter()
        .map(|r| {
            let config_bytes = fetch_config(&r.config)?;
            let config = crate::parse_config(&config_bytes, name)?;
            Ok(crate::Image {
                name: name.to_owned(),
                platform: r.platform.or_else(|| config.platform()),
                manifest_digest: Some(r.manifest_digest),
                index_digest: r.index_digest,
                config_digest: Some(r.config.digest.clone()),
                layers: crate::layers_from(&r.layers, &config),
                config,
                config_bytes,
                repo_tags: repo_tags.to_vec(),
                source: std::sync::Arc::clone(source),
            })
        })
        .collect()
}
