//! Small text helpers: entropy, placeholders, redaction, excerpts, globs.

use regex::Regex;

/// Shannon entropy in bits per byte.
pub(super) fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Keys that documentation publishes as examples (AWS's own docs use these).
const KNOWN_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
];

/// Substrings (lowercase) that mark a value as an example or template, not a secret.
const PLACEHOLDER_MARKS: &[&str] = &[
    "example",
    "xxxxx",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "your_",
    "your-",
    "yourpass",
    "yoursecret",
    "yourtoken",
    "yourkey",
    "redacted",
    "dummy",
    "${",
    "{{",
    "}}",
    "%(",
    "#{",
    "$(",
    "<",
    ">",
    "*****",
    "....",
];

/// Whether a secret is obviously not real: a documented example, a template reference,
/// a fill character repeated.
pub(super) fn is_placeholder(secret: &[u8]) -> bool {
    if KNOWN_EXAMPLES.iter().any(|k| k.as_bytes() == secret) {
        return true;
    }
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_MARKS
        .iter()
        .any(|m| contains(&lower, m.as_bytes()))
    {
        return true;
    }
    // `$VAR`, `%VAR%`, `@VAR@` (maven filtering)
    if matches!(lower.first(), Some(b'$' | b'%' | b'@')) {
        return true;
    }
    // one repeated character (`00000000`, `aaaaaaaa`)
    lower.windows(2).all(|w| w[0] == w[1])
}

/// Values that are words, not secrets, when assigned to a password/secret key.
const FILLER_VALUES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "string",
    "required",
    "optional",
    "empty",
    "hidden",
    "unset",
    "default",
    "notset",
    "not_set",
    "mypassword",
    "password123",
    "secretpassword",
    "postgres",
];

/// Key-name parts that say the value is metadata about a secret, not the secret.
const META_KEY_PARTS: &[&str] = &[
    "file",
    "path",
    "hash",
    "length",
    "len",
    "policy",
    "expir",
    "hint",
    "prompt",
    "reset",
    "regex",
    "pattern",
    "url",
    "uri",
    "endpoint",
    "name",
    "type",
    "tokenizer",
    "env",
    "var",
    "command",
    "cmd",
    "field",
    "label",
    "header",
    "ttl",
    "timeout",
    "enabled",
    "required",
    "max_",
    "min_",
    "_max",
    "_min",
    "count",
    "ref",
    "arn",
];

/// The key of a `key = value` match is a secret-holding key (not `PWD`, `password_file`…).
pub(super) fn key_is_secret(key: &[u8]) -> bool {
    let lower = key.to_ascii_lowercase();
    // the shell's working directory variables
    if lower == b"pwd" || lower == b"oldpwd" {
        return false;
    }
    // command-line flags in documentation (`--password=…` in a help text)
    if lower.first() == Some(&b'-') {
        return false;
    }
    // identifiers of a secret (`private_key_id`, `secretId`) are not the secret
    if lower.ends_with(b"id") {
        return false;
    }
    !META_KEY_PARTS
        .iter()
        .any(|p| contains(&lower, p.as_bytes()))
}

/// The value of a `key = value` match looks like a literal secret, not a reference.
pub(super) fn value_is_literal(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    let trimmed: &[u8] = {
        let mut v = lower.as_slice();
        while let [rest @ .., b',' | b';' | b'}' | b']' | b')'] = v {
            v = rest;
        }
        v
    };
    if FILLER_VALUES.iter().any(|f| f.as_bytes() == trimmed) {
        return false;
    }
    // paths, YAML tags/anchors/aliases, JSON structure, function calls
    if matches!(
        lower.first(),
        Some(b'/' | b'.' | b'~' | b'!' | b'&' | b'*' | b'{' | b'[' | b'(')
    ) {
        return false;
    }
    if contains(&lower, b"(") || contains(&lower, b"env[") || contains(&lower, b"environ") {
        return false;
    }
    // a short number is a setting (port, length), not a password
    !(trimmed.len() < 8 && trimmed.iter().all(u8::is_ascii_digit))
}

/// Naive substring search (needles are tiny).
pub(super) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The secret as shown: first 4 and last 2 characters (first 2 for shorter secrets).
pub(super) fn redact(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() >= 16 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}*****{tail}")
    } else if chars.len() >= 6 {
        let head: String = chars[..2].iter().collect();
        format!("{head}*****")
    } else {
        "*****".to_string()
    }
}

/// Context bytes kept on each side of the secret in an excerpt.
const BEFORE: usize = 60;
const AFTER: usize = 40;
/// Hard cap on the excerpt, in characters.
pub(super) const EXCERPT_MAX: usize = 120;

/// The excerpt of a finding: the text around the secret on its line (from `floor`, the
/// match's start, at most [`BEFORE`] bytes back), with the secret redacted; bounded work
/// whatever the line length.
pub(super) fn excerpt(content: &[u8], floor: usize, start: usize, end: usize) -> String {
    // back to the start of the anchor's line, at most BEFORE bytes before the secret
    let anchor = floor.min(start);
    let mut lo = start.saturating_sub(BEFORE);
    if anchor > lo
        && let Some(p) = content[lo..anchor].iter().rposition(|&b| b == b'\n')
    {
        lo += p + 1;
    }
    let lo = snap_forward(content, lo, start);
    let secret_end_line = content[start..end]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|p| start + p);
    let after = match secret_end_line {
        // a multi-line secret: show nothing after its first line
        Some(_) => String::new(),
        None => {
            let hi = (end + AFTER).min(content.len());
            let stop = content[end..hi]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .map_or(hi, |p| end + p);
            let stop = snap_back(content, end, stop);
            flatten(&content[end..stop])
        }
    };
    let before = flatten(&content[lo..start]);
    let secret = String::from_utf8_lossy(&content[start..end]);
    let mut text = format!("{}{}{}", before.trim_start(), redact(&secret), after);
    if text.chars().count() > EXCERPT_MAX {
        text = text.chars().take(EXCERPT_MAX).collect();
    }
    text.trim_end().to_string()
}

/// Lossy UTF-8 with line breaks and tabs turned into spaces.
fn flatten(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Moves `i` forward past UTF-8 continuation bytes (not beyond `limit`).
fn snap_forward(content: &[u8], mut i: usize, limit: usize) -> usize {
    while i < limit && (content[i] & 0xC0) == 0x80 {
        i += 1;
    }
    i
}

/// Moves `i` back to a UTF-8 character start (not before `floor`).
fn snap_back(content: &[u8], floor: usize, mut i: usize) -> usize {
    while i > floor && i < content.len() && (content[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    i
}

/// A path glob: `*` and `?` within a path segment, `**` across segments. A pattern
/// without `/` matches the file name, one with `/` the whole path.
#[derive(Debug, Clone)]
pub(super) struct Glob {
    regex: Regex,
    basename: bool,
}

impl Glob {
    /// Compiles a glob (errors only if the generated regex is too big).
    pub(super) fn new(pattern: &str) -> Result<Glob, regex::Error> {
        let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
        let basename = !pattern.contains('/');
        let mut re = String::from("^");
        let bytes: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                '*' if bytes.get(i + 1) == Some(&'*') => {
                    if bytes.get(i + 2) == Some(&'/') {
                        re.push_str("(?:.*/)?");
                        i += 3;
                    } else {
                        re.push_str(".*");
                        i += 2;
                    }
                    continue;
                }
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
            i += 1;
        }
        re.push('$');
        Ok(Glob {
            regex: Regex::new(&re)?,
            basename,
        })
    }

    /// Whether `path` (no leading `/`) matches.
    pub(super) fn matches(&self, path: &str) -> bool {
        if self.basename {
            let name = path.rsplit('/').next().unwrap_or(path);
            self.regex.is_match(name)
        } else {
            self.regex.is_match(path)
        }
    }
}

/// Decodes base64url (or standard base64), padding optional; `None` when malformed.
pub(super) fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = ((acc << 6) | u32::from(v)) & 0xFF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}
