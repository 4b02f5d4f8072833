//! `/s/{id}/…`: the session proxy's door. It recognises the caller, lets
//! through only the session's owner (and admins where the config allows),
//! refuses cross-site state changes, records activity, and hands the
//! request to the proxy engine with the session's secret added.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atelier_core::SessionId;
use atelier_launcher::{Backend, Endpoint};
use atelier_proxy::{GateKey, Target, Upstream};
use atelier_sessions::Route;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::any;
use axum::Router;
use tracing::Instrument;

use crate::extract::session_id;
use crate::{ApiError, AppState, Caller, COOKIE_NAME};

/// Activity is written to the store at most this often per session.
const TOUCH_EVERY: Duration = Duration::from_secs(30);

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/s/{id}", any(add_slash))
        .route("/s/{id}/", any(forward))
        .route("/s/{id}/{*rest}", any(forward))
}

async fn add_slash(Path(id): Path<String>) -> Response {
    match session_id(&id) {
        Ok(id) => Redirect::permanent(&format!("/s/{id}/")).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn forward(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    // Decide on the head alone: the body is not `Sync`, so it stays out of
    // the awaits of the admission check.
    let (head, body) = request.into_parts();
    let response = match admit(&state, &head).await {
        Ok(route) => send(&state, route, peer, Request::from_parts(head, body)).await,
        Err(refusal) => refusal,
    };
    state.metrics.proxied(response.status(), started.elapsed());
    response
}

/// Decides whether the request may reach the session, and where it goes.
async fn admit(state: &AppState, request: &Parts) -> Result<Arc<Route>, Response> {
    let id_text = request
        .uri
        .path()
        .trim_start_matches("/s/")
        .split('/')
        .next()
        .unwrap_or("");
    let id = session_id(id_text).map_err(IntoResponse::into_response)?;
    let headers = &request.headers;
    let Some(caller) = state
        .login
        .caller(headers)
        .await
        .map_err(IntoResponse::into_response)?
    else {
        return Err(unauthenticated(request));
    };
    let route = state
        .sessions
        .route_for_caller(&id, &caller.user.name)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let Some(route) = route.filter(|route| may_open(state, &caller, route)) else {
        return Err(ApiError::not_found("session").into_response());
    };
    if is_cookie(&caller) && !same_origin(&request.method, headers) {
        return Err(ApiError::forbidden("cross-site request refused").into_response());
    }
    Ok(route)
}

fn may_open(state: &AppState, caller: &Caller, route: &Route) -> bool {
    route.session.user == caller.user.name
        || (caller.is_admin() && state.settings.admins_can_open_sessions)
}

fn is_cookie(caller: &Caller) -> bool {
    matches!(caller.credential, crate::Credential::Cookie(_))
}

/// A browser is sent to the login page; a script gets a 401.
fn unauthenticated(request: &Parts) -> Response {
    let wants_html = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && request.method == Method::GET {
        let next = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let target = format!("/login?next={}", encode_component(next));
        return Redirect::to(&target).into_response();
    }
    ApiError::unauthenticated().into_response()
}

/// Cookie-authenticated requests that change state or open a WebSocket
/// must come from a page of this origin (the `Origin` host equals `Host`).
/// A request without `Origin` is not from a cross-site page; one whose
/// `Origin` cannot be read is refused (fail closed).
fn same_origin(method: &Method, headers: &HeaderMap) -> bool {
    let upgrade = headers.contains_key(header::UPGRADE);
    if !upgrade && matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

async fn send(
    state: &Arc<AppState>,
    route: Arc<Route>,
    peer: SocketAddr,
    request: Request,
) -> Response {
    let session = &route.session;
    let backend = state.sessions.backend();
    let endpoint = match backend.endpoint(session) {
        Some(endpoint) => Some(endpoint),
        // A remote session's address is learnt by probing it (right after
        // a restart, before the watcher's first look): look once now.
        None => {
            let _ = backend.probe(session).await;
            backend.endpoint(session)
        }
    };
    let upstream = match endpoint {
        Some(Endpoint::Unix { path, uid }) => Upstream::UnixOwnedBy(path, uid),
        Some(Endpoint::Gate(addr)) => Upstream::Gate(addr, GateKey(session.secret.clone())),
        None => {
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                "session_unreachable",
                "the session has no endpoint",
            )
            .into_response()
        }
    };
    let Ok(token) = HeaderValue::from_str(&format!("token {}", session.secret)) else {
        return ApiError::internal("session secret is not a header value").into_response();
    };
    note_activity(state, &session.id);
    let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let path_and_query = if route.strip_prefix {
        strip_prefix(path_and_query, session.id.as_str())
    } else {
        path_and_query.to_owned()
    };
    let target = Target {
        upstream,
        path_and_query,
        set_headers: vec![(header::AUTHORIZATION, token)],
        strip_cookie: Some(COOKIE_NAME.to_owned()),
        client_addr: peer.ip(),
        client_proto: if state.settings.tls { "https" } else { "http" },
        on_activity: Some(activity_hook(state, &session.id)),
    };
    let span = tracing::info_span!("proxy", session_id = %session.id, user = %session.user);
    state
        .proxy
        .forward(request, target)
        .instrument(span)
        .await
        .map(Body::new)
}

fn strip_prefix(path_and_query: &str, id: &str) -> String {
    let rest = path_and_query
        .strip_prefix("/s/")
        .and_then(|p| p.strip_prefix(id))
        .unwrap_or("/");
    if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    }
}

/// Records activity at most once per [`TOUCH_EVERY`], off the request path.
fn note_activity(state: &Arc<AppState>, id: &SessionId) {
    let now = Instant::now();
    {
        let mut touched = state.touched.lock().expect("touch lock");
        match touched.get(id) {
            Some(last) if now.duration_since(*last) < TOUCH_EVERY => return,
            _ => touched.insert(id.clone(), now),
        };
    }
    let sessions = Arc::clone(&state.sessions);
    let id = id.clone();
    tokio::spawn(async move {
        if let Err(error) = sessions.touch(&id).await {
            tracing::warn!(session_id = %id, %error, "could not record activity");
        }
    });
}

/// WebSocket traffic from the browser (typing in an IDE) is activity too.
fn activity_hook(state: &Arc<AppState>, id: &SessionId) -> atelier_proxy::Activity {
    let (state, id) = (Arc::clone(state), id.clone());
    Arc::new(move || note_activity(&state, &id))
}

fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_the_session_prefix() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(strip_prefix(&format!("/s/{id}/"), id), "/");
        assert_eq!(strip_prefix(&format!("/s/{id}/a/b?x=1"), id), "/a/b?x=1");
        assert_eq!(strip_prefix(&format!("/s/{id}?x"), id), "/?x");
    }

    #[test]
    fn cross_site_changes_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "atelier.example:8787".parse().unwrap());
        assert!(same_origin(&Method::POST, &headers));
        headers.insert(
            header::ORIGIN,
            "http://atelier.example:8787".parse().unwrap(),
        );
        assert!(same_origin(&Method::POST, &headers));
        headers.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&Method::POST, &headers));
        assert!(same_origin(&Method::GET, &headers));
        headers.insert(header::UPGRADE, "websocket".parse().unwrap());
        assert!(!same_origin(&Method::GET, &headers));
        let unreadable = HeaderValue::from_bytes(b"http://atelier.example:8787\xff").unwrap();
        headers.insert(header::ORIGIN, unreadable);
        assert!(!same_origin(&Method::GET, &headers));
    }
}
