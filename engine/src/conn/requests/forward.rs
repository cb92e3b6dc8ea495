//! `ForwardMessage`: the source chat's owner checks that the caller may read the message and
//! that the chat allows forwarding, and makes the copy (current text, a live location fixed
//! where it is, "forwarded from"); then the copy is sent into each target chat like a
//! `SendMessage` of the caller's, idempotent on `client_msg_id@<target chat id>`.

use super::{error_code, invalid, len_between, storage, Answer, Ctx};
use crate::crossing::{self, Command, MessageQuery, ReadMessage};
use crate::ids::chat_owner;
use futures_util::future::join_all;
use magpie_wire::encode::{self, ForwardResult};
use magpie_wire::limits::*;
use magpie_wire::message::Message;
use magpie_wire::{fb, verify, ErrorCode};

fn internal() -> super::Refusal {
    (ErrorCode::Internal, "the source chat did not answer".into())
}

pub async fn forward(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let m = f.body_as_forward_message().expect("checked type");
    let client_msg_id = len_between(m.client_msg_id(), 1, MAX_CLIENT_MSG_ID_BYTES, "client_msg_id")?;
    let mut targets: Vec<u64> = Vec::new();
    for chat in m.to_chat_ids().into_iter().flatten() {
        if !targets.contains(&chat) {
            targets.push(chat);
        }
    }
    if targets.is_empty() || targets.len() > MAX_FORWARD_TARGETS {
        return Err(invalid(format!("to_chat_ids must name 1..={MAX_FORWARD_TARGETS} chats")));
    }
    let (from, seq) = (m.from_chat_id(), m.seq());
    let ask_copy = |actor| Command::ReadMessage(ReadMessage { actor, chat_id: from, seq, query: MessageQuery::ForwardCopy });
    let answer = cx.ask(chat_owner(from, cx.shard.shards()), ask_copy, me).await.ok_or_else(internal)?;
    let copy = copy_of(&answer)?;
    let device_id = me.1;
    let keys: Vec<(u64, String)> = targets.iter().map(|&chat| (chat, format!("{client_msg_id}@{chat}"))).collect();
    let lookups = keys.clone();
    let earlier = cx
        .blocking(move |s| lookups.iter().map(|(_, key)| s.dedup_lookup(device_id, key).map_err(storage)).collect::<Result<Vec<_>, _>>())
        .await?;
    let sends = keys.into_iter().zip(earlier).map(|((chat_id, key), earlier)| {
        let copy = &copy;
        async move {
            if let Some(rec) = earlier.filter(|r| r.chat_id == chat_id) {
                return ForwardResult { chat_id, message_id: rec.message_id, seq: rec.seq, error_code: 0 };
            }
            let send = |actor| {
                Command::Send(crossing::Send {
                    attachment: copy.attachment.clone().map(Box::new),
                    forwarded: copy.forwarded.clone().map(Box::new),
                    ..crossing::Send::text(actor, chat_id, key, copy.content.clone())
                })
            };
            let failed = |code: u16| ForwardResult { chat_id, error_code: code, ..ForwardResult::default() };
            let Some(answer) = cx.ask(chat_owner(chat_id, cx.shard.shards()), send, me).await else {
                return failed(ErrorCode::Internal as u16);
            };
            match verify::server_frame(&answer) {
                Ok(f) => match f.body_as_send_ack() {
                    Some(a) => ForwardResult { chat_id, message_id: a.message_id(), seq: a.seq(), error_code: 0 },
                    None => failed(error_code(&f)),
                },
                Err(_) => failed(ErrorCode::Internal as u16),
            }
        }
    });
    let results = join_all(sends).await;
    Ok(Some(encode::forward_ack(cx.request_id, &client_msg_id, &results)))
}

/// The copy in the source owner's answer (a one-event `HistoryPage`), or its refusal.
fn copy_of(answer: &[u8]) -> Result<Message, super::Refusal> {
    let frame = verify::server_frame(answer).map_err(|_| internal())?;
    if let Some(e) = frame.body_as_error() {
        let code = ErrorCode::from_u16(e.code()).unwrap_or(ErrorCode::Internal);
        return Err((code, e.message().unwrap_or("").to_string()));
    }
    let event = frame.body_as_history_page().and_then(|p| p.events()).and_then(|e| e.iter().next()).and_then(|b| b.event()).ok_or_else(internal)?;
    let e = verify::event(event.bytes()).map_err(|_| internal())?;
    Message::from_fb(e.body_as_message_body().ok_or_else(internal)?).map_err(|_| internal())
}
