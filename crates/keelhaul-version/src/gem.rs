//! RubyGems ordering: `Gem::Version#<=>`.
//!
//! A version must match `Gem::Version::ANCHORED_VERSION_PATTERN`
//! (`\A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z`); blank
//! means `0`. After `strip` and replacing `-` with `.pre.`, the segments are the runs of
//! digits (integers, unbounded) and of letters (strings). `canonical_segments` splits them
//! at the first string, drops trailing zeros from both halves and joins them again; then
//! segments are compared pairwise with missing ones as `0`, a string below a number and
//! strings compared bytewise. Invalid text is an error, as `Gem::Version.new` raises.

use std::cmp::Ordering;

use crate::util::{cmp_digits, invalid};
use crate::{Scheme, VersionError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// Digits without leading zeros (`"0"` for zero).
    Num(String),
    Str(String),
}

impl Seg {
    fn is_zero(&self) -> bool {
        matches!(self, Seg::Num(n) if n == "0")
    }
}

/// Ruby's `\s`: `[ \t\r\n\f\v]`.
fn is_ruby_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\x0b')
}

/// `ANCHORED_VERSION_PATTERN`.
fn is_correct(v: &str) -> bool {
    let s = v.as_bytes();
    let mut i = 0;
    while i < s.len() && is_ruby_space(s[i]) {
        i += 1;
    }
    let mut j = s.len();
    while j > i && is_ruby_space(s[j - 1]) {
        j -= 1;
    }
    let body = &v[i..j];
    if body.is_empty() {
        return true;
    }
    let (main, pre) = match body.find('-') {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let mut parts = main.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !first_ok || !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return false;
    }
    match pre {
        None => true,
        // `-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*`: the identifiers may contain more dashes.
        Some(pre) => pre
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
    }
}

/// `canonical_segments`.
fn canonical_segments(v: &str) -> Vec<Seg> {
    let stripped = v.trim_matches(|c: char| c.is_ascii() && is_ruby_space(c as u8));
    let text = if stripped.is_empty() {
        "0".to_owned()
    } else {
        stripped.replace('-', ".pre.")
    };
    // `scan(/[0-9]+|[a-z]+/i)`.
    let mut segs = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let d = text[start..i].trim_start_matches('0');
            segs.push(Seg::Num(if d.is_empty() { "0" } else { d }.to_owned()));
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            segs.push(Seg::Str(text[start..i].to_owned()));
        } else {
            i += 1;
        }
    }
    let split = segs
        .iter()
        .position(|s| matches!(s, Seg::Str(_)))
        .unwrap_or(segs.len());
    let mut strings = segs.split_off(split);
    let mut numbers = segs;
    for half in [&mut numbers, &mut strings] {
        while half.last().is_some_and(Seg::is_zero) {
            half.pop();
        }
    }
    numbers.extend(strings);
    numbers
}

/// Compares two gem versions; fails on text `Gem::Version.new` rejects.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    for v in [a, b] {
        if !is_correct(v) {
            return Err(invalid(
                Scheme::RubyGems,
                v,
                "malformed version number string",
            ));
        }
    }
    let (la, lb) = (canonical_segments(a), canonical_segments(b));
    let zero = Seg::Num("0".into());
    for i in 0..la.len().max(lb.len()) {
        let l = la.get(i).unwrap_or(&zero);
        let r = lb.get(i).unwrap_or(&zero);
        if l == r {
            continue;
        }
        return Ok(match (l, r) {
            (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
            (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
            (Seg::Num(x), Seg::Num(y)) => cmp_digits(x, y),
            (Seg::Str(x), Seg::Str(y)) => x.cmp(y),
        });
    }
    Ok(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use crate::Scheme;
    use crate::util::testing::{check_invalid, check_sorted, check_table, check_valid};

    /// rubygems test/rubygems/test_gem_version.rb (`test_spaceship`, `test_equals2`,
    /// `test_initialize`, `test_initialize_bad`, `test_semver` without build metadata,
    /// which current rubygems rejects).
    #[test]
    fn rubygems_vectors() {
        check_table(
            Scheme::RubyGems,
            &[
                ("1.0", "1.0.0", 0),
                ("1.0", "1.0.a", 1),
                ("1.8.2", "0.0.0", 1),
                ("1.8.2", "1.8.2.a", 1),
                ("1.8.2.b", "1.8.2.a", 1),
                ("1.8.2.a", "1.8.2", -1),
                ("1.8.2.a10", "1.8.2.a9", 1),
                ("", "0", 0),
                ("1.2", "1.2", 0),
                ("1.2", "1.3", -1),
                ("1.2.b1", "1.2.b.1", 0),
                ("1.0", "1.0 ", 0),
                ("1.0", " 1.0 ", 0),
                ("1.0", "1.0\n", 0),
                ("1.0", "\n1.0\n", 0),
            ],
        );
        check_sorted(
            Scheme::RubyGems,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
        check_invalid(
            Scheme::RubyGems,
            &["junk", "1.0\n2.0", "1.0+build", "1.0-", "a1", "1..0"],
        );
        check_valid(
            Scheme::RubyGems,
            &["1.0--", "1.0-a-b.c", "0", "  ", "22.1.50.0.d", "1.A"],
        );
    }
}
