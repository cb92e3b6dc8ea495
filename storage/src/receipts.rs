//! Receipt cursors, a user's privacy and presence settings, and last seen.
//!
//! - `receipts`: `chat_id ‖ user_id` → [`ReceiptRecord`], one member's delivered and read
//!   cursors in one chat. Written through the group [`crate::Committer`]
//!   ([`crate::Op::PutReceipt`], derived by the chat's owner), read back when a chat loads (one
//!   prefix scan) and by the chat list (one point read per chat).
//! - `user_settings`: `user_id` → [`UserSettings`] (read receipts on or off, who sees last
//!   seen, do-not-disturb): a user's own record, written here with a check-and-write under the
//!   account mutex and a synced write, like chat states.
//! - `last_seen`: `user_id` → Unix ms when the user's last connection closed. Written without
//!   a sync (losing the latest one in a power cut is harmless); the only stored part of presence.

use rocksdb::WriteBatch;

use crate::codec::{CodecError, CodecResult};
use crate::error::Result;
use crate::keys;
use crate::schema::{CF_LAST_SEEN, CF_RECEIPTS, CF_USER_SETTINGS};
use crate::store::{cf, for_each_with_prefix, lock, Store};

/// One member's receipt cursors in one chat (both only ever move forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiptRecord {
    /// Highest seq delivered to one of the member's devices.
    pub delivered_seq: u64,
    /// Highest seq the member has read (never above `delivered_seq`).
    pub read_seq: u64,
    /// The member does not share their read cursor (read receipts off).
    pub read_private: bool,
}

/// One user's own settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSettings {
    /// Sends read receipts (and sees others').
    pub read_receipts: bool,
    /// Who sees last seen: 0 everyone, 1 people sharing a chat, 2 nobody (the wire's
    /// `LastSeenVisibility`).
    pub last_seen: u8,
    /// Do-not-disturb.
    pub dnd: bool,
}

impl Default for UserSettings {
    fn default() -> UserSettings {
        UserSettings { read_receipts: true, last_seen: 0, dnd: false }
    }
}

const RECEIPT_VERSION: u8 = 1;
const SETTINGS_VERSION: u8 = 1;

/// `receipts` key: `chat_id ‖ user_id`.
pub fn receipt_key(chat_id: u64, user_id: u64) -> [u8; 16] {
    keys::member_key(chat_id, user_id)
}

/// Encodes a receipt record: version, delivered, read (big-endian), flags.
pub fn encode_receipt(r: &ReceiptRecord) -> Vec<u8> {
    let mut v = Vec::with_capacity(18);
    v.push(RECEIPT_VERSION);
    v.extend_from_slice(&r.delivered_seq.to_be_bytes());
    v.extend_from_slice(&r.read_seq.to_be_bytes());
    v.push(u8::from(r.read_private));
    v
}

/// Decodes a receipt record, checking its version, length and flags.
pub fn decode_receipt(buf: &[u8]) -> CodecResult<ReceiptRecord> {
    const WHAT: &str = "receipt";
    match buf.first() {
        None => return Err(CodecError::Truncated { what: WHAT, need: 1, have: 0 }),
        Some(&RECEIPT_VERSION) => {}
        Some(&version) => return Err(CodecError::Version { what: WHAT, version }),
    }
    if buf.len() < 18 {
        return Err(CodecError::Truncated { what: WHAT, need: 18, have: buf.len() });
    }
    if buf.len() > 18 {
        return Err(CodecError::Trailing { what: WHAT, extra: buf.len() - 18 });
    }
    let delivered_seq = u64::from_be_bytes(buf[1..9].try_into().expect("8 bytes"));
    let read_seq = u64::from_be_bytes(buf[9..17].try_into().expect("8 bytes"));
    let read_private = match buf[17] {
        0 => false,
        1 => true,
        value => return Err(CodecError::InvalidEnum { what: "receipt flags", value }),
    };
    Ok(ReceiptRecord { delivered_seq, read_seq, read_private })
}

/// Encodes user settings: version, flags (1 read receipts off, 2 dnd), last seen visibility.
pub fn encode_user_settings(s: &UserSettings) -> Vec<u8> {
    let flags = u8::from(!s.read_receipts) | (u8::from(s.dnd) << 1);
    vec![SETTINGS_VERSION, flags, s.last_seen]
}

/// Decodes user settings.
pub fn decode_user_settings(buf: &[u8]) -> CodecResult<UserSettings> {
    const WHAT: &str = "user settings";
    match buf {
        [] => Err(CodecError::Truncated { what: WHAT, need: 3, have: 0 }),
        [SETTINGS_VERSION, flags, last_seen] => {
            if flags & !3 != 0 {
                return Err(CodecError::InvalidEnum { what: "user settings flags", value: *flags });
            }
            if *last_seen > 2 {
                return Err(CodecError::InvalidEnum { what: "last seen visibility", value: *last_seen });
            }
            Ok(UserSettings { read_receipts: flags & 1 == 0, dnd: flags & 2 != 0, last_seen: *last_seen })
        }
        [SETTINGS_VERSION, ..] if buf.len() < 3 => Err(CodecError::Truncated { what: WHAT, need: 3, have: buf.len() }),
        [SETTINGS_VERSION, ..] => Err(CodecError::Trailing { what: WHAT, extra: buf.len() - 3 }),
        [version, ..] => Err(CodecError::Version { what: WHAT, version: *version }),
    }
}

impl Store {
    /// Every stored receipt of a chat, by ascending user id (members who left may be among
    /// them: the chat's member list is the truth).
    pub fn receipts_of(&self, chat_id: u64) -> Result<Vec<(u64, ReceiptRecord)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_RECEIPTS)?, chat_id, |k, v| {
            out.push((keys::decode_member_key(k)?.1, decode_receipt(v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// One member's receipt in a chat (the zero record if none is stored).
    pub fn receipt(&self, chat_id: u64, user_id: u64) -> Result<ReceiptRecord> {
        Ok(self.get_with(CF_RECEIPTS, receipt_key(chat_id, user_id), |v| Ok(decode_receipt(v)?))?.unwrap_or_default())
    }

    /// A user's settings (the defaults if never set).
    pub fn user_settings(&self, user_id: u64) -> Result<UserSettings> {
        Ok(self.get_with(CF_USER_SETTINGS, keys::id_key(user_id), |v| Ok(decode_user_settings(v)?))?.unwrap_or_default())
    }

    /// Changes a user's settings: `change` gets the current ones and returns the new ones.
    /// Serialised with every other such change (two devices never lose one another's change);
    /// a synced write.
    pub fn update_user_settings(&self, user_id: u64, change: impl FnOnce(UserSettings) -> UserSettings) -> Result<UserSettings> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        let new = change(self.user_settings(user_id)?);
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_USER_SETTINGS)?, keys::id_key(user_id), encode_user_settings(&new));
        self.sync_write(&db, batch)?;
        Ok(new)
    }

    /// When the user's last connection closed (Unix ms), if ever recorded.
    pub fn last_seen(&self, user_id: u64) -> Result<Option<i64>> {
        self.get_with(CF_LAST_SEEN, keys::id_key(user_id), |v| {
            let b: [u8; 8] = v.try_into().map_err(|_| CodecError::BadLength { what: "last seen" })?;
            Ok(i64::from_be_bytes(b))
        })
    }

    /// Records when the user's last connection closed (not synced).
    pub fn put_last_seen(&self, user_id: u64, time_ms: i64) -> Result<()> {
        self.check_writable()?;
        let db = self.db()?;
        db.put_cf(cf(&db, CF_LAST_SEEN)?, keys::id_key(user_id), time_ms.to_be_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_and_bad_input_is_refused() {
        let r = ReceiptRecord { delivered_seq: 9, read_seq: 7, read_private: true };
        assert_eq!(decode_receipt(&encode_receipt(&r)).unwrap(), r);
        let mut bad = encode_receipt(&r);
        bad[17] = 2;
        assert!(decode_receipt(&bad).is_err());
        assert!(decode_receipt(&bad[..10]).is_err());
        assert!(decode_receipt(&[2; 18]).is_err());
        assert!(decode_receipt(&[]).is_err());
        let mut long = encode_receipt(&r);
        long.push(0);
        assert!(decode_receipt(&long).is_err());
    }

    #[test]
    fn settings_round_trip_and_bad_input_is_refused() {
        for s in [UserSettings::default(), UserSettings { read_receipts: false, last_seen: 2, dnd: true }] {
            assert_eq!(decode_user_settings(&encode_user_settings(&s)).unwrap(), s);
        }
        assert!(decode_user_settings(&[1, 4, 0]).is_err());
        assert!(decode_user_settings(&[1, 0, 3]).is_err());
        assert!(decode_user_settings(&[1, 0]).is_err());
        assert!(decode_user_settings(&[1, 0, 0, 0]).is_err());
        assert!(decode_user_settings(&[2, 0, 0]).is_err());
    }

    #[test]
    fn store_keeps_receipts_settings_and_last_seen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::StoreOptions::default()).unwrap();
        let r = ReceiptRecord { delivered_seq: 5, read_seq: 3, read_private: false };
        store.committer().submit_wait(vec![crate::Op::PutReceipt { chat_id: 7, user_id: 2, receipt: r }]).unwrap();
        assert_eq!(store.receipt(7, 2).unwrap(), r);
        assert_eq!(store.receipt(7, 3).unwrap(), ReceiptRecord::default());
        assert_eq!(store.receipts_of(7).unwrap(), vec![(2, r)]);
        assert!(store.receipts_of(8).unwrap().is_empty());
        assert_eq!(store.user_settings(2).unwrap(), UserSettings::default());
        let s = store.update_user_settings(2, |s| UserSettings { read_receipts: false, ..s }).unwrap();
        assert_eq!(store.user_settings(2).unwrap(), s);
        assert_eq!(store.last_seen(2).unwrap(), None);
        store.put_last_seen(2, 1234).unwrap();
        assert_eq!(store.last_seen(2).unwrap(), Some(1234));
    }
}
