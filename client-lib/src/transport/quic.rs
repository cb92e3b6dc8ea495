//! QUIC: one bidirectional control stream carrying length-prefixed frames.

use super::{tls, Connection, FrameReceiver, FrameSender, ReceiverInner, SenderInner};
use crate::error::{ClientError, Result};
use bytes::Bytes;
use magpie_wire::framing::{len_prefix, FrameReader};
use magpie_wire::limits::MAX_SERVER_FRAME_BYTES;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Keep-alives well inside the engine's idle timeout, so a quiet connection stays open and a
/// dead one is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest chunk taken from the stream at once.
const READ_CHUNK: usize = 64 * 1024;

/// A UDP endpoint configured to trust one server certificate. Cloning shares the socket, so
/// thousands of connections (a load generator) need not hold thousands of UDP sockets.
#[derive(Clone)]
pub struct QuicConnector {
    endpoint: quinn::Endpoint,
    config: quinn::ClientConfig,
}

/// A UDP socket with large kernel buffers: the default (about 200 KiB) overflows when a burst of
/// pushes arrives faster than the client drains it (several connections share one socket), and
/// every dropped datagram costs a loss-recovery delay. The kernel caps the size at rmem_max.
fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let s = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(1 << 20);
    s.bind(&addr.into())?;
    Ok(s.into())
}

impl QuicConnector {
    /// Binds a client endpoint on `local_ip` (any address if `None`; IPv4 unless `local_ip` is
    /// IPv6) with an ephemeral port.
    pub fn new(server_cert_der: &[u8], local_ip: Option<IpAddr>) -> Result<Self> {
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls::client_config(server_cert_der)?)
            .map_err(ClientError::transport)?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport
            .keep_alive_interval(Some(KEEP_ALIVE))
            .max_idle_timeout(Some(IDLE_TIMEOUT.try_into().map_err(ClientError::transport)?))
            // The server never opens streams towards the client.
            .max_concurrent_bidi_streams(0u32.into())
            .max_concurrent_uni_streams(0u32.into());
        config.transport_config(Arc::new(transport));
        let ip = local_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let socket = udp_socket(SocketAddr::new(ip, 0)).map_err(ClientError::transport)?;
        let runtime = quinn::default_runtime().ok_or_else(|| ClientError::Transport("no async runtime".into()))?;
        let endpoint = quinn::Endpoint::new(quinn::EndpointConfig::default(), None, socket, runtime)
            .map_err(ClientError::transport)?;
        Ok(QuicConnector { endpoint, config })
    }

    /// Like [`QuicConnector::new`], choosing the unspecified address of `addr`'s family.
    pub fn for_server(server_cert_der: &[u8], addr: SocketAddr) -> Result<Self> {
        let ip = match addr {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        Self::new(server_cert_der, Some(ip))
    }

    /// The shared endpoint (e.g. for its statistics or local address).
    pub fn endpoint(&self) -> &quinn::Endpoint {
        &self.endpoint
    }

    /// Completes the QUIC handshake with `addr` and opens the control stream. Bound it with a
    /// timeout: a blocked UDP path never answers.
    pub async fn connect(&self, addr: SocketAddr, server_name: &str) -> Result<Connection> {
        let connecting =
            self.endpoint.connect_with(self.config.clone(), addr, server_name).map_err(ClientError::transport)?;
        let conn = connecting.await.map_err(ClientError::transport)?;
        // Opening is local; the server learns of the stream with our first frame (Hello).
        let (send, recv) = conn.open_bi().await.map_err(ClientError::transport)?;
        let sender = QuicSender { send, conn };
        let receiver = QuicReceiver { recv, reader: FrameReader::new(MAX_SERVER_FRAME_BYTES) };
        Ok(Connection::from_halves(FrameSender(SenderInner::Quic(sender)), FrameReceiver(ReceiverInner::Quic(receiver))))
    }
}

impl std::fmt::Debug for QuicConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicConnector").field("local_addr", &self.endpoint.local_addr().ok()).finish()
    }
}

pub(super) struct QuicSender {
    send: quinn::SendStream,
    conn: quinn::Connection,
}

impl QuicSender {
    pub(super) fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    pub(super) async fn send_frame(&mut self, frame: Bytes) -> Result<()> {
        let prefix = Bytes::copy_from_slice(&len_prefix(frame.len()));
        self.send.write_all_chunks(&mut [prefix, frame]).await.map_err(ClientError::transport)
    }

    pub(super) async fn send_raw(&mut self, bytes: Bytes) -> Result<()> {
        self.send.write_chunk(bytes).await.map_err(ClientError::transport)
    }

    pub(super) async fn close(&mut self) {
        // Finishing may fail if the stream is already gone; closing the connection covers it.
        let _ = self.send.finish();
        // quinn's endpoint driver keeps running until the closed connection has drained, so the
        // CONNECTION_CLOSE reaches the server even if every handle is dropped right after this.
        self.conn.close(0u32.into(), b"bye");
    }
}

pub(super) struct QuicReceiver {
    recv: quinn::RecvStream,
    reader: FrameReader,
}

impl QuicReceiver {
    pub(super) async fn recv(&mut self) -> Result<Bytes> {
        loop {
            if let Some(frame) = self.reader.next_frame().map_err(ClientError::Decode)? {
                return Ok(frame);
            }
            // read_chunk is cancel-safe: bytes are consumed only when it returns them.
            match self.recv.read_chunk(READ_CHUNK, true).await {
                Ok(Some(chunk)) => self.reader.extend(&chunk.bytes),
                Ok(None) if self.reader.buffered() > 0 => {
                    return Err(ClientError::Transport("server ended the stream inside a frame".into()))
                }
                Ok(None) => return Err(ClientError::Transport("server ended the stream".into())),
                Err(e) => return Err(ClientError::transport(e)),
            }
        }
    }
}
