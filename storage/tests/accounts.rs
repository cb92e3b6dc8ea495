//! Accounts against a real store: users and unique usernames, devices, tokens and revocation.

mod common;

use magpie_storage::StoreError;

#[test]
fn create_and_look_up_users() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let alice = store.create_user("alice", "$argon2id$a", 100).unwrap();
    let bob = store.create_user("bob", "$argon2id$b", 200).unwrap();
    assert!(alice.user_id >= 1);
    assert_ne!(alice.user_id, bob.user_id);
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.password_hash, "$argon2id$a");
    assert_eq!(alice.created_ms, 100);

    assert_eq!(store.user_by_name("alice").unwrap(), Some(alice.clone()));
    assert_eq!(store.user_by_id(bob.user_id).unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_name("carol").unwrap(), None);
    assert_eq!(store.user_by_id(999_999).unwrap(), None);
    assert_eq!(store.list_users().unwrap(), vec![alice, bob]);
}

#[test]
fn username_taken() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    store.create_user("alice", "h1", 1).unwrap();
    assert!(matches!(
        store.create_user("alice", "h2", 2),
        Err(StoreError::UsernameTaken)
    ));
    // Byte-exact comparison: normalisation is the engine's job.
    store.create_user("Alice", "h3", 3).unwrap();
    assert_eq!(store.list_users().unwrap().len(), 2);
    assert_eq!(
        store.user_by_name("alice").unwrap().unwrap().password_hash,
        "h1"
    );
}

#[test]
fn concurrent_sign_ups_for_one_name_yield_one_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || s.create_user("same", &format!("h{i}"), i).is_ok())
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&ok| ok)
        .count();
    assert_eq!(ok, 1);
    assert_eq!(store.list_users().unwrap().len(), 1);
}

#[test]
fn devices_tokens_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let alice = store.create_user("alice", "h", 1).unwrap();
    let bob = store.create_user("bob", "h", 1).unwrap();

    let phone = store
        .create_device(alice.user_id, "phone", [1; 32], 10)
        .unwrap();
    let laptop = store
        .create_device(alice.user_id, "laptop", [2; 32], 11)
        .unwrap();
    let bobs = store.create_device(bob.user_id, "pc", [3; 32], 12).unwrap();
    assert_eq!(phone.user_id, alice.user_id);
    assert_eq!(phone.name, "phone");
    assert_eq!(phone.token_hash, [1; 32]);
    assert_eq!(phone.created_ms, 10);
    assert_ne!(phone.device_id, laptop.device_id);
    // Users and devices share one id space.
    assert_ne!(phone.device_id, alice.user_id);
    assert_ne!(phone.device_id, bob.user_id);

    assert_eq!(store.device(phone.device_id).unwrap(), Some(phone.clone()));
    assert_eq!(
        store.device_by_token_hash(&[2; 32]).unwrap(),
        Some(laptop.clone())
    );
    assert_eq!(store.device_by_token_hash(&[9; 32]).unwrap(), None);
    assert_eq!(
        store.list_devices(alice.user_id).unwrap(),
        vec![phone.clone(), laptop.clone()]
    );
    assert_eq!(store.list_devices(bob.user_id).unwrap(), vec![bobs.clone()]);

    // Duplicate token and unknown user are refused.
    assert!(matches!(
        store.create_device(bob.user_id, "dup", [1; 32], 13),
        Err(StoreError::TokenTaken)
    ));
    assert!(matches!(
        store.create_device(424_242, "x", [7; 32], 13),
        Err(StoreError::UnknownUser(424_242))
    ));

    // Revoking somebody else's device, or a missing one, does nothing.
    assert!(!store.revoke_device(bob.user_id, phone.device_id).unwrap());
    assert!(!store.revoke_device(alice.user_id, 777_777).unwrap());
    assert_eq!(store.device(phone.device_id).unwrap(), Some(phone.clone()));

    assert!(store.revoke_device(alice.user_id, phone.device_id).unwrap());
    assert_eq!(store.device(phone.device_id).unwrap(), None);
    assert_eq!(store.device_by_token_hash(&[1; 32]).unwrap(), None);
    assert_eq!(store.list_devices(alice.user_id).unwrap(), vec![laptop]);
    assert!(!store.revoke_device(alice.user_id, phone.device_id).unwrap());

    // The token hash is free again after revocation.
    let again = store
        .create_device(bob.user_id, "reused", [1; 32], 14)
        .unwrap();
    assert_eq!(store.device_by_token_hash(&[1; 32]).unwrap(), Some(again));

    let stats = store.stats().unwrap();
    assert_eq!(stats.users, 2);
    assert_eq!(stats.devices, 3);
}
