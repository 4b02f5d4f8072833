//! The isolation suite's cast and bookkeeping: two users with their
//! logins, sessions and jobs ([`World`]), raw requests compared with the
//! same request for a missing session, and the count of attacks ([`Ledger`]).

use serde_json::Value;

use crate::common::{Client, Server, TestUser};
use crate::raw_http::{self, RawReply};

/// An id that no session has.
pub(crate) const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

/// Counts the attacks and keeps every answer, for the secrets scan.
#[derive(Default)]
pub(crate) struct Ledger {
    /// Attacks tried.
    pub(crate) count: usize,
    /// Every answer body received.
    pub(crate) bodies: Vec<String>,
}

impl Ledger {
    /// Records one attack's answer.
    pub(crate) fn attack(&mut self, body: &[u8]) {
        self.count += 1;
        self.keep(body);
    }

    /// Keeps an answer that was not an attack (a comparison, a control).
    pub(crate) fn keep(&mut self, body: &[u8]) {
        self.bodies.push(String::from_utf8_lossy(body).into_owned());
    }
}

/// Two users, their logins, sessions and jobs, on one server.
pub(crate) struct World {
    pub(crate) server: Server,
    pub(crate) port: u16,
    pub(crate) alice: TestUser,
    pub(crate) bob: TestUser,
    pub(crate) a_token: String,
    pub(crate) b_token: String,
    pub(crate) a_browser: Client,
    pub(crate) b_browser: Client,
    pub(crate) a_api: Client,
    pub(crate) b_api: Client,
    /// Alice's custom `web` session (echoes path and uid).
    pub(crate) a_web: String,
    /// Alice's JupyterLab session.
    pub(crate) a_lab: String,
    /// Bob's own `web` session.
    pub(crate) b_web: String,
    /// Alice's running job.
    pub(crate) a_job: String,
    /// Alice's finished job.
    pub(crate) a_done: String,
}

/// Header lines as owned (name, raw value) pairs.
pub(crate) type Headers = Vec<(String, Vec<u8>)>;

/// Owned header lines from (name, value) pairs.
pub(crate) fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

impl World {
    /// Bob as a script (his API token).
    pub(crate) fn bob_bearer(&self) -> Headers {
        headers(&[("Authorization", &format!("Bearer {}", self.b_token))])
    }

    /// A browser's cookie and CSRF header.
    pub(crate) fn browser(client: &Client) -> Headers {
        headers(&[
            ("Cookie", client.cookie.as_deref().unwrap()),
            ("X-Atelier-CSRF", client.csrf.as_deref().unwrap()),
        ])
    }

    /// Sends one raw request.
    pub(crate) async fn raw(
        &self,
        method: &str,
        target: &[u8],
        h: &Headers,
        body: &[u8],
    ) -> RawReply {
        let h: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        raw_http::send(
            self.port,
            &raw_http::request(method, target, self.port, &h, body),
        )
        .await
    }

    /// Sends the request built by `make` for `id` and for [`UNKNOWN`]:
    /// both answers must have the same shape (the id itself replaced), and
    /// neither may come from the session's app.
    pub(crate) async fn like_missing(
        &self,
        ledger: &mut Ledger,
        what: &str,
        method: &str,
        make: &dyn Fn(&str) -> Vec<u8>,
        id: &str,
        h: &Headers,
    ) -> RawReply {
        let attack = self.raw(method, &make(id), h, b"").await;
        let missing = self.raw(method, &make(UNKNOWN), h, b"").await;
        ledger.attack(&attack.body);
        ledger.keep(&missing.body);
        assert_eq!(
            normalised(&attack, id),
            normalised(&missing, UNKNOWN),
            "{what}: alice's session answered unlike a missing one: {} {}",
            attack.status,
            attack.text()
        );
        assert!(
            !(200..300).contains(&attack.status) && !attack.text().contains("\"authorized\""),
            "{what}: reached the session: {} {}",
            attack.status,
            attack.text()
        );
        attack
    }
}

/// An answer's shape with the session id (any case) replaced by `ID`.
fn normalised(reply: &RawReply, id: &str) -> (u16, Option<String>, Option<String>, String) {
    let (status, content_type, location, body) = reply.shape();
    let scrub = |text: &str| {
        text.replace(id, "ID")
            .replace(&id.to_ascii_uppercase(), "ID")
    };
    let body = scrub(&String::from_utf8_lossy(&body));
    (status, content_type, location.map(|l| scrub(&l)), body)
}

impl World {
    /// Alice's sessions and jobs with their states, as she sees them.
    pub(crate) async fn alices_state(&self) -> (Vec<(String, String)>, Vec<(String, String)>) {
        let pairs = |list: &Value| {
            let mut pairs: Vec<(String, String)> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["id"].as_str().unwrap().into(),
                        s["state"].as_str().unwrap().into(),
                    )
                })
                .collect();
            pairs.sort();
            pairs
        };
        let sessions = self.a_api.get("/api/v1/sessions").await.json();
        let jobs = self.a_api.get("/api/v1/jobs").await.json();
        (pairs(&sessions["sessions"]), pairs(&jobs["jobs"]))
    }
}
