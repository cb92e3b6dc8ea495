//! The one append pipeline: every change to a chat becomes an event with the chat's next
//! sequence number through [`append`], and every commit result comes back through [`committed`].
//!
//! An append hands the event and its derived writes to the commit thread; only if the hand-over
//! is accepted does the chat's head state change, so a refusal leaves no trace. The sender is
//! acked, and the event delivered, only when the commit thread reports the batch durable. A
//! [`Commit`] may hold several events and changes beside the log (subscriptions, invites, join
//! requests): one batch, all or nothing.

use super::change::Change;
use super::dedup::{self, Acked};
use super::effects::{Cx, Effect, Observation, Refusal};
use super::projection;
use super::pending_reactions;
use super::targets::Targets;
use super::view::{ChatView, Side};
use crate::crossing::{Audience, Delivery, MemberMap, ReplyTo, Signal};
use bytes::Bytes;
use magpie_wire::{encode, ErrorCode};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A loaded chat on its owner shard.
pub struct ChatState {
    /// Every appended event applied, committed or still in flight: what commands are checked
    /// against, so that a command sees the ones before it.
    pub head: ChatView,
    /// Only durable events applied: what reads are answered from.
    pub durable: ChatView,
    pub dedup: dedup::Window,
    /// Handed to the commit thread, oldest first; it completes them in this order.
    inflight: VecDeque<Pending>,
    /// A commit failed: finish what is in flight, then drop this state and reload from disk.
    pub poisoned: bool,
    /// The messages commands are about (`targets.rs`).
    pub targets: Targets,
    /// Reactions waiting to be appended (`reactions.rs`).
    pub reactions: pending_reactions::Pending,
}

/// What happens once a commit is durable (or failed).
pub enum After {
    /// A message: ack every request waiting for this (device, client message id).
    Ack { key: dedup::Key, message_id: u64, time_ms: i64 },
    /// Answer `Ok`.
    Ok(ReplyTo),
    /// A new chat: answer with its info; direct chats answer everyone waiting for the pair.
    Created { reply: ReplyTo, pair: Option<(u64, u64)> },
    /// Answer with this frame (built when the commit was handed over, from the state it
    /// leaves, which is what is durable once it is), then send these signals.
    Reply { reply: ReplyTo, frame: Bytes, signals: Vec<Signal> },
    /// Answer with the chat's info as `viewer` sees it once this is durable, then send these
    /// signals.
    Info { reply: ReplyTo, viewer: u64, signals: Vec<Signal> },
    /// A `ReactionsChanged`: answer `Ok` to everyone whose reaction it carries.
    Reactions(Vec<ReplyTo>),
}

/// One commit: events appended in order (each with the chat's next seq), then changes beside
/// the log, all in one batch.
pub struct Commit {
    pub changes: Vec<Change>,
    pub sides: Vec<Side>,
    pub after: After,
    /// Messages: when this shard received the Send.
    pub received: Option<Instant>,
}

impl Commit {
    pub fn side(side: Side, after: After) -> Commit {
        Commit { changes: Vec::new(), sides: vec![side], after, received: None }
    }
}

struct Appended {
    seq: u64,
    change: Change,
    event: Bytes,
    audience: MemberMap,
}

struct Pending {
    /// Who sent the events (user id).
    sender: u64,
    events: Vec<Appended>,
    sides: Vec<Side>,
    after: After,
    received: Option<Instant>,
}

impl ChatState {
    pub fn new(view: ChatView) -> ChatState {
        ChatState {
            durable: view.clone(),
            head: view,
            dedup: dedup::Window::default(),
            inflight: VecDeque::new(),
            poisoned: false,
            targets: Targets::default(),
            reactions: pending_reactions::Pending::default(),
        }
    }

    pub fn chat_id(&self) -> u64 {
        self.head.meta.chat_id
    }

    /// Nothing in flight: the state can be dropped.
    pub fn idle(&self) -> bool {
        self.inflight.is_empty()
    }

    /// Refuses every command parked or reaction collected here, for a state being dropped.
    pub fn abandon(&mut self, cx: &mut Cx<'_>) {
        let gone = (ErrorCode::Unavailable, "the chat is recovering from a storage error");
        self.targets.abandon().iter().for_each(|c| cx.refuse(c.actor().reply, gone));
        self.reactions.abandon().into_iter().for_each(|r| cx.refuse(r, gone));
    }
}

/// Appends `change`, sent by `sender` (user, device), as the chat's next event.
pub fn append(
    state: &mut ChatState,
    sender: (u64, u64),
    change: Change,
    after: After,
    received: Option<Instant>,
    cx: &mut Cx<'_>,
) -> Result<u64, Refusal> {
    commit(state, sender, Commit { changes: vec![change], sides: Vec::new(), after, received }, cx)
}

/// Hands `c` to the commit thread as one batch; only if it is accepted does the head change.
/// Returns the chat's last seq after it.
pub fn commit(state: &mut ChatState, sender: (u64, u64), c: Commit, cx: &mut Cx<'_>) -> Result<u64, Refusal> {
    // One change (every message) is checked and projected against the head itself; several
    // against a copy (cheap: the members are shared), so a refused hand-over leaves no trace.
    let single = c.changes.len() + c.sides.len() == 1;
    let mut scratch = if single { None } else { Some(state.head.clone()) };
    let mut ops = Vec::new();
    let mut events = Vec::with_capacity(c.changes.len());
    for change in c.changes {
        let view = scratch.as_mut().unwrap_or(&mut state.head);
        let seq = view.last_seq + 1;
        let h = encode::EventHeader { chat_id: view.meta.chat_id, seq, sender_id: sender.0, sender_device_id: sender.1, time_ms: cx.now.wall_ms };
        let event = change.encode(&h);
        ops.extend(projection::ops(&h, &change, event.clone(), view));
        if let Some(view) = scratch.as_mut() {
            let audience = apply_with_audience(view, seq, sender.0, &change);
            events.push(Appended { seq, change, event, audience });
        } else {
            events.push(Appended { seq, change, event, audience: MemberMap::default() });
        }
    }
    for side in &c.sides {
        let view = scratch.as_mut().unwrap_or(&mut state.head);
        ops.extend(projection::side_ops(side, view));
        if let Some(view) = scratch.as_mut() {
            view.apply_side(side);
        }
    }
    cx.commits.try_commit(state.chat_id(), ops)?;
    match scratch {
        Some(view) => state.head = view,
        None => {
            for e in &mut events {
                e.audience = apply_with_audience(&mut state.head, e.seq, sender.0, &e.change);
            }
            c.sides.iter().for_each(|s| state.head.apply_side(s));
        }
    }
    state.inflight.push_back(Pending { sender: sender.0, events, sides: c.sides, after: c.after, received: c.received });
    Ok(state.head.last_seq)
}

/// Applies `change` and returns who receives its event: the members after it (so those added
/// get the event that adds them), or for a removal those before it (so the removed one is told).
fn apply_with_audience(view: &mut ChatView, seq: u64, sender: u64, change: &Change) -> MemberMap {
    let before = view.members.clone();
    view.apply(seq, sender, change);
    if matches!(change, Change::MemberRemoved { .. }) { before } else { view.members.clone() }
}

/// A new direct chat's commit finished: everyone waiting for the pair gets the answer.
pub struct PairCreated {
    pub pair: (u64, u64),
    pub durable: bool,
}

/// The oldest in-flight event of `state` is durable (`Ok`) or its commit failed. Replies to
/// requests waiting for a direct pair are left to the caller, which keeps those waiters.
pub fn committed(state: &mut ChatState, result: Result<(), String>, elapsed: Duration, cx: &mut Cx<'_>) -> Option<PairCreated> {
    let chat_id = state.chat_id();
    let Some(p) = state.inflight.pop_front() else {
        tracing::error!(chat_id, "commit result with nothing in flight");
        return None;
    };
    let mut pair_created = None;
    match result {
        Ok(()) => {
            cx.effects.push(Effect::Observe(Observation::Committed));
            for e in &p.events {
                state.durable.apply(e.seq, p.sender, &e.change);
            }
            p.sides.iter().for_each(|s| state.durable.apply_side(s));
            let last_seq = p.events.last().map(|e| e.seq);
            match p.after {
                After::Ack { key, message_id, time_ms } => {
                    cx.effects.push(Effect::Observe(Observation::SendDurable(elapsed)));
                    let seq = last_seq.unwrap_or_default();
                    let acked = Acked { message_id, seq, time_ms };
                    for r in state.dedup.done(key.clone(), acked) {
                        cx.reply(r, encode::send_ack(r.request_id, chat_id, &key.1, message_id, seq, time_ms));
                    }
                }
                After::Ok(r) => cx.reply(r, encode::ok(r.request_id)),
                After::Created { pair: Some(pair), .. } => pair_created = Some(PairCreated { pair, durable: true }),
                After::Created { reply, pair: None } => cx.reply(reply, state.durable.info_frame(reply.request_id, state.durable.owner)),
                After::Reply { reply, frame, signals } => {
                    cx.reply(reply, frame);
                    cx.effects.extend(signals.into_iter().map(Effect::Signal));
                }
                After::Info { reply, viewer, signals } => {
                    cx.reply(reply, state.durable.info_frame(reply.request_id, viewer));
                    cx.effects.extend(signals.into_iter().map(Effect::Signal));
                }
                After::Reactions(waiters) => {
                    state.reactions.in_flight = false;
                    waiters.into_iter().for_each(|r| cx.reply(r, encode::ok(r.request_id)));
                }
            }
            for e in p.events {
                cx.effects.push(Effect::Deliver(Delivery {
                    chat_id,
                    seq: e.seq,
                    audience: Audience::Members(e.audience),
                    frame: encode::deliver(&e.event),
                    received: p.received,
                }));
            }
        }
        Err(e) => {
            tracing::error!(chat_id, error = %e, "commit failed; the chat will be reloaded");
            state.poisoned = true;
            let storage_error = (ErrorCode::Internal, "storage error");
            match p.after {
                After::Ack { key, .. } => state.dedup.failed(&key).into_iter().for_each(|r| cx.refuse(r, storage_error)),
                After::Ok(r) | After::Created { reply: r, pair: None } | After::Reply { reply: r, .. } | After::Info { reply: r, .. } => {
                    cx.refuse(r, storage_error)
                }
                After::Created { pair: Some(pair), .. } => pair_created = Some(PairCreated { pair, durable: false }),
                After::Reactions(waiters) => {
                    state.reactions.in_flight = false;
                    waiters.into_iter().for_each(|r| cx.refuse(r, storage_error));
                }
            }
        }
    }
    pair_created
}
