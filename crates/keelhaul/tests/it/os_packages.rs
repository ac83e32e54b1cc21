//! rpm (all three database formats, real databases from distro images) and apk inventories,
//! compared with Syft's and Trivy's on the same images.

use std::collections::BTreeSet;
use std::path::Path;

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::peers::{self, PeerPackage};
use keelhaul_test::{keelhaul, prerequisite, require, shared_dir};
use serde_json::Value;

fn scan(sandbox: &Path, target: &str) -> Value {
    keelhaul(sandbox, &["scan", target, "--format", "json", "--no-cache"])
        .success()
        .json()
}

/// (name, version, arch) of keelhaul's packages of one ecosystem.
fn nva(report: &Value, ecosystem: &str) -> BTreeSet<(String, String, String)> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == ecosystem)
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                p["arch"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn peer_nva(set: &BTreeSet<PeerPackage>) -> BTreeSet<(String, String, String)> {
    set.iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.arch.clone()))
        .collect()
}

/// Peers list rpm's imported signing keys (`gpg-pubkey`) as packages; keelhaul does not:
/// they are keys, not software, and matching them against advisories can only produce
/// noise. Everything else must be identical.
fn without_gpg_pubkey(
    set: BTreeSet<(String, String, String)>,
) -> BTreeSet<(String, String, String)> {
    set.into_iter()
        .filter(|(n, _, _)| n != "gpg-pubkey")
        .collect()
}

struct RpmCase {
    db: &'static str,
    image_path: &'static str,
    os_release: &'static str,
    /// A distro release file beside os-release (Trivy detects RHEL-family images by it).
    release_file: Option<(&'static str, &'static str)>,
    family: &'static str,
}

const RPM_CASES: &[RpmCase] = &[
    RpmCase {
        db: "sqlite-cbl-mariner-2.0/rpmdb.sqlite",
        image_path: "var/lib/rpm/rpmdb.sqlite",
        os_release: "NAME=\"Common Base Linux Mariner\"\nVERSION=\"2.0.20240123\"\nID=mariner\nVERSION_ID=\"2.0\"\n",
        release_file: None,
        family: "mariner",
    },
    RpmCase {
        db: "bdb-libuuid/Packages",
        image_path: "var/lib/rpm/Packages",
        os_release: "NAME=\"CentOS Linux\"\nVERSION=\"8\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"8\"\n",
        release_file: Some(("etc/centos-release", "CentOS Linux release 8.5.2111\n")),
        family: "centos",
    },
    RpmCase {
        db: "ndb-sle15-bci/Packages.db",
        image_path: "usr/lib/sysimage/rpm/Packages.db",
        os_release: "NAME=\"SLES\"\nVERSION=\"15-SP3\"\nVERSION_ID=\"15.3\"\nID=\"sles\"\nID_LIKE=\"suse\"\n",
        release_file: None,
        family: "sles",
    },
];

#[test]
fn rpm_databases_in_all_three_formats_match_the_peers() {
    let Some(shared) = shared_dir() else {
        require!(false, "../shared/data (real rpm databases)");
        return;
    };
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    for case in RPM_CASES {
        let db = std::fs::read(shared.join("data/rpmdb").join(case.db)).unwrap();
        let mut base = Layer::new()
            .compression(Compression::None)
            .file("etc/os-release", case.os_release);
        if let Some((path, text)) = case.release_file {
            base = base.file(path, text);
        }
        let image = Image::new().layer(base).layer(
            Layer::new()
                .compression(Compression::None)
                .file(case.image_path, &db),
        );
        let archive = s.join(format!("{}.docker.tar", case.family));
        image.write_docker_archive(&archive, &format!("keelhaul/{}:1", case.family));
        let report = scan(s, &format!("docker-archive:{}", archive.display()));
        assert_eq!(report["os"]["family"], case.family);
        let ours = nva(&report, "rpm");
        assert!(!ours.is_empty(), "{}: no packages", case.db);
        for p in report["packages"].as_array().unwrap() {
            let purl = p["purl"].as_str().unwrap();
            assert!(
                purl.starts_with(&format!("pkg:rpm/{}/", case.family)),
                "{purl}"
            );
            assert_eq!(p["locations"][0]["path"], case.image_path);
        }
        if prerequisite(peers::syft().is_some(), "syft") {
            let syft = without_gpg_pubkey(peer_nva(&peers::syft_packages(&format!(
                "docker-archive:{}",
                archive.display()
            ))));
            assert_eq!(ours, syft, "{}: Syft differs", case.db);
        }
        if prerequisite(peers::trivy().is_some(), "trivy") {
            let trivy_set = peers::trivy_packages(&archive, false);
            let trivy = without_gpg_pubkey(peer_nva(&trivy_set));
            assert_eq!(ours, trivy, "{}: Trivy differs", case.db);
            // Source package names agree too (Trivy splits the source rpm name as we do).
            let our_sources: BTreeSet<(String, String)> = report["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_owned(),
                        p["source_name"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let trivy_sources: BTreeSet<(String, String)> = trivy_set
                .iter()
                .filter(|p| p.name != "gpg-pubkey")
                .map(|p| (p.name.clone(), p.source.clone()))
                .collect();
            assert_eq!(
                our_sources, trivy_sources,
                "{}: source names differ from Trivy's",
                case.db
            );
        }
    }
}

/// An apk database in the format apk-tools writes (fields as in Alpine 3.20's
/// `lib/apk/db/installed`), with a package deleted by a later layer's replacement DB.
const APK_DB: &str = "C:Q1TvqvC6CaLPhEXOaMvKzhbHhhK3Y=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:407379\nI:667648\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1712068960\nc:6d80a5b6c4ea1b2c30ed1d4c50c0f0ea8b3f0a6b\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n\
C:Q1Qe/6JKoL3Q7Ts3ZKNdXDWd/6t/k=\nP:busybox\nV:1.36.1-r29\nA:x86_64\nS:509040\nI:950272\nT:Size optimized toolbox of many common UNIX utilities\nU:https://busybox.net/\nL:GPL-2.0-only\no:busybox\nm:Sören Tempel <soeren+alpine@soeren-tempel.net>\nt:1717091780\nc:55fd2b2a8e3c1e6e2b0a0bbd1e1d8d3c5a0c4b2e\nD:so:libc.musl-x86_64.so.1\nF:bin\nR:busybox\n\n\
C:Q1bp3w6a5ia5QmjYX0KbJ6pS9e5mE=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\nS:1797934\nI:4956160\nT:Crypto library from openssl\nU:https://www.openssl.org/\nL:Apache-2.0\no:openssl\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1725371540\nc:8b5d2c6f0bd0e8e0d7e6ff9e0c6a5b4b3a2c1d0e\nF:usr/lib\nR:libcrypto.so.3\n\n\
C:Q1Xyz5Qp0AFUjS2k+u6vXw1cdnL0=\nP:ca-certificates-bundle\nV:20240705-r0\nA:x86_64\nS:130710\nI:221184\nT:Pre generated bundle of Mozilla certificates\nU:https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/\nL:MPL-2.0 AND MIT\no:ca-certificates\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1720446120\nc:1f4a3f6c0d2b5e8e7a6c5b4a3f2e1d0c9b8a7f6e\nF:etc/ssl/certs\nR:ca-certificates.crt\n\n";

#[test]
fn apk_database_matches_the_peers() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let os_release =
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n";
    // Layer 1 replaces the database: libcrypto3 upgraded, ca-certificates-bundle removed.
    let upgraded = APK_DB
        .replace("V:3.3.2-r0", "V:3.3.2-r1")
        .split("\n\n")
        .filter(|b| !b.contains("P:ca-certificates-bundle"))
        .collect::<Vec<_>>()
        .join("\n\n");
    let image = Image::new()
        .layer(
            Layer::new()
                .compression(Compression::None)
                .file("etc/os-release", os_release)
                .file("etc/alpine-release", "3.20.3\n")
                .file("lib/apk/db/installed", APK_DB),
        )
        .layer(
            Layer::new()
                .compression(Compression::None)
                .file("lib/apk/db/installed", format!("{upgraded}\n")),
        );
    let archive = s.join("alpine.docker.tar");
    image.write_docker_archive(&archive, "keelhaul/alpine:1");
    let report = scan(s, &format!("docker-archive:{}", archive.display()));
    assert_eq!(report["os"]["family"], "alpine");
    assert_eq!(report["os"]["version"], "3.20.3");
    let ours = nva(&report, "apk");
    let expected: BTreeSet<(String, String, String)> = [
        ("busybox", "1.36.1-r29"),
        ("libcrypto3", "3.3.2-r1"),
        ("musl", "1.2.5-r0"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned(), "x86_64".to_owned()))
    .collect();
    assert_eq!(ours, expected);
    let layers = report["image"]["layers"].as_array().unwrap();
    let layer_of = |name: &str| {
        let p = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap();
        layers
            .iter()
            .position(|l| l["diff_id"] == p["locations"][0]["layer"])
            .unwrap()
    };
    assert_eq!(layer_of("musl"), 0);
    assert_eq!(
        layer_of("libcrypto3"),
        1,
        "the upgrade is attributed to the upgrading layer"
    );
    let crypto = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "libcrypto3")
        .unwrap();
    assert_eq!(
        crypto["purl"],
        "pkg:apk/alpine/libcrypto3@3.3.2-r1?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
    );
    if prerequisite(peers::syft().is_some(), "syft") {
        let syft = peer_nva(&peers::syft_packages(&format!(
            "docker-archive:{}",
            archive.display()
        )));
        assert_eq!(ours, syft, "Syft differs");
    }
    if prerequisite(peers::trivy().is_some(), "trivy") {
        let trivy = peers::trivy_packages(&archive, false);
        assert_eq!(ours, peer_nva(&trivy), "Trivy differs");
        assert!(
            trivy
                .iter()
                .any(|p| p.name == "libcrypto3" && p.source == "openssl")
        );
    }
}
