//! Plain HTTP forwarding: paths, header rewriting both ways, and the JSON
//! errors for unreachable or silent upstreams. Every test runs against a unix
//! socket upstream and a TCP one.

mod common;

use std::time::Duration;

use atelier_proxy::{ProxySettings, Upstream};
use common::upstream::{parse_echo, values, KINDS};
use common::{read_all, within, Front, TestUpstream, UPSTREAM_TOKEN};
use http::{Request, StatusCode};

#[tokio::test]
async fn get_with_query_passes_path_and_query_exactly() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let path = "/api/contents/a%20b/c.ipynb?type=notebook&content=1&x=%2F%3F&&y";
        let (head, body) = within(5, client.get(&format!("/s/abc{path}"))).await;
        assert_eq!(head.status, StatusCode::OK, "{kind:?}");
        let (line, _) = parse_echo(&body);
        assert_eq!(line, format!("GET {path}"), "{kind:?}");
    }
}

#[tokio::test]
async fn request_headers_are_rewritten() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let req = Request::get("/s/abc/echo")
            .header("host", "atelier.example:8443")
            .header("authorization", "Bearer atelier-api-token")
            .header(
                "cookie",
                "atelier=login-secret; _xsrf=2|abc|def; theme=dark",
            )
            .header("connection", "keep-alive, x-hop")
            .header("keep-alive", "timeout=5")
            .header("x-hop", "1")
            .header("te", "trailers")
            .header("proxy-authorization", "Basic eDp5")
            .header("x-forwarded-for", "203.0.113.9")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "spoofed.example")
            .header("x-custom", "kept")
            .body(common::empty())
            .unwrap();
        let response = within(5, client.send(req)).await;
        let (_, headers) = parse_echo(&read_all(response.into_body()).await);

        for gone in [
            "connection",
            "keep-alive",
            "x-hop",
            "te",
            "proxy-authorization",
        ] {
            assert!(
                values(&headers, gone).is_empty(),
                "{kind:?}: {gone} reached upstream"
            );
        }
        assert!(values(&headers, "transfer-encoding").is_empty(), "{kind:?}");
        assert_eq!(
            values(&headers, "authorization"),
            [UPSTREAM_TOKEN],
            "{kind:?}"
        );
        assert_eq!(
            values(&headers, "cookie"),
            ["_xsrf=2|abc|def; theme=dark"],
            "{kind:?}"
        );
        assert_eq!(
            values(&headers, "host"),
            ["atelier.example:8443"],
            "{kind:?}"
        );
        assert_eq!(
            values(&headers, "x-forwarded-for"),
            ["203.0.113.9, 127.0.0.1"],
            "{kind:?}"
        );
        assert_eq!(values(&headers, "x-forwarded-proto"), ["http"], "{kind:?}");
        assert_eq!(
            values(&headers, "x-forwarded-host"),
            ["atelier.example:8443"],
            "{kind:?}"
        );
        assert_eq!(values(&headers, "x-custom"), ["kept"], "{kind:?}");
    }
}

#[tokio::test]
async fn lone_atelier_cookie_drops_the_header_and_forwarded_for_starts_fresh() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let req = Request::get("/s/abc/echo")
            .header("cookie", "atelier=login-secret")
            .body(common::empty())
            .unwrap();
        let response = within(5, client.send(req)).await;
        let (_, headers) = parse_echo(&read_all(response.into_body()).await);
        assert!(values(&headers, "cookie").is_empty(), "{kind:?}");
        assert_eq!(
            values(&headers, "x-forwarded-for"),
            ["127.0.0.1"],
            "{kind:?}"
        );
        assert_eq!(
            values(&headers, "x-forwarded-host"),
            ["front.test"],
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn response_hop_by_hop_headers_are_removed() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let (head, body) = within(5, client.get("/s/abc/hop")).await;
        assert_eq!(&body[..], b"hop");
        for gone in [
            "connection",
            "x-hop-resp",
            "keep-alive",
            "proxy-authenticate",
            "trailer",
        ] {
            assert!(
                !head.headers.contains_key(gone),
                "{kind:?}: {gone} reached the client"
            );
        }
        assert_eq!(head.headers["x-kept"], "yes", "{kind:?}");
    }
}

#[tokio::test]
async fn missing_or_refusing_upstream_is_a_502_json() {
    let dir = tempfile::tempdir().unwrap();
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    for upstream in [
        Upstream::Unix(dir.path().join("gone.sock")),
        Upstream::Tcp(refused),
    ] {
        let front = Front::start(upstream.clone()).await;
        let mut client = front.client().await;

        let (head, body) = within(10, client.get("/s/abc/lab")).await;
        assert_eq!(head.status, StatusCode::BAD_GATEWAY, "{upstream}");
        assert_eq!(head.headers["content-type"], "application/json");
        let text = std::str::from_utf8(&body).unwrap();
        assert!(
            text.starts_with(r#"{"error":{"code":"session_unreachable","message":""#),
            "{text}"
        );
        assert!(
            !text.contains("gone.sock") && !text.contains("os error"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn silent_upstream_is_a_504_json() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let settings = ProxySettings {
            response_timeout: Duration::from_millis(300),
            ..Default::default()
        };
        let front = Front::with_settings(upstream.upstream.clone(), settings).await;
        let mut client = front.client().await;

        let (head, body) = within(5, client.get("/s/abc/hang")).await;
        assert_eq!(head.status, StatusCode::GATEWAY_TIMEOUT, "{kind:?}");
        assert!(std::str::from_utf8(&body)
            .unwrap()
            .contains("session_unreachable"));

        // The abandoned connection is not reused: the next request works.
        let (head, _) = within(5, client.get("/s/abc/echo")).await;
        assert_eq!(head.status, StatusCode::OK, "{kind:?}");
    }
}
