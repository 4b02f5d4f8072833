//! The local backend: sessions run on this machine, as the owner's account,
//! each under its own supervisor process.
//!
//! On disk, `<data_dir>/sessions/<id>/` (owned by the user, 0700) holds the
//! IDE's socket `ide.sock`, its log `ide.log` and, once the IDE has ended, the
//! supervisor's `exit.json`. A split-output session (a job) has
//! `supervisor.log` instead of `ide.log`, and its output in `stdout.log`,
//! `stderr.log` and `output.log`. Every process of a session carries
//! `ATELIER_SESSION_ID=<id>` in its environment, which is how a stop finds the
//! ones that left the supervisor's process group (Jupyter kernels do).
//!
//! A session with limits gets the cgroup `atelier/<id>` under the server's
//! own groups when cgroups are usable (detected once, in [`LocalBackend::new`]),
//! and an address-space rlimit otherwise; the handle says which (`limits`)
//! and where the group is (`cgroup`), so a restarted server finds it again.
//! Stop kills every member of the group; cleanup removes it.

mod census;
mod confine;
pub(crate) mod files;
mod handle;
pub(crate) mod launch;
pub(crate) mod output;
pub(crate) mod probe;
mod stop;

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atelier_core::{Session, SessionId};
use atelier_os::cgroup::{Cgroups, SessionCgroup};
use atelier_os::process::is_alive;
use atelier_os::OsError;

use crate::{
    Backend, Endpoint, LaunchError, LaunchSpec, OutputChunk, OutputMode, OutputStream, Probe,
};
use census::Census;
use handle::Handle;

pub use probe::connect_unix;

/// The environment variable that marks every process of a session.
pub(crate) const SESSION_MARKER: &str = "ATELIER_SESSION_ID";
/// Empty session groups older than this, found at start, are leftovers.
const LEFTOVER_AGE: Duration = Duration::from_secs(60);

/// Runs sessions on this machine under `<data_dir>/sessions`.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    /// Absolute path of `<data_dir>/sessions`.
    sessions: PathBuf,
    /// The cgroup hierarchies, or why they cannot be used.
    cgroups: Result<Cgroups, String>,
    /// Readings of `/proc`, shared by stops and cleanups running at once.
    census: Arc<Census>,
}

impl LocalBackend {
    /// Ensures `<data_dir>` and `<data_dir>/sessions` exist with mode 0711
    /// (users may traverse them to their own session folder, not list them),
    /// detects cgroups ([`Cgroups::try_detect`]) and removes empty session
    /// groups left by an earlier run.
    pub fn new(data_dir: &Path) -> Result<Self, LaunchError> {
        let cgroups = Cgroups::try_detect().map_err(|error| match error {
            OsError::CgroupsUnusable { reason } => reason,
            other => other.to_string(),
        });
        Self::with_cgroups(data_dir, cgroups)
    }

    /// [`LocalBackend::new`] with the cgroup hierarchies given, or the
    /// reason why none are used (then limits fall back to rlimits).
    pub fn with_cgroups(
        data_dir: &Path,
        cgroups: Result<Cgroups, String>,
    ) -> Result<Self, LaunchError> {
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
        match &cgroups {
            Ok(found) => {
                let version = found.version().name();
                tracing::info!(cgroup = version, "sessions get cgroups for their limits");
                let removed = found.remove_empty(LEFTOVER_AGE);
                let removed = removed.iter().filter(|name| SessionId::parse(name).is_ok());
                for name in removed {
                    tracing::info!(session_id = %name, "removed a leftover session cgroup");
                }
            }
            Err(reason) => {
                tracing::warn!(%reason, "cgroups unusable: session memory is limited by rlimit only, CPU not at all");
            }
        }
        Ok(Self {
            sessions,
            cgroups,
            census: Arc::default(),
        })
    }

    /// The cgroup hierarchies sessions are limited by, or why there are none
    /// (for the administrator's view).
    pub fn cgroups(&self) -> Result<&Cgroups, &str> {
        self.cgroups.as_ref().map_err(String::as_str)
    }

    /// The folder of a session, derived from its id (never from stored text).
    fn session_dir(&self, session: &Session) -> PathBuf {
        self.sessions.join(session.id.as_str())
    }

    fn handle(&self, session: &Session) -> Result<Handle, LaunchError> {
        Handle::parse(session)
    }

    async fn look(&self, session: &Session, depth: probe::Depth) -> Probe {
        match self.handle(session) {
            Ok(handle) => {
                let cgroup = self.cgroup(session, Some(&handle));
                probe::probe(session, &handle, cgroup.as_ref(), depth).await
            }
            Err(error) => {
                tracing::warn!(session_id = %session.id, %error, "probe without a usable handle");
                Probe::Gone
            }
        }
    }

    /// The session's cgroup, if it has one.
    fn cgroup(&self, session: &Session, handle: Option<&Handle>) -> Option<SessionCgroup> {
        confine::find(&self.cgroups, session, handle)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn launch(&self, session: &Session, spec: &LaunchSpec) -> Result<String, LaunchError> {
        launch::launch(&self.session_dir(session), session, spec, &self.cgroups)
    }

    async fn probe(&self, session: &Session) -> Probe {
        self.look(session, probe::Depth::Answers).await
    }

    /// Skips the HTTP request: the process and its exit record tell whether
    /// a running session is still there, at a fraction of the cost.
    async fn probe_alive(&self, session: &Session) -> Probe {
        self.look(session, probe::Depth::Alive).await
    }

    async fn stop(&self, session: &Session, grace: Duration) -> Result<(), LaunchError> {
        let handle = self.handle(session).ok();
        let cgroup = self.cgroup(session, handle.as_ref());
        stop::stop(
            session,
            handle.as_ref(),
            cgroup.as_ref(),
            grace,
            &self.census,
        )
        .await
    }

    fn endpoint(&self, session: &Session) -> Option<Endpoint> {
        self.handle(session).ok().map(|handle| Endpoint::Unix {
            path: handle.socket,
            uid: handle.uid,
        })
    }

    /// The tail of `ide.log`; for a split-output session, the tail of its
    /// combined output followed by the tail of `supervisor.log`.
    async fn log_tail(&self, session: &Session, lines: usize) -> Option<String> {
        let dir = self.session_dir(session);
        let mode = self.handle(session).map_or(OutputMode::Log, |h| h.output);
        tokio::task::spawn_blocking(move || output::tail(&dir, mode, lines))
            .await
            .ok()?
    }

    /// Reads `<dir>/output.log`, `stdout.log` or `stderr.log`: never through
    /// a symlink, only a regular file owned by the session's user, at most
    /// 4 MiB at once. [`LaunchError::NoOutput`] for a session launched with
    /// [`OutputMode::Log`].
    async fn read_output(
        &self,
        session: &Session,
        stream: OutputStream,
        offset: u64,
        max: usize,
    ) -> Result<OutputChunk, LaunchError> {
        let handle = self.handle(session).ok();
        if handle.as_ref().is_some_and(|h| h.output == OutputMode::Log) {
            return Err(LaunchError::NoOutput {
                session: session.id.clone(),
                backend: self.name(),
            });
        }
        let path = self.session_dir(session).join(stream.file_name());
        let (id, uid) = (session.id.clone(), handle.map(|h| h.uid));
        let read_path = path.clone();
        let read = move || output::read(&id, &read_path, uid, offset, max);
        match tokio::task::spawn_blocking(read).await {
            Ok(chunk) => chunk,
            Err(join) => Err(LaunchError::Io {
                session: session.id.clone(),
                action: "cannot read",
                path,
                source: std::io::Error::other(join),
            }),
        }
    }

    /// Refuses while the supervisor, any marked process of the session or
    /// any member of its cgroup lives; removes the folder, then the cgroup.
    async fn cleanup(&self, session: &Session) -> Result<(), LaunchError> {
        let handle = self.handle(session).ok();
        let cgroup = self.cgroup(session, handle.as_ref());
        let supervisor = handle.as_ref().filter(|h| is_alive(h.pid, h.start_time));
        let running = match supervisor {
            Some(h) => Some(h.pid),
            None => {
                let table = self.census.fresh().await;
                let uid = handle.as_ref().map(|h| h.uid);
                let marked = table.marked(session.id.as_str(), uid).next();
                marked.or_else(|| cgroup.as_ref()?.members().first().copied())
            }
        };
        if let Some(pid) = running {
            return Err(LaunchError::StillRunning {
                session: session.id.clone(),
                pid,
            });
        }
        let dir = self.session_dir(session);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LaunchError::Io {
                    session: session.id.clone(),
                    action: "cannot remove",
                    path: dir,
                    source,
                })
            }
        }
        let Some(cgroup) = cgroup else { return Ok(()) };
        let path = cgroup.dirs().swap_remove(0);
        match tokio::task::spawn_blocking(move || cgroup.remove()).await {
            Ok(removed) => removed.map_err(|source| LaunchError::Os {
                session: session.id.clone(),
                source,
            }),
            Err(join) => Err(LaunchError::Io {
                session: session.id.clone(),
                action: "cannot remove cgroup",
                path,
                source: std::io::Error::other(join),
            }),
        }
    }

    fn limits(&self, session: &Session) -> Option<String> {
        self.handle(session).ok()?.limits
    }
}
