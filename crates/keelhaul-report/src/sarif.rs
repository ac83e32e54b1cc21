//! SARIF 2.1.0 JSON, shaped for GitHub code scanning.
//!
//! * **One run for all reports.** With `--platform all` every platform's findings go into
//!   the same run: GitHub rejects uploads that hold several runs of the same tool and
//!   category, and a vulnerability in the same file of the amd64 and arm64 images is one
//!   alert to act on. Results that are the same finding on several platforms (same id,
//!   purl and path) are merged into one result whose `properties.platforms` lists them.
//! * **Rules** are the distinct vulnerability ids, sorted. A rule's `security-severity`
//!   (what GitHub buckets alerts by: critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low > 0)
//!   is the highest of its findings' scores, see [`security_severity`].
//! * **Results** keep the producer's order. `level` follows the finding's severity
//!   ([`level`]). The location is the package's file inside the image (no leading `/`) or,
//!   when the finding names no file, the image name; GitHub needs a `region`, so it is
//!   line 1. The layer that introduced the package is a logical location.
//! * **Fingerprints**: `partialFingerprints["keelhaulFinding/v1"]` is a SHA-256 of id, purl
//!   and path, so an alert survives rescans and new image tags but two copies of a
//!   package at different paths stay two alerts.
//! * Deterministic: no timestamps, no GUIDs; object keys are sorted by `serde_json`.

use std::collections::BTreeMap;

use keelhaul_core::{Digest, FindingClass, Severity, Vulnerability};
use serde_json::{Value, json};

use crate::Report;

/// The official schema id (OASIS errata 01), which is also what validators look up.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The project's home, from the workspace `repository` key when the crate inherits it;
/// keelhaul-report does not, so the fallback repeats the workspace Cargo.toml's value.
const INFORMATION_URI: &str = if env!("CARGO_PKG_REPOSITORY").is_empty() {
    "https://github.com/keelhaul/keelhaul"
} else {
    env!("CARGO_PKG_REPOSITORY")
};

/// The `partialFingerprints` key; versioned so the recipe can change without clashing.
const FINGERPRINT_KEY: &str = "keelhaulFinding/v1";

/// GitHub shows at most 1024 characters of a rule description.
const MAX_DESCRIPTION: usize = 1024;

/// The SARIF `level` of a finding: critical and high are `error`, medium is `warning`,
/// low, negligible and unknown are `note`.
pub(crate) fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Negligible | Severity::Unknown => "note",
    }
}

/// A representative score for a severity without a CVSS score: the middle of the
/// CVSS v3 band GitHub maps back to the same severity (critical 9.5, high 8.0,
/// medium 5.5, low 2.0); negligible and unknown are 0.0, which GitHub shows as no
/// security severity rather than inventing one.
pub(crate) fn severity_score(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Negligible | Severity::Unknown => 0.0,
    }
}

/// The numeric `security-severity` of one finding.
///
/// The CVSS base score when it agrees with the finding's severity (same qualitative
/// band) or the finding has no severity; otherwise the severity's representative score.
/// A distro may rate a CVE lower than NVD's CVSS (a backport, an unused code path), and
/// the severity is what `--severity` filters by, so GitHub's bucket must not contradict
/// it.
pub(crate) fn security_severity(v: &Vulnerability) -> f64 {
    match &v.cvss {
        Some(c)
            if c.score.is_finite()
                && (v.severity == Severity::Unknown
                    || Severity::from_cvss_score(c.score) == v.severity) =>
        {
            c.score.clamp(0.0, 10.0)
        }
        _ => severity_score(v.severity),
    }
}

/// GitHub wants the score as a string with one decimal (`"9.8"`).
fn score_text(score: f64) -> String {
    format!("{score:.1}")
}

/// Where a finding is: its path inside the image, else the image name.
fn location_text(v: &Vulnerability, r: &Report) -> String {
    match v.path.as_deref().map(|p| p.trim_start_matches('/')) {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => r.image_name(),
    }
}

/// A relative URI reference for a path: characters outside RFC 3986's unreserved,
/// sub-delims, `/` and `@` are percent-encoded. `:` is encoded too, so an image name
/// like `debian:12` is not read as a URI with scheme `debian`.
pub(crate) fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The stable fingerprint of a finding: SHA-256 over id, purl and location, NUL-separated
/// (none of them can contain NUL, so different triples never collide by concatenation).
pub(crate) fn fingerprint(id: &str, purl: &str, location: &str) -> String {
    let seed = format!("{id}\0{purl}\0{location}");
    Digest::sha256_of(seed.as_bytes()).hex().to_owned()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The JSON spelling of a finding class.
pub(crate) fn class_name(class: FindingClass) -> &'static str {
    match class {
        FindingClass::Os => "os",
        FindingClass::Sca => "sca",
    }
}

/// `openssl 3.0.11-1~deb12u1 is affected by CVE-2024-0727 (fixed in 3.0.13-1~deb12u1)`.
pub(crate) fn message(v: &Vulnerability) -> String {
    let fix = if v.fixed_versions.is_empty() {
        if v.status.is_fixed() {
            "no fixed version known".to_owned()
        } else {
            format!("no fix: {}", v.status)
        }
    } else {
        format!("fixed in {}", v.fixed_versions.join(", "))
    };
    let mut m = format!(
        "{} {} is affected by {} ({fix})",
        v.package.name, v.installed_version, v.id
    );
    if v.known_exploited {
        m.push_str("; known to be exploited (CISA KEV)");
    }
    m
}

/// One finding, with what merging across platforms needs.
struct Entry<'a> {
    v: &'a Vulnerability,
    location: String,
    platforms: Vec<String>,
    layers: Vec<String>,
}

/// What the rule of one id is built from.
#[derive(Default)]
struct RuleFacts<'a> {
    findings: Vec<&'a Vulnerability>,
}

fn rule(id: &str, facts: &RuleFacts<'_>) -> Value {
    let findings = &facts.findings;
    let title = findings.iter().find_map(|v| v.title.as_deref());
    let url = findings.iter().find_map(|v| v.url.as_deref());
    let severity = findings
        .iter()
        .map(|v| v.severity)
        .max()
        .unwrap_or_default();
    let score = findings
        .iter()
        .map(|v| security_severity(v))
        .fold(0.0_f64, f64::max);
    let mut aliases: Vec<&str> = findings
        .iter()
        .flat_map(|v| v.aliases.iter().map(String::as_str))
        .collect();
    aliases.sort_unstable();
    aliases.dedup();
    let mut classes: Vec<&str> = findings.iter().map(|v| class_name(v.class)).collect();
    classes.sort_unstable();
    classes.dedup();

    let mut full = match title {
        Some(t) => format!("{id}: {t}"),
        None => id.to_owned(),
    };
    if !aliases.is_empty() {
        full.push_str(&format!(" (also {})", aliases.join(", ")));
    }

    // The help lists each affected package once, with what fixes it.
    let mut packages: Vec<String> = findings
        .iter()
        .map(|v| {
            let fix = if v.fixed_versions.is_empty() {
                format!("no fix ({})", v.status)
            } else {
                format!("upgrade to {}", v.fixed_versions.join(" or "))
            };
            format!("{} {}: {fix}", v.package.name, v.installed_version)
        })
        .collect();
    packages.sort_unstable();
    packages.dedup();
    let mut help_text = format!("{full}\n\nAffected packages:\n");
    let mut help_md = match url {
        Some(u) => format!("**[{id}]({u})**"),
        None => format!("**{id}**"),
    };
    if let Some(t) = title {
        help_md.push_str(&format!(": {t}"));
    }
    help_md.push_str("\n\n| Package | Remediation |\n| --- | --- |\n");
    for p in &packages {
        help_text.push_str(&format!("- {p}\n"));
        if let Some((name, fix)) = p.split_once(": ") {
            help_md.push_str(&format!("| {name} | {fix} |\n"));
        }
    }

    let mut tags = vec!["security", "vulnerability"];
    tags.extend(classes);
    tags.push(severity.as_str());
    let mut r = json!({
        "id": id,
        "shortDescription": {"text": truncate(title.unwrap_or(id), MAX_DESCRIPTION)},
        "fullDescription": {"text": truncate(&full, MAX_DESCRIPTION)},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": level(severity)},
        "properties": {
            "security-severity": score_text(score),
            "tags": tags,
        },
    });
    if let Some(u) = url {
        r["helpUri"] = json!(u);
    }
    r
}

fn result(e: &Entry<'_>, rule_index: usize) -> Value {
    let v = e.v;
    let mut physical = json!({
        "artifactLocation": {"uri": uri_reference(&e.location)},
        // GitHub places alerts by line; a package has none, so the whole file (line 1).
        "region": {"startLine": 1},
    });
    if v.path.is_none() {
        physical["artifactLocation"]["description"] =
            json!({"text": "the image (the finding names no file)"});
    }
    let mut location = json!({"physicalLocation": physical});
    if !e.layers.is_empty() {
        location["logicalLocations"] = Value::Array(
            e.layers
                .iter()
                .map(|l| json!({"name": l, "kind": "layer"}))
                .collect(),
        );
    }
    let mut props = json!({
        "purl": v.package.purl,
        "ecosystem": v.package.ecosystem.to_string(),
        "installedVersion": v.installed_version,
        "fixedVersions": v.fixed_versions,
        "status": v.status.as_str(),
        "severity": v.severity.as_str(),
        "class": class_name(v.class),
        "knownExploited": v.known_exploited,
    });
    if !v.aliases.is_empty() {
        props["aliases"] = json!(v.aliases);
    }
    if let Some(c) = &v.cvss {
        props["cvss"] = json!({"score": c.score, "vector": c.vector, "version": c.version});
    }
    if !e.platforms.is_empty() {
        props["platforms"] = json!(e.platforms);
    }
    json!({
        "ruleId": v.id,
        "ruleIndex": rule_index,
        "level": level(v.severity),
        "message": {"text": message(v)},
        "locations": [location],
        "partialFingerprints": {
            FINGERPRINT_KEY: fingerprint(&v.id, &v.package.purl, &e.location),
        },
        "properties": props,
    })
}

/// The SARIF log for `reports` (one per platform): one run, see the module docs.
pub(crate) fn log(reports: &[Report]) -> Value {
    // Merge the same finding across platforms, keeping first-seen order.
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for r in reports {
        let platform = r.platform.as_ref().map(ToString::to_string);
        for v in &r.vulnerabilities {
            let location = location_text(v, r);
            let key = (v.id.clone(), v.package.purl.clone(), location.clone());
            let i = *seen.entry(key).or_insert_with(|| {
                entries.push(Entry {
                    v,
                    location,
                    platforms: Vec::new(),
                    layers: Vec::new(),
                });
                entries.len() - 1
            });
            let Some(e) = entries.get_mut(i) else {
                continue;
            };
            if let Some(p) = &platform
                && !e.platforms.contains(p)
            {
                e.platforms.push(p.clone());
            }
            if let Some(l) = &v.layer {
                let l = l.to_string();
                if !e.layers.contains(&l) {
                    e.layers.push(l);
                }
            }
        }
    }

    let mut facts: BTreeMap<&str, RuleFacts<'_>> = BTreeMap::new();
    for e in &entries {
        facts.entry(e.v.id.as_str()).or_default().findings.push(e.v);
    }
    let index: BTreeMap<&str, usize> = facts.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rules: Vec<Value> = facts.iter().map(|(id, f)| rule(id, f)).collect();
    let results: Vec<Value> = entries
        .iter()
        .map(|e| result(e, index.get(e.v.id.as_str()).copied().unwrap_or_default()))
        .collect();

    let mut run = json!({
        "tool": {"driver": {
            "name": "keelhaul",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": INFORMATION_URI,
            "rules": rules,
        }},
        "results": results,
        "columnKind": "unicodeCodePoints",
    });
    if let Some(first) = reports.first() {
        let mut props = json!({
            "target": first.target,
            "imageName": first.image_name(),
        });
        let digests: Vec<String> = reports
            .iter()
            .filter_map(|r| r.image_digest().map(ToString::to_string))
            .collect();
        if !digests.is_empty() {
            props["imageDigests"] = json!(digests);
        }
        if let Some(d) = first.image.index_digest.as_ref() {
            props["indexDigest"] = json!(d.to_string());
        }
        run["properties"] = props;
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn sarif(reports: &[Report]) -> Value {
        log(reports)
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Negligible), "note");
        assert_eq!(level(Severity::Unknown), "note");
    }

    #[test]
    fn security_severity_uses_cvss_only_when_it_agrees() {
        let r = testdata::report();
        let by_id = |id: &str| {
            r.vulnerabilities
                .iter()
                .find(|v| v.id == id)
                .map(security_severity)
        };
        // Medium with CVSS 5.5 (medium): the score.
        assert_eq!(by_id("CVE-2024-0727"), Some(5.5));
        // Debian says unimportant, NVD 5.3: the distro wins, so no GitHub severity.
        assert_eq!(by_id("CVE-2023-5678"), Some(0.0));
        // No CVSS, unknown severity.
        assert_eq!(by_id("GHSA-0000-0000-0000"), Some(0.0));
        let mut v = r.vulnerabilities[4].clone();
        v.severity = Severity::High;
        assert_eq!(security_severity(&v), 8.0);
        v.severity = Severity::Critical;
        assert_eq!(security_severity(&v), 9.5);
        v.severity = Severity::Medium;
        assert_eq!(security_severity(&v), 5.5);
        v.severity = Severity::Low;
        assert_eq!(security_severity(&v), 2.0);
        assert_eq!(score_text(9.8), "9.8");
        assert_eq!(score_text(10.0), "10.0");
    }

    #[test]
    fn rules_are_distinct_ids_with_github_properties() {
        let s = sarif(&[testdata::report()]);
        let rules = &s["runs"][0]["tool"]["driver"]["rules"];
        let ids: Vec<&str> = rules
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "CVE-2023-32681",
                "CVE-2023-5678",
                "CVE-2024-0727",
                "CVE-2024-3094",
                "GHSA-0000-0000-0000"
            ]
        );
        let xz = &rules[3];
        assert_eq!(xz["properties"]["security-severity"], "10.0");
        assert_eq!(
            xz["properties"]["tags"],
            json!(["security", "vulnerability", "os", "critical"])
        );
        assert_eq!(xz["shortDescription"]["text"], "Malicious code in xz-utils");
        assert_eq!(rules[4]["shortDescription"]["text"], "GHSA-0000-0000-0000");
        assert!(rules[4].get("helpUri").is_none());
        assert_eq!(
            rules[0]["helpUri"],
            "https://github.com/advisories/GHSA-j8r2-6x86-q33q"
        );
        let help = rules[0]["help"]["text"].as_str().unwrap_or_default();
        assert!(
            help.contains("requests 2.28.1: upgrade to 2.31.0"),
            "{help}"
        );
        assert!(help.contains("GHSA-j8r2-6x86-q33q"), "{help}");
        let driver = &s["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "keelhaul");
        assert_eq!(
            driver["informationUri"],
            "https://github.com/keelhaul/keelhaul"
        );
    }

    #[test]
    fn results_point_at_the_package_file_and_rule() {
        let s = sarif(&[testdata::report()]);
        let results = &s["runs"][0]["results"];
        let first = &results[0];
        assert_eq!(first["ruleId"], "CVE-2024-0727");
        assert_eq!(first["ruleIndex"], 2);
        assert_eq!(first["level"], "warning");
        assert_eq!(
            first["message"]["text"],
            "openssl 3.0.11-1~deb12u1 is affected by CVE-2024-0727 (fixed in 3.0.13-1~deb12u1)"
        );
        let loc = &first["locations"][0];
        assert_eq!(
            loc["physicalLocation"]["artifactLocation"]["uri"],
            "var/lib/dpkg/status"
        );
        assert_eq!(loc["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(
            loc["logicalLocations"][0]["name"],
            testdata::layer().to_string()
        );
        // Producer order kept.
        let ids: Vec<&str> = results
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["ruleId"].as_str())
            .collect();
        assert_eq!(
            ids[..3],
            ["CVE-2024-0727", "CVE-2023-5678", "CVE-2024-3094"]
        );
        assert_eq!(results[2]["level"], "error");
        assert!(
            results[2]["message"]["text"]
                .as_str()
                .is_some_and(|m| m.contains("(no fix: deferred)") && m.contains("CISA KEV"))
        );
        // No path: the image name, its `:` escaped so it is not a URI scheme.
        let orphan = &results[4]["locations"][0];
        assert_eq!(
            orphan["physicalLocation"]["artifactLocation"]["uri"],
            "debian%3A12"
        );
        assert!(orphan.get("logicalLocations").is_none());
    }

    #[test]
    fn fingerprints_differ_by_path_id_and_purl_and_are_stable() {
        let a = fingerprint("CVE-1", "pkg:pypi/a@1", "app/a/METADATA");
        assert_eq!(a, fingerprint("CVE-1", "pkg:pypi/a@1", "app/a/METADATA"));
        assert_ne!(a, fingerprint("CVE-1", "pkg:pypi/a@1", "srv/a/METADATA"));
        assert_ne!(a, fingerprint("CVE-2", "pkg:pypi/a@1", "app/a/METADATA"));
        assert_ne!(a, fingerprint("CVE-1", "pkg:pypi/a@2", "app/a/METADATA"));
        // No ambiguity from concatenation.
        assert_ne!(fingerprint("ab", "c", "d"), fingerprint("a", "bc", "d"));
        assert_eq!(a.len(), 64);

        let mut r = testdata::report();
        let mut copy = r.vulnerabilities[3].clone();
        copy.path = Some("/opt/venv/requests-2.28.1.dist-info/METADATA".to_owned());
        r.vulnerabilities.push(copy);
        let s = sarif(&[r]);
        let results = &s["runs"][0]["results"];
        assert_ne!(
            results[3]["partialFingerprints"][FINGERPRINT_KEY],
            results[5]["partialFingerprints"][FINGERPRINT_KEY]
        );
        assert_eq!(
            results[5]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "opt/venv/requests-2.28.1.dist-info/METADATA"
        );
    }

    #[test]
    fn several_platforms_make_one_run_with_merged_results() {
        let s = sarif(&testdata::two_platforms());
        let runs = s["runs"].as_array().map_or(0, Vec::len);
        assert_eq!(runs, 1);
        let results = &s["runs"][0]["results"];
        assert_eq!(results.as_array().map_or(0, Vec::len), 5);
        assert_eq!(
            results[0]["properties"]["platforms"],
            json!(["linux/amd64", "linux/arm64"])
        );
        assert_eq!(
            s["runs"][0]["properties"]["imageDigests"]
                .as_array()
                .map_or(0, Vec::len),
            2
        );
    }

    #[test]
    fn uris_are_escaped() {
        assert_eq!(
            uri_reference("usr/lib/a b.jar!x/y"),
            "usr/lib/a%20b.jar!x/y"
        );
        assert_eq!(uri_reference("reg:5000/img:1"), "reg%3A5000/img%3A1");
        assert_eq!(uri_reference("ü"), "%C3%BC");
    }

    #[test]
    fn no_findings_is_a_valid_empty_run() {
        let mut r = testdata::report();
        r.vulnerabilities.clear();
        let s = sarif(&[r]);
        assert_eq!(s["version"], "2.1.0");
        assert_eq!(s["runs"][0]["results"], json!([]));
        assert_eq!(s["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }
}
