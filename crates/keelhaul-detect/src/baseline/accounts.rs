//! /etc/passwd, /etc/shadow, /etc/group (+ /etc/login.defs) checks.

use std::collections::{BTreeMap, BTreeSet};

use keelhaul_core::BaselineFinding;

use super::catalogue::*;
use super::{FileSystem, finding};

pub(super) const PASSWD: &str = "etc/passwd";
const SHADOW: &str = "etc/shadow";
const GROUP: &str = "etc/group";
const GSHADOW: &str = "etc/gshadow";
const LOGIN_DEFS: &str = "etc/login.defs";

/// Default first UID of ordinary users (login.defs `UID_MIN` on current distros).
const DEFAULT_UID_MIN: u64 = 1000;
/// `nobody`: above UID_MIN but a system account.
const NOBODY_UID: u64 = 65534;

#[derive(Debug)]
pub(super) struct PwEntry {
    pub(super) name: String,
    passwd: String,
    pub(super) uid: Option<u64>,
    gid: Option<u64>,
    shell: String,
}

#[derive(Debug)]
struct SpEntry {
    name: String,
    hash: String,
}

#[derive(Debug)]
struct GrEntry {
    name: String,
    gid: Option<u64>,
    members: Vec<String>,
}

/// Parsed account databases; `None` when the file is absent.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    pub(super) passwd: Option<Vec<PwEntry>>,
    shadow: Option<Vec<SpEntry>>,
    group: Option<Vec<GrEntry>>,
    /// (file, 1-based line) of legacy NIS `+` lines.
    legacy: Vec<(&'static str, usize)>,
    uid_min: u64,
    /// login.defs `ENCRYPT_METHOD`, when set.
    encrypt_method: Option<String>,
}

/// Non-comment lines with their 1-based numbers; legacy `+` lines are reported apart.
fn records<'a>(
    text: &'a str,
    file: &'static str,
    legacy: &mut Vec<(&'static str, usize)>,
) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('+') {
            legacy.push((file, i + 1));
            continue;
        }
        out.push(line.split(':').collect());
    }
    out
}

impl Accounts {
    pub(super) fn parse(fs: &FileSystem) -> Accounts {
        let mut legacy = Vec::new();
        let passwd = fs.text(PASSWD).map(|t| {
            records(&t, PASSWD, &mut legacy)
                .into_iter()
                .filter(|f| f.len() >= 7)
                .map(|f| PwEntry {
                    name: f[0].to_string(),
                    passwd: f[1].to_string(),
                    uid: f[2].trim().parse().ok(),
                    gid: f[3].trim().parse().ok(),
                    shell: f[6].trim().to_string(),
                })
                .collect()
        });
        let shadow = fs.text(SHADOW).map(|t| {
            records(&t, SHADOW, &mut legacy)
                .into_iter()
                .filter(|f| f.len() >= 2)
                .map(|f| SpEntry {
                    name: f[0].to_string(),
                    hash: f[1].to_string(),
                })
                .collect()
        });
        let group = fs.text(GROUP).map(|t| {
            records(&t, GROUP, &mut legacy)
                .into_iter()
                .filter(|f| f.len() >= 3)
                .map(|f| GrEntry {
                    name: f[0].to_string(),
                    gid: f[2].trim().parse().ok(),
                    members: f
                        .get(3)
                        .map(|m| {
                            m.split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        });
        let mut uid_min = DEFAULT_UID_MIN;
        let mut encrypt_method = None;
        if let Some(defs) = fs.text(LOGIN_DEFS) {
            for line in defs.lines() {
                let mut words = line.split_whitespace();
                match (words.next(), words.next()) {
                    (Some("UID_MIN"), Some(v)) => uid_min = v.parse().unwrap_or(uid_min),
                    (Some("ENCRYPT_METHOD"), Some(v)) => encrypt_method = Some(v.to_string()),
                    _ => {}
                }
            }
        }
        Accounts {
            passwd,
            shadow,
            group,
            legacy,
            uid_min,
            encrypt_method,
        }
    }

    fn user(&self, name: &str) -> Option<&PwEntry> {
        self.passwd.as_deref()?.iter().find(|p| p.name == name)
    }
}

/// A shell that lets nobody in: nologin, false, and the special sync/shutdown/halt ones.
/// An empty field means /bin/sh (passwd(5)), so it is a login shell.
pub(super) fn is_login_shell(shell: &str) -> bool {
    let base = shell.rsplit('/').next().unwrap_or(shell);
    shell.is_empty()
        || !matches!(
            base,
            "nologin" | "false" | "true" | "sync" | "shutdown" | "halt"
        )
}

/// `!…`/`*…` lock the account (`!!` too); such hashes cannot be used to log in.
fn is_locked(hash: &str) -> bool {
    hash.starts_with('!') || hash.starts_with('*')
}

/// Why a usable hash is weak, or `None` when it is acceptable or unknown.
///
/// Accepted: yescrypt `$y$`, gost-yescrypt `$gy$`, SHA-512 `$6$`, SHA-256 `$5$`, bcrypt
/// `$2a$/$2b$/$2y$`, scrypt `$7$`, argon2. `$2a$` is accepted: only the long-fixed
/// crypt_blowfish 8-bit bug (CVE-2011-2483) affected it, and CIS accepts bcrypt.
pub(super) fn weak_hash(hash: &str) -> Option<&'static str> {
    if let Some(rest) = hash.strip_prefix('$') {
        let id = rest.split('$').next().unwrap_or("");
        return match id {
            "1" => Some("MD5-crypt ($1$)"),
            "3" => Some("NT hash ($3$)"),
            "md5" => Some("Sun MD5 ($md5$)"),
            "sha1" => Some("SHA1-crypt ($sha1$)"),
            _ => None,
        };
    }
    if hash.len() == 13
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    {
        return Some("traditional DES crypt");
    }
    if hash.len() == 20 && hash.starts_with('_') {
        return Some("BSDi extended DES crypt");
    }
    None
}

/// A passwd password field holding a real hash (not `x`, locked or empty).
fn passwd_field_has_hash(field: &str) -> bool {
    !field.is_empty() && field != "x" && !is_locked(field)
}

pub(super) fn check(acc: &Accounts, fs: &FileSystem, out: &mut Vec<BaselineFinding>) {
    let lp = || fs.layer(PASSWD);
    let ls = || fs.layer(SHADOW);
    let lg = || fs.layer(GROUP);
    let path = |p: &str| Some(p.to_string());
    let passwd = acc.passwd.as_deref().unwrap_or(&[]);

    for (file, line) in &acc.legacy {
        out.push(finding(
            &LEGACY_PLUS,
            format!("line {line} of /{file} is a legacy NIS `+` entry"),
            path(file),
            fs.layer(file),
        ));
    }

    // Empty passwords and weak hashes, in shadow and in passwd's own field.
    if let Some(shadow) = &acc.shadow {
        for sp in shadow {
            let shell = acc.user(&sp.name).map(|p| p.shell.as_str());
            if sp.hash.is_empty() {
                // An account without a login shell cannot use the empty password
                // interactively; an account missing from passwd is flagged to be safe.
                if shell.is_none_or(is_login_shell) {
                    let how = match shell {
                        Some("") => " and the default shell /bin/sh".to_string(),
                        Some(s) => format!(" and login shell {s}"),
                        None => String::new(),
                    };
                    out.push(finding(
                        &EMPTY_PASSWORD,
                        format!(
                            "account `{}` has an empty password in /etc/shadow{how}",
                            sp.name
                        ),
                        path(SHADOW),
                        ls(),
                    ));
                }
            } else if !is_locked(&sp.hash)
                && let Some(alg) = weak_hash(&sp.hash)
            {
                out.push(finding(
                    &WEAK_HASH,
                    format!("password of `{}` is hashed with {alg}", sp.name),
                    path(SHADOW),
                    ls(),
                ));
            }
        }
    }
    for pw in passwd {
        let in_shadow = acc
            .shadow
            .as_ref()
            .is_some_and(|s| s.iter().any(|sp| sp.name == pw.name));
        if pw.passwd.is_empty() && is_login_shell(&pw.shell) {
            // An empty passwd field is used as is: no shadow lookup happens.
            out.push(finding(
                &EMPTY_PASSWORD,
                format!(
                    "account `{}` has an empty password field in /etc/passwd",
                    pw.name
                ),
                path(PASSWD),
                lp(),
            ));
        }
        if passwd_field_has_hash(&pw.passwd) {
            out.push(finding(
                &HASH_READABLE,
                format!(
                    "password hash of `{}` is stored in world-readable /etc/passwd",
                    pw.name
                ),
                path(PASSWD),
                lp(),
            ));
            if let Some(alg) = weak_hash(&pw.passwd) {
                out.push(finding(
                    &WEAK_HASH,
                    format!("password of `{}` is hashed with {alg}", pw.name),
                    path(PASSWD),
                    lp(),
                ));
            }
        }
        if pw.passwd == "x" && acc.shadow.is_some() && !in_shadow {
            out.push(finding(
                &MISSING_SHADOW,
                format!("account `{}` has no /etc/shadow entry", pw.name),
                path(PASSWD),
                lp(),
            ));
        }
        if pw.uid == Some(0) && pw.name != "root" {
            out.push(finding(
                &UID0_NON_ROOT,
                format!("account `{}` has UID 0", pw.name),
                path(PASSWD),
                lp(),
            ));
        }
        if pw.name == "root" && pw.gid.is_some_and(|g| g != 0) {
            out.push(finding(
                &ROOT_GID,
                format!(
                    "root's primary GID is {}",
                    pw.gid.map(|g| g.to_string()).unwrap_or_default()
                ),
                path(PASSWD),
                lp(),
            ));
        }
        if let Some(uid) = pw.uid
            && uid != 0 // root itself, or KH-IMG-012's business
            && (uid < acc.uid_min || uid == NOBODY_UID)
            && is_login_shell(&pw.shell)
        {
            let shell = if pw.shell.is_empty() {
                "/bin/sh (empty shell field)"
            } else {
                &pw.shell
            };
            out.push(finding(
                &SYSTEM_LOGIN_SHELL,
                format!(
                    "system account `{}` (UID {uid}) has login shell {shell}",
                    pw.name
                ),
                path(PASSWD),
                lp(),
            ));
        }
        if let (Some(groups), Some(gid)) = (&acc.group, pw.gid)
            && !groups.iter().any(|g| g.gid == Some(gid))
        {
            out.push(finding(
                &MISSING_GROUP,
                format!(
                    "primary GID {gid} of `{}` is not defined in /etc/group",
                    pw.name
                ),
                path(PASSWD),
                lp(),
            ));
        }
    }

    if let Some(m) = &acc.encrypt_method {
        let upper = m.to_ascii_uppercase();
        if upper == "DES" || upper == "MD5" {
            out.push(finding(
                &WEAK_HASH,
                format!("/etc/login.defs sets ENCRYPT_METHOD {m}"),
                path(LOGIN_DEFS),
                fs.layer(LOGIN_DEFS),
            ));
        }
    }

    // Duplicates. UID 0 sharing is KH-IMG-012's business, not repeated here.
    for (name, n) in counts(passwd.iter().map(|p| p.name.clone())) {
        out.push(finding(
            &DUPLICATE_USER,
            format!("user name `{name}` appears {n} times in /etc/passwd"),
            path(PASSWD),
            lp(),
        ));
    }
    for (uid, names) in shared(passwd.iter().filter_map(|p| Some((p.uid?, p.name.clone())))) {
        if uid != 0 {
            out.push(finding(
                &DUPLICATE_USER,
                format!("UID {uid} is shared by {}", names.join(", ")),
                path(PASSWD),
                lp(),
            ));
        }
    }
    let groups = acc.group.as_deref().unwrap_or(&[]);
    for (name, n) in counts(groups.iter().map(|g| g.name.clone())) {
        out.push(finding(
            &DUPLICATE_GROUP,
            format!("group name `{name}` appears {n} times in /etc/group"),
            path(GROUP),
            lg(),
        ));
    }
    for (gid, names) in shared(groups.iter().filter_map(|g| Some((g.gid?, g.name.clone())))) {
        out.push(finding(
            &DUPLICATE_GROUP,
            format!("GID {gid} is shared by groups {}", names.join(", ")),
            path(GROUP),
            lg(),
        ));
    }
    if let Some(shadow) = &acc.shadow {
        let usable = shadow
            .iter()
            .filter(|s| s.hash.len() > 2 && !is_locked(&s.hash))
            .map(|s| (s.hash.clone(), s.name.clone()));
        for (_, names) in shared(usable) {
            out.push(finding(
                &DUPLICATE_HASH,
                format!("accounts {} have the same password hash", names.join(", ")),
                path(SHADOW),
                ls(),
            ));
        }
    }

    // Group membership.
    for g in groups {
        if g.name == "shadow" {
            let mut members: BTreeSet<&str> = g.members.iter().map(String::as_str).collect();
            members.extend(
                passwd
                    .iter()
                    .filter(|p| p.gid.is_some() && p.gid == g.gid)
                    .map(|p| p.name.as_str()),
            );
            if !members.is_empty() {
                let list: Vec<&str> = members.into_iter().collect();
                out.push(finding(
                    &SHADOW_GROUP_MEMBERS,
                    format!("group `shadow` has members {}", list.join(", ")),
                    path(GROUP),
                    lg(),
                ));
            }
        }
        let privileged = g.gid == Some(0) || matches!(g.name.as_str(), "sudo" | "wheel" | "admin");
        if privileged {
            for m in g.members.iter().filter(|m| *m != "root") {
                out.push(finding(
                    &PRIVILEGED_GROUP,
                    format!("account `{m}` is a member of privileged group `{}`", g.name),
                    path(GROUP),
                    lg(),
                ));
            }
        }
    }

    // World-readable hash files (group-readable by `shadow` is the Debian/Alpine norm).
    for file in [SHADOW, GSHADOW] {
        if let Some(mode) = fs.modes.get(file)
            && mode & 0o004 != 0
        {
            out.push(finding(
                &HASH_READABLE,
                format!("/{file} is world-readable (mode {:04o})", mode & 0o7777),
                path(file),
                fs.layer(file),
            ));
        }
    }
}

/// Values appearing more than once, with their count.
fn counts(items: impl Iterator<Item = String>) -> Vec<(String, usize)> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m.into_iter().filter(|(_, n)| *n > 1).collect()
}

/// Keys shared by more than one item, with the items (in file order).
fn shared<K: Ord>(items: impl Iterator<Item = (K, String)>) -> Vec<(K, Vec<String>)> {
    let mut m: BTreeMap<K, Vec<String>> = BTreeMap::new();
    for (k, v) in items {
        m.entry(k).or_default().push(v);
    }
    m.into_iter().filter(|(_, v)| v.len() > 1).collect()
}
