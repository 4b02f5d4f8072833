//! VS Code sessions end to end with the real code-server: start one as
//! yourself, reach its workbench through the proxy (which strips `/s/<id>`)
//! over HTTP and WebSocket, stop it without leaving a process; nobody else
//! reaches it.

mod common;

use std::time::Duration;

use common::{eventually, session_processes, Client, Server, TestUser};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Where `scripts/install-code-server.sh` puts code-server (the default `[ide.vscode] path`).
const CODE_SERVER: &str = "/opt/atelier/code-server/bin/code-server";

fn require_code_server() {
    let installed = std::fs::metadata(CODE_SERVER).is_ok_and(|meta| {
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0
    });
    assert!(
        installed,
        "{CODE_SERVER} is missing: run scripts/install-code-server.sh (scripts/test-env.sh runs it through scripts/install-ides.sh)"
    );
}

async fn wait_state(client: &Client, id: &str, state: &str) -> Value {
    let what = format!("session {id} to be {state}");
    eventually(&what, Duration::from_secs(60), || async {
        let session = client.get(&format!("/api/v1/sessions/{id}")).await.json();
        if session["state"] == "failed" && state != "failed" {
            panic!("session failed: {} {}", session["error"], session);
        }
        (session["state"] == state).then_some(session)
    })
    .await
}

/// A random UUID-shaped string, as the workbench makes for its connections.
fn uuid() -> String {
    let hex = format!("{:032x}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Opens the workbench's management WebSocket through the proxy, as the
/// browser does (same origin), with an API token; returns the status.
async fn open_workbench_socket(server: &Server, token: &str, id: &str) -> u16 {
    let url = format!(
        "ws://127.0.0.1:{}/s/{id}/?reconnectionToken={}&reconnection=false&skipWebSocketFrames=false",
        server.port,
        uuid()
    );
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers.insert("origin", server.url().parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket to code-server through the proxy");
    let _ = socket.close(None).await;
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vscode_session_end_to_end() {
    require_code_server();
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

    let kinds = browser.get("/api/v1/kinds").await;
    assert_eq!(kinds.status, 200, "{}", kinds.text());
    let listed = kinds.text();
    assert!(listed.contains("\"vscode\""), "{listed}");

    // Started from the browser; code-server answers on its socket.
    let created = browser
        .post(
            "/api/v1/sessions",
            json!({"kind": "vscode", "name": "code"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let session = wait_state(&browser, &id, "running").await;
    assert_eq!(session["user"], alice.name.as_str());
    assert_eq!(session["url"], format!("/s/{id}/"));

    // The proxy strips /s/<id>: code-server sends the browser on to the
    // folder it opened (the home, the session's working folder) with a
    // relative URL, then serves the workbench.
    let home = format!("/home/{}", alice.name);
    let root = browser.get(&format!("/s/{id}/")).await;
    assert_eq!(root.status, 302, "{}", root.text());
    let location = root.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("./?folder={home}"));
    let page = browser.get(&format!("/s/{id}/?folder={home}")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains("vscode-workbench-web-configuration"),
        "{html}"
    );
    assert!(html.contains(&home), "the workbench does not open {home}");
    let health = browser.get(&format!("/s/{id}/healthz")).await;
    assert_eq!(health.status, 200, "{}", health.text());

    // The workbench's WebSocket goes through, with a token as with a cookie.
    let token = server.token(&alice.name);
    assert_eq!(open_workbench_socket(&server, &token, &id).await, 101);

    // Every process of the session runs as alice, none as root; its socket
    // lives in the session folder and only alice may open it.
    let processes = session_processes(&id);
    assert!(!processes.is_empty());
    assert!(
        processes.iter().all(|(_, uid)| *uid == alice.uid),
        "{processes:?} not all uid {}",
        alice.uid
    );
    let socket = server
        .data_dir()
        .join("sessions")
        .join(&id)
        .join("ide.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // Bob gets exactly what a missing session gets.
    let missing = other.get("/s/0123456789abcdef0123456789abcdef/").await;
    let refused = other.get(&format!("/s/{id}/")).await;
    assert_eq!(refused.status, 404);
    assert_eq!(
        (refused.status, refused.body.clone()),
        (missing.status, missing.body.clone())
    );
    assert_eq!(
        other.get(&format!("/api/v1/sessions/{id}")).await.status,
        404
    );

    // Stop: code-server and its extension host are gone.
    let stopping = browser
        .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
        .await;
    assert_eq!(stopping.status, 202, "{}", stopping.text());
    let stopped = wait_state(&browser, &id, "stopped").await;
    assert!(stopped["ended_at"].is_string());
    assert_eq!(session_processes(&id), vec![]);
    assert_eq!(browser.get(&format!("/s/{id}/")).await.status, 404);

    // No secret reached the server's log.
    let log = server.log();
    assert!(!log.contains(&alice.password) && !log.contains(&token));
}
