//! The outbox: messages sent but not yet acknowledged. Each keeps its client message id for
//! life, so resending after a reconnect or a retryable error can never post it twice (the
//! server answers a repeated id with the original ack).

use crate::draft::Draft;
use crate::backoff::ReconnectPolicy;
use crate::error::{ClientError, Result};
use crate::replies::SendAck;
use bytes::Bytes;
use magpie_wire::encode;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub(crate) type AckWaiter = oneshot::Sender<Result<SendAck>>;

#[derive(Debug)]
struct Entry {
    chat_id: u64,
    client_msg_id: String,
    draft: Draft,
    /// Retryable errors so far, for the delay when the server names none.
    failures: u32,
    waiters: Vec<AckWaiter>,
}

/// Every entry is in exactly one of `ready`, `waiting` or `in_flight`; keeping them apart makes
/// each send, ack and retry cost O(log n) even with thousands of messages pipelined.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// By submission order, so (re)sends go out in the order the app sent.
    entries: BTreeMap<u64, Entry>,
    by_msg_id: HashMap<String, u64>,
    /// To be sent on the current (or next) connection.
    ready: BTreeSet<u64>,
    /// Paused at the server's request (rate limited, unavailable) until the instant.
    waiting: BTreeSet<(Instant, u64)>,
    /// Request id → entry, for sends on the current connection.
    in_flight: HashMap<u64, u64>,
    next_order: u64,
    retry: ReconnectPolicy,
    /// Mirror of `entries.len()` for the app, updated before any waiter is told, so a caller
    /// woken by its ack already sees it gone.
    count: Arc<AtomicUsize>,
}

impl Outbox {
    pub(crate) fn new(retry: ReconnectPolicy, count: Arc<AtomicUsize>) -> Self {
        Outbox {
            entries: BTreeMap::new(),
            by_msg_id: HashMap::new(),
            ready: BTreeSet::new(),
            waiting: BTreeSet::new(),
            in_flight: HashMap::new(),
            next_order: 0,
            retry,
            count,
        }
    }

    fn publish_count(&self) {
        self.count.store(self.entries.len(), Ordering::Relaxed);
    }

    /// Messages not yet acknowledged.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Queues a message. Queuing an id that is already pending joins it (both callers get the
    /// one ack) if it is the same message, and is refused if it is not.
    pub(crate) fn push(&mut self, chat_id: u64, client_msg_id: String, draft: Draft, waiter: AckWaiter) {
        if let Some(order) = self.by_msg_id.get(&client_msg_id) {
            let entry = self.entries.get_mut(order).expect("index and entries agree");
            if entry.chat_id == chat_id && entry.draft == draft {
                entry.waiters.push(waiter);
            } else {
                let _ = waiter.send(Err(ClientError::InvalidInput(format!(
                    "client_msg_id {client_msg_id:?} is pending for a different message"
                ))));
            }
            return;
        }
        let order = self.next_order;
        self.next_order += 1;
        self.by_msg_id.insert(client_msg_id.clone(), order);
        self.entries.insert(order, Entry { chat_id, client_msg_id, draft, failures: 0, waiters: vec![waiter] });
        self.ready.insert(order);
        self.publish_count();
    }

    /// Marks every message that is due as in flight and returns its `SendMessage` frames, each
    /// with a request id from `next_request_id`.
    pub(crate) fn take_due(&mut self, now: Instant, mut next_request_id: impl FnMut() -> u64) -> Vec<Bytes> {
        while let Some(&(at, order)) = self.waiting.first() {
            if at > now {
                break;
            }
            self.waiting.pop_first();
            self.ready.insert(order);
        }
        let mut frames = Vec::with_capacity(self.ready.len());
        for order in std::mem::take(&mut self.ready) {
            let e = &self.entries[&order];
            let request_id = next_request_id();
            self.in_flight.insert(request_id, order);
            frames.push(encode::send(request_id, &e.draft.outgoing(e.chat_id, &e.client_msg_id)));
        }
        frames
    }

    /// Whether `request_id` is one of the outbox's sends.
    pub(crate) fn owns(&self, request_id: u64) -> bool {
        self.in_flight.contains_key(&request_id)
    }

    /// Takes the reply to a send: an ack or a non-retryable error completes the message; a
    /// retryable error schedules it again.
    pub(crate) fn on_reply(&mut self, request_id: u64, result: Result<SendAck>, now: Instant) {
        let Some(order) = self.in_flight.remove(&request_id) else { return };
        match result {
            Err(e) if e.retryable() => {
                let entry = self.entries.get_mut(&order).expect("in flight entries exist");
                let delay = e.retry_after().unwrap_or_else(|| self.retry.base_delay(entry.failures));
                entry.failures = entry.failures.saturating_add(1);
                self.waiting.insert((now + delay.max(Duration::from_millis(1)), order));
                tracing::debug!(client_msg_id = %entry.client_msg_id, error = %e, ?delay, "send will be retried");
            }
            result => {
                let entry = self.entries.remove(&order).expect("in flight entries exist");
                self.by_msg_id.remove(&entry.client_msg_id);
                self.publish_count();
                for w in entry.waiters {
                    let _ = w.send(result.clone());
                }
            }
        }
    }

    /// The connection is gone: what was in flight goes again on the next one.
    pub(crate) fn on_disconnect(&mut self) {
        self.ready.extend(self.in_flight.drain().map(|(_, order)| order));
    }

    /// When the earliest paused message becomes due.
    pub(crate) fn next_retry_at(&self) -> Option<Instant> {
        self.waiting.first().map(|&(at, _)| at)
    }

    /// Completes every message with `error` (the client is stopping).
    pub(crate) fn fail_all(&mut self, error: &ClientError) {
        let entries = std::mem::take(&mut self.entries);
        self.by_msg_id.clear();
        self.ready.clear();
        self.waiting.clear();
        self.in_flight.clear();
        self.publish_count();
        for (_, e) in entries {
            for w in e.waiters {
                let _ = w.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magpie_wire::{verify, ErrorCode};

    fn ids() -> impl FnMut() -> u64 {
        let mut n = 10;
        move || {
            n += 1;
            n
        }
    }

    fn sent(frames: &[Bytes]) -> Vec<(u64, String)> {
        frames
            .iter()
            .map(|f| {
                let fr = verify::client_frame(f).unwrap();
                (fr.request_id(), fr.body_as_send_message().unwrap().client_msg_id().unwrap().to_owned())
            })
            .collect()
    }

    fn ack(id: &str) -> SendAck {
        SendAck { chat_id: 1, client_msg_id: id.into(), message_id: 5, seq: 1, time_ms: 0 }
    }

    #[test]
    fn sends_in_order_and_completes_on_ack() {
        let mut o = Outbox::new(ReconnectPolicy::default(), Arc::default());
        let (tx_a, mut rx_a) = oneshot::channel();
        let (tx_b, _rx_b) = oneshot::channel();
        o.push(1, "a".into(), "hello".into(), tx_a);
        o.push(1, "b".into(), "world".into(), tx_b);
        let now = Instant::now();
        let mut next = ids();
        assert_eq!(sent(&o.take_due(now, &mut next)), [(11, "a".into()), (12, "b".into())]);
        assert!(o.take_due(now, &mut next).is_empty(), "in flight is not sent twice");
        assert!(o.owns(11));
        o.on_reply(11, Ok(ack("a")), now);
        assert_eq!(rx_a.try_recv().unwrap(), Ok(ack("a")));
        assert_eq!(o.len(), 1);
        assert!(!o.owns(11));
    }

    #[test]
    fn reconnect_resends_with_the_same_ids() {
        let mut o = Outbox::new(ReconnectPolicy::default(), Arc::default());
        let (tx, _rx) = oneshot::channel();
        o.push(1, "a".into(), "x".into(), tx);
        let now = Instant::now();
        let mut next = ids();
        assert_eq!(sent(&o.take_due(now, &mut next)), [(11, "a".into())]);
        o.on_disconnect();
        assert!(!o.owns(11));
        assert_eq!(sent(&o.take_due(now, &mut next)), [(12, "a".into())]);
        // A late reply on the dead request id is ignored.
        o.on_reply(11, Ok(ack("a")), now);
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn retryable_errors_wait_then_retry_and_others_fail() {
        let mut o = Outbox::new(ReconnectPolicy::default(), Arc::default());
        let (tx_a, mut rx_a) = oneshot::channel();
        let (tx_b, mut rx_b) = oneshot::channel();
        o.push(1, "a".into(), "x".into(), tx_a);
        o.push(1, "b".into(), "y".into(), tx_b);
        let t0 = Instant::now();
        let mut next = ids();
        o.take_due(t0, &mut next);
        let limited = ClientError::Server { code: ErrorCode::RateLimited, message: String::new(), retry_after_ms: 300 };
        o.on_reply(11, Err(limited), t0);
        let denied = ClientError::Server { code: ErrorCode::ChatNotFound, message: String::new(), retry_after_ms: 0 };
        o.on_reply(12, Err(denied.clone()), t0);
        assert_eq!(rx_b.try_recv().unwrap(), Err(denied));
        assert!(rx_a.try_recv().is_err(), "still pending");
        assert_eq!(o.next_retry_at(), Some(t0 + Duration::from_millis(300)));
        assert!(o.take_due(t0 + Duration::from_millis(299), &mut next).is_empty());
        assert_eq!(sent(&o.take_due(t0 + Duration::from_millis(300), &mut next)), [(13, "a".into())]);
        assert_eq!(o.next_retry_at(), None);

        // Retryable without a hint: the reconnect policy's delays, growing with each failure
        // (this is the message's second).
        let internal = ClientError::Server { code: ErrorCode::Internal, message: String::new(), retry_after_ms: 0 };
        o.on_reply(13, Err(internal), t0);
        assert_eq!(o.next_retry_at(), Some(t0 + Duration::from_millis(200)));
    }

    #[test]
    fn resends_keep_submission_order() {
        let mut o = Outbox::new(ReconnectPolicy::default(), Arc::default());
        let mut receivers = Vec::new();
        for id in ["a", "b", "c"] {
            let (tx, rx) = oneshot::channel();
            o.push(1, id.into(), id.into(), tx);
            receivers.push(rx);
        }
        let now = Instant::now();
        let mut next = ids();
        assert_eq!(o.take_due(now, &mut next).len(), 3);
        o.on_disconnect();
        let order: Vec<String> = sent(&o.take_due(now, &mut next)).into_iter().map(|(_, id)| id).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn same_id_joins_and_different_message_is_refused() {
        let mut o = Outbox::new(ReconnectPolicy::default(), Arc::default());
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let (tx3, mut rx3) = oneshot::channel();
        o.push(1, "a".into(), "x".into(), tx1);
        o.push(1, "a".into(), "x".into(), tx2);
        o.push(1, "a".into(), "other".into(), tx3);
        assert!(matches!(rx3.try_recv().unwrap(), Err(ClientError::InvalidInput(_))));
        assert_eq!(o.len(), 1);
        let now = Instant::now();
        assert_eq!(o.take_due(now, ids()).len(), 1);
        o.on_reply(11, Ok(ack("a")), now);
        assert_eq!(rx1.try_recv().unwrap(), Ok(ack("a")));
        assert_eq!(rx2.try_recv().unwrap(), Ok(ack("a")));
    }

    #[test]
    fn fail_all_empties_the_outbox() {
        let mut o = Outbox::new(ReconnectPolicy::default(), Arc::default());
        let (tx, mut rx) = oneshot::channel();
        o.push(1, "a".into(), "x".into(), tx);
        o.take_due(Instant::now(), ids());
        o.fail_all(&ClientError::Closed);
        assert_eq!(rx.try_recv().unwrap(), Err(ClientError::Closed));
        assert_eq!((o.len(), o.owns(11)), (0, false));
    }
}
