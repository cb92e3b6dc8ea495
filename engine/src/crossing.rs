//! Everything that crosses from one shard to another: the messages a shard's mailbox carries and
//! the data inside them (commands for a chat's owner, deliveries, signals, replies).
//!
//! Kept in one module that depends on nothing else in the engine, so that the chat core, the
//! shard, the connections and the mailbox can all name these types without importing each other.

use bytes::Bytes;
use magpie_wire::fb;
use std::sync::Arc;
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
    /// The synced connections of one device of one user (for per-device pushes such as a
    /// device's own read position; exercised by the shard's tests until a request uses it).
    #[cfg_attr(not(test), allow(dead_code))]
    Device { user_id: u64, device_id: u64 },
}

impl Audience {
    /// The users to look up on a shard (one for a device audience).
    pub fn users(&self) -> &[u64] {
        match self {
            Audience::Users(u) => u,
            Audience::Device { user_id, .. } => std::slice::from_ref(user_id),
        }
    }

    /// Whether a connection of one of [`Audience::users`] with this device is included.
    pub fn includes_device(&self, device_id: Option<u64>) -> bool {
        match self {
            Audience::Users(_) => true,
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

/// `SendMessage`, on its way to the chat's owner.
#[derive(Debug)]
pub struct Send {
    pub actor: Actor,
    pub chat_id: u64,
    pub client_msg_id: String,
    pub content: String,
}

/// `CreateGroup`: `chat_id` was allocated by the requester so that the receiving shard owns it.
#[derive(Debug)]
pub struct CreateGroup {
    pub actor: Actor,
    pub chat_id: u64,
    pub title: String,
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
    /// An ephemeral signal to hand to local connections (typing and presence will send them;
    /// until then only the shard's tests do).
    #[cfg_attr(not(test), allow(dead_code))]
    Signal(Arc<Signal>),
    /// A response for a local connection.
    Reply { conn: ConnId, frame: Bytes },
    /// The commit thread finished the oldest in-flight batch of this owned chat.
    /// `elapsed` is the time from the hand-over to the commit callback.
    Committed { chat_id: u64, result: Result<(), String>, elapsed: Duration },
    /// Close every local connection of this device (revoked or logged out).
    RevokeDevice { device_id: u64 },
    /// Stop the shard (engine shutdown).
    Shutdown,
}
