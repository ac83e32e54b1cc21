//! Calls to registries (the engine's blocking Distribution client, run off the async
//! runtime), and storing what they describe.

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

/// A registry as the service reaches it: the engine's blocking Distribution client, each
/// call run on the blocking pool so the async runtime never waits on the network.
#[derive(Debug, Clone)]
pub struct Remote {
    host: String,
    options: RegistryOptions,
}

impl Remote {
    /// The registry at `host` (with port), reached with `options`.
    pub fn new(host: String, options: RegistryOptions) -> Remote {
        Remote { host, options }
    }

    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&str, &RegistryOptions) -> Result<T, ImageError> + Send + 'static,
    ) -> Result<T, String> {
        let (host, options) = (self.host.clone(), self.options.clone());
        tokio::task::spawn_blocking(move || call(&host, &options))
            .await
            .map_err(|e| format!("the registry call was aborted: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// Every repository of the registry (`_catalog`, paginated).
    pub async fn catalog(&self) -> Result<Vec<String>, String> {
        self.run(|host, options| RegistryClient::for_registry(host, options)?.catalog(1000))
            .await
    }

    /// Every tag of a repository.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, String> {
        let repository = repository.to_owned();
        self.run(move |host, options| client(host, options, &repository)?.tags())
            .await
    }

    /// The digest a tag points at.
    pub async fn resolve(&self, repository: &str, tag: &str) -> Result<String, String> {
        let (repository, tag) = (repository.to_owned(), tag.to_owned());
        self.run(move |host, options| {
            let (_, digest) = client(host, options, &repository)?.manifest(&tag)?;
            Ok(digest.to_string())
        })
        .await
    }

    /// A manifest or index (by tag or digest) and its platform images.
    pub async fn describe(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<ImageDescription, String> {
        let (repository, reference) = (repository.to_owned(), reference.to_owned());
        self.run(move |host, options| client(host, options, &repository)?.describe(&reference))
            .await
    }
}

/// The id of a registry's repository row, created if new.
pub async fn ensure_repository(
    store: &Store,
    tenant_id: &str,
    registry_id: i64,
    repository: &str,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO repositories (tenant_id, registry_id, namespace, name, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (registry_id, name) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(registry_id)
    .bind(crate::images::namespace_of(repository))
    .bind(repository)
    .bind(crate::store::now_ms())
    .execute(store.pool())
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM repositories WHERE registry_id = $1 AND name = $2")
            .bind(registry_id)
            .bind(repository)
            .fetch_one(store.pool())
            .await?,
    )
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
