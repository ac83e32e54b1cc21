//! `keelhaul_report::sbom_in`: hand-written CycloneDX/SPDX fixtures, keelhaul's own SBOMs
//! read back, and the SBOMs Syft and Trivy write for a small fake Debian root.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use keelhaul_core::{Ecosystem, Evidence, Location, OsRelease, Package, purl_for};
use keelhaul_report::sbom_in::{SbomError, SbomFormat, SbomInventory, read_sbom};
use keelhaul_report::{Format, ImageMeta, RenderOptions, Report, Summary, render};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sbom")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(name: &str) -> SbomInventory {
    read_sbom(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn find<'a>(inv: &'a SbomInventory, eco: Ecosystem, name: &str) -> &'a Package {
    inv.packages
        .iter()
        .find(|p| p.ecosystem == eco && p.name == name)
        .unwrap_or_else(|| panic!("no {eco} package {name} in {:#?}", inv.packages))
}

fn os_of(inv: &SbomInventory) -> (String, Option<String>) {
    let os = inv.os.as_ref().expect("an OS");
    (os.family.clone(), os.version.clone())
}

// --- hand-written fixtures ------------------------------------------------------------

#[test]
fn cyclonedx_1_4_nested_components_and_os_component() {
    let inv = read("cyclonedx-1.4-nested.json");
    assert_eq!(
        inv.format,
        SbomFormat::CycloneDx {
            spec_version: "1.4".into()
        }
    );
    assert_eq!(inv.name.as_deref(), Some("example/app:1.0"));
    // The OS component's name is lowercased; the image itself is not a package.
    assert_eq!(os_of(&inv), ("ubuntu".into(), Some("22.04".into())));
    assert!(inv.packages.iter().all(|p| !p.purl.starts_with("pkg:oci")));

    // Document order, nested components flattened depth-first, duplicates once.
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "libgcc-s1",
            "bash",
            "app",
            "@babel/core",
            "lodash",
            "github.com/docker/docker",
            "github.com/BurntSushi/toml",
        ]
    );

    let gcc = find(&inv, Ecosystem::Deb, "libgcc-s1");
    assert_eq!(gcc.version, "12.3.0-1ubuntu1~22.04");
    assert_eq!(gcc.source_name.as_deref(), Some("gcc-12"));
    assert_eq!(
        gcc.source_version.as_deref(),
        Some("12.3.0-1ubuntu1~22.04b1")
    );
    assert_eq!(gcc.arch.as_deref(), Some("amd64"));
    assert!(
        gcc.purl.contains("upstream=gcc-12%4012.3.0"),
        "verbatim purl"
    );
    assert_eq!(
        gcc.supplier.as_deref(),
        Some("Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>")
    );
    // No upstream: the package is its own source, as in the dpkg database.
    let bash = find(&inv, Ecosystem::Deb, "bash");
    assert_eq!(bash.source_name.as_deref(), Some("bash"));
    assert_eq!(bash.source_version.as_deref(), Some("5.1-6ubuntu1.1"));

    // Percent-decoded scope.
    let babel = find(&inv, Ecosystem::Npm, "@babel/core");
    assert_eq!(babel.version, "7.0.0");
    assert_eq!(babel.purl, "pkg:npm/%40babel/core@7.0.0");

    // Go: `+incompatible` kept (the matcher ignores it), the `v` kept or added back, the
    // module path's case kept although the purl type lowercases namespaces.
    let docker = find(&inv, Ecosystem::Golang, "github.com/docker/docker");
    assert_eq!(docker.version, "v27.4.0+incompatible");
    let toml = find(&inv, Ecosystem::Golang, "github.com/BurntSushi/toml");
    assert_eq!(toml.version, "v1.3.2");

    // No location in the document: none invented.
    assert!(inv.packages.iter().all(|p| p.locations.is_empty()));

    // github + no purl counted; the bad purl warned about, not an error.
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("2 components without a supported purl were skipped")),
        "{:?}",
        inv.warnings
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`broken`") && w.contains("invalid purl")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn cyclonedx_1_5_rpm_epoch_and_evidence_locations() {
    let inv = read("cyclonedx-1.5-evidence.json");
    assert_eq!(os_of(&inv), ("almalinux".into(), Some("9.4".into())));

    let ssl = find(&inv, Ecosystem::Rpm, "openssl-libs");
    assert_eq!(
        ssl.version, "1:3.0.7-27.el9",
        "EVR as the rpm inventory writes it"
    );
    assert_eq!(ssl.epoch, Some(1));
    assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
    assert_eq!(ssl.source_version.as_deref(), Some("1:3.0.7-27.el9"));
    assert_eq!(
        ssl.locations,
        [Location::file(
            "var/lib/rpm/rpmdb.sqlite",
            Evidence::Installed
        )]
    );
    let bash = find(&inv, Ecosystem::Rpm, "bash");
    assert_eq!((bash.version.as_str(), bash.epoch), ("5.1.8-9.el9", None));
    assert_eq!(bash.source_version.as_deref(), Some("5.1.8-9.el9"));

    let requests = find(&inv, Ecosystem::Pypi, "requests");
    assert_eq!(
        requests.locations,
        [
            Location::file(
                "usr/lib/python3.9/site-packages/requests-2.31.0.dist-info/METADATA",
                Evidence::Installed
            ),
            Location::file("app/requirements.txt", Evidence::Declared),
        ]
    );
    assert_eq!(requests.source_name, None);
    assert_eq!(
        find(
            &inv,
            Ecosystem::Maven,
            "org.apache.logging.log4j:log4j-core"
        )
        .version,
        "2.14.1"
    );
    assert_eq!(
        find(&inv, Ecosystem::Composer, "symfony/http-kernel").version,
        "v5.4.0"
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

#[test]
fn cyclonedx_1_6_os_from_distro_qualifiers() {
    let inv = read("cyclonedx-1.6-no-os.json");
    // `alpine-3.20` and `alpine-3.20.3`: the more precise one.
    assert_eq!(os_of(&inv), ("alpine".into(), Some("3.20.3".into())));
    let busybox = find(&inv, Ecosystem::Apk, "busybox");
    assert_eq!(busybox.source_name.as_deref(), Some("busybox"));
    assert_eq!(busybox.source_version, None);
    assert_eq!(
        busybox.locations,
        [Location::file("lib/apk/db/installed", Evidence::Installed)]
    );
    assert_eq!(
        find(&inv, Ecosystem::Apk, "libcrypto3")
            .source_name
            .as_deref(),
        Some("openssl")
    );
    let stdlib = find(&inv, Ecosystem::Golang, "stdlib");
    assert_eq!(stdlib.version, "go1.22.1");
    assert_eq!(
        stdlib.locations,
        [Location::file("usr/local/bin/app", Evidence::Binary)]
    );
    assert_eq!(find(&inv, Ecosystem::Cargo, "serde").version, "1.0.200");
}

#[test]
fn spdx_2_3_external_refs() {
    let inv = read("spdx-2.3.json");
    assert_eq!(
        inv.format,
        SbomFormat::Spdx {
            version: "2.3".into()
        }
    );
    assert_eq!(inv.name.as_deref(), Some("registry.example/rhel-app:1"));
    // Trivy's spelling `redhat` is keelhaul's `rhel`.
    assert_eq!(os_of(&inv), ("rhel".into(), Some("9.4".into())));
    let ssl = find(&inv, Ecosystem::Rpm, "openssl-libs");
    assert_eq!(
        (ssl.version.as_str(), ssl.epoch),
        ("1:3.0.7-27.el9", Some(1))
    );
    assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
    assert_eq!(ssl.source_version.as_deref(), Some("1:3.0.7-27.el9"));
    assert_eq!(ssl.supplier.as_deref(), Some("Red Hat, Inc."));
    assert_eq!(ssl.licenses, ["Apache-2.0"]);
    // The purl lowercases PyPI names; the package's own spelling is kept.
    let yaml = find(&inv, Ecosystem::Pypi, "PyYAML");
    assert_eq!(
        yaml.locations,
        [Location::file(
            "usr/lib64/python3.9/site-packages/PyYAML-6.0.1.dist-info/METADATA",
            Evidence::Installed
        )]
    );
    assert_eq!(
        find(&inv, Ecosystem::Nuget, "Newtonsoft.Json").version,
        "13.0.1"
    );
    assert_eq!(inv.packages.len(), 3, "{:#?}", inv.packages);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("1 components without a supported purl were skipped")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn malformed_inputs() {
    let err = read_sbom(&fixture("not-json.txt")).unwrap_err();
    assert!(matches!(err, SbomError::NotJson(_)), "{err}");
    assert!(err.to_string().contains("not valid JSON"), "{err}");

    let err = read_sbom(&fixture("truncated.json")).unwrap_err();
    assert!(matches!(err, SbomError::NotJson(_)), "{err}");
    assert!(read_sbom(b"").is_err());

    let err = read_sbom(&fixture("neither.json")).unwrap_err();
    assert!(matches!(err, SbomError::UnknownFormat), "{err}");
    assert!(err.to_string().contains("neither a CycloneDX"), "{err}");

    let err = read_sbom(br#"{"bomFormat":"CycloneDX","specVersion":"2.0"}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("CycloneDX version `2.0` is not supported"),
        "{err}"
    );
    let err = read_sbom(br#"{"spdxVersion":"SPDX-2.1","packages":[]}"#).unwrap_err();
    assert!(matches!(err, SbomError::UnsupportedVersion { .. }), "{err}");
    let err =
        read_sbom(br#"{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}"#)
            .unwrap_err();
    assert!(err.to_string().contains("SPDX version `3`"), "{err}");
    let err =
        read_sbom(br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":{}}"#).unwrap_err();
    assert!(matches!(err, SbomError::Malformed { .. }), "{err}");

    let inv = read("cyclonedx-no-components.json");
    assert!(inv.packages.is_empty() && inv.os.is_none());
    assert_eq!(inv.name.as_deref(), Some("empty"));
    assert!(inv.warnings.iter().any(|w| w.contains("no components")));

    let inv = read("spdx-no-packages.json");
    assert!(inv.packages.is_empty() && inv.os.is_none());
    assert!(inv.warnings.iter().any(|w| w.contains("no packages")));

    // A byte-order mark is tolerated.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(fixture("cyclonedx-no-components.json"));
    assert!(read_sbom(&bom).is_ok());
}

#[test]
fn too_many_components_is_an_error() {
    let many = format!(
        r#"{{"spdxVersion":"SPDX-2.3","packages":[{}]}}"#,
        vec!["{}"; keelhaul_report::sbom_in::MAX_COMPONENTS + 1].join(",")
    );
    let err = read_sbom(many.as_bytes()).unwrap_err();
    assert!(matches!(err, SbomError::TooLarge { .. }), "{err}");
}

// --- keelhaul's own SBOMs read back ---------------------------------------------------

fn report() -> Report {
    let os = OsRelease::new("debian", Some("12.8"));
    let mut packages = Vec::new();
    let mut deb = Package::found_at(
        Ecosystem::Deb,
        "libgcc-s1",
        "12.2.0-14",
        "var/lib/dpkg/status",
        Evidence::Installed,
    );
    deb.arch = Some("amd64".into());
    deb.source_name = Some("gcc-12".into());
    deb.source_version = Some("12.2.0-14".into());
    packages.push(deb);
    let mut binnmu = Package::found_at(
        Ecosystem::Deb,
        "libfoo1",
        "1:1.0-1+b1",
        "var/lib/dpkg/status",
        Evidence::Installed,
    );
    binnmu.arch = Some("amd64".into());
    binnmu.source_name = Some("foo".into());
    binnmu.source_version = Some("1:1.0-1".into());
    packages.push(binnmu);
    let mut rpm = Package::found_at(
        Ecosystem::Rpm,
        "openssl-libs",
        "1:3.0.7-25.el9_3",
        "var/lib/rpm/rpmdb.sqlite",
        Evidence::Installed,
    );
    rpm.arch = Some("x86_64".into());
    rpm.epoch = Some(1);
    rpm.source_name = Some("openssl".into());
    rpm.source_version = Some("1:3.0.7-25.el9_3".into());
    packages.push(rpm);
    packages.push(Package::found_at(
        Ecosystem::Npm,
        "@babel/core",
        "7.0.0",
        "app/package-lock.json",
        Evidence::Declared,
    ));
    packages.push(Package::found_at(
        Ecosystem::Maven,
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "opt/app/app.jar",
        Evidence::Installed,
    ));
    packages.push(Package::found_at(
        Ecosystem::Golang,
        "github.com/spf13/cobra",
        "v1.8.0",
        "usr/local/bin/app",
        Evidence::Binary,
    ));
    packages.push(Package::found_at(
        Ecosystem::Golang,
        "stdlib",
        "go1.22.1",
        "usr/local/bin/app",
        Evidence::Binary,
    ));
    for p in &mut packages {
        p.purl = purl_for(p, Some(&os));
    }
    Report {
        target: "oci:/tmp/image".into(),
        platform: None,
        image: ImageMeta {
            repo_tags: vec!["example/app:1.0".into()],
            ..ImageMeta::default()
        },
        os: Some(os),
        packages,
        vulnerabilities: Vec::new(),
        secrets: Vec::new(),
        malware: Vec::new(),
        baseline: Vec::new(),
        summary: Summary::default(),
        warnings: Vec::new(),
        errors: Vec::new(),
        complete: true,
    }
}

type Key = (Ecosystem, String, String, Option<String>);

fn keys(packages: &[Package]) -> Vec<Key> {
    packages
        .iter()
        .map(|p| {
            (
                p.ecosystem,
                p.name.clone(),
                p.version.clone(),
                p.source_name.clone(),
            )
        })
        .collect()
}

fn render_to(format: Format, r: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    render(
        std::slice::from_ref(r),
        format,
        RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn keelhaul_cyclonedx_round_trip() {
    let r = report();
    let inv = read_sbom(&render_to(Format::CycloneDx, &r)).unwrap();
    assert_eq!(keys(&inv.packages), keys(&r.packages));
    assert_eq!(
        inv.os.as_ref().map(|o| &o.family),
        Some(&"debian".to_owned())
    );
    assert_eq!(
        inv.os.as_ref().and_then(|o| o.version.as_deref()),
        Some("12.8")
    );
    assert_eq!(inv.name.as_deref(), Some("example/app:1.0"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    // The CycloneDX properties carry everything the inventory had.
    for (got, want) in inv.packages.iter().zip(&r.packages) {
        assert_eq!(got.purl, want.purl);
        assert_eq!(got.source_version, want.source_version, "{}", want.name);
        assert_eq!(got.epoch, want.epoch, "{}", want.name);
        assert_eq!(got.arch, want.arch, "{}", want.name);
        assert_eq!(got.locations, want.locations, "{}", want.name);
    }
}

#[test]
fn keelhaul_spdx_round_trip() {
    let r = report();
    let inv = read_sbom(&render_to(Format::SpdxJson, &r)).unwrap();
    assert_eq!(keys(&inv.packages), keys(&r.packages));
    assert_eq!(
        inv.os
            .as_ref()
            .map(|o| (o.family.as_str(), o.version.as_deref())),
        Some(("debian", Some("12.8")))
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    for (got, want) in inv.packages.iter().zip(&r.packages) {
        assert_eq!(got.source_version, want.source_version, "{}", want.name);
        assert_eq!(got.epoch, want.epoch, "{}", want.name);
        assert_eq!(got.locations, want.locations, "{}", want.name);
    }
}

// --- Syft and Trivy -------------------------------------------------------------------

/// A fake Debian 12 root with three dpkg packages (one binNMU with `Source: x (1.0-1)`, one
/// with an epoch), an installed Python distribution, an npm lockfile and an installed npm
/// package.
fn fake_root(dir: &Path) {
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "var/lib/dpkg/status",
        "Package: libfoo1\nStatus: install ok installed\nMaintainer: Foo Maintainers <foo@example.org>\n\
         Architecture: amd64\nSource: x (1.0-1)\nVersion: 1.0-1+b1\nDescription: foo library\n\n\
         Package: base-files\nStatus: install ok installed\nMaintainer: Santiago Vila <sanvila@debian.org>\n\
         Architecture: amd64\nVersion: 12.4+deb12u8\nDescription: Debian base system miscellaneous files\n\n\
         Package: login\nStatus: install ok installed\nMaintainer: Shadow package maintainers <pkg-shadow-devel@lists.alioth.debian.org>\n\
         Architecture: amd64\nSource: shadow\nVersion: 1:4.13+dfsg1-1+b1\nDescription: system login tools\n",
    );
    write(
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n\
         VERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
    );
    // Trivy detects Debian from this file only.
    write("etc/debian_version", "12.8\n");
    write(
        "usr/lib/python3/site-packages/foo-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
    );
    write(
        "app/package-lock.json",
        r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{
            "":{"name":"app","version":"1.0.0","dependencies":{"@babel/core":"7.0.0","lodash":"4.17.15"}},
            "node_modules/@babel/core":{"version":"7.0.0","resolved":"https://registry.npmjs.org/@babel/core/-/core-7.0.0.tgz"},
            "node_modules/lodash":{"version":"4.17.15","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"}}}"#,
    );
    write(
        "app/node_modules/@babel/core/package.json",
        r#"{"name":"@babel/core","version":"7.0.0"}"#,
    );
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn syft_sbom(syft: &Path, root: &Path, format: &str) -> Vec<u8> {
    run(Command::new(syft)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .arg("scan")
        .arg(format!("dir:{}", root.display()))
        .args(["-q", "-o", format]))
}

/// `trivy rootfs` (not `fs`, which skips OS packages' distro detection), offline: no
/// database is needed to list packages.
fn trivy_sbom(trivy: &Path, root: &Path, format: &str) -> Vec<u8> {
    let cache = tempfile::tempdir().unwrap();
    let out = cache.path().join("sbom.json");
    run(Command::new(trivy)
        .arg("rootfs")
        .arg(root)
        .arg("--cache-dir")
        .arg(cache.path())
        .args([
            "--cache-backend",
            "memory",
            "--skip-db-update",
            "--skip-java-db-update",
            "--offline-scan",
            "--skip-check-update",
            "-q",
            "--format",
            format,
            "-o",
        ])
        .arg(&out));
    std::fs::read(&out).unwrap()
}

/// The Debian packages with their sources, and the OS, as every peer SBOM must give them.
fn assert_debian(inv: &SbomInventory, what: &str) {
    let os = inv.os.as_ref().unwrap_or_else(|| panic!("{what}: no OS"));
    assert_eq!(os.family, "debian", "{what}");
    assert_eq!(
        OsRelease::new("debian", os.version.as_deref()).feed_release(),
        Some("12".into()),
        "{what}: {os:?}"
    );
    let deb = |name: &str| {
        inv.packages
            .iter()
            .find(|p| p.ecosystem == Ecosystem::Deb && p.name == name)
            .unwrap_or_else(|| panic!("{what}: no deb {name}: {:#?}", inv.packages))
    };
    let libfoo = deb("libfoo1");
    assert_eq!(libfoo.version, "1.0-1+b1", "{what}");
    assert_eq!(libfoo.source_name.as_deref(), Some("x"), "{what}");
    assert_eq!(libfoo.source_version.as_deref(), Some("1.0-1"), "{what}");
    assert_eq!(libfoo.arch.as_deref(), Some("amd64"), "{what}");
    let base = deb("base-files");
    assert_eq!(base.source_name.as_deref(), Some("base-files"), "{what}");
    assert_eq!(
        base.source_version.as_deref(),
        Some("12.4+deb12u8"),
        "{what}"
    );
    let login = deb("login");
    assert_eq!(login.version, "1:4.13+dfsg1-1+b1", "{what}");
    assert_eq!(login.source_name.as_deref(), Some("shadow"), "{what}");
    let pypi = inv
        .packages
        .iter()
        .find(|p| p.ecosystem == Ecosystem::Pypi && p.name == "foo")
        .unwrap_or_else(|| panic!("{what}: no pypi foo"));
    assert_eq!(pypi.version, "1.0", "{what}");
    assert_eq!(
        pypi.locations.first().map(|l| l.path.as_str()),
        Some("usr/lib/python3/site-packages/foo-1.0.dist-info/METADATA"),
        "{what}"
    );
    let babel = inv
        .packages
        .iter()
        .find(|p| p.ecosystem == Ecosystem::Npm && p.name == "@babel/core")
        .unwrap_or_else(|| panic!("{what}: no npm @babel/core"));
    assert_eq!(babel.version, "7.0.0", "{what}");
    assert!(
        !babel.locations.is_empty(),
        "{what}: @babel/core has no location"
    );
}

fn peer(find: fn() -> Option<PathBuf>, name: &str) -> Option<PathBuf> {
    let found = find();
    keelhaul_test::prerequisite(
        found.is_some(),
        &format!("{name} (install with bash /work/shared/bench/install-peers.sh)"),
    )
    .then_some(found)
    .flatten()
}

#[test]
fn syft_sboms_read_back() {
    let Some(syft) = peer(keelhaul_test::peers::syft, "syft") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fake_root(dir.path());
    for format in ["cyclonedx-json", "spdx-json"] {
        let what = format!("syft {format}");
        let inv = read_sbom(&syft_sbom(&syft, dir.path(), format))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_debian(&inv, &what);
        let status = inv
            .packages
            .iter()
            .find(|p| p.name == "libfoo1")
            .and_then(|p| p.locations.first())
            .map(|l| (l.path.as_str(), l.evidence));
        assert_eq!(
            status,
            Some(("var/lib/dpkg/status", Evidence::Installed)),
            "{what}"
        );
        let lodash = inv
            .packages
            .iter()
            .find(|p| p.name == "lodash")
            .and_then(|p| p.locations.first())
            .map(|l| (l.path.as_str(), l.evidence));
        assert_eq!(
            lodash,
            Some(("app/package-lock.json", Evidence::Declared)),
            "{what}"
        );
    }
}

#[test]
fn trivy_sboms_read_back() {
    let Some(trivy) = peer(keelhaul_test::peers::trivy, "trivy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fake_root(dir.path());
    for format in ["cyclonedx", "spdx-json"] {
        let what = format!("trivy {format}");
        let inv = read_sbom(&trivy_sbom(&trivy, dir.path(), format))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_debian(&inv, &what);
        assert_eq!(
            inv.os.as_ref().and_then(|o| o.version.as_deref()),
            Some("12.8"),
            "{what}"
        );
    }
}
