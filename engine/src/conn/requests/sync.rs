//! Sync: `Sync` delivers everything a device missed in every chat of its user, then
//! `SyncDone`; from then on (in fact from the start, in order) live events flow.

use super::{Answer, Ctx};
use crate::conn::delivery::catch_up;
use crate::conn::shared::{ConnShared, Phase};
use crate::shard::Shard;
use magpie_wire::{encode, fb, ErrorCode};
use std::collections::HashMap;
use std::rc::Rc;

pub fn sync(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let cursors: Vec<(u64, u64)> = f
        .body_as_sync()
        .and_then(|s| s.cursors())
        .map(|v| v.iter().map(|c| (c.chat_id(), c.last_seq())).collect())
        .unwrap_or_default();
    start(cx.shard, cx.conn, cx.request_id, user_id, cursors);
    Ok(None)
}

/// Handles `Sync`: delivers everything after the client's cursors in every chat of the user,
/// then answers `SyncDone`. Live delivery starts at once; per-chat order holds throughout.
fn start(shard: &Rc<Shard>, conn: &Rc<ConnShared>, request_id: u64, user_id: u64, client: Vec<(u64, u64)>) {
    if conn.phase.get() != Phase::NotSynced {
        conn.push_reply(encode::error(request_id, ErrorCode::InvalidArgument, "this connection already synced", 0));
        return;
    }
    conn.phase.set(Phase::Starting);
    shard.register_live(conn, user_id);
    crate::presence_io::live(shard, conn, user_id);
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
            events += catch_up(&shard.shared, shard.id, &conn, *chat_id).await;
        }
        conn.send_reply(encode::sync_done(request_id, todo.len() as u32, events)).await;
    });
}
