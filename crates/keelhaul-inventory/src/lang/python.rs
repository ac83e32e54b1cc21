//! Python: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `conda-meta/*.json` (installed), `poetry.lock`, `Pipfile.lock`, `uv.lock`, `pdm.lock`, pinned `requirements*.txt` (declared).
//!
//! * [`installed`]: the core metadata of installed distributions wherever they are
//!   (site-packages, Debian's dist-packages, virtualenvs, `pip install --target` trees,
//!   egg directories and zipped eggs), with the files each owns from `RECORD` or
//!   `installed-files.txt`.
//! * [`conda`]: conda environments' `conda-meta/*.json` records (ecosystem `conda`).
//! * [`declared`]: lockfiles and pinned requirements files.
//!
//! Names are reported PEP 503-normalised (`PyYAML` is `pyyaml`, `zope.interface` is
//! `zope-interface`), versions as the metadata writes them.

pub mod conda;
pub mod declared;
pub mod installed;

use keelhaul_analyze::Analyzer;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(installed::PythonInstalled),
        Box::new(installed::PythonEgg),
        Box::new(conda::CondaMeta),
        Box::new(declared::PythonDeclared),
    ]
}

/// A project name normalised per PEP 503 (the one definition lives in keelhaul-core, so
/// inventories and advisories agree on names).
pub use keelhaul_core::pep503_name as normalize_name;

/// Whether a project name is plausible: PEP 508 allows ASCII letters, digits, `-_.`.
/// Anything else (a path, a URL, a stray line) is not a package.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `rel` joined onto the directory `base` (both without a leading `/`), `.` and `..`
/// resolved; an absolute `rel` starts at the image root. `None` when it climbs out of
/// the root.
pub(crate) fn join_path(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_name("PyYAML"), "pyyaml");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("zope_interface"), "zope-interface");
        assert_eq!(normalize_name("Foo.-_Bar"), "foo-bar");
        assert_eq!(normalize_name("python_dateutil"), "python-dateutil");
        assert!(valid_name("ruamel.yaml"));
        assert!(!valid_name("../etc"));
        assert!(!valid_name("https://x"));
    }

    #[test]
    fn paths_join_and_stay_inside_the_root() {
        let site = "usr/local/lib/python3.11/site-packages";
        assert_eq!(
            join_path(site, "../../../bin/flask").as_deref(),
            Some("usr/local/bin/flask")
        );
        assert_eq!(
            join_path(site, "yaml/__init__.py").as_deref(),
            Some("usr/local/lib/python3.11/site-packages/yaml/__init__.py")
        );
        assert_eq!(join_path(site, "/usr/bin/x").as_deref(), Some("usr/bin/x"));
        assert_eq!(join_path("a", "../../etc/passwd"), None);
    }
}
