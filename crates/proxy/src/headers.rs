//! Header rewriting in both directions: hop-by-hop headers out, Atelier's
//! credentials out, the session's credentials and `X-Forwarded-*` in.

use http::header::{
    AUTHORIZATION, CONNECTION, COOKIE, HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Target;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    CONNECTION,
    KEEP_ALIVE,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// The comma-separated tokens of every `Connection` header.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

/// Whether the message asks for (or, in a `101`, accepts) a WebSocket upgrade.
pub(crate) fn is_websocket(headers: &HeaderMap) -> bool {
    let upgrade = connection_tokens(headers).any(|token| token.eq_ignore_ascii_case("upgrade"));
    let websocket = headers
        .get_all(UPGRADE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim().eq_ignore_ascii_case("websocket"));
    upgrade && websocket
}

/// Removes the hop-by-hop headers and every header named in `Connection`.
/// With `keep_websocket`, `Connection: upgrade` and `Upgrade: websocket` are
/// put back so the upgrade travels on.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_websocket: bool) {
    let listed: Vec<HeaderName> = connection_tokens(headers)
        .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
        .collect();
    for name in listed.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    if keep_websocket {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    }
}

/// Rewrites a client request's headers for the upstream. `authority` is the
/// request URI's authority, used as `Host` when the client sent none (HTTP/2).
pub(crate) fn rewrite_request(
    headers: &mut HeaderMap,
    target: &Target,
    websocket: bool,
    authority: Option<&str>,
) {
    strip_hop_by_hop(headers, websocket);
    headers.remove(AUTHORIZATION);
    for (name, _) in &target.set_headers {
        headers.remove(name);
    }
    for (name, value) in &target.set_headers {
        headers.append(name.clone(), value.clone());
    }
    if let Some(cookie) = &target.strip_cookie {
        strip_cookie(headers, cookie);
    }
    ensure_host(headers, authority, target);
    set_forwarded(headers, target);
}

/// Rewrites an upstream response's headers for the client.
pub(crate) fn rewrite_response(headers: &mut HeaderMap, switching_to_websocket: bool) {
    strip_hop_by_hop(headers, switching_to_websocket);
}

/// Gives the request a `Host`: the client's, else the URI authority, else a
/// name for the upstream (HTTP/1.1 requires one).
fn ensure_host(headers: &mut HeaderMap, authority: Option<&str>, target: &Target) {
    if headers.contains_key(HOST) {
        return;
    }
    let fallback = match &target.upstream {
        crate::Upstream::Unix(_) | crate::Upstream::UnixOwnedBy(..) => "localhost".to_owned(),
        crate::Upstream::Tcp(addr) | crate::Upstream::Gate(addr, _) => addr.to_string(),
    };
    let host = authority.map_or(fallback, str::to_owned);
    if let Ok(value) = HeaderValue::from_str(&host) {
        headers.insert(HOST, value);
    }
}

/// Appends the client to `X-Forwarded-For` and sets `X-Forwarded-Proto` and
/// `X-Forwarded-Host`, replacing whatever the client claimed for the latter.
fn set_forwarded(headers: &mut HeaderMap, target: &Target) {
    let client = target.client_addr.to_string();
    let prior: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let chain = if prior.is_empty() {
        client
    } else {
        format!("{}, {client}", prior.join(", "))
    };
    match HeaderValue::from_str(&chain) {
        Ok(value) => headers.insert(X_FORWARDED_FOR, value),
        Err(_) => headers.remove(X_FORWARDED_FOR),
    };

    headers.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(target.client_proto),
    );
    match headers.get(HOST).cloned() {
        Some(host) => headers.insert(X_FORWARDED_HOST, host),
        None => headers.remove(X_FORWARDED_HOST),
    };
}

/// Removes the cookie called `name` from the `Cookie` header(s), keeping the
/// others; drops the header when nothing is left.
pub(crate) fn strip_cookie(headers: &mut HeaderMap, name: &str) {
    let is_named = |pair: &[u8]| {
        let key = pair.split(|b| *b == b'=').next().unwrap_or_default();
        key.trim_ascii() == name.as_bytes()
    };
    let pairs: Vec<&[u8]> = headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b';'))
        .map(<[u8]>::trim_ascii)
        .filter(|pair| !pair.is_empty())
        .collect();
    if !pairs.iter().any(|pair| is_named(pair)) {
        return;
    }
    let kept: Vec<&[u8]> = pairs.into_iter().filter(|pair| !is_named(pair)).collect();
    let value = (!kept.is_empty()).then(|| HeaderValue::from_bytes(&kept.join(&b"; "[..])));
    headers.remove(COOKIE);
    if let Some(Ok(value)) = value {
        headers.insert(COOKIE, value);
    }
}

#[cfg(test)]
mod tests;
