//! Everything the CLI prints on stderr: warnings, errors with hints, progress bars.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use keelhaul_analyze::Progress;
use keelhaul_core::Hint;
use keelhaul_image::Layer;

use crate::cli::{ColorChoice, GlobalArgs};

/// Where user-facing messages go, and how.
pub struct Printer {
    quiet: bool,
    color_stderr: bool,
    color_stdout: bool,
    progress: bool,
}

fn color_allowed(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

impl Printer {
    /// A printer; `service` (serve, worker) logs at info level with timestamps, as a
    /// long-running process should.
    pub fn new(args: &GlobalArgs, service: bool) -> Printer {
        let stderr_tty = std::io::stderr().is_terminal();
        let filter = match args.verbose {
            0 if service => "info",
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        // rustls logs certificate failures itself; the error chain already says so, with a
        // hint, so its own line is noise below `-vv`.
        let level = if args.quiet { "error" } else { filter };
        let rustls = if args.verbose >= 2 { filter } else { "off" };
        let env_filter = tracing_subscriber::EnvFilter::try_from_env("KEELHAUL_LOG")
            .unwrap_or_else(|_| {
                // sqlx reports PostgreSQL's notices (`… already exists, skipping`) at info.
                let sqlx = if args.verbose >= 2 { filter } else { "warn" };
                tracing_subscriber::EnvFilter::new(format!("{level},rustls={rustls},sqlx={sqlx}"))
            });
        let builder = tracing_subscriber::fmt()
            .with_env_filter(env_filter)
            .with_writer(std::io::stderr)
            .with_ansi(color_allowed(args.color, stderr_tty))
            .with_target(args.verbose >= 2);
        let _ = if service {
            builder.try_init()
        } else {
            builder.without_time().try_init()
        };
        Printer {
            quiet: args.quiet,
            color_stderr: color_allowed(args.color, stderr_tty),
            color_stdout: color_allowed(args.color, std::io::stdout().is_terminal()),
            progress: !args.quiet
                && !args.no_progress
                && stderr_tty
                && std::env::var_os("CI").is_none(),
        }
    }

    /// Whether the report on stdout may use colour.
    pub fn color_stdout(&self) -> bool {
        self.color_stdout
    }

    fn label(&self, text: &str, code: &str) -> String {
        if self.color_stderr {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    #[allow(clippy::print_stderr)]
    pub fn warning(&self, message: &str) {
        if !self.quiet {
            eprintln!("{}: {message}", self.label("warning", "33"));
        }
    }

    #[allow(clippy::print_stderr)]
    pub fn error(&self, message: &str) {
        eprintln!("{}: {message}", self.label("error", "31"));
    }

    /// `error:` with the top message, `Caused by:` for each cause, then any hints.
    #[allow(clippy::print_stderr)]
    pub fn error_chain(&self, e: &anyhow::Error) {
        self.error(&e.to_string());
        let mut hints = Vec::new();
        for cause in e.chain() {
            if let Some(h) = hint_of(cause)
                && !hints.contains(&h)
            {
                hints.push(h);
            }
        }
        for cause in e.chain().skip(1) {
            eprintln!("  Caused by: {cause}");
        }
        for h in hints {
            eprintln!("\n{}: {h}", self.label("hint", "36"));
        }
    }

    /// A progress line on stderr (`Imported …`), unless quiet.
    #[allow(clippy::print_stderr)]
    pub fn status(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// Whether progress bars are drawn.
    pub fn shows_progress(&self) -> bool {
        self.progress
    }

    /// A spinner with a message, hidden when not on a terminal.
    pub fn spinner(&self, message: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner();
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// Progress bars for layer reads, or nothing when not on a terminal.
    pub fn layer_progress(&self) -> LayerProgress {
        let multi = MultiProgress::with_draw_target(if self.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        LayerProgress {
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }
}

fn hint_of(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = e.downcast_ref::<keelhaul_scan::ScanError>() {
        return e.hint();
    }
    if let Some(e) = e.downcast_ref::<keelhaul_image::ImageError>() {
        return e.hint();
    }
    if let Some(e) = e.downcast_ref::<keelhaul_image::registry::RegistryError>() {
        return e.hint();
    }
    if let Some(keelhaul_vulndb::DbError::Missing(_)) = e.downcast_ref::<keelhaul_vulndb::DbError>()
    {
        return Some(
            "a database is built from advisory files (`keelhaul db import ../shared/data/osv/*.tar.zst …`) or downloaded (`keelhaul db update`)".to_owned(),
        );
    }
    None
}

/// One bar per layer being read.
pub struct LayerProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<usize, ProgressBar>>,
}

impl LayerProgress {
    fn bars(&self) -> std::sync::MutexGuard<'_, HashMap<usize, ProgressBar>> {
        self.bars.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn clear(&self) {
        let _ = self.multi.clear();
    }
}

impl Progress for LayerProgress {
    fn layer_started(&self, layer: &Layer) {
        let bar = match layer.size {
            Some(size) if size > 0 => ProgressBar::new(size),
            _ => ProgressBar::new_spinner(),
        };
        let style = ProgressStyle::with_template(
            "{prefix:>12} {wide_bar} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        let id = layer.id().map_or_else(
            || format!("layer {}", layer.index),
            |d| d.hex()[..12].to_owned(),
        );
        bar.set_prefix(id);
        let bar = self.multi.add(bar);
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bars().insert(layer.index, bar);
    }

    fn layer_advanced(&self, index: usize, bytes: u64) {
        if let Some(bar) = self.bars().get(&index) {
            bar.set_position(bytes);
        }
    }

    fn layer_finished(&self, index: usize, _from_cache: bool) {
        if let Some(bar) = self.bars().remove(&index) {
            bar.finish_and_clear();
        }
    }
}
