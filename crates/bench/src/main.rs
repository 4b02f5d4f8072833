//! `atelier-bench`: Atelier's proxy and server measured against a direct
//! connection, nginx, configurable-http-proxy and JupyterHub, in one run on
//! one machine. `scripts/bench.sh` installs the peers and runs `run`; the
//! other subcommands are the pieces (the test upstream, the load
//! generators), usable by hand. See docs/benchmarks.md.

mod api;
mod client;
mod load;
mod procs;
mod report;
mod run;
mod stats;
mod upstream;
mod ws;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use http::HeaderMap;

use crate::client::{parse_header, Url};
use crate::load::{Load, Pace};

/// Benchmarks for Atelier.
#[derive(Debug, Parser)]
#[command(name = "atelier-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start; boxing buys nothing
enum Command {
    /// The test upstream: `/1k`, `/1m`, `/ws` (echo), anything else `200 ok`.
    Upstream {
        /// TCP address to listen on, e.g. 127.0.0.1:9000.
        #[arg(long)]
        tcp: Option<String>,
        /// Unix socket to listen on (Atelier's `{socket}`).
        #[arg(long)]
        unix: Option<PathBuf>,
    },
    /// HTTP load: closed loop (saturation) or open loop at a fixed rate.
    Http(HttpArgs),
    /// WebSocket echo round trips at saturation.
    WsEcho {
        #[command(flatten)]
        target: Target,
        /// Sockets at once.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Message size in bytes.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
    },
    /// Opens N idle WebSockets and holds them.
    WsIdle {
        #[command(flatten)]
        target: Target,
        /// Sockets to open.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Seconds to hold them before closing.
        #[arg(long, default_value_t = 30.0)]
        hold: f64,
    },
    /// Runs every case and writes results/<timestamp>/bench.{json,svg}.
    Run(run::RunArgs),
}

/// Where load goes.
#[derive(Debug, Args)]
struct Target {
    /// `http://host:port/path`.
    #[arg(long)]
    url: String,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
}

impl Target {
    fn parse(&self) -> anyhow::Result<(Url, HeaderMap)> {
        let mut headers = HeaderMap::new();
        for text in &self.headers {
            let (name, value) = parse_header(text)?;
            headers.append(name, value);
        }
        Ok((Url::parse(&self.url)?, headers))
    }
}

#[derive(Debug, Args)]
struct HttpArgs {
    #[command(flatten)]
    target: Target,
    /// Connections at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Open loop at this many requests per second in total.
    #[arg(long, conflicts_with = "closed")]
    rate: Option<f64>,
    /// Closed loop: back to back on every connection (the default).
    #[arg(long)]
    closed: bool,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// An answer of another length counts as an error.
    #[arg(long)]
    expect_len: Option<usize>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

impl HttpArgs {
    fn load(&self) -> anyhow::Result<Load> {
        let (url, headers) = self.target.parse()?;
        anyhow::ensure!(self.connections > 0, "--connections must be at least 1");
        anyhow::ensure!(self.rate.is_none_or(|r| r > 0.0), "--rate must be positive");
        Ok(Load {
            url,
            headers,
            connections: self.connections,
            pace: self.rate.map_or(Pace::Closed, Pace::Open),
            warmup: seconds(self.warmup)?,
            duration: seconds(self.duration)?,
            expect_len: self.expect_len,
        })
    }
}

fn seconds(value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| anyhow::anyhow!("{value} is not a duration"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Upstream { tcp, unix } => upstream::serve(tcp, unix).await,
        Command::Http(args) => {
            let summary = load::run(args.load()?).await;
            if args.json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!(
                    "{:.0} req/s, p50 {} us, p99 {} us, max {} us, {} errors",
                    summary.per_second,
                    summary.p50_us,
                    summary.p99_us,
                    summary.max_us,
                    summary.errors
                );
            }
            Ok(())
        }
        Command::WsEcho {
            target,
            connections,
            size,
            duration,
        } => {
            let (url, headers) = target.parse()?;
            let summary = ws::echo(ws::Echo {
                url,
                headers,
                connections,
                size,
                warmup: Duration::from_millis(500),
                duration: seconds(duration)?,
            })
            .await;
            println!(
                "{:.0} messages/s, round trip p50 {} us, p99 {} us, {} errors",
                summary.per_second, summary.p50_us, summary.p99_us, summary.errors
            );
            Ok(())
        }
        Command::WsIdle {
            target,
            count,
            hold,
        } => {
            let (url, headers) = target.parse()?;
            let (mut sockets, failed) = ws::open_idle(&url, &headers, count, 100).await;
            println!("open {} failed {failed}", sockets.len());
            tokio::time::sleep(seconds(hold)?).await;
            let answered = ws::still_echo(&mut sockets, 100).await;
            println!("{answered} of the sampled sockets still echo");
            Ok(())
        }
        Command::Run(args) => run::main(args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("atelier-bench").chain(args.iter().copied()))
    }

    #[test]
    fn http_arguments_make_an_open_or_closed_load() {
        let cli = parse(&[
            "http",
            "--url",
            "http://127.0.0.1:9/1k",
            "--connections",
            "8",
            "--rate",
            "500",
            "--duration",
            "2",
            "--header",
            "Authorization: Bearer x",
        ])
        .unwrap();
        let Command::Http(args) = cli.command else {
            panic!("not http")
        };
        let load = args.load().unwrap();
        assert_eq!(load.pace, Pace::Open(500.0));
        assert_eq!(load.connections, 8);
        assert_eq!(load.duration, Duration::from_secs(2));
        assert_eq!(load.headers["authorization"], "Bearer x");
        let Command::Http(closed) = parse(&["http", "--url", "http://h:1/", "--closed"])
            .unwrap()
            .command
        else {
            panic!("not http")
        };
        assert_eq!(closed.load().unwrap().pace, Pace::Closed);
    }

    #[test]
    fn rate_and_closed_conflict_and_bad_values_are_refused() {
        assert!(parse(&["http", "--url", "http://h:1/", "--rate", "5", "--closed"]).is_err());
        let Command::Http(zero) = parse(&["http", "--url", "http://h:1/", "--connections", "0"])
            .unwrap()
            .command
        else {
            panic!("not http")
        };
        assert!(zero.load().is_err());
        let Command::Http(bad) = parse(&["http", "--url", "ftp://h/"]).unwrap().command else {
            panic!("not http")
        };
        assert!(bad.load().is_err());
    }

    #[test]
    fn upstream_and_run_parse() {
        assert!(parse(&["upstream", "--unix", "/tmp/s.sock"]).is_ok());
        let cli = parse(&["run", "--short", "--cases", "http,ws"]).unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert!(run.short);
        assert_eq!(
            run.cases().unwrap(),
            vec![run::CaseName::Http, run::CaseName::Ws]
        );
        let bad = parse(&["run", "--cases", "nope"]).unwrap();
        let Command::Run(bad) = bad.command else {
            panic!("not run")
        };
        assert!(bad.cases().is_err());
    }
}
