//! Scan tasks: selectors become one job per image, within the tenant's quota and its limit
//! of running tasks.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::ApiError;
use crate::images::Selectors;
use crate::sql::{Arg, Sql};
use crate::store::{Store, StoreError, now_ms, rfc3339};

/// Why a task was made; decides its priority (lower runs first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskSource {
    /// A registry push (webhook).
    Push,
    /// A CI/CD pipeline.
    Ci,
    /// A user's task.
    Manual,
    /// A periodic sweep.
    Periodic,
}

impl TaskSource {
    fn priority(self) -> i64 {
        match self {
            TaskSource::Push | TaskSource::Ci => 0,
            TaskSource::Manual => 1,
            TaskSource::Periodic => 2,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TaskSource::Push => "push",
            TaskSource::Ci => "ci",
            TaskSource::Manual => "manual",
            TaskSource::Periodic => "periodic",
        }
    }
}

/// Attempts a job gets before it fails (a worker that dies loses one).
pub const DEFAULT_MAX_ATTEMPTS: i64 = 3;

/// The version of the scan engine: an image scanned with the same digest and engine is not
/// scanned again unless forced (the vulnerability DB is kept current by re-matching).
pub fn engine_key() -> String {
    format!("keelhaul-{}", env!("CARGO_PKG_VERSION"))
}

/// What a task would do, before it is made.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Precheck {
    /// Images the selectors match (platform images; a multi-arch entry counts its platforms).
    pub selected: i64,
    /// Of those, images to scan (the rest are up to date).
    pub to_scan: i64,
    /// Scan quota left.
    pub quota_left: i64,
    /// Whether the quota suffices.
    pub beyond_quota: bool,
    /// Tasks of the tenant running now.
    pub running_tasks: i64,
    /// How many may run at once.
    pub max_running_tasks: i64,
    /// Whether a task can be created now.
    pub can_create: bool,
}

/// A task as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskItem {
    /// The task id.
    pub id: String,
    /// `INIT`, `PRE_ANALYZER`, `SUCCESS`, `FAIL` or `CANCELLED`.
    pub status: String,
    /// Why it was made.
    pub source: String,
    /// Images to scan.
    pub total: i64,
    /// Images done (scanned, failed or timed out).
    pub finished: i64,
    /// Images that failed or timed out.
    pub failed: i64,
    /// 0–100.
    pub progress: i64,
    /// A short result.
    pub result: Option<String>,
    /// The selectors.
    pub selectors: Selectors,
    /// Whether up-to-date images were scanned again.
    pub force: bool,
    /// When the task was made (RFC 3339; the seeds' CollectTime).
    pub created: String,
    /// When its first image started (RFC 3339; ExecTime).
    pub started: Option<String>,
    /// When it ended (RFC 3339).
    pub finished_at: Option<String>,
}

/// The columns [`TaskItem::from_row`] reads.
pub const TASK_COLUMNS: &str = "id, status, source, total, finished, failed, progress, result, \
    selectors, force_rescan, created_at, started_at, finished_at";

impl TaskItem {
    /// Read a row selected with [`TASK_COLUMNS`].
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<TaskItem, sqlx::Error> {
        let selectors: String = row.try_get("selectors")?;
        Ok(TaskItem {
            id: row.try_get("id")?,
            status: row.try_get("status")?,
            source: row.try_get("source")?,
            total: row.try_get("total")?,
            finished: row.try_get("finished")?,
            failed: row.try_get("failed")?,
            progress: row.try_get("progress")?,
            result: row.try_get("result")?,
            selectors: serde_json::from_str(&selectors).unwrap_or_default(),
            force: row.try_get::<i64, _>("force_rescan")? != 0,
            created: rfc3339(row.try_get("created_at")?),
            started: row.try_get::<Option<i64>, _>("started_at")?.map(rfc3339),
            finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(rfc3339),
        })
    }
}

/// Why a task was refused.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The tenant's scan quota does not cover it.
    #[error("the task needs {needed} image scans but only {left} are left in the quota")]
    BeyondQuota {
        /// Scans needed.
        needed: i64,
        /// Scans left.
        left: i64,
    },
    /// Too many tasks running.
    #[error("{running} tasks are running, the most allowed at once; wait for one to finish")]
    TooMany {
        /// Tasks running.
        running: i64,
    },
    /// Bad selectors.
    #[error("{0:?}")]
    Invalid(ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TaskError {
    fn from(e: sqlx::Error) -> Self {
        TaskError::Store(StoreError::Sql(e))
    }
}

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::BeyondQuota { .. } => ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "BeyondQuata",
                e.to_string(),
            ),
            TaskError::TooMany { .. } => ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "TaskLimitExceeded",
                e.to_string(),
            ),
            TaskError::Invalid(api) => api,
            TaskError::Store(s) => ApiError::from(s),
        }
    }
}

/// The images a task with these selectors scans: platform images (never an index row),
/// up to date ones left out unless `force`.
fn selection(tenant_id: &str, selectors: &Selectors, force: bool) -> Result<Sql, ApiError> {
    let mut sql = Sql::new(" FROM images WHERE tenant_id = ");
    sql.bind(Arg::Text(tenant_id.to_owned()));
    sql.push(" AND is_index = 0");
    selectors.push_conditions(&mut sql)?;
    if !force {
        sql.push(
            " AND NOT (scan_status = 'SUCCESS' AND COALESCE(scan_key, '') = digest || '|' || ",
        );
        sql.bind(Arg::Text(engine_key()));
        sql.push(")");
    }
    Ok(sql)
}

async fn count(store: &Store, selection: Sql) -> Result<i64, StoreError> {
    let row = selection
        .prefixed("SELECT COUNT(*)")
        .query()
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get(0)?)
}

async fn running_tasks(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
) -> Result<(i64, i64, i64, i64), StoreError> {
    let (quota, used, max_running): (i64, i64, i64) = sqlx::query_as(
        "SELECT scan_quota, quota_used, max_running_tasks FROM tenants WHERE id = $1",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    let running: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE tenant_id = $1 AND status IN ('INIT', 'PRE_ANALYZER')",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((quota, used, max_running, running))
}

/// What a task with these selectors would do.
pub async fn precheck(
    store: &Store,
    tenant_id: &str,
    selectors: &Selectors,
    force: bool,
    source: TaskSource,
) -> Result<Precheck, TaskError> {
    let all = selection(tenant_id, selectors, true).map_err(TaskError::Invalid)?;
    let to_scan = selection(tenant_id, selectors, force).map_err(TaskError::Invalid)?;
    let selected = count(store, all).await?;
    let to_scan = count(store, to_scan).await?;
    let mut conn = store.pool().acquire().await?;
    let (quota, used, max_running, running) = running_tasks(&mut conn, tenant_id).await?;
    let quota_left = (quota - used).max(0);
    Ok(Precheck {
        selected,
        to_scan,
        quota_left,
        beyond_quota: to_scan > quota_left,
        running_tasks: running,
        max_running_tasks: max_running,
        // As `create` decides: only manual tasks wait for a free running-task slot.
        can_create: (running < max_running || source != TaskSource::Manual)
            && to_scan <= quota_left,
    })
}

/// Create a task and its jobs.
pub async fn create(
    store: &Store,
    tenant_id: &str,
    selectors: &Selectors,
    force: bool,
    source: TaskSource,
) -> Result<TaskItem, TaskError> {
    let selection = selection(tenant_id, selectors, force).map_err(TaskError::Invalid)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    let mut tx = store.pool().begin().await?;
    // Written first so the transaction holds the tenant's row (PostgreSQL) or the write lock
    // (SQLite) before it reads the counts it checks: two tasks created at once cannot both
    // pass the limits.
    sqlx::query("UPDATE tenants SET quota_used = quota_used WHERE id = $1")
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    let (quota, used, max_running, running) = running_tasks(&mut tx, tenant_id).await?;
    // Pushes and CI scans are not refused for the number of running tasks: they are what
    // the limit protects room for.
    if running >= max_running && source == TaskSource::Manual {
        return Err(TaskError::TooMany { running });
    }
    let selectors_json = serde_json::to_string(selectors)
        .map_err(|e| TaskError::Store(StoreError::Corrupt(e.to_string())))?;
    sqlx::query(
        "INSERT INTO tasks (id, tenant_id, source, priority, selectors, force_rescan, status, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, 'INIT', $7)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(source.as_str())
    .bind(source.priority())
    .bind(selectors_json)
    .bind(i64::from(force))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // One job per image, numbered within the task: jobs are claimed by (priority, position),
    // so the first image of every task runs before the second of any, whoever made them.
    // The literals are ours (a fresh UUID and integers); the selection keeps its bound
    // parameters.
    let base = selection.prefixed(&format!(
        "INSERT INTO jobs (tenant_id, task_id, image_id, host_uuid, priority, position, state, \
         max_attempts, created_at) SELECT tenant_id, '{id}', id, host_uuid, {prio}, \
         ROW_NUMBER() OVER (ORDER BY id), 'queued', {attempts}, {now}",
        prio = source.priority(),
        attempts = DEFAULT_MAX_ATTEMPTS,
    ));
    let inserted = base.query().execute(&mut *tx).await?.rows_affected();
    let total = i64::try_from(inserted).unwrap_or(i64::MAX);
    let left = (quota - used).max(0);
    if total > left {
        return Err(TaskError::BeyondQuota {
            needed: total,
            left,
        });
    }
    sqlx::query("UPDATE tenants SET quota_used = quota_used + $1 WHERE id = $2")
        .bind(total)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE images SET scan_status = 'INIT', progress = 0 WHERE id IN \
         (SELECT image_id FROM jobs WHERE task_id = $1)",
    )
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    if total == 0 {
        sqlx::query(
            "UPDATE tasks SET status = 'SUCCESS', progress = 100, finished_at = $1, \
             result = 'nothing to scan: every selected image is up to date' WHERE id = $2",
        )
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("UPDATE tasks SET total = $1 WHERE id = $2")
            .bind(total)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    get(store, tenant_id, &id)
        .await?
        .ok_or_else(|| TaskError::Store(StoreError::Corrupt("the new task vanished".into())))
}

/// Queue scans of these images (a sync's, a webhook's, a batch scan's), up to date or not,
/// in tasks of at most 900 images; returns the last task.
pub async fn queue_images(
    store: &Store,
    tenant_id: &str,
    ids: &[i64],
    source: TaskSource,
) -> Result<Option<TaskItem>, TaskError> {
    let mut task = None;
    for chunk in ids.chunks(900) {
        let selectors = Selectors {
            image_ids: Some(
                chunk
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ..Selectors::default()
        };
        task = Some(create(store, tenant_id, &selectors, true, source).await?);
    }
    Ok(task)
}

/// A tenant's task.
pub async fn get(store: &Store, tenant_id: &str, id: &str) -> Result<Option<TaskItem>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND tenant_id = $2"
    )))
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.as_ref().map(TaskItem::from_row).transpose()?)
}

/// Recompute a task's counters and state from its jobs.
pub async fn refresh(store: &Store, task_id: &str) -> Result<(), StoreError> {
    // One refresh of a task at a time, each reading the jobs after the previous one wrote:
    // two jobs finishing together otherwise raced, and the refresh that had read the other
    // job still running could write last, leaving a finished task in PRE_ANALYZER for ever.
    let mut tx = store.begin_write().await?;
    let lock = match store.backend() {
        crate::store::Backend::Postgres => " FOR UPDATE",
        crate::store::Backend::Sqlite => "",
    };
    let current: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT status FROM tasks WHERE id = $1{lock}"
    )))
    .bind(task_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(current) = current else {
        return Ok(());
    };
    let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs WHERE task_id = $1 GROUP BY state")
        .bind(task_id)
        .fetch_all(&mut *tx)
        .await?;
    let (mut total, mut done, mut failed, mut active, mut cancelled) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for row in rows {
        let state: String = row.try_get(0)?;
        let n: i64 = row.try_get(1)?;
        total += n;
        match state.as_str() {
            "done" => done += n,
            "failed" | "timeout" => {
                done += n;
                failed += n;
            }
            "cancelled" => cancelled += n,
            "running" => active += n,
            _ => {}
        }
    }
    let scannable = total - cancelled;
    let progress = if scannable == 0 {
        100
    } else {
        done * 100 / scannable
    };
    let now = now_ms();
    let (status, result) = if current == "CANCELLED" {
        (
            "CANCELLED".to_owned(),
            Some(format!("cancelled; {done} of {scannable} scanned")),
        )
    } else if done == scannable {
        if failed > 0 && failed == scannable {
            (
                "FAIL".to_owned(),
                Some(format!("all {failed} images failed")),
            )
        } else if failed > 0 {
            (
                "SUCCESS".to_owned(),
                Some(format!("{failed} of {scannable} images failed")),
            )
        } else {
            ("SUCCESS".to_owned(), Some("ok".to_owned()))
        }
    } else if active > 0 || done > 0 {
        ("PRE_ANALYZER".to_owned(), None)
    } else {
        (current.clone(), None)
    };
    let terminal = matches!(status.as_str(), "SUCCESS" | "FAIL" | "CANCELLED");
    sqlx::query(
        "UPDATE tasks SET status = $1, finished = $2, failed = $3, progress = $4, \
         result = COALESCE($5, result), \
         started_at = CASE WHEN $6 = 1 AND started_at IS NULL THEN $7 ELSE started_at END, \
         finished_at = CASE WHEN $8 = 1 AND finished_at IS NULL THEN $7 ELSE finished_at END \
         WHERE id = $9",
    )
    .bind(&status)
    .bind(done)
    .bind(failed)
    .bind(progress)
    .bind(result)
    .bind(i64::from(active > 0 || done > 0))
    .bind(now)
    .bind(i64::from(terminal))
    .bind(task_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Bring a tenant's unfinished tasks up to date after images were deleted (their jobs go
/// with them): a task whose images are all gone ends instead of holding one of the tenant's
/// running-task slots for ever.
pub async fn refresh_unfinished(store: &Store, tenant_id: &str) -> Result<(), StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE tenant_id = $1 AND status IN ('INIT', 'PRE_ANALYZER')",
    )
    .bind(tenant_id)
    .fetch_all(store.pool())
    .await?;
    for id in ids {
        refresh(store, &id).await?;
    }
    Ok(())
}

/// Cancel a tenant's task: queued jobs are dropped, running ones finish. Returns false when
/// the tenant has no such task.
pub async fn cancel(store: &Store, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE tasks SET status = 'CANCELLED' WHERE id = $1 AND tenant_id = $2 \
         AND status IN ('INIT', 'PRE_ANALYZER')",
    )
    .bind(id)
    .bind(tenant_id)
    .execute(store.pool())
    .await?
    .rows_affected();
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(store.pool())
            .await?;
    if exists.is_none() {
        return Ok(false);
    }
    if changed > 0 {
        let dropped = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', finished_at = $1 WHERE task_id = $2 \
             AND state = 'queued'",
        )
        .bind(now_ms())
        .bind(id)
        .execute(store.pool())
        .await?
        .rows_affected();
        // Scans that will not happen give their quota back.
        sqlx::query("UPDATE tenants SET quota_used = quota_used - $1 WHERE id = $2")
            .bind(i64::try_from(dropped).unwrap_or(0))
            .bind(tenant_id)
            .execute(store.pool())
            .await?;
        refresh(store, id).await?;
    }
    Ok(true)
}
