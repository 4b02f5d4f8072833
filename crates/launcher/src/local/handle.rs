//! The local backend's handle: what the caller stores in `Session::handle`
//! so that a later call (or a restarted server) finds the session again.

use std::path::PathBuf;

use atelier_core::Session;
use serde::{Deserialize, Serialize};

use crate::{LaunchError, OutputMode};

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
    /// How the session is held to its limits, for people, e.g.
    /// `cgroup v1: 1 CPU, 200M memory`; absent when none were asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limits: Option<String>,
    /// The session's cgroup, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cgroup: Option<CgroupRecord>,
    /// Where the program's output goes; absent means `log` (older handles).
    #[serde(default, skip_serializing_if = "OutputMode::is_log")]
    pub(crate) output: OutputMode,
}

/// Where a session's cgroup is, so that a restarted server (which may itself
/// run in another group) finds it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CgroupRecord {
    /// `v1` or `v2`.
    pub(crate) version: String,
    /// Its folders: memory then cpu (v1), or the one folder (v2).
    pub(crate) dirs: Vec<PathBuf>,
    /// The memory limit in bytes, if one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) memory: Option<u64>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_without_limits_reads_as_before_and_limits_round_trip() {
        let old = r#"{"pid":5,"start_time":9,"dir":"/d","socket":"/d/ide.sock","uid":1000,"ready_path":"/"}"#;
        let handle: Handle = serde_json::from_str(old).unwrap();
        assert_eq!((handle.limits.clone(), handle.cgroup.clone()), (None, None));
        assert_eq!(handle.to_json(), old, "no limits, no new keys");
        let limited = Handle {
            limits: Some("cgroup v1: 200M memory".to_owned()),
            cgroup: Some(CgroupRecord {
                version: "v1".to_owned(),
                dirs: vec![PathBuf::from("/sys/fs/cgroup/memory/atelier/x")],
                memory: Some(200 << 20),
            }),
            ..handle
        };
        let json = limited.to_json();
        assert!(
            json.contains(r#""limits":"cgroup v1: 200M memory""#),
            "{json}"
        );
        assert!(!json.contains("output"), "{json}");
        assert_eq!(serde_json::from_str::<Handle>(&json).unwrap(), limited);
        let split = Handle {
            output: OutputMode::Split,
            ..limited
        };
        let json = split.to_json();
        assert!(json.contains(r#""output":"split""#), "{json}");
        assert_eq!(serde_json::from_str::<Handle>(&json).unwrap(), split);
    }
}
