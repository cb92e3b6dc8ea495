//! Magpie storage: the node's RocksDB — per-chat event logs, chats and membership, accounts,
//! idempotency records — behind a small blocking API. No networking, no async runtime.
//!
//! # Shape
//!
//! One RocksDB per node with one column family per kind of data (see [`schema`]). The chat
//! log is keyed `chat_id ‖ seq` (big-endian) and stores each event exactly as it goes on the
//! wire, so history reads need no transcoding. Record values use a small versioned codec
//! ([`codec`]); key layouts are in [`keys`]. Both are public so they can be fuzzed and used by
//! offline tools.
//!
//! # Writes and durability
//!
//! Everything that changes a chat — log appends, idempotency records, chat metadata,
//! membership — goes through the [`Committer`]: one thread that merges all queued
//! submissions into a single RocksDB write (one WAL fsync for many messages) and then calls
//! each submission's callback, in order. The engine acks and delivers a message only from
//! that callback, which is how "ack only after durable; deliver only after durable" holds.
//! What "durable" means is [`Durability`]: survive power loss (fsync per group commit) or
//! survive a process crash (WAL written to the OS, no fsync).
//!
//! Account writes (users, devices, tokens) are rare, so they are plain synchronous fsynced
//! writes serialised by a mutex (atomic check-and-insert for unique usernames).
//!
//! # Threads
//!
//! All [`Store`] methods block; call them from blocking threads, never from async shard
//! threads. [`Committer::submit`] only enqueues (it blocks only if 65,536 submissions are
//! already queued), so it is cheap, but it still belongs on a blocking-capable thread.

#![warn(missing_docs)]

#[cfg(feature = "db")]
mod accounts;
#[cfg(feature = "db")]
mod chats;
pub mod codec;
#[cfg(feature = "credentials")]
pub mod credentials;
#[cfg(feature = "db")]
mod commit;
#[cfg(feature = "db")]
mod conversations;
#[cfg(feature = "db")]
mod error;
#[cfg(feature = "db")]
mod messages;
#[cfg(feature = "db")]
mod ids;
pub mod keys;
#[cfg(feature = "db")]
pub mod receipts;
#[cfg(feature = "db")]
pub mod schema;
#[cfg(feature = "db")]
mod scrub;
#[cfg(feature = "db")]
mod store;
mod types;

#[cfg(feature = "db")]
pub use commit::{CommitCallback, Committer, Op, QUEUE_CAPACITY};
#[cfg(feature = "db")]
pub use error::{Result, StoreError};
#[cfg(feature = "db")]
pub use ids::{FIRST_ID, ID_BLOCK};
#[cfg(feature = "db")]
pub use receipts::{ReceiptRecord, UserSettings};
#[cfg(feature = "db")]
pub use messages::ReactionPage;
#[cfg(feature = "db")]
pub use scrub::{ScrubRange, SCRUB_DELAY};
#[cfg(feature = "db")]
pub use store::{Durability, Store, StoreOptions};
pub use types::{
    BroadcastListRecord, ChatHead, ChatKind, ChatMeta, ChatPrefs, ChatProfile, DedupRecord, DeviceRecord, EditRef,
    InviteRecord, LivePosition, MemberRecord, MessageLocation, MessageStateRecord, Role, Stats, UserRecord,
};

#[cfg(feature = "db")]
/// The `bytes` crate ([`Op::Append`] carries a [`bytes::Bytes`]).
pub use bytes;
#[cfg(feature = "db")]
/// The RocksDB crate this store is built on (for its error type, and for tools).
pub use rocksdb;
