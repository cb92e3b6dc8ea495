//! Plain records stored and returned by the [`crate::Store`].

/// An account. `password_hash` is a PHC string (argon2id), computed by the engine off-shard;
/// storage never sees a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Node-wide unique id, from [`crate::Store::allocate_ids`].
    pub user_id: u64,
    /// Unique; indexed in the `usernames` column family.
    pub username: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

/// A logged-in device of a user. Only the SHA-256 of its bearer token is stored, so a copy
/// of the database does not let anyone impersonate the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Node-wide unique id, from [`crate::Store::allocate_ids`].
    pub device_id: u64,
    /// Owner.
    pub user_id: u64,
    /// Human-readable name chosen by the client.
    pub name: String,
    /// Hash of the device token; indexed in the `tokens` column family.
    pub token_hash: [u8; 32],
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

/// Kind of a chat.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ChatKind {
    /// A 1:1 chat; indexed by its two users in the `directs` column family.
    Direct,
    /// A group chat with a title and admins.
    Group,
}

/// Role of a member in a chat.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Role {
    /// Ordinary member.
    Member,
    /// May change membership and chat info.
    Admin,
}

/// Chat metadata (the `chats` column family). Changes to a chat are also events in its log;
/// this record is the current state for fast lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMeta {
    /// Node-wide unique id, from [`crate::Store::allocate_ids`].
    pub chat_id: u64,
    /// Direct or group.
    pub kind: ChatKind,
    /// Title (empty for direct chats).
    pub title: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// User who created the chat.
    pub created_by: u64,
}

/// What a (device, client message id) pair was acknowledged with, so that a retried send
/// gets its original ack instead of a duplicate message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupRecord {
    /// Chat the message went to.
    pub chat_id: u64,
    /// Sequence number the message got.
    pub seq: u64,
    /// Message id the message got.
    pub message_id: u64,
    /// When it was accepted, Unix milliseconds; entries older than
    /// [`crate::StoreOptions::dedup_window`] are dropped by compaction.
    pub time_ms: i64,
}

/// Counters and sizes reported by [`crate::Store::stats`].
///
/// `users`, `devices` and `chats` are exact (counted by a key scan, so `stats` costs time
/// proportional to those tables — fine for tools and periodic reporting, not for hot paths).
/// The commit counters count since this process opened the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Number of accounts.
    pub users: u64,
    /// Number of (non-revoked) devices.
    pub devices: u64,
    /// Number of chats.
    pub chats: u64,
    /// RocksDB's estimate of the number of chat-log entries.
    pub log_events_estimate: u64,
    /// Total size of the SST files of all column families, bytes.
    pub sst_bytes: u64,
    /// WAL fsyncs requested (group commits under [`crate::Durability::PowerLoss`], plus
    /// account writes and id-block reservations, which are always synced).
    pub wal_syncs: u64,
    /// RocksDB writes issued by the group committer (each covers one or more submissions).
    pub commits: u64,
    /// [`crate::Op`]s written by the group committer.
    pub ops_committed: u64,
    /// Batches handed to [`crate::Committer::submit`] (addition to the original API: with
    /// `commits` it shows how well group commit merges).
    pub submissions: u64,
}

/// A chat's state derived from its log, as of `at_seq` (the `chat_heads` column family). The
/// owner writes it in the same batch as each event, so it is normally current; a loader folds
/// whatever events follow `at_seq` onto it (older stores have none: `at_seq` 0 folds the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChatHead {
    /// The last sequence number this head includes.
    pub at_seq: u64,
    /// Sequence number of the chat's newest message (0: none yet), for chat-list previews.
    pub last_message_seq: u64,
}

/// Where a message lives (the `message_ids` column family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLocation {
    /// Its chat.
    pub chat_id: u64,
    /// Its sequence number in that chat's log.
    pub seq: u64,
}
