//! `GET /users` (admin).

use std::sync::Arc;

use atelier_core::User;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::extract::Admin;
use crate::{ApiError, AppState};

/// Every user who has logged in.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UserList {
    /// Users by name.
    users: Vec<User>,
}

/// Lists users (administrators only).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = UserList), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
) -> Result<Json<UserList>, ApiError> {
    Ok(Json(UserList {
        users: state.store.list_users().await?,
    }))
}
