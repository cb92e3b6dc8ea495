//! The only way shards talk: a bounded lock-free queue per shard plus a wake-up.
//!
//! Any thread may push (other shards, the commit thread, blocking workers); only the owning
//! shard pops. Pushing never blocks the pusher's shard: a full queue hands the message back
//! (shards keep an ordered backlog, see `Shard::send_to`).

use crate::crossing::ShardMsg;
use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

pub struct Mailbox {
    queue: ArrayQueue<ShardMsg>,
    waker: AtomicWaker,
}

impl Mailbox {
    pub fn new(capacity: usize) -> Mailbox {
        Mailbox { queue: ArrayQueue::new(capacity), waker: AtomicWaker::new() }
    }

    /// Pushes without waiting; gives the message back if the queue is full.
    pub fn try_push(&self, msg: ShardMsg) -> Result<(), ShardMsg> {
        self.queue.push(msg)?;
        self.waker.wake();
        Ok(())
    }

    /// Pushes from a plain thread (commit callbacks, blocking workers), spinning politely while
    /// the queue is full. Such messages (commit results) must never be dropped.
    pub fn push_blocking(&self, mut msg: ShardMsg) {
        let mut spins = 0u32;
        loop {
            match self.try_push(msg) {
                Ok(()) => return,
                Err(back) => {
                    msg = back;
                    spins += 1;
                    if spins < 64 {
                        std::thread::yield_now();
                    } else {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                }
            }
        }
    }

    /// Waits for the next message (owning shard only).
    pub async fn recv(&self) -> ShardMsg {
        poll_fn(|cx| {
            if let Some(m) = self.queue.pop() {
                return Poll::Ready(m);
            }
            self.waker.register(cx.waker());
            // Re-check: a push between the pop and the registration would otherwise be missed.
            match self.queue.pop() {
                Some(m) => Poll::Ready(m),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Messages waiting (for metrics; any thread).
    pub fn depth(&self) -> usize {
        self.queue.len()
    }

    /// Pops without waiting (to drain a burst in one go).
    pub fn try_recv(&self) -> Option<ShardMsg> {
        self.queue.pop()
    }
}
