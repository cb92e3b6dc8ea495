//! Broadcast lists: a user's private lists of recipients (stored per user), and `SendBroadcast`,
//! which sends one message into the direct chat with each recipient — each a send of its own,
//! through that chat's owner, with its own sequence number, ack and delivery.
//!
//! This shard makes those requests itself (`Shard::internal_request`) and answers once every
//! one is answered. Each message's idempotency key is the broadcast's key plus "@recipient", so
//! a retried broadcast gets the same results and duplicates nothing.

use super::{error_code, invalid, len_between, storage, Answer, Ctx};
use crate::crossing::{self, Command};
use crate::ids::{chat_owner, now_ms, pair_owner};
use futures_util::future::join_all;
use magpie_storage::BroadcastListRecord;
use magpie_wire::encode::BroadcastResultArgs;
use magpie_wire::limits::*;
use magpie_wire::{encode, fb, verify, ErrorCode};

pub async fn save(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let l = f.body_as_save_broadcast_list().expect("checked type");
    let name = len_between(l.name(), 1, MAX_TITLE_BYTES, "name")?;
    let recipients: Vec<u64> = l.recipient_ids().map(|v| v.iter().collect()).unwrap_or_default();
    if recipients.is_empty() || recipients.len() > MAX_BROADCAST_RECIPIENTS {
        return Err(invalid(format!("a broadcast list has 1..={MAX_BROADCAST_RECIPIENTS} recipients")));
    }
    let mut seen = std::collections::HashSet::new();
    if !recipients.iter().all(|r| seen.insert(*r)) || seen.contains(&user_id) {
        return Err(invalid("recipients must be other users, each once"));
    }
    let list_id = l.list_id();
    let rid = cx.request_id;
    let frame = cx
        .blocking(move |s| {
            super::chats::require_users(s, &recipients)?;
            let lists = s.broadcast_lists(user_id).map_err(storage)?;
            let list_id = if list_id == 0 {
                if lists.len() >= MAX_BROADCAST_LISTS {
                    return Err((ErrorCode::LimitReached, format!("at most {MAX_BROADCAST_LISTS} broadcast lists")));
                }
                s.allocate_ids(1).map_err(storage)?.start
            } else if lists.iter().any(|l| l.list_id == list_id) {
                list_id
            } else {
                return Err(invalid("no such broadcast list"));
            };
            let record = BroadcastListRecord { list_id, name, recipients };
            s.put_broadcast_list(user_id, &record).map_err(storage)?;
            Ok(encode::broadcast_list(rid, record.list_id, &record.name, &record.recipients))
        })
        .await?;
    Ok(Some(frame))
}

pub async fn delete(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let list_id = f.body_as_delete_broadcast_list().expect("checked type").list_id();
    let deleted = cx.blocking(move |s| s.delete_broadcast_list(user_id, list_id).map_err(storage)).await?;
    if !deleted {
        return Err(invalid("no such broadcast list"));
    }
    Ok(Some(encode::ok(cx.request_id)))
}

pub async fn list(cx: &Ctx<'_>, (user_id, _): (u64, u64)) -> Answer {
    let lists = cx.blocking(move |s| s.broadcast_lists(user_id).map_err(storage)).await?;
    let items: Vec<(u64, &str, &[u64])> = lists.iter().map(|l| (l.list_id, l.name.as_str(), l.recipients.as_slice())).collect();
    Ok(Some(encode::broadcast_lists(cx.request_id, &items)))
}

/// What a recipient's send starts from.
enum Start {
    Done(BroadcastResultArgs),
    Chat(u64),
    NoChat,
}

pub async fn send(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let b = f.body_as_send_broadcast().expect("checked type");
    let client_msg_id = len_between(b.client_msg_id(), 1, MAX_CLIENT_MSG_ID_BYTES, "client_msg_id")?;
    let content = b.content().unwrap_or("");
    if content.len() > MAX_CONTENT_BYTES {
        return Err((ErrorCode::ContentTooLarge, format!("content is over {MAX_CONTENT_BYTES} bytes")));
    }
    if content.is_empty() {
        return Err(invalid("content must not be empty"));
    }
    let content = content.to_string();
    let list_id = b.list_id();
    let (user_id, device_id) = me;
    let key = client_msg_id.clone();
    let starts = cx
        .blocking(move |s| {
            let list = s.broadcast_list(user_id, list_id).map_err(storage)?.ok_or_else(|| invalid("no such broadcast list"))?;
            let mut starts = Vec::with_capacity(list.recipients.len());
            for r in list.recipients {
                let start = match s.dedup_lookup(device_id, &per_recipient(&key, r)).map_err(storage)? {
                    Some(d) => Start::Done(BroadcastResultArgs { user_id: r, chat_id: d.chat_id, message_id: d.message_id, seq: d.seq, error_code: 0 }),
                    None => match s.direct_chat(user_id, r).map_err(storage)? {
                        Some(chat) => Start::Chat(chat),
                        None => Start::NoChat,
                    },
                };
                starts.push((r, start));
            }
            Ok(starts)
        })
        .await?;
    let sends = starts.into_iter().map(|(r, start)| one(cx, me, r, start, per_recipient(&client_msg_id, r), content.clone()));
    let results = join_all(sends).await;
    Ok(Some(encode::broadcast_ack(cx.request_id, list_id, &client_msg_id, now_ms(), &results)))
}

fn per_recipient(client_msg_id: &str, recipient: u64) -> String {
    format!("{client_msg_id}@{recipient}")
}

/// One recipient's message: find or create the direct chat, then send into it.
async fn one(cx: &Ctx<'_>, me: (u64, u64), recipient: u64, start: Start, client_msg_id: String, content: String) -> BroadcastResultArgs {
    let failed = |code: u16| BroadcastResultArgs { user_id: recipient, error_code: code, ..Default::default() };
    let shards = cx.shard.shards();
    let chat_id = match start {
        Start::Done(r) => return r,
        Start::Chat(c) => c,
        Start::NoChat => {
            let create = |actor| Command::CreateDirect(crossing::CreateDirect { actor, peer: recipient });
            let Some(answer) = cx.ask(pair_owner(me.0, recipient, shards), create, me).await else {
                return failed(ErrorCode::Internal as u16);
            };
            match verify::server_frame(&answer) {
                Ok(f) if f.body_type() == fb::Body::ChatInfo => f.body_as_chat_info().map_or(0, |i| i.chat_id()),
                Ok(f) => return failed(error_code(&f)),
                Err(_) => return failed(ErrorCode::Internal as u16),
            }
        }
    };
    let send = |actor| Command::Send(crossing::Send::text(actor, chat_id, client_msg_id, content));
    let Some(answer) = cx.ask(chat_owner(chat_id, shards), send, me).await else {
        return failed(ErrorCode::Internal as u16);
    };
    match verify::server_frame(&answer) {
        Ok(f) => match f.body_as_send_ack() {
            Some(a) => BroadcastResultArgs { user_id: recipient, chat_id, message_id: a.message_id(), seq: a.seq(), error_code: 0 },
            None => BroadcastResultArgs { chat_id, ..failed(error_code(&f)) },
        },
        Err(_) => failed(ErrorCode::Internal as u16),
    }
}
