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
use atelier_os::process::{is_alive, ProcessInfo, ProcessTable};
use atelier_os::signal::{kill, kill_group};
use atelier_os::Signal;

use super::census::Census;
use super::handle::Handle;
use crate::LaunchError;

/// Extra time, past the supervisor's grace, for it to write its record and exit.
const SUPERVISOR_SLACK: Duration = Duration::from_secs(2);
/// How long processes may outlive their first SIGKILL in the final sweep.
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
    census: &Census,
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
        if names_our_group(ProcessInfo::read(handle.pid).as_ref(), handle) {
            kill_group(handle.pid, Signal::Kill).map_err(os_error)?;
        }
    }
    sweep(session, handle, cgroup, census).await
}

/// Whether the process group named by the supervisor's pid still belongs to
/// this session, given what has that pid now (`None`: nothing). The kernel does not reuse a pid while a group of that id has
/// members, so the group is ours unless another process now has the pid.
fn names_our_group(supervisor_pid_now: Option<&ProcessInfo>, handle: &Handle) -> bool {
    supervisor_pid_now.is_none_or(|p| p.start_time == handle.start_time)
}

/// SIGKILLs every remaining process of the session until none is left.
/// Processes count as survivors only once [`SWEEP_LIMIT`] has passed since
/// the first SIGKILL: on a loaded server the first reading may itself come
/// late, and a process that was never sent SIGKILL has not survived it.
async fn sweep(
    session: &Session,
    handle: Option<&Handle>,
    cgroup: Option<&SessionCgroup>,
    census: &Census,
) -> Result<(), LaunchError> {
    let mut first_kill: Option<Instant> = None;
    loop {
        // Reading /proc is blocking work that grows with the machine's
        // process count: the census does it off the request threads, once
        // for all the stops waiting at the same time.
        let table = census.fresh().await;
        let left = survivors(&table, session, handle, cgroup);
        if left.is_empty() {
            return Ok(());
        }
        if first_kill.is_some_and(|at| at.elapsed() >= SWEEP_LIMIT) {
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
        first_kill.get_or_insert_with(Instant::now);
        tokio::time::sleep(POLL).await;
    }
}

/// Live processes of the session in `table`: marked ones, members of its
/// process group and of its cgroup. The reader itself is never in the table.
fn survivors(
    table: &ProcessTable,
    session: &Session,
    handle: Option<&Handle>,
    cgroup: Option<&SessionCgroup>,
) -> Vec<i32> {
    // With a handle, only marked processes of the session's uid count, so
    // that another user cannot keep a session "running" by copying its
    // marker. A set-uid child (e.g. passwd) is still found through the
    // session's cgroup and process group below.
    let uid = handle.map(|h| h.uid);
    let mut pids: Vec<i32> = table.marked(session.id.as_str(), uid).collect();
    if let Some(handle) = handle.filter(|h| names_our_group(table.get(h.pid).map(|e| &e.info), h)) {
        pids.extend(table.in_group(handle.pid));
    }
    if let Some(cgroup) = cgroup {
        // A member the table has not seen started since: count it.
        let live = |pid: &i32| table.get(*pid).is_none_or(|p| !p.info.zombie);
        pids.extend(cgroup.members().into_iter().filter(live));
    }
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
