//! Lost packets are replaced by pitch-repetition concealment: one lost
//! frame keeps level and pitch without clicks, a burst fades to silence
//! by 60 ms, and returning audio is merged smoothly.

use std::time::{Duration, Instant};

use tandem_dataplane::codec::Codec;
use tandem_dataplane::jitter::{JitterBuffer, JitterConfig, Playout};
use tandem_dsp::resample::Rate;
use tandem_wire::Ssrc;

const CODEC: Codec = Codec::L16 { rate: Rate::Hz8000 };

/// A voiced-speech-like signal: 118 Hz fundamental (a non-integer period
/// of 67.8 samples) with falling harmonics.
fn voice(i: usize) -> i16 {
    let t = i as f64 / 8000.0;
    let w = 2.0 * std::f64::consts::PI * 118.0 * t;
    (6000.0 * w.sin() + 3000.0 * (2.0 * w).sin() + 1500.0 * (3.0 * w + 0.5).sin()) as i16
}

fn payload(frame: usize) -> Vec<u8> {
    (0..160)
        .flat_map(|i| voice(frame * 160 + i).to_be_bytes())
        .collect()
}

/// Sends 20 ms frames `0..n` except `lost`, 5 ms after their time, and
/// pops every 20 ms; returns the output aligned to frame numbers (the
/// playout delay removed).
fn run(
    n: usize,
    lost: &[usize],
) -> (
    Vec<Option<Playout>>,
    tandem_dataplane::jitter::JitterCounters,
) {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(CODEC, JitterConfig::default()).unwrap();
    let mut out = Vec::new();
    let mut started = false;
    for k in 0..n + 10 {
        let now = t0 + Duration::from_millis(20 * k as u64 + 5);
        if k < n && !lost.contains(&k) {
            jb.push(now, k as u16, 160 * k as u32, Ssrc(9), &payload(k))
                .unwrap();
        }
        let p = jb.pop(now + Duration::from_millis(1));
        started |= p.is_some();
        if started {
            out.push(p);
        }
    }
    out.truncate(n);
    (out, jb.counters())
}

fn rms(s: &[i16]) -> f64 {
    (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

/// The largest step between consecutive samples over the whole output.
fn max_step(frames: &[Option<Playout>]) -> i32 {
    let samples: Vec<i16> = frames
        .iter()
        .flat_map(|p| match p {
            Some(p) => p.frame().samples().to_vec(),
            None => vec![0; 160],
        })
        .collect();
    samples
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap()
}

#[test]
fn one_lost_frame_keeps_level_pitch_and_continuity() {
    let (clean, _) = run(60, &[]);
    let (out, c) = run(60, &[30]);
    // (Counters also cover the underrun after the stream ends.)
    assert_eq!(c.lost, 1, "{c:?}");
    let concealed: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, p)| p.as_ref().is_some_and(|p| p.is_concealed()))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(concealed.len(), 1);
    let k = concealed[0];
    let got = out[k].as_ref().unwrap().frame().samples();
    let want = clean[k].as_ref().unwrap().frame().samples();
    // Level within 1.5 dB of the lost audio.
    let ratio_db = 20.0 * (rms(got) / rms(want)).log10();
    assert!(ratio_db.abs() < 1.5, "level {ratio_db:.2} dB");
    // Waveform close to the original in the first 10 ms (same pitch and
    // phase): error at least 10 dB below the signal.
    let err: Vec<i16> = got[..80]
        .iter()
        .zip(&want[..80])
        .map(|(a, b)| a - b)
        .collect();
    let snr = 20.0 * (rms(&want[..80]) / rms(&err)).log10();
    assert!(snr > 10.0, "SNR over the first 10 ms: {snr:.1} dB");
    eprintln!(
        "one lost frame: level {ratio_db:+.2} dB, SNR first 10 ms {snr:.1} dB, max step {} (clean {})",
        max_step(&out),
        max_step(&clean)
    );
    // No click: no step larger than the clean signal's steepest step + 25 %.
    let clean_step = max_step(&clean);
    assert!(
        max_step(&out) <= clean_step * 5 / 4,
        "{} vs {clean_step}",
        max_step(&out)
    );
}

#[test]
fn burst_fades_to_silence_and_merges_back() {
    let lost: Vec<usize> = (30..36).collect(); // 120 ms
    let (out, c) = run(60, &lost);
    let levels: Vec<f64> = out
        .iter()
        .map(|p| p.as_ref().map_or(0.0, |p| rms(p.frame().samples())))
        .collect();
    let full = levels[29];
    // First 20 ms near full level, then attenuating, silent from 60 ms.
    assert!(levels[30] > 0.8 * full, "{levels:?}");
    assert!(
        levels[31] < levels[30] && levels[32] < levels[31],
        "{levels:?}"
    );
    assert!(out[33].is_none() && out[34].is_none() && out[35].is_none());
    // Audio returns in frame 36, faded in, then at full level.
    let back = out[36].as_ref().unwrap();
    assert!(!back.is_concealed());
    assert!(
        back.frame().samples()[0].abs() < 200,
        "fade-in starts near zero"
    );
    assert!(levels[37] > 0.95 * full);
    assert!(c.concealed >= 3, "{c:?}");
    // Continuity everywhere, the fade-in included.
    let (clean, _) = run(60, &[]);
    assert!(max_step(&out) <= max_step(&clean) * 5 / 4);
}

#[test]
fn lost_10ms_packet_is_concealed_within_the_frame() {
    // 10 ms packets; the second half of frame 20 is lost.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(CODEC, JitterConfig::default()).unwrap();
    let mut concealed = 0;
    let mut frames = 0;
    for k in 0..80usize {
        let now = t0 + Duration::from_millis(10 * k as u64 + 3);
        if k != 41 {
            let p: Vec<u8> = (0..80)
                .flat_map(|i| voice(k * 80 + i).to_be_bytes())
                .collect();
            jb.push(now, k as u16, 80 * k as u32, Ssrc(9), &p).unwrap();
        }
        if k % 2 == 1 {
            if let Some(p) = jb.pop(now) {
                frames += 1;
                if p.is_concealed() {
                    concealed += 1;
                    // Half real, half synthetic: the level stays up.
                    assert!(rms(p.frame().samples()) > 3000.0);
                }
            }
        }
    }
    assert_eq!(concealed, 1);
    assert!(frames >= 37);
}

/// The same single loss at 16 and 48 kHz (L16) and through G.722.
#[test]
fn concealment_works_at_every_rate() {
    for codec in [
        Codec::L16 {
            rate: Rate::Hz16000,
        },
        Codec::L16 {
            rate: Rate::Hz48000,
        },
        Codec::G722,
    ] {
        let hz = f64::from(codec.sample_rate().hz());
        let len = tandem_dataplane::frame::frame_len(codec.sample_rate());
        let voice = |i: usize| {
            let w = 2.0 * std::f64::consts::PI * 118.0 * i as f64 / hz;
            (6000.0 * w.sin() + 3000.0 * (2.0 * w).sin() + 1500.0 * (3.0 * w + 0.5).sin()) as i16
        };
        let mut g722 = tandem_dsp::g722::Encoder::new();
        let frames: Vec<Vec<u8>> = (0..60)
            .map(|k| {
                let pcm: Vec<i16> = (0..len).map(|i| voice(k * len + i)).collect();
                if codec == Codec::G722 {
                    let mut out = vec![0u8; len / 2];
                    g722.encode(&pcm, &mut out);
                    out
                } else {
                    pcm.iter().flat_map(|s| s.to_be_bytes()).collect()
                }
            })
            .collect();
        let play = |lost: Option<usize>| {
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(codec, JitterConfig::default()).unwrap();
            let mut out = Vec::new();
            let ticks = codec.ticks_for_ms(20);
            for (k, frame) in frames.iter().enumerate() {
                let now = t0 + Duration::from_millis(20 * k as u64 + 5);
                if Some(k) != lost {
                    jb.push(now, k as u16, ticks * k as u32, Ssrc(1), frame)
                        .unwrap();
                }
                if let Some(p) = jb.pop(now + Duration::from_millis(1)) {
                    out.push(p);
                }
            }
            out
        };
        let clean = play(None);
        let lossy = play(Some(30));
        let k = lossy.iter().position(|p| p.is_concealed()).unwrap();
        assert_eq!(lossy.iter().filter(|p| p.is_concealed()).count(), 1);
        let got = lossy[k].frame().samples();
        let want = clean[k].frame().samples();
        let ratio_db = 20.0 * (rms(got) / rms(want)).log10();
        let tenth = len / 2;
        let err: Vec<i16> = got[..tenth]
            .iter()
            .zip(&want[..tenth])
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        let snr = 20.0 * (rms(&want[..tenth]) / rms(&err)).log10();
        eprintln!("{codec}: level {ratio_db:+.2} dB, SNR first 10 ms {snr:.1} dB");
        assert!(ratio_db.abs() < 1.5, "{codec}: level {ratio_db:+.2} dB");
        assert!(snr > 10.0, "{codec}: SNR {snr:.1} dB");
    }
}
