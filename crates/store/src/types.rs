//! The records the store keeps besides the domain's own: API tokens, browser
//! logins, audit events, and the filter and change sets for sessions.

use std::fmt;

use atelier_core::{JobState, SessionState, Timestamp, UserName};

use crate::error::short;

/// An API token. Only the hash of the token text is stored; the text itself
/// is shown to its owner once and never kept.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public id of the token, used to list and delete it.
    pub id: String,
    /// The owner; requests with the token act as this user.
    pub user: UserName,
    /// Hash of the token text (unique).
    pub hash: String,
    /// The owner's label for it, e.g. `laptop`.
    pub label: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used, if ever.
    pub last_used_at: Option<Timestamp>,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("hash", &short(&self.hash))
            .field("label", &self.label)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

/// A browser login (cookie). Only the hash of the cookie token is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// Hash of the cookie token (unique).
    pub hash: String,
    /// Who logged in.
    pub user: UserName,
    /// When they logged in.
    pub created_at: Timestamp,
    /// When the login stops being accepted.
    pub expires_at: Timestamp,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("hash", &short(&self.hash))
            .field("user", &self.user)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// One line of the audit log: who did what to what, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened.
    pub at: Timestamp,
    /// Who did it; None for the system itself or an unknown caller.
    pub user: Option<UserName>,
    /// What was done, e.g. `session.start` or `login.failed`.
    pub action: String,
    /// What it was done to, e.g. a session id.
    pub target: Option<String>,
    /// Free-form detail for administrators. Never a secret.
    pub detail: Option<String>,
}

/// Which sessions to list; every field that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only this user's sessions.
    pub user: Option<UserName>,
    /// Only sessions in one of these states (an empty list matches none).
    pub states: Option<Vec<SessionState>>,
    /// Only sessions placed on this node.
    pub node: Option<String>,
}

/// Fields to set; None leaves a column as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionChange {
    /// The new state.
    pub state: Option<SessionState>,
    /// The node that hosts the session.
    pub node: Option<String>,
    /// When the IDE first answered.
    pub started_at: Option<Timestamp>,
    /// When the session ended.
    pub ended_at: Option<Timestamp>,
    /// Why it failed or stopped.
    pub error: Option<String>,
    /// Exit status of the IDE process.
    pub exit_code: Option<i32>,
    /// The backend's handle (JSON text).
    pub handle: Option<String>,
    /// Last activity.
    pub last_active_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shortens_hashes() {
        let user = UserName::parse("alice").unwrap();
        let hash = "0123456789abcdef0123456789abcdef".to_owned();
        let at = Timestamp::from_millis(0);
        let login = Login {
            hash: hash.clone(),
            user: user.clone(),
            created_at: at,
            expires_at: at,
        };
        let token = ApiToken {
            id: "t1".into(),
            user,
            hash: hash.clone(),
            label: "laptop".into(),
            created_at: at,
            last_used_at: None,
        };
        for text in [format!("{login:?}"), format!("{token:?}")] {
            assert!(!text.contains(&hash), "{text}");
            assert!(text.contains("01234567…"), "{text}");
        }
    }
}

/// Which jobs to list; every field that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this user's jobs.
    pub user: Option<UserName>,
    /// Only jobs in one of these states (an empty list matches none).
    pub states: Option<Vec<JobState>>,
    /// Only jobs whose name contains this text (case-insensitive).
    pub name_contains: Option<String>,
    /// Only jobs created at or after this time.
    pub created_after: Option<Timestamp>,
    /// Only jobs created before this time.
    pub created_before: Option<Timestamp>,
    /// Only jobs that ended before this time (for pruning).
    pub ended_before: Option<Timestamp>,
    /// Only jobs run by this node.
    pub node: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// Fields of a job to set; None leaves a column as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobChange {
    /// The new state.
    pub state: Option<JobState>,
    /// The node that runs it.
    pub node: Option<String>,
    /// When its process started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// Why it failed or was canceled.
    pub error: Option<String>,
    /// The backend's handle.
    pub handle: Option<String>,
}
