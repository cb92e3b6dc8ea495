//! Membership of groups and channels: adding members, removing one, leaving (an owner hands the
//! chat on), and roles (promote, demote, transfer ownership).
//!
//! In a channel, subscribers (plain members) joining or leaving change only the records beside
//! the log (see `view::Side`): an event would be pushed to every subscriber for every join.

use super::append::{append, commit, After, ChatState, Commit};
use super::change::Change;
use super::effects::{Cx, Refusal};
use super::rules::{self, is_staff, Permission};
use super::view::Side;
use crate::crossing::{AddMembers, Audience, RemoveMember, ReplyTo, SetRole, Signal};
use magpie_storage::{ChatKind, Role};
use magpie_wire::{encode, fb, ErrorCode};
use std::sync::Arc;

/// The push telling `users`' devices they joined or left a channel.
pub fn membership_signal(chat_id: u64, users: &[u64], member: bool) -> Signal {
    Signal { audience: Audience::Users(Arc::from(users)), frame: encode::membership_changed(chat_id, member) }
}

fn ok_then(reply: ReplyTo, signals: Vec<Signal>) -> After {
    After::Reply { reply, frame: encode::ok(reply.request_id), signals }
}

pub fn add(state: &mut ChatState, c: AddMembers, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.head, c.actor.user_id, Permission::AddMembers)?;
    let mut new: Vec<u64> = c.user_ids.into_iter().filter(|u| !state.head.members.contains_key(u)).collect();
    new.sort_unstable();
    new.dedup();
    if new.is_empty() {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    let sender = (c.actor.user_id, c.actor.device_id);
    if state.head.kind() == ChatKind::Channel {
        let signal = membership_signal(state.chat_id(), &new, true);
        let side = Side::Subscribed { since: state.head.last_seq + 1, user_ids: new };
        return commit(state, sender, Commit::side(side, ok_then(c.actor.reply, vec![signal])), cx).map(drop);
    }
    let change = Change::MembersAdded { user_ids: new, via: fb::JoinedVia::Added };
    append(state, sender, change, After::Ok(c.actor.reply), None, cx).map(drop)
}

pub fn remove(state: &mut ChatState, c: RemoveMember, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let left = c.target == c.actor.user_id;
    let sender = (c.actor.user_id, c.actor.device_id);
    let actor_role = rules::check(&state.head, c.actor.user_id, if left { Permission::Leave } else { Permission::Administer })?;
    let Some(target_role) = state.head.role(c.target) else {
        return Err((ErrorCode::UserNotFound, "that user is not a member"));
    };
    if !left && !rules::may_remove(actor_role, target_role) {
        return Err((ErrorCode::Forbidden, "admins remove members; only the owner removes admins; nobody removes the owner"));
    }
    let channel = state.head.kind() == ChatKind::Channel;
    if channel && target_role == Role::Member {
        let signal = membership_signal(state.chat_id(), &[c.target], false);
        let side = Side::Unsubscribed { user_id: c.target };
        return commit(state, sender, Commit::side(side, ok_then(c.actor.reply, vec![signal])), cx).map(drop);
    }
    let removal = Change::MemberRemoved { user_id: c.target, left };
    if target_role == Role::Owner && state.head.members.len() > 1 {
        let successor = successor(state, c.actor.user_id, c.successor)?;
        let changes = vec![Change::OwnerChanged { previous: c.actor.user_id, new: successor }, removal];
        let c = Commit { changes, sides: Vec::new(), after: After::Ok(c.actor.reply), received: None };
        return commit(state, sender, c, cx).map(drop);
    }
    append(state, sender, removal, After::Ok(c.actor.reply), None, cx).map(drop)
}

/// Who takes over from a leaving owner: the named member, else the admin who has been a member
/// longest.
fn successor(state: &ChatState, owner: u64, named: u64) -> Result<u64, Refusal> {
    let view = &state.head;
    if named != 0 {
        return match view.role(named) {
            Some(_) if named != owner => Ok(named),
            _ => Err((ErrorCode::UserNotFound, "the successor must be another member")),
        };
    }
    view.staff
        .iter()
        .filter(|&&u| u != owner)
        .filter_map(|&u| view.members.get(&u).map(|m| (m.since_seq, u)))
        .min()
        .map(|(_, u)| u)
        .ok_or((ErrorCode::OwnerMustTransfer, "name a successor or transfer ownership first: no admin can take over"))
}

/// `SetRole` and `TransferOwnership` (`c.role` = `Owner`).
pub fn set_role(state: &mut ChatState, c: SetRole, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let me = c.actor.user_id;
    // Stepping down needs no admin rights beyond being one; everything else does.
    let stepping_down = c.target == me && c.role == Role::Member;
    let actor_role = rules::check(&state.head, me, if stepping_down { Permission::Leave } else { Permission::Administer })?;
    let Some(target_role) = state.head.role(c.target) else {
        return Err((ErrorCode::UserNotFound, "that user is not a member"));
    };
    let change = match c.role {
        Role::Owner if actor_role != Role::Owner => return Err((ErrorCode::Forbidden, "only the owner transfers ownership")),
        Role::Owner if c.target == me => None,
        Role::Owner => Some(Change::OwnerChanged { previous: me, new: c.target }),
        _ if target_role == c.role => None,
        _ if target_role == Role::Owner => return Err((ErrorCode::Forbidden, "the owner's role changes only by transferring ownership")),
        Role::Admin => Some(Change::RoleChanged { user_id: c.target, role: Role::Admin }),
        Role::Member if stepping_down || actor_role == Role::Owner => Some(Change::RoleChanged { user_id: c.target, role: Role::Member }),
        Role::Member => return Err((ErrorCode::Forbidden, "only the owner demotes admins")),
    };
    debug_assert!(is_staff(actor_role) || stepping_down);
    match change {
        None => {
            cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
            Ok(())
        }
        Some(change) => append(state, (me, c.actor.device_id), change, After::Ok(c.actor.reply), None, cx).map(drop),
    }
}
