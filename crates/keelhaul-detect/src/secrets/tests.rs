//! Unit tests: per rule one fake credential that must match and one near miss that must
//! not. Every credential is generated here (right charset and length, deterministic
//! pseudo-random): none is real.

use std::collections::BTreeMap;
use std::io::Write as _;

use super::*;

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &str = "0123456789abcdef";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Deterministic fake: `n` characters of `charset` from a xorshift stream seeded by `seed`.
pub(crate) fn fake(charset: &str, n: usize, seed: u64) -> String {
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

fn b64url(data: &[u8]) -> String {
    let table = URLSAFE.as_bytes();
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64std(data: &[u8]) -> String {
    let mut s = b64url(data).replace('-', "+").replace('_', "/");
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

fn pem(kind: &str, seed: u64) -> String {
    let mut s = format!("-----BEGIN {kind}-----\n");
    for i in 0..6 {
        s.push_str(&fake(B64, 64, seed + i));
        s.push('\n');
    }
    s.push_str(&format!(
        "{}==\n-----END {kind}-----\n",
        fake(B64, 30, seed + 99)
    ));
    s
}

fn jwt(seed: u64) -> String {
    format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(br#"{"sub":"1234567890","name":"Jane Roe","iat":1516239022}"#),
        fake(URLSAFE, 43, seed)
    )
}

fn ids(findings: &[SecretFinding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule_id.as_str()).collect()
}

struct Case {
    rule: &'static str,
    path: &'static str,
    hit: String,
    miss: String,
}

fn cases() -> Vec<Case> {
    let c = |rule, path, hit: String, miss: String| Case {
        rule,
        path,
        hit,
        miss,
    };
    vec![
        c(
            "aws-access-key-id",
            "root/.aws/credentials",
            format!("aws_access_key_id = AKIA{}", fake(B32, 16, 1)),
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into(),
        ),
        c(
            "aws-secret-access-key",
            "root/.aws/credentials",
            format!("aws_secret_access_key = {}", fake(B64, 40, 2)),
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
             aws_secret_access_key = abababababababababababababababababababab"
                .into(),
        ),
        c(
            "gcp-api-key",
            "srv/app/app.js",
            format!("const key = \"AIza{}\";", fake(URLSAFE, 35, 3)),
            format!("const key = \"AIza{}\";", fake(URLSAFE, 20, 3)),
        ),
        c(
            "gcp-service-account-key",
            "srv/app/sa.json",
            format!(
                "{{\n  \"type\": \"service_account\",\n  \"private_key\": \"{}\"\n}}",
                pem("PRIVATE KEY", 4).replace('\n', "\\n")
            ),
            "{\n  \"type\": \"service_account\",\n  \"private_key\": \"\"\n}".into(),
        ),
        c(
            "private-key",
            "root/.ssh/id_rsa",
            pem("RSA PRIVATE KEY", 5),
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n".into(),
        ),
        c(
            "azure-storage-account-key",
            "srv/app/appsettings.txt",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={}==;EndpointSuffix=core.windows.net",
                fake(B64, 86, 6)
            ),
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=<your-account-key>".into(),
        ),
        c(
            "azure-client-secret",
            "srv/app/settings.txt",
            format!(
                "client_secret: {}7Q~{}",
                fake(ALNUM, 3, 7),
                fake(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-",
                    34,
                    8
                )
            ),
            format!(
                "client_secret: {}7Q~{}",
                fake(ALNUM, 3, 7),
                fake(ALNUM, 10, 8)
            ),
        ),
        c(
            "alibaba-access-key-id",
            "etc/app/app.txt",
            format!("id: LTAI{}", fake(ALNUM, 20, 9)),
            "id: LTAIxxxxxxxxxxxxxxxxxxxx".into(),
        ),
        c(
            "alibaba-access-key-secret",
            "etc/app/app.txt",
            format!("access_key_secret: {}", fake(ALNUM, 30, 10)),
            format!("access_key_secret: {}", "a".repeat(30)),
        ),
        c(
            "huawei-access-key-id",
            "etc/app/app.txt",
            format!("HUAWEICLOUD_SDK_AK={}", fake(UPPER_ALNUM, 20, 11)),
            "HUAWEICLOUD_SDK_AK=${HUAWEICLOUD_SDK_AK}".into(),
        ),
        c(
            "huawei-secret-access-key",
            "etc/app/app.txt",
            format!("HUAWEICLOUD_SDK_SK={}", fake(ALNUM, 40, 12)),
            "HUAWEICLOUD_SDK_SK=your-secret-access-key-goes-here-xxxxxxx".into(),
        ),
        c(
            "github-token",
            "srv/app/deploy.sh",
            format!(
                "git clone https://x:ghp_{}@github.com/o/r",
                fake(ALNUM, 36, 13)
            ),
            format!("token = ghp_{}", "x".repeat(36)),
        ),
        c(
            "github-fine-grained-pat",
            "srv/app/deploy.sh",
            format!(
                "GH={}",
                format_args!("github_pat_{}_{}", fake(ALNUM, 22, 14), fake(ALNUM, 59, 15))
            ),
            format!("GH=github_pat_{}", fake(ALNUM, 30, 14)),
        ),
        c(
            "gitlab-token",
            "srv/app/ci.sh",
            format!("PRIVATE-TOKEN: glpat-{}", fake(URLSAFE, 20, 16)),
            "PRIVATE-TOKEN: glpat-xxxxxxxxxxxxxxxxxxxx".into(),
        ),
        c(
            "slack-token",
            "srv/app/bot.py",
            format!(
                "SLACK = 'xoxb-{}-{}-{}'",
                fake("0123456789", 11, 17),
                fake("0123456789", 12, 18),
                fake(ALNUM, 24, 19)
            ),
            "SLACK = 'xoxb-your-bot-token-here'".into(),
        ),
        c(
            "slack-webhook-url",
            "srv/app/notify.sh",
            format!(
                "curl https://hooks.slack.com/services/T{}/B{}/{}",
                fake(UPPER_ALNUM, 8, 20),
                fake(UPPER_ALNUM, 8, 21),
                fake(ALNUM, 24, 22)
            ),
            "curl https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
                .into(),
        ),
        c(
            "stripe-secret-key",
            "srv/app/pay.rb",
            format!("Stripe.api_key = 'sk_live_{}'", fake(ALNUM, 24, 23)),
            format!("Stripe.api_key = 'sk_test_{}'", fake(ALNUM, 24, 23)),
        ),
        c(
            "twilio-api-key",
            "srv/app/sms.txt",
            format!("TWILIO_API_KEY=SK{}", fake(HEX, 32, 24)),
            format!("HASH=SK{}", fake(HEX, 32, 24)),
        ),
        c(
            "twilio-auth-token",
            "srv/app/sms.txt",
            format!("TWILIO_AUTH_TOKEN={}", fake(HEX, 32, 25)),
            format!("TWILIO_AUTH_TOKEN={}", "0".repeat(32)),
        ),
        c(
            "sendgrid-api-key",
            "srv/app/mail.txt",
            format!("key=SG.{}.{}", fake(URLSAFE, 22, 26), fake(URLSAFE, 43, 27)),
            format!("msg.{}.{}", fake(URLSAFE, 10, 26), fake(URLSAFE, 10, 27)),
        ),
        c(
            "npm-access-token",
            "srv/app/publish.sh",
            format!("NODE_AUTH=npm_{}", fake(ALNUM, 36, 28)),
            format!("NODE_AUTH=npm_{}", fake(ALNUM, 20, 28)),
        ),
        c(
            "npmrc-auth",
            "root/.npmrc",
            format!(
                "//registry.npmjs.org/:_authToken={}-{}",
                fake(HEX, 8, 29),
                fake(HEX, 12, 30)
            ),
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}".into(),
        ),
        c(
            "pypi-upload-token",
            "root/.pypirc",
            format!("password = pypi-AgEIcHlwaS5vcmc{}", fake(URLSAFE, 70, 31)),
            format!("password = pypi-AgEIcHlwaS5vcmc{}", fake(URLSAFE, 10, 31)),
        ),
        c(
            "huggingface-token",
            "srv/app/hf.sh",
            format!("HF_TOKEN=hf_{}", fake(LETTERS, 34, 32)),
            format!("HF_TOKEN=hf_{}", "ab".repeat(17)),
        ),
        c(
            "openai-api-key",
            "srv/app/ai.sh",
            format!(
                "OPENAI_API_KEY=sk-proj-{}T3BlbkFJ{}",
                fake(URLSAFE, 40, 33),
                fake(URLSAFE, 40, 34)
            ),
            "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxxxxxxx"
                .into(),
        ),
        c(
            "anthropic-api-key",
            "srv/app/ai.sh",
            format!("ANTHROPIC_API_KEY=sk-ant-api03-{}AA", fake(URLSAFE, 93, 35)),
            "ANTHROPIC_API_KEY=sk-ant-api03-short".into(),
        ),
        c(
            "jwt",
            "srv/app/client.js",
            format!("auth: 'Bearer {}'", jwt(36)),
            format!(
                "blob: 'eyJ{}.eyJ{}.{}'",
                fake(ALNUM, 20, 37),
                fake(ALNUM, 20, 38),
                fake(ALNUM, 20, 39)
            ),
        ),
        c(
            "docker-config-auth",
            "root/.docker/config.json",
            format!(
                "{{\"auths\":{{\"registry.internal\":{{\"auth\":\"{}\"}}}}}}",
                b64std(format!("deploy:{}", fake(ALNUM, 20, 40)).as_bytes())
            ),
            "{\"auths\":{\"registry.internal\":{\"auth\":\"\"}}}".into(),
        ),
        c(
            "password-in-url",
            "srv/app/app.txt",
            format!(
                "DATABASE_URL=postgres://app:{}@db.internal:5432/app",
                fake(ALNUM, 16, 41)
            ),
            "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal:5432/app\n\
             see https://user:password@host/ and http://example.com:8080@x\n\
             uri = URI.parse(\"http://john:S3nSit1ve@my.example.com\")"
                .into(),
        ),
        c(
            "django-secret-key",
            "srv/mysite/settings.py",
            format!(
                "SECRET_KEY = 'django-insecure-{}'",
                fake("abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)", 50, 42)
            ),
            "SECRET_KEY = os.environ['DJANGO_SECRET_KEY']".into(),
        ),
        c(
            "config-password",
            "srv/app/.env",
            format!("DB_PASSWORD={}", fake(ALNUM, 12, 43)),
            "DB_PASSWORD=changeme\nPWD=/root\npassword_file=/run/secrets/db\nDB_PASSWORD=aaaaaaaa\n\
             $ cmd --admin-password=Xy12345678Ab"
                .into(),
        ),
        c(
            "generic-secret",
            "srv/app/config.yaml",
            format!("api_token: {}", fake(ALNUM, 32, 44)),
            "api_token: ${API_TOKEN}\ntoken_url: https://auth.internal/oauth/token\n\
             api_token: abcdefghabcdefghabcdefgh"
                .into(),
        ),
    ]
}

#[test]
fn every_builtin_rule_has_a_case() {
    let cases = cases();
    for b in BUILTIN {
        assert!(
            cases.iter().any(|c| c.rule == b.id),
            "no test case for {}",
            b.id
        );
    }
}

#[test]
fn each_rule_matches_its_fake_and_not_its_near_miss() {
    let s = SecretScanner::builtin();
    for case in cases() {
        let hit = s.scan(case.path, case.hit.as_bytes());
        assert!(
            ids(&hit).contains(&case.rule),
            "{}: no match in {:?}: {:?}",
            case.rule,
            case.hit,
            hit
        );
        let miss = s.scan(case.path, case.miss.as_bytes());
        assert!(
            !ids(&miss).contains(&case.rule),
            "{}: near miss matched {:?}: {:?}",
            case.rule,
            case.miss,
            miss
        );
    }
}

#[test]
fn excerpts_never_hold_the_secret() {
    let s = SecretScanner::builtin();
    let token = format!("ghp_{}", fake(ALNUM, 36, 50));
    let line = format!(
        "{}export GITHUB_TOKEN={token} # deploy {}",
        "x ".repeat(100),
        "y ".repeat(100)
    );
    let f = s.scan("srv/run.sh", line.as_bytes());
    assert_eq!(f.len(), 1, "{f:?}");
    let e = &f[0].excerpt;
    assert!(!e.contains(&token), "{e}");
    assert!(
        e.contains(&format!("ghp_*****{}", &token[token.len() - 2..])),
        "{e}"
    );
    assert!(e.contains("GITHUB_TOKEN="), "{e}");
    assert!(e.chars().count() <= text::EXCERPT_MAX);
    assert_eq!(f[0].line, Some(1));
    assert_eq!(f[0].layer, None);
}

#[test]
fn redaction_of_short_and_long_secrets() {
    assert_eq!(text::redact("abcdefghijklmnopqr"), "abcd*****qr");
    assert_eq!(text::redact("hunter22"), "hu*****");
    assert_eq!(text::redact("abc"), "*****");
}

#[test]
fn private_key_excerpt_shows_header_not_body() {
    let s = SecretScanner::builtin();
    let key = pem("OPENSSH PRIVATE KEY", 51);
    let content = format!("# deploy key\n{key}");
    let f = s.scan("home/app/.ssh/id_ed25519", content.as_bytes());
    assert_eq!(ids(&f), ["private-key"]);
    assert_eq!(f[0].line, Some(2));
    let body_line = key.lines().nth(1).unwrap_or_default();
    assert!(
        f[0].excerpt
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"),
        "{}",
        f[0].excerpt
    );
    assert!(!f[0].excerpt.contains(&body_line[..20]), "{}", f[0].excerpt);
}

#[test]
fn encrypted_pem_with_headers_matches() {
    let s = SecretScanner::builtin();
    let key = pem("RSA PRIVATE KEY", 52).replacen(
        "-----\n",
        "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n",
        1,
    );
    assert_eq!(ids(&s.scan("k.pem", key.as_bytes())), ["private-key"]);
}

#[test]
fn same_rule_same_line_is_reported_once() {
    let s = SecretScanner::builtin();
    let line = format!(
        "a=ghp_{} b=ghp_{}\n",
        fake(ALNUM, 36, 53),
        fake(ALNUM, 36, 54)
    );
    let content = format!("{line}{line}");
    let f = s.scan("x.sh", content.as_bytes());
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].line, f[1].line), (Some(1), Some(2)));
}

#[test]
fn generic_rule_yields_to_specific_rule_on_the_same_line() {
    let s = SecretScanner::builtin();
    let content = format!("GITHUB_TOKEN=ghp_{}\n", fake(ALNUM, 36, 55));
    assert_eq!(
        ids(&s.scan("app/.env", content.as_bytes())),
        ["github-token"]
    );
}

#[test]
fn binary_is_skipped_and_invalid_utf8_is_scanned() {
    let s = SecretScanner::builtin();
    let token = format!("ghp_{}", fake(ALNUM, 36, 56));
    let mut bin = vec![0x7f, b'E', b'L', b'F', 0, 0];
    bin.extend_from_slice(token.as_bytes());
    assert!(s.scan("usr/bin/tool", &bin).is_empty());
    let mut latin1 = b"caf\xe9 \xff\xfe token: ".to_vec();
    latin1.extend_from_slice(token.as_bytes());
    latin1.extend_from_slice(b" \xe9\n");
    let f = s.scan("etc/app.txt", &latin1);
    assert_eq!(ids(&f), ["github-token"]);
    assert!(f[0].excerpt.contains("ghp_*****"));
}

#[test]
fn a_long_single_line_is_bounded() {
    let s = SecretScanner::builtin();
    let mut content = "lorem ipsum dolor sit amet ".repeat(400_000).into_bytes(); // ~10.8 MB
    let token = format!("ghp_{}", fake(ALNUM, 36, 57));
    content.extend_from_slice(token.as_bytes());
    content.extend_from_slice(&b" z".repeat(500_000));
    let t = std::time::Instant::now();
    let f = s.scan("data/blob.txt", &content);
    assert_eq!(ids(&f), ["github-token"]);
    assert!(f[0].excerpt.chars().count() <= text::EXCERPT_MAX);
    assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
}

#[test]
fn wants_filters_paths_and_sizes() {
    let s = SecretScanner::builtin();
    assert!(s.wants("app/.env", 100));
    assert!(s.wants("/etc/ssl/private/server.key", 3000));
    assert!(!s.wants("app/.env", DEFAULT_MAX_FILE_SIZE + 1));
    assert!(!s.with_max_file_size(10).wants("app/.env", 11));
    let s = SecretScanner::builtin();
    for p in [
        "usr/share/doc/openssl/README",
        "usr/share/man/man1/ssh.1",
        "usr/share/locale/de/LC_MESSAGES/x.txt",
        "usr/share/zoneinfo/Europe/Paris",
        "usr/lib/x86_64-linux-gnu/libssl.so.3",
        "usr/lib/libfoo.so",
        "app/logo.png",
        "app/font.woff2",
        "app/lib.jar",
        "usr/lib/python3.12/__pycache__/x.cpython-312.pyc",
        "usr/lib/python3.12/site-packages/requests/tests/test_auth.py",
        "usr/lib/python3.11/test/certdata/keycert.pem",
        "app/node_modules/jsonwebtoken/test/keys/priv.pem",
        "usr/share/ca-certificates/examples/x.pem",
        "usr/local/go/src/crypto/tls/testdata/key.pem",
        "usr/share/go-1.19/src/crypto/tls/example_test.go",
        "app/node_modules/jws/lib/sign.spec.js",
    ] {
        assert!(!s.wants(p, 100), "{p}");
    }
    // only fixture dirs *inside* packages are allowed; an app's own tests are scanned
    assert!(s.wants("srv/app/tests/settings.py", 100));
    assert!(s.wants("usr/lib/python3.12/site-packages/tests.txt", 100));
    assert!(s.wants("app/libso.txt", 100));
}

#[test]
fn scan_config_reports_config_paths() {
    let s = SecretScanner::builtin();
    let env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin".to_string(),
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D".to_string(),
        format!("GITHUB_TOKEN=ghp_{}", fake(ALNUM, 36, 60)),
        format!("DB_PASSWORD={}", fake(ALNUM, 14, 61)),
        "PWD=/app".to_string(),
    ];
    let mut labels = BTreeMap::new();
    labels.insert(
        "org.opencontainers.image.revision".into(),
        fake(HEX, 40, 62),
    );
    labels.insert("deploy.token".into(), fake(ALNUM, 32, 63));
    let history = vec![
        "/bin/sh -c #(nop) ADD file:0123 in / ".to_string(),
        format!("|1 TOKEN={} /bin/sh -c npm ci", fake(ALNUM, 40, 64)),
        format!("RUN /bin/sh -c echo {} > /root/.npmrc", fake(ALNUM, 8, 65)),
    ];
    let f = s.scan_config(&env, &labels, &history);
    let got: Vec<(&str, &str, Option<u32>)> = f
        .iter()
        .map(|f| (f.rule_id.as_str(), f.path.as_str(), f.line))
        .collect();
    assert_eq!(
        got,
        [
            ("github-token", "config:Env", Some(3)),
            ("config-password", "config:Env", Some(4)),
            ("generic-secret", "config:Labels", Some(1)),
            ("generic-secret", "config:history[1]", Some(1)),
        ]
    );
    assert!(f.iter().all(|f| f.excerpt.contains("*****")));
}

fn write_config(name: &str, body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("create: {e}"));
    f.write_all(body.as_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    (dir, path)
}

const TOML_CONFIG: &str = r#"
max_file_size = 1024
disable = ["jwt"]

[[rules]]
id = "acme-api-token"
title = "ACME API token"
severity = "high"
keywords = ["ACME_"]
regex = '''acme_([a-z0-9]{32})'''
secret_group = 1
entropy = 3.0
paths = ["*.conf"]

[[allow]]
rule = "github-token"
path = "srv/fixtures/**"

[[allow]]
regex = "^ghp_0000"
"#;

#[test]
fn custom_toml_rules_and_allows() {
    let (_d, path) = write_config("rules.toml", TOML_CONFIG);
    let s = SecretScanner::from_config(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(s.fingerprint(), SecretScanner::builtin().fingerprint());
    assert!(!s.wants("a.conf", 2048));
    let acme = format!(
        "key = acme_{}",
        fake("abcdefghijklmnopqrstuvwxyz0123456789", 32, 70)
    );
    assert_eq!(
        ids(&s.scan("etc/acme.conf", acme.as_bytes())),
        ["acme-api-token"]
    );
    // path filter of the custom rule
    assert!(s.scan("etc/acme.txt", acme.as_bytes()).is_empty());
    // disabled builtin
    assert!(s.scan("a.js", jwt(71).as_bytes()).is_empty());
    assert_eq!(
        ids(&SecretScanner::builtin().scan("a.js", jwt(71).as_bytes())),
        ["jwt"]
    );
    // allow by rule + path, and by secret regex
    let gh = format!("ghp_{}", fake(ALNUM, 36, 72));
    assert!(s.scan("srv/fixtures/a/b.sh", gh.as_bytes()).is_empty());
    assert_eq!(
        ids(&s.scan("srv/app/b.sh", gh.as_bytes())),
        ["github-token"]
    );
    let gh0 = format!("ghp_0000{}", fake(ALNUM, 32, 73));
    assert!(s.scan("srv/app/b.sh", gh0.as_bytes()).is_empty());
}

#[test]
fn custom_yaml_rules() {
    let yaml = "rules:\n  - id: acme-api-token\n    title: ACME API token\n    severity: critical\n    keywords: [acme_]\n    regex: 'acme_[a-z0-9]{32}'\nallow:\n  - path: 'opt/vendor/**'\n";
    let (_d, path) = write_config("rules.yaml", yaml);
    let s = SecretScanner::from_config(&path).unwrap_or_else(|e| panic!("{e}"));
    let acme = format!(
        "acme_{}",
        fake("abcdefghijklmnopqrstuvwxyz0123456789", 32, 74)
    );
    let f = s.scan("x.txt", acme.as_bytes());
    assert_eq!(ids(&f), ["acme-api-token"]);
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(!s.wants("opt/vendor/x/y.txt", 10));
}

#[test]
fn config_errors_name_file_rule_and_line() {
    let bad_regex = "[[rules]]\nid = \"broken\"\ntitle = \"B\"\nseverity = \"low\"\nkeywords = [\"b\"]\nregex = \"b(\"\n";
    let (_d, path) = write_config("bad.toml", bad_regex);
    let e = SecretScanner::from_config(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("bad.toml:2") && e.contains("broken") && e.contains("regex"),
        "{e}"
    );

    let unknown = "[[rules]]\nid = \"x\"\ntitle = \"B\"\nseverity = \"low\"\nkeywords = [\"b\"]\nregex = \"b\"\ncolour = 1\n";
    let (_d, path) = write_config("unknown.toml", unknown);
    match SecretScanner::from_config(&path) {
        Err(SecretError::Parse { line, message, .. }) => {
            assert_eq!(line, Some(7), "{message}");
            assert!(message.contains("colour"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }

    let yaml_unknown = "rules:\n  - id: x\n    title: B\n    severity: low\n    keywords: [b]\n    regex: b\n    colour: 1\n";
    let (_d, path) = write_config("unknown.yml", yaml_unknown);
    let e = SecretScanner::from_config(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("unknown.yml") && e.contains("colour"), "{e}");

    let yaml_bad_regex = "rules:\n  - id: x-y\n    title: B\n    severity: low\n    keywords: [b]\n    regex: 'b['\n";
    let (_d, path) = write_config("bad.yaml", yaml_bad_regex);
    let e = SecretScanner::from_config(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("bad.yaml:2") && e.contains("x-y"), "{e}");

    let no_keywords =
        "[[rules]]\nid = \"k\"\ntitle = \"B\"\nseverity = \"low\"\nkeywords = []\nregex = \"b\"\n";
    let (_d, path) = write_config("nokw.toml", no_keywords);
    assert!(matches!(
        SecretScanner::from_config(&path),
        Err(SecretError::InvalidRule { .. })
    ));

    let clash = "[[rules]]\nid = \"jwt\"\ntitle = \"B\"\nseverity = \"low\"\nkeywords = [\"b\"]\nregex = \"b\"\n";
    let (_d, path) = write_config("clash.toml", clash);
    assert!(matches!(
        SecretScanner::from_config(&path),
        Err(SecretError::InvalidRule { .. })
    ));

    let (_d, path) = write_config("rules.json", "{}");
    assert!(matches!(
        SecretScanner::from_config(&path),
        Err(SecretError::Format { .. })
    ));
    assert!(matches!(
        SecretScanner::from_config(Path::new("/nonexistent/rules.toml")),
        Err(SecretError::Io { .. })
    ));
}

#[test]
fn fingerprint_is_stable() {
    assert_eq!(
        SecretScanner::builtin().fingerprint(),
        SecretScanner::builtin().fingerprint()
    );
    assert_ne!(
        SecretScanner::builtin().fingerprint(),
        SecretScanner::builtin().with_max_file_size(1).fingerprint()
    );
}

#[test]
fn keywords_are_lowercase_and_rules_unique() {
    let mut seen = HashSet::new();
    for b in BUILTIN {
        assert!(seen.insert(b.id), "duplicate {}", b.id);
        assert!(!b.keywords.is_empty(), "{}", b.id);
        for k in b.keywords {
            assert_eq!(*k, k.to_ascii_lowercase(), "{}", b.id);
        }
    }
}

const DOC_HEAD: &str = "# Secret detection rules

keelhaul's builtin secret rules (`keelhaul_detect::secrets`, rules version 1). Each rule runs
only on content containing one of its keywords (one Aho-Corasick pass, ASCII
case-insensitive); matches then pass entropy, placeholder and allow checks. Excerpts show the
secret as its first 4 and last 2 characters (`ghp_*****Xy`), never in full.

";

const DOC_TAIL: &str = "
## Not reported

* Files skipped by the path prefilter: over 10 MiB (configurable), binary extensions
  (`.so`, `.a`, `.o`, images, fonts, archives, `.jar`, `.whl`, `.pyc`, `.mo`…),
  `usr/share/{doc,man,info,locale,zoneinfo,i18n,icons,fonts,mime}/`, and test/example
  directories (`test`, `tests`, `testdata`, `testing`, `fixtures`, `examples`, `spec`…) inside
  installed packages (`node_modules/`, `site-packages/`, `dist-packages/`, `usr/share/`,
  `usr/lib/python*/`, Ruby gems, Go module cache and toolchain).
* Content with a NUL byte in its first 8 KiB (binary).
* Documented example keys (`AKIAIOSFODNN7EXAMPLE`, `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`…)
  and placeholders: values containing `example`, `xxxxx`, `changeme`, `your_`, `${`, `{{`,
  `<…>`, `*****`, values starting with `$`, `%` or `@`, one repeated character.
* `generic` rules (`config-password`, `generic-secret`) yield to a specific rule on the same
  line; each rule reports a line once.

## Custom rules

`SecretScanner::from_config(path)` adds rules from a TOML or YAML file (`[[rules]]` with `id`,
`title`, `severity`, `keywords`, `regex`, optional `secret_group`, `entropy`, `paths`;
`[[allow]]` with optional `rule`, `path` glob, `regex` on the secret; top-level
`max_file_size` and `disable = [builtin ids]`). Unknown keys are errors.
";

#[test]
fn docs_table_is_current() {
    let want = format!(
        "{DOC_HEAD}{}{DOC_TAIL}",
        SecretScanner::builtin_rules_markdown()
    );
    if std::env::var_os("KEELHAUL_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/secrets.md");
        std::fs::write(path, &want).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    let doc = include_str!("../../docs/secrets.md");
    assert!(
        doc == want,
        "docs/secrets.md is stale: rerun this test with KEELHAUL_BLESS=1"
    );
}

/// Throughput on 50 MB of text without any keyword. Run with
/// `cargo test --release -p keelhaul-detect --lib secrets::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
#[allow(clippy::print_stdout)]
fn throughput() {
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "vitae",
    ];
    let mut text = String::with_capacity(50 << 20);
    let mut i = 0u64;
    while text.len() < 50 << 20 {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        text.push_str(words[(i >> 60) as usize % words.len()]);
        text.push(if (i >> 40).is_multiple_of(12) {
            '\n'
        } else {
            ' '
        });
    }
    let s = SecretScanner::builtin();
    let t = std::time::Instant::now();
    let f = s.scan("data/big.txt", text.as_bytes());
    let secs = t.elapsed().as_secs_f64();
    assert!(f.is_empty());
    println!(
        "no-keyword text: {:.0} MB/s",
        text.len() as f64 / 1e6 / secs
    );

    // keywords everywhere: every rule's regex runs over the whole text
    let mut hot = text.clone();
    hot.push_str(" password token secret aws :// eyJ private key sg. ghp_ xoxb- twilio hf_ ");
    let t = std::time::Instant::now();
    let _ = s.scan("app/config.yaml", hot.as_bytes());
    let secs = t.elapsed().as_secs_f64();
    println!(
        "all rules triggered: {:.0} MB/s",
        hot.len() as f64 / 1e6 / secs
    );
}

#[test]
fn url_credentials_in_package_sources_are_doc_examples() {
    let scanner = SecretScanner::builtin();
    let line = b"    >>> uri_to_iri('http://alice:Zq8vN3pLr7Tx@example.org/')\nDB = 'postgres://app:Zq8vN3pLr7Tx@db.internal:5432/app'\n";
    let in_package = scanner.scan(
        "usr/local/lib/python3.11/site-packages/werkzeug/urls.py",
        line,
    );
    assert!(
        in_package.iter().all(|f| f.rule_id != "password-in-url"),
        "{in_package:?}"
    );
    let in_app = scanner.scan("app/settings.py", line);
    assert!(
        in_app
            .iter()
            .any(|f| f.rule_id == "password-in-url" && f.line == Some(2)),
        "{in_app:?}"
    );
}
