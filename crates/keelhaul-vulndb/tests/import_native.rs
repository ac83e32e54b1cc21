//! The native-format importers (RustSec, RubySec, FriendsOfPHP, Node.js security-wg,
//! victims) and the enrichment importers (NVD, CVE 5, CISA KEV) on the real data sets in
//! `shared/data`, through the public `walk` → `detect` → `parse` path.
//!
//! The data lives outside the repository; when it is absent these tests print "skipping"
//! and pass, unless `KEELHAUL_REQUIRE_INTEGRATION=1`.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keelhaul_core::FixStatus;
use keelhaul_vulndb::import::{Format, detect, parse, walk};
use keelhaul_vulndb::model::{Advisory, Constraint, Enrichment, Op, Rule};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("KEELHAUL_REQUIRE_INTEGRATION").as_deref() == Ok("1") {
        panic!("shared data not found at {}", dir.display());
    }
    eprintln!("skipping: shared data not found at {}", dir.display());
    None
}

/// Everything one import produced, per format.
#[derive(Default)]
struct Import {
    advisories: Vec<Advisory>,
    enrichments: Vec<Enrichment>,
    /// Files per format.
    files: BTreeMap<Format, usize>,
    /// Records skipped on purpose, per format.
    skipped: BTreeMap<Format, usize>,
    /// Files recognised but unreadable.
    errors: Vec<String>,
    /// Files no importer claimed.
    unclaimed: Vec<String>,
}

fn import(relative: &str) -> Option<Import> {
    let root = data_dir()?.join(relative);
    let mut out = Import::default();
    let walk_errors = walk(
        &root,
        &mut |member| match detect(&member.path, &member.data) {
            Some(format) => {
                *out.files.entry(format).or_default() += 1;
                match parse(format, &member.path, &member.data) {
                    Ok(p) => {
                        *out.skipped.entry(format).or_default() += p.skipped;
                        out.advisories.extend(p.advisories);
                        out.enrichments.extend(p.enrichments);
                    }
                    Err(e) => out.errors.push(e.to_string()),
                }
            }
            None => out.unclaimed.push(member.path),
        },
    );
    assert!(walk_errors.is_empty(), "{walk_errors:?}");
    eprintln!(
        "{relative}: files {:?}, advisories {}, enrichments {}, skipped {:?}, errors {}, unclaimed {:?}",
        out.files,
        out.advisories.len(),
        out.enrichments.len(),
        out.skipped,
        out.errors.len(),
        out.unclaimed
    );
    for e in out.errors.iter().take(10) {
        eprintln!("  error: {e}");
    }
    Some(out)
}

fn find<'a>(imp: &'a Import, id: &str) -> &'a Advisory {
    imp.advisories
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} not imported"))
}

fn k(op: Op, v: &str) -> Constraint {
    Constraint::new(op, v)
}

/// Compares plain dotted numeric versions (`1.5.10` < `1.5.11`, `1.6` = `1.6.0`); only
/// for test versions chosen to be plain numbers.
fn cmp_plain(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    let (mut a, mut b) = (parse(a), parse(b));
    let n = a.len().max(b.len());
    a.resize(n, 0);
    b.resize(n, 0);
    a.cmp(&b)
}

fn holds(conj: &[Constraint], version: &str) -> bool {
    use std::cmp::Ordering::*;
    conj.iter().all(|c| {
        let o = cmp_plain(version, &c.version);
        match c.op {
            Op::Lt => o == Less,
            Op::Le => o != Greater,
            Op::Gt => o == Greater,
            Op::Ge => o != Less,
            Op::Eq => o == Equal,
            Op::Ne => o != Equal,
        }
    })
}

/// Whether the rules say `version` is affected (AnyOf: some conjunction holds; NoneOf:
/// none does).
fn affected(rules: &[Rule], version: &str) -> bool {
    rules.iter().any(|r| match r {
        Rule::AnyOf { any_of } => any_of.iter().any(|c| holds(c, version)),
        Rule::NoneOf { none_of } => !none_of.iter().any(|c| holds(c, version)),
        Rule::All => true,
        _ => panic!("unexpected rule {r:?}"),
    })
}

/// Every alias and id names one vulnerability once: no advisory is imported twice.
fn assert_unique_ids(imp: &Import) {
    let mut seen = std::collections::HashSet::new();
    for a in &imp.advisories {
        assert!(seen.insert(a.id.clone()), "{} imported twice", a.id);
    }
}

#[test]
fn rustsec_native() {
    let Some(imp) = import("native/rustsec-advisory-db.tar.zst") else {
        return;
    };
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    assert_eq!(imp.files.get(&Format::RustSec), Some(&1225));
    assert_eq!(imp.files.len(), 1, "only RustSec claimed: {:?}", imp.files);
    let skipped = imp.skipped[&Format::RustSec];
    assert_eq!(imp.advisories.len() + skipped, 1225);
    // 20 toolchain + 13 withdrawn + 405 informational notices without a CVE.
    assert_eq!(skipped, 20 + 13 + 405);
    assert_unique_ids(&imp);
    assert!(
        imp.advisories
            .iter()
            .all(|a| a.affected[0].ecosystem == "crates.io")
    );
    assert!(!imp.advisories.iter().any(|a| {
        ["std", "rustdoc", "cargo"].contains(&a.affected[0].package.as_str())
            && a.id.starts_with("CVE-")
    }));

    let a = find(&imp, "RUSTSEC-2019-0009");
    for (version, want) in [
        ("0.6.4", false),
        ("0.6.5", true),
        ("0.6.9", true),
        ("0.6.10", false),
    ] {
        assert_eq!(
            affected(&a.affected[0].rules, version),
            want,
            "smallvec {version}"
        );
    }
    assert_eq!(
        a.summary.as_deref(),
        Some("Double-free and use-after-free in SmallVec::grow()")
    );
    assert_eq!(a.aliases, ["CVE-2019-15551", "GHSA-mm7v-vpv8-xfc3"]);
    assert_eq!(
        a.cvss[0].vector,
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    );
    assert_eq!(a.published.as_deref(), Some("2019-06-06"));
    let af = &a.affected[0];
    assert_eq!(af.package, "smallvec");
    assert_eq!(af.symbols, ["smallvec::SmallVec::grow"]);
    assert_eq!(
        af.rules,
        [Rule::NoneOf {
            none_of: vec![vec![k(Op::Ge, "0.6.10")], vec![k(Op::Lt, "0.6.5")]]
        }]
    );
    assert!(
        a.details
            .as_deref()
            .is_some_and(|d| d.starts_with("Attempting to call `grow`"))
    );
}

#[test]
fn rubysec() {
    let Some(imp) = import("native/rubysec-ruby-advisory-db.tar.zst") else {
        return;
    };
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    assert_eq!(imp.files.get(&Format::RubySec), Some(&(1234 + 147)));
    assert_eq!(imp.skipped[&Format::RubySec], 147);
    assert_eq!(imp.advisories.len(), 1234);
    assert!(
        imp.advisories
            .iter()
            .all(|a| a.affected[0].ecosystem == "RubyGems")
    );
    // Gems with no fix at all: every version affected.
    assert!(
        imp.advisories
            .iter()
            .any(|a| a.affected[0].rules == [Rule::All])
    );

    // gems/nokogiri/CVE-2013-6460.yml (the sample).
    let a = imp
        .advisories
        .iter()
        .find(|a| a.id == "CVE-2013-6460")
        .unwrap();
    assert_eq!(a.aliases, ["GHSA-62qp-3fxm-9wxf", "OSVDB-101179"]);
    assert_eq!(a.published.as_deref(), Some("2013-12-14"));
    assert_eq!(a.severity_label.as_deref(), Some("MEDIUM")); // cvss_v3: 6.5
    assert!(a.cvss.is_empty());
    let af = &a.affected[0];
    assert_eq!(af.package, "nokogiri");
    assert_eq!(af.status, FixStatus::Fixed);
    // `~> 1.5.11` ∨ `>= 1.6.1` are safe: 1.5.10 is in neither (affected), 1.5.11 and
    // 1.6.1 are each in one.
    assert_eq!(
        af.rules,
        [Rule::NoneOf {
            none_of: vec![
                vec![k(Op::Ge, "1.5.11"), k(Op::Lt, "1.6")],
                vec![k(Op::Ge, "1.6.1")],
            ]
        }]
    );
    for (version, want) in [
        ("1.5.10", true),
        ("1.5.11", false),
        ("1.5.12", false),
        ("1.6.0", true),
        ("1.6.1", false),
    ] {
        assert_eq!(affected(&af.rules, version), want, "nokogiri {version}");
    }
}

#[test]
fn friendsofphp() {
    let Some(imp) = import("native/friendsofphp-security-advisories.tar.zst") else {
        return;
    };
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    assert_eq!(imp.files.get(&Format::FriendsOfPhp), Some(&1592));
    assert_eq!(imp.advisories.len(), 1592);
    assert!(
        imp.unclaimed
            .iter()
            .all(|p| p.ends_with("README.md") || p.ends_with("LICENSE"))
    );
    assert!(
        imp.advisories
            .iter()
            .all(|a| a.affected[0].ecosystem == "Packagist")
    );
    // Advisories without a CVE get a path-derived id.
    assert!(imp.advisories.iter().any(|a| a.id.starts_with("FOP-")));

    let a = imp
        .advisories
        .iter()
        .find(|a| a.id == "CVE-2015-4050" && a.affected[0].package == "symfony/http-kernel")
        .unwrap();
    assert_eq!(
        a.summary.as_deref(),
        Some("CVE-2015-4050: ESI unauthorized access")
    );
    assert_eq!(a.references, ["https://symfony.com/cve-2015-4050"]);
    let Rule::AnyOf { any_of } = &a.affected[0].rules[0] else {
        panic!("{:?}", a.affected[0].rules)
    };
    assert_eq!(any_of.len(), 4);
    assert!(any_of.contains(&vec![k(Op::Ge, "2.3.19"), k(Op::Lt, "2.3.29")]));
    assert!(any_of.contains(&vec![k(Op::Ge, "2.6.0"), k(Op::Lt, "2.6.8")]));
    for (version, want) in [
        ("2.3.18", false),
        ("2.3.19", true),
        ("2.3.29", false),
        ("2.6.7", true),
        ("2.6.8", false),
    ] {
        assert_eq!(
            affected(&a.affected[0].rules, version),
            want,
            "http-kernel {version}"
        );
    }
}

#[test]
fn nodejs_security_wg() {
    let Some(imp) = import("native/nodejs-security-wg-vuln.tar.zst") else {
        return;
    };
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    // 467 npm + 171 core advisory files; the two index.json files are not claimed.
    assert_eq!(imp.files.get(&Format::NodejsSecurityWg), Some(&(467 + 171)));
    assert_eq!(imp.skipped[&Format::NodejsSecurityWg], 171);
    assert_eq!(imp.advisories.len(), 467);
    assert_eq!(
        imp.unclaimed
            .iter()
            .filter(|p| p.ends_with("index.json"))
            .count(),
        2
    );
    assert_unique_ids(&imp);

    let a = find(&imp, "NSWG-ECO-100");
    assert_eq!(a.affected[0].package, "uri-js");
    assert_eq!(
        a.affected[0].rules,
        [Rule::AnyOf {
            any_of: vec![vec![k(Op::Le, "2.1.1")]]
        }]
    );
    assert_eq!(
        a.cvss[0].vector,
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    );
    assert_eq!(a.published.as_deref(), Some("2017-04-14"));
    // vuln/npm/1.json: bassmaster <=1.5.1, CVE-2014-7205.
    let a = find(&imp, "NSWG-ECO-1");
    assert_eq!(a.aliases, ["CVE-2014-7205"]);
    assert_eq!(
        a.affected[0].rules,
        [Rule::AnyOf {
            any_of: vec![vec![k(Op::Le, "1.5.1")]]
        }]
    );
}

#[test]
fn victims() {
    let Some(imp) = import("native/victims-cve-db.tar.zst") else {
        return;
    };
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    assert_eq!(imp.files.get(&Format::Victims), Some(&218));
    assert_eq!(imp.advisories.len(), 218);
    let maven = imp
        .advisories
        .iter()
        .filter(|a| a.affected[0].ecosystem == "Maven")
        .count();
    assert_eq!(maven, 177);

    // database/java/2017/12629.yaml: solr-core `<=7.0.1` and `>=5.5.0`, each one
    // alternative.
    let a = find(&imp, "CVE-2017-12629");
    let af = a
        .affected
        .iter()
        .find(|af| af.package == "org.apache.solr:solr-core")
        .unwrap();
    assert_eq!(
        af.rules,
        [Rule::AnyOf {
            any_of: vec![vec![k(Op::Le, "7.0.1")], vec![k(Op::Ge, "5.5.0")]]
        }]
    );
    assert_eq!(af.status, FixStatus::Fixed);
    // Series expressions keep the series' lower bound.
    assert!(imp.advisories.iter().flat_map(|a| &a.affected).any(|af| {
        match &af.rules[0] {
            Rule::AnyOf { any_of } => any_of
                .iter()
                .any(|c| c.len() == 2 && c[0].op == Op::Ge && c[1].op == Op::Le),
            _ => false,
        }
    }));
}

#[test]
fn nvd_feeds() {
    let Some(feed) = import("nvd/nvdcve-1.1-modified.json.gz") else {
        return;
    };
    assert!(feed.errors.is_empty(), "{:?}", feed.errors);
    assert_eq!(feed.files.get(&Format::Nvd), Some(&1));
    assert_eq!(feed.enrichments.len() + feed.skipped[&Format::Nvd], 2146);
    assert_eq!(feed.enrichments.len(), 2146);
    let e = feed
        .enrichments
        .iter()
        .find(|e| e.cve == "CVE-2025-1641")
        .unwrap();
    assert_eq!(
        e.cvss[0].vector,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L"
    );
    assert_eq!(e.cwes, ["CWE-89", "CWE-74"]);
    assert_eq!(e.published.as_deref(), Some("2025-02-25T00:15Z"));
    assert!(
        feed.enrichments
            .iter()
            .all(|e| e.cwes.iter().all(|c| !c.starts_with("NVD-")))
    );

    let items = import("nvd/nvd-1.1-items-referenced-appeco-kev-2002-2017.jsonl.zst").unwrap();
    assert!(items.errors.is_empty(), "{:?}", items.errors);
    assert_eq!(items.enrichments.len(), 1647);
    let e = items
        .enrichments
        .iter()
        .find(|e| e.cve == "CVE-2017-5638")
        .unwrap();
    let vectors: Vec<&str> = e.cvss.iter().map(|c| c.vector.as_str()).collect();
    assert_eq!(
        vectors,
        [
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "AV:N/AC:L/Au:N/C:C/I:C/A:C"
        ]
    );
    assert!(
        e.summary
            .as_deref()
            .is_some_and(|s| s.contains("Jakarta Multipart parser"))
    );

    let csv = import("nvd/nvd-cvss-cwe-referenced-2002-2017.csv.zst").unwrap();
    assert!(csv.errors.is_empty(), "{:?}", csv.errors);
    assert_eq!(csv.enrichments.len(), 12734);
    let with_v3 = csv
        .enrichments
        .iter()
        .filter(|e| e.cvss.iter().any(|c| c.vector.starts_with("CVSS:3")))
        .count();
    assert_eq!(with_v3, 5141);
    let with_v2 = csv
        .enrichments
        .iter()
        .filter(|e| e.cvss.iter().any(|c| c.vector.starts_with("AV:")))
        .count();
    assert_eq!(with_v2, 12696);
    let e = csv
        .enrichments
        .iter()
        .find(|e| e.cve == "CVE-1999-0017")
        .unwrap();
    assert_eq!(e.cvss[0].vector, "AV:N/AC:L/Au:N/C:P/I:P/A:P");
    assert!(e.cwes.is_empty()); // NVD-CWE-Other only
}

#[test]
fn cisa_kev() {
    let Some(imp) = import("nvd/cisa-kev.tar.zst") else {
        return;
    };
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    assert_eq!(imp.files.get(&Format::Kev), Some(&1));
    assert!(
        imp.unclaimed
            .iter()
            .any(|p| p.ends_with("known_exploited_vulnerabilities_schema.json"))
    );
    assert_eq!(imp.enrichments.len(), 1404);
    let e = imp
        .enrichments
        .iter()
        .find(|e| e.cve == "CVE-2025-48384")
        .unwrap();
    assert_eq!(e.kev_added.as_deref(), Some("2025-08-25"));
    assert!(
        imp.enrichments
            .iter()
            .all(|e| e.summary.is_none() && e.cvss.is_empty())
    );
}

#[test]
fn go_cve5_records() {
    let Some(imp) = import("osv/go-vulndb.tar.zst") else {
        return;
    };
    assert_eq!(imp.files.get(&Format::Cve5), Some(&239));
    let cve5: Vec<&Enrichment> = imp.enrichments.iter().collect();
    assert_eq!(cve5.len(), 239);
    // The OSV files stay the OSV importer's.
    assert_eq!(imp.files.get(&Format::Osv), Some(&4291));
    let e = cve5.iter().find(|e| e.cve == "CVE-2020-36567").unwrap();
    assert_eq!(e.cwes, ["CWE-117"]);
    assert!(
        e.summary
            .as_deref()
            .is_some_and(|s| s.starts_with("Unsanitized input in the default logger"))
    );
}

#[test]
fn native_detectors_leave_osv_exports_alone() {
    let Some(imp) = import("osv/rustsec-osv.tar.zst") else {
        return;
    };
    for f in [
        Format::RustSec,
        Format::Nvd,
        Format::Cve5,
        Format::Kev,
        Format::Victims,
    ] {
        assert_eq!(imp.files.get(&f), None, "{f} claimed an OSV file");
    }
    let Some(pypi) = import("osv/pypi-pypa-advisory-database.tar.zst") else {
        return;
    };
    for f in [Format::RubySec, Format::FriendsOfPhp, Format::Victims] {
        assert_eq!(pypi.files.get(&f), None, "{f} claimed an OSV YAML file");
    }
}
