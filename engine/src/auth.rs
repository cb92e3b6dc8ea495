//! Passwords and device tokens: the engine's names for `magpie_storage::credentials`, the one
//! implementation that `magpiectl` and the load generator's seeding use too (so every account
//! verifies the same way wherever it was written). Everything there is CPU-heavy, so the engine
//! calls it on the blocking pool, never on a shard thread.

pub(crate) use magpie_storage::credentials::{dummy_hash, hash_password, new_token, token_hash, verify_password};
