//! Logging in and being recognised: users file and PAM, cookies with CSRF,
//! logout that revokes, API tokens, rate limits, admin-only endpoints, and
//! the accounts that may not log in at all.

mod common;

use std::process::Command;
use std::time::Duration;

use common::kinds::custom_kinds;
use common::{eventually, session_env, Server, TestUser};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_csrf_logout_and_tokens() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let anonymous = server.client();
    assert_eq!(anonymous.get("/api/v1/me").await.status, 401);
    assert_eq!(anonymous.get("/api/v1/sessions").await.status, 401);

    let mut browser = server.client();
    let login = browser.login(&alice.name, &alice.password).await;
    assert_eq!(login.status, 200);
    let cookie = login.headers["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP must not mark the cookie Secure"
    );
    let me = browser.get("/api/v1/me").await.json();
    assert_eq!(me["name"], alice.name.as_str());
    assert_eq!(me["role"], "user");

    // A state change with the cookie but without the CSRF header is refused, and creates nothing.
    let mut forged = browser.clone();
    forged.csrf = None;
    let refused = forged
        .post("/api/v1/sessions", json!({"kind": "web"}))
        .await;
    assert_eq!(
        (refused.status.as_u16(), refused.error_code()),
        (403, "forbidden".into())
    );
    forged.csrf = Some("not-the-token".into());
    assert_eq!(
        forged
            .post("/api/v1/sessions", json!({"kind": "web"}))
            .await
            .status,
        403
    );
    assert_eq!(
        browser.get("/api/v1/sessions").await.json()["sessions"],
        json!([])
    );
    assert_eq!(
        browser
            .post("/api/v1/sessions", json!({"kind": "web"}))
            .await
            .status,
        201
    );

    // A tampered cookie is nobody.
    let mut tampered = browser.clone();
    tampered.cookie = Some(format!("{}x", browser.cookie.as_ref().unwrap()));
    assert_eq!(tampered.get("/api/v1/me").await.status, 401);

    // Logout revokes the cookie on the server, not only in the browser.
    let old_cookie = browser.clone();
    assert_eq!(
        browser.post("/api/v1/auth/logout", json!({})).await.status,
        204
    );
    assert_eq!(old_cookie.get("/api/v1/me").await.status, 401);

    // API tokens: no CSRF needed, a wrong token is nobody.
    let token = server.token(&alice.name);
    let script = server.client().with_token(&token);
    assert_eq!(
        script.get("/api/v1/me").await.json()["name"],
        alice.name.as_str()
    );
    assert_eq!(
        script
            .post("/api/v1/sessions", json!({"kind": "web"}))
            .await
            .status,
        201
    );
    assert_eq!(
        server
            .client()
            .with_token("atl_wrong")
            .get("/api/v1/me")
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    let mut client = server.client();
    for _ in 0..5 {
        let reply = client.login(&alice.name, "wrong password").await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code()),
            (401, "invalid_credentials".into())
        );
    }
    // Locked now, even with the right password.
    let locked = client.login(&alice.name, &alice.password).await;
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert!(
        locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let log = server.log();
    assert!(!log.contains("wrong password") && !log.contains(&alice.password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_everything_users_see_their_own() {
    let root = TestUser::create();
    let alice = TestUser::create();
    let server = Server::start(&[&root], &[&alice], &custom_kinds()).await;
    let admin = server.client().with_token(&server.token(&root.name));
    let user = server.client().with_token(&server.token(&alice.name));
    let created = user
        .post("/api/v1/sessions", json!({"kind": "web"}))
        .await
        .json();
    let id = created["id"].as_str().unwrap();

    assert_eq!(admin.get("/api/v1/me").await.json()["role"], "admin");
    let all = admin.get("/api/v1/sessions?all=true").await.json();
    assert!(all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == id));
    assert_eq!(
        admin.get("/api/v1/sessions").await.json()["sessions"],
        json!([]),
        "without ?all only one's own"
    );
    let users = admin.get("/api/v1/users").await.json();
    assert!(users["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == alice.name.as_str()));
    // An admin may stop anyone's session, but not open it (the default).
    assert_eq!(admin.get(&format!("/s/{id}/")).await.status, 404);
    assert_eq!(
        admin
            .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
            .await
            .status,
        202
    );
}

/// A session's own API token is refused the moment the session has ended,
/// even though the server had just recognised it (and remembers recognised
/// tokens for a few seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_dies_with_its_session() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let user = server.client().with_token(&server.token(&alice.name));
    let created = user
        .post("/api/v1/sessions", json!({"kind": "web"}))
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sessions/{id}");
    eventually("the session to run", Duration::from_secs(60), || async {
        (user.get(&path).await.json()["state"] == "running").then_some(())
    })
    .await;
    let inside = server
        .client()
        .with_token(&session_env(&id, "ATELIER_TOKEN"));
    for _ in 0..3 {
        assert_eq!(inside.get("/api/v1/me").await.status, 200);
    }
    let stop = user.post(&format!("{path}/stop"), json!({})).await;
    assert_eq!(stop.status, 202, "{}", stop.text());
    eventually("the session to stop", Duration::from_secs(30), || async {
        (user.get(&path).await.json()["state"] == "stopped").then_some(())
    })
    .await;
    // The store records the stop a moment before the token is deleted;
    // well under the 5 s a recognised token is otherwise remembered.
    eventually(
        "the session's token to be refused",
        Duration::from_secs(1),
        || async { (inside.get("/api/v1/me").await.status == 401).then_some(()) },
    )
    .await;
    assert_eq!(
        user.get("/api/v1/me").await.status,
        200,
        "the user's own token still works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_real_accounts_above_the_minimum_uid_log_in() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    // In the users file but with no Linux account: refused with a reason.
    server.add_user("ghost", "ghost-password", false);
    let mut client = server.client();
    let reply = client.login("ghost", "ghost-password").await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (403, "forbidden".into())
    );
    // A system account (uid below 1000) never logs in, even with the right password.
    server.add_user("daemon", "daemon-password", true);
    assert_eq!(client.login("daemon", "daemon-password").await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pam_logs_in_linux_accounts() {
    assert!(
        std::path::Path::new("/etc/pam.d/atelier").exists(),
        "/etc/pam.d/atelier is missing; run scripts/test-env.sh"
    );
    let alice = TestUser::create();
    let admin = TestUser::create();
    let server = Server::start(&[], &[], "").await;
    let text = std::fs::read_to_string(&server.config).unwrap();
    let pam = text.replace(
        "provider = \"users-file\"",
        &format!("provider = \"pam\"\nadmins = [\"{}\"]", admin.name),
    );
    std::fs::write(&server.config, pam).unwrap();
    let server = server.restart().await;

    let mut client = server.client();
    assert_eq!(
        client.login(&alice.name, "not her password").await.status,
        401
    );
    let login = client.login(&alice.name, &alice.password).await;
    assert_eq!(login.status, 200, "{}", login.text());
    assert_eq!(login.json()["user"]["role"], "user");
    let mut boss = server.client();
    assert_eq!(
        boss.login(&admin.name, &admin.password).await.json()["user"]["role"],
        "admin"
    );
    // Locked accounts are refused by PAM's account check.
    assert!(Command::new("usermod")
        .args(["-L", &alice.name])
        .status()
        .unwrap()
        .success());
    assert_eq!(
        server
            .client()
            .login(&alice.name, &alice.password)
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_health_metrics_and_openapi() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let anonymous = server.client();
    let home = anonymous.get("/").await;
    assert_eq!(
        (
            home.status.as_u16(),
            home.headers["location"].to_str().unwrap()
        ),
        (303, "/login")
    );
    let login_page = anonymous.get("/login").await;
    assert_eq!(login_page.status, 200);
    assert!(login_page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    for external in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "src=\"//",
        "href=\"//",
    ] {
        assert!(
            !login_page.text().contains(external),
            "the login page fetches {external}…"
        );
    }
    assert_eq!(anonymous.get("/assets/app.js").await.status, 200);
    assert_eq!(anonymous.get("/assets/../Cargo.toml").await.status, 404);

    let health = anonymous.get("/health-check").await.json();
    assert_eq!(health["status"], "ok");

    let api = server.client().with_token(&server.token(&alice.name));
    api.post("/api/v1/sessions", json!({"kind": "web"})).await;
    let metrics = anonymous.get("/metrics").await.text();
    assert!(
        metrics.contains("atelier_sessions{state=\"stopped\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("atelier_proxy_requests_total{class=\"2xx\"}"),
        "{metrics}"
    );

    let openapi = anonymous.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/sessions",
        "/api/v1/sessions/{id}",
        "/api/v1/auth/login",
        "/api/v1/kinds",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let kinds = api.get("/api/v1/kinds").await.json();
    let names: Vec<&str> = kinds["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "jupyterlab",
            "notebook",
            "vscode",
            "rstudio",
            "web",
            "broken",
            "silent"
        ]
    );
    assert_eq!(
        kinds["kinds"][2]["available"], true,
        "code-server is installed by scripts/install-ides.sh"
    );
    assert_eq!(
        kinds["kinds"][3]["available"], false,
        "RStudio Server cannot be installed here"
    );
    assert!(kinds["kinds"][3]["reason"]
        .as_str()
        .unwrap()
        .contains("not installed"));
}
