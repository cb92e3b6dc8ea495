//! What survives reopening a store: everything written, unique ids, checkpoints, and read-only
//! opens.

mod common;

use std::collections::HashSet;
use std::path::Path;

use magpie_storage::{ChatKind, ChatMeta, Op, Role, Store, StoreError, ID_BLOCK};

/// Writes one of everything and returns what to expect back.
fn populate(store: &Store) -> (u64, u64, u64) {
    let alice = store.create_user("alice", "hash-a", 1).unwrap();
    let bob = store.create_user("bob", "hash-b", 2).unwrap();
    let dev = store
        .create_device(alice.user_id, "phone", [5; 32], 3)
        .unwrap();
    let chat = store.allocate_ids(1).unwrap().start;
    store
        .committer()
        .submit_wait(vec![
            Op::PutChat(ChatMeta {
                chat_id: chat,
                kind: ChatKind::Direct,
                title: String::new(),
                created_ms: 4,
                created_by: alice.user_id, profile: Default::default()
            }),
            Op::PutDirect {
                a: alice.user_id,
                b: bob.user_id,
                chat_id: chat,
            },
            Op::PutMember {
                chat_id: chat,
                user_id: alice.user_id,
                role: Role::Member, since_seq: 1
            },
        Op::PutUserChat { user_id: alice.user_id, chat_id: chat, since_seq: 1 },
            Op::PutMember {
                chat_id: chat,
                user_id: bob.user_id,
                role: Role::Member, since_seq: 1
            },
        Op::PutUserChat { user_id: bob.user_id, chat_id: chat, since_seq: 1 },
            common::append(chat, 1),
            common::append(chat, 2),
            common::dedup(dev.device_id, "c1", chat, 1, common::now_ms()),
        ])
        .unwrap();
    (alice.user_id, bob.user_id, chat)
}

fn verify(store: &Store, (alice, bob, chat): (u64, u64, u64)) {
    assert_eq!(store.user_by_name("alice").unwrap().unwrap().user_id, alice);
    assert_eq!(
        store.user_by_id(bob).unwrap().unwrap().password_hash,
        "hash-b"
    );
    let dev = store.device_by_token_hash(&[5; 32]).unwrap().unwrap();
    assert_eq!(dev.user_id, alice);
    assert_eq!(store.list_devices(alice).unwrap(), vec![dev.clone()]);
    assert_eq!(store.chat(chat).unwrap().unwrap().kind, ChatKind::Direct);
    assert_eq!(store.direct_chat(bob, alice).unwrap(), Some(chat));
    assert_eq!(
        store.members(chat).unwrap(),
        vec![(alice, Role::Member), (bob, Role::Member)]
    );
    assert_eq!(store.chats_of_user(bob).unwrap(), vec![chat]);
    assert_eq!(store.last_seq(chat).unwrap(), 2);
    assert_eq!(
        store.read_forward(chat, 0, 10).unwrap(),
        vec![(1, common::event(chat, 1)), (2, common::event(chat, 2))]
    );
    assert_eq!(
        store
            .dedup_lookup(dev.device_id, "c1")
            .unwrap()
            .unwrap()
            .seq,
        1
    );
    let stats = store.stats().unwrap();
    assert_eq!((stats.users, stats.devices, stats.chats), (2, 1, 1));
}

#[test]
fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let store = common::open(dir.path());
        populate(&store)
        // dropped here without an explicit close
    };
    let store = common::open(dir.path());
    verify(&store, expected);
}

#[test]
fn reopen_after_flush_and_close_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let expected = populate(&store);
    store.flush_and_close();
    drop(store);
    let store = common::open(dir.path());
    verify(&store, expected);
    assert!(store.stats().unwrap().sst_bytes > 0);
}

#[test]
fn ids_are_unique_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = HashSet::new();
    let take = |seen: &mut HashSet<u64>, ids: Vec<u64>| {
        for id in ids {
            assert!(id >= 1);
            assert!(seen.insert(id), "id {id} handed out twice");
        }
    };
    for round in 0..4 {
        let store = common::open(dir.path());
        take(&mut seen, store.allocate_ids(1).unwrap().collect());
        take(&mut seen, store.allocate_ids(10).unwrap().collect());
        take(
            &mut seen,
            store.allocate_ids(ID_BLOCK + 7).unwrap().collect(),
        );
        assert!(store.allocate_ids(0).unwrap().is_empty());
        let user = store.create_user(&format!("u{round}"), "h", 0).unwrap();
        take(&mut seen, vec![user.user_id]);
        // Alternate clean closes and plain drops.
        if round % 2 == 0 {
            store.flush_and_close();
        }
    }
    assert!(seen.contains(&1), "the first id ever is 1");

    // Concurrent allocation within one process.
    let store = common::open(dir.path());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = store.clone();
            std::thread::spawn(move || {
                (0..500)
                    .flat_map(|_| s.allocate_ids(3).unwrap())
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    for h in handles {
        take(&mut seen, h.join().unwrap());
    }
    assert_eq!(
        seen.len() as u64,
        4 * (1 + 10 + ID_BLOCK + 7 + 1) + 4 * 500 * 3
    );
}

#[test]
fn checkpoint_opens_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let backup_parent = tempfile::tempdir().unwrap();
    let backup = backup_parent.path().join("ckpt");
    let store = common::open(dir.path());
    let expected = populate(&store);
    store.checkpoint(&backup).unwrap();
    // Writes after the checkpoint are not in it.
    store.create_user("carol", "h", 9).unwrap();

    let copy = Store::open_read_only(&backup).unwrap();
    verify(&copy, expected);
    assert_eq!(copy.user_by_name("carol").unwrap(), None);
    drop(copy);
    let copy = common::open(&backup);
    verify(&copy, expected);
    // Ids keep increasing in the copy too.
    assert!(copy.allocate_ids(1).unwrap().start > expected.2);
}

#[test]
fn read_only_store_reads_but_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let store = common::open(dir.path());
        populate(&store)
    };
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert!(ro.is_read_only());
    verify(&ro, expected);
    assert!(matches!(
        ro.create_user("x", "h", 0),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(ro.allocate_ids(1), Err(StoreError::ReadOnly)));
    assert!(matches!(
        ro.create_device(expected.0, "d", [0; 32], 0),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(ro.revoke_device(1, 1), Err(StoreError::ReadOnly)));
    assert!(matches!(
        ro.committer().submit_wait(vec![common::append(1, 1)]),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(ro.compact(), Err(StoreError::ReadOnly)));
}

#[test]
fn read_only_open_of_a_missing_store_fails() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Store::open_read_only(&dir.path().join("nope")).is_err());
    assert!(!Path::new(&dir.path().join("nope")).exists());
}
