//! Load, kept small enough for CI (loopback only, about a minute on two
//! cores): 200 users who each log in, start a session, use it, list and stop
//! at the same moment; and one server with 1,000 sessions running at once.
//! Figures are printed with `--nocapture`.

mod common;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::light::{cpu_seconds, light_kind, percentile_ms, processes_by_session, rss_kib};
use common::{eventually, Client, Reply, Server, TestUser};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

/// The password of every simulated user.
const PASSWORD: &str = "load-test-password";
/// Its argon2id hash with deliberately tiny costs (64 KiB, 1 pass), which the
/// server verifies with the costs the hash names. With the default costs a
/// login costs 0.6 s of CPU in a debug build, so 200 logins would take a
/// minute of both cores: this test measures the server, not argon2.
const CHEAP_HASH: &str =
    "$argon2id$v=19$m=64,t=1,p=1$YXRlbGllci1sb2FkLXNhbHQ$g3g+8PqT9+OrTepSObKeqONVTmgq6ASBubyT2Eke5W0";
const USERS: usize = 200;
const SESSIONS: usize = 1000;
/// Requests in flight at once when one client drives many sessions.
const PARALLEL: usize = 32;

/// Every answer's latency, by kind of request.
#[derive(Default)]
struct Timings(Mutex<Vec<(&'static str, Duration)>>);

impl Timings {
    async fn time(&self, what: &'static str, request: impl Future<Output = Reply>) -> Reply {
        let started = Instant::now();
        let reply = request.await;
        self.0.lock().unwrap().push((what, started.elapsed()));
        reply
    }

    fn report(&self, took: Duration) {
        let all = self.0.lock().unwrap().clone();
        eprintln!(
            "{USERS} users at once: {} requests, 0 errors, in {took:.1?} ({:.0}/s)",
            all.len(),
            all.len() as f64 / took.as_secs_f64()
        );
        for what in ["all", "login", "start", "state", "proxy", "list", "stop"] {
            let mut these: Vec<Duration> = all
                .iter()
                .filter(|(kind, _)| what == "all" || *kind == what)
                .map(|(_, took)| *took)
                .collect();
            these.sort_unstable();
            eprintln!(
                "  {what:>5}: {:>5} requests, p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms",
                these.len(),
                percentile_ms(&these, 50),
                percentile_ms(&these, 99),
                percentile_ms(&these, 100)
            );
        }
    }
}

/// Kills the server started through `runuser` when the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server run by `owner` (not root) that lets `load000`…`load199` log in.
///
/// Not root, on purpose: the load under test is the server's own (HTTP,
/// logins, store, watcher, proxy), which is the same whoever the sessions
/// run as, while 200 real accounts would hold /etc/passwd's lock through
/// `useradd` and `userdel` and stall the tests running beside this one. The
/// privilege drop to each user's account is covered by every other test.
fn non_root_server(owner: &TestUser, port: u16) -> KillOnDrop {
    let home = format!("/home/{}", owner.name);
    let data = format!("{home}/data");
    let names: Vec<String> = (0..USERS).map(|i| format!("load{i:03}")).collect();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{data}\"\n[auth]\nallowed_users = {names:?}\n[sessions]\nstop_grace_secs = 3\n{}",
        light_kind()
    );
    let users: String = names
        .iter()
        .map(|name| format!("{name}:user:{CHEAP_HASH}\n"))
        .collect();
    let account = atelier_os::Account::lookup(&owner.name).unwrap().unwrap();
    std::fs::create_dir(&data).unwrap();
    for (path, text) in [
        (format!("{home}/atelier.toml"), config),
        (format!("{data}/users"), users),
    ] {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for path in [
        data.clone(),
        format!("{home}/atelier.toml"),
        format!("{data}/users"),
    ] {
        std::os::unix::fs::chown(&path, Some(account.uid), Some(account.gid)).unwrap();
    }
    let log = std::fs::File::create(format!("{home}/server.log")).unwrap();
    let child = Command::new("runuser")
        .args(["-u", &owner.name, "--", common::server::binary()])
        .args(["serve", "--config", &format!("{home}/atelier.toml")])
        .env("HOME", &home)
        .current_dir(&home)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

async fn state(api: &Client, timings: &Timings, id: &str) -> String {
    let reply = timings
        .time("state", api.get(&format!("/api/v1/sessions/{id}")))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["state"].as_str().unwrap().to_owned()
}

async fn wait_for(api: &Client, timings: &Timings, id: &str, wanted: &str) {
    eventually(
        &format!("{id} to be {wanted}"),
        Duration::from_secs(60),
        || async {
            let now = state(api, timings, id).await;
            assert!(
                now == wanted || !["stopped", "failed", "lost"].contains(&now.as_str()),
                "{id} is {now}"
            );
            (now == wanted).then_some(())
        },
    )
    .await;
}

/// One simulated user's visit; panics on any unexpected answer.
async fn visit(base: String, name: String, timings: Arc<Timings>) -> String {
    let mut api = Client::new(&base);
    let login = timings.time("login", api.login(&name, PASSWORD)).await;
    assert_eq!(login.status, 200, "{name}: {}", login.text());
    let created = timings
        .time(
            "start",
            api.post("/api/v1/sessions", json!({"kind": "light"})),
        )
        .await;
    assert_eq!(created.status, 201, "{name}: {}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    wait_for(&api, &timings, &id, "running").await;
    let page = timings.time("proxy", api.get(&format!("/s/{id}/"))).await;
    assert_eq!(
        (page.status.as_u16(), page.text()),
        (200, "ok\n".to_owned()),
        "{name}"
    );
    let listed = timings.time("list", api.get("/api/v1/sessions")).await;
    assert_eq!(listed.status, 200, "{name}: {}", listed.text());
    let ids: Vec<Value> = listed.json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!(id)],
        "{name} sees exactly their own session"
    );
    let stop = timings
        .time(
            "stop",
            api.post(&format!("/api/v1/sessions/{id}/stop"), json!({})),
        )
        .await;
    assert_eq!(stop.status, 202, "{name}: {}", stop.text());
    wait_for(&api, &timings, &id, "stopped").await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_users_log_in_start_list_and_stop_at_once() {
    let owner = TestUser::create();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = non_root_server(&owner, port);
    let base = format!("http://127.0.0.1:{port}");
    let probe = Client::new(&base);
    eventually("the server to answer", Duration::from_secs(20), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        (probe.get("/health-check").await.status == 200).then_some(())
    })
    .await;

    let timings = Arc::new(Timings::default());
    let started = Instant::now();
    let visits = (0..USERS).map(|i| {
        let (base, timings) = (base.clone(), Arc::clone(&timings));
        tokio::spawn(visit(base, format!("load{i:03}"), timings))
    });
    let mut ids = Vec::new();
    for visit in futures_util::future::join_all(visits).await {
        ids.push(visit.expect("a visit failed"));
    }
    timings.report(started.elapsed());
    let left = processes_by_session();
    assert!(
        ids.iter().all(|id| !left.contains_key(id)),
        "processes survived"
    );
}

/// Runs `each` over `items` with [`PARALLEL`] in flight; returns how long it took.
async fn in_parallel<F, Fut>(items: &[String], each: F) -> Duration
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    stream::iter(items.iter().cloned().map(each))
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

/// Waits until every session of the list is `wanted`; returns how long that
/// took. Looks once a second: listing 1,000 sessions is itself work.
async fn all_become(api: &Client, wanted: &str, count: usize) -> Duration {
    let started = Instant::now();
    loop {
        let list = api.get("/api/v1/sessions").await.json();
        let sessions = list["sessions"].as_array().unwrap();
        let ended_badly = |s: &&Value| ["failed", "lost"].contains(&s["state"].as_str().unwrap());
        let bad: Vec<&Value> = sessions.iter().filter(ended_badly).collect();
        assert!(
            bad.is_empty(),
            "{} sessions ended badly, e.g. {}",
            bad.len(),
            bad[0]
        );
        if sessions.iter().filter(|s| s["state"] == wanted).count() == count {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{count} sessions not {wanted} in 10 min"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_run_side_by_side_and_all_stop() {
    let alice = TestUser::create();
    let extra = format!(
        "max_per_user = {}\nstart_timeout_secs = 180\n{}",
        SESSIONS + 10,
        light_kind()
    );
    let server = Server::start(&[], &[&alice], &extra).await;
    let pid = server.pid().unwrap();
    let api = server.client().with_token(&server.token(&alice.name));
    let rss_before = rss_kib(pid);
    let cpu_start = cpu_seconds(pid);

    let ids = Arc::new(Mutex::new(Vec::new()));
    let numbers: Vec<String> = (0..SESSIONS).map(|i| i.to_string()).collect();
    let posted = in_parallel(&numbers, |_| {
        let (api, ids) = (api.clone(), Arc::clone(&ids));
        async move {
            let reply = api.post("/api/v1/sessions", json!({"kind": "light"})).await;
            assert_eq!(reply.status, 201, "{}", reply.text());
            ids.lock()
                .unwrap()
                .push(reply.json()["id"].as_str().unwrap().to_owned());
        }
    })
    .await;
    let running = all_become(&api, "running", SESSIONS).await;
    eprintln!(
        "{SESSIONS} sessions: start requests answered in {posted:.1?}, all running {running:.1?} later; server CPU {:.1} s",
        cpu_seconds(pid) - cpu_start
    );
    let ids = ids.lock().unwrap().clone();

    let reached = in_parallel(&ids, |id| {
        let api = api.clone();
        async move {
            let page = api.get(&format!("/s/{id}/")).await;
            assert_eq!(
                (page.status.as_u16(), page.text()),
                (200, "ok\n".to_owned()),
                "{id}"
            );
        }
    })
    .await;
    let rss_running = rss_kib(pid);
    let cpu = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let idle_cpu = (cpu_seconds(pid) - cpu) / 6.0;
    let scan = Instant::now();
    let per_session = processes_by_session();
    let scan = scan.elapsed();
    let processes: usize = ids
        .iter()
        .map(|id| per_session.get(id).map_or(0, Vec::len))
        .sum();
    eprintln!("all {SESSIONS} reached through the proxy in {reached:.1?}; {processes} session processes (one scan of /proc for them: {scan:.1?}); server CPU while idle {:.0}% of a core", idle_cpu * 100.0);

    let cpu_stop = cpu_seconds(pid);
    let stops = in_parallel(&ids, |id| {
        let api = api.clone();
        async move {
            let reply = api
                .post(&format!("/api/v1/sessions/{id}/stop"), json!({}))
                .await;
            assert_eq!(reply.status, 202, "{}", reply.text());
        }
    })
    .await;
    let stopped = all_become(&api, "stopped", SESSIONS).await;
    let left = processes_by_session();
    let survivors: Vec<&String> = ids.iter().filter(|id| left.contains_key(*id)).collect();
    assert!(
        survivors.is_empty(),
        "{} sessions left processes",
        survivors.len()
    );
    eprintln!(
        "stop requests answered in {stops:.1?}, all stopped {stopped:.1?} later; server CPU {:.1} s; server RSS {} MiB before, {} MiB with {SESSIONS} running, {} MiB after",
        cpu_seconds(pid) - cpu_stop,
        rss_before / 1024,
        rss_running / 1024,
        rss_kib(pid) / 1024
    );
}
