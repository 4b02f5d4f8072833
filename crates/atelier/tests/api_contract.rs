//! The REST API's contract on bad input: every endpoint, given malformed
//! JSON, wrong types, unknown fields, unknown ids or another user's ids,
//! answers 4xx with a JSON error and changes nothing.

mod common;

use std::time::Duration;

use common::kinds::custom_kinds;
use common::{eventually, Client, Server, TestUser};
use hyper::Method;
use serde_json::{json, Value};

const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

async fn start_web(client: &Client) -> String {
    let created = client
        .post("/api/v1/sessions", json!({"kind": "web", "name": "app"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    eventually(
        "the web session to run",
        Duration::from_secs(20),
        || async {
            let state = client.get(&format!("/api/v1/sessions/{id}")).await.json()["state"].clone();
            assert_ne!(state, "failed");
            (state == "running").then_some(())
        },
    )
    .await;
    id
}

/// Everything the admin can see: the sessions and their states.
async fn snapshot(admin: &Client) -> Vec<(String, String)> {
    let list = admin.get("/api/v1/sessions?all=true").await.json();
    let sessions = list["sessions"].as_array().unwrap();
    sessions
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().into(),
                s["state"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn assert_error(reply: &common::Reply, status: u16, code: &str, case: &str) {
    assert_eq!(reply.status, status, "{case}: {}", reply.text());
    assert_eq!(reply.error_code(), code, "{case}");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_answer_4xx_json_and_change_nothing() {
    let root = TestUser::create();
    let alice = TestUser::create();
    let bob = TestUser::create();
    let server = Server::start(&[&root], &[&alice, &bob], &custom_kinds()).await;
    let admin = server.client().with_token(&server.token(&root.name));
    let alice_api = server.client().with_token(&server.token(&alice.name));
    let mut bob_browser = server.client();
    bob_browser.login(&bob.name, &bob.password).await;
    let alices = start_web(&alice_api).await;
    let before = snapshot(&admin).await;

    let bodies: [(&str, &str, u16, &str); 9] = [
        ("malformed JSON", "{\"kind\": ", 400, "bad_request"),
        ("not an object", "[1, 2]", 400, "bad_request"),
        ("wrong type", r#"{"kind": 5}"#, 400, "bad_request"),
        (
            "bad kind name",
            r#"{"kind": "Jupyter Lab"}"#,
            400,
            "bad_request",
        ),
        (
            "unknown field",
            r#"{"kind": "web", "colour": "red"}"#,
            400,
            "bad_request",
        ),
        ("unknown kind", r#"{"kind": "nosuch"}"#, 400, "invalid"),
        (
            "unavailable kind",
            r#"{"kind": "rstudio"}"#,
            409,
            "kind_unavailable",
        ),
        (
            "unknown cluster",
            r#"{"kind": "web", "cluster": "mars"}"#,
            400,
            "invalid",
        ),
        (
            "control characters in the name",
            r#"{"kind": "web", "name": "a\u0007b"}"#,
            400,
            "invalid",
        ),
    ];
    for (case, body, status, code) in bodies {
        let reply = bob_browser
            .send(Method::POST, "/api/v1/sessions", Some(body.into()), &[])
            .await;
        assert_error(&reply, status, code, case);
    }
    let no_type = bob_browser
        .send(Method::POST, "/api/v1/sessions", None, &[])
        .await;
    assert_error(&no_type, 415, "unsupported_media_type", "no content type");

    // Unknown, malformed and other people's ids look the same: 404.
    for id in [UNKNOWN_ID, "not-an-id", "..%2F..%2Fetc", alices.as_str()] {
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::POST, "/stop"),
            (Method::DELETE, ""),
            (Method::GET, "/log"),
        ] {
            let path = format!("/api/v1/sessions/{id}{suffix}");
            let reply = bob_browser
                .send(method.clone(), &path, Some("{}".into()), &[])
                .await;
            assert_error(&reply, 404, "not_found", &format!("{method} {path}"));
        }
    }

    let logins: [(&str, &str, u16); 3] = [
        ("malformed", "{\"username\"", 400),
        ("wrong types", r#"{"username": 1, "password": []}"#, 400),
        ("missing password", r#"{"username": "x"}"#, 400),
    ];
    for (case, body, status) in logins {
        let reply = server
            .client()
            .send(Method::POST, "/api/v1/auth/login", Some(body.into()), &[])
            .await;
        assert_eq!(reply.status, status, "login {case}: {}", reply.text());
        assert!(reply.json()["error"]["code"].is_string());
    }
    assert_error(
        &bob_browser.get("/api/v1/nothing-here").await,
        404,
        "not_found",
        "unknown endpoint",
    );
    assert_error(
        &bob_browser.get("/api/v1/sessions?all=true").await,
        403,
        "forbidden",
        "all as non-admin",
    );
    assert_eq!(
        bob_browser.get("/api/v1/sessions?every=1").await.status,
        400,
        "unknown query"
    );
    assert_error(
        &bob_browser.get("/api/v1/users").await,
        403,
        "forbidden",
        "users as non-admin",
    );
    // Removing a running session is refused: stop it first.
    assert_error(
        &alice_api
            .delete(&format!("/api/v1/sessions/{alices}"))
            .await,
        409,
        "wrong_state",
        "delete running",
    );

    assert_eq!(
        snapshot(&admin).await,
        before,
        "a rejected request changed state"
    );
    assert_eq!(alice_api.get(&format!("/s/{alices}/")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_kinds_run_as_the_user_and_report_failures() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let api = server.client().with_token(&server.token(&alice.name));

    // The app sees the proxy's secret, runs as alice, gets the full path.
    let id = start_web(&api).await;
    let seen: Value = api.get(&format!("/s/{id}/some/path?q=1")).await.json();
    assert_eq!(seen["path"], format!("/s/{id}/some/path?q=1"));
    assert_eq!(seen["uid"], alice.uid);
    assert_eq!(seen["authorized"], true);

    // An IDE that dies at start: failed, with its exit status and log lines.
    let broken = api
        .post("/api/v1/sessions", json!({"kind": "broken"}))
        .await
        .json();
    let id = broken["id"].as_str().unwrap().to_owned();
    let failed = eventually(
        "the broken session to fail",
        Duration::from_secs(20),
        || async {
            let session = api.get(&format!("/api/v1/sessions/{id}")).await.json();
            (session["state"] == "failed").then_some(session)
        },
    )
    .await;
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("status 3"), "{error}");
    assert!(error.contains("broken-ide: cannot start"), "{error}");
    assert_eq!(failed["exit_code"], 3);
    let log = api.get(&format!("/api/v1/sessions/{id}/log")).await.json();
    assert!(log["log"]
        .as_str()
        .unwrap()
        .contains("broken-ide: cannot start"));

    // Removing it deletes the record and its folder.
    assert_eq!(
        api.delete(&format!("/api/v1/sessions/{id}")).await.status,
        204
    );
    assert_eq!(api.get(&format!("/api/v1/sessions/{id}")).await.status, 404);
    assert!(!server.data_dir().join("sessions").join(&id).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_never_answers_fails_after_the_start_timeout() {
    let alice = TestUser::create();
    // Lines before the first table of `extra` land in the harness's [sessions].
    let extra = format!("start_timeout_secs = 2\n{}", custom_kinds());
    let server = Server::start(&[], &[&alice], &extra).await;
    let api = server.client().with_token(&server.token(&alice.name));
    let id = api
        .post("/api/v1/sessions", json!({"kind": "silent"}))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = eventually(
        "the silent session to time out",
        Duration::from_secs(20),
        || async {
            let session = api.get(&format!("/api/v1/sessions/{id}")).await.json();
            (session["state"] == "failed").then_some(session)
        },
    )
    .await;
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("did not answer within 2 s"),
        "{}",
        failed["error"]
    );
    assert_eq!(common::session_processes(&id), vec![]);
}
