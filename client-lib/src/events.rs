//! Owned, typed chat events and the stream of everything the client tells the app.

use magpie_wire::message::{Attachment, ForwardRef, Message, ReactionUpdate, ReplyRef};
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
    /// The owner and admins post; everyone else subscribes and reads.
    Channel,
    /// A kind added to the protocol after this build.
    Unknown(u8),
}

/// A member's role in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Member,
    Admin,
    /// Exactly one per chat with members; may do everything an admin may.
    Owner,
    /// A role added to the protocol after this build.
    Unknown(u8),
}

impl Role {
    /// The owner or an admin.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Admin | Role::Owner)
    }
}

/// Who a chat setting allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Members,
    Admins,
    /// A value added to the protocol after this build.
    Unknown(u8),
}

/// What of a chat's history a member who joins later may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryVisibility {
    Everything,
    /// Only what came after one's own join.
    SinceJoined,
    /// A value added to the protocol after this build.
    Unknown(u8),
}

/// How members came to be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinedVia {
    /// By an admin (`AddMembers`).
    Added,
    InviteLink,
    /// By the chat's public handle.
    Handle,
    /// An admin approved their join request.
    Approved,
    /// A value added to the protocol after this build.
    Unknown(u8),
}

macro_rules! wire_enum {
    ($ours:ident, $fb:ident { $($v:ident),* }) => {
        impl From<fb::$fb> for $ours {
            fn from(x: fb::$fb) -> Self {
                match x {
                    $( fb::$fb::$v => $ours::$v, )*
                    other => $ours::Unknown(other.0),
                }
            }
        }
        impl From<$ours> for fb::$fb {
            fn from(x: $ours) -> Self {
                match x {
                    $( $ours::$v => fb::$fb::$v, )*
                    $ours::Unknown(n) => fb::$fb(n),
                }
            }
        }
    };
}

wire_enum!(ChatKind, ChatKind { Direct, Group, Channel });
wire_enum!(Role, Role { Member, Admin, Owner });
wire_enum!(Who, Who { Members, Admins });
wire_enum!(HistoryVisibility, HistoryVisibility { Everything, SinceJoined });
wire_enum!(JoinedVia, JoinedVia { Added, InviteLink, Handle, Approved });

/// One member of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Member {
    pub user_id: u64,
    pub role: Role,
    /// The first seq of the chat this member receives (the event of their join).
    pub since_seq: u64,
}

/// A chat's settings (PROTOCOL.md §6.9). `Default` is the schema's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChatSettings {
    /// Who may post (channels: always admins).
    pub post: Who,
    /// Who may add members and create invite links.
    pub add_members: Who,
    /// Who may change the title, description and avatar.
    pub change_info: Who,
    /// Who may pin messages.
    pub pin: Who,
    pub history: HistoryVisibility,
    /// Members may forward messages out of the chat.
    pub forwarding: bool,
    /// Joins by invite link or handle wait for an admin's approval.
    pub approve_joins: bool,
}

impl Default for ChatSettings {
    fn default() -> Self {
        magpie_wire::chat::Settings::default().into()
    }
}

impl From<magpie_wire::chat::Settings> for ChatSettings {
    fn from(s: magpie_wire::chat::Settings) -> Self {
        ChatSettings {
            post: s.post.into(),
            add_members: s.add_members.into(),
            change_info: s.change_info.into(),
            pin: s.pin.into(),
            history: s.history.into(),
            forwarding: s.forwarding,
            approve_joins: s.approve_joins,
        }
    }
}

impl From<ChatSettings> for magpie_wire::chat::Settings {
    fn from(s: ChatSettings) -> Self {
        magpie_wire::chat::Settings {
            post: s.post.into(),
            add_members: s.add_members.into(),
            change_info: s.change_info.into(),
            pin: s.pin.into(),
            history: s.history.into(),
            forwarding: s.forwarding,
            approve_joins: s.approve_joins,
        }
    }
}

pub(crate) fn settings_of(t: Option<fb::ChatSettings<'_>>) -> ChatSettings {
    magpie_wire::chat::Settings::from_fb(t).into()
}

/// One user's own state of one chat, the same on all their devices (PROTOCOL.md §6.10).
pub use magpie_wire::chat::State as ChatState;

/// One entry of a chat's log.
#[derive(Debug, Clone, PartialEq)]
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

/// What a message carries besides its text (PROTOCOL.md §6.13).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageExtras {
    /// The quoted message of a reply, as the server copied it.
    pub reply_to: Option<ReplyRef>,
    /// Where a forwarded copy came from.
    pub forwarded: Option<ForwardRef>,
    pub mentions: Vec<u64>,
    pub mention_all: bool,
    pub attachment: Option<Attachment>,
    /// A tombstone: deleted for everyone.
    pub deleted: bool,
}

impl MessageExtras {
    /// The extras of `m`, or none for plain text.
    fn of(m: &Message) -> Option<Box<MessageExtras>> {
        let extras = MessageExtras {
            reply_to: m.reply_to.clone(),
            forwarded: m.forwarded.clone(),
            mentions: m.mentions.clone(),
            mention_all: m.mention_all,
            attachment: m.attachment.clone(),
            deleted: m.deleted,
        };
        (extras != MessageExtras::default()).then(|| Box::new(extras))
    }
}

/// What happened. New kinds are added to the protocol over time, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `extras`: what it carries besides its text (none for plain text).
    Message { message_id: u64, client_msg_id: String, content: String, extras: Option<Box<MessageExtras>> },
    /// A message's new text and mentions (`EditMessage`).
    MessageEdited { target_seq: u64, content: String, mentions: Vec<u64> },
    /// Messages deleted for everyone: erase them (and the quotes of replies to them).
    MessagesDeleted { seqs: Vec<u64> },
    /// Reactions changed, coalesced: each message's new totals (and, in chats of at most 256
    /// members, who changed what).
    ReactionsChanged { messages: Vec<ReactionUpdate> },
    MessagePinned { target_seq: u64, pinned: bool },
    /// A live location moved on (or, `stopped`, ended there).
    LiveLocationUpdated { target_seq: u64, latitude: f64, longitude: f64, accuracy_m: f32, stopped: bool },
    /// Always seq 1. `members`: the first members (a channel's subscribers are not listed).
    ChatCreated {
        kind: ChatKind,
        title: String,
        members: Vec<Member>,
        description: String,
        handle: String,
        settings: ChatSettings,
    },
    MembersAdded { user_ids: Vec<u64>, via: JoinedVia },
    /// `left`: the user removed themselves.
    MemberRemoved { user_id: u64, left: bool },
    /// The chat's whole new info (`UpdateChat`).
    ChatUpdated { title: String, description: String, avatar_ref: String, handle: String, settings: ChatSettings },
    /// `user_id` now has `role` (`SetRole`).
    RoleChanged { user_id: u64, role: Role },
    /// Ownership passed; `previous_owner` is now an admin, or is leaving (a `MemberRemoved`
    /// follows).
    OwnerChanged { previous_owner: u64, new_owner: u64 },
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

fn finite(latitude: f64, longitude: f64, accuracy_m: f32) -> bool {
    latitude.is_finite() && longitude.is_finite() && accuracy_m.is_finite()
}

fn malformed() -> ClientError {
    ClientError::Decode(ErrorCode::MalformedFrame)
}

pub(crate) fn members_of(members: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<fb::Member<'_>>>>) -> Vec<Member> {
    members
        .map(|v| v.iter().map(|m| Member { user_id: m.user_id(), role: m.role().into(), since_seq: m.since_seq() }).collect())
        .unwrap_or_default()
}

impl ChatEvent {
    /// Decodes an event that has passed `verify::event`.
    fn from_verified(e: fb::Event<'_>) -> Result<Self> {
        // The encoder omits empty strings, so an absent string field means "".
        let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
        let kind = match e.body_type() {
            fb::EventBody::MessageBody => {
                let m = Message::from_fb(e.body_as_message_body().ok_or_else(malformed)?).map_err(|_| malformed())?;
                // A server checks every place it stores; one that is not a number is a broken event.
                if let Some(Attachment::Location(l)) = &m.attachment {
                    if !finite(l.latitude, l.longitude, l.accuracy_m) {
                        return Err(malformed());
                    }
                }
                let extras = MessageExtras::of(&m);
                EventKind::Message { message_id: m.message_id, client_msg_id: m.client_msg_id, content: m.content, extras }
            }
            fb::EventBody::MessageEdited => {
                let m = e.body_as_message_edited().ok_or_else(malformed)?;
                let mentions = m.mentions().map(|v| v.iter().collect()).unwrap_or_default();
                EventKind::MessageEdited { target_seq: m.target_seq(), content: text(m.content()), mentions }
            }
            fb::EventBody::MessagesDeleted => {
                let d = e.body_as_messages_deleted().ok_or_else(malformed)?;
                EventKind::MessagesDeleted { seqs: d.seqs().map(|v| v.iter().collect()).unwrap_or_default() }
            }
            fb::EventBody::ReactionsChanged => {
                let r = e.body_as_reactions_changed().ok_or_else(malformed)?;
                let messages = r
                    .messages()
                    .map(|v| {
                        v.iter()
                            .map(|m| ReactionUpdate {
                                seq: m.seq(),
                                counts: m.counts().map(|c| c.iter().map(|c| (text(c.emoji()), c.count())).collect()).unwrap_or_default(),
                                toggles: m.toggles().map(|t| t.iter().map(|t| (t.user_id(), text(t.emoji()), t.added())).collect()).unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                EventKind::ReactionsChanged { messages }
            }
            fb::EventBody::MessagePinned => {
                let p = e.body_as_message_pinned().ok_or_else(malformed)?;
                EventKind::MessagePinned { target_seq: p.target_seq(), pinned: p.pinned() }
            }
            fb::EventBody::LiveLocationUpdated => {
                let l = e.body_as_live_location_updated().ok_or_else(malformed)?;
                if !finite(l.latitude(), l.longitude(), l.accuracy_m()) {
                    return Err(malformed());
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
                let c = e.body_as_chat_created().ok_or_else(malformed)?;
                EventKind::ChatCreated {
                    kind: c.kind().into(),
                    title: text(c.title()),
                    members: members_of(c.members()),
                    description: text(c.description()),
                    handle: text(c.handle()),
                    settings: settings_of(c.settings()),
                }
            }
            fb::EventBody::MembersAdded => {
                let m = e.body_as_members_added().ok_or_else(malformed)?;
                EventKind::MembersAdded {
                    user_ids: m.user_ids().map(|v| v.iter().collect()).unwrap_or_default(),
                    via: m.via().into(),
                }
            }
            fb::EventBody::ChatUpdated => {
                let u = e.body_as_chat_updated().ok_or_else(malformed)?;
                EventKind::ChatUpdated {
                    title: text(u.title()),
                    description: text(u.description()),
                    avatar_ref: text(u.avatar_ref()),
                    handle: text(u.handle()),
                    settings: settings_of(u.settings()),
                }
            }
            fb::EventBody::RoleChanged => {
                let r = e.body_as_role_changed().ok_or_else(malformed)?;
                EventKind::RoleChanged { user_id: r.user_id(), role: r.role().into() }
            }
            fb::EventBody::OwnerChanged => {
                let o = e.body_as_owner_changed().ok_or_else(malformed)?;
                EventKind::OwnerChanged { previous_owner: o.previous_owner(), new_owner: o.new_owner() }
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
            EventKind::ChatCreated { members, .. } => members.iter().any(|m| m.user_id == user_id),
            EventKind::MembersAdded { user_ids, .. } => user_ids.contains(&user_id),
            _ => false,
        }
    }

    /// Whether this event ends `user_id`'s membership of its chat.
    pub fn removes_member(&self, user_id: u64) -> bool {
        matches!(self.kind, EventKind::MemberRemoved { user_id: id, .. } if id == user_id)
    }
}

/// What the client tells the app, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// A connection is up and authenticated; a sync follows. `resumed` is false for the first
    /// connection of this client and true for every reconnection.
    Connected { transport: Transport, resumed: bool },
    /// The next event of a chat: per chat, every event exactly once, in sequence order.
    Event(ChatEvent),
    /// Everything missed while offline has been delivered (the server's counts).
    SyncDone { chats: u32, events: u64 },
    /// The user's own state of a chat changed on another device (or, after `reorder_pinned`,
    /// on any). Best effort: after a reconnect, `list_chats_by_activity` has the truth.
    ChatStateChanged { chat_id: u64, state: ChatState },
    /// The user subscribed to (`member`) or left a channel from another device; a channel's
    /// subscribers are not in its log, so no chat event says so. Best effort, like
    /// `ChatStateChanged`.
    MembershipChanged { chat_id: u64, member: bool },
    /// The user deleted these messages for themselves on another device (or this one): hide
    /// them. Best effort; history pages mark them too (`MessageState::hidden`).
    MessagesHidden { chat_id: u64, seqs: Vec<u64> },
    /// A member's receipt cursors moved in a chat: this user's own (on another device: unread
    /// counts follow) or, in chats of at most 256 members, someone else's (ticks, "read by").
    Receipt { chat_id: u64, receipt: crate::presence::MemberReceipt },
    /// A large chat's counts for its newest message (to its owner and admins).
    ReceiptCounts(crate::presence::ReceiptCounts),
    /// Presence of watched users, or online counts of watched chats, changed.
    Presence(crate::presence::PresenceUpdate),
    /// Someone is typing (or recording voice, or stopped) in a chat; it expires after
    /// `expires_in_ms` unless refreshed.
    Typing { chat_id: u64, user_id: u64, kind: crate::presence::TypingKind, expires_in_ms: u32 },
    /// This user's privacy settings changed on another device.
    Privacy(crate::presence::Privacy),
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
            EventKind::Message { message_id: 99, client_msg_id: "c-1".into(), content: "héllo".into(), extras: None }
        );

        let info = magpie_wire::chat::Info {
            title: "team".into(),
            description: "the team".into(),
            handle: "the_team".into(),
            settings: magpie_wire::chat::Settings { approve_joins: true, ..Default::default() },
            ..Default::default()
        };
        let members = [
            magpie_wire::chat::MemberEntry { user_id: 11, role: fb::Role::Owner, since_seq: 1 },
            magpie_wire::chat::MemberEntry { user_id: 12, role: fb::Role::Member, since_seq: 1 },
        ];
        let e = decode_event(&encode::chat_created_event(&H, fb::ChatKind::Channel, &info, &members)).unwrap();
        assert_eq!(
            e.kind,
            EventKind::ChatCreated {
                kind: ChatKind::Channel,
                title: "team".into(),
                members: vec![
                    Member { user_id: 11, role: Role::Owner, since_seq: 1 },
                    Member { user_id: 12, role: Role::Member, since_seq: 1 }
                ],
                description: "the team".into(),
                handle: "the_team".into(),
                settings: ChatSettings { approve_joins: true, ..ChatSettings::default() },
            }
        );
        assert!(e.adds_member(12) && !e.adds_member(13));

        let e = decode_event(&encode::members_added_event(&H, &[4, 5], fb::JoinedVia::InviteLink)).unwrap();
        assert_eq!(e.kind, EventKind::MembersAdded { user_ids: vec![4, 5], via: JoinedVia::InviteLink });
        assert!(e.adds_member(5));

        let e = decode_event(&encode::member_removed_event(&H, 4, true)).unwrap();
        assert_eq!(e.kind, EventKind::MemberRemoved { user_id: 4, left: true });
        assert!(e.removes_member(4) && !e.removes_member(5));

        let settings = magpie_wire::chat::Settings {
            post: fb::Who::Admins,
            history: fb::HistoryVisibility::SinceJoined,
            forwarding: false,
            ..Default::default()
        };
        let info = magpie_wire::chat::Info {
            title: "new".into(),
            description: "d".into(),
            avatar_ref: "media:1".into(),
            handle: String::new(),
            settings,
        };
        let e = decode_event(&encode::chat_updated_event(&H, &info)).unwrap();
        assert_eq!(
            e.kind,
            EventKind::ChatUpdated {
                title: "new".into(),
                description: "d".into(),
                avatar_ref: "media:1".into(),
                handle: String::new(),
                settings: ChatSettings {
                    post: Who::Admins,
                    history: HistoryVisibility::SinceJoined,
                    forwarding: false,
                    ..ChatSettings::default()
                },
            }
        );
        assert_eq!(magpie_wire::chat::Settings::from(ChatSettings::from(settings)), settings);

        let e = decode_event(&encode::role_changed_event(&H, 12, fb::Role::Admin)).unwrap();
        assert_eq!(e.kind, EventKind::RoleChanged { user_id: 12, role: Role::Admin });
        let e = decode_event(&encode::owner_changed_event(&H, 11, 12)).unwrap();
        assert_eq!(e.kind, EventKind::OwnerChanged { previous_owner: 11, new_owner: 12 });
        // A value from a newer protocol is kept, not guessed.
        let e = decode_event(&encode::role_changed_event(&H, 12, fb::Role(9))).unwrap();
        assert_eq!(e.kind, EventKind::RoleChanged { user_id: 12, role: Role::Unknown(9) });
        assert!(Role::Owner.is_admin() && Role::Admin.is_admin() && !Role::Member.is_admin());
    }

    #[test]
    fn empty_strings_decode_as_empty() {
        // The encoder leaves empty strings out of the buffer entirely.
        let e = decode_event(&encode::chat_created_event(&H, fb::ChatKind::Direct, &Default::default(), &[])).unwrap();
        assert_eq!(
            e.kind,
            EventKind::ChatCreated {
                kind: ChatKind::Direct,
                title: String::new(),
                members: vec![],
                description: String::new(),
                handle: String::new(),
                settings: ChatSettings::default(),
            }
        );
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
        assert_eq!(decode_event(&encode::members_added_event(&h, &[1], fb::JoinedVia::Added)), Err(ClientError::Decode(ErrorCode::MalformedFrame)));
    }
}
