//! CycloneDX 1.6 output with vulnerabilities, validated by the repository's
//! `crates/keelhaul/tests/it/support/validate_sbom.py` (cyclonedx-python-lib's strict
//! 1.6 JSON schema; `pip install "cyclonedx-python-lib[json-validation]"`). Skips when
//! that is missing unless `KEELHAUL_REQUIRE_INTEGRATION=1`.
#![allow(clippy::print_stderr)]

#[path = "support/vulns_fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::path::PathBuf;

use keelhaul_report::Format;

fn validator() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keelhaul/tests/it/support/validate_sbom.py")
}

fn assert_valid(name: &str, bytes: &[u8]) {
    let path = fixture::temp_file(name);
    if let Err(e) = std::fs::write(&path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
    let out = fixture::python(&validator(), &[std::path::Path::new("cyclonedx"), &path]);
    assert!(
        out.status.success(),
        "{name} is not valid CycloneDX 1.6:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cyclonedx_with_vulnerabilities_is_valid() {
    if !fixture::python_has(
        "jsonschema, cyclonedx.validation.json",
        "pip install \"cyclonedx-python-lib[json-validation]\"",
    ) {
        return;
    }
    assert_valid(
        "one.cdx.json",
        &fixture::render(&[fixture::report("amd64")], Format::CycloneDx),
    );
    assert_valid(
        "two.cdx.json",
        &fixture::render(
            &[fixture::report("amd64"), fixture::report("arm64")],
            Format::CycloneDx,
        ),
    );
}

#[test]
fn every_affects_ref_is_a_component() {
    let reports = [fixture::report("amd64"), fixture::report("arm64")];
    let bytes = fixture::render(&reports, Format::CycloneDx);
    assert_eq!(bytes, fixture::render(&reports, Format::CycloneDx));
    let bom: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    // Every bom-ref anywhere in the document.
    fn refs(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("bom-ref").and_then(|r| r.as_str()) {
                    out.insert(r.to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut known = BTreeSet::new();
    refs(&bom["metadata"], &mut known);
    refs(&bom["components"], &mut known);
    let vulns = bom["vulnerabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(vulns.len(), 14);
    for v in &vulns {
        for a in v["affects"].as_array().into_iter().flatten() {
            let r = a["ref"].as_str().unwrap_or_default();
            assert!(known.contains(r), "dangling ref {r}");
        }
    }
    let log4j = vulns
        .iter()
        .find(|v| v["id"] == "CVE-2021-44228")
        .cloned()
        .unwrap_or_default();
    assert_eq!(log4j["cwes"], serde_json::json!([20, 400, 502]));
    assert_eq!(log4j["recommendation"], "Upgrade to 2.15.0 or 2.12.2");
    let v4 = vulns
        .iter()
        .find(|v| v["id"] == "CVE-2021-45046")
        .cloned()
        .unwrap_or_default();
    assert_eq!(v4["ratings"][0]["method"], "CVSSv4");
    let v2 = vulns
        .iter()
        .find(|v| v["id"] == "PYSEC-2023-74")
        .cloned()
        .unwrap_or_default();
    assert_eq!(v2["ratings"][0]["method"], "CVSSv2");
    assert_eq!(v2["ratings"][0]["severity"], "high");
}
