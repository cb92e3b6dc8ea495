//! QUIC (quinn): one bidirectional control stream per connection carrying length-prefixed frames.

use super::{FrameReader, FrameWriter, ReadError};
use crate::shard::Shard;
use bytes::{Bytes, BytesMut};
use magpie_wire::framing::{len_prefix, parse_len_prefix, LEN_PREFIX_BYTES};
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use magpie_wire::ErrorCode;
use std::rc::Rc;
use std::time::Duration;

/// How long a client has, after the QUIC handshake, to open its control stream.
const STREAM_OPEN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct QuicReader {
    recv: quinn::RecvStream,
}

pub struct QuicWriter {
    send: quinn::SendStream,
    conn: quinn::Connection,
}

impl FrameReader for QuicReader {
    async fn read_frame(&mut self) -> Result<Bytes, ReadError> {
        let mut prefix = [0u8; LEN_PREFIX_BYTES];
        match self.recv.read_exact(&mut prefix).await {
            Ok(()) => {}
            Err(quinn::ReadExactError::FinishedEarly(0)) => return Err(ReadError::Closed),
            Err(quinn::ReadExactError::FinishedEarly(_)) => {
                return Err(ReadError::Protocol(ErrorCode::MalformedFrame, "stream ended inside a length prefix"))
            }
            Err(quinn::ReadExactError::ReadError(e)) => return Err(read_error(e)),
        }
        let len = parse_len_prefix(prefix, MAX_CLIENT_FRAME_BYTES).map_err(|code| {
            ReadError::Protocol(code, if code == ErrorCode::FrameTooLarge { "frame too large" } else { "empty frame" })
        })?;
        // Allocated only once the frame's bytes are on their way: idle connections hold no buffer.
        let mut buf = BytesMut::zeroed(len);
        match self.recv.read_exact(&mut buf).await {
            Ok(()) => Ok(buf.freeze()),
            Err(quinn::ReadExactError::FinishedEarly(_)) => {
                Err(ReadError::Protocol(ErrorCode::MalformedFrame, "stream ended inside a frame"))
            }
            Err(quinn::ReadExactError::ReadError(e)) => Err(read_error(e)),
        }
    }
}

fn read_error(e: quinn::ReadError) -> ReadError {
    match e {
        quinn::ReadError::ConnectionLost(
            quinn::ConnectionError::ApplicationClosed(_)
            | quinn::ConnectionError::LocallyClosed
            | quinn::ConnectionError::TimedOut,
        ) => ReadError::Closed,
        other => ReadError::Io(other.to_string()),
    }
}

impl FrameWriter for QuicWriter {
    async fn write_frames(&mut self, frames: &[Bytes]) -> std::io::Result<()> {
        // One contiguous chunk per batch, prefixes and frames copied in: one allocation instead of
        // one per prefix plus a chunk list, and half as many segments in quinn's send buffer,
        // which it scans linearly for every packet it builds and every ACK it processes.
        let total = frames.iter().map(|f| LEN_PREFIX_BYTES + f.len()).sum();
        let mut chunk = BytesMut::with_capacity(total);
        for f in frames {
            chunk.extend_from_slice(&len_prefix(f.len()));
            chunk.extend_from_slice(f);
        }
        self.send.write_chunk(chunk.freeze()).await.map_err(std::io::Error::other)
    }

    async fn shutdown(&mut self, code: Option<ErrorCode>) {
        let _ = self.send.finish();
        // Give the peer a moment to read what we sent (the Close frame) before tearing down.
        let _ = tokio::time::timeout(Duration::from_millis(500), self.send.stopped()).await;
        let code = code.map(|c| c as u32).unwrap_or(0);
        self.conn.close(code.into(), b"");
    }
}

/// Accepts QUIC connections on this shard's endpoint for ever.
pub async fn serve(shard: Rc<Shard>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let shard = shard.clone();
        tokio::task::spawn_local(async move {
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "QUIC handshake failed");
                    return;
                }
            };
            let (send, recv) = match tokio::time::timeout(STREAM_OPEN_TIMEOUT, conn.accept_bi()).await {
                Ok(Ok(s)) => s,
                _ => {
                    conn.close(0u32.into(), b"no control stream");
                    return;
                }
            };
            let datagrams = Some(conn.clone());
            crate::conn::serve(shard, QuicReader { recv }, QuicWriter { send, conn }, crate::metrics::Transport::Quic, datagrams).await;
        });
    }
}
