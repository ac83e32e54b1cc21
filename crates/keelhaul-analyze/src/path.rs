//! Layer entry paths: normalisation and whiteouts.

/// A tar entry name, cleaned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryPath {
    /// A normal path inside the root (no leading `/`, no `.`/`..`/empty parts).
    /// `absolute` records that the tar wrote it with a leading `/`.
    Normal { path: String, absolute: bool },
    /// `..` would climb above the root.
    Escapes,
    /// The root itself (`./`).
    Root,
}

/// Clean a tar entry name lexically, as `path.Clean` + a root check would.
pub(crate) fn normalize(raw: &[u8]) -> EntryPath {
    let text = String::from_utf8_lossy(raw);
    let absolute = text.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return EntryPath::Escapes;
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        EntryPath::Root
    } else {
        EntryPath::Normal {
            path: parts.join("/"),
            absolute,
        }
    }
}

/// What a whiteout entry means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout {
    /// `.wh.NAME`: delete `dir/NAME` from lower layers.
    Delete(String),
    /// `.wh..wh..opq`: hide the lower layers' content of `dir`.
    Opaque(String),
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Whether `path` (normalised) is a whiteout marker, and what it whites out.
pub(crate) fn whiteout(path: &str) -> Option<Whiteout> {
    let (dir, base) = match path.rsplit_once('/') {
        Some((d, b)) => (d, b),
        None => ("", path),
    };
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    if base == OPAQUE {
        Some(Whiteout::Opaque(dir.to_owned()))
    } else if let Some(name) = base.strip_prefix(WHITEOUT_PREFIX) {
        // Other `.wh..wh.*` names are aufs bookkeeping (hardlink dirs), not deletions.
        if name.starts_with(".wh.") || name.is_empty() {
            None
        } else {
            Some(Whiteout::Delete(join(name)))
        }
    } else {
        None
    }
}

/// Whether `ancestor` is `path` or one of its parent directories ("" is the root).
pub(crate) fn is_at_or_below(path: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(p: &str) -> EntryPath {
        EntryPath::Normal {
            path: p.to_owned(),
            absolute: false,
        }
    }

    #[test]
    fn normalizes_tar_names() {
        assert_eq!(
            normalize(b"./var/lib/dpkg/status"),
            normal("var/lib/dpkg/status")
        );
        assert_eq!(normalize(b"var//lib/./x/"), normal("var/lib/x"));
        assert_eq!(normalize(b"a/b/../c"), normal("a/c"));
        assert_eq!(normalize(b"../../etc/passwd"), EntryPath::Escapes);
        assert_eq!(normalize(b"a/../../b"), EntryPath::Escapes);
        assert_eq!(normalize(b"./"), EntryPath::Root);
        assert_eq!(
            normalize(b"/etc/shadow"),
            EntryPath::Normal {
                path: "etc/shadow".into(),
                absolute: true
            }
        );
    }

    #[test]
    fn recognises_whiteouts() {
        assert_eq!(
            whiteout("usr/share/.wh.man"),
            Some(Whiteout::Delete("usr/share/man".into()))
        );
        assert_eq!(whiteout(".wh.etc"), Some(Whiteout::Delete("etc".into())));
        assert_eq!(
            whiteout("opt/app/lib/.wh..wh..opq"),
            Some(Whiteout::Opaque("opt/app/lib".into()))
        );
        assert_eq!(whiteout(".wh..wh.plnk"), None);
        assert_eq!(whiteout("etc/passwd"), None);
        assert!(is_at_or_below("usr/share/man/x", "usr/share/man"));
        assert!(!is_at_or_below("usr/share/manx", "usr/share/man"));
        assert!(is_at_or_below("anything", ""));
    }
}
