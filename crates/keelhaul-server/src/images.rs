//! Images: the inventory rows, their filters, and how sync and agents add them.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::ApiError;
use crate::sql::{Arg, Sql};
use crate::store::{Store, StoreError, now_ms, rfc3339};

/// Per-image scan states, as the seeds name them.
pub const SCAN_STATES: &[&str] = &[
    "INIT",
    "START",
    "DOWNLOAD",
    "PRE_ANALYZER",
    "CVE_ANALYZER",
    "BIN_ANALYZER",
    "WEB_SHELL_ANALYZER",
    "OTHER_ANALYZER",
    "SUCCESS",
    "FAIL",
    "TIMEOUT",
];

/// A repository's name without its namespace, in SQL over its namespace and full-path columns.
fn short_name_sql(namespace: &str, full: &str) -> String {
    format!(
        "(CASE WHEN {namespace} = '' THEN {full} ELSE SUBSTR({full}, LENGTH({namespace}) + 2) END)"
    )
}

/// A repository's name without its namespace (`team/app` in `team` is `app`).
pub fn short_name<'a>(namespace: &str, repository: &'a str) -> &'a str {
    if namespace.is_empty() {
        return repository;
    }
    repository
        .strip_prefix(namespace)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(repository)
}

/// How a repository name is matched by [`push_name_match`].
#[derive(Debug, Clone, Copy)]
pub enum NameMatch<'a> {
    /// The full path (with namespace) contains the text.
    FullContains(&'a str),
    /// The name without its namespace contains the text.
    ShortContains(&'a str),
    /// The name without its namespace, or the full path, is the text.
    Equals(&'a str),
}

fn push_name_compare(sql: &mut Sql, namespace: &str, full: &str, how: NameMatch<'_>) {
    let short = short_name_sql(namespace, full);
    match how {
        NameMatch::FullContains(text) => {
            sql.push(&format!("{full} LIKE "));
            sql.bind(Arg::Text(crate::sql::contains_pattern(text)));
            sql.push(" ESCAPE '\\'");
        }
        NameMatch::ShortContains(text) => {
            sql.push(&format!("{short} LIKE "));
            sql.bind(Arg::Text(crate::sql::contains_pattern(text)));
            sql.push(" ESCAPE '\\'");
        }
        NameMatch::Equals(text) => {
            sql.push(&format!("({full} = "));
            sql.bind(Arg::Text(text.to_owned()));
            sql.push(&format!(" OR {short} = "));
            sql.bind(Arg::Text(text.to_owned()));
            sql.push(")");
        }
    }
}

/// Append `<id_column> IN (…)`: the tenant's images whose repository name matches.
/// Names are matched against the tenant's repositories (thousands of rows, not its millions of
/// images) and then found through the repository index; local images, which have no
/// repository rows, are matched directly among the tenant's few host images.
pub fn push_name_match(sql: &mut Sql, id_column: &str, tenant_id: &str, how: NameMatch<'_>) {
    sql.push(&format!(
        "{id_column} IN (SELECT x.id FROM images x WHERE x.repository_id IN \
         (SELECT r.id FROM repositories r WHERE r.tenant_id = "
    ));
    sql.bind(Arg::Text(tenant_id.to_owned()));
    sql.push(" AND ");
    push_name_compare(sql, "r.namespace", "r.name", how);
    sql.push(") UNION ALL SELECT y.id FROM images y WHERE y.tenant_id = ");
    sql.bind(Arg::Text(tenant_id.to_owned()));
    sql.push(" AND y.host_uuid IS NOT NULL AND ");
    push_name_compare(sql, "y.namespace", "y.repository", how);
    sql.push(")");
}

/// Registry types.
pub const REGISTRY_KINDS: &[&str] = &["acr", "harbor", "quay", "swr", "docker", "cicd"];

/// Finding counts of an image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Counts {
    /// OS-package vulnerabilities.
    pub cve: i64,
    /// Application-dependency vulnerabilities.
    pub sca: i64,
    /// Malicious files and webshells.
    pub malicious: i64,
    /// Baseline (build) risks.
    pub baseline: i64,
    /// Secrets.
    pub secret: i64,
    /// Findings not yet handled.
    pub unhandled: i64,
}

/// An image as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImageItem {
    /// The image's id.
    pub id: i64,
    /// The registry it was synced from (none for local images).
    pub registry_id: Option<i64>,
    /// The registry's type.
    pub registry_type: Option<String>,
    /// The registry's region.
    pub region_id: Option<String>,
    /// The registry's instance.
    pub instance_id: Option<String>,
    /// The repository's id.
    pub repository_id: Option<i64>,
    /// The host of a local image.
    pub host_uuid: Option<String>,
    /// The namespace (first path element of the repository).
    pub namespace: String,
    /// The repository, with its namespace.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest (the index digest for a multi-arch entry).
    pub digest: String,
    /// The image id (config digest).
    pub image_id: Option<String>,
    /// `os/arch[/variant]`, or `multi` for a multi-arch entry.
    pub platform: Option<String>,
    /// Whether this entry is a multi-arch index.
    pub is_index: bool,
    /// The index this platform image belongs to.
    pub parent_id: Option<i64>,
    /// Digests of the platform images of a multi-arch entry.
    pub association_images: Vec<String>,
    /// Compressed size in bytes.
    pub size: i64,
    /// When the image was built (RFC 3339).
    pub created: Option<String>,
    /// When keelhaul last saw it change (RFC 3339).
    pub updated: String,
    /// Whether a container runs it.
    pub deployed: bool,
    /// Whether it is the newest image of its repository.
    pub latest: bool,
    /// Scan state.
    pub scan_status: String,
    /// Scan progress, 0–100.
    pub progress: i64,
    /// Result code of the last scan.
    pub result_code: Option<String>,
    /// When it was last scanned (RFC 3339).
    pub last_scan_time: Option<String>,
    /// Finding counts.
    pub counts: Counts,
}

/// The columns [`ImageItem::from_row`] reads.
pub const IMAGE_COLUMNS: &str = "id, registry_id, registry_kind, region_id, instance_id, \
    repository_id, host_uuid, namespace, repository, tag, digest, image_id, platform, is_index, \
    parent_id, size, created_at, updated_at, deployed, latest, scan_status, progress, \
    result_code, last_scan_at, cve, sca, malicious, baseline, secret, unhandled";

impl ImageItem {
    /// Read a row selected with [`IMAGE_COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<ImageItem, sqlx::Error> {
        Ok(ImageItem {
            id: row.try_get("id")?,
            registry_id: row.try_get("registry_id")?,
            registry_type: row.try_get("registry_kind")?,
            region_id: row.try_get("region_id")?,
            instance_id: row.try_get("instance_id")?,
            repository_id: row.try_get("repository_id")?,
            host_uuid: row.try_get("host_uuid")?,
            namespace: row.try_get("namespace")?,
            repository: row.try_get("repository")?,
            tag: row.try_get("tag")?,
            digest: row.try_get("digest")?,
            image_id: row.try_get("image_id")?,
            platform: row.try_get("platform")?,
            is_index: row.try_get::<i64, _>("is_index")? != 0,
            parent_id: row.try_get("parent_id")?,
            association_images: Vec::new(),
            size: row.try_get("size")?,
            created: row.try_get::<Option<i64>, _>("created_at")?.map(rfc3339),
            updated: rfc3339(row.try_get("updated_at")?),
            deployed: row.try_get::<i64, _>("deployed")? != 0,
            latest: row.try_get::<i64, _>("latest")? != 0,
            scan_status: row.try_get("scan_status")?,
            progress: row.try_get("progress")?,
            result_code: row.try_get("result_code")?,
            last_scan_time: row.try_get::<Option<i64>, _>("last_scan_at")?.map(rfc3339),
            counts: Counts {
                cve: row.try_get("cve")?,
                sca: row.try_get("sca")?,
                malicious: row.try_get("malicious")?,
                baseline: row.try_get("baseline")?,
                secret: row.try_get("secret")?,
                unhandled: row.try_get("unhandled")?,
            },
        })
    }
}

/// Selects images: every field is optional and lists are comma-separated, as in the seeds.
/// Used by the image list, by scan-task selectors and by statistics.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Selectors {
    /// Registry types: `acr,harbor,quay,swr,docker,cicd`.
    pub registry_types: Option<String>,
    /// Registry ids.
    pub registry_ids: Option<String>,
    /// Region ids.
    pub region_ids: Option<String>,
    /// Registry instance ids.
    pub instance_ids: Option<String>,
    /// Namespaces.
    pub namespaces: Option<String>,
    /// Repository ids.
    pub repo_ids: Option<String>,
    /// Repository names (with namespace), exact.
    pub repo_names: Option<String>,
    /// Repository names without their namespace (the clouds' `RepoNames`), exact.
    pub short_names: Option<String>,
    /// Manifest digests.
    pub digests: Option<String>,
    /// Tags.
    pub tags: Option<String>,
    /// Image ids.
    pub image_ids: Option<String>,
    /// Hosts of local images (uuids).
    pub host_uuids: Option<String>,
    /// Scan states.
    pub scan_status: Option<String>,
}

fn list(value: &Option<String>) -> Vec<String> {
    value
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn int_list(field: &str, value: &Option<String>) -> Result<Vec<i64>, ApiError> {
    list(value)
        .iter()
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid(field, format!("`{v}` is not an id")))
        })
        .collect()
}

const MAX_LIST: usize = 1000;

impl Selectors {
    /// Whether nothing is selected by name (every image of the tenant).
    pub fn is_empty(&self) -> bool {
        [
            &self.registry_types,
            &self.registry_ids,
            &self.region_ids,
            &self.instance_ids,
            &self.namespaces,
            &self.repo_ids,
            &self.repo_names,
            &self.short_names,
            &self.digests,
            &self.tags,
            &self.image_ids,
            &self.host_uuids,
            &self.scan_status,
        ]
        .iter()
        .all(|v| list(v).is_empty())
    }

    /// Append ` AND …` conditions for these selectors to a query over `images`.
    pub fn push_conditions(&self, sql: &mut Sql) -> Result<(), ApiError> {
        let short_names = short_name_sql("namespace", "repository");
        let texts: [(&str, &str, &Option<String>); 9] = [
            ("registry_types", "registry_kind", &self.registry_types),
            ("region_ids", "region_id", &self.region_ids),
            ("instance_ids", "instance_id", &self.instance_ids),
            ("namespaces", "namespace", &self.namespaces),
            ("repo_names", "repository", &self.repo_names),
            ("short_names", short_names.as_str(), &self.short_names),
            ("digests", "digest", &self.digests),
            ("tags", "tag", &self.tags),
            ("host_uuids", "host_uuid", &self.host_uuids),
        ];
        for (field, column, value) in texts {
            let values = list(value);
            if values.len() > MAX_LIST {
                return Err(ApiError::invalid(
                    field,
                    format!("at most {MAX_LIST} values"),
                ));
            }
            if field == "registry_types"
                && let Some(bad) = values
                    .iter()
                    .find(|v| !REGISTRY_KINDS.contains(&v.to_ascii_lowercase().as_str()))
            {
                return Err(ApiError::invalid(
                    field,
                    format!(
                        "unknown registry type `{bad}`: use {}",
                        REGISTRY_KINDS.join(", ")
                    ),
                ));
            }
            if !values.is_empty() {
                let values: Vec<String> = if field == "registry_types" {
                    values.iter().map(|v| v.to_ascii_lowercase()).collect()
                } else {
                    values
                };
                sql.push(&format!(" AND {column}"));
                sql.bind_texts(&values);
            }
        }
        let statuses = list(&self.scan_status);
        if let Some(bad) = statuses.iter().find(|s| !SCAN_STATES.contains(&s.as_str())) {
            return Err(ApiError::invalid(
                "scan_status",
                format!("unknown scan state `{bad}`: use {}", SCAN_STATES.join(", ")),
            ));
        }
        if !statuses.is_empty() {
            sql.push(" AND scan_status");
            sql.bind_texts(&statuses);
        }
        for (field, column, value) in [
            ("registry_ids", "registry_id", &self.registry_ids),
            ("repo_ids", "repository_id", &self.repo_ids),
            ("image_ids", "id", &self.image_ids),
        ] {
            let ids = int_list(field, value)?;
            if ids.len() > MAX_LIST {
                return Err(ApiError::invalid(
                    field,
                    format!("at most {MAX_LIST} values"),
                ));
            }
            if !ids.is_empty() {
                sql.push(&format!(" AND {column}"));
                sql.bind_ints(&ids);
            }
        }
        Ok(())
    }
}

/// The digests of the platform images of each index among `items`.
pub async fn fill_associations(store: &Store, items: &mut [ImageItem]) -> Result<(), StoreError> {
    let parents: Vec<i64> = items.iter().filter(|i| i.is_index).map(|i| i.id).collect();
    if parents.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("SELECT parent_id, digest FROM images WHERE parent_id");
    sql.bind_ints(&parents);
    sql.push(" ORDER BY id");
    let rows = sql.query().fetch_all(store.pool()).await?;
    for row in rows {
        let parent: i64 = row.try_get(0)?;
        let digest: String = row.try_get(1)?;
        if let Some(item) = items.iter_mut().find(|i| i.id == parent) {
            item.association_images.push(digest);
        }
    }
    Ok(())
}

/// One image found by a registry sync, a webhook or an agent.
#[derive(Debug, Clone, Default)]
pub struct ImageUpsert {
    /// The tenant.
    pub tenant_id: String,
    /// The registry.
    pub registry_id: Option<i64>,
    /// The repository row.
    pub repository_id: Option<i64>,
    /// The host of a local image.
    pub host_uuid: Option<String>,
    /// The repository, with namespace.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The digest.
    pub digest: String,
    /// The config digest.
    pub image_id: Option<String>,
    /// The index this image belongs to.
    pub parent_id: Option<i64>,
    /// Whether this is an index.
    pub is_index: bool,
    /// `os/arch[/variant]`.
    pub platform: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// Layer digests, in order.
    pub layers: Vec<String>,
    /// Build time (Unix ms).
    pub created_at: Option<i64>,
    /// Whether a container runs it.
    pub deployed: bool,
}

/// The namespace of a repository path: its first element, or empty.
pub fn namespace_of(repository: &str) -> &str {
    repository.split_once('/').map_or("", |(ns, _)| ns)
}

/// Insert or refresh an image; returns its id and whether it is new or changed (its digest
/// or layers differ), i.e. worth scanning.
pub async fn upsert(store: &Store, image: &ImageUpsert) -> Result<(i64, bool), StoreError> {
    let now = now_ms();
    let layers =
        serde_json::to_string(&image.layers).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut tx = store.begin_write().await?;
    // NULLs never equal each other in a UNIQUE constraint, so the lookup is explicit.
    let existing: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, layers FROM images WHERE tenant_id = $1 \
         AND COALESCE(registry_id, -1) = $2 AND COALESCE(host_uuid, '') = $3 \
         AND repository = $4 AND tag = $5 AND digest = $6",
    )
    .bind(&image.tenant_id)
    .bind(image.registry_id.unwrap_or(-1))
    .bind(image.host_uuid.clone().unwrap_or_default())
    .bind(&image.repository)
    .bind(&image.tag)
    .bind(&image.digest)
    .fetch_optional(&mut *tx)
    .await?;
    let result = match existing {
        Some((id, old_layers)) => {
            sqlx::query(
                "UPDATE images SET image_id = $1, parent_id = $2, is_index = $3, platform = $4, \
                 size = $5, layers = $6, created_at = $7, deployed = $8, updated_at = $9 \
                 WHERE id = $10",
            )
            .bind(&image.image_id)
            .bind(image.parent_id)
            .bind(i64::from(image.is_index))
            .bind(&image.platform)
            .bind(image.size)
            .bind(&layers)
            .bind(image.created_at)
            .bind(i64::from(image.deployed))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (id, old_layers != layers)
        }
        None => {
            // A tag that moved to a new digest: the old row stays as history of the tag,
            // no longer the latest.
            let id: i64 = sqlx::query_scalar(
                // The registry's type, region and instance are copied onto the row (the list
                // filters read them from the covering index), read here only for new rows.
                "INSERT INTO images (tenant_id, registry_id, registry_kind, region_id, \
                 instance_id, repository_id, host_uuid, namespace, repository, tag, digest, \
                 image_id, parent_id, is_index, platform, size, layers, created_at, updated_at, \
                 deployed, scan_status) VALUES ($1, $2, \
                 (SELECT kind FROM registries WHERE id = $2), \
                 (SELECT region_id FROM registries WHERE id = $2), \
                 (SELECT instance_id FROM registries WHERE id = $2), $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, $14, $15, $16, $17, 'INIT') RETURNING id",
            )
            .bind(&image.tenant_id)
            .bind(image.registry_id)
            .bind(image.repository_id)
            .bind(&image.host_uuid)
            .bind(namespace_of(&image.repository))
            .bind(&image.repository)
            .bind(&image.tag)
            .bind(&image.digest)
            .bind(&image.image_id)
            .bind(image.parent_id)
            .bind(i64::from(image.is_index))
            .bind(&image.platform)
            .bind(image.size)
            .bind(&layers)
            .bind(image.created_at)
            .bind(now)
            .bind(i64::from(image.deployed))
            .fetch_one(&mut *tx)
            .await?;
            (id, true)
        }
    };
    tx.commit().await?;
    Ok(result)
}

/// Mark, per repository, the most recently built image as the latest one.
pub async fn refresh_latest(store: &Store, repository_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE images SET latest = 0 WHERE repository_id = $1 AND latest = 1")
        .bind(repository_id)
        .execute(store.pool())
        .await?;
    sqlx::query(
        "UPDATE images SET latest = 1 WHERE id = (SELECT id FROM images \
         WHERE repository_id = $1 AND parent_id IS NULL \
         ORDER BY COALESCE(created_at, 0) DESC, id DESC LIMIT 1)",
    )
    .bind(repository_id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Bind helper for optional texts.
pub fn opt_text(v: &Option<String>) -> Arg {
    v.clone().map_or(Arg::NullText, Arg::Text)
}
