//! The HTTP front of Atelier: the REST API under `/api/v1`, the login, home
//! and admin pages, the session proxy under `/s/{id}/`, `/health-check` and
//! `/metrics`. Handlers are thin: they authenticate the caller, check what
//! the caller may see, and call the session service or the store.
//!
//! Invariant: a session that the caller may not use answers exactly like a
//! session that does not exist (404), in the API and in the proxy alike.

mod api;
mod caller_cache;
mod error;
mod extract;
mod login;
mod metrics;
mod openapi;
mod pages;
mod proxy_route;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use atelier_core::SessionId;
use atelier_proxy::Proxy;
use atelier_sessions::SessionManager;
use atelier_store::Store;
use axum::Router;

pub use caller_cache::CallerCache;
pub use error::ApiError;
pub use login::{Access, Caller, Credential, LoginService, COOKIE_NAME, CSRF_HEADER};
pub use metrics::Metrics;
pub use openapi::openapi_json;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// This node's name, shown by `/health-check`.
    pub node: String,
    /// Whether the server speaks HTTPS (sets `X-Forwarded-Proto`).
    pub tls: bool,
    /// Let administrators open other users' sessions through the proxy.
    pub admins_can_open_sessions: bool,
    /// The data folder; `/health-check` fails while its disk is full.
    pub data_dir: std::path::PathBuf,
}

/// Everything a request handler may use.
pub struct AppState {
    /// The session service.
    pub sessions: Arc<SessionManager>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Login and caller recognition.
    pub login: LoginService,
    /// The reverse proxy engine.
    pub proxy: Proxy,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Settings.
    pub settings: WebSettings,
    /// When each session's activity was last written, to write it at most
    /// once per interval.
    touched: Mutex<HashMap<SessionId, Instant>>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(
        sessions: Arc<SessionManager>,
        login: LoginService,
        proxy: Proxy,
        settings: WebSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            store: Arc::clone(sessions.store()),
            sessions,
            login,
            proxy,
            metrics: Metrics::default(),
            settings,
            touched: Mutex::default(),
        })
    }
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .nest("/api/v1", api::router())
        .merge(pages::router())
        .merge(proxy_route::router())
        .merge(metrics::router())
        .fallback(|| async { ApiError::not_found("page") })
        .with_state(state)
}
