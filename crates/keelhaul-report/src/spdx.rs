//! SPDX 2.3 JSON.

use keelhaul_core::Package;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Report;

/// An RFC 3339 time reduced to whole seconds in UTC (`YYYY-MM-DDThh:mm:ssZ`), the only
/// form SPDX accepts.
pub(crate) fn rfc3339_seconds(t: &str) -> Option<String> {
    let parsed = OffsetDateTime::parse(t, &Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    parsed.format(&f).ok()
}

/// SPDX ids allow letters, digits, `.` and `-` only.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn short_hash(s: &str) -> String {
    let d = keelhaul_core::Digest::sha256_of(s.as_bytes());
    d.hex()[..12].to_owned()
}

fn supplier(p: &Package) -> String {
    match &p.supplier {
        // SPDX wants `Person: NAME (EMAIL)` or `Organization: NAME`; maintainers are
        // written `NAME <EMAIL>`.
        Some(s) => match s.split_once('<') {
            Some((name, email)) => format!(
                "Person: {} ({})",
                name.trim(),
                email.trim_end_matches('>').trim()
            ),
            None => format!("Organization: {}", s.trim()),
        },
        None => "NOASSERTION".to_owned(),
    }
}

/// A package with the fields SPDX requires and keelhaul cannot assert set to NOASSERTION.
fn skeleton(id: &str, name: &str, purpose: &str) -> Value {
    json!({
        "SPDXID": id,
        "name": name,
        "supplier": "NOASSERTION",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": purpose,
    })
}

fn package(p: &Package, id: &str) -> Value {
    let mut v = skeleton(id, &p.name, "LIBRARY");
    v["versionInfo"] = json!(p.version);
    v["supplier"] = json!(supplier(p));
    v["externalRefs"] = json!([{
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": p.purl,
    }]);
    if let Some(s) = &p.source_name {
        v["sourceInfo"] = json!(format!(
            "built from source package {s}{}",
            p.source_version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default()
        ));
    }
    if let Some(l) = p.locations.first() {
        let layer = l
            .layer
            .as_ref()
            .map(|d| format!(" in layer {d}"))
            .unwrap_or_default();
        let owner = p
            .owned_by
            .as_deref()
            .map(|o| format!("; installed by OS package {o}"))
            .unwrap_or_default();
        let more = if p.locations.len() > 1 {
            format!(" (and {} more places)", p.locations.len() - 1)
        } else {
            String::new()
        };
        v["comment"] = json!(format!(
            "{} evidence, found in /{}{layer}{more}{owner}",
            l.evidence, l.path
        ));
    }
    v
}

pub(crate) fn document(reports: &[Report]) -> Value {
    let first = reports.first();
    let name = first.map(Report::image_name).unwrap_or_default();
    let seed: String = reports
        .iter()
        .map(|r| {
            r.image_digest()
                .map_or_else(|| r.target.clone(), ToString::to_string)
        })
        .collect::<Vec<_>>()
        .join(",");
    let namespace = format!(
        "https://keelhaul.dev/spdx/{}/{}",
        sanitize(&name),
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, seed.as_bytes())
    );
    let created = first
        .and_then(|r| r.image.created.as_deref())
        .and_then(rfc3339_seconds)
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    for r in reports {
        let platform = r
            .platform
            .as_ref()
            .map(|p| sanitize(&p.to_string()))
            .unwrap_or_else(|| "image".to_owned());
        let image_id = format!("SPDXRef-Image-{platform}");
        let mut image = skeleton(&image_id, &r.image_name(), "CONTAINER");
        if let Some(d) = r.image_digest() {
            image["versionInfo"] = json!(d.to_string());
            if d.algorithm() == "sha256" {
                image["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": d.hex()}]);
            }
        }
        packages.push(image);
        relationships.push(json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}));
        if let Some(os) = &r.os {
            let os_id = format!("SPDXRef-OperatingSystem-{platform}");
            let mut v = skeleton(&os_id, &os.family, "OPERATING_SYSTEM");
            if let Some(ver) = &os.version {
                v["versionInfo"] = json!(ver);
            }
            if let Some(p) = &os.pretty_name {
                v["description"] = json!(p);
            }
            packages.push(v);
            relationships.push(json!({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": os_id}));
        }
        for p in &r.packages {
            let id = format!(
                "SPDXRef-Package-{platform}-{}-{}-{}",
                p.ecosystem,
                sanitize(&p.name),
                short_hash(&p.purl)
            );
            packages.push(package(p, &id));
            relationships.push(json!({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
        }
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": namespace,
        "creationInfo": {
            "created": created,
            "creators": [format!("Tool: keelhaul-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ids() {
        assert_eq!(
            rfc3339_seconds("2025-01-01T00:00:00.123456789+02:00").as_deref(),
            Some("2024-12-31T22:00:00Z")
        );
        assert_eq!(rfc3339_seconds("yesterday"), None);
        assert_eq!(sanitize("linux/arm64/v8"), "linux-arm64-v8");
    }
}
