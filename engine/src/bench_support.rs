//! **Benchmarks only — not a stable API.** Thin handles on engine internals for the criterion
//! benchmarks in `engine/benches/` (numbers in docs/BENCHMARKS.md), so they measure the engine's
//! own code paths rather than copies of them. Hidden from the docs; nothing else may use it.

use crate::crossing::{Audience, Delivery, ShardMsg};
use crate::shard::Shard;
use crate::shared::Shared;
use crate::config::Config;
use crate::mailbox;
use bytes::Bytes;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A shard mailbox (the engine's own type) carrying `Reply` messages; the tag travels as the
/// connection id.
pub struct Mailbox(mailbox::Mailbox);

impl Mailbox {
    pub fn new(capacity: usize) -> Mailbox {
        Mailbox(mailbox::Mailbox::new(capacity))
    }

    /// `Mailbox::try_push` of a `ShardMsg::Reply`; false if the queue was full.
    pub fn try_push(&self, tag: u64, frame: Bytes) -> bool {
        self.0.try_push(ShardMsg::Reply { conn: tag, frame }).is_ok()
    }

    /// `Mailbox::recv`: waits (through the waker) for the next message; returns its tag.
    pub async fn recv(&self) -> u64 {
        tag(self.0.recv().await)
    }

    /// `Mailbox::try_recv`, as the shard loop drains a burst.
    pub fn try_recv(&self) -> Option<u64> {
        self.0.try_recv().map(tag)
    }
}

fn tag(m: ShardMsg) -> u64 {
    match m {
        ShardMsg::Reply { conn, .. } => conn,
        _ => unreachable!("bench mailboxes carry replies only"),
    }
}

/// One shard (the engine's `Shard`, with a real store in `data_dir`) with `n` live local
/// connections, each of its own user, all members of one chat. Must be created and used inside
/// a tokio `LocalSet`.
pub struct FanOut {
    shard: Rc<Shard>,
    recipients: Arc<[u64]>,
    seq: u64,
    receivers: Vec<mpsc::Receiver<Bytes>>,
}

/// The chat the fan-out harness delivers to.
pub const CHAT_ID: u64 = 1;

impl FanOut {
    pub fn new(data_dir: &Path, n: usize) -> std::io::Result<FanOut> {
        let config = Config { shards: 1, ..Config::ephemeral(data_dir) };
        let identity = crate::tls::load_or_create(&data_dir.join("tls"))?;
        let store = magpie_storage::Store::open(&data_dir.join("db"), magpie_storage::StoreOptions::default())
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(&config, &identity, store, 1, 1)?);
        let shard = Shard::new(0, shared);
        let mut receivers = Vec::with_capacity(n);
        for user in 1..=n as u64 {
            let (tx, rx) = mpsc::channel(config.outbound_queue);
            let conn = Rc::new(crate::conn::shared::ConnShared::live_without_transport(shard.next_conn_id(), (user, user), tx));
            shard.conns.borrow_mut().insert(conn.id, conn.clone());
            shard.register_live(&conn, user);
            receivers.push(rx);
        }
        let recipients: Arc<[u64]> = (1..=n as u64).collect();
        Ok(FanOut { shard, recipients, seq: 0, receivers })
    }

    /// Hands the next event of the chat (`frame`, an encoded `Deliver`) to the shard exactly as
    /// the owner does after a commit (`Shard::fan_out`): every connection's queue gets a clone.
    pub fn deliver(&mut self, frame: &Bytes) {
        self.seq += 1;
        let audience = Audience::Users(self.recipients.clone());
        let d = Delivery { chat_id: CHAT_ID, seq: self.seq, audience, frame: frame.clone(), received: None };
        self.shard.fan_out(d);
    }

    /// Empties every connection's queue without a writer task; returns the frames taken.
    pub fn drain(&mut self) -> usize {
        let mut n = 0;
        for rx in &mut self.receivers {
            while rx.try_recv().is_ok() {
                n += 1;
            }
        }
        n
    }

    /// The connections' queues, for a benchmark that drains them with tasks of its own (as the
    /// engine's writer tasks do). `drain` finds nothing afterwards.
    pub fn take_receivers(&mut self) -> Vec<mpsc::Receiver<Bytes>> {
        std::mem::take(&mut self.receivers)
    }

    /// Live deliveries queued so far (the engine's `magpie_deliveries_total{path="live"}`).
    pub fn live_deliveries(&self) -> u64 {
        self.shard.metrics().deliveries_live.load(std::sync::atomic::Ordering::Relaxed)
    }
}
