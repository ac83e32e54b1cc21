//! What the importers produce and the matcher reads: advisories in one shape, whatever
//! feed they came from.
//!
//! The shape is OSV's, widened where native feeds say things OSV cannot: an exclusive lower
//! bound (`> 1.0`), "vulnerable unless patched" lists (RustSec, RubySec), and a distro's
//! "not fixed, and here is why" status.

use keelhaul_core::FixStatus;
use serde::{Deserialize, Serialize};

/// One advisory from one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The feed's id (`GHSA-…`, `PYSEC-…`, `DSA-5380-1`, `CVE-…` for tracker entries).
    pub id: String,
    /// Other ids of the same vulnerability (CVE, GHSA, …), as the feed lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description (kept short: importers truncate to a few KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// First publication (RFC 3339 or `YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Last modification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// CVSS vectors the advisory states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<CvssVector>,
    /// The feed's own severity word (`HIGH`, `Important`, `moderate`…), verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_label: Option<String>,
    /// CWE ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    /// Reference URLs, the advisory's own page first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Affected packages.
    pub affected: Vec<Affected>,
}

/// A CVSS vector as an advisory states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CvssVector {
    /// `CVSS:3.1/AV:N/…`, `CVSS:4.0/…`, or a bare v2 vector `AV:N/AC:L/…`.
    pub vector: String,
}

/// One package an advisory is about, in one feed ecosystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The feed ecosystem, spelled as OSV spells it: `PyPI`, `npm`, `Go`, `crates.io`,
    /// `Maven`, `RubyGems`, `Packagist`, `NuGet`, `Debian:12`, `Alpine:v3.20`,
    /// `AlmaLinux:9`, `Rocky Linux:9`, `Ubuntu:24.04`.
    pub ecosystem: String,
    /// The package name, normalised with [`crate::normalize_name`] for its ecosystem.
    /// Debian/Ubuntu: the source package; Alpine: the origin; RPM: the binary name.
    pub package: String,
    /// When any rule holds for the installed version, the package is affected.
    pub rules: Vec<Rule>,
    /// The fix status when affected. `Fixed` when the rules carry a fixed version.
    #[serde(default)]
    pub status: FixStatus,
    /// The distro's severity for this package in this release (Debian urgency, Ubuntu
    /// priority), verbatim; overrides the advisory's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_label: Option<String>,
    /// Affected functions or symbols (Go `imports[].symbols`, RustSec `functions`), for
    /// display only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
}

/// One way a version can be affected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Rule {
    /// An OSV `ECOSYSTEM` or `SEMVER` range, evaluated as OSV's `IsVulnerable` says.
    Events {
        /// The events, in the feed's order (the matcher sorts them).
        events: Vec<Event>,
    },
    /// OSV's `versions`: affected when the installed version equals one of these
    /// (compared in the ecosystem's order, so `1.0` and `1.0.0` agree where they should).
    Exact {
        /// The listed versions.
        versions: Vec<String>,
    },
    /// Affected when any of the conjunctions holds (`< 1.2.3 || >= 2.0 < 2.1`).
    AnyOf {
        /// Alternatives, each a list of constraints that must all hold.
        any_of: Vec<Vec<Constraint>>,
    },
    /// Affected unless one of the conjunctions holds (RustSec `patched` + `unaffected`,
    /// RubySec `patched_versions` + `unaffected_versions`).
    NoneOf {
        /// Alternatives that make a version safe.
        none_of: Vec<Vec<Constraint>>,
    },
    /// Every version is affected (an unfixed distro entry without version information).
    All,
}

/// An OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from here on (`0` = since the beginning).
    Introduced(String),
    /// Not affected from here on (exclusive end).
    Fixed(String),
    /// Affected up to and including this one.
    LastAffected(String),
    /// Events at or above this are ignored (exclusive).
    Limit(String),
}

/// A comparison with a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    /// The operator.
    pub op: Op,
    /// The version compared with, in the ecosystem's syntax.
    pub version: String,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `=`
    #[serde(rename = "=")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl Constraint {
    /// A constraint.
    pub fn new(op: Op, version: impl Into<String>) -> Constraint {
        Constraint {
            op,
            version: version.into(),
        }
    }
}

/// Per-CVE facts that come from enrichment feeds (NVD, CVE 5 records, CISA KEV), never
/// package ranges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The CVE id.
    pub cve: String,
    /// CVSS vectors with their publisher (`nvd`, a CNA name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<CvssVector>,
    /// CWE ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    /// Publication date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The date CISA added it to the KEV catalog, when it is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev_added: Option<String>,
}

/// What one importer makes of one file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Advisories with package ranges.
    pub advisories: Vec<Advisory>,
    /// Enrichment facts (merged per CVE across files and sources).
    pub enrichments: Vec<Enrichment>,
    /// Records skipped on purpose (withdrawn, no package, …), for the import summary.
    pub skipped: usize,
}
