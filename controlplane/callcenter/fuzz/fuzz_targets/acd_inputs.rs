#![no_main]

#[path = "../common/acd_inputs.rs"]
mod acd_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| acd_inputs::acd_inputs(data));
