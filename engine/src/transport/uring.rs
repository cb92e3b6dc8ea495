//! TCP over io_uring (tokio-uring), adapted to tokio's `AsyncRead`/`AsyncWrite` so the HTTP
//! front and the WebSocket codec are the same code on both I/O paths.
//!
//! io_uring operations own their buffers until the kernel completes them, so the adapter keeps
//! the in-flight operation as a boxed future and hands its result out on later polls.

use crate::shard::Shard;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type Op<T> = Pin<Box<dyn Future<Output = T>>>;

/// Bytes asked of the kernel per read.
const READ_CHUNK: usize = 4096;

pub struct UringStream {
    inner: Rc<tokio_uring::net::TcpStream>,
    reading: Option<Op<(io::Result<usize>, Vec<u8>)>>,
    /// Data read but not yet consumed, and how much of it was consumed.
    leftover: Vec<u8>,
    consumed: usize,
    writing: Option<Op<io::Result<()>>>,
}

impl UringStream {
    pub fn new(stream: tokio_uring::net::TcpStream) -> UringStream {
        UringStream { inner: Rc::new(stream), reading: None, leftover: Vec::new(), consumed: 0, writing: None }
    }

    fn poll_write_done(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(op) = self.writing.as_mut() {
            let r = ready!(op.as_mut().poll(cx));
            self.writing = None;
            r?;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for UringStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.reading.is_some() || this.consumed == this.leftover.len() {
            let op = this.reading.get_or_insert_with(|| {
                let stream = this.inner.clone();
                this.consumed = 0;
                let buf = std::mem::take(&mut this.leftover);
                Box::pin(async move {
                    let mut buf = buf;
                    buf.clear();
                    buf.reserve(READ_CHUNK);
                    let (r, buf) = stream.read(buf).await;
                    (r, buf)
                })
            });
            let (r, buf) = ready!(op.as_mut().poll(cx));
            this.reading = None;
            this.leftover = buf;
            this.consumed = 0;
            if let Err(e) = r {
                this.leftover = Vec::new();
                return Poll::Ready(Err(e));
            }
        }
        let available = &this.leftover[this.consumed..];
        let n = available.len().min(out.remaining());
        out.put_slice(&available[..n]);
        this.consumed += n;
        if this.consumed == this.leftover.len() && this.leftover.capacity() > READ_CHUNK {
            // Do not keep a grown buffer around while idle.
            this.leftover = Vec::new();
            this.consumed = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for UringStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_write_done(cx))?;
        // Accept the bytes now; the kernel writes them while the caller goes on, and the next
        // write or flush waits for that to finish.
        let stream = self.inner.clone();
        let buf = data.to_vec();
        let mut op: Op<io::Result<()>> = Box::pin(async move { stream.write_all(buf).await.0 });
        // Poll once now so the write is submitted to the kernel without waiting for a flush.
        match op.as_mut().poll(cx) {
            Poll::Ready(r) => r?,
            Poll::Pending => self.writing = Some(op),
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_done(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_write_done(cx))?;
        let _ = self.inner.shutdown(std::net::Shutdown::Write);
        Poll::Ready(Ok(()))
    }
}

/// Accepts TCP connections through io_uring for ever.
pub async fn serve_tcp(shard: Rc<Shard>, listener: std::net::TcpListener) {
    let listener = tokio_uring::net::TcpListener::from_std(listener);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let shard = shard.clone();
                tokio::task::spawn_local(crate::transport::http::accept(shard, UringStream::new(stream), peer));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// Whether this kernel lets us create an io_uring (containers often forbid it).
pub fn available() -> Result<(), String> {
    // On a thread of its own: the probe builds and drops a runtime, which tokio forbids inside
    // another runtime (as when a test starts an engine from async code).
    std::thread::spawn(|| tokio_uring::Runtime::new(&tokio_uring::builder()).map(drop).map_err(|e| e.to_string()))
        .join()
        .unwrap_or_else(|_| Err("io_uring probe panicked".into()))
}
