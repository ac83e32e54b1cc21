//! Installed Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`,
//! single-file `*.egg-info`, egg directories' `EGG-INFO/PKG-INFO` and zipped `*.egg`s,
//! wherever they are; the files each owns from `RECORD` (`*.dist-info`) or
//! `installed-files.txt` (`*.egg-info`).
//!
//! The analyzer sees one file at a time, so the files a distribution owns come as a second
//! record of the same package: `RECORD` names its distribution only through its directory
//! (`PyYAML-6.0.dist-info`), and that record is merged with the metadata's when the image
//! is stacked (same ecosystem, normalised name and version), its location being the
//! metadata file's. A `RECORD` that does not list its `METADATA` gives nothing. Limit:
//! when a directory spells the version differently from `Version:` (wheels built before
//! setuptools normalised versions, about 2015), the two records do not merge and the
//! files' record stands as a second version of the package.

use std::io::Read;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Evidence, Location, Package};

use super::{join_path, normalize_name};
use crate::lang::common::{Found, decode_text};

/// Core metadata and file lists are kilobytes; a `RECORD` of the largest wheels a few MB.
const MAX_FILE: u64 = 16 << 20;
/// Zipped eggs carry the package's code too.
const MAX_EGG: u64 = 64 << 20;
/// Most bytes of an egg's `PKG-INFO` read.
const MAX_EGG_PKG_INFO: u64 = 4 << 20;
/// Most header fields read from one metadata file.
const MAX_HEADERS: usize = 10_000;
/// Most files attributed to one distribution.
const MAX_OWNED_FILES: usize = 500_000;
/// Longest license taken from a `License:` field; longer ones are license texts.
const MAX_LICENSE_LEN: usize = 200;

/// The installed-distribution analyzer.
#[derive(Debug, Default)]
pub struct PythonInstalled;

impl Analyzer for PythonInstalled {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "python-installed",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_FILE).with_globs(&[
            "**/*.dist-info/METADATA",
            "**/*.dist-info/RECORD",
            "**/*.egg-info/PKG-INFO",
            "**/*.egg-info/installed-files.txt",
            "**/*.egg-info",
            "**/*.egg/EGG-INFO/PKG-INFO",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_installed(file.path, content)?.emit(out);
        Ok(())
    }
}

/// What one installed-distribution file says: its metadata, or the files a `RECORD` /
/// `installed-files.txt` attributes to its distribution.
pub fn parse_installed(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let text = decode_text(content);
    let mut found = Found::default();
    let package = if let Some(dir) = path.strip_suffix("/RECORD") {
        found.db = "python-record";
        record_package(dir, &text, &mut found.warnings)?
    } else if let Some(dir) = path.strip_suffix("/installed-files.txt") {
        found.db = "python-installed-files";
        installed_files_package(dir, &text, &mut found.warnings)?
    } else {
        found.db = if path.contains(".dist-info/") {
            "python-dist-info"
        } else {
            "python-egg-info"
        };
        if let Some(w) = non_utf8_headers(content) {
            found.warnings.push(w);
        }
        Some(metadata_package(&text, path)?)
    };
    found.packages.extend(package);
    Ok(found)
}

/// Zipped eggs (`*.egg` files): their `EGG-INFO/PKG-INFO`.
#[derive(Debug, Default)]
pub struct PythonEgg;

impl Analyzer for PythonEgg {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "python-egg",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_EGG).with_globs(&["**/*.egg"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        parse_egg(file.path, content)?.emit(out);
        Ok(())
    }
}

/// A zipped egg's `EGG-INFO/PKG-INFO`, located as `EGG!EGG-INFO/PKG-INFO`.
pub fn parse_egg(path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(content))
        .map_err(|e| AnalyzeError::new(format!("not a readable zip: {e}")))?;
    let mut entry = zip
        .by_name("EGG-INFO/PKG-INFO")
        .map_err(|e| AnalyzeError::new(format!("no `EGG-INFO/PKG-INFO`: {e}")))?;
    let mut bytes = Vec::new();
    (&mut entry)
        .take(MAX_EGG_PKG_INFO)
        .read_to_end(&mut bytes)
        .map_err(|e| AnalyzeError::new(format!("`EGG-INFO/PKG-INFO`: {e}")))?;
    let location = format!("{path}!EGG-INFO/PKG-INFO");
    let p = metadata_package(&decode_text(&bytes), &location)?;
    let mut found = Found::new("python-egg", vec![p]);
    found.warnings.extend(non_utf8_headers(&bytes));
    Ok(found)
}

/// Core metadata is UTF-8; headers that are not are read with replacement characters and
/// said so (the description after them is not read, whatever its encoding).
fn non_utf8_headers(content: &[u8]) -> Option<String> {
    let end = memchr::memmem::find(content, b"\n\n").unwrap_or(content.len());
    std::str::from_utf8(&content[..end]).is_err().then(|| {
        "metadata headers are not valid UTF-8; read with replacement characters".to_owned()
    })
}

/// The header fields of a core-metadata file (`METADATA`, `PKG-INFO`): RFC 822 style,
/// continuation lines start with white space, the body (the description) follows the
/// first blank line and is not read.
pub fn parse_headers(text: &str) -> Vec<(&str, String)> {
    let mut fields: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if fields.len() == MAX_HEADERS {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim(), v.trim().to_owned()));
        }
    }
    fields
}

/// A package from core metadata; `location` is where it was read.
pub fn metadata_package(text: &str, location: &str) -> Result<Package, AnalyzeError> {
    let fields = parse_headers(text);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let name = field("Name")
        .filter(|n| plausible(n))
        .ok_or_else(|| AnalyzeError::new("no usable `Name` field"))?;
    let version = field("Version")
        .filter(|v| plausible(v) && !v.contains(char::is_whitespace))
        .ok_or_else(|| AnalyzeError::new(format!("`{name}` has no usable `Version` field")))?;
    let mut p = Package::new(Ecosystem::Pypi, normalize_name(name), version);
    p.licenses = licenses(&fields);
    p.supplier = ["Author", "Author-email", "Maintainer", "Maintainer-email"]
        .iter()
        .find_map(|k| field(k).filter(|v| !v.eq_ignore_ascii_case("UNKNOWN")))
        .map(|v| v.replace('\n', " "));
    p.locations = vec![Location::file(location, Evidence::Installed)];
    Ok(p)
}

/// A name or version worth reporting: one line, not absurdly long, no control characters.
fn plausible(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)
}

/// `License-Expression` (PEP 639); else a one-line `License` that is not `UNKNOWN`; else
/// the last part of each `License ::` classifier (`MIT License`).
fn licenses(fields: &[(&str, String)]) -> Vec<String> {
    let field = |name: &'static str| {
        fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    if let Some(expr) = field("License-Expression").next() {
        return vec![expr.to_owned()];
    }
    if let Some(l) = field("License").next()
        && !l.contains('\n')
        && l.len() <= MAX_LICENSE_LEN
        && !l.eq_ignore_ascii_case("UNKNOWN")
    {
        return vec![l.to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    for c in field("Classifier") {
        let parts: Vec<&str> = c.split("::").map(str::trim).collect();
        let [first, .., last] = parts.as_slice() else {
            continue;
        };
        if *first != "License" {
            continue;
        }
        if *last != "OSI Approved" && !last.is_empty() && !out.iter().any(|o| o == last) {
            out.push((*last).to_owned());
        }
    }
    out
}

/// A distribution directory's stem (`PyYAML-6.0`, `PyYAML-5.3-py3.11`) split into name
/// and version at the first `-` followed by a digit. Egg directories may carry a Python
/// and platform tag after the version (`-py3.11-linux-x86_64`), dropped here.
pub fn split_dist_dir(stem: &str, egg: bool) -> Option<(String, String)> {
    let at = stem
        .char_indices()
        .find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))?
        .0;
    let (name, rest) = (&stem[..at], &stem[at + 1..]);
    let version = if egg {
        rest.split('-').next().unwrap_or(rest)
    } else {
        rest
    };
    (!name.is_empty() && !version.is_empty()).then(|| (normalize_name(name), version.to_owned()))
}

/// The files `RECORD` lists (CSV: path, hash, size; paths relative to the directory that
/// holds the `.dist-info`), as a record of the distribution the directory names.
fn record_package(
    dir: &str,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Package>, AnalyzeError> {
    let (parent, dir_name) = dir.rsplit_once('/').unwrap_or(("", dir));
    let Some(stem) = dir_name.strip_suffix(".dist-info") else {
        return Ok(None);
    };
    let (name, version) = split_dist_dir(stem, false)
        .ok_or_else(|| AnalyzeError::new("the directory name has no version"))?;
    let metadata = format!("{dir}/METADATA");
    let files = owned_files(parent, text.lines().filter_map(record_path), warnings);
    if !files.iter().any(|f| f == &metadata) {
        return Ok(None);
    }
    let mut p = Package::new(Ecosystem::Pypi, name, version);
    p.files = files;
    p.locations = vec![Location::file(metadata, Evidence::Installed)];
    Ok(Some(p))
}

/// The path field of one `RECORD` line (CSV: a quoted path may contain commas).
pub fn record_path(line: &str) -> Option<String> {
    let line = line.trim_end_matches('\r');
    if line.is_empty() {
        return None;
    }
    if let Some(rest) = line.strip_prefix('"') {
        let mut path = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    path.push('"');
                } else {
                    return Some(path);
                }
            } else {
                path.push(c);
            }
        }
        return None;
    }
    let mut fields = line.rsplitn(3, ',');
    let (_size, _hash) = (fields.next(), fields.next());
    fields.next().map(str::to_owned).filter(|p| !p.is_empty())
}

/// `installed-files.txt` of an egg-info directory (written by pip for legacy installs):
/// one path per line, relative to the directory itself.
fn installed_files_package(
    dir: &str,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Package>, AnalyzeError> {
    let dir_name = dir.rsplit_once('/').map_or(dir, |(_, n)| n);
    let Some(stem) = dir_name.strip_suffix(".egg-info") else {
        return Ok(None);
    };
    let (name, version) = split_dist_dir(stem, true)
        .ok_or_else(|| AnalyzeError::new("the directory name has no version"))?;
    let pkg_info = format!("{dir}/PKG-INFO");
    let lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .filter(|l| !l.trim().is_empty());
    let files = owned_files(dir, lines, warnings);
    if !files.iter().any(|f| f == &pkg_info) {
        return Ok(None);
    }
    let mut p = Package::new(Ecosystem::Pypi, name, version);
    p.files = files;
    p.locations = vec![Location::file(pkg_info, Evidence::Installed)];
    Ok(Some(p))
}

/// Relative paths resolved against `base`, capped; paths climbing out of the image root
/// are dropped.
fn owned_files(
    base: &str,
    rel: impl Iterator<Item = String>,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut files = Vec::new();
    for r in rel {
        if files.len() == MAX_OWNED_FILES {
            warnings.push(format!(
                "more than {MAX_OWNED_FILES} files listed; the rest are not attributed"
            ));
            break;
        }
        if let Some(f) = join_path(base, &r) {
            files.push(f);
        }
    }
    files.sort();
    files.dedup();
    files
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const SITE: &str = "usr/local/lib/python3.11/site-packages";
    const DIST: &str = "usr/lib/python3/dist-packages";

    fn one(found: &Found) -> &Package {
        assert_eq!(found.packages.len(), 1, "{:?}", found.packages);
        &found.packages[0]
    }

    #[test]
    fn debian_dist_info_metadata_and_record() {
        // python3-yaml 6.0-3+b2 (Debian 12), its dist-info as the .deb ships it.
        let metadata = format!("{DIST}/PyYAML-6.0.dist-info/METADATA");
        let found = parse_installed(
            &metadata,
            include_bytes!("testdata/debian-PyYAML-6.0.METADATA"),
        )
        .unwrap();
        assert_eq!(found.db, "python-dist-info");
        let p = one(&found);
        assert_eq!(
            (p.ecosystem, p.name.as_str(), p.version.as_str()),
            (Ecosystem::Pypi, "pyyaml", "6.0")
        );
        assert_eq!(p.licenses, vec!["MIT"]);
        assert_eq!(p.supplier.as_deref(), Some("Kirill Simonov"));
        assert_eq!(
            p.locations,
            vec![Location::file(&metadata, Evidence::Installed)]
        );
        assert!(p.files.is_empty());

        let record = format!("{DIST}/PyYAML-6.0.dist-info/RECORD");
        let found =
            parse_installed(&record, include_bytes!("testdata/debian-PyYAML-6.0.RECORD")).unwrap();
        let r = one(&found);
        // The same package, at the same location: they merge when the image is stacked.
        assert_eq!(
            (r.name.as_str(), r.version.as_str()),
            (p.name.as_str(), p.version.as_str())
        );
        assert_eq!(r.locations, p.locations);
        assert!(r.files.contains(&metadata));
        assert!(r.files.contains(&format!("{DIST}/yaml/__init__.py")));
        assert!(r.files.contains(&format!("{DIST}/_yaml/__init__.py")));
        let lines = include_str!("testdata/debian-PyYAML-6.0.RECORD")
            .lines()
            .count();
        assert_eq!(r.files.len(), lines);
    }

    #[test]
    fn license_expression_classifiers_and_license_field() {
        let attrs = parse_installed(
            &format!("{SITE}/attrs-25.3.0.dist-info/METADATA"),
            include_bytes!("testdata/attrs-25.3.0.METADATA"),
        )
        .unwrap();
        assert_eq!(one(&attrs).licenses, vec!["MIT"]);
        // packaging 25.0 states its dual license only in classifiers.
        let packaging = parse_installed(
            &format!("{SITE}/packaging-25.0.dist-info/METADATA"),
            include_bytes!("testdata/packaging-25.0.METADATA"),
        )
        .unwrap();
        let p = one(&packaging);
        assert_eq!(p.licenses, vec!["Apache Software License", "BSD License"]);
        assert_eq!(
            p.supplier.as_deref(),
            Some("Donald Stufft <donald@stufft.io>")
        );

        let text = "Metadata-Version: 1.1\nName: Foo_Bar\nVersion: 1.0\nLicense: Copyright (c) someone\n        Permission is hereby granted\nClassifier: License :: OSI Approved :: MIT License\n";
        let found = parse_installed("x/Foo_Bar-1.0.dist-info/METADATA", text.as_bytes()).unwrap();
        let p = one(&found);
        assert_eq!(p.name, "foo-bar");
        assert_eq!(
            p.licenses,
            vec!["MIT License"],
            "a license text is not a license name"
        );
    }

    #[test]
    fn record_paths_outside_site_packages_and_quoted() {
        let record = format!("{SITE}/packaging-25.0.dist-info/RECORD");
        let text = format!(
            "{}../../../bin/pkgtool,sha256=abc,120\n\"odd,name.py\",sha256=def,1\n",
            include_str!("testdata/packaging-25.0.RECORD")
        );
        let found = parse_installed(&record, text.as_bytes()).unwrap();
        let p = one(&found);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("packaging", "25.0"));
        assert!(p.files.contains(&"usr/local/bin/pkgtool".to_owned()));
        assert!(p.files.contains(&format!("{SITE}/odd,name.py")));
        assert!(p.files.contains(&format!("{SITE}/packaging/version.py")));
        // A RECORD that does not list its METADATA is not a distribution's.
        let found = parse_installed(&record, b"packaging/version.py,,\n").unwrap();
        assert!(found.packages.is_empty());
        // Paths climbing out of the image root are dropped.
        let found = parse_installed(
            "a/x-1.0.dist-info/RECORD",
            b"x-1.0.dist-info/METADATA,,\n../../../../etc/passwd,,\n",
        )
        .unwrap();
        assert_eq!(one(&found).files, vec!["a/x-1.0.dist-info/METADATA"]);
    }

    #[test]
    fn legacy_egg_info_with_installed_files() {
        // `pip 21.3 install --no-use-pep517 PyYAML==5.3` (setup.py install): the
        // directory name carries the Python tag.
        let dir = format!("{SITE}/PyYAML-5.3-py3.11.egg-info");
        let found = parse_installed(
            &format!("{dir}/PKG-INFO"),
            include_bytes!("testdata/PyYAML-5.3.PKG-INFO"),
        )
        .unwrap();
        assert_eq!(found.db, "python-egg-info");
        let p = one(&found);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("pyyaml", "5.3"));
        let files = parse_installed(
            &format!("{dir}/installed-files.txt"),
            include_bytes!("testdata/PyYAML-5.3.installed-files.txt"),
        )
        .unwrap();
        let f = one(&files);
        assert_eq!((f.name.as_str(), f.version.as_str()), ("pyyaml", "5.3"));
        assert_eq!(f.locations, p.locations);
        assert!(f.files.contains(&format!("{SITE}/yaml/__init__.py")));
        assert!(f.files.contains(&format!("{dir}/PKG-INFO")));
    }

    #[test]
    fn debian_egg_info_and_single_file_egg_info() {
        let path = format!("{DIST}/six-1.16.0.egg-info/PKG-INFO");
        let found =
            parse_installed(&path, include_bytes!("testdata/debian-six-1.16.0.PKG-INFO")).unwrap();
        let p = one(&found);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("six", "1.16.0"));
        assert_eq!(p.licenses, vec!["MIT"]);
        // distutils' install_egg_info writes the metadata as a file named *.egg-info.
        let path = "usr/lib/python3.11/lib-dynload/argparse-1.4.0.egg-info";
        let found = parse_installed(
            path,
            b"Metadata-Version: 1.0\nName: argparse\nVersion: 1.4.0\nLicense: Python Software Foundation License\n",
        )
        .unwrap();
        assert_eq!(one(&found).locations[0].path, path);
    }

    #[test]
    fn dist_directory_names() {
        let split = |s: &str, egg: bool| split_dist_dir(s, egg);
        assert_eq!(
            split("PyYAML-6.0", false),
            Some(("pyyaml".into(), "6.0".into()))
        );
        assert_eq!(
            split("zope.interface-5.4.0", false),
            Some(("zope-interface".into(), "5.4.0".into()))
        );
        assert_eq!(
            split("python_apt-2.6.0", true),
            Some(("python-apt".into(), "2.6.0".into()))
        );
        assert_eq!(
            split("PyYAML-5.3-py3.11-linux-x86_64", true),
            Some(("pyyaml".into(), "5.3".into()))
        );
        assert_eq!(
            split("jinja2_time-0.2.0", false),
            Some(("jinja2-time".into(), "0.2.0".into()))
        );
        assert_eq!(split("noversion", false), None);
    }

    #[test]
    fn bad_metadata() {
        let path = "x/y-1.dist-info/METADATA";
        // Non-UTF-8: decoded lossily, still a package.
        let found = parse_installed(
            path,
            b"Metadata-Version: 2.1\nName: caf\xe9\nVersion: 1.0\nAuthor: Ren\xe9\n",
        )
        .unwrap();
        assert_eq!(one(&found).name, "caf\u{fffd}");
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        // Latin-1 in the description only: nothing to say.
        let found = parse_installed(path, b"Name: x\nVersion: 1.0\n\nR\xe9sum\xe9\n").unwrap();
        assert!(found.warnings.is_empty());
        assert!(parse_installed(path, b"Metadata-Version: 2.1\nVersion: 1.0\n").is_err());
        let e = parse_installed(path, b"Name: x\n").unwrap_err();
        assert!(e.to_string().contains("Version"), "{e}");
        // Fields after the first blank line are the description, not headers.
        assert!(parse_installed(path, b"Name: x\n\nVersion: 1.0\n").is_err());
        assert!(parse_installed(path, b"\x00\x01\x02binary").is_err());
        assert!(parse_installed(path, b"").is_err());
    }

    fn egg_zip(pkg_info: Option<&[u8]>) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("six.py", opts).unwrap();
        zip.write_all(b"# six\n").unwrap();
        if let Some(info) = pkg_info {
            zip.start_file("EGG-INFO/PKG-INFO", opts).unwrap();
            zip.write_all(info).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn zipped_egg() {
        let path = "opt/app/eggs/six-1.16.0-py3.11.egg";
        let egg = egg_zip(Some(include_bytes!("testdata/debian-six-1.16.0.PKG-INFO")));
        let found = parse_egg(path, &egg).unwrap();
        let p = one(&found);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("six", "1.16.0"));
        assert_eq!(p.locations[0].path, format!("{path}!EGG-INFO/PKG-INFO"));
        assert!(parse_egg(path, &egg_zip(None)).is_err());
        assert!(parse_egg(path, b"not a zip").is_err());
    }
}
