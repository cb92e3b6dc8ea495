//! WebSocket: one binary message carries exactly one frame.
//!
//! Once tungstenite has failed on the input (a message over the size limit, a WebSocket protocol
//! error) it reads no more, but the peer's bytes are still arriving. The reader then reads and
//! discards them straight from the socket, so that the linger after a violation (`conn::serve`)
//! works here as for any other violation: the server's Close goes out and the connection ends
//! with a FIN, instead of a reset (unread input at close) that could destroy the Close in flight.

use super::{FrameReader, FrameWriter, ReadError};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use magpie_wire::ErrorCode;
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Bytes discarded per read once tungstenite has given up on the input.
const DISCARD_CHUNK: usize = 8 * 1024;

/// Small buffers: tungstenite's defaults (128 KiB read buffer) would dominate the memory of an
/// idle connection. Its read buffer is allocated up front and kept, so it is 1 KiB: client frames
/// are requests, nearly all smaller than that, and a larger one (a 64 KiB message) simply takes
/// more reads; 4 KiB cost 3.6 KiB more per idle connection (`density`, docs/BENCHMARKS.md). Writes are coalesced up to 16 KiB (and flushed at the end of every batch the
/// connection's writer drains), so a connection that receives many frames pays one `write` per
/// batch instead of one per frame: +16–34% deliveries per engine CPU-second in fan-out to 100
/// members at 2,000 msg/s (docs/BENCHMARKS.md); nothing is allocated until a connection writes.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_FRAME_BYTES))
        .max_frame_size(Some(MAX_CLIENT_FRAME_BYTES))
}

/// The socket under the WebSocket, reachable both through tungstenite and directly (to discard
/// input after tungstenite has failed, and to shut the write side down after the close). Every
/// poll borrows it only for its own duration, and a connection's tasks run on one thread.
struct Shared<S>(Rc<RefCell<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Shared<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Shared<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_write(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_shutdown(cx)
    }
}

pub struct WsReader<S> {
    stream: SplitStream<WebSocketStream<Shared<S>>>,
    raw: Shared<S>,
    /// tungstenite failed on the input and reads no more: discard what still arrives.
    failed: bool,
}

pub struct WsWriter<S> {
    sink: SplitSink<WebSocketStream<Shared<S>>, Message>,
    raw: Shared<S>,
}

/// The server side of a WebSocket on `stream`, whose upgrade request has been answered;
/// `read_ahead` are bytes already read after the request head.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S, read_ahead: Vec<u8>) -> (WsReader<S>, WsWriter<S>) {
    let raw = Shared(Rc::new(RefCell::new(stream)));
    let ws = WebSocketStream::from_partially_read(raw.clone(), read_ahead, Role::Server, Some(config())).await;
    let (sink, stream) = ws.split();
    (WsReader { stream, raw: raw.clone(), failed: false }, WsWriter { sink, raw })
}

impl<S: AsyncRead + Unpin> WsReader<S> {
    /// Records that tungstenite gave up on the input, and says why.
    fn fail(&mut self, code: ErrorCode, why: &'static str) -> Result<Bytes, ReadError> {
        self.failed = true;
        Err(ReadError::Protocol(code, why))
    }

    /// Reads and drops everything the peer still sends, until it closes (or the caller's
    /// linger gives up). Never yields a frame.
    async fn discard(&mut self) -> Result<Bytes, ReadError> {
        // On the heap: a buffer inside this future would enlarge every read future, and so the
        // task of every idle connection.
        let mut chunk = vec![0u8; DISCARD_CHUNK];
        loop {
            match self.raw.read(&mut chunk).await {
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => continue,
                Err(e) => return Err(ReadError::Io(e.to_string())),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> FrameReader for WsReader<S> {
    async fn read_frame(&mut self) -> Result<Bytes, ReadError> {
        if self.failed {
            return self.discard().await;
        }
        loop {
            match self.stream.next().await {
                None => return Err(ReadError::Closed),
                Some(Ok(Message::Binary(b))) => {
                    if b.is_empty() {
                        return Err(ReadError::Protocol(ErrorCode::MalformedFrame, "empty frame"));
                    }
                    return Ok(b);
                }
                Some(Ok(Message::Text(_))) => {
                    return Err(ReadError::Protocol(ErrorCode::MalformedFrame, "text messages are not frames"))
                }
                Some(Ok(Message::Close(_))) => return Err(ReadError::Closed),
                // Pings are answered by tungstenite itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                // tungstenite stops at the header of an oversize frame: its payload, and whatever
                // follows, is still unread.
                Some(Err(WsError::Capacity(_))) => return self.fail(ErrorCode::FrameTooLarge, "frame too large"),
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => return Err(ReadError::Closed),
                Some(Err(WsError::Protocol(_))) => return self.fail(ErrorCode::MalformedFrame, "WebSocket protocol error"),
                Some(Err(e)) => return Err(ReadError::Io(e.to_string())),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> FrameWriter for WsWriter<S> {
    async fn write_frames(&mut self, frames: &[Bytes]) -> std::io::Result<()> {
        for f in frames {
            self.sink.feed(Message::Binary(f.clone())).await.map_err(std::io::Error::other)?;
        }
        self.sink.flush().await.map_err(std::io::Error::other)
    }

    async fn shutdown(&mut self, code: Option<ErrorCode>) {
        let frame = CloseFrame {
            code: if code.is_some() { CloseCode::Policy } else { CloseCode::Normal },
            reason: code.map(|c| c.name()).unwrap_or("").into(),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
        let _ = self.sink.close().await;
        // Nothing more will be written: say so (FIN), so that a peer that waits for the server to
        // end the TCP connection after the close handshake (RFC 6455 §7.1.1) does not wait for
        // the linger to run out. Reading goes on until the peer closes its side.
        let _ = self.raw.shutdown().await;
    }
}
