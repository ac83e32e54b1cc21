//! Rust: cargo-auditable dependency lists in executables (binary), `Cargo.lock` (declared).
//!
//! **Binaries** ([`RustAuditable`]): `cargo auditable build` embeds the dependency tree as
//! zlib-compressed JSON in a section — `.dep-v0` in ELF and PE, `.dep-v0` (or
//! `__dep_v0`) in Mach-O's `__DATA` segment. Every package in it is reported, the root
//! (the crate the binary was built from) first; `build`-kind packages (build scripts,
//! proc-macros and what only they use) are reported too, as the list is what went into
//! the build: Syft and Trivy drop them (the tests name the difference). Decompression is
//! capped ([`MAX_DEP_JSON`]), so a zlib bomb is a warning.
//!
//! **Cargo.lock** ([`CargoLock`]): every `[[package]]` of lockfile versions 1 to 4 (and
//! the `[root]` table of the oldest ones), with its version as written. Packages without
//! a `source` (the workspace's own crates and path dependencies) are reported too, as
//! Syft and Trivy do: they are in the build, and a workspace crate may share a name and
//! version with a published one.

use std::io::Read;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Location, Package};
use object::{Object, ObjectSection};

use super::golang::{EXECUTABLE_GLOBS, EXECUTABLE_MAGICS, MAX_EXECUTABLE};

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(RustAuditable), Box::new(CargoLock)]
}

/// The largest decompressed dependency list accepted. A list is about 100 bytes a
/// package (uv's 567 packages take 60 KB); cargo-auditable's own reader defaults to 8 MiB.
pub const MAX_DEP_JSON: u64 = 8 << 20;

/// The cargo-auditable analyzer. It wants the same executables as the Go analyzer.
#[derive(Debug, Default)]
pub struct RustAuditable;

impl Analyzer for RustAuditable {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "rust-auditable",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_EXECUTABLE)
            .with_globs(&EXECUTABLE_GLOBS)
            .with_executables(&EXECUTABLE_MAGICS)
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let Some(compressed) = dep_section(content) else {
            return Ok(());
        };
        let packages = parse_dep_section(compressed)
            .map_err(|e| AnalyzeError::new(format!("cargo-auditable data: {e}")))?;
        let packages = packages
            .into_iter()
            .map(|(name, version)| {
                let mut p = Package::new(Ecosystem::Cargo, name, version);
                p.locations = vec![Location::file(file.path, Evidence::Binary)];
                p
            })
            .collect();
        out.emit(Fact::Packages {
            db: "cargo-auditable".into(),
            packages,
        });
        Ok(())
    }
}

/// The bytes of the audit section of an ELF, PE or (thin or universal) Mach-O file.
pub fn dep_section(data: &[u8]) -> Option<&[u8]> {
    use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
    match data.get(..4)? {
        [0xca, 0xfe, 0xba, 0xbe] => {
            let fat = MachOFatFile32::parse(data).ok()?;
            fat.arches()
                .iter()
                .find_map(|a| a.data(data).ok().and_then(thin_dep_section))
        }
        [0xca, 0xfe, 0xba, 0xbf] => {
            let fat = MachOFatFile64::parse(data).ok()?;
            fat.arches()
                .iter()
                .find_map(|a| a.data(data).ok().and_then(thin_dep_section))
        }
        _ => thin_dep_section(data),
    }
}

fn thin_dep_section(data: &[u8]) -> Option<&[u8]> {
    let file = object::File::parse(data).ok()?;
    let section = file.sections().find(|s| {
        s.name_bytes()
            .is_ok_and(|n| n == b".dep-v0" || n == b"__dep_v0")
    })?;
    section.data().ok().filter(|d| !d.is_empty())
}

/// Decompress (bounded) and read the dependency list: (name, version) pairs, the root
/// first, then in the list's order.
pub fn parse_dep_section(compressed: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_DEP_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("not valid zlib data ({e})"))?;
    if json.len() as u64 > MAX_DEP_JSON {
        return Err(format!(
            "decompresses to more than {MAX_DEP_JSON} bytes; skipped"
        ));
    }
    let info: auditable_serde::VersionInfo =
        serde_json::from_slice(&json).map_err(|e| format!("not a dependency list ({e})"))?;
    let mut packages: Vec<(String, String)> = Vec::with_capacity(info.packages.len());
    let (roots, others): (Vec<_>, Vec<_>) = info.packages.iter().partition(|p| p.root);
    for p in roots.into_iter().chain(others) {
        packages.push((p.name.clone(), p.version.to_string()));
    }
    Ok(packages)
}

/// The `Cargo.lock` analyzer.
#[derive(Debug, Default)]
pub struct CargoLock;

/// The largest lockfile read (the largest real ones are a few hundred KB).
const MAX_CARGO_LOCK: u64 = 16 << 20;

impl Analyzer for CargoLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "cargo-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&["Cargo.lock"], MAX_CARGO_LOCK).with_globs(&["**/Cargo.lock"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| AnalyzeError::new(format!("Cargo.lock is not UTF-8 ({e})")))?;
        let locked =
            parse_cargo_lock(text).map_err(|e| AnalyzeError::new(format!("Cargo.lock: {e}")))?;
        let packages = locked
            .into_iter()
            .map(|l| {
                let mut p = Package::new(Ecosystem::Cargo, l.name, l.version);
                p.locations = vec![Location::file(file.path, Evidence::Declared)];
                p
            })
            .collect();
        out.emit(Fact::Packages {
            db: "cargo-lock".into(),
            packages,
        });
        Ok(())
    }
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LockedPackage {
    /// Crate name.
    pub name: String,
    /// Version as locked.
    pub version: String,
    /// `registry+…`, `git+…#rev`, or none for workspace and path crates.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(serde::Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<LockedPackage>,
    /// Lockfiles of 2017 and before name the root package here.
    #[serde(default)]
    root: Option<LockedPackage>,
}

/// The packages of a `Cargo.lock` (any version), the `[root]` of old ones first.
pub fn parse_cargo_lock(text: &str) -> Result<Vec<LockedPackage>, String> {
    let lock: Lockfile = toml::from_str(text).map_err(|e| {
        // toml's Display spans several lines (a snippet of the file): one line here.
        let line = e.span().map(|s| {
            text.as_bytes()[..s.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        });
        match line {
            Some(n) => format!("line {n}: {}", e.message().trim()),
            None => e.message().trim().to_owned(),
        }
    })?;
    Ok(lock.root.into_iter().chain(lock.package).collect())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::lang::golang::test_support;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).expect("compress");
        e.finish().expect("compress")
    }

    #[test]
    fn reads_a_dependency_list_root_first() {
        let json = br#"{"packages":[
            {"name":"adler","version":"1.0.2","source":"crates.io"},
            {"name":"app","version":"0.3.0-beta.1+build.5","source":"local","dependencies":[0,2],"root":true},
            {"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
        let packages = parse_dep_section(&zlib(json)).expect("parses");
        assert_eq!(
            packages,
            vec![
                ("app".to_owned(), "0.3.0-beta.1+build.5".to_owned()),
                ("adler".into(), "1.0.2".into()),
                ("cc".into(), "1.0.0".into()),
            ]
        );
    }

    #[test]
    fn bad_dependency_lists_are_errors() {
        assert!(
            parse_dep_section(b"not zlib")
                .expect_err("zlib")
                .contains("zlib")
        );
        let err = parse_dep_section(&zlib(b"{\"packages\": 3}")).expect_err("json");
        assert!(err.contains("not a dependency list"), "{err}");
        // Two roots: auditable-serde's validation refuses it.
        let two_roots = br#"{"packages":[{"name":"a","version":"1.0.0","source":"local","root":true},{"name":"b","version":"1.0.0","source":"local","root":true}]}"#;
        assert!(parse_dep_section(&zlib(two_roots)).is_err());
    }

    #[test]
    fn a_zlib_bomb_stops_at_the_cap() {
        // 1 GiB of zeros compresses to about 1 MiB; streaming it in keeps memory small.
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..1024 {
            e.write_all(&chunk).expect("compress");
        }
        let bomb = e.finish().expect("compress");
        assert!(bomb.len() < 2 << 20);
        let start = std::time::Instant::now();
        let err = parse_dep_section(&bomb).expect_err("bomb");
        assert!(err.contains("more than 8388608 bytes"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    /// The Cargo.lock files of crates this workspace builds with, as published: the
    /// lockfile formats 1 (`[metadata]` checksums), 2 (no `version`), 3 and 4.
    fn registry_lockfile(krate: &str) -> Option<String> {
        let home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo"))
            })?;
        let src = std::fs::read_dir(home.join("registry/src")).ok()?;
        src.filter_map(Result::ok)
            .find_map(|d| std::fs::read_to_string(d.path().join(krate).join("Cargo.lock")).ok())
    }

    /// An independent count: `[[package]]` headers and their `name = "…"` lines.
    fn naive_packages(text: &str) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        for block in text.split("[[package]]").skip(1) {
            let block = block.split("\n[").next().unwrap_or(block);
            let field = |k: &str| {
                block.lines().find_map(|l| {
                    l.strip_prefix(&format!("{k} = \""))
                        .and_then(|r| r.strip_suffix('"'))
                        .map(str::to_owned)
                })
            };
            out.push((
                field("name").expect("name"),
                field("version").expect("version"),
                field("source").is_some(),
            ));
        }
        out
    }

    #[test]
    fn reads_every_lockfile_version() {
        // This workspace's own lockfile (version 4), then published ones.
        let own = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
            .expect("the workspace lockfile");
        let mut cases = vec![("workspace (v4)", own)];
        for (label, krate) in [
            ("v1", "same-file-1.0.6"),
            ("v2", "url-2.5.8"),
            ("v3", "num-conv-0.2.2"),
        ] {
            match registry_lockfile(krate) {
                Some(text) => cases.push((label, text)),
                None => test_support::skip(&format!("{krate}'s Cargo.lock in the cargo registry")),
            }
        }
        for (label, text) in cases {
            let parsed = parse_cargo_lock(&text).expect(label);
            let got: Vec<(String, String, bool)> = parsed
                .iter()
                .map(|p| (p.name.clone(), p.version.clone(), p.source.is_some()))
                .collect();
            assert_eq!(got, naive_packages(&text), "{label}");
            assert!(!got.is_empty(), "{label}");
        }
        let own = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
            .expect("the workspace lockfile");
        let own = parse_cargo_lock(&own).expect("own");
        assert!(
            own.iter()
                .any(|p| p.name == "keelhaul-inventory" && p.source.is_none()),
            "workspace members are reported"
        );
    }

    #[test]
    fn reads_the_root_table_of_the_oldest_lockfiles() {
        let text = "[root]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"libc 0.2.0 (registry+https://github.com/rust-lang/crates.io-index)\",\n]\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let names: Vec<String> = parse_cargo_lock(text)
            .expect("parses")
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(names, vec!["app@0.1.0", "libc@0.2.0"]);
    }

    #[test]
    fn malformed_lockfiles_are_errors() {
        let err = parse_cargo_lock("[[package]]\nname = \"x\"\n").expect_err("no version");
        assert!(err.contains("version"), "{err}");
        assert!(parse_cargo_lock("[[package]\nname=").is_err());
        assert_eq!(parse_cargo_lock("").expect("empty"), vec![]);
    }

    /// Python's zlib and json over the section `objcopy` extracts: an independent reading
    /// of the same bytes. `None` when either tool is missing.
    fn python_oracle(elf: &[u8]) -> Option<Vec<(String, String)>> {
        let dir = std::env::temp_dir().join(format!("keelhaul-dep-v0-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let (exe, section) = (dir.join("exe"), dir.join("section"));
        std::fs::write(&exe, elf).ok()?;
        let dumped = std::process::Command::new("objcopy")
            .arg(format!("--dump-section=.dep-v0={}", section.display()))
            .arg(&exe)
            .arg(dir.join("copy"))
            .status()
            .is_ok_and(|s| s.success());
        let script = "import sys, zlib, json\n\
            d = json.loads(zlib.decompress(open(sys.argv[1], 'rb').read()))\n\
            ps = sorted(d['packages'], key=lambda p: not p.get('root', False))\n\
            print('\\n'.join(p['name'] + ' ' + p['version'] for p in ps))\n";
        let out = dumped
            .then(|| {
                std::process::Command::new("python3")
                    .args(["-c", script])
                    .arg(&section)
                    .output()
                    .ok()
            })
            .flatten();
        let _ = std::fs::remove_dir_all(&dir);
        let out = out.filter(|o| o.status.success())?;
        Some(
            String::from_utf8(out.stdout)
                .ok()?
                .lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// uv's release binaries are built with cargo-auditable (uvx carries the same list in
    /// a third of a megabyte): the Linux ELF and the macOS Mach-O.
    #[test]
    fn real_auditable_binaries() {
        let Some(elf) = test_support::wheel_file("uv==0.13.9", test_support::LINUX, "scripts/uvx")
        else {
            return;
        };
        let packages =
            parse_dep_section(dep_section(&elf).expect("a .dep-v0 section")).expect("parses");
        assert_eq!(
            packages[0],
            ("uv".to_owned(), "0.13.9".to_owned()),
            "the root, as the wheel is versioned"
        );
        assert!(packages.len() > 100);
        match python_oracle(&elf) {
            Some(oracle) => assert_eq!(packages, oracle),
            None => test_support::skip("objcopy and python3"),
        }
        let Some(macho) =
            test_support::wheel_file("uv==0.13.9", test_support::MACOS, "scripts/uvx")
        else {
            return;
        };
        assert_eq!(&macho[..4], &[0xcf, 0xfa, 0xed, 0xfe]);
        let on_mac =
            parse_dep_section(dep_section(&macho).expect("a Mach-O section")).expect("parses");
        assert_eq!(on_mac[0], packages[0]);
        // Not a Go binary's concern, and a Go binary is not Rust's.
        let Some(task) =
            test_support::wheel_file("go-task-bin==3.33.1", test_support::LINUX, "scripts/task")
        else {
            return;
        };
        assert_eq!(dep_section(&task), None);
        // Damaged: the section's bytes overwritten in place.
        let section = dep_section(&elf).expect("section");
        let offset = section.as_ptr() as usize - elf.as_ptr() as usize;
        let mut damaged = elf.clone();
        damaged[offset + 10..offset + 40].fill(0x55);
        let err = parse_dep_section(dep_section(&damaged).expect("section")).expect_err("damaged");
        assert!(
            err.contains("zlib") || err.contains("dependency list"),
            "{err}"
        );
        // A zlib bomb in the section's place: 9 MiB of spaces compress to less than the
        // section's size; decompression stops at the cap.
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b' '; 9 << 20]).expect("compress");
        let bomb = e.finish().expect("compress");
        assert!(
            bomb.len() <= section.len(),
            "{} > {}",
            bomb.len(),
            section.len()
        );
        let mut bombed = elf.clone();
        bombed[offset..offset + bomb.len()].copy_from_slice(&bomb);
        let err = parse_dep_section(dep_section(&bombed).expect("section")).expect_err("bomb");
        assert!(err.contains("more than 8388608 bytes"), "{err}");
        // Garbage after an ELF magic, a truncated ELF: nothing found, no panic.
        assert_eq!(dep_section(&elf[..elf.len() / 2]), None);
        let mut garbage = b"\x7fELF\x02\x01\x01".to_vec();
        garbage.resize(4096, 0xff);
        assert_eq!(dep_section(&garbage), None);
    }
}
