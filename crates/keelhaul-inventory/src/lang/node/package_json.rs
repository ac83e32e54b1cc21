//! Installed packages: each `package.json` under `node_modules`.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};
use serde_json::Value;

use super::valid_name;

/// The installed-package analyzer: one `package.json` per installed package.
#[derive(Debug, Default)]
pub struct NodePackage;

/// Old npm releases copied the README into the installed `package.json`; a few hundred
/// KB is a large one.
const MAX_PACKAGE_JSON: u64 = 8 << 20;

/// Directories holding installed packages besides `node_modules`: Debian's global module
/// directories (`node-*` packages install there).
const GLOBAL_DIRS: [&str; 2] = ["usr/share/nodejs", "usr/lib/nodejs"];

impl Analyzer for NodePackage {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "node-package",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_PACKAGE_JSON).with_globs(&[
            "**/node_modules/*/package.json",
            "**/node_modules/@*/*/package.json",
            "usr/share/nodejs/*/package.json",
            "usr/share/nodejs/@*/*/package.json",
            "usr/lib/nodejs/*/package.json",
            "usr/lib/nodejs/@*/*/package.json",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        if !is_package_dir(file.path) {
            return Ok(());
        }
        if let Some(p) = parse_package_json(content, file.path)? {
            out.emit(Fact::Packages {
                db: "package.json".into(),
                packages: vec![p],
            });
        }
        Ok(())
    }
}

/// Whether `path` (`…/package.json`) is the manifest of a package directory: directly in
/// a module directory (`node_modules/NAME`), or in a scope there
/// (`node_modules/@scope/NAME`). A scope directory itself (`node_modules/@scope`) and
/// hidden directories (`node_modules/.bin`, `.pnpm`) are not packages.
pub(super) fn is_package_dir(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
    if name.starts_with(['.', '@']) || name.is_empty() {
        return false;
    }
    let is_module_dir =
        |d: &str| d == "node_modules" || d.ends_with("/node_modules") || GLOBAL_DIRS.contains(&d);
    if is_module_dir(parent) {
        return true;
    }
    match parent.rsplit_once('/') {
        Some((grand, scope)) => scope.len() > 1 && scope.starts_with('@') && is_module_dir(grand),
        None => false,
    }
}

/// The package a `package.json` describes; `None` when it lacks a name or a version
/// (test fixtures, templates). Invalid JSON is an error.
pub(crate) fn parse_package_json(
    content: &[u8],
    path: &str,
) -> Result<Option<Package>, AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| AnalyzeError::new(format!("not valid JSON: {e}")))?;
    let field = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let (Some(name), Some(version)) = (field("name"), field("version")) else {
        return Ok(None);
    };
    if !valid_name(name) {
        return Ok(None);
    }
    let mut p = Package::found_at(Ecosystem::Npm, name, version, path, Evidence::Installed);
    p.licenses = licenses(&doc);
    p.supplier = author(&doc);
    Ok(Some(p))
}

/// `license: "MIT"`, `license: {"type": "MIT"}`, or the legacy
/// `licenses: [{"type": "MIT"}, "ISC"]`.
fn licenses(doc: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Object(o) => o
            .get("type")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_owned()),
        _ => None,
    };
    let mut out: Vec<String> = Vec::new();
    if let Some(l) = doc.get("license").and_then(one) {
        out.push(l);
    }
    if let Some(Value::Array(list)) = doc.get("licenses") {
        out.extend(list.iter().filter_map(one));
    }
    out.retain(|l| !l.is_empty());
    out.dedup();
    out
}

/// `author: "Name <mail> (url)"` or `author: {"name": …}`.
fn author(doc: &Value) -> Option<String> {
    let a = match doc.get("author")? {
        Value::String(s) => s.trim().to_owned(),
        Value::Object(o) => o.get("name")?.as_str()?.trim().to_owned(),
        _ => return None,
    };
    (!a.is_empty()).then_some(a)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn package_directories() {
        assert!(is_package_dir("app/node_modules/lodash/package.json"));
        assert!(is_package_dir("node_modules/lodash/package.json"));
        assert!(is_package_dir("app/node_modules/@babel/core/package.json"));
        assert!(is_package_dir(
            "app/node_modules/debug/node_modules/ms/package.json"
        ));
        assert!(is_package_dir(
            "app/node_modules/.pnpm/ms@2.0.0/node_modules/ms/package.json"
        ));
        assert!(is_package_dir("usr/share/nodejs/acorn/package.json"));
        assert!(is_package_dir("usr/share/nodejs/@types/node/package.json"));
        assert!(!is_package_dir("app/node_modules/@babel/package.json"));
        assert!(!is_package_dir("app/node_modules/.bin/package.json"));
        assert!(!is_package_dir("app/node_modules/lodash/test/package.json"));
        assert!(!is_package_dir("app/package.json"));
    }

    #[test]
    fn reads_name_version_license_author() {
        let json = br#"{"name": "@babel/code-frame", "version": "7.22.13",
            "license": "MIT", "author": {"name": "The Babel Team", "url": "https://babel.dev"}}"#;
        let p = parse_package_json(json, "n/@babel/code-frame/package.json")
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("@babel/code-frame", "7.22.13")
        );
        assert_eq!(p.licenses, vec!["MIT"]);
        assert_eq!(p.supplier.as_deref(), Some("The Babel Team"));
        assert_eq!(p.locations[0].evidence, Evidence::Installed);
        assert_eq!(p.locations[0].path, "n/@babel/code-frame/package.json");

        let legacy = br#"{"name": "x", "version": "1.0.0",
            "licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]}"#;
        let p = parse_package_json(legacy, "p").unwrap().unwrap();
        assert_eq!(p.licenses, vec!["MIT", "Apache-2.0"]);
    }

    #[test]
    fn fixtures_without_name_or_version_are_skipped() {
        assert!(
            parse_package_json(br#"{"name": "x"}"#, "p")
                .unwrap()
                .is_none()
        );
        assert!(
            parse_package_json(br#"{"version": "1.0.0"}"#, "p")
                .unwrap()
                .is_none()
        );
        assert!(
            parse_package_json(br#"{"name": "x", "version": 1}"#, "p")
                .unwrap()
                .is_none()
        );
        assert!(parse_package_json(b"{\"name\": ", "p").is_err());
    }

    #[test]
    fn non_utf8_is_read_lossily() {
        let mut json = br#"{"name": "latin", "version": "1.0.0", "description": ""#.to_vec();
        json.extend_from_slice(b"caf\xe9\"}");
        let p = parse_package_json(&json, "p").unwrap().unwrap();
        assert_eq!(p.name, "latin");
    }
}
