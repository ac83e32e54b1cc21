//! The scan report and its renderings.
//!
//! A [`Report`] is what one scanned image yields: target, image metadata, OS, packages,
//! findings, warnings and errors. [`render`] writes one or several reports (several with
//! `--platform all`) in a [`Format`]:
//!
//! * `table`: grouped by ecosystem, coloured on a terminal;
//! * `json`: the native contract of `DESIGN.md` (one report object; with several
//!   platforms, `{"target", "platforms": [report…]}`);
//! * `sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers (one run
//!   with every platform's vulnerability findings; see the `sarif` module);
//! * `cyclonedx`: CycloneDX 1.6 JSON, with a `vulnerabilities` array when there are
//!   findings;
//! * `spdx-json`: SPDX 2.3 JSON.
//!
//! Findings are rendered in the order the producer sorted them, except where a format
//! groups them (tables by package); such grouping sorts stably by (purl, id).
//!
//! Output is deterministic: the same image gives the same bytes (serial numbers and
//! namespaces derive from image digests, times from the image config).
//!
//! The SBOM documents are written with plain serde structs: the `cyclonedx-bom` crate
//! stops at spec 1.5 and is slow to build, `spdx-rs` is unmaintained.
#![deny(missing_docs)]

mod cyclonedx;
mod model;
mod sarif;
pub mod sbom_in;
mod spdx;
mod table;

use std::io::Write;
use std::str::FromStr;

pub use model::{ImageMeta, LayerMeta, Report, Summary};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table.
    Table,
    /// keelhaul's JSON.
    Json,
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SARIF 2.1.0 JSON.
    Sarif,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "cyclonedx" | "cyclonedx-json" => Ok(Format::CycloneDx),
            "spdx-json" | "spdx" => Ok(Format::SpdxJson),
            "sarif" => Ok(Format::Sarif),
            other => Err(format!(
                "unknown format `{other}` (use table, json, sarif, cyclonedx or spdx-json)"
            )),
        }
    }
}

/// Options for rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use colour (tables only).
    pub color: bool,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Writing failed.
    #[error("Cannot write the report")]
    Io(#[from] std::io::Error),
    /// Serialising failed.
    #[error("Cannot serialise the report")]
    Json(#[from] serde_json::Error),
}

/// Write `reports` (one per platform) to `out`.
pub fn render(
    reports: &[Report],
    format: Format,
    options: RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    match format {
        Format::Table => table::write(reports, options, out)?,
        Format::Json => {
            match reports {
                [one] => serde_json::to_writer_pretty(&mut *out, one)?,
                many => serde_json::to_writer_pretty(
                    &mut *out,
                    &serde_json::json!({
                        "target": many.first().map(|r| r.target.as_str()).unwrap_or_default(),
                        "platforms": many,
                    }),
                )?,
            }
            writeln!(out)?;
        }
        Format::CycloneDx => {
            serde_json::to_writer_pretty(&mut *out, &cyclonedx::bom(reports))?;
            writeln!(out)?;
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif::log(reports))?;
            writeln!(out)?;
        }
        Format::SpdxJson => {
            serde_json::to_writer_pretty(&mut *out, &spdx::document(reports))?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Hand-built reports with findings, for the renderers' unit tests.
#[cfg(test)]
pub(crate) mod testdata {
    use keelhaul_core::{
        Cvss, Digest, Ecosystem, FindingClass, FixStatus, Location, OsRelease, Package, PackageRef,
        Platform, Severity, Vulnerability,
    };

    use crate::{ImageMeta, LayerMeta, Report, Summary};

    /// The digest of the test image's only layer.
    pub(crate) fn layer() -> Digest {
        Digest::sha256_of(b"layer 0")
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

    /// A finding with the required fields; tests set the rest.
    pub(crate) fn vuln(id: &str, p: &Package, class: FindingClass) -> Vulnerability {
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

    pub(crate) fn cvss(score: f64, version: &str) -> Option<Cvss> {
        Some(Cvss {
            score,
            vector: format!("CVSS:{version}/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            version: version.to_owned(),
            source: "nvd".to_owned(),
        })
    }

    /// Debian 12 with openssl, liblzma5 and a Python package; five findings: OS and SCA,
    /// with and without CVSS, fixed and not, one known exploited, one without a path
    /// whose purl is no package.
    pub(crate) fn report() -> Report {
        let openssl = package(
            Ecosystem::Deb,
            "openssl",
            "3.0.11-1~deb12u1",
            "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12",
            "var/lib/dpkg/status",
        );
        let lzma = package(
            Ecosystem::Deb,
            "liblzma5",
            "5.6.0-0.2",
            "pkg:deb/debian/liblzma5@5.6.0-0.2?arch=amd64&distro=debian-12&upstream=xz-utils",
            "var/lib/dpkg/status",
        );
        let requests = package(
            Ecosystem::Pypi,
            "requests",
            "2.28.1",
            "pkg:pypi/requests@2.28.1",
            "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
        );

        let mut v1 = vuln("CVE-2024-0727", &openssl, FindingClass::Os);
        v1.fixed_versions = vec!["3.0.13-1~deb12u1".to_owned()];
        v1.status = FixStatus::Fixed;
        v1.severity = Severity::Medium;
        v1.severity_source = Some("debian".to_owned());
        v1.distro_severity = Some("medium".to_owned());
        v1.cvss = cvss(5.5, "3.1");
        v1.cwes = vec!["CWE-476".to_owned()];
        v1.title = Some("PKCS12 Decoding crashes".to_owned());
        v1.url = Some("https://security-tracker.debian.org/tracker/CVE-2024-0727".to_owned());
        v1.sources = vec!["debian".to_owned(), "nvd".to_owned()];
        v1.published = Some("2024-01-26T09:15:07.680Z".to_owned());

        let mut v2 = vuln("CVE-2023-5678", &openssl, FindingClass::Os);
        v2.status = FixStatus::WillNotFix;
        v2.severity = Severity::Negligible;
        v2.severity_source = Some("debian".to_owned());
        v2.distro_severity = Some("unimportant".to_owned());
        v2.cvss = cvss(5.3, "3.1");
        v2.sources = vec!["debian".to_owned()];

        let mut v3 = vuln("CVE-2024-3094", &lzma, FindingClass::Os);
        v3.status = FixStatus::Deferred;
        v3.severity = Severity::Critical;
        v3.severity_source = Some("nvd".to_owned());
        v3.cvss = cvss(10.0, "3.1");
        v3.cwes = vec!["CWE-506".to_owned(), "NVD-CWE-Other".to_owned()];
        v3.known_exploited = true;
        v3.title = Some("Malicious code in xz-utils".to_owned());
        v3.sources = vec!["nvd".to_owned()];
        v3.published = Some("2024-03-29".to_owned());

        let mut v4 = vuln("CVE-2023-32681", &requests, FindingClass::Sca);
        v4.aliases = vec!["GHSA-j8r2-6x86-q33q".to_owned(), "PYSEC-2023-74".to_owned()];
        v4.fixed_versions = vec!["2.31.0".to_owned()];
        v4.status = FixStatus::Fixed;
        v4.severity = Severity::Medium;
        v4.severity_source = Some("ghsa".to_owned());
        v4.cvss = cvss(6.1, "3.1");
        v4.cwes = vec!["CWE-200".to_owned()];
        v4.title = Some("Unintended leak of Proxy-Authorization header".to_owned());
        v4.url = Some("https://github.com/advisories/GHSA-j8r2-6x86-q33q".to_owned());
        v4.sources = vec!["ghsa".to_owned(), "osv".to_owned()];

        let orphan = Package::new(Ecosystem::Npm, "left-pad", "1.0.0");
        let mut v5 = vuln("GHSA-0000-0000-0000", &orphan, FindingClass::Sca);
        v5.package.purl = "pkg:npm/left-pad@1.0.0".to_owned();

        let vulnerabilities = vec![v1, v2, v3, v4, v5];
        let mut summary = Summary::default();
        summary.count(&vulnerabilities);
        Report {
            target: "oci:/tmp/debian:12".to_owned(),
            platform: Some(Platform {
                os: "linux".to_owned(),
                architecture: "amd64".to_owned(),
                variant: None,
            }),
            image: ImageMeta {
                repo_tags: vec!["debian:12".to_owned()],
                manifest_digest: Some(Digest::sha256_of(b"manifest")),
                index_digest: None,
                config_digest: Some(Digest::sha256_of(b"config")),
                created: Some("2024-05-01T12:00:00Z".to_owned()),
                layers: vec![LayerMeta {
                    index: 0,
                    digest: Some(layer()),
                    diff_id: Some(layer()),
                    size: Some(1000),
                    created_by: None,
                }],
            },
            os: Some(OsRelease::new("debian", Some("12"))),
            packages: vec![openssl, lzma, requests],
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

    /// `report()` as an arm64 image too, for multi-platform rendering.
    pub(crate) fn two_platforms() -> Vec<Report> {
        let amd = report();
        let mut arm = report();
        arm.platform = Some(Platform {
            os: "linux".to_owned(),
            architecture: "arm64".to_owned(),
            variant: None,
        });
        arm.image.manifest_digest = Some(Digest::sha256_of(b"manifest arm64"));
        vec![amd, arm]
    }

    /// Render to a string.
    pub(crate) fn render(reports: &[Report], format: crate::Format, color: bool) -> String {
        let mut out = Vec::new();
        let rendered = crate::render(reports, format, crate::RenderOptions { color }, &mut out);
        assert!(rendered.is_ok(), "render failed: {rendered:?}");
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_format_parses() {
        assert_eq!("sarif".parse::<Format>(), Ok(Format::Sarif));
        assert!(
            "sarif2"
                .parse::<Format>()
                .is_err_and(|e| e.contains("sarif"))
        );
    }

    #[test]
    fn summary_counts_os_and_sca_findings() {
        let r = testdata::report();
        assert_eq!((r.summary.cve, r.summary.sca), (3, 2));
        let mut s = Summary {
            cve: 9,
            sca: 9,
            secret: 4,
            ..Summary::default()
        };
        s.count(&r.vulnerabilities[..1]);
        assert_eq!((s.cve, s.sca, s.secret), (1, 0, 4));
    }

    #[test]
    fn json_carries_the_contract_fields() {
        let text = testdata::render(&[testdata::report()], Format::Json, false);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let first = &v["vulnerabilities"][0];
        for key in [
            "id",
            "aliases",
            "package",
            "installed_version",
            "fixed_versions",
            "severity",
            "cvss",
            "class",
            "layer",
        ] {
            assert!(!first[key].is_null(), "missing {key}: {first}");
        }
        assert_eq!(first["class"], "os");
        assert_eq!(first["cvss"]["score"], 5.5);
        assert_eq!(
            first["package"]["purl"],
            "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"
        );
        assert_eq!(v["vulnerabilities"][3]["class"], "sca");
        assert_eq!(v["summary"]["cve"], 3);
        assert_eq!(v["summary"]["sca"], 2);
    }

    #[test]
    fn every_format_is_deterministic() {
        for format in [
            Format::Table,
            Format::Json,
            Format::Sarif,
            Format::CycloneDx,
            Format::SpdxJson,
        ] {
            for reports in [vec![testdata::report()], testdata::two_platforms()] {
                let a = testdata::render(&reports, format, true);
                let b = testdata::render(&reports, format, true);
                assert!(!a.is_empty());
                assert_eq!(a, b, "{format:?} differs between two renderings");
            }
        }
    }
}
