//! Vulnerability findings: what matching produces and every report renders.

use std::fmt;
use std::str::FromStr;

use crate::{Digest, Ecosystem};

/// How severe a finding is, on the common five-step scale.
///
/// Ordered: `Unknown < Negligible < Low < Medium < High < Critical`, so `>=` filters work.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No source gave a severity.
    #[default]
    Unknown,
    /// The distro judged it not worth fixing (Debian `unimportant`, Ubuntu `negligible`).
    Negligible,
    /// Low.
    Low,
    /// Medium (Red Hat "Moderate", Ubuntu "medium").
    Medium,
    /// High (Red Hat "Important").
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 6] = [
        Severity::Unknown,
        Severity::Negligible,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name (`critical`, …), which is also the JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The CVSS qualitative rating of a base score (CVSS v3/v4: 0.1–3.9 low, 4.0–6.9 medium,
    /// 7.0–8.9 high, 9.0–10.0 critical; 0.0 is "none", which we call negligible).
    pub fn from_cvss_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Negligible,
        }
    }

    /// Reads the words vendors use: `critical`, `important`/`high`, `moderate`/`medium`,
    /// `low`, `negligible`/`unimportant`/`none`. Anything else is `None`.
    pub fn from_label(label: &str) -> Option<Severity> {
        match label.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" | "important" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "negligible" | "unimportant" | "none" | "informational" => Some(Severity::Negligible),
            "unknown" => Some(Severity::Unknown),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not a severity.
#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?}; use one of unknown, negligible, low, medium, high, critical")]
pub struct SeverityError(String);

impl FromStr for Severity {
    type Err = SeverityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::from_label(s).ok_or_else(|| SeverityError(s.to_owned()))
    }
}

/// Whether a fix exists, and if not, what the distro decided.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum FixStatus {
    /// A fixed version exists.
    #[default]
    Fixed,
    /// Affected and no fix is available yet.
    Affected,
    /// The distro will not fix it (Ubuntu `ignored`, Debian `<ignored>`).
    WillNotFix,
    /// The fix is postponed (Ubuntu `deferred`, Debian `<postponed>`).
    Deferred,
    /// The release is out of support for this package.
    EndOfLife,
    /// Debian: minor issue, no security advisory planned (`no-dsa`).
    NoDsa,
    /// Debian: `unimportant`.
    Unimportant,
}

impl FixStatus {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FixStatus::Fixed => "fixed",
            FixStatus::Affected => "affected",
            FixStatus::WillNotFix => "will-not-fix",
            FixStatus::Deferred => "deferred",
            FixStatus::EndOfLife => "end-of-life",
            FixStatus::NoDsa => "no-dsa",
            FixStatus::Unimportant => "unimportant",
        }
    }

    /// True when a fixed version can be installed.
    pub fn is_fixed(self) -> bool {
        self == FixStatus::Fixed
    }
}

impl fmt::Display for FixStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the cloud consoles' counters a finding goes to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum FindingClass {
    /// An OS package (counted as CVE).
    Os,
    /// An application dependency (counted as SCA).
    Sca,
}

/// A CVSS score with the vector it was computed from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cvss {
    /// Base score, 0.0–10.0, computed from the vector.
    pub score: f64,
    /// The vector (`CVSS:3.1/AV:N/…`, or a bare v2 vector).
    pub vector: String,
    /// CVSS version: `2.0`, `3.0`, `3.1`, `4.0`.
    pub version: String,
    /// Who published it (`nvd`, `ghsa`, an advisory source name).
    pub source: String,
}

/// The package a finding is about, as the JSON contract names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackageRef {
    /// Package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package URL.
    pub purl: String,
}

/// One vulnerability in one installed package.
///
/// Advisories that name each other (a CVE, its GHSA and its PYSEC id) are merged into one
/// finding: `id` is the preferred id (CVE first), `aliases` the others, sorted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Vulnerability {
    /// Preferred id: the CVE when there is one, else the advisory's own id.
    pub id: String,
    /// Every other id of the same vulnerability, sorted.
    pub aliases: Vec<String>,
    /// The affected package.
    pub package: PackageRef,
    /// The installed version (the version the advisory was evaluated against).
    pub installed_version: String,
    /// Versions that fix it, in the package's ecosystem order (empty when unfixed).
    pub fixed_versions: Vec<String>,
    /// Fixed, or why not.
    pub status: FixStatus,
    /// The severity used for filtering: the distro's own for OS findings, else from CVSS.
    pub severity: Severity,
    /// Where `severity` came from (`debian`, `alpine`, `almalinux`, `ghsa`, `nvd`, `cvss`…).
    pub severity_source: Option<String>,
    /// The distro's own label, verbatim (`unimportant`, `Important`, `medium`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro_severity: Option<String>,
    /// The highest-version CVSS score known, from the advisory or NVD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    /// CWE ids (`CWE-79`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    pub known_exploited: bool,
    /// OS package (CVE) or application dependency (SCA).
    pub class: FindingClass,
    /// The layer that introduced the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// The file the package was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A one-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The primary advisory URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The database sources the merged advisories came from, sorted.
    pub sources: Vec<String>,
    /// First publication date (RFC 3339 or `YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

impl Vulnerability {
    /// Every id of this finding: `id` then `aliases`.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Unknown < Severity::Negligible);
        assert_eq!("Important".parse::<Severity>().ok(), Some(Severity::High));
        assert_eq!(Severity::from_cvss_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss_score(4.0), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(3.9), Severity::Low);
        assert!("severe".parse::<Severity>().is_err());
    }
}
