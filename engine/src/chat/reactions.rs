//! Reactions: `React`, coalesced. A reaction is not an event of its own: the chat collects them
//! and appends one `ReactionsChanged` event for all of them — as soon as the previous one is
//! durable in chats of at most [`REACTION_TOGGLES_UP_TO`] members (so a quiet chat sees each
//! reaction at once and a busy one batches them by itself), and at most once per
//! [`REACTION_INTERVAL_MS`] with totals only in bigger ones, so that a reaction storm in a
//! 100,000-member channel is one delivery per member per second, not one per reaction.
//!
//! A reaction is acked when the event carrying it is durable, like a message. Until it is
//! handed over it lives only in [`Pending`], and the messages it is about are changed only when
//! the hand-over is accepted, so a refused one leaves no trace.

use super::append::{commit, After, ChatState, Commit};
use super::change::Change;
use super::effects::{Cx, Effect, Refusal};
use super::pending_reactions::{toggle, Toggle};
use super::rules::{self, Permission};
use super::view::Side;
use crate::crossing::{Command, React};
use magpie_storage::Op;
use magpie_wire::limits::{MAX_REACTIONS_PER_USER, REACTION_INTERVAL_MS, REACTION_TOGGLES_UP_TO};
use magpie_wire::message::{sorted_counts, ReactionUpdate};
use magpie_wire::{encode, ErrorCode};
use std::collections::BTreeMap;
use std::time::Duration;

pub fn react(state: &mut ChatState, c: React, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    rules::check(&state.head, user, Permission::Read)?;
    if !(1..=state.durable.last_seq).contains(&c.seq) {
        return Err(super::targets::NOT_FOUND);
    }
    let Some(Command::React(c)) = state.targets.ready(state.chat_id(), &[c.seq], Some(user), Command::React(c), cx) else { return Ok(()) };
    let t = state.targets.live(&state.head, user, c.seq)?;
    let mine = state.reactions.effective(c.seq, user, t.reactors.get(&user).map_or(&[][..], Vec::as_slice));
    if mine.contains(&c.emoji) == c.add {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    if c.add && mine.len() >= MAX_REACTIONS_PER_USER {
        return Err((ErrorCode::LimitReached, "at most 20 different reactions per message"));
    }
    state.reactions.toggles.push(Toggle { seq: c.seq, user, emoji: c.emoji, add: c.add });
    state.reactions.waiters.push(c.actor.reply);
    flush_if_due(state, cx);
    Ok(())
}

/// Big chats get at most one reactions event per interval.
fn big(state: &ChatState) -> bool {
    state.head.members.len() > REACTION_TOGGLES_UP_TO
}

/// Hands the pending reactions over if nothing is being written and, in a big chat, the
/// interval since the last has passed (otherwise asks to be woken when it has).
pub fn flush_if_due(state: &mut ChatState, cx: &mut Cx<'_>) {
    let p = &mut state.reactions;
    if p.toggles.is_empty() || p.in_flight {
        return;
    }
    let interval = Duration::from_millis(REACTION_INTERVAL_MS);
    if big(state) {
        let p = &mut state.reactions;
        if let Some(wait) = p.last_flush.map(|t| interval.saturating_sub(cx.now.at.saturating_duration_since(t))).filter(|w| !w.is_zero()) {
            if !p.wake_armed {
                p.wake_armed = true;
                cx.effects.push(Effect::Wake { chat_id: state.head.meta.chat_id, after: wait });
            }
            return;
        }
    }
    flush(state, cx);
}

/// The wake-up a big chat asked for: its interval is over (the shard's timer never fires early).
pub fn woken(state: &mut ChatState, cx: &mut Cx<'_>) {
    state.reactions.wake_armed = false;
    if !state.reactions.toggles.is_empty() && !state.reactions.in_flight {
        flush(state, cx);
    }
}

fn flush(state: &mut ChatState, cx: &mut Cx<'_>) {
    let chat_id = state.chat_id();
    let with_toggles = !big(state);
    let toggles = std::mem::take(&mut state.reactions.toggles);
    let waiters = std::mem::take(&mut state.reactions.waiters);
    // Per message: each user's reactions after the toggles, and the toggles that changed them.
    let mut by_seq: BTreeMap<u64, BTreeMap<u64, Vec<String>>> = BTreeMap::new();
    let mut updates = Vec::new();
    let mut writes = Vec::new();
    let mut changed: BTreeMap<u64, Vec<(u64, String, bool)>> = BTreeMap::new();
    for t in &toggles {
        let Some(target) = state.targets.get_mut(t.seq) else { continue };
        if target.deleted() {
            continue;
        }
        let users = by_seq.entry(t.seq).or_default();
        let set = users.entry(t.user).or_insert_with(|| target.reactors.get(&t.user).cloned().unwrap_or_default());
        let had = set.contains(&t.emoji);
        if had != t.add {
            toggle(set, &t.emoji, t.add);
            changed.entry(t.seq).or_default().push((t.user, t.emoji.clone(), t.add));
        }
    }
    for (&seq, list) in &changed {
        let target = state.targets.get_mut(seq).expect("changed messages are known");
        let mut counts: BTreeMap<String, u32> = target.state.reactions.iter().cloned().collect();
        for (_, emoji, added) in list {
            let n = counts.entry(emoji.clone()).or_default();
            *n = if *added { *n + 1 } else { n.saturating_sub(1) };
        }
        let mut counts: Vec<(String, u32)> = counts.into_iter().filter(|c| c.1 > 0).collect();
        sorted_counts(&mut counts);
        let mut record = target.state.clone();
        record.reactions = counts.clone();
        writes.push(Op::PutMessageState { chat_id, seq, record });
        for (&user, emojis) in &by_seq[&seq] {
            writes.push(Op::PutReactions { chat_id, seq, user_id: user, emojis: emojis.clone() });
        }
        updates.push(ReactionUpdate { seq, counts, toggles: if with_toggles { list.clone() } else { Vec::new() } });
    }
    if updates.is_empty() {
        // Every toggle undid another, or its message was deleted meanwhile: nothing changes.
        waiters.into_iter().for_each(|r| cx.reply(r, encode::ok(r.request_id)));
        return;
    }
    // The event's sender is the chat itself (user 0): it carries many people's reactions.
    let c = Commit { changes: vec![Change::Reactions(updates.clone())], sides: vec![Side::Writes(writes)], after: After::Reactions(waiters.clone()), received: None };
    match commit(state, (0, 0), c, cx) {
        Ok(_) => {
            state.reactions.in_flight = true;
            state.reactions.last_flush = Some(cx.now.at);
            for u in updates {
                let target = state.targets.get_mut(u.seq).expect("changed messages are known");
                target.state.reactions = u.counts;
                for (user, emojis) in by_seq.remove(&u.seq).unwrap_or_default() {
                    target.reactors.insert(user, emojis);
                }
            }
        }
        Err(refusal) => waiters.into_iter().for_each(|r| cx.refuse(r, refusal)),
    }
}
