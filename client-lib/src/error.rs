//! The one error type of the client library.

use magpie_wire::ErrorCode;
use std::time::Duration;

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered the request with an `Error` frame; the connection stays open.
    #[error("server error {code}: {message}")]
    Server { code: ErrorCode, message: String, retry_after_ms: u32 },
    /// An `Error` frame whose code this build does not know (a newer server). It is retried only
    /// if the server asked for it with a non-zero `retry_after_ms`.
    #[error("server error with unknown code {code}: {message}")]
    UnknownCode { code: u16, message: String, retry_after_ms: u32 },
    /// The server refused or closed the connection with a `Close` frame (version mismatch,
    /// revoked device, protocol violation, shutdown). `code` is `None` for codes this build does
    /// not know.
    #[error("server closed the connection ({}): {reason}", code_name(*.code))]
    Rejected { code: Option<ErrorCode>, reason: String },
    /// The connection could not be made, or broke; a request in flight may or may not have
    /// taken effect.
    #[error("transport: {0}")]
    Transport(String),
    /// No reply within the configured request timeout.
    #[error("request timed out")]
    Timeout,
    /// The client was closed (or stopped for good after a fatal error); nothing more is sent.
    #[error("client closed")]
    Closed,
    /// A frame or event from the server failed verification.
    #[error("undecodable data from the server: {0}")]
    Decode(ErrorCode),
    /// The server answered with a frame of the wrong type for the request.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(String),
    /// The call's arguments were rejected before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn code_name(code: Option<ErrorCode>) -> &'static str {
    code.map_or("unknown code", ErrorCode::name)
}

impl ClientError {
    /// Builds the error for an `Error` frame.
    pub(crate) fn from_wire(code: u16, message: String, retry_after_ms: u32) -> Self {
        match ErrorCode::from_u16(code) {
            Some(code) => ClientError::Server { code, message, retry_after_ms },
            None => ClientError::UnknownCode { code, message, retry_after_ms },
        }
    }

    /// The stable code, for `Server` and `Rejected` errors.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server { code, .. } => Some(*code),
            ClientError::Rejected { code, .. } => *code,
            ClientError::Decode(code) => Some(*code),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            ClientError::Server { code, .. } => code.retryable(),
            ClientError::UnknownCode { retry_after_ms, .. } => *retry_after_ms > 0,
            ClientError::Rejected { code, .. } => code.is_some_and(ErrorCode::retryable),
            ClientError::Transport(_) | ClientError::Timeout => true,
            ClientError::Closed
            | ClientError::Decode(_)
            | ClientError::UnexpectedReply(_)
            | ClientError::InvalidInput(_) => false,
        }
    }

    /// How long the server asked us to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Server { retry_after_ms, .. } | ClientError::UnknownCode { retry_after_ms, .. }
                if *retry_after_ms > 0 =>
            {
                Some(Duration::from_millis(u64::from(*retry_after_ms)))
            }
            _ => None,
        }
    }

    pub(crate) fn transport(e: impl std::fmt::Display) -> Self {
        ClientError::Transport(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_errors_keep_code_and_retry_hint() {
        let e = ClientError::from_wire(ErrorCode::RateLimited as u16, "slow down".into(), 250);
        assert_eq!(e.code(), Some(ErrorCode::RateLimited));
        assert!(e.retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_millis(250)));

        let e = ClientError::from_wire(ErrorCode::ChatNotFound as u16, String::new(), 0);
        assert!(!e.retryable());
        assert_eq!(e.retry_after(), None);

        let e = ClientError::from_wire(64_000, "new".into(), 0);
        assert!(matches!(e, ClientError::UnknownCode { code: 64_000, .. }));
        assert!(!e.retryable());
        assert!(ClientError::from_wire(64_000, "new".into(), 10).retryable());
    }

    #[test]
    fn rejected_display_names_the_code() {
        let e = ClientError::Rejected { code: Some(ErrorCode::Revoked), reason: "bye".into() };
        assert_eq!(e.to_string(), "server closed the connection (revoked): bye");
        assert!(!e.retryable());
        assert!(ClientError::Rejected { code: Some(ErrorCode::ShuttingDown), reason: String::new() }.retryable());
    }
}
