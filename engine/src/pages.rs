//! Paged answers: a chat's history (with the states of its changed messages) and a user's chat
//! list, cut to their limits and to the frame budget.

use crate::chat::{state_of, wire_kind, wire_role, HEAD_EVERY};
use bytes::Bytes;
use magpie_storage::{ChatMeta, ChatPrefs, MessageStateRecord, Role, Store, StoreError};
use magpie_wire::limits::MAX_PAGE_BYTES;
use magpie_wire::{encode, fb, message};
use std::ops::RangeInclusive;

/// A page of at most `limit` events within `visible` (the member's first visible seq to the
/// durable end); `rows` may hold one more, which tells if there is more. `states` gives the
/// states of the page's changed messages, for its range of seqs.
pub fn history(
    rid: u64,
    chat_id: u64,
    mut rows: Vec<(u64, Vec<u8>)>,
    limit: usize,
    dir: fb::Direction,
    visible: RangeInclusive<u64>,
    states: impl FnOnce(u64, u64) -> Result<Vec<message::State>, StoreError>,
) -> Result<Bytes, StoreError> {
    // Reading back into what the member may not see ends the history there.
    let hidden_before = rows.iter().any(|r| r.0 < *visible.start());
    rows.retain(|r| visible.contains(&r.0));
    let mut has_more = rows.len() > limit;
    if has_more {
        if dir == fb::Direction::Forward {
            rows.truncate(limit);
        } else {
            rows.drain(..rows.len() - limit);
        }
    }
    if dir == fb::Direction::Backward && hidden_before {
        has_more = false;
    }
    // Keep the page under the frame budget, trimming from the far end of the reading direction.
    let mut total: usize = rows.iter().map(|r| r.1.len() + 16).sum();
    while total > MAX_PAGE_BYTES && rows.len() > 1 {
        let dropped = if dir == fb::Direction::Forward { rows.pop() } else { Some(rows.remove(0)) };
        total -= dropped.map(|r| r.1.len() + 16).unwrap_or(0);
        has_more = true;
    }
    let states = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => states(first.0, last.0)?,
        _ => Vec::new(),
    };
    let events: Vec<&[u8]> = rows.iter().map(|r| r.1.as_slice()).collect();
    Ok(encode::history_page_with(rid, chat_id, &events, &states, has_more))
}

/// The wire state of a message from its stored state, `viewer`'s reactions and whether they hid it.
pub fn message_state(chat_id: u64, seq: u64, rec: Option<&MessageStateRecord>, my_reactions: Vec<String>, hidden: bool) -> message::State {
    let Some(rec) = rec else { return message::State { chat_id, seq, hidden, ..message::State::default() } };
    message::State {
        chat_id,
        seq,
        event: None,
        edit_count: rec.edits.len() as u32,
        content: if rec.edits.is_empty() { String::new() } else { rec.content.clone() },
        edited_ms: rec.edits.last().map_or(0, |e| e.time_ms),
        deleted: rec.deleted,
        reactions: rec.reactions.clone(),
        my_reactions,
        pinned: rec.pinned_ms != 0,
        location: rec.live.map(|p| message::Location {
            latitude: p.latitude,
            longitude: p.longitude,
            accuracy_m: p.accuracy_m,
            label: String::new(),
            live_until_ms: p.stopped_ms,
        }),
        hidden,
    }
}

/// One message's state as `viewer` sees it, from its stored state `rec` (read by the caller):
/// their own reactions, and whether they hid it.
pub fn viewer_state(s: &Store, chat_id: u64, seq: u64, rec: Option<&MessageStateRecord>, viewer: u64) -> Result<message::State, StoreError> {
    let mine = match rec {
        Some(r) if !r.reactions.is_empty() => s.reactions_of(chat_id, seq, viewer)?,
        _ => Vec::new(),
    };
    let hidden = !s.hidden_in(viewer, chat_id, seq, seq)?.is_empty();
    Ok(message_state(chat_id, seq, rec, mine, hidden))
}

/// The states of the messages in `from..=to` of a chat that changed since sent or that
/// `viewer` hid, as `viewer` sees them, ascending.
pub fn message_states(s: &Store, chat_id: u64, viewer: u64, from: u64, to: u64) -> Result<Vec<message::State>, StoreError> {
    let records = s.message_states_in(chat_id, from, to)?;
    let hidden = s.hidden_in(viewer, chat_id, from, to)?;
    let mut seqs: Vec<u64> = records.iter().map(|r| r.0).chain(hidden.iter().copied()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let by_seq: std::collections::HashMap<u64, &MessageStateRecord> = records.iter().map(|(s, r)| (*s, r)).collect();
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let rec = by_seq.get(&seq).copied();
        let mine = match rec {
            Some(r) if !r.reactions.is_empty() => s.reactions_of(chat_id, seq, viewer)?,
            _ => Vec::new(),
        };
        out.push(message_state(chat_id, seq, rec, mine, hidden.binary_search(&seq).is_ok()));
    }
    Ok(out)
}

/// What `ListChats` asks for.
#[derive(Debug, Clone, Copy)]
pub struct ChatListQuery {
    pub order: fb::ChatOrder,
    /// By id: the page after this chat id.
    pub after: u64,
    pub limit: usize,
    /// By activity: only archived chats (else only the others).
    pub archived: bool,
    /// By activity: the page after this (last activity, chat id); (0, 0) for the first.
    pub before: (i64, u64),
}

struct Row {
    meta: ChatMeta,
    last_seq: u64,
    members: u32,
    last: Option<Vec<u8>>,
    activity: i64,
    prefs: ChatPrefs,
    role: Role,
}

/// One page of the user's chats: in ascending id order, or as a chat list shows them (pinned
/// first, then by last activity, newest first). Cut at `limit` chats or the byte budget. Each
/// chat's last message is found through its stored head, not by scanning its log.
///
/// By activity, every chat of the user is read to order them (the user's chat count, not any
/// chat's size, bounds the work).
pub fn chat_list(s: &Store, rid: u64, user_id: u64, q: ChatListQuery) -> Result<Bytes, StoreError> {
    let mut ids = s.chats_of_user(user_id)?;
    ids.sort_unstable();
    let prefs: std::collections::HashMap<u64, ChatPrefs> = s.chat_prefs_of_user(user_id)?.into_iter().collect();
    let my_settings = s.user_settings(user_id)?;
    let mut rows = Vec::new();
    let mut has_more = false;
    if q.order == fb::ChatOrder::ByActivity {
        for chat_id in ids {
            let p = prefs.get(&chat_id).copied().unwrap_or_default();
            if p.archived == q.archived {
                if let Some(r) = row(s, user_id, chat_id, p)? {
                    rows.push(r);
                }
            }
        }
        let first_page = q.before == (0, 0);
        let pinned = |r: &Row| r.prefs.pin_rank != 0 && !q.archived;
        rows.retain(|r| if pinned(r) { first_page } else { first_page || (r.activity, r.meta.chat_id) < q.before });
        rows.sort_by(|a, b| {
            (pinned(b), b.prefs.pin_rank * u64::from(pinned(b)), b.activity, b.meta.chat_id).cmp(&(
                pinned(a),
                a.prefs.pin_rank * u64::from(pinned(a)),
                a.activity,
                a.meta.chat_id,
            ))
        });
        // Every pinned chat is on the first page, whatever the limit.
        let keep = q.limit.max(rows.iter().filter(|r| pinned(r)).count());
        if rows.len() > keep {
            rows.truncate(keep);
            has_more = true;
        }
    } else {
        for chat_id in ids.into_iter().filter(|&c| c > q.after) {
            if rows.len() == q.limit {
                has_more = true;
                break;
            }
            let p = prefs.get(&chat_id).copied().unwrap_or_default();
            if let Some(r) = row(s, user_id, chat_id, p)? {
                rows.push(r);
            }
        }
    }
    let mut budget = MAX_PAGE_BYTES;
    let mut fits = 0;
    for r in &rows {
        let size = r.last.as_ref().map_or(0, |b| b.len()) + r.meta.title.len() + r.meta.profile.avatar_ref.len() + r.meta.profile.handle.len() + 128;
        if size > budget && fits > 0 {
            has_more = true;
            break;
        }
        budget = budget.saturating_sub(size);
        fits += 1;
    }
    rows.truncate(fits);
    let unread: Vec<crate::unread::Unread> =
        rows.iter().map(|r| crate::unread::of(s, user_id, &my_settings, r.meta.chat_id, r.meta.kind, r.last_seq)).collect::<Result<_, _>>()?;
    let summaries: Vec<encode::ChatSummaryArgs<'_>> = rows
        .iter()
        .zip(&unread)
        .map(|(r, u)| encode::ChatSummaryArgs {
            chat_id: r.meta.chat_id,
            kind: wire_kind(r.meta.kind),
            title: &r.meta.title,
            last_seq: r.last_seq,
            member_count: r.members,
            last_message: r.last.as_deref(),
            last_activity_ms: r.activity,
            state: state_of(&r.prefs),
            my_role: wire_role(r.role),
            unread_count: u.count,
            unread_mentions: u.mentions,
            avatar_ref: &r.meta.profile.avatar_ref,
            handle: &r.meta.profile.handle,
            receipts: u.receipts,
        })
        .collect();
    Ok(encode::chat_list_page(rid, &summaries, has_more))
}

fn row(s: &Store, user_id: u64, chat_id: u64, prefs: ChatPrefs) -> Result<Option<Row>, StoreError> {
    let Some(meta) = s.chat(chat_id)? else { return Ok(None) };
    let Some(role) = s.member_role(chat_id, user_id)? else { return Ok(None) };
    let last_seq = s.last_seq(chat_id)?;
    let head = s.chat_head(chat_id)?;
    let members = match head.and_then(|h| h.member_count) {
        Some(n) => n as u32,
        // A head written before counts were kept: count once.
        None => s.members(chat_id)?.len() as u32,
    };
    let last = match head {
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
    let activity = last.as_deref().and_then(|e| magpie_wire::verify::event(e).ok()).map_or(meta.created_ms, |e| e.time_ms());
    Ok(Some(Row { meta, last_seq, members, last, activity, prefs, role }))
}

fn is_message(event: &[u8]) -> bool {
    magpie_wire::verify::event(event).map(|e| e.body_type() == fb::EventBody::MessageBody).unwrap_or(false)
}
