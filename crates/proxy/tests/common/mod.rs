//! The test rig: a real hyper upstream on a unix socket or TCP, a front
//! server whose service calls `Proxy::forward`, and a small hyper client.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part of the rig

pub mod upstream;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use atelier_proxy::{Proxy, ProxyBody, ProxySettings, Target};
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub use upstream::TestUpstream;

/// What the front sets as the session's credentials.
pub const UPSTREAM_TOKEN: &str = "token upstream-secret";
/// Atelier's own cookie, stripped by the proxy.
pub const ATELIER_COOKIE: &str = "atelier";

/// A front server on 127.0.0.1 that forwards `/s/abc/...` to one upstream.
pub struct Front {
    pub addr: SocketAddr,
    pub proxy: Proxy,
    /// How many times the proxy reported client activity on a WebSocket.
    pub activity: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Front {
    /// Starts a front with the default settings.
    pub async fn start(upstream: atelier_proxy::Upstream) -> Self {
        Self::with_settings(upstream, ProxySettings::default()).await
    }

    /// Starts a front whose proxy uses `settings`.
    pub async fn with_settings(upstream: atelier_proxy::Upstream, settings: ProxySettings) -> Self {
        let proxy = Proxy::new(settings);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let activity = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(serve_front(
            listener,
            proxy.clone(),
            upstream,
            Arc::clone(&activity),
        ));
        Self {
            addr,
            proxy,
            activity,
            task,
        }
    }

    /// A new client connection to the front.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }
}

async fn serve_front(
    listener: TcpListener,
    proxy: Proxy,
    upstream: atelier_proxy::Upstream,
    activity: Arc<AtomicUsize>,
) {
    loop {
        let (stream, peer) = listener.accept().await.unwrap();
        let (proxy, upstream, activity) = (proxy.clone(), upstream.clone(), activity.clone());
        let service = service_fn(move |req: Request<Incoming>| {
            let mut target = target_for(&req, &upstream, peer);
            let activity = activity.clone();
            target.on_activity = Some(Arc::new(move || {
                activity.fetch_add(1, Ordering::Relaxed);
            }));
            let proxy = proxy.clone();
            async move { Ok::<_, std::convert::Infallible>(proxy.forward(req, target).await) }
        });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let _ = connection.await;
        });
    }
}

/// What the lead's web layer would build: `/s/abc` stripped, the session's
/// token set, Atelier's cookie stripped.
fn target_for<B>(req: &Request<B>, upstream: &atelier_proxy::Upstream, peer: SocketAddr) -> Target {
    let full = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let path_and_query = full.strip_prefix("/s/abc").unwrap_or(full).to_owned();
    Target {
        upstream: upstream.clone(),
        path_and_query,
        set_headers: vec![(AUTHORIZATION, HeaderValue::from_static(UPSTREAM_TOKEN))],
        strip_cookie: Some(ATELIER_COOKIE.to_owned()),
        client_addr: peer.ip(),
        client_proto: "http",
        on_activity: None,
    }
}

/// One keep-alive HTTP/1.1 client connection.
pub struct Client {
    sender: SendRequest<ProxyBody>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Self { sender }
    }

    /// Sends `req` (a `Host` is added if missing) and returns the head.
    pub async fn send(&mut self, mut req: Request<ProxyBody>) -> Response<Incoming> {
        if !req.headers().contains_key(http::header::HOST) {
            req.headers_mut()
                .insert(http::header::HOST, HeaderValue::from_static("front.test"));
        }
        self.sender.ready().await.unwrap();
        self.sender.send_request(req).await.unwrap()
    }

    /// `GET path`: the answer head and its whole body.
    pub async fn get(&mut self, path: &str) -> (http::response::Parts, Bytes) {
        let (parts, body) = self.send(get(path)).await.into_parts();
        (parts, read_all(body).await)
    }
}

/// A bodiless `GET` for `path`.
pub fn get(path: &str) -> Request<ProxyBody> {
    Request::get(path).body(empty()).unwrap()
}

pub fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Reads a whole body.
pub async fn read_all(body: Incoming) -> Bytes {
    body.collect().await.unwrap().to_bytes()
}

/// Waits until the proxy pools `count` idle connections to `upstream` (the
/// pool takes a connection back just after its response body was read).
pub async fn wait_idle(proxy: &Proxy, upstream: &atelier_proxy::Upstream, count: usize) {
    for _ in 0..200 {
        if proxy.idle_connections(upstream) == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{upstream}: never reached {count} idle connections");
}

/// Runs `f` with a timeout so a hung proxy fails the test instead of hanging it.
pub async fn within<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("timed out")
}
