//! Retried sends, remembered per chat: a send is applied at most once per
//! (device, client message id), and a retry gets the original ack.
//!
//! The window here is the chat's recent sends in memory; older ones are in the `dedup` column
//! family, which the sender's shard checks before forwarding a send (so a retry of a send acked
//! before this process started is answered there).

use crate::crossing::ReplyTo;
use std::collections::{HashMap, VecDeque};

/// Acked sends remembered in memory per chat.
pub const IN_MEMORY: usize = 4096;

pub type Key = (u64, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    pub message_id: u64,
    pub seq: u64,
    pub time_ms: i64,
}

enum Entry {
    /// Appended, not yet durable: these requests wait for the ack.
    Waiting(Vec<ReplyTo>),
    Done(Acked),
}

/// What to do with a send.
pub enum Seen {
    New,
    /// Already durable: answer with the original ack.
    Acked(Acked),
    /// In flight: the reply was added to the waiters.
    Joined,
}

#[derive(Default)]
pub struct Window {
    entries: HashMap<Key, Entry>,
    order: VecDeque<Key>,
}

impl Window {
    /// Looks a send up; a send in flight adopts `reply` as another waiter.
    pub fn check(&mut self, key: &Key, reply: ReplyTo) -> Seen {
        match self.entries.get_mut(key) {
            None => Seen::New,
            Some(Entry::Done(a)) => Seen::Acked(*a),
            Some(Entry::Waiting(w)) => {
                w.push(reply);
                Seen::Joined
            }
        }
    }

    /// A send was appended; `reply` waits for its ack.
    pub fn pending(&mut self, key: Key, reply: ReplyTo) {
        self.entries.insert(key, Entry::Waiting(vec![reply]));
    }

    /// The send is durable: remember its ack, return everyone waiting for it.
    pub fn done(&mut self, key: Key, acked: Acked) -> Vec<ReplyTo> {
        let waiting = match self.entries.insert(key.clone(), Entry::Done(acked)) {
            Some(Entry::Waiting(w)) => w,
            _ => Vec::new(),
        };
        self.order.push_back(key);
        while self.order.len() > IN_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
        waiting
    }

    /// The send failed: forget it (a retry may try again), return everyone waiting for it.
    pub fn failed(&mut self, key: &Key) -> Vec<ReplyTo> {
        match self.entries.remove(key) {
            Some(Entry::Waiting(w)) => w,
            _ => Vec::new(),
        }
    }
}
