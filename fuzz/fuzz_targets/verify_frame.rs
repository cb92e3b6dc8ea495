//! Fuzz target `verify_frame`; the harness is `magpie_fuzz::walk::fuzz_verify` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| magpie_fuzz::walk::fuzz_verify(data));
