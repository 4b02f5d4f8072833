//! The isolation suite's attacks through the REST API (reading, stopping,
//! removing, listing and watching another user's sessions and jobs), CSRF
//! and a logged-out cookie.

use std::time::Duration;

use hyper::Method;
use serde_json::json;

use crate::common::{eventually, Client, Reply};
use crate::isolation_world::{Headers, Ledger, World, UNKNOWN};
use crate::raw_http;

/// Sends `method path` for alice's `id` and for an unknown id: same status,
/// same body.
async fn like_missing(ledger: &mut Ledger, client: &Client, method: &Method, path: &str, id: &str) {
    let send = |id: &str| {
        let path = path.replace("ID", id);
        let body = (*method != Method::GET).then(|| "{}".to_owned());
        async move { client.send(method.clone(), &path, body, &[]).await }
    };
    let (attack, missing): (Reply, Reply) = (send(id).await, send(UNKNOWN).await);
    ledger.attack(&attack.body);
    ledger.keep(&missing.body);
    assert_eq!(
        (attack.status, attack.body.clone()),
        (missing.status, missing.body.clone()),
        "{method} {path} on alice's {id}: {}",
        attack.text()
    );
    assert!(
        attack.status.is_client_error(),
        "{method} {path}: {}",
        attack.text()
    );
}

/// Bob, by token and by cookie, on alice's sessions and jobs.
pub(crate) async fn api(w: &World, ledger: &mut Ledger) {
    let session_routes = [
        (Method::GET, "/api/v1/sessions/ID"),
        (Method::POST, "/api/v1/sessions/ID/stop"),
        (Method::DELETE, "/api/v1/sessions/ID"),
        (Method::GET, "/api/v1/sessions/ID/log"),
    ];
    let job_routes = [
        (Method::GET, "/api/v1/jobs/ID"),
        (Method::GET, "/api/v1/jobs/ID/output"),
        (Method::GET, "/api/v1/jobs/ID/output?stream=stdout"),
        (Method::GET, "/api/v1/jobs/ID/output?stream=stderr&offset=0"),
        (
            Method::GET,
            "/api/v1/jobs/ID/output?stream=combined&follow=true",
        ),
        (
            Method::GET,
            "/api/v1/jobs/ID/output?stream=..%2F..%2Fetc%2Fshadow",
        ),
        (Method::POST, "/api/v1/jobs/ID/cancel"),
        (Method::DELETE, "/api/v1/jobs/ID"),
    ];
    for bob in [&w.b_api, &w.b_browser] {
        for id in [&w.a_web, &w.a_lab] {
            for (method, path) in &session_routes {
                like_missing(ledger, bob, method, path, id).await;
            }
            // A session id is not a job id, and the other way round.
            like_missing(ledger, bob, &Method::GET, "/api/v1/jobs/ID", id).await;
        }
        for id in [&w.a_job, &w.a_done] {
            for (method, path) in &job_routes {
                like_missing(ledger, bob, method, path, id).await;
            }
            like_missing(ledger, bob, &Method::GET, "/api/v1/sessions/ID", id).await;
        }
        // Lists show only bob's own; everyone's is for administrators.
        let alices = [&w.a_web, &w.a_lab, &w.a_job, &w.a_done];
        for path in [
            "/api/v1/sessions",
            "/api/v1/jobs",
            "/api/v1/jobs?name=alice",
            "/api/v1/jobs?state=running",
            "/api/v1/jobs?state=finished&limit=5000",
        ] {
            let reply = bob.get(path).await;
            ledger.attack(&reply.body);
            assert_eq!(reply.status, 200, "{path}");
            let text = reply.text();
            assert!(
                alices.iter().all(|id| !text.contains(id.as_str()))
                    && !text.contains(&w.alice.name),
                "{path} shows alice's: {text}"
            );
        }
        for path in [
            "/api/v1/sessions?all=true",
            "/api/v1/jobs?all=true",
            "/api/v1/events?all=true",
            "/api/v1/users",
        ] {
            let reply = bob.get(path).await;
            ledger.attack(&reply.body);
            assert_eq!(reply.status, 403, "{path}: {}", reply.text());
        }
    }
    // Bob still sees his own: the lists above were not empty by accident.
    let own = w.b_api.get("/api/v1/sessions").await.text();
    assert!(own.contains(&w.b_web), "{own}");
}

/// Bob's event stream says nothing of alice's changes; alice's does.
pub(crate) async fn events(w: &World, ledger: &mut Ledger) {
    let watch = |h: Headers| async move {
        let h: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        let request = raw_http::request("GET", b"/api/v1/events", w.port, &h, b"");
        raw_http::send_for(w.port, &request, Duration::from_secs(4)).await
    };
    let a_headers = World::browser(&w.a_browser);
    let alice_watch = watch(a_headers);
    let bob_watch = watch(w.bob_bearer());
    let change = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let body = json!({"command": ["/bin/echo", "event-probe"], "name": "event-probe"});
        let reply = w.a_api.post("/api/v1/jobs", body).await;
        reply.json()["id"].as_str().unwrap().to_owned()
    };
    let (alices, bobs, probe) = tokio::join!(alice_watch, bob_watch, change);
    ledger.attack(&bobs.body);
    assert_eq!(bobs.status, 200);
    assert!(
        !bobs.text().contains(&probe) && !bobs.text().contains(&w.alice.name),
        "bob saw alice's job: {}",
        bobs.text()
    );
    assert!(
        alices.text().contains(&probe),
        "control: alice sees her own job"
    );
    // Leave alice's state as it was.
    eventually("the probe to end", Duration::from_secs(20), || async {
        let reply = w.a_api.delete(&format!("/api/v1/jobs/{probe}")).await;
        (reply.status == 204).then_some(())
    })
    .await;
}

/// Alice's cookie without (or with a wrong) CSRF token, and cross-site
/// forms, change nothing.
pub(crate) async fn csrf(w: &World, ledger: &mut Ledger) {
    let before = w.alices_state().await;
    let wrong_tokens = [
        None,
        Some("wrong".to_owned()),
        w.b_browser.csrf.clone(),
        Some(String::new()),
    ];
    let changes = [
        (
            Method::POST,
            "/api/v1/sessions".to_owned(),
            r#"{"kind": "web"}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{}/stop", w.a_web),
            "{}",
        ),
        (
            Method::DELETE,
            format!("/api/v1/sessions/{}", w.a_web),
            "{}",
        ),
        (
            Method::POST,
            "/api/v1/jobs".to_owned(),
            r#"{"command": ["/bin/true"]}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{}/cancel", w.a_job),
            "{}",
        ),
        (Method::DELETE, format!("/api/v1/jobs/{}", w.a_done), "{}"),
        (Method::POST, "/api/v1/auth/logout".to_owned(), "{}"),
    ];
    for csrf in &wrong_tokens {
        let mut alice = w.a_browser.clone();
        alice.csrf.clone_from(csrf);
        for (method, path, body) in &changes {
            let reply = alice
                .send(method.clone(), path, Some((*body).to_owned()), &[])
                .await;
            ledger.attack(&reply.body);
            assert_eq!(
                reply.status,
                403,
                "{method} {path} with CSRF {csrf:?}: {}",
                reply.text()
            );
        }
    }
    // A form on another site posting to the API with alice's cookie.
    let cookie = w.a_browser.cookie.clone().unwrap();
    for (content_type, body) in [
        ("text/plain", r#"{"kind": "web", "name": "planted"}"#),
        ("application/x-www-form-urlencoded", "kind=web&name=planted"),
        (
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nweb\r\n--x--\r\n",
        ),
    ] {
        let h: Vec<(&str, &[u8])> = vec![
            ("Cookie", cookie.as_bytes()),
            ("Origin", b"http://evil.example"),
            ("Referer", b"http://evil.example/form.html"),
            ("Content-Type", content_type.as_bytes()),
        ];
        let request = raw_http::request("POST", b"/api/v1/sessions", w.port, &h, body.as_bytes());
        let reply = raw_http::send(w.port, &request).await;
        ledger.attack(&reply.body);
        assert!(
            [403, 415].contains(&reply.status),
            "cross-site form {content_type}: {}",
            reply.text()
        );
    }
    assert_eq!(
        w.alices_state().await,
        before,
        "a request without CSRF token changed something"
    );
    assert_eq!(
        w.a_browser.get("/api/v1/me").await.status,
        200,
        "alice is still logged in"
    );
}

/// A request (method, path, headers) and the status it must get.
type Check<'a> = (Method, String, &'a [(&'a str, &'a str)], u16);

/// A cookie whose login ended is refused by the API, the pages and the proxy.
pub(crate) async fn logged_out_cookie(w: &World, ledger: &mut Ledger) {
    let mut old = w.server.client();
    assert_eq!(
        old.login(&w.alice.name, &w.alice.password).await.status,
        200
    );
    let out = old.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(out.status, 204, "{}", out.text());
    ledger.keep(&out.body);
    let html = [("accept", "text/html")];
    let checks: Vec<Check> = vec![
        (Method::GET, "/api/v1/me".into(), &[], 401),
        (Method::GET, "/api/v1/sessions".into(), &[], 401),
        (Method::GET, "/api/v1/jobs".into(), &[], 401),
        (Method::GET, "/api/v1/events".into(), &[], 401),
        (Method::POST, "/api/v1/sessions".into(), &[], 401),
        (
            Method::POST,
            format!("/api/v1/sessions/{}/stop", w.a_web),
            &[],
            401,
        ),
        (
            Method::GET,
            format!("/api/v1/jobs/{}/output", w.a_job),
            &[],
            401,
        ),
        (Method::GET, "/".into(), &html, 303),
        (Method::GET, "/admin".into(), &html, 303),
        (Method::GET, format!("/s/{}/", w.a_web), &[], 401),
        (
            Method::POST,
            format!("/s/{}/api/contents", w.a_web),
            &[],
            401,
        ),
        (Method::GET, format!("/s/{}/lab", w.a_lab), &html, 303),
    ];
    for (method, path, headers, status) in checks {
        let body = (method == Method::POST).then(|| r#"{"kind": "web"}"#.to_owned());
        let reply = old.send(method.clone(), &path, body, headers).await;
        ledger.attack(&reply.body);
        assert_eq!(
            reply.status,
            status,
            "logged-out {method} {path}: {}",
            reply.text()
        );
        if status == 303 {
            assert!(reply.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"));
        }
    }
    let mut socket: Headers = World::browser(&old);
    for (k, v) in [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ] {
        socket.push((k.to_owned(), v.as_bytes().to_vec()));
    }
    let reply = w
        .raw("GET", format!("/s/{}/ws", w.a_web).as_bytes(), &socket, b"")
        .await;
    ledger.attack(&reply.body);
    assert_eq!(reply.status, 401, "logged-out websocket: {}", reply.text());
    // Only that login ended.
    assert_eq!(w.a_browser.get("/api/v1/me").await.status, 200);
}
