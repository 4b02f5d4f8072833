//! Upstream connection reuse: sequential requests share connections, many
//! concurrent requests all succeed, and `forget` and the idle timeout close
//! pooled connections.

mod common;

use std::time::Duration;

use atelier_proxy::ProxySettings;
use common::upstream::KINDS;
use common::{wait_idle, within, Client, Front, TestUpstream};
use http::StatusCode;

#[tokio::test]
async fn sequential_requests_reuse_upstream_connections() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        for i in 0..100 {
            let (head, body) = within(5, client.get(&format!("/s/abc/echo?n={i}"))).await;
            assert_eq!(head.status, StatusCode::OK);
            assert!(body.starts_with(format!("GET /echo?n={i}\n").as_bytes()));
        }
        let accepted = upstream.accepted();
        assert!(
            accepted <= 5,
            "{kind:?}: 100 requests opened {accepted} upstream connections"
        );
        assert!(
            front.proxy.idle_connections(&upstream.upstream) >= 1,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_requests_all_succeed() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let settings = ProxySettings {
            max_idle_per_upstream: 16,
            ..ProxySettings::default()
        };
        let front = Front::with_settings(upstream.upstream.clone(), settings).await;

        let mut tasks = Vec::new();
        for i in 0..50 {
            let addr = front.addr;
            tasks.push(tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                let (head, body) = client
                    .get(&format!("/s/abc/download?bytes={}", i * 1000))
                    .await;
                (head.status, body.len())
            }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let (status, len) = within(20, task).await.unwrap();
            assert_eq!(
                (status, len),
                (StatusCode::OK, i * 1000),
                "{kind:?} request {i}"
            );
        }
        // Pooled connections never exceed the per-upstream limit.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            front.proxy.idle_connections(&upstream.upstream) <= 16,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn forget_closes_pooled_connections() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        within(5, client.get("/s/abc/echo")).await;
        wait_idle(&front.proxy, &upstream.upstream, 1).await;
        within(5, client.get("/s/abc/echo")).await;
        wait_idle(&front.proxy, &upstream.upstream, 1).await;
        assert_eq!(upstream.accepted(), 1, "{kind:?}");

        front.proxy.forget(&upstream.upstream);
        assert_eq!(
            front.proxy.idle_connections(&upstream.upstream),
            0,
            "{kind:?}"
        );
        let (head, _) = within(5, client.get("/s/abc/echo")).await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(upstream.accepted(), 2, "{kind:?}");
    }
}

#[tokio::test]
async fn idle_connections_expire() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let settings = ProxySettings {
            idle_timeout: Duration::from_millis(200),
            ..Default::default()
        };
        let front = Front::with_settings(upstream.upstream.clone(), settings).await;
        let mut client = front.client().await;

        within(5, client.get("/s/abc/echo")).await;
        wait_idle(&front.proxy, &upstream.upstream, 1).await;

        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            front.proxy.idle_connections(&upstream.upstream),
            0,
            "{kind:?}"
        );
        within(5, client.get("/s/abc/echo")).await;
        assert_eq!(upstream.accepted(), 2, "{kind:?}");
    }
}
