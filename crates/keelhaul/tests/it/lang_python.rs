//! Python (and the Ruby, .NET content that comes with it) on a real image: real wheels and
//! an sdist installed with `pip install --target`, a virtualenv with a legacy egg-info
//! install, Debian's `python3-yaml`, `python3-six`, `ruby-rack` and `libruby3.1` with their
//! dpkg records, a requirements file, and a layer that deletes one package
//! and replaces another's version. Checked against Python's own `importlib.metadata` and
//! compared with Syft and Trivy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::{keelhaul, peers, prerequisite, python, require};
use serde_json::Value;

const SITE: &str = "usr/local/lib/python3.11/site-packages";
const LEGACY: &str = "opt/legacy/lib/python3.11/site-packages";
const DIST: &str = "usr/lib/python3/dist-packages";

/// Pinned lines (and lines that are not pins) of the image's requirements file.
const REQUIREMENTS: &str = "# what the app was built from\n\
requests==2.19.1\n\
urllib3==1.24.1 ; python_version >= \"3\"\n\
six==1.11.0  # compatibility\n\
Flask==0.12.2\n\
Jinja2>=2.10\n\
-r more-requirements.txt\n";

/// A real `uv lock` output (requests, PyYAML, zope.interface; six for development).
const UV_LOCK: &[u8] =
    include_bytes!("../../../keelhaul-inventory/src/lang/python/testdata/uv.lock");

fn layer() -> Layer {
    Layer::new().compression(Compression::None)
}

/// (ecosystem, name, version) → evidence kinds and locations, from keelhaul's report.
type Found = BTreeMap<(String, String, String), Value>;

fn packages(report: &Value) -> Found {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (
                    p["ecosystem"].as_str().unwrap().to_owned(),
                    p["name"].as_str().unwrap().to_owned(),
                    p["version"].as_str().unwrap().to_owned(),
                ),
                p.clone(),
            )
        })
        .collect()
}

fn has_evidence(p: &Value, evidence: &str) -> bool {
    p["locations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["evidence"] == evidence)
}

/// keelhaul's installed packages of one ecosystem as (name, version).
fn installed(found: &Found, ecosystem: &str) -> BTreeSet<(String, String)> {
    found
        .iter()
        .filter(|((e, ..), p)| e == ecosystem && has_evidence(p, "installed"))
        .map(|((_, n, v), _)| (n.clone(), v.clone()))
        .collect()
}

fn pep503(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A peer's packages of one purl type as (name, version), PyPI names normalised.
fn peer_set(artifacts: &[peers::PeerArtifact], purl_type: &str) -> BTreeSet<(String, String)> {
    artifacts
        .iter()
        .filter(|a| a.purl_type == purl_type)
        .map(|a| {
            let name = if purl_type == "pypi" {
                pep503(&a.name)
            } else {
                a.name.clone()
            };
            (name, a.version.clone())
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn python_image_against_importlib_syft_and_trivy() {
    let fx = python::fixture();
    require!(
        fx.is_some(),
        "python3 with pip reaching PyPI, apt-get download and dpkg-deb"
    );
    let fx = fx.unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();

    let image = Image::new()
        .layer(
            layer()
                .tree(&fx.join("debian"), "")
                .created_by("dpkg -i python3-yaml …"),
        )
        .layer(
            layer()
                .tree(&fx.join("site"), SITE)
                .dir("app")
                .file("app/requirements.txt", REQUIREMENTS)
                .created_by("pip install --target …"),
        )
        .layer(
            layer()
                .tree(&fx.join("legacy"), LEGACY)
                .file(
                    "opt/legacy/pyvenv.cfg",
                    "home = /usr/bin\nversion = 3.11.7\n",
                )
                .created_by("python3 -m venv /opt/legacy && pip install --no-use-pep517 PyYAML"),
        )
        .layer(
            layer()
                .whiteout(&format!("{SITE}/requests"))
                .whiteout(&format!("{SITE}/requests-2.19.1.dist-info"))
                .whiteout(&format!("{SITE}/urllib3"))
                .whiteout(&format!("{SITE}/urllib3-1.24.1.dist-info"))
                .tree(&fx.join("urllib3-new"), SITE)
                .created_by("pip uninstall requests && pip install -U urllib3"),
        );
    let archive = s.join("python.docker.tar");
    image.write_docker_archive(&archive, "keelhaul/python:1");
    let target = format!("docker-archive:{}", archive.display());
    let report = keelhaul(s, &["scan", &target, "--format", "json", "--no-cache"])
        .success()
        .json();
    let found = packages(&report);
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");

    // The oracle: Python's importlib.metadata on the final filesystem's trees.
    let final_site = s.join("final-site");
    python::copy_tree(&fx.join("site"), &final_site).unwrap();
    for gone in [
        "requests",
        "requests-2.19.1.dist-info",
        "urllib3",
        "urllib3-1.24.1.dist-info",
    ] {
        std::fs::remove_dir_all(final_site.join(gone)).unwrap();
    }
    python::copy_tree(&fx.join("urllib3-new"), &final_site).unwrap();
    let oracle: BTreeSet<(String, String)> = python::importlib_distributions(&[
        &final_site,
        &fx.join("legacy"),
        &fx.join("debian").join(DIST),
    ])
    .into_iter()
    .collect();
    assert!(oracle.contains(&("urllib3".into(), "1.26.5".into())));
    assert!(oracle.contains(&("pyyaml".into(), "5.3".into())));
    assert!(oracle.contains(&("pyyaml".into(), "6.0".into())));
    assert!(oracle.len() > 15, "{oracle:?}");
    let pypi = installed(&found, "pypi");
    assert_eq!(pypi, oracle, "keelhaul's installed PyPI set is importlib's");

    // Deleted and replaced packages are gone; the replacement comes from the top layer.
    let layers: Vec<&Value> = report["image"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let layer_of = |p: &Value, path_end: &str| {
        let l = p["locations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["path"].as_str().unwrap().ends_with(path_end))
            .unwrap_or_else(|| panic!("no location ending {path_end}: {p}"));
        layers
            .iter()
            .position(|x| x["diff_id"] == l["layer"])
            .unwrap()
    };
    let get = |e: &str, n: &str, v: &str| {
        found
            .get(&(e.to_owned(), n.to_owned(), v.to_owned()))
            .unwrap_or_else(|| panic!("{e} {n} {v} not reported"))
    };
    let urllib3 = get("pypi", "urllib3", "1.26.5");
    assert_eq!(layer_of(urllib3, "urllib3-1.26.5.dist-info/METADATA"), 3);
    assert_eq!(urllib3["purl"], "pkg:pypi/urllib3@1.26.5");
    assert_eq!(urllib3["licenses"], serde_json::json!(["MIT"]));
    // requests and urllib3 1.24.1 survive only as what the requirements file declares.
    for (n, v) in [("requests", "2.19.1"), ("urllib3", "1.24.1")] {
        let p = get("pypi", n, v);
        assert!(
            !has_evidence(p, "installed") && has_evidence(p, "declared"),
            "{p}"
        );
    }
    // Installed and declared: one package, both evidences.
    let six = get("pypi", "six", "1.11.0");
    assert!(
        has_evidence(six, "installed") && has_evidence(six, "declared"),
        "{six}"
    );
    assert!(has_evidence(get("pypi", "flask", "0.12.2"), "declared"));
    assert!(!found.contains_key(&("pypi".into(), "jinja2".into(), ">=2.10".into())));
    // PyYAML 5.3 twice (wheel built from the sdist, legacy egg-info): one package, two
    // locations in two layers.
    let pyyaml = get("pypi", "pyyaml", "5.3");
    assert_eq!(
        layer_of(pyyaml, "site-packages/pyyaml-5.3.dist-info/METADATA"),
        1
    );
    assert_eq!(layer_of(pyyaml, "PyYAML-5.3-py3.11.egg-info/PKG-INFO"), 2);
    assert!(pyyaml["owned_by"].is_null());
    // Debian's python3-yaml and python3-six: owned by the OS packages.
    let deb_yaml = get("pypi", "pyyaml", "6.0");
    assert!(
        deb_yaml["owned_by"]
            .as_str()
            .is_some_and(|o| o.starts_with("pkg:deb/debian/python3-yaml@")),
        "{deb_yaml}"
    );
    let deb_six = get("pypi", "six", "1.16.0");
    assert!(
        deb_six["owned_by"]
            .as_str()
            .is_some_and(|o| o.starts_with("pkg:deb/debian/python3-six@")),
        "{deb_six}"
    );
    assert!(six["owned_by"].is_null());

    // Ruby: Debian's gems, owned by their packages; default gems included.
    let rack = get("gem", "rack", "2.2.22");
    assert!(
        rack["owned_by"]
            .as_str()
            .is_some_and(|o| o.starts_with("pkg:deb/debian/ruby-rack@")),
        "{rack}"
    );
    let csv = get("gem", "csv", "3.2.5");
    assert!(
        csv["owned_by"]
            .as_str()
            .is_some_and(|o| o.starts_with("pkg:deb/debian/libruby3.1@")),
        "{csv}"
    );
    let gem_specs: BTreeSet<(String, String)> = walk_files(&fx.join("debian"))
        .into_iter()
        .filter(|p| p.contains("/specifications/") && p.ends_with(".gemspec"))
        .map(|p| {
            let stem = p.rsplit('/').next().unwrap().trim_end_matches(".gemspec");
            let (n, v) = stem.rsplit_once('-').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    assert!(gem_specs.len() > 60, "{gem_specs:?}");
    assert_eq!(
        installed(&found, "gem"),
        gem_specs,
        "one gem per specification"
    );

    // .NET: the runtime pythonnet ships, 18 NuGet packages in its deps.json.
    let nuget = installed(&found, "nuget");
    assert_eq!(nuget.len(), 18, "{nuget:?}");
    assert!(nuget.contains(&("Microsoft.CSharp".into(), "4.7.0".into())));

    // The peers.
    let syft_ok = prerequisite(
        peers::syft().is_some(),
        "syft (../shared/bench/install-peers.sh)",
    );
    let trivy_ok = prerequisite(
        peers::trivy().is_some(),
        "trivy (../shared/bench/install-peers.sh)",
    );
    if !(syft_ok && trivy_ok) {
        return;
    }
    let syft = peers::syft_artifacts(&target);
    let trivy = peers::trivy_artifacts(&archive, false);
    let deps_json: Value = serde_json::from_slice(
        &std::fs::read(fx.join("site/pythonnet/runtime/Python.Runtime.deps.json")).unwrap(),
    )
    .unwrap();
    compare_with_peers(&found, &syft, &trivy, &deps_json);
}

/// Every file under `dir`, relative, `/`-separated.
fn walk_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out
}

/// The bar: keelhaul's installed set per ecosystem contains the union of Syft's and
/// Trivy's, and every difference either way is one of these, each explained.
fn compare_with_peers(
    found: &Found,
    syft: &[peers::PeerArtifact],
    trivy: &[peers::PeerArtifact],
    deps_json: &Value,
) {
    let owned_by_dpkg = |ecosystem: &str| -> BTreeSet<(String, String)> {
        found
            .iter()
            .filter(|((e, ..), p)| {
                e == ecosystem && has_evidence(p, "installed") && p["owned_by"].is_string()
            })
            .map(|((_, n, v), _)| (n.clone(), v.clone()))
            .collect()
    };
    let mut counts = Vec::new();
    for ecosystem in ["pypi", "gem", "nuget"] {
        let ours = installed(found, ecosystem);
        let s = peer_set(syft, ecosystem);
        let t = peer_set(trivy, ecosystem);
        counts.push(format!(
            "{ecosystem}: keelhaul {} / syft {} / trivy {}",
            ours.len(),
            s.len(),
            t.len()
        ));
        let syft_only: BTreeSet<_> = s.difference(&ours).cloned().collect();
        let trivy_only: BTreeSet<_> = t.difference(&ours).cloned().collect();
        let not_syft: BTreeSet<_> = ours.difference(&s).cloned().collect();
        let not_trivy: BTreeSet<_> = ours.difference(&t).cloned().collect();
        let paths = |a: &[peers::PeerArtifact], only: &BTreeSet<(String, String)>| {
            a.iter()
                .filter(|x| {
                    x.purl_type == ecosystem
                        && only.iter().any(|(n, _)| pep503(n) == pep503(&x.name))
                })
                .map(|x| format!("{} {} {:?}", x.name, x.version, x.paths))
                .collect::<Vec<_>>()
        };
        let context = format!(
            "{ecosystem}: syft only {:?}, trivy only {:?}, keelhaul not syft {not_syft:?}, keelhaul not trivy {not_trivy:?}",
            paths(syft, &syft_only),
            paths(trivy, &trivy_only),
        );
        match ecosystem {
            "nuget" => {
                // Syft reads no deps.json in an image; it reports the application itself
                // from Python.Runtime.dll's version resource (`3.0.3.0`), which deps.json
                // records as the `project` it describes, not a NuGet package.
                assert_eq!(
                    syft_only,
                    set(&[("Python.Runtime", "3.0.3.0")]),
                    "{context}"
                );
                assert_eq!(not_syft, ours, "{context}");
                // Trivy keeps only the libraries with runtime assets in `targets`: the
                // others are compile-time packages (analyzers, build tools, reference
                // facades), listed as installed by deps.json all the same.
                assert!(trivy_only.is_empty(), "{context}");
                let with_runtime: BTreeSet<(String, String)> = deps_json["targets"]
                    .as_object()
                    .unwrap()
                    .values()
                    .flat_map(|libs| libs.as_object().unwrap().iter())
                    .filter(|(key, lib)| {
                        lib.get("runtime").is_some()
                            && deps_json["libraries"][key.as_str()]["type"] == "package"
                    })
                    .map(|(key, _)| {
                        let (n, v) = key.split_once('/').unwrap();
                        (n.to_owned(), v.to_owned())
                    })
                    .collect();
                assert_eq!(t, with_runtime, "{context}");
            }
            _ => {
                // Syft agrees exactly. Trivy leaves out language packages whose files an
                // OS package installed (Debian's python3-yaml and python3-six, ruby-rack
                // and libruby3.1's gems); keelhaul lists them, marked `owned_by`.
                assert!(syft_only.is_empty() && not_syft.is_empty(), "{context}");
                assert!(trivy_only.is_empty(), "{context}");
                assert_eq!(not_trivy, owned_by_dpkg(ecosystem), "{context}");
            }
        }
    }
    eprintln!("{}", counts.join("\n"));
}

/// The size cap of Python's declared-dependency files (`python-declared`).
const DECLARED_CAP: usize = 16 << 20;

/// Malformed files of every format in this module's care, non-UTF-8 metadata and a
/// requirements file one byte over its cap: one warning each, naming the file; the good
/// files beside them are still read and the report is complete.
#[test]
fn bad_files_warn_and_the_scan_goes_on() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let bad: &[(&str, &[u8])] = &[
        ("app/poetry.lock", b"[[package]\nname = \"x\"\n"),
        ("app/Pipfile.lock", b"{\"default\": {\"six\": "),
        ("app/uv.lock", b"version = 1\n[[package]]\nname = \n"),
        ("app/pdm.lock", b"package = \"not a table\"\n"),
        ("srv/pubspec.lock", b"packages:\n  a: [unclosed\n"),
        ("srv/mix.lock", b"this is not elixir"),
        ("srv/Package.resolved", b"{\"pins\": 42}"),
        ("srv/conan.lock", b"{\"version\": \"0.5\"}"),
        ("srv/composer.lock", b"{\"packages\": ["),
        ("srv/vendor/composer/installed.json", b"\"just a string\""),
        (
            "srv/Gemfile.lock",
            b"   indented garbage without sections\n",
        ),
        ("srv/App.deps.json", b"{\"libraries\": 3"),
        ("srv/packages.lock.json", b"\xff\xfe\x00\x01"),
        (
            "opt/conda/conda-meta/zlib-1.2.13-h5eee18b_0.json",
            b"{\"name\": \"zlib\"",
        ),
        (
            "usr/lib/ruby/gems/3.1.0/specifications/broken-1.0.gemspec",
            b"Gem::Specification.new do |s|\nend\n",
        ),
        (
            "usr/local/lib/python3.11/site-packages/noname-1.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nVersion: 1.0\n",
        ),
        (
            "usr/local/lib/python3.11/site-packages/broken.egg",
            b"PK\x03\x04 truncated zip",
        ),
    ];
    // Not UTF-8: still a package (lossily decoded), with a warning.
    let latin1 = "usr/local/lib/python3.11/site-packages/caf-1.0.dist-info/METADATA";
    let big = "app/big/requirements.txt";
    let mut big_content = b"six==1.11.0\n".repeat(DECLARED_CAP / 12 + 1);
    big_content.truncate(DECLARED_CAP + 1);
    let mut l = Layer::new();
    for (path, content) in bad {
        l = l.file(path, content);
    }
    let l = l
        .file(
            latin1,
            b"Metadata-Version: 2.1\nName: caf\xe9\nVersion: 1.0\nAuthor: Ren\xe9\n",
        )
        .file(big, &big_content)
        .file("app/ok/requirements.txt", "good==2.0\n")
        .file(
            "usr/local/lib/python3.11/site-packages/good-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: Good\nVersion: 1.0\n",
        )
        // Less common places of good files.
        .file(
            "usr/lib/python3.11/lib-dynload/argparse-1.4.0.egg-info",
            "Metadata-Version: 1.0\nName: argparse\nVersion: 1.4.0\n",
        )
        .file(
            "opt/eggs/Paste-1.7.5-py3.11.egg/EGG-INFO/PKG-INFO",
            "Metadata-Version: 1.0\nName: Paste\nVersion: 1.7.5\n",
        )
        .file("app/requirements/dev.txt", "pytest==7.0.0\n")
        .file("app/good/uv.lock", UV_LOCK)
        .file("app/gems.locked", "GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n\nDEPENDENCIES\n  rake\n")
        .file(
            "usr/lib/ruby/gems/3.1.0/specifications/fine-2.0.gemspec",
            "Gem::Specification.new do |s|\n  s.name = \"fine\"\n  s.version = \"2.0\"\nend\n",
        );
    let archive = s.join("bad.tar");
    Image::new()
        .layer(l)
        .write_docker_archive(&archive, "keelhaul/bad:1");
    let report = keelhaul(
        s,
        &[
            "scan",
            &archive.display().to_string(),
            "--format",
            "json",
            "--no-cache",
        ],
    )
    .success()
    .json();
    assert_eq!(report["complete"], true);
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let named = |path: &str| {
        warnings
            .iter()
            .filter(|w| w.contains(&format!("`{path}`")))
            .count()
    };
    for (path, _) in bad {
        assert_eq!(named(path), 1, "{path}: {warnings:#?}");
    }
    assert_eq!(named(latin1), 1, "{warnings:#?}");
    assert_eq!(named(big), 1, "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(big) && w.contains("limit")),
        "{warnings:#?}"
    );
    assert_eq!(warnings.len(), bad.len() + 2, "{warnings:#?}");

    let found = packages(&report);
    let key = |e: &str, n: &str, v: &str| (e.to_owned(), n.to_owned(), v.to_owned());
    assert!(has_evidence(
        &found[&key("pypi", "good", "2.0")],
        "declared"
    ));
    assert!(has_evidence(
        &found[&key("pypi", "good", "1.0")],
        "installed"
    ));
    assert!(found.contains_key(&key("pypi", "caf\u{fffd}", "1.0")));
    assert!(found.contains_key(&key("gem", "fine", "2.0")));
    assert!(has_evidence(
        &found[&key("pypi", "argparse", "1.4.0")],
        "installed"
    ));
    assert!(has_evidence(
        &found[&key("pypi", "paste", "1.7.5")],
        "installed"
    ));
    assert!(has_evidence(
        &found[&key("pypi", "pytest", "7.0.0")],
        "declared"
    ));
    assert!(has_evidence(
        &found[&key("gem", "rake", "13.0.6")],
        "declared"
    ));
    // uv.lock's packages are declared, its project is not a package.
    assert!(has_evidence(
        &found[&key("pypi", "zope-interface", "6.1")],
        "declared"
    ));
    assert!(found.keys().all(|(_, n, _)| n != "demo-app"));
    // Nothing from the file over the cap.
    assert!(!found.contains_key(&key("pypi", "six", "1.11.0")));
}

/// A conda environment's record, as conda writes it (trimmed `paths_data`).
const CONDA_PYTHON: &str = r#"{
  "build": "h955ad1f_0",
  "build_number": 0,
  "channel": "https://repo.anaconda.com/pkgs/main/linux-64",
  "depends": ["bzip2 >=1.0.8,<2.0a0", "libffi >=3.4,<4.0a0", "openssl >=3.0.10,<4.0a0"],
  "files": ["bin/python3.11", "lib/libpython3.11.so.1.0"],
  "fn": "python-3.11.5-h955ad1f_0.conda",
  "license": "PSF-2.0",
  "name": "python",
  "paths_data": {"paths": [], "paths_version": 1},
  "subdir": "linux-64",
  "url": "https://repo.anaconda.com/pkgs/main/linux-64/python-3.11.5-h955ad1f_0.conda",
  "version": "3.11.5"
}"#;

/// Formats whose tools cannot run here (conda, Composer), as those tools write them, in
/// one image: keelhaul against the peers, which read both in images.
#[test]
fn conda_and_composer_against_syft_and_trivy() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let image = Image::new().layer(
        layer()
            .file(
                "opt/conda/conda-meta/requests-2.31.0-py311h06a4308_1.json",
                include_bytes!(
                    "../../../keelhaul-inventory/src/lang/python/testdata/conda-meta-requests-2.31.0-py311h06a4308_1.json"
                ),
            )
            .file("opt/conda/envs/app/conda-meta/python-3.11.5-h955ad1f_0.json", CONDA_PYTHON)
            .file(
                "var/www/vendor/composer/installed.json",
                include_bytes!("../../../keelhaul-inventory/src/lang/php/testdata/installed.json"),
            ),
    );
    let archive = s.join("other.docker.tar");
    image.write_docker_archive(&archive, "keelhaul/other:1");
    let target = format!("docker-archive:{}", archive.display());
    let report = keelhaul(s, &["scan", &target, "--format", "json", "--no-cache"])
        .success()
        .json();
    let found = packages(&report);
    let conda = set(&[("python", "3.11.5"), ("requests", "2.31.0")]);
    assert_eq!(installed(&found, "conda"), conda);
    let python = &found[&("conda".to_owned(), "python".to_owned(), "3.11.5".to_owned())];
    assert_eq!(python["purl"], "pkg:conda/python@3.11.5");
    assert_eq!(python["licenses"], serde_json::json!(["PSF-2.0"]));
    let composer = set(&[
        ("monolog/monolog", "2.9.1"),
        ("phpunit/phpunit", "9.6.5"),
        ("psr/log", "3.0.0"),
        ("symfony/console", "v5.4.21"),
    ]);
    assert_eq!(installed(&found, "composer"), composer);
    let console = &found[&(
        "composer".to_owned(),
        "symfony/console".to_owned(),
        "v5.4.21".to_owned(),
    )];
    assert_eq!(console["purl"], "pkg:composer/symfony/console@v5.4.21");

    let syft_ok = prerequisite(
        peers::syft().is_some(),
        "syft (../shared/bench/install-peers.sh)",
    );
    let trivy_ok = prerequisite(
        peers::trivy().is_some(),
        "trivy (../shared/bench/install-peers.sh)",
    );
    if !(syft_ok && trivy_ok) {
        return;
    }
    let syft = peers::syft_artifacts(&target);
    let trivy = peers::trivy_artifacts(&archive, false);
    // Both read Composer's installed.json exactly as keelhaul does.
    assert_eq!(peer_set(&syft, "composer"), composer);
    assert_eq!(peer_set(&trivy, "composer"), composer);
    // Syft 1.18 has no conda cataloger. Trivy reads only `envs/*/conda-meta/` — not the
    // base environment's own `conda-meta/`, where `requests` is.
    assert!(peer_set(&syft, "conda").is_empty());
    assert_eq!(peer_set(&trivy, "conda"), set(&[("python", "3.11.5")]));
    // Nothing else.
    for a in syft.iter().chain(&trivy) {
        assert!(
            matches!(a.purl_type.as_str(), "composer" | "conda"),
            "{a:?}"
        );
    }
    eprintln!(
        "conda: keelhaul {} / syft {} / trivy {}\ncomposer: keelhaul {} / syft {} / trivy {}",
        conda.len(),
        peer_set(&syft, "conda").len(),
        peer_set(&trivy, "conda").len(),
        composer.len(),
        peer_set(&syft, "composer").len(),
        peer_set(&trivy, "composer").len()
    );
}

/// An application's lockfile pins the very version Debian installed (`six 1.16.0`, from
/// python3-six), and the application has no copy of its own: the installed record is still
/// the distro's, matched through its advisories only, and the declaration joins it.
#[test]
fn debian_package_also_declared_stays_owned() {
    let fx = python::fixture();
    require!(
        fx.is_some(),
        "python3 with pip reaching PyPI, apt-get download and dpkg-deb"
    );
    let fx = fx.unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let image = Image::new()
        .layer(layer().tree(&fx.join("debian"), ""))
        .layer(layer().dir("app").file("app/uv.lock", UV_LOCK));
    let archive = s.join("owned.docker.tar");
    image.write_docker_archive(&archive, "keelhaul/owned:1");
    let report = keelhaul(
        s,
        &[
            "scan",
            &archive.display().to_string(),
            "--format",
            "json",
            "--no-cache",
        ],
    )
    .success()
    .json();
    let pkg_info = format!("{DIST}/six-1.16.0.egg-info/PKG-INFO");
    let records: Vec<&Value> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "pypi" && p["name"] == "six" && p["version"] == "1.16.0")
        .collect();
    assert!(!records.is_empty());
    for p in &records {
        let at_debian = p["locations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["path"] == pkg_info.as_str());
        if at_debian {
            assert!(
                p["owned_by"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("pkg:deb/debian/python3-six@")),
                "{p}"
            );
        }
    }
    assert!(records.iter().any(|p| has_evidence(p, "declared")));
}
