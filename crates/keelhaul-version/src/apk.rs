//! Alpine version ordering, following apk-tools' current `version.c`
//! (`apk_version_compare`, the token-state rewrite used by apk-tools 2.14 and 3.x).
//!
//! Grammar: `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-r#}`.
//! Tokens are compared pairwise while both sides have the same token type:
//!
//! * the first number and `.`-numbers compare numerically, except that a `.`-number with a
//!   leading zero on either side is compared as a string (the Gentoo rule);
//! * a letter compares by its byte; suffixes rank `alpha < beta < pre < rc < (none) < cvs
//!   < svn < git < hg < p`; suffix and revision numbers compare numerically; a `~hash`
//!   compares as a string;
//! * when the token types differ, a pre-release suffix makes its side lower; otherwise the
//!   side whose next token type is *later* in the grammar is lower (so `1.0 < 1.0.1`,
//!   `1.0-r1 < 1.0_p1`, and the end of the string sorts after `-r`).
//!
//! **Invalid strings** never fail: like apk-tools we compare token by token, and the first
//! token that does not fit the grammar becomes the `INVALID` token, which sorts below
//! every valid continuation (apk-tools' test data: `1.0 < 1.0bc`). Two strings that become
//! invalid at the same token compare equal, as in apk-tools. Numbers wrap at 2⁶⁴ like
//! `apk_blob_pull_uint`.

use std::cmp::Ordering;

use crate::VersionError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks in apk-tools' order; `NONE` separates pre-releases from post-releases.
const SUFFIXES: [&str; 11] = [
    "", "alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p",
];
const SUFFIX_INVALID: usize = 0;
const SUFFIX_NONE: usize = 5;

fn suffix_value(s: &[u8]) -> usize {
    // apk-tools dispatches on the first byte, then requires the whole word to match.
    let val = match s.first() {
        Some(b'a') => 1,
        Some(b'b') => 2,
        Some(b'c') => 6,
        Some(b'g') => 8,
        Some(b'h') => 9,
        Some(b'p') => {
            if s.len() > 1 {
                3
            } else {
                10
            }
        }
        Some(b'r') => 4,
        Some(b's') => 7,
        _ => return SUFFIX_INVALID,
    };
    if SUFFIXES[val].as_bytes() == s {
        val
    } else {
        SUFFIX_INVALID
    }
}

struct State<'a> {
    token: Tok,
    suffix: usize,
    number: u64,
    value: &'a [u8],
    rest: &'a [u8],
}

impl<'a> State<'a> {
    fn first(s: &'a [u8]) -> Self {
        let mut st = State {
            token: Tok::InitialDigit,
            suffix: SUFFIX_INVALID,
            number: 0,
            value: &s[..0],
            rest: s,
        };
        st.parse_digits();
        st
    }

    /// `token_parse_digits`: the digits become both a number and the raw value.
    fn parse_digits(&mut self) {
        let n = self.rest.iter().take_while(|c| c.is_ascii_digit()).count();
        self.value = &self.rest[..n];
        self.number = self.value.iter().fold(0u64, |acc, &c| {
            acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'))
        });
        self.rest = &self.rest[n..];
        if n == 0 {
            self.token = Tok::Invalid;
        }
    }

    fn take_span(&mut self, pred: impl Fn(u8) -> bool) {
        let n = self.rest.iter().take_while(|&&c| pred(c)).count();
        self.value = &self.rest[..n];
        self.rest = &self.rest[n..];
    }

    /// `token_next`: classify by the next byte and check it may follow the previous token.
    fn next(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.token = Tok::End;
            return;
        };
        match c {
            b'a'..=b'z' => {
                if self.token > Tok::Digit {
                    return self.invalid();
                }
                self.value = &self.rest[..1];
                self.rest = &self.rest[1..];
                self.token = Tok::Letter;
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if self.token > Tok::Digit {
                        return self.invalid();
                    }
                    self.rest = &self.rest[1..];
                }
                self.token = match self.token {
                    Tok::InitialDigit | Tok::Digit => Tok::Digit,
                    Tok::Suffix => Tok::SuffixNo,
                    _ => return self.invalid(),
                };
                self.parse_digits();
            }
            b'_' => {
                if self.token > Tok::SuffixNo {
                    return self.invalid();
                }
                self.rest = &self.rest[1..];
                self.take_span(|c| c.is_ascii_lowercase());
                self.suffix = suffix_value(self.value);
                if self.suffix == SUFFIX_INVALID {
                    return self.invalid();
                }
                self.token = Tok::Suffix;
            }
            b'~' => {
                if self.token >= Tok::CommitHash {
                    return self.invalid();
                }
                self.rest = &self.rest[1..];
                self.take_span(|c| c.is_ascii_hexdigit());
                if self.value.is_empty() {
                    return self.invalid();
                }
                self.token = Tok::CommitHash;
            }
            b'-' => {
                if self.token >= Tok::RevisionNo || !self.rest.starts_with(b"-r") {
                    return self.invalid();
                }
                self.rest = &self.rest[2..];
                self.token = Tok::RevisionNo;
                self.parse_digits();
            }
            _ => self.invalid(),
        }
    }

    fn invalid(&mut self) {
        self.token = Tok::Invalid;
    }
}

/// `token_cmp` for two tokens of the same type.
fn token_cmp(a: &State<'_>, b: &State<'_>) -> Ordering {
    match a.token {
        Tok::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Tok::Digit | Tok::InitialDigit | Tok::SuffixNo | Tok::RevisionNo => a.number.cmp(&b.number),
        Tok::Letter => a.value.first().cmp(&b.value.first()),
        Tok::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

/// Compares two Alpine versions; never fails (see the module notes on invalid input).
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let mut ta = State::first(a.as_bytes());
    let mut tb = State::first(b.as_bytes());
    while ta.token == tb.token && ta.token < Tok::End {
        match token_cmp(&ta, &tb) {
            Ordering::Equal => {}
            o => return Ok(o),
        }
        ta.next();
        tb.next();
    }
    if ta.token == tb.token {
        return Ok(Ordering::Equal);
    }
    if ta.token == Tok::Suffix && ta.suffix < SUFFIX_NONE {
        return Ok(Ordering::Less);
    }
    if tb.token == Tok::Suffix && tb.suffix < SUFFIX_NONE {
        return Ok(Ordering::Greater);
    }
    Ok(tb.token.cmp(&ta.token))
}

#[cfg(test)]
/// Whether apk-tools' `apk_version_validate` accepts the string.
pub(crate) fn validate(v: &str) -> bool {
    let mut t = State::first(v.as_bytes());
    while t.token < Tok::End {
        t.next();
    }
    t.token == Tok::End
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::validate;
    use crate::Scheme;
    use crate::util::testing::check_table;

    /// apk-tools' test/version.data, transcribed to `tests/vectors/apk-version.data`.
    #[test]
    fn apk_tools_version_data() {
        let data = include_str!("../tests/vectors/apk-version.data");
        let mut table = Vec::new();
        for line in data
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let mut parts = line.split_whitespace();
            let (Some(a), Some(op), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
                panic!("bad vector line {line:?}");
            };
            let want = match op {
                "<" => -1,
                "=" => 0,
                ">" => 1,
                _ => panic!("bad operator in {line:?}"),
            };
            table.push((a, b, want));
        }
        assert!(table.len() > 500, "only {} vectors", table.len());
        check_table(Scheme::Apk, &table);
    }

    /// Validation (apk-tools' `apk_version_validate`) and the suffix/commit-hash forms.
    #[test]
    fn grammar() {
        for v in [
            "1.0",
            "1.0a",
            "1.0_alpha1_p2",
            "1.0~abc123-r1",
            "1.0-r0",
            "0.1_git20240101",
        ] {
            assert!(validate(v), "{v} should be valid");
        }
        for v in [
            "", "a1", "1.0bc", "1.0_foo", "1.0-1", "1..0", "1.0-r", "1.0~", "1.0~xyz",
        ] {
            assert!(!validate(v), "{v} should be invalid");
        }
        check_table(
            Scheme::Apk,
            &[
                ("1.0_alpha", "1.0_beta", -1),
                ("1.0_beta", "1.0_pre", -1),
                ("1.0_pre", "1.0_rc", -1),
                ("1.0_rc", "1.0", -1),
                ("1.0", "1.0_cvs", -1),
                ("1.0_cvs", "1.0_svn", -1),
                ("1.0_svn", "1.0_git", -1),
                ("1.0_git", "1.0_hg", -1),
                ("1.0_hg", "1.0_p", -1),
                // A post-release suffix or commit hash outranks a bare revision.
                ("1.0_p1", "1.0-r1", 1),
                ("1.0~abc-r1", "1.0-r1", 1),
                ("1.0~abc", "1.0~abd", -1),
                ("1.01", "1.1", -1),
                ("1.001", "1.01", -1),
            ],
        );
        assert_eq!(super::compare("1.0", "1.0").ok(), Some(Ordering::Equal));
    }
}
