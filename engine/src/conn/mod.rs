//! One client connection, whatever its transport: handshake, authentication, request dispatch
//! and the outbound queue.
//!
//! Reading and writing are separate tasks on the connection's shard. Everything the connection
//! sends — replies, pushes, the final `Close` — goes through one bounded queue drained by the
//! writer, so a slow reader costs a bounded amount of memory: when the queue is full, live
//! events fall back to being read from the log later (see `delivery`), and a reply that does not
//! fit closes the connection with `overloaded` (the client reconnects and resumes).

pub mod delivery;
mod requests;
pub mod shared;

use crate::metrics::{self, Transport};
use crate::rate::{RateLimiter, Verdict};
use crate::shard::Shard;
use crate::transport::{FrameReader, FrameWriter, ReadError};
use bytes::Bytes;
use magpie_wire::{encode, fb, handshake, limits, verify, ErrorCode};
use shared::{ConnShared, REPLY_HEADROOM};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a client has to say Hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the writer keeps flushing queued frames once the connection is closing.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);
/// Frames written per flush.
const WRITE_BATCH: usize = 64;
/// How long a closing connection keeps reading (and discarding) what the peer still sends.
const LINGER: Duration = Duration::from_secs(2);
/// Runs a connection to its end.
/// `datagrams`: the QUIC connection (WebSocket has none), for typing as datagrams.
pub async fn serve<R: FrameReader, W: FrameWriter + 'static>(
    shard: Rc<Shard>,
    mut reader: R,
    writer: W,
    transport: Transport,
    datagrams: Option<quinn::Connection>,
) {
    let (tx, rx) = mpsc::channel(shard.shared.config.outbound_queue.max(4 * REPLY_HEADROOM));
    let conn = Rc::new(ConnShared::new(shard.next_conn_id(), tx));
    shard.conns.borrow_mut().insert(conn.id, conn.clone());
    shard.running_conns.set(shard.running_conns.get() + 1);
    metrics::inc(&shard.metrics().conns_open[transport as usize]);
    tracing::debug!(shard = shard.id, conn = conn.id, transport = transport.name(), "connection opened");
    let writer_task = tokio::task::spawn_local(write_loop(shard.clone(), conn.clone(), rx, writer));
    match read_loop(&shard, &conn, &mut reader, datagrams).await {
        Ok(()) => conn.close_quietly(),
        Err((code, reason)) => {
            tracing::debug!(conn = conn.id, code = code.name(), reason, "closing connection");
            conn.close(code, reason);
        }
    }
    crate::presence_io::closed(&shard, &conn);
    shard.unregister(&conn);
    metrics::dec(&shard.metrics().conns_open[transport as usize]);
    // Keep reading until the writer has said goodbye and the peer hangs up (bounded): closing a
    // TCP socket with unread input sends a reset, which would destroy the Close frame in flight.
    // Frames that break the rules are discarded like any others: stopping at the first would
    // leave the rest unread.
    let drain = async {
        while let Ok(_) | Err(ReadError::Protocol(..)) = reader.read_frame().await {}
    };
    let _ = tokio::time::timeout(LINGER, async { tokio::join!(writer_task, drain) }).await;
    shard.running_conns.set(shard.running_conns.get() - 1);
    tracing::debug!(shard = shard.id, conn = conn.id, "connection closed");
}

async fn write_loop<W: FrameWriter>(shard: Rc<Shard>, conn: Rc<ConnShared>, mut rx: mpsc::Receiver<Bytes>, mut writer: W) {
    let metrics = shard.metrics();
    let mut batch: Vec<Bytes> = Vec::new();
    // One close waiter for the connection's life, not a fresh one registered (and removed,
    // under the Notify's lock) for every frame.
    let closed = conn.closed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            biased;
            _ = &mut closed => break,
            next = rx.recv() => {
                let Some(frame) = next else { break };
                batch.push(frame);
                while batch.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(f) => batch.push(f),
                        Err(_) => break,
                    }
                }
                for f in &batch {
                    metrics.frame_out(f);
                }
                if writer.write_frames(&batch).await.is_err() {
                    conn.close_quietly();
                    return writer.shutdown(None).await;
                }
                batch.clear();
                // Do not keep a large batch vector per idle connection.
                if batch.capacity() > WRITE_BATCH { batch = Vec::new(); }
            }
        }
    }
    // Closing: flush what is queued (bounded in time), then say why, then close.
    let reason = conn.close_reason.borrow_mut().take();
    let _ = tokio::time::timeout(CLOSE_DRAIN, async {
        while let Ok(f) = rx.try_recv() {
            batch.push(f);
        }
        if let Some((code, reason)) = &reason {
            batch.push(encode::close(*code, reason));
        }
        if !batch.is_empty() {
            for f in &batch {
                metrics.frame_out(f);
            }
            let _ = writer.write_frames(&batch).await;
        }
    })
    .await;
    writer.shutdown(reason.map(|r| r.0)).await;
}

type Violation = (ErrorCode, &'static str);

async fn read_loop<R: FrameReader>(
    shard: &Rc<Shard>,
    conn: &Rc<ConnShared>,
    reader: &mut R,
    mut datagrams: Option<quinn::Connection>,
) -> Result<(), Violation> {
    let config = &shard.shared.config;
    let mut rate = RateLimiter::new(config.rate_per_sec, config.rate_burst);
    let mut greeted = false;
    let mut since_yield = 0u32;
    loop {
        // A client that pipelines a burst keeps `read_frame` ready without ever suspending; yield
        // now and then so this connection's writer (and everyone else on the shard) runs.
        since_yield += 1;
        if since_yield == 32 {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
        let wait = if greeted { config.idle_timeout } else { HELLO_TIMEOUT };
        let frame = tokio::select! {
            r = tokio::time::timeout(wait, reader.read_frame()) => r,
            _ = conn.closed() => return Ok(()),
        };
        let frame = match frame {
            Err(_elapsed) if !greeted => return Err((ErrorCode::HandshakeRequired, "no Hello in time")),
            Err(_elapsed) => return Ok(()),
            Ok(Err(ReadError::Closed)) => return Ok(()),
            Ok(Err(ReadError::Io(e))) => {
                tracing::debug!(conn = conn.id, error = %e, "read failed");
                return Ok(());
            }
            Ok(Err(ReadError::Protocol(code, why))) => return Err((code, why)),
            Ok(Ok(frame)) => frame,
        };
        let f = verify::client_frame(&frame).map_err(|code| (code, describe(code)))?;
        shard.metrics().frame_in(f.body_type());
        let request_id = f.request_id();
        if request_id == 0 {
            return Err((ErrorCode::MalformedFrame, "requests need a non-zero request_id"));
        }
        if !greeted {
            greet(shard, conn, &f, datagrams.take())?;
            greeted = true;
            continue;
        }
        match rate.check(Instant::now()) {
            Verdict::Allow => {}
            Verdict::Refuse(retry_ms) => {
                conn.push_reply(encode::error(request_id, ErrorCode::RateLimited, "slow down", retry_ms));
                continue;
            }
            Verdict::Disconnect => return Err((ErrorCode::TooManyErrors, "kept sending past the rate limit")),
        }
        if let Err(why) = verify::client_enums(&f) {
            conn.push_reply(encode::error(request_id, ErrorCode::InvalidArgument, why, 0));
            continue;
        }
        requests::dispatch(shard, conn, &f).await;
    }
}

/// Datagrams a client sends once `DATAGRAMS` is negotiated: `SetTyping` and `SetPresence`
/// (activity) only, from a signed-in connection, within the connection's request rate; anything
/// else, or a datagram that fails verification, is dropped unanswered (datagrams are unreliable
/// by nature, so nothing depends on one arriving).
async fn datagram_loop(shard: Rc<Shard>, conn: Rc<ConnShared>, q: quinn::Connection) {
    let config = &shard.shared.config;
    let mut rate = RateLimiter::new(config.rate_per_sec, config.rate_burst);
    loop {
        let datagram = tokio::select! {
            d = q.read_datagram() => d,
            _ = conn.closed() => return,
        };
        let Ok(bytes) = datagram else { return };
        let Ok(f) = verify::client_frame(&bytes) else { continue };
        if !magpie_wire::presence::datagram_allowed(f.body_type()) || verify::client_enums(&f).is_err() {
            continue;
        }
        if rate.check(Instant::now()) != Verdict::Allow {
            continue;
        }
        shard.metrics().frame_in(f.body_type());
        requests::datagram(&shard, &conn, &f);
    }
}

fn describe(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidUtf8 => "a string is not valid UTF-8",
        ErrorCode::UnknownFrame => "unknown or server-only frame type",
        ErrorCode::FrameTooLarge => "frame too large",
        _ => "frame failed verification",
    }
}

fn greet(shard: &Rc<Shard>, conn: &Rc<ConnShared>, f: &fb::Frame<'_>, datagrams: Option<quinn::Connection>) -> Result<(), Violation> {
    let Some(hello) = f.body_as_hello() else { return Err((ErrorCode::HandshakeRequired, "the first frame must be Hello")) };
    match handshake::negotiate(hello.protocol_version(), hello.min_protocol_version(), hello.features()) {
        Ok((version, mut features)) => {
            // Datagrams only where the transport has them and the client's stack takes them.
            match datagrams.filter(|q| q.max_datagram_size().is_some()) {
                Some(q) if features & handshake::features::DATAGRAMS != 0 => {
                    *conn.datagrams.borrow_mut() = Some(q.clone());
                    tokio::task::spawn_local(datagram_loop(shard.clone(), conn.clone(), q));
                }
                _ => features &= !handshake::features::DATAGRAMS,
            }
            conn.push_reply(encode::welcome(
                f.request_id(),
                &encode::WelcomeArgs {
                    protocol_version: version,
                    features,
                    server_name: concat!("magpie/", env!("CARGO_PKG_VERSION")),
                    max_content_bytes: limits::MAX_CONTENT_BYTES as u32,
                    max_frame_bytes: limits::MAX_CLIENT_FRAME_BYTES as u32,
                    server_time_ms: crate::ids::now_ms(),
                    node_id: shard.shared.node_id,
                },
            ));
            Ok(())
        }
        Err(ErrorCode::ClientTooOld) => Err((ErrorCode::ClientTooOld, "client protocol too old; upgrade the client")),
        Err(code) => Err((code, "server protocol too old; upgrade the server")),
    }
}
