//! RPM version ordering: `rpmvercmp` (rpm ≥ 4.15, with `~` and `^`) applied to
//! (epoch, version, release) the way `rpm.labelCompare` does.
//!
//! A string is read as `[epoch:]version[-release]` with rpm's own `parseEVR` rules: the
//! epoch is a run of leading digits followed by `:` (an empty one means `0`), a missing
//! epoch is `0`, and the release starts after the **last** `-`. A missing release sorts
//! below any present release (labelCompare compares `NULL` < anything). Never fails.

use std::cmp::Ordering;

use crate::VersionError;

/// `rpmvercmp` on byte strings.
pub(crate) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let at = |i: usize| a.get(i).copied().unwrap_or(0);
    let bt = |i: usize| b.get(i).copied().unwrap_or(0);
    // rpm's separators are everything that is not an ASCII letter/digit, `~` or `^`.
    let is_sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut one, mut two) = (0usize, 0usize);
    while at(one) != 0 || bt(two) != 0 {
        while is_sep(at(one)) {
            one += 1;
        }
        while is_sep(bt(two)) {
            two += 1;
        }
        let (c1, c2) = (at(one), bt(two));
        // `~` sorts before everything, even the end of the string.
        if c1 == b'~' || c2 == b'~' {
            if c1 != b'~' {
                return Ordering::Greater;
            }
            if c2 != b'~' {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }
        // `^` sorts after the end of the string but before anything else.
        if c1 == b'^' || c2 == b'^' {
            if c1 == 0 {
                return Ordering::Less;
            }
            if c2 == 0 {
                return Ordering::Greater;
            }
            if c1 != b'^' {
                return Ordering::Greater;
            }
            if c2 != b'^' {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }
        if c1 == 0 || c2 == 0 {
            break;
        }
        let isnum = c1.is_ascii_digit();
        let seg_end = |s: &[u8], start: usize| {
            let mut e = start;
            while e < s.len()
                && (if isnum {
                    s[e].is_ascii_digit()
                } else {
                    s[e].is_ascii_alphabetic()
                })
            {
                e += 1;
            }
            e
        };
        let e1 = seg_end(a, one);
        let e2 = seg_end(b, two);
        // `one` is never empty here (it starts with an alnum); if `two` is, the segment
        // types differ and numeric beats alpha.
        if e2 == two {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut s1, mut s2) = (&a[one..e1], &b[two..e2]);
        if isnum {
            while s1.first() == Some(&b'0') {
                s1 = &s1[1..];
            }
            while s2.first() == Some(&b'0') {
                s2 = &s2[1..];
            }
            match s1.len().cmp(&s2.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match s1.cmp(s2) {
            Ordering::Equal => {}
            o => return o,
        }
        one = e1;
        two = e2;
    }
    let (end1, end2) = (at(one) == 0, bt(two) == 0);
    match (end1, end2) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// `(epoch, version, release)` as rpm's `parseEVR` splits them.
pub(crate) fn parse_evr(v: &str) -> (&str, &str, Option<&str>) {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = if v.as_bytes().get(digits) == Some(&b':') {
        let e = &v[..digits];
        (if e.is_empty() { "0" } else { e }, &v[digits + 1..])
    } else {
        ("0", v)
    };
    match rest.rfind('-') {
        Some(dash) => (epoch, &rest[..dash], Some(&rest[dash + 1..])),
        None => (epoch, rest, None),
    }
}

/// Compares two `[epoch:]version[-release]` strings; never fails.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (ea, va, ra) = parse_evr(a);
    let (eb, vb, rb) = parse_evr(b);
    Ok(rpmvercmp(ea.as_bytes(), eb.as_bytes())
        .then_with(|| rpmvercmp(va.as_bytes(), vb.as_bytes()))
        .then_with(|| match (ra, rb) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (Some(x), Some(y)) => rpmvercmp(x.as_bytes(), y.as_bytes()),
        }))
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::rpmvercmp;
    use crate::Scheme;
    use crate::util::testing::check_table;

    /// rpm's tests/rpmvercmp.at (`RPMVERCMP(a, b, r)`), including the caret cases
    /// added with rpm 4.15.
    const RPMVERCMP_AT: &[(&str, &str, i8)] = &[
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("2.0", "1.0", 1),
        ("2.0.1", "2.0.1", 0),
        ("2.0", "2.0.1", -1),
        ("2.0.1", "2.0", 1),
        ("2.0.1a", "2.0.1a", 0),
        ("2.0.1a", "2.0.1", 1),
        ("2.0.1", "2.0.1a", -1),
        ("5.5p1", "5.5p1", 0),
        ("5.5p1", "5.5p2", -1),
        ("5.5p2", "5.5p1", 1),
        ("5.5p10", "5.5p10", 0),
        ("5.5p1", "5.5p10", -1),
        ("5.5p10", "5.5p1", 1),
        ("10xyz", "10.1xyz", -1),
        ("10.1xyz", "10xyz", 1),
        ("xyz10", "xyz10", 0),
        ("xyz10", "xyz10.1", -1),
        ("xyz10.1", "xyz10", 1),
        ("xyz.4", "xyz.4", 0),
        ("xyz.4", "8", -1),
        ("8", "xyz.4", 1),
        ("xyz.4", "2", -1),
        ("2", "xyz.4", 1),
        ("5.5p2", "5.6p1", -1),
        ("5.6p1", "5.5p2", 1),
        ("5.6p1", "6.5p1", -1),
        ("6.5p1", "5.6p1", 1),
        ("6.0.rc1", "6.0", 1),
        ("6.0", "6.0.rc1", -1),
        ("10b2", "10a1", 1),
        ("10a2", "10b2", -1),
        ("1.0aa", "1.0aa", 0),
        ("1.0a", "1.0aa", -1),
        ("1.0aa", "1.0a", 1),
        ("10.0001", "10.0001", 0),
        ("10.0001", "10.1", 0),
        ("10.1", "10.0001", 0),
        ("10.0001", "10.0039", -1),
        ("10.0039", "10.0001", 1),
        ("4.999.9", "5.0", -1),
        ("5.0", "4.999.9", 1),
        ("20101121", "20101121", 0),
        ("20101121", "20101122", -1),
        ("20101122", "20101121", 1),
        ("2_0", "2_0", 0),
        ("2.0", "2_0", 0),
        ("2_0", "2.0", 0),
        ("a", "a", 0),
        ("a+", "a+", 0),
        ("a+", "a_", 0),
        ("a_", "a+", 0),
        ("+a", "+a", 0),
        ("+a", "_a", 0),
        ("_a", "+a", 0),
        ("+_", "+_", 0),
        ("_+", "+_", 0),
        ("_+", "_+", 0),
        ("+", "_", 0),
        ("_", "+", 0),
        ("1.0~rc1", "1.0~rc1", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0~rc1", 1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~rc2", "1.0~rc1", 1),
        ("1.0~rc1~git123", "1.0~rc1~git123", 0),
        ("1.0~rc1~git123", "1.0~rc1", -1),
        ("1.0~rc1", "1.0~rc1~git123", 1),
        ("1.0^", "1.0^", 0),
        ("1.0^", "1.0", 1),
        ("1.0", "1.0^", -1),
        ("1.0^git1", "1.0^git1", 0),
        ("1.0^git1", "1.0", 1),
        ("1.0", "1.0^git1", -1),
        ("1.0^git1", "1.0^git2", -1),
        ("1.0^git2", "1.0^git1", 1),
        ("1.0^git1", "1.01", -1),
        ("1.01", "1.0^git1", 1),
        ("1.0^20160101", "1.0^20160101", 0),
        ("1.0^20160101", "1.0.1", -1),
        ("1.0.1", "1.0^20160101", 1),
        ("1.0^20160101^git1", "1.0^20160101^git1", 0),
        ("1.0^20160102", "1.0^20160101^git1", 1),
        ("1.0^20160101^git1", "1.0^20160102", -1),
        ("1.0~rc1^git1", "1.0~rc1^git1", 0),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0~rc1", "1.0~rc1^git1", -1),
        ("1.0^git1~pre", "1.0^git1~pre", 0),
        ("1.0^git1", "1.0^git1~pre", 1),
        ("1.0^git1~pre", "1.0^git1", -1),
    ];

    #[test]
    fn rpmvercmp_at() {
        let mut failures = Vec::new();
        for &(a, b, want) in RPMVERCMP_AT {
            let got = rpmvercmp(a.as_bytes(), b.as_bytes());
            if got != want.cmp(&0) {
                failures.push(format!("rpmvercmp({a}, {b}) = {got:?}, want {want}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn label_compare() {
        check_table(
            Scheme::Rpm,
            &[
                ("1:1.0-1", "2.0-1", 1),
                ("0:1.0-1", "1.0-1", 0),
                ("1.0", "1.0-1", -1),
                ("1.0-1.el8", "1.0-1.el8_4", -1),
                ("1:1.26.0-14.el8_3", "1:1.26.0-14.el8", 1),
                ("2.3-4", "2.3-10", -1),
                // The epoch needs digits before ':'; otherwise it is part of the version.
                ("a:2.3-1-2", "a:2.3-1-2", 0),
                (":1.0-1", "0:1.0-1", 0),
            ],
        );
        assert_eq!(super::parse_evr("1:2.3-4.el8"), ("1", "2.3", Some("4.el8")));
        assert_eq!(super::parse_evr("a:2.3-1-2"), ("0", "a:2.3-1", Some("2")));
        assert_eq!(rpmvercmp(b"1.0", b"1.0"), Ordering::Equal);
    }
}
