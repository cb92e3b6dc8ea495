//! The thin async client for Magpie.
//!
//! [`Client::connect`] opens a connection (QUIC, falling back to WebSocket), signs in, and
//! hands back the [`Client`] for requests and the [`Events`] stream. A background task owns the
//! connection: it matches replies to requests, reconnects with backoff after any break,
//! re-authenticates with the device token, resumes from its per-chat cursors, and resends every
//! unacknowledged message with its original id. The app sees every event of every chat
//! exactly once and in order, gaps fetched before later events are released.
//!
//! ```no_run
//! use magpie_client::{Client, ClientConfig, ClientEvent, EventKind};
//!
//! # async fn demo() -> magpie_client::Result<()> {
//! let cert = std::fs::read("data/tls/cert.der").expect("the engine's certificate");
//! let config = ClientConfig::new("127.0.0.1:7000".parse().unwrap(), "127.0.0.1:7001".parse().unwrap(), cert)
//!     .register("alice", "correct horse", "laptop");
//! let (client, mut events) = Client::connect(config).await?;
//! let token = client.token(); // persist it: next time use `.token(token)` instead of `.register(..)`
//!
//! let chat = client.create_direct("bob").await?;
//! let ack = client.send(chat.chat_id, "hi bob").await?; // durable once this returns
//! println!("sent as #{} in chat {}", ack.seq, ack.chat_id);
//!
//! while let Some(event) = events.next().await {
//!     match event {
//!         ClientEvent::Event(e) => {
//!             if let EventKind::Message { content, .. } = &e.kind {
//!                 println!("[{}#{}] {}: {content}", e.chat_id, e.seq, e.sender_id);
//!             }
//!         }
//!         ClientEvent::Closed { reason, .. } => { eprintln!("stopped: {reason}"); break }
//!         _ => {} // Connected, SyncDone, Disconnected: status only
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Conversations (docs/PROTOCOL.md §6.9–6.11) are typed requests like the rest:
//! [`Client::create_chat`] with a [`NewChat`] (groups and channels with description, handle and
//! [`ChatSettings`]), [`Client::update_chat`], [`Client::set_role`],
//! [`Client::transfer_ownership`], invite links, [`Client::join_chat`] (a [`Joined`] chat or a
//! pending request), [`Client::set_chat_state`] and [`Client::list_chats_by_activity`], and
//! broadcast lists. The user's own chat state changed elsewhere, and channel subscriptions (which
//! have no event in the log), arrive on the event stream as [`ClientEvent::ChatStateChanged`] and
//! [`ClientEvent::MembershipChanged`].
//!
//! Lower layers are public too: [`transport`] sends and receives raw frames (benchmarks,
//! fuzzers, bad-input tests), [`session::sign_in`] signs a raw connection in, and
//! [`decode_event`] verifies and decodes one stored event.

mod backoff;
mod client;
mod config;
mod cursors;
mod draft;
mod driver;
mod error;
mod events;
mod outbox;
pub mod presence;
mod replies;
mod request;
pub mod session;
pub mod transport;

pub use backoff::ReconnectPolicy;
pub use client::{new_client_msg_id, Client};
pub use config::{ClientConfig, Credentials, TransportPref};
pub use draft::Draft;
pub use error::{ClientError, Result};
pub use events::{
    decode_event, ChatEvent, ChatKind, ChatSettings, ChatState, ClientEvent, EventKind, Events, HistoryVisibility,
    JoinedVia, Member, MessageExtras, Role, Who,
};
pub use replies::{
    Account, BroadcastAck, BroadcastList, BroadcastResult, ChatInfo, ChatPreview, ChatSummary, Device, ForwardResult,
    HistoryPage, Invite, JoinRequest, Joined, MemberList, MentionPage, MessageVersion, Pong, ReactionList, SendAck, UserInfo,
    Welcome,
};
/// The message values the protocol shares with the server: attachments, quotes, origins, states.
pub use magpie_wire::message::{Attachment, Contact, ForwardRef, Location, ReactionUpdate, ReplyRef, State as MessageState};
pub use request::{ChatRef, ChatStateChange, ChatUpdate, Direction, NewChat, Peer};
pub use transport::Transport;

/// The error codes of the protocol, re-exported for matching on [`ClientError`].
pub use magpie_wire::ErrorCode;
