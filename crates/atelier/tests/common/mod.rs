//! Test harness: real Linux users, a real `atelier serve` process with its
//! own data folder and port, and a small HTTP client.
//!
//! Every test makes its own users and server, so tests run in parallel.

// Each test binary uses a different part of the harness, and the harness is
// private to the tests, so neither dead code nor pub reachability matters.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub mod http;
pub mod jupyter;
pub mod kinds;
pub mod light;
pub mod postgres;
pub mod server;
pub mod slurm;
pub mod tmpfs;
pub mod users;

pub use http::{Client, Reply};
pub use server::Server;
pub use users::TestUser;

use std::time::{Duration, Instant};

/// Polls `check` every 100 ms until it returns `Some`, or panics after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Processes (pid, uid) that carry a session's marker in their environment.
pub fn session_processes(id: &str) -> Vec<(i32, u32)> {
    let marker = format!("ATELIER_SESSION_ID={id}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            if let Some(uid) = process_uid(pid) {
                found.push((pid, uid));
            }
        }
    }
    found
}

/// A variable of the environment of one of the session's processes.
pub fn session_env(id: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    session_processes(id)
        .iter()
        .find_map(|(pid, _)| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            environ.split(|b| *b == 0).find_map(|var| {
                let var = String::from_utf8_lossy(var);
                var.strip_prefix(&prefix).map(str::to_owned)
            })
        })
        .unwrap_or_else(|| panic!("no process of session {id} has {name}"))
}

fn process_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads a job's output by offset, each read asking only for what is new,
/// until it holds `lines` lines; panics after `limit`. Returns the next
/// offset and the text read.
pub async fn job_output_until(
    api: &Client,
    id: &str,
    lines: usize,
    limit: Duration,
) -> (u64, String) {
    let started = Instant::now();
    let (mut offset, mut seen) = (0u64, String::new());
    while seen.lines().count() < lines {
        let reply = api
            .get(&format!("/api/v1/jobs/{id}/output?offset={offset}"))
            .await;
        offset = reply.headers["x-atelier-next-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        seen.push_str(&reply.text());
        assert!(started.elapsed() < limit, "output did not arrive: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (offset, seen)
}
