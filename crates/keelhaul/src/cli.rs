//! Command-line declarations only; doc comments become the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// keelhaul: container image security scanner.
///
/// Reads images from OCI layouts, archives, registries and directories, and reports what
/// is installed in them.
#[derive(Debug, Parser)]
#[command(
    name = "keelhaul",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print no progress and no warnings (errors still go to stderr).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "KEELHAUL_COLOR")]
    pub color: ColorChoice,
    /// Never show progress bars.
    #[arg(long, global = true, env = "KEELHAUL_NO_PROGRESS")]
    pub no_progress: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan an image and report its inventory.
    ///
    /// TARGET is one of:
    ///   oci:DIR[:TAG]                  an OCI image layout directory
    ///   oci-archive:FILE[:TAG]         a tar of an OCI image layout
    ///   docker-archive:FILE[:REPO:TAG] `docker save` output (`:@N` picks the N-th image)
    ///   registry:HOST/REPO[:TAG|@DIGEST]  an image in a registry
    ///   dir:PATH                       a root filesystem
    ///   sbom:FILE                      a CycloneDX or SPDX JSON SBOM (keelhaul's, Syft's, Trivy's)
    /// or a bare path, whose kind is detected.
    ///
    /// Findings come from the vulnerability database (`keelhaul db`); without one, the scan
    /// reports the inventory and says how to get a database.
    #[command(verbatim_doc_comment)]
    Scan(Box<ScanArgs>),
    /// Build, move and inspect the vulnerability database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Run the service: the REST API and (unless --workers 0) scan workers.
    ///
    /// With no flags: an SQLite database and server key in the data directory, two
    /// in-process workers, listening on 127.0.0.1:8080. With --database-url postgres://…,
    /// any number of `serve` and `keelhaul worker` processes share one PostgreSQL database.
    Serve(Box<ServeArgs>),
    /// Run scan workers only, against a shared PostgreSQL database.
    Worker(Box<WorkerArgs>),
    /// Administer the service's store.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Run on a host beside Docker or Podman: report its local images to the service and
    /// scan them here when a scan is queued (image content never leaves the host).
    Agent(Box<AgentArgs>),
}

/// `keelhaul agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The keelhaul service (`http://keelhaul.example:8080`).
    #[arg(long, value_name = "URL", env = "KEELHAUL_SERVER")]
    pub server: String,
    /// Access key id (a key with the `agent` level: `keelhaul admin create-key --levels agent`).
    #[arg(long, value_name = "ID", env = "KEELHAUL_KEY_ID")]
    pub key_id: String,
    /// Access key secret.
    #[arg(
        long,
        value_name = "SECRET",
        env = "KEELHAUL_KEY_SECRET",
        hide_env_values = true
    )]
    pub key_secret: String,
    /// The engine's Docker-API socket (Docker, or `podman system service`).
    #[arg(long, value_name = "PATH", default_value = "/var/run/docker.sock")]
    pub engine_socket: PathBuf,
    /// This host's id [default: derived from /etc/machine-id].
    #[arg(long, value_name = "ID")]
    pub host_uuid: Option<String>,
    /// This host's name [default: /etc/hostname].
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Seconds between reports of the image list.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub report_interval: u64,
    /// Seconds between asking for queued scans when idle.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub poll: u64,
    /// Report once, run the scans queued for this host, and exit.
    #[arg(long)]
    pub once: bool,
    /// Content scanners: secret, malware, baseline (all by default; `none` for none).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scanners: Vec<String>,
    /// Where exported images are written while scanned [default: the temp directory].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// Where the service keeps its state (shared by serve, worker and admin).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Data directory: the SQLite database (without --database-url) and the server key
    /// file `server.key` (unless KEELHAUL_SERVER_KEY is set).
    #[arg(long, value_name = "DIR", env = "KEELHAUL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL (`postgres://user:pass@host/db`) or SQLite (`sqlite://FILE?mode=rwc`).
    #[arg(long, value_name = "URL", env = "KEELHAUL_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// Worker settings (shared by serve and worker).
#[derive(Debug, Args)]
pub struct WorkerSettings {
    /// The vulnerability database the workers match against [default: the user cache
    /// one, if it exists].
    #[arg(long, value_name = "FILE", env = "KEELHAUL_VULNDB")]
    pub vulndb: Option<PathBuf>,
    /// Content scanners: secret, malware, baseline (all by default; `none` for none).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scanners: Vec<String>,
    /// Seconds a job's lease lasts without renewal (a killed worker's job is retried after
    /// this long).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub lease_seconds: u64,
    /// Seconds after which a scan ends in TIMEOUT.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub job_timeout: u64,
    /// Seconds in-flight jobs get to finish on SIGTERM before they are given back.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub grace_seconds: u64,
}

/// `keelhaul serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "KEELHAUL_LISTEN"
    )]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Jobs run at once by in-process workers (0: API only).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub workers: usize,
    #[command(flatten)]
    pub worker: WorkerSettings,
    /// URL that receives a POST with the per-image diff when a re-match changes findings.
    #[arg(long, value_name = "URL")]
    pub notify_url: Option<String>,
    /// Sync every registry this often, in seconds (0: on demand only).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub sync_interval: u64,
    /// How often to look for a new vulnerability database version, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub rematch_interval: u64,
    /// Database connections this process keeps (API requests and in-process workers). On
    /// PostgreSQL fewer connections than concurrent requests serve more of them: 8 gave the
    /// best latency on 2 cores (`bench/service-list.sh`).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub db_connections: u32,
}

/// `keelhaul worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Jobs run at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub concurrency: usize,
    /// Serve `/metrics`, `/healthz` and `/readyz` on this address.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub worker: WorkerSettings,
}

/// `keelhaul admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an access key for a tenant (the tenant is created if new).
    CreateKey(CreateKeyArgs),
    /// Set a tenant's scan quota and how many tasks it may run at once.
    SetQuota(SetQuotaArgs),
}

/// `keelhaul admin set-quota`.
#[derive(Debug, Args)]
pub struct SetQuotaArgs {
    /// The tenant's name.
    #[arg(long)]
    pub tenant: String,
    /// Image scans the tenant may queue in all (tasks beyond it are refused: BeyondQuata).
    #[arg(long, value_name = "N")]
    pub scan_quota: Option<i64>,
    /// Tasks the tenant may have running at once.
    #[arg(long, value_name = "N")]
    pub max_running_tasks: Option<i64>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `keelhaul admin create-key`.
#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// The tenant's name.
    #[arg(long)]
    pub tenant: String,
    /// Access levels: read, list, write, agent.
    #[arg(long, value_name = "LIST", default_value = "read,list")]
    pub levels: String,
    /// Bind an agent key (`--levels agent`) to one host: it reports and scans for that host only.
    #[arg(long, value_name = "ID")]
    pub host_uuid: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = KeyFormat::Text)]
    pub format: KeyFormat,
}

/// `admin create-key --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    /// Lines for people.
    Text,
    /// `{"tenant", "project_id", "access_key_id", "access_key_secret", "levels"}`.
    Json,
}

/// The default database: `keelhaul/db/keelhaul.db` in the user cache directory.
pub fn default_db_path() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("keelhaul").join("db").join("keelhaul.db"))
}

/// `keelhaul db …`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import advisories from files, directories or archives (format detected per file).
    ///
    /// Recognised: OSV JSON/YAML (and OSV's all.zip exports), Debian security tracker
    /// JSON and DSA/DLA/DTSA lists, Alpine secdb, Ubuntu CVE tracker, OVAL (Ubuntu, Rocky),
    /// RustSec, RubySec, FriendsOfPHP, Node.js security-wg, victims, NVD 1.1/2.0, CVE 5,
    /// CISA KEV. zip, tar, .gz and .zst are opened. Each PATH becomes one source, named
    /// after the file; importing it again replaces that source only. A file made by
    /// `keelhaul db export` replaces the whole database.
    #[command(verbatim_doc_comment)]
    Import(DbImportArgs),
    /// Download the configured feeds (conditional requests) and swap them in atomically.
    Update(DbUpdateArgs),
    /// Write a compact copy of the database, for an air-gapped site (`db import FILE` there).
    Export(DbExportArgs),
    /// Show sources, record counts and age.
    Status(DbStatusArgs),
}

/// `keelhaul db import`.
#[derive(Debug, Args)]
pub struct DbImportArgs {
    /// Files, directories or archives to import.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Name of the source (default: the file name without archive suffixes).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// The database file (default: the user cache dir, `keelhaul/db/keelhaul.db`).
    #[arg(long, value_name = "FILE", env = "KEELHAUL_DB")]
    pub db: Option<PathBuf>,
}

/// `keelhaul db update`.
#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    /// A TOML file listing the feeds (`[[feed]] name = "…" url = "…"`); default: the built-in list.
    #[arg(long, value_name = "FILE", env = "KEELHAUL_FEEDS")]
    pub feeds: Option<PathBuf>,
    /// The database file (default: the user cache dir, `keelhaul/db/keelhaul.db`).
    #[arg(long, value_name = "FILE", env = "KEELHAUL_DB")]
    pub db: Option<PathBuf>,
}

/// `keelhaul db export`.
#[derive(Debug, Args)]
pub struct DbExportArgs {
    /// Where to write the copy.
    pub file: PathBuf,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// The database file (default: the user cache dir, `keelhaul/db/keelhaul.db`).
    #[arg(long, value_name = "FILE", env = "KEELHAUL_DB")]
    pub db: Option<PathBuf>,
}

/// `keelhaul db status`.
#[derive(Debug, Args)]
pub struct DbStatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The database file (default: the user cache dir, `keelhaul/db/keelhaul.db`).
    #[arg(long, value_name = "FILE", env = "KEELHAUL_DB")]
    pub db: Option<PathBuf>,
}

/// `keelhaul scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// What to scan.
    pub target: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Platform of a multi-platform image: `os/arch[/variant]`, or `all` for every one.
    /// Default: this machine's.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Allow plain HTTP and unverified TLS certificates for the registry.
    #[arg(long)]
    pub insecure: bool,
    /// Registry user name (default: from Docker's or Podman's auth files).
    #[arg(long, env = "KEELHAUL_REGISTRY_USERNAME", requires = "password")]
    pub username: Option<String>,
    /// Registry password or token.
    #[arg(
        long,
        env = "KEELHAUL_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "username"
    )]
    pub password: Option<String>,
    /// Layer cache directory (default: the user cache dir, `keelhaul/`).
    #[arg(long, value_name = "DIR", env = "KEELHAUL_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Layers analysed at once (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Hash uncompressed layers of local archives against their digests too. Without it
    /// they are checked by size and the file bodies no analyzer wants are skipped unread.
    #[arg(long)]
    pub verify_layers: bool,
    /// Stop a layer that expands more than this ratio (a decompression bomb).
    #[arg(long, value_name = "RATIO", default_value_t = 2000)]
    pub max_decompression_ratio: u64,
    /// The vulnerability database (default: the user cache dir, `keelhaul/db/keelhaul.db`).
    #[arg(long, value_name = "FILE", env = "KEELHAUL_DB")]
    pub db: Option<PathBuf>,
    /// What to look for, comma-separated: `vuln`, `secret`, `malware`, `baseline` (default:
    /// all), or `none` for the inventory only. Naming `vuln` explicitly makes a missing
    /// database an error instead of a warning.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scanners: Vec<String>,
    /// Extra YARA rule directories (`*.yar`, `*.yara`); files that do not compile are
    /// reported and skipped.
    #[arg(long, value_name = "DIR")]
    pub malware_rules: Vec<PathBuf>,
    /// Hash signature lists: `sha256sum`/`md5sum` output, ClamAV `.hdb`/`.hsb`.
    #[arg(long, value_name = "FILE")]
    pub malware_hashes: Vec<PathBuf>,
    /// Custom secret rules and allow rules (TOML or YAML).
    #[arg(long, value_name = "FILE")]
    pub secret_config: Option<PathBuf>,
    /// Report only these severities (`critical,high`; `high+` = high and above).
    #[arg(long, value_name = "LIST")]
    pub severity: Option<String>,
    /// Hide vulnerabilities that have no fixed version yet.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Exit with this code when vulnerabilities remain after filtering.
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
    /// Ignore rules (id, package, path, reason, expiry); default: `.keelhaul.yaml` in the
    /// current directory, when present.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// OpenVEX documents: `not_affected` and `fixed` statements suppress findings.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables grouped by ecosystem.
    Table,
    /// keelhaul's JSON report.
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    #[value(name = "spdx-json")]
    SpdxJson,
    /// SARIF 2.1.0 (code-scanning dashboards).
    Sarif,
}
