//! Chats: creating direct chats, groups and channels, membership and roles, a chat's info and
//! settings, the chat list. Rules are the owner's (`chat::rules`); this side checks arguments,
//! that named users exist, and claims public handles (unique across every shard's chats).

use super::{invalid, len_between, storage, Answer, Ctx, Refusal};
use crate::chat::stored_role;
use crate::crossing::{self, Command, ShardMsg};
use crate::ids::{now_ms, pair_owner};
use crate::pages;
use magpie_storage::{ChatKind, Role, Store};
use magpie_wire::chat::{update, Info, Settings};
use magpie_wire::limits::*;
use magpie_wire::{fb, ErrorCode};

pub(super) fn require_users(s: &Store, ids: &[u64]) -> Result<(), Refusal> {
    for &id in ids {
        if s.user_by_id(id).map_err(storage)?.is_none() {
            return Err((ErrorCode::UserNotFound, format!("no user {id}")));
        }
    }
    Ok(())
}

pub async fn create_direct(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let c = f.body_as_create_direct().expect("checked type");
    let (peer_id, peer_name) = (c.peer_user_id(), c.peer_username().unwrap_or("").to_string());
    let peer = cx
        .blocking(move |s| {
            let u = if peer_id != 0 { s.user_by_id(peer_id) } else { s.user_by_name(&peer_name) };
            u.map_err(storage)?.map(|u| u.user_id).ok_or((ErrorCode::UserNotFound, "no such user".into()))
        })
        .await?;
    if peer == me.0 {
        return Err(invalid("a direct chat needs another user"));
    }
    let cmd = Command::CreateDirect(crossing::CreateDirect { actor: cx.actor(me), peer });
    cx.shard.send_to(pair_owner(me.0, peer, cx.shard.shards()), ShardMsg::Chat(cmd));
    Ok(None)
}

fn check_handle(handle: &str) -> Result<(), Refusal> {
    if handle.is_empty() || valid_handle(handle) {
        Ok(())
    } else {
        Err(invalid(format!("a handle is {MIN_HANDLE_BYTES}..={MAX_HANDLE_BYTES} bytes of [a-z0-9_]")))
    }
}

/// Reserves a non-empty `handle` for `chat_id` (`handle_taken` if another chat has it).
fn claim(s: &Store, handle: &str, chat_id: u64) -> Result<(), Refusal> {
    if handle.is_empty() || s.claim_handle(handle, chat_id, now_ms()).map_err(storage)? {
        Ok(())
    } else {
        Err((ErrorCode::HandleTaken, format!("another chat is @{handle}")))
    }
}

pub async fn create_group(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let g = f.body_as_create_group().expect("checked type");
    let kind = match g.kind() {
        fb::ChatKind::Group => ChatKind::Group,
        fb::ChatKind::Channel => ChatKind::Channel,
        _ => return Err(invalid("CreateGroup makes a group or a channel (direct chats: CreateDirect)")),
    };
    let info = Info {
        title: len_between(g.title(), 1, MAX_TITLE_BYTES, "title")?,
        description: len_between(g.description(), 0, MAX_DESCRIPTION_BYTES, "description")?,
        avatar_ref: String::new(),
        handle: g.handle().unwrap_or("").to_string(),
        settings: Settings::from_fb(g.settings()),
    };
    check_handle(&info.handle)?;
    let members: Vec<u64> = g.member_ids().map(|v| v.iter().collect()).unwrap_or_default();
    if members.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(invalid(format!("at most {MAX_MEMBERS_PER_REQUEST} members per request")));
    }
    let handle = info.handle.clone();
    let (members, chat_id) = cx
        .blocking(move |s| {
            require_users(s, &members)?;
            let id = s.allocate_ids(1).map_err(storage)?.start;
            claim(s, &handle, id)?;
            Ok((members, id))
        })
        .await?;
    cx.to_owner(chat_id, Command::CreateGroup(crossing::CreateGroup { actor: cx.actor(me), chat_id, kind, info, members }))
}

pub async fn add_members(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let a = f.body_as_add_members().expect("checked type");
    let chat_id = a.chat_id();
    let user_ids: Vec<u64> = a.user_ids().map(|v| v.iter().collect()).unwrap_or_default();
    if user_ids.is_empty() || user_ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(invalid(format!("user_ids must hold 1..={MAX_MEMBERS_PER_REQUEST} ids")));
    }
    let user_ids = cx.blocking(move |s| require_users(s, &user_ids).map(|_| user_ids)).await?;
    cx.to_owner(chat_id, Command::AddMembers(crossing::AddMembers { actor: cx.actor(me), chat_id, user_ids }))
}

/// `RemoveMember`, or `LeaveChat` (removing oneself).
pub fn remove_member(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let (chat_id, target, successor) = match f.body_as_remove_member() {
        Some(r) => (r.chat_id(), r.user_id(), 0),
        None => {
            let l = f.body_as_leave_chat().expect("checked type");
            (l.chat_id(), me.0, l.successor())
        }
    };
    cx.to_owner(chat_id, Command::RemoveMember(crossing::RemoveMember { actor: cx.actor(me), chat_id, target, successor }))
}

/// `SetRole` and `TransferOwnership`.
pub fn set_role(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let (chat_id, target, role) = match f.body_as_set_role() {
        Some(r) if r.role() == fb::Role::Owner => return Err(invalid("make someone the owner with TransferOwnership")),
        Some(r) => (r.chat_id(), r.user_id(), stored_role(r.role())),
        None => {
            let t = f.body_as_transfer_ownership().expect("checked type");
            (t.chat_id(), t.user_id(), Role::Owner)
        }
    };
    cx.to_owner(chat_id, Command::SetRole(crossing::SetRole { actor: cx.actor(me), chat_id, target, role }))
}

pub async fn update_chat(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let u = f.body_as_update_chat().expect("checked type");
    let fields = u.fields();
    if fields == 0 || fields & !update::ALL != 0 {
        return Err(invalid("fields must name at least one of: 1 title, 2 description, 4 avatar_ref, 8 handle, 16 settings"));
    }
    let min_title = if fields & update::TITLE != 0 { 1 } else { 0 };
    let info = Info {
        title: len_between(u.title(), min_title, MAX_TITLE_BYTES, "title")?,
        description: len_between(u.description(), 0, MAX_DESCRIPTION_BYTES, "description")?,
        avatar_ref: len_between(u.avatar_ref(), 0, MAX_AVATAR_REF_BYTES, "avatar_ref")?,
        handle: u.handle().unwrap_or("").to_string(),
        settings: Settings::from_fb(u.settings()),
    };
    let chat_id = u.chat_id();
    if fields & update::HANDLE != 0 {
        check_handle(&info.handle)?;
        let handle = info.handle.clone();
        // Claimed before the owner checks the caller may set it; a refused change leaves a claim
        // the chat's record does not back, which the next claimant takes over at once.
        cx.blocking(move |s| claim(s, &handle, chat_id)).await?;
    }
    cx.to_owner(chat_id, Command::UpdateChat(crossing::UpdateChat { actor: cx.actor(me), chat_id, fields, info }))
}

pub fn list_members(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let l = f.body_as_list_members().expect("checked type");
    let limit = match l.limit() {
        0 => DEFAULT_MEMBER_PAGE,
        n => n.min(MAX_MEMBER_PAGE),
    } as usize;
    let cmd = crossing::ListMembers { actor: cx.actor(me), chat_id: l.chat_id(), after_user_id: l.after_user_id(), limit, admins_only: l.admins_only() };
    cx.to_owner(l.chat_id(), Command::ListMembers(cmd))
}

pub fn get_chat(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let chat_id = f.body_as_get_chat().expect("checked type").chat_id();
    cx.to_owner(chat_id, Command::GetChat(crossing::GetChat { actor: cx.actor(me), chat_id }))
}

pub async fn list_chats(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let l = f.body_as_list_chats().expect("checked type");
    let limit = match l.limit() {
        0 => DEFAULT_CHAT_PAGE,
        n => n.min(MAX_CHAT_PAGE),
    } as usize;
    let q = pages::ChatListQuery {
        order: l.order(),
        after: l.after_chat_id(),
        limit,
        archived: l.archived(),
        before: (l.before_ms(), l.before_chat_id()),
    };
    let rid = cx.request_id;
    Ok(Some(cx.blocking(move |s| pages::chat_list(s, rid, user_id, q).map_err(storage)).await?))
}
