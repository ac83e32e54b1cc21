//! The two small metadata formats inside a jar: `META-INF/MANIFEST.MF` and Maven's
//! `pom.properties` (Java properties syntax).

/// The main section of a `MANIFEST.MF`: headers in order. Continuation lines (starting
/// with one space) are joined; the main section ends at the first blank line.
#[derive(Debug, Default, Clone)]
pub(crate) struct Manifest {
    headers: Vec<(String, String)>,
}

impl Manifest {
    pub(crate) fn parse(text: &str) -> Manifest {
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                if headers.is_empty() {
                    continue;
                }
                break;
            }
            if let Some(rest) = line.strip_prefix(' ') {
                if let Some((_, v)) = headers.last_mut() {
                    v.push_str(rest);
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        for (_, v) in &mut headers {
            let trimmed = v.trim();
            if trimmed.len() != v.len() {
                *v = trimmed.to_owned();
            }
        }
        Manifest { headers }
    }

    /// A header's value (names are case-insensitive), if set and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Maven coordinates from a `pom.properties`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PomProperties {
    pub(crate) group: String,
    pub(crate) artifact: String,
    pub(crate) version: String,
}

impl PomProperties {
    /// The coordinates, if all three are set.
    pub(crate) fn parse(text: &str) -> Option<PomProperties> {
        let props = properties(text);
        let get = |k: &str| {
            props
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Some(PomProperties {
            group: get("groupId")?,
            artifact: get("artifactId")?,
            version: get("version")?,
        })
    }
}

/// Java properties: `key=value`, `key: value` or `key value`; `#` and `!` comments;
/// a line ending in an odd number of backslashes continues on the next; `\uXXXX` and the
/// usual escapes.
pub(crate) fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let mut line = line.trim_start();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        loop {
            let backslashes = line.len() - line.trim_end_matches('\\').len();
            if backslashes % 2 == 1 {
                logical.push_str(&line[..line.len() - 1]);
                match lines.next() {
                    Some(next) => line = next.trim_start(),
                    None => break,
                }
            } else {
                logical.push_str(line);
                break;
            }
        }
        if !logical.trim().is_empty() {
            out.push(split_property(&logical));
        }
        logical.clear();
    }
    out
}

fn split_property(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(e) = chars.next() {
                    key.push(unescape(e, &mut chars));
                }
            }
            '=' | ':' => break,
            c if c.is_whitespace() => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=' | ':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(e) = chars.next() {
                value.push(unescape(e, &mut chars));
            }
        } else {
            value.push(c);
        }
    }
    (key, value)
}

fn unescape(e: char, rest: &mut std::iter::Peekable<std::str::Chars<'_>>) -> char {
    match e {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\u{c}',
        'u' => {
            let hex: String = (0..4).filter_map(|_| rest.next()).collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}')
        }
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manifest_main_section_with_continuations() {
        let text = "Manifest-Version: 1.0\r\nBundle-SymbolicName: com.fasterxml.jackson.core.jack\r\n son-databind\r\nimplementation-version: 2.14.0\r\n\r\nName: org/x/\r\nImplementation-Version: 9\r\n";
        let m = Manifest::parse(text);
        assert_eq!(
            m.get("Bundle-SymbolicName"),
            Some("com.fasterxml.jackson.core.jackson-databind")
        );
        assert_eq!(m.get("Implementation-Version"), Some("2.14.0"));
        assert_eq!(m.get("Name"), None, "named sections are not the main one");
    }

    #[test]
    fn pom_properties_syntax() {
        let p = PomProperties::parse(
            "#Generated by Maven\n#Thu Jan 01 00:00:00 UTC 2025\nversion=2.19.0\ngroupId = org.apache.logging.log4j\nartifactId: log4j-core\n",
        )
        .unwrap();
        assert_eq!(p.group, "org.apache.logging.log4j");
        assert_eq!(p.artifact, "log4j-core");
        assert_eq!(p.version, "2.19.0");
        let cont = properties("key=a\\\n    b\nother value\\u0041\n! comment\n");
        assert_eq!(
            cont,
            vec![
                ("key".into(), "ab".into()),
                ("other".into(), "valueA".into())
            ]
        );
        assert!(PomProperties::parse("groupId=g\nartifactId=a\n").is_none());
    }
}
