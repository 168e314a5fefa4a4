#![no_main]

// Each target uses only part of the shared file.
#[allow(dead_code)]
#[path = "../common/exercise.rs"]
mod exercise;

libfuzzer_sys::fuzz_target!(|data: &[u8]| exercise::bencode_value(data));
