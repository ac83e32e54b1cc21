//! Node.js: `node_modules/**/package.json` (installed), `package-lock.json`, `yarn.lock`, `pnpm-lock.yaml` (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
