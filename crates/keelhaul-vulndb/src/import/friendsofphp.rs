//! FriendsOfPHP security-advisories: `<vendor>/<package>/<id>.yaml`, one advisory per file,
//! each `branches.<name>.versions` entry a list of Composer constraints that together
//! (AND) describe the affected versions of one branch.
//!
//! Every branch becomes one conjunction of [`Rule::AnyOf`]. The package comes from
//! `reference: composer://vendor/package`. The id is the CVE when there is one, else
//! `FOP-<vendor>/<package>/<file stem>` (stable: the repository's own path). The status is
//! `Fixed` when every branch has an upper bound, `Affected` otherwise.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::rubysec::scalar;
use crate::model::{Advisory, Affected, Constraint, Op, Parsed, Rule};
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
        && key("branches:")
        && (key("reference:") || key("title:"))
        && (text.contains("composer://") || key("link:"))
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    cve: Option<Value>,
    #[serde(default)]
    branches: BTreeMap<String, Branch>,
    #[serde(default)]
    reference: Option<String>,
}

#[derive(Deserialize)]
struct Branch {
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    versions: Option<Versions>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Versions {
    List(Vec<String>),
    One(String),
}

/// The AND of several constraint strings, each of which may hold alternatives: every
/// combination (a cross product; in practice each string is one conjunction).
fn conjunction(items: &[String]) -> Result<Vec<Vec<Constraint>>, range::RangeError> {
    let mut out: Vec<Vec<Constraint>> = vec![Vec::new()];
    for item in items {
        let alts = range::composer(item)?;
        let mut next = Vec::with_capacity(out.len() * alts.len());
        for prefix in &out {
            for alt in &alts {
                let mut conj = prefix.clone();
                conj.extend(alt.iter().cloned());
                next.push(conj);
            }
        }
        out = next;
    }
    Ok(out)
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let record: Record = serde_saphyr::from_slice(data).map_err(|e| e.to_string())?;
    let reference = record.reference.as_deref().unwrap_or("").trim();
    let package = reference
        .strip_prefix("composer://")
        .filter(|p| p.contains('/'))
        .ok_or_else(|| format!("no composer:// reference (got {reference:?})"))?;
    let id = match scalar(&record.cve) {
        Some(cve) => cve,
        None => {
            let inner = path.rsplit("!/").next().unwrap_or(path);
            let file = inner.rsplit('/').next().unwrap_or(inner);
            let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
            format!("FOP-{package}/{stem}")
        }
    };
    if record.branches.is_empty() {
        return Err(format!("{id}: no branches"));
    }
    let mut any_of = Vec::new();
    let mut all_bounded = true;
    let mut published: Option<String> = None;
    for (name, branch) in record.branches {
        let items = match branch.versions {
            Some(Versions::List(v)) => v,
            Some(Versions::One(v)) => vec![v],
            None => return Err(format!("{id}: branch {name} has no versions")),
        };
        let conjs = conjunction(&items).map_err(|e| format!("{id}: branch {name}: {e}"))?;
        for conj in conjs {
            all_bounded &= conj
                .iter()
                .any(|k| matches!(k.op, Op::Lt | Op::Le | Op::Eq));
            any_of.push(conj);
        }
        // The advisory's date: the earliest branch `time` (when the fixes were published).
        if let Some(time) = scalar(&branch.time)
            && published.as_ref().is_none_or(|p| time < *p)
        {
            published = Some(time);
        }
    }
    let status = if all_bounded {
        FixStatus::Fixed
    } else {
        FixStatus::Affected
    };
    let mut parsed = Parsed::default();
    parsed.advisories.push(Advisory {
        id,
        summary: record.title.map(|t| t.trim().to_owned()),
        published,
        references: record.link.into_iter().collect(),
        affected: vec![Affected {
            ecosystem: "Packagist".to_owned(),
            package: normalize_name("Packagist", package),
            rules: vec![Rule::AnyOf { any_of }],
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

    const SAMPLE: &str = r#"title:     "CVE-2015-4050: ESI unauthorized access"
link:      https://example.org/cve-2015-4050
cve:       CVE-2015-4050
branches:
    2.3.x:
        time:     2015-05-26 23:55:51
        versions: ['>=2.3.19', '<2.3.29']
    2.6.x:
        time:     2015-05-20 10:00:00
        versions: ['>=2.6.0', '<2.6.8']
reference: composer://Symfony/http-kernel
"#;
    const PATH: &str = "/x/f.tar!/sa/symfony/http-kernel/CVE-2015-4050.yaml";

    #[test]
    fn reads_every_field() {
        assert!(detect(PATH, SAMPLE.as_bytes()));
        let p = parse(PATH, SAMPLE.as_bytes()).expect("parses");
        let a = &p.advisories[0];
        assert_eq!(a.id, "CVE-2015-4050");
        assert_eq!(
            a.summary.as_deref(),
            Some("CVE-2015-4050: ESI unauthorized access")
        );
        assert_eq!(a.references, ["https://example.org/cve-2015-4050"]);
        assert_eq!(a.published.as_deref(), Some("2015-05-20 10:00:00"));
        let af = &a.affected[0];
        assert_eq!(
            (af.ecosystem.as_str(), af.package.as_str()),
            ("Packagist", "symfony/http-kernel")
        );
        assert_eq!(af.status, FixStatus::Fixed);
        assert_eq!(
            af.rules,
            [Rule::AnyOf {
                any_of: vec![
                    vec![
                        Constraint::new(Op::Ge, "2.3.19"),
                        Constraint::new(Op::Lt, "2.3.29")
                    ],
                    vec![
                        Constraint::new(Op::Ge, "2.6.0"),
                        Constraint::new(Op::Lt, "2.6.8")
                    ],
                ]
            }]
        );
    }

    #[test]
    fn id_from_path_and_unbounded_branch() {
        let text = "title: t\nlink: l\ncve: ~\nbranches:\n  master:\n    time: ~\n    versions: '>=1.0'\nreference: composer://acme/lib\n";
        let p = parse("sa/acme/lib/2019-01-01.yaml", text.as_bytes()).expect("parses");
        let a = &p.advisories[0];
        assert_eq!(a.id, "FOP-acme/lib/2019-01-01");
        assert_eq!(a.published, None);
        assert_eq!(a.affected[0].status, FixStatus::Affected);
    }

    #[test]
    fn rejects_broken_files() {
        assert!(!detect("x.yaml", b"id: GHSA-1\naffected: []\n"));
        assert!(!detect("x.json", SAMPLE.as_bytes()));
        assert!(parse(PATH, b"branches: [").is_err());
        assert!(parse(PATH, b"title: t\nbranches: {}\nreference: composer://a/b\n").is_err());
        assert!(
            parse(
                PATH,
                b"title: t\nbranches:\n  m:\n    versions: ['>=1']\nreference: nope\n"
            )
            .is_err()
        );
        assert!(
            parse(
                PATH,
                b"title: t\nbranches:\n  m:\n    versions: ['>=x']\nreference: composer://a/b\n"
            )
            .is_err()
        );
    }
}
