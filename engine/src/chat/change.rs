//! A change to a chat: the typed form of one log event's body.
//!
//! Every event a chat's log holds is one `Change` plus the header (chat, seq, sender, time). The
//! same value is encoded onto the wire ([`Change::encode`]), folded into the chat's state
//! ([`super::view::ChatView::apply`]) and turned into storage writes
//! ([`super::projection::ops`]), and stored events decode back into it ([`decode`]) when a chat
//! is loaded — so a new kind of event is one variant here and one arm in each of those places.

use bytes::Bytes;
use magpie_storage::{ChatKind, Role};
use magpie_wire::chat::{Info, MemberEntry, Settings};
use magpie_wire::message::{Message, ReactionUpdate};
use magpie_wire::{encode, fb, verify};

/// A live location's position: latitude, longitude (degrees), accuracy (metres).
pub type Position = (f64, f64, f32);

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The chat's first event (seq 1): everything that defines it.
    Created { kind: ChatKind, info: Info, members: Vec<(u64, Role)> },
    /// A message (boxed: most events are messages, and a message is the biggest change).
    Message(Box<Message>),
    /// Members joined (sorted, none already a member).
    MembersAdded { user_ids: Vec<u64>, via: fb::JoinedVia },
    /// A member was removed, or left (`left`).
    MemberRemoved { user_id: u64, left: bool },
    /// The chat's info or settings changed: the whole new info.
    Updated { info: Info },
    /// A member became an admin, or an admin a member.
    RoleChanged { user_id: u64, role: Role },
    /// Ownership passed from `previous` (now an admin, or about to leave) to `new`.
    OwnerChanged { previous: u64, new: u64 },
    /// A message's new text and mentions.
    Edited { target_seq: u64, content: String, mentions: Vec<u64> },
    /// Messages deleted for everyone (their stored events are tombstones by now).
    Deleted { seqs: Vec<u64> },
    /// Reactions changed, coalesced: each message's new totals (and, in small chats, who).
    Reactions(Vec<ReactionUpdate>),
    Pinned { target_seq: u64, pinned: bool },
    /// A live location moved on, or stopped.
    LiveMoved { target_seq: u64, position: Position, stopped: bool },
}

impl Change {
    /// Whether it is about messages (a message, or a change to one): such events leave a chat's
    /// membership and info alone.
    pub fn is_about_messages(&self) -> bool {
        matches!(
            self,
            Change::Message(_)
                | Change::Edited { .. }
                | Change::Deleted { .. }
                | Change::Reactions(_)
                | Change::Pinned { .. }
                | Change::LiveMoved { .. }
        )
    }
}

pub fn wire_kind(k: ChatKind) -> fb::ChatKind {
    match k {
        ChatKind::Direct => fb::ChatKind::Direct,
        ChatKind::Group => fb::ChatKind::Group,
        ChatKind::Channel => fb::ChatKind::Channel,
    }
}

pub fn wire_role(r: Role) -> fb::Role {
    match r {
        Role::Member => fb::Role::Member,
        Role::Admin => fb::Role::Admin,
        Role::Owner => fb::Role::Owner,
    }
}

/// The stored role of a wire role (values the schema does not define were refused on input).
pub fn stored_role(r: fb::Role) -> Role {
    match r {
        fb::Role::Owner => Role::Owner,
        fb::Role::Admin => Role::Admin,
        _ => Role::Member,
    }
}

fn stored_kind(k: fb::ChatKind) -> ChatKind {
    match k {
        fb::ChatKind::Direct => ChatKind::Direct,
        fb::ChatKind::Channel => ChatKind::Channel,
        _ => ChatKind::Group,
    }
}

impl Change {
    /// The stored (and delivered) `Event` bytes.
    pub fn encode(&self, h: &encode::EventHeader) -> Bytes {
        match self {
            Change::Created { kind, info, members } => {
                let members: Vec<MemberEntry> =
                    members.iter().map(|&(u, r)| MemberEntry { user_id: u, role: wire_role(r), since_seq: h.seq }).collect();
                encode::chat_created_event(h, wire_kind(*kind), info, &members)
            }
            Change::Message(m) => encode::message_event_of(h, m),
            Change::MembersAdded { user_ids, via } => encode::members_added_event(h, user_ids, *via),
            Change::MemberRemoved { user_id, left } => encode::member_removed_event(h, *user_id, *left),
            Change::Updated { info } => encode::chat_updated_event(h, info),
            Change::RoleChanged { user_id, role } => encode::role_changed_event(h, *user_id, wire_role(*role)),
            Change::OwnerChanged { previous, new } => encode::owner_changed_event(h, *previous, *new),
            Change::Edited { target_seq, content, mentions } => encode::message_edited_event(h, *target_seq, content, mentions),
            Change::Deleted { seqs } => encode::messages_deleted_event(h, seqs),
            Change::Reactions(updates) => encode::reactions_changed_event(h, updates),
            Change::Pinned { target_seq, pinned } => encode::message_pinned_event(h, *target_seq, *pinned),
            Change::LiveMoved { target_seq, position, stopped } => encode::live_location_event(h, *target_seq, *position, *stopped),
        }
    }
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or("").to_string()
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
            let members =
                c.members().map(|m| m.iter().map(|m| (m.user_id(), stored_role(m.role()))).collect()).unwrap_or_default();
            let info = Info {
                title: text(c.title()),
                description: text(c.description()),
                avatar_ref: String::new(),
                handle: text(c.handle()),
                settings: Settings::from_fb(c.settings()),
            };
            Change::Created { kind: stored_kind(c.kind()), info, members }
        }
        fb::EventBody::MessageBody => {
            let m = e.body_as_message_body().ok_or_else(missing)?;
            Change::Message(Box::new(Message::from_fb(m).map_err(|why| format!("stored event {}: {why}", e.seq()))?))
        }
        fb::EventBody::MembersAdded => {
            let m = e.body_as_members_added().ok_or_else(missing)?;
            Change::MembersAdded { user_ids: m.user_ids().map(|v| v.iter().collect()).unwrap_or_default(), via: m.via() }
        }
        fb::EventBody::MemberRemoved => {
            let m = e.body_as_member_removed().ok_or_else(missing)?;
            Change::MemberRemoved { user_id: m.user_id(), left: m.left() }
        }
        fb::EventBody::ChatUpdated => {
            let u = e.body_as_chat_updated().ok_or_else(missing)?;
            let info = Info {
                title: text(u.title()),
                description: text(u.description()),
                avatar_ref: text(u.avatar_ref()),
                handle: text(u.handle()),
                settings: Settings::from_fb(u.settings()),
            };
            Change::Updated { info }
        }
        fb::EventBody::RoleChanged => {
            let r = e.body_as_role_changed().ok_or_else(missing)?;
            Change::RoleChanged { user_id: r.user_id(), role: stored_role(r.role()) }
        }
        fb::EventBody::OwnerChanged => {
            let o = e.body_as_owner_changed().ok_or_else(missing)?;
            Change::OwnerChanged { previous: o.previous_owner(), new: o.new_owner() }
        }
        fb::EventBody::MessageEdited => {
            let m = e.body_as_message_edited().ok_or_else(missing)?;
            let mentions = m.mentions().map(|v| v.iter().collect()).unwrap_or_default();
            Change::Edited { target_seq: m.target_seq(), content: text(m.content()), mentions }
        }
        fb::EventBody::MessagesDeleted => {
            let d = e.body_as_messages_deleted().ok_or_else(missing)?;
            Change::Deleted { seqs: d.seqs().map(|v| v.iter().collect()).unwrap_or_default() }
        }
        fb::EventBody::ReactionsChanged => {
            let r = e.body_as_reactions_changed().ok_or_else(missing)?;
            let updates = r.messages().map(|v| v.iter().map(reaction_update).collect()).unwrap_or_default();
            Change::Reactions(updates)
        }
        fb::EventBody::MessagePinned => {
            let p = e.body_as_message_pinned().ok_or_else(missing)?;
            Change::Pinned { target_seq: p.target_seq(), pinned: p.pinned() }
        }
        fb::EventBody::LiveLocationUpdated => {
            let l = e.body_as_live_location_updated().ok_or_else(missing)?;
            Change::LiveMoved { target_seq: l.target_seq(), position: (l.latitude(), l.longitude(), l.accuracy_m()), stopped: l.stopped() }
        }
        other => return Err(format!("stored event {} has an unknown body {other:?}", e.seq())),
    };
    Ok((header, change))
}

fn reaction_update(m: fb::MessageReactions<'_>) -> ReactionUpdate {
    ReactionUpdate {
        seq: m.seq(),
        counts: m.counts().map(|v| v.iter().map(|c| (text(c.emoji()), c.count())).collect()).unwrap_or_default(),
        toggles: m.toggles().map(|v| v.iter().map(|t| (t.user_id(), text(t.emoji()), t.added())).collect()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_decodes_to_itself() {
        let h = encode::EventHeader { chat_id: 4, seq: 9, sender_id: 1, sender_device_id: 2, time_ms: 77 };
        let info = Info {
            title: "t".into(),
            description: "d".into(),
            avatar_ref: String::new(),
            handle: "news".into(),
            settings: Settings { post: fb::Who::Admins, ..Settings::default() },
        };
        for change in [
            Change::Created { kind: ChatKind::Channel, info: info.clone(), members: vec![(1, Role::Owner), (2, Role::Member)] },
            Change::Created { kind: ChatKind::Direct, info: Info::default(), members: vec![(1, Role::Member), (2, Role::Member)] },
            Change::Message(Box::new(Message { message_id: 5, client_msg_id: "c".into(), content: "hi".into(), mentions: vec![2], ..Message::default() })),
            Change::Edited { target_seq: 5, content: "hey".into(), mentions: vec![] },
            Change::Deleted { seqs: vec![5, 6] },
            Change::Reactions(vec![ReactionUpdate { seq: 5, counts: vec![("👍".into(), 2)], toggles: vec![(1, "👍".into(), true)] }]),
            Change::Pinned { target_seq: 5, pinned: true },
            Change::LiveMoved { target_seq: 5, position: (45.5, 7.25, 10.0), stopped: false },
            Change::MembersAdded { user_ids: vec![3, 4], via: fb::JoinedVia::InviteLink },
            Change::MemberRemoved { user_id: 2, left: true },
            Change::Updated { info: Info { avatar_ref: "a".into(), ..info } },
            Change::RoleChanged { user_id: 2, role: Role::Admin },
            Change::OwnerChanged { previous: 1, new: 2 },
        ] {
            let (header, back) = decode(&change.encode(&h)).unwrap();
            assert_eq!(back, change);
            assert_eq!((header.chat_id, header.seq, header.sender_id, header.sender_device_id, header.time_ms), (4, 9, 1, 2, 77));
        }
        assert!(decode(b"garbage").is_err());
    }
}
