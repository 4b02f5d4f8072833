//! Tuning knobs of the proxy: timeouts and the size of the connection pool.

use std::time::Duration;

/// How the proxy dials, waits and keeps connections. `Default` gives the
/// values Atelier runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// Longest wait to open a connection to an upstream (default 5 s);
    /// expiry answers `504`.
    pub connect_timeout: Duration,
    /// Longest wait, after the request head is handed to the connection, for
    /// the upstream's response head (default 300 s, generous because IDE
    /// endpoints such as exports can be slow); expiry answers `504`. Once the
    /// head is in, the body may stream for as long as it likes.
    pub response_timeout: Duration,
    /// Idle connections kept per upstream (default 256); more are closed.
    /// It bounds how many client connections can be busy with one session
    /// at once before the proxy has to dial again for every request: a
    /// browser opens about 6, a script under load may open hundreds.
    pub max_idle_per_upstream: usize,
    /// How long an idle connection is kept before it is closed (default 90 s).
    pub idle_timeout: Duration,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(300),
            max_idle_per_upstream: 256,
            idle_timeout: Duration::from_secs(90),
        }
    }
}
