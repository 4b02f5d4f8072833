//! The watcher: one task per node that re-adopts this node's sessions when
//! the server starts, and then moves each session along as the backend
//! reports (starting → running, running → stopped/failed/lost).

use std::sync::Arc;
use std::time::{Duration, Instant};

use atelier_core::{Session, SessionKind, SessionState, Timestamp};
use atelier_launcher::Backend;
use atelier_launcher::Probe;
use atelier_store::{SessionChange, SessionFilter};
use tracing::{info, warn};

use crate::lifetime::{idle_reason, kernel_activity, last_activity, Verdict};
use crate::manager::SessionManager;

/// How often starting sessions are probed. (A request through the proxy
/// does not wait for this: see `SessionManager::route_for_caller`.)
const FAST_TICK: Duration = Duration::from_millis(100);
/// Running and lost sessions are checked at most this often...
const SLOW_PERIOD: Duration = Duration::from_secs(2);
/// ...and, on a node with so many that one pass takes long, only after a
/// pause of this many times the last pass: the watcher then spends at most
/// a tenth of its time on them, and the requests the node serves keep the
/// rest.
const SLOW_PAUSE_FACTOR: u32 = 9;
/// Every this many fast ticks, running jobs are checked.
const JOB_EVERY: u32 = 4;
/// Old jobs are pruned at least this often (in fast ticks: a minute).
const PRUNE_EVERY_MAX: u32 = 600;
/// Log lines quoted in a failure reason.
const REASON_LOG_LINES: usize = 12;

impl SessionManager {
    /// Re-adopts this node's sessions and starts the watcher task.
    pub fn spawn_watcher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            this.recover().await;
            this.recover_jobs().await;
            let mut tick = 0u32;
            let mut next_slow = Instant::now() + SLOW_PERIOD;
            loop {
                tokio::time::sleep(FAST_TICK).await;
                tick = tick.wrapping_add(1);
                this.check_all(&[SessionState::Starting]).await;
                if Instant::now() >= next_slow {
                    let began = Instant::now();
                    this.check_all(&[SessionState::Running, SessionState::Lost])
                        .await;
                    next_slow = Instant::now() + slow_pause(began.elapsed());
                }
                if tick.is_multiple_of(JOB_EVERY) {
                    this.check_jobs().await;
                }
                if tick.is_multiple_of(this.prune_every()) {
                    this.prune_jobs().await;
                }
            }
        })
    }

    /// How often old jobs are pruned, in fast ticks: every minute, or twice
    /// per keep period when that is shorter.
    fn prune_every(&self) -> u32 {
        let half_keep = self.settings.keep_jobs.as_millis() / 2 / FAST_TICK.as_millis();
        u32::try_from(half_keep)
            .unwrap_or(u32::MAX)
            .clamp(10, PRUNE_EVERY_MAX)
    }

    /// After a restart: finish what the previous process left half done.
    async fn recover(self: &Arc<Self>) {
        for session in self.node_sessions(&[SessionState::Pending]).await {
            // The server died between recording and launching: whatever it
            // may have spawned is stopped, and the user is told.
            let _ = self.backend.stop(&session, self.settings.stop_grace).await;
            let reason = "the server restarted while the session was being created; start it again";
            self.end(
                &session,
                &[SessionState::Pending],
                SessionState::Failed,
                Some(reason.into()),
                None,
            )
            .await;
        }
        for session in self.node_sessions(&[SessionState::Stopping]).await {
            let this = Arc::clone(self);
            tokio::spawn(async move { this.finish_stop(session).await });
        }
        let running = self.node_sessions(&[SessionState::Running]).await;
        info!(count = running.len(), "re-adopting running sessions");
        for session in running {
            self.check_one(session).await;
        }
    }

    async fn node_sessions(&self, states: &[SessionState]) -> Vec<Session> {
        let filter = SessionFilter {
            states: Some(states.to_vec()),
            node: Some(self.settings.node.clone()),
            ..Default::default()
        };
        match self.store.list_sessions(&filter).await {
            Ok(sessions) => {
                self.session_outage.succeeded("sessions");
                sessions
            }
            Err(error) => {
                self.session_outage.failed("sessions", &error);
                Vec::new()
            }
        }
    }

    async fn check_all(self: &Arc<Self>, states: &[SessionState]) {
        for session in self.node_sessions(states).await {
            self.check_one(session).await;
        }
    }

    async fn check_one(self: &Arc<Self>, session: Session) {
        // A running session's IDE answered already; whether it still does
        // changes nothing here, so only its being alive is looked at.
        let probe = if session.state == SessionState::Running {
            self.backend.probe_alive(&session).await
        } else {
            self.backend.probe(&session).await
        };
        self.note_detail(&session);
        if matches!(probe, Probe::Queued { .. }) {
            self.queued_now(&session);
        }
        if let Probe::OutOfMemory { limit } = probe {
            let reason = format!(
                "stopped: it used more than its {} memory limit",
                atelier_os::cgroup::format_bytes(limit)
            );
            warn!(session_id = %session.id, user = %session.user, reason, "session out of memory");
            let from = [SessionState::Starting, SessionState::Running];
            let _ = self.stop_because(&session.id, &from, reason).await;
            return;
        }
        match (session.state, probe) {
            (SessionState::Starting | SessionState::Lost, Probe::Ready) => {
                self.mark_running(&session).await
            }
            (SessionState::Running, Probe::Ready | Probe::Starting) => {
                self.adopt(&session).await;
                self.apply_lifetime(&session).await;
            }
            (SessionState::Starting, Probe::Starting) => self.check_start_timeout(&session).await,
            (SessionState::Starting | SessionState::Running, Probe::Exited { code, signal }) => {
                self.record_exit(&session, code, signal).await
            }
            (SessionState::Starting | SessionState::Running, Probe::Gone) => {
                let reason = "the session's processes vanished without recording how they ended";
                self.end(
                    &session,
                    &[session.state],
                    SessionState::Lost,
                    Some(reason.into()),
                    None,
                )
                .await
            }
            (
                SessionState::Starting,
                Probe::Queued {
                    reason,
                    hopeless: true,
                },
            ) => {
                let reason = format!("it can never start as asked: {reason}");
                self.end(
                    &session,
                    &[session.state],
                    SessionState::Failed,
                    Some(reason),
                    None,
                )
                .await;
                // Out of the queue, so that it does not start later unseen.
                let _ = self.backend.stop(&session, self.settings.stop_grace).await;
            }
            (SessionState::Starting | SessionState::Running, Probe::Ended { failed, reason }) => {
                let state = if failed {
                    SessionState::Failed
                } else {
                    SessionState::Stopped
                };
                self.end(&session, &[session.state], state, Some(reason), None)
                    .await
            }
            _ => {}
        }
    }

    pub(crate) async fn mark_running(&self, session: &Session) {
        let now = Timestamp::now();
        let change = SessionChange {
            state: Some(SessionState::Running),
            started_at: Some(session.started_at.unwrap_or(now)),
            last_active_at: Some(now),
            ..Default::default()
        };
        if let Err(error) = self.transition(&session.id, &[session.state], change).await {
            warn!(session_id = %session.id, %error, "could not record a running session");
        }
    }

    /// Stops a running session that is idle or too old, with the reason.
    async fn apply_lifetime(self: &Arc<Self>, session: &Session) {
        let now = Timestamp::now();
        let reason = match self.settings.lifetime.judge(session, now) {
            Verdict::Keep => return,
            Verdict::Stop(reason) => reason,
            Verdict::MaybeIdle(timeout) => {
                if self.kernels_recently_active(session, timeout, now).await {
                    return;
                }
                idle_reason(timeout)
            }
        };
        info!(session_id = %session.id, user = %session.user, reason, "stopping session by lifetime rule");
        let _ = self
            .stop_because(&session.id, &[SessionState::Running], reason)
            .await;
    }

    /// Whether a Jupyter session's kernels were busy within `timeout`;
    /// records that activity so the next check need not ask again.
    async fn kernels_recently_active(
        &self,
        session: &Session,
        timeout: Duration,
        now: Timestamp,
    ) -> bool {
        let jupyter =
            [SessionKind::JUPYTERLAB, SessionKind::NOTEBOOK].contains(&session.kind.as_str());
        let Some(endpoint) = self.backend.endpoint(session).filter(|_| jupyter) else {
            return false;
        };
        let Some(at) = kernel_activity(&endpoint, session).await else {
            return false;
        };
        if at <= last_activity(session)
            || now.as_millis() - at.as_millis() > timeout.as_millis() as i64
        {
            return false;
        }
        if let Err(error) = self.store.touch_session(&session.id, at).await {
            warn!(session_id = %session.id, %error, "could not record kernel activity");
        }
        true
    }

    /// Makes sure a running session found in the store is in the route table.
    async fn adopt(&self, session: &Session) {
        if self.table_route(&session.id).is_none() {
            let change = SessionChange::default();
            let _ = self
                .transition(&session.id, &[SessionState::Running], change)
                .await;
        }
    }

    /// Restarts the start clock of a session that waits in a queue: the
    /// start timeout is for the IDE, not for the cluster's queue.
    fn queued_now(&self, session: &Session) {
        let mut clocks = self.start_clocks.lock().expect("start clocks lock");
        clocks.insert(session.id.clone(), Timestamp::now());
    }

    /// When the start timeout of `session` began: its creation, or (on a
    /// cluster with a queue) when it last waited in the queue. A queued
    /// session first seen after a restart starts its clock now.
    fn start_clock(&self, session: &Session) -> Timestamp {
        let mut clocks = self.start_clocks.lock().expect("start clocks lock");
        match clocks.get(&session.id) {
            Some(at) => *at,
            None if session.cluster == atelier_launcher::LOCAL_CLUSTER => session.created_at,
            None => *clocks
                .entry(session.id.clone())
                .or_insert_with(Timestamp::now),
        }
    }

    /// Announces the session again when what the backend says of it beyond
    /// its state (e.g. why it waits) has changed, so the page shows it.
    fn note_detail(&self, session: &Session) {
        let detail = self.backend.detail(session).unwrap_or_default();
        let changed = {
            let mut details = self.details.lock().expect("details lock");
            let previous = details.insert(session.id.clone(), detail.clone());
            match previous {
                Some(previous) => previous != detail,
                None => !detail.is_empty(),
            }
        };
        if changed {
            self.announce(crate::SessionEvent::Changed(Box::new(session.clone())));
        }
    }

    /// Forgets what the watcher kept in memory of an ended session.
    pub(crate) fn forget(&self, session: &Session) {
        let id = &session.id;
        self.start_clocks
            .lock()
            .expect("start clocks lock")
            .remove(id);
        self.details.lock().expect("details lock").remove(id);
    }

    async fn check_start_timeout(&self, session: &Session) {
        let limit = self.settings.start_timeout;
        let deadline = self
            .start_clock(session)
            .plus_seconds(limit.as_secs() as i64);
        if Timestamp::now() < deadline {
            return;
        }
        let tail = self.log_tail(session).await;
        let _ = self.backend.stop(session, self.settings.stop_grace).await;
        let reason = format!("the IDE did not answer within {} s{tail}", limit.as_secs());
        self.end(
            session,
            &[SessionState::Starting],
            SessionState::Failed,
            Some(reason),
            None,
        )
        .await;
    }

    async fn record_exit(&self, session: &Session, code: Option<i32>, signal: Option<i32>) {
        let (state, reason) = match (code, signal) {
            (Some(0), _) if session.state == SessionState::Running => {
                (SessionState::Stopped, "the IDE exited by itself".to_owned())
            }
            (Some(code), _) => (
                SessionState::Failed,
                format!("the IDE exited with status {code}"),
            ),
            (None, Some(signal)) => (
                SessionState::Failed,
                format!("the IDE was killed by signal {signal}"),
            ),
            (None, None) => (SessionState::Failed, "the IDE ended".to_owned()),
        };
        let tail = if state == SessionState::Failed {
            self.log_tail(session).await
        } else {
            String::new()
        };
        // Nothing may be left behind, e.g. kernels in their own process groups.
        let _ = self.backend.stop(session, Duration::from_secs(1)).await;
        self.end(
            session,
            &[session.state],
            state,
            Some(format!("{reason}{tail}")),
            code,
        )
        .await;
    }

    async fn end(
        &self,
        session: &Session,
        from: &[SessionState],
        state: SessionState,
        reason: Option<String>,
        exit_code: Option<i32>,
    ) {
        let change = SessionChange {
            state: Some(state),
            error: reason,
            exit_code,
            ended_at: Some(Timestamp::now()),
            ..Default::default()
        };
        if let Err(error) = self.transition(&session.id, from, change).await {
            warn!(session_id = %session.id, %error, "could not record the end of a session");
        }
    }

    /// The last lines of the IDE's log, with the session secret masked,
    /// formatted to follow a reason.
    async fn log_tail(&self, session: &Session) -> String {
        match self.redacted_log(session, REASON_LOG_LINES).await {
            Some(log) if !log.trim().is_empty() => format!(". Last lines of its log:\n{log}"),
            _ => String::new(),
        }
    }

    /// The last `lines` lines of a session's log, with its secret masked.
    pub async fn redacted_log(&self, session: &Session, lines: usize) -> Option<String> {
        let log = self.backend.log_tail(session, lines).await?;
        Some(log.replace(&session.secret, "<secret>"))
    }
}

/// The pause before the next pass over running sessions, after one that
/// took `took`.
fn slow_pause(took: Duration) -> Duration {
    SLOW_PERIOD.max(took * SLOW_PAUSE_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passes_over_running_sessions_space_themselves_out() {
        assert_eq!(slow_pause(Duration::from_millis(20)), SLOW_PERIOD);
        assert_eq!(slow_pause(Duration::from_secs(1)), Duration::from_secs(9));
    }
}
