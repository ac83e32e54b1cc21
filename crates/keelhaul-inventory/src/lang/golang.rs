//! Go: module build info in ELF, PE and Mach-O executables (binary), `go.mod` (declared).
//!
//! **Binaries** ([`GoBinary`]): every executable whose first bytes are an ELF, PE or Mach-O
//! magic, plus `*.exe` (PE files in Linux images seldom have an execute bit) and `*.so`
//! (Go `c-shared` libraries, e.g. Python extension modules, which pip installs without one).
//! The build info ([`buildinfo`]) gives:
//!
//! * the main module (`mod` line) — its version as Go recorded it, unless that is
//!   `(devel)` (a `go build` in a checkout, before Go 1.24): then, as Syft does, a version
//!   stamped with `-ldflags -X …version=1.2.3` (written `v1.2.3`), else the pseudo-version
//!   of the VCS stamp (`v0.0.0-20231222013629-83481375406b`, from `vcs.time` and
//!   `vcs.revision`), else `(devel)`. Binaries without a `mod` line (GOPATH builds, Go's
//!   own `cmd/go`) report no main module: their `path` is a package, not a module.
//! * every `dep`, as its replacement when a `=>` line follows (the code that was built);
//!   a replacement by a directory is reported as Go records it, the directory with the
//!   version `(devel)` (`=> ../fork`), as Syft does (Trivy leaves it out).
//! * the toolchain as the package `stdlib`, versioned as `go version` prints it
//!   (`go1.22.1`, experiments such as ` X:boringcrypto` dropped). Syft reports the same
//!   name and version; Trivy writes `v1.22.1`. The `go` spelling is the toolchain's own and
//!   cannot be confused with a module version; the vulnerability matcher strips the `go`
//!   as it strips a module version's `v` (Go's vulnerability database writes `1.22.1`).
//!
//! **go.mod** ([`GoMod`]): every `require` (blocks and single lines, `// indirect`
//! included), with `replace` directives applied as Go applies them (a versioned
//! `old v1 => …` only to that version, a version-less one to every version; the
//! replacement is what is reported, a directory as `(devel)` like in a binary's build
//! info); `exclude` and `retract` are ignored (they only steer version selection); the
//! `module` line itself is not a dependency and is not reported. Syft reads `go.mod` only
//! when scanning a directory, Trivy not in images at all: keelhaul reports lockfiles in
//! images as `declared` evidence.

pub mod buildinfo;
pub mod gomod;
#[cfg(test)]
pub(crate) mod test_support;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Location, Package};

use self::buildinfo::{BuildInfo, Module};

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(GoBinary), Box::new(GoMod)]
}

/// The first bytes of the executables worth opening: ELF, PE (`MZ` and the usual DOS
/// header), Mach-O 32/64-bit in both byte orders, universal Mach-O (32- and 64-bit fat
/// headers; Java class files share `cafebabe` and are skipped after a look).
pub const EXECUTABLE_MAGICS: [[u8; 4]; 8] = [
    *b"\x7fELF",
    *b"MZ\x90\0",
    [0xfe, 0xed, 0xfa, 0xce],
    [0xfe, 0xed, 0xfa, 0xcf],
    [0xce, 0xfa, 0xed, 0xfe],
    [0xcf, 0xfa, 0xed, 0xfe],
    [0xca, 0xfe, 0xba, 0xbe],
    [0xca, 0xfe, 0xba, 0xbf],
];

/// Executables found by name whatever their mode: Windows executables (Windows image
/// layers and Linux images carry them without an execute bit) and shared libraries (a Go
/// `c-shared` library, such as a Python extension module, is installed `0644`). Syft
/// reads such files by content type wherever they are; Trivy only reads files with an
/// execute bit. The cost is reading every `*.so` whole (system libraries are mostly
/// `*.so.N` and not matched) and opening its headers.
pub const EXECUTABLE_GLOBS: [&str; 2] = ["**/*.exe", "**/*.so"];

/// The largest executable read. Go binaries reach a few hundred MB (cloud providers'
/// Terraform plugins); files over 16 MiB are buffered one at a time, so this bounds the
/// memory a scan needs for them.
pub const MAX_EXECUTABLE: u64 = 512 << 20;

/// The Go build-info analyzer.
#[derive(Debug, Default)]
pub struct GoBinary;

impl Analyzer for GoBinary {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "go-binary",
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
        let Some((found, problems)) = binary_modules(content)
            .map_err(|e| AnalyzeError::new(format!("corrupt Go build info: {e}")))?
        else {
            return Ok(());
        };
        for p in problems {
            out.warn(format!("go-binary: {p}"));
        }
        let packages = found
            .into_iter()
            .map(|(name, version)| {
                let mut p = Package::new(Ecosystem::Golang, name, version);
                p.locations = vec![Location::file(file.path, Evidence::Binary)];
                p
            })
            .collect();
        out.emit(Fact::Packages {
            db: "go-buildinfo".into(),
            packages,
        });
        Ok(())
    }
}

/// A Go executable's (module, version) pairs and the problems met reading them.
pub type BinaryModules = (Vec<(String, String)>, Vec<String>);

/// What a file's Go build info reports: `None` for a file that is not a Go executable;
/// else the (module, version) pairs (each once, across the architectures of a universal
/// binary) and the problems that did not stop the read. An error means the file has
/// Go's build-info header and it cannot be decoded.
pub fn binary_modules(content: &[u8]) -> Result<Option<BinaryModules>, String> {
    let infos = buildinfo::read(content)?;
    if infos.is_empty() {
        return Ok(None);
    }
    let mut found: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for raw in infos {
        problems.extend(raw.problem.clone());
        let (info, bad) = buildinfo::parse_modinfo(&raw.go_version, &raw.modinfo);
        if let Some(first) = bad.first() {
            problems.push(format!(
                "{} unreadable module information line(s) skipped ({first})",
                bad.len()
            ));
        }
        for m in modules(&info) {
            if !found.contains(&m) {
                found.push(m);
            }
        }
    }
    Ok(Some((found, problems)))
}

/// The (module, version) pairs one build info reports: main module, dependencies (as
/// replaced), `stdlib`.
pub fn modules(info: &BuildInfo) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(info.deps.len() + 2);
    if let Some(main) = &info.main
        && !main.path.is_empty()
    {
        out.push((main.path.clone(), main_version(info, main)));
    }
    for dep in &info.deps {
        // Old toolchains could record an empty module; Trivy skips it too.
        if dep.path.is_empty() {
            continue;
        }
        let m: &Module = dep.replace.as_deref().unwrap_or(dep);
        if m.path.is_empty() {
            continue;
        }
        out.push((m.path.clone(), m.version.clone()));
    }
    if let Some(v) = stdlib_version(&info.go_version) {
        out.push(("stdlib".to_owned(), v));
    }
    out
}

/// `go1.22.1 X:boringcrypto` → `go1.22.1`; `None` for development toolchains
/// (`devel go1.23-abcdef …`), which have no release to match.
pub fn stdlib_version(go_version: &str) -> Option<String> {
    let v = go_version.split_whitespace().next()?;
    let rest = v.strip_prefix("go")?;
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_owned())
}

/// Go's placeholder for an unversioned main module.
const DEVEL: &str = "(devel)";

/// The main module's version (see the module documentation).
pub fn main_version(info: &BuildInfo, main: &Module) -> String {
    if !main.version.is_empty() && main.version != DEVEL {
        return main.version.clone();
    }
    if let Some(v) = info.setting("-ldflags").and_then(ldflags_version) {
        return v;
    }
    if let (Some(revision), Some(time)) = (info.setting("vcs.revision"), info.setting("vcs.time")) {
        let short: String = revision.chars().take(12).collect();
        return format!("v0.0.0-{}-{short}", pseudo_timestamp(time));
    }
    DEVEL.to_owned()
}

/// The version a build stamped with `-X pkg.version=…`, as Syft finds it: the first
/// `.version=`, `.Version=`, `.ver=`, `.gitVersion=`, `.buildVersion=`, … (else `.tag=`)
/// whose value (after any `…/` prefix) starts like `1.2.3`; a `v` is prepended when
/// missing, as module versions have one.
pub fn ldflags_version(ldflags: &str) -> Option<String> {
    // Real ldflags are a few hundred bytes; the cap bounds the matching on hostile input.
    let ldflags = match ldflags.char_indices().nth(64 * 1024) {
        Some((i, _)) => &ldflags[..i],
        None => ldflags,
    };
    let v = stamped(ldflags, false).or_else(|| stamped(ldflags, true))?;
    Some(if v.starts_with('v') {
        v.to_owned()
    } else {
        format!("v{v}")
    })
}

/// Syft's patterns `\.([gG]it)?([bB]uild)?[vV]er(sion)?=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)`
/// and `\.([tT]ag)=…`, matched by hand (leftmost match, greedy, as Go's regexp does).
fn stamped(ldflags: &str, tag: bool) -> Option<&str> {
    let b = ldflags.as_bytes();
    for (dot, _) in ldflags.match_indices('.') {
        let name = &b[dot + 1..];
        let Some(used) = (if tag {
            tag_var(name)
        } else {
            version_var(name)
        }) else {
            continue;
        };
        let value = dot + 1 + used;
        // Version paths are short: look at most 4 KiB into the value, which keeps hostile
        // input (many `.version=` with long values) linear.
        let run_end = b[value..]
            .iter()
            .take(4096)
            .position(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
            .map_or(b.len().min(value + 4096), |i| value + i);
        // `(\S+/)*` is greedy: the latest `/` that leaves a version wins; at least one
        // character precedes each `/`.
        let slashes = (value + 1..run_end)
            .rev()
            .filter(|&i| b[i] == b'/')
            .take(64);
        for start in slashes.map(|i| i + 1).chain(std::iter::once(value)) {
            if let Some(end) = version_at(b, start) {
                return Some(&ldflags[start..end]);
            }
        }
    }
    None
}

/// `([gG]it)?([bB]uild)?[vV]er(sion)?=`: the bytes it spans.
fn version_var(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    let word = |i: usize, w: &[u8]| {
        s.get(i..i + w.len())
            .is_some_and(|x| x[0].eq_ignore_ascii_case(&w[0]) && x[1..] == w[1..])
    };
    if word(i, b"git") {
        i += 3;
    }
    if word(i, b"build") {
        i += 5;
    }
    if !word(i, b"ver") {
        return None;
    }
    i += 3;
    if s.get(i..i + 5) == Some(b"sion=") {
        return Some(i + 5);
    }
    (s.get(i) == Some(&b'=')).then_some(i + 1)
}

/// `[tT]ag=`.
fn tag_var(s: &[u8]) -> Option<usize> {
    match s.get(..4) {
        Some(b"tag=" | b"Tag=") => Some(4),
        _ => None,
    }
}

/// `v?\d+.\d+.\d+[-\w]*` at `start` (`.` is any byte but a newline): where it ends.
fn version_at(b: &[u8], start: usize) -> Option<usize> {
    let start = if b.get(start) == Some(&b'v') {
        start + 1
    } else {
        start
    };
    let end = digits_then(b, start, 0)?;
    let tail = b[end..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-')
        .count();
    Some(end + tail)
}

/// Steps 0, 2, 4 are `\d+` (greedy, backtracking; runs capped at 32 digits), 1 and 3 are
/// any byte but a newline.
fn digits_then(b: &[u8], at: usize, step: u8) -> Option<usize> {
    if step == 5 {
        return Some(at);
    }
    if step % 2 == 1 {
        return match b.get(at) {
            Some(&c) if c != b'\n' => digits_then(b, at + 1, step + 1),
            _ => None,
        };
    }
    let run = b
        .get(at..)?
        .iter()
        .take(32)
        .take_while(|c| c.is_ascii_digit())
        .count();
    (1..=run)
        .rev()
        .find_map(|n| digits_then(b, at + n, step + 1))
}

/// `2023-12-22T01:36:29Z` (RFC 3339, any offset) → `20231222013629` in UTC; unreadable
/// times give Go's zero time, `00010101000000`, as Syft's pseudo-versions do.
pub fn pseudo_timestamp(time: &str) -> String {
    parse_rfc3339(time).map_or_else(
        || "00010101000000".to_owned(),
        |(y, mo, d, h, mi, s)| format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}"),
    )
}

fn parse_rfc3339(t: &str) -> Option<(i64, u32, u32, u32, u32, u32)> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        i += n;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let total = h * 60 + m;
            if *sign == b'+' { total } else { -total }
        }
        _ => return None,
    };
    // To UTC: minutes since the epoch, minus the offset.
    let days = days_from_civil(year, month, day);
    let minutes = days * 1440 + hour * 60 + minute - offset_minutes;
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (y, mo, d) = civil_from_days(days);
    Some((
        y,
        mo,
        d,
        u32::try_from(minute_of_day / 60).ok()?,
        u32::try_from(minute_of_day % 60).ok()?,
        u32::try_from(second).ok()?,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// The `go.mod` analyzer.
#[derive(Debug, Default)]
pub struct GoMod;

/// The largest `go.mod` read: Kubernetes' is about 20 KB.
const MAX_GO_MOD: u64 = 4 << 20;

impl Analyzer for GoMod {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "go-mod",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&["go.mod"], MAX_GO_MOD).with_globs(&["**/go.mod"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let (parsed, problems) = gomod::parse(&text);
        if let Some(first) = problems.first() {
            out.warn(format!(
                "go-mod: {} unreadable line(s) skipped ({first})",
                problems.len()
            ));
        }
        let mut packages: Vec<Package> = Vec::new();
        for (name, version) in parsed.resolved() {
            if packages
                .iter()
                .any(|p| p.name == name && p.version == version)
            {
                continue;
            }
            let mut p = Package::new(Ecosystem::Golang, name, version);
            p.locations = vec![Location::file(file.path, Evidence::Declared)];
            packages.push(p);
        }
        out.emit(Fact::Packages {
            db: "go-mod".into(),
            packages,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::golang::buildinfo::parse_modinfo;
    use crate::lang::golang::test_support;

    fn info(text: &str) -> BuildInfo {
        let (bi, problems) = parse_modinfo("go1.21.5", text);
        assert!(problems.is_empty(), "{problems:?}");
        bi
    }

    #[test]
    fn main_module_version_prefers_go_then_ldflags_then_vcs() {
        let tagged =
            info("mod\tmvdan.cc/sh/v3\tv3.13.0\t\nbuild\t-ldflags=\"-X main.version=9.9.9\"\n");
        assert_eq!(
            modules(&tagged)[0],
            ("mvdan.cc/sh/v3".into(), "v3.13.0".into())
        );
        // Syft's binary: `(devel)` with `-X main.version=1.18.1`.
        let stamped = info(
            "mod\tgithub.com/anchore/syft\t(devel)\t\n\
             build\t-ldflags=\"-w -s -extldflags '-static' -X main.version=1.18.1 -X main.gitCommit=5e16e50 -X main.gitDescription=v1.18.1 \"\n\
             build\tvcs.revision=5e16e5031a13f8a11057feb8544decebfc43b4ed\n\
             build\tvcs.time=2024-12-13T18:30:11Z\n",
        );
        assert_eq!(modules(&stamped)[0].1, "v1.18.1");
        // Task's: no version flag, a VCS stamp.
        let vcs = info(
            "mod\tgithub.com/go-task/task/v3\t(devel)\t\n\
             build\t-trimpath=true\n\
             build\tvcs.revision=83481375406be3f6a432eb28ae351d3f6348054b\n\
             build\tvcs.time=2023-12-22T01:36:29Z\n",
        );
        assert_eq!(modules(&vcs)[0].1, "v0.0.0-20231222013629-83481375406b");
        let bare = info("mod\texample.com/x\t(devel)\t\n");
        assert_eq!(modules(&bare)[0].1, "(devel)");
    }

    #[test]
    fn ldflags_versions_follow_syfts_patterns() {
        let v = |s: &str| ldflags_version(s);
        assert_eq!(v("-X main.version=1.2.3"), Some("v1.2.3".into()));
        assert_eq!(v("-X main.Version=v1.2.3-rc.1"), Some("v1.2.3-rc".into()));
        assert_eq!(
            v(
                "-X github.com/x/y/internal/version.gitVersion=refs/tags/v2.0.1 -X main.version=1.0.0"
            ),
            Some("v2.0.1".into()),
            "the leftmost match wins; a path prefix before the version is skipped"
        );
        assert_eq!(v("-X main.buildVer=10.20.30_x"), Some("v10.20.30_x".into()));
        assert_eq!(
            v("-X main.commit=abc -X main.tag=4.5.6"),
            Some("v4.5.6".into())
        );
        assert_eq!(v("-X main.version=dev -X main.date=2024.01.01"), None);
        assert_eq!(v("-X main.versions=1.2.3"), None);
        assert_eq!(v("-s -w"), None);
        // Pathological input stays cheap: only the first 64 Ki characters are looked at.
        let hostile = format!(".version={}", "1".repeat(100_000));
        let cut = 64 * 1024 - ".version=".len();
        assert_eq!(v(&hostile).map(|s| s.len()), Some(cut + 1));
        let slashes = format!(".version={}", "a/".repeat(100_000));
        assert_eq!(v(&slashes), None);
    }

    #[test]
    fn pseudo_timestamps_are_utc() {
        assert_eq!(pseudo_timestamp("2023-12-22T01:36:29Z"), "20231222013629");
        assert_eq!(
            pseudo_timestamp("2024-03-01T00:30:00.123+01:00"),
            "20240229233000"
        );
        assert_eq!(
            pseudo_timestamp("1999-12-31T23:59:59-00:01"),
            "20000101000059"
        );
        assert_eq!(pseudo_timestamp("yesterday"), "00010101000000");
        assert_eq!(pseudo_timestamp("2024-13-01T00:00:00Z"), "00010101000000");
    }

    #[test]
    fn dependencies_are_reported_as_replaced() {
        let bi = info(
            "path\texample.com/app\n\
             mod\texample.com/app\tv1.0.0\t\n\
             dep\tgithub.com/a/b\tv1.2.3\th1:x=\n\
             dep\tgithub.com/c/d\tv0.1.0\n\
             =>\tgithub.com/fork/d\tv0.1.1\th1:y=\n\
             dep\tgithub.com/docker/docker\tv27.4.0+incompatible\th1:z=\n",
        );
        assert_eq!(
            modules(&bi),
            vec![
                ("example.com/app".to_owned(), "v1.0.0".to_owned()),
                ("github.com/a/b".into(), "v1.2.3".into()),
                ("github.com/fork/d".into(), "v0.1.1".into()),
                (
                    "github.com/docker/docker".into(),
                    "v27.4.0+incompatible".into()
                ),
                ("stdlib".into(), "go1.21.5".into()),
            ]
        );
        // Without a `mod` line (GOPATH builds, `cmd/go`): only the toolchain.
        assert_eq!(
            modules(&info("path\tcmd/go\nbuild\tGOOS=linux\n")),
            vec![("stdlib".to_owned(), "go1.21.5".to_owned())]
        );
    }

    #[test]
    fn stdlib_drops_experiments_and_devel_toolchains() {
        assert_eq!(
            stdlib_version("go1.22.3 X:boringcrypto"),
            Some("go1.22.3".into())
        );
        assert_eq!(stdlib_version("go1.20rc1"), Some("go1.20rc1".into()));
        assert_eq!(stdlib_version("devel go1.23-4f3f0f5 Tue"), None);
        assert_eq!(stdlib_version(""), None);
    }

    /// Real Go programs from PyPI wheels: ELF executables of Go 1.21 and 1.26 (inline
    /// format), the same programs as PE (Windows) and Mach-O (macOS arm64), and a Go 1.17
    /// `c-shared` library (pointer format, resolved through a PIE's segments).
    const REAL: [(&str, &[&str], &str); 5] = [
        ("go-task-bin==3.33.1", test_support::LINUX, "scripts/task"),
        ("shfmt-py==3.13.0.2", test_support::LINUX, "scripts/shfmt"),
        (
            "go-task-bin==3.33.1",
            test_support::WINDOWS,
            "scripts/task.exe",
        ),
        ("shfmt-py==3.13.0.2", test_support::MACOS, "scripts/shfmt"),
        (
            "setuptools-golang-examples==2.2.0",
            &["manylinux1_x86_64"],
            "red.abi3.so",
        ),
    ];

    /// What `go version -m` says a binary holds, read from its text alone: the main
    /// module's path, and each dependency as replaced, then `stdlib`.
    fn expected_from_go(
        version: &str,
        lines: &[String],
    ) -> (Option<String>, Vec<(String, String)>) {
        let mut main = None;
        let mut deps: Vec<(String, String)> = Vec::new();
        for line in lines {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["mod", path, ..] => main = Some((*path).to_owned()),
                ["dep", path, version, ..] => {
                    deps.push(((*path).to_owned(), (*version).to_owned()))
                }
                ["=>", path, version, ..] => {
                    *deps.last_mut().expect("a dep before =>") =
                        ((*path).to_owned(), (*version).to_owned());
                }
                _ => {}
            }
        }
        let toolchain = version.split(' ').next().expect("version").to_owned();
        deps.push(("stdlib".into(), toolchain));
        (main, deps)
    }

    #[test]
    fn real_binaries_read_as_go_reads_them() {
        let go = test_support::go_root();
        for (spec, platforms, member) in REAL {
            let Some(data) = test_support::wheel_file(spec, platforms, member) else {
                continue;
            };
            let label = format!("{spec} {platforms:?} {member}");
            let infos = buildinfo::read(&data).expect(&label);
            assert_eq!(infos.len(), 1, "{label}");
            let raw = &infos[0];
            assert_eq!(raw.problem, None, "{label}");
            let (found, problems) = binary_modules(&data).expect(&label).expect(&label);
            assert!(problems.is_empty(), "{label}: {problems:?}");
            let Some(go) = &go else { continue };
            let (version, lines) = test_support::go_version_m(go, &data);
            assert_eq!(raw.go_version, version, "{label}");
            let ours: Vec<&str> = raw.modinfo.lines().collect();
            assert_eq!(
                ours, lines,
                "{label}: module information differs from go version -m"
            );
            let (main, deps) = expected_from_go(&version, &lines);
            let main = main.expect("every wheel's program has a main module");
            assert_eq!(found[0].0, main, "{label}");
            assert_eq!(found[1..], deps[..], "{label}");
            assert!(deps.len() > 1, "{label}: has dependencies");
        }
    }

    /// A real ELF whose build info is damaged in each way a header can be: errors, never
    /// panics; and executables that are not Go are silently skipped.
    #[test]
    fn damaged_build_info_is_an_error() {
        let Some(task) = test_support::wheel_file(REAL[0].0, REAL[0].1, REAL[0].2) else {
            return;
        };
        let at = memchr::memmem::find_iter(&task, buildinfo::MAGIC)
            .find(|i| i % 16 == 0)
            .expect("the header");
        assert_eq!(task[at + 15] & 2, 2, "Go 1.21 writes the inline format");
        let damaged = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut d = task.clone();
            f(&mut d);
            binary_modules(&d)
        };
        // The version's length as a huge varint.
        let err = damaged(&|d| {
            d[at + 32..at + 42]
                .copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        })
        .expect_err("huge varint");
        assert!(
            err.contains("toolchain version") && err.contains("runs past"),
            "{err}"
        );
        // A varint that never ends.
        let err = damaged(&|d| d[at + 32..at + 44].fill(0x80)).expect_err("endless varint");
        assert!(err.contains("unreadable length"), "{err}");
        // The module information's length past the end of the data.
        let version_len = usize::from(task[at + 32]);
        let mod_len_at = at + 33 + version_len;
        let err = damaged(&|d| {
            d[mod_len_at..mod_len_at + 5].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f])
        })
        .expect_err("modinfo length");
        assert!(err.contains("module information"), "{err}");
        // The flags say "pointers": the bytes after the magic are no addresses in the file.
        let err = damaged(&|d| {
            d[at + 15] = 0;
            d[at + 16..at + 32].fill(0xee);
        })
        .expect_err("bad pointers");
        assert!(err.contains("outside the file"), "{err}");
        let err = damaged(&|d| d[at + 14] = 3).map(|_| ());
        assert!(
            err.is_ok(),
            "the pointer size is not read in the inline format"
        );
        // Cut inside the version string: the headers are gone (section headers are at the
        // end), the blob is still found, and its string runs past the end.
        let err = damaged(&|d| d.truncate(at + 36)).expect_err("truncated");
        assert!(err.contains("runs past"), "{err}");
        // Module lines damaged in place: reported, the rest still read.
        let text_at = mod_len_at + 2 + 16;
        let (found, problems) = damaged(&|d| d[text_at..text_at + 5].copy_from_slice(b"mod\tx"))
            .expect("readable")
            .expect("Go");
        assert!(
            !problems.is_empty() && found.iter().any(|(n, _)| n == "stdlib"),
            "{problems:?}"
        );
        // The magic itself damaged: no longer a Go binary.
        assert_eq!(damaged(&|d| d[at] = b'X').expect("not Go"), None);
        // An ELF magic followed by garbage, and an empty ELF header.
        let mut garbage = b"\x7fELF".to_vec();
        garbage.extend((0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert_eq!(binary_modules(&garbage).expect("skipped"), None);
        assert_eq!(binary_modules(b"\x7fELF").expect("skipped"), None);
        assert_eq!(binary_modules(b"").expect("skipped"), None);
    }

    #[test]
    fn damaged_pointers_in_a_go_1_17_library_are_errors() {
        let (spec, platforms, member) = REAL[4];
        let Some(lib) = test_support::wheel_file(spec, platforms, member) else {
            return;
        };
        let at = memchr::memmem::find_iter(&lib, buildinfo::MAGIC)
            .find(|i| i % 16 == 0)
            .expect("the header");
        assert_eq!(lib[at + 15], 0, "Go 1.17 writes little-endian pointers");
        let mut d = lib.clone();
        d[at + 16..at + 24].copy_from_slice(&0xdead_beef_u64.to_le_bytes());
        let err = binary_modules(&d).expect_err("bad version pointer");
        assert!(
            err.contains("toolchain version") && err.contains("0xdeadbeef"),
            "{err}"
        );
        let mut d = lib.clone();
        d[at + 14] = 5;
        assert!(
            binary_modules(&d)
                .expect_err("pointer size")
                .contains("pointer size 5")
        );
        // Big-endian flag on a little-endian file: the pointers no longer resolve.
        let mut d = lib.clone();
        d[at + 15] = 1;
        assert!(binary_modules(&d).is_err());
    }

    #[test]
    fn other_executables_are_not_go() {
        let Some(uvx) = test_support::wheel_file("uv==0.13.9", test_support::LINUX, "scripts/uvx")
        else {
            return;
        };
        assert_eq!(binary_modules(&uvx).expect("not Go"), None);
    }

    /// A universal Mach-O assembled from two thin ones (a 32-bit fat header, big-endian,
    /// each slice aligned to 2^14): each architecture's build info is read, each module
    /// reported once.
    #[test]
    fn universal_mach_o_reports_every_architecture() {
        let Some(shfmt) =
            test_support::wheel_file("shfmt-py==3.13.0.2", test_support::MACOS, "scripts/shfmt")
        else {
            return;
        };
        let Some(task) =
            test_support::wheel_file("go-task-bin==3.33.1", test_support::MACOS, "scripts/task")
        else {
            return;
        };
        let align = 1usize << 14;
        let mut fat = Vec::new();
        fat.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
        fat.extend_from_slice(&2u32.to_be_bytes());
        let first = align;
        let second = (first + shfmt.len()).div_ceil(align) * align;
        for (offset, slice) in [(first, &shfmt), (second, &task)] {
            fat.extend_from_slice(&slice[4..12]); // cputype, cpusubtype (little-endian file)
            let cpu = u32::from_le_bytes(slice[4..8].try_into().expect("4 bytes"));
            let sub = u32::from_le_bytes(slice[8..12].try_into().expect("4 bytes"));
            let n = fat.len();
            fat[n - 8..n - 4].copy_from_slice(&cpu.to_be_bytes());
            fat[n - 4..].copy_from_slice(&sub.to_be_bytes());
            fat.extend_from_slice(&u32::try_from(offset).expect("small").to_be_bytes());
            fat.extend_from_slice(&u32::try_from(slice.len()).expect("small").to_be_bytes());
            fat.extend_from_slice(&14u32.to_be_bytes());
        }
        fat.resize(first, 0);
        fat.extend_from_slice(&shfmt);
        fat.resize(second, 0);
        fat.extend_from_slice(&task);
        let infos = buildinfo::read(&fat).expect("reads");
        assert_eq!(infos.len(), 2);
        let thin = |d: &[u8]| binary_modules(d).expect("reads").expect("Go").0;
        let (a, b) = (thin(&shfmt), thin(&task));
        let (both, problems) = binary_modules(&fat).expect("reads").expect("Go");
        assert!(problems.is_empty());
        let mut expected = a.clone();
        expected.extend(b.into_iter().filter(|m| !a.contains(m)));
        assert_eq!(both, expected);
    }
}
