//! Helpers of `languages.rs`: a real test account, and real Jupyter run as
//! that account (`jupyter run` in a kernel, a Jupyter server asked for its
//! kernelspecs over its unix socket).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atelier_os::signal::{kill_group, Signal};

/// The managed Jupyter (`scripts/install-ides.sh`).
pub(crate) const JUPYTER: &str = "/opt/atelier/jupyter/bin/jupyter";

/// A Linux account for the test, removed with its home on drop.
pub(crate) struct TestUser {
    pub(crate) name: String,
    pub(crate) home: PathBuf,
}

impl TestUser {
    pub(crate) fn create() -> TestUser {
        assert!(
            atelier_os::is_root(),
            "run as root (scripts/test.sh): the test creates a user"
        );
        let name = format!("atl{:06x}", rand::random::<u32>() & 0xff_ffff);
        retry_on_lock(&["useradd", "-m", "-s", "/bin/bash", &name]);
        let home = atelier_os::Account::lookup(&name).unwrap().unwrap().home;
        TestUser { name, home }
    }

    /// `runuser` with a session-like environment: `env` and `HOME`, nothing
    /// of root's. Secrets go through `Command::env` on the result (runuser
    /// passes them on), never through argv, which every user can read.
    pub(crate) fn command(&self, env: &[(String, String)], program: &str) -> Command {
        let mut cmd = Command::new("/usr/sbin/runuser");
        cmd.env_clear()
            .args(["-u", &self.name, "--", "/usr/bin/env"])
            .arg(format!("HOME={}", self.home.display()))
            .args(env.iter().map(|(key, value)| format!("{key}={value}")))
            .arg(program)
            .current_dir(&self.home);
        cmd
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        retry_on_lock(&["userdel", "-r", &self.name]);
    }
}

fn retry_on_lock(argv: &[&str]) {
    for _ in 0..50 {
        let output = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
        let error = String::from_utf8_lossy(&output.stderr);
        // userdel -r complains about a missing mail spool; that is fine.
        if output.status.success() || (argv[0] == "userdel" && !error.contains("lock")) {
            return;
        }
        assert!(error.contains("lock"), "{argv:?} failed: {error}");
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{argv:?} kept failing on the passwd lock");
}

pub(crate) fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

pub(crate) fn run_in_kernel(
    user: &TestUser,
    env: &[(String, String)],
    kernel: &str,
    file: &str,
) -> String {
    let started = Instant::now();
    let output = user
        .command(env, JUPYTER)
        .args(["run", &format!("--kernel={kernel}"), file])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "jupyter run --kernel={kernel} failed after {:?}: {text}{}",
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// Starts a real Jupyter server with `args` as the user and returns the
/// default kernel and the kernels it offers (sorted), from `/api/kernelspecs`.
pub(crate) fn kernels_offered_by_jupyter_server(
    user: &TestUser,
    env: &[(String, String)],
    args: &[String],
) -> (String, Vec<String>) {
    let socket = user.home.join("jupyter.sock");
    let token = format!("{:032x}", rand::random::<u128>());
    let mut server = user
        .command(env, JUPYTER)
        .env("JUPYTER_TOKEN", &token)
        .args(["server", "--no-browser"])
        .arg(format!("--ServerApp.sock={}", socket.display()))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = i32::try_from(server.id()).unwrap();
    let answer = get_when_up(&socket, &token, "/api/kernelspecs");
    kill_group(group, Signal::Term).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = kill_group(group, Signal::Kill);
    let _ = server.wait();

    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let mut names: Vec<String> = answer["kernelspecs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    (answer["default"].as_str().unwrap().to_owned(), names)
}

/// GET over the server's unix socket, retried until it answers 200 (60 s at most).
fn get_when_up(socket: &Path, token: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut stream) = UnixStream::connect(socket) {
            let request = format!(
                "GET {path} HTTP/1.0\r\nHost: localhost\r\nAuthorization: token {token}\r\n\r\n"
            );
            let mut response = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut response).is_ok()
                && response.starts_with("HTTP/1.1 200")
            {
                return response.split_once("\r\n\r\n").unwrap().1.to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "Jupyter did not answer on {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
