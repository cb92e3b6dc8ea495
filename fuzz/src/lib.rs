//! Harness code shared by Magpie's fuzz targets (`fuzz_targets/*.rs`), the seed generator
//! (`examples/seed_corpus.rs`) and the regression replay (`tests/regressions.rs`).
//!
//! Every target is a plain function here, `fn(&[u8])`, so that a crashing input can be replayed
//! by an ordinary `cargo test` without libFuzzer or sanitizers.

pub mod client;
pub mod framing;
pub mod roundtrip;
pub mod storage_codec;
pub mod walk;

/// The targets, by name, with the function each one runs.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("verify_frame", walk::fuzz_verify),
    ("framing", framing::fuzz_framing),
    ("client_decode", client::fuzz_client_decode),
    ("roundtrip", roundtrip::fuzz_roundtrip),
    ("storage_codec", storage_codec::fuzz_storage_codec),
];
