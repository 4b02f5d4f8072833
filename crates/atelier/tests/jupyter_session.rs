//! The single-server promise, end to end with a real JupyterLab: log in,
//! start a session as yourself, reach it through the proxy over HTTP and
//! WebSocket, keep it across a SIGKILL of the server, stop it cleanly; and
//! nobody else reaches it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{eventually, session_processes, Client, Server, TestUser};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

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

/// Runs `code` in a new kernel through the proxy's WebSocket; returns stdout.
async fn run_in_kernel(server: &Server, token: &str, id: &str, code: &str) -> String {
    let api = server.client().with_token(token);
    let kernel = api
        .post(&format!("/s/{id}/api/kernels"), json!({"name": "python3"}))
        .await;
    assert_eq!(kernel.status, 201, "{}", kernel.text());
    let kernel_id = kernel.json()["id"].as_str().unwrap().to_owned();
    let url = format!(
        "ws://127.0.0.1:{}/s/{id}/api/kernels/{kernel_id}/channels",
        server.port
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket through the proxy");
    let msg_id = "atelier-test-1";
    let execute = json!({
        "header": {"msg_id": msg_id, "username": "test", "session": "s1", "msg_type": "execute_request", "version": "5.3", "date": "2026-01-01T00:00:00Z"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": false, "store_history": false, "user_expressions": {}, "allow_stdin": false, "stop_on_error": true},
    });
    socket
        .send(Message::text(execute.to_string()))
        .await
        .unwrap();
    let mut output = String::new();
    let read = async {
        while let Some(message) = socket.next().await {
            let Ok(Message::Text(text)) = message else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).unwrap();
            if message["parent_header"]["msg_id"] != msg_id {
                continue;
            }
            match message["msg_type"].as_str() {
                Some("stream") => {
                    output.push_str(message["content"]["text"].as_str().unwrap_or(""))
                }
                Some("status")
                    if message["content"]["execution_state"] == "idle" && !output.is_empty() =>
                {
                    break
                }
                Some("error") => panic!("kernel error: {}", message["content"]),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("kernel output in time");
    output
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
