#![no_main]

#[path = "../common/plan_strings.rs"]
mod plan_strings;

libfuzzer_sys::fuzz_target!(|data: &[u8]| plan_strings::plan_strings(data));
