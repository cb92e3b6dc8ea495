//! The chats a shard owns: loaded, being loaded (with the commands waiting for them), and the
//! direct chats being looked up (with the requests waiting for each pair).

use super::append::{self, ChatState};
use super::effects::{Cx, Effect};
use super::rules;
use super::view::ChatView;
use crate::crossing::{Actor, Command, ReplyTo};
use crate::ids::IdMap;
use magpie_wire::ErrorCode;
use std::collections::HashMap;
use std::time::Duration;

pub enum Slot {
    /// Being read from disk by load number `.0`, with the commands waiting for it.
    Loading(u64, Vec<Command>),
    Ready(Box<ChatState>),
}

/// Requests for one pair's direct chat while it is looked up or created.
pub struct DirectWait {
    /// The first to ask: the creator, if the chat is new.
    pub creator: Actor,
    pub replies: Vec<ReplyTo>,
}

#[derive(Default)]
pub struct Chats {
    pub slots: IdMap<Slot>,
    pub directs: HashMap<(u64, u64), DirectWait>,
    /// Loads started so far: numbers them, so that a load only finishes its own `Loading` slot.
    loads: u64,
}

/// Where a command for an existing chat goes.
pub enum Route<'a> {
    Ready(&'a mut ChatState),
    /// Queued behind a load (perhaps one it just started).
    Waiting,
}

impl Chats {
    /// The loaded chat, or the command queued until it is.
    pub fn route(&mut self, chat_id: u64, cmd: Command, cx: &mut Cx<'_>) -> (Route<'_>, Option<Command>) {
        if !self.slots.contains_key(&chat_id) {
            self.loads += 1;
            self.slots.insert(chat_id, Slot::Loading(self.loads, Vec::new()));
            cx.effects.push(Effect::Load { chat_id, load: self.loads });
        }
        match self.slots.get_mut(&chat_id) {
            Some(Slot::Ready(state)) => (Route::Ready(state), Some(cmd)),
            Some(Slot::Loading(_, queue)) => {
                queue.push(cmd);
                (Route::Waiting, None)
            }
            None => unreachable!("inserted above"),
        }
    }

    /// Load `load` finished. Returns the state and the commands that waited for it, if the slot
    /// is still that load's: the chat may have been created while the load ran (creation took
    /// the slot over and answered the commands that waited), and then what was read is stale.
    pub fn loaded(&mut self, chat_id: u64, load: u64, result: Result<Option<ChatView>, String>, cx: &mut Cx<'_>) -> Option<(&mut ChatState, Vec<Command>)> {
        if !matches!(self.slots.get(&chat_id), Some(Slot::Loading(n, _)) if *n == load) {
            return None;
        }
        let Some(Slot::Loading(_, waiting)) = self.slots.remove(&chat_id) else { unreachable!("checked above") };
        match result {
            Ok(Some(view)) => {
                self.slots.insert(chat_id, Slot::Ready(Box::new(ChatState::new(view))));
                let Some(Slot::Ready(state)) = self.slots.get_mut(&chat_id) else { unreachable!("inserted above") };
                Some((state, waiting))
            }
            Ok(None) => {
                waiting.iter().for_each(|c| cx.refuse(c.actor().reply, rules::NOT_FOUND));
                None
            }
            Err(e) => {
                tracing::error!(chat_id, error = %e, "loading chat failed");
                waiting.iter().for_each(|c| cx.refuse(c.actor().reply, (ErrorCode::Internal, "storage error")));
                None
            }
        }
    }

    /// The commit thread finished the oldest in-flight event of `chat_id`.
    pub fn committed(&mut self, chat_id: u64, result: Result<(), String>, elapsed: Duration, cx: &mut Cx<'_>) {
        let Some(Slot::Ready(state)) = self.slots.get_mut(&chat_id) else {
            tracing::error!(chat_id, "commit result for a chat that is not loaded");
            return;
        };
        if let Some(created) = append::committed(state, result, elapsed, cx) {
            let replies = self.directs.remove(&created.pair).map(|w| w.replies).unwrap_or_default();
            for r in replies {
                match created.durable {
                    true => cx.reply(r, state.durable.info_frame(r.request_id, 0)),
                    false => cx.refuse(r, (ErrorCode::Internal, "storage error")),
                }
            }
        }
        if state.poisoned && state.idle() {
            state.abandon(cx);
            self.slots.remove(&chat_id);
            return;
        }
        super::reactions::flush_if_due(state, cx);
        let idle = state.idle() && state.reactions.is_empty();
        state.targets.trim(idle);
    }

    /// Makes `state` a new chat's loaded state. Commands that named the id before the chat
    /// existed (ids are handed out before their chats exist) wait in a `Loading` slot for a load
    /// that will find nothing: they came first, so they get `chat_not_found`, and that load
    /// leaves the slot alone.
    pub fn insert_new(&mut self, state: ChatState, cx: &mut Cx<'_>) {
        if let Some(Slot::Loading(_, early)) = self.slots.insert(state.chat_id(), Slot::Ready(Box::new(state))) {
            early.iter().for_each(|c| cx.refuse(c.actor().reply, rules::NOT_FOUND));
        }
    }

    /// The replies waiting for a pair (removing them).
    pub fn take_direct(&mut self, pair: (u64, u64)) -> Option<DirectWait> {
        self.directs.remove(&pair)
    }
}
