//! Fuzz target `client_decode`; the harness is `magpie_fuzz::client::fuzz_client_decode` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| magpie_fuzz::client::fuzz_client_decode(data));
