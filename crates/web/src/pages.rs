//! The pages and their assets, embedded in the binary: nothing is fetched
//! from anywhere else at run time.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::{ApiError, AppState};

const HTML: &str = "text/html; charset=utf-8";
const SCRIPT: &str = "text/javascript; charset=utf-8";

/// Every embedded file: name, content type, content.
const ASSETS: [(&str, &str, &str); 14] = [
    ("login.html", HTML, include_str!("../assets/login.html")),
    ("home.html", HTML, include_str!("../assets/home.html")),
    ("admin.html", HTML, include_str!("../assets/admin.html")),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    ("app.js", SCRIPT, include_str!("../assets/app.js")),
    ("login.js", SCRIPT, include_str!("../assets/login.js")),
    ("home.js", SCRIPT, include_str!("../assets/home.js")),
    (
        "new-session.js",
        SCRIPT,
        include_str!("../assets/new-session.js"),
    ),
    ("admin.js", SCRIPT, include_str!("../assets/admin.js")),
    (
        "jobs.css",
        "text/css; charset=utf-8",
        include_str!("../assets/jobs.css"),
    ),
    ("tabs.js", SCRIPT, include_str!("../assets/tabs.js")),
    ("new-job.js", SCRIPT, include_str!("../assets/new-job.js")),
    (
        "job-output.js",
        SCRIPT,
        include_str!("../assets/job-output.js"),
    ),
    ("jobs.js", SCRIPT, include_str!("../assets/jobs.js")),
];

/// Pages allow only their own scripts, styles and API.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(|| async { asset("login.html") }))
        .route("/admin", get(admin))
        .route(
            "/assets/{file}",
            get(|Path(file): Path<String>| async move { asset(&file) }),
        )
}

async fn home(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match state.login.caller(request.headers()).await {
        Ok(Some(_)) => asset("home.html"),
        Ok(None) => Redirect::to("/login").into_response(),
        Err(error) => error.into_response(),
    }
}

async fn admin(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match state.login.caller(request.headers()).await {
        Ok(Some(caller)) if caller.is_admin() => asset("admin.html"),
        Ok(Some(_)) => ApiError::forbidden("administrators only").into_response(),
        Ok(None) => Redirect::to("/login?next=/admin").into_response(),
        Err(error) => error.into_response(),
    }
}

fn asset(name: &str) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(file, _, _)| *file == name) else {
        return ApiError::not_found("file").into_response();
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
