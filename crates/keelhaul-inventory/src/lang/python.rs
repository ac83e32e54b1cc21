//! Python: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `conda-meta/*.json` (installed), `poetry.lock`, `Pipfile.lock`, `uv.lock`, `pdm.lock`, pinned `requirements*.txt` (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
