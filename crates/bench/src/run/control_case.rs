//! Case 5: the control plane. Many clients at once start sessions of the
//! light benchmark kind, list them and stop them; the server's memory is
//! read before and with every session idle.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use super::Bench;
use crate::client::Conn;
use crate::load::{self, Load, Pace};
use crate::report::{Case, Check, Row};
use crate::stats::{Samples, Summary};

/// One API request of a batch.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Starts, lists, stops; reads the server's memory in between.
pub(crate) async fn run(bench: &Bench, case: &mut Case) -> anyhow::Result<()> {
    let pid = *bench
        .args
        .required(&bench.args.atelier_pid, "--atelier-pid")?;
    let count = bench.pick(1000, 100);
    let clients = bench.pick(200, 50);
    let before = bench.settled_rss_kib(pid).await;

    eprintln!("    starting {count} sessions, {clients} clients at once");
    let starts: Vec<Call> = (0..count)
        .map(|i| Call {
            method: Method::POST,
            path: "/api/v1/sessions".to_owned(),
            body: Some(json!({"kind": bench.args.kind, "name": format!("control-{i}")})),
        })
        .collect();
    let (summary, answers) = batch(bench, starts, clients).await;
    case.rows.push(Row::load(
        &format!("start, {clients} clients"),
        "atelier",
        summary,
    ));
    let ids: Vec<String> = answers
        .iter()
        .filter_map(|a| a.as_ref())
        .filter_map(|body| serde_json::from_slice::<Value>(body).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(!ids.is_empty(), "no session could be started");
    let took = all_in_state(bench, &ids, "running").await?;
    case.rows.push(Row::value(
        &format!("{} sessions: request to all running", ids.len()),
        "atelier",
        took.as_secs_f64(),
        "s",
    ));

    tokio::time::sleep(Duration::from_secs(3)).await;
    let with = bench.settled_rss_kib(pid).await;
    case.notes.push(format!(
        "Server RSS {:.1} MB before, {:.1} MB with {} idle sessions.",
        before as f64 / 1024.0,
        with as f64 / 1024.0,
        ids.len()
    ));
    // Sessions first take up memory that earlier cases freed and the
    // server still holds; when that covers them all, the growth says
    // nothing, and a figure of 0 would be a false one.
    if with > before + 1024 {
        let per_session = (with - before) as f64 / ids.len() as f64;
        case.rows.push(Row::value(
            "server memory per idle session",
            "atelier",
            per_session,
            "KiB",
        ));
    } else {
        case.notes.push(
            "Memory per idle session not measured: the server still held memory freed by the cases before, and the sessions fitted in it. `--cases control` alone measures it."
                .to_owned(),
        );
    }

    let list_group = format!("list {} sessions, {clients} clients", ids.len());
    eprintln!("    {list_group}");
    let list = api_load(bench, "/api/v1/sessions", clients).await;
    case.rows.push(Row::load(&list_group, "atelier", list));
    let get = api_load(bench, &format!("/api/v1/sessions/{}", ids[0]), clients).await;
    case.rows.push(Row::load(
        &format!("get one session, {clients} clients"),
        "atelier",
        get,
    ));
    // The same list with one client: the server's own latency, without the
    // queueing that 200 closed-loop clients on 2 CPUs add (Little's law:
    // their mean latency is at least clients / throughput).
    let alone = api_load(bench, "/api/v1/sessions", 1).await;
    case.rows.push(Row::load(
        &format!("list {} sessions, 1 client", ids.len()),
        "atelier",
        alone,
    ));
    for (figures, who) in [
        (list, format!("{clients} clients at once")),
        (alone, "1 client".to_owned()),
    ] {
        case.checks.push(Check {
            target: format!("list p99 < 10 ms with {} sessions, {who}", ids.len()),
            measured: format!(
                "{:.1} ms (p50 {:.1} ms, {:.0} lists/s)",
                figures.p99_us as f64 / 1000.0,
                figures.p50_us as f64 / 1000.0,
                figures.per_second
            ),
            met: figures.p99_us < 10_000,
        });
    }

    eprintln!("    stopping {} sessions", ids.len());
    let stops: Vec<Call> = ids
        .iter()
        .map(|id| Call {
            method: Method::POST,
            path: format!("/api/v1/sessions/{id}/stop"),
            body: Some(json!({})),
        })
        .collect();
    let (summary, _) = batch(bench, stops, clients).await;
    case.rows.push(Row::load(
        &format!("stop, {clients} clients"),
        "atelier",
        summary,
    ));
    let took = all_in_state(bench, &ids, "stopped").await?;
    case.rows.push(Row::value(
        &format!("{} sessions: stop to all stopped", ids.len()),
        "atelier",
        took.as_secs_f64(),
        "s",
    ));
    let deletes: Vec<Call> = ids
        .iter()
        .map(|id| Call {
            method: Method::DELETE,
            path: format!("/api/v1/sessions/{id}"),
            body: None,
        })
        .collect();
    batch(bench, deletes, clients).await;
    case.notes.push(
        "All sessions belong to one user, so each list answer carries every session (admins' ?all=true would too). The kind is the benchmark upstream (a small Rust binary), which starts in milliseconds."
            .to_owned(),
    );
    Ok(())
}

/// A closed-loop load of GETs on the API.
async fn api_load(bench: &Bench, path: &str, clients: usize) -> Summary {
    load::run(Load {
        url: bench.atelier.base.with_path(path),
        headers: bench.atelier.headers.clone(),
        connections: clients,
        pace: Pace::Closed,
        warmup: bench.warmup,
        duration: bench.duration,
        expect_len: None,
    })
    .await
}

/// Sends `calls` over `clients` connections at once; returns the figures
/// and each call's body (None if it failed).
async fn batch(bench: &Bench, calls: Vec<Call>, clients: usize) -> (Summary, Vec<Option<Bytes>>) {
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(vec![None; calls.len()]));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients.min(calls.len()).max(1))
        .map(|_| {
            let (calls, next, answers) =
                (Arc::clone(&calls), Arc::clone(&next), Arc::clone(&answers));
            let api = bench.atelier.clone();
            tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut conn: Option<Conn> = None;
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(call) = calls.get(index) else { break };
                    let sent = Instant::now();
                    if conn.is_none() {
                        conn = Conn::open(&api.base.authority).await.ok();
                    }
                    let body = call
                        .body
                        .as_ref()
                        .map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
                    let answer = match conn.as_mut() {
                        Some(open) => {
                            match open.request(call.method.clone(), &call.path, &api.headers, body)
                            {
                                Ok(request) => open.send(request).await.ok(),
                                Err(_) => None,
                            }
                        }
                        None => None,
                    };
                    match answer {
                        Some((status, body)) if status.is_success() => {
                            samples.record(sent.elapsed());
                            answers.lock().expect("answers")[index] = Some(body);
                        }
                        Some(_) => samples.errors += 1,
                        None => {
                            samples.errors += 1;
                            conn = None;
                        }
                    }
                }
                samples
            })
        })
        .collect();
    let mut samples = Samples::default();
    for worker in workers {
        if let Ok(done) = worker.await {
            samples.merge(done);
        }
    }
    let summary = samples.summary(started.elapsed());
    let answers = std::mem::take(&mut *answers.lock().expect("answers"));
    (summary, answers)
}

/// Waits until every session of `ids` is `wanted`; how long that took.
async fn all_in_state(bench: &Bench, ids: &[String], wanted: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    let mut ours = Vec::new();
    while Instant::now() < deadline {
        let list = bench
            .atelier
            .expect(Method::GET, "/api/v1/sessions", None, &[200])
            .await?;
        let sessions = list["sessions"].as_array().cloned().unwrap_or_default();
        ours = sessions
            .into_iter()
            .filter(|s| {
                s["id"]
                    .as_str()
                    .is_some_and(|id| ids.iter().any(|i| i == id))
            })
            .collect();
        if ours.iter().filter(|s| s["state"] == wanted).count() == ids.len() {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!(
        "the sessions did not all become {wanted} within 300 s: {}",
        describe_states(&ours)
    )
}

/// `998 stopped, 2 failed (first error: ...)`: what a timed-out wait saw.
fn describe_states(sessions: &[Value]) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for session in sessions {
        let state = session["state"].as_str().unwrap_or("unknown").to_owned();
        *counts.entry(state).or_default() += 1;
    }
    let mut text: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    if let Some(error) = sessions.iter().find_map(|s| s["error"].as_str()) {
        text.push(format!("first error: {error}"));
    }
    text.join(", ")
}
