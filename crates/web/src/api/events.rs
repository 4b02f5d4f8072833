//! `GET /events`: server-sent events with every change to the caller's
//! sessions (or everyone's, for admins with `?all=true`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use atelier_sessions::SessionEvent;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use super::jobs::JobView;
use super::sessions::{ListQuery, SessionView};
use crate::{ApiError, AppState, Caller};

/// Streams `session` and `job` events (a record) and `session-removed` and
/// `job-removed` events (`{id}`).
#[utoipa::path(get, path = "/api/v1/events", params(ListQuery), responses((status = 200, description = "text/event-stream")))]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if query.all() && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only administrators can watch every session",
        ));
    }
    let everyone = query.all();
    let me = caller.user.name;
    let receiver = state.sessions.subscribe();
    let stream = BroadcastStream::new(receiver).filter_map(move |event| {
        // A lagging receiver skips what it missed; the page reloads the list on reconnect.
        let event = event.ok()?;
        let (owner, sse) = match event {
            SessionEvent::Changed(session) => {
                let owner = session.user.clone();
                (
                    owner,
                    Event::default()
                        .event("session")
                        .json_data(SessionView::new(&state, *session))
                        .ok()?,
                )
            }
            SessionEvent::Removed { id, user } => {
                let data = serde_json::json!({ "id": id });
                (
                    user,
                    Event::default()
                        .event("session-removed")
                        .data(data.to_string()),
                )
            }
            SessionEvent::JobChanged(job) => {
                let owner = job.user.clone();
                let view = JobView::from(*job);
                (owner, Event::default().event("job").json_data(view).ok()?)
            }
            SessionEvent::JobRemoved { id, user } => {
                let data = serde_json::json!({ "id": id });
                (
                    user,
                    Event::default().event("job-removed").data(data.to_string()),
                )
            }
        };
        (everyone || owner == me).then_some(Ok(sse))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
