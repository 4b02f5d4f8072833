//! PAM against real Linux accounts: each test creates a throwaway user
//! (`atl` + 6 random hex digits) with `useradd` and `chpasswd`, checks it
//! through the `atelier-test` PAM service, and deletes it again with
//! `userdel`, also when the test fails. Must run as root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use atelier_auth::{pam, AuthError, Provider};
use atelier_core::{Role, UserName};

const SERVICE: &str = "atelier-test";
const SERVICE_FILE: &str = "auth required pam_unix.so nodelay\naccount required pam_unix.so\n";

/// useradd and userdel lock /etc/passwd; run one test's account at a time.
static ACCOUNTS: Mutex<()> = Mutex::new(());

/// A Linux account that exists for as long as this value does.
struct TempUser {
    name: String,
    password: String,
    _serial: MutexGuard<'static, ()>,
}

impl TempUser {
    fn create() -> TempUser {
        require_root();
        ensure_service_file();
        let serial = ACCOUNTS.lock().unwrap_or_else(PoisonError::into_inner);
        let name = format!("atl{:06x}", rand::random::<u32>() & 0xff_ffff);
        let password = format!("pw-{:016x}", rand::random::<u64>());
        retry_on_lock(&["useradd", "-M", "-s", "/usr/sbin/nologin", &name]);
        // From here on the guard's Drop deletes the account, even if
        // chpasswd fails below.
        let user = TempUser {
            name,
            password,
            _serial: serial,
        };
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let line = format!("{}:{}\n", user.name, user.password);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
        assert!(
            child.wait().unwrap().success(),
            "chpasswd failed for {}",
            user.name
        );
        user
    }

    fn user_name(&self) -> UserName {
        UserName::parse(&self.name).unwrap()
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let output = run(&["userdel", &self.name]);
        if !output.status.success() {
            eprintln!(
                "userdel {} failed: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// A PAM service file that exists for as long as this value does.
struct TempService(PathBuf);

impl Drop for TempService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn require_root() {
    let uid = run(&["id", "-u"]);
    let uid = String::from_utf8_lossy(&uid.stdout);
    assert_eq!(
        uid.trim(),
        "0",
        "the PAM tests create Linux accounts and must run as root (uid is {}); \
         run `cargo test -p atelier-auth --test pam` as root",
        uid.trim()
    );
}

fn ensure_service_file() {
    let path = Path::new("/etc/pam.d").join(SERVICE);
    if !path.exists() {
        std::fs::write(&path, SERVICE_FILE).unwrap();
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

/// Runs a shadow-utils command, retrying while another process holds the
/// password-file lock (other test suites create accounts too).
fn retry_on_lock(args: &[&str]) {
    for _ in 0..40 {
        let output = run(args);
        if output.status.success() {
            return;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("lock"), "{args:?} failed: {stderr}");
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{args:?}: the password file stayed locked");
}

#[test]
fn right_password_passes_wrong_or_unknown_does_not() {
    let user = TempUser::create();
    assert!(pam::authenticate(SERVICE, &user.name, &user.password).unwrap());
    assert!(!pam::authenticate(SERVICE, &user.name, "not-the-password").unwrap());
    assert!(!pam::authenticate(SERVICE, &user.name, "").unwrap());
    assert!(!pam::authenticate(SERVICE, &user.name, "with\0nul").unwrap());
    assert!(!pam::authenticate(SERVICE, "atlnosuchuser", &user.password).unwrap());
    assert!(!pam::authenticate(SERVICE, "", &user.password).unwrap());
}

#[test]
fn expired_account_is_refused_by_the_account_check() {
    let user = TempUser::create();
    let output = run(&["chage", "-E", "0", &user.name]);
    assert!(
        output.status.success(),
        "chage: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!pam::authenticate(SERVICE, &user.name, &user.password).unwrap());
}

#[test]
fn broken_service_is_an_error_not_a_refusal() {
    let user = TempUser::create();
    let name = format!("atelier-test-broken-{}", user.name);
    let service = TempService(Path::new("/etc/pam.d").join(&name));
    std::fs::write(&service.0, "auth required pam_atelier_does_not_exist.so\n").unwrap();
    let err = pam::authenticate(&name, &user.name, &user.password).unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Pam {
                step: "pam_authenticate",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains(&user.password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pam_provider_gives_admin_only_to_listed_accounts() {
    let user = TempUser::create();
    let name = user.user_name();
    let as_admin = Provider::Pam {
        service: SERVICE.to_owned(),
        admins: vec![name.clone()],
    };
    let as_user = Provider::Pam {
        service: SERVICE.to_owned(),
        admins: vec![UserName::parse("someone-else").unwrap()],
    };
    assert_eq!(
        as_admin.authenticate(&name, &user.password).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        as_user.authenticate(&name, &user.password).await.unwrap(),
        Some(Role::User)
    );
    assert_eq!(
        as_admin
            .authenticate(&name, "wrong-password")
            .await
            .unwrap(),
        None
    );
}
