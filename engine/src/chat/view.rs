//! A chat's state as its log defines it, and the one fold that builds it.
//!
//! `ChatView::apply` is the only code that changes a chat's state: the owner applies each change
//! it appends (to its head view at once, to its durable view once committed), and a load applies
//! the stored events that follow the chat's stored snapshot. Later features add their state here
//! and so reload the same way.

use super::change::{wire_kind, wire_role, Change};
use crate::ids::IdMap;
use bytes::Bytes;
use magpie_storage::{ChatHead, ChatKind, ChatMeta, Role};
use magpie_wire::{encode, fb};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct ChatView {
    pub meta: ChatMeta,
    pub members: IdMap<Role>,
    /// Highest sequence number applied.
    pub last_seq: u64,
    /// Sequence number of the newest message (0: none).
    pub last_message_seq: u64,
}

/// What a load reads from storage: the chat's records and stored head, plus the events after it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub meta: ChatMeta,
    pub members: Vec<(u64, Role)>,
    pub head: ChatHead,
}

impl ChatView {
    /// The view of a stored snapshot; fold the events after `snapshot.head.at_seq` onto it.
    pub fn from_snapshot(s: Snapshot) -> ChatView {
        ChatView {
            meta: s.meta,
            members: s.members.into_iter().collect(),
            last_seq: s.head.at_seq,
            last_message_seq: s.head.last_message_seq,
        }
    }

    /// A chat about to get its first event.
    pub fn new_chat(meta: ChatMeta) -> ChatView {
        ChatView { meta, members: IdMap::default(), last_seq: 0, last_message_seq: 0 }
    }

    /// The fold step: the state after the event `seq` holding `change`. Applying an event twice
    /// (a snapshot older than the member records it sits beside) changes nothing the second time.
    pub fn apply(&mut self, seq: u64, change: &Change) {
        let head = self.head_after(seq, change);
        (self.last_seq, self.last_message_seq) = (head.at_seq, head.last_message_seq);
        match change {
            Change::Created { members, .. } => self.members.extend(members.iter().copied()),
            Change::Message { .. } => {}
            Change::MembersAdded { user_ids } => {
                for &u in user_ids {
                    self.members.entry(u).or_insert(Role::Member);
                }
            }
            Change::MemberRemoved { user_id, .. } => {
                self.members.remove(user_id);
            }
        }
    }

    /// Folds stored events (ascending) onto this view.
    pub fn fold<'a>(&mut self, events: impl IntoIterator<Item = &'a [u8]>) -> Result<(), String> {
        for event in events {
            let (header, change) = super::change::decode(event)?;
            if header.chat_id != self.meta.chat_id || header.seq != self.last_seq + 1 {
                return Err(format!(
                    "chat {}: stored event {}/{} does not follow seq {}",
                    self.meta.chat_id, header.chat_id, header.seq, self.last_seq
                ));
            }
            self.apply(header.seq, &change);
        }
        Ok(())
    }

    /// The head [`ChatView::apply`] will leave (computed without changing or copying the view:
    /// the append pipeline stores it before it applies the change).
    pub fn head_after(&self, seq: u64, change: &Change) -> ChatHead {
        let last_message_seq = match change {
            Change::Message { .. } => self.last_message_seq.max(seq),
            _ => self.last_message_seq,
        };
        ChatHead { at_seq: self.last_seq.max(seq), last_message_seq }
    }

    #[cfg(test)]
    pub fn head(&self) -> ChatHead {
        ChatHead { at_seq: self.last_seq, last_message_seq: self.last_message_seq }
    }

    pub fn is_group(&self) -> bool {
        self.meta.kind == ChatKind::Group
    }

    /// The members, sorted by id: who a delivery goes to.
    pub fn recipients(&self) -> Arc<[u64]> {
        let mut v: Vec<u64> = self.members.keys().copied().collect();
        v.sort_unstable();
        Arc::from(v)
    }

    /// The `ChatInfo` frame of this view (members sorted by id).
    pub fn info_frame(&self, request_id: u64) -> Bytes {
        let mut list: Vec<(u64, fb::Role)> = self.members.iter().map(|(&u, &r)| (u, wire_role(r))).collect();
        list.sort_unstable_by_key(|m| m.0);
        encode::chat_info(
            request_id,
            &encode::ChatInfoArgs {
                chat_id: self.meta.chat_id,
                kind: wire_kind(self.meta.kind),
                title: &self.meta.title,
                members: &list,
                last_seq: self.last_seq,
                created_ms: self.meta.created_ms,
            },
        )
    }
}
