//! WebSocket: one binary message is exactly one frame, over `wss://` (TLS, trusting exactly the
//! engine's certificate, as QUIC does) or plain `ws://` (which the engine accepts only from its
//! own host by default). The buffers are small because a client holds one connection and frames
//! are small.

use super::{Connection, FrameReceiver, FrameSender, ReceiverInner, SenderInner};
use crate::error::{ClientError, Result};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use magpie_wire::limits::MAX_SERVER_FRAME_BYTES;
use magpie_wire::ErrorCode;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The engine's WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// The byte stream under the WebSocket: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Ws = WebSocketStream<Box<dyn Io>>;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // tungstenite's default 128 KiB read buffer per connection is the known memory trap.
        .read_buffer_size(4 * 1024)
        // Write each frame out at once: latency matters more than batching here.
        .write_buffer_size(0)
        .max_message_size(Some(MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(MAX_SERVER_FRAME_BYTES))
}

/// TLS settings for `wss://`: the certificate to trust and the name it is issued for.
pub(super) struct Tls<'a> {
    pub server_cert_der: &'a [u8],
    pub server_name: &'a str,
}

pub(super) async fn connect(addr: SocketAddr, local_ip: Option<IpAddr>, tls: Option<Tls<'_>>) -> Result<Connection> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(ClientError::transport)?;
    if let Some(ip) = local_ip {
        socket.bind(SocketAddr::new(ip, 0)).map_err(ClientError::transport)?;
    }
    let tcp = socket.connect(addr).await.map_err(ClientError::transport)?;
    tcp.set_nodelay(true).map_err(ClientError::transport)?;
    let (stream, url): (Box<dyn Io>, String) = match tls {
        None => (Box::new(tcp), format!("ws://{addr}{WS_PATH}")),
        Some(tls) => {
            let config = super::tls::tcp_client_config(tls.server_cert_der)?;
            let name = rustls::pki_types::ServerName::try_from(tls.server_name.to_owned())
                .map_err(|e| ClientError::InvalidInput(format!("server name: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(ClientError::transport)?;
            (Box::new(stream), format!("wss://{}{WS_PATH}", tls.server_name))
        }
    };
    let (ws, _response) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(ClientError::transport)?;
    let (sink, stream) = ws.split();
    Ok(Connection::from_halves(
        FrameSender(SenderInner::Ws(WsSender { sink })),
        FrameReceiver(ReceiverInner::Ws(WsReceiver { stream })),
    ))
}

pub(super) struct WsSender {
    sink: SplitSink<Ws, Message>,
}

impl WsSender {
    pub(super) async fn send(&mut self, bytes: Bytes) -> Result<()> {
        self.sink.send(Message::Binary(bytes)).await.map_err(ClientError::transport)
    }

    pub(super) async fn close(&mut self) {
        // The server may already be gone; there is nothing useful to do about a failed close.
        let _ = self.sink.close().await;
    }
}

pub(super) struct WsReceiver {
    stream: SplitStream<Ws>,
}

impl WsReceiver {
    pub(super) async fn recv(&mut self) -> Result<Bytes> {
        loop {
            // StreamExt::next is cancel-safe: a message is consumed only when it is returned.
            match self.stream.next().await {
                Some(Ok(Message::Binary(frame))) => return Ok(frame),
                // tungstenite answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Text(_))) => {
                    return Err(ClientError::Transport("server sent a text message; frames are binary".into()))
                }
                Some(Ok(Message::Close(close))) => {
                    let why = close.map(|c| format!("{} {}", u16::from(c.code), c.reason)).unwrap_or_default();
                    return Err(ClientError::Transport(format!("websocket closed by server {why}").trim_end().into()));
                }
                Some(Err(WsError::Capacity(_))) => return Err(ClientError::Decode(ErrorCode::FrameTooLarge)),
                Some(Err(e)) => return Err(ClientError::transport(e)),
                None => return Err(ClientError::Transport("websocket closed".into())),
            }
        }
    }
}
