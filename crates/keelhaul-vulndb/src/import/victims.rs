//! victims-cve-db: `database/java/<year>/<n>.yaml` (Maven `groupId`/`artifactId`) and
//! `database/python/<year>/<n>.yaml` (PyPI `name`), one CVE per file.
//!
//! Each affected entry's `version` list becomes [`Rule::AnyOf`], one alternative per
//! expression read with [`range::victims`] (`<=2.0.11.2,2.0`: up to 2.0.11.2 within the
//! 2.0 series). `fixedin` only decides the status (`Fixed` when present). CVSS values are
//! scores, not vectors: only their severity band is kept. An entry whose expressions cannot
//! be read is skipped (counted) and the rest of the file kept.

use serde::Deserialize;
use serde_json::Value;

use super::rubysec::{scalar, severity_band};
use super::{clip, has_dir};
use crate::model::{Advisory, Affected, Parsed, Rule};
use crate::normalize_name;
use crate::range;
use keelhaul_core::FixStatus;

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    let lower = path.to_ascii_lowercase();
    if !(lower.ends_with(".yaml") || lower.ends_with(".yml")) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let key = |k: &str| text.lines().any(|l| l.starts_with(k));
    !key("id:")
        && key("cve:")
        && key("affected:")
        && (text.contains("artifactId:") || text.contains("name:"))
}

#[derive(Deserialize)]
struct Record {
    cve: Value,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    cvss_v2: Option<Value>,
    #[serde(default)]
    cvss_v3: Option<Value>,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    affected: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    artifact_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Vec<String>,
    #[serde(default)]
    fixedin: Vec<String>,
}

fn score(value: &Option<Value>) -> Option<f64> {
    scalar(value)?.parse().ok()
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let record: Record = serde_saphyr::from_slice(data).map_err(|e| e.to_string())?;
    let cve = scalar(&Some(record.cve)).ok_or("no cve")?;
    let id = if cve.to_ascii_uppercase().starts_with("CVE-") {
        cve
    } else {
        format!("CVE-{cve}")
    };
    let mut parsed = Parsed::default();
    let mut affected = Vec::new();
    for entry in record.affected {
        let (ecosystem, package) = match (&entry.group_id, &entry.artifact_id, &entry.name) {
            (Some(g), Some(a), _) if !has_dir(path, "python") => {
                ("Maven", format!("{}:{}", g.trim(), a.trim()))
            }
            (_, _, Some(n)) if !has_dir(path, "java") => ("PyPI", n.trim().to_owned()),
            _ => {
                tracing::warn!(path, %id, "victims entry without a package name; skipped");
                parsed.skipped += 1;
                continue;
            }
        };
        let mut any_of = Vec::new();
        let mut bad = None;
        for expr in &entry.version {
            match range::victims(expr) {
                Ok(alts) => any_of.extend(alts),
                Err(e) => bad = Some(e),
            }
        }
        if let Some(e) = bad.or_else(|| {
            any_of.is_empty().then(|| range::RangeError {
                range: String::new(),
                reason: "no versions".to_owned(),
            })
        }) {
            tracing::warn!(path, %id, package, error = %e, "victims entry skipped");
            parsed.skipped += 1;
            continue;
        }
        affected.push(Affected {
            ecosystem: ecosystem.to_owned(),
            package: normalize_name(ecosystem, &package),
            rules: vec![Rule::AnyOf { any_of }],
            status: if entry.fixedin.is_empty() {
                FixStatus::Affected
            } else {
                FixStatus::Fixed
            },
            severity_label: None,
            symbols: Vec::new(),
        });
    }
    if affected.is_empty() {
        return Err(format!("{id}: no usable affected entry"));
    }
    let severity_label = score(&record.cvss_v3)
        .and_then(|s| severity_band(s, false))
        .or_else(|| score(&record.cvss_v2).and_then(|s| severity_band(s, true)))
        .map(str::to_owned);
    parsed.advisories.push(Advisory {
        id,
        summary: record.title.map(|t| t.trim().to_owned()),
        details: record.description.map(|d| clip(&d, 2048)),
        severity_label,
        references: record.references.unwrap_or_default(),
        affected,
        ..Advisory::default()
    });
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraint, Op};

    const JAVA: &str = r#"cve: 2017-12629
title: "Apache Solr RCE"
description: >
    Remote code execution.
cvss_v2: 7.5
references:
    - https://example.org/CVE-2017-12629
affected:
    - groupId: "org.apache.solr"
      artifactId: "solr-core"
      version:
        - "<=5.5.4,5.5"
        - "<=6.6.1,6"
      fixedin:
        - ">=5.5.5,5.5"
    - groupId: "org.example"
      artifactId: "broken"
      version:
        - "5.5"
"#;
    const PATH: &str = "/x/v.tar!/victims-cve-db/database/java/2017/12629.yaml";

    #[test]
    fn reads_java_entries() {
        assert!(detect(PATH, JAVA.as_bytes()));
        let p = parse(PATH, JAVA.as_bytes()).expect("parses");
        assert_eq!(p.skipped, 1);
        let a = &p.advisories[0];
        assert_eq!(a.id, "CVE-2017-12629");
        assert_eq!(a.summary.as_deref(), Some("Apache Solr RCE"));
        assert_eq!(a.details.as_deref(), Some("Remote code execution."));
        assert_eq!(a.severity_label.as_deref(), Some("HIGH"));
        assert_eq!(a.references, ["https://example.org/CVE-2017-12629"]);
        assert_eq!(a.affected.len(), 1);
        let af = &a.affected[0];
        assert_eq!(
            (af.ecosystem.as_str(), af.package.as_str()),
            ("Maven", "org.apache.solr:solr-core")
        );
        assert_eq!(af.status, FixStatus::Fixed);
        assert_eq!(
            af.rules,
            [Rule::AnyOf {
                any_of: vec![
                    vec![
                        Constraint::new(Op::Ge, "5.5"),
                        Constraint::new(Op::Le, "5.5.4")
                    ],
                    vec![
                        Constraint::new(Op::Ge, "6"),
                        Constraint::new(Op::Le, "6.6.1")
                    ],
                ]
            }]
        );
    }

    #[test]
    fn reads_python_entries() {
        let text = "cve: 2014-1829\ntitle: t\ncvss_v3: 9.1\naffected:\n  - name: Requests\n    version:\n      - '<=2.2.1'\n";
        let path = "victims-cve-db/database/python/2014/1829.yaml";
        assert!(detect(path, text.as_bytes()));
        let p = parse(path, text.as_bytes()).expect("parses");
        let a = &p.advisories[0];
        assert_eq!(a.severity_label.as_deref(), Some("CRITICAL"));
        let af = &a.affected[0];
        assert_eq!(
            (af.ecosystem.as_str(), af.package.as_str()),
            ("PyPI", "requests")
        );
        assert_eq!(af.status, FixStatus::Affected);
    }

    #[test]
    fn rejects_broken_files() {
        assert!(!detect("x.yaml", b"id: GHSA-1\naffected: []\n"));
        assert!(parse(PATH, b"cve: [").is_err());
        assert!(parse(PATH, b"cve: 2017-1\ntitle: t\naffected: []\n").is_err());
    }
}
