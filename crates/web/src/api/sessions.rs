//! `/sessions`: list, create, read, stop, remove, and read a session's log.

use std::sync::Arc;

use atelier_core::{
    NewSession, Session, SessionId, SessionKind, SessionState, Timestamp, UserName,
};
use atelier_launcher::Backend;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::extract::{session_id, Body};
use crate::{ApiError, AppState, Caller};

/// A session as the API shows it (never its secret).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionView {
    id: SessionId,
    user: UserName,
    kind: SessionKind,
    name: String,
    state: SessionState,
    /// Where to open it: `/s/{id}/`.
    url: String,
    node: Option<String>,
    cluster: String,
    python: Option<String>,
    r: Option<String>,
    profile: Option<String>,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    last_active_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    /// Why it failed or ended, with the last lines of its log.
    error: Option<String>,
    exit_code: Option<i32>,
    /// How its resources are held, e.g. `cgroup v1: 1 CPU, 2G memory`.
    limits: Option<String>,
    /// Where it stands beyond its state, from the cluster, e.g. `Slurm job
    /// 12: waiting for resources` or `Slurm job 12 on node1`.
    detail: Option<String>,
}

impl SessionView {
    /// The view of `s`, with what the backend says of its limits.
    pub(crate) fn new(state: &AppState, s: Session) -> Self {
        let limits = state.sessions.backend().limits(&s);
        let detail = state.sessions.backend().detail(&s);
        SessionView {
            limits,
            detail,
            url: s.url(),
            id: s.id,
            user: s.user,
            kind: s.kind,
            name: s.name,
            state: s.state,
            node: s.node,
            cluster: s.cluster,
            python: s.python,
            r: s.r,
            profile: s.profile,
            created_at: s.created_at,
            started_at: s.started_at,
            last_active_at: s.last_active_at,
            ended_at: s.ended_at,
            error: s.error,
            exit_code: s.exit_code,
        }
    }
}

/// A list of sessions.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionList {
    sessions: Vec<SessionView>,
}

/// Options of the list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Administrators: every user's sessions.
    #[serde(default)]
    all: bool,
}

impl ListQuery {
    /// Whether every user's sessions were asked for.
    pub(crate) fn all(&self) -> bool {
        self.all
    }
}

/// A session's log.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LogView {
    /// The last lines of the IDE's output.
    log: String,
}

/// The caller's sessions, newest first (`?all=true`: everyone's, admins only).
#[utoipa::path(get, path = "/api/v1/sessions", params(ListQuery), responses((status = 200, body = SessionList)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<SessionList>, ApiError> {
    if query.all && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only administrators can list every session",
        ));
    }
    let user = (!query.all).then_some(&caller.user.name);
    let sessions = state.sessions.list(user).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionView::new(&state, s))
            .collect(),
    }))
}

/// Starts a session; answers with its record (state `starting`, or `failed` with the reason).
#[utoipa::path(post, path = "/api/v1/sessions", request_body = NewSession,
    responses((status = 201, body = SessionView), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(request): Body<NewSession>,
) -> Result<Response, ApiError> {
    let session = state.sessions.start(&caller.user, request).await?;
    if session.state == SessionState::Failed {
        state.metrics.launch_failed();
    }
    Ok((StatusCode::CREATED, Json(SessionView::new(&state, session))).into_response())
}

/// One session.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", responses((status = 200, body = SessionView), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    Ok(Json(SessionView::new(
        &state,
        visible(&state, &caller, &id).await?,
    )))
}

/// Asks a session to stop; answers at once with the `stopping` record.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/stop", responses((status = 202, body = SessionView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn stop(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = visible(&state, &caller, &id).await?;
    let stopping = state.sessions.stop(&session.id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SessionView::new(&state, stopping)),
    )
        .into_response())
}

/// Removes an ended session (409 while it is active: stop it first).
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let session = visible(&state, &caller, &id).await?;
    state.sessions.remove(&session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The last lines of a session's IDE output.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/log", responses((status = 200, body = LogView), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn log(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LogView>, ApiError> {
    let session = visible(&state, &caller, &id).await?;
    let log = state
        .sessions
        .redacted_log(&session, 200)
        .await
        .unwrap_or_default();
    Ok(Json(LogView { log }))
}

/// The session, if the caller owns it or is an administrator; otherwise
/// the same 404 as a session that does not exist.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<Session, ApiError> {
    let id = session_id(id)?;
    let session = state.sessions.get(&id).await?;
    if session.user == caller.user.name || caller.is_admin() {
        Ok(session)
    } else {
        Err(ApiError::not_found("session"))
    }
}
