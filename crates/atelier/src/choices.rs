//! The choices a new session or job may make besides its kind or command,
//! shared by `atelier session start` and `atelier job submit`.

use clap::Args;
use serde_json::{json, Map, Value};

/// Versions, resources and where to run; each left out means the server's default.
#[derive(Args, Debug, Default)]
pub(crate) struct Choices {
    /// Python version.
    #[arg(long)]
    python: Option<String>,
    /// R version.
    #[arg(long)]
    r: Option<String>,
    /// Resource profile.
    #[arg(long)]
    profile: Option<String>,
    /// Cluster to run on (`local`, this server, by default).
    #[arg(long)]
    cluster: Option<String>,
    /// Queue of the cluster (a Slurm partition).
    #[arg(long)]
    queue: Option<String>,
}

impl Choices {
    /// Adds the choices that were made to a request body.
    pub(crate) fn add_to(self, body: &mut Map<String, Value>) {
        let chosen = [
            ("python", self.python),
            ("r", self.r),
            ("profile", self.profile),
            ("cluster", self.cluster),
            ("queue", self.queue),
        ];
        for (key, value) in chosen {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
    }
}
