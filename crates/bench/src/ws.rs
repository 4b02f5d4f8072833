//! WebSocket load: echo round trips at saturation, and many idle sockets
//! held open at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::client::Url;
use crate::stats::{Samples, Summary};

/// An open client WebSocket.
pub(crate) type Socket = WebSocketStream<TcpStream>;

/// Opens a WebSocket to `url` (plain `ws://`, from an `http://` URL).
pub(crate) async fn connect(url: &Url, headers: &HeaderMap) -> anyhow::Result<Socket> {
    let stream = TcpStream::connect(&url.authority)
        .await
        .with_context(|| format!("cannot connect to {}", url.authority))?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{}{}", url.authority, url.path).into_client_request()?;
    request.headers_mut().extend(headers.clone());
    let (socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .with_context(|| format!("WebSocket handshake with {} failed", url.to_text()))?;
    Ok(socket)
}

/// An echo run: `connections` sockets, each sending a `size`-byte message
/// and waiting for it to come back, back to back.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    /// The echo endpoint.
    pub(crate) url: Url,
    /// Headers for the upgrade request.
    pub(crate) headers: HeaderMap,
    /// Sockets at once.
    pub(crate) connections: usize,
    /// Message size in bytes.
    pub(crate) size: usize,
    /// Not measured, at the start.
    pub(crate) warmup: Duration,
    /// Measured.
    pub(crate) duration: Duration,
}

/// Runs the echo load: messages/s (round trips) and round-trip latencies.
pub(crate) async fn echo(spec: Echo) -> Summary {
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let spec = Arc::new(spec);
    let workers: Vec<_> = (0..spec.connections)
        .map(|_| {
            let spec = Arc::clone(&spec);
            tokio::spawn(async move { echo_worker(&spec, measure_from, end).await })
        })
        .collect();
    let mut samples = Samples::default();
    for worker in workers {
        if let Ok(done) = worker.await {
            samples.merge(done);
        }
    }
    samples.summary(spec.duration)
}

async fn echo_worker(spec: &Echo, measure_from: Instant, end: Instant) -> Samples {
    let mut samples = Samples::default();
    let Ok(mut socket) = connect(&spec.url, &spec.headers).await else {
        samples.errors += 1;
        return samples;
    };
    let payload = vec![b'e'; spec.size];
    while Instant::now() < end {
        let sent = Instant::now();
        let ok = round_trip(&mut socket, &payload).await;
        if sent >= measure_from {
            if ok {
                samples.record(sent.elapsed());
            } else {
                samples.errors += 1;
            }
        }
        if !ok {
            break;
        }
    }
    let _ = socket.close(None).await;
    samples
}

async fn round_trip(socket: &mut Socket, payload: &[u8]) -> bool {
    if socket
        .send(Message::Binary(payload.to_vec().into()))
        .await
        .is_err()
    {
        return false;
    }
    loop {
        match socket.next().await {
            Some(Ok(Message::Binary(back))) => return back.len() == payload.len(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return false,
        }
    }
}

/// Opens `count` sockets, `parallel` handshakes at a time, and returns
/// them with the number that failed to open.
pub(crate) async fn open_idle(
    url: &Url,
    headers: &HeaderMap,
    count: usize,
    parallel: usize,
) -> (Vec<Socket>, usize) {
    let results: Vec<anyhow::Result<Socket>> = futures_util::stream::iter(0..count)
        .map(|_| connect(url, headers))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    (results.into_iter().flatten().collect(), failed)
}

/// True if every socket still answers an echo (the idle sockets were
/// really proxied, not silently dropped); checks at most `sample` of them.
pub(crate) async fn still_echo(sockets: &mut [Socket], sample: usize) -> usize {
    let step = (sockets.len() / sample.max(1)).max(1);
    let mut answered = 0;
    for socket in sockets.iter_mut().step_by(step) {
        if round_trip(socket, b"still there").await {
            answered += 1;
        }
    }
    answered
}
