//! Alibaba Cloud Security Center (`Sas`, 2018-12-03): RPC over `POST /` (or `GET /`) with
//! the action in `x-acs-action` and every parameter in the query, signed `ACS3-HMAC-SHA256`.
//!
//! Operations: `DescribeImageInstances`, `DescribeImageCriteria`,
//! `DescribeImageSecurityScanCount`, `PublicPreCheckImageScanTask`,
//! `PublicCreateImageScanTask`, and keelhaul's `DescribeImageScanTask` (a task's progress by
//! `TaskId`, so a script can follow a task through this API alone).

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use keelhaul_server::api::{AppState, RequestId};
use keelhaul_server::images::{NameMatch, Selectors, push_name_match, short_name};
use keelhaul_server::sql::{Arg, Sql};
use keelhaul_server::tasks::{self, TaskError, TaskSource};
use keelhaul_server::tenants::{KeyRecord, Level};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::sign::{self, SignedRequest};
use crate::{
    AuthError, bare_digest, fresh_nonce, full_digest, full_digests, json_response, load_key,
};

/// The API version served.
pub const VERSION: &str = "2018-12-03";

/// An error as the SDK expects it: `{"RequestId","Code","Message"}` with a 4xx/5xx status.
#[derive(Debug)]
struct AliError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AliError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AliError {
        AliError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> AliError {
        AliError::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    fn server(detail: impl std::fmt::Display) -> AliError {
        tracing::error!("cloud API (Alibaba) internal error: {detail}");
        AliError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            "ServerError",
        )
    }

    fn respond(self, request_id: &str) -> Response {
        json_response(
            self.status,
            json!({"RequestId": request_id, "Code": self.code, "Message": self.message}),
        )
    }
}

impl From<sqlx::Error> for AliError {
    fn from(e: sqlx::Error) -> Self {
        AliError::server(e)
    }
}

impl From<keelhaul_server::store::StoreError> for AliError {
    fn from(e: keelhaul_server::store::StoreError) -> Self {
        AliError::server(e)
    }
}

impl From<AuthError> for AliError {
    fn from(e: AuthError) -> Self {
        let bad = StatusCode::BAD_REQUEST;
        match e {
            AuthError::Incomplete(m) => AliError::new(bad, "IncompleteSignature", m),
            AuthError::UnknownKey => AliError::new(
                StatusCode::NOT_FOUND,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ),
            AuthError::Mismatch => AliError::new(
                bad,
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation.",
            ),
            AuthError::Expired(m) => AliError::new(bad, "InvalidTimeStamp.Expired", m),
            AuthError::Replayed => AliError::new(
                bad,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ),
            AuthError::Store(e) => AliError::server(e),
        }
    }
}

/// The decoded parameters of one call.
struct Params(BTreeMap<String, String>);

impl Params {
    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn int(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, AliError> {
        let Some(text) = self.text(name) else {
            return Ok(default);
        };
        let value: i64 = text
            .parse()
            .map_err(|_| AliError::invalid(format!("{name} must be an integer, not `{text}`")))?;
        if !(min..=max).contains(&value) {
            return Err(AliError::invalid(format!(
                "{name} must be between {min} and {max}"
            )));
        }
        Ok(value)
    }

    /// `True`/`true`/`False`/`false` (the Python SDK capitalises).
    fn flag(&self, name: &str) -> Result<Option<bool>, AliError> {
        match self.text(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(AliError::invalid(format!(
                "{name} must be true or false, not `{other}`"
            ))),
        }
    }

    /// `Name.1`, `Name.2`, … in index order.
    fn array(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&prefix)?.parse().ok()?;
                Some((n, v.trim().to_owned()))
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    }
}

/// Authenticate an RPC call: signature, date window, nonce.
async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<KeyRecord, AliError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AuthError::Incomplete(
                "sign the request with ACS3-HMAC-SHA256 (no Authorization header)".into(),
            )
        })?;
    let auth = sign::parse_acs3(value).map_err(AuthError::from)?;
    let record = load_key(state, &auth.access_key_id).await?;
    let request = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers,
        body,
    };
    sign::verify_acs3(&request, &auth, &record.secret).map_err(AuthError::from)?;
    let date = headers
        .get("x-acs-date")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    sign::check_acs_date(date, time::OffsetDateTime::now_utc()).map_err(AuthError::from)?;
    let nonce = headers
        .get("x-acs-signature-nonce")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if nonce.is_empty() || nonce.len() > 128 {
        return Err(
            AuthError::Incomplete("x-acs-signature-nonce must be 1–128 characters".into()).into(),
        );
    }
    if !fresh_nonce(&state.store, &record.id, nonce).await? {
        return Err(AuthError::Replayed.into());
    }
    Ok(record)
}

fn require(record: &KeyRecord, level: Level) -> Result<(), AliError> {
    if record.levels.contains(&level) {
        Ok(())
    } else {
        Err(AliError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            format!(
                "caller has no permission: this access key lacks the `{}` access level",
                level.as_str()
            ),
        ))
    }
}

/// `POST /` and `GET /`: one RPC call.
pub async fn rpc(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = request_id.0.clone();
    match call(&state, &method, &uri, &headers, &body).await {
        Ok(mut data) => {
            if let Some(object) = data.as_object_mut() {
                object.insert("RequestId".to_owned(), Value::String(id));
            }
            json_response(StatusCode::OK, data)
        }
        Err(e) => e.respond(&id),
    }
}

async fn call(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, AliError> {
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut params: BTreeMap<String, String> = sign::query_pairs(uri.query().unwrap_or_default())
        .into_iter()
        .collect();
    let form = header_text("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        params.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    let action = header_text("x-acs-action")
        .or_else(|| params.get("Action").cloned())
        .ok_or_else(|| {
            AliError::new(
                StatusCode::BAD_REQUEST,
                "MissingAction",
                "name the operation in the x-acs-action header",
            )
        })?;
    let version = header_text("x-acs-version").or_else(|| params.get("Version").cloned());
    if version.as_deref() != Some(VERSION) {
        return Err(AliError::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!("this endpoint serves Sas version {VERSION} (x-acs-version)"),
        ));
    }
    let record = authenticate(state, method, uri, headers, body).await?;
    let params = Params(params);
    let tenant = record.tenant_id.as_str();
    match action.as_str() {
        "DescribeImageInstances" => {
            require(&record, Level::Read)?;
            describe_image_instances(state, tenant, &params).await
        }
        "DescribeImageCriteria" => {
            require(&record, Level::Read)?;
            Ok(describe_image_criteria(&params))
        }
        "DescribeImageSecurityScanCount" => {
            require(&record, Level::Read)?;
            scan_count(state, tenant, &params).await
        }
        "PublicPreCheckImageScanTask" => {
            require(&record, Level::Read)?;
            precheck(state, tenant, &params).await
        }
        "PublicCreateImageScanTask" => {
            require(&record, Level::Write)?;
            create_task(state, tenant, &params).await
        }
        "DescribeImageScanTask" => {
            require(&record, Level::Read)?;
            let id = params.text("TaskId").ok_or_else(|| {
                AliError::new(
                    StatusCode::BAD_REQUEST,
                    "MissingParameter",
                    "TaskId is required",
                )
            })?;
            task_data(state, tenant, id)
                .await
                .map(|data| json!({ "Data": data }))
        }
        other => Err(AliError::new(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            format!("the action `{other}` is not served here"),
        )),
    }
}

/// How a criterion matches.
#[derive(Debug, Clone, Copy)]
enum Match {
    /// The column equals the value.
    Exact(&'static str),
    /// The repository name without its namespace contains the value.
    NameContains,
    /// An integer column equals the value.
    Id(&'static str),
    /// A digest column equals the value, with or without `sha256:`.
    Digest(&'static str),
    /// `YES` / `NO`: whether the count expression is above zero.
    YesNo(&'static str),
}

/// The criteria `Criteria` may name, as `DescribeImageCriteria` lists them.
const CRITERIA: &[(&str, Match)] = &[
    ("instanceId", Match::Exact("instance_id")),
    ("regionId", Match::Exact("region_id")),
    ("registryType", Match::Exact("registry_kind")),
    ("repoId", Match::Id("repository_id")),
    ("repoName", Match::NameContains),
    ("repoNamespace", Match::Exact("namespace")),
    ("tag", Match::Exact("tag")),
    ("digest", Match::Digest("digest")),
    ("imageId", Match::Digest("image_id")),
    ("uuid", Match::Exact("host_uuid")),
    ("scaStatus", Match::Exact("scan_status")),
    ("vulStatus", Match::YesNo("cve + sca")),
    ("riskStatus", Match::YesNo("unhandled")),
    ("alarmStatus", Match::YesNo("malicious")),
    ("hcStatus", Match::YesNo("baseline + secret")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Criterion {
    name: String,
    value: Value,
    #[serde(rename = "logicalExp", default)]
    #[allow(dead_code)] // how values combine: one value per criterion here
    logical_exp: Option<String>,
}

fn describe_image_criteria(params: &Params) -> Value {
    let prefix = params
        .text("Value")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let list: Vec<Value> = CRITERIA
        .iter()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with(&prefix))
        .map(|(name, how)| {
            let (kind, values) = match how {
                Match::YesNo(_) => ("select", "YES,NO".to_owned()),
                Match::Exact("registry_kind") => {
                    ("select", keelhaul_server::images::REGISTRY_KINDS.join(","))
                }
                Match::Exact("scan_status") => {
                    ("select", keelhaul_server::images::SCAN_STATES.join(","))
                }
                _ => ("input", String::new()),
            };
            json!({"Name": name, "Type": kind, "Values": values})
        })
        .collect();
    json!({ "CriteriaList": list })
}

/// Append the criteria (`Criteria` JSON, combined by `LogicalExp`) to a query over images.
fn push_criteria(sql: &mut Sql, tenant: &str, params: &Params) -> Result<(), AliError> {
    let Some(text) = params.text("Criteria") else {
        return Ok(());
    };
    let criteria: Vec<Criterion> = serde_json::from_str(text).map_err(|e| {
        AliError::invalid(format!(
            "Criteria must be a JSON array of {{\"name\", \"value\", \"logicalExp\"}}: {e}"
        ))
    })?;
    if criteria.len() > 50 {
        return Err(AliError::invalid("Criteria holds at most 50 conditions"));
    }
    let joiner = match params
        .text("LogicalExp")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("AND") => " AND ",
        Some("OR") => " OR ",
        Some(other) => {
            return Err(AliError::invalid(format!(
                "LogicalExp must be AND or OR, not `{other}`"
            )));
        }
    };
    if criteria.is_empty() {
        return Ok(());
    }
    sql.push(" AND (");
    for (i, criterion) in criteria.iter().enumerate() {
        if i > 0 {
            sql.push(joiner);
        }
        let how = CRITERIA
            .iter()
            .find(|(name, _)| *name == criterion.name)
            .map(|(_, how)| *how)
            .ok_or_else(|| {
                AliError::invalid(format!(
                    "unknown criteria name `{}`: use {} (DescribeImageCriteria lists them)",
                    criterion.name,
                    CRITERIA
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let value = match &criterion.value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(AliError::invalid(format!(
                    "the value of criteria `{}` must be a string",
                    criterion.name
                )));
            }
        };
        match how {
            Match::Exact(column) => {
                let value = if column == "registry_kind" {
                    registry_kind_in(&value)
                } else {
                    value
                };
                sql.push(&format!("{column} = "));
                sql.bind(Arg::Text(value));
            }
            Match::NameContains => {
                push_name_match(sql, "id", tenant, NameMatch::ShortContains(&value));
            }
            Match::Id(column) => {
                let id: i64 = value.parse().map_err(|_| {
                    AliError::invalid(format!("`{value}` is not a {} id", criterion.name))
                })?;
                sql.push(&format!("{column} = "));
                sql.bind(Arg::Int(id));
            }
            Match::Digest(column) => {
                sql.push(&format!("{column} = "));
                sql.bind(Arg::Text(full_digest(&value)));
            }
            Match::YesNo(expr) => match value.to_ascii_uppercase().as_str() {
                "YES" => {
                    sql.push(&format!("({expr}) > 0"));
                }
                "NO" => {
                    sql.push(&format!("({expr}) = 0"));
                }
                _ => {
                    return Err(AliError::invalid(format!(
                        "the value of `{}` must be YES or NO",
                        criterion.name
                    )));
                }
            },
        };
    }
    sql.push(")");
    Ok(())
}

/// Alibaba's registry type names → keelhaul's.
fn registry_kind_in(value: &str) -> String {
    match value.trim() {
        "CI/CD" | "ci/cd" => "cicd".to_owned(),
        v => v.to_ascii_lowercase(),
    }
}

fn registry_kind_out(kind: Option<&str>) -> &str {
    match kind {
        Some("cicd") => "CI/CD",
        Some(k) => k,
        None => "local",
    }
}

fn yes_no(count: i64) -> &'static str {
    if count > 0 { "YES" } else { "NO" }
}

const INSTANCE_COLUMNS: &str = "id, registry_kind, region_id, instance_id, repository_id, \
    host_uuid, namespace, repository, tag, digest, image_id, size, created_at, updated_at, \
    deployed, scan_status, progress, result_code, last_scan_at, cve, sca, malicious, baseline, \
    secret, unhandled";

fn image_instance(row: &sqlx::any::AnyRow) -> Result<Value, sqlx::Error> {
    let namespace: String = row.try_get("namespace")?;
    let repository: String = row.try_get("repository")?;
    let short = short_name(&namespace, &repository).to_owned();
    let updated: i64 = row.try_get("updated_at")?;
    let created: Option<i64> = row.try_get("created_at")?;
    let (cve, sca): (i64, i64) = (row.try_get("cve")?, row.try_get("sca")?);
    let malicious: i64 = row.try_get("malicious")?;
    let hc: i64 = row.try_get::<i64, _>("baseline")? + row.try_get::<i64, _>("secret")?;
    let unhandled: i64 = row.try_get("unhandled")?;
    let result_code: Option<String> = row.try_get("result_code")?;
    let last_scan: Option<i64> = row.try_get("last_scan_at")?;
    let sca_result = match (result_code.as_deref(), last_scan) {
        (Some("OK"), _) => "SUCCESS".to_owned(),
        (Some(code), _) => code.to_owned(),
        (None, _) => "TASK_NOT_EXISTS".to_owned(),
    };
    Ok(json!({
        "AlarmCount": malicious,
        "AlarmStatus": yes_no(malicious),
        "Deployed": row.try_get::<i64, _>("deployed")?,
        "Digest": bare_digest(&row.try_get::<String, _>("digest")?),
        "Endpoints": "[]",
        "HcCount": hc,
        "HcStatus": yes_no(hc),
        "ImageCreate": created.unwrap_or(updated).to_string(),
        "ImageId": bare_digest(&row.try_get::<Option<String>, _>("image_id")?.unwrap_or_default()),
        "ImageSize": row.try_get::<i64, _>("size")?.to_string(),
        "ImageUpdate": updated.to_string(),
        "InstanceId": row.try_get::<Option<String>, _>("instance_id")?.unwrap_or_default(),
        "LastScanTime": last_scan.unwrap_or(0),
        "RegionId": row.try_get::<Option<String>, _>("region_id")?.unwrap_or_default(),
        "RegistryType": registry_kind_out(row.try_get::<Option<String>, _>("registry_kind")?.as_deref()),
        "RepoId": row.try_get::<Option<i64>, _>("repository_id")?.map(|v| v.to_string()).unwrap_or_default(),
        "RepoName": short,
        "RepoNamespace": if namespace.is_empty() { "N/A".to_owned() } else { namespace },
        "RepoType": "private",
        "RiskStatus": yes_no(unhandled),
        "ScaProgress": row.try_get::<i64, _>("progress")?,
        "ScaResult": sca_result,
        "ScaStatus": row.try_get::<String, _>("scan_status")?,
        "SourceBizTag": "",
        "Status": "NORMAL",
        "Tag": row.try_get::<String, _>("tag")?,
        "Uuid": row.try_get::<Option<String>, _>("host_uuid")?.unwrap_or_default(),
        "VulCount": cve + sca,
        "VulStatus": yes_no(cve + sca),
    }))
}

async fn describe_image_instances(
    state: &AppState,
    tenant: &str,
    params: &Params,
) -> Result<Value, AliError> {
    let page_size = params.int("PageSize", 20, 1, 100)?;
    let current_page = params.int("CurrentPage", 1, 1, 1_000_000)?;
    // Platform images: each is scanned and has findings (a multi-arch tag is its platforms).
    let mut sql = Sql::new(" FROM images WHERE tenant_id = ");
    sql.bind(Arg::Text(tenant.to_owned()));
    sql.push(" AND is_index = 0");
    push_criteria(&mut sql, tenant, params)?;
    match params.flag("Scanned")? {
        Some(true) => {
            sql.push(" AND last_scan_at IS NOT NULL");
        }
        Some(false) => {
            sql.push(" AND last_scan_at IS NULL");
        }
        None => {}
    }
    // A deferred join: the page's ids from the covering index (ordered within the tenant, so
    // the walk never leaves it), then only those rows.
    let page = sql.wrapped(|body| {
        format!(
            "SELECT {INSTANCE_COLUMNS} FROM images WHERE id IN (SELECT id{body} \
             ORDER BY tenant_id, id LIMIT {page_size} OFFSET {}) ORDER BY id",
            (current_page - 1) * page_size
        )
    });
    let rows = page.query().fetch_all(state.store.pool()).await?;
    let items = rows
        .iter()
        .map(image_instance)
        .collect::<Result<Vec<_>, _>>()?;
    let offset = (current_page - 1) * page_size;
    let total = crate::total(&state.store, &sql, offset, items.len(), page_size).await?;
    Ok(json!({
        "PageInfo": {
            "CurrentPage": current_page,
            "PageSize": page_size,
            "TotalCount": total,
            "Count": items.len(),
        },
        "ImageInstanceList": items,
    }))
}

async fn scan_count(state: &AppState, tenant: &str, params: &Params) -> Result<Value, AliError> {
    let mut sql = Sql::new(
        "SELECT f.kind, COUNT(*) FROM findings f JOIN images i ON i.id = f.image_id \
         WHERE f.tenant_id = ",
    );
    sql.bind(Arg::Text(tenant.to_owned()));
    sql.push(" AND i.tenant_id = ");
    sql.bind(Arg::Text(tenant.to_owned()));
    for (param, column) in [
        ("RepoRegionId", "i.region_id"),
        ("RepoInstanceId", "i.instance_id"),
        ("ImageTag", "i.tag"),
    ] {
        if let Some(v) = params.text(param) {
            sql.push(&format!(" AND {column} = "));
            sql.bind(Arg::Text(v.to_owned()));
        }
    }
    if let Some(v) = params.text("RepoId") {
        let id: i64 = v
            .parse()
            .map_err(|_| AliError::invalid(format!("RepoId `{v}` is not a repository id")))?;
        sql.push(" AND i.repository_id = ");
        sql.bind(Arg::Int(id));
    }
    if let Some(v) = params.text("ImageDigest") {
        sql.push(" AND i.digest = ");
        sql.bind(Arg::Text(full_digest(v)));
    }
    if let Some(v) = params.text("ImageUuid") {
        // An image's uuid is its inventory id here, or its image id.
        match v.parse::<i64>() {
            Ok(id) => {
                sql.push(" AND i.id = ");
                sql.bind(Arg::Int(id));
            }
            Err(_) => {
                sql.push(" AND i.image_id = ");
                sql.bind(Arg::Text(full_digest(v)));
            }
        }
    }
    let hosts = params.array("Uuids");
    if !hosts.is_empty() {
        sql.push(" AND i.host_uuid");
        sql.bind_texts(&hosts);
    }
    // Clusters are not modelled: no image belongs to one.
    if params.text("ClusterId").is_some() {
        sql.push(" AND 1 = 0");
    }
    let ranges = params.array("ScanRange");
    if let Some(bad) = ranges
        .iter()
        .find(|r| !["image", "container"].contains(&r.as_str()))
    {
        return Err(AliError::invalid(format!(
            "ScanRange values are image and container, not `{bad}`"
        )));
    }
    if !ranges.is_empty() && !ranges.iter().any(|r| r == "image") {
        // Containers only: the images that run.
        sql.push(" AND i.deployed = 1");
    }
    match params.text("Dealed") {
        None | Some("A") => {}
        Some("Y") => {
            sql.push(" AND f.handled = 1");
        }
        Some("N") => {
            sql.push(" AND f.handled = 0");
        }
        Some(other) => {
            return Err(AliError::invalid(format!(
                "Dealed must be Y, N or A, not `{other}`"
            )));
        }
    }
    sql.push(" GROUP BY f.kind");
    let rows = sql.query().fetch_all(state.store.pool()).await?;
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        counts.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    Ok(json!({
        "Data": {
            "ImageBaselineCount": get("baseline") + get("secret"),
            "ImageMaliciousFileCount": get("malicious"),
            "ImageScaVulCount": get("sca"),
            "ImageCveVulCount": get("cve"),
        }
    }))
}

fn selectors(params: &Params) -> Selectors {
    let own = |name: &str| params.text(name).map(str::to_owned);
    if let Some(ip) = params.text("SourceIp") {
        tracing::debug!(source_ip = ip, "scan task requested");
    }
    Selectors {
        digests: params.text("Digests").map(full_digests),
        instance_ids: own("InstanceIds"),
        region_ids: own("RegionIds"),
        registry_types: params.text("RegistryTypes").map(|list| {
            list.split(',')
                .map(registry_kind_in)
                .collect::<Vec<_>>()
                .join(",")
        }),
        repo_ids: own("RepoIds"),
        short_names: own("RepoNames"),
        namespaces: own("RepoNamespaces"),
        tags: own("Tags"),
        ..Selectors::default()
    }
}

fn task_error(e: TaskError) -> AliError {
    match e {
        TaskError::BeyondQuota { needed, left } => AliError::new(
            StatusCode::BAD_REQUEST,
            "BeyondQuata",
            format!(
                "Please check the scan quota: the task needs {needed} image scans, {left} are left"
            ),
        ),
        TaskError::TooMany { running } => AliError::new(
            StatusCode::BAD_REQUEST,
            "TaskLimitExceeded",
            format!(
                "{running} tasks are running, the most allowed at once; wait for one to finish"
            ),
        ),
        TaskError::Invalid(api) => AliError::invalid(match api.field {
            Some(field) => format!("{field}: {}", api.message),
            None => api.message,
        }),
        TaskError::Store(e) => AliError::server(e),
    }
}

async fn precheck(state: &AppState, tenant: &str, params: &Params) -> Result<Value, AliError> {
    let check = tasks::precheck(
        &state.store,
        tenant,
        &selectors(params),
        false,
        TaskSource::Manual,
    )
    .await
    .map_err(task_error)?;
    Ok(json!({
        "Data": {
            "NeedAuthCount": check.to_scan,
            "ScanImageCount": check.to_scan,
        }
    }))
}

async fn create_task(state: &AppState, tenant: &str, params: &Params) -> Result<Value, AliError> {
    let task = tasks::create(
        &state.store,
        tenant,
        &selectors(params),
        false,
        TaskSource::Manual,
    )
    .await
    .map_err(task_error)?;
    let data = task_data(state, tenant, &task.id).await?;
    Ok(json!({ "Data": data }))
}

/// A task in the shape of `PublicCreateImageScanTask`'s `Data`.
async fn task_data(state: &AppState, tenant: &str, id: &str) -> Result<Value, AliError> {
    let row: Option<(i64, i64, i64, Option<i64>, String, i64)> = sqlx::query_as(
        "SELECT total, finished, created_at, started_at, status, progress FROM tasks \
         WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(tenant)
    .fetch_optional(state.store.pool())
    .await?;
    let Some((total, finished, created, started, status, progress)) = row else {
        return Err(AliError::new(
            StatusCode::NOT_FOUND,
            "InvalidTaskId.NotFound",
            format!("no scan task `{id}`"),
        ));
    };
    let (running, max_running): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM tasks WHERE tenant_id = $1 \
         AND status IN ('INIT', 'PRE_ANALYZER')), max_running_tasks FROM tenants WHERE id = $1",
    )
    .bind(tenant)
    .fetch_one(state.store.pool())
    .await?;
    let (status, result) = match status.as_str() {
        "CANCELLED" => ("FAIL", "CANCELLED"),
        "FAIL" => ("FAIL", "FAIL"),
        "SUCCESS" => ("SUCCESS", "SUCCESS"),
        "PRE_ANALYZER" => ("PRE_ANALYZER", "SUCCESS"),
        _ => ("INIT", "SUCCESS"),
    };
    Ok(json!({
        "TaskId": id,
        "TotalCount": total,
        "FinishCount": finished,
        "CollectTime": created,
        "ExecTime": started.unwrap_or(created),
        "Status": status,
        "Progress": progress,
        "Result": result,
        "CanCreate": running < max_running,
    }))
}
