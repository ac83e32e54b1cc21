//! Re-matching: when the vulnerability database changes, stored inventories are matched
//! again (no image is downloaded again), counts updated, and the images whose findings
//! changed are posted to the notification webhook with their per-image diff.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::findings::{FindingDiff, from_vulnerabilities, replace};
use crate::store::Store;
use crate::worker::StoredInventory;

/// What a re-match did.
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RematchSummary {
    /// The database version matched against.
    pub db_version: Option<String>,
    /// Images re-matched.
    pub images: usize,
    /// Images whose findings changed.
    pub changed: usize,
}

/// Images matched per round.
const BATCH: i64 = 200;

/// One image whose findings changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageChange {
    /// The image id.
    pub image_id: i64,
    /// Its tenant.
    pub tenant_id: String,
    /// Its repository.
    pub repository: String,
    /// Its tag.
    pub tag: String,
    /// Its digest.
    pub digest: String,
    /// What changed.
    #[serde(flatten)]
    pub diff: FindingDiff,
}

/// The notification body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    /// `findings_changed`.
    pub event: String,
    /// The database version.
    pub db_version: Option<String>,
    /// The images.
    pub images: Vec<ImageChange>,
}

fn db_version(path: &Path) -> Result<Option<String>, String> {
    let db = keelhaul_vulndb::Database::open(path).map_err(|e| e.to_string())?;
    db.built_at().map_err(|e| e.to_string())
}

/// Re-match the stored inventories not yet matched against the database's current version
/// (of one tenant, or all); post changes to `notify_url`.
pub async fn rematch(
    store: &Store,
    db_path: &Path,
    tenant: Option<&str>,
    notify_url: Option<&str>,
) -> Result<RematchSummary, String> {
    let path = db_path.to_owned();
    let version = tokio::task::spawn_blocking(move || db_version(&path))
        .await
        .map_err(|e| e.to_string())??;
    let version_text = version.clone().unwrap_or_default();
    let mut summary = RematchSummary {
        db_version: version.clone(),
        ..RematchSummary::default()
    };
    let mut changes = Vec::new();
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT i.id, i.tenant_id, COALESCE(i.matched_db, ''), i.repository, i.tag, i.digest, \
             v.body FROM images i JOIN inventories v ON v.image_id = i.id \
             WHERE i.id > $1 AND i.scan_status = 'SUCCESS' AND COALESCE(i.matched_db, '') <> $2 \
             AND ($3 = '' OR i.tenant_id = $3) ORDER BY i.id LIMIT $4",
        )
        .bind(after)
        .bind(&version_text)
        .bind(tenant.unwrap_or_default())
        .bind(BATCH)
        .fetch_all(store.pool())
        .await
        .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            break;
        }
        let mut batch = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(|e| e.to_string())?;
            after = after.max(id);
            let old: String = row.try_get(2).map_err(|e| e.to_string())?;
            // Claimed by moving its version: another node re-matching at the same time
            // skips it.
            let won = sqlx::query(
                "UPDATE images SET matched_db = $1 WHERE id = $2 AND COALESCE(matched_db, '') = $3",
            )
            .bind(&version_text)
            .bind(id)
            .bind(&old)
            .execute(store.pool())
            .await
            .map_err(|e| e.to_string())?
            .rows_affected();
            if won != 1 {
                continue;
            }
            let body: Vec<u8> = row.try_get(6).map_err(|e| e.to_string())?;
            let inventory: Option<StoredInventory> = zstd::decode_all(body.as_slice())
                .ok()
                .and_then(|json| serde_json::from_slice(&json).ok());
            let Some(inventory) = inventory else {
                tracing::warn!(image = id, "stored inventory unreadable; rescan the image");
                continue;
            };
            batch.push((
                id,
                row.try_get::<String, _>(1).map_err(|e| e.to_string())?,
                row.try_get::<String, _>(3).map_err(|e| e.to_string())?,
                row.try_get::<String, _>(4).map_err(|e| e.to_string())?,
                row.try_get::<String, _>(5).map_err(|e| e.to_string())?,
                inventory,
            ));
        }
        let path = db_path.to_owned();
        let matched = tokio::task::spawn_blocking(move || {
            let db = keelhaul_vulndb::Database::open(&path).map_err(|e| e.to_string())?;
            let matcher = keelhaul_vulndb::Matcher::new(&db);
            let mut out = Vec::new();
            for (id, tenant, repo, tag, digest, inv) in batch {
                let outcome = matcher
                    .match_packages(inv.os.as_ref(), &inv.packages)
                    .map_err(|e| e.to_string())?;
                out.push((
                    id,
                    tenant,
                    repo,
                    tag,
                    digest,
                    from_vulnerabilities(&outcome.vulnerabilities),
                ));
            }
            Ok::<_, String>(out)
        })
        .await
        .map_err(|e| e.to_string())??;
        for (id, tenant_id, repository, tag, digest, findings) in matched {
            let diff = replace(store, &tenant_id, id, &["cve", "sca"], &findings)
                .await
                .map_err(|e| e.to_string())?;
            summary.images += 1;
            if !diff.is_empty() {
                summary.changed += 1;
                changes.push(ImageChange {
                    image_id: id,
                    tenant_id,
                    repository,
                    tag,
                    digest,
                    diff,
                });
            }
        }
    }
    if summary.images > 0 {
        tracing::info!(
            images = summary.images,
            changed = summary.changed,
            "re-matched stored inventories against the vulnerability database"
        );
    }
    if let Some(url) = notify_url
        && !changes.is_empty()
    {
        // Posted in the background: a slow receiver must not hold up the re-match (or the
        // request that asked for it).
        let url = url.to_owned();
        let body = Notification {
            event: "findings_changed".to_owned(),
            db_version: version,
            images: changes,
        };
        tokio::spawn(async move { notify(&url, &body).await });
    }
    Ok(summary)
}

/// Post a notification, retrying a few times; failures are logged, never fatal.
pub async fn notify(url: &str, body: &Notification) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("cannot build the notification client: {e}");
            return;
        }
    };
    for attempt in 1..=3 {
        match client.post(url).json(body).send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(
                "notification to {url} answered {} (attempt {attempt})",
                r.status()
            ),
            Err(e) => tracing::warn!("notification to {url} failed (attempt {attempt}): {e}"),
        }
        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
    }
}

/// Watch the database file: whenever its version changes (or `trigger` fires), re-match.
pub async fn watch(
    store: Store,
    db_path: std::path::PathBuf,
    notify_url: Option<String>,
    interval: Duration,
    mut trigger: tokio::sync::mpsc::Receiver<()>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut last: Option<Option<String>> = None;
    loop {
        let path = db_path.clone();
        let version = tokio::task::spawn_blocking(move || db_version(&path)).await;
        match version {
            Ok(Ok(v)) if last.as_ref() != Some(&v) => {
                match rematch(&store, &db_path, None, notify_url.as_deref()).await {
                    Ok(_) => last = Some(v),
                    Err(e) => tracing::warn!("re-match failed: {e}"),
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!("vulnerability database not readable: {e}"),
            Err(e) => tracing::warn!("{e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            Some(()) = trigger.recv() => { last = None; }
            _ = shutdown.changed() => return,
        }
    }
}
