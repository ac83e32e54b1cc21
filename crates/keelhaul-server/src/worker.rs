//! Workers: claim a job, scan its image with the engine (layer analyses shared through the
//! database), match it, store inventory and findings, and report progress in the seeds'
//! per-image states.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keelhaul_analyze::{FactsStore, Progress};
use keelhaul_image::{Layer, OpenOptions, Target};
use keelhaul_report::Report;
use keelhaul_scan::{ScanOptions, Scanner, Scanners};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::crypto::ServerKey;
use crate::jobs::{self, Claimed};
use crate::layers::DbFacts;
use crate::registries::RegistryRecord;
use crate::store::{Store, StoreError, now_ms};

/// How workers run.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at once by this process.
    pub concurrency: usize,
    /// How long a claim holds without renewal.
    pub lease: Duration,
    /// A scan that takes longer ends in TIMEOUT.
    pub job_timeout: Duration,
    /// How long an idle worker waits before looking for work again.
    pub poll: Duration,
    /// On shutdown, how long in-flight jobs may take before they are given back.
    pub grace: Duration,
    /// The vulnerability database (none: inventory and content findings only).
    pub vulndb: Option<PathBuf>,
    /// Content scanners.
    pub scanners: Scanners,
    /// Layers analysed at once within one scan.
    pub layer_threads: usize,
    /// This process's name in leases.
    pub worker_id: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 2,
            lease: Duration::from_secs(30),
            job_timeout: Duration::from_secs(1800),
            poll: Duration::from_millis(500),
            grace: Duration::from_secs(30),
            vulndb: None,
            scanners: Scanners::default(),
            layer_threads: 0,
            worker_id: default_worker_id(),
        }
    }
}

/// `host:pid:random`.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".to_owned());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// What re-matching needs of a scanned image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredInventory {
    /// The OS.
    pub os: Option<keelhaul_core::OsRelease>,
    /// The packages.
    pub packages: Vec<keelhaul_core::Package>,
}

/// Run `config.concurrency` job loops until `shutdown` turns true.
pub async fn run(
    store: Store,
    key: ServerKey,
    config: WorkerConfig,
    shutdown: watch::Receiver<bool>,
) {
    let config = Arc::new(config);
    let mut handles = Vec::new();
    for n in 0..config.concurrency.max(1) {
        let worker = Worker {
            store: store.clone(),
            key: key.clone(),
            config: config.clone(),
            id: format!("{}#{n}", config.worker_id),
        };
        handles.push(tokio::spawn(worker.run_loop(shutdown.clone())));
    }
    for h in handles {
        if let Err(e) = h.await {
            tracing::error!("worker loop ended abnormally: {e}");
        }
    }
}

struct Worker {
    store: Store,
    key: ServerKey,
    config: Arc<WorkerConfig>,
    id: String,
}

/// How a job ended.
enum Outcome {
    Done,
    Failed(String),
    TimedOut,
    /// Shutting down: give the job back.
    Released,
    /// The lease was lost to another worker: write nothing.
    LeaseLost,
}

impl Worker {
    async fn run_loop(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = jobs::reap_if_due(&self.store, self.config.lease / 2).await {
                tracing::warn!("could not reap expired leases: {e}");
            }
            match jobs::claim(
                &self.store,
                &self.id,
                self.config.lease,
                jobs::Claimer::Worker,
            )
            .await
            {
                Ok(Some(job)) => self.handle(job, shutdown.clone()).await,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!("could not claim a job: {e}");
                    tokio::time::sleep(self.config.poll * 4).await;
                }
            }
        }
    }

    async fn handle(&self, job: Claimed, shutdown: watch::Receiver<bool>) {
        let started = Instant::now();
        let span = tracing::info_span!(
            "job",
            id = job.id,
            image = job.image_id,
            attempt = job.attempt
        );
        let _enter = span.enter();
        drop(_enter);
        let outcome = self.scan(&job, shutdown).await;
        let store = &self.store;
        let result = match &outcome {
            Outcome::Done => jobs::finish(store, &job, &self.id, "done", None).await,
            Outcome::Failed(e) => {
                let _ = set_state(store, job.image_id, "FAIL", 100, Some("SCAN_FAILED")).await;
                jobs::finish(store, &job, &self.id, "failed", Some(e)).await
            }
            Outcome::TimedOut => {
                let _ = set_state(store, job.image_id, "TIMEOUT", 100, Some("TIMEOUT")).await;
                jobs::finish(
                    store,
                    &job,
                    &self.id,
                    "timeout",
                    Some("the scan took too long"),
                )
                .await
            }
            Outcome::Released => jobs::release(store, &job, &self.id).await.map(|()| true),
            Outcome::LeaseLost => Ok(false),
        };
        let label = match &outcome {
            Outcome::Done => "done",
            Outcome::Failed(_) => "failed",
            Outcome::TimedOut => "timeout",
            Outcome::Released => "released",
            Outcome::LeaseLost => "lease_lost",
        };
        metrics::counter!("keelhaul_jobs_total", "outcome" => label).increment(1);
        metrics::histogram!("keelhaul_scan_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(true) => tracing::info!(
                job = job.id,
                image = job.image_id,
                outcome = label,
                secs = started.elapsed().as_secs_f64(),
                "job finished"
            ),
            Ok(false) => tracing::warn!(
                job = job.id,
                "the job's lease was lost; its result was dropped"
            ),
            Err(e) => tracing::error!(job = job.id, "could not record the job's end: {e}"),
        }
    }

    async fn scan(&self, job: &Claimed, mut shutdown: watch::Receiver<bool>) -> Outcome {
        let prepared = match self.prepare(job).await {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(e),
        };
        if set_state(&self.store, job.image_id, "START", 1, None)
            .await
            .is_err()
        {
            return Outcome::Failed("the store is unavailable".to_owned());
        }
        let progress = Arc::new(JobProgress::new(prepared.total_bytes));
        let facts: Arc<dyn FactsStore> = Arc::new(DbFacts::new(
            self.store.clone(),
            tokio::runtime::Handle::current(),
            format!("{}/job{}", self.id, job.id),
        ));
        let config = self.config.clone();
        let scan_progress = progress.clone();
        let mut scan = tokio::task::spawn_blocking(move || {
            scan_blocking(&prepared, facts, &config, scan_progress.as_ref())
        });
        let mut renew = tokio::time::interval(self.config.lease / 3);
        renew.tick().await;
        let mut report_progress = tokio::time::interval(Duration::from_millis(1000));
        let deadline = tokio::time::sleep(self.config.job_timeout);
        tokio::pin!(deadline);
        let grace = tokio::time::sleep(Duration::from_secs(u64::MAX / 4));
        tokio::pin!(grace);
        let mut shutting_down = false;
        let result = loop {
            tokio::select! {
                r = &mut scan => break r,
                _ = renew.tick() => {
                    match jobs::renew(&self.store, job.id, &self.id, self.config.lease).await {
                        Ok(true) => {}
                        Ok(false) => return Outcome::LeaseLost,
                        Err(e) => tracing::warn!("could not renew the lease of job {}: {e}", job.id),
                    }
                }
                _ = report_progress.tick() => {
                    let (state, pct) = progress.state();
                    let _ = set_state(&self.store, job.image_id, state, pct, None).await;
                }
                _ = &mut deadline => return Outcome::TimedOut,
                _ = shutdown.changed(), if !shutting_down => {
                    shutting_down = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + self.config.grace);
                }
                _ = &mut grace, if shutting_down => return Outcome::Released,
            }
        };
        let (report, matched_db) = match result {
            Ok(Ok(scanned)) => scanned,
            Ok(Err(e)) => return Outcome::Failed(e),
            Err(e) => return Outcome::Failed(format!("the scan panicked: {e}")),
        };
        match self.store_report(job, report, matched_db).await {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::LeaseLost,
            Err(e) => Outcome::Failed(format!("could not store the results: {e}")),
        }
    }

    /// Where the image is and how to reach it.
    async fn prepare(&self, job: &Claimed) -> Result<Prepared, String> {
        let row: Option<(Option<i64>, String, String, i64, String)> = sqlx::query_as(
            "SELECT registry_id, repository, digest, size, tenant_id FROM images WHERE id = $1",
        )
        .bind(job.image_id)
        .fetch_optional(self.store.pool())
        .await
        .map_err(|e| e.to_string())?;
        let Some((registry_id, repository, digest, size, tenant)) = row else {
            return Err("the image was deleted".to_owned());
        };
        if tenant != job.tenant_id {
            return Err("the job's tenant does not own the image".to_owned());
        }
        let Some(registry_id) = registry_id else {
            return Err("local images are scanned by the host agent, not by workers".to_owned());
        };
        let registry = RegistryRecord::load(&self.store, &job.tenant_id, registry_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the image's registry was deleted".to_owned())?;
        let (host, registry_options) = registry
            .connection(&self.key)
            .map_err(|e| format!("cannot open the registry's credentials: {e}"))?;
        let target = Target::parse(&format!("registry:{host}/{repository}@{digest}"))
            .map_err(|e| e.to_string())?;
        Ok(Prepared {
            target,
            open: OpenOptions {
                registry: registry_options,
                ..OpenOptions::default()
            },
            total_bytes: u64::try_from(size).unwrap_or(0),
        })
    }

    /// Store inventory, findings and counts; false if the lease was lost meanwhile.
    async fn store_report(
        &self,
        job: &Claimed,
        report: Report,
        matched_db: Option<String>,
    ) -> Result<bool, StoreError> {
        let still_ours: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(&self.id)
        .fetch_optional(self.store.pool())
        .await?;
        if still_ours.is_none() {
            return Ok(false);
        }
        let result = ScanResult {
            inventory: StoredInventory {
                os: report.os.clone(),
                packages: report.packages.clone(),
            },
            findings: crate::findings::from_report(&report),
            complete: report.complete,
            config_digest: report.image.config_digest.as_ref().map(|d| d.to_string()),
            matched_db,
        };
        record_result(&self.store, &job.tenant_id, job.image_id, &result).await?;
        Ok(true)
    }
}

/// What a finished scan gives the store, from a worker or a host agent.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// What re-matching needs.
    pub inventory: StoredInventory,
    /// Every finding.
    pub findings: Vec<crate::findings::NewFinding>,
    /// False when a layer could not be fully read.
    pub complete: bool,
    /// The image's config digest (its image id).
    pub config_digest: Option<String>,
    /// The vulnerability database version matched against.
    pub matched_db: Option<String>,
}

/// Store a scan's inventory, findings (handled state kept) and counts, and mark the image
/// scanned, walking it through the seeds' analyser states.
pub async fn record_result(
    store: &Store,
    tenant_id: &str,
    image_id: i64,
    result: &ScanResult,
) -> Result<(), StoreError> {
    set_state(store, image_id, "CVE_ANALYZER", 75, None).await?;
    let body =
        serde_json::to_vec(&result.inventory).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let body =
        zstd::encode_all(body.as_slice(), 3).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO inventories (image_id, body, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (image_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(image_id)
    .bind(body)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    crate::findings::replace(
        store,
        tenant_id,
        image_id,
        crate::findings::KINDS,
        &result.findings,
    )
    .await?;
    set_state(store, image_id, "BIN_ANALYZER", 85, None).await?;
    set_state(store, image_id, "WEB_SHELL_ANALYZER", 90, None).await?;
    set_state(store, image_id, "OTHER_ANALYZER", 95, None).await?;
    let result_code = if result.complete { "OK" } else { "INCOMPLETE" };
    sqlx::query(
        "UPDATE images SET scan_status = 'SUCCESS', progress = 100, result_code = $1, \
         last_scan_at = $2, scan_key = digest || '|' || $3, matched_db = $4, \
         image_id = COALESCE(image_id, $5) WHERE id = $6",
    )
    .bind(result_code)
    .bind(now_ms())
    .bind(crate::tasks::engine_key())
    .bind(&result.matched_db)
    .bind(&result.config_digest)
    .bind(image_id)
    .execute(store.pool())
    .await?;
    Ok(())
}

struct Prepared {
    target: Target,
    open: OpenOptions,
    total_bytes: u64,
}

fn scan_blocking(
    prepared: &Prepared,
    facts: Arc<dyn FactsStore>,
    config: &WorkerConfig,
    progress: &JobProgress,
) -> Result<(Report, Option<String>), String> {
    let scanner = Scanner::new(ScanOptions {
        open: prepared.open.clone(),
        facts_store: Some(facts),
        scanners: config.scanners,
        threads: config.layer_threads,
        ..ScanOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let images = scanner.open(&prepared.target).map_err(|e| e.to_string())?;
    let Some(image) = images.first() else {
        return Err("the manifest holds no image".to_owned());
    };
    progress.downloading.store(1, Ordering::Relaxed);
    let mut reports = vec![scanner.scan_image(image, progress)];
    let mut matched_db = None;
    if let Some(path) = &config.vulndb {
        let db = keelhaul_vulndb::Database::open(path)
            .map_err(|e| format!("cannot open the vulnerability database: {e}"))?;
        keelhaul_scan::match_vulnerabilities(&mut reports, &db).map_err(|e| e.to_string())?;
        matched_db = db.built_at().ok().flatten();
    }
    let report = reports.pop().ok_or_else(|| "no report".to_owned())?;
    Ok((report, matched_db))
}

/// Progress of one scan, read by the job loop once a second.
struct JobProgress {
    total: u64,
    /// Bytes read so far, per layer index (the engine reports running totals per layer).
    read: std::sync::Mutex<std::collections::BTreeMap<usize, u64>>,
    downloading: AtomicUsize,
}

impl JobProgress {
    fn new(total: u64) -> JobProgress {
        JobProgress {
            total,
            read: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            downloading: AtomicUsize::new(0),
        }
    }

    fn set(&self, index: usize, bytes: u64) {
        let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let entry = read.entry(index).or_insert(0);
        *entry = (*entry).max(bytes);
    }

    /// The seeds' state and 0–100: downloading and analysing layers (one pass) is 5–70.
    fn state(&self) -> (&'static str, i64) {
        if self.downloading.load(Ordering::Relaxed) == 0 {
            return ("START", 2);
        }
        let read: u64 = self
            .read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum();
        let fraction = if self.total == 0 {
            0.0
        } else {
            (read as f64 / self.total as f64).min(1.0)
        };
        let pct = 5 + (fraction * 65.0) as i64;
        if fraction < 0.5 {
            ("DOWNLOAD", pct)
        } else {
            ("PRE_ANALYZER", pct)
        }
    }
}

impl Progress for JobProgress {
    fn layer_started(&self, layer: &Layer) {
        self.set(layer.index, 0);
    }

    fn layer_advanced(&self, index: usize, bytes: u64) {
        self.set(index, bytes);
    }
}

pub(crate) async fn set_state(
    store: &Store,
    image_id: i64,
    state: &str,
    progress: i64,
    result_code: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE images SET scan_status = $1, progress = $2, \
         result_code = COALESCE($3, result_code) WHERE id = $4",
    )
    .bind(state)
    .bind(progress)
    .bind(result_code)
    .bind(image_id)
    .execute(store.pool())
    .await?;
    Ok(())
}
