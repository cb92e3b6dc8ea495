//! One user's own state of their chats: `SetChatState` (mute, pin, archive, mark unread) and
//! `ReorderPinned`. Written to storage here (no chat owns it), then pushed to every connected
//! device of the user as `ChatStateChanged`; after a reconnect `ListChats` carries it.

use super::{invalid, storage, Answer, Ctx, Refusal};
use crate::chat::state_of;
use crate::crossing::{Audience, Signal};
use magpie_storage::ChatPrefs;
use magpie_wire::chat::state_fields as bit;
use magpie_wire::limits::MAX_PINNED_CHATS;
use magpie_wire::{encode, fb, ErrorCode};
use std::collections::HashSet;
use std::sync::Arc;

/// Tells every connected device of `user_id` (on every shard) the new states.
fn push(cx: &Ctx<'_>, user_id: u64, changed: &[(u64, ChatPrefs)]) {
    for (chat_id, p) in changed {
        let frame = encode::chat_state_changed(0, *chat_id, &state_of(p));
        cx.shard.broadcast_signal(Signal { audience: Audience::Users(Arc::from([user_id])), frame });
    }
}

pub async fn set_chat_state(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let c = f.body_as_set_chat_state().expect("checked type");
    let (chat_id, fields) = (c.chat_id(), c.fields());
    if fields == 0 || fields & !bit::ALL != 0 {
        return Err(invalid("fields must name at least one of: 1 muted_until_ms, 2 pinned, 4 archived, 8 marked_unread"));
    }
    if c.muted_until_ms() < 0 {
        return Err(invalid("muted_until_ms must be 0 or a Unix time in ms"));
    }
    let (muted, pinned, archived, unread) = (c.muted_until_ms(), c.pinned(), c.archived(), c.marked_unread());
    let changed = cx
        .blocking(move |s| {
            if s.member_role(chat_id, user_id).map_err(storage)?.is_none() {
                return Err((ErrorCode::ChatNotFound, "no such chat".to_string()));
            }
            let result = s.update_chat_prefs(user_id, |all| -> Result<Vec<(u64, ChatPrefs)>, Refusal> {
                let mut p = all.iter().find(|(c, _)| *c == chat_id).map(|(_, p)| *p).unwrap_or_default();
                if fields & bit::MUTED_UNTIL != 0 {
                    p.muted_until_ms = muted;
                }
                if fields & bit::PINNED != 0 {
                    if !pinned {
                        p.pin_rank = 0;
                    } else if p.pin_rank == 0 {
                        let ranks = all.iter().filter(|(c, q)| *c != chat_id && q.pin_rank != 0).map(|(_, q)| q.pin_rank);
                        let (count, top) = ranks.fold((0, 0), |(n, top), r| (n + 1, top.max(r)));
                        if count >= MAX_PINNED_CHATS {
                            return Err((ErrorCode::LimitReached, format!("at most {MAX_PINNED_CHATS} pinned chats")));
                        }
                        p.pin_rank = top + 1;
                    }
                }
                if fields & bit::ARCHIVED != 0 {
                    p.archived = archived;
                }
                if fields & bit::MARKED_UNREAD != 0 {
                    p.marked_unread = unread;
                }
                Ok(vec![(chat_id, p)])
            });
            result.map_err(storage)?
        })
        .await?;
    push(cx, user_id, &changed);
    let (chat_id, p) = changed[0];
    Ok(Some(encode::chat_state_changed(cx.request_id, chat_id, &state_of(&p))))
}

pub async fn reorder_pinned(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let order: Vec<u64> = f.body_as_reorder_pinned().and_then(|r| r.chat_ids()).map(|v| v.iter().collect()).unwrap_or_default();
    let changed = cx
        .blocking(move |s| {
            let result = s.update_chat_prefs(user_id, |all| -> Result<Vec<(u64, ChatPrefs)>, Refusal> {
                let pinned: HashSet<u64> = all.iter().filter(|(_, p)| p.pin_rank != 0).map(|(c, _)| *c).collect();
                let named: HashSet<u64> = order.iter().copied().collect();
                if named != pinned || named.len() != order.len() {
                    return Err(invalid("chat_ids must be exactly the pinned chats, each once"));
                }
                let n = order.len() as u64;
                Ok(order
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let p = all.iter().find(|(x, _)| x == c).map(|(_, p)| *p).unwrap_or_default();
                        (*c, ChatPrefs { pin_rank: n - i as u64, ..p })
                    })
                    .collect())
            });
            result.map_err(storage)?
        })
        .await?;
    push(cx, user_id, &changed);
    Ok(Some(encode::ok(cx.request_id)))
}
