//! What the chat core hands back to its shard, and what one input may use.

use crate::crossing::{Delivery, MemberMap, ReplyTo, Signal};
use crate::ids::MessageIds;
use bytes::Bytes;
use magpie_storage::Op;
use magpie_wire::{encode, fb, ErrorCode};
use std::time::{Duration, Instant};

/// A refusal: the stable code and a human-readable detail.
pub type Refusal = (ErrorCode, &'static str);

/// The time of an input: monotonic for durations, wall clock for what is stored.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub wall_ms: i64,
}

/// The commit thread's hand-over, which must never wait: full means refused (`unavailable`).
pub trait Commits {
    fn try_commit(&mut self, chat_id: u64, ops: Vec<Op>) -> Result<(), Refusal>;
}

/// What the shard must do.
#[derive(Debug)]
pub enum Effect {
    Reply(ReplyTo, Bytes),
    /// Hand a committed event to every shard (one hop per shard).
    Deliver(Delivery),
    /// Hand an ephemeral push to every shard (one hop per shard).
    Signal(Signal),
    /// Read a chat's snapshot and fold the events after it, then feed `Input::Loaded`.
    Load { chat_id: u64, load: u64 },
    /// Find the pair's direct chat, or allocate an id this shard owns; then `Input::DirectFound`.
    FindDirect { pair: (u64, u64) },
    /// Read a history page for a member and answer it; never past `up_to` (the durable end)
    /// nor before `from_min` (the member's join, when the chat hides older history).
    /// The page carries the states of its changed messages as `viewer` sees them.
    ReadHistory { reply: ReplyTo, chat_id: u64, from_seq: u64, direction: fb::Direction, limit: usize, up_to: u64, from_min: u64, viewer: u64 },
    /// Read these messages (with `reactor`'s reactions to them), then feed `Input::Fetched`.
    FetchMessages { chat_id: u64, seqs: Vec<u64>, reactor: Option<u64>, generation: u64 },
    /// Feed `Input::Wake` for the chat after this long (coalesced reactions, and receipt counts,
    /// of a large chat).
    Wake { chat_id: u64, after: Duration },
    /// Read the events holding a message's versions (`seqs`: the message, then its edits) and
    /// answer with `MessageVersions`.
    ReadVersions { reply: ReplyTo, chat_id: u64, seq: u64, seqs: Vec<u64> },
    /// Read a page of who reacted to a message and answer with `ReactionList`.
    ReadReactions { reply: ReplyTo, chat_id: u64, seq: u64, emoji: Option<String>, after_user_id: u64, limit: usize },
    /// Read these pinned messages (most recently pinned first) and answer with `PinList`.
    ReadPins { reply: ReplyTo, chat_id: u64, seqs: Vec<u64>, viewer: u64 },
    /// A measurement for the metrics.
    Observe(Observation),
    /// Hand an ephemeral push to the connections, on every shard, that watch the chat (typing in
    /// a large chat).
    ToWatchers { chat_id: u64, frame: Bytes },
    /// Count the chat's members online (on every shard) and push the count to `reply`'s
    /// connection.
    CountOnline { chat_id: u64, members: MemberMap, reply: ReplyTo, token: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// A message's commit took this long from hand-over to callback.
    SendDurable(Duration),
    /// An event became durable.
    Committed,
}

/// Everything one input may use besides the chats.
pub struct Cx<'a> {
    pub now: Now,
    pub commits: &'a mut dyn Commits,
    pub ids: &'a MessageIds,
    pub effects: Vec<Effect>,
}

impl Cx<'_> {
    /// Answers a request. A command nobody waits for (request id 0: a typing datagram, an
    /// online count, the receipt flags a privacy change sets) is never answered.
    pub fn reply(&mut self, to: ReplyTo, frame: Bytes) {
        if to.request_id != 0 {
            self.effects.push(Effect::Reply(to, frame));
        }
    }

    pub fn refuse(&mut self, to: ReplyTo, (code, msg): Refusal) {
        let retry = if code.retryable() { 100 } else { 0 };
        self.reply(to, encode::error(to.request_id, code, msg, retry));
    }
}
