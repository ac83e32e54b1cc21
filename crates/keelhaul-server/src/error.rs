//! API errors: JSON with a stable code, the offending field where there is one, and the
//! request id. A server-side failure is logged with the request id and answered with
//! `ServerError` and nothing of its internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `InvalidParameter`, `Unauthorized`, `NoPermission`, `NotFound`,
    /// `Conflict`, `BeyondQuata`, `TaskLimitExceeded`, `PayloadTooLarge`, `ServerError`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id (also in the `x-request-id` header).
    pub request_id: String,
}

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The field at fault.
    pub field: Option<String>,
}

impl ApiError {
    /// A 400 naming the field at fault.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidParameter",
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    /// A 400 without a particular field.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidParameter",
            message: message.into(),
            field: None,
        }
    }

    /// A 404: also what another tenant's ids get, so their existence is not revealed.
    pub fn not_found(what: &str) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            message: format!("{what} not found"),
            field: None,
        }
    }

    /// A 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "Unauthorized",
            message: message.into(),
            field: None,
        }
    }

    /// A 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "NoPermission",
            message: message.into(),
            field: None,
        }
    }

    /// A 409.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "Conflict",
            message: message.into(),
            field: None,
        }
    }

    /// Any other status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A 500: `detail` is logged, never sent.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {detail}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "ServerError",
            message:
                "the server failed to handle the request; quote the request id when reporting it"
                    .to_owned(),
            field: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::tenants::TenantError> for ApiError {
    fn from(e: crate::tenants::TenantError) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::crypto::KeyError> for ApiError {
    fn from(e: crate::crypto::KeyError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The request-id middleware fills in `request_id` from this extension.
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message.clone(),
            field: self.field.clone(),
            request_id: String::new(),
        };
        let mut response = (self.status, Json(body.clone())).into_response();
        response.extensions_mut().insert(body);
        response
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// Rejections of axum's extractors (bad JSON, bad query strings, wrong content type) as
/// our JSON errors.
pub fn from_rejection(status: StatusCode, text: String) -> ApiError {
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        _ => "InvalidParameter",
    };
    // serde's messages name the field: "unknown field `x`" / "page: invalid digit".
    let field = text
        .split('`')
        .nth(1)
        .filter(|_| text.contains("field"))
        .map(str::to_owned)
        .or_else(|| {
            text.rsplit_once(": ")
                .and_then(|(head, _)| head.rsplit(' ').next())
                .filter(|f| {
                    f.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                })
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
        });
    ApiError {
        status: if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        },
        code,
        message: text,
        field,
    }
}
