//! CISA's Known Exploited Vulnerabilities catalog (`known_exploited_vulnerabilities.json`):
//! enrichment with the date each CVE was added (`kev_added`), nothing else. The catalog's
//! JSON schema file (`"catalogVersion": {"description": …}`) is not catalog data and is
//! not claimed.

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Enrichment, Parsed};

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    if !path.to_ascii_lowercase().ends_with(".json") {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // In the catalog `catalogVersion` holds a string; in the schema, an object.
    compact.contains("\"catalogVersion\":\"")
        && compact.contains("\"vulnerabilities\"")
        && !compact.contains("\"$schema\"")
}

#[derive(Deserialize)]
struct Catalog {
    vulnerabilities: Vec<Value>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "cveID")]
    cve: String,
    #[serde(rename = "dateAdded")]
    date_added: String,
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let catalog: Catalog = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let mut parsed = Parsed::default();
    for (n, v) in catalog.vulnerabilities.into_iter().enumerate() {
        match serde_json::from_value::<Entry>(v) {
            Ok(e) if e.cve.trim().starts_with("CVE-") && !e.date_added.trim().is_empty() => {
                parsed.enrichments.push(Enrichment {
                    cve: e.cve.trim().to_owned(),
                    kev_added: Some(e.date_added.trim().to_owned()),
                    ..Enrichment::default()
                });
            }
            other => {
                let reason = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => "no CVE id or date".to_owned(),
                };
                tracing::warn!(path, entry = n, reason, "KEV entry skipped");
                parsed.skipped += 1;
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"{
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2025.08.25",
    "count": 3,
    "vulnerabilities": [
        {"cveID": "CVE-2025-48384", "vendorProject": "Git", "dateAdded": "2025-08-25", "shortDescription": "not used"},
        {"cveID": "CVE-2025-1"},
        {"cveID": "", "dateAdded": "2025-01-01"}
    ]
}"#;

    #[test]
    fn reads_the_catalog() {
        let path = "/x/kev.tar!/kev-data/known_exploited_vulnerabilities.json";
        assert!(detect(path, CATALOG.as_bytes()));
        let p = parse(path, CATALOG.as_bytes()).expect("parses");
        assert_eq!((p.enrichments.len(), p.skipped), (1, 2));
        let e = &p.enrichments[0];
        assert_eq!(e.cve, "CVE-2025-48384");
        assert_eq!(e.kev_added.as_deref(), Some("2025-08-25"));
        assert_eq!(e.summary, None);
    }

    #[test]
    fn ignores_the_schema_and_rejects_broken_files() {
        let schema = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"catalogVersion": {"type": "string"}, "vulnerabilities": {"type": "array"}}}"#;
        assert!(!detect(
            "known_exploited_vulnerabilities_schema.json",
            schema.as_bytes()
        ));
        assert!(parse("a.json", b"{\"catalogVersion\": \"1\"").is_err());
        assert!(parse("a.json", b"{\"catalogVersion\": \"1\"}").is_err());
    }
}
