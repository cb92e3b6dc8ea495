//! What storage must hold after an event: the log entry plus every record and index derived from
//! it (chat and member records, the per-user chat list, the direct-pair index, the message-id
//! index, the dedup record, the chat head). Derived here, in one place the core owns, so the
//! commit thread only writes what it is given and a new feature's index is one arm below.

use super::change::Change;
use super::view::ChatView;
use bytes::Bytes;
use magpie_storage::{ChatKind, DedupRecord, MessageLocation, Op, Role};
use magpie_wire::encode::EventHeader;

/// A message changes nothing in a chat's head but its last message, which a reader can find by
/// folding the few events after a stored head; so messages store a head only every this many
/// seqs (one write per message less on the busiest path), and every other kind of event stores
/// one. A load or a chat list folds at most this many events.
pub const HEAD_EVERY: u64 = 64;

/// The writes for appending `event` (holding `change`, with header `h`) to the chat whose state
/// before the event is `before` (for a new chat: its metadata and no members).
pub fn ops(h: &EventHeader, change: &Change, event: Bytes, before: &ChatView) -> Vec<Op> {
    let chat_id = h.chat_id;
    let mut ops = Vec::with_capacity(4);
    match change {
        Change::Created { kind, members, .. } => {
            ops.push(Op::PutChat(before.meta.clone()));
            for &(user_id, role) in members {
                ops.push(Op::PutMember { chat_id, user_id, role });
                ops.push(Op::PutUserChat { user_id, chat_id });
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
        Change::MembersAdded { user_ids } => {
            for &user_id in user_ids {
                ops.push(Op::PutMember { chat_id, user_id, role: Role::Member });
                ops.push(Op::PutUserChat { user_id, chat_id });
            }
        }
        Change::MemberRemoved { user_id, .. } => {
            ops.push(Op::RemoveMember { chat_id, user_id: *user_id });
            ops.push(Op::RemoveUserChat { user_id: *user_id, chat_id });
        }
    }
    ops.push(Op::Append { chat_id, seq: h.seq, event });
    if !matches!(change, Change::Message { .. }) || h.seq % HEAD_EVERY == 0 {
        ops.push(Op::PutChatHead { chat_id, head: before.head_after(h.seq, change) });
    }
    ops
}
