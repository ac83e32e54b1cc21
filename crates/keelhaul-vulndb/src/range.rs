//! Version-range syntaxes of native advisory formats, turned into [`Constraint`] lists:
//! node-semver ranges, RubyGems requirements, Composer constraints, Maven ranges, Cargo
//! version requirements, victims-cve-db expressions.
//!
//! Every parser returns [`Alternatives`]: the range holds for a version when all the
//! constraints of at least one alternative hold. The sugar of each syntax (carets, tildes,
//! wildcards, partial versions, pessimistic `~>`, Maven brackets) is expanded here into
//! plain comparisons, so the matcher needs nothing but the ecosystem's version order.
//!
//! An alternative with no constraints holds for every version (`*` in Composer, an empty
//! RubyGems requirement). The npm and Cargo parsers write `*` as `>= 0.0.0` instead, as
//! node-semver documents it.
//!
//! Not modelled: node-semver's and Cargo's rule that a prerelease version only satisfies a
//! range when some comparator names a prerelease of the same `major.minor.patch`. Installed
//! versions are almost always releases, and the matcher compares plainly; so `1.3.0-beta`
//! is inside `^1.2.3` here but not for npm. Desugared npm upper bounds end in `-0` (as
//! node-semver writes them), which keeps prereleases of the next version out.

use crate::model::{Constraint, Op};

/// A range text that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read range {range:?}: {reason}")]
pub struct RangeError {
    /// The text.
    pub range: String,
    /// Why.
    pub reason: String,
}

/// Alternatives (OR) of conjunctions (AND).
pub type Alternatives = Vec<Vec<Constraint>>;

fn error(range: &str, reason: impl Into<String>) -> RangeError {
    RangeError {
        range: range.to_owned(),
        reason: reason.into(),
    }
}

fn c(op: Op, version: impl Into<String>) -> Constraint {
    Constraint::new(op, version)
}

/// Splits a leading comparison operator off `text` (longest first), returning it as
/// written and the rest, trimmed.
fn split_op<'a>(text: &'a str, ops: &[&'static str]) -> (&'static str, &'a str) {
    let text = text.trim();
    for op in ops {
        if let Some(rest) = text.strip_prefix(op) {
            return (op, rest.trim());
        }
    }
    ("", text)
}

/// A plain comparison operator by its spelling.
fn plain_op(op: &str) -> Option<Op> {
    Some(match op {
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "=" | "==" | "" => Op::Eq,
        "!=" | "<>" => Op::Ne,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// SemVer-shaped partial versions (npm, Cargo)

/// `major[.minor[.patch[-pre][+build]]]`, where a missing or `x`/`X`/`*` part is a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    /// Prerelease text after `-` (only with a numeric patch); build metadata is dropped.
    pre: Option<String>,
}

impl Partial {
    fn parse(text: &str) -> Option<Partial> {
        let text = text.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text).trim();
        // Build metadata never takes part in comparisons.
        let text = text.split('+').next().unwrap_or(text);
        if text.is_empty() {
            return Some(Partial {
                major: None,
                minor: None,
                patch: None,
                pre: None,
            });
        }
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let mut parts = core.split('.');
        let mut next = || -> Option<Option<Option<u64>>> {
            match parts.next() {
                None => Some(None),
                Some("x" | "X" | "*") => Some(Some(None)),
                Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    n.parse().ok().map(|v| Some(Some(v)))
                }
                Some(_) => None,
            }
        };
        let major = next()?.flatten();
        let minor = next()?.flatten();
        let patch = next()?.flatten();
        if next()?.is_some() {
            return None; // a fourth component
        }
        if let Some(pre) = pre {
            let valid = !pre.is_empty()
                && pre.split('.').all(|p| {
                    !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !valid || patch.is_none() || minor.is_none() || major.is_none() {
                return None;
            }
        }
        // After a wildcard, everything is a wildcard (`1.x.3` reads as `1.x`).
        let minor = major.and(minor);
        let patch = minor.and(patch);
        Some(Partial {
            major,
            minor,
            patch,
            pre: pre.map(str::to_owned),
        })
    }

    fn full(&self) -> Option<String> {
        let (m, n, p) = (self.major?, self.minor?, self.patch?);
        Some(match &self.pre {
            Some(pre) => format!("{m}.{n}.{p}-{pre}"),
            None => format!("{m}.{n}.{p}"),
        })
    }

    /// The version with missing parts as zero.
    fn floor(&self) -> String {
        match self.full() {
            Some(v) => v,
            None => format!(
                "{}.{}.{}",
                self.major.unwrap_or(0),
                self.minor.unwrap_or(0),
                self.patch.unwrap_or(0)
            ),
        }
    }
}

fn bump(n: u64) -> u64 {
    n.saturating_add(1)
}

// ---------------------------------------------------------------------------------------
// npm

/// Reads a node-semver range (`>=1.2.7 <1.3.0 || 2.x`, `^0.2.3`, `1.2.3 - 2.3`).
///
/// Desugared as node-semver's README ("Advanced Range Syntax") says: `1.2.3 - 2.3` is
/// `>=1.2.3 <2.4.0-0`; `1.x` is `>=1.0.0 <2.0.0-0`; `~1.2` is `>=1.2.0 <1.3.0-0`; `^0.0.3`
/// is `>=0.0.3 <0.0.4-0`; a partial version after an operator is completed as node-semver
/// does (`<1.2` → `<1.2.0-0`, `<=1.2` → `<1.3.0-0`, `>1.2` → `>=1.3.0`, `>=1.2` →
/// `>=1.2.0`); `*` and the empty range are `>=0.0.0`; `<*` and `>*` match nothing
/// (`<0.0.0-0`). `~>` is read as `~`, and `v`/`=` prefixes are dropped.
pub fn npm(range: &str) -> Result<Alternatives, RangeError> {
    let mut out = Vec::new();
    for alt in range.split("||") {
        out.push(npm_range(range, alt)?);
    }
    Ok(out)
}

const NPM_OPS: &[&str] = &["~>", "<=", ">=", "<", ">", "=", "~", "^"];

fn npm_range(whole: &str, alt: &str) -> Result<Vec<Constraint>, RangeError> {
    let tokens: Vec<&str> = alt.split_whitespace().collect();
    // Hyphen range: exactly `A - B`.
    if tokens.len() == 3 && tokens[1] == "-" {
        let from = Partial::parse(tokens[0]).ok_or_else(|| error(whole, "bad version"))?;
        let to = Partial::parse(tokens[2]).ok_or_else(|| error(whole, "bad version"))?;
        let mut out = Vec::new();
        if from.major.is_some() {
            out.push(c(Op::Ge, from.floor()));
        }
        match (to.major, to.minor, to.patch) {
            (None, _, _) => {}
            (Some(m), None, _) => out.push(c(Op::Lt, format!("{}.0.0-0", bump(m)))),
            (Some(m), Some(n), None) => out.push(c(Op::Lt, format!("{m}.{}.0-0", bump(n)))),
            _ => out.push(c(Op::Le, to.floor())),
        }
        if out.is_empty() {
            out.push(c(Op::Ge, "0.0.0"));
        }
        return Ok(out);
    }
    // Operators may be followed by spaces (`>= 1.2.3`): glue them to the next token.
    let mut comparators = Vec::new();
    let mut pending = String::new();
    for t in tokens {
        pending.push_str(t);
        if NPM_OPS.contains(&pending.as_str()) {
            continue;
        }
        comparators.push(std::mem::take(&mut pending));
    }
    if !pending.is_empty() {
        return Err(error(
            whole,
            format!("operator {pending:?} without a version"),
        ));
    }
    if comparators.is_empty() {
        return Ok(vec![c(Op::Ge, "0.0.0")]);
    }
    let mut out = Vec::new();
    for comp in comparators {
        npm_comparator(whole, &comp, &mut out)?;
    }
    Ok(out)
}

fn npm_comparator(whole: &str, comp: &str, out: &mut Vec<Constraint>) -> Result<(), RangeError> {
    let (op, rest) = split_op(comp, NPM_OPS);
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    let p = Partial::parse(rest).ok_or_else(|| error(whole, format!("bad version in {comp:?}")))?;
    match op {
        "~" | "~>" => tilde(&p, out, "-0"),
        "^" => npm_caret(&p, out),
        _ => {
            let op = plain_op(op).ok_or_else(|| error(whole, "bad operator"))?;
            semver_primitive(op, &p, out, "-0");
        }
    }
    Ok(())
}

/// A plain comparison with a partial version, completed as node-semver's `replaceXRange`
/// does (Cargo's rules are the same, without the `-0` on exclusive upper bounds).
fn semver_primitive(op: Op, p: &Partial, out: &mut Vec<Constraint>, pr: &str) {
    let Some(m) = p.major else {
        match op {
            Op::Lt | Op::Gt => out.push(c(Op::Lt, "0.0.0-0")),
            _ => out.push(c(Op::Ge, "0.0.0")),
        }
        return;
    };
    if let Some(full) = p.full() {
        out.push(c(op, full));
        return;
    }
    let n = p.minor;
    match op {
        Op::Eq => match n {
            None => {
                out.push(c(Op::Ge, format!("{m}.0.0")));
                out.push(c(Op::Lt, format!("{}.0.0{pr}", bump(m))));
            }
            Some(n) => {
                out.push(c(Op::Ge, format!("{m}.{n}.0")));
                out.push(c(Op::Lt, format!("{m}.{}.0{pr}", bump(n))));
            }
        },
        Op::Gt => match n {
            None => out.push(c(Op::Ge, format!("{}.0.0", bump(m)))),
            Some(n) => out.push(c(Op::Ge, format!("{m}.{}.0", bump(n)))),
        },
        Op::Le => match n {
            None => out.push(c(Op::Lt, format!("{}.0.0{pr}", bump(m)))),
            Some(n) => out.push(c(Op::Lt, format!("{m}.{}.0{pr}", bump(n)))),
        },
        Op::Lt => out.push(c(Op::Lt, format!("{m}.{}.0{pr}", n.unwrap_or(0)))),
        Op::Ge => out.push(c(Op::Ge, format!("{m}.{}.0", n.unwrap_or(0)))),
        // `!=1.2` has no node-semver meaning; Cargo has no `!=`. Compare with the floor.
        Op::Ne => out.push(c(Op::Ne, p.floor())),
    }
}

/// `~1.2.3` → `>=1.2.3 <1.3.0`; `~1.2` → `>=1.2.0 <1.3.0`; `~1` → `>=1.0.0 <2.0.0`.
fn tilde(p: &Partial, out: &mut Vec<Constraint>, pr: &str) {
    match (p.major, p.minor) {
        (None, _) => out.push(c(Op::Ge, "0.0.0")),
        (Some(m), None) => {
            out.push(c(Op::Ge, format!("{m}.0.0")));
            out.push(c(Op::Lt, format!("{}.0.0{pr}", bump(m))));
        }
        (Some(m), Some(n)) => {
            out.push(c(Op::Ge, p.floor()));
            out.push(c(Op::Lt, format!("{m}.{}.0{pr}", bump(n))));
        }
    }
}

/// node-semver's caret: the left-most non-zero part may not change.
fn npm_caret(p: &Partial, out: &mut Vec<Constraint>) {
    let Some(m) = p.major else {
        out.push(c(Op::Ge, "0.0.0"));
        return;
    };
    let Some(n) = p.minor else {
        out.push(c(Op::Ge, format!("{m}.0.0")));
        out.push(c(Op::Lt, format!("{}.0.0-0", bump(m))));
        return;
    };
    out.push(c(Op::Ge, p.floor()));
    let upper = match p.patch {
        None if m == 0 => format!("0.{}.0-0", bump(n)),
        None => format!("{}.0.0-0", bump(m)),
        Some(k) if m == 0 && n == 0 => format!("0.0.{}-0", bump(k)),
        Some(_) if m == 0 => format!("0.{}.0-0", bump(n)),
        Some(_) => format!("{}.0.0-0", bump(m)),
    };
    out.push(c(Op::Lt, upper));
}

// ---------------------------------------------------------------------------------------
// Cargo

/// Reads a Cargo version requirement (`>= 1.2.3, < 1.4`, `^0.2`, `~1.2`, `= 1.0`, `*`,
/// `1.2.*`), comma-separated comparators all of which must hold.
///
/// Expanded as the Cargo book ("Specifying Dependencies") says: a bare version is a caret
/// requirement; `^1.2.3` → `>=1.2.3, <2.0.0`, `^0.2.3` → `>=0.2.3, <0.3.0`, `^0.0.3` →
/// `>=0.0.3, <0.0.4`, `^0.0` → `>=0.0.0, <0.1.0`, `^0` → `>=0.0.0, <1.0.0`; `~1.2.3` →
/// `>=1.2.3, <1.3.0`, `~1` → `>=1.0.0, <2.0.0`; `=1.2` → `>=1.2.0, <1.3.0`; partial
/// versions after `<`, `<=`, `>`, `>=` as the `semver` crate completes them (`<= 1.2` →
/// `<1.3.0`, `> 1` → `>=2.0.0`, `< 0.3` → `<0.3.0`).
pub fn cargo(req: &str) -> Result<Alternatives, RangeError> {
    let text = req.trim();
    if text.is_empty() {
        return Err(error(req, "empty requirement"));
    }
    let mut out = Vec::new();
    for item in text.split(',') {
        let (op, rest) = split_op(item, &["<=", ">=", "<", ">", "=", "~", "^"]);
        if rest.is_empty() {
            return Err(error(req, format!("no version in {item:?}")));
        }
        let p =
            Partial::parse(rest).ok_or_else(|| error(req, format!("bad version in {item:?}")))?;
        if p.major.is_none() && !op.is_empty() {
            return Err(error(req, "an operator before `*`"));
        }
        match op {
            "~" => tilde(&p, &mut out, ""),
            "^" => cargo_caret(&p, &mut out),
            // A bare version is a caret requirement; with a wildcard it is a wildcard.
            "" if p.major.is_some() && !rest.contains(['*', 'x', 'X']) => cargo_caret(&p, &mut out),
            "" => semver_primitive(Op::Eq, &p, &mut out, ""),
            _ => {
                let op = plain_op(op).ok_or_else(|| error(req, "bad operator"))?;
                semver_primitive(op, &p, &mut out, "");
            }
        }
    }
    Ok(vec![out])
}

fn cargo_caret(p: &Partial, out: &mut Vec<Constraint>) {
    let Some(m) = p.major else {
        out.push(c(Op::Ge, "0.0.0"));
        return;
    };
    out.push(c(Op::Ge, p.floor()));
    let upper = match (p.minor, p.patch) {
        (None, _) => format!("{}.0.0", bump(m)),
        (Some(_), _) if m > 0 => format!("{}.0.0", bump(m)),
        (Some(n), None) => format!("0.{}.0", bump(n)),
        (Some(n), Some(_)) if n > 0 => format!("0.{}.0", bump(n)),
        (Some(_), Some(k)) => format!("0.0.{}", bump(k)),
    };
    out.push(c(Op::Lt, upper));
}

// ---------------------------------------------------------------------------------------
// RubyGems

/// Reads one RubyGems requirement set: the items all hold (`["~> 1.2.3", ">= 1.2.5"]`);
/// an item may itself hold several comma-separated requirements (`">= 1.2, < 1.3"`).
///
/// Operators: `=`, `!=`, `>`, `<`, `>=`, `<=`, `~>`; none means `=`. The pessimistic
/// `~> V` is `>= V, < V.bump` where `Gem::Version#bump` drops prerelease segments, drops
/// the last segment (unless only one is left) and increments the new last one: `~> 1.2.3`
/// → `>= 1.2.3, < 1.3`; `~> 1.2` → `>= 1.2, < 2`; `~> 1` → `>= 1, < 2`. (RubyGems
/// compares `v.release < bump`, so `1.3.0.rc1` is outside `~> 1.2.3`; with plain
/// comparisons it is inside. Rare enough in installed gems to ignore.)
///
/// RubySec's `patched_versions` is a list of such strings, each one alternative: call this
/// once per list entry.
pub fn gem(requirements: &[&str]) -> Result<Alternatives, RangeError> {
    let whole = requirements.join(", ");
    let mut out = Vec::new();
    for item in requirements.iter().flat_map(|r| r.split(',')) {
        let (op, rest) = split_op(item, &["~>", "!=", ">=", "<=", "=", ">", "<"]);
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(error(&whole, format!("bad requirement {item:?}")));
        }
        if !rest.starts_with(|ch: char| ch.is_ascii_digit()) {
            return Err(error(&whole, format!("bad version in {item:?}")));
        }
        if op == "~>" {
            out.push(c(Op::Ge, rest));
            out.push(c(Op::Lt, gem_bump(rest)));
        } else {
            let op = plain_op(op).ok_or_else(|| error(&whole, "bad operator"))?;
            out.push(c(op, rest));
        }
    }
    Ok(vec![out])
}

/// `Gem::Version#bump`: the version's segments (digit runs and letter runs), prerelease
/// parts dropped, the last dropped when more than one remains, the new last incremented.
fn gem_bump(version: &str) -> String {
    let mut numbers: Vec<u64> = Vec::new();
    let mut run = String::new();
    for ch in version.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
        } else {
            if !run.is_empty() {
                numbers.push(run.parse().unwrap_or(u64::MAX));
                run.clear();
            }
            if ch.is_ascii_alphabetic() {
                break; // the prerelease part starts: it and all after it are dropped
            }
        }
    }
    if !run.is_empty() {
        numbers.push(run.parse().unwrap_or(u64::MAX));
    }
    if numbers.len() > 1 {
        numbers.pop();
    }
    if let Some(last) = numbers.last_mut() {
        *last = bump(*last);
    }
    numbers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

// ---------------------------------------------------------------------------------------
// Composer

/// Reads a Composer constraint (`>=1.0,<1.2.3`, `>=2.0.0-beta1 <2.0.1`, `^1.2 || ~2.3`,
/// `1.0.*`, `1.0 - 2.0`).
///
/// `||` (or the old single `|`) separates alternatives; `,` or spaces join constraints.
/// Expanded as Composer's "Writing Version Constraints" page says: `~1.2` → `>=1.2,
/// <2.0.0`; `~1.2.3` → `>=1.2.3, <1.3.0`; `^1.2.3` → `>=1.2.3, <2.0.0`; `^0.3` → `>=0.3,
/// <0.4.0`; `^0.0.3` → `>=0.0.3, <0.0.4`; `1.0.*` → `>=1.0, <1.1`; `1.0 - 2.0` → `>=1.0,
/// <2.1`; `1.0.0 - 2.1.0` → `>=1.0.0, <=2.1.0`; `*` holds for every version (no
/// constraints). Versions are kept as written (minus a `v` prefix and `@stability` flags),
/// since Composer's own comparison normalises them.
pub fn composer(constraint: &str) -> Result<Alternatives, RangeError> {
    let text = constraint.trim();
    if text.is_empty() {
        return Err(error(constraint, "empty constraint"));
    }
    let mut out = Vec::new();
    for alt in text.split("||").flat_map(|a| a.split('|')) {
        out.push(composer_and(constraint, alt)?);
    }
    Ok(out)
}

const COMPOSER_OPS: &[&str] = &["<>", "!=", ">=", "<=", "==", "~", "^", ">", "<", "="];

fn composer_and(whole: &str, alt: &str) -> Result<Vec<Constraint>, RangeError> {
    let tokens: Vec<&str> = alt
        .split(|ch: char| ch == ',' || ch.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() {
        return Err(error(whole, "empty alternative"));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // Hyphen range `A - B`.
        if tokens.get(i + 1) == Some(&"-") {
            let (from, to) = match tokens.get(i + 2) {
                Some(to) => (tokens[i], *to),
                None => return Err(error(whole, "hyphen range without an end")),
            };
            out.push(c(Op::Ge, composer_version(whole, from)?));
            let to = composer_version(whole, to)?;
            let parts: Vec<&str> = to.split('.').collect();
            if parts.len() < 3 && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
                out.push(c(Op::Lt, increment_at(&parts, parts.len() - 1)?));
            } else {
                out.push(c(Op::Le, to));
            }
            i += 3;
            continue;
        }
        let mut item = tokens[i].to_owned();
        // Operator written apart from its version (`>= 1.0`).
        if COMPOSER_OPS.contains(&item.as_str()) {
            match tokens.get(i + 1) {
                Some(next) => {
                    item.push_str(next);
                    i += 1;
                }
                None => return Err(error(whole, "operator without a version")),
            }
        }
        i += 1;
        composer_item(whole, &item, &mut out)?;
    }
    Ok(out)
}

fn composer_version(whole: &str, text: &str) -> Result<String, RangeError> {
    let text = text.split('@').next().unwrap_or(text).trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    if text.is_empty() || !text.starts_with(|ch: char| ch.is_ascii_digit()) {
        return Err(error(whole, format!("bad version {text:?}")));
    }
    Ok(text.to_owned())
}

/// `parts` with the one at `index` incremented and later ones dropped, padded to 3 parts.
fn increment_at(parts: &[&str], index: usize) -> Result<String, RangeError> {
    let mut numbers: Vec<u64> = Vec::new();
    for p in &parts[..=index] {
        numbers.push(
            p.parse()
                .map_err(|_| error(&parts.join("."), "not a numeric version"))?,
        );
    }
    if let Some(last) = numbers.last_mut() {
        *last = bump(*last);
    }
    while numbers.len() < 3 {
        numbers.push(0);
    }
    Ok(numbers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

fn composer_item(whole: &str, item: &str, out: &mut Vec<Constraint>) -> Result<(), RangeError> {
    if item == "*" || item == "x" {
        return Ok(());
    }
    let (op, rest) = split_op(item, COMPOSER_OPS);
    let stripped = rest.split('@').next().unwrap_or(rest);
    // Wildcards `1.0.*`, `1.*`.
    if let Some(base) = stripped
        .strip_suffix(".*")
        .or_else(|| stripped.strip_suffix(".x"))
    {
        if !op.is_empty() && op != "=" && op != "==" {
            return Err(error(whole, "an operator before a wildcard"));
        }
        let base = composer_version(whole, base)?;
        let parts: Vec<&str> = base.split('.').collect();
        out.push(c(Op::Ge, base.clone()));
        out.push(c(Op::Lt, increment_at(&parts, parts.len() - 1)?));
        return Ok(());
    }
    let version = composer_version(whole, stripped)?;
    match op {
        "~" | "^" => {
            // The release part, for computing the upper bound.
            let release = version
                .split(['-', '+'])
                .next()
                .unwrap_or(&version)
                .to_owned();
            let parts: Vec<&str> = release.split('.').collect();
            if parts.iter().any(|p| p.parse::<u64>().is_err()) {
                return Err(error(whole, format!("bad version in {item:?}")));
            }
            let index = if op == "~" {
                // `~1` acts as `~1.0`; otherwise the next-to-last given part goes up.
                parts.len().saturating_sub(2)
            } else {
                // `^`: the first non-zero part (or the last given one) may not change.
                parts
                    .iter()
                    .position(|p| *p != "0")
                    .unwrap_or(parts.len() - 1)
                    .min(parts.len() - 1)
            };
            out.push(c(Op::Ge, version));
            out.push(c(Op::Lt, increment_at(&parts, index)?));
        }
        _ => {
            let op = plain_op(op).ok_or_else(|| error(whole, "bad operator"))?;
            out.push(c(op, version));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Maven

/// Reads a Maven version range: `[1.0,2.0)`, `(,1.0]`, `[1.2]` (exactly 1.2), `[1.5,)`,
/// and several ranges joined by commas (`(,1.0],[1.2,)`), each one alternative.
///
/// A bare version (`1.0`) is, for Maven dependency resolution, a soft "recommended"
/// version that any version satisfies; in an advisory it names one affected version, so
/// it is read as `= 1.0`.
pub fn maven(range: &str) -> Result<Alternatives, RangeError> {
    let text = range.trim();
    if text.is_empty() {
        return Err(error(range, "empty range"));
    }
    if !text.starts_with(['[', '(']) {
        if text.contains([',', '[', ']', '(', ')']) {
            return Err(error(range, "a version with range punctuation"));
        }
        return Ok(vec![vec![c(Op::Eq, text)]]);
    }
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|ch: char| ch == ',' || ch.is_whitespace());
        if rest.is_empty() {
            break;
        }
        let open = rest.chars().next().unwrap_or(' ');
        if open != '[' && open != '(' {
            return Err(error(range, "text between ranges"));
        }
        let end = rest
            .find([']', ')'])
            .ok_or_else(|| error(range, "unclosed range"))?;
        let close = rest[end..].chars().next().unwrap_or(' ');
        let inner = &rest[1..end];
        rest = &rest[end + 1..];
        if inner.contains(['[', '(']) {
            return Err(error(range, "nested brackets"));
        }
        let bounds: Vec<&str> = inner.split(',').map(str::trim).collect();
        match bounds.as_slice() {
            [single] => {
                if open != '[' || close != ']' || single.is_empty() {
                    return Err(error(range, "a single version must be written [v]"));
                }
                out.push(vec![c(Op::Eq, *single)]);
            }
            [lower, upper] => {
                let mut conj = Vec::new();
                if !lower.is_empty() {
                    conj.push(c(if open == '[' { Op::Ge } else { Op::Gt }, *lower));
                }
                if !upper.is_empty() {
                    conj.push(c(if close == ']' { Op::Le } else { Op::Lt }, *upper));
                }
                if conj.is_empty() {
                    return Err(error(range, "a range without bounds"));
                }
                out.push(conj);
            }
            _ => return Err(error(range, "more than two bounds")),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// victims-cve-db

/// Reads one victims-cve-db version expression: `<=2.0.11.2,2.0`, `>=1.2.4,1.2`,
/// `==3.1.0`, `<=1.0.4`.
///
/// The form is `<op><version>[,<series>]` with `op` one of `<=`, `>=`, `==`, `<`, `>`,
/// `=`. victims' README gives the `^[<>=]=.*$` shape; its tools read the part after the
/// comma as a series: the expression only covers versions that start with that prefix. So
/// `<=2.0.11.2,2.0` is `>= 2.0, <= 2.0.11.2` (versions up to 2.0.11.2 in the 2.0 series)
/// and `>=1.2.4,1.2` is `>= 1.2.4, < 1.3`. A series that does not end in a number
/// (`3.6.2.Final-redhat`, `1.0.0-`) is cut back to its numeric part (`3.6.2`, `1.0.0`),
/// which makes the series a little wider than victims' string prefix.
pub fn victims(expr: &str) -> Result<Alternatives, RangeError> {
    let text = expr.trim();
    let (op, rest) = split_op(text, &["<=", ">=", "==", "<", ">", "="]);
    if op.is_empty() {
        return Err(error(expr, "no operator"));
    }
    let (version, series) = match rest.split_once(',') {
        Some((v, s)) => (v.trim(), Some(s.trim())),
        None => (rest, None),
    };
    if version.is_empty() {
        return Err(error(expr, "no version"));
    }
    let op = plain_op(op).ok_or_else(|| error(expr, "bad operator"))?;
    let mut conj = Vec::new();
    let series = series.filter(|s| !s.is_empty()).map(numeric_prefix);
    match (op, series) {
        (Op::Le | Op::Lt, Some(Some(series))) => {
            conj.push(c(Op::Ge, series.join(".")));
            conj.push(c(op, version));
        }
        (Op::Ge | Op::Gt, Some(Some(series))) => {
            conj.push(c(op, version));
            let parts: Vec<&str> = series.iter().map(String::as_str).collect();
            conj.push(c(Op::Lt, series_end(&parts)));
        }
        (_, Some(None)) => return Err(error(expr, "a series without a number")),
        _ => conj.push(c(op, version)),
    }
    Ok(vec![conj])
}

/// The leading dot-separated numeric parts of a series (`3.6.2.Final-redhat` → 3.6.2).
fn numeric_prefix(series: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    for part in series.split('.') {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        let whole = digits.len() == part.len();
        parts.push(digits);
        if !whole {
            break;
        }
    }
    (!parts.is_empty()).then_some(parts)
}

/// The first version after a series: its last part incremented (`2.0` → `2.1`, `2` → `3`).
fn series_end(parts: &[&str]) -> String {
    let mut out: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
    if let Some(last) = out.last_mut() {
        *last = last
            .parse::<u64>()
            .map(bump)
            .unwrap_or(u64::MAX)
            .to_string();
    }
    out.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders alternatives as `a b || c` for compact expectations.
    fn show(alts: &Alternatives) -> String {
        alts.iter()
            .map(|conj| {
                conj.iter()
                    .map(|k| {
                        let op = match k.op {
                            Op::Lt => "<",
                            Op::Le => "<=",
                            Op::Gt => ">",
                            Op::Ge => ">=",
                            Op::Eq => "=",
                            Op::Ne => "!=",
                        };
                        format!("{op}{}", k.version)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" || ")
    }

    fn npm_s(r: &str) -> String {
        show(&npm(r).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn npm_readme_vectors() {
        // node-semver README, "Advanced Range Syntax".
        let cases = [
            ("1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"),
            ("1.2 - 2.3.4", ">=1.2.0 <=2.3.4"),
            ("1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"),
            ("1.2.3 - 2", ">=1.2.3 <3.0.0-0"),
            ("*", ">=0.0.0"),
            ("", ">=0.0.0"),
            ("1.x", ">=1.0.0 <2.0.0-0"),
            ("1.2.x", ">=1.2.0 <1.3.0-0"),
            ("1", ">=1.0.0 <2.0.0-0"),
            ("1.2", ">=1.2.0 <1.3.0-0"),
            ("~1.2.3", ">=1.2.3 <1.3.0-0"),
            ("~1.2", ">=1.2.0 <1.3.0-0"),
            ("~1", ">=1.0.0 <2.0.0-0"),
            ("~0.2.3", ">=0.2.3 <0.3.0-0"),
            ("~0.2", ">=0.2.0 <0.3.0-0"),
            ("~0", ">=0.0.0 <1.0.0-0"),
            ("~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"),
            ("^1.2.3", ">=1.2.3 <2.0.0-0"),
            ("^0.2.3", ">=0.2.3 <0.3.0-0"),
            ("^0.0.3", ">=0.0.3 <0.0.4-0"),
            ("^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"),
            ("^0.0.3-beta", ">=0.0.3-beta <0.0.4-0"),
            ("^1.2.x", ">=1.2.0 <2.0.0-0"),
            ("^0.0.x", ">=0.0.0 <0.1.0-0"),
            ("^0.0", ">=0.0.0 <0.1.0-0"),
            ("^1.x", ">=1.0.0 <2.0.0-0"),
            ("^0.x", ">=0.0.0 <1.0.0-0"),
            // README "Ranges" examples and partial comparators.
            (">=1.2.7 <1.3.0", ">=1.2.7 <1.3.0"),
            ("1.2.7 || >=1.2.9 <2.0.0", "=1.2.7 || >=1.2.9 <2.0.0"),
            ("<1.2", "<1.2.0-0"),
            ("<=1.2", "<1.3.0-0"),
            (">1.2", ">=1.3.0"),
            (">1", ">=2.0.0"),
            (">=1.2", ">=1.2.0"),
            ("<*", "<0.0.0-0"),
            ("=1.2.3", "=1.2.3"),
            ("v1.2.3", "=1.2.3"),
            (">= 1.2.3 <= v2.0.0", ">=1.2.3 <=2.0.0"),
            ("<=1.0.0+build.1", "<=1.0.0"),
            ("~>1.2.3", ">=1.2.3 <1.3.0-0"),
        ];
        for (input, want) in cases {
            assert_eq!(npm_s(input), want, "{input:?}");
        }
        // As the Node.js security-wg data writes them.
        assert_eq!(
            npm_s("<2.0.0 || < 3.0.0 > 2.1.0"),
            "<2.0.0 || <3.0.0 >2.1.0"
        );
        assert_eq!(
            npm_s(">=4.0.0 < 4.2.1|| >=5.0.0"),
            ">=4.0.0 <4.2.1 || >=5.0.0"
        );
        assert_eq!(npm_s("<=v1.0.0-alpha1"), "<=1.0.0-alpha1");
        assert_eq!(npm_s(">= 1.x"), ">=1.0.0");
    }

    #[test]
    fn npm_rejects_garbage() {
        for bad in [
            "1.2.3.4",
            ">=abc",
            ">=",
            "1.2.3 - ",
            "^1.2.3-",
            "1.2.3-be ta",
        ] {
            assert!(npm(bad).is_err(), "{bad:?}");
        }
    }

    fn cargo_s(r: &str) -> String {
        show(&cargo(r).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn cargo_book_vectors() {
        // The Cargo book, "Specifying Dependencies".
        let cases = [
            ("1.2.3", ">=1.2.3 <2.0.0"),
            ("1.2", ">=1.2.0 <2.0.0"),
            ("1", ">=1.0.0 <2.0.0"),
            ("0.2.3", ">=0.2.3 <0.3.0"),
            ("0.2", ">=0.2.0 <0.3.0"),
            ("0.0.3", ">=0.0.3 <0.0.4"),
            ("0.0", ">=0.0.0 <0.1.0"),
            ("0", ">=0.0.0 <1.0.0"),
            ("^1.2.3", ">=1.2.3 <2.0.0"),
            ("^ 0.2.3", ">=0.2.3 <0.3.0"),
            ("~1.2.3", ">=1.2.3 <1.3.0"),
            ("~1.2", ">=1.2.0 <1.3.0"),
            ("~1", ">=1.0.0 <2.0.0"),
            ("*", ">=0.0.0"),
            ("1.*", ">=1.0.0 <2.0.0"),
            ("1.2.*", ">=1.2.0 <1.3.0"),
            ("= 1.0", ">=1.0.0 <1.1.0"),
            ("=1.2.3", "=1.2.3"),
            (">= 1.2.0", ">=1.2.0"),
            ("> 1", ">=2.0.0"),
            ("< 2", "<2.0.0"),
            ("< 0.3", "<0.3.0"),
            ("<= 1.2", "<1.3.0"),
            (">= 1.2, < 1.5", ">=1.2.0 <1.5.0"),
            // As RustSec writes them.
            (">= 0.6.10", ">=0.6.10"),
            ("< 0.6.5", "<0.6.5"),
            (">= 1.0.0-alpha.5", ">=1.0.0-alpha.5"),
            ("< 0.1.4-rc1", "<0.1.4-rc1"),
            (">= 0.3.4 ", ">=0.3.4"),
            (">=1.0.1, <1.1.0-0", ">=1.0.1 <1.1.0-0"),
        ];
        for (input, want) in cases {
            assert_eq!(cargo_s(input), want, "{input:?}");
        }
        for bad in ["", ">= ", ">= *", "1.2.3.4", "foo"] {
            assert!(cargo(bad).is_err(), "{bad:?}");
        }
    }

    fn gem_s(r: &[&str]) -> String {
        show(&gem(r).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn gem_requirement_vectors() {
        // Gem::Requirement / Gem::Version#bump documentation.
        assert_eq!(gem_s(&["~> 1.2.3"]), ">=1.2.3 <1.3");
        assert_eq!(gem_s(&["~> 1.2"]), ">=1.2 <2");
        assert_eq!(gem_s(&["~> 1"]), ">=1 <2");
        assert_eq!(gem_s(&["~> 5.3.1.b.2"]), ">=5.3.1.b.2 <5.4");
        assert_eq!(gem_s(&["~> 1.5.11.rc1.2"]), ">=1.5.11.rc1.2 <1.6");
        assert_eq!(gem_s(&["~> 2.2.0", ">= 2.2.3"]), ">=2.2.0 <2.3 >=2.2.3");
        assert_eq!(gem_s(&["~> 4.2.5, >= 4.2.5.1"]), ">=4.2.5 <4.3 >=4.2.5.1");
        assert_eq!(gem_s(&[">= 1.2, < 1.3"]), ">=1.2 <1.3");
        assert_eq!(gem_s(&["1.0.0"]), "=1.0.0");
        assert_eq!(gem_s(&["!= 1.0.0"]), "!=1.0.0");
        assert_eq!(gem_s(&["= 3.1.0-alpha"]), "=3.1.0-alpha");
        assert_eq!(gem_s(&[]), "");
        for bad in [&["~>"][..], &[">= abc"], &["> 1 2"]] {
            assert!(gem(bad).is_err(), "{bad:?}");
        }
    }

    fn composer_s(r: &str) -> String {
        show(&composer(r).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn composer_doc_vectors() {
        // getcomposer.org, "Writing Version Constraints".
        let cases = [
            (">=1.0", ">=1.0"),
            (">=1.0 <2.0", ">=1.0 <2.0"),
            (">=1.0,<1.1 || >=1.2", ">=1.0 <1.1 || >=1.2"),
            ("1.0 - 2.0", ">=1.0 <2.1.0"),
            ("1.0.0 - 2.1.0", ">=1.0.0 <=2.1.0"),
            ("1.0.*", ">=1.0 <1.1.0"),
            ("~1.2", ">=1.2 <2.0.0"),
            ("~1.2.3", ">=1.2.3 <1.3.0"),
            ("~1", ">=1 <2.0.0"),
            ("^1.2.3", ">=1.2.3 <2.0.0"),
            ("^0.3", ">=0.3 <0.4.0"),
            ("^0.0.3", ">=0.0.3 <0.0.4"),
            ("*", ""),
            ("1.0.2", "=1.0.2"),
            ("!=1.0.2", "!=1.0.2"),
            ("<2.0|>=3.0", "<2.0 || >=3.0"),
            ("v1.0.0", "=1.0.0"),
            (">=1.0@dev", ">=1.0"),
            // As FriendsOfPHP writes them.
            (">=2.0.0-beta1,<2.0.1", ">=2.0.0-beta1 <2.0.1"),
            ("<2.3.4-p1", "<2.3.4-p1"),
            (">= 1.0, < 1.2.3", ">=1.0 <1.2.3"),
        ];
        for (input, want) in cases {
            assert_eq!(composer_s(input), want, "{input:?}");
        }
        for bad in ["", ">=", ">=abc", "1.0 -", "~foo"] {
            assert!(composer(bad).is_err(), "{bad:?}");
        }
    }

    fn maven_s(r: &str) -> String {
        show(&maven(r).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn maven_doc_vectors() {
        // Maven "Dependency Version Requirement Specification".
        let cases = [
            ("1.0", "=1.0"),
            ("(,1.0]", "<=1.0"),
            ("[1.0]", "=1.0"),
            ("[1.2,1.3]", ">=1.2 <=1.3"),
            ("[1.0,2.0)", ">=1.0 <2.0"),
            ("[1.5,)", ">=1.5"),
            ("(,1.0],[1.2,)", "<=1.0 || >=1.2"),
            ("(,1.1),(1.1,)", "<1.1 || >1.1"),
            (
                "[2.0.0.RELEASE, 2.0.3.RELEASE)",
                ">=2.0.0.RELEASE <2.0.3.RELEASE",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(maven_s(input), want, "{input:?}");
        }
        for bad in ["", "[1.0", "(1.0)", "[1,2,3]", "[,]", "1.0,2.0", "[1.0] x"] {
            assert!(maven(bad).is_err(), "{bad:?}");
        }
    }

    fn victims_s(r: &str) -> String {
        show(&victims(r).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn victims_vectors() {
        let cases = [
            ("<=2.0.11.2,2.0", ">=2.0 <=2.0.11.2"),
            (">=2.0.12,2.0", ">=2.0.12 <2.1"),
            ("<=7.0.1", "<=7.0.1"),
            (">=5.5.0", ">=5.5.0"),
            ("==5.5.5", "=5.5.5"),
            ("<=4.3.18.RELEASE,4", ">=4 <=4.3.18.RELEASE"),
            (">=4.3.19.RELEASE,4", ">=4.3.19.RELEASE <5"),
            (
                "<=3.6.2.Final-redhat-3,3.6.2.Final-redhat",
                ">=3.6.2 <=3.6.2.Final-redhat-3",
            ),
            (">=1.0.0-1,1.0.0-", ">=1.0.0-1 <1.0.1"),
            ("==1.2.0,1.2", "=1.2.0"),
        ];
        for (input, want) in cases {
            assert_eq!(victims_s(input), want, "{input:?}");
        }
        for bad in ["2.0", "<=", "<=1.0,abc"] {
            assert!(victims(bad).is_err(), "{bad:?}");
        }
    }
}
