//! Transports turn a socket into a stream of frames. The connection logic (`conn`) is the same
//! for all of them: it sees only [`FrameReader`] and [`FrameWriter`].

pub mod http;
pub mod quic;
pub mod rewind;
pub mod uring;
pub mod web;
pub mod ws;

use bytes::Bytes;
use magpie_wire::ErrorCode;

/// Why no frame could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection (or it timed out) cleanly.
    Closed,
    /// The bytes break the framing rules; the connection must be closed with this code.
    Protocol(ErrorCode, &'static str),
    /// The socket failed.
    Io(String),
}

#[allow(async_fn_in_trait)] // shard-local: these futures never cross threads
pub trait FrameReader {
    /// The next whole frame, unverified.
    async fn read_frame(&mut self) -> Result<Bytes, ReadError>;
}

#[allow(async_fn_in_trait)]
pub trait FrameWriter {
    /// Writes frames in order and flushes them.
    async fn write_frames(&mut self, frames: &[Bytes]) -> std::io::Result<()>;
    /// Closes the transport after everything written so far.
    async fn shutdown(&mut self, code: Option<ErrorCode>);
}
