//! The conversation rules on the core alone: roles and ownership, channels and their
//! subscribers, invite links, join requests, history visibility and large member lists. Every
//! rule here is also tried over the wire in `engine/tests/conversations.rs`.

use super::tests::*;
use super::*;
use crate::crossing::{self, Command, JoinBy};
use magpie_storage::{ChatKind, Op, Role};
use magpie_wire::chat::{Info, Settings};
use magpie_wire::{fb, verify, ErrorCode};

const CHANNEL: u64 = 200;
const DAVE: u64 = 4;

fn set_role(w: &mut World, by: u64, chat_id: u64, target: u64, role: Role) -> Vec<Effect> {
    let actor = w.actor(by);
    w.command(Command::SetRole(crossing::SetRole { actor, chat_id, target, role }))
}

fn leave(w: &mut World, who: u64, chat_id: u64, successor: u64) -> Vec<Effect> {
    let actor = w.actor(who);
    w.command(Command::RemoveMember(crossing::RemoveMember { actor, chat_id, target: who, successor }))
}

fn remove(w: &mut World, by: u64, chat_id: u64, target: u64) -> Vec<Effect> {
    let actor = w.actor(by);
    w.command(Command::RemoveMember(crossing::RemoveMember { actor, chat_id, target, successor: 0 }))
}

fn ok(fx: &[Effect]) -> bool {
    replies(fx).iter().any(|r| r.1 == fb::Body::Ok)
}

fn events(ops: &[Op]) -> Vec<fb::EventBody> {
    ops.iter()
        .filter_map(|o| if let Op::Append { event, .. } = o { Some(verify::event(event).unwrap().body_type()) } else { None })
        .collect()
}

fn last_ops(w: &World) -> &[Op] {
    &w.commits.submitted.last().unwrap().1
}

/// A channel owned by ALICE with BOB and CAROL subscribed and the handle `news_room`.
fn channel(w: &mut World, settings: Settings) {
    let actor = w.actor(ALICE);
    let info = Info { title: "News".into(), handle: "news_room".into(), settings, ..Info::default() };
    let create = crossing::CreateGroup { actor, chat_id: CHANNEL, kind: ChatKind::Channel, info, members: vec![BOB, CAROL] };
    w.command(Command::CreateGroup(create));
    w.commit_ok(CHANNEL);
}

fn join(w: &mut World, who: u64, chat_id: u64, by: JoinBy) -> Vec<Effect> {
    let actor = w.actor(who);
    w.command(Command::Join(crossing::Join { actor, chat_id, by, join: true }))
}

fn invite(w: &mut World, by: u64, chat_id: u64, code: &str, max_uses: u32, expires_ms: i64) -> Vec<Effect> {
    let actor = w.actor(by);
    w.command(Command::CreateInvite(crossing::CreateInvite { actor, chat_id, code: code.into(), expires_ms, max_uses }))
}

#[test]
fn the_owner_leaves_only_by_handing_the_chat_on() {
    let mut w = World::new();
    w.group();
    assert_eq!(refused(&leave(&mut w, ALICE, GROUP, 0)), ErrorCode::OwnerMustTransfer, "no admin to take over");
    assert_eq!(w.commits.submitted.len(), 1, "nothing written");
    assert_eq!(refused(&leave(&mut w, ALICE, GROUP, CAROL)), ErrorCode::UserNotFound, "a successor must be a member");
    assert!(set_role(&mut w, ALICE, GROUP, BOB, Role::Admin).is_empty());
    assert!(ok(&w.commit_ok(GROUP)));
    assert!(leave(&mut w, ALICE, GROUP, 0).is_empty());
    assert_eq!(events(last_ops(&w)), vec![fb::EventBody::OwnerChanged, fb::EventBody::MemberRemoved], "one commit, two events");
    let fx = w.commit_ok(GROUP);
    assert!(ok(&fx));
    assert_eq!(deliveries(&fx), vec![(3, vec![ALICE, BOB]), (4, vec![ALICE, BOB])], "the leaver hears both");
    let (head, durable) = w.core.views(GROUP).unwrap();
    assert_eq!((head.owner, durable.owner, durable.role(BOB), durable.role(ALICE)), (BOB, BOB, Some(Role::Owner), None));
    // The last member may always leave.
    assert!(leave(&mut w, BOB, GROUP, 0).is_empty());
}

#[test]
fn nobody_takes_a_role_they_were_not_given() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(ALICE);
    w.command(Command::AddMembers(crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL, DAVE] }));
    w.commit_ok(GROUP);
    let writes = w.commits.submitted.len();
    assert_eq!(refused(&set_role(&mut w, BOB, GROUP, BOB, Role::Admin)), ErrorCode::Forbidden, "a member promotes themselves");
    assert_eq!(refused(&set_role(&mut w, BOB, GROUP, CAROL, Role::Admin)), ErrorCode::Forbidden, "a member promotes another");
    assert_eq!(refused(&set_role(&mut w, BOB, GROUP, BOB, Role::Owner)), ErrorCode::Forbidden, "a member takes ownership");
    assert_eq!(refused(&remove(&mut w, BOB, GROUP, ALICE)), ErrorCode::Forbidden, "a member removes the owner");
    assert_eq!(w.commits.submitted.len(), writes, "nothing written");
    // CAROL becomes an admin; an admin may promote but not demote others, nor remove the owner.
    set_role(&mut w, ALICE, GROUP, CAROL, Role::Admin);
    w.commit_ok(GROUP);
    set_role(&mut w, CAROL, GROUP, DAVE, Role::Admin);
    w.commit_ok(GROUP);
    let writes = w.commits.submitted.len();
    assert_eq!(refused(&set_role(&mut w, CAROL, GROUP, DAVE, Role::Member)), ErrorCode::Forbidden, "only the owner demotes");
    assert_eq!(refused(&remove(&mut w, CAROL, GROUP, ALICE)), ErrorCode::Forbidden, "an admin removes the owner");
    assert_eq!(refused(&remove(&mut w, CAROL, GROUP, DAVE)), ErrorCode::Forbidden, "an admin removes an admin");
    assert_eq!(refused(&set_role(&mut w, CAROL, GROUP, CAROL, Role::Owner)), ErrorCode::Forbidden, "an admin takes ownership");
    assert_eq!(w.commits.submitted.len(), writes, "nothing written");
    // An admin steps down; the owner demotes; the owner transfers.
    set_role(&mut w, DAVE, GROUP, DAVE, Role::Member);
    assert!(ok(&w.commit_ok(GROUP)));
    set_role(&mut w, ALICE, GROUP, CAROL, Role::Member);
    assert!(ok(&w.commit_ok(GROUP)));
    set_role(&mut w, ALICE, GROUP, BOB, Role::Owner);
    assert_eq!(events(last_ops(&w)), vec![fb::EventBody::OwnerChanged]);
    w.commit_ok(GROUP);
    let (_, d) = w.core.views(GROUP).unwrap();
    assert_eq!((d.role(ALICE), d.role(BOB), d.role(CAROL), d.role(DAVE)), (Some(Role::Admin), Some(Role::Owner), Some(Role::Member), Some(Role::Member)));
}

#[test]
fn in_a_channel_only_admins_post_and_subscriptions_are_not_log_events() {
    let mut w = World::new();
    channel(&mut w, Settings::default());
    let (_, fx) = w.send(BOB, CHANNEL, "hi");
    assert_eq!(refused(&fx), ErrorCode::Forbidden, "a subscriber posts");
    let (_, fx) = w.send(ALICE, CHANNEL, "news");
    assert!(fx.is_empty());
    assert_eq!(deliveries(&w.commit_ok(CHANNEL)), vec![(2, vec![ALICE, BOB, CAROL])]);
    // DAVE subscribes by handle: no event, a member record from the next seq, a kept count.
    let fx = join(&mut w, DAVE, CHANNEL, JoinBy::Handle("news_room".into()));
    assert!(fx.is_empty());
    let ops = last_ops(&w);
    assert!(events(ops).is_empty(), "a subscription is not an event: {ops:?}");
    assert!(ops.iter().any(|o| matches!(o, Op::PutMember { user_id: DAVE, role: Role::Member, since_seq: 3, .. })));
    assert!(ops.iter().any(|o| matches!(o, Op::PutUserChat { user_id: DAVE, since_seq: 3, .. })));
    assert!(ops.iter().any(|o| matches!(o, Op::PutChatHead { head, .. } if head.member_count == Some(4))));
    let fx = w.commit_ok(CHANNEL);
    assert_eq!(replies(&fx).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::ChatInfo]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Signal(s) if verify::server_frame(&s.frame).unwrap().body_type() == fb::Body::MembershipChanged)));
    assert!(deliveries(&fx).is_empty(), "nobody else hears of it");
    let (_, fx) = w.send(ALICE, CHANNEL, "more");
    assert!(fx.is_empty());
    assert_eq!(deliveries(&w.commit_ok(CHANNEL)), vec![(3, vec![ALICE, BOB, CAROL, DAVE])]);
    // A wrong handle reveals nothing; leaving is no event either.
    assert_eq!(refused(&join(&mut w, 5, CHANNEL, JoinBy::Handle("other_room".into()))), ErrorCode::ChatNotFound);
    leave(&mut w, DAVE, CHANNEL, 0);
    assert!(events(last_ops(&w)).is_empty());
    assert!(ok(&w.commit_ok(CHANNEL)));
    // Promoting a subscriber is an event.
    set_role(&mut w, ALICE, CHANNEL, BOB, Role::Admin);
    assert_eq!(events(last_ops(&w)), vec![fb::EventBody::RoleChanged]);
}

#[test]
fn an_invite_admits_as_many_as_its_limit_and_no_one_after_it_is_revoked_or_expired() {
    let mut w = World::new();
    w.group();
    assert_eq!(refused(&invite(&mut w, BOB, GROUP, "bobs", 0, 0)), ErrorCode::Forbidden, "members do not make links by default");
    invite(&mut w, ALICE, GROUP, "once", 1, 0);
    assert_eq!(replies(&w.commit_ok(GROUP)).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::Invite]);
    // Two at once: the use is counted against the head, before either commits.
    assert!(join(&mut w, CAROL, GROUP, JoinBy::Invite("once".into())).is_empty());
    assert_eq!(events(last_ops(&w)), vec![fb::EventBody::MembersAdded]);
    assert!(last_ops(&w).iter().any(|o| matches!(o, Op::PutInvite(i) if i.uses == 1)));
    assert_eq!(refused(&join(&mut w, DAVE, GROUP, JoinBy::Invite("once".into()))), ErrorCode::InviteUsedUp);
    let fx = w.commit_ok(GROUP);
    assert_eq!(deliveries(&fx), vec![(2, vec![ALICE, BOB, CAROL])]);
    assert_eq!(refused(&join(&mut w, DAVE, GROUP, JoinBy::Invite("nope".into()))), ErrorCode::InviteNotFound);
    // Expired and revoked links.
    let soon = w.clock + 10;
    invite(&mut w, ALICE, GROUP, "soon", 0, soon);
    w.commit_ok(GROUP);
    w.clock += 20;
    assert_eq!(refused(&join(&mut w, DAVE, GROUP, JoinBy::Invite("soon".into()))), ErrorCode::InviteExpired);
    invite(&mut w, ALICE, GROUP, "many", 0, 0);
    w.commit_ok(GROUP);
    let actor = w.actor(BOB);
    let revoke = |actor| Command::RevokeInvite(crossing::RevokeInvite { actor, chat_id: GROUP, code: "many".into() });
    assert_eq!(refused(&w.command(revoke(actor))), ErrorCode::Forbidden, "a member revokes someone else's link");
    let actor = w.actor(ALICE);
    w.command(revoke(actor));
    w.commit_ok(GROUP);
    assert_eq!(refused(&join(&mut w, DAVE, GROUP, JoinBy::Invite("many".into()))), ErrorCode::InviteRevoked);
    let (_, d) = w.core.views(GROUP).unwrap();
    assert!(d.role(DAVE).is_none());
}

#[test]
fn a_chat_that_approves_joins_records_a_request_until_an_admin_answers() {
    let mut w = World::new();
    channel(&mut w, Settings { approve_joins: true, ..Settings::default() });
    assert!(join(&mut w, DAVE, CHANNEL, JoinBy::Handle("news_room".into())).is_empty());
    assert!(last_ops(&w).iter().any(|o| matches!(o, Op::PutJoinRequest { user_id: DAVE, .. })));
    assert_eq!(replies(&w.commit_ok(CHANNEL)).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::JoinPending]);
    assert_eq!(replies(&join(&mut w, DAVE, CHANNEL, JoinBy::Handle("news_room".into()))).iter().map(|r| r.1).collect::<Vec<_>>(), vec![fb::Body::JoinPending]);
    let actor = w.actor(BOB);
    let resolve = |actor, approve| Command::ResolveJoinRequest(crossing::ResolveJoinRequest { actor, chat_id: CHANNEL, user_id: DAVE, approve });
    assert_eq!(refused(&w.command(resolve(actor, true))), ErrorCode::Forbidden, "a subscriber approves");
    let actor = w.actor(ALICE);
    w.command(resolve(actor, true));
    let ops = last_ops(&w);
    assert!(ops.iter().any(|o| matches!(o, Op::RemoveJoinRequest { user_id: DAVE, .. })));
    assert!(ops.iter().any(|o| matches!(o, Op::PutMember { user_id: DAVE, .. })));
    assert!(ok(&w.commit_ok(CHANNEL)));
    let (_, d) = w.core.views(CHANNEL).unwrap();
    assert_eq!((d.role(DAVE), d.requests.len()), (Some(Role::Member), 0));
}

#[test]
fn history_before_joining_is_hidden_when_the_chat_says_so() {
    let mut w = World::new();
    w.group();
    let actor = w.actor(ALICE);
    let settings = Settings { history: fb::HistoryVisibility::SinceJoined, ..Settings::default() };
    let info = Info { settings, ..Info::default() };
    w.command(Command::UpdateChat(crossing::UpdateChat { actor, chat_id: GROUP, fields: magpie_wire::chat::update::SETTINGS, info }));
    w.commit_ok(GROUP);
    w.send(ALICE, GROUP, "before");
    w.commit_ok(GROUP);
    let actor = w.actor(ALICE);
    w.command(Command::AddMembers(crossing::AddMembers { actor, chat_id: GROUP, user_ids: vec![CAROL] }));
    w.commit_ok(GROUP);
    let history = |w: &mut World, who| {
        let actor = w.actor(who);
        let fx = w.command(Command::History(crossing::History { actor, chat_id: GROUP, from_seq: 0, direction: fb::Direction::Backward, limit: 50 }));
        match fx.as_slice() {
            [Effect::ReadHistory { from_min, up_to, .. }] => (*from_min, *up_to),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(history(&mut w, CAROL), (4, 4), "CAROL joined at seq 4");
    assert_eq!(history(&mut w, BOB), (1, 4), "BOB was there from the start");
}

#[test]
fn a_big_chat_lists_a_bounded_page_of_members_and_keeps_its_count() {
    let mut w = World::new();
    channel(&mut w, Settings::default());
    let actor = w.actor(ALICE);
    let many: Vec<u64> = (1000..1500).collect();
    w.command(Command::AddMembers(crossing::AddMembers { actor, chat_id: CHANNEL, user_ids: many }));
    assert!(events(last_ops(&w)).is_empty(), "subscribers added by an admin are no event either");
    w.commit_ok(CHANNEL);
    let info_of = |w: &mut World, who| {
        let actor = w.actor(who);
        let fx = w.command(Command::GetChat(crossing::GetChat { actor, chat_id: CHANNEL }));
        let [Effect::Reply(_, b)] = fx.as_slice() else { panic!("{fx:?}") };
        let f = frame(b);
        let i = f.body_as_chat_info().unwrap();
        (i.member_count(), i.members().unwrap().len(), i.members_complete(), i.my_role())
    };
    assert_eq!(info_of(&mut w, ALICE), (503, 100, false, fb::Role::Owner));
    assert_eq!(info_of(&mut w, BOB), (503, 1, false, fb::Role::Member), "a subscriber sees the owner and admins only");
    let page = |w: &mut World, who, after| {
        let actor = w.actor(who);
        let fx = w.command(Command::ListMembers(crossing::ListMembers { actor, chat_id: CHANNEL, after_user_id: after, limit: 200, admins_only: false }));
        let [Effect::Reply(_, b)] = fx.as_slice() else { panic!("{fx:?}") };
        let f = frame(b);
        let l = f.body_as_member_list().unwrap();
        (l.members().unwrap().iter().map(|m| m.user_id()).collect::<Vec<_>>(), l.has_more())
    };
    let (first, more) = page(&mut w, ALICE, 0);
    assert_eq!((first.len(), first[0], more), (200, ALICE, true));
    let (third, more) = page(&mut w, ALICE, 1396);
    assert_eq!((third.len(), more), (103, false));
    assert_eq!(page(&mut w, BOB, 0).0, vec![ALICE], "subscribers do not page subscribers");
}
