//! Upstream connections: dialling (unix socket or TCP, with a timeout) and a
//! pool of idle HTTP/1.1 connections per upstream.
//!
//! A connection goes back to the pool once hyper says it is ready for the next
//! request, which happens only after the previous response body was read to
//! its end; a connection whose exchange was abandoned or upgraded is closed by
//! hyper and never comes back. Idle connections older than the idle timeout
//! are dropped by a sweeper task and skipped at checkout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tracing::debug;

use crate::{ProxyBody, ProxyError, ProxySettings, Upstream};

/// The sending half of one upstream connection.
pub(crate) type Sender = SendRequest<ProxyBody>;

/// A connection waiting for its next request.
struct Idle {
    sender: Sender,
    since: Instant,
}

/// Idle connections per upstream, newest last.
pub(crate) struct Pool {
    settings: ProxySettings,
    idle: Mutex<HashMap<Upstream, Vec<Idle>>>,
    sweeper_started: AtomicBool,
}

impl Pool {
    /// An empty pool.
    pub(crate) fn new(settings: ProxySettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            idle: Mutex::new(HashMap::new()),
            sweeper_started: AtomicBool::new(false),
        })
    }

    /// The settings the pool was made with.
    pub(crate) fn settings(&self) -> &ProxySettings {
        &self.settings
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Upstream, Vec<Idle>>> {
        // The map stays consistent even if a holder panicked: every critical
        // section is a single push, pop or retain.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest idle connection to `upstream` that is still usable.
    pub(crate) fn checkout(&self, upstream: &Upstream) -> Option<Sender> {
        let mut idle = self.lock();
        let list = idle.get_mut(upstream)?;
        while let Some(entry) = list.pop() {
            if entry.since.elapsed() >= self.settings.idle_timeout {
                // Newest last: everything below is older still.
                list.clear();
                break;
            }
            if entry.sender.is_ready() {
                return Some(entry.sender);
            }
        }
        None
    }

    /// Returns `sender` to the pool once its current exchange is complete.
    pub(crate) fn recycle(self: &Arc<Self>, upstream: Upstream, mut sender: Sender) {
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            if sender.ready().await.is_err() {
                return;
            }
            if let Some(pool) = pool.upgrade() {
                pool.put(upstream, sender);
            }
        });
    }

    fn put(&self, upstream: Upstream, sender: Sender) {
        let timeout = self.settings.idle_timeout;
        let mut idle = self.lock();
        let list = idle.entry(upstream).or_default();
        let now = Instant::now();
        if list.len() >= self.settings.max_idle_per_upstream {
            // Only when full: this runs once per proxied request, and the
            // sweeper and checkout skip dead entries anyway.
            list.retain(|entry| {
                now.duration_since(entry.since) < timeout && !entry.sender.is_closed()
            });
        }
        if list.len() < self.settings.max_idle_per_upstream {
            list.push(Idle { sender, since: now });
        }
    }

    /// Closes every idle connection to `upstream`.
    pub(crate) fn forget(&self, upstream: &Upstream) {
        self.lock().remove(upstream);
    }

    /// How many idle connections to `upstream` the pool holds.
    pub(crate) fn idle_count(&self, upstream: &Upstream) -> usize {
        self.lock().get(upstream).map_or(0, Vec::len)
    }

    /// Opens a new connection to `upstream` within the connect timeout.
    pub(crate) async fn dial(self: &Arc<Self>, upstream: &Upstream) -> Result<Sender, ProxyError> {
        self.start_sweeper();
        let after = self.settings.connect_timeout;
        match tokio::time::timeout(after, connect(upstream)).await {
            Ok(result) => result,
            Err(_) => Err(ProxyError::ConnectTimeout {
                upstream: upstream.clone(),
                after,
            }),
        }
    }

    /// Starts, once, the task that drops expired idle connections. It ends
    /// when the pool is dropped.
    fn start_sweeper(self: &Arc<Self>) {
        if self.sweeper_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let period = (self.settings.idle_timeout / 2).max(Duration::from_millis(10));
        let pool: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(pool) = pool.upgrade() else { break };
                pool.sweep();
            }
        });
    }

    fn sweep(&self) {
        let timeout = self.settings.idle_timeout;
        let mut idle = self.lock();
        idle.retain(|_, list| {
            list.retain(|entry| entry.since.elapsed() < timeout && !entry.sender.is_closed());
            !list.is_empty()
        });
    }
}

/// Opens a socket to `upstream` and sets up HTTP/1.1 on it.
async fn connect(upstream: &Upstream) -> Result<Sender, ProxyError> {
    let failed = |source| ProxyError::Connect {
        upstream: upstream.clone(),
        source,
    };
    match upstream {
        Upstream::Unix(path) => {
            let stream = UnixStream::connect(path).await.map_err(failed)?;
            handshake(stream, upstream).await
        }
        Upstream::UnixOwnedBy(path, uid) => {
            let stream = UnixStream::connect(path).await.map_err(failed)?;
            let peer = stream.peer_cred().map_err(failed)?;
            if peer.uid() != *uid {
                let message = format!("socket served by uid {}, expected {uid}", peer.uid());
                return Err(failed(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    message,
                )));
            }
            handshake(stream, upstream).await
        }
        Upstream::Tcp(addr) => {
            let stream = TcpStream::connect(addr).await.map_err(failed)?;
            stream.set_nodelay(true).map_err(failed)?;
            handshake(stream, upstream).await
        }
        Upstream::Gate(addr, key) => {
            let stream = crate::gate::open(*addr, &key.0).await.map_err(failed)?;
            handshake(stream, upstream).await
        }
    }
}

/// Sets up the HTTP/1.1 client on `stream` and drives the connection in a
/// task of its own, with upgrades enabled for WebSockets.
async fn handshake<S>(stream: S, upstream: &Upstream) -> Result<Sender, ProxyError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|source| ProxyError::Handshake {
            upstream: upstream.clone(),
            source,
        })?;
    let name = upstream.clone();
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            debug!(upstream = %name, %error, "upstream connection ended with an error");
        }
    });
    debug!(%upstream, "opened upstream connection");
    Ok(sender)
}
