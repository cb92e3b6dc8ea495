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
    /// A group chat with a title, an owner and admins.
    Group,
    /// A channel: the owner and admins post, subscribers read.
    Channel,
}

/// Role of a member in a chat.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Role {
    /// Ordinary member.
    Member,
    /// May change membership and chat info.
    Admin,
    /// The one owner: everything an admin may, and ownership itself.
    Owner,
}

/// A `members` record: the member's role and the first seq of the chat they receive (their
/// join; 0 for members stored before joins were recorded).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MemberRecord {
    /// Role.
    pub role: Role,
    /// First seq visible to the member when the chat shows history only since joining.
    pub since_seq: u64,
}

/// The descriptive part of a chat beyond its title (version 2 of the `chats` record). The
/// settings are stored as the engine's seven setting bytes, opaque here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatProfile {
    /// Free text.
    pub description: String,
    /// Opaque reference to an avatar image (the media feature fills it).
    pub avatar_ref: String,
    /// Public handle (empty: none); indexed in the `handles` column family.
    pub handle: String,
    /// The chat's settings, encoded by the engine (empty: the defaults).
    pub settings: Vec<u8>,
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
    /// Description, avatar, handle and settings.
    pub profile: ChatProfile,
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
    /// Erasure passes done (see [`crate::Op::Scrub`]).
    pub scrub_passes: u64,
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
    /// Number of members (kept, so a chat list never counts a 100,000-member channel);
    /// `None` in heads written before it was kept.
    pub member_count: Option<u64>,
}

/// One user's own state of one chat (the `chat_prefs` column family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChatPrefs {
    /// Muted until this Unix ms (0: not muted).
    pub muted_until_ms: i64,
    /// 0: not pinned; pinned chats sort by rank, highest first.
    pub pin_rank: u64,
    /// Archived.
    pub archived: bool,
    /// Marked unread by the user.
    pub marked_unread: bool,
}

/// An invite link of a chat (the `invites` column family, keyed by chat and code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRecord {
    /// The secret code in the link.
    pub code: String,
    /// Its chat.
    pub chat_id: u64,
    /// Who made it.
    pub created_by: u64,
    /// When, Unix ms.
    pub created_ms: i64,
    /// Unix ms after which it no longer works (0: never).
    pub expires_ms: i64,
    /// Uses allowed (0: unlimited).
    pub max_uses: u32,
    /// Uses so far.
    pub uses: u32,
    /// Revoked by an admin.
    pub revoked: bool,
}

/// A user's broadcast list (the `broadcast_lists` column family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastListRecord {
    /// Id (from the id allocator).
    pub list_id: u64,
    /// Name shown to its owner.
    pub name: String,
    /// Recipients, in the owner's order.
    pub recipients: Vec<u64>,
}

/// Where a message lives (the `message_ids` column family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLocation {
    /// Its chat.
    pub chat_id: u64,
    /// Its sequence number in that chat's log.
    pub seq: u64,
}

/// An edit of a message: the event that holds it (`message_states`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditRef {
    /// The `MessageEdited` event's seq.
    pub seq: u64,
    /// The device that sent it (its stored header, kept to rewrite it when the message is deleted).
    pub device_id: u64,
    /// Its time, Unix ms.
    pub time_ms: i64,
}

/// Where a live location is now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivePosition {
    /// Degrees, -90..=90.
    pub latitude: f64,
    /// Degrees, -180..=180.
    pub longitude: f64,
    /// Metres (0: unknown).
    pub accuracy_m: f32,
    /// When its sender stopped it, Unix ms (0: not stopped).
    pub stopped_ms: i64,
}

// Positions are checked finite before they are stored, so equality is reflexive.
impl Eq for LivePosition {}

/// A message's state beside its stored event (`message_states`): what edits, reactions, pins,
/// replies, its deletion and live-location updates changed. Only messages with any have one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageStateRecord {
    /// Its edits, oldest first.
    pub edits: Vec<EditRef>,
    /// The current text, when edited.
    pub content: String,
    /// The current mentions, when edited.
    pub mentions: Vec<u64>,
    /// Deleted for everyone: the stored event is a tombstone.
    pub deleted: bool,
    /// Reaction totals, highest first.
    pub reactions: Vec<(String, u32)>,
    /// When it was pinned, Unix ms (0: not pinned).
    pub pinned_ms: i64,
    /// A live location's latest position.
    pub live: Option<LivePosition>,
    /// The seqs of the messages that reply to it (rewritten when it is deleted).
    pub replies: Vec<u64>,
}
