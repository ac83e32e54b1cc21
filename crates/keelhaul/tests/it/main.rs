//! End-to-end tests of the `keelhaul` binary on real images. Tests whose tools or data are
//! missing skip with a message (set `KEELHAUL_REQUIRE_INTEGRATION=1` to make them fail).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod archives;
mod cache;
mod debian;
mod detect;
mod hostile;
mod lang_go;
mod lang_java;
mod lang_node;
mod lang_python;
mod os_packages;
mod registry;
mod sbom;
mod service;
mod vulns;
