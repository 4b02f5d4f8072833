//! Lifetime rules with real sessions: an idle JupyterLab is stopped after
//! its timeout while one with a busy kernel is not; a session past the
//! maximum age is stopped; the reason is recorded.

mod common;

use std::time::Duration;

use common::jupyter::{execute, open_kernel};
use common::kinds::custom_kinds;
use common::{eventually, session_processes, Client, Server, TestUser};
use serde_json::{json, Value};

async fn start(api: &Client, kind: &str) -> String {
    let created = api.post("/api/v1/sessions", json!({ "kind": kind })).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    eventually("the session to run", Duration::from_secs(60), || async {
        let state = api.get(&format!("/api/v1/sessions/{id}")).await.json()["state"].clone();
        assert_ne!(state, "failed");
        (state == "running").then_some(())
    })
    .await;
    id
}

async fn session(api: &Client, id: &str) -> Value {
    api.get(&format!("/api/v1/sessions/{id}")).await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_stop_and_busy_kernels_keep_theirs_alive() {
    let alice = TestUser::create();
    // Lines before the first table of `extra` land in the harness's [sessions].
    let extra = "idle_timeout_secs = 6\nidle_timeout_secs_by_kind = { web = 0 }\n";
    let server = Server::start(&[], &[&alice], &format!("{extra}{}", custom_kinds())).await;
    let token = server.token(&alice.name);
    let api = server.client().with_token(&token);

    let idle = start(&api, "jupyterlab").await;
    let busy = start(&api, "jupyterlab").await;
    let exempt = start(&api, "web").await;
    let mut kernel = open_kernel(&server, &token, &busy).await;
    execute(&mut kernel, "import time\ntime.sleep(40)").await;

    let stopped = eventually(
        "the idle session to be stopped",
        Duration::from_secs(40),
        || async {
            let record = session(&api, &idle).await;
            (record["state"] == "stopped").then_some(record)
        },
    )
    .await;
    assert_eq!(stopped["error"], "stopped after 6 s without activity");
    assert_eq!(session_processes(&idle), vec![]);

    // Well past its own timeout, the session computing stays, and so does
    // the kind whose timeout is turned off.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(session(&api, &busy).await["state"], "running");
    assert_eq!(session(&api, &exempt).await["state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_past_the_maximum_age_are_stopped() {
    let alice = TestUser::create();
    let server = Server::start(
        &[],
        &[&alice],
        &format!("max_age_secs = 3\n{}", custom_kinds()),
    )
    .await;
    let api = server.client().with_token(&server.token(&alice.name));
    let id = start(&api, "web").await;
    // Traffic does not matter for the maximum age.
    for _ in 0..3 {
        assert_eq!(api.get(&format!("/s/{id}/")).await.status, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stopped = eventually(
        "the old session to be stopped",
        Duration::from_secs(20),
        || async {
            let record = session(&api, &id).await;
            (record["state"] == "stopped").then_some(record)
        },
    )
    .await;
    assert_eq!(
        stopped["error"],
        "stopped: it reached the maximum session age of 3 s"
    );
}
