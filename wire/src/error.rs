//! The one table of stable error codes, shared by the engine, the clients and `docs/PROTOCOL.md`.
//!
//! A code never changes meaning once released. Codes below 100 are protocol violations: the
//! server sends `Close { code, reason }` and closes the connection. Every other code is answered
//! with an `Error` frame and the connection stays open.

macro_rules! error_codes {
    ($( $variant:ident = $code:literal, $name:literal, $retry:literal, $meaning:literal; )*) => {
        /// A stable error code. `as u16` gives the number on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum ErrorCode { $( #[doc = $meaning] $variant = $code, )* }

        impl ErrorCode {
            /// Every code, in table order (for docs and tests).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code for a number received on the wire, if known.
            pub fn from_u16(code: u16) -> Option<ErrorCode> {
                match code { $( $code => Some(ErrorCode::$variant), )* _ => None }
            }
            /// Stable snake_case name, used in logs, metrics and JSON output.
            pub fn name(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name, )* }
            }
            /// One-line meaning, as documented.
            pub fn meaning(self) -> &'static str {
                match self { $( ErrorCode::$variant => $meaning, )* }
            }
            /// Whether a client may retry the same request unchanged (after `retry_after_ms`).
            pub fn retryable(self) -> bool {
                match self { $( ErrorCode::$variant => $retry, )* }
            }
        }
    };
}

error_codes! {
    // ---- protocol violations: the server closes the connection (Close frame, then close)
    MalformedFrame = 1, "malformed_frame", false, "The frame failed FlatBuffers verification (bad offsets, depth, table count or size).";
    InvalidUtf8 = 2, "invalid_utf8", false, "A string field is not valid UTF-8.";
    UnknownFrame = 3, "unknown_frame", false, "The frame's body type is unknown, missing, or only ever sent by servers.";
    FrameTooLarge = 4, "frame_too_large", false, "The frame exceeds the negotiated maximum frame size.";
    HandshakeRequired = 5, "handshake_required", false, "The first frame on a connection must be Hello.";
    ClientTooOld = 6, "client_too_old", false, "The client's newest protocol version is older than the server's oldest supported one.";
    ServerTooOld = 7, "server_too_old", false, "The client's oldest accepted protocol version is newer than the server's newest one.";
    TooManyErrors = 8, "too_many_errors", false, "The connection kept sending requests that failed; it is closed to protect the server.";
    Revoked = 9, "revoked", false, "The connection's device was revoked or logged out.";
    Overloaded = 10, "overloaded", true, "The connection could not keep up with its outbound queue; reconnect and sync.";
    ShuttingDown = 11, "shutting_down", true, "The server is shutting down; reconnect later.";
    ServerFault = 12, "server_fault", true, "The server could not keep serving this connection (e.g. a storage read failed); reconnect and sync.";
    // ---- request errors: an Error frame, the connection stays open
    Unauthenticated = 100, "unauthenticated", false, "The request needs an authenticated connection (Register, Login or Authenticate first).";
    InvalidCredentials = 101, "invalid_credentials", false, "Unknown username or wrong password, or an unknown device token.";
    UsernameTaken = 102, "username_taken", false, "The username is already registered.";
    InvalidArgument = 103, "invalid_argument", false, "A field is missing, empty, out of range or badly formed (the message says which).";
    AlreadyAuthenticated = 104, "already_authenticated", false, "The connection is already authenticated.";
    UserNotFound = 110, "user_not_found", false, "No user with that id or name.";
    DeviceNotFound = 111, "device_not_found", false, "No such device among the caller's devices.";
    ChatNotFound = 200, "chat_not_found", false, "No such chat, or the caller is not a member (the two are indistinguishable on purpose).";
    Forbidden = 201, "forbidden", false, "The caller is a member but its role does not allow this (e.g. only admins add members).";
    NotAGroup = 202, "not_a_group", false, "The operation only applies to groups and channels (direct chats have exactly two members).";
    OwnerMustTransfer = 203, "owner_must_transfer", false, "The owner cannot leave while other members remain and no admin can take over: name a successor or transfer ownership first.";
    InviteNotFound = 204, "invite_not_found", false, "No invite link with that code.";
    InviteExpired = 205, "invite_expired", false, "The invite link has expired.";
    InviteRevoked = 206, "invite_revoked", false, "The invite link was revoked by an admin.";
    InviteUsedUp = 207, "invite_used_up", false, "The invite link has reached its use limit.";
    HandleTaken = 208, "handle_taken", false, "Another chat already has that public handle.";
    LimitReached = 209, "limit_reached", false, "A per-user or per-chat limit is reached (e.g. 10 pinned chats, 100 live invite links per chat).";
    MessageNotFound = 210, "message_not_found", false, "No such message in this chat that the caller can see (or the seq is not a message).";
    MessageDeleted = 211, "message_deleted", false, "The message was deleted for everyone: it can no longer be edited, reacted to, replied to, pinned or forwarded.";
    NotMessageSender = 212, "not_message_sender", false, "Only the message's sender may do that (edit it, move a live location, delete it for everyone outside an admin's groups and channels).";
    ForwardingDisabled = 213, "forwarding_disabled", false, "The source chat does not allow forwarding its messages.";
    NotEditable = 214, "not_editable", false, "This kind of message cannot be edited (a forwarded copy or a contact card).";
    LiveLocationEnded = 215, "live_location_ended", false, "The live location has ended (its time is up, or its sender stopped it).";
    ReceiptOutOfRange = 216, "receipt_out_of_range", false, "A receipt cursor is past the chat's last event (nothing was changed).";
    TypingRateLimited = 217, "typing_rate_limited", true, "Typing indicators from this connection come too fast (more than 5 a second); this one was dropped.";
    ContentTooLarge = 300, "content_too_large", false, "Message content is over 65536 bytes.";
    RateLimited = 400, "rate_limited", true, "Too many requests; retry after retry_after_ms.";
    Internal = 500, "internal", true, "The server failed; the request had no effect unless a later ack says otherwise.";
    Unavailable = 503, "unavailable", true, "The server is overloaded or starting; retry after retry_after_ms.";
}

impl ErrorCode {
    /// Protocol violations close the connection; other errors leave it open.
    pub fn closes_connection(self) -> bool {
        (self as u16) < 100
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), *self as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_round_trip() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(codes.insert(c as u16), "duplicate code {}", c as u16);
            assert!(names.insert(c.name()), "duplicate name {}", c.name());
            assert_eq!(ErrorCode::from_u16(c as u16), Some(c));
        }
        assert_eq!(ErrorCode::from_u16(9999), None);
    }

    #[test]
    fn only_protocol_violations_close() {
        assert!(ErrorCode::MalformedFrame.closes_connection());
        assert!(!ErrorCode::ChatNotFound.closes_connection());
        assert!(!ErrorCode::RateLimited.closes_connection());
    }
}
