//! Every configured backend behind one [`Backend`]: each call goes to the
//! backend of the session's cluster (`Session::cluster`), so the session
//! manager drives local and Slurm sessions with the same code.
//!
//! A session whose cluster is no longer configured (the administrator
//! removed it and restarted) cannot be reached: it probes as
//! [`Probe::Gone`] (the manager marks it lost, and finds it again if the
//! cluster comes back), and launching on it is refused.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atelier_core::Session;

use crate::{Backend, Endpoint, LaunchError, LaunchSpec, OutputChunk, OutputStream, Probe};

/// The name of the cluster of this server's own processes.
pub const LOCAL_CLUSTER: &str = "local";

/// A queue of a cluster (a Slurm partition) with its largest node.
pub type Queue = crate::slurm::Partition;

/// A cluster as people and the API see it: where it stands, its queues and
/// what one session may ask of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Its name in Atelier.
    pub name: String,
    /// The backend that runs it: `local` or `slurm`.
    pub backend: String,
    /// Its queues; empty for the local cluster.
    pub queues: Vec<Queue>,
    /// The queue used when a request names none, if set.
    pub default_queue: Option<String>,
    /// Most CPUs one session may have.
    pub max_cpus: Option<u32>,
    /// Most memory one session may have, in bytes.
    pub max_memory: Option<u64>,
    /// Longest time limit, in minutes.
    pub max_minutes: Option<u32>,
    /// Most GPUs one session may have.
    pub max_gpus: u32,
    /// Why the cluster does not answer right now; `None` when it does.
    pub error: Option<String>,
    /// How many commands Atelier has sent the resource manager.
    pub commands_run: u64,
}

/// The local backend and the named clusters, chosen per session.
pub struct Clusters {
    local: Arc<dyn Backend>,
    named: Vec<(String, Arc<dyn Backend>)>,
}

impl std::fmt::Debug for Clusters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.names().collect();
        f.debug_struct("Clusters").field("names", &names).finish()
    }
}

impl Clusters {
    /// Only the local cluster.
    pub fn new(local: Arc<dyn Backend>) -> Self {
        Self {
            local,
            named: Vec::new(),
        }
    }

    /// Adds the cluster `name`, run by `backend`. The config checker has
    /// already refused duplicates and the name `local`.
    pub fn add(&mut self, name: impl Into<String>, backend: Arc<dyn Backend>) {
        self.named.push((name.into(), backend));
    }

    /// The clusters' names, `local` first, then in the config's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(LOCAL_CLUSTER).chain(self.named.iter().map(|(name, _)| name.as_str()))
    }

    /// The backend of the cluster `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        if name == LOCAL_CLUSTER {
            return Some(&self.local);
        }
        self.named
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, backend)| backend)
    }

    /// Every cluster's state, `local` first.
    pub async fn info(&self) -> Vec<ClusterInfo> {
        let mut all = vec![ClusterInfo {
            name: LOCAL_CLUSTER.to_owned(),
            backend: self.local.name().to_owned(),
            ..ClusterInfo::default()
        }];
        for (name, backend) in &self.named {
            let info = backend.cluster_info().await.unwrap_or_else(|| ClusterInfo {
                name: name.clone(),
                backend: backend.name().to_owned(),
                ..ClusterInfo::default()
            });
            all.push(info);
        }
        all
    }

    fn of(&self, session: &Session) -> Result<&Arc<dyn Backend>, LaunchError> {
        self.get(&session.cluster)
            .ok_or_else(|| LaunchError::Refused {
                session: session.id.clone(),
                message: format!("there is no cluster {:?} any more", session.cluster),
            })
    }
}

#[async_trait]
impl Backend for Clusters {
    fn name(&self) -> &'static str {
        "clusters"
    }

    async fn launch(&self, session: &Session, spec: &LaunchSpec) -> Result<String, LaunchError> {
        self.of(session)?.launch(session, spec).await
    }

    async fn probe(&self, session: &Session) -> Probe {
        match self.of(session) {
            Ok(backend) => backend.probe(session).await,
            Err(_) => Probe::Gone,
        }
    }

    async fn probe_alive(&self, session: &Session) -> Probe {
        match self.of(session) {
            Ok(backend) => backend.probe_alive(session).await,
            Err(_) => Probe::Gone,
        }
    }

    async fn stop(&self, session: &Session, grace: Duration) -> Result<(), LaunchError> {
        self.of(session)?.stop(session, grace).await
    }

    fn endpoint(&self, session: &Session) -> Option<Endpoint> {
        self.of(session).ok()?.endpoint(session)
    }

    async fn log_tail(&self, session: &Session, lines: usize) -> Option<String> {
        self.of(session).ok()?.log_tail(session, lines).await
    }

    async fn read_output(
        &self,
        session: &Session,
        stream: OutputStream,
        offset: u64,
        max: usize,
    ) -> Result<OutputChunk, LaunchError> {
        self.of(session)?
            .read_output(session, stream, offset, max)
            .await
    }

    async fn cleanup(&self, session: &Session) -> Result<(), LaunchError> {
        self.of(session)?.cleanup(session).await
    }

    fn detail(&self, session: &Session) -> Option<String> {
        self.of(session).ok()?.detail(session)
    }

    fn limits(&self, session: &Session) -> Option<String> {
        self.of(session).ok()?.limits(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::{SessionId, SessionKind, SessionState, Timestamp, UserName};

    /// A backend that answers every probe with its own name in a reason.
    struct Named(&'static str);

    #[async_trait]
    impl Backend for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        async fn launch(&self, _: &Session, _: &LaunchSpec) -> Result<String, LaunchError> {
            Ok(self.0.to_owned())
        }
        async fn probe(&self, _: &Session) -> Probe {
            Probe::Queued {
                reason: self.0.to_owned(),
                hopeless: false,
            }
        }
        async fn stop(&self, _: &Session, _: Duration) -> Result<(), LaunchError> {
            Ok(())
        }
        fn endpoint(&self, _: &Session) -> Option<Endpoint> {
            None
        }
        async fn log_tail(&self, _: &Session, _: usize) -> Option<String> {
            Some(self.0.to_owned())
        }
        async fn cleanup(&self, _: &Session) -> Result<(), LaunchError> {
            Ok(())
        }
    }

    fn session_on(cluster: &str) -> Session {
        Session {
            id: SessionId::generate(),
            user: UserName::parse("alice").unwrap(),
            kind: SessionKind::parse(SessionKind::JUPYTERLAB).unwrap(),
            name: "s".into(),
            state: SessionState::Starting,
            node: None,
            cluster: cluster.into(),
            secret: "x".into(),
            handle: None,
            python: None,
            r: None,
            profile: None,
            created_at: Timestamp::now(),
            started_at: None,
            last_active_at: None,
            ended_at: None,
            error: None,
            exit_code: None,
        }
    }

    fn clusters() -> Clusters {
        let mut clusters = Clusters::new(Arc::new(Named("local-backend")));
        clusters.add("hpc", Arc::new(Named("slurm-backend")));
        clusters
    }

    #[tokio::test]
    async fn each_session_goes_to_its_cluster() {
        let clusters = clusters();
        let local = clusters.log_tail(&session_on("local"), 1).await;
        let hpc = clusters.log_tail(&session_on("hpc"), 1).await;
        assert_eq!(local.as_deref(), Some("local-backend"));
        assert_eq!(hpc.as_deref(), Some("slurm-backend"));
        assert_eq!(clusters.names().collect::<Vec<_>>(), ["local", "hpc"]);
    }

    #[tokio::test]
    async fn an_unknown_cluster_is_gone_and_refuses_work() {
        let clusters = clusters();
        let lost = session_on("removed");
        assert_eq!(clusters.probe(&lost).await, Probe::Gone);
        assert!(clusters.endpoint(&lost).is_none());
        let error = clusters.stop(&lost, Duration::ZERO).await.unwrap_err();
        assert!(
            error.to_string().contains("no cluster \"removed\""),
            "{error}"
        );
    }
}
