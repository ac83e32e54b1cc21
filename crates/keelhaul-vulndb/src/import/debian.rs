//! Debian security tracker feeds:
//!
//! * the advisory lists `data/DSA/list`, `data/DLA/list` and `data/DTSA/list`
//!   (one [`Advisory`] per DSA/DLA/DTSA entry, one [`Affected`] per `[release] - pkg …`
//!   line), and
//! * the tracker's JSON export (`https://security-tracker.debian.org/tracker/data/json`:
//!   one [`Advisory`] per CVE/TEMP id, one [`Affected`] per (release, source package)).
//!
//! Releases are mapped to OSV's `Debian:<number>`; `sid`/`unstable`/`experimental` have no
//! release number and are skipped.

use std::collections::BTreeMap;
use std::fmt;

use keelhaul_core::FixStatus;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::clip;
use crate::model::{Advisory, Affected, Event, Parsed, Rule};
use crate::normalize_name;

/// The OSV ecosystem (`Debian:<major>`) for a Debian codename, or `None` for releases
/// without a number (sid, experimental) and names we do not know.
pub(super) fn debian_ecosystem(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "buzz" => "Debian:1.1",
        "rex" => "Debian:1.2",
        "bo" => "Debian:1.3",
        "hamm" => "Debian:2.0",
        "slink" => "Debian:2.1",
        "potato" => "Debian:2.2",
        "woody" => "Debian:3.0",
        "sarge" => "Debian:3.1",
        "etch" => "Debian:4",
        "lenny" => "Debian:5",
        "squeeze" => "Debian:6",
        "wheezy" => "Debian:7",
        "jessie" => "Debian:8",
        "stretch" => "Debian:9",
        "buster" => "Debian:10",
        "bullseye" => "Debian:11",
        "bookworm" => "Debian:12",
        "trixie" => "Debian:13",
        "forky" => "Debian:14",
        _ => return None,
    })
}

/// Urgency words the lists put after a fixed version (`(medium)`, `(bug #123; high)`).
const URGENCIES: [&str; 6] = [
    "unimportant",
    "low",
    "medium",
    "high",
    "critical",
    "not yet assigned",
];

// ---------------------------------------------------------------------------------------
// DSA / DLA / DTSA lists
// ---------------------------------------------------------------------------------------

/// Whether this is a tracker advisory list: by path, or by a first line that is an
/// advisory header (`[29 Mar 2023] DSA-5380-1 …`).
pub(super) fn detect_list(path: &str, head: &[u8]) -> bool {
    if ["/DSA/list", "/DLA/list", "/DTSA/list"]
        .iter()
        .any(|end| path.ends_with(end))
        || ["DSA/list", "DLA/list", "DTSA/list"].contains(&path)
    {
        return true;
    }
    let Ok(text) = std::str::from_utf8(&head[..valid_utf8_prefix(head)]) else {
        return false;
    };
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(parse_header)
        .is_some()
}

/// Reads a DSA/DLA/DTSA list.
pub(super) fn parse_list(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut parsed = Parsed::default();
    let mut current: Option<Entry> = None;
    // After a header we could not read, its body lines belong to nothing.
    let mut in_bad_record = false;
    let mut headers = 0usize;

    for (lineno, line) in text.lines().enumerate() {
        let lineno = lineno + 1;
        if line.trim().is_empty() {
            continue;
        }
        // Headers start in column 0; body lines are indented (tabs or spaces).
        if !line.starts_with([' ', '\t']) {
            finish_entry(path, current.take(), &mut parsed);
            match parse_header(line) {
                Some(h) => {
                    headers += 1;
                    in_bad_record = false;
                    current = Some(Entry::new(h));
                }
                None => {
                    tracing::warn!(
                        path,
                        lineno,
                        line,
                        "unreadable advisory header; record skipped"
                    );
                    parsed.skipped += 1;
                    in_bad_record = true;
                }
            }
            continue;
        }
        if in_bad_record {
            continue;
        }
        let Some(entry) = current.as_mut() else {
            return Err(format!(
                "line {lineno}: indented line before the first advisory header"
            ));
        };
        if let Err(reason) = entry.body_line(line.trim()) {
            entry.error = Some(format!("line {lineno}: {reason}"));
        }
    }
    finish_entry(path, current.take(), &mut parsed);
    if headers == 0 {
        // Nothing in it reads as an advisory: the wrong file, not a few bad records.
        return Err("no advisory header (`[DD Mon YYYY] DSA-…`) found".to_owned());
    }
    Ok(parsed)
}

/// A header line, read.
#[derive(Debug)]
struct Header {
    id: String,
    date: Option<String>,
    title: String,
}

/// One entry being read.
struct Entry {
    header: Header,
    cves: Vec<String>,
    affected: Vec<Affected>,
    /// The first body line we could not read: the whole record is then skipped.
    error: Option<String>,
}

impl Entry {
    fn new(header: Header) -> Entry {
        Entry {
            header,
            cves: Vec::new(),
            affected: Vec::new(),
            error: None,
        }
    }

    fn body_line(&mut self, line: &str) -> Result<(), String> {
        if let Some(list) = line.strip_prefix('{') {
            let list = list
                .strip_suffix('}')
                .ok_or_else(|| format!("unterminated id list {line:?}"))?;
            for id in list.split_whitespace() {
                if !self.cves.iter().any(|c| c == id) {
                    self.cves.push(id.to_owned());
                }
            }
            return Ok(());
        }
        if line.starts_with("NOTE:") {
            return Ok(());
        }
        if line.starts_with('[') {
            if let Some(a) = parse_release_line(line)? {
                self.affected.push(a);
            }
            return Ok(());
        }
        Err(format!("unrecognised line {line:?}"))
    }
}

fn finish_entry(path: &str, entry: Option<Entry>, parsed: &mut Parsed) {
    let Some(entry) = entry else { return };
    if let Some(reason) = entry.error {
        tracing::warn!(path, id = %entry.header.id, %reason, "advisory skipped");
        parsed.skipped += 1;
        return;
    }
    if entry.affected.is_empty() {
        // Announcements (`jessie end-of-life`), key changes, entries whose lines are all
        // `<not-affected>` or for releases without a number: nothing to match.
        tracing::debug!(path, id = %entry.header.id, "no affected package; skipped");
        parsed.skipped += 1;
        return;
    }
    let id = entry.header.id;
    parsed.advisories.push(Advisory {
        references: vec![format!("https://security-tracker.debian.org/tracker/{id}")],
        id,
        aliases: entry.cves,
        summary: Some(entry.header.title).filter(|t| !t.is_empty()),
        published: entry.header.date,
        affected: entry.affected,
        ..Advisory::default()
    });
}

/// `[29 Mar 2023] DSA-5380-1 xorg-server - security update` (also DTSA's
/// `[August 26th, 2005] DTSA-1-1 kismet - various`). `None` if it is not a header.
fn parse_header(line: &str) -> Option<Header> {
    let rest = line.strip_prefix('[')?;
    let (date, rest) = rest.split_once(']')?;
    let rest = rest.trim();
    let (id, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !is_advisory_id(id) {
        return None;
    }
    // The title follows ` - `; before it are the source package names. Old entries
    // without a dash just name the package or the subject.
    let title = match rest.split_once(" - ") {
        Some((_, title)) => title.trim(),
        None => rest.trim(),
    };
    Some(Header {
        id: id.to_owned(),
        date: parse_list_date(date.trim()),
        title: title.to_owned(),
    })
}

/// `DSA-5380-1`, `DLA-3193-2`, `DTSA-1-1`, or the old suffix-less `DSA-1304`.
fn is_advisory_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    matches!(prefix, "DSA" | "DLA" | "DTSA")
        && !rest.is_empty()
        && rest.split('-').count() <= 2
        && rest
            .split('-')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// `29 Mar 2023` or `August 26th, 2005` → `2023-03-29` / `2005-08-26`.
fn parse_list_date(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let [a, b, year] = words.as_slice() else {
        return None;
    };
    // Day first (`29 Mar`) or month first (`August 26th`).
    let (day, month) = if a.starts_with(|c: char| c.is_ascii_digit()) {
        (*a, *b)
    } else {
        (*b, *a)
    };
    let day: u32 = day
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()?;
    let month_lc = month.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| month_lc.starts_with(m))? + 1;
    let year: u32 = year.parse().ok()?;
    if !(1..=31).contains(&day) || !(1990..=2200).contains(&year) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// `[bullseye] - xorg-server 2:1.20.11-1+deb11u6`, `[woody] - sudo 1.6.6-1.3woody1
/// (medium)`, `[lenny] - vlc <not-affected> (reason)`, `[jessie] - x <end-of-life>`.
/// `Ok(None)` for lines that make no entry (not affected, release without a number).
fn parse_release_line(line: &str) -> Result<Option<Affected>, String> {
    let rest = line.strip_prefix('[').unwrap_or(line);
    let (release, rest) = rest
        .split_once(']')
        .ok_or_else(|| format!("no `]` in {line:?}"))?;
    let rest = rest
        .trim_start()
        .strip_prefix('-')
        .ok_or_else(|| format!("no ` - ` after the release in {line:?}"))?;
    let mut words = rest.split_whitespace();
    let package = words
        .next()
        .ok_or_else(|| format!("no package in {line:?}"))?;
    let what = words
        .next()
        .ok_or_else(|| format!("no version or status in {line:?}"))?;
    let tail = words.collect::<Vec<_>>().join(" ");

    let Some(ecosystem) = debian_ecosystem(release.trim()) else {
        tracing::debug!(release, "Debian release without a number; line skipped");
        return Ok(None);
    };
    let (rules, status, severity) = if let Some(tag) = what.strip_prefix('<') {
        let tag = tag
            .strip_suffix('>')
            .ok_or_else(|| format!("unterminated status tag in {line:?}"))?;
        let status = match tag {
            "not-affected" => return Ok(None),
            "unfixed" => FixStatus::Affected,
            "end-of-life" => FixStatus::EndOfLife,
            "no-dsa" => FixStatus::NoDsa,
            "ignored" => FixStatus::WillNotFix,
            "postponed" => FixStatus::Deferred,
            other => return Err(format!("unknown status <{other}>")),
        };
        (vec![Rule::All], status, urgency_in(&tail))
    } else {
        let events = vec![
            Event::Introduced("0".to_owned()),
            Event::Fixed(what.to_owned()),
        ];
        (
            vec![Rule::Events { events }],
            FixStatus::Fixed,
            urgency_in(&tail),
        )
    };
    Ok(Some(Affected {
        ecosystem: ecosystem.to_owned(),
        package: normalize_name(ecosystem, package),
        rules,
        status,
        severity_label: severity,
        symbols: Vec::new(),
    }))
}

/// The urgency in a trailing `(medium)` or `(bug #332524; medium)`.
fn urgency_in(tail: &str) -> Option<String> {
    let inner = tail.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(';')
        .map(str::trim)
        .find(|part| URGENCIES.contains(part))
        .map(str::to_owned)
}

/// The longest prefix of `head` that is valid UTF-8 (the head may cut a character).
fn valid_utf8_prefix(head: &[u8]) -> usize {
    match std::str::from_utf8(head) {
        Ok(_) => head.len(),
        Err(e) => e.valid_up_to(),
    }
}

// ---------------------------------------------------------------------------------------
// Tracker JSON
// ---------------------------------------------------------------------------------------

/// Whether this is the tracker JSON: an object whose first member is a package object
/// whose first key is a `CVE-…`/`TEMP-…` id, and which mentions `"releases"`. Other JSON
/// feeds (NVD `CVE_Items`, KEV, OSV, CVE 5) never have that shape.
pub(super) fn detect_tracker_json(_path: &str, head: &[u8]) -> bool {
    let head = &head[..valid_utf8_prefix(head)];
    let Ok(text) = std::str::from_utf8(head) else {
        return false;
    };
    if !text.contains("\"releases\"") {
        return false;
    }
    // `{ "pkg" : { "CVE-…"` — checked with a tiny scanner, no full parse.
    let mut s = text.trim_start_matches('\u{feff}').trim_start();
    let expect = |c: char, s: &mut &str| -> bool {
        match s.strip_prefix(c) {
            Some(rest) => {
                *s = rest.trim_start();
                true
            }
            None => false,
        }
    };
    if !expect('{', &mut s) {
        return false;
    }
    let Some(rest) = skip_json_string(s) else {
        return false;
    };
    s = rest.trim_start();
    if !expect(':', &mut s) || !expect('{', &mut s) {
        return false;
    }
    s.starts_with("\"CVE-") || s.starts_with("\"TEMP-")
}

/// Skips one JSON string at the start of `s` (which must start with `"`).
fn skip_json_string(s: &str) -> Option<&str> {
    let body = s.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&body[i + 1..]),
            _ => {}
        }
    }
    None
}

/// One CVE (or TEMP id) under one source package.
#[derive(Debug, Deserialize)]
struct TrackerCve {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: BTreeMap<String, TrackerRelease>,
}

/// One release's view of one (package, CVE).
#[derive(Debug, Deserialize)]
struct TrackerRelease {
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

/// A package's CVEs, each read on its own so one bad record does not sink the file, and
/// so that only one record's generic JSON value is in memory at a time (the export is
/// tens of MB).
struct TrackerPackage(Vec<(String, Result<TrackerCve, String>)>);

impl<'de> Deserialize<'de> for TrackerPackage {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TrackerPackage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of CVE ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TrackerPackage, A::Error> {
                let mut out = Vec::new();
                while let Some(id) = map.next_key::<String>()? {
                    let value: serde_json::Value = map.next_value()?;
                    let cve =
                        serde_json::from_value::<TrackerCve>(value).map_err(|e| e.to_string());
                    out.push((id, cve));
                }
                Ok(TrackerPackage(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the tracker JSON export.
pub(super) fn parse_tracker_json(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let packages: BTreeMap<String, TrackerPackage> =
        serde_json::from_slice(data).map_err(|e| format!("not the tracker JSON layout: {e}"))?;
    let mut parsed = Parsed::default();
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for (package, TrackerPackage(cves)) in packages {
        for (id, cve) in cves {
            let cve = match cve {
                Ok(c) => c,
                Err(reason) => {
                    tracing::warn!(path, %package, %id, %reason, "tracker record skipped");
                    parsed.skipped += 1;
                    continue;
                }
            };
            let advisory = by_id.entry(id.clone()).or_insert_with(|| Advisory {
                references: vec![format!("https://security-tracker.debian.org/tracker/{id}")],
                id: id.clone(),
                ..Advisory::default()
            });
            if advisory.details.is_none() {
                advisory.details = cve
                    .description
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(|d| clip(d, 4096));
            }
            for (release, r) in &cve.releases {
                let Some(ecosystem) = debian_ecosystem(release) else {
                    continue;
                };
                if let Some(a) = tracker_affected(ecosystem, &package, r) {
                    advisory.affected.push(a);
                }
            }
        }
    }
    for (_, advisory) in by_id {
        if advisory.affected.is_empty() {
            // Not affected in any numbered release (sid-only, or `fixed_version: "0"`).
            parsed.skipped += 1;
        } else {
            parsed.advisories.push(advisory);
        }
    }
    Ok(parsed)
}

/// The entry for one (release, package, CVE), or `None` when it is not affected.
fn tracker_affected(ecosystem: &str, package: &str, r: &TrackerRelease) -> Option<Affected> {
    // The tracker marks urgencies it guessed with trailing `*` (`low**`).
    let urgency = r
        .urgency
        .as_deref()
        .map(|u| u.trim().trim_end_matches('*').trim())
        .filter(|u| !u.is_empty() && *u != "not yet assigned")
        .map(str::to_owned);
    let (rules, status) = match r.status.as_str() {
        "resolved" => {
            let fixed = r.fixed_version.as_deref().map(str::trim).unwrap_or("");
            // `0` means the release never had the vulnerable code; no version at all
            // gives nothing to compare with.
            if fixed.is_empty() || fixed == "0" {
                return None;
            }
            let events = vec![
                Event::Introduced("0".to_owned()),
                Event::Fixed(fixed.to_owned()),
            ];
            (vec![Rule::Events { events }], FixStatus::Fixed)
        }
        "open" => {
            let status = match urgency.as_deref() {
                Some("unimportant") => FixStatus::Unimportant,
                Some("end-of-life") => FixStatus::EndOfLife,
                _ if r.nodsa.is_some() || r.nodsa_reason.is_some() => {
                    match r.nodsa_reason.as_deref() {
                        Some("postponed") => FixStatus::Deferred,
                        Some("ignored") => FixStatus::WillNotFix,
                        _ => FixStatus::NoDsa,
                    }
                }
                _ => FixStatus::Affected,
            };
            (vec![Rule::All], status)
        }
        "undetermined" => (vec![Rule::All], FixStatus::Affected),
        other => {
            tracing::debug!(
                status = other,
                package,
                "unknown tracker status; treated as affected"
            );
            (vec![Rule::All], FixStatus::Affected)
        }
    };
    Some(Affected {
        ecosystem: ecosystem.to_owned(),
        package: normalize_name(ecosystem, package),
        rules,
        status,
        severity_label: urgency,
        symbols: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
[29 Mar 2023] DSA-5380-1 xorg-server - security update
\t{CVE-2023-1393}
\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6
[17 Mar 2023] DSA-5356-2 sox - regression update
\t[bullseye] - sox 14.4.2+git20190427-2+deb11u2
[18 Apr 2018] DSA-4205-1 jessie end-of-life
\tNOTE: end of security support for jessie
[01 Jan 2009] DSA-1700-1 vlc squid - several
        {CVE-2009-0001 CVE-2009-0002 }
\t[lenny] - vlc <not-affected> (Vulnerable code not present)
\t[etch] - vlc 0.8.6-1etch1 (bug #332524; medium)
 \t[etch] - squid <unfixed>
\t[sarge] - squid <end-of-life>
\t[sarge] - foo <no-dsa> (minor)
\t[sarge] - bar <ignored> (x)
\t[sarge] - baz <postponed>
\t[sid] - vlc 1.0-1
\tNOTE: [etch] - clamav <end-of-life> (ignored, it is a note)
[02 Feb 2009] DSA-1701-1 broken - entry
\t[etch] - broken <what-is-this>
[bad header
\t[etch] - orphan 1.0
[16 Jun 2007] DSA-1304 kernel-source-2.6.8 - several
        [sarge] - kernel-source-2.6.8 2.6.8-16sarge7
";

    #[test]
    fn list_entries_and_variants() {
        let p = parse_list("x/DSA/list", LIST.as_bytes()).expect("parses");
        let ids: Vec<&str> = p.advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["DSA-5380-1", "DSA-5356-2", "DSA-1700-1", "DSA-1304"]);
        // DSA-4205-1 (no packages), DSA-1701-1 (unknown tag), bad header.
        assert_eq!(p.skipped, 3);

        let a = &p.advisories[0];
        assert_eq!(a.aliases, ["CVE-2023-1393"]);
        assert_eq!(a.published.as_deref(), Some("2023-03-29"));
        assert_eq!(a.summary.as_deref(), Some("security update"));
        assert_eq!(
            a.references,
            ["https://security-tracker.debian.org/tracker/DSA-5380-1"]
        );
        assert_eq!(a.affected.len(), 1);
        assert_eq!(a.affected[0].ecosystem, "Debian:11");
        assert_eq!(a.affected[0].package, "xorg-server");
        assert_eq!(
            a.affected[0].rules,
            [Rule::Events {
                events: vec![
                    Event::Introduced("0".into()),
                    Event::Fixed("2:1.20.11-1+deb11u6".into())
                ]
            }]
        );
        assert_eq!(a.affected[0].status, FixStatus::Fixed);
        assert!(p.advisories[1].aliases.is_empty());

        let v = &p.advisories[2];
        assert_eq!(v.aliases, ["CVE-2009-0001", "CVE-2009-0002"]);
        let got: Vec<(&str, &str, FixStatus, Option<&str>)> = v
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
                ("Debian:4", "vlc", FixStatus::Fixed, Some("medium")),
                ("Debian:4", "squid", FixStatus::Affected, None),
                ("Debian:3.1", "squid", FixStatus::EndOfLife, None),
                ("Debian:3.1", "foo", FixStatus::NoDsa, None),
                ("Debian:3.1", "bar", FixStatus::WillNotFix, None),
                ("Debian:3.1", "baz", FixStatus::Deferred, None),
            ]
        );
        assert_eq!(v.affected[1].rules, [Rule::All]);
        assert_eq!(p.advisories[3].published.as_deref(), Some("2007-06-16"));
    }

    #[test]
    fn dtsa_dates_and_urgency() {
        let text = "[September 1st, 2005] DTSA-8-2 mozilla-firefox - several (update)\n\t{CVE-2004-0718 }\n\t[etch] - mozilla-firefox 1.0.4-2sarge3 (high)\n";
        let p = parse_list("DTSA/list", text.as_bytes()).expect("parses");
        assert_eq!(p.advisories[0].published.as_deref(), Some("2005-09-01"));
        assert_eq!(p.advisories[0].summary.as_deref(), Some("several (update)"));
        assert_eq!(
            p.advisories[0].affected[0].severity_label.as_deref(),
            Some("high")
        );
        assert_eq!(
            parse_list_date("August 22nd, 2005").as_deref(),
            Some("2005-08-22")
        );
        assert_eq!(parse_list_date("31 Foo 2005"), None);
    }

    #[test]
    fn list_detection_and_corrupt_files() {
        assert!(detect_list("/x.tar!/security-tracker/data/DLA/list", b""));
        assert!(detect_list(
            "/elsewhere/list",
            b"[01 Apr 2023] DLA-3380-1 x - y\n"
        ));
        assert!(!detect_list("/elsewhere/list", b"[section]\nkey = 1\n"));
        assert!(!detect_list("/x/README.md", b"# DSA list\n"));
        assert!(parse_list("DSA/list", b"\xff\xfe garbage").is_err());
        assert!(parse_list("DSA/list", b"just some text\nmore\n").is_err());
        assert!(parse_list("DSA/list", b"\t[etch] - x 1.0\n").is_err());
        assert!(parse_list("DSA/list", b"").is_err());
    }

    const JSON: &str = r#"{
      "openssl": {
        "CVE-2023-0001": {
          "description": "Something bad",
          "scope": "remote",
          "debianbug": 1000,
          "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.9-1"}, "fixed_version": "3.0.8-1", "urgency": "medium*"},
            "bullseye": {"status": "open", "repositories": {"bullseye": "1.1.1n-0+deb11u4"}, "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "postponed"},
            "buster": {"status": "open", "repositories": {"buster": "1.1.1n-0+deb10u3"}, "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "ignored"},
            "stretch": {"status": "open", "repositories": {}, "urgency": "end-of-life"},
            "jessie": {"status": "open", "repositories": {}, "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": ""},
            "sid": {"status": "resolved", "repositories": {"sid": "3.0.9-1"}, "fixed_version": "3.0.8-1", "urgency": "medium*"}
          }
        },
        "TEMP-0000000-ABCDEF": {
          "description": "Unassigned",
          "releases": {
            "bookworm": {"status": "open", "repositories": {"bookworm": "3.0.9-1"}, "urgency": "unimportant"},
            "trixie": {"status": "undetermined", "repositories": {"trixie": "3.0.9-1"}, "urgency": "not yet assigned"}
          }
        },
        "CVE-2023-0002": {"releases": "not an object"}
      },
      "curl": {
        "CVE-2023-0001": {
          "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "7.88.1-10"}, "fixed_version": "0", "urgency": "not yet assigned"},
            "bullseye": {"status": "open", "repositories": {"bullseye": "7.74.0-1.3"}, "urgency": "high**"}
          }
        },
        "CVE-2023-0003": {
          "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "7.88.1-10"}, "fixed_version": "0", "urgency": "not yet assigned"}
          }
        }
      }
    }"#;

    #[test]
    fn tracker_json_statuses() {
        let p = parse_tracker_json("json", JSON.as_bytes()).expect("parses");
        // CVE-2023-0002 is malformed; CVE-2023-0003 is not affected anywhere.
        assert_eq!(p.skipped, 2);
        let ids: Vec<&str> = p.advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2023-0001", "TEMP-0000000-ABCDEF"]);
        let a = &p.advisories[0];
        assert_eq!(a.details.as_deref(), Some("Something bad"));
        let a_affected = &a.affected;
        assert_eq!(a_affected[1].package, "openssl");
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
        // Packages, then releases, in name order (BTreeMap); sid has no number.
        assert_eq!(
            got,
            [
                ("Debian:11", "curl", FixStatus::Affected, Some("high")),
                ("Debian:12", "openssl", FixStatus::Fixed, Some("medium")),
                ("Debian:11", "openssl", FixStatus::Deferred, Some("low")),
                ("Debian:10", "openssl", FixStatus::WillNotFix, Some("low")),
                ("Debian:8", "openssl", FixStatus::NoDsa, Some("low")),
                (
                    "Debian:9",
                    "openssl",
                    FixStatus::EndOfLife,
                    Some("end-of-life")
                ),
            ]
        );
        assert_eq!(
            a.affected[1].rules,
            [Rule::Events {
                events: vec![
                    Event::Introduced("0".into()),
                    Event::Fixed("3.0.8-1".into())
                ]
            }]
        );
        let t = &p.advisories[1];
        assert_eq!(t.affected[0].status, FixStatus::Unimportant);
        assert_eq!(t.affected[1].ecosystem, "Debian:13");
        assert_eq!(t.affected[1].status, FixStatus::Affected);
        assert_eq!(t.affected[1].severity_label, None);
    }

    #[test]
    fn tracker_json_detection() {
        assert!(detect_tracker_json("json", JSON.as_bytes()));
        assert!(detect_tracker_json(
            "json",
            br#"{"a":{"TEMP-1-2":{"releases":{}}}}"#
        ));
        // NVD, KEV, OSV, CVE 5 and Alpine never match.
        assert!(!detect_tracker_json("n.json", br#"{"CVE_data_type":"CVE","CVE_Items":[{"cve":{"CVE_data_meta":{"ID":"CVE-1"}}}], "releases": 1}"#));
        assert!(!detect_tracker_json(
            "k.json",
            br#"{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2021-1"}]}"#
        ));
        assert!(!detect_tracker_json(
            "o.json",
            br#"{"id":"GHSA-1","aliases":["CVE-1"],"affected":[{"ranges":[]}],"releases":[]}"#
        ));
        assert!(!detect_tracker_json(
            "c.json",
            br#"{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-1"},"releases":{}}"#
        ));
        assert!(!detect_tracker_json(
            "a.json",
            br#"{"distroversion":"v3.2","packages":[]}"#
        ));
    }

    #[test]
    fn tracker_json_corrupt() {
        assert!(parse_tracker_json("json", b"{\"a\": {\"CVE-1\": ").is_err());
        assert!(parse_tracker_json("json", b"[1,2]").is_err());
    }
}
