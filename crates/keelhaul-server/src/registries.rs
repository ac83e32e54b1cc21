//! Registries: stored with their credentials sealed, and synced into repositories and
//! images over the OCI Distribution API.

use keelhaul_image::registry::{Credentials, RegistryOptions};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::crypto::{KeyError, ServerKey};
use crate::error::ApiError;
use crate::images::REGISTRY_KINDS;
use crate::registry_io::{Remote, ensure_repository};
use crate::store::{Store, StoreError, now_ms, rfc3339};

/// A registry to add (the DESIGN.md contract, extended with `repositories`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistry {
    /// A name unique within the tenant.
    pub name: String,
    /// `acr`, `harbor`, `quay`, `swr`, `docker` or `cicd`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `https://host[:port]`, `http://host[:port]` or `host[:port]`.
    pub url: String,
    /// Allow plain HTTP and unverified TLS.
    #[serde(default)]
    pub insecure: bool,
    /// User name.
    pub username: Option<String>,
    /// Password or token (stored sealed, never shown).
    pub password: Option<String>,
    /// Region id.
    pub region_id: Option<String>,
    /// Instance id.
    pub instance_id: Option<String>,
    /// Repositories to sync, for registries whose catalog is closed (most cloud ones);
    /// without it the whole `_catalog` is synced.
    pub repositories: Option<Vec<String>>,
}

/// A registry as the API shows it: never its password.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistryItem {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its URL.
    pub url: String,
    /// Whether plain HTTP / unverified TLS is allowed.
    pub insecure: bool,
    /// The user name, if any.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Region id.
    pub region_id: Option<String>,
    /// Instance id.
    pub instance_id: Option<String>,
    /// Repositories synced instead of the catalog.
    pub repositories: Option<Vec<String>>,
    /// `NEVER`, `RUNNING`, `SUCCESS` or `FAIL`.
    pub sync_status: String,
    /// The last sync's error.
    pub sync_error: Option<String>,
    /// When the last sync ended (RFC 3339).
    pub synced_at: Option<String>,
    /// When it was added (RFC 3339).
    pub created: String,
}

/// A stored registry with what connecting needs.
#[derive(Debug, Clone)]
pub struct RegistryRecord {
    /// The API view.
    pub item: RegistryItem,
    /// The tenant.
    pub tenant_id: String,
    password_sealed: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, name, kind, url, insecure, username, password_sealed, \
    region_id, instance_id, namespaces, sync_status, sync_error, synced_at, created_at";

impl RegistryRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<RegistryRecord, sqlx::Error> {
        let password_sealed: Option<String> = row.try_get("password_sealed")?;
        let repositories: Option<String> = row.try_get("namespaces")?;
        Ok(RegistryRecord {
            tenant_id: row.try_get("tenant_id")?,
            item: RegistryItem {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                url: row.try_get("url")?,
                insecure: row.try_get::<i64, _>("insecure")? != 0,
                username: row.try_get("username")?,
                has_password: password_sealed.is_some(),
                region_id: row.try_get("region_id")?,
                instance_id: row.try_get("instance_id")?,
                repositories: repositories.and_then(|r| serde_json::from_str(&r).ok()),
                sync_status: row.try_get("sync_status")?,
                sync_error: row.try_get("sync_error")?,
                synced_at: row.try_get::<Option<i64>, _>("synced_at")?.map(rfc3339),
                created: rfc3339(row.try_get("created_at")?),
            },
            password_sealed,
        })
    }

    /// The tenant's registry `id`.
    pub async fn load(
        store: &Store,
        tenant_id: &str,
        id: i64,
    ) -> Result<Option<RegistryRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM registries WHERE id = $1 AND tenant_id = $2"
        )))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(store.pool())
        .await?;
        Ok(row.as_ref().map(RegistryRecord::from_row).transpose()?)
    }

    /// The tenant's registries.
    pub async fn list(store: &Store, tenant_id: &str) -> Result<Vec<RegistryItem>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM registries WHERE tenant_id = $1 ORDER BY id"
        )))
        .bind(tenant_id)
        .fetch_all(store.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| RegistryRecord::from_row(r).map(|r| r.item))
            .collect::<Result<_, _>>()?)
    }

    /// Host (with port) and connection options; the password is opened here only.
    pub fn connection(&self, key: &ServerKey) -> Result<(String, RegistryOptions), KeyError> {
        let (host, plain_http) = split_url(&self.item.url);
        let password = self
            .password_sealed
            .as_deref()
            .map(|s| key.open(s))
            .transpose()?;
        let credentials = match (&self.item.username, password) {
            (Some(username), Some(password)) => Some(Credentials {
                username: username.clone(),
                password,
            }),
            _ => None,
        };
        Ok((
            host,
            RegistryOptions {
                insecure: self.item.insecure || plain_http,
                credentials,
                ..RegistryOptions::default()
            },
        ))
    }
}

/// `(host[:port], whether the URL says plain http)`.
fn split_url(url: &str) -> (String, bool) {
    let (rest, http) = if let Some(r) = url.strip_prefix("http://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, false)
    } else {
        (url, false)
    };
    (rest.trim_end_matches('/').to_owned(), http)
}

/// Check and store a new registry.
pub async fn create(
    store: &Store,
    key: &ServerKey,
    tenant_id: &str,
    new: &NewRegistry,
) -> Result<RegistryItem, ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::invalid(
            "name",
            "give a name of 1 to 128 characters",
        ));
    }
    let kind = new.kind.to_ascii_lowercase();
    if !REGISTRY_KINDS.contains(&kind.as_str()) {
        return Err(ApiError::invalid(
            "type",
            format!(
                "unknown registry type `{}`: use {}",
                new.kind,
                REGISTRY_KINDS.join(", ")
            ),
        ));
    }
    let (host, _) = split_url(new.url.trim());
    let host_ok = !host.is_empty()
        && !host.contains('/')
        && !host.contains('@')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !host_ok {
        return Err(ApiError::invalid(
            "url",
            "give the registry as https://host[:port] (no path, no credentials in the URL)",
        ));
    }
    if new.password.is_some() && new.username.is_none() {
        return Err(ApiError::invalid("username", "a password needs a username"));
    }
    if let Some(repos) = &new.repositories
        && let Some(bad) = repos
            .iter()
            .find(|r| r.is_empty() || r.len() > 255 || r.contains("..") || r.starts_with('/'))
    {
        return Err(ApiError::invalid(
            "repositories",
            format!("`{bad}` is not a repository path"),
        ));
    }
    let sealed = new.password.as_deref().map(|p| key.seal(p)).transpose()?;
    let repositories = new
        .repositories
        .as_ref()
        .map(|r| serde_json::to_string(r).unwrap_or_default());
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO registries (tenant_id, name, kind, url, insecure, username, \
         password_sealed, region_id, instance_id, namespaces, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
    )
    .bind(tenant_id)
    .bind(name)
    .bind(&kind)
    .bind(new.url.trim())
    .bind(i64::from(new.insecure))
    .bind(&new.username)
    .bind(sealed)
    .bind(&new.region_id)
    .bind(&new.instance_id)
    .bind(repositories)
    .bind(now_ms())
    .fetch_optional(store.pool())
    .await?;
    let Some(id) = id else {
        return Err(ApiError::conflict(format!(
            "a registry named `{name}` already exists"
        )));
    };
    RegistryRecord::load(store, tenant_id, id)
        .await?
        .map(|r| r.item)
        .ok_or_else(|| ApiError::internal("the new registry vanished"))
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncSummary {
    /// Repositories listed.
    pub repositories: usize,
    /// Tags listed.
    pub tags: usize,
    /// Image rows added or changed (worth scanning).
    pub changed: usize,
    /// Tags whose digest was already known (not fetched again).
    pub unchanged: usize,
    /// Image rows removed (tags gone from the registry).
    pub removed: usize,
    /// Ids of the changed platform images.
    pub changed_image_ids: Vec<i64>,
    /// Problems with single repositories or tags (the rest was synced).
    pub errors: Vec<String>,
}

/// Most tags fetched per repository per sync.
const MAX_TAGS: usize = 10_000;

/// Sync one registry: repositories, tags, manifests and indexes. Only tags whose digest
/// changed are described again. Returns `None` if another sync of it is running.
pub async fn sync(
    store: &Store,
    key: &ServerKey,
    tenant_id: &str,
    registry_id: i64,
) -> Result<Option<SyncSummary>, ApiError> {
    let Some(record) = RegistryRecord::load(store, tenant_id, registry_id).await? else {
        return Err(ApiError::not_found("registry"));
    };
    let now = now_ms();
    // A sync older than an hour that never ended belongs to a node that died.
    let claimed = sqlx::query(
        "UPDATE registries SET sync_status = 'RUNNING', synced_at = $1 WHERE id = $2 \
         AND (sync_status <> 'RUNNING' OR COALESCE(synced_at, 0) < $3)",
    )
    .bind(now)
    .bind(registry_id)
    .bind(now - 3_600_000)
    .execute(store.pool())
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    let result = sync_claimed(store, key, &record).await;
    let (status, error) = match &result {
        Ok(summary) if summary.errors.is_empty() => ("SUCCESS", None),
        Ok(summary) => ("SUCCESS", summary.errors.first().cloned()),
        Err(e) => ("FAIL", Some(e.message.clone())),
    };
    sqlx::query(
        "UPDATE registries SET sync_status = $1, sync_error = $2, synced_at = $3 WHERE id = $4",
    )
    .bind(status)
    .bind(error)
    .bind(now_ms())
    .bind(registry_id)
    .execute(store.pool())
    .await?;
    result.map(Some)
}

async fn sync_claimed(
    store: &Store,
    key: &ServerKey,
    record: &RegistryRecord,
) -> Result<SyncSummary, ApiError> {
    let (host, options) = record
        .connection(key)
        .map_err(|e| ApiError::internal(format!("registry credentials: {e}")))?;
    let remote = Remote::new(host, options);
    let mut summary = SyncSummary::default();
    let repositories = match &record.item.repositories {
        Some(list) => list.clone(),
        None => remote.catalog().await.map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "RegistryUnavailable",
                format!("cannot list the registry's repositories: {e}"),
            )
        })?,
    };
    summary.repositories = repositories.len();
    for repository in repositories {
        if let Err(e) = sync_repository(store, record, &remote, &repository, &mut summary).await {
            summary.errors.push(format!("{repository}: {e}"));
        }
    }
    Ok(summary)
}

async fn sync_repository(
    store: &Store,
    record: &RegistryRecord,
    remote: &Remote,
    repository: &str,
    summary: &mut SyncSummary,
) -> Result<(), String> {
    let tenant = &record.tenant_id;
    let registry_id = record.item.id;
    let repository_id = ensure_repository(store, tenant, registry_id, repository)
        .await
        .map_err(|e| e.to_string())?;
    let known: Vec<(String, String)> = sqlx::query_as(
        "SELECT tag, digest FROM images WHERE registry_id = $1 AND repository = $2 \
         AND parent_id IS NULL",
    )
    .bind(registry_id)
    .bind(repository)
    .fetch_all(store.pool())
    .await
    .map_err(|e| e.to_string())?;
    let tags = remote.tags(repository).await?;
    let tags: Vec<String> = tags.into_iter().take(MAX_TAGS).collect();
    summary.tags += tags.len();
    for tag in &tags {
        let digest = match remote.resolve(repository, tag).await {
            Ok(d) => d,
            Err(e) => {
                summary.errors.push(format!("{repository}:{tag}: {e}"));
                continue;
            }
        };
        if known.iter().any(|(t, d)| t == tag && *d == digest) {
            summary.unchanged += 1;
            continue;
        }
        let description = match remote.describe(repository, &digest).await {
            Ok(d) => d,
            Err(e) => {
                summary.errors.push(format!("{repository}:{tag}: {e}"));
                continue;
            }
        };
        let changed = crate::registry_io::store_description(
            store,
            tenant,
            registry_id,
            repository_id,
            repository,
            tag,
            &description,
        )
        .await
        .map_err(|e| e.to_string())?;
        summary.changed += changed.len();
        summary.changed_image_ids.extend(changed);
    }
    // Tags gone from the registry leave the inventory (their findings with them).
    let mut removed = 0;
    for (tag, _) in known.iter().filter(|(t, _)| !tags.contains(t)) {
        let n = sqlx::query(
            "DELETE FROM images WHERE registry_id = $1 AND repository = $2 AND tag = $3",
        )
        .bind(registry_id)
        .bind(repository)
        .bind(tag)
        .execute(store.pool())
        .await
        .map_err(|e| e.to_string())?
        .rows_affected();
        removed += n as usize;
    }
    summary.removed += removed;
    if removed > 0 {
        crate::tasks::refresh_unfinished(store, tenant)
            .await
            .map_err(|e| e.to_string())?;
    }
    crate::images::refresh_latest(store, repository_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Delete a tenant's registry and everything synced from it; false if there is none.
pub async fn delete(store: &Store, tenant_id: &str, id: i64) -> Result<bool, StoreError> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM registries WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(store.pool())
            .await?;
    if exists.is_none() {
        return Ok(false);
    }
    let mut tx = store.pool().begin().await?;
    sqlx::query("DELETE FROM images WHERE registry_id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM repositories WHERE registry_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM registries WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::tasks::refresh_unfinished(store, tenant_id).await?;
    Ok(true)
}

/// Every registry of every tenant, for periodic syncs: `(tenant, id)`.
pub async fn all(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT tenant_id, id FROM registries ORDER BY id")
            .fetch_all(store.pool())
            .await?,
    )
}
