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

// ------------------------------------------------------------------ conversations (§6.9–6.11)

use magpie_client::{
    ChatKind, ChatRef, ChatSettings, ChatStateChange, ChatUpdate, HistoryVisibility, JoinedVia, Joined, Member, NewChat,
    Role, Who,
};

/// Skips events up to the first for which `pick` gives something.
async fn next_where<T>(events: &mut Events, mut pick: impl FnMut(&ClientEvent) -> Option<T>) -> T {
    loop {
        if let Some(t) = pick(&next(events).await) {
            return t;
        }
    }
}

async fn next_kind(events: &mut Events, chat_id: u64) -> EventKind {
    next_where(events, |e| match e {
        ClientEvent::Event(e) if e.chat_id == chat_id => Some(e.kind.clone()),
        _ => None,
    })
    .await
}

fn code(e: ClientError) -> Option<ErrorCode> {
    e.code()
}

async fn pushed(events: &mut Events) -> (u64, magpie_client::ChatState) {
    next_where(events, |e| match e {
        ClientEvent::ChatStateChanged { chat_id, state } => Some((*chat_id, *state)),
        _ => None,
    })
    .await
}

/// A second connection of the same device, for the "other devices are told" pushes.
async fn second_connection(mock: &Mock, client: &Client) -> (Client, Events) {
    let (c, mut events) = Client::connect(config(mock, TransportPref::WebSocket).token(client.token())).await.unwrap();
    until_sync_done(&mut events).await;
    (c, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_with_handle_description_and_settings_and_its_subscribers() {
    let mock = Mock::start().await;
    let (alice, mut alice_events) = register(&mock, TransportPref::WebSocket, "alice").await;
    let (bob, _bob_events) = register(&mock, TransportPref::Quic, "bob").await;
    let (bob2, mut bob2_events) = second_connection(&mock, &bob).await;

    let settings = ChatSettings { history: HistoryVisibility::SinceJoined, forwarding: false, ..ChatSettings::default() };
    let new = NewChat {
        description: "all the news".into(),
        handle: "news_room".into(),
        settings: Some(settings),
        ..NewChat::channel("News")
    };
    let chan = alice.create_chat(&new).await.unwrap();
    assert_eq!((chan.kind, chan.title.as_str(), chan.description.as_str()), (ChatKind::Channel, "News", "all the news"));
    assert_eq!((chan.handle.as_str(), chan.settings, chan.my_role), ("news_room", settings, Role::Owner));
    assert_eq!((chan.member_count, chan.members_complete, chan.pending_requests), (1, true, 0));
    assert_eq!(chan.members, [Member { user_id: alice.user_id(), role: Role::Owner, since_seq: 1 }]);
    let EventKind::ChatCreated { kind, description, handle, settings: s, members, .. } = next_kind(&mut alice_events, chan.chat_id).await
    else {
        panic!("not ChatCreated")
    };
    assert_eq!((kind, description.as_str(), handle.as_str(), s), (ChatKind::Channel, "all the news", "news_room", settings));
    assert_eq!(members[0].role, Role::Owner);

    // Handles are unique among chats.
    let again = NewChat { handle: "news_room".into(), ..NewChat::group("copy") };
    assert_eq!(code(alice.create_chat(&again).await.unwrap_err()), Some(ErrorCode::HandleTaken));

    // Anyone may preview and join a public chat by its handle.
    let preview = bob.preview_chat(ChatRef::Handle("news_room".into())).await.unwrap();
    assert_eq!((preview.chat_id, preview.kind, preview.title.as_str()), (chan.chat_id, ChatKind::Channel, "News"));
    assert_eq!((preview.member_count, preview.is_member, preview.approve_joins), (1, false, false));
    let Joined::Joined(info) = bob.join_chat(ChatRef::Handle("news_room".into())).await.unwrap() else { panic!("pending") };
    assert_eq!((info.my_role, info.member_count), (Role::Member, 2));
    // A subscriber sees only the owner and admins, pages only them, and may not post.
    assert_eq!(info.members.iter().map(|m| m.user_id).collect::<Vec<_>>(), [alice.user_id()]);
    assert!(!info.members_complete);
    let page = bob.list_members(chan.chat_id, 0, 0, false).await.unwrap();
    assert_eq!((page.members.len(), page.has_more), (1, false), "subscribers are paged to admins only");
    assert_eq!(code(bob.send(chan.chat_id, "me too").await.unwrap_err()), Some(ErrorCode::Forbidden));
    // Bob's other connection is told, as there is no event in the channel's log for it.
    let pushed = next_where(&mut bob2_events, |e| match e {
        ClientEvent::MembershipChanged { chat_id, member } => Some((*chat_id, *member)),
        _ => None,
    })
    .await;
    assert_eq!(pushed, (chan.chat_id, true));
    assert!(bob.preview_chat(ChatRef::Handle("news_room".into())).await.unwrap().is_member);

    // The owner pages everyone.
    let all = alice.list_members(chan.chat_id, 0, 1, false).await.unwrap();
    assert_eq!((all.members.len(), all.has_more), (1, true));
    let rest = alice.list_members(chan.chat_id, all.members[0].user_id, 1, false).await.unwrap();
    assert_eq!((rest.members.len(), rest.has_more), (1, false));

    bob.leave_chat(chan.chat_id).await.unwrap();
    let pushed = next_where(&mut bob2_events, |e| match e {
        ClientEvent::MembershipChanged { chat_id, member } => Some((*chat_id, *member)),
        _ => None,
    })
    .await;
    assert_eq!(pushed, (chan.chat_id, false));
    assert_eq!(code(bob.get_chat(chan.chat_id).await.unwrap_err()), Some(ErrorCode::ChatNotFound));
    bob2.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_info_ownership_and_leaving_as_the_owner() {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, TransportPref::WebSocket, "alice").await;
    let (bob, _b) = register(&mock, TransportPref::WebSocket, "bob").await;
    let (carol, _c) = register(&mock, TransportPref::WebSocket, "carol").await;
    let (b, c) = (bob.user_id(), carol.user_id());
    let chat = alice.create_chat(&NewChat { member_ids: vec![b, c], ..NewChat::group("team") }).await.unwrap();
    let id = chat.chat_id;
    assert!(matches!(next_kind(&mut events, id).await, EventKind::ChatCreated { .. }));

    // Info: the whole new info comes back as one event.
    let settings = ChatSettings { post: Who::Admins, approve_joins: true, ..ChatSettings::default() };
    let update = ChatUpdate { description: Some("we ship".into()), settings: Some(settings), ..Default::default() };
    alice.update_chat(id, &update).await.unwrap();
    assert_eq!(
        next_kind(&mut events, id).await,
        EventKind::ChatUpdated {
            title: "team".into(),
            description: "we ship".into(),
            avatar_ref: String::new(),
            handle: String::new(),
            settings
        }
    );
    assert_eq!(code(bob.update_chat(id, &update).await.unwrap_err()), Some(ErrorCode::Forbidden));
    let info = alice.get_chat(id).await.unwrap();
    assert_eq!((info.description.as_str(), info.settings), ("we ship", settings));

    // Roles.
    alice.set_role(id, c, Role::Admin).await.unwrap();
    assert_eq!(next_kind(&mut events, id).await, EventKind::RoleChanged { user_id: c, role: Role::Admin });
    assert_eq!(code(alice.set_role(id, b, Role::Owner).await.unwrap_err()), Some(ErrorCode::InvalidArgument));
    assert_eq!(code(bob.set_role(id, b, Role::Admin).await.unwrap_err()), Some(ErrorCode::Forbidden));
    let info = carol.get_chat(id).await.unwrap();
    assert_eq!(info.my_role, Role::Admin);
    assert_eq!(info.members.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::Owner, Role::Admin, Role::Member]);

    // Ownership: only the owner hands it on; they become an admin.
    assert_eq!(code(carol.transfer_ownership(id, b).await.unwrap_err()), Some(ErrorCode::Forbidden));
    alice.transfer_ownership(id, c).await.unwrap();
    assert_eq!(
        next_kind(&mut events, id).await,
        EventKind::OwnerChanged { previous_owner: alice.user_id(), new_owner: c }
    );
    assert_eq!(alice.get_chat(id).await.unwrap().my_role, Role::Admin);

    // Leaving as the owner: with no admin left to take over, the owner must name a successor.
    let solo = carol.create_chat(&NewChat { member_ids: vec![b], ..NewChat::group("duo") }).await.unwrap().chat_id;
    assert_eq!(code(carol.leave_chat(solo).await.unwrap_err()), Some(ErrorCode::OwnerMustTransfer));
    carol.leave_chat_to(solo, b).await.unwrap();
    let info = bob.get_chat(solo).await.unwrap();
    assert_eq!((info.my_role, info.member_count), (Role::Owner, 1));
    let page = bob.history(solo, 0, Direction::Backward, 10).await.unwrap();
    let kinds: Vec<_> = page.events.iter().skip(1).map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [EventKind::OwnerChanged { previous_owner: c, new_owner: b }, EventKind::MemberRemoved { user_id: c, left: true }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_links_and_their_refusals() {
    let mock = Mock::start().await;
    let (alice, _a) = register(&mock, TransportPref::WebSocket, "alice").await;
    let (bob, mut bob_events) = register(&mock, TransportPref::WebSocket, "bob").await;
    let (carol, _c) = register(&mock, TransportPref::WebSocket, "carol").await;
    let id = alice.create_chat(&NewChat::group("club")).await.unwrap().chat_id;

    let once = alice.create_invite(id, 0, 1).await.unwrap();
    assert_eq!((once.chat_id, once.created_by, once.max_uses, once.uses, once.revoked), (id, alice.user_id(), 1, 0, false));
    assert_eq!(once.code.len(), 22);
    let preview = bob.preview_chat(ChatRef::Invite(once.code.clone())).await.unwrap();
    assert_eq!((preview.title.as_str(), preview.is_member), ("club", false));
    let Joined::Joined(info) = bob.join_chat(ChatRef::Invite(once.code.clone())).await.unwrap() else { panic!("pending") };
    assert_eq!((info.chat_id, info.my_role, info.member_count), (id, Role::Member, 2));
    let added = next_where(&mut bob_events, |e| match e {
        ClientEvent::Event(e) if e.chat_id == id => match &e.kind {
            EventKind::MembersAdded { user_ids, via } => Some((user_ids.clone(), *via)),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(added, (vec![bob.user_id()], JoinedVia::InviteLink));
    assert_eq!(bob.cursor(id), 2);
    assert_eq!(mock.knobs.history_calls.load(Ordering::SeqCst), 0, "the chat starts at bob's join: nothing before it is fetched");
    // Used up for carol; an existing member just gets the chat.
    assert_eq!(code(carol.join_chat(ChatRef::Invite(once.code.clone())).await.unwrap_err()), Some(ErrorCode::InviteUsedUp));
    let open = alice.create_invite(id, 0, 0).await.unwrap();
    let Joined::Joined(again) = bob.join_chat(ChatRef::Invite(open.code.clone())).await.unwrap() else { panic!("pending") };
    assert_eq!(again.member_count, 2, "an existing member just gets the chat");

    let expired = alice.create_invite(id, 1_000, 0).await.unwrap();
    assert_eq!(code(carol.join_chat(ChatRef::Invite(expired.code)).await.unwrap_err()), Some(ErrorCode::InviteExpired));
    let revoked = alice.create_invite(id, 0, 0).await.unwrap();
    alice.revoke_invite(id, &revoked.code).await.unwrap();
    assert_eq!(code(carol.join_chat(ChatRef::Invite(revoked.code.clone())).await.unwrap_err()), Some(ErrorCode::InviteRevoked));
    assert_eq!(code(carol.preview_chat(ChatRef::Invite("x".repeat(22))).await.unwrap_err()), Some(ErrorCode::InviteNotFound));

    let listed = alice.list_invites(id).await.unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().any(|i| i.code == revoked.code && i.revoked));
    assert!(listed.iter().any(|i| i.code == once.code && i.uses == 1));
    assert_eq!(code(bob.list_invites(id).await.unwrap_err()), Some(ErrorCode::Forbidden));
    assert_eq!(code(bob.create_invite(id, 0, 0).await.unwrap_err()), Some(ErrorCode::Forbidden));

    // At most 100 live links per chat (three of the four so far are live).
    for _ in 0..97 {
        alice.create_invite(id, 0, 0).await.unwrap();
    }
    assert_eq!(code(alice.create_invite(id, 0, 0).await.unwrap_err()), Some(ErrorCode::LimitReached));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_to_join_waits_for_an_admin() {
    let mock = Mock::start().await;
    let (alice, mut events) = register(&mock, TransportPref::WebSocket, "alice").await;
    let (bob, _b) = register(&mock, TransportPref::WebSocket, "bob").await;
    let (carol, _c) = register(&mock, TransportPref::WebSocket, "carol").await;
    let settings = ChatSettings { approve_joins: true, ..ChatSettings::default() };
    let new = NewChat { handle: "by_approval".into(), settings: Some(settings), ..NewChat::group("vetted") };
    let id = alice.create_chat(&new).await.unwrap().chat_id;

    let by = ChatRef::Handle("by_approval".into());
    assert!(bob.preview_chat(by.clone()).await.unwrap().approve_joins);
    assert_eq!(bob.join_chat(by.clone()).await.unwrap(), Joined::Pending { chat_id: id });
    assert_eq!(bob.join_chat(by.clone()).await.unwrap(), Joined::Pending { chat_id: id }, "again for a repeat");
    assert_eq!(carol.join_chat(by).await.unwrap(), Joined::Pending { chat_id: id });
    assert_eq!(code(bob.get_chat(id).await.unwrap_err()), Some(ErrorCode::ChatNotFound));

    assert_eq!(alice.get_chat(id).await.unwrap().pending_requests, 2);
    let requests = alice.list_join_requests(id).await.unwrap();
    assert_eq!(requests.iter().map(|r| r.user_id).collect::<Vec<_>>(), [bob.user_id(), carol.user_id()]);
    assert!(requests.iter().all(|r| r.time_ms > 0));

    alice.resolve_join_request(id, bob.user_id(), true).await.unwrap();
    alice.resolve_join_request(id, carol.user_id(), false).await.unwrap();
    let _created = next_kind(&mut events, id).await;
    assert_eq!(next_kind(&mut events, id).await, EventKind::MembersAdded { user_ids: vec![bob.user_id()], via: JoinedVia::Approved });
    assert_eq!(bob.get_chat(id).await.unwrap().my_role, Role::Member);
    assert_eq!(code(carol.get_chat(id).await.unwrap_err()), Some(ErrorCode::ChatNotFound));
    assert!(alice.list_join_requests(id).await.unwrap().is_empty());
    assert_eq!(code(bob.list_join_requests(id).await.unwrap_err()), Some(ErrorCode::Forbidden));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_state_is_pushed_to_the_other_devices_and_orders_the_chat_list() {
    let mock = Mock::start().await;
    let (alice, mut here) = register(&mock, TransportPref::WebSocket, "alice").await;
    let (other, mut there) = second_connection(&mock, &alice).await;
    let mut ids = Vec::new();
    for n in 0..11 {
        ids.push(alice.create_chat(&NewChat::group(format!("g{n}"))).await.unwrap().chat_id);
    }

    let muted = alice.set_chat_state(ids[0], ChatStateChange { muted_until_ms: Some(i64::MAX), ..Default::default() }).await.unwrap();
    assert_eq!((muted.muted_until_ms, muted.pin_rank, muted.archived), (i64::MAX, 0, false));
    assert_eq!(pushed(&mut there).await, (ids[0], muted));

    // Pins: at most 10.
    for &id in &ids[..10] {
        let s = alice.set_chat_state(id, ChatStateChange { pinned: Some(true), ..Default::default() }).await.unwrap();
        assert_ne!(s.pin_rank, 0);
    }
    let eleventh = alice.set_chat_state(ids[10], ChatStateChange { pinned: Some(true), ..Default::default() }).await;
    assert_eq!(code(eleventh.unwrap_err()), Some(ErrorCode::LimitReached));
    for &id in &ids[2..10] {
        alice.set_chat_state(id, ChatStateChange { pinned: Some(false), ..Default::default() }).await.unwrap();
    }
    alice.set_chat_state(ids[10], ChatStateChange { archived: Some(true), marked_unread: Some(true), ..Default::default() }).await.unwrap();

    // Reordering tells every device, this one included.
    alice.reorder_pinned(&[ids[1], ids[0]]).await.unwrap();
    assert_eq!(code(alice.reorder_pinned(&[ids[1]]).await.unwrap_err()), Some(ErrorCode::InvalidArgument));
    let mine = pushed(&mut here).await;
    assert_eq!(mine.0, ids[1]);
    let theirs = loop {
        let p = pushed(&mut there).await;
        if p.0 == ids[1] && p.1.pin_rank == mine.1.pin_rank {
            break p;
        }
    };
    assert_eq!(theirs, mine);

    let (page, _) = alice.list_chats_by_activity(false, None, 0).await.unwrap();
    let order: Vec<u64> = page.iter().map(|c| c.chat_id).collect();
    assert_eq!(&order[..2], [ids[1], ids[0]], "pinned first, in the new order");
    assert!(!order.contains(&ids[10]), "archived chats only on their own list");
    assert_eq!(page[0].my_role, Role::Owner);
    let (archived, _) = alice.list_chats_by_activity(true, None, 0).await.unwrap();
    assert_eq!(archived.iter().map(|c| c.chat_id).collect::<Vec<_>>(), [ids[10]]);
    assert!(archived[0].state.archived && archived[0].state.marked_unread);
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_lists_send_one_message_per_recipient_and_retries_duplicate_nothing() {
    let mock = Mock::start().await;
    let (alice, _a) = register(&mock, TransportPref::WebSocket, "alice").await;
    let (bob, mut bob_events) = register(&mock, TransportPref::WebSocket, "bob").await;
    let (carol, _c) = register(&mock, TransportPref::WebSocket, "carol").await;

    let list = alice.save_broadcast_list(0, "friends", &[bob.user_id(), carol.user_id(), 999_999]).await.unwrap();
    assert_ne!(list.list_id, 0);
    assert_eq!((list.name.as_str(), list.recipient_ids.len()), ("friends", 3));
    let renamed = alice.save_broadcast_list(list.list_id, "pals", &[bob.user_id(), carol.user_id(), 999_999]).await.unwrap();
    assert_eq!((renamed.list_id, renamed.name.as_str()), (list.list_id, "pals"));
    assert_eq!(alice.list_broadcast_lists().await.unwrap(), std::slice::from_ref(&renamed));
    assert!(bob.list_broadcast_lists().await.unwrap().is_empty(), "recipients never see the list");

    let ack = alice.send_broadcast_with_id(list.list_id, "bc-1", "party at 8").await.unwrap();
    assert_eq!((ack.list_id, ack.client_msg_id.as_str(), ack.results.len()), (list.list_id, "bc-1", 3));
    let sent: Vec<_> = ack.results.iter().filter(|r| r.is_sent()).collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.chat_id != 0 && r.seq == 2), "each in its own new direct chat");
    assert_eq!(ack.results[2].error, Some(Ok(ErrorCode::UserNotFound)));
    let to_bob = sent.iter().find(|r| r.user_id == bob.user_id()).unwrap();
    let msg = next_where(&mut bob_events, |e| match e {
        ClientEvent::Event(e) if e.chat_id == to_bob.chat_id => match &e.kind {
            EventKind::Message { content, .. } => Some(content.clone()),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(msg, "party at 8");

    let again = alice.send_broadcast_with_id(list.list_id, "bc-1", "party at 8").await.unwrap();
    assert_eq!(again.results, ack.results, "a retry gets the same results");
    assert_eq!(bob.get_chat(to_bob.chat_id).await.unwrap().last_seq, 2);
    assert!(matches!(alice.send_broadcast_with_id(list.list_id, "", "x").await, Err(ClientError::InvalidInput(_))));
    let too_long = "x".repeat(limits::MAX_CLIENT_MSG_ID_BYTES + 1);
    assert!(matches!(alice.send_broadcast_with_id(list.list_id, &too_long, "x").await, Err(ClientError::InvalidInput(_))));

    alice.delete_broadcast_list(list.list_id).await.unwrap();
    assert!(alice.list_broadcast_lists().await.unwrap().is_empty());
}
