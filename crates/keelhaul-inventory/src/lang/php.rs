//! PHP: `vendor/composer/installed.json` (installed), `composer.lock` (declared).
//!
//! Composer 1 writes `installed.json` as an array of packages, Composer 2 as
//! `{"packages": [...], "dev": …, "dev-package-names": [...]}`; `composer.lock` lists
//! `packages` and `packages-dev`. Names are `vendor/name`, versions as Composer writes them
//! (`v5.4.0` keeps its `v`, as Packagist and the advisories do).

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};
use serde_json::Value;

use super::common::{Found, MAX_JSON_NODES, check_nodes, one_line};

/// Both files carry every package's full metadata: a large application's are a few MB.
const MAX_FILE: u64 = 32 << 20;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(Composer)]
}

/// The Composer analyzer.
#[derive(Debug, Default)]
pub struct Composer;

impl Analyzer for Composer {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "composer",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE)
            .with_globs(&["**/vendor/composer/installed.json", "**/composer.lock"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_composer(file.path, content)?.emit(out);
        Ok(())
    }
}

/// `installed.json` (installed) or `composer.lock` (declared), by the file's name.
pub fn parse_composer(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    check_nodes(content, MAX_JSON_NODES)?;
    let doc: Value = serde_json::from_str(&String::from_utf8_lossy(content))
        .map_err(|e| AnalyzeError::new(format!("not valid JSON: {}", one_line(e))))?;
    let lock = path.rsplit('/').next() == Some("composer.lock");
    let (db, evidence, lists): (_, _, Vec<&Value>) = if lock {
        let Some(obj) = doc.as_object() else {
            return Err(AnalyzeError::new("not a JSON object"));
        };
        let lists = ["packages", "packages-dev"]
            .iter()
            .filter_map(|k| obj.get(*k))
            .collect();
        ("composer.lock", Evidence::Declared, lists)
    } else {
        match &doc {
            // Composer 1.
            Value::Array(_) => ("composer-installed", Evidence::Installed, vec![&doc]),
            // Composer 2.
            Value::Object(obj) => (
                "composer-installed",
                Evidence::Installed,
                obj.get("packages").into_iter().collect(),
            ),
            _ => return Err(AnalyzeError::new("neither an array nor an object")),
        }
    };
    let mut found = Found::of(db);
    let mut unusable = 0usize;
    'lists: for list in lists {
        let Some(list) = list.as_array() else {
            return Err(AnalyzeError::new("a package list is not an array"));
        };
        for entry in list {
            let text = |k: &str| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let (Some(name), Some(version)) = (text("name"), text("version")) else {
                unusable += 1;
                continue;
            };
            if !name.contains('/') {
                unusable += 1;
                continue;
            }
            let mut p = Package::found_at(Ecosystem::Composer, name, version, path, evidence);
            p.licenses = match entry.get("license") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            };
            let authors: Vec<&str> = entry
                .get("authors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("name").and_then(Value::as_str))
                .collect();
            p.supplier = (!authors.is_empty()).then(|| authors.join(", "));
            if !found.add(p) {
                break 'lists;
            }
        }
    }
    if unusable > 0 {
        found.warnings.push(format!(
            "{unusable} package entries without a `vendor/name` and a version; skipped"
        ));
    }
    Ok(found)
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    /// Composer 2.5's `vendor/composer/installed.json` (trimmed: autoload and
    /// description fields removed).
    const INSTALLED_V2: &str = include_str!("php/testdata/installed.json");

    fn names(found: &Found) -> Vec<(&str, &str)> {
        let mut v: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn installed_json_v2_and_v1() {
        let path = "var/www/vendor/composer/installed.json";
        let found = parse_composer(path, INSTALLED_V2.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![
                ("monolog/monolog", "2.9.1"),
                ("phpunit/phpunit", "9.6.5"),
                ("psr/log", "3.0.0"),
                ("symfony/console", "v5.4.21"),
            ]
        );
        let monolog = &found.packages[0];
        assert_eq!(monolog.ecosystem, Ecosystem::Composer);
        assert_eq!(monolog.licenses, vec!["MIT"]);
        assert_eq!(monolog.supplier.as_deref(), Some("Jordi Boggiano"));
        assert_eq!(monolog.locations[0].evidence, Evidence::Installed);
        assert_eq!(monolog.locations[0].path, path);

        // Composer 1 wrote the bare array.
        let v2: Value = serde_json::from_str(INSTALLED_V2).unwrap();
        let v1 = serde_json::to_vec(&v2["packages"]).unwrap();
        let found = parse_composer(path, &v1).unwrap();
        assert_eq!(found.packages.len(), 4);
    }

    /// `composer.lock` as Composer 2.5 writes it (trimmed).
    const LOCK: &str = r#"{
    "_readme": ["This file locks the dependencies of your project to a known state", "Read more about it at https://getcomposer.org/doc/01-basic-usage.md#installing-dependencies", "This file is @generated automatically"],
    "content-hash": "5cb1e0e4fbbb0c3d1d0d1ed1a5a5c8f1",
    "packages": [
        {"name": "guzzlehttp/guzzle", "version": "7.5.0", "license": ["MIT"], "type": "library"},
        {"name": "psr/log", "version": "3.0.0", "license": ["MIT"], "type": "library"}
    ],
    "packages-dev": [
        {"name": "phpunit/phpunit", "version": "9.6.5", "license": ["BSD-3-Clause"], "type": "library"}
    ],
    "aliases": [],
    "minimum-stability": "stable",
    "stability-flags": [],
    "prefer-stable": false,
    "prefer-lowest": false,
    "platform": {"php": ">=8.1"},
    "platform-dev": [],
    "plugin-api-version": "2.3.0"
}"#;

    #[test]
    fn composer_lock_with_dev_packages() {
        let found = parse_composer("app/composer.lock", LOCK.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![
                ("guzzlehttp/guzzle", "7.5.0"),
                ("phpunit/phpunit", "9.6.5"),
                ("psr/log", "3.0.0"),
            ]
        );
        assert!(
            found
                .packages
                .iter()
                .all(|p| p.locations[0].evidence == Evidence::Declared)
        );
        assert_eq!(found.db, "composer.lock");
    }

    #[test]
    fn bad_composer_files() {
        let installed = "vendor/composer/installed.json";
        assert!(parse_composer(installed, b"{\"packages\": [").is_err());
        assert!(parse_composer(installed, b"42").is_err());
        assert!(parse_composer("composer.lock", b"[]").is_err());
        assert!(parse_composer(installed, b"{\"packages\": {\"a\": 1}}").is_err());
        let found = parse_composer(
            installed,
            b"[{\"name\": \"novendor\", \"version\": \"1\"}, {\"name\": \"a/b\"}, {\"name\": \"c/d\", \"version\": \"1.0\", \"license\": \"caf\xe9\"}]",
        )
        .unwrap();
        assert_eq!(names(&found), vec![("c/d", "1.0")]);
        assert_eq!(found.packages[0].licenses, vec!["caf\u{fffd}"]);
        assert_eq!(found.warnings.len(), 1);
    }
}
