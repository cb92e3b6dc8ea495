//! `ListMentions`: the messages that mention the caller, newest first, across their chats. Read
//! from the caller's mention index and checked against each message as it is now (an edit may
//! have dropped the mention; a deletion erased it) and against the caller's membership, so an
//! entry left behind by either is skipped, never shown.

use super::{storage, Answer, Ctx};
use crate::pages;
use magpie_wire::limits::*;
use magpie_wire::{encode, fb, verify};

/// Index entries read per page at most, against entries that no longer count.
const SCAN_FACTOR: usize = 4;

pub async fn list(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let l = f.body_as_list_mentions().expect("checked type");
    let limit = match l.limit() {
        0 => DEFAULT_MENTION_PAGE,
        n => n.min(MAX_MENTION_PAGE),
    } as usize;
    let before = l.before_message_id();
    let rid = cx.request_id;
    let frame = cx
        .blocking(move |s| {
            let entries = s.mentions_of(user_id, before, limit * SCAN_FACTOR + 1).map_err(storage)?;
            let scanned_all = entries.len() <= limit * SCAN_FACTOR;
            let (mut events, mut states) = (Vec::new(), Vec::new());
            let mut more = false;
            for (_, at) in entries.iter().take(limit * SCAN_FACTOR) {
                let Some(since) = s.user_chat_since(user_id, at.chat_id).map_err(storage)? else { continue };
                if at.seq < since && history_hidden(s, at.chat_id)? {
                    continue;
                }
                let Some(event) = s.event(at.chat_id, at.seq).map_err(storage)? else { continue };
                let record = s.message_state(at.chat_id, at.seq).map_err(storage)?;
                if !mentions(&event, record.as_ref(), user_id) {
                    continue;
                }
                let state = pages::viewer_state(s, at.chat_id, at.seq, record.as_ref(), user_id).map_err(storage)?;
                if state.hidden {
                    continue;
                }
                if events.len() == limit {
                    more = true;
                    break;
                }
                states.push(state);
                events.push(event);
            }
            let has_more = more || !scanned_all;
            states.retain(|st| st.edit_count > 0 || !st.reactions.is_empty() || st.pinned || st.location.is_some());
            Ok(encode::mention_list(rid, &events, &states, has_more))
        })
        .await?;
    Ok(Some(frame))
}

/// Whether the chat hides history from before one's join.
fn history_hidden(s: &magpie_storage::Store, chat_id: u64) -> Result<bool, super::Refusal> {
    let meta = s.chat(chat_id).map_err(storage)?;
    Ok(meta.is_some_and(|m| crate::chat::info_of(&m).settings.history == fb::HistoryVisibility::SinceJoined))
}

/// Whether the message, as it is now, mentions `user` (by id or @all) and is not deleted.
fn mentions(event: &[u8], record: Option<&magpie_storage::MessageStateRecord>, user: u64) -> bool {
    let Ok(e) = verify::event(event) else { return false };
    let Some(m) = e.body_as_message_body() else { return false };
    if m.deleted() || record.is_some_and(|r| r.deleted) || e.sender_id() == user {
        return false;
    }
    let named = match record.filter(|r| !r.edits.is_empty()) {
        Some(r) => r.mentions.contains(&user),
        None => m.mentions().is_some_and(|v| v.iter().any(|u| u == user)),
    };
    named || m.mention_all()
}
