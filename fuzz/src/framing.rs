//! Target `framing`: the QUIC length-prefix splitter `magpie_wire::framing::FrameReader`.
//!
//! Input layout (hand-made rather than `arbitrary`, so that seeds are easy to write from real
//! frames):
//!
//! ```text
//! [max_frame: u16 BE] [n: u8] [n chunk-size bytes] [payload ...]
//! ```
//!
//! Chunk sizes are `byte + 1`, used cyclically. Two properties are checked on every input:
//!
//! 1. **Arbitrary stream**: the payload, fed in those chunks, never panics; every frame that
//!    comes out is non-empty, at most `max_frame` bytes, and re-prefixed is exactly the next
//!    part of the stream; between calls the reader holds less than one prefix plus one maximal
//!    frame; after an error nothing more is read (the stream is dead).
//! 2. **Well-formed stream**: the payload cut into frames (lengths from the same chunk bytes,
//!    clipped to `max_frame`), prefixed with `put_prefixed`, fed in a different chunking, gives
//!    back exactly those frames, and nothing stays buffered.

use bytes::BytesMut;
use magpie_wire::framing::{len_prefix, put_prefixed, FrameReader, LEN_PREFIX_BYTES};

/// Splits an input into (max_frame, chunk sizes, payload).
pub fn parse(data: &[u8]) -> (usize, Vec<usize>, &[u8]) {
    if data.len() < 3 {
        return (0, Vec::new(), data);
    }
    let max_frame = u16::from_be_bytes([data[0], data[1]]) as usize;
    let n = (data[2] as usize).min(data.len() - 3);
    let sizes = data[3..3 + n].iter().map(|&b| b as usize + 1).collect();
    (max_frame, sizes, &data[3 + n..])
}

/// Builds an input for this target (the seed generator uses it).
pub fn build(max_frame: u16, chunk_sizes: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut v = max_frame.to_be_bytes().to_vec();
    v.push(chunk_sizes.len() as u8);
    v.extend_from_slice(chunk_sizes);
    v.extend_from_slice(payload);
    v
}

/// Cuts `bytes` into pieces whose sizes cycle through `sizes` starting at `offset`
/// (one piece holding everything when there are no sizes).
fn pieces<'a>(bytes: &'a [u8], sizes: &[usize], offset: usize) -> Vec<&'a [u8]> {
    if sizes.is_empty() {
        return vec![bytes];
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut i = offset;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

fn arbitrary_stream(max_frame: usize, sizes: &[usize], payload: &[u8]) {
    let mut r = FrameReader::new(max_frame);
    let mut consumed = 0; // stream bytes accounted for by the frames returned
    let mut fed = 0;
    'feed: for piece in pieces(payload, sizes, 0) {
        r.extend(piece);
        fed += piece.len();
        loop {
            match r.next_frame() {
                Ok(Some(frame)) => {
                    assert!(!frame.is_empty() && frame.len() <= max_frame, "frame of {} bytes with max {max_frame}", frame.len());
                    let end = consumed + LEN_PREFIX_BYTES + frame.len();
                    assert!(end <= fed, "frame extends past the bytes fed");
                    assert_eq!(&payload[consumed..consumed + LEN_PREFIX_BYTES], &len_prefix(frame.len())[..]);
                    assert_eq!(&payload[consumed + LEN_PREFIX_BYTES..end], &frame[..]);
                    consumed = end;
                }
                Ok(None) => break,
                // The stream is unusable from here on; the transport closes the connection.
                Err(_) => break 'feed,
            }
        }
        assert_eq!(r.buffered(), fed - consumed, "reader lost or invented bytes");
        assert!(r.buffered() < LEN_PREFIX_BYTES + max_frame.max(1), "reader holds more than one incomplete frame");
    }
}

fn well_formed_stream(max_frame: usize, sizes: &[usize], payload: &[u8]) {
    let max_frame = max_frame.max(1);
    let clipped: Vec<usize> = sizes.iter().map(|&s| s.min(max_frame)).collect();
    let frames: Vec<&[u8]> = if clipped.is_empty() {
        payload.chunks(max_frame).collect()
    } else {
        pieces(payload, &clipped, 0)
    };
    let mut wire = BytesMut::new();
    for f in &frames {
        put_prefixed(&mut wire, f);
    }
    let mut r = FrameReader::new(max_frame);
    let mut out: Vec<Vec<u8>> = Vec::new();
    for piece in pieces(&wire, sizes, 1) {
        r.extend(piece);
        while let Some(f) = r.next_frame().expect("a well-formed stream never errors") {
            out.push(f.to_vec());
        }
    }
    assert_eq!(out.len(), frames.len(), "frames out != frames in");
    for (a, b) in out.iter().zip(&frames) {
        assert_eq!(&a[..], *b, "frame changed in transit");
    }
    assert_eq!(r.buffered(), 0, "bytes left over after a well-formed stream");
}

/// The `framing` target.
pub fn fuzz_framing(data: &[u8]) {
    let (max_frame, sizes, payload) = parse(data);
    arbitrary_stream(max_frame, &sizes, payload);
    well_formed_stream(max_frame, &sizes, payload);
}
