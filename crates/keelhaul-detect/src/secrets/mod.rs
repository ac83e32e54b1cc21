//! Secret detection: credentials in file contents and in the image config.
//!
//! A [`SecretScanner`] holds keelhaul's builtin rules (see `docs/secrets.md`) plus any
//! custom rules and allow rules from a TOML or YAML file. Scanning is two-staged so that
//! it stays fast on large images:
//!
//! 1. one Aho-Corasick automaton over every rule's keywords (ASCII case-insensitive)
//!    finds which rules can possibly match; a rule's regex never runs on content without
//!    one of its keywords;
//! 2. the selected rules' regexes (the `regex` crate: linear time, whatever the input)
//!    find candidates, which then pass entropy, placeholder and allow checks.
//!
//! Findings carry a redacted excerpt: never the whole secret.

mod config;
mod rules;
mod text;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use keelhaul_core::{SecretFinding, Severity};
use regex::bytes::{Regex, RegexBuilder};
use sha2::{Digest as _, Sha256};

use rules::{BUILTIN, Check};
use text::Glob;

/// Version of the builtin rules; bump whenever [`SecretScanner::builtin`] changes what it
/// reports (it keys the layer cache through [`SecretScanner::fingerprint`]).
pub const RULES_VERSION: u32 = 2;

/// Default cap on the size of files [`SecretScanner::wants`] accepts: 10 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Bytes inspected for a NUL byte to tell binary from text.
const BINARY_SNIFF: usize = 8 * 1024;

/// Candidate matches examined per rule and file; bounds work on adversarial files.
const MAX_CANDIDATES_PER_RULE: usize = 10_000;

/// Why a custom rule file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read secret rules {}: {source}", path.display())]
    Io {
        /// The rule file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The extension is neither `.toml` nor `.yaml`/`.yml`.
    #[error("secret rules {}: unsupported format (use .toml, .yaml or .yml)", path.display())]
    Format {
        /// The rule file.
        path: PathBuf,
    },
    /// The file is not valid TOML/YAML or does not follow the schema (unknown keys…).
    #[error("secret rules {}{}: {message}", path.display(), fmt_line(*line))]
    Parse {
        /// The rule file.
        path: PathBuf,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A rule or allow rule is invalid (bad regex, bad id, no keywords…).
    #[error("secret rules {}{}: rule `{rule}`: {message}", path.display(), fmt_line(*line))]
    InvalidRule {
        /// The rule file.
        path: PathBuf,
        /// The rule id (for allow rules: `allow[N]`).
        rule: String,
        /// 1-based line of the rule, when found.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn fmt_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// One compiled rule.
#[derive(Debug)]
struct Rule {
    id: String,
    title: String,
    severity: Severity,
    regex: Regex,
    group: usize,
    entropy: Option<f64>,
    paths: Vec<Glob>,
    check: Check,
    generic: bool,
    line_of_match: bool,
}

impl Rule {
    fn applies_to(&self, path: &str) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|g| g.matches(path))
    }
}

/// One allow rule: a finding is dropped when every given field matches.
#[derive(Debug)]
struct Allow {
    rule: Option<String>,
    path: Option<Glob>,
    regex: Option<Regex>,
}

/// Finds credentials in files and in the image config. Build once, share across threads.
#[derive(Debug)]
pub struct SecretScanner {
    rules: Vec<Rule>,
    /// Keyword automaton; pattern `i` triggers the rules in `keyword_rules[i]`.
    keywords: AhoCorasick,
    keyword_rules: Vec<Vec<usize>>,
    allows: Vec<Allow>,
    max_file_size: u64,
    /// Canonical text of the custom configuration (empty for builtin only).
    custom: String,
}

/// Allowances every scanner has: URL credentials and JWTs inside installed packages' own
/// sources are doc-string examples (werkzeug's `uri_to_iri`, PyJWT's README,
/// hosted-git-info's comments), not an image's leaked credentials. Specific token rules
/// (AWS, GitHub, …) still apply there.
fn builtin_allows() -> Vec<Allow> {
    const RULES: &[&str] = &["password-in-url", "jwt"];
    const TREES: &[&str] = &[
        "**/site-packages/**",
        "**/dist-packages/**",
        "**/node_modules/**",
        "**/gems/**",
    ];
    RULES
        .iter()
        .flat_map(|rule| {
            TREES.iter().filter_map(move |tree| {
                Some(Allow {
                    rule: Some((*rule).to_owned()),
                    path: Some(Glob::new(tree).ok()?),
                    regex: None,
                })
            })
        })
        .collect()
}

/// Packaging roots under which test/example directories hold upstream test fixtures.
const PACKAGE_ROOTS: &[&str] = &[
    "node_modules/",
    "site-packages/",
    "dist-packages/",
    "usr/share/",
    "usr/lib/python",
    "usr/local/lib/python",
    "usr/lib/ruby/",
    "usr/local/lib/ruby/",
    "gems/",
    "go/pkg/mod/",
    "usr/local/go/",
    "usr/lib/go",
];

/// Directory names of test fixtures and examples inside packages.
const FIXTURE_DIRS: &[&str] = &[
    "test",
    "tests",
    "testdata",
    "testing",
    "fixtures",
    "__fixtures__",
    "__tests__",
    "examples",
    "example",
    "spec",
];

/// Trees that only ever hold documentation, translations or time zones.
const NOISE_PREFIXES: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
    "usr/share/zoneinfo/",
    "usr/share/i18n/",
    "usr/share/icons/",
    "usr/share/fonts/",
    "usr/share/mime/",
];

/// Extensions of files that are binary or compressed (lowercase, with the dot).
const BINARY_EXTENSIONS: &[&str] = &[
    ".so", ".a", ".o", ".ko", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".bmp", ".webp", ".tif",
    ".tiff", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".gz", ".tgz", ".bz2", ".xz", ".zst",
    ".lz4", ".zip", ".jar", ".war", ".ear", ".whl", ".egg", ".pyc", ".pyo", ".mo", ".class",
    ".exe", ".dll", ".dylib", ".pdf", ".mp3", ".mp4", ".ogg", ".wav", ".wasm", ".deb", ".rpm",
    ".apk", ".db", ".sqlite", ".pack", ".idx", ".bin", ".dat",
];

/// Whether `path` is a test-fixture/example directory of an installed package.
fn is_package_fixture(path: &str) -> bool {
    let Some(root_at) = PACKAGE_ROOTS
        .iter()
        .filter_map(|r| {
            path.match_indices(r)
                .find(|(i, _)| *i == 0 || path.as_bytes()[i - 1] == b'/')
                .map(|(i, _)| i + r.len())
        })
        .min()
    else {
        return false;
    };
    let below = &path[root_at..];
    let mut segments: Vec<&str> = below.split('/').collect();
    let name = segments.pop().unwrap_or_default().to_ascii_lowercase();
    TEST_FILE_SUFFIXES.iter().any(|s| name.ends_with(s))
        || (name.starts_with("test_") && name.ends_with(".py"))
        || segments
            .iter()
            .any(|s| FIXTURE_DIRS.contains(&s.to_ascii_lowercase().as_str()))
}

/// Test source files of a package (`x_test.go`, `x.spec.js`…).
const TEST_FILE_SUFFIXES: &[&str] = &[
    "_test.go",
    "_test.py",
    "_test.rb",
    "_spec.rb",
    ".test.js",
    ".spec.js",
    ".test.ts",
    ".spec.ts",
    ".test.mjs",
    ".test.cjs",
];

fn has_binary_extension(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if BINARY_EXTENSIONS.iter().any(|e| name.ends_with(e)) {
        return true;
    }
    // versioned shared objects: libfoo.so.1.2
    name.contains(".so.")
        && name
            .rsplit(".so.")
            .next()
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Whether content looks binary: a NUL byte near the start.
fn looks_binary(content: &[u8]) -> bool {
    content[..content.len().min(BINARY_SNIFF)].contains(&0)
}

fn compile(pattern: &str, unicode: bool) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(unicode)
        .size_limit(32 * 1024 * 1024)
        .build()
}

/// A finding before it becomes a [`SecretFinding`].
struct Hit {
    rule: usize,
    line: u32,
    excerpt: String,
}

/// Lazily built line index of one content buffer.
struct Lines<'a> {
    content: &'a [u8],
    newlines: Option<Vec<usize>>,
}

impl Lines<'_> {
    fn line_of(&mut self, at: usize) -> u32 {
        let content = self.content;
        let nl = self.newlines.get_or_insert_with(|| {
            content
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect()
        });
        let before = nl.partition_point(|&p| p < at);
        u32::try_from(before + 1).unwrap_or(u32::MAX)
    }
}

impl SecretScanner {
    /// keelhaul's builtin rules and allowances.
    pub fn builtin() -> SecretScanner {
        let mut rules = Vec::with_capacity(BUILTIN.len());
        let mut keywords = Vec::new();
        for b in BUILTIN {
            // builtin patterns are tested; a failure here is a programming error
            let regex = match compile(b.regex, false) {
                Ok(r) => r,
                Err(e) => panic!("builtin secret rule {} does not compile: {e}", b.id),
            };
            let paths = b
                .paths
                .iter()
                .filter_map(|p| Glob::new(p).ok())
                .collect::<Vec<_>>();
            let idx = rules.len();
            rules.push(Rule {
                id: b.id.to_string(),
                title: b.title.to_string(),
                severity: b.severity,
                regex,
                group: b.group,
                entropy: b.entropy,
                paths,
                check: b.check,
                generic: b.generic,
                line_of_match: b.line_of_match,
            });
            keywords.extend(b.keywords.iter().map(|k| (k.to_string(), idx)));
        }
        Self::assemble(
            rules,
            keywords,
            Vec::new(),
            DEFAULT_MAX_FILE_SIZE,
            String::new(),
        )
    }

    /// Builtin rules plus the custom rules, allow rules and settings of a TOML (`.toml`)
    /// or YAML (`.yaml`, `.yml`) file:
    ///
    /// ```toml
    /// max_file_size = 5242880          # optional, bytes
    /// disable = ["jwt"]                # optional, builtin rule ids
    ///
    /// [[rules]]
    /// id = "acme-api-token"            # kebab-case, unique
    /// title = "ACME API token"
    /// severity = "high"                # critical, high, medium, low, negligible, unknown
    /// keywords = ["acme_"]             # at least one; the regex only runs when one occurs
    /// regex = '''acme_[a-z0-9]{32}'''
    /// secret_group = 0                 # optional capture group of the secret (default 0)
    /// entropy = 3.0                    # optional minimum Shannon entropy, bits/char
    /// paths = ["*.env", "etc/acme/**"] # optional globs
    ///
    /// [[allow]]                        # drops findings matching every given field
    /// rule = "jwt"                     # optional rule id
    /// path = "srv/app/fixtures/**"     # optional glob
    /// regex = "^eyJhbGciOiJub25l"      # optional regex on the secret
    /// ```
    pub fn from_config(path: &Path) -> Result<SecretScanner, SecretError> {
        let (cfg, text) = config::load(path)?;
        let base = SecretScanner::builtin();
        let mut rules = base.rules;
        let mut keywords: Vec<(String, usize)> = Vec::new();
        for b in BUILTIN {
            let Some(idx) = rules.iter().position(|r| r.id == b.id) else {
                continue;
            };
            keywords.extend(b.keywords.iter().map(|k| (k.to_string(), idx)));
        }
        for id in &cfg.disable {
            if !BUILTIN.iter().any(|b| b.id == id) {
                return Err(config::invalid(
                    path,
                    &text,
                    id,
                    "`disable` names no builtin rule",
                ));
            }
        }
        let id_ok = |id: &str| {
            !id.is_empty()
                && id.split('-').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        };
        for spec in &cfg.rules {
            let err = |m: String| config::invalid(path, &text, &spec.id, m);
            if !id_ok(&spec.id) {
                return Err(err("id must be kebab-case (a-z, 0-9, -)".into()));
            }
            if rules.iter().any(|r| r.id == spec.id) {
                return Err(err("duplicate rule id (or the id of a builtin rule)".into()));
            }
            let keys: Vec<String> = spec
                .keywords
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .filter(|k| !k.is_empty())
                .collect();
            if keys.is_empty() {
                return Err(err("needs at least one non-empty keyword".into()));
            }
            let regex = compile(&spec.regex, true).map_err(|e| err(format!("bad regex: {e}")))?;
            let group = spec.secret_group.unwrap_or(0);
            if group >= regex.captures_len() {
                return Err(err(format!(
                    "secret_group {group} but the regex has {} group(s)",
                    regex.captures_len() - 1
                )));
            }
            if let Some(e) = spec.entropy
                && !(0.0..=8.0).contains(&e)
            {
                return Err(err(
                    "entropy must be between 0 and 8 bits per character".into()
                ));
            }
            let paths = spec
                .paths
                .iter()
                .map(|p| Glob::new(p).map_err(|e| err(format!("bad path glob {p:?}: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            let idx = rules.len();
            rules.push(Rule {
                id: spec.id.clone(),
                title: spec.title.clone(),
                severity: spec.severity,
                regex,
                group,
                entropy: spec.entropy,
                paths,
                check: Check::Plain,
                generic: false,
                line_of_match: false,
            });
            keywords.extend(keys.into_iter().map(|k| (k, idx)));
        }
        let mut allows = Vec::new();
        for (n, spec) in cfg.allow.iter().enumerate() {
            let name = format!("allow[{n}]");
            let err = |m: String| SecretError::InvalidRule {
                path: path.to_path_buf(),
                rule: name.clone(),
                line: None,
                message: m,
            };
            if spec.rule.is_none() && spec.path.is_none() && spec.regex.is_none() {
                return Err(err("needs at least one of rule, path, regex".into()));
            }
            if let Some(r) = &spec.rule
                && !rules.iter().any(|x| &x.id == r)
            {
                return Err(err(format!("unknown rule id `{r}`")));
            }
            let glob = match &spec.path {
                Some(p) => Some(Glob::new(p).map_err(|e| err(format!("bad path glob: {e}")))?),
                None => None,
            };
            let regex = match &spec.regex {
                Some(r) => Some(compile(r, true).map_err(|e| err(format!("bad regex: {e}")))?),
                None => None,
            };
            allows.push(Allow {
                rule: spec.rule.clone(),
                path: glob,
                regex,
            });
        }
        // disabled rules keep their slot (indices stay valid) but lose their keywords
        let disabled: HashSet<usize> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| cfg.disable.contains(&r.id))
            .map(|(i, _)| i)
            .collect();
        keywords.retain(|(_, i)| !disabled.contains(i));
        let custom = serde_json::to_string(&cfg).unwrap_or_default();
        Ok(Self::assemble(
            rules,
            keywords,
            allows,
            cfg.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
            custom,
        ))
    }

    fn assemble(
        rules: Vec<Rule>,
        keywords: Vec<(String, usize)>,
        allows: Vec<Allow>,
        max_file_size: u64,
        custom: String,
    ) -> SecretScanner {
        let allows: Vec<Allow> = builtin_allows().into_iter().chain(allows).collect();
        // one pattern per distinct keyword, mapped to every rule that uses it
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (k, idx) in keywords {
            match patterns.iter().position(|p| *p == k) {
                Some(i) => {
                    if !keyword_rules[i].contains(&idx) {
                        keyword_rules[i].push(idx);
                    }
                }
                None => {
                    patterns.push(k);
                    keyword_rules.push(vec![idx]);
                }
            }
        }
        let build = |kind| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(kind)
                .build(&patterns)
        };
        // a DFA is fastest; fall back to the default if it would be too big
        let keywords = match build(Some(AhoCorasickKind::DFA)).or_else(|_| build(None)) {
            Ok(ac) => ac,
            Err(e) => panic!("secret keyword automaton: {e}"),
        };
        SecretScanner {
            rules,
            keywords,
            keyword_rules,
            allows,
            max_file_size,
            custom,
        }
    }

    /// The same scanner with another file size cap for [`SecretScanner::wants`].
    pub fn with_max_file_size(mut self, bytes: u64) -> SecretScanner {
        self.max_file_size = bytes;
        self
    }

    /// Number of rules (builtin and custom, including disabled ones).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Identifies the rule set: changes whenever the builtin rules ([`RULES_VERSION`]),
    /// the custom rules, the allow rules or the size cap change.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!("keelhaul-secrets/{RULES_VERSION}/{}\n", self.max_file_size).as_bytes());
        h.update(self.custom.as_bytes());
        format!(
            "secrets-v{RULES_VERSION}-{}",
            &hex::encode(h.finalize())[..16]
        )
    }

    /// Cheap prefilter on path and size only: false for files over the size cap, binary
    /// extensions, documentation/locale/zoneinfo trees, test fixtures inside installed
    /// packages and paths allowed by a path-only custom allow rule.
    pub fn wants(&self, path: &str, size: u64) -> bool {
        let path = crate::normalize_path(path);
        if size > self.max_file_size || path.is_empty() {
            return false;
        }
        if NOISE_PREFIXES.iter().any(|p| path.starts_with(p)) || has_binary_extension(path) {
            return false;
        }
        !self.path_allowed(path)
    }

    /// Whole-file allowances: package fixtures and path-only allow rules.
    fn path_allowed(&self, path: &str) -> bool {
        is_package_fixture(path)
            || self.allows.iter().any(|a| {
                a.rule.is_none()
                    && a.regex.is_none()
                    && a.path.as_ref().is_some_and(|g| g.matches(path))
            })
    }

    /// Scans one file's content. Binary content (a NUL byte in the first 8 KiB) yields
    /// nothing; invalid UTF-8 and text without line breaks are scanned.
    pub fn scan(&self, path: &str, content: &[u8]) -> Vec<SecretFinding> {
        let path = crate::normalize_path(path);
        if self.path_allowed(path) || looks_binary(content) {
            return Vec::new();
        }
        self.scan_text(path, path, content)
            .into_iter()
            .map(|h| self.finding(h, path, true))
            .collect()
    }

    /// Scans the image config: each `Env` entry, each label (as `key=value`) and each
    /// history `created_by`, reported as `config:Env`, `config:Labels` and
    /// `config:history[N]` (N 0-based). They are scanned as `.env`-style text, so the
    /// generic `key=value` rules apply. `line` is the 1-based entry number for `Env` and
    /// `Labels`, and the line within the command for history.
    pub fn scan_config(
        &self,
        env: &[String],
        labels: &BTreeMap<String, String>,
        history: &[String],
    ) -> Vec<SecretFinding> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (i, entry) in env.iter().enumerate() {
            for h in self.scan_text(".env", "config:Env", entry.as_bytes()) {
                if seen.insert((h.rule, "Env", i)) {
                    let mut f = self.finding(h, "config:Env", false);
                    f.line = u32::try_from(i + 1).ok();
                    out.push(f);
                }
            }
        }
        for (i, (k, v)) in labels.iter().enumerate() {
            let entry = format!("{k}={v}");
            for h in self.scan_text(".env", "config:Labels", entry.as_bytes()) {
                if seen.insert((h.rule, "Labels", i)) {
                    let mut f = self.finding(h, "config:Labels", false);
                    f.line = u32::try_from(i + 1).ok();
                    out.push(f);
                }
            }
        }
        for (i, cmd) in history.iter().enumerate() {
            let path = format!("config:history[{i}]");
            for h in self.scan_text(".env", &path, cmd.as_bytes()) {
                out.push(self.finding(h, &path, true));
            }
        }
        out
    }

    fn finding(&self, h: Hit, path: &str, with_line: bool) -> SecretFinding {
        let rule = &self.rules[h.rule];
        SecretFinding {
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            path: path.to_string(),
            layer: None,
            line: with_line.then_some(h.line),
            excerpt: h.excerpt,
        }
    }

    /// Core scan: `filter_path` selects path-limited rules and allow rules apply to
    /// `report_path`.
    fn scan_text(&self, filter_path: &str, report_path: &str, content: &[u8]) -> Vec<Hit> {
        let eligible: Vec<bool> = self
            .rules
            .iter()
            .map(|r| r.applies_to(filter_path))
            .collect();
        let wanted = eligible.iter().filter(|e| **e).count();
        let mut triggered = vec![false; self.rules.len()];
        let mut count = 0;
        for m in self.keywords.find_overlapping_iter(content) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                if eligible[r] && !triggered[r] {
                    triggered[r] = true;
                    count += 1;
                }
            }
            if count == wanted {
                break;
            }
        }
        if count == 0 {
            return Vec::new();
        }
        let mut lines = Lines {
            content,
            newlines: None,
        };
        let mut hits: Vec<Hit> = Vec::new();
        let mut seen: HashSet<(usize, u32)> = HashSet::new();
        for (idx, rule) in self.rules.iter().enumerate() {
            if !triggered[idx] {
                continue;
            }
            for caps in rule
                .regex
                .captures_iter(content)
                .take(MAX_CANDIDATES_PER_RULE)
            {
                let (Some(whole), Some(secret)) = (caps.get(0), caps.get(rule.group)) else {
                    continue;
                };
                if !self.accept(rule, &caps, secret.as_bytes(), report_path) {
                    continue;
                }
                let anchor = if rule.line_of_match {
                    whole.start()
                } else {
                    secret.start()
                };
                let line = lines.line_of(anchor);
                if !seen.insert((idx, line)) {
                    continue;
                }
                hits.push(Hit {
                    rule: idx,
                    line,
                    excerpt: text::excerpt(content, anchor, secret.start(), secret.end()),
                });
            }
        }
        // generic rules yield to specific ones (and to each other) on the same line
        let specific_lines: HashSet<u32> = hits
            .iter()
            .filter(|h| !self.rules[h.rule].generic)
            .map(|h| h.line)
            .collect();
        let mut generic_lines = HashSet::new();
        hits.retain(|h| {
            !self.rules[h.rule].generic
                || (!specific_lines.contains(&h.line) && generic_lines.insert(h.line))
        });
        hits.sort_by_key(|h| (h.line, h.rule));
        hits
    }

    /// Post-regex checks of one candidate.
    fn accept(
        &self,
        rule: &Rule,
        caps: &regex::bytes::Captures<'_>,
        secret: &[u8],
        path: &str,
    ) -> bool {
        if secret.is_empty() || text::is_placeholder(secret) {
            return false;
        }
        if let Some(min) = rule.entropy
            && text::entropy(secret) < min
        {
            return false;
        }
        let ok = match rule.check {
            Check::Plain => true,
            Check::Jwt => jwt_header_ok(secret),
            Check::KeyValue | Check::KeyValueDigit => {
                let key_ok = caps
                    .get(1)
                    .is_none_or(|k| text::key_is_secret(k.as_bytes()));
                key_ok
                    && text::value_is_literal(secret)
                    && (rule.check == Check::KeyValue || secret.iter().any(u8::is_ascii_digit))
            }
            Check::UrlPassword => {
                url_password_ok(secret)
                    && !caps.get(0).is_some_and(|m| url_host_reserved(m.as_bytes()))
            }
        };
        ok && !self.allows.iter().any(|a| {
            a.rule.as_ref().is_none_or(|r| *r == rule.id)
                && a.path.as_ref().is_none_or(|g| g.matches(path))
                && a.regex.as_ref().is_none_or(|re| re.is_match(secret))
        })
    }

    /// The builtin rules as a markdown table (the content of `docs/secrets.md`).
    pub fn builtin_rules_markdown() -> String {
        let mut out = String::from("| id | title | severity | matches |\n|---|---|---|---|\n");
        for b in BUILTIN {
            let sev = serde_json::to_value(b.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let paths = if b.paths.is_empty() {
                String::new()
            } else {
                format!(
                    " (files: {})",
                    b.paths
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {}{} |\n",
                b.id,
                b.title,
                sev,
                b.matches.replace('|', "\\|"),
                paths
            ));
        }
        out
    }
}

/// A JWT's first segment must be a JSON JOSE header.
fn jwt_header_ok(token: &[u8]) -> bool {
    let header = token.split(|&b| b == b'.').next().unwrap_or_default();
    text::base64url_decode(header).is_some_and(|h| {
        let h = String::from_utf8_lossy(&h);
        h.trim_start().starts_with('{') && h.contains("\"alg\"")
    })
}

/// Words used in documentation URLs instead of a password.
const URL_PASSWORD_FILLERS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "token",
    "xxx",
    "***",
    "...",
    "user",
    "username",
    "root",
    "mypassword",
    "yourpassword",
    "foo",
    "bar",
    "baz",
    "test",
];

/// The URL's host is a documentation domain (RFC 2606/6761: `example.com`, `*.example`,
/// `*.test`, `*.invalid`): the credentials are an illustration.
fn url_host_reserved(url: &[u8]) -> bool {
    let host = url.rsplit(|&b| b == b'@').next().unwrap_or_default();
    let host = host
        .split(|&b| b == b':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let host = host.strip_suffix(b".").unwrap_or(&host);
    [b"example.com".as_slice(), b"example.net", b"example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&[b".", *d].concat()))
        || [b".example".as_slice(), b".test", b".invalid", b".faketld"]
            .iter()
            .any(|t| host.ends_with(t))
        || host == b"example"
}

fn url_password_ok(secret: &[u8]) -> bool {
    let lower = secret.to_ascii_lowercase();
    if URL_PASSWORD_FILLERS.iter().any(|f| f.as_bytes() == lower) {
        return false;
    }
    // `host:port@…` read as user:password
    if secret.len() <= 5 && secret.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // a single char, or `*` masking
    secret.len() >= 3 && !secret.iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests;
