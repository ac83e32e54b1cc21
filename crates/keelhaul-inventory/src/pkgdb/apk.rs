//! apk: `lib/apk/db/installed`.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Package};

/// The apk analyzer.
#[derive(Debug, Default)]
pub struct Apk;

const INSTALLED: &str = "lib/apk/db/installed";
/// A large image's database is a few MB (about 2 KB a package). The cap keeps a hostile
/// file's parsed packages (about 1 KB each in memory) well inside the memory bound.
const MAX_DB: u64 = 16 << 20;

impl Analyzer for Apk {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "apk",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        // Merged-/usr Alpine (3.22+) keeps the database under usr/lib.
        Interests::paths(&[INSTALLED, "usr/lib/apk/db/installed"], MAX_DB)
    }

    fn analyze(
        &self,
        _file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, problems) = parse_installed(&String::from_utf8_lossy(content));
        for p in problems {
            out.warn(p);
        }
        out.emit_in_slot(
            "apkdb",
            Fact::Packages {
                db: "apk".into(),
                packages,
            },
        );
        Ok(())
    }
}

/// Parse apk's installed database: blocks separated by blank lines, `K:value` lines.
/// `P` name, `V` version, `A` arch, `o` origin (source package), `L` license,
/// `m` maintainer, `F` a directory and the `R` files after it.
pub fn parse_installed(text: &str) -> (Vec<Package>, Vec<String>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    for (n, block) in text.split("\n\n").enumerate() {
        if packages.len() == super::MAX_PACKAGES_PER_DB {
            problems.push(super::too_many_packages());
            break;
        }
        let mut name = None;
        let mut version = None;
        let mut arch = None;
        let mut origin = None;
        let mut license = None;
        let mut maintainer = None;
        let mut dir = String::new();
        let mut files = Vec::new();
        for line in block.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "P" => name = Some(value),
                "V" => version = Some(value),
                "A" => arch = Some(value),
                "o" => origin = Some(value),
                "L" => license = Some(value),
                "m" => maintainer = Some(value),
                "F" => dir = value.trim_matches('/').to_owned(),
                "R" if dir.is_empty() => files.push(value.to_owned()),
                "R" => files.push(format!("{dir}/{value}")),
                _ => {}
            }
        }
        if block.trim().is_empty() {
            continue;
        }
        let (Some(name), Some(version)) = (name, version) else {
            problems.push(format!("entry {} has no `P:` or `V:` line; skipped", n + 1));
            continue;
        };
        let mut p = Package::new(Ecosystem::Apk, name, version);
        p.arch = arch.map(str::to_owned);
        p.source_name = Some(origin.unwrap_or(name).to_owned());
        p.licenses = license.map(|l| vec![l.to_owned()]).unwrap_or_default();
        p.supplier = maintainer.map(str::to_owned);
        p.files = files;
        packages.push(p);
    }
    (packages, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_files() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\no:openssl\nF:usr/lib\nR:libcrypto.so.3\n\nV:1\n";
        let (pkgs, problems) = parse_installed(db);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(
            pkgs[0].files,
            vec!["lib/ld-musl-x86_64.so.1", "lib/libc.musl-x86_64.so.1"]
        );
        assert_eq!(pkgs[1].source_name.as_deref(), Some("openssl"));
        assert_eq!(problems.len(), 1);
    }
}
