//! Lifetime rules: idle timeouts (per kind) and a maximum age. Activity is
//! proxied traffic (recorded by the web layer as `last_active_at`) or, for
//! Jupyter kinds, a kernel that is busy or produced output recently: a
//! long computation with no tab open is not idle.

use std::collections::BTreeMap;
use std::time::Duration;

use atelier_core::{Session, SessionKind, Timestamp};
use atelier_launcher::{connect_unix, Endpoint};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::Deserialize;

/// The lifetime rules in force.
#[derive(Debug, Clone, Default)]
pub struct LifetimeRules {
    /// Idle timeout for kinds without their own; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Idle timeout per kind; a zero duration turns it off for that kind.
    pub idle_timeout_by_kind: BTreeMap<String, Duration>,
    /// Age at which any session is stopped; `None`: never.
    pub max_age: Option<Duration>,
}

/// What the rules say about one session now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to do.
    Keep,
    /// No recorded activity for longer than the idle timeout: look closer
    /// (a busy kernel) before stopping.
    MaybeIdle(Duration),
    /// Stop it, for this reason.
    Stop(String),
}

impl LifetimeRules {
    fn idle_timeout(&self, kind: &SessionKind) -> Option<Duration> {
        match self.idle_timeout_by_kind.get(kind.as_str()) {
            Some(timeout) => Some(*timeout).filter(|t| !t.is_zero()),
            None => self.idle_timeout,
        }
    }

    /// Applies the rules to a running session at `now`.
    pub(crate) fn judge(&self, session: &Session, now: Timestamp) -> Verdict {
        if let Some(max_age) = self.max_age {
            if elapsed(session.created_at, now) > max_age {
                return Verdict::Stop(format!(
                    "stopped: it reached the maximum session age of {}",
                    human(max_age)
                ));
            }
        }
        let Some(timeout) = self.idle_timeout(&session.kind) else {
            return Verdict::Keep;
        };
        if elapsed(last_activity(session), now) > timeout {
            Verdict::MaybeIdle(timeout)
        } else {
            Verdict::Keep
        }
    }
}

/// The reason recorded for an idle stop.
pub(crate) fn idle_reason(timeout: Duration) -> String {
    format!("stopped after {} without activity", human(timeout))
}

/// The latest sign of life the store knows of.
pub(crate) fn last_activity(session: &Session) -> Timestamp {
    [
        Some(session.created_at),
        session.started_at,
        session.last_active_at,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(session.created_at)
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(now.as_millis() - since.as_millis()).unwrap_or(0))
}

fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// One kernel as Jupyter's `/api/kernels` lists it.
#[derive(Deserialize)]
struct Kernel {
    execution_state: Option<String>,
    last_activity: Option<String>,
}

/// For Jupyter sessions: the time of the latest kernel activity, `now` if a
/// kernel is busy; `None` when there are no kernels or Jupyter cannot be asked.
pub(crate) async fn kernel_activity(endpoint: &Endpoint, session: &Session) -> Option<Timestamp> {
    let ask = async {
        match endpoint {
            Endpoint::Unix { path, uid } => {
                let stream = connect_unix(path, *uid).await.ok()?;
                kernels_over(stream, session).await
            }
            Endpoint::Gate(addr) => {
                let stream = atelier_launcher::open_gate(*addr, &session.secret)
                    .await
                    .ok()?;
                kernels_over(stream, session).await
            }
        }
    };
    let kernels = tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .ok()??;
    if kernels
        .iter()
        .any(|k| k.execution_state.as_deref() == Some("busy"))
    {
        return Some(Timestamp::now());
    }
    kernels
        .iter()
        .filter_map(|k| parse_time(k.last_activity.as_deref()?))
        .max()
}

/// Asks Jupyter's `/api/kernels` over `stream`.
async fn kernels_over<S>(stream: S, session: &Session) -> Option<Vec<Kernel>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    let request = hyper::Request::get(format!("{}api/kernels", session.url()))
        .header(hyper::header::HOST, "localhost")
        .header(
            hyper::header::AUTHORIZATION,
            format!("token {}", session.secret),
        )
        .body(Empty::<Bytes>::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = response.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice::<Vec<Kernel>>(&body).ok()
}

fn parse_time(text: &str) -> Option<Timestamp> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(Timestamp::from_millis(
        (at.unix_timestamp_nanos() / 1_000_000) as i64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::{SessionId, SessionState, UserName};

    fn session(kind: &str, created: i64, active: Option<i64>) -> Session {
        Session {
            id: SessionId::generate(),
            user: UserName::parse("alice").unwrap(),
            kind: SessionKind::parse(kind).unwrap(),
            name: "s".into(),
            state: SessionState::Running,
            node: None,
            cluster: "local".into(),
            python: None,
            r: None,
            profile: None,
            created_at: Timestamp::from_millis(created),
            started_at: Some(Timestamp::from_millis(created + 1_000)),
            last_active_at: active.map(Timestamp::from_millis),
            ended_at: None,
            error: None,
            exit_code: None,
            secret: String::new(),
            handle: None,
        }
    }

    #[test]
    fn idle_timeouts_follow_the_kind_and_the_last_activity() {
        let rules = LifetimeRules {
            idle_timeout: Some(Duration::from_secs(60)),
            idle_timeout_by_kind: [
                ("vscode".to_owned(), Duration::ZERO),
                ("notebook".to_owned(), Duration::from_secs(600)),
            ]
            .into(),
            max_age: None,
        };
        let now = Timestamp::from_millis(1_000_000);
        let quiet = session("jupyterlab", 0, Some(900_000));
        assert_eq!(
            rules.judge(&quiet, now),
            Verdict::MaybeIdle(Duration::from_secs(60))
        );
        let recent = session("jupyterlab", 0, Some(950_000));
        assert_eq!(rules.judge(&recent, now), Verdict::Keep);
        assert_eq!(
            rules.judge(&session("vscode", 0, None), now),
            Verdict::Keep,
            "0 turns it off"
        );
        assert_eq!(
            rules.judge(&session("notebook", 0, Some(500_000)), now),
            Verdict::Keep
        );
        assert_eq!(
            idle_reason(Duration::from_secs(3600)),
            "stopped after 1 h without activity"
        );
    }

    #[test]
    fn maximum_age_wins_over_activity() {
        let rules = LifetimeRules {
            max_age: Some(Duration::from_secs(120)),
            ..Default::default()
        };
        let old = session("jupyterlab", 0, Some(999_000));
        match rules.judge(&old, Timestamp::from_millis(1_000_000)) {
            Verdict::Stop(reason) => assert_eq!(
                reason,
                "stopped: it reached the maximum session age of 2 min"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            rules.judge(&old, Timestamp::from_millis(100_000)),
            Verdict::Keep
        );
    }
}
