//! A throwaway PostgreSQL cluster for one test, which the test may stop and
//! start again (the shared server on port 5432 must never be stopped).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's `postgresql-15` puts its programs (scripts/test-env.sh installs it).
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A cluster in a temporary folder, run as `postgres`, stopped on drop.
pub struct Cluster {
    dir: tempfile::TempDir,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
}

impl Cluster {
    /// `initdb -A trust` into a new folder, then starts it on a free port.
    pub fn start() -> Cluster {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "{BIN}/initdb is missing; run scripts/test-env.sh (it installs PostgreSQL 15)"
        );
        let dir = tempfile::tempdir().unwrap();
        let account = atelier_os::Account::lookup("postgres")
            .unwrap()
            .expect("the postgres account; run scripts/test-env.sh");
        std::os::unix::fs::chown(dir.path(), Some(account.uid), Some(account.gid)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster { dir, port };
        let data = cluster.data();
        cluster.as_postgres(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D", &data],
        );
        cluster.resume();
        cluster
    }

    /// `postgres://` URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start -w`: returns once the cluster accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        let (data, log) = (self.data(), log.to_str().unwrap().to_owned());
        self.as_postgres(
            "pg_ctl",
            &["start", "-w", "-D", &data, "-l", &log, "-o", &options],
        );
    }

    /// `pg_ctl stop -m fast`: every connection is cut at once.
    pub fn halt(&self) {
        self.as_postgres("pg_ctl", &["stop", "-w", "-m", "fast", "-D", &self.data()]);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_owned()
    }

    fn as_postgres(&self, program: &str, args: &[&str]) {
        let program: PathBuf = Path::new(BIN).join(program);
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(BIN).join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D", &data])
            .output();
    }
}
