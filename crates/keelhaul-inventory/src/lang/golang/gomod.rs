//! `go.mod`: the directives that say which modules a build requires, lexed as Go's
//! `golang.org/x/mod/modfile` lexes them (whitespace-separated tokens, `//` comments,
//! Go-quoted strings, `verb ( … )` blocks).

use super::buildinfo::unquote_prefix;

/// A `require` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    /// Module path.
    pub path: String,
    /// Version.
    pub version: String,
    /// Marked `// indirect`.
    pub indirect: bool,
}

/// A `replace` line: `old [version] => new [version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    /// The module replaced.
    pub old_path: String,
    /// Only this version of it, if given.
    pub old_version: Option<String>,
    /// The replacement: a module path, or a directory when it has no version.
    pub new_path: String,
    /// The replacement's version; `None` for a directory.
    pub new_version: Option<String>,
}

/// What a `go.mod` declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoModFile {
    /// The `module` path.
    pub module: Option<String>,
    /// `require` lines, in order.
    pub requires: Vec<Require>,
    /// `replace` lines, in order.
    pub replaces: Vec<Replace>,
    /// `exclude` lines (path, version).
    pub excludes: Vec<(String, String)>,
}

impl GoModFile {
    /// The required modules after replacement, as (path, version) in `require` order: a
    /// replacement naming the required version wins over one naming none, as in Go. A
    /// replacement by a directory is versioned `(devel)`, as Go records it in the build
    /// info of what it builds (the same package, whichever of the two is seen).
    pub fn resolved(&self) -> Vec<(String, String)> {
        self.requires
            .iter()
            .map(|r| {
                let exact = self
                    .replaces
                    .iter()
                    .find(|x| x.old_path == r.path && x.old_version.as_deref() == Some(&r.version));
                let any = || {
                    self.replaces
                        .iter()
                        .find(|x| x.old_path == r.path && x.old_version.is_none())
                };
                match exact.or_else(any) {
                    Some(x) => (
                        x.new_path.clone(),
                        x.new_version
                            .clone()
                            .unwrap_or_else(|| "(devel)".to_owned()),
                    ),
                    None => (r.path.clone(), r.version.clone()),
                }
            })
            .collect()
    }
}

/// One line's tokens and its `//` comment.
fn lex(line: &str) -> Result<(Vec<String>, Option<&str>), String> {
    let mut tokens = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok((tokens, None));
        }
        if let Some(comment) = rest.strip_prefix("//") {
            return Ok((tokens, Some(comment.trim())));
        }
        let c = rest.as_bytes()[0];
        if c == b'(' || c == b')' {
            tokens.push((c as char).to_string());
            rest = &rest[1..];
        } else if c == b'"' || c == b'`' {
            let (value, used) =
                unquote_prefix(rest).ok_or_else(|| "unterminated or invalid string".to_owned())?;
            tokens.push(value);
            rest = &rest[used..];
        } else {
            let end = rest
                .char_indices()
                .find(|&(i, ch)| ch.is_whitespace() || rest[i..].starts_with("//"))
                .map_or(rest.len(), |(i, _)| i);
            tokens.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
}

/// Parse a `go.mod`. Lines that cannot be read are skipped and reported (Go would refuse
/// the file; a scanner reports what it can).
pub fn parse(text: &str) -> (GoModFile, Vec<String>) {
    let mut file = GoModFile::default();
    let mut problems = Vec::new();
    let mut block: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let mut bad = |what: String| problems.push(format!("line {}: {what}", n + 1));
        let (tokens, comment) = match lex(line) {
            Ok(x) => x,
            Err(e) => {
                bad(e);
                continue;
            }
        };
        if tokens.is_empty() {
            continue;
        }
        if let Some(verb) = &block {
            if tokens.len() == 1 && tokens[0] == ")" {
                block = None;
                continue;
            }
            if let Err(e) = directive(&mut file, verb, &tokens, comment) {
                bad(e);
            }
            continue;
        }
        match tokens.as_slice() {
            [verb, open] if open == "(" => block = Some(verb.clone()),
            [_, open, close] if open == "(" && close == ")" => {}
            [verb, args @ ..] => {
                if let Err(e) = directive(&mut file, verb, args, comment) {
                    bad(e);
                }
            }
            [] => {}
        }
    }
    if block.is_some() {
        problems.push("a `(` block is not closed".to_owned());
    }
    (file, problems)
}

fn directive(
    file: &mut GoModFile,
    verb: &str,
    args: &[String],
    comment: Option<&str>,
) -> Result<(), String> {
    match verb {
        "module" => match args {
            [path] => file.module = Some(path.clone()),
            _ => return Err("`module` takes one path".into()),
        },
        "require" => match args {
            [path, version] => file.requires.push(Require {
                path: path.clone(),
                version: version.clone(),
                indirect: comment.is_some_and(|c| c == "indirect" || c.starts_with("indirect;")),
            }),
            _ => return Err("`require` takes a path and a version".into()),
        },
        "replace" => {
            let arrow = args
                .iter()
                .position(|a| a == "=>")
                .ok_or("`replace` without `=>`")?;
            let (old, new) = (&args[..arrow], &args[arrow + 1..]);
            let (old_path, old_version) = match old {
                [p] => (p.clone(), None),
                [p, v] => (p.clone(), Some(v.clone())),
                _ => return Err("`replace` needs one module (and version) before `=>`".into()),
            };
            let (new_path, new_version) = match new {
                [p] => (p.clone(), None),
                [p, v] => (p.clone(), Some(v.clone())),
                _ => return Err("`replace` needs one module (and version) after `=>`".into()),
            };
            file.replaces.push(Replace {
                old_path,
                old_version,
                new_path,
                new_version,
            });
        }
        "exclude" => match args {
            [path, version] => file.excludes.push((path.clone(), version.clone())),
            _ => return Err("`exclude` takes a path and a version".into()),
        },
        // go, toolchain, godebug, retract, tool, ignore, and directives of later Go
        // releases: nothing to inventory.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A go.mod with every form the parser must know: blocks and single lines, comments
    /// (also glued to a token), quoted paths, versioned and version-less replacements, a
    /// directory replacement, exclude and retract.
    const GO_MOD: &str = r#"// The app.
module example.com/app // main

go 1.21

toolchain go1.22.1

require github.com/spf13/pflag v1.0.5

require (
	github.com/docker/docker v27.4.0+incompatible
	golang.org/x/exp v0.0.0-20230212135524-a684f29349b6// indirect
	"example.com/quoted" v1.0.0
	github.com/old/lib v1.2.0 // indirect; keep
	github.com/old/other v0.3.0
	example.com/local v0.0.0
)

require golang.org/x/sys v0.15.0 // indirect

replace github.com/old/lib v1.2.0 => github.com/new/lib v1.2.1
replace github.com/old/lib => github.com/wrong/lib v9.9.9
replace (
	github.com/old/other => github.com/fork/other v0.3.1-fix
	example.com/local => ../local
	github.com/not/required => github.com/x/y v1.0.0
)

exclude golang.org/x/sys v0.14.0
retract [v1.0.0, v1.0.5]
"#;

    #[test]
    fn parses_every_directive_form() {
        let (file, problems) = parse(GO_MOD);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(file.module.as_deref(), Some("example.com/app"));
        let paths: Vec<(&str, &str, bool)> = file
            .requires
            .iter()
            .map(|r| (r.path.as_str(), r.version.as_str(), r.indirect))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("github.com/spf13/pflag", "v1.0.5", false),
                ("github.com/docker/docker", "v27.4.0+incompatible", false),
                (
                    "golang.org/x/exp",
                    "v0.0.0-20230212135524-a684f29349b6",
                    true
                ),
                ("example.com/quoted", "v1.0.0", false),
                ("github.com/old/lib", "v1.2.0", true),
                ("github.com/old/other", "v0.3.0", false),
                ("example.com/local", "v0.0.0", false),
                ("golang.org/x/sys", "v0.15.0", true),
            ]
        );
        assert_eq!(file.replaces.len(), 5);
        assert_eq!(
            file.excludes,
            vec![("golang.org/x/sys".to_owned(), "v0.14.0".to_owned())]
        );
        let resolved = file.resolved();
        let get = |p: &str| resolved.iter().position(|(n, _)| n == p);
        assert_eq!(
            resolved[get("github.com/new/lib").expect("exact replacement wins")].1,
            "v1.2.1"
        );
        assert!(get("github.com/wrong/lib").is_none());
        assert!(get("github.com/old/lib").is_none());
        assert_eq!(
            resolved[get("github.com/fork/other").expect("replaced")].1,
            "v0.3.1-fix"
        );
        assert_eq!(resolved[get("../local").expect("directory")].1, "(devel)");
        assert!(
            get("github.com/x/y").is_none(),
            "replacing a module that is not required adds nothing"
        );
        assert_eq!(
            resolved[get("golang.org/x/sys").expect("exclude is ignored")].1,
            "v0.15.0"
        );
        assert_eq!(resolved.len(), 8);
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = "module x\nrequire (\n\tgood/one v1.0.0\n\tbad\n\t\"unterminated v1\n)\nreplace a b\nrequire last v2.0.0\n";
        let (file, problems) = parse(text);
        assert_eq!(file.requires.len(), 2, "{:?}", file.requires);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("line 4:"));
        let (_, problems) = parse("require (\n\ta v1\n");
        assert_eq!(problems, vec!["a `(` block is not closed".to_owned()]);
    }

    /// Go's own parser (`go mod edit -json`) as the oracle: on the go.mod above and on
    /// every go.mod of Go's source tree (`std`, `cmd`, test data), where Go reads it.
    #[test]
    fn agrees_with_go_mod_edit() {
        let Some(go) = crate::lang::golang::test_support::go_root() else {
            return;
        };
        let mut files = vec![("inline".to_owned(), GO_MOD.to_owned())];
        let mut stack = vec![go.join("src")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir)
                .expect("read dir")
                .filter_map(Result::ok)
            {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n == "go.mod") {
                    let text = std::fs::read_to_string(&p).expect("utf-8");
                    files.push((p.display().to_string(), text));
                }
            }
        }
        assert!(files.len() > 5, "{}", files.len());
        let tmp = std::env::temp_dir().join(format!("keelhaul-gomod-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).expect("tmp");
        let mut compared = 0;
        for (label, text) in &files {
            let path = tmp.join("go.mod");
            std::fs::write(&path, text).expect("write");
            let out = std::process::Command::new(go.join("bin/go"))
                .env("GOROOT", &go)
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "")
                .args(["mod", "edit", "-json"])
                .arg(&path)
                .output()
                .expect("go runs");
            if !out.status.success() {
                continue; // test data that Go itself refuses
            }
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let (file, problems) = parse(text);
            assert!(problems.is_empty(), "{label}: {problems:?}");
            let list = |k: &str| json[k].as_array().cloned().unwrap_or_default();
            let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
            let requires: Vec<Require> = list("Require")
                .iter()
                .map(|r| Require {
                    path: s(&r["Path"]).expect("path"),
                    version: s(&r["Version"]).expect("version"),
                    indirect: r["Indirect"].as_bool().unwrap_or(false),
                })
                .collect();
            assert_eq!(file.requires, requires, "{label}");
            let replaces: Vec<Replace> = list("Replace")
                .iter()
                .map(|r| Replace {
                    old_path: s(&r["Old"]["Path"]).expect("old"),
                    old_version: s(&r["Old"]["Version"]),
                    new_path: s(&r["New"]["Path"]).expect("new"),
                    new_version: s(&r["New"]["Version"]),
                })
                .collect();
            assert_eq!(file.replaces, replaces, "{label}");
            let excludes: Vec<(String, String)> = list("Exclude")
                .iter()
                .map(|e| {
                    (
                        s(&e["Path"]).expect("path"),
                        s(&e["Version"]).expect("version"),
                    )
                })
                .collect();
            assert_eq!(file.excludes, excludes, "{label}");
            assert_eq!(file.module, s(&json["Module"]["Path"]), "{label}");
            compared += 1;
        }
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(compared > 5, "{compared}");
    }
}
