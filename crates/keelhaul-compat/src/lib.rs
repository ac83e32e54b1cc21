//! Cloud-compatible image-security APIs for keelhaul: the operations of Alibaba Cloud
//! Security Center (`Sas`, RPC style, version 2018-12-03) and of Huawei Cloud HSS
//! (`/v5/{project_id}/image/…`) that people script against, on the same wire, so the official
//! SDKs work unmodified against a keelhaul endpoint.
//!
//! Requests are authenticated with the clouds' own signatures ([`sign`]) over keelhaul's
//! access keys; a key's tenant is the caller's project. The data behind the operations is the
//! service's (`keelhaul-server`): images, findings, tasks and quotas.

pub mod aliyun;
pub mod huawei;
pub mod sign;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use keelhaul_server::api::AppState;
use keelhaul_server::sql::Sql;
use keelhaul_server::store::{Store, StoreError, now_ms};
use keelhaul_server::tenants::KeyRecord;

/// The cloud-compatible routes, to merge into the service's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(aliyun::rpc).get(aliyun::rpc))
        .route(
            "/v5/{project_id}/image/swr-repository",
            get(huawei::list_swr_images),
        )
        .route(
            "/v5/{project_id}/image/local/batch-scan",
            post(huawei::batch_scan_local_images),
        )
}

/// A JSON answer with the content type both SDKs parse (never `text/xml`, which switches the
/// Alibaba SDK to XML).
fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// Why a caller was not let in, independent of how each cloud spells it.
#[derive(Debug)]
enum AuthError {
    /// No or a malformed Authorization header.
    Incomplete(String),
    /// The access key is unknown or disabled.
    UnknownKey,
    /// The signature does not match.
    Mismatch,
    /// The request is too old or too new.
    Expired(String),
    /// The nonce was seen before.
    Replayed,
    /// The store failed.
    Store(String),
}

impl From<sign::SignError> for AuthError {
    fn from(e: sign::SignError) -> Self {
        match e {
            sign::SignError::Incomplete(m) => AuthError::Incomplete(m),
            sign::SignError::Mismatch => AuthError::Mismatch,
            sign::SignError::Expired(m) => AuthError::Expired(m),
        }
    }
}

async fn load_key(state: &AppState, id: &str) -> Result<KeyRecord, AuthError> {
    match state.key_record(id).await {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(AuthError::UnknownKey),
        Err(e) => Err(AuthError::Store(e.to_string())),
    }
}

/// How long a nonce is remembered: past the date window, a replay fails on its date.
const NONCE_MEMORY_MS: i64 = 2 * sign::MAX_SKEW_SECONDS * 1000;

/// Record a request nonce; false when it was seen before (a replay). Shared by every node
/// through the store.
async fn fresh_nonce(store: &Store, access_key_id: &str, nonce: &str) -> Result<bool, StoreError> {
    let now = now_ms();
    let key = format!("{access_key_id}:{nonce}");
    let inserted = sqlx::query(
        "INSERT INTO request_nonces (nonce, seen_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
    )
    .bind(&key)
    .bind(now)
    .execute(store.pool())
    .await?
    .rows_affected();
    // Forget old nonces now and then (about one request in 64).
    if nonce.as_bytes().last().is_some_and(|b| b % 64 == 0) {
        sqlx::query("DELETE FROM request_nonces WHERE seen_at < $1")
            .bind(now - NONCE_MEMORY_MS)
            .execute(store.pool())
            .await?;
    }
    Ok(inserted == 1)
}

/// How long a count is reused. The clouds' lists report exact totals, and counting a filter
/// over a tenant's hundred thousand images costs milliseconds of database time per request;
/// a console paging through one filter, or a script paging through everything, asks the same
/// count again and again.
const COUNT_TTL: Duration = Duration::from_secs(5);

/// Counts by statement: each computed once (callers asking at the same time wait for it).
type CountCell = Arc<tokio::sync::OnceCell<i64>>;
static COUNTS: LazyLock<Mutex<HashMap<String, (CountCell, Instant)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The total behind a page of `page_len` rows at `offset` (asked `limit` at most) of
/// `selection` (a `FROM … WHERE …` over images).
///
/// A short page tells the total by itself (nothing is counted). Otherwise the count is reused
/// for [`COUNT_TTL`], unless it contradicts the page; so a total is never below what the
/// pages show, and at most that old when it is above.
async fn total(
    store: &Store,
    selection: &Sql,
    offset: i64,
    page_len: usize,
    limit: i64,
) -> Result<i64, sqlx::Error> {
    let page_len = i64::try_from(page_len).unwrap_or(i64::MAX);
    if page_len < limit && (page_len > 0 || offset == 0) {
        return Ok(offset + page_len);
    }
    let statement = selection.prefixed("SELECT COUNT(*)");
    let key = statement.fingerprint();
    let seen = offset + page_len;
    let cell = {
        let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
        let usable = counts.get(&key).is_some_and(|(cell, at)| {
            at.elapsed() < COUNT_TTL && cell.get().is_none_or(|n| page_len == 0 || *n >= seen)
        });
        if !usable {
            if counts.len() >= 10_000 {
                counts.retain(|_, (_, at)| at.elapsed() < COUNT_TTL);
                if counts.len() >= 10_000 {
                    counts.clear();
                }
            }
            counts.insert(key.clone(), (CountCell::default(), Instant::now()));
        }
        counts
            .get(&key)
            .map(|(cell, _)| cell.clone())
            .unwrap_or_default()
    };
    let n = cell
        .get_or_try_init(|| async {
            let row = statement.query().fetch_one(store.pool()).await?;
            sqlx::Row::try_get::<i64, _>(&row, 0)
        })
        .await?;
    Ok(*n)
}

/// `sha256:<hex>` for a bare 64-hex digest (the clouds show digests without the algorithm).
fn full_digest(value: &str) -> String {
    let v = value.trim();
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("sha256:{}", v.to_ascii_lowercase())
    } else {
        v.to_owned()
    }
}

/// A digest without its `sha256:` prefix.
fn bare_digest(value: &str) -> String {
    value.strip_prefix("sha256:").unwrap_or(value).to_owned()
}

/// Comma lists with every digest in its stored form.
fn full_digests(list: &str) -> String {
    list.split(',')
        .map(full_digest)
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}
