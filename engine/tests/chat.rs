//! End to end through client-lib, over QUIC and over WebSocket: accounts, chats, messages,
//! idempotent sends, fan-out to every device, sync and history.

use magpie_client::{ClientError, ClientEvent, Direction, ErrorCode, EventKind, TransportPref};
use magpie_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_chat_delivers_to_every_device_over_both_transports() {
    for t in transports() {
        let e = start();
        let (alice, mut alice_ev) = e.register("alice", t).await;
        let (bob, mut bob_ev) = e.register("bob", t).await;
        let (_alice2, mut alice2_ev) = e.login("alice", "phone", t).await;
        assert_eq!(alice.transport(), Some(match t {
            TransportPref::Quic => magpie_client::Transport::Quic,
            _ => magpie_client::Transport::WebSocket,
        }));

        let chat = alice.create_direct("bob").await.unwrap();
        assert_eq!(chat.members.len(), 2);
        // Exactly one direct chat per pair, whoever asks.
        assert_eq!(bob.create_direct(alice.user_id()).await.unwrap().chat_id, chat.chat_id);
        assert_eq!(alice.create_direct("bob").await.unwrap().chat_id, chat.chat_id);

        let ack = alice.send(chat.chat_id, "hello bob").await.unwrap();
        assert_eq!(ack.seq, 2, "seq 1 is the chat's creation");
        for ev in [&mut bob_ev, &mut alice_ev, &mut alice2_ev] {
            let created = next_event(ev).await;
            assert_eq!((created.chat_id, created.seq), (chat.chat_id, 1));
            assert!(matches!(created.kind, EventKind::ChatCreated { .. }));
            assert_eq!(next_message(ev).await, (2, "hello bob".to_string()));
        }
        let reply = bob.send(chat.chat_id, "hi alice").await.unwrap();
        assert_eq!(reply.seq, 3);
        assert_eq!(next_message(&mut alice2_ev).await, (3, "hi alice".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_client_msg_id_returns_the_same_ack_and_stores_once() {
    for t in transports() {
        let e = start();
        let (alice, _ev) = e.register("alice", t).await;
        let (bob, _bev) = e.register("bob", t).await;
        let chat = alice.create_group("g", &[bob.user_id()]).await.unwrap();
        let first = alice.send_with_id(chat.chat_id, "msg-1", "once").await.unwrap();
        let again = alice.send_with_id(chat.chat_id, "msg-1", "once").await.unwrap();
        assert_eq!(first, again);
        let page = bob.history(chat.chat_id, 0, Direction::Backward, 50).await.unwrap();
        let messages: Vec<_> = page.events.iter().filter(|e| matches!(e.kind, EventKind::Message { .. })).collect();
        assert_eq!(messages.len(), 1);
        // The same id in another chat is refused, not silently acked.
        let other = alice.create_group("h", &[]).await.unwrap();
        let err = alice.send_with_id(other.chat_id, "msg-1", "x").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidArgument));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_enforce_membership_and_roles() {
    let t = TransportPref::WebSocket;
    let e = start();
    let (alice, _a) = e.register("alice", t).await;
    let (bob, mut bob_ev) = e.register("bob", t).await;
    let (carol, mut carol_ev) = e.register("carol", t).await;
    let (mallory, _m) = e.register("mallory", t).await;

    let g = alice.create_group("friends", &[bob.user_id()]).await.unwrap();
    assert_eq!(g.title, "friends");
    // Non-members learn nothing: every request answers chat_not_found.
    let not_found = |r: Result<_, ClientError>| assert_eq!(r.err().and_then(|e| e.code()), Some(ErrorCode::ChatNotFound));
    not_found(mallory.send(g.chat_id, "let me in").await.map(|_| ()));
    not_found(mallory.get_chat(g.chat_id).await.map(|_| ()));
    not_found(mallory.history(g.chat_id, 0, Direction::Backward, 10).await.map(|_| ()));
    not_found(mallory.add_members(g.chat_id, &[mallory.user_id()]).await);
    not_found(mallory.get_chat(987_654_321).await.map(|_| ()));
    // Members who are not admins cannot add or remove others.
    let err = bob.add_members(g.chat_id, &[carol.user_id()]).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));

    alice.add_members(g.chat_id, &[carol.user_id()]).await.unwrap();
    alice.send(g.chat_id, "welcome carol").await.unwrap();
    // Carol joined later: she is pushed the chat from the event that adds her on (PROTOCOL §7.4),
    // and still reads its history from the start (the default visibility shows it all).
    let joined = next_event(&mut carol_ev).await;
    assert!(joined.adds_member(carol.user_id()));
    assert_eq!(joined.seq, 2);
    assert_eq!(next_message(&mut carol_ev).await.1, "welcome carol");
    let page = carol.history(g.chat_id, 0, Direction::Backward, 10).await.unwrap();
    assert_eq!(page.events.first().map(|e| e.seq), Some(1));

    bob.leave_chat(g.chat_id).await.unwrap();
    loop {
        let ev = next_event(&mut bob_ev).await;
        if ev.removes_member(bob.user_id()) {
            break;
        }
    }
    alice.send(g.chat_id, "after bob left").await.unwrap();
    not_found(bob.send(g.chat_id, "still here?").await.map(|_| ()));
    alice.remove_member(g.chat_id, carol.user_id()).await.unwrap();
    let info = alice.get_chat(g.chat_id).await.unwrap();
    assert_eq!(info.members.iter().map(|m| m.user_id).collect::<Vec<_>>(), vec![alice.user_id()]);
    // Direct chats are not groups.
    let d = alice.create_direct("bob").await.unwrap();
    assert_eq!(alice.add_members(d.chat_id, &[carol.user_id()]).await.unwrap_err().code(), Some(ErrorCode::NotAGroup));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_device_syncs_everything_it_missed_in_order() {
    for t in transports() {
        let e = start();
        let (alice, _a) = e.register("alice", t).await;
        let (bob, mut bob_ev) = e.register("bob", t).await;
        let token = bob.token();
        let g = alice.create_group("g", &[bob.user_id()]).await.unwrap();
        let d = alice.create_direct("bob").await.unwrap();
        // Bob reads the first events, then goes offline.
        assert_eq!(next_event(&mut bob_ev).await.seq, 1);
        bob.close().await;
        drop(bob_ev);
        for i in 0..40 {
            alice.send(g.chat_id, format!("g{i}")).await.unwrap();
            alice.send(d.chat_id, format!("d{i}")).await.unwrap();
        }
        // Bob's new connection says it holds seq 1 of the group and nothing of the direct chat.
        let cfg = e.client_config(t).token(token).cursors([(g.chat_id, 1)]);
        let (client, mut ev) = magpie_client::Client::connect(cfg).await.unwrap();
        let mut got_g = Vec::new();
        let mut got_d = Vec::new();
        loop {
            match tokio::time::timeout(WAIT, ev.next()).await.unwrap().unwrap() {
                ClientEvent::Event(x) if x.chat_id == g.chat_id => got_g.push(x.seq),
                ClientEvent::Event(x) if x.chat_id == d.chat_id => got_d.push(x.seq),
                ClientEvent::SyncDone { .. } => break,
                _ => {}
            }
        }
        assert_eq!(got_g, (2..=41).collect::<Vec<_>>(), "group events after the cursor, in order");
        assert_eq!(got_d, (1..=41).collect::<Vec<_>>(), "every event of the chat it did not know");
        drop(client);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_both_ways_and_chat_list_shows_last_message() {
    let e = start();
    let (alice, _a) = e.register("alice", TransportPref::Quic).await;
    let g = alice.create_group("g", &[]).await.unwrap();
    for i in 0..25 {
        alice.send(g.chat_id, format!("m{i}")).await.unwrap();
    }
    // Backward from the end: seqs 17..=26 (seq 1 is the creation).
    let p = alice.history(g.chat_id, 0, Direction::Backward, 10).await.unwrap();
    assert_eq!(p.events.iter().map(|e| e.seq).collect::<Vec<_>>(), (17..=26).collect::<Vec<_>>());
    assert!(p.has_more);
    let p2 = alice.history(g.chat_id, 17, Direction::Backward, 100).await.unwrap();
    assert_eq!(p2.events.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=16).collect::<Vec<_>>());
    assert!(!p2.has_more);
    let f = alice.history(g.chat_id, 20, Direction::Forward, 3).await.unwrap();
    assert_eq!(f.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![21, 22, 23]);
    assert!(f.has_more);
    let f2 = alice.history(g.chat_id, 23, Direction::Forward, 50).await.unwrap();
    assert_eq!(f2.events.len(), 3);
    assert!(!f2.has_more);

    let users = alice.get_users(&[alice.user_id(), 424_242]).await.unwrap();
    assert_eq!(users.len(), 1, "unknown ids are left out");
    assert_eq!((users[0].user_id, users[0].username.as_str()), (alice.user_id(), "alice"));
    assert_eq!(alice.get_users(&[]).await.unwrap_err().code(), Some(ErrorCode::InvalidArgument));

    // Paging: more chats than one page holds come back in id order, each exactly once.
    let mut made = vec![g.chat_id];
    for i in 0..4 {
        made.push(alice.create_group(&format!("g{i}"), &[]).await.unwrap().chat_id);
    }
    let (first, more) = alice.list_chats_page(0, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(more);
    let (rest, more) = alice.list_chats_page(first[1].chat_id, 10).await.unwrap();
    assert!(!more);
    let mut paged: Vec<u64> = first.iter().chain(&rest).map(|c| c.chat_id).collect();
    made.sort_unstable();
    assert_eq!(paged, made);
    paged.dedup();
    assert_eq!(paged.len(), made.len());

    let chats = alice.list_chats().await.unwrap();
    assert_eq!(chats.len(), made.len());
    let s = chats.iter().find(|c| c.chat_id == g.chat_id).unwrap();
    assert_eq!(s.last_seq, 26);
    match &s.last_message.as_ref().unwrap().kind {
        EventKind::Message { content, .. } => assert_eq!(content, "m24"),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_can_be_listed_and_revoked() {
    let e = start();
    let (laptop, _l) = e.register("alice", TransportPref::Quic).await;
    let (phone, mut phone_ev) = e.login("alice", "phone", TransportPref::WebSocket).await;
    let phone_token = phone.token();
    let devices = laptop.list_devices().await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.current).count(), 1);
    laptop.revoke_device(phone.device_id()).await.unwrap();
    loop {
        match tokio::time::timeout(WAIT, phone_ev.next()).await.unwrap() {
            Some(ClientEvent::Closed { code, .. }) => {
                assert_eq!(code, Some(ErrorCode::Revoked));
                break;
            }
            Some(_) => continue,
            None => break,
        }
    }
    // The revoked token no longer signs in.
    let cfg = e.client_config(TransportPref::WebSocket).token(phone_token);
    let Err(err) = magpie_client::Client::connect(cfg).await else { panic!("a revoked token must be refused") };
    assert_eq!(err.code(), Some(ErrorCode::InvalidCredentials));
    assert_eq!(laptop.revoke_device(999_999).await.unwrap_err().code(), Some(ErrorCode::DeviceNotFound));
    // Logging out revokes the current device.
    laptop.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_transport_falls_back_to_websocket_when_udp_is_unanswered() {
    let e = start();
    // A UDP port nobody answers on stands in for a network that blocks UDP.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut cfg = e.client_config(TransportPref::Auto).register("alice", PASSWORD, "laptop");
    cfg.quic_addr = silent.local_addr().unwrap();
    cfg.quic_handshake_timeout = std::time::Duration::from_millis(300);
    let (client, _ev) = connect_synced(cfg).await;
    assert_eq!(client.transport(), Some(magpie_client::Transport::WebSocket));
    // And with UDP open, Auto picks QUIC.
    let (client, _ev) = connect_synced(e.client_config(TransportPref::Auto).register("bob", PASSWORD, "laptop")).await;
    assert_eq!(client.transport(), Some(magpie_client::Transport::Quic));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_and_login_errors_are_stable_codes() {
    let e = start();
    let (_a, _ev) = e.register("alice", TransportPref::WebSocket).await;
    let taken = magpie_client::Client::connect(e.client_config(TransportPref::WebSocket).register("alice", PASSWORD, "x")).await;
    assert_eq!(taken.err().and_then(|e| e.code()), Some(ErrorCode::UsernameTaken));
    let bad = magpie_client::Client::connect(e.client_config(TransportPref::Quic).login("alice", "wrong password", "x")).await;
    assert_eq!(bad.err().and_then(|e| e.code()), Some(ErrorCode::InvalidCredentials));
    let nobody = magpie_client::Client::connect(e.client_config(TransportPref::Quic).login("nobody", PASSWORD, "x")).await;
    assert_eq!(nobody.err().and_then(|e| e.code()), Some(ErrorCode::InvalidCredentials));
    let invalid = magpie_client::Client::connect(e.client_config(TransportPref::Quic).register("NO", PASSWORD, "x")).await;
    assert_eq!(invalid.err().and_then(|e| e.code()), Some(ErrorCode::InvalidArgument));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_over_tls_and_the_plaintext_policy() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // As for a public listener: plaintext from nowhere, TLS on the same port.
    let e = start_with(|c| c.plaintext_ws = magpie_engine::PlaintextPolicy::Never);
    let wss = |name: &str| e.client_config(TransportPref::WebSocket).websocket_tls(true).register(name, PASSWORD, "d");
    let (alice, _a) = connect_synced(wss("alice")).await;
    let (bob, mut bob_ev) = connect_synced(wss("bob")).await;
    assert_eq!(alice.transport(), Some(magpie_client::Transport::WebSocket));
    let chat = alice.create_direct(bob.user_id()).await.unwrap();
    alice.send(chat.chat_id, "over wss").await.unwrap();
    assert_eq!(next_message(&mut bob_ev).await.1, "over wss");

    // Plain ws:// is refused (403 before any upgrade), so the client cannot connect.
    let plain = e.client_config(TransportPref::WebSocket).websocket_tls(false).register("carol", PASSWORD, "d");
    assert!(magpie_client::Client::connect(plain).await.is_err());
    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(e.engine.tcp_addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).await.unwrap();
        body
    };
    assert!(get("/metrics").await.starts_with("HTTP/1.1 403"));
    assert!(get("/healthz").await.starts_with("HTTP/1.1 200"), "health checks stay plaintext");
}
