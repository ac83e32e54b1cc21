//! `keelhaul agent`: runs on a host beside its container engine. It reports the engine's
//! local images to the keelhaul service every interval (images that disappeared are dropped
//! there), and when a scan of one of them is queued (a batch scan through the Huawei-style
//! API or a native task), it exports the image from the engine, scans it on the host and
//! uploads the inventory and content findings. Image content never leaves the host; the
//! server matches vulnerabilities against its own database.

pub mod engine;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use keelhaul_image::Target;
use keelhaul_scan::{ScanOptions, Scanner, Scanners};
use keelhaul_server::hosts::{AgentJob, AgentResult, HostReport, HostReportSummary};
use serde::Deserialize;

pub use engine::{Engine, EngineError};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The service's base URL (`http://keelhaul:8080`).
    pub server: String,
    /// The access key id (a key with the `agent` level).
    pub key_id: String,
    /// Its secret.
    pub key_secret: String,
    /// The engine's API socket.
    pub engine_socket: PathBuf,
    /// This host's id.
    pub host_uuid: String,
    /// This host's name.
    pub hostname: String,
    /// How often the image list is reported.
    pub report_interval: Duration,
    /// How often the server is asked for work when idle.
    pub poll: Duration,
    /// Report once, run the queued scans, and stop (for cron and tests).
    pub once: bool,
    /// Content scanners.
    pub scanners: Scanners,
    /// Where exported images are written while they are scanned.
    pub work_dir: Option<PathBuf>,
}

/// A host's stable id: `/etc/machine-id` (as a UUID v5), else its hostname's.
pub fn default_host_uuid() -> String {
    let seed = std::fs::read_to_string("/etc/machine-id")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(default_hostname);
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, seed.as_bytes()).to_string()
}

/// The host's name.
pub fn default_hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// It could not be reached.
    #[error("cannot reach the keelhaul server at {url}: {source}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// It refused (a wrong key, a key without the `agent` level, a bad request).
    #[error("the keelhaul server refused {what} ({status}): {message}")]
    Refused {
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

impl ServerError {
    /// Errors worth retrying later (the server restarting, a network problem, a 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            ServerError::Unreachable { .. } => true,
            ServerError::Refused { status, .. } => *status >= 500,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ClaimAnswer {
    job: Option<AgentJob>,
}

#[derive(Debug, Deserialize)]
struct HeldAnswer {
    held: bool,
}

#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The keelhaul server, as the agent talks to it.
#[derive(Debug, Clone)]
pub struct Server {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Server {
    /// A client for `config`'s server and host.
    pub fn new(config: &AgentConfig) -> Result<Server, ServerError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|source| ServerError::Unreachable {
                url: config.server.clone(),
                source,
            })?;
        Ok(Server {
            base: format!(
                "{}/api/v1/hosts/{}",
                config.server.trim_end_matches('/'),
                config.host_uuid
            ),
            token: format!("Bearer {}:{}", config.key_id, config.key_secret),
            client,
        })
    }

    fn send<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<T, ServerError> {
        let response = request
            .header("authorization", &self.token)
            .send()
            .map_err(|source| ServerError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().unwrap_or_default();
            let message = serde_json::from_str::<ErrorAnswer>(&text)
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or(text);
            return Err(ServerError::Refused {
                what: what.to_owned(),
                status: status.as_u16(),
                message,
            });
        }
        response.json().map_err(|source| ServerError::Unreachable {
            url: self.base.clone(),
            source,
        })
    }

    /// Report the host's images.
    pub fn report(&self, report: &HostReport) -> Result<HostReportSummary, ServerError> {
        self.send(
            "the image report",
            self.client
                .put(format!("{}/images", self.base))
                .json(report),
        )
    }

    /// Claim the next scan of this host.
    pub fn claim(&self) -> Result<Option<AgentJob>, ServerError> {
        let answer: ClaimAnswer = self.send(
            "a job claim",
            self.client.post(format!("{}/jobs/claim", self.base)),
        )?;
        Ok(answer.job)
    }

    /// Extend the claim; false when it was lost.
    pub fn renew(&self, job: i64, progress: Option<i64>) -> Result<bool, ServerError> {
        let answer: HeldAnswer = self.send(
            "a lease renewal",
            self.client
                .post(format!("{}/jobs/{job}/renew", self.base))
                .json(&serde_json::json!({ "progress": progress })),
        )?;
        Ok(answer.held)
    }

    /// Upload a result.
    pub fn complete(&self, job: i64, result: &AgentResult) -> Result<bool, ServerError> {
        let answer: HeldAnswer = self.send(
            "a scan result",
            self.client
                .post(format!("{}/jobs/{job}/result", self.base))
                .json(result),
        )?;
        Ok(answer.held)
    }
}

/// Run until `stop` is set (or, with `once`, until the queue of this host is empty).
pub fn run(config: &AgentConfig, stop: &AtomicBool) -> error::Result<()> {
    let engine = Engine::new(&config.engine_socket)?;
    let server = Server::new(config)?;
    let scanner = Scanner::new(ScanOptions {
        scanners: config.scanners,
        ..ScanOptions::default()
    })
    .map_err(|e| error::Error::Scan(e.to_string()))?;
    let mut last_report: Option<Instant> = None;
    let mut backoff = Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        let step = (|| -> error::Result<bool> {
            if last_report.is_none_or(|t| t.elapsed() >= config.report_interval) {
                report(config, &engine, &server)?;
                last_report = Some(Instant::now());
            }
            match server.claim()? {
                Some(job) => {
                    scan_job(config, &engine, &server, &scanner, &job);
                    Ok(true)
                }
                None => Ok(false),
            }
        })();
        match step {
            Ok(true) => backoff = Duration::from_secs(1),
            Ok(false) => {
                backoff = Duration::from_secs(1);
                if config.once {
                    return Ok(());
                }
                sleep_unless_stopped(config.poll, stop);
            }
            Err(e) if e.is_transient() && !config.once => {
                tracing::warn!("{e}; retrying in {} s", backoff.as_secs());
                // Reported again after reconnecting: the server may have restarted empty-handed.
                last_report = None;
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let until = Instant::now() + duration;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
}

fn report(config: &AgentConfig, engine: &Engine, server: &Server) -> error::Result<()> {
    let images = engine.images()?;
    let summary = server.report(&HostReport {
        hostname: config.hostname.clone(),
        engine: engine.version().ok(),
        agent_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        images,
    })?;
    tracing::info!(
        images = summary.images,
        new = summary.added,
        removed = summary.removed,
        "reported the host's images"
    );
    Ok(())
}

/// Export, scan and upload one job; failures are uploaded as the job's error.
fn scan_job(
    config: &AgentConfig,
    engine: &Engine,
    server: &Server,
    scanner: &Scanner,
    job: &AgentJob,
) {
    tracing::info!(job = job.job_id, image = %format!("{}:{}", job.repository, job.tag), "scanning a local image");
    let held = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicBool::new(false));
    // Renew the claim while the export and the scan run.
    let renewer = {
        let (server, held, done) = (server.clone(), held.clone(), done.clone());
        let job_id = job.job_id;
        let every = Duration::from_secs((job.lease_seconds / 3).max(1));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                sleep_unless_stopped(every, &done);
                if done.load(Ordering::Relaxed) {
                    break;
                }
                match server.renew(job_id, None) {
                    Ok(true) => {}
                    Ok(false) => {
                        held.store(false, Ordering::Relaxed);
                        break;
                    }
                    Err(e) => tracing::warn!("could not renew job {job_id}: {e}"),
                }
            }
        })
    };
    let result = scan_local(config, engine, scanner, job).unwrap_or_else(|e| AgentResult {
        error: Some(e.to_string()),
        ..AgentResult::default()
    });
    done.store(true, Ordering::Relaxed);
    let _ = renewer.join();
    if !held.load(Ordering::Relaxed) {
        tracing::warn!(
            job = job.job_id,
            "the claim was lost (cancelled or expired); result dropped"
        );
        return;
    }
    match server.complete(job.job_id, &result) {
        Ok(true) => tracing::info!(
            job = job.job_id,
            failed = result.error.is_some(),
            "uploaded the result"
        ),
        Ok(false) => tracing::warn!(
            job = job.job_id,
            "the server no longer held the job for this host"
        ),
        Err(e) => tracing::error!(job = job.job_id, "could not upload the result: {e}"),
    }
}

fn scan_local(
    config: &AgentConfig,
    engine: &Engine,
    scanner: &Scanner,
    job: &AgentJob,
) -> error::Result<AgentResult> {
    let dir = match &config.work_dir {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .map_err(|e| error::Error::Scan(format!("cannot create a work directory: {e}")))?;
    let archive = dir.path().join("image.tar");
    // The engine's id names exactly the content the server knows; the tag may have moved.
    let reference = match &job.engine_image_id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => format!("{}:{}", job.repository, job.tag),
    };
    let bytes = engine.export(&reference, &archive)?;
    tracing::debug!(bytes, "exported the image");
    let target = Target::parse(&format!("docker-archive:{}", archive.display()))
        .map_err(|e| error::Error::Scan(e.to_string()))?;
    let images = scanner
        .open(&target)
        .map_err(|e| error::Error::Scan(e.to_string()))?;
    let image = images
        .first()
        .ok_or_else(|| error::Error::Scan("the exported archive holds no image".into()))?;
    let report = scanner.scan_image(image, &keelhaul_analyze::NoProgress);
    Ok(AgentResult {
        error: None,
        os: report.os,
        packages: report.packages,
        secrets: report.secrets,
        malware: report.malware,
        baseline: report.baseline,
        complete: report.complete,
        config_digest: report.image.config_digest.map(|d| d.to_string()),
    })
}

/// The agent's errors (a library, so no `anyhow`).
pub mod error {
    /// Any error of the agent.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// The engine.
        #[error(transparent)]
        Engine(#[from] super::EngineError),
        /// The server.
        #[error(transparent)]
        Server(#[from] super::ServerError),
        /// The scan.
        #[error("the scan failed: {0}")]
        Scan(String),
    }

    impl Error {
        /// Worth retrying later.
        pub fn is_transient(&self) -> bool {
            match self {
                Error::Server(e) => e.is_transient(),
                // The engine restarting is a pause too.
                Error::Engine(_) => true,
                Error::Scan(_) => false,
            }
        }
    }

    /// The agent's result type.
    pub type Result<T> = std::result::Result<T, Error>;
}
