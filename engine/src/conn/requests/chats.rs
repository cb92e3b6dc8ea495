//! Chats: creating direct chats and groups, membership, a chat's info, the chat list. Rules are
//! the owner's (`chat::rules`); this side checks arguments and that named users exist.

use super::{invalid, len_between, storage, Answer, Ctx, Refusal};
use crate::crossing::{self, Command, ShardMsg};
use crate::ids::pair_owner;
use crate::pages;
use magpie_storage::Store;
use magpie_wire::limits::*;
use magpie_wire::{fb, ErrorCode};

fn require_users(s: &Store, ids: &[u64]) -> Result<(), Refusal> {
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

pub async fn create_group(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let g = f.body_as_create_group().expect("checked type");
    let title = len_between(g.title(), 1, MAX_TITLE_BYTES, "title")?;
    let members: Vec<u64> = g.member_ids().map(|v| v.iter().collect()).unwrap_or_default();
    if members.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(invalid(format!("at most {MAX_MEMBERS_PER_REQUEST} members per request")));
    }
    let (members, chat_id) = cx
        .blocking(move |s| {
            require_users(s, &members)?;
            let id = s.allocate_ids(1).map_err(storage)?.start;
            Ok((members, id))
        })
        .await?;
    cx.to_owner(chat_id, Command::CreateGroup(crossing::CreateGroup { actor: cx.actor(me), chat_id, title, members }))
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
    let (chat_id, target) = match f.body_as_remove_member() {
        Some(r) => (r.chat_id(), r.user_id()),
        None => (f.body_as_leave_chat().expect("checked type").chat_id(), me.0),
    };
    cx.to_owner(chat_id, Command::RemoveMember(crossing::RemoveMember { actor: cx.actor(me), chat_id, target }))
}

pub fn get_chat(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let chat_id = f.body_as_get_chat().expect("checked type").chat_id();
    cx.to_owner(chat_id, Command::GetChat(crossing::GetChat { actor: cx.actor(me), chat_id }))
}

pub async fn list_chats(cx: &Ctx<'_>, (user_id, _): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let l = f.body_as_list_chats().expect("checked type");
    let after = l.after_chat_id();
    let limit = match l.limit() {
        0 => DEFAULT_CHAT_PAGE,
        n => n.min(MAX_CHAT_PAGE),
    } as usize;
    let rid = cx.request_id;
    Ok(Some(cx.blocking(move |s| pages::chat_list(s, rid, user_id, after, limit).map_err(storage)).await?))
}
