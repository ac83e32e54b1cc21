//! Yarn's `yarn.lock`: classic (v1, its own text format) and berry (v2+, YAML).

use std::collections::BTreeMap;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::Package;
use serde::Deserialize;

use super::{Collected, MAX_LOCKFILE, split_name_at};

/// The yarn lockfile analyzer.
#[derive(Debug, Default)]
pub struct YarnLock;

impl Analyzer for YarnLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "yarn-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_LOCKFILE).with_globs(&["**/yarn.lock"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, problems) = parse_yarn_lock(content, file.path)?;
        for p in problems {
            out.warn(p);
        }
        out.emit(Fact::Packages {
            db: "yarn.lock".into(),
            packages,
        });
        Ok(())
    }
}

/// Protocols whose entries are not registry packages: the project's own workspaces, links
/// to directories, and patches (whose unpatched original has its own entry).
const SKIPPED_PROTOCOLS: [&str; 5] = ["workspace:", "link:", "portal:", "patch:", "exec:"];

/// The packages a `yarn.lock` declares, either format.
pub(crate) fn parse_yarn_lock(
    content: &[u8],
    path: &str,
) -> Result<(Vec<Package>, Vec<String>), AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let text = text.trim_start_matches('\u{feff}');
    let berry = text
        .lines()
        .any(|l| l.starts_with("__metadata:") || l.starts_with("\"__metadata\":"));
    let mut problems = Vec::new();
    let found = if berry {
        berry_lock(text, path)?
    } else {
        classic_lock(text, path)?
    };
    Ok((found.finish(&mut problems), problems))
}

/// Yarn classic: unindented lines list the specifiers an entry resolves
/// (`"@babel/core@^7.0.0", "@babel/core@^7.1.0":`), indented ones its fields
/// (`  version "7.1.0"`).
fn classic_lock(text: &str, path: &str) -> Result<Collected, AnalyzeError> {
    let mut found = Collected::new();
    let mut current: Option<(String, bool)> = None;
    let mut entries = 0usize;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            let Some(key) = line.trim_end().strip_suffix(':') else {
                return Err(AnalyzeError::new(format!(
                    "not a yarn lockfile: unexpected line `{}`",
                    truncate(line)
                )));
            };
            entries += 1;
            current = entry_name(key);
            continue;
        }
        let field = line.trim();
        if let Some(v) = field.strip_prefix("version ")
            && line.len() - line.trim_start().len() == 2
            && let Some((name, keep)) = &current
        {
            if *keep && !found.add(name, unquote(v), path) {
                break;
            }
            current = None;
        }
    }
    if entries == 0 && !text.contains("yarn lockfile") {
        return Err(AnalyzeError::new("not a yarn lockfile: no entries"));
    }
    Ok(found)
}

/// The package name of a classic entry from its first specifier: `name@range`, with npm
/// aliases (`alias@npm:real@range`) reported under the real name. `false` for links.
fn entry_name(key: &str) -> Option<(String, bool)> {
    let first = key.split(", ").next()?.trim();
    let (name, range) = split_name_at(unquote(first))?;
    let range = range.trim();
    if let Some((real, _)) = range.strip_prefix("npm:").and_then(split_name_at) {
        return Some((real.to_owned(), true));
    }
    let keep =
        !SKIPPED_PROTOCOLS.iter().any(|p| range.starts_with(p)) && !range.starts_with("file:");
    Some((name.to_owned(), keep))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// One berry entry; every field is optional so that unusual entries are skipped, not fatal.
#[derive(Debug, Deserialize)]
struct BerryEntry {
    #[serde(default)]
    version: Option<Scalar>,
    #[serde(default)]
    resolution: Option<String>,
    #[serde(default, rename = "linkType")]
    link_type: Option<String>,
}

/// A YAML scalar read as its text, whatever type YAML would give it.
#[derive(Debug)]
pub(super) struct Scalar(pub(super) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// YAML parse limits: generous for real lockfiles (a large monorepo's is a few hundred
/// thousand events), bounded for hostile ones (anchors and aliases).
pub(super) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 20_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
        },
    }
}

/// Yarn berry: YAML whose keys are specifier lists (`"ms@npm:^2.0.0, ms@npm:^2.1.1"`) and
/// whose `resolution` names the package and protocol (`ms@npm:2.1.3`).
fn berry_lock(text: &str, path: &str) -> Result<Collected, AnalyzeError> {
    let doc: BTreeMap<String, BerryEntry> =
        serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|e| AnalyzeError::new(format!("not valid YAML: {}", first_line(&e))))?;
    let mut found = Collected::new();
    for (key, entry) in doc {
        if key == "__metadata" {
            continue;
        }
        if entry.link_type.as_deref() == Some("soft") {
            continue;
        }
        let resolution = entry.resolution.as_deref().unwrap_or(&key);
        let Some((name, reference)) = split_name_at(resolution.trim()) else {
            continue;
        };
        if SKIPPED_PROTOCOLS.iter().any(|p| reference.starts_with(p)) {
            continue;
        }
        let version = match &entry.version {
            Some(Scalar(v)) => v.as_str(),
            None => match reference.strip_prefix("npm:") {
                Some(v) => v,
                None => continue,
            },
        };
        if version.ends_with("-use.local") {
            continue;
        }
        if !found.add(name, version, path) {
            break;
        }
    }
    Ok(found)
}

pub(super) fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(content: &str) -> Vec<String> {
        let (p, problems) = parse_yarn_lock(content.as_bytes(), "yarn.lock").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let mut v: Vec<String> = p
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn classic_entries_aliases_and_links() {
        let lock = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@7.22.13", "@babel/code-frame@^7.0.0":
  version "7.22.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.22.13.tgz#e3c1c0"
  integrity sha512-XktuhWlJ5g==
  dependencies:
    chalk "^2.4.2"

debug@2.6.9:
  version "2.6.9"
  dependencies:
    ms "2.0.0"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"

"mine@link:../mine":
  version "0.0.0"

ms@2.0.0:
  version "2.0.0"
"#;
        assert_eq!(
            names(lock),
            [
                "@babel/code-frame@7.22.13",
                "debug@2.6.9",
                "ms@2.0.0",
                "string-width@4.2.3"
            ]
        );
    }

    #[test]
    fn berry_entries_skip_workspaces_links_and_patches() {
        let lock = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/code-frame@npm:7.22.13":
  version: 7.22.13
  resolution: "@babel/code-frame@npm:7.22.13"
  checksum: 10c0/f4cc8a
  languageName: node
  linkType: hard

"ms@npm:2.0.0, ms@npm:^2.0.0":
  version: 2.0.0
  resolution: "ms@npm:2.0.0"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.1#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"resolve@npm:^1.22.1":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"local@link:../local::locator=app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "local@link:../local::locator=app%40workspace%3A."
  languageName: node
  linkType: soft

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft
"#;
        assert_eq!(
            names(lock),
            [
                "@babel/code-frame@7.22.13",
                "ms@2.0.0",
                "resolve@1.22.8",
                "string-width@4.2.3"
            ]
        );
    }

    #[test]
    fn malformed_yarn_lockfiles_are_errors() {
        assert!(parse_yarn_lock(b"__metadata:\n  version: [\n", "p").is_err());
        assert!(parse_yarn_lock(b"this is not\na lockfile\n", "p").is_err());
        // An alias bomb is refused by the YAML budget, not expanded.
        let mut bomb =
            String::from("__metadata:\n  version: 8\na: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..30 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse_yarn_lock(bomb.as_bytes(), "p").is_err());
    }
}
