//! The proxy's one error type. It never reaches the caller of
//! [`crate::Proxy::forward`]: it is logged and turned into a `502`/`504`
//! answer whose message names no internals.

use std::time::Duration;

use http::StatusCode;

use crate::Upstream;

/// Why a request could not be carried to its session.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The upstream socket could not be opened (refused, missing, ...).
    #[error("cannot connect to {upstream}")]
    Connect {
        /// The endpoint that was dialled.
        upstream: Upstream,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// Opening the upstream connection took longer than the connect timeout.
    #[error("connecting to {upstream} timed out after {after:?}")]
    ConnectTimeout {
        /// The endpoint that was dialled.
        upstream: Upstream,
        /// The timeout that expired.
        after: Duration,
    },
    /// The HTTP/1.1 client could not be set up on the new connection.
    #[error("HTTP handshake with {upstream} failed")]
    Handshake {
        /// The endpoint that was dialled.
        upstream: Upstream,
        /// hyper's reason.
        #[source]
        source: hyper::Error,
    },
    /// The request was sent but no valid response head came back.
    #[error("request to {upstream} failed")]
    Request {
        /// The endpoint the request went to.
        upstream: Upstream,
        /// hyper's reason.
        #[source]
        source: hyper::Error,
    },
    /// The upstream did not answer with a response head in time.
    #[error("{upstream} sent no response head within {after:?}")]
    ResponseTimeout {
        /// The endpoint the request went to.
        upstream: Upstream,
        /// The timeout that expired.
        after: Duration,
    },
    /// The upstream answered `101 Switching Protocols` to a request that
    /// cannot be upgraded (not a WebSocket request, or the front server does
    /// not support upgrades).
    #[error("{upstream} switched protocols on a request that cannot be upgraded")]
    UnexpectedUpgrade {
        /// The endpoint that answered.
        upstream: Upstream,
    },
    /// [`crate::Target::path_and_query`] is not an origin-form path.
    #[error("invalid upstream path for {upstream}")]
    InvalidPath {
        /// The endpoint the request was meant for.
        upstream: Upstream,
    },
}

impl ProxyError {
    /// The status the client receives: `504` for timeouts, `500` for a bad
    /// target path (a caller bug), `502` for everything else.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ConnectTimeout { .. } | Self::ResponseTimeout { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
            Self::InvalidPath { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Connect { .. }
            | Self::Handshake { .. }
            | Self::Request { .. }
            | Self::UnexpectedUpgrade { .. } => StatusCode::BAD_GATEWAY,
        }
    }
}
