//! Java: JAR/WAR/EAR/JPI/HPI archives, nested ones included (installed), `pom.xml` and Gradle lockfiles (declared).

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    Vec::new()
}
