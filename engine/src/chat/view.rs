//! A chat's state as its log defines it, and the one fold that builds it.
//!
//! `ChatView::apply` is the only code that changes a chat's state from its log: the owner
//! applies each change it appends (to its head view at once, to its durable view once
//! committed), and a load applies the stored events that follow the chat's stored snapshot.
//! `ChatView::apply_side` does the same for the records a chat keeps beside its log (channel
//! subscriptions, invite links, join requests), which a load reads back as they are.

use super::change::{wire_kind, wire_role, Change};
use super::settings;
use crate::crossing::MemberMap;
use bytes::Bytes;
use magpie_storage::{ChatHead, ChatKind, ChatMeta, InviteRecord, MemberRecord, Op, Role};
use magpie_wire::chat::{Info, MemberEntry, Settings};
use magpie_wire::encode;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Members listed in a `ChatInfo` (the rest are paged with `ListMembers`).
pub const INFO_MEMBERS: usize = 100;

#[derive(Debug, Clone)]
pub struct ChatView {
    pub meta: ChatMeta,
    /// `meta`'s settings, decoded once.
    pub settings: Settings,
    pub members: MemberMap,
    /// The owner and the admins.
    pub staff: BTreeSet<u64>,
    /// The owner (0: none, in a chat stored before owners existed or left by everyone).
    pub owner: u64,
    /// Highest sequence number applied.
    pub last_seq: u64,
    /// Sequence number of the newest message (0: none).
    pub last_message_seq: u64,
    /// Who sent it (0: no message, or not known yet: a load reads it, `worker::load_chat`).
    pub last_message_sender: u64,
    /// Invite links by code.
    pub invites: HashMap<String, InviteRecord>,
    /// Pending join requests: user → requested at (Unix ms).
    pub requests: BTreeMap<u64, i64>,
    /// Members' delivered and read cursors (`receipts.rs`).
    pub receipts: super::cursors::Receipts,
    /// Pinned messages: seq → the seq of the event that pinned it.
    pub pins: BTreeMap<u64, u64>,
}

/// A change to what a chat keeps beside its log. Written with the chat's next commit, applied
/// to the head at once and to the durable view when committed, like an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// Channel subscribers joined; they receive the chat from `since`.
    Subscribed { user_ids: Vec<u64>, since: u64 },
    /// A channel subscriber left or was removed.
    Unsubscribed { user_id: u64 },
    /// An invite link was created, used or revoked: its new record.
    Invite(InviteRecord),
    JoinRequested { user_id: u64, time_ms: i64 },
    JoinRequestDropped { user_id: u64 },
    /// A member's receipt cursors moved (or their privacy flag changed): the new record.
    Receipt { user_id: u64, receipt: magpie_storage::ReceiptRecord },
    /// Writes about messages that the view does not hold (a message's state, reactions,
    /// rewritten events, hidden messages, mention entries): derived in `projection.rs` from the
    /// messages the core knows (`targets.rs`).
    Writes(Vec<Op>),
}

/// What a load reads from storage: the chat's records and stored head, plus the events after it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub meta: ChatMeta,
    pub members: Vec<(u64, MemberRecord)>,
    pub head: ChatHead,
    pub invites: Vec<InviteRecord>,
    pub requests: Vec<(u64, i64)>,
    /// The stored receipts (members who left may be among them).
    pub receipts: Vec<(u64, magpie_storage::ReceiptRecord)>,
    pub pins: Vec<(u64, u64)>,
}

fn is_staff(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Owner)
}

impl ChatView {
    /// The view of a stored snapshot; fold the events after `snapshot.head.at_seq` onto it.
    pub fn from_snapshot(s: Snapshot) -> ChatView {
        let mut view = ChatView::new_chat(s.meta);
        for (user, m) in s.members {
            view.put_member(user, m);
        }
        (view.last_seq, view.last_message_seq) = (s.head.at_seq, s.head.last_message_seq);
        view.invites = s.invites.into_iter().map(|i| (i.code.clone(), i)).collect();
        view.requests = s.requests.into_iter().collect();
        view.receipts = super::cursors::Receipts::from_stored(s.receipts, &view.members);
        view.pins = s.pins.into_iter().collect();
        view
    }

    /// A chat about to get its first event.
    pub fn new_chat(meta: ChatMeta) -> ChatView {
        ChatView {
            settings: settings::decode(&meta.profile.settings),
            meta,
            members: MemberMap::default(),
            staff: BTreeSet::new(),
            owner: 0,
            last_seq: 0,
            last_message_seq: 0,
            last_message_sender: 0,
            invites: HashMap::new(),
            requests: BTreeMap::new(),
            receipts: Default::default(),
            pins: BTreeMap::new(),
        }
    }

    fn put_member(&mut self, user: u64, m: MemberRecord) {
        if is_staff(m.role) {
            self.staff.insert(user);
        } else {
            self.staff.remove(&user);
        }
        if m.role == Role::Owner {
            self.owner = user;
        }
        self.members.insert(user, m);
    }

    fn drop_member(&mut self, user: u64) {
        self.members.remove(&user);
        self.staff.remove(&user);
        if self.owner == user {
            self.owner = 0;
        }
    }

    fn set_role(&mut self, user: u64, role: Role) {
        if let Some(m) = self.members.get(&user).copied() {
            self.put_member(user, MemberRecord { role, ..m });
        }
    }

    /// The fold step: the state after the event `seq`, sent by `sender`, holding `change`.
    /// Applying an event twice (a snapshot older than the member records it sits beside)
    /// changes nothing the second time.
    pub fn apply(&mut self, seq: u64, sender: u64, change: &Change) {
        let head = self.head_after(seq, change);
        if head.last_message_seq != self.last_message_seq {
            self.last_message_sender = sender;
        }
        (self.last_seq, self.last_message_seq) = (head.at_seq, head.last_message_seq);
        match change {
            Change::Created { info, members, .. } => {
                self.set_info(info);
                for &(u, role) in members {
                    self.put_member(u, MemberRecord { role, since_seq: seq });
                }
            }
            Change::Pinned { target_seq, pinned: true } => {
                self.pins.insert(*target_seq, seq);
            }
            Change::Pinned { target_seq, pinned: false } => {
                self.pins.remove(target_seq);
            }
            Change::Deleted { seqs } => seqs.iter().for_each(|s| {
                self.pins.remove(s);
            }),
            Change::Message(_) | Change::Edited { .. } | Change::Reactions(_) | Change::LiveMoved { .. } => {}
            Change::MembersAdded { user_ids, .. } => {
                for &u in user_ids {
                    if !self.members.contains_key(&u) {
                        self.put_member(u, MemberRecord { role: Role::Member, since_seq: seq });
                    }
                }
            }
            Change::MemberRemoved { user_id, .. } => self.drop_member(*user_id),
            Change::Updated { info } => self.set_info(info),
            Change::RoleChanged { user_id, role } => self.set_role(*user_id, *role),
            Change::OwnerChanged { previous, new } => {
                self.set_role(*previous, Role::Admin);
                self.set_role(*new, Role::Owner);
            }
        }
    }

    /// Applies a change to the records beside the log.
    pub fn apply_side(&mut self, side: &Side) {
        match side {
            Side::Subscribed { user_ids, since } => {
                for &u in user_ids {
                    if !self.members.contains_key(&u) {
                        self.put_member(u, MemberRecord { role: Role::Member, since_seq: *since });
                    }
                }
            }
            Side::Unsubscribed { user_id } => self.drop_member(*user_id),
            Side::Invite(i) => {
                self.invites.insert(i.code.clone(), i.clone());
            }
            Side::JoinRequested { user_id, time_ms } => {
                self.requests.entry(*user_id).or_insert(*time_ms);
            }
            Side::JoinRequestDropped { user_id } => {
                self.requests.remove(user_id);
            }
            Side::Receipt { user_id, receipt } => self.receipts.put(*user_id, *receipt),
            Side::Writes(_) => {}
        }
    }

    fn set_info(&mut self, info: &Info) {
        settings::set_info(&mut self.meta, info);
        self.settings = info.settings;
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
            self.apply(header.seq, header.sender_id, &change);
        }
        Ok(())
    }

    /// The head [`ChatView::apply`] will leave (computed without changing or copying the view:
    /// the append pipeline stores it before it applies the change).
    pub fn head_after(&self, seq: u64, change: &Change) -> ChatHead {
        let last_message_seq = match change {
            Change::Message(_) => self.last_message_seq.max(seq),
            _ => self.last_message_seq,
        };
        let n = self.members.len() as u64;
        let member_count = match change {
            Change::Created { members, .. } => members.len() as u64,
            Change::MembersAdded { user_ids, .. } => n + user_ids.iter().filter(|&&u| !self.members.contains_key(&u)).count() as u64,
            Change::MemberRemoved { user_id, .. } => n - u64::from(self.members.contains_key(user_id)),
            _ => n,
        };
        ChatHead { at_seq: self.last_seq.max(seq), last_message_seq, member_count: Some(member_count) }
    }

    /// The head after a change beside the log (only the member count can differ).
    pub fn head_after_side(&self, side: &Side) -> Option<ChatHead> {
        let n = self.members.len() as u64;
        let member_count = match side {
            Side::Subscribed { user_ids, .. } => n + user_ids.iter().filter(|&&u| !self.members.contains_key(&u)).count() as u64,
            Side::Unsubscribed { user_id } => n - u64::from(self.members.contains_key(user_id)),
            _ => return None,
        };
        Some(ChatHead { at_seq: self.last_seq, last_message_seq: self.last_message_seq, member_count: Some(member_count) })
    }

    #[cfg(test)]
    pub fn head(&self) -> ChatHead {
        ChatHead { at_seq: self.last_seq, last_message_seq: self.last_message_seq, member_count: Some(self.members.len() as u64) }
    }

    pub fn kind(&self) -> ChatKind {
        self.meta.kind
    }

    pub fn role(&self, user: u64) -> Option<Role> {
        self.members.get(&user).map(|m| m.role)
    }

    pub fn info(&self) -> Info {
        settings::info_of(&self.meta)
    }

    /// Member entries for the wire.
    pub fn entry(&self, user: u64) -> Option<MemberEntry> {
        self.members.get(&user).map(|m| MemberEntry { user_id: user, role: wire_role(m.role), since_seq: m.since_seq })
    }

    /// The `ChatInfo` frame of this view as `viewer` may see it: at most [`INFO_MEMBERS`]
    /// members, the owner and admins first; in a channel, others see only those.
    pub fn info_frame(&self, request_id: u64, viewer: u64) -> Bytes {
        let my_role = self.role(viewer).unwrap_or(Role::Member);
        let sees_everyone = self.kind() != ChatKind::Channel || is_staff(my_role);
        let mut list: Vec<MemberEntry> = self.staff.iter().filter_map(|&u| self.entry(u)).take(INFO_MEMBERS).collect();
        if sees_everyone {
            let rest = self.members.keys().filter(|u| !self.staff.contains(u));
            list.extend(rest.take(INFO_MEMBERS - list.len()).filter_map(|&u| self.entry(u)));
        }
        let info = self.info();
        encode::chat_info(
            request_id,
            &encode::ChatInfoArgs {
                chat_id: self.meta.chat_id,
                kind: wire_kind(self.kind()),
                info: &info,
                members_complete: list.len() == self.members.len(),
                members: &list,
                member_count: self.members.len() as u32,
                my_role: wire_role(my_role),
                last_seq: self.last_seq,
                created_ms: self.meta.created_ms,
                pending_requests: if is_staff(my_role) { self.requests.len() as u32 } else { 0 },
            },
        )
    }

    /// The `ChatPreview` frame of this view for `viewer`.
    pub fn preview_frame(&self, request_id: u64, viewer: u64) -> Bytes {
        let info = self.info();
        encode::chat_preview(
            request_id,
            &encode::ChatPreviewArgs {
                chat_id: self.meta.chat_id,
                kind: wire_kind(self.kind()),
                info: &info,
                member_count: self.members.len() as u32,
                is_member: self.members.contains_key(&viewer),
            },
        )
    }
}
