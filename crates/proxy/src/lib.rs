//! The session reverse proxy: HTTP/1.1 and WebSocket, streamed both ways.
//!
//! The web layer authenticates the user, finds the session and calls
//! [`Proxy::forward`] with a [`Target`] naming the session's endpoint. The
//! proxy rewrites the headers (hop-by-hop headers, Atelier's own credentials,
//! `X-Forwarded-*`), sends the request over a pooled HTTP/1.1 connection and
//! streams the answer back. WebSocket upgrades are spliced byte for byte.
//!
//! Bodies are never buffered: the request body is polled as the upstream
//! connection writes it and the upstream response body is handed back as it
//! arrives. Upstream failures never surface as errors to the caller; they
//! become a `502` or `504` JSON answer (see [`ProxyError::status`]).

mod copy;
mod error;
pub mod gate;
mod headers;
mod pool;
mod proxy;
mod response;
mod settings;
mod target;
mod upgrade;

pub use error::ProxyError;
pub use proxy::Proxy;
pub use settings::ProxySettings;
pub use target::{Activity, GateKey, Target, Upstream};

/// Errors carried by a [`ProxyBody`]: whatever the upstream connection or the
/// client body reported.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every response [`Proxy::forward`] returns: the upstream body as
/// it streams in, or a small JSON error. `axum::body::Body::new` accepts it.
pub type ProxyBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, BoxError>;
