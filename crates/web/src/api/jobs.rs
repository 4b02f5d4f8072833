//! `/jobs`: submit, list, read, cancel, remove, and the output stream.

use std::sync::Arc;
use std::time::Duration;

use atelier_core::{Job, JobId, JobState, NewJob, Timestamp, UserName};
use atelier_launcher::OutputStream;
use atelier_sessions::SessionManager;
use atelier_store::JobFilter;
use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::extract::{session_id, Body};
use crate::{ApiError, AppState, Caller};

/// Largest piece of output one read returns.
const READ_MAX: usize = 1 << 20;
/// How often a followed job's output is checked for more.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// A job as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    id: JobId,
    user: UserName,
    name: String,
    state: JobState,
    /// What runs: interpreter and script, or the command.
    command: Vec<String>,
    workdir: String,
    python: Option<String>,
    r: Option<String>,
    profile: Option<String>,
    cluster: String,
    node: Option<String>,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    exit_code: Option<i32>,
    /// Why it failed or was canceled.
    error: Option<String>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        JobView {
            id: job.id,
            user: job.user,
            name: job.name,
            state: job.state,
            command: job.command,
            workdir: job.workdir,
            python: job.python,
            r: job.r,
            profile: job.profile,
            cluster: job.cluster,
            node: job.node,
            created_at: job.created_at,
            started_at: job.started_at,
            ended_at: job.ended_at,
            exit_code: job.exit_code,
            error: job.error,
        }
    }
}

/// A list of jobs.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct JobList {
    jobs: Vec<JobView>,
}

/// Filters of the job list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobQuery {
    /// Only jobs in this state.
    state: Option<JobState>,
    /// Only jobs whose name contains this text.
    name: Option<String>,
    /// Only jobs submitted at or after this time (RFC 3339).
    since: Option<Timestamp>,
    /// Only jobs submitted before this time (RFC 3339).
    until: Option<Timestamp>,
    /// Administrators: every user's jobs.
    #[serde(default)]
    all: bool,
    /// At most this many (default 500).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<u32>,
}

/// Which output and from where.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputQuery {
    /// Byte offset to start from (default 0).
    #[serde(default)]
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    offset: u64,
    /// `combined` (default), `stdout` or `stderr`.
    stream: Option<String>,
    /// Keep the answer open and send output as it is written, until the job ends.
    #[serde(default)]
    follow: bool,
}

/// The caller's jobs, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/jobs", params(JobQuery), responses((status = 200, body = JobList)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(query): Query<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    if query.all && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only administrators can list every job",
        ));
    }
    if query
        .limit
        .is_some_and(|limit| !(1..=5000).contains(&limit))
    {
        return Err(ApiError::bad_request("limit must be between 1 and 5000"));
    }
    let filter = JobFilter {
        user: (!query.all).then(|| caller.user.name.clone()),
        states: query.state.map(|s| vec![s]),
        name_contains: query.name.filter(|n| !n.is_empty()),
        created_after: query.since,
        created_before: query.until,
        limit: Some(query.limit.unwrap_or(500)),
        ..Default::default()
    };
    let jobs = state.sessions.jobs(&filter).await?;
    Ok(Json(JobList {
        jobs: jobs.into_iter().map(JobView::from).collect(),
    }))
}

/// Submits a job; answers with its record (`running`, or `failed` with why).
#[utoipa::path(post, path = "/api/v1/jobs", request_body = NewJob,
    responses((status = 201, body = JobView), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(request): Body<NewJob>,
) -> Result<Response, ApiError> {
    let job = state.sessions.submit_job(&caller.user, request).await?;
    Ok((StatusCode::CREATED, Json(JobView::from(job))).into_response())
}

/// One job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", responses((status = 200, body = JobView), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(visible(&state.sessions, &caller, &id).await?.into()))
}

/// Cancels a pending or running job (SIGTERM to all its processes, SIGKILL after the grace).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", responses((status = 202, body = JobView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = visible(&state.sessions, &caller, &id).await?;
    let canceled = state
        .sessions
        .cancel_job(&job.id, &caller.user.name)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(JobView::from(canceled))).into_response())
}

/// Removes an ended job and its output.
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let job = visible(&state.sessions, &caller, &id).await?;
    state.sessions.remove_job(&job.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The job's output from `offset`: what is there now, or with `follow=true`
/// a stream that ends when the job has ended and everything was sent. The
/// header `X-Atelier-Next-Offset` says where the next read starts.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/output", params(OutputQuery), responses((status = 200, description = "text/plain output")))]
pub(crate) async fn output(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<OutputQuery>,
) -> Result<Response, ApiError> {
    if i64::try_from(query.offset).is_err() {
        return Err(ApiError::bad_request("offset is too large"));
    }
    let job = visible(&state.sessions, &caller, &id).await?;
    let stream = match query.stream.as_deref().unwrap_or("combined") {
        "combined" => OutputStream::Combined,
        "stdout" => OutputStream::Stdout,
        "stderr" => OutputStream::Stderr,
        other => {
            return Err(ApiError::bad_request(format!(
                "stream {other:?}: use combined, stdout or stderr"
            )))
        }
    };
    if query.follow {
        let body = follow(Arc::clone(&state.sessions), job, stream, query.offset);
        return Ok(text_response(HttpBody::from_stream(body), None, None));
    }
    let chunk = state
        .sessions
        .job_output(&job, stream, query.offset, READ_MAX)
        .await?;
    Ok(text_response(
        HttpBody::from(chunk.data),
        Some(chunk.next_offset),
        Some(job.state),
    ))
}

fn text_response(body: HttpBody, next: Option<u64>, state: Option<JobState>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(next) = next {
        headers.insert("x-atelier-next-offset", HeaderValue::from(next));
    }
    if let Some(state) = state {
        headers.insert(
            "x-atelier-job-state",
            HeaderValue::from_static(state.as_str()),
        );
    }
    response
}

/// Output as it is written, until the job has ended and all of it was sent.
fn follow(
    sessions: Arc<SessionManager>,
    job: Job,
    stream: OutputStream,
    offset: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(
        (sessions, job, offset, false),
        move |(sessions, job, mut offset, done)| async move {
            if done {
                return None;
            }
            loop {
                // Read the state before the output, so nothing written just
                // before the job ended is missed.
                let ended = match sessions.job(&job.id).await {
                    Ok(current) => current.state.is_terminal(),
                    Err(_) => true,
                };
                match sessions.job_output(&job, stream, offset, READ_MAX).await {
                    Ok(chunk) if !chunk.data.is_empty() => {
                        offset = chunk.next_offset;
                        return Some((Ok(Bytes::from(chunk.data)), (sessions, job, offset, false)));
                    }
                    Ok(_) if ended => return None,
                    Ok(_) => tokio::time::sleep(FOLLOW_EVERY).await,
                    Err(error) => {
                        let error = std::io::Error::other(error.to_string());
                        return Some((Err(error), (sessions, job, offset, true)));
                    }
                }
            }
        },
    )
}

/// The job, if the caller owns it or is an administrator; otherwise the
/// same 404 as a job that does not exist.
async fn visible(sessions: &SessionManager, caller: &Caller, id: &str) -> Result<Job, ApiError> {
    let id = session_id(id).map_err(|_| ApiError::not_found("job"))?;
    let job = sessions
        .job(&id)
        .await
        .map_err(|_| ApiError::not_found("job"))?;
    if job.user == caller.user.name || caller.is_admin() {
        Ok(job)
    } else {
        Err(ApiError::not_found("job"))
    }
}
