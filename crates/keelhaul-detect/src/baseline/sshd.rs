//! sshd_config checks, with OpenSSH's semantics: `Include` is expanded in place (globs
//! sorted), the first value of a keyword wins, and `Match` blocks are conditional so they
//! never set the global value.

use std::collections::BTreeMap;

use keelhaul_core::BaselineFinding;

use super::catalogue::*;
use super::{FileSystem, finding, glob_match};

const SSHD_CONFIG: &str = "etc/ssh/sshd_config";
const SSHD_BINARIES: &[&str] = &["usr/sbin/sshd", "sbin/sshd"];
/// OpenSSH's own limit on nested includes (READCONF_MAX_DEPTH).
const MAX_DEPTH: usize = 16;

/// A keyword's effective global value and the file that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Setting {
    pub(super) value: String,
    pub(super) path: String,
}

/// Effective global settings (keywords lowercased), or `None` without an sshd_config.
pub(super) fn effective(fs: &FileSystem) -> Option<BTreeMap<String, Setting>> {
    fs.files.get(SSHD_CONFIG)?;
    let mut out = BTreeMap::new();
    read(fs, SSHD_CONFIG, 0, &mut out);
    Some(out)
}

fn read(fs: &FileSystem, path: &str, depth: usize, out: &mut BTreeMap<String, Setting>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(text) = fs.text(path) else {
        return;
    };
    // Inside a `Match` block (other than `Match all`, which ends one): conditional.
    let mut in_match = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, rest) = split_keyword(line);
        let keyword = keyword.to_ascii_lowercase();
        if keyword == "match" {
            // A Match block runs to the next Match or the end of this file (an included
            // file's block ends with that file).
            in_match = !args(rest).iter().all(|a| a.eq_ignore_ascii_case("all"));
            continue;
        }
        if in_match {
            continue;
        }
        if keyword == "include" {
            for arg in args(rest) {
                let target = match arg.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None => format!("etc/ssh/{arg}"),
                };
                if target.contains(['*', '?']) {
                    // BTreeMap order: byte-wise, as glob(3) sorts in the C locale.
                    let hits: Vec<&String> =
                        fs.files.keys().filter(|k| glob_match(&target, k)).collect();
                    for hit in hits {
                        read(fs, hit, depth + 1, out);
                    }
                } else {
                    read(fs, &target, depth + 1, out);
                }
            }
            continue;
        }
        if let Some(value) = args(rest).into_iter().next() {
            out.entry(keyword).or_insert_with(|| Setting {
                value: value.to_string(),
                path: path.to_string(),
            });
        }
    }
}

/// `Keyword value`, `Keyword=value` or `Keyword = value`.
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (kw, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    (kw, rest)
}

/// Whitespace-separated arguments, `"quoted"` ones kept whole, stopping at a comment.
fn args(rest: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut s = rest.trim_start();
    while !s.is_empty() && !s.starts_with('#') {
        if let Some(q) = s.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            out.push(&q[..end]);
            s = q.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = s.find(char::is_whitespace).unwrap_or(s.len());
            out.push(&s[..end]);
            s = s[end..].trim_start();
        }
    }
    out
}

pub(super) fn check(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    // Host keys: flagged whether or not sshd is there, they are secrets either way.
    let host_key = super::glob("etc/ssh/ssh_host_*_key").map(|g| g.compile_matcher());
    for (path, layer) in &fs.present {
        if host_key.as_ref().is_some_and(|m| m.is_match(path)) {
            out.push(finding(
                &SSH_HOST_KEY,
                format!("SSH host private key /{path} is shipped in the image, so every container shares it"),
                Some(path.clone()),
                layer.clone(),
            ));
        }
    }

    let settings = effective(fs);
    let binary = SSHD_BINARIES.iter().find(|b| fs.present.contains_key(**b));
    if settings.is_none() && binary.is_none() {
        return;
    }
    let settings = settings.unwrap_or_default();
    let get = |k: &str| settings.get(k);
    let at = |s: &Setting| Some(s.path.clone());
    let layer = |s: &Setting| fs.layer(&s.path);

    if let Some(s) = get("permitrootlogin")
        && s.value.eq_ignore_ascii_case("yes")
    {
        out.push(finding(
            &SSH_ROOT_LOGIN,
            format!("PermitRootLogin yes is set in /{}", s.path),
            at(s),
            layer(s),
        ));
    }
    if let Some(s) = get("permitemptypasswords")
        && s.value.eq_ignore_ascii_case("yes")
    {
        out.push(finding(
            &SSH_EMPTY_PASSWORDS,
            format!("PermitEmptyPasswords yes is set in /{}", s.path),
            at(s),
            layer(s),
        ));
    }
    match get("passwordauthentication") {
        Some(s) if s.value.eq_ignore_ascii_case("yes") => out.push(finding(
            &SSH_PASSWORD_AUTH,
            format!("PasswordAuthentication yes is set in /{}", s.path),
            at(s),
            layer(s),
        )),
        Some(_) => {}
        None => {
            // sshd is installed and nothing turns passwords off: OpenSSH's default is yes.
            let path = if fs.files.contains_key(SSHD_CONFIG) {
                SSHD_CONFIG.to_string()
            } else {
                binary.map(|b| b.to_string()).unwrap_or_default()
            };
            let layer = fs.layer(&path);
            out.push(finding(
                &SSH_PASSWORD_AUTH,
                "sshd is installed and PasswordAuthentication is not set (OpenSSH defaults to yes)"
                    .to_string(),
                Some(path),
                layer,
            ));
        }
    }
}
