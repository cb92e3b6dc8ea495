//! The client against an in-process mock server on real sockets: both transports, fallback,
//! sync, gap filling, reconnect with resend, and the stops. (The engine's own end-to-end tests
//! cover the real server.) Timeouts here only keep a broken build from hanging; nothing asserts
//! on time.

mod mock;

use magpie_client::transport::Connection;
use magpie_client::{
    Client, ClientConfig, ClientError, ClientEvent, Direction, ErrorCode, EventKind, Events, Transport, TransportPref,
};
use magpie_wire::{encode, limits, verify};
use mock::{Mock, CERT_DER};
use std::sync::atomic::Ordering;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

async fn next(events: &mut Events) -> ClientEvent {
    tokio::time::timeout(PATIENCE, events.next()).await.expect("an event in time").expect("events still open")
}

/// Skips status events up to the next chat event.
async fn next_chat(events: &mut Events) -> magpie_client::ChatEvent {
    loop {
        if let ClientEvent::Event(e) = next(events).await {
            return e;
        }
    }
}

async fn until_sync_done(events: &mut Events) {
    while !matches!(next(events).await, ClientEvent::SyncDone { .. }) {}
}

fn config(mock: &Mock, pref: TransportPref) -> ClientConfig {
    ClientConfig::new(mock.quic_addr, mock.ws_addr, CERT_DER).transport(pref).request_timeout(PATIENCE)
}

async fn register(mock: &Mock, pref: TransportPref, name: &str) -> (Client, Events) {
    let (client, mut events) =
        Client::connect(config(mock, pref).register(name, "password123", "test")).await.expect("connect");
    assert!(matches!(next(&mut events).await, ClientEvent::Connected { resumed: false, .. }));
    until_sync_done(&mut events).await;
    (client, events)
}

async fn round_trip(pref: TransportPref, expect: Transport) {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, pref, "alice").await;
    assert_eq!(alice.transport(), Some(expect));
    assert!(!alice.token().is_empty());

    let chat = alice.create_group("team", &[]).await.unwrap();
    let ack = alice.send(chat.chat_id, "hello").await.unwrap();
    assert_eq!((ack.chat_id, ack.seq), (chat.chat_id, 2));
    assert_eq!(alice.pending_sends(), 0);

    let created = next_chat(&mut events).await;
    assert!(matches!(created.kind, EventKind::ChatCreated { ref title, .. } if title == "team"));
    let msg = next_chat(&mut events).await;
    assert_eq!(msg.seq, 2);
    assert!(matches!(msg.kind, EventKind::Message { ref content, ref client_msg_id, .. }
        if content == "hello" && *client_msg_id == ack.client_msg_id));
    assert_eq!(alice.cursors(), vec![(chat.chat_id, 2)]);

    let page = alice.history(chat.chat_id, 0, Direction::Backward, 10).await.unwrap();
    assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(alice.ping().await.is_ok());
    let err = alice.get_chat(999_999).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ChatNotFound));
    alice.close().await;
    assert!(matches!(alice.ping().await, Err(ClientError::Closed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_over_quic() {
    round_trip(TransportPref::Quic, Transport::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_over_websocket() {
    round_trip(TransportPref::WebSocket, Transport::WebSocket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_prefers_quic() {
    round_trip(TransportPref::Auto, Transport::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_websocket_when_udp_goes_unanswered() {
    let mock = Mock::start().await;
    // A UDP socket that swallows everything, like a firewall dropping QUIC.
    let black_hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut cfg = config(&mock, TransportPref::Auto).register("carol", "password123", "test");
    cfg.quic_addr = black_hole.local_addr().unwrap();
    let cfg = cfg.quic_handshake_timeout(Duration::from_millis(300));
    let (client, mut events) = Client::connect(cfg).await.unwrap();
    assert_eq!(next(&mut events).await, ClientEvent::Connected { transport: Transport::WebSocket, resumed: false });
    assert_eq!(client.transport(), Some(Transport::WebSocket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_in_live_delivery_is_filled_before_later_events() {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, TransportPref::WebSocket, "alice").await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    assert_eq!(next_chat(&mut events).await.seq, 1);
    // Alice's connection will not get seq 3 pushed.
    *mock.knobs.skip_live.lock().unwrap() = Some((alice.user_id(), 3));
    for text in ["two", "three", "four"] {
        mock.inject_message(chat.chat_id, 999, text);
    }
    let seqs: Vec<u64> = [next_chat(&mut events).await, next_chat(&mut events).await, next_chat(&mut events).await]
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [2, 3, 4]);
    assert_eq!(mock.knobs.history_calls.load(Ordering::SeqCst), 1);
    assert_eq!(alice.cursor(chat.chat_id), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_interrupted_before_its_ack_is_resent_and_posted_once() {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, TransportPref::Quic, "alice").await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    assert_eq!(next_chat(&mut events).await.seq, 1);

    mock.knobs.drop_before_next_ack.store(true, Ordering::SeqCst);
    let ack = alice.send(chat.chat_id, "once").await.unwrap();
    assert_eq!(ack.seq, 2);

    // Wait for the reconnection's sync to finish and for the message, in whichever order.
    let (mut seen, mut resumed, mut synced_again) = (Vec::new(), false, false);
    while !(synced_again && seen.contains(&2)) {
        match next(&mut events).await {
            ClientEvent::Event(e) => seen.push(e.seq),
            ClientEvent::Connected { resumed: r, .. } => resumed |= r,
            ClientEvent::SyncDone { .. } => synced_again = resumed,
            _ => {}
        }
    }
    assert!(resumed, "the client reconnected");
    assert_eq!(mock.knobs.authenticate_calls.load(Ordering::SeqCst), 1, "reconnected with the token");
    // The message came exactly once, and the next event follows it directly.
    mock.inject_message(chat.chat_id, 999, "after");
    assert_eq!(next_chat(&mut events).await.seq, 3);
    assert_eq!(seen, [2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_sends_are_retried() {
    let mock = Mock::start().await;
    let (alice, _events) = register(&mock, TransportPref::WebSocket, "alice").await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    mock.knobs.rate_limit_next_send.store(true, Ordering::SeqCst);
    let ack = alice.send(chat.chat_id, "patient").await.unwrap();
    assert_eq!(ack.seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_token_and_cursors_replays_only_what_was_missed() {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, TransportPref::WebSocket, "alice").await;
    let chat = alice.create_group("g", &[]).await.unwrap();
    alice.send(chat.chat_id, "one").await.unwrap();
    assert_eq!(next_chat(&mut events).await.seq, 1);
    assert_eq!(next_chat(&mut events).await.seq, 2);
    let (token, cursors) = (alice.token(), alice.cursors());
    alice.close().await;

    mock.inject_message(chat.chat_id, 999, "missed");
    let (again, mut events) =
        Client::connect(config(&mock, TransportPref::Quic).token(token).cursors(cursors)).await.unwrap();
    assert_eq!(again.user_id(), alice.user_id());
    let mut seqs = Vec::new();
    loop {
        match next(&mut events).await {
            ClientEvent::Event(e) => seqs.push(e.seq),
            ClientEvent::SyncDone { events, .. } => {
                assert_eq!(events, 1);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(seqs, [3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_and_logout_stop_the_client() {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, TransportPref::WebSocket, "alice").await;
    mock.revoke(alice.device_id());
    assert!(matches!(next(&mut events).await, ClientEvent::Closed { code: Some(ErrorCode::Revoked), .. }));
    assert!(tokio::time::timeout(PATIENCE, events.next()).await.unwrap().is_none(), "nothing after Closed");
    assert!(matches!(alice.ping().await, Err(ClientError::Closed)));

    let (bob, mut events) = register(&mock, TransportPref::Quic, "bob").await;
    bob.logout().await.unwrap();
    assert!(matches!(next(&mut events).await, ClientEvent::Closed { code: Some(ErrorCode::Revoked), .. }));
    // The token is dead: connecting with it again is refused.
    let err = Client::connect(config(&mock, TransportPref::Quic).token(bob.token())).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidCredentials));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_transport_speaks_frames_on_both_transports() {
    let mock = Mock::start().await;
    for mut conn in [
        Connection::quic(mock.quic_addr, CERT_DER).await.unwrap(),
        Connection::websocket(mock.ws_addr, None).await.unwrap(),
    ] {
        conn.send(encode::hello(1, limits::PROTOCOL_VERSION, limits::MIN_PROTOCOL_VERSION, 0, "raw")).await.unwrap();
        let reply = conn.recv().await.unwrap();
        assert!(verify::server_frame(&reply).unwrap().body_as_welcome().is_some());
        // Garbage in gets a Close back.
        conn.send_raw(bytes::Bytes::from_static(if conn.transport() == Transport::Quic {
            b"\x00\x00\x00\x03abc"
        } else {
            b"abc"
        }))
        .await
        .unwrap();
        let reply = conn.recv().await.unwrap();
        assert!(verify::server_frame(&reply).unwrap().body_as_close().is_some());
        conn.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_certificate_is_refused() {
    let mock = Mock::start().await;
    let other = include_bytes!("fixtures/other-cert.der").to_vec();
    let cfg = ClientConfig::new(mock.quic_addr, mock.ws_addr, other)
        .transport(TransportPref::Quic)
        .request_timeout(PATIENCE)
        .register("mallory", "password123", "test");
    assert!(matches!(Client::connect(cfg).await, Err(ClientError::Transport(_) | ClientError::InvalidInput(_))));
}
