//! The native REST API under `/api/v1`, its OpenAPI document, health, readiness and metrics.

mod agent;
mod handlers;
mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use utoipa::OpenApi;

use crate::crypto::{ServerKey, same_secret};
use crate::error::{ApiError, ErrorBody, from_rejection};
use crate::store::Store;
use crate::tenants::{KeyRecord, Level, TenantError, find_key};

pub use handlers::ApiDoc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The server key.
    pub key: ServerKey,
    /// Prometheus rendering.
    pub metrics: Option<PrometheusHandle>,
    /// Asks the re-match loop to run now.
    pub rematch: Option<mpsc::Sender<()>>,
    /// The vulnerability database the workers use.
    pub vulndb: Option<std::path::PathBuf>,
    /// Where changed findings are posted after a re-match (also one asked for by a client).
    pub notify_url: Option<String>,
    keys: Arc<Mutex<HashMap<String, (KeyRecord, Instant)>>>,
}

impl AppState {
    /// The enabled access key `id` with its secret opened, remembered for [`KEY_CACHE`]
    /// (deleting a key forgets it on the node that deleted it). Every API's authentication
    /// goes through here.
    pub async fn key_record(&self, id: &str) -> Result<Option<KeyRecord>, TenantError> {
        let cached = {
            let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            keys.get(id)
                .filter(|(_, at)| at.elapsed() < KEY_CACHE)
                .map(|(k, _)| k.clone())
        };
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(record) = find_key(&self.store, &self.key, id).await? else {
            return Ok(None);
        };
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() > 10_000 {
            keys.clear();
        }
        keys.insert(id.to_owned(), (record.clone(), Instant::now()));
        Ok(Some(record))
    }

    /// A state over `store`.
    pub fn new(store: Store, key: ServerKey) -> AppState {
        AppState {
            store,
            key,
            metrics: None,
            rematch: None,
            vulndb: None,
            notify_url: None,
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// How long a verified key is remembered (a disabled key stops working within this time).
const KEY_CACHE: Duration = Duration::from_secs(10);

/// The caller: a tenant's access key.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The tenant.
    pub tenant_id: String,
    /// The key id.
    pub key_id: String,
    /// Its levels.
    pub levels: Vec<Level>,
    /// The one host an agent key is bound to.
    pub host_uuid: Option<String>,
}

impl Principal {
    /// Refuse unless the key has `level`.
    pub fn require(&self, level: Level) -> Result<(), ApiError> {
        if self.levels.contains(&level) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this access key lacks the `{}` access level",
                level.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send `Authorization: Bearer ACCESS_KEY_ID:ACCESS_KEY_SECRET`",
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("the Authorization scheme must be Bearer"))?;
        let (id, secret) = token.trim().split_once(':').ok_or_else(|| {
            ApiError::unauthorized("the bearer token must be ACCESS_KEY_ID:ACCESS_KEY_SECRET")
        })?;
        let Some(record) = state.key_record(id).await? else {
            return Err(ApiError::unauthorized("unknown or disabled access key"));
        };
        if !same_secret(&record.secret, secret) {
            return Err(ApiError::unauthorized("unknown or disabled access key"));
        }
        Ok(Principal {
            tenant_id: record.tenant_id,
            key_id: record.id,
            levels: record.levels,
            host_uuid: record.host_uuid,
        })
    }
}

/// JSON bodies whose rejections are our JSON errors.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(from_rejection(r.status(), r.body_text())),
        }
    }
}

/// Query strings whose rejections are our JSON errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(from_rejection(r.status(), r.body_text())),
        }
    }
}

/// Path parameters whose rejections are our JSON errors.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(r) => Err(from_rejection(r.status(), r.body_text())),
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of the request being handled.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Give every request an id (the caller's `x-request-id` if it is sane), answer it in the
/// `x-request-id` header and in error bodies, and count requests.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let mut response = next.run(req).await;
    let status = response.status();
    if let Some(mut body) = response.extensions_mut().remove::<ErrorBody>() {
        body.request_id = id.clone();
        let mut fresh = (status, Json(body)).into_response();
        std::mem::swap(fresh.headers_mut(), response.headers_mut());
        fresh.headers_mut().remove(header::CONTENT_LENGTH);
        response = fresh;
        if status.is_server_error() {
            tracing::error!(request_id = %id, %method, %path, "answered {status}");
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    metrics::counter!("keelhaul_http_requests_total", "status" => status.as_u16().to_string())
        .increment(1);
    metrics::histogram!("keelhaul_http_request_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    response
}

/// A panic in a handler: a ServerError like any other, nothing of the panic shown.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("a request handler panicked").into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "this route does not take this method (see the `allow` header)",
    )
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// Health, readiness and metrics only (a `keelhaul worker`'s endpoint).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(handlers::health))
        .route("/readyz", get(handlers::ready))
        .route("/metrics", get(handlers::metrics))
        .fallback(not_found)
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The whole HTTP application with more routes (the cloud-compatible APIs) merged in; they
/// share the request ids, panic handling, body limit and tracing of the native API.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .route(
            "/registries",
            get(handlers::list_registries).post(handlers::create_registry),
        )
        .route(
            "/registries/{id}",
            get(handlers::get_registry).delete(handlers::delete_registry),
        )
        .route("/registries/{id}/sync", post(handlers::sync_registry))
        .route("/registries/{id}/webhook", post(webhooks::registry_webhook))
        .route("/images", get(handlers::list_images))
        .route("/images/{id}", get(handlers::get_image))
        .route("/images/{id}/findings", get(handlers::image_findings))
        .route("/findings/{id}/handle", post(handlers::handle_finding))
        .route("/findings/{id}/unhandle", post(handlers::unhandle_finding))
        .route("/statistics", get(handlers::statistics))
        .route(
            "/tasks",
            get(handlers::list_tasks).post(handlers::create_task),
        )
        .route("/tasks/precheck", post(handlers::precheck_task))
        .route("/tasks/{id}", get(handlers::get_task))
        .route("/tasks/{id}/cancel", post(handlers::cancel_task))
        .route("/quota", get(handlers::quota))
        .route(
            "/access-keys",
            get(handlers::list_keys).post(handlers::create_key),
        )
        .route(
            "/access-keys/{id}",
            axum::routing::delete(handlers::delete_key),
        )
        .route("/tokens", post(handlers::create_token))
        .route("/vulndb/rematch", post(handlers::rematch))
        .route("/hosts", get(agent::list_hosts))
        .route(
            "/hosts/{uuid}/images",
            axum::routing::put(agent::report_images),
        )
        .route("/hosts/{uuid}/jobs/claim", post(agent::claim_job))
        .route("/hosts/{uuid}/jobs/{job}/renew", post(agent::renew_job))
        .route(
            "/hosts/{uuid}/jobs/{job}/result",
            // Inventories of big images run to megabytes of JSON.
            post(agent::complete_job).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", api)
        .merge(extra)
        .route("/healthz", get(handlers::health))
        .route("/readyz", get(handlers::ready))
        .route("/metrics", get(handlers::metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(middleware::from_fn(request_id))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
