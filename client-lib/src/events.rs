//! Owned, typed chat events and the stream of everything the client tells the app.

use crate::error::{ClientError, Result};
use crate::transport::Transport;
use magpie_wire::{fb, verify, ErrorCode};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Kind of chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    Direct,
    Group,
    /// A kind added to the protocol after this build.
    Unknown(u8),
}

/// A member's role in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Member,
    Admin,
    /// A role added to the protocol after this build.
    Unknown(u8),
}

impl From<fb::ChatKind> for ChatKind {
    fn from(k: fb::ChatKind) -> Self {
        match k {
            fb::ChatKind::Direct => ChatKind::Direct,
            fb::ChatKind::Group => ChatKind::Group,
            other => ChatKind::Unknown(other.0),
        }
    }
}

impl From<fb::Role> for Role {
    fn from(r: fb::Role) -> Self {
        match r {
            fb::Role::Member => Role::Member,
            fb::Role::Admin => Role::Admin,
            other => Role::Unknown(other.0),
        }
    }
}

/// One entry of a chat's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEvent {
    pub chat_id: u64,
    /// 1, 2, 3, ... per chat, without gaps.
    pub seq: u64,
    /// The user who caused the event.
    pub sender_id: u64,
    pub sender_device_id: u64,
    /// Server time at append, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub kind: EventKind,
}

/// What happened. New kinds are added to the protocol over time, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    Message { message_id: u64, client_msg_id: String, content: String },
    ChatCreated { kind: ChatKind, title: String, members: Vec<(u64, Role)> },
    MembersAdded { user_ids: Vec<u64> },
    /// `left`: the user removed themselves.
    MemberRemoved { user_id: u64, left: bool },
    /// An event kind this build does not know (the union's type number). It still occupies its
    /// sequence number, so ordering and gap detection are unaffected.
    Unknown { body_type: u8 },
}

/// Verifies and decodes one event as stored and delivered (the bytes nested in `Deliver`,
/// `HistoryPage` and `ChatSummary`). Never panics, whatever the input.
pub fn decode_event(bytes: &[u8]) -> Result<ChatEvent> {
    let event = verify::event(bytes).map_err(ClientError::Decode)?;
    ChatEvent::from_verified(event)
}

fn malformed() -> ClientError {
    ClientError::Decode(ErrorCode::MalformedFrame)
}

pub(crate) fn members_of(members: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<fb::Member<'_>>>>) -> Vec<(u64, Role)> {
    members.map(|v| v.iter().map(|m| (m.user_id(), m.role().into())).collect()).unwrap_or_default()
}

impl ChatEvent {
    /// Decodes an event that has passed `verify::event`.
    fn from_verified(e: fb::Event<'_>) -> Result<Self> {
        // The encoder omits empty strings, so an absent string field means "".
        let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
        let kind = match e.body_type() {
            fb::EventBody::MessageBody => {
                let m = e.body_as_message_body().ok_or_else(malformed)?;
                EventKind::Message {
                    message_id: m.message_id(),
                    client_msg_id: text(m.client_msg_id()),
                    content: text(m.content()),
                }
            }
            fb::EventBody::ChatCreated => {
                let c = e.body_as_chat_created().ok_or_else(malformed)?;
                EventKind::ChatCreated { kind: c.kind().into(), title: text(c.title()), members: members_of(c.members()) }
            }
            fb::EventBody::MembersAdded => {
                let m = e.body_as_members_added().ok_or_else(malformed)?;
                EventKind::MembersAdded { user_ids: m.user_ids().map(|v| v.iter().collect()).unwrap_or_default() }
            }
            fb::EventBody::MemberRemoved => {
                let m = e.body_as_member_removed().ok_or_else(malformed)?;
                EventKind::MemberRemoved { user_id: m.user_id(), left: m.left() }
            }
            // Every event has a body; one without is a broken event, not a new kind.
            fb::EventBody::NONE => return Err(malformed()),
            other => EventKind::Unknown { body_type: other.0 },
        };
        if e.seq() == 0 {
            // Sequence numbers start at 1; a 0 would be silently swallowed as a duplicate.
            return Err(malformed());
        }
        Ok(ChatEvent {
            chat_id: e.chat_id(),
            seq: e.seq(),
            sender_id: e.sender_id(),
            sender_device_id: e.sender_device_id(),
            time_ms: e.time_ms(),
            kind,
        })
    }

    /// Whether this event makes `user_id` a member of its chat.
    pub fn adds_member(&self, user_id: u64) -> bool {
        match &self.kind {
            EventKind::ChatCreated { members, .. } => members.iter().any(|&(id, _)| id == user_id),
            EventKind::MembersAdded { user_ids } => user_ids.contains(&user_id),
            _ => false,
        }
    }

    /// Whether this event ends `user_id`'s membership of its chat.
    pub fn removes_member(&self, user_id: u64) -> bool {
        matches!(self.kind, EventKind::MemberRemoved { user_id: id, .. } if id == user_id)
    }
}

/// What the client tells the app, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A connection is up and authenticated; a sync follows. `resumed` is false for the first
    /// connection of this client and true for every reconnection.
    Connected { transport: Transport, resumed: bool },
    /// The next event of a chat: per chat, every event exactly once, in sequence order.
    Event(ChatEvent),
    /// Everything missed while offline has been delivered (the server's counts).
    SyncDone { chats: u32, events: u64 },
    /// The connection broke; the client is reconnecting. Unacknowledged sends stay queued.
    Disconnected { reason: String },
    /// The client stopped for good: the server closed the connection with a code that forbids
    /// reconnecting (revoked device, version mismatch, protocol violation), the token was
    /// rejected, or the device logged out. No event follows.
    Closed { code: Option<ErrorCode>, reason: String },
}

/// The client's event stream. Read it continuously, or drop it: the client never waits for the
/// app, so unread events accumulate in memory, and once this is dropped they are discarded.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<ClientEvent>,
}

impl Events {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<ClientEvent>) -> Self {
        Events { rx }
    }

    /// The next event; `None` once the client has stopped and everything was read.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }

    /// The next event if one is ready.
    pub fn try_next(&mut self) -> Option<ClientEvent> {
        self.rx.try_recv().ok()
    }

    /// The next chat event, skipping connection status events.
    pub async fn next_chat_event(&mut self) -> Option<ChatEvent> {
        loop {
            match self.rx.recv().await? {
                ClientEvent::Event(e) => return Some(e),
                _ => continue,
            }
        }
    }

    pub fn into_inner(self) -> mpsc::UnboundedReceiver<ClientEvent> {
        self.rx
    }
}

impl futures_util::Stream for Events {
    type Item = ClientEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magpie_wire::encode::{self, EventHeader};

    const H: EventHeader = EventHeader { chat_id: 7, seq: 3, sender_id: 11, sender_device_id: 12, time_ms: 1_700_000_000_000 };

    #[test]
    fn decodes_every_event_kind() {
        let e = decode_event(&encode::message_event(&H, 99, "c-1", "héllo")).unwrap();
        assert_eq!((e.chat_id, e.seq, e.sender_id, e.sender_device_id, e.time_ms), (7, 3, 11, 12, H.time_ms));
        assert_eq!(
            e.kind,
            EventKind::Message { message_id: 99, client_msg_id: "c-1".into(), content: "héllo".into() }
        );

        let e = decode_event(&encode::chat_created_event(
            &H,
            fb::ChatKind::Group,
            "team",
            &[(11, fb::Role::Admin), (12, fb::Role::Member)],
        ))
        .unwrap();
        assert_eq!(
            e.kind,
            EventKind::ChatCreated {
                kind: ChatKind::Group,
                title: "team".into(),
                members: vec![(11, Role::Admin), (12, Role::Member)]
            }
        );
        assert!(e.adds_member(12) && !e.adds_member(13));

        let e = decode_event(&encode::members_added_event(&H, &[4, 5])).unwrap();
        assert_eq!(e.kind, EventKind::MembersAdded { user_ids: vec![4, 5] });
        assert!(e.adds_member(5));

        let e = decode_event(&encode::member_removed_event(&H, 4, true)).unwrap();
        assert_eq!(e.kind, EventKind::MemberRemoved { user_id: 4, left: true });
        assert!(e.removes_member(4) && !e.removes_member(5));
    }

    #[test]
    fn empty_strings_decode_as_empty() {
        // The encoder leaves empty strings out of the buffer entirely.
        let e = decode_event(&encode::chat_created_event(&H, fb::ChatKind::Direct, "", &[])).unwrap();
        assert_eq!(e.kind, EventKind::ChatCreated { kind: ChatKind::Direct, title: String::new(), members: vec![] });
    }

    #[test]
    fn rejects_garbage_and_truncation_without_panicking() {
        let good = encode::message_event(&H, 1, "c", "x");
        assert!(decode_event(&[]).is_err());
        assert!(decode_event(&[0xff; 3]).is_err());
        for cut in 0..good.len() {
            let _ = decode_event(&good[..cut]);
        }
        let mut flipped = good.to_vec();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = decode_event(&flipped);
            flipped[i] ^= 0x5a;
        }
        // A whole frame is not an event; whatever the verifier makes of it, no panic.
        let _ = decode_event(&encode::ok(1));
    }

    #[test]
    fn rejects_seq_zero() {
        let h = EventHeader { seq: 0, ..H };
        assert_eq!(decode_event(&encode::members_added_event(&h, &[1])), Err(ClientError::Decode(ErrorCode::MalformedFrame)));
    }
}
