//! Push webhooks: Docker Distribution notifications and Harbor webhook payloads add the
//! pushed image to the inventory and queue its scan ahead of manual and periodic work.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ApiPath, AppState, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::registries::RegistryRecord;
use crate::tasks::{TaskItem, TaskSource};
use crate::tenants::Level;

/// A Distribution notification envelope or a Harbor webhook payload.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PushPayload {
    /// `{"events": [{"action": "push", "target": {...}}]}`.
    Distribution {
        /// The events.
        events: Vec<DistributionEvent>,
    },
    /// `{"type": "PUSH_ARTIFACT", "event_data": {...}}`.
    Harbor {
        /// The event type.
        #[serde(rename = "type")]
        kind: String,
        /// The event.
        event_data: HarborData,
    },
}

/// One Distribution event.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DistributionEvent {
    /// `push`, `pull`, `delete`, …
    pub action: String,
    /// What it was about.
    pub target: DistributionTarget,
}

/// A Distribution event's target.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DistributionTarget {
    /// The repository.
    pub repository: String,
    /// The manifest digest.
    pub digest: Option<String>,
    /// The tag, for manifest pushes by tag.
    pub tag: Option<String>,
}

/// Harbor's event data.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HarborData {
    /// Pushed artifacts.
    pub resources: Vec<HarborResource>,
    /// Their repository.
    pub repository: HarborRepository,
}

/// A Harbor artifact.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HarborResource {
    /// The digest.
    pub digest: Option<String>,
    /// The tag.
    pub tag: Option<String>,
}

/// A Harbor repository.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HarborRepository {
    /// `project/name`.
    pub repo_full_name: String,
}

/// What a webhook did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushOutcome {
    /// Pushes understood (`repository:tag`).
    pub pushes: Vec<String>,
    /// Image rows added or changed.
    pub image_ids: Vec<i64>,
    /// The scan task queued for them.
    pub task: Option<TaskItem>,
    /// Pushes that could not be described.
    pub errors: Vec<String>,
}

fn pushes(payload: PushPayload) -> Vec<(String, String, String)> {
    match payload {
        PushPayload::Distribution { events } => events
            .into_iter()
            .filter(|e| e.action == "push")
            .filter_map(|e| {
                // Manifests pushed by digest alone (an index's children) arrive with the
                // index's own event, which has the tag.
                let tag = e.target.tag?;
                Some((
                    e.target.repository,
                    tag,
                    e.target.digest.unwrap_or_default(),
                ))
            })
            .collect(),
        PushPayload::Harbor { kind, event_data } => {
            if !kind.eq_ignore_ascii_case("PUSH_ARTIFACT") {
                return Vec::new();
            }
            let repo = event_data.repository.repo_full_name;
            event_data
                .resources
                .into_iter()
                .filter_map(|r| Some((repo.clone(), r.tag?, r.digest.unwrap_or_default())))
                .collect()
        }
    }
}

fn valid_repository(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 255
        && !r.contains("..")
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
}

/// Receive a push notification for a registry (Distribution or Harbor format): the image is
/// described from the registry, stored, and its scan queued with push priority.
#[utoipa::path(post, path = "/api/v1/registries/{id}/webhook", tag = "registries",
    params(("id" = i64, Path, description = "registry id")), request_body = PushPayload,
    responses((status = 200, body = PushOutcome), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn registry_webhook(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(payload): ApiJson<PushPayload>,
) -> ApiResult<Json<PushOutcome>> {
    who.require(Level::Write)?;
    let Some(record) = RegistryRecord::load(&state.store, &who.tenant_id, id).await? else {
        return Err(ApiError::not_found("registry"));
    };
    let pushes = pushes(payload);
    if pushes.len() > 1000 {
        return Err(ApiError::invalid(
            "events",
            "at most 1,000 pushes per notification",
        ));
    }
    if let Some((bad, _, _)) = pushes.iter().find(|(r, _, _)| !valid_repository(r)) {
        return Err(ApiError::invalid(
            "repository",
            format!("`{bad}` is not a repository name"),
        ));
    }
    let (host, options) = record
        .connection(&state.key)
        .map_err(|e| ApiError::internal(format!("registry credentials: {e}")))?;
    let remote = crate::registry_io::Remote::new(host, options);
    let mut outcome = PushOutcome {
        pushes: Vec::new(),
        image_ids: Vec::new(),
        task: None,
        errors: Vec::new(),
    };
    for (repository, tag, digest) in pushes {
        outcome.pushes.push(format!("{repository}:{tag}"));
        let reference = if digest.is_empty() {
            tag.clone()
        } else {
            digest
        };
        let described = remote.describe(&repository, &reference).await;
        let description = match described {
            Ok(d) => d,
            Err(e) => {
                outcome.errors.push(format!("{repository}:{tag}: {e}"));
                continue;
            }
        };
        let repository_id =
            crate::registry_io::ensure_repository(&state.store, &who.tenant_id, id, &repository)
                .await?;
        crate::registry_io::store_description(
            &state.store,
            &who.tenant_id,
            id,
            repository_id,
            &repository,
            &tag,
            &description,
        )
        .await?;
        // Every platform image of the push, changed or not: a re-push of a known digest
        // is still a request to know its state (up-to-date ones are not rescanned).
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM images WHERE registry_id = $1 AND repository = $2 AND tag = $3 \
             AND is_index = 0",
        )
        .bind(id)
        .bind(&repository)
        .bind(&tag)
        .fetch_all(state.store.pool())
        .await?;
        crate::images::refresh_latest(&state.store, repository_id).await?;
        outcome.image_ids.extend(ids);
    }
    if !outcome.image_ids.is_empty() {
        let selectors = crate::images::Selectors {
            image_ids: Some(
                outcome
                    .image_ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ..Default::default()
        };
        outcome.task = Some(
            crate::tasks::create(
                &state.store,
                &who.tenant_id,
                &selectors,
                false,
                TaskSource::Push,
            )
            .await?,
        );
    }
    Ok(Json(outcome))
}
