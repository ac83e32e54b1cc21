//! A real registry (Debian's `docker-registry`, CNCF distribution 2.8) on a free loopback
//! port, with its storage in a temporary directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tools::run;
use crate::{have, which};

/// How the registry authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anonymous read and write.
    None,
    /// htpasswd Basic auth.
    Basic { user: String, password: String },
    /// Docker token auth, with our token server.
    Token { user: String, password: String },
}

/// A running registry; killed on drop.
pub struct Registry {
    registry: Child,
    token_server: Option<Child>,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub auth: Auth,
}

/// Whether the registry tests can run here.
pub fn available(auth: &Auth) -> bool {
    have("docker-registry")
        && have("skopeo")
        && match auth {
            Auth::None => true,
            Auth::Basic { .. } => have("htpasswd"),
            Auth::Token { .. } => python_has_cryptography(),
        }
}

fn python_has_cryptography() -> bool {
    Command::new("python3")
        .args(["-c", "import cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(what: &str, child: &mut Child, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if ready() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not become ready");
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut token_server = None;
        let auth_yaml = match &auth {
            Auth::None => String::new(),
            Auth::Basic { user, password } => {
                let htpasswd = run(Command::new("htpasswd").args(["-Bbn", user, password]));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, htpasswd).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: keelhaul-test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token { user, password } => {
                let script = dir.path().join("token_server.py");
                std::fs::write(&script, include_str!("token_server.py")).unwrap();
                let cert = dir.path().join("token.pem");
                let tport = free_port();
                let mut child = Command::new("python3")
                    .arg(&script)
                    .arg(tport.to_string())
                    .arg(&cert)
                    .arg(dir.path().join("token.log"))
                    .args([user, password])
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap();
                wait_for("token server", &mut child, || {
                    cert.exists() && std::net::TcpStream::connect(("127.0.0.1", tport)).is_ok()
                });
                token_server = Some(child);
                format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{tport}/token\n    service: keelhaul-test-registry\n    issuer: keelhaul-test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  redirect:\n    disable: true\nhttp:\n  addr: {addr}\n{auth_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut registry = Command::new(which("docker-registry").unwrap())
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("docker-registry", &mut registry, || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
        Registry {
            registry,
            token_server,
            dir,
            addr,
            auth,
        }
    }

    fn creds(&self) -> Option<String> {
        match &self.auth {
            Auth::None => None,
            Auth::Basic { user, password } | Auth::Token { user, password } => {
                Some(format!("{user}:{password}"))
            }
        }
    }

    /// Copy `src` (a skopeo source like `oci:DIR:TAG`) to `REPO:TAG` in this registry;
    /// `--all` copies every platform of an index.
    pub fn push(&self, src: &str, repo_tag: &str, all: bool) {
        let dst = format!("docker://{}/{repo_tag}", self.addr);
        let mut extra: Vec<String> = Vec::new();
        if let Some(c) = self.creds() {
            extra.push("--dest-creds".into());
            extra.push(c);
        }
        if all {
            extra.push("--all".into());
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        crate::tools::skopeo_copy(src, &dst, &extra);
    }

    /// Where the registry stores a blob (its filesystem driver layout).
    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Lines the token server logged (one per token request).
    pub fn token_requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("token.log"))
            .map(|s| s.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.registry.kill();
        let _ = self.registry.wait();
        if let Some(t) = &mut self.token_server {
            let _ = t.kill();
            let _ = t.wait();
        }
    }
}
