//! Conversation records beyond the log: members with their join point, invite links, join
//! requests, public handles, one user's state of each chat, and broadcast lists.
//!
//! Records a chat's owner shard decides (invites, join requests, members) are written through
//! the group [`crate::Committer`] in the same batch as the events they go with. Two kinds are
//! written here directly, each a check-and-write under the store's one account mutex followed by
//! a synchronous write: handle claims (a handle is unique across every shard's chats) and a
//! user's own records (chat state, broadcast lists), which no chat owns.

use rocksdb::WriteBatch;

use crate::codec;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::schema::{
    CF_BROADCAST_LISTS, CF_CHAT_PREFS, CF_HANDLES, CF_INVITES, CF_INVITE_CODES, CF_JOIN_REQUESTS, CF_MEMBERS,
    CF_USER_CHATS,
};
use crate::store::{cf, for_each_with_prefix, lock, Store};
use crate::types::{BroadcastListRecord, ChatPrefs, InviteRecord, MemberRecord};

/// How long a handle claimed for a chat that is not (yet) stored stays reserved: long enough
/// for the chat's creation to commit, short enough that a failed creation frees it.
pub const HANDLE_CLAIM_GRACE_MS: i64 = 60_000;

impl Store {
    /// A chat's members with their roles and join points, by ascending user id.
    pub fn members_with_since(&self, chat_id: u64) -> Result<Vec<(u64, MemberRecord)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_MEMBERS)?, chat_id, |k, v| {
            out.push((keys::decode_member_key(k)?.1, codec::decode_member(v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// The first seq `user_id` receives of `chat_id` (their join), if they are a member.
    pub fn user_chat_since(&self, user_id: u64, chat_id: u64) -> Result<Option<u64>> {
        self.get_with(CF_USER_CHATS, keys::user_chat_key(user_id, chat_id), |v| Ok(since_value(v)?))
    }

    /// The chats of `user_id` with the first seq they receive of each, by ascending chat id.
    pub fn chats_of_user_with_since(&self, user_id: u64) -> Result<Vec<(u64, u64)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_USER_CHATS)?, user_id, |k, v| {
            out.push((keys::decode_user_chat_key(k)?.1, since_value(v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// A chat's invite links, by code.
    pub fn invites_of(&self, chat_id: u64) -> Result<Vec<InviteRecord>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_INVITES)?, chat_id, |_, v| {
            out.push(codec::decode_invite(v)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The chat an invite code belongs to.
    pub fn invite_chat(&self, code: &str) -> Result<Option<u64>> {
        self.get_with(CF_INVITE_CODES, keys::name_key(code), |v| Ok(codec::decode_u64_value(v, "invite chat")?))
    }

    /// A chat's pending join requests: (user, requested at), by user id.
    pub fn join_requests(&self, chat_id: u64) -> Result<Vec<(u64, i64)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_JOIN_REQUESTS)?, chat_id, |k, v| {
            let user = keys::decode_join_request_key(k)?.1;
            let time = i64::from_be_bytes(v.try_into().map_err(|_| StoreError::Corrupt("join request value".into()))?);
            out.push((user, time));
            Ok(())
        })?;
        Ok(out)
    }

    /// The chat holding a public handle, as the index says (the chat's own record is the truth:
    /// check its handle).
    pub fn handle_chat(&self, handle: &str) -> Result<Option<u64>> {
        Ok(self.handle_claim(handle)?.map(|(chat, _)| chat))
    }

    fn handle_claim(&self, handle: &str) -> Result<Option<(u64, i64)>> {
        self.get_with(CF_HANDLES, keys::name_key(handle), |v| {
            if v.len() != 16 {
                return Err(StoreError::Corrupt(format!("handle value of {} bytes", v.len())));
            }
            let chat = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
            Ok((chat, i64::from_be_bytes(v[8..].try_into().expect("8 bytes"))))
        })
    }

    /// Reserves `handle` for `chat_id`; false if another chat holds it. A claim is taken over
    /// only when its chat is stored without that handle, or was never stored and the claim is
    /// older than [`HANDLE_CLAIM_GRACE_MS`] (a creation that failed). The chat's record, written
    /// when its event commits, then makes the claim its own.
    pub fn claim_handle(&self, handle: &str, chat_id: u64, now_ms: i64) -> Result<bool> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        if let Some((holder, claimed_ms)) = self.handle_claim(handle)? {
            if holder == chat_id {
                return Ok(true);
            }
            let held = match self.chat(holder)? {
                Some(meta) => meta.profile.handle == handle,
                None => now_ms - claimed_ms < HANDLE_CLAIM_GRACE_MS,
            };
            if held {
                return Ok(false);
            }
        }
        let mut value = [0u8; 16];
        value[..8].copy_from_slice(&chat_id.to_be_bytes());
        value[8..].copy_from_slice(&now_ms.to_be_bytes());
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_HANDLES)?, keys::name_key(handle), value);
        self.sync_write(&db, batch)?;
        Ok(true)
    }

    /// One user's state of one chat (the defaults if never set).
    pub fn chat_prefs(&self, user_id: u64, chat_id: u64) -> Result<ChatPrefs> {
        Ok(self
            .get_with(CF_CHAT_PREFS, keys::chat_prefs_key(user_id, chat_id), |v| Ok(codec::decode_chat_prefs(v)?))?
            .unwrap_or_default())
    }

    /// Every chat state `user_id` has set, by chat id.
    pub fn chat_prefs_of_user(&self, user_id: u64) -> Result<Vec<(u64, ChatPrefs)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_CHAT_PREFS)?, user_id, |k, v| {
            out.push((keys::decode_chat_prefs_key(k)?.1, codec::decode_chat_prefs(v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// Changes one user's states of some chats at once: `change` gets every state the user has
    /// set and returns the ones to write. Serialised with every other such change, so two
    /// devices changing pins at once never lose one another's change.
    pub fn update_chat_prefs<E>(
        &self,
        user_id: u64,
        change: impl FnOnce(Vec<(u64, ChatPrefs)>) -> std::result::Result<Vec<(u64, ChatPrefs)>, E>,
    ) -> Result<std::result::Result<Vec<(u64, ChatPrefs)>, E>> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        let writes = match change(self.chat_prefs_of_user(user_id)?) {
            Ok(w) => w,
            Err(e) => return Ok(Err(e)),
        };
        let mut batch = WriteBatch::default();
        let prefs = cf(&db, CF_CHAT_PREFS)?;
        for (chat_id, p) in &writes {
            batch.put_cf(prefs, keys::chat_prefs_key(user_id, *chat_id), codec::encode_chat_prefs(p));
        }
        self.sync_write(&db, batch)?;
        Ok(Ok(writes))
    }

    /// A user's broadcast lists, by id.
    pub fn broadcast_lists(&self, user_id: u64) -> Result<Vec<BroadcastListRecord>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_BROADCAST_LISTS)?, user_id, |_, v| {
            out.push(codec::decode_broadcast_list(v)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// One of a user's broadcast lists.
    pub fn broadcast_list(&self, user_id: u64, list_id: u64) -> Result<Option<BroadcastListRecord>> {
        self.get_with(CF_BROADCAST_LISTS, keys::broadcast_list_key(user_id, list_id), |v| Ok(codec::decode_broadcast_list(v)?))
    }

    /// Creates or replaces one of a user's broadcast lists (synchronously written).
    pub fn put_broadcast_list(&self, user_id: u64, list: &BroadcastListRecord) -> Result<()> {
        self.check_writable()?;
        let db = self.db()?;
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, CF_BROADCAST_LISTS)?, keys::broadcast_list_key(user_id, list.list_id), codec::encode_broadcast_list(list));
        self.sync_write(&db, batch)
    }

    /// Deletes one of a user's broadcast lists; false if there was none.
    pub fn delete_broadcast_list(&self, user_id: u64, list_id: u64) -> Result<bool> {
        self.check_writable()?;
        let db = self.db()?;
        let _guard = lock(&self.inner.accounts);
        if self.broadcast_list(user_id, list_id)?.is_none() {
            return Ok(false);
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(cf(&db, CF_BROADCAST_LISTS)?, keys::broadcast_list_key(user_id, list_id));
        self.sync_write(&db, batch)?;
        Ok(true)
    }
}

/// A `user_chats` value: the member's first seq (empty in records written before it was kept).
fn since_value(v: &[u8]) -> std::result::Result<u64, codec::CodecError> {
    if v.is_empty() {
        Ok(0)
    } else {
        codec::decode_u64_value(v, "user chat since_seq")
    }
}
