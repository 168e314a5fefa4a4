//! Tandem's media engine (work in progress; see the module list).
#![deny(unsafe_code)]
#![allow(missing_docs)]

pub mod codec;
pub mod command;
pub mod dtmf_relay;
pub mod engine;
pub mod frame;
pub mod jitter;
pub mod metrics;
pub mod mixer;
pub mod prompt;
pub mod quality;
pub mod recorder;
pub mod worker;
