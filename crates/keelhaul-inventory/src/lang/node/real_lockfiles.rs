//! Every parser against lockfiles the real tools wrote for one `package.json`
//! (`keelhaul_test::node`): npm 6 (lockfile v1), npm with `--lockfile-version 2`, current
//! npm (v3, a full install whose `node_modules` is the oracle), yarn classic and berry,
//! pnpm 5, 7, 8 and 9. Each must declare exactly the packages npm installed.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use keelhaul_core::Evidence;
use keelhaul_test::node::{TOOLS, lockfile, projects};

use super::lockfile::parse_package_lock;
use super::package_json::parse_package_json;
use super::pnpm::parse_pnpm_lock;
use super::yarn::parse_yarn_lock;

/// `name@version` of every package `package.json` under `dir/node_modules`, walked
/// without following symlinks (npm links workspace members), as the layer walker does.
fn installed(dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            let p = e.path();
            if ft.is_dir() {
                walk(&p, root, out);
            } else if ft.is_file() && p.file_name().is_some_and(|n| n == "package.json") {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
                if !super::package_json::is_package_dir(&rel) {
                    continue;
                }
                if let Some(pkg) = parse_package_json(&std::fs::read(&p).unwrap(), &rel).unwrap() {
                    assert_eq!(pkg.locations[0].evidence, Evidence::Installed);
                    out.insert(format!("{}@{}", pkg.name, pkg.version));
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&dir.join("node_modules"), dir, &mut out);
    out
}

fn declared(tool: &str, file: &Path) -> BTreeSet<String> {
    let content = std::fs::read(file).unwrap();
    let path = format!("app/{}", file.file_name().unwrap().to_str().unwrap());
    let (packages, problems) = match tool {
        t if t.starts_with("npm") => parse_package_lock(&content, &path),
        t if t.starts_with("pnpm") => parse_pnpm_lock(&content, &path),
        _ => parse_yarn_lock(&content, &path),
    }
    .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(problems.is_empty(), "{tool}: {problems:?}");
    packages
        .iter()
        .map(|p| {
            assert_eq!(p.locations.len(), 1);
            assert_eq!(p.locations[0].path, path);
            assert_eq!(p.locations[0].evidence, Evidence::Declared);
            format!("{}@{}", p.name, p.version)
        })
        .collect()
}

#[test]
fn every_tool_declares_what_npm_installed() {
    let Some(projects) = projects() else {
        keelhaul_test::prerequisite(false, "npm with access to the npm registry");
        return;
    };
    let oracle = installed(&projects.join("npm3"));
    for expected in [
        "@babel/code-frame@7.22.13",
        "debug@2.6.9",
        "ms@2.0.0",
        "ms@2.1.3",
        "react@18.2.0",
        "react-dom@18.2.0",
        "lodash@4.17.15",
        "minimist@1.2.0",
        "string-width@4.2.3",
    ] {
        assert!(
            oracle.contains(expected),
            "npm installed no {expected}: {oracle:?}"
        );
    }
    assert!(
        !oracle.iter().any(|p| p.starts_with("local-lib@")),
        "the workspace member is a symlink, not an installed package"
    );
    assert!(
        !oracle
            .iter()
            .any(|p| p.starts_with("keelhaul-node-fixture@")),
        "the project itself is not under node_modules"
    );

    // Which lockfile format each tool wrote, so a tool upgrade cannot silently change
    // what is tested.
    let marker = |tool: &str| -> &str {
        match tool {
            "npm3" => "\"lockfileVersion\": 3",
            "npm2" => "\"lockfileVersion\": 2",
            "npm1" => "\"lockfileVersion\": 1",
            "yarn1" => "# yarn lockfile v1",
            "berry" => "__metadata:",
            "pnpm5" => "lockfileVersion: 5.",
            "pnpm7" => "lockfileVersion: 5.4",
            "pnpm8" => "lockfileVersion: '6.0'",
            "pnpm9" => "lockfileVersion: '9.0'",
            _ => unreachable!(),
        }
    };
    for (tool, _) in TOOLS {
        let Some(file) = lockfile(&projects, tool) else {
            let why =
                std::fs::read_to_string(projects.join(tool).join("FAILED")).unwrap_or_default();
            keelhaul_test::prerequisite(false, &format!("{tool} ({why})"));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(marker(tool)),
            "{tool} wrote an unexpected format"
        );
        let found = declared(tool, &file);
        assert_eq!(
            found,
            oracle,
            "{tool}: declared packages differ from the installed ones\nonly declared: {:?}\nonly installed: {:?}",
            found.difference(&oracle).collect::<Vec<_>>(),
            oracle.difference(&found).collect::<Vec<_>>()
        );
    }
}
