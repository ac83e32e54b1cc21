//! Secrets, malicious files and baseline risks end to end: one image holding each kind of
//! problem, scanned by the real binary, every finding checked by id and path.

use base64::Engine as _;
use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::java::zip;
use keelhaul_test::keelhaul;
use serde_json::Value;

/// The EICAR test string, built from its base64 form (SOURCES: detection/eicar.md) so the
/// repository never holds the literal.
fn eicar() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=")
        .unwrap()
}

/// A fake AWS key pair of the right shape (not a real credential, not the documented
/// example either).
fn fake_aws() -> (String, String) {
    let id = format!("AKIA{}", "Q7RZ2MXW4KTB5NPV");
    let secret: String = "kR3vX9pL2mQ8sT4wY7zB1nC6dF0gH5jK8lM2pQ4r".to_owned();
    (id, secret)
}

fn image() -> Image {
    let eicar = eicar();
    // EICAR in a jar nested in a war, as application servers unpack them.
    let inner_jar = zip(&[("eicar.com", &eicar, false)]);
    let war = zip(&[("WEB-INF/lib/tools.jar", &inner_jar, true)]);
    let (key_id, secret) = fake_aws();
    let base = Layer::new()
        .compression(Compression::Gzip)
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbackup:x:0:0:backup:/var/backups:/bin/sh\napp:x:1000:1000::/home/app:/bin/bash\n",
        )
        .file_mode(
            "etc/shadow",
            "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbackup:!:19000:0:99999:7:::\napp::19000:0:99999:7:::\n",
            0o640,
        )
        .file(
            "etc/group",
            "root:x:0:\ndaemon:x:1:\napp:x:1000:\n",
        )
        .file("etc/ssh/sshd_config", "PermitRootLogin yes\nPasswordAuthentication no\n")
        .file("usr/sbin/sshd", "not really sshd")
        .file_mode("usr/local/bin/helper", "\x7fELF not really", 0o4755)
        .dir("srv/upload");
    let app = Layer::new()
        .file("var/www/html/shell.php", "<?php @eval($_POST['cmd']); ?>\n")
        .file("var/www/html/index.php", "<?php echo 'hello'; ?>\n")
        .file("opt/app/webapps/app.war", war)
        .file("opt/app/eicar.txt", &eicar)
        .file(
            "opt/app/.env",
            format!("AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
        )
        .file_mode("srv/drop", "anyone can write this", 0o666);
    Image::new().layer(base).layer(app)
}

fn scan(extra: &[&str]) -> Value {
    let s = tempfile::tempdir().unwrap();
    let archive = s.path().join("bad.tar");
    image().write_docker_archive(&archive, "t/bad:latest");
    let target = format!("docker-archive:{}", archive.display());
    let mut args = vec!["scan", target.as_str(), "--format", "json", "--no-cache"];
    args.extend_from_slice(extra);
    let run = keelhaul(s.path(), &args).success();
    run.json()
}

fn ids(report: &Value, section: &str, id_field: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f[id_field].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn malware_secrets_and_baseline_in_one_pass() {
    let report = scan(&["--scanners", "secret,malware,baseline"]);

    let malware = ids(&report, "malware", "rule_id");
    let paths: Vec<&str> = malware.iter().map(|(_, p)| p.as_str()).collect();
    assert!(paths.contains(&"opt/app/eicar.txt"), "{malware:?}");
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("opt/app/webapps/app.war!/") && p.ends_with("eicar.com")),
        "EICAR in a jar in a war: {malware:?}"
    );
    assert!(paths.contains(&"var/www/html/shell.php"), "{malware:?}");
    assert!(!paths.contains(&"var/www/html/index.php"), "{malware:?}");
    for m in report["malware"].as_array().unwrap() {
        assert_eq!(m["sha256"].as_str().unwrap().len(), 64, "{m:#}");
        assert!(
            m["layer"].is_string(),
            "each finding names its layer: {m:#}"
        );
    }

    let secrets = ids(&report, "secrets", "rule_id");
    let (key_id, secret) = fake_aws();
    assert!(
        secrets
            .iter()
            .any(|(r, p)| r.contains("aws-access-key") && p == "opt/app/.env"),
        "{secrets:?}"
    );
    assert!(
        secrets
            .iter()
            .any(|(r, p)| r.contains("aws-secret") && p == "opt/app/.env"),
        "{secrets:?}"
    );
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        !text.contains(&secret) && !text.contains(&key_id),
        "a whole secret appears in the report"
    );

    let baseline = ids(&report, "baseline", "id");
    let has = |id: &str, path: Option<&str>| {
        baseline
            .iter()
            .any(|(i, p)| i == id && path.is_none_or(|want| p == want))
    };
    assert!(has("KH-IMG-001", None), "root user: {baseline:?}");
    assert!(has("KH-IMG-006", None), "latest tag: {baseline:?}");
    assert!(
        has("KH-IMG-010", Some("etc/shadow")),
        "empty password: {baseline:?}"
    );
    assert!(
        has("KH-IMG-012", Some("etc/passwd")),
        "second UID 0: {baseline:?}"
    );
    assert!(
        has("KH-IMG-027", Some("etc/ssh/sshd_config")),
        "root login: {baseline:?}"
    );
    assert!(
        has("KH-IMG-031", Some("usr/local/bin/helper")),
        "setuid: {baseline:?}"
    );
    assert!(
        has("KH-IMG-033", Some("srv/drop")),
        "world-writable file: {baseline:?}"
    );

    let summary = &report["summary"];
    assert_eq!(
        summary["malicious"],
        report["malware"].as_array().unwrap().len()
    );
    assert_eq!(
        summary["secret"],
        report["secrets"].as_array().unwrap().len()
    );
    assert_eq!(
        summary["baseline"].as_u64().unwrap(),
        (report["baseline"].as_array().unwrap().len() + report["secrets"].as_array().unwrap().len())
            as u64,
        "secrets count as baseline risks too"
    );
}

#[test]
fn scanners_none_reads_no_content_and_rules_dirs_load() {
    let report = scan(&["--scanners", "none"]);
    for section in ["malware", "secrets", "baseline"] {
        assert_eq!(report[section], serde_json::json!([]), "{section}");
    }
    // A user rule directory: a good rule is used, a broken file is reported and skipped.
    let s = tempfile::tempdir().unwrap();
    let rules = s.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("good.yar"),
        "rule Custom_Hello { strings: $a = \"echo 'hello'\" condition: $a }\n",
    )
    .unwrap();
    std::fs::write(rules.join("broken.yar"), "rule Broken { condition: \n").unwrap();
    let archive = s.path().join("bad.tar");
    image().write_docker_archive(&archive, "t/bad:1");
    let target = format!("docker-archive:{}", archive.display());
    let rules_arg = rules.to_string_lossy();
    let run = keelhaul(
        s.path(),
        &[
            "scan",
            &target,
            "--format",
            "json",
            "--no-cache",
            "--scanners",
            "malware",
            "--malware-rules",
            &rules_arg,
        ],
    )
    .success();
    assert!(run.stderr.contains("broken.yar"), "{}", run.stderr);
    let report = run.json();
    assert!(
        report["malware"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["rule_id"] == "Custom_Hello" && m["path"] == "var/www/html/index.php"),
        "{:#}",
        report["malware"]
    );
}

#[test]
fn a_later_layer_that_rewrites_a_risky_mode_wins() {
    let s = tempfile::tempdir().unwrap();
    let image = Image::new()
        .layer(
            Layer::new()
                .file_mode("usr/local/bin/tool", "v1", 0o4755)
                .file_mode("usr/local/bin/other", "v1", 0o4755)
                .file_mode("srv/shared", "v1", 0o666),
        )
        // Rewrites `tool` without the setuid bit and `shared` without world write; leaves
        // `other` alone.
        .layer(
            Layer::new()
                .file_mode("usr/local/bin/tool", "v2", 0o755)
                .file_mode("srv/shared", "v2", 0o644),
        );
    let archive = s.path().join("modes.tar");
    image.write_docker_archive(&archive, "t/modes:1");
    let target = format!("docker-archive:{}", archive.display());
    let report = keelhaul(
        s.path(),
        &[
            "scan",
            &target,
            "--format",
            "json",
            "--no-cache",
            "--scanners",
            "baseline",
        ],
    )
    .success()
    .json();
    let paths: Vec<(String, String)> = ids(&report, "baseline", "id")
        .into_iter()
        .filter(|(id, _)| id == "KH-IMG-031" || id == "KH-IMG-033")
        .collect();
    assert_eq!(
        paths,
        vec![("KH-IMG-031".to_owned(), "usr/local/bin/other".to_owned())],
        "{:#}",
        report["baseline"]
    );
}
