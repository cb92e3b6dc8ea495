//! Receipts, typing and online counts, tested on the core alone: monotonic cursors, the chat's
//! end, non-members, privacy, who is told in small and large chats, and the typing audience.

use super::tests::*;
use super::*;
use crate::crossing::{self, Audience, Command, Signal};
use magpie_storage::{ChatKind, Op, ReceiptRecord};
use magpie_wire::{fb, ErrorCode};
use std::time::{Duration, Instant};

const DAVE: u64 = 4;
const BIG: u64 = 200;

fn mark(w: &mut World, who: u64, chat_id: u64, delivered: u64, read: u64, private: bool) -> Vec<Effect> {
    let actor = w.actor(who);
    w.command(Command::MarkReceipts(crossing::MarkReceipts { actor, chat_id, delivered_seq: delivered, read_seq: read, read_private: private }))
}

fn get(w: &mut World, who: u64, chat_id: u64, seq: u64, hide_reads: bool) -> Vec<Effect> {
    let actor = w.actor(who);
    w.command(Command::GetReceipts(crossing::GetReceipts { actor, chat_id, seq, hide_reads }))
}

/// The `ReceiptChanged` replies in `fx`: (user, delivered, read, hidden).
fn own_cursors(fx: &[Effect]) -> Vec<(u64, u64, u64, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Reply(_, b) => frame(b).body_as_receipt_changed().map(|r| (r.user_id(), r.delivered_seq(), r.read_seq(), r.read_hidden())),
            _ => None,
        })
        .collect()
}

/// The signals in `fx`: (audience users, body, (user, delivered, read, hidden) for receipts).
fn signals(fx: &[Effect]) -> Vec<(Vec<u64>, fb::Body, Option<(u64, u64, u64, bool)>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Signal(s) => {
                let mut users = Vec::new();
                s.audience.for_each_user(|u| users.push(u));
                let f = frame(&s.frame);
                let r = f.body_as_receipt_changed().map(|r| (r.user_id(), r.delivered_seq(), r.read_seq(), r.read_hidden()));
                Some((users, f.body_type(), r))
            }
            _ => None,
        })
        .collect()
}

/// An input at a chosen instant (the tests' clock is otherwise the real one).
fn input_at(w: &mut World, input: Input, at: Instant) -> Vec<Effect> {
    w.clock += 1;
    w.core.handle(input, Now { at, wall_ms: w.clock }, &mut w.commits)
}

fn receipt_ops(w: &World) -> Vec<(u64, ReceiptRecord)> {
    w.commits.submitted.iter().flat_map(|(_, ops)| ops).filter_map(|o| if let Op::PutReceipt { user_id, receipt, .. } = o { Some((*user_id, *receipt)) } else { None }).collect()
}

/// A group of ALICE and BOB with messages at seqs 2..=4.
fn group_with_messages(w: &mut World) {
    w.group();
    for m in ["a", "b", "c"] {
        w.send(ALICE, GROUP, m);
        w.commit_ok(GROUP);
    }
}

#[test]
fn cursors_move_forward_only_are_stored_and_tell_my_devices_and_the_others() {
    let mut w = World::new();
    group_with_messages(&mut w);
    assert!(mark(&mut w, BOB, GROUP, 3, 0, false).is_empty(), "answered once durable");
    assert_eq!(receipt_ops(&w), vec![(BOB, ReceiptRecord { delivered_seq: 3, read_seq: 0, read_private: false })]);
    let fx = w.commit_ok(GROUP);
    assert_eq!(own_cursors(&fx), vec![(BOB, 3, 0, false)]);
    assert_eq!(
        signals(&fx),
        vec![
            (vec![BOB], fb::Body::ReceiptChanged, Some((BOB, 3, 0, false))),
            (vec![ALICE], fb::Body::ReceiptChanged, Some((BOB, 3, 0, false))),
        ]
    );
    // Read implies delivered.
    mark(&mut w, BOB, GROUP, 0, 4, false);
    let fx = w.commit_ok(GROUP);
    assert_eq!(own_cursors(&fx), vec![(BOB, 4, 4, false)]);
    // Backwards (another device that is behind) changes nothing and is answered at once.
    let before = w.commits.submitted.len();
    let fx = mark(&mut w, BOB, GROUP, 2, 1, false);
    assert_eq!(own_cursors(&fx), vec![(BOB, 4, 4, false)]);
    assert!(signals(&fx).is_empty());
    assert_eq!(w.commits.submitted.len(), before, "nothing written");
}

#[test]
fn a_cursor_past_the_end_or_in_a_chat_one_is_not_in_is_refused_and_changes_nothing() {
    let mut w = World::new();
    group_with_messages(&mut w);
    let before = w.commits.submitted.len();
    assert_eq!(refused(&mark(&mut w, BOB, GROUP, 5, 0, false)), ErrorCode::ReceiptOutOfRange);
    assert_eq!(refused(&mark(&mut w, BOB, GROUP, 0, u64::MAX, false)), ErrorCode::ReceiptOutOfRange);
    assert_eq!(refused(&mark(&mut w, CAROL, GROUP, 1, 1, false)), ErrorCode::ChatNotFound);
    assert_eq!(refused(&get(&mut w, CAROL, GROUP, 2, false)), ErrorCode::ChatNotFound);
    assert_eq!(refused(&get(&mut w, BOB, GROUP, 9, false)), ErrorCode::ReceiptOutOfRange);
    assert_eq!(w.commits.submitted.len(), before);
    // A cursor not yet durable is past the end too: an in-flight message was delivered to nobody.
    w.send(ALICE, GROUP, "d");
    assert_eq!(refused(&mark(&mut w, BOB, GROUP, 5, 0, false)), ErrorCode::ReceiptOutOfRange);
}

#[test]
fn read_receipts_off_hides_my_reads_from_others_and_theirs_from_me() {
    let mut w = World::new();
    group_with_messages(&mut w);
    mark(&mut w, BOB, GROUP, 3, 3, true);
    let fx = w.commit_ok(GROUP);
    assert_eq!(own_cursors(&fx), vec![(BOB, 3, 3, false)], "my own devices see my read cursor");
    assert_eq!(signals(&fx)[1], (vec![ALICE], fb::Body::ReceiptChanged, Some((BOB, 3, 0, true))));
    // BOB reads further: only his own devices hear of it.
    mark(&mut w, BOB, GROUP, 0, 4, true);
    let fx = w.commit_ok(GROUP);
    let s = signals(&fx);
    assert_eq!(s[0].0, vec![BOB]);
    assert_eq!(s[1], (vec![ALICE], fb::Body::ReceiptChanged, Some((BOB, 4, 0, true))), "delivered still shows");
    mark(&mut w, ALICE, GROUP, 4, 4, false);
    w.commit_ok(GROUP);
    let list = |fx: &[Effect]| {
        let [Effect::Reply(_, b)] = fx else { panic!("{fx:?}") };
        let f = frame(b);
        let l = f.body_as_receipt_list().unwrap();
        let rows: Vec<_> = l.receipts().unwrap().iter().map(|r| (r.user_id(), r.delivered_seq(), r.read_seq(), r.read_hidden())).collect();
        (l.delivered_count(), l.read_count(), l.member_count(), rows)
    };
    assert_eq!(list(&get(&mut w, ALICE, GROUP, 4, false)), (1, 0, 2, vec![(BOB, 4, 0, true)]), "ALICE does not see BOB's reads");
    // BOB, who hides his reads, sees nobody's.
    assert_eq!(list(&get(&mut w, BOB, GROUP, 4, true)), (1, 0, 2, vec![(ALICE, 4, 0, true)]));
    assert_eq!(list(&get(&mut w, BOB, GROUP, 4, false)), (1, 1, 2, vec![(ALICE, 4, 4, false)]));
}

/// A chat BIG of `kind` owned by ALICE with members 1000..1300, and one message of `sender`'s
/// at seq 2, committed.
fn big_chat(kind: ChatKind, sender: u64) -> World {
    let mut w = World::new();
    let actor = w.actor(ALICE);
    let info = magpie_wire::chat::Info { title: "big".into(), ..Default::default() };
    w.command(Command::CreateGroup(crossing::CreateGroup { actor, chat_id: BIG, kind, info, members: (1000..1300).collect() }));
    w.commit_ok(BIG);
    w.send(sender, BIG, "news");
    w.commit_ok(BIG);
    w
}

#[test]
fn a_large_chat_sends_counts_to_its_admins_at_most_once_per_wake_not_every_receipt_to_everyone() {
    let mut w = big_chat(ChatKind::Channel, ALICE);
    let t0 = Instant::now();
    let mut wakes = 0;
    for reader in 1000..1010 {
        let fx = mark(&mut w, reader, BIG, 2, 2, false);
        wakes += fx.iter().filter(|e| matches!(e, Effect::Wake { chat_id: BIG, .. })).count();
        let fx = w.commit_ok(BIG);
        let s = signals(&fx);
        assert_eq!(s.len(), 1, "only the reader's own devices: {s:?}");
        assert_eq!(s[0].0, vec![reader]);
        wakes += fx.iter().filter(|e| matches!(e, Effect::Wake { .. })).count();
    }
    assert_eq!(wakes, 1, "one wake for the burst");
    // A wake-up before the second is up (another feature's: reactions share it) sends nothing.
    let fx = input_at(&mut w, Input::Wake { chat_id: BIG }, t0);
    assert!(fx.iter().all(|e| !matches!(e, Effect::Signal(_))), "{fx:?}");
    let fx = input_at(&mut w, Input::Wake { chat_id: BIG }, Instant::now() + Duration::from_millis(1000));
    let [Effect::Signal(s)] = fx.as_slice() else { panic!("{fx:?}") };
    assert!(matches!(&s.audience, Audience::Users(u) if u.as_ref() == [ALICE]), "to the owner and admins");
    let f = frame(&s.frame);
    let c = f.body_as_receipt_counts().unwrap();
    assert_eq!((c.seq(), c.delivered_count(), c.read_count(), c.member_count()), (2, 10, 10, 301));
    assert!(input_at(&mut w, Input::Wake { chat_id: BIG }, Instant::now() + Duration::from_millis(3000)).is_empty(), "nothing new, nothing sent");
    // GetReceipts in a large chat: counts, no list.
    let fx = get(&mut w, DAVE + 1000, BIG, 2, false);
    let [Effect::Reply(_, b)] = fx.as_slice() else { panic!("{fx:?}") };
    let f = frame(b);
    let l = f.body_as_receipt_list().unwrap();
    assert_eq!((l.delivered_count(), l.read_count(), l.receipts().unwrap().len()), (10, 10, 0), "counts over every member, no list");
    // Asked again within the second, the counts are reused, not recounted: a cursor that moved
    // meanwhile shows a second later.
    let again = |w: &mut World, at| {
        let actor = w.actor(1200);
        let fx = input_at(w, Input::Command(Command::GetReceipts(crossing::GetReceipts { actor, chat_id: BIG, seq: 2, hide_reads: false })), at);
        let [Effect::Reply(_, b)] = fx.as_slice() else { panic!("{fx:?}") };
        frame(b).body_as_receipt_list().unwrap().read_count()
    };
    let t1 = Instant::now() + Duration::from_secs(10);
    mark(&mut w, 1100, BIG, 2, 2, false);
    w.commit_ok(BIG);
    assert_eq!(again(&mut w, t1), 11, "counted afresh: the earlier count is old");
    mark(&mut w, 1101, BIG, 2, 2, false);
    w.commit_ok(BIG);
    assert_eq!(again(&mut w, t1 + Duration::from_millis(500)), 11, "reused within the second");
    assert_eq!(again(&mut w, t1 + Duration::from_secs(2)), 12, "then counted again");
    // Turning read receipts off shows in the counts at once, cache or not.
    mark(&mut w, 1100, BIG, 2, 2, true);
    w.commit_ok(BIG);
    assert_eq!(again(&mut w, t1 + Duration::from_millis(2100)), 11, "1100's read no longer counts");
}

#[test]
fn a_large_groups_counts_go_to_the_sender_of_its_newest_message_too() {
    let mut w = big_chat(ChatKind::Group, 1005);
    mark(&mut w, 1006, BIG, 2, 2, false);
    w.commit_ok(BIG);
    let fx = input_at(&mut w, Input::Wake { chat_id: BIG }, Instant::now() + Duration::from_millis(1000));
    let [Effect::Signal(s)] = fx.as_slice() else { panic!("{fx:?}") };
    assert!(matches!(&s.audience, Audience::Users(u) if u.as_ref() == [ALICE, 1005]), "the owner and the sender: {:?}", s.audience);
    let c = frame(&s.frame).body_as_receipt_counts().map(|c| (c.seq(), c.read_count()));
    assert_eq!(c, Some((2, 1)));
    // The sender turns read receipts off: their counts say 0 read from then on; the owner's do not.
    mark(&mut w, 1005, BIG, 2, 2, true);
    w.commit_ok(BIG);
    let fx = input_at(&mut w, Input::Wake { chat_id: BIG }, Instant::now() + Duration::from_millis(3000));
    let pushed: Vec<(Vec<u64>, Option<u32>)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Signal(Signal { audience: Audience::Users(u), frame: f }) => Some((u.to_vec(), frame(f).body_as_receipt_counts().map(|c| c.read_count()))),
            _ => None,
        })
        .collect();
    assert_eq!(pushed, vec![(vec![ALICE], Some(1)), (vec![1005], Some(0))], "1005's own read no longer counts either");
}

#[test]
fn typing_goes_to_members_of_small_chats_to_watchers_of_large_ones_and_never_from_outside() {
    let mut w = World::new();
    w.group();
    let typing = |w: &mut World, who: u64, chat_id: u64, answer: bool| {
        let mut actor = w.actor(who);
        if !answer {
            actor.reply.request_id = 0;
        }
        w.command(Command::Typing(crossing::Typing { actor, chat_id, kind: fb::TypingKind::Typing, answer }))
    };
    let fx = typing(&mut w, BOB, GROUP, true);
    assert_eq!(replies(&fx).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::Ok]);
    let s = signals(&fx);
    assert_eq!((s[0].0.clone(), s[0].1), (vec![ALICE, BOB], fb::Body::TypingChanged));
    let f = fx.iter().find_map(|e| if let Effect::Signal(s) = e { Some(s.frame.clone()) } else { None }).unwrap();
    let t = frame(&f).body_as_typing_changed().map(|t| (t.chat_id(), t.user_id(), t.kind(), t.expires_in_ms())).unwrap();
    assert_eq!(t, (GROUP, BOB, fb::TypingKind::Typing, 3000), "the server names the typist");
    assert!(w.commits.submitted.iter().all(|(_, ops)| ops.iter().all(|o| !matches!(o, Op::PutReceipt { .. }))), "never stored");
    assert_eq!(refused(&typing(&mut w, CAROL, GROUP, true)), ErrorCode::ChatNotFound);
    assert!(typing(&mut w, CAROL, GROUP, false).is_empty(), "a datagram is never answered");
    // A large channel: subscribers may not type; admins' typing goes to watchers only.
    let actor = w.actor(ALICE);
    let info = magpie_wire::chat::Info { title: "big".into(), ..Default::default() };
    w.command(Command::CreateGroup(crossing::CreateGroup { actor, chat_id: BIG, kind: ChatKind::Channel, info, members: (1000..1300).collect() }));
    w.commit_ok(BIG);
    assert_eq!(refused(&typing(&mut w, 1000, BIG, true)), ErrorCode::Forbidden);
    let fx = typing(&mut w, ALICE, BIG, true);
    assert!(fx.iter().any(|e| matches!(e, Effect::ToWatchers { chat_id: BIG, .. })));
    assert!(signals(&fx).is_empty());
}

#[test]
fn an_online_count_is_asked_for_members_only() {
    let mut w = World::new();
    w.group();
    let online = |w: &mut World, who| {
        let mut actor = w.actor(who);
        actor.reply.request_id = 0;
        w.command(Command::ChatOnline(crossing::ChatOnline { actor, chat_id: GROUP, token: 9 }))
    };
    let fx = online(&mut w, BOB);
    assert!(matches!(fx.as_slice(), [Effect::CountOnline { chat_id: GROUP, token: 9, members, .. }] if members.len() == 2));
    assert!(online(&mut w, CAROL).is_empty(), "a non-member is ignored, not answered");
}
