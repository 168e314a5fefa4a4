//! RTCP between two sessions: SR/RR generation, LSR/DLSR, RTT, the peer's
//! loss and jitter, and the report schedule.

use std::time::{Duration, Instant};

use tandem_dataplane::quality::{
    NtpTime, RtcpConfig, RtcpSession, duration_to_ntp_short, rtt_from_block,
};
use tandem_wire::Ssrc;
use tandem_wire::rtcp::{CompoundPacket, TypedRtcpPacket};

const A: Ssrc = Ssrc(0xaaaa_0001);
const B: Ssrc = Ssrc(0xbbbb_0002);

/// NTP wall clocks of the two sides, deliberately unrelated.
fn ntp_a(t0: Instant, now: Instant) -> NtpTime {
    NtpTime::from_unix(Duration::from_secs(1_700_000_000) + (now - t0))
}
fn ntp_b(t0: Instant, now: Instant) -> NtpTime {
    NtpTime::from_unix(Duration::from_secs(1_600_000_123) + (now - t0))
}

#[test]
fn rtt_is_a_minus_lsr_minus_dlsr() {
    let a = NtpTime::from_unix(Duration::from_millis(10_250));
    let lsr = NtpTime::from_unix(Duration::from_millis(10_000)).short();
    let dlsr = duration_to_ntp_short(Duration::from_millis(200));
    let rtt = rtt_from_block(a, lsr, dlsr).unwrap();
    assert!((rtt.as_secs_f64() - 0.050).abs() < 0.0001, "{rtt:?}");
    assert_eq!(rtt_from_block(a, 0, dlsr), None);
    // A DLSR larger than the elapsed time would make RTT negative.
    assert_eq!(
        rtt_from_block(a, lsr, duration_to_ntp_short(Duration::from_millis(300))),
        None
    );
}

#[test]
fn sr_rr_exchange_measures_rtt_loss_and_jitter() {
    let t0 = Instant::now();
    let one_way = Duration::from_millis(25);
    let mut a = RtcpSession::new(t0, RtcpConfig::new(A, 8000, b"a@test", 1));
    let mut b = RtcpSession::new(t0, RtcpConfig::new(B, 8000, b"b@test", 2));

    // A sends 100 packets of 20 ms; B loses every 20th.
    for i in 0..100u16 {
        let sent = t0 + Duration::from_millis(20 * u64::from(i));
        a.handle_rtp_sent(sent, 160 * u32::from(i), 160);
        if i % 20 != 7 {
            b.handle_rtp_received(sent + one_way, A, i, 160 * u32::from(i), 160);
        }
    }

    // A's SR at 2 s.
    let t_sr = t0 + Duration::from_secs(2);
    let mut buf = [0u8; 512];
    let n = a.write_report(t_sr, ntp_a(t0, t_sr), &mut buf).unwrap();
    let packets: Vec<_> = CompoundPacket::new_checked(&buf[..n])
        .unwrap()
        .iter()
        .collect();
    assert_eq!(packets.len(), 2);
    let TypedRtcpPacket::SenderReport(sr) = packets[0] else {
        panic!("expected SR first, got {:?}", packets[0]);
    };
    assert_eq!(sr.ssrc(), A);
    assert_eq!(sr.sender_info().packet_count, 100);
    assert_eq!(sr.sender_info().octet_count, 16_000);
    // RTP timestamp extrapolated from the last packet (at 1.98 s, ts 15840).
    assert_eq!(sr.sender_info().rtp_timestamp, 15_840 + 160);
    assert_eq!(sr.report_count(), 0, "A has received nothing");
    let TypedRtcpPacket::SourceDescription(sdes) = packets[1] else {
        panic!("expected SDES");
    };
    assert_eq!(sdes.chunks().next().unwrap().cname(), Some(&b"a@test"[..]));

    // B receives it one way later and answers 300 ms after that.
    let t_b_rx = t_sr + one_way;
    b.handle_rtcp(t_b_rx, ntp_b(t0, t_b_rx), &buf[..n]).unwrap();
    assert_eq!(b.peer_sender_counts(), Some((100, 16_000)));
    let t_rr = t_b_rx + Duration::from_millis(300);
    let n = b.write_report(t_rr, ntp_b(t0, t_rr), &mut buf).unwrap();
    let first = CompoundPacket::new_checked(&buf[..n])
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let TypedRtcpPacket::ReceiverReport(rr) = first else {
        panic!("B sent no RTP, so it sends an RR");
    };
    let block = rr.report_blocks().next().unwrap();
    assert_eq!(block.ssrc(), A);
    // 99 expected after probation, 5 lost (7, 27, 47, 67, 87).
    assert_eq!(block.cumulative_lost(), 5);
    assert_eq!(block.fraction_lost(), ((5 << 8) / 99) as u8);
    assert_eq!(block.extended_highest_seq(), 99);
    assert_eq!(block.jitter(), 0);

    // A gets it one way later: RTT 50 ms despite the unrelated clocks.
    let t_a_rx = t_rr + one_way;
    a.handle_rtcp(t_a_rx, ntp_a(t0, t_a_rx), &buf[..n]).unwrap();
    let remote = a.remote().unwrap();
    assert_eq!(remote.cumulative_lost, 5);
    let rtt = a.rtt().unwrap();
    assert!((rtt.as_secs_f64() - 0.050).abs() < 0.0002, "rtt {rtt:?}");

    // B's own view gives an E-model rating with 5 % loss.
    let r = b
        .r_factor(
            tandem_dataplane::quality::EModelCodec::G711_PLC,
            Duration::from_millis(40),
        )
        .unwrap();
    assert!(r < 80.0 && r > 70.0, "R {r}");
    let mos = b
        .mos(
            tandem_dataplane::quality::EModelCodec::G711_PLC,
            Duration::from_millis(40),
        )
        .unwrap();
    assert!(mos > 3.5 && mos < 4.1, "MOS {mos}");
    assert_eq!(b.jitter_ms(), Some(0.0));
    assert_eq!(a.jitter_ms(), None, "A received nothing");
}

#[test]
fn malformed_rtcp_is_refused_and_counted() {
    let t0 = Instant::now();
    let mut a = RtcpSession::new(t0, RtcpConfig::new(A, 8000, b"a", 1));
    let ntp = ntp_a(t0, t0);
    assert!(a.handle_rtcp(t0, ntp, &[0x80, 201, 0, 9, 1, 2]).is_err());
    assert!(a.handle_rtcp(t0, ntp, &[]).is_err());
    assert_eq!(a.rtcp_received(), (0, 2));
    assert!(a.remote().is_none());
}

#[test]
fn report_interval_is_randomised_and_deterministic() {
    let t0 = Instant::now();
    let schedule = |seed| {
        let mut s = RtcpSession::new(t0, RtcpConfig::new(A, 8000, b"a", seed));
        let mut buf = [0u8; 256];
        let mut times = Vec::new();
        let mut now = t0;
        while times.len() < 200 {
            now = s.poll_timeout();
            let len = s.poll_report(now, ntp_a(t0, now), &mut buf).unwrap();
            assert!(len.is_some());
            times.push(now - t0);
        }
        assert_eq!(s.poll_report(now, ntp_a(t0, now), &mut buf).unwrap(), None);
        times
    };
    let a = schedule(7);
    assert_eq!(a, schedule(7));
    assert_ne!(a, schedule(8));
    // First report within 1.25–3.75 s, then gaps within 2.5–7.5 s averaging 5.
    assert!(a[0] >= Duration::from_millis(1250) && a[0] <= Duration::from_millis(3750));
    let gaps: Vec<f64> = a.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    assert!(gaps.iter().all(|&g| (2.5..=7.5).contains(&g)));
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!((mean - 5.0).abs() < 0.3, "mean interval {mean}");
}

#[test]
fn sender_report_only_while_sending() {
    let t0 = Instant::now();
    let mut a = RtcpSession::new(t0, RtcpConfig::new(A, 8000, b"a", 1));
    let mut buf = [0u8; 256];
    let kind = |buf: &[u8]| buf[1];
    a.handle_rtp_sent(t0, 0, 160);
    a.write_report(t0, ntp_a(t0, t0), &mut buf).unwrap();
    assert_eq!(kind(&buf), 200);
    // Sent in the previous interval: still SR.
    a.write_report(t0, ntp_a(t0, t0), &mut buf).unwrap();
    assert_eq!(kind(&buf), 200);
    a.write_report(t0, ntp_a(t0, t0), &mut buf).unwrap();
    assert_eq!(kind(&buf), 201);
    // Too small a buffer is an error, not a panic.
    assert!(a.write_report(t0, ntp_a(t0, t0), &mut buf[..10]).is_err());
}

#[test]
fn ssrc_change_restarts_reception_stats() {
    let t0 = Instant::now();
    let mut a = RtcpSession::new(t0, RtcpConfig::new(A, 8000, b"a", 1));
    for i in 0..10u16 {
        a.handle_rtp_received(t0, B, i, 0, 160);
    }
    assert_eq!(a.source().unwrap().received(), 9);
    for i in 500..503u16 {
        a.handle_rtp_received(t0, Ssrc(99), i, 0, 160);
    }
    assert_eq!(a.ssrc_changes(), 1);
    assert_eq!(a.source().unwrap().ssrc(), Ssrc(99));
    assert_eq!(a.source().unwrap().received(), 2);
}
