//! Hostile and broken clients get stable error codes (violations: a Close with a reason), the
//! engine keeps serving everyone else, and nothing they sent is stored.

use bytes::Bytes;
use futures_util::FutureExt;
use magpie_client::transport::Connection;
use magpie_client::{Direction, EventKind, TransportPref};
use magpie_testkit::*;
use magpie_wire::limits::{MAX_CLIENT_FRAME_BYTES, MAX_CONTENT_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use magpie_wire::{encode, fb, verify, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `frame` as one frame whatever it holds (framing it by hand on QUIC, so that even
/// frames over the limit reach the server).
async fn send_frame(c: &mut Connection, t: TransportPref, frame: Vec<u8>) {
    let bytes = match t {
        TransportPref::Quic => [&(frame.len() as u32).to_be_bytes()[..], &frame].concat(),
        _ => frame,
    };
    c.send_raw(Bytes::from(bytes)).await.unwrap();
}

/// Reads frames until a Close arrives; returns its code. Fails if the connection ends without one.
async fn expect_close(c: &mut Connection) -> ErrorCode {
    loop {
        let f = tokio::time::timeout(WAIT, c.recv()).await.expect("close in time").expect("a Close frame before the end");
        let f = verify::server_frame(&f).unwrap();
        if let Some(close) = f.body_as_close() {
            let code = ErrorCode::from_u16(close.code()).unwrap();
            assert!(!close.reason().unwrap_or("").is_empty(), "a close carries a reason");
            // After the Close the server ends the connection.
            assert!(tokio::time::timeout(WAIT, c.recv()).await.expect("closed in time").is_err());
            return code;
        }
    }
}

/// Reads until the reply to `request_id`; returns the error code if it is an Error.
async fn reply_code(c: &mut Connection, request_id: u64) -> Option<ErrorCode> {
    loop {
        let f = tokio::time::timeout(WAIT, c.recv()).await.unwrap().unwrap();
        let fr = verify::server_frame(&f).unwrap();
        if fr.request_id() == request_id {
            return fr.body_as_error().map(|e| ErrorCode::from_u16(e.code()).unwrap());
        }
    }
}

/// After each abuse, a normal client still chats and the abuser's content is nowhere.
async fn still_serving(e: &TestEngine, alice: &magpie_client::Client, chat_id: u64, n: usize) {
    let ack = alice.send(chat_id, format!("still here {n}")).await.unwrap();
    let page = alice.history(chat_id, 0, Direction::Backward, 500).await.unwrap();
    assert_eq!(page.events.last().unwrap().seq, ack.seq);
    for ev in &page.events {
        if let EventKind::Message { content, .. } = &ev.kind {
            assert!(content.starts_with("still here"), "only the good client's messages are stored: {content:?}");
        }
    }
    let _ = e;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_close_with_a_reason_and_others_are_unaffected() {
    let e = start();
    let (alice, _ev) = e.register("alice", TransportPref::Quic).await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    let mut n = 0;
    for t in transports() {
        // Garbage instead of a frame (properly framed garbage on QUIC).
        let mut c = e.raw(t).await;
        c.send(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])).await.unwrap();
        assert_eq!(expect_close(&mut c).await, ErrorCode::MalformedFrame);
        if t == TransportPref::Quic {
            // A length prefix announcing more than the limit.
            let mut c = e.raw(t).await;
            c.send_raw(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0])).await.unwrap();
            assert_eq!(expect_close(&mut c).await, ErrorCode::FrameTooLarge);
        }
        n += 1;
        still_serving(&e, &alice, chat.chat_id, n).await;

        // A valid frame, but not Hello first.
        let mut c = e.raw(t).await;
        c.send(encode::ping(1, 1)).await.unwrap();
        assert_eq!(expect_close(&mut c).await, ErrorCode::HandshakeRequired);

        // Versions with no overlap, both ways.
        let mut c = e.raw(t).await;
        c.send(encode::hello(1, 0, 0, 0, "ancient")).await.unwrap();
        assert_eq!(expect_close(&mut c).await, ErrorCode::ClientTooOld);
        let mut c = e.raw(t).await;
        c.send(encode::hello(1, PROTOCOL_VERSION + 10, PROTOCOL_VERSION + 5, 0, "future")).await.unwrap();
        assert_eq!(expect_close(&mut c).await, ErrorCode::ServerTooOld);

        // Invalid UTF-8 inside a string field.
        let mut c = e.greeted(t).await;
        let mut bad = encode::send_message(2, chat.chat_id, "x1", "hello").to_vec();
        let at = bad.windows(5).position(|w| w == b"hello").unwrap();
        bad[at + 1] = 0xc3;
        bad[at + 2] = 0x28;
        send_frame(&mut c, t, bad).await;
        assert_eq!(expect_close(&mut c).await, ErrorCode::InvalidUtf8);

        // A frame type the server does not accept from clients.
        let mut c = e.greeted(t).await;
        c.send(encode::send_ack(2, 1, "x", 1, 1, 1)).await.unwrap();
        assert_eq!(expect_close(&mut c).await, ErrorCode::UnknownFrame);

        // An unknown union discriminant.
        let mut c = e.greeted(t).await;
        let mut unknown = encode::ping(2, 7).to_vec();
        let pos = unknown.iter().position(|&b| b == fb::Body::Ping.0).unwrap();
        unknown[pos] = 250;
        send_frame(&mut c, t, unknown).await;
        let code = expect_close(&mut c).await;
        assert!(matches!(code, ErrorCode::UnknownFrame | ErrorCode::MalformedFrame), "{code:?}");

        // A frame over the size limit.
        let mut c = e.greeted(t).await;
        let huge = "x".repeat(MAX_CLIENT_FRAME_BYTES + 1);
        send_frame(&mut c, t, encode::send_message(2, chat.chat_id, "x2", &huge).to_vec()).await;
        assert_eq!(expect_close(&mut c).await, ErrorCode::FrameTooLarge);

        n += 1;
        still_serving(&e, &alice, chat.chat_id, n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_leave_the_connection_open() {
    let e = start();
    let (alice, _ev) = e.register("alice", TransportPref::Quic).await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    for t in transports() {
        let mut c = e.greeted(t).await;
        // Before authentication.
        c.send(encode::send_message(2, chat.chat_id, "x", "sneaky")).await.unwrap();
        assert_eq!(reply_code(&mut c, 2).await, Some(ErrorCode::Unauthenticated));
        c.send(encode::list_chats(3)).await.unwrap();
        assert_eq!(reply_code(&mut c, 3).await, Some(ErrorCode::Unauthenticated));
        // Sign in as mallory, who is not in alice's chat.
        c.send(encode::register(4, &format!("mallory-{t:?}").to_lowercase(), PASSWORD, "m")).await.unwrap();
        assert_eq!(reply_code(&mut c, 4).await, None);
        c.send(encode::send_message(5, chat.chat_id, "x", "let me in")).await.unwrap();
        assert_eq!(reply_code(&mut c, 5).await, Some(ErrorCode::ChatNotFound));
        c.send(encode::history(6, chat.chat_id, 0, fb::Direction::Backward, 10)).await.unwrap();
        assert_eq!(reply_code(&mut c, 6).await, Some(ErrorCode::ChatNotFound));
        // Oversized content inside an acceptable frame.
        let own = {
            c.send(encode::create_group(7, "mine", &[])).await.unwrap();
            let f = c.recv().await.unwrap();
            verify::server_frame(&f).unwrap().body_as_chat_info().unwrap().chat_id()
        };
        c.send(encode::send_message(8, own, "big", &"y".repeat(MAX_CONTENT_BYTES + 1))).await.unwrap();
        assert_eq!(reply_code(&mut c, 8).await, Some(ErrorCode::ContentTooLarge));
        c.send(encode::send_message(9, own, "", "no id")).await.unwrap();
        assert_eq!(reply_code(&mut c, 9).await, Some(ErrorCode::InvalidArgument));
        // Still open and working.
        c.send(encode::send_message(10, own, "ok", &"z".repeat(MAX_CONTENT_BYTES))).await.unwrap();
        assert_eq!(reply_code(&mut c, 10).await, None, "a maximal message is accepted");
        still_serving(&e, &alice, chat.chat_id, 1).await;
    }
}

/// A WebSocket spoken by hand over TCP: it sends what the client library refuses to (messages
/// over the limit, text) and shows exactly how the server ends the connection (FIN or reset).
mod hand_ws {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;

    pub async fn upgrade(addr: std::net::SocketAddr) -> TcpStream {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 101 "), "{}", String::from_utf8_lossy(&head));
        s
    }

    /// One client frame, masked with the all-zero key (so the payload goes as it is).
    pub fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(payload);
        f
    }

    /// Splits what the server sent into (opcode, payload) frames.
    pub fn parse(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            assert_eq!(bytes[1] & 0x80, 0, "server frames are not masked");
            let (len, at) = match bytes[1] & 0x7f {
                126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
                127 => (u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize, 10),
                n => (n as usize, 2),
            };
            frames.push((bytes[0] & 0x0f, bytes[at..at + len].to_vec()));
            bytes = &bytes[at + len..];
        }
        frames
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_violations_get_their_close_and_a_clean_end() {
    use hand_ws::{BINARY, CLOSE, CONTINUATION, TEXT};
    let e = start();
    let hello = hand_ws::frame(BINARY, true, &encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, 0, "by hand"));
    let ping = hand_ws::frame(BINARY, true, &encode::ping(2, 2));
    let zeros = |n: usize| vec![0u8; n];
    let cases = [
        ("a message one byte over the limit, then a frame", [hand_ws::frame(BINARY, true, &zeros(MAX_CLIENT_FRAME_BYTES + 1)), ping.clone()].concat(), ErrorCode::FrameTooLarge),
        ("a 200 KiB message, then a frame", [hand_ws::frame(BINARY, true, &zeros(200 * 1024)), ping.clone()].concat(), ErrorCode::FrameTooLarge),
        (
            "fragments adding up to more than the limit, then a frame",
            [hand_ws::frame(BINARY, false, &zeros(50_000)), hand_ws::frame(CONTINUATION, true, &zeros(50_000)), ping.clone()].concat(),
            ErrorCode::FrameTooLarge,
        ),
        // A second violation while the server lingers must not stop its reading either. 16 MiB
        // behind it is more than the socket buffers hold, so writing it all succeeds only if the
        // server goes on reading (the FIN it sends after its close would hide a later reset).
        (
            "a text message, another, then 16 MiB of frames",
            [hand_ws::frame(TEXT, true, b"hi"), hand_ws::frame(TEXT, true, b"again"), hand_ws::frame(BINARY, true, &zeros(64 * 1024)).repeat(256)]
                .concat(),
            ErrorCode::MalformedFrame,
        ),
    ];
    for (what, input, code) in cases {
        let mut s = hand_ws::upgrade(e.engine.tcp_addr).await;
        s.write_all(&hello).await.unwrap();
        // The server reads all of it, even after deciding to close.
        s.write_all(&input).await.unwrap_or_else(|err| panic!("{what}: writing failed: {err}"));
        let mut got = Vec::new();
        tokio::time::timeout(WAIT, s.read_to_end(&mut got))
            .await
            .expect("the server ends the connection in time")
            .unwrap_or_else(|err| panic!("{what}: the connection ended with {err}, not a FIN"));
        let frames = hand_ws::parse(&got);
        let opcodes: Vec<u8> = frames.iter().map(|f| f.0).collect();
        assert_eq!(opcodes, [BINARY, BINARY, CLOSE], "{what}: Welcome, Close, then the WebSocket close");
        assert!(verify::server_frame(&frames[0].1).unwrap().body_as_welcome().is_some(), "{what}");
        let close = verify::server_frame(&frames[1].1).unwrap().body_as_close().map(|c| c.code());
        assert_eq!(close, Some(code as u16), "{what}");
        let ws_close = &frames[2].1;
        assert_eq!(u16::from_be_bytes([ws_close[0], ws_close[1]]), 1008, "{what}");
        assert_eq!(&ws_close[2..], code.name().as_bytes(), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_grants_the_control_stream_only_and_datagrams_only_once_negotiated() {
    let e = start();
    let mut c = e.greeted(TransportPref::Quic).await;
    let q = c.quic_connection().expect("a QUIC connection").clone();
    // The server's transport parameters, known since the handshake, allow one bidirectional
    // stream (the control stream, already open) and no unidirectional one, so the client's own
    // stack refuses to open another (quinn waits for more credit, which never comes).
    assert!(q.open_bi().now_or_never().is_none(), "a second bidirectional stream is refused");
    assert!(q.open_uni().now_or_never().is_none(), "a unidirectional stream is refused");
    // Datagrams are advertised (for typing, §6.15), but a connection that did not negotiate
    // DATAGRAMS in its Hello has them dropped unread: a typing frame sent anyway does nothing.
    assert!(q.max_datagram_size().is_some(), "the server advertises datagrams");
    q.send_datagram(encode::set_typing(9, 1, fb::TypingKind::Typing)).unwrap();
    q.send_datagram(Bytes::from_static(b"typing")).unwrap();
    // The control stream goes on working.
    c.send(encode::ping(2, 5)).await.unwrap();
    assert_eq!(reply_code(&mut c, 2).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_enum_values_are_invalid_arguments_and_trailing_bytes_are_ignored() {
    let e = start();
    for t in transports() {
        let mut c = e.greeted(t).await;
        c.send(encode::register(2, &format!("enum-{t:?}").to_lowercase(), PASSWORD, "d")).await.unwrap();
        assert_eq!(reply_code(&mut c, 2).await, None);
        c.send(encode::create_group(3, "mine", &[])).await.unwrap();
        let f = c.recv().await.unwrap();
        let chat = verify::server_frame(&f).unwrap().body_as_chat_info().unwrap().chat_id();
        // History.direction = 7 is neither Backward nor Forward.
        for (id, direction) in [(4, 7), (5, fb::Direction::ENUM_MAX + 1), (6, u8::MAX)] {
            c.send(encode::history(id, chat, 0, fb::Direction(direction), 10)).await.unwrap();
            assert_eq!(reply_code(&mut c, id).await, Some(ErrorCode::InvalidArgument), "direction {direction}");
        }
        // The connection stays open, and defined values work.
        c.send(encode::history(7, chat, 0, fb::Direction::Forward, 10)).await.unwrap();
        let f = tokio::time::timeout(WAIT, c.recv()).await.unwrap().unwrap();
        let page = verify::server_frame(&f).unwrap();
        assert_eq!((page.request_id(), page.body_as_history_page().map(|p| p.chat_id())), (7, Some(chat)));
        // Bytes after the buffer are ignored: a Ping followed by 8 zero bytes is a Ping.
        send_frame(&mut c, t, [&encode::ping(8, 42)[..], &[0u8; 8]].concat()).await;
        let f = tokio::time::timeout(WAIT, c.recv()).await.unwrap().unwrap();
        let pong = verify::server_frame(&f).unwrap();
        assert_eq!((pong.request_id(), pong.body_as_pong().map(|p| p.nonce())), (8, Some(42)));
        // A buffer whose tables are off their alignment is malformed: the same Ping moved by one
        // byte (its root offset adjusted, every other offset relative and so still right).
        let ping = encode::ping(9, 42);
        let root = u32::from_le_bytes(ping[..4].try_into().unwrap()) + 1;
        send_frame(&mut c, t, [&root.to_le_bytes()[..], &[0], &ping[4..]].concat()).await;
        assert_eq!(expect_close(&mut c).await, ErrorCode::MalformedFrame);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_get_rate_limited_then_disconnected() {
    let e = start_with(|c| {
        c.rate_per_sec = 50;
        c.rate_burst = 20;
    });
    let (alice, _ev) = e.register("alice", TransportPref::Quic).await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    for t in transports() {
        let mut c = e.greeted(t).await;
        let mut limited = 0;
        let mut pongs = 0;
        let mut closed = None;
        // Pipeline far more than the burst without reading, then read what came back.
        for i in 0..1200u64 {
            if c.send(encode::ping(100 + i, i)).await.is_err() {
                break;
            }
        }
        loop {
            let Ok(Ok(f)) = tokio::time::timeout(WAIT, c.recv()).await else { break };
            let fr = verify::server_frame(&f).unwrap();
            if let Some(err) = fr.body_as_error() {
                assert_eq!(ErrorCode::from_u16(err.code()), Some(ErrorCode::RateLimited));
                assert!(err.retry_after_ms() > 0);
                limited += 1;
            }
            if fr.body_as_pong().is_some() {
                pongs += 1;
            }
            if let Some(close) = fr.body_as_close() {
                closed = ErrorCode::from_u16(close.code());
                break;
            }
        }
        assert!(limited > 100, "most of the flood was refused ({limited} refused, {pongs} answered, closed with {closed:?})");
        assert_eq!(closed, Some(ErrorCode::TooManyErrors), "a client that never slows down is disconnected");
        still_serving(&e, &alice, chat.chat_id, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_over_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let e = start();
    let mut s = tokio::net::TcpStream::connect(e.engine.tcp_addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    let mut s = tokio::net::TcpStream::connect(e.engine.tcp_addr).await.unwrap();
    s.write_all(b"GET /nope HTTP/1.1\r\n\r\n").await.unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 404"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_connected_clients_why() {
    let e = start();
    let mut conns = Vec::new();
    for t in transports() {
        conns.push(e.greeted(t).await);
    }
    let TestEngine { engine, dir } = e;
    let stopping = tokio::task::spawn_blocking(move || engine.shutdown());
    for c in &mut conns {
        assert_eq!(expect_close(c).await, ErrorCode::ShuttingDown);
    }
    stopping.await.unwrap();
    drop(dir);
}
