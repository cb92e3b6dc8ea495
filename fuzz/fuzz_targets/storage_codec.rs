//! Fuzz target `storage_codec`; the harness is `magpie_fuzz::storage_codec::fuzz_storage_codec`
//! (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| magpie_fuzz::storage_codec::fuzz_storage_codec(data));
