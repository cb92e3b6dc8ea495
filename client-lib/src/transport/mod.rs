//! Raw connections: one frame in, one frame out, over QUIC or WebSocket.
//!
//! This layer knows framing and limits but nothing of the protocol's meaning, so benchmarks,
//! fuzzers and the engine's bad-input tests can use it to send whatever bytes they like
//! ([`Connection::send_raw`]). [`Client`](crate::Client) is built on it.
//!
//! ```no_run
//! # async fn demo(cert_der: Vec<u8>) -> magpie_client::Result<()> {
//! use magpie_client::transport::Connection;
//! use magpie_wire::{encode, limits, verify};
//! let mut conn = Connection::quic("127.0.0.1:7000".parse().unwrap(), &cert_der).await?;
//! conn.send(encode::hello(1, limits::PROTOCOL_VERSION, limits::MIN_PROTOCOL_VERSION, 0, "probe")).await?;
//! let reply = conn.recv().await?;
//! let frame = verify::server_frame(&reply).map_err(magpie_client::ClientError::Decode)?;
//! assert!(frame.body_as_welcome().is_some());
//! # Ok(()) }
//! ```

mod quic;
mod tls;
mod ws;

pub use quic::QuicConnector;
pub use tls::ALPN;
pub use ws::WS_PATH;

use crate::error::{ClientError, Result};
use bytes::Bytes;
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use std::net::{IpAddr, SocketAddr};

/// Server name the engine's self-signed certificate is issued for.
pub const DEFAULT_SERVER_NAME: &str = "localhost";

/// Which transport a connection runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Quic,
    WebSocket,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Quic => "quic",
            Transport::WebSocket => "websocket",
        })
    }
}

/// One connection to the server: the QUIC control stream or a WebSocket.
pub struct Connection {
    sender: FrameSender,
    receiver: FrameReceiver,
}

/// The sending half of a [`Connection`].
pub struct FrameSender(SenderInner);
/// The receiving half of a [`Connection`].
pub struct FrameReceiver(ReceiverInner);

enum SenderInner {
    Quic(quic::QuicSender),
    Ws(ws::WsSender),
}

enum ReceiverInner {
    Quic(quic::QuicReceiver),
    Ws(ws::WsReceiver),
}

impl Connection {
    /// Connects over QUIC with a private UDP endpoint, trusting exactly `server_cert_der`, and
    /// opens the control stream. Use a shared [`QuicConnector`] for many connections.
    pub async fn quic(addr: SocketAddr, server_cert_der: &[u8]) -> Result<Self> {
        let connector = QuicConnector::for_server(server_cert_der, addr)?;
        connector.connect(addr, DEFAULT_SERVER_NAME).await
    }

    /// Connects to `ws://addr/ws` (plaintext), optionally from the local address `local_ip`.
    pub async fn websocket(addr: SocketAddr, local_ip: Option<IpAddr>) -> Result<Self> {
        ws::connect(addr, local_ip, None).await
    }

    /// Connects to `wss://addr/ws`, trusting exactly `server_cert_der` for `server_name`.
    pub async fn websocket_tls(
        addr: SocketAddr,
        local_ip: Option<IpAddr>,
        server_cert_der: &[u8],
        server_name: &str,
    ) -> Result<Self> {
        ws::connect(addr, local_ip, Some(ws::Tls { server_cert_der, server_name })).await
    }

    pub(crate) fn from_halves(sender: FrameSender, receiver: FrameReceiver) -> Self {
        Connection { sender, receiver }
    }

    pub fn transport(&self) -> Transport {
        self.sender.transport()
    }

    /// The QUIC connection under a QUIC connection (`None` on WebSocket), for tests of what the
    /// server's transport allows (streams, datagrams).
    pub fn quic_connection(&self) -> Option<&quinn::Connection> {
        match &self.sender.0 {
            SenderInner::Quic(s) => Some(s.connection()),
            SenderInner::Ws(_) => None,
        }
    }

    /// Sends one frame (length-prefixed on QUIC). Frames over the client limit are refused
    /// here rather than by the server.
    pub async fn send(&mut self, frame: Bytes) -> Result<()> {
        self.sender.send(frame).await
    }

    /// Sends `bytes` exactly as given: on QUIC they go onto the stream without a length prefix
    /// (so a test can write a bad prefix), on WebSocket as one binary message. No size check.
    pub async fn send_raw(&mut self, bytes: Bytes) -> Result<()> {
        self.sender.send_raw(bytes).await
    }

    /// The next frame from the server, at most `MAX_SERVER_FRAME_BYTES`. Not verified: pass it to
    /// `magpie_wire::verify::server_frame` before reading it. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Bytes> {
        self.receiver.recv().await
    }

    /// Closes the connection politely (QUIC: finishes the stream and closes the connection;
    /// WebSocket: close handshake).
    pub async fn close(self) {
        let Connection { mut sender, receiver } = self;
        drop(receiver);
        sender.close().await;
    }

    /// Splits into halves that can be used from different tasks.
    pub fn split(self) -> (FrameSender, FrameReceiver) {
        (self.sender, self.receiver)
    }
}

impl FrameSender {
    pub fn transport(&self) -> Transport {
        match self.0 {
            SenderInner::Quic(_) => Transport::Quic,
            SenderInner::Ws(_) => Transport::WebSocket,
        }
    }

    /// See [`Connection::send`].
    pub async fn send(&mut self, frame: Bytes) -> Result<()> {
        if frame.is_empty() || frame.len() > MAX_CLIENT_FRAME_BYTES {
            return Err(ClientError::InvalidInput(format!(
                "frame of {} bytes (must be 1..={MAX_CLIENT_FRAME_BYTES})",
                frame.len()
            )));
        }
        match &mut self.0 {
            SenderInner::Quic(s) => s.send_frame(frame).await,
            SenderInner::Ws(s) => s.send(frame).await,
        }
    }

    /// See [`Connection::send_raw`].
    pub async fn send_raw(&mut self, bytes: Bytes) -> Result<()> {
        match &mut self.0 {
            SenderInner::Quic(s) => s.send_raw(bytes).await,
            SenderInner::Ws(s) => s.send(bytes).await,
        }
    }

    /// See [`Connection::close`].
    pub async fn close(&mut self) {
        match &mut self.0 {
            SenderInner::Quic(s) => s.close().await,
            SenderInner::Ws(s) => s.close().await,
        }
    }
}

impl FrameReceiver {
    /// See [`Connection::recv`].
    pub async fn recv(&mut self) -> Result<Bytes> {
        match &mut self.0 {
            ReceiverInner::Quic(r) => r.recv().await,
            ReceiverInner::Ws(r) => r.recv().await,
        }
    }
}
