//! Debian version ordering as `apt_pkg.version_compare` (apt's `debVersioningSystem`)
//! computes it.
//!
//! apt's algorithm is dpkg's `verrevcmp` with apt's own epoch/revision splitting:
//!
//! * the epoch is everything before the **first** `:` (no digit check); a run of zeros is
//!   the same as no epoch, and epochs are compared with the same fragment comparison as
//!   the rest (so leading zeros do not matter);
//! * the revision is everything after the **last** `-` of the remaining text; a missing
//!   revision compares like `0`;
//! * inside a fragment, non-digit runs are compared character by character with `~`
//!   lowest (even below the end of the string), then letters, then everything else;
//!   digit runs are compared numerically.
//!
//! apt never rejects a string here, so neither do we.

use std::cmp::Ordering;

use crate::VersionError;

/// Character weight in a non-digit run, exactly as apt's `order()`: `~` sorts before the
/// end of the string, letters before every other character.
fn order(c: u8) -> i32 {
    if c.is_ascii_digit() {
        0
    } else if c.is_ascii_alphabetic() {
        i32::from(c)
    } else if c == b'~' {
        -1
    } else if c != 0 {
        i32::from(c) + 256
    } else {
        0
    }
}

/// apt's `CmpFragment`. `a` and `b` are whole fragments; reading past the end yields 0,
/// which is what apt sees (a NUL or a separator that is never a digit).
fn cmp_fragment(a: &[u8], b: &[u8]) -> Ordering {
    let at = |i: usize| a.get(i).copied().unwrap_or(0);
    let bt = |i: usize| b.get(i).copied().unwrap_or(0);
    let (mut l, mut r) = (0usize, 0usize);
    while l < a.len() && r < b.len() {
        let mut first_diff: i32 = 0;
        while l < a.len() && r < b.len() && (!at(l).is_ascii_digit() || !bt(r).is_ascii_digit()) {
            let vc = order(at(l));
            let rc = order(bt(r));
            if vc != rc {
                return vc.cmp(&rc);
            }
            l += 1;
            r += 1;
        }
        while at(l) == b'0' {
            l += 1;
        }
        while bt(r) == b'0' {
            r += 1;
        }
        while at(l).is_ascii_digit() && bt(r).is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(at(l)) - i32::from(bt(r));
            }
            l += 1;
            r += 1;
        }
        if at(l).is_ascii_digit() {
            return Ordering::Greater;
        }
        if bt(r).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    // `l`/`r` may have stepped past the end through the zero-skipping loops only when
    // they stopped exactly at it, so `>=` is the same test as apt's pointer equality.
    let l_end = l >= a.len();
    let r_end = r >= b.len();
    match (l_end, r_end) {
        (true, true) => Ordering::Equal,
        // The shorter one is lower unless the longer continues with `~`.
        (true, false) => {
            if bt(r) == b'~' {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, true) => {
            if at(l) == b'~' {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, false) => Ordering::Greater,
    }
}

/// The pieces apt cuts a version into.
struct Parts<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    /// `None` when apt sees no revision (then it compares as `"0"`).
    revision: Option<&'a [u8]>,
}

fn split(v: &[u8]) -> Parts<'_> {
    // Epoch: up to the first ':'; an all-zero epoch is dropped (apt: "a zero epoch is the
    // same as no epoch"), otherwise leading zeros are skipped.
    let (epoch, rest) = match v.iter().position(|&c| c == b':') {
        Some(colon) => {
            let digits = &v[..colon];
            let nz = digits
                .iter()
                .position(|&c| c != b'0')
                .unwrap_or(digits.len());
            (&digits[nz..], &v[colon + 1..])
        }
        None => (&v[..0], v),
    };
    // Revision: after the last '-'. apt only treats it as a revision when the byte before
    // the revision text is that '-', which fails when the '-' is the very first byte of
    // the remaining text (then the "revision" keeps its dash and is ignored).
    match rest.iter().rposition(|&c| c == b'-') {
        Some(0) => Parts {
            epoch,
            upstream: &rest[..0],
            revision: None,
        },
        Some(dash) => Parts {
            epoch,
            upstream: &rest[..dash],
            revision: Some(&rest[dash + 1..]),
        },
        None => Parts {
            epoch,
            upstream: rest,
            revision: None,
        },
    }
}

/// Compares two Debian versions; never fails.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(compare_bytes(a.as_bytes(), b.as_bytes()))
}

fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let pa = split(a);
    let pb = split(b);
    cmp_fragment(pa.epoch, pb.epoch)
        .then_with(|| cmp_fragment(pa.upstream, pb.upstream))
        .then_with(|| match (pa.revision, pb.revision) {
            (Some(ra), Some(rb)) => cmp_fragment(ra, rb),
            (Some(ra), None) => cmp_fragment(ra, b"0"),
            (None, Some(rb)) => cmp_fragment(b"0", rb),
            (None, None) => Ordering::Equal,
        })
}

#[cfg(test)]
mod tests {
    use crate::Scheme;
    use crate::util::testing::check_table;

    /// apt's test/libapt/versions.lst (the vectors apt also checks against
    /// `dpkg --compare-versions`).
    #[test]
    fn apt_versions_lst() {
        check_table(
            Scheme::Dpkg,
            &[
                ("7.6p2-4", "7.6-0", 1),
                ("1.0.3-3", "1.0-1", 1),
                ("1.3", "1.2.2-2", 1),
                ("1.3", "1.2.2", 1),
                ("1:0.4", "10.3", 1),
                ("1:1.25-4", "1:1.25-8", -1),
                ("0:1.18.36", "1.18.36", 0),
                ("1.18.36", "1.18.35", 1),
                ("0:1.18.36", "1.18.35", 1),
                ("9:1.18.36:5.4-20", "10:0.5.1-22", -1),
                ("9:1.18.36:5.4-20", "9:1.18.36:5.5-1", -1),
                ("9:1.18.36:5.4-20", "9:1.18.37:4.3-22", -1),
                ("1.18.36-0.17.35-18", "1.18.36-19", 1),
                ("1:1.2.13-3", "1:1.2.13-3.1", -1),
                ("2.0.7pre1-4", "2.0.7r-1", -1),
                ("0-pre", "0-pre", 0),
                ("0-pre", "0-pree", -1),
                ("1.1.6r2-2", "1.1.6r-1", 1),
                ("2.6b2-1", "2.6b-2", 1),
                ("98.1p5-1", "98.1-pre2-b6-2", -1),
                ("0.4a6-2", "0.4-1", 1),
                ("1:3.0.5-2", "1:3.0.5.1", -1),
                ("3.0~rc1-1", "3.0-1", -1),
                ("1.0", "1.0-0", 0),
                ("0.2", "1.0-0", -1),
                ("1.0", "1.0-0+b1", -1),
                ("1.0", "1.0-0~", 1),
                ("0:0-0-0", "0-0", 1),
                ("0", "0", 0),
                ("0", "00", 0),
                ("1.2.3", "1.2.3", 0),
                ("4.4.3-2", "4.4.3-2", 0),
                ("1:2ab:5", "1:2ab:5", 0),
                ("7:1-a:b-5", "7:1-a:b-5", 0),
                ("57:1.2.3abYZ+~-4-5", "57:1.2.3abYZ+~-4-5", 0),
                ("1.2.3", "0:1.2.3", 0),
                ("1.2.3", "1.2.3-0", 0),
                ("009", "9", 0),
                ("009ab5", "9ab5", 0),
                ("1.2.3", "1.2.3-1", -1),
                ("1.2.3", "1.2.4", -1),
                ("1.2.4", "1.2.3", 1),
                ("1.2.24", "1.2.3", 1),
                ("0.10.0", "0.8.7", 1),
                ("3.2", "2.3", 1),
                ("1.3.2a", "1.3.2", 1),
                ("0.5.0~git", "0.5.0~git2", -1),
                ("2a", "21", -1),
                ("1.3.2a", "1.3.2b", -1),
                ("1:1.2.3", "1.2.4", 1),
                ("1:1.2.3", "1:1.2.4", -1),
                ("1.2a+~bCd3", "1.2a++", -1),
                ("1.2a+~bCd3", "1.2a+~", 1),
                ("5:2", "304-2", 1),
                ("5:2", "304:2", -1),
                ("25:2", "3:2", 1),
                ("1:2:123", "1:12:3", -1),
                ("1.2-5", "1.2-3-5", -1),
                ("5.10.0", "5.005", 1),
                ("3a9.8", "3.10.2", -1),
                ("3a9.8", "3~10", 1),
                ("1.4+OOo3.0.0~", "1.4+OOo3.0.0-4", -1),
                ("2.4.7-1", "2.4.7-z", -1),
                ("1.002-1+b2", "1.00", 1),
            ],
        );
    }

    /// dpkg's lib/dpkg/t/t-version.c comparisons (written as version strings).
    #[test]
    fn dpkg_t_version() {
        check_table(
            Scheme::Dpkg,
            &[
                ("0:0-0", "0:0-0", 0),
                ("0:0-00", "0:00-0", 0),
                ("1:2-3", "1:2-3", 0),
                ("0:0-0", "1:0-0", -1),
                ("0:a-0", "0:b-0", -1),
                ("0:0-a", "0:0-b", -1),
                ("1:1-1", "2:1-1", -1),
                ("0:1-1", "0:2-1", -1),
                ("0:1-1", "0:1-2", -1),
                // dpkg: equal (empty revision). apt_pkg, which we follow, compares the
                // empty revision of "0:0-" with the implicit "0" of "0" and finds it lower.
                ("0", "0:0-", 1),
                ("0:0.0-0.0", "0.0-0.0", 0),
                ("0:0-0-0", "0-0-0", 0),
                ("0:0:0-0", "0:0:0-0", 0),
            ],
        );
    }
}
