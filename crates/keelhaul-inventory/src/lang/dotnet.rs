//! .NET: `*.deps.json` (installed), `packages.lock.json` (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
