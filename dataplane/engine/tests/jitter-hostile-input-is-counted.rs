//! Duplicates, late packets, SSRC changes, timestamp jumps, overflow and
//! garbage payloads: each is counted, none panics.

use std::time::{Duration, Instant};

use tandem_dataplane::codec::{Codec, CodecError};
use tandem_dataplane::jitter::{JitterBuffer, JitterConfig, PushOutcome};
use tandem_wire::Ssrc;

const P: [u8; 160] = [0xd5; 160];

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

#[test]
fn duplicates_are_dropped_and_counted() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcma, JitterConfig::default()).unwrap();
    assert_eq!(jb.push(t0, 1, 0, Ssrc(1), &P), Ok(PushOutcome::Buffered));
    assert_eq!(jb.push(t0, 1, 0, Ssrc(1), &P), Ok(PushOutcome::Duplicate));
    assert_eq!(jb.push(t0, 2, 160, Ssrc(1), &P), Ok(PushOutcome::Buffered));
    // Same timestamp under another sequence number: still a duplicate.
    assert_eq!(jb.push(t0, 3, 160, Ssrc(1), &P), Ok(PushOutcome::Duplicate));
    // A duplicate of a packet already played is a duplicate, not late.
    for k in 0..6 {
        jb.pop(at(t0, 20 * k));
    }
    assert_eq!(
        jb.push(at(t0, 120), 1, 0, Ssrc(1), &P),
        Ok(PushOutcome::Duplicate)
    );
    assert_eq!(jb.counters().duplicate, 3);
    assert_eq!(jb.counters().pushed, 2);
}

#[test]
fn late_packets_are_dropped_and_counted() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default()).unwrap();
    // Packets 0..10 on time except 5, which comes 200 ms late.
    let mut late = None;
    for k in 0..30u64 {
        let now = at(t0, 20 * k);
        if k < 10 && k != 5 {
            jb.push(now, k as u16, 160 * k as u32, Ssrc(1), &P).unwrap();
        }
        if k == 15 {
            late = Some(jb.push(now, 5, 800, Ssrc(1), &P).unwrap());
        }
        jb.pop(now);
    }
    assert_eq!(late, Some(PushOutcome::Late));
    let c = jb.counters();
    assert_eq!(c.late, 1);
    assert!(c.lost >= 1, "{c:?}");
}

#[test]
fn ssrc_change_and_timestamp_jump_resync() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default()).unwrap();
    let mut audio_after = [0usize; 3];
    for k in 0..150u64 {
        let now = at(t0, 20 * k);
        let (phase, seq, ts, ssrc) = match k {
            0..50 => (0, k as u16, 160 * k as u32, Ssrc(1)),
            // New SSRC with unrelated numbering.
            50..100 => (
                1,
                40_000 + k as u16,
                3_000_000_000 + 160 * k as u32,
                Ssrc(2),
            ),
            // Same SSRC, timestamps jump by an hour.
            _ => (
                2,
                40_000 + k as u16,
                3_000_000_000u32.wrapping_add(28_800_000 + 160 * k as u32),
                Ssrc(2),
            ),
        };
        jb.push(now, seq, ts, ssrc, &P).unwrap();
        if let Some(p) = jb.pop(now) {
            if !p.is_concealed() {
                audio_after[phase] += 1;
            }
        }
    }
    let c = jb.counters();
    assert_eq!(c.resync, 2, "{c:?}");
    // Each phase plays after a short re-buffering.
    assert!(audio_after.iter().all(|&n| n >= 45), "{audio_after:?}");
}

#[test]
fn overflow_is_bounded_and_counted() {
    let t0 = Instant::now();
    let config = JitterConfig {
        capacity: 8,
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(Codec::Pcmu, config).unwrap();
    let mut outcomes = Vec::new();
    for k in 0..20u32 {
        outcomes.push(jb.push(t0, k as u16, 160 * k, Ssrc(1), &P).unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|&&o| o == PushOutcome::Overflow)
            .count(),
        12
    );
    assert_eq!(jb.len(), 8);
    assert_eq!(jb.counters().overflow, 12);
}

#[test]
fn garbage_payload_lengths_are_errors() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default()).unwrap();
    for len in [0, 1, 79, 161, 481, 1000, 9000] {
        let payload = vec![0x55; len];
        let r = jb.push(t0, 1, 0, Ssrc(1), &payload);
        assert!(
            matches!(r, Err(CodecError::BadPayloadLength { .. })),
            "{len}: {r:?}"
        );
    }
    let mut l16 = JitterBuffer::new(
        Codec::L16 {
            rate: tandem_dsp::resample::Rate::Hz16000,
        },
        JitterConfig::default(),
    )
    .unwrap();
    assert!(l16.push(t0, 1, 0, Ssrc(1), &[0; 641]).is_err());
    assert_eq!(jb.counters().malformed, 7);
    assert_eq!(jb.counters().pushed, 0);
    assert_eq!(jb.pop(t0), None);
}

/// A seeded xorshift for the fuzz-ish run below.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_headers_and_times_never_panic() {
    for codec in [
        Codec::Pcmu,
        Codec::G722,
        Codec::L16 {
            rate: tandem_dsp::resample::Rate::Hz48000,
        },
    ] {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(codec, JitterConfig::default()).unwrap();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut now = t0;
        let payload = vec![0x33u8; 11520];
        for _ in 0..20_000 {
            let r = rng.next();
            now += Duration::from_micros(r % 30_000);
            let len = match (r >> 8) % 4 {
                0 => (r >> 16) as usize % 11_520,
                _ => codec
                    .payload_bytes(10 * (1 + (r >> 20) % 6) as u32)
                    .unwrap(),
            };
            let ssrc = Ssrc(((r >> 30) % 3) as u32);
            let _ = jb.push(
                now,
                (r >> 32) as u16,
                (r >> 24) as u32,
                ssrc,
                &payload[..len],
            );
            if r % 3 == 0 {
                let _ = jb.pop(now);
            }
        }
        let c = jb.counters();
        assert!(c.stray > 0 && c.malformed > 0, "{c:?}");
    }
}

#[test]
fn a_stray_packet_does_not_flush_the_buffer() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default()).unwrap();
    let mut audio = 0;
    for k in 0..200u64 {
        let now = at(t0, 20 * k);
        jb.push(now, k as u16, 160 * k as u32, Ssrc(1), &P).unwrap();
        if k == 150 {
            // A duplicate of packet 2, three seconds late (far behind).
            assert_eq!(jb.push(now, 2, 320, Ssrc(1), &P), Ok(PushOutcome::Stray));
            // A straggler from another SSRC.
            assert_eq!(jb.push(now, 9, 999, Ssrc(77), &P), Ok(PushOutcome::Stray));
        }
        if jb.pop(now).is_some_and(|p| !p.is_concealed()) {
            audio += 1;
        }
    }
    let c = jb.counters();
    assert_eq!((c.resync, c.stray, c.lost), (0, 2, 0), "{c:?}");
    assert!(audio >= 196, "{audio}");
}

#[test]
fn reset_forgets_the_stream_but_keeps_counters() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default()).unwrap();
    for k in 0..10u64 {
        jb.push(at(t0, 20 * k), k as u16, 160 * k as u32, Ssrc(1), &P)
            .unwrap();
        jb.pop(at(t0, 20 * k));
    }
    jb.reset();
    assert!(jb.is_empty());
    assert_eq!(jb.pop(at(t0, 300)), None);
    // A different stream starts without a resync.
    assert_eq!(
        jb.push(at(t0, 300), 5000, 77, Ssrc(2), &P),
        Ok(PushOutcome::Buffered)
    );
    assert_eq!(jb.counters().pushed, 11);
    assert_eq!(jb.counters().resync, 0);
}
