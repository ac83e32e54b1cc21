//! End-to-end test of the secret scanner on a fixture tree, and a recall comparison with
//! Trivy's secret scanner when it is installed (`/opt/peers/bin/trivy`).
//!
//! The fixture files hold `@@NAME@@` markers instead of credentials; the test writes the
//! tree to a temporary directory with deterministic fake credentials substituted, plus two
//! generated files (a 20 MB single line, invalid UTF-8).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use keelhaul_detect::secrets::{DEFAULT_MAX_FILE_SIZE, SecretScanner};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &str = "0123456789abcdef";

/// Deterministic fake credential material: never a real secret.
fn fake(charset: &str, n: usize, seed: u64) -> String {
    let chars: Vec<char> = charset.chars().collect();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chars[(x % chars.len() as u64) as usize]
        })
        .collect()
}

fn b64(data: &[u8], table: &str) -> String {
    let table = table.as_bytes();
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn pem(kind: &str, seed: u64) -> String {
    let mut s = format!("-----BEGIN {kind}-----\n");
    for i in 0..8 {
        s.push_str(&fake(B64, 64, seed + i));
        s.push('\n');
    }
    s.push_str(&format!(
        "{}=\n-----END {kind}-----\n",
        fake(B64, 43, seed + 99)
    ));
    s
}

fn markers() -> BTreeMap<&'static str, String> {
    let jwt = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#, URLSAFE),
        b64(
            br#"{"sub":"svc-billing","iss":"auth.internal","iat":1700000000}"#,
            URLSAFE
        ),
        fake(URLSAFE, 86, 17)
    );
    let mut docker_auth = b64(format!("ci:{}", fake(ALNUM, 20, 11)).as_bytes(), B64);
    while !docker_auth.len().is_multiple_of(4) {
        docker_auth.push('=');
    }
    BTreeMap::from([
        ("AWS_KEY_ID", format!("AKIA{}", fake(B32, 16, 1))),
        ("AWS_SECRET", fake(B64, 40, 2)),
        ("DB_PASSWORD", fake(ALNUM, 14, 3)),
        ("GITHUB_TOKEN", format!("ghp_{}", fake(ALNUM, 36, 4))),
        ("GITHUB_TOKEN_2", format!("ghp_{}", fake(ALNUM, 36, 5))),
        ("GITHUB_TOKEN_3", format!("ghp_{}", fake(ALNUM, 36, 6))),
        ("GITHUB_TOKEN_4", format!("ghp_{}", fake(ALNUM, 36, 7))),
        ("STRIPE_KEY", format!("sk_live_{}", fake(ALNUM, 24, 8))),
        ("STRIPE_KEY_2", format!("sk_live_{}", fake(ALNUM, 24, 9))),
        ("DB_URL_PASSWORD", fake(ALNUM, 18, 10)),
        ("DOCKER_AUTH", docker_auth),
        (
            "SLACK_HOOK",
            format!(
                "T{}/B{}/{}",
                fake(UPPER_ALNUM, 8, 12),
                fake(UPPER_ALNUM, 8, 13),
                fake(ALNUM, 24, 14)
            ),
        ),
        (
            "SENDGRID_KEY",
            format!("SG.{}.{}", fake(URLSAFE, 22, 15), fake(URLSAFE, 43, 16)),
        ),
        ("JWT", jwt),
        ("JWT_SECRET", fake(ALNUM, 32, 18)),
        ("NPM_TOKEN", format!("npm_{}", fake(ALNUM, 36, 19))),
        ("RSA_KEY", pem("RSA PRIVATE KEY", 20)),
        (
            "DJANGO_KEY",
            format!(
                "django-insecure-{}",
                fake("abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)", 50, 30)
            ),
        ),
        ("GCP_API_KEY", format!("AIza{}", fake(URLSAFE, 35, 31))),
        ("GITLAB_TOKEN", format!("glpat-{}", fake(URLSAFE, 20, 32))),
        (
            "SLACK_TOKEN",
            format!(
                "xoxb-{}-{}-{}",
                fake("0123456789", 12, 33),
                fake("0123456789", 13, 34),
                fake(ALNUM, 24, 35)
            ),
        ),
        ("GCP_KEY_ID", fake(HEX, 40, 36)),
        (
            "GCP_PRIVATE_KEY",
            pem("PRIVATE KEY", 37).replace('\n', "\\n"),
        ),
        ("PROP_PASSWORD", fake(ALNUM, 16, 40)),
        ("ALIBABA_ID", format!("LTAI{}", fake(ALNUM, 20, 41))),
        ("ALIBABA_SECRET", fake(ALNUM, 30, 42)),
        ("HUAWEI_AK", fake(UPPER_ALNUM, 20, 43)),
        ("HUAWEI_SK", fake(ALNUM, 40, 44)),
        ("AZURE_STORAGE_KEY", format!("{}==", fake(B64, 86, 45))),
        (
            "AZURE_CLIENT_SECRET",
            format!("{}7Q~{}", fake(ALNUM, 3, 46), fake(URLSAFE, 34, 47)),
        ),
    ])
}

/// Copies the fixture tree with markers substituted, and adds the generated files.
fn materialize(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets/tree");
    let markers = markers();
    for file in walk(&root) {
        let rel = file.strip_prefix(&root).unwrap_or_else(|e| panic!("{e}"));
        let mut text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        for (name, value) in &markers {
            text = text.replace(&format!("@@{name}@@"), value);
        }
        assert!(!text.contains("@@"), "unknown marker in {rel:?}");
        let out = dir.join(rel);
        std::fs::create_dir_all(out.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&out, text).unwrap_or_else(|e| panic!("{out:?}: {e}"));
    }
    // 20 MB on one line, an AWS key id near the end
    let mut big = "the quick brown fox jumps over the lazy dog ".repeat(20 * 1024 * 1024 / 44);
    big.push_str(&format!("AKIA{} ", fake(B32, 16, 50)));
    big.push_str(&"z".repeat(4096));
    std::fs::create_dir_all(dir.join("data")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("data/big.txt"), big).unwrap_or_else(|e| panic!("{e}"));
    // Latin-1 (invalid UTF-8) configuration
    let mut latin1 = b"# configuraci\xf3n de la base de datos\n".to_vec();
    latin1.extend_from_slice(format!("db_password = {}", fake(ALNUM, 14, 51)).as_bytes());
    latin1.extend_from_slice(b" # contrase\xf1a\n");
    latin1.extend_from_slice(b"usuario = jos\xe9\n");
    std::fs::create_dir_all(dir.join("opt/legacy")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("opt/legacy/latin1.conf"), latin1).unwrap_or_else(|e| panic!("{e}"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{d:?}: {e}"));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

type Key = (String, String, Option<u32>);

/// Scans the tree as the layer engine would: `wants` first, then `scan`.
fn scan_tree(scanner: &SecretScanner, dir: &Path) -> Vec<keelhaul_core::SecretFinding> {
    let mut out = Vec::new();
    for file in walk(dir) {
        let rel = file
            .strip_prefix(dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string_lossy()
            .replace('\\', "/");
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        if !scanner.wants(&rel, size) {
            continue;
        }
        let content = std::fs::read(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        out.extend(scanner.scan(&rel, &content));
    }
    out
}

fn expected() -> BTreeSet<Key> {
    [
        ("aws-access-key-id", "app/.env", 3),
        ("aws-secret-access-key", "app/.env", 4),
        ("config-password", "app/.env", 5),
        ("github-token", "app/.env", 6),
        ("stripe-secret-key", "app/.env", 7),
        ("npm-access-token", "app/.npmrc", 2),
        ("password-in-url", "app/config.yaml", 4),
        ("slack-webhook-url", "app/config.yaml", 7),
        ("sendgrid-api-key", "app/config.yaml", 8),
        ("generic-secret", "app/config.yaml", 10),
        ("aws-access-key-id", "data/big.txt", 1),
        ("config-password", "etc/app/application.properties", 4),
        ("alibaba-access-key-id", "etc/app/application.properties", 5),
        (
            "alibaba-access-key-secret",
            "etc/app/application.properties",
            6,
        ),
        ("huawei-access-key-id", "etc/huawei/credentials.ini", 3),
        ("huawei-secret-access-key", "etc/huawei/credentials.ini", 4),
        ("github-token", "home/dev/.git-credentials", 1),
        ("password-in-url", "home/dev/.git-credentials", 1),
        ("gcp-service-account-key", "opt/gcp/service-account.json", 5),
        ("private-key", "opt/gcp/service-account.json", 5),
        ("config-password", "opt/legacy/latin1.conf", 2),
        ("docker-config-auth", "root/.docker/config.json", 4),
        ("private-key", "root/.ssh/id_rsa", 1),
        ("azure-storage-account-key", "srv/app/appsettings.json", 3),
        ("azure-client-secret", "srv/app/appsettings.json", 7),
        ("gitlab-token", "srv/app/ci.sh", 3),
        ("slack-token", "srv/app/ci.sh", 4),
        ("gcp-api-key", "srv/app/client.js", 2),
        ("jwt", "srv/app/client.js", 3),
        ("django-secret-key", "srv/mysite/mysite/settings.py", 8),
    ]
    .into_iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), Some(l)))
    .collect()
}

#[test]
fn fixture_tree_findings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    materialize(dir.path());
    // the 20 MB file is over the default cap; the engine's default skips it
    assert!(!SecretScanner::builtin().wants("data/big.txt", 20 * 1024 * 1024));
    let scanner = SecretScanner::builtin().with_max_file_size(4 * DEFAULT_MAX_FILE_SIZE);
    let findings = scan_tree(&scanner, dir.path());
    let got: BTreeSet<Key> = findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.path.clone(), f.line))
        .collect();
    let want = expected();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    assert_eq!(findings.len(), want.len(), "duplicate findings");

    // no excerpt holds a credential
    let markers = markers();
    for f in &findings {
        assert!(f.excerpt.chars().count() <= 120, "{f:?}");
        assert!(f.excerpt.contains("*****"), "{f:?}");
        for value in markers.values() {
            // a run from the middle of the credential (the head of a PEM is no secret)
            let Some(probe) = value.get(value.len() / 2..value.len() / 2 + 8) else {
                continue;
            };
            assert!(
                !f.excerpt.contains(probe),
                "{} leaks a secret: {}",
                f.rule_id,
                f.excerpt
            );
        }
    }
}

#[test]
fn image_config_history_with_build_arg() {
    let history = vec![
        "/bin/sh -c #(nop) ADD file:5a0cb2e1f4e3 in / ".to_string(),
        "/bin/sh -c #(nop)  ARG TOKEN".to_string(),
        format!(
            "|1 TOKEN={} /bin/sh -c npm ci && npm run build",
            fake(ALNUM, 40, 60)
        ),
        format!(
            "/bin/sh -c git clone https://ci:{}@github.com/acme/app.git",
            fake(ALNUM, 20, 61)
        ),
        "/bin/sh -c #(nop)  CMD [\"node\" \"server.js\"]".to_string(),
    ];
    let env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        "NODE_VERSION=20.11.1".to_string(),
        format!("NPM_TOKEN=npm_{}", fake(ALNUM, 36, 62)),
    ];
    let labels = BTreeMap::from([("maintainer".to_string(), "ops@acme.example".to_string())]);
    let findings = SecretScanner::builtin().scan_config(&env, &labels, &history);
    let got: BTreeSet<Key> = findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.path.clone(), f.line))
        .collect();
    let want: BTreeSet<Key> = [
        ("npm-access-token", "config:Env", 3),
        ("generic-secret", "config:history[2]", 1),
        ("password-in-url", "config:history[3]", 1),
    ]
    .into_iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), Some(l)))
    .collect();
    assert_eq!(got, want);
    assert!(findings.iter().all(|f| f.layer.is_none()));
}

/// Trivy findings we deliberately do not report, with the reason.
const TRIVY_NOT_OURS: &[(&str, &str)] = &[
    (
        "usr/lib/python3.11/site-packages/jwt_helpers/tests/test_tokens.py",
        "upstream test fixture inside an installed Python package (builtin allowance)",
    ),
    (
        "usr/share/doc/app/README",
        "documentation tree, skipped by the path prefilter",
    ),
];

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyReport {
    #[serde(default)]
    results: Vec<TrivyResult>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyResult {
    target: String,
    #[serde(default)]
    secrets: Vec<TrivySecret>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivySecret {
    #[serde(rename = "RuleID")]
    rule_id: String,
    start_line: u32,
    end_line: u32,
}

#[test]
#[allow(clippy::print_stdout)]
fn recall_at_least_trivy() {
    let trivy = Path::new("/opt/peers/bin/trivy");
    if !trivy.exists() {
        assert!(
            std::env::var_os("KEELHAUL_REQUIRE_INTEGRATION").is_none_or(|v| v != "1"),
            "KEELHAUL_REQUIRE_INTEGRATION=1 but {trivy:?} is missing (run /work/shared/bench/install-peers.sh)"
        );
        println!("SKIPPED: {trivy:?} not installed (run /work/shared/bench/install-peers.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    materialize(dir.path());
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let output = std::process::Command::new(trivy)
        .args([
            "fs",
            "--scanners",
            "secret",
            "--format",
            "json",
            "--cache-backend",
            "memory",
            "--skip-db-update",
            "--offline-scan",
            "--quiet",
            "--cache-dir",
        ])
        .arg(cache.path())
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("running trivy: {e}"));
    assert!(
        output.status.success(),
        "trivy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: TrivyReport =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("trivy JSON: {e}"));

    let scanner = SecretScanner::builtin().with_max_file_size(4 * DEFAULT_MAX_FILE_SIZE);
    let ours = scan_tree(&scanner, dir.path());
    let mut trivy_count = 0;
    let mut excused = Vec::new();
    let mut missed = Vec::new();
    let mut all = Vec::new();
    for result in &report.results {
        for s in &result.secrets {
            trivy_count += 1;
            let path = result.target.trim_start_matches("./");
            // Same file, and one of our findings starts within Trivy's line range (Trivy
            // reports a private key at its body, we at its BEGIN line).
            let covered = ours.iter().any(|f| {
                f.path == path
                    && (f.line.is_some_and(|l| {
                        (l >= s.start_line && l <= s.end_line)
                            || (s.rule_id == "private-key" && l + 1 == s.start_line)
                    })
                    // Trivy flags a key file's `"type": "service_account"` line, we its
                    // `"private_key"` line: the same credential
                    || (s.rule_id == "gcp-service-account"
                        && f.rule_id == "gcp-service-account-key"))
            });
            all.push(format!(
                "{path}:{}-{} {}",
                s.start_line, s.end_line, s.rule_id
            ));
            if covered {
                continue;
            }
            match TRIVY_NOT_OURS.iter().find(|(p, _)| *p == path) {
                Some((_, why)) => {
                    excused.push(format!("{path}:{} {} ({why})", s.start_line, s.rule_id))
                }
                None => missed.push(format!("{path}:{} {}", s.start_line, s.rule_id)),
            }
        }
    }
    println!(
        "trivy: {trivy_count} findings {all:#?}\nkeelhaul: {} findings; trivy-only excused: {excused:#?}",
        ours.len()
    );
    assert!(
        missed.is_empty(),
        "Trivy found secrets we missed: {missed:#?}"
    );
}

/// Manual false-positive sweep over a real tree:
/// `KEELHAUL_SCAN_DIR=/usr cargo test -p keelhaul-detect --test secrets sweep -- --ignored --nocapture`.
#[test]
#[ignore = "manual sweep"]
#[allow(clippy::print_stdout)]
fn sweep() {
    let Some(dir) = std::env::var_os("KEELHAUL_SCAN_DIR") else {
        println!("set KEELHAUL_SCAN_DIR");
        return;
    };
    let dir = PathBuf::from(dir);
    let scanner = SecretScanner::builtin();
    let mut bytes = 0u64;
    let t = std::time::Instant::now();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let rel = path.to_string_lossy().to_string();
            if !scanner.wants(&rel, meta.len()) {
                continue;
            }
            let Ok(content) = std::fs::read(&path) else {
                continue;
            };
            bytes += content.len() as u64;
            for f in scanner.scan(&rel, &content) {
                println!(
                    "{} {}:{} {}",
                    f.rule_id,
                    f.path,
                    f.line.unwrap_or(0),
                    f.excerpt
                );
            }
        }
    }
    println!(
        "{:.0} MB in {:.1}s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
}
