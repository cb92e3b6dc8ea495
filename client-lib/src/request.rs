//! The requests an app can make, encoded once the connection assigns a request id.

use crate::events::{ChatKind, ChatSettings, ChatState, Role};
use bytes::Bytes;
use magpie_wire::chat::{state_fields, update, Info};
use magpie_wire::{encode, fb};

/// The other side of a direct chat: a user id or a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Id(u64),
    Username(String),
}

impl From<u64> for Peer {
    fn from(id: u64) -> Self {
        Peer::Id(id)
    }
}

impl From<&str> for Peer {
    fn from(name: &str) -> Self {
        Peer::Username(name.to_owned())
    }
}

impl From<String> for Peer {
    fn from(name: String) -> Self {
        Peer::Username(name)
    }
}

/// Which way a history page reads from `from_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The newest events with `seq < from_seq` (`from_seq` 0 = from the end).
    Backward,
    /// The oldest events with `seq > from_seq`.
    Forward,
}

impl From<Direction> for fb::Direction {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Backward => fb::Direction::Backward,
            Direction::Forward => fb::Direction::Forward,
        }
    }
}

/// A group or channel to create ([`Client::create_chat`](crate::Client::create_chat)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChat {
    /// `Group` or `Channel`.
    pub kind: ChatKind,
    /// 1..=128 bytes.
    pub title: String,
    /// Others to add (a channel's become subscribers); at most 1,000.
    pub member_ids: Vec<u64>,
    /// 0..=1,024 bytes.
    pub description: String,
    /// A public handle (5..=32 of `[a-z0-9_]`), or empty for none.
    pub handle: String,
    /// `None`: the defaults.
    pub settings: Option<ChatSettings>,
}

impl NewChat {
    pub fn group(title: impl Into<String>) -> NewChat {
        NewChat {
            kind: ChatKind::Group,
            title: title.into(),
            member_ids: Vec::new(),
            description: String::new(),
            handle: String::new(),
            settings: None,
        }
    }

    pub fn channel(title: impl Into<String>) -> NewChat {
        NewChat { kind: ChatKind::Channel, ..NewChat::group(title) }
    }
}

/// The parts of a chat's info to change ([`Client::update_chat`](crate::Client::update_chat));
/// `None` leaves a part as it is. An empty `handle` removes the handle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub avatar_ref: Option<String>,
    pub handle: Option<String>,
    pub settings: Option<ChatSettings>,
}

impl ChatUpdate {
    /// The `UpdateChat.fields` bits and the values to send.
    fn to_wire(&self) -> (u32, Info) {
        let mut fields = 0;
        let mut pick = |v: &Option<String>, bit: u32| {
            if v.is_some() {
                fields |= bit;
            }
            v.clone().unwrap_or_default()
        };
        let info = Info {
            title: pick(&self.title, update::TITLE),
            description: pick(&self.description, update::DESCRIPTION),
            avatar_ref: pick(&self.avatar_ref, update::AVATAR_REF),
            handle: pick(&self.handle, update::HANDLE),
            settings: self.settings.unwrap_or_default().into(),
        };
        if self.settings.is_some() {
            fields |= update::SETTINGS;
        }
        (fields, info)
    }
}

/// The parts of the user's own state of a chat to change
/// ([`Client::set_chat_state`](crate::Client::set_chat_state)); `None` leaves a part as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatStateChange {
    /// 0 = not muted, `i64::MAX` = muted for good, else muted until then (Unix ms).
    pub muted_until_ms: Option<i64>,
    /// Pinning puts the chat at the top of the pinned ones (at most 10).
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
    pub marked_unread: Option<bool>,
}

impl ChatStateChange {
    fn to_wire(self) -> (u32, ChatState) {
        let mut fields = 0;
        for (set, bit) in [
            (self.muted_until_ms.is_some(), state_fields::MUTED_UNTIL),
            (self.pinned.is_some(), state_fields::PINNED),
            (self.archived.is_some(), state_fields::ARCHIVED),
            (self.marked_unread.is_some(), state_fields::MARKED_UNREAD),
        ] {
            if set {
                fields |= bit;
            }
        }
        let state = ChatState {
            muted_until_ms: self.muted_until_ms.unwrap_or(0),
            // The encoder sends `pinned` as pin_rank != 0; the server assigns the rank.
            pin_rank: u64::from(self.pinned.unwrap_or(false)),
            archived: self.archived.unwrap_or(false),
            marked_unread: self.marked_unread.unwrap_or(false),
        };
        (fields, state)
    }
}

/// How to name a chat one is not (yet) a member of: an invite link's code or a public handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRef {
    Invite(String),
    Handle(String),
}

impl ChatRef {
    fn to_wire(&self) -> encode::ChatRef<'_> {
        match self {
            ChatRef::Invite(code) => encode::ChatRef::Invite(code),
            ChatRef::Handle(handle) => encode::ChatRef::Handle(handle),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    Logout,
    ListDevices,
    RevokeDevice { device_id: u64 },
    LookupUser { username: String },
    GetUsers { user_ids: Vec<u64> },
    CreateDirect(Peer),
    CreateGroup { title: String, member_ids: Vec<u64> },
    AddMembers { chat_id: u64, user_ids: Vec<u64> },
    RemoveMember { chat_id: u64, user_id: u64 },
    CreateChat(NewChat),
    LeaveChat { chat_id: u64, successor: u64 },
    GetChat { chat_id: u64 },
    ListChats { after_chat_id: u64, limit: u16 },
    ListChatsByActivity { archived: bool, before_ms: i64, before_chat_id: u64, limit: u16 },
    ListMembers { chat_id: u64, after_user_id: u64, limit: u16, admins_only: bool },
    UpdateChat { chat_id: u64, update: ChatUpdate },
    SetRole { chat_id: u64, user_id: u64, role: Role },
    TransferOwnership { chat_id: u64, user_id: u64 },
    CreateInvite { chat_id: u64, expires_ms: i64, max_uses: u32 },
    ListInvites { chat_id: u64 },
    RevokeInvite { chat_id: u64, code: String },
    PreviewChat(ChatRef),
    JoinChat(ChatRef),
    ListJoinRequests { chat_id: u64 },
    ResolveJoin { chat_id: u64, user_id: u64, approve: bool },
    SetChatState { chat_id: u64, change: ChatStateChange },
    ReorderPinned { chat_ids: Vec<u64> },
    SaveBroadcastList { list_id: u64, name: String, recipient_ids: Vec<u64> },
    DeleteBroadcastList { list_id: u64 },
    ListBroadcastLists,
    SendBroadcast { list_id: u64, client_msg_id: String, content: String },
    History { chat_id: u64, from_seq: u64, direction: Direction, limit: u16 },
    Ping { nonce: u64 },
    EditMessage { chat_id: u64, seq: u64, content: String, mentions: Vec<u64> },
    DeleteMessages { chat_id: u64, seqs: Vec<u64>, for_everyone: bool },
    React { chat_id: u64, seq: u64, emoji: String, add: bool },
    ListReactions { chat_id: u64, seq: u64, emoji: String, after_user_id: u64, limit: u16 },
    PinMessage { chat_id: u64, seq: u64, pinned: bool },
    ListPins { chat_id: u64 },
    UpdateLiveLocation { chat_id: u64, seq: u64, position: (f64, f64, f32), stop: bool },
    ForwardMessage { from_chat_id: u64, seq: u64, to_chat_ids: Vec<u64>, client_msg_id: String },
    GetMessageVersions { chat_id: u64, seq: u64 },
    ListMentions { before_message_id: u64, limit: u16 },
    /// Receipts, presence and typing (`presence.rs`).
    Presence(crate::presence::PresenceRequest),
}

impl Request {
    pub(crate) fn encode(&self, request_id: u64) -> Bytes {
        match self {
            Request::Logout => encode::logout(request_id),
            Request::ListDevices => encode::list_devices(request_id),
            Request::RevokeDevice { device_id } => encode::revoke_device(request_id, *device_id),
            Request::LookupUser { username } => encode::lookup_user(request_id, username),
            Request::GetUsers { user_ids } => encode::get_users(request_id, user_ids),
            Request::CreateDirect(Peer::Id(id)) => encode::create_direct(request_id, *id, ""),
            Request::CreateDirect(Peer::Username(name)) => encode::create_direct(request_id, 0, name),
            Request::CreateGroup { title, member_ids } => encode::create_group(request_id, title, member_ids),
            Request::AddMembers { chat_id, user_ids } => encode::add_members(request_id, *chat_id, user_ids),
            Request::RemoveMember { chat_id, user_id } => encode::remove_member(request_id, *chat_id, *user_id),
            Request::CreateChat(c) => encode::create_chat(
                request_id,
                &encode::CreateChatArgs {
                    kind: c.kind.into(),
                    title: &c.title,
                    member_ids: &c.member_ids,
                    description: &c.description,
                    handle: &c.handle,
                    settings: c.settings.map(Into::into),
                },
            ),
            Request::LeaveChat { chat_id, successor } => encode::leave_chat_to(request_id, *chat_id, *successor),
            Request::GetChat { chat_id } => encode::get_chat(request_id, *chat_id),
            Request::ListChats { after_chat_id, limit } => encode::list_chats_page(request_id, *after_chat_id, *limit),
            Request::ListChatsByActivity { archived, before_ms, before_chat_id, limit } => {
                encode::list_chats_by_activity(request_id, *archived, *before_ms, *before_chat_id, *limit)
            }
            Request::ListMembers { chat_id, after_user_id, limit, admins_only } => {
                encode::list_members(request_id, *chat_id, *after_user_id, *limit, *admins_only)
            }
            Request::UpdateChat { chat_id, update } => {
                let (fields, info) = update.to_wire();
                encode::update_chat(request_id, *chat_id, fields, &info)
            }
            Request::SetRole { chat_id, user_id, role } => encode::set_role(request_id, *chat_id, *user_id, (*role).into()),
            Request::TransferOwnership { chat_id, user_id } => encode::transfer_ownership(request_id, *chat_id, *user_id),
            Request::CreateInvite { chat_id, expires_ms, max_uses } => {
                encode::create_invite(request_id, *chat_id, *expires_ms, *max_uses)
            }
            Request::ListInvites { chat_id } => encode::list_invites(request_id, *chat_id),
            Request::RevokeInvite { chat_id, code } => encode::revoke_invite(request_id, *chat_id, code),
            Request::PreviewChat(by) => encode::preview_chat(request_id, by.to_wire()),
            Request::JoinChat(by) => encode::join_chat(request_id, by.to_wire()),
            Request::ListJoinRequests { chat_id } => encode::list_join_requests(request_id, *chat_id),
            Request::ResolveJoin { chat_id, user_id, approve } => {
                encode::resolve_join_request(request_id, *chat_id, *user_id, *approve)
            }
            Request::SetChatState { chat_id, change } => {
                let (fields, state) = change.to_wire();
                encode::set_chat_state(request_id, *chat_id, fields, &state)
            }
            Request::ReorderPinned { chat_ids } => encode::reorder_pinned(request_id, chat_ids),
            Request::Presence(p) => p.encode(request_id),
            Request::SaveBroadcastList { list_id, name, recipient_ids } => {
                encode::save_broadcast_list(request_id, *list_id, name, recipient_ids)
            }
            Request::DeleteBroadcastList { list_id } => encode::delete_broadcast_list(request_id, *list_id),
            Request::ListBroadcastLists => encode::list_broadcast_lists(request_id),
            Request::SendBroadcast { list_id, client_msg_id, content } => {
                encode::send_broadcast(request_id, *list_id, client_msg_id, content)
            }
            Request::History { chat_id, from_seq, direction, limit } => {
                encode::history(request_id, *chat_id, *from_seq, (*direction).into(), *limit)
            }
            Request::Ping { nonce } => encode::ping(request_id, *nonce),
            Request::EditMessage { chat_id, seq, content, mentions } => encode::edit_message(request_id, *chat_id, *seq, content, mentions),
            Request::DeleteMessages { chat_id, seqs, for_everyone } => encode::delete_messages(request_id, *chat_id, seqs, *for_everyone),
            Request::React { chat_id, seq, emoji, add } => encode::react(request_id, *chat_id, *seq, emoji, *add),
            Request::ListReactions { chat_id, seq, emoji, after_user_id, limit } => {
                encode::list_reactions(request_id, *chat_id, *seq, emoji, *after_user_id, *limit)
            }
            Request::PinMessage { chat_id, seq, pinned } => encode::pin_message(request_id, *chat_id, *seq, *pinned),
            Request::ListPins { chat_id } => encode::list_pins(request_id, *chat_id),
            Request::UpdateLiveLocation { chat_id, seq, position, stop } => {
                encode::update_live_location(request_id, *chat_id, *seq, *position, *stop)
            }
            Request::ForwardMessage { from_chat_id, seq, to_chat_ids, client_msg_id } => {
                encode::forward_message(request_id, *from_chat_id, *seq, to_chat_ids, client_msg_id)
            }
            Request::GetMessageVersions { chat_id, seq } => encode::get_message_versions(request_id, *chat_id, *seq),
            Request::ListMentions { before_message_id, limit } => encode::list_mentions(request_id, *before_message_id, *limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magpie_wire::verify;

    #[test]
    fn every_request_encodes_a_valid_client_frame() {
        let all = [
            Request::Logout,
            Request::ListDevices,
            Request::RevokeDevice { device_id: 3 },
            Request::LookupUser { username: "bob".into() },
            Request::CreateDirect(7.into()),
            Request::CreateDirect("bob".into()),
            Request::CreateGroup { title: "g".into(), member_ids: vec![1, 2] },
            Request::AddMembers { chat_id: 1, user_ids: vec![3] },
            Request::RemoveMember { chat_id: 1, user_id: 3 },
            Request::CreateChat(NewChat::channel("c")),
            Request::LeaveChat { chat_id: 1, successor: 0 },
            Request::GetChat { chat_id: 1 },
            Request::ListChats { after_chat_id: 0, limit: 0 },
            Request::ListChatsByActivity { archived: true, before_ms: 5, before_chat_id: 6, limit: 7 },
            Request::ListMembers { chat_id: 1, after_user_id: 2, limit: 3, admins_only: true },
            Request::UpdateChat { chat_id: 1, update: ChatUpdate::default() },
            Request::SetRole { chat_id: 1, user_id: 2, role: Role::Admin },
            Request::TransferOwnership { chat_id: 1, user_id: 2 },
            Request::CreateInvite { chat_id: 1, expires_ms: 0, max_uses: 1 },
            Request::ListInvites { chat_id: 1 },
            Request::RevokeInvite { chat_id: 1, code: "abc".into() },
            Request::PreviewChat(ChatRef::Handle("news_room".into())),
            Request::JoinChat(ChatRef::Invite("abc".into())),
            Request::ListJoinRequests { chat_id: 1 },
            Request::ResolveJoin { chat_id: 1, user_id: 2, approve: false },
            Request::SetChatState { chat_id: 1, change: ChatStateChange::default() },
            Request::ReorderPinned { chat_ids: vec![3, 1] },
            Request::SaveBroadcastList { list_id: 0, name: "n".into(), recipient_ids: vec![2] },
            Request::DeleteBroadcastList { list_id: 4 },
            Request::ListBroadcastLists,
            Request::SendBroadcast { list_id: 4, client_msg_id: "m".into(), content: "x".into() },
            Request::EditMessage { chat_id: 1, seq: 2, content: "x".into(), mentions: vec![3] },
            Request::DeleteMessages { chat_id: 1, seqs: vec![2], for_everyone: true },
            Request::React { chat_id: 1, seq: 2, emoji: "👍".into(), add: true },
            Request::ListReactions { chat_id: 1, seq: 2, emoji: String::new(), after_user_id: 0, limit: 0 },
            Request::PinMessage { chat_id: 1, seq: 2, pinned: true },
            Request::ListPins { chat_id: 1 },
            Request::UpdateLiveLocation { chat_id: 1, seq: 2, position: (1.0, 2.0, 3.0), stop: false },
            Request::ForwardMessage { from_chat_id: 1, seq: 2, to_chat_ids: vec![3], client_msg_id: "f".into() },
            Request::GetMessageVersions { chat_id: 1, seq: 2 },
            Request::ListMentions { before_message_id: 0, limit: 0 },
            Request::History { chat_id: 1, from_seq: 0, direction: Direction::Backward, limit: 10 },
            Request::Ping { nonce: 9 },
        ];
        for (i, r) in all.iter().enumerate() {
            let f = r.encode(i as u64 + 1);
            assert_eq!(verify::client_frame(&f).unwrap().request_id(), i as u64 + 1, "{r:?}");
        }
        let f = Request::CreateDirect("bob".into()).encode(1);
        let d = verify::client_frame(&f).unwrap().body_as_create_direct().unwrap();
        assert_eq!((d.peer_user_id(), d.peer_username()), (0, Some("bob")));
        let f = Request::History { chat_id: 4, from_seq: 8, direction: Direction::Forward, limit: 20 }.encode(1);
        let h = verify::client_frame(&f).unwrap().body_as_history().unwrap();
        assert_eq!((h.chat_id(), h.from_seq(), h.direction(), h.limit()), (4, 8, fb::Direction::Forward, 20));
    }

    #[test]
    fn optional_parts_become_field_bits() {
        let settings = ChatSettings { approve_joins: true, ..ChatSettings::default() };
        let u = ChatUpdate { title: Some("t".into()), handle: Some(String::new()), settings: Some(settings), ..Default::default() };
        let f = Request::UpdateChat { chat_id: 9, update: u }.encode(1);
        let frame = verify::client_frame(&f).unwrap();
        verify::client_enums(&frame).unwrap();
        let u = frame.body_as_update_chat().unwrap();
        assert_eq!(u.fields(), update::TITLE | update::HANDLE | update::SETTINGS);
        assert_eq!((u.chat_id(), u.title(), u.handle().unwrap_or("")), (9, Some("t"), ""));
        assert!(u.settings().unwrap().approve_joins());

        let change = ChatStateChange { pinned: Some(true), marked_unread: Some(false), ..Default::default() };
        let f = Request::SetChatState { chat_id: 3, change }.encode(1);
        let s = verify::client_frame(&f).unwrap().body_as_set_chat_state().unwrap();
        assert_eq!(s.fields(), state_fields::PINNED | state_fields::MARKED_UNREAD);
        assert!(s.pinned() && !s.marked_unread());

        let c = NewChat {
            handle: "news_room".into(),
            description: "d".into(),
            member_ids: vec![5],
            settings: Some(settings),
            ..NewChat::channel("news")
        };
        let f = Request::CreateChat(c).encode(1);
        let frame = verify::client_frame(&f).unwrap();
        verify::client_enums(&frame).unwrap();
        let g = frame.body_as_create_group().unwrap();
        assert_eq!((g.kind(), g.title(), g.handle(), g.description()), (fb::ChatKind::Channel, Some("news"), Some("news_room"), Some("d")));
        assert!(g.settings().unwrap().approve_joins());
        // No settings given: the field is left out and the server applies the defaults.
        let f = Request::CreateChat(NewChat::group("g")).encode(1);
        assert!(verify::client_frame(&f).unwrap().body_as_create_group().unwrap().settings().is_none());

        let f = Request::LeaveChat { chat_id: 3, successor: 8 }.encode(1);
        let l = verify::client_frame(&f).unwrap().body_as_leave_chat().unwrap();
        assert_eq!((l.chat_id(), l.successor()), (3, 8));
        let f = Request::JoinChat(ChatRef::Handle("news_room".into())).encode(1);
        let j = verify::client_frame(&f).unwrap().body_as_join_chat().unwrap();
        assert_eq!((j.invite_code(), j.handle()), (None, Some("news_room")));
    }
}
