//! Real image tools: Debian rootfs with `mmdebstrap`, OCI layouts with `umoci`, copies
//! between formats and registries with `skopeo`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{have, persistent_cache};

/// Run a command; panic with its output if it fails. Returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Build `artifact` under `persistent_cache()/name` once, holding a file lock so parallel
/// tests and test binaries wait for one builder. `build` writes into the path it is given.
pub fn cached_artifact(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let cache = persistent_cache();
    let path = cache.join(name);
    let lock = File::create(cache.join(format!("{name}.lock"))).unwrap();
    lock.lock().unwrap();
    if !path.exists() {
        let tmp = cache.join(format!("{name}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_file(&tmp);
        build(&tmp);
        std::fs::rename(&tmp, &path).unwrap();
    }
    lock.unlock().unwrap();
    path
}

/// Whether real Debian images can be built here.
pub fn can_build_debian() -> bool {
    have("mmdebstrap") && have("umoci") && have("skopeo") && have("dpkg-query") && is_root()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A Debian bookworm `--variant=minbase` root filesystem tar, built once and cached.
pub fn debian_minbase_tar() -> PathBuf {
    cached_artifact("bookworm-minbase-v1.tar", |out| {
        run(Command::new("mmdebstrap")
            .args([
                "--variant=minbase",
                "--format=tar",
                "--skip=output/dev",
                "--quiet",
            ])
            .arg("--aptopt=Acquire::Check-Valid-Until \"false\"")
            .env("SOURCE_DATE_EPOCH", "1735689600")
            .arg("bookworm")
            .arg(out));
    })
}

/// Create an OCI layout with one image (`tag`) whose only layer is `rootfs_tar`.
pub fn umoci_image_from_tar(layout: &Path, tag: &str, rootfs_tar: &Path) {
    let image = format!("{}:{tag}", layout.display());
    run(Command::new("umoci").args(["init", "--layout"]).arg(layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--architecture",
        "amd64",
        "--os",
        "linux",
        "--created",
        "2025-01-01T00:00:00Z",
        "--config.cmd",
        "/bin/bash",
        "--no-history",
    ]));
    run(Command::new("umoci")
        .args([
            "raw",
            "add-layer",
            "--image",
            &image,
            "--history.created_by",
            "ADD rootfs.tar /",
        ])
        .arg(rootfs_tar));
}

/// Unpack an image into `bundle` (rootfs at `bundle/rootfs`).
pub fn umoci_unpack(layout: &Path, tag: &str, bundle: &Path) {
    run(Command::new("umoci")
        .args(["unpack", "--image", &format!("{}:{tag}", layout.display())])
        .arg(bundle));
}

/// Commit the changes made in `bundle/rootfs` as a new layer of `tag`.
pub fn umoci_repack(layout: &Path, tag: &str, bundle: &Path, created_by: &str) {
    run(Command::new("umoci")
        .args([
            "repack",
            "--image",
            &format!("{}:{tag}", layout.display()),
            "--history.created_by",
            created_by,
        ])
        .arg(bundle));
}

/// `skopeo copy SRC DST` with TLS verification off (loopback registries only).
pub fn skopeo_copy(src: &str, dst: &str, extra: &[&str]) {
    run(Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ])
        .args(extra)
        .args([src, dst]));
}

/// Download `.deb` files into `dir` with apt (uses this machine's apt sources).
pub fn apt_download(dir: &Path, packages: &[&str]) {
    run(Command::new("apt-get")
        .current_dir(dir)
        .args(["download", "-q"])
        .args(packages));
}

/// dpkg's own view of a root filesystem: `(package, version, arch, source, source_version)`.
pub fn dpkg_query(rootfs: &Path) -> Vec<(String, String, String, String, String)> {
    let out = run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", rootfs.join("var/lib/dpkg").display()))
        .args(["-W", "-f", "${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n"]));
    let mut rows: Vec<_> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 6 && f[0] == "installed").then(|| {
                (
                    f[1].into(),
                    f[2].into(),
                    f[3].into(),
                    f[4].into(),
                    f[5].into(),
                )
            })
        })
        .collect();
    rows.sort();
    rows
}
