//! Tandem's benchmarks and load generators.
//!
//! The criterion benches under `benches/` measure Tandem's DSP and, in the
//! same process, the peer implementation (spandsp), then print one summary
//! table per bench with both throughputs and their ratio. Run them with
//! `cargo bench -p tandem-bench`.
//!
//! The `tandem-bench` binary is a load generator against whole systems
//! on loopback (see its `--help`):
//!
//! - `relay`: N/2 calls set up over the rtpengine ng protocol ([`relay`],
//!   [`ng_client`]), 20 ms G.711 RTP both ways from one thread over
//!   io_uring ([`generator`]), and per target (Tandem's `tandem run`,
//!   rtpengine, or both in one run) the target's CPU time per relayed
//!   packet ([`cpu`]), loss per direction and added latency;
//! - `transcode`: the same with a G.722 callee;
//! - `conference`: Tandem's engine in-process, members mixed per core in
//!   real time ([`conference`]);
//! - `acd`: the call-center ACD in-process: decision latency at two center
//!   sizes and a day of traffic replayed in simulated time ([`acd`]).
//!
//! Targets are child processes ([`child`]) stopped with SIGTERM when the
//! run ends, also on error.
#![forbid(unsafe_code)]

pub mod acd;
pub mod backend;
pub mod child;
pub mod conference;
pub mod cpu;
#[cfg(feature = "dpdk")]
pub mod dpdk_runs;
pub mod engine_path;
pub mod floor;
pub mod generator;
pub mod ng_client;
pub mod payload;
pub mod relay;
pub mod sip;

use std::time::{Duration, Instant};

/// One row of a side-by-side comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// What was measured, e.g. `"G.711 A-law encode"`.
    pub name: String,
    /// Unit of work, e.g. `"samples/s"`.
    pub unit: &'static str,
    /// Tandem's throughput in `unit`.
    pub tandem: f64,
    /// The peer's throughput in `unit`.
    pub peer: f64,
}

impl Comparison {
    /// Tandem's throughput divided by the peer's: above 1 means Tandem is faster.
    pub fn ratio(&self) -> f64 {
        self.tandem / self.peer
    }
}

/// Measures the throughput of `run`, which performs `work` units per call:
/// the best of several ~200 ms batches, so that a busy neighbour on the
/// machine inflates nothing.
pub fn throughput(work: f64, mut run: impl FnMut()) -> f64 {
    // Warm caches, tables and branch predictors.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(100) {
        run();
    }
    let mut best = f64::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < Duration::from_millis(200) {
            run();
            calls += 1;
        }
        let per_call = start.elapsed().as_secs_f64() / calls as f64;
        best = best.min(per_call);
    }
    work / best
}

/// Measures Tandem and the peer on the same work and returns the row.
pub fn compare(
    name: impl Into<String>,
    unit: &'static str,
    work: f64,
    tandem: impl FnMut(),
    peer: impl FnMut(),
) -> Comparison {
    let tandem = throughput(work, tandem);
    let peer = throughput(work, peer);
    Comparison {
        name: name.into(),
        unit,
        tandem,
        peer,
    }
}

/// Prints rows as an aligned table with the ratio column.
pub fn print_table(title: &str, peer_name: &str, rows: &[Comparison]) {
    println!();
    println!("== {title}: Tandem vs {peer_name} (same run, same machine) ==");
    println!(
        "{:<36} {:>16} {:>16} {:>14} {:>8}",
        "what", "tandem", peer_name, "unit", "ratio"
    );
    for r in rows {
        println!(
            "{:<36} {:>16} {:>16} {:>14} {:>7.2}x",
            r.name,
            human(r.tandem),
            human(r.peer),
            r.unit,
            r.ratio()
        );
    }
    println!();
}

/// `1.23e9` → `"1.23 G"`.
pub fn human(v: f64) -> String {
    let (div, suffix) = if v >= 1e9 {
        (1e9, " G")
    } else if v >= 1e6 {
        (1e6, " M")
    } else if v >= 1e3 {
        (1e3, " k")
    } else {
        (1.0, "")
    };
    format!("{:.2}{suffix}", v / div)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_scales_units() {
        assert_eq!(human(1.5e9), "1.50 G");
        assert_eq!(human(2.0e6), "2.00 M");
        assert_eq!(human(999.0), "999.00");
    }

    #[test]
    fn ratio_is_tandem_over_peer() {
        let c = Comparison {
            name: "x".into(),
            unit: "u",
            tandem: 30.0,
            peer: 10.0,
        };
        assert!((c.ratio() - 3.0).abs() < 1e-12);
    }
}
