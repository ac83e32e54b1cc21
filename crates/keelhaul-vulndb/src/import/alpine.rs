//! Alpine secdb JSON (`https://secdb.alpinelinux.org/<release>/<repo>.json`).
//!
//! The file lists, per origin package, the apk versions that fixed vulnerabilities:
//! `packages[].pkg.{name, secfixes: {"1.2.3-r0": ["CVE-…", …]}}`. We produce one
//! [`Advisory`] per vulnerability id per file, with one [`Affected`] per package, whose
//! rule is `[Introduced("0"), Fixed(version)]`.
//!
//! Choices:
//! * A fixed version of `0` means "never affected in this branch": no entry.
//! * One secfix string may name several ids (`CVE-2018-3620 CVE-2018-3646 XSA-273`,
//!   `CVE-x GHSA-y`, `CVE-… (note)`): every CVE in it is its own advisory and the other
//!   ids (XSA, GHSA, TALOS…) become aliases; a string without a CVE uses its first id.
//!   Notes in parentheses are dropped, and near-miss spellings seen in the real feed
//!   (`CVE_2019-2426`, `CVE-2017-17434-1`, `CVE-2021-35940.patch`) are repaired;
//!   placeholders (`CVE-????-?????`, `CVE-46838`, `CVE N/A`) are ignored.
//! * The same id listed under several fixed versions of one package (rare: a backport
//!   and a later re-fix) keeps the lowest: that is the first version that carries the
//!   fix, so older versions are the vulnerable ones.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use keelhaul_core::FixStatus;
use keelhaul_version::{Scheme, compare};
use serde::Deserialize;

use crate::model::{Advisory, Affected, Event, Parsed, Rule};
use crate::normalize_name;

/// Whether this is a secdb file: JSON with `distroversion`, or with `secfixes` under
/// `pkg` (no other feed uses those names).
pub(super) fn detect(_path: &str, head: &[u8]) -> bool {
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    if start.map(|i| head[i]) != Some(b'{') {
        return false;
    }
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    has(b"\"distroversion\"") || (has(b"\"secfixes\"") && has(b"\"pkg\""))
}

#[derive(Deserialize)]
struct Secdb {
    distroversion: String,
    #[serde(default)]
    packages: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct PackageEntry {
    pkg: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<String, Option<Vec<serde_json::Value>>>>,
}

/// Reads one secdb file.
pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let db: Secdb =
        serde_json::from_slice(data).map_err(|e| format!("not Alpine secdb JSON: {e}"))?;
    let ecosystem = alpine_ecosystem(&db.distroversion)
        .ok_or_else(|| format!("unexpected distroversion {:?}", db.distroversion))?;

    let mut parsed = Parsed::default();
    // id → (aliases, package → lowest fixed version)
    let mut vulns: BTreeMap<String, (Vec<String>, BTreeMap<String, String>)> = BTreeMap::new();
    for (i, value) in db.packages.into_iter().enumerate() {
        let entry: PackageEntry = match serde_json::from_value(value) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(path, index = i, error = %e, "secdb package entry skipped");
                parsed.skipped += 1;
                continue;
            }
        };
        let name = entry.pkg.name.trim();
        if name.is_empty() {
            tracing::warn!(path, index = i, "secdb package without a name skipped");
            parsed.skipped += 1;
            continue;
        }
        for (version, ids) in entry.pkg.secfixes.unwrap_or_default() {
            let version = version.trim();
            if version == "0" || version.is_empty() {
                continue;
            }
            for text in ids.unwrap_or_default() {
                let Some(text) = text.as_str() else {
                    tracing::warn!(
                        path,
                        package = name,
                        version,
                        "non-string secfix id skipped"
                    );
                    continue;
                };
                let (primaries, aliases) = split_ids(text);
                if primaries.is_empty() {
                    tracing::debug!(path, package = name, text, "secfix without a usable id");
                }
                for id in primaries {
                    let (known, packages) = vulns.entry(id).or_default();
                    for alias in &aliases {
                        if !known.contains(alias) {
                            known.push(alias.clone());
                        }
                    }
                    packages
                        .entry(name.to_owned())
                        .and_modify(|v| {
                            if compare(Scheme::Apk, version, v).is_ok_and(|o| o == Ordering::Less) {
                                *v = version.to_owned();
                            }
                        })
                        .or_insert_with(|| version.to_owned());
                }
            }
        }
    }

    for (id, (aliases, packages)) in vulns {
        let affected = packages
            .into_iter()
            .map(|(package, fixed)| Affected {
                ecosystem: ecosystem.clone(),
                package: normalize_name(&ecosystem, &package),
                rules: vec![Rule::Events {
                    events: vec![Event::Introduced("0".to_owned()), Event::Fixed(fixed)],
                }],
                status: FixStatus::Fixed,
                severity_label: None,
                symbols: Vec::new(),
            })
            .collect();
        parsed.advisories.push(Advisory {
            references: vec![format!("https://security.alpinelinux.org/vuln/{id}")],
            id,
            aliases,
            affected,
            ..Advisory::default()
        });
    }
    Ok(parsed)
}

/// `v3.20` → `Alpine:v3.20`, `edge` → `Alpine:edge`.
fn alpine_ecosystem(distroversion: &str) -> Option<String> {
    let v = distroversion.trim();
    if v == "edge" {
        return Some("Alpine:edge".to_owned());
    }
    let digits = v.strip_prefix('v').unwrap_or(v);
    let ok = !digits.is_empty()
        && digits
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("Alpine:v{digits}"))
}

/// Splits one secfix string into the ids it is the advisory for (its CVEs, or else its
/// first other id) and the aliases that go with them.
fn split_ids(text: &str) -> (Vec<String>, Vec<String>) {
    let mut cves = Vec::new();
    let mut others = Vec::new();
    let mut depth = 0usize;
    for token in text.split_whitespace() {
        // Drop parenthesised notes: `(SMB - partially fixed, …)`.
        let opens = token.matches('(').count();
        let closes = token.matches(')').count();
        let inside = depth > 0 || opens > 0;
        depth = (depth + opens).saturating_sub(closes);
        if inside {
            continue;
        }
        if let Some(cve) = repair_cve(token) {
            if !cves.contains(&cve) {
                cves.push(cve);
            }
        } else if token.len() >= 4
            && !token.to_ascii_uppercase().starts_with("CVE")
            && is_other_id(token)
            && !others.iter().any(|o| o == token)
        {
            others.push(token.to_owned());
        }
    }
    if cves.is_empty() {
        if others.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let first = others.remove(0);
        return (vec![first], others);
    }
    (cves, others)
}

/// `CVE-2019-1234`, tolerating `CVE_2019-…`, `…-1` and `….patch` suffixes.
fn repair_cve(token: &str) -> Option<String> {
    let upper = token.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("CVE-")
        .or_else(|| upper.strip_prefix("CVE_"))?;
    let (year, rest) = rest.split_once('-')?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let valid = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) && number.len() >= 4;
    valid.then(|| format!("CVE-{year}-{number}"))
}

/// Another advisory id: letters, then `-`-separated alphanumeric parts with a digit
/// somewhere (`XSA-273`, `GHSA-xxxx-xxxx-xxxx`, `ZDI-CAN-22093`, `wnpa-sec-2017-18`).
fn is_other_id(token: &str) -> bool {
    let mut parts = token.split('-');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && token.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECDB: &str = r#"{
        "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
        "archs": ["x86_64"],
        "reponame": "main",
        "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
        "distroversion": "v3.99",
        "packages": [
            {"pkg": {"name": "foo", "secfixes": {
                "0": ["CVE-2020-0001"],
                "1.2.0-r0": ["CVE-2020-0002", "CVE-2020-0003 XSA-100"],
                "1.10.0-r0": ["CVE-2020-0002"],
                "1.3.0-r1": ["CVE-2018-3620 CVE-2018-3646 XSA-273 XPTI", "XSA-999", "CVE_2019-2426", "CVE-2017-17434-1", "CVE-2021-35940.patch", "CVE-2020-14342 (not actually applicable)", "CVE-????-????? TS-2024-005", "CVE N/A ZBX-11023", "CVE-46838"]
            }}},
            {"pkg": {"name": "bar", "secfixes": {"2.0-r0": ["CVE-2020-0002"], "1.9-r0": ["CVE-2020-0002"]}}},
            {"pkg": {"name": "nofixes"}},
            {"pkg": {"secfixes": {}}},
            {"notpkg": 1}
        ]
    }"#;

    fn find<'a>(p: &'a Parsed, id: &str) -> &'a Advisory {
        p.advisories
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    }

    fn fixed(a: &Affected) -> &str {
        match &a.rules[..] {
            [Rule::Events { events }] => match &events[..] {
                [Event::Introduced(z), Event::Fixed(f)] if z == "0" => f,
                other => panic!("unexpected events {other:?}"),
            },
            other => panic!("unexpected rules {other:?}"),
        }
    }

    #[test]
    fn secdb_entries() {
        let p = parse("v3.99/main.json", SECDB.as_bytes()).expect("parses");
        assert_eq!(p.skipped, 2, "the nameless and the malformed entry");
        assert!(
            p.advisories.iter().all(|a| a.id != "CVE-2020-0001"),
            "0 = never affected"
        );

        let two = find(&p, "CVE-2020-0002");
        let got: Vec<(&str, &str, &str)> = two
            .affected
            .iter()
            .map(|a| (a.ecosystem.as_str(), a.package.as_str(), fixed(a)))
            .collect();
        // Lowest fixed version in apk order (1.2.0 < 1.10.0; 1.9 < 2.0).
        assert_eq!(
            got,
            [
                ("Alpine:v3.99", "bar", "1.9-r0"),
                ("Alpine:v3.99", "foo", "1.2.0-r0")
            ]
        );
        assert_eq!(two.affected[0].status, FixStatus::Fixed);

        assert_eq!(find(&p, "CVE-2020-0003").aliases, ["XSA-100"]);
        assert_eq!(find(&p, "CVE-2018-3620").aliases, ["XSA-273"]);
        assert_eq!(find(&p, "CVE-2018-3646").aliases, ["XSA-273"]);
        assert!(find(&p, "XSA-999").aliases.is_empty());
        find(&p, "CVE-2019-2426");
        find(&p, "CVE-2017-17434");
        find(&p, "CVE-2021-35940");
        find(&p, "CVE-2020-14342");
        find(&p, "TS-2024-005");
        find(&p, "ZBX-11023");
        assert!(
            p.advisories
                .iter()
                .all(|a| !a.id.contains('?') && a.id != "CVE-46838")
        );
    }

    #[test]
    fn secdb_edge_detection_and_corrupt() {
        let edge = r#"{"distroversion": "edge", "reponame": "community", "packages": [{"pkg": {"name": "x", "secfixes": {"1-r0": ["CVE-2024-1111"]}}}]}"#;
        let p = parse("edge/community.json", edge.as_bytes()).expect("parses");
        assert_eq!(p.advisories[0].affected[0].ecosystem, "Alpine:edge");
        assert!(detect("edge/community.json", edge.as_bytes()));
        assert!(detect("x.json", SECDB.as_bytes()));
        assert!(!detect(
            "osv.json",
            br#"{"id": "ALPINE-1", "affected": []}"#
        ));
        assert!(!detect(
            "kev.json",
            br#"{"catalogVersion": "1", "vulnerabilities": []}"#
        ));
        assert!(parse("x.json", b"{\"distroversion\": \"v3.1\", \"packages\": [").is_err());
        assert!(parse("x.json", br#"{"distroversion": "banana", "packages": []}"#).is_err());
        assert!(parse("x.json", br#"{"packages": []}"#).is_err());
    }
}
