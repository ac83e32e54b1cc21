//! Content findings: secrets, malicious files and baseline (unsafe setting) risks.

use crate::{Digest, Severity};

/// A credential found in a layer file or in the image config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretFinding {
    /// Stable rule id (`aws-access-key-id`, or a custom rule's id).
    pub rule_id: String,
    /// What kind of secret, for people (`AWS access key ID`).
    pub title: String,
    /// How bad a leak is.
    pub severity: Severity,
    /// The file (no leading `/`), or `config:Env`, `config:Labels`, `config:history[3]`.
    pub path: String,
    /// The layer holding the file (none for the config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// 1-based line number, when the file is text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The match with the secret redacted: only its first and last few characters.
    pub excerpt: String,
}

/// What kind of malicious file a rule describes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum MalwareKind {
    /// A web shell (PHP, JSP, ASP(X), Python, Perl).
    Webshell,
    /// A cryptocurrency miner.
    Miner,
    /// A reverse shell or backdoor (scripts, cron entries).
    Backdoor,
    /// The EICAR (or another) antivirus test file.
    TestFile,
    /// A packed or obfuscated executable.
    Packed,
    /// Anything else a rule or hash list flags.
    Other,
}

/// A file a malware rule or hash signature matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MalwareFinding {
    /// Stable rule id (`KH-MAL-…` for keelhaul's pack; the rule name otherwise).
    pub rule_id: String,
    /// One-line description.
    pub title: String,
    /// Kind.
    pub kind: MalwareKind,
    /// Severity.
    pub severity: Severity,
    /// The file (no leading `/`); with `!/member` for a file inside an archive.
    pub path: String,
    /// The layer holding the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// SHA-256 of the matched content (the archive member's, for members).
    pub sha256: String,
    /// Which rule set or hash list matched (`keelhaul-rules@1`, a file name).
    pub source: String,
}

/// An unsafe setting of the image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaselineFinding {
    /// Stable check id (`KH-IMG-001`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Why this instance is a risk (names the user, file, setting…).
    pub reason: String,
    /// What to do about it.
    pub remediation: String,
    /// The file concerned, when there is one (no leading `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The layer that set it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
}
