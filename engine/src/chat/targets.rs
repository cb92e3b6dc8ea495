//! The messages a chat's commands are about: replies quote one, edits, deletions, reactions,
//! pins and live-location updates change one. A command names a message by seq; before the
//! core can check it (who sent it, is it deleted, what does it say) it must have the message,
//! which is on disk. So a command about messages the core does not know yet is parked, the shard
//! reads them ([`Effect::FetchMessages`]), and the command runs again when they arrive.
//!
//! Invariant: a known message is always the state the chat's head has (every change the core
//! appends updates it once the hand-over is accepted), so it is authoritative while the chat is
//! loaded; a message not known has no change in flight (a change needs it known first), so the
//! disk has its head state. The cache is dropped only when nothing is in flight, and a read that
//! was started before a drop is discarded (its generation is old).

use super::effects::{Cx, Effect, Refusal};
use super::view::ChatView;
use crate::crossing::Command;
use bytes::Bytes;
use magpie_storage::MessageStateRecord;
use magpie_wire::encode::EventHeader;
use magpie_wire::message::Message;
use magpie_wire::{fb, verify, ErrorCode};
use std::collections::{HashMap, HashSet};

pub const NOT_FOUND: Refusal = (ErrorCode::MessageNotFound, "no such message in this chat");
pub const DELETED: Refusal = (ErrorCode::MessageDeleted, "the message was deleted");

/// Known messages kept before the cache is dropped (when nothing is in flight).
const KEEP: usize = 4096;

/// A message as the chat's head has it.
#[derive(Debug, Clone)]
pub struct Target {
    pub header: EventHeader,
    pub message: Message,
    pub state: MessageStateRecord,
    /// Users whose reactions to it are known, with their reactions.
    pub reactors: HashMap<u64, Vec<String>>,
}

impl Target {
    /// Its text now.
    pub fn content(&self) -> &str {
        if self.state.edits.is_empty() { &self.message.content } else { &self.state.content }
    }

    /// Its mentions now.
    pub fn mentions(&self) -> &[u64] {
        if self.state.edits.is_empty() { &self.message.mentions } else { &self.state.mentions }
    }

    pub fn deleted(&self) -> bool {
        self.message.deleted || self.state.deleted
    }
}

enum Known {
    Message(Box<Target>),
    /// An event that is not a message, or none.
    Not,
}

/// What a read of one message found on disk.
#[derive(Debug)]
pub struct Fetched {
    pub seq: u64,
    pub event: Option<Vec<u8>>,
    pub state: Option<MessageStateRecord>,
    /// The reactor's reactions, when the read asked for them.
    pub reactions: Option<Vec<String>>,
}

#[derive(Default)]
pub struct Targets {
    known: HashMap<u64, Known>,
    /// Reads in flight: (seq, reactor).
    fetching: HashSet<(u64, Option<u64>)>,
    /// Commands waiting for reads, in arrival order.
    parked: Vec<Command>,
    generation: u64,
}

impl Targets {
    /// Whether every one of `seqs` is known (with `reactor`'s reactions, if named); if not, the
    /// command is parked and the missing ones are read. Seqs must already be checked to be in
    /// the chat's durable log.
    pub fn ready(&mut self, chat_id: u64, seqs: &[u64], reactor: Option<u64>, cmd: Command, cx: &mut Cx<'_>) -> Option<Command> {
        let missing: Vec<u64> = seqs
            .iter()
            .copied()
            .filter(|s| match self.known.get(s) {
                None => true,
                Some(Known::Message(t)) => reactor.is_some_and(|r| !t.reactors.contains_key(&r)),
                Some(Known::Not) => false,
            })
            .collect();
        if missing.is_empty() {
            return Some(cmd);
        }
        let to_read: Vec<u64> = missing.into_iter().filter(|&s| self.fetching.insert((s, reactor))).collect();
        if !to_read.is_empty() {
            cx.effects.push(Effect::FetchMessages { chat_id, seqs: to_read, reactor, generation: self.generation });
        }
        self.parked.push(cmd);
        None
    }

    /// A read finished: what it found becomes known (unless the cache was dropped since), and
    /// every parked command is returned to run again (those still missing something park again).
    pub fn fetched(&mut self, generation: u64, reactor: Option<u64>, result: Result<Vec<Fetched>, String>) -> Result<Vec<Command>, (String, Vec<Command>)> {
        let parked = std::mem::take(&mut self.parked);
        let found = match result {
            Ok(found) => found,
            Err(e) => {
                self.fetching.clear();
                return Err((e, parked));
            }
        };
        if generation != self.generation {
            return Ok(parked);
        }
        for f in found {
            self.fetching.remove(&(f.seq, reactor));
            let entry = self.known.entry(f.seq).or_insert_with(|| match f.event.as_deref().and_then(target_of) {
                Some((header, message)) => Known::Message(Box::new(Target {
                    header,
                    message,
                    state: f.state.unwrap_or_default(),
                    reactors: HashMap::new(),
                })),
                None => Known::Not,
            });
            if let (Known::Message(t), Some(r), Some(mine)) = (entry, reactor, f.reactions) {
                t.reactors.entry(r).or_insert(mine);
            }
        }
        Ok(parked)
    }

    /// A known message, or why there is none for `user` (not a message, or before what they may
    /// see).
    pub fn get(&self, view: &ChatView, user: u64, seq: u64) -> Result<&Target, Refusal> {
        match self.known.get(&seq) {
            Some(Known::Message(t)) if seq >= visible_from(view, user) => Ok(t),
            _ => Err(NOT_FOUND),
        }
    }

    /// A known message that is not deleted.
    pub fn live(&self, view: &ChatView, user: u64, seq: u64) -> Result<&Target, Refusal> {
        let t = self.get(view, user, seq)?;
        if t.deleted() { Err(DELETED) } else { Ok(t) }
    }

    pub fn get_mut(&mut self, seq: u64) -> Option<&mut Target> {
        match self.known.get_mut(&seq) {
            Some(Known::Message(t)) => Some(t),
            _ => None,
        }
    }

    /// Replaces a known message (after a change to it was handed over).
    pub fn put(&mut self, seq: u64, t: Target) {
        self.known.insert(seq, Known::Message(Box::new(t)));
    }

    /// Drops the cache if it is big and nothing is in flight (then the disk has every change).
    pub fn trim(&mut self, idle: bool) {
        if idle && self.known.len() > KEEP && self.parked.is_empty() {
            self.known.clear();
            self.fetching.clear();
            self.generation += 1;
        }
    }

    /// The parked commands, for a state being dropped.
    pub fn abandon(&mut self) -> Vec<Command> {
        self.fetching.clear();
        std::mem::take(&mut self.parked)
    }
}

/// The first seq of a chat `user` may see: their join when the chat hides older history.
pub fn visible_from(view: &ChatView, user: u64) -> u64 {
    match view.settings.history {
        fb::HistoryVisibility::SinceJoined => view.members.get(&user).map_or(u64::MAX, |m| m.since_seq),
        _ => 1,
    }
}

/// A stored event's header and message, if it is a message.
fn target_of(event: &[u8]) -> Option<(EventHeader, Message)> {
    let e = verify::event(event).ok()?;
    let m = Message::from_fb(e.body_as_message_body()?).ok()?;
    let header = EventHeader { chat_id: e.chat_id(), seq: e.seq(), sender_id: e.sender_id(), sender_device_id: e.sender_device_id(), time_ms: e.time_ms() };
    Some((header, m))
}

/// The stored bytes of `t`'s message event with `message` in it (same header).
pub fn rewrite(t: &Target, message: &Message) -> Bytes {
    magpie_wire::encode::message_event_of(&t.header, message)
}
