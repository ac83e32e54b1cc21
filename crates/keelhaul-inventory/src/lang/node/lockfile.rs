//! npm's `package-lock.json` and `npm-shrinkwrap.json`.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::Package;
use serde_json::{Map, Value};

use super::{Collected, MAX_LOCKFILE, split_name_at};
use crate::lang::common::{MAX_JSON_NODES, check_nodes};

/// The npm lockfile analyzer.
#[derive(Debug, Default)]
pub struct NpmLock;

impl Analyzer for NpmLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "npm-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_LOCKFILE)
            .with_globs(&["**/package-lock.json", "**/npm-shrinkwrap.json"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, problems) = parse_package_lock(content, file.path)?;
        for p in problems {
            out.warn(p);
        }
        out.emit(Fact::Packages {
            db: "package-lock.json".into(),
            packages,
        });
        Ok(())
    }
}

/// Deepest `dependencies` nesting followed in a version-1 lockfile (serde_json itself
/// stops at 128 levels of JSON).
const MAX_DEPTH: usize = 64;

/// The packages a lockfile declares, and problems that did not stop the parse.
///
/// Versions 2 and 3 list every installed path in `packages`: the root (`""`), workspace
/// members (paths outside `node_modules`) and links (`"link": true`) are skipped, and the
/// name is the `name` field or else the path after the last `node_modules/`. Version 1
/// nests `dependencies`; aliases (`"npm:real-name@1.2.3"`) are reported under the real
/// name, `file:` and `link:` entries skipped.
pub(crate) fn parse_package_lock(
    content: &[u8],
    path: &str,
) -> Result<(Vec<Package>, Vec<String>), AnalyzeError> {
    // The tree a JSON parse builds costs ~10× the file; refuse what no real lockfile is.
    check_nodes(content, MAX_JSON_NODES)?;
    let text = String::from_utf8_lossy(content);
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| AnalyzeError::new(format!("not valid JSON: {e}")))?;
    let Some(doc) = doc.as_object() else {
        return Err(AnalyzeError::new(
            "not a lockfile: the top level is not an object",
        ));
    };
    let mut problems = Vec::new();
    let mut found = Collected::new();
    if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            let Some(entry) = entry.as_object() else {
                continue;
            };
            let Some(at) = key.rfind("node_modules/") else {
                // The root project ("") and workspace members: not dependencies.
                continue;
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name = str_field(entry, "name").unwrap_or(&key[at + "node_modules/".len()..]);
            let Some(version) = str_field(entry, "version") else {
                continue;
            };
            if !found.add(name, version, path) {
                break;
            }
        }
    } else if let Some(deps) = doc.get("dependencies").and_then(Value::as_object) {
        v1_dependencies(deps, path, 0, &mut found, &mut problems);
    } else if doc.get("lockfileVersion").is_none() {
        return Err(AnalyzeError::new(
            "not a lockfile: no `lockfileVersion`, `packages` or `dependencies`",
        ));
    }
    Ok((found.finish(&mut problems), problems))
}

fn str_field<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn v1_dependencies(
    deps: &Map<String, Value>,
    path: &str,
    depth: usize,
    found: &mut Collected,
    problems: &mut Vec<String>,
) {
    if depth >= MAX_DEPTH {
        problems.push(format!(
            "`dependencies` nested deeper than {MAX_DEPTH} levels; the rest is not read"
        ));
        return;
    }
    for (name, entry) in deps {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        if let Some(version) = str_field(entry, "version") {
            let (name, version) = match version.strip_prefix("npm:").and_then(split_name_at) {
                Some((real, v)) => (real, v),
                None => (name.as_str(), version),
            };
            if !version.starts_with("file:")
                && !version.starts_with("link:")
                && !found.add(name, version, path)
            {
                return;
            }
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            v1_dependencies(nested, path, depth + 1, found, problems);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(content: &str) -> Vec<String> {
        let (p, problems) =
            parse_package_lock(content.as_bytes(), "app/package-lock.json").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let mut v: Vec<String> = p
            .iter()
            .map(|p| {
                assert_eq!(p.locations[0].path, "app/package-lock.json");
                assert_eq!(p.locations[0].evidence, keelhaul_core::Evidence::Declared);
                format!("{}@{}", p.name, p.version)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn version_3_packages_map() {
        let lock = r#"{
          "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
          "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"debug": "2.6.9"}},
            "node_modules/@babel/code-frame": {"version": "7.22.13", "license": "MIT"},
            "node_modules/debug": {"version": "2.6.9"},
            "node_modules/debug/node_modules/ms": {"version": "2.0.0"},
            "node_modules/ms": {"version": "2.1.3"},
            "node_modules/string-width-cjs": {"name": "string-width", "version": "4.2.3"},
            "node_modules/local": {"resolved": "packages/local", "link": true},
            "packages/local": {"name": "local", "version": "0.1.0"}
          }
        }"#;
        assert_eq!(
            names(lock),
            [
                "@babel/code-frame@7.22.13",
                "debug@2.6.9",
                "ms@2.0.0",
                "ms@2.1.3",
                "string-width@4.2.3"
            ]
        );
    }

    #[test]
    fn version_1_dependencies_tree() {
        let lock = r#"{
          "name": "app", "version": "1.0.0", "lockfileVersion": 1, "requires": true,
          "dependencies": {
            "@babel/code-frame": {"version": "7.22.13", "requires": {"@babel/highlight": "^7.22.13"}},
            "debug": {"version": "2.6.9", "dependencies": {"ms": {"version": "2.0.0"}}},
            "ms": {"version": "2.1.3"},
            "string-width-cjs": {"version": "npm:string-width@4.2.3"},
            "mine": {"version": "file:../mine"}
          }
        }"#;
        assert_eq!(
            names(lock),
            [
                "@babel/code-frame@7.22.13",
                "debug@2.6.9",
                "ms@2.0.0",
                "ms@2.1.3",
                "string-width@4.2.3"
            ]
        );
    }

    #[test]
    fn malformed_lockfiles_are_errors() {
        assert!(parse_package_lock(b"{\"packages\": {", "p").is_err());
        assert!(parse_package_lock(b"[1, 2]", "p").is_err());
        assert!(parse_package_lock(b"{\"hello\": 1}", "p").is_err());
    }
}
