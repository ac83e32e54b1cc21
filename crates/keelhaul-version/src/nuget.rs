//! NuGet ordering: `NuGet.Versioning.NuGetVersion` parsed with `NuGetVersion.TryParse` and
//! compared with `VersionComparer.Default`.
//!
//! Accepted: surrounding whitespace, `MAJOR[.MINOR[.PATCH[.REVISION]]]` (1 to 4 decimal
//! parts, each fitting a non-negative `Int32`; leading zeros allowed, as `System.Version`
//! allows them), then `-label(.label)*` and `+metadata`. Release labels are
//! `[0-9A-Za-z-]+` without leading zeros on all-digit labels; metadata identifiers may
//! have leading zeros. Missing parts are `0`, so `1.0` = `1.0.0.0`.
//!
//! Order: the four numbers, then a release sorts after any prerelease, then labels
//! pairwise: both `Int32` → numeric, one numeric → it is lower, otherwise ordinal
//! case-insensitive; the shorter label list is lower. Metadata is ignored.
//!
//! `System.Version`'s component parser also tolerates a `+` sign and inner whitespace;
//! we do not (no real NuGet version uses them).

use std::cmp::Ordering;

use crate::util::invalid;
use crate::{Scheme, VersionError};

struct NuGetVersion {
    numbers: [i32; 4],
    labels: Vec<String>,
}

fn is_valid_part(s: &str, allow_leading_zeros: bool) -> bool {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    if !allow_leading_zeros
        && s.len() > 1
        && s.starts_with('0')
        && s.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    true
}

fn parse(input: &str) -> Result<NuGetVersion, VersionError> {
    let bad = |why: &str| invalid(Scheme::NuGet, input, why);
    let s = input.trim();
    let (rest, metadata) = match s.find('+') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let (core, labels) = match rest.find('-') {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    if core.is_empty() {
        return Err(bad("missing version number"));
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 4 {
        return Err(bad("more than four version parts"));
    }
    let mut numbers = [0i32; 4];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("version parts must be numbers"));
        }
        *slot = part
            .parse::<i32>()
            .map_err(|_| bad("version part out of range"))?;
    }
    let labels: Vec<String> = match labels {
        None => Vec::new(),
        Some(l) => {
            let v: Vec<&str> = l.split('.').collect();
            if !v.iter().all(|p| is_valid_part(p, false)) {
                return Err(bad("invalid release label"));
            }
            v.into_iter().map(str::to_owned).collect()
        }
    };
    if let Some(m) = metadata
        && !m.split('.').all(|p| is_valid_part(p, true))
    {
        return Err(bad("invalid metadata"));
    }
    Ok(NuGetVersion { numbers, labels })
}

/// `Int32.TryParse` on a release label (digits only here, since labels are alphanumeric).
fn label_number(s: &str) -> Option<i32> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// `StringComparer.OrdinalIgnoreCase` on ASCII labels: compare upper-cased bytes.
fn ordinal_ignore_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

fn compare_release(a: &str, b: &str) -> Ordering {
    match (label_number(a), label_number(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => ordinal_ignore_case(a, b),
    }
}

/// Compares two NuGet versions; fails on text `NuGetVersion.TryParse` rejects.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let va = parse(a)?;
    let vb = parse(b)?;
    let nums = va.numbers.cmp(&vb.numbers);
    if nums != Ordering::Equal {
        return Ok(nums);
    }
    Ok(match (va.labels.is_empty(), vb.labels.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let n = va.labels.len().max(vb.labels.len());
            let mut result = Ordering::Equal;
            for i in 0..n {
                result = match (va.labels.get(i), vb.labels.get(i)) {
                    (Some(x), Some(y)) => compare_release(x, y),
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                if result != Ordering::Equal {
                    break;
                }
            }
            result
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::Scheme;
    use crate::util::testing::{check_invalid, check_table, check_valid};

    /// NuGet's VersionComparerTests (default comparison): equal, not-equal and less.
    #[test]
    fn nuget_version_comparer_tests() {
        check_table(
            Scheme::NuGet,
            &[
                ("1.0.0", "1.0.0", 0),
                ("1.0.0-BETA", "1.0.0-beta", 0),
                ("1.0.0-BETA+AA", "1.0.0-beta+aa", 0),
                ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.77.0+aa", 0),
                ("0.0.0", "1.0.0", -1),
                ("1.0.0", "1.1.0", -1),
                ("1.0.0", "1.0.1", -1),
                ("1.999.9999", "2.1.1", -1),
                ("1.0.0-BETA", "1.0.0-beta2", -1),
                ("1.0.0-beta+AA", "1.0.0+aa", -1),
                ("1.0.0-BETA", "1.0.0-beta.1+AA", -1),
                ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.79.0+aa", -1),
                ("1.0.0-BETA.X.y.5.79.0+AA", "1.0.0-beta.x.y.5.790.0+abc", -1),
                ("1.0.0-BETA1+AA", "1.0.0-beta", 1),
                // Legacy four-part versions and short forms.
                ("1.0", "1.0.0.0", 0),
                ("1", "1.0.0", 0),
                ("1.0.0.1", "1.0.0", 1),
                ("1.0.0.1-alpha", "1.0.0.1", -1),
                ("1.0.0-2", "1.0.0-10", -1),
                ("1.0.0-2", "1.0.0-a", -1),
            ],
        );
        check_invalid(
            Scheme::NuGet,
            &[
                "",
                "a",
                "1.0.0.0.0",
                "1.0.0-",
                "1.0.0-01",
                "1.0.0+",
                "1.0.0-a..b",
                "1.0.0-a_b",
                "v1.0",
            ],
        );
        check_valid(
            Scheme::NuGet,
            &["1.0.0+01", " 1.0.0 ", "01.02.03", "1.0.0-a-b.c"],
        );
    }
}
