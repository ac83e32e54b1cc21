//! `keelhaul_vulndb::update` against real local HTTP servers: Python's `http.server`
//! (Last-Modified / If-Modified-Since) and `fixtures/update/server.py` (ETags, 5xx, 429-style
//! retries, captive-portal pages, a fake NVD CVE API 2.0).
//!
//! Tests that need a server are skipped when `python3` is missing, unless
//! `KEELHAUL_REQUIRE_INTEGRATION=1` makes that a failure.

use std::fs::File;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, UNIX_EPOCH};

use keelhaul_vulndb::Database;
use keelhaul_vulndb::update::{
    Feed, FeedKind, FeedOutcome, FeedsConfig, NoProgress, UpdateError, UpdateOptions,
    UpdateProgress, UpdateReport, update,
};

// ---------------------------------------------------------------------------------------
// Helpers

fn python_available() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("KEELHAUL_REQUIRE_INTEGRATION").as_deref() != Ok("1"),
            "python3 is required for the update integration tests (KEELHAUL_REQUIRE_INTEGRATION=1)"
        );
        skip("python3 not found; skipping the HTTP update test");
    }
    found
}

#[allow(clippy::print_stderr)]
fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A server child process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// `python3 -m http.server` serving `dir`.
    fn plain(dir: &Path) -> Server {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        Server::ready(child, port)
    }

    /// `fixtures/update/server.py` serving `dir`, logging requests to `log`.
    fn custom(dir: &Path, log: &Path) -> Server {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/update/server.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .arg(log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server.py");
        Server::ready(child, port)
    }

    fn ready(mut child: Child, port: u16) -> Server {
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("test HTTP server exited early: {status}");
            }
            assert!(Instant::now() < deadline, "test HTTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn osv(id: &str, ecosystem: &str, package: &str, fixed: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","aliases":["CVE-{id}"],"affected":[{{"package":{{"ecosystem":"{ecosystem}","name":"{package}"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
    )
}

fn osv_array(records: &[String]) -> String {
    format!("[{}]", records.join(","))
}

/// A withdrawn record: recognised as OSV, but contributes no advisory.
fn withdrawn(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-01-02T00:00:00Z","affected":[]}}"#
    )
}

fn write_zip(path: &Path, members: &[(String, String)]) {
    let file = File::create(path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    for (name, body) in members {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("zip member");
        zip.write_all(body.as_bytes()).expect("zip write");
    }
    zip.finish().expect("finish zip");
}

fn write(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write fixture");
}

/// Sets a file's mtime (seconds since the epoch): `http.server` compares whole seconds,
/// so tests move files far apart in time instead of sleeping.
fn set_mtime(path: &Path, secs: u64) {
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(UNIX_EPOCH + Duration::from_secs(secs)))
        .expect("set mtime");
}

const JAN_2024: u64 = 1_704_067_200;
const JUN_2024: u64 = 1_717_200_000;

fn options(feeds: Vec<Feed>) -> UpdateOptions {
    UpdateOptions {
        feeds,
        timeout: Duration::from_secs(20),
        retries: 0,
        retry_delay: Duration::from_millis(10),
        concurrency: 2,
        offline_ok: false,
        nvd_api_key: None,
        nvd_request_interval: Some(Duration::ZERO),
    }
}

fn run(db: &Path, feeds: &[Feed], retries: u32) -> UpdateReport {
    let mut opts = options(feeds.to_vec());
    opts.retries = retries;
    update(db, &opts, &NoProgress).expect("update runs")
}

fn outcome<'r>(report: &'r UpdateReport, feed: &str) -> &'r FeedOutcome {
    report.outcome(feed).expect("feed in report")
}

fn assert_updated(report: &UpdateReport, feed: &str, advisories: u64) {
    match outcome(report, feed) {
        FeedOutcome::Updated { advisories: n, .. } => assert_eq!(*n, advisories, "{feed}"),
        other => panic!("{feed}: expected Updated, got {other:?}"),
    }
}

fn assert_failed(report: &UpdateReport, feed: &str, needle: &str) {
    match outcome(report, feed) {
        FeedOutcome::Failed(reason) => {
            assert!(
                reason.contains(needle),
                "{feed}: {reason:?} lacks {needle:?}"
            )
        }
        other => panic!("{feed}: expected Failed, got {other:?}"),
    }
}

/// (advisories, imported_at, etag, last_modified) of a source.
fn source(db: &Path, name: &str) -> (u64, String, Option<String>, Option<String>) {
    let db = Database::open(db).expect("open db");
    let s = db
        .sources()
        .expect("sources")
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name}"));
    (s.advisories, s.imported_at, s.etag, s.last_modified)
}

fn candidates(db: &Path, ecosystem: &str, package: &str) -> Vec<String> {
    let db = Database::open(db).expect("open db");
    db.candidates(ecosystem, package)
        .expect("candidates")
        .into_iter()
        .map(|c| c.source)
        .collect()
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open sqlite");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

/// Logged requests to `route` (the path without the query).
fn requests_to(log: &Path, route: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["route"] == route)
        .collect()
}

fn requests(log: &Path, path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["path"] == path)
        .collect()
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    bytes: Mutex<u64>,
}

impl UpdateProgress for Recorder {
    fn start(&self, feed: &str, total: Option<u64>) {
        self.push(format!("start {feed} {total:?}"));
    }
    fn advance(&self, _feed: &str, bytes: u64) {
        *self.bytes.lock().expect("lock") += bytes;
    }
    fn finish(&self, feed: &str, outcome: &FeedOutcome) {
        let kind = match outcome {
            FeedOutcome::Updated { .. } => "updated",
            FeedOutcome::NotModified => "not-modified",
            FeedOutcome::Failed(_) => "failed",
        };
        self.push(format!("finish {feed} {kind}"));
    }
    fn writing(&self, sources: usize) {
        self.push(format!("writing {sources}"));
    }
}

impl Recorder {
    fn push(&self, event: String) {
        self.events.lock().expect("lock").push(event);
    }
    fn has(&self, event: &str) -> bool {
        self.events.lock().expect("lock").iter().any(|e| e == event)
    }
}

// ---------------------------------------------------------------------------------------
// Tests

/// First update imports; a second is answered 304 and rewrites nothing; a newer file on
/// the server is downloaded again.
#[test]
fn conditional_requests_against_python_http_server() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    std::fs::create_dir_all(served.join("PyPI")).expect("mkdir");
    let zip_path = served.join("PyPI/all.zip");
    write_zip(
        &zip_path,
        &[
            (
                "GHSA-aaaa.json".into(),
                osv("GHSA-aaaa", "PyPI", "foo", "1.2"),
            ),
            (
                "GHSA-bbbb.json".into(),
                osv("GHSA-bbbb", "PyPI", "bar", "2.0"),
            ),
        ],
    );
    let npm_path = served.join("npm.json");
    write(
        &npm_path,
        &osv_array(&[osv("GHSA-cccc", "npm", "left-pad", "1.3.0")]),
    );
    set_mtime(&zip_path, JAN_2024);
    set_mtime(&npm_path, JAN_2024);
    let server = Server::plain(&served);
    let db = work.path().join("db/keelhaul.db");
    let feeds = [
        Feed::new("osv-pypi", server.url("PyPI/all.zip")),
        Feed::new("osv-npm", server.url("npm.json")),
    ];

    let progress = Recorder::default();
    let report = update(&db, &options(feeds.to_vec()), &progress).expect("first update");
    assert_updated(&report, "osv-pypi", 2);
    assert_updated(&report, "osv-npm", 1);
    assert!(report.is_complete());
    assert!(progress.has("finish osv-pypi updated"));
    assert!(progress.has("writing 2"));
    let zip_len = std::fs::metadata(&zip_path).expect("stat").len();
    let npm_len = std::fs::metadata(&npm_path).expect("stat").len();
    assert!(progress.has(&format!("start osv-pypi Some({zip_len})")));
    assert_eq!(*progress.bytes.lock().expect("lock"), zip_len + npm_len);
    match outcome(&report, "osv-pypi") {
        FeedOutcome::Updated { bytes, .. } => assert_eq!(*bytes, zip_len),
        other => panic!("{other:?}"),
    }
    assert_eq!(candidates(&db, "PyPI", "foo"), ["osv-pypi"]);
    assert_eq!(candidates(&db, "npm", "left-pad"), ["osv-npm"]);
    let (_, pypi_at, _, pypi_lm) = source(&db, "osv-pypi");
    assert!(
        pypi_lm.is_some(),
        "Last-Modified stored for conditional requests"
    );
    let (_, npm_at, _, _) = source(&db, "osv-npm");

    // Unchanged: 304 for both, nothing rewritten.
    let progress = Recorder::default();
    let report = update(&db, &options(feeds.to_vec()), &progress).expect("second update");
    assert_eq!(outcome(&report, "osv-pypi"), &FeedOutcome::NotModified);
    assert_eq!(outcome(&report, "osv-npm"), &FeedOutcome::NotModified);
    assert!(!progress.has("writing 0") && !progress.has("writing 1"));
    assert_eq!(source(&db, "osv-pypi").1, pypi_at);
    assert_eq!(source(&db, "osv-npm").1, npm_at);

    // A newer PyPI export on the server: downloaded and replaced; npm still unchanged.
    write_zip(
        &zip_path,
        &[
            (
                "GHSA-aaaa.json".into(),
                osv("GHSA-aaaa", "PyPI", "foo", "1.2"),
            ),
            (
                "GHSA-bbbb.json".into(),
                osv("GHSA-bbbb", "PyPI", "bar", "2.0"),
            ),
            (
                "GHSA-dddd.json".into(),
                osv("GHSA-dddd", "PyPI", "baz", "0.9"),
            ),
        ],
    );
    set_mtime(&zip_path, JUN_2024);
    let report = run(&db, &feeds, 0);
    assert_updated(&report, "osv-pypi", 3);
    assert_eq!(outcome(&report, "osv-npm"), &FeedOutcome::NotModified);
    let (count, at, _, lm) = source(&db, "osv-pypi");
    assert_eq!(count, 3);
    assert_ne!(at, pypi_at);
    assert_ne!(lm, pypi_lm);
    assert_eq!(source(&db, "osv-npm").1, npm_at);
    assert_eq!(candidates(&db, "PyPI", "baz"), ["osv-pypi"]);

    // No temporary downloads left next to the database.
    let leftovers: Vec<_> = std::fs::read_dir(work.path().join("db"))
        .expect("read db dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".update-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    integrity_ok(&db);
}

/// ETags: stored, sent back as If-None-Match, 304 → NotModified.
#[test]
fn etag_round_trip() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    std::fs::create_dir_all(&served).expect("mkdir");
    write(
        &served.join("go.json"),
        &osv_array(&[osv("GO-2024-0001", "Go", "example.com/mod", "1.0.1")]),
    );
    let log = work.path().join("requests.log");
    let server = Server::custom(&served, &log);
    let db = work.path().join("keelhaul.db");
    let feeds = [Feed::new("osv-go", server.url("etag/go.json"))];

    assert_updated(&run(&db, &feeds, 0), "osv-go", 1);
    let (_, at, etag, _) = source(&db, "osv-go");
    let etag = etag.expect("ETag stored");
    assert_eq!(
        outcome(&run(&db, &feeds, 0), "osv-go"),
        &FeedOutcome::NotModified
    );
    assert_eq!(source(&db, "osv-go").1, at);
    let seen = requests(&log, "/etag/go.json");
    assert_eq!(seen.len(), 2);
    assert!(seen[0]["if_none_match"].is_null());
    assert_eq!(seen[1]["if_none_match"], etag.as_str());

    write(
        &served.join("go.json"),
        &osv_array(&[
            osv("GO-2024-0001", "Go", "example.com/mod", "1.0.1"),
            osv("GO-2024-0002", "Go", "example.com/other", "2.0.0"),
        ]),
    );
    assert_updated(&run(&db, &feeds, 0), "osv-go", 2);
}

/// One feed's server fails (500, then an HTML page, then a recognised but empty file):
/// its old records stay, the other feed updates each time, and the database stays valid.
#[test]
fn failing_feed_keeps_previous_data() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    std::fs::create_dir_all(&served).expect("mkdir");
    let log = work.path().join("requests.log");
    let server = Server::custom(&served, &log);
    let db = work.path().join("keelhaul.db");
    let good = |n: usize| {
        let records: Vec<String> = (0..n)
            .map(|i| {
                osv(
                    &format!("GHSA-good-{i}"),
                    "PyPI",
                    &format!("good{i}"),
                    "1.0",
                )
            })
            .collect();
        write(&served.join("good.json"), &osv_array(&records));
    };
    write(
        &served.join("other.json"),
        &osv_array(&[
            osv("RUSTSEC-1", "crates.io", "smallvec", "1.0.0"),
            osv("RUSTSEC-2", "crates.io", "time", "0.2.23"),
        ]),
    );
    good(1);
    let first = [
        Feed::new("good", server.url("etag/good.json")),
        Feed::new("other", server.url("etag/other.json")),
    ];
    let report = run(&db, &first, 0);
    assert_updated(&report, "good", 1);
    assert_updated(&report, "other", 2);

    // `other` now answers 500 (retried once, then given up); `good` has news.
    good(2);
    let broken = [
        Feed::new("good", server.url("etag/good.json")),
        Feed::new("other", server.url("status/500/other.json")),
    ];
    let report = run(&db, &broken, 1);
    assert_updated(&report, "good", 2);
    assert_failed(&report, "other", "500");
    assert!(!report.is_complete());
    assert_eq!(report.failed().count(), 1);
    assert_eq!(
        requests(&log, "/status/500/other.json").len(),
        2,
        "one retry"
    );
    assert_eq!(source(&db, "other").0, 2);
    assert_eq!(candidates(&db, "crates.io", "smallvec"), ["other"]);
    assert_eq!(source(&db, "good").0, 2);

    // A captive portal's HTML page.
    good(3);
    let portal = [
        Feed::new("good", server.url("etag/good.json")),
        Feed::new("other", server.url("garbage/other.json")),
    ];
    let report = run(&db, &portal, 0);
    assert_updated(&report, "good", 3);
    assert_failed(&report, "other", "keeping the previous data");
    assert_eq!(source(&db, "other").0, 2);

    // A recognised file with no records (all withdrawn) where there were some.
    write(
        &served.join("other.json"),
        &osv_array(&[withdrawn("RUSTSEC-1")]),
    );
    let report = run(&db, &first, 0);
    assert_eq!(outcome(&report, "good"), &FeedOutcome::NotModified);
    assert_failed(&report, "other", "no records");
    assert_eq!(source(&db, "other").0, 2);
    assert_eq!(candidates(&db, "crates.io", "time"), ["other"]);

    // A 404 is not retried.
    let missing = [Feed::new("other", server.url("etag/nope.json"))];
    let report = run(&db, &missing, 3);
    assert_failed(&report, "other", "404");
    assert_eq!(requests(&log, "/etag/nope.json").len(), 1);

    integrity_ok(&db);
    assert_eq!(source(&db, "other").0, 2);
}

/// 503 with Retry-After is retried until it succeeds, or until `retries` runs out.
#[test]
fn retries_transient_errors() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    std::fs::create_dir_all(&served).expect("mkdir");
    write(
        &served.join("a.json"),
        &osv_array(&[osv("GHSA-flaky", "npm", "flaky", "1.0.0")]),
    );
    let log = work.path().join("requests.log");
    let server = Server::custom(&served, &log);
    let db = work.path().join("keelhaul.db");

    let feeds = [Feed::new("flaky", server.url("flaky/2/a.json"))];
    assert_updated(&run(&db, &feeds, 3), "flaky", 1);
    assert_eq!(requests(&log, "/flaky/2/a.json").len(), 3);

    let feeds = [Feed::new("flaky", server.url("flaky/5/a.json"))];
    let report = run(&db, &feeds, 1);
    assert_failed(&report, "flaky", "gave up after 2 attempts");
    assert_eq!(requests(&log, "/flaky/5/a.json").len(), 2);
    assert_eq!(source(&db, "flaky").0, 1, "old data kept");
}

/// Nothing reachable: an error that says how to work offline, and no database created —
/// unless `offline_ok`, which reports the failures instead.
#[test]
fn offline_is_an_error_with_a_hint() {
    let work = tempfile::tempdir().expect("tempdir");
    let db = work.path().join("keelhaul.db");
    let port = free_port(); // nothing listens there now
    let feeds = vec![Feed::new(
        "osv-pypi",
        format!("http://127.0.0.1:{port}/PyPI/all.zip"),
    )];
    let opts = options(feeds);
    let err = update(&db, &opts, &NoProgress).expect_err("offline");
    assert!(matches!(err, UpdateError::Offline { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("keelhaul db import"), "{message}");
    assert!(message.contains("keelhaul db export"), "{message}");
    assert!(!db.exists(), "no database created from nothing");

    let opts = UpdateOptions {
        offline_ok: true,
        ..opts
    };
    let progress = Recorder::default();
    let report = update(&db, &opts, &progress).expect("offline_ok");
    assert_failed(&report, "osv-pypi", "cannot reach");
    assert!(progress.has("finish osv-pypi failed"));
    assert!(!db.exists());
}

/// A feeds config with local files (plain relative paths and file:// URLs): imported,
/// then unchanged (NotModified), then changed.
#[test]
fn local_feeds_from_config() {
    let work = tempfile::tempdir().expect("tempdir");
    let mirror = work.path().join("mirror");
    std::fs::create_dir_all(&mirror).expect("mkdir");
    let pypi = mirror.join("pypi.json");
    write(
        &pypi,
        &osv_array(&[osv("PYSEC-1", "PyPI", "django", "4.2.1")]),
    );
    let zip_path = work.path().join("go.zip");
    write_zip(
        &zip_path,
        &[(
            "GO-1.json".into(),
            osv("GO-1", "Go", "golang.org/x/net", "0.17.0"),
        )],
    );
    let config = mirror.join("feeds.toml");
    write(
        &config,
        &format!(
            "[[feed]]\nname = \"osv-pypi\"\nurl = \"pypi.json\"\n\n[[feed]]\nname = \"osv-go\"\nurl = \"file://{}\"\n",
            zip_path.display()
        ),
    );
    let loaded = FeedsConfig::load(&config).expect("config loads");
    assert_eq!(loaded.feeds.len(), 2);
    assert_eq!(Path::new(&loaded.feeds[0].url), pypi.as_path());

    let db = work.path().join("keelhaul.db");
    let report = run(&db, &loaded.feeds, 0);
    assert_updated(&report, "osv-pypi", 1);
    assert_updated(&report, "osv-go", 1);
    assert_eq!(candidates(&db, "Go", "golang.org/x/net"), ["osv-go"]);

    let report = run(&db, &loaded.feeds, 0);
    assert_eq!(outcome(&report, "osv-pypi"), &FeedOutcome::NotModified);
    assert_eq!(outcome(&report, "osv-go"), &FeedOutcome::NotModified);

    write(
        &pypi,
        &osv_array(&[
            osv("PYSEC-1", "PyPI", "django", "4.2.1"),
            osv("PYSEC-2", "PyPI", "flask", "2.3.2"),
        ]),
    );
    set_mtime(&pypi, JUN_2024);
    let report = run(&db, &loaded.feeds, 0);
    assert_updated(&report, "osv-pypi", 2);
    assert_eq!(outcome(&report, "osv-go"), &FeedOutcome::NotModified);

    // A missing local feed fails alone.
    let gone = vec![Feed::new(
        "osv-go",
        PathBuf::from("/nonexistent/go.zip").display().to_string(),
    )];
    let report = run(&db, &gone, 0);
    assert_failed(&report, "osv-go", "cannot read the local feed");
    assert_eq!(source(&db, "osv-go").0, 1);
}

#[test]
fn config_errors_are_explained() {
    let work = tempfile::tempdir().expect("tempdir");
    let config = work.path().join("feeds.toml");
    let cases = [
        (
            "[[feed]]\nname = \"a\"\nurl = \"x.json\"\n[[feed]]\nname = \"a\"\nurl = \"y.json\"\n",
            "appears twice",
        ),
        (
            "[[feed]]\nname = \"a\"\nurl = \"ftp://example.com/x\"\n",
            "unsupported URL scheme",
        ),
        ("[[feed]]\nname = \"a\"\nulr = \"x.json\"\n", "ulr"),
        ("", "no [[feed]] entries"),
    ];
    for (text, needle) in cases {
        write(&config, text);
        let err = FeedsConfig::load(&config).expect_err(text);
        let message = err.to_string();
        assert!(message.contains(needle), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }

    let dup = vec![Feed::new("a", "x.json"), Feed::new("a", "y.json")];
    let err = update(&work.path().join("db"), &options(dup), &NoProgress).expect_err("dup");
    assert!(matches!(err, UpdateError::InvalidFeeds(_)), "{err:?}");
}

#[test]
fn default_feed_list() {
    let feeds = keelhaul_vulndb::update::default_feeds();
    let names: Vec<&str> = feeds.iter().map(|f| f.name.as_str()).collect();
    for name in [
        "osv-pypi",
        "osv-npm",
        "osv-go",
        "osv-crates.io",
        "osv-rocky-linux",
        "osv-ubuntu",
        "debian-tracker",
        "alpine-v3.18-main",
        "alpine-v3.21-community",
        "alpine-edge-main",
        "cisa-kev",
        "nvd",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert!(feeds.iter().all(|f| f.url.starts_with("https://")));
}

// ---------------------------------------------------------------------------------------
// NVD CVE API 2.0

const NVD_ROUTE: &str = "/nvd/rest/json/cves/2.0";
const NVD_OLD: &str = "2024-01-01T00:00:00.000";
const V31_HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const V31_LOW: &str = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N";

/// An API 2.0 `cve` object.
fn nvd_cve(n: u32, vector: &str, last_modified: &str) -> serde_json::Value {
    serde_json::json!({
        "id": format!("CVE-2024-{n:04}"),
        "sourceIdentifier": "cve@mitre.org",
        "published": "2024-01-01T00:00:00.000",
        "lastModified": last_modified,
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": format!("Fake vulnerability {n}.")}],
        "metrics": {"cvssMetricV31": [{
            "source": "nvd@nist.gov",
            "type": "Primary",
            "cvssData": {"version": "3.1", "vectorString": vector, "baseScore": 9.8}
        }]},
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary",
                        "description": [{"lang": "en", "value": "CWE-79"}]}]
    })
}

/// Now as NVD writes `lastModified` (UTC, no offset).
fn nvd_now() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .expect("format now")
}

/// The fake NVD's data (`cves.json`) and behaviour (`config.json`) under `served/nvd`.
fn nvd_serve(served: &Path, cves: &[serde_json::Value], config: serde_json::Value) {
    let dir = served.join("nvd");
    std::fs::create_dir_all(&dir).expect("mkdir nvd");
    write(
        &dir.join("cves.json"),
        &serde_json::Value::Array(cves.to_vec()).to_string(),
    );
    write(&dir.join("config.json"), &config.to_string());
}

/// The CVSS vectors stored for a CVE (from any source).
fn vectors(db: &Path, cve: &str) -> Vec<String> {
    let db = Database::open(db).expect("open db");
    db.enrichment(cve)
        .expect("enrichment")
        .into_iter()
        .flat_map(|e| e.cvss.into_iter().map(|c| c.vector))
        .collect()
}

fn enrichments(db: &Path, name: &str) -> u64 {
    let db = Database::open(db).expect("open db");
    db.sources()
        .expect("sources")
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.enrichments)
        .unwrap_or_else(|| panic!("no source {name}"))
}

fn assert_nvd_updated(report: &UpdateReport, enrichments: u64) {
    match outcome(report, "nvd") {
        FeedOutcome::Updated {
            enrichments: n,
            advisories,
            ..
        } => {
            assert_eq!((*n, *advisories), (enrichments, 0));
        }
        other => panic!("nvd: expected Updated, got {other:?}"),
    }
}

/// A full fetch over several pages; then an incremental one that asks only for what
/// changed since and merges it (changed CVE replaced, new one added, others kept); then
/// nothing changed at all.
#[test]
fn nvd_api_pages_then_updates_incrementally() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    let mut cves: Vec<serde_json::Value> = (1..=5).map(|n| nvd_cve(n, V31_HIGH, NVD_OLD)).collect();
    nvd_serve(&served, &cves, serde_json::json!({"max_per_page": 2}));
    let log = work.path().join("requests.log");
    let server = Server::custom(&served, &log);
    let db = work.path().join("keelhaul.db");
    let feeds = vec![Feed::new("nvd", server.url("nvd/rest/json/cves/2.0"))];
    let mut opts = options(feeds);
    opts.nvd_api_key = Some(String::from("test-key"));

    // Full fetch: 5 CVEs at (at most) 2 a page.
    let progress = Recorder::default();
    let report = update(&db, &opts, &progress).expect("first update");
    assert_nvd_updated(&report, 5);
    let seen = requests_to(&log, NVD_ROUTE);
    let starts: Vec<&str> = seen
        .iter()
        .map(|r| r["query"]["startIndex"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(starts, ["0", "2", "4"]);
    for r in &seen {
        assert_eq!(r["query"]["resultsPerPage"], "2000");
        assert!(r["query"]["lastModStartDate"].is_null(), "{r}");
        assert_eq!(r["api_key"], "test-key");
    }
    assert!(progress.has("start nvd None"));
    assert!(progress.has("finish nvd updated"));
    assert!(*progress.bytes.lock().expect("lock") > 0);
    match outcome(&report, "nvd") {
        FeedOutcome::Updated { bytes, .. } => {
            assert_eq!(*bytes, *progress.bytes.lock().expect("lock"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(enrichments(&db, "nvd"), 5);
    assert_eq!(vectors(&db, "CVE-2024-0002"), [V31_HIGH]);
    let (_, _, etag, fetched_at) = source(&db, "nvd");
    assert_eq!(etag, None);
    let fetched_at = fetched_at.expect("fetch time stored");
    let first_fetch =
        time::OffsetDateTime::parse(&fetched_at, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
    assert_eq!(first_fetch.offset(), time::UtcOffset::UTC);

    // NVD changes: CVE-2024-0002 rescored, CVE-2024-0006 published.
    let now = nvd_now();
    cves[1] = nvd_cve(2, V31_LOW, &now);
    cves.push(nvd_cve(6, V31_HIGH, &now));
    nvd_serve(&served, &cves, serde_json::json!({"max_per_page": 2}));
    let report = update(&db, &opts, &NoProgress).expect("second update");
    assert_nvd_updated(&report, 6);
    let seen = requests_to(&log, NVD_ROUTE);
    assert_eq!(seen.len(), 4, "the 2 changes fit one page");
    let incremental = &seen[3]["query"];
    assert_eq!(incremental["startIndex"], "0");
    let since = incremental["lastModStartDate"]
        .as_str()
        .expect("lastModStartDate sent");
    let until = incremental["lastModEndDate"]
        .as_str()
        .expect("lastModEndDate sent");
    let parse_nvd = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    };
    assert_eq!(
        parse_nvd(since),
        first_fetch,
        "starts where the last fetch did"
    );
    assert!(parse_nvd(until) > first_fetch);
    assert_eq!(enrichments(&db, "nvd"), 6);
    assert_eq!(
        vectors(&db, "CVE-2024-0002"),
        [V31_LOW],
        "changed CVE replaced"
    );
    assert_eq!(
        vectors(&db, "CVE-2024-0001"),
        [V31_HIGH],
        "unchanged CVE kept"
    );
    assert_eq!(vectors(&db, "CVE-2024-0005"), [V31_HIGH]);
    assert_eq!(vectors(&db, "CVE-2024-0006"), [V31_HIGH], "new CVE added");
    let (_, _, _, second_fetch) = source(&db, "nvd");
    let second_fetch = parse_nvd(&second_fetch.expect("fetch time stored"));
    assert_eq!(second_fetch, parse_nvd(until));

    // Nothing changed since: one request, NotModified, nothing rewritten.
    let (_, imported_at, _, _) = source(&db, "nvd");
    let progress = Recorder::default();
    let report = update(&db, &opts, &progress).expect("third update");
    assert_eq!(outcome(&report, "nvd"), &FeedOutcome::NotModified);
    assert!(progress.has("finish nvd not-modified"));
    let seen = requests_to(&log, NVD_ROUTE);
    assert_eq!(seen.len(), 5);
    assert!(seen[4]["query"]["lastModStartDate"].is_string());
    assert_eq!(source(&db, "nvd").1, imported_at);
    assert_eq!(enrichments(&db, "nvd"), 6);

    // A last fetch longer ago than NVD's 120-day range: everything again.
    {
        let conn = rusqlite::Connection::open(&db).expect("open sqlite");
        conn.execute(
            "UPDATE sources SET last_modified = '2020-01-01T00:00:00Z' WHERE name = 'nvd'",
            [],
        )
        .expect("age the source");
    }
    let report = update(&db, &opts, &NoProgress).expect("fourth update");
    assert_nvd_updated(&report, 6);
    let seen = requests_to(&log, NVD_ROUTE);
    assert_eq!(seen.len(), 8, "three full pages");
    assert!(
        seen[5..]
            .iter()
            .all(|r| r["query"]["lastModStartDate"].is_null())
    );
    integrity_ok(&db);
}

/// NVD throttles with 403: retried (403 is not retried for other feeds). A page that
/// keeps failing fails the feed and keeps the previous NVD data.
#[test]
fn nvd_api_throttling_and_failing_pages() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    let mut cves: Vec<serde_json::Value> = (1..=5).map(|n| nvd_cve(n, V31_HIGH, NVD_OLD)).collect();
    nvd_serve(
        &served,
        &cves,
        serde_json::json!({"max_per_page": 2, "throttle": 1}),
    );
    let log = work.path().join("requests.log");
    let server = Server::custom(&served, &log);
    let db = work.path().join("keelhaul.db");
    let feeds = [Feed::new("nvd", server.url("nvd/rest/json/cves/2.0"))];

    let report = run(&db, &feeds, 2);
    assert_nvd_updated(&report, 5);
    let seen = requests_to(&log, NVD_ROUTE);
    assert_eq!(seen.len(), 4, "one 403, then three pages");
    assert_eq!(seen[0]["query"]["startIndex"], "0");
    assert_eq!(
        seen[1]["query"]["startIndex"], "0",
        "the throttled page again"
    );
    assert!(seen.iter().all(|r| r["api_key"].is_null()));

    // Out of retries on a 403: failed, with a hint about the API key.
    std::fs::write(
        served.join("nvd/config.json"),
        r#"{"max_per_page": 2, "throttle": 100}"#,
    )
    .expect("config");
    // (the server counts requests across configs: 4 seen so far, so all of these are 403)
    let report = run(&db, &feeds, 1);
    assert_failed(&report, "nvd", "403");
    assert_failed(&report, "nvd", "NVD_API_KEY");
    assert_eq!(requests_to(&log, NVD_ROUTE).len(), 6);

    // A plain download's 403 is not retried.
    write(&served.join("x.json"), "[]");
    let other = [Feed::new("other", server.url("status/403/x.json"))];
    let report = run(&db, &other, 3);
    assert_failed(&report, "other", "403");
    assert_eq!(requests(&log, "/status/403/x.json").len(), 1);

    // Three changed CVEs (two pages); the second page keeps failing.
    let now = nvd_now();
    for n in [0, 2, 4] {
        cves[n] = nvd_cve(n as u32 + 1, V31_LOW, &now);
    }
    nvd_serve(
        &served,
        &cves,
        serde_json::json!({"max_per_page": 2, "fail_start_index": 2}),
    );
    let (_, imported_at, _, fetched_at) = source(&db, "nvd");
    let progress = Recorder::default();
    let mut opts = options(feeds.to_vec());
    opts.retries = 1;
    let report = update(&db, &opts, &progress).expect("update runs");
    assert_failed(&report, "nvd", "500");
    assert!(progress.has("finish nvd failed"));
    let seen = requests_to(&log, NVD_ROUTE);
    let tail: Vec<&str> = seen[6..]
        .iter()
        .map(|r| r["query"]["startIndex"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        tail,
        ["0", "2", "2"],
        "first page, then the failing one retried once"
    );
    assert!(seen[6]["query"]["lastModStartDate"].is_string());
    let (_, at, _, lm) = source(&db, "nvd");
    assert_eq!(
        (at, lm),
        (imported_at, fetched_at.clone()),
        "source untouched"
    );
    assert_eq!(enrichments(&db, "nvd"), 5);
    assert_eq!(vectors(&db, "CVE-2024-0001"), [V31_HIGH], "old data kept");

    // Fixed: the same range is asked for again, and merged.
    nvd_serve(&served, &cves, serde_json::json!({"max_per_page": 2}));
    let report = run(&db, &feeds, 0);
    assert_nvd_updated(&report, 5);
    let seen = requests_to(&log, NVD_ROUTE);
    assert_eq!(seen.len(), 11);
    let since = seen[9]["query"]["lastModStartDate"].as_str().unwrap_or("");
    assert_eq!(
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339).ok(),
        fetched_at
            .as_deref()
            .and_then(|f| time::OffsetDateTime::parse(
                f,
                &time::format_description::well_known::Rfc3339
            )
            .ok())
    );
    assert_eq!(vectors(&db, "CVE-2024-0001"), [V31_LOW]);
    assert_eq!(vectors(&db, "CVE-2024-0002"), [V31_HIGH]);
    assert_eq!(vectors(&db, "CVE-2024-0005"), [V31_LOW]);
    integrity_ok(&db);
}

/// `kind = "nvd-api"` in a feeds config makes any http(s) URL an NVD API feed.
#[test]
fn nvd_api_kind_from_config() {
    if !python_available() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let served = work.path().join("www");
    let cves: Vec<serde_json::Value> = (1..=3).map(|n| nvd_cve(n, V31_HIGH, NVD_OLD)).collect();
    nvd_serve(&served, &cves, serde_json::json!({"max_per_page": 2}));
    let log = work.path().join("requests.log");
    let server = Server::custom(&served, &log);
    let config = work.path().join("feeds.toml");
    // The URL would be inferred as NVD anyway; an explicit `kind` must parse and win.
    write(
        &config,
        &format!(
            "[[feed]]\nname = \"nvd\"\nurl = \"{}\"\nkind = \"nvd-api\"\n",
            server.url("nvd/rest/json/cves/2.0")
        ),
    );
    let loaded = FeedsConfig::load(&config).expect("config loads");
    assert_eq!(loaded.feeds[0].kind, Some(FeedKind::NvdApi));
    let db = work.path().join("keelhaul.db");
    assert_nvd_updated(&run(&db, &loaded.feeds, 0), 3);
    assert_eq!(requests_to(&log, NVD_ROUTE).len(), 2);

    // Forced to a plain download, the same URL is one GET (of the first page only).
    let plain =
        [Feed::new("nvd", server.url("nvd/rest/json/cves/2.0")).with_kind(FeedKind::Download)];
    let report = run(&db, &plain, 0);
    assert_nvd_updated(&report, 2);
    let seen = requests_to(&log, NVD_ROUTE);
    assert_eq!(seen.len(), 3);
    assert!(seen[2]["query"]["startIndex"].is_null());
}
