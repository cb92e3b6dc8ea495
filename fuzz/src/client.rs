//! Target `client_decode`: client-lib's decoding of what a server sends.
//!
//! - `magpie_client::decode_event` on the raw input: never panics; when it accepts, the bytes
//!   also pass `verify::event` and the decoded event equals an independent reading of the
//!   verified buffer (and its seq is not 0, which the client would swallow as a duplicate).
//! - Server frames: client-lib's frame decoder (`replies::decode_frame`) is `pub(crate)`, so
//!   this target follows the same path through the public API: `verify::server_frame`, then
//!   `decode_event` on every nested event (`Deliver`, `HistoryPage`, `ChatList`), with the same
//!   checks.

use magpie_client::{
    decode_event, Attachment, ChatEvent, ChatSettings, Contact, EventKind, ForwardRef, Location, Member, MessageExtras, ReactionUpdate, ReplyRef,
};
use magpie_wire::{fb, verify};

/// A settings table read field by field (absent: the schema's defaults).
fn settings(t: Option<fb::ChatSettings<'_>>) -> ChatSettings {
    match t {
        None => ChatSettings::default(),
        Some(t) => ChatSettings {
            post: t.post().into(),
            add_members: t.add_members().into(),
            change_info: t.change_info().into(),
            pin: t.pin().into(),
            history: t.history().into(),
            forwarding: t.forwarding(),
            approve_joins: t.approve_joins(),
        },
    }
}

/// What `decode_event` must produce for bytes that `verify::event` accepts, read independently.
fn expected(e: fb::Event<'_>) -> Option<ChatEvent> {
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    let kind = match e.body_type() {
        fb::EventBody::NONE => return None,
        fb::EventBody::MessageBody => {
            let m = e.body_as_message_body()?;
            let strings = |v: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<&str>>>| {
                v.map(|v| v.iter().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default()
            };
            let attachment = match m.attachment_type() {
                fb::Attachment::NONE => None,
                fb::Attachment::Location => match m.attachment_as_location() {
                    None => None,
                    Some(l) if !(l.latitude().is_finite() && l.longitude().is_finite() && l.accuracy_m().is_finite()) => return None,
                    Some(l) => Some(Attachment::Location(Location {
                        latitude: l.latitude(),
                        longitude: l.longitude(),
                        accuracy_m: l.accuracy_m(),
                        label: text(l.label()),
                        live_until_ms: l.live_until_ms(),
                    })),
                },
                fb::Attachment::Contact => m.attachment_as_contact().map(|c| {
                    Attachment::Contact(Contact { name: text(c.name()), phones: strings(c.phones()), emails: strings(c.emails()), user_id: c.user_id() })
                }),
                _ => return None,
            };
            let extras = MessageExtras {
                reply_to: m.reply_to().map(|r| ReplyRef {
                    seq: r.seq(),
                    message_id: r.message_id(),
                    sender_id: r.sender_id(),
                    preview: text(r.preview()),
                    deleted: r.deleted(),
                }),
                forwarded: m.forwarded().map(|f| ForwardRef {
                    original_sender_id: f.original_sender_id(),
                    original_time_ms: f.original_time_ms(),
                    from_chat_id: f.from_chat_id(),
                    from_title: text(f.from_title()),
                }),
                mentions: m.mentions().map(|v| v.iter().collect()).unwrap_or_default(),
                mention_all: m.mention_all(),
                attachment,
                deleted: m.deleted(),
            };
            let extras = (extras != MessageExtras::default()).then(|| Box::new(extras));
            EventKind::Message { message_id: m.message_id(), client_msg_id: text(m.client_msg_id()), content: text(m.content()), extras }
        }
        fb::EventBody::MessageEdited => {
            let m = e.body_as_message_edited()?;
            EventKind::MessageEdited { target_seq: m.target_seq(), content: text(m.content()), mentions: m.mentions().map(|v| v.iter().collect()).unwrap_or_default() }
        }
        fb::EventBody::MessagesDeleted => {
            EventKind::MessagesDeleted { seqs: e.body_as_messages_deleted()?.seqs().map(|v| v.iter().collect()).unwrap_or_default() }
        }
        fb::EventBody::ReactionsChanged => {
            let r = e.body_as_reactions_changed()?;
            let mut messages = Vec::new();
            for m in r.messages().iter().flat_map(|v| v.iter()) {
                let counts = m.counts().iter().flat_map(|v| v.iter()).map(|c| (text(c.emoji()), c.count())).collect();
                let toggles = m.toggles().iter().flat_map(|v| v.iter()).map(|t| (t.user_id(), text(t.emoji()), t.added())).collect();
                messages.push(ReactionUpdate { seq: m.seq(), counts, toggles });
            }
            EventKind::ReactionsChanged { messages }
        }
        fb::EventBody::MessagePinned => {
            let p = e.body_as_message_pinned()?;
            EventKind::MessagePinned { target_seq: p.target_seq(), pinned: p.pinned() }
        }
        fb::EventBody::LiveLocationUpdated => {
            let l = e.body_as_live_location_updated()?;
            if !(l.latitude().is_finite() && l.longitude().is_finite() && l.accuracy_m().is_finite()) {
                return None;
            }
            EventKind::LiveLocationUpdated {
                target_seq: l.target_seq(),
                latitude: l.latitude(),
                longitude: l.longitude(),
                accuracy_m: l.accuracy_m(),
                stopped: l.stopped(),
            }
        }
        fb::EventBody::ChatCreated => {
            let c = e.body_as_chat_created()?;
            let members = c
                .members()
                .map(|v| v.iter().map(|m| Member { user_id: m.user_id(), role: m.role().into(), since_seq: m.since_seq() }).collect())
                .unwrap_or_default();
            EventKind::ChatCreated {
                kind: c.kind().into(),
                title: text(c.title()),
                members,
                description: text(c.description()),
                handle: text(c.handle()),
                settings: settings(c.settings()),
            }
        }
        fb::EventBody::MembersAdded => {
            let m = e.body_as_members_added()?;
            EventKind::MembersAdded { user_ids: m.user_ids().map(|v| v.iter().collect()).unwrap_or_default(), via: m.via().into() }
        }
        fb::EventBody::ChatUpdated => {
            let u = e.body_as_chat_updated()?;
            EventKind::ChatUpdated {
                title: text(u.title()),
                description: text(u.description()),
                avatar_ref: text(u.avatar_ref()),
                handle: text(u.handle()),
                settings: settings(u.settings()),
            }
        }
        fb::EventBody::RoleChanged => {
            let r = e.body_as_role_changed()?;
            EventKind::RoleChanged { user_id: r.user_id(), role: r.role().into() }
        }
        fb::EventBody::OwnerChanged => {
            let o = e.body_as_owner_changed()?;
            EventKind::OwnerChanged { previous_owner: o.previous_owner(), new_owner: o.new_owner() }
        }
        fb::EventBody::MemberRemoved => {
            let m = e.body_as_member_removed()?;
            EventKind::MemberRemoved { user_id: m.user_id(), left: m.left() }
        }
        other => EventKind::Unknown { body_type: other.0 },
    };
    if e.seq() == 0 {
        return None;
    }
    Some(ChatEvent {
        chat_id: e.chat_id(),
        seq: e.seq(),
        sender_id: e.sender_id(),
        sender_device_id: e.sender_device_id(),
        time_ms: e.time_ms(),
        kind,
    })
}

/// `decode_event` on `bytes`, checked against `verify::event` and [`expected`].
pub fn check_event(bytes: &[u8]) {
    let decoded = decode_event(bytes);
    let verified = verify::event(bytes);
    match (&decoded, verified) {
        (Ok(ev), Ok(e)) => {
            assert_ne!(ev.seq, 0);
            assert_eq!(Some(ev), expected(e).as_ref(), "decode_event disagrees with the verified buffer");
            // The membership helpers must not panic either.
            let _ = (ev.adds_member(ev.sender_id), ev.removes_member(ev.sender_id));
        }
        (Ok(ev), Err(code)) => panic!("decode_event accepted bytes that verify::event rejects ({code:?}): {ev:?}"),
        (Err(_), Ok(e)) => {
            crate::walk::walk_event(e);
            assert!(expected(e).is_none(), "decode_event rejected a well-formed event: {decoded:?}");
        }
        (Err(_), Err(_)) => {}
    }
}

/// The `client_decode` target.
pub fn fuzz_client_decode(data: &[u8]) {
    check_event(data);
    let Ok(frame) = verify::server_frame(data) else { return };
    if let Some(d) = frame.body_as_deliver() {
        if let Some(v) = d.event() {
            check_event(v.bytes());
        }
    }
    if let Some(p) = frame.body_as_history_page() {
        for blob in p.events().iter().flat_map(|v| v.iter()) {
            if let Some(v) = blob.event() {
                check_event(v.bytes());
            }
        }
    }
    if let Some(l) = frame.body_as_chat_list() {
        for c in l.chats().iter().flat_map(|v| v.iter()) {
            if let Some(v) = c.last_message() {
                check_event(v.bytes());
            }
        }
    }
    if let Some(c) = frame.body_as_close() {
        let _ = (magpie_wire::ErrorCode::from_u16(c.code()), c.reason());
    }
    if let Some(e) = frame.body_as_error() {
        if let Some(code) = magpie_wire::ErrorCode::from_u16(e.code()) {
            assert_eq!(code as u16, e.code());
            let _ = (code.name(), code.retryable(), code.closes_connection());
        }
    }
}
