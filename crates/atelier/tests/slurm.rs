//! Sessions and jobs on a real single-node Slurm (scripts/slurm-up.sh):
//! JupyterLab as a Slurm job of its user reached through the proxy and the
//! session gate, a gate that admits nobody without the secret, re-adoption
//! after a SIGKILL of the server, job output while it runs, cancel, an
//! admin's `scancel` from outside, and requests larger than the node.
//!
//! The node has 2 CPUs and the tests run in parallel: all but the first use
//! the `shared` partition (cores shared by many jobs), so none waits for
//! another's CPU.

mod common;

use std::time::Duration;

use common::jupyter::run_in_kernel;
use common::{eventually, job_output_until, session_processes, slurm, Client, Server, TestUser};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn wait_state(client: &Client, id: &str, state: &str) -> Value {
    let what = format!("session {id} to be {state}");
    eventually(&what, Duration::from_secs(120), || async {
        let session = client.get(&format!("/api/v1/sessions/{id}")).await.json();
        if session["state"] == "failed" && state != "failed" {
            panic!("session failed: {}", session["error"]);
        }
        (session["state"] == state).then_some(session)
    })
    .await
}

async fn wait_job(api: &Client, id: &str, states: &[&str]) -> Value {
    eventually("the job's state", Duration::from_secs(60), || async {
        let job = api.get(&format!("/api/v1/jobs/{id}")).await.json();
        states
            .contains(&job["state"].as_str().unwrap_or(""))
            .then_some(job)
    })
    .await
}

/// What the gate at `port` answers to `greeting`: everything it sends
/// before it closes (it closes at once on a wrong greeting).
async fn gate_answer(port: u16, greeting: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(greeting).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer));
    read.await
        .expect("the gate closes a connection with a wrong greeting")
        .unwrap_or(0);
    answer
}

fn gate_port(user: &TestUser, id: &str) -> u16 {
    let path = format!("/home/{}/.atelier/sessions/{id}/endpoint.json", user.name);
    let endpoint: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    u16::try_from(endpoint["port"].as_u64().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jupyterlab_on_slurm_end_to_end() {
    let alice = TestUser::create();
    let bob = TestUser::create();
    let server = Server::start(&[], &[&alice, &bob], &slurm::cluster_config()).await;
    let token = server.token(&alice.name);
    let api = server.client().with_token(&token);

    // The dialog offers the cluster with its partitions and node sizes.
    let kinds = api.get("/api/v1/kinds").await.json();
    let hpc = kinds["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hpc")
        .cloned()
        .expect("the hpc cluster is offered");
    assert_eq!(hpc["backend"], "slurm");
    assert_eq!(hpc["state"], "ok", "{hpc}");
    let queues: Vec<&str> = hpc["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(queues, ["debug", "long", "shared"]);

    let created = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "jupyterlab", "cluster": "hpc", "queue": "debug"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let session = wait_state(&api, &id, "running").await;
    assert_eq!(session["cluster"], "hpc");
    assert!(
        session["detail"].as_str().unwrap_or("").contains(" on "),
        "{session}"
    );
    assert_eq!(slurm::active_jobs(&id).len(), 1, "one Slurm job");

    // HTTP and WebSocket through the proxy and the gate, as alice.
    let status = api.get(&format!("/s/{id}/api/status")).await;
    assert_eq!(status.status, 200, "{}", status.text());
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
    let processes = session_processes(&id);
    assert!(!processes.is_empty());
    assert!(
        processes.iter().all(|(_, uid)| *uid == alice.uid),
        "{processes:?}"
    );

    // The session's port admits nobody without the secret.
    let port = gate_port(&alice, &id);
    let plain = gate_answer(port, b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(plain.is_empty(), "{:?}", String::from_utf8_lossy(&plain));
    let wrong = gate_answer(port, b"ATELIER-GATE not-the-secret\n").await;
    assert!(wrong.is_empty(), "{:?}", String::from_utf8_lossy(&wrong));

    // Bob gets a 404, as for a session that does not exist.
    let other = server.client().with_token(&server.token(&bob.name));
    assert_eq!(other.get(&format!("/s/{id}/api/status")).await.status, 404);

    // The admin page's view: the cluster answers and its commands are counted.
    let clusters = api.get("/api/v1/clusters").await.json();
    let hpc = &clusters["clusters"][1];
    assert_eq!(
        (hpc["name"].as_str(), hpc["state"].as_str()),
        (Some("hpc"), Some("ok"))
    );
    assert!(hpc["commands_run"].as_u64().unwrap() >= 3, "{hpc}");
    let metrics = api.get("/metrics").await.text();
    assert!(
        metrics.contains("atelier_cluster_up{cluster=\"hpc\"} 1"),
        "{metrics}"
    );

    // The server killed and started again finds the session on Slurm.
    let server = server.restart().await;
    let api = server.client().with_token(&token);
    let status = api.get(&format!("/s/{id}/api/status")).await;
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(
        api.get(&format!("/api/v1/sessions/{id}")).await.json()["state"],
        "running"
    );

    // Stop: the Slurm job ends and nothing of the session is left.
    let stopping = api
        .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
        .await;
    assert_eq!(stopping.status, 202, "{}", stopping.text());
    wait_state(&api, &id, "stopped").await;
    assert_eq!(slurm::active_jobs(&id), Vec::<u64>::new());
    eventually(
        "no process of the session",
        Duration::from_secs(10),
        || async { session_processes(&id).is_empty().then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slurm_jobs_stream_output_and_cancel() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &slurm::cluster_config()).await;
    let api = server.client().with_token(&server.token(&alice.name));

    let ticker = "for i in $(seq 1 30); do echo line $i; sleep 0.2; done";
    let job = api
        .post(
            "/api/v1/jobs",
            json!({"command": ["/bin/sh", "-c", ticker], "cluster": "hpc", "queue": "shared"}),
        )
        .await;
    assert_eq!(job.status, 201, "{}", job.text());
    assert_eq!(job.json()["cluster"], "hpc");
    assert_eq!(
        job.json()["state"],
        "pending",
        "pending until Slurm runs it"
    );
    let id = job.json()["id"].as_str().unwrap().to_owned();
    // Lines arrive while the Slurm job runs, each read only the new ones.
    let (_, seen) = job_output_until(&api, &id, 5, Duration::from_secs(40)).await;
    assert!(seen.starts_with("line 1\nline 2\n"), "{seen:?}");
    assert_eq!(
        api.get(&format!("/api/v1/jobs/{id}")).await.json()["state"],
        "running",
        "lines came while it ran"
    );
    let done = wait_job(&api, &id, &["finished", "failed"]).await;
    assert_eq!(done["state"], "finished", "{done}");
    assert_eq!(done["exit_code"], 0);
    let all = api.get(&format!("/api/v1/jobs/{id}/output")).await.text();
    assert_eq!(all.lines().count(), 30);

    // The CLI offers the same choice, and --wait follows the job to its end.
    let token = server.token(&alice.name);
    let url = server.url();
    let env = [
        ("ATELIER_TOKEN", token.as_str()),
        ("ATELIER_SERVER", url.as_str()),
    ];
    // Words that a shell would run reach the program as they are.
    let marker = format!("/tmp/atelier-slurm-{}", alice.name);
    let nasty = format!("from the CLI $(touch {marker}) `touch {marker}`; touch {marker} '\"");
    let (ok, out, err) = server.cli(
        &[
            "job",
            "submit",
            "--cluster",
            "hpc",
            "--queue",
            "shared",
            "--workdir",
            "/tmp",
            "--command",
            "--wait",
            "--",
            "/bin/echo",
            &nasty,
        ],
        &env,
    );
    assert!(ok, "{err}");
    assert_eq!(out, format!("{nasty}\n"), "{err}");
    assert!(
        !std::path::Path::new(&marker).exists(),
        "a shell ran the user's words"
    );
    let (ok, _, err) = server.cli(
        &[
            "session",
            "start",
            "--kind",
            "jupyterlab",
            "--cluster",
            "hpc",
            "--queue",
            "nope",
        ],
        &env,
    );
    assert!(!ok && err.contains("no queue"), "{err}");

    // Cancel: the Slurm job and its processes end within the grace (3 s).
    let sleeper = api
        .post(
            "/api/v1/jobs",
            json!({"command": ["/bin/sh", "-c", "sleep 300 & sleep 300"], "cluster": "hpc", "queue": "shared"}),
        )
        .await;
    let sleeper = sleeper.json()["id"].as_str().unwrap().to_owned();
    eventually(
        "the sleeper's processes",
        Duration::from_secs(30),
        || async { (session_processes(&sleeper).len() >= 3).then_some(()) },
    )
    .await;
    let canceled = api
        .post(&format!("/api/v1/jobs/{sleeper}/cancel"), json!({}))
        .await;
    assert_eq!(canceled.status, 202, "{}", canceled.text());
    eventually("the canceled job gone", Duration::from_secs(10), || async {
        (session_processes(&sleeper).is_empty() && slurm::active_jobs(&sleeper).is_empty())
            .then_some(())
    })
    .await;
    assert_eq!(
        wait_job(&api, &sleeper, &["canceled"]).await["state"],
        "canceled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_cancels_and_oversized_requests_are_reported() {
    let alice = TestUser::create();
    let profiles = "[[profile]]\nname = \"small\"\nmemory = \"1G\"\n\
                    [[profile]]\nname = \"huge\"\nmemory = \"100G\"\n\
                    [[profile]]\nname = \"gpu\"\ngpus = 1\n\
                    [[profile]]\nname = \"two-hours\"\ntime_limit_minutes = 120\n";
    let config = format!("{}{profiles}", slurm::cluster_config());
    let server = Server::start(&[], &[&alice], &config).await;
    let api = server.client().with_token(&server.token(&alice.name));

    // An admin's scancel from outside ends the session with the reason.
    let created = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "jupyterlab", "cluster": "hpc", "queue": "shared"}),
        )
        .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    wait_state(&api, &id, "running").await;
    let jobs = slurm::active_jobs(&id);
    assert_eq!(jobs.len(), 1);
    let (ok, text) = slurm::run("scancel", &[&jobs[0].to_string()]);
    assert!(ok, "{text}");
    let ended = eventually("the session to end", Duration::from_secs(60), || async {
        let session = api.get(&format!("/api/v1/sessions/{id}")).await.json();
        ["stopped", "failed"]
            .contains(&session["state"].as_str().unwrap())
            .then_some(session)
    })
    .await;
    let reason = ended["error"].as_str().unwrap_or("").to_lowercase();
    assert!(reason.contains("cancel"), "{ended}");

    // More memory than the node has: refused with the reason, never silent.
    let huge = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "jupyterlab", "cluster": "hpc", "profile": "huge"}),
        )
        .await;
    assert_eq!(huge.status, 201, "{}", huge.text());
    let huge = huge.json();
    assert_eq!(huge["state"], "failed", "{huge}");
    let reason = huge["error"].as_str().unwrap();
    assert!(reason.contains("larger than any node"), "{reason}");

    // A GPU the cluster does not offer, a time limit the queue does not allow.
    for (profile, why) in [
        ("gpu", "GPUs"),
        ("two-hours", "longer than queue debug allows"),
    ] {
        let body = json!({"kind": "jupyterlab", "cluster": "hpc", "profile": profile});
        let reply = api.post("/api/v1/sessions", body).await.json();
        assert_eq!(reply["state"], "failed", "{reply}");
        assert!(reply["error"].as_str().unwrap().contains(why), "{reply}");
    }

    // Bad placement is a 400 that creates nothing.
    let before = api.get("/api/v1/sessions").await.json()["sessions"]
        .as_array()
        .unwrap()
        .len();
    for (body, field) in [
        (
            json!({"kind": "jupyterlab", "cluster": "nowhere"}),
            "cluster",
        ),
        (
            json!({"kind": "jupyterlab", "cluster": "hpc", "queue": "gpu"}),
            "queue",
        ),
        (
            json!({"kind": "jupyterlab", "cluster": "hpc", "queue": "a b"}),
            "queue",
        ),
        (json!({"kind": "jupyterlab", "queue": "debug"}), "queue"),
        (json!({"kind": "jupyterlab", "profile": "gpu"}), "profile"),
    ] {
        let reply = api.post("/api/v1/sessions", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        assert!(reply.text().contains(field), "{}", reply.text());
    }
    let after = api.get("/api/v1/sessions").await.json()["sessions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
}
