//! The contenders for the proxy cases: the test upstream on TCP (direct),
//! Atelier (a session of the benchmark kind, the same upstream on a unix
//! socket), nginx and configurable-http-proxy, both in front of the TCP
//! upstream.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use http::{HeaderMap, Method};
use serde_json::json;

use super::Bench;
use crate::client::{Conn, Url};
use crate::procs::{free_port, wait_until, Daemon};

/// One way to reach the upstream.
#[derive(Debug, Clone)]
pub(crate) struct Contender {
    /// `direct`, `atelier`, `nginx`, `chp`.
    pub(crate) name: &'static str,
    /// Server and path prefix (`/s/<id>` for Atelier, empty otherwise).
    pub(crate) base: Url,
    /// Headers every request needs (Atelier's bearer token).
    pub(crate) headers: HeaderMap,
}

impl Contender {
    /// The URL of a page of the upstream (`1k`, `1m`, `ws`).
    pub(crate) fn url(&self, page: &str) -> Url {
        self.base.with_path(&format!("{}/{page}", self.base.path))
    }
}

/// The running peers; stopped when dropped.
pub(crate) struct Peers {
    /// Direct, Atelier, nginx, CHP, in that order.
    pub(crate) contenders: Vec<Contender>,
    /// The Atelier session that serves the upstream.
    pub(crate) session_id: String,
    daemons: Vec<Daemon>,
}

impl Peers {
    /// Starts the TCP upstream, nginx and CHP, and an Atelier session.
    pub(crate) async fn start(bench: &Bench) -> anyhow::Result<Peers> {
        let work = &bench.work;
        let mut daemons = Vec::new();
        let upstream_port = free_port()?;
        let mut upstream = Command::new(std::env::current_exe()?);
        upstream.args(["upstream", "--tcp", &format!("127.0.0.1:{upstream_port}")]);
        daemons.push(Daemon::spawn(
            "upstream",
            upstream,
            &work.join("upstream.log"),
        )?);
        let direct = Url::parse(&format!("http://127.0.0.1:{upstream_port}"))?.with_path("");
        wait_answers(&direct).await?;

        let nginx_port = free_port()?;
        let conf = work.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(work, nginx_port, upstream_port))?;
        let mut nginx = Command::new(&bench.args.nginx);
        nginx.arg("-c").arg(&conf).arg("-p").arg(work);
        daemons.push(Daemon::spawn("nginx", nginx, &work.join("nginx.log"))?);
        let nginx = Url::parse(&format!("http://127.0.0.1:{nginx_port}"))?.with_path("");
        wait_answers(&nginx).await?;

        let chp_port = free_port()?;
        let chp_path = bench.args.required(&bench.args.chp, "--chp")?;
        let mut chp = Command::new(chp_path);
        chp.args(["--ip", "127.0.0.1", "--port", &chp_port.to_string()])
            .args([
                "--api-ip",
                "127.0.0.1",
                "--api-port",
                &free_port()?.to_string(),
            ])
            .args([
                "--default-target",
                &format!("http://127.0.0.1:{upstream_port}"),
            ])
            .args(["--log-level", "error"])
            .env("CONFIGPROXY_AUTH_TOKEN", "atelier-bench-chp");
        daemons.push(Daemon::spawn(
            "configurable-http-proxy",
            chp,
            &work.join("chp.log"),
        )?);
        let chp = Url::parse(&format!("http://127.0.0.1:{chp_port}"))?.with_path("");
        wait_answers(&chp).await?;

        let session_id = start_session(bench).await?;
        let atelier = bench.atelier.base.with_path(&format!("/s/{session_id}"));
        let contenders = vec![
            contender("direct", direct, HeaderMap::new()),
            contender("atelier", atelier, bench.atelier.headers.clone()),
            contender("nginx", nginx, HeaderMap::new()),
            contender("chp", chp, HeaderMap::new()),
        ];
        wait_answers_with(&contenders[1]).await?;
        Ok(Peers {
            contenders,
            session_id,
            daemons,
        })
    }

    /// Fails if a peer has died.
    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        self.daemons.iter_mut().try_for_each(Daemon::check_running)
    }

    /// The contender called `name`.
    pub(crate) fn get(&self, name: &str) -> anyhow::Result<&Contender> {
        self.contenders
            .iter()
            .find(|c| c.name == name)
            .with_context(|| format!("no contender {name}"))
    }
}

fn contender(name: &'static str, base: Url, headers: HeaderMap) -> Contender {
    Contender {
        name,
        base,
        headers,
    }
}

/// Starts a session of the benchmark kind and waits until it runs.
pub(crate) async fn start_session(bench: &Bench) -> anyhow::Result<String> {
    let body = json!({"kind": bench.args.kind, "name": "bench-upstream"});
    let created = bench
        .atelier
        .expect(Method::POST, "/api/v1/sessions", Some(&body), &[201])
        .await?;
    let id = created["id"]
        .as_str()
        .context("the new session has no id")?
        .to_owned();
    wait_session_state(bench, &id, "running").await?;
    Ok(id)
}

/// Polls a session until it is in `wanted` (fails if it ends otherwise).
pub(crate) async fn wait_session_state(
    bench: &Bench,
    id: &str,
    wanted: &str,
) -> anyhow::Result<()> {
    let path = format!("/api/v1/sessions/{id}");
    for _ in 0..600 {
        let session = bench
            .atelier
            .expect(Method::GET, &path, None, &[200])
            .await?;
        let state = session["state"].as_str().unwrap_or("");
        if state == wanted {
            return Ok(());
        }
        if ["stopped", "failed", "lost"].contains(&state) {
            anyhow::bail!("session {id} is {state}: {}", session["error"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("session {id} did not become {wanted} in 60 s")
}

async fn wait_answers(base: &Url) -> anyhow::Result<()> {
    let url = base.with_path(&format!("{}/1k", base.path));
    wait_until(&url.to_text(), Duration::from_secs(20), || {
        get_ok(&url, HeaderMap::new())
    })
    .await
}

async fn wait_answers_with(contender: &Contender) -> anyhow::Result<()> {
    let url = contender.url("1k");
    let headers = contender.headers.clone();
    wait_until(&url.to_text(), Duration::from_secs(20), || {
        get_ok(&url, headers.clone())
    })
    .await
}

async fn get_ok(url: &Url, headers: HeaderMap) -> bool {
    let Ok(mut conn) = Conn::open(&url.authority).await else {
        return false;
    };
    let Ok(request) = conn.request(Method::GET, &url.path, &headers, bytes::Bytes::new()) else {
        return false;
    };
    matches!(conn.send(request).await, Ok((status, _)) if status.is_success())
}

/// nginx as a reverse proxy in the way its documentation recommends for
/// this: keep-alive to the upstream, WebSocket upgrades passed through,
/// no access log (Atelier keeps none either). Answers are buffered in
/// memory only (`proxy_max_temp_file_size 0`): by default nginx spools a
/// 1 MB answer to a temporary file, a disk write Atelier and CHP do not make.
fn nginx_conf(work: &std::path::Path, port: u16, upstream: u16) -> String {
    let work = work.display();
    format!(
        r#"daemon off;
master_process on;
user root;
worker_processes auto;
worker_rlimit_nofile 20000;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 10000; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    upstream bench {{ server 127.0.0.1:{upstream}; keepalive 256; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contender_urls_keep_the_session_prefix() {
        let base = Url::parse("http://127.0.0.1:8787/s/abc").unwrap();
        let atelier = contender("atelier", base, HeaderMap::new());
        assert_eq!(
            atelier.url("1k").to_text(),
            "http://127.0.0.1:8787/s/abc/1k"
        );
        let direct = contender(
            "direct",
            Url::parse("http://h:1").unwrap().with_path(""),
            HeaderMap::new(),
        );
        assert_eq!(direct.url("ws").path, "/ws");
    }

    #[test]
    fn nginx_config_proxies_to_the_upstream_with_keepalive() {
        let conf = nginx_conf(std::path::Path::new("/tmp/w"), 8080, 9090);
        assert!(conf.contains("listen 127.0.0.1:8080;"));
        assert!(conf.contains("server 127.0.0.1:9090; keepalive 256;"));
        assert!(conf.contains("pid /tmp/w/nginx.pid;"));
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }
}
