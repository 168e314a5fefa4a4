//! Each leg terminates RTCP (RFC 3550 §6): it sends its own sender reports
//! to the peer's RTCP port, reads the peer's reports, and turns them into
//! round-trip time, loss, jitter and a MOS estimate in the leg's statistics.

mod rig;

use rig::{Rig, pcmu, sine};
use tandem_dataplane::command::{Command, Event, LegId};
use tandem_wire::rtcp::{CompoundPacket, TypedRtcpPacket};

#[test]
fn sender_reports_flow_and_rtt_comes_from_the_peers_receiver_report() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    let mut callee = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(true));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    // The callee's RTCP socket: its RTP port + 1.
    let callee_rtcp = rig.net.socket(rig::addr("10.0.0.8:6001")).unwrap();

    let mut sr = None;
    for tick in 0..600 {
        caller.send_pcmu(&sine(160, 440.0, 3000.0, tick * 160));
        callee.send_pcmu(&sine(160, 880.0, 3000.0, tick * 160));
        rig.step();
        let _ = (caller.received(), callee.received());
        if let Some((from, p)) = callee_rtcp.try_recv() {
            assert_eq!(
                from,
                rig::addr("10.0.0.1:20003"),
                "from the leg's RTCP port"
            );
            let compound = CompoundPacket::new_checked(&p[..]).expect("valid compound RTCP");
            for pkt in compound.iter() {
                if let TypedRtcpPacket::SenderReport(s) = pkt {
                    sr = Some((
                        s.ssrc().0,
                        s.sender_info().ntp_timestamp,
                        s.sender_info().packet_count,
                    ));
                }
            }
            if sr.is_some() {
                break;
            }
        }
    }
    let (our_ssrc, ntp, count) =
        sr.expect("a sender report within 12 s (RFC 3550 interval 5 s ± 50 %)");
    assert!(count > 20, "the SR counts what the leg sent: {count}");

    // 20 ms later the callee answers with an RR that echoes the SR
    // (LSR = middle 32 bits of its NTP time) and claims it held it 20 ms.
    rig.step();
    let lsr = (ntp >> 16) as u32;
    let dlsr: u32 = 65_536 / 50; // 20 ms in 1/65536 s
    let mut rr = vec![0x81, 201, 0, 7];
    rr.extend_from_slice(&0xCA11_EE00u32.to_be_bytes());
    rr.extend_from_slice(&our_ssrc.to_be_bytes());
    rr.extend_from_slice(&[0, 0, 0, 0]); // fraction lost, cumulative lost
    rr.extend_from_slice(&0u32.to_be_bytes()); // highest sequence
    rr.extend_from_slice(&0u32.to_be_bytes()); // jitter
    rr.extend_from_slice(&lsr.to_be_bytes());
    rr.extend_from_slice(&dlsr.to_be_bytes());
    callee_rtcp.send_to(&rr, rig::addr("10.0.0.1:20003"));
    rig.step();
    rig.ok(Command::QueryLeg { leg: LegId(2) });
    let report = rig
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::Stats {
                leg: LegId(2),
                report,
            } => Some(report),
            _ => None,
        })
        .expect("stats");
    // Sent at t, RR arrives at t + 40 ms, held 20 ms: RTT 20 ms.
    assert!(
        (report.rtt_ms - 20.0).abs() < 1.0,
        "rtt {} ms",
        report.rtt_ms
    );
    assert!(report.mos > 4.0, "clean call, MOS {}", report.mos);
    assert!(
        report.jitter_ms < 1.0,
        "perfectly paced stream, jitter {}",
        report.jitter_ms
    );
    assert_eq!(report.lost, 0);
}

#[test]
fn garbage_on_the_rtcp_port_is_counted_not_fatal() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    let stranger = rig.net.socket(rig::addr("10.6.6.6:6001")).unwrap();
    let peer_rtcp = rig.net.socket(rig::addr("10.0.0.9:5005")).unwrap();
    caller.send_pcmu(&[0; 160]);
    rig.step();
    stranger.send_to(&[0x81, 201, 0, 1, 1, 2, 3, 4], rig::addr("10.0.0.1:20001"));
    peer_rtcp.send_to(b"not rtcp at all", rig::addr("10.0.0.1:20001"));
    peer_rtcp.send_to(&[0x81, 201, 0, 200], rig::addr("10.0.0.1:20001"));
    rig.step();
    let c = rig.worker.counters();
    assert_eq!(
        c.drops(tandem_dataplane::metrics::DropReason::WrongSource),
        1
    );
    assert_eq!(c.drops(tandem_dataplane::metrics::DropReason::Malformed), 2);
    caller.send_pcmu(&[0; 160]);
    rig.step();
}
