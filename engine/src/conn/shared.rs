//! One connection as the rest of its shard sees it: who it is, its bounded outbound queue, its
//! per-chat delivery cursors, and how it closes. Nothing here knows the shard, so the shard's
//! registry of connections and the connection's own tasks can both use it.

use crate::crossing::ConnId;
use crate::ids::IdMap;
use bytes::Bytes;
use magpie_wire::ErrorCode;
use std::cell::{Cell, RefCell};
use tokio::sync::{mpsc, Notify};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No Sync yet: the connection receives no events.
    NotSynced,
    /// Sync is reading the chat list; live events only record how far each chat has got.
    Starting,
    /// Live events flow.
    Live,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Cursor {
    /// Highest seq queued to this connection.
    pub delivered: u64,
    /// Highest seq known to exist (from live events or the log at sync time).
    pub target: u64,
    /// A catch-up task owns this chat's delivery until `delivered == target`.
    pub catching_up: bool,
}

/// Outbound slots that pushes (live events, catch-up) leave free, so that replies to a client
/// that is reading find room even while a large catch-up fills its queue.
pub const REPLY_HEADROOM: usize = 64;

/// The state of one connection that the rest of the shard may touch.
pub struct ConnShared {
    pub id: ConnId,
    /// (user id, device id) once authenticated.
    pub(super) auth: Cell<Option<(u64, u64)>>,
    out: mpsc::Sender<Bytes>,
    closing: Cell<bool>,
    pub(super) close_reason: RefCell<Option<(ErrorCode, String)>>,
    close_signal: Notify,
    pub(super) phase: Cell<Phase>,
    pub(super) cursors: RefCell<IdMap<Cursor>>,
    /// The QUIC connection, once `DATAGRAMS` is negotiated: typing goes out as datagrams.
    pub(super) datagrams: RefCell<Option<quinn::Connection>>,
}

impl ConnShared {
    pub(super) fn new(id: ConnId, out: mpsc::Sender<Bytes>) -> ConnShared {
        ConnShared {
            id,
            auth: Cell::new(None),
            out,
            closing: Cell::new(false),
            close_reason: RefCell::new(None),
            close_signal: Notify::new(),
            phase: Cell::new(Phase::NotSynced),
            cursors: RefCell::new(IdMap::default()),
            datagrams: RefCell::new(None),
        }
    }

    /// A synced (live) connection of `user_id` with no transport behind it, whose outbound queue
    /// is `out`: for `bench_support` and the shard's tests.
    pub(crate) fn live_without_transport(id: ConnId, (user_id, device_id): (u64, u64), out: mpsc::Sender<Bytes>) -> ConnShared {
        let c = ConnShared::new(id, out);
        c.auth.set(Some((user_id, device_id)));
        c.phase.set(Phase::Live);
        c
    }

    pub fn user_id(&self) -> Option<u64> {
        self.auth.get().map(|a| a.0)
    }

    pub fn device_id(&self) -> Option<u64> {
        self.auth.get().map(|a| a.1)
    }

    pub fn is_closing(&self) -> bool {
        self.closing.get()
    }

    /// Queues a reply that must not be lost; if the queue is full the client is not reading, so
    /// the connection is closed (`overloaded`) and the client will retry after reconnecting.
    pub fn push_reply(&self, frame: Bytes) {
        match self.out.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.close(ErrorCode::Overloaded, "outbound queue full"),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues a reply, waiting for room (for replies produced by tasks that may wait).
    pub async fn send_reply(&self, frame: Bytes) -> bool {
        !self.closing.get() && self.out.send(frame).await.is_ok()
    }

    /// Queues a pushed event without waiting, if that leaves the reply headroom free.
    pub(super) fn try_push_event(&self, frame: &Bytes) -> bool {
        self.out.capacity() > REPLY_HEADROOM && self.out.try_send(frame.clone()).is_ok()
    }

    /// Queues an ephemeral signal if the connection is live and its queue is at most half full:
    /// signals never wait and never crowd out replies or logged events; a busy connection
    /// simply misses them (the next one supersedes it anyway).
    /// Typing indicators go as QUIC datagrams where the connection negotiated them (lost ones
    /// are refreshed within seconds anyway).
    pub fn offer_signal(&self, frame: &Bytes) -> bool {
        if let Some(q) = self.datagrams.borrow().as_ref() {
            if crate::metrics::body_of(frame) == Some(magpie_wire::fb::Body::TypingChanged) {
                return self.phase.get() == Phase::Live && !self.closing.get() && q.send_datagram(frame.clone()).is_ok();
            }
        }
        self.phase.get() == Phase::Live
            && !self.closing.get()
            && self.out.capacity() > self.out.max_capacity() / 2
            && self.out.try_send(frame.clone()).is_ok()
    }

    /// Queues a pushed event, waiting until it fits without using the reply headroom.
    pub(super) async fn push_event(&self, frame: Bytes) -> bool {
        if self.closing.get() {
            return false;
        }
        match self.out.reserve_many(REPLY_HEADROOM + 1).await {
            Ok(mut permits) => {
                permits.next().expect("reserved").send(frame);
                true
            }
            Err(_) => false,
        }
    }

    /// Closes the connection: queued frames are flushed (briefly), then `Close{code, reason}`.
    pub fn close(&self, code: ErrorCode, reason: &str) {
        if self.closing.replace(true) {
            return;
        }
        *self.close_reason.borrow_mut() = Some((code, reason.to_string()));
        self.close_signal.notify_waiters();
    }

    /// Closes without a `Close` frame (the peer went away or the session ended normally).
    pub(super) fn close_quietly(&self) {
        if !self.closing.replace(true) {
            self.close_signal.notify_waiters();
        }
    }

    pub(super) async fn closed(&self) {
        loop {
            let notified = self.close_signal.notified();
            if self.closing.get() {
                return;
            }
            notified.await;
        }
    }
}

