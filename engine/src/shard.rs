//! A shard: one thread, one single-threaded executor, the connections it accepted and the chats
//! that hash to it. Nothing here is shared with other shards; they exchange [`ShardMsg`]s through
//! their [`Mailbox`]es.

use crate::conn::ConnShared;
use crate::ids::{IdMap, MessageIds};
use crate::mailbox::Mailbox;
use crate::metrics::{self, ShardMetrics};
use crate::owner::{Owner, OwnerCmd};
use crate::Shared;
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type ConnId = u64;

/// A shard that gets a delivery from another copies the frame for its own connections when the
/// event has more recipients than this (see `Shard::deliver_local`).
const OWN_COPY_MIN_RECIPIENTS: usize = 8;

/// Where a reply goes: a request on a connection of some shard.
#[derive(Debug, Clone, Copy)]
pub struct ReplyTo {
    pub shard: usize,
    pub conn: ConnId,
    pub request_id: u64,
}

/// A committed event on its way to every shard. Encoded once; each shard writes the same bytes
/// to each of its connections that should see it.
pub struct Delivery {
    pub chat_id: u64,
    pub seq: u64,
    /// Users who receive the event (the chat's members when it was appended).
    pub recipients: Arc<[u64]>,
    /// The `Deliver` frame.
    pub frame: Bytes,
    /// For messages: when the owner shard received the Send (for `magpie_send_deliver_seconds`).
    pub received: Option<Instant>,
}

pub enum ShardMsg {
    /// A command for the chat (or user pair) this shard owns.
    Owner(OwnerCmd),
    /// A committed event to hand to local connections.
    Deliver(Arc<Delivery>),
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

pub struct Shard {
    pub id: usize,
    pub shared: Arc<Shared>,
    pub conns: RefCell<IdMap<Rc<ConnShared>>>,
    /// Local connections that receive live events, by user.
    pub by_user: RefCell<IdMap<Vec<Rc<ConnShared>>>>,
    pub owner: RefCell<Owner>,
    pub message_ids: MessageIds,
    next_conn: std::cell::Cell<ConnId>,
    /// Connections still running (including their goodbye), for a graceful shutdown.
    pub running_conns: std::cell::Cell<usize>,
    /// Messages waiting for room in another shard's full mailbox, per destination, in order.
    backlog: RefCell<Vec<VecDeque<ShardMsg>>>,
}

impl Shard {
    pub fn new(id: usize, shared: Arc<Shared>) -> Rc<Shard> {
        let shared_len = shared.mailboxes.len();
        Rc::new(Shard {
            id,
            shared,
            conns: RefCell::new(IdMap::default()),
            by_user: RefCell::new(IdMap::default()),
            owner: RefCell::new(Owner::default()),
            message_ids: MessageIds::new(id),
            next_conn: std::cell::Cell::new(1),
            running_conns: std::cell::Cell::new(0),
            backlog: RefCell::new((0..shared_len).map(|_| VecDeque::new()).collect()),
        })
    }

    pub fn mailbox(&self) -> &Mailbox {
        &self.shared.mailboxes[self.id]
    }

    /// This shard's metrics (only this shard writes them).
    pub fn metrics(&self) -> &ShardMetrics {
        &self.shared.metrics[self.id]
    }

    pub fn next_conn_id(&self) -> ConnId {
        let id = self.next_conn.get();
        self.next_conn.set(id + 1);
        id
    }

    /// Sends a message to shard `to` (which may be this one) without blocking this thread.
    /// Messages to one destination arrive in the order they were sent, even when its mailbox is
    /// full: they wait in a local backlog that one task drains in order.
    pub fn send_to(self: &Rc<Self>, to: usize, msg: ShardMsg) {
        let mut backlog = self.backlog.borrow_mut();
        if !backlog[to].is_empty() {
            backlog[to].push_back(msg);
            metrics::inc(&self.metrics().backlog);
            return;
        }
        if let Err(msg) = self.shared.mailboxes[to].try_push(msg) {
            backlog[to].push_back(msg);
            metrics::inc(&self.metrics().backlog);
            drop(backlog);
            let shard = self.clone();
            tokio::task::spawn_local(async move { shard.drain_backlog(to).await });
        }
    }

    async fn drain_backlog(self: Rc<Self>, to: usize) {
        loop {
            let Some(msg) = self.backlog.borrow_mut()[to].pop_front() else { return };
            match self.shared.mailboxes[to].try_push(msg) {
                Ok(()) => metrics::dec(&self.metrics().backlog),
                Err(msg) => {
                    self.backlog.borrow_mut()[to].push_front(msg);
                    tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                }
            }
        }
    }

    /// Routes a reply to the connection that asked.
    pub fn reply(self: &Rc<Self>, to: ReplyTo, frame: Bytes) {
        if to.shard == self.id {
            self.deliver_reply(to.conn, frame);
        } else {
            self.send_to(to.shard, ShardMsg::Reply { conn: to.conn, frame });
        }
    }

    fn deliver_reply(&self, conn: ConnId, frame: Bytes) {
        let conn = self.conns.borrow().get(&conn).cloned();
        if let Some(conn) = conn {
            conn.push_reply(frame);
        }
    }

    /// Hands a committed event to every shard: one hop per shard, not per recipient.
    pub fn fan_out(self: &Rc<Self>, delivery: Delivery) {
        let delivery = Arc::new(delivery);
        for to in 0..self.shared.mailboxes.len() {
            if to == self.id {
                self.deliver_local(&delivery, false);
            } else {
                self.send_to(to, ShardMsg::Deliver(delivery.clone()));
            }
        }
    }

    fn deliver_local(self: &Rc<Self>, d: &Delivery, from_other_shard: bool) {
        let by_user = self.by_user.borrow();
        if by_user.is_empty() {
            return;
        }
        // Every queued copy is a clone of the frame: an atomic increment, and a decrement once
        // written. On one shared frame, the owner shard and this one would contend for that
        // counter's cache line for every recipient; a copy of our own keeps them on this core.
        let own;
        let frame = if from_other_shard && d.recipients.len() > OWN_COPY_MIN_RECIPIENTS {
            own = Bytes::copy_from_slice(&d.frame);
            &own
        } else {
            &d.frame
        };
        let mut queued = false;
        for user in d.recipients.iter() {
            if let Some(conns) = by_user.get(user) {
                for c in conns {
                    queued |= c.offer(self, d.chat_id, d.seq, frame);
                }
            }
        }
        // Once per delivery and shard: by now every live local recipient has the frame queued.
        if let (true, Some(received)) = (queued, d.received) {
            self.metrics().send_deliver.observe(received.elapsed());
        }
    }

    /// The shard's main loop: drain the mailbox until told to stop.
    pub async fn run_mailbox(self: Rc<Self>) {
        loop {
            let msg = self.mailbox().recv().await;
            if !self.handle(msg) {
                return;
            }
            // Drain a burst without going back through the waker.
            for _ in 0..256 {
                match self.mailbox().try_recv() {
                    Some(m) => {
                        if !self.handle(m) {
                            return;
                        }
                    }
                    None => break,
                }
            }
        }
    }

    /// Handles one message; false means stop.
    fn handle(self: &Rc<Self>, msg: ShardMsg) -> bool {
        match msg {
            ShardMsg::Shutdown => return false,
            ShardMsg::Owner(cmd) => crate::owner::handle(self, cmd),
            ShardMsg::Deliver(d) => self.deliver_local(&d, true),
            ShardMsg::Reply { conn, frame } => self.deliver_reply(conn, frame),
            ShardMsg::Committed { chat_id, result, elapsed } => crate::owner::committed(self, chat_id, result, elapsed),
            ShardMsg::RevokeDevice { device_id } => {
                let victims: Vec<_> =
                    self.conns.borrow().values().filter(|c| c.device_id() == Some(device_id)).cloned().collect();
                for c in victims {
                    c.close(magpie_wire::ErrorCode::Revoked, "device revoked");
                }
            }
        }
        true
    }

    pub fn register_live(&self, conn: &Rc<ConnShared>, user_id: u64) {
        self.by_user.borrow_mut().entry(user_id).or_default().push(conn.clone());
    }

    pub fn unregister(&self, conn: &ConnShared) {
        self.conns.borrow_mut().remove(&conn.id);
        if let Some(user) = conn.user_id() {
            let mut by_user = self.by_user.borrow_mut();
            if let Some(list) = by_user.get_mut(&user) {
                list.retain(|c| c.id != conn.id);
                if list.is_empty() {
                    by_user.remove(&user);
                }
            }
        }
    }
}
