#![no_main]

#[path = "../common/host_stack.rs"]
mod host_stack;

libfuzzer_sys::fuzz_target!(|data: &[u8]| host_stack::host_stack(data));
