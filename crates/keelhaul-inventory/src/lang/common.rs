//! What the language parsers share: collecting one file's packages, and bounds and
//! decoding for untrusted text.

use std::collections::HashSet;

use keelhaul_analyze::{AnalyzeError, Fact, Output};
use keelhaul_core::Package;

/// What a parser found in one file: the packages (as one database of format `db`) and
/// problems that did not stop it. Shared by the language modules, whose parsers are pure
/// functions of a file's path and content.
#[derive(Debug, Default)]
pub struct Found {
    /// The format's name (`poetry.lock`, `python-dist-info`, …).
    pub db: &'static str,
    /// The packages, each with its location.
    pub packages: Vec<Package>,
    /// One line per problem.
    pub warnings: Vec<String>,
    seen: HashSet<(String, String)>,
    full: bool,
}

impl Found {
    /// Packages of a format, without problems.
    pub fn new(db: &'static str, packages: Vec<Package>) -> Found {
        Found {
            db,
            packages,
            ..Found::default()
        }
    }

    /// An empty result for format `db`.
    pub fn of(db: &'static str) -> Found {
        Found::new(db, Vec::new())
    }

    /// Add a package unless one of the same name and version is already there. `false`
    /// once the file has listed more than one database may hold (a warning says so once):
    /// the caller stops.
    pub fn add(&mut self, p: Package) -> bool {
        if self.packages.len() >= crate::pkgdb::MAX_PACKAGES_PER_DB {
            if !self.full {
                self.full = true;
                self.warnings.push(crate::pkgdb::too_many_packages());
            }
            return false;
        }
        if self.seen.insert((p.name.clone(), p.version.clone())) {
            self.packages.push(p);
        }
        true
    }

    /// Hand the findings to the engine.
    pub fn emit(self, out: &mut Output<'_>) {
        for w in self.warnings {
            out.warn(w);
        }
        if !self.packages.is_empty() {
            out.emit(Fact::Packages {
                db: self.db.to_owned(),
                packages: self.packages,
            });
        }
    }
}

/// Most structural characters (`,` `=` `:` `[` `{`) a TOML document may have to be parsed.
/// The TOML parser builds the whole document as a tree first, at up to ~160 bytes a
/// value: this keeps a hostile file under ~100 MB, while real lockfiles have 40 to 65 such
/// characters a KB (one of 9 MB passes; large projects' are 1–3 MB).
pub(crate) const MAX_TOML_NODES: usize = 600_000;
/// The same for JSON parsed into a `serde_json::Value` (~35 bytes a value): ~70 MB.
pub(crate) const MAX_JSON_NODES: usize = 2_000_000;

/// Refuse a document with more than `limit` structural characters (counted in strings
/// too: an over-estimate), before a tree-building parser sees it.
pub(crate) fn check_nodes(content: &[u8], limit: usize) -> Result<(), AnalyzeError> {
    let n = content
        .iter()
        .filter(|b| matches!(b, b',' | b'=' | b':' | b'[' | b'{'))
        .count();
    if n > limit {
        return Err(AnalyzeError::new(format!(
            "{n} structural characters, more than the {limit} a real lockfile of this kind has; not parsed"
        )));
    }
    Ok(())
}

/// The first line of an error message, so a parser's multi-line report (with a snippet of
/// the input) stays one warning line.
pub(crate) fn one_line(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut line = line.trim().to_owned();
    if line.len() > 300 {
        let mut cut = 300;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

/// Text of a file: UTF-8 (a BOM dropped), or UTF-16 with a BOM (what PowerShell's `>`
/// writes); anything else decoded lossily.
pub(crate) fn decode_text(content: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = content.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest);
    }
    let utf16 = |le: bool, rest: &[u8]| {
        let units = rest.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        std::borrow::Cow::Owned(
            char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect::<String>(),
        )
    };
    if let Some(rest) = content.strip_prefix(b"\xff\xfe") {
        return utf16(true, rest);
    }
    if let Some(rest) = content.strip_prefix(b"\xfe\xff") {
        return utf16(false, rest);
    }
    String::from_utf8_lossy(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_decoding() {
        assert_eq!(decode_text(b"\xef\xbb\xbfsix==1.0"), "six==1.0");
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("six==1.0".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&utf16), "six==1.0");
        assert_eq!(decode_text(b"caf\xe9"), "caf\u{fffd}");
    }

    #[test]
    fn long_errors_become_one_short_line() {
        assert_eq!(one_line("first\n  snippet"), "first");
        assert!(one_line("x".repeat(1000)).chars().count() <= 301);
    }
}
