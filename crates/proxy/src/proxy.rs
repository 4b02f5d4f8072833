//! [`Proxy`]: carries one request to a session and streams the answer back.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use tracing::warn;

use crate::pool::{Pool, Sender};
use crate::{headers, response, upgrade, BoxError, ProxyBody, ProxyError, ProxySettings};
use crate::{Target, Upstream};

/// The forwarding engine, with its pool of upstream connections. Cheap to
/// clone: clones share the pool.
#[derive(Clone)]
pub struct Proxy {
    pool: Arc<Pool>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("settings", self.pool.settings())
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// A proxy with an empty pool. Needs no runtime; the first forward
    /// starts the idle-connection sweeper on the current Tokio runtime.
    pub fn new(settings: ProxySettings) -> Self {
        Self {
            pool: Pool::new(settings),
        }
    }

    /// Forwards one request to `target` and returns the upstream's answer
    /// with its body streaming. Never fails: an unreachable upstream gives a
    /// `502`, a timeout a `504`, both with a JSON body
    /// `{"error":{"code":"session_unreachable","message":"..."}}`.
    ///
    /// A WebSocket upgrade answered `101` is spliced in a background task,
    /// provided the front server serves the connection with upgrades enabled.
    pub async fn forward<B>(&self, req: Request<B>, target: Target) -> Response<ProxyBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match self.try_forward(req, &target).await {
            Ok(response) => response,
            Err(error) => {
                warn!(upstream = %target.upstream, error = %chain(&error), "session request failed");
                response::error(&error)
            }
        }
    }

    /// Drops the pooled connections to `upstream` (called when a session
    /// stops). Exchanges in flight finish normally and their connections may
    /// still return to the pool; once the session's server is gone they are
    /// closed, never handed out, and swept.
    pub fn forget(&self, upstream: &Upstream) {
        self.pool.forget(upstream);
    }

    /// How many idle connections to `upstream` are pooled (for metrics).
    pub fn idle_connections(&self, upstream: &Upstream) -> usize {
        self.pool.idle_count(upstream)
    }

    async fn try_forward<B>(
        &self,
        req: Request<B>,
        target: &Target,
    ) -> Result<Response<ProxyBody>, ProxyError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = req.into_parts();
        let websocket = headers::is_websocket(&parts.headers);
        let client_upgrade = if websocket {
            parts.extensions.remove::<OnUpgrade>()
        } else {
            None
        };
        let request = upstream_request(parts, response::boxed(body), target, websocket)?;
        let (mut answer, sender) = self.send(&target.upstream, request).await?;

        if answer.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade else {
                return Err(ProxyError::UnexpectedUpgrade {
                    upstream: target.upstream.clone(),
                });
            };
            let upstream_upgrade = hyper::upgrade::on(&mut answer);
            upgrade::splice(
                client_upgrade,
                upstream_upgrade,
                sender,
                target.upstream.clone(),
                target.on_activity.clone(),
            );
            headers::rewrite_response(answer.headers_mut(), true);
            return Ok(answer.map(|_| response::empty()));
        }
        self.pool.recycle(target.upstream.clone(), sender);
        headers::rewrite_response(answer.headers_mut(), false);
        Ok(answer.map(response::boxed))
    }

    /// Sends `request` on an idle connection if there is one that takes it,
    /// else on a new one. Returns the response head and the connection.
    async fn send(
        &self,
        upstream: &Upstream,
        mut request: Request<ProxyBody>,
    ) -> Result<(Response<Incoming>, Sender), ProxyError> {
        let failed = |source| ProxyError::Request {
            upstream: upstream.clone(),
            source,
        };
        if let Some(mut sender) = self.pool.checkout(upstream) {
            match self
                .timed(upstream, sender.try_send_request(request))
                .await?
            {
                Ok(answer) => return Ok((answer, sender)),
                // The connection closed before it took the request: retry
                // on a fresh one. Once it was written, it is not retried.
                Err(mut error) => match error.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(failed(error.into_error())),
                },
            }
        }
        let mut sender = self.pool.dial(upstream).await?;
        let answer = self
            .timed(upstream, sender.send_request(request))
            .await?
            .map_err(failed)?;
        Ok((answer, sender))
    }

    /// Runs `future` (a request awaiting its response head) under the
    /// response timeout.
    async fn timed<F: Future>(
        &self,
        upstream: &Upstream,
        future: F,
    ) -> Result<F::Output, ProxyError> {
        let after = self.pool.settings().response_timeout;
        tokio::time::timeout(after, future)
            .await
            .map_err(|_| ProxyError::ResponseTimeout {
                upstream: upstream.clone(),
                after,
            })
    }
}

/// Builds the upstream request: same method, the target's path, rewritten
/// headers, HTTP/1.1, the client's body, and none of the client's extensions.
fn upstream_request(
    parts: Parts,
    body: ProxyBody,
    target: &Target,
    websocket: bool,
) -> Result<Request<ProxyBody>, ProxyError> {
    let uri = origin_form(&target.path_and_query).ok_or_else(|| ProxyError::InvalidPath {
        upstream: target.upstream.clone(),
    })?;
    let mut headers = parts.headers;
    let authority = parts.uri.authority().map(|authority| authority.as_str());
    headers::rewrite_request(&mut headers, target, websocket, authority);

    let mut request = Request::new(body);
    *request.method_mut() = parts.method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Parses `/path?query`; anything else (absolute or empty) is refused.
fn origin_form(path_and_query: &str) -> Option<Uri> {
    let uri: Uri = path_and_query.parse().ok()?;
    let origin = path_and_query.starts_with('/') && uri.authority().is_none();
    origin.then_some(uri)
}

/// `error` and its sources, joined by `: `, for one log field.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_origin_form_paths_are_accepted() {
        assert_eq!(
            origin_form("/lab?x=1&y=%20").map(|u| u.to_string()),
            Some("/lab?x=1&y=%20".into())
        );
        for bad in ["", "lab", "http://evil.example/", "*"] {
            assert!(origin_form(bad).is_none(), "{bad:?} was accepted");
        }
    }
}
