//! Jobs' split output through the local backend, against real processes: a
//! real user, the real supervisor binary, `/bin/sh` scripts as the job.
//! Needs root (skips otherwise).

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atelier_core::Session;
use atelier_launcher::{
    Backend, LaunchError, LocalBackend, OutputChunk, OutputMode, OutputStream, Probe,
};
use atelier_os::process::{is_alive, pids_with_env};
use support::{handle_field, require_root, Fixture};

/// Launches `script` under `/bin/sh -c` as a split-output job of `fx`'s user.
async fn launch_job(fx: &Fixture, backend: &LocalBackend, script: &str) -> Session {
    let mut session = fx.session();
    session.secret = String::new();
    let mut spec = fx.spec(&session, "unused");
    spec.program = PathBuf::from("/bin/sh");
    spec.args = vec!["-c".to_owned(), script.to_owned()];
    spec.env = Vec::new();
    spec.output = OutputMode::Split;
    session.handle = Some(backend.launch(&session, &spec).await.unwrap());
    session
}

async fn wait_exited(fx: &Fixture, session: &Session) -> Probe {
    let exited = |p: &Probe| matches!(p, Probe::Exited { .. });
    fx.probe_until(session, Duration::from_secs(15), exited)
        .await
}

fn dir_of(session: &Session) -> PathBuf {
    PathBuf::from(handle_field(session, "dir").as_str().unwrap())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

async fn read_all(fx: &Fixture, session: &Session, stream: OutputStream) -> String {
    let chunk = fx
        .backend
        .read_output(session, stream, 0, 1 << 20)
        .await
        .unwrap();
    assert_eq!(chunk.next_offset, chunk.size);
    String::from_utf8(chunk.data).unwrap()
}

/// Stops what is left of the session, checks nothing survived, removes it.
async fn finish(fx: &Fixture, session: &Session) {
    fx.backend
        .stop(session, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        pids_with_env("ATELIER_SESSION_ID", session.id.as_str()),
        Vec::<i32>::new()
    );
    fx.backend.cleanup(session).await.unwrap();
    assert!(!dir_of(session).exists());
}

#[tokio::test]
async fn a_split_job_gets_three_files_with_the_combined_one_in_order() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let script = "for i in 1 2 3; do echo out$i; sleep 0.1; echo err$i >&2; sleep 0.1; done; \
                  readlink /proc/self/fd/0";
    let session = launch_job(&fx, &fx.backend, script).await;
    let probe = wait_exited(&fx, &session).await;
    assert_eq!(
        probe,
        Probe::Exited {
            code: Some(0),
            signal: None
        }
    );

    let dir = dir_of(&session);
    let uid = fx.user.account.uid;
    for name in ["stdout.log", "stderr.log", "output.log", "supervisor.log"] {
        let meta = std::fs::symlink_metadata(dir.join(name)).unwrap();
        assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o600, uid), "{name}");
    }
    assert!(!dir.join("ide.log").exists());
    let stdout = "out1\nout2\nout3\n/dev/null\n";
    let stderr = "err1\nerr2\nerr3\n";
    let combined = "out1\nerr1\nout2\nerr2\nout3\nerr3\n/dev/null\n";
    assert_eq!(read(&dir.join("stdout.log")), stdout);
    assert_eq!(read(&dir.join("stderr.log")), stderr);
    assert_eq!(read(&dir.join("output.log")), combined);
    let supervisor = read(&dir.join("supervisor.log"));
    assert!(
        supervisor
            .lines()
            .all(|l| l.starts_with("atelier-supervisor: ")),
        "{supervisor}"
    );
    assert!(supervisor.contains("ended: exit status: 0"), "{supervisor}");

    assert_eq!(read_all(&fx, &session, OutputStream::Stdout).await, stdout);
    assert_eq!(read_all(&fx, &session, OutputStream::Stderr).await, stderr);
    assert_eq!(
        read_all(&fx, &session, OutputStream::Combined).await,
        combined
    );
    let piece = fx
        .backend
        .read_output(&session, OutputStream::Combined, 5, 4)
        .await
        .unwrap();
    let expected = OutputChunk {
        data: b"err1".to_vec(),
        next_offset: 9,
        size: combined.len() as u64,
    };
    assert_eq!(piece, expected);
    let tail = fx.backend.log_tail(&session, 2).await.unwrap();
    assert!(tail.starts_with("err3\n/dev/null\n"), "{tail}");
    assert!(tail.contains("atelier-supervisor: IDE ended"), "{tail}");

    finish(&fx, &session).await;
    let gone = fx
        .backend
        .read_output(&session, OutputStream::Combined, 0, 10)
        .await
        .unwrap();
    assert_eq!(gone, OutputChunk::default());
}

/// Nanoseconds since the epoch, the clock `date +%s%N` prints.
fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

#[tokio::test]
async fn a_running_job_is_read_progressively_from_offsets() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let lines = 20;
    let script =
        format!("for i in $(seq 1 {lines}); do echo \"$i $(date +%s%N)\"; sleep 0.1; done");
    let session = launch_job(&fx, &fx.backend, &script).await;
    let (mut offset, mut text, mut reads_while_running) = (0, String::new(), 0);
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while latencies.len() < lines && Instant::now() < deadline {
        let chunk = fx
            .backend
            .read_output(&session, OutputStream::Combined, offset, 1 << 20)
            .await
            .unwrap();
        let now = now_ns();
        assert_eq!(chunk.next_offset, offset + chunk.data.len() as u64);
        assert!(chunk.next_offset <= chunk.size);
        if !chunk.data.is_empty() && fx.backend.probe(&session).await == Probe::Starting {
            reads_while_running += 1;
        }
        offset = chunk.next_offset;
        text.push_str(std::str::from_utf8(&chunk.data).unwrap());
        while let Some(end) = text.find('\n') {
            let line: String = text.drain(..=end).collect();
            let (number, printed) = line.trim_end().split_once(' ').unwrap();
            assert_eq!(
                number,
                (latencies.len() + 1).to_string(),
                "lines out of order"
            );
            latencies.push(Duration::from_nanos(
                (now - printed.parse::<i128>().unwrap()) as u64,
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(latencies.len(), lines, "not every line was read");
    assert!(
        reads_while_running >= lines / 2,
        "only {reads_while_running} reads found new output while the job ran"
    );
    let whole = read(&dir_of(&session).join("output.log"));
    assert_eq!(
        offset,
        whole.len() as u64,
        "reads skipped or repeated bytes"
    );
    latencies.sort();
    let (p90, max) = (latencies[lines * 9 / 10 - 1], latencies[lines - 1]);
    assert!(p90 < Duration::from_millis(200), "{latencies:?}");
    assert!(max < Duration::from_secs(1), "{latencies:?}");
    wait_exited(&fx, &session).await;
    finish(&fx, &session).await;
}

#[tokio::test]
async fn a_grandchild_holding_stdout_does_not_keep_the_supervisor_alive() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let started = Instant::now();
    let script = "(sleep 0.3; echo late; exec sleep 30) & echo early";
    let session = launch_job(&fx, &fx.backend, script).await;
    let pid = handle_field(&session, "pid").as_i64().unwrap() as i32;
    let start_time = handle_field(&session, "start_time").as_u64().unwrap();
    while is_alive(pid, start_time) && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "supervisor lived {took:?}"
    );
    assert!(
        took > Duration::from_millis(1200),
        "left too early: {took:?}"
    );
    let dir = dir_of(&session);
    assert_eq!(read(&dir.join("stdout.log")), "early\nlate\n");
    let supervisor = read(&dir.join("supervisor.log"));
    assert!(supervisor.contains("stayed open but idle"), "{supervisor}");
    let exited = Probe::Exited {
        code: Some(0),
        signal: None,
    };
    assert_eq!(fx.backend.probe(&session).await, exited);
    assert!(
        !pids_with_env("ATELIER_SESSION_ID", session.id.as_str()).is_empty(),
        "the grandchild should still run until the stop"
    );
    finish(&fx, &session).await;
}

#[tokio::test]
async fn a_grandchild_that_keeps_writing_is_read_until_a_stop_ends_it() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let script = "(trap '' TERM; while :; do echo tick; sleep 0.1; done) & echo started";
    let session = launch_job(&fx, &fx.backend, script).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let pid = handle_field(&session, "pid").as_i64().unwrap() as i32;
    let start_time = handle_field(&session, "start_time").as_u64().unwrap();
    assert!(is_alive(pid, start_time), "the supervisor left a busy pipe");
    let ticks = read_all(&fx, &session, OutputStream::Stdout).await;
    assert!(ticks.matches("tick").count() >= 10, "{ticks}");

    let asked = Instant::now();
    fx.backend
        .stop(&session, Duration::from_secs(1))
        .await
        .unwrap();
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(3), "stop took {took:?}");
    let supervisor = read(&dir_of(&session).join("supervisor.log"));
    assert!(
        supervisor.contains("SIGTERM received while reading the output"),
        "{supervisor}"
    );
    assert!(
        supervisor.contains("stopped reading the output after the grace period"),
        "{supervisor}"
    );
    let exited = Probe::Exited {
        code: Some(0),
        signal: None,
    };
    assert_eq!(fx.backend.probe(&session).await, exited);
    finish(&fx, &session).await;
}

#[tokio::test]
async fn read_output_refuses_links_special_files_and_others_files() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let never = fx.session();
    let empty = fx
        .backend
        .read_output(&never, OutputStream::Stdout, 40, 10)
        .await
        .unwrap();
    assert_eq!(empty, OutputChunk::default(), "not started: empty at 0");

    let session = launch_job(&fx, &fx.backend, "echo hi; echo oops >&2").await;
    wait_exited(&fx, &session).await;
    let dir = dir_of(&session);
    let uid = fx.user.account.uid;
    let stdout = dir.join("stdout.log");
    std::fs::remove_file(&stdout).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", &stdout).unwrap();
    std::os::unix::fs::lchown(&stdout, Some(uid), None).unwrap();
    let refused = |error: LaunchError, reason: &str| {
        let text = error.to_string();
        assert!(matches!(error, LaunchError::UnsafeFile { .. }), "{text}");
        assert!(text.contains(reason), "{text}");
    };
    let error = fx
        .backend
        .read_output(&session, OutputStream::Stdout, 0, 100)
        .await
        .unwrap_err();
    refused(error, "a symlink");

    let stderr = dir.join("stderr.log");
    std::fs::remove_file(&stderr).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&stderr)
        .status()
        .unwrap();
    assert!(made.success());
    let error = fx
        .backend
        .read_output(&session, OutputStream::Stderr, 0, 100)
        .await
        .unwrap_err();
    refused(error, "not a regular file");

    // What a hard link to another account's file would look like.
    std::os::unix::fs::lchown(dir.join("output.log"), Some(0), None).unwrap();
    let error = fx
        .backend
        .read_output(&session, OutputStream::Combined, 0, 100)
        .await
        .unwrap_err();
    refused(error, "not owned by the session's user");
    finish(&fx, &session).await;
}

#[tokio::test]
async fn an_ide_session_has_no_output_to_read() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let session = fx.launch("exit3").await;
    wait_exited(&fx, &session).await;
    let error = fx
        .backend
        .read_output(&session, OutputStream::Combined, 0, 100)
        .await
        .unwrap_err();
    assert!(matches!(error, LaunchError::NoOutput { .. }), "{error}");
    assert!(fx
        .backend
        .log_tail(&session, 5)
        .await
        .unwrap()
        .contains("fake ide"));
    finish(&fx, &session).await;
}

#[tokio::test]
async fn output_keeps_flowing_after_the_launching_server_is_gone() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let data = fx.dir.path().join("data");
    let script = "for i in $(seq 1 25); do echo $i; sleep 0.1; done";
    // A server of its own: its runtime (and the task that reaps the
    // supervisor) and its backend end with the thread.
    let session = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let backend = LocalBackend::new(&data).unwrap();
                    launch_job(&fx, &backend, script).await
                })
            })
            .join()
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let size = |chunk: OutputChunk| chunk.size;
    let read = || fx.backend.read_output(&session, OutputStream::Stdout, 0, 0);
    let first = size(read().await.unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let second = size(read().await.unwrap());
    assert!(first > 0 && second > first, "{first} then {second}");
    wait_exited(&fx, &session).await;
    let all: String = (1..=25).map(|i| format!("{i}\n")).collect();
    assert_eq!(read_all(&fx, &session, OutputStream::Stdout).await, all);
    finish(&fx, &session).await;
}
