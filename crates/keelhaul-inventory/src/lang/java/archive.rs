//! Java archives (JAR, WAR, EAR, JPI, HPI), read from memory, nested ones included.

use std::io::{Cursor, Read};

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Evidence, Package};
use zip::ZipArchive;

use super::manifest::{Manifest, PomProperties};
use super::{maven_package, valid_coordinate};

/// File name endings of Java archives (compared case-insensitively).
const EXTENSIONS: [&str; 5] = [".jar", ".war", ".ear", ".jpi", ".hpi"];

/// Bounds on what one archive (with everything nested in it) may cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest archive read from a layer.
    pub(crate) max_file: u64,
    /// Levels of archives inside archives followed (the file itself is level 0).
    pub(crate) max_depth: usize,
    /// Largest nested archive, decompressed.
    pub(crate) max_nested: u64,
    /// Decompressed bytes of all nested archives and metadata files of one file.
    pub(crate) max_inflated: u64,
    /// Zip entries (central-directory records) of one file and everything in it.
    pub(crate) max_entries: u64,
    /// Nested archives opened from one file.
    pub(crate) max_archives: usize,
    /// Largest `MANIFEST.MF` or `pom.properties`.
    pub(crate) max_metadata: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file: 512 << 20,
            max_depth: 16,
            max_nested: 256 << 20,
            max_inflated: 512 << 20,
            max_entries: 2_000_000,
            max_archives: 20_000,
            max_metadata: 1 << 20,
        }
    }
}

/// The Java archive analyzer.
#[derive(Debug, Default, Clone)]
pub struct JavaArchive {
    limits: Limits,
}

impl Analyzer for JavaArchive {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "java-archive",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], self.limits.max_file).with_globs(&[
            "**/*.jar", "**/*.war", "**/*.ear", "**/*.jpi", "**/*.hpi", "**/*.JAR", "**/*.WAR",
            "**/*.EAR",
        ])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, warnings) = read_archive(content, file.path, self.limits)?;
        for w in warnings {
            out.warn(w);
        }
        if !packages.is_empty() {
            out.emit(Fact::Packages {
                db: "java-archive".into(),
                packages,
            });
        }
        Ok(())
    }
}

/// What walking one file has cost and found so far.
struct Walk {
    limits: Limits,
    inflated: u64,
    entries: u64,
    archives: usize,
    packages: Vec<Package>,
    warnings: Vec<String>,
    warned_depth: bool,
    warned_budget: bool,
}

impl Walk {
    fn over_budget(&mut self) {
        if !self.warned_budget {
            self.warned_budget = true;
            self.warnings.push(format!(
                "the archive's content exceeds keelhaul's bounds \
                 ({} MiB decompressed, {} entries, {} nested archives); the rest is not read",
                self.limits.max_inflated >> 20,
                self.limits.max_entries,
                self.limits.max_archives
            ));
        }
    }
}

/// The packages of the archive `content` found at `path`, and problems with parts of it.
/// An error when the file itself is not a readable zip.
pub(crate) fn read_archive(
    content: &[u8],
    path: &str,
    limits: Limits,
) -> Result<(Vec<Package>, Vec<String>), AnalyzeError> {
    let mut walk = Walk {
        limits,
        inflated: 0,
        entries: 0,
        archives: 0,
        packages: Vec::new(),
        warnings: Vec::new(),
        warned_depth: false,
        warned_budget: false,
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    archive(content, path, name, 0, &mut walk).map_err(AnalyzeError::new)?;
    Ok((walk.packages, walk.warnings))
}

/// Read one archive (at `location`, file name `name`) and everything nested in it.
fn archive(
    bytes: &[u8],
    location: &str,
    name: &str,
    depth: usize,
    walk: &mut Walk,
) -> Result<(), String> {
    let left = walk.limits.max_entries.saturating_sub(walk.entries);
    if let Some(n) = declared_entries(bytes)
        && n > left
    {
        walk.over_budget();
        return Err(format!("{n} zip entries; not read"));
    }
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable zip archive ({e})"))?;
    walk.entries += zip.len() as u64;
    if walk.entries > walk.limits.max_entries {
        walk.over_budget();
        return Ok(());
    }

    let mut manifest_at = None;
    let mut poms: Vec<(usize, String)> = Vec::new();
    let mut nested: Vec<(usize, String)> = Vec::new();
    for i in 0..zip.len() {
        let Some(Ok(member)) = zip.name_for_index(i) else {
            continue;
        };
        if member.ends_with('/') {
            continue;
        }
        if member.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            manifest_at = Some(i);
        } else if member.starts_with("META-INF/maven/") && member.ends_with("/pom.properties") {
            poms.push((i, member.into_owned()));
        } else if is_archive_name(&member) {
            nested.push((i, member.into_owned()));
        }
    }

    let metadata_limit = walk.limits.max_metadata;
    let small = |zip: &mut ZipArchive<Cursor<&[u8]>>, i: usize, member: &str, walk: &mut Walk| {
        match member_bytes(zip, i, metadata_limit, walk) {
            Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => {
                walk.warnings.push(format!("`{location}!{member}`: {e}"));
                None
            }
        }
    };
    let manifest = manifest_at
        .and_then(|i| small(&mut zip, i, "META-INF/MANIFEST.MF", walk))
        .map(|t| Manifest::parse(&t));
    let mut properties: Vec<(String, PomProperties)> = Vec::new();
    for (i, member) in &poms {
        if let Some(p) = small(&mut zip, *i, member, walk).and_then(|t| PomProperties::parse(&t))
            && valid_coordinate(&p.group)
            && valid_coordinate(&p.artifact)
            && !p.version.chars().any(char::is_whitespace)
        {
            properties.push((member.clone(), p));
        }
    }

    let identity = identify(name, manifest.as_ref(), &properties);
    if let Some(id) = &identity {
        walk.packages.push(maven_package(
            id.group.as_deref(),
            &id.artifact,
            &id.version,
            location,
            Evidence::Installed,
        ));
    }
    for (i, (member, p)) in properties.iter().enumerate() {
        if identity.as_ref().and_then(|id| id.pom) == Some(i) {
            continue;
        }
        walk.packages.push(maven_package(
            Some(&p.group),
            &p.artifact,
            &p.version,
            format!("{location}!{member}"),
            Evidence::Installed,
        ));
    }

    for (i, member) in nested {
        let inner = format!("{location}!{member}");
        if depth + 1 > walk.limits.max_depth {
            if !walk.warned_depth {
                walk.warned_depth = true;
                walk.warnings.push(format!(
                    "`{inner}`: archives nested deeper than {} levels are not read",
                    walk.limits.max_depth
                ));
            }
            continue;
        }
        if walk.archives >= walk.limits.max_archives || walk.warned_budget {
            walk.over_budget();
            break;
        }
        walk.archives += 1;
        let limit = walk.limits.max_nested;
        let bytes = match member_bytes(&mut zip, i, limit, walk) {
            Ok(b) => b,
            Err(e) => {
                walk.warnings.push(format!("`{inner}`: {e}"));
                continue;
            }
        };
        let base = member.rsplit('/').next().unwrap_or(&member);
        if let Err(e) = archive(&bytes, &inner, base, depth + 1, walk) {
            walk.warnings.push(format!("`{inner}`: {e}"));
        }
    }
    Ok(())
}

/// A member's decompressed bytes, at most `limit` of them and within the walk's budget.
fn member_bytes(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
    limit: u64,
    walk: &mut Walk,
) -> Result<Vec<u8>, String> {
    let budget = walk.limits.max_inflated.saturating_sub(walk.inflated);
    let capped = limit.min(budget);
    let file = zip
        .by_index(index)
        .map_err(|e| format!("cannot be read ({e})"))?;
    if file.size() > capped {
        if capped < limit {
            walk.over_budget();
        }
        return Err(format!(
            "{} bytes decompressed, over the {capped}-byte limit; skipped",
            file.size()
        ));
    }
    let limit = capped;
    let mut buf = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0).min(1 << 20));
    let read = file.take(limit + 1).read_to_end(&mut buf);
    walk.inflated += buf.len() as u64;
    if buf.len() as u64 > limit {
        return Err(format!(
            "expands beyond {limit} bytes (its header claims less: a zip bomb?); skipped"
        ));
    }
    read.map_err(|e| format!("cannot be decompressed ({e})"))?;
    Ok(buf)
}

/// Whether a member name is a Java archive.
fn is_archive_name(name: &str) -> bool {
    name.len() > 4 && {
        let tail = &name.as_bytes()[name.len() - 4..];
        EXTENSIONS
            .iter()
            .any(|e| tail.eq_ignore_ascii_case(e.as_bytes()))
    }
}

/// The entry count the end-of-central-directory record declares (zip64 included), read
/// before the zip library builds its index, so that a hostile count is refused cheaply.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    let start = bytes.len().saturating_sub(22 + 0xFFFF);
    let pos = start + memchr::memmem::rfind(&bytes[start..], b"PK\x05\x06")?;
    let eocd = bytes.get(pos..pos + 22)?;
    let total = u64::from(u16::from_le_bytes([eocd[10], eocd[11]]));
    if total != 0xFFFF {
        return Some(total);
    }
    let locator = bytes.get(pos.checked_sub(20)?..pos)?;
    if &locator[..4] != b"PK\x06\x07" {
        return Some(total);
    }
    let offset = usize::try_from(u64::from_le_bytes(locator[8..16].try_into().ok()?)).ok()?;
    let record = bytes.get(offset..offset.checked_add(56)?)?;
    if &record[..4] != b"PK\x06\x06" {
        return None;
    }
    Some(u64::from_le_bytes(record[32..40].try_into().ok()?))
}

/// An archive's own Maven identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) group: Option<String>,
    pub(crate) artifact: String,
    pub(crate) version: String,
    /// The `pom.properties` (index into the list given) that names it, if one does.
    pub(crate) pom: Option<usize>,
}

/// Who an archive is, from (in order of trust) the `pom.properties` that matches its file
/// name, its only `pom.properties`, its manifest, and its file name.
///
/// A `pom.properties` matches when its artifactId is the file name's (`name-1.2.jar` or
/// `name.jar`). A sole `pom.properties` names the archive too, unless the file name names
/// something else with a version (a shaded dependency's pom in `app-1.0.jar`). Otherwise
/// the name comes from the file name (split before its version) and the version from the
/// file name or the manifest (`Implementation-Version`, `Bundle-Version`,
/// `Specification-Version`); when the manifest's version ends the file name, the split is
/// made there (`log4j-1.2-1.2.17.jar` is `log4j-1.2` 1.2.17). The groupId comes from the
/// manifest (see [`manifest_group`]). No version anywhere: no identity.
pub(crate) fn identify(
    file_name: &str,
    manifest: Option<&Manifest>,
    poms: &[(String, PomProperties)],
) -> Option<Identity> {
    let stem = strip_extension(file_name);
    let manifest_version = manifest.and_then(|m| {
        [
            "Implementation-Version",
            "Bundle-Version",
            "Specification-Version",
        ]
        .iter()
        .find_map(|h| m.get(h))
        .filter(|v| !v.chars().any(char::is_whitespace))
    });
    let (file_artifact, file_version) = split_file_name(stem, manifest_version);

    let from_pom = |i: usize| {
        let p = &poms[i].1;
        Some(Identity {
            group: Some(p.group.clone()),
            artifact: p.artifact.clone(),
            version: p.version.clone(),
            pom: Some(i),
        })
    };
    let named: Vec<usize> = (0..poms.len())
        .filter(|&i| {
            let a = poms[i].1.artifact.as_str();
            a == stem || a == file_artifact
        })
        .collect();
    if let Some(&i) = named
        .iter()
        .find(|&&i| {
            let v = poms[i].1.version.as_str();
            file_version.is_none_or(|fv| fv == v) || stem.ends_with(&format!("-{v}"))
        })
        .or(named.first())
    {
        return from_pom(i);
    }
    if poms.len() == 1 {
        let p = &poms[0].1;
        let contradicted = file_version.is_some_and(|fv| fv != p.version);
        if !contradicted {
            return from_pom(0);
        }
    }

    let artifact = Some(file_artifact)
        .filter(|a| valid_coordinate(a))
        .map(str::to_owned)?;
    let version = file_version.or(manifest_version)?.to_owned();
    let group = manifest.and_then(|m| manifest_group(m, &artifact));
    Some(Identity {
        group,
        artifact,
        version,
        pom: None,
    })
}

fn strip_extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if is_archive_name(name) => &name[..dot],
        _ => name,
    }
}

/// `name-1.2.3` into (`name`, `1.2.3`): at the manifest's version when the name ends with
/// it, else before the first `-` followed by a digit.
fn split_file_name<'a>(
    stem: &'a str,
    manifest_version: Option<&'a str>,
) -> (&'a str, Option<&'a str>) {
    if let Some(v) = manifest_version
        && stem.len() > v.len() + 1
        && stem.ends_with(v)
        && stem.as_bytes()[stem.len() - v.len() - 1] == b'-'
    {
        return (
            &stem[..stem.len() - v.len() - 1],
            Some(&stem[stem.len() - v.len()..]),
        );
    }
    let bytes = stem.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'-' && i > 0 && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (&stem[..i], Some(&stem[i + 1..]));
        }
    }
    (stem, None)
}

/// A groupId from the manifest, for archives without `pom.properties`. The first of
/// these that looks like a reverse domain name:
/// * `Bundle-SymbolicName` without OSGi directives, and without a trailing
///   `.artifactId` (`com.fasterxml.jackson.core.jackson-databind` is artifact
///   `jackson-databind` of group `com.fasterxml.jackson.core`) — Syft's first choice;
/// * `Implementation-Vendor-Id` (Trivy's first choice);
/// * `Automatic-Module-Name`.
fn manifest_group(m: &Manifest, artifact: &str) -> Option<String> {
    let bsn = m
        .get("Bundle-SymbolicName")
        .map(|s| s.split(';').next().unwrap_or(s).trim())
        .map(|s| {
            s.strip_suffix(artifact)
                .and_then(|g| g.strip_suffix('.'))
                .unwrap_or(s)
        });
    [
        m.get("Group-Id"),
        bsn,
        m.get("Implementation-Vendor-Id"),
        m.get("Automatic-Module-Name"),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|g| looks_like_group(g))
    .map(str::to_owned)
}

/// `org.example.lib`: dotted, at least two parts, a lowercase first part, and only the
/// characters Maven group ids use.
fn looks_like_group(s: &str) -> bool {
    let mut parts = s.split('.');
    let first = parts.next().unwrap_or_default();
    s.contains('.')
        && s.len() <= 200
        && first.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}
