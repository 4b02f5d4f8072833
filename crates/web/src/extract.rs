//! Request extractors that answer in the API's error format: the caller
//! (authenticated, CSRF-checked), JSON bodies and session ids.

use std::sync::Arc;

use atelier_core::SessionId;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState, Caller};

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let caller = state
            .login
            .caller(&parts.headers)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        state
            .login
            .check_csrf(&caller, &parts.method, &parts.headers)?;
        Ok(caller)
    }
}

/// A caller who must be an administrator.
pub(crate) struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.is_admin() {
            Ok(Admin)
        } else {
            Err(ApiError::forbidden("administrators only"))
        }
    }
}

/// A JSON body whose rejection is a 400 in the API's format.
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    let mut error = ApiError::bad_request(rejection.body_text());
    if matches!(rejection, JsonRejection::MissingJsonContentType(_)) {
        error.status = axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
        error.code = "unsupported_media_type";
    }
    error
}

/// Parses a session id from a path segment; anything malformed is a 404,
/// exactly like an id that does not exist.
pub(crate) fn session_id(text: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(text).map_err(|_| ApiError::not_found("session"))
}
