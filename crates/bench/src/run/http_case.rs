//! Case 1: HTTP through Atelier's proxy against a direct connection, nginx
//! and configurable-http-proxy: 1 KB and 1 MB answers, 1, 64 and 256
//! connections, closed loop (saturation) and open loop (a fixed rate).

use super::peers::Peers;
use super::Bench;
use crate::load::{self, Load, Pace};
use crate::report::{Case, Check};
use crate::upstream::{LARGE, SMALL};

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Config {
    page: &'static str,
    size: usize,
    connections: usize,
    pace: Pace,
}

impl Config {
    fn group(&self) -> String {
        let size = if self.size == SMALL { "1 KB" } else { "1 MB" };
        match self.pace {
            Pace::Closed => format!("{size}, {} conn, closed", self.connections),
            Pace::Open(rate) => format!("{size}, {} conn, open {rate:.0}/s", self.connections),
        }
    }
}

fn configs(bench: &Bench) -> Vec<Config> {
    let sizes = [
        ("1k", SMALL, bench.args.rate_1k),
        ("1m", LARGE, bench.args.rate_1m),
    ];
    let connections: &[usize] = bench.pick(&[1, 64, 256], &[64]);
    let mut all = Vec::new();
    for (page, size, rate) in sizes {
        for &connections in connections {
            for pace in [Pace::Closed, Pace::Open(rate)] {
                // The short run keeps one open-loop measurement (1 KB).
                if bench.short() && size == LARGE && pace != Pace::Closed {
                    continue;
                }
                all.push(Config {
                    page,
                    size,
                    connections,
                    pace,
                });
            }
        }
    }
    all
}

/// Measures every configuration against every contender, one after the other.
pub(crate) async fn run(bench: &Bench, peers: &mut Peers, case: &mut Case) -> anyhow::Result<()> {
    for config in configs(bench) {
        let group = config.group();
        for contender in &peers.contenders {
            eprintln!("    {group}: {}", contender.name);
            let summary = load::run(Load {
                url: contender.url(config.page),
                headers: contender.headers.clone(),
                connections: config.connections,
                pace: config.pace,
                warmup: bench.warmup,
                duration: bench.duration,
                expect_len: Some(config.size),
            })
            .await;
            case.rows
                .push(crate::report::Row::load(&group, contender.name, summary));
        }
        peers.check_running()?;
    }
    case.checks = checks(bench, case);
    case.notes.push(format!(
        "Everything shares the machine's {} CPUs: the load generator, the proxies and the upstream. Compare ratios within this run, not absolute figures across machines.",
        std::thread::available_parallelism().map_or(0, usize::from)
    ));
    case.notes.push(
        "Open loop: latency counts from the moment a request was due (no coordinated omission)."
            .to_owned(),
    );
    Ok(())
}

fn checks(bench: &Bench, case: &Case) -> Vec<Check> {
    let mut checks = Vec::new();
    let closed = |page, size| Config {
        page,
        size,
        connections: 64,
        pace: Pace::Closed,
    };
    for (config, wanted) in [(closed("1m", LARGE), 0.9), (closed("1k", SMALL), 0.7)] {
        if let Some(ratio) = ratio(case, &config.group(), "atelier", "direct") {
            checks.push(Check {
                target: format!(
                    "{}: Atelier >= {:.0}% of direct",
                    config.group(),
                    wanted * 100.0
                ),
                measured: format!("{:.0}%", ratio * 100.0),
                met: ratio >= wanted,
            });
        }
        if let Some(ratio) = ratio(case, &config.group(), "atelier", "chp") {
            checks.push(Check {
                target: format!("{}: Atelier >= 5x configurable-http-proxy", config.group()),
                measured: format!("{ratio:.1}x"),
                met: ratio >= 5.0,
            });
        }
    }
    let moderate = Config {
        page: "1k",
        size: SMALL,
        connections: 64,
        pace: Pace::Open(bench.args.rate_1k),
    };
    let group = moderate.group();
    let p50 = |who| {
        case.find(&group, who)
            .and_then(|r| r.load)
            .map(|l| l.p50_us)
    };
    if let (Some(atelier), Some(direct)) = (p50("atelier"), p50("direct")) {
        let added = atelier as i64 - direct as i64;
        checks.push(Check {
            target: format!("{group}: added p50 latency <= 100 us"),
            measured: format!("{added} us ({atelier} vs {direct} us direct)"),
            met: added <= 100,
        });
    }
    checks
}

/// `a`'s rate over `b`'s in a group.
fn ratio(case: &Case, group: &str, a: &str, b: &str) -> Option<f64> {
    let rate = |who| {
        case.find(group, who)
            .and_then(|r| r.load)
            .map(|l| l.per_second)
    };
    let (a, b) = (rate(a)?, rate(b)?);
    (b > 0.0).then(|| a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_name_size_connections_and_pace() {
        let config = Config {
            page: "1m",
            size: LARGE,
            connections: 256,
            pace: Pace::Open(100.0),
        };
        assert_eq!(config.group(), "1 MB, 256 conn, open 100/s");
        let closed = Config {
            pace: Pace::Closed,
            size: SMALL,
            ..config
        };
        assert_eq!(closed.group(), "1 KB, 256 conn, closed");
    }
}
