//! `keelhaul db update`: download the published feeds and replace their sources in the
//! database.
//!
//! Every [`Feed`] is one download and one source in the database (named after the feed).
//! An update runs in three phases:
//!
//! 1. **Download** every feed (a few at a time) into a temporary directory next to the
//!    database, streaming to disk. Requests are conditional (`If-None-Match` /
//!    `If-Modified-Since` from the validators stored with the source), so an unchanged
//!    feed costs one round trip and is left alone. Connection errors, timeouts, `429` and
//!    `5xx` answers are retried with exponential backoff (honouring `Retry-After`).
//! 2. **Parse** each download with [`crate::import::load`], the same code `db import`
//!    uses, so every format keelhaul reads can be a feed.
//! 3. **Write** all updated sources with one [`Database::replace_sources`] call: one
//!    SQLite transaction, so a crash or kill leaves the previous database as it was.
//!
//! A feed that fails (unreachable, HTTP error, unreadable, or suddenly empty — a captive
//! portal's HTML page looks like that) keeps its previous data; the others are still
//! updated and the failure is reported per feed ([`FeedOutcome::Failed`]).
//!
//! Feeds can also be local files or directories (`file://` URLs or plain paths), which is
//! how mirrors and air-gapped setups plug in: see [`FeedsConfig`].
//!
//! The NVD CVE API ([`FeedKind::NvdApi`]) is the exception to "one download": it is paged,
//! rate-limited and fetched incrementally; see [`default_feeds`].
//!
//! Memory: parsed sources are held until the final write (that is what makes the update
//! all-or-nothing per run), so peak memory grows with the feeds selected.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use serde::{Deserialize, Serialize};

use crate::db::{Database, DbError, SourceData, SourceInfo};
use crate::model::Enrichment;

/// The environment variable naming a feeds config file ([`FeedsConfig`]) that replaces the
/// default feed list.
pub const FEEDS_ENV: &str = "KEELHAUL_FEEDS";

/// The environment variable holding an NVD API key (sent as the `apiKey` header to
/// [`FeedKind::NvdApi`] feeds; it raises NVD's rate limit from 5 to 50 requests per 30 s).
/// Read by [`UpdateOptions::default`].
pub const NVD_API_KEY_ENV: &str = "NVD_API_KEY";

/// The NVD CVE API 2.0 endpoint (the `nvd` default feed).
pub const NVD_API_URL: &str = "https://services.nvd.nist.gov/rest/json/cves/2.0";

/// How a URL's path ends when it is an NVD CVE API 2.0 endpoint (or a mirror of one):
/// such feeds are [`FeedKind::NvdApi`] unless configured otherwise.
pub const NVD_API_PATH_SUFFIX: &str = "/rest/json/cves/2.0";

/// CVEs asked for per NVD API request (the API's maximum).
pub const NVD_RESULTS_PER_PAGE: u64 = 2000;

/// The longest `lastModStartDate`…`lastModEndDate` range the NVD API accepts; a source last
/// fetched longer ago than this is fetched in full again.
pub const NVD_MAX_WINDOW: Duration = Duration::from_secs(120 * 24 * 60 * 60);

/// Spacing between NVD API requests without an API key (NVD allows 5 per rolling 30 s).
pub const NVD_INTERVAL_WITHOUT_KEY: Duration = Duration::from_secs(6);

/// Spacing between NVD API requests with an API key (NVD allows 50 per rolling 30 s).
pub const NVD_INTERVAL_WITH_KEY: Duration = Duration::from_millis(600);

/// Pages of one NVD fetch beyond which the server is assumed to be looping (the full
/// NVD is about 150 pages of 2 000).
const NVD_MAX_PAGES: usize = 10_000;

/// OSV ecosystems downloaded by default, as OSV spells them (and names its export
/// directories).
pub const OSV_ECOSYSTEMS: &[&str] = &[
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
    "RubyGems",
    "Packagist",
    "NuGet",
    "Pub",
    "Hex",
    "SwiftURL",
    "Debian",
    "Alpine",
    "AlmaLinux",
    "Rocky Linux",
    "Ubuntu",
];

/// Alpine secdb branches downloaded by default (the supported releases and edge).
pub const ALPINE_BRANCHES: &[&str] = &["v3.18", "v3.19", "v3.20", "v3.21", "edge"];

/// Alpine secdb repositories downloaded for each branch.
pub const ALPINE_REPOSITORIES: &[&str] = &["main", "community"];

const OSV_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";
const DEBIAN_TRACKER_URL: &str = "https://security-tracker.debian.org/tracker/data/json";
const ALPINE_SECDB_BASE: &str = "https://secdb.alpinelinux.org";
const CISA_KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";

/// The longest single wait between retries (backoff or `Retry-After`): a server asking for
/// more is asked again after this anyway rather than stalling the update for hours.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);
/// Backoff doubling stops here.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A download larger than this is refused (no published feed is near it; an endless
/// stream would otherwise fill the disk).
pub const MAX_DOWNLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// How a feed is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedKind {
    /// One download (conditional, retried), or a local file or directory read in place.
    /// In a feeds config: `kind = "download"`.
    Download,
    /// The NVD CVE API 2.0 (or a mirror of it): paged, rate-limited, incremental; see
    /// [`default_feeds`]. Needs an `http(s)` URL. In a feeds config: `kind = "nvd-api"`.
    NvdApi,
}

/// One feed: one download (or, for the NVD API, one paged fetch), one source in the
/// database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// The source name in the database (`osv-pypi`, `debian-tracker`, …).
    pub name: String,
    /// `http(s)://…`, `file://…`, or a plain local path (a file or directory in any format
    /// `keelhaul db import` reads).
    pub url: String,
    /// How to fetch it; `None` infers it from the URL (see [`Feed::kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FeedKind>,
}

impl Feed {
    /// A feed whose kind is inferred from its URL.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Feed {
        Feed {
            name: name.into(),
            url: url.into(),
            kind: None,
        }
    }

    /// The same feed with its kind set explicitly.
    pub fn with_kind(self, kind: FeedKind) -> Feed {
        Feed {
            kind: Some(kind),
            ..self
        }
    }

    /// How the feed is fetched: the `kind` field when set, else
    /// [`FeedKind::NvdApi`] for an `http(s)` URL whose path ends with
    /// [`NVD_API_PATH_SUFFIX`] (a trailing `/` allowed), else [`FeedKind::Download`].
    pub fn kind(&self) -> FeedKind {
        if let Some(kind) = self.kind {
            return kind;
        }
        match self.location() {
            Ok(Location::Http(url))
                if url
                    .path()
                    .trim_end_matches('/')
                    .ends_with(NVD_API_PATH_SUFFIX) =>
            {
                FeedKind::NvdApi
            }
            _ => FeedKind::Download,
        }
    }

    /// Where the feed is fetched from, or why its URL is unusable.
    fn location(&self) -> Result<Location, String> {
        let url = self.url.trim();
        if url.is_empty() {
            return Err(String::from("the feed has an empty url"));
        }
        if !url.contains("://") {
            return Ok(Location::Local(PathBuf::from(url)));
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL {url:?}: {e}"))?;
        match parsed.scheme() {
            "http" | "https" => Ok(Location::Http(parsed)),
            "file" => parsed
                .to_file_path()
                .map(Location::Local)
                .map_err(|()| format!("{url:?} is not a local file path")),
            other => Err(format!(
                "unsupported URL scheme {other:?} in {url:?}; use http(s)://, file:// or a plain path"
            )),
        }
    }
}

enum Location {
    Http(reqwest::Url),
    Local(PathBuf),
}

/// The feeds `keelhaul db update` downloads when not configured otherwise:
///
/// * OSV's per-ecosystem exports, `https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip`
///   for every ecosystem in [`OSV_ECOSYSTEMS`], named `osv-<ecosystem>` (lowercased,
///   spaces → `-`: `osv-pypi`, `osv-crates.io`, `osv-rocky-linux`);
/// * the Debian security tracker JSON (`debian-tracker`);
/// * Alpine secdb, `main` and `community` for each branch in [`ALPINE_BRANCHES`]
///   (`alpine-v3.20-main`, `alpine-edge-community`, …);
/// * the CISA Known Exploited Vulnerabilities catalog (`cisa-kev`, enrichment);
/// * the NVD CVE API 2.0, [`NVD_API_URL`] (`nvd`, enrichment: CVSS vectors, CWEs,
///   summaries).
///
/// NVD is not one download but a paged, rate-limited API ([`FeedKind::NvdApi`]):
///
/// * **Paging**: requests ask for `resultsPerPage=2000&startIndex=N`, N advancing by the
///   `resultsPerPage` each answer reports, until `startIndex + resultsPerPage >=
///   totalResults`. Every page is saved as its own file (`page-00000.json`, …) and the
///   directory is read like any other feed. A page that fails (after retries) fails the
///   feed, and the previous NVD data is kept.
/// * **Rate limits**: NVD allows 5 requests per rolling 30 s without an API key and 50
///   with one, so requests are spaced 6 s (or 0.6 s) apart
///   ([`UpdateOptions::nvd_request_interval`]). A key is read from `$NVD_API_KEY`
///   ([`UpdateOptions::nvd_api_key`]) and sent as the `apiKey` header; request one at
///   <https://nvd.nist.gov/developers/request-an-api-key>. NVD throttles with `403`, `429`
///   or `503`: all three are retried like other transient errors (`403` for NVD feeds
///   only).
/// * **Incremental updates**: the time each fetch started is stored as the source's
///   `last_modified` (RFC 3339, UTC). When the source is in the database (from the same
///   URL) and that time is less than 120 days ago (the API's longest range), only CVEs
///   modified since are asked for (`lastModStartDate` / `lastModEndDate`) and merged with
///   the stored records, new ones replacing old ones of the same CVE. No change at all is
///   [`FeedOutcome::NotModified`]. Otherwise the whole NVD is fetched: about 150 pages,
///   some 15 minutes without an API key.
pub fn default_feeds() -> Vec<Feed> {
    let mut feeds = Vec::new();
    for ecosystem in OSV_ECOSYSTEMS {
        feeds.push(Feed::new(
            format!("osv-{}", ecosystem.to_lowercase().replace(' ', "-")),
            format!("{OSV_BASE}/{}/all.zip", ecosystem.replace(' ', "%20")),
        ));
    }
    feeds.push(Feed::new("debian-tracker", DEBIAN_TRACKER_URL));
    for branch in ALPINE_BRANCHES {
        for repo in ALPINE_REPOSITORIES {
            feeds.push(Feed::new(
                format!("alpine-{branch}-{repo}"),
                format!("{ALPINE_SECDB_BASE}/{branch}/{repo}.json"),
            ));
        }
    }
    feeds.push(Feed::new("cisa-kev", CISA_KEV_URL));
    feeds.push(Feed::new("nvd", NVD_API_URL));
    feeds
}

/// A feed list from a TOML file, replacing the defaults (for mirrors, air-gapped setups,
/// or a smaller selection):
///
/// ```toml
/// [[feed]]
/// name = "osv-pypi"
/// url = "https://mirror.example.com/osv/PyPI/all.zip"
///
/// [[feed]]
/// name = "local-osv"
/// url = "feeds/osv-go.zip"   # a plain path: relative to this file's directory
///
/// [[feed]]
/// name = "nvd"
/// url = "https://nvd-mirror.example.com/api/cves"
/// kind = "nvd-api"   # optional; inferred for URLs ending in /rest/json/cves/2.0
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedsConfig {
    /// The feeds, in file order.
    pub feeds: Vec<Feed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedsFile {
    #[serde(default)]
    feed: Vec<Feed>,
}

impl FeedsConfig {
    /// Reads a feeds config file. Plain relative paths in `url` are resolved against the
    /// file's directory.
    pub fn load(path: &Path) -> Result<FeedsConfig, UpdateError> {
        let config_error = |reason: String| UpdateError::Config {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| config_error(e.to_string()))?;
        let file: FeedsFile = toml::from_str(&text).map_err(|e| config_error(e.to_string()))?;
        if file.feed.is_empty() {
            return Err(config_error(String::from("no [[feed]] entries")));
        }
        let base = path.parent().unwrap_or(Path::new(""));
        let mut feeds = Vec::with_capacity(file.feed.len());
        for mut feed in file.feed {
            if let Ok(Location::Local(local)) = feed.location()
                && !feed.url.contains("://")
                && local.is_relative()
            {
                feed.url = base.join(local).to_string_lossy().into_owned();
            }
            feeds.push(feed);
        }
        check_feeds(&feeds).map_err(config_error)?;
        Ok(FeedsConfig { feeds })
    }

    /// The config named by `$KEELHAUL_FEEDS`, if set (and non-empty).
    pub fn from_env() -> Result<Option<FeedsConfig>, UpdateError> {
        match std::env::var_os(FEEDS_ENV).filter(|v| !v.is_empty()) {
            Some(path) => FeedsConfig::load(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }
}

/// The feeds to use: `$KEELHAUL_FEEDS`'s config when set, else [`default_feeds`].
pub fn configured_feeds() -> Result<Vec<Feed>, UpdateError> {
    Ok(FeedsConfig::from_env()?.map_or_else(default_feeds, |c| c.feeds))
}

/// Names must be non-empty and unique (each is one source), URLs usable.
fn check_feeds(feeds: &[Feed]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for feed in feeds {
        if feed.name.trim().is_empty() {
            return Err(format!(
                "the feed with url {:?} has an empty name",
                feed.url
            ));
        }
        if !seen.insert(feed.name.as_str()) {
            return Err(format!(
                "feed name {:?} appears twice; each feed needs its own name (it is the source's name in the database)",
                feed.name
            ));
        }
        let location = feed
            .location()
            .map_err(|e| format!("feed {:?}: {e}", feed.name))?;
        if feed.kind() == FeedKind::NvdApi && !matches!(location, Location::Http(_)) {
            return Err(format!(
                "feed {:?} has kind \"nvd-api\" but url {:?} is not http(s)://; a local copy of NVD API pages is read with the default kind (remove `kind`)",
                feed.name, feed.url
            ));
        }
    }
    Ok(())
}

/// How to update.
#[derive(Clone)]
pub struct UpdateOptions {
    /// The feeds to fetch (see [`configured_feeds`]).
    pub feeds: Vec<Feed>,
    /// Limit for connecting and for each read while downloading (not for a whole
    /// download: large feeds on slow links are fine as long as bytes keep coming).
    pub timeout: Duration,
    /// Extra attempts after a connection error, timeout, `429` or `5xx`.
    pub retries: u32,
    /// The first backoff delay; doubled on every retry (up to a minute) unless the server
    /// sends `Retry-After`.
    pub retry_delay: Duration,
    /// Downloads running at once (at least 1).
    pub concurrency: usize,
    /// When no feed can be reached at all: `false` makes [`update`] fail with
    /// [`UpdateError::Offline`] (what `keelhaul db update` wants); `true` returns the report
    /// with every feed [`FeedOutcome::Failed`] and the database untouched (what an
    /// opportunistic update before a scan wants).
    pub offline_ok: bool,
    /// The NVD API key, sent as the `apiKey` header to [`FeedKind::NvdApi`] feeds. The
    /// default reads [`NVD_API_KEY_ENV`] (`$NVD_API_KEY`; empty counts as unset).
    pub nvd_api_key: Option<String>,
    /// The least time between two requests to [`FeedKind::NvdApi`] feeds (all of them
    /// together, retries included). `None` picks it by key presence:
    /// [`NVD_INTERVAL_WITHOUT_KEY`] (6 s) without [`UpdateOptions::nvd_api_key`],
    /// [`NVD_INTERVAL_WITH_KEY`] (0.6 s) with one.
    pub nvd_request_interval: Option<Duration>,
}

impl UpdateOptions {
    /// The spacing between NVD API requests in effect (see
    /// [`UpdateOptions::nvd_request_interval`]).
    pub fn nvd_interval(&self) -> Duration {
        self.nvd_request_interval
            .unwrap_or(if self.nvd_api_key.is_some() {
                NVD_INTERVAL_WITH_KEY
            } else {
                NVD_INTERVAL_WITHOUT_KEY
            })
    }
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            feeds: default_feeds(),
            timeout: Duration::from_secs(60),
            retries: 3,
            retry_delay: Duration::from_secs(2),
            concurrency: 4,
            offline_ok: false,
            nvd_api_key: std::env::var(NVD_API_KEY_ENV)
                .ok()
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty()),
            nvd_request_interval: None,
        }
    }
}

/// Like a derived `Debug`, but the API key is not printed.
impl std::fmt::Debug for UpdateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateOptions")
            .field("feeds", &self.feeds)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_delay", &self.retry_delay)
            .field("concurrency", &self.concurrency)
            .field("offline_ok", &self.offline_ok)
            .field(
                "nvd_api_key",
                &self.nvd_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("nvd_request_interval", &self.nvd_request_interval)
            .finish()
    }
}

/// Progress callbacks; called from download threads, hence `Sync`.
pub trait UpdateProgress: Sync {
    /// A feed's download starts, `total` bytes if the server says. Called again if a
    /// download is retried (counting restarts from zero).
    fn start(&self, feed: &str, total: Option<u64>);
    /// `bytes` more bytes of a feed arrived.
    fn advance(&self, feed: &str, bytes: u64);
    /// A feed is done: downloaded and parsed (and written by the end of [`update`],
    /// unless writing the database fails), not modified, or failed.
    fn finish(&self, feed: &str, outcome: &FeedOutcome);
    /// Every feed is done; `sources` updated sources are being written (one transaction;
    /// can take a while for large feeds).
    fn writing(&self, sources: usize) {
        let _ = sources;
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl UpdateProgress for NoProgress {
    fn start(&self, _feed: &str, _total: Option<u64>) {}
    fn advance(&self, _feed: &str, _bytes: u64) {}
    fn finish(&self, _feed: &str, _outcome: &FeedOutcome) {}
}

/// What happened to one feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum FeedOutcome {
    /// New data, replacing the source's previous records.
    Updated {
        /// Advisories now stored for the source.
        advisories: u64,
        /// Enrichment records now stored.
        enrichments: u64,
        /// Bytes downloaded (or the local file's size).
        bytes: u64,
    },
    /// The server (or local file) says nothing changed; the source was left as it was.
    NotModified,
    /// The feed could not be updated; its previous data (if any) is kept. The message says
    /// why and what to do.
    Failed(String),
}

impl FeedOutcome {
    fn failed(reason: impl Into<String>) -> FeedOutcome {
        FeedOutcome::Failed(reason.into())
    }
}

/// One feed's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct FeedReport {
    /// The feed (source) name.
    pub name: String,
    /// Where it was fetched from.
    pub url: String,
    /// What happened.
    pub outcome: FeedOutcome,
    /// Files inside the feed that could not be read (the rest was imported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What an update did, per feed, in the order of [`UpdateOptions::feeds`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateReport {
    /// One entry per feed.
    pub feeds: Vec<FeedReport>,
}

impl UpdateReport {
    /// Feeds that failed (their previous data was kept).
    pub fn failed(&self) -> impl Iterator<Item = &FeedReport> {
        self.feeds
            .iter()
            .filter(|f| matches!(f.outcome, FeedOutcome::Failed(_)))
    }

    /// Feeds whose sources were replaced.
    pub fn updated(&self) -> impl Iterator<Item = &FeedReport> {
        self.feeds
            .iter()
            .filter(|f| matches!(f.outcome, FeedOutcome::Updated { .. }))
    }

    /// Whether every feed is now current (updated or not modified).
    pub fn is_complete(&self) -> bool {
        self.failed().next().is_none()
    }

    /// The outcome of the named feed.
    pub fn outcome(&self, feed: &str) -> Option<&FeedOutcome> {
        self.feeds
            .iter()
            .find(|f| f.name == feed)
            .map(|f| &f.outcome)
    }
}

/// Why an update did not run (per-feed failures are in the [`UpdateReport`] instead).
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No feed could be reached (and [`UpdateOptions::offline_ok`] is off).
    #[error(
        "cannot reach any vulnerability feed ({reason}); the database was left as it was\n  hint: check the network or proxy (HTTPS_PROXY), or point {FEEDS_ENV} at a feeds config listing reachable mirrors; to build a database offline, download the feeds elsewhere and `keelhaul db import` them, or `keelhaul db export` on a connected machine and import that file here"
    )]
    Offline {
        /// The first feed's error.
        reason: String,
    },
    /// A feeds config file is unreadable or wrong.
    #[error(
        "feeds config {path}: {reason}\n  hint: the file lists `[[feed]]` tables, each with `name = \"…\"` and `url = \"https://…\"` (or `file://…`, or a plain path)"
    )]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The feed list passed in is unusable.
    #[error("invalid feed list: {0}")]
    InvalidFeeds(String),
    /// The database has another schema version; updating cannot fix that in place.
    #[error(
        "the vulnerability database {path} has schema version {found}, this keelhaul writes version {expected}\n  hint: remove {path} and run `keelhaul db update` again to rebuild it (sources added with `keelhaul db import` need importing again)"
    )]
    OutdatedDb {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        expected: i64,
    },
    /// Reading or writing the database failed.
    #[error(transparent)]
    Db(DbError),
    /// The download directory next to the database could not be made.
    #[error(
        "cannot create a download directory {path}: {source}\n  hint: downloads go next to the database; make its directory writable, or pass `--db` with a writable location"
    )]
    TempDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The HTTP client could not be set up (TLS initialisation).
    #[error("cannot set up HTTPS downloads: {0}")]
    Client(String),
}

impl From<DbError> for UpdateError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Schema {
                path,
                found,
                expected,
            } => UpdateError::OutdatedDb {
                path,
                found,
                expected,
            },
            other => UpdateError::Db(other),
        }
    }
}

/// Downloads every feed in `options` and replaces their sources in the database at
/// `db_path` (created when absent) in one transaction. Feeds that fail keep their previous
/// data and are reported as [`FeedOutcome::Failed`]; the others are still updated.
pub fn update(
    db_path: &Path,
    options: &UpdateOptions,
    progress: &dyn UpdateProgress,
) -> Result<UpdateReport, UpdateError> {
    check_feeds(&options.feeds).map_err(UpdateError::InvalidFeeds)?;
    if options.feeds.is_empty() {
        return Ok(UpdateReport::default());
    }

    // Validators and record counts of what is stored now. No database yet → nothing
    // stored; it is created only when there is something to write.
    let stored: HashMap<String, SourceInfo> = if db_path.exists() {
        Database::open(db_path)?
            .sources()?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect()
    } else {
        HashMap::new()
    };

    let tmp = TempDir::next_to(db_path)?;
    let client = if options
        .feeds
        .iter()
        .any(|f| matches!(f.location(), Ok(Location::Http(_))))
    {
        Some(build_client(options)?)
    } else {
        None
    };

    // Phase 1: downloads.
    let fetched = fetch_all(options, client.as_ref(), &stored, &tmp.path, progress);

    // Phase 2: parse, one feed at a time (each load is parallel inside), so only one
    // feed's raw files are in memory at once.
    let mut report = UpdateReport::default();
    let mut to_write: Vec<SourceData> = Vec::new();
    let mut unreachable = 0usize;
    for (feed, result) in options.feeds.iter().zip(fetched) {
        let mut warnings = Vec::new();
        let outcome = match result {
            Err(e) => {
                if e.unreachable {
                    unreachable += 1;
                }
                tracing::warn!(feed = %feed.name, "update failed: {}", e.message);
                FeedOutcome::failed(e.message)
            }
            Ok(Fetched::NotModified) => FeedOutcome::NotModified,
            Ok(Fetched::File(file)) => {
                let (mut outcome, mut source, w) = parse(feed, &file, stored.get(&feed.name));
                warnings = w;
                if file.temporary {
                    // Free the disk space before the next feed is read.
                    let _ = if file.path.is_dir() {
                        std::fs::remove_dir_all(&file.path)
                    } else {
                        std::fs::remove_file(&file.path)
                    };
                }
                if file.incremental
                    && let Some(new) = source.as_mut()
                {
                    match merge_stored_enrichments(db_path, &feed.name, new) {
                        Ok(()) => {
                            if let FeedOutcome::Updated { enrichments, .. } = &mut outcome {
                                *enrichments = new.enrichments.len() as u64;
                            }
                        }
                        Err(reason) => {
                            outcome = FeedOutcome::failed(format!(
                                "cannot merge the changes with the stored records: {reason}; keeping the previous data"
                            ));
                            source = None;
                        }
                    }
                }
                if let Some(source) = source {
                    to_write.push(source);
                }
                progress.finish(&feed.name, &outcome);
                outcome
            }
        };
        report.feeds.push(FeedReport {
            name: feed.name.clone(),
            url: feed.url.clone(),
            outcome,
            warnings,
        });
    }
    drop(tmp);

    if !options.offline_ok && unreachable > 0 && unreachable == report.feeds.len() {
        let reason = report
            .failed()
            .next()
            .and_then(|f| match &f.outcome {
                FeedOutcome::Failed(reason) => Some(reason.clone()),
                _ => None,
            })
            .unwrap_or_default();
        return Err(UpdateError::Offline { reason });
    }

    // Phase 3: one transaction for everything that changed.
    if !to_write.is_empty() {
        progress.writing(to_write.len());
        let mut db = Database::open_for_write(db_path)?;
        db.replace_sources(&to_write)?;
        tracing::info!(sources = to_write.len(), db = %db_path.display(), "database updated");
    }
    Ok(report)
}

/// A download on disk (or a local feed's own path, or a directory of NVD API pages), with
/// the validators to store.
struct FetchedFile {
    path: PathBuf,
    temporary: bool,
    bytes: u64,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
    /// Only the changes since the last update: merge them into the stored enrichment
    /// records instead of replacing those.
    incremental: bool,
}

enum Fetched {
    NotModified,
    File(FetchedFile),
}

struct FetchError {
    message: String,
    /// The server was never reached (connection refused, DNS, connect timeout).
    unreachable: bool,
}

impl FetchError {
    fn new(message: impl Into<String>) -> FetchError {
        FetchError {
            message: message.into(),
            unreachable: false,
        }
    }
}

/// One attempt's failure: worth another try (with an optional server-requested wait) or
/// not.
enum AttemptError {
    Retry(FetchError, Option<Duration>),
    Fatal(FetchError),
}

fn build_client(options: &UpdateOptions) -> Result<reqwest::blocking::Client, UpdateError> {
    reqwest::blocking::Client::builder()
        .user_agent(concat!("keelhaul/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(options.timeout)
        // In the blocking client this bounds sending and each read, not the whole body.
        .timeout(options.timeout)
        .build()
        .map_err(|e| UpdateError::Client(error_chain(&e)))
}

/// Downloads every feed with up to `concurrency` threads; results in feed order.
fn fetch_all(
    options: &UpdateOptions,
    client: Option<&reqwest::blocking::Client>,
    stored: &HashMap<String, SourceInfo>,
    tmp: &Path,
    progress: &dyn UpdateProgress,
) -> Vec<Result<Fetched, FetchError>> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let feeds = &options.feeds;
    let pacer = Pacer::new(options.nvd_interval());
    let pacer = &pacer;
    let next = AtomicUsize::new(0);
    let workers = options.concurrency.clamp(1, feeds.len().max(1));
    let mut results: Vec<Option<Result<Fetched, FetchError>>> =
        feeds.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(feed) = feeds.get(i) else { break };
                        let dest_dir = tmp.join(format!("{i}-{}", sanitize(&feed.name)));
                        let result = fetch(
                            feed,
                            client,
                            stored.get(&feed.name),
                            &dest_dir,
                            options,
                            pacer,
                            progress,
                        );
                        // Outcomes known now are reported now; downloads finish after
                        // parsing.
                        match &result {
                            Ok(Fetched::NotModified) => {
                                progress.finish(&feed.name, &FeedOutcome::NotModified)
                            }
                            Err(e) => {
                                progress.finish(&feed.name, &FeedOutcome::failed(e.message.clone()))
                            }
                            Ok(Fetched::File(_)) => {}
                        }
                        done.push((i, result));
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (i, result) in done {
                        results[i] = Some(result);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(FetchError::new("download did not run"))))
        .collect()
}

fn fetch(
    feed: &Feed,
    client: Option<&reqwest::blocking::Client>,
    stored: Option<&SourceInfo>,
    dest_dir: &Path,
    options: &UpdateOptions,
    pacer: &Pacer,
    progress: &dyn UpdateProgress,
) -> Result<Fetched, FetchError> {
    // Validators only make sense for the same URL: a feed pointed elsewhere is fetched anew.
    let stored = stored.filter(|s| s.origin == feed.url);
    match feed.location().map_err(FetchError::new)? {
        Location::Local(path) => fetch_local(feed, &path, stored, progress),
        Location::Http(url) => {
            let Some(client) = client else {
                return Err(FetchError::new("internal error: no HTTP client"));
            };
            std::fs::create_dir_all(dest_dir).map_err(|e| {
                FetchError::new(format!(
                    "cannot create {}: {e}; make the database directory writable",
                    dest_dir.display()
                ))
            })?;
            if feed.kind() == FeedKind::NvdApi {
                return fetch_nvd(
                    feed, client, &url, stored, dest_dir, options, pacer, progress,
                );
            }
            let dest = dest_dir.join(download_name(&url));
            fetch_http(feed, client, &url, stored, &dest, options, progress)
        }
    }
}

/// A local file or directory: read in place. Files carry a pseudo-ETag of size and mtime,
/// so an unchanged file is [`Fetched::NotModified`] like an unchanged download.
fn fetch_local(
    feed: &Feed,
    path: &Path,
    stored: Option<&SourceInfo>,
    progress: &dyn UpdateProgress,
) -> Result<Fetched, FetchError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        FetchError::new(format!(
            "cannot read the local feed {}: {e}; check the feed's path in the feeds config",
            path.display()
        ))
    })?;
    let (etag, bytes) = if meta.is_file() {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        let tag = format!(
            "local:{}:{}.{:09}",
            meta.len(),
            mtime.as_secs(),
            mtime.subsec_nanos()
        );
        (Some(tag), meta.len())
    } else {
        // A directory's mtime says nothing about its files: always re-read.
        (None, 0)
    };
    if etag.is_some() && stored.and_then(|s| s.etag.as_ref()) == etag.as_ref() {
        return Ok(Fetched::NotModified);
    }
    progress.start(&feed.name, meta.is_file().then_some(bytes));
    progress.advance(&feed.name, bytes);
    Ok(Fetched::File(FetchedFile {
        path: path.to_owned(),
        temporary: false,
        bytes,
        etag,
        last_modified: None,
        content_type: None,
        incremental: false,
    }))
}

fn fetch_http(
    feed: &Feed,
    client: &reqwest::blocking::Client,
    url: &reqwest::Url,
    stored: Option<&SourceInfo>,
    dest: &Path,
    options: &UpdateOptions,
    progress: &dyn UpdateProgress,
) -> Result<Fetched, FetchError> {
    retrying(feed, options, |_| {
        fetch_once(feed, client, url, stored, dest, progress)
    })
}

/// Runs `attempt_once` (given the attempt number, from 0) until it succeeds, fails fatally,
/// or [`UpdateOptions::retries`] run out, with backoff (or the server's `Retry-After`) in
/// between.
fn retrying<T>(
    feed: &Feed,
    options: &UpdateOptions,
    mut attempt_once: impl FnMut(u32) -> Result<T, AttemptError>,
) -> Result<T, FetchError> {
    let mut attempt: u32 = 0;
    loop {
        match attempt_once(attempt) {
            Ok(fetched) => return Ok(fetched),
            Err(AttemptError::Fatal(e)) => return Err(e),
            Err(AttemptError::Retry(mut e, after)) => {
                if attempt >= options.retries {
                    if attempt > 0 {
                        e.message =
                            format!("{} (gave up after {} attempts)", e.message, attempt + 1);
                    }
                    return Err(e);
                }
                let wait = after
                    .unwrap_or_else(|| backoff(options.retry_delay, attempt))
                    .min(MAX_RETRY_WAIT);
                tracing::info!(feed = %feed.name, "{}; retrying in {:.1}s", e.message, wait.as_secs_f64());
                std::thread::sleep(wait);
                attempt += 1;
            }
        }
    }
}

fn backoff(first: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(MAX_BACKOFF)
}

fn fetch_once(
    feed: &Feed,
    client: &reqwest::blocking::Client,
    url: &reqwest::Url,
    stored: Option<&SourceInfo>,
    dest: &Path,
    progress: &dyn UpdateProgress,
) -> Result<Fetched, AttemptError> {
    let mut request = client.get(url.clone());
    let mut conditional = false;
    if let Some(etag) = stored.and_then(|s| s.etag.as_deref()) {
        request = request.header(IF_NONE_MATCH, etag);
        conditional = true;
    }
    if let Some(date) = stored.and_then(|s| s.last_modified.as_deref()) {
        request = request.header(IF_MODIFIED_SINCE, date);
        conditional = true;
    }
    let mut response = request.send().map_err(|e| {
        let error = FetchError {
            message: format!("cannot reach {url}: {}", error_chain(&e)),
            unreachable: e.is_connect() || e.is_timeout(),
        };
        if e.is_builder() || e.is_redirect() {
            AttemptError::Fatal(error)
        } else {
            AttemptError::Retry(error, None)
        }
    })?;

    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return if conditional {
            Ok(Fetched::NotModified)
        } else {
            Err(AttemptError::Fatal(FetchError::new(format!(
                "{url} answered 304 Not Modified to an unconditional request; check the URL or proxy"
            ))))
        };
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        let after = retry_after(response.headers());
        return Err(AttemptError::Retry(
            FetchError::new(format!("HTTP {status} from {url}")),
            after,
        ));
    }
    if !status.is_success() {
        return Err(AttemptError::Fatal(FetchError::new(format!(
            "HTTP {status} from {url}; check the feed's URL (set a feeds config with {FEEDS_ENV} to change it)"
        ))));
    }

    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header(ETAG);
    let last_modified = header(LAST_MODIFIED);
    let content_type = header(CONTENT_TYPE);
    let total = response.content_length();
    if total.is_some_and(|t| t > MAX_DOWNLOAD_BYTES) {
        return Err(AttemptError::Fatal(FetchError::new(format!(
            "{url} is {} bytes, over the {} GiB limit for one feed; is that the right URL?",
            total.unwrap_or_default(),
            MAX_DOWNLOAD_BYTES >> 30
        ))));
    }
    progress.start(&feed.name, total);
    let bytes = save_body(&mut response, url, dest, total, &mut |n| {
        progress.advance(&feed.name, n)
    })?;
    Ok(Fetched::File(FetchedFile {
        path: dest.to_owned(),
        temporary: true,
        bytes,
        etag,
        last_modified,
        content_type,
        incremental: false,
    }))
}

/// Streams a response body to `dest` (created or truncated), reporting each chunk to
/// `advance`. Returns the bytes written; a body shorter than its `Content-Length` (`total`)
/// or broken off is worth a retry.
fn save_body(
    response: &mut reqwest::blocking::Response,
    url: &reqwest::Url,
    dest: &Path,
    total: Option<u64>,
    advance: &mut dyn FnMut(u64),
) -> Result<u64, AttemptError> {
    let fatal_write = |e: std::io::Error| {
        AttemptError::Fatal(FetchError::new(format!(
            "cannot write the download to {}: {e}; is the disk full?",
            dest.display()
        )))
    };
    let file = File::create(dest).map_err(fatal_write)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes: u64 = 0;
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(AttemptError::Retry(
                    FetchError::new(format!(
                        "download of {url} broke off after {bytes} bytes: {e}"
                    )),
                    None,
                ));
            }
        };
        out.write_all(&buf[..n]).map_err(fatal_write)?;
        bytes += n as u64;
        if bytes > MAX_DOWNLOAD_BYTES {
            return Err(AttemptError::Fatal(FetchError::new(format!(
                "{url} sent more than {} GiB; refusing it (is that the right URL?)",
                MAX_DOWNLOAD_BYTES >> 30
            ))));
        }
        advance(n as u64);
    }
    out.flush().map_err(fatal_write)?;
    if let Some(total) = total
        && bytes != total
    {
        return Err(AttemptError::Retry(
            FetchError::new(format!(
                "download of {url} is truncated: {bytes} of {total} bytes"
            )),
            None,
        ));
    }
    Ok(bytes)
}

/// Spaces requests to the NVD API: one at a time, at least `interval` apart, across every
/// NVD feed of the update (they share one rate limit).
struct Pacer {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            last: Mutex::new(None),
        }
    }

    /// Waits until the next request may go out, and counts it as sent.
    fn wait(&self) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = *last {
            let due = previous + self.interval;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        *last = Some(Instant::now());
    }
}

/// The header fields of an NVD API 2.0 answer (the records themselves are read later by
/// the importer).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NvdPageHead {
    results_per_page: u64,
    total_results: u64,
    #[serde(default)]
    format: Option<String>,
}

/// Now, to the millisecond (what NVD's date parameters carry), so the time stored and the
/// time sent are the same instant.
fn nvd_now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}

/// A date as NVD's `lastModStartDate` / `lastModEndDate` want it:
/// `2024-06-01T12:00:00.000+00:00` (UTC).
fn nvd_date(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000+00:00"))
}

/// Where an incremental NVD fetch starts: the stored fetch time, when it is readable and
/// less than [`NVD_MAX_WINDOW`] before `now`. `None`: fetch everything.
fn nvd_since(last_fetch: Option<&str>, now: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
    let since = time::OffsetDateTime::parse(
        last_fetch?.trim(),
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    // A stored time in the future (a clock set back since) starts the range now.
    let since = since.min(now);
    let window = time::Duration::try_from(NVD_MAX_WINDOW).ok()?;
    (now - since <= window).then_some(since)
}

/// Pages through the NVD CVE API into `dest_dir` (`page-00000.json`, …): everything, or
/// only what changed since the stored fetch time (see [`default_feeds`]).
#[allow(clippy::too_many_arguments)]
fn fetch_nvd(
    feed: &Feed,
    client: &reqwest::blocking::Client,
    url: &reqwest::Url,
    stored: Option<&SourceInfo>,
    dest_dir: &Path,
    options: &UpdateOptions,
    pacer: &Pacer,
    progress: &dyn UpdateProgress,
) -> Result<Fetched, FetchError> {
    let started = nvd_now();
    let since = nvd_since(stored.and_then(|s| s.last_modified.as_deref()), started);
    match since {
        Some(since) => {
            tracing::info!(feed = %feed.name, since = %nvd_date(since), "fetching NVD changes")
        }
        None => tracing::info!(feed = %feed.name, "fetching all of NVD"),
    }
    progress.start(&feed.name, None);
    let mut start_index: u64 = 0;
    let mut bytes: u64 = 0;
    for page in 0..NVD_MAX_PAGES {
        let mut page_url = url.clone();
        {
            let mut query = page_url.query_pairs_mut();
            query.append_pair("resultsPerPage", &NVD_RESULTS_PER_PAGE.to_string());
            query.append_pair("startIndex", &start_index.to_string());
            if let Some(since) = since {
                query.append_pair("lastModStartDate", &nvd_date(since));
                query.append_pair("lastModEndDate", &nvd_date(started));
            }
        }
        let dest = dest_dir.join(format!("page-{page:05}.json"));
        let (page_bytes, head) = retrying(feed, options, |attempt| {
            if attempt > 0 {
                // The failed attempt may have counted some bytes: count again from the
                // pages already saved.
                progress.start(&feed.name, None);
                progress.advance(&feed.name, bytes);
            }
            pacer.wait();
            fetch_nvd_page(feed, client, &page_url, &dest, options, progress)
        })?;
        bytes += page_bytes;
        if since.is_some() && head.total_results == 0 {
            let _ = std::fs::remove_file(&dest);
            return Ok(Fetched::NotModified);
        }
        let next = start_index.saturating_add(head.results_per_page);
        if next >= head.total_results {
            return Ok(Fetched::File(FetchedFile {
                path: dest_dir.to_owned(),
                temporary: true,
                bytes,
                etag: None,
                last_modified: time::OffsetDateTime::format(
                    started,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok(),
                content_type: None,
                incremental: since.is_some(),
            }));
        }
        if head.results_per_page == 0 {
            return Err(FetchError::new(format!(
                "{page_url} returned no CVEs at startIndex {start_index} of {} (resultsPerPage 0); the NVD API (or the mirror) is misbehaving, try again later",
                head.total_results
            )));
        }
        start_index = next;
    }
    Err(FetchError::new(format!(
        "{url} still had more pages after {NVD_MAX_PAGES}; is that an NVD API endpoint?"
    )))
}

/// One NVD API request, saved to `dest`. `403` (how NVD says "too many requests"), `429`,
/// `408` and `5xx` are worth a retry.
fn fetch_nvd_page(
    feed: &Feed,
    client: &reqwest::blocking::Client,
    url: &reqwest::Url,
    dest: &Path,
    options: &UpdateOptions,
    progress: &dyn UpdateProgress,
) -> Result<(u64, NvdPageHead), AttemptError> {
    let mut request = client.get(url.clone());
    if let Some(key) = options.nvd_api_key.as_deref() {
        request = request.header("apiKey", key);
    }
    let mut response = request.send().map_err(|e| {
        let error = FetchError {
            message: format!("cannot reach {url}: {}", error_chain(&e)),
            unreachable: e.is_connect() || e.is_timeout(),
        };
        if e.is_builder() || e.is_redirect() {
            AttemptError::Fatal(error)
        } else {
            AttemptError::Retry(error, None)
        }
    })?;
    let status = response.status();
    // NVD explains refusals in a `message` header.
    let explained = response
        .headers()
        .get("message")
        .and_then(|v| v.to_str().ok())
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    if status == reqwest::StatusCode::FORBIDDEN
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        let hint = if status == reqwest::StatusCode::FORBIDDEN && options.nvd_api_key.is_none() {
            format!(
                "; NVD throttles requests without an API key: set {NVD_API_KEY_ENV} (https://nvd.nist.gov/developers/request-an-api-key)"
            )
        } else if status == reqwest::StatusCode::FORBIDDEN {
            String::from("; NVD throttled the requests, or the API key is invalid")
        } else {
            String::new()
        };
        let after = retry_after(response.headers());
        return Err(AttemptError::Retry(
            FetchError::new(format!("HTTP {status} from {url}{explained}{hint}")),
            after,
        ));
    }
    if !status.is_success() {
        return Err(AttemptError::Fatal(FetchError::new(format!(
            "HTTP {status} from {url}{explained}; check the feed's URL (set a feeds config with {FEEDS_ENV} to change it)"
        ))));
    }
    let total = response.content_length();
    let bytes = save_body(&mut response, url, dest, total, &mut |n| {
        progress.advance(&feed.name, n)
    })?;
    let not_nvd = |why: String| {
        AttemptError::Fatal(FetchError::new(format!(
            "{url} did not answer with an NVD CVE API 2.0 page ({why}); check the feed's URL (an error page or captive portal?)"
        )))
    };
    let file = File::open(dest).map_err(|e| not_nvd(format!("cannot read it back: {e}")))?;
    let head: NvdPageHead = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| not_nvd(e.to_string()))?;
    if let Some(format) = head.format.as_deref()
        && format != "NVD_CVE"
    {
        return Err(not_nvd(format!("format {format:?}")));
    }
    Ok((bytes, head))
}

/// Merges an incremental NVD fetch into the records stored for `source`: every stored
/// enrichment record whose CVE is not in `new` is kept (in stored order, before the new
/// ones). Reads the database file directly, read-only.
fn merge_stored_enrichments(
    db_path: &Path,
    source: &str,
    new: &mut SourceData,
) -> Result<(), String> {
    use rusqlite::{Connection, OpenFlags};

    let conn = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("{}: {e}", db_path.display()))?;
    let mut stmt = conn
        .prepare(
            "SELECT e.body FROM enrichment e JOIN sources s ON s.id = e.source_id WHERE s.name = ?1 ORDER BY e.rowid",
        )
        .map_err(|e| format!("{}: {e}", db_path.display()))?;
    let rows = stmt
        .query_map([source], |r| r.get::<_, String>(0))
        .map_err(|e| format!("{}: {e}", db_path.display()))?;
    let fresh: HashSet<String> = new.enrichments.iter().map(|e| e.cve.clone()).collect();
    let mut merged: Vec<Enrichment> = Vec::new();
    for row in rows {
        let body = row.map_err(|e| format!("{}: {e}", db_path.display()))?;
        let old: Enrichment = serde_json::from_str(&body)
            .map_err(|e| format!("{}: corrupt enrichment record: {e}", db_path.display()))?;
        if !fresh.contains(&old.cve) {
            merged.push(old);
        }
    }
    merged.append(&mut new.enrichments);
    new.enrichments = merged;
    Ok(())
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Reads a fetched feed. Returns the outcome, the source to write (when updated) and the
/// per-file warnings.
fn parse(
    feed: &Feed,
    file: &FetchedFile,
    stored: Option<&SourceInfo>,
) -> (FeedOutcome, Option<SourceData>, Vec<String>) {
    let loaded = crate::import::load(&file.path, &feed.name);
    // Error messages name the temporary file; the URL is what the user knows.
    let shown = file.path.to_string_lossy().into_owned();
    let warnings: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| {
            if file.temporary {
                e.replace(&shown, &feed.url)
            } else {
                e.clone()
            }
        })
        .collect();
    let mut source = loaded.source;
    let records = source.advisories.len() + source.enrichments.len();
    let had = stored.map_or(0, |s| s.advisories + s.enrichments);
    if records == 0 {
        let reason = if loaded.files == 0 {
            format!(
                "{} ({} bytes{}) is not in any feed format keelhaul reads; keeping the previous data (an error page or captive portal? check the URL and the network)",
                feed.url,
                file.bytes,
                file.content_type
                    .as_deref()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default()
            )
        } else if let Some(first) = warnings.first() {
            format!(
                "no record could be read ({} file errors, first: {first}); keeping the previous data",
                warnings.len()
            )
        } else if had > 0 {
            format!(
                "feed returned no records (the database has {had} from the last update); keeping the previous data"
            )
        } else {
            String::new()
        };
        if !reason.is_empty() {
            return (FeedOutcome::failed(reason), None, warnings);
        }
    }
    source.origin = feed.url.clone();
    source.etag = file.etag.clone();
    source.last_modified = file.last_modified.clone();
    let outcome = FeedOutcome::Updated {
        advisories: source.advisories.len() as u64,
        enrichments: source.enrichments.len() as u64,
        bytes: file.bytes,
    };
    (outcome, Some(source), warnings)
}

/// The temporary download directory, removed with everything in it when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Next to the database, so downloads land on the same filesystem and a leftover is
    /// easy to find.
    fn next_to(db_path: &Path) -> Result<TempDir, UpdateError> {
        let dir = db_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stem: OsString = db_path
            .file_name()
            .map_or_else(|| OsString::from("db"), |n| n.to_owned());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let mut name = OsString::from(".");
        name.push(&stem);
        name.push(format!(".update-{}-{nanos}", std::process::id()));
        let path = dir.join(name);
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::create_dir(&path))
            .map_err(|source| UpdateError::TempDir {
                path: path.clone(),
                source,
            })?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!("cannot remove {}: {e}", self.path.display());
        }
    }
}

/// The download's file name: the URL's last segment (importers look at extensions, so
/// `all.zip` and `main.json` must keep theirs).
fn download_name(url: &reqwest::Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("download");
    sanitize(last)
}

fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.trim_matches('.').is_empty() {
        String::from("download")
    } else {
        clean
    }
}

/// An error with its causes (reqwest's top-level message alone is "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_feed_names_and_urls() {
        let feeds = default_feeds();
        assert!(check_feeds(&feeds).is_ok());
        let rocky = feeds.iter().find(|f| f.name == "osv-rocky-linux");
        assert_eq!(
            rocky.map(|f| f.url.as_str()),
            Some("https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip")
        );
        assert!(feeds.iter().any(|f| f.name == "osv-crates.io"));
        assert!(feeds.iter().any(|f| f.name == "alpine-edge-community"
            && f.url == "https://secdb.alpinelinux.org/edge/community.json"));
        assert_eq!(feeds.len(), 16 + 1 + 10 + 1 + 1);
        let nvd = feeds.iter().find(|f| f.name == "nvd");
        assert_eq!(nvd.map(|f| f.url.as_str()), Some(NVD_API_URL));
        assert_eq!(nvd.map(Feed::kind), Some(FeedKind::NvdApi));
        let kinds: Vec<FeedKind> = feeds.iter().map(Feed::kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == FeedKind::NvdApi).count(), 1);
    }

    #[test]
    fn feed_kind_inferred_or_configured() {
        let nvd = Feed::new("m", "http://mirror.local/nvd/rest/json/cves/2.0/");
        assert_eq!(nvd.kind(), FeedKind::NvdApi);
        assert_eq!(
            Feed::new("m", "https://x/cves/2.0").kind(),
            FeedKind::Download
        );
        assert_eq!(
            Feed::new("m", "/srv/nvd/rest/json/cves/2.0").kind(),
            FeedKind::Download,
            "a local path is read as files"
        );
        let forced = Feed::new("m", "https://x/api").with_kind(FeedKind::NvdApi);
        assert_eq!(forced.kind(), FeedKind::NvdApi);
        assert_eq!(
            nvd.clone().with_kind(FeedKind::Download).kind(),
            FeedKind::Download
        );

        let file: FeedsFile = toml::from_str(
            "[[feed]]\nname = \"a\"\nurl = \"https://x/api\"\nkind = \"nvd-api\"\n[[feed]]\nname = \"b\"\nurl = \"https://x/y\"\n",
        )
        .expect("parses");
        assert_eq!(file.feed[0].kind, Some(FeedKind::NvdApi));
        assert_eq!(file.feed[1].kind, None);
        assert!(
            toml::from_str::<FeedsFile>("[[feed]]\nname = \"a\"\nurl = \"x\"\nkind = \"nvd\"\n")
                .is_err()
        );

        let local = vec![Feed::new("a", "nvd-pages/").with_kind(FeedKind::NvdApi)];
        let err = check_feeds(&local).expect_err("nvd-api needs http");
        assert!(err.contains("not http(s)"), "{err}");
    }

    #[test]
    fn nvd_dates_and_windows() {
        let t = time::macros::datetime!(2024-06-01 12:34:56.789 UTC);
        assert_eq!(nvd_date(t), "2024-06-01T12:34:56.789+00:00");
        let now = time::macros::datetime!(2024-06-01 00:00 UTC);
        assert_eq!(
            nvd_since(Some("2024-05-01T10:00:00Z"), now),
            Some(time::macros::datetime!(2024-05-01 10:00 UTC))
        );
        assert_eq!(
            nvd_since(Some("2024-02-02T00:00:00Z"), now),
            Some(time::macros::datetime!(2024-02-02 00:00 UTC)),
            "exactly 120 days"
        );
        assert_eq!(nvd_since(Some("2024-02-01T23:59:59Z"), now), None);
        assert_eq!(nvd_since(Some("2024-07-01T00:00:00Z"), now), Some(now));
        assert_eq!(nvd_since(Some("Sat, 01 Jun 2024 00:00:00 GMT"), now), None);
        assert_eq!(nvd_since(None, now), None);
        let ms = nvd_now();
        assert_eq!(ms.nanosecond() % 1_000_000, 0);
    }

    #[test]
    fn nvd_interval_by_key() {
        let mut options = UpdateOptions {
            nvd_api_key: None,
            ..UpdateOptions::default()
        };
        assert_eq!(options.nvd_interval(), NVD_INTERVAL_WITHOUT_KEY);
        options.nvd_api_key = Some(String::from("secret-key"));
        assert_eq!(options.nvd_interval(), NVD_INTERVAL_WITH_KEY);
        assert!(!format!("{options:?}").contains("secret-key"));
        options.nvd_request_interval = Some(Duration::ZERO);
        assert_eq!(options.nvd_interval(), Duration::ZERO);
    }

    #[test]
    fn pacer_spaces_requests() {
        let pacer = Pacer::new(Duration::from_millis(40));
        let start = Instant::now();
        pacer.wait();
        pacer.wait();
        pacer.wait();
        assert!(start.elapsed() >= Duration::from_millis(80));
    }

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, reqwest::header::HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let first = Duration::from_secs(1);
        assert_eq!(backoff(first, 0), Duration::from_secs(1));
        assert_eq!(backoff(first, 3), Duration::from_secs(8));
        assert_eq!(backoff(first, 40), MAX_BACKOFF);
    }

    #[test]
    fn download_names_keep_extensions() {
        let url = |s| reqwest::Url::parse(s).expect("test URL");
        assert_eq!(download_name(&url("https://x/PyPI/all.zip")), "all.zip");
        assert_eq!(download_name(&url("https://x/tracker/data/json")), "json");
        assert_eq!(download_name(&url("https://x/")), "download");
    }
}
