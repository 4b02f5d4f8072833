//! The local backend's handle: what the caller stores in `Session::handle`
//! so that a later call (or a restarted server) finds the session again.

use std::path::PathBuf;

use atelier_core::Session;
use serde::{Deserialize, Serialize};

use crate::LaunchError;

/// Where a local session runs. Stored as JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Handle {
    /// The supervisor's pid, which is also its process group and session id.
    pub(crate) pid: i32,
    /// The supervisor's start time (clock ticks since boot): guards against pid reuse.
    pub(crate) start_time: u64,
    /// The session folder.
    pub(crate) dir: PathBuf,
    /// The IDE's unix socket.
    pub(crate) socket: PathBuf,
    /// The uid the session runs as; the socket's peer must have it.
    pub(crate) uid: u32,
    /// The HTTP path probed for readiness.
    pub(crate) ready_path: String,
}

impl Handle {
    /// Reads the handle of `session`.
    pub(crate) fn parse(session: &Session) -> Result<Handle, LaunchError> {
        let bad = || LaunchError::BadHandle {
            session: session.id.clone(),
        };
        let text = session.handle.as_deref().ok_or_else(bad)?;
        serde_json::from_str(text).map_err(|_| bad())
    }

    /// The handle as JSON text.
    pub(crate) fn to_json(&self) -> String {
        // Numbers, strings and paths under the UTF-8 data folder (checked by
        // LocalBackend::new) always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}
