//! Real Python (and Ruby) content for image tests: `pip install --target` trees of real
//! wheels and sdists from PyPI, a virtualenv with a legacy (`setup.py install`) egg-info
//! install made by an old pip, and Debian's own `python3-*` and Ruby packages with their
//! dpkg database entries. Built once and cached under [`crate::persistent_cache`].

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::cached_artifact;

/// Wheels installed into the `--target` tree: old versions, names that normalise
/// (`python-dateutil`, `zope.interface`, `ruamel.yaml`, `MarkupSafe`), and pythonnet,
/// which ships a .NET `deps.json`.
pub const WHEELS: &[&str] = &[
    "requests==2.19.1",
    "urllib3==1.24.1",
    "certifi==2018.4.16",
    "chardet==3.0.4",
    "idna==2.7",
    "six==1.11.0",
    "Jinja2==2.10",
    "MarkupSafe==2.1.3",
    "python-dateutil==2.7.3",
    "zope.interface==6.1",
    "ruamel.yaml==0.17.21",
    "pythonnet==3.0.3",
];

/// Built from its sdist (no Linux wheel exists for it).
pub const SDIST: &str = "PyYAML==5.3";

/// The version that replaces `urllib3==1.24.1` in an upper layer.
pub const URLLIB3_NEW: &str = "urllib3==1.26.5";

/// Debian packages whose Python and Ruby metadata dpkg owns.
pub const DEBS: &[&str] = &[
    "base-files",
    "python3-yaml",
    "python3-six",
    "ruby-rack",
    "libruby3.1",
];

const PIP_PLATFORM: &[&str] = &[
    "--only-binary=:all:",
    "--implementation",
    "cp",
    "--python-version",
    "3.11",
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_17_x86_64",
    "--platform",
    "manylinux1_x86_64",
];

fn pip(python: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-compile",
        "--no-warn-script-location",
        "-q",
    ]);
    cmd
}

fn ok(cmd: &mut Command) -> bool {
    match cmd.output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "{cmd:?} failed:\n{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("{cmd:?}: {e}");
            false
        }
    }
}

/// The generated content, or `None` when pip, apt or the registries are unavailable:
/// * `site/`: `pip install --target` of [`WHEELS`] and [`SDIST`];
/// * `urllib3-new/`: `pip install --target` of [`URLLIB3_NEW`];
/// * `legacy/`: the `site-packages` of a virtualenv where pip 21.3 installed [`SDIST`]
///   the legacy way (`setup.py install`: an `.egg-info` with `installed-files.txt`);
/// * `debian/`: a root filesystem holding [`DEBS`] unpacked, with their dpkg `status`
///   entries and `.list` files, as dpkg would leave them.
pub fn fixture() -> Option<PathBuf> {
    if !crate::have("python3") || !crate::have("apt-get") || !crate::have("dpkg-deb") {
        return None;
    }
    let path = cached_artifact("python-fixture-v1", |out| {
        if let Err(e) = generate(out) {
            std::fs::create_dir_all(out).unwrap();
            std::fs::write(out.join("FAILED"), e).unwrap();
        }
    });
    if path.join("FAILED").exists() {
        eprintln!(
            "python fixture failed: {}",
            std::fs::read_to_string(path.join("FAILED")).unwrap_or_default()
        );
        let _ = std::fs::remove_dir_all(&path);
        return None;
    }
    Some(path)
}

fn generate(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let site = out.join("site");
    if !ok(pip("python3")
        .args(PIP_PLATFORM)
        .arg("--target")
        .arg(&site)
        .args(WHEELS))
    {
        return Err("pip install --target (wheels)".into());
    }
    if !ok(pip("python3").arg("--target").arg(&site).arg(SDIST)) {
        return Err("pip install --target (sdist)".into());
    }
    // Console scripts go to bin/ inside the target; a real image has them elsewhere.
    let _ = std::fs::remove_dir_all(site.join("bin"));
    if !ok(pip("python3")
        .args(PIP_PLATFORM)
        .arg("--target")
        .arg(out.join("urllib3-new"))
        .arg(URLLIB3_NEW))
    {
        return Err("pip install --target (urllib3)".into());
    }

    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let venv = work.path().join("venv");
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return Err("python3 -m venv".into());
    }
    let vpy = venv.join("bin/python3");
    let vpy = vpy.to_str().unwrap();
    if !ok(pip(vpy).args(["pip==21.3.1", "setuptools==59.8.0", "wheel==0.37.1"])) {
        return Err("old pip in the venv".into());
    }
    if !ok(pip(vpy).args(["--no-binary", ":all:", "--no-use-pep517", SDIST])) {
        return Err("legacy install".into());
    }
    let lib = std::fs::read_dir(venv.join("lib"))
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no lib/pythonX.Y")?
        .map_err(|e| e.to_string())?
        .path();
    copy_tree(&lib.join("site-packages"), &out.join("legacy"))?;

    let debs = work.path().join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    if !ok(Command::new("apt-get")
        .current_dir(&debs)
        .args(["download", "-q"])
        .args(DEBS))
    {
        return Err("apt-get download".into());
    }
    let root = out.join("debian");
    let info = root.join("var/lib/dpkg/info");
    std::fs::create_dir_all(&info).map_err(|e| e.to_string())?;
    let mut status = String::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&debs)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for deb in files {
        if !ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root)) {
            return Err(format!("dpkg-deb -x {}", deb.display()));
        }
        let control = Command::new("dpkg-deb")
            .arg("-f")
            .arg(&deb)
            .output()
            .map_err(|e| e.to_string())?;
        let control = String::from_utf8_lossy(&control.stdout).into_owned();
        let mut name = String::new();
        for line in control.lines() {
            status.push_str(line);
            status.push('\n');
            if let Some(n) = line.strip_prefix("Package: ") {
                name = n.trim().to_owned();
                status.push_str("Status: install ok installed\n");
            }
        }
        status.push('\n');
        // The file list, as dpkg writes `info/NAME.list`: absolute paths, `/.` first.
        let listing = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "dpkg-deb --fsys-tarfile '{}' | tar -t",
                deb.display()
            ))
            .output()
            .map_err(|e| e.to_string())?;
        let list: String = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .map(|l| {
                let p = l.trim_start_matches('.').trim_end_matches('/');
                if p.is_empty() {
                    "/.\n".to_owned()
                } else {
                    format!("{p}\n")
                }
            })
            .collect();
        std::fs::write(info.join(format!("{name}.list")), list).map_err(|e| e.to_string())?;
    }
    std::fs::write(root.join("var/lib/dpkg/status"), status).map_err(|e| e.to_string())?;
    Ok(())
}

/// Copy a directory tree (files, directories, symlinks).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let ft = entry.file_type().map_err(|e| e.to_string())?;
        let dest = to.join(entry.file_name());
        if ft.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(|e| e.to_string())?;
            std::os::unix::fs::symlink(target, dest).map_err(|e| e.to_string())?;
        } else {
            std::fs::copy(entry.path(), dest).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// What `importlib.metadata` (Python's own reader of installed distributions) finds on
/// `paths`: (PEP 503 name, version) pairs.
pub fn importlib_distributions(paths: &[&Path]) -> Vec<(String, String)> {
    let script = r"import sys, re, importlib.metadata as m
for d in m.distributions(path=sys.argv[1:]):
    print(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower() + '\t' + d.version)
";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    v.sort();
    v.dedup();
    v
}
