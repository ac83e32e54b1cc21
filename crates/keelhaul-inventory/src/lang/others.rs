//! Dart `pubspec.lock`, Elixir `mix.lock`, Swift `Package.resolved`, Conan `conan.lock` (declared).
//!
//! * `pubspec.lock` (YAML): `packages` maps names to `{source, version, …}`; `sdk` and
//!   `path` packages are not on pub.dev and are left out.
//! * `mix.lock` (an Elixir map literal): `"name": {:hex, :package, "version", …}`; git and
//!   path dependencies are left out. Read by a small tokenizer, nothing is evaluated.
//! * `Package.resolved` (JSON): version 1 (`object.pins[]` with `repositoryURL`), versions
//!   2 and 3 (`pins[]` with `location`); the name is the repository URL's
//!   `host/owner/name`, the version the pinned tag, or the revision when the pin follows a
//!   branch. Local pins are left out.
//! * `conan.lock` (JSON): Conan 1's version 0.4 `graph_lock.nodes.*.ref` and Conan 2's
//!   version 0.5 `requires`, `build_requires`, `python_requires`; references are
//!   `name/version[@user/channel][#revision]`.

use std::collections::BTreeMap;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};
use serde_json::Value;

use super::common::{Found, MAX_JSON_NODES, check_nodes, one_line};

/// Lockfiles of large projects are a few hundred KB.
const MAX_FILE: u64 = 16 << 20;
/// Deepest nesting of a `mix.lock` term that is followed.
const MAX_MIX_DEPTH: usize = 64;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(OtherLockfiles)]
}

/// The analyzer of the four formats.
#[derive(Debug, Default)]
pub struct OtherLockfiles;

impl Analyzer for OtherLockfiles {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "other-lockfiles",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&[
            "**/pubspec.lock",
            "**/mix.lock",
            "**/Package.resolved",
            "**/conan.lock",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_lockfile(file.path, content)?.emit(out);
        Ok(())
    }
}

/// One lockfile, by its name.
pub fn parse_lockfile(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if matches!(name, "Package.resolved" | "conan.lock") {
        check_nodes(content, MAX_JSON_NODES)?;
    }
    let text = String::from_utf8_lossy(content);
    match path.rsplit('/').next().unwrap_or(path) {
        "pubspec.lock" => pubspec_lock(path, &text),
        "mix.lock" => mix_lock(path, content),
        "Package.resolved" => package_resolved(path, &text),
        "conan.lock" => conan_lock(path, &text),
        other => Err(AnalyzeError::new(format!("unknown lockfile `{other}`"))),
    }
}

fn json(text: &str) -> Result<serde_json::Map<String, Value>, AnalyzeError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(AnalyzeError::new("not a JSON object")),
        Err(e) => Err(AnalyzeError::new(format!(
            "not valid JSON: {}",
            one_line(e)
        ))),
    }
}

/// `pubspec.lock`'s shape; other fields are ignored.
#[derive(serde::Deserialize)]
struct PubspecLock {
    #[serde(default)]
    packages: Option<BTreeMap<String, PubPackage>>,
}

#[derive(serde::Deserialize)]
struct PubPackage {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

fn pubspec_lock(path: &str, text: &str) -> Result<Found, AnalyzeError> {
    let lock: PubspecLock = serde_saphyr::from_str(text)
        .map_err(|e| AnalyzeError::new(format!("not a valid pubspec.lock: {}", one_line(e))))?;
    let mut found = Found::of("pubspec.lock");
    for (name, p) in lock.packages.into_iter().flatten() {
        if matches!(p.source.as_deref(), Some("sdk" | "path")) {
            continue;
        }
        let Some(version) = p.version.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let p = Package::found_at(
            Ecosystem::Pub,
            name,
            version.trim(),
            path,
            Evidence::Declared,
        );
        if !found.add(p) {
            break;
        }
    }
    Ok(found)
}

/// A token of an Elixir term.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// `{`, `[`, `%{` (as `{`), `(`.
    Open,
    /// `}`, `]`, `)`.
    Close,
    Comma,
    Str(String),
    Atom(String),
    /// A keyword or map key: `hex:` or `"name":`.
    Key(String),
    Other,
}

/// The tokens of an Elixir term, one at a time (strings with escapes, atoms quoted or
/// not, keyword keys, comments skipped). Every delimiter is ASCII, so the input is read
/// as bytes; strings and atoms are decoded when complete.
struct MixLexer<'a> {
    bytes: &'a [u8],
    i: usize,
}

impl MixLexer<'_> {
    fn word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'?' | b'!' | b'@' | b'.') || b >= 0x80
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// Whether a `:` at `i` ends a key (`hex:`, `"name":`): followed by white space.
    fn key_colon(&self, i: usize) -> bool {
        self.at(i) == Some(b':') && self.at(i + 1).is_none_or(|c| c.is_ascii_whitespace())
    }

    /// The string starting at the `"` at `self.i`; `self.i` ends after its closing quote.
    fn string(&mut self) -> String {
        let mut s = Vec::new();
        self.i += 1;
        while let Some(c) = self.at(self.i) {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(e) = self.at(self.i) {
                        s.push(e);
                        self.i += 1;
                    }
                }
                c => s.push(c),
            }
        }
        String::from_utf8_lossy(&s).into_owned()
    }

    fn word_at(&mut self) -> String {
        let start = self.i;
        while self.at(self.i).is_some_and(Self::word) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.bytes[start..self.i]).into_owned()
    }
}

impl Iterator for MixLexer<'_> {
    type Item = Tok;

    fn next(&mut self) -> Option<Tok> {
        loop {
            let c = self.at(self.i)?;
            let next = self.at(self.i + 1);
            let tok = match c {
                c if c.is_ascii_whitespace() => {
                    self.i += 1;
                    continue;
                }
                b'#' => {
                    while self.at(self.i).is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                    continue;
                }
                b'%' if next == Some(b'{') => {
                    self.i += 2;
                    Tok::Open
                }
                b'{' | b'[' | b'(' => {
                    self.i += 1;
                    Tok::Open
                }
                b'}' | b']' | b')' => {
                    self.i += 1;
                    Tok::Close
                }
                b',' => {
                    self.i += 1;
                    Tok::Comma
                }
                b'"' => {
                    let s = self.string();
                    if self.key_colon(self.i) {
                        self.i += 1;
                        Tok::Key(s)
                    } else {
                        Tok::Str(s)
                    }
                }
                b':' if next == Some(b'"') => {
                    self.i += 1;
                    Tok::Atom(self.string())
                }
                b':' if next.is_some_and(Self::word) => {
                    self.i += 1;
                    Tok::Atom(self.word_at())
                }
                c if Self::word(c) => {
                    let w = self.word_at();
                    if self.key_colon(self.i) {
                        self.i += 1;
                        Tok::Key(w)
                    } else {
                        Tok::Other
                    }
                }
                _ => {
                    self.i += 1;
                    Tok::Other
                }
            };
            return Some(tok);
        }
    }
}

/// `mix.lock`: `%{"key": {:hex, :name, "version", …}, …}`.
fn mix_lock(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let mut toks = MixLexer {
        bytes: content,
        i: 0,
    }
    .peekable();
    if toks.peek() != Some(&Tok::Open) {
        return Err(AnalyzeError::new("not an Elixir map (`%{…}`)"));
    }
    let mut found = Found::of("mix.lock");
    let mut depth = 0usize;
    // The entry being read: its tuple's first three elements at depth 2.
    let mut element = 0usize;
    let mut head: Vec<Tok> = Vec::new();
    for tok in toks {
        match tok {
            Tok::Open => {
                depth += 1;
                if depth > MAX_MIX_DEPTH {
                    return Err(AnalyzeError::new(format!(
                        "nested deeper than {MAX_MIX_DEPTH} levels"
                    )));
                }
                if depth == 2 {
                    element = 0;
                    head.clear();
                }
            }
            Tok::Close => {
                if depth == 2
                    && let [Tok::Atom(kind), Tok::Atom(name), Tok::Str(version)] = head.as_slice()
                    && kind == "hex"
                    && !name.is_empty()
                    && !version.is_empty()
                {
                    let p =
                        Package::found_at(Ecosystem::Hex, name, version, path, Evidence::Declared);
                    if !found.add(p) {
                        break;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Comma if depth == 2 => element += 1,
            t if depth == 2 && element == head.len() && element < 3 => head.push(t),
            _ => {}
        }
    }
    if depth != 0 {
        found
            .warnings
            .push("unbalanced brackets: the file is cut short".to_owned());
    }
    Ok(found)
}

/// A repository URL as Swift's purl names it: `host/owner/name`, scheme, user, port
/// and `.git` removed (`git@github.com:o/r.git` is `github.com/o/r`).
pub fn swift_name(url: &str) -> Option<String> {
    let mut u = url.trim();
    let scp_like = !u.contains("://");
    if let Some((_, rest)) = u.split_once("://") {
        u = rest;
    }
    let (host_part, path) = if scp_like {
        u.split_once(':')?
    } else {
        u.split_once('/')?
    };
    let host = host_part.rsplit('@').next().unwrap_or(host_part);
    let host = host.split(':').next().unwrap_or(host);
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!host.is_empty() && !path.is_empty() && path.contains('/'))
        .then(|| format!("{}/{path}", host.to_ascii_lowercase()))
}

fn package_resolved(path: &str, text: &str) -> Result<Found, AnalyzeError> {
    let doc = json(text)?;
    let pins = doc
        .get("pins")
        .or_else(|| doc.get("object").and_then(|o| o.get("pins")))
        .and_then(Value::as_array)
        .ok_or_else(|| AnalyzeError::new("no `pins` (nor `object.pins`) array"))?;
    let mut found = Found::of("Package.resolved");
    let mut unusable = 0usize;
    for pin in pins {
        let text = |k: &str| {
            pin.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let state = |k: &str| {
            pin.get("state")
                .and_then(|s| s.get(k))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let name = match text("kind") {
            Some("localSourceControl" | "fileSystem") => continue,
            // A registry identity is `scope.name`.
            Some("registry") => text("identity").and_then(|id| {
                id.split_once('.')
                    .map(|(scope, name)| format!("{scope}/{name}"))
            }),
            _ => text("location")
                .or_else(|| text("repositoryURL"))
                .and_then(swift_name),
        };
        let version = state("version").or_else(|| state("revision"));
        let (Some(name), Some(version)) = (name, version) else {
            unusable += 1;
            continue;
        };
        let p = Package::found_at(Ecosystem::Swift, name, version, path, Evidence::Declared);
        if !found.add(p) {
            break;
        }
    }
    if unusable > 0 {
        found.warnings.push(format!(
            "{unusable} pins without a repository URL or a version; skipped"
        ));
    }
    Ok(found)
}

/// `name/version[@user/channel][#rrev][%timestamp][:package_id]` → (name, version).
fn conan_ref(r: &str) -> Option<(&str, &str)> {
    let r = r.split(['#', '%', ':']).next()?;
    let r = r.split('@').next()?;
    let (name, version) = r.trim().split_once('/')?;
    (!name.is_empty() && !version.is_empty() && !version.contains('/')).then_some((name, version))
}

fn conan_lock(path: &str, text: &str) -> Result<Found, AnalyzeError> {
    let doc = json(text)?;
    let mut refs: Vec<&str> = Vec::new();
    if let Some(nodes) = doc
        .get("graph_lock")
        .and_then(|g| g.get("nodes"))
        .and_then(Value::as_object)
    {
        // 0.4: the consumer node has a `path` and no `ref`.
        refs.extend(
            nodes
                .values()
                .filter_map(|n| n.get("ref").and_then(Value::as_str)),
        );
    } else {
        for key in ["requires", "build_requires", "python_requires"] {
            refs.extend(
                doc.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
        if refs.is_empty() && !doc.contains_key("requires") {
            return Err(AnalyzeError::new(
                "neither `graph_lock.nodes` (0.4) nor `requires` (0.5)",
            ));
        }
    }
    let mut found = Found::of("conan.lock");
    for r in refs {
        let Some((name, version)) = conan_ref(r) else {
            found.warnings.push(format!(
                "reference `{}` is not `name/version`; skipped",
                one_line(r)
            ));
            continue;
        };
        let p = Package::found_at(Ecosystem::Conan, name, version, path, Evidence::Declared);
        if !found.add(p) {
            break;
        }
    }
    Ok(found)
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &Found) -> Vec<(&str, &str)> {
        let mut v: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        v.sort_unstable();
        v
    }

    /// `flutter pub get` (Dart 3.1) output, trimmed.
    const PUBSPEC_LOCK: &str = r#"# Generated by pub
# See https://dart.dev/tools/pub/glossary#lockfile
packages:
  async:
    dependency: transitive
    description:
      name: async
      sha256: "947bfcf187f74dbc5e146c9eb9c0f10c9f8b30743e341481c1e2ed3ecc18c20c"
      url: "https://pub.dev"
    source: hosted
    version: "2.11.0"
  flutter:
    dependency: "direct main"
    description: flutter
    source: sdk
    version: "0.0.0"
  http:
    dependency: "direct main"
    description:
      name: http
      sha256: "759d1a329847dd0f39226c688d3e06a6b8679668e350e2891a6474f8b4bb8525"
      url: "https://pub.dev"
    source: hosted
    version: "1.1.0"
  local_utils:
    dependency: "direct main"
    description:
      path: "../local_utils"
      relative: true
    source: path
    version: "0.1.0"
  forked_pkg:
    dependency: "direct main"
    description:
      path: "."
      ref: main
      resolved-ref: "4e5a3b2a4ba1bd2b1a1c2e56d8d0d32c2a3e8f01"
      url: "https://github.com/example/forked_pkg.git"
    source: git
    version: "0.3.1"
sdks:
  dart: ">=3.1.0 <4.0.0"
  flutter: ">=3.13.0"
"#;

    #[test]
    fn pubspec_lock() {
        let found = parse_lockfile("app/pubspec.lock", PUBSPEC_LOCK.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![
                ("async", "2.11.0"),
                ("forked_pkg", "0.3.1"),
                ("http", "1.1.0")
            ]
        );
        let p = &found.packages[0];
        assert_eq!(p.ecosystem, Ecosystem::Pub);
        assert_eq!(p.locations[0].evidence, Evidence::Declared);
        assert_eq!(p.locations[0].path, "app/pubspec.lock");
    }

    /// `mix deps.get` (Elixir 1.15) output: one entry per line, a git dependency, an
    /// entry whose key differs from the Hex package name.
    const MIX_LOCK: &str = r#"%{
  "castore": {:hex, :castore, "1.0.4", "ff4d0fb2e6411c0479b1d965a814ea6d00e51eb2f58697446e9c41a97d940b28", [:mix], [], "hexpm", "9418c1b8144e11656f0be99943db4caf04612e3eaecefb3dae9a2c1e2d7c5d8a"},
  "cowboy": {:hex, :cowboy, "2.10.0", "ff9ffeff91dae4ae270dd975642997afe2a1179d94b1887863e43f681a203e26", [:make, :rebar3], [{:cowlib, "2.12.1", [hex: :cowlib, repo: "hexpm", optional: false]}, {:ranch, "1.8.0", [hex: :ranch, repo: "hexpm", optional: false]}], "hexpm", "3afdccb7183cc6f143cb14d3cf51fa00e53db9ec80cdcd525482f5e99bc41d6b"},
  "jason": {:hex, :jason, "1.4.1", "af1504e35f629ddcdd6addb3513c3853991f694921b1b9368b0bd32beb9f1b63", [:mix], [{:decimal, "~> 1.0 or ~> 2.0", [hex: :decimal, repo: "hexpm", optional: true]}], "hexpm", "fbb01ecdfd565b56261302f7e1fcc27c4fb8f32d56eab74db621fc154604a7a1"},
  "my_poison": {:hex, :poison, "5.0.0", "d2b54589ab4157bbb82ec2050757779bfed724463a544b6e20d79855a9e43b24", [:mix], [{:decimal, "~> 2.0", [hex: :decimal, repo: "hexpm", optional: true]}], "hexpm", "11dc6117c501b80c62a7594f941d043982a1bd05a1184280c0d9166eb4d8d3fc"},
  "phoenix": {:git, "https://github.com/phoenixframework/phoenix.git", "d2dd48dbd1a9bd3c1a2bb6a0d4e2e89c8e5b0d37", [branch: "main"]},
  "ranch": {:hex, :ranch, "1.8.0", "8c7a100a139fd57f17327b6413e4167ac559fbc04ca7448e9be9057311597a1d", [:make, :rebar3], [], "hexpm", "49fbcfd3682fab1f5d109351b61257676da1a2fdbe295904176d5e521a2ddfe5"},
}
"#;

    #[test]
    fn mix_lock() {
        let found = parse_lockfile("srv/mix.lock", MIX_LOCK.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![
                ("castore", "1.0.4"),
                ("cowboy", "2.10.0"),
                ("jason", "1.4.1"),
                ("poison", "5.0.0"),
                ("ranch", "1.8.0"),
            ]
        );
        assert!(found.warnings.is_empty());
        assert_eq!(found.packages[0].ecosystem, Ecosystem::Hex);
    }

    #[test]
    fn bad_mix_locks() {
        assert!(parse_lockfile("mix.lock", b"").is_err());
        assert!(parse_lockfile("mix.lock", b"\"a\": 1").is_err());
        let deep = format!("%{{{}", "[".repeat(10_000));
        assert!(parse_lockfile("mix.lock", deep.as_bytes()).is_err());
        let cut = "%{\n  \"jason\": {:hex, :jason, \"1.4.1\", \"af15\", [:mix], [], \"hexpm\", \"fb\"},\n  \"x\": {:hex, :x, \"1";
        let found = parse_lockfile("mix.lock", cut.as_bytes()).unwrap();
        assert_eq!(names(&found), vec![("jason", "1.4.1")]);
        assert_eq!(found.warnings.len(), 1);
    }

    /// Xcode 13 / SwiftPM 5.5 (`"version": 1`).
    const RESOLVED_V1: &str = r#"{
  "object": {
    "pins": [
      {
        "package": "Alamofire",
        "repositoryURL": "https://github.com/Alamofire/Alamofire.git",
        "state": {
          "branch": null,
          "revision": "354dda32d89fc8cd4f5c46487f64957d355f53d8",
          "version": "5.6.1"
        }
      },
      {
        "package": "swift-log",
        "repositoryURL": "git@github.com:apple/swift-log.git",
        "state": {
          "branch": "main",
          "revision": "32e8d724467f8fe623624570367e3d50c5638e46",
          "version": null
        }
      }
    ]
  },
  "version": 1
}"#;

    /// SwiftPM 5.9 (`"version": 2`; version 3 adds `originHash`).
    const RESOLVED_V3: &str = r#"{
  "originHash" : "e2b3ef3a27c6b2b5f1e87a35e8b5c3c0e7c6a3f1c1a2e5b1b7b1d5b0e8c7b3a2",
  "pins" : [
    {
      "identity" : "swift-argument-parser",
      "kind" : "remoteSourceControl",
      "location" : "https://github.com/apple/swift-argument-parser",
      "state" : {
        "revision" : "c8ed701b513cf5177118a175d85fbbbcd707ab41",
        "version" : "1.3.0"
      }
    },
    {
      "identity" : "mylocal",
      "kind" : "localSourceControl",
      "location" : "/Users/dev/src/mylocal",
      "state" : {
        "revision" : "0123456789abcdef0123456789abcdef01234567",
        "version" : "0.1.0"
      }
    },
    {
      "identity" : "mona.linkedlist",
      "kind" : "registry",
      "location" : "",
      "state" : {
        "version" : "1.2.0"
      }
    }
  ],
  "version" : 3
}"#;

    #[test]
    fn package_resolved_v1_and_v3() {
        let found = parse_lockfile("App/Package.resolved", RESOLVED_V1.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![
                ("github.com/Alamofire/Alamofire", "5.6.1"),
                (
                    "github.com/apple/swift-log",
                    "32e8d724467f8fe623624570367e3d50c5638e46"
                ),
            ]
        );
        assert_eq!(found.packages[0].ecosystem, Ecosystem::Swift);
        let found = parse_lockfile(
            "App.xcodeproj/project.xcworkspace/xcshareddata/swiftpm/Package.resolved",
            RESOLVED_V3.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            names(&found),
            vec![
                ("github.com/apple/swift-argument-parser", "1.3.0"),
                ("mona/linkedlist", "1.2.0"),
            ]
        );
        assert_eq!(
            swift_name("ssh://git@gitlab.example.com:2222/team/lib.git/").as_deref(),
            Some("gitlab.example.com/team/lib")
        );
        assert_eq!(swift_name("not a url"), None);
    }

    /// Conan 1.x `conan lock create` (lockfile 0.4), trimmed profile.
    const CONAN_04: &str = r#"{
 "graph_lock": {
  "nodes": {
   "0": {
    "options": "openssl:shared=False\nzlib:shared=False",
    "requires": ["1", "2"],
    "path": "conanfile.txt",
    "context": "host"
   },
   "1": {
    "ref": "openssl/1.1.1q",
    "options": "shared=False",
    "package_id": "6af9cc7cb931c5ad942174fd7838eb655717c709",
    "prev": "0",
    "requires": ["2"],
    "context": "host"
   },
   "2": {
    "ref": "zlib/1.2.12@mycompany/stable#3b9e037ae1c615d045a06c67d88491ae",
    "options": "fPIC=True\nshared=False",
    "package_id": "dfbe50feef7f3c6223a476cd5aeadb687084a646",
    "prev": "0",
    "context": "host"
   }
  },
  "revisions_enabled": false
 },
 "version": "0.4",
 "profile_host": "[settings]\narch=x86_64\nbuild_type=Release\nos=Linux\n"
}"#;

    /// Conan 2 `conan lock create` (lockfile 0.5).
    const CONAN_05: &str = r#"{
    "version": "0.5",
    "requires": [
        "zlib/1.3#06023034579559bb64357db3a53f88a4%1696263218.2",
        "openssl/3.1.3#8d2a8ba1b5a9c4e5a4e1b6a3d2f9f5c4%1696249931.918"
    ],
    "build_requires": [
        "cmake/3.27.6#7c4d1f5b1f8f4a6c1c0b5c5a9c1d2e3f%1695925547.66"
    ],
    "python_requires": [],
    "config_requires": []
}"#;

    #[test]
    fn conan_locks() {
        let found = parse_lockfile("conan.lock", CONAN_04.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![("openssl", "1.1.1q"), ("zlib", "1.2.12")]
        );
        let found = parse_lockfile("build/conan.lock", CONAN_05.as_bytes()).unwrap();
        assert_eq!(
            names(&found),
            vec![("cmake", "3.27.6"), ("openssl", "3.1.3"), ("zlib", "1.3")]
        );
        assert!(
            found
                .packages
                .iter()
                .all(|p| p.ecosystem == Ecosystem::Conan)
        );
    }

    #[test]
    fn bad_lockfiles() {
        assert!(parse_lockfile("pubspec.lock", b"packages: [unclosed").is_err());
        assert!(parse_lockfile("pubspec.lock", b"packages:\n  a: 3\n").is_err());
        assert!(parse_lockfile("Package.resolved", b"{\"pins\": ").is_err());
        assert!(parse_lockfile("Package.resolved", b"{\"version\": 2}").is_err());
        assert!(parse_lockfile("conan.lock", b"{\"version\": \"0.5\"}").is_err());
        assert!(parse_lockfile("conan.lock", b"[]").is_err());
        let found =
            parse_lockfile("conan.lock", b"{\"requires\": [\"noversion\", \"a/1.0\"]}").unwrap();
        assert_eq!(names(&found), vec![("a", "1.0")]);
        assert_eq!(found.warnings.len(), 1);
        // A YAML alias bomb stays within serde-saphyr's budget.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..20 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!(
                "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        bomb.push_str("packages: {}\n");
        let e = parse_lockfile("pubspec.lock", bomb.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("budget"), "{e}");
    }
}
