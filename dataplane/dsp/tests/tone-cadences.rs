//! Every call-progress tone of every country, and every DTMF key, checked
//! against its specification: the frequencies are there at the right level
//! and nothing else is, the cadence switches at the right sample, and the
//! output does not depend on how it is cut into frames.
//!
//! Run with `--nocapture` to see the measured levels.

use std::f64::consts::TAU;

use tandem_dsp::resample::Rate;
use tandem_dsp::tone::{
    Country, DBM0_PEAK, DTMF_HIGH, DTMF_LOW, DtmfGenerator, DtmfParams, ProgressTone, ToneError,
    ToneGenerator, ToneSpec, dtmf_frequencies, dtmf_sequence, render,
};

const RATES: [Rate; 2] = [Rate::Hz8000, Rate::Hz16000];

fn all_tones() -> Vec<(Country, ProgressTone, ToneSpec)> {
    let mut out = Vec::new();
    for country in Country::ALL {
        for tone in ProgressTone::ALL {
            if let Some(spec) = country.tone(tone) {
                out.push((country, tone, spec));
            }
        }
    }
    out
}

fn samples_per_ms(rate: Rate) -> usize {
    rate.hz() as usize / 1000
}

/// Amplitude of the `freq` component of `x`, by a Hann-windowed DFT bin at
/// exactly `freq`.
fn amplitude(x: &[i16], rate: Rate, freq: f64) -> f64 {
    let n = x.len() as f64;
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (TAU * i as f64 / n).cos();
        let phase = TAU * freq * i as f64 / f64::from(rate.hz());
        re += w * f64::from(s) * phase.cos();
        im += w * f64::from(s) * phase.sin();
        wsum += w;
    }
    2.0 * (re * re + im * im).sqrt() / wsum
}

fn dbm0(amplitude: f64) -> f64 {
    20.0 * (amplitude / DBM0_PEAK).log10()
}

/// Whether sample `n` falls in an "on" part of the cadence — written out
/// independently of the generator.
fn gate(spec: &ToneSpec, rate: Rate, n: usize) -> bool {
    let period: usize = spec
        .cadence
        .iter()
        .map(|&(on, off)| (on + off) as usize * samples_per_ms(rate))
        .sum();
    if spec.is_continuous() || period == 0 {
        return true;
    }
    let mut pos = n % period;
    for &(on, off) in spec.cadence {
        let (on, off) = (
            on as usize * samples_per_ms(rate),
            off as usize * samples_per_ms(rate),
        );
        if pos < on {
            return true;
        }
        if pos < on + off {
            return false;
        }
        pos -= on + off;
    }
    unreachable!()
}

/// The ideal, unquantised tone at sample `n`, by direct evaluation.
fn ideal(spec: &ToneSpec, rate: Rate, n: usize) -> f64 {
    if !gate(spec, rate, n) {
        return 0.0;
    }
    let t = n as f64 / f64::from(rate.hz());
    let a = DBM0_PEAK * 10f64.powf(f64::from(spec.level_dbm0) / 20.0);
    let mut x: f64 = spec
        .freqs
        .iter()
        .map(|&f| a * (TAU * f64::from(f) * t).sin())
        .sum();
    if let Some(m) = spec.modulation {
        x *= 1.0 + f64::from(m.depth) * (TAU * f64::from(m.freq_hz) * t).sin();
    }
    x
}

/// Two cadence periods, or 3 s of a continuous tone.
fn test_length_ms(spec: &ToneSpec) -> u32 {
    if spec.is_continuous() {
        3000
    } else {
        2 * spec.period_ms()
    }
}

/// The first "on" burst, trimmed by 2 ms at each end.
fn first_burst(spec: &ToneSpec, rate: Rate, x: &[i16]) -> std::ops::Range<usize> {
    let ms = samples_per_ms(rate);
    let on = if spec.is_continuous() {
        1000
    } else {
        spec.cadence[0].0 as usize
    };
    2 * ms..((on - 2) * ms).min(x.len())
}

#[test]
fn every_tone_has_its_frequencies_at_its_level_and_nothing_else() {
    println!("measured component levels (dBm0) at 8 kHz:");
    for rate in RATES {
        for (country, tone, spec) in all_tones() {
            let x = render(spec, rate, test_length_ms(&spec));
            let burst = &x[first_burst(&spec, rate, &x)];
            let label = format!("{country:?} {tone:?} @ {} Hz", rate.hz());

            // Each carrier at the spec's level.
            let mut measured = Vec::new();
            for &f in spec.freqs {
                let level = dbm0(amplitude(burst, rate, f64::from(f)));
                measured.push(format!("{f} Hz {level:+.2}"));
                assert!(
                    (level - f64::from(spec.level_dbm0)).abs() <= 0.5,
                    "{label}: {f} Hz at {level:.2} dBm0, spec {}",
                    spec.level_dbm0
                );
            }
            // Modulation sidebands where the depth puts them.
            if let Some(m) = spec.modulation {
                let expected =
                    f64::from(spec.level_dbm0) + 20.0 * (f64::from(m.depth) / 2.0).log10();
                for &f in spec.freqs {
                    for side in [f - m.freq_hz, f + m.freq_hz] {
                        let level = dbm0(amplitude(burst, rate, f64::from(side)));
                        measured.push(format!("{side} Hz {level:+.2}"));
                        assert!(
                            (level - expected).abs() <= 0.5,
                            "{label}: sideband {side} Hz at {level:.2}, expected {expected:.2}"
                        );
                    }
                }
            }
            if rate == Rate::Hz8000 {
                println!("  {label}: {}", measured.join(", "));
            }

            // Nothing else: a scan of the band away from the components
            // (and their sidebands) finds only quantisation noise. The
            // guard is 25 DFT bins, where the Hann window's own leakage
            // from the components is below −90 dB.
            let reference = DBM0_PEAK * 10f64.powf(f64::from(spec.level_dbm0) / 20.0);
            let guard = 25.0 * f64::from(rate.hz()) / burst.len() as f64;
            let mut f = 100.0;
            while f < f64::from(rate.hz()) / 2.0 - 50.0 {
                let near = spec.freqs.iter().any(|&c| (f - f64::from(c)).abs() < guard);
                if !near {
                    let spur = 20.0 * (amplitude(burst, rate, f) / reference).log10();
                    assert!(spur < -60.0, "{label}: {spur:.1} dB at {f} Hz");
                }
                f += 50.0;
            }

            // And sample by sample the output is the ideal tone, rounded:
            // right frequencies, right phase, right gating.
            let worst = x
                .iter()
                .enumerate()
                .map(|(n, &s)| (f64::from(s) - ideal(&spec, rate, n)).abs())
                .fold(0.0, f64::max);
            assert!(worst <= 0.5 + 1e-6, "{label}: {worst} from the ideal tone");
        }
    }
}

/// Sample indices where the signal switches between tone and silence,
/// silence being a run of at least 1 ms of zero samples.
fn transitions(x: &[i16], rate: Rate) -> Vec<usize> {
    let min_gap = samples_per_ms(rate);
    let mut edges = Vec::new();
    let mut i = 0;
    while i < x.len() {
        if x[i] == 0 {
            let start = i;
            while i < x.len() && x[i] == 0 {
                i += 1;
            }
            if i - start >= min_gap {
                if start > 0 {
                    edges.push(start); // tone → silence
                }
                if i < x.len() {
                    edges.push(i); // silence → tone
                }
            }
        } else {
            i += 1;
        }
    }
    edges
}

#[test]
fn cadences_switch_at_the_right_sample() {
    for rate in RATES {
        let ms = samples_per_ms(rate);
        for (country, tone, spec) in all_tones() {
            let x = render(spec, rate, test_length_ms(&spec));
            let mut expected = Vec::new();
            if !spec.is_continuous() {
                let mut t = 0;
                for _ in 0..2 {
                    for &(on, off) in spec.cadence {
                        t += on as usize * ms;
                        expected.push(t);
                        t += off as usize * ms;
                        if t < x.len() {
                            expected.push(t);
                        }
                    }
                }
            }
            let found = transitions(&x, rate);
            assert_eq!(
                found.len(),
                expected.len(),
                "{country:?} {tone:?} @ {}: edges {found:?}, expected {expected:?}",
                rate.hz()
            );
            for (&f, &e) in found.iter().zip(&expected) {
                assert!(
                    f.abs_diff(e) <= ms,
                    "{country:?} {tone:?} @ {}: edge at {f}, expected {e}",
                    rate.hz()
                );
            }
        }
    }
}

#[test]
fn frame_by_frame_equals_one_shot() {
    for rate in RATES {
        for (country, tone, spec) in all_tones() {
            let ms = test_length_ms(&spec);
            let whole = render(spec, rate, ms);
            let frame = 20 * samples_per_ms(rate);
            for sizes in [vec![frame], vec![7, 1, 333, 64, 65, 2000]] {
                let mut generator = ToneGenerator::new(spec, rate).unwrap();
                let mut got = vec![0; whole.len()];
                let mut at = 0;
                for &size in sizes.iter().cycle() {
                    if at == got.len() {
                        break;
                    }
                    let end = (at + size).min(got.len());
                    generator.fill(&mut got[at..end]);
                    at = end;
                }
                assert!(
                    got == whole,
                    "{country:?} {tone:?} @ {} differs in frames of {sizes:?}",
                    rate.hz()
                );
            }
        }
    }
}

#[test]
fn country_codes_select_the_expected_plans() {
    let busy = |code: &str| {
        Country::from_code(code)
            .unwrap()
            .tone(ProgressTone::Busy)
            .unwrap()
    };
    assert_eq!(busy("cn").freqs, &[450.0]);
    assert_eq!(busy("cn").cadence, &[(350, 350)]);
    assert_eq!(busy("eu").freqs, &[425.0]);
    assert_eq!(busy("US").freqs, &[480.0, 620.0]);
    let ring = Country::NorthAmerica.tone(ProgressTone::Ringback).unwrap();
    assert_eq!(
        (ring.freqs, ring.cadence),
        (&[440.0, 480.0][..], &[(2000, 4000)][..])
    );
    let congestion = Country::China.tone(ProgressTone::Congestion).unwrap();
    assert_eq!(congestion.cadence, &[(700, 700)]);
    assert!(
        Country::Europe
            .tone(ProgressTone::Dial)
            .unwrap()
            .is_continuous()
    );
    assert_eq!(Country::from_code("xx"), None);
}

#[test]
fn dtmf_digits_carry_their_q23_pair_and_nothing_else() {
    let all: Vec<f32> = DTMF_LOW.iter().chain(&DTMF_HIGH).copied().collect();
    for digit in "0123456789*#ABCD".chars() {
        let (low, high) = dtmf_frequencies(digit).unwrap();
        let x = dtmf_sequence(&digit.to_string(), 100, 50, -10.0).unwrap();
        assert_eq!(x.len(), 150 * 8);
        let burst = &x[16..784];
        for &f in &all {
            let level = dbm0(amplitude(burst, Rate::Hz8000, f64::from(f)));
            if f == low || f == high {
                assert!(
                    (level + 10.0).abs() <= 0.5,
                    "{digit}: {f} Hz at {level:.2} dBm0"
                );
            } else {
                assert!(level < -60.0, "{digit}: stray {f} Hz at {level:.2} dBm0");
            }
        }
        assert!(
            x[800..].iter().all(|&s| s == 0),
            "{digit}: pause not silent"
        );
    }
    assert_eq!(
        dtmf_sequence("12x", 50, 50, -10.0),
        Err(ToneError::InvalidDigit('x'))
    );
}

#[test]
fn dtmf_twist_and_timing_follow_the_parameters() {
    for rate in RATES {
        let params = DtmfParams {
            level_dbm0: -9.0,
            twist_db: 3.0,
            on_ms: 60,
            off_ms: 40,
        };
        let ms = samples_per_ms(rate);
        let mut g = DtmfGenerator::new(params, rate).unwrap();
        g.push("159#").unwrap();
        let mut x = vec![0i16; 500 * ms];
        for frame in x.chunks_mut(20 * ms) {
            g.fill(frame);
        }
        assert!(g.is_idle());
        // Digit k starts at k·100 ms and stops 60 ms later.
        let edges = transitions(&x, rate);
        let expected: Vec<usize> = (0..4)
            .flat_map(|k| [k * 100 * ms + 60 * ms, (k + 1) * 100 * ms])
            .filter(|&e| e < 400 * ms)
            .collect();
        assert_eq!(edges.len(), expected.len(), "{edges:?} vs {expected:?}");
        for (&f, &e) in edges.iter().zip(&expected) {
            assert!(f.abs_diff(e) <= ms, "edge at {f}, expected {e}");
        }
        assert!(x[400 * ms..].iter().all(|&s| s == 0));
        for (k, digit) in "159#".chars().enumerate() {
            let (low, high) = dtmf_frequencies(digit).unwrap();
            let burst = &x[k * 100 * ms + 2 * ms..k * 100 * ms + 58 * ms];
            let l = dbm0(amplitude(burst, rate, f64::from(low)));
            let h = dbm0(amplitude(burst, rate, f64::from(high)));
            assert!((l + 9.0).abs() <= 0.5, "{digit}: low group {l:.2} dBm0");
            assert!((h - l - 3.0).abs() <= 0.1, "{digit}: twist {:.2} dB", h - l);
        }
    }
}

#[test]
fn dtmf_generator_in_frames_matches_dtmf_sequence() {
    let expected = dtmf_sequence("0123456789*#ABCD", 70, 30, -7.0).unwrap();
    let params = DtmfParams {
        level_dbm0: -7.0,
        twist_db: 0.0,
        on_ms: 70,
        off_ms: 30,
    };
    let mut g = DtmfGenerator::new(params, Rate::Hz8000).unwrap();
    g.push("0123456789*#abcd").unwrap();
    let mut got = vec![0i16; expected.len()];
    for frame in got.chunks_mut(160) {
        g.fill(frame);
    }
    assert_eq!(got, expected);
}
