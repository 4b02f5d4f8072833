//! The single-server promise, end to end with a real JupyterLab: log in,
//! start a session as yourself, reach it through the proxy over HTTP and
//! WebSocket, keep it across a SIGKILL of the server, stop it cleanly; and
//! nobody else reaches it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::jupyter::run_in_kernel;
use common::{eventually, session_processes, Client, Server, TestUser};
use serde_json::{json, Value};

async fn wait_state(client: &Client, id: &str, state: &str) -> Value {
    let what = format!("session {id} to be {state}");
    eventually(&what, Duration::from_secs(60), || async {
        let session = client.get(&format!("/api/v1/sessions/{id}")).await.json();
        if session["state"] == "failed" && state != "failed" {
            panic!("session failed: {}", session["error"]);
        }
        (session["state"] == state).then_some(session)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jupyterlab_session_end_to_end() {
    let alice = TestUser::create();
    let bob = TestUser::create();
    let server = Server::start(&[], &[&alice, &bob], "").await;
    let mut browser = server.client();
    assert_eq!(
        browser.login(&alice.name, &alice.password).await.status,
        200
    );
    let mut other = server.client();
    assert_eq!(other.login(&bob.name, &bob.password).await.status, 200);

    // Started from the browser (cookie + CSRF), named, several per user.
    let created = browser
        .post(
            "/api/v1/sessions",
            json!({"kind": "jupyterlab", "name": "analysis"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let session = wait_state(&browser, &id, "running").await;
    assert_eq!(session["user"], alice.name.as_str());
    assert_eq!(session["url"], format!("/s/{id}/"));

    // Through the proxy with the login cookie.
    let status = browser.get(&format!("/s/{id}/api/status")).await;
    assert_eq!(status.status, 200, "{}", status.text());
    assert!(status.json()["started"].is_string());

    // Every process of the session runs as alice, none as root.
    let processes = session_processes(&id);
    assert!(!processes.is_empty());
    assert!(
        processes.iter().all(|(_, uid)| *uid == alice.uid),
        "{processes:?} not all uid {}",
        alice.uid
    );

    // Code runs in a kernel over the proxied WebSocket.
    let token = server.token(&alice.name);
    assert_eq!(
        run_in_kernel(&server, &token, &id, "print(6 * 7)").await,
        "42\n"
    );
    let whoami = run_in_kernel(
        &server,
        &token,
        &id,
        "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name)",
    )
    .await;
    assert_eq!(whoami.trim(), alice.name);

    // Bob gets exactly what a missing session gets, and cannot open the socket.
    let missing = other
        .get("/s/0123456789abcdef0123456789abcdef/api/status")
        .await;
    let refused = other.get(&format!("/s/{id}/api/status")).await;
    assert_eq!(refused.status, 404);
    assert_eq!(
        (refused.status, refused.body.clone()),
        (missing.status, missing.body.clone())
    );
    assert_eq!(
        other.get(&format!("/api/v1/sessions/{id}")).await.status,
        404
    );
    let socket = server
        .data_dir()
        .join("sessions")
        .join(&id)
        .join("ide.sock");
    let connect = format!(
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect({:?})",
        socket.to_str().unwrap()
    );
    let attempt = Command::new("runuser")
        .args(["-u", &bob.name, "--", "/usr/bin/python3", "-c", &connect])
        .output()
        .unwrap();
    assert!(!attempt.status.success(), "bob connected to alice's socket");
    assert!(String::from_utf8_lossy(&attempt.stderr).contains("Permission denied"));

    // SIGKILL the server while the session runs: it survives and is re-adopted.
    let server = server.restart().await;
    let mut browser = browser;
    browser.base = server.url();
    assert_eq!(
        browser.get(&format!("/api/v1/sessions/{id}")).await.json()["state"],
        "running"
    );
    assert_eq!(
        browser.get(&format!("/s/{id}/api/status")).await.status,
        200
    );
    assert_eq!(
        run_in_kernel(&server, &token, &id, "print('after restart')").await,
        "after restart\n"
    );

    // Stop: nothing of the session is left, and the record says stopped.
    let stopping = browser
        .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
        .await;
    assert_eq!(stopping.status, 202, "{}", stopping.text());
    let stopped = wait_state(&browser, &id, "stopped").await;
    assert!(stopped["ended_at"].is_string());
    assert_eq!(session_processes(&id), vec![]);
    assert_eq!(
        browser.get(&format!("/s/{id}/api/status")).await.status,
        404
    );

    // No secret reached the server's log.
    let log = server.log();
    assert!(!log.contains(&alice.password) && !log.contains(&token));
    assert!(!log.contains(browser.cookie.as_ref().unwrap().split('=').nth(1).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notebook_session_over_http_and_websocket_for_its_owner_only() {
    let alice = TestUser::create();
    let bob = TestUser::create();
    let server = Server::start(&[], &[&alice, &bob], "").await;
    let token = server.token(&alice.name);
    let api = server.client().with_token(&token);
    let created = api
        .post("/api/v1/sessions", json!({"kind": "notebook"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    wait_state(&api, &id, "running").await;

    let tree = api.get(&format!("/s/{id}/tree")).await;
    assert_eq!(tree.status, 200);
    assert!(
        tree.text().contains("Jupyter Notebook") || tree.text().contains("notebook"),
        "not Notebook's page"
    );
    assert_eq!(
        run_in_kernel(&server, &token, &id, "print(sum(range(10)))").await,
        "45\n"
    );
    let other = server.client().with_token(&server.token(&bob.name));
    assert_eq!(other.get(&format!("/s/{id}/tree")).await.status, 404);
    assert!(session_processes(&id)
        .iter()
        .all(|(_, uid)| *uid == alice.uid));
}
