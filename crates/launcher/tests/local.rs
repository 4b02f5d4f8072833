//! The local backend against real processes: a real user, the real
//! supervisor binary and a fake IDE in Python. Needs root (skips otherwise).
//! `cargo test -p atelier-launcher` builds the supervisor example first.

mod support;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use atelier_launcher::{
    connect_unix, Backend, Endpoint, LaunchError, LocalBackend, OutputMode, Probe,
};
use atelier_os::process::{is_alive, pids_with_env, ProcessInfo};
use atelier_os::{Account, Signal};
use support::{handle_field, require_root, Fixture};

const MARKER: &str = "ATELIER_SESSION_ID";
const USERS_GID: &str = "100";

fn session_pids(session: &atelier_core::Session) -> Vec<i32> {
    pids_with_env(MARKER, session.id.as_str())
}

fn mode_and_owner(path: &std::path::Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (meta.mode() & 0o7777, meta.uid())
}

#[tokio::test]
async fn a_session_runs_as_its_user_and_stop_leaves_nothing() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let session = fx.launch("serve").await;
    let uid = fx.user.account.uid;
    assert_eq!(fx.backend.probe(&session).await, Probe::Starting);
    let probe = fx
        .probe_until(&session, Duration::from_secs(15), |p| *p == Probe::Ready)
        .await;
    assert_eq!(probe, Probe::Ready);

    // Every marked process (supervisor, IDE, setsid grandchild) runs as the user.
    let supervisor = handle_field(&session, "pid").as_i64().unwrap() as i32;
    let pids = session_pids(&session);
    assert!(
        pids.len() >= 3,
        "supervisor, IDE and grandchild expected, got {pids:?}"
    );
    for pid in &pids {
        assert_eq!(ProcessInfo::read(*pid).unwrap().uid, uid, "pid {pid}");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
        assert!(
            groups.split_whitespace().any(|g| g == USERS_GID),
            "{groups}"
        );
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&session.secret),
            "secret in argv"
        );
    }
    let leader = ProcessInfo::read(supervisor).unwrap();
    assert_eq!((leader.pgid, leader.sid), (supervisor, supervisor));
    assert!(
        pids.iter()
            .any(|pid| ProcessInfo::read(*pid).unwrap().sid != supervisor),
        "the setsid grandchild should have left the supervisor's session"
    );

    // Files: the folder 0700, the log and the socket 0600, all the user's.
    let dir = PathBuf::from(handle_field(&session, "dir").as_str().unwrap());
    let socket = dir.join("ide.sock");
    assert_eq!(mode_and_owner(&dir), (0o700, uid));
    assert_eq!(mode_and_owner(&dir.join("ide.log")), (0o600, uid));
    assert_eq!(mode_and_owner(&socket), (0o600, uid));
    assert!(std::fs::symlink_metadata(&socket)
        .unwrap()
        .file_type()
        .is_socket());
    assert_eq!(
        fx.backend.endpoint(&session),
        Some(Endpoint::Unix {
            path: socket.clone(),
            uid: fx.user.account.uid
        })
    );

    // Another account cannot reach the socket; root can, and sees the owner.
    assert_nobody_cannot_connect(&socket);
    assert!(connect_unix(&socket, uid).await.is_ok());
    let wrong = connect_unix(&socket, 0).await.unwrap_err();
    assert!(
        matches!(wrong, LaunchError::WrongPeer { actual, .. } if actual == uid),
        "{wrong}"
    );

    let refused = fx.backend.cleanup(&session).await.unwrap_err();
    assert!(
        matches!(refused, LaunchError::StillRunning { .. }),
        "{refused}"
    );

    fx.backend
        .stop(&session, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(session_pids(&session), Vec::<i32>::new());
    assert!(pids
        .iter()
        .all(|pid| ProcessInfo::read(*pid).is_none_or(|p| p.zombie)));
    let ended = fx.backend.probe(&session).await;
    assert_eq!(
        ended,
        Probe::Exited {
            code: None,
            signal: Some(libc::SIGTERM)
        }
    );
    let log = fx.backend.log_tail(&session, 50).await.unwrap();
    assert!(
        log.contains("atelier-supervisor: SIGTERM received"),
        "{log}"
    );
    assert!(log.contains("fake ide listening"), "{log}");
    assert!(!log.contains(&session.secret));

    fx.backend
        .stop(&session, Duration::from_secs(2))
        .await
        .unwrap();
    fx.backend.cleanup(&session).await.unwrap();
    assert!(!dir.exists());
}

/// Runs `python3 -c connect(socket)` as `nobody` and expects a refusal.
fn assert_nobody_cannot_connect(socket: &std::path::Path) {
    let nobody = Account::lookup("nobody").unwrap().unwrap();
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.args([
        "-c",
        "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])",
    ])
    .arg(socket)
    .env_clear()
    .current_dir("/");
    atelier_os::spawn::as_user(&mut cmd, &nobody).unwrap();
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "nobody connected to the session socket"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PermissionError"),
        "{out:?}"
    );
}

#[tokio::test]
async fn an_ide_that_exits_by_itself_reports_its_code() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let session = fx.launch("exit3").await;
    let exited = |p: &Probe| matches!(p, Probe::Exited { .. });
    let probe = fx
        .probe_until(&session, Duration::from_secs(15), exited)
        .await;
    assert_eq!(
        probe,
        Probe::Exited {
            code: Some(3),
            signal: None
        }
    );
    let dir = PathBuf::from(handle_field(&session, "dir").as_str().unwrap());
    let record = std::fs::read_to_string(dir.join("exit.json")).unwrap();
    assert_eq!(record, r#"{"code":3,"signal":null}"#);
    let log = fx.backend.log_tail(&session, 2).await.unwrap();
    assert!(log.contains("IDE ended: exit status: 3"), "{log}");
    fx.backend
        .stop(&session, Duration::from_secs(1))
        .await
        .unwrap();
    fx.backend.cleanup(&session).await.unwrap();
}

#[tokio::test]
async fn a_killed_supervisor_without_a_record_is_gone_and_stop_still_cleans_up() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let session = fx.launch("serve").await;
    let ready = fx
        .probe_until(&session, Duration::from_secs(15), |p| *p == Probe::Ready)
        .await;
    assert_eq!(ready, Probe::Ready);
    let supervisor = handle_field(&session, "pid").as_i64().unwrap() as i32;
    let start = handle_field(&session, "start_time").as_u64().unwrap();
    atelier_os::signal::kill(supervisor, Signal::Kill).unwrap();
    let gone = fx
        .probe_until(&session, Duration::from_secs(5), |p| *p == Probe::Gone)
        .await;
    assert_eq!(gone, Probe::Gone);
    assert!(!is_alive(supervisor, start));
    assert!(
        session_pids(&session).len() >= 2,
        "the IDE and grandchild outlive the supervisor"
    );

    fx.backend
        .stop(&session, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(session_pids(&session), Vec::<i32>::new());
    fx.backend.cleanup(&session).await.unwrap();
}

#[tokio::test]
async fn a_handle_with_a_wrong_start_time_is_not_alive() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let session = fx.launch("serve").await;
    let ready = fx
        .probe_until(&session, Duration::from_secs(15), |p| *p == Probe::Ready)
        .await;
    assert_eq!(ready, Probe::Ready);
    let pid = handle_field(&session, "pid").as_i64().unwrap() as i32;
    let start = handle_field(&session, "start_time").as_u64().unwrap();
    let mut reused = session.clone();
    let text = session.handle.as_deref().unwrap();
    let tampered = text.replace(
        &format!("\"start_time\":{start}"),
        &format!("\"start_time\":{}", start + 1),
    );
    assert_ne!(tampered, text);
    reused.handle = Some(tampered);

    assert!(!is_alive(pid, start + 1));
    assert_eq!(fx.backend.probe(&reused).await, Probe::Gone);
    // The marked processes still count: cleanup refuses, stop finds them all.
    assert!(fx.backend.cleanup(&reused).await.is_err());
    fx.backend
        .stop(&reused, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(session_pids(&session), Vec::<i32>::new());
    assert!(!is_alive(pid, start));
    fx.backend.cleanup(&session).await.unwrap();
}

#[tokio::test]
async fn a_socket_path_over_the_limit_is_refused_before_anything_runs() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("d".repeat(60));
    let backend = LocalBackend::new(&data_dir).unwrap();
    let session = support::session_for(&Account::current().unwrap().name);
    let spec = atelier_launcher::LaunchSpec {
        account: Account::current().unwrap(),
        program: PathBuf::from("/bin/true"),
        args: vec![],
        env: vec![],
        ready_path: "/".to_owned(),
        supervisor: PathBuf::from("/bin/true"),
        grace: Duration::from_secs(1),
        limits: None,
        files: Vec::new(),
        output: OutputMode::Log,
        placement: Default::default(),
    };
    let error = backend.launch(&session, &spec).await.unwrap_err();
    assert!(
        matches!(error, LaunchError::SocketPathTooLong { .. }),
        "{error}"
    );
    assert!(error.to_string().contains(session.id.as_str()), "{error}");
    let sessions = data_dir.join("sessions");
    assert_eq!(std::fs::read_dir(&sessions).unwrap().count(), 0);
    assert_eq!(mode_and_owner(&sessions).0, 0o711);
    assert_eq!(mode_and_owner(&data_dir).0, 0o711);
}
