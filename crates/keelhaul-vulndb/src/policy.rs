//! Finding policy: which findings are shown and which ones fail the build.
//!
//! A [`Policy`] combines four filters, checked per finding in this order (the first that
//! applies is recorded as the [`SuppressionReason`]):
//!
//! 1. **Severity** (`--severity LIST`, see [`parse_severities`]): keep only findings whose
//!    severity is in the set.
//! 2. **Unfixed** (`--ignore-unfixed`): drop findings whose [`FixStatus`] is not `Fixed`
//!    (affected, will-not-fix, deferred, end-of-life, no-dsa, unimportant).
//! 3. **Ignore file** (`.keelhaul.yaml`, see [`IgnoreFile`]): user-written rules by
//!    vulnerability id, optionally narrowed by package and path, optionally expiring.
//! 4. **OpenVEX** documents (see [`VexDocument`]): statements saying a product is
//!    `not_affected` by, or `fixed` for, a vulnerability.
//!
//! The generic filters come first (as in Trivy) so that an explicit decision is only
//! reported when it is what actually hid the finding. Kept findings keep their input order.
//!
//! ```
//! use keelhaul_vulndb::policy::{parse_severities, Policy};
//! use keelhaul_core::Severity;
//! let mut policy = Policy::new(time::macros::date!(2026 - 01 - 01));
//! policy.severities = Some(parse_severities("high+").unwrap());
//! assert!(policy.severities.as_ref().unwrap().contains(&Severity::Critical));
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use keelhaul_core::{FixStatus, Severity, Vulnerability};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::{Date, OffsetDateTime};

/// The ignore file [`IgnoreFile::discover`] looks for.
pub const IGNORE_FILE_NAME: &str = ".keelhaul.yaml";

/// A policy input that cannot be used: a bad severity list, ignore file or VEX document.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A `--severity` word that is not a severity.
    #[error(
        "unknown severity {0:?}; use one of unknown, negligible, low, medium, high, critical \
         (comma-separated; a trailing `+` means that severity and above, e.g. `high+`)"
    )]
    UnknownSeverity(String),
    /// A `--severity` list with no severities in it.
    #[error(
        "empty severity list; use one or more of unknown, negligible, low, medium, high, critical"
    )]
    EmptySeverities,
    /// A policy file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The ignore file is not valid (syntax, unknown key, missing `id`, bad date…).
    #[error("invalid ignore file{}: {message}", origin(path))]
    IgnoreFile {
        /// The file, when it was read from one.
        path: Option<PathBuf>,
        /// What is wrong, with the line where the YAML parser knows it.
        message: String,
    },
    /// A VEX document is not valid OpenVEX.
    #[error("invalid OpenVEX document{}: {message}", origin(path))]
    Vex {
        /// The file, when it was read from one.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
}

fn origin(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Severity list
// ---------------------------------------------------------------------------------------------

/// Parses a `--severity` list such as `HIGH,CRITICAL` into the exact set of severities to keep.
///
/// Like Trivy's `--severity`, the list is a set, not a threshold: `high` keeps only high
/// findings. As a shorthand, a word with a trailing `+` means that severity and everything
/// above it: `medium+` is `medium,high,critical`, `unknown+` is everything. Words are
/// case-insensitive and only the six canonical names are accepted (no vendor synonyms such
/// as `important`), so the error can list every valid word. Blank items (`high,,critical`)
/// are skipped; a list with no severities at all is an error.
pub fn parse_severities(list: &str) -> Result<BTreeSet<Severity>, PolicyError> {
    let mut set = BTreeSet::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (word, and_above) = match item.strip_suffix('+') {
            Some(word) => (word.trim_end(), true),
            None => (item, false),
        };
        let severity = Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| PolicyError::UnknownSeverity(item.to_owned()))?;
        if and_above {
            set.extend(Severity::ALL.into_iter().filter(|s| *s >= severity));
        } else {
            set.insert(severity);
        }
    }
    if set.is_empty() {
        return Err(PolicyError::EmptySeverities);
    }
    Ok(set)
}

// ---------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------

/// What to show: the severity set, `--ignore-unfixed`, the ignore file and VEX documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Keep only these severities (`None`: all).
    pub severities: Option<BTreeSet<Severity>>,
    /// Drop findings without a fix (status other than [`FixStatus::Fixed`]).
    pub ignore_unfixed: bool,
    /// User rules from `.keelhaul.yaml`.
    pub ignore: IgnoreFile,
    /// OpenVEX documents, in the order given (a later document wins a timestamp tie).
    pub vex: Vec<VexDocument>,
    /// The date ignore-rule expiry is judged against (passed in so runs are reproducible).
    pub today: Date,
}

/// A finding the policy hid, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    /// The finding, unchanged.
    pub finding: Vulnerability,
    /// The first filter that hid it.
    pub reason: SuppressionReason,
}

/// Why a finding was hidden.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Its severity is not in the `--severity` set.
    Severity,
    /// `--ignore-unfixed` and no fix is available.
    Unfixed,
    /// An ignore-file rule matched.
    Ignored {
        /// 0-based index of the rule in [`IgnoreFile::rules`].
        rule: usize,
        /// The rule's `reason`.
        reason: Option<String>,
        /// The rule's `expires` date.
        #[serde(serialize_with = "serialize_opt_date")]
        expires: Option<Date>,
    },
    /// The latest applicable VEX statement says `not_affected` or `fixed`.
    Vex {
        /// The document's `@id`.
        doc: String,
        /// The statement's status (`not_affected` or `fixed`).
        status: VexStatus,
        /// The statement's justification label, if any.
        justification: Option<String>,
    },
}

fn serialize_opt_date<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    // time's own serde form for Date is a (year, ordinal) tuple; reports want `YYYY-MM-DD`.
    match date {
        Some(d) => s.serialize_some(&d.to_string()),
        None => s.serialize_none(),
    }
}

impl fmt::Display for SuppressionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuppressionReason::Severity => f.write_str("severity not selected"),
            SuppressionReason::Unfixed => f.write_str("no fix available"),
            SuppressionReason::Ignored { rule, reason, .. } => {
                write!(f, "ignore rule {}", rule + 1)?;
                match reason {
                    Some(r) => write!(f, ": {r}"),
                    None => Ok(()),
                }
            }
            SuppressionReason::Vex {
                doc,
                status,
                justification,
            } => {
                write!(f, "VEX {status}")?;
                if let Some(j) = justification {
                    write!(f, " ({j})")?;
                }
                write!(f, " in {doc}")
            }
        }
    }
}

impl Policy {
    /// A policy that keeps everything, judging expiry against `today`.
    pub fn new(today: Date) -> Policy {
        Policy {
            severities: None,
            ignore_unfixed: false,
            ignore: IgnoreFile::default(),
            vex: Vec::new(),
            today,
        }
    }

    /// Splits `findings` into (kept, suppressed, warnings).
    ///
    /// Kept and suppressed findings keep their input order. Warnings are one line each: one
    /// per expired ignore rule that matches a finding that is reported (so the message
    /// "the finding is reported again" is true), in rule order.
    pub fn apply(
        &self,
        findings: Vec<Vulnerability>,
    ) -> (Vec<Vulnerability>, Vec<Suppressed>, Vec<String>) {
        let vex = VexIndex::new(&self.vex);
        let mut kept = Vec::new();
        let mut suppressed = Vec::new();
        let mut expired_hits = BTreeSet::new();

        for finding in findings {
            match self.reason(&finding, &vex) {
                Some(reason) => suppressed.push(Suppressed { finding, reason }),
                None => {
                    for (index, rule) in self.ignore.rules.iter().enumerate() {
                        if !rule.is_active(self.today) && rule.matches(&finding) {
                            expired_hits.insert(index);
                        }
                    }
                    kept.push(finding);
                }
            }
        }

        let warnings = expired_hits
            .into_iter()
            .filter_map(|i| self.ignore.rules.get(i))
            .map(|rule| {
                let expires = rule.expires.map(|d| d.to_string()).unwrap_or_default();
                format!(
                    "ignore rule for {} expired on {expires}; the finding is reported again",
                    rule.id
                )
            })
            .collect();
        (kept, suppressed, warnings)
    }

    fn reason(&self, finding: &Vulnerability, vex: &VexIndex<'_>) -> Option<SuppressionReason> {
        if let Some(set) = &self.severities
            && !set.contains(&finding.severity)
        {
            return Some(SuppressionReason::Severity);
        }
        if self.ignore_unfixed && finding.status != FixStatus::Fixed {
            return Some(SuppressionReason::Unfixed);
        }
        if let Some((rule, r)) = self
            .ignore
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.is_active(self.today) && r.matches(finding))
        {
            return Some(SuppressionReason::Ignored {
                rule,
                reason: r.reason.clone(),
                expires: r.expires,
            });
        }
        vex.decide(finding)
    }
}

// ---------------------------------------------------------------------------------------------
// Ignore file
// ---------------------------------------------------------------------------------------------

/// The `.keelhaul.yaml` ignore file: a list of rules under `ignore:`.
///
/// ```yaml
/// ignore:
///   - id: CVE-2023-1234          # the finding's id or any alias (required)
///     package: openssl           # optional: package name, or a purl (`pkg:…`)
///     path: /usr/lib/python3*/   # optional: glob on the finding's path
///     reason: not reachable in our build
///     expires: 2027-01-31        # optional: the rule applies up to and including this day
/// ```
///
/// Unknown keys are errors, so a misspelt key cannot silently make a rule match more (or
/// nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IgnoreFile {
    /// The rules, in file order.
    pub rules: Vec<IgnoreRule>,
    /// The file they were read from, if any.
    pub path: Option<PathBuf>,
}

/// One ignore rule. All given conditions must hold for the rule to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// A vulnerability id, compared case-insensitively with the finding's id and aliases.
    pub id: String,
    /// A package name (exact), or a purl: when it starts with `pkg:` it is compared by type,
    /// namespace and name (a rule purl ending in `/` is a prefix: `pkg:deb/debian/` matches
    /// every Debian package), and by version only when the rule's purl has one.
    /// Qualifiers and subpath are ignored.
    pub package: Option<String>,
    /// A glob on the finding's path: `*` and `?` stay within a path segment, `**` crosses
    /// segments, a trailing `/` matches everything below that directory. Leading `/` is
    /// optional on both sides. A rule with a path never matches a finding without one.
    pub path: Option<String>,
    /// Why it is ignored, shown in reports.
    pub reason: Option<String>,
    /// Last day the rule applies; afterwards the finding is reported again, with a warning.
    pub expires: Option<Date>,
}

impl IgnoreRule {
    /// True on or before `expires` (or when there is no expiry).
    pub fn is_active(&self, today: Date) -> bool {
        self.expires.is_none_or(|e| today <= e)
    }

    /// True when the id, package and path conditions all hold (expiry is not considered).
    pub fn matches(&self, finding: &Vulnerability) -> bool {
        if !finding.ids().any(|id| id.eq_ignore_ascii_case(&self.id)) {
            return false;
        }
        if let Some(package) = &self.package
            && !package_matches(package, finding)
        {
            return false;
        }
        if let Some(pattern) = &self.path {
            match &finding.path {
                Some(path) if glob_matches(pattern, path) => {}
                _ => return false,
            }
        }
        true
    }
}

fn package_matches(want: &str, finding: &Vulnerability) -> bool {
    if !has_purl_scheme(want) {
        return want == finding.package.name;
    }
    let (Some(rule), Some(have)) = (Purl::parse(want), Purl::parse(&finding.package.purl)) else {
        return false;
    };
    if let Some(version) = &rule.version
        && have.version.as_ref() != Some(version)
    {
        return false;
    }
    // A rule ending in `/` names a whole type or namespace; otherwise match the exact package.
    let rule_base = rule.base();
    let have_base = have.base();
    if want
        .split(['@', '?', '#'])
        .next()
        .is_some_and(|s| s.ends_with('/'))
    {
        have_base.starts_with(&rule_base)
    } else {
        have_base == rule_base
    }
}

// YAML shape; `deny_unknown_fields` is what turns a typo into an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnoreFile {
    #[serde(default)]
    ignore: Option<Vec<RawIgnoreRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnoreRule {
    id: NonEmpty,
    #[serde(default)]
    package: Option<NonEmpty>,
    #[serde(default)]
    path: Option<NonEmpty>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<YamlDate>,
}

// Validated while deserializing so the YAML parser attaches the line to the error.
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom("value must not be empty"));
        }
        Ok(NonEmpty(s.trim().to_owned()))
    }
}

struct YamlDate(Date);

impl<'de> Deserialize<'de> for YamlDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(s.trim(), &format)
            .map(YamlDate)
            .map_err(|e| serde::de::Error::custom(format!("expires {s:?} is not YYYY-MM-DD: {e}")))
    }
}

impl IgnoreFile {
    /// Parses ignore-file YAML. An empty document means no rules.
    pub fn from_yaml(text: &str) -> Result<IgnoreFile, PolicyError> {
        parse_ignore(text, None)
    }

    /// Reads and parses an ignore file.
    pub fn load(path: &Path) -> Result<IgnoreFile, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        parse_ignore(&text, Some(path))
    }

    /// Loads `.keelhaul.yaml` from `dir` if it exists there.
    ///
    /// Only `dir` itself is looked at, never its parents: which rules apply must not depend
    /// on where above the project the scan happens to run. `Ok(None)` when there is no file.
    pub fn discover(dir: &Path) -> Result<Option<IgnoreFile>, PolicyError> {
        let path = dir.join(IGNORE_FILE_NAME);
        match std::fs::metadata(&path) {
            Ok(_) => IgnoreFile::load(&path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PolicyError::Io { path, source }),
        }
    }
}

fn parse_ignore(text: &str, path: Option<&Path>) -> Result<IgnoreFile, PolicyError> {
    let error = |message: String| PolicyError::IgnoreFile {
        path: path.map(Path::to_owned),
        message,
    };
    // An empty or comment-only file is a valid "no rules" file.
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..."
    });
    if !has_content {
        return Ok(IgnoreFile {
            rules: Vec::new(),
            path: path.map(Path::to_owned),
        });
    }
    // One line ("line 3 column 5: unknown field `pakage`, expected one of …"): the snippet
    // form labels the source `<input>`, which is misleading next to our file name.
    let raw: RawIgnoreFile = serde_saphyr::from_str(text).map_err(|e| {
        let message = e.without_snippet().to_string();
        error(
            message
                .strip_prefix("error: ")
                .unwrap_or(&message)
                .to_owned(),
        )
    })?;
    let rules = raw
        .ignore
        .unwrap_or_default()
        .into_iter()
        .map(|r| IgnoreRule {
            id: r.id.0,
            package: r.package.map(|p| p.0),
            path: r.path.map(|p| p.0),
            reason: r
                .reason
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            expires: r.expires.map(|d| d.0),
        })
        .collect();
    Ok(IgnoreFile {
        rules,
        path: path.map(Path::to_owned),
    })
}

// ---------------------------------------------------------------------------------------------
// Path globs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum GlobToken {
    Lit(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**` not followed by `/`: any run of characters.
    Any,
    /// `**/`: zero or more whole segments.
    Segments,
}

fn glob_tokens(pattern: &str) -> Vec<GlobToken> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                // A run of two or more stars is one `**` (`***` is not special).
                while chars.get(i) == Some(&'*') {
                    i += 1;
                }
                if chars.get(i) == Some(&'/') {
                    tokens.push(GlobToken::Segments);
                    i += 1;
                } else {
                    tokens.push(GlobToken::Any);
                }
            }
            '*' => {
                tokens.push(GlobToken::Star);
                i += 1;
            }
            '?' => {
                tokens.push(GlobToken::One);
                i += 1;
            }
            c => {
                tokens.push(GlobToken::Lit(c));
                i += 1;
            }
        }
    }
    tokens
}

/// Matches `path` against a glob (see [`IgnoreRule::path`]).
fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim().trim_start_matches('/');
    let path = path.trim_start_matches('/');
    let mut tokens = glob_tokens(pattern);
    // A trailing `/` means "this directory and everything below it".
    if pattern.ends_with('/') {
        tokens.push(GlobToken::Any);
    }
    let text: Vec<char> = path.chars().collect();
    let (t, n) = (tokens.len(), text.len());
    // matched[i][j]: tokens[i..] match text[j..]. Dynamic programming, so hostile patterns
    // cannot make matching exponential.
    let mut matched = vec![vec![false; n + 1]; t + 1];
    matched[t][n] = true;
    for i in (0..t).rev() {
        for j in (0..=n).rev() {
            let here = text.get(j).copied();
            matched[i][j] = match tokens[i] {
                GlobToken::Lit(c) => here == Some(c) && matched[i + 1][j + 1],
                GlobToken::One => here.is_some_and(|c| c != '/') && matched[i + 1][j + 1],
                GlobToken::Star => {
                    matched[i + 1][j] || (here.is_some_and(|c| c != '/') && matched[i][j + 1])
                }
                GlobToken::Any => matched[i + 1][j] || (here.is_some() && matched[i][j + 1]),
                GlobToken::Segments => {
                    matched[i + 1][j]
                        || (j + 1..=n).any(|k| text[k - 1] == '/' && matched[i + 1][k])
                }
            };
        }
    }
    matched[0][0]
}

// ---------------------------------------------------------------------------------------------
// Package URLs
// ---------------------------------------------------------------------------------------------

fn has_purl_scheme(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("pkg:"))
}

/// The parts of a purl that matching compares (qualifiers and subpath are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Purl {
    ty: String,
    namespace: String,
    name: String,
    version: Option<String>,
}

impl Purl {
    fn parse(s: &str) -> Option<Purl> {
        if !has_purl_scheme(s) {
            return None;
        }
        let rest = s.get(4..)?.trim_start_matches('/');
        let rest = rest.split('#').next().unwrap_or(rest);
        let rest = rest.split('?').next().unwrap_or(rest);
        // The version is after an `@` in the last segment (an npm scope `@org` is earlier).
        let last_slash = rest.rfind('/')?;
        let (path, version) = match rest[last_slash..].find('@') {
            Some(at) => {
                let at = last_slash + at;
                (&rest[..at], Some(percent_decode(&rest[at + 1..])))
            }
            None => (rest, None),
        };
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let ty = segments.first()?.to_ascii_lowercase();
        segments.remove(0);
        let name = percent_decode(segments.pop().unwrap_or_default());
        let namespace = segments
            .iter()
            .map(|s| percent_decode(s))
            .collect::<Vec<_>>()
            .join("/");
        let (namespace, name) = match ty.as_str() {
            // The purl spec makes these case-insensitive (pypi also folds `_` to `-`).
            "pypi" => (
                namespace.to_ascii_lowercase(),
                name.to_ascii_lowercase().replace(['_', '.'], "-"),
            ),
            "npm" | "github" | "bitbucket" | "deb" | "apk" => {
                (namespace.to_ascii_lowercase(), name.to_ascii_lowercase())
            }
            _ => (namespace, name),
        };
        Some(Purl {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
        })
    }

    /// `type/namespace/name`, normalized, for equality and prefix checks.
    fn base(&self) -> String {
        let mut out = self.ty.clone();
        for part in [&self.namespace, &self.name] {
            if !part.is_empty() {
                out.push('/');
                out.push_str(part);
            }
        }
        out
    }

    /// A statement/product purl matches a finding purl: same package, and same version when
    /// the statement names one.
    fn covers(&self, finding: &Purl) -> bool {
        self.ty == finding.ty
            && self.namespace == finding.namespace
            && self.name == finding.name
            && self
                .version
                .as_ref()
                .is_none_or(|v| finding.version.as_ref() == Some(v))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// OpenVEX
// ---------------------------------------------------------------------------------------------

/// An OpenVEX status label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// No remediation required: the vulnerability does not affect the product.
    NotAffected,
    /// The product is affected.
    Affected,
    /// These product versions contain a fix.
    Fixed,
    /// Not known yet.
    UnderInvestigation,
}

impl VexStatus {
    /// The OpenVEX spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    /// True for the statuses that hide a finding (`not_affected`, `fixed`).
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }

    fn parse(s: &str) -> Option<VexStatus> {
        match s {
            "not_affected" => Some(VexStatus::NotAffected),
            "affected" => Some(VexStatus::Affected),
            "fixed" => Some(VexStatus::Fixed),
            "under_investigation" => Some(VexStatus::UnderInvestigation),
            _ => None,
        }
    }
}

impl fmt::Display for VexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OpenVEX document (spec v0.2.0; the v0.0.x plain-string forms are also read).
///
/// Only what filtering needs is kept; other fields (`version`, `role`, `tooling`,
/// `supplier`, `action_statement`, hashes…) are accepted and ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct VexDocument {
    /// `@id`: the document's IRI.
    pub id: String,
    /// `author`.
    pub author: String,
    /// `timestamp`: when the document was issued; the default for its statements.
    pub timestamp: OffsetDateTime,
    /// `statements`, in document order.
    pub statements: Vec<VexStatement>,
}

/// One statement: products + vulnerability + status, at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct VexStatement {
    /// `vulnerability.name` (or the plain-string vulnerability of older documents).
    pub vulnerability: String,
    /// `vulnerability.aliases`.
    pub aliases: Vec<String>,
    /// `products`.
    pub products: Vec<VexProduct>,
    /// `status`.
    pub status: VexStatus,
    /// `justification` label (for `not_affected`).
    pub justification: Option<String>,
    /// `impact_statement` (free text).
    pub impact_statement: Option<String>,
    /// `timestamp`; `None` inherits the document's.
    pub timestamp: Option<OffsetDateTime>,
}

/// A product (or subcomponent) a statement is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexProduct {
    /// `@id` (often a purl), or the plain string of older documents.
    pub id: Option<String>,
    /// `identifiers.purl`.
    pub purl: Option<String>,
    /// `subcomponents` (always empty for a subcomponent itself).
    pub subcomponents: Vec<VexProduct>,
}

impl VexProduct {
    fn purls(&self) -> impl Iterator<Item = &str> {
        self.id
            .iter()
            .chain(self.purl.iter())
            .map(String::as_str)
            .filter(|s| has_purl_scheme(s))
    }
}

impl VexDocument {
    /// Parses an OpenVEX JSON document.
    ///
    /// Required: `@context` (an `https://openvex.dev/ns…` URL, so a CycloneDX or CSAF file is
    /// rejected rather than read as "no statements"), `@id`, `author`, `timestamp`
    /// (RFC 3339), and per statement `vulnerability`, a non-empty `products` list and a
    /// known `status`. Errors name the statement (1-based) and the field.
    pub fn from_json(text: &str) -> Result<VexDocument, PolicyError> {
        parse_vex(text).map_err(|message| PolicyError::Vex {
            path: None,
            message,
        })
    }

    /// Reads and parses an OpenVEX JSON file.
    pub fn load(path: &Path) -> Result<VexDocument, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        parse_vex(&text).map_err(|message| PolicyError::Vex {
            path: Some(path.to_owned()),
            message,
        })
    }
}

fn parse_vex(text: &str) -> Result<VexDocument, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = doc.as_object().ok_or("the document is not a JSON object")?;
    let context = required_str(obj, "@context", "document")?;
    if !context.starts_with("https://openvex.dev/ns") {
        return Err(format!(
            "`@context` is {context:?}, not an OpenVEX context (https://openvex.dev/ns…)"
        ));
    }
    let id = required_str(obj, "@id", "document")?.to_owned();
    let author = required_str(obj, "author", "document")?.to_owned();
    let timestamp = parse_timestamp(required_str(obj, "timestamp", "document")?, "document")?;
    let statements = obj
        .get("statements")
        .ok_or("document: missing `statements`")?
        .as_array()
        .ok_or("document: `statements` is not a list")?
        .iter()
        .enumerate()
        .map(|(i, s)| parse_statement(s).map_err(|e| format!("statement {}: {e}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VexDocument {
        id,
        author,
        timestamp,
        statements,
    })
}

type JsonMap = serde_json::Map<String, Value>;

fn required_str<'a>(obj: &'a JsonMap, key: &str, what: &str) -> Result<&'a str, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("{what}: missing `{key}`")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{what}: `{key}` is not a string")),
    }
}

fn optional_str(obj: &JsonMap, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not a string")),
    }
}

fn parse_timestamp(s: &str, what: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{what}: `timestamp` {s:?} is not RFC 3339: {e}"))
}

fn parse_statement(value: &Value) -> Result<VexStatement, String> {
    let obj = value.as_object().ok_or("not a JSON object")?;
    let (vulnerability, aliases) = match obj.get("vulnerability") {
        None | Some(Value::Null) => return Err("missing `vulnerability`".into()),
        Some(Value::String(s)) if !s.trim().is_empty() => (s.trim().to_owned(), Vec::new()),
        Some(Value::Object(v)) => {
            let name = required_str(v, "name", "`vulnerability`")?
                .trim()
                .to_owned();
            if name.is_empty() {
                return Err("`vulnerability.name` is empty".into());
            }
            let aliases = match v.get("aliases") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(|s| s.trim().to_owned())
                            .ok_or("`vulnerability.aliases` holds a non-string")
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err("`vulnerability.aliases` is not a list".into()),
            };
            (name, aliases)
        }
        Some(_) => {
            return Err("`vulnerability` is neither a name nor an object with `name`".into());
        }
    };
    let status_word = required_str(obj, "status", "statement")?;
    let status = VexStatus::parse(status_word).ok_or_else(|| {
        format!(
            "`status` {status_word:?} is not one of not_affected, affected, fixed, \
             under_investigation"
        )
    })?;
    // Products may be inherited from an encapsulating document in the spec; we read bare
    // OpenVEX only, so a statement without products could never match anything — say so.
    let products = match obj.get("products") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, p)| parse_product(p, true).map_err(|e| format!("product {}: {e}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(format!("{vulnerability}: no `products`"));
        }
        Some(_) => return Err("`products` is not a list".into()),
    };
    let timestamp = match obj.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_timestamp(s, "statement")?),
        Some(_) => return Err("`timestamp` is not a string".into()),
    };
    Ok(VexStatement {
        vulnerability,
        aliases,
        products,
        status,
        justification: optional_str(obj, "justification")?,
        impact_statement: optional_str(obj, "impact_statement")?,
        timestamp,
    })
}

fn parse_product(value: &Value, allow_subcomponents: bool) -> Result<VexProduct, String> {
    let obj = match value {
        // v0.0.x: products and subcomponents were plain identifiers.
        Value::String(s) => {
            return Ok(VexProduct {
                id: Some(s.trim().to_owned()),
                ..VexProduct::default()
            });
        }
        Value::Object(obj) => obj,
        _ => return Err("neither an identifier nor an object".into()),
    };
    let id = optional_str(obj, "@id")?;
    let purl = match obj.get("identifiers") {
        None | Some(Value::Null) => None,
        Some(Value::Object(ids)) => optional_str(ids, "purl")?,
        Some(_) => return Err("`identifiers` is not an object".into()),
    };
    let subcomponents = match obj.get("subcomponents") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if allow_subcomponents => items
            .iter()
            .enumerate()
            .map(|(i, c)| {
                parse_product(c, false).map_err(|e| format!("subcomponent {}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(_)) => return Err("a subcomponent has `subcomponents`".into()),
        Some(_) => return Err("`subcomponents` is not a list".into()),
    };
    Ok(VexProduct {
        id,
        purl,
        subcomponents,
    })
}

/// Statements indexed by lowercase vulnerability id and alias, built once per `apply`.
struct VexIndex<'a> {
    by_id: HashMap<String, Vec<Candidate<'a>>>,
}

#[derive(Clone, Copy)]
struct Candidate<'a> {
    doc: &'a VexDocument,
    statement: &'a VexStatement,
    // Input position, so the later of two equal timestamps wins deterministically.
    order: usize,
}

impl<'a> VexIndex<'a> {
    fn new(docs: &'a [VexDocument]) -> VexIndex<'a> {
        let mut by_id: HashMap<String, Vec<Candidate<'a>>> = HashMap::new();
        let mut order = 0;
        for doc in docs {
            for statement in &doc.statements {
                let names: BTreeSet<String> = std::iter::once(&statement.vulnerability)
                    .chain(&statement.aliases)
                    .map(|s| s.to_ascii_lowercase())
                    .collect();
                for name in names {
                    by_id.entry(name).or_default().push(Candidate {
                        doc,
                        statement,
                        order,
                    });
                }
                order += 1;
            }
        }
        VexIndex { by_id }
    }

    /// The latest statement naming the finding and covering its package decides.
    fn decide(&self, finding: &Vulnerability) -> Option<SuppressionReason> {
        if self.by_id.is_empty() {
            return None;
        }
        let purl = Purl::parse(&finding.package.purl)?;
        let covers = |product: &VexProduct| {
            product
                .purls()
                .chain(product.subcomponents.iter().flat_map(VexProduct::purls))
                .filter_map(Purl::parse)
                .any(|p| p.covers(&purl))
        };
        let latest = finding
            .ids()
            .filter_map(|id| self.by_id.get(&id.to_ascii_lowercase()))
            .flatten()
            .filter(|c| c.statement.products.iter().any(covers))
            .max_by_key(|c| (c.statement.timestamp.unwrap_or(c.doc.timestamp), c.order))?;
        latest
            .statement
            .status
            .suppresses()
            .then(|| SuppressionReason::Vex {
                doc: latest.doc.id.clone(),
                status: latest.statement.status,
                justification: latest.statement.justification.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keelhaul_core::{Ecosystem, FindingClass, PackageRef};
    use time::macros::{date, datetime};

    fn finding(id: &str, name: &str, purl: &str) -> Vulnerability {
        let version = purl
            .rsplit_once('@')
            .map(|(_, v)| v.split('?').next().unwrap_or(v).to_owned())
            .unwrap_or_default();
        Vulnerability {
            id: id.to_owned(),
            aliases: Vec::new(),
            package: PackageRef {
                name: name.to_owned(),
                version: version.clone(),
                ecosystem: Ecosystem::Deb,
                purl: purl.to_owned(),
            },
            installed_version: version,
            fixed_versions: vec!["9.9".to_owned()],
            status: FixStatus::Fixed,
            severity: Severity::High,
            severity_source: None,
            distro_severity: None,
            cvss: None,
            cwes: Vec::new(),
            known_exploited: false,
            class: FindingClass::Os,
            layer: None,
            path: None,
            title: None,
            url: None,
            sources: Vec::new(),
            published: None,
        }
    }

    fn openssl(id: &str) -> Vulnerability {
        finding(
            id,
            "openssl",
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
        )
    }

    fn err_text<T: fmt::Debug>(result: Result<T, PolicyError>) -> String {
        match result {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn today() -> Date {
        date!(2026 - 03 - 01)
    }

    fn ids(v: &[Vulnerability]) -> Vec<&str> {
        v.iter().map(|f| f.id.as_str()).collect()
    }

    // --- severities ------------------------------------------------------------------------

    #[test]
    fn severity_list_is_an_exact_set() -> Result<(), PolicyError> {
        let set = parse_severities("HIGH, critical")?;
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [Severity::High, Severity::Critical]
        );
        assert_eq!(
            parse_severities("low")?.into_iter().collect::<Vec<_>>(),
            [Severity::Low]
        );
        Ok(())
    }

    #[test]
    fn severity_plus_means_and_above() -> Result<(), PolicyError> {
        assert_eq!(
            parse_severities("Medium+")?.into_iter().collect::<Vec<_>>(),
            [Severity::Medium, Severity::High, Severity::Critical]
        );
        assert_eq!(parse_severities("unknown+")?.len(), 6);
        assert_eq!(
            parse_severities("negligible,high+")?
                .into_iter()
                .collect::<Vec<_>>(),
            [Severity::Negligible, Severity::High, Severity::Critical]
        );
        Ok(())
    }

    #[test]
    fn severity_errors_list_valid_names() {
        let msg = err_text(parse_severities("high,severe"));
        assert!(msg.contains("\"severe\""), "{msg}");
        for name in ["unknown", "negligible", "low", "medium", "high", "critical"] {
            assert!(msg.contains(name), "{msg} lacks {name}");
        }
        assert!(matches!(
            parse_severities(" , "),
            Err(PolicyError::EmptySeverities)
        ));
        // Vendor synonyms are not severities here, and `+` alone is not a word.
        assert!(parse_severities("important").is_err());
        assert!(parse_severities("+").is_err());
    }

    #[test]
    fn severity_filter_keeps_only_listed() -> Result<(), PolicyError> {
        let mut low = openssl("CVE-1");
        low.severity = Severity::Low;
        let crit = {
            let mut f = openssl("CVE-2");
            f.severity = Severity::Critical;
            f
        };
        let mut policy = Policy::new(today());
        policy.severities = Some(parse_severities("critical")?);
        let (kept, suppressed, warnings) = policy.apply(vec![low, crit]);
        assert_eq!(ids(&kept), ["CVE-2"]);
        assert_eq!(suppressed.len(), 1);
        assert_eq!(suppressed[0].reason, SuppressionReason::Severity);
        assert!(warnings.is_empty());
        Ok(())
    }

    // --- unfixed ---------------------------------------------------------------------------

    #[test]
    fn ignore_unfixed_drops_every_non_fixed_status() {
        let statuses = [
            FixStatus::Fixed,
            FixStatus::Affected,
            FixStatus::WillNotFix,
            FixStatus::Deferred,
            FixStatus::EndOfLife,
            FixStatus::NoDsa,
            FixStatus::Unimportant,
        ];
        let findings: Vec<_> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut f = openssl(&format!("CVE-{i}"));
                f.status = *s;
                f
            })
            .collect();
        let mut policy = Policy::new(today());
        let (kept, _, _) = policy.apply(findings.clone());
        assert_eq!(kept.len(), 7, "off by default");
        policy.ignore_unfixed = true;
        let (kept, suppressed, _) = policy.apply(findings);
        assert_eq!(ids(&kept), ["CVE-0"]);
        assert_eq!(suppressed.len(), 6);
        assert!(
            suppressed
                .iter()
                .all(|s| s.reason == SuppressionReason::Unfixed)
        );
    }

    // --- ignore file -----------------------------------------------------------------------

    fn ignore_policy(yaml: &str) -> Result<Policy, PolicyError> {
        let mut policy = Policy::new(today());
        policy.ignore = IgnoreFile::from_yaml(yaml)?;
        Ok(policy)
    }

    #[test]
    fn ignore_rule_matches_id_or_alias() -> Result<(), PolicyError> {
        let policy = ignore_policy(
            "ignore:\n  - id: GHSA-aaaa-bbbb-cccc\n    reason: test only\n  - id: cve-2023-0002\n",
        )?;
        let mut aliased = openssl("CVE-2023-0001");
        aliased.aliases = vec!["GHSA-aaaa-bbbb-cccc".into()];
        let (kept, suppressed, _) = policy.apply(vec![
            aliased,
            openssl("CVE-2023-0002"),
            openssl("CVE-2023-0003"),
        ]);
        assert_eq!(ids(&kept), ["CVE-2023-0003"]);
        assert_eq!(
            suppressed[0].reason,
            SuppressionReason::Ignored {
                rule: 0,
                reason: Some("test only".into()),
                expires: None
            }
        );
        assert!(matches!(
            suppressed[1].reason,
            SuppressionReason::Ignored { rule: 1, .. }
        ));
        Ok(())
    }

    #[test]
    fn ignore_rule_package_by_name_or_purl() -> Result<(), PolicyError> {
        let policy = ignore_policy(
            "ignore:
  - id: CVE-1
    package: openssl
  - id: CVE-2
    package: pkg:deb/debian/openssl
  - id: CVE-3
    package: pkg:deb/debian/openssl@1.0.0
  - id: CVE-4
    package: pkg:deb/debian/
  - id: CVE-5
    package: pkg:deb/debian/open
",
        )?;
        let (kept, _, _) = policy.apply(vec![
            openssl("CVE-1"),
            finding("CVE-1", "zlib", "pkg:deb/debian/zlib@1"),
            openssl("CVE-2"),
            openssl("CVE-3"),
            openssl("CVE-4"),
            finding("CVE-4", "lodash", "pkg:npm/lodash@4.17.20"),
            openssl("CVE-5"),
        ]);
        // zlib: other package; CVE-3: version differs; lodash: other type; CVE-5: not a
        // prefix on a segment boundary.
        assert_eq!(
            kept.iter()
                .map(|f| format!("{}:{}", f.id, f.package.name))
                .collect::<Vec<_>>(),
            [
                "CVE-1:zlib",
                "CVE-3:openssl",
                "CVE-4:lodash",
                "CVE-5:openssl"
            ]
        );
        Ok(())
    }

    #[test]
    fn ignore_rule_path_glob() -> Result<(), PolicyError> {
        let policy = ignore_policy(
            "ignore:\n  - id: CVE-1\n    path: /usr/lib/python3*/\n  - id: CVE-2\n    path: 'opt/**/app.jar'\n",
        )?;
        let at = |id: &str, path: Option<&str>| {
            let mut f = openssl(id);
            f.path = path.map(str::to_owned);
            f
        };
        let (kept, _, _) = policy.apply(vec![
            at(
                "CVE-1",
                Some("/usr/lib/python3.11/site-packages/a/METADATA"),
            ),
            at("CVE-1", Some("usr/lib/python3.12/x")),
            at("CVE-1", Some("/usr/lib/python2.7/site-packages/a")),
            at("CVE-1", None),
            at("CVE-2", Some("/opt/app.jar")),
            at("CVE-2", Some("/opt/a/b/app.jar")),
            at("CVE-2", Some("/opt/a/b/other.jar")),
        ]);
        assert_eq!(
            kept.iter()
                .map(|f| f.path.as_deref().unwrap_or("-"))
                .collect::<Vec<_>>(),
            [
                "/usr/lib/python2.7/site-packages/a",
                "-",
                "/opt/a/b/other.jar"
            ]
        );
        Ok(())
    }

    #[test]
    fn globs() {
        assert!(glob_matches("a/*/c", "a/b/c"));
        assert!(!glob_matches("a/*/c", "a/b/x/c"));
        assert!(glob_matches("a/**/c", "a/b/x/c"));
        assert!(glob_matches("a/**/c", "a/c"));
        assert!(glob_matches("a/**", "a/b/c"));
        assert!(glob_matches("**/*.jar", "x/y/z.jar"));
        assert!(glob_matches("**/*.jar", "z.jar"));
        assert!(!glob_matches("*.jar", "x/z.jar"));
        assert!(glob_matches("/a/?.txt", "a/b.txt"));
        assert!(!glob_matches("a/?.txt", "a/bb.txt"));
        assert!(glob_matches(&"*".repeat(40), &"a".repeat(200)));
    }

    #[test]
    fn expired_rule_warns_and_reports_again() -> Result<(), PolicyError> {
        let policy = ignore_policy(
            "ignore:
  - id: CVE-2023-1234
    reason: old
    expires: 2025-12-31
  - id: CVE-2023-5678
    expires: 2026-03-01
  - id: CVE-2023-9999
    expires: 2020-01-01
",
        )?;
        let (kept, suppressed, warnings) =
            policy.apply(vec![openssl("CVE-2023-1234"), openssl("CVE-2023-5678")]);
        assert_eq!(ids(&kept), ["CVE-2023-1234"]);
        // The expiry day itself still applies.
        assert_eq!(
            suppressed[0].reason,
            SuppressionReason::Ignored {
                rule: 1,
                reason: None,
                expires: Some(date!(2026 - 03 - 01))
            }
        );
        // Only the expired rule that un-hid a finding warns.
        assert_eq!(
            warnings,
            ["ignore rule for CVE-2023-1234 expired on 2025-12-31; the finding is reported again"]
        );

        // Hidden for another reason: nothing is "reported again", so no warning.
        let mut policy = policy;
        policy.severities = Some(parse_severities("critical")?);
        let (kept, _, warnings) = policy.apply(vec![openssl("CVE-2023-1234")]);
        assert!(kept.is_empty());
        assert!(warnings.is_empty(), "{warnings:?}");
        Ok(())
    }

    #[test]
    fn ignore_file_errors() {
        let typo = err_text(IgnoreFile::from_yaml(
            "ignore:\n  - id: CVE-1\n    pakage: openssl\n",
        ));
        assert!(typo.contains("pakage"), "{typo}");
        assert!(typo.contains("line 3"), "line number expected: {typo}");

        let top = err_text(IgnoreFile::from_yaml("ignores:\n  - id: CVE-1\n"));
        assert!(top.contains("ignores"), "{top}");

        let no_id = err_text(IgnoreFile::from_yaml("ignore:\n  - package: openssl\n"));
        assert!(no_id.contains("id"), "{no_id}");

        let empty_id = IgnoreFile::from_yaml("ignore:\n  - id: ''\n");
        assert!(empty_id.is_err());

        let bad_date = err_text(IgnoreFile::from_yaml(
            "ignore:\n  - id: CVE-1\n    expires: 31/01/2027\n",
        ));
        assert!(bad_date.contains("YYYY-MM-DD"), "{bad_date}");
    }

    #[test]
    fn empty_ignore_files_have_no_rules() -> Result<(), PolicyError> {
        for text in ["", "# nothing yet\n", "ignore:\n", "ignore: []\n"] {
            assert!(IgnoreFile::from_yaml(text)?.rules.is_empty(), "{text:?}");
        }
        Ok(())
    }

    #[test]
    fn discover_looks_in_the_directory_only() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let child = dir.path().join("sub");
        std::fs::create_dir(&child)?;
        std::fs::write(
            dir.path().join(IGNORE_FILE_NAME),
            "ignore:\n  - id: CVE-1\n",
        )?;
        assert!(IgnoreFile::discover(&child)?.is_none());
        let found = IgnoreFile::discover(dir.path())?.ok_or("not found")?;
        assert_eq!(found.rules.len(), 1);
        assert_eq!(
            found.path.as_deref(),
            Some(dir.path().join(IGNORE_FILE_NAME).as_path())
        );
        Ok(())
    }

    // --- VEX -------------------------------------------------------------------------------

    fn vex(statements: &str) -> Result<VexDocument, PolicyError> {
        VexDocument::from_json(&format!(
            r#"{{
              "@context": "https://openvex.dev/ns/v0.2.0",
              "@id": "https://example.com/vex/1",
              "author": "Example Security",
              "timestamp": "2026-01-10T12:00:00Z",
              "version": 1,
              "statements": [{statements}]
            }}"#
        ))
    }

    fn vex_policy(docs: Vec<VexDocument>) -> Policy {
        let mut policy = Policy::new(today());
        policy.vex = docs;
        policy
    }

    #[test]
    fn vex_not_affected_suppresses_and_affected_does_not() -> Result<(), PolicyError> {
        let doc = vex(r#"
            {"vulnerability": {"name": "CVE-1"},
             "products": [{"@id": "pkg:deb/debian/openssl"}],
             "status": "not_affected", "justification": "vulnerable_code_not_present"},
            {"vulnerability": {"name": "CVE-2"},
             "products": [{"@id": "pkg:deb/debian/openssl"}],
             "status": "affected", "action_statement": "upgrade"},
            {"vulnerability": {"name": "CVE-3"},
             "products": [{"@id": "pkg:deb/debian/openssl"}],
             "status": "under_investigation"},
            {"vulnerability": {"name": "CVE-4"},
             "products": [{"@id": "pkg:deb/debian/openssl"}],
             "status": "fixed"}
        "#)?;
        let (kept, suppressed, _) = vex_policy(vec![doc]).apply(vec![
            openssl("CVE-1"),
            openssl("CVE-2"),
            openssl("CVE-3"),
            openssl("CVE-4"),
        ]);
        assert_eq!(ids(&kept), ["CVE-2", "CVE-3"]);
        assert_eq!(
            suppressed[0].reason,
            SuppressionReason::Vex {
                doc: "https://example.com/vex/1".into(),
                status: VexStatus::NotAffected,
                justification: Some("vulnerable_code_not_present".into()),
            }
        );
        assert!(matches!(
            suppressed[1].reason,
            SuppressionReason::Vex {
                status: VexStatus::Fixed,
                ..
            }
        ));
        Ok(())
    }

    #[test]
    fn vex_alias_and_purl_version() -> Result<(), PolicyError> {
        let doc = vex(r#"
            {"vulnerability": {"name": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-7"]},
             "products": [{"@id": "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=arm64"}],
             "status": "not_affected", "justification": "component_not_present"},
            {"vulnerability": {"name": "CVE-8"},
             "products": [{"@id": "pkg:deb/debian/openssl@1.1.1"}],
             "status": "not_affected", "justification": "component_not_present"}
        "#)?;
        let mut by_alias = openssl("PYSEC-1");
        by_alias.aliases = vec!["cve-7".into()];
        let (kept, suppressed, _) =
            vex_policy(vec![doc]).apply(vec![by_alias, openssl("CVE-8"), openssl("CVE-9")]);
        // Alias on both sides, qualifiers ignored; CVE-8 names another version.
        assert_eq!(
            ids(&suppressed
                .iter()
                .map(|s| s.finding.clone())
                .collect::<Vec<_>>()),
            ["PYSEC-1"]
        );
        assert_eq!(ids(&kept), ["CVE-8", "CVE-9"]);
        Ok(())
    }

    #[test]
    fn vex_subcomponent_and_identifiers() -> Result<(), PolicyError> {
        let doc = vex(r#"
            {"vulnerability": {"name": "CVE-1"},
             "products": [{"@id": "pkg:oci/app@sha256%3Aabc",
                           "subcomponents": [{"@id": "pkg:deb/debian/openssl@3.0.11-1~deb12u2"}]}],
             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
            {"vulnerability": {"name": "CVE-2"},
             "products": [{"@id": "https://example.com/product",
                           "identifiers": {"purl": "pkg:deb/debian/openssl"}}],
             "status": "not_affected", "impact_statement": "patched"},
            {"vulnerability": {"name": "CVE-3"},
             "products": [{"@id": "pkg:oci/app",
                           "subcomponents": [{"@id": "pkg:deb/debian/zlib"}]}],
             "status": "not_affected", "justification": "component_not_present"}
        "#)?;
        let (kept, _, _) =
            vex_policy(vec![doc]).apply(vec![openssl("CVE-1"), openssl("CVE-2"), openssl("CVE-3")]);
        assert_eq!(ids(&kept), ["CVE-3"]);
        Ok(())
    }

    #[test]
    fn vex_latest_statement_wins() -> Result<(), PolicyError> {
        // Statement timestamps override the document's; a newer `affected` un-hides, and a
        // newer `not_affected` in a second document hides again.
        let first = vex(r#"
            {"vulnerability": {"name": "CVE-1"},
             "products": ["pkg:deb/debian/openssl"],
             "status": "not_affected", "justification": "component_not_present",
             "timestamp": "2026-01-01T00:00:00Z"},
            {"vulnerability": {"name": "CVE-1"},
             "products": ["pkg:deb/debian/openssl"],
             "status": "affected"},
            {"vulnerability": {"name": "CVE-2"},
             "products": ["pkg:deb/debian/openssl"],
             "status": "affected", "timestamp": "2026-01-01T00:00:00Z"}
        "#)?;
        let (kept, _, _) =
            vex_policy(vec![first.clone()]).apply(vec![openssl("CVE-1"), openssl("CVE-2")]);
        assert_eq!(ids(&kept), ["CVE-1", "CVE-2"]);

        let mut second = vex(r#"
            {"vulnerability": "CVE-2",
             "products": ["pkg:deb/debian/openssl"],
             "status": "not_affected", "justification": "component_not_present"}
        "#)?;
        second.id = "https://example.com/vex/2".into();
        second.timestamp = datetime!(2026-02-01 0:00 UTC);
        let (kept, suppressed, _) =
            vex_policy(vec![first, second]).apply(vec![openssl("CVE-1"), openssl("CVE-2")]);
        assert_eq!(ids(&kept), ["CVE-1"]);
        assert!(matches!(
            &suppressed[0].reason,
            SuppressionReason::Vex { doc, .. } if doc == "https://example.com/vex/2"
        ));
        Ok(())
    }

    #[test]
    fn vex_errors_name_the_problem() {
        let err = |text: &str| err_text(VexDocument::from_json(text));
        assert!(err("{").contains("not JSON"));
        assert!(err(r#"{"bomFormat": "CycloneDX"}"#).contains("@context"));
        let e = err(
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a",
                "timestamp": "yesterday", "statements": []}"#,
        );
        assert!(e.contains("timestamp"), "{e}");
        let e = err_text(vex(
            r#"{"vulnerability": {"name": "CVE-1"}, "products": ["pkg:deb/debian/a"],
                         "status": "not-affected"}"#,
        ));
        assert!(
            e.contains("statement 1") && e.contains("not-affected"),
            "{e}"
        );
        let e = err_text(vex(
            r#"{"vulnerability": {"name": "CVE-1"}, "status": "fixed"}"#,
        ));
        assert!(e.contains("products"), "{e}");
        let e = err_text(vex(
            r#"{"products": ["pkg:deb/debian/a"], "status": "fixed"}"#,
        ));
        assert!(e.contains("vulnerability"), "{e}");
    }

    #[test]
    fn purls_parse_and_cover() {
        let p = Purl::parse("pkg:npm/%40angular/core@16.0.0?x=y#sub");
        assert_eq!(
            p,
            Some(Purl {
                ty: "npm".into(),
                namespace: "@angular".into(),
                name: "core".into(),
                version: Some("16.0.0".into())
            })
        );
        let scoped = Purl::parse("pkg:npm/@angular/core@16.0.0");
        assert_eq!(scoped, p);
        let any = Purl::parse("pkg:pypi/Django_Rest");
        let have = Purl::parse("pkg:pypi/django-rest@1.0");
        assert!(any.zip(have).is_some_and(|(a, h)| a.covers(&h)));
        assert!(Purl::parse("openssl").is_none());
    }

    #[test]
    fn order_of_reasons_and_input_order() -> Result<(), PolicyError> {
        let mut policy = ignore_policy("ignore:\n  - id: CVE-1\n")?;
        policy.severities = Some(parse_severities("high")?);
        let mut low = openssl("CVE-1");
        low.severity = Severity::Low;
        let (kept, suppressed, _) = policy.apply(vec![
            openssl("CVE-3"),
            low,
            openssl("CVE-1"),
            openssl("CVE-2"),
        ]);
        assert_eq!(ids(&kept), ["CVE-3", "CVE-2"]);
        assert_eq!(suppressed[0].reason, SuppressionReason::Severity);
        assert!(matches!(
            suppressed[1].reason,
            SuppressionReason::Ignored { rule: 0, .. }
        ));
        Ok(())
    }
}
