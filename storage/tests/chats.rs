//! Chats against a real store: metadata and the direct-chat index, members and user chats,
//! dedup records and their compaction window.

mod common;

use std::time::Duration;

use magpie_storage::{ChatHead, ChatKind, ChatMeta, DedupRecord, MessageLocation, Op, Role, Store, StoreOptions};

fn group(chat_id: u64, title: &str) -> ChatMeta {
    ChatMeta {
        chat_id,
        kind: ChatKind::Group,
        title: title.into(),
        created_ms: 5,
        created_by: 1, profile: Default::default()
    }
}

#[test]
fn chat_metadata_and_direct_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let c = store.committer();
    let direct = ChatMeta {
        chat_id: 10,
        kind: ChatKind::Direct,
        title: String::new(),
        created_ms: 1,
        created_by: 2, profile: Default::default()
    };
    c.submit_wait(vec![
        Op::PutChat(direct.clone()),
        Op::PutDirect {
            a: 3,
            b: 2,
            chat_id: 10,
        },
        Op::PutChat(group(11, "team")),
    ])
    .unwrap();

    assert_eq!(store.chat(10).unwrap(), Some(direct.clone()));
    assert_eq!(store.chat(12).unwrap(), None);
    assert_eq!(store.direct_chat(2, 3).unwrap(), Some(10));
    assert_eq!(store.direct_chat(3, 2).unwrap(), Some(10));
    assert_eq!(store.direct_chat(2, 4).unwrap(), None);
    assert_eq!(store.list_chats().unwrap(), vec![direct, group(11, "team")]);

    // PutChat replaces (e.g. a title change).
    c.submit_wait(vec![Op::PutChat(group(11, "renamed"))])
        .unwrap();
    assert_eq!(store.chat(11).unwrap().unwrap().title, "renamed");
    assert_eq!(store.stats().unwrap().chats, 2);
}

#[test]
fn members_and_user_chats_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let c = store.committer();
    c.submit_wait(vec![
        Op::PutMember {
            chat_id: 100,
            user_id: 1,
            role: Role::Admin, since_seq: 1
        },
        Op::PutUserChat { user_id: 1, chat_id: 100, since_seq: 1 },
        Op::PutMember {
            chat_id: 100,
            user_id: 2,
            role: Role::Member, since_seq: 1
        },
        Op::PutUserChat { user_id: 2, chat_id: 100, since_seq: 1 },
        Op::PutMember {
            chat_id: 101,
            user_id: 2,
            role: Role::Member, since_seq: 1
        },
        Op::PutUserChat { user_id: 2, chat_id: 101, since_seq: 1 },
        Op::PutMember {
            chat_id: 99,
            user_id: 3,
            role: Role::Member, since_seq: 1
        },
        Op::PutUserChat { user_id: 3, chat_id: 99, since_seq: 1 },
    ])
    .unwrap();
    assert_eq!(
        store.members(100).unwrap(),
        vec![(1, Role::Admin), (2, Role::Member)]
    );
    assert_eq!(store.members(101).unwrap(), vec![(2, Role::Member)]);
    assert_eq!(store.chats_of_user(2).unwrap(), vec![100, 101]);
    assert_eq!(store.chats_of_user(1).unwrap(), vec![100]);
    assert_eq!(store.member_role(100, 1).unwrap(), Some(Role::Admin));
    assert_eq!(store.member_role(100, 3).unwrap(), None);

    // Role change.
    c.submit_wait(vec![Op::PutMember {
        chat_id: 100,
        user_id: 2,
        role: Role::Admin, since_seq: 1
    },
        Op::PutUserChat { user_id: 2, chat_id: 100, since_seq: 1 }])
    .unwrap();
    assert_eq!(store.member_role(100, 2).unwrap(), Some(Role::Admin));
    assert_eq!(store.chats_of_user(2).unwrap(), vec![100, 101]);

    // Removal updates both sides (the chat core writes both ops).
    c.submit_wait(vec![Op::RemoveMember {
        chat_id: 100,
        user_id: 2,
    },
        Op::RemoveUserChat { user_id: 2, chat_id: 100 }])
    .unwrap();
    assert_eq!(store.members(100).unwrap(), vec![(1, Role::Admin)]);
    assert_eq!(store.chats_of_user(2).unwrap(), vec![101]);
    assert_eq!(store.member_role(100, 2).unwrap(), None);

    // Consistency check over everything: members ⇔ user_chats.
    for user in 1..=3 {
        for chat in store.chats_of_user(user).unwrap() {
            assert!(store.members(chat).unwrap().iter().any(|(u, _)| *u == user));
        }
    }
    for chat in [99, 100, 101] {
        for (user, _) in store.members(chat).unwrap() {
            assert!(store.chats_of_user(user).unwrap().contains(&chat));
        }
    }
    // Removing a non-member is a harmless no-op.
    c.submit_wait(vec![Op::RemoveMember {
        chat_id: 5,
        user_id: 5,
    },
        Op::RemoveUserChat { user_id: 5, chat_id: 5 }])
    .unwrap();
}

#[test]
fn dedup_put_and_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let now = common::now_ms();
    store
        .committer()
        .submit_wait(vec![
            common::append(4, 1),
            common::dedup(9, "msg-1", 4, 1, now),
            common::dedup(9, "msg-2", 4, 2, now),
            common::dedup(10, "msg-1", 5, 7, now),
        ])
        .unwrap();
    assert_eq!(
        store.dedup_lookup(9, "msg-1").unwrap(),
        Some(DedupRecord {
            chat_id: 4,
            seq: 1,
            message_id: 10,
            time_ms: now
        })
    );
    assert_eq!(store.dedup_lookup(9, "msg-2").unwrap().unwrap().seq, 2);
    assert_eq!(store.dedup_lookup(10, "msg-1").unwrap().unwrap().chat_id, 5);
    assert_eq!(store.dedup_lookup(9, "msg-3").unwrap(), None);
    assert_eq!(store.dedup_lookup(11, "msg-1").unwrap(), None);
    assert_eq!(store.dedup_lookup(9, "").unwrap(), None);
}

#[test]
fn dedup_entries_outside_the_window_are_compacted_away() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            dedup_window: Duration::from_secs(3600),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let now = common::now_ms();
    store
        .committer()
        .submit_wait(vec![
            common::dedup(1, "old", 1, 1, now - 2 * 3600 * 1000),
            common::dedup(1, "fresh", 1, 2, now - 60 * 1000),
        ])
        .unwrap();
    assert!(store.dedup_lookup(1, "old").unwrap().is_some());
    // Flush (via close) so the entries are in SST files, then compact.
    store.flush_and_close();
    drop(store);
    let store = Store::open(
        dir.path(),
        StoreOptions {
            dedup_window: Duration::from_secs(3600),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.compact().unwrap();
    assert_eq!(store.dedup_lookup(1, "old").unwrap(), None);
    assert_eq!(store.dedup_lookup(1, "fresh").unwrap().unwrap().seq, 2);
}

#[test]
fn chat_heads_message_ids_and_single_events_are_stored_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    assert_eq!(store.chat_head(7).unwrap(), None);
    assert_eq!(store.message_location(900).unwrap(), None);
    let head = ChatHead { at_seq: 2, last_message_seq: 2, member_count: None };
    let location = MessageLocation { chat_id: 7, seq: 2 };
    store
        .committer()
        .submit_wait(vec![
            common::append(7, 1),
            common::append(7, 2),
            Op::PutChatHead { chat_id: 7, head },
            Op::PutMessageId { message_id: 900, location },
        ])
        .unwrap();
    assert_eq!(store.chat_head(7).unwrap(), Some(head));
    assert_eq!(store.message_location(900).unwrap(), Some(location));
    assert_eq!(store.event(7, 2).unwrap(), Some(common::event(7, 2)));
    assert_eq!(store.event(7, 3).unwrap(), None);
    assert_eq!(store.event(8, 2).unwrap(), None);
}
