//! Fuzz target `framing`; the harness is `magpie_fuzz::framing::fuzz_framing` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| magpie_fuzz::framing::fuzz_framing(data));
