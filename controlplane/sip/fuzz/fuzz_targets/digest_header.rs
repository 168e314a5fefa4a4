#![no_main]

#[path = "../common/digest_header.rs"]
mod digest_header;

libfuzzer_sys::fuzz_target!(|data: &[u8]| digest_header::digest_header(data));
