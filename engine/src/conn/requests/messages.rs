//! Messages: `SendMessage`. Arguments are checked here and a retry of a send acked before this
//! process started is answered from the dedup records on disk; the owner does the rest.

use super::{invalid, len_between, storage, Answer, Ctx};
use crate::crossing::{self, Command};
use magpie_wire::limits::*;
use magpie_wire::{encode, fb, ErrorCode};

pub async fn send(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let m = f.body_as_send_message().expect("checked type");
    let chat_id = m.chat_id();
    let client_msg_id = len_between(m.client_msg_id(), 1, MAX_CLIENT_MSG_ID_BYTES, "client_msg_id")?;
    let content = m.content().unwrap_or("");
    if content.len() > MAX_CONTENT_BYTES {
        return Err((ErrorCode::ContentTooLarge, format!("content is over {MAX_CONTENT_BYTES} bytes")));
    }
    if content.is_empty() {
        return Err(invalid("content must not be empty"));
    }
    let content = content.to_string();
    // Newer retries are caught by the owner's in-memory window.
    let (device_id, cmid) = (me.1, client_msg_id.clone());
    let earlier = cx.blocking(move |s| s.dedup_lookup(device_id, &cmid).map_err(storage)).await?;
    if let Some(rec) = earlier {
        if rec.chat_id != chat_id {
            return Err(invalid("client_msg_id was already used in another chat"));
        }
        return Ok(Some(encode::send_ack(cx.request_id, chat_id, &client_msg_id, rec.message_id, rec.seq, rec.time_ms)));
    }
    cx.to_owner(chat_id, Command::Send(crossing::Send { actor: cx.actor(me), chat_id, client_msg_id, content }))
}
