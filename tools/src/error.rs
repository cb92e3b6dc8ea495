//! The CLI's one error type. Protocol errors keep their stable code and number (what scripts
//! match on); local failures get a short snake_case name of their own.

use magpie_client::ClientError;
use magpie_storage::StoreError;
use magpie_wire::ErrorCode;
use std::fmt;

pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Stable name: an [`ErrorCode::name`] or a local one such as `transport` or `db_locked`.
    pub code: String,
    /// The wire number, for protocol error codes.
    pub number: Option<u16>,
    pub message: String,
}

impl CliError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CliError { code: code.to_owned(), number: None, message: message.into() }
    }

    pub fn wire(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        // The server's message may be empty; the code's documented meaning is never wrong.
        let message = if message.is_empty() { code.meaning().to_owned() } else { message };
        CliError { code: code.name().to_owned(), number: Some(code as u16), message }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::new("invalid_input", message)
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "number": self.number, "message": self.message } })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number {
            Some(n) => write!(f, "{} ({n}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for CliError {}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Server { code, message, .. } => CliError::wire(code, message),
            ClientError::UnknownCode { code, message, .. } => {
                CliError { code: "unknown_code".into(), number: Some(code), message }
            }
            ClientError::Rejected { code: Some(code), reason } => CliError::wire(code, reason),
            ClientError::Rejected { code: None, reason } => CliError::new("rejected", reason),
            ClientError::Decode(code) => CliError::wire(code, "the engine sent data that failed verification"),
            ClientError::Transport(why) => CliError::new("transport", why),
            ClientError::Timeout => CliError::new("timeout", "no answer from the engine in time (see --timeout)"),
            ClientError::Closed => CliError::new("closed", "the connection to the engine was closed"),
            ClientError::UnexpectedReply(why) => CliError::new("unexpected_reply", why),
            ClientError::InvalidInput(why) => CliError::invalid(why),
        }
    }
}

/// Whether RocksDB refused to open because another process (a running engine) holds the
/// database's LOCK file. RocksDB reports this only as an I/O error whose text names the lock.
pub fn is_lock_error(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(db) if db.to_string().to_ascii_lowercase().contains("lock"))
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        if is_lock_error(&e) {
            return CliError::new(
                "db_locked",
                format!("the database is in use by another process (a running engine?): {e}"),
            );
        }
        let code = match e {
            StoreError::UsernameTaken => return CliError::wire(ErrorCode::UsernameTaken, "username taken"),
            StoreError::Corrupt(_) => "corrupt",
            StoreError::ReadOnly => "read_only",
            _ => "store",
        };
        CliError::new(code, e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new("io", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_errors_show_name_and_number() {
        let e = CliError::from(ClientError::Server {
            code: ErrorCode::ChatNotFound,
            message: "no chat 9".into(),
            retry_after_ms: 0,
        });
        assert_eq!(e.to_string(), "chat_not_found (200): no chat 9");
        assert_eq!(e.to_json()["error"]["number"], 200);
        let e = CliError::wire(ErrorCode::Forbidden, "");
        assert!(e.to_string().starts_with("forbidden (201): The caller is a member"));
        assert_eq!(CliError::from(ClientError::Timeout).code, "timeout");
        assert_eq!(CliError::invalid("x").to_string(), "invalid_input: x");
        assert_eq!(CliError::invalid("x").context("reading y").message, "reading y: x");
    }
}
