//! Receipts, presence and typing (PROTOCOL.md §6.15): their limits, the bits of their
//! requests' `fields`, and the plain values the engine and the clients share.

use crate::fb;

/// Chats of at most this many members get every member's receipt changes pushed and list
/// every member's cursors in `ReceiptList`; larger chats get counts.
pub const RECEIPT_DETAIL_MAX_MEMBERS: usize = 256;
/// In chats of more than [`RECEIPT_DETAIL_MAX_MEMBERS`], `ReceiptCounts` pushes per chat are
/// at most one per this many milliseconds.
pub const RECEIPT_COUNTS_EVERY_MS: u64 = 1000;
/// `unread_count` counts at most this many messages (a client shows "999+").
pub const MAX_UNREAD_COUNTED: u32 = 1000;

/// Users one connection may watch (`WatchPresence.user_ids`, `GetPresence.user_ids`).
pub const MAX_WATCHED_USERS: usize = 256;
/// Chats one connection may watch for online counts (`WatchPresence.chat_ids`).
pub const MAX_WATCHED_CHATS: usize = 64;
/// Without activity for this long a user is idle...
pub const IDLE_AFTER_MS: i64 = 5 * 60 * 1000;
/// ...and away after this long.
pub const AWAY_AFTER_MS: i64 = 15 * 60 * 1000;
/// Presence pushes to one connection are coalesced over this many milliseconds.
pub const PRESENCE_FLUSH_MS: u64 = 250;

/// A typing indicator expires this long after its last refresh.
pub const TYPING_EXPIRES_MS: u32 = 3000;
/// Typing in chats of more than this many members goes only to connections watching the chat.
pub const TYPING_ALL_MEMBERS_MAX: usize = 256;
/// Typing frames per connection: sustained per second...
pub const TYPING_RATE_PER_SEC: u32 = 5;
/// ...and burst.
pub const TYPING_BURST: u32 = 10;

/// `SetPrivacy.fields` bits.
pub mod privacy_fields {
    pub const READ_RECEIPTS: u32 = 1;
    pub const LAST_SEEN: u32 = 2;
    pub const ALL: u32 = READ_RECEIPTS | LAST_SEEN;
}

/// `SetPresence.fields` bits.
pub mod presence_fields {
    /// The user is interacting now.
    pub const ACTIVE: u32 = 1;
    /// Set do-not-disturb to `dnd`.
    pub const DND: u32 = 2;
    pub const ALL: u32 = ACTIVE | DND;
}

/// One user's privacy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privacy {
    pub read_receipts: bool,
    pub last_seen: fb::LastSeenVisibility,
}

impl Default for Privacy {
    fn default() -> Privacy {
        Privacy { read_receipts: true, last_seen: fb::LastSeenVisibility::Everyone }
    }
}

/// One member's receipt cursors as a viewer sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberReceipt {
    pub user_id: u64,
    pub delivered_seq: u64,
    /// 0 when hidden.
    pub read_seq: u64,
    pub read_hidden: bool,
}

/// One user's presence as a viewer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserPresence {
    pub user_id: u64,
    pub status: fb::PresenceStatus,
    /// 0: hidden, never seen, or online now.
    pub last_seen_ms: i64,
}

/// A chat's members online.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatOnline {
    pub chat_id: u64,
    pub online: u32,
    pub member_count: u32,
}

/// The counts of one message's receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptCounts {
    pub chat_id: u64,
    pub seq: u64,
    pub delivered: u32,
    pub read: u32,
    pub members: u32,
}

/// The receipt cursors a `ChatSummary` carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummaryReceipts {
    pub read_seq: u64,
    pub delivered_seq: u64,
    pub peer_delivered_seq: u64,
    pub peer_read_seq: u64,
}

/// The frames a client may send as QUIC datagrams when `DATAGRAMS` was negotiated.
pub fn datagram_allowed(body: fb::Body) -> bool {
    matches!(body, fb::Body::SetTyping | fb::Body::SetPresence)
}

/// This section's server-only frames (for `verify`).
pub(crate) fn server_only(body: fb::Body) -> bool {
    matches!(
        body,
        fb::Body::ReceiptChanged
            | fb::Body::ReceiptCounts
            | fb::Body::ReceiptList
            | fb::Body::Privacy
            | fb::Body::PresenceChanged
            | fb::Body::TypingChanged
    )
}
