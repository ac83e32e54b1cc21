//! Feed files → advisories. Each format module knows how to recognise its files
//! ([`Format::detect`]) and read one ([`parse`]); [`walk`] opens what the user points at
//! (files, directories, zip and tar archives, gzip/zstd compressed) and hands each
//! member over with a path that names it for error messages.

use std::fmt;
use std::path::Path;

use crate::model::Parsed;

mod alpine;
mod cve5;
mod debian;
mod friendsofphp;
mod kev;
mod nodejs;
mod nvd;
mod osv;
mod oval;
mod rubysec;
mod rustsec;
mod ubuntu;
mod victims;
mod walk;

pub use walk::{MAX_MEMBER_BYTES, Member, WalkError, walk};

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// OSV JSON or YAML (one record, or an array of records).
    Osv,
    /// Debian security tracker JSON (`https://security-tracker.debian.org/tracker/data/json`).
    DebianTrackerJson,
    /// Debian security tracker `data/DSA/list`, `data/DLA/list`, `data/DTSA/list`.
    DebianAdvisoryList,
    /// Alpine secdb JSON.
    AlpineSecdb,
    /// Ubuntu CVE tracker text files (`active/CVE-…`, `retired/CVE-…`).
    UbuntuCveTracker,
    /// OVAL XML definitions (Ubuntu USN, Rocky/Red Hat-style RLSA).
    Oval,
    /// RustSec native Markdown with TOML front matter.
    RustSec,
    /// RubySec ruby-advisory-db YAML.
    RubySec,
    /// FriendsOfPHP security-advisories YAML.
    FriendsOfPhp,
    /// Node.js security-wg JSON (`vuln/npm/*.json`, `vuln/core/*.json`).
    NodejsSecurityWg,
    /// victims-cve-db YAML.
    Victims,
    /// NVD JSON 1.1 feeds, 1.1 item lines (JSONL), and 2.0 API pages (enrichment).
    Nvd,
    /// CVE JSON 5 records (enrichment).
    Cve5,
    /// CISA Known Exploited Vulnerabilities catalog (enrichment).
    Kev,
}

impl Format {
    /// Every format, in detection order: the most specific first.
    pub const ALL: [Format; 14] = [
        Format::Kev,
        Format::Nvd,
        Format::Cve5,
        Format::DebianTrackerJson,
        Format::DebianAdvisoryList,
        Format::AlpineSecdb,
        Format::UbuntuCveTracker,
        Format::Oval,
        Format::RustSec,
        Format::RubySec,
        Format::FriendsOfPhp,
        Format::NodejsSecurityWg,
        Format::Victims,
        Format::Osv,
    ];

    /// A short stable name (`osv`, `debian-list`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::Osv => "osv",
            Format::DebianTrackerJson => "debian-tracker-json",
            Format::DebianAdvisoryList => "debian-list",
            Format::AlpineSecdb => "alpine-secdb",
            Format::UbuntuCveTracker => "ubuntu-cve-tracker",
            Format::Oval => "oval",
            Format::RustSec => "rustsec",
            Format::RubySec => "rubysec",
            Format::FriendsOfPhp => "friendsofphp",
            Format::NodejsSecurityWg => "nodejs-security-wg",
            Format::Victims => "victims",
            Format::Nvd => "nvd",
            Format::Cve5 => "cve5",
            Format::Kev => "kev",
        }
    }

    /// Whether `path` (the member's path inside what was imported, `/`-separated) with
    /// content starting `head` (up to 4 KiB) is in this format.
    pub fn detect(self, path: &str, head: &[u8]) -> bool {
        match self {
            Format::Osv => osv::detect(path, head),
            Format::DebianTrackerJson => debian::detect_tracker_json(path, head),
            Format::DebianAdvisoryList => debian::detect_list(path, head),
            Format::AlpineSecdb => alpine::detect(path, head),
            Format::UbuntuCveTracker => ubuntu::detect(path, head),
            Format::Oval => oval::detect(path, head),
            Format::RustSec => rustsec::detect(path, head),
            Format::RubySec => rubysec::detect(path, head),
            Format::FriendsOfPhp => friendsofphp::detect(path, head),
            Format::NodejsSecurityWg => nodejs::detect(path, head),
            Format::Victims => victims::detect(path, head),
            Format::Nvd => nvd::detect(path, head),
            Format::Cve5 => cve5::detect(path, head),
            Format::Kev => kev::detect(path, head),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The format of a member, or `None` when no importer recognises it (README files,
/// licenses, scripts: skipped quietly).
pub fn detect(path: &str, data: &[u8]) -> Option<Format> {
    let head = &data[..data.len().min(4096)];
    Format::ALL.into_iter().find(|f| f.detect(path, head))
}

/// A file that was recognised but could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: not valid {format}: {reason}")]
pub struct ParseError {
    /// The member's path.
    pub path: String,
    /// The format it was detected as.
    pub format: Format,
    /// What was wrong.
    pub reason: String,
}

/// Reads one member in a known format.
pub fn parse(format: Format, path: &str, data: &[u8]) -> Result<Parsed, ParseError> {
    let result = match format {
        Format::Osv => osv::parse(path, data),
        Format::DebianTrackerJson => debian::parse_tracker_json(path, data),
        Format::DebianAdvisoryList => debian::parse_list(path, data),
        Format::AlpineSecdb => alpine::parse(path, data),
        Format::UbuntuCveTracker => ubuntu::parse(path, data),
        Format::Oval => oval::parse(path, data),
        Format::RustSec => rustsec::parse(path, data),
        Format::RubySec => rubysec::parse(path, data),
        Format::FriendsOfPhp => friendsofphp::parse(path, data),
        Format::NodejsSecurityWg => nodejs::parse(path, data),
        Format::Victims => victims::parse(path, data),
        Format::Nvd => nvd::parse(path, data),
        Format::Cve5 => cve5::parse(path, data),
        Format::Kev => kev::parse(path, data),
    };
    result.map_err(|reason| ParseError {
        path: path.to_owned(),
        format,
        reason,
    })
}

/// The last path component of a member path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether the member path has `dir` as one of its directory components.
pub(crate) fn has_dir(path: &str, dir: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts.contains(&dir)
}

/// Truncates long free text (descriptions) to keep the database small.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Whether `path` exists as something we can import.
pub fn is_importable(path: &Path) -> bool {
    path.is_dir() || path.is_file()
}

/// Everything read from one path given to `db import`, ready for
/// [`crate::Database::replace_sources`].
#[derive(Debug)]
pub struct Loaded {
    /// The source, named and filled.
    pub source: crate::db::SourceData,
    /// Files recognised and read.
    pub files: u64,
    /// Files no importer recognised (READMEs, licenses, scripts).
    pub unrecognised: u64,
    /// Files that could not be opened or parsed, with the reason; the rest imported.
    pub errors: Vec<String>,
}

/// Reads every feed file under `path` into one source called `name`.
///
/// Files are read in a stable order and parsed in parallel; a file that fails is reported
/// by path and skipped, the rest is kept.
pub fn load(path: &Path, name: &str) -> Loaded {
    use rayon::prelude::*;

    let mut members = Vec::new();
    let mut errors: Vec<String> = walk(path, &mut |m| members.push(m))
        .into_iter()
        .map(|e| e.to_string())
        .collect();
    let results: Vec<Option<Result<(Format, Parsed), ParseError>>> = members
        .par_iter()
        .map(|m| {
            let format = detect(&m.path, &m.data)?;
            Some(parse(format, &m.path, &m.data).map(|p| (format, p)))
        })
        .collect();
    drop(members);
    let mut source = crate::db::SourceData {
        name: name.to_owned(),
        origin: path.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let mut files = 0;
    let mut unrecognised = 0;
    let mut formats = std::collections::BTreeSet::new();
    for result in results {
        match result {
            None => unrecognised += 1,
            Some(Ok((format, parsed))) => {
                files += 1;
                formats.insert(format.name());
                source.skipped += parsed.skipped as u64;
                source.advisories.extend(parsed.advisories);
                source.enrichments.extend(parsed.enrichments);
            }
            Some(Err(e)) => {
                files += 1;
                errors.push(e.to_string());
            }
        }
    }
    source.formats = formats.into_iter().map(str::to_owned).collect();
    source.errors = errors.len() as u64;
    Loaded {
        source,
        files,
        unrecognised,
        errors,
    }
}

/// The default source name for an imported path: its file name without archive and
/// compression suffixes (`osv/go-vulndb.tar.zst` → `go-vulndb`).
pub fn source_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned());
    let mut name = name.as_str();
    for suffix in [
        ".zst", ".gz", ".tgz", ".zip", ".tar", ".json", ".jsonl", ".csv", ".yaml", ".yml",
    ] {
        name = name.strip_suffix(suffix).unwrap_or(name);
    }
    name.to_owned()
}
