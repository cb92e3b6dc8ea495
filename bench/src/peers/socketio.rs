//! The Socket.IO client path: Engine.IO v4 / Socket.IO v5 spoken directly over tokio-tungstenite.
//!
//! Why not a Socket.IO client crate: the maintained Rust one (`rust_socketio` over
//! `rust_engineio`, and their forks) is callback-driven — every received event goes to a user
//! callback — and pulls in `native-tls` (OpenSSL), `reqwest` for the polling transport, an older
//! tokio-tungstenite of its own and proc-macro crates (`async-stream`, `async-trait`) that this
//! workspace avoids adding (a proc-macro change rebuilds RocksDB); an open-loop generator that
//! holds thousands of connections on single-threaded runtimes wants the raw frames instead.
//! Over the WebSocket transport the protocol is a handful of text packets, all implemented here:
//!
//! | direction | packet | meaning |
//! |---|---|---|
//! | server → client | `0{"sid":…,"pingInterval":…}` | Engine.IO open |
//! | client → server | `40` | Socket.IO connect to the `/` namespace; the server answers `40{"sid":…}` (or `44{…}`, an error) |
//! | client → server | `420["join","ROOM"]` | event `join` with ack id 0; the server answers `430["ok"]` |
//! | both | `42["msg","PAYLOAD"]` | event `msg` (the payload has no characters that JSON escapes) |
//! | server → client | `2` | Engine.IO ping; the client answers `3` |
//! | server → client | `41`, `1` | Socket.IO disconnect, Engine.IO close |

use super::{Decoded, Ws};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// The WebSocket URL of the Socket.IO server at `addr`.
pub fn url(addr: std::net::SocketAddr) -> String {
    format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
}

/// The next text packet, answering Engine.IO pings on the way.
async fn next_packet(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.map_err(|e| format!("pong: {e}"))?;
            }
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(c))) => return Err(format!("closed by server {c:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".into()),
        }
    }
}

/// Engine.IO open, Socket.IO connect, then `join` the room and wait for its acknowledgement.
pub async fn handshake(ws: &mut Ws, room: &str) -> Result<(), String> {
    let open = next_packet(ws).await?;
    if !open.starts_with("0{") {
        return Err(format!("expected the Engine.IO open packet, got {open:.80}"));
    }
    ws.send(Message::text("40")).await.map_err(|e| format!("connect: {e}"))?;
    loop {
        let p = next_packet(ws).await?;
        if p.starts_with("40") {
            break;
        }
        if p.starts_with("44") {
            return Err(format!("Socket.IO connect refused: {p:.80}"));
        }
    }
    ws.send(Message::text(format!("420[\"join\",\"{room}\"]"))).await.map_err(|e| format!("join: {e}"))?;
    loop {
        let p = next_packet(ws).await?;
        if p.starts_with("430") {
            return Ok(());
        }
    }
}

pub fn encode(payload: &str) -> Message {
    Message::text(format!("42[\"msg\",\"{payload}\"]"))
}

pub fn decode(msg: &Message) -> Decoded<'_> {
    match msg {
        Message::Text(t) => {
            let s = t.as_str();
            if let Some(p) = s.strip_prefix("42[\"msg\",\"").and_then(|r| r.strip_suffix("\"]")) {
                Decoded::Payload(p)
            } else if s == "2" {
                Decoded::Reply(Message::text("3"))
            } else if s.starts_with("41") || s == "1" {
                Decoded::Closed("socketio_disconnect")
            } else {
                Decoded::Other
            }
        }
        Message::Close(_) => Decoded::Closed("close"),
        _ => Decoded::Other,
    }
}
