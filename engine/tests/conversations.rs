//! Conversations over the wire, on both transports, with raw frames as an independent client
//! would send them: roles and ownership, channels and handles, invite links, join requests,
//! history visibility, removal, per-user chat state on several devices, and broadcast lists.
//! Every permission rule is tried by someone who may not use it: each gets its stable code,
//! changes nothing, and tells a non-member nothing.

use magpie_testkit::peer::*;
use magpie_testkit::*;
use magpie_wire::chat::{state_fields, update, Info, Settings, State};
use magpie_wire::{encode, fb, verify, ErrorCode};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_take_posts_from_admins_only_and_anyone_may_find_and_join_them() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "ch_alice").await;
        let mut bob = Peer::register(&e, t, "ch_bob").await;
        let mut carol = Peer::register(&e, t, "ch_carol").await;
        let handle = name("daily_news", t);
        let channel = chat_id_of(&alice.ask(create(fb::ChatKind::Channel, "Daily", &[], &handle, Settings::default())).await);
        // The handle is unique.
        assert_eq!(carol.refused(create(fb::ChatKind::Channel, "Copy", &[], &handle, Settings::default())).await, ErrorCode::HandleTaken);
        // Bob finds it, previews it, joins it: a subscriber, told nothing before he joined.
        let preview = bob.ask(|rid| encode::preview_chat(rid, encode::ChatRef::Handle(&handle))).await;
        let pv = verify::server_frame(&preview).unwrap();
        let pv = pv.body_as_chat_preview().unwrap();
        assert_eq!((pv.chat_id(), pv.kind(), pv.member_count(), pv.is_member()), (channel, fb::ChatKind::Channel, 1, false));
        alice.ask(send(channel, "p1", "before bob")).await;
        let joined = bob.ask(|rid| encode::join_chat(rid, encode::ChatRef::Handle(&handle))).await;
        let f = verify::server_frame(&joined).unwrap();
        let info = f.body_as_chat_info().unwrap();
        assert_eq!((info.chat_id(), info.my_role(), info.member_count()), (channel, fb::Role::Member, 2));
        assert_eq!(Settings::from_fb(info.settings()).post, fb::Who::Admins);
        // A subscriber may not post, promote himself or take the channel.
        assert_eq!(bob.refused(send(channel, "b1", "hi")).await, ErrorCode::Forbidden);
        let bob_id = bob.user_id;
        assert_eq!(bob.refused(|rid| encode::set_role(rid, channel, bob_id, fb::Role::Admin)).await, ErrorCode::Forbidden);
        assert_eq!(bob.refused(|rid| encode::transfer_ownership(rid, channel, bob_id)).await, ErrorCode::Forbidden);
        assert_eq!(bob.refused(|rid| encode::set_role(rid, channel, bob_id, fb::Role::Owner)).await, ErrorCode::InvalidArgument);
        // The owner's posts reach him live, with the real sender.
        alice.ask(send(channel, "p2", "after bob")).await;
        let got = bob.push(is_delivery(channel, fb::EventBody::MessageBody)).await;
        let pushes = [got];
        assert_eq!(delivered(&pushes, channel), vec![(3, fb::EventBody::MessageBody, alice.user_id)]);
        let early = bob.drain(Duration::from_millis(200)).await;
        assert!(delivered(&early, channel).iter().all(|d| d.0 >= 3), "nothing from before the join is pushed: {:?}", delivered(&early, channel));
        // Subscribers see the owner and admins only, and page no one else.
        let page = bob.ask(|rid| encode::list_members(rid, channel, 0, 0, false)).await;
        let f = verify::server_frame(&page).unwrap();
        let ids: Vec<u64> = f.body_as_member_list().unwrap().members().unwrap().iter().map(|m| m.user_id()).collect();
        assert_eq!(ids, vec![alice.user_id]);
        // A non-member learns nothing, whether the id is real or guessed.
        for chat in [channel, channel + 1_000_000] {
            assert_eq!(carol.refused(|rid| encode::get_chat(rid, chat)).await, ErrorCode::ChatNotFound);
            assert_eq!(carol.refused(|rid| encode::history(rid, chat, 0, fb::Direction::Backward, 10)).await, ErrorCode::ChatNotFound);
            assert_eq!(carol.refused(send(chat, "c1", "x")).await, ErrorCode::ChatNotFound);
        }
        assert_eq!(carol.refused(|rid| encode::join_chat(rid, encode::ChatRef::Handle("no_such_chat"))).await, ErrorCode::ChatNotFound);
        // Promoted, Bob posts.
        assert_eq!(body(&alice.ask(|rid| encode::set_role(rid, channel, bob.user_id, fb::Role::Admin)).await), fb::Body::Ok);
        assert_eq!(body(&bob.ask(send(channel, "b2", "now I may")).await), fb::Body::SendAck);
    }
    e.shutdown();
}

fn invite_code(reply: &[u8]) -> String {
    let f = verify::server_frame(reply).unwrap();
    f.body_as_invite().unwrap_or_else(|| panic!("Invite, not {:?}", f.body_type())).code().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_links_admit_up_to_their_limit_and_never_once_expired_or_revoked() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "in_alice").await;
        let mut bob = Peer::register(&e, t, "in_bob").await;
        let mut carol = Peer::register(&e, t, "in_carol").await;
        let mut dave = Peer::register(&e, t, "in_dave").await;
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Friends", &[bob.user_id], "", Settings::default())).await);
        // Plain members do not make links (the default), nobody outside does.
        assert_eq!(bob.refused(|rid| encode::create_invite(rid, group, 0, 0)).await, ErrorCode::Forbidden);
        assert_eq!(dave.refused(|rid| encode::create_invite(rid, group, 0, 0)).await, ErrorCode::ChatNotFound);
        let once = invite_code(&alice.ask(|rid| encode::create_invite(rid, group, 0, 1)).await);
        assert_eq!(once.len(), 22);
        let pv = carol.ask(|rid| encode::preview_chat(rid, encode::ChatRef::Invite(&once))).await;
        assert_eq!(body(&pv), fb::Body::ChatPreview);
        assert_eq!(chat_id_of(&carol.ask(|rid| encode::join_chat(rid, encode::ChatRef::Invite(&once))).await), group);
        assert_eq!(dave.refused(|rid| encode::join_chat(rid, encode::ChatRef::Invite(&once))).await, ErrorCode::InviteUsedUp);
        // Carol's devices hear of the join: the MembersAdded event names how.
        let added = carol.push(is_delivery(group, fb::EventBody::MembersAdded)).await;
        let f = verify::server_frame(&added).unwrap();
        let ev = verify::event(f.body_as_deliver().unwrap().event().unwrap().bytes()).unwrap();
        assert_eq!(ev.body_as_members_added().unwrap().via(), fb::JoinedVia::InviteLink);
        // Revoked (only by its creator or an admin) and expired links admit no one.
        let many = invite_code(&alice.ask(|rid| encode::create_invite(rid, group, 0, 0)).await);
        assert_eq!(carol.refused(|rid| encode::revoke_invite(rid, group, &many)).await, ErrorCode::Forbidden);
        assert_eq!(body(&alice.ask(|rid| encode::revoke_invite(rid, group, &many)).await), fb::Body::Ok);
        assert_eq!(dave.refused(|rid| encode::join_chat(rid, encode::ChatRef::Invite(&many))).await, ErrorCode::InviteRevoked);
        let soon = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 + 300;
        let short = invite_code(&alice.ask(|rid| encode::create_invite(rid, group, soon, 0)).await);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(dave.refused(|rid| encode::join_chat(rid, encode::ChatRef::Invite(&short))).await, ErrorCode::InviteExpired);
        assert_eq!(dave.refused(|rid| encode::join_chat(rid, encode::ChatRef::Invite("AAAAAAAAAAAAAAAAAAAAAA"))).await, ErrorCode::InviteNotFound);
        assert_eq!(dave.refused(|rid| encode::get_chat(rid, group)).await, ErrorCode::ChatNotFound, "still not a member");
        // The list shows each link's state to admins only.
        assert_eq!(bob.refused(|rid| encode::list_invites(rid, group)).await, ErrorCode::Forbidden);
        let list = alice.ask(|rid| encode::list_invites(rid, group)).await;
        let f = verify::server_frame(&list).unwrap();
        let invites = f.body_as_invite_list().unwrap().invites().unwrap();
        let state: Vec<(u32, bool)> = invites.iter().map(|i| (i.uses(), i.revoked())).collect();
        assert_eq!(state.len(), 3);
        assert!(state.contains(&(1, false)) && state.contains(&(0, true)));
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_to_join_waits_for_an_admin_and_members_cannot_answer() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "aj_alice").await;
        let mut bob = Peer::register(&e, t, "aj_bob").await;
        let mut dave = Peer::register(&e, t, "aj_dave").await;
        let handle = name("book_club", t);
        let settings = Settings { approve_joins: true, ..Settings::default() };
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Books", &[bob.user_id], &handle, settings)).await);
        let pending = dave.ask(|rid| encode::join_chat(rid, encode::ChatRef::Handle(&handle))).await;
        assert_eq!(body(&pending), fb::Body::JoinPending);
        assert_eq!(dave.refused(|rid| encode::get_chat(rid, group)).await, ErrorCode::ChatNotFound, "not in yet");
        let info = alice.ask(|rid| encode::get_chat(rid, group)).await;
        assert_eq!(verify::server_frame(&info).unwrap().body_as_chat_info().unwrap().pending_requests(), 1);
        assert_eq!(bob.refused(|rid| encode::list_join_requests(rid, group)).await, ErrorCode::Forbidden);
        assert_eq!(bob.refused(|rid| encode::resolve_join_request(rid, group, dave.user_id, true)).await, ErrorCode::Forbidden);
        let list = alice.ask(|rid| encode::list_join_requests(rid, group)).await;
        let f = verify::server_frame(&list).unwrap();
        let users: Vec<u64> = f.body_as_join_request_list().unwrap().requests().unwrap().iter().map(|r| r.user_id()).collect();
        assert_eq!(users, vec![dave.user_id]);
        assert_eq!(body(&alice.ask(|rid| encode::resolve_join_request(rid, group, dave.user_id, true)).await), fb::Body::Ok);
        let info = dave.ask(|rid| encode::get_chat(rid, group)).await;
        assert_eq!(chat_id_of(&info), group);
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_is_handed_on_never_lost_and_a_removed_member_receives_nothing() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "ow_alice").await;
        let mut bob = Peer::register(&e, t, "ow_bob").await;
        let mut carol = Peer::register(&e, t, "ow_carol").await;
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Team", &[bob.user_id, carol.user_id], "", Settings::default())).await);
        assert_eq!(alice.refused(|rid| encode::leave_chat(rid, group)).await, ErrorCode::OwnerMustTransfer);
        assert_eq!(bob.refused(|rid| encode::remove_member(rid, group, alice.user_id)).await, ErrorCode::Forbidden);
        // Bob, an admin, still cannot remove the owner or demote another admin.
        alice.ask(|rid| encode::set_role(rid, group, bob.user_id, fb::Role::Admin)).await;
        alice.ask(|rid| encode::set_role(rid, group, carol.user_id, fb::Role::Admin)).await;
        assert_eq!(bob.refused(|rid| encode::remove_member(rid, group, alice.user_id)).await, ErrorCode::Forbidden);
        assert_eq!(bob.refused(|rid| encode::set_role(rid, group, carol.user_id, fb::Role::Member)).await, ErrorCode::Forbidden);
        assert_eq!(bob.refused(|rid| encode::remove_member(rid, group, carol.user_id)).await, ErrorCode::Forbidden);
        // Alice leaves naming Carol: ownership passes in the same request.
        assert_eq!(body(&alice.ask(|rid| encode::leave_chat_to(rid, group, carol.user_id)).await), fb::Body::Ok);
        let info = carol.ask(|rid| encode::get_chat(rid, group)).await;
        let f = verify::server_frame(&info).unwrap();
        let i = f.body_as_chat_info().unwrap();
        assert_eq!((i.my_role(), i.member_count()), (fb::Role::Owner, 2));
        // Carol removes Bob; Bob's phone and a second device of his get nothing after that.
        let mut bob2 = Peer::login(&e, t, "ow_bob", "laptop").await;
        assert_eq!(body(&carol.ask(|rid| encode::remove_member(rid, group, bob.user_id)).await), fb::Body::Ok);
        bob.push(is_delivery(group, fb::EventBody::MemberRemoved)).await;
        bob2.push(is_delivery(group, fb::EventBody::MemberRemoved)).await;
        carol.ask(send(group, "after", "bob must not see this")).await;
        for p in [&mut bob, &mut bob2] {
            let later = p.drain(Duration::from_millis(300)).await;
            assert!(delivered(&later, group).iter().all(|d| d.1 != fb::EventBody::MessageBody), "a removed member got {:?}", delivered(&later, group));
            assert_eq!(p.refused(|rid| encode::history(rid, group, 0, fb::Direction::Backward, 50)).await, ErrorCode::ChatNotFound);
            assert_eq!(p.refused(send(group, "x", "let me in")).await, ErrorCode::ChatNotFound);
        }
        // Re-added later, Bob is pushed only what follows his return.
        carol.ask(|rid| encode::add_members(rid, group, &[bob.user_id])).await;
        let back = bob.push(is_delivery(group, fb::EventBody::MembersAdded)).await;
        let pushes = [back];
        let (rejoin, _, _) = delivered(&pushes, group)[0];
        let more = bob.drain(Duration::from_millis(300)).await;
        assert!(delivered(&more, group).iter().all(|d| d.0 > rejoin), "nothing from while he was away: {:?}", delivered(&more, group));
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_from_before_joining_follows_the_chat_setting() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "hv_alice").await;
        let mut carol = Peer::register(&e, t, "hv_carol").await;
        let hidden = Settings { history: fb::HistoryVisibility::SinceJoined, ..Settings::default() };
        for (settings, sees_old) in [(hidden, false), (Settings::default(), true)] {
            let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "H", &[], "", settings)).await);
            for i in 0..3 {
                alice.ask(send(group, &format!("old{i}{sees_old}"), "old")).await;
            }
            alice.ask(|rid| encode::add_members(rid, group, &[carol.user_id])).await;
            alice.ask(send(group, &format!("new{sees_old}"), "new")).await;
            let page = carol.ask(|rid| encode::history(rid, group, 0, fb::Direction::Backward, 50)).await;
            let f = verify::server_frame(&page).unwrap();
            let p = f.body_as_history_page().unwrap();
            let seqs: Vec<u64> = p.events().unwrap().iter().map(|b| verify::event(b.event().unwrap().bytes()).unwrap().seq()).collect();
            if sees_old {
                assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
            } else {
                assert_eq!((seqs, p.has_more()), (vec![5, 6], false), "from her join on");
            }
            // Her devices are pushed only what follows her join, whatever the setting.
            let pushed = carol.drain(Duration::from_millis(300)).await;
            assert!(delivered(&pushed, group).iter().all(|d| d.0 >= 5), "{:?}", delivered(&pushed, group));
        }
    }
    e.shutdown();
}

fn state_of(reply: &[u8]) -> (u64, State) {
    let f = verify::server_frame(reply).unwrap();
    let s = f.body_as_chat_state_changed().unwrap_or_else(|| panic!("ChatStateChanged, not {:?}", f.body_type()));
    (s.chat_id(), State::from_fb(s.state()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_state_follows_the_user_to_every_device_and_orders_the_chat_list() {
    let e = start();
    for t in transports() {
        let mut phone = Peer::register(&e, t, "st_alice").await;
        let mut laptop = Peer::login(&e, t, "st_alice", "laptop").await;
        let mut chats = Vec::new();
        for i in 0..11 {
            chats.push(chat_id_of(&phone.ask(create(fb::ChatKind::Group, &format!("c{i}"), &[], "", Settings::default())).await));
        }
        // Activity: the last chat created is the newest; a message makes chats[0] newer still.
        // (Activity has millisecond resolution: make sure the bump is later than every creation.)
        tokio::time::sleep(Duration::from_millis(5)).await;
        phone.ask(send(chats[0], "m", "bump")).await;
        let pin = |c| move |rid| encode::set_chat_state(rid, c, state_fields::PINNED, &State { pin_rank: 1, ..State::default() });
        let (_, s) = state_of(&phone.ask(pin(chats[5])).await);
        assert!(s.pin_rank > 0);
        let pushed = laptop.push(|f| f.body_type() == fb::Body::ChatStateChanged).await;
        assert_eq!(state_of(&pushed), (chats[5], s), "the other device is told at once");
        let muted = State { muted_until_ms: i64::MAX, ..State::default() };
        phone.ask(|rid| encode::set_chat_state(rid, chats[3], state_fields::MUTED_UNTIL, &muted)).await;
        phone.ask(|rid| encode::set_chat_state(rid, chats[7], state_fields::ARCHIVED, &State { archived: true, ..State::default() })).await;
        // A device that connects later finds it all in the chat list.
        let mut tablet = Peer::login(&e, t, "st_alice", "tablet").await;
        let list = tablet.ask(|rid| encode::list_chats_by_activity(rid, false, 0, 0, 4)).await;
        let f = verify::server_frame(&list).unwrap();
        let l = f.body_as_chat_list().unwrap();
        let rows: Vec<(u64, State)> = l.chats().unwrap().iter().map(|c| (c.chat_id(), State::from_fb(c.state()))).collect();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![chats[5], chats[0], chats[10], chats[9]], "pinned first, then by activity");
        assert!(l.has_more());
        let last = l.chats().unwrap().get(3);
        let next = tablet.ask(|rid| encode::list_chats_by_activity(rid, false, last.last_activity_ms(), last.chat_id(), 100)).await;
        let f = verify::server_frame(&next).unwrap();
        let rest: Vec<u64> = f.body_as_chat_list().unwrap().chats().unwrap().iter().map(|c| c.chat_id()).collect();
        assert_eq!(rest, vec![chats[8], chats[6], chats[4], chats[3], chats[2], chats[1]], "archived chats live apart");
        let archived = tablet.ask(|rid| encode::list_chats_by_activity(rid, true, 0, 0, 100)).await;
        let f = verify::server_frame(&archived).unwrap();
        assert_eq!(f.body_as_chat_list().unwrap().chats().unwrap().iter().map(|c| c.chat_id()).collect::<Vec<_>>(), vec![chats[7]]);
        let muted_row = f.body_as_chat_list().unwrap().chats().unwrap().get(0);
        assert!(muted_row.state().is_some_and(|s| s.archived()));
        // Ten pins at most; reordering names exactly the pinned chats.
        for &c in &chats[..10] {
            phone.ask(pin(c)).await;
        }
        assert_eq!(phone.refused(pin(chats[10])).await, ErrorCode::LimitReached);
        assert_eq!(phone.refused(|rid| encode::reorder_pinned(rid, &[chats[0]])).await, ErrorCode::InvalidArgument);
        // Pinned now: chats[0..10]; put them in reverse order of creation.
        let pinned: Vec<u64> = chats[..10].iter().rev().copied().collect();
        assert_eq!(body(&phone.ask(|rid| encode::reorder_pinned(rid, &pinned)).await), fb::Body::Ok);
        let list = laptop.ask(|rid| encode::list_chats_by_activity(rid, false, 0, 0, 1)).await;
        let f = verify::server_frame(&list).unwrap();
        let first: Vec<u64> = f.body_as_chat_list().unwrap().chats().unwrap().iter().map(|c| c.chat_id()).collect();
        // chats[7] is archived: pinned but listed with the archived ones.
        let expected: Vec<u64> = pinned.iter().copied().filter(|&c| c != chats[7]).collect();
        assert_eq!(expected.len(), 9);
        assert_eq!(first, expected, "every pinned chat on the first page, in the new order");
        // State of a chat one is not in is refused.
        let mut other = Peer::register(&e, t, "st_bob").await;
        assert_eq!(other.refused(pin(chats[0])).await, ErrorCode::ChatNotFound);
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_is_a_separate_message_in_each_direct_chat_and_a_retry_duplicates_nothing() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "bc_alice").await;
        let mut bob = Peer::register(&e, t, "bc_bob").await;
        let mut carol = Peer::register(&e, t, "bc_carol").await;
        // Bob already has a direct chat with Alice; Carol does not.
        let direct = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, bob.user_id, "")).await);
        let saved = alice.ask(|rid| encode::save_broadcast_list(rid, 0, "Family", &[bob.user_id, carol.user_id])).await;
        let f = verify::server_frame(&saved).unwrap();
        let list_id = f.body_as_broadcast_list().unwrap().list_id();
        let me = alice.user_id;
        assert_eq!(alice.refused(|rid| encode::save_broadcast_list(rid, 0, "Me", &[me])).await, ErrorCode::InvalidArgument);
        assert_eq!(bob.refused(|rid| encode::send_broadcast(rid, list_id, "b", "not mine")).await, ErrorCode::InvalidArgument);
        let results = |reply: &[u8]| -> Vec<(u64, u64, u64, u16)> {
            let f = verify::server_frame(reply).unwrap();
            let a = f.body_as_broadcast_ack().unwrap_or_else(|| panic!("BroadcastAck, not {:?}", f.body_type()));
            a.results().unwrap().iter().map(|r| (r.user_id(), r.chat_id(), r.seq(), r.error_code())).collect()
        };
        let first = results(&alice.ask(|rid| encode::send_broadcast(rid, list_id, "hello-all", "Dinner at 8")).await);
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|r| r.3 == 0 && r.1 != 0), "{first:?}");
        assert_eq!(first[0].1, direct, "Bob's message lands in the existing direct chat");
        let again = results(&alice.ask(|rid| encode::send_broadcast(rid, list_id, "hello-all", "Dinner at 8")).await);
        assert_eq!(again, first, "a retry gets the same results");
        for (p, r) in [(&mut bob, first[0]), (&mut carol, first[1])] {
            p.push(is_delivery(r.1, fb::EventBody::MessageBody)).await;
            let more = p.drain(Duration::from_millis(300)).await;
            let messages = delivered(&more, r.1).into_iter().filter(|d| d.1 == fb::EventBody::MessageBody).count();
            assert_eq!(messages, 0, "one message each, no duplicate");
        }
        let lists = alice.ask(encode::list_broadcast_lists).await;
        assert_eq!(verify::server_frame(&lists).unwrap().body_as_broadcast_lists().unwrap().lists().unwrap().len(), 1);
        assert_eq!(body(&alice.ask(|rid| encode::delete_broadcast_list(rid, list_id)).await), fb::Body::Ok);
    }
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_info_changes_are_events_and_only_those_allowed_make_them() {
    let e = start();
    for t in transports() {
        let mut alice = Peer::register(&e, t, "up_alice").await;
        let mut bob = Peer::register(&e, t, "up_bob").await;
        let group = chat_id_of(&alice.ask(create(fb::ChatKind::Group, "Old", &[bob.user_id], "", Settings::default())).await);
        let info = Info { title: "New".into(), description: "About us".into(), ..Info::default() };
        assert_eq!(bob.refused(|rid| encode::update_chat(rid, group, update::TITLE, &info)).await, ErrorCode::Forbidden);
        let open = Info { settings: Settings { change_info: fb::Who::Members, post: fb::Who::Admins, ..Settings::default() }, ..Info::default() };
        assert_eq!(bob.refused(|rid| encode::update_chat(rid, group, update::SETTINGS, &open)).await, ErrorCode::Forbidden);
        assert_eq!(body(&alice.ask(|rid| encode::update_chat(rid, group, update::SETTINGS, &open)).await), fb::Body::Ok);
        // Now members change the info, but only admins post.
        assert_eq!(body(&bob.ask(|rid| encode::update_chat(rid, group, update::TITLE | update::DESCRIPTION, &info)).await), fb::Body::Ok);
        assert_eq!(bob.refused(send(group, "b", "hi")).await, ErrorCode::Forbidden);
        let updated = alice.push(is_delivery(group, fb::EventBody::ChatUpdated)).await;
        let _ = updated;
        let got = alice.ask(|rid| encode::get_chat(rid, group)).await;
        let f = verify::server_frame(&got).unwrap();
        let i = f.body_as_chat_info().unwrap();
        assert_eq!((i.title(), i.description()), (Some("New"), Some("About us")));
        assert_eq!(alice.refused(|rid| encode::update_chat(rid, group, update::HANDLE, &Info { handle: "Bad Handle".into(), ..Info::default() })).await, ErrorCode::InvalidArgument);
        // Direct chats have no info to change.
        let direct = chat_id_of(&alice.ask(|rid| encode::create_direct(rid, bob.user_id, "")).await);
        assert_eq!(alice.refused(|rid| encode::update_chat(rid, direct, update::TITLE, &info)).await, ErrorCode::NotAGroup);
    }
    e.shutdown();
}
