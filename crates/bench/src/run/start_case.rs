//! Case 4: how long a JupyterLab session takes from the request to the
//! first answer of its `/api/status` through the proxy: Atelier, JupyterHub
//! (LocalProcessSpawner, dummy authenticator, configurable-http-proxy) with
//! the same JupyterLab, and JupyterLab started by hand (from exec to its
//! `/api/status` answering). Atelier's overhead is Atelier minus by hand.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use super::peers::wait_session_state;
use super::Bench;
use crate::api::Api;
use crate::client::{Conn, Url};
use crate::procs::{free_port, wait_until, Daemon};
use crate::report::{Case, Check, Row};
use crate::stats::median_ms;

/// How often readiness is polled, the same for all three.
const POLL: Duration = Duration::from_millis(10);
/// A start that takes longer than this failed.
const START_LIMIT: Duration = Duration::from_secs(120);
/// PATH for processes run as the benchmark user.
const USER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A Linux account, from /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) home: PathBuf,
}

/// Finds `name` in a passwd file's text.
pub(crate) fn find_account(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 || fields[0] != name {
            return None;
        }
        Some(Account {
            name: name.to_owned(),
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: PathBuf::from(fields[5]),
        })
    })
}

/// Times `repeats` starts of each, interleaved.
pub(crate) async fn run(bench: &Bench, case: &mut Case) -> anyhow::Result<()> {
    let name = bench.args.required(&bench.args.user, "--user")?;
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    let account = find_account(&passwd, name).with_context(|| format!("no account {name}"))?;
    let hub = Hub::start(bench, &account).await?;
    let repeats = bench.pick(5, 1);
    // One untimed start first: the first JupyterLab after boot reads its
    // files from disk, every later one from the page cache.
    by_hand(bench, &account).await?;
    let (mut hand, mut atelier, mut jupyterhub) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=repeats {
        eprintln!("    round {round} of {repeats}");
        hand.push(by_hand(bench, &account).await?);
        atelier.push(atelier_start(bench).await?);
        jupyterhub.push(hub.spawn().await?);
    }
    let group = format!("JupyterLab ready, median of {repeats}");
    for (who, times) in [
        ("by hand", &hand),
        ("atelier", &atelier),
        ("jupyterhub", &jupyterhub),
    ] {
        case.rows
            .push(Row::value(&group, who, median_ms(times), "ms"));
        let all: Vec<String> = times
            .iter()
            .map(|t| format!("{:.0}", t.as_secs_f64() * 1e3))
            .collect();
        case.notes.push(format!("{who}: {} ms", all.join(", ")));
    }
    let overhead = median_ms(&atelier) - median_ms(&hand);
    case.checks.push(Check {
        target: "session-start overhead (Atelier minus by hand) < 100 ms".to_owned(),
        measured: format!("{overhead:.0} ms"),
        met: overhead < 100.0,
    });
    case.notes.push(
        "By hand: exec of jupyter-lab to /api/status answering on its TCP port. Atelier: POST /api/v1/sessions to /s/<id>/api/status answering through the proxy. JupyterHub: POST /hub/api/users/<user>/server to /user/<user>/api/status answering through configurable-http-proxy. Readiness is polled every 10 ms in all three."
            .to_owned(),
    );
    Ok(())
}

async fn by_hand(bench: &Bench, account: &Account) -> anyhow::Result<Duration> {
    let port = free_port()?;
    let token = atelier_core::SessionId::generate().as_str().to_owned();
    let mut command = Command::new(&bench.args.jupyter_lab);
    command
        .args(["--no-browser", "--ip=127.0.0.1", &format!("--port={port}")])
        .env_clear()
        .env("HOME", &account.home)
        .env("USER", &account.name)
        .env("LANG", "C.UTF-8")
        .env(
            "PATH",
            format!("{}:{USER_PATH}", parent(&bench.args.jupyter_lab)),
        )
        .env("JUPYTER_TOKEN", &token)
        .current_dir(&account.home)
        .uid(account.uid)
        .gid(account.gid);
    let started = Instant::now();
    let _lab = Daemon::spawn("jupyter-lab", command, &bench.work.join("jupyterlab.log"))?;
    let url = Url::parse(&format!("http://127.0.0.1:{port}/api/status"))?;
    wait_ready(&url, &token_header("token", &token)?).await?;
    Ok(started.elapsed())
}

async fn atelier_start(bench: &Bench) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let body = json!({"kind": "jupyterlab", "name": "bench-start"});
    let created = bench
        .atelier
        .expect(Method::POST, "/api/v1/sessions", Some(&body), &[201])
        .await?;
    let id = created["id"].as_str().context("no session id")?.to_owned();
    let url = bench.atelier.base.with_path(&format!("/s/{id}/api/status"));
    wait_ready(&url, &bench.atelier.headers).await?;
    let took = started.elapsed();
    let stop = format!("/api/v1/sessions/{id}/stop");
    bench
        .atelier
        .expect(Method::POST, &stop, Some(&json!({})), &[202])
        .await?;
    wait_session_state(bench, &id, "stopped").await?;
    let path = format!("/api/v1/sessions/{id}");
    bench
        .atelier
        .expect(Method::DELETE, &path, None, &[200, 204])
        .await?;
    Ok(took)
}

/// Polls `url` until it answers 200 with a JSON object.
async fn wait_ready(url: &Url, headers: &HeaderMap) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_LIMIT;
    while Instant::now() < deadline {
        if let Ok(mut conn) = Conn::open(&url.authority).await {
            let request = conn.request(Method::GET, &url.path, headers, bytes::Bytes::new())?;
            if let Ok((status, body)) = conn.send(request).await {
                if status == 200 && body.starts_with(b"{") {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
    anyhow::bail!("{} did not answer within {START_LIMIT:?}", url.to_text())
}

fn token_header(scheme: &str, token: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("{scheme} {token}"))?,
    );
    Ok(headers)
}

fn parent(path: &Path) -> String {
    path.parent()
        .map_or_else(String::new, |p| p.display().to_string())
}

/// A running JupyterHub with a service token that may start, stop and
/// reach the benchmark user's server.
struct Hub {
    api: Api,
    user: String,
    _process: Daemon,
}

impl Hub {
    async fn start(bench: &Bench, account: &Account) -> anyhow::Result<Hub> {
        let venv = bench.args.required(&bench.args.hub, "--hub")?;
        let chp = bench.args.required(&bench.args.chp, "--chp")?;
        let dir = bench.work.join("jupyterhub");
        std::fs::create_dir_all(&dir)?;
        let token = atelier_core::SessionId::generate().as_str().to_owned();
        let port = free_port()?;
        let config = hub_config(&HubConfig {
            dir: &dir,
            venv,
            chp,
            user: &account.name,
            token: &token,
            port,
            hub_port: free_port()?,
            api_port: free_port()?,
        });
        std::fs::write(dir.join("jupyterhub_config.py"), config)?;
        let mut command = Command::new(venv.join("bin/jupyterhub"));
        command
            .args(["-f", "jupyterhub_config.py"])
            .current_dir(&dir)
            .env(
                "PATH",
                format!("{}:{USER_PATH}", venv.join("bin").display()),
            );
        let process = Daemon::spawn("jupyterhub", command, &dir.join("jupyterhub.log"))?;
        let base = Url::parse(&format!("http://127.0.0.1:{port}"))?;
        let api = Api::new(&base, "token", &token)?;
        let probe = api.clone();
        wait_until("JupyterHub to answer", Duration::from_secs(60), || {
            let probe = probe.clone();
            async move {
                matches!(probe.call(Method::GET, "/hub/api/", None).await, Ok((s, _)) if s == 200)
            }
        })
        .await?;
        Ok(Hub {
            api,
            user: account.name.clone(),
            _process: process,
        })
    }

    /// Times one spawn, then stops the server again.
    async fn spawn(&self) -> anyhow::Result<Duration> {
        let server = format!("/hub/api/users/{}/server", self.user);
        let started = Instant::now();
        self.api
            .expect(Method::POST, &server, None, &[201, 202])
            .await?;
        let url = self
            .api
            .base
            .with_path(&format!("/user/{}/api/status", self.user));
        wait_ready(&url, &self.api.headers).await?;
        let took = started.elapsed();
        self.api
            .expect(Method::DELETE, &server, None, &[202, 204])
            .await?;
        let user = format!("/hub/api/users/{}", self.user);
        let api = self.api.clone();
        wait_until("the hub's server to stop", Duration::from_secs(60), || {
            let (api, user) = (api.clone(), user.clone());
            async move {
                match api.call(Method::GET, &user, None).await {
                    Ok((_, value)) => value["server"].is_null() && value["pending"].is_null(),
                    Err(_) => false,
                }
            }
        })
        .await?;
        Ok(took)
    }
}

struct HubConfig<'a> {
    dir: &'a Path,
    venv: &'a Path,
    chp: &'a Path,
    user: &'a str,
    token: &'a str,
    port: u16,
    hub_port: u16,
    api_port: u16,
}

/// JupyterHub as its documentation sets it up on one machine: the dummy
/// authenticator, LocalProcessSpawner (the server runs as the user), and
/// configurable-http-proxy started by the hub.
fn hub_config(c: &HubConfig<'_>) -> String {
    let dir = c.dir.display();
    let venv = c.venv.display();
    format!(
        r#"c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.JupyterHub.db_url = "sqlite:///{dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{dir}/jupyterhub_cookie_secret"
c.JupyterHub.cleanup_servers = True
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = ["{chp}"]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {{"{user}"}}
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = ["{venv}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {{"PATH": "{venv}/bin:{USER_PATH}"}}
c.JupyterHub.services = [{{"name": "bench", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [{{"name": "bench", "services": ["bench"], "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"]}}]
"#,
        port = c.port,
        hub_port = c.hub_port,
        api_port = c.api_port,
        chp = c.chp.display(),
        user = c.user,
        token = c.token,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_read_from_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nab:x:1001:1002::/tmp/w/home:/bin/bash\n";
        let account = find_account(passwd, "ab").unwrap();
        assert_eq!((account.uid, account.gid), (1001, 1002));
        assert_eq!(account.home, PathBuf::from("/tmp/w/home"));
        assert!(find_account(passwd, "a").is_none());
        assert!(find_account("broken:x\n", "broken").is_none());
    }

    #[test]
    fn the_hub_config_names_the_user_the_token_and_the_proxy() {
        let config = hub_config(&HubConfig {
            dir: Path::new("/w/hub"),
            venv: Path::new("/c/hub"),
            chp: Path::new("/c/chp"),
            user: "atbench1",
            token: "t0k",
            port: 1,
            hub_port: 2,
            api_port: 3,
        });
        assert!(config.contains("c.Authenticator.allowed_users = {\"atbench1\"}"));
        assert!(config.contains("\"api_token\": \"t0k\""));
        assert!(config.contains("c.ConfigurableHTTPProxy.command = [\"/c/chp\"]"));
        assert!(config.contains("c.JupyterHub.bind_url = \"http://127.0.0.1:1\""));
        assert!(config.contains("/c/hub/bin/jupyterhub-singleuser"));
    }
}
