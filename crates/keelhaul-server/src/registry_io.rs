//! Blocking calls to registries (the engine's Distribution client), and storing what they
//! describe. Callers run the blocking ones in `spawn_blocking`.

use keelhaul_image::registry::{ImageDescription, RegistryClient, RegistryOptions};
use keelhaul_image::{ImageError, Reference};

use crate::images::{ImageUpsert, upsert};
use crate::store::{Store, StoreError};

fn client(
    host: &str,
    options: &RegistryOptions,
    repository: &str,
) -> Result<RegistryClient, ImageError> {
    let reference: Reference = format!("{host}/{repository}").parse()?;
    Ok(RegistryClient::new(&reference, options)?)
}

/// Every repository of the registry (`_catalog`, paginated).
pub fn catalog(host: &str, options: &RegistryOptions) -> Result<Vec<String>, String> {
    let client = RegistryClient::for_registry(host, options).map_err(|e| e.to_string())?;
    client.catalog(1000).map_err(|e| e.to_string())
}

/// Every tag of a repository.
pub fn tags(
    host: &str,
    options: &RegistryOptions,
    repository: &str,
) -> Result<Vec<String>, String> {
    client(host, options, repository)
        .and_then(|c| c.tags())
        .map_err(|e| e.to_string())
}

/// The digest a tag points at.
pub fn resolve(
    host: &str,
    options: &RegistryOptions,
    repository: &str,
    tag: &str,
) -> Result<String, String> {
    let client = client(host, options, repository).map_err(|e| e.to_string())?;
    let (_, digest) = client.manifest(tag).map_err(|e| e.to_string())?;
    Ok(digest.to_string())
}

/// A manifest or index and its platform images.
pub fn describe(
    host: &str,
    options: &RegistryOptions,
    repository: &str,
    digest: &str,
) -> Result<ImageDescription, String> {
    client(host, options, repository)
        .and_then(|c| c.describe(digest))
        .map_err(|e| e.to_string())
}

fn created_ms(created: Option<&str>) -> Option<i64> {
    let t = time::OffsetDateTime::parse(created?, &time::format_description::well_known::Rfc3339)
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Store a tag's description: an index row and its platform images, or one image. Returns
/// the ids of the platform images that are new or changed.
pub async fn store_description(
    store: &Store,
    tenant_id: &str,
    registry_id: i64,
    repository_id: i64,
    repository: &str,
    tag: &str,
    description: &ImageDescription,
) -> Result<Vec<i64>, StoreError> {
    let base = ImageUpsert {
        tenant_id: tenant_id.to_owned(),
        registry_id: Some(registry_id),
        repository_id: Some(repository_id),
        repository: repository.to_owned(),
        tag: tag.to_owned(),
        ..ImageUpsert::default()
    };
    let mut changed = Vec::new();
    let parent_id = if description.is_index {
        let (id, _) = upsert(
            store,
            &ImageUpsert {
                digest: description.digest.to_string(),
                is_index: true,
                platform: Some("multi".to_owned()),
                size: description
                    .manifests
                    .iter()
                    .map(|m| i64::try_from(m.size).unwrap_or(0))
                    .sum(),
                created_at: description
                    .manifests
                    .iter()
                    .filter_map(|m| created_ms(m.created.as_deref()))
                    .max(),
                ..base.clone()
            },
        )
        .await?;
        Some(id)
    } else {
        None
    };
    for m in &description.manifests {
        let (id, is_changed) = upsert(
            store,
            &ImageUpsert {
                digest: m.digest.to_string(),
                image_id: Some(m.config_digest.to_string()),
                parent_id,
                platform: m.platform.as_ref().map(|p| p.to_string()),
                size: i64::try_from(m.size).unwrap_or(0),
                layers: m.layers.iter().map(|l| l.to_string()).collect(),
                created_at: created_ms(m.created.as_deref()),
                ..base.clone()
            },
        )
        .await?;
        if is_changed {
            changed.push(id);
        }
    }
    Ok(changed)
}
