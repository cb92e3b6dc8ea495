//! WebSocket: one binary message carries exactly one frame.

use super::{FrameReader, FrameWriter, ReadError};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use magpie_wire::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Small buffers: tungstenite's defaults (128 KiB read buffer) would dominate the memory of an
/// idle connection. Writes are coalesced up to 16 KiB (and flushed at the end of every batch the
/// connection's writer drains), so a connection that receives many frames pays one `write` per
/// batch instead of one per frame: +16–34% deliveries per engine CPU-second in fan-out to 100
/// members at 2,000 msg/s (docs/BENCHMARKS.md); nothing is allocated until a connection writes.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_FRAME_BYTES))
        .max_frame_size(Some(MAX_CLIENT_FRAME_BYTES))
}

pub struct WsReader<S> {
    stream: SplitStream<WebSocketStream<S>>,
}

pub struct WsWriter<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
}

pub fn split<S: AsyncRead + AsyncWrite + Unpin>(ws: WebSocketStream<S>) -> (WsReader<S>, WsWriter<S>) {
    let (sink, stream) = ws.split();
    (WsReader { stream }, WsWriter { sink })
}

impl<S: AsyncRead + AsyncWrite + Unpin> FrameReader for WsReader<S> {
    async fn read_frame(&mut self) -> Result<Bytes, ReadError> {
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
                Some(Err(WsError::Capacity(_))) => {
                    return Err(ReadError::Protocol(ErrorCode::FrameTooLarge, "frame too large"))
                }
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => return Err(ReadError::Closed),
                Some(Err(WsError::Protocol(_))) => {
                    return Err(ReadError::Protocol(ErrorCode::MalformedFrame, "WebSocket protocol error"))
                }
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
    }
}
