//! The isolation attack suite: two real users, alice and bob, on a real
//! server. Bob attacks alice's sessions and jobs through the proxy (path
//! tricks as raw HTTP, forged headers, WebSockets), the API, CSRF, a
//! logged-out cookie and the file system. Every attack must fail exactly as
//! a missing session fails, or be refused for lack of credentials; then no
//! secret may show anywhere, and every file Atelier wrote has its mode.

mod common;
#[path = "common/isolation_api.rs"]
mod isolation_api;
#[path = "common/isolation_files.rs"]
mod isolation_files;
#[path = "common/isolation_proxy.rs"]
mod isolation_proxy;
#[path = "common/isolation_world.rs"]
mod isolation_world;
#[path = "common/modes.rs"]
mod modes;
#[path = "common/raw_http.rs"]
mod raw_http;

use std::collections::HashMap;
use std::time::Duration;

use common::kinds::custom_kinds;
use common::{eventually, session_env, session_processes, Client, Server, TestUser};
use isolation_world::{Ledger, World};
use serde_json::{json, Value};

async fn started(client: &Client, body: Value) -> String {
    let created = client.post("/api/v1/sessions", body.clone()).await;
    assert_eq!(created.status, 201, "{body}: {}", created.text());
    created.json()["id"].as_str().unwrap().to_owned()
}

async fn running(client: &Client, id: &str) {
    eventually("the session to run", Duration::from_secs(60), || async {
        let session = client.get(&format!("/api/v1/sessions/{id}")).await.json();
        assert_ne!(
            session["state"], "failed",
            "session failed (JupyterLab comes from scripts/install-ides.sh): {}",
            session["error"]
        );
        (session["state"] == "running").then_some(())
    })
    .await;
}

async fn submitted(client: &Client, command: &[&str], name: &str) -> String {
    let reply = client
        .post("/api/v1/jobs", json!({"command": command, "name": name}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// The two users, logged in both ways, with their sessions and jobs.
async fn world() -> World {
    let alice = TestUser::create();
    let bob = TestUser::create();
    let server = Server::start(&[], &[&alice, &bob], &custom_kinds()).await;
    let a_token = server.token(&alice.name);
    let b_token = server.token(&bob.name);
    let mut a_browser = server.client();
    assert_eq!(
        a_browser.login(&alice.name, &alice.password).await.status,
        200
    );
    let mut b_browser = server.client();
    assert_eq!(b_browser.login(&bob.name, &bob.password).await.status, 200);
    let a_api = server.client().with_token(&a_token);
    let b_api = server.client().with_token(&b_token);

    let a_web = started(&a_browser, json!({"kind": "web", "name": "secret-app"})).await;
    let a_lab = started(&a_api, json!({"kind": "jupyterlab", "name": "secret-lab"})).await;
    let b_web = started(&b_api, json!({"kind": "web"})).await;
    let a_job = submitted(
        &a_api,
        &["/bin/sh", "-c", "echo alice-private-output; exec sleep 300"],
        "alice-private",
    )
    .await;
    let a_done = submitted(&a_api, &["/bin/echo", "alice-finished"], "alice-done").await;
    running(&a_api, &a_web).await;
    running(&a_api, &a_lab).await;
    running(&b_api, &b_web).await;
    eventually("alice's jobs to write", Duration::from_secs(30), || async {
        let out = a_api.get(&format!("/api/v1/jobs/{a_job}/output")).await;
        let done = a_api.get(&format!("/api/v1/jobs/{a_done}")).await.json();
        (out.text().contains("alice-private-output") && done["state"] == "finished").then_some(())
    })
    .await;
    World {
        port: server.port,
        server,
        alice,
        bob,
        a_token,
        b_token,
        a_browser,
        b_browser,
        a_api,
        b_api,
        a_web,
        a_lab,
        b_web,
        a_job,
        a_done,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_on_another_users_sessions_and_jobs_fails() {
    let w = world().await;
    let mut ledger = Ledger::default();
    let before = w.alices_state().await;

    isolation_proxy::proxy_path_tricks(&w, &mut ledger).await;
    isolation_proxy::header_claims(&w, &mut ledger).await;
    isolation_proxy::websockets_and_cross_site(&w, &mut ledger).await;
    isolation_proxy::missing_credentials(&w, &mut ledger).await;
    isolation_api::api(&w, &mut ledger).await;
    isolation_api::events(&w, &mut ledger).await;
    isolation_api::csrf(&w, &mut ledger).await;
    isolation_api::logged_out_cookie(&w, &mut ledger).await;
    isolation_files::file_system(&w, &mut ledger).await;

    // Nothing bob did changed anything of alice's.
    assert_eq!(
        w.alices_state().await,
        before,
        "an attack changed alice's state"
    );
    let seen: Value = w
        .a_api
        .get(&format!("/s/{}/still-mine", w.a_web))
        .await
        .json();
    assert_eq!(
        (seen["uid"].as_u64(), &seen["authorized"]),
        (Some(u64::from(w.alice.uid)), &json!(true))
    );

    secrets_appear_nowhere(&w, &mut ledger).await;
    let owners: HashMap<String, u32> = [
        (w.a_web.clone(), w.alice.uid),
        (w.a_lab.clone(), w.alice.uid),
        (w.a_job.clone(), w.alice.uid),
        (w.a_done.clone(), w.alice.uid),
        (w.b_web.clone(), w.bob.uid),
    ]
    .into();
    let problems = modes::findings(&w.server.data_dir(), &owners);
    assert!(problems.is_empty(), "file modes:\n{}", problems.join("\n"));
    eprintln!("isolation: {} attacks tried, none succeeded", ledger.count);
}

/// Passwords, API tokens, login cookies and session secrets appear neither
/// in the server's log, nor in any answer bob got, nor in a world-readable
/// file under the data folder, nor on a session process's command line.
async fn secrets_appear_nowhere(w: &World, ledger: &mut Ledger) {
    // Alice's own view of her session's log masks its secret.
    let log = w
        .a_api
        .get(&format!("/api/v1/sessions/{}/log", w.a_web))
        .await;
    ledger.keep(&log.body);
    let mut secrets = vec![
        ("alice's password", w.alice.password.clone()),
        ("bob's password", w.bob.password.clone()),
        ("alice's API token", w.a_token.clone()),
        ("bob's API token", w.b_token.clone()),
    ];
    for (who, client) in [("alice", &w.a_browser), ("bob", &w.b_browser)] {
        let value = client.cookie.as_ref().unwrap().split_once('=').unwrap().1;
        secrets.push((who, value.to_owned()));
        // The signed value is `token.mac`: the bare token is as secret.
        secrets.push((who, value.split('.').next().unwrap().to_owned()));
    }
    for (id, var) in [
        (&w.a_web, "ATELIER_SESSION_SECRET"),
        (&w.a_lab, "JUPYTER_TOKEN"),
        (&w.b_web, "ATELIER_SESSION_SECRET"),
    ] {
        secrets.push(("a session secret", session_env(id, var)));
        secrets.push(("a session's API token", session_env(id, "ATELIER_TOKEN")));
    }
    let mut places: Vec<(String, String)> = vec![("the server log".into(), w.server.log())];
    places.extend(
        ledger
            .bodies
            .iter()
            .map(|b| ("an answer".to_owned(), b.clone())),
    );
    for entry in modes::walk(&w.server.data_dir()) {
        if entry.is_file && entry.mode & 0o004 != 0 {
            let text = String::from_utf8_lossy(&std::fs::read(&entry.path).unwrap()).into_owned();
            places.push((entry.path.display().to_string(), text));
        }
    }
    for id in [&w.a_web, &w.a_lab, &w.b_web, &w.a_job] {
        for (pid, _) in session_processes(id) {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            places.push((
                format!("argv of {pid}"),
                String::from_utf8_lossy(&argv).into(),
            ));
        }
    }
    for (what, secret) in &secrets {
        assert!(secret.len() >= 8, "{what} is too short to search for");
        for (place, text) in &places {
            assert!(!text.contains(secret.as_str()), "{what} appears in {place}");
        }
    }
    eprintln!(
        "isolation: {} secrets searched in {} places",
        secrets.len(),
        places.len()
    );
}
