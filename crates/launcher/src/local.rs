//! The local backend: sessions run on this machine, as the owner's account,
//! each under its own supervisor process.
//!
//! On disk, `<data_dir>/sessions/<id>/` (owned by the user, 0700) holds the
//! IDE's socket `ide.sock`, its log `ide.log` and, once the IDE has ended, the
//! supervisor's `exit.json`. Every process of a session carries
//! `ATELIER_SESSION_ID=<id>` in its environment, which is how a stop finds the
//! ones that left the supervisor's process group (Jupyter kernels do).

mod files;
mod handle;
mod launch;
mod probe;
mod stop;

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use atelier_core::Session;
use atelier_os::process::{is_alive, pids_with_env, ProcessInfo};

use crate::{Backend, Endpoint, LaunchError, LaunchSpec, Probe};
use handle::Handle;

pub use probe::connect_unix;

/// The environment variable that marks every process of a session.
pub(crate) const SESSION_MARKER: &str = "ATELIER_SESSION_ID";

/// Runs sessions on this machine under `<data_dir>/sessions`.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    /// Absolute path of `<data_dir>/sessions`.
    sessions: PathBuf,
}

impl LocalBackend {
    /// Ensures `<data_dir>` and `<data_dir>/sessions` exist with mode 0711
    /// (users may traverse them to their own session folder, not list them).
    pub fn new(data_dir: &Path) -> Result<Self, LaunchError> {
        let setup = |path: &Path| {
            let error = |source| LaunchError::Setup {
                path: path.to_owned(),
                source,
            };
            DirBuilder::new()
                .recursive(true)
                .mode(0o711)
                .create(path)
                .map_err(error)?;
            atelier_os::fs::set_mode(path, 0o711)
                .map_err(|e| error(std::io::Error::other(e.to_string())))
        };
        setup(data_dir)?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(|source| LaunchError::Setup {
                path: data_dir.to_owned(),
                source,
            })?;
        if data_dir.to_str().is_none() {
            let source = std::io::Error::other("the data folder's path must be UTF-8");
            return Err(LaunchError::Setup {
                path: data_dir,
                source,
            });
        }
        let sessions = data_dir.join("sessions");
        setup(&sessions)?;
        Ok(Self { sessions })
    }

    /// The folder of a session, derived from its id (never from stored text).
    fn session_dir(&self, session: &Session) -> PathBuf {
        self.sessions.join(session.id.as_str())
    }

    fn handle(&self, session: &Session) -> Result<Handle, LaunchError> {
        Handle::parse(session)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn launch(&self, session: &Session, spec: &LaunchSpec) -> Result<String, LaunchError> {
        launch::launch(&self.session_dir(session), session, spec)
    }

    async fn probe(&self, session: &Session) -> Probe {
        match self.handle(session) {
            Ok(handle) => probe::probe(session, &handle).await,
            Err(error) => {
                tracing::warn!(session_id = %session.id, %error, "probe without a usable handle");
                Probe::Gone
            }
        }
    }

    async fn stop(&self, session: &Session, grace: Duration) -> Result<(), LaunchError> {
        stop::stop(session, self.handle(session).ok().as_ref(), grace).await
    }

    fn endpoint(&self, session: &Session) -> Option<Endpoint> {
        self.handle(session).ok().map(|handle| Endpoint::Unix {
            path: handle.socket,
            uid: handle.uid,
        })
    }

    async fn log_tail(&self, session: &Session, lines: usize) -> Option<String> {
        let log = self.session_dir(session).join(launch::LOG_FILE);
        tokio::task::spawn_blocking(move || files::tail(&log, lines))
            .await
            .ok()?
    }

    /// Refuses while the supervisor or any marked process of the session lives.
    async fn cleanup(&self, session: &Session) -> Result<(), LaunchError> {
        let supervisor = self
            .handle(session)
            .ok()
            .filter(|h| is_alive(h.pid, h.start_time));
        let running = supervisor.map(|h| h.pid).or_else(|| {
            pids_with_env(SESSION_MARKER, session.id.as_str())
                .into_iter()
                .find(|pid| ProcessInfo::read(*pid).is_some_and(|p| !p.zombie))
        });
        if let Some(pid) = running {
            return Err(LaunchError::StillRunning {
                session: session.id.clone(),
                pid,
            });
        }
        let dir = self.session_dir(session);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(LaunchError::Io {
                session: session.id.clone(),
                action: "cannot remove",
                path: dir,
                source,
            }),
        }
    }
}
