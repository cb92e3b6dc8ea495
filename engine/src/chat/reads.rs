//! Reads of a chat: its info and its history. Answered from the durable state, so nobody sees
//! anything a crash could erase, and checked by the same rule book as every write.

use super::append::ChatState;
use super::effects::{Cx, Refusal};
use super::rules::{self, Permission};
use crate::crossing::{GetChat, History};

pub fn get_chat(state: &mut ChatState, c: GetChat, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Participate)?;
    cx.reply(c.actor.reply, state.durable.info_frame(c.actor.reply.request_id));
    Ok(())
}

pub fn history(state: &mut ChatState, c: History, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Participate)?;
    cx.effects.push(super::effects::Effect::ReadHistory {
        reply: c.actor.reply,
        chat_id: c.chat_id,
        from_seq: c.from_seq,
        direction: c.direction,
        limit: c.limit,
        up_to: state.durable.last_seq,
    });
    Ok(())
}
