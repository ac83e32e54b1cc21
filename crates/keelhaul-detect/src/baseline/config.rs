//! Image config checks: USER, HEALTHCHECK, EXPOSE, ADD, build-time variables, tag, VOLUME.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use keelhaul_core::BaselineFinding;
use regex::Regex;

use super::accounts::{Accounts, PASSWD};
use super::catalogue::*;
use super::{ImageConfig, finding};

pub(super) fn check(cfg: &ImageConfig, acc: &Accounts, out: &mut Vec<BaselineFinding>) {
    if let Some(reason) = root_user(cfg.user.as_deref(), acc) {
        out.push(finding(&RUNS_AS_ROOT, reason, None, None));
    }

    match cfg.healthcheck.as_deref() {
        None | Some([]) => out.push(finding(
            &NO_HEALTHCHECK,
            "the image defines no HEALTHCHECK".to_string(),
            None,
            None,
        )),
        Some([first, ..]) if first.eq_ignore_ascii_case("NONE") => out.push(finding(
            &NO_HEALTHCHECK,
            "HEALTHCHECK NONE disables the inherited health check".to_string(),
            None,
            None,
        )),
        Some(_) => {}
    }

    for port in &cfg.exposed_ports {
        if port.split('/').next().map(str::trim) == Some("22") {
            out.push(finding(
                &SSH_PORT,
                format!("the image exposes port {port}"),
                None,
                None,
            ));
        }
    }

    for (i, line) in cfg.history.iter().enumerate() {
        if let Some(url) = remote_add(line) {
            out.push(finding(
                &ADD_REMOTE,
                format!("history[{i}] ADDs the remote source {url} without a checksum"),
                Some(format!("config:history[{i}]")),
                None,
            ));
        }
        let names = build_arg_names(line);
        if !names.is_empty() {
            let list: Vec<&str> = names.iter().map(String::as_str).collect();
            out.push(finding(
                &SENSITIVE_VARIABLE,
                format!(
                    "history[{i}] records build argument(s) {} with a value (value not shown)",
                    list.join(", ")
                ),
                Some(format!("config:history[{i}]")),
                None,
            ));
        }
    }
    for var in &cfg.env {
        if let Some((name, value)) = var.split_once('=')
            && has_value(value)
            && is_sensitive_name(name)
        {
            out.push(finding(
                &SENSITIVE_VARIABLE,
                format!("environment variable {name} is set in the image (value not shown)"),
                Some("config:Env".to_string()),
                None,
            ));
        }
    }

    if !cfg.tags.is_empty() && cfg.tags.iter().all(|t| is_latest(t)) {
        out.push(finding(
            &LATEST_TAG,
            format!(
                "the image is only known as {}, which names no fixed version",
                cfg.tags.join(", ")
            ),
            None,
            None,
        ));
    }

    for vol in &cfg.volumes {
        let v = vol.trim_end_matches('/');
        if ["/dev", "/proc", "/sys"]
            .iter()
            .any(|d| v == *d || v.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
        {
            out.push(finding(
                &SENSITIVE_VOLUME,
                format!("the image declares VOLUME {vol}"),
                None,
                None,
            ));
        }
    }
}

/// Why the configured user is root, or `None`.
fn root_user(user: Option<&str>, acc: &Accounts) -> Option<String> {
    let user = user.map(str::trim).unwrap_or("");
    if user.is_empty() {
        return Some("no USER is set, so the container runs as root".to_string());
    }
    // `user[:group]`; only the user part decides the UID.
    let name = user.split(':').next().unwrap_or(user);
    if name == "root" || name == "0" {
        return Some(format!("USER is `{user}`"));
    }
    if name.parse::<u64>().is_err()
        && acc
            .passwd
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .any(|p| p.name == name && p.uid == Some(0))
    {
        return Some(format!("USER `{name}` has UID 0 in /{PASSWD}"));
    }
    None
}

static ADD_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s|#\(nop\)\s*)ADD\s+((?:--\S+\s+)*)((?:https?|ftp)://\S+|git@\S+)").ok()
});

/// The (credential-free) remote source of an `ADD` history line without `--checksum`.
pub(super) fn remote_add(line: &str) -> Option<String> {
    let caps = ADD_RE.as_ref()?.captures(line)?;
    let flags = caps.get(1).map_or("", |m| m.as_str());
    if flags.contains("--checksum") {
        return None;
    }
    let src = caps.get(2)?.as_str();
    Some(redact_url(src))
}

/// `scheme://host` or `git@host`: no user info, path or query (they may hold tokens).
pub(super) fn redact_url(src: &str) -> String {
    if let Some((scheme, rest)) = src.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or(authority);
        format!("{scheme}://{host}/…")
    } else {
        let host = src
            .trim_start_matches("git@")
            .split(':')
            .next()
            .unwrap_or("");
        format!("git@{host}:…")
    }
}

static RUN_ARGS_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*(?:RUN\s+)?\|(\d+)\s+(.*)$").ok());
static ARG_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^\s*|#\(nop\)\s+)ARG\s+(.+)$").ok());
static BUILD_ARG_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"--build-arg[\s=]+["']?([A-Za-z_][A-Za-z0-9_]*)=(\S*)"#).ok());

/// Sensitive build-argument names a history line records with a non-empty value: the
/// `|N NAME=value …` prefix Docker writes for RUN steps, `ARG NAME=default`, and
/// `--build-arg NAME=value`. `ENV` lines are left to the `Env` check (same values).
pub(super) fn build_arg_names(line: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut consider = |name: &str, value: &str| {
        if has_value(value) && is_sensitive_name(name) {
            names.insert(name.to_string());
        }
    };
    if let Some(re) = RUN_ARGS_RE.as_ref()
        && let Some(c) = re.captures(line)
    {
        let n: usize = c.get(1).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        let rest = c.get(2).map_or("", |m| m.as_str());
        for tok in rest.split_whitespace().take(n) {
            if let Some((k, v)) = tok.split_once('=') {
                consider(k, v);
            }
        }
    }
    if let Some(re) = ARG_RE.as_ref()
        && let Some(c) = re.captures(line)
    {
        for tok in c.get(1).map_or("", |m| m.as_str()).split_whitespace() {
            if let Some((k, v)) = tok.split_once('=') {
                consider(k, v);
            }
        }
    }
    if let Some(re) = BUILD_ARG_RE.as_ref() {
        for c in re.captures_iter(line) {
            consider(
                c.get(1).map_or("", |m| m.as_str()),
                c.get(2).map_or("", |m| m.as_str()),
            );
        }
    }
    names
}

fn has_value(v: &str) -> bool {
    !v.trim().trim_matches(['"', '\'']).is_empty()
}

/// Whether a variable name looks like it carries a credential (`DB_PASSWORD`, `NPM_TOKEN`,
/// `AWS_SECRET_ACCESS_KEY`, `API_KEY`). Names of pointers to credentials (`…_FILE`,
/// `…_PATH`, `…_URL`) and of metadata (`…_TTL`, `…_LENGTH`) are not.
pub(super) fn is_sensitive_name(name: &str) -> bool {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    const NOT_A_VALUE: &[&str] = &[
        "FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "USER", "USERNAME",
        "NAME", "ID", "TTL", "LENGTH", "EXPIRY", "TYPE", "ENABLED", "REQUIRED",
    ];
    if words.last().is_some_and(|w| NOT_A_VALUE.contains(w)) {
        return false;
    }
    const ENDINGS: &[&str] = &[
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
    ];
    words.iter().enumerate().any(|(i, w)| {
        ENDINGS.iter().any(|e| w.ends_with(e))
            || *w == "PASS"
            || (*w == "PWD" && words.len() > 1)
            || (*w == "KEY"
                && i > 0
                && matches!(
                    words[i - 1],
                    "API" | "ACCESS" | "PRIVATE" | "AUTH" | "SIGNING"
                ))
    })
}

/// Whether a reference names `latest`, explicitly or by omitting the tag. A digest pins it.
pub(super) fn is_latest(reference: &str) -> bool {
    if reference.contains('@') {
        return false;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}
