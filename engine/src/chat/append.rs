//! The one append pipeline: every change to a chat becomes an event with the chat's next
//! sequence number through [`append`], and every commit result comes back through [`committed`].
//!
//! An append hands the event and its derived writes to the commit thread; only if the hand-over
//! is accepted does the chat's head state change, so a refusal leaves no trace. The sender is
//! acked, and the event delivered, only when the commit thread reports the batch durable.

use super::change::Change;
use super::dedup::{self, Acked};
use super::effects::{Cx, Effect, Observation, Refusal};
use super::projection;
use super::view::ChatView;
use crate::crossing::{Audience, Delivery, ReplyTo};
use bytes::Bytes;
use magpie_wire::{encode, ErrorCode};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A loaded chat on its owner shard.
pub struct ChatState {
    /// Every appended event applied, committed or still in flight: what commands are checked
    /// against, so that a command sees the ones before it.
    pub head: ChatView,
    /// Only durable events applied: what reads are answered from.
    pub durable: ChatView,
    /// `head`'s members, sorted (shared by every delivery until membership changes).
    pub recipients: Arc<[u64]>,
    pub dedup: dedup::Window,
    /// Handed to the commit thread, oldest first; it completes them in this order.
    inflight: VecDeque<Pending>,
    /// A commit failed: finish what is in flight, then drop this state and reload from disk.
    pub poisoned: bool,
}

/// What happens once an event is durable (or its commit failed).
pub enum After {
    /// A message: ack every request waiting for this (device, client message id).
    Ack { key: dedup::Key, message_id: u64, time_ms: i64 },
    /// Answer `Ok`.
    Ok(ReplyTo),
    /// A new chat: answer with its info; direct chats answer everyone waiting for the pair.
    Created { reply: ReplyTo, pair: Option<(u64, u64)> },
}

struct Pending {
    seq: u64,
    change: Change,
    event: Bytes,
    audience: Arc<[u64]>,
    after: After,
    /// Messages: when this shard received the Send.
    received: Option<Instant>,
}

impl ChatState {
    pub fn new(view: ChatView) -> ChatState {
        ChatState {
            recipients: view.recipients(),
            durable: view.clone(),
            head: view,
            dedup: dedup::Window::default(),
            inflight: VecDeque::new(),
            poisoned: false,
        }
    }

    pub fn chat_id(&self) -> u64 {
        self.head.meta.chat_id
    }

    /// Nothing in flight: the state can be dropped.
    pub fn idle(&self) -> bool {
        self.inflight.is_empty()
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
    let seq = state.head.last_seq + 1;
    let h = encode::EventHeader {
        chat_id: state.chat_id(),
        seq,
        sender_id: sender.0,
        sender_device_id: sender.1,
        time_ms: cx.now.wall_ms,
    };
    let event = change.encode(&h);
    let ops = projection::ops(&h, &change, event.clone(), &state.head);
    cx.commits.try_commit(h.chat_id, ops)?;
    let before = state.recipients.clone();
    state.head.apply(seq, &change);
    // Members added receive the event that adds them; a removed member is told of it too.
    let audience = if change.changes_membership() {
        state.recipients = state.head.recipients();
        union(&before, &state.recipients)
    } else {
        before
    };
    state.inflight.push_back(Pending { seq, change, event, audience, after, received });
    Ok(seq)
}

fn union(a: &Arc<[u64]>, b: &Arc<[u64]>) -> Arc<[u64]> {
    let mut v: Vec<u64> = a.iter().chain(b.iter()).copied().collect();
    v.sort_unstable();
    v.dedup();
    Arc::from(v)
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
            state.durable.apply(p.seq, &p.change);
            match p.after {
                After::Ack { key, message_id, time_ms } => {
                    cx.effects.push(Effect::Observe(Observation::SendDurable(elapsed)));
                    let acked = Acked { message_id, seq: p.seq, time_ms };
                    for r in state.dedup.done(key.clone(), acked) {
                        cx.reply(r, encode::send_ack(r.request_id, chat_id, &key.1, message_id, p.seq, time_ms));
                    }
                }
                After::Ok(r) => cx.reply(r, encode::ok(r.request_id)),
                After::Created { pair: Some(pair), .. } => pair_created = Some(PairCreated { pair, durable: true }),
                After::Created { reply, pair: None } => cx.reply(reply, state.durable.info_frame(reply.request_id)),
            }
            cx.effects.push(Effect::Deliver(Delivery {
                chat_id,
                seq: p.seq,
                audience: Audience::Users(p.audience),
                frame: encode::deliver(&p.event),
                received: p.received,
            }));
        }
        Err(e) => {
            tracing::error!(chat_id, seq = p.seq, error = %e, "commit failed; the chat will be reloaded");
            state.poisoned = true;
            let storage_error = (ErrorCode::Internal, "storage error");
            match p.after {
                After::Ack { key, .. } => state.dedup.failed(&key).into_iter().for_each(|r| cx.refuse(r, storage_error)),
                After::Ok(r) | After::Created { reply: r, pair: None } => cx.refuse(r, storage_error),
                After::Created { pair: Some(pair), .. } => pair_created = Some(PairCreated { pair, durable: false }),
            }
        }
    }
    pair_created
}
