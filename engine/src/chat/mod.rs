//! The chat core: every chat rule, as a state machine with no I/O.
//!
//! A shard owns the chats whose id hashes to it and keeps their state in a [`ChatCore`]. The
//! shard feeds it [`Input`]s — commands from connections, chats read from disk, commit results —
//! and runs the [`Effect`]s it returns: replies, deliveries, loads, history reads. The core
//! decides (membership, roles, dedup, sequence numbers, what to write, whom to tell); it never
//! touches tokio, RocksDB, sockets or a shard, so every rule has a fast deterministic test
//! (`tests.rs`).
//!
//! The one call that is not an effect is the hand-over to the commit thread ([`Commits`]): its
//! answer (accepted, or refused because the queue is full) decides whether the chat's state
//! changes, and a refusal must leave no trace.
//!
//! One room per feature: a request family is one file here (`messages`, `reactions`, `members`,
//! `info`, `joins`, `create`, `reads`), dispatched from the table in [`ChatCore::handle`]; the state it adds is folded in
//! `view.rs` and its storage writes are derived in `projection.rs`. Files here import their
//! siblings, never this one, so the core has no import loop either.

mod append;
mod change;
mod chats;
mod create;
mod cursors;
mod dedup;
mod effects;
mod info;
mod joins;
mod members;
mod messages;
mod pending_reactions;
mod projection;
mod reactions;
mod reads;
mod receipts;
mod rules;
mod settings;
mod typing;
mod targets;
mod view;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod conversation_tests;
#[cfg(test)]
mod message_tests;
#[cfg(test)]
mod receipt_tests;

pub use change::{stored_role, wire_kind, wire_role};
pub use settings::{info_of, state_of};
pub use create::DirectLookup;
pub use effects::{Commits, Effect, Now, Observation, Refusal};
pub use projection::HEAD_EVERY;
pub use targets::Fetched;
pub use view::{ChatView, Snapshot};

use append::ChatState;
use chats::{Chats, Route};
use crate::crossing::Command;
use crate::ids::MessageIds;
use effects::Cx;
use magpie_wire::ErrorCode;
use std::time::Duration;

/// What happened outside the core.
pub enum Input {
    /// A request for a chat this shard owns (or a pair whose direct chat it creates).
    Command(Command),
    /// Load `load` of a chat finished: its state, or `None` when there is no such chat.
    Loaded { chat_id: u64, load: u64, result: Result<Option<ChatView>, String> },
    /// The lookup of a pair's direct chat finished.
    DirectFound { pair: (u64, u64), result: Result<DirectLookup, String> },
    /// The commit thread finished the oldest in-flight batch of a chat.
    Committed { chat_id: u64, result: Result<(), String>, elapsed: Duration },
    /// A read of messages (`Effect::FetchMessages`) finished.
    Fetched { chat_id: u64, generation: u64, reactor: Option<u64>, result: Result<Vec<Fetched>, String> },
    /// The wake-up a chat asked for (`Effect::Wake`).
    Wake { chat_id: u64 },
}

/// The chats one shard owns.
pub struct ChatCore {
    chats: Chats,
    ids: MessageIds,
}

impl ChatCore {
    /// The core of shard `shard` (which goes into the message ids it mints).
    pub fn new(shard: usize) -> ChatCore {
        ChatCore { chats: Chats::default(), ids: MessageIds::new(shard) }
    }

    /// Runs one input; returns what the shard must do, in order.
    pub fn handle(&mut self, input: Input, now: Now, commits: &mut dyn Commits) -> Vec<Effect> {
        let mut cx = Cx { now, commits, ids: &self.ids, effects: Vec::new() };
        let chats = &mut self.chats;
        match input {
            Input::Command(Command::CreateGroup(c)) => create::group(chats, c, &mut cx),
            Input::Command(Command::CreateDirect(c)) => create::direct(chats, c, &mut cx),
            Input::Command(cmd) => {
                let chat_id = cmd.chat_id().expect("every other command names a chat");
                if let (Route::Ready(state), Some(cmd)) = chats.route(chat_id, cmd, &mut cx) {
                    on_chat(state, cmd, &mut cx);
                }
            }
            Input::Loaded { chat_id, load, result } => {
                if let Some((state, waiting)) = chats.loaded(chat_id, load, result, &mut cx) {
                    waiting.into_iter().for_each(|cmd| on_chat(state, cmd, &mut cx));
                }
            }
            Input::DirectFound { pair, result } => create::direct_found(chats, pair, result, &mut cx),
            Input::Committed { chat_id, result, elapsed } => chats.committed(chat_id, result, elapsed, &mut cx),
            Input::Fetched { chat_id, generation, reactor, result } => {
                let Some(chats::Slot::Ready(state)) = chats.slots.get_mut(&chat_id) else { return cx.effects };
                match state.targets.fetched(generation, reactor, result) {
                    Ok(parked) => parked.into_iter().for_each(|cmd| on_chat(state, cmd, &mut cx)),
                    Err((e, parked)) => {
                        tracing::error!(chat_id, error = %e, "reading messages failed");
                        parked.iter().for_each(|c| cx.refuse(c.actor().reply, (ErrorCode::Internal, "storage error")));
                    }
                }
            }
            Input::Wake { chat_id } => {
                if let Some(chats::Slot::Ready(state)) = chats.slots.get_mut(&chat_id) {
                    reactions::woken(state, &mut cx);
                    receipts::wake(state, &mut cx);
                }
            }
        }
        cx.effects
    }

    /// A loaded chat's head and durable views.
    #[cfg(test)]
    pub fn views(&self, chat_id: u64) -> Option<(&ChatView, &ChatView)> {
        match self.chats.slots.get(&chat_id) {
            Some(chats::Slot::Ready(s)) => Some((&s.head, &s.durable)),
            _ => None,
        }
    }
}

/// A command for a loaded chat: the dispatch table.
fn on_chat(state: &mut ChatState, cmd: Command, cx: &mut Cx<'_>) {
    let reply = cmd.actor().reply;
    if state.poisoned {
        return cx.refuse(reply, (ErrorCode::Unavailable, "chat is recovering from a storage error"));
    }
    let result = match cmd {
        Command::Send(c) => messages::send(state, c, cx),
        Command::AddMembers(c) => members::add(state, c, cx),
        Command::RemoveMember(c) => members::remove(state, c, cx),
        Command::GetChat(c) => reads::get_chat(state, c, cx),
        Command::History(c) => reads::history(state, c, cx),
        Command::ListMembers(c) => reads::list_members(state, c, cx),
        Command::UpdateChat(c) => info::update(state, c, cx),
        Command::SetRole(c) => members::set_role(state, c, cx),
        Command::CreateInvite(c) => joins::create_invite(state, c, cx),
        Command::ListInvites(c) => joins::list_invites(state, c, cx),
        Command::RevokeInvite(c) => joins::revoke_invite(state, c, cx),
        Command::Join(c) => joins::join(state, c, cx),
        Command::ListJoinRequests(c) => joins::list_requests(state, c, cx),
        Command::ResolveJoinRequest(c) => joins::resolve_request(state, c, cx),
        Command::MarkReceipts(c) => receipts::mark(state, c, cx),
        Command::GetReceipts(c) => receipts::get(state, c, cx),
        Command::Typing(c) => typing::set(state, c, cx),
        Command::ChatOnline(c) => typing::online(state, c, cx),
        Command::Edit(c) => messages::edit(state, c, cx),
        Command::Delete(c) => messages::delete(state, c, cx),
        Command::React(c) => reactions::react(state, c, cx),
        Command::Pin(c) => messages::pin(state, c, cx),
        Command::MoveLive(c) => messages::move_live(state, c, cx),
        Command::ReadMessage(c) => messages::read(state, c, cx),
        Command::ListPins(c) => messages::list_pins(state, c, cx),
        Command::CreateGroup(_) | Command::CreateDirect(_) => unreachable!("creation names no existing chat"),
    };
    if let Err(refusal) = result {
        cx.refuse(reply, refusal);
    }
}
