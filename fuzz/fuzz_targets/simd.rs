//! Fuzz target `simd`: see `check_simd` in `tests/fuzz_checks/mod.rs` (shared with the corpus
//! replay test `tests/fuzz_corpus.rs`, which runs the same checks on stable).
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::check_simd(data));
