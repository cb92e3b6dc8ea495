//! Framing for both transports.
//!
//! - WebSocket: one binary message carries exactly one `Frame`, nothing else.
//! - QUIC: the control stream carries frames back to back, each preceded by its length as a
//!   4-byte big-endian unsigned integer. [`FrameReader`] splits such a byte stream (sans I/O, so
//!   it is unit-tested and fuzzed without sockets).

use crate::ErrorCode;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Bytes of the length prefix on QUIC streams.
pub const LEN_PREFIX_BYTES: usize = 4;

/// The length prefix for a frame of `len` bytes.
pub fn len_prefix(len: usize) -> [u8; LEN_PREFIX_BYTES] {
    u32::try_from(len).expect("frame length fits in u32").to_be_bytes()
}

/// Parses a length prefix, rejecting empty frames and frames over `max_frame`.
pub fn parse_len_prefix(prefix: [u8; LEN_PREFIX_BYTES], max_frame: usize) -> Result<usize, ErrorCode> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 {
        Err(ErrorCode::MalformedFrame)
    } else if len > max_frame {
        Err(ErrorCode::FrameTooLarge)
    } else {
        Ok(len)
    }
}

/// Appends `frame` with its length prefix to `dst`.
pub fn put_prefixed(dst: &mut BytesMut, frame: &[u8]) {
    dst.reserve(LEN_PREFIX_BYTES + frame.len());
    dst.put_slice(&len_prefix(frame.len()));
    dst.put_slice(frame);
}

/// Splits a length-prefixed byte stream into frames. It holds only the bytes of one incomplete
/// frame, and nothing at all between frames.
#[derive(Debug)]
pub struct FrameReader {
    buf: BytesMut,
    max_frame: usize,
}

impl FrameReader {
    pub fn new(max_frame: usize) -> Self {
        FrameReader { buf: BytesMut::new(), max_frame }
    }

    /// Adds bytes received from the stream.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the error that makes the
    /// stream unusable (a bad prefix; the connection must be closed).
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, ErrorCode> {
        if self.buf.len() < LEN_PREFIX_BYTES {
            return Ok(None);
        }
        let prefix = [self.buf[0], self.buf[1], self.buf[2], self.buf[3]];
        let len = parse_len_prefix(prefix, self.max_frame)?;
        if self.buf.len() < LEN_PREFIX_BYTES + len {
            self.buf.reserve(LEN_PREFIX_BYTES + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(LEN_PREFIX_BYTES);
        let frame = self.buf.split_to(len).freeze();
        if self.buf.is_empty() {
            // Give the allocation back while idle rather than keeping a large buffer per stream.
            self.buf = BytesMut::new();
        }
        Ok(Some(frame))
    }

    /// Bytes buffered towards an incomplete frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_empty_and_oversized() {
        assert_eq!(parse_len_prefix([0, 0, 0, 0], 10), Err(ErrorCode::MalformedFrame));
        assert_eq!(parse_len_prefix(len_prefix(11), 10), Err(ErrorCode::FrameTooLarge));
        assert_eq!(parse_len_prefix(len_prefix(10), 10), Ok(10));
        let mut r = FrameReader::new(10);
        r.extend(&len_prefix(1000));
        assert_eq!(r.next_frame(), Err(ErrorCode::FrameTooLarge));
    }

    proptest! {
        #[test]
        fn splits_any_chunking(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..20),
                               chunk in 1usize..64) {
            let mut wire = BytesMut::new();
            for f in &frames { put_prefixed(&mut wire, f); }
            let mut r = FrameReader::new(1024);
            let mut out = Vec::new();
            for piece in wire.chunks(chunk) {
                r.extend(piece);
                while let Some(f) = r.next_frame().unwrap() { out.push(f.to_vec()); }
            }
            prop_assert_eq!(out, frames);
            prop_assert_eq!(r.buffered(), 0);
        }
    }
}
