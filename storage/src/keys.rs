//! Key layouts of every column family.
//!
//! All integers in keys are big-endian so that RocksDB's bytewise order is numeric order:
//! a chat's log is one contiguous, seq-ordered range (`chat_id ‖ seq`), a chat's members are
//! one range (`chat_id ‖ user_id`), and so on. Composite keys whose first component is an id
//! share an 8-byte prefix, which is what the prefix extractor / prefix bloom filters of the
//! `log`, `members`, `user_chats` and `user_devices` column families are built on.
//!
//! Decoders verify lengths and return [`CodecError`] instead of panicking.

use crate::codec::{CodecError, CodecResult};

/// Length of the id prefix shared by composite keys.
pub const ID_PREFIX_LEN: usize = 8;

/// Key of a single-id record (`users`, `devices`, `chats`): the id, big-endian.
pub fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Decodes a single-id key.
pub fn decode_id_key(key: &[u8], what: &'static str) -> CodecResult<u64> {
    let arr: [u8; 8] = key.try_into().map_err(|_| CodecError::KeyLength {
        what,
        len: key.len(),
    })?;
    Ok(u64::from_be_bytes(arr))
}

fn pair_key(a: u64, b: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&a.to_be_bytes());
    k[8..].copy_from_slice(&b.to_be_bytes());
    k
}

fn decode_pair_key(key: &[u8], what: &'static str) -> CodecResult<(u64, u64)> {
    if key.len() != 16 {
        return Err(CodecError::KeyLength {
            what,
            len: key.len(),
        });
    }
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&key[..8]);
    b.copy_from_slice(&key[8..]);
    Ok((u64::from_be_bytes(a), u64::from_be_bytes(b)))
}

/// `log` key: `chat_id ‖ seq`.
pub fn log_key(chat_id: u64, seq: u64) -> [u8; 16] {
    pair_key(chat_id, seq)
}

/// Decodes a `log` key into `(chat_id, seq)`.
pub fn decode_log_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "log")
}

/// `members` key: `chat_id ‖ user_id`.
pub fn member_key(chat_id: u64, user_id: u64) -> [u8; 16] {
    pair_key(chat_id, user_id)
}

/// Decodes a `members` key into `(chat_id, user_id)`.
pub fn decode_member_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "members")
}

/// `user_chats` key: `user_id ‖ chat_id` (the reverse index of `members`).
pub fn user_chat_key(user_id: u64, chat_id: u64) -> [u8; 16] {
    pair_key(user_id, chat_id)
}

/// Decodes a `user_chats` key into `(user_id, chat_id)`.
pub fn decode_user_chat_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "user_chats")
}

/// `user_devices` key: `user_id ‖ device_id` (index for [`crate::Store::list_devices`]).
pub fn user_device_key(user_id: u64, device_id: u64) -> [u8; 16] {
    pair_key(user_id, device_id)
}

/// Decodes a `user_devices` key into `(user_id, device_id)`.
pub fn decode_user_device_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "user_devices")
}

/// `directs` key: `min(a, b) ‖ max(a, b)`, so the lookup is order-insensitive.
pub fn direct_key(a: u64, b: u64) -> [u8; 16] {
    pair_key(a.min(b), a.max(b))
}

/// Decodes a `directs` key into `(min_user, max_user)`; rejects keys not in that order.
pub fn decode_direct_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    let (a, b) = decode_pair_key(key, "directs")?;
    if a > b {
        return Err(CodecError::InvalidKey {
            what: "directs (users not in ascending order)",
        });
    }
    Ok((a, b))
}

/// `dedup` key: `device_id ‖ client_msg_id bytes` (the id is the rest of the key, so no
/// length prefix is needed).
pub fn dedup_key(device_id: u64, client_msg_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + client_msg_id.len());
    k.extend_from_slice(&device_id.to_be_bytes());
    k.extend_from_slice(client_msg_id.as_bytes());
    k
}

/// Decodes a `dedup` key into `(device_id, client_msg_id)`.
pub fn decode_dedup_key(key: &[u8]) -> CodecResult<(u64, &str)> {
    if key.len() < 8 {
        return Err(CodecError::KeyLength {
            what: "dedup",
            len: key.len(),
        });
    }
    let (dev, id) = key.split_at(8);
    let device_id = decode_id_key(dev, "dedup")?;
    let id = std::str::from_utf8(id).map_err(|_| CodecError::Utf8 {
        what: "client_msg_id",
    })?;
    Ok((device_id, id))
}

/// `chat_prefs` key: `user_id ‖ chat_id` (one user's state of one chat).
pub fn chat_prefs_key(user_id: u64, chat_id: u64) -> [u8; 16] {
    pair_key(user_id, chat_id)
}

/// Decodes a `chat_prefs` key into `(user_id, chat_id)`.
pub fn decode_chat_prefs_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "chat_prefs")
}

/// `join_requests` key: `chat_id ‖ user_id`.
pub fn join_request_key(chat_id: u64, user_id: u64) -> [u8; 16] {
    pair_key(chat_id, user_id)
}

/// Decodes a `join_requests` key into `(chat_id, user_id)`.
pub fn decode_join_request_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "join_requests")
}

/// `broadcast_lists` key: `user_id ‖ list_id`.
pub fn broadcast_list_key(user_id: u64, list_id: u64) -> [u8; 16] {
    pair_key(user_id, list_id)
}

/// `invites` key: `chat_id ‖ code bytes` (a chat's links are one range).
pub fn invite_key(chat_id: u64, code: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + code.len());
    k.extend_from_slice(&chat_id.to_be_bytes());
    k.extend_from_slice(code.as_bytes());
    k
}

/// `invite_codes` and `handles` keys: the code's or handle's bytes.
pub fn name_key(name: &str) -> &[u8] {
    name.as_bytes()
}

/// `usernames` key: the username's UTF-8 bytes.
pub fn username_key(username: &str) -> &[u8] {
    username.as_bytes()
}

/// `tokens` key: the 32-byte token hash.
pub fn token_key(token_hash: &[u8; 32]) -> &[u8] {
    token_hash
}

/// `message_states` and `pins` key: `chat_id ‖ seq`.
pub fn message_key(chat_id: u64, seq: u64) -> [u8; 16] {
    pair_key(chat_id, seq)
}

/// Decodes a `message_states` or `pins` key into `(chat_id, seq)`.
pub fn decode_message_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "message")
}

fn triple_key(a: u64, b: u64, c: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&a.to_be_bytes());
    k[8..16].copy_from_slice(&b.to_be_bytes());
    k[16..].copy_from_slice(&c.to_be_bytes());
    k
}

fn decode_triple_key(key: &[u8], what: &'static str) -> CodecResult<(u64, u64, u64)> {
    if key.len() != 24 {
        return Err(CodecError::KeyLength { what, len: key.len() });
    }
    let part = |i: usize| u64::from_be_bytes(key[i..i + 8].try_into().expect("8 bytes"));
    Ok((part(0), part(8), part(16)))
}

/// `reactions` key: `chat_id ‖ seq ‖ user_id` (one message's reactions are one range, by user).
pub fn reaction_key(chat_id: u64, seq: u64, user_id: u64) -> [u8; 24] {
    triple_key(chat_id, seq, user_id)
}

/// Decodes a `reactions` key into `(chat_id, seq, user_id)`.
pub fn decode_reaction_key(key: &[u8]) -> CodecResult<(u64, u64, u64)> {
    decode_triple_key(key, "reaction")
}

/// `hidden` key: `user_id ‖ chat_id ‖ seq` (one user's hidden messages of a chat are one range).
pub fn hidden_key(user_id: u64, chat_id: u64, seq: u64) -> [u8; 24] {
    triple_key(user_id, chat_id, seq)
}

/// Decodes a `hidden` key into `(user_id, chat_id, seq)`.
pub fn decode_hidden_key(key: &[u8]) -> CodecResult<(u64, u64, u64)> {
    decode_triple_key(key, "hidden")
}

/// `mentions` key: `user_id ‖ message_id` (message ids grow with time: newest last).
pub fn mention_key(user_id: u64, message_id: u64) -> [u8; 16] {
    pair_key(user_id, message_id)
}

/// Decodes a `mentions` key into `(user_id, message_id)`.
pub fn decode_mention_key(key: &[u8]) -> CodecResult<(u64, u64)> {
    decode_pair_key(key, "mention")
}

/// `meta` key holding the id allocator's persisted high-water mark.
pub const META_ID_LIMIT: &[u8] = b"id_limit";

/// Iteration bounds `[lower, upper)` covering every composite key whose 8-byte prefix is
/// `id`. `upper` is `None` for `u64::MAX` (no larger prefix exists).
pub fn prefix_bounds(id: u64) -> ([u8; 8], Option<[u8; 8]>) {
    (id.to_be_bytes(), id.checked_add(1).map(u64::to_be_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_keys_round_trip_and_sort_numerically() {
        assert_eq!(decode_log_key(&log_key(5, 9)).unwrap(), (5, 9));
        assert_eq!(decode_member_key(&member_key(1, 2)).unwrap(), (1, 2));
        assert_eq!(decode_user_chat_key(&user_chat_key(3, 4)).unwrap(), (3, 4));
        assert_eq!(
            decode_user_device_key(&user_device_key(u64::MAX, 0)).unwrap(),
            (u64::MAX, 0)
        );
        assert!(log_key(1, 255) < log_key(1, 256));
        assert!(log_key(1, u64::MAX) < log_key(2, 0));
        for bad in [&[][..], &[0; 15][..], &[0; 17][..]] {
            assert!(decode_log_key(bad).is_err());
            assert!(decode_member_key(bad).is_err());
        }
    }

    #[test]
    fn direct_key_is_order_insensitive() {
        assert_eq!(direct_key(9, 3), direct_key(3, 9));
        assert_eq!(decode_direct_key(&direct_key(9, 3)).unwrap(), (3, 9));
        assert!(decode_direct_key(&pair_key(9, 3)).is_err());
    }

    #[test]
    fn dedup_key_round_trip() {
        let k = dedup_key(77, "c-1");
        assert_eq!(decode_dedup_key(&k).unwrap(), (77, "c-1"));
        assert_eq!(decode_dedup_key(&dedup_key(1, "")).unwrap(), (1, ""));
        assert!(decode_dedup_key(&[0; 7]).is_err());
        let mut bad = dedup_key(1, "");
        bad.push(0xFF);
        assert!(decode_dedup_key(&bad).is_err());
    }

    #[test]
    fn id_keys_and_bounds() {
        assert_eq!(decode_id_key(&id_key(12), "users").unwrap(), 12);
        assert!(decode_id_key(&[1, 2], "users").is_err());
        assert_eq!(
            prefix_bounds(1),
            (1u64.to_be_bytes(), Some(2u64.to_be_bytes()))
        );
        assert_eq!(prefix_bounds(u64::MAX).1, None);
    }
}
