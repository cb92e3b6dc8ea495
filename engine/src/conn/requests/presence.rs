//! Presence, privacy and typing requests (PROTOCOL.md §6.15): `SetPresence`, `WatchPresence`,
//! `SetPrivacy`, `GetPrivacy` and `SetTyping`. Presence itself lives in `presence.rs`; typing's
//! rules are the chat owner's (`chat/typing.rs`).

use super::{invalid, storage, Answer, Ctx};
use crate::crossing::{self, Actor, Audience, Command, PresenceState, Signal};
use crate::presence_io::{self as presence, Seen};
use magpie_storage::UserSettings;
use magpie_wire::presence::{presence_fields, privacy_fields, Privacy, MAX_WATCHED_CHATS, MAX_WATCHED_USERS};
use magpie_wire::{encode, fb, ErrorCode};
use std::collections::HashSet;
use std::sync::Arc;

fn wire_privacy(s: &UserSettings) -> Privacy {
    Privacy { read_receipts: s.read_receipts, last_seen: fb::LastSeenVisibility(s.last_seen) }
}

pub async fn get_privacy(cx: &Ctx<'_>, (user_id, _): (u64, u64)) -> Answer {
    let s = cx.blocking(move |s| s.user_settings(user_id).map_err(storage)).await?;
    Ok(Some(encode::privacy(cx.request_id, &wire_privacy(&s))))
}

pub async fn set_privacy(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let p = f.body_as_set_privacy().expect("checked type");
    let fields = p.fields();
    if fields == 0 || fields & !privacy_fields::ALL != 0 {
        return Err(invalid("fields must name at least one of: 1 read_receipts, 2 last_seen"));
    }
    let (read_receipts, last_seen) = (p.read_receipts(), p.last_seen().0);
    let user_id = me.0;
    let (after, chats) = cx
        .blocking(move |s| {
            let mut before = UserSettings::default();
            let after = s
                .update_user_settings(user_id, |old| {
                    before = old;
                    let mut new = old;
                    if fields & privacy_fields::READ_RECEIPTS != 0 {
                        new.read_receipts = read_receipts;
                    }
                    if fields & privacy_fields::LAST_SEEN != 0 {
                        new.last_seen = last_seen;
                    }
                    new
                })
                .map_err(storage)?;
            let chats = if before.read_receipts != after.read_receipts { s.chats_of_user(user_id).map_err(storage)? } else { Vec::new() };
            Ok((after, chats))
        })
        .await?;
    presence::settings_changed(cx.shard, user_id, after);
    // Read receipts turned on or off: every chat's owner learns it (a command nobody answers),
    // so others stop (or start) seeing this user's read cursor at once.
    for chat_id in chats {
        let actor = Actor { reply: crossing::ReplyTo { request_id: 0, ..cx.actor(me).reply }, ..cx.actor(me) };
        let cmd = crossing::MarkReceipts { actor, chat_id, delivered_seq: 0, read_seq: 0, read_private: !after.read_receipts };
        cx.to_owner(chat_id, Command::MarkReceipts(cmd))?;
    }
    let push = encode::privacy(0, &wire_privacy(&after));
    cx.shard.broadcast_signal(Signal { audience: Audience::Users(Arc::from([user_id])), frame: push });
    Ok(Some(encode::privacy(cx.request_id, &wire_privacy(&after))))
}

pub async fn set_presence(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let p = f.body_as_set_presence().expect("checked type");
    let fields = p.fields();
    if fields == 0 || fields & !presence_fields::ALL != 0 {
        return Err(invalid("fields must name at least one of: 1 active, 2 dnd"));
    }
    if fields & presence_fields::DND != 0 {
        let (user_id, dnd) = (me.0, p.dnd());
        let after = cx.blocking(move |s| s.update_user_settings(user_id, |old| UserSettings { dnd, ..old }).map_err(storage)).await?;
        presence::settings_changed(cx.shard, user_id, after);
    }
    if fields & presence_fields::ACTIVE != 0 {
        presence::active(cx.shard, cx.conn.id, me.0);
    }
    Ok(Some(encode::ok(cx.request_id)))
}

pub async fn watch(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let w = f.body_as_watch_presence().expect("checked type");
    let mut users: Vec<u64> = w.user_ids().map(|v| v.iter().collect()).unwrap_or_default();
    let mut chats: Vec<u64> = w.chat_ids().map(|v| v.iter().collect()).unwrap_or_default();
    if users.len() > MAX_WATCHED_USERS || chats.len() > MAX_WATCHED_CHATS {
        return Err(invalid(format!("at most {MAX_WATCHED_USERS} users and {MAX_WATCHED_CHATS} chats")));
    }
    let mut seen = HashSet::new();
    users.retain(|u| seen.insert(*u));
    let mut seen = HashSet::new();
    chats.retain(|c| seen.insert(*c));
    let user_id = me.0;
    let (users, chats) = cx
        .blocking(move |s| {
            let mine: HashSet<u64> = s.chats_of_user(user_id).map_err(storage)?.into_iter().collect();
            let mut out = Vec::with_capacity(users.len());
            for u in users {
                let settings = s.user_settings(u).map_err(storage)?;
                let last_seen = s.last_seen(u).map_err(storage)?.unwrap_or(0);
                let shares = u == user_id || s.chats_of_user(u).map_err(storage)?.iter().any(|c| mine.contains(c));
                let seen = if shares {
                    let shown = if settings.last_seen == 2 { 0 } else { last_seen };
                    Seen::Shared { stored: PresenceState { user_id: u, status: fb::PresenceStatus::Offline, last_seen_ms: shown } }
                } else {
                    Seen::Stranger { last_seen_ms: if settings.last_seen == 0 { last_seen } else { 0 } }
                };
                out.push((u, seen));
            }
            chats.retain(|c| mine.contains(c));
            Ok((out, chats))
        })
        .await?;
    let now = presence::set_watch(cx.shard, cx.conn, user_id, users, chats);
    Ok(Some(encode::presence_changed(cx.request_id, &now, &[])))
}

/// `SetPresence` as a datagram: only the activity bit counts (do-not-disturb is a stored
/// setting, changed over the control stream).
pub fn datagram_activity(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) {
    if f.body_as_set_presence().is_some_and(|p| p.fields() & presence_fields::ACTIVE != 0) {
        presence::active(cx.shard, cx.conn.id, me.0);
    }
}

/// `SetTyping` over the control stream (`answer`), or as a QUIC datagram (never answered).
pub fn typing(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>, answer: bool) -> Answer {
    let t = f.body_as_set_typing().expect("checked type");
    if let Err(retry) = presence::typing_allowed(cx.shard, cx.conn.id, me.0) {
        return match answer {
            true => {
                cx.conn.push_reply(encode::error(cx.request_id, ErrorCode::TypingRateLimited, "typing too fast", retry));
                Ok(None)
            }
            false => Ok(None),
        };
    }
    if t.kind() != fb::TypingKind::Stopped {
        presence::active(cx.shard, cx.conn.id, me.0);
    }
    let mut actor = cx.actor(me);
    if !answer {
        actor.reply.request_id = 0;
    }
    let cmd = crossing::Typing { actor, chat_id: t.chat_id(), kind: t.kind(), answer };
    cx.to_owner(t.chat_id(), Command::Typing(cmd))
}
