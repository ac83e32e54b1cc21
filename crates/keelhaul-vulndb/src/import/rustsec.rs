//! RustSec advisory-db in its native format: `crates/<crate>/RUSTSEC-YYYY-NNNN.md`, a
//! Markdown file opening with a ```` ```toml ```` block (`[advisory]`, `[versions]`,
//! `[affected]`), then `# Title` and the description.
//!
//! Kept: crate advisories, as `crates.io` packages affected unless a `patched` or
//! `unaffected` requirement holds ([`Rule::NoneOf`]); with neither list, every version is
//! affected. Skipped (counted): withdrawn advisories; the `rust/` toolchain advisories
//! (`std`, `rustdoc`, `cargo`: images carry no inventory of them); informational notices
//! (`unmaintained`, `unsound`, `notice`) unless they name a CVE, since keelhaul reports
//! vulnerabilities, not maintenance warnings. (RustSec's OSV export is OSV JSON and is the
//! OSV importer's.)

use std::collections::BTreeMap;

use serde::Deserialize;

use super::clip;
use crate::model::{Advisory, Affected, CvssVector, Parsed, Rule};
use crate::normalize_name;
use crate::range;
use keelhaul_core::FixStatus;

const FENCE: &str = "```toml";

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    if !path.to_ascii_lowercase().ends_with(".md") {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with(FENCE) && text.contains("[advisory]")
}

#[derive(Deserialize)]
struct Front {
    advisory: Header,
    #[serde(default)]
    versions: Versions,
    #[serde(default)]
    affected: Option<AffectedSection>,
}

#[derive(Deserialize)]
struct Header {
    id: String,
    package: String,
    #[serde(default)]
    date: Option<toml::Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

#[derive(Deserialize, Default)]
struct AffectedSection {
    #[serde(default)]
    functions: BTreeMap<String, Vec<String>>,
}

/// The front matter and the Markdown after it.
fn split(text: &str) -> Result<(&str, &str), String> {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let rest = text.strip_prefix(FENCE).ok_or("no ```toml front matter")?;
    let end = rest
        .find("\n```")
        .ok_or("the ```toml block is not closed")?;
    let body = rest[end + 4..].trim_start_matches('`');
    Ok((&rest[..end], body))
}

/// `…/rust/<component>/<file>.md` is a toolchain advisory.
fn is_toolchain(path: &str) -> bool {
    let inner = path.rsplit("!/").next().unwrap_or(path);
    let parts: Vec<&str> = inner.split('/').collect();
    parts.len() >= 3 && parts[parts.len() - 3] == "rust"
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let (toml_text, body) = split(text)?;
    let front: Front = toml::from_str(toml_text).map_err(|e| format!("front matter: {e}"))?;
    let adv = front.advisory;
    let mut parsed = Parsed::default();
    let has_cve = adv.aliases.iter().any(|a| a.starts_with("CVE-")) || adv.id.starts_with("CVE-");
    let skip_reason = if adv.withdrawn.is_some() {
        Some("withdrawn")
    } else if is_toolchain(path) {
        Some("a Rust toolchain advisory")
    } else if adv.informational.is_some() && !has_cve {
        Some("informational")
    } else {
        None
    };
    if let Some(reason) = skip_reason {
        tracing::debug!(path, id = %adv.id, reason, "skipping RustSec advisory");
        parsed.skipped = 1;
        return Ok(parsed);
    }

    let mut none_of = Vec::new();
    for req in front
        .versions
        .patched
        .iter()
        .chain(&front.versions.unaffected)
    {
        let alts = range::cargo(req).map_err(|e| format!("{}: {e}", adv.id))?;
        none_of.extend(alts);
    }
    let (rules, status) = if none_of.is_empty() {
        (vec![Rule::All], FixStatus::Affected)
    } else if front.versions.patched.is_empty() {
        (vec![Rule::NoneOf { none_of }], FixStatus::Affected)
    } else {
        (vec![Rule::NoneOf { none_of }], FixStatus::Fixed)
    };

    // The first `# ` heading is the title; the rest is the description.
    let mut summary = None;
    let mut details = String::new();
    for line in body.lines() {
        if summary.is_none() {
            if let Some(title) = line.strip_prefix("# ") {
                summary = Some(title.trim().to_owned());
            }
            continue;
        }
        details.push_str(line);
        details.push('\n');
    }
    if summary.is_none() {
        details = body.to_owned();
    }
    let details = clip(&details, 2048);

    let mut references: Vec<String> = adv.url.into_iter().collect();
    for r in adv.references {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    let symbols = front
        .affected
        .map(|a| a.functions.into_keys().collect())
        .unwrap_or_default();

    parsed.advisories.push(Advisory {
        id: adv.id,
        aliases: adv.aliases,
        summary,
        details: (!details.is_empty()).then_some(details),
        published: adv.date.map(|d| match d {
            toml::Value::String(s) => s,
            other => other.to_string(),
        }),
        cvss: adv
            .cvss
            .into_iter()
            .map(|vector| CvssVector { vector })
            .collect(),
        references,
        affected: vec![Affected {
            ecosystem: "crates.io".to_owned(),
            package: normalize_name("crates.io", &adv.package),
            rules,
            status,
            severity_label: None,
            symbols,
        }],
        ..Advisory::default()
    });
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraint, Op};

    const SAMPLE: &str = r#"```toml
[advisory]
id = "RUSTSEC-2019-0009"
package = "smallvec"
aliases = ["CVE-2019-15551", "GHSA-mm7v-vpv8-xfc3"]
cvss = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
date = "2019-06-06"
url = "https://example.org/issue/148"
references = ["https://example.org/other"]

[affected.functions]
"smallvec::SmallVec::grow" = ["< 0.6.10, >= 0.6.5"]

[versions]
patched = [">= 0.6.10"]
unaffected = ["< 0.6.5"]
```

# Double-free in grow()

Some text.
"#;

    const PATH: &str = "/x/db.tar!/advisory-db/crates/smallvec/RUSTSEC-2019-0009.md";

    #[test]
    fn reads_every_field() {
        assert!(detect(PATH, SAMPLE.as_bytes()));
        let p = parse(PATH, SAMPLE.as_bytes()).expect("parses");
        assert_eq!(p.skipped, 0);
        let a = &p.advisories[0];
        assert_eq!(a.id, "RUSTSEC-2019-0009");
        assert_eq!(a.aliases, ["CVE-2019-15551", "GHSA-mm7v-vpv8-xfc3"]);
        assert_eq!(a.summary.as_deref(), Some("Double-free in grow()"));
        assert_eq!(a.details.as_deref(), Some("Some text."));
        assert_eq!(a.published.as_deref(), Some("2019-06-06"));
        assert_eq!(
            a.cvss[0].vector,
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        );
        assert_eq!(
            a.references,
            ["https://example.org/issue/148", "https://example.org/other"]
        );
        let af = &a.affected[0];
        assert_eq!(
            (af.ecosystem.as_str(), af.package.as_str()),
            ("crates.io", "smallvec")
        );
        assert_eq!(af.status, FixStatus::Fixed);
        assert_eq!(af.symbols, ["smallvec::SmallVec::grow"]);
        assert_eq!(
            af.rules,
            [Rule::NoneOf {
                none_of: vec![
                    vec![Constraint::new(Op::Ge, "0.6.10")],
                    vec![Constraint::new(Op::Lt, "0.6.5")],
                ]
            }]
        );
    }

    #[test]
    fn no_versions_means_all_affected() {
        let text = "```toml\n[advisory]\nid = \"RUSTSEC-2020-0001\"\npackage = \"x\"\ndate = \"2020-01-01\"\n\n[versions]\npatched = []\n```\n\n# T\n";
        let p = parse("crates/x/RUSTSEC-2020-0001.md", text.as_bytes()).expect("parses");
        let af = &p.advisories[0].affected[0];
        assert_eq!(af.rules, [Rule::All]);
        assert_eq!(af.status, FixStatus::Affected);
    }

    #[test]
    fn skips_withdrawn_informational_and_toolchain() {
        let base = "```toml\n[advisory]\nid = \"RUSTSEC-2020-0002\"\npackage = \"x\"\ndate = \"2020-01-01\"\n";
        let tail = "\n[versions]\npatched = [\">= 1.0.0\"]\n```\n# T\n";
        for (extra, path) in [
            ("withdrawn = \"2021-01-01\"\n", "crates/x/a.md"),
            ("informational = \"unmaintained\"\n", "crates/x/a.md"),
            ("", "db/rust/std/CVE-2018-1000657.md"),
        ] {
            let text = format!("{base}{extra}{tail}");
            let p = parse(path, text.as_bytes()).expect("parses");
            assert_eq!((p.advisories.len(), p.skipped), (0, 1), "{extra}{path}");
        }
        // An informational advisory with a CVE is kept.
        let text = format!("{base}informational = \"unsound\"\naliases = [\"CVE-2020-1\"]\n{tail}");
        let p = parse("crates/x/a.md", text.as_bytes()).expect("parses");
        assert_eq!(p.advisories.len(), 1);
        // A crate that happens to be called `rust` is not the toolchain.
        let p = parse("db/crates/rust/a.md", format!("{base}{tail}").as_bytes()).expect("parses");
        assert_eq!(p.advisories.len(), 1);
    }

    #[test]
    fn rejects_broken_files() {
        assert!(!detect(
            "crates/RUSTSEC-2019-0009.json",
            b"{\"id\": \"RUSTSEC\"}"
        ));
        assert!(!detect("README.md", b"# RustSec\n"));
        assert!(parse("a.md", b"```toml\n[advisory]\nid = 1\n").is_err());
        assert!(parse("a.md", b"```toml\n[advisory\n```\n").is_err());
        let bad_range = "```toml\n[advisory]\nid = \"R\"\npackage = \"x\"\n[versions]\npatched = [\">= nope\"]\n```\n";
        assert!(parse("a.md", bad_range.as_bytes()).is_err());
    }
}
