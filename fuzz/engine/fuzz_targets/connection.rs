//! Fuzz target `connection`; the harness is `magpie_fuzz_engine::conn::fuzz_connection`
//! (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| magpie_fuzz_engine::conn::fuzz_connection(data));
