//! Looking at a local session: did its cgroup record an OOM kill, is its
//! supervisor alive, did it leave an exit record, and does the IDE answer
//! HTTP on its socket?

use std::path::Path;
use std::time::Duration;

use atelier_core::Session;
use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{AUTHORIZATION, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use atelier_os::cgroup::SessionCgroup;

use super::handle::Handle;
use super::{confine, files};
use crate::supervisor::{ExitRecord, EXIT_FILE};
use crate::{LaunchError, Probe};

/// How long one readiness request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest exit record read.
const EXIT_RECORD_LIMIT: u64 = 4096;

/// How far a look goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Up to an HTTP request to the IDE: is it ready?
    Answers,
    /// Only the process and its exit record: is it still there? A live
    /// session counts as [`Probe::Ready`].
    Alive,
}

/// One look at the session behind `handle`. An OOM kill in its cgroup wins
/// over everything else: the session has broken its limit, whether the IDE
/// itself or only one of its children (a Jupyter kernel) was killed.
pub(crate) async fn probe(
    session: &Session,
    handle: &Handle,
    cgroup: Option<&SessionCgroup>,
    depth: Depth,
) -> Probe {
    let alive = atelier_os::process::is_alive(handle.pid, handle.start_time);
    // The supervisor writes the record before it exits, so reading it after
    // seeing the supervisor dead cannot miss it.
    let record = read_exit_record(&handle.dir);
    if let Some(limit) = confine::out_of_memory(handle, cgroup, record.as_ref()) {
        return Probe::OutOfMemory { limit };
    }
    if let Some(record) = record {
        return Probe::Exited {
            code: record.code,
            signal: record.signal,
        };
    }
    if !alive {
        return Probe::Gone;
    }
    if depth == Depth::Alive {
        return Probe::Ready;
    }
    let request = answers(
        &handle.socket,
        handle.uid,
        &handle.ready_path,
        &session.secret,
    );
    match tokio::time::timeout(PROBE_TIMEOUT, request).await {
        Ok(true) => Probe::Ready,
        _ => Probe::Starting,
    }
}

/// The supervisor's `exit.json`, if it wrote one.
fn read_exit_record(dir: &Path) -> Option<ExitRecord> {
    let bytes = files::read_small(&dir.join(EXIT_FILE), EXIT_RECORD_LIMIT).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Connects to the unix socket at `path` and checks that the process behind
/// it runs as `uid`. The socket's folder belongs to the user, who could swap
/// the socket for a link to another service's socket; this check makes sure
/// that whatever answers can only be the user's own process.
pub async fn connect_unix(path: &Path, uid: u32) -> Result<UnixStream, LaunchError> {
    let connect_error = |source| LaunchError::Connect {
        path: path.to_owned(),
        source,
    };
    let stream = UnixStream::connect(path).await.map_err(connect_error)?;
    let actual = stream.peer_cred().map_err(connect_error)?.uid();
    if actual != uid {
        return Err(LaunchError::WrongPeer {
            path: path.to_owned(),
            expected: uid,
            actual,
        });
    }
    Ok(stream)
}

/// True if a `GET ready_path` with the session's token gets any HTTP answer below 500.
async fn answers(socket: &Path, uid: u32, ready_path: &str, secret: &str) -> bool {
    let stream = match connect_unix(socket, uid).await {
        Ok(stream) => stream,
        Err(error @ LaunchError::WrongPeer { .. }) => {
            tracing::warn!(%error, "session socket is not served by its owner");
            return false;
        }
        Err(_) => return false,
    };
    http_answers(stream, ready_path, secret).await
}

/// True if `GET ready_path` with the session's token, sent on `stream`,
/// gets any HTTP answer below 500.
pub(crate) async fn http_answers<S>(stream: S, ready_path: &str, secret: &str) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    else {
        return false;
    };
    let connection = AbortOnDrop(tokio::spawn(connection));
    let request = Request::get(ready_path)
        .header(HOST, "localhost")
        .header(AUTHORIZATION, format!("token {secret}"))
        .body(Empty::<Bytes>::new());
    let Ok(request) = request else { return false };
    let answered = sender
        .send_request(request)
        .await
        .is_ok_and(|r| r.status().as_u16() < 500);
    drop(connection);
    answered
}

/// Aborts a spawned task when dropped (also when a timeout drops the probe).
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
