//! The cluster's job statuses, from one `squeue --json` per poll interval
//! for every session and job of the cluster together: probes read the
//! latest snapshot, and the first probe after it goes stale refreshes it
//! (one query at a time; the others wait for its result).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use atelier_core::Timestamp;

use super::commands::Commands;
use super::squeue::{self, JobStatus};

/// One answer of `squeue`.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// When it was taken (for staleness).
    pub(crate) taken: Option<Instant>,
    /// When it was taken, as a timestamp (to compare with submit times).
    pub(crate) taken_at: Option<Timestamp>,
    /// Every job Slurm listed, by id.
    pub(crate) jobs: HashMap<u64, JobStatus>,
    /// Why the last query failed, if it did (then `jobs` is empty).
    pub(crate) error: Option<String>,
}

/// The latest snapshot and the lock that makes refreshes one at a time.
#[derive(Debug)]
pub(crate) struct Statuses {
    latest: RwLock<Arc<Snapshot>>,
    refreshing: tokio::sync::Mutex<()>,
    interval: Duration,
}

impl Statuses {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            latest: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
            interval,
        }
    }

    /// The latest snapshot, whatever its age (for display).
    pub(crate) fn latest(&self) -> Arc<Snapshot> {
        Arc::clone(&self.latest.read().expect("statuses lock"))
    }

    /// A snapshot no older than the interval, querying Slurm if needed.
    pub(crate) async fn fresh(&self, commands: &Commands) -> Arc<Snapshot> {
        self.newer_than(self.interval, commands).await
    }

    /// A snapshot taken after now (for waits that must see a change).
    pub(crate) async fn now(&self, commands: &Commands) -> Arc<Snapshot> {
        self.newer_than(Duration::ZERO, commands).await
    }

    async fn newer_than(&self, age: Duration, commands: &Commands) -> Arc<Snapshot> {
        let asked = Instant::now();
        let recent = |snapshot: &Snapshot| {
            snapshot
                .taken
                .is_some_and(|t| t >= asked || (age > Duration::ZERO && t.elapsed() < age))
        };
        let latest = self.latest();
        if recent(&latest) {
            return latest;
        }
        let _turn = self.refreshing.lock().await;
        // Someone else may have refreshed while this waited for its turn.
        let latest = self.latest();
        if recent(&latest) {
            return latest;
        }
        let snapshot = Arc::new(query(commands).await);
        *self.latest.write().expect("statuses lock") = Arc::clone(&snapshot);
        snapshot
    }
}

async fn query(commands: &Commands) -> Snapshot {
    let args = ["--json".to_owned(), "--all".to_owned()];
    let taken_at = Timestamp::now();
    let answer = commands
        .run(commands.command("squeue", &args), None)
        .await
        .and_then(|text| squeue::parse(&text));
    let taken = Some(Instant::now());
    match answer {
        Ok(jobs) => Snapshot {
            taken,
            taken_at: Some(taken_at),
            jobs,
            error: None,
        },
        Err(error) => {
            tracing::warn!(%error, "squeue failed");
            Snapshot {
                taken,
                taken_at: Some(taken_at),
                jobs: HashMap::new(),
                error: Some(error),
            }
        }
    }
}
