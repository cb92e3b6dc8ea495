//! Gap-free, in-order delivery to one connection.
//!
//! Each synced connection keeps, per chat, the highest sequence number it has queued
//! (`delivered`). A live event is written straight to the outbound queue only if it is exactly
//! `delivered + 1` and the queue has room. Otherwise the chat switches to catching up: one task
//! reads the missing range from the log (everything delivered live is durable, so the log has
//! it) until it reaches the newest sequence number seen. The same mechanism serves `Sync` on
//! (re)connect, slow consumers and any reordering, so there is one path to get right.

use super::ConnShared;
use crate::metrics;
use crate::shard::Shard;
use bytes::Bytes;
use magpie_wire::{encode, ErrorCode};
use std::collections::HashMap;
use std::rc::Rc;

/// Log entries read per catch-up step.
const CATCH_UP_BATCH: usize = 256;

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

impl ConnShared {
    /// A committed event for one of this connection's user's chats. True if the frame was
    /// queued live (otherwise it is skipped or left to a catch-up from the log).
    pub fn offer(self: &Rc<Self>, shard: &Rc<Shard>, chat_id: u64, seq: u64, frame: &Bytes) -> bool {
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
            metrics::inc(&shard.metrics().deliveries_live);
            return true;
        }
        // A gap or a full queue: read the rest from the log.
        c.target = seq;
        c.catching_up = true;
        drop(cursors);
        let (shard, conn) = (shard.clone(), self.clone());
        tokio::task::spawn_local(async move {
            catch_up(&shard, &conn, chat_id).await;
        });
        false
    }
}

/// Delivers `chat_id` from the log until the connection holds everything up to its target.
/// Returns the number of events queued.
async fn catch_up(shard: &Rc<Shard>, conn: &Rc<ConnShared>, chat_id: u64) -> u64 {
    let mut sent = 0;
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
        let store = shard.shared.store.clone();
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
            metrics::inc(&shard.metrics().deliveries_catch_up);
            if let Some(c) = conn.cursors.borrow_mut().get_mut(&chat_id) {
                c.delivered = seq;
            }
        }
    }
}

/// Handles `Sync`: delivers everything after the client's cursors in every chat of the user,
/// then answers `SyncDone`. Live delivery starts at once; per-chat order holds throughout.
pub fn start_sync(shard: &Rc<Shard>, conn: &Rc<ConnShared>, request_id: u64, user_id: u64, client: Vec<(u64, u64)>) {
    if conn.phase.get() != Phase::NotSynced {
        conn.push_reply(encode::error(request_id, ErrorCode::InvalidArgument, "this connection already synced", 0));
        return;
    }
    conn.phase.set(Phase::Starting);
    shard.register_live(conn, user_id);
    let (shard, conn) = (shard.clone(), conn.clone());
    tokio::task::spawn_local(async move {
        let store = shard.shared.store.clone();
        let chats = tokio::task::spawn_blocking(move || -> Result<Vec<(u64, u64)>, String> {
            let ids = store.chats_of_user(user_id).map_err(|e| e.to_string())?;
            ids.into_iter().map(|c| store.last_seq(c).map(|s| (c, s)).map_err(|e| e.to_string())).collect()
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        let chats = match chats {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(user_id, error = %e, "sync: listing chats failed");
                conn.close(ErrorCode::ServerFault, "could not list chats");
                return;
            }
        };
        let client: HashMap<u64, u64> = client.into_iter().collect();
        let todo: Vec<u64> = {
            let mut cursors = conn.cursors.borrow_mut();
            for &(chat_id, last_seq) in &chats {
                let c = cursors.entry(chat_id).or_default();
                c.target = c.target.max(last_seq);
            }
            // Chats joined while the list was read appear only through their live events.
            for (chat_id, c) in cursors.iter_mut() {
                c.delivered = client.get(chat_id).copied().unwrap_or(0).min(c.target);
                c.catching_up = true;
            }
            cursors.keys().copied().collect()
        };
        conn.phase.set(Phase::Live);
        let mut events = 0;
        for chat_id in &todo {
            events += catch_up(&shard, &conn, *chat_id).await;
        }
        conn.send_reply(encode::sync_done(request_id, todo.len() as u32, events)).await;
    });
}
