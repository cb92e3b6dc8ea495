//! Messages: `SendMessage` — idempotent per (device, client message id), sequenced, durable
//! before it is acked or delivered.

use super::append::{append, After, ChatState};
use super::change::Change;
use super::dedup::Seen;
use super::effects::{Cx, Refusal};
use super::rules::{self, Permission};
use crate::crossing::Send;
use magpie_wire::encode;

pub fn send(state: &mut ChatState, c: Send, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.head, c.actor.user_id, Permission::Post)?;
    let key = (c.actor.device_id, c.client_msg_id);
    match state.dedup.check(&key, c.actor.reply) {
        Seen::Joined => return Ok(()),
        Seen::Acked(a) => {
            let ack = encode::send_ack(c.actor.reply.request_id, state.chat_id(), &key.1, a.message_id, a.seq, a.time_ms);
            cx.reply(c.actor.reply, ack);
            return Ok(());
        }
        Seen::New => {}
    }
    let time_ms = cx.now.wall_ms;
    let message_id = cx.ids.next(time_ms);
    let change = Change::Message { message_id, client_msg_id: key.1.clone(), content: c.content };
    let after = After::Ack { key: key.clone(), message_id, time_ms };
    append(state, (c.actor.user_id, c.actor.device_id), change, after, Some(cx.now.at), cx)?;
    state.dedup.pending(key, c.actor.reply);
    Ok(())
}
