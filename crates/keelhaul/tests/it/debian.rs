//! A real Debian image, built from Debian's packages with mmdebstrap and packed with umoci:
//! a minbase layer, a layer that installs a package, a layer that purges one. Every source
//! kind must yield exactly the package set dpkg itself reports, attributed to the right layer,
//! and the same set Syft and Trivy report.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use keelhaul_test::peers::{self, PeerPackage};
use keelhaul_test::tools::{self, run};
use keelhaul_test::{keelhaul, require};
use serde_json::Value;

const TAG: &str = "test";
/// Installed by layer 1.
const ADDED: &str = "hello";
/// Purged by layer 2.
const PURGED: &str = "gpgv";

/// The three-layer image as an OCI layout, built once per machine and cached.
fn debian_layout() -> PathBuf {
    tools::cached_artifact("debian-3layer-v1", |out| {
        let base = tools::debian_minbase_tar();
        let layout = out.join("layout");
        std::fs::create_dir_all(out).unwrap();
        tools::umoci_image_from_tar(&layout, TAG, &base);
        let work = tempfile::tempdir().unwrap();
        let debs = work.path().join("debs");
        std::fs::create_dir_all(&debs).unwrap();
        tools::apt_download(&debs, &[ADDED]);
        let deb = std::fs::read_dir(&debs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();

        let bundle = work.path().join("b1");
        tools::umoci_unpack(&layout, TAG, &bundle);
        run(Command::new("dpkg")
            .arg(format!("--root={}", bundle.join("rootfs").display()))
            .args(["--force-all", "-i"])
            .arg(&deb));
        tools::umoci_repack(&layout, TAG, &bundle, &format!("dpkg -i {ADDED}"));

        let bundle = work.path().join("b2");
        tools::umoci_unpack(&layout, TAG, &bundle);
        run(Command::new("dpkg")
            .arg(format!("--root={}", bundle.join("rootfs").display()))
            .args(["--force-all", "--purge", PURGED]));
        tools::umoci_repack(&layout, TAG, &bundle, &format!("dpkg --purge {PURGED}"));
        run(Command::new("umoci").args(["gc", "--layout"]).arg(&layout));
    })
    .join("layout")
}

/// keelhaul's packages as peer-comparable tuples.
fn package_set(report: &Value) -> BTreeSet<PeerPackage> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PeerPackage {
            kind: p["ecosystem"].as_str().unwrap().into(),
            name: p["name"].as_str().unwrap().into(),
            version: p["version"].as_str().unwrap().into(),
            arch: p["arch"].as_str().unwrap_or_default().into(),
            source: p["source_name"].as_str().unwrap_or_default().into(),
        })
        .collect()
}

fn dpkg_truth(rootfs: &Path) -> BTreeSet<PeerPackage> {
    tools::dpkg_query(rootfs)
        .into_iter()
        .map(|(name, version, arch, source, _)| PeerPackage {
            kind: "deb".into(),
            name,
            version,
            arch,
            source,
        })
        .collect()
}

fn scan_json(sandbox: &Path, target: &str) -> Value {
    keelhaul(sandbox, &["scan", target, "--format", "json", "--no-cache"])
        .success()
        .json()
}

#[test]
fn every_source_kind_gives_dpkgs_own_package_set() {
    require!(
        tools::can_build_debian(),
        "mmdebstrap, umoci, skopeo and root (to build a Debian image)"
    );
    let layout = debian_layout();
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();

    let bundle = s.join("final");
    tools::umoci_unpack(&layout, TAG, &bundle);
    let rootfs = bundle.join("rootfs");
    let truth = dpkg_truth(&rootfs);
    assert!(
        truth.len() > 80,
        "minbase has ~90 packages, dpkg says {}",
        truth.len()
    );
    assert!(truth.iter().any(|p| p.name == ADDED));
    assert!(!truth.iter().any(|p| p.name == PURGED));

    let docker_archive = s.join("image.docker.tar");
    let oci_archive = s.join("image.oci.tar");
    let src = format!("oci:{}:{TAG}", layout.display());
    tools::skopeo_copy(
        &src,
        &format!(
            "docker-archive:{}:keelhaul/test:1",
            docker_archive.display()
        ),
        &[],
    );
    tools::skopeo_copy(
        &src,
        &format!("oci-archive:{}:{TAG}", oci_archive.display()),
        &[],
    );

    let oci = scan_json(s, &format!("oci:{}:{TAG}", layout.display()));
    for target in [
        format!("oci-archive:{}", oci_archive.display()),
        format!("docker-archive:{}", docker_archive.display()),
        format!(
            "docker-archive:{}:keelhaul/test:1",
            docker_archive.display()
        ),
        format!("dir:{}", rootfs.display()),
        docker_archive.display().to_string(),
    ] {
        let report = scan_json(s, &target);
        assert_eq!(package_set(&report), truth, "{target}");
        assert_eq!(report["os"]["family"], "debian", "{target}");
    }
    assert_eq!(package_set(&oci), truth);

    // The OS version is the point release debian_version states.
    let debian_version = std::fs::read_to_string(rootfs.join("etc/debian_version")).unwrap();
    assert_eq!(oci["os"]["version"], debian_version.trim());

    // Layer attribution: the added package comes from layer 1, the rest from layer 0.
    let layers = oci["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let layer_of = |name: &str| {
        let p = oci["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap();
        let id = &p["locations"][0]["layer"];
        layers.iter().position(|l| &l["diff_id"] == id).unwrap()
    };
    assert_eq!(layer_of(ADDED), 1);
    assert_eq!(layer_of("dpkg"), 0);
    assert_eq!(layer_of("base-files"), 0);

    // Purls carry arch, distro and upstream source.
    let libgcc = oci["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "libgcc-s1")
        .unwrap();
    let purl = libgcc["purl"].as_str().unwrap();
    assert!(
        purl.starts_with("pkg:deb/debian/libgcc-s1@")
            && purl.contains("arch=amd64")
            && purl.contains("distro=debian-12")
            && purl.contains("upstream=gcc-12"),
        "{purl}"
    );

    if keelhaul_test::prerequisite(
        peers::syft().is_some(),
        "syft (../shared/bench/install-peers.sh)",
    ) {
        let syft = peers::syft_packages(&format!("docker-archive:{}", docker_archive.display()));
        assert_eq!(syft, truth, "Syft's set differs from dpkg's");
    }
    if keelhaul_test::prerequisite(
        peers::trivy().is_some(),
        "trivy (../shared/bench/install-peers.sh)",
    ) {
        let trivy = peers::trivy_packages(&docker_archive, false);
        assert_eq!(trivy, truth, "Trivy's set differs from dpkg's");
    }
}
