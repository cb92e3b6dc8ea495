//! The app's handle: typed requests, sends through the outbox, and read-only state.

use crate::draft::Draft;
use crate::config::{ClientConfig, TransportPref};
use crate::cursors::Cursors;
use crate::driver::{lock, Command, Driver, Shared};
use crate::error::{ClientError, Result};
use crate::events::Events;
use crate::events::{ChatState, Role};
use crate::replies::{
    Account, BroadcastAck, BroadcastList, ChatInfo, ChatPreview, ChatSummary, Device, ForwardResult, HistoryPage, Invite,
    JoinRequest, Joined, MemberList, MentionPage, MessageVersion, Pong, ReactionList, Reply, SendAck, UserInfo, Welcome,
};
use magpie_wire::message::State as MessageState;
use crate::request::{ChatRef, ChatStateChange, ChatUpdate, Direction, NewChat, Peer, Request};
use crate::session;
use crate::transport::{QuicConnector, Transport};
use magpie_wire::limits::{MAX_CLIENT_MSG_ID_BYTES, MAX_CONTENT_BYTES, MAX_HISTORY_LIMIT};
use rand::Rng;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// A connected Magpie client. Cheap to clone; all clones share one connection. Dropping the
/// last clone stops the background task (unacknowledged sends are then lost, so
/// [`close`](Client::close) after the outbox is empty if that matters).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::UnboundedSender<Command>,
    /// Dropping it (with the last `Client`) also tells the driver to stop.
    shutdown: watch::Sender<bool>,
    shared: Arc<Shared>,
    account: Account,
    request_timeout: Duration,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("account", &self.inner.account)
            .field("transport", &self.transport())
            .field("pending_sends", &self.pending_sends())
            .finish_non_exhaustive()
    }
}

/// A fresh client message id: 128 random bits in hex.
pub fn new_client_msg_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

impl Client {
    /// Connects, signs in with the configured credentials and starts the background task,
    /// which then syncs. Fails if this first connection cannot be made; after it, breaks are
    /// repaired in the background. Must be called within a tokio runtime.
    pub async fn connect(config: ClientConfig) -> Result<(Client, Events)> {
        let credentials =
            config.credentials.clone().ok_or_else(|| ClientError::InvalidInput("no credentials configured".into()))?;
        let connector = quic_connector(&config)?;
        let (conn, session) = session::establish(&config, connector.as_ref(), &credentials).await?;

        let shared = Arc::new(Shared {
            token: Mutex::new(session.token.clone()),
            welcome: Mutex::new(session.welcome.clone()),
            cursors: Mutex::new(Cursors::new(config.cursors.iter().copied())),
            transport: Mutex::new(None),
            pending_sends: Arc::default(),
        });
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let account = session.account.clone();
        let request_timeout = config.request_timeout;
        let driver = Driver::new(config, connector, shared.clone(), commands_rx, shutdown_rx, events_tx, account.user_id);
        let handle = tokio::spawn(driver.run((conn, session)));
        let inner = Inner {
            commands: commands_tx,
            shutdown: shutdown_tx,
            shared,
            account,
            request_timeout,
            driver: Mutex::new(Some(handle)),
        };
        Ok((Client { inner: Arc::new(inner) }, Events::new(events_rx)))
    }

    // ---------------------------------------------------------------- state

    /// The signed-in user and device.
    pub fn account(&self) -> &Account {
        &self.inner.account
    }

    pub fn user_id(&self) -> u64 {
        self.inner.account.user_id
    }

    pub fn device_id(&self) -> u64 {
        self.inner.account.device_id
    }

    /// The device token. Persist it and connect with
    /// [`ClientConfig::token`](crate::ClientConfig::token) next time.
    pub fn token(&self) -> String {
        lock(&self.inner.shared.token).clone()
    }

    /// The server's `Welcome` on the current (or last) connection.
    pub fn welcome(&self) -> Welcome {
        lock(&self.inner.shared.welcome).clone()
    }

    /// The transport in use, or `None` while disconnected.
    pub fn transport(&self) -> Option<Transport> {
        *lock(&self.inner.shared.transport)
    }

    /// Per chat, the last sequence number handed to the app, sorted by chat. Persist these
    /// with the events and pass them to [`ClientConfig::cursors`](crate::ClientConfig::cursors) to
    /// resume without replay.
    pub fn cursors(&self) -> Vec<(u64, u64)> {
        lock(&self.inner.shared.cursors).snapshot()
    }

    /// The last sequence number of `chat_id` handed to the app (0 = none).
    pub fn cursor(&self, chat_id: u64) -> u64 {
        lock(&self.inner.shared.cursors).get(chat_id)
    }

    /// Messages sent but not yet acknowledged.
    pub fn pending_sends(&self) -> usize {
        self.inner.shared.pending_sends.load(Ordering::Relaxed)
    }

    /// Stops the client: closes the connection politely and fails whatever is still waiting
    /// (unacknowledged sends included) with [`ClientError::Closed`]. Affects every clone.
    pub async fn close(&self) {
        let _ = self.inner.shutdown.send(true);
        let handle = lock(&self.inner.driver).take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }

    // ---------------------------------------------------------------- messages

    /// Sends a message with a fresh client message id. The message is queued as soon as this
    /// is called, and kept until acknowledged: it is resent with the same id after reconnects
    /// and retryable errors, so it is posted exactly once. The future resolves with the ack (the
    /// message is durable) or a non-retryable error; dropping it does not cancel the send. There
    /// is no timeout: wrap it in one if needed, the outbox keeps trying regardless.
    pub fn send(&self, chat_id: u64, content: impl Into<String>) -> impl Future<Output = Result<SendAck>> + Send + 'static {
        self.send_with_id(chat_id, new_client_msg_id(), content)
    }

    /// Like [`send`](Client::send) with the app's own client message id (1..=64 bytes), e.g. one
    /// persisted before a crash: sending it again returns the original ack.
    pub fn send_with_id(
        &self,
        chat_id: u64,
        client_msg_id: impl Into<String>,
        content: impl Into<String>,
    ) -> impl Future<Output = Result<SendAck>> + Send + 'static {
        self.send_draft_with_id(chat_id, client_msg_id, Draft::from(content.into()))
    }

    /// Sends a message with more than text: a reply, mentions, a place or a contact card
    /// (PROTOCOL.md §6.13). Queued and resent until acknowledged, like [`send`](Client::send).
    pub fn send_draft(&self, chat_id: u64, draft: Draft) -> impl Future<Output = Result<SendAck>> + Send + 'static {
        self.send_draft_with_id(chat_id, new_client_msg_id(), draft)
    }

    /// [`send_draft`](Client::send_draft) with the app's own client message id.
    pub fn send_draft_with_id(
        &self,
        chat_id: u64,
        client_msg_id: impl Into<String>,
        draft: Draft,
    ) -> impl Future<Output = Result<SendAck>> + Send + 'static {
        let queued = self.queue_send(chat_id, client_msg_id.into(), draft);
        async move { queued?.await.unwrap_or(Err(ClientError::Closed)) }
    }

    fn queue_send(&self, chat_id: u64, client_msg_id: String, draft: Draft) -> Result<oneshot::Receiver<Result<SendAck>>> {
        if client_msg_id.is_empty() || client_msg_id.len() > MAX_CLIENT_MSG_ID_BYTES {
            return Err(ClientError::InvalidInput(format!("client_msg_id must be 1..={MAX_CLIENT_MSG_ID_BYTES} bytes")));
        }
        let may_be_empty = draft.attachment.is_some();
        if (draft.content.is_empty() && !may_be_empty) || draft.content.len() > MAX_CONTENT_BYTES {
            return Err(ClientError::InvalidInput(format!("content must be 1..={MAX_CONTENT_BYTES} bytes")));
        }
        let (reply, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Send { chat_id, client_msg_id, draft, reply })
            .map_err(|_| ClientError::Closed)?;
        Ok(rx)
    }

    // ---------------------------------------------------------------- requests

    pub(crate) async fn call(&self, request: Request) -> Result<Reply> {
        let (reply, rx) = oneshot::channel();
        self.inner.commands.send(Command::Request { request, reply }).map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(self.inner.request_timeout, rx).await {
            Err(_) => Err(ClientError::Timeout),
            Ok(Err(_)) => Err(ClientError::Closed),
            Ok(Ok(result)) => result,
        }
    }

    pub(crate) async fn call_ok(&self, request: Request) -> Result<()> {
        match self.call(request).await? {
            Reply::Ok => Ok(()),
            other => Err(other.unexpected("Ok")),
        }
    }

    async fn call_chat(&self, request: Request) -> Result<ChatInfo> {
        match self.call(request).await? {
            Reply::Chat(chat) => Ok(chat),
            other => Err(other.unexpected("ChatInfo")),
        }
    }

    /// Revokes this device's token and stops the client (a [`ClientEvent::Closed`]
    /// with code `revoked` follows).
    ///
    /// [`ClientEvent::Closed`]: crate::ClientEvent::Closed
    pub async fn logout(&self) -> Result<()> {
        self.call_ok(Request::Logout).await
    }

    pub async fn list_devices(&self) -> Result<Vec<Device>> {
        match self.call(Request::ListDevices).await? {
            Reply::Devices(devices) => Ok(devices),
            other => Err(other.unexpected("DeviceList")),
        }
    }

    /// Revokes another of the user's devices; its connections are closed.
    pub async fn revoke_device(&self, device_id: u64) -> Result<()> {
        self.call_ok(Request::RevokeDevice { device_id }).await
    }

    pub async fn lookup_user(&self, username: &str) -> Result<UserInfo> {
        match self.call(Request::LookupUser { username: username.to_owned() }).await? {
            Reply::User(user) => Ok(user),
            other => Err(other.unexpected("UserInfo")),
        }
    }

    /// Names for user ids (at most 1000 per call); ids that do not exist are left out.
    pub async fn get_users(&self, user_ids: &[u64]) -> Result<Vec<UserInfo>> {
        match self.call(Request::GetUsers { user_ids: user_ids.to_vec() }).await? {
            Reply::Users(users) => Ok(users),
            other => Err(other.unexpected("UserList")),
        }
    }

    /// The one direct chat with `peer` (a user id or a username), created if needed.
    pub async fn create_direct(&self, peer: impl Into<Peer>) -> Result<ChatInfo> {
        self.call_chat(Request::CreateDirect(peer.into())).await
    }

    /// A new group with the caller as admin and `member_ids` as members.
    pub async fn create_group(&self, title: &str, member_ids: &[u64]) -> Result<ChatInfo> {
        self.call_chat(Request::CreateGroup { title: title.to_owned(), member_ids: member_ids.to_vec() }).await
    }

    pub async fn add_members(&self, chat_id: u64, user_ids: &[u64]) -> Result<()> {
        self.call_ok(Request::AddMembers { chat_id, user_ids: user_ids.to_vec() }).await
    }

    pub async fn remove_member(&self, chat_id: u64, user_id: u64) -> Result<()> {
        self.call_ok(Request::RemoveMember { chat_id, user_id }).await
    }

    /// A group or channel with every option (description, handle, settings); the caller is its
    /// owner.
    pub async fn create_chat(&self, chat: &NewChat) -> Result<ChatInfo> {
        self.call_chat(Request::CreateChat(chat.clone())).await
    }

    /// Leaves a group or channel. An owner hands it to the admin who has been a member longest
    /// (refused with `owner_must_transfer` when there is none and others remain).
    pub async fn leave_chat(&self, chat_id: u64) -> Result<()> {
        self.leave_chat_to(chat_id, 0).await
    }

    /// Leaves; as the owner, hands the chat to `successor` if it is a member (0: as
    /// [`leave_chat`](Client::leave_chat)).
    pub async fn leave_chat_to(&self, chat_id: u64, successor: u64) -> Result<()> {
        self.call_ok(Request::LeaveChat { chat_id, successor }).await
    }

    /// A page of a chat's members by ascending user id, after `after_user_id` (0 for the first
    /// page), at most `limit` (0 = the server's 200; at most 1,000); `admins_only` for the
    /// owner and admins. A channel's subscribers are listed to admins only.
    pub async fn list_members(&self, chat_id: u64, after_user_id: u64, limit: u16, admins_only: bool) -> Result<MemberList> {
        match self.call(Request::ListMembers { chat_id, after_user_id, limit, admins_only }).await? {
            Reply::Members(list) => Ok(list),
            other => Err(other.unexpected("MemberList")),
        }
    }

    /// Changes the parts of a chat's info that `update` names; a `ChatUpdated` event follows
    /// (none if nothing changed).
    pub async fn update_chat(&self, chat_id: u64, update: &ChatUpdate) -> Result<()> {
        self.call_ok(Request::UpdateChat { chat_id, update: update.clone() }).await
    }

    /// Makes a member an admin, or an admin a member (`Role::Owner`: use
    /// [`transfer_ownership`](Client::transfer_ownership)).
    pub async fn set_role(&self, chat_id: u64, user_id: u64, role: Role) -> Result<()> {
        self.call_ok(Request::SetRole { chat_id, user_id, role }).await
    }

    /// Hands the chat to another member; the caller (the owner) becomes an admin.
    pub async fn transfer_ownership(&self, chat_id: u64, user_id: u64) -> Result<()> {
        self.call_ok(Request::TransferOwnership { chat_id, user_id }).await
    }

    /// A new invite link: `expires_ms` (Unix ms, 0 = never), `max_uses` (0 = unlimited).
    pub async fn create_invite(&self, chat_id: u64, expires_ms: i64, max_uses: u32) -> Result<Invite> {
        match self.call(Request::CreateInvite { chat_id, expires_ms, max_uses }).await? {
            Reply::Invite(invite) => Ok(invite),
            other => Err(other.unexpected("Invite")),
        }
    }

    /// A chat's invite links (admins).
    pub async fn list_invites(&self, chat_id: u64) -> Result<Vec<Invite>> {
        match self.call(Request::ListInvites { chat_id }).await? {
            Reply::Invites { invites, .. } => Ok(invites),
            other => Err(other.unexpected("InviteList")),
        }
    }

    pub async fn revoke_invite(&self, chat_id: u64, code: &str) -> Result<()> {
        self.call_ok(Request::RevokeInvite { chat_id, code: code.to_owned() }).await
    }

    /// What a chat looks like before joining it, by invite code or public handle.
    pub async fn preview_chat(&self, by: ChatRef) -> Result<ChatPreview> {
        match self.call(Request::PreviewChat(by)).await? {
            Reply::Preview(preview) => Ok(preview),
            other => Err(other.unexpected("ChatPreview")),
        }
    }

    /// Joins by invite code or public handle: the chat, or a pending request when the chat
    /// approves joins.
    pub async fn join_chat(&self, by: ChatRef) -> Result<Joined> {
        match self.call(Request::JoinChat(by)).await? {
            Reply::Chat(chat) => Ok(Joined::Joined(chat)),
            Reply::JoinPending { chat_id } => Ok(Joined::Pending { chat_id }),
            other => Err(other.unexpected("ChatInfo or JoinPending")),
        }
    }

    /// Join requests waiting for approval (admins).
    pub async fn list_join_requests(&self, chat_id: u64) -> Result<Vec<JoinRequest>> {
        match self.call(Request::ListJoinRequests { chat_id }).await? {
            Reply::JoinRequests { requests, .. } => Ok(requests),
            other => Err(other.unexpected("JoinRequestList")),
        }
    }

    /// Approves (the user joins) or declines a join request.
    pub async fn resolve_join_request(&self, chat_id: u64, user_id: u64, approve: bool) -> Result<()> {
        self.call_ok(Request::ResolveJoin { chat_id, user_id, approve }).await
    }

    /// Changes the user's own state of a chat (mute, pin, archive, unread mark); the answer is
    /// the whole new state. The user's other devices get a [`ClientEvent::ChatStateChanged`].
    ///
    /// [`ClientEvent::ChatStateChanged`]: crate::ClientEvent::ChatStateChanged
    pub async fn set_chat_state(&self, chat_id: u64, change: ChatStateChange) -> Result<ChatState> {
        match self.call(Request::SetChatState { chat_id, change }).await? {
            Reply::ChatState { state, .. } => Ok(state),
            other => Err(other.unexpected("ChatStateChanged")),
        }
    }

    /// Orders exactly the pinned chats, first to last; every device of the user, this one
    /// included, gets a `ChatStateChanged` per chat.
    pub async fn reorder_pinned(&self, chat_ids: &[u64]) -> Result<()> {
        self.call_ok(Request::ReorderPinned { chat_ids: chat_ids.to_vec() }).await
    }

    /// One page of the chat list as people see it: on the first page (`before` = `None`) every
    /// pinned chat, then the others by last activity, newest first; `before` = the last row's
    /// `(last_activity_ms, chat_id)` for the next page. Only archived chats if `archived`.
    /// `limit` 0 = the server's default. Returns the page and whether more follow.
    pub async fn list_chats_by_activity(
        &self,
        archived: bool,
        before: Option<(i64, u64)>,
        limit: u16,
    ) -> Result<(Vec<ChatSummary>, bool)> {
        let (before_ms, before_chat_id) = before.unwrap_or((0, 0));
        match self.call(Request::ListChatsByActivity { archived, before_ms, before_chat_id, limit }).await? {
            Reply::Chats { chats, has_more } => Ok((chats, has_more)),
            other => Err(other.unexpected("ChatList")),
        }
    }

    /// Creates (`list_id` 0) or replaces a broadcast list of up to 256 recipients.
    pub async fn save_broadcast_list(&self, list_id: u64, name: &str, recipient_ids: &[u64]) -> Result<BroadcastList> {
        let request = Request::SaveBroadcastList { list_id, name: name.to_owned(), recipient_ids: recipient_ids.to_vec() };
        match self.call(request).await? {
            Reply::BroadcastList(list) => Ok(list),
            other => Err(other.unexpected("BroadcastList")),
        }
    }

    pub async fn delete_broadcast_list(&self, list_id: u64) -> Result<()> {
        self.call_ok(Request::DeleteBroadcastList { list_id }).await
    }

    pub async fn list_broadcast_lists(&self) -> Result<Vec<BroadcastList>> {
        match self.call(Request::ListBroadcastLists).await? {
            Reply::BroadcastLists(lists) => Ok(lists),
            other => Err(other.unexpected("BroadcastLists")),
        }
    }

    /// Sends `content` to each recipient of a broadcast list, as a separate message in the
    /// direct chat with each, with a fresh client message id. Not queued in the outbox: on a
    /// timeout or lost connection, retry with [`send_broadcast_with_id`](Client::send_broadcast_with_id)
    /// and the id from the first attempt, which duplicates nothing.
    pub async fn send_broadcast(&self, list_id: u64, content: &str) -> Result<BroadcastAck> {
        self.send_broadcast_with_id(list_id, &new_client_msg_id(), content).await
    }

    /// Like [`send_broadcast`](Client::send_broadcast) with the app's own client message id: a
    /// retry with the same id gets the same results.
    pub async fn send_broadcast_with_id(&self, list_id: u64, client_msg_id: &str, content: &str) -> Result<BroadcastAck> {
        if client_msg_id.is_empty() || client_msg_id.len() > MAX_CLIENT_MSG_ID_BYTES {
            return Err(ClientError::InvalidInput(format!("client_msg_id must be 1..={MAX_CLIENT_MSG_ID_BYTES} bytes")));
        }
        if content.is_empty() || content.len() > MAX_CONTENT_BYTES {
            return Err(ClientError::InvalidInput(format!("content must be 1..={MAX_CONTENT_BYTES} bytes")));
        }
        let request =
            Request::SendBroadcast { list_id, client_msg_id: client_msg_id.to_owned(), content: content.to_owned() };
        match self.call(request).await? {
            Reply::BroadcastAck(ack) => Ok(ack),
            other => Err(other.unexpected("BroadcastAck")),
        }
    }

    pub async fn get_chat(&self, chat_id: u64) -> Result<ChatInfo> {
        self.call_chat(Request::GetChat { chat_id }).await
    }

    /// Every chat of the user, in ascending chat id order (fetched a page at a time).
    pub async fn list_chats(&self) -> Result<Vec<ChatSummary>> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(0, |c: &ChatSummary| c.chat_id);
            let (page, has_more) = self.list_chats_page(after, 0).await?;
            let progressed = !page.is_empty();
            all.extend(page);
            if !has_more || !progressed {
                return Ok(all);
            }
        }
    }

    /// One page: the user's chats with chat_id > `after_chat_id`, at most `limit` (0 = the
    /// server's default of 100; at most 500), and whether more follow.
    pub async fn list_chats_page(&self, after_chat_id: u64, limit: u16) -> Result<(Vec<ChatSummary>, bool)> {
        match self.call(Request::ListChats { after_chat_id, limit }).await? {
            Reply::Chats { chats, has_more } => Ok((chats, has_more)),
            other => Err(other.unexpected("ChatList")),
        }
    }

    /// A page of history, events in ascending order. `Backward` reads the newest `limit` events
    /// before `from_seq` (0 = from the end); `Forward` the oldest `limit` after it. `limit` is
    /// 1..=500 (0 means the server's default, 50). This does not move the cursors: the event
    /// stream already delivers everything.
    pub async fn history(&self, chat_id: u64, from_seq: u64, direction: Direction, limit: u16) -> Result<HistoryPage> {
        if limit > MAX_HISTORY_LIMIT {
            return Err(ClientError::InvalidInput(format!("history limit must be at most {MAX_HISTORY_LIMIT}")));
        }
        match self.call(Request::History { chat_id, from_seq, direction, limit }).await? {
            Reply::Page(page) => Ok(page),
            other => Err(other.unexpected("HistoryPage")),
        }
    }

    // ---------------------------------------------------------------- message features

    /// Edits a message of one's own (text and mentions); every earlier version stays.
    pub async fn edit_message(&self, chat_id: u64, seq: u64, content: &str, mentions: &[u64]) -> Result<()> {
        self.call_ok(Request::EditMessage { chat_id, seq, content: content.into(), mentions: mentions.to_vec() }).await
    }

    /// Deletes messages for everyone (content erased; a tombstone stays) or, with
    /// `for_everyone` false, hides them on all of one's own devices.
    pub async fn delete_messages(&self, chat_id: u64, seqs: &[u64], for_everyone: bool) -> Result<()> {
        self.call_ok(Request::DeleteMessages { chat_id, seqs: seqs.to_vec(), for_everyone }).await
    }

    /// Adds (`add`) or removes one's reaction `emoji`; `Ok` once it is durable.
    pub async fn react(&self, chat_id: u64, seq: u64, emoji: &str, add: bool) -> Result<()> {
        self.call_ok(Request::React { chat_id, seq, emoji: emoji.into(), add }).await
    }

    /// Who reacted to a message (with `emoji` non-empty, only with it), a page after `after_user_id`.
    pub async fn list_reactions(&self, chat_id: u64, seq: u64, emoji: &str, after_user_id: u64, limit: u16) -> Result<ReactionList> {
        match self.call(Request::ListReactions { chat_id, seq, emoji: emoji.into(), after_user_id, limit }).await? {
            Reply::Reactions(list) => Ok(list),
            other => Err(other.unexpected("ReactionList")),
        }
    }

    pub async fn pin_message(&self, chat_id: u64, seq: u64, pinned: bool) -> Result<()> {
        self.call_ok(Request::PinMessage { chat_id, seq, pinned }).await
    }

    /// The chat's pinned messages, most recently pinned first (each state holds its event).
    pub async fn list_pins(&self, chat_id: u64) -> Result<Vec<MessageState>> {
        match self.call(Request::ListPins { chat_id }).await? {
            Reply::Pins(pins) => Ok(pins),
            other => Err(other.unexpected("PinList")),
        }
    }

    /// Moves one's live location on (`position`: latitude, longitude, accuracy in metres), or
    /// ends it there (`stop`).
    pub async fn update_live_location(&self, chat_id: u64, seq: u64, position: (f64, f64, f32), stop: bool) -> Result<()> {
        self.call_ok(Request::UpdateLiveLocation { chat_id, seq, position, stop }).await
    }

    /// Forwards a message to up to 20 chats; retrying with the same `client_msg_id` gets the
    /// same results.
    pub async fn forward_message(&self, from_chat_id: u64, seq: u64, to_chat_ids: &[u64], client_msg_id: &str) -> Result<Vec<ForwardResult>> {
        let request = Request::ForwardMessage { from_chat_id, seq, to_chat_ids: to_chat_ids.to_vec(), client_msg_id: client_msg_id.into() };
        match self.call(request).await? {
            Reply::Forwarded(results) => Ok(results),
            other => Err(other.unexpected("ForwardAck")),
        }
    }

    /// Every version of a message, the original first.
    pub async fn message_versions(&self, chat_id: u64, seq: u64) -> Result<Vec<MessageVersion>> {
        match self.call(Request::GetMessageVersions { chat_id, seq }).await? {
            Reply::Versions(v) => Ok(v),
            other => Err(other.unexpected("MessageVersions")),
        }
    }

    /// The messages that mention the caller, newest first, with ids below `before_message_id`
    /// (0: from the newest).
    pub async fn list_mentions(&self, before_message_id: u64, limit: u16) -> Result<MentionPage> {
        match self.call(Request::ListMentions { before_message_id, limit }).await? {
            Reply::Mentions(page) => Ok(page),
            other => Err(other.unexpected("MentionList")),
        }
    }

    /// Round trip to the server.
    pub async fn ping(&self) -> Result<Pong> {
        let nonce = rand::rng().random::<u64>();
        let start = Instant::now();
        match self.call(Request::Ping { nonce }).await? {
            Reply::Pong { nonce: echoed, server_time_ms } if echoed == nonce => {
                Ok(Pong { nonce, server_time_ms, rtt: start.elapsed() })
            }
            Reply::Pong { nonce: echoed, .. } => {
                Err(ClientError::UnexpectedReply(format!("Pong echoed nonce {echoed}, sent {nonce}")))
            }
            other => Err(other.unexpected("Pong")),
        }
    }
}

/// The QUIC endpoint to use for this client's whole life, or `None` for WebSocket only.
fn quic_connector(config: &ClientConfig) -> Result<Option<QuicConnector>> {
    if let Some(shared) = &config.quic_connector {
        return Ok(Some(shared.clone()));
    }
    match config.transport {
        TransportPref::WebSocket => Ok(None),
        // Without a certificate QUIC cannot be trusted; Auto then simply means WebSocket.
        TransportPref::Auto if config.server_cert_der.is_empty() => Ok(None),
        TransportPref::Auto | TransportPref::Quic => Ok(Some(match config.local_ip {
            Some(ip) => QuicConnector::new(&config.server_cert_der, Some(ip))?,
            None => QuicConnector::for_server(&config.server_cert_der, config.quic_addr)?,
        })),
    }
}
