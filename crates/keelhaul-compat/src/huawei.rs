//! Huawei Cloud HSS v5: `GET /v5/{project_id}/image/swr-repository` (the image list) and
//! `POST /v5/{project_id}/image/local/batch-scan` (scans of local images, run by the hosts'
//! agents), signed `SDK-HMAC-SHA256`. The project id is the key's tenant.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use keelhaul_server::api::AppState;
use keelhaul_server::images::{NameMatch, push_name_match, short_name};
use keelhaul_server::sql::{Arg, Sql};
use keelhaul_server::tasks::{TaskError, TaskSource};
use keelhaul_server::tenants::{KeyRecord, Level};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::sign::{self, SignedRequest};
use crate::{AuthError, bare_digest, full_digest, json_response, load_key};

/// An error as the SDK expects it: `{"error_code","error_msg"}` (the request id rides in
/// the `X-Request-Id` header, which every response carries).
#[derive(Debug)]
struct HssError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl HssError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> HssError {
        HssError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> HssError {
        HssError::new(StatusCode::BAD_REQUEST, "HSS.1001", message)
    }

    fn server(detail: impl std::fmt::Display) -> HssError {
        tracing::error!("cloud API (Huawei) internal error: {detail}");
        HssError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "HSS.1000",
            "the server failed to handle the request; quote the X-Request-Id when reporting it",
        )
    }
}

impl IntoResponse for HssError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            json!({"error_code": self.code, "error_msg": self.message}),
        )
    }
}

impl From<sqlx::Error> for HssError {
    fn from(e: sqlx::Error) -> Self {
        HssError::server(e)
    }
}

impl From<keelhaul_server::store::StoreError> for HssError {
    fn from(e: keelhaul_server::store::StoreError) -> Self {
        HssError::server(e)
    }
}

impl From<AuthError> for HssError {
    fn from(e: AuthError) -> Self {
        let message = match e {
            AuthError::Store(e) => return HssError::server(e),
            AuthError::Incomplete(m) => m,
            AuthError::UnknownKey => "Get secretKey failed, err:ak not exist".to_owned(),
            AuthError::Mismatch => "verify aksk signature fail".to_owned(),
            AuthError::Expired(m) => format!("signature expired: {m}"),
            AuthError::Replayed => "the request was replayed".to_owned(),
        };
        HssError::new(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            format!("Incorrect IAM authentication information: {message}"),
        )
    }
}

/// Authenticate (signature, date window) and check the project and access level.
async fn authenticate(
    state: &AppState,
    project_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    level: Level,
) -> Result<KeyRecord, HssError> {
    let record = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => {
            let auth = sign::parse_sdk_hmac(value).map_err(AuthError::from)?;
            let record = load_key(state, &auth.access_key_id).await?;
            let request = SignedRequest {
                method: method.as_str(),
                path: uri.path(),
                raw_query: uri.query().unwrap_or_default(),
                headers,
                body,
            };
            sign::verify_sdk_hmac(&request, &auth, &record.secret).map_err(AuthError::from)?;
            let date = headers
                .get("x-sdk-date")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            sign::check_sdk_date(date, time::OffsetDateTime::now_utc()).map_err(AuthError::from)?;
            record
        }
        // A token from `POST /api/v1/tokens`, as IAM tokens are sent.
        None => {
            let token = headers
                .get("x-auth-token")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| AuthError::Incomplete("x-auth-token not found".into()))?;
            let key_id = keelhaul_server::tenants::token_key_id(&state.key, token)
                .ok_or_else(|| AuthError::Incomplete("the token is invalid or expired".into()))?;
            load_key(state, &key_id).await?
        }
    };
    let header_project = headers.get("x-project-id").and_then(|v| v.to_str().ok());
    if header_project.is_some_and(|p| p != project_id) {
        return Err(HssError::new(
            StatusCode::BAD_REQUEST,
            "HSS.1001",
            "X-Project-Id differs from the project id in the path",
        ));
    }
    if record.tenant_id != project_id {
        return Err(HssError::new(
            StatusCode::FORBIDDEN,
            "HSS.1003",
            "this access key does not belong to the project in the path",
        ));
    }
    if !record.levels.contains(&level) {
        return Err(HssError::new(
            StatusCode::FORBIDDEN,
            "HSS.1002",
            format!(
                "this access key lacks the `{}` access level",
                level.as_str()
            ),
        ));
    }
    Ok(record)
}

/// Query parameters, typed on demand.
struct Query(BTreeMap<String, String>);

impl Query {
    fn text(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn int(&self, name: &str) -> Result<Option<i64>, HssError> {
        self.text(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| HssError::invalid(format!("{name} must be an integer, not `{v}`")))
            })
            .transpose()
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, HssError> {
        match self.text(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(HssError::invalid(format!(
                "{name} must be true or false, not `{v}`"
            ))),
        }
    }
}

/// HSS scan states → a condition over `images` (aliased `i`).
fn scan_status_condition(status: &str) -> Result<&'static str, HssError> {
    Ok(match status {
        "unscan" => {
            "i.scan_status = 'INIT' AND NOT EXISTS (SELECT 1 FROM jobs j \
             WHERE j.image_id = i.id AND j.state = 'queued')"
        }
        "waiting_for_scan" => {
            "EXISTS (SELECT 1 FROM jobs j WHERE j.image_id = i.id AND j.state = 'queued')"
        }
        "scanning" => {
            "i.scan_status IN ('START', 'DOWNLOAD', 'PRE_ANALYZER', 'CVE_ANALYZER', \
             'BIN_ANALYZER', 'WEB_SHELL_ANALYZER', 'OTHER_ANALYZER')"
        }
        "success" => "i.scan_status = 'SUCCESS'",
        "failed" => "i.scan_status IN ('FAIL', 'TIMEOUT')",
        "download_failed" => "i.scan_status = 'FAIL' AND i.result_code = 'DOWNLOAD_FAILED'",
        "image_oversized" => "1 = 0",
        other => {
            return Err(HssError::invalid(format!(
                "scan_status `{other}` is not one of unscan, success, scanning, failed, \
                 waiting_for_scan, download_failed, image_oversized"
            )));
        }
    })
}

/// keelhaul's per-image state → HSS's.
fn scan_status_out(state: &str, queued: bool) -> &'static str {
    match state {
        "SUCCESS" => "success",
        "FAIL" | "TIMEOUT" => "failed",
        "INIT" if queued => "waiting_for_scan",
        "INIT" => "unscan",
        _ => "scanning",
    }
}

/// Conditions shared by the list and the batch scan: sizes, times, names, tags, states.
fn push_common(sql: &mut Sql, tenant_id: &str, query: &Query) -> Result<(), HssError> {
    for (name, column, op) in [
        ("image_size", "i.size", ">="),
        ("start_latest_update_time", "i.updated_at", ">="),
        ("end_latest_update_time", "i.updated_at", "<="),
        ("start_latest_scan_time", "i.last_scan_at", ">="),
        ("end_latest_scan_time", "i.last_scan_at", "<="),
    ] {
        if let Some(v) = query.int(name)? {
            sql.push(&format!(" AND {column} {op} "));
            sql.bind(Arg::Int(v));
        }
    }
    if let Some(name) = query.text("image_name") {
        sql.push(" AND ");
        push_name_match(sql, "i.id", tenant_id, NameMatch::Equals(name));
    }
    if let Some(tag) = query.text("image_version") {
        sql.push(" AND i.tag = ");
        sql.bind(Arg::Text(tag.to_owned()));
    }
    if let Some(status) = query.text("scan_status") {
        sql.push(&format!(" AND ({})", scan_status_condition(status)?));
    }
    Ok(())
}

/// `GET /v5/{project_id}/image/swr-repository`.
pub async fn list_swr_images(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match list(&state, &project_id, &method, &uri, &headers).await {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

async fn list(
    state: &AppState,
    project_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Value, HssError> {
    let record = authenticate(state, project_id, method, uri, headers, b"", Level::List).await?;
    let query = Query(
        sign::query_pairs(uri.query().unwrap_or_default())
            .into_iter()
            .collect(),
    );
    let known = [
        "enterprise_project_id",
        "namespace",
        "image_name",
        "image_version",
        "latest_version",
        "offset",
        "limit",
        "image_type",
        "scan_status",
        "instance_name",
        "image_size",
        "start_latest_update_time",
        "end_latest_update_time",
        "start_latest_scan_time",
        "end_latest_scan_time",
        "has_malicious_file",
        "has_unsafe_setting",
        "has_vul",
        "instance_id",
    ];
    if let Some(unknown) = query.0.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(HssError::invalid(format!(
            "unknown query parameter `{unknown}`"
        )));
    }
    let limit = query.int("limit")?.unwrap_or(10);
    if !(1..=200).contains(&limit) {
        return Err(HssError::invalid("limit must be between 1 and 200"));
    }
    let offset = query.int("offset")?.unwrap_or(0);
    if !(0..=1_000_000_000).contains(&offset) {
        return Err(HssError::invalid("offset must be 0 or more"));
    }
    let image_type = query.text("image_type").ok_or_else(|| {
        HssError::invalid(
            "image_type is required: private_image, shared_image, local_image or instance_image",
        )
    })?;
    let mut sql = Sql::new(
        " FROM images i LEFT JOIN registries r ON r.id = i.registry_id WHERE i.tenant_id = ",
    );
    sql.bind(Arg::Text(record.tenant_id.clone()));
    // Top-level entries: a multi-arch tag is one row with its platforms as association_images.
    sql.push(" AND i.parent_id IS NULL");
    sql.push(match image_type {
        "private_image" => " AND i.registry_id IS NOT NULL",
        "instance_image" => " AND i.registry_id IS NOT NULL AND COALESCE(i.instance_id, '') <> ''",
        "local_image" => " AND i.host_uuid IS NOT NULL",
        // Images shared by other accounts do not exist here.
        "shared_image" => " AND 1 = 0",
        other => {
            return Err(HssError::invalid(format!(
                "image_type `{other}` is not one of private_image, shared_image, local_image, instance_image"
            )));
        }
    });
    if let Some(ns) = query.text("namespace") {
        sql.push(" AND i.namespace = ");
        sql.bind(Arg::Text(ns.to_owned()));
    }
    if let Some(name) = query.text("instance_name") {
        sql.push(" AND r.name = ");
        sql.bind(Arg::Text(name.to_owned()));
    }
    if let Some(id) = query.text("instance_id") {
        sql.push(" AND i.instance_id = ");
        sql.bind(Arg::Text(id.to_owned()));
    }
    if query.flag("latest_version")? == Some(true) {
        sql.push(" AND i.latest = 1");
    }
    for (name, expr) in [
        ("has_malicious_file", "i.malicious"),
        ("has_unsafe_setting", "(i.baseline + i.secret)"),
        ("has_vul", "(i.cve + i.sca)"),
    ] {
        match query.flag(name)? {
            Some(true) => sql.push(&format!(" AND {expr} > 0")),
            Some(false) => sql.push(&format!(" AND {expr} = 0")),
            None => &mut sql,
        };
    }
    push_common(&mut sql, &record.tenant_id, &query)?;
    // A deferred join, as in the Alibaba list: ids from the covering index, then the rows.
    let page = sql.wrapped(|body| {
        format!(
            "SELECT i.id, i.namespace, i.repository, i.tag, i.digest, i.image_id, i.is_index, \
             i.registry_id, i.host_uuid, i.size, i.updated_at, i.last_scan_at, i.latest, \
             i.scan_status, i.result_code, i.cve, i.sca, i.malicious, i.baseline, i.secret, \
             i.instance_id, r.name, r.url, r.instance_id AS registry_instance, \
             EXISTS (SELECT 1 FROM jobs j WHERE j.image_id = i.id AND j.state = 'queued') AS queued \
             FROM images i LEFT JOIN registries r ON r.id = i.registry_id \
             WHERE i.id IN (SELECT i.id{body} ORDER BY i.tenant_id, i.id LIMIT {limit} OFFSET {offset}) \
             ORDER BY i.id"
        )
    });
    let rows = page.query().fetch_all(state.store.pool()).await?;
    let total = crate::total(&state.store, &sql, offset, rows.len(), limit).await?;
    let parents: Vec<i64> = rows
        .iter()
        .filter(|r| r.try_get::<i64, _>("is_index").unwrap_or(0) != 0)
        .filter_map(|r| r.try_get::<i64, _>("id").ok())
        .collect();
    let children = associations(state, &parents).await?;
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let namespace: String = row.try_get("namespace")?;
        let repository: String = row.try_get("repository")?;
        let local = row.try_get::<Option<String>, _>("host_uuid")?.is_some();
        let kind = if local {
            "local_image"
        } else {
            "private_image"
        };
        let queued = row
            .try_get::<bool, _>("queued")
            .or_else(|_| row.try_get::<i64, _>("queued").map(|v| v != 0))?;
        let mut status = scan_status_out(&row.try_get::<String, _>("scan_status")?, queued);
        let mut counts = [
            row.try_get::<i64, _>("cve")? + row.try_get::<i64, _>("sca")?,
            row.try_get::<i64, _>("baseline")? + row.try_get::<i64, _>("secret")?,
            row.try_get::<i64, _>("malicious")?,
        ];
        let mut last_scan: Option<i64> = row.try_get("last_scan_at")?;
        let mut association = Vec::new();
        if let Some(kids) = children.get(&id) {
            // A multi-arch entry is as scanned as its platforms, and holds their findings.
            status = combined_status(kids.iter().map(|k| k.status));
            counts = [0, 0, 0];
            for kid in kids {
                for (total, n) in counts.iter_mut().zip(kid.counts) {
                    *total += n;
                }
                last_scan = last_scan.max(kid.last_scan);
                association.push(json!({
                    "image_name": short_name(&namespace, &repository).to_owned(),
                    "image_version": row.try_get::<String, _>("tag")?,
                    "image_type": kind,
                    "namespace": namespace,
                    "image_digest": kid.digest,
                    "scan_status": kid.status,
                }));
            }
        }
        let failed = status == "failed";
        let mut item = json!({
            "id": id,
            "namespace": namespace,
            "image_name": short_name(&namespace, &repository).to_owned(),
            "image_id": bare_digest(&row.try_get::<Option<String>, _>("image_id")?.unwrap_or_default()),
            "image_digest": row.try_get::<String, _>("digest")?,
            "image_version": row.try_get::<String, _>("tag")?,
            "image_type": kind,
            "latest_version": row.try_get::<i64, _>("latest")? != 0,
            "scan_status": status,
            "image_size": row.try_get::<i64, _>("size")?,
            "latest_update_time": row.try_get::<i64, _>("updated_at")?,
            "latest_scan_time": last_scan.unwrap_or(0),
            "vul_num": counts[0],
            "unsafe_setting_num": counts[1],
            "malicious_file_num": counts[2],
            "scannable": true,
            "instance_name": if row.try_get::<Option<String>, _>("registry_instance")?.is_some() {
                row.try_get::<Option<String>, _>("name")?.unwrap_or_default()
            } else {
                String::new()
            },
            "instance_id": row.try_get::<Option<String>, _>("instance_id")?.unwrap_or_default(),
            "instance_url": row.try_get::<Option<String>, _>("url")?.unwrap_or_default(),
            "association_images": association,
        });
        if failed && let Some(object) = item.as_object_mut() {
            let desc = match row.try_get::<Option<String>, _>("result_code")?.as_deref() {
                Some("TIMEOUT") => "response_timed_out",
                Some("DOWNLOAD_FAILED") => "download_failed",
                _ => "unknown_error",
            };
            object.insert("scan_failed_desc".to_owned(), Value::from(desc));
        }
        data.push(item);
    }
    Ok(json!({"total_num": total, "data_list": data}))
}

struct Child {
    digest: String,
    status: &'static str,
    counts: [i64; 3],
    last_scan: Option<i64>,
}

async fn associations(
    state: &AppState,
    parents: &[i64],
) -> Result<BTreeMap<i64, Vec<Child>>, HssError> {
    let mut out: BTreeMap<i64, Vec<Child>> = BTreeMap::new();
    if parents.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new(
        "SELECT i.parent_id, i.digest, i.scan_status, i.cve + i.sca, i.baseline + i.secret, \
         i.malicious, i.last_scan_at, \
         EXISTS (SELECT 1 FROM jobs j WHERE j.image_id = i.id AND j.state = 'queued') \
         FROM images i WHERE i.parent_id",
    );
    sql.bind_ints(parents);
    sql.push(" ORDER BY i.id");
    for row in sql.query().fetch_all(state.store.pool()).await? {
        let queued = row
            .try_get::<bool, _>(7)
            .or_else(|_| row.try_get::<i64, _>(7).map(|v| v != 0))?;
        out.entry(row.try_get(0)?).or_default().push(Child {
            digest: row.try_get(1)?,
            status: scan_status_out(&row.try_get::<String, _>(2)?, queued),
            counts: [row.try_get(3)?, row.try_get(4)?, row.try_get(5)?],
            last_scan: row.try_get(6)?,
        });
    }
    Ok(out)
}

fn combined_status<'a>(statuses: impl Iterator<Item = &'a str>) -> &'a str {
    let all: Vec<&str> = statuses.collect();
    for state in ["scanning", "waiting_for_scan", "failed", "unscan"] {
        if all.contains(&state) {
            return state;
        }
    }
    if all.is_empty() { "unscan" } else { "success" }
}

/// One image named in a batch scan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalImageInfo {
    #[serde(default)]
    image_id: Option<String>,
    #[serde(default)]
    image_digest: Option<String>,
    #[serde(default)]
    image_name: Option<String>,
    #[serde(default)]
    image_version: Option<String>,
}

/// `LocalImageBatchScanRequestBody`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchScanBody {
    #[serde(default)]
    operate_all: Option<bool>,
    #[serde(default)]
    image_info_list: Vec<LocalImageInfo>,
    #[serde(default)]
    image_name: Option<String>,
    #[serde(default)]
    image_version: Option<String>,
    #[serde(default)]
    local_image_type: Option<String>,
    #[serde(default)]
    scan_status: Option<String>,
    #[serde(default)]
    image_size: Option<i64>,
    #[serde(default)]
    start_latest_update_time: Option<i64>,
    #[serde(default)]
    end_latest_update_time: Option<i64>,
    #[serde(default)]
    start_latest_scan_time: Option<i64>,
    #[serde(default)]
    end_latest_scan_time: Option<i64>,
}

/// `POST /v5/{project_id}/image/local/batch-scan`.
pub async fn batch_scan_local_images(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match batch_scan(&state, &project_id, &method, &uri, &headers, &body).await {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

async fn batch_scan(
    state: &AppState,
    project_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, HssError> {
    let record = authenticate(state, project_id, method, uri, headers, body, Level::Write).await?;
    if headers.get("region").is_none() {
        return Err(HssError::invalid("the region header is required"));
    }
    let request: BatchScanBody = serde_json::from_slice(body).map_err(|e| {
        HssError::invalid(format!(
            "the body is not a LocalImageBatchScanRequestBody: {e}"
        ))
    })?;
    let operate_all = request.operate_all.unwrap_or(false);
    if !operate_all && request.image_info_list.is_empty() {
        return Err(HssError::invalid(
            "name images in image_info_list, or set operate_all to true",
        ));
    }
    if request.image_info_list.len() > 1000 {
        return Err(HssError::invalid(
            "image_info_list holds at most 1000 images",
        ));
    }
    let mut filters = BTreeMap::new();
    for (name, value) in [
        ("image_name", request.image_name.clone()),
        ("image_version", request.image_version.clone()),
        ("scan_status", request.scan_status.clone()),
        ("image_size", request.image_size.map(|v| v.to_string())),
        (
            "start_latest_update_time",
            request.start_latest_update_time.map(|v| v.to_string()),
        ),
        (
            "end_latest_update_time",
            request.end_latest_update_time.map(|v| v.to_string()),
        ),
        (
            "start_latest_scan_time",
            request.start_latest_scan_time.map(|v| v.to_string()),
        ),
        (
            "end_latest_scan_time",
            request.end_latest_scan_time.map(|v| v.to_string()),
        ),
    ] {
        if let Some(v) = value {
            filters.insert(name.to_owned(), v);
        }
    }
    let mut sql = Sql::new("SELECT i.id FROM images i WHERE i.tenant_id = ");
    sql.bind(Arg::Text(record.tenant_id.clone()));
    sql.push(" AND i.host_uuid IS NOT NULL AND i.is_index = 0");
    push_common(&mut sql, &record.tenant_id, &Query(filters))?;
    match request.local_image_type.as_deref() {
        None => {}
        Some("swr_image") => {
            sql.push(" AND i.repository LIKE 'swr.%'");
        }
        Some("other_image") => {
            sql.push(" AND i.repository NOT LIKE 'swr.%'");
        }
        Some(other) => {
            return Err(HssError::invalid(format!(
                "local_image_type `{other}` is not one of other_image, swr_image"
            )));
        }
    }
    if !operate_all {
        sql.push(" AND (");
        for (n, info) in request.image_info_list.iter().enumerate() {
            if n > 0 {
                sql.push(" OR ");
            }
            sql.push("(1 = 1");
            if let Some(name) = info.image_name.as_deref().filter(|v| !v.is_empty()) {
                sql.push(" AND i.repository = ");
                sql.bind(Arg::Text(name.to_owned()));
            }
            if let Some(tag) = info.image_version.as_deref().filter(|v| !v.is_empty()) {
                sql.push(" AND i.tag = ");
                sql.bind(Arg::Text(tag.to_owned()));
            }
            if let Some(digest) = info.image_digest.as_deref().filter(|v| !v.is_empty()) {
                sql.push(" AND i.digest = ");
                sql.bind(Arg::Text(full_digest(digest)));
            }
            if let Some(id) = info.image_id.as_deref().filter(|v| !v.is_empty()) {
                sql.push(" AND i.image_id = ");
                sql.bind(Arg::Text(full_digest(id)));
            }
            if info.image_name.is_none()
                && info.image_version.is_none()
                && info.image_digest.is_none()
                && info.image_id.is_none()
            {
                return Err(HssError::invalid(format!(
                    "image_info_list[{n}] names no image (give image_name and image_version, image_digest or image_id)"
                )));
            }
            sql.push(")");
        }
        sql.push(")");
    }
    sql.push(" ORDER BY i.id");
    let ids: Vec<i64> = sql
        .query()
        .fetch_all(state.store.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let task = keelhaul_server::tasks::queue_images(
        &state.store,
        &record.tenant_id,
        &ids,
        TaskSource::Manual,
    )
    .await
    .map_err(|e| match e {
        TaskError::BeyondQuota { .. } => {
            HssError::new(StatusCode::BAD_REQUEST, "HSS.1004", e.to_string())
        }
        TaskError::TooMany { .. } => {
            HssError::new(StatusCode::BAD_REQUEST, "HSS.1005", e.to_string())
        }
        TaskError::Invalid(api) => HssError::invalid(api.message),
        TaskError::Store(e) => HssError::server(e),
    })?;
    Ok(json!({"images": ids.len(), "task_id": task.map(|t| t.id)}))
}
