//! Column families and RocksDB tuning.
//!
//! One RocksDB per node. Every kind of data gets its own column family so that each can be
//! tuned for its access pattern (the chat log is an append-heavy range-scanned table; the
//! account tables are small point-lookup tables) and so that compaction work on the log never
//! rewrites account data.
//!
//! Tuning choices, and why:
//! - `max_background_jobs(2)`: the machine has two cores and the engine needs them; flushes and
//!   compactions share two background threads.
//! - LZ4 everywhere: cheap to (de)compress, halves typical message payloads on disk.
//! - A shared 64 MiB LRU block cache; index and filter blocks live in it (and are pinned for
//!   L0) so memory is bounded even with `max_open_files = 512`. The file limit is bounded
//!   because the process may open at most 20,000 files and the engine needs them for sockets.
//! - Log: 8-byte (chat id) prefix extractor with a prefix-only bloom filter and a memtable
//!   prefix bloom, so a seek into one chat skips SST files that hold nothing of that chat.
//! - Point-lookup tables: whole-key bloom filters (10 bits/key, ~1% false positives).
//! - `manual_wal_flush(false)`: every write reaches the OS before `write` returns, which is
//!   what makes [`crate::Durability::ProcessCrash`] survive a process crash.
//! - `bytes_per_sync` / `wal_bytes_per_sync` (1 MiB): start writeback early so the kernel
//!   never has to flush a huge dirty range at once (smooths p99 latency).
//! - `max_total_wal_size(256 MiB)`: with many column families a rarely written one would
//!   otherwise pin old WAL files forever.
//! - `dedup`: a compaction filter drops entries older than the dedup window, and periodic
//!   compaction makes sure old files are eventually revisited even without new writes.

use std::ffi::{CStr, CString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options, SliceTransform,
};

use crate::codec;

/// `user_id` → [`crate::UserRecord`].
pub const CF_USERS: &str = "users";
/// `username` bytes → `user_id`.
pub const CF_USERNAMES: &str = "usernames";
/// `device_id` → [`crate::DeviceRecord`].
pub const CF_DEVICES: &str = "devices";
/// `token_hash` → `device_id`.
pub const CF_TOKENS: &str = "tokens";
/// `user_id ‖ device_id` → empty (a user's devices).
pub const CF_USER_DEVICES: &str = "user_devices";
/// `chat_id` → [`crate::ChatMeta`].
pub const CF_CHATS: &str = "chats";
/// `min_user ‖ max_user` → `chat_id`.
pub const CF_DIRECTS: &str = "directs";
/// `chat_id ‖ user_id` → role byte.
pub const CF_MEMBERS: &str = "members";
/// `user_id ‖ chat_id` → empty.
pub const CF_USER_CHATS: &str = "user_chats";
/// `chat_id ‖ seq` → event bytes (the wire FlatBuffer).
pub const CF_LOG: &str = "log";
/// `device_id ‖ client_msg_id` → [`crate::DedupRecord`].
pub const CF_DEDUP: &str = "dedup";
/// Allocator state and other singletons.
pub const CF_META: &str = "meta";
/// `chat_id` → [`crate::ChatHead`]: the chat's log-derived state as of a sequence number (a
/// snapshot, so loading a chat folds only the events after it, however long its log is).
pub const CF_CHAT_HEADS: &str = "chat_heads";
/// `message_id` → [`crate::MessageLocation`]: where a message is in its chat's log, so an edit,
/// delete, reaction or reply can name a message by id.
pub const CF_MESSAGE_IDS: &str = "message_ids";

/// `user_id ‖ chat_id` → [`crate::ChatPrefs`]: one user's own state of a chat (muted, pinned,
/// archived, marked unread), kept when they leave.
pub const CF_CHAT_PREFS: &str = "chat_prefs";
/// `chat_id ‖ code` → [`crate::InviteRecord`]: a chat's invite links.
pub const CF_INVITES: &str = "invites";
/// `code` → `chat_id`: which chat an invite code belongs to.
pub const CF_INVITE_CODES: &str = "invite_codes";
/// `chat_id ‖ user_id` → `time_ms`: requests to join a chat that approves joins.
pub const CF_JOIN_REQUESTS: &str = "join_requests";
/// `handle` → `chat_id ‖ claimed_ms`: public handles of groups and channels.
pub const CF_HANDLES: &str = "handles";
/// `user_id ‖ list_id` → [`crate::BroadcastListRecord`]: a user's broadcast lists.
pub const CF_BROADCAST_LISTS: &str = "broadcast_lists";
/// `chat_id ‖ user_id` → [`crate::ReceiptRecord`]: one member's delivered and read cursors.
pub const CF_RECEIPTS: &str = "receipts";
/// `user_id` → [`crate::UserSettings`]: read receipts, last-seen visibility, do-not-disturb.
pub const CF_USER_SETTINGS: &str = "user_settings";
/// `user_id` → Unix ms when the user's last connection closed.
pub const CF_LAST_SEEN: &str = "last_seen";

/// `chat_id ‖ seq` → [`crate::MessageStateRecord`]: what changed a message since it was sent
/// (edits, reactions, pin, replies, deletion, live location).
pub const CF_MESSAGE_STATES: &str = "message_states";
/// `chat_id ‖ seq ‖ user_id` → that user's reactions to that message.
pub const CF_REACTIONS: &str = "reactions";
/// `user_id ‖ chat_id ‖ seq` → empty: messages a user deleted for themselves.
pub const CF_HIDDEN: &str = "hidden";
/// `user_id ‖ message_id` → `chat_id ‖ seq`: messages that mention a user.
pub const CF_MENTIONS: &str = "mentions";
/// `chat_id ‖ seq` → the seq of the event that pinned it: a chat's pinned messages.
pub const CF_PINS: &str = "pins";

/// Every column family the store opens.
pub const ALL_CFS: [&str; 28] = [
    CF_USERS,
    CF_USERNAMES,
    CF_DEVICES,
    CF_TOKENS,
    CF_USER_DEVICES,
    CF_CHATS,
    CF_DIRECTS,
    CF_MEMBERS,
    CF_USER_CHATS,
    CF_LOG,
    CF_DEDUP,
    CF_META,
    CF_CHAT_HEADS,
    CF_MESSAGE_IDS,
    CF_CHAT_PREFS,
    CF_INVITES,
    CF_INVITE_CODES,
    CF_JOIN_REQUESTS,
    CF_HANDLES,
    CF_BROADCAST_LISTS,
    CF_RECEIPTS,
    CF_USER_SETTINGS,
    CF_LAST_SEEN,
    CF_MESSAGE_STATES,
    CF_REACTIONS,
    CF_HIDDEN,
    CF_MENTIONS,
    CF_PINS,
];

const BLOCK_CACHE_BYTES: usize = 64 << 20;
const SMALL_WRITE_BUFFER: usize = 8 << 20;
const LOG_WRITE_BUFFER: usize = 64 << 20;
const DEDUP_WRITE_BUFFER: usize = 32 << 20;

/// DB-wide options.
pub(crate) fn db_options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_max_background_jobs(2);
    o.set_max_open_files(512);
    o.set_bytes_per_sync(1 << 20);
    o.set_wal_bytes_per_sync(1 << 20);
    o.set_manual_wal_flush(false);
    o.set_max_total_wal_size(256 << 20);
    o.set_keep_log_file_num(4);
    o.set_max_log_file_size(16 << 20);
    o
}

fn base_cf_options(cache: &Cache, write_buffer: usize) -> (Options, BlockBasedOptions) {
    let mut o = Options::default();
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_level_compaction_dynamic_level_bytes(true);
    o.set_write_buffer_size(write_buffer);
    let mut t = BlockBasedOptions::default();
    t.set_block_cache(cache);
    t.set_cache_index_and_filter_blocks(true);
    t.set_pin_l0_filter_and_index_blocks_in_cache(true);
    t.set_bloom_filter(10.0, false);
    (o, t)
}

/// Column-family descriptors for every CF. `dedup_window` parameterises the dedup compaction
/// filter (irrelevant for read-only opens, but harmless).
pub(crate) fn cf_descriptors(dedup_window: Duration) -> Vec<ColumnFamilyDescriptor> {
    let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
    ALL_CFS
        .iter()
        .map(|&name| {
            let opts = match name {
                CF_LOG => {
                    // Range scans within one chat only: prefix filter, no whole-key filter.
                    let (mut o, mut t) = base_cf_options(&cache, LOG_WRITE_BUFFER);
                    t.set_whole_key_filtering(false);
                    o.set_block_based_table_factory(&t);
                    o.set_prefix_extractor(SliceTransform::create_fixed_prefix(
                        crate::keys::ID_PREFIX_LEN,
                    ));
                    o.set_memtable_prefix_bloom_ratio(0.05);
                    o.set_target_file_size_base(64 << 20);
                    o
                }
                CF_MEMBERS | CF_USER_CHATS | CF_USER_DEVICES | CF_CHAT_PREFS | CF_INVITES | CF_JOIN_REQUESTS
                | CF_BROADCAST_LISTS | CF_MESSAGE_STATES | CF_REACTIONS | CF_HIDDEN | CF_MENTIONS | CF_PINS | CF_RECEIPTS => {
                    // Prefix scans (members of a chat) and point lookups (is X a member).
                    let (mut o, mut t) = base_cf_options(&cache, SMALL_WRITE_BUFFER);
                    t.set_whole_key_filtering(true);
                    o.set_block_based_table_factory(&t);
                    o.set_prefix_extractor(SliceTransform::create_fixed_prefix(
                        crate::keys::ID_PREFIX_LEN,
                    ));
                    o.set_memtable_prefix_bloom_ratio(0.05);
                    o
                }
                CF_DEDUP => {
                    let (mut o, t) = base_cf_options(&cache, DEDUP_WRITE_BUFFER);
                    o.set_block_based_table_factory(&t);
                    o.set_compaction_filter_factory(DedupFilterFactory::new(dedup_window));
                    // Revisit files at least once per window (min 1 h) so expired entries go
                    // away even if the table stops receiving writes.
                    o.set_periodic_compaction_seconds(dedup_window.as_secs().max(3600));
                    o
                }
                _ => {
                    let (mut o, t) = base_cf_options(&cache, SMALL_WRITE_BUFFER);
                    o.set_block_based_table_factory(&t);
                    o
                }
            };
            ColumnFamilyDescriptor::new(name, opts)
        })
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Creates one [`DedupFilter`] per compaction run, with the cutoff computed once per run.
pub(crate) struct DedupFilterFactory {
    window_ms: i64,
    name: CString,
}

impl DedupFilterFactory {
    pub(crate) fn new(window: Duration) -> Self {
        DedupFilterFactory {
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            name: c"magpie-dedup-window-factory".to_owned(),
        }
    }
}

impl CompactionFilterFactory for DedupFilterFactory {
    type Filter = DedupFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> DedupFilter {
        DedupFilter {
            cutoff_ms: now_ms().saturating_sub(self.window_ms),
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// Drops dedup entries whose `time_ms` is older than the cutoff. Undecodable values are
/// kept (never silently destroy data we do not understand).
pub(crate) struct DedupFilter {
    cutoff_ms: i64,
}

impl DedupFilter {
    /// The decision for one value (separate from the trait for unit testing).
    pub(crate) fn keep(&self, value: &[u8]) -> bool {
        match codec::decode_dedup(value) {
            Ok(rec) => rec.time_ms >= self.cutoff_ms,
            Err(_) => true,
        }
    }
}

impl CompactionFilter for DedupFilter {
    fn filter(&mut self, _level: u32, _key: &[u8], value: &[u8]) -> Decision {
        if self.keep(value) {
            Decision::Keep
        } else {
            Decision::Remove
        }
    }

    fn name(&self) -> &CStr {
        c"magpie-dedup-window"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DedupRecord;

    #[test]
    fn dedup_filter_cutoff() {
        let f = DedupFilter { cutoff_ms: 1000 };
        let rec = |t| {
            codec::encode_dedup(&DedupRecord {
                chat_id: 1,
                seq: 1,
                message_id: 1,
                time_ms: t,
            })
        };
        assert!(f.keep(&rec(1000)));
        assert!(f.keep(&rec(5000)));
        assert!(!f.keep(&rec(999)));
        assert!(f.keep(b"garbage"));
    }

    #[test]
    fn factory_cutoff_is_now_minus_window() {
        let mut fac = DedupFilterFactory::new(Duration::from_secs(60));
        let before = now_ms();
        let f = fac.create(CompactionFilterContext {
            is_full_compaction: false,
            is_manual_compaction: true,
        });
        assert!(f.cutoff_ms >= before - 60_000 && f.cutoff_ms <= now_ms() - 60_000);
    }
}
