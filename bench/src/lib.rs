//! Tandem's benchmarks and load generators.
//!
//! The criterion benches under `benches/` run Tandem's DSP side by side with
//! spandsp in the same process and print the ratio. Run them with
//! `cargo bench -p tandem-bench`.
#![forbid(unsafe_code)]
