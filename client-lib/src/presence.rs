//! Receipts, presence and typing (PROTOCOL.md §6.15): the requests, their replies, the pushes
//! as [`ClientEvent`]s, and the [`Client`] methods.
//!
//! The plain values are the wire crate's own ([`MemberReceipt`], [`UserPresence`], …), and the
//! enums are the schema's (`PresenceStatus`, `TypingKind`, `LastSeenVisibility`).

use crate::client::Client;
use crate::error::Result;
use crate::events::ClientEvent;
use crate::replies::{Inbound, Reply};
use crate::request::Request;
use bytes::Bytes;
use magpie_wire::{encode, fb};

pub use magpie_wire::fb::{LastSeenVisibility, PresenceStatus, TypingKind};
pub use magpie_wire::presence::{presence_fields, privacy_fields, ChatOnline, MemberReceipt, Privacy, ReceiptCounts, UserPresence};

/// "Delivered to" and "read by" for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptList {
    /// Counts over the other members (the caller left out).
    pub counts: ReceiptCounts,
    /// Chats of at most 256 members: every other member whose delivered cursor reached the
    /// message, by user id.
    pub receipts: Vec<MemberReceipt>,
}

/// Presences and online counts: the answer to `watch_presence`, and what is pushed after.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PresenceUpdate {
    pub users: Vec<UserPresence>,
    pub chats: Vec<ChatOnline>,
}

/// A reply of this family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceReply {
    Receipt { chat_id: u64, receipt: MemberReceipt },
    Receipts(ReceiptList),
    Privacy(Privacy),
    Presence(PresenceUpdate),
}

impl PresenceReply {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            PresenceReply::Receipt { .. } => "ReceiptChanged",
            PresenceReply::Receipts(_) => "ReceiptList",
            PresenceReply::Privacy(_) => "Privacy",
            PresenceReply::Presence(_) => "PresenceChanged",
        }
    }
}

/// A request of this family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceRequest {
    MarkReceipts { chat_id: u64, delivered_seq: u64, read_seq: u64 },
    GetReceipts { chat_id: u64, seq: u64 },
    SetPrivacy { fields: u32, privacy: Privacy },
    GetPrivacy,
    SetPresence { fields: u32, dnd: bool },
    WatchPresence { user_ids: Vec<u64>, chat_ids: Vec<u64> },
    SetTyping { chat_id: u64, kind: TypingKind },
}

impl PresenceRequest {
    pub(crate) fn encode(&self, rid: u64) -> Bytes {
        match self {
            PresenceRequest::MarkReceipts { chat_id, delivered_seq, read_seq } => encode::mark_receipts(rid, *chat_id, *delivered_seq, *read_seq),
            PresenceRequest::GetReceipts { chat_id, seq } => encode::get_receipts(rid, *chat_id, *seq),
            PresenceRequest::SetPrivacy { fields, privacy } => encode::set_privacy(rid, *fields, privacy),
            PresenceRequest::GetPrivacy => encode::get_privacy(rid),
            PresenceRequest::SetPresence { fields, dnd } => encode::set_presence(rid, *fields, *dnd),
            PresenceRequest::WatchPresence { user_ids, chat_ids } => encode::watch_presence(rid, user_ids, chat_ids),
            PresenceRequest::SetTyping { chat_id, kind } => encode::set_typing(rid, *chat_id, *kind),
        }
    }
}

fn update(p: fb::PresenceChanged<'_>) -> PresenceUpdate {
    let users = p
        .users()
        .map(|v| v.iter().map(|u| UserPresence { user_id: u.user_id(), status: u.status(), last_seen_ms: u.last_seen_ms() }).collect())
        .unwrap_or_default();
    let chats = p
        .chats()
        .map(|v| v.iter().map(|c| ChatOnline { chat_id: c.chat_id(), online: c.online(), member_count: c.member_count() }).collect())
        .unwrap_or_default();
    PresenceUpdate { users, chats }
}

/// Decodes this family's server frames (None: not one of them). Frames with request id 0 are
/// pushes; the others answer a request.
pub(crate) fn decode(frame: &fb::Frame<'_>) -> Option<Inbound> {
    let rid = frame.request_id();
    let (push, reply) = match frame.body_type() {
        fb::Body::ReceiptChanged => {
            let r = frame.body_as_receipt_changed()?;
            let receipt = MemberReceipt { user_id: r.user_id(), delivered_seq: r.delivered_seq(), read_seq: r.read_seq(), read_hidden: r.read_hidden() };
            (ClientEvent::Receipt { chat_id: r.chat_id(), receipt }, PresenceReply::Receipt { chat_id: r.chat_id(), receipt })
        }
        fb::Body::ReceiptCounts => {
            let c = frame.body_as_receipt_counts()?;
            let counts = ReceiptCounts { chat_id: c.chat_id(), seq: c.seq(), delivered: c.delivered_count(), read: c.read_count(), members: c.member_count() };
            return Some(Inbound::Push(ClientEvent::ReceiptCounts(counts)));
        }
        fb::Body::ReceiptList => {
            let l = frame.body_as_receipt_list()?;
            let counts = ReceiptCounts { chat_id: l.chat_id(), seq: l.seq(), delivered: l.delivered_count(), read: l.read_count(), members: l.member_count() };
            let receipts = l
                .receipts()
                .map(|v| {
                    v.iter()
                        .map(|r| MemberReceipt { user_id: r.user_id(), delivered_seq: r.delivered_seq(), read_seq: r.read_seq(), read_hidden: r.read_hidden() })
                        .collect()
                })
                .unwrap_or_default();
            return Some(Inbound::Reply { request_id: rid, result: Ok(Reply::Presence(PresenceReply::Receipts(ReceiptList { counts, receipts }))) });
        }
        fb::Body::Privacy => {
            let p = frame.body_as_privacy()?;
            let privacy = Privacy { read_receipts: p.read_receipts(), last_seen: p.last_seen() };
            (ClientEvent::Privacy(privacy), PresenceReply::Privacy(privacy))
        }
        fb::Body::PresenceChanged => {
            let u = update(frame.body_as_presence_changed()?);
            (ClientEvent::Presence(u.clone()), PresenceReply::Presence(u))
        }
        fb::Body::TypingChanged => {
            let t = frame.body_as_typing_changed()?;
            return Some(Inbound::Push(ClientEvent::Typing { chat_id: t.chat_id(), user_id: t.user_id(), kind: t.kind(), expires_in_ms: t.expires_in_ms() }));
        }
        _ => return None,
    };
    Some(if rid == 0 { Inbound::Push(push) } else { Inbound::Reply { request_id: rid, result: Ok(Reply::Presence(reply)) } })
}

impl Client {
    async fn presence_call(&self, r: PresenceRequest) -> Result<PresenceReply> {
        match self.call(Request::Presence(r)).await? {
            Reply::Presence(p) => Ok(p),
            other => Err(other.unexpected("a receipt, privacy or presence frame")),
        }
    }

    /// Moves this user's delivered and read cursors in a chat (0 leaves one as it is; lower
    /// values are ignored); the answer is the cursors now. Send `delivered_seq` when events
    /// arrive and `read_seq` when they are shown, at most about once a second per chat.
    pub async fn mark_receipts(&self, chat_id: u64, delivered_seq: u64, read_seq: u64) -> Result<MemberReceipt> {
        match self.presence_call(PresenceRequest::MarkReceipts { chat_id, delivered_seq, read_seq }).await? {
            PresenceReply::Receipt { receipt, .. } => Ok(receipt),
            other => Err(crate::ClientError::UnexpectedReply(format!("expected ReceiptChanged, got {}", other.name()))),
        }
    }

    /// "Delivered to" and "read by" for message `seq`.
    pub async fn get_receipts(&self, chat_id: u64, seq: u64) -> Result<ReceiptList> {
        match self.presence_call(PresenceRequest::GetReceipts { chat_id, seq }).await? {
            PresenceReply::Receipts(l) => Ok(l),
            other => Err(crate::ClientError::UnexpectedReply(format!("expected ReceiptList, got {}", other.name()))),
        }
    }

    /// Changes the privacy settings `fields` names ([`privacy_fields`]); the answer is all of them.
    pub async fn set_privacy(&self, fields: u32, privacy: Privacy) -> Result<Privacy> {
        match self.presence_call(PresenceRequest::SetPrivacy { fields, privacy }).await? {
            PresenceReply::Privacy(p) => Ok(p),
            other => Err(crate::ClientError::UnexpectedReply(format!("expected Privacy, got {}", other.name()))),
        }
    }

    pub async fn get_privacy(&self) -> Result<Privacy> {
        match self.presence_call(PresenceRequest::GetPrivacy).await? {
            PresenceReply::Privacy(p) => Ok(p),
            other => Err(crate::ClientError::UnexpectedReply(format!("expected Privacy, got {}", other.name()))),
        }
    }

    /// Reports activity ([`presence_fields::ACTIVE`]) and/or sets do-not-disturb.
    pub async fn set_presence(&self, fields: u32, dnd: bool) -> Result<()> {
        self.call_ok(Request::Presence(PresenceRequest::SetPresence { fields, dnd })).await
    }

    /// Replaces this connection's watch set; the answer is what is known now, and changes
    /// arrive as [`ClientEvent::Presence`]. Watch again after a reconnect.
    pub async fn watch_presence(&self, user_ids: &[u64], chat_ids: &[u64]) -> Result<PresenceUpdate> {
        let r = PresenceRequest::WatchPresence { user_ids: user_ids.to_vec(), chat_ids: chat_ids.to_vec() };
        match self.presence_call(r).await? {
            PresenceReply::Presence(p) => Ok(p),
            other => Err(crate::ClientError::UnexpectedReply(format!("expected PresenceChanged, got {}", other.name()))),
        }
    }

    /// Says this user is typing (or recording voice, or stopped) in a chat, over the control
    /// stream; repeat every 2–3 s while it lasts.
    pub async fn set_typing(&self, chat_id: u64, kind: TypingKind) -> Result<()> {
        self.call_ok(Request::Presence(PresenceRequest::SetTyping { chat_id, kind })).await
    }
}
