//! RFC 3550 Appendix A.1 (sequence validation), A.3 (loss) and A.8
//! (jitter) on crafted sequences.

use tandem_dataplane::quality::{SeqVerdict, SourceStats};
use tandem_wire::Ssrc;

/// A source fed `seqs` (the first one on probation).
fn fed(seqs: &[u16]) -> SourceStats {
    let mut s = SourceStats::new(Ssrc(7), seqs[0]);
    for &q in seqs {
        s.update_seq(q);
    }
    s
}

#[test]
fn in_order_stream_is_lossless() {
    let seqs: Vec<u16> = (1000..1100).collect();
    let mut s = fed(&seqs);
    // A.1 leaves the first packet on probation: base is the second.
    assert_eq!(s.received(), 99);
    assert_eq!(s.expected(), 99);
    assert_eq!(s.cumulative_lost(), 0);
    assert_eq!(s.take_fraction_lost(), 0);
    assert_eq!(s.extended_max(), 1099);
}

#[test]
fn wraparound_extends_the_sequence_number() {
    let seqs: Vec<u16> = (0..20u16).map(|i| 65530u16.wrapping_add(i)).collect();
    let s = fed(&seqs);
    assert_eq!(s.extended_max(), 65536 + 13);
    assert_eq!(s.expected(), 19);
    assert_eq!(s.cumulative_lost(), 0);
}

#[test]
fn reordering_is_not_loss() {
    let s = fed(&[1, 2, 4, 3, 5, 7, 6, 8]);
    assert_eq!(s.expected(), 7);
    assert_eq!(s.received(), 7);
    assert_eq!(s.cumulative_lost(), 0);
    assert_eq!(s.duplicates(), 0);
    assert_eq!(s.extended_max(), 8);
}

#[test]
fn reordering_across_the_wrap_does_not_add_a_cycle() {
    let s = fed(&[65533, 65534, 0, 65535, 1, 2]);
    assert_eq!(s.extended_max(), 65536 + 2);
    assert_eq!(s.expected(), 5);
    assert_eq!(s.cumulative_lost(), 0);
}

#[test]
fn duplicates_count_as_received_and_make_loss_negative() {
    let mut s = fed(&[1, 2, 3, 3, 4, 4, 5]);
    assert_eq!(s.expected(), 4);
    assert_eq!(s.received(), 6);
    assert_eq!(s.cumulative_lost(), -2);
    assert_eq!(s.duplicates(), 2);
    // Fraction lost is never negative.
    assert_eq!(s.take_fraction_lost(), 0);
}

#[test]
fn loss_and_fraction_lost_per_interval() {
    // 2..=101 expected (100 packets), every tenth missing.
    let seqs: Vec<u16> = (1..=101).filter(|q| q % 10 != 5).collect();
    let mut s = fed(&seqs);
    assert_eq!(s.expected(), 100);
    assert_eq!(s.cumulative_lost(), 10);
    assert_eq!(s.take_fraction_lost(), (10u32 * 256 / 100) as u8);
    // Next interval: 50 more, none lost.
    for q in 102..152 {
        s.update_seq(q);
    }
    assert_eq!(s.take_fraction_lost(), 0);
    assert_eq!(s.cumulative_lost(), 10);
    // An empty interval reports zero.
    assert_eq!(s.take_fraction_lost(), 0);
}

#[test]
fn big_jump_is_ignored_once_then_restarts_the_source() {
    let mut s = fed(&(1..=50).collect::<Vec<_>>());
    assert_eq!(s.update_seq(40_000), SeqVerdict::BadJump);
    assert_eq!(s.extended_max(), 50);
    // A stray packet does not restart: the next one must follow it.
    assert_eq!(s.update_seq(51), SeqVerdict::Valid);
    assert_eq!(s.update_seq(40_100), SeqVerdict::BadJump);
    assert_eq!(s.update_seq(40_101), SeqVerdict::Valid);
    assert_eq!(s.restarts(), 1);
    assert_eq!(s.received(), 1);
    assert_eq!(s.expected(), 1);
    assert_eq!(s.update_seq(40_102), SeqVerdict::Valid);
    assert_eq!(s.cumulative_lost(), 0);
}

#[test]
fn late_packet_beyond_misorder_is_a_jump() {
    let mut s = fed(&(1000..1200).collect::<Vec<_>>());
    // 150 back is more than MAX_MISORDER (100): treated as a jump.
    assert_eq!(s.update_seq(1049), SeqVerdict::BadJump);
    // 50 back is reordering.
    assert_eq!(s.update_seq(1149), SeqVerdict::Valid);
}

#[test]
fn probation_restarts_on_a_gap() {
    let mut s = SourceStats::new(Ssrc(1), 10);
    assert_eq!(s.update_seq(10), SeqVerdict::Probation);
    assert_eq!(s.update_seq(12), SeqVerdict::Probation);
    assert!(!s.is_valid());
    assert_eq!(s.update_seq(13), SeqVerdict::Valid);
    assert!(s.is_valid());
    assert_eq!(s.received(), 1);
}

#[test]
fn jitter_converges_for_alternating_transit() {
    // 8 kHz, 20 ms packets; odd packets arrive 10 ms (80 ticks) late, so
    // |D| = 80 for every pair and J converges to 80.
    let mut s = SourceStats::new(Ssrc(1), 0);
    for i in 0..2000u32 {
        let ts = 160 * i;
        let arrival = 5_000 + ts + if i % 2 == 1 { 80 } else { 0 };
        if s.update_seq(i as u16) == SeqVerdict::Valid {
            s.update_jitter(arrival, ts);
        }
    }
    assert!((79..=80).contains(&s.jitter()), "jitter {}", s.jitter());
}

#[test]
fn jitter_is_zero_for_constant_transit_and_wraps_cleanly() {
    let mut s = SourceStats::new(Ssrc(1), 0);
    for i in 0..500u32 {
        // Timestamps and arrivals cross 2^32.
        let ts = (u32::MAX - 10_000).wrapping_add(160 * i);
        let arrival = ts.wrapping_add(123_456);
        if s.update_seq(i as u16) == SeqVerdict::Valid {
            s.update_jitter(arrival, ts);
        }
    }
    assert_eq!(s.jitter(), 0);
}

#[test]
fn jitter_follows_the_a8_recursion_exactly() {
    let mut s = SourceStats::new(Ssrc(1), 0);
    s.update_seq(0);
    s.update_seq(1);
    s.update_jitter(1000, 0);
    s.update_jitter(1160 + 32, 160); // D = 32: J = 32/16 = 2
    assert_eq!(s.jitter(), 2);
}

#[test]
fn burst_ratio_tells_random_from_bursty_loss() {
    // 5 % loss, one packet at a time: BurstR ≈ 1.
    let random: Vec<u16> = (1..=4000u16).filter(|q| q % 20 != 7).collect();
    let r = fed(&random).burst_ratio();
    // 5 % loss in bursts of 5: p = 1/95, q = 1/5, BurstR = 1/(p+q) ≈ 4.75.
    let bursty: Vec<u16> = (1..=4000u16).filter(|q| q % 100 >= 5).collect();
    let b = fed(&bursty).burst_ratio();
    eprintln!("BurstR random {r:.2}, bursty {b:.2}");
    assert!((r - 1.0).abs() < 0.1, "{r}");
    assert!((b - 4.75).abs() < 0.3, "{b}");
    // No loss: 1.
    assert_eq!(fed(&(1..500).collect::<Vec<_>>()).burst_ratio(), 1.0);
}
