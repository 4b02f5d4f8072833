//! Shared fixtures of the launcher's integration tests: a throw-away Linux
//! user, a fake IDE written in Python, the supervisor binary, sessions.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use atelier_core::{Session, SessionId, SessionKind, SessionState, Timestamp, UserName};
use atelier_launcher::{Backend, Cgroups, LaunchSpec, LocalBackend, OutputMode, Probe};
use atelier_os::process::ProcessInfo;
use atelier_os::Account;

/// useradd and userdel lock /etc/passwd: one at a time.
static ACCOUNTS: Mutex<()> = Mutex::new(());

/// A fake IDE: serves HTTP on a unix socket, 200 only with the right token,
/// after starting a grandchild in its own session (as a Jupyter kernel does).
/// In mode `hog` it also starts a child that allocates 500M (as a greedy
/// kernel would) and reports how that ended in the log.
const FAKE_IDE: &str = r#"
import http.server, os, socketserver, subprocess, sys, time
sock_path, ready_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
token = os.environ["JUPYTER_TOKEN"]
print("fake ide starting", flush=True)
if mode == "exit3":
    sys.exit(3)
subprocess.Popen(["/bin/sleep", "1000"], start_new_session=True)
if mode == "hog":
    hog = subprocess.Popen([sys.executable, "-c", "b = bytearray(500*1024*1024); import time; time.sleep(100)"])
    print("fake ide hog ended:", hog.wait(), flush=True)
time.sleep(0.5)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == ready_path and self.headers.get("Authorization") == "token " + token
        self.send_response(200 if ok else 403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

class Server(socketserver.UnixStreamServer):
    def get_request(self):
        request, _ = self.socket.accept()
        return request, ("local", 0)

server = Server(sock_path, Handler)
os.chmod(sock_path, 0o600)
print("fake ide listening", flush=True)
server.serve_forever()
"#;

/// True when running as root; otherwise says the test is skipped.
pub(crate) fn require_root() -> bool {
    let root = atelier_os::is_root();
    if !root {
        eprintln!("skipped: this test creates users and switches to them, which needs root");
    }
    root
}

/// The supervisor example binary, which `cargo test -p atelier-launcher` builds.
pub(crate) fn supervisor_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = debug.join("examples").join("supervisor");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p atelier-launcher --example supervisor`",
        path.display()
    );
    path
}

/// A Linux user created for one test, removed (with its home) on drop.
pub(crate) struct TestUser {
    pub(crate) account: Account,
}

impl TestUser {
    pub(crate) fn create() -> TestUser {
        let name = format!("atl{}", &SessionId::generate().as_str()[..10]);
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let status = Command::new("useradd")
            .args(["-m", "-G", "users", "-s", "/bin/sh", &name])
            .status()
            .expect("useradd runs");
        assert!(status.success(), "useradd {name} failed");
        let account = Account::lookup(&name)
            .unwrap()
            .expect("the new user exists");
        TestUser { account }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Processes a failed test left behind: ours, found by their uid.
        for pid in uid_pids(self.account.uid) {
            let _ = atelier_os::signal::kill(pid, atelier_os::Signal::Kill);
        }
        std::thread::sleep(Duration::from_millis(100));
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel")
            .args(["-r", &self.account.name])
            .output();
    }
}

/// Live processes whose real uid is `uid`.
fn uid_pids(uid: u32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| ProcessInfo::read(*pid).is_some_and(|p| p.uid == uid && !p.zombie))
        .collect()
}

/// A user, a backend on a fresh data folder, and the fake IDE.
pub(crate) struct Fixture {
    pub(crate) user: TestUser,
    pub(crate) backend: LocalBackend,
    pub(crate) dir: tempfile::TempDir,
    script: PathBuf,
    supervisor: PathBuf,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        Self::build(None)
    }

    /// A fixture whose backend uses these cgroups, or none for this reason.
    pub(crate) fn with_cgroups(cgroups: Result<Cgroups, String>) -> Fixture {
        Self::build(Some(cgroups))
    }

    fn build(cgroups: Option<Result<Cgroups, String>>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        let script = dir.path().join("ide.py");
        std::fs::write(&script, FAKE_IDE).unwrap();
        set_mode(&script, 0o644);
        // The build folder may not be reachable by the test user: copy the binary.
        let supervisor = dir.path().join("supervisor");
        std::fs::copy(supervisor_binary(), &supervisor).unwrap();
        set_mode(&supervisor, 0o755);
        let data = dir.path().join("data");
        let backend = match cgroups {
            None => LocalBackend::new(&data).unwrap(),
            Some(cgroups) => LocalBackend::with_cgroups(&data, cgroups).unwrap(),
        };
        Fixture {
            user: TestUser::create(),
            backend,
            dir,
            script,
            supervisor,
        }
    }

    /// A new session record for the fixture's user.
    pub(crate) fn session(&self) -> Session {
        session_for(&self.user.account.name)
    }

    /// What to run: the fake IDE in `mode` (`serve` or `exit3`).
    pub(crate) fn spec(&self, session: &Session, mode: &str) -> LaunchSpec {
        let ready_path = format!("/s/{}/api/status", session.id);
        LaunchSpec {
            account: self.user.account.clone(),
            program: PathBuf::from("/usr/bin/python3"),
            args: vec![
                self.script.to_string_lossy().into_owned(),
                "{socket}".to_owned(),
                ready_path.clone(),
                mode.to_owned(),
            ],
            env: vec![("JUPYTER_TOKEN".to_owned(), session.secret.clone())],
            ready_path,
            supervisor: self.supervisor.clone(),
            grace: Duration::from_secs(2),
            limits: None,
            files: Vec::new(),
            output: OutputMode::Log,
            placement: Default::default(),
        }
    }

    /// Launches the fake IDE and stores the handle in the session.
    pub(crate) async fn launch(&self, mode: &str) -> Session {
        let mut session = self.session();
        let handle = self
            .backend
            .launch(&session, &self.spec(&session, mode))
            .await
            .unwrap();
        session.handle = Some(handle);
        session
    }

    /// Probes until `want` holds or `limit` passes; the last probe.
    pub(crate) async fn probe_until(
        &self,
        session: &Session,
        limit: Duration,
        want: impl Fn(&Probe) -> bool,
    ) -> Probe {
        let deadline = Instant::now() + limit;
        loop {
            let probe = self.backend.probe(session).await;
            if want(&probe) || Instant::now() > deadline {
                return probe;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The value of a field of the session's handle.
pub(crate) fn handle_field(session: &Session, field: &str) -> serde_json::Value {
    let handle: serde_json::Value =
        serde_json::from_str(session.handle.as_deref().unwrap()).unwrap();
    handle[field].clone()
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A new session record owned by `user`, with a random secret.
pub(crate) fn session_for(user: &str) -> Session {
    Session {
        id: SessionId::generate(),
        user: UserName::parse(user).unwrap(),
        kind: SessionKind::parse("jupyterlab").unwrap(),
        name: "test".to_owned(),
        state: SessionState::Pending,
        node: None,
        cluster: "local".to_owned(),
        python: None,
        r: None,
        profile: None,
        created_at: Timestamp::now(),
        started_at: None,
        last_active_at: None,
        ended_at: None,
        error: None,
        exit_code: None,
        secret: SessionId::generate().to_string(),
        handle: None,
    }
}
