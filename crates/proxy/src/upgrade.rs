//! WebSocket pass-through: once the upstream has answered `101`, both
//! connections are taken over from hyper and bytes are copied between them
//! until either side closes.

use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tracing::debug;

use crate::pool::Sender;
use crate::{Activity, Upstream};

/// Splices the client's connection (`client`, resolved once the `101` has
/// been written to it) with the upstream's (`upstream`) in a task of its own.
/// `sender` is held until both upgrades resolve so that hyper hands the
/// upstream connection over rather than closing it; it is never reused.
pub(crate) fn splice(
    client: OnUpgrade,
    upstream: OnUpgrade,
    sender: Sender,
    name: Upstream,
    on_activity: Option<Activity>,
) {
    tokio::spawn(async move {
        let joined = tokio::try_join!(client, upstream);
        drop(sender);
        let (client, upstream) = match joined {
            Ok(pair) => pair,
            Err(error) => {
                debug!(upstream = %name, %error, "websocket upgrade did not complete");
                return;
            }
        };
        let mut client = Watched {
            inner: TokioIo::new(client),
            on_activity,
        };
        let mut upstream = TokioIo::new(upstream);
        // No buffer is held while the socket is idle (see `copy`).
        match crate::copy::copy_both_ways(&mut client, &mut upstream).await {
            Ok((sent, received)) => {
                debug!(upstream = %name, sent, received, "websocket closed");
            }
            Err(error) => debug!(upstream = %name, %error, "websocket ended with an error"),
        }
    });
}

/// The client's side of a spliced connection, reporting each read that
/// carried bytes.
struct Watched<T> {
    inner: T,
    on_activity: Option<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            if let Some(on_activity) = &self.on_activity {
                on_activity();
            }
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
