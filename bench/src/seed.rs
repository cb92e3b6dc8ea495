//! Accounts written straight into the engine's store before it starts.
//!
//! Registering costs an argon2id hash on the engine (~40 ms of a core): 10,000 clients would
//! spend minutes registering before a run could start, and 100,000 most of an hour. A deployed
//! engine pays that once per account, not per connection, so the scenarios sign in the way
//! returning clients do — with a device token — from accounts written here through the storage
//! API (the same records a registration writes). `--accounts register` keeps the old path.
//!
//! Seeded accounts have no usable password (their hash is not a PHC string, so a password login
//! fails); they sign in only with their token.

use magpie_storage::{credentials, Durability, Store, StoreOptions};
use std::path::Path;

/// The stored "password hash" of seeded accounts: never matches any password.
const NO_PASSWORD: &str = "!seeded-by-magpie-bench";

pub fn username(i: usize) -> String {
    format!("bench{i:06}")
}

/// Creates `n` accounts with one device each in the store at `db_dir` (which must not be open
/// elsewhere) and returns each client's device token, indexed like the clients.
pub fn seed_accounts(db_dir: &Path, n: usize) -> Result<Vec<String>, String> {
    let store = Store::open(db_dir, StoreOptions { durability: Durability::ProcessCrash, ..StoreOptions::default() })
        .map_err(|e| format!("opening {} to seed accounts: {e}", db_dir.display()))?;
    // Tokens and their stored hashes exactly as the engine makes them at registration.
    let tokens: Vec<String> = (0..n).map(|_| credentials::new_token()).collect();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
    // Account writes are fsynced one by one; concurrent writers share RocksDB's group commit,
    // so a few dozen threads turn ~2n fsyncs into ~2n/threads.
    let threads = 32.min(n.max(1));
    let result: Result<(), String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (store, tokens) = (&store, &tokens);
                s.spawn(move || -> Result<(), String> {
                    for i in (t..n).step_by(threads) {
                        let user = store.create_user(&username(i), NO_PASSWORD, now_ms).map_err(|e| format!("seeding user {i}: {e}"))?;
                        store.create_device(user.user_id, "bench", credentials::token_hash(&tokens[i]), now_ms).map_err(|e| format!("seeding device {i}: {e}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| "a seeding thread panicked".to_string())?)
    });
    store.flush_and_close();
    result.map(|()| tokens)
}
