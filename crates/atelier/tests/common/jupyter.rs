//! Talking to Jupyter through Atelier's proxy: kernels over WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Server;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Starts the default kernel in session `id` and opens its channels through the proxy.
pub async fn open_kernel(server: &Server, token: &str, id: &str) -> Socket {
    open_named_kernel(server, token, id, None).await
}

/// Starts kernel `name` (or the default) and opens its channels through the proxy.
pub async fn open_named_kernel(
    server: &Server,
    token: &str,
    id: &str,
    name: Option<&str>,
) -> Socket {
    let api = server.client().with_token(token);
    let body = name.map_or_else(|| json!({}), |name| json!({ "name": name }));
    let kernel = api.post(&format!("/s/{id}/api/kernels"), body).await;
    assert_eq!(kernel.status, 201, "{}", kernel.text());
    let kernel_id = kernel.json()["id"].as_str().unwrap().to_owned();
    let url = format!(
        "ws://127.0.0.1:{}/s/{id}/api/kernels/{kernel_id}/channels",
        server.port
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket through the proxy");
    socket
}

/// Sends an execute request; returns its message id.
pub async fn execute(socket: &mut Socket, code: &str) -> String {
    let msg_id = format!("atelier-test-{:08x}", rand::random::<u32>());
    let execute = json!({
        "header": {"msg_id": msg_id, "username": "test", "session": "s1", "msg_type": "execute_request", "version": "5.3", "date": "2026-01-01T00:00:00Z"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": false, "store_history": false, "user_expressions": {}, "allow_stdin": false, "stop_on_error": true},
    });
    socket
        .send(Message::text(execute.to_string()))
        .await
        .unwrap();
    msg_id
}

/// Collects the stream output of request `msg_id` until the kernel is idle again.
pub async fn output_of(socket: &mut Socket, msg_id: &str) -> String {
    let mut output = String::new();
    let read = async {
        while let Some(message) = socket.next().await {
            let Ok(Message::Text(text)) = message else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).unwrap();
            if message["parent_header"]["msg_id"] != msg_id {
                continue;
            }
            match message["msg_type"].as_str() {
                Some("stream") => {
                    output.push_str(message["content"]["text"].as_str().unwrap_or(""))
                }
                Some("status") if message["content"]["execution_state"] == "idle" => break,
                Some("error") => panic!("kernel error: {}", message["content"]),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("kernel output in time");
    output
}

/// Runs `code` in a new kernel of session `id`; returns what it printed.
pub async fn run_in_kernel(server: &Server, token: &str, id: &str, code: &str) -> String {
    let mut socket = open_kernel(server, token, id).await;
    let msg_id = execute(&mut socket, code).await;
    output_of(&mut socket, &msg_id).await
}
