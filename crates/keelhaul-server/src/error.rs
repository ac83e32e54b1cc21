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
    /// `Conflict`, `BeyondQuata`, `TaskLimitExceeded`, `PayloadTooLarge`, `UnsupportedMediaType`,
    /// `MethodNotAllowed`, `ServerError`.
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
        match e {
            StoreError::Sql(e) => ApiError::from(e),
            e => ApiError::internal(e),
        }
    }
}

/// Text the database refuses to store (PostgreSQL takes no NUL character): a bad request,
/// not a server failure.
fn unstorable_text(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "22021" || code == "22P05")
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if unstorable_text(&e) {
            return ApiError::bad_request("text in the request may not contain NUL characters");
        }
        ApiError::internal(e)
    }
}

impl From<crate::tenants::TenantError> for ApiError {
    fn from(e: crate::tenants::TenantError) -> Self {
        match e {
            crate::tenants::TenantError::Store(e) => ApiError::from(e),
            e => ApiError::internal(e),
        }
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
    // serde's messages (with serde_path_to_error's paths) name the field: "PATH: invalid
    // type: …", "PATH: unknown field `x`", or without a path at the top level "duplicate
    // field `x`". Syntax errors and bad path parameters name none.
    let detail = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| text.strip_prefix("Failed to deserialize query string: "));
    let field = detail.and_then(|d| {
        d.split_once(": ")
            .map(|(path, _)| path)
            .filter(|path| {
                !path.is_empty()
                    && path
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
            })
            .or_else(|| {
                d.split_once("field `")
                    .and_then(|(_, rest)| rest.split_once('`'))
                    .map(|(name, _)| name)
            })
            .map(str::to_owned)
    });
    ApiError {
        // A body that parses but does not fit (axum's 422) is a 400 like any other bad
        // parameter: the documented status of every operation that takes a body.
        status: match status {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => status,
            _ => StatusCode::BAD_REQUEST,
        },
        code,
        message: text,
        field,
    }
}
