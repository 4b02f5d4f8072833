//! Copying bytes both ways between two connections without a buffer per
//! idle connection: [`copy_both_ways`].
//!
//! A proxied WebSocket is idle nearly all of its life (a notebook tab left
//! open), and tokio's `copy_bidirectional` keeps a buffer for each direction
//! for as long as the connection lives. Here each read lands in a buffer on
//! the stack of the poll that made it and is written on at once; only the
//! bytes that the other side cannot take yet are copied to the heap, and
//! that copy is freed as soon as it has been written. An idle connection
//! therefore holds no buffer at all.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read per poll, on the stack.
const READ_CHUNK: usize = 16 * 1024;

/// Copies `a` → `b` and `b` → `a` until both directions have ended. A
/// direction ends when its reader reaches the end (the other side's writer
/// is then shut down, as in a TCP half-close). Returns the bytes copied
/// each way, `a` → `b` first; the first error ends both.
pub(crate) async fn copy_both_ways<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    BothWays {
        a,
        b,
        a_to_b: Direction::default(),
        b_to_a: Direction::default(),
    }
    .await
}

struct BothWays<'a, A: ?Sized, B: ?Sized> {
    a: &'a mut A,
    b: &'a mut B,
    a_to_b: Direction,
    b_to_a: Direction,
}

impl<A, B> Future for BothWays<'_, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<(u64, u64)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let forward = this.a_to_b.poll_copy(cx, &mut *this.a, &mut *this.b)?;
        let backward = this.b_to_a.poll_copy(cx, &mut *this.b, &mut *this.a)?;
        match (forward, backward) {
            (Poll::Ready(sent), Poll::Ready(received)) => Poll::Ready(Ok((sent, received))),
            _ => Poll::Pending,
        }
    }
}

/// One direction: what is still to be written, and how far it got.
#[derive(Default)]
struct Direction {
    /// Bytes read but not yet taken by the writer; empty (and unallocated)
    /// while the direction is idle.
    unwritten: Vec<u8>,
    /// How much of `unwritten` is written already.
    written: usize,
    /// Bytes written since the last flush.
    unflushed: bool,
    /// The reader has ended; the writer is being shut down.
    read_done: bool,
    /// Bytes copied in all.
    total: u64,
    /// The writer is shut down: nothing more to do.
    finished: bool,
}

impl Direction {
    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut R,
        writer: &mut W,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        if self.finished {
            return Poll::Ready(Ok(self.total));
        }
        loop {
            if self.written < self.unwritten.len() {
                ready!(self.poll_write_rest(cx, writer))?;
                continue;
            }
            if self.read_done {
                ready!(Pin::new(&mut *writer).poll_shutdown(cx))?;
                self.finished = true;
                return Poll::Ready(Ok(self.total));
            }
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut chunk);
            match Pin::new(&mut *reader).poll_read(cx, &mut buf) {
                Poll::Ready(result) => result?,
                Poll::Pending => {
                    // Nothing more to read for now: push out what was written.
                    if self.unflushed {
                        ready!(Pin::new(&mut *writer).poll_flush(cx))?;
                        self.unflushed = false;
                    }
                    return Poll::Pending;
                }
            }
            let read = buf.filled();
            if read.is_empty() {
                self.read_done = true;
                continue;
            }
            self.write_now(cx, writer, read)?;
        }
    }

    /// Writes `read` as far as the writer takes it right now; keeps the
    /// rest on the heap for the next polls.
    fn write_now<W>(&mut self, cx: &mut Context<'_>, writer: &mut W, read: &[u8]) -> io::Result<()>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut done = 0;
        while done < read.len() {
            match Pin::new(&mut *writer).poll_write(cx, &read[done..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    done += n;
                    self.total += n as u64;
                    self.unflushed = true;
                }
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Pending => break,
            }
        }
        if done < read.len() {
            self.unwritten = read[done..].to_vec();
            self.written = 0;
        }
        Ok(())
    }

    /// Writes what is left of `unwritten`; frees it once all is written.
    fn poll_write_rest<W>(&mut self, cx: &mut Context<'_>, writer: &mut W) -> Poll<io::Result<()>>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        while self.written < self.unwritten.len() {
            let n = ready!(Pin::new(&mut *writer).poll_write(cx, &self.unwritten[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
            self.total += n as u64;
            self.unflushed = true;
        }
        self.unwritten = Vec::new();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn carries_both_ways_through_a_slow_reader_and_ends_on_close() {
        // Small pipes, so that the writer pushes back and bytes wait on the heap.
        let (mut client, mut proxy_client) = duplex(64);
        let (mut proxy_upstream, mut upstream) = duplex(64);
        let copying =
            tokio::spawn(
                async move { copy_both_ways(&mut proxy_client, &mut proxy_upstream).await },
            );
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sent = big.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.shutdown().await.unwrap();
            let mut back = Vec::new();
            client.read_to_end(&mut back).await.unwrap();
            back
        });
        let mut got = Vec::new();
        upstream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, big, "client to upstream");
        upstream.write_all(b"bye").await.unwrap();
        upstream.shutdown().await.unwrap();
        assert_eq!(writer.await.unwrap(), b"bye");
        let (forward, backward) = copying.await.unwrap().unwrap();
        assert_eq!((forward, backward), (big.len() as u64, 3));
    }

    #[tokio::test]
    async fn an_idle_direction_holds_no_buffer() {
        let (_client, mut proxy_client) = duplex(1024);
        let (mut proxy_upstream, mut upstream) = duplex(1024);
        let mut both = Box::pin(BothWays {
            a: &mut proxy_client,
            b: &mut proxy_upstream,
            a_to_b: Direction::default(),
            b_to_a: Direction::default(),
        });
        upstream.write_all(b"hello").await.unwrap();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!(both.a_to_b.unwritten.capacity(), 0);
        assert_eq!(both.b_to_a.unwritten.capacity(), 0);
        assert_eq!(both.b_to_a.total, 5);
    }
}
