//! SBOM outputs are valid against the official CycloneDX 1.6 and SPDX 2.3 schemas (checked
//! with the projects' own validators), carry the right purls and the OS, and are
//! byte-for-byte deterministic.

use std::path::Path;
use std::process::Command;

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::{keelhaul, require};
use serde_json::Value;

const STATUS: &str = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\n\
Package: login\nStatus: install ok installed\nArchitecture: amd64\nSource: shadow\nVersion: 1:4.13+dfsg1-1+b1\nMaintainer: Shadow package maintainers <pkg-shadow-devel@lists.alioth.debian.org>\n\n\
Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u9\n";

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn validators_available() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import cyclonedx.validation.json, spdx_tools, lib4sbom, jsonschema",
        ])
        .status()
        .is_ok_and(|s| s.success())
}

fn validate(kind: &str, file: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/validate_sbom.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(kind)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} document is invalid:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn image() -> Image {
    Image::new()
        .layer(
            Layer::new()
                .file("usr/lib/os-release", OS_RELEASE)
                .symlink("etc/os-release", "../usr/lib/os-release")
                .file("etc/debian_version", "12.8\n"),
        )
        .layer(
            Layer::new()
                .compression(Compression::Zstd)
                .file("var/lib/dpkg/status", STATUS),
        )
}

#[test]
fn sboms_validate_against_the_official_schemas_and_are_deterministic() {
    require!(
        validators_available(),
        "python3 with cyclonedx-python-lib, spdx-tools, lib4sbom, jsonschema (see .ci/run)"
    );
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let layout = s.join("layout");
    image().write_oci_layout(&layout, "v1");
    let target = format!("oci:{}:v1", layout.display());
    for (format, kind) in [("cyclonedx", "cyclonedx"), ("spdx-json", "spdx")] {
        let a = s.join(format!("a.{kind}.json"));
        let b = s.join(format!("b.{kind}.json"));
        keelhaul(
            s,
            &[
                "scan",
                &target,
                "--format",
                format,
                "-o",
                a.to_str().unwrap(),
            ],
        )
        .success();
        keelhaul(
            s,
            &[
                "scan",
                &target,
                "--format",
                format,
                "-o",
                b.to_str().unwrap(),
                "--no-cache",
            ],
        )
        .success();
        validate(kind, &a);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{format} output is not deterministic"
        );
    }

    let cdx: Value =
        serde_json::from_slice(&std::fs::read(s.join("a.cyclonedx.json")).unwrap()).unwrap();
    assert_eq!(cdx["specVersion"], "1.6");
    let components = cdx["components"].as_array().unwrap();
    let os = components
        .iter()
        .find(|c| c["type"] == "operating-system")
        .expect("an operating-system component");
    assert_eq!(
        (os["name"].as_str(), os["version"].as_str()),
        (Some("debian"), Some("12.8"))
    );
    let purls: Vec<&str> = components
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(
        purls.contains(
            &"pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl"
        ),
        "{purls:?}"
    );
    assert!(purls.contains(&"pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow"), "{purls:?}");

    let spdx: Value =
        serde_json::from_slice(&std::fs::read(s.join("a.spdx.json")).unwrap()).unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    let packages = spdx["packages"].as_array().unwrap();
    assert!(
        packages
            .iter()
            .any(|p| p["primaryPackagePurpose"] == "OPERATING_SYSTEM" && p["name"] == "debian")
    );
    let libc = packages.iter().find(|p| p["name"] == "libc6").unwrap();
    assert_eq!(
        libc["externalRefs"][0]["referenceLocator"],
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12&upstream=glibc"
    );
    assert_eq!(
        spdx["creationInfo"]["created"], "2025-01-01T00:00:00Z",
        "creation time comes from the image config"
    );
}

#[test]
fn multi_platform_sboms_are_valid() {
    require!(
        validators_available(),
        "python3 with cyclonedx-python-lib, spdx-tools, lib4sbom, jsonschema (see .ci/run)"
    );
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let layout = s.join("layout");
    let arm = image().platform("linux", "arm64", Some("v8"));
    keelhaul_test::builder::write_multi_platform_layout(&layout, &[image(), arm], "multi");
    let target = format!("oci:{}:multi", layout.display());
    for (format, kind) in [("cyclonedx", "cyclonedx"), ("spdx-json", "spdx")] {
        let out = s.join(format!("all.{kind}.json"));
        keelhaul(
            s,
            &[
                "scan",
                &target,
                "--platform",
                "all",
                "--format",
                format,
                "-o",
                out.to_str().unwrap(),
            ],
        )
        .success();
        validate(kind, &out);
    }
    let cdx: Value =
        serde_json::from_slice(&std::fs::read(s.join("all.cyclonedx.json")).unwrap()).unwrap();
    let images = cdx["components"].as_array().unwrap();
    assert_eq!(images.len(), 2, "one container component per platform");
    assert!(
        images.iter().all(|c| c["type"] == "container"
            && c["components"].as_array().is_some_and(|n| n.len() == 4))
    );
}
