//! Target `client_decode`: client-lib's decoding of what a server sends.
//!
//! - `magpie_client::decode_event` on the raw input: never panics; when it accepts, the bytes
//!   also pass `verify::event` and the decoded event equals an independent reading of the
//!   verified buffer (and its seq is not 0, which the client would swallow as a duplicate).
//! - Server frames: client-lib's frame decoder (`replies::decode_frame`) is `pub(crate)`, so
//!   this target follows the same path through the public API: `verify::server_frame`, then
//!   `decode_event` on every nested event (`Deliver`, `HistoryPage`, `ChatList`), with the same
//!   checks.

use magpie_client::{decode_event, ChatEvent, EventKind};
use magpie_wire::{fb, verify};

/// What `decode_event` must produce for bytes that `verify::event` accepts, read independently.
fn expected(e: fb::Event<'_>) -> Option<ChatEvent> {
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    let kind = match e.body_type() {
        fb::EventBody::NONE => return None,
        fb::EventBody::MessageBody => {
            let m = e.body_as_message_body()?;
            EventKind::Message { message_id: m.message_id(), client_msg_id: text(m.client_msg_id()), content: text(m.content()) }
        }
        fb::EventBody::ChatCreated => {
            let c = e.body_as_chat_created()?;
            let members = c.members().map(|v| v.iter().map(|m| (m.user_id(), m.role().into())).collect()).unwrap_or_default();
            EventKind::ChatCreated { kind: c.kind().into(), title: text(c.title()), members }
        }
        fb::EventBody::MembersAdded => {
            let m = e.body_as_members_added()?;
            EventKind::MembersAdded { user_ids: m.user_ids().map(|v| v.iter().collect()).unwrap_or_default() }
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
