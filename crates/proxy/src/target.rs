//! Where a request goes and how it is rewritten on the way: [`Upstream`] and
//! [`Target`], filled in by the web layer for every proxied request.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use http::{HeaderName, HeaderValue};

/// A session's HTTP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Upstream {
    /// A unix socket on this machine (local sessions).
    Unix(PathBuf),
    /// A unix socket that must be served by a process of this uid. The
    /// socket's folder belongs to the session's user, who could replace the
    /// socket with a link to someone else's; the peer's uid is checked on
    /// every new connection so such a link leads nowhere.
    UnixOwnedBy(PathBuf, u32),
    /// A TCP address, spoken to directly.
    Tcp(SocketAddr),
    /// A session gate on a remote node (see [`crate::gate`]): a TCP address
    /// that carries bytes only after the session's secret.
    Gate(SocketAddr, GateKey),
}

/// The secret that opens a session gate. Compared and hashed like any
/// string (it is part of the pool key), never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GateKey(pub String);

impl fmt::Debug for GateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GateKey(..)")
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::UnixOwnedBy(path, uid) => write!(f, "unix:{} (uid {uid})", path.display()),
            Self::Tcp(addr) => write!(f, "tcp:{addr}"),
            Self::Gate(addr, _) => write!(f, "gate:{addr}"),
        }
    }
}

/// One proxied request's destination and rewriting rules.
#[derive(Clone)]
pub struct Target {
    /// The session's endpoint.
    pub upstream: Upstream,
    /// Path and query to send upstream (the caller strips `/s/{id}` for IDEs
    /// without a base path). Must start with `/`.
    pub path_and_query: String,
    /// Headers to set on the upstream request, replacing any the client sent
    /// (e.g. `Authorization: token <secret>`).
    pub set_headers: Vec<(HeaderName, HeaderValue)>,
    /// Name of Atelier's own cookie, removed from the `Cookie` header before
    /// forwarding.
    pub strip_cookie: Option<String>,
    /// The client's address, appended to `X-Forwarded-For`.
    pub client_addr: IpAddr,
    /// `"http"` or `"https"`: the scheme the client used, sent as
    /// `X-Forwarded-Proto`.
    pub client_proto: &'static str,
    /// Called whenever the client sends bytes over an upgraded (WebSocket)
    /// connection, so that typing in an IDE counts as activity. Called often:
    /// the callee throttles.
    pub on_activity: Option<Activity>,
}

/// A callback for client activity on an upgraded connection.
pub type Activity = std::sync::Arc<dyn Fn() + Send + Sync>;

/// Prints everything but the values of `set_headers`, which carry secrets.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set_headers: Vec<&HeaderName> = self.set_headers.iter().map(|(name, _)| name).collect();
        f.debug_struct("Target")
            .field("upstream", &self.upstream)
            .field("set_headers", &set_headers)
            .field("strip_cookie", &self.strip_cookie)
            .field("client_addr", &self.client_addr)
            .field("client_proto", &self.client_proto)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_header_values_and_path() {
        let target = Target {
            upstream: Upstream::Tcp(([127, 0, 0, 1], 8888).into()),
            path_and_query: "/lab?token=hidden".into(),
            set_headers: vec![(
                http::header::AUTHORIZATION,
                HeaderValue::from_static("token s3cret"),
            )],
            strip_cookie: Some("atelier".into()),
            client_addr: [10, 0, 0, 1].into(),
            client_proto: "https",
            on_activity: None,
        };
        let text = format!("{target:?}");
        assert!(text.contains("authorization"), "{text}");
        assert!(
            !text.contains("s3cret") && !text.contains("hidden"),
            "{text}"
        );
    }

    #[test]
    fn upstream_display_names_the_transport() {
        assert_eq!(
            Upstream::Unix("/run/a.sock".into()).to_string(),
            "unix:/run/a.sock"
        );
        assert_eq!(
            Upstream::Tcp(([10, 1, 2, 3], 80).into()).to_string(),
            "tcp:10.1.2.3:80"
        );
    }
}
