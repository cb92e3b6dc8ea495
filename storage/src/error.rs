//! Error type of the storage crate.

use crate::codec::CodecError;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// [`crate::Store::create_user`]: the username is already registered.
    #[error("username taken")]
    UsernameTaken,
    /// [`crate::Store::create_device`]: the user does not exist.
    #[error("unknown user {0}")]
    UnknownUser(u64),
    /// [`crate::Store::create_device`]: another device already has this token hash (only
    /// possible with a broken token generator; refused so the token index stays one-to-one).
    #[error("token hash already registered")]
    TokenTaken,
    /// A stored record or key failed to decode, or an index points nowhere.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// RocksDB reported an error (I/O, corruption detected by RocksDB, ...).
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// Filesystem error outside RocksDB (creating the directory, starting the thread).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// [`crate::Store::flush_and_close`] was called (or the store was dropped).
    #[error("store is closed")]
    Closed,
    /// [`crate::Committer::try_submit`]: the commit queue is full; nothing was written.
    #[error("commit queue full")]
    Busy,
    /// A write was attempted on a store opened with [`crate::Store::open_read_only`].
    #[error("store is read-only")]
    ReadOnly,
    /// [`crate::Store::allocate_ids`]: the request would overflow the 64-bit id space.
    #[error("id space exhausted")]
    IdsExhausted,
}

impl From<CodecError> for StoreError {
    fn from(e: CodecError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Result type of the storage crate.
pub type Result<T> = std::result::Result<T, StoreError>;
