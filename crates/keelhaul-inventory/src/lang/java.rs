//! Java: JAR/WAR/EAR/JPI/HPI archives, nested ones included (installed), `pom.xml` and Gradle lockfiles (declared).
//!
//! * [`JavaArchive`] opens each archive from memory and reads, in order of trust,
//!   `META-INF/maven/**/pom.properties`, then `META-INF/MANIFEST.MF`, then the file name.
//!   The archive's own identity is one package (located at the archive); every other
//!   embedded `pom.properties` (shaded and uber jars) is one more package located at
//!   `archive!META-INF/maven/…/pom.properties`; archives inside it (Spring Boot's
//!   `BOOT-INF/lib`, a WAR's `WEB-INF/lib`, an EAR's modules) are read the same way, at
//!   `archive!member`, to a bounded depth and within bounded decompressed bytes and entries.
//! * [`MavenPom`] reads `pom.xml` without network resolution: the project's coordinates
//!   (inheriting from `<parent>`), and dependencies with versions, `${…}` properties
//!   resolved from the same file.
//! * [`GradleLock`] reads `gradle.lockfile` and `gradle/dependency-locks/*.lockfile`.
//!
//! Package names are Maven's `groupId:artifactId` (just `artifactId` when no groupId can
//! be told), so the purl is `pkg:maven/groupId/artifactId@version`.

mod archive;
mod gradle;
mod manifest;
mod pom;

#[cfg(test)]
mod archive_tests;

use keelhaul_analyze::Analyzer;
use keelhaul_core::{Ecosystem, Evidence, Package};

pub use archive::JavaArchive;
pub use gradle::GradleLock;
pub use pom::MavenPom;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(JavaArchive::default()),
        Box::new(MavenPom),
        Box::new(GradleLock),
    ]
}

/// A Maven package found at `path` with the given evidence.
fn maven_package(
    group: Option<&str>,
    artifact: &str,
    version: &str,
    path: impl Into<String>,
    evidence: Evidence,
) -> Package {
    let name = match group.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => format!("{g}:{}", artifact.trim()),
        None => artifact.trim().to_owned(),
    };
    Package::found_at(Ecosystem::Maven, name, version.trim(), path, evidence)
}

/// Whether a string can be a Maven coordinate part: no whitespace, no separators, no
/// unresolved `${…}`.
fn valid_coordinate(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s.contains(['$', '{', '}', ':', '/', '\\'])
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}
