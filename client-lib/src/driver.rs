//! The background task that owns the connection: it multiplexes requests by request id, keeps
//! cursors and the outbox, and reconnects, re-authenticates, re-syncs and resends after any
//! break. The app talks to it through [`Command`]s and hears from it through [`ClientEvent`]s.

use crate::draft::Draft;
use crate::backoff::Backoff;
use crate::config::{ClientConfig, Credentials};
use crate::cursors::{Cursors, Fill};
use crate::error::{ClientError, Result};
use crate::events::{ChatEvent, ClientEvent};
use crate::outbox::{AckWaiter, Outbox};
use crate::replies::{decode_frame, Inbound, Reply, Welcome};
use crate::request::Request;
use crate::session::{self, Session, FIRST_FREE_REQUEST_ID};
use crate::transport::{Connection, FrameReceiver, QuicConnector, Transport};
use bytes::Bytes;
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use magpie_wire::{encode, fb, ErrorCode};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub(crate) type ReplyTx = oneshot::Sender<Result<Reply>>;

/// What the app asks of the driver.
pub(crate) enum Command {
    Request { request: Request, reply: ReplyTx },
    Send { chat_id: u64, client_msg_id: String, draft: Draft, reply: AckWaiter },
}

/// State the app can read without asking the driver.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) token: Mutex<String>,
    pub(crate) welcome: Mutex<Welcome>,
    pub(crate) cursors: Mutex<Cursors>,
    pub(crate) transport: Mutex<Option<Transport>>,
    /// Unacknowledged sends, kept current by the outbox.
    pub(crate) pending_sends: Arc<AtomicUsize>,
}

/// Locks, ignoring poison: every critical section here leaves its data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request in flight on the current connection (sends are tracked by the outbox).
enum Pending {
    App(ReplyTx),
    /// Success ends the client: the device token is revoked.
    Logout(ReplyTx),
    Sync,
    Fill { chat_id: u64 },
    Keepalive,
}

/// Why a connection (or the wait for one) ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The app closed the client or dropped it.
    Shutdown,
    /// Worth reconnecting.
    Lost(String),
    /// Must not reconnect: the client stops.
    Fatal { code: Option<ErrorCode>, reason: String },
}

pub(crate) struct Driver {
    pub(crate) cfg: ClientConfig,
    pub(crate) connector: Option<QuicConnector>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) events: mpsc::UnboundedSender<ClientEvent>,
    pub(crate) user_id: u64,
    pub(crate) outbox: Outbox,
    pub(crate) backoff: Backoff,
    pending: HashMap<u64, Pending>,
    /// App requests made while disconnected, sent once a connection is up.
    queued: VecDeque<(Request, ReplyTx)>,
    next_request_id: u64,
    /// The server's SyncDone, held back until gap fills started during the sync are answered.
    sync_done: Option<(u32, u64)>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cfg: ClientConfig,
        connector: Option<QuicConnector>,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
        shutdown: watch::Receiver<bool>,
        events: mpsc::UnboundedSender<ClientEvent>,
        user_id: u64,
    ) -> Self {
        let outbox = Outbox::new(cfg.reconnect, shared.pending_sends.clone());
        let backoff = Backoff::new(cfg.reconnect);
        Driver {
            cfg,
            connector,
            shared,
            commands,
            shutdown,
            events,
            user_id,
            outbox,
            backoff,
            pending: HashMap::new(),
            queued: VecDeque::new(),
            next_request_id: FIRST_FREE_REQUEST_ID,
            sync_done: None,
        }
    }

    /// Runs until the client is closed or stopped for good, starting on `first`.
    pub(crate) async fn run(mut self, first: (Connection, Session)) {
        let mut next = Some(first);
        let mut resumed = false;
        let end = loop {
            let established = match next.take() {
                Some(c) => c,
                None => match self.reconnect().await {
                    Ok(c) => c,
                    Err(end) => break end,
                },
            };
            match self.serve(established, resumed).await {
                End::Lost(reason) => {
                    tracing::info!(%reason, "disconnected; reconnecting");
                    self.emit(ClientEvent::Disconnected { reason });
                    resumed = true;
                }
                end => break end,
            }
        };
        let error = match end {
            End::Fatal { code, reason } => {
                tracing::warn!(?code, %reason, "client stopped by the server");
                self.emit(ClientEvent::Closed { code, reason: reason.clone() });
                ClientError::Rejected { code, reason }
            }
            End::Shutdown | End::Lost(_) => ClientError::Closed,
        };
        self.stop(&error);
    }

    fn emit(&self, event: ClientEvent) {
        // Nobody listening is fine: the app dropped its Events.
        let _ = self.events.send(event);
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }

    // ---------------------------------------------------------------- connection lifecycle

    /// Waits out the backoff (still taking commands), then tries to sign in with the token,
    /// until it works or must stop.
    async fn reconnect(&mut self) -> Result<(Connection, Session), End> {
        loop {
            let wake = tokio::time::Instant::now() + self.backoff.next_delay();
            loop {
                tokio::select! {
                    _ = self.shutdown.changed() => return Err(End::Shutdown),
                    _ = tokio::time::sleep_until(wake) => break,
                    cmd = self.commands.recv() => match cmd {
                        Some(cmd) => self.take_command_offline(cmd),
                        None => return Err(End::Shutdown),
                    },
                }
            }
            let credentials = Credentials::Token(lock(&self.shared.token).clone());
            let attempt = session::establish(&self.cfg, self.connector.as_ref(), &credentials);
            tokio::select! {
                _ = self.shutdown.changed() => return Err(End::Shutdown),
                result = attempt => match result {
                    Ok(established) => return Ok(established),
                    Err(e) if is_fatal(&e) => {
                        return Err(End::Fatal { code: e.code(), reason: e.to_string() });
                    }
                    Err(e) => tracing::debug!(error = %e, "reconnect attempt failed"),
                },
            }
        }
    }

    async fn serve(&mut self, (conn, session): (Connection, Session), resumed: bool) -> End {
        let transport = conn.transport();
        // Typing indicators arrive as QUIC datagrams once the server agreed to DATAGRAMS.
        let negotiated = session.welcome.features & magpie_wire::handshake::features::DATAGRAMS != 0;
        let datagrams = conn.quic_connection().filter(|_| negotiated).cloned();
        *lock(&self.shared.welcome) = session.welcome;
        *lock(&self.shared.transport) = Some(transport);
        self.next_request_id = FIRST_FREE_REQUEST_ID;

        // A writer task of its own, so a slow send never stops us reading (and so the server,
        // blocked on its own sends to us, can never deadlock against us).
        let (mut sender, mut receiver) = conn.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Bytes>();
        let mut writer: JoinHandle<String> = tokio::spawn(async move {
            while let Some(frame) = out_rx.recv().await {
                if let Err(e) = sender.send(frame).await {
                    return e.to_string();
                }
            }
            sender.close().await;
            String::from("closed")
        });

        tracing::info!(%transport, resumed, "connected");
        self.emit(ClientEvent::Connected { transport, resumed });
        // Sync first: the server sends no live events before it, and resends come after it.
        let sync_id = self.next_id();
        self.pending.insert(sync_id, Pending::Sync);
        let cursors = lock(&self.shared.cursors).for_sync();
        let _ = out.send(encode::sync(sync_id, &cursors));
        for (request, reply) in std::mem::take(&mut self.queued) {
            if !reply.is_closed() {
                self.send_request(request, reply, &out);
            }
        }
        self.flush_outbox(&out);

        let end = self.pump(&mut receiver, &out, &mut writer, datagrams).await;
        drop(out);
        match end {
            // Let the writer say goodbye (QUIC close / WebSocket close handshake), briefly.
            End::Shutdown | End::Fatal { .. } => {
                if tokio::time::timeout(Duration::from_secs(1), &mut writer).await.is_err() {
                    writer.abort();
                }
            }
            End::Lost(_) => writer.abort(),
        }
        self.forget_connection();
        end
    }

    async fn pump(&mut self, receiver: &mut FrameReceiver, out: &Out, writer: &mut JoinHandle<String>, datagrams: Option<quinn::Connection>) -> End {
        // A ping goes out every `keepalive` whatever the traffic: the server closes connections
        // it has heard nothing from, and a client that only receives must still be heard.
        // Silence from the server for twice that long means the connection is dead.
        let keepalive = self.cfg.keepalive.max(Duration::from_millis(10));
        let mut last_heard = Instant::now();
        let mut next_ping = last_heard + keepalive;
        loop {
            let dead_at = last_heard + keepalive * 2;
            let keepalive_at = next_ping.min(dead_at);
            let wake = self.outbox.next_retry_at().map_or(keepalive_at, |t| t.min(keepalive_at));
            tokio::select! {
                _ = self.shutdown.changed() => return End::Shutdown,
                frame = receiver.recv() => match frame {
                    Ok(frame) => {
                        last_heard = Instant::now();
                        if let Some(end) = self.on_frame(&frame, out) {
                            return end;
                        }
                    }
                    Err(e) => return End::Lost(e.to_string()),
                },
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd, out),
                    None => return End::Shutdown,
                },
                datagram = next_datagram(&datagrams) => {
                    // Verified and decoded like any frame; one that fails is dropped (a datagram
                    // is unreliable anyway), never fatal.
                    if magpie_wire::verify::server_frame(&datagram).is_ok() {
                        if let Some(end) = self.on_frame(&datagram, out) {
                            return end;
                        }
                    }
                }
                done = &mut *writer => {
                    return End::Lost(match done {
                        Ok(why) => format!("send failed: {why}"),
                        Err(e) => format!("writer task failed: {e}"),
                    });
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if now >= dead_at {
                        return End::Lost("no answer to keepalive ping".into());
                    }
                    if now >= next_ping {
                        let id = self.next_id();
                        self.pending.insert(id, Pending::Keepalive);
                        let _ = out.send(encode::ping(id, id));
                        next_ping = now + keepalive;
                    }
                    self.flush_outbox(out);
                    self.sweep_abandoned();
                }
            }
        }
    }

    /// Clears what belonged to the connection that just ended.
    fn forget_connection(&mut self) {
        for (_, p) in self.pending.drain() {
            if let Pending::App(tx) | Pending::Logout(tx) = p {
                let _ = tx.send(Err(ClientError::Transport("connection lost before the reply".into())));
            }
        }
        self.outbox.on_disconnect();
        lock(&self.shared.cursors).reset_gaps();
        self.sync_done = None;
        *lock(&self.shared.transport) = None;
    }

    /// Fails everything still waiting; the client is done.
    fn stop(&mut self, error: &ClientError) {
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            self.take_command_offline(cmd);
        }
        for (_, tx) in self.queued.drain(..) {
            let _ = tx.send(Err(error.clone()));
        }
        for (_, p) in self.pending.drain() {
            if let Pending::App(tx) | Pending::Logout(tx) = p {
                let _ = tx.send(Err(error.clone()));
            }
        }
        self.outbox.fail_all(error);
        *lock(&self.shared.transport) = None;
    }

    // ---------------------------------------------------------------- commands

    fn take_command_offline(&mut self, cmd: Command) {
        match cmd {
            Command::Request { request, reply } => self.queued.push_back((request, reply)),
            Command::Send { chat_id, client_msg_id, draft, reply } => {
                self.outbox.push(chat_id, client_msg_id, draft, reply);
            }
        }
    }

    fn on_command(&mut self, cmd: Command, out: &Out) {
        match cmd {
            Command::Request { request, reply } => self.send_request(request, reply, out),
            Command::Send { chat_id, client_msg_id, draft, reply } => {
                self.outbox.push(chat_id, client_msg_id, draft, reply);
                self.flush_outbox(out);
            }
        }
    }

    fn send_request(&mut self, request: Request, reply: ReplyTx, out: &Out) {
        let id = self.next_id();
        let frame = request.encode(id);
        if frame.len() > MAX_CLIENT_FRAME_BYTES {
            // Refused here: the writer would fail on it and take the connection down with it.
            let _ = reply.send(Err(ClientError::InvalidInput(format!(
                "request of {} bytes exceeds the {MAX_CLIENT_FRAME_BYTES}-byte frame limit",
                frame.len()
            ))));
            return;
        }
        let pending = if request == Request::Logout { Pending::Logout(reply) } else { Pending::App(reply) };
        self.pending.insert(id, pending);
        // If the writer is gone, the pump notices and fails the request with the connection.
        let _ = out.send(frame);
    }

    fn flush_outbox(&mut self, out: &Out) {
        let mut next = self.next_request_id;
        let frames = self.outbox.take_due(Instant::now(), || {
            next += 1;
            next - 1
        });
        self.next_request_id = next;
        for frame in frames {
            let _ = out.send(frame);
        }
    }

    /// Drops requests whose caller gave up (timed out), so their entries do not pile up.
    fn sweep_abandoned(&mut self) {
        self.pending.retain(|_, p| !matches!(p, Pending::App(tx) if tx.is_closed()));
        self.queued.retain(|(_, tx)| !tx.is_closed());
    }

    // ---------------------------------------------------------------- inbound frames

    fn on_frame(&mut self, frame: &[u8], out: &Out) -> Option<End> {
        match decode_frame(frame) {
            Err(e) => {
                tracing::warn!(error = %e, "dropping a frame that failed verification");
                None
            }
            Ok(Inbound::Close { code, reason }) => Some(match code {
                Some(c) if !c.retryable() => End::Fatal { code, reason },
                // Shutting down, overloaded, or a code we do not know: come back later.
                _ => End::Lost(ClientError::Rejected { code, reason }.to_string()),
            }),
            Ok(Inbound::Deliver(Ok(event))) => {
                let mut ready = Vec::new();
                let mut cursors = lock(&self.shared.cursors);
                if event.adds_member(self.user_id) {
                    // The event that adds this user is where the chat starts for them: the server
                    // pushes nothing from before it (PROTOCOL.md §6.9, history visibility), so the
                    // seqs below it are not a gap to fetch.
                    cursors.start_at(event.chat_id, event.seq - 1);
                }
                let fill = cursors.on_event(event, &mut ready);
                drop(cursors);
                self.hand_over(ready);
                if let Some(fill) = fill {
                    self.request_fill(fill, out);
                }
                None
            }
            Ok(Inbound::Deliver(Err(e))) => {
                // Skipped: its seq becomes a gap, which the next event's fill recovers.
                tracing::warn!(error = %e, "dropping a delivered event that failed verification");
                None
            }
            Ok(Inbound::Reply { request_id, result }) => self.on_reply(request_id, result, out),
            Ok(Inbound::Push(push)) => {
                if let ClientEvent::MembershipChanged { chat_id, member } = push {
                    // A channel subscription has no event in the log: this is how a chat the
                    // user left (or joined) on another device stays out of (or gets into) Sync.
                    lock(&self.shared.cursors).set_left(chat_id, !member);
                }
                self.emit(push);
                None
            }
        }
    }

    fn on_reply(&mut self, request_id: u64, result: Result<Reply>, out: &Out) -> Option<End> {
        if self.outbox.owns(request_id) {
            let ack = result.and_then(|r| match r {
                Reply::Ack(ack) => Ok(ack),
                other => Err(other.unexpected("SendAck")),
            });
            self.outbox.on_reply(request_id, ack, Instant::now());
            return None;
        }
        match self.pending.remove(&request_id) {
            None => tracing::debug!(request_id, "reply to a request nobody waits for"),
            Some(Pending::App(tx)) => {
                let _ = tx.send(result);
            }
            Some(Pending::Logout(tx)) => {
                let logged_out = result.is_ok();
                let _ = tx.send(result);
                if logged_out {
                    return Some(End::Fatal { code: Some(ErrorCode::Revoked), reason: "logged out".into() });
                }
            }
            Some(Pending::Keepalive) => {}
            Some(Pending::Sync) => match result {
                Ok(Reply::SyncDone { chats, events }) => {
                    self.sync_done = Some((chats, events));
                    self.maybe_finish_sync();
                }
                // Without a sync the connection delivers nothing; start over on a new one.
                Ok(other) => return Some(End::Lost(other.unexpected("SyncDone").to_string())),
                Err(e) => return Some(End::Lost(format!("sync failed: {e}"))),
            },
            Some(Pending::Fill { chat_id }) => {
                let mut ready = Vec::new();
                let next = {
                    let mut cursors = lock(&self.shared.cursors);
                    match result {
                        Ok(Reply::Page(page)) => cursors.on_fill(chat_id, page.events, &mut ready),
                        other => {
                            tracing::warn!(chat_id, reply = ?other.map(|_| ()), "gap fill failed");
                            cursors.on_fill_failed(chat_id, &mut ready)
                        }
                    }
                };
                self.hand_over(ready);
                if let Some(fill) = next {
                    self.request_fill(fill, out);
                }
                self.maybe_finish_sync();
            }
        }
        None
    }

    fn request_fill(&mut self, fill: Fill, out: &Out) {
        let id = self.next_id();
        self.pending.insert(id, Pending::Fill { chat_id: fill.chat_id });
        let _ = out.send(encode::history(id, fill.chat_id, fill.from_seq, fb::Direction::Forward, fill.limit));
    }

    /// Emits events now in order, noting when this user joins or leaves a chat (a chat the user
    /// left is not listed in the next Sync).
    fn hand_over(&mut self, ready: Vec<ChatEvent>) {
        for event in ready {
            if event.removes_member(self.user_id) {
                lock(&self.shared.cursors).set_left(event.chat_id, true);
            } else if event.adds_member(self.user_id) {
                lock(&self.shared.cursors).set_left(event.chat_id, false);
            }
            self.emit(ClientEvent::Event(event));
        }
    }

    fn maybe_finish_sync(&mut self) {
        if self.sync_done.is_some() && lock(&self.shared.cursors).fills_in_flight() == 0 {
            let (chats, events) = self.sync_done.take().expect("checked");
            // The connection has proved itself: the next break starts from the short delay.
            self.backoff.reset();
            self.emit(ClientEvent::SyncDone { chats, events });
        }
    }
}

type Out = mpsc::UnboundedSender<Bytes>;

/// Errors after which reconnecting cannot help: the token is refused, the versions do not
/// match, the device is revoked.
pub(crate) fn is_fatal(e: &ClientError) -> bool {
    match e {
        ClientError::Rejected { code: Some(code), .. } | ClientError::Server { code, .. } => !code.retryable(),
        ClientError::UnknownCode { .. } => !e.retryable(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_errors_are_the_permanent_ones() {
        let server = |code| ClientError::Server { code, message: String::new(), retry_after_ms: 0 };
        assert!(is_fatal(&server(ErrorCode::InvalidCredentials)));
        assert!(!is_fatal(&server(ErrorCode::Unavailable)));
        assert!(is_fatal(&ClientError::Rejected { code: Some(ErrorCode::ClientTooOld), reason: String::new() }));
        assert!(!is_fatal(&ClientError::Rejected { code: Some(ErrorCode::ShuttingDown), reason: String::new() }));
        assert!(!is_fatal(&ClientError::Rejected { code: None, reason: String::new() }));
        assert!(!is_fatal(&ClientError::Transport("reset".into())));
        assert!(!is_fatal(&ClientError::Timeout));
    }
}

/// The next QUIC datagram, or never (no datagrams negotiated, or the connection is gone: the
/// control stream reports that).
async fn next_datagram(q: &Option<quinn::Connection>) -> Bytes {
    match q {
        Some(q) => match q.read_datagram().await {
            Ok(d) => d,
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}
