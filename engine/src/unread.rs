//! A chat list's unread counts and receipt cursors (PROTOCOL.md §6.15): counted from the
//! caller's stored read cursor, on the blocking pool, when `ListChats` is answered.
//!
//! `unread_count` is the number of messages from others after the read cursor (and after the
//! caller's join), not deleted, counting at most [`MAX_UNREAD_COUNTED`]; `unread_mentions` the
//! ones of those that mention the caller by id or @all. The log after the cursor is read in
//! pages and at most `4 × MAX_UNREAD_COUNTED` events are looked at, so a chat list's cost is
//! bounded whatever the backlog.

use magpie_storage::{ChatKind, Store, StoreError, UserSettings};
use magpie_wire::presence::{SummaryReceipts, MAX_UNREAD_COUNTED};
use magpie_wire::verify;

/// Events read per page while counting.
const PAGE: usize = 256;

pub struct Unread {
    pub count: u32,
    pub mentions: u32,
    pub receipts: SummaryReceipts,
}

pub fn of(s: &Store, user_id: u64, mine: &UserSettings, chat_id: u64, kind: ChatKind, last_seq: u64) -> Result<Unread, StoreError> {
    let me = s.receipt(chat_id, user_id)?;
    let mut receipts = SummaryReceipts { read_seq: me.read_seq, delivered_seq: me.delivered_seq, ..Default::default() };
    if kind == ChatKind::Direct {
        if let Some((peer, _)) = s.members_with_since(chat_id)?.into_iter().find(|(u, _)| *u != user_id) {
            let r = s.receipt(chat_id, peer)?;
            receipts.peer_delivered_seq = r.delivered_seq;
            receipts.peer_read_seq = if r.read_private || !mine.read_receipts { 0 } else { r.read_seq };
        }
    }
    let since = s.user_chat_since(user_id, chat_id)?.unwrap_or(0);
    let (mut count, mut mentions) = (0u32, 0u32);
    let mut from = me.read_seq.max(since.saturating_sub(1));
    let mut looked = 0usize;
    while from < last_seq && count < MAX_UNREAD_COUNTED && looked < 4 * MAX_UNREAD_COUNTED as usize {
        let rows = s.read_forward(chat_id, from, PAGE)?;
        let Some(last) = rows.last() else { break };
        from = last.0;
        looked += rows.len();
        for (_, event) in &rows {
            let Ok(e) = verify::event(event) else { continue };
            if e.sender_id() == user_id {
                continue;
            }
            let Some(m) = e.body_as_message_body() else { continue };
            if m.deleted() || count >= MAX_UNREAD_COUNTED {
                continue;
            }
            count += 1;
            if m.mention_all() || m.mentions().is_some_and(|v| v.iter().any(|u| u == user_id)) {
                mentions += 1;
            }
        }
    }
    Ok(Unread { count, mentions, receipts })
}
