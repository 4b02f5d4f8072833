//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

use crate::Signal;

/// A failed operating-system call, naming what it was about.
#[derive(Debug, thiserror::Error)]
pub enum OsError {
    /// The account database could not be read for this name.
    #[error("cannot look up account {name:?}")]
    Lookup {
        /// The account name asked for.
        name: String,
        /// What the C library reported.
        #[source]
        source: io::Error,
    },
    /// The account database could not be read for this uid.
    #[error("cannot look up uid {uid}")]
    LookupUid {
        /// The uid asked for.
        uid: u32,
        /// What the C library reported.
        #[source]
        source: io::Error,
    },
    /// No account has this uid (the process runs under an unnamed uid).
    #[error("no account has uid {uid}")]
    NoSuchUid {
        /// The uid asked for.
        uid: u32,
    },
    /// An account name that cannot be passed to the C library (it holds a NUL byte).
    #[error("invalid account name {name:?}")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// This process may not switch to the account: it is not root and the
    /// account is not its own.
    #[error("cannot run as {name:?} (uid {uid}): the server is not root")]
    NotPermitted {
        /// The target account.
        name: String,
        /// The target uid.
        uid: u32,
    },
    /// A pid or process group that must never be signalled (0, 1 or negative).
    #[error("refusing to signal pid {pid}")]
    InvalidPid {
        /// The rejected pid.
        pid: i32,
    },
    /// `kill(2)` failed for a reason other than "no such process".
    #[error("cannot send {signal:?} to {target}")]
    Signal {
        /// `pid N` or `group N`.
        target: String,
        /// The signal.
        signal: Signal,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
    /// A file system call failed on this path.
    #[error("{action} {}", .path.display())]
    Fs {
        /// What was being done, e.g. `cannot chown`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
    /// Cgroups cannot hold sessions to limits on this machine; the reason is
    /// meant for administrators (and the UI).
    #[error("cgroups are not usable: {reason}")]
    CgroupsUnusable {
        /// Why: not root, read-only, a missing controller, ...
        reason: String,
    },
    /// A cgroup name or folder that Atelier refuses to use.
    #[error("refusing cgroup {}: {reason}", .path.display())]
    BadCgroup {
        /// The name or folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Limits that cannot be applied (zero, negative or not a number).
    #[error("invalid resource limits: {reason}")]
    InvalidLimits {
        /// What is wrong.
        reason: &'static str,
    },
    /// Processes were still in the cgroup after repeated SIGKILLs.
    #[error("processes survived in cgroup {}: {pids:?}", .path.display())]
    CgroupBusy {
        /// The cgroup folder.
        path: PathBuf,
        /// The survivors.
        pids: Vec<i32>,
    },
}
