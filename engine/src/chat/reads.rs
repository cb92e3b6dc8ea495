//! Reads of a chat: its info, its members and its history. Answered from the durable state, so
//! nobody sees anything a crash could erase, and checked by the same rule book as every write.

use super::append::ChatState;
use super::effects::{Cx, Effect, Refusal};
use super::rules::{self, is_staff, Permission};
use crate::crossing::{GetChat, History, ListMembers};
use magpie_storage::ChatKind;
use magpie_wire::chat::MemberEntry;
use magpie_wire::{encode, fb};

pub fn get_chat(state: &mut ChatState, c: GetChat, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Read)?;
    cx.reply(c.actor.reply, state.durable.info_frame(c.actor.reply.request_id, c.actor.user_id));
    Ok(())
}

/// A page of members by ascending id. A channel's subscribers are listed to admins only.
pub fn list_members(state: &mut ChatState, c: ListMembers, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let view = &state.durable;
    let role = rules::check(view, c.actor.user_id, Permission::Read)?;
    let admins_only = c.admins_only || (view.kind() == ChatKind::Channel && !is_staff(role));
    let page: Vec<MemberEntry> = if admins_only {
        view.staff.range(c.after_user_id.saturating_add(1)..).filter_map(|&u| view.entry(u)).take(c.limit + 1).collect()
    } else {
        view.members.range(c.after_user_id.saturating_add(1)..).filter_map(|(&u, _)| view.entry(u)).take(c.limit + 1).collect()
    };
    let has_more = page.len() > c.limit;
    let page = &page[..page.len().min(c.limit)];
    cx.reply(c.actor.reply, encode::member_list(c.actor.reply.request_id, c.chat_id, page, has_more));
    Ok(())
}

pub fn history(state: &mut ChatState, c: History, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Read)?;
    let view = &state.durable;
    let from_min = match view.settings.history {
        fb::HistoryVisibility::SinceJoined => view.members.get(&c.actor.user_id).map_or(0, |m| m.since_seq),
        _ => 0,
    };
    cx.effects.push(Effect::ReadHistory {
        reply: c.actor.reply,
        chat_id: c.chat_id,
        from_seq: c.from_seq,
        direction: c.direction,
        limit: c.limit,
        up_to: view.last_seq,
        from_min,
        viewer: c.actor.user_id,
    });
    Ok(())
}
