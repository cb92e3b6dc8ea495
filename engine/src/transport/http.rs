//! The TCP port: a tiny HTTP/1.1 front that answers `GET /healthz` and `GET /metrics`
//! (Prometheus text format), upgrades `GET /ws` to a WebSocket and serves the web app's files
//! (`super::web`) for every other GET or HEAD. Parsing is httparse's; the WebSocket handshake key is tungstenite's.

use crate::config::PlaintextPolicy;
use crate::shard::Shard;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

const MAX_HEAD_BYTES: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

enum Route {
    /// `/healthz`; `head`: a HEAD request (the same answer without its body).
    Health { head: bool },
    Metrics,
    WebSocket { accept: String },
    /// A file of the web app; `head`: answer without the body.
    Static { target: String, accept_encoding: String, if_none_match: String, head: bool },
    MethodNotAllowed,
    BadRequest,
    /// Plaintext where the policy requires TLS.
    TlsRequired,
}

/// Serves one accepted TCP connection: TLS (`wss://`, `https://`) when its first byte starts a TLS
/// handshake, plain HTTP otherwise — which carries WebSocket and metrics only where the
/// configured policy allows plaintext (by default: from loopback peers).
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin + 'static>(shard: Rc<Shard>, mut stream: S, peer: SocketAddr) {
    let mut first = [0u8; 1];
    let Ok(Ok(1)) = tokio::time::timeout(HEAD_TIMEOUT, stream.read(&mut first)).await else { return };
    let stream = super::rewind::Rewind::new(first.to_vec(), stream);
    // 0x16: the record type of a TLS handshake; no HTTP request starts with it.
    if first[0] == 0x16 {
        let acceptor = shard.shared.tls_acceptor.clone();
        if let Ok(Ok(tls)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await {
            handle(shard, tls, true).await;
        }
        return;
    }
    let plaintext_ok = match shard.shared.config.plaintext_ws {
        PlaintextPolicy::Loopback => peer.ip().is_loopback(),
        PlaintextPolicy::Always => true,
        PlaintextPolicy::Never => false,
    };
    handle(shard, stream, plaintext_ok).await;
}

/// Serves HTTP on a connection; `trusted` is false for plaintext the policy does not allow,
/// which then gets only `/healthz`.
async fn handle<S: AsyncRead + AsyncWrite + Unpin + 'static>(shard: Rc<Shard>, mut stream: S, trusted: bool) {
    let mut head = Vec::with_capacity(1024);
    let parsed = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream, &mut head)).await;
    let Ok(Ok(head_len)) = parsed else { return };
    let route = match route(&head[..head_len]) {
        Route::Metrics | Route::WebSocket { .. } | Route::Static { .. } if !trusted => Route::TlsRequired,
        r => r,
    };
    match route {
        Route::Health { head } => {
            let mut answer = response("200 OK", "ok\n");
            if head {
                answer.truncate(answer.len() - "ok\n".len());
            }
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Route::Metrics => {
            let store = shard.shared.store.clone();
            // Storage counters come from RocksDB: read them on the blocking pool.
            let stats = tokio::task::spawn_blocking(move || store.stats()).await.ok().and_then(|r| r.ok());
            let depths: Vec<usize> = shard.shared.mailboxes.iter().map(|m| m.depth()).collect();
            let body = crate::metrics::render(&shard.shared.metrics, &depths, stats.as_ref());
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let _ = stream.write_all(body.as_bytes()).await;
            }
            let _ = stream.shutdown().await;
        }
        Route::TlsRequired => {
            let body = "use TLS (wss:// or https://) from outside this host\n";
            let _ = stream.write_all(response("403 Forbidden", body).as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Route::Static { target, accept_encoding, if_none_match, head } => {
            let root = shard.shared.config.web_dir.clone();
            // File reads block: keep them off the shard's thread.
            let reply = tokio::task::spawn_blocking(move || super::web::serve(&root, &target, &accept_encoding, &if_none_match)).await;
            let Ok(reply) = reply else { return };
            if stream.write_all(reply.head().as_bytes()).await.is_ok() && !head {
                let _ = stream.write_all(&reply.body).await;
            }
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
        }
        Route::MethodNotAllowed => {
            let reply = super::web::method_not_allowed();
            let _ = stream.write_all(reply.head().as_bytes()).await;
            let _ = stream.write_all(&reply.body).await;
            let _ = stream.shutdown().await;
        }
        Route::BadRequest => {
            let _ = stream.write_all(response("400 Bad Request", "bad request\n").as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Route::WebSocket { accept } => {
            let reply = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            // Flush: over io_uring the stream buffers the write until flushed.
            if stream.write_all(reply.as_bytes()).await.is_err() || stream.flush().await.is_err() {
                return;
            }
            // Bytes after the head already belong to the WebSocket stream.
            let rest = head.split_off(head_len);
            drop(head);
            let (reader, writer) = super::ws::accept(stream, rest).await;
            // A task of its own: this one's future is sized for every route and the TLS
            // detection (about 6 KiB), which an idle connection would otherwise keep for life;
            // the connection's own is about 1.4 KiB.
            tokio::task::spawn_local(crate::conn::serve(shard, reader, writer, crate::metrics::Transport::WebSocket, None));
        }
    }
}

fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Reads until the end of the request head; returns its length (the buffer may hold more).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(end + 4);
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn route(head: &[u8]) -> Route {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Route::BadRequest,
    }
    let head = match req.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Route::MethodNotAllowed,
    };
    let header = |name: &str| {
        req.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).and_then(|h| std::str::from_utf8(h.value).ok())
    };
    match req.path {
        Some("/healthz") => Route::Health { head },
        Some("/metrics") if !head => Route::Metrics,
        Some("/ws") if !head => {
            let upgrade = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
            match (upgrade, header("sec-websocket-key")) {
                (true, Some(key)) => Route::WebSocket { accept: derive_accept_key(key.trim().as_bytes()) },
                _ => Route::BadRequest,
            }
        }
        Some(target) => Route::Static {
            target: target.to_string(),
            accept_encoding: header("accept-encoding").unwrap_or("").to_string(),
            if_none_match: header("if-none-match").unwrap_or("").to_string(),
            head,
        },
        None => Route::BadRequest,
    }
}

