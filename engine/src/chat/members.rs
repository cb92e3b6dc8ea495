//! Membership of groups: adding members, removing one, leaving.

use super::append::{append, After, ChatState};
use super::change::Change;
use super::effects::{Cx, Refusal};
use super::rules::{self, Permission};
use crate::crossing::{AddMembers, RemoveMember};
use magpie_wire::{encode, ErrorCode};

pub fn add(state: &mut ChatState, c: AddMembers, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.head, c.actor.user_id, Permission::AddMembers)?;
    let mut new: Vec<u64> = c.user_ids.into_iter().filter(|u| !state.head.members.contains_key(u)).collect();
    new.sort_unstable();
    new.dedup();
    if new.is_empty() {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    let change = Change::MembersAdded { user_ids: new };
    append(state, (c.actor.user_id, c.actor.device_id), change, After::Ok(c.actor.reply), None, cx).map(drop)
}

pub fn remove(state: &mut ChatState, c: RemoveMember, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let left = c.target == c.actor.user_id;
    let permission = if left { Permission::Leave } else { Permission::RemoveMembers };
    rules::check(&state.head, c.actor.user_id, permission)?;
    if !state.head.members.contains_key(&c.target) {
        return Err((ErrorCode::UserNotFound, "that user is not a member"));
    }
    let change = Change::MemberRemoved { user_id: c.target, left };
    append(state, (c.actor.user_id, c.actor.device_id), change, After::Ok(c.actor.reply), None, cx).map(drop)
}
