//! Gradle dependency lockfiles: `gradle.lockfile` (Gradle 6.8+, one per project) and the
//! older per-configuration `gradle/dependency-locks/*.lockfile`.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Evidence, Package};

use super::{maven_package, valid_coordinate};

/// The Gradle lockfile analyzer.
#[derive(Debug, Default)]
pub struct GradleLock;

const MAX_LOCKFILE: u64 = 16 << 20;
const MAX_PACKAGES: usize = 100_000;

impl Analyzer for GradleLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "gradle-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_LOCKFILE).with_globs(&[
            "**/gradle.lockfile",
            "**/buildscript-gradle.lockfile",
            "**/gradle/dependency-locks/*.lockfile",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, problems) = parse_gradle_lock(content, file.path)?;
        for p in problems {
            out.warn(p);
        }
        out.emit(Fact::Packages {
            db: "gradle.lockfile".into(),
            packages,
        });
        Ok(())
    }
}

/// `group:artifact:version=configuration,…` lines (the older format has no `=…`);
/// comments start with `#`; `empty=…` lists configurations without dependencies.
pub(crate) fn parse_gradle_lock(
    content: &[u8],
    path: &str,
) -> Result<(Vec<Package>, Vec<String>), AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    let mut bad = 0usize;
    let mut lines = 0usize;
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        lines += 1;
        let coordinate = line.split_once('=').map_or(line, |(c, _)| c).trim();
        if coordinate == "empty" {
            continue;
        }
        let parts: Vec<&str> = coordinate.split(':').collect();
        let [group, artifact, version] = parts[..] else {
            bad += 1;
            continue;
        };
        if !(valid_coordinate(group) && valid_coordinate(artifact) && valid_coordinate(version)) {
            bad += 1;
            continue;
        }
        if packages.len() == MAX_PACKAGES {
            problems.push(format!(
                "more than {MAX_PACKAGES} packages; only the first {MAX_PACKAGES} are read"
            ));
            break;
        }
        if seen.insert(coordinate.to_owned()) {
            packages.push(maven_package(
                Some(group),
                artifact,
                version,
                path,
                Evidence::Declared,
            ));
        }
    }
    if lines > 0 && packages.is_empty() && bad == lines {
        return Err(AnalyzeError::new(
            "not a Gradle lockfile: no `group:artifact:version` line",
        ));
    }
    if bad > 0 {
        problems.push(format!(
            "{bad} lines are not `group:artifact:version`; skipped"
        ));
    }
    Ok((packages, problems))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gradle_lockfile_formats() {
        let lock = "# This is a Gradle generated file for dependency locking.\n\
# Manual edits can break the build and are not advised.\n\
# This file is expected to be part of source control.\n\
com.fasterxml.jackson.core:jackson-databind:2.13.4.2=compileClasspath,runtimeClasspath\n\
com.google.guava:guava:31.1-jre=runtimeClasspath\n\
org.apache.logging.log4j:log4j-core:2.14.1=runtimeClasspath,testRuntimeClasspath\n\
empty=annotationProcessor,testAnnotationProcessor\n";
        let (p, problems) = parse_gradle_lock(lock.as_bytes(), "app/gradle.lockfile").unwrap();
        assert!(problems.is_empty());
        let names: Vec<String> = p
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(
            names,
            [
                "com.fasterxml.jackson.core:jackson-databind@2.13.4.2",
                "com.google.guava:guava@31.1-jre",
                "org.apache.logging.log4j:log4j-core@2.14.1"
            ]
        );
        assert!(
            p.iter()
                .all(|p| p.locations[0].evidence == Evidence::Declared
                    && p.locations[0].path == "app/gradle.lockfile")
        );

        // The pre-6.8 per-configuration format has no `=configurations`.
        let old = "# comment\norg.slf4j:slf4j-api:1.7.36\n";
        let (p, _) = parse_gradle_lock(old.as_bytes(), "p").unwrap();
        assert_eq!(p[0].name, "org.slf4j:slf4j-api");

        assert!(parse_gradle_lock(b"{\"json\": true}", "p").is_err());
    }
}
