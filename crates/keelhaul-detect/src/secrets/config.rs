//! The custom rule file (TOML or YAML): its schema and parsing.

use std::path::{Path, PathBuf};

use keelhaul_core::Severity;

use super::SecretError;

/// A custom rule file.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    /// Overrides the file size cap of `wants` (bytes).
    #[serde(default)]
    pub max_file_size: Option<u64>,
    /// Builtin rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub allow: Vec<AllowSpec>,
}

/// `[[rules]]`.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub keywords: Vec<String>,
    pub regex: String,
    #[serde(default)]
    pub secret_group: Option<usize>,
    #[serde(default)]
    pub entropy: Option<f64>,
    #[serde(default)]
    pub paths: Vec<String>,
}

/// `[[allow]]`: every field given must match.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AllowSpec {
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
}

/// Reads and parses `path`; the format follows the extension (`.toml`, `.yaml`/`.yml`).
pub(super) fn load(path: &Path) -> Result<(ConfigFile, String), SecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let parsed = match ext.as_deref() {
        Some("toml") => toml::from_str::<ConfigFile>(&text).map_err(|e| SecretError::Parse {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(&text, s.start)),
            message: e.message().to_string(),
        })?,
        Some("yaml" | "yml") => {
            if text.trim().is_empty() {
                ConfigFile::default()
            } else {
                serde_saphyr::from_str::<ConfigFile>(&text).map_err(|e| SecretError::Parse {
                    path: path.to_path_buf(),
                    line: e
                        .location()
                        .and_then(|l| usize::try_from(l.line()).ok())
                        .filter(|&l| l > 0),
                    message: e.to_string(),
                })?
            }
        }
        _ => {
            return Err(SecretError::Format {
                path: path.to_path_buf(),
            });
        }
    };
    Ok((parsed, text))
}

/// 1-based line of byte offset `at`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Best-effort line of rule `id` in the source: the first line naming it.
pub(super) fn line_of_rule(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.contains(id)
                && (l.contains("id") || l.contains("rule"))
                && !l.trim_start().starts_with('#')
        })
        .map(|i| i + 1)
}

/// An invalid rule error.
pub(super) fn invalid(
    path: &Path,
    text: &str,
    rule: &str,
    message: impl Into<String>,
) -> SecretError {
    SecretError::InvalidRule {
        path: PathBuf::from(path),
        rule: rule.to_string(),
        line: line_of_rule(text, rule),
        message: message.into(),
    }
}
