//! File checks: special modes, sudo, package caches, private keys, trust files, sudoers,
//! unnecessary files.

use std::collections::BTreeMap;

use keelhaul_core::{BaselineFinding, Digest};

use super::catalogue::*;
use super::{FileSystem, KEY_GLOBS, finding, glob_match};

/// Distro-standard setuid/setgid programs (Debian, Ubuntu, Alpine, RHEL families), by file
/// name; they count only inside the system directories below. `sudo`/`sudoedit` have
/// their own check, and `pkexec` is deliberately absent.
const KNOWN_SETUID: &[&str] = &[
    "passwd",
    "su",
    "mount",
    "umount",
    "chsh",
    "chfn",
    "gpasswd",
    "newgrp",
    "sg",
    "unix_chkpwd",
    "expiry",
    "chage",
    "wall",
    "write",
    "bsd-write",
    "ssh-agent",
    "ssh-keysign",
    "crontab",
    "newuidmap",
    "newgidmap",
    "dbus-daemon-launch-helper",
    "polkit-agent-helper-1",
    "pam_timestamp_check",
    "userhelper",
    "dotlockfile",
    "bbsuid",
    "ping",
    "ping6",
];

/// Where distro packages put their programs.
const SYSTEM_DIRS: &[&str] = &[
    "bin/",
    "sbin/",
    "usr/bin/",
    "usr/sbin/",
    "lib/",
    "lib64/",
    "usr/lib/",
    "usr/lib64/",
    "usr/libexec/",
];

const SUDO_NAMES: &[&str] = &["sudo", "sudoedit", "doas"];
const SUDO_PATHS: &[&str] = &[
    "usr/bin/sudo",
    "bin/sudo",
    "usr/sbin/sudo",
    "usr/local/bin/sudo",
    "usr/bin/doas",
];

/// Package caches: a name and the globs of their indicative files.
const CACHES: &[(&str, &[&str])] = &[
    ("apt package archives", &["var/cache/apt/archives/*.deb"]),
    ("apt package lists", &["var/lib/apt/lists/*_Packages*"]),
    ("apk cache", &["var/cache/apk/*"]),
    (
        "yum cache",
        &["var/cache/yum/**/*.rpm", "var/cache/yum/**/repomd.xml"],
    ),
    (
        "dnf cache",
        &[
            "var/cache/dnf/**/*.rpm",
            "var/cache/dnf/**/repomd.xml",
            "var/cache/dnf/*.solv",
        ],
    ),
    ("pip cache", &["root/.cache/pip/**", "home/*/.cache/pip/**"]),
    (
        "npm cache",
        &["root/.npm/_cacache/**", "home/*/.npm/_cacache/**"],
    ),
    ("yarn cache", &["usr/local/share/.cache/yarn/**"]),
];

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn in_system_dir(path: &str) -> bool {
    SYSTEM_DIRS.iter().any(|d| path.starts_with(d))
}

pub(super) fn check(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    special_modes(fs, out);
    sudo(fs, out);
    caches(fs, out);
    private_keys(fs, out);
    trust_files(fs, out);
    sudoers(fs, out);
    unnecessary(fs, out);
}

fn special_modes(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    for e in &fs.special {
        let m = e.mode & 0o7777;
        let p = Some(e.path.clone());
        if e.is_dir {
            if m & 0o002 != 0 && m & 0o1000 == 0 {
                out.push(finding(
                    &WORLD_WRITABLE_DIR,
                    format!(
                        "directory /{} is world-writable without the sticky bit (mode {m:04o})",
                        e.path
                    ),
                    p,
                    e.layer.clone(),
                ));
            }
            continue;
        }
        if m & 0o002 != 0 {
            out.push(finding(
                &WORLD_WRITABLE_FILE,
                format!("file /{} is world-writable (mode {m:04o})", e.path),
                p.clone(),
                e.layer.clone(),
            ));
        }
        if m & 0o6000 == 0 {
            continue;
        }
        let bits = match (m & 0o4000 != 0, m & 0o2000 != 0) {
            (true, true) => format!("setuid (UID {}) and setgid (GID {})", e.uid, e.gid),
            (true, false) => format!("setuid (UID {})", e.uid),
            _ => format!("setgid (GID {})", e.gid),
        };
        let name = base_name(&e.path);
        if name == "pkexec" {
            out.push(finding(
                &PKEXEC,
                format!(
                    "/{} is {bits}; pkexec is a frequent local privilege escalation target (PwnKit)",
                    e.path
                ),
                p,
                e.layer.clone(),
            ));
        } else if SUDO_NAMES.contains(&name) {
            // Reported by the sudo check (KH-IMG-007) below.
        } else if !(KNOWN_SETUID.contains(&name) && in_system_dir(&e.path)) {
            out.push(finding(
                &SETUID,
                format!(
                    "/{} is {bits} (mode {m:04o}) and not a standard distro program",
                    e.path
                ),
                p,
                e.layer.clone(),
            ));
        }
    }
}

fn sudo(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    let mut hits: BTreeMap<&str, Option<Digest>> = BTreeMap::new();
    for p in SUDO_PATHS {
        if let Some(l) = fs.present.get(*p) {
            hits.insert(p, l.clone());
        }
    }
    for e in &fs.special {
        if !e.is_dir && e.mode & 0o6000 != 0 && SUDO_NAMES.contains(&base_name(&e.path)) {
            hits.entry(&e.path).or_insert_with(|| e.layer.clone());
        }
    }
    for (path, layer) in hits {
        out.push(finding(
            &SUDO,
            format!("/{path} is installed"),
            Some(path.to_string()),
            layer,
        ));
    }
}

/// The cache root a hit belongs to: the hit's leading components up to the glob's `**`
/// (or its last component), so `home/*/…` resolves to the actual home.
fn cache_root(pattern: &str, path: &str) -> String {
    let pat: Vec<&str> = pattern.split('/').collect();
    let n = pat
        .iter()
        .position(|c| *c == "**")
        .unwrap_or(pat.len().saturating_sub(1));
    path.split('/').take(n).collect::<Vec<_>>().join("/")
}

fn caches(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    for (kind, globs) in CACHES {
        // root → (file count, first file, its layer)
        let mut roots: BTreeMap<String, (usize, &str, Option<Digest>)> = BTreeMap::new();
        for (path, layer) in &fs.present {
            if let Some(g) = globs.iter().find(|g| glob_match(g, path)) {
                let e = roots
                    .entry(cache_root(g, path))
                    .or_insert((0, path, layer.clone()));
                e.0 += 1;
            }
        }
        for (root, (n, first, layer)) in roots {
            let example = first.strip_prefix(root.as_str()).unwrap_or(first);
            let example = example.trim_start_matches('/');
            out.push(finding(
                &PACKAGE_CACHE,
                format!(
                    "{kind} left in /{root} ({n} file{} seen, e.g. {example})",
                    if n == 1 { "" } else { "s" }
                ),
                Some(root.clone()),
                layer,
            ));
        }
    }
}

/// Test fixtures ship throwaway keys on purpose (language runtimes, npm packages).
fn in_test_dir(path: &str) -> bool {
    path.split('/').any(|c| {
        matches!(
            c,
            "test" | "tests" | "testdata" | "testing" | "fixtures" | "__tests__"
        )
    })
}

/// The PEM/OpenSSH private key type in `text`, if any (`RSA`, `OPENSSH`, ``).
fn private_key_kind(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ")
            && let Some(kind) = rest.strip_suffix("PRIVATE KEY-----")
        {
            return Some(kind.trim().to_string());
        }
    }
    None
}

fn private_keys(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    let is_candidate = |p: &str| {
        KEY_GLOBS.iter().any(|g| glob_match(g, p))
            && !in_test_dir(p)
            && !p.starts_with("etc/ssh/ssh_host_")
    };
    for (path, (bytes, layer)) in &fs.files {
        if !is_candidate(path) {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        let Some(kind) = private_key_kind(&text) else {
            continue;
        };
        let what = if kind.is_empty() {
            "a PKCS#8 private key".to_string()
        } else if kind == "ENCRYPTED" {
            "an encrypted PKCS#8 private key".to_string()
        } else {
            format!("a {kind} private key")
        };
        let reason = if text.contains("-----BEGIN CERTIFICATE-----") {
            format!("/{path} bundles a certificate with {what}")
        } else {
            format!("/{path} contains {what}")
        };
        out.push(finding(
            &PRIVATE_KEY,
            reason,
            Some(path.clone()),
            layer.clone(),
        ));
    }
    // Named like an SSH client key but recorded without content: flag on the name.
    for (path, layer) in &fs.present {
        let name = base_name(path);
        if !fs.files.contains_key(path)
            && is_candidate(path)
            && matches!(name, "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519")
        {
            out.push(finding(
                &PRIVATE_KEY,
                format!("/{path} is named like an SSH private key"),
                Some(path.clone()),
                layer.clone(),
            ));
        }
    }
}

/// Lines that are not blank or comments.
fn meaningful_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn trust_files(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    for (path, (bytes, layer)) in &fs.files {
        let name = base_name(path);
        let text = String::from_utf8_lossy(bytes);
        let is_trust = matches!(path.as_str(), "etc/hosts.equiv" | "etc/shosts.equiv")
            || ((name == ".rhosts" || name == ".shosts")
                && (path.starts_with("root/") || path.starts_with("home/")));
        if is_trust {
            let entries: Vec<&str> = meaningful_lines(&text).collect();
            if !entries.is_empty() {
                let wildcard = if entries.iter().any(|l| l.starts_with('+')) {
                    ", including a `+` wildcard that trusts any host or user"
                } else {
                    ""
                };
                out.push(finding(
                    &HOST_TRUST,
                    format!(
                        "/{path} trusts {} host/user entr{}{wildcard}",
                        entries.len(),
                        if entries.len() == 1 { "y" } else { "ies" }
                    ),
                    Some(path.clone()),
                    layer.clone(),
                ));
            }
        }
        if (name == "authorized_keys" || name == "authorized_keys2")
            && (glob_match("root/.ssh/*", path) || glob_match("home/*/.ssh/*", path))
        {
            let n = meaningful_lines(&text).count();
            if n > 0 {
                let who = if path.starts_with("root/") {
                    "root".to_string()
                } else {
                    path.split('/').nth(1).unwrap_or("?").to_string()
                };
                out.push(finding(
                    &AUTHORIZED_KEYS,
                    format!(
                        "/{path} lets {n} preset key{} log in as {who}",
                        if n == 1 { "" } else { "s" }
                    ),
                    Some(path.clone()),
                    layer.clone(),
                ));
            }
        }
    }
}

fn sudoers(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    for (path, (bytes, layer)) in &fs.files {
        if path != "etc/sudoers" && !glob_match("etc/sudoers.d/*", path) {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        // Join `\` continuations so a rule is one line.
        let joined = text.replace("\\\n", " ");
        for line in meaningful_lines(&joined) {
            let who = line.split_whitespace().next().unwrap_or("");
            if who.starts_with("Defaults") {
                if line.contains("!authenticate") {
                    out.push(finding(
                        &SUDO_NOPASSWD,
                        format!("/{path} disables sudo authentication (`!authenticate`)"),
                        Some(path.clone()),
                        layer.clone(),
                    ));
                }
                continue;
            }
            if line.contains("NOPASSWD:") {
                out.push(finding(
                    &SUDO_NOPASSWD,
                    format!("/{path} lets `{who}` run sudo without a password"),
                    Some(path.clone()),
                    layer.clone(),
                ));
            }
        }
    }
}

fn unnecessary(fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    for (path, layer) in &fs.present {
        if glob_match("**/.DS_Store", path) {
            out.push(finding(
                &UNNECESSARY_FILE,
                format!("macOS Finder metadata /{path}"),
                Some(path.clone()),
                layer.clone(),
            ));
        } else if glob_match("**/.git/HEAD", path) {
            let dir = path.strip_suffix("/HEAD").unwrap_or(path);
            out.push(finding(
                &UNNECESSARY_FILE,
                format!("Git repository metadata /{dir} (history may hold secrets)"),
                Some(dir.to_string()),
                layer.clone(),
            ));
        }
    }
}
