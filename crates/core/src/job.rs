//! Jobs: a script or command run in the background as its user, through the
//! same launcher as sessions, with its output kept in files.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{InvalidInput, Timestamp, UserName};

/// Identifier of a job: 128 random bits as 32 lowercase hex digits.
pub type JobId = crate::SessionId;

/// Where a job is in its life.
///
/// ```text
/// pending ─> running ─> finished | failed | canceled
///    └──────────────────> failed | canceled
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Recorded, not yet started.
    Pending,
    /// Its process runs.
    Running,
    /// Ended with exit code 0.
    Finished,
    /// Ended with another exit code, by a signal, or could not start.
    Failed,
    /// Stopped on request.
    Canceled,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Finished,
        JobState::Failed,
        JobState::Canceled,
    ];

    /// The state as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
            JobState::Canceled => "canceled",
        }
    }

    /// Parses a state name.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| InvalidInput::new("state", format!("unknown job state {text:?}")))
    }

    /// True once the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Finished | JobState::Failed | JobState::Canceled
        )
    }

    /// Whether a job may move from `self` to `next`.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, next),
            (Pending, Running | Failed | Canceled) | (Running, Finished | Failed | Canceled)
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for a new job, as the API and CLI take it. Exactly one of
/// `command` (an argument vector, never a shell string) and `script` (a
/// file run with the interpreter its extension names: `.py` Python, `.R`
/// R, `.sh` bash, otherwise run directly) is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// A name for the user's own use; defaults to the script or program name.
    #[serde(default)]
    pub name: Option<String>,
    /// Program and arguments.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Absolute path of a script to run.
    #[serde(default)]
    pub script: Option<String>,
    /// Arguments after the script.
    #[serde(default)]
    pub args: Vec<String>,
    /// Working directory (absolute); default the user's home.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Environment additions.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Python version, by name from `GET /kinds`.
    #[serde(default)]
    pub python: Option<String>,
    /// R version, by name from `GET /kinds`.
    #[serde(default)]
    pub r: Option<String>,
    /// Resource profile.
    #[serde(default)]
    pub profile: Option<String>,
    /// Cluster; `local` by default.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Queue within the cluster.
    #[serde(default)]
    pub queue: Option<String>,
}

/// The record Atelier keeps of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Unguessable id.
    pub id: JobId,
    /// The owner; the job runs as this account.
    pub user: UserName,
    /// The owner's name for it.
    pub name: String,
    /// Current state.
    pub state: JobState,
    /// The full argument vector that runs (interpreter, script, arguments).
    pub command: Vec<String>,
    /// Working directory.
    pub workdir: String,
    /// Environment additions.
    pub env: std::collections::BTreeMap<String, String>,
    /// Chosen Python version name.
    pub python: Option<String>,
    /// Chosen R version name.
    pub r: Option<String>,
    /// Chosen profile name.
    pub profile: Option<String>,
    /// Where it runs.
    pub cluster: String,
    /// The node that runs it.
    pub node: Option<String>,
    /// When it was submitted.
    pub created_at: Timestamp,
    /// When its process started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Why it failed or was canceled.
    pub error: Option<String>,
    /// Backend-specific location of the running job (JSON text).
    pub handle: Option<String>,
}
