//! Owned replies to requests, and the decoding of every frame the server sends.

use magpie_wire::message::State as MessageState;
use crate::error::{ClientError, Result};
use crate::events::{decode_event, members_of, settings_of, ChatEvent, ChatKind, ChatSettings, ChatState, ClientEvent, Member, Role};
use magpie_wire::{fb, verify, ErrorCode};
use std::time::Duration;

/// The server's answer to `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Welcome {
    pub protocol_version: u16,
    pub features: u64,
    pub server_name: String,
    pub max_content_bytes: u32,
    pub max_frame_bytes: u32,
    pub server_time_ms: i64,
    pub node_id: u64,
}

/// Who this client is signed in as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    pub user_id: u64,
    pub device_id: u64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: u64,
    pub name: String,
    pub created_ms: i64,
    /// The device of this client's connection.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: u64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatInfo {
    pub chat_id: u64,
    pub kind: ChatKind,
    /// Empty for direct chats.
    pub title: String,
    pub description: String,
    pub avatar_ref: String,
    /// The public handle, or empty.
    pub handle: String,
    pub settings: ChatSettings,
    /// At most 100: the owner and admins first, then members by id. In a channel, non-admins
    /// see only the owner and admins. Page everyone with
    /// [`Client::list_members`](crate::Client::list_members).
    pub members: Vec<Member>,
    /// Whether `members` is everyone.
    pub members_complete: bool,
    /// Always exact.
    pub member_count: u32,
    /// The caller's role.
    pub my_role: Role,
    pub last_seq: u64,
    pub created_ms: i64,
    /// Join requests waiting for approval (admins only; 0 for others).
    pub pending_requests: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatSummary {
    pub chat_id: u64,
    pub kind: ChatKind,
    pub title: String,
    pub last_seq: u64,
    pub member_count: u32,
    /// The chat's latest message, if it has one.
    pub last_message: Option<ChatEvent>,
    /// The last message's time, else the chat's creation (Unix ms).
    pub last_activity_ms: i64,
    /// The caller's own state of the chat.
    pub state: ChatState,
    pub my_role: Role,
    /// Messages from others after the caller's read cursor (at most 1,000).
    pub unread_count: u32,
    /// Of those, the ones that mention the caller (or @all).
    pub unread_mentions: u32,
    pub avatar_ref: String,
    pub handle: String,
    /// The caller's read and delivered cursors and, in a direct chat, the other member's (the
    /// ticks; `peer_read_seq` is 0 when hidden).
    pub receipts: magpie_wire::presence::SummaryReceipts,
}

/// A page of a chat's members, by ascending user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberList {
    pub chat_id: u64,
    pub members: Vec<Member>,
    /// Continue with `after_user_id` = the last member's id.
    pub has_more: bool,
}

/// An invite link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The 22-character code (the web app's link is `<origin>/#/join/<code>`).
    pub code: String,
    pub chat_id: u64,
    pub created_by: u64,
    pub created_ms: i64,
    /// 0 = never.
    pub expires_ms: i64,
    /// 0 = unlimited.
    pub max_uses: u32,
    pub uses: u32,
    pub revoked: bool,
}

/// What someone about to join may see of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPreview {
    pub chat_id: u64,
    pub kind: ChatKind,
    pub title: String,
    pub description: String,
    pub avatar_ref: String,
    pub handle: String,
    pub member_count: u32,
    /// Joining records a request for an admin to approve.
    pub approve_joins: bool,
    /// The caller is already a member.
    pub is_member: bool,
}

/// The outcome of [`Client::join_chat`](crate::Client::join_chat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// A member now (or already was).
    Joined(ChatInfo),
    /// The chat approves joins: a request is waiting for an admin.
    Pending { chat_id: u64 },
}

/// A request to join, waiting for an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinRequest {
    pub user_id: u64,
    /// When it was made (Unix ms).
    pub time_ms: i64,
}

/// One of the user's broadcast lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastList {
    pub list_id: u64,
    pub name: String,
    pub recipient_ids: Vec<u64>,
}

/// One recipient's outcome of a broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastResult {
    pub user_id: u64,
    /// The direct chat the message went into (0 if it failed).
    pub chat_id: u64,
    pub message_id: u64,
    pub seq: u64,
    /// `None`: sent and durable. `Some(Err(n))`: a code this build does not know.
    pub error: Option<std::result::Result<ErrorCode, u16>>,
}

impl BroadcastResult {
    pub fn is_sent(&self) -> bool {
        self.error.is_none()
    }
}

/// The answer to a broadcast: one result per recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastAck {
    pub list_id: u64,
    pub client_msg_id: String,
    pub time_ms: i64,
    pub results: Vec<BroadcastResult>,
}

/// A page of a chat's history, always in ascending `seq` order, with the states of its messages
/// that changed since they were sent (edits, reactions, pins, deletions, live locations, hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub chat_id: u64,
    pub events: Vec<ChatEvent>,
    pub has_more: bool,
    pub states: Vec<MessageState>,
}

/// Who reacted to a message: (user, their reactions), by user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionList {
    pub chat_id: u64,
    pub seq: u64,
    pub users: Vec<(u64, Vec<String>)>,
    pub has_more: bool,
}

/// One target's result of a forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardResult {
    pub chat_id: u64,
    pub message_id: u64,
    pub seq: u64,
    /// `None`: sent. A code this client does not know is `Err(number)`.
    pub error: Option<std::result::Result<ErrorCode, u16>>,
}

/// A version of a message: the event holding it, its text, its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageVersion {
    pub seq: u64,
    pub content: String,
    pub time_ms: i64,
}

/// A page of the messages that mention the caller, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MentionPage {
    pub events: Vec<ChatEvent>,
    pub states: Vec<MessageState>,
    pub has_more: bool,
}

/// The server's promise that a message is durable, with its place in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAck {
    pub chat_id: u64,
    pub client_msg_id: String,
    pub message_id: u64,
    pub seq: u64,
    pub time_ms: i64,
}

/// Answer to [`Client::ping`](crate::Client::ping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    pub nonce: u64,
    pub server_time_ms: i64,
    /// Round trip as seen by the caller, including time spent queued in the client.
    pub rtt: Duration,
}

/// A decoded reply frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    Ok,
    Welcome(Welcome),
    Authenticated { account: Account, token: String },
    Devices(Vec<Device>),
    User(UserInfo),
    Users(Vec<UserInfo>),
    Chat(ChatInfo),
    Chats { chats: Vec<ChatSummary>, has_more: bool },
    Ack(SendAck),
    SyncDone { chats: u32, events: u64 },
    Page(HistoryPage),
    Pong { nonce: u64, server_time_ms: i64 },
    Members(MemberList),
    Invite(Invite),
    Invites { chat_id: u64, invites: Vec<Invite> },
    Preview(ChatPreview),
    JoinPending { chat_id: u64 },
    JoinRequests { chat_id: u64, requests: Vec<JoinRequest> },
    ChatState { chat_id: u64, state: ChatState },
    BroadcastList(BroadcastList),
    BroadcastLists(Vec<BroadcastList>),
    BroadcastAck(BroadcastAck),
    Reactions(ReactionList),
    /// Pinned messages, most recently pinned first, each with its event.
    Pins(Vec<MessageState>),
    Forwarded(Vec<ForwardResult>),
    Versions(Vec<MessageVersion>),
    Mentions(MentionPage),
    /// Receipts, privacy, presence (`presence.rs`).
    Presence(crate::presence::PresenceReply),
}

impl Reply {
    fn name(&self) -> &'static str {
        match self {
            Reply::Ok => "Ok",
            Reply::Welcome(_) => "Welcome",
            Reply::Authenticated { .. } => "Authenticated",
            Reply::Devices(_) => "DeviceList",
            Reply::User(_) => "UserInfo",
            Reply::Users(_) => "UserList",
            Reply::Chat(_) => "ChatInfo",
            Reply::Chats { .. } => "ChatList",
            Reply::Ack(_) => "SendAck",
            Reply::SyncDone { .. } => "SyncDone",
            Reply::Page(_) => "HistoryPage",
            Reply::Pong { .. } => "Pong",
            Reply::Members(_) => "MemberList",
            Reply::Invite(_) => "Invite",
            Reply::Invites { .. } => "InviteList",
            Reply::Preview(_) => "ChatPreview",
            Reply::JoinPending { .. } => "JoinPending",
            Reply::JoinRequests { .. } => "JoinRequestList",
            Reply::ChatState { .. } => "ChatStateChanged",
            Reply::BroadcastList(_) => "BroadcastList",
            Reply::BroadcastLists(_) => "BroadcastLists",
            Reply::BroadcastAck(_) => "BroadcastAck",
            Reply::Reactions(_) => "ReactionList",
            Reply::Pins(_) => "PinList",
            Reply::Forwarded(_) => "ForwardAck",
            Reply::Versions(_) => "MessageVersions",
            Reply::Mentions(_) => "MentionList",
            Reply::Presence(p) => p.name(),
        }
    }

    /// The error for a reply of the wrong type.
    pub(crate) fn unexpected(&self, wanted: &str) -> ClientError {
        ClientError::UnexpectedReply(format!("expected {wanted}, got {}", self.name()))
    }
}

/// A decoded frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inbound {
    /// The answer to request `request_id`: a reply or the server's `Error`.
    Reply { request_id: u64, result: Result<Reply> },
    /// A pushed event (a broken nested event is reported, not fatal: gap filling recovers it).
    Deliver(Result<ChatEvent>),
    /// The server is about to close the connection.
    Close { code: Option<ErrorCode>, reason: String },
    /// A push that is not a chat event (`ChatStateChanged`, `MembershipChanged`), for the app.
    Push(ClientEvent),
}

fn text(s: Option<&str>) -> String {
    // The encoder omits empty strings, so an absent string field means "".
    s.unwrap_or_default().to_owned()
}

fn missing(what: &str) -> ClientError {
    ClientError::UnexpectedReply(format!("{what} without a body"))
}

/// Verifies a frame from the server and decodes it, nested events included.
pub(crate) fn decode_frame(buf: &[u8]) -> Result<Inbound> {
    let frame = verify::server_frame(buf).map_err(ClientError::Decode)?;
    let request_id = frame.request_id();
    if let Some(inbound) = crate::presence::decode(&frame) {
        return Ok(inbound);
    }
    let reply = match frame.body_type() {
        // Close is recognised whatever its request id: it also answers a refused Hello.
        fb::Body::Close => {
            let c = frame.body_as_close().ok_or_else(|| missing("Close"))?;
            return Ok(Inbound::Close { code: ErrorCode::from_u16(c.code()), reason: text(c.reason()) });
        }
        fb::Body::Deliver => {
            let d = frame.body_as_deliver().ok_or_else(|| missing("Deliver"))?;
            let event = match d.event() {
                Some(bytes) => decode_event(bytes.bytes()),
                None => Err(ClientError::Decode(ErrorCode::MalformedFrame)),
            };
            return Ok(Inbound::Deliver(event));
        }
        fb::Body::Error => {
            let e = frame.body_as_error().ok_or_else(|| missing("Error"))?;
            Err(ClientError::from_wire(e.code(), text(e.message()), e.retry_after_ms()))
        }
        fb::Body::Ok => Ok(Reply::Ok),
        fb::Body::Welcome => {
            let w = frame.body_as_welcome().ok_or_else(|| missing("Welcome"))?;
            Ok(Reply::Welcome(Welcome {
                protocol_version: w.protocol_version(),
                features: w.features(),
                server_name: text(w.server_name()),
                max_content_bytes: w.max_content_bytes(),
                max_frame_bytes: w.max_frame_bytes(),
                server_time_ms: w.server_time_ms(),
                node_id: w.node_id(),
            }))
        }
        fb::Body::Pong => {
            let p = frame.body_as_pong().ok_or_else(|| missing("Pong"))?;
            Ok(Reply::Pong { nonce: p.nonce(), server_time_ms: p.server_time_ms() })
        }
        fb::Body::Authenticated => {
            let a = frame.body_as_authenticated().ok_or_else(|| missing("Authenticated"))?;
            Ok(Reply::Authenticated {
                account: Account { user_id: a.user_id(), device_id: a.device_id(), username: text(a.username()) },
                token: text(a.token()),
            })
        }
        fb::Body::DeviceList => {
            let l = frame.body_as_device_list().ok_or_else(|| missing("DeviceList"))?;
            let devices = l
                .devices()
                .map(|v| {
                    v.iter()
                        .map(|d| Device {
                            device_id: d.device_id(),
                            name: text(d.name()),
                            created_ms: d.created_ms(),
                            current: d.current(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Reply::Devices(devices))
        }
        fb::Body::UserInfo => {
            let u = frame.body_as_user_info().ok_or_else(|| missing("UserInfo"))?;
            Ok(Reply::User(UserInfo { user_id: u.user_id(), username: text(u.username()) }))
        }
        fb::Body::UserList => {
            let l = frame.body_as_user_list().ok_or_else(|| missing("UserList"))?;
            let users = l
                .users()
                .map(|v| v.iter().map(|u| UserInfo { user_id: u.user_id(), username: text(u.username()) }).collect())
                .unwrap_or_default();
            Ok(Reply::Users(users))
        }
        fb::Body::ChatInfo => {
            let c = frame.body_as_chat_info().ok_or_else(|| missing("ChatInfo"))?;
            Ok(Reply::Chat(ChatInfo {
                chat_id: c.chat_id(),
                kind: c.kind().into(),
                title: text(c.title()),
                description: text(c.description()),
                avatar_ref: text(c.avatar_ref()),
                handle: text(c.handle()),
                settings: settings_of(c.settings()),
                members: members_of(c.members()),
                members_complete: c.members_complete(),
                member_count: c.member_count(),
                my_role: c.my_role().into(),
                last_seq: c.last_seq(),
                created_ms: c.created_ms(),
                pending_requests: c.pending_requests(),
            }))
        }
        fb::Body::MemberList => {
            let l = frame.body_as_member_list().ok_or_else(|| missing("MemberList"))?;
            Ok(Reply::Members(MemberList { chat_id: l.chat_id(), members: members_of(l.members()), has_more: l.has_more() }))
        }
        fb::Body::Invite => {
            let i = frame.body_as_invite().ok_or_else(|| missing("Invite"))?;
            Ok(Reply::Invite(invite(i)))
        }
        fb::Body::InviteList => {
            let l = frame.body_as_invite_list().ok_or_else(|| missing("InviteList"))?;
            let invites = l.invites().map(|v| v.iter().map(invite).collect()).unwrap_or_default();
            Ok(Reply::Invites { chat_id: l.chat_id(), invites })
        }
        fb::Body::ChatPreview => {
            let p = frame.body_as_chat_preview().ok_or_else(|| missing("ChatPreview"))?;
            Ok(Reply::Preview(ChatPreview {
                chat_id: p.chat_id(),
                kind: p.kind().into(),
                title: text(p.title()),
                description: text(p.description()),
                avatar_ref: text(p.avatar_ref()),
                handle: text(p.handle()),
                member_count: p.member_count(),
                approve_joins: p.approve_joins(),
                is_member: p.is_member(),
            }))
        }
        fb::Body::JoinPending => {
            let p = frame.body_as_join_pending().ok_or_else(|| missing("JoinPending"))?;
            Ok(Reply::JoinPending { chat_id: p.chat_id() })
        }
        fb::Body::JoinRequestList => {
            let l = frame.body_as_join_request_list().ok_or_else(|| missing("JoinRequestList"))?;
            let requests = l
                .requests()
                .map(|v| v.iter().map(|r| JoinRequest { user_id: r.user_id(), time_ms: r.time_ms() }).collect())
                .unwrap_or_default();
            Ok(Reply::JoinRequests { chat_id: l.chat_id(), requests })
        }
        fb::Body::ChatStateChanged => {
            let c = frame.body_as_chat_state_changed().ok_or_else(|| missing("ChatStateChanged"))?;
            let (chat_id, state) = (c.chat_id(), ChatState::from_fb(c.state()));
            if request_id == 0 {
                return Ok(Inbound::Push(ClientEvent::ChatStateChanged { chat_id, state }));
            }
            Ok(Reply::ChatState { chat_id, state })
        }
        fb::Body::MessagesHidden => {
            let m = frame.body_as_messages_hidden().ok_or_else(|| missing("MessagesHidden"))?;
            let seqs = m.seqs().map(|v| v.iter().collect()).unwrap_or_default();
            return Ok(Inbound::Push(ClientEvent::MessagesHidden { chat_id: m.chat_id(), seqs }));
        }
        fb::Body::ReactionList => {
            let l = frame.body_as_reaction_list().ok_or_else(|| missing("ReactionList"))?;
            let users = l.users().map(|v| v.iter().map(|u| (u.user_id(), strings(u.emojis()))).collect()).unwrap_or_default();
            Ok(Reply::Reactions(ReactionList { chat_id: l.chat_id(), seq: l.seq(), users, has_more: l.has_more() }))
        }
        fb::Body::PinList => {
            let l = frame.body_as_pin_list().ok_or_else(|| missing("PinList"))?;
            Ok(Reply::Pins(l.messages().map(|v| v.iter().map(MessageState::from_fb).collect()).unwrap_or_default()))
        }
        fb::Body::ForwardAck => {
            let a = frame.body_as_forward_ack().ok_or_else(|| missing("ForwardAck"))?;
            let results = a
                .results()
                .map(|v| {
                    v.iter()
                        .map(|r| ForwardResult {
                            chat_id: r.chat_id(),
                            message_id: r.message_id(),
                            seq: r.seq(),
                            error: match r.error_code() {
                                0 => None,
                                n => Some(ErrorCode::from_u16(n).ok_or(n)),
                            },
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Reply::Forwarded(results))
        }
        fb::Body::MessageVersions => {
            let v = frame.body_as_message_versions().ok_or_else(|| missing("MessageVersions"))?;
            let versions = v
                .versions()
                .map(|v| v.iter().map(|v| MessageVersion { seq: v.seq(), content: text(v.content()), time_ms: v.time_ms() }).collect())
                .unwrap_or_default();
            Ok(Reply::Versions(versions))
        }
        fb::Body::MentionList => {
            let l = frame.body_as_mention_list().ok_or_else(|| missing("MentionList"))?;
            let events = events_of(l.events())?;
            let states = l.states().map(|v| v.iter().map(MessageState::from_fb).collect()).unwrap_or_default();
            Ok(Reply::Mentions(MentionPage { events, states, has_more: l.has_more() }))
        }
        fb::Body::MembershipChanged => {
            let m = frame.body_as_membership_changed().ok_or_else(|| missing("MembershipChanged"))?;
            return Ok(Inbound::Push(ClientEvent::MembershipChanged { chat_id: m.chat_id(), member: m.member() }));
        }
        fb::Body::BroadcastList => {
            let l = frame.body_as_broadcast_list().ok_or_else(|| missing("BroadcastList"))?;
            Ok(Reply::BroadcastList(broadcast_list(l)))
        }
        fb::Body::BroadcastLists => {
            let l = frame.body_as_broadcast_lists().ok_or_else(|| missing("BroadcastLists"))?;
            Ok(Reply::BroadcastLists(l.lists().map(|v| v.iter().map(broadcast_list).collect()).unwrap_or_default()))
        }
        fb::Body::BroadcastAck => {
            let a = frame.body_as_broadcast_ack().ok_or_else(|| missing("BroadcastAck"))?;
            let results = a
                .results()
                .map(|v| {
                    v.iter()
                        .map(|r| BroadcastResult {
                            user_id: r.user_id(),
                            chat_id: r.chat_id(),
                            message_id: r.message_id(),
                            seq: r.seq(),
                            error: match r.error_code() {
                                0 => None,
                                n => Some(ErrorCode::from_u16(n).ok_or(n)),
                            },
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Reply::BroadcastAck(BroadcastAck {
                list_id: a.list_id(),
                client_msg_id: text(a.client_msg_id()),
                time_ms: a.time_ms(),
                results,
            }))
        }
        fb::Body::ChatList => {
            let l = frame.body_as_chat_list().ok_or_else(|| missing("ChatList"))?;
            let has_more = l.has_more();
            chat_summaries(l).map(|chats| Reply::Chats { chats, has_more })
        }
        fb::Body::SendAck => {
            let a = frame.body_as_send_ack().ok_or_else(|| missing("SendAck"))?;
            Ok(Reply::Ack(SendAck {
                chat_id: a.chat_id(),
                client_msg_id: text(a.client_msg_id()),
                message_id: a.message_id(),
                seq: a.seq(),
                time_ms: a.time_ms(),
            }))
        }
        fb::Body::SyncDone => {
            let s = frame.body_as_sync_done().ok_or_else(|| missing("SyncDone"))?;
            Ok(Reply::SyncDone { chats: s.chats(), events: s.events() })
        }
        fb::Body::HistoryPage => {
            let p = frame.body_as_history_page().ok_or_else(|| missing("HistoryPage"))?;
            history_page(p).map(Reply::Page)
        }
        // verify::server_frame admits only frames a server sends, all handled above.
        _ => return Err(ClientError::Decode(ErrorCode::UnknownFrame)),
    };
    Ok(Inbound::Reply { request_id, result: reply })
}

fn invite(i: fb::Invite<'_>) -> Invite {
    Invite {
        code: text(i.code()),
        chat_id: i.chat_id(),
        created_by: i.created_by(),
        created_ms: i.created_ms(),
        expires_ms: i.expires_ms(),
        max_uses: i.max_uses(),
        uses: i.uses(),
        revoked: i.revoked(),
    }
}

fn broadcast_list(l: fb::BroadcastList<'_>) -> BroadcastList {
    BroadcastList {
        list_id: l.list_id(),
        name: text(l.name()),
        recipient_ids: l.recipient_ids().map(|v| v.iter().collect()).unwrap_or_default(),
    }
}

fn chat_summaries(l: fb::ChatList<'_>) -> Result<Vec<ChatSummary>> {
    let Some(chats) = l.chats() else { return Ok(Vec::new()) };
    chats
        .iter()
        .map(|c| {
            Ok(ChatSummary {
                chat_id: c.chat_id(),
                kind: c.kind().into(),
                title: text(c.title()),
                last_seq: c.last_seq(),
                member_count: c.member_count(),
                last_message: c.last_message().map(|b| decode_event(b.bytes())).transpose()?,
                last_activity_ms: c.last_activity_ms(),
                state: ChatState::from_fb(c.state()),
                my_role: c.my_role().into(),
                unread_count: c.unread_count(),
                receipts: magpie_wire::presence::SummaryReceipts {
                    read_seq: c.read_seq(),
                    delivered_seq: c.delivered_seq(),
                    peer_delivered_seq: c.peer_delivered_seq(),
                    peer_read_seq: c.peer_read_seq(),
                },
                unread_mentions: c.unread_mentions(),
                avatar_ref: text(c.avatar_ref()),
                handle: text(c.handle()),
            })
        })
        .collect()
}

fn events_of(blobs: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<fb::EventBlob<'_>>>>) -> Result<Vec<ChatEvent>> {
    match blobs {
        None => Ok(Vec::new()),
        Some(blobs) => blobs
            .iter()
            .map(|blob| match blob.event() {
                Some(bytes) => decode_event(bytes.bytes()),
                None => Err(ClientError::Decode(ErrorCode::MalformedFrame)),
            })
            .collect(),
    }
}

fn strings(v: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<&str>>>) -> Vec<String> {
    v.map(|v| v.iter().map(str::to_string).collect()).unwrap_or_default()
}

fn history_page(p: fb::HistoryPage<'_>) -> Result<HistoryPage> {
    let events = events_of(p.events())?;
    let states = p.states().map(|v| v.iter().map(MessageState::from_fb).collect()).unwrap_or_default();
    Ok(HistoryPage { chat_id: p.chat_id(), events, has_more: p.has_more(), states })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use magpie_wire::encode::{self, EventHeader};

    fn reply(buf: &[u8]) -> (u64, Result<Reply>) {
        match decode_frame(buf).unwrap() {
            Inbound::Reply { request_id, result } => (request_id, result),
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn ev(chat_id: u64, seq: u64) -> bytes::Bytes {
        let h = EventHeader { chat_id, seq, sender_id: 1, sender_device_id: 2, time_ms: 3 };
        encode::message_event(&h, seq * 10, &format!("c{seq}"), "hi")
    }

    #[test]
    fn decodes_replies() {
        assert_eq!(reply(&encode::ok(5)), (5, Ok(Reply::Ok)));
        assert_eq!(
            reply(&encode::authenticated(2, 10, 20, "alice", "secret")),
            (2, Ok(Reply::Authenticated {
                account: Account { user_id: 10, device_id: 20, username: "alice".into() },
                token: "secret".into()
            }))
        );
        assert_eq!(
            reply(&encode::error(9, ErrorCode::RateLimited, "slow", 300)),
            (9, Err(ClientError::Server { code: ErrorCode::RateLimited, message: "slow".into(), retry_after_ms: 300 }))
        );
        assert_eq!(
            reply(&encode::send_ack(4, 7, "m-1", 70, 3, 1000)),
            (4, Ok(Reply::Ack(SendAck { chat_id: 7, client_msg_id: "m-1".into(), message_id: 70, seq: 3, time_ms: 1000 })))
        );
        assert_eq!(reply(&encode::sync_done(3, 2, 40)), (3, Ok(Reply::SyncDone { chats: 2, events: 40 })));
        assert_eq!(reply(&encode::pong(6, 42, 99)), (6, Ok(Reply::Pong { nonce: 42, server_time_ms: 99 })));
        let devices = encode::device_list(
            8,
            &[encode::DeviceEntry { device_id: 1, name: "phone", created_ms: 5, current: true }],
        );
        assert_eq!(
            reply(&devices).1,
            Ok(Reply::Devices(vec![Device { device_id: 1, name: "phone".into(), created_ms: 5, current: true }]))
        );
    }

    #[test]
    fn decodes_chats_and_pages_with_nested_events() {
        let last = ev(3, 9);
        let list = encode::chat_list(
            1,
            &[
                encode::ChatSummaryArgs {
                    chat_id: 3,
                    kind: fb::ChatKind::Group,
                    title: "g",
                    last_seq: 9,
                    member_count: 4,
                    last_message: Some(&last),
                    last_activity_ms: 77,
                    state: ChatState { pin_rank: 2, archived: true, ..Default::default() },
                    my_role: fb::Role::Owner,
                    unread_count: 3,
                    unread_mentions: 1,
                    avatar_ref: "media:9",
                    handle: "the_g",
                    ..Default::default()
                },
                encode::ChatSummaryArgs {
                    chat_id: 4,
                    kind: fb::ChatKind::Direct,
                    title: "",
                    last_seq: 0,
                    member_count: 2,
                    last_message: None,
                    ..Default::default()
                },
            ],
        );
        let Ok(Reply::Chats { chats, .. }) = reply(&list).1 else { panic!() };
        assert_eq!(chats.len(), 2);
        assert_eq!(chats[0].last_message.as_ref().map(|e| e.seq), Some(9));
        assert_eq!((chats[1].kind, chats[1].last_message.is_none()), (ChatKind::Direct, true));
        let c = &chats[0];
        assert_eq!((c.last_activity_ms, c.my_role, c.unread_count, c.unread_mentions), (77, Role::Owner, 3, 1));
        assert_eq!((c.avatar_ref.as_str(), c.handle.as_str()), ("media:9", "the_g"));
        assert_eq!(c.state, ChatState { pin_rank: 2, archived: true, ..Default::default() });
        assert_eq!((chats[1].state, chats[1].my_role), (ChatState::default(), Role::Member));

        let page = encode::history_page(2, 3, &[ev(3, 1), ev(3, 2)], true);
        let Ok(Reply::Page(p)) = reply(&page).1 else { panic!() };
        assert_eq!((p.chat_id, p.has_more, p.events.iter().map(|e| e.seq).collect::<Vec<_>>()), (3, true, vec![1, 2]));

        // A page carrying a broken event is an error as a whole.
        let page = encode::history_page(2, 3, &[&ev(3, 1)[..], &[1, 2, 3][..]], false);
        assert!(matches!(reply(&page).1, Err(ClientError::Decode(_))));
    }

    #[test]
    fn pushes_and_close() {
        match decode_frame(&encode::deliver(&ev(5, 1))).unwrap() {
            Inbound::Deliver(Ok(e)) => {
                assert_eq!((e.chat_id, e.seq), (5, 1));
                assert!(matches!(e.kind, EventKind::Message { message_id: 10, .. }));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(decode_frame(&encode::deliver(b"junk")).unwrap(), Inbound::Deliver(Err(_))));
        assert_eq!(
            decode_frame(&encode::close(ErrorCode::Revoked, "gone")).unwrap(),
            Inbound::Close { code: Some(ErrorCode::Revoked), reason: "gone".into() }
        );
    }

    #[test]
    fn decodes_conversation_replies_and_pushes() {
        use magpie_wire::chat::{Info, MemberEntry, State};
        let info = Info { title: "news".into(), handle: "news_room".into(), ..Default::default() };
        let members = [MemberEntry { user_id: 1, role: fb::Role::Owner, since_seq: 1 }];
        let f = encode::chat_info(
            3,
            &encode::ChatInfoArgs {
                chat_id: 9,
                kind: fb::ChatKind::Channel,
                info: &info,
                members: &members,
                members_complete: false,
                member_count: 5000,
                my_role: fb::Role::Admin,
                last_seq: 4,
                created_ms: 6,
                pending_requests: 2,
            },
        );
        let Ok(Reply::Chat(c)) = reply(&f).1 else { panic!() };
        assert_eq!((c.kind, c.handle.as_str(), c.member_count, c.members_complete), (ChatKind::Channel, "news_room", 5000, false));
        assert_eq!((c.my_role, c.pending_requests, c.settings), (Role::Admin, 2, ChatSettings::default()));
        assert_eq!(c.members, [Member { user_id: 1, role: Role::Owner, since_seq: 1 }]);

        let Ok(Reply::Members(m)) = reply(&encode::member_list(4, 9, &members, true)).1 else { panic!() };
        assert_eq!((m.chat_id, m.members.len(), m.has_more), (9, 1, true));

        let inv = encode::InviteArgs {
            code: "c".repeat(22),
            chat_id: 9,
            created_by: 1,
            created_ms: 2,
            expires_ms: 3,
            max_uses: 4,
            uses: 1,
            revoked: true,
        };
        let Ok(Reply::Invite(i)) = reply(&encode::invite(5, &inv)).1 else { panic!() };
        assert_eq!((i.code.len(), i.expires_ms, i.max_uses, i.uses, i.revoked), (22, 3, 4, 1, true));
        let Ok(Reply::Invites { chat_id, invites }) = reply(&encode::invite_list(5, 9, &[inv.clone(), inv])).1 else { panic!() };
        assert_eq!((chat_id, invites.len()), (9, 2));

        let preview = encode::chat_preview(
            6,
            &encode::ChatPreviewArgs { chat_id: 9, kind: fb::ChatKind::Group, info: &info, member_count: 3, is_member: true },
        );
        let Ok(Reply::Preview(p)) = reply(&preview).1 else { panic!() };
        assert_eq!((p.title.as_str(), p.member_count, p.is_member, p.approve_joins), ("news", 3, true, false));
        assert_eq!(reply(&encode::join_pending(7, 9)).1, Ok(Reply::JoinPending { chat_id: 9 }));
        assert_eq!(
            reply(&encode::join_request_list(8, 9, &[(2, 100)])).1,
            Ok(Reply::JoinRequests { chat_id: 9, requests: vec![JoinRequest { user_id: 2, time_ms: 100 }] })
        );

        // ChatStateChanged answers a request, or (request id 0) is pushed; MembershipChanged is
        // always a push.
        let state = State { muted_until_ms: i64::MAX, pin_rank: 3, archived: false, marked_unread: true };
        assert_eq!(reply(&encode::chat_state_changed(9, 4, &state)).1, Ok(Reply::ChatState { chat_id: 4, state }));
        assert_eq!(
            decode_frame(&encode::chat_state_changed(0, 4, &state)).unwrap(),
            Inbound::Push(ClientEvent::ChatStateChanged { chat_id: 4, state })
        );
        assert_eq!(
            decode_frame(&encode::membership_changed(4, true)).unwrap(),
            Inbound::Push(ClientEvent::MembershipChanged { chat_id: 4, member: true })
        );

        let list = BroadcastList { list_id: 7, name: "pals".into(), recipient_ids: vec![2, 3] };
        assert_eq!(reply(&encode::broadcast_list(1, 7, "pals", &[2, 3])).1, Ok(Reply::BroadcastList(list.clone())));
        assert_eq!(reply(&encode::broadcast_lists(1, &[(7, "pals", &[2, 3])])).1, Ok(Reply::BroadcastLists(vec![list])));
        let results = [
            encode::BroadcastResultArgs { user_id: 2, chat_id: 5, message_id: 6, seq: 7, error_code: 0 },
            encode::BroadcastResultArgs { user_id: 3, error_code: ErrorCode::UserNotFound as u16, ..Default::default() },
            encode::BroadcastResultArgs { user_id: 4, error_code: 4242, ..Default::default() },
        ];
        let Ok(Reply::BroadcastAck(a)) = reply(&encode::broadcast_ack(2, 7, "m", 99, &results)).1 else { panic!() };
        assert_eq!((a.list_id, a.client_msg_id.as_str(), a.time_ms), (7, "m", 99));
        assert_eq!(a.results.iter().map(|r| r.error).collect::<Vec<_>>(), [None, Some(Ok(ErrorCode::UserNotFound)), Some(Err(4242))]);
        assert!(a.results[0].is_sent() && (a.results[0].chat_id, a.results[0].seq) == (5, 7));
    }

    #[test]
    fn refuses_client_frames_and_garbage() {
        assert_eq!(decode_frame(&encode::ping(1, 1)), Err(ClientError::Decode(ErrorCode::UnknownFrame)));
        assert!(decode_frame(&[]).is_err());
        assert!(decode_frame(&[0u8; 64]).is_err());
    }
}
