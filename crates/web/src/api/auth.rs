//! `POST /auth/login`, `POST /auth/logout`, `GET /me`.

use std::net::SocketAddr;
use std::sync::Arc;

use atelier_core::{Role, User, UserName};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::extract::Body;
use crate::{ApiError, AppState, Caller, Credential};

/// Login request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// User name.
    username: String,
    /// Password.
    password: String,
}

/// Login answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LoginResponse {
    /// The logged-in user.
    user: User,
    /// Send this in `X-Atelier-CSRF` on every state-changing request.
    csrf_token: String,
}

/// The caller.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Me {
    /// User name.
    name: UserName,
    /// Role.
    role: Role,
    /// CSRF token for cookie callers; null for bearer tokens.
    csrf_token: Option<String>,
}

/// Logs in with a user name and password and sets the login cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(request): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    let login = state
        .login
        .login(&request.username, &request.password, peer.ip())
        .await?;
    let body = LoginResponse {
        user: login.user,
        csrf_token: login.csrf_token,
    };
    Ok(([(header::SET_COOKIE, login.set_cookie)], Json(body)).into_response())
}

/// Ends the browser login (the cookie stops working on every node).
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let Credential::Cookie(token) = &caller.credential else {
        return Err(ApiError::bad_request(
            "logout ends a browser login; API tokens are not logged out",
        ));
    };
    let clear = state.login.logout(token).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn me(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Me> {
    let csrf_token = state.login.csrf_token(&caller);
    Json(Me {
        name: caller.user.name,
        role: caller.user.role,
        csrf_token,
    })
}
