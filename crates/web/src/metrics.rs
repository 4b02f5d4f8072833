//! `/health-check` for load balancers and `/metrics` for Prometheus.
//!
//! Metrics (all labels come from fixed sets, never from user input):
//! - `atelier_sessions{state}`: sessions by state, from the store.
//! - `atelier_proxy_requests_total{class}`: proxied requests by status class.
//! - `atelier_proxy_request_seconds`: histogram of the time to the response head.
//! - `atelier_launch_failures_total`: sessions that failed to launch.
//! - `atelier_cluster_up{cluster}`: 1 when the cluster's commands answer.
//! - `atelier_cluster_commands_total{cluster}`: commands sent to its
//!   resource manager (`sbatch`, `squeue`, `scancel`, `sinfo`).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use atelier_core::SessionState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Counters kept in memory by this node.
#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
    launch_failures: AtomicU64,
}

impl Metrics {
    /// Records one proxied request.
    pub fn proxied(&self, status: StatusCode, took: Duration) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Records a session that failed to launch.
    pub fn launch_failed(&self) {
        self.launch_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, sessions: &[(SessionState, u64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP atelier_sessions Sessions by state.\n# TYPE atelier_sessions gauge"
        );
        for state in SessionState::ALL {
            let count = sessions
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "atelier_sessions{{state=\"{state}\"}} {count}");
        }
        let _ = writeln!(out, "# HELP atelier_proxy_requests_total Proxied requests by status class.\n# TYPE atelier_proxy_requests_total counter");
        for (i, counter) in self.by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "atelier_proxy_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP atelier_proxy_request_seconds Time to the response head.\n# TYPE atelier_proxy_request_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "atelier_proxy_request_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "atelier_proxy_request_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "atelier_proxy_request_seconds_sum {sum}\natelier_proxy_request_seconds_count {count}"
        );
        let _ = writeln!(out, "# HELP atelier_launch_failures_total Sessions that failed to launch.\n# TYPE atelier_launch_failures_total counter");
        let _ = writeln!(
            out,
            "atelier_launch_failures_total {}",
            self.launch_failures.load(Ordering::Relaxed)
        );
        out
    }
}

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/health-check", get(health))
        .route("/metrics", get(metrics))
}

/// 200 with the node's name while the store answers and the data folder's
/// disk has room; 503 with the reason otherwise.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let node = state.settings.node.clone();
    let problem = match state.store.ping().await {
        Err(error) => {
            let chain = atelier_core::error_chain(&error);
            tracing::warn!(error = %chain, "health check: store unavailable");
            Some("store unavailable")
        }
        Ok(()) => disk_problem(&state.settings.data_dir),
    };
    match problem {
        None => Json(serde_json::json!({ "status": "ok", "node": node })).into_response(),
        Some(reason) => {
            let body =
                serde_json::json!({ "status": "unavailable", "node": node, "reason": reason });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// Below this much free space in the data folder, the node reports itself
/// unable to serve: session records, logs and job output could not be saved.
const MIN_FREE_BYTES: u64 = 1 << 20;

fn disk_problem(data_dir: &std::path::Path) -> Option<&'static str> {
    match atelier_os::fs::free_bytes(data_dir) {
        Ok(free) if free < MIN_FREE_BYTES => {
            tracing::warn!(free, data_dir = %data_dir.display(), "health check: data disk full");
            Some("data disk full")
        }
        Ok(_) => None,
        // Unreadable free space is not a reason to take the node out.
        Err(error) => {
            tracing::warn!(%error, "health check: free space unknown");
            None
        }
    }
}

/// The cluster lines; cluster names come from the config, never from users.
fn render_clusters(out: &mut String, clusters: &[atelier_launcher::ClusterInfo]) {
    let _ = writeln!(out, "# HELP atelier_cluster_up Whether the cluster's commands answer.\n# TYPE atelier_cluster_up gauge");
    for cluster in clusters {
        let up = u8::from(cluster.error.is_none());
        let _ = writeln!(
            out,
            "atelier_cluster_up{{cluster=\"{}\"}} {up}",
            cluster.name
        );
    }
    let _ = writeln!(out, "# HELP atelier_cluster_commands_total Commands sent to the cluster's resource manager.\n# TYPE atelier_cluster_commands_total counter");
    for cluster in clusters {
        let _ = writeln!(
            out,
            "atelier_cluster_commands_total{{cluster=\"{}\"}} {}",
            cluster.name, cluster.commands_run
        );
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match state.store.count_sessions_by_state().await {
        Ok(counts) => {
            let mut text = state.metrics.render(&counts);
            render_clusters(&mut text, &state.sessions.backend().info().await);
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        Err(error) => crate::ApiError::store(&error).into_response(),
    }
}
