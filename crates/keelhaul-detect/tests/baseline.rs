//! End-to-end baseline check of a Debian-12-like image with a few planted problems.
//!
//! No differential test against Dockle: it is not packaged in Debian, so it cannot be
//! installed here.

use std::collections::BTreeSet;
use std::path::Path;

use keelhaul_core::Digest;
use keelhaul_detect::baseline::{
    self, FileSystem, ImageConfig, SpecialEntry, Want, check, is_special, wanted,
};

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/baseline")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn pem(kind: &str, body: &str) -> String {
    format!("-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n")
}

/// Feeds an entry the way the engine would: through `wanted`/`is_special`.
struct Engine {
    fs: FileSystem,
    layer: Digest,
}

impl Engine {
    fn file(&mut self, path: &str, mode: u32, content: &[u8]) {
        match wanted(path) {
            Some(Want::Content { max_bytes, .. }) => {
                let n = content.len().min(max_bytes);
                self.fs.files.insert(
                    path.to_string(),
                    (content[..n].to_vec(), Some(self.layer.clone())),
                );
                self.fs.modes.insert(path.to_string(), mode);
            }
            Some(Want::Presence { .. }) => {
                self.fs
                    .present
                    .insert(path.to_string(), Some(self.layer.clone()));
            }
            None => {}
        }
        self.special(path, mode, false);
    }

    fn special(&mut self, path: &str, mode: u32, is_dir: bool) {
        if is_special(mode, is_dir) {
            self.fs.special.push(SpecialEntry {
                path: path.to_string(),
                mode,
                uid: 0,
                gid: 0,
                is_dir,
                layer: Some(self.layer.clone()),
            });
        }
    }
}

#[test]
fn debian_like_image_with_planted_problems() {
    let mut e = Engine {
        fs: FileSystem {
            os_family: Some("debian".into()),
            ..FileSystem::default()
        },
        layer: Digest::sha256_of(b"layer"),
    };
    e.file("etc/passwd", 0o644, &fixture("passwd"));
    e.file("etc/shadow", 0o644, &fixture("shadow")); // planted: should be 0640
    e.file("etc/group", 0o644, &fixture("group"));
    e.file("etc/ssh/sshd_config", 0o644, &fixture("sshd_config"));
    e.file(
        "etc/ssh/sshd_config.d/10-root.conf",
        0o644,
        &fixture("sshd_config.d/10-root.conf"),
    );
    e.file(
        "etc/ssh/sshd_config.d/50-hardening.conf",
        0o644,
        &fixture("sshd_config.d/50-hardening.conf"),
    );
    e.file("etc/ssh/ssh_host_ed25519_key", 0o600, b"(key)");
    e.file(
        "etc/ssh/ssh_host_ed25519_key.pub",
        0o644,
        b"ssh-ed25519 AAAA",
    );
    e.file("usr/sbin/sshd", 0o755, b"ELF");
    e.file("usr/bin/sudo", 0o4755, b"ELF");
    e.file("usr/bin/passwd", 0o4755, b"ELF");
    e.file("usr/bin/chage", 0o2755, b"ELF");
    e.file("usr/lib/openssh/ssh-keysign", 0o4755, b"ELF");
    e.file("usr/bin/pkexec", 0o4755, b"ELF");
    e.file("usr/local/bin/backup-helper", 0o4755, b"ELF");
    e.file("usr/bin/ls", 0o755, b"ELF");
    e.file(
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
        0o644,
        b"",
    );
    e.file("var/lib/apt/lists/lock", 0o640, b"");
    e.file("etc/ssl/certs/ca-certificates.crt", 0o644, b"");
    let cert = pem("CERTIFICATE", "TUlJQzAwMDAw");
    let key = pem(&["PRIVATE", "KEY"].join(" "), "TUlJRXZRSUJBREFO");
    e.file(
        "app/certs/server.pem",
        0o640,
        format!("{cert}{key}").as_bytes(),
    );
    e.file("app/certs/ca.pem", 0o644, cert.as_bytes());
    e.special("tmp", 0o1777, true);
    e.special("var/tmp", 0o1777, true);
    e.special("var/www/uploads", 0o777, true);

    let config = ImageConfig {
        user: None,
        healthcheck: None,
        exposed_ports: vec!["22/tcp".into(), "8080/tcp".into()],
        env: vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            "DB_PASSWORD=correct-horse".into(),
        ],
        history: vec![
            "/bin/sh -c #(nop) ADD file:4f6e2c0a in / ".into(),
            "/bin/sh -c #(nop)  CMD [\"bash\"]".into(),
            "RUN /bin/sh -c apt-get update && apt-get install -y openssh-server sudo # buildkit"
                .into(),
            "ADD https://downloads.example.com/tool.tar.gz /opt/ # buildkit".into(),
        ],
        tags: vec!["registry.example.com/app:latest".into()],
        cmd: vec!["/usr/sbin/sshd".into(), "-D".into()],
        ..ImageConfig::default()
    };

    let findings = check(Some(&config), &e.fs);
    let got: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| (f.id.clone(), f.path.clone().unwrap_or_default()))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("KH-IMG-001", ""),
        ("KH-IMG-002", ""),
        ("KH-IMG-003", ""),
        ("KH-IMG-004", "config:history[3]"),
        ("KH-IMG-005", "config:Env"),
        ("KH-IMG-006", ""),
        ("KH-IMG-007", "usr/bin/sudo"),
        ("KH-IMG-008", "var/lib/apt/lists"),
        ("KH-IMG-010", "etc/shadow"),
        ("KH-IMG-011", "etc/shadow"),
        ("KH-IMG-012", "etc/passwd"),
        ("KH-IMG-015", "etc/passwd"),
        ("KH-IMG-016", "etc/shadow"),
        ("KH-IMG-027", "etc/ssh/sshd_config.d/10-root.conf"),
        ("KH-IMG-029", "etc/ssh/sshd_config"),
        ("KH-IMG-030", "etc/ssh/ssh_host_ed25519_key"),
        ("KH-IMG-031", "usr/local/bin/backup-helper"),
        ("KH-IMG-032", "usr/bin/pkexec"),
        ("KH-IMG-034", "var/www/uploads"),
        ("KH-IMG-035", "app/certs/server.pem"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, expected, "{findings:#?}");
    // One finding per (id, path) here: nothing reported twice.
    assert_eq!(findings.len(), expected.len());

    // Reasons name the concrete account / setting, and never print the secret.
    let reason = |id: &str| {
        findings
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason("KH-IMG-010").contains("`guest`"));
    assert!(reason("KH-IMG-011").contains("`app`"));
    assert!(reason("KH-IMG-012").contains("`toor`"));
    assert!(reason("KH-IMG-015").contains("`backup`"));
    assert!(reason("KH-IMG-005").contains("DB_PASSWORD"));
    assert!(findings.iter().all(|f| !f.reason.contains("correct-horse")));
    // File findings carry the layer.
    let shadow = findings.iter().find(|f| f.id == "KH-IMG-016");
    assert_eq!(shadow.and_then(|f| f.layer.clone()), Some(e.layer.clone()));
    // Severity/title/remediation come from the catalogue.
    for f in &findings {
        let c = baseline::CHECKS.iter().find(|c| c.id == f.id);
        assert!(c.is_some_and(|c| c.severity == f.severity && c.title == f.title));
    }
}

#[test]
fn hardened_variant_is_clean() {
    let mut e = Engine {
        fs: FileSystem::default(),
        layer: Digest::sha256_of(b"layer"),
    };
    // The same account files minus the planted lines.
    let strip = |name: &str, planted: &[&str]| -> Vec<u8> {
        let text = String::from_utf8_lossy(&fixture(name)).into_owned();
        text.lines()
            .filter(|l| !planted.iter().any(|p| l.starts_with(p)))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .replace(
                "backup:/var/backups:/bin/bash",
                "backup:/var/backups:/usr/sbin/nologin",
            )
            .into_bytes()
    };
    let planted = ["app:", "guest:", "toor:"];
    e.file("etc/passwd", 0o644, &strip("passwd", &planted));
    e.file("etc/shadow", 0o640, &strip("shadow", &planted));
    e.file("etc/group", 0o644, &strip("group", &planted));
    e.file("usr/bin/passwd", 0o4755, b"ELF");
    e.special("tmp", 0o1777, true);
    let config = ImageConfig {
        user: Some("65534:65534".into()),
        healthcheck: Some(vec!["CMD".into(), "/healthz".into()]),
        tags: vec!["registry.example.com/app@sha256:0123".into()],
        ..ImageConfig::default()
    };
    let findings = check(Some(&config), &e.fs);
    assert!(findings.is_empty(), "{findings:#?}");
}
