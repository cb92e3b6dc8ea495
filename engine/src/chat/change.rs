//! A change to a chat: the typed form of one log event's body.
//!
//! Every event a chat's log holds is one `Change` plus the header (chat, seq, sender, time). The
//! same value is encoded onto the wire ([`Change::encode`]), folded into the chat's state
//! ([`super::view::ChatView::apply`]) and turned into storage writes
//! ([`super::projection::ops`]), and stored events decode back into it ([`decode`]) when a chat
//! is loaded — so a new kind of event is one variant here and one arm in each of those places.

use bytes::Bytes;
use magpie_storage::{ChatKind, Role};
use magpie_wire::{encode, fb, verify};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The chat's first event (seq 1): everything that defines it.
    Created { kind: ChatKind, title: String, members: Vec<(u64, Role)> },
    /// A message.
    Message { message_id: u64, client_msg_id: String, content: String },
    /// Members joined (sorted, none already a member).
    MembersAdded { user_ids: Vec<u64> },
    /// A member was removed, or left (`left`).
    MemberRemoved { user_id: u64, left: bool },
}

pub fn wire_kind(k: ChatKind) -> fb::ChatKind {
    match k {
        ChatKind::Direct => fb::ChatKind::Direct,
        ChatKind::Group => fb::ChatKind::Group,
    }
}

pub fn wire_role(r: Role) -> fb::Role {
    match r {
        Role::Member => fb::Role::Member,
        Role::Admin => fb::Role::Admin,
    }
}

impl Change {
    /// Whether the chat's members differ after this change.
    pub fn changes_membership(&self) -> bool {
        !matches!(self, Change::Message { .. })
    }

    /// The stored (and delivered) `Event` bytes.
    pub fn encode(&self, h: &encode::EventHeader) -> Bytes {
        match self {
            Change::Created { kind, title, members } => {
                let members: Vec<(u64, fb::Role)> = members.iter().map(|&(u, r)| (u, wire_role(r))).collect();
                encode::chat_created_event(h, wire_kind(*kind), title, &members)
            }
            Change::Message { message_id, client_msg_id, content } => {
                encode::message_event(h, *message_id, client_msg_id, content)
            }
            Change::MembersAdded { user_ids } => encode::members_added_event(h, user_ids),
            Change::MemberRemoved { user_id, left } => encode::member_removed_event(h, *user_id, *left),
        }
    }
}

/// A stored event's header and change. Stored events were verified when encoded, but a load
/// reads them from disk, so they are verified again here.
pub fn decode(event: &[u8]) -> Result<(encode::EventHeader, Change), String> {
    let e = verify::event(event).map_err(|code| format!("stored event fails verification: {}", code.name()))?;
    let header = encode::EventHeader {
        chat_id: e.chat_id(),
        seq: e.seq(),
        sender_id: e.sender_id(),
        sender_device_id: e.sender_device_id(),
        time_ms: e.time_ms(),
    };
    let missing = || format!("stored event {} has no {:?} body", e.seq(), e.body_type());
    let change = match e.body_type() {
        fb::EventBody::ChatCreated => {
            let c = e.body_as_chat_created().ok_or_else(missing)?;
            let kind = match c.kind() {
                fb::ChatKind::Direct => ChatKind::Direct,
                _ => ChatKind::Group,
            };
            let members = c
                .members()
                .map(|m| m.iter().map(|m| (m.user_id(), if m.role() == fb::Role::Admin { Role::Admin } else { Role::Member })).collect())
                .unwrap_or_default();
            Change::Created { kind, title: c.title().unwrap_or("").to_string(), members }
        }
        fb::EventBody::MessageBody => {
            let m = e.body_as_message_body().ok_or_else(missing)?;
            Change::Message {
                message_id: m.message_id(),
                client_msg_id: m.client_msg_id().unwrap_or("").to_string(),
                content: m.content().unwrap_or("").to_string(),
            }
        }
        fb::EventBody::MembersAdded => {
            let m = e.body_as_members_added().ok_or_else(missing)?;
            Change::MembersAdded { user_ids: m.user_ids().map(|v| v.iter().collect()).unwrap_or_default() }
        }
        fb::EventBody::MemberRemoved => {
            let m = e.body_as_member_removed().ok_or_else(missing)?;
            Change::MemberRemoved { user_id: m.user_id(), left: m.left() }
        }
        other => return Err(format!("stored event {} has an unknown body {other:?}", e.seq())),
    };
    Ok((header, change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_decodes_to_itself() {
        let h = encode::EventHeader { chat_id: 4, seq: 9, sender_id: 1, sender_device_id: 2, time_ms: 77 };
        for change in [
            Change::Created { kind: ChatKind::Group, title: "t".into(), members: vec![(1, Role::Admin), (2, Role::Member)] },
            Change::Created { kind: ChatKind::Direct, title: String::new(), members: vec![(1, Role::Member), (2, Role::Member)] },
            Change::Message { message_id: 5, client_msg_id: "c".into(), content: "hi".into() },
            Change::MembersAdded { user_ids: vec![3, 4] },
            Change::MemberRemoved { user_id: 2, left: true },
        ] {
            let (header, back) = decode(&change.encode(&h)).unwrap();
            assert_eq!(back, change);
            assert_eq!((header.chat_id, header.seq, header.sender_id, header.sender_device_id, header.time_ms), (4, 9, 1, 2, 77));
        }
        assert!(decode(b"garbage").is_err());
    }
}
