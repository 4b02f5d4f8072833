//! The supervisor binary's stop path against real processes: SIGTERM is
//! forwarded to the IDE's group and whatever ignores it is killed after the
//! grace. Runs without root: the supervisor is made a group leader directly.

mod support;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atelier_os::process::pids_in_group;
use atelier_os::signal::kill;
use atelier_os::Signal;

/// Starts the supervisor in its own process group running `script` under sh.
fn start(dir: &Path, grace_ms: u64, script: &str) -> Child {
    let log = std::fs::File::create(dir.join("ide.log")).unwrap();
    Command::new(support::supervisor_binary())
        .arg("session-run")
        .arg("--dir")
        .arg(dir)
        .args([
            "--grace-ms",
            &grace_ms.to_string(),
            "--",
            "/bin/sh",
            "-c",
            script,
        ])
        .process_group(0)
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until the group has at least `n` live members.
fn wait_for_members(pgid: i32, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids_in_group(pgid).len() < n {
        assert!(
            Instant::now() < deadline,
            "group {pgid} never reached {n} members"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn record(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("exit.json")).unwrap()
}

#[test]
fn sigterm_is_forwarded_and_a_stubborn_group_is_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    // The shell and its sleeper both ignore SIGTERM.
    let mut supervisor = start(dir.path(), 300, "trap '' TERM; /bin/sleep 30 & wait");
    let pgid = supervisor.id() as i32;
    wait_for_members(pgid, 3);
    let asked = Instant::now();
    assert!(kill(pgid, Signal::Term).unwrap());
    assert!(supervisor.wait().unwrap().success());
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "killed before the grace: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "too slow: {took:?}");
    assert_eq!(record(dir.path()), r#"{"code":null,"signal":9}"#);
    assert_eq!(
        pids_in_group(pgid),
        Vec::<i32>::new(),
        "a group member survived"
    );
    let log = std::fs::read_to_string(dir.path().join("ide.log")).unwrap();
    assert!(
        log.lines().all(|l| l.starts_with("atelier-supervisor: ")),
        "{log}"
    );
    assert!(log.contains("outlived its grace"), "{log}");
}

#[test]
fn an_ide_that_honours_sigterm_ends_by_it_without_waiting_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut supervisor = start(dir.path(), 10_000, "exec /bin/sleep 30");
    let pgid = supervisor.id() as i32;
    wait_for_members(pgid, 2);
    let asked = Instant::now();
    assert!(kill(pgid, Signal::Term).unwrap());
    assert!(supervisor.wait().unwrap().success());
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "waited the grace: {:?}",
        asked.elapsed()
    );
    assert_eq!(record(dir.path()), r#"{"code":null,"signal":15}"#);
}
