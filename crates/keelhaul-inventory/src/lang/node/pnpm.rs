//! pnpm's `pnpm-lock.yaml`: lockfile versions 5.x (`/name/1.2.3_peer@4`), 6.0 and 7.0
//! (`/name@1.2.3(peer@4)`) and 9.0 (`name@1.2.3` in `packages`, peers in `snapshots`).

use std::collections::BTreeMap;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::Package;
use serde::Deserialize;

use super::yarn::{Scalar, first_line, yaml_options};
use super::{Collected, MAX_LOCKFILE, split_name_at};

/// The pnpm lockfile analyzer.
#[derive(Debug, Default)]
pub struct PnpmLock;

impl Analyzer for PnpmLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "pnpm-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_LOCKFILE).with_globs(&["**/pnpm-lock.yaml"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, problems) = parse_pnpm_lock(content, file.path)?;
        for p in problems {
            out.warn(p);
        }
        out.emit(Fact::Packages {
            db: "pnpm-lock.yaml".into(),
            packages,
        });
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default, rename = "lockfileVersion")]
    lockfile_version: Option<Scalar>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<Scalar>,
    #[serde(default)]
    resolution: Option<Resolution>,
}

#[derive(Debug, Deserialize)]
struct Resolution {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The packages a `pnpm-lock.yaml` declares.
pub(crate) fn parse_pnpm_lock(
    content: &[u8],
    path: &str,
) -> Result<(Vec<Package>, Vec<String>), AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let lock: Lock =
        serde_saphyr::from_str_with_options(text.trim_start_matches('\u{feff}'), yaml_options())
            .map_err(|e| AnalyzeError::new(format!("not valid YAML: {}", first_line(&e))))?;
    let Some(Scalar(version)) = &lock.lockfile_version else {
        return Err(AnalyzeError::new(
            "not a pnpm lockfile: no `lockfileVersion`",
        ));
    };
    // 5.x keys separate the version with `/`; 6.0 and later with `@`.
    let slash_keys = version
        .trim_matches(['\'', '"'])
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .is_some_and(|major| major < 6);
    let mut problems = Vec::new();
    let mut found = Collected::new();
    for (key, entry) in lock.packages.iter().flatten() {
        // Local directories (`file:` dependencies on a folder) are the project's own code.
        if entry.resolution.as_ref().and_then(|r| r.kind.as_deref()) == Some("directory") {
            continue;
        }
        let Some((name, version)) = package_key(key, entry, slash_keys) else {
            continue;
        };
        if !found.add(&name, &version, path) {
            break;
        }
    }
    Ok((found.finish(&mut problems), problems))
}

/// Name and version of a `packages` entry: from its key, or from its `name` and `version`
/// fields (tarball and git dependencies have those, and keys that are URLs).
fn package_key(key: &str, entry: &Entry, slash_keys: bool) -> Option<(String, String)> {
    let field_version = entry.version.as_ref().map(|Scalar(v)| v.trim());
    if let (Some(name), Some(version)) = (entry.name.as_deref(), field_version) {
        return Some((name.trim().to_owned(), version.to_owned()));
    }
    let key = key.trim().strip_prefix('/').unwrap_or(key.trim());
    let (name, version) = if slash_keys {
        // `name/1.2.3_peer@1.0.0` or `@scope/name/1.2.3`.
        let name_end = if key.starts_with('@') {
            let scope_end = key.find('/')?;
            scope_end + 1 + key[scope_end + 1..].find('/')?
        } else {
            key.find('/')?
        };
        let version = &key[name_end + 1..];
        let version = version.split('_').next().unwrap_or(version);
        (&key[..name_end], version)
    } else {
        // `name@1.2.3(peer@1.0.0)` or `@scope/name@1.2.3`.
        let without_peers = key.split('(').next().unwrap_or(key);
        split_name_at(without_peers)?
    };
    let version = match field_version {
        Some(v) if !version.starts_with(|c: char| c.is_ascii_digit()) => v,
        _ => version,
    };
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        // `link:`, `file:` and URL references without a version field.
        return None;
    }
    Some((name.to_owned(), version.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(content: &str) -> Vec<String> {
        let (p, problems) = parse_pnpm_lock(content.as_bytes(), "pnpm-lock.yaml").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let mut v: Vec<String> = p
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn version_5_keys_with_peer_suffixes() {
        let lock = r#"lockfileVersion: 5.4

specifiers:
  react-dom: 18.2.0

packages:

  /@babel/code-frame/7.22.13:
    resolution: {integrity: sha512-X}
    dev: false

  /react-dom/18.2.0_react@18.2.0:
    resolution: {integrity: sha512-Y}
    peerDependencies:
      react: ^18.2.0

  /@emotion/react/11.11.1_d9d2f1bb46b6ba9b0e8ba0b1ab2f3f29:
    resolution: {integrity: sha512-Z}

  /string_decoder/1.3.0:
    resolution: {integrity: sha512-W}

  file:packages/local:
    resolution: {directory: packages/local, type: directory}
    name: local
    version: 0.1.0

  github.com/user/repo/0123abc:
    resolution: {tarball: https://codeload.github.com/user/repo/tar.gz/0123abc}
    name: repo
    version: 2.0.0
"#;
        assert_eq!(
            names(lock),
            [
                "@babel/code-frame@7.22.13",
                "@emotion/react@11.11.1",
                "react-dom@18.2.0",
                "repo@2.0.0",
                "string_decoder@1.3.0"
            ]
        );
    }

    #[test]
    fn version_6_and_9_keys() {
        let v6 = r#"lockfileVersion: '6.0'

packages:

  /@babel/code-frame@7.22.13:
    resolution: {integrity: sha512-X}

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-Y}

  /@testing-library/react@14.0.0(react-dom@18.2.0)(react@18.2.0):
    resolution: {integrity: sha512-Z}
"#;
        assert_eq!(
            names(v6),
            [
                "@babel/code-frame@7.22.13",
                "@testing-library/react@14.0.0",
                "react-dom@18.2.0"
            ]
        );
        let v9 = r#"lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      react-dom:
        specifier: 18.2.0
        version: 18.2.0(react@18.2.0)

packages:

  '@babel/code-frame@7.22.13':
    resolution: {integrity: sha512-X}

  react-dom@18.2.0:
    resolution: {integrity: sha512-Y}

  local@file:packages/local:
    resolution: {directory: packages/local, type: directory}

snapshots:

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
"#;
        assert_eq!(names(v9), ["@babel/code-frame@7.22.13", "react-dom@18.2.0"]);
    }

    #[test]
    fn malformed_pnpm_lockfiles_are_errors() {
        assert!(parse_pnpm_lock(b"lockfileVersion: '9.0'\npackages: [\n", "p").is_err());
        assert!(parse_pnpm_lock(b"packages: {}\n", "p").is_err());
    }
}
