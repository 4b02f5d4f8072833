//! WebSocket upgrades through the proxy: echo of a text and a 1 MB binary
//! message, the session's credentials on the upgrade request, and a refused
//! upgrade passed through as a plain answer.

mod common;

use common::upstream::KINDS;
use common::{read_all, within, Front, TestUpstream, UPSTREAM_TOKEN};
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn websocket_echo_of_text_and_1_mb_binary() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;

        let url = format!("ws://{}/s/abc/ws", front.addr);
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", "Bearer atelier-token".parse().unwrap());
        request
            .headers_mut()
            .insert("cookie", "atelier=x; _xsrf=y".parse().unwrap());
        let stream = TcpStream::connect(front.addr).await.unwrap();
        let (mut socket, response) = within(5, tokio_tungstenite::client_async(request, stream))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SWITCHING_PROTOCOLS,
            "{kind:?}"
        );

        socket.send(Message::text("hello, kernel")).await.unwrap();
        let echoed = within(5, socket.next()).await.unwrap().unwrap();
        assert_eq!(echoed, Message::text("hello, kernel"), "{kind:?}");

        let payload: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        socket.send(Message::binary(payload.clone())).await.unwrap();
        let echoed = within(10, socket.next()).await.unwrap().unwrap();
        assert_eq!(echoed.into_data(), payload, "{kind:?}");
        socket.close(None).await.unwrap();
        // The client's frames counted as activity.
        assert!(
            front.activity.load(std::sync::atomic::Ordering::Relaxed) >= 2,
            "{kind:?}"
        );

        let seen = upstream.state.ws_headers.lock().unwrap().clone().unwrap();
        assert_eq!(seen["authorization"], UPSTREAM_TOKEN, "{kind:?}");
        assert_eq!(seen["cookie"], "_xsrf=y", "{kind:?}");
        assert_eq!(seen["upgrade"], "websocket", "{kind:?}");
        assert_eq!(seen["connection"], "upgrade", "{kind:?}");
    }
}

#[tokio::test]
async fn refused_upgrade_passes_through() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let req = http::Request::get("/s/abc/ws-deny")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(common::empty())
            .unwrap();
        let response = within(5, client.send(req)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{kind:?}");
        assert_eq!(read_all(response.into_body()).await, "no websocket for you");
    }
}
