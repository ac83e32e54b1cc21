//! Packagist ordering: `composer/semver` (3.x) `VersionParser::normalize`, then
//! `Comparator` — which is PHP's `version_compare` except for `dev-` branches.
//!
//! Normalisation follows `VersionParser::normalize`: trim, drop an `x as y` alias and an
//! `@stability` flag, `master`/`trunk`/`default` → `dev-…`, anything starting with `dev-`
//! (any case) is a branch, build metadata is dropped, then the classical
//! (`v?N(.N){0,3}` + modifier) or date (`YYYY[.:-]?MM…`) form is expanded to four numbers
//! plus `-alpha1`, `-RC`, `-patch2`, `-dev` …; `1.x-dev`-style numeric branches become
//! `1.9999999.9999999.9999999-dev`. Anything else is an error (composer throws
//! `UnexpectedValueException`).
//!
//! Comparison is PHP's `version_compare` on the normalised strings (canonicalisation at
//! digit/letter boundaries, numbers via `strtol`, and the special forms `dev < alpha = a <
//! beta = b < RC = rc < # < pl = p`, matched by prefix; unknown words sort below `dev`).
//! Composer gives two *different* `dev-` branches no order at all (neither `<`, `==` nor
//! `>`); to keep a total order we order them by their names' bytes.

use std::cmp::Ordering;

use crate::util::invalid;
use crate::{Scheme, VersionError};

/// PHP `trim()`'s default character set.
fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0b'])
}

/// `^([^,\s]++) ++as ++([^,\s]++)$` → the first part.
fn strip_alias(v: &str) -> &str {
    let is_tok = |c: char| c != ',' && !is_pcre_space(c);
    let first_len = v.find(|c: char| !is_tok(c)).unwrap_or(v.len());
    if first_len == 0 {
        return v;
    }
    let rest = &v[first_len..];
    let after_spaces = rest.trim_start_matches(' ');
    if after_spaces.len() == rest.len() {
        return v;
    }
    let Some(after_as) = after_spaces.strip_prefix("as") else {
        return v;
    };
    let target = after_as.trim_start_matches(' ');
    if target.len() == after_as.len() || target.is_empty() || !target.chars().all(is_tok) {
        return v;
    }
    &v[..first_len]
}

/// PCRE's `\s` without `/u`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_pcre_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The captures of composer's `$modifierRegex` when it matches the whole tail.
struct Modifier {
    stability: Option<String>,
    numbers: String,
    dev: bool,
}

fn starts_with_ci(s: &str, p: &str) -> bool {
    s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

/// `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$` (case
/// insensitive), tried in PCRE's order; returns the captures of the first full match.
fn match_modifier(tail: &str) -> Option<Modifier> {
    let seps: &[usize] = if tail.starts_with(['.', '_', '-']) {
        &[1, 0]
    } else {
        &[0]
    };
    for &sep in seps {
        let t = &tail[sep..];
        let mut options: Vec<(Option<&str>, &str)> = Vec::new();
        for alt in [
            "stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p",
        ] {
            if starts_with_ci(t, alt) {
                options.push((Some(&t[..alt.len()]), &t[alt.len()..]));
            }
        }
        options.push((None, t));
        for (stability, rest) in options {
            let (numbers, rest) = if stability.is_some() {
                // `(?:[.-]?\d+)*+`: possessive, so the longest run is the only choice.
                let b = rest.as_bytes();
                let mut i = 0;
                loop {
                    let j = if matches!(b.get(i), Some(b'.' | b'-'))
                        && b.get(i + 1).is_some_and(u8::is_ascii_digit)
                    {
                        i + 1
                    } else if b.get(i).is_some_and(u8::is_ascii_digit) {
                        i
                    } else {
                        break;
                    };
                    let mut k = j;
                    while b.get(k).is_some_and(u8::is_ascii_digit) {
                        k += 1;
                    }
                    i = k;
                }
                (&rest[..i], &rest[i..])
            } else {
                ("", rest)
            };
            let dev = if rest.is_empty() {
                Some(false)
            } else {
                let r = rest.strip_prefix(['.', '-']).unwrap_or(rest);
                (r.len() == 3 && r.eq_ignore_ascii_case("dev")).then_some(true)
            };
            if let Some(dev) = dev {
                return Some(Modifier {
                    stability: stability.map(str::to_owned),
                    numbers: numbers.to_owned(),
                    dev,
                });
            }
        }
    }
    None
}

fn expand_stability(s: &str) -> String {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "a" => "alpha".into(),
        "b" => "beta".into(),
        "p" | "pl" => "patch".into(),
        "rc" => "RC".into(),
        _ => l,
    }
}

/// Appends the modifier the way `normalize` does; `stable` (exact case) adds nothing.
fn with_modifier(mut version: String, m: &Modifier) -> String {
    if let Some(st) = &m.stability {
        if st == "stable" {
            return version;
        }
        version.push('-');
        version.push_str(&expand_stability(st));
        version.push_str(m.numbers.trim_start_matches(['.', '-']));
    }
    if m.dev {
        version.push_str("-dev");
    }
    version
}

fn digit_run(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?` + modifier + `$`.
fn classical(v: &str) -> Option<String> {
    let s = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let n = digit_run(s);
    // A longer run cannot match: the modifier never starts with a digit.
    if !(1..=5).contains(&n) {
        return None;
    }
    let mut parts = vec![&s[..n]];
    let mut rest = &s[n..];
    for _ in 0..3 {
        let d = rest.strip_prefix('.').map(digit_run).unwrap_or(0);
        if d == 0 {
            break;
        }
        parts.push(&rest[1..=d]);
        rest = &rest[1 + d..];
    }
    let m = match_modifier(rest)?;
    let mut version = parts.join(".");
    for _ in parts.len()..4 {
        version.push_str(".0");
    }
    Some(with_modifier(version, &m))
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)` + modifier + `$`, with PCRE's
/// backtracking over the repetition.
fn date(v: &str) -> Option<String> {
    let s = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let b = s.as_bytes();
    if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let is_sep = |c: Option<&u8>| matches!(c, Some(b'.' | b':' | b'-'));
    let digits_at =
        |i: usize, n: usize| i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit);
    // Every way `[.:-]?\d{2}` can match at `i`, greedy first.
    let pair = |i: usize| -> Vec<usize> {
        let mut out = Vec::new();
        if is_sep(b.get(i)) && digits_at(i + 1, 2) {
            out.push(i + 3);
        }
        if digits_at(i, 2) {
            out.push(i + 2);
        }
        out
    };
    // After the pairs: `(?:[.:-]?\d{1,3})?` then the modifier to the end.
    let tail = |i: usize| -> Option<(usize, Modifier)> {
        let mut ends = Vec::new();
        for start in [i + 1, i] {
            if start == i + 1 && !is_sep(b.get(i)) {
                continue;
            }
            for n in (1..=3).rev() {
                if digits_at(start, n) {
                    ends.push(start + n);
                }
            }
        }
        ends.push(i);
        ends.into_iter()
            .find_map(|e| match_modifier(&s[e..]).map(|m| (e, m)))
    };
    fn walk(
        i: usize,
        count: usize,
        pair: &dyn Fn(usize) -> Vec<usize>,
        tail: &dyn Fn(usize) -> Option<(usize, Modifier)>,
    ) -> Option<(usize, Modifier)> {
        if count < 6 {
            for next in pair(i) {
                if let Some(found) = walk(next, count + 1, pair, tail) {
                    return Some(found);
                }
            }
        }
        if count >= 1 { tail(i) } else { None }
    }
    let (end, m) = walk(4, 0, &pair, &tail)?;
    let version: String = s[..end]
        .chars()
        .map(|c| if c.is_ascii_digit() { c } else { '.' })
        .collect();
    Some(with_modifier(version, &m))
}

/// `normalizeBranch`.
fn normalize_branch(name: &str) -> String {
    let name = php_trim(name);
    let s = name.strip_prefix(['v', 'V']).unwrap_or(name);
    let n = digit_run(s);
    if n > 0 {
        let mut parts = vec![s[..n].to_owned()];
        let mut rest = &s[n..];
        let mut ok = true;
        while !rest.is_empty() {
            let Some(r) = rest.strip_prefix('.') else {
                ok = false;
                break;
            };
            let d = digit_run(r);
            let len = if d > 0 {
                d
            } else if r.starts_with(['x', 'X', '*']) {
                1
            } else {
                ok = false;
                break;
            };
            parts.push(r[..len].to_owned());
            rest = &r[len..];
        }
        if ok && parts.len() <= 4 {
            let mut version = parts[0].clone();
            for p in &parts[1..] {
                version.push('.');
                version.push_str(p);
            }
            for _ in parts.len()..4 {
                version.push_str(".x");
            }
            return version.replace(['*', 'X'], "x").replace('x', "9999999") + "-dev";
        }
    }
    format!("dev-{name}")
}

/// `VersionParser::normalize`.
pub(crate) fn normalize(input: &str) -> Result<String, VersionError> {
    let mut version = strip_alias(php_trim(input));
    // Strip an `@stability` flag.
    if let Some(at) = version.rfind('@') {
        let flag = &version[at + 1..];
        if ["stable", "RC", "beta", "alpha", "dev"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(flag))
        {
            version = &version[..at];
        }
    }
    let owned;
    if ["master", "trunk", "default"].contains(&version) {
        owned = format!("dev-{version}");
        version = &owned;
    }
    if starts_with_ci(version, "dev-") {
        return Ok(format!("dev-{}", &version[4..]));
    }
    // Strip build metadata: `^([^,\s+]++)\+[^\s]++$`.
    if let Some(plus) = version.find('+') {
        let (head, tail) = (&version[..plus], &version[plus + 1..]);
        if !head.is_empty()
            && !head.contains(|c: char| c == ',' || is_pcre_space(c))
            && !tail.is_empty()
            && !tail.contains(is_pcre_space)
        {
            version = head;
        }
    }
    if let Some(v) = classical(version).or_else(|| date(version)) {
        return Ok(v);
    }
    // Numeric dev branches: `(.*?)[.-]?dev$`.
    if version.len() >= 3 && starts_with_ci(&version[version.len() - 3..], "dev") {
        let head = &version[..version.len() - 3];
        let head = head.strip_suffix(['.', '-']).unwrap_or(head);
        let normalized = normalize_branch(head);
        if !normalized.contains("dev-") {
            return Ok(normalized);
        }
    }
    Err(invalid(Scheme::Composer, input, "invalid version string"))
}

/// PHP's `php_canonicalize_version`.
fn canonicalize(v: &[u8]) -> Vec<u8> {
    let isdig = |c: u8| c.is_ascii_digit();
    let isndig = |c: u8| !c.is_ascii_digit() && c != b'.';
    let mut out = Vec::with_capacity(v.len() * 2);
    let Some(&first) = v.first() else {
        return out;
    };
    out.push(first);
    let mut lp = first;
    for &p in &v[1..] {
        let lq = out.last().copied().unwrap_or(0);
        if matches!(p, b'-' | b'_' | b'+') {
            if lq != b'.' {
                out.push(b'.');
            }
        } else if (isndig(lp) && isdig(p)) || (isdig(lp) && isndig(p)) {
            if lq != b'.' {
                out.push(b'.');
            }
            out.push(p);
        } else if !p.is_ascii_alphanumeric() {
            if lq != b'.' {
                out.push(b'.');
            }
        } else {
            out.push(p);
        }
        lp = p;
    }
    out
}

/// `compare_special_version_forms`: prefix match against the special words.
fn special_form(form: &[u8]) -> i32 {
    const FORMS: [(&[u8], i32); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map_or(-1, |&(_, order)| order)
}

/// C `strtol(s, NULL, 10)` on a string that starts with a digit: saturates at `LONG_MAX`.
fn strtol(s: &[u8]) -> i64 {
    let mut v: i64 = 0;
    for &c in s.iter().take_while(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    v
}

/// PHP's `php_version_compare`.
pub(crate) fn php_version_compare(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return (!a.is_empty()).cmp(&!b.is_empty());
    }
    let v1 = if a[0] == b'#' {
        a.to_vec()
    } else {
        canonicalize(a)
    };
    let v2 = if b[0] == b'#' {
        b.to_vec()
    } else {
        canonicalize(b)
    };
    let mut p1: &[u8] = &v1;
    let mut p2: &[u8] = &v2;
    let mut compare = Ordering::Equal;
    // `has_next` mirrors C's `n1`/`n2` being non-NULL (a '.' followed this element).
    let (mut n1, mut n2) = (true, true);
    while !p1.is_empty() && !p2.is_empty() && n1 && n2 {
        let (e1, r1, h1) = split_dot(p1);
        let (e2, r2, h2) = split_dot(p2);
        n1 = h1;
        n2 = h2;
        let d1 = e1.first().is_some_and(u8::is_ascii_digit);
        let d2 = e2.first().is_some_and(u8::is_ascii_digit);
        compare = if d1 && d2 {
            strtol(e1).cmp(&strtol(e2))
        } else if !d1 && !d2 {
            special_form(e1).cmp(&special_form(e2))
        } else if d1 {
            special_form(b"#N#").cmp(&special_form(e2))
        } else {
            special_form(e1).cmp(&special_form(b"#N#"))
        };
        if compare != Ordering::Equal {
            break;
        }
        if n1 {
            p1 = r1;
        }
        if n2 {
            p2 = r2;
        }
    }
    if compare == Ordering::Equal {
        if n1 {
            compare = if p1.first().is_some_and(u8::is_ascii_digit) {
                Ordering::Greater
            } else {
                php_version_compare(p1, b"#N#")
            };
        } else if n2 {
            compare = if p2.first().is_some_and(u8::is_ascii_digit) {
                Ordering::Less
            } else {
                php_version_compare(b"#N#", p2)
            };
        }
    }
    compare
}

/// Splits at the first `.`: (element, rest after the dot, whether there was a dot).
fn split_dot(s: &[u8]) -> (&[u8], &[u8], bool) {
    match s.iter().position(|&c| c == b'.') {
        Some(i) => (&s[..i], &s[i + 1..], true),
        None => (s, &s[s.len()..], false),
    }
}

/// Compares two Packagist versions; fails on text `normalize` rejects.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let na = normalize(a)?;
    let nb = normalize(b)?;
    let (ba, bb) = (na.starts_with("dev-"), nb.starts_with("dev-"));
    if ba && bb {
        // Composer: equal only when identical, otherwise unordered.
        return Ok(na.cmp(&nb));
    }
    Ok(php_version_compare(na.as_bytes(), nb.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::{normalize, php_version_compare};
    use crate::Scheme;
    use crate::util::testing::{check_invalid, check_table};

    /// composer/semver tests/VersionParserTest.php `successfulNormalizedVersions`
    /// (entries that apply to composer/semver 3.3; the CalVer-as-major ones are 3.4+).
    #[test]
    fn normalize_successful() {
        let table: &[(&str, &str)] = &[
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("0", "0.0.0.0"),
            ("99999", "99999.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("v1.13.11-beta.0", "1.13.11.0-beta0"),
            ("1.13.11.0-beta0", "1.13.11.0-beta0"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("10.4.13-b5", "10.4.13.0-beta5"),
            ("v1.0.0", "1.0.0.0"),
            ("2010.01", "2010.01.0.0"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010.1.555", "2010.1.555.0"),
            ("2010.10.200", "2010.10.200.0"),
            ("v20100102", "20100102"),
            ("20100102", "20100102"),
            ("20100102.0", "20100102.0"),
            ("100000", "100000"),
            ("2010-01-02-10-20-30.5", "2010.01.02.10.20.30.5"),
            ("2010-01-02", "2010.01.02"),
            ("2012.06.07", "2012.06.07.0"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("20100102-203040", "20100102.203040"),
            ("20100102.x-dev", "20100102.9999999.9999999.9999999-dev"),
            (
                "20100102.203040.x-dev",
                "20100102.203040.9999999.9999999-dev",
            ),
            ("20100102203040-10", "20100102203040.10"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
            ("201903.0", "201903.0"),
            ("201903.x-dev", "201903.9999999.9999999.9999999-dev"),
            ("201903.0-p2", "201903.0-patch2"),
            ("dev-master", "dev-master"),
            ("master", "dev-master"),
            ("dev-trunk", "dev-trunk"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("dev-feature-foo", "dev-feature-foo"),
            ("DEV-FOOBAR", "dev-FOOBAR"),
            ("dev-feature/foo", "dev-feature/foo"),
            ("dev-feature+issue-1", "dev-feature+issue-1"),
            ("dev-master as 1.0.0", "dev-master"),
            (
                "dev-load-varnish-only-when-used as ^2.0",
                "dev-load-varnish-only-when-used",
            ),
            (
                "dev-load-varnish-only-when-used@dev as ^2.0@dev",
                "dev-load-varnish-only-when-used",
            ),
            ("1.0.0+foo@dev", "1.0.0.0"),
            (
                "dev-load-varnish-only-when-used@stable",
                "dev-load-varnish-only-when-used",
            ),
            ("1.0.0-beta.5+foo", "1.0.0.0-beta5"),
            ("1.0.0+foo", "1.0.0.0"),
            ("1.0.0-alpha.3.1+foo", "1.0.0.0-alpha3.1"),
            ("1.0.0-alpha2.1+foo", "1.0.0.0-alpha2.1"),
            ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
            ("1.0.0+foo as 2.0", "1.0.0.0"),
            ("00.01.03.04", "00.01.03.04"),
            ("000.001.003.004", "000.001.003.004"),
            ("0.000.103.204", "0.000.103.204"),
            ("0700", "0700.0.0.0"),
            ("041.x-dev", "041.9999999.9999999.9999999-dev"),
            ("dev-041.003", "dev-041.003"),
            ("dev-1.0.0-dev<1.0.5-dev", "dev-1.0.0-dev<1.0.5-dev"),
            ("dev-foo bar", "dev-foo bar"),
            (" 1.0.0", "1.0.0.0"),
            ("1.0.0 ", "1.0.0.0"),
        ];
        let mut failures = Vec::new();
        for &(input, want) in table {
            match normalize(input) {
                Ok(got) if got == want => {}
                other => failures.push(format!("normalize({input:?}) = {other:?}, want {want:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// composer/semver `failingNormalizedVersions` (3.3 subset).
    #[test]
    fn normalize_failing() {
        check_invalid(
            Scheme::Composer,
            &[
                "",
                "a",
                "1.0.0-meh",
                "1.0.0.0.0",
                "feature-foo",
                "1.0.0+foo bar",
                "1.0.1-SNAPSHOT",
                "1.0.0<1.0.5-dev",
                "1.0.0-dev<1.0.5-dev",
                "foo bar-dev",
                "1.0 .2",
                " as ",
                " as 1.2",
                "^",
                "^8 || ^",
                "~",
                "~1 ~",
                "~1",
                "^1",
                "1.*",
                "20100102.0.3.4",
                // Accepted by composer/semver 3.4+ only (Debian ships 3.3.2, our reference).
                "20100102.1.0",
                "20100102.0.3",
                "2010-01-02-10-20-30.0.3",
                "100000.0.0.0",
            ],
        );
    }

    /// composer/semver tests/ComparatorTest.php (`compareProvider` and the branch cases of
    /// the other providers), run on raw strings through `version_compare` as Comparator
    /// does, and through our normalising `compare`.
    #[test]
    fn comparator_test() {
        let raw: &[(&str, &str, i8)] = &[
            ("1.25.0", "1.24.0", 1),
            ("1.25.0", "1.25.0", 0),
            ("1.25.0", "1.26.0", -1),
            ("1.25.0-beta2.1", "1.25.0-b.3", -1),
            ("1.25.0-b2.1", "1.25.0beta.3", -1),
            ("1.25.0-b-2.1", "1.25.0-rc", -1),
            ("1.25.0-beta2.1", "1.25.0-b.2.1", 0),
            ("1.25.0beta2.1", "1.25.0-b2.1", 0),
            ("1.0.0", "1.2-dev", -1),
            ("1.26.0", "dev-foo", 1),
        ];
        for &(a, b, want) in raw {
            assert_eq!(
                php_version_compare(a.as_bytes(), b.as_bytes()),
                want.cmp(&0),
                "version_compare({a}, {b})"
            );
        }
        check_table(Scheme::Composer, raw);
        // Two different branches are unordered in composer (neither <, == nor >); we only
        // promise they are not equal.
        assert_ne!(
            super::compare("dev-foo", "dev-bar").ok(),
            Some(Ordering::Equal)
        );
        assert_ne!(
            super::compare("dev-foo", "dev-master").ok(),
            Some(Ordering::Equal)
        );
    }

    /// PHP's own version_compare tests (ext/standard/tests/versioning/version_compare.phpt
    /// special forms): dev < alpha = a < beta = b < RC = rc < # < pl = p.
    #[test]
    fn php_special_forms() {
        let forms = ["dev", "alpha", "beta", "RC", "#", "pl"];
        for (i, a) in forms.iter().enumerate() {
            for b in &forms[i + 1..] {
                let (va, vb) = (format!("1.0{a}"), format!("1.0{b}"));
                assert_eq!(
                    php_version_compare(va.as_bytes(), vb.as_bytes()),
                    Ordering::Less,
                    "{va} < {vb}"
                );
            }
        }
        assert_eq!(php_version_compare(b"1.0a", b"1.0alpha"), Ordering::Equal);
        assert_eq!(php_version_compare(b"1.0b", b"1.0beta"), Ordering::Equal);
        assert_eq!(php_version_compare(b"1.0rc", b"1.0RC"), Ordering::Equal);
        assert_eq!(php_version_compare(b"1.0p", b"1.0pl"), Ordering::Equal);
        assert_eq!(php_version_compare(b"1.0", b"1.0.0"), Ordering::Less);
        assert_eq!(php_version_compare(b"1.0-dev", b"1.0"), Ordering::Less);
        assert_eq!(php_version_compare(b"1.0pl1", b"1.0"), Ordering::Greater);
    }
}
