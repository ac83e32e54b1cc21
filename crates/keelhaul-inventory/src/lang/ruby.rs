//! Ruby: `specifications/*.gemspec` (installed), `Gemfile.lock` (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
