//! Route handlers of the native API. Each checks the caller's access level, scopes every
//! query to the caller's tenant (another tenant's id is a 404), and answers JSON.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{ApiJson, ApiPath, ApiQuery, AppState, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::findings::{FINDING_COLUMNS, FindingItem, KINDS};
use crate::images::{Counts, IMAGE_COLUMNS, ImageItem, Selectors, fill_associations};
use crate::registries::{NewRegistry, RegistryItem, RegistryRecord, SyncSummary};
use crate::rematch::RematchSummary;
use crate::sql::{Arg, Sql};
use crate::tasks::{Precheck, TASK_COLUMNS, TaskItem, TaskSource};
use crate::tenants::{CreatedKey, Level};

/// The OpenAPI document of the native API.
#[derive(OpenApi)]
#[openapi(
    info(title = "keelhaul", description = "Container image security service: registries, images, scan tasks, findings."),
    paths(
        list_registries, create_registry, get_registry, delete_registry, sync_registry,
        super::webhooks::registry_webhook,
        list_images, get_image, image_findings, handle_finding, unhandle_finding, statistics,
        create_task, precheck_task, list_tasks, get_task, cancel_task, quota,
        list_keys, create_key, delete_key, create_token, rematch, health, ready,
        super::agent::report_images, super::agent::claim_job, super::agent::renew_job,
        super::agent::complete_job, super::agent::list_hosts
    ),
    components(schemas(
        ErrorBody, NewRegistry, RegistryItem, SyncSummary, ImageItem, Counts, ImageList,
        FindingItem, FindingList, HandleRequest, Selectors, NewTask, TaskItem, TaskList, Precheck,
        Statistics, StatisticsGroup, QuotaInfo, CreatedKey, NewKey, KeyItem, Level, TaskSource,
        RematchSummary, Health, IdOnly, IssuedToken,
        crate::hosts::HostReport, crate::hosts::LocalImage, crate::hosts::HostReportSummary,
        crate::hosts::AgentJob, crate::hosts::AgentResult, crate::hosts::HostItem,
        super::agent::ClaimAnswer, super::agent::RenewRequest, super::agent::HeldAnswer
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
        // Every operation behind the bearer key (all but health and readiness) may answer
        // 401 (no or a wrong key) and 403 (a missing access level), and every route 405.
        let error = |text: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(text)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let open = path == "/healthz" || path == "/readyz";
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut op.responses.responses;
                if !open {
                    responses
                        .entry("401".to_owned())
                        .or_insert_with(|| error("no access key, or a wrong one"));
                    responses
                        .entry("403".to_owned())
                        .or_insert_with(|| error("the key lacks the access level"));
                }
                responses
                    .entry("400".to_owned())
                    .or_insert_with(|| error("a malformed parameter or body"));
            }
        }
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ACCESS_KEY_ID:ACCESS_KEY_SECRET")
                    .build(),
            ),
        );
    }
}

/// A created resource's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdOnly {
    /// The id.
    pub id: String,
}

// ---------------------------------------------------------------- registries

/// List the tenant's registries.
#[utoipa::path(get, path = "/api/v1/registries", tag = "registries",
    responses((status = 200, body = [RegistryItem]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_registries(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<RegistryItem>>> {
    who.require(Level::List)?;
    Ok(Json(
        RegistryRecord::list(&state.store, &who.tenant_id).await?,
    ))
}

/// Add a registry. Its password is stored sealed and never shown again.
#[utoipa::path(post, path = "/api/v1/registries", tag = "registries", request_body = NewRegistry,
    responses((status = 201, body = RegistryItem), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_registry(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(new): ApiJson<NewRegistry>,
) -> ApiResult<impl IntoResponse> {
    who.require(Level::Write)?;
    let item = crate::registries::create(&state.store, &state.key, &who.tenant_id, &new).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// One registry.
#[utoipa::path(get, path = "/api/v1/registries/{id}", tag = "registries",
    params(("id" = i64, Path, description = "registry id")),
    responses((status = 200, body = RegistryItem), (status = 404, body = ErrorBody)))]
pub async fn get_registry(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RegistryItem>> {
    who.require(Level::Read)?;
    RegistryRecord::load(&state.store, &who.tenant_id, id)
        .await?
        .map(|r| Json(r.item))
        .ok_or_else(|| ApiError::not_found("registry"))
}

/// Delete a registry and the images synced from it.
#[utoipa::path(delete, path = "/api/v1/registries/{id}", tag = "registries",
    params(("id" = i64, Path, description = "registry id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_registry(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    who.require(Level::Write)?;
    if crate::registries::delete(&state.store, &who.tenant_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("registry"))
    }
}

/// Options of a sync.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// Queue a scan of the images the sync found new or changed.
    #[serde(default)]
    pub scan: bool,
}

/// Sync a registry now: repositories, tags, manifests and indexes (only changed digests are
/// fetched). With `scan=true`, new and changed images are queued for scanning.
#[utoipa::path(post, path = "/api/v1/registries/{id}/sync", tag = "registries",
    params(("id" = i64, Path, description = "registry id"), SyncQuery),
    responses((status = 200, body = SyncSummary), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn sync_registry(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> ApiResult<Json<SyncSummary>> {
    who.require(Level::Write)?;
    let Some(summary) =
        crate::registries::sync(&state.store, &state.key, &who.tenant_id, id).await?
    else {
        return Err(ApiError::conflict(
            "a sync of this registry is already running",
        ));
    };
    if query.scan && !summary.changed_image_ids.is_empty() {
        queue_images(
            &state,
            &who.tenant_id,
            &summary.changed_image_ids,
            TaskSource::Periodic,
        )
        .await?;
    }
    Ok(Json(summary))
}

/// Queue a scan of some images (a sync's or a webhook's).
pub(super) async fn queue_images(
    state: &AppState,
    tenant_id: &str,
    ids: &[i64],
    source: TaskSource,
) -> ApiResult<Option<TaskItem>> {
    Ok(crate::tasks::queue_images(&state.store, tenant_id, ids, source).await?)
}

/// Validate `page` (from 1) and `page_size` (1 to `max`, `default` when absent).
fn page_bounds(
    page: Option<u32>,
    page_size: Option<u32>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let page = i64::from(page.unwrap_or(1));
    let size = page_size.map_or(default, i64::from);
    if !(1..=1_000_000).contains(&page) {
        return Err(ApiError::invalid(
            "page",
            "page counts from 1 (at most 1,000,000)",
        ));
    }
    if !(1..=max).contains(&size) {
        return Err(ApiError::invalid(
            "page_size",
            format!("page_size is 1 to {max}"),
        ));
    }
    Ok((page, size))
}

/// One page of rows matching `filter` (` FROM … WHERE …`) and how many match in all.
async fn fetch_page<T>(
    state: &AppState,
    filter: &Sql,
    columns: &str,
    order: &str,
    (page, size): (i64, i64),
    from_row: impl Fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> ApiResult<(Vec<T>, i64)> {
    let count = filter.prefixed("SELECT COUNT(*)");
    let mut rows = filter.prefixed(&format!("SELECT {columns}"));
    rows.push(&format!(" ORDER BY {order} LIMIT "));
    rows.bind(Arg::Int(size)).push(" OFFSET ");
    rows.bind(Arg::Int((page - 1) * size));
    let (total, rows) = tokio::try_join!(
        count.query().fetch_one(state.store.pool()),
        rows.query().fetch_all(state.store.pool())
    )?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((items, total.try_get(0)?))
}

// ---------------------------------------------------------------- images

/// Filters and pagination of the image list; lists are comma-separated.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 20).
    pub page_size: Option<u32>,
    /// Registry types (`acr,harbor,quay,swr,docker,cicd`).
    pub registry_types: Option<String>,
    /// Registry ids.
    pub registry_ids: Option<String>,
    /// Region ids.
    pub region_ids: Option<String>,
    /// Instance ids.
    pub instance_ids: Option<String>,
    /// Namespaces.
    pub namespaces: Option<String>,
    /// Repository ids.
    pub repo_ids: Option<String>,
    /// Repository names (exact).
    pub repo_names: Option<String>,
    /// Digests.
    pub digests: Option<String>,
    /// Tags.
    pub tags: Option<String>,
    /// Image row ids.
    pub image_ids: Option<String>,
    /// Hosts of local images.
    pub host_uuids: Option<String>,
    /// Scan states.
    pub scan_status: Option<String>,
    /// Only images with (true) or without (false) unhandled findings.
    pub has_risk: Option<bool>,
    /// Repository names containing this text.
    pub repo_name_contains: Option<String>,
    /// Whether to include multi-arch index entries (default true).
    pub include_index: Option<bool>,
    /// Count every match even past 1,000 (slower on large fleets).
    pub exact_total: Option<bool>,
}

impl ImageQuery {
    fn selectors(&self) -> Selectors {
        Selectors {
            registry_types: self.registry_types.clone(),
            registry_ids: self.registry_ids.clone(),
            region_ids: self.region_ids.clone(),
            instance_ids: self.instance_ids.clone(),
            namespaces: self.namespaces.clone(),
            repo_ids: self.repo_ids.clone(),
            repo_names: self.repo_names.clone(),
            short_names: None,
            digests: self.digests.clone(),
            tags: self.tags.clone(),
            image_ids: self.image_ids.clone(),
            host_uuids: self.host_uuids.clone(),
            scan_status: self.scan_status.clone(),
        }
    }

    fn page(&self) -> Result<(i64, i64), ApiError> {
        page_bounds(self.page, self.page_size, 20, 500)
    }
}

/// Past this many matches `total` stops counting (unless `exact_total`): counting a
/// million rows on every page view is what makes fleet-sized lists slow. Consoles show
/// "1,000+" and page on.
const COUNT_CAP: i64 = 1_000;

/// A page of images.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageList {
    /// The images.
    pub items: Vec<ImageItem>,
    /// How many match: exact, or 1,000 with `total_capped` when more do.
    pub total: i64,
    /// Whether more than `total` images match.
    pub total_capped: bool,
    /// This page.
    pub page: i64,
    /// Its size.
    pub page_size: i64,
}

fn image_where(tenant_id: &str, query: &ImageQuery) -> Result<Sql, ApiError> {
    let mut sql = Sql::new(" FROM images WHERE tenant_id = ");
    sql.bind(Arg::Text(tenant_id.to_owned()));
    query.selectors().push_conditions(&mut sql)?;
    match query.has_risk {
        Some(true) => {
            sql.push(" AND unhandled > 0");
        }
        Some(false) => {
            sql.push(" AND unhandled = 0");
        }
        None => {}
    }
    if let Some(text) = query
        .repo_name_contains
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        if text.len() > 255 {
            return Err(ApiError::invalid(
                "repo_name_contains",
                "at most 255 characters",
            ));
        }
        sql.push(" AND ");
        crate::images::push_name_match(
            &mut sql,
            "id",
            tenant_id,
            crate::images::NameMatch::FullContains(text),
        );
    }
    if query.include_index == Some(false) {
        sql.push(" AND is_index = 0");
    }
    Ok(sql)
}

/// List images, filtered and paginated, newest first.
#[utoipa::path(get, path = "/api/v1/images", tag = "images", params(ImageQuery),
    responses((status = 200, body = ImageList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_images(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<ImageQuery>,
) -> ApiResult<Json<ImageList>> {
    who.require(Level::List)?;
    let (page, size) = query.page()?;
    let filter = image_where(&who.tenant_id, &query)?;
    let exact = query.exact_total == Some(true);
    let (count, count_tail) = if exact {
        ("SELECT COUNT(*)", String::new())
    } else {
        (
            "SELECT COUNT(*) FROM (SELECT 1",
            format!(" LIMIT {}) AS matches", COUNT_CAP + 1),
        )
    };
    // One statement: the (capped) count as a scalar subquery, and the page as a deferred
    // join — its ids come from an index alone (the covering index holds every filtered
    // column), then only those rows are read. Asked directly, PostgreSQL walks the primary
    // key backwards and reads rows of every tenant to fill one page.
    let mut page_query = filter.wrapped(|f| {
        format!(
            "SELECT {IMAGE_COLUMNS}, ({count}{f}{count_tail}) AS kh_total FROM images \
             WHERE id IN (SELECT id{f} ORDER BY id DESC LIMIT "
        )
    });
    page_query.bind(Arg::Int(size)).push(" OFFSET ");
    page_query.bind(Arg::Int((page - 1) * size));
    page_query.push(") ORDER BY id DESC");
    let rows = page_query.query().fetch_all(state.store.pool()).await?;
    let counted: i64 = match rows.first() {
        Some(row) => row.try_get("kh_total")?,
        // Past the last page: no row carries the count.
        None => filter
            .wrapped(|f| format!("{count}{f}{count_tail}"))
            .query()
            .fetch_one(state.store.pool())
            .await?
            .try_get(0)?,
    };
    let (total, total_capped) = if !exact && counted > COUNT_CAP {
        (COUNT_CAP, true)
    } else {
        (counted, false)
    };
    let mut items = rows
        .iter()
        .map(ImageItem::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    fill_associations(&state.store, &mut items).await?;
    Ok(Json(ImageList {
        items,
        total,
        total_capped,
        page,
        page_size: size,
    }))
}

/// One image.
#[utoipa::path(get, path = "/api/v1/images/{id}", tag = "images",
    params(("id" = i64, Path, description = "image id")),
    responses((status = 200, body = ImageItem), (status = 404, body = ErrorBody)))]
pub async fn get_image(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ImageItem>> {
    who.require(Level::Read)?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {IMAGE_COLUMNS} FROM images WHERE id = $1 AND tenant_id = $2"
    )))
    .bind(id)
    .bind(&who.tenant_id)
    .fetch_optional(state.store.pool())
    .await?;
    let Some(row) = row else {
        return Err(ApiError::not_found("image"));
    };
    let mut items = vec![ImageItem::from_row(&row)?];
    fill_associations(&state.store, &mut items).await?;
    items
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("image"))
}

/// Filters of an image's findings.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// Kinds: `cve,sca,malicious,baseline,secret`.
    pub kind: Option<String>,
    /// Severities: `critical,high,medium,low,negligible,unknown`.
    pub severity: Option<String>,
    /// Only handled (true) or unhandled (false) findings.
    pub handled: Option<bool>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1–1000 (default 100).
    pub page_size: Option<u32>,
}

/// A page of findings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FindingList {
    /// The findings.
    pub items: Vec<FindingItem>,
    /// How many match.
    pub total: i64,
}

const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "negligible", "unknown"];

fn words(field: &str, text: &Option<String>, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let words: Vec<String> = text
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|w| w.trim().to_ascii_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(bad) = words.iter().find(|w| !allowed.contains(&w.as_str())) {
        return Err(ApiError::invalid(
            field,
            format!("unknown value `{bad}`: use {}", allowed.join(", ")),
        ));
    }
    Ok(words)
}

/// An image's findings.
#[utoipa::path(get, path = "/api/v1/images/{id}/findings", tag = "findings",
    params(("id" = i64, Path, description = "image id"), FindingQuery),
    responses((status = 200, body = FindingList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn image_findings(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<FindingQuery>,
) -> ApiResult<Json<FindingList>> {
    who.require(Level::Read)?;
    let kinds = words("kind", &query.kind, KINDS)?;
    let severities = words("severity", &query.severity, SEVERITIES)?;
    let bounds = page_bounds(query.page, query.page_size, 100, 1000)?;
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT id FROM images WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(&who.tenant_id)
            .fetch_optional(state.store.pool())
            .await?;
    if owner.is_none() {
        return Err(ApiError::not_found("image"));
    }
    let mut filter = Sql::new(" FROM findings WHERE tenant_id = ");
    filter
        .bind(Arg::Text(who.tenant_id.clone()))
        .push(" AND image_id = ");
    filter.bind(Arg::Int(id));
    if !kinds.is_empty() {
        filter.push(" AND kind");
        filter.bind_texts(&kinds);
    }
    if !severities.is_empty() {
        filter.push(" AND severity");
        filter.bind_texts(&severities);
    }
    if let Some(h) = query.handled {
        filter.push(" AND handled = ");
        filter.bind(Arg::Int(i64::from(h)));
    }
    let (items, total) = fetch_page(
        &state,
        &filter,
        FINDING_COLUMNS,
        "id",
        bounds,
        FindingItem::from_row,
    )
    .await?;
    Ok(Json(FindingList { items, total }))
}

/// Why a finding is handled.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandleRequest {
    /// A note (at most 1,000 characters).
    pub reason: Option<String>,
}

/// Mark a finding handled ("dealt with"), recording who and when.
#[utoipa::path(post, path = "/api/v1/findings/{id}/handle", tag = "findings",
    params(("id" = i64, Path, description = "finding id")), request_body = HandleRequest,
    responses((status = 200, body = ImageItem), (status = 404, body = ErrorBody)))]
pub async fn handle_finding(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImageItem>> {
    who.require(Level::Write)?;
    // The body is optional: `{}`, `{"reason": "…"}` or nothing.
    let request: HandleRequest = if body.iter().all(u8::is_ascii_whitespace) {
        HandleRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::invalid(
                "reason",
                format!("the body must be {{\"reason\": \"…\"}}: {e}"),
            )
        })?
    };
    let reason = request.reason;
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(ApiError::invalid("reason", "at most 1,000 characters"));
    }
    let image = crate::findings::set_handled(
        &state.store,
        &who.tenant_id,
        id,
        Some((&who.key_id, reason.as_deref())),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("finding"))?;
    get_image(State(state), who, ApiPath(image)).await
}

/// Mark a finding unhandled again.
#[utoipa::path(post, path = "/api/v1/findings/{id}/unhandle", tag = "findings",
    params(("id" = i64, Path, description = "finding id")),
    responses((status = 200, body = ImageItem), (status = 404, body = ErrorBody)))]
pub async fn unhandle_finding(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ImageItem>> {
    who.require(Level::Write)?;
    let image = crate::findings::set_handled(&state.store, &who.tenant_id, id, None)
        .await?
        .ok_or_else(|| ApiError::not_found("finding"))?;
    get_image(State(state), who, ApiPath(image)).await
}

/// Grouping of statistics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatisticsQuery {
    /// `tenant` (default), `registry` or `repository`.
    pub group_by: Option<String>,
    /// Registry ids to count.
    pub registry_ids: Option<String>,
    /// Repository names to count.
    pub repo_names: Option<String>,
}

/// Counts of one group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatisticsGroup {
    /// The registry id or repository name (none for the tenant).
    pub key: Option<String>,
    /// Images (platform images and index entries).
    pub images: i64,
    /// Images scanned successfully.
    pub scanned: i64,
    /// Images with unhandled findings.
    pub at_risk: i64,
    /// Findings by kind.
    pub counts: Counts,
    /// Findings handled.
    pub handled: i64,
}

/// Statistics.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Statistics {
    /// One entry per group.
    pub groups: Vec<StatisticsGroup>,
}

/// Finding counts aggregated by tenant, registry or repository, handled and unhandled.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "findings", params(StatisticsQuery),
    responses((status = 200, body = Statistics), (status = 400, body = ErrorBody)))]
pub async fn statistics(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<StatisticsQuery>,
) -> ApiResult<Json<Statistics>> {
    who.require(Level::List)?;
    let key = match query.group_by.as_deref().unwrap_or("tenant") {
        "tenant" => "NULL",
        "registry" => "CAST(registry_id AS TEXT)",
        "repository" => "repository",
        other => {
            return Err(ApiError::invalid(
                "group_by",
                format!("unknown grouping `{other}`: use tenant, registry or repository"),
            ));
        }
    };
    let mut sql = Sql::new(&format!(
        "SELECT {key} AS k, COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN scan_status = 'SUCCESS' THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN unhandled > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(cve), 0) AS BIGINT), CAST(COALESCE(SUM(sca), 0) AS BIGINT), \
         CAST(COALESCE(SUM(malicious), 0) AS BIGINT), CAST(COALESCE(SUM(baseline), 0) AS BIGINT), \
         CAST(COALESCE(SUM(secret), 0) AS BIGINT), CAST(COALESCE(SUM(unhandled), 0) AS BIGINT) \
         FROM images WHERE tenant_id = "
    ));
    sql.bind(Arg::Text(who.tenant_id.clone()));
    Selectors {
        registry_ids: query.registry_ids.clone(),
        repo_names: query.repo_names.clone(),
        ..Selectors::default()
    }
    .push_conditions(&mut sql)?;
    if key != "NULL" {
        sql.push(&format!(" GROUP BY {key} ORDER BY {key}"));
    }
    let rows = sql.query().fetch_all(state.store.pool()).await?;
    let mut groups = Vec::new();
    for row in rows {
        let counts = Counts {
            cve: row.try_get(4)?,
            sca: row.try_get(5)?,
            malicious: row.try_get(6)?,
            baseline: row.try_get(7)?,
            secret: row.try_get(8)?,
            unhandled: row.try_get(9)?,
        };
        let all = counts.cve + counts.sca + counts.malicious + counts.baseline + counts.secret;
        groups.push(StatisticsGroup {
            key: row.try_get(0)?,
            images: row.try_get(1)?,
            scanned: row.try_get(2)?,
            at_risk: row.try_get(3)?,
            handled: all - counts.unhandled,
            counts,
        });
    }
    Ok(Json(Statistics { groups }))
}

// ---------------------------------------------------------------- tasks

/// A scan task to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Which images (all of the tenant's when empty).
    #[serde(default)]
    pub selectors: Selectors,
    /// Scan images that are up to date too.
    #[serde(default)]
    pub force: bool,
    /// `manual` (default) or `ci`.
    pub source: Option<TaskSource>,
}

/// Create a scan task: one job per selected image not yet scanned with the current engine.
/// Refused with `BeyondQuata` past the tenant's quota and `TaskLimitExceeded` when too
/// many tasks run.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, body = TaskItem), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_task(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(new): ApiJson<NewTask>,
) -> ApiResult<impl IntoResponse> {
    who.require(Level::Write)?;
    let source = match new.source.unwrap_or(TaskSource::Manual) {
        s @ (TaskSource::Manual | TaskSource::Ci) => s,
        _ => {
            return Err(ApiError::invalid(
                "source",
                "a client creates `manual` or `ci` tasks",
            ));
        }
    };
    let task = crate::tasks::create(
        &state.store,
        &who.tenant_id,
        &new.selectors,
        new.force,
        source,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// What a task would scan and whether it can be created now.
#[utoipa::path(post, path = "/api/v1/tasks/precheck", tag = "tasks", request_body = NewTask,
    responses((status = 200, body = Precheck), (status = 400, body = ErrorBody)))]
pub async fn precheck_task(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(new): ApiJson<NewTask>,
) -> ApiResult<Json<Precheck>> {
    who.require(Level::Read)?;
    Ok(Json(
        crate::tasks::precheck(
            &state.store,
            &who.tenant_id,
            &new.selectors,
            new.force,
            new.source.unwrap_or(TaskSource::Manual),
        )
        .await?,
    ))
}

/// Task list filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// States: `INIT,PRE_ANALYZER,SUCCESS,FAIL,CANCELLED`.
    pub status: Option<String>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 20).
    pub page_size: Option<u32>,
}

/// A page of tasks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskList {
    /// The tasks, newest first.
    pub items: Vec<TaskItem>,
    /// How many match.
    pub total: i64,
}

/// The tenant's tasks.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<TaskQuery>,
) -> ApiResult<Json<TaskList>> {
    who.require(Level::List)?;
    let statuses: Vec<String> = words(
        "status",
        &query.status.as_ref().map(|s| s.to_ascii_lowercase()),
        &["init", "pre_analyzer", "success", "fail", "cancelled"],
    )?
    .into_iter()
    .map(|s| s.to_ascii_uppercase())
    .collect();
    let bounds = page_bounds(query.page, query.page_size, 20, 500)?;
    let mut filter = Sql::new(" FROM tasks WHERE tenant_id = ");
    filter.bind(Arg::Text(who.tenant_id.clone()));
    if !statuses.is_empty() {
        filter.push(" AND status");
        filter.bind_texts(&statuses);
    }
    let (items, total) = fetch_page(
        &state,
        &filter,
        TASK_COLUMNS,
        "created_at DESC, id",
        bounds,
        TaskItem::from_row,
    )
    .await?;
    Ok(Json(TaskList { items, total }))
}

/// One task with its progress.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "task id")),
    responses((status = 200, body = TaskItem), (status = 404, body = ErrorBody)))]
pub async fn get_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskItem>> {
    who.require(Level::Read)?;
    crate::tasks::get(&state.store, &who.tenant_id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("task"))
}

/// Cancel a task: queued images are dropped (their quota returned), running ones finish.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks",
    params(("id" = String, Path, description = "task id")),
    responses((status = 200, body = TaskItem), (status = 404, body = ErrorBody)))]
pub async fn cancel_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskItem>> {
    who.require(Level::Write)?;
    if !crate::tasks::cancel(&state.store, &who.tenant_id, &id).await? {
        return Err(ApiError::not_found("task"));
    }
    get_task(State(state), who, ApiPath(id)).await
}

/// The tenant's quota.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuotaInfo {
    /// Image scans allowed.
    pub scan_quota: i64,
    /// Used.
    pub used: i64,
    /// Left.
    pub left: i64,
    /// Tasks that may run at once.
    pub max_running_tasks: i64,
    /// Tasks running.
    pub running_tasks: i64,
    /// Whether a task can be created now.
    pub can_create: bool,
}

/// The tenant's scan quota and running tasks.
#[utoipa::path(get, path = "/api/v1/quota", tag = "tasks",
    responses((status = 200, body = QuotaInfo)))]
pub async fn quota(State(state): State<AppState>, who: Principal) -> ApiResult<Json<QuotaInfo>> {
    who.require(Level::Read)?;
    let p = crate::tasks::precheck(
        &state.store,
        &who.tenant_id,
        &Selectors {
            image_ids: Some("-1".to_owned()),
            ..Selectors::default()
        },
        false,
        TaskSource::Manual,
    )
    .await?;
    let (quota, used): (i64, i64) =
        sqlx::query_as("SELECT scan_quota, quota_used FROM tenants WHERE id = $1")
            .bind(&who.tenant_id)
            .fetch_one(state.store.pool())
            .await?;
    Ok(Json(QuotaInfo {
        scan_quota: quota,
        used,
        left: p.quota_left,
        max_running_tasks: p.max_running_tasks,
        running_tasks: p.running_tasks,
        can_create: p.running_tasks < p.max_running_tasks && p.quota_left > 0,
    }))
}

// ---------------------------------------------------------------- access keys

/// A new access key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Its levels.
    pub levels: Vec<Level>,
    /// A note.
    pub description: Option<String>,
    /// Bind an agent key to one host (its routes then take that host only).
    pub host_uuid: Option<String>,
}

/// An access key, without its secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyItem {
    /// The key id.
    pub access_key_id: String,
    /// Its levels.
    pub levels: Vec<Level>,
    /// A note.
    pub description: Option<String>,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The one host an agent key is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_uuid: Option<String>,
}

/// The tenant's access keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/access-keys", tag = "access keys",
    responses((status = 200, body = [KeyItem])))]
pub async fn list_keys(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<KeyItem>>> {
    who.require(Level::List)?;
    type KeyRow = (String, String, Option<String>, i64, Option<String>);
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT id, levels, description, created_at, host_uuid FROM access_keys \
         WHERE tenant_id = $1 AND disabled = 0 ORDER BY created_at, id",
    )
    .bind(&who.tenant_id)
    .fetch_all(state.store.pool())
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, levels, description, created, host_uuid)| KeyItem {
                access_key_id: id,
                levels: Level::parse_list(&levels).unwrap_or_default(),
                description,
                created: crate::store::rfc3339(created),
                host_uuid,
            })
            .collect(),
    ))
}

/// Create an access key for the caller's tenant; the secret is shown only here.
#[utoipa::path(post, path = "/api/v1/access-keys", tag = "access keys", request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(new): ApiJson<NewKey>,
) -> ApiResult<impl IntoResponse> {
    who.require(Level::Write)?;
    if new.levels.is_empty() {
        return Err(ApiError::invalid(
            "levels",
            "give at least one of read, list, write, agent",
        ));
    }
    let name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(&who.tenant_id)
        .fetch_one(state.store.pool())
        .await?;
    let mut levels = new.levels.clone();
    levels.sort();
    levels.dedup();
    crate::check_host_binding(&levels, new.host_uuid.as_deref())
        .map_err(|e| ApiError::invalid("host_uuid", e))?;
    let created = crate::tenants::create_key(
        &state.store,
        &state.key,
        &name,
        &levels,
        new.description.as_deref(),
        new.host_uuid.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A token standing for the calling key.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Send it as `X-Auth-Token` to the Huawei-style API.
    pub token: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// Issue a token for the calling key (24 hours; the Huawei-style API's `X-Auth-Token`).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access",
    responses((status = 201, body = IssuedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<impl IntoResponse> {
    let (token, expires) = crate::tenants::issue_token(&state.key, &who.key_id)?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            token,
            expires_at: crate::store::rfc3339(expires),
        }),
    ))
}

/// Disable an access key of the caller's tenant.
#[utoipa::path(delete, path = "/api/v1/access-keys/{id}", tag = "access keys",
    params(("id" = String, Path, description = "access key id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_key(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    who.require(Level::Write)?;
    let n = sqlx::query("UPDATE access_keys SET disabled = 1 WHERE id = $1 AND tenant_id = $2")
        .bind(&id)
        .bind(&who.tenant_id)
        .execute(state.store.pool())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("access key"));
    }
    // Refused from now on by this node (others stop within their cache time).
    state
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- vulnerability DB

/// Re-match the tenant's stored inventories against the current vulnerability database now
/// (no image is downloaded again). The server also does this by itself when the database
/// changes.
#[utoipa::path(post, path = "/api/v1/vulndb/rematch", tag = "findings",
    responses((status = 200, body = RematchSummary), (status = 400, body = ErrorBody)))]
pub async fn rematch(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<RematchSummary>> {
    who.require(Level::Write)?;
    let Some(db) = state.vulndb.clone() else {
        return Err(ApiError::bad_request(
            "the server has no vulnerability database: start it with --vulndb FILE",
        ));
    };
    let summary = crate::rematch::rematch(
        &state.store,
        &db,
        Some(&who.tenant_id),
        state.notify_url.as_deref(),
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(summary))
}

// ---------------------------------------------------------------- health

/// Health.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is wrong.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(state.store.pool())
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".to_owned(),
            }),
        ),
        Err(e) => {
            tracing::warn!("readiness check failed: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "database unavailable".to_owned(),
                }),
            )
        }
    }
}

/// Prometheus metrics: queue depth and jobs by state (read from the database, so they
/// cover every worker), this process's scan durations, layer-cache hits and requests.
pub async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let Some(handle) = &state.metrics else {
        return Err(ApiError::not_found("metrics"));
    };
    let by_state = crate::jobs::counts_by_state(&state.store).await?;
    for s in [
        "queued",
        "running",
        "done",
        "failed",
        "timeout",
        "cancelled",
    ] {
        let n = by_state.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        metrics::gauge!("keelhaul_jobs", "state" => s).set(n as f64);
    }
    let queued = by_state
        .iter()
        .find(|(k, _)| k == "queued")
        .map_or(0, |(_, n)| *n);
    metrics::gauge!("keelhaul_queue_depth").set(queued as f64);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        handle.render(),
    ))
}
