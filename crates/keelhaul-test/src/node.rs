//! Real Node.js projects: one `package.json` resolved by npm 6/7+/current, yarn classic and
//! berry, and pnpm 5/7/8/9, each tool's lockfile kept, and a real `npm install` tree.
//!
//! Everything is generated once (all tools in one go, so that they resolve the same
//! registry state) and cached under [`crate::persistent_cache`].

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{have, tools::cached_artifact};

/// The fixture's dependencies: a scoped package, a dependency that nests an older copy of
/// a top-level one (`debug@2.6.9` needs `ms@2.0.0`, the top level has `ms@2.1.3`), a peer
/// dependency (`react-dom` on `react`), an npm alias and old versions with known advisories.
pub const DEPENDENCIES: &str = r#"{
    "@babel/code-frame": "7.22.13",
    "debug": "2.6.9",
    "ms": "2.1.3",
    "react": "18.2.0",
    "react-dom": "18.2.0",
    "lodash": "4.17.15",
    "minimist": "1.2.0",
    "string-width-cjs": "npm:string-width@4.2.3"
  }"#;

/// The lockfile-producing runs, by directory name in [`lockfiles`]: (dir, lockfile name).
pub const TOOLS: [(&str, &str); 9] = [
    ("npm3", "package-lock.json"),
    ("npm2", "package-lock.json"),
    ("npm1", "package-lock.json"),
    ("yarn1", "yarn.lock"),
    ("berry", "yarn.lock"),
    ("pnpm5", "pnpm-lock.yaml"),
    ("pnpm7", "pnpm-lock.yaml"),
    ("pnpm8", "pnpm-lock.yaml"),
    ("pnpm9", "pnpm-lock.yaml"),
];

const NAME: &str = "node-projects-v1";

/// The generated projects: `DIR/<tool>/` holds that tool's lockfile, or a `FAILED` file
/// with the tool's output when it could not run. `npm3` is a full `npm install` (with
/// `node_modules` and an npm workspace member, `packages/local-lib`, linked into it).
/// `None` when npm is missing or cannot reach the registry.
pub fn projects() -> Option<PathBuf> {
    if !have("npm") || !have("npx") {
        return None;
    }
    let path = cached_artifact(NAME, generate);
    if path.join("npm3/FAILED").exists() {
        // The registry was unreachable: do not keep the failure.
        let _ = std::fs::remove_dir_all(&path);
        return None;
    }
    if TOOLS
        .iter()
        .any(|(t, _)| path.join(t).join("FAILED").exists())
    {
        // Some tool failed: this run uses what there is, the next one tries again.
        let moved = path.with_extension(format!("partial-{}", std::process::id()));
        if std::fs::rename(&path, &moved).is_ok() {
            return Some(moved);
        }
    }
    Some(path)
}

/// The lockfile a tool wrote, if it ran.
pub fn lockfile(projects: &Path, tool: &str) -> Option<PathBuf> {
    let (_, file) = TOOLS.iter().find(|(t, _)| *t == tool)?;
    let p = projects.join(tool).join(file);
    p.is_file().then_some(p)
}

fn package_json(workspaces: bool) -> String {
    let ws = if workspaces {
        r#""workspaces": ["packages/*"],"#
    } else {
        ""
    };
    format!(
        r#"{{
  "name": "keelhaul-node-fixture",
  "version": "1.0.0",
  "private": true,
  {ws}
  "dependencies": {DEPENDENCIES}
}}
"#
    )
}

/// One tool run: output directory, command line, extra environment.
type Run<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);

fn generate(out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let quiet = [
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ];
    let runs: Vec<Run<'_>> = vec![
        ("npm3", [&["npm", "install"][..], &quiet].concat(), vec![]),
        (
            "npm2",
            [
                &[
                    "npm",
                    "install",
                    "--package-lock-only",
                    "--lockfile-version",
                    "2",
                ][..],
                &quiet,
            ]
            .concat(),
            vec![],
        ),
        (
            "npm1",
            vec![
                "npx",
                "-y",
                "npm@6",
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
            ],
            vec![],
        ),
        (
            "yarn1",
            vec![
                "npx",
                "-y",
                "yarn@1",
                "install",
                "--ignore-scripts",
                "--no-progress",
                "--non-interactive",
            ],
            vec![],
        ),
        (
            "berry",
            vec![
                "npx",
                "-y",
                "@yarnpkg/cli-dist",
                "install",
                "--mode=update-lockfile",
            ],
            vec![
                ("YARN_ENABLE_TELEMETRY", "0"),
                ("YARN_ENABLE_GLOBAL_CACHE", "0"),
                ("YARN_NODE_LINKER", "node-modules"),
            ],
        ),
        (
            "pnpm5",
            vec![
                "npx",
                "-y",
                "pnpm@5",
                "install",
                "--lockfile-only",
                "--ignore-scripts",
            ],
            vec![],
        ),
        (
            "pnpm7",
            vec![
                "npx",
                "-y",
                "pnpm@7",
                "install",
                "--lockfile-only",
                "--ignore-scripts",
            ],
            vec![],
        ),
        (
            "pnpm8",
            vec![
                "npx",
                "-y",
                "pnpm@8",
                "install",
                "--lockfile-only",
                "--ignore-scripts",
            ],
            vec![],
        ),
        (
            "pnpm9",
            vec![
                "npx",
                "-y",
                "pnpm@9",
                "install",
                "--lockfile-only",
                "--ignore-scripts",
            ],
            vec![],
        ),
    ];
    for (dir, argv, env) in runs {
        let d = out.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("package.json"), package_json(dir == "npm3")).unwrap();
        if dir == "npm3" {
            let lib = d.join("packages/local-lib");
            std::fs::create_dir_all(&lib).unwrap();
            std::fs::write(
                lib.join("package.json"),
                r#"{"name": "local-lib", "version": "0.1.0", "private": true}"#,
            )
            .unwrap();
        }
        // Each tool gets its own npm cache and HOME, so runs do not share state.
        let home = out.join(format!(".home-{dir}"));
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new("timeout");
        cmd.arg("600")
            .args(&argv)
            .current_dir(&d)
            .env("HOME", &home)
            .env("npm_config_cache", home.join("npm-cache"))
            .env("npm_config_update_notifier", "false")
            .env("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0")
            .env("CI", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let result = cmd.output();
        let ok = matches!(&result, Ok(o) if o.status.success());
        if !ok {
            let text = match &result {
                Ok(o) => format!(
                    "{:?} failed ({}):\n{}\n{}",
                    argv,
                    o.status,
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => format!("{argv:?}: {e}"),
            };
            std::fs::write(d.join("FAILED"), text).unwrap();
        }
        // Only npm3's tree is used; the others' would only take space.
        if dir != "npm3" {
            let _ = std::fs::remove_dir_all(d.join("node_modules"));
            let _ = std::fs::remove_dir_all(d.join(".yarn"));
        }
        let _ = std::fs::remove_dir_all(&home);
    }
}
