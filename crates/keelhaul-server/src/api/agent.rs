//! Routes of `keelhaul agent`: report a host's local images, claim the scans of its images,
//! renew the claim, upload the result. They take keys with the `agent` access level, and a key
//! with only that level can do nothing else.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ApiPath, AppState, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::hosts::{
    AgentJob, AgentResult, HostItem, HostReport, HostReportSummary, valid_host_uuid,
};
use crate::tenants::Level;

/// The host in the path: well formed, and the key's own when the key is bound to one.
fn host(who: &Principal, uuid: &str) -> Result<(), ApiError> {
    if !valid_host_uuid(uuid) {
        return Err(ApiError::invalid(
            "uuid",
            "a host uuid is 1–128 letters, digits and `-_.:`",
        ));
    }
    match &who.host_uuid {
        Some(bound) if bound != uuid => Err(ApiError::forbidden(format!(
            "this agent key belongs to the host `{bound}`"
        ))),
        _ => Ok(()),
    }
}

/// Report the host's local images (all of them: those not listed are gone).
#[utoipa::path(put, path = "/api/v1/hosts/{uuid}/images", tag = "agents",
    params(("uuid" = String, Path, description = "the host's uuid")),
    request_body = HostReport,
    responses((status = 200, body = HostReportSummary), (status = 400, body = ErrorBody)))]
pub async fn report_images(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(uuid): ApiPath<String>,
    ApiJson(report): ApiJson<HostReport>,
) -> ApiResult<Json<HostReportSummary>> {
    who.require(Level::Agent)?;
    host(&who, &uuid)?;
    if report.images.len() > 100_000 {
        return Err(ApiError::invalid(
            "images",
            "at most 100,000 images per host",
        ));
    }
    Ok(Json(
        crate::hosts::report(&state.store, &who.tenant_id, &uuid, &report).await?,
    ))
}

/// A claimed job, or none.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClaimAnswer {
    /// The job to run now, if any.
    pub job: Option<AgentJob>,
}

/// Claim the host's most urgent queued scan.
#[utoipa::path(post, path = "/api/v1/hosts/{uuid}/jobs/claim", tag = "agents",
    params(("uuid" = String, Path, description = "the host's uuid")),
    responses((status = 200, body = ClaimAnswer)))]
pub async fn claim_job(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(uuid): ApiPath<String>,
) -> ApiResult<Json<ClaimAnswer>> {
    who.require(Level::Agent)?;
    host(&who, &uuid)?;
    let job = crate::hosts::claim(&state.store, &who.tenant_id, &uuid).await?;
    Ok(Json(ClaimAnswer { job }))
}

/// Progress of a running scan.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// Percent done (the engine's layer reading).
    #[serde(default)]
    pub progress: Option<i64>,
}

/// Whether the host still holds the job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeldAnswer {
    /// False: the claim was lost (the task was cancelled, or the lease ran out); stop.
    pub held: bool,
}

/// Extend the claim on a running scan.
#[utoipa::path(post, path = "/api/v1/hosts/{uuid}/jobs/{job}/renew", tag = "agents",
    params(("uuid" = String, Path, description = "the host's uuid"), ("job" = i64, Path, description = "the job")),
    request_body = RenewRequest,
    responses((status = 200, body = HeldAnswer)))]
pub async fn renew_job(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((uuid, job)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<RenewRequest>,
) -> ApiResult<Json<HeldAnswer>> {
    who.require(Level::Agent)?;
    host(&who, &uuid)?;
    let held = crate::hosts::renew(&state.store, &who.tenant_id, &uuid, job, body.progress).await?;
    Ok(Json(HeldAnswer { held }))
}

/// Upload a scan's result (or its failure).
#[utoipa::path(post, path = "/api/v1/hosts/{uuid}/jobs/{job}/result", tag = "agents",
    params(("uuid" = String, Path, description = "the host's uuid"), ("job" = i64, Path, description = "the job")),
    request_body = AgentResult,
    responses((status = 200, body = HeldAnswer)))]
pub async fn complete_job(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((uuid, job)): ApiPath<(String, i64)>,
    ApiJson(result): ApiJson<AgentResult>,
) -> ApiResult<Json<HeldAnswer>> {
    who.require(Level::Agent)?;
    host(&who, &uuid)?;
    let held = crate::hosts::complete(
        &state.store,
        &who.tenant_id,
        &uuid,
        job,
        result,
        state.vulndb.as_deref(),
    )
    .await?;
    Ok(Json(HeldAnswer { held }))
}

/// The tenant's hosts and what they last reported.
#[utoipa::path(get, path = "/api/v1/hosts", tag = "agents",
    responses((status = 200, body = [HostItem])))]
pub async fn list_hosts(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<HostItem>>> {
    who.require(Level::List)?;
    Ok(Json(
        crate::hosts::list(&state.store, &who.tenant_id).await?,
    ))
}
