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
    /// A write was refused for lack of disk space (or past `database.max_size_mb`);
    /// reads go on, and the write may be retried once the operator frees space.
    StorageFull,
    /// The request body stopped arriving (10 s without a byte); the connection is closed.
    RequestTimeout,
    /// First-run setup is over: an admin exists.
    SetupDone,
    /// The account signs in with a second factor: send `totp` with the password.
    TotpRequired,
    /// The admin API is not open to this address: sign in with two-factor, or connect
    /// from an address in `admin.allowed_ips`.
    AdminAddress,
    /// The upstream refused the token (or code) given; the one before stays in use.
    TokenRefused,
    /// The upstream could not be asked (unreachable, failing, or our request limit).
    UpstreamUnavailable,
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
            ErrorCode::RateLimited
            | ErrorCode::ServiceUnavailable
            | ErrorCode::InternalError
            | ErrorCode::StorageFull
            | ErrorCode::RequestTimeout
            | ErrorCode::UpstreamUnavailable => SuggestedAction::RetryLater,
            ErrorCode::Unauthorized | ErrorCode::TotpRequired => SuggestedAction::SignIn,
            ErrorCode::Forbidden | ErrorCode::AdminAddress => SuggestedAction::ContactAdmin,
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
/// as a 500 that leaks nothing; a full disk is a 503 `STORAGE_FULL` the client may retry
/// (SPEC §17). With this, `?` on a database call in a handler is enough.
impl From<crate::db::DbError> for ApiError {
    fn from(err: crate::db::DbError) -> Self {
        if err.is_storage_full() {
            tracing::error!(request_id = %current_request_id(), error = %err, "a write was refused: the database's disk is full");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageFull,
                "The server is out of storage space and cannot save this now. Nothing was \
                 changed; try again later.",
            );
        }
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
    (408, "REQUEST_TIMEOUT: the body stopped arriving"),
    (401, "UNAUTHORIZED, INVALID_CREDENTIALS or TOTP_REQUIRED"),
    (403, "FORBIDDEN, or ADMIN_ADDRESS"),
    (404, "NOT_FOUND"),
    (409, "CONFLICT, or SETUP_DONE"),
    (413, "PAYLOAD_TOO_LARGE"),
    (415, "UNSUPPORTED_MEDIA_TYPE: the body must be JSON"),
    (422, "TOKEN_REFUSED: the upstream refused the token given"),
    (429, "RATE_LIMITED: see Retry-After"),
    (500, "INTERNAL_ERROR"),
    (
        503,
        "SERVICE_UNAVAILABLE, STORAGE_FULL (the disk is full) or UPSTREAM_UNAVAILABLE",
    ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_refused_for_lack_of_space_is_a_retryable_503_not_a_500() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (b BLOB)").unwrap();
        conn.query_row("PRAGMA max_page_count = 4", [], |_| Ok(()))
            .unwrap();
        let full = conn
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .unwrap_err();
        let err = crate::db::DbError::from(full);
        assert!(err.is_storage_full(), "{err}");
        let answer = ApiError::from(err);
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.code, ErrorCode::StorageFull);
        assert!(answer.envelope().error.details.retryable);
        // Any other database failure stays a 500 that says nothing of its cause.
        let other = ApiError::from(crate::db::DbError::Task("boom".into()));
        assert_eq!(other.code, ErrorCode::InternalError);
    }
}
