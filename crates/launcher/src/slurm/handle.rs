//! The Slurm backend's handle, stored as JSON in `Session::handle`.

use std::path::PathBuf;

use atelier_core::Session;
use serde::{Deserialize, Serialize};

use crate::{LaunchError, OutputMode};

/// Where a Slurm session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Handle {
    /// Slurm's job id.
    pub(crate) job_id: u64,
    /// The session folder on shared storage.
    pub(crate) dir: PathBuf,
    /// The uid the session runs as (owner of its files).
    pub(crate) uid: u32,
    /// The HTTP path probed for readiness.
    pub(crate) ready_path: String,
    /// When the job was submitted (milliseconds since the epoch): a status
    /// query older than this cannot know the job yet.
    pub(crate) submitted_at: i64,
    /// The partition, if one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) partition: Option<String>,
    /// The resources asked for, for people.
    pub(crate) resources: String,
    /// Where the program's output goes.
    #[serde(default, skip_serializing_if = "OutputMode::is_log")]
    pub(crate) output: OutputMode,
}

impl Handle {
    pub(crate) fn parse(session: &Session) -> Result<Handle, LaunchError> {
        let bad = || LaunchError::BadHandle {
            session: session.id.clone(),
        };
        let text = session.handle.as_deref().ok_or_else(bad)?;
        serde_json::from_str(text).map_err(|_| bad())
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a handle serializes")
    }
}
