//! Ruby: `specifications/*.gemspec` (installed), `Gemfile.lock` (declared).
//!
//! Installed gems have their specification in `GEM_HOME/specifications/` (default gems,
//! the ones Ruby itself ships, in `specifications/default/`; Debian's gems in
//! `rubygems-integration/*/specifications/`), written by RubyGems in its Ruby form:
//! `Gem::Specification.new do |s| s.name = "rack".freeze; s.version = "2.2.4" … end`.
//! Nothing is evaluated: the assignments are read as text.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Package};

use super::common::Found;

/// Specifications are a few KB; lockfiles of large applications a few hundred.
const MAX_FILE: u64 = 8 << 20;

/// This module's analyzers.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![Box::new(Gemspec), Box::new(GemfileLock)]
}

/// Installed gems' specifications.
#[derive(Debug, Default)]
pub struct Gemspec;

impl Analyzer for Gemspec {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "gemspec",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&["**/specifications/**/*.gemspec"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let p = parse_gemspec(file.path, content)?;
        Found::new("gemspec", vec![p]).emit(out);
        Ok(())
    }
}

/// Bundler's lockfiles.
#[derive(Debug, Default)]
pub struct GemfileLock;

impl Analyzer for GemfileLock {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "gemfile-lock",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&["**/Gemfile.lock", "**/gems.locked"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_gemfile_lock(file.path, content)?.emit(out);
        Ok(())
    }
}

/// A gem from its specification's text.
pub fn parse_gemspec(path: &str, content: &[u8]) -> Result<Package, AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let mut name = None;
    let mut version = None;
    let mut licenses: Vec<String> = Vec::new();
    let mut authors: Vec<String> = Vec::new();
    // `# stub: NAME VERSION PLATFORM REQUIRE_PATHS`: RubyGems' own summary line, used
    // when the assignments are missing.
    let mut stub: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# stub: ") {
            let mut words = rest.split_whitespace();
            if stub.is_none()
                && let (Some(n), Some(v)) = (words.next(), words.next())
            {
                stub = Some((n.to_owned(), v.to_owned()));
            }
            continue;
        }
        if let Some(args) = line
            .strip_prefix("Gem::Specification.new")
            .filter(|a| a.trim_start().starts_with(['"', '\'', '(']))
        {
            // `Gem::Specification.new "name", "1.0" do |s|`
            let mut strings = string_literals(args).into_iter();
            name = name.or(strings.next());
            version = version.or(strings.next());
            continue;
        }
        let Some((attr, value)) = assignment(line) else {
            continue;
        };
        match attr {
            "name" if name.is_none() => name = string_literals(value).into_iter().next(),
            "version" if version.is_none() => {
                version = string_literals(value).into_iter().next();
            }
            "license" | "licenses" => licenses.extend(string_literals(value)),
            "authors" | "author" => authors.extend(string_literals(value)),
            _ => {}
        }
    }
    let (stub_name, stub_version) = stub.unzip();
    let name = name
        .or(stub_name)
        .filter(|n| plausible(n))
        .ok_or_else(|| AnalyzeError::new("no gem name (`s.name = …`)"))?;
    let version = version
        .or(stub_version)
        .filter(|v| plausible(v))
        .ok_or_else(|| AnalyzeError::new(format!("gem `{name}` has no version")))?;
    let mut p = Package::found_at(Ecosystem::Gem, name, version, path, Evidence::Installed);
    licenses.dedup();
    p.licenses = licenses;
    p.supplier = (!authors.is_empty()).then(|| authors.join(", "));
    Ok(p)
}

/// A gem name or version: one word, no quotes or control characters, not absurdly long.
fn plausible(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '/'))
}

/// `VAR.ATTR = VALUE` (RubyGems writes `s.name = "x".freeze`): (attribute, value text).
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (var, rest) = line.split_once('.')?;
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let (attr, value) = rest.split_once('=')?;
    let attr = attr.trim();
    // `==` is a comparison, and `s.x ||= …` not a plain assignment of interest.
    if value.starts_with('=') || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((attr, value.trim()))
}

/// The string literals in a line of Ruby: `"…"` (with escapes), `'…'`, `%q{…}`, `%q<…>`,
/// `%q(…)`, `%q[…]`. Bounded by the line.
fn string_literals(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => break,
            '"' | '\'' => {
                let mut lit = String::new();
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == '\\' {
                        if let Some((_, e)) = chars.next() {
                            lit.push(e);
                        }
                    } else if d == c {
                        closed = true;
                        break;
                    } else {
                        lit.push(d);
                    }
                }
                if closed {
                    out.push(lit);
                }
            }
            '%' if s[i + 1..].starts_with(['q', 'Q']) => {
                let open = s[i + 2..].chars().next();
                let close = match open {
                    Some('{') => '}',
                    Some('<') => '>',
                    Some('(') => ')',
                    Some('[') => ']',
                    _ => continue,
                };
                let body = &s[i + 3..];
                if let Some(end) = body.find(close) {
                    out.push(body[..end].to_owned());
                    while chars.peek().is_some_and(|&(j, _)| j < i + 3 + end + 1) {
                        chars.next();
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A `Gemfile.lock`: each source section (`GEM`, `GIT`, `PATH`) lists its gems under
/// `  specs:` as `    name (version[-platform])`, their dependencies indented deeper.
/// `PATH` gems are the application's own and are left out; platform suffixes are dropped
/// (`nokogiri (1.13.10-x86_64-linux)` is nokogiri 1.13.10).
pub fn parse_gemfile_lock(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let mut found = Found::of("Gemfile.lock");
    let mut section = "";
    let mut in_specs = false;
    let mut sections = 0usize;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        match indent {
            0 => {
                section = line.trim();
                sections += 1;
                in_specs = false;
            }
            2 => in_specs = line.trim() == "specs:",
            4 if in_specs && matches!(section, "GEM" | "GIT") => {
                let Some((name, version)) = spec_line(line.trim()) else {
                    continue;
                };
                let p = Package::found_at(Ecosystem::Gem, name, version, path, Evidence::Declared);
                if !found.add(p) {
                    break;
                }
            }
            _ => {}
        }
    }
    if sections == 0 {
        return Err(AnalyzeError::new("no sections (`GEM`, `DEPENDENCIES`, …)"));
    }
    Ok(found)
}

/// `name (version)` with the platform dropped from the version.
fn spec_line(s: &str) -> Option<(&str, &str)> {
    let (name, rest) = s.split_once(" (")?;
    let version = rest.strip_suffix(')')?;
    let version = version.split('-').next().unwrap_or(version);
    (plausible(name) && plausible(version) && version.starts_with(|c: char| c.is_ascii_digit()))
        .then_some((name, version))
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_gemspecs() {
        // ruby-rack 2.2.22 (Debian 12): rubygems-integration's copy of the specification.
        let path = "usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec";
        let p = parse_gemspec(path, include_bytes!("ruby/testdata/rack-2.2.22.gemspec")).unwrap();
        assert_eq!(
            (p.ecosystem, p.name.as_str(), p.version.as_str()),
            (Ecosystem::Gem, "rack", "2.2.22")
        );
        assert_eq!(p.licenses, vec!["MIT"]);
        assert_eq!(p.supplier.as_deref(), Some("Leah Neukirchen"));
        assert_eq!(p.locations[0].path, path);
        assert_eq!(p.locations[0].evidence, Evidence::Installed);

        // libruby3.1's default gems, one with NUL bytes in its stub line.
        let p = parse_gemspec(
            "usr/lib/ruby/gems/3.1.0/specifications/default/csv-3.2.5.gemspec",
            include_bytes!("ruby/testdata/csv-3.2.5.gemspec"),
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("csv", "3.2.5"));
        assert_eq!(p.licenses, vec!["Ruby", "BSD-2-Clause"]);
        assert_eq!(
            p.supplier.as_deref(),
            Some("James Edward Gray II, Kouhei Sutou")
        );
        let p = parse_gemspec(
            "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
            include_bytes!("ruby/testdata/json-2.6.1.gemspec"),
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("json", "2.6.1"));
        let p = parse_gemspec(
            "usr/lib/ruby/gems/3.1.0/specifications/net-smtp-0.3.1.1.gemspec",
            include_bytes!("ruby/testdata/net-smtp-0.3.1.1.gemspec"),
        )
        .unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("net-smtp", "0.3.1.1")
        );
    }

    #[test]
    fn other_gemspec_forms() {
        let text = "# -*- encoding: utf-8 -*-\nGem::Specification.new \"mygem\", \"0.3.0\" do |spec|\n  spec.license = %q{Apache-2.0}\n  spec.authors = ['A. Person']\nend\n";
        let p = parse_gemspec("x/specifications/mygem-0.3.0.gemspec", text.as_bytes()).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("mygem", "0.3.0"));
        assert_eq!(p.licenses, vec!["Apache-2.0"]);
        // Old RubyGems wrote `%q{}` literals and `Gem::Version`-free strings.
        let text = "Gem::Specification.new do |s|\n  s.name = %q{rake}\n  s.version = \"0.8.7\"\n  s.summary = %q{Ruby based make-like utility.}\nend\n";
        let p = parse_gemspec("x/specifications/rake-0.8.7.gemspec", text.as_bytes()).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("rake", "0.8.7"));
        // Only the stub line.
        let p = parse_gemspec("x/specifications/a-1.gemspec", b"# stub: a 1.0 ruby lib\n").unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("a", "1.0"));
    }

    #[test]
    fn bad_gemspecs() {
        let path = "x/specifications/x.gemspec";
        assert!(parse_gemspec(path, b"").is_err());
        assert!(
            parse_gemspec(
                path,
                b"Gem::Specification.new do |s|\n  s.name = \"x\"\nend\n"
            )
            .is_err()
        );
        assert!(parse_gemspec(path, b"\xff\xfe\x00garbage").is_err());
        // Unterminated strings and a name with spaces are not names.
        assert!(parse_gemspec(path, b"s.name = \"abc\ns.version = \"1\"\n").is_err());
        assert!(parse_gemspec(path, b"s.name = \"a b\"\ns.version = \"1\"\n").is_err());
        // Non-UTF-8 elsewhere does not matter.
        let p = parse_gemspec(
            path,
            b"s.name = \"x\"\ns.version = \"1.0\"\ns.summary = \"\xe9\"\n",
        )
        .unwrap();
        assert_eq!(p.name, "x");
    }

    /// A Rails application's lockfile as Bundler 2.4 writes it (trimmed), with a git
    /// source, a path source (the application's engine) and platform-specific gems.
    const GEMFILE_LOCK: &str = "GIT
  remote: https://github.com/rails/rails-html-sanitizer.git
  revision: 1cb1c4a4e04b8cc4a6bde2f1ad0b4a68e2bd7c7c
  specs:
    rails-html-sanitizer (1.6.0)
      loofah (~> 2.21)
      nokogiri (~> 1.14)

PATH
  remote: engines/billing
  specs:
    billing (0.1.0)
      rails (>= 7.0)

GEM
  remote: https://rubygems.org/
  specs:
    actionpack (7.0.4)
      actionview (= 7.0.4)
      activesupport (= 7.0.4)
      rack (~> 2.0, >= 2.2.0)
    loofah (2.21.3)
      crass (~> 1.0.2)
      nokogiri (>= 1.12.0)
    nokogiri (1.13.10-x86_64-linux)
      racc (~> 1.4)
    nokogiri (1.13.10-aarch64-linux)
      racc (~> 1.4)
    rack (2.2.4)
    racc (1.6.2)

PLATFORMS
  aarch64-linux
  x86_64-linux

DEPENDENCIES
  actionpack (= 7.0.4)
  billing!
  rails-html-sanitizer!

BUNDLED WITH
   2.4.10
";

    #[test]
    fn gemfile_lock() {
        let found = parse_gemfile_lock("srv/app/Gemfile.lock", GEMFILE_LOCK.as_bytes()).unwrap();
        let mut got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                ("actionpack", "7.0.4"),
                ("loofah", "2.21.3"),
                ("nokogiri", "1.13.10"),
                ("racc", "1.6.2"),
                ("rack", "2.2.4"),
                ("rails-html-sanitizer", "1.6.0"),
            ]
        );
        assert!(found.packages.iter().all(|p| p.ecosystem == Ecosystem::Gem
            && p.locations[0].evidence == Evidence::Declared
            && p.locations[0].path == "srv/app/Gemfile.lock"));
    }

    #[test]
    fn bad_gemfile_locks() {
        assert!(parse_gemfile_lock("Gemfile.lock", b"").is_err());
        assert!(parse_gemfile_lock("Gemfile.lock", b"   just indented\n").is_err());
        let found = parse_gemfile_lock(
            "Gemfile.lock",
            b"GEM\n  specs:\n    ok (1.0)\n    broken (1.0\n    (2.0)\n    caf\xe9 (3.0)\n",
        )
        .unwrap();
        let names: Vec<&str> = found.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["ok", "caf\u{fffd}"]);
    }
}
