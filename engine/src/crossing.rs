//! Everything that crosses from one shard to another: the messages a shard's mailbox carries and
//! the data inside them (commands for a chat's owner, deliveries, signals, replies).
//!
//! Kept in one module that depends on nothing else in the engine, so that the chat core, the
//! shard, the connections and the mailbox can all name these types without importing each other.

use bytes::Bytes;
use magpie_storage::MemberRecord;
use magpie_wire::{chat, fb, message};
use std::sync::Arc;

/// A chat's members by user id: a persistent map, so the chat's state and every delivery in
/// flight share one copy (cloning is O(1), a join or leave O(log n)).
pub type MemberMap = imbl::OrdMap<u64, MemberRecord>;
use std::time::{Duration, Instant};

/// A connection's number on its shard.
pub type ConnId = u64;

/// Where a reply goes: a request on a connection of some shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo {
    pub shard: usize,
    pub conn: ConnId,
    pub request_id: u64,
}

/// Who asks: the signed-in user and device of a request, and where its answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: u64,
    pub device_id: u64,
    pub reply: ReplyTo,
}

/// Who receives a delivery or a signal.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Every synced connection of these users (sorted ids): all their devices.
    Users(Arc<[u64]>),
    /// Every synced connection of a chat's members (as of the event).
    Members(MemberMap),
    /// The synced connections of one device of one user (for per-device pushes such as a
    /// device's own read position; exercised by the shard's tests until a request uses it).
    #[cfg_attr(not(test), allow(dead_code))]
    Device { user_id: u64, device_id: u64 },
}

impl Audience {
    /// How many users it names.
    pub fn len(&self) -> usize {
        match self {
            Audience::Users(u) => u.len(),
            Audience::Members(m) => m.len(),
            Audience::Device { .. } => 1,
        }
    }

    /// Whether it names `user_id`.
    pub fn contains(&self, user_id: u64) -> bool {
        match self {
            Audience::Users(u) => u.binary_search(&user_id).is_ok(),
            Audience::Members(m) => m.contains_key(&user_id),
            Audience::Device { user_id: u, .. } => *u == user_id,
        }
    }

    /// Calls `f` with every user it names.
    pub fn for_each_user(&self, mut f: impl FnMut(u64)) {
        match self {
            Audience::Users(u) => u.iter().for_each(|&u| f(u)),
            Audience::Members(m) => m.keys().for_each(|&u| f(u)),
            Audience::Device { user_id, .. } => f(*user_id),
        }
    }

    /// Whether a connection of one of its users with this device is included.
    pub fn includes_device(&self, device_id: Option<u64>) -> bool {
        match self {
            Audience::Users(_) | Audience::Members(_) => true,
            Audience::Device { device_id: d, .. } => device_id == Some(*d),
        }
    }
}

/// A committed event on its way to every shard. Encoded once; each shard writes the same bytes
/// to each of its connections in the audience.
#[derive(Debug)]
pub struct Delivery {
    pub chat_id: u64,
    pub seq: u64,
    pub audience: Audience,
    /// The `Deliver` frame.
    pub frame: Bytes,
    /// For messages: when the owner shard received the Send (for `magpie_send_deliver_seconds`).
    pub received: Option<Instant>,
}

/// An ephemeral signal (typing, presence, live receipt updates): never logged, never replayed,
/// and dropped for a connection whose outbound queue is busy rather than queued without bound.
#[derive(Debug)]
pub struct Signal {
    pub audience: Audience,
    /// The pushed frame (request id 0).
    pub frame: Bytes,
}

/// `SendMessage` (or a copy `ForwardMessage` sends), on its way to the chat's owner.
#[derive(Debug)]
pub struct Send {
    pub actor: Actor,
    pub chat_id: u64,
    pub client_msg_id: String,
    pub content: String,
    /// The message it replies to (0: none).
    pub reply_to_seq: u64,
    pub mentions: Vec<u64>,
    pub mention_all: bool,
    /// Already checked against the protocol's limits. (Boxed, like `forwarded`: most sends have
    /// neither, and every mailbox slot is as big as its biggest message.)
    pub attachment: Option<Box<message::Attachment>>,
    /// Set only on the copies `ForwardMessage` sends.
    pub forwarded: Option<Box<message::ForwardRef>>,
}

impl Send {
    /// A plain text message.
    pub fn text(actor: Actor, chat_id: u64, client_msg_id: String, content: String) -> Send {
        Send { actor, chat_id, client_msg_id, content, reply_to_seq: 0, mentions: Vec::new(), mention_all: false, attachment: None, forwarded: None }
    }
}

/// `EditMessage`.
#[derive(Debug)]
pub struct Edit {
    pub actor: Actor,
    pub chat_id: u64,
    pub seq: u64,
    pub content: String,
    pub mentions: Vec<u64>,
}

/// `DeleteMessages` (seqs sorted, distinct).
#[derive(Debug)]
pub struct Delete {
    pub actor: Actor,
    pub chat_id: u64,
    pub seqs: Vec<u64>,
    pub for_everyone: bool,
}

/// `React` (the emoji already checked).
#[derive(Debug)]
pub struct React {
    pub actor: Actor,
    pub chat_id: u64,
    pub seq: u64,
    pub emoji: String,
    pub add: bool,
}

/// `PinMessage`.
#[derive(Debug)]
pub struct Pin {
    pub actor: Actor,
    pub chat_id: u64,
    pub seq: u64,
    pub pinned: bool,
}

/// `UpdateLiveLocation` (the position already checked).
#[derive(Debug)]
pub struct MoveLive {
    pub actor: Actor,
    pub chat_id: u64,
    pub seq: u64,
    pub position: (f64, f64, f32),
    pub stop: bool,
}

/// What a reader asks of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageQuery {
    /// `GetMessageVersions`.
    Versions,
    /// `ListReactions` (limit already clamped).
    Reactions { emoji: Option<String>, after_user_id: u64, limit: usize },
    /// The copy `ForwardMessage` sends: answered (between shards only) with a one-event
    /// `HistoryPage` whose message is the copy.
    ForwardCopy,
}

/// A read of one message by a member.
#[derive(Debug)]
pub struct ReadMessage {
    pub actor: Actor,
    pub chat_id: u64,
    pub seq: u64,
    pub query: MessageQuery,
}

/// `CreateGroup` (a group or a channel): `chat_id` was allocated by the requester so that the
/// receiving shard owns it; its handle, if any, is already claimed for it.
#[derive(Debug)]
pub struct CreateGroup {
    pub actor: Actor,
    pub chat_id: u64,
    pub kind: magpie_storage::ChatKind,
    /// Title, description, handle and settings (no avatar yet).
    pub info: chat::Info,
    /// The other members (existing users, checked by the requester).
    pub members: Vec<u64>,
}

/// `CreateDirect`, sent to the pair's owner shard, which serialises creation so a pair gets one
/// chat.
#[derive(Debug)]
pub struct CreateDirect {
    pub actor: Actor,
    pub peer: u64,
}

/// `AddMembers` (existing users, checked by the requester).
#[derive(Debug)]
pub struct AddMembers {
    pub actor: Actor,
    pub chat_id: u64,
    pub user_ids: Vec<u64>,
}

/// `RemoveMember`, or `LeaveChat` when `target` is the actor.
#[derive(Debug)]
pub struct RemoveMember {
    pub actor: Actor,
    pub chat_id: u64,
    pub target: u64,
    /// Leaving as the owner: who takes over (0: the longest-serving admin).
    pub successor: u64,
}

/// `UpdateChat`: the fields of `info` that `fields` names (a new handle already claimed).
#[derive(Debug)]
pub struct UpdateChat {
    pub actor: Actor,
    pub chat_id: u64,
    pub fields: u32,
    pub info: chat::Info,
}

/// `SetRole`, or `TransferOwnership` when `role` is `Owner`.
#[derive(Debug)]
pub struct SetRole {
    pub actor: Actor,
    pub chat_id: u64,
    pub target: u64,
    pub role: magpie_storage::Role,
}

/// `ListMembers`.
#[derive(Debug)]
pub struct ListMembers {
    pub actor: Actor,
    pub chat_id: u64,
    pub after_user_id: u64,
    /// Already clamped to the protocol's bounds.
    pub limit: usize,
    pub admins_only: bool,
}

/// `CreateInvite`, with the code the requester drew.
#[derive(Debug)]
pub struct CreateInvite {
    pub actor: Actor,
    pub chat_id: u64,
    pub code: String,
    pub expires_ms: i64,
    pub max_uses: u32,
}

/// `ListInvites` and `ListJoinRequests`: an admin's look at a chat's side records.
#[derive(Debug)]
pub struct ChatQuery {
    pub actor: Actor,
    pub chat_id: u64,
}

/// `RevokeInvite`.
#[derive(Debug)]
pub struct RevokeInvite {
    pub actor: Actor,
    pub chat_id: u64,
    pub code: String,
}

/// How a person outside a chat names it to preview or join it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinBy {
    Invite(String),
    Handle(String),
}

/// `PreviewChat` (`join` false) or `JoinChat` (`join` true), for the chat the code or handle
/// pointed at.
#[derive(Debug)]
pub struct Join {
    pub actor: Actor,
    pub chat_id: u64,
    pub by: JoinBy,
    pub join: bool,
}

/// `ResolveJoinRequest`.
#[derive(Debug)]
pub struct ResolveJoinRequest {
    pub actor: Actor,
    pub chat_id: u64,
    pub user_id: u64,
    pub approve: bool,
}

/// `GetChat`.
#[derive(Debug)]
pub struct GetChat {
    pub actor: Actor,
    pub chat_id: u64,
}

/// `History`: the owner checks the reader's membership, then reads the log.
#[derive(Debug)]
pub struct History {
    pub actor: Actor,
    pub chat_id: u64,
    pub from_seq: u64,
    pub direction: fb::Direction,
    /// Events per page, already clamped to the protocol's bounds.
    pub limit: usize,
}

/// `MarkReceipts`: move the caller's cursors (0 leaves one as it is). `read_private` is the
/// caller's setting (read receipts off), from its connection. The privacy handler also sends
/// one with both cursors 0 to each of the user's chats when the setting changes.
#[derive(Debug)]
pub struct MarkReceipts {
    pub actor: Actor,
    pub chat_id: u64,
    pub delivered_seq: u64,
    pub read_seq: u64,
    pub read_private: bool,
}

/// `GetReceipts`: who has message `seq`. `hide_reads`: the caller turned read receipts off, so
/// it sees nobody's reads.
#[derive(Debug)]
pub struct GetReceipts {
    pub actor: Actor,
    pub chat_id: u64,
    pub seq: u64,
    pub hide_reads: bool,
}

/// `SetTyping`: `answer` is false for a QUIC datagram (never answered).
#[derive(Debug)]
pub struct Typing {
    pub actor: Actor,
    pub chat_id: u64,
    pub kind: fb::TypingKind,
    pub answer: bool,
}

/// A connection watches a chat's online count: the owner checks membership and hands out the
/// member set (`Effect::CountOnline`); a non-member is ignored.
#[derive(Debug)]
pub struct ChatOnline {
    pub actor: Actor,
    pub chat_id: u64,
    /// Pairs the shards' answers with this count.
    pub token: u64,
}

/// A request for a chat's owner shard (or, for `CreateDirect`, the pair's).
#[derive(Debug)]
pub enum Command {
    Send(Send),
    CreateGroup(CreateGroup),
    CreateDirect(CreateDirect),
    AddMembers(AddMembers),
    RemoveMember(RemoveMember),
    GetChat(GetChat),
    History(History),
    UpdateChat(UpdateChat),
    SetRole(SetRole),
    ListMembers(ListMembers),
    CreateInvite(CreateInvite),
    ListInvites(ChatQuery),
    RevokeInvite(RevokeInvite),
    Join(Join),
    ListJoinRequests(ChatQuery),
    ResolveJoinRequest(ResolveJoinRequest),
    MarkReceipts(MarkReceipts),
    GetReceipts(GetReceipts),
    Typing(Typing),
    ChatOnline(ChatOnline),
    Edit(Edit),
    Delete(Delete),
    React(React),
    Pin(Pin),
    MoveLive(MoveLive),
    ReadMessage(ReadMessage),
    ListPins(ChatQuery),
}

impl Command {
    pub fn actor(&self) -> &Actor {
        match self {
            Command::Send(c) => &c.actor,
            Command::CreateGroup(c) => &c.actor,
            Command::CreateDirect(c) => &c.actor,
            Command::AddMembers(c) => &c.actor,
            Command::RemoveMember(c) => &c.actor,
            Command::GetChat(c) => &c.actor,
            Command::History(c) => &c.actor,
            Command::UpdateChat(c) => &c.actor,
            Command::SetRole(c) => &c.actor,
            Command::ListMembers(c) => &c.actor,
            Command::CreateInvite(c) => &c.actor,
            Command::ListInvites(c) | Command::ListJoinRequests(c) => &c.actor,
            Command::RevokeInvite(c) => &c.actor,
            Command::Join(c) => &c.actor,
            Command::ResolveJoinRequest(c) => &c.actor,
            Command::MarkReceipts(c) => &c.actor,
            Command::GetReceipts(c) => &c.actor,
            Command::Typing(c) => &c.actor,
            Command::ChatOnline(c) => &c.actor,
            Command::Edit(c) => &c.actor,
            Command::Delete(c) => &c.actor,
            Command::React(c) => &c.actor,
            Command::Pin(c) => &c.actor,
            Command::MoveLive(c) => &c.actor,
            Command::ReadMessage(c) => &c.actor,
            Command::ListPins(c) => &c.actor,
        }
    }

    /// The existing chat the command is about (none for the two that create one).
    pub fn chat_id(&self) -> Option<u64> {
        match self {
            Command::Send(c) => Some(c.chat_id),
            Command::AddMembers(c) => Some(c.chat_id),
            Command::RemoveMember(c) => Some(c.chat_id),
            Command::GetChat(c) => Some(c.chat_id),
            Command::History(c) => Some(c.chat_id),
            Command::UpdateChat(c) => Some(c.chat_id),
            Command::SetRole(c) => Some(c.chat_id),
            Command::ListMembers(c) => Some(c.chat_id),
            Command::CreateInvite(c) => Some(c.chat_id),
            Command::ListInvites(c) | Command::ListJoinRequests(c) => Some(c.chat_id),
            Command::RevokeInvite(c) => Some(c.chat_id),
            Command::Join(c) => Some(c.chat_id),
            Command::ResolveJoinRequest(c) => Some(c.chat_id),
            Command::MarkReceipts(c) => Some(c.chat_id),
            Command::GetReceipts(c) => Some(c.chat_id),
            Command::Typing(c) => Some(c.chat_id),
            Command::ChatOnline(c) => Some(c.chat_id),
            Command::Edit(c) => Some(c.chat_id),
            Command::Delete(c) => Some(c.chat_id),
            Command::React(c) => Some(c.chat_id),
            Command::Pin(c) => Some(c.chat_id),
            Command::MoveLive(c) => Some(c.chat_id),
            Command::ReadMessage(c) => Some(c.chat_id),
            Command::ListPins(c) => Some(c.chat_id),
            Command::CreateGroup(_) | Command::CreateDirect(_) => None,
        }
    }
}

/// What a shard's mailbox carries.
pub enum ShardMsg {
    /// A command for a chat (or user pair) this shard owns.
    Chat(Command),
    /// A committed event to hand to local connections.
    Deliver(Arc<Delivery>),
    /// An ephemeral signal to hand to local connections.
    Signal(Arc<Signal>),
    /// A response for a local connection.
    Reply { conn: ConnId, frame: Bytes },
    /// The commit thread finished the oldest in-flight batch of this owned chat.
    /// `elapsed` is the time from the hand-over to the commit callback.
    Committed { chat_id: u64, result: Result<(), String>, elapsed: Duration },
    /// Close every local connection of this device (revoked or logged out).
    RevokeDevice { device_id: u64 },
    /// Presence between shards (a user's home shard and the shards watching them).
    Presence(PresenceMsg),
    /// Stop the shard (engine shutdown).
    Shutdown,
}

/// A user's presence as their home shard computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceState {
    pub user_id: u64,
    pub status: fb::PresenceStatus,
    /// When last connected (0 while online or never); already 0 if the user hides it from
    /// everyone.
    pub last_seen_ms: i64,
}

/// Presence between shards. Every user has a home shard (a hash of their id): the shards
/// holding their connections tell it when one goes live, ends or reports activity, and the
/// home tells the shards that watch the user when their presence changes.
#[derive(Debug)]
pub enum PresenceMsg {
    /// To the home: a connection of `user_id` went live; its settings come with it.
    Up { user_id: u64, dnd: bool, last_seen: u8 },
    /// To the home: a live connection of `user_id` ended.
    Down { user_id: u64 },
    /// To the home: the user is interacting now.
    Active { user_id: u64 },
    /// To every shard: the user's settings changed.
    Settings { user_id: u64, settings: magpie_storage::UserSettings },
    /// To the home: shard `from` has one watcher more (`add`) or fewer of `user_id`.
    Interest { user_id: u64, from: usize, add: bool },
    /// From a home to a watching shard: presences that changed.
    Changed(Vec<PresenceState>),
    /// To every shard: give `frame` to the local connections watching `chat_id`.
    ChatSignal { chat_id: u64, frame: Bytes },
    /// To every shard: count the users at home here who are online and in `members`; answer
    /// `Counted` to `reply`'s shard.
    Count { chat_id: u64, members: MemberMap, reply: ReplyTo, token: u64 },
    /// A shard's part of a `Count`.
    Counted { chat_id: u64, online: u32, member_count: u32, reply: ReplyTo, token: u64 },
}
