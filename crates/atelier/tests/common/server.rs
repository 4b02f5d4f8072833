//! A real `atelier serve` process for one test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{Client, TestUser};

/// A running server with its own data folder, port and users file.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub config: PathBuf,
    child: Option<Child>,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_atelier")
}

impl Server {
    /// Starts a server with the users-file provider; `admins` and `users`
    /// are added to its users file. `extra` is appended to the config.
    pub async fn start(admins: &[&TestUser], users: &[&TestUser], extra: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        // Session users must reach their folder under the data dir.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let port = free_port();
        let config = dir.path().join("atelier.toml");
        let text = format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n[auth]\nprovider = \"users-file\"\n[sessions]\nstop_grace_secs = 3\n{extra}",
            dir.path().join("data").display()
        );
        std::fs::write(&config, text).unwrap();
        let server = Server {
            dir,
            port,
            config,
            child: None,
        };
        for (user, admin) in admins
            .iter()
            .map(|u| (u, true))
            .chain(users.iter().map(|u| (u, false)))
        {
            server.add_user(&user.name, &user.password, admin);
        }
        server.spawned().await
    }

    /// `atelier user add` into this server's users file.
    pub fn add_user(&self, name: &str, password: &str, admin: bool) {
        let mut command = Command::new(binary());
        command
            .args(["user", "add", name, "--password-stdin", "--config"])
            .arg(&self.config);
        if admin {
            command.arg("--admin");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            format!("{password}\n").as_bytes(),
        )
        .unwrap();
        assert!(child.wait().unwrap().success(), "user add {name} failed");
    }

    /// Runs an `atelier` subcommand with this server's config; returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let output = Command::new(binary())
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (
            output.status.success(),
            text(&output.stdout),
            text(&output.stderr),
        )
    }

    /// A new API token for `user`.
    pub fn token(&self, user: &str) -> String {
        let config = self.config.to_str().unwrap();
        let (ok, out, err) = self.cli(
            &["token", "create", "--user", user, "--config", config],
            &[],
        );
        assert!(ok, "token create failed: {err}");
        out.trim().to_owned()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL (sessions keep running).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts the server again on the same folder and port.
    pub async fn restart(mut self) -> Server {
        self.kill9();
        self.spawned().await
    }

    async fn spawned(mut self) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(binary())
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("ATELIER_LOG", "info,atelier=debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_healthy(&self.client(), &self.log_path()).await;
        self
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(client: &Client, log: &Path) {
    let address = client.base.trim_start_matches("http://").to_owned();
    for _ in 0..150 {
        if tokio::net::TcpStream::connect(&address).await.is_ok()
            && client.get("/health-check").await.status == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the server did not become healthy; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}
