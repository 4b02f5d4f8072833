//! `atelier job …`: submit, list, follow and cancel background jobs through
//! the REST API (`--server`/`ATELIER_SERVER`, `ATELIER_TOKEN`). Inside a
//! session both variables are already set, so `atelier job submit` works
//! there as the session's user.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Subcommand;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

use crate::choices::Choices;
use crate::client::{call, Api};

/// `atelier job …`
#[derive(Subcommand)]
pub(crate) enum JobCommand {
    /// Submits a job: `atelier job submit train.py -- --epochs 3`, or
    /// `atelier job submit --command -- /usr/bin/make all`.
    Submit {
        #[command(flatten)]
        api: Api,
        /// The script to run (.py with Python, .R with R, .sh with bash, else run directly).
        script: Option<String>,
        /// Arguments of the script, or with --command the program and its arguments.
        #[arg(last = true)]
        rest: Vec<String>,
        /// Run the program and arguments after `--` instead of a script.
        #[arg(long)]
        command: bool,
        /// Job name.
        #[arg(long)]
        name: Option<String>,
        /// Working directory [default: the current one].
        #[arg(long)]
        workdir: Option<String>,
        /// Environment addition, KEY=VALUE (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        #[command(flatten)]
        choices: Choices,
        /// Follow the output until the job ends, and exit with its exit code.
        #[arg(long)]
        wait: bool,
    },
    /// Lists your jobs.
    List {
        #[command(flatten)]
        api: Api,
        /// Only jobs in this state.
        #[arg(long)]
        state: Option<String>,
        /// Only jobs whose name contains this.
        #[arg(long)]
        name: Option<String>,
        /// Administrators: everyone's jobs.
        #[arg(long)]
        all: bool,
    },
    /// Prints a job's output.
    Logs {
        #[command(flatten)]
        api: Api,
        /// Job id.
        id: String,
        /// Keep printing output as it is written, until the job ends.
        #[arg(short, long)]
        follow: bool,
        /// combined, stdout or stderr.
        #[arg(long, default_value = "combined")]
        stream: String,
    },
    /// Cancels a job.
    Cancel {
        #[command(flatten)]
        api: Api,
        /// Job id.
        id: String,
    },
}

pub(crate) fn run(command: JobCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(execute(command))
}

async fn execute(command: JobCommand) -> anyhow::Result<()> {
    match command {
        JobCommand::Submit {
            api,
            script,
            rest,
            command,
            name,
            workdir,
            env,
            choices,
            wait,
        } => {
            let body = submit_body(script, rest, command, name, workdir, env, choices)?;
            let job = call(&api, Method::POST, "/api/v1/jobs", Some(body)).await?;
            let id = job["id"].as_str().unwrap_or_default().to_owned();
            if !wait {
                println!("{id} {}", job["state"].as_str().unwrap_or(""));
                return Ok(());
            }
            eprintln!("job {id} submitted; following its output");
            follow(&api, &id, "combined").await?;
            let done = call(&api, Method::GET, &format!("/api/v1/jobs/{id}"), None).await?;
            finish(&done)
        }
        JobCommand::List {
            api,
            state,
            name,
            all,
        } => {
            let mut query = vec![];
            if let Some(state) = state {
                query.push(format!("state={state}"))
            }
            if let Some(name) = name {
                query.push(format!("name={}", encode(&name)))
            }
            if all {
                query.push("all=true".to_owned())
            }
            let list = call(
                &api,
                Method::GET,
                &format!("/api/v1/jobs?{}", query.join("&")),
                None,
            )
            .await?;
            print_table(list["jobs"].as_array().map_or(&[][..], Vec::as_slice));
            Ok(())
        }
        JobCommand::Logs {
            api,
            id,
            follow: true,
            stream,
        } => follow(&api, &id, &stream).await,
        JobCommand::Logs {
            api,
            id,
            follow: false,
            stream,
        } => {
            let path = format!("/api/v1/jobs/{id}/output?stream={stream}");
            stream_to_stdout(&api, &path).await
        }
        JobCommand::Cancel { api, id } => {
            let job = call(
                &api,
                Method::POST,
                &format!("/api/v1/jobs/{id}/cancel"),
                None,
            )
            .await?;
            println!(
                "{} {}",
                job["id"].as_str().unwrap_or(""),
                job["state"].as_str().unwrap_or("")
            );
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)] // one per command-line option
fn submit_body(
    script: Option<String>,
    rest: Vec<String>,
    command: bool,
    name: Option<String>,
    workdir: Option<String>,
    env: Vec<String>,
    choices: Choices,
) -> anyhow::Result<Value> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let mut body = Map::new();
    match (command, script) {
        (true, Some(_)) => bail!("with --command, give the program after `--`, not as a script"),
        (true, None) if rest.is_empty() => bail!("--command needs a program after `--`"),
        (true, None) => {
            body.insert("command".into(), json!(rest));
        }
        (false, None) => bail!("give a script to run, or --command -- PROGRAM ARGS"),
        (false, Some(script)) => {
            let absolute = cwd.join(Path::new(&script));
            body.insert("script".into(), json!(absolute.display().to_string()));
            body.insert("args".into(), json!(rest));
        }
    }
    let workdir = workdir.map_or_else(
        || cwd.display().to_string(),
        |w| cwd.join(w).display().to_string(),
    );
    body.insert("workdir".into(), json!(workdir));
    let mut vars = Map::new();
    for pair in env {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--env {pair:?}: write KEY=VALUE")
        };
        vars.insert(key.to_owned(), json!(value));
    }
    body.insert("env".into(), Value::Object(vars));
    if let Some(name) = name {
        body.insert("name".into(), json!(name));
    }
    choices.add_to(&mut body);
    Ok(Value::Object(body))
}

fn finish(job: &Value) -> anyhow::Result<()> {
    let state = job["state"].as_str().unwrap_or("");
    eprintln!(
        "job {} {state}{}",
        job["id"].as_str().unwrap_or(""),
        job["error"]
            .as_str()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    match job["exit_code"].as_i64() {
        Some(0) if state == "finished" => Ok(()),
        Some(code) => std::process::exit(i32::try_from(code).unwrap_or(1).clamp(1, 255)),
        None => bail!("the job did not finish ({state})"),
    }
}

/// Prints the output as it is written; returns when the job has ended.
async fn follow(api: &Api, id: &str, stream: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/jobs/{id}/output?follow=true&stream={stream}");
    stream_to_stdout(api, &path).await
}

async fn stream_to_stdout(api: &Api, path: &str) -> anyhow::Result<()> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let url = format!("{}{path}", api.server.trim_end_matches('/'));
    let request = Request::builder()
        .method(Method::GET)
        .uri(&url)
        .header("authorization", format!("Bearer {}", api.token))
        .body(Full::new(Bytes::new()))?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("connecting to {}", api.server))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let bytes = body.collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        bail!(
            "{status}: {}",
            value["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    let mut stdout = std::io::stdout();
    while let Some(frame) =
        tokio::time::timeout(Duration::from_secs(24 * 3600), body.frame()).await?
    {
        if let Ok(data) = frame?.into_data() {
            stdout.write_all(&data)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

fn print_table(jobs: &[Value]) {
    println!(
        "{:<32}  {:<9}  {:>4}  {:<24}  NAME",
        "ID", "STATE", "EXIT", "CREATED"
    );
    for job in jobs {
        let field = |key: &str| job[key].as_str().unwrap_or("-").to_owned();
        let exit = job["exit_code"]
            .as_i64()
            .map_or("-".to_owned(), |c| c.to_string());
        println!(
            "{:<32}  {:<9}  {:>4}  {:<24}  {}",
            field("id"),
            field("state"),
            exit,
            field("created_at"),
            field("name")
        );
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
