//! Gap-free, in-order delivery to one connection.
//!
//! Each synced connection keeps, per chat, the highest sequence number it has queued
//! (`delivered`). A live event is written straight to the outbound queue only if it is exactly
//! `delivered + 1` and the queue has room. Otherwise the chat switches to catching up: one task
//! reads the missing range from the log (everything delivered live is durable, so the log has
//! it) until it reaches the newest sequence number seen. The same mechanism serves `Sync` on
//! (re)connect, slow consumers and any reordering, so there is one path to get right.
//!
//! A catch-up never reaches back before the member's join (`since_seq` in `user_chats`): a
//! connection with no cursor for a chat (synced before its user joined, or a chat left out of
//! its `Sync`), or one left from an earlier membership, starts at the join, so nothing from
//! before it — or from while the user was away — is ever pushed.

use super::shared::{ConnShared, Phase};
use crate::metrics;
use crate::shared::Shared;
use bytes::Bytes;
use magpie_wire::{encode, ErrorCode};
use std::rc::Rc;
use std::sync::Arc;

/// Log entries read per catch-up step.
const CATCH_UP_BATCH: usize = 256;

impl ConnShared {
    /// A committed event for one of this connection's user's chats. True if the frame was
    /// queued live (otherwise it is skipped or left to a catch-up from the log).
    /// `shard` is the shard this connection lives on.
    pub fn offer(self: &Rc<Self>, shared: &Arc<Shared>, shard: usize, chat_id: u64, seq: u64, frame: &Bytes) -> bool {
        let phase = self.phase.get();
        if phase == Phase::NotSynced || self.is_closing() {
            return false;
        }
        let mut cursors = self.cursors.borrow_mut();
        let c = cursors.entry(chat_id).or_default();
        if seq <= c.delivered {
            return false;
        }
        if c.catching_up || phase == Phase::Starting {
            c.target = c.target.max(seq);
            c.catching_up = true;
            return false;
        }
        if seq == c.delivered + 1 && self.try_push_event(frame) {
            c.delivered = seq;
            metrics::inc(&shared.metrics[shard].deliveries_live);
            return true;
        }
        // A gap or a full queue: read the rest from the log.
        c.target = seq;
        c.catching_up = true;
        drop(cursors);
        let (shared, conn) = (shared.clone(), self.clone());
        tokio::task::spawn_local(async move {
            catch_up(&shared, shard, &conn, chat_id).await;
        });
        false
    }
}

/// Delivers `chat_id` from the log until the connection holds everything up to its target.
/// Returns the number of events queued.
pub async fn catch_up(shared: &Arc<Shared>, shard: usize, conn: &Rc<ConnShared>, chat_id: u64) -> u64 {
    let mut sent = 0;
    if let Some(user_id) = conn.user_id() {
        let store = shared.store.clone();
        match tokio::task::spawn_blocking(move || store.user_chat_since(user_id, chat_id)).await {
            Ok(Ok(Some(since))) => {
                if let Some(c) = conn.cursors.borrow_mut().get_mut(&chat_id) {
                    c.delivered = c.delivered.max(since.saturating_sub(1));
                }
            }
            // No longer a member: the target only holds events they were sent as one.
            Ok(Ok(None)) => {}
            other => {
                tracing::error!(chat_id, ?other, "catch-up could not read the member's join");
                conn.close(ErrorCode::ServerFault, "could not read the chat membership");
                return sent;
            }
        }
    }
    loop {
        let (from, target) = {
            let cursors = conn.cursors.borrow();
            let c = cursors.get(&chat_id).copied().unwrap_or_default();
            (c.delivered, c.target)
        };
        if from >= target || conn.is_closing() {
            if let Some(c) = conn.cursors.borrow_mut().get_mut(&chat_id) {
                c.catching_up = false;
            }
            return sent;
        }
        let store = shared.store.clone();
        let want = ((target - from) as usize).min(CATCH_UP_BATCH);
        let rows = tokio::task::spawn_blocking(move || store.read_forward(chat_id, from, want)).await;
        let rows = match rows {
            Ok(Ok(rows)) if !rows.is_empty() => rows,
            other => {
                tracing::error!(chat_id, from, target, ?other, "catch-up read failed or found nothing");
                conn.close(ErrorCode::ServerFault, "could not read the chat log");
                return sent;
            }
        };
        for (seq, event) in rows {
            let expected = conn.cursors.borrow().get(&chat_id).map(|c| c.delivered + 1).unwrap_or(1);
            if seq != expected {
                // Never skip: a hole in the log means the loop would deliver out of order.
                tracing::error!(chat_id, seq, expected, "log is not contiguous");
                conn.close(ErrorCode::ServerFault, "chat log inconsistent");
                return sent;
            }
            if !conn.push_event(encode::deliver(&event)).await {
                return sent;
            }
            sent += 1;
            metrics::inc(&shared.metrics[shard].deliveries_catch_up);
            if let Some(c) = conn.cursors.borrow_mut().get_mut(&chat_id) {
                c.delivered = seq;
            }
        }
    }
}
