//! What is installed in an image: the analyzers that read OS package databases and
//! release files from layers, and the stacking of their per-layer facts into one
//! [`Inventory`].
//!
//! * [`default_analyzers`] is the analyzer set `keelhaul scan` uses.
//! * [`build`] turns the ordered layer facts into an [`Inventory`]: the OS ([`detect_os`]),
//!   every installed package with its purl, the layer that installed it and the files it
//!   owns.
//!
//! Each database format is one module of [`pkgdb`]; OS detection is [`os`].
#![deny(missing_docs)]

pub mod lang;
pub mod os;
pub mod pkgdb;
mod squash;

use keelhaul_analyze::Analyzer;
pub use os::detect as detect_os;
pub use squash::{Inventory, build};

/// The analyzers of a full inventory: release files, OS package databases (dpkg, apk,
/// rpm) and every application ecosystem of [`lang`].
pub fn default_analyzers() -> Vec<Box<dyn Analyzer>> {
    let mut analyzers: Vec<Box<dyn Analyzer>> = vec![
        Box::new(os::ReleaseFiles),
        Box::new(pkgdb::dpkg::Dpkg),
        Box::new(pkgdb::apk::Apk),
        Box::new(pkgdb::rpm::Rpm),
    ];
    analyzers.extend(lang::analyzers());
    analyzers
}
