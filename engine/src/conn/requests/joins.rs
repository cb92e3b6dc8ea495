//! Invite links, previews, joining by link or handle, and join requests. This side draws invite
//! codes, checks arguments and finds the chat a code or handle names; the chat's owner decides.

use super::{invalid, storage, Answer, Ctx};
use crate::crossing::{self, ChatQuery, Command, JoinBy};
use magpie_wire::{fb, ErrorCode};
use rand::distr::{Alphanumeric, SampleString};

/// Characters in an invite code: 22 alphanumerics, about 131 bits, never guessed.
const INVITE_CODE_LEN: usize = 22;

pub fn create_invite(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let c = f.body_as_create_invite().expect("checked type");
    if c.expires_ms() < 0 {
        return Err(invalid("expires_ms must be 0 (never) or a Unix time in ms"));
    }
    let code = Alphanumeric.sample_string(&mut rand::rng(), INVITE_CODE_LEN);
    let cmd = crossing::CreateInvite { actor: cx.actor(me), chat_id: c.chat_id(), code, expires_ms: c.expires_ms(), max_uses: c.max_uses() };
    cx.to_owner(c.chat_id(), Command::CreateInvite(cmd))
}

pub fn list_invites(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let chat_id = f.body_as_list_invites().expect("checked type").chat_id();
    cx.to_owner(chat_id, Command::ListInvites(ChatQuery { actor: cx.actor(me), chat_id }))
}

pub fn revoke_invite(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let r = f.body_as_revoke_invite().expect("checked type");
    let code = r.code().unwrap_or("").to_string();
    cx.to_owner(r.chat_id(), Command::RevokeInvite(crossing::RevokeInvite { actor: cx.actor(me), chat_id: r.chat_id(), code }))
}

/// `PreviewChat` and `JoinChat`: find the chat the code or handle names, then ask its owner.
pub async fn preview_or_join(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let (code, handle, join) = match f.body_as_join_chat() {
        Some(j) => (j.invite_code(), j.handle(), true),
        None => {
            let p = f.body_as_preview_chat().expect("checked type");
            (p.invite_code(), p.handle(), false)
        }
    };
    let by = match (code.unwrap_or(""), handle.unwrap_or("")) {
        (c, "") if !c.is_empty() => JoinBy::Invite(c.to_string()),
        ("", h) if !h.is_empty() => JoinBy::Handle(h.to_string()),
        _ => return Err(invalid("give exactly one of invite_code and handle")),
    };
    let lookup = by.clone();
    let chat_id = cx
        .blocking(move |s| {
            let found = match &lookup {
                JoinBy::Invite(c) => s.invite_chat(c),
                JoinBy::Handle(h) => s.handle_chat(h),
            };
            found.map_err(storage)?.ok_or(match lookup {
                JoinBy::Invite(_) => (ErrorCode::InviteNotFound, "no such invite link".into()),
                JoinBy::Handle(_) => (ErrorCode::ChatNotFound, "no public chat has that handle".into()),
            })
        })
        .await?;
    cx.to_owner(chat_id, Command::Join(crossing::Join { actor: cx.actor(me), chat_id, by, join }))
}

pub fn list_join_requests(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let chat_id = f.body_as_list_join_requests().expect("checked type").chat_id();
    cx.to_owner(chat_id, Command::ListJoinRequests(ChatQuery { actor: cx.actor(me), chat_id }))
}

pub fn resolve_join_request(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let r = f.body_as_resolve_join_request().expect("checked type");
    let cmd = crossing::ResolveJoinRequest { actor: cx.actor(me), chat_id: r.chat_id(), user_id: r.user_id(), approve: r.approve() };
    cx.to_owner(r.chat_id(), Command::ResolveJoinRequest(cmd))
}
