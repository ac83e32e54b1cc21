//! Go: module build info in ELF, PE and Mach-O executables (binary), `go.mod` (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
