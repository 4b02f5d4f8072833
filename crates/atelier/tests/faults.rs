//! Faults, and what is true after each: the server killed with SIGKILL while
//! a session starts, while it stops and while a job with children runs; IDEs
//! that crash, never answer or ignore SIGTERM; a full disk under the data
//! folder; the database gone for a while. After each: no record lost, no
//! process left behind, every session and job in a true state, and a
//! message that tells the user what happened.

mod common;

use std::time::{Duration, Instant};

use common::kinds::custom_kinds;
use common::postgres::Cluster;
use common::tmpfs::Tmpfs;
use common::{eventually, session_processes, Client, Reply, Server, TestUser};
use serde_json::{json, Value};

/// The fixture web app, with SIGTERM ignored: only SIGKILL ends it.
fn stubborn_kind() -> String {
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/web_app.py");
    let code = "import runpy, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')";
    format!(
        "\n[[kind]]\nname = \"stubborn\"\ncommand = [\"/usr/bin/python3\", \"-c\", \"{code}\", \"{app}\", \"{{socket}}\"]\nready_path = \"/\"\n"
    )
}

async fn start(api: &Client, kind: &str) -> Value {
    let reply = api.post("/api/v1/sessions", json!({ "kind": kind })).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

fn id_of(session: &Value) -> String {
    session["id"].as_str().unwrap().to_owned()
}

/// Waits until the session is in one of `states`; panics if it ends elsewhere.
async fn settled(api: &Client, id: &str, states: &[&str]) -> Value {
    eventually(
        &format!("session {id} to be {states:?}"),
        Duration::from_secs(30),
        || async {
            let session = api.get(&format!("/api/v1/sessions/{id}")).await.json();
            let state = session["state"].as_str().unwrap_or_default().to_owned();
            let ended = ["stopped", "failed", "lost"].contains(&state.as_str());
            assert!(
                states.contains(&state.as_str()) || !ended,
                "session {id} ended {state}: {session}"
            );
            states.contains(&state.as_str()).then_some(session)
        },
    )
    .await
}

async fn stop_and_check_clean(api: &Client, id: &str) {
    let reply = api
        .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    settled(api, id, &["stopped"]).await;
    assert_eq!(session_processes(id), vec![], "processes of {id} survived");
}

/// The same client, pointed at a restarted server.
fn rebased(api: &Client, server: &Server) -> Client {
    let mut api = api.clone();
    api.base = server.url();
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_a_session_starts_adopts_it_after_the_restart() {
    let alice = TestUser::create();
    let mut server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let api = server.client().with_token(&server.token(&alice.name));
    let created = start(&api, "web").await;
    server.kill9();
    assert_eq!(created["state"], "starting", "killed before it ran");
    let id = id_of(&created);

    let server = server.restart().await;
    let api = rebased(&api, &server);
    let running = settled(&api, &id, &["running"]).await;
    for field in ["id", "user", "kind", "name", "created_at"] {
        assert_eq!(running[field], created[field], "{field} survived the kill");
    }
    let seen = api.get(&format!("/s/{id}/")).await.json();
    assert_eq!(
        (seen["uid"].as_u64(), seen["authorized"].as_bool()),
        (Some(alice.uid.into()), Some(true))
    );
    let processes = session_processes(&id);
    assert!(!processes.is_empty() && processes.iter().all(|(_, uid)| *uid == alice.uid));
    stop_and_check_clean(&api, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_a_session_stops_finishes_the_stop_after_the_restart() {
    let alice = TestUser::create();
    let mut server = Server::start(&[], &[&alice], &stubborn_kind()).await;
    let api = server.client().with_token(&server.token(&alice.name));
    let id = id_of(&start(&api, "stubborn").await);
    settled(&api, &id, &["running"]).await;
    let stopping = api
        .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
        .await;
    server.kill9();
    assert_eq!(stopping.json()["state"], "stopping");
    assert!(
        !session_processes(&id).is_empty(),
        "it ignores SIGTERM, so it outlived the server"
    );

    let server = server.restart().await;
    let api = rebased(&api, &server);
    let stopped = settled(&api, &id, &["stopped"]).await;
    assert!(stopped["ended_at"].is_string(), "{stopped}");
    assert_eq!(session_processes(&id), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_jobs_with_children_loses_neither_jobs_nor_processes() {
    let alice = TestUser::create();
    let mut server = Server::start(&[], &[&alice], "").await;
    let api = server.client().with_token(&server.token(&alice.name));
    let submit = |command: &'static str| {
        let api = api.clone();
        async move {
            let body = json!({ "command": ["/bin/sh", "-c", command] });
            let reply = api.post("/api/v1/jobs", body).await;
            assert_eq!(reply.status, 201, "{}", reply.text());
            reply.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let finishing =
        submit("for i in 1 2 3; do (sleep 3; echo child $i) & done; wait; echo all done").await;
    let endless = submit("sleep 300 & sleep 300 & wait").await;
    eventually("the jobs' children", Duration::from_secs(10), || async {
        (session_processes(&finishing).len() >= 4 && session_processes(&endless).len() >= 3)
            .then_some(())
    })
    .await;
    server.kill9();

    let server = server.restart().await;
    let api = rebased(&api, &server);
    let job = eventually("the job to end", Duration::from_secs(30), || async {
        let job = api.get(&format!("/api/v1/jobs/{finishing}")).await.json();
        (job["state"] != "running" && job["state"] != "pending").then_some(job)
    })
    .await;
    assert_eq!(
        (job["state"].as_str(), job["exit_code"].as_i64()),
        (Some("finished"), Some(0)),
        "{job}"
    );
    let out = api
        .get(&format!("/api/v1/jobs/{finishing}/output?stream=stdout"))
        .await
        .text();
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["all done", "child 1", "child 2", "child 3"]);
    assert_eq!(session_processes(&finishing), vec![]);

    let still = api.get(&format!("/api/v1/jobs/{endless}")).await.json();
    assert_eq!(
        still["state"], "running",
        "the restarted server re-adopted it: {still}"
    );
    let canceled = api
        .post(&format!("/api/v1/jobs/{endless}/cancel"), json!({}))
        .await;
    assert_eq!(canceled.status, 202, "{}", canceled.text());
    eventually(
        "no process of the canceled job",
        Duration::from_secs(8),
        || async { session_processes(&endless).is_empty().then_some(()) },
    )
    .await;
    assert_eq!(
        api.get(&format!("/api/v1/jobs/{endless}")).await.json()["state"],
        "canceled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ides_that_crash_or_never_answer_fail_with_the_reason_and_leave_nothing() {
    let alice = TestUser::create();
    let extra = format!("start_timeout_secs = 2\n{}", custom_kinds());
    let server = Server::start(&[], &[&alice], &extra).await;
    let api = server.client().with_token(&server.token(&alice.name));
    let broken = id_of(&start(&api, "broken").await);
    let silent = id_of(&start(&api, "silent").await);

    let failed = settled(&api, &broken, &["failed"]).await;
    let reason = failed["error"].as_str().unwrap();
    assert!(
        reason.contains("exited with status 3") && reason.contains("broken-ide: cannot start"),
        "{reason}"
    );
    let failed = settled(&api, &silent, &["failed"]).await;
    let reason = failed["error"].as_str().unwrap();
    assert!(reason.contains("did not answer within 2 s"), "{reason}");
    for id in [&broken, &silent] {
        assert_eq!(session_processes(id), vec![], "processes of {id} survived");
    }
    // The server is unharmed: the next session runs.
    let id = id_of(&start(&api, "web").await);
    settled(&api, &id, &["running"]).await;
    stop_and_check_clean(&api, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ide_that_ignores_sigterm_is_killed_after_the_grace() {
    let alice = TestUser::create();
    // The harness's stop grace is 3 s.
    let server = Server::start(&[], &[&alice], &stubborn_kind()).await;
    let api = server.client().with_token(&server.token(&alice.name));
    let id = id_of(&start(&api, "stubborn").await);
    settled(&api, &id, &["running"]).await;
    assert_eq!(api.get(&format!("/s/{id}/")).await.status, 200);

    let asked = Instant::now();
    let reply = api
        .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
        .await;
    assert_eq!(reply.status, 202);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!session_processes(&id).is_empty(), "SIGTERM was ignored");
    assert_eq!(
        api.get(&format!("/api/v1/sessions/{id}")).await.json()["state"],
        "stopping"
    );
    let stopped = settled(&api, &id, &["stopped"]).await;
    let took = asked.elapsed();
    eprintln!("a SIGTERM-proof IDE was stopped in {took:?} (grace 3 s)");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(
        stopped["error"].is_null(),
        "the user asked for this stop: {stopped}"
    );
    assert_eq!(session_processes(&id), vec![]);
}

/// Awaits a request, failing the test if it takes longer than `limit`.
async fn bounded(limit: Duration, request: impl std::future::Future<Output = Reply>) -> Reply {
    tokio::time::timeout(limit, request)
        .await
        .unwrap_or_else(|_| panic!("no answer within {limit:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_disk_fails_new_sessions_cleanly_until_space_is_freed() {
    let alice = TestUser::create();
    let mut server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let api = server.client().with_token(&server.token(&alice.name));
    server.kill9();
    let disk = Tmpfs::mount_over(&server.data_dir(), "4M");
    let server = server.restart().await;
    let api = rebased(&api, &server);
    let listed = api.get("/api/v1/sessions").await;
    assert_eq!(listed.status, 200, "{}", listed.text());

    let filled = disk.fill();
    eprintln!("filled the data disk with {filled} bytes");
    let reply = bounded(
        Duration::from_secs(30),
        api.post("/api/v1/sessions", json!({"kind": "web"})),
    )
    .await;
    eprintln!("start on a full disk: {} {}", reply.status, reply.text());
    let health = server.client().get("/health-check").await;
    eprintln!("health on a full disk: {} {}", health.status, health.text());
    let sessions = api.get("/api/v1/sessions").await;
    assert_eq!(sessions.status, 200, "still serving: {}", sessions.text());
    let sessions = sessions.json()["sessions"].as_array().unwrap().clone();
    if reply.status.is_success() {
        // Recorded before the disk refused the launch: then it failed, with the reason.
        let id = id_of(&reply.json());
        let failed = settled(&api, &id, &["failed"]).await;
        let reason = failed["error"].as_str().unwrap();
        assert!(reason.contains("No space left on device"), "{reason}");
        assert_eq!(session_processes(&id), vec![]);
    } else {
        // The record could not be written: nothing half-written is left.
        assert_eq!(sessions, Vec::<Value>::new(), "no half-written record");
        assert!(reply.status.is_server_error(), "{}", reply.status);
        // The user reads that the server cannot save for now, and when to
        // retry; the log carries SQLite's own cause.
        assert_eq!(reply.status, 503, "{}", reply.text());
        assert_eq!(reply.error_code(), "store_unavailable");
        let retry = reply
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap());
        assert_eq!(retry, Some("5"));
        let log = server.log();
        assert!(log.contains("SQLite failed in insert_session: "), "{log}");
        assert!(log.contains("full"), "the cause is logged: {log}");
    }
    // The health check sees that nothing can be saved and says why.
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["reason"], "data disk full");

    disk.free();
    let id = id_of(&start(&api, "web").await);
    settled(&api, &id, &["running"]).await;
    assert_eq!(api.get(&format!("/s/{id}/")).await.status, 200);
    stop_and_check_clean(&api, &id).await;
    assert_eq!(server.client().get("/health-check").await.status, 200);
    drop(server);
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_gone_for_a_while_gives_errors_then_everything_works_again() {
    let cluster = Cluster::start();
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let text = std::fs::read_to_string(&server.config).unwrap();
    let text = format!("database_url = \"{}\"\n{text}", cluster.url());
    std::fs::write(&server.config, text).unwrap();
    let server = server.restart().await;
    let api = server.client().with_token(&server.token(&alice.name));
    let id = id_of(&start(&api, "web").await);
    let before = settled(&api, &id, &["running"]).await;

    cluster.halt();
    let limit = Duration::from_secs(20);
    let outage = Instant::now();
    let session_path = format!("/api/v1/sessions/{id}");
    let requests = [
        ("get", bounded(limit, api.get(&session_path)).await),
        ("list", bounded(limit, api.get("/api/v1/sessions")).await),
        (
            "start",
            bounded(limit, api.post("/api/v1/sessions", json!({"kind": "web"}))).await,
        ),
    ];
    for (what, reply) in &requests {
        eprintln!(
            "{what} without the database: {} {}",
            reply.status,
            reply.text()
        );
        assert_eq!(reply.status, 503, "{what}: {}", reply.text());
        assert_eq!(reply.error_code(), "store_unavailable", "{what}");
        assert!(
            reply.json()["error"]["message"].is_string(),
            "{what}: {}",
            reply.text()
        );
    }
    let health = bounded(limit, server.client().get("/health-check")).await;
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["status"], "unavailable");
    eprintln!(
        "four requests during the outage answered in {:?}",
        outage.elapsed()
    );
    // Long enough for the watcher's slow tick to meet the outage.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = server.log();
    assert!(
        log.contains("no PostgreSQL connection"),
        "the cause is logged"
    );
    // One warning per watcher for the whole outage, not one per tick.
    let warnings = log.matches("watcher could not list").count();
    assert!((1..=2).contains(&warnings), "{warnings} warnings: {log}");

    cluster.resume();
    let back = Instant::now();
    eventually(
        "the health check to pass",
        Duration::from_secs(10),
        || async { (server.client().get("/health-check").await.status == 200).then_some(()) },
    )
    .await;
    let after = eventually(
        "the session to be readable",
        Duration::from_secs(10),
        || async {
            let reply = api.get(&session_path).await;
            (reply.status == 200).then(|| reply.json())
        },
    )
    .await;
    eprintln!(
        "the API worked again {:?} after PostgreSQL came back",
        back.elapsed()
    );
    assert_eq!(after["state"], "running", "{after}");
    for field in ["id", "user", "kind", "name", "created_at", "started_at"] {
        assert_eq!(after[field], before[field], "{field} survived the outage");
    }
    assert_eq!(api.get(&format!("/s/{id}/")).await.status, 200);
    stop_and_check_clean(&api, &id).await;
}
