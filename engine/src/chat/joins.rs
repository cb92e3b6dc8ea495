//! Getting into a chat from outside: invite links (create, list, revoke), previews, joining by
//! link or public handle, and join requests for chats that approve joins.
//!
//! An invite's uses are counted in the same commit as the join (or request) they admit, against
//! the head, so a link with one use admits exactly one person however many try at once.

use super::append::{commit, After, ChatState, Commit};
use super::change::Change;
use super::effects::{Cx, Refusal};
use super::members::membership_signal;
use super::rules::{self, is_staff, Permission, NOT_FOUND};
use super::view::Side;
use crate::crossing::{ChatQuery, CreateInvite, Join, JoinBy, ResolveJoinRequest, RevokeInvite};
use magpie_storage::{ChatKind, InviteRecord};
use magpie_wire::{encode, fb, ErrorCode};

/// Live invite links a chat may have at once.
pub const MAX_LIVE_INVITES: usize = 100;

fn wire_invite(i: &InviteRecord) -> encode::InviteArgs {
    encode::InviteArgs {
        code: i.code.clone(),
        chat_id: i.chat_id,
        created_by: i.created_by,
        created_ms: i.created_ms,
        expires_ms: i.expires_ms,
        max_uses: i.max_uses,
        uses: i.uses,
        revoked: i.revoked,
    }
}

fn expired(i: &InviteRecord, now_ms: i64) -> bool {
    i.expires_ms != 0 && now_ms >= i.expires_ms
}

pub fn create_invite(state: &mut ChatState, c: CreateInvite, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.head, c.actor.user_id, Permission::AddMembers)?;
    let now = cx.now.wall_ms;
    let live = state.head.invites.values().filter(|i| !i.revoked && !expired(i, now)).count();
    if live >= MAX_LIVE_INVITES {
        return Err((ErrorCode::LimitReached, "this chat has 100 live invite links: revoke one first"));
    }
    let invite = InviteRecord {
        code: c.code,
        chat_id: c.chat_id,
        created_by: c.actor.user_id,
        created_ms: now,
        expires_ms: c.expires_ms,
        max_uses: c.max_uses,
        uses: 0,
        revoked: false,
    };
    let frame = encode::invite(c.actor.reply.request_id, &wire_invite(&invite));
    let after = After::Reply { reply: c.actor.reply, frame, signals: Vec::new() };
    commit(state, (c.actor.user_id, c.actor.device_id), Commit::side(Side::Invite(invite), after), cx).map(drop)
}

pub fn list_invites(state: &mut ChatState, c: ChatQuery, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Administer)?;
    let mut invites: Vec<encode::InviteArgs> = state.durable.invites.values().map(wire_invite).collect();
    invites.sort_by(|a, b| (b.created_ms, &b.code).cmp(&(a.created_ms, &a.code)));
    cx.reply(c.actor.reply, encode::invite_list(c.actor.reply.request_id, c.chat_id, &invites));
    Ok(())
}

pub fn revoke_invite(state: &mut ChatState, c: RevokeInvite, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let role = rules::check(&state.head, c.actor.user_id, Permission::Read)?;
    let Some(invite) = state.head.invites.get(&c.code) else {
        return Err((ErrorCode::InviteNotFound, "no invite link with that code in this chat"));
    };
    if invite.created_by != c.actor.user_id && !is_staff(role) {
        return Err((ErrorCode::Forbidden, "only its creator or an admin revokes an invite link"));
    }
    if invite.revoked {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    let side = Side::Invite(InviteRecord { revoked: true, ..invite.clone() });
    commit(state, (c.actor.user_id, c.actor.device_id), Commit::side(side, After::Ok(c.actor.reply)), cx).map(drop)
}

/// The invite `code` if it admits someone now, else why not.
fn usable<'a>(state: &'a ChatState, code: &str, now_ms: i64) -> Result<&'a InviteRecord, Refusal> {
    let i = state.head.invites.get(code).ok_or((ErrorCode::InviteNotFound, "no such invite link"))?;
    if i.revoked {
        Err((ErrorCode::InviteRevoked, "this invite link was revoked"))
    } else if expired(i, now_ms) {
        Err((ErrorCode::InviteExpired, "this invite link has expired"))
    } else if i.max_uses != 0 && i.uses >= i.max_uses {
        Err((ErrorCode::InviteUsedUp, "this invite link has been used up"))
    } else {
        Ok(i)
    }
}

/// `PreviewChat` and `JoinChat`.
pub fn join(state: &mut ChatState, c: Join, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let me = c.actor.user_id;
    let reply = c.actor.reply;
    let is_member = state.head.members.contains_key(&me);
    // An invite or handle names the chat; a member previewing or re-joining with a link that
    // no longer works still gets the chat they are in.
    let invite = match &c.by {
        JoinBy::Invite(code) => match usable(state, code, cx.now.wall_ms) {
            Ok(i) => Some(i.clone()),
            Err(_) if is_member => None,
            Err(refusal) => return Err(refusal),
        },
        JoinBy::Handle(h) if !h.is_empty() && state.head.meta.profile.handle == *h => None,
        JoinBy::Handle(_) if is_member => None,
        JoinBy::Handle(_) => return Err(NOT_FOUND),
    };
    if state.head.kind() == ChatKind::Direct {
        return Err(NOT_FOUND);
    }
    if !c.join {
        cx.reply(reply, state.durable.preview_frame(reply.request_id, me));
        return Ok(());
    }
    if is_member {
        cx.reply(reply, state.durable.info_frame(reply.request_id, me));
        return Ok(());
    }
    if state.head.requests.contains_key(&me) {
        cx.reply(reply, encode::join_pending(reply.request_id, c.chat_id));
        return Ok(());
    }
    let mut sides: Vec<Side> = invite.map(|i| Side::Invite(InviteRecord { uses: i.uses + 1, ..i })).into_iter().collect();
    let via = if matches!(c.by, JoinBy::Invite(_)) { fb::JoinedVia::InviteLink } else { fb::JoinedVia::Handle };
    let sender = (me, c.actor.device_id);
    if state.head.settings.approve_joins {
        sides.push(Side::JoinRequested { user_id: me, time_ms: cx.now.wall_ms });
        let after = After::Reply { reply, frame: encode::join_pending(reply.request_id, c.chat_id), signals: Vec::new() };
        return commit(state, sender, Commit { changes: Vec::new(), sides, after, received: None }, cx).map(drop);
    }
    admit(state, sender, me, via, sides, After::Info { reply, viewer: me, signals: Vec::new() }, cx)
}

/// Makes `user` a member: a `MembersAdded` event in a group, a subscription in a channel (whose
/// user's devices are told by a push).
fn admit(state: &mut ChatState, sender: (u64, u64), user: u64, via: fb::JoinedVia, mut sides: Vec<Side>, mut after: After, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let mut changes = Vec::new();
    if state.head.kind() == ChatKind::Channel {
        sides.insert(0, Side::Subscribed { user_ids: vec![user], since: state.head.last_seq + 1 });
        if let After::Info { signals, .. } | After::Reply { signals, .. } = &mut after {
            signals.push(membership_signal(state.chat_id(), &[user], true));
        }
    } else {
        changes.push(Change::MembersAdded { user_ids: vec![user], via });
    }
    commit(state, sender, Commit { changes, sides, after, received: None }, cx).map(drop)
}

pub fn list_requests(state: &mut ChatState, c: ChatQuery, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Administer)?;
    let requests: Vec<(u64, i64)> = state.durable.requests.iter().map(|(&u, &t)| (u, t)).collect();
    cx.reply(c.actor.reply, encode::join_request_list(c.actor.reply.request_id, c.chat_id, &requests));
    Ok(())
}

pub fn resolve_request(state: &mut ChatState, c: ResolveJoinRequest, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.head, c.actor.user_id, Permission::Administer)?;
    if !state.head.requests.contains_key(&c.user_id) {
        return Err((ErrorCode::UserNotFound, "that user has no pending request"));
    }
    let sender = (c.actor.user_id, c.actor.device_id);
    let dropped = vec![Side::JoinRequestDropped { user_id: c.user_id }];
    let ok = After::Reply { reply: c.actor.reply, frame: encode::ok(c.actor.reply.request_id), signals: Vec::new() };
    if !c.approve || state.head.members.contains_key(&c.user_id) {
        return commit(state, sender, Commit { changes: Vec::new(), sides: dropped, after: ok, received: None }, cx).map(drop);
    }
    admit(state, sender, c.user_id, fb::JoinedVia::Approved, dropped, ok, cx)
}
