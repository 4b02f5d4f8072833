//! Resource profiles with real sessions: the limits are enforced with
//! cgroups, a session that outgrows its memory is stopped with that reason,
//! and profiles are offered only to the users they are for.

mod common;

use std::time::Duration;

use common::jupyter::{execute, open_kernel};
use common::kinds::custom_kinds;
use common::{eventually, session_processes, Client, Server, TestUser};
use serde_json::{json, Value};

fn profiles(boss: &str) -> String {
    format!(
        r#"
[[profile]]
name = "small"
cpus = 1
memory = "200M"
max_sessions = 2

[[profile]]
name = "large"
cpus = 2
memory = "4G"
users = ["{boss}"]
"#
    )
}

async fn wait_state(api: &Client, id: &str, state: &str) -> Value {
    eventually(
        &format!("session to be {state}"),
        Duration::from_secs(60),
        || async {
            let record = api.get(&format!("/api/v1/sessions/{id}")).await.json();
            (record["state"] == state).then_some(record)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_over_its_memory_is_stopped_with_the_reason() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &profiles("nobody")).await;
    let token = server.token(&alice.name);
    let api = server.client().with_token(&token);

    let created = api
        .post("/api/v1/sessions", json!({"kind": "jupyterlab"}))
        .await
        .json();
    assert_eq!(
        created["profile"], "small",
        "the first open profile is the default"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let running = wait_state(&api, &id, "running").await;
    assert_eq!(running["limits"], "cgroup v1: 1 CPU, 200M memory");

    let mut kernel = open_kernel(&server, &token, &id).await;
    execute(&mut kernel, "block = bytearray(1024 * 1024 * 1024)").await;
    let stopped = wait_state(&api, &id, "stopped").await;
    assert_eq!(
        stopped["error"],
        "stopped: it used more than its 200M memory limit"
    );
    assert_eq!(session_processes(&id), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_offered_to_their_users_and_capped() {
    let alice = TestUser::create();
    let boss = TestUser::create();
    let server = Server::start(
        &[],
        &[&alice, &boss],
        &format!("{}{}", custom_kinds(), profiles(&boss.name)),
    )
    .await;
    let api = server.client().with_token(&server.token(&alice.name));
    let boss_api = server.client().with_token(&server.token(&boss.name));

    let names = |kinds: Value| -> Vec<String> {
        kinds["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(api.get("/api/v1/kinds").await.json()), ["small"]);
    assert_eq!(
        names(boss_api.get("/api/v1/kinds").await.json()),
        ["small", "large"]
    );
    let small = &api.get("/api/v1/kinds").await.json()["profiles"][0];
    assert_eq!(
        (small["cpus"].as_f64(), small["memory"].as_str()),
        (Some(1.0), Some("200M"))
    );

    let refused = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "web", "profile": "large"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let large = boss_api
        .post(
            "/api/v1/sessions",
            json!({"kind": "web", "profile": "large"}),
        )
        .await;
    assert_eq!(large.status, 201);
    let id = large.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_state(&boss_api, &id, "running").await["limits"],
        "cgroup v1: 2 CPUs, 4G memory"
    );

    // At most two sessions with "small" per user.
    for _ in 0..2 {
        assert_eq!(
            api.post(
                "/api/v1/sessions",
                json!({"kind": "web", "profile": "small"})
            )
            .await
            .status,
            201
        );
    }
    let third = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "web", "profile": "small"}),
        )
        .await;
    assert_eq!(
        (third.status.as_u16(), third.error_code()),
        (409, "too_many_sessions".into())
    );
}
