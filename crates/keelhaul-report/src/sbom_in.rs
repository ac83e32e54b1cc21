//! Reading CycloneDX and SPDX JSON SBOMs back into an inventory (`keelhaul scan sbom:FILE`).
//!
//! [`read_sbom`] detects the format (CycloneDX 1.2–1.7 JSON, SPDX 2.2/2.3 JSON), flattens
//! the packages and turns each package URL into a [`Package`] shaped exactly like the ones
//! keelhaul's own analyzers produce, because the same matcher consumes both:
//!
//! * names join the purl namespace the way the ecosystem does (`@scope/name`,
//!   `group:artifact`, `vendor/name`, `host/path/module`);
//! * deb versions carry the epoch (`1:4.13+dfsg1-1`), rpm versions are `[E:]V-R` with the
//!   epoch also in [`Package::epoch`];
//! * Go versions keep their leading `v` (added back when a tool stripped it), the toolchain
//!   `stdlib` is `go1.22.1`;
//! * the source package comes from the `upstream` qualifier, or from what Trivy and Syft
//!   write beside the purl (properties, SPDX `sourceInfo`); deb and apk packages without
//!   one are their own source, as in dpkg and apk databases.
//!
//! The distribution comes from an `operating-system` component (CycloneDX) or an SPDX
//! package whose purpose is `OPERATING-SYSTEM`, else from the `distro` qualifier of the OS
//! packages' purls.
//!
//! Locations are the paths inside the image the SBOM says the package was seen at
//! (CycloneDX `evidence.occurrences`, Syft's `syft:location:N:path`, Trivy's
//! `aquasecurity:trivy:FilePath` and its per-file parents, SPDX file relationships,
//! keelhaul's own properties). Without one the list is empty: inventing a path would only
//! mislead; the caller knows the SBOM file's name and can show it.

use std::collections::{HashMap, HashSet};

use keelhaul_core::{Digest, Ecosystem, Evidence, Location, OsRelease, Package};
use serde_json::Value;

/// The largest SBOM read (256 MiB).
pub const MAX_SBOM_BYTES: usize = 256 << 20;
/// The most components (CycloneDX, nested ones included) or packages (SPDX) read.
pub const MAX_COMPONENTS: usize = 1_000_000;
/// How many individual bad-purl warnings are written before they are only counted.
const MAX_PURL_WARNINGS: usize = 10;

/// Which kind of SBOM was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbomFormat {
    /// CycloneDX JSON.
    CycloneDx {
        /// `specVersion` (`1.6`).
        spec_version: String,
    },
    /// SPDX JSON.
    Spdx {
        /// The version from `spdxVersion` without its prefix (`2.3`).
        version: String,
    },
}

/// What an SBOM lists, in keelhaul's inventory shapes.
#[derive(Debug, Clone)]
pub struct SbomInventory {
    /// The document's format and version.
    pub format: SbomFormat,
    /// What the SBOM describes: CycloneDX `metadata.component.name`, SPDX `name`.
    pub name: Option<String>,
    /// The distribution, from an OS component or the OS packages' `distro` qualifiers.
    pub os: Option<OsRelease>,
    /// Packages in document order, each purl once.
    pub packages: Vec<Package>,
    /// What was skipped or guessed.
    pub warnings: Vec<String>,
}

/// Why an SBOM could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    /// The input is not JSON (or is truncated JSON).
    #[error("the SBOM is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but neither CycloneDX nor SPDX.
    #[error(
        "the JSON document is neither a CycloneDX SBOM (`\"bomFormat\": \"CycloneDX\"`) nor an SPDX SBOM (`\"spdxVersion\"`)"
    )]
    UnknownFormat,
    /// A CycloneDX or SPDX version this reader does not handle.
    #[error("{format} version `{version}` is not supported (supported: {supported})")]
    UnsupportedVersion {
        /// `CycloneDX` or `SPDX`.
        format: &'static str,
        /// The version the document states.
        version: String,
        /// The versions that are read.
        supported: &'static str,
    },
    /// The input exceeds [`MAX_SBOM_BYTES`] or [`MAX_COMPONENTS`].
    #[error("the SBOM is too large: {what} (the limit is {limit})")]
    TooLarge {
        /// What is too large.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// The document's structure is wrong (a field of the wrong JSON type).
    #[error("malformed {format} document: {reason}")]
    Malformed {
        /// `CycloneDX` or `SPDX`.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Read a CycloneDX or SPDX JSON SBOM; the format is detected.
pub fn read_sbom(data: &[u8]) -> Result<SbomInventory, SbomError> {
    if data.len() > MAX_SBOM_BYTES {
        return Err(SbomError::TooLarge {
            what: format!("{} bytes", data.len()),
            limit: MAX_SBOM_BYTES,
        });
    }
    // Some Windows tools write a UTF-8 byte-order mark, which serde_json rejects.
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let doc: Value = serde_json::from_slice(data).map_err(SbomError::NotJson)?;
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return read_cyclonedx(&doc);
    }
    if let Some(v) = doc.get("spdxVersion").and_then(Value::as_str) {
        return read_spdx(&doc, v);
    }
    // SPDX 3 is JSON-LD: recognise it to say so rather than "unknown format".
    if let Some(ctx) = doc.get("@context").and_then(Value::as_str)
        && ctx.contains("spdx.org/rdf/3")
    {
        return Err(SbomError::UnsupportedVersion {
            format: "SPDX",
            version: "3".into(),
            supported: "2.2, 2.3",
        });
    }
    Err(SbomError::UnknownFormat)
}

// ---------------------------------------------------------------------------------------
// One package as either format describes it.

/// A package-like element of either format, before it becomes a [`Package`].
#[derive(Debug, Default)]
struct Entry {
    /// For messages.
    label: String,
    purl: Option<String>,
    /// Names the document gives besides the purl, to restore case the purl lost
    /// (purl types lowercase Go namespaces, PyPI names).
    names: Vec<String>,
    version: Option<String>,
    /// CycloneDX properties; Trivy's SPDX annotations as `aquasecurity:trivy:KEY`.
    props: Vec<(String, String)>,
    supplier: Option<String>,
    licenses: Vec<String>,
    /// SPDX `sourceInfo`.
    source_info: Option<String>,
    locations: Vec<Location>,
    /// Whether a missing or unsupported purl should be counted as a skipped package
    /// (false for the image, files, aggregating applications).
    counts: bool,
}

impl Entry {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// What the document-level passes gathered.
struct Collected {
    entries: Vec<Entry>,
    os_candidates: Vec<OsRelease>,
    warnings: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// CycloneDX

const CDX_SUPPORTED: &str = "1.2 to 1.7";

fn read_cyclonedx(doc: &Value) -> Result<SbomInventory, SbomError> {
    let spec = doc
        .get("specVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let minor = spec
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|m| (2..=7).contains(m));
    if minor.is_none() {
        return Err(SbomError::UnsupportedVersion {
            format: "CycloneDX",
            version: if spec.is_empty() {
                "(none)".into()
            } else {
                spec.to_owned()
            },
            supported: CDX_SUPPORTED,
        });
    }
    let malformed = |reason: &str| SbomError::Malformed {
        format: "CycloneDX",
        reason: reason.to_owned(),
    };
    let name = doc
        .pointer("/metadata/component/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let top = match doc.get("components") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(malformed("`components` is not an array")),
    };

    // Trivy lists a lockfile or binary as an `application` component whose dependencies
    // are the packages found in it: that file is where those packages were seen.
    let parents = trivy_parents(doc, top);

    let mut collected = Collected {
        entries: Vec::new(),
        os_candidates: Vec::new(),
        warnings: Vec::new(),
    };
    if top.is_empty() {
        collected
            .warnings
            .push("the CycloneDX document lists no components".into());
    }
    let mut seen = 0usize;
    let mut images_with_contents = 0usize;
    // Depth-first, document order, without recursion (nesting depth is the input's).
    let mut stack: Vec<&Value> = top.iter().rev().collect();
    while let Some(c) = stack.pop() {
        seen += 1;
        if seen > MAX_COMPONENTS {
            return Err(SbomError::TooLarge {
                what: format!("more than {MAX_COMPONENTS} components"),
                limit: MAX_COMPONENTS,
            });
        }
        if !c.is_object() {
            return Err(malformed("a component is not an object"));
        }
        let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
        match c.get("components") {
            None | Some(Value::Null) => {}
            Some(Value::Array(nested)) => {
                if kind == "container" && !nested.is_empty() {
                    images_with_contents += 1;
                }
                stack.extend(nested.iter().rev());
            }
            Some(_) => return Err(malformed("a component's `components` is not an array")),
        }
        if kind == "operating-system" {
            if let Some(os) = cdx_os(c) {
                collected.os_candidates.push(os);
            }
            continue;
        }
        collected.entries.push(cdx_entry(c, kind, &parents));
    }
    if images_with_contents > 1 {
        collected.warnings.push(format!(
            "the SBOM describes {images_with_contents} images (platforms); their packages are read as one inventory"
        ));
    }
    Ok(finish(
        SbomFormat::CycloneDx {
            spec_version: spec.to_owned(),
        },
        name,
        collected,
    ))
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn cdx_properties(c: &Value) -> Vec<(String, String)> {
    c.get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p.get("name")?.as_str()?.to_owned(),
                p.get("value")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn cdx_os(c: &Value) -> Option<OsRelease> {
    let name = str_field(c, "name")?;
    // Trivy writes an OS component named `none` when it found no distribution.
    if name.eq_ignore_ascii_case("none") || name.eq_ignore_ascii_case("unknown") {
        return None;
    }
    let mut os = OsRelease::new(&normalize_family(&name), str_field(c, "version").as_deref());
    os.pretty_name = str_field(c, "description");
    let props = cdx_properties(c);
    os.codename = props
        .iter()
        .find(|(k, _)| k == "syft:distro:versionCodename")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty());
    Some(os)
}

/// For Trivy's CycloneDX: package bom-ref → the path of the file-level `application`
/// component (property `aquasecurity:trivy:Class` = `lang-pkgs`) that depends on it, with
/// that component's Trivy type (`npm`, `gobinary`, …).
fn trivy_parents(doc: &Value, top: &[Value]) -> HashMap<String, (String, String)> {
    let mut files: HashMap<&str, (String, String)> = HashMap::new();
    for c in top {
        let props = cdx_properties(c);
        let class = props
            .iter()
            .find(|(k, _)| k == "aquasecurity:trivy:Class")
            .map(|(_, v)| v.as_str());
        if class != Some("lang-pkgs") {
            continue;
        }
        let (Some(r), Some(path)) = (
            c.get("bom-ref").and_then(Value::as_str),
            str_field(c, "name"),
        ) else {
            continue;
        };
        let ty = props
            .iter()
            .find(|(k, _)| k == "aquasecurity:trivy:Type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        files.insert(r, (path, ty));
    }
    let mut parents = HashMap::new();
    if files.is_empty() {
        return parents;
    }
    for d in doc
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(file) = d
            .get("ref")
            .and_then(Value::as_str)
            .and_then(|r| files.get(r))
        else {
            continue;
        };
        for child in d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            parents
                .entry(child.to_owned())
                .or_insert_with(|| file.clone());
        }
    }
    parents
}

fn cdx_entry(c: &Value, kind: &str, parents: &HashMap<String, (String, String)>) -> Entry {
    let name = str_field(c, "name");
    let group = str_field(c, "group");
    let mut names = Vec::new();
    if let Some(n) = &name {
        names.push(n.clone());
        if let Some(g) = &group {
            names.push(format!("{g}/{n}"));
            names.push(format!("{g}:{n}"));
        }
    }
    let purl = str_field(c, "purl");
    let props = cdx_properties(c);
    let licenses = c
        .get("licenses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            l.get("expression")
                .and_then(Value::as_str)
                .or_else(|| l.pointer("/license/id").and_then(Value::as_str))
                .or_else(|| l.pointer("/license/name").and_then(Value::as_str))
                .map(str::to_owned)
        })
        .collect();
    let supplier = c
        .pointer("/supplier/name")
        .and_then(Value::as_str)
        .or_else(|| c.get("publisher").and_then(Value::as_str))
        .or_else(|| c.get("author").and_then(Value::as_str))
        .map(str::to_owned);
    let mut e = Entry {
        label: name.clone().unwrap_or_else(|| "(unnamed)".into()),
        counts: purl.is_some() || matches!(kind, "library" | "framework" | ""),
        purl,
        names,
        version: str_field(c, "version"),
        props,
        supplier,
        licenses,
        source_info: None,
        locations: Vec::new(),
    };
    e.locations = cdx_locations(c, &e, parents);
    e
}

fn cdx_locations(
    c: &Value,
    e: &Entry,
    parents: &HashMap<String, (String, String)>,
) -> Vec<Location> {
    if let Some(l) = keelhaul_location(e) {
        return vec![l];
    }
    let hint = e
        .prop("syft:package:foundBy")
        .or_else(|| e.prop("aquasecurity:trivy:PkgType"))
        .unwrap_or_default()
        .to_owned();
    let mut out = Vec::new();
    // CycloneDX 1.5+ evidence.
    for o in c
        .pointer("/evidence/occurrences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = o.get("location").and_then(Value::as_str) {
            push_location(&mut out, p, None, &hint);
        }
    }
    // Syft: syft:location:N:path (and :layerID in image scans).
    for (k, v) in &e.props {
        if let Some(n) = k
            .strip_prefix("syft:location:")
            .and_then(|r| r.strip_suffix(":path"))
        {
            let layer = e
                .prop(&format!("syft:location:{n}:layerID"))
                .and_then(|l| l.parse::<Digest>().ok());
            push_location(&mut out, v, layer, &hint);
        }
    }
    // Trivy: FilePath (several for a package found in several files), LayerDiffID.
    let trivy_layer = e
        .prop("aquasecurity:trivy:LayerDiffID")
        .and_then(|l| l.parse::<Digest>().ok());
    for (k, v) in &e.props {
        if k == "aquasecurity:trivy:FilePath" {
            push_location(&mut out, v, trivy_layer.clone(), &hint);
        }
    }
    if out.is_empty()
        && let Some((path, ty)) = c
            .get("bom-ref")
            .and_then(Value::as_str)
            .and_then(|r| parents.get(r))
    {
        push_location(&mut out, path, trivy_layer, ty);
    }
    out
}

/// Add a location, normalised like keelhaul's (no leading `/`), once.
fn push_location(out: &mut Vec<Location>, path: &str, layer: Option<Digest>, hint: &str) {
    let path = path.trim();
    let path = path
        .strip_prefix("./")
        .unwrap_or(path)
        .trim_start_matches('/');
    if path.is_empty() || out.iter().any(|l| l.path == path) {
        return;
    }
    out.push(Location {
        layer,
        path: path.to_owned(),
        evidence: guess_evidence(path, hint),
    });
}

/// keelhaul's own CycloneDX properties: the first location, its layer, the evidence.
fn keelhaul_location(e: &Entry) -> Option<Location> {
    let path = e.prop("keelhaul:location:path")?;
    let evidence = e
        .prop("keelhaul:package:evidence")
        .and_then(|list| list.split(',').next())
        .and_then(parse_evidence)
        .unwrap_or_default();
    Some(Location {
        layer: e
            .prop("keelhaul:location:layer")
            .and_then(|l| l.parse().ok()),
        path: path.trim_start_matches('/').to_owned(),
        evidence,
    })
}

fn parse_evidence(s: &str) -> Option<Evidence> {
    match s.trim() {
        "installed" => Some(Evidence::Installed),
        "declared" => Some(Evidence::Declared),
        "binary" => Some(Evidence::Binary),
        _ => None,
    }
}

/// What kind of record a path is, as keelhaul's analyzers would classify it: build
/// metadata in an executable when the producing tool says so (Syft's
/// `go-module-binary-cataloger`, Trivy's `gobinary`), a lockfile or manifest by its name,
/// else installed metadata.
fn guess_evidence(path: &str, hint: &str) -> Evidence {
    if hint.contains("binary") {
        return Evidence::Binary;
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    let declared = matches!(
        file,
        "package-lock.json"
            | "npm-shrinkwrap.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "bun.lock"
            | "go.mod"
            | "go.sum"
            | "Cargo.lock"
            | "Cargo.toml"
            | "poetry.lock"
            | "Pipfile"
            | "Pipfile.lock"
            | "uv.lock"
            | "pdm.lock"
            | "pyproject.toml"
            | "composer.lock"
            | "composer.json"
            | "Gemfile.lock"
            | "packages.lock.json"
            | "packages.config"
            | "pom.xml"
            | "gradle.lockfile"
            | "build.sbt"
            | "pubspec.lock"
            | "mix.lock"
            | "Package.resolved"
            | "conan.lock"
            | "conanfile.txt"
            | "Podfile.lock"
    ) || (file.starts_with("requirements") && file.ends_with(".txt"))
        || file.ends_with(".gradle")
        || file.ends_with(".gradle.kts")
        || file.ends_with(".csproj")
        || (file == "package.json" && !path.contains("node_modules/"));
    if declared {
        Evidence::Declared
    } else {
        Evidence::Installed
    }
}

// ---------------------------------------------------------------------------------------
// SPDX

const SPDX_SUPPORTED: &str = "2.2, 2.3";

fn read_spdx(doc: &Value, spdx_version: &str) -> Result<SbomInventory, SbomError> {
    let version = spdx_version
        .strip_prefix("SPDX-")
        .unwrap_or(spdx_version)
        .to_owned();
    if !matches!(version.as_str(), "2.2" | "2.3") {
        return Err(SbomError::UnsupportedVersion {
            format: "SPDX",
            version,
            supported: SPDX_SUPPORTED,
        });
    }
    let malformed = |reason: &str| SbomError::Malformed {
        format: "SPDX",
        reason: reason.to_owned(),
    };
    let packages = match doc.get("packages") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(malformed("`packages` is not an array")),
    };
    if packages.len() > MAX_COMPONENTS {
        return Err(SbomError::TooLarge {
            what: format!("{} packages", packages.len()),
            limit: MAX_COMPONENTS,
        });
    }
    let name = str_field(doc, "name");

    // What the document describes (the image, the scanned directory) is not a package.
    let mut described: HashSet<&str> = doc
        .get("documentDescribes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let relationships: Vec<(&str, &str, &str, &str)> = doc
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r.get("spdxElementId")?.as_str()?,
                r.get("relationshipType")?.as_str()?,
                r.get("relatedSpdxElement")?.as_str()?,
                r.get("comment").and_then(Value::as_str).unwrap_or_default(),
            ))
        })
        .collect();
    for (from, ty, to, _) in &relationships {
        if *from == "SPDXRef-DOCUMENT" && *ty == "DESCRIBES" {
            described.insert(to);
        }
    }
    let files: HashMap<&str, &str> = doc
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f.get("SPDXID")?.as_str()?, f.get("fileName")?.as_str()?)))
        .collect();
    // Package → file paths: Syft's `OTHER` "evident-by" relationships first; Trivy's
    // `CONTAINS` (a language package contains its metadata file) otherwise.
    let mut evident: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut contains: HashMap<&str, Vec<&str>> = HashMap::new();
    for (from, ty, to, comment) in &relationships {
        let Some(path) = files.get(to) else { continue };
        if *ty == "OTHER" && comment.contains("evident-by") {
            evident.entry(from).or_default().push(path);
        } else if *ty == "CONTAINS" {
            contains.entry(from).or_default().push(path);
        }
    }
    // Trivy: a lockfile's `APPLICATION` package contains the packages found in it.
    let by_id: HashMap<&str, &Value> = packages
        .iter()
        .filter_map(|p| Some((p.get("SPDXID")?.as_str()?, p)))
        .collect();
    let mut file_parent: HashMap<&str, (String, String)> = HashMap::new();
    for (from, ty, to, _) in &relationships {
        if *ty != "CONTAINS" {
            continue;
        }
        let Some(parent) = by_id.get(from) else {
            continue;
        };
        let props = trivy_annotations(parent);
        let class = props
            .iter()
            .find(|(k, _)| k == "aquasecurity:trivy:Class")
            .map(|(_, v)| v.as_str());
        if class == Some("lang-pkgs")
            && let Some(path) = str_field(parent, "name")
        {
            let ty = props
                .iter()
                .find(|(k, _)| k == "aquasecurity:trivy:Type")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            file_parent.entry(to).or_insert((path, ty));
        }
    }

    let mut collected = Collected {
        entries: Vec::new(),
        os_candidates: Vec::new(),
        warnings: Vec::new(),
    };
    if packages.is_empty() {
        collected
            .warnings
            .push("the SPDX document lists no packages".into());
    }
    for p in packages {
        if !p.is_object() {
            return Err(malformed("a package is not an object"));
        }
        let id = p.get("SPDXID").and_then(Value::as_str).unwrap_or_default();
        let purpose = p
            .get("primaryPackagePurpose")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // The spec spells it OPERATING-SYSTEM; keelhaul's writer has used an underscore.
        if purpose == "OPERATING-SYSTEM" || purpose == "OPERATING_SYSTEM" {
            if let Some(name) = str_field(p, "name")
                && !name.eq_ignore_ascii_case("none")
            {
                let mut os = OsRelease::new(
                    &normalize_family(&name),
                    str_field(p, "versionInfo").as_deref(),
                );
                os.pretty_name = str_field(p, "description");
                collected.os_candidates.push(os);
            }
            continue;
        }
        if described.contains(id) {
            continue;
        }
        collected.entries.push(spdx_entry(
            p,
            purpose,
            evident
                .get(id)
                .or_else(|| contains.get(id).filter(|c| c.len() == 1)),
            file_parent.get(id),
        ));
    }
    Ok(finish(SbomFormat::Spdx { version }, name, collected))
}

/// Trivy writes its CycloneDX properties as SPDX annotations `KEY: VALUE`.
fn trivy_annotations(p: &Value) -> Vec<(String, String)> {
    p.get("annotations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| {
            a.get("annotator")
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains("trivy"))
        })
        .filter_map(|a| {
            let (k, v) = a.get("comment")?.as_str()?.split_once(": ")?;
            Some((format!("aquasecurity:trivy:{k}"), v.to_owned()))
        })
        .collect()
}

fn spdx_entry(
    p: &Value,
    purpose: &str,
    files: Option<&Vec<&str>>,
    file_parent: Option<&(String, String)>,
) -> Entry {
    let purl = p
        .get("externalRefs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| {
            r.get("referenceType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("purl"))
        })
        .and_then(|r| str_field(r, "referenceLocator"));
    let name = str_field(p, "name");
    let props = trivy_annotations(p);
    let supplier = str_field(p, "supplier").and_then(|s| spdx_supplier(&s));
    let licenses = ["licenseDeclared", "licenseConcluded"]
        .iter()
        .find_map(|k| str_field(p, k).filter(|l| l != "NOASSERTION" && l != "NONE"))
        .into_iter()
        .collect();
    let comment = str_field(p, "comment");
    let mut e = Entry {
        label: name.clone().unwrap_or_else(|| "(unnamed)".into()),
        counts: purl.is_some() || matches!(purpose, "" | "LIBRARY" | "FRAMEWORK"),
        purl,
        names: name.into_iter().collect(),
        version: str_field(p, "versionInfo"),
        props,
        supplier,
        licenses,
        source_info: str_field(p, "sourceInfo"),
        locations: Vec::new(),
    };
    let hint = e
        .prop("aquasecurity:trivy:PkgType")
        .unwrap_or_default()
        .to_owned();
    if let Some(l) = comment.as_deref().and_then(keelhaul_spdx_location) {
        e.locations.push(l);
    } else if let Some(files) = files {
        for f in files {
            push_location(&mut e.locations, f, None, &hint);
        }
    } else if let Some((path, ty)) = file_parent {
        push_location(&mut e.locations, path, None, ty);
    }
    e
}

/// keelhaul's SPDX comment: `installed evidence, found in /PATH[ in layer D][ (and N more
/// places)][; installed by OS package P]`.
fn keelhaul_spdx_location(comment: &str) -> Option<Location> {
    let (evidence, rest) = comment.split_once(" evidence, found in ")?;
    let evidence = parse_evidence(evidence)?;
    let rest = rest
        .split("; installed by OS package ")
        .next()
        .unwrap_or(rest);
    let rest = match rest.rfind(" (and ") {
        Some(i) if rest.ends_with(" more places)") => &rest[..i],
        _ => rest,
    };
    let (path, layer) = match rest.rsplit_once(" in layer ") {
        Some((p, l)) => (p, l.parse::<Digest>().ok()),
        None => (rest, None),
    };
    Some(Location {
        layer,
        path: path.trim_start_matches('/').to_owned(),
        evidence,
    })
}

/// SPDX `Person: NAME (EMAIL)` / `Organization: NAME` back to the package database's
/// `NAME <EMAIL>` form.
fn spdx_supplier(s: &str) -> Option<String> {
    if s == "NOASSERTION" || s == "NONE" {
        return None;
    }
    let s = s
        .strip_prefix("Person:")
        .or_else(|| s.strip_prefix("Organization:"))
        .or_else(|| s.strip_prefix("Tool:"))
        .unwrap_or(s)
        .trim();
    Some(
        match s.strip_suffix(')').and_then(|s| s.rsplit_once(" (")) {
            Some((name, email)) if email.contains('@') => format!("{} <{email}>", name.trim()),
            _ => s.to_owned(),
        },
    )
}

// ---------------------------------------------------------------------------------------
// Entries → packages

fn finish(format: SbomFormat, name: Option<String>, c: Collected) -> SbomInventory {
    let Collected {
        entries,
        os_candidates,
        mut warnings,
    } = c;
    let mut packages: Vec<Package> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unsupported: Vec<String> = Vec::new();
    let mut bad_purls = 0usize;
    let mut distros: Vec<OsRelease> = Vec::new();
    for e in entries {
        let Some(purl_text) = e.purl.as_deref() else {
            if e.counts {
                unsupported.push("no purl".into());
            }
            continue;
        };
        let purl = match purl_text.parse::<packageurl::PackageUrl<'static>>() {
            Ok(p) => p,
            Err(err) => {
                bad_purls += 1;
                if bad_purls <= MAX_PURL_WARNINGS {
                    warnings.push(format!(
                        "component `{}` has an invalid purl `{purl_text}` ({err}); skipped",
                        e.label
                    ));
                }
                continue;
            }
        };
        let Some(ecosystem) = ecosystem(purl.ty()) else {
            if e.counts {
                unsupported.push(purl.ty().to_owned());
            }
            continue;
        };
        if ecosystem.is_os()
            && let Some(d) = purl.qualifiers().get("distro")
            && let Some(os) = parse_distro(d, purl.namespace())
        {
            distros.push(os);
        }
        if let Some(&i) = index.get(purl_text) {
            // The same package seen again (another platform, another tool pass): one
            // package, every place it was seen.
            if let Some(p) = packages.get_mut(i) {
                for l in e.locations {
                    if !p.locations.contains(&l) {
                        p.locations.push(l);
                    }
                }
            }
            continue;
        }
        let p = to_package(&e, purl_text, &purl, ecosystem);
        index.insert(purl_text.to_owned(), packages.len());
        packages.push(p);
    }
    if bad_purls > MAX_PURL_WARNINGS {
        warnings.push(format!(
            "{} more components with an invalid purl were skipped",
            bad_purls - MAX_PURL_WARNINGS
        ));
    }
    if !unsupported.is_empty() {
        let mut kinds: Vec<(String, usize)> = Vec::new();
        for u in &unsupported {
            match kinds.iter_mut().find(|(k, _)| k == u) {
                Some((_, n)) => *n += 1,
                None => kinds.push((u.clone(), 1)),
            }
        }
        let detail: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        warnings.push(format!(
            "{} components without a supported purl were skipped ({})",
            unsupported.len(),
            detail.join(", ")
        ));
    }
    let os = choose_os(os_candidates, distros, &mut warnings);
    SbomInventory {
        format,
        name,
        os,
        packages,
        warnings,
    }
}

/// The OS component wins; else the packages' `distro` qualifiers (the most precise version
/// of the first family seen). Disagreements are warned about.
fn choose_os(
    candidates: Vec<OsRelease>,
    distros: Vec<OsRelease>,
    warnings: &mut Vec<String>,
) -> Option<OsRelease> {
    let mut iter = candidates.into_iter();
    if let Some(first) = iter.next() {
        for other in iter {
            if other.family != first.family || other.version != first.version {
                warnings.push(format!(
                    "the SBOM names several distributions; using {} {} (also {} {})",
                    first.family,
                    first.version.as_deref().unwrap_or("(no version)"),
                    other.family,
                    other.version.as_deref().unwrap_or("(no version)"),
                ));
                break;
            }
        }
        return Some(first);
    }
    let mut chosen: Option<OsRelease> = None;
    let mut conflict = None;
    for d in distros {
        match &mut chosen {
            None => chosen = Some(d),
            Some(c) if c.family == d.family => match (&c.version, &d.version) {
                (None, Some(_)) => *c = d,
                (Some(a), Some(b)) if b.starts_with(&format!("{a}.")) => *c = d,
                _ => {}
            },
            Some(_) => {
                conflict.get_or_insert(d);
            }
        }
    }
    if let (Some(c), Some(d)) = (&chosen, &conflict) {
        warnings.push(format!(
            "the packages' distro qualifiers name several distributions; using {} (also {})",
            c.purl_distro(),
            d.purl_distro()
        ));
    }
    chosen
}

fn ecosystem(purl_type: &str) -> Option<Ecosystem> {
    Ecosystem::ALL
        .into_iter()
        .find(|e| e.purl_type() == purl_type)
}

/// Normalise a distribution name as Trivy, Syft or an os-release `ID` spell it to
/// keelhaul's family ids.
fn normalize_family(name: &str) -> String {
    let l = name.trim().to_ascii_lowercase();
    match l.as_str() {
        "redhat" | "red hat" | "red hat enterprise linux" => "rhel".into(),
        "alma" | "almalinux linux" => "almalinux".into(),
        "rockylinux" | "rocky linux" => "rocky".into(),
        "amazon" | "amazon linux" => "amzn".into(),
        "oracle" | "oracle linux" => "ol".into(),
        "opensuse" | "opensuse.leap" | "opensuse leap" => "opensuse-leap".into(),
        "opensuse.tumbleweed" | "opensuse tumbleweed" => "opensuse-tumbleweed".into(),
        "sles_sap" | "suse linux enterprise server" | "suse linux enterprise micro" => {
            "sles".into()
        }
        "cbl-mariner" => "mariner".into(),
        other => other.replace(' ', "-"),
    }
}

/// A `distro` qualifier: `debian-12`, `alpine-3.20.3`, `rhel-9.4`, `opensuse-leap-15.5`;
/// Trivy's apk purls carry only the version (`3.20.3`), named by the purl namespace; a
/// bare codename (`bookworm`) is known for Debian and Ubuntu releases.
fn parse_distro(value: &str, namespace: Option<&str>) -> Option<OsRelease> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(OsRelease::new(&normalize_family(namespace?), Some(value)));
    }
    // The family may contain dashes; the version is what follows the last dash that is
    // followed by a digit.
    let split = value
        .char_indices()
        .filter(|&(i, c)| c == '-' && value[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next_back();
    if let Some(i) = split {
        return Some(OsRelease::new(
            &normalize_family(&value[..i]),
            Some(&value[i + 1..]),
        ));
    }
    let codename = value.to_ascii_lowercase();
    let known = match codename.as_str() {
        "buster" => Some(("debian", "10")),
        "bullseye" => Some(("debian", "11")),
        "bookworm" => Some(("debian", "12")),
        "trixie" => Some(("debian", "13")),
        "focal" => Some(("ubuntu", "20.04")),
        "jammy" => Some(("ubuntu", "22.04")),
        "noble" => Some(("ubuntu", "24.04")),
        _ => None,
    };
    let mut os = match known {
        Some((family, version)) => OsRelease::new(family, Some(version)),
        None => OsRelease::new(&normalize_family(value), None),
    };
    if known.is_some() {
        os.codename = Some(codename);
    }
    Some(os)
}

/// The ecosystem-native name: `@scope/name`, `group:artifact`, `host/path/module`.
fn native_name(ecosystem: Ecosystem, namespace: Option<&str>, name: &str) -> String {
    let Some(ns) = namespace.filter(|n| !n.is_empty()) else {
        return name.to_owned();
    };
    match ecosystem {
        Ecosystem::Npm if ns.starts_with('@') => format!("{ns}/{name}"),
        Ecosystem::Npm => format!("@{ns}/{name}"),
        Ecosystem::Maven => format!("{ns}:{name}"),
        Ecosystem::Composer | Ecosystem::Golang | Ecosystem::Swift => format!("{ns}/{name}"),
        // deb/rpm/apk namespaces are the vendor; other types have none or do not use it
        // in the name advisories key by.
        _ => name.to_owned(),
    }
}

fn to_package(
    e: &Entry,
    purl_text: &str,
    purl: &packageurl::PackageUrl<'_>,
    ecosystem: Ecosystem,
) -> Package {
    let q = purl.qualifiers();
    let qualifier = |k: &str| {
        q.get(k)
            .map(|v| v.as_ref())
            .filter(|v: &&str| !v.is_empty())
    };
    let mut name = native_name(ecosystem, purl.namespace(), purl.name());
    // purl types lowercase some names (PyPI, npm) and namespaces (Go): keep the document's
    // spelling when it is the same name.
    if let Some(n) = e.names.iter().find(|n| n.eq_ignore_ascii_case(&name)) {
        name.clone_from(n);
    }
    let mut version = purl
        .version()
        .map(str::to_owned)
        .or_else(|| e.version.clone())
        .unwrap_or_default();
    let epoch_q = qualifier("epoch").and_then(|v| v.parse::<u32>().ok());
    let mut p = Package::new(ecosystem, name, String::new());
    match ecosystem {
        Ecosystem::Deb => {
            // dpkg versions carry the epoch; Trivy moves it to a qualifier.
            if let Some(epoch) = epoch_q
                && !version.contains(':')
            {
                version = format!("{epoch}:{version}");
            }
        }
        Ecosystem::Rpm => {
            // keelhaul's rpm inventory: version `E:V-R` when there is an epoch, and the
            // epoch on its own. Purls put it in a qualifier (or, loosely, in the version).
            let in_version = version
                .split_once(':')
                .filter(|(e, _)| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|(e, _)| e.parse::<u32>().ok());
            p.epoch = in_version.or(epoch_q);
            if let (Some(epoch), None) = (p.epoch, in_version) {
                version = format!("{epoch}:{version}");
            }
        }
        Ecosystem::Golang => version = go_version(&p.name, &version),
        _ => {}
    }
    p.version = version;
    p.purl = purl_text.to_owned();
    p.arch = e
        .prop("keelhaul:package:arch")
        .or_else(|| qualifier("arch"))
        .map(str::to_owned);
    p.supplier = e.supplier.clone();
    p.licenses = e.licenses.clone();
    p.locations = e.locations.clone();
    p.owned_by = e.prop("keelhaul:package:owned_by").map(str::to_owned);
    p.modularity_label = e
        .prop("keelhaul:package:modularity_label")
        .or_else(|| e.prop("syft:metadata:modularityLabel"))
        .or_else(|| e.prop("aquasecurity:trivy:Modularitylabel"))
        .map(str::to_owned);
    if ecosystem.is_os() {
        let (source, source_version) = os_source(e, &p, qualifier("upstream"));
        p.source_name = source;
        p.source_version = source_version;
    }
    p
}

/// Go module versions as keelhaul writes them: with the leading `v` (Trivy strips it), and
/// the toolchain as `go1.22.1` (Syft writes `1.22.1` in the purl, Trivy `v1.22.1`).
fn go_version(name: &str, version: &str) -> String {
    if name == "stdlib" {
        let bare = version
            .strip_prefix("go")
            .or_else(|| version.strip_prefix('v'))
            .unwrap_or(version);
        return if bare.starts_with(|c: char| c.is_ascii_digit()) {
            format!("go{bare}")
        } else {
            version.to_owned()
        };
    }
    if version.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v{version}")
    } else {
        version.to_owned()
    }
}

/// The source package of an OS package and its version, in keelhaul's inventory shape:
/// deb source version defaults to the binary's, apk has none, rpm's carries the epoch.
fn os_source(e: &Entry, p: &Package, upstream: Option<&str>) -> (Option<String>, Option<String>) {
    // keelhaul's own SBOM says exactly what its inventory had.
    if e.prop("keelhaul:package:ecosystem").is_some() {
        return (
            e.prop("keelhaul:package:source_name").map(str::to_owned),
            e.prop("keelhaul:package:source_version").map(str::to_owned),
        );
    }
    let with_epoch = |v: String| match p.epoch {
        Some(epoch) if !v.contains(':') => format!("{epoch}:{v}"),
        _ => v,
    };
    let (name, version) = upstream
        .map(|u| split_upstream(p.ecosystem, u))
        .or_else(|| trivy_source(e))
        .or_else(|| e.source_info.as_deref().and_then(source_from_info))
        .or_else(|| syft_source(e))
        .unwrap_or((None, None));
    match p.ecosystem {
        Ecosystem::Deb => {
            let name = name.unwrap_or_else(|| p.name.clone());
            (
                Some(name),
                Some(version.unwrap_or_else(|| p.version.clone())),
            )
        }
        Ecosystem::Apk => (Some(name.unwrap_or_else(|| p.name.clone())), None),
        _ => match name {
            Some(n) => (
                Some(n),
                Some(with_epoch(version.unwrap_or_else(|| p.version.clone()))),
            ),
            None => (None, None),
        },
    }
}

type Source = (Option<String>, Option<String>);

/// `upstream`: `SRC`, `SRC@VERSION` (binNMUs, Syft and keelhaul), or for rpm the source
/// rpm's file name `NAME-V-R.src.rpm` (Syft).
fn split_upstream(ecosystem: Ecosystem, upstream: &str) -> Source {
    if ecosystem == Ecosystem::Rpm
        && let Some(stem) = upstream
            .strip_suffix(".src.rpm")
            .or_else(|| upstream.strip_suffix(".nosrc.rpm"))
    {
        // Names may contain dashes; versions and releases may not.
        if let Some((nv, release)) = stem.rsplit_once('-')
            && let Some((name, version)) = nv.rsplit_once('-')
            && !name.is_empty()
            && !version.is_empty()
            && !release.is_empty()
        {
            return (Some(name.to_owned()), Some(format!("{version}-{release}")));
        }
        return (Some(stem.to_owned()), None);
    }
    match upstream.split_once('@') {
        Some((n, v)) if !n.is_empty() && !v.is_empty() => (Some(n.to_owned()), Some(v.to_owned())),
        _ => (Some(upstream.to_owned()), None),
    }
}

/// Trivy: `SrcName`, `SrcVersion`, `SrcRelease`, `SrcEpoch` properties.
fn trivy_source(e: &Entry) -> Option<Source> {
    let name = e.prop("aquasecurity:trivy:SrcName")?;
    let version = e.prop("aquasecurity:trivy:SrcVersion").map(|v| {
        let mut s = String::new();
        if let Some(epoch) = e
            .prop("aquasecurity:trivy:SrcEpoch")
            .filter(|ep| *ep != "0")
        {
            s.push_str(epoch);
            s.push(':');
        }
        s.push_str(v);
        if let Some(r) = e.prop("aquasecurity:trivy:SrcRelease") {
            s.push('-');
            s.push_str(r);
        }
        s
    });
    Some((Some(name.to_owned()), version))
}

/// SPDX `sourceInfo`: Trivy's `built package from: NAME VERSION`, keelhaul's `built from
/// source package NAME[ VERSION]`.
fn source_from_info(info: &str) -> Option<Source> {
    let rest = info
        .strip_prefix("built package from: ")
        .or_else(|| info.strip_prefix("built from source package "))?;
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_owned();
    Some((Some(name), words.next().map(str::to_owned)))
}

/// Syft's CycloneDX metadata properties (`syft:metadata:source`, `…:sourceVersion`,
/// apk `…:originPackage`, rpm `…:sourceRpm`).
fn syft_source(e: &Entry) -> Option<Source> {
    if let Some(srpm) = e.prop("syft:metadata:sourceRpm") {
        return Some(split_upstream(Ecosystem::Rpm, srpm));
    }
    let name = e
        .prop("syft:metadata:source")
        .or_else(|| e.prop("syft:metadata:originPackage"))?;
    Some((
        Some(name.to_owned()),
        e.prop("syft:metadata:sourceVersion").map(str::to_owned),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distro_qualifiers() {
        let d = |v: &str, ns: Option<&str>| {
            parse_distro(v, ns).map(|o| (o.family, o.version.unwrap_or_default()))
        };
        assert_eq!(d("debian-12", None), Some(("debian".into(), "12".into())));
        assert_eq!(
            d("alpine-3.20.3", None),
            Some(("alpine".into(), "3.20.3".into()))
        );
        assert_eq!(
            d("opensuse-leap-15.5", None),
            Some(("opensuse-leap".into(), "15.5".into()))
        );
        assert_eq!(d("redhat-9.4", None), Some(("rhel".into(), "9.4".into())));
        assert_eq!(
            d("3.20.3", Some("alpine")),
            Some(("alpine".into(), "3.20.3".into()))
        );
        assert_eq!(d("3.20.3", None), None);
        assert_eq!(d("bookworm", None), Some(("debian".into(), "12".into())));
        assert_eq!(d("", None), None);
    }

    #[test]
    fn go_versions_look_like_the_inventory() {
        assert_eq!(go_version("github.com/a/b", "1.2.3"), "v1.2.3");
        assert_eq!(go_version("github.com/a/b", "v1.2.3"), "v1.2.3");
        assert_eq!(
            go_version("github.com/docker/docker", "v27.4.0+incompatible"),
            "v27.4.0+incompatible"
        );
        assert_eq!(go_version("github.com/a/b", "(devel)"), "(devel)");
        assert_eq!(go_version("stdlib", "1.22.1"), "go1.22.1");
        assert_eq!(go_version("stdlib", "v1.22.1"), "go1.22.1");
        assert_eq!(go_version("stdlib", "go1.22.1"), "go1.22.1");
    }

    #[test]
    fn upstream_forms() {
        assert_eq!(
            split_upstream(Ecosystem::Deb, "gcc-12@12.2.0-13"),
            (Some("gcc-12".into()), Some("12.2.0-13".into()))
        );
        assert_eq!(
            split_upstream(Ecosystem::Rpm, "openssl-3.0.7-25.el9_3.src.rpm"),
            (Some("openssl".into()), Some("3.0.7-25.el9_3".into()))
        );
        assert_eq!(
            split_upstream(Ecosystem::Apk, "busybox"),
            (Some("busybox".into()), None)
        );
    }

    #[test]
    fn keelhaul_spdx_comment() {
        let l = keelhaul_spdx_location(
            "declared evidence, found in /app/package-lock.json (and 2 more places); installed by OS package pkg:deb/debian/x@1",
        );
        assert_eq!(
            l,
            Some(Location::file("app/package-lock.json", Evidence::Declared))
        );
        assert_eq!(keelhaul_spdx_location("something else"), None);
    }

    #[test]
    fn suppliers_and_evidence() {
        assert_eq!(
            spdx_supplier("Person: Santiago Vila (sanvila@debian.org)").as_deref(),
            Some("Santiago Vila <sanvila@debian.org>")
        );
        assert_eq!(
            spdx_supplier("Organization: Foo <foo@example.org>").as_deref(),
            Some("Foo <foo@example.org>")
        );
        assert_eq!(spdx_supplier("NOASSERTION"), None);
        assert_eq!(
            guess_evidence("app/package-lock.json", ""),
            Evidence::Declared
        );
        assert_eq!(
            guess_evidence("app/node_modules/x/package.json", "node-pkg"),
            Evidence::Installed
        );
        assert_eq!(guess_evidence("usr/bin/app", "gobinary"), Evidence::Binary);
    }
}
