//! DTMF detection throughput: Tandem's [`DtmfBank`] against one spandsp
//! `dtmf_rx` per channel, on the same 20 ms frames.
//!
//! 1024 channels carry mostly speech-like signal (noise through two moving
//! formant resonators, with a syllable-rate envelope and voiced pitch
//! pulses) and now and then a digit. Both detectors see identical samples;
//! Tandem takes them interleaved (its fastest layout), spandsp one channel
//! slice at a time (its only layout). The unit of work is one second of
//! audio on one channel, so "audio-s per s" on one core is also the number
//! of channels that core keeps up with in real time.
//!
//! `cargo bench -p tandem-bench --bench dtmf`
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use tandem_bench::{Comparison, compare, print_table, throughput};
use tandem_dsp::dtmf::{DtmfBank, DtmfEvent, frequencies};
use tandem_spandsp_oracle::DtmfRx;

const CHANNELS: usize = 1024;
const FRAME: usize = 160;
/// Frames of distinct content per channel (0.5 s), replayed in a loop.
const FRAMES: usize = 25;

/// xorshift64: deterministic content without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        (0..4).map(|_| self.next()).sum::<f64>() - 2.0
    }
}

/// One channel's 0.5 s: speech-like sound, with a 60 ms digit on one
/// channel in eight.
fn channel(c: usize) -> Vec<i16> {
    let n = FRAMES * FRAME;
    let mut rng = Rng(0x1234_5678_9ABC_DEF0 ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let tau = 2.0 * std::f64::consts::PI;
    let pitch = 90.0 + 120.0 * rng.next();
    let (mut y1, mut y2, mut z1, mut z2) = (0.0, 0.0, 0.0, 0.0);
    let mut phase = 0.0;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / 8000.0;
        // Formants glide between vowels; the excitation is pitch pulses
        // plus breath noise.
        let f1 = 500.0 + 250.0 * (tau * 2.3 * t + c as f64).sin();
        let f2 = 1500.0 + 600.0 * (tau * 1.7 * t + 2.0 * c as f64).sin();
        phase += pitch * (1.0 + 0.05 * (tau * 3.0 * t).sin()) / 8000.0;
        let pulse = if phase >= 1.0 {
            phase -= 1.0;
            30.0
        } else {
            0.0
        };
        let x = pulse + rng.gauss();
        let res = |f: f64, y1: f64, y2: f64, x: f64| {
            let r: f64 = 0.97;
            r * 2.0 * (tau * f / 8000.0).cos() * y1 - r * r * y2 + x
        };
        let y = res(f1, y1, y2, x);
        (y2, y1) = (y1, y);
        let z = res(f2, z1, z2, x);
        (z2, z1) = (z1, z);
        let envelope = (0.5 + 0.5 * (tau * 4.0 * t + c as f64).sin()).powi(2);
        out.push(envelope * (40.0 * y + 25.0 * z));
    }
    if c % 8 == 0 {
        let key = b"0123456789*#ABCD"[c / 8 % 16] as char;
        let (lo, hi) = frequencies(key).expect("keypad digit");
        let at = 800 + (c * 37) % 2000;
        for (i, v) in out[at..at + 480].iter_mut().enumerate() {
            let t = i as f64 / 8000.0;
            *v = 5000.0 * ((tau * lo * t).sin() + (tau * hi * t).sin());
        }
    }
    out.iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn main() {
    let chans: Vec<Vec<i16>> = (0..CHANNELS).map(channel).collect();
    // Tandem's frames, interleaved: frames[f][n * CHANNELS + c].
    let frames: Vec<Vec<i16>> = (0..FRAMES)
        .map(|f| {
            let mut v = Vec::with_capacity(CHANNELS * FRAME);
            for n in 0..FRAME {
                v.extend(chans.iter().map(|ch| ch[f * FRAME + n]));
            }
            v
        })
        .collect();

    // One clean pass first: what each detector hears in this content
    // (128 channels carry one digit each).
    let mut heard = 0;
    let mut once = DtmfBank::new(CHANNELS);
    for f in &frames {
        once.process_interleaved(f, |_, e| {
            heard += usize::from(matches!(e, DtmfEvent::End(_)))
        });
    }
    once.finish(|_, e| heard += usize::from(matches!(e, DtmfEvent::End(_))));
    let mut rx_heard = 0;
    for ch in &chans {
        let mut rx = DtmfRx::new();
        rx.process(ch);
        rx_heard += rx.take_digits().len();
    }
    println!(
        "content: {CHANNELS} channels x {} ms, {} digits sent; tandem hears {heard}, spandsp {rx_heard}",
        FRAMES * 20,
        CHANNELS / 8
    );

    let mut bank = DtmfBank::new(CHANNELS);
    let mut bank_frame = 0;
    let mut bank_events = 0u64;
    let mut tandem = || {
        bank.process_interleaved(black_box(&frames[bank_frame]), |_, _| bank_events += 1);
        bank_frame = (bank_frame + 1) % FRAMES;
    };

    let mut rxs: Vec<DtmfRx> = (0..CHANNELS).map(|_| DtmfRx::new()).collect();
    let mut rx_frame = 0;
    let mut rx_digits = 0usize;
    let mut spandsp = || {
        let at = rx_frame * FRAME;
        for (rx, ch) in rxs.iter_mut().zip(&chans) {
            rx.process(black_box(&ch[at..at + FRAME]));
        }
        rx_frame = (rx_frame + 1) % FRAMES;
        if rx_frame == 0 {
            rx_digits += rxs
                .iter_mut()
                .map(|rx| rx.take_digits().len())
                .sum::<usize>();
        }
    };

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    {
        let mut g = c.benchmark_group("dtmf 1024 channels, one 20 ms frame");
        g.throughput(Throughput::Elements((CHANNELS * FRAME) as u64));
        g.bench_function("tandem DtmfBank", |b| b.iter(&mut tandem));
        g.bench_function("spandsp dtmf_rx x1024", |b| b.iter(&mut spandsp));
        g.finish();
    }

    // Audio-seconds per call: 1024 channels × 20 ms.
    let work = CHANNELS as f64 * FRAME as f64 / 8000.0;
    let row = compare(
        "DTMF detect, 1024 ch x 20 ms frames",
        "audio-s/s",
        work,
        &mut tandem,
        &mut spandsp,
    );
    // The same frames channel-major (one jitter-buffer frame per channel,
    // back to back), as a media engine fed from RTP would hand them over.
    let major: Vec<Vec<i16>> = (0..FRAMES)
        .map(|f| {
            chans
                .iter()
                .flat_map(|ch| ch[f * FRAME..(f + 1) * FRAME].iter().copied())
                .collect()
        })
        .collect();
    let mut bank2 = DtmfBank::new(CHANNELS);
    let mut major_frame = 0;
    let tandem_major = throughput(work, || {
        bank2.process_channel_major(black_box(&major[major_frame]), |_, _| {});
        major_frame = (major_frame + 1) % FRAMES;
    });
    let row_major = Comparison {
        name: "  same, channel-major frames".into(),
        unit: "audio-s/s",
        tandem: tandem_major,
        peer: row.peer,
    };
    print_table("DTMF detection", "spandsp", &[row.clone(), row_major]);
    println!(
        "channels per core in real time: tandem {:.0}, spandsp {:.0} (ratio {:.2}x)",
        row.tandem,
        row.peer,
        row.ratio()
    );
    println!(
        "events during the timed runs: tandem {bank_events} (starts + ends), spandsp {rx_digits} digits"
    );
    c.final_summary();
}
