//! Launching sessions: the backend trait, the local backend and the session supervisor.
//!
//! A [`Backend`] starts an IDE for a [`Session`], tells how it is doing
//! ([`Probe`]), where it answers ([`Endpoint`]) and stops it. The session
//! manager (the caller) drives the state machine and the store on top of it;
//! backends never touch the store.
//!
//! [`LocalBackend`] runs sessions on this machine as the owner's Linux account,
//! each under a [`supervisor`] (`atelier session-run`) that records how the IDE
//! ended and stops its whole process group on request. [`slurm::SlurmBackend`]
//! runs them as Slurm jobs, reached through the supervisor's gate, and
//! [`Clusters`] puts every configured backend behind one, choosing by the
//! session's cluster. A session launched
//! with [`OutputMode::Split`] (a job) has its stdout and stderr kept in files
//! that [`Backend::read_output`] reads from any offset.

mod clusters;
mod error;
mod local;
mod output;
pub mod slurm;
pub mod supervisor;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use atelier_core::Session;

pub use atelier_os::cgroup::Cgroups;
pub use atelier_proxy::gate::open as open_gate;
pub use clusters::{ClusterInfo, Clusters, Queue, LOCAL_CLUSTER};
pub use error::LaunchError;
pub use local::{connect_unix, LocalBackend};
pub use output::{OutputChunk, OutputMode, OutputStream};

/// The IDE's unix socket, in the session folder.
pub(crate) const SOCKET_FILE: &str = "ide.sock";

/// Where a running session answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket on this machine, served by a process of `uid`. The
    /// peer must be checked to run as that uid before anything is sent (see
    /// [`connect_unix`]).
    Unix {
        /// The socket.
        path: PathBuf,
        /// The uid the serving process must have.
        uid: u32,
    },
    /// A session gate on another node (Slurm): a TCP address that carries
    /// bytes to the IDE only after the session's secret (see
    /// `atelier_proxy::gate`).
    Gate(SocketAddr),
}

/// Where in a cluster a session should run: a queue (Slurm partition), a
/// time limit, GPUs. Empty for local sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The queue (partition); `None` for the cluster's default.
    pub queue: Option<String>,
    /// Time limit in minutes; `None` for the cluster's default.
    pub minutes: Option<u32>,
    /// GPUs to ask for.
    pub gpus: u32,
}

/// What to run for one session, built by the caller from the configuration.
#[derive(Clone, Debug)]
pub struct LaunchSpec {
    /// The account the session runs as.
    pub account: atelier_os::Account,
    /// The IDE program, by absolute path.
    pub program: PathBuf,
    /// Its arguments. They are world-readable (`/proc/<pid>/cmdline`): never
    /// put a secret here. The literal `{socket}` is replaced by the socket
    /// path, and `{dir}` by the session folder's absolute path.
    pub args: Vec<String>,
    /// Variables added to the clean environment, e.g. `JUPYTER_TOKEN`. The
    /// literal `{dir}` in a value is replaced by the session folder's path
    /// (e.g. `JUPYTER_PATH={dir}/jupyter`).
    pub env: Vec<(String, String)>,
    /// The HTTP path probed for readiness, e.g. `/s/<id>/api/status`.
    pub ready_path: String,
    /// The `atelier` binary, which has the `session-run` mode; it must be
    /// executable by the session's account.
    pub supervisor: PathBuf,
    /// How long the supervisor waits between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Resources the session is held to, if any: by a cgroup where the
    /// machine allows it, else memory by an address-space rlimit (see
    /// [`Backend::limits`] for what was applied).
    pub limits: Option<Limits>,
    /// Files written into the session folder (paths relative to it) before
    /// the IDE starts, owned by the user, mode 0600 in folders of mode 0700,
    /// e.g. Jupyter kernelspecs. Absolute paths, `..`, and the backend's own
    /// file names (`ide.log`, `ide.sock`, `exit.json`, `supervisor.log`,
    /// `stdout.log`, `stderr.log`, `output.log`) are refused.
    pub files: Vec<(PathBuf, String)>,
    /// Where the program's stdout and stderr go: `Log` for IDEs, `Split`
    /// for jobs (see [`OutputMode`]).
    pub output: OutputMode,
    /// Queue, time limit and GPUs, for backends that have them.
    pub placement: Placement,
}

/// Resources a session may use (`cpus`, `memory` in bytes); `describe()`
/// reads `1 CPU, 200M memory`.
pub use atelier_os::cgroup::Limits;

/// One look at a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Waiting in a resource manager's queue (Slurm), with the reason for
    /// people. `hopeless` when it can never start as asked (e.g. more
    /// memory than any node has): the caller should fail it.
    Queued {
        /// Why it waits, e.g. `waiting for resources`.
        reason: String,
        /// Whether it can never start as asked.
        hopeless: bool,
    },
    /// Started, not answering yet.
    Starting,
    /// Answering HTTP on its endpoint.
    Ready,
    /// Ended, and how: exit code, or the signal that killed it.
    Exited {
        /// The exit code, if it exited normally.
        code: Option<i32>,
        /// The signal number, if a signal ended it.
        signal: Option<i32>,
    },
    /// Gone without a record of how it ended.
    Gone,
    /// Ended in a way the backend can explain but the IDE did not record
    /// (a resource manager cancelled it, its time ran out, its node failed).
    Ended {
        /// Whether this counts as a failure rather than a stop.
        failed: bool,
        /// What happened, for people.
        reason: String,
    },
    /// The kernel killed a process of the session (the IDE or any child,
    /// e.g. a Jupyter kernel) for using more than its memory limit; the IDE
    /// itself may still run. The caller should stop the session and say so.
    OutOfMemory {
        /// The memory limit in bytes.
        limit: u64,
    },
}

/// A place where sessions run: this machine, a Slurm cluster, ...
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The backend's name, e.g. `local`.
    fn name(&self) -> &'static str;

    /// Starts the session; returns the opaque handle (JSON text) the caller
    /// stores in `Session::handle` and passes back in later calls.
    async fn launch(&self, session: &Session, spec: &LaunchSpec) -> Result<String, LaunchError>;

    /// One look at the session: still starting, answering, ended (with exit
    /// status), or gone without trace.
    async fn probe(&self, session: &Session) -> Probe;

    /// A cheaper look at a session already known to answer: whether it is
    /// still there, and how it ended if not. [`Probe::Ready`] here only
    /// means "still alive"; a backend may skip asking the IDE itself. The
    /// default is a full [`probe`](Backend::probe).
    async fn probe_alive(&self, session: &Session) -> Probe {
        self.probe(session).await
    }

    /// Graceful stop of everything the session started, then kill after
    /// `grace`; returns once no process of the session is left (verified), or
    /// an error saying what survived. Stopping an ended session is `Ok`.
    async fn stop(&self, session: &Session, grace: Duration) -> Result<(), LaunchError>;

    /// Where the session answers, from its handle.
    fn endpoint(&self, session: &Session) -> Option<Endpoint>;

    /// The last `lines` lines of the IDE's log (for failure reasons and the logs view).
    async fn log_tail(&self, session: &Session, lines: usize) -> Option<String>;

    /// Reads at most `max` bytes of one output stream of a session launched
    /// with [`OutputMode::Split`], from byte `offset` on. Readable while the
    /// session runs and after it ended, until [`Backend::cleanup`]. A stream
    /// not written yet reads as an empty chunk at offset 0; an offset past the
    /// end reads as an empty chunk at that offset.
    ///
    /// The default: [`LaunchError::NoOutput`], for backends that keep none.
    async fn read_output(
        &self,
        session: &Session,
        stream: OutputStream,
        offset: u64,
        max: usize,
    ) -> Result<OutputChunk, LaunchError> {
        let _ = (stream, offset, max);
        Err(LaunchError::NoOutput {
            session: session.id.clone(),
            backend: self.name(),
        })
    }

    /// Removes what the session left on disk (its folder, output files
    /// included), once it has ended.
    async fn cleanup(&self, session: &Session) -> Result<(), LaunchError>;

    /// What the backend knows about where the session stands beyond its
    /// state, for people (e.g. `Slurm job 12 on node1`, or the reason it
    /// waits in the queue); `None` when there is nothing to add.
    fn detail(&self, _session: &Session) -> Option<String> {
        None
    }

    /// How the session is held to its resource limits, for people, e.g.
    /// `cgroup v1: 1 CPU, 200M memory`; `None` when no limits were asked or
    /// the backend does not say.
    fn limits(&self, _session: &Session) -> Option<String> {
        None
    }

    /// The cluster this backend runs, with its queues and limits, for the
    /// new-session dialog and the admin page; `None` where there is
    /// nothing to tell beyond the backend's name.
    async fn cluster_info(&self) -> Option<ClusterInfo> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend that implements only what it must.
    struct Bare;

    #[async_trait]
    impl Backend for Bare {
        fn name(&self) -> &'static str {
            "bare"
        }
        async fn launch(&self, _: &Session, _: &LaunchSpec) -> Result<String, LaunchError> {
            Ok(String::new())
        }
        async fn probe(&self, _: &Session) -> Probe {
            Probe::Gone
        }
        async fn stop(&self, _: &Session, _: Duration) -> Result<(), LaunchError> {
            Ok(())
        }
        fn endpoint(&self, _: &Session) -> Option<Endpoint> {
            None
        }
        async fn log_tail(&self, _: &Session, _: usize) -> Option<String> {
            None
        }
        async fn cleanup(&self, _: &Session) -> Result<(), LaunchError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_backend_without_output_says_so() {
        use atelier_core::{SessionId, SessionKind, SessionState, Timestamp, UserName};
        let session = Session {
            id: SessionId::generate(),
            user: UserName::parse("alice").unwrap(),
            kind: SessionKind::parse("jupyterlab").unwrap(),
            name: "j".to_owned(),
            state: SessionState::Pending,
            node: None,
            cluster: "local".to_owned(),
            python: None,
            r: None,
            profile: None,
            created_at: Timestamp::now(),
            started_at: None,
            last_active_at: None,
            ended_at: None,
            error: None,
            exit_code: None,
            secret: String::new(),
            handle: None,
        };
        let error = Bare
            .read_output(&session, OutputStream::Combined, 0, 10)
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            LaunchError::NoOutput {
                backend: "bare",
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .contains("the bare backend keeps no output"),
            "{error}"
        );
    }
}
