#![no_main]

#[path = "../common/ivr_inputs.rs"]
mod ivr_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ivr_inputs::ivr_inputs(data));
