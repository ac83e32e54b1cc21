//! Findings of an image: stored by a stable identity so that a rescan or a re-match keeps a
//! user's "handled" decision, and only what appeared or went away counts as a change.

use std::collections::BTreeSet;

use keelhaul_core::{FindingClass, Vulnerability};
use keelhaul_report::Report;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::images::Counts;
use crate::sql::{Arg, Sql};
use crate::store::{Store, StoreError, now_ms, rfc3339};

/// Finding kinds.
pub const KINDS: &[&str] = &["cve", "sca", "malicious", "baseline", "secret"];

/// One finding to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    /// `cve`, `sca`, `malicious`, `baseline` or `secret`.
    pub kind: &'static str,
    /// What makes it the same finding across scans.
    pub identity: String,
    /// The advisory or rule id.
    pub name: String,
    /// Severity name.
    pub severity: String,
    /// Package name.
    pub package: Option<String>,
    /// Installed version.
    pub version: Option<String>,
    /// First fixed version.
    pub fixed_version: Option<String>,
    /// Path in the image.
    pub path: Option<String>,
    /// Layer digest.
    pub layer: Option<String>,
    /// The whole finding, as JSON.
    pub detail: String,
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// The vulnerability findings of a match.
pub fn from_vulnerabilities(vulns: &[Vulnerability]) -> Vec<NewFinding> {
    vulns
        .iter()
        .map(|v| NewFinding {
            kind: if v.class == FindingClass::Os {
                "cve"
            } else {
                "sca"
            },
            identity: format!(
                "{}|{}|{}|{}",
                v.id,
                v.package.purl,
                v.installed_version,
                v.path.as_deref().unwrap_or_default()
            ),
            name: v.id.clone(),
            severity: v.severity.as_str().to_owned(),
            package: Some(v.package.name.clone()),
            version: Some(v.installed_version.clone()),
            fixed_version: v.fixed_versions.first().cloned(),
            path: v.path.clone(),
            layer: v.layer.as_ref().map(|d| d.to_string()),
            detail: json(v),
        })
        .collect()
}

/// Every finding of a scanned image.
pub fn from_report(report: &Report) -> Vec<NewFinding> {
    let mut out = from_vulnerabilities(&report.vulnerabilities);
    out.extend(from_content(
        &report.malware,
        &report.baseline,
        &report.secrets,
    ));
    dedup(out)
}

/// Two findings with one identity (the same advisory reached twice) are one.
pub fn dedup(mut findings: Vec<NewFinding>) -> Vec<NewFinding> {
    let mut seen = BTreeSet::new();
    findings.retain(|f| seen.insert((f.kind, f.identity.clone())));
    findings
}

/// The findings of the content scanners (malware, baseline, secrets).
pub fn from_content(
    malware: &[keelhaul_core::MalwareFinding],
    baseline: &[keelhaul_core::BaselineFinding],
    secrets: &[keelhaul_core::SecretFinding],
) -> Vec<NewFinding> {
    let mut out = Vec::new();
    out.extend(malware.iter().map(|m| NewFinding {
        kind: "malicious",
        identity: format!("{}|{}", m.rule_id, m.path),
        name: m.rule_id.clone(),
        severity: m.severity.as_str().to_owned(),
        package: None,
        version: None,
        fixed_version: None,
        path: Some(m.path.clone()),
        layer: m.layer.as_ref().map(|d| d.to_string()),
        detail: json(m),
    }));
    out.extend(baseline.iter().map(|b| NewFinding {
        kind: "baseline",
        identity: format!("{}|{}", b.id, b.path.as_deref().unwrap_or_default()),
        name: b.id.clone(),
        severity: b.severity.as_str().to_owned(),
        package: None,
        version: None,
        fixed_version: None,
        path: b.path.clone(),
        layer: b.layer.as_ref().map(|d| d.to_string()),
        detail: json(b),
    }));
    out.extend(secrets.iter().map(|s| NewFinding {
        kind: "secret",
        identity: format!("{}|{}|{}", s.rule_id, s.path, s.line.unwrap_or(0)),
        name: s.rule_id.clone(),
        severity: s.severity.as_str().to_owned(),
        package: None,
        version: None,
        fixed_version: None,
        path: Some(s.path.clone()),
        layer: s.layer.as_ref().map(|d| d.to_string()),
        detail: json(s),
    }));
    out
}

/// What a replacement changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingDiff {
    /// Identities that appeared (`kind:identity`).
    pub added: Vec<String>,
    /// Identities that went away.
    pub removed: Vec<String>,
}

impl FindingDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

const BATCH: usize = 100;

/// Replace the findings of `kinds` for an image with `findings`, keeping the handled state
/// of those that stay; returns what changed.
pub async fn replace(
    store: &Store,
    tenant_id: &str,
    image_id: i64,
    kinds: &[&str],
    findings: &[NewFinding],
) -> Result<FindingDiff, StoreError> {
    let stamp = now_ms();
    let mut tx = store.begin_write().await?;
    let mut before_sql = Sql::new("SELECT kind, identity FROM findings WHERE image_id = ");
    before_sql.bind(Arg::Int(image_id)).push(" AND kind");
    before_sql.bind_texts(&kinds.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>());
    let before: BTreeSet<String> = before_sql
        .query()
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok::<_, sqlx::Error>(format!(
                "{}:{}",
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?
            ))
        })
        .collect::<Result<_, _>>()?;
    for chunk in findings.chunks(BATCH) {
        let mut sql = Sql::new(
            "INSERT INTO findings (tenant_id, image_id, kind, identity, name, severity, package, \
             version, fixed_version, path, layer, detail, first_seen, seen_at) VALUES ",
        );
        for (i, f) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(");
            let args = [
                Arg::Text(tenant_id.to_owned()),
                Arg::Int(image_id),
                Arg::Text(f.kind.to_owned()),
                Arg::Text(f.identity.clone()),
                Arg::Text(f.name.clone()),
                Arg::Text(f.severity.clone()),
                crate::images::opt_text(&f.package),
                crate::images::opt_text(&f.version),
                crate::images::opt_text(&f.fixed_version),
                crate::images::opt_text(&f.path),
                crate::images::opt_text(&f.layer),
                Arg::Text(f.detail.clone()),
                Arg::Int(stamp),
                Arg::Int(stamp),
            ];
            for (j, a) in args.into_iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(a);
            }
            sql.push(")");
        }
        sql.push(
            " ON CONFLICT (image_id, kind, identity) DO UPDATE SET severity = excluded.severity, \
             fixed_version = excluded.fixed_version, detail = excluded.detail, \
             layer = excluded.layer, seen_at = excluded.seen_at",
        );
        sql.query().execute(&mut *tx).await?;
    }
    let mut delete = Sql::new("DELETE FROM findings WHERE image_id = ");
    delete.bind(Arg::Int(image_id)).push(" AND seen_at < ");
    delete.bind(Arg::Int(stamp)).push(" AND kind");
    delete.bind_texts(&kinds.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>());
    delete.query().execute(&mut *tx).await?;
    update_counts(&mut tx, image_id).await?;
    tx.commit().await?;
    let after: BTreeSet<String> = findings
        .iter()
        .map(|f| format!("{}:{}", f.kind, f.identity))
        .collect();
    Ok(FindingDiff {
        added: after.difference(&before).cloned().collect(),
        removed: before.difference(&after).cloned().collect(),
    })
}

/// Recompute an image's counts from its findings.
pub async fn update_counts(
    conn: &mut sqlx::AnyConnection,
    image_id: i64,
) -> Result<Counts, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, handled, COUNT(*) FROM findings WHERE image_id = $1 GROUP BY kind, handled",
    )
    .bind(image_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = Counts::default();
    for row in rows {
        let kind: String = row.try_get(0)?;
        let handled: i64 = row.try_get(1)?;
        let n: i64 = row.try_get(2)?;
        match kind.as_str() {
            "cve" => counts.cve += n,
            "sca" => counts.sca += n,
            "malicious" => counts.malicious += n,
            "baseline" => counts.baseline += n,
            "secret" => counts.secret += n,
            _ => {}
        }
        if handled == 0 {
            counts.unhandled += n;
        }
    }
    sqlx::query(
        "UPDATE images SET cve = $1, sca = $2, malicious = $3, baseline = $4, secret = $5, \
         unhandled = $6 WHERE id = $7",
    )
    .bind(counts.cve)
    .bind(counts.sca)
    .bind(counts.malicious)
    .bind(counts.baseline)
    .bind(counts.secret)
    .bind(counts.unhandled)
    .bind(image_id)
    .execute(&mut *conn)
    .await?;
    Ok(counts)
}

/// A finding as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingItem {
    /// The finding's id.
    pub id: i64,
    /// The image's id.
    pub image_id: i64,
    /// `cve`, `sca`, `malicious`, `baseline` or `secret`.
    pub kind: String,
    /// The advisory or rule id.
    pub name: String,
    /// Severity.
    pub severity: String,
    /// Package name.
    pub package: Option<String>,
    /// Installed version.
    pub version: Option<String>,
    /// First fixed version.
    pub fixed_version: Option<String>,
    /// Path in the image.
    pub path: Option<String>,
    /// Layer digest.
    pub layer: Option<String>,
    /// First seen (RFC 3339).
    pub first_seen: String,
    /// Whether a user handled ("dealt with") it.
    pub handled: bool,
    /// Who handled it (an access key id).
    pub handled_by: Option<String>,
    /// When (RFC 3339).
    pub handled_at: Option<String>,
    /// Why.
    pub handled_reason: Option<String>,
    /// The whole finding as the scanner reported it.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The columns [`FindingItem::from_row`] reads.
pub const FINDING_COLUMNS: &str = "id, image_id, kind, name, severity, package, version, \
    fixed_version, path, layer, first_seen, handled, handled_by, handled_at, handled_reason, detail";

impl FindingItem {
    /// Read a row selected with [`FINDING_COLUMNS`].
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<FindingItem, sqlx::Error> {
        let detail: String = row.try_get("detail")?;
        Ok(FindingItem {
            id: row.try_get("id")?,
            image_id: row.try_get("image_id")?,
            kind: row.try_get("kind")?,
            name: row.try_get("name")?,
            severity: row.try_get("severity")?,
            package: row.try_get("package")?,
            version: row.try_get("version")?,
            fixed_version: row.try_get("fixed_version")?,
            path: row.try_get("path")?,
            layer: row.try_get("layer")?,
            first_seen: rfc3339(row.try_get("first_seen")?),
            handled: row.try_get::<i64, _>("handled")? != 0,
            handled_by: row.try_get("handled_by")?,
            handled_at: row.try_get::<Option<i64>, _>("handled_at")?.map(rfc3339),
            handled_reason: row.try_get("handled_reason")?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        })
    }
}

/// Set or clear the handled state of a tenant's finding; returns the image id, or `None`
/// when the tenant has no such finding.
pub async fn set_handled(
    store: &Store,
    tenant_id: &str,
    finding_id: i64,
    handled: Option<(&str, Option<&str>)>,
) -> Result<Option<i64>, StoreError> {
    let mut tx = store.pool().begin().await?;
    let image: Option<i64> = match handled {
        Some((by, reason)) => {
            sqlx::query_scalar(
                "UPDATE findings SET handled = 1, handled_by = $1, handled_at = $2, \
                 handled_reason = $3 WHERE id = $4 AND tenant_id = $5 RETURNING image_id",
            )
            .bind(by)
            .bind(now_ms())
            .bind(reason)
            .bind(finding_id)
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "UPDATE findings SET handled = 0, handled_by = NULL, handled_at = NULL, \
                 handled_reason = NULL WHERE id = $1 AND tenant_id = $2 RETURNING image_id",
            )
            .bind(finding_id)
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    if let Some(image_id) = image {
        update_counts(&mut tx, image_id).await?;
    }
    tx.commit().await?;
    Ok(image)
}
