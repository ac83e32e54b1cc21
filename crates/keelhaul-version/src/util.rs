//! Small helpers shared by the scheme modules.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

/// Builds the error every strict scheme returns.
pub(crate) fn invalid(scheme: Scheme, version: &str, reason: impl Into<String>) -> VersionError {
    VersionError {
        scheme,
        version: version.to_owned(),
        reason: reason.into(),
    }
}

/// Compares two runs of ASCII digits as unbounded non-negative integers.
///
/// Several references use arbitrary-precision integers (Python `int`, Ruby `Integer`,
/// Java `BigInteger`, Go's string comparison), so we never parse into a fixed-width
/// type: strip leading zeros, then the longer run is larger, else compare bytes.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Test helpers shared by the modules' vector tables.
#[cfg(test)]
pub(crate) mod testing {
    use std::cmp::Ordering;

    use crate::{Scheme, compare};

    /// Checks `a op b` (op = -1, 0, 1) in both directions; collects every failure so one
    /// run shows all of them.
    pub(crate) fn check_table(scheme: Scheme, table: &[(&str, &str, i8)]) {
        let mut failures = Vec::new();
        for &(a, b, want) in table {
            let want = want.cmp(&0);
            for (x, y, w) in [(a, b, want), (b, a, want.reverse())] {
                match compare(scheme, x, y) {
                    Ok(got) if got == w => {}
                    other => failures.push(format!("{x:?} vs {y:?}: want {w:?}, got {other:?}")),
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// Checks that `versions` is strictly increasing (every pair, both directions).
    pub(crate) fn check_sorted(scheme: Scheme, versions: &[&str]) {
        let mut table = Vec::new();
        for (i, a) in versions.iter().enumerate() {
            for b in &versions[i + 1..] {
                table.push((*a, *b, -1));
            }
        }
        check_table(scheme, &table);
    }

    /// Checks that each string is rejected.
    pub(crate) fn check_invalid(scheme: Scheme, versions: &[&str]) {
        for v in versions {
            assert!(
                compare(scheme, v, v).is_err(),
                "{v:?} should be invalid for {scheme:?}"
            );
        }
    }

    /// Checks that each string is accepted.
    pub(crate) fn check_valid(scheme: Scheme, versions: &[&str]) {
        for v in versions {
            assert_eq!(
                compare(scheme, v, v).map_err(|e| e.to_string()),
                Ok(Ordering::Equal),
                "{v:?} should be valid for {scheme:?}"
            );
        }
    }
}
