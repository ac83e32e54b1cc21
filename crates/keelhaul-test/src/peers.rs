//! The peer scanners, Syft and Trivy, for side-by-side inventories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::tools::run;
use crate::which;

/// One OS package as a peer reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerPackage {
    /// `deb`, `rpm` or `apk`.
    pub kind: String,
    pub name: String,
    /// Full version: `[epoch:]version[-release]`.
    pub version: String,
    pub arch: String,
    pub source: String,
}

fn peer(name: &str) -> Option<PathBuf> {
    let dirs = [
        std::env::var_os("KEELHAUL_PEERS").map(PathBuf::from),
        Some(PathBuf::from("/opt/peers/bin")),
    ];
    dirs.into_iter()
        .flatten()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .or_else(|| which(name))
}

pub fn syft() -> Option<PathBuf> {
    peer("syft")
}

pub fn trivy() -> Option<PathBuf> {
    peer("trivy")
}

/// Syft's OS packages for a Syft source string (`docker-archive:F`, `oci-dir:D`, `dir:D`).
pub fn syft_packages(source: &str) -> BTreeSet<PeerPackage> {
    let syft = syft().expect("syft");
    let out = run(Command::new(syft)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .args(["scan", source, "-q", "-o", "syft-json"]));
    let doc: Value = serde_json::from_str(&out).unwrap();
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| matches!(a["type"].as_str(), Some("deb" | "rpm" | "apk")))
        .map(|a| {
            let m = &a["metadata"];
            let kind = a["type"].as_str().unwrap().to_owned();
            let arch = m["architecture"].as_str().unwrap_or_default().to_owned();
            let source = match kind.as_str() {
                "deb" => m["source"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .unwrap_or(a["name"].as_str().unwrap())
                    .to_owned(),
                "apk" => m["originPackage"].as_str().unwrap_or_default().to_owned(),
                _ => m["sourceRpm"].as_str().unwrap_or_default().to_owned(),
            };
            PeerPackage {
                kind,
                name: a["name"].as_str().unwrap().to_owned(),
                version: a["version"].as_str().unwrap().to_owned(),
                arch,
                source,
            }
        })
        .collect()
}

/// Trivy's OS packages for an image archive or layout (`trivy image --input`), or a
/// directory (`trivy rootfs`). Trivy is asked for a CycloneDX SBOM: that lists packages
/// without a vulnerability database (none can be downloaded here, and an empty one makes
/// its RHEL-family detection fail).
pub fn trivy_packages(input: &Path, rootfs: bool) -> BTreeSet<PeerPackage> {
    let trivy = trivy().expect("trivy");
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let out_file = c.join("out.cdx.json");
    let mut cmd = Command::new(trivy);
    if rootfs {
        cmd.arg("rootfs");
    } else {
        cmd.args(["image", "--input"]);
    }
    run(cmd
        .arg(input)
        .arg("--cache-dir")
        .arg(c)
        .args([
            "--cache-backend",
            "memory",
            "--skip-db-update",
            "--skip-java-db-update",
            "--offline-scan",
            "--skip-check-update",
            "-q",
        ])
        .args(["--format", "cyclonedx", "-o"])
        .arg(&out_file));
    let doc: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    let mut set = BTreeSet::new();
    for comp in doc["components"].as_array().into_iter().flatten() {
        let purl = comp["purl"].as_str().unwrap_or_default();
        let kind = match purl.split('/').next() {
            Some("pkg:deb") => "deb",
            Some("pkg:rpm") => "rpm",
            Some("pkg:apk") => "apk",
            _ => continue,
        };
        let qualifier = |key: &str| {
            purl.split_once('?')
                .and_then(|(_, q)| {
                    q.split('&')
                        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                })
                .unwrap_or_default()
                .to_owned()
        };
        let property = |name: &str| {
            comp["properties"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .and_then(|p| p["value"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut version = comp["version"].as_str().unwrap_or_default().to_owned();
        // The component version carries the epoch in Trivy 0.59; older releases put it in
        // the purl only.
        let epoch = qualifier("epoch");
        if !epoch.is_empty() && epoch != "0" && !version.contains(':') {
            version = format!("{epoch}:{version}");
        }
        set.insert(PeerPackage {
            kind: kind.into(),
            name: comp["name"].as_str().unwrap_or_default().into(),
            version,
            arch: qualifier("arch"),
            source: property("aquasecurity:trivy:SrcName"),
        });
    }
    set
}

/// Any package a peer reports, application packages included.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerArtifact {
    /// The purl type (`pypi`, `npm`, `golang`, `maven`, …; `deb`, `rpm`, `apk`).
    pub purl_type: String,
    pub name: String,
    pub version: String,
    pub purl: String,
    /// Paths the peer says it found the package at (without a leading `/`).
    pub paths: Vec<String>,
}

fn purl_type(purl: &str) -> String {
    purl.strip_prefix("pkg:")
        .and_then(|p| p.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

/// Everything Syft reports for a source (`docker-archive:F`, `oci-dir:D`, `dir:D`).
pub fn syft_artifacts(source: &str) -> Vec<PeerArtifact> {
    let syft = syft().expect("syft");
    let out = run(Command::new(syft)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .args(["scan", source, "-q", "-o", "syft-json"]));
    let doc: Value = serde_json::from_str(&out).unwrap();
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let purl = a["purl"].as_str().unwrap_or_default().to_owned();
            PeerArtifact {
                purl_type: purl_type(&purl),
                name: a["name"].as_str().unwrap_or_default().to_owned(),
                version: a["version"].as_str().unwrap_or_default().to_owned(),
                paths: a["locations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        l["path"]
                            .as_str()
                            .map(|p| p.trim_start_matches('/').to_owned())
                    })
                    .collect(),
                purl,
            }
        })
        .collect()
}

/// Everything Trivy reports for an image archive or layout (`rootfs = false`) or a
/// directory (`rootfs = true`), from its CycloneDX output (no vulnerability DB needed).
pub fn trivy_artifacts(input: &Path, rootfs: bool) -> Vec<PeerArtifact> {
    let cache = tempfile::tempdir().unwrap();
    trivy_artifacts_in(cache.path(), input, rootfs)
}

/// [`trivy_artifacts`] with `c` as Trivy's cache directory, for callers that put
/// databases there first.
pub(crate) fn trivy_artifacts_in(c: &Path, input: &Path, rootfs: bool) -> Vec<PeerArtifact> {
    let trivy = trivy().expect("trivy");
    let out_file = c.join("out.cdx.json");
    let mut cmd = Command::new(trivy);
    if rootfs {
        cmd.arg("rootfs");
    } else {
        cmd.args(["image", "--input"]);
    }
    run(cmd
        .arg(input)
        .arg("--cache-dir")
        .arg(c)
        .args([
            "--cache-backend",
            "memory",
            "--skip-db-update",
            "--skip-java-db-update",
            "--offline-scan",
            "--skip-check-update",
            "-q",
        ])
        .args(["--format", "cyclonedx", "-o"])
        .arg(&out_file));
    let doc: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    doc["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["purl"].is_string())
        .map(|c| {
            let purl = c["purl"].as_str().unwrap_or_default().to_owned();
            let property = |name: &str| {
                c["properties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["name"] == name)
                    .filter_map(|p| {
                        p["value"]
                            .as_str()
                            .map(|v| v.trim_start_matches('/').to_owned())
                    })
                    .collect::<Vec<_>>()
            };
            PeerArtifact {
                purl_type: purl_type(&purl),
                name: c["name"].as_str().unwrap_or_default().to_owned(),
                version: c["version"].as_str().unwrap_or_default().to_owned(),
                paths: property("aquasecurity:trivy:FilePath"),
                purl,
            }
        })
        .collect()
}
