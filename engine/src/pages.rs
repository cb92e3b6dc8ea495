//! Paged answers: a chat's history and a user's chat list, cut to their limits and to the frame
//! budget.

use crate::chat::{wire_kind, HEAD_EVERY};
use bytes::Bytes;
use magpie_storage::{Store, StoreError};
use magpie_wire::limits::MAX_PAGE_BYTES;
use magpie_wire::{encode, fb};

/// A page of at most `limit` events, none past `up_to`; `rows` may hold one more, which tells if
/// there is more.
pub fn history(rid: u64, chat_id: u64, mut rows: Vec<(u64, Vec<u8>)>, limit: usize, dir: fb::Direction, up_to: u64) -> Bytes {
    rows.retain(|r| r.0 <= up_to);
    let mut has_more = rows.len() > limit;
    if has_more {
        if dir == fb::Direction::Forward {
            rows.truncate(limit);
        } else {
            rows.drain(..rows.len() - limit);
        }
    }
    // Keep the page under the frame budget, trimming from the far end of the reading direction.
    let mut total: usize = rows.iter().map(|r| r.1.len() + 16).sum();
    while total > MAX_PAGE_BYTES && rows.len() > 1 {
        let dropped = if dir == fb::Direction::Forward { rows.pop() } else { Some(rows.remove(0)) };
        total -= dropped.map(|r| r.1.len() + 16).unwrap_or(0);
        has_more = true;
    }
    let events: Vec<&[u8]> = rows.iter().map(|r| r.1.as_slice()).collect();
    encode::history_page(rid, chat_id, &events, has_more)
}

/// One page of the user's chats in ascending id order, cut at `limit` chats or the byte budget.
/// Each chat's last message is found through its stored head, not by scanning its log.
pub fn chat_list(s: &Store, rid: u64, user_id: u64, after: u64, limit: usize) -> Result<Bytes, StoreError> {
    struct Row {
        meta: magpie_storage::ChatMeta,
        last_seq: u64,
        members: u32,
        last: Option<Vec<u8>>,
    }
    let mut rows = Vec::new();
    let mut budget = MAX_PAGE_BYTES;
    let mut has_more = false;
    let mut ids = s.chats_of_user(user_id)?;
    ids.sort_unstable();
    for chat_id in ids.into_iter().filter(|&c| c > after) {
        if rows.len() == limit {
            has_more = true;
            break;
        }
        let Some(meta) = s.chat(chat_id)? else { continue };
        let last_seq = s.last_seq(chat_id)?;
        let members = s.members(chat_id)?.len() as u32;
        let last = match s.chat_head(chat_id)? {
            Some(head) => {
                // Messages after the stored head (fewer than HEAD_EVERY) are newer than its last
                // message: the newest of them wins.
                let after = s.read_forward(chat_id, head.at_seq, HEAD_EVERY as usize)?;
                match after.into_iter().rev().find(|(_, e)| is_message(e)) {
                    Some((_, e)) => Some(e),
                    None if head.last_message_seq == 0 => None,
                    None => s.event(chat_id, head.last_message_seq)?,
                }
            }
            // A chat last written before heads existed: look back a little, as then.
            None => s.last_event_matching(chat_id, 64, is_message)?.map(|(_, b)| b),
        };
        let size = last.as_ref().map_or(0, |b| b.len()) + meta.title.len() + 64;
        if size > budget {
            has_more = true;
            break;
        }
        budget -= size;
        rows.push(Row { meta, last_seq, members, last });
    }
    let summaries: Vec<encode::ChatSummaryArgs<'_>> = rows
        .iter()
        .map(|r| encode::ChatSummaryArgs {
            chat_id: r.meta.chat_id,
            kind: wire_kind(r.meta.kind),
            title: &r.meta.title,
            last_seq: r.last_seq,
            member_count: r.members,
            last_message: r.last.as_deref(),
        })
        .collect();
    Ok(encode::chat_list_page(rid, &summaries, has_more))
}

fn is_message(event: &[u8]) -> bool {
    magpie_wire::verify::event(event).map(|e| e.body_type() == fb::EventBody::MessageBody).unwrap_or(false)
}
