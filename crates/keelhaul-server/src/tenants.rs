//! Tenants (projects) and their access keys.

use serde::{Deserialize, Serialize};

use crate::crypto::{KeyError, ServerKey, random_token};
use crate::store::{Store, StoreError, now_ms};

/// What an access key may do, as the seeds' authorization tables name it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Read one resource (an image, a task, findings).
    Read,
    /// List resources.
    List,
    /// Create, change and delete.
    Write,
    /// A host agent: report the host's local images and scan them when asked; nothing else.
    Agent,
}

impl Level {
    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::List => "list",
            Level::Write => "write",
            Level::Agent => "agent",
        }
    }

    /// Parse `read,list,write`.
    pub fn parse_list(text: &str) -> Result<Vec<Level>, String> {
        let mut levels = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let level = match word.to_ascii_lowercase().as_str() {
                "read" => Level::Read,
                "list" => Level::List,
                "write" => Level::Write,
                "agent" => Level::Agent,
                other => {
                    return Err(format!(
                        "unknown access level `{other}`: use read, list, write or agent"
                    ));
                }
            };
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
        if levels.is_empty() {
            return Err("give at least one access level: read, list, write, agent".to_owned());
        }
        levels.sort();
        Ok(levels)
    }

    /// `read,list,write`.
    pub fn join(levels: &[Level]) -> String {
        levels
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// How long an issued token stands for its key (as long as an IAM token).
pub const TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;
/// Keeps tokens apart from the other values the server key seals.
const TOKEN_PREFIX: &str = "keelhaul-token:v1:";

/// A token standing for access key `key_id` for [`TOKEN_TTL_MS`] (the Huawei-style
/// `X-Auth-Token`): the key id and expiry sealed with the server key, so nothing is stored and
/// no node needs to know of it. The key is loaded on every use: disabling it ends its tokens.
pub fn issue_token(key: &ServerKey, key_id: &str) -> Result<(String, i64), KeyError> {
    let expires = now_ms() + TOKEN_TTL_MS;
    Ok((
        key.seal(&format!("{TOKEN_PREFIX}{expires}:{key_id}"))?,
        expires,
    ))
}

/// The key id a token stands for, if the token is this server's and unexpired.
pub fn token_key_id(key: &ServerKey, token: &str) -> Option<String> {
    let plain = key.open(token.trim()).ok()?;
    let (expires, id) = plain.strip_prefix(TOKEN_PREFIX)?.split_once(':')?;
    (expires.parse::<i64>().ok()? > now_ms()).then(|| id.to_owned())
}

/// Default quota of image scans per tenant.
pub const DEFAULT_SCAN_QUOTA: i64 = 1_000_000;
/// Default number of tasks a tenant may have running at once.
pub const DEFAULT_MAX_RUNNING_TASKS: i64 = 10;

/// A new access key, the only time its secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedKey {
    /// The tenant's name.
    pub tenant: String,
    /// The tenant's id (the Huawei-style API's project id).
    pub project_id: String,
    /// The key id.
    pub access_key_id: String,
    /// The key secret.
    pub access_key_secret: String,
    /// Its access levels.
    pub levels: Vec<Level>,
    /// The one host an agent key is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_uuid: Option<String>,
}

/// A failure creating or finding keys.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl From<sqlx::Error> for TenantError {
    fn from(e: sqlx::Error) -> Self {
        TenantError::Store(StoreError::Sql(e))
    }
}

/// The tenant named `name`, created if new; returns its id.
pub async fn ensure_tenant(store: &Store, name: &str) -> Result<String, TenantError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    sqlx::query(
        "INSERT INTO tenants (id, name, scan_quota, max_running_tasks, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(DEFAULT_SCAN_QUOTA)
    .bind(DEFAULT_MAX_RUNNING_TASKS)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    let id: String = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_one(store.pool())
        .await?;
    Ok(id)
}

/// Create an access key for the tenant `tenant` (created if new).
pub async fn create_key(
    store: &Store,
    key: &ServerKey,
    tenant: &str,
    levels: &[Level],
    description: Option<&str>,
    host_uuid: Option<&str>,
) -> Result<CreatedKey, TenantError> {
    let project_id = ensure_tenant(store, tenant).await?;
    // 20 upper-case characters like the clouds' AK ids; 40-character secrets.
    let access_key_id = format!("KH{}", random_token(18, true)?);
    let access_key_secret = random_token(40, false)?;
    sqlx::query(
        "INSERT INTO access_keys (id, tenant_id, secret_sealed, levels, description, created_at, \
         host_uuid) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&access_key_id)
    .bind(&project_id)
    .bind(key.seal(&access_key_secret)?)
    .bind(Level::join(levels))
    .bind(description)
    .bind(now_ms())
    .bind(host_uuid)
    .execute(store.pool())
    .await?;
    Ok(CreatedKey {
        tenant: tenant.to_owned(),
        project_id,
        access_key_id,
        access_key_secret,
        levels: levels.to_vec(),
        host_uuid: host_uuid.map(str::to_owned),
    })
}

/// A stored key, its secret opened.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// The key id.
    pub id: String,
    /// The tenant id.
    pub tenant_id: String,
    /// The secret.
    pub secret: String,
    /// The levels.
    pub levels: Vec<Level>,
    /// The one host an agent key is bound to.
    pub host_uuid: Option<String>,
}

/// The enabled key `id`, if it exists.
pub async fn find_key(
    store: &Store,
    key: &ServerKey,
    id: &str,
) -> Result<Option<KeyRecord>, TenantError> {
    let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT tenant_id, secret_sealed, levels, host_uuid FROM access_keys \
         WHERE id = $1 AND disabled = 0",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    let Some((tenant_id, sealed, levels, host_uuid)) = row else {
        return Ok(None);
    };
    Ok(Some(KeyRecord {
        id: id.to_owned(),
        tenant_id,
        secret: key.open(&sealed)?,
        levels: Level::parse_list(&levels).unwrap_or_default(),
        host_uuid,
    }))
}
