//! Tandem's media engine (work in progress; see the module list).
#![deny(unsafe_code)]
#![allow(missing_docs)]

pub mod codec;
pub mod dtmf_relay;
pub mod frame;
pub mod jitter;
pub mod mixer;
pub mod prompt;
pub mod quality;
pub mod recorder;
