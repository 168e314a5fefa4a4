//! Measures the resampler the way a telephony test set would: sine sweeps
//! through the integer code, levels read back with a windowed single-bin DFT.
//!
//! Asserts the targets documented in `resample.rs` (passband ripple within
//! ±0.1 dB, images and aliases at least 60 dB down, exact DC gain, consistent
//! delay, streaming equal to one-shot, saturation instead of wrap-around) and
//! prints the measured figures (`cargo test -- --nocapture`).

use std::f64::consts::PI;
use std::time::Instant;

use tandem_dsp::resample::{Rate, Resampler, resample_all};

const ALL: [(Rate, Rate); 6] = [
    (Rate::Hz8000, Rate::Hz16000),
    (Rate::Hz16000, Rate::Hz8000),
    (Rate::Hz8000, Rate::Hz48000),
    (Rate::Hz48000, Rate::Hz8000),
    (Rate::Hz16000, Rate::Hz48000),
    (Rate::Hz48000, Rate::Hz16000),
];

/// Sine amplitude used for the sweeps: about −6 dBFS, well clear of clipping.
const AMPLITUDE: f64 = 16000.0;

/// Seconds of test signal; the first and last `EDGE` seconds (filter
/// start-up and flush) are left out of every measurement.
const SECONDS: f64 = 0.7;
const EDGE: f64 = 0.1;

fn hz(rate: Rate) -> f64 {
    f64::from(rate.hz())
}

/// The passband the module promises for a conversion.
fn passband_edge(from: Rate, to: Rate) -> f64 {
    if from == Rate::Hz8000 || to == Rate::Hz8000 {
        3400.0
    } else {
        7000.0
    }
}

fn sine(rate: Rate, freq: f64, amplitude: f64, seconds: f64) -> Vec<i16> {
    let n = (hz(rate) * seconds) as usize;
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / hz(rate)).sin()).round() as i16)
        .collect()
}

/// Amplitude of the `freq` component of `x`, by a Hann-windowed DFT bin
/// evaluated at exactly `freq` (no bin rounding). The window's side lobes
/// fall fast enough that a tone 40 Hz away contributes nothing measurable.
fn amplitude(x: &[i16], rate: Rate, freq: f64) -> f64 {
    let skip = (EDGE * hz(rate)) as usize;
    let x = &x[skip..x.len() - skip];
    let n = x.len() as f64;
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n).cos();
        let phase = 2.0 * PI * freq * i as f64 / hz(rate);
        re += w * f64::from(s) * phase.cos();
        im += w * f64::from(s) * phase.sin();
        wsum += w;
    }
    2.0 * (re * re + im * im).sqrt() / wsum
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// A small deterministic noise source (xorshift), full 16-bit range.
fn noise(n: usize, seed: u32) -> Vec<i16> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 16) as u16 as i16
        })
        .collect()
}

#[test]
fn passband_is_flat_within_a_tenth_of_a_db() {
    println!("passband ripple (gain of a −6 dBFS sine, dB):");
    for (from, to) in ALL {
        let edge = passband_edge(from, to);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut f = 50.0;
        while f <= edge {
            let out = resample_all(from, to, &sine(from, f, AMPLITUDE, SECONDS));
            let gain = db(amplitude(&out, to, f) / AMPLITUDE);
            lo = lo.min(gain);
            hi = hi.max(gain);
            f = if f + 50.0 > edge && f < edge {
                edge
            } else {
                f + 50.0
            };
        }
        println!(
            "  {:>5} → {:>5} Hz, 50–{edge} Hz: {lo:+.4} … {hi:+.4} dB",
            from.hz(),
            to.hz()
        );
        assert!(
            lo >= -0.1 && hi <= 0.1,
            "{from:?} → {to:?}: ripple {lo:+.3}/{hi:+.3} dB"
        );
    }
}

/// Every frequency a pure input tone `f` can produce at the output besides
/// `f` itself, within the output band.
fn spurious_frequencies(from: Rate, to: Rate, f: f64) -> Vec<f64> {
    let (fi, fo) = (hz(from), hz(to));
    let mut out = Vec::new();
    if fo > fi {
        // Images of the input spectrum around multiples of the input rate.
        let mut k = 1.0;
        while k * fi - f < fo / 2.0 {
            for g in [k * fi - f, k * fi + f] {
                if g < fo / 2.0 {
                    out.push(g);
                }
            }
            k += 1.0;
        }
    } else {
        // The alias of `f` folded into the output band.
        let mut g = f % fo;
        if g > fo / 2.0 {
            g = fo - g;
        }
        out.push(g);
    }
    out
}

#[test]
fn images_and_aliases_are_60_db_down() {
    println!("worst image / alias relative to a −6 dBFS input sine:");
    for (from, to) in ALL {
        let (fi, fo) = (hz(from), hz(to));
        // Upsampling: every input frequency below the input Nyquist can
        // image. Downsampling: every input frequency above the output
        // Nyquist aliases. Offsets of 25 Hz keep clear of DC and Nyquist.
        let (start, stop) = if fo > fi {
            (25.0, fi / 2.0)
        } else {
            (fo / 2.0 + 25.0, fi / 2.0)
        };
        let mut worst = (f64::NEG_INFINITY, 0.0, 0.0);
        let mut f = start;
        while f < stop {
            let out = resample_all(from, to, &sine(from, f, AMPLITUDE, SECONDS));
            for g in spurious_frequencies(from, to, f) {
                let level = db(amplitude(&out, to, g) / AMPLITUDE);
                if level > worst.0 {
                    worst = (level, f, g);
                }
            }
            f += 50.0;
        }
        println!(
            "  {:>5} → {:>5} Hz: {:.1} dB (input {} Hz → {} Hz)",
            from.hz(),
            to.hz(),
            worst.0,
            worst.1,
            worst.2
        );
        assert!(
            worst.0 <= -60.0,
            "{from:?} → {to:?}: spurious {:.1} dB at {} Hz from {} Hz",
            worst.0,
            worst.2,
            worst.1
        );
    }
}

#[test]
fn dc_gain_is_exactly_one() {
    for (from, to) in ALL {
        for level in [12345i16, -20000, 1] {
            let out = resample_all(from, to, &vec![level; hz(from) as usize / 5]);
            // Away from the start and end transients the output is exact.
            let settled = &out[out.len() / 4..out.len() * 3 / 4];
            assert!(
                settled.iter().all(|&s| s == level),
                "{from:?} → {to:?}: DC {level} came out as {:?}",
                settled.iter().find(|&&s| s != level)
            );
        }
    }
}

#[test]
fn impulse_peaks_after_the_stated_delay() {
    println!("group delay:");
    for (from, to) in ALL {
        let mut rs = Resampler::new(from, to);
        // An impulse at an input index that maps onto an output sample.
        let at = 60;
        let mut input = vec![0i16; hz(from) as usize / 10];
        input[at] = 16000;
        let mut out = vec![0; rs.max_output_len(input.len())];
        let n = rs.process(&input, &mut out);
        let peak = (0..n).max_by_key(|&i| out[i]).unwrap();
        let expected = at * to.hz() as usize / from.hz() as usize + rs.delay();
        let seconds = rs.delay() as f64 / hz(to);
        println!(
            "  {:>5} → {:>5} Hz: {} output samples = {:.3} ms",
            from.hz(),
            to.hz(),
            rs.delay(),
            seconds * 1e3
        );
        assert_eq!(peak, expected, "{from:?} → {to:?}");
        // Linear phase: the impulse response is symmetric about its peak.
        for k in 1..rs.delay().min(20) {
            assert!(
                (i32::from(out[peak - k]) - i32::from(out[peak + k])).abs() <= 1,
                "{from:?} → {to:?}: asymmetric at ±{k}"
            );
        }
        // Both directions of a pair delay by the same time.
        let back = Resampler::new(to, from);
        assert_eq!(
            rs.delay() as f64 / hz(to),
            back.delay() as f64 / hz(from),
            "{from:?} ↔ {to:?}"
        );
    }
}

#[test]
fn resample_all_output_lines_up_with_the_input() {
    for (from, to) in ALL {
        let f = 1000.0;
        let input = sine(from, f, AMPLITUDE, SECONDS);
        let out = resample_all(from, to, &input);
        assert_eq!(
            out.len(),
            input.len() * to.hz() as usize / from.hz() as usize
        );
        let ideal = sine(to, f, AMPLITUDE, SECONDS);
        let skip = (EDGE * hz(to)) as usize;
        let (mut err, mut sig) = (0.0, 0.0);
        for i in skip..out.len() - skip {
            err += (f64::from(out[i]) - f64::from(ideal[i])).powi(2);
            sig += f64::from(ideal[i]).powi(2);
        }
        let snr = 10.0 * (sig / err).log10();
        assert!(snr > 60.0, "{from:?} → {to:?}: misaligned, SNR {snr:.1} dB");
    }
}

#[test]
fn frame_by_frame_equals_one_shot() {
    for (from, to) in ALL {
        let input = noise(hz(from) as usize, 7);
        let mut whole = Resampler::new(from, to);
        let mut expected = vec![0; whole.max_output_len(input.len())];
        let n = whole.process(&input, &mut expected);
        expected.truncate(n);

        // 20 ms frames, then awkward sizes that do not divide the ratio.
        let frame = hz(from) as usize / 50;
        for sizes in [vec![frame], vec![7, 13, 1, 1000, 480, 3]] {
            let mut rs = Resampler::new(from, to);
            let mut got = Vec::new();
            let mut buf = vec![0; rs.max_output_len(1000)];
            let mut rest = &input[..];
            for &size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at(size.min(rest.len()));
                let n = rs.process(now, &mut buf);
                if size == frame {
                    assert_eq!(n * from.hz() as usize, now.len() * to.hz() as usize);
                }
                got.extend_from_slice(&buf[..n]);
                rest = later;
            }
            assert_eq!(got, expected, "{from:?} → {to:?} in pieces of {sizes:?}");
        }

        // reset() gives a fresh converter.
        whole.reset();
        let mut again = vec![0; expected.len()];
        whole.process(&input, &mut again);
        assert_eq!(again, expected, "{from:?} → {to:?} after reset");
    }
}

#[test]
fn full_scale_input_clips_instead_of_wrapping() {
    for (from, to) in ALL {
        // A full-scale square wave overshoots (Gibbs) and random full-scale
        // ±1 noise drives the accumulator as hard as any input can.
        let fi = hz(from) as usize;
        let square: Vec<i16> = (0..fi / 5)
            .map(|i| {
                if (i * 200 / fi) % 2 == 0 {
                    i16::MAX
                } else {
                    -i16::MAX
                }
            })
            .collect();
        let binary: Vec<i16> = noise(fi / 5, 3)
            .into_iter()
            .map(|s| if s >= 0 { i16::MAX } else { -i16::MAX })
            .collect();
        for input in [square, binary] {
            let full = resample_all(from, to, &input);
            let half: Vec<i16> = input.iter().map(|&s| s / 2).collect();
            let half = resample_all(from, to, &half);
            let mut clipped = 0;
            for (i, (&f, &h)) in full.iter().zip(&half).enumerate() {
                let ideal = (2 * i32::from(h)).clamp(-32768, 32767);
                assert!(
                    (i32::from(f) - ideal).abs() <= 3,
                    "{from:?} → {to:?}: sample {i} is {f}, expected about {ideal}"
                );
                clipped += usize::from(f == i16::MAX || f == i16::MIN);
            }
            assert!(clipped > 0, "{from:?} → {to:?}: test input never clipped");
        }
    }
}

#[test]
fn timing() {
    // Informative only: unoptimised test builds are much slower than release.
    println!("throughput (1 s of noise in 20 ms frames):");
    for (from, to) in ALL {
        let input = noise(hz(from) as usize, 11);
        let mut rs = Resampler::new(from, to);
        let frame = hz(from) as usize / 50;
        let mut out = vec![0; rs.max_output_len(frame)];
        let start = Instant::now();
        let mut produced = 0;
        for chunk in input.chunks(frame) {
            produced += rs.process(chunk, &mut out);
        }
        let ns = start.elapsed().as_nanos() as f64 / produced as f64;
        println!(
            "  {:>5} → {:>5} Hz: {ns:.1} ns per output sample",
            from.hz(),
            to.hz()
        );
    }
}
