//! Opening signed-in client connections to the engine under test, shared by every scenario.

use magpie_client::session::{sign_in, Session};
use magpie_client::transport::{Connection, QuicConnector, DEFAULT_SERVER_NAME};
use magpie_client::Credentials;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::timeout;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    Quic,
    Ws,
}

/// Where and how clients connect.
pub struct Target {
    pub transport: TransportKind,
    pub quic_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub cert_der: Vec<u8>,
    /// Client source addresses (127.0.0.2, …), to stay clear of ephemeral-port limits.
    pub source_ips: Vec<IpAddr>,
    /// QUIC connections sharing one client UDP socket.
    pub conns_per_quic_endpoint: usize,
    /// Device tokens of seeded accounts, indexed like the clients; empty: clients register.
    pub tokens: Vec<String>,
    /// Bound on connecting and signing in one client.
    pub op_timeout: Duration,
}

impl Target {
    /// The QUIC endpoints worker `w` of `workers` needs for `count` connections: a few
    /// connections share each UDP socket, and the sockets are spread over the source addresses
    /// (and so over the engine's SO_REUSEPORT shards, which hash on the 4-tuple). Empty for
    /// WebSocket.
    pub fn connectors(&self, w: usize, workers: usize, count: usize) -> Result<Vec<QuicConnector>, String> {
        if self.transport != TransportKind::Quic {
            return Ok(Vec::new());
        }
        let per = self.conns_per_quic_endpoint.max(1);
        (0..count.div_ceil(per))
            .map(|e| {
                let ip = self.source_ips[(w + e * workers) % self.source_ips.len()];
                QuicConnector::new(&self.cert_der, Some(ip)).map_err(|e| format!("QUIC endpoint on {ip}: {e}"))
            })
            .collect()
    }

    fn credentials(&self, index: usize) -> Credentials {
        match self.tokens.get(index) {
            Some(token) => Credentials::Token(token.clone()),
            None => Credentials::Register {
                username: crate::seed::username(index),
                password: "bench-password".into(),
                device_name: "bench".into(),
            },
        }
    }

    /// Connects client `index` (the `local`-th of its worker, which picks its QUIC endpoint out of
    /// `connectors`) and signs it in.
    pub async fn connect(&self, connectors: &[QuicConnector], local: usize, index: usize) -> Result<(Connection, Session), String> {
        let fut = async {
            let mut conn = match self.transport {
                TransportKind::Quic => {
                    let c = &connectors[local / self.conns_per_quic_endpoint.max(1)];
                    c.connect(self.quic_addr, DEFAULT_SERVER_NAME).await
                }
                TransportKind::Ws => {
                    let ip = self.source_ips[index % self.source_ips.len()];
                    Connection::websocket(self.ws_addr, Some(ip)).await
                }
            }
            .map_err(|e| format!("client {index}: connect: {e}"))?;
            let session = sign_in(&mut conn, "magpie-bench", &self.credentials(index))
                .await
                .map_err(|e| format!("client {index}: sign in: {e}"))?;
            Ok((conn, session))
        };
        timeout(self.op_timeout, fut).await.map_err(|_| format!("client {index}: connect and sign in timed out"))?
    }
}
