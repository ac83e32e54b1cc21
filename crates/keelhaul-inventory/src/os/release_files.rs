//! Parsing the files that say which distribution an image is.

use keelhaul_core::OsRelease;

/// Every file the release analyzer keeps, in the order detection consults them.
pub const RELEASE_FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/debian_version",
    "etc/lsb-release",
    "etc/redhat-release",
    "etc/centos-release",
    "etc/rocky-release",
    "etc/almalinux-release",
    "etc/oracle-release",
    "etc/fedora-release",
    "etc/system-release",
    "etc/SuSE-release",
    "etc/photon-release",
    "etc/openEuler-release",
    "etc/anolis-release",
    "etc/alinux-release",
    "etc/kylin-release",
    "etc/uos-release",
    "etc/UnionTech-release",
    "etc/euleros-release",
    "etc/hce-release",
    "etc/mariner-release",
    "etc/azurelinux-release",
];

/// Files whose first line reads `NAME release VERSION (CODENAME)`, and the family each
/// names when there is no os-release to say it. Most specific first: an image has
/// `redhat-release` beside `rocky-release`, and the latter tells the truth.
const RELEASE_LINE_FILES: &[(&str, &str)] = &[
    ("etc/hce-release", "hce"),
    ("etc/euleros-release", "euleros"),
    ("etc/openEuler-release", "openeuler"),
    ("etc/anolis-release", "anolis"),
    ("etc/alinux-release", "alinux"),
    ("etc/kylin-release", "kylin"),
    ("etc/uos-release", "uos"),
    ("etc/UnionTech-release", "uos"),
    ("etc/rocky-release", "rocky"),
    ("etc/almalinux-release", "almalinux"),
    ("etc/oracle-release", "ol"),
    ("etc/centos-release", "centos"),
    ("etc/fedora-release", "fedora"),
    ("etc/mariner-release", "mariner"),
    ("etc/azurelinux-release", "azurelinux"),
    ("etc/system-release", "amzn"),
    ("etc/redhat-release", "rhel"),
];

/// `KEY=value` lines of an os-release or lsb-release file, quotes removed.
pub fn parse_key_values(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.replace("\\\"", "\"")))
        })
        .collect()
}

fn get<'a>(kv: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kv.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The family id for an os-release `ID`, normalised to keelhaul's names.
fn family_from_id(id: &str) -> String {
    match id.to_ascii_lowercase().as_str() {
        "opensuse" => "opensuse-leap".to_owned(),
        "sles_sap" => "sles".to_owned(),
        "ol" | "oracle" => "ol".to_owned(),
        "amazon" => "amzn".to_owned(),
        other => other.to_owned(),
    }
}

/// The version in a `... release 9.4 (Blue Onyx)` line.
pub fn release_line_version(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    words.find(|w| w.eq_ignore_ascii_case("release"))?;
    let v = words
        .next()?
        .trim_matches(|c: char| c == '(' || c == ')' || c == ',');
    v.chars().any(|c| c.is_ascii_digit()).then(|| v.to_owned())
}

/// Detect the distribution from whatever release files the image has.
/// `text(path)` returns a file's content, symlinks already followed.
pub fn detect<'a>(text: impl Fn(&str) -> Option<&'a str>) -> Option<OsRelease> {
    let from_os_release = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| text(p).map(|t| (*p, parse_key_values(t))))
        .and_then(|(path, kv)| {
            let id = get(&kv, "ID")?;
            let mut os = OsRelease::new(&family_from_id(id), get(&kv, "VERSION_ID"));
            os.codename = get(&kv, "VERSION_CODENAME").map(str::to_owned);
            os.pretty_name = get(&kv, "PRETTY_NAME").map(str::to_owned);
            os.id_like = get(&kv, "ID_LIKE")
                .map(|l| l.split_whitespace().map(str::to_ascii_lowercase).collect())
                .unwrap_or_default();
            os.source_file = Some(path.to_owned());
            Some(os)
        });
    let mut os = match from_os_release {
        Some(os) => os,
        None => detect_without_os_release(&text)?,
    };
    refine_version(&mut os, &text);
    Some(os)
}

fn detect_without_os_release<'a>(text: &impl Fn(&str) -> Option<&'a str>) -> Option<OsRelease> {
    if let Some(v) = text("etc/alpine-release") {
        let mut os = OsRelease::new("alpine", Some(v.trim()));
        os.source_file = Some("etc/alpine-release".into());
        return Some(os);
    }
    for (path, family) in RELEASE_LINE_FILES {
        if let Some(t) = text(path) {
            let first = t.lines().next().unwrap_or("");
            let family = match *family {
                // CentOS Stream and old CentOS both write centos-release; the RHEL file may be
                // a rebuild's (its first line names it).
                "rhel" if first.starts_with("CentOS") => "centos",
                "amzn" if !first.starts_with("Amazon") => continue,
                f => f,
            };
            let mut os = OsRelease::new(family, release_line_version(first).as_deref());
            os.pretty_name = Some(first.trim().to_owned());
            os.source_file = Some((*path).to_owned());
            return Some(os);
        }
    }
    if let Some(t) = text("etc/SuSE-release") {
        let kv = parse_key_values(t);
        let major = get(&kv, "VERSION");
        let patch = get(&kv, "PATCHLEVEL");
        let version = match (major, patch) {
            (Some(m), Some(p)) => Some(format!("{m}.{p}")),
            (Some(m), None) => Some(m.to_owned()),
            _ => None,
        };
        let first = t.lines().next().unwrap_or("");
        let family = if first.to_ascii_lowercase().contains("opensuse") {
            "opensuse-leap"
        } else {
            "sles"
        };
        let mut os = OsRelease::new(family, version.as_deref());
        os.pretty_name = Some(first.trim().to_owned());
        os.source_file = Some("etc/SuSE-release".into());
        return Some(os);
    }
    if let Some(t) = text("etc/photon-release") {
        let first = t.lines().next().unwrap_or("");
        let version = first
            .split_whitespace()
            .rev()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()));
        let mut os = OsRelease::new("photon", version);
        os.source_file = Some("etc/photon-release".into());
        return Some(os);
    }
    if let Some(t) = text("etc/lsb-release") {
        let kv = parse_key_values(t);
        if let Some(id) = get(&kv, "DISTRIB_ID") {
            let mut os = OsRelease::new(&family_from_id(id), get(&kv, "DISTRIB_RELEASE"));
            os.codename = get(&kv, "DISTRIB_CODENAME").map(str::to_owned);
            os.source_file = Some("etc/lsb-release".into());
            return Some(os);
        }
    }
    if let Some(v) = text("etc/debian_version") {
        let mut os = OsRelease::new("debian", None);
        debian_version_into(&mut os, v.trim());
        os.source_file = Some("etc/debian_version".into());
        return Some(os);
    }
    None
}

/// Debian's `debian_version` holds `12.8` on a stable release, `trixie/sid` on testing.
fn debian_version_into(os: &mut OsRelease, v: &str) {
    if v.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        os.version = Some(v.to_owned());
    } else if let Some((codename, _)) = v.split_once('/') {
        os.codename.get_or_insert_with(|| codename.to_owned());
    }
}

/// Release files often state a more precise version than os-release (Debian's point
/// release, CentOS's `7.9.2009`, Amazon Linux's `2023.5.20240722`): use it when it
/// extends the os-release version.
fn refine_version<'a>(os: &mut OsRelease, text: &impl Fn(&str) -> Option<&'a str>) {
    let precise = match os.family.as_str() {
        "debian" => text("etc/debian_version").map(|v| v.trim().to_owned()),
        "alpine" => text("etc/alpine-release").map(|v| v.trim().to_owned()),
        family => RELEASE_LINE_FILES
            .iter()
            .filter(|(_, f)| *f == family || (*f == "rhel" && family == "centos"))
            .find_map(|(p, _)| text(p))
            .and_then(|t| release_line_version(t.lines().next().unwrap_or(""))),
    };
    let Some(precise) = precise else { return };
    match &os.version {
        None if os.family == "debian" => debian_version_into(os, &precise),
        None => os.version = Some(precise),
        Some(v) if precise.starts_with(&format!("{v}.")) => os.version = Some(precise),
        Some(_) => {}
    }
}
