//! CVE JSON 5 records (`"dataType": "CVE_RECORD"`), such as the ones the Go CNA publishes
//! in golang/vulndb's `data/cve/v5/`: enrichment only (CVSS vectors, CWEs, publication
//! date, summary). The CNA container and any ADP containers are read; rejected records are
//! skipped and counted.

use serde_json::Value;

use super::clip;
use super::nvd::items;
use crate::model::{CvssVector, Enrichment, Parsed};

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    if !path.to_ascii_lowercase().ends_with(".json") {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("\"dataType\":\"CVE_RECORD\"")
}

/// `CWE-79` from a `cweId`, or from a description that starts `CWE-79: …` / `CWE 79 …`.
fn cwe_of(d: &Value) -> Option<String> {
    if let Some(id) = d.get("cweId").and_then(Value::as_str) {
        return Some(id.trim().to_owned()).filter(|s| s.starts_with("CWE-"));
    }
    let text = d.get("description").and_then(Value::as_str)?.trim();
    let rest = text.strip_prefix("CWE")?.trim_start_matches(['-', ' ']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("CWE-{digits}"))
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let doc: Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if doc.get("dataType").and_then(Value::as_str) != Some("CVE_RECORD") {
        return Err("not a CVE_RECORD".to_owned());
    }
    let meta = doc.get("cveMetadata").ok_or("no cveMetadata")?;
    let id = meta
        .get("cveId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| s.starts_with("CVE-"))
        .ok_or("no cveMetadata.cveId")?;
    let mut parsed = Parsed::default();
    if meta.get("state").and_then(Value::as_str) == Some("REJECTED") {
        tracing::debug!(path, id, "skipping rejected CVE record");
        parsed.skipped = 1;
        return Ok(parsed);
    }
    let containers = doc.get("containers").ok_or("no containers")?;
    let cna = containers.get("cna").ok_or("no containers.cna")?;
    let mut all = vec![cna];
    all.extend(items(containers, "adp"));

    let mut e = Enrichment {
        cve: id.to_owned(),
        ..Enrichment::default()
    };
    for container in &all {
        for metric in items(container, "metrics") {
            for key in ["cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0"] {
                if let Some(v) = metric
                    .pointer(&format!("/{key}/vectorString"))
                    .and_then(Value::as_str)
                    && !e.cvss.iter().any(|c| c.vector == v)
                {
                    e.cvss.push(CvssVector {
                        vector: v.trim().to_owned(),
                    });
                }
            }
        }
        for pt in items(container, "problemTypes") {
            for d in items(pt, "descriptions") {
                if let Some(cwe) = cwe_of(d)
                    && !e.cwes.contains(&cwe)
                {
                    e.cwes.push(cwe);
                }
            }
        }
    }
    e.published = meta
        .get("datePublished")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(list) = cna.get("descriptions").and_then(Value::as_array) {
        let pick = list
            .iter()
            .find(|d| {
                d.get("lang")
                    .and_then(Value::as_str)
                    .is_some_and(|l| l.starts_with("en"))
            })
            .or_else(|| list.first());
        e.summary = pick
            .and_then(|d| d.get("value").and_then(Value::as_str))
            .map(|s| clip(s, 512))
            .filter(|s| !s.is_empty());
    }
    parsed.enrichments.push(e);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{
 "dataType": "CVE_RECORD", "dataVersion": "5.0",
 "cveMetadata": {"cveId": "CVE-2020-36567", "state": "PUBLISHED", "datePublished": "2022-08-10T00:00:00Z"},
 "containers": {
  "cna": {
   "descriptions": [{"lang": "en", "value": "Unsanitized input in the default logger."}],
   "metrics": [{"cvssV3_1": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N"}}],
   "problemTypes": [{"descriptions": [{"lang": "en", "description": "CWE-117 Improper Output Neutralization"},
                                       {"lang": "en", "description": "CWE 400: Uncontrolled Resource Consumption"}]}]
  },
  "adp": [{"problemTypes": [{"descriptions": [{"type": "CWE", "cweId": "CWE-20", "description": "x"}]}],
           "metrics": [{"cvssV4_0": {"vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N"}}]}]
 }
}"#;

    #[test]
    fn reads_a_record() {
        let path = "/x/go.tar!/vulndb/data/cve/v5/GO-2020-0001.json";
        assert!(detect(path, RECORD.as_bytes()));
        let p = parse(path, RECORD.as_bytes()).expect("parses");
        let e = &p.enrichments[0];
        assert_eq!(e.cve, "CVE-2020-36567");
        assert_eq!(e.cvss.len(), 2);
        assert_eq!(e.cwes, ["CWE-117", "CWE-400", "CWE-20"]);
        assert_eq!(e.published.as_deref(), Some("2022-08-10T00:00:00Z"));
        assert_eq!(
            e.summary.as_deref(),
            Some("Unsanitized input in the default logger.")
        );
        assert_eq!(e.kev_added, None);
    }

    #[test]
    fn skips_rejected_and_rejects_broken_files() {
        let rejected = r#"{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2020-1","state":"REJECTED"},"containers":{}}"#;
        let p = parse("a.json", rejected.as_bytes()).expect("parses");
        assert_eq!((p.enrichments.len(), p.skipped), (0, 1));
        assert!(!detect(
            "GO-2020-0001.json",
            br#"{"id":"GO-2020-0001","modified":"x","affected":[]}"#
        ));
        assert!(parse("a.json", b"{").is_err());
        assert!(parse("a.json", br#"{"dataType":"CVE_RECORD","cveMetadata":{}}"#).is_err());
    }
}
