//! Node.js: `node_modules/**/package.json` (installed), `package-lock.json`, `yarn.lock`, `pnpm-lock.yaml` (declared).
//!
//! * [`NodePackage`] reads the `package.json` of every installed package: under any
//!   `node_modules` directory, nested and scoped ones included (pnpm's
//!   `node_modules/.pnpm/NAME@VER/node_modules/NAME` too), and Debian's global module
//!   directories (`usr/share/nodejs`, `usr/lib/nodejs`). Workspace links are symlinks, so
//!   their `package.json` is never a file under `node_modules` and is not read twice.
//!   Files without a name or a version (test fixtures) are skipped.
//! * [`NpmLock`] reads `package-lock.json` and `npm-shrinkwrap.json`, lockfile versions 1
//!   (the `dependencies` tree), 2 and 3 (the `packages` map).
//! * [`YarnLock`] reads `yarn.lock`, classic (v1 text) and berry (YAML with `__metadata`).
//! * [`PnpmLock`] reads `pnpm-lock.yaml`, lockfile versions 5.x, 6.0, 7.0 and 9.0.
//!
//! Lockfile entries are `declared`; the project itself, workspace members and linked
//! (`link:`, `workspace:`, `portal:`) entries are not packages and are skipped.

mod lockfile;
mod package_json;
mod pnpm;
mod yarn;

#[cfg(test)]
mod real_lockfiles;

use keelhaul_analyze::Analyzer;
use keelhaul_core::{Ecosystem, Evidence, Package};

use super::common::Found;

pub use lockfile::NpmLock;
pub use package_json::NodePackage;
pub use pnpm::PnpmLock;
pub use yarn::YarnLock;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(NodePackage),
        Box::new(NpmLock),
        Box::new(YarnLock),
        Box::new(PnpmLock),
    ]
}

/// Largest lockfile read (a big monorepo's lockfile is a few MB; 64 MiB leaves room while
/// keeping a hostile file's parse bounded).
const MAX_LOCKFILE: u64 = 64 << 20;

/// Whether `name` is plausible as an npm package name: `name` or `@scope/name`, no
/// whitespace, no path tricks.
fn valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 214 || name.chars().any(char::is_whitespace) {
        return false;
    }
    match name.strip_prefix('@') {
        Some(scoped) => {
            matches!(scoped.split_once('/'), Some((s, n)) if !s.is_empty() && !n.is_empty() && !n.contains('/'))
        }
        None => !name.contains('/'),
    }
}

/// Split `name@range` (`@scope/name@range` included) at the `@` that ends the name.
fn split_name_at(spec: &str) -> Option<(&str, &str)> {
    let from = if spec.starts_with('@') {
        spec.find('/')? + 1
    } else {
        0
    };
    let at = from + spec[from..].find('@')?;
    (at > 0).then(|| (&spec[..at], &spec[at + 1..]))
}

/// The declared packages of one lockfile: names checked, each (name, version) once,
/// capped as every database is (see [`Found`]).
struct Collected(Found);

impl Collected {
    fn new() -> Collected {
        Collected(Found::of("npm"))
    }

    /// Add a declared package unless already there; `false` once the cap is reached.
    fn add(&mut self, name: &str, version: &str, path: &str) -> bool {
        let (name, version) = (name.trim(), version.trim());
        if !valid_name(name) || version.is_empty() {
            return true;
        }
        self.0.add(Package::found_at(
            Ecosystem::Npm,
            name,
            version,
            path,
            Evidence::Declared,
        ))
    }

    fn finish(self, problems: &mut Vec<String>) -> Vec<Package> {
        problems.extend(self.0.warnings);
        self.0.packages
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_the_version_separator() {
        assert_eq!(split_name_at("lodash@4.17.15"), Some(("lodash", "4.17.15")));
        assert_eq!(
            split_name_at("@babel/core@^7.0.0"),
            Some(("@babel/core", "^7.0.0"))
        );
        assert_eq!(
            split_name_at("string-width-cjs@npm:string-width@^4.2.0"),
            Some(("string-width-cjs", "npm:string-width@^4.2.0"))
        );
        assert_eq!(split_name_at("@scope"), None);
        assert_eq!(split_name_at("noversion"), None);
        assert!(valid_name("@types/node"));
        assert!(!valid_name("@types"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("has space"));
    }
}
