//! A shard: one thread, one single-threaded executor, the connections it accepted and the chats
//! that hash to it. Nothing here is shared with other shards; they exchange
//! [`ShardMsg`]s through their mailboxes. This file is the shard's routing — replies, deliveries
//! and signals to its own connections, messages to other shards — and its registry of
//! connections; `worker.rs` is its mailbox loop and runs its chat core.

use crate::chat::ChatCore;
use crate::conn::shared::ConnShared;
use crate::crossing::{Audience, ConnId, Delivery, ReplyTo, ShardMsg, Signal};
use crate::ids::IdMap;
use crate::mailbox::Mailbox;
use crate::metrics::{self, ShardMetrics};
use crate::shared::Shared;
use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

/// A shard that gets a delivery from another copies the frame for its own connections when the
/// event has more recipients than this (see `Shard::deliver_local`).
const OWN_COPY_MIN_RECIPIENTS: usize = 8;

pub struct Shard {
    pub id: usize,
    pub shared: Arc<Shared>,
    pub conns: RefCell<IdMap<Rc<ConnShared>>>,
    /// Local connections that receive live events, by user.
    pub by_user: RefCell<IdMap<Vec<Rc<ConnShared>>>>,
    /// The chats this shard owns.
    pub core: RefCell<ChatCore>,
    next_conn: Cell<ConnId>,
    /// Connections still running (including their goodbye), for a graceful shutdown.
    pub running_conns: Cell<usize>,
    /// Messages waiting for room in another shard's full mailbox, per destination, in order.
    backlog: RefCell<Vec<VecDeque<ShardMsg>>>,
    /// Requests this shard made of chat owners itself (a broadcast's sends), by the connection
    /// id their replies are addressed to: the answer goes to the waiting task instead.
    internal: RefCell<IdMap<tokio::sync::oneshot::Sender<Bytes>>>,
    /// Presence: this shard's home users and its connections' watches (`presence.rs`).
    pub presence: RefCell<crate::presence::Presence>,
}

impl Shard {
    pub fn new(id: usize, shared: Arc<Shared>) -> Rc<Shard> {
        let shared_len = shared.mailboxes.len();
        Rc::new(Shard {
            id,
            shared,
            conns: RefCell::new(IdMap::default()),
            by_user: RefCell::new(IdMap::default()),
            core: RefCell::new(ChatCore::new(id)),
            next_conn: Cell::new(1),
            running_conns: Cell::new(0),
            backlog: RefCell::new((0..shared_len).map(|_| VecDeque::new()).collect()),
            internal: RefCell::new(IdMap::default()),
            presence: RefCell::new(crate::presence::Presence::new(shared_len)),
        })
    }

    pub fn mailbox(&self) -> &Mailbox {
        &self.shared.mailboxes[self.id]
    }

    /// This shard's metrics (only this shard writes them).
    pub fn metrics(&self) -> &ShardMetrics {
        &self.shared.metrics[self.id]
    }

    pub fn shards(&self) -> usize {
        self.shared.mailboxes.len()
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

    pub fn deliver_reply(&self, conn: ConnId, frame: Bytes) {
        let found = self.conns.borrow().get(&conn).cloned();
        match found {
            Some(c) => c.push_reply(frame),
            None => {
                if let Some(waiter) = self.internal.borrow_mut().remove(&conn) {
                    let _ = waiter.send(frame);
                }
            }
        }
    }

    /// A connection id for a request this shard makes itself, and where its answer arrives.
    pub fn internal_request(&self) -> (ConnId, tokio::sync::oneshot::Receiver<Bytes>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let id = self.next_conn_id();
        self.internal.borrow_mut().insert(id, tx);
        (id, rx)
    }

    /// Hands a committed event to every shard: one hop per shard, not per recipient.
    pub fn fan_out(self: &Rc<Self>, delivery: Delivery) {
        let delivery = Arc::new(delivery);
        for to in 0..self.shards() {
            if to == self.id {
                self.deliver_local(&delivery, false);
            } else {
                self.send_to(to, ShardMsg::Deliver(delivery.clone()));
            }
        }
    }

    /// Hands an ephemeral signal to every shard: one hop per shard, like a delivery.
    pub fn broadcast_signal(self: &Rc<Self>, signal: Signal) {
        let signal = Arc::new(signal);
        for to in 0..self.shards() {
            if to == self.id {
                self.signal_local(&signal);
            } else {
                self.send_to(to, ShardMsg::Signal(signal.clone()));
            }
        }
    }

    /// The local connections of `audience`, each once. Walks whichever is smaller, the
    /// audience or this shard's connected users, so a big chat costs a shard with few of its
    /// members little.
    fn for_each_local(&self, audience: &Audience, mut f: impl FnMut(&Rc<ConnShared>)) {
        let by_user = self.by_user.borrow();
        if by_user.is_empty() {
            return;
        }
        let mut visit = |conns: &Vec<Rc<ConnShared>>| {
            for c in conns.iter().filter(|c| audience.includes_device(c.device_id())) {
                f(c);
            }
        };
        if by_user.len() < audience.len() {
            for (&user, conns) in by_user.iter() {
                if audience.contains(user) {
                    visit(conns);
                }
            }
        } else {
            audience.for_each_user(|user| {
                if let Some(conns) = by_user.get(&user) {
                    visit(conns);
                }
            });
        }
    }

    pub fn deliver_local(self: &Rc<Self>, d: &Delivery, from_other_shard: bool) {
        // Every queued copy is a clone of the frame: an atomic increment, and a decrement once
        // written. On one shared frame, the owner shard and this one would contend for that
        // counter's cache line for every recipient; a copy of our own keeps them on this core.
        let own;
        let frame = if from_other_shard && d.audience.len() > OWN_COPY_MIN_RECIPIENTS {
            own = Bytes::copy_from_slice(&d.frame);
            &own
        } else {
            &d.frame
        };
        let mut queued = false;
        self.for_each_local(&d.audience, |c| queued |= c.offer(&self.shared, self.id, d.chat_id, d.seq, frame));
        // Once per delivery and shard: by now every live local recipient has the frame queued.
        if let (true, Some(received)) = (queued, d.received) {
            self.metrics().send_deliver.observe(received.elapsed());
        }
    }

    /// Queues a signal to every live local connection of its audience that has room for it.
    pub fn signal_local(&self, s: &Signal) {
        self.for_each_local(&s.audience, |c| {
            if c.offer_signal(&s.frame) {
                metrics::inc(&self.metrics().signals_sent);
            } else {
                metrics::inc(&self.metrics().signals_dropped);
            }
        });
    }

    /// Closes every local connection of a device (revoked or logged out).
    pub fn revoke_device(&self, device_id: u64) {
        let victims: Vec<_> = self.conns.borrow().values().filter(|c| c.device_id() == Some(device_id)).cloned().collect();
        for c in victims {
            c.close(magpie_wire::ErrorCode::Revoked, "device revoked");
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use magpie_wire::encode;
    use tokio::sync::mpsc;

    /// Shard 0 of `shards`, with a real store in `dir`.
    fn shard(dir: &std::path::Path, shards: usize) -> Rc<Shard> {
        let config = Config { shards, ..Config::ephemeral(dir) };
        let identity = crate::tls::load_or_create(&dir.join("tls")).unwrap();
        let store = magpie_storage::Store::open(&dir.join("db"), magpie_storage::StoreOptions::default()).unwrap();
        Shard::new(0, Arc::new(Shared::new(&config, &identity, store, shards, 1).unwrap()))
    }

    /// A live (synced) connection of (user, device) whose outbound queue holds `capacity`.
    fn live(shard: &Rc<Shard>, who: (u64, u64), capacity: usize) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(capacity);
        let conn = Rc::new(ConnShared::live_without_transport(shard.next_conn_id(), who, tx));
        shard.conns.borrow_mut().insert(conn.id, conn.clone());
        shard.register_live(&conn, who.0);
        rx
    }

    fn queued(rx: &mut mpsc::Receiver<Bytes>) -> usize {
        std::iter::from_fn(|| rx.try_recv().ok()).count()
    }

    fn signal(audience: Audience) -> Signal {
        Signal { audience, frame: encode::pong(0, 7, 0) }
    }

    #[test]
    fn signals_reach_the_live_connections_of_their_audience_and_never_wait() {
        let dir = tempfile::tempdir().unwrap();
        let s = shard(dir.path(), 1);
        let (mut phone, mut laptop, mut other) = (live(&s, (1, 11), 8), live(&s, (1, 12), 8), live(&s, (2, 21), 8));
        s.signal_local(&signal(Audience::Users(Arc::from(vec![1]))));
        assert_eq!((queued(&mut phone), queued(&mut laptop), queued(&mut other)), (1, 1, 0));
        s.signal_local(&signal(Audience::Device { user_id: 1, device_id: 12 }));
        assert_eq!((queued(&mut phone), queued(&mut laptop), queued(&mut other)), (0, 1, 0));
        // A connection whose queue is half full misses signals instead of queueing them.
        for _ in 0..4 {
            s.signal_local(&signal(Audience::Users(Arc::from(vec![1]))));
        }
        assert_eq!(queued(&mut phone), 4, "up to half of the queue");
        let dropped = s.metrics().signals_dropped.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(dropped, 0);
        for _ in 0..6 {
            s.signal_local(&signal(Audience::Users(Arc::from(vec![1]))));
        }
        assert_eq!(queued(&mut phone), 4, "the rest were dropped, not queued");
        assert!(s.metrics().signals_dropped.load(std::sync::atomic::Ordering::Relaxed) >= 2);
        drop(laptop);
    }

    #[test]
    fn a_signal_goes_to_other_shards_once_each_and_a_delivery_can_target_one_device() {
        let dir = tempfile::tempdir().unwrap();
        let s = shard(dir.path(), 3);
        // Room beyond the reply headroom, so the delivery is queued live.
        let mut laptop = live(&s, (1, 12), 256);
        let mut phone = live(&s, (1, 11), 256);
        s.broadcast_signal(signal(Audience::Users(Arc::from(vec![1]))));
        for other in 1..3 {
            let msg = s.shared.mailboxes[other].try_recv();
            assert!(matches!(msg, Some(ShardMsg::Signal(_))), "one hop to shard {other}");
            assert!(s.shared.mailboxes[other].try_recv().is_none());
        }
        assert_eq!((queued(&mut phone), queued(&mut laptop)), (1, 1));
        let audience = Audience::Device { user_id: 1, device_id: 12 };
        let d = Delivery { chat_id: 5, seq: 1, audience, frame: encode::pong(0, 1, 0), received: None };
        s.deliver_local(&d, false);
        assert_eq!((queued(&mut phone), queued(&mut laptop)), (0, 1));
    }
}
