//! Unit tests of the header rewriting rules.

use super::*;
use crate::Upstream;

fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers
}

fn target() -> Target {
    Target {
        upstream: Upstream::Unix("/tmp/none.sock".into()),
        path_and_query: "/".into(),
        set_headers: vec![(AUTHORIZATION, HeaderValue::from_static("token up"))],
        strip_cookie: Some("atelier".into()),
        client_addr: [192, 0, 2, 7].into(),
        client_proto: "https",
        on_activity: None,
    }
}

#[test]
fn hop_by_hop_and_connection_listed_headers_go() {
    let mut headers = map(&[
        ("connection", "keep-alive, x-private"),
        ("keep-alive", "timeout=5"),
        ("x-private", "1"),
        ("te", "trailers"),
        ("transfer-encoding", "chunked"),
        ("proxy-authorization", "Basic eA=="),
        ("x-kept", "yes"),
    ]);
    strip_hop_by_hop(&mut headers, false);
    let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    assert_eq!(names, ["x-kept"]);
}

#[test]
fn websocket_upgrade_headers_are_normalised_and_kept() {
    let mut headers = map(&[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
    ]);
    assert!(is_websocket(&headers));
    strip_hop_by_hop(&mut headers, true);
    assert_eq!(headers["connection"], "upgrade");
    assert_eq!(headers["upgrade"], "websocket");
    assert!(!is_websocket(&map(&[("upgrade", "websocket")])));
    assert!(!is_websocket(&map(&[
        ("connection", "upgrade"),
        ("upgrade", "h2c")
    ])));
}

#[test]
fn cookie_of_atelier_is_removed_others_kept() {
    let mut headers = map(&[
        ("cookie", "atelier=abc; _xsrf=2|x; theme=dark"),
        ("cookie", "atelier2=z"),
    ]);
    strip_cookie(&mut headers, "atelier");
    assert_eq!(headers.get_all(COOKIE).iter().count(), 1);
    assert_eq!(headers[COOKIE], "_xsrf=2|x; theme=dark; atelier2=z");

    let mut only = map(&[("cookie", " atelier=abc ")]);
    strip_cookie(&mut only, "atelier");
    assert!(!only.contains_key(COOKIE));

    let mut untouched = map(&[("cookie", "a=1;b=2")]);
    strip_cookie(&mut untouched, "atelier");
    assert_eq!(untouched[COOKIE], "a=1;b=2");
}

#[test]
fn request_rewrite_replaces_credentials_and_sets_forwarded() {
    let mut headers = map(&[
        ("host", "atelier.example"),
        ("authorization", "Bearer atelier-token"),
        ("x-forwarded-for", "198.51.100.1"),
        ("x-forwarded-host", "spoofed"),
        ("cookie", "atelier=secret"),
    ]);
    rewrite_request(&mut headers, &target(), false, None);
    assert_eq!(
        headers.get_all(AUTHORIZATION).iter().collect::<Vec<_>>(),
        ["token up"]
    );
    assert_eq!(headers["x-forwarded-for"], "198.51.100.1, 192.0.2.7");
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(headers["x-forwarded-host"], "atelier.example");
    assert_eq!(headers["host"], "atelier.example");
    assert!(!headers.contains_key(COOKIE));
}

#[test]
fn host_comes_from_authority_or_upstream_when_missing() {
    let mut headers = HeaderMap::new();
    rewrite_request(&mut headers, &target(), false, Some("example.org:8443"));
    assert_eq!(headers["host"], "example.org:8443");
    assert_eq!(headers["x-forwarded-host"], "example.org:8443");

    let mut headers = HeaderMap::new();
    rewrite_request(&mut headers, &target(), false, None);
    assert_eq!(headers["host"], "localhost");
}
