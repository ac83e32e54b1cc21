//! The finding policy end to end: a hand-written `.keelhaul.yaml` and an OpenVEX document
//! from `tests/fixtures/policy/`, applied to hand-built findings.

use std::path::{Path, PathBuf};

use keelhaul_core::{Ecosystem, FindingClass, FixStatus, PackageRef, Severity, Vulnerability};
use keelhaul_vulndb::policy::{
    IgnoreFile, Policy, PolicyError, SuppressionReason, VexDocument, VexStatus, parse_severities,
};
use time::macros::date;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy")
}

fn finding(id: &str, ecosystem: Ecosystem, name: &str, version: &str, purl: &str) -> Vulnerability {
    Vulnerability {
        id: id.to_owned(),
        aliases: Vec::new(),
        package: PackageRef {
            name: name.to_owned(),
            version: version.to_owned(),
            ecosystem,
            purl: purl.to_owned(),
        },
        installed_version: version.to_owned(),
        fixed_versions: vec!["999".to_owned()],
        status: FixStatus::Fixed,
        severity: Severity::High,
        severity_source: Some("nvd".to_owned()),
        distro_severity: None,
        cvss: None,
        cwes: Vec::new(),
        known_exploited: false,
        class: if ecosystem.is_os() {
            FindingClass::Os
        } else {
            FindingClass::Sca
        },
        layer: None,
        path: None,
        title: None,
        url: None,
        sources: Vec::new(),
        published: None,
    }
}

fn openssl(id: &str, version: &str) -> Vulnerability {
    finding(
        id,
        Ecosystem::Deb,
        "openssl",
        version,
        &format!("pkg:deb/debian/openssl@{version}?arch=amd64&distro=debian-12"),
    )
}

fn lodash(id: &str, version: &str) -> Vulnerability {
    let mut f = finding(
        id,
        Ecosystem::Npm,
        "lodash",
        version,
        &format!("pkg:npm/lodash@{version}"),
    );
    f.path = Some("/app/node_modules/lodash/package.json".to_owned());
    f
}

fn at(mut f: Vulnerability, path: &str) -> Vulnerability {
    f.path = Some(path.to_owned());
    f
}

/// Findings, each named (by `title`) after what the policy should do with it.
fn findings() -> Vec<Vulnerability> {
    let mut log4j = finding(
        "CVE-2021-44228",
        Ecosystem::Maven,
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    );
    log4j.aliases = vec!["GHSA-jfh8-c2jp-5v3q".to_owned()];
    let requests = |path: &str| {
        at(
            finding(
                "CVE-2024-0001",
                Ecosystem::Pypi,
                "requests",
                "2.31.0",
                "pkg:pypi/requests@2.31.0",
            ),
            path,
        )
    };
    let zlib = finding(
        "CVE-2024-0003",
        Ecosystem::Deb,
        "zlib",
        "1:1.2.13.dfsg-1",
        "pkg:deb/debian/zlib@1.2.13.dfsg-1?epoch=1",
    );
    let curl = finding(
        "CVE-2024-9999",
        Ecosystem::Deb,
        "curl",
        "7.88.1-10",
        "pkg:deb/debian/curl@7.88.1-10",
    );
    let mut low = openssl("CVE-2024-1111", "3.0.11-1~deb12u1");
    low.severity = Severity::Low;
    let mut wontfix = openssl("CVE-2024-2222", "3.0.11-1~deb12u1");
    wontfix.status = FixStatus::WillNotFix;
    wontfix.fixed_versions.clear();

    let named = [
        (log4j, "ignored: alias"),
        (
            requests("/usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA"),
            "ignored: path",
        ),
        (
            requests("/app/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA"),
            "kept: other path",
        ),
        (lodash("CVE-2024-0002", "4.17.21"), "ignored: purl"),
        (zlib, "kept: expired rule"),
        (
            openssl("CVE-2023-5363", "3.0.11-1~deb12u1"),
            "vex: subcomponent",
        ),
        (
            at(
                openssl("CVE-2023-5363", "3.0.9-1"),
                "/opt/legacy/var/lib/dpkg/status",
            ),
            "kept: vex names another version",
        ),
        (
            openssl("CVE-2023-5678", "3.0.11-1~deb12u1"),
            "kept: latest statement is affected",
        ),
        (lodash("CVE-2021-23337", "4.17.20"), "vex: alias"),
        (curl, "kept: under investigation"),
        (low, "severity"),
        (wontfix, "unfixed"),
    ];
    named
        .into_iter()
        .map(|(mut f, title)| {
            f.title = Some(title.to_owned());
            f
        })
        .collect()
}

fn titles<'a>(findings: impl IntoIterator<Item = &'a Vulnerability>) -> Vec<&'a str> {
    findings
        .into_iter()
        .map(|f| f.title.as_deref().unwrap_or("?"))
        .collect()
}

fn policy() -> Result<Policy, PolicyError> {
    let mut policy = Policy::new(date!(2026 - 03 - 01));
    policy.severities = Some(parse_severities("MEDIUM+")?);
    policy.ignore_unfixed = true;
    policy.ignore = IgnoreFile::load(&fixtures().join(".keelhaul.yaml"))?;
    policy.vex = vec![VexDocument::load(&fixtures().join("openvex.json"))?];
    Ok(policy)
}

#[test]
fn fixtures_parse() -> TestResult {
    let ignore = IgnoreFile::discover(&fixtures())?.ok_or("no .keelhaul.yaml in fixtures")?;
    assert_eq!(ignore.rules.len(), 4);
    assert_eq!(ignore.rules[2].package.as_deref(), Some("pkg:npm/lodash"));
    assert_eq!(ignore.rules[3].expires, Some(date!(2025 - 06 - 30)));

    let vex = VexDocument::load(&fixtures().join("openvex.json"))?;
    assert_eq!(vex.id, "https://example.com/vex/keelhaul-test-2026-01");
    assert_eq!(vex.statements.len(), 5);
    assert_eq!(vex.statements[0].aliases, ["DSA-5532-1"]);
    assert_eq!(vex.statements[0].products[0].subcomponents.len(), 1);
    assert_eq!(vex.statements[4].status, VexStatus::UnderInvestigation);
    Ok(())
}

#[test]
fn policy_from_fixtures() -> TestResult {
    let (kept, suppressed, warnings) = policy()?.apply(findings());

    assert_eq!(
        titles(&kept),
        [
            "kept: other path",
            "kept: expired rule",
            "kept: vex names another version",
            "kept: latest statement is affected",
            "kept: under investigation",
        ]
    );
    assert_eq!(
        titles(suppressed.iter().map(|s| &s.finding)),
        [
            "ignored: alias",
            "ignored: path",
            "ignored: purl",
            "vex: subcomponent",
            "vex: alias",
            "severity",
            "unfixed",
        ]
    );
    let reasons: Vec<&SuppressionReason> = suppressed.iter().map(|s| &s.reason).collect();
    assert_eq!(
        reasons[0],
        &SuppressionReason::Ignored {
            rule: 0,
            reason: Some("log4j lookups are disabled by the launcher".to_owned()),
            expires: None,
        }
    );
    assert!(matches!(
        reasons[1],
        SuppressionReason::Ignored { rule: 1, .. }
    ));
    assert_eq!(
        reasons[2],
        &SuppressionReason::Ignored {
            rule: 2,
            reason: Some("not reachable".to_owned()),
            expires: Some(date!(2099 - 12 - 31)),
        }
    );
    assert_eq!(
        reasons[3],
        &SuppressionReason::Vex {
            doc: "https://example.com/vex/keelhaul-test-2026-01".to_owned(),
            status: VexStatus::NotAffected,
            justification: Some("vulnerable_code_not_in_execute_path".to_owned()),
        }
    );
    assert!(matches!(
        reasons[4],
        SuppressionReason::Vex { status: VexStatus::NotAffected, justification: Some(j), .. }
            if j == "vulnerable_code_cannot_be_controlled_by_adversary"
    ));
    assert_eq!(reasons[5], &SuppressionReason::Severity);
    assert_eq!(reasons[6], &SuppressionReason::Unfixed);

    assert_eq!(
        warnings,
        ["ignore rule for CVE-2024-0003 expired on 2025-06-30; the finding is reported again"]
    );
    Ok(())
}

#[test]
fn before_expiry_the_rule_still_applies() -> TestResult {
    let mut policy = policy()?;
    policy.today = date!(2025 - 06 - 30);
    let (kept, suppressed, warnings) = policy.apply(findings());
    assert!(!titles(&kept).contains(&"kept: expired rule"));
    assert!(titles(suppressed.iter().map(|s| &s.finding)).contains(&"kept: expired rule"));
    assert!(warnings.is_empty(), "{warnings:?}");
    Ok(())
}

#[test]
fn misspelt_key_is_an_error_with_file_and_line() {
    let path = fixtures().join("typo.yaml");
    let message = match IgnoreFile::load(&path) {
        Ok(file) => panic!("typo accepted: {file:?}"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("typo.yaml"), "{message}");
    assert!(message.contains("reasn"), "{message}");
    assert!(message.contains("line 3"), "line 3 expected: {message}");
}

#[test]
fn missing_files_are_io_errors() {
    let missing = fixtures().join("no-such.json");
    assert!(matches!(
        VexDocument::load(&missing),
        Err(PolicyError::Io { path, .. }) if path == missing
    ));
}
