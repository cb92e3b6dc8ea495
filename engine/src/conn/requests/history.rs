//! History: `History` pages. The owner checks membership against the chat's durable state and
//! reads the log, so history follows exactly the rules every other request does.

use super::{Answer, Ctx};
use crate::crossing::{self, Command};
use magpie_wire::fb;
use magpie_wire::limits::*;

pub fn history(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let h = f.body_as_history().expect("checked type");
    let limit = match h.limit() {
        0 => DEFAULT_HISTORY_LIMIT,
        l => l.min(MAX_HISTORY_LIMIT),
    } as usize;
    let cmd = crossing::History { actor: cx.actor(me), chat_id: h.chat_id(), from_seq: h.from_seq(), direction: h.direction(), limit };
    cx.to_owner(h.chat_id(), Command::History(cmd))
}
