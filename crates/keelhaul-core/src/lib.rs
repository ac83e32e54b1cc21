//! The shared vocabulary of keelhaul.
//!
//! Every stage of the pipeline (image sources → layer analysis → inventory → matching →
//! findings → reports) speaks in these types, and none of them does I/O:
//!
//! * [`Digest`]: a content address (`sha256:…`), parsed and validated once.
//! * [`Platform`]: `os/arch[/variant]`, as image indexes and `--platform` name it.
//! * [`Package`]: one installed package, with its [`Ecosystem`], purl and the
//!   [`Location`]s (layer + path) it was found at.
//! * [`OsRelease`]: the distribution an image is built on.
//! * [`Hint`]: errors that can tell the user what to do next.
//! * [`Vulnerability`]: one finding, with its [`Severity`] and [`FixStatus`].
//!
//! ```
//! use keelhaul_core::{Digest, Platform};
//! let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse().unwrap();
//! assert_eq!(d.algorithm(), "sha256");
//! let p: Platform = "linux/arm64/v8".parse().unwrap();
//! assert_eq!(p.to_string(), "linux/arm64/v8");
//! ```
#![deny(missing_docs)]

mod detect;
mod digest;
mod hint;
mod os;
mod package;
mod platform;
mod vuln;

pub use detect::{BaselineFinding, MalwareFinding, MalwareKind, SecretFinding};
pub use digest::{Digest, DigestError, Hasher};
pub use hint::Hint;
pub use os::OsRelease;
pub use package::{Ecosystem, Evidence, Location, Package, pep503_name, purl_for};
pub use platform::{Platform, PlatformError};
pub use vuln::{Cvss, FindingClass, FixStatus, PackageRef, Severity, SeverityError, Vulnerability};
