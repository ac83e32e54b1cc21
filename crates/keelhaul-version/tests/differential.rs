//! Differential tests: our `compare` against each scheme's reference implementation, on
//! thousands of real version strings from `../shared/data` (relative to the workspace).
//!
//! Every reference runs as ONE process per scheme that reads `a<TAB>b` lines on stdin and
//! prints `-1`/`0`/`1` (or `E` when the reference rejects a side, `?` when it defines no
//! order) per line; the helper programs live in `tests/reference/`.
//!
//! A missing reference tool or missing shared data makes a test print `SKIP: …` and pass,
//! unless `KEELHAUL_REQUIRE_INTEGRATION=1`, in which case it fails.
//!
//! References (Debian 12): `python3-apt` and `python3-rpm` (for `/usr/bin/python3`),
//! `pip install packaging` (for `python3` on PATH), `npm install -g semver` (or
//! `KEELHAUL_NODE_PATH` pointing at a `node_modules` holding `semver`), `golang-go`
//! (its vendored `golang.org/x/mod/semver`), `libmaven3-core-java` + a JDK ≥ 11, `ruby`,
//! `php-cli` + `php-composer-semver`. apk and NuGet have no reference here: apk is checked
//! for ordering consistency on Alpine secdb versions, NuGet only by unit vectors.
#![allow(clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keelhaul_version::{Scheme, compare};

// ---------------------------------------------------------------------------------------
// environment

fn require_integration() -> bool {
    std::env::var("KEELHAUL_REQUIRE_INTEGRATION").is_ok_and(|v| v == "1")
}

/// Skips (or, when integration is required, fails) with a clear message.
fn skip(test: &str, why: &str) {
    if require_integration() {
        panic!("{test}: {why} (KEELHAUL_REQUIRE_INTEGRATION=1)");
    }
    eprintln!("SKIP {test}: {why}");
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference_dir() -> PathBuf {
    manifest_dir().join("tests").join("reference")
}

/// `../shared` next to the workspace root.
fn shared_data() -> Option<PathBuf> {
    let p = manifest_dir().join("../../../shared/data");
    p.is_dir().then_some(p)
}

/// Runs a command and tells whether it exited successfully (quietly).
fn works(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "keelhaul-version-diff-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Extracts a `.tar.zst` from the shared data into `into` (with the `zstd` and `tar` CLIs).
fn extract(archive: &Path, into: &Path) -> Result<(), String> {
    let mut zstd = Command::new("zstd")
        .arg("-dc")
        .arg(archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("zstd: {e}"))?;
    let stdout = zstd.stdout.take().ok_or("zstd stdout")?;
    let status = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    let zs = zstd.wait().map_err(|e| format!("zstd: {e}"))?;
    if status.success() && zs.success() {
        Ok(())
    } else {
        Err(format!("extracting {} failed", archive.display()))
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// All files of the given archives (relative to shared/data), extracted into `scratch`.
fn shared_files(test: &str, scratch: &Scratch, archives: &[&str]) -> Option<Vec<PathBuf>> {
    let Some(data) = shared_data() else {
        skip(
            test,
            "shared data (../shared/data next to the workspace) is absent",
        );
        return None;
    };
    let mut files = Vec::new();
    for a in archives {
        let path = data.join(a);
        if path.is_dir() {
            files_under(&path, &mut files);
            continue;
        }
        let dir = scratch.0.join(a.replace('/', "_"));
        std::fs::create_dir_all(&dir).expect("scratch subdir");
        if let Err(e) = extract(&path, &dir) {
            skip(test, &e);
            return None;
        }
        files_under(&dir, &mut files);
    }
    Some(files)
}

// ---------------------------------------------------------------------------------------
// version strings

/// Version-looking tokens of a text: split at whitespace, quotes, brackets, commas and
/// range operators; keep tokens that start with a digit (or `v` + digit).
fn harvest(text: &str, out: &mut BTreeSet<String>) {
    for raw in text.split(|c: char| c.is_whitespace() || "\"'`,;[](){}|".contains(c)) {
        let tok = raw
            .trim_start_matches(['<', '>', '=', '~', '^', '!'])
            .trim_end_matches([':', '.']);
        let first = tok.as_bytes().first().copied();
        let v_digit = tok.starts_with('v') && tok.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
        if (first.is_some_and(|c| c.is_ascii_digit()) || v_digit) && tok.len() <= 80 {
            out.insert(tok.to_owned());
        }
    }
}

fn harvest_files(files: &[PathBuf], exts: &[&str], out: &mut BTreeSet<String>) {
    for f in files {
        let name = f.to_string_lossy();
        if exts.iter().any(|e| name.ends_with(e))
            && let Ok(text) = std::fs::read_to_string(f)
        {
            harvest(&text, out);
        }
    }
}

/// Values of the given JSON keys anywhere in the JSON files (strings and string arrays).
fn json_values(files: &[PathBuf], keys: &[&str], out: &mut BTreeSet<String>) {
    fn walk(v: &serde_json::Value, keys: &[&str], out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if keys.contains(&k.as_str()) {
                        match v {
                            serde_json::Value::String(s) => {
                                out.insert(s.clone());
                            }
                            serde_json::Value::Array(a) => {
                                for s in a.iter().filter_map(|x| x.as_str()) {
                                    out.insert(s.to_owned());
                                }
                            }
                            _ => {}
                        }
                    }
                    walk(v, keys, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, keys, out)),
            _ => {}
        }
    }
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        if let Ok(text) = std::fs::read_to_string(f)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        {
            walk(&v, keys, out);
        }
    }
}

/// Adds `s + suffix` for every `step`-th string, to cover the pre/post-release forms the
/// real data has few of.
fn mutate(set: &mut BTreeSet<String>, suffixes: &[&str], step: usize) {
    let base: Vec<String> = set.iter().step_by(step.max(1)).cloned().collect();
    for (i, s) in base.iter().enumerate() {
        let suf = suffixes[i % suffixes.len()];
        set.insert(format!("{s}{suf}"));
    }
}

/// At most `max` strings, evenly spread over the sorted set (deterministic).
fn thin(set: BTreeSet<String>, max: usize) -> Vec<String> {
    let v: Vec<String> = set
        .into_iter()
        .filter(|s| !s.contains(['\t', '\n']))
        .collect();
    if v.len() <= max {
        return v;
    }
    let step = v.len() as f64 / max as f64;
    (0..max)
        .map(|i| v[(i as f64 * step) as usize].clone())
        .collect()
}

/// A small deterministic PRNG (xorshift64*), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Each string with itself (a validity probe for strict references), then, among the
/// strings our side accepts, each with a few neighbours in sorted order, plus random pairs.
/// If we accept something the reference rejects (or the reverse) the self pair catches it.
fn make_pairs(strings: &[String], scheme: Scheme, seed: u64) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = strings.iter().map(|s| (s.clone(), s.clone())).collect();
    let valid: Vec<&String> = strings
        .iter()
        .filter(|s| keelhaul_version::is_valid(scheme, s))
        .collect();
    let n = valid.len();
    for i in 0..n {
        for d in [1usize, 2, 3, 7] {
            if i + d < n {
                pairs.push((valid[i].clone(), valid[i + d].clone()));
            }
        }
    }
    if n > 1 {
        let mut rng = Rng(seed | 1);
        for _ in 0..2 * n {
            let (a, b) = (rng.below(n), rng.below(n));
            pairs.push((valid[a].clone(), valid[b].clone()));
        }
    }
    pairs
}

// ---------------------------------------------------------------------------------------
// running a reference and checking

/// Feeds all pairs to one reference process and returns its per-pair answers.
fn run_reference(mut cmd: Command, pairs: &[(String, String)]) -> Result<Vec<String>, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let mut input = String::new();
    for (a, b) in pairs {
        input.push_str(a);
        input.push('\t');
        input.push_str(b);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    // Write from a thread so a reference that prints as it reads cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!(
            "reference {cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    if lines.len() != pairs.len() {
        return Err(format!(
            "reference answered {} lines for {} pairs",
            lines.len(),
            pairs.len()
        ));
    }
    Ok(lines)
}

/// Asserts that we agree with every reference answer; returns the pair count.
fn check(scheme: Scheme, pairs: &[(String, String)], answers: &[String]) -> usize {
    let mut bad = Vec::new();
    let mut errors = 0usize;
    for ((a, b), ans) in pairs.iter().zip(answers) {
        let ours = compare(scheme, a, b);
        let ok = match (ans.as_str(), &ours) {
            ("-1", Ok(Ordering::Less))
            | ("0", Ok(Ordering::Equal))
            | ("1", Ok(Ordering::Greater)) => true,
            ("E", Err(_)) => {
                errors += 1;
                true
            }
            ("?", Ok(o)) => *o != Ordering::Equal,
            _ => false,
        };
        if !ok {
            bad.push(format!("{a:?} vs {b:?}: reference {ans}, ours {ours:?}"));
        }
    }
    eprintln!(
        "{}: {} pairs compared ({} rejected by both sides), {} disagreements",
        scheme.name(),
        pairs.len(),
        errors,
        bad.len()
    );
    for line in bad.iter().take(40) {
        eprintln!("  {line}");
    }
    assert!(
        bad.is_empty(),
        "{}: {} disagreements with the reference",
        scheme.name(),
        bad.len()
    );
    pairs.len()
}

fn differential(test: &str, scheme: Scheme, strings: Vec<String>, cmd: Command, seed: u64) {
    assert!(
        strings.len() >= 1000,
        "{test}: only {} version strings collected",
        strings.len()
    );
    let pairs = make_pairs(&strings, scheme, seed);
    eprintln!(
        "{}: {} distinct version strings, {} valid for us",
        scheme.name(),
        strings.len(),
        strings
            .iter()
            .filter(|s| keelhaul_version::is_valid(scheme, s))
            .count()
    );
    match run_reference(cmd, &pairs) {
        Ok(answers) => {
            check(scheme, &pairs, &answers);
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

const SYSTEM_PYTHON: &str = "/usr/bin/python3";

// ---------------------------------------------------------------------------------------
// the tests

#[test]
fn dpkg_matches_apt_pkg() {
    let test = "dpkg_matches_apt_pkg";
    if !works(Command::new(SYSTEM_PYTHON).args(["-c", "import apt_pkg"])) {
        return skip(
            test,
            "python3-apt (apt_pkg for /usr/bin/python3) is not installed",
        );
    }
    let scratch = Scratch::new("dpkg");
    let Some(files) = shared_files(
        test,
        &scratch,
        &["distro/debian-security-tracker-lists.tar.zst"],
    ) else {
        return;
    };
    let mut set = BTreeSet::new();
    // Security tracker lines: "[bookworm] - pkg 1.2-3" and "\t- pkg 1.2-3 (bug…)".
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines() {
            let t = line.trim_start();
            let rest = if let Some(i) = t.find("] - ") {
                &t[i + 4..]
            } else if let Some(r) = t.strip_prefix("- ") {
                r
            } else {
                continue;
            };
            if let Some(v) = rest.split_whitespace().nth(1)
                && v.as_bytes()[0].is_ascii_digit()
            {
                set.insert(v.to_owned());
            }
        }
    }
    // Every version apt knows about (needs `apt-get update` for more than the installed).
    if let Some(avail) = output(Command::new("apt-cache").arg("dumpavail")) {
        for line in avail.lines() {
            if let Some(v) = line.strip_prefix("Version: ") {
                set.insert(v.to_owned());
            }
        }
    }
    mutate(
        &mut set,
        &["~rc1", "+b1", "-0", "~~", "a", ".0", "-1~bpo1", "+really1"],
        5,
    );
    let strings = thin(set, 9000);
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.arg("-I").arg(reference_dir().join("ref_dpkg.py"));
    differential(test, Scheme::Dpkg, strings, cmd, 0xD9C6);
}

#[test]
fn rpm_matches_label_compare() {
    let test = "rpm_matches_label_compare";
    if !works(Command::new(SYSTEM_PYTHON).args(["-c", "import rpm; rpm.ver"])) {
        return skip(
            test,
            "python3-rpm (rpm for /usr/bin/python3) is not installed",
        );
    }
    let scratch = Scratch::new("rpm");
    let Some(files) = shared_files(test, &scratch, &["osv/almalinux-osv.tar.zst"]) else {
        return;
    };
    let mut set = BTreeSet::new();
    json_values(&files, &["fixed", "introduced", "last_affected"], &mut set);
    set.remove("0");
    mutate(
        &mut set,
        &["~rc1", "^20240101git", ".1", "-1", "a", "~", "^"],
        4,
    );
    let strings = thin(set, 9000);
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.arg("-I").arg(reference_dir().join("ref_rpm.py"));
    differential(test, Scheme::Rpm, strings, cmd, 0x0A1A);
}

#[test]
fn pep440_matches_packaging() {
    let test = "pep440_matches_packaging";
    if !works(Command::new("python3").args(["-c", "import packaging.version"])) {
        return skip(
            test,
            "python3 with `packaging` (pip install packaging) is not available",
        );
    }
    let scratch = Scratch::new("pep440");
    let Some(files) = shared_files(test, &scratch, &["osv/pypi-pypa-advisory-database.tar.zst"])
    else {
        return;
    };
    let mut set = BTreeSet::new();
    harvest_files(&files, &[".yaml", ".yml", ".json"], &mut set);
    mutate(
        &mut set,
        &[
            "a1",
            ".post1",
            ".dev0",
            "rc2",
            "+local.1",
            "-1",
            ".0",
            "b",
            "-alpha.2",
            "_pre3",
            "c1",
            ".r4",
            "-dev",
            "+Ubuntu-1.abc",
            "preview",
            "!",
            "+",
            ".x",
        ],
        3,
    );
    let strings = thin(set, 9000);
    let mut cmd = Command::new("python3");
    cmd.arg("-I").arg(reference_dir().join("ref_pep440.py"));
    differential(test, Scheme::Pep440, strings, cmd, 0x440);
}

/// `NODE_PATH` under which `require('semver')` works, if any.
fn node_semver_path() -> Option<String> {
    let mut dirs = Vec::new();
    if let Ok(p) = std::env::var("KEELHAUL_NODE_PATH") {
        dirs.push(p);
    }
    if let Some(root) = output(Command::new("npm").args(["root", "-g"])) {
        dirs.push(root.trim().to_owned());
    }
    let path = dirs.join(":");
    works(
        Command::new("node")
            .args(["-e", "require('semver')"])
            .env("NODE_PATH", &path),
    )
    .then_some(path)
}

#[test]
fn semver_matches_node_semver() {
    let test = "semver_matches_node_semver";
    let Some(node_path) = node_semver_path() else {
        return skip(
            test,
            "node with the `semver` package (npm install -g semver) is not available",
        );
    };
    let scratch = Scratch::new("semver");
    let Some(files) = shared_files(
        test,
        &scratch,
        &[
            "native/nodejs-security-wg-vuln.tar.zst",
            "osv/rustsec-osv.tar.zst",
            "osv/go-vulndb.tar.zst",
        ],
    ) else {
        return;
    };
    let mut set = BTreeSet::new();
    harvest_files(&files, &[".json", ".toml", ".md"], &mut set);
    mutate(
        &mut set,
        &[
            "-alpha",
            "-alpha.1",
            "-0",
            "-rc.1+build.5",
            "+meta",
            "-beta.11",
            "-beta.2",
            "-x-y.01",
            "-1.a",
            "-9007199254740993",
            "-9007199254740992",
            "+",
            "-",
        ],
        3,
    );
    let strings = thin(set, 9000);
    let mut cmd = Command::new("node");
    cmd.arg(reference_dir().join("semver.js"))
        .env("NODE_PATH", node_path);
    differential(test, Scheme::Semver, strings, cmd, 0x5E5E);
}

#[test]
fn go_matches_x_mod_semver() {
    let test = "go_matches_x_mod_semver";
    let Some(goroot) = output(Command::new("go").args(["env", "GOROOT"])) else {
        return skip(test, "the Go toolchain (golang-go) is not installed");
    };
    let vendored =
        Path::new(goroot.trim()).join("src/cmd/vendor/golang.org/x/mod/semver/semver.go");
    if !vendored.is_file() {
        return skip(
            test,
            "the Go toolchain has no vendored golang.org/x/mod/semver",
        );
    }
    let scratch = Scratch::new("go");
    // Build the reference: module kvref = tests/reference/gosemver.go + the vendored package.
    let build = scratch.0.join("build");
    std::fs::create_dir_all(build.join("semver")).expect("mkdir");
    std::fs::copy(&vendored, build.join("semver/semver.go")).expect("copy semver.go");
    std::fs::copy(reference_dir().join("gosemver.go"), build.join("main.go")).expect("copy main");
    std::fs::write(build.join("go.mod"), "module kvref\n\ngo 1.17\n").expect("go.mod");
    let bin = build.join("gosemver");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&build)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GO111MODULE", "on")
        .status();
    if !built.is_ok_and(|s| s.success()) {
        panic!("{test}: building the Go reference failed");
    }
    let Some(files) = shared_files(
        test,
        &scratch,
        &["osv/go-vulndb.tar.zst", "osv/rustsec-osv.tar.zst"],
    ) else {
        return;
    };
    let mut set = BTreeSet::new();
    json_values(&files, &["introduced", "fixed", "last_affected"], &mut set);
    harvest_files(&files, &[".json"], &mut set);
    mutate(
        &mut set,
        &[
            "+incompatible",
            "-0.20191109021931-daa7c04131f5",
            "-rc.1",
            "-pre",
            "-01",
            "+x.y",
        ],
        3,
    );
    // `v1` / `v1.2` shorthands.
    let shorts: Vec<String> = set
        .iter()
        .step_by(9)
        .filter_map(|s| s.rsplit_once('.').map(|(h, _)| h.to_owned()))
        .collect();
    set.extend(shorts);
    let strings = thin(set, 9000);
    differential(test, Scheme::Go, strings, Command::new(&bin), 0x6060);
}

#[test]
fn maven_matches_comparable_version() {
    let test = "maven_matches_comparable_version";
    let jar = [
        "/usr/share/java/maven-artifact-3.x.jar",
        "/usr/share/java/maven-artifact.jar",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file());
    let Some(jar) = jar else {
        return skip(
            test,
            "maven-artifact jar (libmaven3-core-java) is not installed",
        );
    };
    if !works(Command::new("java").arg("-version")) {
        return skip(test, "java is not installed");
    }
    let scratch = Scratch::new("maven");
    let Some(files) = shared_files(
        test,
        &scratch,
        &[
            "native/victims-cve-db.tar.zst",
            "osv/ghsa-sample",
            "osv/rustsec-osv.tar.zst",
        ],
    ) else {
        return;
    };
    let mut set = BTreeSet::new();
    // Maven Central URLs: .../<artifact>/<version>/<file>.
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for url in text.split_whitespace().filter(|t| t.contains("/maven2/")) {
            let segs: Vec<&str> = url.trim_matches(['"', '\'']).split('/').collect();
            if segs.len() >= 3 {
                set.insert(segs[segs.len() - 2].to_owned());
            }
        }
    }
    harvest_files(&files, &[".yaml", ".yml", ".json"], &mut set);
    mutate(
        &mut set,
        &[
            "-SNAPSHOT",
            ".Final",
            "-rc1",
            "-sp1",
            "-1",
            ".0",
            "-alpha-1",
            "a1",
            "-M2",
            "-cr2",
            "-ga",
            "-release",
            ".RELEASE",
            "-b3",
            "-foo",
            "-0",
            "..1",
            "-",
            ".0.0-0",
            "-000000000012",
            "0000000000000000000001",
        ],
        2,
    );
    let strings = thin(set, 6000);
    let mut cmd = Command::new("java");
    cmd.arg("-cp")
        .arg(&jar)
        .arg(reference_dir().join("MavenCompare.java"));
    differential(test, Scheme::Maven, strings, cmd, 0x3A7E);
}

#[test]
fn gem_matches_rubygems() {
    let test = "gem_matches_rubygems";
    if !works(Command::new("ruby").args(["-e", "require 'rubygems'; Gem::Version"])) {
        return skip(test, "ruby is not installed");
    }
    let scratch = Scratch::new("gem");
    let Some(files) = shared_files(test, &scratch, &["native/rubysec-ruby-advisory-db.tar.zst"])
    else {
        return;
    };
    let mut set = BTreeSet::new();
    harvest_files(&files, &[".yml", ".yaml"], &mut set);
    mutate(
        &mut set,
        &[
            ".pre", ".rc1", "-beta.2", ".0", "a", ".a.0", "-1", ".0.0.b", "--x", ".A",
        ],
        3,
    );
    let strings = thin(set, 9000);
    let mut cmd = Command::new("ruby");
    cmd.arg(reference_dir().join("gem.rb"));
    differential(test, Scheme::RubyGems, strings, cmd, 0x6E3);
}

#[test]
fn composer_matches_composer_semver() {
    let test = "composer_matches_composer_semver";
    let autoload = Path::new("/usr/share/php/Composer/Semver/autoload.php");
    if !autoload.is_file() || !works(Command::new("php").arg("-v")) {
        return skip(test, "php-cli and php-composer-semver are not installed");
    }
    let scratch = Scratch::new("composer");
    let Some(files) = shared_files(
        test,
        &scratch,
        &["native/friendsofphp-security-advisories.tar.zst"],
    ) else {
        return;
    };
    let mut set = BTreeSet::new();
    harvest_files(&files, &[".yaml", ".yml"], &mut set);
    mutate(
        &mut set,
        &[
            "-beta1", "-RC2", "-dev", ".x-dev", "-alpha.3", "-patch1", "pl2", "-stable", "@dev",
            "+build", "-p", "b1-dev", ".0", "-b", "-Beta", ".1.2.3.4",
        ],
        3,
    );
    for extra in [
        "dev-master",
        "dev-feature/x",
        "master",
        "dev-1.x",
        "v2.0.0",
        "2023.01.01",
        "20230101",
    ] {
        set.insert(extra.to_owned());
    }
    let strings = thin(set, 9000);
    let mut cmd = Command::new("php");
    cmd.arg(reference_dir().join("composer.php"));
    differential(test, Scheme::Composer, strings, cmd, 0xC0);
}

/// apk-tools is not installable on Debian, so we check that our order is a consistent
/// total order on real Alpine versions: reflexive, antisymmetric and transitive.
#[test]
fn apk_order_is_consistent_on_alpine_secdb() {
    let test = "apk_order_is_consistent_on_alpine_secdb";
    if works(Command::new("apk").arg("--version")) {
        eprintln!("{test}: apk is installed but not used; the consistency check still runs");
    }
    let scratch = Scratch::new("apk");
    let Some(files) = shared_files(test, &scratch, &["distro/alpine-secdb.tar.zst"]) else {
        return;
    };
    let mut set = BTreeSet::new();
    harvest_files(&files, &[".json", ".yaml"], &mut set);
    mutate(
        &mut set,
        &["_rc1", "_p2", "_git20240101", "a", ".1", "_alpha", "-r1"],
        3,
    );
    let strings = thin(set, 4000);
    assert!(strings.len() >= 1000, "only {} apk versions", strings.len());
    let cmp = |a: &str, b: &str| compare(Scheme::Apk, a, b).expect("apk never fails");
    // Sort with a comparison-counting merge sort that cannot panic on a bad order, then
    // verify the result pairwise.
    let mut sorted = strings.clone();
    sorted.sort();
    let mut v: Vec<&str> = sorted.iter().map(String::as_str).collect();
    merge_sort(&mut v, &cmp);
    let mut checks = 0usize;
    for (i, a) in v.iter().enumerate() {
        assert_eq!(cmp(a, a), Ordering::Equal, "{a} != itself");
        for b in v.iter().skip(i + 1).take(8) {
            let ab = cmp(a, b);
            assert_eq!(ab, cmp(b, a).reverse(), "antisymmetry {a} {b}");
            assert_ne!(ab, Ordering::Greater, "sorted order broken: {a} > {b}");
            checks += 1;
        }
    }
    // Transitivity on random triples.
    let mut rng = Rng(0xA9C);
    for _ in 0..20_000 {
        let (x, y, z) = (
            v[rng.below(v.len())],
            v[rng.below(v.len())],
            v[rng.below(v.len())],
        );
        if cmp(x, y) != Ordering::Greater && cmp(y, z) != Ordering::Greater {
            assert_ne!(
                cmp(x, z),
                Ordering::Greater,
                "transitivity {x} <= {y} <= {z}"
            );
        }
        checks += 1;
    }
    eprintln!(
        "apk: {} strings, {checks} consistency checks, 0 failures",
        v.len()
    );
}

fn merge_sort<'a>(v: &mut Vec<&'a str>, cmp: &dyn Fn(&str, &str) -> Ordering) {
    if v.len() <= 1 {
        return;
    }
    let mut right = v.split_off(v.len() / 2);
    merge_sort(v, cmp);
    merge_sort(&mut right, cmp);
    let left = std::mem::take(v);
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(left[i], right[j]) != Ordering::Greater {
            v.push(left[i]);
            i += 1;
        } else {
            v.push(right[j]);
            j += 1;
        }
    }
    v.extend_from_slice(&left[i..]);
    v.extend_from_slice(&right[j..]);
}
