//! `GET /kinds`: what can be started here.

use std::sync::Arc;

use atelier_launcher::ClusterInfo;
use atelier_sessions::languages::Interpreter;
use atelier_sessions::{KindInfo, Profile};
use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::{AppState, Caller};

/// Everything the new-session form offers.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct KindsView {
    /// Session kinds, with availability.
    kinds: Vec<KindInfo>,
    /// Python versions, with whether each can run and has a Jupyter kernel.
    python: Vec<Interpreter>,
    /// R versions, likewise.
    r: Vec<Interpreter>,
    /// Resource profiles the caller may pick, the default first.
    profiles: Vec<Profile>,
    /// Clusters sessions can run on.
    clusters: Vec<ClusterView>,
    /// What the form preselects.
    defaults: Defaults,
}

/// A cluster: where it stands, its queues and what one session may ask.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClusterView {
    /// Name.
    name: String,
    /// Backend kind: `local` or `slurm`.
    backend: String,
    /// Queues (Slurm partitions), with their largest node.
    queues: Vec<QueueView>,
    /// The queue used when a request names none; `null` for the cluster's
    /// own default.
    default_queue: Option<String>,
    /// Most CPUs one session may ask for; `null`: the node's size.
    max_cpus: Option<u32>,
    /// Most memory one session may ask for, in bytes.
    max_memory: Option<u64>,
    /// Longest time limit, in minutes.
    max_minutes: Option<u32>,
    /// Most GPUs one session may ask for.
    max_gpus: u32,
    /// `ok`, or `unreachable` when its commands fail (see `error`).
    state: &'static str,
    /// Why it does not answer.
    error: Option<String>,
    /// Commands Atelier has sent the resource manager since it started
    /// (`sbatch`, `squeue`, `scancel`, `sinfo`); 0 for the local cluster.
    commands_run: u64,
}

/// One queue of a cluster.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct QueueView {
    /// Name.
    name: String,
    /// Whether the cluster uses it when a request names none.
    default: bool,
    /// CPUs of its largest node.
    cpus: u32,
    /// Memory of its largest node, in MiB.
    memory_mib: u64,
    /// Its time limit as the cluster prints it (`infinite`, `1:00:00`).
    time_limit: String,
}

impl From<ClusterInfo> for ClusterView {
    fn from(info: ClusterInfo) -> Self {
        let queues = info
            .queues
            .into_iter()
            .map(|q| QueueView {
                name: q.name,
                default: q.default,
                cpus: q.cpus,
                memory_mib: q.memory_mib,
                time_limit: q.time_limit,
            })
            .collect();
        ClusterView {
            name: info.name,
            backend: info.backend,
            queues,
            default_queue: info.default_queue,
            max_cpus: info.max_cpus,
            max_memory: info.max_memory,
            max_minutes: info.max_minutes,
            max_gpus: info.max_gpus,
            state: if info.error.is_some() {
                "unreachable"
            } else {
                "ok"
            },
            error: info.error,
            commands_run: info.commands_run,
        }
    }
}

/// Every cluster's state (also for the admin page).
pub(crate) async fn cluster_views(state: &AppState) -> Vec<ClusterView> {
    let info = state.sessions.backend().info().await;
    info.into_iter().map(ClusterView::from).collect()
}

/// Preselected choices.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Defaults {
    /// Kind.
    kind: Option<String>,
    /// Cluster.
    cluster: String,
    /// Profile (the first one open to the caller).
    profile: Option<String>,
    /// Python version (the newest with a Jupyter kernel).
    python: Option<String>,
    /// R version (the newest with a Jupyter kernel).
    r: Option<String>,
}

/// Lists session kinds and the choices that go with them.
#[utoipa::path(get, path = "/api/v1/kinds", responses((status = 200, body = KindsView)))]
pub(crate) async fn kinds(State(state): State<Arc<AppState>>, caller: Caller) -> Json<KindsView> {
    let kinds: Vec<KindInfo> = state.sessions.catalog().kinds().cloned().collect();
    let default_kind = kinds
        .iter()
        .find(|kind| kind.available)
        .map(|kind| kind.name.to_string());
    let languages = state.sessions.languages();
    let profiles = state.sessions.profiles().for_user(&caller.user.name);
    let default_profile = profiles.first().map(|p| p.name.clone());
    Json(KindsView {
        kinds,
        python: languages.python().to_vec(),
        r: languages.r().to_vec(),
        profiles,
        clusters: cluster_views(&state).await,
        defaults: Defaults {
            kind: default_kind,
            cluster: "local".into(),
            profile: default_profile,
            python: languages.default_python().map(|p| p.name.clone()),
            r: languages.default_r().map(|r| r.name.clone()),
        },
    })
}

/// Every cluster with its state.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClusterList {
    /// `local` first, then the configured clusters.
    clusters: Vec<ClusterView>,
}

/// Lists the clusters, their queues and limits, and whether each answers
/// (its commands work). Any signed-in user may ask: the new-session dialog
/// offers the same.
#[utoipa::path(get, path = "/api/v1/clusters", responses((status = 200, body = ClusterList)))]
pub(crate) async fn clusters(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<ClusterList> {
    Json(ClusterList {
        clusters: cluster_views(&state).await,
    })
}
