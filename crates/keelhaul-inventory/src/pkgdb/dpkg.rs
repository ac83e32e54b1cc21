//! dpkg: `var/lib/dpkg/status`, distroless `status.d/*`, and file lists in `info/`.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Package};

/// The dpkg analyzer.
#[derive(Debug, Default)]
pub struct Dpkg;

/// A large image's database is a few MB (about 2 KB a package). The cap keeps a hostile
/// file's parsed packages (about 1 KB each in memory) well inside the memory bound.
const MAX_DB: u64 = 16 << 20;

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_D: &str = "var/lib/dpkg/status.d/";
const INFO: &str = "var/lib/dpkg/info/";

impl Analyzer for Dpkg {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "dpkg",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[STATUS], MAX_DB).with_globs(&[
            "var/lib/dpkg/status.d/*",
            "var/lib/dpkg/info/*.list",
            "var/lib/dpkg/info/*.md5sums",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let path = file.path;
        if path == STATUS || (path.starts_with(STATUS_D) && !path.ends_with(".md5sums")) {
            let (packages, problems) = parse_status(&text);
            for p in problems {
                out.warn(p);
            }
            out.emit(Fact::Packages {
                db: if path == STATUS {
                    "dpkg"
                } else {
                    "dpkg-distroless"
                }
                .to_owned(),
                packages,
            });
        } else if let Some(name) = path
            .strip_prefix(INFO)
            .or_else(|| path.strip_prefix(STATUS_D))
        {
            let (package, files) = if let Some(p) = name.strip_suffix(".list") {
                (p, parse_list(&text))
            } else if let Some(p) = name.strip_suffix(".md5sums") {
                (p, parse_md5sums(&text))
            } else {
                return Ok(());
            };
            out.emit(Fact::OwnedFiles {
                package: package.to_owned(),
                files,
            });
        }
        Ok(())
    }
}

/// Parse a dpkg status file (or one distroless `status.d` entry): RFC 822-style stanzas
/// separated by blank lines. Only packages whose status is `installed` are kept (removed
/// packages with config files left behind stay in the file as `deinstall ok config-files`).
/// Returns the packages and one message per stanza that could not be used.
pub fn parse_status(text: &str) -> (Vec<Package>, Vec<String>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    for (n, stanza) in stanzas(text).enumerate() {
        if packages.len() == super::MAX_PACKAGES_PER_DB {
            problems.push(super::too_many_packages());
            break;
        }
        let field = |name: &str| {
            stanza
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let Some(name) = field("Package") else {
            problems.push(format!("stanza {} has no `Package` field; skipped", n + 1));
            continue;
        };
        // Distroless status.d entries have no Status field: they are installed by definition.
        if let Some(status) = field("Status")
            && status.split_whitespace().nth(2) != Some("installed")
        {
            continue;
        }
        let Some(version) = field("Version") else {
            problems.push(format!("package `{name}` has no `Version` field; skipped"));
            continue;
        };
        let mut p = Package::new(Ecosystem::Deb, name, version);
        p.arch = field("Architecture").map(str::to_owned);
        p.supplier = field("Maintainer").map(str::to_owned);
        // `Source: NAME` or `Source: NAME (VERSION)`; absent means the source is the package.
        let (source, source_version) = match field("Source") {
            Some(s) => match s.split_once('(') {
                Some((n, v)) => (
                    n.trim().to_owned(),
                    Some(v.trim_end_matches(')').trim().to_owned()),
                ),
                None => (s.to_owned(), None),
            },
            None => (name.to_owned(), None),
        };
        p.source_name = Some(source);
        p.source_version = Some(source_version.unwrap_or_else(|| version.to_owned()));
        packages.push(p);
    }
    (packages, problems)
}

/// Stanzas as lists of (field, value); continuation lines are appended to the value.
fn stanzas(text: &str) -> impl Iterator<Item = Vec<(&str, String)>> {
    text.split("\n\n").filter_map(|block| {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in block.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = fields.last_mut() {
                    v.push('\n');
                    v.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                fields.push((k.trim(), v.trim().to_owned()));
            }
        }
        (!fields.is_empty()).then_some(fields)
    })
}

/// A `.list` file: one absolute path per line (directories included).
fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_start_matches('/'))
        .filter(|l| !l.is_empty() && *l != ".")
        .map(str::to_owned)
        .collect()
}

/// A `.md5sums` file: `HASH  path` per line, paths relative to the root.
fn parse_md5sums(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(_, p)| p.trim().trim_start_matches('/').to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_with_sources_and_removed_packages() {
        let text = "Package: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14\nDescription: GCC support library\n multi-line\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
Package: login\nStatus: install ok installed\nVersion: 1:4.13+dfsg1-1\nArchitecture: amd64\nSource: shadow\n\n\
Package: broken\nStatus: install ok installed\n";
        let (pkgs, problems) = parse_status(text);
        let names: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![("libgcc-s1", "12.2.0-14"), ("login", "1:4.13+dfsg1-1")]
        );
        assert_eq!(pkgs[0].source_name.as_deref(), Some("gcc-12"));
        assert_eq!(pkgs[1].source_name.as_deref(), Some("shadow"));
        assert_eq!(pkgs[1].source_version.as_deref(), Some("1:4.13+dfsg1-1"));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("broken"));
    }

    #[test]
    fn distroless_entry_has_no_status() {
        let (pkgs, _) =
            parse_status("Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n");
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].source_name.as_deref(), Some("base-files"));
    }

    #[test]
    fn file_lists() {
        assert_eq!(
            parse_list("/.\n/usr\n/usr/bin/ls\n"),
            vec!["usr", "usr/bin/ls"]
        );
        assert_eq!(
            parse_md5sums("d41d8cd98f00b204e9800998ecf8427e  usr/bin/ls\n"),
            vec!["usr/bin/ls"]
        );
    }
}
