//! Hostile and broken clients get stable error codes (violations: a Close with a reason), the
//! engine keeps serving everyone else, and nothing they sent is stored.

use bytes::Bytes;
use magpie_client::transport::Connection;
use magpie_client::{Direction, EventKind, TransportPref};
use magpie_testkit::*;
use magpie_wire::limits::{MAX_CLIENT_FRAME_BYTES, MAX_CONTENT_BYTES, PROTOCOL_VERSION};
use magpie_wire::{encode, fb, verify, ErrorCode};

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
