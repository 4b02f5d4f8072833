//! Jobs: scripts and commands run in the background as their user, through
//! the same backend (and so the same isolation and limits) as sessions.
//!
//! A job is recorded before it is launched and every change goes through
//! [`SessionManager::job_transition`] (compare-and-set in the store), as for
//! sessions. The backend addresses what it runs by id, user and handle; a
//! job is handed to it in a `Session` record's shape ([`as_target`]).

mod request;
mod watch;

use std::sync::Arc;

use atelier_core::{
    Job, JobId, JobState, NewJob, Session, SessionKind, SessionState, Timestamp, User, UserName,
};
use atelier_launcher::{Backend, LaunchSpec, OutputChunk, OutputMode, OutputStream, LOCAL_CLUSTER};
use atelier_store::{JobChange, JobFilter};
use tracing::{info, warn};

use crate::manager::{SessionEvent, SessionManager};
use crate::placement::Place;
use crate::SessionError;

pub(crate) use request::JobPlan;

/// The states from which a job may be canceled.
const CANCELABLE: [JobState; 2] = [JobState::Pending, JobState::Running];
/// The states in which a job has ended.
const ENDED: [JobState; 3] = [JobState::Finished, JobState::Failed, JobState::Canceled];

impl SessionManager {
    /// Checks a job request, records the job and starts it. The returned
    /// record is `running`, or `failed` with the reason if it could not start.
    pub async fn submit_job(&self, user: &User, request: NewJob) -> Result<Job, SessionError> {
        let plan = JobPlan::resolve(self, user, &request)?;
        let place = self
            .place(request.cluster.as_deref(), request.queue.as_deref())
            .await?
            .with_profile(plan.chosen_profile.as_ref())?;
        let job = plan.record(user, &place.cluster, &self.settings.node);
        self.store.insert_job(&job).await?;
        self.announce(SessionEvent::JobChanged(Box::new(job.clone())));
        Ok(self.launch_job(job, plan, place).await)
    }

    /// One job.
    pub async fn job(&self, id: &JobId) -> Result<Job, SessionError> {
        self.store
            .get_job(id)
            .await?
            .ok_or_else(|| SessionError::JobNotFound(id.clone()))
    }

    /// Jobs matching `filter`.
    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, SessionError> {
        Ok(self.store.list_jobs(filter).await?)
    }

    /// Cancels a pending or running job: it is recorded as canceled at once,
    /// then its processes are stopped (SIGTERM, then SIGKILL after the grace).
    pub async fn cancel_job(
        self: &Arc<Self>,
        id: &JobId,
        by: &UserName,
    ) -> Result<Job, SessionError> {
        let change = JobChange {
            state: Some(JobState::Canceled),
            ended_at: Some(Timestamp::now()),
            error: Some(format!("canceled by {by}")),
            ..Default::default()
        };
        let Some(canceled) = self.job_transition(id, &CANCELABLE, change).await? else {
            let job = self.job(id).await?;
            return Err(SessionError::JobEnded {
                id: id.clone(),
                state: job.state,
            });
        };
        let this = Arc::clone(self);
        let target = as_target(&canceled);
        tokio::spawn(async move {
            if let Err(error) = this.backend.stop(&target, this.settings.stop_grace).await {
                warn!(job_id = %target.id, user = %target.user, %error, "canceled job left processes behind");
            }
        });
        Ok(canceled)
    }

    /// Removes an ended job with its output.
    pub async fn remove_job(&self, id: &JobId) -> Result<(), SessionError> {
        let job = self.job(id).await?;
        if !job.state.is_terminal() {
            return Err(SessionError::JobRunning(id.clone()));
        }
        self.delete_job_record(&job).await
    }

    /// Reads a job's output from `offset`, at most `max` bytes.
    pub async fn job_output(
        &self,
        job: &Job,
        stream: OutputStream,
        offset: u64,
        max: usize,
    ) -> Result<OutputChunk, SessionError> {
        Ok(self
            .backend
            .read_output(&as_target(job), stream, offset, max)
            .await?)
    }

    pub(crate) async fn delete_job_record(&self, job: &Job) -> Result<(), SessionError> {
        if let Err(error) = self.backend.cleanup(&as_target(job)).await {
            warn!(job_id = %job.id, user = %job.user, %error, "could not remove job files");
            return Err(error.into());
        }
        if self.store.delete_job(&job.id, &ENDED).await? {
            self.announce(SessionEvent::JobRemoved {
                id: job.id.clone(),
                user: job.user.clone(),
            });
        }
        Ok(())
    }

    async fn launch_job(&self, job: Job, plan: JobPlan, place: Place) -> Job {
        let spec = LaunchSpec {
            account: plan.account,
            program: plan.program,
            args: plan.args,
            env: plan.env,
            ready_path: "/".into(),
            supervisor: self.settings.supervisor.clone(),
            grace: self.settings.stop_grace,
            limits: plan.limits,
            files: Vec::new(),
            output: OutputMode::Split,
            placement: place.placement,
        };
        let (change, outcome) = match self.backend.launch(&as_target(&job), &spec).await {
            // On a cluster with a queue the job stays pending until the
            // watcher sees it start.
            Ok(handle) if job.cluster != LOCAL_CLUSTER => {
                let change = JobChange {
                    handle: Some(handle),
                    ..Default::default()
                };
                (change, "job submitted")
            }
            Ok(handle) => {
                let change = JobChange {
                    state: Some(JobState::Running),
                    started_at: Some(Timestamp::now()),
                    handle: Some(handle),
                    ..Default::default()
                };
                (change, "job started")
            }
            Err(error) => {
                let change = JobChange {
                    state: Some(JobState::Failed),
                    ended_at: Some(Timestamp::now()),
                    error: Some(format!("could not start: {error}")),
                    ..Default::default()
                };
                (change, "job failed to start")
            }
        };
        info!(job_id = %job.id, user = %job.user, outcome);
        match self
            .job_transition(&job.id, &[JobState::Pending], change)
            .await
        {
            Ok(Some(updated)) => updated,
            _ => job,
        }
    }

    /// Applies a change if the job is in one of `from`, and announces it.
    pub(crate) async fn job_transition(
        &self,
        id: &JobId,
        from: &[JobState],
        change: JobChange,
    ) -> Result<Option<Job>, SessionError> {
        let Some(updated) = self.store.update_job(id, from, &change).await? else {
            return Ok(None);
        };
        info!(job_id = %id, user = %updated.user, state = %updated.state, "job state changed");
        self.announce(SessionEvent::JobChanged(Box::new(updated.clone())));
        Ok(Some(updated))
    }
}

/// The job in the shape the backend addresses: id, user and handle (there
/// is no secret and no endpoint).
pub(crate) fn as_target(job: &Job) -> Session {
    Session {
        id: job.id.clone(),
        user: job.user.clone(),
        kind: SessionKind::parse("job").expect("a valid kind name"),
        name: job.name.clone(),
        state: SessionState::Running,
        node: job.node.clone(),
        cluster: job.cluster.clone(),
        python: job.python.clone(),
        r: job.r.clone(),
        profile: job.profile.clone(),
        created_at: job.created_at,
        started_at: job.started_at,
        last_active_at: None,
        ended_at: job.ended_at,
        error: None,
        exit_code: job.exit_code,
        secret: String::new(),
        handle: job.handle.clone(),
    }
}
