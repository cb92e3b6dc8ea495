//! Harness code for Magpie's fuzz targets that run a whole engine in-process (`fuzz_targets/*.rs`),
//! the seed generator (`examples/seed_engine.rs`) and the regression replay (`tests/replay.rs`).
//! Each target is a plain `fn(&[u8])`, so a crashing input replays under `cargo test` too.

pub mod conn;
pub mod input;

/// The targets, by name, with the function each one runs.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[("connection", conn::fuzz_connection)];
