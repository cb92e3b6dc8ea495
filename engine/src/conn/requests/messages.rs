//! Messages and what changes them: `SendMessage`, `EditMessage`, `DeleteMessages`, `React`,
//! `PinMessage`, `UpdateLiveLocation`, and the reads `ListReactions`, `ListPins`,
//! `GetMessageVersions`. Arguments are checked here (limits, attachments, emoji); a retry of a
//! send acked before this process started is answered from the dedup records on disk; the chat's
//! owner does the rest (PROTOCOL.md §6.13).

use super::{invalid, len_between, storage, Answer, Ctx};
use crate::crossing::{self, ChatQuery, Command, MessageQuery};
use crate::ids::now_ms;
use magpie_wire::limits::*;
use magpie_wire::message::{self, Attachment, Location};
use magpie_wire::{encode, fb, ErrorCode};

fn content_of(content: Option<&str>, may_be_empty: bool) -> Result<String, super::Refusal> {
    let content = content.unwrap_or("");
    if content.len() > MAX_CONTENT_BYTES {
        return Err((ErrorCode::ContentTooLarge, format!("content is over {MAX_CONTENT_BYTES} bytes")));
    }
    if content.is_empty() && !may_be_empty {
        return Err(invalid("content must not be empty"));
    }
    Ok(content.to_string())
}

fn mentions_of(v: impl IntoIterator<Item = u64>) -> Result<Vec<u64>, super::Refusal> {
    let v: Vec<u64> = v.into_iter().collect();
    if v.len() > MAX_MENTIONS {
        return Err(invalid(format!("at most {MAX_MENTIONS} mentions")));
    }
    Ok(v)
}

pub async fn send(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let m = f.body_as_send_message().expect("checked type");
    let chat_id = m.chat_id();
    let client_msg_id = len_between(m.client_msg_id(), 1, MAX_CLIENT_MSG_ID_BYTES, "client_msg_id")?;
    let attachment = Attachment::from_union(m.attachment_type(), m.attachment_as_location(), m.attachment_as_contact()).map_err(invalid)?;
    if let Some(a) = &attachment {
        a.check(now_ms()).map_err(invalid)?;
    }
    let content = content_of(m.content(), attachment.is_some())?;
    let mentions = mentions_of(m.mentions().into_iter().flatten())?;
    // Newer retries are caught by the owner's in-memory window.
    let (device_id, cmid) = (me.1, client_msg_id.clone());
    let earlier = cx.blocking(move |s| s.dedup_lookup(device_id, &cmid).map_err(storage)).await?;
    if let Some(rec) = earlier {
        if rec.chat_id != chat_id {
            return Err(invalid("client_msg_id was already used in another chat"));
        }
        return Ok(Some(encode::send_ack(cx.request_id, chat_id, &client_msg_id, rec.message_id, rec.seq, rec.time_ms)));
    }
    let send = crossing::Send {
        reply_to_seq: m.reply_to_seq(),
        mentions,
        mention_all: m.mention_all(),
        attachment: attachment.map(Box::new),
        ..crossing::Send::text(cx.actor(me), chat_id, client_msg_id, content)
    };
    cx.to_owner(chat_id, Command::Send(send))
}

pub fn edit(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let e = f.body_as_edit_message().expect("checked type");
    // Whether a caption may be empty depends on the message: the owner checks that.
    let content = content_of(e.content(), true)?;
    let cmd = crossing::Edit { actor: cx.actor(me), chat_id: e.chat_id(), seq: e.seq(), content, mentions: mentions_of(e.mentions().into_iter().flatten())? };
    cx.to_owner(e.chat_id(), Command::Edit(cmd))
}

pub fn delete(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let d = f.body_as_delete_messages().expect("checked type");
    let mut seqs: Vec<u64> = d.seqs().map(|v| v.iter().collect()).unwrap_or_default();
    seqs.sort_unstable();
    seqs.dedup();
    if seqs.is_empty() || seqs.len() > MAX_DELETE_SEQS {
        return Err(invalid(format!("seqs must name 1..={MAX_DELETE_SEQS} messages")));
    }
    let cmd = crossing::Delete { actor: cx.actor(me), chat_id: d.chat_id(), seqs, for_everyone: d.for_everyone() };
    cx.to_owner(d.chat_id(), Command::Delete(cmd))
}

pub fn react(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let r = f.body_as_react().expect("checked type");
    let emoji = r.emoji().unwrap_or("");
    if !message::valid_reaction(emoji) {
        return Err(invalid("emoji must be 1..=32 bytes with no whitespace or control characters"));
    }
    let cmd = crossing::React { actor: cx.actor(me), chat_id: r.chat_id(), seq: r.seq(), emoji: emoji.to_string(), add: r.add() };
    cx.to_owner(r.chat_id(), Command::React(cmd))
}

pub fn list_reactions(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let l = f.body_as_list_reactions().expect("checked type");
    let emoji = l.emoji().filter(|e| !e.is_empty()).map(str::to_string);
    let limit = match l.limit() {
        0 => DEFAULT_REACTION_PAGE,
        n => n.min(MAX_REACTION_PAGE),
    } as usize;
    let query = MessageQuery::Reactions { emoji, after_user_id: l.after_user_id(), limit };
    read(cx, me, l.chat_id(), l.seq(), query)
}

pub fn versions(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let v = f.body_as_get_message_versions().expect("checked type");
    read(cx, me, v.chat_id(), v.seq(), MessageQuery::Versions)
}

fn read(cx: &Ctx<'_>, me: (u64, u64), chat_id: u64, seq: u64, query: MessageQuery) -> Answer {
    cx.to_owner(chat_id, Command::ReadMessage(crossing::ReadMessage { actor: cx.actor(me), chat_id, seq, query }))
}

pub fn pin(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let p = f.body_as_pin_message().expect("checked type");
    let cmd = crossing::Pin { actor: cx.actor(me), chat_id: p.chat_id(), seq: p.seq(), pinned: p.pinned() };
    cx.to_owner(p.chat_id(), Command::Pin(cmd))
}

pub fn list_pins(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let chat_id = f.body_as_list_pins().expect("checked type").chat_id();
    cx.to_owner(chat_id, Command::ListPins(ChatQuery { actor: cx.actor(me), chat_id }))
}

pub fn update_live_location(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let u = f.body_as_update_live_location().expect("checked type");
    if !Location::valid_position(u.latitude(), u.longitude(), u.accuracy_m()) {
        return Err(invalid("latitude must be -90..=90, longitude -180..=180, accuracy_m >= 0"));
    }
    let position = (u.latitude(), u.longitude(), u.accuracy_m());
    let cmd = crossing::MoveLive { actor: cx.actor(me), chat_id: u.chat_id(), seq: u.seq(), position, stop: u.stop() };
    cx.to_owner(u.chat_id(), Command::MoveLive(cmd))
}
