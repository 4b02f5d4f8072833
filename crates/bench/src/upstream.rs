//! The test upstream: the one web app that every contender (direct, Atelier,
//! nginx, configurable-http-proxy) sends traffic to.
//!
//! `GET …/1k` and `…/1m` answer 1 KiB and 1 MiB bodies (with or without the
//! `/s/<id>` prefix), `…/ws` echoes WebSocket messages, anything else answers
//! `200 ok` (which makes any `ready_path` work). It listens on TCP and/or a
//! unix socket, HTTP/1.1 with keep-alive.

use std::convert::Infallible;
use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

/// Size of the small body.
pub(crate) const SMALL: usize = 1024;
/// Size of the large body.
pub(crate) const LARGE: usize = 1024 * 1024;

/// What a path asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Page {
    /// A body of this many bytes.
    Body(usize),
    /// A WebSocket echo.
    Echo,
    /// Anything else: `200 ok`.
    Ok,
}

/// Reads the last path segment: `/s/<id>/1k` and `/1k` are the same page.
pub(crate) fn page(path: &str) -> Page {
    match path.rsplit('/').next().unwrap_or("") {
        "1k" => Page::Body(SMALL),
        "1m" => Page::Body(LARGE),
        "ws" => Page::Echo,
        _ => Page::Ok,
    }
}

/// Serves until killed.
pub(crate) async fn serve(tcp: Option<String>, unix: Option<PathBuf>) -> anyhow::Result<()> {
    anyhow::ensure!(
        tcp.is_some() || unix.is_some(),
        "give --tcp ADDR and/or --unix PATH"
    );
    let bodies = Bodies {
        small: Bytes::from(vec![b'k'; SMALL]),
        large: Bytes::from(vec![b'm'; LARGE]),
    };
    let mut tasks = Vec::new();
    if let Some(addr) = tcp {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream, bodies.clone()));
                }
            }
        }));
    }
    if let Some(path) = unix {
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        tasks.push(tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(connection(stream, bodies.clone()));
                }
            }
        }));
    }
    futures_util::future::join_all(tasks).await;
    Ok(())
}

/// The two bodies, allocated once and shared by every answer.
#[derive(Clone)]
struct Bodies {
    small: Bytes,
    large: Bytes,
}

async fn connection<S>(stream: S, bodies: Bodies)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(move |request| answer(request, bodies.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

async fn answer(
    request: Request<Incoming>,
    bodies: Bodies,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match page(request.uri().path()) {
        Page::Body(SMALL) => body(bodies.small),
        Page::Body(_) => body(bodies.large),
        Page::Echo => echo(request),
        Page::Ok => body(Bytes::from_static(b"ok\n")),
    };
    Ok(response)
}

fn body(bytes: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(bytes))
        .expect("static response")
}

/// Accepts a WebSocket upgrade and echoes every message on it.
fn echo(request: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Full::new(Bytes::from_static(b"not a websocket request\n")))
            .expect("static response");
    };
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(request).await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        let (mut sink, mut stream) = ws.split();
        while let Some(Ok(message)) = stream.next().await {
            if message.is_close() {
                break;
            }
            if (message.is_text() || message.is_binary()) && sink.send(message).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::new(Bytes::new()))
        .expect("static response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_read_from_the_last_segment() {
        assert_eq!(page("/1k"), Page::Body(SMALL));
        assert_eq!(page("/s/0123abcd/1m"), Page::Body(LARGE));
        assert_eq!(page("/s/0123abcd/ws"), Page::Echo);
        assert_eq!(page("/s/0123abcd/"), Page::Ok);
        assert_eq!(page("/api/status"), Page::Ok);
    }
}
