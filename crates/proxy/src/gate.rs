//! The session gate's handshake. A session on a remote node (a Slurm job)
//! is served by its supervisor on a TCP port that anyone on the network can
//! reach, so the supervisor admits a connection only after it opens with
//! the session's secret: `ATELIER-GATE <secret>\n`, answered `OK\n`. Only
//! then are bytes carried to the IDE's unix socket. Anything else is closed
//! without an answer.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The first word of a gate greeting.
pub const GREETING: &str = "ATELIER-GATE";
/// The gate's answer to a greeting with the right secret.
pub const ACCEPTED: &[u8] = b"OK\n";
/// The longest greeting line a gate reads, newline included.
pub const MAX_GREETING: usize = 512;
/// How long either side waits for the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the gate at `addr` and passes it with `secret`; the stream
/// then carries HTTP to the IDE.
pub async fn open(addr: SocketAddr, secret: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let greeting = format!("{GREETING} {secret}\n");
    let handshake = async {
        stream.write_all(greeting.as_bytes()).await?;
        let mut answer = [0u8; ACCEPTED.len()];
        stream.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(answer)) if answer == ACCEPTED => Ok(stream),
        Ok(Ok(_)) => Err(refused()),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => Err(refused()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the session gate did not answer",
        )),
    }
}

fn refused() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        "the session gate refused the connection",
    )
}

/// The gate's side: reads the greeting from `stream` (byte by byte, so no
/// byte after it is consumed) and says whether it carries `secret`. The
/// comparison takes the same time wherever the first difference is.
pub async fn admits<S: AsyncRead + Unpin>(stream: &mut S, secret: &str) -> bool {
    let read = async {
        let mut line = Vec::with_capacity(64);
        let mut byte = [0u8; 1];
        while line.len() < MAX_GREETING {
            stream.read_exact(&mut byte).await.ok()?;
            if byte[0] == b'\n' {
                return Some(line);
            }
            line.push(byte[0]);
        }
        None
    };
    let Ok(Some(line)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, read).await else {
        return false;
    };
    let expected = format!("{GREETING} {secret}");
    !secret.is_empty() && same_bytes(&line, expected.as_bytes())
}

/// Equality whose time depends only on the lengths.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn gate(secret: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                if admits(&mut stream, secret).await {
                    stream.write_all(ACCEPTED).await.unwrap();
                    stream.write_all(b"hello").await.unwrap();
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn the_right_secret_opens_and_others_are_refused() {
        let addr = gate("s3cret").await;
        let mut stream = open(addr, "s3cret").await.unwrap();
        let mut hello = [0u8; 5];
        stream.read_exact(&mut hello).await.unwrap();
        assert_eq!(&hello, b"hello");
        for wrong in ["s3cre", "s3cret2", "", "S3CRET"] {
            let error = open(addr, wrong).await.unwrap_err();
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::PermissionDenied,
                "{wrong}"
            );
        }
        // Plain HTTP without a greeting gets nothing back.
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = raw.read_to_end(&mut answer).await;
        assert!(answer.is_empty(), "{answer:?}");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }
}
