//! Magpie's wire protocol: the FlatBuffers schema (`wire/schema/magpie.fbs`) and everything
//! needed to speak it — framing, limits, verification, encoding and the stable error codes.
//!
//! Invariant: this crate does no I/O and depends on nothing but `flatbuffers` and `bytes`, so
//! the engine, the clients, the tools and the fuzzers all share exactly one codec.

#[allow(clippy::all, unsafe_op_in_unsafe_fn, mismatched_lifetime_syntaxes, non_snake_case, unused_imports, deprecated)]
#[path = "generated/magpie_generated.rs"]
mod generated;

/// The code `flatc` generates from the schema. Read it only through [`verify`].
pub use generated::magpie::wire::fb;

pub mod chat;
pub mod encode;
mod error;
pub mod framing;
pub mod handshake;
pub mod limits;
pub mod presence;
pub mod message;
pub mod verify;

pub use bytes::Bytes;
pub use error::ErrorCode;
