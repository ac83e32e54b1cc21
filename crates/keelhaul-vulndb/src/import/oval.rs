//! OVAL definitions XML: Ubuntu USN OVAL (`com.ubuntu.<codename>.usn.oval.xml`) and
//! Rocky Linux RLSA OVAL (`org.rockylinux.rlsa-<major>.xml`).
//!
//! Each `<definition class="patch">` becomes one [`Advisory`] (id = the USN/RLSA
//! reference, aliases = its CVEs). Its packages come from the criteria: every
//! `dpkginfo_test`/`rpminfo_test` it references names a package (directly, or through a
//! `constant_variable` listing several) and a state `evr … operation="less than"`, which
//! is the fixed version: `[Introduced("0"), Fixed(evr)]`.
//!
//! Simplifications:
//! * The criteria's AND/OR structure is flattened: every package test a definition
//!   references yields an entry. Tests that are not about package versions (the Ubuntu
//!   kernel live-patch `variable_test`s over `uname`, Rocky's `rpmverifyfile_test` for
//!   `rocky-release`, signature-key and arch-only states) are ignored; a definition left
//!   with no package (the `LSN-…` live-patch notices) is skipped.
//! * Ubuntu OVAL names **binary** packages (`libexpat1`, `expat`…), kept as they are; the
//!   `0:` epoch Canonical writes on every version is dropped (dpkg orders `0:1.2` and `1.2`
//!   the same). Fixes marked "Available with Ubuntu Pro" (`+esm` versions) are kept as
//!   ordinary fixes.
//! * Rocky versions are kept as the file gives them (`0:4.6.5-3.el9`, `1:2.06-…`); arch
//!   patterns are ignored (the fixed version is the same for every arch in the RLSA
//!   files). Module streams do not occur in the Rocky 9 file and are not handled.
//! * Rocky's definitions carry no CVE references, so the CVE ids named in the
//!   description text (`… (CVE-2022-1271)`) are used as aliases.

use std::collections::{BTreeSet, HashMap};

use keelhaul_core::FixStatus;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as XmlEvent};

use super::{clip, file_name};
use crate::model::{Advisory, Affected, Event, Parsed, Rule};
use crate::normalize_name;

/// Whether this is OVAL definitions XML.
pub(super) fn detect(_path: &str, head: &[u8]) -> bool {
    let start = head
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(head)
        .iter()
        .position(|b| !b.is_ascii_whitespace());
    let starts_xml = start.is_some_and(|i| head.get(i..).is_some_and(|h| h.starts_with(b"<")))
        || head.starts_with(b"\xef\xbb\xbf<");
    let needle = b"oval_definitions";
    starts_xml && head.windows(needle.len()).any(|w| w == needle)
}

#[derive(Debug, Default)]
struct Definition {
    id: String,
    class: String,
    title: String,
    /// (source, ref_id, ref_url)
    references: Vec<(String, String, String)>,
    description: String,
    severity: String,
    issued: Option<String>,
    updated: Option<String>,
    cves: Vec<String>,
    advisory_from: Option<String>,
    platforms: Vec<String>,
    test_refs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TestKind {
    Dpkg,
    Rpm,
    Other,
}

#[derive(Debug)]
struct Test {
    kind: TestKind,
    object_ref: Option<String>,
    state_refs: Vec<String>,
}

#[derive(Debug, Default)]
struct Object {
    name: Option<String>,
    var_ref: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// (operation, value)
    evr: Option<(String, String)>,
}

/// Everything read from one file.
#[derive(Debug, Default)]
struct Document {
    product_name: String,
    definitions: Vec<Definition>,
    tests: HashMap<String, Test>,
    objects: HashMap<String, Object>,
    states: HashMap<String, State>,
    variables: HashMap<String, Vec<String>>,
}

/// Reads one OVAL file.
pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8 XML: {e}"))?;
    let doc = read_document(text)?;
    let distro = distro_of(path, &doc)?;

    let mut parsed = Parsed::default();
    for def in &doc.definitions {
        if def.class != "patch" {
            continue;
        }
        match advisory_of(def, &doc, &distro) {
            Ok(Some(a)) => parsed.advisories.push(a),
            Ok(None) => {
                tracing::debug!(path, id = %def.id, "definition without package tests; skipped");
                parsed.skipped += 1;
            }
            Err(reason) => {
                tracing::warn!(path, id = %def.id, %reason, "OVAL definition skipped");
                parsed.skipped += 1;
            }
        }
    }
    Ok(parsed)
}

/// Which distribution a file is about.
#[derive(Debug)]
struct Distro {
    ecosystem: String,
    is_ubuntu: bool,
}

fn distro_of(path: &str, doc: &Document) -> Result<Distro, String> {
    // Ubuntu: definition ids `oval:com.ubuntu.<codename>:def:…`, or the file name.
    let codename = doc
        .definitions
        .iter()
        .find_map(|d| d.id.strip_prefix("oval:com.ubuntu."))
        .and_then(|rest| rest.split(':').next())
        .map(str::to_owned)
        .or_else(|| {
            file_name(path)
                .strip_prefix("com.ubuntu.")
                .and_then(|r| r.split('.').next())
                .map(str::to_owned)
        });
    if let Some(codename) = codename {
        let eco = super::ubuntu::ubuntu_ecosystem(&codename)
            .ok_or_else(|| format!("unknown Ubuntu release {codename:?}"))?;
        return Ok(Distro {
            ecosystem: eco.to_owned(),
            is_ubuntu: true,
        });
    }
    // Rocky: `<platform>Rocky Linux 9</platform>`, `from="cpe:/o:rocky:rocky:9:GA"`,
    // or `org.rockylinux.rlsa-9.xml`.
    let from_platform = doc
        .definitions
        .iter()
        .flat_map(|d| d.platforms.iter())
        .find_map(|p| p.trim().strip_prefix("Rocky Linux "))
        .map(|v| v.split('.').next().unwrap_or(v).trim().to_owned());
    let from_cpe = || {
        doc.definitions
            .iter()
            .filter_map(|d| d.advisory_from.as_deref())
            .find_map(|f| f.strip_prefix("cpe:/o:rocky:rocky:"))
            .map(|r| r.split(':').next().unwrap_or(r).to_owned())
    };
    let from_name = || {
        let name = file_name(path);
        name.strip_prefix("org.rockylinux.rlsa-")
            .and_then(|r| r.split('.').next())
            .map(str::to_owned)
    };
    let is_rocky = doc.product_name.contains("Rocky")
        || doc
            .definitions
            .iter()
            .any(|d| d.id.starts_with("oval:org.rockylinux"));
    let major = from_platform
        .or_else(from_cpe)
        .or_else(|| is_rocky.then(from_name).flatten());
    match major {
        Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => Ok(Distro {
            ecosystem: format!("Rocky Linux:{m}"),
            is_ubuntu: false,
        }),
        _ => Err("cannot tell which distribution release these OVAL definitions are for (only Ubuntu USN and Rocky Linux RLSA OVAL are supported)".to_owned()),
    }
}

fn advisory_of(
    def: &Definition,
    doc: &Document,
    distro: &Distro,
) -> Result<Option<Advisory>, String> {
    let id = def
        .references
        .iter()
        .find(|(source, id, _)| source != "CVE" && !id.is_empty())
        .map(|(_, id, _)| id.clone())
        .or_else(|| {
            // `USN-7000-1 -- Expat vulnerabilities`, `RLSA-2022:4582: gzip …`
            let first = def.title.split_whitespace().next()?.trim_end_matches(':');
            (first.contains('-') && first.starts_with(|c: char| c.is_ascii_uppercase()))
                .then(|| first.to_owned())
        })
        .unwrap_or_else(|| def.id.clone());
    if id.is_empty() {
        return Err("definition without an id".to_owned());
    }

    let mut aliases: Vec<String> = Vec::new();
    let push_alias = |aliases: &mut Vec<String>, a: &str| {
        let a = a.trim();
        if !a.is_empty() && a != id && !aliases.iter().any(|x| x == a) {
            aliases.push(a.to_owned());
        }
    };
    for (source, ref_id, _) in &def.references {
        if source == "CVE" {
            push_alias(&mut aliases, ref_id);
        }
    }
    for cve in &def.cves {
        push_alias(&mut aliases, cve);
    }
    if aliases.is_empty() {
        for cve in cves_in_text(&def.description) {
            push_alias(&mut aliases, &cve);
        }
    }

    let mut seen = BTreeSet::new();
    let mut affected = Vec::new();
    for test_ref in &def.test_refs {
        // A dangling reference (the real Rocky 9 file has a `tst:unk`) costs that
        // criterion only, not the whole definition.
        let packages = match test_packages(test_ref, doc, distro.is_ubuntu) {
            Ok(p) => p,
            Err(reason) => {
                tracing::warn!(definition = %def.id, %reason, "OVAL criterion ignored");
                continue;
            }
        };
        for (name, fixed) in packages {
            if !seen.insert((name.clone(), fixed.clone())) {
                continue;
            }
            affected.push(Affected {
                ecosystem: distro.ecosystem.clone(),
                package: normalize_name(&distro.ecosystem, &name),
                rules: vec![Rule::Events {
                    events: vec![Event::Introduced("0".to_owned()), Event::Fixed(fixed)],
                }],
                status: FixStatus::Fixed,
                severity_label: None,
                symbols: Vec::new(),
            });
        }
    }
    if affected.is_empty() {
        return Ok(None);
    }

    let mut references: Vec<String> = Vec::new();
    // The advisory's own page first, then the CVE pages.
    let own = def.references.iter().filter(|r| r.0 != "CVE");
    let cve_pages = def.references.iter().filter(|r| r.0 == "CVE");
    for (_, _, url) in own.chain(cve_pages) {
        if !url.is_empty() && !references.contains(url) {
            references.push(url.clone());
        }
    }
    Ok(Some(Advisory {
        id,
        aliases,
        summary: Some(def.title.trim().to_owned()).filter(|t| !t.is_empty()),
        details: Some(def.description.trim())
            .filter(|d| !d.is_empty())
            .map(|d| clip(d, 4096)),
        published: def.issued.clone(),
        modified: def.updated.clone(),
        severity_label: Some(def.severity.trim().to_owned()).filter(|s| !s.is_empty()),
        references,
        affected,
        ..Advisory::default()
    }))
}

/// The (package, fixed version) pairs one package test stands for; empty for tests that
/// are not about package versions.
fn test_packages(
    test_ref: &str,
    doc: &Document,
    is_ubuntu: bool,
) -> Result<Vec<(String, String)>, String> {
    let test = doc
        .tests
        .get(test_ref)
        .ok_or_else(|| format!("criterion names test {test_ref}, which is not in the file"))?;
    if test.kind == TestKind::Other {
        return Ok(Vec::new());
    }
    let object_ref = test
        .object_ref
        .as_deref()
        .ok_or_else(|| format!("test {test_ref} has no object"))?;
    let object = doc.objects.get(object_ref).ok_or_else(|| {
        format!("test {test_ref} names object {object_ref}, which is not in the file")
    })?;
    let names: Vec<String> = match (&object.name, &object.var_ref) {
        (Some(n), _) if !n.trim().is_empty() => vec![n.trim().to_owned()],
        (_, Some(var)) => doc.variables.get(var).cloned().ok_or_else(|| {
            format!("object {object_ref} names variable {var}, which is not in the file")
        })?,
        _ => return Err(format!("object {object_ref} names no package")),
    };
    let mut out = Vec::new();
    for state_ref in &test.state_refs {
        let state = doc.states.get(state_ref).ok_or_else(|| {
            format!("test {test_ref} names state {state_ref}, which is not in the file")
        })?;
        let Some((op, evr)) = &state.evr else {
            continue; // arch-only or signature-key states
        };
        if op != "less than" {
            continue;
        }
        let mut fixed = evr.trim();
        if is_ubuntu {
            fixed = fixed.strip_prefix("0:").unwrap_or(fixed);
        }
        if fixed.is_empty() {
            continue;
        }
        for name in &names {
            let name = name.trim();
            if !name.is_empty() {
                out.push((name.to_owned(), fixed.to_owned()));
            }
        }
    }
    Ok(out)
}

/// Every `CVE-YYYY-NNNN…` in free text, in order, once each.
fn cves_in_text(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("CVE-") {
        let start = i + pos;
        let mut end = start + 4;
        let year_end = end + 4;
        let year_ok = bytes
            .get(end..year_end)
            .is_some_and(|y| y.iter().all(u8::is_ascii_digit))
            && bytes.get(year_end) == Some(&b'-');
        if year_ok {
            end = year_end + 1;
            let digits = bytes[end..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits >= 4 {
                let cve = &text[start..end + digits];
                if !out.iter().any(|c| c == cve) {
                    out.push(cve.to_owned());
                }
                end += digits;
            }
        }
        i = end;
    }
    out
}

/// Where the reader is, for the elements whose meaning depends on their section.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    None,
    Generator,
    Definitions,
    Tests,
    Objects,
    States,
    Variables,
}

/// The element being built, if any.
enum Current {
    None,
    Definition(Box<Definition>),
    Test(String, Test),
    Object(String, Object),
    State(String, State),
    Variable(String, Vec<String>),
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let local = a.key.local_name();
        let key: &str = local.as_ref();
        if key == name {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        } else {
            None
        }
    })
}

fn read_document(text: &str) -> Result<Document, String> {
    let mut reader = Reader::from_str(text);
    let mut doc = Document::default();
    let mut section = Section::None;
    let mut current = Current::None;
    let mut buf = String::new();
    let mut saw_root = false;

    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.error_position()))?;
        match event {
            XmlEvent::Start(ref e) | XmlEvent::Empty(ref e) => {
                let is_empty = matches!(event, XmlEvent::Empty(_));
                let local = e.local_name();
                let name: &str = local.as_ref();
                let name = name.to_owned();
                buf.clear();
                if name == "oval_definitions" {
                    saw_root = true;
                }
                on_start(&name, e, &mut section, &mut current);
                if is_empty {
                    on_end(&name, "", &mut section, &mut current, &mut doc);
                }
            }
            XmlEvent::End(ref e) => {
                let local = e.local_name();
                let name: &str = local.as_ref();
                let name = name.to_owned();
                on_end(&name, &buf, &mut section, &mut current, &mut doc);
                buf.clear();
            }
            XmlEvent::Text(t) => buf.push_str(&t.xml10_content()),
            XmlEvent::CData(t) => buf.push_str(&t.xml10_content()),
            XmlEvent::GeneralRef(r) => {
                if r.is_char_ref() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        buf.push(c);
                    }
                } else {
                    let name = r.xml10_content();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => buf.push_str(s),
                        None => return Err(format!("unknown entity &{name};")),
                    }
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err("no <oval_definitions> root element".to_owned());
    }
    Ok(doc)
}

fn on_start(name: &str, e: &BytesStart<'_>, section: &mut Section, current: &mut Current) {
    match name {
        "generator" => *section = Section::Generator,
        "definitions" => *section = Section::Definitions,
        "tests" => *section = Section::Tests,
        "objects" => *section = Section::Objects,
        "states" => *section = Section::States,
        "variables" => *section = Section::Variables,
        _ => {}
    }
    match (*section, &mut *current) {
        (Section::Definitions, Current::None) if name == "definition" => {
            *current = Current::Definition(Box::new(Definition {
                id: attr(e, "id").unwrap_or_default(),
                class: attr(e, "class").unwrap_or_default(),
                ..Definition::default()
            }));
        }
        (Section::Definitions, Current::Definition(d)) => match name {
            "reference" => d.references.push((
                attr(e, "source").unwrap_or_default(),
                attr(e, "ref_id").unwrap_or_default(),
                attr(e, "ref_url").unwrap_or_default(),
            )),
            "issued" => d.issued = attr(e, "date"),
            "updated" => d.updated = attr(e, "date"),
            "advisory" => d.advisory_from = attr(e, "from"),
            "criterion" => {
                if let Some(t) = attr(e, "test_ref") {
                    d.test_refs.push(t);
                }
            }
            _ => {}
        },
        (Section::Tests, Current::None) if name.ends_with("_test") => {
            let kind = match name {
                "dpkginfo_test" => TestKind::Dpkg,
                "rpminfo_test" => TestKind::Rpm,
                _ => TestKind::Other,
            };
            *current = Current::Test(
                attr(e, "id").unwrap_or_default(),
                Test {
                    kind,
                    object_ref: None,
                    state_refs: Vec::new(),
                },
            );
        }
        (Section::Tests, Current::Test(_, t)) => match name {
            "object" => t.object_ref = attr(e, "object_ref"),
            "state" => {
                if let Some(s) = attr(e, "state_ref") {
                    t.state_refs.push(s);
                }
            }
            _ => {}
        },
        (Section::Objects, Current::None) if name.ends_with("_object") => {
            *current = Current::Object(attr(e, "id").unwrap_or_default(), Object::default());
        }
        (Section::Objects, Current::Object(_, o)) if name == "name" => {
            o.var_ref = attr(e, "var_ref");
        }
        (Section::States, Current::None) if name.ends_with("_state") => {
            *current = Current::State(attr(e, "id").unwrap_or_default(), State::default());
        }
        (Section::States, Current::State(_, s)) if name == "evr" => {
            s.evr = Some((
                attr(e, "operation").unwrap_or_else(|| "equals".to_owned()),
                String::new(),
            ));
        }
        (Section::Variables, Current::None) if name == "constant_variable" => {
            *current = Current::Variable(attr(e, "id").unwrap_or_default(), Vec::new());
        }
        _ => {}
    }
}

fn on_end(
    name: &str,
    text: &str,
    section: &mut Section,
    current: &mut Current,
    doc: &mut Document,
) {
    match name {
        "generator" | "definitions" | "tests" | "objects" | "states" | "variables" => {
            *section = Section::None;
            return;
        }
        _ => {}
    }
    if *section == Section::Generator && name == "product_name" {
        doc.product_name = text.trim().to_owned();
        return;
    }
    let done = match current {
        Current::None => false,
        Current::Definition(d) => match name {
            "title" => {
                d.title = text.trim().to_owned();
                false
            }
            "description" => {
                d.description = text.trim().to_owned();
                false
            }
            "severity" => {
                d.severity = text.trim().to_owned();
                false
            }
            "cve" => {
                if !text.trim().is_empty() {
                    d.cves.push(text.trim().to_owned());
                }
                false
            }
            "platform" => {
                d.platforms.push(text.trim().to_owned());
                false
            }
            "definition" => true,
            _ => false,
        },
        Current::Test(..) => name.ends_with("_test"),
        Current::Object(_, o) => {
            if name == "name" && o.var_ref.is_none() {
                o.name = Some(text.trim().to_owned());
            }
            name.ends_with("_object")
        }
        Current::State(_, s) => {
            if name == "evr"
                && let Some((_, value)) = &mut s.evr
            {
                *value = text.trim().to_owned();
            }
            name.ends_with("_state")
        }
        Current::Variable(_, values) => {
            if name == "value" {
                values.push(text.trim().to_owned());
            }
            name == "constant_variable"
        }
    };
    if done {
        match std::mem::replace(current, Current::None) {
            Current::Definition(d) => doc.definitions.push(*d),
            Current::Test(id, t) => {
                doc.tests.insert(id, t);
            }
            Current::Object(id, o) => {
                doc.objects.insert(id, o);
            }
            Current::State(id, s) => {
                doc.states.insert(id, s);
            }
            Current::Variable(id, v) => {
                doc.variables.insert(id, v);
            }
            Current::None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UBUNTU: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:ind="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent" xmlns:linux="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
  <generator><oval:product_name>Canonical USN OVAL Generator</oval:product_name></generator>
  <definitions>
    <definition class="inventory" id="oval:com.ubuntu.noble:def:100" version="1">
      <metadata><title>Check that Ubuntu 24.04 LTS (noble) is installed.</title></metadata>
      <criteria><criterion test_ref="oval:com.ubuntu.noble:tst:1" /></criteria>
    </definition>
    <definition id="oval:com.ubuntu.noble:def:9001" version="1" class="patch">
      <metadata>
        <title>USN-9001-1 -- Foo vulnerabilities</title>
        <reference source="USN" ref_id="USN-9001-1" ref_url="https://ubuntu.com/security/notices/USN-9001-1" />
        <reference source="CVE" ref_id="CVE-2099-1000" ref_url="https://ubuntu.com/security/CVE-2099-1000" />
        <description>Foo &amp; bar &lt;broke&gt;.</description>
        <advisory from="security@ubuntu.com">
          <severity>Medium</severity>
          <issued date="2099-09-12" />
          <cve href="https://ubuntu.com/security/CVE-2099-1001" priority="medium">CVE-2099-1001</cve>
          <cve href="https://ubuntu.com/security/CVE-2099-1000" priority="medium">CVE-2099-1000</cve>
        </advisory>
      </metadata>
      <criteria>
        <extend_definition definition_ref="oval:com.ubuntu.noble:def:100" applicability_check="true" />
        <criteria operator="OR">
          <criterion test_ref="oval:com.ubuntu.noble:tst:10" />
          <criterion test_ref="oval:com.ubuntu.noble:tst:11" />
        </criteria>
      </criteria>
    </definition>
    <definition id="oval:com.ubuntu.noble:def:9002" version="1" class="patch">
      <metadata><title>LSN-0001-1 -- Kernel Live Patch Security Notice</title>
        <reference source="USN" ref_id="LSN-0001-1" ref_url="https://ubuntu.com/security/notices/LSN-0001-1" />
      </metadata>
      <criteria><criterion test_ref="oval:com.ubuntu.noble:tst:20" /></criteria>
    </definition>
    <definition id="oval:com.ubuntu.noble:def:9003" version="1" class="patch">
      <metadata><title>USN-9003-1 -- Dangling</title>
        <reference source="USN" ref_id="USN-9003-1" ref_url="" />
      </metadata>
      <criteria><criterion test_ref="oval:com.ubuntu.noble:tst:404" /></criteria>
    </definition>
  </definitions>
  <tests>
    <linux:dpkginfo_test id="oval:com.ubuntu.noble:tst:10" check="at least one">
      <linux:object object_ref="oval:com.ubuntu.noble:obj:10" />
      <linux:state state_ref="oval:com.ubuntu.noble:ste:10" />
    </linux:dpkginfo_test>
    <linux:dpkginfo_test id="oval:com.ubuntu.noble:tst:11" check="at least one">
      <linux:object object_ref="oval:com.ubuntu.noble:obj:11" />
      <linux:state state_ref="oval:com.ubuntu.noble:ste:11" />
    </linux:dpkginfo_test>
    <ind:variable_test id="oval:com.ubuntu.noble:tst:20" check="all">
      <ind:object object_ref="oval:com.ubuntu.noble:obj:20" />
      <ind:state state_ref="oval:com.ubuntu.noble:ste:20" />
    </ind:variable_test>
  </tests>
  <objects>
    <linux:dpkginfo_object id="oval:com.ubuntu.noble:obj:10" version="1">
      <linux:name var_ref="oval:com.ubuntu.noble:var:10" var_check="at least one" />
    </linux:dpkginfo_object>
    <linux:dpkginfo_object id="oval:com.ubuntu.noble:obj:11" version="1" comment="Available with Ubuntu Pro">
      <linux:name>libbar2</linux:name>
    </linux:dpkginfo_object>
    <ind:variable_object id="oval:com.ubuntu.noble:obj:20" version="1"><ind:var_ref>oval:com.ubuntu.noble:var:20</ind:var_ref></ind:variable_object>
  </objects>
  <states>
    <linux:dpkginfo_state id="oval:com.ubuntu.noble:ste:10" version="1">
      <linux:evr datatype="debian_evr_string" operation="less than">0:2.6.1-2ubuntu0.1</linux:evr>
    </linux:dpkginfo_state>
    <linux:dpkginfo_state id="oval:com.ubuntu.noble:ste:11" version="1">
      <linux:evr datatype="debian_evr_string" operation="less than">1:1.0-1ubuntu0.1~esm1</linux:evr>
    </linux:dpkginfo_state>
    <ind:variable_state id="oval:com.ubuntu.noble:ste:20" version="1">
      <ind:value datatype="debian_evr_string" operation="less than">0:6.8.0-35</ind:value>
    </ind:variable_state>
  </states>
  <variables>
    <constant_variable id="oval:com.ubuntu.noble:var:10" version="1" datatype="string">
      <value>libfoo1</value>
      <value>foo-utils</value>
    </constant_variable>
  </variables>
</oval_definitions>
"#;

    fn summary(a: &Advisory) -> Vec<(String, String, String)> {
        a.affected
            .iter()
            .map(|x| {
                let fixed = match &x.rules[..] {
                    [Rule::Events { events }] => match &events[..] {
                        [Event::Introduced(z), Event::Fixed(f)] if z == "0" => f.clone(),
                        other => panic!("{other:?}"),
                    },
                    other => panic!("{other:?}"),
                };
                (x.ecosystem.clone(), x.package.clone(), fixed)
            })
            .collect()
    }

    #[test]
    fn ubuntu_definitions() {
        assert!(detect("com.ubuntu.noble.usn.oval.xml", UBUNTU.as_bytes()));
        let p = parse("x/com.ubuntu.noble.usn.oval.xml", UBUNTU.as_bytes()).expect("parses");
        assert_eq!(p.advisories.len(), 1);
        assert_eq!(
            p.skipped, 2,
            "the live-patch notice and the dangling reference"
        );
        let a = &p.advisories[0];
        assert_eq!(a.id, "USN-9001-1");
        assert_eq!(a.aliases, ["CVE-2099-1000", "CVE-2099-1001"]);
        assert_eq!(
            a.summary.as_deref(),
            Some("USN-9001-1 -- Foo vulnerabilities")
        );
        assert_eq!(a.details.as_deref(), Some("Foo & bar <broke>."));
        assert_eq!(a.severity_label.as_deref(), Some("Medium"));
        assert_eq!(a.published.as_deref(), Some("2099-09-12"));
        assert_eq!(
            a.references[0],
            "https://ubuntu.com/security/notices/USN-9001-1"
        );
        let eco = "Ubuntu:24.04".to_owned();
        assert_eq!(
            summary(a),
            [
                (eco.clone(), "libfoo1".into(), "2.6.1-2ubuntu0.1".into()),
                (eco.clone(), "foo-utils".into(), "2.6.1-2ubuntu0.1".into()),
                (eco, "libbar2".into(), "1:1.0-1ubuntu0.1~esm1".into()),
            ]
        );
    }

    const ROCKY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
  <generator><oval:product_name>Rocky OVAL Patch Definition Merger</oval:product_name></generator>
  <definitions>
    <definition class="patch" id="oval:org.rockylinux.rlsa:def:1" version="1">
      <metadata>
        <title>RLSA-2099:0001: gzip security update (Important)</title>
        <affected family="unix"><platform>Rocky Linux 9</platform></affected>
        <reference ref_id="RLSA-2099:0001" ref_url="https://errata.rockylinux.org/RLSA-2099:0001" source="RLSA" />
        <description>Security Fix(es):
* gzip: bad (CVE-2099-1271) and worse (CVE-2099-1272), again CVE-2099-1271.</description>
        <advisory from="cpe:/o:rocky:rocky:9:GA">
          <severity>Important</severity>
          <issued date="2099-05-17" />
          <updated date="2099-05-18" />
        </advisory>
      </metadata>
      <criteria operator="OR">
        <criterion test_ref="oval:org.rockylinux.rlsa:tst:sig" />
        <criterion test_ref="oval:org.rockylinux.rlsa:tst:unk" />
        <criteria operator="AND">
          <criterion test_ref="oval:org.rockylinux.rlsa:tst:1" />
          <criterion test_ref="oval:org.rockylinux.rlsa:tst:1" />
        </criteria>
        <criteria operator="AND">
          <criterion test_ref="oval:org.rockylinux.rlsa:tst:2" />
          <criterion test_ref="oval:org.rockylinux.rlsa:tst:3" />
        </criteria>
      </criteria>
    </definition>
  </definitions>
  <tests>
    <red-def:rpmverifyfile_test check="none satisfy" id="oval:org.rockylinux.rlsa:tst:sig" version="1">
      <red-def:object object_ref="oval:org.rockylinux.rlsa:obj:sig" />
      <red-def:state state_ref="oval:org.rockylinux.rlsa:ste:sig" />
    </red-def:rpmverifyfile_test>
    <red-def:rpminfo_test check="at least one" id="oval:org.rockylinux.rlsa:tst:1" version="1">
      <red-def:object object_ref="oval:org.rockylinux.rlsa:obj:1" />
      <red-def:state state_ref="oval:org.rockylinux.rlsa:ste:1" />
    </red-def:rpminfo_test>
    <red-def:rpminfo_test check="at least one" id="oval:org.rockylinux.rlsa:tst:2" version="1">
      <red-def:object object_ref="oval:org.rockylinux.rlsa:obj:2" />
      <red-def:state state_ref="oval:org.rockylinux.rlsa:ste:2" />
    </red-def:rpminfo_test>
    <red-def:rpminfo_test check="at least one" id="oval:org.rockylinux.rlsa:tst:3" version="1">
      <red-def:object object_ref="oval:org.rockylinux.rlsa:obj:2" />
      <red-def:state state_ref="oval:org.rockylinux.rlsa:ste:3" />
    </red-def:rpminfo_test>
  </tests>
  <objects>
    <red-def:rpmverifyfile_object id="oval:org.rockylinux.rlsa:obj:sig" version="1"><red-def:name operation="pattern match">^rocky-release</red-def:name></red-def:rpmverifyfile_object>
    <red-def:rpminfo_object id="oval:org.rockylinux.rlsa:obj:1" version="1"><red-def:name>gzip</red-def:name></red-def:rpminfo_object>
    <red-def:rpminfo_object id="oval:org.rockylinux.rlsa:obj:2" version="1"><red-def:name>grub2-common</red-def:name></red-def:rpminfo_object>
  </objects>
  <states>
    <red-def:rpmverifyfile_state id="oval:org.rockylinux.rlsa:ste:sig" version="1"><red-def:name operation="pattern match">^rocky-release</red-def:name></red-def:rpmverifyfile_state>
    <red-def:rpminfo_state id="oval:org.rockylinux.rlsa:ste:1" version="1">
      <red-def:arch datatype="string" operation="pattern match">x86_64|src</red-def:arch>
      <red-def:evr datatype="evr_string" operation="less than">0:1.10-9.el9_0</red-def:evr>
    </red-def:rpminfo_state>
    <red-def:rpminfo_state id="oval:org.rockylinux.rlsa:ste:2" version="1">
      <red-def:arch datatype="string" operation="pattern match">x86_64</red-def:arch>
    </red-def:rpminfo_state>
    <red-def:rpminfo_state id="oval:org.rockylinux.rlsa:ste:3" version="1">
      <red-def:evr datatype="evr_string" operation="less than">1:2.06-46.el9_1.3.rocky.0.2</red-def:evr>
    </red-def:rpminfo_state>
  </states>
</oval_definitions>
"#;

    #[test]
    fn rocky_definitions() {
        let p = parse("org.rockylinux.rlsa-9.xml", ROCKY.as_bytes()).expect("parses");
        assert_eq!(p.skipped, 0);
        let a = &p.advisories[0];
        assert_eq!(a.id, "RLSA-2099:0001");
        assert_eq!(a.aliases, ["CVE-2099-1271", "CVE-2099-1272"]);
        assert_eq!(a.severity_label.as_deref(), Some("Important"));
        assert_eq!(a.modified.as_deref(), Some("2099-05-18"));
        let eco = "Rocky Linux:9".to_owned();
        assert_eq!(
            summary(a),
            [
                (eco.clone(), "gzip".into(), "0:1.10-9.el9_0".into()),
                (
                    eco,
                    "grub2-common".into(),
                    "1:2.06-46.el9_1.3.rocky.0.2".into()
                ),
            ]
        );
        // Without <platform>, the CPE still says 9; without either, the file name does.
        let no_platform = ROCKY.replace("<platform>Rocky Linux 9</platform>", "");
        let p = parse("whatever.xml", no_platform.as_bytes()).expect("parses");
        assert_eq!(p.advisories[0].affected[0].ecosystem, "Rocky Linux:9");
        let bare = no_platform.replace("cpe:/o:rocky:rocky:9:GA", "x");
        let p = parse("org.rockylinux.rlsa-8.xml", bare.as_bytes()).expect("parses");
        assert_eq!(p.advisories[0].affected[0].ecosystem, "Rocky Linux:8");
        assert!(parse("unknown.xml", bare.as_bytes()).is_err());
    }

    #[test]
    fn detection_and_corrupt_files() {
        assert!(detect(
            "x.xml",
            b"  <?xml version=\"1.0\"?>\n<oval_definitions>"
        ));
        assert!(!detect(
            "x.xml",
            b"<?xml version=\"1.0\"?><rss><item>oval</item></rss>"
        ));
        assert!(!detect("x.json", b"{\"oval_definitions\": 1}"));
        assert!(parse("x.xml", b"<oval_definitions><definitions><definition").is_err());
        assert!(parse("x.xml", b"<oval_definitions><a></b></oval_definitions>").is_err());
        assert!(parse("x.xml", b"<other/>").is_err());
        assert!(parse("x.xml", b"\xff\xfe<").is_err());
    }

    #[test]
    fn cve_scan() {
        assert_eq!(
            cves_in_text("x CVE-2020-1234, CVE-20-1, (CVE-2021-12345)CVE-2020-1234"),
            ["CVE-2020-1234", "CVE-2021-12345"]
        );
    }
}
