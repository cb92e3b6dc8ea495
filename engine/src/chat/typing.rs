//! The chat core's part of typing indicators and online counts (PROTOCOL.md §6.15): who may
//! type in a chat, and who is told. Neither is ever stored.
//!
//! Typing needs the right to post (a channel's subscribers cannot type). In chats of at most
//! [`TYPING_ALL_MEMBERS_MAX`] members every member's connections are told; in larger ones only
//! the connections watching the chat (`WatchPresence.chat_ids`), so a 100,000-member group does
//! not push every keystroke pause to everyone.

use super::effects::{Cx, Effect, Refusal};
use super::rules::{self, Permission};
use super::append::ChatState;
use crate::crossing::{Audience, ChatOnline, Signal, Typing};
use magpie_wire::presence::{TYPING_ALL_MEMBERS_MAX, TYPING_EXPIRES_MS};
use magpie_wire::encode;

pub fn set(state: &mut ChatState, c: Typing, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let view = &state.durable;
    let refused = rules::check(view, c.actor.user_id, Permission::Post);
    if let Err(refusal) = refused {
        // A datagram is never answered.
        return if c.answer { Err(refusal) } else { Ok(()) };
    }
    let frame = encode::typing_changed(c.chat_id, c.actor.user_id, c.kind, TYPING_EXPIRES_MS);
    if view.members.len() <= TYPING_ALL_MEMBERS_MAX {
        cx.effects.push(Effect::Signal(Signal { audience: Audience::Members(view.members.clone()), frame }));
    } else {
        cx.effects.push(Effect::ToWatchers { chat_id: c.chat_id, frame });
    }
    if c.answer {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
    }
    Ok(())
}

/// A connection watches the chat's online count: members get it counted; anyone else is
/// ignored (the watch says nothing about chats one is not in).
pub fn online(state: &mut ChatState, c: ChatOnline, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let view = &state.durable;
    if rules::member(view, c.actor.user_id).is_ok() {
        cx.effects.push(Effect::CountOnline { chat_id: c.chat_id, members: view.members.clone(), reply: c.actor.reply, token: c.token });
    }
    Ok(())
}
