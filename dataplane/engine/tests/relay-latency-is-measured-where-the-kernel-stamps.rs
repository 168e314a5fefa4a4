//! A worker measures its relay latency, from the kernel's receive
//! timestamp to the relayed packet having been sent, on a backend that
//! timestamps receives (io_uring as `tandem run` and the io_uring loop
//! net set it up): one observation per relayed packet, each short. Where
//! buffers carry no timestamp (in memory, DPDK) nothing is counted.

mod rig;

use rig::{BACKEND, Rig, pcmu};
use tandem_dataplane::command::{Command, LegId};
use tandem_dataplane::metrics::{Counter, LATENCY_BOUNDS_US};

#[test]
fn every_relayed_packet_is_one_observation() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(false));
    let callee = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(false));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    for _ in 0..25 {
        caller.send_pcmu(&[0; 160]);
        rig.step();
    }
    let relayed = callee.received().len();
    assert_eq!(relayed, 25);
    let c = rig.worker.counters();
    let observed: u64 = c.latency.iter().sum();
    if BACKEND == "io_uring" {
        assert_eq!(observed, 25, "one per relayed packet: {:?}", c.latency);
        // Handled within the turn that received it: well under the last
        // bound (50 ms), on any machine that runs the suite.
        assert_eq!(c.latency[LATENCY_BOUNDS_US.len()], 0, "{:?}", c.latency);
        assert!(c.get(Counter::LatencyNanos) > 0);
    } else {
        assert_eq!(observed, 0, "{BACKEND} buffers carry no receive time");
    }
}
