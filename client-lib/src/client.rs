//! The app's handle: typed requests, sends through the outbox, and read-only state.

use crate::config::{ClientConfig, TransportPref};
use crate::cursors::Cursors;
use crate::driver::{lock, Command, Driver, Shared};
use crate::error::{ClientError, Result};
use crate::events::Events;
use crate::replies::{Account, ChatInfo, ChatSummary, Device, HistoryPage, Pong, Reply, SendAck, UserInfo, Welcome};
use crate::request::{Direction, Peer, Request};
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
        let queued = self.queue_send(chat_id, client_msg_id.into(), content.into());
        async move { queued?.await.unwrap_or(Err(ClientError::Closed)) }
    }

    fn queue_send(&self, chat_id: u64, client_msg_id: String, content: String) -> Result<oneshot::Receiver<Result<SendAck>>> {
        if client_msg_id.is_empty() || client_msg_id.len() > MAX_CLIENT_MSG_ID_BYTES {
            return Err(ClientError::InvalidInput(format!("client_msg_id must be 1..={MAX_CLIENT_MSG_ID_BYTES} bytes")));
        }
        if content.is_empty() || content.len() > MAX_CONTENT_BYTES {
            return Err(ClientError::InvalidInput(format!("content must be 1..={MAX_CONTENT_BYTES} bytes")));
        }
        let (reply, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Send { chat_id, client_msg_id, content, reply })
            .map_err(|_| ClientError::Closed)?;
        Ok(rx)
    }

    // ---------------------------------------------------------------- requests

    async fn call(&self, request: Request) -> Result<Reply> {
        let (reply, rx) = oneshot::channel();
        self.inner.commands.send(Command::Request { request, reply }).map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(self.inner.request_timeout, rx).await {
            Err(_) => Err(ClientError::Timeout),
            Ok(Err(_)) => Err(ClientError::Closed),
            Ok(Ok(result)) => result,
        }
    }

    async fn call_ok(&self, request: Request) -> Result<()> {
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

    pub async fn leave_chat(&self, chat_id: u64) -> Result<()> {
        self.call_ok(Request::LeaveChat { chat_id }).await
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
