//! Message features over the wire, on both transports, with raw frames as an independent client
//! would send them: replies, edits and their versions, deletion for everyone (content erased,
//! tombstones, quotes erased) and for oneself, reactions, mentions, pins, places, contacts and
//! forwards. Every rule is tried by someone who may not use it: each gets its stable code and
//! changes nothing.

use magpie_testkit::peer::*;
use magpie_testkit::*;
use magpie_wire::chat::Settings;
use magpie_wire::encode::Outgoing;
use magpie_wire::message::{Attachment, Contact, Location, Message, State};
use magpie_wire::{encode, fb, verify, Bytes, ErrorCode};
use std::time::Duration;

/// The seq of a `SendAck`.
fn acked(ack: &[u8]) -> u64 {
    let f = verify::server_frame(ack).unwrap();
    f.body_as_send_ack().unwrap_or_else(|| panic!("SendAck, not {:?} {:?}", f.body_type(), f.body_as_error().map(|e| e.code()))).seq()
}

fn out<'a>(chat_id: u64, id: &'a str, content: &'a str) -> Outgoing<'a> {
    Outgoing { chat_id, client_msg_id: id, content, ..Outgoing::default() }
}

fn ok(reply: &[u8]) {
    let f = verify::server_frame(reply).unwrap();
    assert_eq!(f.body_type(), fb::Body::Ok, "{:?}", f.body_as_error().map(|e| (e.code(), e.message().unwrap_or("").to_string())));
}

/// The events and states of a whole chat's history as `p` reads it.
async fn history(p: &mut Peer, chat_id: u64) -> (Vec<Bytes>, Vec<State>) {
    let page = p.ask(|rid| encode::history(rid, chat_id, 0, fb::Direction::Backward, 500)).await;
    let f = verify::server_frame(&page).unwrap();
    let h = f.body_as_history_page().unwrap_or_else(|| panic!("HistoryPage, not {:?}", f.body_type()));
    let events = h.events().unwrap().iter().map(|b| Bytes::copy_from_slice(b.event().unwrap().bytes())).collect();
    let states = h.states().map(|v| v.iter().map(State::from_fb).collect()).unwrap_or_default();
    (events, states)
}

/// The message at `seq` among `events`.
fn message_at(events: &[Bytes], seq: u64) -> (u64, Message) {
    let e = events.iter().map(|e| verify::event(e).unwrap()).find(|e| e.seq() == seq).unwrap_or_else(|| panic!("seq {seq} in the page"));
    (e.sender_id(), Message::from_fb(e.body_as_message_body().expect("a message")).unwrap())
}

fn event_body(push: &[u8]) -> (u64, fb::EventBody) {
    let f = verify::server_frame(push).unwrap();
    let e = verify::event(f.body_as_deliver().unwrap().event().unwrap().bytes()).unwrap();
    (e.seq(), e.body_type())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_edits_versions_and_deletions_follow_the_rules_and_erase_content() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "msg_alice").await;
        let mut bob = Peer::register(&e, t, "msg_bob").await;
        let mut carol = Peer::register(&e, t, "msg_carol").await;
        let (bob_id, carol_id) = (bob.user_id, carol.user_id);
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Team", &[bob_id], "", Settings::default())).await);
        // A mention of a non-member is dropped; the member's stays.
        let m1 = acked(&alice.ask(|rid| encode::send(rid, &Outgoing { mentions: &[bob_id, carol_id], ..out(group, "m1", "hello @bob") })).await);
        // Bob replies: the quote comes from the log, not from him.
        let r1 = acked(&bob.ask(|rid| encode::send(rid, &Outgoing { reply_to_seq: m1, ..out(group, "r1", "hi!") })).await);
        let (events, _) = history(&mut alice, group).await;
        let (_, original) = message_at(&events, m1);
        assert_eq!(original.mentions, vec![bob_id]);
        let (sender, reply) = message_at(&events, r1);
        let quote = reply.reply_to.expect("the quote travels with the reply");
        assert_eq!((sender, quote.seq, quote.sender_id, quote.preview.as_str(), quote.deleted), (bob_id, m1, alice.user_id, "hello @bob", false));
        // Carol is not in the group: replying into it, or quoting it from elsewhere, finds nothing.
        assert_eq!(carol.refused(|rid| encode::send(rid, &Outgoing { reply_to_seq: m1, ..out(group, "c1", "x") })).await, ErrorCode::ChatNotFound);
        let dm = chat_id_of(&carol.ask(|rid| encode::create_direct(rid, alice.user_id, "")).await);
        assert_eq!(carol.refused(|rid| encode::send(rid, &Outgoing { reply_to_seq: m1, ..out(dm, "c2", "x") })).await, ErrorCode::MessageNotFound);
        assert_eq!(carol.refused(|rid| encode::send(rid, &Outgoing { reply_to_seq: 1, ..out(dm, "c3", "x") })).await, ErrorCode::MessageNotFound, "seq 1 is not a message");
        // Only the sender edits; every version stays.
        assert_eq!(bob.refused(|rid| encode::edit_message(rid, group, m1, "hacked", &[])).await, ErrorCode::NotMessageSender);
        assert_eq!(carol.refused(|rid| encode::edit_message(rid, group, m1, "hacked", &[])).await, ErrorCode::ChatNotFound);
        ok(&alice.ask(|rid| encode::edit_message(rid, group, m1, "hello @bob, edited", &[bob_id])).await);
        let edit = bob.push(is_delivery(group, fb::EventBody::MessageEdited)).await;
        let edit_seq = event_body(&edit).0;
        // The same text again is no new version.
        ok(&alice.ask(|rid| encode::edit_message(rid, group, m1, "hello @bob, edited", &[bob_id])).await);
        let versions = bob.ask(|rid| encode::get_message_versions(rid, group, m1)).await;
        let f = verify::server_frame(&versions).unwrap();
        let got: Vec<(u64, String)> = f.body_as_message_versions().unwrap().versions().unwrap().iter().map(|v| (v.seq(), v.content().unwrap_or("").to_string())).collect();
        assert_eq!(got, vec![(m1, "hello @bob".to_string()), (edit_seq, "hello @bob, edited".to_string())]);
        let (_, states) = history(&mut bob, group).await;
        let s = states.iter().find(|s| s.seq == m1).expect("the edited message has a state");
        assert_eq!((s.edit_count, s.content.as_str()), (1, "hello @bob, edited"));
        // Bob mentions are listed for him.
        let mentions = bob.ask(|rid| encode::list_mentions(rid, 0, 0)).await;
        let f = verify::server_frame(&mentions).unwrap();
        assert_eq!(f.body_as_mention_list().unwrap().events().unwrap().len(), 1);
        // A member deletes someone else's message for everyone: refused, nothing changes.
        assert_eq!(bob.refused(|rid| encode::delete_messages(rid, group, &[m1], true)).await, ErrorCode::NotMessageSender);
        // The sender deletes it: content erased, a tombstone, the quote in the reply erased too.
        ok(&alice.ask(|rid| encode::delete_messages(rid, group, &[m1], true)).await);
        bob.push(is_delivery(group, fb::EventBody::MessagesDeleted)).await;
        let (events, states) = history(&mut bob, group).await;
        let (_, tomb) = message_at(&events, m1);
        assert!(tomb.deleted && tomb.content.is_empty() && tomb.mentions.is_empty(), "{tomb:?}");
        let edit_event = events.iter().map(|e| verify::event(e).unwrap()).find(|e| e.seq() == edit_seq).unwrap();
        assert_eq!(edit_event.body_as_message_edited().unwrap().content(), None, "the edit's text is erased too");
        let (_, reply) = message_at(&events, r1);
        let quote = reply.reply_to.unwrap();
        assert!(quote.deleted && quote.preview.is_empty() && quote.seq == m1);
        assert!(states.iter().any(|s| s.seq == m1 && s.deleted));
        assert!(!events.iter().any(|e| String::from_utf8_lossy(e).contains("hello @bob")), "no trace of the text is served");
        // A deleted message can no longer be edited, reacted to, replied to or read for versions.
        assert_eq!(alice.refused(|rid| encode::edit_message(rid, group, m1, "again", &[])).await, ErrorCode::MessageDeleted);
        assert_eq!(bob.refused(|rid| encode::react(rid, group, m1, "👍", true)).await, ErrorCode::MessageDeleted);
        assert_eq!(bob.refused(|rid| encode::send(rid, &Outgoing { reply_to_seq: m1, ..out(group, "r2", "?") })).await, ErrorCode::MessageDeleted);
        assert_eq!(bob.refused(|rid| encode::get_message_versions(rid, group, m1)).await, ErrorCode::MessageDeleted);
        // And the mention is gone from Bob's list.
        let mentions = bob.ask(|rid| encode::list_mentions(rid, 0, 0)).await;
        assert_eq!(verify::server_frame(&mentions).unwrap().body_as_mention_list().unwrap().events().map_or(0, |v| v.len()), 0);
        // Deleting it again deletes nothing new: Ok, no event.
        ok(&alice.ask(|rid| encode::delete_messages(rid, group, &[m1], true)).await);
        // Delete for me: only Bob's devices hide it.
        let mut bob2 = Peer::login(&e, t, "msg_bob", "laptop").await;
        ok(&bob.ask(|rid| encode::delete_messages(rid, group, &[r1], false)).await);
        let hidden = bob2.push(|f| f.body_type() == fb::Body::MessagesHidden).await;
        let f = verify::server_frame(&hidden).unwrap();
        assert_eq!(f.body_as_messages_hidden().unwrap().seqs().unwrap().iter().collect::<Vec<_>>(), vec![r1]);
        let (_, states) = history(&mut bob2, group).await;
        assert!(states.iter().any(|s| s.seq == r1 && s.hidden));
        let (events, states) = history(&mut alice, group).await;
        assert!(!states.iter().any(|s| s.hidden));
        assert_eq!(message_at(&events, r1).1.content, "hi!", "Alice still has Bob's reply");
        // @all: groups only.
        acked(&bob.ask(|rid| encode::send(rid, &Outgoing { mention_all: true, ..out(group, "all", "@all lunch?") })).await);
        assert_eq!(carol.refused(|rid| encode::send(rid, &Outgoing { mention_all: true, ..out(dm, "all", "@all") })).await, ErrorCode::InvalidArgument);
        let mentions = alice.ask(|rid| encode::list_mentions(rid, 0, 0)).await;
        assert_eq!(verify::server_frame(&mentions).unwrap().body_as_mention_list().unwrap().events().unwrap().len(), 1);
        // Out of range: no such seq.
        assert_eq!(alice.refused(|rid| encode::edit_message(rid, group, 10_000, "x", &[])).await, ErrorCode::MessageNotFound);
        assert_eq!(alice.refused(|rid| encode::delete_messages(rid, group, &[], true)).await, ErrorCode::InvalidArgument);
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_pins_places_contacts_and_forwards() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "rx_alice").await;
        let mut bob = Peer::register(&e, t, "rx_bob").await;
        let mut carol = Peer::register(&e, t, "rx_carol").await;
        let bob_id = bob.user_id;
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Team", &[bob_id], "", Settings::default())).await);
        let m = acked(&alice.ask(|rid| encode::send(rid, &out(group, "m", "vote"))).await);
        // Reactions: toggled per user, totals per message, who reacted.
        ok(&bob.ask(|rid| encode::react(rid, group, m, "👍", true)).await);
        let got = alice.push(is_delivery(group, fb::EventBody::ReactionsChanged)).await;
        let f = verify::server_frame(&got).unwrap();
        let ev = verify::event(f.body_as_deliver().unwrap().event().unwrap().bytes()).unwrap();
        let r = ev.body_as_reactions_changed().unwrap().messages().unwrap().get(0);
        assert_eq!((r.seq(), r.counts().unwrap().get(0).emoji(), r.counts().unwrap().get(0).count()), (m, Some("👍"), 1));
        assert_eq!(r.toggles().unwrap().get(0).user_id(), bob_id);
        ok(&bob.ask(|rid| encode::react(rid, group, m, "👍", true)).await);
        ok(&alice.ask(|rid| encode::react(rid, group, m, "👍", true)).await);
        ok(&alice.ask(|rid| encode::react(rid, group, m, "🎉", true)).await);
        let who = alice.ask(|rid| encode::list_reactions(rid, group, m, "👍", 0, 0)).await;
        let f = verify::server_frame(&who).unwrap();
        let users: Vec<u64> = f.body_as_reaction_list().unwrap().users().unwrap().iter().map(|u| u.user_id()).collect();
        let mut want = vec![alice.user_id, bob_id];
        want.sort_unstable();
        assert_eq!(users, want);
        let (_, states) = history(&mut bob, group).await;
        let s = states.iter().find(|s| s.seq == m).unwrap();
        assert_eq!(s.reactions, vec![("👍".to_string(), 2), ("🎉".to_string(), 1)]);
        assert_eq!(s.my_reactions, vec!["👍".to_string()]);
        ok(&bob.ask(|rid| encode::react(rid, group, m, "👍", false)).await);
        // A flood of different reactions stops at 20 per user; bad emoji are refused.
        let emoji: Vec<String> = (0..20).map(|i| char::from_u32(0x1F600 + i).unwrap().to_string()).collect();
        for e in &emoji {
            ok(&react_add(&mut bob, group, m, e).await);
        }
        assert_eq!(bob.refused(|rid| encode::react(rid, group, m, "🙈", true)).await, ErrorCode::LimitReached);
        assert_eq!(bob.refused(|rid| encode::react(rid, group, m, "a b", true)).await, ErrorCode::InvalidArgument);
        assert_eq!(carol.refused(|rid| encode::react(rid, group, m, "👍", true)).await, ErrorCode::ChatNotFound);
        // Pins: admins by default in a group; both people in a direct chat.
        assert_eq!(bob.refused(|rid| encode::pin_message(rid, group, m, true)).await, ErrorCode::Forbidden);
        ok(&alice.ask(|rid| encode::pin_message(rid, group, m, true)).await);
        bob.push(is_delivery(group, fb::EventBody::MessagePinned)).await;
        let pins = bob.ask(|rid| encode::list_pins(rid, group)).await;
        let f = verify::server_frame(&pins).unwrap();
        let pinned: Vec<u64> = f.body_as_pin_list().unwrap().messages().unwrap().iter().map(|s| s.seq()).collect();
        assert_eq!(pinned, vec![m]);
        let dm = chat_id_of(&bob.ask(|rid| encode::create_direct(rid, alice.user_id, "")).await);
        let d1 = acked(&alice.ask(|rid| encode::send(rid, &out(dm, "d1", "psst"))).await);
        ok(&bob.ask(|rid| encode::pin_message(rid, dm, d1, true)).await);
        // A place, checked; a live location, moved only by its sender until it ends.
        let bad = Attachment::Location(Location { latitude: 91.0, ..Location::default() });
        assert_eq!(alice.refused(|rid| encode::send(rid, &Outgoing { attachment: Some(&bad), ..out(group, "bad", "") })).await, ErrorCode::InvalidArgument);
        let until = now_ms() + 60_000;
        let live = Attachment::Location(Location { latitude: 45.07, longitude: 7.68, accuracy_m: 12.0, label: "Piazza".into(), live_until_ms: until });
        let l = acked(&alice.ask(|rid| encode::send(rid, &Outgoing { attachment: Some(&live), ..out(group, "live", "") })).await);
        assert_eq!(bob.refused(|rid| encode::update_live_location(rid, group, l, (45.0, 7.0, 5.0), false)).await, ErrorCode::NotMessageSender);
        ok(&alice.ask(|rid| encode::update_live_location(rid, group, l, (45.08, 7.69, 8.0), false)).await);
        bob.push(is_delivery(group, fb::EventBody::LiveLocationUpdated)).await;
        ok(&alice.ask(|rid| encode::update_live_location(rid, group, l, (45.09, 7.70, 8.0), true)).await);
        assert_eq!(alice.refused(|rid| encode::update_live_location(rid, group, l, (45.1, 7.7, 8.0), false)).await, ErrorCode::LiveLocationEnded);
        let (_, states) = history(&mut bob, group).await;
        let s = states.iter().find(|s| s.seq == l).unwrap();
        let at = s.location.as_ref().unwrap();
        assert!((at.latitude - 45.09).abs() < 1e-9 && at.live_until_ms > 0, "{at:?}");
        // A contact card; it cannot be edited.
        let card = Attachment::Contact(Contact { name: "Dr Who".into(), phones: vec!["+44 20 7946 0000".into()], emails: vec![], user_id: 0 });
        let c = acked(&alice.ask(|rid| encode::send(rid, &Outgoing { attachment: Some(&card), ..out(group, "card", "") })).await);
        assert_eq!(alice.refused(|rid| encode::edit_message(rid, group, c, "x", &[])).await, ErrorCode::NotEditable);
        // Forward one message to two chats; a retry gets the same results; a chat one is not
        // in fails alone.
        let carol_dm = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, carol.user_id, "")).await);
        let foreign = chat_id_of(&carol.ask(create(fb::ChatKind::Group, "Carol's", &[], "", Settings::default())).await);
        let targets = [carol_dm, dm, foreign];
        let first = alice.ask(|rid| encode::forward_message(rid, group, m, &targets, "fw1")).await;
        let again = alice.ask(|rid| encode::forward_message(rid, group, m, &targets, "fw1")).await;
        let results = |b: &[u8]| {
            let f = verify::server_frame(b).unwrap();
            f.body_as_forward_ack().unwrap().results().unwrap().iter().map(|r| (r.chat_id(), r.seq(), r.error_code())).collect::<Vec<_>>()
        };
        let got = results(&first);
        assert_eq!(got, results(&again), "a retried forward is the same forward");
        assert_eq!(got[2], (foreign, 0, ErrorCode::ChatNotFound as u16));
        assert!(got[..2].iter().all(|r| r.2 == 0 && r.1 > 0), "{got:?}");
        let (events, _) = history(&mut carol, carol_dm).await;
        let (sender, copy) = message_at(&events, got[0].1);
        let from = copy.forwarded.expect("marked forwarded");
        assert_eq!((sender, copy.content.as_str(), from.original_sender_id), (alice.user_id, "vote", alice.user_id));
        // A chat that forbids forwarding keeps its messages in.
        let closed = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Closed", &[bob_id], "", Settings { forwarding: false, ..Settings::default() })).await);
        let s = acked(&alice.ask(|rid| encode::send(rid, &out(closed, "s", "secret"))).await);
        assert_eq!(bob.refused(|rid| encode::forward_message(rid, closed, s, &[dm], "fw2")).await, ErrorCode::ForwardingDisabled);
        let _ = bob.drain(Duration::from_millis(50)).await;
    }
    e.shutdown();
}

/// Adds one reaction of `p`s.
async fn react_add(p: &mut Peer, chat: u64, seq: u64, emoji: &str) -> Bytes {
    let emoji = emoji.to_string();
    p.ask(move |rid| encode::react(rid, chat, seq, &emoji, true)).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The files under `dir` (recursively) whose bytes contain `needle`.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                // (A file may vanish between listing and reading: an obsolete WAL deleted.)
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(path);
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_deleted_for_everyone_leaves_the_engines_disk_and_the_rest_stays() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "erase_alice").await;
        let bob = Peer::register(&e, t, "erase_bob").await;
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Erase", &[bob.user_id], "", Settings::default())).await);
        // Random enough to occur nowhere else; LZ4 keeps such text as literal bytes in the files.
        let secret = format!("s3cr{:x}{t:?}", now_ms());
        let (original, edited, kept) = (format!("{secret}-original"), format!("{secret}-edited"), format!("{secret}-kept"));
        let m = acked(&alice.ask(|rid| encode::send(rid, &out(group, "e1", &original))).await);
        ok(&alice.ask(|rid| encode::edit_message(rid, group, m, &edited, &[])).await);
        acked(&alice.ask(|rid| encode::send(rid, &Outgoing { reply_to_seq: m, ..out(group, "e2", &kept) })).await);
        // Acked means in the WAL: the text is on disk now (so the check below can fail).
        for text in [&original, &edited, &kept] {
            assert!(!files_holding(e.data_dir(), text).is_empty(), "{text} is on disk before the deletion");
        }
        ok(&alice.ask(|rid| encode::delete_messages(rid, group, &[m], true)).await);
        // The scrub runs a couple of seconds after the commit: wait for it, at most a minute.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left: Vec<_> = [&original, &edited].iter().flat_map(|s| files_holding(e.data_dir(), s)).collect();
            if left.is_empty() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "still on disk a minute after the deletion: {left:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The reply itself is untouched (its quote of the deleted message is what was erased).
        let (events, _) = history(&mut alice, group).await;
        assert_eq!(events.iter().filter(|e| String::from_utf8_lossy(e).contains(&kept)).count(), 1);
        assert!(!files_holding(e.data_dir(), &kept).is_empty());
    }
    e.shutdown();
}
