//! PEP 440 ordering as `packaging.version.Version` implements it (packaging 26).
//!
//! Parsing follows packaging's `VERSION_PATTERN` (case-insensitive, optional leading `v`,
//! surrounding whitespace allowed) and its normalisation: `alpha`→`a`, `beta`→`b`,
//! `c`/`pre`/`preview`→`rc`, `rev`/`r`→`post`, implicit post release `1.0-1`, implicit `0`
//! numbers, `.`/`-`/`_` separators. Ordering is packaging's `_cmpkey`: epoch, release with
//! trailing zeros removed, then `(pre rank, pre n, post?, post n, dev?, dev n)` where a
//! dev-only release sorts before every pre-release, then the local version (absent <
//! present; per segment strings < integers). Text packaging rejects is an error, as
//! packaging raises `InvalidVersion`.
//!
//! Numbers are compared without size limits (Python integers are unbounded).

use std::cmp::Ordering;

use crate::util::{cmp_digits, invalid};
use crate::{Scheme, VersionError};

/// A decimal number kept as its digit run (so any size compares correctly).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Num(String);

impl Num {
    fn new(digits: &str) -> Self {
        let t = digits.trim_start_matches('0');
        Num(if t.is_empty() { "0".into() } else { t.into() })
    }
    fn zero() -> Self {
        Num("0".into())
    }
    fn is_zero(&self) -> bool {
        self.0 == "0"
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(&self.0, &other.0)
    }
}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One local-version segment: packaging turns all-digit segments into ints and lowercases
/// the rest; strings sort before ints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Local {
    Str(String),
    Int(Num),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    A,
    B,
    Rc,
}

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    epoch: Num,
    release: Vec<Num>,
    pre: Option<(Pre, Num)>,
    post: Option<Num>,
    dev: Option<Num>,
    local: Option<Vec<Local>>,
}

/// A cursor over the ASCII bytes of the version, matching case-insensitively.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'.' | b'_' | b'-')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn digits(&mut self) -> Option<&str> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start {
            None
        } else {
            // Only ASCII digits were consumed.
            std::str::from_utf8(&self.s[start..self.i]).ok()
        }
    }
    /// Consumes the first word of `words` (in order, like a regex alternation) that
    /// matches case-insensitively at the cursor.
    fn word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let rest = &self.s[self.i..];
        for w in words {
            if rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes()) {
                self.i += w.len();
                return Some(w);
            }
        }
        None
    }
}

/// Python's `str.strip()` whitespace (what `\s` matches in packaging's regex).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn parse(input: &str) -> Result<Version, VersionError> {
    let bad = || invalid(Scheme::Pep440, input, "not a PEP 440 version");
    let text = input.trim_matches(is_py_space);
    let mut c = Cur {
        s: text.as_bytes(),
        i: 0,
    };
    if matches!(c.peek(), Some(b'v' | b'V')) {
        c.i += 1;
    }
    // Epoch or first release number.
    let first = c.digits().ok_or_else(bad)?.to_owned();
    let mut epoch = Num::zero();
    let mut release = Vec::new();
    if c.peek() == Some(b'!') {
        c.i += 1;
        epoch = Num::new(&first);
        release.push(Num::new(c.digits().ok_or_else(bad)?));
    } else {
        release.push(Num::new(&first));
    }
    // `(?:\.[0-9]+)*+`: take `.digits` while possible (possessive, never given back).
    while c.peek() == Some(b'.') && c.s.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
        c.i += 1;
        release.push(Num::new(c.digits().ok_or_else(bad)?));
    }
    // Pre-release: `[._-]?+ (alpha|a|beta|b|preview|pre|c|rc) [._-]?+ [0-9]*`.
    let mut pre = None;
    {
        let save = c.i;
        c.sep();
        match c.word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
            Some(w) => {
                let kind = match w {
                    "alpha" | "a" => Pre::A,
                    "beta" | "b" => Pre::B,
                    _ => Pre::Rc,
                };
                c.sep();
                let n = c.digits().map(Num::new).unwrap_or_else(Num::zero);
                pre = Some((kind, n));
            }
            None => c.i = save,
        }
    }
    // Post-release: `-[0-9]+` or `[._-]? (post|rev|r) [._-]? [0-9]*`.
    let mut post = None;
    {
        let save = c.i;
        if c.peek() == Some(b'-') && c.s.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
            c.i += 1;
            post = c.digits().map(Num::new);
        } else {
            c.sep();
            if c.word(&["post", "rev", "r"]).is_some() {
                c.sep();
                post = Some(c.digits().map(Num::new).unwrap_or_else(Num::zero));
            } else {
                c.i = save;
            }
        }
    }
    // Dev release: `[._-]?+ dev [._-]?+ [0-9]*`.
    let mut dev = None;
    {
        let save = c.i;
        c.sep();
        if c.word(&["dev"]).is_some() {
            c.sep();
            dev = Some(c.digits().map(Num::new).unwrap_or_else(Num::zero));
        } else {
            c.i = save;
        }
    }
    // Local version: `\+ [a-z0-9]+ (?:[._-][a-z0-9]+)*`.
    let mut local = None;
    if c.peek() == Some(b'+') {
        c.i += 1;
        let rest = std::str::from_utf8(&c.s[c.i..]).map_err(|_| bad())?;
        let mut parts = Vec::new();
        for part in rest.split(['.', '_', '-']) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad());
            }
            parts.push(if part.bytes().all(|b| b.is_ascii_digit()) {
                Local::Int(Num::new(part))
            } else {
                Local::Str(part.to_ascii_lowercase())
            });
        }
        c.i = c.s.len();
        local = Some(parts);
    }
    if c.i != c.s.len() {
        return Err(bad());
    }
    Ok(Version {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

impl Version {
    /// packaging's `_cmpkey` suffix `(pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)`.
    fn suffix(&self) -> (i8, Num, u8, Num, u8, Num) {
        let (pre_rank, pre_n) = match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (-1, Num::zero()),
            (None, _, _) => (3, Num::zero()),
            (Some((k, n)), _, _) => (*k as i8, n.clone()),
        };
        let (post_rank, post_n) = match &self.post {
            None => (0, Num::zero()),
            Some(n) => (1, n.clone()),
        };
        let (dev_rank, dev_n) = match &self.dev {
            None => (1, Num::zero()),
            Some(n) => (0, n.clone()),
        };
        (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)
    }

    fn trimmed_release(&self) -> &[Num] {
        let mut n = self.release.len();
        while n > 0 && self.release[n - 1].is_zero() {
            n -= 1;
        }
        &self.release[..n]
    }

    fn cmp_key(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| self.suffix().cmp(&other.suffix()))
            .then_with(|| self.local.cmp(&other.local))
    }
}

/// Compares two PEP 440 versions; fails on text packaging rejects.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let va = parse(a)?;
    let vb = parse(b)?;
    Ok(va.cmp_key(&vb))
}

#[cfg(test)]
mod tests {
    use crate::Scheme;
    use crate::util::testing::{check_invalid, check_sorted, check_table, check_valid};

    /// packaging's tests/test_version.py `VERSIONS` (must be in sorting order).
    const VERSIONS: &[&str] = &[
        "1.0.dev0",
        "1.0.dev456",
        "1.0.dev456+local",
        "1.0a0",
        "1.0a0.post0.dev0",
        "1.0a0.post0",
        "1.0a1.dev1",
        "1.0a1.dev1+local",
        "1.0a1",
        "1.0a1+local",
        "1.0b0",
        "1.0b1.dev456",
        "1.0b2",
        "1.0b2.post345.dev456",
        "1.0b2.post345",
        "1.0b2-346",
        "1.0rc0",
        "1.0rc1.dev1",
        "1.0c1",
        "1.0rc2",
        "1.0",
        "1.0.post0.dev0",
        "1.0.post0",
        "1.0.post456.dev34",
        "1.0.post456",
        "1.0.post456+local",
        "1.0.1.dev1",
        "1.0.1a1",
        "1.0.1",
        "1.0.1+local",
        "1.0.1.post1",
        "1.1.dev1",
        "1.2+a",
        "1.2+abc",
        "1.2+abcdef",
        "1.2+def",
        "1.2+0",
        "1.2+1",
        "1.2+1.abc",
        "1.2+1.1",
        "1.2+1.1.0",
        "1.2+2",
        "1.2+123",
        "1.2+123456",
        "1.2.r32+123456",
        "1.2.rev33+123456",
        "1!1.0.dev0",
        "1!1.0.dev456",
        "1!1.0.dev456+local",
        "1!1.0a0",
        "1!1.0a0.post0.dev0",
        "1!1.0a0.post0",
        "1!1.0a1.dev1",
        "1!1.0a1.dev1+local",
        "1!1.0a1",
        "1!1.0a1+local",
        "1!1.0b0",
        "1!1.0b1.dev456",
        "1!1.0b2",
        "1!1.0b2.post345.dev456",
        "1!1.0b2.post345",
        "1!1.0b2-346",
        "1!1.0rc0",
        "1!1.0rc1.dev1",
        "1!1.0c1",
        "1!1.0rc2",
        "1!1.0",
        "1!1.0.post0.dev0",
        "1!1.0.post0",
        "1!1.0.post456.dev34",
        "1!1.0.post456",
        "1!1.0.post456+local",
        "1!1.0.1.dev1",
        "1!1.0.1a1",
        "1!1.0.1",
        "1!1.0.1+local",
        "1!1.0.1.post1",
        "1!1.1.dev1",
        "1!1.2+a",
        "1!1.2+abc",
        "1!1.2+abcdef",
        "1!1.2+def",
        "1!1.2+0",
        "1!1.2+1",
        "1!1.2+1.abc",
        "1!1.2+1.1",
        "1!1.2+1.1.0",
        "1!1.2+2",
        "1!1.2+123",
        "1!1.2+123456",
        "1!1.2.r32+123456",
        "1!1.2.rev33+123456",
    ];

    #[test]
    fn packaging_versions_order() {
        check_valid(Scheme::Pep440, VERSIONS);
        // The pairs are ordered, except "1.0rc1" == "1.0c1" (adjacent, not in VERSIONS twice).
        check_sorted(Scheme::Pep440, VERSIONS);
    }

    /// packaging's `test_invalid_versions`.
    #[test]
    fn packaging_invalid_versions() {
        check_invalid(
            Scheme::Pep440,
            &[
                "french toast",
                "1.0+a+",
                "1.0++",
                "1.0+_foobar",
                "1.0+foo&asd",
                "1.0+1+1",
                "1. 0",
                "1 .0",
                "1. 0a1",
                "1 .0a1",
                "1.0 a1",
                "1.0a 1",
                "٠١٢.٣٤٥.٦٧٨٩",
                ".",
                "..",
                "1..0",
                "1.0.",
                ".1.0",
                "1..2.3",
                "1.0+\u{130}",
                "lolwat",
            ],
        );
    }

    /// packaging's `test_normalized_versions`: each input equals its normal form.
    #[test]
    fn packaging_normalized_versions() {
        let table: &[(&str, &str)] = &[
            ("1.0dev", "1.0.dev0"),
            ("1.0.dev", "1.0.dev0"),
            ("1.0dev1", "1.0.dev1"),
            ("1.0-dev", "1.0.dev0"),
            ("1.0-dev1", "1.0.dev1"),
            ("1.0DEV", "1.0.dev0"),
            ("1.0.DEV", "1.0.dev0"),
            ("1.0DEV1", "1.0.dev1"),
            ("1.0.DEV1", "1.0.dev1"),
            ("1.0-DEV", "1.0.dev0"),
            ("1.0-DEV1", "1.0.dev1"),
            ("1.0a", "1.0a0"),
            ("1.0.a", "1.0a0"),
            ("1.0.a1", "1.0a1"),
            ("1.0-a", "1.0a0"),
            ("1.0-a1", "1.0a1"),
            ("1.0alpha", "1.0a0"),
            ("1.0.alpha", "1.0a0"),
            ("1.0.alpha1", "1.0a1"),
            ("1.0-alpha", "1.0a0"),
            ("1.0-alpha1", "1.0a1"),
            ("1.0A", "1.0a0"),
            ("1.0.A", "1.0a0"),
            ("1.0.A1", "1.0a1"),
            ("1.0-A", "1.0a0"),
            ("1.0-A1", "1.0a1"),
            ("1.0ALPHA", "1.0a0"),
            ("1.0.ALPHA", "1.0a0"),
            ("1.0.ALPHA1", "1.0a1"),
            ("1.0-ALPHA", "1.0a0"),
            ("1.0-ALPHA1", "1.0a1"),
            ("1.0b", "1.0b0"),
            ("1.0.b", "1.0b0"),
            ("1.0.b1", "1.0b1"),
            ("1.0-b", "1.0b0"),
            ("1.0-b1", "1.0b1"),
            ("1.0beta", "1.0b0"),
            ("1.0.beta", "1.0b0"),
            ("1.0.beta1", "1.0b1"),
            ("1.0-beta", "1.0b0"),
            ("1.0-beta1", "1.0b1"),
            ("1.0B", "1.0b0"),
            ("1.0.B", "1.0b0"),
            ("1.0.B1", "1.0b1"),
            ("1.0-B", "1.0b0"),
            ("1.0-B1", "1.0b1"),
            ("1.0BETA", "1.0b0"),
            ("1.0.BETA", "1.0b0"),
            ("1.0.BETA1", "1.0b1"),
            ("1.0-BETA", "1.0b0"),
            ("1.0-BETA1", "1.0b1"),
            ("1.0c", "1.0rc0"),
            ("1.0.c", "1.0rc0"),
            ("1.0.c1", "1.0rc1"),
            ("1.0-c", "1.0rc0"),
            ("1.0-c1", "1.0rc1"),
            ("1.0rc", "1.0rc0"),
            ("1.0.rc", "1.0rc0"),
            ("1.0.rc1", "1.0rc1"),
            ("1.0-rc", "1.0rc0"),
            ("1.0-rc1", "1.0rc1"),
            ("1.0C", "1.0rc0"),
            ("1.0.C", "1.0rc0"),
            ("1.0.C1", "1.0rc1"),
            ("1.0-C", "1.0rc0"),
            ("1.0-C1", "1.0rc1"),
            ("1.0RC", "1.0rc0"),
            ("1.0.RC", "1.0rc0"),
            ("1.0.RC1", "1.0rc1"),
            ("1.0-RC", "1.0rc0"),
            ("1.0-RC1", "1.0rc1"),
            ("1.0post", "1.0.post0"),
            ("1.0.post", "1.0.post0"),
            ("1.0post1", "1.0.post1"),
            ("1.0-post", "1.0.post0"),
            ("1.0-post1", "1.0.post1"),
            ("1.0POST", "1.0.post0"),
            ("1.0.POST", "1.0.post0"),
            ("1.0POST1", "1.0.post1"),
            ("1.0r", "1.0.post0"),
            ("1.0rev", "1.0.post0"),
            ("1.0.POST1", "1.0.post1"),
            ("1.0.r1", "1.0.post1"),
            ("1.0.rev1", "1.0.post1"),
            ("1.0-POST", "1.0.post0"),
            ("1.0-POST1", "1.0.post1"),
            ("1.0-5", "1.0.post5"),
            ("1.0-r5", "1.0.post5"),
            ("1.0-rev5", "1.0.post5"),
            ("1.0+AbC", "1.0+abc"),
            ("1.01", "1.1"),
            ("1.0a05", "1.0a5"),
            ("1.0b07", "1.0b7"),
            ("1.0c056", "1.0rc56"),
            ("1.0rc09", "1.0rc9"),
            ("1.0.post000", "1.0.post0"),
            ("1.1.dev09000", "1.1.dev9000"),
            ("00!1.2", "1.2"),
            ("0100!0.0", "100!0.0"),
            ("v1.0", "1.0"),
            ("   v1.0\t\n", "1.0"),
            ("\u{202f}1.0\t\u{2029}\n ", "1.0"),
        ];
        let eq: Vec<(&str, &str, i8)> = table.iter().map(|&(a, b)| (a, b, 0)).collect();
        check_table(Scheme::Pep440, &eq);
        check_table(
            Scheme::Pep440,
            &[
                ("1.0rc1", "1.0c1", 0),
                ("1.0", "1.0.0.0", 0),
                ("1.0+1.0", "1.0+1", 1),
                (
                    "99999999999999999999999999.1",
                    "99999999999999999999999999.2",
                    -1,
                ),
            ],
        );
    }
}
