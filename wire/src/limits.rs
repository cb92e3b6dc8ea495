//! Protocol limits. Both ends enforce them; the server announces the frame limits in `Welcome`.

/// Newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Oldest protocol version this build still accepts.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

/// Largest message content, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// Largest frame a client may send: one maximal message plus generous room for its fields.
pub const MAX_CLIENT_FRAME_BYTES: usize = MAX_CONTENT_BYTES + 16 * 1024;
/// Largest frame a server sends (history pages are cut to fit).
pub const MAX_SERVER_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// Budget for the events carried by one history page or chat list.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

pub const MAX_CLIENT_MSG_ID_BYTES: usize = 64;
pub const MIN_USERNAME_BYTES: usize = 3;
pub const MAX_USERNAME_BYTES: usize = 32;
pub const MIN_PASSWORD_BYTES: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 256;
pub const MAX_DEVICE_NAME_BYTES: usize = 64;
pub const MAX_TITLE_BYTES: usize = 128;
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
pub const MAX_AVATAR_REF_BYTES: usize = 256;
pub const MIN_HANDLE_BYTES: usize = 5;
pub const MAX_HANDLE_BYTES: usize = 32;
/// Members per `ListMembers` page.
pub const DEFAULT_MEMBER_PAGE: u16 = 200;
pub const MAX_MEMBER_PAGE: u16 = 1000;
/// Pinned chats per user.
pub const MAX_PINNED_CHATS: usize = 10;
/// Recipients of one broadcast list, and lists per user.
pub const MAX_BROADCAST_RECIPIENTS: usize = 256;
pub const MAX_BROADCAST_LISTS: usize = 100;
/// Largest number of user ids in one CreateGroup or AddMembers.
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;
/// Largest history page.
pub const MAX_HISTORY_LIMIT: u16 = 500;
pub const DEFAULT_HISTORY_LIMIT: u16 = 50;
/// Chats per ChatList page.
pub const MAX_CHAT_PAGE: u16 = 500;
pub const DEFAULT_CHAT_PAGE: u16 = 100;

/// Message features (PROTOCOL.md §6.13).
pub const MAX_MENTIONS: usize = 50;
/// Groups above this many members: only admins may mention @all.
pub const MENTION_ALL_OPEN_UP_TO: usize = 100;
pub const MAX_DELETE_SEQS: usize = 100;
pub const MAX_FORWARD_TARGETS: usize = 20;
pub const MAX_PINNED_MESSAGES: usize = 50;
pub const MAX_REACTION_BYTES: usize = 32;
/// Different reactions one user may have on one message.
pub const MAX_REACTIONS_PER_USER: usize = 20;
/// Chats up to this many members see who reacted in `ReactionsChanged`, and get one as soon as
/// the previous is durable; bigger ones get totals at most once per [`REACTION_INTERVAL_MS`].
pub const REACTION_TOGGLES_UP_TO: usize = 256;
pub const REACTION_INTERVAL_MS: u64 = 1000;
pub const DEFAULT_REACTION_PAGE: u16 = 100;
pub const MAX_REACTION_PAGE: u16 = 1000;
pub const DEFAULT_MENTION_PAGE: u16 = 50;
pub const MAX_MENTION_PAGE: u16 = 200;
pub const MAX_LOCATION_LABEL_BYTES: usize = 256;
/// How far ahead a live location may end: 8 hours.
pub const MAX_LIVE_LOCATION_MS: i64 = 8 * 3600 * 1000;
pub const MAX_CONTACT_FIELDS: usize = 8;
pub const MAX_PHONE_BYTES: usize = 32;
pub const MAX_EMAIL_BYTES: usize = 254;

/// Verifier bounds for client frames: no legitimate request nests deeper than a few tables or
/// holds more than a few thousand of them.
pub const MAX_VERIFY_DEPTH: usize = 16;
pub const MAX_VERIFY_TABLES: usize = 4096;
/// Server frames (chat lists, history pages) legitimately hold many small tables; their size
/// limit bounds them already, so this only stops pathological buffers.
pub const MAX_SERVER_VERIFY_TABLES: usize = 1 << 20;

/// Whether `name` is a valid username: 3..=32 bytes of `[a-z0-9_.-]`.
pub fn valid_username(name: &str) -> bool {
    (MIN_USERNAME_BYTES..=MAX_USERNAME_BYTES).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `handle` is a valid public chat handle: 5..=32 bytes of `[a-z0-9_]`.
pub fn valid_handle(handle: &str) -> bool {
    (MIN_HANDLE_BYTES..=MAX_HANDLE_BYTES).contains(&handle.len())
        && handle.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn usernames() {
        assert!(valid_username("alice"));
        assert!(valid_username("a.b-c_9"));
        assert!(!valid_username("al"));
        assert!(!valid_username("Alice"));
        assert!(!valid_username("al ice"));
        assert!(!valid_username(&"a".repeat(33)));
    }

    #[test]
    fn handles() {
        assert!(valid_handle("news_2026"));
        assert!(!valid_handle("news"));
        assert!(!valid_handle("News_1"));
        assert!(!valid_handle("news-1"));
        assert!(!valid_handle(&"a".repeat(33)));
    }
}
