//! Ubuntu CVE tracker text files (`active/CVE-…`, `retired/CVE-…`, `ignored/CVE-…`).
//!
//! One file is one CVE: RFC-822-like fields (`Candidate:`, `PublicDate:`, `Priority:`,
//! `CVSS:`, `References:`, `Description:` with indented continuation lines) and one
//! `<release>_<srcpkg>: <status> (<version or note>)` line per release and source package.
//!
//! Choices:
//! * Release keys `upstream`, `devel`, `snap` and anything that is not an Ubuntu
//!   codename are skipped.
//! * ESM keys (`trusty/esm`, `precise/esm`, `esm-infra/xenial`, `esm-apps/focal`,
//!   `xenial-esm`…) are skipped: `Ubuntu:14.04` stands for the public archive a container
//!   image is built from, and ESM fixes exist only in the Ubuntu Pro archive. Mapping them
//!   onto the same release would give two contradicting entries for one package
//!   (`ignored (out of standard support)` next to `released (…+esm1)`).
//! * `released (v)` → fixed in `v`; `needed`, `needs-triage`, `active`, `pending` (even
//!   with the coming version) and `released-esm` (fixed only in ESM) → affected, no fix;
//!   `deferred` → deferred; `ignored` → end-of-life when the note says the release is out
//!   of (standard) support or end of life, else will-not-fix; `not-affected`, `DNE` → no
//!   entry.

use keelhaul_core::FixStatus;

use super::{clip, file_name};
use crate::model::{Advisory, Affected, CvssVector, Event, Parsed, Rule};
use crate::normalize_name;

/// The OSV ecosystem (`Ubuntu:<version>`) for an Ubuntu codename.
pub(super) fn ubuntu_ecosystem(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "warty" => "Ubuntu:4.10",
        "hoary" => "Ubuntu:5.04",
        "breezy" => "Ubuntu:5.10",
        "dapper" => "Ubuntu:6.06",
        "edgy" => "Ubuntu:6.10",
        "feisty" => "Ubuntu:7.04",
        "gutsy" => "Ubuntu:7.10",
        "hardy" => "Ubuntu:8.04",
        "intrepid" => "Ubuntu:8.10",
        "jaunty" => "Ubuntu:9.04",
        "karmic" => "Ubuntu:9.10",
        "lucid" => "Ubuntu:10.04",
        "maverick" => "Ubuntu:10.10",
        "natty" => "Ubuntu:11.04",
        "oneiric" => "Ubuntu:11.10",
        "precise" => "Ubuntu:12.04",
        "quantal" => "Ubuntu:12.10",
        "raring" => "Ubuntu:13.04",
        "saucy" => "Ubuntu:13.10",
        "trusty" => "Ubuntu:14.04",
        "utopic" => "Ubuntu:14.10",
        "vivid" => "Ubuntu:15.04",
        "wily" => "Ubuntu:15.10",
        "xenial" => "Ubuntu:16.04",
        "yakkety" => "Ubuntu:16.10",
        "zesty" => "Ubuntu:17.04",
        "artful" => "Ubuntu:17.10",
        "bionic" => "Ubuntu:18.04",
        "cosmic" => "Ubuntu:18.10",
        "disco" => "Ubuntu:19.04",
        "eoan" => "Ubuntu:19.10",
        "focal" => "Ubuntu:20.04",
        "groovy" => "Ubuntu:20.10",
        "hirsute" => "Ubuntu:21.04",
        "impish" => "Ubuntu:21.10",
        "jammy" => "Ubuntu:22.04",
        "kinetic" => "Ubuntu:22.10",
        "lunar" => "Ubuntu:23.04",
        "mantic" => "Ubuntu:23.10",
        "noble" => "Ubuntu:24.04",
        "oracular" => "Ubuntu:24.10",
        "plucky" => "Ubuntu:25.04",
        _ => return None,
    })
}

/// Whether this is a tracker file: it opens with (or soon has) a `Candidate:` line naming
/// an id, and has the tracker's `PublicDate:` field. The empty `00boilerplate` template
/// is not a record and is not claimed.
pub(super) fn detect(_path: &str, head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return false,
        },
    };
    let candidate = text.lines().find_map(|l| l.strip_prefix("Candidate:"));
    matches!(candidate, Some(c) if !c.trim().is_empty())
        && text.lines().any(|l| l.starts_with("PublicDate:"))
}

/// One `Key: value` field with its continuation lines.
struct Field<'a> {
    key: &'a str,
    value: &'a str,
    more: Vec<&'a str>,
}

/// Reads one tracker file.
pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let fields = split_fields(text);

    let get = |key: &str| fields.iter().find(|f| f.key == key);
    let candidate = get("Candidate")
        .map(|f| f.value.trim())
        .filter(|c| !c.is_empty())
        .ok_or("no `Candidate:` field naming the CVE")?;
    if candidate.contains(char::is_whitespace) {
        return Err(format!("`Candidate:` is not one id: {candidate:?}"));
    }
    if get("PublicDate").is_none() && !file_name(path).starts_with("CVE-") {
        return Err("neither a `PublicDate:` field nor a CVE file name".to_owned());
    }

    let priority = get("Priority").and_then(|f| priority_word(f.value));
    let mut advisory = Advisory {
        id: candidate.to_owned(),
        published: get("PublicDate").and_then(|f| public_date(f.value)),
        severity_label: priority.clone(),
        ..Advisory::default()
    };
    advisory
        .references
        .push(format!("https://ubuntu.com/security/{candidate}"));
    if let Some(f) = get("References") {
        for url in std::iter::once(f.value).chain(f.more.iter().copied()) {
            let url = url.trim();
            if !url.is_empty() && !advisory.references.iter().any(|r| r == url) {
                advisory.references.push(url.to_owned());
            }
        }
    }
    if let Some(f) = get("Description") {
        let joined = std::iter::once(f.value)
            .chain(f.more.iter().copied())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !joined.is_empty() {
            advisory.details = Some(clip(&joined, 4096));
        }
    }
    if let Some(f) = get("CVSS") {
        for line in std::iter::once(f.value).chain(f.more.iter().copied()) {
            // ` nvd: CVSS:3.1/AV:N/…` — keep the vector, whoever published it.
            for word in line.split_whitespace() {
                if (word.starts_with("CVSS:") || word.starts_with("AV:"))
                    && !advisory.cvss.iter().any(|c| c.vector == word)
                {
                    advisory.cvss.push(CvssVector {
                        vector: word.to_owned(),
                    });
                }
            }
        }
    }

    for f in &fields {
        let Some((release, package)) = f.key.split_once('_') else {
            continue;
        };
        // Not release lines: `Patches_pkg`, `Priority_pkg[_release]`, `Tags_pkg`, …
        if release.starts_with(|c: char| c.is_ascii_uppercase()) || package.is_empty() {
            continue;
        }
        if matches!(release, "upstream" | "devel" | "snap") || release.contains("esm") {
            continue;
        }
        let Some(ecosystem) = ubuntu_ecosystem(release) else {
            tracing::debug!(path, release, "unknown Ubuntu release key; line skipped");
            continue;
        };
        let (status_word, note) = split_status(f.value);
        let (rules, status) = match status_word {
            "released" => {
                let Some(version) = note.and_then(first_version) else {
                    tracing::warn!(
                        path,
                        key = f.key,
                        "`released` without a version; line skipped"
                    );
                    continue;
                };
                let events = vec![Event::Introduced("0".to_owned()), Event::Fixed(version)];
                (vec![Rule::Events { events }], FixStatus::Fixed)
            }
            "needed" | "needs-triage" | "active" | "pending" | "released-esm" => {
                (vec![Rule::All], FixStatus::Affected)
            }
            "deferred" => (vec![Rule::All], FixStatus::Deferred),
            "ignored" => {
                let note = note.unwrap_or("").to_ascii_lowercase();
                let eol = [
                    "end-of-life",
                    "end of life",
                    "end of standard support",
                    "out of standard support",
                ]
                .iter()
                .any(|n| note.contains(n));
                let status = if eol {
                    FixStatus::EndOfLife
                } else {
                    FixStatus::WillNotFix
                };
                (vec![Rule::All], status)
            }
            "not-affected" | "DNE" => continue,
            other => {
                tracing::warn!(
                    path,
                    key = f.key,
                    status = other,
                    "unknown status; line skipped"
                );
                continue;
            }
        };
        let severity = package_priority(&fields, package, release).or_else(|| priority.clone());
        advisory.affected.push(Affected {
            ecosystem: ecosystem.to_owned(),
            package: normalize_name(ecosystem, package),
            rules,
            status,
            severity_label: severity,
            symbols: Vec::new(),
        });
    }

    let mut parsed = Parsed::default();
    if advisory.affected.is_empty() {
        // Not affected (or not present) in every release we map.
        parsed.skipped += 1;
    } else {
        parsed.advisories.push(advisory);
    }
    Ok(parsed)
}

/// Splits the text into fields; `#` comments and blank lines are dropped, indented lines
/// continue the field above.
fn split_fields(text: &str) -> Vec<Field<'_>> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.more.push(line);
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim();
            if !key.is_empty() && !key.contains(char::is_whitespace) {
                fields.push(Field {
                    key,
                    value,
                    more: Vec::new(),
                });
                continue;
            }
        }
        tracing::debug!(line, "tracker line that is not a field; ignored");
    }
    fields
}

/// `released (1.2-3)` → (`released`, `1.2-3`); `DNE` → (`DNE`, None).
fn split_status(value: &str) -> (&str, Option<&str>) {
    let value = value.trim();
    match value.split_once('(') {
        Some((word, rest)) => {
            let note = rest.rsplit_once(')').map_or(rest, |(n, _)| n).trim();
            (word.trim(), Some(note).filter(|n| !n.is_empty()))
        }
        None => (value.split_whitespace().next().unwrap_or(""), None),
    }
}

/// The version in a `released` note; a few notes list two (`2.4.43-1, 2.4.41`): the first
/// is the one for this release.
fn first_version(note: &str) -> Option<String> {
    let v = note
        .split([',', ' '])
        .map(str::trim)
        .find(|w| !w.is_empty())?;
    v.starts_with(|c: char| c.is_ascii_alphanumeric())
        .then(|| v.to_owned())
}

/// A priority word, or `None` for the `untriaged` placeholder.
fn priority_word(value: &str) -> Option<String> {
    let word = value.split_whitespace().next()?;
    (word != "untriaged").then(|| word.to_owned())
}

/// `Priority_<pkg>_<release>` beats `Priority_<pkg>`.
fn package_priority(fields: &[Field<'_>], package: &str, release: &str) -> Option<String> {
    let specific = format!("Priority_{package}_{release}");
    let general = format!("Priority_{package}");
    fields
        .iter()
        .find(|f| f.key == specific)
        .or_else(|| fields.iter().find(|f| f.key == general))
        .and_then(|f| priority_word(f.value))
}

/// `2020-03-10 20:15:00 UTC` → `2020-03-10T20:15:00Z`; `2020-03-10` stays.
fn public_date(value: &str) -> Option<String> {
    let mut words = value.split_whitespace();
    let date = words.next()?;
    let is_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !is_date {
        return None;
    }
    match words.next() {
        Some(time) if time.len() == 8 && time.bytes().filter(|b| *b == b':').count() == 2 => {
            Some(format!("{date}T{time}Z"))
        }
        _ => Some(date.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
Candidate: CVE-2099-0001
PublicDate: 2099-03-10 20:15:00 UTC
References:
 https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2099-0001
 https://example.org/advisory
Description:
 First line
 second line.
Ubuntu-Description:
Notes:
 someone> a note: with a colon
Priority: medium
Priority_libfoo: high
Priority_libfoo_xenial: low
CVSS:
 nvd: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N

Patches_libfoo:
 upstream: https://example.org/commit/1
upstream_libfoo: released (1.7.0-3)
precise/esm_libfoo: needed
trusty_libfoo: ignored (out of standard support)
trusty/esm_libfoo: released (1.0-1ubuntu0.1~esm1)
xenial_libfoo: needed
bionic_libfoo: released (1.7.0-3ubuntu0.18.04.1)
cosmic_libfoo: ignored (abandoned)
disco_libfoo: deferred (2020-01-01)
eoan_libfoo: pending (1.8.1-2ubuntu1)
focal_libfoo: not-affected (1.8.2-1)
groovy_libfoo: DNE
hirsute_libfoo: bogus-status
jammy_libfoo: released
devel_libfoo: needs-triage
snap_libfoo: released (1.0)
esm-infra/xenial_libfoo: released (1.0+esm1)
bionic_libbar: needs-triage
eoan_libbar: ignored (reached end-of-life)
impish_libbar: active
kinetic_libbar: released-esm (1.0~esm1)
";

    #[test]
    fn tracker_file() {
        let p = parse("active/CVE-2099-0001", FILE.as_bytes()).expect("parses");
        assert_eq!(p.skipped, 0);
        let a = &p.advisories[0];
        assert_eq!(a.id, "CVE-2099-0001");
        assert_eq!(a.published.as_deref(), Some("2099-03-10T20:15:00Z"));
        assert_eq!(a.severity_label.as_deref(), Some("medium"));
        assert_eq!(a.details.as_deref(), Some("First line second line."));
        assert_eq!(a.references.len(), 3);
        assert_eq!(a.references[0], "https://ubuntu.com/security/CVE-2099-0001");
        assert_eq!(
            a.cvss[0].vector,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
        );
        let got: Vec<(&str, &str, FixStatus, Option<&str>)> = a
            .affected
            .iter()
            .map(|a| {
                (
                    a.ecosystem.as_str(),
                    a.package.as_str(),
                    a.status,
                    a.severity_label.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Ubuntu:14.04", "libfoo", FixStatus::EndOfLife, Some("high")),
                ("Ubuntu:16.04", "libfoo", FixStatus::Affected, Some("low")),
                ("Ubuntu:18.04", "libfoo", FixStatus::Fixed, Some("high")),
                (
                    "Ubuntu:18.10",
                    "libfoo",
                    FixStatus::WillNotFix,
                    Some("high")
                ),
                ("Ubuntu:19.04", "libfoo", FixStatus::Deferred, Some("high")),
                ("Ubuntu:19.10", "libfoo", FixStatus::Affected, Some("high")),
                (
                    "Ubuntu:18.04",
                    "libbar",
                    FixStatus::Affected,
                    Some("medium")
                ),
                (
                    "Ubuntu:19.10",
                    "libbar",
                    FixStatus::EndOfLife,
                    Some("medium")
                ),
                (
                    "Ubuntu:21.10",
                    "libbar",
                    FixStatus::Affected,
                    Some("medium")
                ),
                (
                    "Ubuntu:22.10",
                    "libbar",
                    FixStatus::Affected,
                    Some("medium")
                ),
            ]
        );
        assert_eq!(
            a.affected[2].rules,
            [Rule::Events {
                events: vec![
                    Event::Introduced("0".into()),
                    Event::Fixed("1.7.0-3ubuntu0.18.04.1".into())
                ]
            }]
        );
        assert_eq!(a.affected[0].rules, [Rule::All]);
        assert_eq!(
            a.affected[5].rules,
            [Rule::All],
            "pending has no fixed version yet"
        );
    }

    #[test]
    fn not_affected_anywhere_is_skipped() {
        let text = "Candidate: CVE-2099-0002\nPublicDate: 2099-01-01\nPriority: untriaged\nbionic_x: not-affected\nxenial_x: DNE\n";
        let p = parse("retired/CVE-2099-0002", text.as_bytes()).expect("parses");
        assert!(p.advisories.is_empty());
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn detection_and_corrupt_files() {
        assert!(detect("active/CVE-2099-0001", FILE.as_bytes()));
        let boilerplate = "Candidate: \nPublicDate: \nReferences: \n";
        assert!(!detect("active/00boilerplate", boilerplate.as_bytes()));
        assert!(!detect("README", b"UBUNTU CVE TRACKER\nCandidate: x\n"));
        assert!(!detect("x.yaml", b"id: CVE-1\n"));
        assert!(
            parse(
                "active/CVE-1",
                b"PublicDate: 2020-01-01\nbionic_x: needed\n"
            )
            .is_err()
        );
        assert!(parse("active/CVE-1", b"\xff\xfe\x00garbage").is_err());
        assert!(
            parse(
                "active/x",
                b"Candidate: two words\nPublicDate: 2020-01-01\n"
            )
            .is_err()
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(
            split_status("released (1.2-3)"),
            ("released", Some("1.2-3"))
        );
        assert_eq!(split_status("DNE"), ("DNE", None));
        assert_eq!(
            first_version("2.4.43-1, 2.4.41").as_deref(),
            Some("2.4.43-1")
        );
        assert_eq!(public_date("2020-01-02").as_deref(), Some("2020-01-02"));
        assert_eq!(public_date("soon"), None);
        assert_eq!(ubuntu_ecosystem("noble"), Some("Ubuntu:24.04"));
        assert_eq!(ubuntu_ecosystem("devel"), None);
    }
}
