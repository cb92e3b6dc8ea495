//! Opening a signed-in connection: transport choice with fallback, `Hello`, then authentication.
//! Public so that load generators can sign in raw [`Connection`]s without a [`Client`](crate::Client).

use crate::config::{ClientConfig, Credentials, TransportPref};
use crate::error::{ClientError, Result};
use crate::replies::{decode_frame, Account, Inbound, Reply, Welcome};
use crate::transport::{Connection, QuicConnector};
use magpie_wire::encode;
use magpie_wire::handshake::SUPPORTED_FEATURES;
use magpie_wire::limits::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use tokio::time::timeout;

/// Request id of `Hello` on every connection.
pub const HELLO_REQUEST_ID: u64 = 1;
/// Request id of the `Register`/`Login`/`Authenticate` that follows it.
pub const AUTH_REQUEST_ID: u64 = 2;
/// The first request id free for other requests on a signed-in connection.
pub const FIRST_FREE_REQUEST_ID: u64 = 3;

/// A signed-in connection's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub welcome: Welcome,
    pub account: Account,
    /// The device token: new for `Register`/`Login`, the one given for `Token`.
    pub token: String,
}

/// Sends `Hello` and the credentials on a fresh connection and waits for both answers. Frames
/// that are not the awaited answers are skipped. Bound it with a timeout.
pub async fn sign_in(conn: &mut Connection, client_name: &str, credentials: &Credentials) -> Result<Session> {
    let hello = encode::hello(HELLO_REQUEST_ID, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, SUPPORTED_FEATURES, client_name);
    conn.send(hello).await?;
    let welcome = match await_reply(conn, HELLO_REQUEST_ID).await? {
        Reply::Welcome(w) => w,
        other => return Err(other.unexpected("Welcome")),
    };
    let auth = match credentials {
        Credentials::Register { username, password, device_name } => {
            encode::register(AUTH_REQUEST_ID, username, password, device_name)
        }
        Credentials::Login { username, password, device_name } => {
            encode::login(AUTH_REQUEST_ID, username, password, device_name)
        }
        Credentials::Token(token) => encode::authenticate(AUTH_REQUEST_ID, token),
    };
    conn.send(auth).await?;
    let (account, issued) = match await_reply(conn, AUTH_REQUEST_ID).await? {
        Reply::Authenticated { account, token } => (account, token),
        other => return Err(other.unexpected("Authenticated")),
    };
    let token = match credentials {
        Credentials::Token(token) => token.clone(),
        _ if issued.is_empty() => return Err(ClientError::UnexpectedReply("Authenticated without a device token".into())),
        _ => issued,
    };
    Ok(Session { welcome, account, token })
}

async fn await_reply(conn: &mut Connection, request_id: u64) -> Result<Reply> {
    loop {
        let frame = conn.recv().await?;
        match decode_frame(&frame)? {
            Inbound::Reply { request_id: id, result } if id == request_id => return result,
            Inbound::Close { code, reason } => return Err(ClientError::Rejected { code, reason }),
            other => tracing::debug!(?other, "skipping a frame while signing in"),
        }
    }
}

/// Opens a connection as configured (QUIC, WebSocket, or QUIC falling back to WebSocket) and
/// signs in, all within the configured timeouts.
pub(crate) async fn establish(
    cfg: &ClientConfig,
    connector: Option<&QuicConnector>,
    credentials: &Credentials,
) -> Result<(Connection, Session)> {
    let mut conn = open(cfg, connector).await?;
    let session = timeout(cfg.request_timeout, sign_in(&mut conn, &cfg.client_name, credentials))
        .await
        .map_err(|_| ClientError::Timeout)??;
    Ok((conn, session))
}

async fn open(cfg: &ClientConfig, connector: Option<&QuicConnector>) -> Result<Connection> {
    let quic = |limit| async move {
        let connector = connector.ok_or_else(|| ClientError::InvalidInput("QUIC needs the server certificate".into()))?;
        timeout(limit, connector.connect(cfg.quic_addr, &cfg.server_name)).await.map_err(|_| ClientError::Timeout)?
    };
    let ws = || async {
        let connect = async {
            if cfg.websocket_tls {
                Connection::websocket_tls(cfg.ws_addr, cfg.local_ip, &cfg.server_cert_der, &cfg.server_name).await
            } else {
                Connection::websocket(cfg.ws_addr, cfg.local_ip).await
            }
        };
        timeout(cfg.request_timeout, connect).await.map_err(|_| ClientError::Timeout)?
    };
    match (cfg.transport, connector) {
        (TransportPref::Quic, _) => quic(cfg.request_timeout).await,
        (TransportPref::WebSocket, _) | (TransportPref::Auto, None) => ws().await,
        (TransportPref::Auto, Some(_)) => match quic(cfg.quic_handshake_timeout).await {
            Ok(conn) => Ok(conn),
            Err(quic_err) => {
                // UDP blocked, filtered or unanswered: the WebSocket path usually still works.
                tracing::debug!(error = %quic_err, "QUIC unavailable; falling back to WebSocket");
                ws().await.map_err(|ws_err| ClientError::Transport(format!("QUIC: {quic_err}; WebSocket: {ws_err}")))
            }
        },
    }
}
