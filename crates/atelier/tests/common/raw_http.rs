//! HTTP/1.1 written byte for byte on a `TcpStream`, so that request targets
//! reach the server exactly as an attacker would send them (no client-side
//! path normalisation, NUL bytes and malformed headers allowed).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server answered, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawReply {
    /// Status code; 0 when the server closed without an answer.
    pub(crate) status: u16,
    /// Header lines, lower-cased names, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub(crate) body: Vec<u8>,
}

impl RawReply {
    /// The first header called `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// What must be identical between a refused and a missing session:
    /// status, content type, location and body.
    pub(crate) fn shape(&self) -> (u16, Option<String>, Option<String>, Vec<u8>) {
        let owned = |name| self.header(name).map(str::to_owned);
        (
            self.status,
            owned("content-type"),
            owned("location"),
            self.body.clone(),
        )
    }
}

/// A request head: `METHOD TARGET HTTP/1.1`, `Host`, the given header lines
/// (raw bytes) and `Connection: close`, then `body`.
pub(crate) fn request(
    method: &str,
    target: &[u8],
    port: u16,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(method.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(target);
    bytes.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        bytes.extend_from_slice(format!("Host: 127.0.0.1:{port}\r\n").as_bytes());
    }
    for (name, value) in headers {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"Connection: close\r\n\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` to the server on `port` and reads the answer until the
/// server closes (or a `101 Switching Protocols` head is complete).
pub(crate) async fn send(port: u16, bytes: &[u8]) -> RawReply {
    send_for(port, bytes, Duration::from_secs(15)).await
}

/// [`send`], reading for at most `limit` (a stream that stays open).
pub(crate) async fn send_for(port: u16, bytes: &[u8], limit: Duration) -> RawReply {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the server accepts connections");
    // A server may answer and close before it read everything (a refused
    // over-long head): a failed write is not a failure of the test.
    let _ = stream.write_all(bytes).await;
    let mut received = Vec::new();
    let read = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
            if received.starts_with(b"HTTP/1.1 101") && head_end(&received).is_some() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(limit, read).await;
    parse(&received)
}

fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse(bytes: &[u8]) -> RawReply {
    let Some(end) = head_end(bytes) else {
        return RawReply {
            status: 0,
            headers: Vec::new(),
            body: bytes.to_vec(),
        };
    };
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let raw_body = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    RawReply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&bytes[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || bytes.len() < start + size {
            break;
        }
        body.extend_from_slice(&bytes[start..start + size]);
        bytes = bytes.get(start + size + 2..).unwrap_or_default();
    }
    body
}
