//! Stopping a local session and verifying that nothing of it is left.
//!
//! Steps: SIGTERM to the supervisor (which forwards it to the IDE's process
//! group and kills the group after its grace), wait for it; SIGKILL its
//! process group; then SIGKILL every process still marked with the session's
//! id (Jupyter kernels start their own sessions and leave the group) or in
//! its cgroup (which catches processes that cleared their environment),
//! until none is left.

use std::time::{Duration, Instant};

use atelier_core::Session;
use atelier_os::cgroup::SessionCgroup;
use atelier_os::process::{
    is_alive, pids_in_group, pids_with_env, pids_with_env_of_uid, ProcessInfo,
};
use atelier_os::signal::{kill, kill_group};
use atelier_os::Signal;

use super::handle::Handle;
use super::SESSION_MARKER;
use crate::LaunchError;

/// Extra time, past the supervisor's grace, for it to write its record and exit.
const SUPERVISOR_SLACK: Duration = Duration::from_secs(2);
/// How long the final sweep may take.
const SWEEP_LIMIT: Duration = Duration::from_secs(3);
/// Pause between two looks at `/proc`.
const POLL: Duration = Duration::from_millis(50);

/// Stops the session; `handle` is `None` when the session has no usable one
/// (then only the marked processes and its cgroup's members are looked for).
pub(crate) async fn stop(
    session: &Session,
    handle: Option<&Handle>,
    cgroup: Option<&SessionCgroup>,
    grace: Duration,
) -> Result<(), LaunchError> {
    let os_error = |source| LaunchError::Os {
        session: session.id.clone(),
        source,
    };
    if let Some(handle) = handle {
        if is_alive(handle.pid, handle.start_time) {
            tracing::info!(session_id = %session.id, pid = handle.pid, "stopping session supervisor");
            kill(handle.pid, Signal::Term).map_err(os_error)?;
            let gone = || !is_alive(handle.pid, handle.start_time);
            wait_until(grace + SUPERVISOR_SLACK, gone).await;
        }
        if group_is_ours(handle) {
            kill_group(handle.pid, Signal::Kill).map_err(os_error)?;
        }
    }
    sweep(session, handle, cgroup).await
}

/// Whether the process group named by the supervisor's pid still belongs to
/// this session. The kernel does not reuse a pid while a group of that id has
/// members, so the group is ours unless another process now has the pid.
fn group_is_ours(handle: &Handle) -> bool {
    ProcessInfo::read(handle.pid).is_none_or(|p| p.start_time == handle.start_time)
}

/// SIGKILLs every remaining process of the session until none is left.
async fn sweep(
    session: &Session,
    handle: Option<&Handle>,
    cgroup: Option<&SessionCgroup>,
) -> Result<(), LaunchError> {
    let deadline = Instant::now() + SWEEP_LIMIT;
    loop {
        // Scanning /proc is blocking work that grows with the machine's
        // process count: keep it off the server's request threads.
        let (owned, handle_owned, cgroup_owned) =
            (session.clone(), handle.cloned(), cgroup.cloned());
        let left = tokio::task::spawn_blocking(move || {
            survivors(&owned, handle_owned.as_ref(), cgroup_owned.as_ref())
        })
        .await
        .unwrap_or_default();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            tracing::error!(session_id = %session.id, pids = ?left, "session processes survived SIGKILL");
            return Err(LaunchError::Survivors {
                session: session.id.clone(),
                pids: left,
            });
        }
        for pid in &left {
            if let Err(error) = kill(*pid, Signal::Kill) {
                tracing::warn!(session_id = %session.id, pid, %error, "cannot kill session process");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Live processes of the session: marked ones, members of its process
/// group and of its cgroup. This process itself is never counted, even if
/// it carries the marker.
fn survivors(
    session: &Session,
    handle: Option<&Handle>,
    cgroup: Option<&SessionCgroup>,
) -> Vec<i32> {
    // With a handle, only the session uid's environments are read: reading
    // every process's is what made stopping many sessions slow. A
    // set-uid child (e.g. passwd) is still found through the session's
    // cgroup and process group below.
    let mut pids = match handle {
        Some(handle) => pids_with_env_of_uid(SESSION_MARKER, session.id.as_str(), handle.uid),
        None => pids_with_env(SESSION_MARKER, session.id.as_str()),
    };
    if let Some(handle) = handle.filter(|h| group_is_ours(h)) {
        pids.extend(pids_in_group(handle.pid));
    }
    if let Some(cgroup) = cgroup {
        pids.extend(cgroup.members());
    }
    let me = std::process::id() as i32;
    pids.retain(|pid| *pid != me && ProcessInfo::read(*pid).is_some_and(|p| !p.zombie));
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Polls `done` until it holds or `limit` has passed.
async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}
