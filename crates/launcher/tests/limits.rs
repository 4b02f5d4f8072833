//! Resource limits of local sessions against the real kernel: a cgroup that
//! OOM-kills a greedy child while the IDE lives on, the rlimit fallback,
//! and the caller's files and `{dir}` placeholders. Needs root (skips otherwise).

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::Mutex;

use atelier_core::Session;
use atelier_launcher::{
    connect_unix, Backend, Cgroups, LaunchError, LaunchSpec, Limits, LocalBackend, OutputMode,
    Probe,
};
use atelier_os::process::pids_with_env;
use support::{handle_field, require_root, Fixture};

const MARKER: &str = "ATELIER_SESSION_ID";

/// The tests share the server's `atelier` cgroup folders and remove them at the end.
static SERIAL: Mutex<()> = Mutex::const_new(());

fn memory(bytes: u64) -> Option<Limits> {
    Some(Limits {
        cpus: None,
        memory: Some(bytes),
    })
}

/// Launches `spec` for `session` and stores the handle in it.
async fn launch(fx: &Fixture, session: &mut Session, spec: &LaunchSpec) {
    let handle = fx.backend.launch(session, spec).await.unwrap();
    session.handle = Some(handle);
}

/// The session's cgroup folders, from its handle.
fn cgroup_dirs(session: &Session) -> Vec<PathBuf> {
    let dirs = handle_field(session, "cgroup")["dirs"].clone();
    serde_json::from_value(dirs).expect("the handle names the cgroup folders")
}

/// The pid of the fake IDE (the marked process running `ide.py`).
fn ide_pid(session: &Session) -> Option<i32> {
    pids_with_env(MARKER, session.id.as_str())
        .into_iter()
        .find(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains("ide.py")
        })
}

/// Removes the `atelier` cgroup folders if they are empty.
fn tidy() {
    if let Some(cgroups) = Cgroups::detect() {
        for parent in cgroups.parents() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

#[tokio::test]
async fn a_child_over_the_memory_limit_is_reported_and_stop_and_cleanup_leave_nothing() {
    let _serial = SERIAL.lock().await;
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    assert!(fx.backend.cgroups().is_ok(), "{:?}", fx.backend.cgroups());
    let mut session = fx.session();
    let mut spec = fx.spec(&session, "hog");
    spec.limits = memory(100 << 20);
    launch(&fx, &mut session, &spec).await;

    let limits = fx.backend.limits(&session).expect("limits were asked");
    assert_eq!(limits, "cgroup v1: 100M memory");
    let dirs = cgroup_dirs(&session);
    assert!(dirs
        .iter()
        .all(|d| d.ends_with(format!("atelier/{}", session.id))));
    let members = std::fs::read_to_string(dirs[0].join("cgroup.procs")).unwrap();
    let supervisor = handle_field(&session, "pid").as_i64().unwrap();
    assert!(
        members.lines().any(|l| l == supervisor.to_string()),
        "{members}"
    );

    let oom = |p: &Probe| matches!(p, Probe::OutOfMemory { .. });
    let probe = fx.probe_until(&session, Duration::from_secs(10), oom).await;
    assert_eq!(probe, Probe::OutOfMemory { limit: 100 << 20 });
    // A restarted server (a new backend on the same data folder) sees it too.
    let restarted = LocalBackend::new(&fx.dir.path().join("data")).unwrap();
    assert_eq!(
        restarted.probe(&session).await,
        Probe::OutOfMemory { limit: 100 << 20 }
    );
    assert_eq!(
        restarted.limits(&session).as_deref(),
        Some("cgroup v1: 100M memory")
    );

    // Only the child died: the IDE lives on and answers.
    let dir = PathBuf::from(handle_field(&session, "dir").as_str().unwrap());
    let socket = dir.join("ide.sock");
    let mut answered = false;
    for _ in 0..100 {
        answered = connect_unix(&socket, fx.user.account.uid).await.is_ok();
        if answered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "the IDE should still serve");
    assert!(ide_pid(&session).is_some(), "the IDE should still run");
    assert!(!dir.join("exit.json").exists(), "the IDE has not ended");
    let log = fx.backend.log_tail(&session, 20).await.unwrap();
    assert!(log.contains("fake ide hog ended: -9"), "{log}");

    fx.backend
        .stop(&session, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        pids_with_env(MARKER, session.id.as_str()),
        Vec::<i32>::new()
    );
    assert!(
        dirs.iter().all(|d| d.exists()),
        "the group stays until cleanup"
    );
    fx.backend.cleanup(&session).await.unwrap();
    assert!(
        dirs.iter().all(|d| !d.exists()),
        "cleanup removes the group"
    );
    assert!(!dir.exists());
    tidy();
}

#[tokio::test]
async fn cpu_limits_are_written_and_the_group_is_found_again_without_its_record() {
    let _serial = SERIAL.lock().await;
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut session = fx.session();
    let mut spec = fx.spec(&session, "serve");
    spec.limits = Some(Limits {
        cpus: Some(1.0),
        memory: Some(200 << 20),
    });
    launch(&fx, &mut session, &spec).await;
    assert_eq!(
        fx.backend.limits(&session).unwrap(),
        "cgroup v1: 1 CPU, 200M memory"
    );
    let dirs = cgroup_dirs(&session);
    let quota = std::fs::read_to_string(dirs[1].join("cpu.cfs_quota_us")).unwrap();
    assert_eq!(quota.trim(), "100000");
    let ready = fx
        .probe_until(&session, Duration::from_secs(15), |p| *p == Probe::Ready)
        .await;
    assert_eq!(ready, Probe::Ready);

    // A handle without the cgroup record (an older server's): found by the id.
    let mut bare = session.clone();
    let mut handle: serde_json::Value =
        serde_json::from_str(session.handle.as_deref().unwrap()).unwrap();
    handle.as_object_mut().unwrap().remove("cgroup");
    bare.handle = Some(handle.to_string());
    let refused = fx.backend.cleanup(&bare).await.unwrap_err();
    assert!(
        matches!(refused, LaunchError::StillRunning { .. }),
        "{refused}"
    );
    fx.backend
        .stop(&bare, Duration::from_secs(2))
        .await
        .unwrap();
    fx.backend.cleanup(&bare).await.unwrap();
    assert!(dirs.iter().all(|d| !d.exists()));
    tidy();
}

#[tokio::test]
async fn without_cgroups_memory_is_an_address_space_limit() {
    if !require_root() {
        return;
    }
    let fx = Fixture::with_cgroups(Err("turned off for this test".to_owned()));
    let mut session = fx.session();
    let mut spec = fx.spec(&session, "hog");
    spec.limits = Some(Limits {
        cpus: Some(1.0),
        memory: Some(300 << 20),
    });
    launch(&fx, &mut session, &spec).await;
    assert_eq!(
        fx.backend.limits(&session).unwrap(),
        "rlimit: 300M address space; CPU not limited (no cgroups: turned off for this test)"
    );
    assert!(handle_field(&session, "cgroup").is_null());
    let ready = fx
        .probe_until(&session, Duration::from_secs(15), |p| *p == Probe::Ready)
        .await;
    assert_eq!(
        ready,
        Probe::Ready,
        "{:?}",
        fx.backend.log_tail(&session, 20).await
    );
    let log = fx.backend.log_tail(&session, 20).await.unwrap();
    assert!(
        log.contains("fake ide hog ended: 1"),
        "MemoryError exits 1: {log}"
    );
    let pid = ide_pid(&session).unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap();
    assert!(line.contains(&(300u64 << 20).to_string()), "{line}");
    fx.backend
        .stop(&session, Duration::from_secs(2))
        .await
        .unwrap();
    fx.backend.cleanup(&session).await.unwrap();
}

#[tokio::test]
async fn files_are_written_for_the_user_and_dir_is_substituted() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let uid = fx.user.account.uid;
    let mut session = fx.session();
    let mut spec = fx.spec(&session, "serve");
    let kernel = PathBuf::from("jupyter/kernels/py/kernel.json");
    spec.files = vec![(kernel.clone(), r#"{"argv":["{dir}/x"]}"#.to_owned())];
    spec.env
        .push(("JUPYTER_PATH".to_owned(), "{dir}/jupyter".to_owned()));
    spec.args.push("--extra={dir}".to_owned());
    launch(&fx, &mut session, &spec).await;
    assert_eq!(fx.backend.limits(&session), None, "no limits asked");

    let dir = PathBuf::from(handle_field(&session, "dir").as_str().unwrap());
    let owner_mode = |p: &Path| {
        let meta = std::fs::symlink_metadata(p).unwrap();
        (meta.uid(), meta.mode() & 0o7777)
    };
    assert_eq!(owner_mode(&dir.join(&kernel)), (uid, 0o600));
    for folder in ["jupyter", "jupyter/kernels", "jupyter/kernels/py"] {
        assert_eq!(owner_mode(&dir.join(folder)), (uid, 0o700), "{folder}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join(&kernel)).unwrap(),
        format!(r#"{{"argv":["{}/x"]}}"#, dir.display()),
        "{{dir}} is replaced in file contents too"
    );
    let ready = fx
        .probe_until(&session, Duration::from_secs(15), |p| *p == Probe::Ready)
        .await;
    assert_eq!(ready, Probe::Ready);
    let pid = ide_pid(&session).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let wanted = format!("JUPYTER_PATH={}/jupyter", dir.display());
    assert!(environ.split(|b| *b == 0).any(|e| e == wanted.as_bytes()));
    let cmdline =
        String::from_utf8(std::fs::read(format!("/proc/{pid}/cmdline")).unwrap()).unwrap();
    assert!(
        cmdline.contains(&format!("--extra={}", dir.display())),
        "{cmdline}"
    );
    fx.backend
        .stop(&session, Duration::from_secs(2))
        .await
        .unwrap();
    fx.backend.cleanup(&session).await.unwrap();
}

#[tokio::test]
async fn file_paths_outside_the_session_folder_are_refused_before_anything_runs() {
    let fx_dir = tempfile::tempdir().unwrap();
    let backend =
        LocalBackend::with_cgroups(&fx_dir.path().join("data"), Err("not needed".to_owned()))
            .unwrap();
    let me = atelier_os::Account::current().unwrap();
    let session = support::session_for(&me.name);
    for bad in ["../x", "/etc/x", "a/../../x", "exit.json", "ide.log", ""] {
        let spec = LaunchSpec {
            account: me.clone(),
            program: PathBuf::from("/bin/true"),
            args: vec![],
            env: vec![],
            ready_path: "/".to_owned(),
            supervisor: PathBuf::from("/bin/true"),
            grace: Duration::from_secs(1),
            limits: None,
            files: vec![(PathBuf::from(bad), "x".to_owned())],
            output: OutputMode::Log,
            placement: Default::default(),
        };
        let error = backend.launch(&session, &spec).await.unwrap_err();
        assert!(
            matches!(error, LaunchError::BadFilePath { .. }),
            "{bad}: {error}"
        );
    }
    let sessions = fx_dir.path().join("data/sessions");
    assert_eq!(std::fs::read_dir(sessions).unwrap().count(), 0);
}
