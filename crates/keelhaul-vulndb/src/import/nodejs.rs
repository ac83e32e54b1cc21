//! Node.js security-wg (the former Node Security Platform data): `vuln/npm/<n>.json` for
//! npm packages and `vuln/core/<n>.json` for Node.js itself.
//!
//! npm advisories become `NSWG-ECO-<n>`, with the CVEs as aliases and
//! `vulnerable_versions` (a node-semver range) as [`Rule::AnyOf`]; without it, a version
//! is affected unless `patched_versions` holds ([`Rule::NoneOf`]). Node.js core advisories
//! are skipped and counted: keelhaul has no inventory entry for the `node` runtime. The
//! `index.json` files repeat every advisory of their folder in one map and are not
//! claimed, so that nothing is imported twice.

use serde::Deserialize;
use serde_json::Value;

use super::rubysec::{scalar, severity_band};
use super::{clip, file_name, has_dir};
use crate::model::{Advisory, Affected, CvssVector, Parsed, Rule};
use crate::normalize_name;
use crate::range;
use keelhaul_core::FixStatus;

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    let name = file_name(path);
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let npm = text.contains("\"module_name\"") && text.contains("\"vulnerable_versions\"");
    let core =
        has_dir(path, "core") && text.contains("\"vulnerable\"") && text.contains("\"patched\"");
    npm || core
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    module_name: Option<String>,
    #[serde(default)]
    cves: Option<Vec<String>>,
    #[serde(default)]
    vulnerable_versions: Option<String>,
    #[serde(default)]
    patched_versions: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    publish_date: Option<String>,
    #[serde(default)]
    overview: Option<String>,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    cvss_vector: Option<String>,
    #[serde(default)]
    cvss_score: Option<f64>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let value: Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let mut parsed = Parsed::default();
    if value.get("module_name").is_none() {
        tracing::debug!(path, "skipping Node.js core advisory");
        parsed.skipped = 1;
        return Ok(parsed);
    }
    let record: Record = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let number = scalar(&record.id).ok_or("no id")?;
    let id = format!("NSWG-ECO-{number}");
    let module = non_empty(record.module_name).ok_or_else(|| format!("{id}: no module_name"))?;
    let vulnerable = non_empty(record.vulnerable_versions);
    let patched = non_empty(record.patched_versions);
    let (rules, status) = match (&vulnerable, &patched) {
        (Some(v), _) => {
            let any_of = range::npm(v).map_err(|e| format!("{id}: {e}"))?;
            let status = if patched.is_some() {
                FixStatus::Fixed
            } else {
                FixStatus::Affected
            };
            (vec![Rule::AnyOf { any_of }], status)
        }
        (None, Some(p)) => {
            let none_of = range::npm(p).map_err(|e| format!("{id}: {e}"))?;
            (vec![Rule::NoneOf { none_of }], FixStatus::Fixed)
        }
        (None, None) => (vec![Rule::All], FixStatus::Affected),
    };
    parsed.advisories.push(Advisory {
        id,
        aliases: record.cves.unwrap_or_default(),
        summary: non_empty(record.title),
        details: non_empty(record.overview).map(|d| clip(&d, 2048)),
        published: non_empty(record.publish_date).or(non_empty(record.created_at)),
        modified: non_empty(record.updated_at),
        cvss: non_empty(record.cvss_vector)
            .filter(|v| v.starts_with("CVSS:"))
            .map(|vector| CvssVector { vector })
            .into_iter()
            .collect(),
        severity_label: record
            .cvss_score
            .and_then(|s| severity_band(s, false))
            .map(str::to_owned),
        references: record.references.unwrap_or_default(),
        affected: vec![Affected {
            ecosystem: "npm".to_owned(),
            package: normalize_name("npm", &module),
            rules,
            status,
            severity_label: None,
            symbols: Vec::new(),
        }],
        ..Advisory::default()
    });
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraint, Op};

    const SAMPLE: &str = r#"{
  "id": 100, "created_at": "2016-04-15", "updated_at": "2017-04-14",
  "title": "Regular Expression Denial Of Service", "module_name": "uri-js",
  "publish_date": "2017-04-14", "cves": ["CVE-2017-0001"],
  "vulnerable_versions": "<=2.1.1 || >=3.0.0 <3.0.2", "patched_versions": ">=3.0.2",
  "overview": "ReDoS.", "references": ["https://example.org/12"],
  "cvss_vector": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "cvss_score": 7.5
}"#;
    const PATH: &str = "/x/n.tar!/security-wg/vuln/npm/100.json";

    #[test]
    fn reads_every_field() {
        assert!(detect(PATH, SAMPLE.as_bytes()));
        let p = parse(PATH, SAMPLE.as_bytes()).expect("parses");
        let a = &p.advisories[0];
        assert_eq!(a.id, "NSWG-ECO-100");
        assert_eq!(a.aliases, ["CVE-2017-0001"]);
        assert_eq!(
            a.summary.as_deref(),
            Some("Regular Expression Denial Of Service")
        );
        assert_eq!(a.details.as_deref(), Some("ReDoS."));
        assert_eq!(a.published.as_deref(), Some("2017-04-14"));
        assert_eq!(a.modified.as_deref(), Some("2017-04-14"));
        assert_eq!(a.cvss.len(), 1);
        assert_eq!(a.severity_label.as_deref(), Some("HIGH"));
        assert_eq!(a.references, ["https://example.org/12"]);
        let af = &a.affected[0];
        assert_eq!(
            (af.ecosystem.as_str(), af.package.as_str()),
            ("npm", "uri-js")
        );
        assert_eq!(af.status, FixStatus::Fixed);
        assert_eq!(
            af.rules,
            [Rule::AnyOf {
                any_of: vec![
                    vec![Constraint::new(Op::Le, "2.1.1")],
                    vec![
                        Constraint::new(Op::Ge, "3.0.0"),
                        Constraint::new(Op::Lt, "3.0.2")
                    ],
                ]
            }]
        );
    }

    #[test]
    fn patched_only_and_nothing() {
        let text = r#"{"id": 7, "module_name": "x", "title": "t", "cves": [], "vulnerable_versions": "", "patched_versions": ">=1.0.0"}"#;
        let p = parse("vuln/npm/7.json", text.as_bytes()).expect("parses");
        assert_eq!(
            p.advisories[0].affected[0].rules,
            [Rule::NoneOf {
                none_of: vec![vec![Constraint::new(Op::Ge, "1.0.0")]]
            }]
        );
        let text = r#"{"id": 8, "module_name": "x", "vulnerable_versions": null, "patched_versions": null}"#;
        let p = parse("vuln/npm/8.json", text.as_bytes()).expect("parses");
        assert_eq!(p.advisories[0].affected[0].rules, [Rule::All]);
        assert_eq!(p.advisories[0].affected[0].status, FixStatus::Affected);
    }

    #[test]
    fn skips_core_and_index_and_rejects_broken_files() {
        let core = r#"{"cve": ["CVE-2017-1000381"], "vulnerable": "8.x", "patched": "^8.1.4", "affectedEnvironments": ["all"]}"#;
        assert!(detect("vuln/core/1.json", core.as_bytes()));
        let p = parse("vuln/core/1.json", core.as_bytes()).expect("parses");
        assert_eq!((p.advisories.len(), p.skipped), (0, 1));
        assert!(!detect("vuln/npm/index.json", SAMPLE.as_bytes()));
        assert!(!detect(
            "osv/GHSA-1.json",
            br#"{"id":"GHSA-1","affected":[]}"#
        ));
        assert!(parse(PATH, b"{not json").is_err());
        assert!(
            parse(
                PATH,
                br#"{"id": 1, "module_name": "x", "vulnerable_versions": ">=zz"}"#
            )
            .is_err()
        );
    }
}
