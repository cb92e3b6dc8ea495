//! Target `storage_codec`: the storage crate's record and key codecs on arbitrary bytes.
//!
//! The first byte picks a decoder, the rest is its input. A decoder must never panic; whatever
//! it accepts must survive re-encoding unchanged (decode ∘ encode is the identity on accepted
//! values), so that a record read back from disk is exactly what was written.
//! Built without RocksDB (`magpie-storage` with `default-features = false`).

use magpie_storage::{codec, keys};

/// Number of decoders the first byte chooses among.
pub const DECODERS: u8 = 21;

pub fn fuzz_storage_codec(data: &[u8]) {
    let Some((&which, buf)) = data.split_first() else { return };
    match which % DECODERS {
        0 => {
            if let Ok(u) = codec::decode_user(buf) {
                assert_eq!(codec::decode_user(&codec::encode_user(&u)).as_ref(), Ok(&u));
            }
        }
        1 => {
            if let Ok(d) = codec::decode_device(buf) {
                assert_eq!(codec::decode_device(&codec::encode_device(&d)).as_ref(), Ok(&d));
            }
        }
        2 => {
            if let Ok(c) = codec::decode_chat(buf) {
                assert_eq!(codec::decode_chat(&codec::encode_chat(&c)).as_ref(), Ok(&c));
            }
        }
        3 => {
            if let Ok(d) = codec::decode_dedup(buf) {
                assert_eq!(codec::decode_dedup(&codec::encode_dedup(&d)).as_ref(), Ok(&d));
            }
        }
        4 => {
            if let Ok(r) = codec::decode_role(buf) {
                assert_eq!(codec::decode_role(&codec::encode_role(r)), Ok(r));
            }
        }
        5 => {
            if let Ok(v) = codec::decode_u64_value(buf, "fuzz") {
                assert_eq!(codec::encode_u64_value(v).as_slice(), buf);
            }
        }
        6 => {
            if let Ok(id) = keys::decode_id_key(buf, "fuzz") {
                assert_eq!(keys::id_key(id).as_slice(), buf);
            }
        }
        7 => {
            if let Ok((c, s)) = keys::decode_log_key(buf) {
                assert_eq!(keys::log_key(c, s).as_slice(), buf);
            }
        }
        8 => {
            if let Ok((c, u)) = keys::decode_member_key(buf) {
                assert_eq!(keys::member_key(c, u).as_slice(), buf);
            }
        }
        9 => {
            if let Ok((u, c)) = keys::decode_user_chat_key(buf) {
                assert_eq!(keys::user_chat_key(u, c).as_slice(), buf);
            }
        }
        10 => {
            if let Ok((u, d)) = keys::decode_user_device_key(buf) {
                assert_eq!(keys::user_device_key(u, d).as_slice(), buf);
            }
        }
        11 => {
            if let Ok((a, b)) = keys::decode_direct_key(buf) {
                let again = keys::decode_direct_key(&keys::direct_key(a, b)).expect("own key decodes");
                assert_eq!(again, (a, b));
            }
        }
        12 => {
            if let Ok((device, id)) = keys::decode_dedup_key(buf) {
                assert_eq!(keys::dedup_key(device, id), buf);
            }
        }
        13 => {
            if let Ok(m) = codec::decode_member(buf) {
                assert_eq!(codec::decode_member(&codec::encode_member(&m)), Ok(m));
            }
        }
        14 => {
            if let Ok(h) = codec::decode_chat_head(buf) {
                assert_eq!(codec::decode_chat_head(&codec::encode_chat_head(&h)), Ok(h));
            }
        }
        15 => {
            if let Ok(p) = codec::decode_chat_prefs(buf) {
                assert_eq!(codec::decode_chat_prefs(&codec::encode_chat_prefs(&p)), Ok(p));
            }
        }
        16 => {
            if let Ok(i) = codec::decode_invite(buf) {
                assert_eq!(codec::decode_invite(&codec::encode_invite(&i)).as_ref(), Ok(&i));
            }
        }
        17 => {
            if let Ok(l) = codec::decode_broadcast_list(buf) {
                assert_eq!(codec::decode_broadcast_list(&codec::encode_broadcast_list(&l)).as_ref(), Ok(&l));
            }
        }
        18 => {
            if let Ok(l) = codec::decode_message_location(buf) {
                assert_eq!(codec::decode_message_location(&codec::encode_message_location(&l)), Ok(l));
            }
        }
        19 => {
            if let Ok((u, c)) = keys::decode_chat_prefs_key(buf) {
                assert_eq!(keys::chat_prefs_key(u, c).as_slice(), buf);
            }
        }
        _ => {
            if let Ok((c, u)) = keys::decode_join_request_key(buf) {
                assert_eq!(keys::join_request_key(c, u).as_slice(), buf);
            }
        }
    }
}
