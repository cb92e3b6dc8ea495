//! Version and feature negotiation.
//!
//! The client's `Hello` names the range of versions it speaks; the server picks the newest
//! version both speak, or refuses with `client_too_old` / `server_too_old` so that the user is
//! told which side to upgrade.

use crate::limits::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use crate::ErrorCode;

/// Feature bits. Unknown bits are ignored, so new features never break old peers.
pub mod features {
    /// Typing indicators (and activity reports) as QUIC datagrams; QUIC connections only.
    pub const DATAGRAMS: u64 = 1 << 0;
}

/// Features this build supports (a server masks `DATAGRAMS` on WebSocket connections).
pub const SUPPORTED_FEATURES: u64 = features::DATAGRAMS;

/// The agreed version and features, or why there is none.
pub fn negotiate(client_max: u16, client_min: u16, client_features: u64) -> Result<(u16, u64), ErrorCode> {
    // A client that sends min > max is confused; treat its newest as authoritative.
    let client_min = client_min.min(client_max);
    if client_max < MIN_PROTOCOL_VERSION {
        return Err(ErrorCode::ClientTooOld);
    }
    if client_min > PROTOCOL_VERSION {
        return Err(ErrorCode::ServerTooOld);
    }
    Ok((client_max.min(PROTOCOL_VERSION), client_features & SUPPORTED_FEATURES))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn picks_newest_common_version() {
        assert_eq!(negotiate(PROTOCOL_VERSION, 1, 0), Ok((PROTOCOL_VERSION, 0)));
        assert_eq!(negotiate(PROTOCOL_VERSION + 5, 1, u64::MAX), Ok((PROTOCOL_VERSION, SUPPORTED_FEATURES)));
        assert_eq!(negotiate(0, 0, 0), Err(ErrorCode::ClientTooOld));
        assert_eq!(negotiate(PROTOCOL_VERSION + 2, PROTOCOL_VERSION + 1, 0), Err(ErrorCode::ServerTooOld));
    }
}
