//! Receipts: every member's delivered and read cursors in a chat (PROTOCOL.md §6.15).
//!
//! A cursor is per member, not per message: O(members) state per chat, however many messages,
//! which is what makes "read by" affordable in a 100,000-member channel. Cursors only move
//! forward and never past the chat's durable end; read implies delivered. They are kept beside
//! the log (a `Side::Receipt` in the chat's next commit, `Op::PutReceipt`), never as events.
//!
//! Who is told: the member's own devices always (their unread counts follow); in chats of at
//! most [`RECEIPT_DETAIL_MAX_MEMBERS`] the other members, each change as it happens; in larger
//! chats nobody per change, but the newest message's sender, the owner and the admins get its
//! counts at most once a second. A member with read receipts off (`read_private`) still moves their read
//! cursor, for their own devices, but nobody else sees it; and they see nobody's.

use super::append::{self, After, ChatState, Commit};
use super::effects::{Cx, Effect, Refusal};
use super::rules::{self, Permission};
use super::view::Side;
use crate::crossing::{Audience, GetReceipts, MarkReceipts, Signal};
use magpie_storage::ReceiptRecord;
use magpie_wire::presence::{MemberReceipt, ReceiptCounts, RECEIPT_COUNTS_EVERY_MS, RECEIPT_DETAIL_MAX_MEMBERS};
use magpie_wire::{encode, ErrorCode};
use std::sync::Arc;
use std::time::Duration;

/// What `viewer` may see of `user`'s cursors: the read cursor is hidden when either keeps read
/// receipts to themselves (a member always sees their own).
fn seen(user_id: u64, r: &ReceiptRecord, viewer_private: bool) -> MemberReceipt {
    let hidden = r.read_private || viewer_private;
    MemberReceipt { user_id, delivered_seq: r.delivered_seq, read_seq: if hidden { 0 } else { r.read_seq }, read_hidden: hidden }
}

fn own(user_id: u64, r: &ReceiptRecord) -> MemberReceipt {
    MemberReceipt { user_id, delivered_seq: r.delivered_seq, read_seq: r.read_seq, read_hidden: false }
}

/// `MarkReceipts`. Lower values than the stored ones are ignored (two devices race; the
/// cursor is the furthest any of them got); a value past the durable end is refused and
/// changes nothing; a request that changes nothing is answered at once with the cursors.
pub fn mark(state: &mut ChatState, c: MarkReceipts, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    rules::check(&state.head, user, Permission::Read)?;
    // What was delivered to anyone is durable, so an honest cursor never passes the durable end.
    let end = state.durable.last_seq;
    if c.delivered_seq > end || c.read_seq > end {
        return Err((ErrorCode::ReceiptOutOfRange, "a cursor is past the chat's last event"));
    }
    let old = state.head.receipts.get(user);
    let new = ReceiptRecord {
        delivered_seq: old.delivered_seq.max(c.delivered_seq).max(c.read_seq),
        read_seq: old.read_seq.max(c.read_seq),
        read_private: c.read_private,
    };
    let rid = c.actor.reply.request_id;
    if new == old {
        cx.reply(c.actor.reply, encode::receipt_changed(rid, c.chat_id, &own(user, &new)));
        return Ok(());
    }
    let signals = signals(state, user, &old, &new, cx);
    let frame = encode::receipt_changed(rid, c.chat_id, &own(user, &new));
    let after = After::Reply { reply: c.actor.reply, frame, signals };
    append::commit(state, (user, c.actor.device_id), Commit::side(Side::Receipt { user_id: user, receipt: new }, after), cx)?;
    Ok(())
}

/// Who is told of `user`'s move from `old` to `new` once it is durable.
fn signals(state: &mut ChatState, user: u64, old: &ReceiptRecord, new: &ReceiptRecord, cx: &mut Cx<'_>) -> Vec<Signal> {
    let chat_id = state.chat_id();
    let mut out = vec![Signal { audience: Audience::Users(Arc::from([user])), frame: encode::receipt_changed(0, chat_id, &own(user, new)) }];
    let members = &state.head.members;
    let others_see_change = new.delivered_seq != old.delivered_seq
        || new.read_private != old.read_private
        || (!new.read_private && new.read_seq != old.read_seq);
    if !others_see_change {
        return out;
    }
    if members.len() > RECEIPT_DETAIL_MAX_MEMBERS {
        if state.head.receipts.wake_pending.is_none() {
            let after = Duration::from_millis(RECEIPT_COUNTS_EVERY_MS);
            state.head.receipts.wake_pending = Some(cx.now.at + after);
            cx.effects.push(Effect::Wake { chat_id, after });
        }
        return out;
    }
    // Viewers who keep their own reads private see nobody's: two frames, two audiences.
    let (mut open, mut private) = (Vec::new(), Vec::new());
    for &u in members.keys().filter(|&&u| u != user) {
        if state.head.receipts.get(u).read_private {
            private.push(u);
        } else {
            open.push(u);
        }
    }
    for (viewers, viewer_private) in [(open, false), (private, true)] {
        if !viewers.is_empty() {
            let frame = encode::receipt_changed(0, chat_id, &seen(user, new, viewer_private));
            out.push(Signal { audience: Audience::Users(Arc::from(viewers)), frame });
        }
    }
    out
}

/// The scheduled counts push of a large chat: the newest message's counts, to its sender and
/// to the owner and admins (in a channel, the people who post), from the durable cursors.
pub fn wake(state: &mut ChatState, cx: &mut Cx<'_>) {
    // Another feature's wake-up (the chat shares `Input::Wake`) before ours: ours still comes.
    match state.head.receipts.wake_pending {
        Some(due) if cx.now.at >= due => state.head.receipts.wake_pending = None,
        _ => return,
    }
    let view = &state.durable;
    if view.last_message_seq == 0 {
        return;
    }
    let mut told: Vec<u64> = view.staff.iter().copied().collect();
    let sender = view.last_message_sender;
    if sender != 0 && view.members.contains_key(&sender) && !view.staff.contains(&sender) {
        told.push(sender);
    }
    // Who keeps their own reads private sees nobody's: their frame says 0 read.
    let (private, open): (Vec<u64>, Vec<u64>) = told.into_iter().partition(|&u| view.receipts.get(u).read_private);
    let counts = view.receipts.counts(view.meta.chat_id, view.last_message_seq, &view.members, 0);
    let hidden = ReceiptCounts { read: 0, ..counts };
    for (users, counts) in [(open, counts), (private, hidden)] {
        if !users.is_empty() {
            cx.effects.push(Effect::Signal(Signal { audience: Audience::Users(Arc::from(users)), frame: encode::receipt_counts(&counts) }));
        }
    }
}

/// `GetReceipts`: "delivered to" and "read by" for message `seq`, from the durable cursors.
/// Counts always; in chats of at most [`RECEIPT_DETAIL_MAX_MEMBERS`] every other member whose
/// delivered cursor reached `seq`.
pub fn get(state: &mut ChatState, c: GetReceipts, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let view = &state.durable;
    let me = c.actor.user_id;
    rules::check(view, me, Permission::Read)?;
    if c.seq == 0 || c.seq > view.last_seq {
        return Err((ErrorCode::ReceiptOutOfRange, "seq is not an event of this chat"));
    }
    let viewer_private = c.hide_reads;
    let small = view.members.len() <= RECEIPT_DETAIL_MAX_MEMBERS;
    // A large chat's counts walk every member: computed once a second per message at most,
    // over all members (the caller included), however many ask.
    let mut counts = if small {
        view.receipts.counts(c.chat_id, c.seq, &view.members, me)
    } else {
        let view = &mut state.durable;
        let at = cx.now.at;
        match view.receipts.cached_counts(c.seq, at) {
            Some(counts) => counts,
            None => {
                let counts = view.receipts.counts(c.chat_id, c.seq, &view.members, 0);
                view.receipts.cache_counts(counts, at);
                counts
            }
        }
    };
    let view = &state.durable;
    let mut list = Vec::new();
    if small {
        for &u in view.members.keys().filter(|&&u| u != me) {
            let r = view.receipts.get(u);
            if r.delivered_seq >= c.seq {
                list.push(seen(u, &r, viewer_private));
            }
        }
    }
    if viewer_private {
        counts.read = 0;
    }
    cx.reply(c.actor.reply, encode::receipt_list(c.actor.reply.request_id, &counts, &list));
    Ok(())
}
