//! Receipts, presence and typing over the wire, on both transports, with raw frames as an
//! independent client would send them (PROTOCOL.md §6.15): ticks and unread counts from the
//! cursors, the cursors on a member's other devices, "read by" in a group, read receipts
//! turned off, presence to watchers who share a chat (and nothing to strangers), online
//! counts, typing to the chat, and everything that tries to break the rules — a cursor moved
//! backwards or past the end, receipts for a chat one is not in, a typing flood, a forged user
//! — each with its stable code (or ignored, as documented), changing nothing.

use bytes::Bytes;
use magpie_client::transport::Connection;
use magpie_client::TransportPref;
use magpie_testkit::*;
use magpie_wire::limits::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use magpie_wire::presence::{presence_fields, privacy_fields, Privacy, MemberReceipt};
use magpie_wire::{encode, fb, verify, ErrorCode};
use std::time::{Duration, Instant};

struct Peer {
    c: Connection,
    user_id: u64,
    next: u64,
    pushes: Vec<Bytes>,
}

fn name(base: &str, t: TransportPref) -> String {
    format!("{base}_{}", if t == TransportPref::Quic { "q" } else { "w" })
}

impl Peer {
    async fn register(e: &TestEngine, t: TransportPref, who: &str) -> Peer {
        Self::start(e, t, encode::register(2, &name(who, t), PASSWORD, "phone")).await
    }

    async fn login(e: &TestEngine, t: TransportPref, who: &str, device: &str) -> Peer {
        Self::start(e, t, encode::login(2, &name(who, t), PASSWORD, device)).await
    }

    async fn start(e: &TestEngine, t: TransportPref, auth: Bytes) -> Peer {
        Self::start_with(e, t, auth, 0).await.0
    }

    /// Signs in asking for `features`; returns the features the server agreed to.
    async fn start_with(e: &TestEngine, t: TransportPref, auth: Bytes, features: u64) -> (Peer, u64) {
        let mut c = e.raw(t).await;
        c.send(encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, features, "receipts-test")).await.unwrap();
        c.send(auth).await.unwrap();
        let mut p = Peer { c, user_id: 0, next: 10, pushes: Vec::new() };
        let welcome = p.read(1).await;
        let agreed = verify::server_frame(&welcome).unwrap().body_as_welcome().unwrap().features();
        let a = p.read(2).await;
        let f = verify::server_frame(&a).unwrap();
        p.user_id = f.body_as_authenticated().unwrap_or_else(|| panic!("signed in: {:?}", f.body_type())).user_id();
        let done = p.ask(|rid| encode::sync(rid, &[])).await;
        assert_eq!(body(&done), fb::Body::SyncDone);
        (p, agreed)
    }

    async fn read(&mut self, request_id: u64) -> Bytes {
        loop {
            let f = tokio::time::timeout(WAIT, self.c.recv()).await.expect("an answer in time").expect("connection open");
            let rid = verify::server_frame(&f).expect("valid server frame").request_id();
            if rid == request_id {
                return f;
            }
            assert_eq!(rid, 0, "an answer to a request we did not make");
            self.pushes.push(f);
        }
    }

    async fn ask(&mut self, make: impl FnOnce(u64) -> Bytes) -> Bytes {
        self.next += 1;
        let rid = self.next;
        self.c.send(make(rid)).await.unwrap();
        self.read(rid).await
    }

    async fn refused(&mut self, make: impl FnOnce(u64) -> Bytes) -> ErrorCode {
        let reply = self.ask(make).await;
        let f = verify::server_frame(&reply).unwrap();
        let e = f.body_as_error().unwrap_or_else(|| panic!("expected a refusal, got {:?}", f.body_type()));
        ErrorCode::from_u16(e.code()).unwrap()
    }

    /// Waits for a push matching `want` (keeping the others).
    async fn push(&mut self, want: impl Fn(&fb::Frame<'_>) -> bool) -> Bytes {
        if let Some(i) = self.pushes.iter().position(|p| want(&verify::server_frame(p).unwrap())) {
            return self.pushes.remove(i);
        }
        loop {
            let f = tokio::time::timeout(WAIT, self.c.recv()).await.expect("the push in time").unwrap();
            if want(&verify::server_frame(&f).unwrap()) {
                return f;
            }
            self.pushes.push(f);
        }
    }

    /// Pushes that arrive within `d`, and those already read.
    async fn drain(&mut self, d: Duration) -> Vec<Bytes> {
        while let Ok(Ok(f)) = tokio::time::timeout(d, self.c.recv()).await {
            self.pushes.push(f);
        }
        std::mem::take(&mut self.pushes)
    }
}

fn body(b: &[u8]) -> fb::Body {
    verify::server_frame(b).unwrap().body_type()
}

fn receipt(b: &[u8]) -> MemberReceipt {
    let f = verify::server_frame(b).unwrap();
    let r = f.body_as_receipt_changed().unwrap_or_else(|| panic!("ReceiptChanged, not {:?}", f.body_type()));
    MemberReceipt { user_id: r.user_id(), delivered_seq: r.delivered_seq(), read_seq: r.read_seq(), read_hidden: r.read_hidden() }
}

fn is_receipt_of(user: u64, want: impl Fn(&MemberReceipt) -> bool) -> impl Fn(&fb::Frame<'_>) -> bool {
    move |f| {
        f.body_as_receipt_changed().is_some_and(|r| {
            let m = MemberReceipt { user_id: r.user_id(), delivered_seq: r.delivered_seq(), read_seq: r.read_seq(), read_hidden: r.read_hidden() };
            m.user_id == user && want(&m)
        })
    }
}

fn chat_id_of(info: &[u8]) -> u64 {
    let f = verify::server_frame(info).unwrap();
    f.body_as_chat_info().unwrap_or_else(|| panic!("ChatInfo, not {:?}", f.body_type())).chat_id()
}

fn seq_of(ack: &[u8]) -> u64 {
    verify::server_frame(ack).unwrap().body_as_send_ack().expect("SendAck").seq()
}

/// The caller's summary of `chat_id` in `ListChats`: (unread, read, peer delivered, peer read).
async fn summary(p: &mut Peer, chat_id: u64) -> (u32, u64, u64, u64) {
    let list = p.ask(encode::list_chats).await;
    let f = verify::server_frame(&list).unwrap();
    let chats = f.body_as_chat_list().unwrap().chats().unwrap();
    let c = chats.iter().find(|c| c.chat_id() == chat_id).expect("the chat is listed");
    (c.unread_count(), c.read_seq(), c.peer_delivered_seq(), c.peer_read_seq())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_unread_counts_and_the_cursors_on_my_other_devices() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "rx_alice").await;
        let mut bob = Peer::register(&e, t, "rx_bob").await;
        let mut bob_laptop = Peer::login(&e, t, "rx_bob", "laptop").await;
        let mut carol = Peer::register(&e, t, "rx_carol").await;
        let bob_id = bob.user_id;
        let chat = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, bob_id, "")).await);
        let m1 = seq_of(&alice.ask(|rid| encode::send_message(rid, chat, "m1", "one")).await);
        let m2 = seq_of(&alice.ask(|rid| encode::send_message(rid, chat, "m2", "two")).await);
        assert_eq!(summary(&mut bob, chat).await.0, 2, "two unread from alice");
        assert_eq!(summary(&mut alice, chat).await.0, 0, "one's own messages are never unread");
        // Delivered: alice's tick, and bob's laptop learns it too.
        let r = receipt(&bob.ask(|rid| encode::mark_receipts(rid, chat, m2, 0)).await);
        assert_eq!((r.user_id, r.delivered_seq, r.read_seq), (bob_id, m2, 0));
        alice.push(is_receipt_of(bob_id, |r| r.delivered_seq == m2 && r.read_seq == 0)).await;
        // Read (of the first only): unread counts follow, on every device.
        let r = receipt(&bob.ask(|rid| encode::mark_receipts(rid, chat, 0, m1)).await);
        assert_eq!((r.delivered_seq, r.read_seq), (m2, m1));
        bob_laptop.push(is_receipt_of(bob_id, |r| r.read_seq == m1)).await;
        alice.push(is_receipt_of(bob_id, |r| r.read_seq == m1 && !r.read_hidden)).await;
        assert_eq!(summary(&mut bob_laptop, chat).await, (1, m1, 0, 0));
        assert_eq!(summary(&mut alice, chat).await, (0, 0, m2, m1), "alice sees bob's ticks after reconnecting");
        // Backwards is ignored: the answer is the cursors as they are.
        let r = receipt(&bob_laptop.ask(|rid| encode::mark_receipts(rid, chat, 1, 1)).await);
        assert_eq!((r.delivered_seq, r.read_seq), (m2, m1));
        // Past the end, or in a chat one is not in: refused, nothing changes.
        assert_eq!(bob.refused(|rid| encode::mark_receipts(rid, chat, m2 + 1, 0)).await, ErrorCode::ReceiptOutOfRange);
        assert_eq!(bob.refused(|rid| encode::mark_receipts(rid, chat, 0, u64::MAX)).await, ErrorCode::ReceiptOutOfRange);
        assert_eq!(carol.refused(|rid| encode::mark_receipts(rid, chat, 1, 1)).await, ErrorCode::ChatNotFound);
        assert_eq!(carol.refused(|rid| encode::mark_receipts(rid, chat + 1_000_000, 1, 1)).await, ErrorCode::ChatNotFound);
        assert_eq!(carol.refused(|rid| encode::get_receipts(rid, chat, m1)).await, ErrorCode::ChatNotFound);
        assert_eq!(summary(&mut bob, chat).await, (1, m1, 0, 0));
        let quiet = carol.drain(Duration::from_millis(200)).await;
        assert!(quiet.iter().all(|p| body(p) != fb::Body::ReceiptChanged), "a stranger hears nothing");
        bob.ask(|rid| encode::mark_receipts(rid, chat, 0, m2)).await;
        assert_eq!(summary(&mut bob, chat).await.0, 0);
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_by_in_a_group_and_read_receipts_turned_off() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "rb_alice").await;
        let mut bob = Peer::register(&e, t, "rb_bob").await;
        let mut carol = Peer::register(&e, t, "rb_carol").await;
        let ids = [bob.user_id, carol.user_id];
        let group = chat_id_of(&alice.ask(|rid| encode::create_group(rid, "g", &ids)).await);
        let m = seq_of(&alice.ask(|rid| encode::send_message(rid, group, "g1", "hello")).await);
        bob.ask(|rid| encode::mark_receipts(rid, group, m, m)).await;
        carol.ask(|rid| encode::mark_receipts(rid, group, m, 0)).await;
        let list = alice.ask(|rid| encode::get_receipts(rid, group, m)).await;
        let f = verify::server_frame(&list).unwrap();
        let l = f.body_as_receipt_list().unwrap();
        let rows: Vec<(u64, u64, u64)> = l.receipts().unwrap().iter().map(|r| (r.user_id(), r.delivered_seq(), r.read_seq())).collect();
        assert_eq!((l.delivered_count(), l.read_count(), l.member_count()), (2, 1, 3));
        let mut want = vec![(bob.user_id, m, m), (carol.user_id, m, 0)];
        want.sort();
        assert_eq!(rows, want, "read by bob, delivered to carol");
        // Carol turns read receipts off: her reads move (for her devices) but nobody sees them,
        // and she sees nobody's.
        let p = carol.ask(|rid| encode::set_privacy(rid, privacy_fields::READ_RECEIPTS, &Privacy { read_receipts: false, ..Privacy::default() })).await;
        assert!(!verify::server_frame(&p).unwrap().body_as_privacy().unwrap().read_receipts());
        let carol_id = carol.user_id;
        alice.push(is_receipt_of(carol_id, |r| r.read_hidden)).await;
        let r = receipt(&carol.ask(|rid| encode::mark_receipts(rid, group, 0, m)).await);
        assert_eq!(r.read_seq, m, "her own cursor moved");
        let list = alice.ask(|rid| encode::get_receipts(rid, group, m)).await;
        let f = verify::server_frame(&list).unwrap();
        let l = f.body_as_receipt_list().unwrap();
        assert_eq!(l.read_count(), 1, "only bob's read shows");
        assert!(l.receipts().unwrap().iter().any(|r| r.user_id() == carol_id && r.read_hidden() && r.read_seq() == 0));
        let list = carol.ask(|rid| encode::get_receipts(rid, group, m)).await;
        let f = verify::server_frame(&list).unwrap();
        let l = f.body_as_receipt_list().unwrap();
        assert_eq!(l.read_count(), 0);
        assert!(l.receipts().unwrap().iter().all(|r| r.read_hidden() && r.read_seq() == 0));
        let got = carol.ask(encode::get_privacy).await;
        assert!(!verify::server_frame(&got).unwrap().body_as_privacy().unwrap().read_receipts(), "stored");
    }
    e.shutdown();
}

fn presence_of(f: &fb::Frame<'_>, user: u64) -> Option<(fb::PresenceStatus, i64)> {
    f.body_as_presence_changed()?.users()?.iter().find(|u| u.user_id() == user).map(|u| (u.status(), u.last_seen_ms()))
}

fn is_presence(user: u64, status: fb::PresenceStatus) -> impl Fn(&fb::Frame<'_>) -> bool {
    move |f| presence_of(f, user).is_some_and(|p| p.0 == status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_goes_to_watchers_who_share_a_chat_and_strangers_learn_nothing() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "pr_alice").await;
        let mut bob = Peer::register(&e, t, "pr_bob").await;
        let mut carol = Peer::register(&e, t, "pr_carol").await;
        let (alice_id, bob_id) = (alice.user_id, bob.user_id);
        let chat = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, bob_id, "")).await);
        // Bob watches alice (they share a chat): online, now or as the next push.
        let now = bob.ask(|rid| encode::watch_presence(rid, &[alice_id], &[chat])).await;
        let online = is_presence(alice_id, fb::PresenceStatus::Online);
        let mut seen_online = online(&verify::server_frame(&now).unwrap());
        // And the chat's online count: both of them.
        let counted = bob.push(|f| f.body_as_presence_changed().and_then(|p| p.chats()).is_some_and(|c| !c.is_empty())).await;
        let f = verify::server_frame(&counted).unwrap();
        seen_online |= online(&f) || bob.pushes.iter().any(|p| online(&verify::server_frame(p).unwrap()));
        let c = f.body_as_presence_changed().unwrap().chats().unwrap().get(0);
        assert_eq!((c.chat_id(), c.online(), c.member_count()), (chat, 2, 2));
        if !seen_online {
            bob.push(is_presence(alice_id, fb::PresenceStatus::Online)).await;
        }
        // Carol shares no chat with alice: Unknown, and no updates.
        let now = carol.ask(|rid| encode::watch_presence(rid, &[alice_id], &[chat])).await;
        let f = verify::server_frame(&now).unwrap();
        assert_eq!(presence_of(&f, alice_id), Some((fb::PresenceStatus::Unknown, 0)));
        // Activity, then do-not-disturb.
        assert_eq!(body(&alice.ask(|rid| encode::set_presence(rid, presence_fields::ACTIVE, false)).await), fb::Body::Ok);
        bob.push(is_presence(alice_id, fb::PresenceStatus::Active)).await;
        alice.ask(|rid| encode::set_presence(rid, presence_fields::DND, true)).await;
        bob.push(is_presence(alice_id, fb::PresenceStatus::DoNotDisturb)).await;
        alice.ask(|rid| encode::set_presence(rid, presence_fields::DND, false)).await;
        bob.push(|f| presence_of(f, alice_id).is_some_and(|p| p.0 != fb::PresenceStatus::DoNotDisturb)).await;
        // She leaves: offline, with when.
        drop(alice);
        let gone = bob.push(is_presence(alice_id, fb::PresenceStatus::Offline)).await;
        let (_, last_seen) = presence_of(&verify::server_frame(&gone).unwrap(), alice_id).unwrap();
        assert!(last_seen > 0, "last seen is shown to people she shares a chat with");
        let heard = carol.drain(Duration::from_millis(400)).await;
        assert!(heard.iter().all(|p| presence_of(&verify::server_frame(p).unwrap(), alice_id).is_none()), "carol heard nothing of alice");
        // Last seen hidden: she comes back, hides it, leaves again.
        let mut alice = Peer::login(&e, t, "pr_alice", "tablet").await;
        bob.push(is_presence(alice_id, fb::PresenceStatus::Online)).await;
        let hide = Privacy { last_seen: fb::LastSeenVisibility::Nobody, ..Privacy::default() };
        alice.ask(|rid| encode::set_privacy(rid, privacy_fields::LAST_SEEN, &hide)).await;
        drop(alice);
        let gone = bob.push(is_presence(alice_id, fb::PresenceStatus::Offline)).await;
        assert_eq!(presence_of(&verify::server_frame(&gone).unwrap(), alice_id), Some((fb::PresenceStatus::Offline, 0)));
        // Limits.
        let many: Vec<u64> = (1..=257).collect();
        assert_eq!(bob.refused(|rid| encode::watch_presence(rid, &many, &[])).await, ErrorCode::InvalidArgument);
        assert_eq!(bob.refused(|rid| encode::set_presence(rid, 0, false)).await, ErrorCode::InvalidArgument);
    }
    e.shutdown();
}

/// The code of the `Close` the server ends the connection with.
async fn closed_with(p: &mut Peer) -> ErrorCode {
    let code = tokio::time::timeout(WAIT, async {
        loop {
            let f = p.c.recv().await.expect("a Close before the end");
            if let Some(c) = verify::server_frame(&f).unwrap().body_as_close() {
                return c.code();
            }
        }
    })
    .await
    .expect("closed in time");
    ErrorCode::from_u16(code).unwrap()
}

fn is_typing(user: u64) -> impl Fn(&fb::Frame<'_>) -> bool {
    move |f| f.body_as_typing_changed().is_some_and(|t| t.user_id() == user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_chat_a_flood_is_cut_and_a_forged_user_is_refused() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "ty_alice").await;
        let mut bob = Peer::register(&e, t, "ty_bob").await;
        let mut carol = Peer::register(&e, t, "ty_carol").await;
        let (alice_id, bob_id) = (alice.user_id, bob.user_id);
        let chat = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, bob_id, "")).await);
        assert_eq!(body(&alice.ask(|rid| encode::set_typing(rid, chat, fb::TypingKind::RecordingVoice)).await), fb::Body::Ok);
        let got = bob.push(is_typing(alice_id)).await;
        let f = verify::server_frame(&got).unwrap();
        let ty = f.body_as_typing_changed().unwrap();
        assert_eq!((ty.chat_id(), ty.kind(), ty.expires_in_ms()), (chat, fb::TypingKind::RecordingVoice, 3000));
        assert_eq!(carol.refused(|rid| encode::set_typing(rid, chat, fb::TypingKind::Typing)).await, ErrorCode::ChatNotFound);
        // A flood: the connection's typing bucket (burst 10, 5 a second) cuts it; every frame is
        // answered, and bob hears only the accepted ones.
        bob.drain(Duration::from_millis(300)).await;
        let started = Instant::now();
        let first = alice.next + 1;
        for _ in 0..60 {
            alice.next += 1;
            alice.c.send(encode::set_typing(alice.next, chat, fb::TypingKind::Typing)).await.unwrap();
        }
        // Refusals are answered at once, accepted ones by the chat's owner: any order.
        let (mut ok, mut cut) = (0u32, 0u32);
        let mut answered = std::collections::HashSet::new();
        while answered.len() < 60 {
            let reply = tokio::time::timeout(WAIT, alice.c.recv()).await.expect("answers in time").unwrap();
            let f = verify::server_frame(&reply).unwrap();
            if f.request_id() == 0 {
                continue;
            }
            assert!((first..first + 60).contains(&f.request_id()) && answered.insert(f.request_id()), "one answer per request");
            match f.body_as_error() {
                None => ok += 1,
                Some(e) => {
                    assert_eq!(ErrorCode::from_u16(e.code()), Some(ErrorCode::TypingRateLimited));
                    assert!(e.retry_after_ms() > 0);
                    cut += 1;
                }
            }
        }
        let elapsed = started.elapsed().as_secs() as u32 + 1;
        assert_eq!(ok + cut, 60);
        assert!(ok >= 1 && ok <= 10 + 5 * elapsed, "{ok} accepted in about {elapsed} s");
        assert!(cut > 0, "the flood was cut");
        let heard = bob.drain(Duration::from_millis(500)).await;
        let typed = heard.iter().filter(|p| is_typing(alice_id)(&verify::server_frame(p).unwrap())).count() as u32;
        assert_eq!(typed, ok, "bob hears exactly the accepted ones");
        // A forged user: the only frame naming another typist is the server's push, which a
        // client may not send; the server closes the connection.
        carol.c.send(encode::typing_changed(chat, alice_id, fb::TypingKind::Typing, 3000)).await.unwrap();
        assert_eq!(closed_with(&mut carol).await, ErrorCode::UnknownFrame);
        let later = bob.drain(Duration::from_millis(300)).await;
        assert_eq!(later.iter().filter(|p| is_typing(alice_id)(&verify::server_frame(p).unwrap())).count(), 0, "the forgery reached nobody");
        // The same goes for a forged receipt.
        let mut carol = Peer::login(&e, t, "ty_carol", "second").await;
        let forged = MemberReceipt { user_id: bob_id, delivered_seq: 1, read_seq: 1, read_hidden: false };
        carol.c.send(encode::receipt_changed(5, chat, &forged)).await.unwrap();
        assert_eq!(closed_with(&mut carol).await, ErrorCode::UnknownFrame);
        assert_eq!(summary(&mut alice, chat).await.2, 0, "bob's cursors did not move");
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_travels_as_quic_datagrams_where_negotiated_and_on_the_stream_elsewhere() {
    use magpie_wire::handshake::features::DATAGRAMS;
    let e = start();
    let (mut alice, agreed) = Peer::start_with(&e, TransportPref::Quic, encode::register(2, "dg_alice", PASSWORD, "p"), DATAGRAMS).await;
    assert_eq!(agreed, DATAGRAMS, "QUIC negotiates datagrams");
    let (mut bob, agreed) = Peer::start_with(&e, TransportPref::Quic, encode::register(2, "dg_bob", PASSWORD, "p"), DATAGRAMS).await;
    assert_eq!(agreed, DATAGRAMS);
    let (mut bob_ws, agreed) = Peer::start_with(&e, TransportPref::WebSocket, encode::login(2, "dg_bob", PASSWORD, "web"), DATAGRAMS).await;
    assert_eq!(agreed, 0, "WebSocket has no datagrams");
    let (alice_id, bob_id) = (alice.user_id, bob.user_id);
    let chat = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, bob_id, "")).await);
    // Alice types by datagram (refreshing, as typing does: a datagram may be lost); bob's QUIC
    // connection gets it as a datagram, his WebSocket one on the stream. No answer comes back.
    let q = alice.c.quic_connection().unwrap().clone();
    let bob_q = bob.c.quic_connection().unwrap().clone();
    let got = tokio::time::timeout(WAIT, async {
        loop {
            q.send_datagram(encode::set_typing(99, chat, fb::TypingKind::Typing)).unwrap();
            if let Ok(Ok(d)) = tokio::time::timeout(Duration::from_millis(500), bob_q.read_datagram()).await {
                return d;
            }
        }
    })
    .await
    .expect("a typing datagram in time");
    let f = verify::server_frame(&got).unwrap();
    let t = f.body_as_typing_changed().expect("TypingChanged");
    assert_eq!((t.chat_id(), t.user_id(), f.request_id()), (chat, alice_id, 0));
    bob_ws.push(is_typing(alice_id)).await;
    let on_stream = bob.drain(Duration::from_millis(300)).await;
    assert!(on_stream.iter().all(|p| body(p) != fb::Body::TypingChanged), "not on bob's QUIC stream too");
    let answers = alice.drain(Duration::from_millis(300)).await;
    assert!(answers.iter().all(|p| verify::server_frame(p).unwrap().request_id() == 0), "a datagram is never answered");
    // Datagrams that are not typing or activity, or do not verify, are dropped: the
    // connection goes on.
    q.send_datagram(encode::send_message(100, chat, "dg", "not by datagram")).unwrap();
    q.send_datagram(Bytes::from_static(b"garbage")).unwrap();
    assert_eq!(body(&alice.ask(|rid| encode::ping(rid, 5)).await), fb::Body::Pong);
    let history = alice.ask(|rid| encode::history(rid, chat, 0, fb::Direction::Backward, 10)).await;
    let f = verify::server_frame(&history).unwrap();
    assert_eq!(f.body_as_history_page().unwrap().events().unwrap().len(), 1, "only ChatCreated: nothing was sent");
    e.shutdown();
}

/// Waits for the next client event matching `want`.
async fn client_event(events: &mut magpie_client::Events, want: impl Fn(&magpie_client::ClientEvent) -> bool) -> magpie_client::ClientEvent {
    loop {
        let e = tokio::time::timeout(WAIT, events.next()).await.expect("an event in time").expect("stream open");
        if want(&e) {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_marks_reads_asks_who_read_watches_and_types() {
    use magpie_client::presence::{presence_fields, PresenceStatus, TypingKind};
    use magpie_client::ClientEvent;
    let e = start();
    for t in transports() {
        let (alice, mut alice_events) = e.register(&name("cl_alice", t), t).await;
        let (bob, _bob_events) = e.register(&name("cl_bob", t), t).await;
        let chat = alice.create_direct(bob.user_id()).await.unwrap().chat_id;
        let ack = alice.send(chat, "read me").await.unwrap();
        let mine = bob.mark_receipts(chat, ack.seq, ack.seq).await.unwrap();
        assert_eq!((mine.delivered_seq, mine.read_seq), (ack.seq, ack.seq));
        let got = client_event(&mut alice_events, |e| matches!(e, ClientEvent::Receipt { receipt, .. } if receipt.user_id == bob.user_id())).await;
        assert!(matches!(got, ClientEvent::Receipt { chat_id, receipt } if chat_id == chat && receipt.read_seq == ack.seq));
        let list = alice.get_receipts(chat, ack.seq).await.unwrap();
        assert_eq!((list.counts.delivered, list.counts.read, list.receipts.len()), (1, 1, 1));
        let summary = alice.list_chats().await.unwrap().into_iter().find(|c| c.chat_id == chat).unwrap();
        assert_eq!((summary.receipts.peer_delivered_seq, summary.receipts.peer_read_seq), (ack.seq, ack.seq));
        let err = bob.mark_receipts(chat, ack.seq + 5, 0).await.unwrap_err();
        assert_eq!(err.code(), Some(magpie_client::ErrorCode::ReceiptOutOfRange));
        // Presence and typing.
        alice.watch_presence(&[bob.user_id()], &[]).await.unwrap();
        bob.set_presence(presence_fields::ACTIVE, false).await.unwrap();
        client_event(&mut alice_events, |e| {
            matches!(e, ClientEvent::Presence(p) if p.users.iter().any(|u| u.user_id == bob.user_id() && u.status == PresenceStatus::Active))
        })
        .await;
        bob.set_typing(chat, TypingKind::Typing).await.unwrap();
        let typed = client_event(&mut alice_events, |e| matches!(e, ClientEvent::Typing { .. })).await;
        assert!(matches!(typed, ClientEvent::Typing { chat_id, user_id, kind: TypingKind::Typing, .. } if chat_id == chat && user_id == bob.user_id()));
        alice.close().await;
        bob.close().await;
    }
    e.shutdown();
}
