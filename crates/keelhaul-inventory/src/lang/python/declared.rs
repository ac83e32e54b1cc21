//! What a Python project declares: `poetry.lock`, `Pipfile.lock`, `uv.lock`, `pdm.lock` and
//! the pinned (`==`) lines of requirements files. Evidence `declared`.
//!
//! Local packages (the project itself in `uv.lock`, path and editable dependencies) are
//! not PyPI packages and are left out; so are unpinned requirements.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};
use serde_json::Value;

use super::{normalize_name, valid_name};
use crate::lang::common::{
    Found, MAX_JSON_NODES, MAX_TOML_NODES, check_nodes, decode_text, one_line,
};

/// Lockfiles of large projects are a few hundred KB (hashes of every wheel included).
const MAX_FILE: u64 = 16 << 20;

/// The declared-dependency analyzer.
#[derive(Debug, Default)]
pub struct PythonDeclared;

impl Analyzer for PythonDeclared {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "python-declared",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&[
            "**/poetry.lock",
            "**/Pipfile.lock",
            "**/uv.lock",
            "**/pdm.lock",
            "**/*requirements*.txt",
            "**/requirements/*.txt",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_declared(file.path, content)?.emit(out);
        Ok(())
    }
}

/// One declared-dependency file, by its name.
pub fn parse_declared(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "poetry.lock" | "uv.lock" | "pdm.lock" => check_nodes(content, MAX_TOML_NODES)?,
        "Pipfile.lock" => check_nodes(content, MAX_JSON_NODES)?,
        _ => {}
    }
    let text = decode_text(content);
    match name {
        "poetry.lock" => toml_lock(path, &text, "poetry.lock"),
        "uv.lock" => toml_lock(path, &text, "uv.lock"),
        "pdm.lock" => toml_lock(path, &text, "pdm.lock"),
        "Pipfile.lock" => pipfile_lock(path, &text),
        _ => Ok(requirements(path, &text)),
    }
}

fn declared(name: &str, version: &str, path: &str) -> keelhaul_core::Package {
    Package::found_at(
        Ecosystem::Pypi,
        normalize_name(name),
        version,
        path,
        Evidence::Declared,
    )
}

/// `poetry.lock`, `uv.lock` and `pdm.lock` all list `[[package]]` tables with `name` and
/// `version`; they differ in how they mark local packages.
fn toml_lock(path: &str, text: &str, db: &'static str) -> Result<Found, AnalyzeError> {
    let doc: toml::Table = toml::from_str(text)
        .map_err(|e| AnalyzeError::new(format!("not valid TOML: {}", one_line(e))))?;
    let mut found = Found::of(db);
    let packages = match doc.get("package") {
        None => return Ok(found),
        Some(toml::Value::Array(a)) => a,
        Some(_) => return Err(AnalyzeError::new("`package` is not an array of tables")),
    };
    let mut unusable = 0usize;
    for p in packages {
        let Some(t) = p.as_table() else {
            unusable += 1;
            continue;
        };
        let text = |k: &str| t.get(k).and_then(toml::Value::as_str).map(str::trim);
        let Some(name) = text("name").filter(|n| valid_name(n)) else {
            unusable += 1;
            continue;
        };
        // uv leaves the version out of workspace members with a dynamic version.
        let Some(version) = text("version").filter(|v| !v.is_empty()) else {
            continue;
        };
        if is_local(db, t) {
            continue;
        }
        if !found.add(declared(name, version, path)) {
            break;
        }
    }
    if unusable > 0 {
        found.warnings.push(format!(
            "{unusable} `[[package]]` entries without a usable name; skipped"
        ));
    }
    Ok(found)
}

/// Whether a lock entry is a local package: uv's `source = { virtual | editable | path |
/// directory = … }`, Poetry's `[package.source] type = "directory"`, pdm's `path` or
/// `editable`.
fn is_local(db: &str, t: &toml::Table) -> bool {
    match db {
        "uv.lock" => t
            .get("source")
            .and_then(toml::Value::as_table)
            .is_some_and(|s| {
                ["virtual", "editable", "path", "directory"]
                    .iter()
                    .any(|k| s.contains_key(*k))
            }),
        "poetry.lock" => t
            .get("source")
            .and_then(toml::Value::as_table)
            .and_then(|s| s.get("type"))
            .and_then(toml::Value::as_str)
            .is_some_and(|ty| ty == "directory"),
        _ => {
            t.contains_key("path")
                || t.get("editable")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false)
        }
    }
}

/// `Pipfile.lock`: `default` and `develop` map names to `{"version": "==X", …}`; git and
/// path dependencies have no version.
fn pipfile_lock(path: &str, text: &str) -> Result<Found, AnalyzeError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| AnalyzeError::new(format!("not valid JSON: {}", one_line(e))))?;
    if !doc.is_object() {
        return Err(AnalyzeError::new("not a JSON object"));
    }
    let mut found = Found::of("Pipfile.lock");
    for section in ["default", "develop"] {
        let Some(deps) = doc.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, dep) in deps {
            let version = dep
                .get("version")
                .and_then(Value::as_str)
                .and_then(|v| v.trim().strip_prefix("=="))
                .map(|v| v.trim_start_matches('=').trim());
            let Some(version) = version.filter(|v| !v.is_empty()) else {
                continue;
            };
            if valid_name(name) && !found.add(declared(name, version, path)) {
                return Ok(found);
            }
        }
    }
    Ok(found)
}

/// The pinned lines of a requirements file (pip's format: `\` continues a line, `#`
/// starts a comment at the line start or after white space, lines starting with `-` are
/// options, `;` starts environment markers).
fn requirements(path: &str, text: &str) -> Found {
    let mut found = Found::of("requirements.txt");
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        if let Some((name, version)) = pinned_requirement(&logical)
            && !found.add(declared(&name, &version, path))
        {
            break;
        }
        logical.clear();
    }
    found
}

/// `name[extras] == version [; markers] [--hash …] [# comment]`, or `None` when the line
/// is not one exact pin (a range, a wildcard, a URL, an option, a comment).
pub fn pinned_requirement(line: &str) -> Option<(String, String)> {
    let line = strip_comment(line).trim();
    if line.is_empty() || line.starts_with('-') {
        return None;
    }
    let line = line.split(';').next().unwrap_or(line);
    let line = line.split(" --").next().unwrap_or(line).trim();
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    let mut rest = line[name_end..].trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        rest = extras.split_once(']')?.1.trim_start();
    }
    let version = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))?
        .trim();
    let exact = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '!'));
    (valid_name(name) && exact).then(|| (name.to_owned(), version.to_owned()))
}

/// The line without its comment: `#` at the start or after white space.
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &Found) -> Vec<(String, String)> {
        let mut v: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        v.sort();
        v
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        v.sort();
        v
    }

    /// The dependencies the test projects declared (requests, PyYAML, zope.interface and,
    /// for development, six), resolved by each real tool on the same day: the fixtures are
    /// their output with the per-file hash lists shortened.
    const RESOLVED: &[(&str, &str)] = &[
        ("certifi", "2026.10.18"),
        ("charset-normalizer", "3.5.2"),
        ("idna", "3.20"),
        ("pyyaml", "6.0.1"),
        ("requests", "2.31.0"),
        ("setuptools", "84.2.1"),
        ("urllib3", "2.8.0"),
        ("zope-interface", "6.1"),
    ];

    #[test]
    fn uv_lock_without_the_project_itself() {
        let path = "app/uv.lock";
        let found = parse_declared(path, include_bytes!("testdata/uv.lock")).unwrap();
        let mut want = RESOLVED.to_vec();
        want.push(("six", "1.16.0"));
        assert_eq!(names(&found), pairs(&want));
        assert!(found.packages.iter().all(|p| p.name != "demo-app"));
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        let p = &found.packages[0];
        assert_eq!(p.locations[0].path, path);
        assert_eq!(p.locations[0].evidence, Evidence::Declared);
        assert_eq!(p.ecosystem, Ecosystem::Pypi);
    }

    #[test]
    fn poetry_lock() {
        let found = parse_declared("poetry.lock", include_bytes!("testdata/poetry.lock")).unwrap();
        // Poetry resolved six as a dev group dependency too.
        let mut want = RESOLVED.to_vec();
        want.push(("six", "1.16.0"));
        assert_eq!(names(&found), pairs(&want));
        assert_eq!(found.db, "poetry.lock");
    }

    #[test]
    fn pipfile_lock_default_and_develop() {
        let found =
            parse_declared("srv/Pipfile.lock", include_bytes!("testdata/Pipfile.lock")).unwrap();
        let mut want = RESOLVED.to_vec();
        want.push(("six", "1.16.0"));
        assert_eq!(names(&found), pairs(&want));
    }

    #[test]
    fn pipfile_lock_git_and_path_entries_have_no_version() {
        let text = r#"{"_meta": {"pipfile-spec": 6}, "default": {
            "mylib": {"editable": true, "path": "./mylib"},
            "gitdep": {"git": "https://github.com/o/gitdep.git", "ref": "0123abc"},
            "flask": {"hashes": ["sha256:00"], "index": "pypi", "version": "==2.0.1"}
        }, "develop": {}}"#;
        let found = parse_declared("Pipfile.lock", text.as_bytes()).unwrap();
        assert_eq!(names(&found), pairs(&[("flask", "2.0.1")]));
    }

    /// pdm's lock format 4.5 (pdm 2.20), as `pdm lock` writes it.
    const PDM_LOCK: &str = r#"# This file is @generated by PDM.
# It is not intended for manual editing.

[metadata]
groups = ["default", "dev"]
strategy = ["inherit_metadata"]
lock_version = "4.5.0"
content_hash = "sha256:5f1ad5c3cd4a3a43b1fdb0ad4e38e3e2b2bb7ee9d2f33de28d33c20b9cdff4b4"

[[metadata.targets]]
requires_python = ">=3.11"

[[package]]
name = "certifi"
version = "2024.8.30"
requires_python = ">=3.6"
summary = "Python package for providing Mozilla's CA Bundle."
groups = ["default"]
files = [
    {file = "certifi-2024.8.30-py3-none-any.whl", hash = "sha256:922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8"},
    {file = "certifi-2024.8.30.tar.gz", hash = "sha256:bec941d2aa8195e248a60b31ff9f0558284cf01a52591ceda73ea9afffd69fd9"},
]

[[package]]
name = "PyYAML"
version = "6.0.1"
requires_python = ">=3.6"
summary = "YAML parser and emitter for Python"
groups = ["default"]
files = [
    {file = "PyYAML-6.0.1.tar.gz", hash = "sha256:bfdf460b1736c775f2ba9f6a92bca30bc2095067b8a9d77876d1fad6cc3b4a43"},
]

[[package]]
name = "mylib"
version = "0.1.0"
requires_python = ">=3.11"
editable = true
path = "./mylib"
summary = "A local library"
groups = ["default"]

[[package]]
name = "six"
version = "1.16.0"
requires_python = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*"
summary = "Python 2 and 3 compatibility utilities"
groups = ["dev"]
files = [
    {file = "six-1.16.0-py2.py3-none-any.whl", hash = "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"},
]
"#;

    #[test]
    fn pdm_lock_without_local_packages() {
        let found = parse_declared("pdm.lock", PDM_LOCK.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            pairs(&[
                ("certifi", "2024.8.30"),
                ("pyyaml", "6.0.1"),
                ("six", "1.16.0")
            ])
        );
    }

    #[test]
    fn requirements_keep_only_exact_pins() {
        let text = "\u{feff}# app requirements\n\
Django==2.2.0\n\
requests [security,socks] == 2.19.1 ; python_version >= \"3\"  # pinned\n\
zope.interface==5.4.0 \\\n    --hash=sha256:00 \\\n    --hash=sha256:11\n\
PyYAML===5.3\n\
flask>=1.0\n\
six==1.*\n\
numpy==1.23.2,!=1.23.1\n\
-r base.txt\n\
-e git+https://github.com/o/r.git#egg=r\n\
--index-url https://example.org/simple\n\
pkg @ https://example.org/pkg-1.0.tar.gz\n\
   # indented comment==1.0\n\
Jinja2==2.10#not-a-comment\n\
MarkupSafe==1.1.1 # a comment\n";
        let found = parse_declared("app/requirements-prod.txt", text.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            pairs(&[
                ("django", "2.2.0"),
                ("markupsafe", "1.1.1"),
                ("pyyaml", "5.3"),
                ("requests", "2.19.1"),
                ("zope-interface", "5.4.0"),
            ])
        );
        assert!(
            found
                .packages
                .iter()
                .all(|p| p.locations[0].evidence == Evidence::Declared)
        );
    }

    #[test]
    fn requirements_in_utf16_from_powershell() {
        let bytes: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(
                "six==1.11.0\r\nidna==2.7\r\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        let found = parse_declared("requirements.txt", &bytes).unwrap();
        assert_eq!(names(&found), pairs(&[("idna", "2.7"), ("six", "1.11.0")]));
    }

    #[test]
    fn malformed_lockfiles_are_errors_naming_the_format() {
        let e = parse_declared("poetry.lock", b"[[package]\nname = 'x'").unwrap_err();
        assert!(e.to_string().contains("TOML"), "{e}");
        let e = parse_declared("Pipfile.lock", b"{\"default\": {").unwrap_err();
        assert!(e.to_string().contains("JSON"), "{e}");
        assert!(parse_declared("uv.lock", b"package = 3").is_err());
        // Non-UTF-8 bytes are replaced, not fatal.
        let found = parse_declared(
            "uv.lock",
            b"version = 1\n[[package]]\nname = \"six\"\nversion = \"1.0\"\nsummary = \"caf\xe9\"\n",
        )
        .unwrap();
        assert_eq!(names(&found), pairs(&[("six", "1.0")]));
        // Entries without a name are reported, the rest kept.
        let found = parse_declared(
            "pdm.lock",
            b"[[package]]\nversion = \"1\"\n[[package]]\nname = \"a\"\nversion = \"2\"\n",
        )
        .unwrap();
        assert_eq!(names(&found), pairs(&[("a", "2")]));
        assert_eq!(found.warnings.len(), 1);
    }

    #[test]
    fn documents_too_complex_for_their_size_are_refused() {
        let mut toml = String::from("x = [");
        while toml.len() < 2 << 20 {
            toml.push_str("0,");
        }
        toml.push_str("0]\n");
        let e = parse_declared("uv.lock", toml.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("structural"), "{e}");
        // Real lockfiles, even at the density of these fixtures (their hash lists cut),
        // pass far beyond their usual size: large projects' are 1–3 MB.
        let nodes = |real: &[u8]| {
            real.iter()
                .filter(|b| matches!(b, b',' | b'=' | b':' | b'[' | b'{'))
                .count()
                * (8 << 20)
                / real.len()
        };
        assert!(nodes(include_bytes!("testdata/uv.lock")) < MAX_TOML_NODES);
        assert!(nodes(include_bytes!("testdata/poetry.lock")) < MAX_TOML_NODES);
        assert!(nodes(include_bytes!("testdata/Pipfile.lock")) * 2 < MAX_JSON_NODES);
    }

    #[test]
    fn too_many_packages_are_cut_with_one_warning() {
        let mut text = String::new();
        for i in 0..crate::pkgdb::MAX_PACKAGES_PER_DB + 5 {
            text.push_str(&format!("p{i}==1.0\n"));
        }
        let found = parse_declared("requirements.txt", text.as_bytes()).unwrap();
        assert_eq!(found.packages.len(), crate::pkgdb::MAX_PACKAGES_PER_DB);
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
    }

    #[test]
    fn deeply_nested_toml_is_an_error_not_a_crash() {
        let text = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_declared("poetry.lock", text.as_bytes()).is_err());
        let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_declared("Pipfile.lock", json.as_bytes()).is_err());
    }
}
