//! The REST API under `/api/v1`.

pub(crate) mod auth;
pub(crate) mod events;
pub(crate) mod jobs;
pub(crate) mod kinds;
pub(crate) mod sessions;
pub(crate) mod users;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::{ApiError, AppState};

pub(crate) use jobs::{JobList, JobView};
pub(crate) use kinds::{ClusterList, KindsView};
pub(crate) use sessions::{SessionList, SessionView};
pub(crate) use users::UserList;

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/kinds", get(kinds::kinds))
        .route("/clusters", get(kinds::clusters))
        .route("/sessions", get(sessions::list).post(sessions::create))
        .route(
            "/sessions/{id}",
            get(sessions::get_one).delete(sessions::remove),
        )
        .route("/sessions/{id}/stop", post(sessions::stop))
        .route("/sessions/{id}/log", get(sessions::log))
        .route("/jobs", get(jobs::list).post(jobs::create))
        .route("/jobs/{id}", get(jobs::get_one).delete(jobs::remove))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/output", get(jobs::output))
        .route("/events", get(events::events))
        .route("/users", get(users::list))
        .route("/openapi.json", get(crate::openapi::serve))
        .fallback(|| async { ApiError::not_found("API endpoint") })
}
