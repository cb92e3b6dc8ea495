//! Request handlers, one file per family, and the one table from frame type to handler.
//!
//! Each handler checks its arguments, then answers from storage (on the blocking pool) or hands
//! a command to the chat's owner shard, whose chat core applies the rules (membership, roles)
//! for reads and writes alike. A handler returns `Ok(Some(frame))` to answer now, `Ok(None)` when
//! another shard answers, or a refusal.

mod accounts;
mod broadcast;
mod chats;
mod forward;
mod history;
mod joins;
mod mentions;
mod messages;
mod presence;
mod receipts;
mod state;
mod sync;

use super::shared::ConnShared;
use crate::crossing::{Actor, Command, ReplyTo, ShardMsg};
use crate::ids::{chat_owner, now_ms};
use crate::shard::Shard;
use bytes::Bytes;
use magpie_storage::{Store, StoreError};
use magpie_wire::{encode, fb, ErrorCode};
use std::rc::Rc;

/// A handler's refusal: an error code and a human-readable detail.
pub type Refusal = (ErrorCode, String);
/// What a handler returns.
pub type Answer = Result<Option<Bytes>, Refusal>;

/// The request being handled: where it came from.
pub struct Ctx<'a> {
    pub shard: &'a Rc<Shard>,
    pub conn: &'a Rc<ConnShared>,
    pub request_id: u64,
}

impl Ctx<'_> {
    fn store(&self) -> &Store {
        &self.shard.shared.store
    }

    /// The signed-in caller of this request.
    fn actor(&self, (user_id, device_id): (u64, u64)) -> Actor {
        Actor { user_id, device_id, reply: ReplyTo { shard: self.shard.id, conn: self.conn.id, request_id: self.request_id } }
    }

    /// Hands a command about an existing chat (or a new group) to the chat's owner shard.
    fn to_owner(&self, chat_id: u64, cmd: Command) -> Answer {
        self.shard.send_to(chat_owner(chat_id, self.shard.shards()), ShardMsg::Chat(cmd));
        Ok(None)
    }

    /// A request of this shard's own to shard `to`, as `me`: its answer, when it comes.
    async fn ask(&self, to: usize, make: impl FnOnce(Actor) -> Command, me: (u64, u64)) -> Option<Bytes> {
        let (conn, answer) = self.shard.internal_request();
        let actor = Actor { user_id: me.0, device_id: me.1, reply: ReplyTo { shard: self.shard.id, conn, request_id: 1 } };
        self.shard.send_to(to, ShardMsg::Chat(make(actor)));
        answer.await.ok()
    }

    /// Runs storage work on the blocking pool.
    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Store) -> Result<T, Refusal> + Send + 'static) -> Result<T, Refusal> {
        let store = self.store().clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or_else(|e| Err((ErrorCode::Internal, format!("worker failed: {e}"))))
    }
}

/// The code of an answer that is an `Error` (`internal` for any other frame).
fn error_code(frame: &fb::Frame<'_>) -> u16 {
    frame.body_as_error().map_or(ErrorCode::Internal as u16, |e| e.code())
}

fn invalid(msg: impl Into<String>) -> Refusal {
    (ErrorCode::InvalidArgument, msg.into())
}

fn storage(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "storage error");
    (ErrorCode::Internal, "storage error".into())
}

fn len_between(s: Option<&str>, min: usize, max: usize, what: &str) -> Result<String, Refusal> {
    let s = s.unwrap_or("");
    if s.len() < min || s.len() > max {
        return Err(invalid(format!("{what} must be {min}..={max} bytes")));
    }
    Ok(s.to_string())
}

pub async fn dispatch(shard: &Rc<Shard>, conn: &Rc<ConnShared>, f: &fb::Frame<'_>) {
    let cx = Ctx { shard, conn, request_id: f.request_id() };
    let result = match conn.auth.get() {
        None => unauthenticated(&cx, f).await,
        Some(me) => authenticated(&cx, me, f).await,
    };
    match result {
        Ok(Some(frame)) => conn.push_reply(frame),
        Ok(None) => {} // answered later, by the owner shard
        Err((code, msg)) => {
            let retry = if code.retryable() { 200 } else { 0 };
            conn.push_reply(encode::error(cx.request_id, code, &msg, retry));
        }
    }
}

/// A QUIC datagram of a signed-in connection (`SetTyping`, `SetPresence`): never answered.
pub fn datagram(shard: &Rc<Shard>, conn: &Rc<ConnShared>, f: &fb::Frame<'_>) {
    let Some(me) = conn.auth.get() else { return };
    let cx = Ctx { shard, conn, request_id: f.request_id() };
    match f.body_type() {
        fb::Body::SetTyping => {
            let _ = presence::typing(&cx, me, f, false);
        }
        fb::Body::SetPresence => presence::datagram_activity(&cx, me, f),
        _ => {}
    }
}

/// The table for a connection that has not signed in.
async fn unauthenticated(cx: &Ctx<'_>, f: &fb::Frame<'_>) -> Answer {
    match f.body_type() {
        fb::Body::Ping => Ok(Some(pong(f))),
        fb::Body::Hello => Err(invalid("already greeted")),
        fb::Body::Register => accounts::register(cx, f).await,
        fb::Body::Login => accounts::login(cx, f).await,
        fb::Body::Authenticate => accounts::authenticate(cx, f).await,
        _ => Err((ErrorCode::Unauthenticated, "authenticate first".into())),
    }
}

/// The table for a signed-in connection: `me` is its (user, device).
async fn authenticated(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    use fb::Body as B;
    match f.body_type() {
        B::Ping => Ok(Some(pong(f))),
        B::Hello => Err(invalid("already greeted")),
        B::Register | B::Login | B::Authenticate => Err((ErrorCode::AlreadyAuthenticated, "already authenticated".into())),
        B::ListDevices => accounts::list_devices(cx, me).await,
        B::RevokeDevice | B::Logout => accounts::revoke_device(cx, me, f).await,
        B::LookupUser => accounts::lookup_user(cx, f).await,
        B::GetUsers => accounts::get_users(cx, f).await,
        B::CreateDirect => chats::create_direct(cx, me, f).await,
        B::CreateGroup => chats::create_group(cx, me, f).await,
        B::AddMembers => chats::add_members(cx, me, f).await,
        B::RemoveMember | B::LeaveChat => chats::remove_member(cx, me, f),
        B::GetChat => chats::get_chat(cx, me, f),
        B::ListChats => chats::list_chats(cx, me, f).await,
        B::SendMessage => messages::send(cx, me, f).await,
        B::EditMessage => messages::edit(cx, me, f),
        B::DeleteMessages => messages::delete(cx, me, f),
        B::React => messages::react(cx, me, f),
        B::ListReactions => messages::list_reactions(cx, me, f),
        B::PinMessage => messages::pin(cx, me, f),
        B::ListPins => messages::list_pins(cx, me, f),
        B::UpdateLiveLocation => messages::update_live_location(cx, me, f),
        B::GetMessageVersions => messages::versions(cx, me, f),
        B::ForwardMessage => forward::forward(cx, me, f).await,
        B::ListMentions => mentions::list(cx, me, f).await,
        B::ListMembers => chats::list_members(cx, me, f),
        B::UpdateChat => chats::update_chat(cx, me, f).await,
        B::SetRole | B::TransferOwnership => chats::set_role(cx, me, f),
        B::CreateInvite => joins::create_invite(cx, me, f),
        B::ListInvites => joins::list_invites(cx, me, f),
        B::RevokeInvite => joins::revoke_invite(cx, me, f),
        B::PreviewChat | B::JoinChat => joins::preview_or_join(cx, me, f).await,
        B::ListJoinRequests => joins::list_join_requests(cx, me, f),
        B::ResolveJoinRequest => joins::resolve_join_request(cx, me, f),
        B::SetChatState => state::set_chat_state(cx, me, f).await,
        B::ReorderPinned => state::reorder_pinned(cx, me, f).await,
        B::SaveBroadcastList => broadcast::save(cx, me, f).await,
        B::DeleteBroadcastList => broadcast::delete(cx, me, f).await,
        B::ListBroadcastLists => broadcast::list(cx, me).await,
        B::SendBroadcast => broadcast::send(cx, me, f).await,
        B::Sync => sync::sync(cx, me, f),
        B::History => history::history(cx, me, f),
        B::MarkReceipts => receipts::mark(cx, me, f).await,
        B::GetReceipts => receipts::get(cx, me, f).await,
        B::SetPrivacy => presence::set_privacy(cx, me, f).await,
        B::GetPrivacy => presence::get_privacy(cx, me).await,
        B::SetPresence => presence::set_presence(cx, me, f).await,
        B::WatchPresence => presence::watch(cx, me, f).await,
        B::SetTyping => presence::typing(cx, me, f, true),
        other => Err((ErrorCode::UnknownFrame, format!("{other:?} is not a request"))),
    }
}

fn pong(f: &fb::Frame<'_>) -> Bytes {
    let nonce = f.body_as_ping().map(|p| p.nonce()).unwrap_or(0);
    encode::pong(f.request_id(), nonce, now_ms())
}
