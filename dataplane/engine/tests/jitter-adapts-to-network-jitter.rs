//! The target delay follows the network: it rises at once with jitter
//! and spikes, and falls back slowly (in pauses) when the network calms.

use std::time::{Duration, Instant};

use tandem_dataplane::codec::Codec;
use tandem_dataplane::jitter::{JitterBuffer, JitterConfig, JitterCounters};
use tandem_wire::Ssrc;

struct Rng(u64);
impl Rng {
    fn uniform(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max
    }
}

/// μ-law payload: talkspurts of 1 s at a loud level, then 0.4 s of
/// near-silence (what speech with pauses looks like to the buffer).
fn payload(k: usize) -> [u8; 160] {
    if k % 70 < 50 {
        [0x9f; 160]
    } else {
        [0xff; 160]
    }
}

/// Simulates `secs` seconds: packet k sent at 20k ms, arriving after
/// `delay_us(k)`; pops every 20 ms. Returns counters sampled each second.
fn simulate(secs: usize, mut delay_us: impl FnMut(usize) -> u64) -> Vec<JitterCounters> {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default()).unwrap();
    let n = secs * 50;
    let mut arrivals: Vec<(u64, usize)> = (0..n)
        .map(|k| (k as u64 * 20_000 + delay_us(k), k))
        .collect();
    arrivals.sort();
    let mut next = 0;
    let mut samples = Vec::new();
    for tick in 0..n {
        let pop_at = tick as u64 * 20_000 + 10_003;
        while next < arrivals.len() && arrivals[next].0 <= pop_at {
            let (at, k) = arrivals[next];
            let _ = jb.push(
                t0 + Duration::from_micros(at),
                k as u16,
                160 * k as u32,
                Ssrc(3),
                &payload(k),
            );
            next += 1;
        }
        jb.pop(t0 + Duration::from_micros(pop_at));
        if tick % 50 == 49 {
            samples.push(jb.counters());
        }
    }
    samples
}

#[test]
fn jitter_raises_the_target_and_late_loss_stays_low() {
    let mut rng = Rng(77);
    // 10 s of jitter uniform over 0–80 ms, then 30 s of a clean network.
    let c = simulate(40, |k| {
        2_000 + if k < 500 { rng.uniform(80_000) } else { 0 }
    });
    let at = |s: usize| c[s - 1];
    eprintln!(
        "target ms by second: {:?}",
        c.iter().map(|c| c.target_delay_ms).collect::<Vec<_>>()
    );
    eprintln!(
        "delay ms by second: {:?}",
        c.iter().map(|c| c.current_delay_ms).collect::<Vec<_>>()
    );
    // Within a second the target covers the jitter.
    assert!(at(1).target_delay_ms >= 60, "{:?}", at(1));
    assert!(
        at(10).target_delay_ms >= 60 && at(10).target_delay_ms <= 90,
        "{:?}",
        at(10)
    );
    // Late packets: the first few before the target rose, then under 1 %.
    let late_after_1s = at(10).late - at(1).late;
    assert!(
        late_after_1s <= 5,
        "{late_after_1s} late in 9 s: {:?}",
        at(10)
    );
    // After the network calms, the target decays over seconds, not at once.
    assert!(at(12).target_delay_ms >= 40, "{:?}", at(12));
    assert!(at(40).target_delay_ms <= 25, "{:?}", at(40));
    // The playout delay follows by dropping frames in the pauses.
    assert!(at(40).current_delay_ms <= 40, "{:?}", at(40));
    assert!(at(40).shrunk > at(11).shrunk);
    // Nothing was lost on the clean network.
    assert_eq!(at(40).late, at(11).late);
    assert_eq!(at(40).lost, at(11).lost);
}

#[test]
fn a_delay_spike_raises_the_target_at_once_and_the_next_spike_is_absorbed() {
    // Clean, then two 150 ms stalls 1 s apart (at 5 s and 6 s): the packets
    // sent during a stall arrive together when it ends.
    let c = simulate(8, |k| {
        let sent = k as u64 * 20_000;
        for first in [250, 300] {
            let stall_end = first as u64 * 20_000 + 150_000;
            if (first..first + 8).contains(&k) {
                return stall_end - sent + 1_000;
            }
        }
        1_000
    });
    let (before, after_first, after_second) = (c[4], c[5], c[6]);
    eprintln!("{before:?}\n{after_first:?}\n{after_second:?}");
    assert!(before.target_delay_ms <= 25, "{before:?}");
    // The first stall catches the buffer at 20 ms: its packets are late,
    // and the target jumps (150 ms, decayed a little a second later).
    assert!(after_first.late > 0);
    assert!(after_first.target_delay_ms >= 110, "{after_first:?}");
    // The second stall finds the buffer ahead of its target: playout
    // waits (grows) instead of losing the packets, up to the target, which
    // has decayed to ~125 ms: a 150 ms stall still loses a frame or two,
    // against seven the first time.
    assert!(after_second.grown >= 5, "{after_second:?}");
    let first_late = after_first.late - before.late;
    let second_late = after_second.late - after_first.late;
    assert!(
        second_late <= 2 && first_late >= 6,
        "{first_late} then {second_late}"
    );
    assert_eq!(after_second.resync, 0);
}
