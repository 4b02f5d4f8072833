//! Errors of the session service, each mapped to an HTTP status by the web layer.

use atelier_core::{InvalidInput, SessionId, SessionState};

/// Why a session request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The request itself is malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The kind exists but cannot run here.
    #[error("{kind} sessions are not available here: {reason}")]
    KindUnavailable {
        /// The kind asked for.
        kind: String,
        /// Why it cannot run.
        reason: String,
    },
    /// The user has no Linux account to run the session as.
    #[error("user {user} has no account on this server; ask an administrator to create one")]
    NoAccount {
        /// The Atelier user.
        user: String,
    },
    /// The user already has as many active sessions as allowed.
    #[error("you already have {limit} active sessions; stop one first")]
    TooManySessions {
        /// The per-user limit.
        limit: u32,
    },
    /// No such session, or not one the caller may see.
    #[error("session {0} not found")]
    NotFound(SessionId),
    /// The session is in a state that does not allow the request.
    #[error("session {id} is {state}; {hint}")]
    WrongState {
        /// The session.
        id: SessionId,
        /// Its current state.
        state: SessionState,
        /// What the caller can do instead.
        hint: &'static str,
    },
    /// No such job, or not one the caller may see.
    #[error("job {0} not found")]
    JobNotFound(atelier_core::JobId),
    /// The job has already ended.
    #[error("job {id} has already ended ({state})")]
    JobEnded {
        /// The job.
        id: atelier_core::JobId,
        /// Its state.
        state: atelier_core::JobState,
    },
    /// The job is still pending or running.
    #[error("job {0} is still running; cancel it first")]
    JobRunning(atelier_core::JobId),
    /// The backend failed.
    #[error("launcher: {0}")]
    Launch(#[from] atelier_launcher::LaunchError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] atelier_store::StoreError),
    /// Looking up the account failed.
    #[error("account lookup: {0}")]
    Os(#[from] atelier_os::OsError),
}
