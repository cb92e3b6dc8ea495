//! The ceiling client path: plain WebSocket to `magpie-ceiling` (bench/src/bin/magpie-ceiling.rs).
//! A message is one binary frame holding the payload; the server says `ready` (text) once the
//! connection is registered, and broadcasts every binary frame to every connection.

use super::{Decoded, Ws};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

pub fn url(addr: std::net::SocketAddr) -> String {
    format!("ws://{addr}/")
}

/// Waits for `ready`: from then on every broadcast reaches this connection.
pub async fn handshake(ws: &mut Ws) -> Result<(), String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == "ready" => return Ok(()),
            Some(Ok(Message::Close(c))) => return Err(format!("closed by server {c:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".into()),
        }
    }
}

pub fn encode(payload: &str) -> Message {
    Message::Binary(Bytes::copy_from_slice(payload.as_bytes()))
}

pub fn decode(msg: &Message) -> Decoded<'_> {
    match msg {
        Message::Binary(b) => match std::str::from_utf8(b) {
            Ok(p) => Decoded::Payload(p),
            Err(_) => Decoded::Other,
        },
        Message::Close(_) => Decoded::Closed("close"),
        _ => Decoded::Other,
    }
}
