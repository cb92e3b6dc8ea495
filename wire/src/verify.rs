//! Verification: every inbound buffer is checked before any field is read.
//!
//! FlatBuffers accessors trust offsets, so reading an unverified buffer is undefined behaviour
//! waiting to happen. These functions run the FlatBuffers verifier with bounded depth, table
//! count and apparent size, then check that the union type is one this build knows and that the
//! direction is right (a client may not send server-only frames). [`client_enums`] then checks
//! what the FlatBuffers verifier cannot: that every enum field holds a value the schema defines.

use crate::fb;
use crate::limits::{
    MAX_CLIENT_FRAME_BYTES, MAX_SERVER_FRAME_BYTES, MAX_SERVER_VERIFY_TABLES, MAX_VERIFY_DEPTH, MAX_VERIFY_TABLES,
};
use crate::ErrorCode;
use flatbuffers::{InvalidFlatbuffer, VerifierOptions};

fn options(max_bytes: usize, max_tables: usize) -> VerifierOptions {
    VerifierOptions {
        max_depth: MAX_VERIFY_DEPTH,
        max_tables,
        // Shared offsets can make a small buffer "expand" to a huge tree; cap what we would walk.
        max_apparent_size: max_bytes * 4,
        ignore_missing_null_terminator: false,
    }
}

fn classify(e: InvalidFlatbuffer) -> ErrorCode {
    match e {
        InvalidFlatbuffer::Utf8Error { .. } => ErrorCode::InvalidUtf8,
        _ => ErrorCode::MalformedFrame,
    }
}

/// Frames only a server sends; a client sending one violates the protocol.
fn server_only(body: fb::Body) -> bool {
    matches!(
        body,
        fb::Body::Welcome
            | fb::Body::Error
            | fb::Body::Ok
            | fb::Body::Pong
            | fb::Body::Authenticated
            | fb::Body::DeviceList
            | fb::Body::UserInfo
            | fb::Body::UserList
            | fb::Body::ChatInfo
            | fb::Body::ChatList
            | fb::Body::SendAck
            | fb::Body::Deliver
            | fb::Body::SyncDone
            | fb::Body::HistoryPage
            | fb::Body::MemberList
            | fb::Body::Invite
            | fb::Body::InviteList
            | fb::Body::ChatPreview
            | fb::Body::JoinPending
            | fb::Body::JoinRequestList
            | fb::Body::ChatStateChanged
            | fb::Body::MembershipChanged
            | fb::Body::BroadcastList
            | fb::Body::BroadcastLists
            | fb::Body::BroadcastAck
            | fb::Body::ReactionList
            | fb::Body::PinList
            | fb::Body::ForwardAck
            | fb::Body::MessageVersions
            | fb::Body::MentionList
            | fb::Body::MessagesHidden
    ) || crate::presence::server_only(body)
}

fn known(body: fb::Body) -> bool {
    body != fb::Body::NONE && body.0 <= fb::Body::ENUM_MAX
}

/// Verifies a frame received by the server.
pub fn client_frame(buf: &[u8]) -> Result<fb::Frame<'_>, ErrorCode> {
    if buf.len() > MAX_CLIENT_FRAME_BYTES {
        return Err(ErrorCode::FrameTooLarge);
    }
    let frame = fb::root_as_frame_with_opts(&options(MAX_CLIENT_FRAME_BYTES, MAX_VERIFY_TABLES), buf).map_err(classify)?;
    let body = frame.body_type();
    if !known(body) || server_only(body) || body == fb::Body::Close {
        return Err(ErrorCode::UnknownFrame);
    }
    Ok(frame)
}

/// Checks every enum-typed field of a verified client frame against the values the schema
/// defines; `Err` names the first field that holds any other value. The verifier only checks an
/// enum field's size, so without this an unknown value (`History.direction = 7`) would reach a
/// handler that can only guess what it means. An out-of-range value is a bad request
/// (`invalid_argument`), not a broken frame: the connection stays open.
///
/// This is the one place that knows which client fields are enums: a test derives that list
/// from the schema and fails until a new enum field is checked here.
pub fn client_enums(frame: &fb::Frame<'_>) -> Result<(), &'static str> {
    use crate::chat::Settings;
    let settings = |t: Option<fb::ChatSettings<'_>>| Settings::from_fb(t).unknown_value().map_or(Ok(()), Err);
    match frame.body_type() {
        fb::Body::History if frame.body_as_history().is_some_and(|h| h.direction().variant_name().is_none()) => {
            Err("History.direction is not a Direction the schema defines")
        }
        fb::Body::CreateGroup => {
            let c = frame.body_as_create_group().expect("checked type");
            if c.kind().variant_name().is_none() {
                Err("CreateGroup.kind is not a ChatKind the schema defines")
            } else {
                settings(c.settings())
            }
        }
        fb::Body::UpdateChat => settings(frame.body_as_update_chat().and_then(|u| u.settings())),
        fb::Body::SetRole if frame.body_as_set_role().is_some_and(|r| r.role().variant_name().is_none()) => {
            Err("SetRole.role is not a Role the schema defines")
        }
        fb::Body::ListChats if frame.body_as_list_chats().is_some_and(|l| l.order().variant_name().is_none()) => {
            Err("ListChats.order is not a ChatOrder the schema defines")
        }
        fb::Body::SetPrivacy if frame.body_as_set_privacy().is_some_and(|p| p.last_seen().variant_name().is_none()) => {
            Err("SetPrivacy.last_seen is not a LastSeenVisibility the schema defines")
        }
        fb::Body::SetTyping if frame.body_as_set_typing().is_some_and(|t| t.kind().variant_name().is_none()) => {
            Err("SetTyping.kind is not a TypingKind the schema defines")
        }
        fb::Body::SendMessage => {
            let m = frame.body_as_send_message().expect("checked type");
            crate::message::Attachment::from_union(m.attachment_type(), m.attachment_as_location(), m.attachment_as_contact())
                .map(|_| ())
                .map_err(|_| "SendMessage.attachment is not an Attachment the schema defines")
        }
        _ => Ok(()),
    }
}

/// Verifies a frame received by a client. Nested events are verified separately with [`event`]
/// when they are read.
pub fn server_frame(buf: &[u8]) -> Result<fb::Frame<'_>, ErrorCode> {
    if buf.len() > MAX_SERVER_FRAME_BYTES {
        return Err(ErrorCode::FrameTooLarge);
    }
    let frame = fb::root_as_frame_with_opts(&options(MAX_SERVER_FRAME_BYTES, MAX_SERVER_VERIFY_TABLES), buf).map_err(classify)?;
    let body = frame.body_type();
    if !known(body) || !(server_only(body) || body == fb::Body::Close) {
        return Err(ErrorCode::UnknownFrame);
    }
    Ok(frame)
}

/// Verifies one stored or nested chat event.
pub fn event(buf: &[u8]) -> Result<fb::Event<'_>, ErrorCode> {
    flatbuffers::root_with_opts::<fb::Event>(&options(MAX_SERVER_FRAME_BYTES, MAX_VERIFY_TABLES), buf).map_err(classify)
}
