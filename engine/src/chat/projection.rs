//! What storage must hold after an event: the log entry plus every record and index derived from
//! it (chat and member records, the per-user chat list, the direct-pair index, the message-id
//! index, the dedup record, the chat head, released handles), and likewise for the changes a chat
//! keeps beside its log. Derived here, in one place the core owns, so the commit thread only
//! writes what it is given and a new feature's index is one arm below.

use super::change::Change;
use super::settings;
use super::view::{ChatView, Side};
use bytes::Bytes;
use magpie_storage::{ChatKind, DedupRecord, MessageLocation, Op, Role};
use magpie_wire::encode::EventHeader;

/// A message changes nothing in a chat's head but its last message, which a reader can find by
/// folding the few events after a stored head; so messages store a head only every this many
/// seqs (one write per message less on the busiest path), and every other kind of event stores
/// one. A load or a chat list folds at most this many events.
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
        Change::Message { message_id, client_msg_id, .. } => {
            ops.push(Op::PutMessageId { message_id: *message_id, location: MessageLocation { chat_id, seq: h.seq } });
            ops.push(Op::PutDedup {
                device_id: h.sender_device_id,
                client_msg_id: client_msg_id.clone(),
                record: DedupRecord { chat_id, seq: h.seq, message_id: *message_id, time_ms: h.time_ms },
            });
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
        Change::OwnerChanged { previous, new } => {
            for (user, role) in [(*previous, Role::Admin), (*new, Role::Owner)] {
                if let Some(m) = before.members.get(&user) {
                    member(&mut ops, chat_id, user, role, m.since_seq);
                }
            }
        }
    }
    ops.push(Op::Append { chat_id, seq: h.seq, event });
    if !matches!(change, Change::Message { .. }) || h.seq % HEAD_EVERY == 0 {
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
    }
    if let Some(head) = before.head_after_side(side) {
        ops.push(Op::PutChatHead { chat_id, head });
    }
    ops
}
