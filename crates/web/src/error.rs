//! The API's one error type: a status, a stable code and a message for the
//! client. Server-side causes are logged once here and never shown.

use atelier_sessions::SessionError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: &'static str,
    /// Message for the user.
    pub message: String,
    /// Seconds to wait, for 429 answers.
    pub retry_after: Option<u64>,
}

/// The JSON shape of an error, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// The error.
    pub(crate) error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable machine-readable code.
    pub(crate) code: String,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a message about the request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no valid credentials.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in or send a valid API token",
        )
    }

    /// 403: logged in but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for anything the caller may not know exists.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 500; the cause is logged here, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    /// 500 for an error value: the log gets its whole chain of causes.
    pub fn internal_error(cause: &dyn std::error::Error) -> Self {
        Self::internal(atelier_core::error_chain(cause))
    }

    /// A store error: 503 with `Retry-After` when the database cannot serve
    /// for now (unreachable, disk full, busy), 500 otherwise. The cause,
    /// with its chain, goes to the log only.
    pub fn store(error: &atelier_store::StoreError) -> Self {
        if !error.is_unavailable() {
            return Self::internal_error(error);
        }
        tracing::error!(error = %atelier_core::error_chain(error), "request failed: store unavailable");
        Self {
            retry_after: Some(STORE_RETRY_SECS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the server cannot read or save its records right now (database unreachable \
                 or disk full); try again shortly",
            )
        }
    }
}

/// What a client is told to wait after a `store_unavailable` answer.
const STORE_RETRY_SECS: u64 = 5;

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        let message = error.to_string();
        match error {
            SessionError::Invalid(_) => Self::new(StatusCode::BAD_REQUEST, "invalid", message),
            SessionError::KindUnavailable { .. } => {
                Self::new(StatusCode::CONFLICT, "kind_unavailable", message)
            }
            SessionError::NoAccount { .. } => {
                Self::new(StatusCode::FORBIDDEN, "no_account", message)
            }
            SessionError::TooManySessions { .. } => {
                Self::new(StatusCode::CONFLICT, "too_many_sessions", message)
            }
            SessionError::NotFound(_) => Self::not_found("session"),
            SessionError::WrongState { .. } => {
                Self::new(StatusCode::CONFLICT, "wrong_state", message)
            }
            SessionError::JobNotFound(_) => Self::not_found("job"),
            SessionError::JobEnded { .. } | SessionError::JobRunning(_) => {
                Self::new(StatusCode::CONFLICT, "wrong_state", message)
            }
            SessionError::Launch(atelier_launcher::LaunchError::NoOutput { .. }) => {
                Self::not_found("output")
            }
            SessionError::Launch(cause) => Self::internal_error(&cause),
            SessionError::Store(cause) => Self::store(&cause),
            SessionError::Os(cause) => Self::internal_error(&cause),
        }
    }
}

impl From<atelier_store::StoreError> for ApiError {
    fn from(error: atelier_store::StoreError) -> Self {
        Self::store(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
