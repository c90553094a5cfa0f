//! The error half of the envelope, and the one place errors become HTTP answers.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, Object};

use super::middleware::current_request_id;

/// Every error code the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request is malformed or a field is invalid; `details.field` names it.
    ValidationError,
    /// No such resource (or route).
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// Sign-in is required, or the access token is missing, expired or invalid.
    Unauthorized,
    /// Wrong username or password.
    InvalidCredentials,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// The resource already exists (a taken username or email, a pending claim).
    Conflict,
    /// Too many requests; wait for `Retry-After` seconds.
    RateLimited,
    /// The request body is too large.
    PayloadTooLarge,
    /// The request body is not JSON.
    UnsupportedMediaType,
    /// Something failed on the server; the request id helps the operator find it.
    InternalError,
    /// The service cannot answer right now (no data yet, database unavailable).
    ServiceUnavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SuggestedAction {
    RetryLater,
    FixRequest,
    SignIn,
    ContactAdmin,
    None,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ErrorStatus {
    Error,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ErrorDetails {
    pub retryable: bool,
    pub suggested_action: SuggestedAction,
    /// The request field the error is about, when there is one.
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub details: ErrorDetails,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ErrorMetadata {
    pub request_id: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
}

/// `{"status": "error", "error": {...}, "metadata": {...}}`
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ErrorEnvelope {
    pub status: ErrorStatus,
    pub error: ErrorBody,
    pub metadata: ErrorMetadata,
}

impl poem_openapi::types::Example for ErrorEnvelope {
    fn example() -> Self {
        ErrorEnvelope {
            status: ErrorStatus::Error,
            error: ErrorBody {
                code: ErrorCode::ValidationError,
                message: "Invalid `limit`: must be at most 1000".into(),
                details: ErrorDetails {
                    retryable: false,
                    suggested_action: SuggestedAction::FixRequest,
                    field: Some("limit".into()),
                },
            },
            metadata: ErrorMetadata {
                request_id: "req_1f2e3d4c00000001".into(),
                timestamp: "2026-11-23T10:00:00.000Z".into(),
            },
        }
    }
}

/// An error answer: status, code, a message for people, and what to do about it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let mut err = Self::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, message);
        err.field = Some(field.to_string());
        err
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            message,
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("Too many requests. Try again in {retry_after} seconds."),
        );
        err.retry_after = Some(retry_after);
        err
    }

    /// Logs the cause with the request id and answers without revealing it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(request_id = %current_request_id(), error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "Something went wrong on our side. The request id identifies it in the server's log.",
        )
    }

    fn suggested_action(&self) -> SuggestedAction {
        match self.code {
            ErrorCode::RateLimited | ErrorCode::ServiceUnavailable | ErrorCode::InternalError => {
                SuggestedAction::RetryLater
            }
            ErrorCode::Unauthorized => SuggestedAction::SignIn,
            ErrorCode::Forbidden => SuggestedAction::ContactAdmin,
            ErrorCode::NotFound => SuggestedAction::None,
            _ => SuggestedAction::FixRequest,
        }
    }

    pub fn envelope(&self) -> ErrorEnvelope {
        let retryable = self.suggested_action() == SuggestedAction::RetryLater;
        ErrorEnvelope {
            status: ErrorStatus::Error,
            error: ErrorBody {
                code: self.code,
                message: self.message.clone(),
                details: ErrorDetails {
                    retryable,
                    suggested_action: self.suggested_action(),
                    field: self.field.clone(),
                },
            },
            metadata: ErrorMetadata {
                request_id: current_request_id(),
                timestamp: crate::db::timestamp(chrono::Utc::now()),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = poem_openapi::types::ToJSON::to_json_string(&self.envelope());
        let mut resp = Response::builder()
            .status(self.status)
            .content_type("application/json; charset=utf-8")
            .header("Cache-Control", "no-store")
            .body(body);
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert("Retry-After", secs.into());
        }
        resp
    }
}

/// A storage failure is ours, never the client's: logged with the request id, answered
/// as a 500 that leaks nothing. With this, `?` on a database call in a handler is enough.
impl From<crate::db::DbError> for ApiError {
    fn from(err: crate::db::DbError) -> Self {
        ApiError::internal(err)
    }
}

impl From<ApiError> for poem::Error {
    fn from(err: ApiError) -> Self {
        poem::Error::from_response(err.into_response())
    }
}

/// The statuses any operation may answer with, documented once for all.
const DOCUMENTED: &[(u16, &str)] = &[
    (400, "VALIDATION_ERROR: a parameter or the body is invalid"),
    (401, "UNAUTHORIZED or INVALID_CREDENTIALS"),
    (403, "FORBIDDEN"),
    (404, "NOT_FOUND"),
    (409, "CONFLICT"),
    (413, "PAYLOAD_TOO_LARGE"),
    (415, "UNSUPPORTED_MEDIA_TYPE: the body must be JSON"),
    (429, "RATE_LIMITED: see Retry-After"),
    (500, "INTERNAL_ERROR"),
    (503, "SERVICE_UNAVAILABLE"),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorEnvelope::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorEnvelope::register(registry);
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
