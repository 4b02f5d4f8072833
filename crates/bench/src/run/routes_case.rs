//! Case 3: proxy latency with 10, 10,000 and 100,000 sessions known to the
//! proxy.
//!
//! 100,000 IDE processes do not fit on one machine, so the extra sessions
//! are real `running` records written through Atelier's own store API into
//! the server's database while it runs. Each is a copy of the benchmark
//! session's record with its own id and folder, whose `ide.sock` is a
//! symbolic link to the benchmark session's socket: every one of them is
//! routable through the proxy and answers, and the server's watcher probes
//! them all as it would real sessions (same process, same uid). What is not
//! real: they share one supervisor and one upstream process.
//!
//! Atelier's proxy finds a route in its in-memory table for sessions this
//! server process started, and in the store for the others (here: the
//! copies). Both paths are measured.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use atelier_core::{Session, SessionId, SessionState};
use atelier_store::{Store, StoreConfig};
use serde_json::Value;

use super::peers::{Contender, Peers};
use super::Bench;
use crate::load::{self, Load, Pace};
use crate::report::{Case, Check, Row};
use crate::upstream::SMALL;

/// Connections of the latency measurement (open loop at `--rate-1k`).
const CONNECTIONS: usize = 64;
/// The node named on the store-route copy: not this server.
const OTHER_NODE: &str = "atelier-bench-elsewhere";

/// Grows the number of running sessions step by step, measuring at each.
pub(crate) async fn run(bench: &Bench, peers: &mut Peers, case: &mut Case) -> anyhow::Result<()> {
    let data_dir = bench.args.required(&bench.args.data_dir, "--data-dir")?;
    let steps: &[usize] = bench.pick(&[10, 10_000, 100_000], &[10, 1_000]);
    let store = atelier_store::open(&StoreConfig::Sqlite {
        path: data_dir.join("atelier.db"),
    })
    .await
    .context("cannot open the server's store")?;
    let id = SessionId::parse(&peers.session_id)?;
    let template = store
        .get_session(&id)
        .await?
        .context("the benchmark session is not in the store")?;
    let cloner = Cloner::new(template)?;
    // The store route: a record of another node, which this server neither
    // adopts nor probes, so its proxy looks it up in the store (at most once
    // a second, as a cluster node does for sessions hosted elsewhere).
    let elsewhere = cloner
        .add(&*store, "route-elsewhere", Some(OTHER_NODE))
        .await?;
    let mut known = running(&*store).await?;
    for &target in steps {
        let adding = target.saturating_sub(known);
        eprintln!("    {target} sessions known: adding {adding}");
        let started = std::time::Instant::now();
        while known < target {
            cloner.add(&*store, &format!("route-{known}"), None).await?;
            known += 1;
        }
        if adding > 0 {
            eprintln!(
                "    added {adding} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        // Let the watcher see (and adopt) the new records before measuring:
        // at least two of its 2 s rounds over the running sessions.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let group = format!("{known} sessions known");
        let atelier = peers.get("atelier")?.clone();
        let from_store = Contender {
            name: "atelier (store route)",
            base: atelier.base.with_path(&format!("/s/{elsewhere}")),
            headers: atelier.headers.clone(),
        };
        let memory = Contender {
            name: "atelier (memory route)",
            ..atelier
        };
        for contender in [peers.get("direct")?.clone(), memory, from_store] {
            eprintln!("    {group}: {}", contender.name);
            let summary = load::run(Load {
                url: contender.url("1k"),
                headers: contender.headers.clone(),
                connections: CONNECTIONS,
                pace: Pace::Open(bench.args.rate_1k),
                warmup: bench.warmup,
                duration: bench.duration,
                expect_len: Some(SMALL),
            })
            .await;
            case.rows.push(Row::load(&group, contender.name, summary));
        }
        peers.check_running()?;
    }
    case.checks.extend(check(case));
    case.notes.push(format!(
        "Latency: 1 KB GETs, open loop at {:.0}/s over {CONNECTIONS} connections. The extra sessions are running records written through the store API into the live server's database, each with its own folder and a symbolic link to the benchmark session's socket: routable and probed by the watcher like real ones, but sharing one upstream process.",
        bench.args.rate_1k
    ));
    case.notes.push(format!(
        "Memory route: the benchmark session, started through the API, in the server's in-memory route table (the copies of this node join that table when the watcher adopts them, and the watcher checks every one of them every 2 s, or less often once a pass over them all takes longer than a fifth of a second). Store route: one copy recorded as hosted by another node ({OTHER_NODE:?}), which this server neither adopts nor probes and reads from the store at most once a second (then from its short-lived memory of other nodes' routes), as a cluster node does for sessions hosted elsewhere."
    ));
    Ok(())
}

/// p50 of the largest step against the smallest, for both routes.
fn check(case: &Case) -> Vec<Check> {
    let groups: Vec<&str> =
        case.rows
            .iter()
            .map(|r| r.group.as_str())
            .fold(Vec::new(), |mut all, g| {
                if !all.contains(&g) {
                    all.push(g);
                }
                all
            });
    let (Some(first), Some(last)) = (groups.first(), groups.last()) else {
        return Vec::new();
    };
    ["atelier (memory route)", "atelier (store route)"]
        .into_iter()
        .filter_map(|who| {
            let p50 = |group| case.find(group, who)?.load.map(|l| l.p50_us);
            let (small, large) = (p50(first)?, p50(last)?);
            let change = large as i64 - small as i64;
            Some(Check {
                target: format!("{who}: no latency change from {first} to {last}"),
                measured: format!("p50 {small} -> {large} us ({change:+} us)"),
                // Noise on a shared 2-CPU machine is tens of microseconds.
                met: change <= 50 || (large as f64) <= small as f64 * 1.2,
            })
        })
        .collect()
}

async fn running(store: &dyn Store) -> anyhow::Result<usize> {
    let counts = store.count_sessions_by_state().await?;
    Ok(counts
        .iter()
        .filter(|(state, _)| *state == SessionState::Running)
        .map(|(_, n)| *n as usize)
        .sum())
}

/// Makes routable copies of a running session.
struct Cloner {
    template: Session,
    handle: Value,
    socket: PathBuf,
    sessions_dir: PathBuf,
    uid: u32,
}

impl Cloner {
    fn new(template: Session) -> anyhow::Result<Cloner> {
        let handle: Value = serde_json::from_str(template.handle.as_deref().unwrap_or(""))
            .context("the benchmark session has no readable handle")?;
        let socket = PathBuf::from(
            handle["socket"]
                .as_str()
                .context("no socket in the handle")?,
        );
        let dir = Path::new(handle["dir"].as_str().context("no dir in the handle")?);
        let sessions_dir = dir
            .parent()
            .context("the session folder has no parent")?
            .to_owned();
        let uid = handle["uid"]
            .as_u64()
            .and_then(|u| u32::try_from(u).ok())
            .context("no uid in the handle")?;
        Ok(Cloner {
            template,
            handle,
            socket,
            sessions_dir,
            uid,
        })
    }

    /// Adds one copy called `name`, hosted by `node` (by default the
    /// benchmark session's); returns its id.
    async fn add(
        &self,
        store: &dyn Store,
        name: &str,
        node: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut session = self.template.clone();
        session.id = SessionId::generate();
        session.name = name.to_owned();
        if let Some(node) = node {
            session.node = Some(node.to_owned());
        }
        let dir = self.sessions_dir.join(session.id.as_str());
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        std::os::unix::fs::chown(&dir, Some(self.uid), None)?;
        let socket = dir.join("ide.sock");
        // A symbolic link, not a hard one: one inode takes at most 65,000
        // hard links on ext4, too few for 100,000 copies. Connecting follows
        // the link, and the peer-uid check still sees the benchmark upstream.
        std::os::unix::fs::symlink(&self.socket, &socket)
            .with_context(|| format!("cannot link {}", self.socket.display()))?;
        let mut handle = self.handle.clone();
        handle["dir"] = Value::from(dir.display().to_string());
        handle["socket"] = Value::from(socket.display().to_string());
        session.handle = Some(handle.to_string());
        store.insert_session(&session).await?;
        Ok(session.id.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Url;
    use crate::stats::Summary;

    fn p50(us: u64) -> Summary {
        Summary {
            requests: 1,
            errors: 0,
            seconds: 1.0,
            per_second: 1.0,
            p50_us: us,
            p99_us: us,
            max_us: us,
        }
    }

    #[test]
    fn the_check_compares_the_largest_step_with_the_smallest() {
        let mut case = Case::new("routes", "t");
        case.rows.push(Row::load(
            "10 sessions known",
            "atelier (memory route)",
            p50(200),
        ));
        case.rows.push(Row::load(
            "10 sessions known",
            "atelier (store route)",
            p50(300),
        ));
        case.rows.push(Row::load(
            "100 sessions known",
            "atelier (memory route)",
            p50(230),
        ));
        case.rows.push(Row::load(
            "100 sessions known",
            "atelier (store route)",
            p50(900),
        ));
        let checks = check(&case);
        assert_eq!(checks.len(), 2);
        assert!(checks[0].met, "{checks:?}");
        assert!(!checks[1].met, "{checks:?}");
        assert!(checks[1].measured.contains("+600 us"));
    }

    #[test]
    fn the_url_of_a_copy_keeps_the_token() {
        let atelier = Contender {
            name: "atelier",
            base: Url::parse("http://127.0.0.1:1/s/abc").unwrap(),
            headers: http::HeaderMap::new(),
        };
        assert_eq!(atelier.url("1k").path, "/s/abc/1k");
    }
}
