//! `GET /kinds`: what can be started here.

use std::sync::Arc;

use atelier_sessions::KindInfo;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::{AppState, Caller};

/// Everything the new-session form offers.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct KindsView {
    /// Session kinds, with availability.
    kinds: Vec<KindInfo>,
    /// Python versions (empty until versions are supported).
    python: Vec<String>,
    /// R versions (empty until versions are supported).
    r: Vec<String>,
    /// Resource profiles (empty until profiles are enforced).
    profiles: Vec<String>,
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
}

/// Lists session kinds and the choices that go with them.
#[utoipa::path(get, path = "/api/v1/kinds", responses((status = 200, body = KindsView)))]
pub(crate) async fn kinds(State(state): State<Arc<AppState>>, _caller: Caller) -> Json<KindsView> {
    let kinds: Vec<KindInfo> = state.sessions.catalog().kinds().cloned().collect();
    let default_kind = kinds
        .iter()
        .find(|kind| kind.available)
        .map(|kind| kind.name.to_string());
    let local = ClusterView {
        name: "local".into(),
        backend: "local".into(),
        queues: Vec::new(),
    };
    Json(KindsView {
        kinds,
        python: Vec::new(),
        r: Vec::new(),
        profiles: Vec::new(),
        clusters: vec![local],
        defaults: Defaults {
            kind: default_kind,
            cluster: "local".into(),
        },
    })
}
