//! Encoders of the receipt, presence and typing frames (PROTOCOL.md §6.15).

use super::{frame, Fbb};
use crate::fb;
use crate::presence::{ChatOnline, MemberReceipt, Privacy, ReceiptCounts, UserPresence};
use bytes::Bytes;

// ------------------------------------------------------------------ receipts

pub fn mark_receipts(request_id: u64, chat_id: u64, delivered_seq: u64, read_seq: u64) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::MarkReceipts::create(fbb, &fb::MarkReceiptsArgs { chat_id, delivered_seq, read_seq });
        (fb::Body::MarkReceipts, t.as_union_value())
    })
}

pub fn receipt_changed(request_id: u64, chat_id: u64, r: &MemberReceipt) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::ReceiptChanged::create(
            fbb,
            &fb::ReceiptChangedArgs {
                chat_id,
                user_id: r.user_id,
                delivered_seq: r.delivered_seq,
                read_seq: r.read_seq,
                read_hidden: r.read_hidden,
            },
        );
        (fb::Body::ReceiptChanged, t.as_union_value())
    })
}

pub fn receipt_counts(c: &ReceiptCounts) -> Bytes {
    frame(0, |fbb| {
        let t = fb::ReceiptCounts::create(
            fbb,
            &fb::ReceiptCountsArgs {
                chat_id: c.chat_id,
                seq: c.seq,
                delivered_count: c.delivered,
                read_count: c.read,
                member_count: c.members,
            },
        );
        (fb::Body::ReceiptCounts, t.as_union_value())
    })
}

pub fn get_receipts(request_id: u64, chat_id: u64, seq: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::GetReceipts, fb::GetReceipts::create(fbb, &fb::GetReceiptsArgs { chat_id, seq }).as_union_value()))
}

pub fn receipt_list(request_id: u64, c: &ReceiptCounts, receipts: &[MemberReceipt]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = receipts
            .iter()
            .map(|r| {
                fb::MemberReceipt::create(
                    fbb,
                    &fb::MemberReceiptArgs { user_id: r.user_id, delivered_seq: r.delivered_seq, read_seq: r.read_seq, read_hidden: r.read_hidden },
                )
            })
            .collect();
        let receipts = Some(fbb.create_vector(&items));
        let t = fb::ReceiptList::create(
            fbb,
            &fb::ReceiptListArgs {
                chat_id: c.chat_id,
                seq: c.seq,
                delivered_count: c.delivered,
                read_count: c.read,
                member_count: c.members,
                receipts,
            },
        );
        (fb::Body::ReceiptList, t.as_union_value())
    })
}

// ------------------------------------------------------------------ privacy

pub fn set_privacy(request_id: u64, fields: u32, p: &Privacy) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::SetPrivacy::create(fbb, &fb::SetPrivacyArgs { fields, read_receipts: p.read_receipts, last_seen: p.last_seen });
        (fb::Body::SetPrivacy, t.as_union_value())
    })
}

pub fn get_privacy(request_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::GetPrivacy, fb::GetPrivacy::create(fbb, &fb::GetPrivacyArgs {}).as_union_value()))
}

pub fn privacy(request_id: u64, p: &Privacy) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::Privacy::create(fbb, &fb::PrivacyArgs { read_receipts: p.read_receipts, last_seen: p.last_seen });
        (fb::Body::Privacy, t.as_union_value())
    })
}

// ------------------------------------------------------------------ presence

pub fn set_presence(request_id: u64, fields: u32, dnd: bool) -> Bytes {
    frame(request_id, |fbb| (fb::Body::SetPresence, fb::SetPresence::create(fbb, &fb::SetPresenceArgs { fields, dnd }).as_union_value()))
}

pub fn watch_presence(request_id: u64, user_ids: &[u64], chat_ids: &[u64]) -> Bytes {
    frame(request_id, |fbb| {
        let user_ids = Some(fbb.create_vector(user_ids));
        let chat_ids = Some(fbb.create_vector(chat_ids));
        (fb::Body::WatchPresence, fb::WatchPresence::create(fbb, &fb::WatchPresenceArgs { user_ids, chat_ids }).as_union_value())
    })
}

fn user_presences<'a>(fbb: &mut Fbb<'a>, users: &[UserPresence]) -> Vec<flatbuffers::WIPOffset<fb::UserPresence<'a>>> {
    users
        .iter()
        .map(|u| fb::UserPresence::create(fbb, &fb::UserPresenceArgs { user_id: u.user_id, status: u.status, last_seen_ms: u.last_seen_ms }))
        .collect()
}

pub fn presence_changed(request_id: u64, users: &[UserPresence], chats: &[ChatOnline]) -> Bytes {
    frame(request_id, |fbb| {
        let items = user_presences(fbb, users);
        let users = Some(fbb.create_vector(&items));
        let items: Vec<_> = chats
            .iter()
            .map(|c| fb::ChatOnline::create(fbb, &fb::ChatOnlineArgs { chat_id: c.chat_id, online: c.online, member_count: c.member_count }))
            .collect();
        let chats = Some(fbb.create_vector(&items));
        (fb::Body::PresenceChanged, fb::PresenceChanged::create(fbb, &fb::PresenceChangedArgs { users, chats }).as_union_value())
    })
}

// ------------------------------------------------------------------ typing

pub fn set_typing(request_id: u64, chat_id: u64, kind: fb::TypingKind) -> Bytes {
    frame(request_id, |fbb| (fb::Body::SetTyping, fb::SetTyping::create(fbb, &fb::SetTypingArgs { chat_id, kind }).as_union_value()))
}

pub fn typing_changed(chat_id: u64, user_id: u64, kind: fb::TypingKind, expires_in_ms: u32) -> Bytes {
    frame(0, |fbb| {
        let t = fb::TypingChanged::create(fbb, &fb::TypingChangedArgs { chat_id, user_id, kind, expires_in_ms });
        (fb::Body::TypingChanged, t.as_union_value())
    })
}
