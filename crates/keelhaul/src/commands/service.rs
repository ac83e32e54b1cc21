//! `keelhaul serve`, `keelhaul worker` and `keelhaul admin`: thin wrappers over
//! keelhaul-server that turn flags into its configuration.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use keelhaul_server::tenants::Level;
use keelhaul_server::{ServeConfig, StoreConfig, WorkerConfig};

use super::ExitStatus;
use super::scan::scanners_from;
use crate::cli::{
    AdminCommand, AgentArgs, KeyFormat, ServeArgs, StoreArgs, WorkerArgs, WorkerSettings,
    default_db_path,
};
use crate::printer::Printer;

fn store_config(args: StoreArgs) -> anyhow::Result<StoreConfig> {
    let data_dir = args
        .data_dir
        .or_else(|| dirs::data_dir().map(|d| d.join("keelhaul")))
        .context("no data directory: pass --data-dir DIR")?;
    Ok(StoreConfig {
        database_url: args.database_url,
        data_dir,
    })
}

fn worker_config(settings: WorkerSettings, concurrency: usize) -> anyhow::Result<WorkerConfig> {
    let (_, scanners) = scanners_from(&settings.scanners)?;
    let vulndb: Option<PathBuf> = match settings.vulndb {
        Some(path) => {
            anyhow::ensure!(
                path.is_file(),
                "no vulnerability database at {}: build one with `keelhaul db import` or `keelhaul db update --db {}`",
                path.display(),
                path.display()
            );
            Some(path)
        }
        None => default_db_path().filter(|p| p.is_file()),
    };
    if vulndb.is_none() {
        tracing::warn!(
            "no vulnerability database: scans report inventory, secrets, malware and baseline only (pass --vulndb FILE)"
        );
    }
    anyhow::ensure!(
        settings.lease_seconds >= 3,
        "--lease-seconds must be at least 3"
    );
    Ok(WorkerConfig {
        concurrency,
        lease: Duration::from_secs(settings.lease_seconds),
        job_timeout: Duration::from_secs(settings.job_timeout.max(1)),
        grace: Duration::from_secs(settings.grace_seconds),
        vulndb,
        scanners,
        ..WorkerConfig::default()
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitStatus> {
    let config = ServeConfig {
        listen: args.listen,
        store: store_config(args.store)?,
        workers: args.workers,
        worker: worker_config(args.worker, args.workers)?,
        notify_url: args.notify_url,
        sync_interval: (args.sync_interval > 0).then(|| Duration::from_secs(args.sync_interval)),
        rematch_interval: Duration::from_secs(args.rematch_interval.max(1)),
        db_connections: args.db_connections.clamp(2, 1000),
        extra_routes: keelhaul_compat::routes(),
    };
    runtime()?.block_on(keelhaul_server::serve(config))?;
    Ok(ExitStatus::Success)
}

pub fn agent(args: AgentArgs) -> anyhow::Result<ExitStatus> {
    let (_, scanners) = scanners_from(&args.scanners)?;
    let host_uuid = args
        .host_uuid
        .unwrap_or_else(keelhaul_agent::default_host_uuid);
    anyhow::ensure!(
        keelhaul_server::hosts::valid_host_uuid(&host_uuid),
        "--host-uuid takes 1–128 letters, digits and `-_.:`"
    );
    let config = keelhaul_agent::AgentConfig {
        server: args.server,
        key_id: args.key_id,
        key_secret: args.key_secret,
        engine_socket: args.engine_socket,
        host_uuid,
        hostname: args
            .hostname
            .unwrap_or_else(keelhaul_agent::default_hostname),
        report_interval: Duration::from_secs(args.report_interval.max(1)),
        poll: Duration::from_secs(args.poll.max(1)),
        once: args.once,
        scanners,
        work_dir: args.work_dir,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        // SIGTERM/Ctrl-C: finish the scan in hand, then stop.
        let stop = stop.clone();
        let rt = runtime()?;
        std::thread::spawn(move || {
            rt.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async {
                        match term.as_mut() {
                            Some(t) => { t.recv().await; }
                            None => std::future::pending::<()>().await,
                        }
                    } => {}
                }
            });
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    keelhaul_agent::run(&config, &stop)?;
    Ok(ExitStatus::Success)
}

pub fn worker(args: WorkerArgs) -> anyhow::Result<ExitStatus> {
    let store = store_config(args.store)?;
    let config = worker_config(args.worker, args.concurrency.max(1))?;
    runtime()?.block_on(keelhaul_server::work(store, config, args.metrics_listen))?;
    Ok(ExitStatus::Success)
}

pub fn admin(command: AdminCommand, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match command {
        AdminCommand::CreateKey(args) => {
            let levels = Level::parse_list(&args.levels).map_err(anyhow::Error::msg)?;
            let store = store_config(args.store)?;
            let created = runtime()?.block_on(keelhaul_server::create_key(
                &store,
                &args.tenant,
                &levels,
                args.host_uuid.as_deref(),
            ))?;
            let text = match args.format {
                KeyFormat::Json => serde_json::to_string_pretty(&created)?,
                KeyFormat::Text => format!(
                    "tenant:            {}\nproject_id:        {}\naccess_key_id:     {}\naccess_key_secret: {}\nlevels:            {}\n\nThe secret is shown only now. Use it as `Authorization: Bearer {}:SECRET`.",
                    created.tenant,
                    created.project_id,
                    created.access_key_id,
                    created.access_key_secret,
                    Level::join(&created.levels),
                    created.access_key_id,
                ),
            };
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            Ok(ExitStatus::Success)
        }
        AdminCommand::SetQuota(args) => {
            anyhow::ensure!(
                args.scan_quota.is_some() || args.max_running_tasks.is_some(),
                "give --scan-quota N and/or --max-running-tasks N"
            );
            anyhow::ensure!(
                args.scan_quota.unwrap_or(0) >= 0 && args.max_running_tasks.unwrap_or(1) >= 1,
                "the quota must be 0 or more and --max-running-tasks at least 1"
            );
            let store = store_config(args.store)?;
            runtime()?.block_on(keelhaul_server::set_quota(
                &store,
                &args.tenant,
                args.scan_quota,
                args.max_running_tasks,
            ))?;
            printer.status(&format!("quota of tenant `{}` updated", args.tenant));
            Ok(ExitStatus::Success)
        }
    }
}
