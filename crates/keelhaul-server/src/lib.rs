//! The keelhaul service: the inventory of registries, repositories and images of many
//! tenants, scan tasks run by workers that share layer analyses through the database,
//! findings with a handled state, re-matching when the vulnerability database changes, and
//! the native REST API.
//!
//! ```text
//! registries ──sync/webhook──► images ──task──► jobs ──worker (engine)──► inventory, findings
//!                                                   ▲                          │
//!                               layer_facts (by digest, shared) ◄──────────────┘
//! vulnerability DB changes ──re-match──► findings diff ──► notification webhook
//! ```
//!
//! One store ([`store::Store`]) serves SQLite (one machine) and PostgreSQL (many), with one
//! schema. Nothing in the scan engine knows about the service.

pub mod api;
pub mod crypto;
pub mod error;
pub mod findings;
pub mod hosts;
pub mod images;
pub mod jobs;
pub mod layers;
pub mod registries;
pub mod registry_io;
pub mod rematch;
pub mod sql;
pub mod store;
pub mod tasks;
pub mod tenants;
pub mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::{mpsc, watch};

pub use crypto::ServerKey;
pub use store::Store;
pub use worker::WorkerConfig;

/// Where the service keeps its state.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `postgres://…`; none means the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Data directory: the SQLite file and the server key file.
    pub data_dir: PathBuf,
}

impl StoreConfig {
    /// Open the store and the server key, and check that the key is the one the store's
    /// secrets were sealed with.
    pub async fn open(&self, max_connections: u32) -> anyhow::Result<(Store, ServerKey)> {
        let store = match &self.database_url {
            Some(url) => Store::connect(url, max_connections).await?,
            None => Store::open_data_dir(&self.data_dir, max_connections).await?,
        };
        let key = ServerKey::load(&self.data_dir.join("server.key"))?;
        check_key(&store, &key).await?;
        Ok((store, key))
    }
}

const KEY_CHECK: &str = "keelhaul server key check";

async fn check_key(store: &Store, key: &ServerKey) -> anyhow::Result<()> {
    let stored = store.meta_init("key_check", &key.seal(KEY_CHECK)?).await?;
    match key.open(&stored) {
        Ok(text) if text == KEY_CHECK => Ok(()),
        _ => anyhow::bail!(
            "this server key does not open the secrets in the database: start every node with \
             the same key ({} or the data directory's server.key)",
            crypto::KEY_ENV
        ),
    }
}

/// The Prometheus recorder, installed once per process.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!("metrics recorder not installed: {e}");
                    None
                }
            }
        })
        .clone()
}

/// `keelhaul serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store.
    pub store: StoreConfig,
    /// In-process workers (0: API only).
    pub workers: usize,
    /// How the workers run.
    pub worker: WorkerConfig,
    /// Where changed findings are posted after a re-match.
    pub notify_url: Option<String>,
    /// How often every registry is synced (none: on demand only).
    pub sync_interval: Option<Duration>,
    /// How often the vulnerability database is checked for a new version.
    pub rematch_interval: Duration,
    /// Database connections of the API and in-process workers.
    pub db_connections: u32,
    /// More routes served beside the native API (the cloud-compatible APIs).
    pub extra_routes: axum::Router<api::AppState>,
}

/// A future that resolves on SIGTERM or Ctrl-C, and the channel that tells everyone.
fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tracing::info!("shutting down: finishing or releasing in-flight jobs");
        let _ = tx.send(true);
    });
    rx
}

/// Run the API (and workers, unless `workers` is 0) until SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let (store, key) = config.store.open(config.db_connections).await?;
    let shutdown = shutdown_signal();
    let mut state = api::AppState::new(store.clone(), key.clone());
    state.metrics = metrics_handle();
    state.vulndb = config.worker.vulndb.clone();
    state.notify_url = config.notify_url.clone();
    let mut background = Vec::new();
    if let Some(db) = config.worker.vulndb.clone() {
        let (tx, rx) = mpsc::channel(4);
        state.rematch = Some(tx);
        background.push(tokio::spawn(rematch::watch(
            store.clone(),
            db,
            config.notify_url.clone(),
            config.rematch_interval,
            rx,
            shutdown.clone(),
        )));
    }
    if let Some(every) = config.sync_interval {
        background.push(tokio::spawn(periodic_sync(
            store.clone(),
            key.clone(),
            every,
            shutdown.clone(),
        )));
    }
    if config.workers > 0 {
        let worker = WorkerConfig {
            concurrency: config.workers,
            ..config.worker.clone()
        };
        background.push(tokio::spawn(worker::run(
            store.clone(),
            key.clone(),
            worker,
            shutdown.clone(),
        )));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(
        "keelhaul serving on http://{local} ({} backend, {} workers)",
        match store.backend() {
            store::Backend::Sqlite => "SQLite",
            store::Backend::Postgres => "PostgreSQL",
        },
        config.workers
    );
    let mut stop = shutdown.clone();
    axum::serve(listener, api::router_with(state, config.extra_routes))
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await?;
    for task in background {
        let _ = task.await;
    }
    Ok(())
}

/// `keelhaul worker`: workers only, until SIGTERM; with `metrics_listen`, also `/metrics`,
/// `/healthz` and `/readyz` on that address.
pub async fn work(
    store: StoreConfig,
    config: WorkerConfig,
    metrics_listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let max = u32::try_from(config.concurrency * 3 + 2).unwrap_or(32);
    let (store, key) = store.open(max).await?;
    let shutdown = shutdown_signal();
    if let Some(addr) = metrics_listen {
        let mut state = api::AppState::new(store.clone(), key.clone());
        state.metrics = metrics_handle();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, api::metrics_router(state))
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("metrics endpoint stopped: {e}");
            }
        });
    } else {
        let _ = metrics_handle();
    }
    tracing::info!(
        "keelhaul worker {} running {} jobs at once",
        config.worker_id,
        config.concurrency
    );
    worker::run(store, key, config, shutdown).await;
    Ok(())
}

async fn periodic_sync(
    store: Store,
    key: ServerKey,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let registries = match registries::all(&store).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("periodic sync: {e}");
                continue;
            }
        };
        for (tenant, id) in registries {
            match registries::sync(&store, &key, &tenant, id).await {
                Ok(Some(s)) if !s.changed_image_ids.is_empty() => {
                    let selectors = images::Selectors {
                        image_ids: Some(
                            s.changed_image_ids
                                .iter()
                                .map(i64::to_string)
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        ..Default::default()
                    };
                    if let Err(e) = tasks::create(
                        &store,
                        &tenant,
                        &selectors,
                        false,
                        tasks::TaskSource::Periodic,
                    )
                    .await
                    {
                        tracing::warn!(registry = id, "periodic scan not queued: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(registry = id, "periodic sync failed: {}", e.message),
            }
        }
    }
}

/// `keelhaul admin create-key`.
pub async fn create_key(
    store: &StoreConfig,
    tenant: &str,
    levels: &[tenants::Level],
    host_uuid: Option<&str>,
) -> anyhow::Result<tenants::CreatedKey> {
    check_host_binding(levels, host_uuid).map_err(anyhow::Error::msg)?;
    let (store, key) = store.open(2).await?;
    Ok(tenants::create_key(&store, &key, tenant, levels, None, host_uuid).await?)
}

/// A key bound to a host must be an agent key and name a valid host.
pub fn check_host_binding(
    levels: &[tenants::Level],
    host_uuid: Option<&str>,
) -> Result<(), String> {
    let Some(host) = host_uuid else {
        return Ok(());
    };
    if !hosts::valid_host_uuid(host) {
        return Err("a host uuid is 1–128 letters, digits and `-_.:`".to_owned());
    }
    if levels != [tenants::Level::Agent] {
        return Err(
            "only an agent key (levels: agent, nothing else) can be bound to a host".to_owned(),
        );
    }
    Ok(())
}

/// `keelhaul admin set-quota`: the tenant is created if new.
pub async fn set_quota(
    store: &StoreConfig,
    tenant: &str,
    scan_quota: Option<i64>,
    max_running_tasks: Option<i64>,
) -> anyhow::Result<()> {
    let (store, _) = store.open(2).await?;
    let id = tenants::ensure_tenant(&store, tenant).await?;
    sqlx::query(
        "UPDATE tenants SET scan_quota = COALESCE($1, scan_quota), \
         max_running_tasks = COALESCE($2, max_running_tasks) WHERE id = $3",
    )
    .bind(scan_quota)
    .bind(max_running_tasks)
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}
