//! Watching this node's jobs: how each ended, and pruning old ones.

use std::sync::Arc;

use atelier_core::{Job, JobState, Timestamp};
use atelier_launcher::Backend;
use atelier_launcher::Probe;
use atelier_store::{JobChange, JobFilter};
use tracing::warn;

use super::as_target;
use crate::manager::SessionManager;

impl SessionManager {
    /// After a restart: jobs the previous process recorded but did not
    /// start are failed (anything it may have spawned is stopped).
    pub(crate) async fn recover_jobs(&self) {
        for job in self.node_jobs(JobState::Pending).await {
            if waits_in_a_queue(&job) {
                // Submitted to a cluster and waiting there: the watcher
                // follows it like any other.
                continue;
            }
            let _ = self
                .backend
                .stop(&as_target(&job), self.settings.stop_grace)
                .await;
            let reason = "the server restarted while the job was being submitted; submit it again";
            self.end_job(&job, JobState::Failed, Some(reason.into()), None)
                .await;
        }
    }

    /// Records how this node's running jobs ended, and when jobs waiting
    /// in a cluster's queue start.
    pub(crate) async fn check_jobs(self: &Arc<Self>) {
        let queued = self.node_jobs(JobState::Pending).await;
        let running = self.node_jobs(JobState::Running).await;
        let jobs = queued.into_iter().filter(waits_in_a_queue).chain(running);
        for job in jobs {
            match self.backend.probe(&as_target(&job)).await {
                Probe::Queued {
                    hopeless: false, ..
                } => {}
                Probe::Starting | Probe::Ready if job.state == JobState::Pending => {
                    self.mark_job_started(&job).await
                }
                Probe::Starting | Probe::Ready => {}
                Probe::Queued {
                    reason,
                    hopeless: true,
                } => {
                    let reason = format!("it can never start as asked: {reason}");
                    self.end_job(&job, JobState::Failed, Some(reason), None)
                        .await;
                    let _ = self
                        .backend
                        .stop(&as_target(&job), self.settings.stop_grace)
                        .await;
                }
                Probe::Ended { reason, .. } => {
                    self.end_job(&job, JobState::Failed, Some(reason), None)
                        .await;
                }
                Probe::Exited { code, signal } => self.record_job_exit(&job, code, signal).await,
                Probe::Gone => {
                    let reason = "the job's processes vanished without recording how they ended";
                    self.end_job(&job, JobState::Failed, Some(reason.into()), None)
                        .await;
                }
                Probe::OutOfMemory { limit } => {
                    let reason = format!(
                        "stopped: it used more than its {} memory limit",
                        atelier_os::cgroup::format_bytes(limit)
                    );
                    self.end_job(&job, JobState::Failed, Some(reason), None)
                        .await;
                    let _ = self
                        .backend
                        .stop(&as_target(&job), self.settings.stop_grace)
                        .await;
                }
            }
        }
    }

    async fn mark_job_started(&self, job: &Job) {
        let change = JobChange {
            state: Some(JobState::Running),
            started_at: Some(Timestamp::now()),
            ..Default::default()
        };
        if let Err(error) = self
            .job_transition(&job.id, &[JobState::Pending], change)
            .await
        {
            warn!(job_id = %job.id, %error, "could not record the start of a job");
        }
    }

    async fn record_job_exit(&self, job: &Job, code: Option<i32>, signal: Option<i32>) {
        // Children left behind by the job are stopped with it.
        let _ = self
            .backend
            .stop(&as_target(job), self.settings.stop_grace)
            .await;
        let (state, reason) = match (code, signal) {
            (Some(0), _) => (JobState::Finished, None),
            (Some(code), _) => (JobState::Failed, Some(format!("exited with status {code}"))),
            (None, Some(signal)) => (JobState::Failed, Some(format!("killed by signal {signal}"))),
            (None, None) => (
                JobState::Failed,
                Some("ended without an exit status".to_owned()),
            ),
        };
        self.end_job(job, state, reason, code).await;
    }

    async fn end_job(
        &self,
        job: &Job,
        state: JobState,
        error: Option<String>,
        exit_code: Option<i32>,
    ) {
        let change = JobChange {
            state: Some(state),
            ended_at: Some(Timestamp::now()),
            error,
            exit_code,
            ..Default::default()
        };
        if let Err(error) = self.job_transition(&job.id, &[job.state], change).await {
            warn!(job_id = %job.id, %error, "could not record the end of a job");
        }
    }

    /// Removes ended jobs (and their output) older than the keep period.
    pub(crate) async fn prune_jobs(&self) {
        let keep = i64::try_from(self.settings.keep_jobs.as_secs()).unwrap_or(i64::MAX / 2000);
        let filter = JobFilter {
            states: Some(vec![
                JobState::Finished,
                JobState::Failed,
                JobState::Canceled,
            ]),
            ended_before: Some(Timestamp::now().plus_seconds(-keep)),
            node: Some(self.settings.node.clone()),
            ..Default::default()
        };
        let Ok(old) = self.store.list_jobs(&filter).await else {
            return;
        };
        for job in old {
            if let Err(error) = self.delete_job_record(&job).await {
                warn!(job_id = %job.id, %error, "could not prune an old job");
            }
        }
    }

    async fn node_jobs(&self, state: JobState) -> Vec<Job> {
        let filter = JobFilter {
            states: Some(vec![state]),
            node: Some(self.settings.node.clone()),
            ..Default::default()
        };
        match self.store.list_jobs(&filter).await {
            Ok(jobs) => {
                self.job_outage.succeeded("jobs");
                jobs
            }
            Err(error) => {
                self.job_outage.failed("jobs", &error);
                Vec::new()
            }
        }
    }
}

/// A job handed to a cluster with a queue, not started there yet: `pending`
/// with the backend's handle.
fn waits_in_a_queue(job: &Job) -> bool {
    job.state == JobState::Pending
        && job.handle.is_some()
        && job.cluster != atelier_launcher::LOCAL_CLUSTER
}
