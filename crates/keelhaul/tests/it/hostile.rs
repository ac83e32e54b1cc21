//! Hostile images. Each must end in a clear one-line `error:` (fatal, or a layer that could
//! not be read: exit 1) or `warning:` (the scan goes on: exit 0) naming the image, the layer
//! and the offending path; the rest of the image must still be reported where the design
//! says so; peak memory must stay within 512 MB; and nothing may be written outside the
//! cache directory — not in `$HOME`, `$TMPDIR`, the working directory, the image itself, or
//! wherever a `../`, absolute or symlinked tar entry points.
//!
//! Every scan runs the real binary in a sandbox (`keelhaul_test::keelhaul_measured`), in a
//! working directory of its own, under GNU time for the peak RSS.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use keelhaul_core::{Digest, Hasher};
use keelhaul_test::builder::{self, Built, Compression, Image, Layer};
use keelhaul_test::{Run, Usage, keelhaul_measured};
use serde_json::{Value, json};

/// The memory bound of the issue: 512 MB of peak RSS, whatever the image.
const MAX_RSS_KIB: u64 = 512 * 1024;
const TAG: &str = "hostile";
const STATUS: &str = "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n";
const DEBIAN: &str = "ID=debian\nVERSION_ID=\"12\"\n";

/// A layer every image starts with: an OS and a package, to check the rest of the scan
/// survives whatever the other layers do.
fn good_layer() -> Layer {
    Layer::new()
        .file("etc/os-release", DEBIAN)
        .file("var/lib/dpkg/status", STATUS)
}

/// A name no other run uses, for files a hostile entry points at.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

/// A sandbox: `home`, `cache` (XDG), `tmp` (as `keelhaul_test::keelhaul` sets them up), a
/// working directory, the layer cache passed with `--cache-dir`, and the test's images.
struct Sandbox {
    dir: tempfile::TempDir,
}

/// One finished scan.
struct Scan {
    target: String,
    run: Run,
    usage: Usage,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "cache", "tmp", "cwd"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Sandbox { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cache(&self) -> PathBuf {
        self.path().join("layer-cache")
    }

    /// `scan TARGET --format json --cache-dir CACHE`, checked for what every hostile scan
    /// must satisfy (see [`Scan::check`] and [`Sandbox::snapshot`]).
    fn scan(&self, target: &str) -> Scan {
        let before = self.snapshot();
        let cache = self.cache();
        let (run, usage) = keelhaul_measured(
            self.path(),
            &self.path().join("cwd"),
            &[
                "scan",
                target,
                "--format",
                "json",
                "--cache-dir",
                cache.to_str().unwrap(),
            ],
        );
        let scan = Scan {
            target: target.to_owned(),
            run,
            usage,
        };
        eprintln!(
            "{target}: exit {:?}, peak RSS {} KiB, {:.2?}\n{}",
            scan.run.status.code(),
            scan.usage
                .max_rss_kib
                .map_or_else(|| "unmeasured".to_owned(), |k| k.to_string()),
            scan.usage.wall,
            scan.run.stderr
        );
        scan.check();
        let after = self.snapshot();
        assert_eq!(
            before, after,
            "{target}: the scan changed files outside the cache dir\n{}",
            scan.run.stderr
        );
        for (dir, what) in [
            ("home", "$HOME"),
            ("tmp", "$TMPDIR"),
            ("cache", "$XDG_CACHE_HOME"),
            ("cwd", "the working directory"),
        ] {
            let entries: Vec<_> = std::fs::read_dir(self.path().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert!(
                entries.is_empty(),
                "{target}: wrote into {what}: {entries:?}"
            );
        }
        // The cache holds layer facts and nothing else.
        for file in files_under(&cache) {
            let rel = file.strip_prefix(&cache).unwrap().to_str().unwrap();
            assert!(
                rel.starts_with("layers/") && rel.ends_with(".json"),
                "{target}: unexpected file in the cache dir: {rel}"
            );
        }
        scan
    }

    /// Every file and directory of the sandbox except the layer cache and GNU time's report,
    /// with size and modification time.
    fn snapshot(&self) -> BTreeMap<PathBuf, (u64, SystemTime)> {
        let cache = self.cache();
        walk(self.path())
            .into_iter()
            .filter(|p| !p.starts_with(&cache) && !p.ends_with("gnu-time.out"))
            .map(|p| {
                let m = std::fs::symlink_metadata(&p).unwrap();
                (p, (m.len(), m.modified().unwrap()))
            })
            .collect()
    }

    /// Layer-cache entries written so far.
    fn cache_entries(&self) -> usize {
        files_under(&self.cache()).len()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let path = e.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walk(dir).into_iter().filter(|p| p.is_file()).collect()
}

impl Scan {
    /// What every scan must satisfy, whatever the image: no crash, exit 0 or 1, stderr made
    /// of one-line messages, peak RSS within the bound.
    fn check(&self) {
        let stderr = &self.run.stderr;
        assert!(
            !stderr.contains("panicked"),
            "{}: keelhaul panicked:\n{stderr}",
            self.target
        );
        let code = self.run.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{}: exit status {:?} (killed, or a panic):\n{stderr}",
            self.target,
            self.run.status
        );
        // Messages are one line each: every line is a message, a cause of the error above
        // it, or a hint.
        for line in stderr.lines().filter(|l| !l.is_empty()) {
            assert!(
                ["error: ", "warning: ", "  Caused by: ", "hint: "]
                    .iter()
                    .any(|p| line.starts_with(p)),
                "{}: stderr line is not a one-line message: {line:?}\n{stderr}",
                self.target
            );
        }
        if keelhaul_test::prerequisite(
            self.usage.max_rss_kib.is_some(),
            "GNU time (/usr/bin/time) to measure peak memory",
        ) {
            let rss = self.usage.max_rss_kib.unwrap_or_default();
            assert!(
                rss <= MAX_RSS_KIB,
                "{}: peak RSS {rss} KiB is over {MAX_RSS_KIB} KiB",
                self.target
            );
        }
    }

    fn code(&self) -> i32 {
        self.run.status.code().unwrap()
    }

    fn json(&self) -> Value {
        self.run.json()
    }

    /// The stderr line `LEVEL: …` that contains every needle (case-insensitively).
    fn line(&self, level: &str, needles: &[&str]) -> &str {
        let prefix = format!("{level}: ");
        self.run
            .stderr
            .lines()
            .find(|l| {
                let lower = l.to_lowercase();
                l.starts_with(&prefix) && needles.iter().all(|n| lower.contains(&n.to_lowercase()))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: no `{level}:` line with {needles:?} in stderr:\n{}",
                    self.target, self.run.stderr
                )
            })
    }

    /// No `LEVEL:` line contains `needle`.
    fn no_line(&self, level: &str, needle: &str) {
        let prefix = format!("{level}: ");
        assert!(
            !self
                .run
                .stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "{}: unexpected `{level}:` line with {needle:?}:\n{}",
            self.target,
            self.run.stderr
        );
    }

    /// A scan that stopped before any report: exit 1, nothing on stdout, and an `error:`
    /// line naming the target, with `cause` in the chain below it.
    fn fatal(&self, cause: &[&str]) {
        assert_eq!(self.code(), 1, "{}: {}", self.target, self.run.stderr);
        assert!(self.run.stdout.is_empty(), "{}", self.run.stdout);
        self.line("error", &[&format!("`{}`", self.target)]);
        let lower = self.run.stderr.to_lowercase();
        for c in cause {
            assert!(
                lower.contains(&c.to_lowercase()),
                "{}: {c:?} is not in stderr:\n{}",
                self.target,
                self.run.stderr
            );
        }
    }

    /// The report of a scan whose layer `layer` could not be read: exit 1, `complete:
    /// false`, one error (in the JSON and as an `error:` line) naming the image and the
    /// layer and containing `needles`.
    fn layer_failed(&self, layer: usize, id: &Digest, needles: &[&str]) -> Value {
        assert_eq!(self.code(), 1, "{}: {}", self.target, self.run.stderr);
        let report = self.json();
        assert_eq!(report["complete"], false, "{report:#}");
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{report:#}");
        let layer_ref = format!("Layer {layer} ({})", id.short());
        let target = format!("of `{}`", self.target);
        let mut all = vec![layer_ref.as_str(), target.as_str()];
        all.extend_from_slice(needles);
        let line = self.line("error", &all);
        assert_eq!(
            line.strip_prefix("error: "),
            errors[0].as_str(),
            "the JSON error and the stderr line differ"
        );
        report
    }

    /// A complete scan (exit 0) with a `warning:` line naming the image, layer `layer` and
    /// containing `needles`.
    fn warned(&self, layer: usize, id: &Digest, needles: &[&str]) -> &str {
        assert_eq!(self.code(), 0, "{}: {}", self.target, self.run.stderr);
        let target = format!("`{}`", self.target);
        let layer_ref = format!("layer {layer} ({})", id.short());
        let mut all = vec![target.as_str(), layer_ref.as_str()];
        all.extend_from_slice(needles);
        self.line("warning", &all)
    }
}

/// The report still has the good layer's OS and package.
fn has_good_layer(report: &Value) {
    assert_eq!(report["os"]["family"], "debian", "{report:#}");
    let names: Vec<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"zlib1g"), "{report:#}");
}

fn oci_target(layout: &Path) -> String {
    format!("oci:{}:{TAG}", layout.display())
}

fn blob_path(layout: &Path, digest: &Digest) -> PathBuf {
    layout
        .join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

/// Point the layout's tag at `manifest` (written as a blob as it is, JSON or not).
fn retag(layout: &Path, manifest: &[u8]) {
    let digest = builder::write_blob(layout, manifest);
    builder::write_index(
        layout,
        vec![json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest.to_string(),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": TAG},
        })],
    );
}

/// Edit the image manifest and retag the layout to the edited one.
fn edit_manifest(layout: &Path, built: &Built, edit: impl FnOnce(&mut Value)) {
    let mut manifest: Value = serde_json::from_slice(&built.manifest).unwrap();
    edit(&mut manifest);
    retag(layout, &serde_json::to_vec(&manifest).unwrap());
}

// ---------------------------------------------------------------------------------------
// Streaming layers: too big to build in memory.

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Hasher,
    len: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Hasher::sha256(),
            len: 0,
        }
    }

    fn finish(self) -> (W, Digest, u64) {
        (self.inner, self.hasher.finish(), self.len)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A layer blob in a layout's blob store.
struct Blob {
    digest: Digest,
    diff_id: Digest,
    size: u64,
    compression: Compression,
}

/// Write a layer into `layout`'s blob store as it is produced: `tar` writes the
/// uncompressed tar into the writer it is given, which compresses and hashes on the fly.
fn stream_layer(
    layout: &Path,
    compression: Compression,
    tar: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Blob {
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    let partial = dir.join("partial");
    let stored = Hashing::new(BufWriter::with_capacity(
        1 << 20,
        File::create(&partial).unwrap(),
    ));
    let (stored, diff_id) = match compression {
        Compression::None => {
            let mut w = Hashing::new(stored);
            tar(&mut w).unwrap();
            let (stored, diff_id, _) = w.finish();
            (stored, diff_id)
        }
        Compression::Gzip => {
            let mut w = Hashing::new(flate2::write::GzEncoder::new(
                stored,
                flate2::Compression::fast(),
            ));
            tar(&mut w).unwrap();
            let (encoder, diff_id, _) = w.finish();
            (encoder.finish().unwrap(), diff_id)
        }
        Compression::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(stored, 1).unwrap();
            // The largest window a decoder accepts by default (128 MiB): the most memory a
            // hostile zstd frame can make the scanner allocate.
            encoder.window_log(27).unwrap();
            let mut w = Hashing::new(encoder);
            tar(&mut w).unwrap();
            let (encoder, diff_id, _) = w.finish();
            (encoder.finish().unwrap(), diff_id)
        }
    };
    let (mut file, digest, size) = stored.finish();
    file.flush().unwrap();
    drop(file);
    std::fs::rename(&partial, dir.join(digest.hex())).unwrap();
    Blob {
        digest,
        diff_id,
        size,
        compression,
    }
}

/// A small layer, built in memory by the builder.
fn small_layer(layout: &Path, layer: &Layer) -> Blob {
    let (blob, diff_id, digest) = layer.blob();
    builder::write_blob(layout, &blob);
    Blob {
        digest,
        diff_id,
        size: blob.len() as u64,
        compression: layer.compression,
    }
}

/// Write config, manifest and `index.json` for layers already in the blob store.
fn write_image(layout: &Path, layers: &[Blob]) -> String {
    let config = serde_json::to_vec(&json!({
        "created": "2025-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap();
    let config_digest = builder::write_blob(layout, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": layers.iter().map(|l| json!({
            "mediaType": builder::layer_media_type(l.compression), "digest": l.digest.to_string(), "size": l.size,
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    retag(layout, &manifest);
    oci_target(layout)
}

/// A raw tar header for a regular file.
fn file_header(name: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

// ---------------------------------------------------------------------------------------
// The cases.

/// `../` climbing out of the root, absolute names, a symlink whose own name climbs out and a
/// hard link to a target outside the root: skipped (or read relative to the root) with
/// warnings naming image, layer and path; nothing lands where they point; the absolute
/// `/var/lib/dpkg/status` is still inventoried as `var/lib/dpkg/status`. Both through the
/// streaming walker (gzip OCI layer) and the seeking one (uncompressed docker-archive layer).
#[test]
fn escaping_and_absolute_tar_entries_stay_inside_the_root() {
    let sb = Sandbox::new();
    let up = "../".repeat(16);
    let climb_file = format!("/tmp/{}", unique("keelhaul-escape-up"));
    let absolute_file = format!("/tmp/{}", unique("keelhaul-escape-abs"));
    let climb_link = format!("/tmp/{}", unique("keelhaul-escape-link"));
    let climbing = format!("{up}{}", &climb_file[1..]);
    let climbing_link = format!("{up}{}", &climb_link[1..]);
    let layer = |c| {
        Layer::new()
            .compression(c)
            .file("etc/os-release", DEBIAN)
            .file("/var/lib/dpkg/status", STATUS)
            .file(&climbing, "escaped\n")
            .file(&absolute_file, "escaped\n")
            .symlink(&climbing_link, "/etc/passwd")
            .hardlink("etc/hard", "../../../../../../etc/shadow")
    };

    let layout = sb.path().join("oci");
    let oci = Image::new()
        .layer(layer(Compression::Gzip))
        .write_oci_layout(&layout, TAG);
    let archive = sb.path().join("image.docker.tar");
    let docker = Image::new()
        .layer(layer(Compression::None))
        .write_docker_archive(&archive, "keelhaul/hostile:1");

    for (target, built) in [
        (oci_target(&layout), &oci),
        (format!("docker-archive:{}", archive.display()), &docker),
    ] {
        let scan = sb.scan(&target);
        let id = &built.layers[0].1;
        scan.warned(0, id, &[&climbing, "climbs out of the image root"]);
        scan.warned(0, id, &[&climbing_link, "climbs out of the image root"]);
        scan.warned(0, id, &["`etc/hard`", "outside the image root"]);
        scan.warned(
            0,
            id,
            &[
                "absolute paths",
                "`/var/lib/dpkg/status`",
                "relative to the image root",
            ],
        );
        let report = scan.json();
        assert_eq!(report["complete"], true, "{report:#}");
        has_good_layer(&report);
        let zlib = &report["packages"][0];
        assert_eq!(zlib["locations"][0]["path"], "var/lib/dpkg/status");
        for marker in [&climb_file, &absolute_file, &climb_link] {
            assert!(
                std::fs::symlink_metadata(marker).is_err(),
                "{target}: {marker} was created"
            );
        }
    }
}

/// `etc/os-release` pointing far above the root: resolution stops at the image root, so the
/// image's own release file is read, never the host's `/etc/os-release` (the image is an
/// Alpine of a version no host has).
#[test]
fn symlinks_out_of_the_root_resolve_inside_it() {
    let sb = Sandbox::new();
    let alpine = "ID=alpine\nVERSION_ID=3.99.7\nPRETTY_NAME=\"Alpine Linux v3.99\"\n";
    let up = "../".repeat(12);
    let cases = [
        // Relative, climbing out, aimed at the host's file: clamped to the image's
        // `etc/os-release`, which is this very link: a loop, reported; `usr/lib/os-release`
        // is read instead.
        ("self", format!("{up}etc/os-release"), true),
        // Relative, climbing out, aimed at another file: the image's.
        ("relative", format!("{up}usr/lib/os-release"), false),
        // Absolute: the image root.
        ("absolute", "/usr/lib/os-release".to_owned(), false),
    ];
    for (name, link, loops) in cases {
        let layout = sb.path().join(name);
        Image::new()
            .layer(
                Layer::new()
                    .file("usr/lib/os-release", alpine)
                    .file("lib/apk/db/installed", "P:musl\nV:1.2.5-r0\nA:x86_64\n\n"),
            )
            .layer(Layer::new().symlink("etc/os-release", &link))
            .write_oci_layout(&layout, TAG);
        let target = oci_target(&layout);
        let scan = sb.scan(&target);
        assert_eq!(scan.code(), 0, "{target}: {}", scan.run.stderr);
        let report = scan.json();
        assert_eq!(report["os"]["family"], "alpine", "{name}: {report:#}");
        assert_eq!(report["os"]["version"], "3.99.7", "{name}: {report:#}");
        assert_eq!(report["packages"][0]["name"], "musl", "{name}: {report:#}");
        if loops {
            scan.line(
                "warning",
                &[&format!("`{target}`"), "`etc/os-release`", "symlink loop"],
            );
        } else {
            scan.no_line("warning", "loop");
        }
    }
}

/// Symlink loops end with a warning naming the image and the path, not a hang or a crash,
/// and the rest of the scan is reported.
#[test]
fn symlink_loops_warn_and_the_scan_goes_on() {
    let sb = Sandbox::new();
    let layout = sb.path().join("loop");
    Image::new()
        .layer(good_layer())
        .layer(
            Layer::new()
                .symlink("etc/os-release", "../usr/lib/os-release")
                .symlink("usr/lib/os-release", "../../etc/os-release")
                .symlink("etc/debian_version", "debian_version"),
        )
        .write_oci_layout(&layout, TAG);
    let target = oci_target(&layout);
    let scan = sb.scan(&target);
    assert_eq!(scan.code(), 0, "{}", scan.run.stderr);
    for path in ["etc/os-release", "usr/lib/os-release", "etc/debian_version"] {
        scan.line(
            "warning",
            &[&format!("`{target}`"), &format!("`{path}`"), "symlink loop"],
        );
    }
    let report = scan.json();
    assert_eq!(report["complete"], true);
    // The release files are links now; the packages are still there.
    assert_eq!(report["packages"][0]["name"], "zlib1g", "{report:#}");

    // A loop through a path no analyzer reads (`etc/os-release2`): keelhaul only knows the
    // links it was asked about, so this is a dangling link to it, not a loop. It must still
    // end, and never read the host's file.
    let layout = sb.path().join("loop2");
    Image::new()
        .layer(
            Layer::new()
                .file("etc/alpine-release", "3.99.8\n")
                .symlink("etc/os-release", "os-release2")
                .symlink("etc/os-release2", "os-release"),
        )
        .write_oci_layout(&layout, TAG);
    let scan = sb.scan(&oci_target(&layout));
    assert_eq!(scan.code(), 0, "{}", scan.run.stderr);
    let report = scan.json();
    assert_eq!(report["os"]["family"], "alpine", "{report:#}");
    assert_eq!(report["os"]["version"], "3.99.8", "{report:#}");
}

/// A zstd layer of 4 GiB of zeros in ~128 KiB, declaring zstd's largest default window:
/// stopped as a decompression bomb within seconds and the memory bound; the other layer is
/// still reported and the bomb is not cached.
#[test]
fn a_zstd_decompression_bomb_is_stopped() {
    let sb = Sandbox::new();
    let layout = sb.path().join("bomb");
    const ZEROS: u64 = 4 << 30;
    let good = small_layer(&layout, &good_layer());
    let bomb = stream_layer(&layout, Compression::Zstd, |w| {
        // A wanted file (over the rpm analyzer's cap) holding the zeros.
        w.write_all(file_header("var/lib/rpm/Packages", ZEROS).as_bytes())?;
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..ZEROS / chunk.len() as u64 {
            w.write_all(&chunk)?;
        }
        // End of archive.
        w.write_all(&[0u8; 1024])
    });
    eprintln!(
        "bomb: {ZEROS} bytes of zeros in a {}-byte zstd blob",
        bomb.size
    );
    assert!(bomb.size < 256 << 10, "{}", bomb.size);
    let bomb_id = bomb.diff_id.clone();
    let target = write_image(&layout, &[good, bomb]);
    let scan = sb.scan(&target);
    let report = scan.layer_failed(1, &bomb_id, &["decompression bomb", "var/lib/rpm/Packages"]);
    has_good_layer(&report);
    assert!(
        scan.usage.wall < Duration::from_secs(60),
        "took {:?}",
        scan.usage.wall
    );
    assert_eq!(sb.cache_entries(), 1, "only the good layer is cached");
    std::fs::remove_dir_all(&layout).unwrap();
}

/// One layer of a million tiny files (gzip, built as a stream): the scan completes within
/// the memory bound and in reasonable time, and the dpkg status among them is found.
#[test]
fn a_million_tiny_files() {
    let sb = Sandbox::new();
    let layout = sb.path().join("million");
    const FILES: u32 = 1_000_000;
    let start = std::time::Instant::now();
    let layer = stream_layer(&layout, Compression::Gzip, |w| {
        let mut b = tar::Builder::new(w);
        for i in 0..FILES {
            if i == FILES / 2 {
                b.append(
                    &file_header("var/lib/dpkg/status", STATUS.len() as u64),
                    STATUS.as_bytes(),
                )?;
            }
            let name = format!("usr/share/tiny/{:04}/{:04}", i / 1000, i % 1000);
            b.append(&file_header(&name, 1), &b"x"[..])?;
        }
        b.append(
            &file_header("etc/os-release", DEBIAN.len() as u64),
            DEBIAN.as_bytes(),
        )?;
        b.finish()
    });
    eprintln!(
        "{FILES} files: a {}-byte gzip layer, built in {:.2?}",
        layer.size,
        start.elapsed()
    );
    let target = write_image(&layout, &[layer]);
    let scan = sb.scan(&target);
    assert_eq!(scan.code(), 0, "{}", scan.run.stderr);
    let report = scan.json();
    assert_eq!(report["complete"], true);
    has_good_layer(&report);
    assert!(
        scan.usage.wall < Duration::from_secs(120),
        "took {:?}",
        scan.usage.wall
    );
    std::fs::remove_dir_all(&layout).unwrap();
}

/// Layers cut short half way through a file. With the descriptor fixed up (digest and size
/// of the cut blob), the decompressor (gzip, zstd) or the tar walk (uncompressed) reports it,
/// naming the file; with the original descriptor, the digest check does. A docker-archive
/// cut short inside a layer is reported too. The good layer is reported in every case.
#[test]
fn truncated_layers() {
    let sb = Sandbox::new();
    // Bytes that do not compress, so the cut falls inside this file.
    let mut noise = Vec::with_capacity(256 << 10);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..256 << 10 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x as u8);
    }
    for (name, compression, fix_descriptor) in [
        ("gzip", Compression::Gzip, true),
        ("zstd", Compression::Zstd, true),
        ("tar", Compression::None, true),
        ("gzip-digest", Compression::Gzip, false),
        ("zstd-digest", Compression::Zstd, false),
    ] {
        let layout = sb.path().join(name);
        let built = Image::new()
            .layer(good_layer())
            .layer(
                Layer::new()
                    .compression(compression)
                    .file("usr/lib/noise.bin", &noise)
                    .file("etc/alpine-release", "3.99.9\n"),
            )
            .write_oci_layout(&layout, TAG);
        let (blob, diff_id, digest, _) = &built.layers[1];
        let cut = &blob[..blob.len() / 2];
        if fix_descriptor {
            let cut_digest = builder::write_blob(&layout, cut);
            std::fs::remove_file(blob_path(&layout, digest)).unwrap();
            edit_manifest(&layout, &built, |m| {
                m["layers"][1]["digest"] = json!(cut_digest.to_string());
                m["layers"][1]["size"] = json!(cut.len());
            });
        } else {
            std::fs::write(blob_path(&layout, digest), cut).unwrap();
        }
        let target = oci_target(&layout);
        let scan = sb.scan(&target);
        let report = if fix_descriptor {
            let report = scan.layer_failed(1, diff_id, &["`usr/lib/noise.bin`"]);
            scan.no_line("error", "does not match");
            report
        } else {
            scan.layer_failed(1, diff_id, &[&format!("does not match {digest}")])
        };
        has_good_layer(&report);
    }
    assert_eq!(sb.cache_entries(), 1, "only the good layer is cached");

    // `manifest.json` first (so the cut leaves it whole), then the config and the layers;
    // cut inside the last one.
    let built = Image::new()
        .layer(good_layer().compression(Compression::None))
        .layer(
            Layer::new()
                .compression(Compression::None)
                .file("usr/lib/noise.bin", &noise),
        )
        .build();
    let archive = sb.path().join("cut.docker.tar");
    let mut b = tar::Builder::new(File::create(&archive).unwrap());
    let config = format!("{}.json", built.config_digest.hex());
    let layers: Vec<String> = built
        .layers
        .iter()
        .map(|l| format!("{}.tar", l.1.hex()))
        .collect();
    let manifest = serde_json::to_vec(
        &json!([{"Config": config, "RepoTags": ["keelhaul/cut:1"], "Layers": layers}]),
    )
    .unwrap();
    for (name, data) in [
        ("manifest.json", &manifest),
        (config.as_str(), &built.config),
    ]
    .into_iter()
    .chain(
        layers
            .iter()
            .map(String::as_str)
            .zip(built.layers.iter().map(|l| &l.0)),
    ) {
        b.append(&file_header(name, data.len() as u64), &data[..])
            .unwrap();
    }
    let file = b.into_inner().unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - (noise.len() as u64) / 2).unwrap();
    drop(file);
    let target = format!("docker-archive:{}", archive.display());
    let report =
        sb.scan(&target)
            .layer_failed(1, &built.layers[1].1, &["the archive is truncated"]);
    has_good_layer(&report);
}

/// A layer blob replaced by another valid layer: reported as a digest mismatch naming the
/// image, the layer and both digests, never cached. A config that does not match its digest
/// stops the scan.
#[test]
fn blobs_that_do_not_match_their_digest() {
    let sb = Sandbox::new();
    let layout = sb.path().join("layer");
    let built = Image::new()
        .layer(good_layer())
        .layer(Layer::new().file("etc/alpine-release", "3.99.9\n"))
        .write_oci_layout(&layout, TAG);
    let (_, diff_id, digest, _) = &built.layers[1];
    let (other, ..) = Layer::new().file("etc/alpine-release", "3.99.10\n").blob();
    std::fs::write(blob_path(&layout, digest), &other).unwrap();
    let scan = sb.scan(&oci_target(&layout));
    let actual = Digest::sha256_of(&other);
    let report = scan.layer_failed(
        1,
        diff_id,
        &[&format!("does not match {digest}"), actual.as_str()],
    );
    has_good_layer(&report);
    assert_eq!(sb.cache_entries(), 1, "only the good layer is cached");

    let layout = sb.path().join("config");
    let built = Image::new()
        .layer(good_layer())
        .write_oci_layout(&layout, TAG);
    std::fs::write(
        blob_path(&layout, &built.config_digest),
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    )
    .unwrap();
    let scan = sb.scan(&oci_target(&layout));
    scan.fatal(&[&format!(
        "content of {} in `{}` does not match its digest",
        built.config_digest,
        oci_target(&layout)
    )]);
}

/// `index.json`, the manifest, the config or a docker-archive's `manifest.json` that is not
/// JSON: the scan stops with an error naming the image and the document.
#[test]
fn documents_that_are_not_json() {
    let sb = Sandbox::new();
    let garbage = b"<html><body>502 Bad Gateway</body></html>\n";

    let layout = sb.path().join("index");
    Image::new()
        .layer(good_layer())
        .write_oci_layout(&layout, TAG);
    std::fs::write(layout.join("index.json"), garbage).unwrap();
    let target = format!("oci:{}", layout.display());
    sb.scan(&target)
        .fatal(&[&format!("invalid `index.json` in `{target}`")]);

    let layout = sb.path().join("manifest");
    Image::new()
        .layer(good_layer())
        .write_oci_layout(&layout, TAG);
    retag(&layout, garbage);
    let target = oci_target(&layout);
    let manifest = Digest::sha256_of(garbage);
    let scan = sb.scan(&target);
    scan.fatal(&[
        &format!("invalid manifest {manifest} in `{target}`"),
        "not valid JSON: expected value at line 1 column 1",
    ]);
    assert_eq!(
        scan.run.stderr.matches("expected value").count(),
        1,
        "the cause is printed once:\n{}",
        scan.run.stderr
    );

    let layout = sb.path().join("config");
    let built = Image::new()
        .layer(good_layer())
        .write_oci_layout(&layout, TAG);
    let config = builder::write_blob(&layout, garbage);
    edit_manifest(&layout, &built, |m| {
        m["config"]["digest"] = json!(config.to_string());
        m["config"]["size"] = json!(garbage.len());
    });
    let target = oci_target(&layout);
    sb.scan(&target)
        .fatal(&[&format!("invalid image config in `{target}`")]);

    let archive = sb.path().join("docker.tar");
    {
        let mut b = tar::Builder::new(File::create(&archive).unwrap());
        b.append(
            &file_header("manifest.json", garbage.len() as u64),
            &garbage[..],
        )
        .unwrap();
        b.finish().unwrap();
    }
    let target = format!("docker-archive:{}", archive.display());
    sb.scan(&target)
        .fatal(&[&format!("invalid `manifest.json` in `{target}`")]);
}

/// A layer blob that is missing: that layer fails (naming image, layer and blob), the rest is
/// reported. A missing config stops the scan.
#[test]
fn missing_blobs() {
    let sb = Sandbox::new();
    let layout = sb.path().join("layer");
    let built = Image::new()
        .layer(good_layer())
        .layer(Layer::new().file("etc/alpine-release", "3.99.9\n"))
        .write_oci_layout(&layout, TAG);
    let (_, diff_id, digest, _) = &built.layers[1];
    std::fs::remove_file(blob_path(&layout, digest)).unwrap();
    let target = oci_target(&layout);
    let report = sb
        .scan(&target)
        .layer_failed(1, diff_id, &[&format!("blob {digest} is missing")]);
    has_good_layer(&report);

    let layout = sb.path().join("config");
    let built = Image::new()
        .layer(good_layer())
        .write_oci_layout(&layout, TAG);
    std::fs::remove_file(blob_path(&layout, &built.config_digest)).unwrap();
    let target = oci_target(&layout);
    sb.scan(&target).fatal(&[&format!(
        "blob {} is missing from `{target}`",
        built.config_digest
    )]);
}

/// Real rpm databases (SQLite and Berkeley DB), cut in half: no crash, a warning naming the
/// image, layer and file, and whatever could be read is reported.
#[test]
fn truncated_rpm_databases() {
    let Some(shared) = keelhaul_test::shared_dir() else {
        keelhaul_test::prerequisite(false, "../shared/data/rpmdb");
        return;
    };
    let sb = Sandbox::new();
    let mariner = "NAME=\"Common Base Linux Mariner\"\nVERSION=\"2.0.20240123\"\nID=mariner\nVERSION_ID=\"2.0\"\n";
    for (name, source, path, problem) in [
        (
            "sqlite",
            "data/rpmdb/sqlite-cbl-mariner-2.0/rpmdb.sqlite",
            "var/lib/rpm/rpmdb.sqlite",
            "rows read, then",
        ),
        (
            "bdb",
            "data/rpmdb/bdb-libuuid/Packages",
            "var/lib/rpm/Packages",
            "file truncated",
        ),
    ] {
        let Ok(db) = std::fs::read(shared.join(source)) else {
            keelhaul_test::prerequisite(false, &format!("../shared/{source}"));
            continue;
        };
        let mut counts = Vec::new();
        for (cut, bytes) in [("whole", &db[..]), ("cut", &db[..db.len() / 2])] {
            let layout = sb.path().join(format!("{name}-{cut}"));
            let built = Image::new()
                .layer(
                    Layer::new()
                        .file("etc/os-release", mariner)
                        .file(path, bytes),
                )
                .write_oci_layout(&layout, TAG);
            let target = oci_target(&layout);
            let scan = sb.scan(&target);
            assert_eq!(scan.code(), 0, "{target}: {}", scan.run.stderr);
            let report = scan.json();
            assert_eq!(report["complete"], true);
            assert_eq!(report["os"]["family"], "mariner", "{report:#}");
            let count = report["packages"].as_array().unwrap().len();
            eprintln!("{name} {cut}: {count} packages");
            if cut == "cut" {
                scan.warned(0, &built.layers[0].1, &[&format!("`{path}`"), problem]);
            } else {
                assert!(count > 0, "{report:#}");
                scan.no_line("warning", path);
            }
            counts.push(count);
        }
        assert!(counts[1] < counts[0], "{name}: {counts:?}");
    }
}

/// Databases as big as the analyzers accept, repeated in several layers: each dpkg status
/// is just under the 16 MiB cap and made of the smallest stanzas (hundreds of thousands of
/// packages). Parsing and stacking stay linear, the per-database and per-image caps are
/// reported, and memory stays within the bound.
#[test]
fn huge_package_databases_in_every_layer() {
    let sb = Sandbox::new();
    let layout = sb.path().join("huge");
    let mut status = String::new();
    let mut n = 0u32;
    while status.len() < (15 << 20) {
        status.push_str(&format!(
            "Package: p{n}\nStatus: install ok installed\nVersion: {n}\n\n"
        ));
        n += 1;
    }
    let mut blobs = vec![small_layer(
        &layout,
        &good_layer().compression(Compression::Gzip),
    )];
    for i in 0..4 {
        // Each layer rewrites the database, so every version is held until stacking.
        let layer = Layer::new().compression(Compression::Gzip).file(
            "var/lib/dpkg/status",
            format!("{status}Package: layer{i}\nVersion: 1\n"),
        );
        blobs.push(small_layer(&layout, &layer));
    }
    let target = write_image(&layout, &blobs);
    let scan = sb.scan(&target);
    // The caps make the inventory incomplete, and the scan says so: exit 1, with the per-
    // database cap as a warning and the image's record budget as a layer error.
    assert_eq!(scan.code(), 1, "{}", scan.run.stderr);
    assert!(
        scan.run.stderr.contains("more than 100000 packages"),
        "{}",
        scan.run.stderr
    );
    assert!(
        scan.run
            .stderr
            .contains("package records; the rest are not inventoried"),
        "{}",
        scan.run.stderr
    );
    assert!(
        scan.usage.wall < Duration::from_secs(90),
        "took {:?}",
        scan.usage.wall
    );
    let report = scan.json();
    assert_eq!(report["complete"], false);
    assert!(report["packages"].as_array().unwrap().len() <= 100_000);
    std::fs::remove_dir_all(&layout).unwrap();
}

/// Two layers, each holding a file at an rpm database path just under the rpm analyzer's
/// 128 MiB cap (zeros behind an SQLite header: gzip packs them 1000:1, within the bomb
/// ratio). Big files are buffered one at a time, so peak memory stays within the bound.
#[test]
fn big_database_files_in_parallel_layers() {
    let sb = Sandbox::new();
    let layout = sb.path().join("big-files");
    const SIZE: u64 = 120 << 20;
    let mut blobs = vec![small_layer(&layout, &good_layer())];
    for path in [
        "var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
    ] {
        blobs.push(stream_layer(&layout, Compression::Gzip, |w| {
            w.write_all(file_header(path, SIZE).as_bytes())?;
            let mut chunk = vec![0u8; 1 << 20];
            chunk[..16].copy_from_slice(b"SQLite format 3\0");
            w.write_all(&chunk)?;
            chunk[..16].fill(0);
            for _ in 1..SIZE / chunk.len() as u64 {
                w.write_all(&chunk)?;
            }
            w.write_all(&[0u8; 1024])
        }));
    }
    let target = write_image(&layout, &blobs);
    let scan = sb.scan(&target);
    assert_eq!(scan.code(), 0, "{}", scan.run.stderr);
    assert!(
        scan.run.stderr.contains("rpmdb.sqlite"),
        "the unreadable databases are named: {}",
        scan.run.stderr
    );
    has_good_layer(&scan.json());
    std::fs::remove_dir_all(&layout).unwrap();
}
