//! Baseline checks: unsafe settings of an image (config, accounts, SSH, file modes).
//!
//! This module knows nothing about layers. The layer engine collects, in its single pass:
//!
//! * the content of the files [`wanted`] answers [`Want::Content`] for (their final state
//!   after whiteouts, truncated to the given size), with their mode in [`FileSystem::modes`];
//! * the paths [`wanted`] answers [`Want::Presence`] for (non-directories only, at most
//!   [`MAX_PRESENCE_HITS_PER_GLOB`] per glob), in [`FileSystem::present`];
//! * every regular file or directory whose mode [`is_special`] accepts, in
//!   [`FileSystem::special`];
//! * the image config, as an [`ImageConfig`].
//!
//! [`check`] then turns them into [`BaselineFinding`]s, in a deterministic order. The
//! catalogue of checks is [`CHECKS`]; `docs/baseline.md` compares it with Dockle and
//! Huawei Cloud HSS.
//!
//! Paths everywhere are relative to the image root, `/`-separated, with no leading `/` or
//! `./` (`etc/passwd`).

mod accounts;
mod catalogue;
mod config;
mod files;
mod sshd;

use std::collections::BTreeMap;

use keelhaul_core::{BaselineFinding, Digest, Severity};

pub use catalogue::CHECKS;

/// Version of the check catalogue; bumped whenever a check is added, removed or changes
/// what it flags, so stored results can be told apart.
pub const CHECKS_VERSION: u32 = 1;

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable id (`KH-IMG-001`).
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Severity of every finding of this check.
    pub severity: Severity,
    /// What to do about it.
    pub remediation: &'static str,
    /// Related benchmark items (`CIS-DI-0001`, `DKL-DI-0005`, `HSS: …`).
    pub references: &'static [&'static str],
}

/// Content cap for account, SSH and sudo files: they are small, and a bigger one is not
/// worth more than its first megabyte.
pub const MAX_CONTENT_BYTES: usize = 1 << 20;

/// Content cap for candidate key files (`*.pem`, `*.key`, `id_*`): a private key block is a
/// few KiB; reading a prefix is enough and keeps large certificate bundles cheap.
pub const MAX_KEY_BYTES: usize = 64 << 10;

/// The engine may stop recording [`Want::Presence`] hits of one glob after this many: the
/// checks only need to know a cache exists, not every file in it.
pub const MAX_PRESENCE_HITS_PER_GLOB: usize = 64;

/// What the engine should record for a path (see [`wanted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Read the file (its first `max_bytes` bytes) into [`FileSystem::files`] and its mode
    /// into [`FileSystem::modes`].
    Content {
        /// The exact path or glob that asked for it.
        pattern: &'static str,
        /// Read at most this many bytes.
        max_bytes: usize,
    },
    /// Record only that the path exists, in [`FileSystem::present`].
    Presence {
        /// The glob that asked for it (the cap [`MAX_PRESENCE_HITS_PER_GLOB`] is per glob).
        pattern: &'static str,
    },
}

/// Exact paths whose content the checks read.
const WANTED_PATHS: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/group",
    "etc/gshadow",
    "etc/login.defs",
    "etc/ssh/sshd_config",
    "etc/sudoers",
    "etc/hosts.equiv",
    "etc/shosts.equiv",
    "root/.rhosts",
    "root/.shosts",
    "root/.ssh/authorized_keys",
    "root/.ssh/authorized_keys2",
];

/// Globs whose content the checks read (small files): sshd includes, sudoers drop-ins,
/// per-user trust files.
const CONTENT_GLOBS: &[&str] = &[
    "etc/ssh/sshd_config.d/*",
    "etc/sudoers.d/*",
    "home/*/.ssh/authorized_keys",
    "home/*/.ssh/authorized_keys2",
    "home/*/.rhosts",
    "home/*/.shosts",
];

/// Globs of candidate private keys: content read up to [`MAX_KEY_BYTES`].
const KEY_GLOBS: &[&str] = &[
    "**/*.pem",
    "**/*.key",
    "**/id_rsa",
    "**/id_dsa",
    "**/id_ecdsa",
    "**/id_ed25519",
];

/// Trust-store directories: certificates only, and many of them, so not worth reading.
const KEY_GLOB_EXCLUDED_PREFIXES: &[&str] = &[
    "etc/ssl/certs/",
    "etc/pki/ca-trust/",
    "etc/pki/tls/certs/",
    "usr/share/ca-certificates/",
    "usr/local/share/ca-certificates/",
];

/// Paths whose presence alone matters. Cache globs name indicative files (package
/// archives, index files) rather than whole trees, and the engine may cap their hits.
const PRESENCE_GLOBS: &[&str] = &[
    "etc/ssh/ssh_host_*_key",
    "usr/bin/sudo",
    "bin/sudo",
    "usr/sbin/sudo",
    "usr/local/bin/sudo",
    "usr/bin/doas",
    "usr/sbin/sshd",
    "sbin/sshd",
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*_Packages*",
    "var/cache/apk/*",
    "var/cache/yum/**/*.rpm",
    "var/cache/yum/**/repomd.xml",
    "var/cache/dnf/**/*.rpm",
    "var/cache/dnf/**/repomd.xml",
    "var/cache/dnf/*.solv",
    "root/.cache/pip/**",
    "home/*/.cache/pip/**",
    "root/.npm/_cacache/**",
    "home/*/.npm/_cacache/**",
    "usr/local/share/.cache/yarn/**",
    "**/.DS_Store",
    "**/.git/HEAD",
];

/// All globs, content ones first (see [`content_globs`] and [`presence_globs`]), built
/// once from the three lists so they cannot drift apart.
static ALL_GLOBS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    CONTENT_GLOBS
        .iter()
        .chain(KEY_GLOBS)
        .chain(PRESENCE_GLOBS)
        .copied()
        .collect()
});
const CONTENT_GLOB_COUNT: usize = CONTENT_GLOBS.len() + KEY_GLOBS.len();

/// Exact paths whose content (and mode) the checks need.
pub fn wanted_paths() -> &'static [&'static str] {
    WANTED_PATHS
}

/// Every glob the checks use: content globs first, then presence-only globs.
///
/// Syntax: `*` matches within one path component, `**` (a whole component) matches zero or
/// more components; everything else is literal. [`wanted`] applies them (and the
/// trust-store exclusions), so the engine need not implement the syntax.
pub fn wanted_globs() -> &'static [&'static str] {
    &ALL_GLOBS
}

/// Globs whose matching files' content is needed.
pub fn content_globs() -> &'static [&'static str] {
    &ALL_GLOBS[..CONTENT_GLOB_COUNT]
}

/// Globs whose matching files only need to be recorded as present.
pub fn presence_globs() -> &'static [&'static str] {
    &ALL_GLOBS[CONTENT_GLOB_COUNT..]
}

/// What the engine should record for a non-directory entry at `path` (leading `/` or `./`
/// tolerated), or `None`. Content wins over presence when both match.
pub fn wanted(path: &str) -> Option<Want> {
    let path = crate::normalize_path(path);
    if let Some(p) = WANTED_PATHS.iter().find(|p| **p == path) {
        return Some(Want::Content {
            pattern: p,
            max_bytes: MAX_CONTENT_BYTES,
        });
    }
    if let Some(p) = first_match(&CONTENT_SET, CONTENT_GLOBS, path) {
        return Some(Want::Content {
            pattern: p,
            max_bytes: MAX_CONTENT_BYTES,
        });
    }
    if !KEY_GLOB_EXCLUDED_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
        && let Some(p) = first_match(&KEY_SET, KEY_GLOBS, path)
    {
        return Some(Want::Content {
            pattern: p,
            max_bytes: MAX_KEY_BYTES,
        });
    }
    first_match(&PRESENCE_SET, PRESENCE_GLOBS, path).map(|p| Want::Presence { pattern: p })
}

/// The globs compiled once (`wanted` runs for every file the engine hands over).
static CONTENT_SET: std::sync::LazyLock<globset::GlobSet> =
    std::sync::LazyLock::new(|| glob_set(CONTENT_GLOBS));
static KEY_SET: std::sync::LazyLock<globset::GlobSet> =
    std::sync::LazyLock::new(|| glob_set(KEY_GLOBS));
static PRESENCE_SET: std::sync::LazyLock<globset::GlobSet> =
    std::sync::LazyLock::new(|| glob_set(PRESENCE_GLOBS));

pub(crate) fn glob(pattern: &str) -> Option<globset::Glob> {
    // `*` and `?` stay inside one component, `**` crosses them: the engine's semantics.
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()
}

fn glob_set(patterns: &[&str]) -> globset::GlobSet {
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        // The lists are constants, checked by the tests; a bad one would match nothing.
        if let Some(g) = glob(p) {
            builder.add(g);
        }
    }
    builder
        .build()
        .unwrap_or_else(|_| globset::GlobSet::empty())
}

/// The first pattern of `patterns` (compiled as `set`) that matches `path`.
fn first_match(
    set: &globset::GlobSet,
    patterns: &'static [&'static str],
    path: &str,
) -> Option<&'static str> {
    set.matches(path).into_iter().min().map(|i| patterns[i])
}

/// Whether `path` matches `pattern` (`*` within a component, `**` across components).
pub(crate) fn glob_match(pattern: &str, path: &str) -> bool {
    glob(pattern).is_some_and(|g| g.compile_matcher().is_match(path))
}

/// A file or directory with a risky mode, as the engine saw it in the final filesystem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpecialEntry {
    /// Path (no leading `/`).
    pub path: String,
    /// Permission bits as in the tar header (`0o4755`); file-type bits are ignored.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// The layer that last wrote the entry.
    pub layer: Option<Digest>,
}

/// Whether the engine should record an entry as a [`SpecialEntry`]: setuid/setgid
/// non-directories, world-writable non-directories, and world-writable directories without
/// the sticky bit. Only regular files and directories should be passed (a symlink's mode
/// is always `0777` and means nothing). Setgid directories are normal (group inheritance)
/// and not special.
pub fn is_special(mode: u32, is_dir: bool) -> bool {
    let m = mode & 0o7777;
    if is_dir {
        m & 0o002 != 0 && m & 0o1000 == 0
    } else {
        m & 0o6000 != 0 || m & 0o002 != 0
    }
}

/// The parts of the image config the checks read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageConfig {
    /// `config.User` (`None` or empty: not set).
    pub user: Option<String>,
    /// `config.Healthcheck.Test` (`None`: no HEALTHCHECK; `["NONE"]`: disabled).
    pub healthcheck: Option<Vec<String>>,
    /// Keys of `config.ExposedPorts` (`22/tcp`).
    pub exposed_ports: Vec<String>,
    /// `config.Env` (`NAME=value`).
    pub env: Vec<String>,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// `created_by` of every `history` entry, in order (empty-layer ones included, so the
    /// index matches the config's `history[i]`).
    pub history: Vec<String>,
    /// The reference the user scanned and/or the image's repo tags (`nginx:latest`,
    /// `registry:5000/app@sha256:…`). Empty when unknown (e.g. an untagged archive).
    pub tags: Vec<String>,
    /// `config.Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `config.Cmd`.
    pub cmd: Vec<String>,
    /// Keys of `config.Volumes`.
    pub volumes: Vec<String>,
}

/// What the engine collected from the layers (final state after whiteouts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSystem {
    /// Content (possibly truncated, see [`Want::Content`]) and layer of the wanted files.
    pub files: BTreeMap<String, (Vec<u8>, Option<Digest>)>,
    /// Permission bits of the files in [`FileSystem::files`].
    pub modes: BTreeMap<String, u32>,
    /// Paths matching a presence glob, with the layer that added them.
    pub present: BTreeMap<String, Option<Digest>>,
    /// Entries [`is_special`] accepted.
    pub special: Vec<SpecialEntry>,
    /// `ID` from os-release (`debian`, `alpine`, `rhel`), when known.
    pub os_family: Option<String>,
}

impl FileSystem {
    fn text(&self, path: &str) -> Option<String> {
        self.files
            .get(path)
            .map(|(bytes, _)| String::from_utf8_lossy(bytes).into_owned())
    }

    fn layer(&self, path: &str) -> Option<Digest> {
        self.files
            .get(path)
            .and_then(|(_, l)| l.clone())
            .or_else(|| self.present.get(path).cloned().flatten())
    }
}

/// Runs every check; findings come sorted by check id, then path, then reason.
pub fn check(config: Option<&ImageConfig>, fs: &FileSystem) -> Vec<BaselineFinding> {
    let mut out = Vec::new();
    let acc = accounts::Accounts::parse(fs);
    if let Some(cfg) = config {
        config::check(cfg, &acc, &mut out);
    }
    accounts::check(&acc, fs, &mut out);
    sshd::check(fs, &mut out);
    files::check(fs, &mut out);
    out.sort_by(|a, b| {
        (&a.id, &a.path, &a.reason, &a.layer).cmp(&(&b.id, &b.path, &b.reason, &b.layer))
    });
    out.dedup();
    out
}

fn finding(
    check: &Check,
    reason: String,
    path: Option<String>,
    layer: Option<Digest>,
) -> BaselineFinding {
    BaselineFinding {
        id: check.id.to_string(),
        title: check.title.to_string(),
        severity: check.severity,
        reason,
        remediation: check.remediation.to_string(),
        path,
        layer,
    }
}

#[cfg(test)]
mod tests;
