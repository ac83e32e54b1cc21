//! The job queue: rows claimed with a lease. A worker renews its lease while it works; a
//! lease that runs out (the worker was killed) puts the job back, until its attempts are
//! used up.

use std::time::Duration;

use sqlx::Row;

use crate::store::{Store, StoreError, now_ms};

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The job.
    pub id: i64,
    /// Its task.
    pub task_id: String,
    /// The image to scan.
    pub image_id: i64,
    /// The tenant.
    pub tenant_id: String,
    /// This attempt's number, from 1.
    pub attempt: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whose jobs a claim takes.
#[derive(Debug, Clone, Copy)]
pub enum Claimer<'a> {
    /// A worker: jobs of registry images (never those bound to a host).
    Worker,
    /// A host's agent: the jobs of its local images.
    Host {
        /// The tenant.
        tenant_id: &'a str,
        /// The host.
        host_uuid: &'a str,
    },
}

/// Claim the most urgent queued job, if any.
pub async fn claim(
    store: &Store,
    worker: &str,
    lease: Duration,
    claimer: Claimer<'_>,
) -> Result<Option<Claimed>, StoreError> {
    let now = now_ms();
    let (scope, tenant, host) = match claimer {
        Claimer::Worker => ("host_uuid IS NULL", "", ""),
        Claimer::Host {
            tenant_id,
            host_uuid,
        } => ("tenant_id = $4 AND host_uuid = $5", tenant_id, host_uuid),
    };
    // `state = 'queued'` is checked again outside the subquery: under PostgreSQL's READ
    // COMMITTED a row claimed meanwhile is re-read, and must not be claimed twice.
    let query = store
        .sql(&format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
         WHERE state = 'queued' AND id = (SELECT id FROM jobs WHERE state = 'queued' \
         AND {scope} ORDER BY priority, position, id LIMIT 1 {{SKIP_LOCKED}}) \
         RETURNING id, task_id, image_id, tenant_id, attempts"
        ))
        .into_owned();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(query))
        .bind(worker)
        .bind(now + ms(lease))
        .bind(now);
    if matches!(claimer, Claimer::Host { .. }) {
        query = query.bind(tenant).bind(host);
    }
    let row = query.fetch_optional(store.pool()).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let claimed = Claimed {
        id: row.try_get(0)?,
        task_id: row.try_get(1)?,
        image_id: row.try_get(2)?,
        tenant_id: row.try_get(3)?,
        attempt: row.try_get(4)?,
    };
    sqlx::query(
        "UPDATE tasks SET status = 'PRE_ANALYZER', started_at = COALESCE(started_at, $1) \
         WHERE id = $2 AND status = 'INIT'",
    )
    .bind(now)
    .bind(&claimed.task_id)
    .execute(store.pool())
    .await?;
    Ok(Some(claimed))
}

/// Extend a lease; false when the lease was lost (it ran out and another worker took the
/// job, or the task was cancelled).
pub async fn renew(
    store: &Store,
    job: i64,
    worker: &str,
    lease: Duration,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(now_ms() + ms(lease))
    .bind(job)
    .bind(worker)
    .execute(store.pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Finish a job in `state` (`done`, `failed`, `timeout`); false if the lease was lost, in
/// which case nothing is changed.
pub async fn finish(
    store: &Store,
    job: &Claimed,
    worker: &str,
    state: &str,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_owner = NULL, \
         lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
    )
    .bind(state)
    .bind(error)
    .bind(now_ms())
    .bind(job.id)
    .bind(worker)
    .execute(store.pool())
    .await?
    .rows_affected();
    if n == 1 {
        crate::tasks::refresh(store, &job.task_id).await?;
    }
    Ok(n == 1)
}

/// Give a job back to the queue without using up an attempt (a worker shutting down).
pub async fn release(store: &Store, job: &Claimed, worker: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, \
         attempts = attempts - 1 WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(job.id)
    .bind(worker)
    .execute(store.pool())
    .await?;
    sqlx::query("UPDATE images SET scan_status = 'INIT', progress = 0 WHERE id = $1")
        .bind(job.image_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Put back the jobs whose lease ran out, or fail them when their attempts are used up.
/// Returns how many were requeued and failed.
pub async fn reap(store: &Store) -> Result<(u64, u64), StoreError> {
    let now = now_ms();
    let failed_rows = sqlx::query(
        "UPDATE jobs SET state = 'failed', finished_at = $1, lease_owner = NULL, \
         error = 'the worker scanning this image stopped responding on every attempt' \
         WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts \
         RETURNING task_id, image_id",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let requeued_rows = sqlx::query(
        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL \
         WHERE state = 'running' AND lease_until < $1 AND attempts < max_attempts \
         RETURNING task_id, image_id",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let mut tasks = std::collections::BTreeSet::new();
    for row in &failed_rows {
        tasks.insert(row.try_get::<String, _>(0)?);
        sqlx::query(
            "UPDATE images SET scan_status = 'FAIL', result_code = 'WORKER_LOST', progress = 0 \
             WHERE id = $1",
        )
        .bind(row.try_get::<i64, _>(1)?)
        .execute(store.pool())
        .await?;
    }
    for row in &requeued_rows {
        tasks.insert(row.try_get::<String, _>(0)?);
        sqlx::query("UPDATE images SET scan_status = 'INIT', progress = 0 WHERE id = $1")
            .bind(row.try_get::<i64, _>(1)?)
            .execute(store.pool())
            .await?;
    }
    for task in &tasks {
        crate::tasks::refresh(store, task).await?;
    }
    if !requeued_rows.is_empty() || !failed_rows.is_empty() {
        tracing::warn!(
            requeued = requeued_rows.len(),
            failed = failed_rows.len(),
            "jobs whose worker stopped renewing its lease"
        );
    }
    Ok((requeued_rows.len() as u64, failed_rows.len() as u64))
}

/// [`reap`], unless this process reaped less than `every` ago: workers and agents' claim
/// calls ask on every poll, and one reap per interval per process is enough.
pub async fn reap_if_due(store: &Store, every: Duration) -> Result<(), StoreError> {
    static LAST_REAP: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    {
        let mut last = LAST_REAP.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < every) {
            return Ok(());
        }
        *last = Some(std::time::Instant::now());
    }
    reap(store).await.map(|_| ())
}

/// Jobs by state, for metrics.
pub async fn counts_by_state(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
