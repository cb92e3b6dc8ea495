//! What storage must hold after an event: the log entry plus every record and index derived from
//! it (chat and member records, the per-user chat list, the direct-pair index, the message-id
//! index, the dedup record, the chat head, released handles), and likewise for the changes a chat
//! keeps beside its log. Derived here, in one place the core owns, so the commit thread only
//! writes what it is given and a new feature's index is one arm below.

use super::change::Change;
use super::settings;
use super::targets::{self, Target};
use super::view::{ChatView, Side};
use bytes::Bytes;
use magpie_storage::{ChatKind, DedupRecord, MessageLocation, MessageStateRecord, Op, Role, ScrubRange};
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::message::{Attachment, Location, ReplyRef};

/// A message (or a change to one) changes nothing in a chat's head but its last message, which a
/// reader can find by folding the few events after a stored head; so such events store a head
/// only every this many seqs (one write per message less on the busiest path), and every other
/// kind of event stores one. A load or a chat list folds at most this many events.
pub const HEAD_EVERY: u64 = 64;

fn member(ops: &mut Vec<Op>, chat_id: u64, user_id: u64, role: Role, since_seq: u64) {
    ops.push(Op::PutMember { chat_id, user_id, role, since_seq });
}

fn joined(ops: &mut Vec<Op>, chat_id: u64, user_id: u64, since_seq: u64) {
    member(ops, chat_id, user_id, Role::Member, since_seq);
    ops.push(Op::PutUserChat { user_id, chat_id, since_seq });
}

fn left(ops: &mut Vec<Op>, chat_id: u64, user_id: u64) {
    ops.push(Op::RemoveMember { chat_id, user_id });
    ops.push(Op::RemoveUserChat { user_id, chat_id });
}

/// The mention index entries of a message: everyone it names who is a member, or with @all every
/// member; never its sender. Entries are only added: `ListMentions` checks each against the
/// message as it is now (edited, deleted) and against the reader's membership.
fn mentions(ops: &mut Vec<Op>, h: &EventHeader, message_id: u64, named: &[u64], all: bool, before: &ChatView) {
    let location = MessageLocation { chat_id: h.chat_id, seq: h.seq };
    let mut put = |user_id: u64| {
        if user_id != h.sender_id {
            ops.push(Op::PutMention { user_id, message_id, location });
        }
    };
    if all {
        before.members.keys().for_each(|&u| put(u));
    } else {
        named.iter().filter(|u| before.members.contains_key(*u)).for_each(|&u| put(u));
    }
}

/// The mention entries an edit adds: the members it names that the message did not name before.
pub fn edit_mentions(h: &EventHeader, message_id: u64, location: MessageLocation, old: &[u64], new: &[u64], view: &ChatView) -> Vec<Op> {
    new.iter()
        .filter(|u| !old.contains(u) && **u != h.sender_id && view.members.contains_key(*u))
        .map(|&user_id| Op::PutMention { user_id, message_id, location })
        .collect()
}

/// The writes for appending `event` (holding `change`, with header `h`) to the chat whose state
/// before the event is `before` (for a new chat: its metadata and no members).
pub fn ops(h: &EventHeader, change: &Change, event: Bytes, before: &ChatView) -> Vec<Op> {
    let chat_id = h.chat_id;
    let mut ops = Vec::with_capacity(4);
    match change {
        Change::Created { kind, members, info } => {
            let mut meta = before.meta.clone();
            settings::set_info(&mut meta, info);
            ops.push(Op::PutChat(meta));
            for &(user_id, role) in members {
                member(&mut ops, chat_id, user_id, role, h.seq);
                ops.push(Op::PutUserChat { user_id, chat_id, since_seq: h.seq });
            }
            if let (ChatKind::Direct, [(a, _), (b, _)]) = (kind, members.as_slice()) {
                ops.push(Op::PutDirect { a: *a, b: *b, chat_id });
            }
        }
        Change::Message(m) => {
            let location = MessageLocation { chat_id, seq: h.seq };
            ops.push(Op::PutMessageId { message_id: m.message_id, location });
            ops.push(Op::PutDedup {
                device_id: h.sender_device_id,
                client_msg_id: m.client_msg_id.clone(),
                record: DedupRecord { chat_id, seq: h.seq, message_id: m.message_id, time_ms: h.time_ms },
            });
            mentions(&mut ops, h, m.message_id, &m.mentions, m.mention_all, before);
        }
        Change::MembersAdded { user_ids, .. } => {
            for &user_id in user_ids.iter().filter(|&&u| !before.members.contains_key(&u)) {
                joined(&mut ops, chat_id, user_id, h.seq);
            }
        }
        Change::MemberRemoved { user_id, .. } => left(&mut ops, chat_id, *user_id),
        Change::Updated { info } => {
            let old = &before.meta.profile.handle;
            if !old.is_empty() && *old != info.handle {
                ops.push(Op::RemoveHandle { handle: old.clone() });
            }
            let mut meta = before.meta.clone();
            settings::set_info(&mut meta, info);
            ops.push(Op::PutChat(meta));
        }
        Change::RoleChanged { user_id, role } => {
            if let Some(m) = before.members.get(user_id) {
                member(&mut ops, chat_id, *user_id, *role, m.since_seq);
            }
        }
        Change::Pinned { target_seq, pinned: true } => ops.push(Op::PutPin { chat_id, seq: *target_seq, pin_seq: h.seq }),
        Change::Pinned { target_seq, pinned: false } => ops.push(Op::RemovePin { chat_id, seq: *target_seq }),
        Change::Deleted { seqs } => {
            for &seq in seqs.iter().filter(|s| before.pins.contains_key(s)) {
                ops.push(Op::RemovePin { chat_id, seq });
            }
        }
        // What these change of a message is written beside them (`Side::MessageState`), from
        // the message's state, which the view does not hold.
        Change::Edited { .. } | Change::Reactions(_) | Change::LiveMoved { .. } => {}
        Change::OwnerChanged { previous, new } => {
            for (user, role) in [(*previous, Role::Admin), (*new, Role::Owner)] {
                if let Some(m) = before.members.get(&user) {
                    member(&mut ops, chat_id, user, role, m.since_seq);
                }
            }
        }
    }
    ops.push(Op::Append { chat_id, seq: h.seq, event });
    if !change.is_about_messages() || h.seq.is_multiple_of(HEAD_EVERY) {
        ops.push(Op::PutChatHead { chat_id, head: before.head_after(h.seq, change) });
    }
    ops
}

/// The writes for a change beside the log of the chat whose state before it is `before`.
pub fn side_ops(side: &Side, before: &ChatView) -> Vec<Op> {
    let chat_id = before.meta.chat_id;
    let mut ops = Vec::new();
    match side {
        Side::Subscribed { user_ids, since } => {
            for &user_id in user_ids.iter().filter(|&&u| !before.members.contains_key(&u)) {
                joined(&mut ops, chat_id, user_id, *since);
            }
        }
        Side::Unsubscribed { user_id } => left(&mut ops, chat_id, *user_id),
        Side::Invite(invite) => ops.push(Op::PutInvite(invite.clone())),
        Side::JoinRequested { user_id, time_ms } => ops.push(Op::PutJoinRequest { chat_id, user_id: *user_id, time_ms: *time_ms }),
        Side::JoinRequestDropped { user_id } => ops.push(Op::RemoveJoinRequest { chat_id, user_id: *user_id }),
        Side::Receipt { user_id, receipt } => ops.push(Op::PutReceipt { chat_id, user_id: *user_id, receipt: *receipt }),
        Side::Writes(writes) => ops.extend(writes.iter().cloned()),
    }
    if let Some(head) = before.head_after_side(side) {
        ops.push(Op::PutChatHead { chat_id, head });
    }
    ops
}

/// Deleting `t` for everyone: its event becomes a tombstone, its edits lose their text, its
/// reactions and state go (only "deleted" stays); returns the writes and the message as it is
/// after them.
pub fn erase(t: &Target) -> (Vec<Op>, Target) {
    let chat_id = t.header.chat_id;
    let seq = t.header.seq;
    let tombstone = t.message.tombstone();
    let mut ops = vec![Op::Append { chat_id, seq, event: targets::rewrite(t, &tombstone) }];
    for e in &t.state.edits {
        let h = EventHeader { chat_id, seq: e.seq, sender_id: t.header.sender_id, sender_device_id: e.device_id, time_ms: e.time_ms };
        ops.push(Op::Append { chat_id, seq: e.seq, event: encode::message_edited_event(&h, seq, "", &[]) });
    }
    ops.push(Op::RemoveReactionsOf { chat_id, seq });
    let record = MessageStateRecord { deleted: true, ..MessageStateRecord::default() };
    ops.push(Op::PutMessageState { chat_id, seq, record: record.clone() });
    let gone = Target { header: t.header, message: tombstone, state: record, reactors: Default::default() };
    (ops, gone)
}

/// A reply whose original is being deleted: its quote loses the text (`None` if `t` is not a
/// live reply).
pub fn unquote(t: &Target) -> Option<(Op, Target)> {
    if t.deleted() {
        return None;
    }
    let quote = t.message.reply_to.as_ref()?;
    let mut message = t.message.clone();
    message.reply_to = Some(ReplyRef { preview: String::new(), deleted: true, ..quote.clone() });
    let op = Op::Append { chat_id: t.header.chat_id, seq: t.header.seq, event: targets::rewrite(t, &message) };
    Some((op, Target { message, ..t.clone() }))
}

/// The erasure of what `writes` (from [`erase`] and [`unquote`]) rewrote in chat `chat_id`: the
/// older versions of those log entries and message states leave the disk soon after the commit
/// (storage's `scrub` module), so deleted text is not only hidden.
pub fn scrub(chat_id: u64, writes: &[Op]) -> Option<Op> {
    let seqs: Vec<u64> = writes
        .iter()
        .filter_map(|op| match op {
            Op::Append { seq, .. } | Op::PutMessageState { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    let (first_seq, last_seq) = (*seqs.iter().min()?, *seqs.iter().max()?);
    Some(Op::Scrub(ScrubRange { chat_id, first_seq, last_seq }))
}

/// The attachment a forwarded copy of `t` carries: a live location becomes a fixed place where
/// it is now.
pub fn fixed(t: &Target) -> Option<Attachment> {
    match &t.message.attachment {
        Some(Attachment::Location(l)) if l.live_until_ms != 0 => {
            let mut place = Location { live_until_ms: 0, ..l.clone() };
            if let Some(p) = t.state.live {
                (place.latitude, place.longitude, place.accuracy_m) = (p.latitude, p.longitude, p.accuracy_m);
            }
            Some(Attachment::Location(place))
        }
        other => other.clone(),
    }
}
