//! RubySec ruby-advisory-db: `gems/<gem>/<CVE-or-GHSA-id>.yml`, one advisory per file,
//! with `patched_versions` and `unaffected_versions` as lists of RubyGems requirement
//! strings.
//!
//! A version is affected unless one of those strings holds ([`Rule::NoneOf`]); with
//! neither list, every version is affected. The id is the CVE when there is one, else the
//! GHSA id, else the OSVDB id; the others become aliases. RubySec gives CVSS scores, not
//! vectors, so no vector is stored; the score's band (v4, else v3, else v2) becomes the
//! severity label. `rubies/` (Ruby interpreters: no inventory for them) are skipped and
//! counted.

use serde::Deserialize;
use serde_json::Value;

use super::{clip, file_name, has_dir};
use crate::model::{Advisory, Affected, Parsed, Rule};
use crate::normalize_name;
use crate::range;
use keelhaul_core::FixStatus;

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    let lower = path.to_ascii_lowercase();
    if !(lower.ends_with(".yml") || lower.ends_with(".yaml")) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let key = |k: &str| text.lines().any(|l| l.starts_with(k));
    if key("id:") {
        return false; // OSV YAML
    }
    // `gem:` is RubySec's own top-level key; interpreter advisories say `engine:`.
    key("gem:") || (has_dir(path, "rubies") && key("engine:"))
}

/// A YAML scalar as text (`cve: 2013-6460`, `osvdb: 101179`, `cvss_v3: 9.8` and dates all
/// arrive as different types).
pub(super) fn scalar(value: &Option<Value>) -> Option<String> {
    match value.as_ref()? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The CVSS severity band of a score: v3/v4 bands (`CRITICAL` from 9.0), or v2's (`HIGH`
/// from 7.0, no `CRITICAL`).
pub(super) fn severity_band(score: f64, v2: bool) -> Option<&'static str> {
    Some(match score {
        s if !(0.0..=10.0).contains(&s) => return None,
        s if s >= 9.0 && !v2 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        s if s > 0.0 || v2 => "LOW",
        _ => "NONE",
    })
}

fn score(value: &Option<Value>) -> Option<f64> {
    match value.as_ref()? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    gem: Option<String>,
    #[serde(default)]
    cve: Option<Value>,
    #[serde(default)]
    ghsa: Option<Value>,
    #[serde(default)]
    osvdb: Option<Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    date: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    cvss_v2: Option<Value>,
    #[serde(default)]
    cvss_v3: Option<Value>,
    #[serde(default)]
    cvss_v4: Option<Value>,
    #[serde(default)]
    patched_versions: Option<Vec<String>>,
    #[serde(default)]
    unaffected_versions: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Related>,
}

#[derive(Deserialize, Default)]
struct Related {
    #[serde(default)]
    url: Vec<String>,
}

fn prefixed(prefix: &str, id: String) -> String {
    if id.to_ascii_uppercase().starts_with(prefix) {
        id
    } else {
        format!("{prefix}{id}")
    }
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let record: Record = serde_saphyr::from_slice(data).map_err(|e| e.to_string())?;
    let gem = match record.gem.as_deref().map(str::trim) {
        Some(g) if !g.is_empty() && !has_dir(path, "rubies") => g.to_owned(),
        _ => {
            tracing::debug!(path, "skipping RubySec interpreter advisory");
            parsed.skipped = 1;
            return Ok(parsed);
        }
    };
    let mut ids = Vec::new();
    if let Some(cve) = scalar(&record.cve) {
        ids.push(prefixed("CVE-", cve));
    }
    if let Some(ghsa) = scalar(&record.ghsa) {
        ids.push(prefixed("GHSA-", ghsa));
    }
    if let Some(osvdb) = scalar(&record.osvdb) {
        ids.push(prefixed("OSVDB-", osvdb));
    }
    if ids.is_empty() {
        // No id in the record: the file name is RubySec's id for it.
        let name = file_name(path);
        ids.push(
            name.rsplit_once('.')
                .map_or(name, |(stem, _)| stem)
                .to_owned(),
        );
    }
    let id = ids.remove(0);

    let patched = record.patched_versions.unwrap_or_default();
    let unaffected = record.unaffected_versions.unwrap_or_default();
    let mut none_of = Vec::new();
    for req in patched.iter().chain(&unaffected) {
        let alts = range::gem(&[req.as_str()]).map_err(|e| format!("{id}: {e}"))?;
        none_of.extend(alts);
    }
    let (rules, status) = match (none_of.is_empty(), patched.is_empty()) {
        (true, _) => (vec![Rule::All], FixStatus::Affected),
        (false, true) => (vec![Rule::NoneOf { none_of }], FixStatus::Affected),
        (false, false) => (vec![Rule::NoneOf { none_of }], FixStatus::Fixed),
    };

    let severity_label = score(&record.cvss_v4)
        .or_else(|| score(&record.cvss_v3))
        .and_then(|s| severity_band(s, false))
        .or_else(|| score(&record.cvss_v2).and_then(|s| severity_band(s, true)))
        .map(str::to_owned);
    let mut references: Vec<String> = record.url.into_iter().collect();
    for url in record.related.unwrap_or_default().url {
        if !references.contains(&url) {
            references.push(url);
        }
    }
    parsed.advisories.push(Advisory {
        id,
        aliases: ids,
        summary: record.title.map(|t| t.trim().to_owned()),
        details: record.description.map(|d| clip(&d, 2048)),
        published: scalar(&record.date),
        severity_label,
        references,
        affected: vec![Affected {
            ecosystem: "RubyGems".to_owned(),
            package: normalize_name("RubyGems", &gem),
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

    const SAMPLE: &str = r#"---
gem: Nokogiri
platform: jruby
cve: 2013-6460
osvdb: 101179
ghsa: 62qp-3fxm-9wxf
url: https://example.org/CVE-2013-6460
title: "CVE-2013-6460 nokogiri: DoS"
date: 2013-12-14
description: |
  Nokogiri gem 1.5.x has Denial of Service.
cvss_v2: 4.3
cvss_v3: 6.5
patched_versions:
  - "~> 1.5.11"
  - ">= 1.6.1"
unaffected_versions:
  - "< 1.5.0"
related:
  url:
    - https://example.org/related
"#;
    const PATH: &str = "/x/r.tar!/ruby-advisory-db/gems/nokogiri/CVE-2013-6460.yml";

    #[test]
    fn reads_every_field() {
        assert!(detect(PATH, SAMPLE.as_bytes()));
        let p = parse(PATH, SAMPLE.as_bytes()).expect("parses");
        let a = &p.advisories[0];
        assert_eq!(a.id, "CVE-2013-6460");
        assert_eq!(a.aliases, ["GHSA-62qp-3fxm-9wxf", "OSVDB-101179"]);
        assert_eq!(a.summary.as_deref(), Some("CVE-2013-6460 nokogiri: DoS"));
        assert_eq!(
            a.details.as_deref(),
            Some("Nokogiri gem 1.5.x has Denial of Service.")
        );
        assert_eq!(a.published.as_deref(), Some("2013-12-14"));
        assert!(a.cvss.is_empty());
        assert_eq!(a.severity_label.as_deref(), Some("MEDIUM"));
        assert_eq!(
            a.references,
            [
                "https://example.org/CVE-2013-6460",
                "https://example.org/related"
            ]
        );
        let af = &a.affected[0];
        assert_eq!(
            (af.ecosystem.as_str(), af.package.as_str()),
            ("RubyGems", "nokogiri")
        );
        assert_eq!(af.status, FixStatus::Fixed);
        assert_eq!(
            af.rules,
            [Rule::NoneOf {
                none_of: vec![
                    vec![
                        Constraint::new(Op::Ge, "1.5.11"),
                        Constraint::new(Op::Lt, "1.6")
                    ],
                    vec![Constraint::new(Op::Ge, "1.6.1")],
                    vec![Constraint::new(Op::Lt, "1.5.0")],
                ]
            }]
        );
    }

    #[test]
    fn id_fallbacks_and_no_fix() {
        let text = "gem: rack\nghsa: abcd-efgh-ijkl\ntitle: t\nurl: u\ndate: 2020-01-01\ndescription: d\ncvss_v4: 9.3\n";
        let p = parse("gems/rack/GHSA-abcd-efgh-ijkl.yml", text.as_bytes()).expect("parses");
        let a = &p.advisories[0];
        assert_eq!(a.id, "GHSA-abcd-efgh-ijkl");
        assert!(a.aliases.is_empty());
        assert_eq!(a.severity_label.as_deref(), Some("CRITICAL"));
        assert_eq!(a.affected[0].rules, [Rule::All]);
        assert_eq!(a.affected[0].status, FixStatus::Affected);
        let text = "gem: rack\ntitle: t\nunaffected_versions:\n  - '< 1.0'\n";
        let p = parse("gems/rack/OSVDB-1.yml", text.as_bytes()).expect("parses");
        assert_eq!(p.advisories[0].id, "OSVDB-1");
        assert_eq!(p.advisories[0].affected[0].status, FixStatus::Affected);
    }

    #[test]
    fn skips_rubies_and_rejects_broken_files() {
        let text =
            "engine: jruby\ncve: 2022-25857\ntitle: t\npatched_versions:\n  - '>= 9.3.8.0'\n";
        let path = "db/rubies/jruby/CVE-2022-25857.yml";
        assert!(detect(path, text.as_bytes()));
        let p = parse(path, text.as_bytes()).expect("parses");
        assert_eq!((p.advisories.len(), p.skipped), (0, 1));
        assert!(!detect("x.yml", b"id: GHSA-1\nmodified: x\naffected: []\n"));
        assert!(parse(PATH, b"gem: [unclosed\n").is_err());
        assert!(parse(PATH, b"gem: x\npatched_versions:\n  - '>= zz'\n").is_err());
    }
}
