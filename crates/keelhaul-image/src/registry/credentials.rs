//! Registry credentials: explicit ones, Docker's `config.json`, Podman's `auth.json`,
//! and credential helpers (`docker-credential-NAME get`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

/// A username and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even in debug logs.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The auth files to consult, most specific first.
fn auth_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(f));
    }
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => files.push(PathBuf::from(d).join("config.json")),
        None => {
            if let Some(home) = dirs::home_dir() {
                files.push(home.join(".docker/config.json"));
            }
        }
    }
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(run).join("containers/auth.json"));
    }
    if let Some(cfg) = dirs::config_dir() {
        files.push(cfg.join("containers/auth.json"));
    }
    files
}

/// The keys an auth file may use for `registry`.
fn keys_for(registry: &str) -> Vec<String> {
    let mut keys = vec![
        registry.to_owned(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
        format!("https://{registry}/v2/"),
    ];
    if registry == "docker.io" || registry == "registry-1.docker.io" {
        keys.push("https://index.docker.io/v1/".to_owned());
        keys.push("index.docker.io".to_owned());
        keys.push("docker.io".to_owned());
    }
    keys
}

/// Find credentials for `registry` (host[:port] as written in the reference).
pub(crate) fn lookup(registry: &str) -> Option<Credentials> {
    auth_files().into_iter().find_map(|path| {
        let text = std::fs::read(&path).ok()?;
        let file: AuthFile = match serde_json::from_slice(&text) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("ignoring `{}`: not valid JSON ({e})", path.display());
                return None;
            }
        };
        from_file(&file, registry)
    })
}

fn from_file(file: &AuthFile, registry: &str) -> Option<Credentials> {
    let keys = keys_for(registry);
    if let Some(helper) = keys.iter().find_map(|k| file.cred_helpers.get(k)) {
        return from_helper(helper, registry);
    }
    for key in &keys {
        if let Some(entry) = file.auths.get(key)
            && let Some(c) = decode_entry(entry)
        {
            return Some(c);
        }
    }
    file.creds_store
        .as_deref()
        .and_then(|helper| from_helper(helper, registry))
}

fn decode_entry(entry: &AuthEntry) -> Option<Credentials> {
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        });
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(entry.auth.as_deref()?.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// Ask `docker-credential-HELPER get` for the registry's credentials.
fn from_helper(helper: &str, registry: &str) -> Option<Credentials> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperReply {
        username: String,
        secret: String,
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| tracing::warn!("credential helper `{program}` could not run: {e}"))
        .ok()?;
    child.stdin.take()?.write_all(registry.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout).ok()?;
    Some(Credentials {
        username: reply.username,
        password: reply.secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_config_entries() {
        let json = r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},"127.0.0.1:5000":{"username":"a","password":"b"}}}"#;
        let file: AuthFile = serde_json::from_str(json).expect("valid");
        let hub = from_file(&file, "docker.io").expect("hub creds");
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("user", "pa:ss")
        );
        let local = from_file(&file, "127.0.0.1:5000").expect("local creds");
        assert_eq!(local.username, "a");
        assert!(from_file(&file, "quay.io").is_none());
        assert!(!format!("{hub:?}").contains("pa:ss"));
    }
}
