//! Version ordering, one module per ecosystem, each following its reference implementation.
//!
//! | scheme | reference |
//! | --- | --- |
//! | [`Scheme::Dpkg`] | dpkg / `apt_pkg.version_compare` |
//! | [`Scheme::Rpm`] | rpm `rpmvercmp` + `labelCompare` (epoch, version, release) |
//! | [`Scheme::Apk`] | apk-tools `apk_version_compare` |
//! | [`Scheme::Pep440`] | `packaging.version.Version` |
//! | [`Scheme::Semver`] | node `semver` (npm, crates.io, Hex, Pub, SwiftURL) |
//! | [`Scheme::Go`] | `golang.org/x/mod/semver` (leading `v`, `+incompatible`, pseudo-versions) |
//! | [`Scheme::Maven`] | maven-artifact `ComparableVersion` |
//! | [`Scheme::RubyGems`] | `Gem::Version` |
//! | [`Scheme::NuGet`] | `NuGet.Versioning.NuGetVersion` |
//! | [`Scheme::Composer`] | `composer/semver` `Comparator` (after `VersionParser::normalize`) |
//!
//! Where a reference has no total order or no error we had to choose:
//!
//! * [`Scheme::Go`]: `semver.Compare` ranks invalid strings below valid ones; we return
//!   an error. A missing leading `v` is accepted.
//! * [`Scheme::Composer`]: composer gives two different `dev-` branches no order; we order
//!   them by name (never `Equal`).
//! * [`Scheme::Apk`]: apk-tools compares malformed versions token by token (the first
//!   malformed token sorts below any valid continuation); we do the same and never fail.
//! * [`Scheme::Dpkg`]: we follow apt (`apt_pkg.version_compare`), which differs from
//!   `dpkg --compare-versions` only on degenerate strings such as an empty revision
//!   (`0:0-` < `0` for apt, `=` for dpkg).
//!
//! ```
//! use std::cmp::Ordering;
//! use keelhaul_version::{compare, Scheme};
//! assert_eq!(compare(Scheme::Dpkg, "1.0~rc1", "1.0").unwrap(), Ordering::Less);
//! ```
#![deny(missing_docs)]

use std::cmp::Ordering;

mod apk;
mod composer;
mod dpkg;
mod gem;
mod maven;
mod nuget;
mod pep440;
mod rpm;
mod semver;
mod util;

/// A version-ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu packages.
    Dpkg,
    /// RPM packages: `[epoch:]version[-release]`.
    Rpm,
    /// Alpine packages.
    Apk,
    /// Python packages.
    Pep440,
    /// SemVer 2.0 as node `semver` orders it (npm, crates.io, Hex, Pub, SwiftURL).
    Semver,
    /// Go modules: SemVer with a leading `v`; `+incompatible` ignored.
    Go,
    /// Maven artifacts.
    Maven,
    /// Ruby gems.
    RubyGems,
    /// NuGet packages.
    NuGet,
    /// Packagist packages.
    Composer,
}

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 10] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Composer,
    ];

    /// A short lowercase name (`dpkg`, `rpm`, `apk`, `pep440`, `semver`, `go`, `maven`,
    /// `rubygems`, `nuget`, `composer`), stable for logs and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::NuGet => "nuget",
            Scheme::Composer => "composer",
        }
    }

    /// The scheme for an OSV `affected[].package.ecosystem` value (`PyPI`, `Debian:12`,
    /// `AlmaLinux:9`, `crates.io`, …), or `None` for ecosystems we cannot order.
    pub fn for_osv_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "AlmaLinux" | "Rocky Linux" | "Red Hat" | "openEuler" | "openSUSE" | "SUSE"
            | "Mageia" | "Photon OS" | "Azure Linux" | "CBL-Mariner" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" | "Hex" | "Pub" | "SwiftURL" => Scheme::Semver,
            "Go" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Composer,
            _ => return None,
        })
    }
}

/// A version string the scheme cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme:?} version {version:?} is not valid: {reason}")]
pub struct VersionError {
    /// The scheme it was read as.
    pub scheme: Scheme,
    /// The text.
    pub version: String,
    /// Why it was refused.
    pub reason: String,
}

/// Compares two versions in a scheme's order.
///
/// Schemes whose reference implementation accepts any string (dpkg is lenient in
/// `apt_pkg`, rpm, Maven, apk…) never fail; strict ones (PEP 440, SemVer, NuGet, RubyGems,
/// Composer) fail on text their reference would reject.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match scheme {
        Scheme::Dpkg => dpkg::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Semver => semver::compare(a, b),
        Scheme::Go => semver::compare_go(a, b),
        Scheme::Maven => maven::compare(a, b),
        Scheme::RubyGems => gem::compare(a, b),
        Scheme::NuGet => nuget::compare(a, b),
        Scheme::Composer => composer::compare(a, b),
    }
}

/// Whether `version` is valid in `scheme` (what [`compare`] would accept).
pub fn is_valid(scheme: Scheme, version: &str) -> bool {
    compare(scheme, version, version).is_ok()
}
