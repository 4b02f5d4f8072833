//! `atelier session …`: a client of the REST API. The server comes from
//! `--server` or `ATELIER_SERVER`, the token from `ATELIER_TOKEN`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

use crate::choices::Choices;

/// `atelier session …`
#[derive(Subcommand)]
pub(crate) enum SessionCommand {
    /// Lists your sessions.
    List {
        #[command(flatten)]
        api: Api,
        /// Administrators: everyone's sessions.
        #[arg(long)]
        all: bool,
    },
    /// Starts a session and prints its id and URL.
    Start {
        #[command(flatten)]
        api: Api,
        /// Session kind.
        #[arg(long, default_value = "jupyterlab")]
        kind: String,
        /// Session name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        choices: Choices,
        /// Wait until it is running (or has failed).
        #[arg(long)]
        wait: bool,
    },
    /// Stops a session.
    Stop {
        #[command(flatten)]
        api: Api,
        /// Session id.
        id: String,
        /// Wait until it has stopped.
        #[arg(long)]
        wait: bool,
    },
    /// Prints the last lines of a session's IDE output.
    Logs {
        #[command(flatten)]
        api: Api,
        /// Session id.
        id: String,
    },
}

/// How to reach the API.
#[derive(Args)]
pub(crate) struct Api {
    /// Server URL (http only).
    #[arg(long, env = "ATELIER_SERVER", default_value = "http://127.0.0.1:8787")]
    pub(crate) server: String,
    /// API token (`atelier token create`).
    #[arg(long, env = "ATELIER_TOKEN", hide_env_values = true)]
    pub(crate) token: String,
}

pub(crate) fn run(command: SessionCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(execute(command))
}

async fn execute(command: SessionCommand) -> anyhow::Result<()> {
    match command {
        SessionCommand::List { api, all } => {
            let path = if all {
                "/api/v1/sessions?all=true"
            } else {
                "/api/v1/sessions"
            };
            let list = call(&api, Method::GET, path, None).await?;
            print_table(list["sessions"].as_array().map_or(&[][..], Vec::as_slice));
        }
        SessionCommand::Start {
            api,
            kind,
            name,
            choices,
            wait,
        } => {
            let mut body = Map::new();
            body.insert("kind".into(), json!(kind));
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            choices.add_to(&mut body);
            let body = Value::Object(body);
            let mut session = call(&api, Method::POST, "/api/v1/sessions", Some(body)).await?;
            if wait {
                session =
                    wait_for(&api, &session, &["running", "failed", "stopped", "lost"]).await?;
            }
            report(&api, &session)?;
        }
        SessionCommand::Stop { api, id, wait } => {
            let mut session = call(
                &api,
                Method::POST,
                &format!("/api/v1/sessions/{id}/stop"),
                None,
            )
            .await?;
            if wait {
                session = wait_for(&api, &session, &["stopped", "failed", "lost"]).await?;
            }
            println!(
                "{} {}",
                session["id"].as_str().unwrap_or(""),
                session["state"].as_str().unwrap_or("")
            );
        }
        SessionCommand::Logs { api, id } => {
            let log = call(
                &api,
                Method::GET,
                &format!("/api/v1/sessions/{id}/log"),
                None,
            )
            .await?;
            print!("{}", log["log"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}

fn report(api: &Api, session: &Value) -> anyhow::Result<()> {
    let state = session["state"].as_str().unwrap_or("");
    println!(
        "{} {state} {}{}",
        session["id"].as_str().unwrap_or(""),
        api.server.trim_end_matches('/'),
        session["url"].as_str().unwrap_or("")
    );
    if state == "failed" {
        bail!(
            "the session failed: {}",
            session["error"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(())
}

async fn wait_for(api: &Api, session: &Value, states: &[&str]) -> anyhow::Result<Value> {
    let id = session["id"]
        .as_str()
        .context("the server answered without a session id")?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let current = call(api, Method::GET, &format!("/api/v1/sessions/{id}"), None).await?;
        if states.contains(&current["state"].as_str().unwrap_or("")) {
            return Ok(current);
        }
        if Instant::now() > deadline {
            bail!("session {id} is still {} after 5 minutes", current["state"]);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn print_table(sessions: &[Value]) {
    println!(
        "{:<32}  {:<10}  {:<10}  {:<8}  {:<24}  NAME",
        "ID", "KIND", "STATE", "USER", "CREATED"
    );
    for s in sessions {
        let field = |key: &str| s[key].as_str().unwrap_or("-").to_owned();
        println!(
            "{:<32}  {:<10}  {:<10}  {:<8}  {:<24}  {}",
            field("id"),
            field("kind"),
            field("state"),
            field("user"),
            field("created_at"),
            field("name")
        );
    }
}

/// One API call; a non-2xx answer becomes an error with the server's message.
pub(crate) async fn call(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    if !api.server.starts_with("http://") {
        bail!("--server must be an http:// URL (this client does not speak HTTPS yet)");
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let url = format!("{}{path}", api.server.trim_end_matches('/'));
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let request = Request::builder()
        .method(method)
        .uri(&url)
        .header("authorization", format!("Bearer {}", api.token))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(payload)))?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("connecting to {}", api.server))?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    let value: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    if !status.is_success() {
        let message = value["error"]["message"].as_str().unwrap_or("no message");
        bail!("{status}: {message}");
    }
    Ok(value)
}
