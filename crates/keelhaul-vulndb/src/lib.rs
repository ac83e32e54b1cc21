//! keelhaul's vulnerability database.
//!
//! * [`import`]: feed files (OSV, distro trackers, native advisory formats, NVD/KEV
//!   enrichment) → [`model::Advisory`] / [`model::Enrichment`], format detected per file,
//!   from files, directories and zip/tar(.gz/.zst) archives.
//! * [`Database`]: one SQLite file, versioned schema, advisories indexed by
//!   (ecosystem, package); each import replaces its source's records only.
//! * [`Matcher`]: an inventory in, [`keelhaul_core::Vulnerability`] findings out, with the
//!   per-ecosystem version order of [`keelhaul_version`].
#![deny(missing_docs)]

mod db;
pub mod import;
mod matcher;
pub mod model;
mod names;
pub mod policy;
pub mod range;
pub mod update;

pub use db::{
    Candidate, Database, DbError, SCHEMA_VERSION, SQLITE_MAGIC, SourceData, SourceInfo,
    install_export,
};
pub use matcher::{
    Lookup, MatchOutcome, Matcher, NoLookup, app_feed, distro_feed, evaluate, go_toolchain_semver,
    lookup_for,
};
pub use names::normalize_name;
