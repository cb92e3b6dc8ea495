//! Group commit: one thread turns many small submissions into few large, synced writes.
//!
//! Why: a WAL fsync costs the same whether it covers one message or a thousand. If every
//! send did its own synced write, throughput would be capped at one message per fsync. All
//! chat-changing writes therefore go through a single committer thread (`magpie-commit`):
//! submitters enqueue a batch of [`Op`]s plus a completion callback; the thread takes
//! *whatever is queued when it wakes* (it never sleeps to wait for more — under light load a
//! lone submission is written immediately, under heavy load batches grow naturally while the
//! previous fsync is in progress), merges it into one `WriteBatch` bounded by
//! `max_batch_ops`, issues one write, and then calls every callback in submission order.
//!
//! Guarantees:
//! - a callback runs only after its ops are in the WAL — and, under
//!   [`Durability::PowerLoss`], after the WAL was fsynced;
//! - callbacks run in submission (queue) order, on the committer thread;
//! - all ops of one submission are applied atomically (they are in one `WriteBatch`);
//! - every callback is called exactly once, even on shutdown (then with
//!   [`StoreError::Closed`]).
//!
//! Callbacks must be quick and must not block or submit to the committer (they run on the
//! committer thread; the engine uses them to post a message to a shard).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use rocksdb::{ColumnFamily, WriteBatch, WriteOptions, DB};

use crate::codec;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::schema::{
    CF_CHATS, CF_CHAT_HEADS, CF_DEDUP, CF_DIRECTS, CF_HANDLES, CF_INVITES, CF_INVITE_CODES, CF_JOIN_REQUESTS, CF_LOG,
    CF_HIDDEN, CF_MEMBERS, CF_MENTIONS, CF_MESSAGE_IDS, CF_MESSAGE_STATES, CF_PINS, CF_REACTIONS, CF_USER_CHATS,
};
use crate::scrub::{ScrubRange, ScrubSender};
use crate::store::Durability;
use crate::types::{ChatHead, ChatMeta, DedupRecord, InviteRecord, MemberRecord, MessageLocation, MessageStateRecord, Role};

/// Queue capacity in submissions. [`Committer::submit`] blocks only when this many are queued.
pub const QUEUE_CAPACITY: usize = 65_536;

/// One write in a group commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Put a chat-log event at `chat_id ‖ seq`. `event` is the wire FlatBuffer, stored as is.
    Append {
        /// Chat.
        chat_id: u64,
        /// Sequence number, assigned by the chat's owner shard.
        seq: u64,
        /// Event bytes.
        event: Bytes,
    },
    /// Remember what a (device, client message id) was acknowledged with.
    PutDedup {
        /// Sending device.
        device_id: u64,
        /// The client's idempotency key.
        client_msg_id: String,
        /// The original ack.
        record: DedupRecord,
    },
    /// Create or replace a chat's metadata.
    PutChat(ChatMeta),
    /// Index a direct chat under its two users (order-insensitive).
    PutDirect {
        /// One user.
        a: u64,
        /// The other user.
        b: u64,
        /// The direct chat.
        chat_id: u64,
    },
    /// Add a member (or change its role). The `user_chats` projection is its own op
    /// ([`Op::PutUserChat`]): the chat core derives projections, the commit thread only writes.
    PutMember {
        /// Chat.
        chat_id: u64,
        /// User.
        user_id: u64,
        /// Role.
        role: Role,
        /// First seq the member receives (their join).
        since_seq: u64,
    },
    /// Remove a member.
    RemoveMember {
        /// Chat.
        chat_id: u64,
        /// User.
        user_id: u64,
    },
    /// List a chat among a user's chats (the `user_chats` projection), with the first seq they
    /// receive (their join), which sync and catch-up start from.
    PutUserChat {
        /// User.
        user_id: u64,
        /// Chat.
        chat_id: u64,
        /// First seq the member receives.
        since_seq: u64,
    },
    /// Drop a chat from a user's chats.
    RemoveUserChat {
        /// User.
        user_id: u64,
        /// Chat.
        chat_id: u64,
    },
    /// Replace a chat's log-derived head (the snapshot a load folds onto).
    PutChatHead {
        /// Chat.
        chat_id: u64,
        /// The head.
        head: ChatHead,
    },
    /// Index a message id under its chat and sequence number.
    PutMessageId {
        /// The message.
        message_id: u64,
        /// Where it is.
        location: MessageLocation,
    },
    /// Create or replace an invite link (and index its code).
    PutInvite(InviteRecord),
    /// Record a request to join a chat.
    PutJoinRequest {
        /// Chat.
        chat_id: u64,
        /// Who asks.
        user_id: u64,
        /// When, Unix ms.
        time_ms: i64,
    },
    /// Drop a join request (approved or declined).
    RemoveJoinRequest {
        /// Chat.
        chat_id: u64,
        /// Who asked.
        user_id: u64,
    },
    /// Drop a public handle (its chat gave it up; the claim itself is [`crate::Store::claim_handle`]).
    RemoveHandle {
        /// The handle.
        handle: String,
    },
    /// Replace what changed a message since it was sent.
    PutMessageState {
        /// Chat.
        chat_id: u64,
        /// The message.
        seq: u64,
        /// Its state now.
        record: MessageStateRecord,
    },
    /// Replace one user's reactions to one message (none: drop the entry).
    PutReactions {
        /// Chat.
        chat_id: u64,
        /// The message.
        seq: u64,
        /// Who reacted.
        user_id: u64,
        /// Their reactions now.
        emojis: Vec<String>,
    },
    /// Drop every reaction to a message (it was deleted for everyone).
    RemoveReactionsOf {
        /// Chat.
        chat_id: u64,
        /// The message.
        seq: u64,
    },
    /// Hide a message for one user (deleted for them only).
    PutHidden {
        /// Who hid it.
        user_id: u64,
        /// Chat.
        chat_id: u64,
        /// The message.
        seq: u64,
    },
    /// Index a message under a user it mentions.
    PutMention {
        /// The user mentioned.
        user_id: u64,
        /// The message.
        message_id: u64,
        /// Where it is.
        location: MessageLocation,
    },
    /// Drop a mention (the message was edited or deleted).
    RemoveMention {
        /// The user no longer mentioned.
        user_id: u64,
        /// The message.
        message_id: u64,
    },
    /// Pin a message of a chat.
    PutPin {
        /// Chat.
        chat_id: u64,
        /// The message.
        seq: u64,
        /// The seq of the event that pinned it (pins sort by it, newest first).
        pin_seq: u64,
    },
    /// Make the older versions of keys this commit rewrote to erase them leave the disk soon
    /// after it is written (see the `scrub` module); writes nothing itself.
    Scrub(crate::scrub::ScrubRange),
    /// Unpin a message.
    RemovePin {
        /// Chat.
        chat_id: u64,
        /// The message.
        seq: u64,
    },
    /// Replace one member's receipt cursors in a chat.
    PutReceipt {
        /// Chat.
        chat_id: u64,
        /// Member.
        user_id: u64,
        /// The cursors.
        receipt: crate::receipts::ReceiptRecord,
    },
}

/// Completion callback of a submission.
pub type CommitCallback = Box<dyn FnOnce(Result<()>) + Send + 'static>;

/// A queued submission. Its callback is called exactly once: normally by the committer, and
/// otherwise (shutdown, a panic while committing) with [`StoreError::Closed`] when dropped.
pub(crate) struct Pending {
    ops: Vec<Op>,
    done: Option<CommitCallback>,
}

impl Pending {
    fn complete(mut self, res: Result<()>) {
        if let Some(done) = self.done.take() {
            if catch_unwind(AssertUnwindSafe(move || done(res))).is_err() {
                tracing::error!("a commit callback panicked; the committer continues");
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = catch_unwind(AssertUnwindSafe(move || done(Err(StoreError::Closed))));
        }
    }
}

pub(crate) enum Msg {
    Submit(Pending),
    Shutdown,
}

/// Counters shared by the store, its committer handles and the committer thread.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) wal_syncs: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) ops_committed: AtomicU64,
    pub(crate) submissions: AtomicU64,
    /// Passes of the `magpie-scrub` thread.
    pub(crate) scrub_passes: Arc<AtomicU64>,
}

/// Handle for submitting writes to the group committer. `Send + Sync`, cheap to clone (an
/// `Arc` and a channel sender); obtain it with [`crate::Store::committer`]. It stays valid
/// after the store is closed (or its last [`crate::Store`] clone dropped); submissions then
/// fail with [`StoreError::Closed`].
#[derive(Clone)]
pub struct Committer {
    shared: Arc<CommitterShared>,
}

pub(crate) struct CommitterShared {
    /// `None` for read-only stores.
    tx: Option<Sender<Msg>>,
    /// Submitters hold the read lock from their `closing` check until their message is in
    /// the queue (or rejected).
    gate: RwLock<()>,
    /// Set first when closing: new submissions fail with `Closed`, and submitters blocked
    /// on a full queue give up, so the gate's write lock can be taken.
    closing: AtomicBool,
    /// Set once closing holds the gate's write lock: from then on no submission can be on
    /// its way into the queue, so the committer drains what is queued and stops.
    sealed: AtomicBool,
    counters: Arc<Counters>,
}

impl CommitterShared {
    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }
}

/// How often a submitter blocked on a full queue re-checks for shutdown.
const FULL_QUEUE_RECHECK: Duration = Duration::from_millis(10);

impl Committer {
    pub(crate) fn new(tx: Option<Sender<Msg>>, counters: Arc<Counters>) -> Self {
        Committer {
            shared: Arc::new(CommitterShared {
                tx,
                gate: RwLock::new(()),
                closing: AtomicBool::new(false),
                sealed: AtomicBool::new(false),
                counters,
            }),
        }
    }

    pub(crate) fn shared(&self) -> Arc<CommitterShared> {
        Arc::clone(&self.shared)
    }

    /// Queues `ops` to be written atomically in the next group commit and calls `done` with
    /// the outcome once they are durable (see [`Durability`]). Blocks only while the queue is
    /// full ([`QUEUE_CAPACITY`] submissions). `done` runs on the committer thread, in
    /// submission order; it must be quick and must not block or submit. On a closed store
    /// `done` is called immediately with [`StoreError::Closed`]; on a read-only store with
    /// [`StoreError::ReadOnly`].
    pub fn submit(&self, ops: Vec<Op>, done: Box<dyn FnOnce(Result<()>) + Send + 'static>) {
        let Some(tx) = &self.shared.tx else {
            done(Err(StoreError::ReadOnly));
            return;
        };
        let gate = self.shared.gate.read().unwrap_or_else(|e| e.into_inner());
        if self.shared.is_closing() {
            drop(gate);
            done(Err(StoreError::Closed));
            return;
        }
        let mut msg = Msg::Submit(Pending {
            ops,
            done: Some(done),
        });
        let rejected = loop {
            match tx.send_timeout(msg, FULL_QUEUE_RECHECK) {
                Ok(()) => {
                    self.shared
                        .counters
                        .submissions
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(SendTimeoutError::Timeout(m)) if !self.shared.is_closing() => msg = m,
                // Closing while the queue is full, or the committer is gone.
                Err(SendTimeoutError::Timeout(m)) | Err(SendTimeoutError::Disconnected(m)) => {
                    break m
                }
            }
        };
        drop(gate);
        // Dropping the message calls its callback with `Closed` (outside the gate).
        drop(rejected);
    }

    /// Like [`Committer::submit`], but never blocks: if the queue is full (or the store is
    /// closed or read-only) it returns the error at once, nothing is written and `done` is
    /// dropped without being called. Async callers (the engine's shards) use this, so that a
    /// slow disk turns into "retry later" answers instead of a stalled thread.
    pub fn try_submit(&self, ops: Vec<Op>, done: Box<dyn FnOnce(Result<()>) + Send + 'static>) -> Result<()> {
        let Some(tx) = &self.shared.tx else { return Err(StoreError::ReadOnly) };
        let _gate = self.shared.gate.read().unwrap_or_else(|e| e.into_inner());
        if self.shared.is_closing() {
            return Err(StoreError::Closed);
        }
        match tx.try_send(Msg::Submit(Pending { ops, done: Some(done) })) {
            Ok(()) => {
                self.shared.counters.submissions.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let busy = matches!(e, crossbeam_channel::TrySendError::Full(_));
                if let Msg::Submit(mut p) = e.into_inner() {
                    // Not queued: the caller learns it from the return value, not the callback.
                    p.done = None;
                }
                Err(if busy { StoreError::Busy } else { StoreError::Closed })
            }
        }
    }

    /// [`Committer::submit`] and wait for the outcome. For tools and tests; the engine uses
    /// `submit` so that no thread waits for an fsync. Must not be called from a callback.
    pub fn submit_wait(&self, ops: Vec<Op>) -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(
            ops,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Stops accepting submissions and makes the committer thread exit once it has written
    /// everything already queued. Idempotent; safe to call from a commit callback.
    pub(crate) fn close(&self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Wait for submitters that passed their `closing` check before it was set.
        drop(self.shared.gate.write().unwrap_or_else(|e| e.into_inner()));
        self.shared.sealed.store(true, Ordering::Release);
        // Wake the committer if it is waiting on an empty queue. If the queue is full it is
        // not waiting, and it checks `closing` after every group commit.
        if let Some(tx) = &self.shared.tx {
            let _ = tx.try_send(Msg::Shutdown);
        }
    }
}

/// Configuration of the committer thread.
pub(crate) struct CommitConfig {
    pub(crate) durability: Durability,
    pub(crate) max_batch_ops: usize,
}

/// Creates the queue.
pub(crate) fn channel() -> (Sender<Msg>, Receiver<Msg>) {
    crossbeam_channel::bounded(QUEUE_CAPACITY)
}

/// Column-family handles the committer writes to, resolved once.
struct Cfs<'a> {
    log: &'a ColumnFamily,
    dedup: &'a ColumnFamily,
    chats: &'a ColumnFamily,
    directs: &'a ColumnFamily,
    members: &'a ColumnFamily,
    user_chats: &'a ColumnFamily,
    chat_heads: &'a ColumnFamily,
    message_ids: &'a ColumnFamily,
    invites: &'a ColumnFamily,
    invite_codes: &'a ColumnFamily,
    join_requests: &'a ColumnFamily,
    handles: &'a ColumnFamily,
    receipts: &'a ColumnFamily,
    message_states: &'a ColumnFamily,
    reactions: &'a ColumnFamily,
    hidden: &'a ColumnFamily,
    mentions: &'a ColumnFamily,
    pins: &'a ColumnFamily,
}

impl<'a> Cfs<'a> {
    fn resolve(db: &'a DB) -> Result<Self> {
        let cf = |name: &str| {
            db.cf_handle(name)
                .ok_or_else(|| StoreError::Corrupt(format!("missing column family {name}")))
        };
        Ok(Cfs {
            log: cf(CF_LOG)?,
            dedup: cf(CF_DEDUP)?,
            chats: cf(CF_CHATS)?,
            directs: cf(CF_DIRECTS)?,
            members: cf(CF_MEMBERS)?,
            user_chats: cf(CF_USER_CHATS)?,
            chat_heads: cf(CF_CHAT_HEADS)?,
            message_ids: cf(CF_MESSAGE_IDS)?,
            invites: cf(CF_INVITES)?,
            invite_codes: cf(CF_INVITE_CODES)?,
            join_requests: cf(CF_JOIN_REQUESTS)?,
            handles: cf(CF_HANDLES)?,
            receipts: cf(crate::schema::CF_RECEIPTS)?,
            message_states: cf(CF_MESSAGE_STATES)?,
            reactions: cf(CF_REACTIONS)?,
            hidden: cf(CF_HIDDEN)?,
            mentions: cf(CF_MENTIONS)?,
            pins: cf(CF_PINS)?,
        })
    }

    /// Encodes a submission's ops into `batch`, parks the submission in `group` until the
    /// write is done, and returns how many ops it had.
    fn add(&self, mut p: Pending, batch: &mut WriteBatch, group: &mut Vec<Pending>, scrubs: &mut Vec<ScrubRange>) -> usize {
        let n = p.ops.len();
        for op in std::mem::take(&mut p.ops) {
            match op {
                Op::Scrub(r) => scrubs.push(r),
                op => self.encode(batch, op),
            }
        }
        group.push(p);
        n
    }

    fn encode(&self, batch: &mut WriteBatch, op: Op) {
        match op {
            Op::Append {
                chat_id,
                seq,
                event,
            } => batch.put_cf(self.log, keys::log_key(chat_id, seq), &event[..]),
            Op::PutDedup {
                device_id,
                client_msg_id,
                record,
            } => batch.put_cf(
                self.dedup,
                keys::dedup_key(device_id, &client_msg_id),
                codec::encode_dedup(&record),
            ),
            Op::PutChat(meta) => batch.put_cf(
                self.chats,
                keys::id_key(meta.chat_id),
                codec::encode_chat(&meta),
            ),
            Op::PutDirect { a, b, chat_id } => batch.put_cf(
                self.directs,
                keys::direct_key(a, b),
                codec::encode_u64_value(chat_id),
            ),
            Op::PutMember {
                chat_id,
                user_id,
                role,
                since_seq,
            } => {
                batch.put_cf(
                    self.members,
                    keys::member_key(chat_id, user_id),
                    codec::encode_member(&MemberRecord { role, since_seq }),
                );
            }
            Op::RemoveMember { chat_id, user_id } => {
                batch.delete_cf(self.members, keys::member_key(chat_id, user_id));
            }
            Op::PutUserChat { user_id, chat_id, since_seq } => batch.put_cf(
                self.user_chats,
                keys::user_chat_key(user_id, chat_id),
                codec::encode_u64_value(since_seq),
            ),
            Op::RemoveUserChat { user_id, chat_id } => {
                batch.delete_cf(self.user_chats, keys::user_chat_key(user_id, chat_id))
            }
            Op::PutChatHead { chat_id, head } => batch.put_cf(
                self.chat_heads,
                keys::id_key(chat_id),
                codec::encode_chat_head(&head),
            ),
            Op::PutMessageId {
                message_id,
                location,
            } => batch.put_cf(
                self.message_ids,
                keys::id_key(message_id),
                codec::encode_message_location(&location),
            ),
            Op::PutInvite(invite) => {
                batch.put_cf(self.invite_codes, keys::name_key(&invite.code), codec::encode_u64_value(invite.chat_id));
                batch.put_cf(self.invites, keys::invite_key(invite.chat_id, &invite.code), codec::encode_invite(&invite));
            }
            Op::PutJoinRequest { chat_id, user_id, time_ms } => batch.put_cf(
                self.join_requests,
                keys::join_request_key(chat_id, user_id),
                time_ms.to_be_bytes(),
            ),
            Op::RemoveJoinRequest { chat_id, user_id } => {
                batch.delete_cf(self.join_requests, keys::join_request_key(chat_id, user_id))
            }
            Op::RemoveHandle { handle } => batch.delete_cf(self.handles, keys::name_key(&handle)),
            Op::PutReceipt { chat_id, user_id, receipt } => batch.put_cf(
                self.receipts,
                crate::receipts::receipt_key(chat_id, user_id),
                crate::receipts::encode_receipt(&receipt),
            ),
            Op::PutMessageState { chat_id, seq, record } => {
                batch.put_cf(self.message_states, keys::message_key(chat_id, seq), codec::encode_message_state(&record))
            }
            Op::PutReactions { chat_id, seq, user_id, emojis } if emojis.is_empty() => {
                batch.delete_cf(self.reactions, keys::reaction_key(chat_id, seq, user_id))
            }
            Op::PutReactions { chat_id, seq, user_id, emojis } => {
                batch.put_cf(self.reactions, keys::reaction_key(chat_id, seq, user_id), codec::encode_emojis(&emojis))
            }
            Op::RemoveReactionsOf { chat_id, seq } => batch.delete_range_cf(
                self.reactions,
                keys::reaction_key(chat_id, seq, 0),
                keys::reaction_key(chat_id, seq.saturating_add(1), 0),
            ),
            Op::PutHidden { user_id, chat_id, seq } => batch.put_cf(self.hidden, keys::hidden_key(user_id, chat_id, seq), []),
            Op::PutMention { user_id, message_id, location } => {
                batch.put_cf(self.mentions, keys::mention_key(user_id, message_id), codec::encode_mention(&location))
            }
            Op::RemoveMention { user_id, message_id } => batch.delete_cf(self.mentions, keys::mention_key(user_id, message_id)),
            Op::PutPin { chat_id, seq, pin_seq } => {
                batch.put_cf(self.pins, keys::message_key(chat_id, seq), codec::encode_u64_value(pin_seq))
            }
            Op::RemovePin { chat_id, seq } => batch.delete_cf(self.pins, keys::message_key(chat_id, seq)),
            Op::Scrub(_) => unreachable!("taken by Cfs::add"),
        }
    }
}

/// Body of the `magpie-commit` thread. Once closing has sealed the queue it commits whatever
/// is still queued, without waiting for more, and returns.
pub(crate) fn run(db: Arc<DB>, rx: Receiver<Msg>, cfg: CommitConfig, shared: Arc<CommitterShared>, scrub: ScrubSender) {
    let counters = Arc::clone(&shared.counters);
    let cfs = match Cfs::resolve(&db) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("committer cannot start: {e}");
            // Later submissions see `closing` and fail immediately; fail what got queued.
            shared.closing.store(true, Ordering::Release);
            drop(shared.gate.write().unwrap_or_else(|e| e.into_inner()));
            while let Ok(msg) = rx.try_recv() {
                drop(msg);
            }
            return;
        }
    };
    let sync = matches!(cfg.durability, Durability::PowerLoss);
    let mut wo = WriteOptions::default();
    wo.set_sync(sync);
    let max_ops = cfg.max_batch_ops.max(1);

    let mut closing = false;
    let mut carry: Option<Pending> = None;
    let mut group: Vec<Pending> = Vec::new();
    loop {
        let first = match carry.take() {
            Some(p) => p,
            None => {
                let msg = if closing {
                    match rx.try_recv() {
                        Ok(m) => m,
                        Err(_) => break, // drained
                    }
                } else {
                    match rx.recv() {
                        Ok(m) => m,
                        Err(_) => break, // every sender is gone
                    }
                };
                match msg {
                    Msg::Submit(p) => p,
                    Msg::Shutdown => {
                        closing = true;
                        continue;
                    }
                }
            }
        };
        let mut batch = WriteBatch::default();
        let mut scrubs = Vec::new();
        let mut total = cfs.add(first, &mut batch, &mut group, &mut scrubs);
        // Take whatever else is already queued, without waiting for more.
        while total < max_ops {
            match rx.try_recv() {
                Ok(Msg::Submit(p)) => {
                    if total + p.ops.len() > max_ops {
                        carry = Some(p);
                        break;
                    }
                    total += cfs.add(p, &mut batch, &mut group, &mut scrubs);
                }
                Ok(Msg::Shutdown) => closing = true,
                Err(_) => break,
            }
        }

        let res = if batch.is_empty() {
            Ok(()) // only op-less submissions: nothing to write, nothing to wait for
        } else {
            let r = db.write_opt(batch, &wo);
            counters.commits.fetch_add(1, Ordering::Relaxed);
            if sync {
                counters.wal_syncs.fetch_add(1, Ordering::Relaxed);
            }
            match &r {
                Ok(()) => {
                    counters
                        .ops_committed
                        .fetch_add(total as u64, Ordering::Relaxed);
                    if !scrubs.is_empty() {
                        // Only fails once the scrubber is gone, which it is not before us.
                        let _ = scrub.send(scrubs);
                    }
                }
                Err(e) => tracing::error!(submissions = group.len(), "group commit failed: {e}"),
            }
            r
        };
        for p in group.drain(..) {
            p.complete(res.clone().map_err(StoreError::Db));
        }
        closing = closing || shared.is_sealed();
    }
}
