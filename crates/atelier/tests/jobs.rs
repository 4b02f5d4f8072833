//! Background jobs end to end: real scripts as real users, exit codes,
//! output while it is written, cancel, a server killed mid-job, privacy,
//! bad input, pruning, the CLI and submission from inside a session.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{eventually, job_output_until, session_processes, Client, Server, TestUser};
use serde_json::{json, Value};

/// Writes a script into the user's home, owned by them.
fn script(user: &TestUser, name: &str, text: &str) -> String {
    let path = format!("/home/{}/{name}", user.name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let account = atelier_os::Account::lookup(&user.name).unwrap().unwrap();
    std::os::unix::fs::chown(&path, Some(account.uid), Some(account.gid)).unwrap();
    path
}

async fn submit(api: &Client, body: Value) -> String {
    let reply = api.post("/api/v1/jobs", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

async fn ended(api: &Client, id: &str) -> Value {
    eventually("the job to end", Duration::from_secs(60), || async {
        let job = api.get(&format!("/api/v1/jobs/{id}")).await.json();
        ["finished", "failed", "canceled"]
            .contains(&job["state"].as_str().unwrap())
            .then_some(job)
    })
    .await
}

async fn output(api: &Client, id: &str, stream: &str) -> String {
    api.get(&format!("/api/v1/jobs/{id}/output?stream={stream}"))
        .await
        .text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_as_their_user_with_their_exit_codes() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    let api = server.client().with_token(&server.token(&alice.name));

    let py = script(
        &alice,
        "answer.py",
        "import os, sys\nprint(6 * 7)\nprint('to stderr', file=sys.stderr)\nprint(os.getuid())\n",
    );
    let id = submit(&api, json!({"script": py})).await;
    let job = ended(&api, &id).await;
    assert_eq!(
        (job["state"].as_str(), job["exit_code"].as_i64()),
        (Some("finished"), Some(0)),
        "{job}"
    );
    assert_eq!(job["name"], "answer.py");
    assert_eq!(
        output(&api, &id, "stdout").await,
        format!("42\n{}\n", alice.uid)
    );
    assert_eq!(output(&api, &id, "stderr").await, "to stderr\n");
    assert!(
        output(&api, &id, "combined")
            .await
            .contains("42\nto stderr\n")
            || output(&api, &id, "combined")
                .await
                .contains("to stderr\n42\n")
    );

    let r = script(&alice, "version.R", "cat(R.version.string, \"\\n\")\n");
    let id = submit(&api, json!({"script": r})).await;
    assert_eq!(ended(&api, &id).await["state"], "finished");
    assert!(output(&api, &id, "stdout")
        .await
        .starts_with("R version 4."));

    let three = submit(
        &api,
        json!({"command": ["/bin/sh", "-c", "echo bye; exit 3"], "name": "three"}),
    )
    .await;
    let job = ended(&api, &three).await;
    assert_eq!(
        (job["state"].as_str(), job["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
    assert_eq!(job["error"], "exited with status 3");

    // Arguments, working directory and environment reach the job untouched.
    let args = script(
        &alice,
        "args.py",
        "import os, sys\nprint(sys.argv[1:], os.getcwd(), os.environ['GREETING'])\n",
    );
    let body = json!({"script": args, "args": ["a b", "$HOME", "'q'"], "workdir": "/tmp", "env": {"GREETING": "hi there"}});
    let id = submit(&api, body).await;
    ended(&api, &id).await;
    assert_eq!(
        output(&api, &id, "stdout").await,
        "['a b', '$HOME', \"'q'\"] /tmp hi there\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_arrives_while_the_job_runs_and_cancel_stops_everything() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    let api = server.client().with_token(&server.token(&alice.name));

    let ticker = script(
        &alice,
        "ticker.py",
        "import time\nfor i in range(40):\n    print(i, flush=True)\n    time.sleep(0.1)\n",
    );
    let id = submit(&api, json!({"script": ticker})).await;
    // Read by offset while it runs: each read returns only new lines.
    let (offset, seen) = job_output_until(&api, &id, 10, Duration::from_secs(20)).await;
    assert_eq!(
        api.get(&format!("/api/v1/jobs/{id}")).await.json()["state"],
        "running",
        "lines came while it ran"
    );
    // Following from where we are returns the rest, and ends with the job.
    let rest = api
        .get(&format!(
            "/api/v1/jobs/{id}/output?offset={offset}&follow=true"
        ))
        .await
        .text();
    let all: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    assert_eq!(format!("{seen}{rest}").lines().collect::<Vec<_>>(), all);

    let sleeper = submit(
        &api,
        json!({"command": ["/bin/sh", "-c", "sleep 300 & sleep 300"]}),
    )
    .await;
    eventually(
        "the sleeper's processes",
        Duration::from_secs(10),
        || async { (session_processes(&sleeper).len() >= 3).then_some(()) },
    )
    .await;
    let canceled = api
        .post(&format!("/api/v1/jobs/{sleeper}/cancel"), json!({}))
        .await;
    assert_eq!(canceled.status, 202);
    assert_eq!(canceled.json()["state"], "canceled");
    // The harness's grace is 3 s.
    eventually("no process of the job", Duration::from_secs(5), || async {
        session_processes(&sleeper).is_empty().then_some(())
    })
    .await;
    let again = api
        .post(&format!("/api/v1/jobs/{sleeper}/cancel"), json!({}))
        .await;
    assert_eq!(again.status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_a_killed_server_with_its_output() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    let token = server.token(&alice.name);
    let api = server.client().with_token(&token);
    let slow = script(
        &alice,
        "slow.py",
        "import time\nprint('start', flush=True)\ntime.sleep(3)\nprint('end')\n",
    );
    let id = submit(&api, json!({"script": slow})).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = server.restart().await; // SIGKILL, then start again
    let mut api = api;
    api.base = server.url();
    let job = ended(&api, &id).await;
    assert_eq!(
        (job["state"].as_str(), job["exit_code"].as_i64()),
        (Some("finished"), Some(0)),
        "{job}"
    );
    assert_eq!(output(&api, &id, "stdout").await, "start\nend\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_users_cannot_see_read_or_cancel_a_job() {
    let alice = TestUser::create();
    let bob = TestUser::create();
    let server = Server::start(&[], &[&alice, &bob], "").await;
    let api = server.client().with_token(&server.token(&alice.name));
    let other = server.client().with_token(&server.token(&bob.name));
    let id = submit(
        &api,
        json!({"command": ["/bin/sleep", "30"], "name": "private"}),
    )
    .await;

    assert_eq!(other.get("/api/v1/jobs").await.json()["jobs"], json!([]));
    assert_eq!(other.get("/api/v1/jobs?all=true").await.status, 403);
    for (method, path) in [
        ("GET", ""),
        ("GET", "/output"),
        ("POST", "/cancel"),
        ("DELETE", ""),
    ] {
        let path = format!("/api/v1/jobs/{id}{path}");
        let method = method.parse().unwrap();
        let reply = other.send(method, &path, Some("{}".into()), &[]).await;
        assert_eq!(reply.status, 404, "{path}");
    }
    assert_eq!(
        api.get(&format!("/api/v1/jobs/{id}")).await.json()["state"],
        "running"
    );
    api.post(&format!("/api/v1/jobs/{id}/cancel"), json!({}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_job_requests_are_refused_and_create_nothing() {
    let alice = TestUser::create();
    let server = Server::start(
        &[],
        &[&alice],
        "[[profile]]\nname = \"small\"\nmemory = \"1G\"\n",
    )
    .await;
    let api = server.client().with_token(&server.token(&alice.name));
    let good = script(&alice, "ok.py", "print(1)\n");
    let home = format!("/home/{}", alice.name);
    let cases = [
        (json!({"script": format!("{home}/missing.py")}), "script"),
        (json!({"script": "relative.py"}), "absolute"),
        (json!({"script": good, "python": "2.7"}), "python"),
        (json!({"script": good, "r": "9.9"}), "R version"),
        (json!({"script": good, "profile": "huge"}), "profile"),
        (json!({"script": good, "workdir": "/root"}), "workdir"),
        (
            json!({"script": good, "workdir": format!("{home}/nope")}),
            "workdir",
        ),
        (
            json!({"script": good, "command": ["/bin/true"]}),
            "not both",
        ),
        (json!({}), "command"),
        (json!({"command": []}), "program"),
        (json!({"command": ["no-such-program-here"]}), "no program"),
        (
            json!({"command": ["/bin/true"], "env": {"ATELIER_TOKEN": "x"}}),
            "reserved",
        ),
        (
            json!({"command": ["/bin/true"], "env": {"A B": "x"}}),
            "variable name",
        ),
        (
            json!({"command": ["/bin/true"], "cluster": "mars"}),
            "cluster",
        ),
        (
            json!({"command": ["/bin/true"], "colour": "red"}),
            "unknown field",
        ),
    ];
    for (body, words) in cases {
        let reply = api.post("/api/v1/jobs", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(words), "{body}: {message}");
    }
    assert_eq!(
        api.get("/api/v1/jobs").await.json()["jobs"],
        json!([]),
        "nothing was recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_jobs_are_pruned_with_their_output() {
    let alice = TestUser::create();
    // keep_days = 0.00005 is 4.3 s.
    let server = Server::start(&[], &[&alice], "[jobs]\nkeep_days = 0.00005\n").await;
    let api = server.client().with_token(&server.token(&alice.name));
    let id = submit(&api, json!({"command": ["/bin/echo", "short-lived"]})).await;
    ended(&api, &id).await;
    let folder = server.data_dir().join("sessions").join(&id);
    assert!(folder.exists());
    eventually("the job to be pruned", Duration::from_secs(30), || async {
        (api.get(&format!("/api/v1/jobs/{id}")).await.status == 404).then_some(())
    })
    .await;
    assert!(!folder.exists(), "its output went with it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_submits_follows_and_lists_and_sessions_can_submit() {
    let alice = TestUser::create();
    let binary = common::server::binary();
    let kind = format!(
        "[[kind]]\nname = \"submitter\"\ncommand = [\"/bin/sh\", \"-c\", \"\\\"$0\\\" job submit --name from-session --command -- /bin/echo hello-from-a-session; exec sleep 600\", \"{binary}\", \"{{socket}}\"]\n"
    );
    let server = Server::start(&[], &[&alice], &kind).await;
    let token = server.token(&alice.name);
    let url = server.url();
    let env = [
        ("ATELIER_TOKEN", token.as_str()),
        ("ATELIER_SERVER", url.as_str()),
    ];
    let count = script(
        &alice,
        "count.py",
        "import sys\nfor a in sys.argv[1:]:\n    print(a)\nsys.exit(5)\n",
    );

    let (ok, out, err) = server.cli(
        &[
            "job",
            "submit",
            &count,
            "--workdir",
            "/tmp",
            "--wait",
            "--",
            "x",
            "y z",
        ],
        &env,
    );
    assert!(!ok, "the job's exit code 5 is the command's");
    assert_eq!(out, "x\ny z\n", "{err}");
    assert!(err.contains("failed"), "{err}");
    let (ok, out, _) = server.cli(&["job", "list", "--name", "count"], &env);
    assert!(
        ok && out.lines().count() == 2 && out.contains("failed") && out.contains("   5  "),
        "{out}"
    );

    // A session's environment carries what the CLI needs, as the session's user.
    let api = server.client().with_token(&token);
    api.post("/api/v1/sessions", json!({"kind": "submitter"}))
        .await;
    let job = eventually(
        "the job submitted from the session",
        Duration::from_secs(30),
        || async {
            let jobs = api.get("/api/v1/jobs?name=from-session").await.json();
            jobs["jobs"].as_array().unwrap().first().cloned()
        },
    )
    .await;
    let id = job["id"].as_str().unwrap();
    ended(&api, id).await;
    assert_eq!(job["user"], alice.name.as_str());
    assert_eq!(output(&api, id, "stdout").await, "hello-from-a-session\n");
}
