//! The chat rules, tested on the core alone: no engine, no sockets, no disk, no clock. Each test
//! feeds inputs and checks the effects, so a race is a chosen order of inputs, not luck.

use super::*;
use crate::crossing::{self, Actor, Audience, Command, ReplyTo};
use magpie_storage::{ChatHead, ChatKind, ChatMeta, Op, Role};
use magpie_wire::{fb, verify, ErrorCode};
use std::time::Instant;

pub(super) const ALICE: u64 = 1;
pub(super) const BOB: u64 = 2;
pub(super) const CAROL: u64 = 3;
pub(super) const GROUP: u64 = 100;
pub(super) const DIRECT: u64 = 101;

/// The commit thread as the core sees it: records what it is handed, refuses when told to.
#[derive(Default)]
pub(super) struct FakeCommits {
    pub(super) submitted: Vec<(u64, Vec<Op>)>,
    pub(super) refuse: bool,
}

impl Commits for FakeCommits {
    fn try_commit(&mut self, chat_id: u64, ops: Vec<Op>) -> Result<(), Refusal> {
        if self.refuse {
            return Err((ErrorCode::Unavailable, "busy"));
        }
        self.submitted.push((chat_id, ops));
        Ok(())
    }
}

pub(super) struct World {
    pub(super) core: ChatCore,
    pub(super) commits: FakeCommits,
    next_request: u64,
    pub(super) clock: i64,
}

pub(super) fn now(clock: i64) -> Now {
    Now { at: Instant::now(), wall_ms: clock }
}

impl World {
    pub(super) fn new() -> World {
        World { core: ChatCore::new(0), commits: FakeCommits::default(), next_request: 1, clock: 1_800_000_000_000 }
    }

    pub(super) fn input(&mut self, input: Input) -> Vec<Effect> {
        self.clock += 1;
        self.core.handle(input, now(self.clock), &mut self.commits)
    }

    /// A caller: user `user` on device `user * 10`, on connection `user` of shard 0.
    pub(super) fn actor(&mut self, user: u64) -> Actor {
        self.next_request += 1;
        Actor { user_id: user, device_id: user * 10, reply: ReplyTo { shard: 0, conn: user, request_id: self.next_request } }
    }

    pub(super) fn command(&mut self, cmd: Command) -> Vec<Effect> {
        self.input(Input::Command(cmd))
    }

    pub(super) fn commit_ok(&mut self, chat_id: u64) -> Vec<Effect> {
        self.input(Input::Committed { chat_id, result: Ok(()), elapsed: std::time::Duration::from_micros(50) })
    }

    pub(super) fn send(&mut self, user: u64, chat_id: u64, client_msg_id: &str) -> (Actor, Vec<Effect>) {
        let actor = self.actor(user);
        let cmd = Command::Send(crossing::Send::text(actor, chat_id, client_msg_id.into(), "hi".into()));
        (actor, self.command(cmd))
    }

    /// A group owned by ALICE (admin) with BOB, created and committed; returns the effects.
    pub(super) fn group(&mut self) -> Vec<Effect> {
        let actor = self.actor(ALICE);
        let fx = self.command(Command::CreateGroup(crossing::CreateGroup { actor, chat_id: GROUP, kind: ChatKind::Group, info: titled("g"), members: vec![BOB] }));
        assert!(fx.is_empty(), "nothing before the commit: {fx:?}");
        self.commit_ok(GROUP)
    }

    /// A chat that exists on disk: a command for it loads it; the load finds `view`.
    pub(super) fn load(&mut self, view: ChatView, first: Command) -> Vec<Effect> {
        let chat_id = view.meta.chat_id;
        let fx = self.command(first);
        let load = match fx.as_slice() {
            [Effect::Load { chat_id: c, load }] if *c == chat_id => *load,
            other => panic!("expected one load, got {other:?}"),
        };
        self.input(Input::Loaded { chat_id, load, result: Ok(Some(view)) })
    }
}

pub(super) fn direct_view() -> ChatView {
    let meta = ChatMeta { chat_id: DIRECT, kind: ChatKind::Direct, title: String::new(), created_ms: 1, created_by: ALICE , profile: Default::default()};
    let mut v = ChatView::from_snapshot(Snapshot {
        meta,
        members: vec![(ALICE, member(Role::Member)), (BOB, member(Role::Member))],
        invites: vec![],
        requests: vec![],
        receipts: vec![],
        pins: vec![],
        head: ChatHead { at_seq: 7, last_message_seq: 6, member_count: None },
    });
    v.last_seq = 7;
    v
}

pub(super) fn titled(title: &str) -> magpie_wire::chat::Info {
    magpie_wire::chat::Info { title: title.into(), ..Default::default() }
}

pub(super) fn member(role: Role) -> magpie_storage::MemberRecord {
    magpie_storage::MemberRecord { role, since_seq: 1 }
}

pub(super) fn frame(b: &[u8]) -> fb::Frame<'_> {
    verify::server_frame(b).expect("the core encodes valid frames")
}

/// The replies in `fx`, as (request id, body type).
pub(super) fn replies(fx: &[Effect]) -> Vec<(u64, fb::Body)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Reply(r, b) => Some((r.request_id, frame(b).body_type())),
            _ => None,
        })
        .collect()
}

/// The error code of the only reply in `fx`.
pub(super) fn refused(fx: &[Effect]) -> ErrorCode {
    let codes: Vec<ErrorCode> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Reply(_, b) => frame(b).body_as_error().and_then(|e| ErrorCode::from_u16(e.code())),
            _ => None,
        })
        .collect();
    assert_eq!(codes.len(), 1, "expected exactly one error reply in {fx:?}");
    codes[0]
}

/// The seq of the SendAck replies in `fx`.
pub(super) fn acks(fx: &[Effect]) -> Vec<(u64, u64)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Reply(r, b) => frame(b).body_as_send_ack().map(|a| (r.request_id, a.seq())),
            _ => None,
        })
        .collect()
}

pub(super) fn deliveries(fx: &[Effect]) -> Vec<(u64, Vec<u64>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Deliver(d) => match &d.audience {
                Audience::Members(m) => Some((d.seq, m.keys().copied().collect())),
                other => panic!("events go to members, not {other:?}"),
            },
            _ => None,
        })
        .collect()
}

pub(super) fn appended_seqs(ops: &[Op]) -> Vec<u64> {
    ops.iter().filter_map(|o| if let Op::Append { seq, .. } = o { Some(*seq) } else { None }).collect()
}

#[test]
fn a_new_group_is_created_durably_then_announced_to_every_member() {
    let mut w = World::new();
    let fx = w.group();
    assert_eq!(replies(&fx).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::ChatInfo]);
    assert_eq!(deliveries(&fx), vec![(1, vec![ALICE, BOB])]);
    let ops = &w.commits.submitted[0].1;
    assert_eq!(appended_seqs(ops), vec![1]);
    assert!(ops.iter().any(|o| matches!(o, Op::PutChat(m) if m.chat_id == GROUP && m.kind == ChatKind::Group)));
    for user in [ALICE, BOB] {
        assert!(ops.iter().any(|o| matches!(o, Op::PutUserChat { user_id, chat_id: GROUP, .. } if *user_id == user)));
    }
    assert!(ops.iter().any(|o| matches!(o, Op::PutMember { user_id: ALICE, role: Role::Owner, .. })));
    assert!(ops.iter().any(|o| matches!(o, Op::PutChatHead { head: ChatHead { at_seq: 1, last_message_seq: 0, member_count: Some(2) }, .. })));
}

#[test]
fn a_send_is_acked_and_delivered_only_once_durable_with_the_next_seq() {
    let mut w = World::new();
    w.group();
    let (_, fx) = w.send(BOB, GROUP, "m1");
    assert!(fx.is_empty(), "no ack, no delivery before the commit: {fx:?}");
    let (_, fx2) = w.send(ALICE, GROUP, "m2");
    assert!(fx2.is_empty());
    let ops = &w.commits.submitted[1].1;
    assert_eq!(appended_seqs(ops), vec![2]);
    let message_id = ops.iter().find_map(|o| if let Op::PutMessageId { message_id, location } = o { Some((*message_id, *location)) } else { None });
    let (message_id, location) = message_id.expect("messages are indexed by id");
    assert_eq!((location.chat_id, location.seq), (GROUP, 2));
    assert!(ops.iter().any(|o| matches!(o, Op::PutDedup { device_id: 20, client_msg_id, record } if client_msg_id == "m1" && record.seq == 2 && record.message_id == message_id)));
    assert!(!ops.iter().any(|o| matches!(o, Op::PutChatHead { .. })), "a message stores no head (but every HEAD_EVERY seqs)");
    let fx = w.commit_ok(GROUP);
    assert_eq!(acks(&fx).iter().map(|a| a.1).collect::<Vec<_>>(), vec![2]);
    assert_eq!(deliveries(&fx), vec![(2, vec![ALICE, BOB])]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Observe(Observation::SendDurable(_)))));
    let fx = w.commit_ok(GROUP);
    assert_eq!(acks(&fx).iter().map(|a| a.1).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn messages_store_a_head_every_head_every_seqs_and_other_events_always() {
    let mut w = World::new();
    w.group();
    for i in 2..=HEAD_EVERY + 1 {
        w.send(ALICE, GROUP, &format!("m{i}"));
        w.commit_ok(GROUP);
    }
    let heads: Vec<ChatHead> = w
        .commits
        .submitted
        .iter()
        .flat_map(|(_, ops)| ops.iter())
        .filter_map(|o| if let Op::PutChatHead { head, .. } = o { Some(*head) } else { None })
        .collect();
    let at = HEAD_EVERY;
    assert_eq!(heads, vec![ChatHead { at_seq: 1, last_message_seq: 0, member_count: Some(2) }, ChatHead { at_seq: at, last_message_seq: at, member_count: Some(2) }]);
}

#[test]
fn a_retried_send_is_applied_once_and_gets_the_original_ack() {
    let mut w = World::new();
    w.group();
    let (first, _) = w.send(BOB, GROUP, "same");
    let (retry, fx) = w.send(BOB, GROUP, "same");
    assert!(fx.is_empty(), "a retry in flight waits for the original");
    assert_eq!(w.commits.submitted.len(), 2, "one commit for the group, one for the message");
    let fx = w.commit_ok(GROUP);
    let mut got = acks(&fx);
    got.sort_unstable();
    assert_eq!(got, vec![(first.reply.request_id, 2), (retry.reply.request_id, 2)]);
    assert_eq!(deliveries(&fx).len(), 1, "delivered once");
    let (late, fx) = w.send(BOB, GROUP, "same");
    assert_eq!(acks(&fx), vec![(late.reply.request_id, 2)], "a retry after the ack is answered at once");
    assert_eq!(w.commits.submitted.len(), 2, "and writes nothing");
    // The same id from another device is another message.
    let (_, fx) = w.send(ALICE, GROUP, "same");
    assert!(fx.is_empty());
    assert_eq!(appended_seqs(&w.commits.submitted[2].1), vec![3]);
}

#[test]
fn non_members_learn_nothing_about_a_chat() {
    let mut w = World::new();
    w.group();
    let (_, fx) = w.send(CAROL, GROUP, "x");
    assert_eq!(refused(&fx), ErrorCode::ChatNotFound);
    let actor = w.actor(CAROL);
    assert_eq!(refused(&w.command(Command::GetChat(crossing::GetChat { actor, chat_id: GROUP }))), ErrorCode::ChatNotFound);
    let actor = w.actor(CAROL);
    let history = crossing::History { actor, chat_id: GROUP, from_seq: 0, direction: fb::Direction::Backward, limit: 50 };
    assert_eq!(refused(&w.command(Command::History(history))), ErrorCode::ChatNotFound);
    let actor = w.actor(CAROL);
    let add = crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL] };
    assert_eq!(refused(&w.command(Command::AddMembers(add))), ErrorCode::ChatNotFound, "not even forbidden");
    let actor = w.actor(CAROL);
    let leave = crossing::RemoveMember { actor, chat_id: GROUP, target: CAROL, successor: 0 };
    assert_eq!(refused(&w.command(Command::RemoveMember(leave))), ErrorCode::ChatNotFound);
    assert_eq!(w.commits.submitted.len(), 1, "nothing written");
}

#[test]
fn a_chat_that_does_not_exist_answers_every_waiting_command_chat_not_found() {
    let mut w = World::new();
    let (_, fx) = w.send(ALICE, 555, "x");
    let [Effect::Load { load, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    let load = *load;
    let (_, fx) = w.send(BOB, 555, "y");
    assert!(fx.is_empty(), "the second command waits for the same load");
    let fx = w.input(Input::Loaded { chat_id: 555, load, result: Ok(None) });
    assert_eq!(replies(&fx).len(), 2);
    assert!(fx.iter().all(|e| matches!(e, Effect::Reply(..))));
}

#[test]
fn only_admins_add_and_remove_others_and_direct_chats_never_change() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(BOB);
    let add = crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL] };
    assert_eq!(refused(&w.command(Command::AddMembers(add))), ErrorCode::Forbidden);
    let actor = w.actor(BOB);
    let remove = crossing::RemoveMember { actor, chat_id: GROUP, target: ALICE, successor: 0 };
    assert_eq!(refused(&w.command(Command::RemoveMember(remove))), ErrorCode::Forbidden);
    let actor = w.actor(ALICE);
    let remove = crossing::RemoveMember { actor, chat_id: GROUP, target: CAROL, successor: 0 };
    assert_eq!(refused(&w.command(Command::RemoveMember(remove))), ErrorCode::UserNotFound);

    let actor = w.actor(ALICE);
    let add = crossing::AddMembers { actor, chat_id: DIRECT, user_ids: vec![CAROL] };
    assert!(w.load(direct_view(), Command::AddMembers(add)).iter().any(|e| matches!(e, Effect::Reply(..))));
    let actor = w.actor(ALICE);
    let add = crossing::AddMembers { actor, chat_id: DIRECT, user_ids: vec![CAROL] };
    assert_eq!(refused(&w.command(Command::AddMembers(add))), ErrorCode::NotAGroup);
    let actor = w.actor(ALICE);
    let leave = crossing::RemoveMember { actor, chat_id: DIRECT, target: ALICE, successor: 0 };
    assert_eq!(refused(&w.command(Command::RemoveMember(leave))), ErrorCode::NotAGroup);
    assert_eq!(w.commits.submitted.len(), 1, "only the group's creation was written");
}

#[test]
fn added_members_get_the_event_that_adds_them_and_can_send_before_it_is_durable() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(ALICE);
    let add = crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL, BOB, CAROL] };
    assert!(w.command(Command::AddMembers(add)).is_empty());
    let ops = &w.commits.submitted[1].1;
    assert_eq!(ops.iter().filter(|o| matches!(o, Op::PutMember { .. })).count(), 1, "only CAROL is new");
    assert!(ops.iter().any(|o| matches!(o, Op::PutUserChat { user_id: CAROL, chat_id: GROUP, .. })));
    // Commands see the change at once (pipelining) ...
    let (_, fx) = w.send(CAROL, GROUP, "early");
    assert!(fx.is_empty(), "CAROL's send is accepted: {fx:?}");
    // ... reads only once it is durable.
    let actor = w.actor(CAROL);
    assert_eq!(refused(&w.command(Command::GetChat(crossing::GetChat { actor, chat_id: GROUP }))), ErrorCode::ChatNotFound);
    let fx = w.commit_ok(GROUP);
    assert_eq!(replies(&fx).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::Ok]);
    assert_eq!(deliveries(&fx), vec![(2, vec![ALICE, BOB, CAROL])]);
    let actor = w.actor(CAROL);
    let fx = w.command(Command::GetChat(crossing::GetChat { actor, chat_id: GROUP }));
    assert_eq!(replies(&fx), vec![(actor.reply.request_id, fb::Body::ChatInfo)]);
    // Nobody new: answered `Ok` without an event.
    let actor = w.actor(ALICE);
    let fx = w.command(Command::AddMembers(crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![BOB] }));
    assert_eq!(replies(&fx), vec![(actor.reply.request_id, fb::Body::Ok)]);
    assert_eq!(w.commits.submitted.len(), 3);
}

#[test]
fn a_removed_member_is_told_and_then_refused() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(ALICE);
    assert!(w.command(Command::RemoveMember(crossing::RemoveMember { actor, chat_id: GROUP, target: BOB, successor: 0 })).is_empty());
    let ops = &w.commits.submitted[1].1;
    assert!(ops.iter().any(|o| matches!(o, Op::RemoveMember { user_id: BOB, .. })));
    assert!(ops.iter().any(|o| matches!(o, Op::RemoveUserChat { user_id: BOB, .. })));
    let (_, fx) = w.send(BOB, GROUP, "late");
    assert_eq!(refused(&fx), ErrorCode::ChatNotFound, "the removal applies to commands at once");
    let fx = w.commit_ok(GROUP);
    assert_eq!(deliveries(&fx), vec![(2, vec![ALICE, BOB])], "BOB is told he was removed");
    let (_, fx) = w.send(ALICE, GROUP, "after");
    assert!(fx.is_empty());
    assert_eq!(deliveries(&w.commit_ok(GROUP)), vec![(3, vec![ALICE])]);
}

#[test]
fn a_member_may_leave() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(BOB);
    assert!(w.command(Command::RemoveMember(crossing::RemoveMember { actor, chat_id: GROUP, target: BOB, successor: 0 })).is_empty());
    assert_eq!(replies(&w.commit_ok(GROUP)), vec![(actor.reply.request_id, fb::Body::Ok)]);
}

/// A group's id is allocated before the group exists, so a request for it can reach the owner
/// before the `CreateGroup` — while the owner is still looking the id up on disk. Every request
/// is answered exactly once: the early one `chat_not_found`, the creation with its info, and the
/// chat works afterwards. (Over sockets this took 64 live rounds to show; here it is one order.)
#[test]
fn a_command_for_the_next_id_racing_its_creation_is_answered_once() {
    let mut w = World::new();
    let actor = w.actor(ALICE);
    let fx = w.command(Command::RemoveMember(crossing::RemoveMember { actor, chat_id: GROUP, target: BOB, successor: 0 }));
    let [Effect::Load { load, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    let load = *load;
    let creator = w.actor(BOB);
    let fx = w.command(Command::CreateGroup(crossing::CreateGroup { actor: creator, chat_id: GROUP, kind: ChatKind::Group, info: titled("racer"), members: vec![] }));
    assert_eq!(replies(&fx), vec![(actor.reply.request_id, fb::Body::Error)]);
    assert_eq!(refused(&fx), ErrorCode::ChatNotFound);
    // The load that the early command started finds nothing, and must leave the new chat alone.
    assert!(w.input(Input::Loaded { chat_id: GROUP, load, result: Ok(None) }).is_empty());
    let fx = w.commit_ok(GROUP);
    assert_eq!(replies(&fx), vec![(creator.reply.request_id, fb::Body::ChatInfo)]);
    let (_, fx) = w.send(BOB, GROUP, "still here");
    assert!(fx.is_empty());
    assert_eq!(acks(&w.commit_ok(GROUP)).iter().map(|a| a.1).collect::<Vec<_>>(), vec![2]);
}

#[test]
fn a_refused_hand_over_leaves_no_trace() {
    let mut w = World::new();
    w.group();
    w.commits.refuse = true;
    let (_, fx) = w.send(BOB, GROUP, "m");
    assert_eq!(refused(&fx), ErrorCode::Unavailable);
    let actor = w.actor(ALICE);
    assert_eq!(refused(&w.command(Command::AddMembers(crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL] }))), ErrorCode::Unavailable);
    w.commits.refuse = false;
    let (_, fx) = w.send(BOB, GROUP, "m");
    assert!(fx.is_empty(), "the same client id is new again: {fx:?}");
    assert_eq!(appended_seqs(&w.commits.submitted[1].1), vec![2], "no seq was used up");
    let (_, fx) = w.send(CAROL, GROUP, "c");
    assert_eq!(refused(&fx), ErrorCode::ChatNotFound, "the refused AddMembers changed nothing");
}

#[test]
fn a_failed_commit_poisons_the_chat_until_it_is_reloaded() {
    let mut w = World::new();
    w.group();
    let (first, _) = w.send(BOB, GROUP, "a");
    let (_second, _) = w.send(BOB, GROUP, "b");
    let fx = w.input(Input::Committed { chat_id: GROUP, result: Err("disk on fire".into()), elapsed: Default::default() });
    assert_eq!(replies(&fx), vec![(first.reply.request_id, fb::Body::Error)]);
    assert_eq!(refused(&fx), ErrorCode::Internal);
    assert!(deliveries(&fx).is_empty(), "a failed event is never delivered");
    let (_, fx) = w.send(ALICE, GROUP, "c");
    assert_eq!(refused(&fx), ErrorCode::Unavailable, "recovering while a commit is still in flight");
    // The last in-flight commit finishes: the state is dropped, the next command reloads.
    w.commit_ok(GROUP);
    let (_, fx) = w.send(ALICE, GROUP, "d");
    assert!(matches!(fx.as_slice(), [Effect::Load { chat_id: GROUP, .. }]), "{fx:?}");
}

#[test]
fn reads_answer_from_durable_state_and_history_stops_at_the_durable_end() {
    let mut w = World::new();
    let actor = w.actor(ALICE);
    let fx = w.load(direct_view(), Command::GetChat(crossing::GetChat { actor, chat_id: DIRECT }));
    let info = fx.iter().find_map(|e| if let Effect::Reply(_, b) = e { Some(b.clone()) } else { None }).unwrap();
    let info = frame(&info);
    let info = info.body_as_chat_info().unwrap();
    assert_eq!((info.chat_id(), info.last_seq(), info.members().unwrap().len()), (DIRECT, 7, 2));
    let (_, fx) = w.send(ALICE, DIRECT, "m");
    assert!(fx.is_empty());
    let actor = w.actor(BOB);
    let history = crossing::History { actor, chat_id: DIRECT, from_seq: 0, direction: fb::Direction::Backward, limit: 50 };
    let fx = w.command(Command::History(history));
    assert!(matches!(fx.as_slice(), [Effect::ReadHistory { up_to: 7, limit: 50, .. }]), "seq 8 is not durable yet: {fx:?}");
    w.commit_ok(DIRECT);
    let history = crossing::History { actor, chat_id: DIRECT, from_seq: 0, direction: fb::Direction::Backward, limit: 50 };
    assert!(matches!(w.command(Command::History(history)).as_slice(), [Effect::ReadHistory { up_to: 8, .. }]));
}

#[test]
fn one_direct_chat_per_pair_however_many_ask_at_once() {
    let mut w = World::new();
    let a = w.actor(ALICE);
    let fx = w.command(Command::CreateDirect(crossing::CreateDirect { actor: a, peer: BOB }));
    assert!(matches!(fx.as_slice(), [Effect::FindDirect { pair: (ALICE, BOB) }]));
    let b = w.actor(BOB);
    assert!(w.command(Command::CreateDirect(crossing::CreateDirect { actor: b, peer: ALICE })).is_empty(), "joins the lookup");
    assert!(w.input(Input::DirectFound { pair: (ALICE, BOB), result: Ok(DirectLookup::New(DIRECT)) }).is_empty());
    let ops = &w.commits.submitted[0].1;
    assert!(ops.iter().any(|o| matches!(o, Op::PutDirect { a: ALICE, b: BOB, chat_id: DIRECT })));
    let fx = w.commit_ok(DIRECT);
    let mut got = replies(&fx);
    got.sort_unstable_by_key(|r| r.0);
    assert_eq!(got, vec![(a.reply.request_id, fb::Body::ChatInfo), (b.reply.request_id, fb::Body::ChatInfo)]);
    // Later: the lookup finds it.
    let c = w.actor(BOB);
    w.command(Command::CreateDirect(crossing::CreateDirect { actor: c, peer: ALICE }));
    let fx = w.input(Input::DirectFound { pair: (ALICE, BOB), result: Ok(DirectLookup::Existing(direct_view())) });
    let info = fx.iter().find_map(|e| if let Effect::Reply(_, b) = e { Some(b.clone()) } else { None }).unwrap();
    // The loaded chat's own state (seq 1, just created) wins over what the lookup read.
    assert_eq!(frame(&info).body_as_chat_info().unwrap().last_seq(), 1);
}

#[test]
fn a_chat_folded_from_its_log_equals_the_chat_that_wrote_it() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(ALICE);
    w.command(Command::AddMembers(crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL] }));
    w.commit_ok(GROUP);
    w.send(CAROL, GROUP, "x");
    w.commit_ok(GROUP);
    let actor = w.actor(ALICE);
    w.command(Command::RemoveMember(crossing::RemoveMember { actor, chat_id: GROUP, target: BOB, successor: 0 }));
    w.commit_ok(GROUP);
    let log: Vec<Vec<u8>> = w
        .commits
        .submitted
        .iter()
        .flat_map(|(_, ops)| ops.iter())
        .filter_map(|o| if let Op::Append { event, .. } = o { Some(event.to_vec()) } else { None })
        .collect();
    let (head, durable) = w.core.views(GROUP).unwrap();
    assert_eq!((head.last_seq, head.last_message_seq), (4, 3));
    // From nothing: the whole log.
    let meta = durable.meta.clone();
    let mut from_scratch = ChatView::from_snapshot(Snapshot { meta: meta.clone(), members: vec![], head: ChatHead::default(), invites: vec![], requests: vec![], pins: vec![], receipts: vec![] });
    from_scratch.fold(log.iter().map(|e| e.as_slice())).unwrap();
    // From a stale snapshot (taken at seq 2) plus the events after it.
    let members_now: Vec<(u64, magpie_storage::MemberRecord)> = durable.members.iter().map(|(&u, &m)| (u, m)).collect();
    let head = ChatHead { at_seq: 2, last_message_seq: 0, member_count: None };
    let mut from_snapshot = ChatView::from_snapshot(Snapshot { meta, members: members_now, head, invites: vec![], requests: vec![], pins: vec![], receipts: vec![] });
    from_snapshot.fold(log[2..].iter().map(|e| e.as_slice())).unwrap();
    for folded in [&from_scratch, &from_snapshot] {
        assert_eq!(folded.head(), durable.head());
        assert_eq!(folded.members, durable.members);
        assert_eq!(folded.role(ALICE), Some(Role::Owner));
    }
    // A hole in the log is refused, never skipped.
    let mut holed = ChatView::from_snapshot(Snapshot { meta: durable.meta.clone(), members: vec![], head: ChatHead::default(), invites: vec![], requests: vec![], pins: vec![], receipts: vec![] });
    assert!(holed.fold([log[0].as_slice(), log[2].as_slice()]).is_err());
}
