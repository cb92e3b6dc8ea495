//! Client configuration, built with `ClientConfig::new(..)` and chained setters.

use crate::backoff::ReconnectPolicy;
use crate::transport::{QuicConnector, DEFAULT_SERVER_NAME};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Which transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportPref {
    /// QUIC first, WebSocket if QUIC does not connect within the QUIC handshake timeout.
    #[default]
    Auto,
    Quic,
    WebSocket,
}

/// How the first connection signs in. Later connections always use the device token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Creates the account and this device.
    Register { username: String, password: String, device_name: String },
    /// Adds this device to an existing account.
    Login { username: String, password: String, device_name: String },
    /// An existing device's token, from an earlier [`Client::token`](crate::Client::token).
    Token(String),
}

impl std::fmt::Debug for Credentials {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Register { username, device_name, .. } => {
                write!(f, "Register {{ username: {username:?}, device_name: {device_name:?}, .. }}")
            }
            Credentials::Login { username, device_name, .. } => {
                write!(f, "Login {{ username: {username:?}, device_name: {device_name:?}, .. }}")
            }
            Credentials::Token(_) => f.write_str("Token(..)"),
        }
    }
}

/// Everything [`Client::connect`](crate::Client::connect) needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub quic_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    /// DER of the one certificate trusted for QUIC and `wss://`, as a trust anchor: the engine's
    /// self-signed certificate (it writes it to `<data_dir>/tls/cert.der`), or the root CA that
    /// issued an operator's certificate (`--tls-cert`; the engine sends the rest of the chain).
    pub server_cert_der: Vec<u8>,
    /// Name the certificate must be issued for.
    pub server_name: String,
    pub transport: TransportPref,
    pub credentials: Option<Credentials>,
    /// Sent in `Hello`, e.g. "myapp/1.2".
    pub client_name: String,
    /// How long QUIC may take to connect under [`TransportPref::Auto`] before WebSocket is tried.
    pub quic_handshake_timeout: Duration,
    /// Bound on each request's reply, and on connecting plus signing in.
    pub request_timeout: Duration,
    pub reconnect: ReconnectPolicy,
    /// A ping is sent this often whatever the traffic (the server closes connections it has not
    /// heard from for its idle timeout); silence from the server for twice this long means the
    /// connection is dead.
    pub keepalive: Duration,
    /// Last sequence number the app already holds per chat, `(chat_id, seq)`: sync resumes after
    /// them, and older events are dropped as duplicates.
    pub cursors: Vec<(u64, u64)>,
    /// WebSocket over TLS (`wss://`, trusting `server_cert_der`). By default on unless the
    /// WebSocket address is a loopback one: the engine serves plaintext only to its own host.
    pub websocket_tls: bool,
    /// Local address to connect from (load generators spread over 127.0.0.x).
    pub local_ip: Option<IpAddr>,
    /// A shared QUIC endpoint; by default each client binds its own.
    pub quic_connector: Option<QuicConnector>,
}

impl ClientConfig {
    /// A configuration with defaults: `Auto` transport, 1.5 s QUIC handshake timeout, 10 s
    /// request timeout, reconnect 100 ms doubling to 5 s with jitter, 15 s keepalive. Set the
    /// credentials with [`register`](Self::register), [`login`](Self::login) or
    /// [`token`](Self::token).
    pub fn new(quic_addr: SocketAddr, ws_addr: SocketAddr, server_cert_der: impl Into<Vec<u8>>) -> Self {
        ClientConfig {
            quic_addr,
            ws_addr,
            server_cert_der: server_cert_der.into(),
            server_name: DEFAULT_SERVER_NAME.to_owned(),
            transport: TransportPref::Auto,
            credentials: None,
            client_name: concat!("magpie-client-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            quic_handshake_timeout: Duration::from_millis(1500),
            request_timeout: Duration::from_secs(10),
            reconnect: ReconnectPolicy::default(),
            keepalive: Duration::from_secs(15),
            cursors: Vec::new(),
            websocket_tls: !ws_addr.ip().is_loopback(),
            local_ip: None,
            quic_connector: None,
        }
    }

    pub fn transport(mut self, pref: TransportPref) -> Self {
        self.transport = pref;
        self
    }

    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    pub fn register(self, username: impl Into<String>, password: impl Into<String>, device_name: impl Into<String>) -> Self {
        self.credentials(Credentials::Register {
            username: username.into(),
            password: password.into(),
            device_name: device_name.into(),
        })
    }

    pub fn login(self, username: impl Into<String>, password: impl Into<String>, device_name: impl Into<String>) -> Self {
        self.credentials(Credentials::Login {
            username: username.into(),
            password: password.into(),
            device_name: device_name.into(),
        })
    }

    pub fn token(self, token: impl Into<String>) -> Self {
        self.credentials(Credentials::Token(token.into()))
    }

    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = name.into();
        self
    }

    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    pub fn quic_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.quic_handshake_timeout = timeout;
        self
    }

    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = interval;
        self
    }

    pub fn cursors(mut self, cursors: impl IntoIterator<Item = (u64, u64)>) -> Self {
        self.cursors = cursors.into_iter().collect();
        self
    }

    /// Use `wss://` (true) or plain `ws://` (false) for WebSocket.
    pub fn websocket_tls(mut self, on: bool) -> Self {
        self.websocket_tls = on;
        self
    }

    pub fn local_ip(mut self, ip: IpAddr) -> Self {
        self.local_ip = Some(ip);
        self
    }

    pub fn quic_connector(mut self, connector: QuicConnector) -> Self {
        self.quic_connector = Some(connector);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_fields_and_debug_hides_secrets() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let c = ClientConfig::new(a, a, vec![1, 2])
            .register("alice", "hunter2hunter2", "laptop")
            .transport(TransportPref::WebSocket)
            .cursors([(1, 5)]);
        assert_eq!(c.transport, TransportPref::WebSocket);
        assert_eq!(c.cursors, vec![(1, 5)]);
        let shown = format!("{c:?}");
        assert!(shown.contains("alice") && !shown.contains("hunter2"));
        assert!(!format!("{:?}", Credentials::Token("s3cret".into())).contains("s3cret"));
    }
}
