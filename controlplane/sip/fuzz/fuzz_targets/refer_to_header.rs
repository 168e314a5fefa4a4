#![no_main]

#[path = "../common/refer_to_header.rs"]
mod refer_to_header;

libfuzzer_sys::fuzz_target!(|data: &[u8]| refer_to_header::refer_to_header(data));
