//! NVD CVE records, for enrichment only (CVSS vectors, CWEs, publication date, summary):
//!
//! * JSON 1.1 feeds (`nvdcve-1.1-*.json`: `{"CVE_data_type": "CVE", "CVE_Items": […]}`);
//! * JSON 1.1 items one per line (`*.jsonl`, each line one `CVE_Items` element);
//! * API 2.0 pages (`{"format": "NVD_CVE", "vulnerabilities": [{"cve": {…}}]}`);
//! * the CSV table `cve_id,published,last_modified,cvss3_version,cvss3_vector,…,cwe_ids`.
//!
//! CVSS v3/v4 vectors carry their `CVSS:3.x/` prefix; v2 vectors are bare (`AV:N/AC:L/…`)
//! and are stored as given. `NVD-CWE-Other` and `NVD-CWE-noinfo` are not CWEs and are
//! dropped. A record that cannot be read is skipped and counted; the file goes on.

use serde::Deserialize;
use serde_json::Value;

use super::clip;
use crate::model::{CvssVector, Enrichment, Parsed};

/// Summaries are one line in reports: keep them short.
const SUMMARY_MAX: usize = 512;

const CSV_HEADER: &str = "cve_id,published,";

pub(super) fn detect(path: &str, head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with(CSV_HEADER) {
        return true;
    }
    if !trimmed.starts_with('{') {
        return false;
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let feed = compact.contains("\"CVE_data_type\"") && compact.contains("\"CVE_Items\"")
        || compact.contains("\"CVE_Items\":[");
    let api2 =
        compact.contains("\"format\":\"NVD_CVE\"") && compact.contains("\"vulnerabilities\"");
    let first_line = text.lines().next().unwrap_or("");
    let line: String = first_line.chars().filter(|c| !c.is_whitespace()).collect();
    let jsonl =
        path.to_ascii_lowercase().ends_with(".jsonl") && line.contains("\"cve\":{\"data_type\"");
    feed || api2 || jsonl
}

pub(super) fn parse(path: &str, data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut parsed = Parsed::default();
    if text.trim_start().starts_with(CSV_HEADER) {
        parse_csv(path, text, &mut parsed)?;
        return Ok(parsed);
    }
    if path.to_ascii_lowercase().ends_with(".jsonl") {
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let item = serde_json::from_str::<Value>(line).map_err(|e| e.to_string());
            push(path, n + 1, item.and_then(|v| item_v1(&v)), &mut parsed);
        }
        if parsed.enrichments.is_empty() && parsed.skipped > 0 {
            return Err("no line could be read".to_owned());
        }
        return Ok(parsed);
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let Some(items) = doc.get("CVE_Items").and_then(Value::as_array) {
        for (n, item) in items.iter().enumerate() {
            push(path, n, item_v1(item), &mut parsed);
        }
    } else if let Some(vulns) = doc.get("vulnerabilities").and_then(Value::as_array) {
        for (n, v) in vulns.iter().enumerate() {
            let cve = v.get("cve").ok_or_else(|| "no cve".to_owned());
            push(path, n, cve.and_then(item_v2), &mut parsed);
        }
    } else {
        return Err("neither CVE_Items nor vulnerabilities".to_owned());
    }
    Ok(parsed)
}

fn push(path: &str, n: usize, item: Result<Enrichment, String>, parsed: &mut Parsed) {
    match item {
        Ok(e) => parsed.enrichments.push(e),
        Err(reason) => {
            tracing::warn!(path, record = n, reason, "NVD record skipped");
            parsed.skipped += 1;
        }
    }
}

/// The elements of the array under `key` (none when it is absent or not an array).
pub(super) fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// The `value` strings of `v[outer][][inner][]`: how NVD nests CWE ids (1.1's
/// `problemtype_data[].description[]`, 2.0's `weaknesses[].description[]`).
fn nested_values<'a>(v: &'a Value, outer: &str, inner: &'a str) -> impl Iterator<Item = &'a str> {
    items(v, outer)
        .flat_map(move |o| items(o, inner))
        .filter_map(|d| d.get("value").and_then(Value::as_str))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn valid_cve(id: &str) -> Result<String, String> {
    if id.starts_with("CVE-") && id.len() > 8 {
        Ok(id.to_owned())
    } else {
        Err(format!("not a CVE id: {id:?}"))
    }
}

/// `CWE-79` kept; NVD's placeholders dropped; duplicates dropped.
fn add_cwe(cwes: &mut Vec<String>, value: &str) {
    let value = value.trim();
    if value.starts_with("CWE-") && !cwes.iter().any(|c| c == value) {
        cwes.push(value.to_owned());
    }
}

fn add_vector(cvss: &mut Vec<CvssVector>, vector: Option<&str>) {
    if let Some(vector) = vector
        && !cvss.iter().any(|c| c.vector == vector)
    {
        cvss.push(CvssVector {
            vector: vector.to_owned(),
        });
    }
}

fn english(list: Option<&Value>) -> Option<String> {
    let list = list?.as_array()?;
    let pick = list
        .iter()
        .find(|d| {
            d.get("lang")
                .and_then(Value::as_str)
                .is_some_and(|l| l.starts_with("en"))
        })
        .or_else(|| list.first())?;
    let text = pick.get("value").and_then(Value::as_str)?;
    Some(clip(text, SUMMARY_MAX)).filter(|s| !s.is_empty())
}

/// One JSON 1.1 `CVE_Items` element.
fn item_v1(item: &Value) -> Result<Enrichment, String> {
    let id = str_at(item, "/cve/CVE_data_meta/ID").ok_or("no CVE_data_meta.ID")?;
    let mut e = Enrichment {
        cve: valid_cve(id)?,
        ..Enrichment::default()
    };
    add_vector(
        &mut e.cvss,
        str_at(item, "/impact/baseMetricV3/cvssV3/vectorString"),
    );
    add_vector(
        &mut e.cvss,
        str_at(item, "/impact/baseMetricV2/cvssV2/vectorString"),
    );
    if let Some(problemtype) = item.pointer("/cve/problemtype") {
        for v in nested_values(problemtype, "problemtype_data", "description") {
            add_cwe(&mut e.cwes, v);
        }
    }
    e.published = str_at(item, "/publishedDate").map(str::to_owned);
    e.summary = english(item.pointer("/cve/description/description_data"));
    Ok(e)
}

#[derive(Deserialize)]
struct Metric {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(rename = "cvssData")]
    data: MetricData,
}

#[derive(Deserialize)]
struct MetricData {
    #[serde(rename = "vectorString")]
    vector: String,
}

/// One API 2.0 `vulnerabilities[].cve` object. Per CVSS version, NVD's own (`Primary`)
/// vector is taken, else the first one listed.
fn item_v2(cve: &Value) -> Result<Enrichment, String> {
    let id = str_at(cve, "/id").ok_or("no id")?;
    let mut e = Enrichment {
        cve: valid_cve(id)?,
        ..Enrichment::default()
    };
    for key in [
        "cvssMetricV40",
        "cvssMetricV31",
        "cvssMetricV30",
        "cvssMetricV2",
    ] {
        let Some(list) = cve.pointer(&format!("/metrics/{key}")) else {
            continue;
        };
        let metrics: Vec<Metric> =
            serde_json::from_value(list.clone()).map_err(|e| format!("{key}: {e}"))?;
        let chosen = metrics
            .iter()
            .find(|m| m.kind.as_deref() == Some("Primary"))
            .or_else(|| metrics.first());
        add_vector(&mut e.cvss, chosen.map(|m| m.data.vector.trim()));
    }
    for v in nested_values(cve, "weaknesses", "description") {
        add_cwe(&mut e.cwes, v);
    }
    e.published = str_at(cve, "/published").map(str::to_owned);
    e.summary = english(cve.get("descriptions"));
    Ok(e)
}

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            _ => field.push(ch),
        }
    }
    out.push(field);
    out
}

fn parse_csv(path: &str, text: &str, parsed: &mut Parsed) -> Result<(), String> {
    let mut lines = text.lines();
    let header = csv_fields(lines.next().ok_or("empty")?);
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let id_col = col("cve_id").ok_or("no cve_id column")?;
    let (published, v3, v2, cwes) = (
        col("published"),
        col("cvss3_vector"),
        col("cvss2_vector"),
        col("cwe_ids"),
    );
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = csv_fields(line);
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let row = (|| {
            if fields.len() != header.len() {
                return Err(format!(
                    "{} fields, expected {}",
                    fields.len(),
                    header.len()
                ));
            }
            let mut e = Enrichment {
                cve: valid_cve(get(Some(id_col)).unwrap_or(""))?,
                ..Enrichment::default()
            };
            add_vector(&mut e.cvss, get(v3));
            add_vector(&mut e.cvss, get(v2));
            for cwe in get(cwes).unwrap_or("").split(';') {
                add_cwe(&mut e.cwes, cwe);
            }
            e.published = get(published).map(str::to_owned);
            Ok(e)
        })();
        push(path, n + 2, row, parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"{"CVE_data_type":"CVE","CVE_data_format":"MITRE","CVE_Items":[
 {"cve":{"data_type":"CVE","CVE_data_meta":{"ID":"CVE-2017-5638"},
   "problemtype":{"problemtype_data":[{"description":[{"lang":"en","value":"CWE-20"},{"lang":"en","value":"NVD-CWE-Other"}]}]},
   "description":{"description_data":[{"lang":"en","value":"The Jakarta Multipart parser mishandles headers."}]}},
  "impact":{"baseMetricV3":{"cvssV3":{"vectorString":"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
            "baseMetricV2":{"cvssV2":{"vectorString":"AV:N/AC:L/Au:N/C:C/I:C/A:C"}}},
  "publishedDate":"2017-03-11T02:59Z"},
 {"cve":{"CVE_data_meta":{}}}
]}"#;

    #[test]
    fn reads_a_1_1_feed() {
        assert!(detect("/d/nvdcve-1.1-2017.json", FEED.as_bytes()));
        let p = parse("/d/nvdcve-1.1-2017.json", FEED.as_bytes()).expect("parses");
        assert_eq!((p.enrichments.len(), p.skipped), (1, 1));
        let e = &p.enrichments[0];
        assert_eq!(e.cve, "CVE-2017-5638");
        let vectors: Vec<&str> = e.cvss.iter().map(|c| c.vector.as_str()).collect();
        assert_eq!(
            vectors,
            [
                "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "AV:N/AC:L/Au:N/C:C/I:C/A:C"
            ]
        );
        assert_eq!(e.cwes, ["CWE-20"]);
        assert_eq!(e.published.as_deref(), Some("2017-03-11T02:59Z"));
        assert_eq!(
            e.summary.as_deref(),
            Some("The Jakarta Multipart parser mishandles headers.")
        );
        assert!(p.advisories.is_empty());
    }

    #[test]
    fn reads_jsonl_items() {
        let text = "{\"cve\":{\"data_type\":\"CVE\",\"CVE_data_meta\":{\"ID\":\"CVE-2002-0001\"}}}\n{broken\n";
        assert!(detect("/d/items.jsonl", text.as_bytes()));
        assert!(!detect("/d/items.json", text.as_bytes()));
        let p = parse("/d/items.jsonl", text.as_bytes()).expect("parses");
        assert_eq!((p.enrichments.len(), p.skipped), (1, 1));
        assert!(parse("/d/items.jsonl", b"{broken\n").is_err());
    }

    #[test]
    fn reads_an_api_2_0_page() {
        let text = include_str!("../../tests/fixtures/native/nvd-api-2.0-page.json");
        assert!(detect("/d/page-0.json", text.as_bytes()));
        let p = parse("/d/page-0.json", text.as_bytes()).expect("parses");
        assert_eq!((p.enrichments.len(), p.skipped), (1, 1));
        let e = &p.enrichments[0];
        assert_eq!(e.cve, "CVE-2021-44228");
        let vectors: Vec<&str> = e.cvss.iter().map(|c| c.vector.as_str()).collect();
        assert_eq!(
            vectors,
            [
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                "AV:N/AC:M/Au:N/C:C/I:C/A:C"
            ]
        );
        assert_eq!(e.cwes, ["CWE-917", "CWE-502"]);
        assert_eq!(e.published.as_deref(), Some("2021-12-10T10:15:09.143"));
        assert_eq!(
            e.summary.as_deref(),
            Some(
                "Apache Log4j2 JNDI features do not protect against attacker controlled endpoints."
            )
        );
    }

    #[test]
    fn reads_the_csv_table() {
        let text = "cve_id,published,last_modified,cvss3_version,cvss3_vector,cvss3_base_score,cvss3_severity,cvss2_vector,cvss2_base_score,cvss2_severity,cwe_ids\n\
CVE-2002-0391,2002-08-12T04:00Z,2025-01-16T18:15Z,3.1,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H,9.8,CRITICAL,AV:N/AC:L/Au:N/C:C/I:C/A:C,10.0,HIGH,CWE-190;NVD-CWE-noinfo\n\
CVE-1999-0017,1997-12-10T05:00Z,2024-11-20T23:27Z,,,,,AV:N/AC:L/Au:N/C:P/I:P/A:P,7.5,HIGH,NVD-CWE-Other\n\
not-a-cve,,,,,,,,,,\n\
CVE-2000-1,short\n";
        assert!(detect("/d/t.csv", text.as_bytes()));
        let p = parse("/d/t.csv", text.as_bytes()).expect("parses");
        assert_eq!((p.enrichments.len(), p.skipped), (2, 2));
        assert_eq!(p.enrichments[0].cvss.len(), 2);
        assert_eq!(p.enrichments[0].cwes, ["CWE-190"]);
        assert!(p.enrichments[1].cwes.is_empty());
        assert_eq!(
            p.enrichments[1].published.as_deref(),
            Some("1997-12-10T05:00Z")
        );
    }

    #[test]
    fn rejects_other_files() {
        assert!(!detect("x.json", br#"{"id":"GHSA-1","affected":[]}"#));
        assert!(!detect("x.json", br#"{"dataType":"CVE_RECORD"}"#));
        assert!(parse("x.json", b"{\"CVE_Items\": [").is_err());
        assert!(parse("x.json", b"{\"other\": 1}").is_err());
    }
}
