//! Application dependencies: one module per ecosystem, each exporting its analyzers.
//!
//! Every analyzer emits [`Fact::Packages`](keelhaul_analyze::Fact::Packages) whose packages
//! carry their [`Evidence`](keelhaul_core::Evidence) in a location:
//! `installed` (package metadata), `declared` (a lockfile or manifest) or `binary` (build
//! metadata embedded in an executable). Purls are filled in when the image is stacked.
//! Malformed files give a warning naming the file; the scan goes on.

pub mod common;
pub mod dotnet;
pub mod golang;
pub mod java;
pub mod node;
pub mod others;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;

use keelhaul_analyze::Analyzer;

/// Every application-dependency analyzer.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    [
        python::analyzers(),
        node::analyzers(),
        golang::analyzers(),
        rust::analyzers(),
        java::analyzers(),
        ruby::analyzers(),
        php::analyzers(),
        dotnet::analyzers(),
        others::analyzers(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
