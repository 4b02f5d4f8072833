//! The HTTP load generator.
//!
//! Closed loop: each connection sends its next request as soon as the last
//! answer is read (throughput at saturation). Open loop: requests are due
//! at a fixed rate whatever the server does, and a request's latency counts
//! from the moment it was due, so a stalled server is charged for the
//! requests it held up (no coordinated omission). A connection that was idle
//! when its request fell due starts the clock when it actually sends, so the
//! timer's own lateness (about a millisecond) is not charged to the server.
//! A connection the server announces it closes (`Connection: close`) is
//! replaced before the next request: the reconnect is timed, not an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::client::{Conn, Url};
use crate::stats::{Samples, Summary};

/// How long past the end an open-loop run waits for requests still due.
const DRAIN: Duration = Duration::from_secs(2);

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pace {
    /// Back to back on every connection.
    Closed,
    /// This many requests per second in total, spread over the connections.
    Open(f64),
}

/// One load run.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    /// What to request (GET).
    pub(crate) url: Url,
    /// Extra headers (e.g. a bearer token).
    pub(crate) headers: HeaderMap,
    /// Connections opened at once.
    pub(crate) connections: usize,
    /// Pacing.
    pub(crate) pace: Pace,
    /// Not measured, at the start.
    pub(crate) warmup: Duration,
    /// Measured.
    pub(crate) duration: Duration,
    /// If set, an answer of another length counts as an error.
    pub(crate) expect_len: Option<usize>,
}

/// The shared clock of one run.
struct Clock {
    start: Instant,
    measure_from: Instant,
    end: Instant,
    next: AtomicU64,
}

/// Runs the load and returns its figures.
pub(crate) async fn run(load: Load) -> Summary {
    let start = Instant::now();
    let clock = Arc::new(Clock {
        start,
        measure_from: start + load.warmup,
        end: start + load.warmup + load.duration,
        next: AtomicU64::new(0),
    });
    let load = Arc::new(load);
    let workers: Vec<_> = (0..load.connections)
        .map(|_| tokio::spawn(worker(Arc::clone(&load), Arc::clone(&clock))))
        .collect();
    let mut samples = Samples::default();
    for worker in workers {
        if let Ok(done) = worker.await {
            samples.merge(done);
        }
    }
    if let Pace::Open(rate) = load.pace {
        // Requests due in the measured window that were never sent failed.
        let due = (rate * load.duration.as_secs_f64()) as u64;
        samples.errors += due.saturating_sub(samples.len() as u64 + samples.errors);
    }
    samples.summary(load.duration)
}

async fn worker(load: Arc<Load>, clock: Arc<Clock>) -> Samples {
    let mut samples = Samples::default();
    let mut conn: Option<Conn> = None;
    loop {
        let Some(origin) = next_start(&load, &clock).await else {
            break;
        };
        let measured = origin >= clock.measure_from;
        if conn.is_none() {
            match Conn::open(&load.url.authority).await {
                Ok(opened) => conn = Some(opened),
                Err(_) => {
                    if measured {
                        samples.errors += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let (ok, reusable) = match conn.as_mut() {
            Some(open) => send_one(open, &load).await,
            None => (false, false),
        };
        if !ok || !reusable {
            conn = None;
        }
        if measured {
            if ok {
                samples.record(origin.elapsed());
            } else {
                samples.errors += 1;
            }
        }
    }
    samples
}

/// When the next request's clock starts, or `None` when the run is over.
async fn next_start(load: &Load, clock: &Clock) -> Option<Instant> {
    let now = Instant::now();
    let Pace::Open(rate) = load.pace else {
        return (now < clock.end).then_some(now);
    };
    let index = clock.next.fetch_add(1, Ordering::Relaxed);
    let due = clock.start + Duration::from_secs_f64(index as f64 / rate);
    if due >= clock.end {
        return None;
    }
    if now > clock.end + DRAIN {
        // Hopelessly behind: `run` counts what was never sent as failed.
        return None;
    }
    if now >= due {
        return Some(due);
    }
    tokio::time::sleep_until(due.into()).await;
    Some(Instant::now())
}

/// Sends one request: whether it succeeded, and whether the connection
/// may carry the next one (the server did not announce that it closes it).
async fn send_one(conn: &mut Conn, load: &Load) -> (bool, bool) {
    let Ok(request) = conn.request(Method::GET, &load.url.path, &load.headers, Bytes::new()) else {
        return (false, false);
    };
    match conn.send_counting(request).await {
        Ok(answer) => {
            let ok = answer.status.is_success()
                && load.expect_len.is_none_or(|want| want == answer.length);
            (ok, !answer.closing)
        }
        Err(_) => (false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pace: Pace) -> Load {
        Load {
            url: Url::parse("http://127.0.0.1:1/").unwrap(),
            headers: HeaderMap::new(),
            connections: 1,
            pace,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            expect_len: None,
        }
    }

    fn clock(start: Instant) -> Clock {
        Clock {
            start,
            measure_from: start,
            end: start + Duration::from_secs(1),
            next: AtomicU64::new(0),
        }
    }

    #[tokio::test]
    async fn a_late_open_loop_request_is_timed_from_when_it_was_due() {
        // Requests 0 and 1 of a 100/s run were due at +0 and +10 ms; it is
        // now +50 ms, so both are late and their clocks started when due.
        let start = Instant::now() - Duration::from_millis(50);
        let clock = clock(start);
        let open = load(Pace::Open(100.0));
        let first = next_start(&open, &clock).await.unwrap();
        let second = next_start(&open, &clock).await.unwrap();
        assert_eq!(first, start);
        assert_eq!(second, start + Duration::from_millis(10));
    }

    #[tokio::test]
    async fn an_open_loop_run_ends_at_the_last_request_due() {
        let clock = clock(Instant::now() - Duration::from_millis(500));
        clock.next.store(1000, Ordering::Relaxed);
        let open = load(Pace::Open(100.0));
        assert!(next_start(&open, &clock).await.is_none());
    }

    #[tokio::test]
    async fn a_closed_loop_starts_now_until_the_end() {
        let closed = load(Pace::Closed);
        let running = clock(Instant::now());
        assert!(next_start(&closed, &running).await.is_some());
        let over = clock(Instant::now() - Duration::from_secs(2));
        assert!(next_start(&closed, &over).await.is_none());
    }
}
