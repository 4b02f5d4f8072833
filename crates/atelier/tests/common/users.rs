//! Real Linux accounts for tests, removed (with their processes) on drop.

use std::process::Command;

use rand::Rng;

/// A Linux account that exists for the life of the value.
pub struct TestUser {
    pub name: String,
    pub password: String,
    pub uid: u32,
}

impl TestUser {
    /// Creates `atl<6 hex>` with a home folder (0700) and a password.
    pub fn create() -> TestUser {
        assert!(
            atelier_os::is_root(),
            "the integration tests run as root (they create users); run scripts/test.sh as root"
        );
        let name = format!("atl{:06x}", rand::thread_rng().gen::<u32>() & 0xff_ffff);
        let password = format!("pw-{:08x}", rand::thread_rng().gen::<u32>());
        run_retrying(&["useradd", "-m", "-s", "/bin/bash", &name]);
        let home = format!("/home/{name}");
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut chpasswd = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            chpasswd.stdin.as_mut().unwrap(),
            format!("{name}:{password}\n").as_bytes(),
        )
        .unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
        let uid = atelier_os::Account::lookup(&name).unwrap().unwrap().uid;
        TestUser {
            name,
            password,
            uid,
        }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-9", "-u", &self.name])
            .status();
        std::thread::sleep(std::time::Duration::from_millis(100));
        run_retrying(&["userdel", "-r", &self.name]);
    }
}

/// useradd/userdel fail while another test holds /etc/passwd's lock: retry.
fn run_retrying(argv: &[&str]) {
    for _ in 0..50 {
        let output = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
        if output.status.success() {
            return;
        }
        let error = String::from_utf8_lossy(&output.stderr);
        if !error.contains("lock") {
            // userdel -r complains about a missing mail spool; that is fine.
            if argv[0] == "userdel" {
                return;
            }
            panic!("{argv:?} failed: {error}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{argv:?} kept failing on the passwd lock");
}
