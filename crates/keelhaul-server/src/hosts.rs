//! Hosts running `keelhaul agent`: the local images they report, and the scan jobs of those
//! images, which only the host's own agent claims (image content never leaves the host).
//!
//! The types here are the wire format between `keelhaul agent` and the server.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::findings::{NewFinding, dedup, from_content, from_vulnerabilities};
use crate::images::{ImageUpsert, upsert};
use crate::jobs::{self, Claimed, Claimer};
use crate::store::{Store, StoreError, now_ms};
use crate::worker::{ScanResult, StoredInventory, record_result, set_state};

/// How long an agent's claim holds without renewal (agents renew every minute).
pub const AGENT_LEASE: Duration = Duration::from_secs(300);

/// What an agent reports about its host, every interval.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostReport {
    /// The host's name.
    pub hostname: String,
    /// The container engine and its version (`Docker 27.1`, `Podman Engine 4.3.1`).
    #[serde(default)]
    pub engine: Option<String>,
    /// The agent's version.
    #[serde(default)]
    pub agent_version: Option<String>,
    /// Every image the engine holds now; images reported before and missing here are gone.
    pub images: Vec<LocalImage>,
}

/// One image of a host's engine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalImage {
    /// The repository, as the engine names it (`docker.io/library/nginx`, `<none>`).
    pub repository: String,
    /// The tag (`<none>` for an untagged image).
    pub tag: String,
    /// The registry manifest digest when the engine knows it (pulled images), else the image id.
    pub digest: String,
    /// The image id (config digest).
    pub image_id: String,
    /// Size in bytes.
    pub size: i64,
    /// When it was built (Unix ms).
    #[serde(default)]
    pub created: Option<i64>,
}

/// What a report changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HostReportSummary {
    /// Images the host holds now.
    pub images: u64,
    /// Images new to the inventory, or changed.
    pub added: u64,
    /// Images gone from the host, removed from the inventory.
    pub removed: u64,
}

/// A scan job handed to an agent.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentJob {
    /// The job.
    pub job_id: i64,
    /// The image's inventory id.
    pub image_id: i64,
    /// The repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The digest.
    pub digest: String,
    /// The engine's image id, which the agent exports.
    pub engine_image_id: Option<String>,
    /// Renew the claim before this many seconds pass.
    pub lease_seconds: u64,
}

/// What an agent's scan found, or why it failed. Vulnerabilities are matched by the server
/// against its own database, from the inventory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentResult {
    /// Why the scan failed (nothing else is read then).
    #[serde(default)]
    pub error: Option<String>,
    /// The OS.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub os: Option<keelhaul_core::OsRelease>,
    /// Installed packages.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub packages: Vec<keelhaul_core::Package>,
    /// Secrets.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub secrets: Vec<keelhaul_core::SecretFinding>,
    /// Malicious files.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub malware: Vec<keelhaul_core::MalwareFinding>,
    /// Baseline risks.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub baseline: Vec<keelhaul_core::BaselineFinding>,
    /// False when a layer could not be fully read.
    #[serde(default)]
    pub complete: bool,
    /// The image's config digest.
    #[serde(default)]
    pub config_digest: Option<String>,
}

/// Record a host's report: upsert its images, drop the ones it no longer has.
pub async fn report(
    store: &Store,
    tenant_id: &str,
    host_uuid: &str,
    report: &HostReport,
) -> Result<HostReportSummary, StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO hosts (tenant_id, uuid, hostname, engine, agent_version, images, \
         first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (tenant_id, uuid) DO UPDATE SET hostname = excluded.hostname, \
         engine = excluded.engine, agent_version = excluded.agent_version, \
         images = excluded.images, last_seen = excluded.last_seen",
    )
    .bind(tenant_id)
    .bind(host_uuid)
    .bind(&report.hostname)
    .bind(&report.engine)
    .bind(&report.agent_version)
    .bind(i64::try_from(report.images.len()).unwrap_or(i64::MAX))
    .bind(now)
    .execute(store.pool())
    .await?;
    let mut summary = HostReportSummary {
        images: report.images.len() as u64,
        ..HostReportSummary::default()
    };
    let mut kept = BTreeSet::new();
    for image in &report.images {
        let (id, changed) = upsert(
            store,
            &ImageUpsert {
                tenant_id: tenant_id.to_owned(),
                host_uuid: Some(host_uuid.to_owned()),
                repository: image.repository.clone(),
                tag: image.tag.clone(),
                digest: image.digest.clone(),
                image_id: Some(image.image_id.clone()),
                size: image.size,
                // The engine's image id stands for the content: a changed id is a new image.
                layers: vec![image.image_id.clone()],
                created_at: image.created,
                ..ImageUpsert::default()
            },
        )
        .await?;
        kept.insert(id);
        if changed {
            summary.added += 1;
        }
    }
    let known: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM images WHERE tenant_id = $1 AND host_uuid = $2 AND registry_id IS NULL",
    )
    .bind(tenant_id)
    .bind(host_uuid)
    .fetch_all(store.pool())
    .await?;
    let gone: Vec<i64> = known.into_iter().filter(|id| !kept.contains(id)).collect();
    for chunk in gone.chunks(500) {
        let mut sql = crate::sql::Sql::new("DELETE FROM images WHERE tenant_id = ");
        sql.bind(crate::sql::Arg::Text(tenant_id.to_owned()));
        sql.push(" AND id");
        sql.bind_ints(chunk);
        summary.removed += sql.query().execute(store.pool()).await?.rows_affected();
    }
    if summary.removed > 0 {
        tracing::info!(
            host = host_uuid,
            removed = summary.removed,
            "images gone from a host"
        );
    }
    Ok(summary)
}

fn lease_owner(tenant_id: &str, host_uuid: &str) -> String {
    format!("agent:{tenant_id}:{host_uuid}")
}

/// Claim the host's most urgent queued scan, if any.
pub async fn claim(
    store: &Store,
    tenant_id: &str,
    host_uuid: &str,
) -> Result<Option<AgentJob>, StoreError> {
    // Agents may be the only claimers on a node without workers: expired leases are put back
    // here too, as often as a worker would.
    jobs::reap_if_due(store, AGENT_LEASE / 10).await?;
    let Some(job) = jobs::claim(
        store,
        &lease_owner(tenant_id, host_uuid),
        AGENT_LEASE,
        Claimer::Host {
            tenant_id,
            host_uuid,
        },
    )
    .await?
    else {
        return Ok(None);
    };
    let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT repository, tag, digest, image_id FROM images WHERE id = $1 AND tenant_id = $2",
    )
    .bind(job.image_id)
    .bind(tenant_id)
    .fetch_optional(store.pool())
    .await?;
    let Some((repository, tag, digest, engine_image_id)) = row else {
        jobs::finish(
            store,
            &job,
            &lease_owner(tenant_id, host_uuid),
            "failed",
            Some("the image was deleted"),
        )
        .await?;
        return Ok(None);
    };
    set_state(store, job.image_id, "START", 1, None).await?;
    Ok(Some(AgentJob {
        job_id: job.id,
        image_id: job.image_id,
        repository,
        tag,
        digest,
        engine_image_id,
        lease_seconds: AGENT_LEASE.as_secs(),
    }))
}

/// The host's running job `job_id`, if this host holds its lease.
async fn held(
    store: &Store,
    tenant_id: &str,
    host_uuid: &str,
    job_id: i64,
) -> Result<Option<Claimed>, StoreError> {
    let row: Option<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, task_id, image_id, attempts FROM jobs WHERE id = $1 AND tenant_id = $2 \
         AND host_uuid = $3 AND lease_owner = $4 AND state = 'running'",
    )
    .bind(job_id)
    .bind(tenant_id)
    .bind(host_uuid)
    .bind(lease_owner(tenant_id, host_uuid))
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|(id, task_id, image_id, attempt)| Claimed {
        id,
        task_id,
        image_id,
        tenant_id: tenant_id.to_owned(),
        attempt,
    }))
}

/// Extend the claim on a job; false when the host no longer holds it.
pub async fn renew(
    store: &Store,
    tenant_id: &str,
    host_uuid: &str,
    job_id: i64,
    progress: Option<i64>,
) -> Result<bool, StoreError> {
    let Some(job) = held(store, tenant_id, host_uuid, job_id).await? else {
        return Ok(false);
    };
    if let Some(pct) = progress {
        let pct = pct.clamp(2, 70);
        let state = if pct < 40 { "DOWNLOAD" } else { "PRE_ANALYZER" };
        set_state(store, job.image_id, state, pct, None).await?;
    }
    jobs::renew(
        store,
        job.id,
        &lease_owner(tenant_id, host_uuid),
        AGENT_LEASE,
    )
    .await
}

/// Store an agent's result (matching the inventory against `vulndb` first); false when the
/// host no longer holds the job.
pub async fn complete(
    store: &Store,
    tenant_id: &str,
    host_uuid: &str,
    job_id: i64,
    result: AgentResult,
    vulndb: Option<&std::path::Path>,
) -> Result<bool, StoreError> {
    let Some(job) = held(store, tenant_id, host_uuid, job_id).await? else {
        return Ok(false);
    };
    let owner = lease_owner(tenant_id, host_uuid);
    if let Some(error) = &result.error {
        set_state(store, job.image_id, "FAIL", 100, Some("SCAN_FAILED")).await?;
        return jobs::finish(store, &job, &owner, "failed", Some(error)).await;
    }
    let inventory = StoredInventory {
        os: result.os.clone(),
        packages: result.packages.clone(),
    };
    let (vulnerability_findings, matched_db) = match vulndb {
        Some(path) => {
            let path = path.to_owned();
            let inv = inventory.clone();
            tokio::task::spawn_blocking(move || match_inventory(&path, &inv))
                .await
                .map_err(|e| StoreError::Corrupt(format!("the matcher panicked: {e}")))?
                .map_err(StoreError::Corrupt)?
        }
        None => (Vec::new(), None),
    };
    let mut findings = vulnerability_findings;
    findings.extend(from_content(
        &result.malware,
        &result.baseline,
        &result.secrets,
    ));
    let scan = ScanResult {
        inventory,
        findings: dedup(findings),
        complete: result.complete,
        config_digest: result.config_digest.clone(),
        matched_db,
    };
    record_result(store, tenant_id, job.image_id, &scan).await?;
    jobs::finish(store, &job, &owner, "done", None).await
}

fn match_inventory(
    path: &std::path::Path,
    inventory: &StoredInventory,
) -> Result<(Vec<NewFinding>, Option<String>), String> {
    let db = keelhaul_vulndb::Database::open(path)
        .map_err(|e| format!("cannot open the vulnerability database: {e}"))?;
    let version = db.built_at().map_err(|e| e.to_string())?;
    let matcher = keelhaul_vulndb::Matcher::new(&db);
    let outcome = matcher
        .match_packages(inventory.os.as_ref(), &inventory.packages)
        .map_err(|e| e.to_string())?;
    Ok((from_vulnerabilities(&outcome.vulnerabilities), version))
}

/// A host as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostItem {
    /// The host's uuid.
    pub uuid: String,
    /// Its name.
    pub hostname: String,
    /// Its container engine.
    pub engine: Option<String>,
    /// The agent's version.
    pub agent_version: Option<String>,
    /// Images it reported last.
    pub images: i64,
    /// Last report (RFC 3339).
    pub last_seen: String,
}

/// The tenant's hosts.
pub async fn list(store: &Store, tenant_id: &str) -> Result<Vec<HostItem>, StoreError> {
    type HostRow = (String, String, Option<String>, Option<String>, i64, i64);
    let rows: Vec<HostRow> = sqlx::query_as(
        "SELECT uuid, hostname, engine, agent_version, images, last_seen FROM hosts \
         WHERE tenant_id = $1 ORDER BY hostname, uuid",
    )
    .bind(tenant_id)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(uuid, hostname, engine, agent_version, images, last_seen)| HostItem {
                uuid,
                hostname,
                engine,
                agent_version,
                images,
                last_seen: crate::store::rfc3339(last_seen),
            },
        )
        .collect())
}

/// Hosts' uuids are the agent's (a UUID, or a name the operator chose): printable and short.
pub fn valid_host_uuid(uuid: &str) -> bool {
    !uuid.is_empty()
        && uuid.len() <= 128
        && uuid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}
