//! Encoding: one function per frame, each returning the finished bytes.
//!
//! Frames are built in a thread-local builder that is reset, not reallocated, between frames,
//! and copied once into a `Bytes` that can be shared by every recipient (encode once, send
//! many times).

mod conversations;
mod messages;
pub use conversations::*;
mod presence;
pub use presence::*;
pub use messages::*;

use crate::chat::{Info, MemberEntry, Settings};
use crate::fb;
use bytes::Bytes;
use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use std::cell::RefCell;

pub(crate) type Fbb<'a> = FlatBufferBuilder<'a>;
type Body = (fb::Body, WIPOffset<UnionWIPOffset>);

thread_local! {
    static BUILDER: RefCell<FlatBufferBuilder<'static>> = RefCell::new(FlatBufferBuilder::with_capacity(1024));
}

fn with_builder<R>(f: impl FnOnce(&mut Fbb<'static>) -> R) -> R {
    BUILDER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut fbb) => {
            fbb.reset();
            f(&mut fbb)
        }
        // Re-entrant use (a builder closure that encodes): fall back to a fresh builder.
        Err(_) => f(&mut FlatBufferBuilder::with_capacity(1024)),
    })
}

/// Builds a `Frame` whose body `body` writes into the builder.
pub fn frame(request_id: u64, body: impl FnOnce(&mut Fbb<'static>) -> Body) -> Bytes {
    with_builder(|fbb| {
        let (body_type, body) = body(fbb);
        let root = fb::Frame::create(fbb, &fb::FrameArgs { request_id, body_type, body: Some(body) });
        fbb.finish_minimal(root);
        Bytes::copy_from_slice(fbb.finished_data())
    })
}

fn opt_str<'a>(fbb: &mut Fbb<'a>, s: &str) -> Option<WIPOffset<&'a str>> {
    (!s.is_empty()).then(|| fbb.create_string(s))
}

// ------------------------------------------------------------------ handshake and generic

pub fn hello(request_id: u64, version: u16, min_version: u16, features: u64, client_name: &str) -> Bytes {
    frame(request_id, |fbb| {
        let client_name = opt_str(fbb, client_name);
        let t = fb::Hello::create(
            fbb,
            &fb::HelloArgs { protocol_version: version, min_protocol_version: min_version, features, client_name },
        );
        (fb::Body::Hello, t.as_union_value())
    })
}

pub struct WelcomeArgs<'s> {
    pub protocol_version: u16,
    pub features: u64,
    pub server_name: &'s str,
    pub max_content_bytes: u32,
    pub max_frame_bytes: u32,
    pub server_time_ms: i64,
    pub node_id: u64,
}

pub fn welcome(request_id: u64, a: &WelcomeArgs<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let server_name = opt_str(fbb, a.server_name);
        let t = fb::Welcome::create(
            fbb,
            &fb::WelcomeArgs {
                protocol_version: a.protocol_version,
                features: a.features,
                server_name,
                max_content_bytes: a.max_content_bytes,
                max_frame_bytes: a.max_frame_bytes,
                server_time_ms: a.server_time_ms,
                node_id: a.node_id,
            },
        );
        (fb::Body::Welcome, t.as_union_value())
    })
}

pub fn error(request_id: u64, code: crate::ErrorCode, message: &str, retry_after_ms: u32) -> Bytes {
    frame(request_id, |fbb| {
        let message = opt_str(fbb, message);
        let t = fb::Error::create(fbb, &fb::ErrorArgs { code: code as u16, message, retry_after_ms });
        (fb::Body::Error, t.as_union_value())
    })
}

pub fn ok(request_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::Ok, fb::Ok::create(fbb, &fb::OkArgs {}).as_union_value()))
}

pub fn close(code: crate::ErrorCode, reason: &str) -> Bytes {
    frame(0, |fbb| {
        let reason = opt_str(fbb, reason);
        let t = fb::Close::create(fbb, &fb::CloseArgs { code: code as u16, reason });
        (fb::Body::Close, t.as_union_value())
    })
}

pub fn ping(request_id: u64, nonce: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::Ping, fb::Ping::create(fbb, &fb::PingArgs { nonce }).as_union_value()))
}

pub fn pong(request_id: u64, nonce: u64, server_time_ms: i64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::Pong, fb::Pong::create(fbb, &fb::PongArgs { nonce, server_time_ms }).as_union_value())
    })
}

// ------------------------------------------------------------------ accounts and devices

pub fn register(request_id: u64, username: &str, password: &str, device_name: &str) -> Bytes {
    frame(request_id, |fbb| {
        let (username, password, device_name) =
            (opt_str(fbb, username), opt_str(fbb, password), opt_str(fbb, device_name));
        let t = fb::Register::create(fbb, &fb::RegisterArgs { username, password, device_name });
        (fb::Body::Register, t.as_union_value())
    })
}

pub fn login(request_id: u64, username: &str, password: &str, device_name: &str) -> Bytes {
    frame(request_id, |fbb| {
        let (username, password, device_name) =
            (opt_str(fbb, username), opt_str(fbb, password), opt_str(fbb, device_name));
        let t = fb::Login::create(fbb, &fb::LoginArgs { username, password, device_name });
        (fb::Body::Login, t.as_union_value())
    })
}

pub fn authenticate(request_id: u64, token: &str) -> Bytes {
    frame(request_id, |fbb| {
        let token = opt_str(fbb, token);
        (fb::Body::Authenticate, fb::Authenticate::create(fbb, &fb::AuthenticateArgs { token }).as_union_value())
    })
}

pub fn authenticated(request_id: u64, user_id: u64, device_id: u64, username: &str, token: &str) -> Bytes {
    frame(request_id, |fbb| {
        let (username, token) = (opt_str(fbb, username), opt_str(fbb, token));
        let t = fb::Authenticated::create(fbb, &fb::AuthenticatedArgs { user_id, device_id, username, token });
        (fb::Body::Authenticated, t.as_union_value())
    })
}

pub fn logout(request_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::Logout, fb::Logout::create(fbb, &fb::LogoutArgs {}).as_union_value()))
}

pub fn list_devices(request_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::ListDevices, fb::ListDevices::create(fbb, &fb::ListDevicesArgs {}).as_union_value())
    })
}

/// One device in a [`device_list`].
pub struct DeviceEntry<'s> {
    pub device_id: u64,
    pub name: &'s str,
    pub created_ms: i64,
    pub current: bool,
}

pub fn device_list(request_id: u64, devices: &[DeviceEntry<'_>]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = devices
            .iter()
            .map(|d| {
                let name = opt_str(fbb, d.name);
                fb::Device::create(
                    fbb,
                    &fb::DeviceArgs { device_id: d.device_id, name, created_ms: d.created_ms, current: d.current },
                )
            })
            .collect();
        let devices = Some(fbb.create_vector(&items));
        (fb::Body::DeviceList, fb::DeviceList::create(fbb, &fb::DeviceListArgs { devices }).as_union_value())
    })
}

pub fn revoke_device(request_id: u64, device_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::RevokeDevice, fb::RevokeDevice::create(fbb, &fb::RevokeDeviceArgs { device_id }).as_union_value())
    })
}

pub fn lookup_user(request_id: u64, username: &str) -> Bytes {
    frame(request_id, |fbb| {
        let username = opt_str(fbb, username);
        (fb::Body::LookupUser, fb::LookupUser::create(fbb, &fb::LookupUserArgs { username }).as_union_value())
    })
}

pub fn user_info(request_id: u64, user_id: u64, username: &str) -> Bytes {
    frame(request_id, |fbb| {
        let username = opt_str(fbb, username);
        (fb::Body::UserInfo, fb::UserInfo::create(fbb, &fb::UserInfoArgs { user_id, username }).as_union_value())
    })
}

pub fn get_users(request_id: u64, user_ids: &[u64]) -> Bytes {
    frame(request_id, |fbb| {
        let user_ids = Some(fbb.create_vector(user_ids));
        (fb::Body::GetUsers, fb::GetUsers::create(fbb, &fb::GetUsersArgs { user_ids }).as_union_value())
    })
}

/// `users`: (user id, username).
pub fn user_list(request_id: u64, users: &[(u64, &str)]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = users
            .iter()
            .map(|&(user_id, name)| {
                let username = opt_str(fbb, name);
                fb::UserInfo::create(fbb, &fb::UserInfoArgs { user_id, username })
            })
            .collect();
        let users = Some(fbb.create_vector(&items));
        (fb::Body::UserList, fb::UserList::create(fbb, &fb::UserListArgs { users }).as_union_value())
    })
}

// ------------------------------------------------------------------ chats

pub fn create_direct(request_id: u64, peer_user_id: u64, peer_username: &str) -> Bytes {
    frame(request_id, |fbb| {
        let peer_username = opt_str(fbb, peer_username);
        let t = fb::CreateDirect::create(fbb, &fb::CreateDirectArgs { peer_user_id, peer_username });
        (fb::Body::CreateDirect, t.as_union_value())
    })
}

/// A group with the default settings.
pub fn create_group(request_id: u64, title: &str, member_ids: &[u64]) -> Bytes {
    create_chat(request_id, &CreateChatArgs { kind: fb::ChatKind::Group, title, member_ids, ..CreateChatArgs::default() })
}

/// `CreateGroup` with every field: a group or a channel.
#[derive(Default)]
pub struct CreateChatArgs<'s> {
    pub kind: fb::ChatKind,
    pub title: &'s str,
    pub member_ids: &'s [u64],
    pub description: &'s str,
    pub handle: &'s str,
    /// None: the defaults (the field is left out).
    pub settings: Option<Settings>,
}

pub fn create_chat(request_id: u64, a: &CreateChatArgs<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let title = opt_str(fbb, a.title);
        let member_ids = Some(fbb.create_vector(a.member_ids));
        let (description, handle) = (opt_str(fbb, a.description), opt_str(fbb, a.handle));
        let settings = a.settings.map(|s| s.build(fbb));
        let t = fb::CreateGroup::create(
            fbb,
            &fb::CreateGroupArgs { title, member_ids, kind: a.kind, description, handle, settings },
        );
        (fb::Body::CreateGroup, t.as_union_value())
    })
}

pub fn add_members(request_id: u64, chat_id: u64, user_ids: &[u64]) -> Bytes {
    frame(request_id, |fbb| {
        let user_ids = Some(fbb.create_vector(user_ids));
        let t = fb::AddMembers::create(fbb, &fb::AddMembersArgs { chat_id, user_ids });
        (fb::Body::AddMembers, t.as_union_value())
    })
}

pub fn remove_member(request_id: u64, chat_id: u64, user_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::RemoveMember::create(fbb, &fb::RemoveMemberArgs { chat_id, user_id });
        (fb::Body::RemoveMember, t.as_union_value())
    })
}

pub fn leave_chat(request_id: u64, chat_id: u64) -> Bytes {
    leave_chat_to(request_id, chat_id, 0)
}

/// Leaves; an owner hands the chat to `successor` (0: the longest-serving admin).
pub fn leave_chat_to(request_id: u64, chat_id: u64, successor: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::LeaveChat, fb::LeaveChat::create(fbb, &fb::LeaveChatArgs { chat_id, successor }).as_union_value())
    })
}

pub fn get_chat(request_id: u64, chat_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::GetChat, fb::GetChat::create(fbb, &fb::GetChatArgs { chat_id }).as_union_value()))
}

pub struct ChatInfoArgs<'s> {
    pub chat_id: u64,
    pub kind: fb::ChatKind,
    pub info: &'s Info,
    /// At most 100 (see the schema).
    pub members: &'s [MemberEntry],
    pub members_complete: bool,
    pub member_count: u32,
    pub my_role: fb::Role,
    pub last_seq: u64,
    pub created_ms: i64,
    pub pending_requests: u32,
}

fn members_vec<'a>(
    fbb: &mut Fbb<'a>,
    members: &[MemberEntry],
) -> WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::Member<'a>>>> {
    let items: Vec<_> = members
        .iter()
        .map(|m| fb::Member::create(fbb, &fb::MemberArgs { user_id: m.user_id, role: m.role, since_seq: m.since_seq }))
        .collect();
    fbb.create_vector(&items)
}

pub fn chat_info(request_id: u64, a: &ChatInfoArgs<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let title = opt_str(fbb, &a.info.title);
        let description = opt_str(fbb, &a.info.description);
        let avatar_ref = opt_str(fbb, &a.info.avatar_ref);
        let handle = opt_str(fbb, &a.info.handle);
        let settings = Some(a.info.settings.build(fbb));
        let members = Some(members_vec(fbb, a.members));
        let t = fb::ChatInfo::create(
            fbb,
            &fb::ChatInfoArgs {
                chat_id: a.chat_id,
                kind: a.kind,
                title,
                members,
                last_seq: a.last_seq,
                created_ms: a.created_ms,
                member_count: a.member_count,
                members_complete: a.members_complete,
                my_role: a.my_role,
                description,
                avatar_ref,
                handle,
                settings,
                pending_requests: a.pending_requests,
            },
        );
        (fb::Body::ChatInfo, t.as_union_value())
    })
}

/// The first page of the caller's chats, with the server's default page size.
pub fn list_chats(request_id: u64) -> Bytes {
    list_chats_page(request_id, 0, 0)
}

/// The caller's chats with chat_id > `after_chat_id`, at most `limit` (0 = the server's default).
pub fn list_chats_page(request_id: u64, after_chat_id: u64, limit: u16) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::ListChats::create(fbb, &fb::ListChatsArgs { after_chat_id, limit, ..Default::default() });
        (fb::Body::ListChats, t.as_union_value())
    })
}

/// The chat list as people see it (pinned first, then by last activity): the page after
/// (`before_ms`, `before_chat_id`), (0, 0) for the first; only archived chats if `archived`.
pub fn list_chats_by_activity(request_id: u64, archived: bool, before_ms: i64, before_chat_id: u64, limit: u16) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::ListChats::create(
            fbb,
            &fb::ListChatsArgs { after_chat_id: 0, limit, order: fb::ChatOrder::ByActivity, archived, before_ms, before_chat_id },
        );
        (fb::Body::ListChats, t.as_union_value())
    })
}

/// One chat in a [`chat_list`].
#[derive(Default)]
pub struct ChatSummaryArgs<'s> {
    pub chat_id: u64,
    pub kind: fb::ChatKind,
    pub title: &'s str,
    pub last_seq: u64,
    pub member_count: u32,
    /// The stored bytes of the chat's latest message event, if any.
    pub last_message: Option<&'s [u8]>,
    pub last_activity_ms: i64,
    pub state: crate::chat::State,
    pub my_role: fb::Role,
    pub unread_count: u32,
    pub unread_mentions: u32,
    pub avatar_ref: &'s str,
    pub handle: &'s str,
    /// The caller's and (direct chats) the peer's receipt cursors.
    pub receipts: crate::presence::SummaryReceipts,
}

/// A complete chat list (no page follows).
pub fn chat_list(request_id: u64, chats: &[ChatSummaryArgs<'_>]) -> Bytes {
    chat_list_page(request_id, chats, false)
}

/// One page of chats; `has_more` if another page follows.
pub fn chat_list_page(request_id: u64, chats: &[ChatSummaryArgs<'_>], has_more: bool) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = chats
            .iter()
            .map(|c| {
                let title = opt_str(fbb, c.title);
                let last_message = c.last_message.map(|b| fbb.create_vector(b));
                let (avatar_ref, handle) = (opt_str(fbb, c.avatar_ref), opt_str(fbb, c.handle));
                let state = Some(c.state.build(fbb));
                fb::ChatSummary::create(
                    fbb,
                    &fb::ChatSummaryArgs {
                        chat_id: c.chat_id,
                        kind: c.kind,
                        title,
                        last_seq: c.last_seq,
                        member_count: c.member_count,
                        last_message,
                        last_activity_ms: c.last_activity_ms,
                        state,
                        my_role: c.my_role,
                        unread_count: c.unread_count,
                        unread_mentions: c.unread_mentions,
                        avatar_ref,
                        handle,
                        read_seq: c.receipts.read_seq,
                        delivered_seq: c.receipts.delivered_seq,
                        peer_delivered_seq: c.receipts.peer_delivered_seq,
                        peer_read_seq: c.receipts.peer_read_seq,
                    },
                )
            })
            .collect();
        let chats = Some(fbb.create_vector(&items));
        (fb::Body::ChatList, fb::ChatList::create(fbb, &fb::ChatListArgs { chats, has_more }).as_union_value())
    })
}

// ------------------------------------------------------------------ messages and events

/// The header every event carries.
#[derive(Debug, Clone, Copy)]
pub struct EventHeader {
    pub chat_id: u64,
    pub seq: u64,
    pub sender_id: u64,
    pub sender_device_id: u64,
    pub time_ms: i64,
}

fn event(h: &EventHeader, body: impl FnOnce(&mut Fbb<'static>) -> (fb::EventBody, WIPOffset<UnionWIPOffset>)) -> Bytes {
    with_builder(|fbb| {
        let (body_type, body) = body(fbb);
        let root = fb::Event::create(
            fbb,
            &fb::EventArgs {
                chat_id: h.chat_id,
                seq: h.seq,
                sender_id: h.sender_id,
                sender_device_id: h.sender_device_id,
                time_ms: h.time_ms,
                body_type,
                body: Some(body),
            },
        );
        fbb.finish_minimal(root);
        Bytes::copy_from_slice(fbb.finished_data())
    })
}

/// A chat's first event. (`info.avatar_ref` is not part of it: a new chat has none.)
pub fn chat_created_event(h: &EventHeader, kind: fb::ChatKind, info: &Info, members: &[MemberEntry]) -> Bytes {
    event(h, |fbb| {
        let title = opt_str(fbb, &info.title);
        let (description, handle) = (opt_str(fbb, &info.description), opt_str(fbb, &info.handle));
        let settings = Some(info.settings.build(fbb));
        let members = Some(members_vec(fbb, members));
        let t = fb::ChatCreated::create(fbb, &fb::ChatCreatedArgs { kind, title, members, description, handle, settings });
        (fb::EventBody::ChatCreated, t.as_union_value())
    })
}

pub fn members_added_event(h: &EventHeader, user_ids: &[u64], via: fb::JoinedVia) -> Bytes {
    event(h, |fbb| {
        let user_ids = Some(fbb.create_vector(user_ids));
        let t = fb::MembersAdded::create(fbb, &fb::MembersAddedArgs { user_ids, via });
        (fb::EventBody::MembersAdded, t.as_union_value())
    })
}

pub fn member_removed_event(h: &EventHeader, user_id: u64, left: bool) -> Bytes {
    event(h, |fbb| {
        let t = fb::MemberRemoved::create(fbb, &fb::MemberRemovedArgs { user_id, left });
        (fb::EventBody::MemberRemoved, t.as_union_value())
    })
}

/// The push of one stored event; `event` is the stored bytes, carried unchanged.
pub fn deliver(event: &[u8]) -> Bytes {
    frame(0, |fbb| {
        let event = Some(fbb.create_vector(event));
        (fb::Body::Deliver, fb::Deliver::create(fbb, &fb::DeliverArgs { event }).as_union_value())
    })
}

// ------------------------------------------------------------------ sync and history

/// `cursors`: (chat id, last seq held).
pub fn sync(request_id: u64, cursors: &[(u64, u64)]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = cursors.iter().map(|&(c, s)| fb::ChatCursor::new(c, s)).collect();
        let cursors = Some(fbb.create_vector(&items));
        (fb::Body::Sync, fb::Sync::create(fbb, &fb::SyncArgs { cursors }).as_union_value())
    })
}

pub fn sync_done(request_id: u64, chats: u32, events: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::SyncDone, fb::SyncDone::create(fbb, &fb::SyncDoneArgs { chats, events }).as_union_value())
    })
}

pub fn history(request_id: u64, chat_id: u64, from_seq: u64, direction: fb::Direction, limit: u16) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::History::create(fbb, &fb::HistoryArgs { chat_id, from_seq, direction, limit });
        (fb::Body::History, t.as_union_value())
    })
}
