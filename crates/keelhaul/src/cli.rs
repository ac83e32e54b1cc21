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
    /// or a bare path, whose kind is detected.
    #[command(verbatim_doc_comment)]
    Scan(ScanArgs),
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
}
