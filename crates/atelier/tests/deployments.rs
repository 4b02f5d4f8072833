//! Shapes of deployment beyond the default: the PostgreSQL store, HTTPS,
//! and a server that does not run as root.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::kinds::custom_kinds;
use common::{eventually, Client, Server, TestUser};
use rand::Rng;
use serde_json::json;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// A PostgreSQL database for one test, dropped on drop.
struct Database(String);

impl Database {
    fn create() -> Database {
        let name = format!("atelier_e2e_{:08x}", rand::thread_rng().gen::<u32>());
        let status = Command::new("psql")
            .args([
                &format!("{POSTGRES}/postgres"),
                "-qc",
                &format!("CREATE DATABASE {name}"),
            ])
            .status()
            .expect("psql runs");
        assert!(
            status.success(),
            "cannot reach PostgreSQL at {POSTGRES}; run scripts/test-env.sh"
        );
        Database(name)
    }

    fn url(&self) -> String {
        format!("{POSTGRES}/{}", self.0)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0);
        let _ = Command::new("psql")
            .args([&format!("{POSTGRES}/postgres"), "-qc", &drop])
            .status();
    }
}

async fn wait_running(api: &Client, id: &str) {
    eventually("the session to run", Duration::from_secs(20), || async {
        let state = api.get(&format!("/api/v1/sessions/{id}")).await.json()["state"].clone();
        assert_ne!(state, "failed");
        (state == "running").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_keeps_sessions_across_a_kill() {
    let database = Database::create();
    let alice = TestUser::create();
    let extra = format!("{}\n", custom_kinds());
    let server = Server::start(&[], &[&alice], &extra).await;
    let text = std::fs::read_to_string(&server.config).unwrap();
    let with_pg = format!("database_url = \"{}\"\n{text}", database.url());
    std::fs::write(&server.config, with_pg).unwrap();
    let server = server.restart().await;
    assert!(
        server.log().contains("\"postgres\""),
        "the server did not open PostgreSQL"
    );

    let api = server.client().with_token(&server.token(&alice.name));
    let id = api
        .post("/api/v1/sessions", json!({"kind": "web"}))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_running(&api, &id).await;
    let query = format!("SELECT state FROM sessions WHERE id = '{id}'");
    let stored = Command::new("psql")
        .args([&database.url(), "-Atc", &query])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&stored.stdout).trim(),
        "running",
        "the session is not in PostgreSQL"
    );

    let server = server.restart().await;
    let mut api = api;
    api.base = server.url();
    assert_eq!(
        api.get(&format!("/api/v1/sessions/{id}")).await.json()["state"],
        "running"
    );
    assert_eq!(api.get(&format!("/s/{id}/")).await.status, 200);
    assert_eq!(
        api.post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
            .await
            .status,
        202
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_configured_certificate() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    let dir = server.dir.path();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let text = std::fs::read_to_string(&server.config).unwrap();
    let tls = format!(
        "{text}\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    std::fs::write(&server.config, tls).unwrap();
    let mut server = server;
    server.kill9();
    let child = Command::new(common::server::binary())
        .args(["serve", "--config"])
        .arg(&server.config)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);

    let url = format!("https://127.0.0.1:{}", server.port);
    let curl = |args: &[&str]| {
        let output = Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let health = eventually("HTTPS to answer", Duration::from_secs(15), || async {
        let body = curl(&[&format!("{url}/health-check")]);
        body.contains("ok").then_some(body)
    })
    .await;
    assert!(health.contains("\"status\":\"ok\""));
    let login = format!(
        r#"{{"username":"{}","password":"{}"}}"#,
        alice.name, alice.password
    );
    let headers = curl(&[
        "-i",
        "-H",
        "content-type: application/json",
        "-d",
        &login,
        &format!("{url}/api/v1/auth/login"),
    ]);
    let cookie = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Plain HTTP on the HTTPS port gets nowhere.
    let plain = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{}/health-check", server.port))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_root_server_runs_sessions_as_itself_for_allowed_users_only() {
    let owner = TestUser::create();
    let home = format!("/home/{}", owner.name);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!("{home}/atelier.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:{port}\"\n{}", custom_kinds()),
    )
    .unwrap();
    let as_owner = |args: &[&str], input: Option<&str>| {
        let mut child = Command::new("runuser")
            .args(["-u", &owner.name, "--", common::server::binary()])
            .args(args)
            .env("HOME", &home)
            .current_dir(&home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = input {
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        }
        child
    };
    let pass = format!("{}\n", owner.password);
    assert!(as_owner(
        &[
            "user",
            "add",
            &owner.name,
            "--password-stdin",
            "--config",
            &config
        ],
        Some(&pass)
    )
    .wait()
    .unwrap()
    .success());
    assert!(as_owner(
        &[
            "user",
            "add",
            "stranger",
            "--password-stdin",
            "--config",
            &config
        ],
        Some("stranger-password\n")
    )
    .wait()
    .unwrap()
    .success());
    let server = KillOnDrop(as_owner(&["serve", "--config", &config], None));

    let mut client = Client::new(&format!("http://127.0.0.1:{port}"));
    eventually(
        "the non-root server to answer",
        Duration::from_secs(15),
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        },
    )
    .await;
    assert_eq!(
        client.login("stranger", "stranger-password").await.status,
        403,
        "only allowed users log in"
    );
    assert_eq!(client.login(&owner.name, &owner.password).await.status, 200);
    let id = client
        .post("/api/v1/sessions", json!({"kind": "web"}))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_running(&client, &id).await;
    let seen = client.get(&format!("/s/{id}/")).await.json();
    assert_eq!(seen["uid"], owner.uid);
    assert_eq!(
        client
            .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
            .await
            .status,
        202
    );
    eventually("the session to stop", Duration::from_secs(20), || async {
        (client.get(&format!("/api/v1/sessions/{id}")).await.json()["state"] == "stopped")
            .then_some(())
    })
    .await;
    drop(server);
}
