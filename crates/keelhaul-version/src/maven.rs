//! Maven ordering: `org.apache.maven.artifact.versioning.ComparableVersion` as shipped in
//! Maven 3.8 (Debian bookworm's `libmaven3-core-java`, `maven-artifact-3.x.jar`).
//!
//! The version is lower-cased and cut into items: numbers (kept by digit count as Java
//! `int` ≤ 9 digits, `long` ≤ 18, `BigInteger` beyond, the *kind* taking part in the
//! comparison just as in Java), qualifiers (`alpha < beta < milestone < rc = cr <
//! snapshot < "" = ga = final = release < sp < unknown`, unknown ones compared as
//! strings; `a1`/`b1`/`m1` mean alpha/beta/milestone when a digit follows) and sub-lists
//! opened by `-` and by every letter↔digit transition; since Maven 3.8.7 (MNG-7559) a
//! qualifier that does not start a list (`1.0.0.X1`) also opens its own list, so `.X`
//! sorts like `-X`. Trailing "null" items (`0`, `""`, empty lists) are removed from each
//! list. Never fails.
//!
//! Digits are ASCII only (Java's `Character.isDigit` also accepts other Unicode decimal
//! digits; no Maven version uses them).

use std::cmp::Ordering;

use crate::VersionError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum IntKind {
    Int,
    Long,
    Big,
}

#[derive(Debug, Clone)]
enum Item {
    /// Kind plus digits without leading zeros (`"0"` for zero).
    Num(IntKind, String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// Index of the release qualifier `""`.
const RELEASE_INDEX: usize = 5;

/// `comparableQualifier`: the index of a known qualifier, or `"7-" + qualifier`; compared
/// as Java strings (digits sort before `7-…`, unknown ones lexicographically).
fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{}", QUALIFIERS.len(), q),
    }
}

/// Java's `String.compareTo`: UTF-16 code unit order.
fn java_str_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn new_string_item(value: &str, followed_by_digit: bool) -> Item {
    let mut v = value;
    if followed_by_digit && value.chars().count() == 1 {
        v = match value {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            _ => value,
        };
    }
    let v = match v {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(v.to_owned())
}

fn parse_item(is_digit: bool, buf: &str) -> Item {
    if is_digit {
        // stripLeadingZeroes keeps an all-zero run as is, so its length decides the kind.
        let stripped = match buf.find(|c| c != '0') {
            Some(i) => &buf[i..],
            None => buf,
        };
        let kind = match stripped.len() {
            0..=9 => IntKind::Int,
            10..=18 => IntKind::Long,
            _ => IntKind::Big,
        };
        let value = stripped.trim_start_matches('0');
        Item::Num(kind, if value.is_empty() { "0" } else { value }.to_owned())
    } else {
        new_string_item(buf, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Num(_, v) => v == "0",
            Item::Str(s) => comparable_qualifier(s) == RELEASE_INDEX.to_string(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// `Item.compareTo(null)`.
    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Num(_, v) => {
                if v == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Str(s) => java_str_cmp(&comparable_qualifier(s), &RELEASE_INDEX.to_string()),
            Item::List(l) => l
                .iter()
                .map(Item::cmp_null)
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
        }
    }

    fn cmp(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Num(ka, a), Item::Num(kb, b)) => {
                if ka == kb {
                    crate::util::cmp_digits(a, b)
                } else {
                    ka.cmp(kb)
                }
            }
            (Item::Num(..), _) => Ordering::Greater,
            (Item::Str(_), Item::Num(..)) => Ordering::Less,
            (Item::Str(a), Item::Str(b)) => {
                java_str_cmp(&comparable_qualifier(a), &comparable_qualifier(b))
            }
            (Item::Str(_), Item::List(_)) => Ordering::Less,
            (Item::List(_), Item::Num(..)) => Ordering::Less,
            (Item::List(_), Item::Str(_)) => Ordering::Greater,
            (Item::List(a), Item::List(b)) => {
                let n = a.len().max(b.len());
                for i in 0..n {
                    let r = match (a.get(i), b.get(i)) {
                        (Some(l), Some(r)) => l.cmp(r),
                        (Some(l), None) => l.cmp_null(),
                        (None, Some(r)) => r.cmp_null().reverse(),
                        (None, None) => Ordering::Equal,
                    };
                    if r != Ordering::Equal {
                        return r;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

/// `ListItem.normalize`: drop trailing null items, stopping at the first non-null
/// non-list item.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// `parseVersion` (Maven 3.8.7). Lists are built as a path of open lists: Java adds a new list to its
/// parent as soon as it opens it, so we keep the open lists on a stack and attach each
/// one to its parent when it is closed at the end (lists are only ever appended to the
/// most recently opened list, so the tree shape is the same).
fn parse(version: &str) -> Item {
    let version = version.to_lowercase();
    // stack[0] is the root; every other entry is a list whose parent is the entry below.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0usize;
    let chars: Vec<(usize, char)> = version.char_indices().collect();
    let top = |stack: &mut Vec<Vec<Item>>| -> usize { stack.len() - 1 };
    for &(i, c) in &chars {
        if c == '.' || c == '-' {
            let t = top(&mut stack);
            if i == start {
                stack[t].push(Item::Num(IntKind::Int, "0".into()));
            } else {
                stack[t].push(parse_item(is_digit, &version[start..i]));
            }
            start = i + c.len_utf8();
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // Maven 3.8.7 (MNG-7559): "treat .X as -X for any string qualifier X",
                // i.e. a qualifier opens its own list unless the current one is empty.
                if stack.last().is_some_and(|l| !l.is_empty()) {
                    stack.push(Vec::new());
                }
                let t = top(&mut stack);
                stack[t].push(new_string_item(&version[start..i], true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                let t = top(&mut stack);
                stack[t].push(parse_item(true, &version[start..i]));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if version.len() > start {
        // Same MNG-7559 rule for a trailing qualifier.
        if !is_digit && stack.last().is_some_and(|l| !l.is_empty()) {
            stack.push(Vec::new());
        }
        let t = top(&mut stack);
        stack[t].push(parse_item(is_digit, &version[start..]));
    }
    // Java normalises from the innermost list outwards, each list after its children were
    // normalised (a child list is the last element of its parent).
    while stack.len() > 1 {
        let mut child = stack.pop().unwrap_or_default();
        normalize(&mut child);
        let t = top(&mut stack);
        stack[t].push(Item::List(child));
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    Item::List(root)
}

/// Compares two Maven versions; never fails.
pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse(a).cmp(&parse(b)))
}

#[cfg(test)]
mod tests {
    use crate::Scheme;
    use crate::util::testing::{check_sorted, check_table};

    /// maven-artifact ComparableVersionTest `VERSIONS_QUALIFIER`.
    #[test]
    fn versions_qualifier() {
        check_sorted(
            Scheme::Maven,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
    }

    /// maven-artifact ComparableVersionTest `VERSIONS_NUMBER`, as Maven 3.8.7 orders it.
    #[test]
    fn versions_number() {
        check_table(Scheme::Maven, &[("2.0.a", "2.0.0.a", 0)]);
        check_sorted(
            Scheme::Maven,
            &[
                // Maven 3.8.7 (MNG-7559) moved "2.0.a" before "2-1" and made it equal to
                // "2.0.0.a" (checked below); the older upstream list had "2-1" first.
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    /// ComparableVersionTest `testVersionsEqual` and `testVersionComparing`.
    #[test]
    fn versions_equal_and_comparing() {
        let equal: &[(&str, &str)] = &[
            ("1", "1"),
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.0-0"),
            ("1.0", "1.0-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1a", "1.0.0-a"),
            ("1.0a", "1.0.a"),
            ("1.0.0a", "1.0.0.a"),
            ("1x", "1-x"),
            ("1x", "1.0-x"),
            ("1x", "1.0.0-x"),
            ("1.0x", "1.0.x"),
            ("1.0.0x", "1.0.0.x"),
            ("1ga", "1"),
            ("1release", "1"),
            ("1final", "1"),
            ("1cr", "1rc"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1X", "1x"),
            ("1A", "1a"),
            ("1B", "1b"),
            ("1M", "1m"),
            ("1Ga", "1"),
            ("1GA", "1"),
            ("1RELEASE", "1"),
            ("1Final", "1"),
            ("1FinaL", "1"),
            ("1FINAL", "1"),
            ("1Cr", "1Rc"),
            ("1cR", "1rC"),
            ("1m3", "1Milestone3"),
            ("1m3", "1MileStone3"),
            ("1m3", "1MILESTONE3"),
            (
                "1-abcdefghijklmnopqrstuvwxyz",
                "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            ),
        ];
        let mut table: Vec<(&str, &str, i8)> = equal.iter().map(|&(a, b)| (a, b, 0)).collect();
        for (a, b) in [
            ("1", "2"),
            ("1.5", "2"),
            ("1", "2.5"),
            ("1.0", "1.1"),
            ("1.1", "1.2"),
            ("1.0.0", "1.1"),
            ("1.0.1", "1.1"),
            ("1.1", "1.2.0"),
            ("1.0-alpha-1", "1.0"),
            ("1.0-alpha-1", "1.0-alpha-2"),
            ("1.0-alpha-1", "1.0-beta-1"),
            ("1.0-beta-1", "1.0-SNAPSHOT"),
            ("1.0-SNAPSHOT", "1.0"),
            ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
            ("1.0", "1.0-1"),
            ("1.0-1", "1.0-2"),
            ("1.0.0", "1.0-1"),
            ("2.0-1", "2.0.1"),
            ("2.0.1-klm", "2.0.1-lmn"),
            ("2.0.1", "2.0.1-xyz"),
            ("2.0.1", "2.0.1-123"),
            ("2.0.1-xyz", "2.0.1-123"),
            // MNG-7559 (Maven 3.8.7): ".X" is treated as "-X" for a qualifier X.
            ("1.0.0.X1", "1.0.0-X2"),
        ] {
            table.push((a, b, -1));
        }
        check_table(Scheme::Maven, &table);
    }
}
