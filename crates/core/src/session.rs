//! Sessions: what a user asks for, the record Atelier keeps, and the legal
//! moves between states. Every backend (local, Slurm, Kubernetes) drives the
//! same state machine, checked here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{InvalidInput, SessionId, Timestamp, UserName};

/// The kind of IDE a session runs: `jupyterlab`, `notebook`, `vscode`,
/// `rstudio`, or a custom kind defined in the configuration. A kind name is
/// 1–32 characters of `a-z`, `0-9` and `-`, starting with a letter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "jupyterlab")]
pub struct SessionKind(String);

impl SessionKind {
    /// JupyterLab.
    pub const JUPYTERLAB: &'static str = "jupyterlab";
    /// Jupyter Notebook 7.
    pub const NOTEBOOK: &'static str = "notebook";
    /// VS Code through code-server.
    pub const VSCODE: &'static str = "vscode";
    /// RStudio Server's `rserver`.
    pub const RSTUDIO: &'static str = "rstudio";

    /// Parses and validates a kind name.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let mut bytes = text.bytes();
        let first_ok = matches!(bytes.next(), Some(b'a'..=b'z'));
        let rest_ok = bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
        if first_ok && rest_ok && text.len() <= 32 {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::new(
                "kind",
                "a session kind is 1-32 characters of a-z, 0-9 and '-', starting with a letter",
            ))
        }
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionKind {
    type Error = InvalidInput;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<SessionKind> for String {
    fn from(kind: SessionKind) -> Self {
        kind.0
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKind({})", self.0)
    }
}

/// Where a session is in its life.
///
/// ```text
/// pending ─> starting ─> running ─> stopping ─> stopped
///    │          │           │          │
///    └──────────┴───────────┴──────────┴──> failed | lost
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Recorded, not yet handed to a backend.
    Pending,
    /// The backend started it; the IDE is not answering yet.
    Starting,
    /// The IDE answers through its endpoint.
    Running,
    /// A stop was asked for; the IDE is being shut down.
    Stopping,
    /// Ended normally, by a stop or by the IDE exiting cleanly.
    Stopped,
    /// Ended abnormally; the session's `error` says why.
    Failed,
    /// Its process or node vanished without a trace of how it ended.
    Lost,
}

impl SessionState {
    /// Every state, in life order.
    pub const ALL: [SessionState; 7] = [
        SessionState::Pending,
        SessionState::Starting,
        SessionState::Running,
        SessionState::Stopping,
        SessionState::Stopped,
        SessionState::Failed,
        SessionState::Lost,
    ];

    /// The states in which a session may still hold a process somewhere.
    pub const ACTIVE: [SessionState; 4] = [
        SessionState::Pending,
        SessionState::Starting,
        SessionState::Running,
        SessionState::Stopping,
    ];

    /// The state as stored and shown, e.g. `running`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Pending => "pending",
            SessionState::Starting => "starting",
            SessionState::Running => "running",
            SessionState::Stopping => "stopping",
            SessionState::Stopped => "stopped",
            SessionState::Failed => "failed",
            SessionState::Lost => "lost",
        }
    }

    /// Parses a state name.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| InvalidInput::new("state", format!("unknown session state {text:?}")))
    }

    /// True once nothing more will happen to the session.
    pub fn is_terminal(self) -> bool {
        matches!(self, SessionState::Stopped | SessionState::Failed)
    }

    /// True while the session may hold a process somewhere.
    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }

    /// Whether a session may move from `self` to `next`. A lost session may
    /// come back (`running`) when its node or process is found again, or be
    /// closed (`stopped`, `failed`).
    pub fn can_become(self, next: SessionState) -> bool {
        use SessionState::*;
        matches!(
            (self, next),
            (Pending, Starting | Stopping | Stopped | Failed)
                | (Starting, Running | Stopping | Stopped | Failed | Lost)
                | (Running, Stopping | Stopped | Failed | Lost)
                | (Stopping, Stopped | Failed | Lost)
                | (Lost, Running | Stopping | Stopped | Failed)
        )
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for a new session, as the API and CLI take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// The session kind, e.g. `jupyterlab`.
    pub kind: SessionKind,
    /// A name for the user's own use; defaults to the kind.
    #[serde(default)]
    pub name: Option<String>,
    /// The Python version, by name from `GET /kinds`.
    #[serde(default)]
    pub python: Option<String>,
    /// The R version, by name from `GET /kinds`.
    #[serde(default)]
    pub r: Option<String>,
    /// The resource profile, by name from `GET /kinds`.
    #[serde(default)]
    pub profile: Option<String>,
    /// The cluster to run on; `local` by default.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The queue (partition) within the cluster.
    #[serde(default)]
    pub queue: Option<String>,
}

impl NewSession {
    /// The display name the session will carry: the given one, trimmed, or
    /// the kind when none was given. Rejects names longer than 100
    /// characters or containing control characters.
    pub fn display_name(&self) -> Result<String, InvalidInput> {
        let name = self.name.as_deref().map(str::trim).unwrap_or("");
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "name",
                "a session name is at most 100 characters, without control characters",
            ));
        }
        Ok(if name.is_empty() {
            self.kind.to_string()
        } else {
            name.to_owned()
        })
    }
}

/// The record Atelier keeps of a session. The `secret` authenticates the
/// proxy to the IDE and never leaves the server; `handle` is the backend's
/// own opaque description of where the session runs (for the local backend:
/// supervisor pid, its start time, socket path).
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Unguessable id, also the proxy path `/s/{id}/`.
    pub id: SessionId,
    /// The owner; the session runs as this account.
    pub user: UserName,
    /// The IDE kind.
    pub kind: SessionKind,
    /// The owner's name for it.
    pub name: String,
    /// Current state.
    pub state: SessionState,
    /// The node that hosts it, once placed.
    pub node: Option<String>,
    /// The cluster it runs on (`local` for this server's own processes).
    pub cluster: String,
    /// Chosen Python version name.
    pub python: Option<String>,
    /// Chosen R version name.
    pub r: Option<String>,
    /// Chosen resource profile name.
    pub profile: Option<String>,
    /// When it was requested.
    pub created_at: Timestamp,
    /// When the IDE first answered.
    pub started_at: Option<Timestamp>,
    /// Last proxied traffic or kernel activity.
    pub last_active_at: Option<Timestamp>,
    /// When it reached a terminal or lost state.
    pub ended_at: Option<Timestamp>,
    /// Why it failed or stopped, for the user.
    pub error: Option<String>,
    /// Exit status of the IDE process, when known.
    pub exit_code: Option<i32>,
    /// Shared secret between proxy and IDE. Never logged, never in the API.
    pub secret: String,
    /// Backend-specific location of the running session (JSON text).
    pub handle: Option<String>,
}

impl Session {
    /// The proxy path of the session, `/s/{id}/`.
    pub fn url(&self) -> String {
        format!("/s/{}/", self.id)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("node", &self.node)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionState::*;

    #[test]
    fn terminal_states_go_nowhere() {
        for from in [Stopped, Failed] {
            for to in SessionState::ALL {
                assert!(!from.can_become(to), "{from} -> {to} allowed");
            }
        }
    }

    #[test]
    fn the_happy_path_is_legal() {
        let path = [Pending, Starting, Running, Stopping, Stopped];
        for pair in path.windows(2) {
            assert!(pair[0].can_become(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn no_going_back_to_pending_or_starting() {
        for from in SessionState::ALL {
            assert!(!from.can_become(Pending));
            assert!(
                from == Pending || !from.can_become(Starting),
                "{from} -> starting"
            );
        }
    }

    #[test]
    fn state_names_round_trip() {
        for state in SessionState::ALL {
            assert_eq!(SessionState::parse(state.as_str()).unwrap(), state);
        }
    }

    #[test]
    fn new_session_rejects_unknown_fields_and_bad_names() {
        let unknown = r#"{"kind":"jupyterlab","colour":"red"}"#;
        assert!(serde_json::from_str::<NewSession>(unknown).is_err());
        let bad_kind = r#"{"kind":"Jupyter Lab"}"#;
        assert!(serde_json::from_str::<NewSession>(bad_kind).is_err());
        let req: NewSession = serde_json::from_str(r#"{"kind":"jupyterlab"}"#).unwrap();
        assert_eq!(req.display_name().unwrap(), "jupyterlab");
        let ctrl = NewSession {
            name: Some("a\u{7}b".into()),
            ..req
        };
        assert!(ctrl.display_name().is_err());
    }
}
