//! Dart `pubspec.lock`, Elixir `mix.lock`, Swift `Package.resolved`, Conan `conan.lock` (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
