//! `GET /kinds`: what can be started here.

use std::sync::Arc;

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

/// A cluster.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClusterView {
    /// Name.
    name: String,
    /// Backend kind.
    backend: String,
    /// Queues (partitions).
    queues: Vec<String>,
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
    let local = ClusterView {
        name: "local".into(),
        backend: "local".into(),
        queues: Vec::new(),
    };
    Json(KindsView {
        kinds,
        python: languages.python().to_vec(),
        r: languages.r().to_vec(),
        profiles,
        clusters: vec![local],
        defaults: Defaults {
            kind: default_kind,
            cluster: "local".into(),
            profile: default_profile,
            python: languages.default_python().map(|p| p.name.clone()),
            r: languages.default_r().map(|r| r.name.clone()),
        },
    })
}
