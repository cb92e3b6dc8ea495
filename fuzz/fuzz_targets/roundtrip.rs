//! Fuzz target `roundtrip`; the harness is `magpie_fuzz::roundtrip::fuzz_roundtrip` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| magpie_fuzz::roundtrip::fuzz_roundtrip(data));
