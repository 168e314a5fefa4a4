#![no_main]

#[path = "../common/offer_answer.rs"]
mod offer_answer;

libfuzzer_sys::fuzz_target!(|data: &[u8]| offer_answer::offer_answer(data));
