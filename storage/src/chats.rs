//! Chat reads: metadata, membership, and the per-chat event log.
//!
//! Writes to all of these go through the group [`crate::Committer`]. The log of a chat is the
//! contiguous key range `chat_id ‖ seq`, so every read here is one seek plus a short scan,
//! confined to the chat by iterator bounds (and accelerated by the prefix bloom filter).

use rocksdb::{DBRawIterator, DB};

use crate::codec;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::schema::{
    CF_CHATS, CF_CHAT_HEADS, CF_DEDUP, CF_DIRECTS, CF_LOG, CF_MEMBERS, CF_MESSAGE_IDS, CF_USER_CHATS,
};
use crate::store::{cf, for_each, for_each_with_prefix, prefix_read_options, Store};
use crate::types::{ChatHead, ChatMeta, DedupRecord, MessageLocation, Role};

/// Cap on the initial allocation of a read result (the limit may be huge).
const PREALLOC_CAP: usize = 1024;

fn log_iter(db: &DB, chat_id: u64) -> Result<DBRawIterator<'_>> {
    Ok(db.raw_iterator_cf_opt(cf(db, CF_LOG)?, prefix_read_options(chat_id)))
}

/// Decodes the current log entry, checking it belongs to `chat_id`.
fn log_entry(it: &DBRawIterator<'_>, chat_id: u64) -> Result<Option<(u64, Vec<u8>)>> {
    let Some((k, v)) = it.item() else {
        return Ok(None);
    };
    let (c, seq) = keys::decode_log_key(k)?;
    if c != chat_id {
        return Err(StoreError::Corrupt(format!(
            "log scan of chat {chat_id} reached chat {c}"
        )));
    }
    Ok(Some((seq, v.to_vec())))
}

impl Store {
    /// A chat's metadata.
    pub fn chat(&self, chat_id: u64) -> Result<Option<ChatMeta>> {
        self.get_with(CF_CHATS, keys::id_key(chat_id), |v| {
            Ok(codec::decode_chat(v)?)
        })
    }

    /// A chat's members and their roles, by ascending user id.
    pub fn members(&self, chat_id: u64) -> Result<Vec<(u64, Role)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_MEMBERS)?, chat_id, |k, v| {
            let (_, user_id) = keys::decode_member_key(k)?;
            out.push((user_id, codec::decode_role(v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// One member's role, or `None` if `user_id` is not a member (addition to the original
    /// API: a point lookup, cheaper than [`Store::members`] for permission checks).
    pub fn member_role(&self, chat_id: u64, user_id: u64) -> Result<Option<Role>> {
        self.get_with(CF_MEMBERS, keys::member_key(chat_id, user_id), |v| {
            Ok(codec::decode_role(v)?)
        })
    }

    /// The chats `user_id` is a member of, by ascending chat id.
    pub fn chats_of_user(&self, user_id: u64) -> Result<Vec<u64>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_USER_CHATS)?, user_id, |k, _| {
            out.push(keys::decode_user_chat_key(k)?.1);
            Ok(())
        })?;
        Ok(out)
    }

    /// The direct chat between `a` and `b` (order-insensitive), if one was indexed with
    /// [`crate::Op::PutDirect`].
    pub fn direct_chat(&self, a: u64, b: u64) -> Result<Option<u64>> {
        self.get_with(CF_DIRECTS, keys::direct_key(a, b), |v| {
            Ok(codec::decode_u64_value(v, "direct chat index")?)
        })
    }

    /// Every chat's metadata, by ascending id.
    pub fn list_chats(&self) -> Result<Vec<ChatMeta>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each(&db, cf(&db, CF_CHATS)?, |_, v| {
            out.push(codec::decode_chat(v)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The highest sequence number in the chat's log, 0 if the log is empty. The owner shard
    /// calls this once when it takes over a chat, then counts in memory.
    pub fn last_seq(&self, chat_id: u64) -> Result<u64> {
        let db = self.db()?;
        let mut it = log_iter(&db, chat_id)?;
        it.seek_for_prev(keys::log_key(chat_id, u64::MAX));
        let last = log_entry(&it, chat_id)?.map(|(seq, _)| seq);
        it.status()?;
        Ok(last.unwrap_or(0))
    }

    /// Up to `limit` events with `seq > after_seq`, ascending (catch-up / resume).
    pub fn read_forward(
        &self,
        chat_id: u64,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        let Some(start) = after_seq.checked_add(1) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.db()?;
        let mut it = log_iter(&db, chat_id)?;
        it.seek(keys::log_key(chat_id, start));
        let mut out = Vec::with_capacity(limit.min(PREALLOC_CAP));
        while out.len() < limit {
            match log_entry(&it, chat_id)? {
                Some(e) => out.push(e),
                None => break,
            }
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// The newest `limit` events with `seq < before_seq` (`before_seq == 0` means "from the
    /// end", i.e. no upper limit), returned in ASCENDING order (history paging: pass the
    /// smallest seq received as the next `before_seq`).
    pub fn read_backward(
        &self,
        chat_id: u64,
        before_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let target = if before_seq == 0 {
            u64::MAX
        } else {
            before_seq - 1
        };
        let db = self.db()?;
        let mut it = log_iter(&db, chat_id)?;
        it.seek_for_prev(keys::log_key(chat_id, target));
        let mut out = Vec::with_capacity(limit.min(PREALLOC_CAP));
        while out.len() < limit {
            match log_entry(&it, chat_id)? {
                Some(e) => out.push(e),
                None => break,
            }
            it.prev();
        }
        it.status()?;
        out.reverse();
        Ok(out)
    }

    /// Scans the chat's log backwards from the end, looking at no more than `max_scan`
    /// events, and returns the newest one for which `pred(event)` holds (e.g. "the last
    /// pinned-message change" or "the last info change").
    pub fn last_event_matching(
        &self,
        chat_id: u64,
        max_scan: usize,
        pred: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<(u64, Vec<u8>)>> {
        let db = self.db()?;
        let mut it = log_iter(&db, chat_id)?;
        it.seek_for_prev(keys::log_key(chat_id, u64::MAX));
        let mut scanned = 0usize;
        while scanned < max_scan {
            let Some((k, v)) = it.item() else { break };
            if pred(v) {
                let (c, seq) = keys::decode_log_key(k)?;
                if c != chat_id {
                    return Err(StoreError::Corrupt(format!(
                        "log scan of chat {chat_id} reached chat {c}"
                    )));
                }
                return Ok(Some((seq, v.to_vec())));
            }
            scanned += 1;
            it.prev();
        }
        it.status()?;
        Ok(None)
    }

    /// The chat's stored head (its log-derived state as of `at_seq`), if one was written.
    pub fn chat_head(&self, chat_id: u64) -> Result<Option<ChatHead>> {
        self.get_with(CF_CHAT_HEADS, keys::id_key(chat_id), |v| Ok(codec::decode_chat_head(v)?))
    }

    /// Where a message is, by its id.
    pub fn message_location(&self, message_id: u64) -> Result<Option<MessageLocation>> {
        self.get_with(CF_MESSAGE_IDS, keys::id_key(message_id), |v| {
            Ok(codec::decode_message_location(v)?)
        })
    }

    /// One event of a chat's log.
    pub fn event(&self, chat_id: u64, seq: u64) -> Result<Option<Vec<u8>>> {
        self.get_with(CF_LOG, keys::log_key(chat_id, seq), |v| Ok(v.to_vec()))
    }

    /// What (device, client message id) was acknowledged with, if still within the dedup
    /// window (entries may outlive the window until compaction drops them).
    pub fn dedup_lookup(&self, device_id: u64, client_msg_id: &str) -> Result<Option<DedupRecord>> {
        self.get_with(CF_DEDUP, keys::dedup_key(device_id, client_msg_id), |v| {
            Ok(codec::decode_dedup(v)?)
        })
    }
}
