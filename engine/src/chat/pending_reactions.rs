//! The reactions a chat has collected but not yet appended (`reactions.rs` appends them, coalesced),
//! kept apart from that logic so the commit pipeline can hold them without importing it.

use crate::crossing::ReplyTo;
use std::time::Instant;

pub struct Toggle {
    pub seq: u64,
    pub user: u64,
    pub emoji: String,
    pub add: bool,
}

/// Reactions not yet handed over, and the state of the chat's flushes.
#[derive(Default)]
pub struct Pending {
    pub toggles: Vec<Toggle>,
    pub waiters: Vec<ReplyTo>,
    /// A `ReactionsChanged` is being written.
    pub in_flight: bool,
    pub last_flush: Option<Instant>,
    pub wake_armed: bool,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.toggles.is_empty()
    }

    /// Everyone waiting, for a chat that is being dropped.
    pub fn abandon(&mut self) -> Vec<ReplyTo> {
        self.toggles.clear();
        std::mem::take(&mut self.waiters)
    }

    /// `user`'s reactions to `seq` once the pending toggles apply to `known`.
    pub fn effective(&self, seq: u64, user: u64, known: &[String]) -> Vec<String> {
        let mut set = known.to_vec();
        for t in self.toggles.iter().filter(|t| t.seq == seq && t.user == user) {
            toggle(&mut set, &t.emoji, t.add);
        }
        set
    }
}

pub fn toggle(set: &mut Vec<String>, emoji: &str, add: bool) {
    let at = set.iter().position(|e| e == emoji);
    match (at, add) {
        (None, true) => set.push(emoji.to_string()),
        (Some(i), false) => {
            set.remove(i);
        }
        _ => {}
    }
}

