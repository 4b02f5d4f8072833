//! `atelier-bench run`: the driver. Starts the peers it needs, runs every
//! case against all contenders in the same run (ratios within one run are
//! what can be trusted on a noisy machine), prints the table and writes
//! `results/<timestamp>/bench.json` and `bench.svg`.
//!
//! It expects a running `atelier serve` with a custom kind that runs
//! `atelier-bench upstream --unix {socket}` (scripts/bench.sh sets all of
//! this up and cleans it away).

mod control_case;
mod http_case;
mod peers;
mod routes_case;
mod start_case;
mod ws_case;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::api::Api;
use crate::client::Url;
use crate::procs::rss_kib;
use crate::report::{Case, Report};

/// The cases, in the order they run (many routes last: it leaves 100,000
/// session records behind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaseName {
    /// 1. HTTP through the proxy against direct, nginx and CHP.
    Http,
    /// 2. WebSocket echo and idle sockets.
    Ws,
    /// 4. Session start against JupyterHub and JupyterLab by hand.
    Start,
    /// 5. The control plane: list, start, stop with many sessions.
    Control,
    /// 3. Latency with many sessions known to the proxy.
    Routes,
}

impl CaseName {
    const ALL: [CaseName; 5] = [
        CaseName::Http,
        CaseName::Ws,
        CaseName::Start,
        CaseName::Control,
        CaseName::Routes,
    ];

    fn parse(text: &str) -> anyhow::Result<CaseName> {
        CaseName::ALL
            .into_iter()
            .find(|c| c.name() == text)
            .with_context(|| format!("no case {text:?} (cases: http, ws, start, control, routes)"))
    }

    fn name(self) -> &'static str {
        match self {
            CaseName::Http => "http",
            CaseName::Ws => "ws",
            CaseName::Start => "start",
            CaseName::Control => "control",
            CaseName::Routes => "routes",
        }
    }

    fn title(self) -> &'static str {
        match self {
            CaseName::Http => "1. HTTP through the proxy vs direct, nginx, configurable-http-proxy",
            CaseName::Ws => "2. WebSocket echo and idle proxied sockets",
            CaseName::Start => "4. JupyterLab session start: Atelier vs JupyterHub vs by hand",
            CaseName::Control => "5. Control plane: start, list, stop; memory per idle session",
            CaseName::Routes => "3. Proxy latency with many sessions known to the proxy",
        }
    }
}

/// `atelier-bench run`'s options.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The CI version: fewer, shorter measurements (well under 5 minutes).
    #[arg(long)]
    pub(crate) short: bool,
    /// Cases to run, comma-separated: http, ws, start, control, routes.
    #[arg(long, default_value = "http,ws,start,control,routes")]
    cases: String,
    /// Where `<timestamp>/bench.json` and `bench.svg` go.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// The Atelier server.
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    atelier: String,
    /// An API token of the benchmark user (`atelier token create`).
    #[arg(long, env = "ATELIER_BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The server's process id (for its memory).
    #[arg(long)]
    atelier_pid: Option<u32>,
    /// The server's data folder (the many-routes case writes session records there).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The custom kind that runs `atelier-bench upstream --unix {socket}`.
    #[arg(long, default_value = "bench")]
    kind: String,
    /// The Linux account sessions run as (JupyterHub and JupyterLab by hand use it too).
    #[arg(long)]
    user: Option<String>,
    /// A scratch folder for the peers' configuration and logs.
    #[arg(long)]
    work: Option<PathBuf>,
    /// nginx.
    #[arg(long, default_value = "/usr/sbin/nginx")]
    nginx: PathBuf,
    /// configurable-http-proxy (npm).
    #[arg(long)]
    chp: Option<PathBuf>,
    /// The virtualenv with JupyterHub (and the same JupyterLab).
    #[arg(long)]
    hub: Option<PathBuf>,
    /// JupyterLab, started by hand for the baseline (Atelier's own).
    #[arg(long, default_value = "/opt/atelier/jupyter/bin/jupyter-lab")]
    jupyter_lab: PathBuf,
    /// Open-loop rate for 1 KB responses (requests/s).
    #[arg(long, default_value_t = 1000.0)]
    rate_1k: f64,
    /// Open-loop rate for 1 MB responses (requests/s).
    #[arg(long, default_value_t = 100.0)]
    rate_1m: f64,
}

impl RunArgs {
    /// The cases asked for, in running order.
    pub(crate) fn cases(&self) -> anyhow::Result<Vec<CaseName>> {
        let asked: Vec<CaseName> = self
            .cases
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(CaseName::parse)
            .collect::<anyhow::Result<_>>()?;
        Ok(CaseName::ALL
            .into_iter()
            .filter(|c| asked.contains(c))
            .collect())
    }

    fn required<'a, T>(&self, value: &'a Option<T>, flag: &str) -> anyhow::Result<&'a T> {
        value
            .as_ref()
            .with_context(|| format!("this case needs {flag}"))
    }
}

/// What every case shares.
pub(crate) struct Bench {
    args: RunArgs,
    /// Measured seconds per load measurement.
    duration: Duration,
    /// Unmeasured seconds before each.
    warmup: Duration,
    /// Atelier's API with the benchmark user's token.
    atelier: Api,
    /// The scratch folder.
    work: PathBuf,
}

impl Bench {
    fn short(&self) -> bool {
        self.args.short
    }

    /// Full size in a full run, `short` in the short one.
    fn pick<T>(&self, full: T, short: T) -> T {
        if self.short() {
            short
        } else {
            full
        }
    }
}

/// Runs the cases; prints the table and `bench: N passed, M failed`.
impl Bench {
    /// The server's resident memory in KiB once it has stopped moving: read
    /// every 250 ms until two readings in a row are within 1% (or 256 KiB),
    /// for at most 5 s. The allocator hands freed memory back to the kernel
    /// a little after the free and only on later allocations, so a reading
    /// right after a busy case would count memory that case has already
    /// released; a few cheap API calls (an unknown session: the API, the
    /// caller check and a store lookup) between readings keep every server
    /// thread allocating.
    pub(crate) async fn settled_rss_kib(&self, pid: u32) -> u64 {
        const UNKNOWN: &str = "/api/v1/sessions/00000000000000000000000000000000";
        let mut last = rss_kib(pid).unwrap_or(0);
        for _ in 0..20 {
            for _ in 0..8 {
                let _ = self.atelier.call(http::Method::GET, UNKNOWN, None).await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = rss_kib(pid).unwrap_or(0);
            if now.abs_diff(last) <= (last / 100).max(256) {
                return now;
            }
            last = now;
        }
        last
    }
}

pub(crate) async fn main(args: RunArgs) -> anyhow::Result<()> {
    let cases = args.cases()?;
    let token = args.required(&args.token, "--token (or ATELIER_BENCH_TOKEN)")?;
    let atelier = Api::new(&Url::parse(&args.atelier)?, "Bearer", token)?;
    let stamp = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let folder = args.results.join(stamp.format(&format)?);
    let work = match &args.work {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("atelier-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    let bench = Bench {
        duration: Duration::from_secs_f64(if args.short { 2.0 } else { 8.0 }),
        warmup: Duration::from_secs_f64(if args.short { 0.5 } else { 1.0 }),
        args,
        atelier,
        work,
    };
    let mut report = Report {
        started: stamp.format(&time::format_description::well_known::Rfc3339)?,
        short: bench.short(),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        cases: Vec::new(),
    };
    let mut peers: Option<peers::Peers> = None;
    for name in cases {
        let mut case = Case::new(name.name(), name.title());
        eprintln!("==> case {}: {}", name.name(), name.title());
        let result = run_case(&bench, &mut peers, name, &mut case).await;
        if let Err(error) = result {
            eprintln!("case {} failed: {error:#}", name.name());
            case.error = Some(format!("{error:#}"));
        }
        report.cases.push(case);
        // Written after every case, so a crash keeps what was measured.
        report.write(&folder)?;
    }
    drop(peers);
    println!("{}", crate::report::table(&report));
    println!("results: {}", folder.display());
    let passed = report.cases.iter().filter(|c| c.produced_figures()).count();
    println!(
        "bench: {passed} passed, {} failed",
        report.cases.len() - passed
    );
    if passed < report.cases.len() {
        std::process::exit(1);
    }
    Ok(())
}

async fn run_case(
    bench: &Bench,
    peers: &mut Option<peers::Peers>,
    name: CaseName,
    case: &mut Case,
) -> anyhow::Result<()> {
    match name {
        CaseName::Http | CaseName::Ws | CaseName::Routes => {
            if peers.is_none() {
                *peers = Some(peers::Peers::start(bench).await?);
            }
            let peers = peers.as_mut().context("peers")?;
            peers.check_running()?;
            match name {
                CaseName::Http => http_case::run(bench, peers, case).await,
                CaseName::Ws => ws_case::run(bench, peers, case).await,
                _ => routes_case::run(bench, peers, case).await,
            }
        }
        CaseName::Start => start_case::run(bench, case).await,
        CaseName::Control => control_case::run(bench, case).await,
    }
}
