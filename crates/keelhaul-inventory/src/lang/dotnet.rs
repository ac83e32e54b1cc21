//! .NET: `*.deps.json` (installed), `packages.lock.json` (declared).
//!
//! A published application's `NAME.deps.json` lists every library it was built with under
//! `libraries`, keyed `Name/Version`, with a `type`: `package` (from NuGet), `project` (the
//! application and its own projects), `reference`, `runtimepack`. Only `package` entries
//! are NuGet packages. `packages.lock.json` lists, per target framework, each dependency
//! with its `resolved` version and a `type` (`Direct`, `Transitive`, `CentralTransitive`,
//! `Project`).

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};
use serde_json::Value;

use super::common::{Found, MAX_JSON_NODES, check_nodes, one_line};

/// A large application's `deps.json` is a few hundred KB.
const MAX_FILE: u64 = 16 << 20;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(DotnetDeps), Box::new(NugetLock)]
}

/// `*.deps.json`.
#[derive(Debug, Default)]
pub struct DotnetDeps;

impl Analyzer for DotnetDeps {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "dotnet-deps",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&["**/*.deps.json"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_deps_json(file.path, content)?.emit(out);
        Ok(())
    }
}

/// `packages.lock.json`.
#[derive(Debug, Default)]
pub struct NugetLock;

impl Analyzer for NugetLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "nuget-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&["**/packages.lock.json"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_packages_lock(file.path, content)?.emit(out);
        Ok(())
    }
}

fn json_object(content: &[u8]) -> Result<serde_json::Map<String, Value>, AnalyzeError> {
    check_nodes(content, MAX_JSON_NODES)?;
    match serde_json::from_str(&String::from_utf8_lossy(content)) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(AnalyzeError::new("not a JSON object")),
        Err(e) => Err(AnalyzeError::new(format!(
            "not valid JSON: {}",
            one_line(e)
        ))),
    }
}

/// The `package` libraries of a `deps.json`.
pub fn parse_deps_json(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let doc = json_object(content)?;
    let Some(libraries) = doc.get("libraries").and_then(Value::as_object) else {
        return Err(AnalyzeError::new("no `libraries` object"));
    };
    let mut found = Found::of("dotnet-deps");
    for (key, lib) in libraries {
        if lib.get("type").and_then(Value::as_str) != Some("package") {
            continue;
        }
        let Some((name, version)) = key.split_once('/') else {
            found
                .warnings
                .push(format!("library `{key}` is not `Name/Version`; skipped"));
            continue;
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        if !found.add(Package::found_at(
            Ecosystem::Nuget,
            name,
            version,
            path,
            Evidence::Installed,
        )) {
            break;
        }
    }
    Ok(found)
}

/// The resolved dependencies of a `packages.lock.json`, every target framework together.
pub fn parse_packages_lock(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let doc = json_object(content)?;
    let Some(frameworks) = doc.get("dependencies").and_then(Value::as_object) else {
        return Err(AnalyzeError::new("no `dependencies` object"));
    };
    let mut found = Found::of("packages.lock.json");
    'all: for deps in frameworks.values().filter_map(Value::as_object) {
        for (name, dep) in deps {
            if dep.get("type").and_then(Value::as_str) == Some("Project") {
                continue;
            }
            let Some(version) = dep.get("resolved").and_then(Value::as_str) else {
                continue;
            };
            if name.is_empty() || version.is_empty() {
                continue;
            }
            if !found.add(Package::found_at(
                Ecosystem::Nuget,
                name,
                version,
                path,
                Evidence::Declared,
            )) {
                break 'all;
            }
        }
    }
    Ok(found)
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deps_json_from_a_real_application() {
        // pythonnet 3.0.3's wheel ships the runtime's deps.json.
        let path =
            "usr/local/lib/python3.11/site-packages/pythonnet/runtime/Python.Runtime.deps.json";
        let found = parse_deps_json(
            path,
            include_bytes!("dotnet/testdata/Python.Runtime.deps.json"),
        )
        .unwrap();
        // 19 libraries, one of them the project itself.
        assert_eq!(found.packages.len(), 18);
        assert!(found.packages.iter().all(|p| p.name != "Python.Runtime"));
        let csharp = found
            .packages
            .iter()
            .find(|p| p.name == "Microsoft.CSharp")
            .unwrap();
        assert_eq!(csharp.version, "4.7.0");
        assert_eq!(csharp.ecosystem, Ecosystem::Nuget);
        assert_eq!(csharp.locations[0].path, path);
        assert_eq!(csharp.locations[0].evidence, Evidence::Installed);
        assert!(found.warnings.is_empty());
    }

    /// `dotnet restore --use-lock-file` output (lock version 1) for a project targeting two
    /// frameworks, with a project reference.
    const LOCK: &str = r#"{
  "version": 1,
  "dependencies": {
    "net6.0": {
      "Newtonsoft.Json": {
        "type": "Direct",
        "requested": "[13.0.1, )",
        "resolved": "13.0.1",
        "contentHash": "ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A=="
      },
      "Serilog": {
        "type": "Transitive",
        "resolved": "2.10.0",
        "contentHash": "+QX0hmf37a0/OZLxM3wL7V6/ADvC1XihXN4Kq/p6d8lCPfgkRdiuhbWlMaFjR9Av0dy5F0+MBeDmDdRZN/YwQA=="
      },
      "mylib": {
        "type": "Project",
        "dependencies": {"Serilog": "[2.10.0, )"}
      }
    },
    "net8.0": {
      "Newtonsoft.Json": {
        "type": "Direct",
        "requested": "[13.0.1, )",
        "resolved": "13.0.1",
        "contentHash": "ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A=="
      },
      "System.Text.Json": {
        "type": "CentralTransitive",
        "requested": "[8.0.4, )",
        "resolved": "8.0.4",
        "contentHash": "bAkhgDJ88XTsqczoxEMliSrpijKZHhbJQldhAmObj/RbrN3sU5dcokuXmWJWsdQAhiMJ9bTayWsL1C9fbbCRhw=="
      }
    }
  }
}"#;

    #[test]
    fn packages_lock_json_across_frameworks() {
        let found = parse_packages_lock("src/App/packages.lock.json", LOCK.as_bytes()).unwrap();
        let mut got: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                ("Newtonsoft.Json", "13.0.1"),
                ("Serilog", "2.10.0"),
                ("System.Text.Json", "8.0.4"),
            ]
        );
        assert!(
            found
                .packages
                .iter()
                .all(|p| p.locations[0].evidence == Evidence::Declared)
        );
    }

    #[test]
    fn bad_files() {
        assert!(parse_deps_json("a.deps.json", b"{\"libraries\": {").is_err());
        assert!(parse_deps_json("a.deps.json", b"[]").is_err());
        assert!(parse_deps_json("a.deps.json", b"{}").is_err());
        let found = parse_deps_json(
            "a.deps.json",
            b"{\"libraries\": {\"NoVersion\": {\"type\": \"package\"}, \"A/1.0\": {\"type\": \"package\", \"x\": \"\xff\"}}}",
        )
        .unwrap();
        assert_eq!(found.packages.len(), 1);
        assert_eq!(found.warnings.len(), 1);
        assert!(parse_packages_lock("packages.lock.json", b"{\"version\": 1}").is_err());
        assert!(parse_packages_lock("packages.lock.json", b"nope").is_err());
    }
}
