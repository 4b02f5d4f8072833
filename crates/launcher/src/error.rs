//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

use atelier_core::SessionId;
use atelier_os::OsError;

/// Why a backend operation failed, naming the session and path involved.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The backend's own folders could not be prepared.
    #[error("cannot prepare {}", .path.display())]
    Setup {
        /// The folder.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
    /// A file operation for a session failed.
    #[error("session {session}: {action} {}", .path.display())]
    Io {
        /// The session.
        session: SessionId,
        /// What was being done, e.g. `cannot create`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
    /// An operating-system call for a session failed (ownership, signals, privilege).
    #[error("session {session}: operating-system call failed")]
    Os {
        /// The session.
        session: SessionId,
        /// The failed call.
        #[source]
        source: OsError,
    },
    /// The socket path does not fit a unix socket address.
    #[error("session {session}: socket path {} is {len} bytes; it must be under {limit} (use a shorter data_dir)", .path.display())]
    SocketPathTooLong {
        /// The session.
        session: SessionId,
        /// The socket path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The session's folder already exists: it was launched before.
    #[error("session {session}: {} already exists", .path.display())]
    AlreadyLaunched {
        /// The session.
        session: SessionId,
        /// Its folder.
        path: PathBuf,
    },
    /// A file of `LaunchSpec::files` does not name a plain path inside the
    /// session folder (absolute, `..`, empty, or one of the backend's own files).
    #[error("session {session}: refusing to write {}: not a plain relative path in the session folder", .path.display())]
    BadFilePath {
        /// The session.
        session: SessionId,
        /// The refused path.
        path: PathBuf,
    },
    /// The supervisor process could not be started.
    #[error("session {session}: cannot start {}", .program.display())]
    Spawn {
        /// The session.
        session: SessionId,
        /// The supervisor program.
        program: PathBuf,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
    /// The session has no handle, or one this backend cannot read.
    #[error("session {session}: missing or unreadable handle")]
    BadHandle {
        /// The session.
        session: SessionId,
    },
    /// Processes of the session were still there after the stop.
    #[error("session {session}: processes survived the stop: {pids:?}")]
    Survivors {
        /// The session.
        session: SessionId,
        /// Their pids.
        pids: Vec<i32>,
    },
    /// The operation needs the session to have ended, and it has not.
    #[error("session {session}: still running (supervisor pid {pid})")]
    StillRunning {
        /// The session.
        session: SessionId,
        /// The supervisor's pid.
        pid: i32,
    },
    /// A unix socket's peer is not the expected account.
    #[error("socket {} is served by uid {actual}, expected uid {expected}", .path.display())]
    WrongPeer {
        /// The socket.
        path: PathBuf,
        /// The uid the session runs as.
        expected: u32,
        /// The uid of the process behind the socket.
        actual: u32,
    },
    /// A unix socket could not be connected to.
    #[error("cannot connect to {}", .path.display())]
    Connect {
        /// The socket.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
    /// A file the backend reads from the session folder is a symlink, a
    /// FIFO or other special file, or someone else's (the folder is the
    /// user's, who may put anything there).
    #[error("session {session}: refusing to read {}: {reason}", .path.display())]
    UnsafeFile {
        /// The session.
        session: SessionId,
        /// The refused path.
        path: PathBuf,
        /// Why, e.g. `a symlink`.
        reason: &'static str,
    },
    /// The session has no output to read: the backend keeps none, or the
    /// session was not launched with `OutputMode::Split`.
    #[error("session {session}: the {backend} backend keeps no output for it")]
    NoOutput {
        /// The session.
        session: SessionId,
        /// The backend's name.
        backend: &'static str,
    },
    /// The request cannot be run where it was sent (more than the cluster
    /// or its largest node offers, an unknown queue): the message says why,
    /// for the user.
    #[error("session {session}: {message}")]
    Refused {
        /// The session.
        session: SessionId,
        /// Why, for people.
        message: String,
    },
    /// A resource manager's command failed (e.g. `sbatch` refused the job).
    #[error("session {session}: {command}: {message}")]
    Scheduler {
        /// The session.
        session: SessionId,
        /// The command, e.g. `sbatch`.
        command: &'static str,
        /// What it said.
        message: String,
    },
    /// The supervisor's command line is not
    /// `--dir D --grace-ms N [--split-output] -- PROGRAM [ARGS...]`.
    #[error("session-run: {0}")]
    Usage(String),
}
