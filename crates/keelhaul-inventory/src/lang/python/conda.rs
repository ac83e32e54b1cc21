//! Conda environments: each installed package has a JSON record in the environment's
//! `conda-meta/` directory (`openssl-3.0.10-h7f8727e_2.json`), with its name, version,
//! license and the files it installed (relative to the environment's prefix).

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};
use serde_json::Value;

use super::join_path;
use crate::lang::common::{Found, one_line};

/// Records of large packages list tens of thousands of files: a few MB.
const MAX_FILE: u64 = 32 << 20;
/// Most files attributed to one package.
const MAX_OWNED_FILES: usize = 500_000;

/// The `conda-meta` analyzer.
#[derive(Debug, Default)]
pub struct CondaMeta;

impl Analyzer for CondaMeta {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "conda-meta",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&["**/conda-meta/*.json"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_conda_meta(file.path, content)?.emit(out);
        Ok(())
    }
}

/// The fields of a record that are read; the rest (`paths_data`, `depends`, …) is skipped
/// without being kept.
#[derive(serde::Deserialize)]
struct Record {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    version: Option<Value>,
    #[serde(default)]
    license: Option<Value>,
    #[serde(default)]
    files: Files,
}

/// The `files` list, read one entry at a time: strings kept up to [`MAX_OWNED_FILES`],
/// anything else skipped.
#[derive(Default)]
struct Files {
    paths: Vec<String>,
    truncated: bool,
}

impl<'de> serde::Deserialize<'de> for Files {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Files, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Files;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of paths")
            }
            fn visit_unit<E>(self) -> Result<Files, E> {
                Ok(Files::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Files, A::Error> {
                let mut files = Files::default();
                while let Some(entry) = seq.next_element::<Entry>()? {
                    if let Entry::Path(p) = entry {
                        if files.paths.len() < MAX_OWNED_FILES {
                            files.paths.push(p);
                        } else {
                            files.truncated = true;
                        }
                    }
                }
                Ok(files)
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of `files`: a path, or something else (skipped).
enum Entry {
    Path(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path")
            }
            fn visit_str<E>(self, v: &str) -> Result<Entry, E> {
                Ok(Entry::Path(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Entry, E> {
                Ok(Entry::Path(v))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entry, E> {
                Ok(Entry::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Entry, E> {
                Ok(Entry::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Entry, E> {
                Ok(Entry::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Entry, E> {
                Ok(Entry::Other)
            }
            fn visit_unit<E>(self) -> Result<Entry, E> {
                Ok(Entry::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entry, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Entry::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entry, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Entry::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// One `conda-meta/*.json` record.
pub fn parse_conda_meta(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let record: Record = serde_json::from_str(&String::from_utf8_lossy(content))
        .map_err(|e| AnalyzeError::new(format!("not a conda package record: {}", one_line(e))))?;
    let text = |v: &Option<Value>| {
        v.as_ref()
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (Some(name), Some(version)) = (text(&record.name), text(&record.version)) else {
        return Err(AnalyzeError::new("no `name` and `version`"));
    };
    let mut p = Package::found_at(Ecosystem::Conda, name, version, path, Evidence::Installed);
    p.licenses.extend(text(&record.license));
    let mut found = Found::of("conda-meta");
    if record.files.truncated {
        found.warnings.push(format!(
            "more than {MAX_OWNED_FILES} files listed; the rest are not attributed"
        ));
    }
    // The environment's prefix holds `conda-meta/`; file paths are relative to it.
    let prefix = path
        .rsplit_once("/conda-meta/")
        .map_or("", |(prefix, _)| prefix);
    p.files = record
        .files
        .paths
        .iter()
        .filter_map(|f| join_path(prefix, f))
        .collect();
    found.add(p);
    Ok(found)
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    /// A record as conda 23 writes it (trimmed `paths_data`), from the `requests`
    /// package of the `defaults` channel.
    const REQUESTS: &str = include_str!("testdata/conda-meta-requests-2.31.0-py311h06a4308_1.json");

    #[test]
    fn conda_record_with_files() {
        let path = "opt/conda/conda-meta/requests-2.31.0-py311h06a4308_1.json";
        let found = parse_conda_meta(path, REQUESTS.as_bytes()).unwrap();
        assert_eq!(found.packages.len(), 1);
        let p = &found.packages[0];
        assert_eq!(
            (p.ecosystem, p.name.as_str(), p.version.as_str()),
            (Ecosystem::Conda, "requests", "2.31.0")
        );
        assert_eq!(p.licenses, vec!["Apache-2.0"]);
        assert_eq!(p.locations[0].path, path);
        assert_eq!(p.locations[0].evidence, Evidence::Installed);
        assert!(
            p.files
                .contains(&"opt/conda/lib/python3.11/site-packages/requests/__init__.py".into())
        );
        assert_eq!(p.files.len(), 3);
    }

    #[test]
    fn malformed_records_are_errors() {
        let path = "opt/conda/conda-meta/x.json";
        assert!(parse_conda_meta(path, b"{\"name\": \"x\",").is_err());
        assert!(parse_conda_meta(path, b"{\"name\": \"x\"}").is_err());
        assert!(parse_conda_meta(path, b"[1, 2]").is_err());
        assert!(parse_conda_meta(path, b"{\"name\": 3, \"version\": \"1\"}").is_err());
        // Odd `files` entries are skipped, the record kept.
        let found = parse_conda_meta(
            path,
            b"{\"name\": \"x\", \"version\": \"1\", \"files\": [\"bin/x\", 3, {\"a\": [1]}, null]}",
        )
        .unwrap();
        assert_eq!(found.packages[0].files, vec!["opt/conda/bin/x"]);
        // Non-UTF-8 bytes in a string are replaced, not fatal.
        let found = parse_conda_meta(
            path,
            b"{\"name\": \"x\", \"version\": \"1\", \"license\": \"caf\xe9\"}",
        )
        .unwrap();
        assert_eq!(found.packages[0].licenses, vec!["caf\u{fffd}"]);
    }
}
