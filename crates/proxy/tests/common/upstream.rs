//! The upstream: a real hyper server on a unix socket in a temporary folder
//! or on TCP, counting the connections it accepts, with routes that exercise
//! the proxy (echo, upload, download, slow stream, hop-by-hop headers,
//! WebSocket echo, a request that never gets an answer).

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use atelier_proxy::ProxyBody;
use bytes::Bytes;
use futures_util::{stream, SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::{empty, full};

/// The two transports every test runs against.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Unix,
    Tcp,
}

/// Both kinds, for tests that loop over them.
pub const KINDS: [Kind; 2] = [Kind::Unix, Kind::Tcp];

/// What the upstream saw and the signals tests use to drive it.
#[derive(Default)]
pub struct State {
    /// Connections accepted so far.
    pub accepted: AtomicUsize,
    /// Lets `/slow` send the rest of its body.
    pub release: Notify,
    /// Raised by `/upload` when its first bytes arrived.
    pub first_chunk: Notify,
    /// Headers of the last `/ws` upgrade request.
    pub ws_headers: Mutex<Option<HeaderMap>>,
}

/// A running upstream; stops when dropped.
pub struct TestUpstream {
    pub upstream: atelier_proxy::Upstream,
    pub state: Arc<State>,
    _dir: Option<tempfile::TempDir>,
    task: JoinHandle<()>,
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestUpstream {
    pub async fn start(kind: Kind) -> Self {
        let state = Arc::new(State::default());
        match kind {
            Kind::Unix => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("ide.sock");
                let listener = UnixListener::bind(&path).unwrap();
                let task = tokio::spawn(accept_unix(listener, state.clone()));
                let upstream = atelier_proxy::Upstream::Unix(path);
                Self {
                    upstream,
                    state,
                    _dir: Some(dir),
                    task,
                }
            }
            Kind::Tcp => {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let upstream = atelier_proxy::Upstream::Tcp(listener.local_addr().unwrap());
                let task = tokio::spawn(accept_tcp(listener, state.clone()));
                Self {
                    upstream,
                    state,
                    _dir: None,
                    task,
                }
            }
        }
    }

    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

async fn accept_unix(listener: UnixListener, state: Arc<State>) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        serve(stream, state.clone());
    }
}

async fn accept_tcp(listener: TcpListener, state: Arc<State>) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        serve(stream, state.clone());
    }
}

fn serve<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(stream: S, state: Arc<State>) {
    state.accepted.fetch_add(1, Ordering::SeqCst);
    let service = service_fn(move |req| route(req, state.clone()));
    tokio::spawn(async move {
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let _ = connection.await;
    });
}

async fn route(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<ProxyBody>, Infallible> {
    Ok(match req.uri().path() {
        "/ws" => websocket(req, &state),
        "/ws-deny" => status(StatusCode::FORBIDDEN, "no websocket for you"),
        "/upload" => upload(req, &state).await,
        "/download" => download(req.uri().query().unwrap_or_default()),
        "/slow" => slow(state),
        "/hop" => hop(),
        "/hang" => std::future::pending().await,
        _ => echo(&req),
    })
}

fn status(code: StatusCode, text: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(full(text));
    *response.status_mut() = code;
    response
}

/// Answers `METHOD PATH?QUERY` and then one `name: value` line per header.
fn echo(req: &Request<Incoming>) -> Response<ProxyBody> {
    let target = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    let mut text = format!("{} {target}\n", req.method());
    for (name, value) in req.headers() {
        text.push_str(&format!(
            "{name}: {}\n",
            value.to_str().unwrap_or("<binary>")
        ));
    }
    Response::new(full(text))
}

/// Counts the request body's bytes; raises `first_chunk` on the first ones.
async fn upload(req: Request<Incoming>, state: &State) -> Response<ProxyBody> {
    let mut body = req.into_body();
    let mut count = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return status(StatusCode::BAD_REQUEST, "broken body");
        };
        if let Some(data) = frame.data_ref() {
            if count == 0 && !data.is_empty() {
                state.first_chunk.notify_one();
            }
            count += data.len();
        }
    }
    Response::new(full(count.to_string()))
}

/// Streams `bytes=N` bytes of `x` in 64 KiB chunks.
fn download(query: &str) -> Response<ProxyBody> {
    let total: usize = query
        .strip_prefix("bytes=")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let frames = (0..total).step_by(chunk.len()).map(move |start| {
        let len = chunk.len().min(total - start);
        Ok::<_, Infallible>(Frame::data(chunk.slice(..len)))
    });
    let body = StreamBody::new(stream::iter(frames));
    Response::new(body.map_err(|never| match never {}).boxed_unsync())
}

/// Sends `first`, then waits for `release` before sending `rest`.
fn slow(state: Arc<State>) -> Response<ProxyBody> {
    let first = stream::once(async { Ok::<_, Infallible>(Frame::data(Bytes::from("first"))) });
    let rest = stream::once(async move {
        state.release.notified().await;
        Ok(Frame::data(Bytes::from("rest")))
    });
    let body = StreamBody::new(first.chain(rest));
    Response::new(body.map_err(|never| match never {}).boxed_unsync())
}

/// An answer full of hop-by-hop headers, and one that must survive.
fn hop() -> Response<ProxyBody> {
    Response::builder()
        .header("connection", "x-hop-resp")
        .header("x-hop-resp", "1")
        .header("keep-alive", "timeout=5")
        .header("proxy-authenticate", "Basic realm=x")
        .header("trailer", "x-checksum")
        .header("x-kept", "yes")
        .body(full("hop"))
        .unwrap()
}

/// Accepts the WebSocket handshake and echoes text and binary messages.
fn websocket(mut req: Request<Incoming>, state: &State) -> Response<ProxyBody> {
    *state.ws_headers.lock().unwrap() = Some(req.headers().clone());
    let Some(key) = req.headers().get("sec-websocket-key") else {
        return status(StatusCode::BAD_REQUEST, "no key");
    };
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = on_upgrade.await.unwrap();
        let io = TokioIo::new(upgraded);
        let mut socket = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(message)) = socket.next().await {
            if message.is_text() || message.is_binary() {
                socket.send(message).await.unwrap();
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept)
        .body(empty())
        .unwrap()
}

/// Splits an echo body into its request line and header lines.
pub fn parse_echo(body: &[u8]) -> (String, Vec<(String, String)>) {
    let text = std::str::from_utf8(body).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    (first, headers)
}

/// The values of header `name` in a parsed echo.
pub fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}
