//! SemVer 2.0 ordering, two flavours:
//!
//! * [`compare`]: node `semver`'s `compare(a, b)` without `loose` (npm, crates.io, …).
//!   Parsing is node-semver's strict `FULL` pattern: an optional leading `v` (not `=`,
//!   not `V`: `semver.compare('=1.2.3', …)` throws), `MAJOR.MINOR.PATCH` without leading
//!   zeros, optional `-prerelease` and `+build`, surrounding whitespace trimmed, at most
//!   256 UTF-16 units, and every core number ≤ `Number.MAX_SAFE_INTEGER`. Build metadata
//!   is ignored. Numeric prerelease identifiers below `MAX_SAFE_INTEGER` are numbers, all
//!   other identifiers strings; the comparison follows `comparePre`/`compareIdentifiers`
//!   including its JavaScript number conversion of huge numeric identifiers.
//! * [`compare_go`]: `golang.org/x/mod/semver.Compare`. The leading `v` that Go requires is
//!   added when missing; `v1` and `v1.2` mean `v1.0.0` and `v1.2.0`; build metadata
//!   (`+incompatible`) is ignored; pseudo-versions are ordinary prereleases; numbers
//!   have no size limit. Go's `Compare` treats invalid strings as equal to each other and
//!   below every valid one; we return an error instead.

use std::cmp::Ordering;

use crate::util::{cmp_digits, invalid};
use crate::{Scheme, VersionError};

/// `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;

/// A node-semver prerelease identifier after the constructor's conversion.
#[derive(Debug, Clone, PartialEq)]
enum Ident {
    Num(u64),
    Str(String),
}

#[derive(Debug)]
struct NodeVersion {
    main: [u64; 3],
    pre: Vec<Ident>,
}

/// JavaScript's `String.prototype.trim` whitespace set.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// `0|[1-9]\d*`
fn is_numeric_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn is_ldn(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// `\d*[a-zA-Z-][a-zA-Z0-9-]*`: any `[a-zA-Z0-9-]+` with at least one non-digit.
fn is_nonnumeric_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_ldn) && !s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_node(input: &str) -> Result<NodeVersion, VersionError> {
    let bad = |why: &str| invalid(Scheme::Semver, input, why);
    if input.encode_utf16().count() > MAX_LENGTH {
        return Err(bad("longer than 256 characters"));
    }
    let s = input.trim_matches(is_js_space);
    let s = s.strip_prefix('v').unwrap_or(s);
    let (rest, build) = match s.find('+') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    if let Some(build) = build
        && build
            .split('.')
            .any(|id| id.is_empty() || !id.bytes().all(is_ldn))
    {
        return Err(bad("invalid build metadata"));
    }
    let (core, pre) = match rest.find('-') {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    let mut main = [0u64; 3];
    let mut parts = core.split('.');
    for slot in &mut main {
        let part = parts.next().ok_or_else(|| bad("needs MAJOR.MINOR.PATCH"))?;
        if !is_numeric_identifier(part) {
            return Err(bad("invalid numeric component"));
        }
        // Longer than 16 digits is always above MAX_SAFE_INTEGER.
        let n = if part.len() > 16 {
            u64::MAX
        } else {
            part.parse::<u64>().map_err(|_| bad("invalid number"))?
        };
        if n > MAX_SAFE_INTEGER {
            return Err(bad("component above Number.MAX_SAFE_INTEGER"));
        }
        *slot = n;
    }
    if parts.next().is_some() {
        return Err(bad("too many components"));
    }
    let mut idents = Vec::new();
    if let Some(pre) = pre {
        for id in pre.split('.') {
            if !(is_numeric_identifier(id) || is_nonnumeric_identifier(id)) {
                return Err(bad("invalid prerelease identifier"));
            }
            // The constructor keeps all-digit identifiers as numbers only below
            // MAX_SAFE_INTEGER (strictly).
            let as_num = if id.bytes().all(|b| b.is_ascii_digit()) && id.len() <= 16 {
                id.parse::<u64>().ok().filter(|&n| n < MAX_SAFE_INTEGER)
            } else {
                None
            };
            idents.push(match as_num {
                Some(n) => Ident::Num(n),
                None => Ident::Str(id.to_owned()),
            });
        }
    }
    Ok(NodeVersion { main, pre: idents })
}

/// `compareIdentifiers` from node-semver's `internal/identifiers.js`.
fn compare_identifiers(a: &Ident, b: &Ident) -> Ordering {
    let is_num = |i: &Ident| match i {
        Ident::Num(_) => true,
        Ident::Str(s) => s.bytes().all(|b| b.is_ascii_digit()),
    };
    // JavaScript `+id`: exact for numbers below 2^53, correctly rounded otherwise.
    let as_f64 = |i: &Ident| match i {
        Ident::Num(n) => *n as f64,
        Ident::Str(s) => s.parse::<f64>().unwrap_or(f64::NAN),
    };
    match (a, b) {
        (Ident::Num(x), Ident::Num(y)) => x.cmp(y),
        _ => {
            let (an, bn) = (is_num(a), is_num(b));
            if an && bn {
                as_f64(a)
                    .partial_cmp(&as_f64(b))
                    .unwrap_or(Ordering::Greater)
            } else if an {
                Ordering::Less
            } else if bn {
                Ordering::Greater
            } else if let (Ident::Str(x), Ident::Str(y)) = (a, b) {
                // JS string `<` compares UTF-16 units; identifiers are ASCII here.
                x.cmp(y)
            } else {
                Ordering::Greater
            }
        }
    }
}

/// Compares two versions as node `semver.compare(a, b)` does.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let va = parse_node(a)?;
    let vb = parse_node(b)?;
    let main = va.main.cmp(&vb.main);
    if main != Ordering::Equal {
        return Ok(main);
    }
    Ok(match (va.pre.is_empty(), vb.pre.is_empty()) {
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => Ordering::Equal,
        (false, false) => {
            let mut i = 0;
            loop {
                match (va.pre.get(i), vb.pre.get(i)) {
                    (None, None) => break Ordering::Equal,
                    (Some(_), None) => break Ordering::Greater,
                    (None, Some(_)) => break Ordering::Less,
                    // `a === b`: same type and value.
                    (Some(x), Some(y)) if x == y => i += 1,
                    // node returns compareIdentifiers even when it is 0 (two huge
                    // numeric strings that round to the same double).
                    (Some(x), Some(y)) => break compare_identifiers(x, y),
                }
            }
        }
    })
}

/// A Go semantic version: numbers as digit strings, prerelease without its `-`.
struct GoVersion<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: &'a str,
}

/// `0|[1-9][0-9]*` at the start of `v`, like Go's `parseInt`.
fn go_int(v: &str) -> Option<(&str, &str)> {
    let n = v.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || (v.starts_with('0') && n != 1) {
        return None;
    }
    Some((&v[..n], &v[n..]))
}

fn go_is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

fn go_is_bad_num(v: &str) -> bool {
    v.len() > 1 && v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit())
}

fn parse_go(input: &str) -> Result<GoVersion<'_>, VersionError> {
    let bad = |why: &str| invalid(Scheme::Go, input, why);
    // Go requires the `v`; OSV and go.mod sometimes omit it, so we accept both.
    let v = input.strip_prefix('v').unwrap_or(input);
    let (major, v) = go_int(v).ok_or_else(|| bad("invalid major version"))?;
    let (minor, v) = match v.strip_prefix('.') {
        None if v.is_empty() => {
            return Ok(GoVersion {
                major,
                minor: "0",
                patch: "0",
                pre: "",
            });
        }
        None => return Err(bad("expected '.' after major version")),
        Some(v) => go_int(v).ok_or_else(|| bad("invalid minor version"))?,
    };
    let (patch, v) = match v.strip_prefix('.') {
        None if v.is_empty() => {
            return Ok(GoVersion {
                major,
                minor,
                patch: "0",
                pre: "",
            });
        }
        None => return Err(bad("expected '.' after minor version")),
        Some(v) => go_int(v).ok_or_else(|| bad("invalid patch version"))?,
    };
    let (pre, v) = match v.strip_prefix('-') {
        Some(rest) => {
            let end = rest.find('+').unwrap_or(rest.len());
            let pre = &rest[..end];
            for id in pre.split('.') {
                if id.is_empty() || !id.bytes().all(go_is_ident_char) || go_is_bad_num(id) {
                    return Err(bad("invalid prerelease"));
                }
            }
            (pre, &rest[end..])
        }
        None => ("", v),
    };
    if let Some(build) = v.strip_prefix('+') {
        if build
            .split('.')
            .any(|id| id.is_empty() || !id.bytes().all(go_is_ident_char))
        {
            return Err(bad("invalid build metadata"));
        }
    } else if !v.is_empty() {
        return Err(bad("trailing characters"));
    }
    Ok(GoVersion {
        major,
        minor,
        patch,
        pre,
    })
}

/// Go's `comparePrerelease` on prereleases without the leading `-`.
fn go_compare_prerelease(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    if x.is_empty() {
        return Ordering::Greater;
    }
    if y.is_empty() {
        return Ordering::Less;
    }
    let mut xs = x.split('.');
    let mut ys = y.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (Some(dx), Some(dy)) => {
                if dx == dy {
                    continue;
                }
                let ix = dx.bytes().all(|b| b.is_ascii_digit());
                let iy = dy.bytes().all(|b| b.is_ascii_digit());
                return match (ix, iy) {
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (true, true) => cmp_digits(dx, dy),
                    (false, false) => dx.cmp(dy),
                };
            }
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
        }
    }
}

/// Compares two Go module versions as `golang.org/x/mod/semver.Compare` does.
pub(crate) fn compare_go(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let va = parse_go(a)?;
    let vb = parse_go(b)?;
    Ok(cmp_digits(va.major, vb.major)
        .then_with(|| cmp_digits(va.minor, vb.minor))
        .then_with(|| cmp_digits(va.patch, vb.patch))
        .then_with(|| go_compare_prerelease(va.pre, vb.pre)))
}

#[cfg(test)]
mod tests {
    use crate::Scheme;
    use crate::util::testing::{check_invalid, check_table, check_valid};

    /// node-semver test/fixtures/comparisons.js (`[greater, smaller]`), strict entries;
    /// the loose-only ones with a leading `v` are valid in strict mode too.
    #[test]
    fn node_semver_comparisons() {
        let greater_smaller: &[(&str, &str)] = &[
            ("0.0.0", "0.0.0-foo"),
            ("0.0.1", "0.0.0"),
            ("1.0.0", "0.9.9"),
            ("0.10.0", "0.9.0"),
            ("0.99.0", "0.10.0"),
            ("2.0.0", "1.2.3"),
            ("v0.0.0", "0.0.0-foo"),
            ("v0.0.1", "0.0.0"),
            ("v1.0.0", "0.9.9"),
            ("v0.10.0", "0.9.0"),
            ("v0.99.0", "0.10.0"),
            ("v2.0.0", "1.2.3"),
            ("0.0.0", "v0.0.0-foo"),
            ("0.0.1", "v0.0.0"),
            ("1.0.0", "v0.9.9"),
            ("0.10.0", "v0.9.0"),
            ("0.99.0", "v0.10.0"),
            ("2.0.0", "v1.2.3"),
            ("1.2.3", "1.2.3-asdf"),
            ("1.2.3", "1.2.3-4"),
            ("1.2.3", "1.2.3-4-foo"),
            ("1.2.3-5-foo", "1.2.3-5"),
            ("1.2.3-5", "1.2.3-4"),
            ("1.2.3-5-foo", "1.2.3-5-Foo"),
            ("3.0.0", "2.7.2+asdf"),
            ("1.2.3-a.10", "1.2.3-a.5"),
            ("1.2.3-a.b", "1.2.3-a.5"),
            ("1.2.3-a.b", "1.2.3-a"),
            ("1.2.3-a.b.c.10.d.5", "1.2.3-a.b.c.5.d.100"),
            ("1.2.3-r2", "1.2.3-r100"),
            ("1.2.3-r100", "1.2.3-R2"),
        ];
        let table: Vec<(&str, &str, i8)> =
            greater_smaller.iter().map(|&(g, s)| (g, s, 1)).collect();
        check_table(Scheme::Semver, &table);
    }

    /// node-semver test/fixtures/equality.js, strict entries.
    #[test]
    fn node_semver_equality() {
        check_table(
            Scheme::Semver,
            &[
                ("1.2.3", "v1.2.3", 0),
                ("1.2.3", " v1.2.3 ", 0),
                ("1.2.3-beta+build", "1.2.3-beta+otherbuild", 0),
                ("1.2.3+build", "1.2.3+otherbuild", 0),
                ("  v1.2.3+build", "1.2.3+otherbuild", 0),
                ("1.2.3-0", "1.2.3-0+build", 0),
            ],
        );
        // `=` and `V` prefixes and partial versions are loose-only: semver.compare throws.
        check_invalid(
            Scheme::Semver,
            &[
                "=1.2.3",
                "V1.2.3",
                "1.2",
                "01.2.3",
                "1.2.3-01",
                "1.2.3-a..b",
                "1.2.3-é",
                "",
            ],
        );
        check_valid(
            Scheme::Semver,
            &["1.2.3-0.a.b-c+x-y.z", "9007199254740991.0.0"],
        );
        check_invalid(Scheme::Semver, &["9007199254740992.0.0"]);
    }

    /// SemVer 2.0 §11 precedence example.
    #[test]
    fn semver_spec_precedence() {
        crate::util::testing::check_sorted(
            Scheme::Semver,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
    }

    /// golang.org/x/mod/semver semver_test.go: `tests` is in order (entries with the
    /// same canonical form compare equal; invalid ones are errors for us).
    #[test]
    fn go_semver_tests() {
        let tests: &[(&str, &str)] = &[
            ("bad", ""),
            ("v1-alpha.beta.gamma", ""),
            ("v1-pre", ""),
            ("v1+meta", ""),
            ("v1-pre+meta", ""),
            ("v1.2-pre", ""),
            ("v1.2+meta", ""),
            ("v1.2-pre+meta", ""),
            ("v1.0.0-alpha", "v1.0.0-alpha"),
            ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
            ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
            ("v1.0.0-beta", "v1.0.0-beta"),
            ("v1.0.0-beta.2", "v1.0.0-beta.2"),
            ("v1.0.0-beta.11", "v1.0.0-beta.11"),
            ("v1.0.0-rc.1", "v1.0.0-rc.1"),
            ("v1", "v1.0.0"),
            ("v1.0", "v1.0.0"),
            ("v1.0.0", "v1.0.0"),
            ("v1.2", "v1.2.0"),
            ("v1.2.0", "v1.2.0"),
            ("v1.2.3-456", "v1.2.3-456"),
            ("v1.2.3-456.789", "v1.2.3-456.789"),
            ("v1.2.3-456-789", "v1.2.3-456-789"),
            ("v1.2.3-456a", "v1.2.3-456a"),
            ("v1.2.3-pre", "v1.2.3-pre"),
            ("v1.2.3-pre+meta", "v1.2.3-pre"),
            ("v1.2.3-pre.1", "v1.2.3-pre.1"),
            ("v1.2.3-zzz", "v1.2.3-zzz"),
            ("v1.2.3", "v1.2.3"),
            ("v1.2.3+meta", "v1.2.3"),
            ("v1.2.3+meta-pre", "v1.2.3"),
            ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
        ];
        let invalid: Vec<&str> = tests
            .iter()
            .filter(|t| t.1.is_empty())
            .map(|t| t.0)
            .collect();
        check_invalid(Scheme::Go, &invalid);
        let valid: Vec<(&str, &str)> = tests.iter().filter(|t| !t.1.is_empty()).copied().collect();
        let mut table = Vec::new();
        for (i, a) in valid.iter().enumerate() {
            for b in &valid[i + 1..] {
                table.push((a.0, b.0, if a.1 == b.1 { 0 } else { -1 }));
            }
        }
        check_table(Scheme::Go, &table);
        check_table(
            Scheme::Go,
            &[
                ("v1", "v1", 0),
                ("v2", "v1", 1),
                ("v1", "v2", -1),
                ("v1.19", "v1.2", 1),
                // Accepted without the `v`; `+incompatible` ignored; pseudo-versions.
                ("1.2.3", "v1.2.3", 0),
                ("v2.0.0+incompatible", "v2.0.0", 0),
                (
                    "v0.0.0-20191109021931-daa7c04131f5",
                    "v0.0.0-20200101000000-aaaaaaaaaaaa",
                    -1,
                ),
                ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", 1),
                ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4", -1),
            ],
        );
    }
}
