//! Test support for keelhaul's integration tests (never shipped).
//!
//! * [`builder`]: assemble images layer by layer, including hostile ones, and write them as
//!   OCI layouts, oci-archives and docker-archives.
//! * [`tools`]: the real tools tests build real images with (`mmdebstrap`, `umoci`, `skopeo`).
//! * [`registry`]: a real `docker-registry` process on a free loopback port, with no auth,
//!   Basic auth or token auth.
//! * [`peers`]: Syft and Trivy, to compare inventories with.
//!
//! Prerequisites (tools, `../shared`, network) are checked with [`prerequisite`]: a test
//! whose prerequisite is missing prints why and passes, unless
//! `KEELHAUL_REQUIRE_INTEGRATION=1` is set (CI sets it), in which case it fails.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stderr)]

pub mod builder;
pub mod java;
pub mod node;
pub mod peers;
pub mod python;
pub mod registry;
pub mod tools;

use std::path::{Path, PathBuf};

/// Whether missing prerequisites fail tests instead of skipping them.
pub fn integration_required() -> bool {
    std::env::var_os("KEELHAUL_REQUIRE_INTEGRATION").is_some_and(|v| v == "1")
}

/// Check a prerequisite: `true` when available; otherwise print a skip message and
/// return `false` — or panic when integration tests are required.
pub fn prerequisite(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        !integration_required(),
        "prerequisite missing: {what} (KEELHAUL_REQUIRE_INTEGRATION=1)"
    );
    eprintln!("skipping: {what} not available");
    false
}

/// Return from the test early when a prerequisite is missing (see [`prerequisite`]).
#[macro_export]
macro_rules! require {
    ($available:expr, $what:expr) => {
        if !$crate::prerequisite($available, $what) {
            return;
        }
    };
}

/// Whether `program` is on PATH.
pub fn have(program: &str) -> bool {
    which(program).is_some()
}

/// The full path of `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `../shared` beside the workspace (or `$KEELHAUL_SHARED`), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KEELHAUL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared"));
    dir.join("data").is_dir().then_some(dir)
}

/// A directory that survives between test runs, for expensive artifacts (a Debian rootfs).
pub fn persistent_cache() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let dir = target.join("keelhaul-test-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `keelhaul` binary built for this test run.
pub fn keelhaul_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CARGO_BIN_EXE_keelhaul") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug/keelhaul")
}

/// The outcome of running the `keelhaul` binary.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Assert success and return self.
    pub fn success(self) -> Run {
        assert!(
            self.status.success(),
            "keelhaul failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Run `keelhaul ARGS` with `HOME`, the cache and temp dirs inside `sandbox`, so a test
/// never touches the user's files and can check what the run wrote.
pub fn keelhaul(sandbox: &Path, args: &[&str]) -> Run {
    run_sandboxed(sandboxed(std::process::Command::new(keelhaul_bin()), sandbox).args(args))
}

/// `cmd` with `HOME`, the cache and temp dirs inside `sandbox` (created).
fn sandboxed(mut cmd: std::process::Command, sandbox: &Path) -> std::process::Command {
    for d in ["home", "cache", "tmp"] {
        std::fs::create_dir_all(sandbox.join(d)).unwrap();
    }
    cmd.env("HOME", sandbox.join("home"))
        .env("XDG_CACHE_HOME", sandbox.join("cache"))
        .env("TMPDIR", sandbox.join("tmp"))
        .env("NO_COLOR", "1")
        .env_remove("KEELHAUL_CACHE_DIR")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    cmd
}

fn run_sandboxed(cmd: &mut std::process::Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// GNU time (`/usr/bin/time`), which reports a command's peak resident set size.
pub fn gnu_time() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/time");
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    text.contains("GNU").then_some(path)
}

/// What one run of the binary cost.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Peak resident set size in KiB (GNU time's `%M`); `None` without GNU time.
    pub max_rss_kib: Option<u64>,
    /// Wall-clock time.
    pub wall: std::time::Duration,
}

/// Like [`keelhaul`], but with `cwd` as the working directory and, when GNU time is
/// installed, under `/usr/bin/time` to measure peak memory. GNU time writes its report
/// to a file in `sandbox` (not in `home`, `cache` or `tmp`), so stderr is keelhaul's own.
pub fn keelhaul_measured(sandbox: &Path, cwd: &Path, args: &[&str]) -> (Run, Usage) {
    let report = sandbox.join("gnu-time.out");
    let cmd = match gnu_time() {
        Some(time) => {
            let mut cmd = std::process::Command::new(time);
            cmd.args(["--format", "%M", "--output"])
                .arg(&report)
                .arg(keelhaul_bin());
            cmd
        }
        None => std::process::Command::new(keelhaul_bin()),
    };
    let mut cmd = sandboxed(cmd, sandbox);
    cmd.args(args).current_dir(cwd);
    let _ = std::fs::remove_file(&report);
    let start = std::time::Instant::now();
    let run = run_sandboxed(&mut cmd);
    let wall = start.elapsed();
    // The last line is `%M`; GNU time puts "Command exited with non-zero status" before it.
    let max_rss_kib = std::fs::read_to_string(&report).ok().map(|text| {
        let last = text.lines().rev().find(|l| !l.trim().is_empty());
        last.and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected GNU time output: {text:?}"))
    });
    (run, Usage { max_rss_kib, wall })
}
