#![no_main]

#[path = "../common/session_timer_header.rs"]
mod session_timer_header;

libfuzzer_sys::fuzz_target!(|data: &[u8]| session_timer_header::session_timer_header(data));
