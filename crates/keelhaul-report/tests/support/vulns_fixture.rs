//! Shared by the `vulns_*` integration tests (included with `#[path]`): a hand-built
//! report with findings, a python runner and the skip rule.
#![allow(dead_code, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keelhaul_core::{
    Cvss, Digest, Ecosystem, FindingClass, FixStatus, Location, OsRelease, Package, PackageRef,
    Platform, Severity, Vulnerability,
};
use keelhaul_report::{Format, ImageMeta, LayerMeta, RenderOptions, Report, Summary};

/// Whether missing prerequisites fail (CI sets `KEELHAUL_REQUIRE_INTEGRATION=1`).
pub fn integration_required() -> bool {
    std::env::var_os("KEELHAUL_REQUIRE_INTEGRATION").is_some_and(|v| v == "1")
}

/// `true` when python3 can import `modules`; otherwise prints why the test is skipped and
/// returns `false`, or panics when integration tests are required.
pub fn python_has(modules: &str, install_hint: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    assert!(
        !integration_required(),
        "prerequisite missing: python3 with {modules} ({install_hint}); KEELHAUL_REQUIRE_INTEGRATION=1"
    );
    eprintln!("SKIPPED: python3 with {modules} is not available ({install_hint})");
    false
}

/// Run a python script with arguments.
pub fn python(script: &Path, args: &[&Path]) -> Output {
    let mut cmd = Command::new("python3");
    cmd.arg(script).args(args);
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run python3 {}: {e}", script.display()),
    }
}

/// A fresh path under Cargo's per-target temp dir.
pub fn temp_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keelhaul-report-vulns");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir.join(format!("{}-{name}", std::process::id()))
}

/// Render `reports` in `format`.
pub fn render(reports: &[Report], format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = keelhaul_report::render(reports, format, RenderOptions::default(), &mut out) {
        panic!("render {format:?}: {e}");
    }
    out
}

fn layer() -> Digest {
    Digest::sha256_of(b"base layer")
}

fn package(ecosystem: Ecosystem, name: &str, version: &str, purl: &str, path: &str) -> Package {
    let mut p = Package::new(ecosystem, name, version);
    p.purl = purl.to_owned();
    p.locations.push(Location {
        layer: Some(layer()),
        path: path.to_owned(),
        evidence: Default::default(),
    });
    p
}

fn finding(id: &str, p: &Package, class: FindingClass) -> Vulnerability {
    Vulnerability {
        id: id.to_owned(),
        aliases: Vec::new(),
        package: PackageRef {
            name: p.name.clone(),
            version: p.version.clone(),
            ecosystem: p.ecosystem,
            purl: p.purl.clone(),
        },
        installed_version: p.version.clone(),
        fixed_versions: Vec::new(),
        status: FixStatus::Affected,
        severity: Severity::Unknown,
        severity_source: None,
        distro_severity: None,
        cvss: None,
        cwes: Vec::new(),
        known_exploited: false,
        class,
        layer: p.locations.first().and_then(|l| l.layer.clone()),
        path: p.locations.first().map(|l| l.path.clone()),
        title: None,
        url: None,
        sources: Vec::new(),
        published: None,
    }
}

fn cvss(score: f64, version: &str, vector: &str) -> Option<Cvss> {
    Some(Cvss {
        score,
        vector: vector.to_owned(),
        version: version.to_owned(),
        source: "nvd".to_owned(),
    })
}

/// An image on `arch` with OS and SCA findings: with and without CVSS (v2, v3.1, v4),
/// fixed and unfixed (will-not-fix, deferred, end-of-life, no-dsa), one known exploited,
/// one with no path and a purl that is no package, an odd path needing escapes.
pub fn report(arch: &str) -> Report {
    let openssl = package(
        Ecosystem::Deb,
        "openssl",
        "3.0.11-1~deb12u1",
        "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12",
        "var/lib/dpkg/status",
    );
    let zlib = package(
        Ecosystem::Deb,
        "zlib1g",
        "1:1.2.13.dfsg-1",
        "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib",
        "var/lib/dpkg/status",
    );
    let jar = package(
        Ecosystem::Maven,
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        "opt/my app/app.jar!BOOT-INF/lib/log4j-core-2.14.1.jar",
    );
    let requests = package(
        Ecosystem::Pypi,
        "requests",
        "2.28.1",
        "pkg:pypi/requests@2.28.1",
        "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
    );

    let mut a = finding("CVE-2024-0727", &openssl, FindingClass::Os);
    a.fixed_versions = vec!["3.0.13-1~deb12u1".to_owned()];
    a.status = FixStatus::Fixed;
    a.severity = Severity::Medium;
    a.severity_source = Some("debian".to_owned());
    a.distro_severity = Some("medium".to_owned());
    a.cvss = cvss(5.5, "3.1", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H");
    a.cwes = vec!["CWE-476".to_owned()];
    a.title = Some("PKCS12 Decoding crashes".to_owned());
    a.url = Some("https://security-tracker.debian.org/tracker/CVE-2024-0727".to_owned());
    a.sources = vec!["debian".to_owned(), "nvd".to_owned()];
    a.published = Some("2024-01-26T09:15:07.680Z".to_owned());

    let mut b = finding("CVE-2023-5678", &openssl, FindingClass::Os);
    b.status = FixStatus::NoDsa;
    b.severity = Severity::Low;
    b.severity_source = Some("debian".to_owned());
    b.distro_severity = Some("low".to_owned());
    b.sources = vec!["debian".to_owned()];

    let mut c = finding("CVE-2023-45853", &zlib, FindingClass::Os);
    c.status = FixStatus::WillNotFix;
    c.severity = Severity::Negligible;
    c.severity_source = Some("debian".to_owned());
    c.distro_severity = Some("unimportant".to_owned());
    c.cvss = cvss(9.8, "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    c.cwes = vec!["CWE-190".to_owned(), "NVD-CWE-Other".to_owned()];
    c.title = Some("Integer overflow in MiniZip".to_owned());
    c.sources = vec!["debian".to_owned(), "nvd".to_owned()];
    c.published = Some("2023-10-14".to_owned());

    let mut d = finding("CVE-2021-44228", &jar, FindingClass::Sca);
    d.aliases = vec!["GHSA-jfh8-c2jp-5v3q".to_owned()];
    d.fixed_versions = vec!["2.15.0".to_owned(), "2.12.2".to_owned()];
    d.status = FixStatus::Fixed;
    d.severity = Severity::Critical;
    d.severity_source = Some("ghsa".to_owned());
    d.cvss = cvss(10.0, "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H");
    d.cwes = vec![
        "CWE-20".to_owned(),
        "CWE-400".to_owned(),
        "CWE-502".to_owned(),
    ];
    d.known_exploited = true;
    d.title = Some("Remote code injection in Log4j".to_owned());
    d.url = Some("https://github.com/advisories/GHSA-jfh8-c2jp-5v3q".to_owned());
    d.sources = vec!["ghsa".to_owned(), "nvd".to_owned()];
    d.published = Some("2021-12-10".to_owned());

    let mut e = finding("CVE-2021-45046", &jar, FindingClass::Sca);
    e.fixed_versions = vec!["2.16.0".to_owned()];
    e.status = FixStatus::Fixed;
    e.severity = Severity::Critical;
    e.cvss = cvss(
        9.0,
        "4.0",
        "CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    );
    e.sources = vec!["osv".to_owned()];

    let mut f = finding("PYSEC-2023-74", &requests, FindingClass::Sca);
    f.status = FixStatus::Deferred;
    f.severity = Severity::High;
    f.severity_source = Some("nvd".to_owned());
    f.cvss = cvss(7.5, "2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P");
    f.sources = vec!["osv".to_owned()];

    let orphan = Package::new(Ecosystem::Npm, "left-pad", "1.0.0");
    let mut g = finding("GHSA-0000-0000-0000", &orphan, FindingClass::Sca);
    g.package.purl = "pkg:npm/left-pad@1.0.0".to_owned();
    g.status = FixStatus::EndOfLife;

    let vulnerabilities = vec![a, b, c, d, e, f, g];
    let mut summary = Summary::default();
    summary.count(&vulnerabilities);
    Report {
        target: "registry:registry.example:5000/app:1".to_owned(),
        platform: Some(Platform {
            os: "linux".to_owned(),
            architecture: arch.to_owned(),
            variant: None,
        }),
        image: ImageMeta {
            repo_tags: vec!["registry.example:5000/app:1".to_owned()],
            manifest_digest: Some(Digest::sha256_of(arch.as_bytes())),
            index_digest: Some(Digest::sha256_of(b"index")),
            config_digest: Some(Digest::sha256_of(b"config")),
            created: Some("2024-05-01T12:00:00Z".to_owned()),
            layers: vec![LayerMeta {
                index: 0,
                digest: Some(layer()),
                diff_id: Some(layer()),
                size: Some(1234),
                created_by: Some("ADD rootfs.tar /".to_owned()),
            }],
        },
        os: Some(OsRelease::new("debian", Some("12"))),
        packages: vec![openssl, zlib, jar, requests],
        vulnerabilities,
        secrets: Vec::new(),
        malware: Vec::new(),
        baseline: Vec::new(),
        summary,
        warnings: Vec::new(),
        errors: Vec::new(),
        complete: true,
    }
}
