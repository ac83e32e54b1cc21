//! CycloneDX 1.6 JSON.
//!
//! Components are the image's packages; with findings, a `vulnerabilities` array follows
//! (see [`vulnerability`] for how a finding is written).

use std::collections::BTreeSet;

use keelhaul_core::{Cvss, FixStatus, Package, Severity, Vulnerability};
use serde_json::{Value, json};

use crate::Report;

fn properties(pairs: &[(&str, Option<String>)]) -> Vec<Value> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| json!({"name": k, "value": v})))
        .collect()
}

fn package_component(r: &Report, p: &Package, platform_prefix: &str) -> Value {
    let mut c = json!({
        "type": "library",
        "bom-ref": format!("{platform_prefix}{}", p.purl),
        "name": p.name,
        "version": p.version,
        "purl": p.purl,
    });
    if let Some(s) = &p.supplier {
        c["supplier"] = json!({"name": s});
    }
    if !p.licenses.is_empty() {
        c["licenses"] = Value::Array(
            p.licenses
                .iter()
                .map(|l| json!({"license": {"name": l}}))
                .collect(),
        );
    }
    let location = p.locations.first();
    let props = properties(&[
        ("keelhaul:package:ecosystem", Some(p.ecosystem.to_string())),
        ("keelhaul:package:arch", p.arch.clone()),
        ("keelhaul:package:source_name", p.source_name.clone()),
        ("keelhaul:package:source_version", p.source_version.clone()),
        ("keelhaul:location:path", location.map(|l| l.path.clone())),
        (
            "keelhaul:location:layer",
            location.and_then(|l| l.layer.as_ref().map(ToString::to_string)),
        ),
        (
            "keelhaul:location:layer_index",
            location
                .and_then(|l| r.layer_index(l.layer.as_ref()))
                .map(|i| i.to_string()),
        ),
        (
            "keelhaul:package:modularity_label",
            p.modularity_label.clone(),
        ),
        (
            "keelhaul:package:evidence",
            Some(
                p.evidence()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ),
        ("keelhaul:package:owned_by", p.owned_by.clone()),
    ]);
    if !props.is_empty() {
        c["properties"] = Value::Array(props);
    }
    c
}

fn os_component(r: &Report, prefix: &str) -> Option<Value> {
    let os = r.os.as_ref()?;
    let mut c = json!({
        "type": "operating-system",
        "bom-ref": format!("{prefix}os:{}@{}", os.family, os.version.as_deref().unwrap_or("unknown")),
        "name": os.family,
    });
    if let Some(v) = &os.version {
        c["version"] = json!(v);
    }
    if let Some(p) = &os.pretty_name {
        c["description"] = json!(p);
    }
    Some(c)
}

/// The image as a `container` component (without its contents).
fn image_component(r: &Report, bom_ref: &str) -> Value {
    let mut c = json!({
        "type": "container",
        "bom-ref": bom_ref,
        "name": r.image_name(),
    });
    if let Some(d) = r.image_digest() {
        c["version"] = json!(d.to_string());
    }
    let props = properties(&[
        (
            "keelhaul:image:platform",
            r.platform.as_ref().map(ToString::to_string),
        ),
        (
            "keelhaul:image:config_digest",
            r.image.config_digest.as_ref().map(ToString::to_string),
        ),
        (
            "keelhaul:image:manifest_digest",
            r.image.manifest_digest.as_ref().map(ToString::to_string),
        ),
        (
            "keelhaul:image:index_digest",
            r.image.index_digest.as_ref().map(ToString::to_string),
        ),
    ]);
    if !props.is_empty() {
        c["properties"] = Value::Array(props);
    }
    c
}

fn contents(r: &Report, prefix: &str) -> (Vec<Value>, Vec<String>) {
    let mut components = Vec::new();
    let mut refs = Vec::new();
    if let Some(os) = os_component(r, prefix) {
        refs.push(os["bom-ref"].as_str().unwrap_or_default().to_owned());
        components.push(os);
    }
    for p in &r.packages {
        let c = package_component(r, p, prefix);
        refs.push(c["bom-ref"].as_str().unwrap_or_default().to_owned());
        components.push(c);
    }
    (components, refs)
}

pub(crate) fn bom(reports: &[Report]) -> Value {
    let mut bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", crate::model::document_id(reports)),
        "version": 1,
    });
    let mut metadata = json!({
        "tools": {"components": [{"type": "application", "name": "keelhaul", "version": env!("CARGO_PKG_VERSION")}]},
    });
    if let Some(t) = reports
        .first()
        .and_then(|r| r.image.created.as_deref())
        .and_then(crate::spdx::rfc3339_seconds)
    {
        metadata["timestamp"] = json!(t);
    }
    let mut dependencies = Vec::new();
    let mut vulnerabilities = Vec::new();
    let components: Vec<Value> = match reports {
        [one] => {
            metadata["component"] = image_component(one, "image");
            let (components, refs) = contents(one, "");
            vulnerabilities.extend(report_vulnerabilities(one, "", "image", &refs));
            dependencies.push(json!({"ref": "image", "dependsOn": refs}));
            components
        }
        many => {
            let first = many.first();
            metadata["component"] = json!({
                "type": "container",
                "bom-ref": "image-index",
                "name": first.map(Report::image_name).unwrap_or_default(),
            });
            if let Some(d) = first.and_then(|r| r.image.index_digest.as_ref()) {
                metadata["component"]["version"] = json!(d.to_string());
            }
            let mut platform_refs = Vec::new();
            let nested = many
                .iter()
                .map(|r| {
                    let platform = r
                        .platform
                        .as_ref()
                        .map_or_else(|| "unknown".to_owned(), ToString::to_string);
                    let prefix = format!("{platform}/");
                    let image_ref = format!("image:{platform}");
                    let mut c = image_component(r, &image_ref);
                    let (components, refs) = contents(r, &prefix);
                    c["components"] = Value::Array(components);
                    vulnerabilities.extend(report_vulnerabilities(r, &prefix, &image_ref, &refs));
                    dependencies.push(json!({"ref": image_ref, "dependsOn": refs}));
                    platform_refs.push(image_ref);
                    c
                })
                .collect();
            dependencies.push(json!({"ref": "image-index", "dependsOn": platform_refs}));
            nested
        }
    };
    bom["metadata"] = metadata;
    bom["components"] = Value::Array(components);
    bom["dependencies"] = Value::Array(dependencies);
    if !vulnerabilities.is_empty() {
        bom["vulnerabilities"] = Value::Array(vulnerabilities);
    }
    bom
}

/// The CycloneDX rating method of a CVSS version.
pub(crate) fn cvss_method(version: &str) -> &'static str {
    match version.trim() {
        "2" | "2.0" => "CVSSv2",
        "3" | "3.0" => "CVSSv3",
        "3.1" => "CVSSv31",
        "4" | "4.0" => "CVSSv4",
        _ => "other",
    }
}

/// CycloneDX's severity word for ours (`negligible` is CycloneDX `info`).
pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// The qualitative rating of a CVSS score in its own version's scale: v2 has no
/// critical (7.0–10.0 is high), v3/v4 do; 0.0 is `none`.
fn cvss_severity(c: &Cvss) -> &'static str {
    if c.score <= 0.0 {
        return "none";
    }
    if cvss_method(&c.version) == "CVSSv2" {
        return match c.score {
            s if s >= 7.0 => "high",
            s if s >= 4.0 => "medium",
            _ => "low",
        };
    }
    severity_word(Severity::from_cvss_score(c.score))
}

/// Who publishes an id, by its prefix, with the id's page there.
fn id_source(id: &str) -> Value {
    if id.starts_with("CVE-") {
        json!({"name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{id}")})
    } else if id.starts_with("GHSA-") {
        json!({"name": "GitHub Advisories", "url": format!("https://github.com/advisories/{id}")})
    } else {
        json!({"name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}")})
    }
}

/// `CWE-79` → 79; NVD's placeholders (`NVD-CWE-Other`, `NVD-CWE-noinfo`) are dropped.
pub(crate) fn cwe_number(cwe: &str) -> Option<u32> {
    let n: u32 = cwe.trim().strip_prefix("CWE-")?.parse().ok()?;
    (n > 0).then_some(n)
}

/// A publication date as CycloneDX's `date-time`: RFC 3339 in UTC seconds, or a bare
/// `YYYY-MM-DD` as midnight UTC; anything else is dropped.
pub(crate) fn published(p: &str) -> Option<String> {
    if let Some(t) = crate::spdx::rfc3339_seconds(p) {
        return Some(t);
    }
    let f = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(p.trim(), &f).ok()?;
    Some(format!("{d}T00:00:00Z"))
}

/// The `analysis` of a finding's fix status, written only where the supplier's decision
/// maps onto CycloneDX's vocabulary. No `state` is ever set: `state` is an assertion
/// about exploitability in this image (`exploitable`, `not_affected`, …) that a scanner
/// matching versions cannot make. `response` is the supplier's reaction:
/// * fixed → `update` ("update to a different revision or release");
/// * will-not-fix → `will_not_fix`;
/// * deferred, end-of-life, no-dsa, unimportant → no response fits (deferred is not
///   `can_not_fix`, and `update` would claim an update exists), so only `detail` says it;
/// * affected (no decision yet) → no analysis.
fn analysis(v: &Vulnerability) -> Option<Value> {
    let by = v
        .severity_source
        .as_deref()
        .filter(|_| v.class == keelhaul_core::FindingClass::Os)
        .unwrap_or("the supplier");
    let (response, detail): (Option<&str>, String) = match v.status {
        FixStatus::Fixed => (
            Some("update"),
            if v.fixed_versions.is_empty() {
                "A fixed version exists.".to_owned()
            } else {
                format!("Fixed in {}.", v.fixed_versions.join(", "))
            },
        ),
        FixStatus::WillNotFix => (Some("will_not_fix"), format!("{by} will not fix this.")),
        FixStatus::Deferred => (None, format!("{by} postponed the fix.")),
        FixStatus::EndOfLife => (
            None,
            "The release is out of support for this package; no fix will ship.".to_owned(),
        ),
        FixStatus::NoDsa => (
            None,
            format!("{by}: minor issue, no security advisory planned (no-dsa)."),
        ),
        FixStatus::Unimportant => (None, format!("{by} rates this unimportant.")),
        FixStatus::Affected => return None,
    };
    let mut a = json!({"detail": detail});
    if let Some(r) = response {
        a["response"] = json!([r]);
    }
    Some(a)
}

/// The component a vulnerability affects.
#[derive(Clone, Copy)]
struct Affected<'a> {
    bom_ref: &'a str,
    /// False when it is the image, standing in for a package with no component.
    is_package: bool,
}

/// One finding as a CycloneDX vulnerability.
///
/// * `bom-ref`: `{platform/}{id}@{purl}`, unique per platform and package;
/// * `source`: the first database the advisories came from, with the advisory URL;
/// * `references`: each alias, with its publisher guessed from the prefix;
/// * `ratings`: the CVSS one (method `CVSSv2`/`CVSSv3`/`CVSSv31`/`CVSSv4`), and the
///   distro's own label (method `other`, source = who rated it) when there is one — or,
///   without CVSS, whatever rated the severity;
/// * `affects`: the package's component (`component_ref`), installed version affected.
fn vulnerability(v: &Vulnerability, prefix: &str, component_ref: Affected<'_>) -> Value {
    let mut o = json!({
        "bom-ref": format!("{prefix}{}@{}", v.id, v.package.purl),
        "id": v.id,
    });
    let mut source = json!({});
    if let Some(s) = v.sources.first().or(v.severity_source.as_ref()) {
        source["name"] = json!(s);
    }
    if let Some(u) = &v.url {
        source["url"] = json!(u);
    }
    if source.as_object().is_some_and(|m| !m.is_empty()) {
        o["source"] = source;
    }
    if !v.aliases.is_empty() {
        o["references"] = Value::Array(
            v.aliases
                .iter()
                .map(|a| json!({"id": a, "source": id_source(a)}))
                .collect(),
        );
    }
    let mut ratings = Vec::new();
    if let Some(c) = &v.cvss
        && c.score.is_finite()
    {
        let mut r = json!({
            "score": c.score,
            "severity": cvss_severity(c),
            "method": cvss_method(&c.version),
            "vector": c.vector,
        });
        if !c.source.is_empty() {
            r["source"] = json!({"name": c.source});
        }
        ratings.push(r);
    }
    if v.distro_severity.is_some() || (v.cvss.is_none() && v.severity != Severity::Unknown) {
        let mut r = json!({"severity": severity_word(v.severity), "method": "other"});
        if let Some(s) = &v.severity_source {
            r["source"] = json!({"name": s});
        }
        if let Some(label) = &v.distro_severity {
            r["justification"] = json!(format!("rated \"{label}\""));
        }
        ratings.push(r);
    }
    if !ratings.is_empty() {
        o["ratings"] = Value::Array(ratings);
    }
    let cwes: BTreeSet<u32> = v.cwes.iter().filter_map(|c| cwe_number(c)).collect();
    if !cwes.is_empty() {
        o["cwes"] = json!(cwes);
    }
    if let Some(t) = &v.title {
        o["description"] = json!(t);
    }
    o["detail"] = json!(crate::sarif::message(v));
    if !v.fixed_versions.is_empty() {
        o["recommendation"] = json!(format!("Upgrade to {}", v.fixed_versions.join(" or ")));
    }
    if let Some(p) = v.published.as_deref().and_then(published) {
        o["published"] = json!(p);
    }
    if let Some(a) = analysis(v) {
        o["analysis"] = a;
    }
    o["affects"] = if component_ref.is_package {
        json!([{
            "ref": component_ref.bom_ref,
            "versions": [{"version": v.installed_version, "status": "affected"}],
        }])
    } else {
        // The image's version is its digest, not the package's version.
        json!([{"ref": component_ref.bom_ref}])
    };
    let props = properties(&[
        ("keelhaul:status", Some(v.status.as_str().to_owned())),
        (
            "keelhaul:known_exploited",
            Some(v.known_exploited.to_string()),
        ),
        (
            "keelhaul:class",
            Some(crate::sarif::class_name(v.class).to_owned()),
        ),
        ("keelhaul:path", v.path.clone()),
        ("keelhaul:layer", v.layer.as_ref().map(ToString::to_string)),
    ]);
    o["properties"] = Value::Array(props);
    o
}

/// The vulnerabilities of one report. A finding's package component is `{prefix}{purl}`
/// as [`package_component`] names it; a finding whose purl is no component (an SBOM
/// input that spelled it differently) affects the image component instead, so no
/// reference dangles. The same id in the same package twice (two paths) is one entry.
fn report_vulnerabilities(
    r: &Report,
    prefix: &str,
    image_ref: &str,
    component_refs: &[String],
) -> Vec<Value> {
    let known: BTreeSet<&str> = component_refs.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    r.vulnerabilities
        .iter()
        .filter(|v| seen.insert((v.id.as_str(), v.package.purl.as_str())))
        .map(|v| {
            let component = format!("{prefix}{}", v.package.purl);
            let target = if known.contains(component.as_str()) {
                Affected {
                    bom_ref: &component,
                    is_package: true,
                }
            } else {
                Affected {
                    bom_ref: image_ref,
                    is_package: false,
                }
            };
            vulnerability(v, prefix, target)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn vulns(b: &Value) -> Vec<Value> {
        b["vulnerabilities"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn methods_cwes_and_dates() {
        assert_eq!(cvss_method("2.0"), "CVSSv2");
        assert_eq!(cvss_method("3.0"), "CVSSv3");
        assert_eq!(cvss_method("3.1"), "CVSSv31");
        assert_eq!(cvss_method("4.0"), "CVSSv4");
        assert_eq!(cvss_method("5"), "other");
        assert_eq!(cwe_number("CWE-79"), Some(79));
        assert_eq!(cwe_number("NVD-CWE-noinfo"), None);
        assert_eq!(cwe_number("CWE-0"), None);
        assert_eq!(
            published("2024-03-29").as_deref(),
            Some("2024-03-29T00:00:00Z")
        );
        assert_eq!(
            published("2024-01-26T09:15:07.680+01:00").as_deref(),
            Some("2024-01-26T08:15:07Z")
        );
        assert_eq!(published("last tuesday"), None);
        let v2 = Cvss {
            score: 9.3,
            vector: "AV:N/AC:M/Au:N/C:C/I:C/A:C".to_owned(),
            version: "2.0".to_owned(),
            source: "nvd".to_owned(),
        };
        assert_eq!(cvss_severity(&v2), "high");
    }

    #[test]
    fn no_findings_no_array() {
        let mut r = testdata::report();
        r.vulnerabilities.clear();
        assert!(bom(&[r]).get("vulnerabilities").is_none());
    }

    #[test]
    fn vulnerabilities_reference_package_components() {
        let b = bom(&[testdata::report()]);
        let refs: BTreeSet<&str> = b["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["bom-ref"].as_str())
            .collect();
        let vs = vulns(&b);
        assert_eq!(vs.len(), 5);
        let openssl = &vs[0];
        let purl = "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12";
        assert_eq!(openssl["bom-ref"], format!("CVE-2024-0727@{purl}"));
        assert_eq!(openssl["affects"][0]["ref"], purl);
        assert!(refs.contains(purl));
        assert_eq!(
            openssl["affects"][0]["versions"],
            json!([{"version": "3.0.11-1~deb12u1", "status": "affected"}])
        );
        assert_eq!(openssl["recommendation"], "Upgrade to 3.0.13-1~deb12u1");
        assert_eq!(openssl["cwes"], json!([476]));
        assert_eq!(openssl["published"], "2024-01-26T09:15:07Z");
        assert_eq!(openssl["analysis"]["response"], json!(["update"]));
        assert_eq!(openssl["ratings"][0]["method"], "CVSSv31");
        assert_eq!(openssl["ratings"][0]["score"], 5.5);
        assert_eq!(openssl["ratings"][1]["method"], "other");
        assert_eq!(openssl["ratings"][1]["source"]["name"], "debian");

        // The orphan (purl is no component) affects the image, without a version.
        assert_eq!(vs[4]["affects"], json!([{"ref": "image"}]));
        assert!(vs[4].get("analysis").is_none());
        assert!(vs[4].get("ratings").is_none());
    }

    #[test]
    fn statuses_ratings_and_aliases() {
        let vs = vulns(&bom(&[testdata::report()]));
        let wnf = &vs[1];
        assert_eq!(wnf["analysis"]["response"], json!(["will_not_fix"]));
        assert!(wnf["analysis"].get("state").is_none());
        assert_eq!(wnf["ratings"][1]["severity"], "info");
        assert_eq!(wnf["ratings"][1]["justification"], "rated \"unimportant\"");
        let xz = &vs[2];
        assert!(xz["analysis"].get("response").is_none());
        assert_eq!(xz["cwes"], json!([506]));
        assert_eq!(xz["published"], "2024-03-29T00:00:00Z");
        let props = xz["properties"].as_array().cloned().unwrap_or_default();
        assert!(props.contains(&json!({"name": "keelhaul:known_exploited", "value": "true"})));
        assert!(props.contains(&json!({"name": "keelhaul:status", "value": "deferred"})));
        let requests = &vs[3];
        assert_eq!(
            requests["references"],
            json!([
                {"id": "GHSA-j8r2-6x86-q33q", "source": {"name": "GitHub Advisories", "url": "https://github.com/advisories/GHSA-j8r2-6x86-q33q"}},
                {"id": "PYSEC-2023-74", "source": {"name": "OSV", "url": "https://osv.dev/vulnerability/PYSEC-2023-74"}},
            ])
        );
        assert_eq!(requests["source"]["name"], "ghsa");
        // CVSS only, no distro label: one rating.
        assert_eq!(requests["ratings"].as_array().map_or(0, Vec::len), 1);
    }

    #[test]
    fn platforms_prefix_refs_and_the_same_finding_twice_is_one_entry() {
        let b = bom(&testdata::two_platforms());
        let vs = vulns(&b);
        assert_eq!(vs.len(), 10);
        let refs: BTreeSet<&str> = vs.iter().filter_map(|v| v["bom-ref"].as_str()).collect();
        assert_eq!(refs.len(), 10, "bom-refs must be unique");
        assert!(
            vs[5]["affects"][0]["ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("linux/arm64/pkg:deb/"))
        );
        assert_eq!(vs[9]["affects"][0]["ref"], "image:linux/arm64");

        let mut r = testdata::report();
        let mut copy = r.vulnerabilities[3].clone();
        copy.path = Some("opt/other/METADATA".to_owned());
        r.vulnerabilities.push(copy);
        assert_eq!(vulns(&bom(&[r])).len(), 5);
    }
}
