//! OSV records (schema 1.0–1.7), JSON or YAML, one record per file or an array of them
//! (as OSV's `all.zip` exports hold one record per member).
//!
//! Kept: `ECOSYSTEM` and `SEMVER` ranges with every event kind, `versions`, aliases,
//! top-level and per-package `severity` vectors, `database_specific.severity` (GitHub's
//! label), CWE ids, references. Skipped: withdrawn records, `GIT` ranges (they need a
//! commit, and packages in images are identified by version), RustSec's informational
//! notices (unmaintained/unsound crates are not vulnerabilities) unless they name a CVE.

use serde::Deserialize;

use super::clip;
use crate::model::{Advisory, Affected, CvssVector, Event, Parsed, Rule};
use crate::normalize_name;
use keelhaul_core::FixStatus;

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        let trimmed = text.trim_start();
        (trimmed.starts_with('{') || trimmed.starts_with('['))
            && text.contains("\"id\"")
            && (text.contains("\"affected\"")
                || text.contains("\"modified\"")
                || text.contains("\"schema_version\""))
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        text.lines().any(|l| l.starts_with("id:"))
            && text
                .lines()
                .any(|l| l.starts_with("affected:") || l.starts_with("modified:"))
    } else {
        false
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Record>),
    One(Box<Record>),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Record {
    id: String,
    summary: Option<String>,
    details: Option<String>,
    aliases: Vec<String>,
    related: Vec<String>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    severity: Vec<Severity>,
    affected: Vec<RecordAffected>,
    references: Vec<Reference>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Severity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordAffected {
    package: Option<PackageId>,
    ranges: Vec<Range>,
    versions: Vec<String>,
    severity: Vec<Severity>,
    ecosystem_specific: Option<serde_json::Value>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackageId {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let lower = path.to_ascii_lowercase();
    let records = if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
        serde_saphyr::from_str::<OneOrMany>(text).map_err(|e| e.to_string())?
    } else {
        serde_json::from_slice::<OneOrMany>(data).map_err(|e| e.to_string())?
    };
    let records = match records {
        OneOrMany::Many(v) => v,
        OneOrMany::One(r) => vec![*r],
    };
    let mut parsed = Parsed::default();
    for record in records {
        match convert(record) {
            Some(advisory) => parsed.advisories.push(advisory),
            None => parsed.skipped += 1,
        }
    }
    Ok(parsed)
}

/// Turns one record into an advisory, or `None` when it is not to be reported.
fn convert(mut record: Record) -> Option<Advisory> {
    if record.id.is_empty() || record.withdrawn.is_some() || is_not_security(&record.id) {
        return None;
    }
    if is_errata(&record.id) {
        // Distro errata list the CVEs they fix under `related` (AlmaLinux does): those
        // are the vulnerabilities, so they become aliases the matcher splits by.
        for r in std::mem::take(&mut record.related) {
            if r.starts_with("CVE-") && !record.aliases.contains(&r) {
                record.aliases.push(r);
            }
        }
    }
    let has_cve =
        record.id.starts_with("CVE-") || record.aliases.iter().any(|a| a.starts_with("CVE-"));
    let informational = record.affected.iter().any(|a| {
        a.database_specific
            .as_ref()
            .and_then(|d| d.get("informational"))
            .is_some_and(|v| !v.is_null())
    });
    if informational && !has_cve {
        return None;
    }

    let mut cvss: Vec<CvssVector> = record
        .severity
        .iter()
        .chain(record.affected.iter().flat_map(|a| a.severity.iter()))
        .filter(|s| s.kind.starts_with("CVSS_"))
        .map(|s| CvssVector {
            vector: s.score.clone(),
        })
        .collect();
    cvss.dedup();

    let severity_label = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .or_else(|| word_severity(&record.severity))
        .or_else(|| summary_severity(record.summary.as_deref()));
    let cwes = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("cwe_ids"))
        .and_then(|c| c.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();

    let mut references: Vec<String> = Vec::new();
    // The advisory's own page first, then the rest in the record's order.
    for pass in [true, false] {
        for r in &record.references {
            if (r.kind == "ADVISORY") == pass && !references.contains(&r.url) {
                references.push(r.url.clone());
            }
        }
    }

    let affected: Vec<Affected> = record
        .affected
        .iter()
        .filter_map(convert_affected)
        .collect();
    if affected.is_empty() {
        return None;
    }
    Some(Advisory {
        id: record.id,
        aliases: record.aliases,
        summary: record.summary.map(|s| clip(&s, 512)),
        details: record.details.map(|d| clip(&d, 2048)),
        published: record.published.filter(|p| !p.starts_with("0001-")),
        modified: record.modified.filter(|p| !p.starts_with("0001-")),
        cvss,
        severity_label,
        cwes,
        references,
        affected,
    })
}

/// Bug-fix and enhancement errata (AlmaLinux ALBA/ALEA, Red Hat RHBA/RHEA) are not
/// security advisories.
fn is_not_security(id: &str) -> bool {
    ["ALBA-", "ALEA-", "RHBA-", "RHEA-", "RLBA-", "RLEA-"]
        .iter()
        .any(|p| id.starts_with(p))
}

/// Security errata of a distro, which bundle several CVEs.
fn is_errata(id: &str) -> bool {
    [
        "ALSA-",
        "RHSA-",
        "RLSA-",
        "DSA-",
        "DLA-",
        "USN-",
        "ELSA-",
        "SUSE-SU-",
        "openSUSE-SU-",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}

/// A severity stated in words (`{"type": "Ubuntu", "score": "medium"}`), not as a CVSS
/// vector.
fn word_severity(list: &[Severity]) -> Option<String> {
    list.iter()
        .find(|s| {
            !s.kind.starts_with("CVSS_") && keelhaul_core::Severity::from_label(&s.score).is_some()
        })
        .map(|s| s.score.clone())
}

/// Errata titles carry the vendor's severity: `Moderate: openssl security update`.
fn summary_severity(summary: Option<&str>) -> Option<String> {
    let (word, _) = summary?.split_once(':')?;
    keelhaul_core::Severity::from_label(word).map(|_| word.trim().to_owned())
}

fn convert_affected(a: &RecordAffected) -> Option<Affected> {
    let package = a.package.as_ref()?;
    if package.ecosystem.is_empty() || package.name.is_empty() {
        return None;
    }
    let ecosystem = feed_ecosystem(&package.ecosystem)?;
    let mut rules = Vec::new();
    let mut has_fix = false;
    for range in &a.ranges {
        if range.kind == "GIT" {
            continue;
        }
        let events: Vec<Event> = range
            .events
            .iter()
            .filter_map(|e| {
                let (kind, value) = e.iter().next()?;
                let value = value.as_str()?.to_owned();
                Some(match kind.as_str() {
                    "introduced" => Event::Introduced(value),
                    "fixed" => {
                        has_fix = true;
                        Event::Fixed(value)
                    }
                    "last_affected" => Event::LastAffected(value),
                    "limit" => Event::Limit(value),
                    _ => return None,
                })
            })
            .collect();
        if !events.is_empty() {
            rules.push(Rule::Events { events });
        }
    }
    if !a.versions.is_empty() {
        rules.push(Rule::Exact {
            versions: a.versions.clone(),
        });
    }
    if rules.is_empty() {
        return None;
    }
    let symbols = a
        .ecosystem_specific
        .as_ref()
        .map(affected_symbols)
        .unwrap_or_default();
    Some(Affected {
        package: normalize_name(&ecosystem, &package.name),
        ecosystem,
        rules,
        status: if has_fix {
            FixStatus::Fixed
        } else {
            FixStatus::Affected
        },
        // A per-package rating: schema 1.6's `affected[].severity` in words (Ubuntu's
        // exports), or a `severity` string in the package's specific fields.
        severity_label: word_severity(&a.severity).or_else(|| {
            [&a.ecosystem_specific, &a.database_specific]
                .into_iter()
                .flatten()
                .find_map(|d| {
                    d.get("severity")
                        .and_then(|s| s.as_str())
                        .map(str::to_owned)
                })
        }),
        symbols,
    })
}

/// The ecosystem as keelhaul keys feeds: OSV's Ubuntu exports say `Ubuntu:22.04:LTS`,
/// which is the public archive of `Ubuntu:22.04`; Ubuntu Pro (ESM) entries describe
/// packages a plain image does not have, and are skipped (`None`), as the Ubuntu
/// tracker's ESM lines are.
fn feed_ecosystem(ecosystem: &str) -> Option<String> {
    if let Some(rest) = ecosystem.strip_prefix("Ubuntu:") {
        if rest.starts_with("Pro:") {
            return None;
        }
        return Some(format!("Ubuntu:{}", rest.trim_end_matches(":LTS")));
    }
    Some(ecosystem.to_owned())
}

/// Go's `imports[].symbols` and RustSec's `affects.functions`, for display.
fn affected_symbols(spec: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(imports) = spec.get("imports").and_then(|i| i.as_array()) {
        for import in imports {
            let path = import.get("path").and_then(|p| p.as_str()).unwrap_or("");
            if let Some(symbols) = import.get("symbols").and_then(|s| s.as_array()) {
                out.extend(
                    symbols
                        .iter()
                        .filter_map(|s| s.as_str())
                        .map(|s| format!("{path}.{s}")),
                );
            }
        }
    }
    if let Some(functions) = spec
        .get("affects")
        .and_then(|a| a.get("functions"))
        .and_then(|f| f.as_array())
    {
        out.extend(
            functions
                .iter()
                .filter_map(|f| f.as_str().map(str::to_owned)),
        );
    }
    out.truncate(64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_versions_and_labels() {
        let json = br#"{"id":"GHSA-x","aliases":["CVE-2021-1"],"summary":"s",
          "database_specific":{"severity":"HIGH","cwe_ids":["CWE-79"]},
          "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
          "affected":[{"package":{"ecosystem":"PyPI","name":"Foo_Bar"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2"}]},
                      {"type":"GIT","repo":"r","events":[{"introduced":"abc"}]}],
            "versions":["1.0"]}]}"#;
        let parsed = parse("x/GHSA-x.json", json).expect("parses");
        let adv = &parsed.advisories[0];
        assert_eq!(adv.severity_label.as_deref(), Some("HIGH"));
        assert_eq!(adv.cwes, vec!["CWE-79"]);
        let a = &adv.affected[0];
        assert_eq!(a.package, "foo-bar");
        assert_eq!(a.rules.len(), 2, "GIT range dropped, versions kept");
        assert_eq!(a.status, FixStatus::Fixed);
    }

    #[test]
    fn skips_withdrawn_and_informational() {
        let json = br#"[{"id":"A","withdrawn":"2020-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1"]}]},
          {"id":"RUSTSEC-1","affected":[{"package":{"ecosystem":"crates.io","name":"x"},"database_specific":{"informational":"unmaintained"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]},
          {"id":"B","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}]"#;
        let parsed = parse("all.json", json).expect("parses");
        assert_eq!(parsed.skipped, 2);
        assert_eq!(parsed.advisories.len(), 1);
        assert_eq!(parsed.advisories[0].affected[0].status, FixStatus::Affected);
    }

    #[test]
    fn errata_related_cves_become_aliases_and_bugfixes_are_skipped() {
        let json = br#"[{"id":"ALSA-2026:1852","related":["CVE-2025-14104"],"summary":"Moderate: util-linux security update",
            "affected":[{"package":{"ecosystem":"AlmaLinux:8","name":"libuuid"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.32.1-48.el8_10"}]}]}]},
          {"id":"ALBA-2022:2100","affected":[{"package":{"ecosystem":"AlmaLinux:8","name":"libuuid"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.32.1-35.el8"}]}]}]},
          {"id":"GHSA-a","related":["CVE-2020-1"],"affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1.0.0"]}]}]"#;
        let parsed = parse("x.json", json).expect("parses");
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.advisories[0].aliases, vec!["CVE-2025-14104"]);
        assert_eq!(
            parsed.advisories[0].severity_label.as_deref(),
            Some("Moderate")
        );
        assert!(
            parsed.advisories[1].aliases.is_empty(),
            "related is not an alias for GHSA"
        );
    }

    #[test]
    fn severities_in_words_per_package() {
        let json = br#"{"id":"UBUNTU-CVE-2024-1","modified":"2024-01-01T00:00:00Z",
          "affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"openssl"},
            "severity":[{"type":"Ubuntu","score":"medium"}],
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.2-0ubuntu1.15"}]}]},
           {"package":{"ecosystem":"Ubuntu:Pro:18.04:LTS","name":"openssl"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#;
        let parsed = parse("u.json", json).expect("parses");
        let a = &parsed.advisories[0].affected;
        assert_eq!(a.len(), 1, "the Pro entry is skipped");
        assert_eq!(a[0].ecosystem, "Ubuntu:22.04");
        assert_eq!(a[0].severity_label.as_deref(), Some("medium"));
    }

    #[test]
    fn ubuntu_osv_ecosystems_map_to_releases() {
        assert_eq!(
            feed_ecosystem("Ubuntu:22.04:LTS").as_deref(),
            Some("Ubuntu:22.04")
        );
        assert_eq!(
            feed_ecosystem("Ubuntu:24.10").as_deref(),
            Some("Ubuntu:24.10")
        );
        assert_eq!(feed_ecosystem("Ubuntu:Pro:18.04:LTS"), None);
        assert_eq!(feed_ecosystem("Debian:12").as_deref(), Some("Debian:12"));
    }

    #[test]
    fn yaml_and_errata_severity() {
        let yaml = b"id: PYSEC-1\nmodified: '2021-01-01'\naffected:\n- package:\n    name: jinja2\n    ecosystem: PyPI\n  versions:\n  - '2.10'\n";
        assert!(detect("vulns/jinja2/PYSEC-1.yaml", yaml));
        assert_eq!(
            parse("PYSEC-1.yaml", yaml).expect("yaml").advisories.len(),
            1
        );
        assert_eq!(
            summary_severity(Some("Moderate: openssl security update")).as_deref(),
            Some("Moderate")
        );
        assert_eq!(summary_severity(Some("fix: a thing")), None);
        assert!(parse("bad.json", b"{\"id\": ").is_err());
    }
}
