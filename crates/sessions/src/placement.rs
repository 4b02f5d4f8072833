//! Where a session or job runs: the `cluster` and `queue` of a request,
//! checked against the clusters this server runs, before anything is
//! recorded.

use atelier_core::InvalidInput;
use atelier_launcher::{Backend, Placement, LOCAL_CLUSTER};

use crate::manager::SessionManager;
use crate::profiles::Profile;
use crate::SessionError;

/// The checked cluster of a request and what its backend is told.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// The cluster's name.
    pub(crate) cluster: String,
    /// Queue (and, later, time limit and GPUs) for the backend.
    pub(crate) placement: Placement,
}

impl SessionManager {
    /// Checks `cluster` and `queue` of a request. A queue is checked
    /// against the cluster's own list when the cluster answers; when it
    /// does not, the backend refuses an unknown queue at launch.
    pub(crate) async fn place(
        &self,
        cluster: Option<&str>,
        queue: Option<&str>,
    ) -> Result<Place, SessionError> {
        let cluster = cluster.unwrap_or(LOCAL_CLUSTER);
        let Some(backend) = self.backend.get(cluster) else {
            let offered: Vec<String> = self.backend.names().map(|n| format!("{n:?}")).collect();
            let message = format!(
                "there is no cluster {cluster:?}; this server offers {}",
                offered.join(", ")
            );
            return Err(InvalidInput::new("cluster", message).into());
        };
        if let Some(queue) = queue {
            if cluster == LOCAL_CLUSTER {
                let message = "the local cluster has no queues; leave it out";
                return Err(InvalidInput::new("queue", message).into());
            }
            check_queue(backend.as_ref(), cluster, queue).await?;
        }
        Ok(Place {
            cluster: cluster.to_owned(),
            placement: Placement {
                queue: queue.map(str::to_owned),
                ..Placement::default()
            },
        })
    }
}

impl Place {
    /// Adds what the profile asks of a cluster (GPUs, time limit). GPUs
    /// cannot be given to local sessions: such a profile is refused there.
    pub(crate) fn with_profile(mut self, profile: Option<&Profile>) -> Result<Place, SessionError> {
        let Some(profile) = profile else {
            return Ok(self);
        };
        let gpus = profile.gpus.unwrap_or(0);
        if gpus > 0 && self.cluster == LOCAL_CLUSTER {
            let message = format!(
                "profile {} asks for GPUs, which only a cluster gives; pick a cluster or another profile",
                profile.name
            );
            return Err(InvalidInput::new("profile", message).into());
        }
        self.placement.gpus = gpus;
        self.placement.minutes = profile.time_limit_minutes;
        Ok(self)
    }
}

async fn check_queue(
    backend: &dyn Backend,
    cluster: &str,
    queue: &str,
) -> Result<(), SessionError> {
    let well_formed = !queue.is_empty()
        && queue.len() <= 64
        && queue
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !well_formed {
        let message = format!("{queue:?} is not a queue name (letters, digits, '-', '_', '.')");
        return Err(InvalidInput::new("queue", message).into());
    }
    let Some(info) = backend.cluster_info().await else {
        return Ok(());
    };
    if info.error.is_some() || info.queues.iter().any(|q| q.name == queue) {
        return Ok(());
    }
    let offered: Vec<&str> = info.queues.iter().map(|q| q.name.as_str()).collect();
    let message = format!(
        "cluster {cluster} has no queue {queue:?}; it offers {}",
        offered.join(", ")
    );
    Err(InvalidInput::new("queue", message).into())
}
