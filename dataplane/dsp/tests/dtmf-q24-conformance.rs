//! ITU-T Q.24 reception conformance of `tandem_dsp::dtmf`, with spandsp's
//! `dtmf_rx` run on exactly the same signals for comparison.
//!
//! Each sweep is its own test. Only Tandem's results are asserted; spandsp's
//! pass counts are printed next to them and written, with Tandem's, to
//! `target/dtmf-conformance-report.txt`. Every signal is generated here in
//! f64 with seeded random phases and noise, so runs are reproducible.
//!
//! Pass criteria (from Q.24 as the brief states them):
//! * frequency: each tone within ±1.5 % → the digit, exactly once; either
//!   tone off by 3.5 % or more → nothing;
//! * twist: low tone up to 8 dB above the high (normal) or 4 dB below
//!   (reverse) → detected; 10 dB normal / 6 dB reverse → nothing;
//! * level: −3 … −30 dBm0 per tone → detected; −40 dBm0 and below → nothing;
//! * timing: 40 ms tones with 40 ms pauses → every digit, separately;
//!   bursts of 20 ms and less → nothing;
//! * noise: white Gaussian noise at S/N 15 dB (noise power over 0–4 kHz
//!   against the power of both tones) → detected; noise alone → nothing;
//! * edges: reported start and end within ±10 ms of the truth.

mod common;

use common::{KEYS, Rng, Signal, Sweep, freqs, spandsp_string, tandem, tandem_string};

const REPORT: &str = "dtmf-conformance-report";

/// Through spandsp's G.711 A-law encoder and decoder.
fn alaw(pcm: &[i16]) -> Vec<i16> {
    let mut code = vec![0u8; pcm.len()];
    let mut out = vec![0i16; pcm.len()];
    tandem_spandsp_oracle::linear_to_alaw(pcm, &mut code);
    tandem_spandsp_oracle::alaw_to_linear(&code, &mut out);
    out
}

/// Through spandsp's G.711 μ-law encoder and decoder.
fn ulaw(pcm: &[i16]) -> Vec<i16> {
    let mut code = vec![0u8; pcm.len()];
    let mut out = vec![0i16; pcm.len()];
    tandem_spandsp_oracle::linear_to_ulaw(pcm, &mut code);
    tandem_spandsp_oracle::ulaw_to_linear(&code, &mut out);
    out
}

/// A single digit case: silence, the pair, silence.
fn one(lo: (f64, f64), hi: (f64, f64), ms: f64, rng: &mut Rng) -> Vec<i16> {
    let mut s = Signal::new();
    s.silence(40.0)
        .pair_samples(lo, hi, (ms * 8.0) as usize, rng)
        .silence(60.0);
    s.pcm()
}

#[test]
fn frequency_deviation_sweep() {
    let mut sweep = Sweep::new("1 frequency deviation (-10 dBm0 per tone, 50 ms)");
    let mut rng = Rng::new(1);
    let devs: Vec<f64> = (-8..=8).map(|i| f64::from(i) * 0.5).collect();
    for key in KEYS {
        let (lo, hi) = freqs(key);
        for &d in &devs {
            for (mode, dl, dh) in [
                ("low", d, 0.0),
                ("high", 0.0, d),
                ("both", d, d),
                ("opposite", d, -d),
            ] {
                let pcm = one(
                    (lo * (1.0 + dl / 100.0), -10.0),
                    (hi * (1.0 + dh / 100.0), -10.0),
                    50.0,
                    &mut rng,
                );
                let (t, s) = (tandem_string(&pcm), spandsp_string(&pcm));
                let expect = key.to_string();
                let what = || format!("{key} {mode} {d:+.1}%: tandem {t:?} spandsp {s:?}");
                if d.abs() <= 1.5 {
                    sweep.record(
                        "detect, each |dev| <= 1.5%",
                        what,
                        t == expect,
                        s == expect,
                        true,
                    );
                } else if d.abs() >= 3.5 {
                    sweep.record(
                        "reject, a tone |dev| >= 3.5%",
                        what,
                        t.is_empty(),
                        s.is_empty(),
                        true,
                    );
                } else {
                    // 1.5 % < |dev| < 3.5 %: Q.24 leaves it open; report only.
                    sweep.record(
                        "(either) 1.5% < |dev| < 3.5%: detected",
                        what,
                        t == expect,
                        s == expect,
                        false,
                    );
                }
            }
        }
    }
    sweep.finish(REPORT);
}

#[test]
fn twist_sweep() {
    let mut sweep = Sweep::new("2 twist (louder tone at -6 and -20 dBm0, 50 ms)");
    let mut rng = Rng::new(2);
    for key in KEYS {
        let (lo, hi) = freqs(key);
        for loud in [-6.0, -20.0] {
            // Positive: low group louder (normal twist); negative: reverse.
            for twist in -7..=11 {
                let tw = f64::from(twist);
                let (l_db, h_db) = if tw >= 0.0 {
                    (loud, loud - tw)
                } else {
                    (loud + tw, loud)
                };
                let pcm = one((lo, l_db), (hi, h_db), 50.0, &mut rng);
                let (t, s) = (tandem_string(&pcm), spandsp_string(&pcm));
                let expect = key.to_string();
                let what =
                    || format!("{key} twist {tw:+} dB at {loud} dBm0: tandem {t:?} spandsp {s:?}");
                if (-4.0..=8.0).contains(&tw) {
                    sweep.record(
                        "detect, normal <= 8 dB / reverse <= 4 dB",
                        what,
                        t == expect,
                        s == expect,
                        true,
                    );
                } else if tw >= 10.0 || tw <= -6.0 {
                    sweep.record(
                        "reject, normal >= 10 dB / reverse >= 6 dB",
                        what,
                        t.is_empty(),
                        s.is_empty(),
                        true,
                    );
                } else {
                    sweep.record(
                        "(either) normal 9 dB / reverse 5 dB: detected",
                        what,
                        t == expect,
                        s == expect,
                        false,
                    );
                }
            }
        }
    }
    sweep.finish(REPORT);
}

#[test]
fn level_sweep() {
    let mut sweep = Sweep::new("3 level (dBm0 per tone, no twist, 50 ms; linear and G.711)");
    let mut rng = Rng::new(3);
    for key in KEYS {
        let (lo, hi) = freqs(key);
        for level in (-50..=-3).rev() {
            let l = f64::from(level);
            let pcm = one((lo, l), (hi, l), 50.0, &mut rng);
            let (t, s) = (tandem_string(&pcm), spandsp_string(&pcm));
            let expect = key.to_string();
            let what = || format!("{key} at {l} dBm0: tandem {t:?} spandsp {s:?}");
            if l >= -30.0 {
                sweep.record(
                    "detect, -3 ... -30 dBm0",
                    what,
                    t == expect,
                    s == expect,
                    true,
                );
            } else if l <= -40.0 {
                sweep.record(
                    "reject, -40 ... -50 dBm0",
                    what,
                    t.is_empty(),
                    s.is_empty(),
                    true,
                );
            } else {
                sweep.record(
                    "(either) -31 ... -39 dBm0: detected",
                    what,
                    t == expect,
                    s == expect,
                    false,
                );
            }
        }
        // The same through G.711 (the usual path to a media gateway).
        for level in (-30..=-3).rev().step_by(3) {
            let l = f64::from(level);
            let pcm = one((lo, l), (hi, l), 50.0, &mut rng);
            for (law, coded) in [("A-law", alaw(&pcm)), ("mu-law", ulaw(&pcm))] {
                let (t, s) = (tandem_string(&coded), spandsp_string(&coded));
                let expect = key.to_string();
                let what = || format!("{key} at {l} dBm0 via {law}: tandem {t:?} spandsp {s:?}");
                sweep.record(
                    "detect via G.711 A/mu-law, -3 ... -30 dBm0",
                    what,
                    t == expect,
                    s == expect,
                    true,
                );
            }
        }
    }
    sweep.finish(REPORT);
}

#[test]
fn duration_sweep() {
    let mut sweep = Sweep::new("4 duration (timing of Q.24)");
    let mut rng = Rng::new(4);
    let all: String = KEYS.iter().collect();
    // Sequences of all 16 digits, 40 ms on / 40 ms off, at every alignment
    // to Tandem's 5 ms hop, and at three levels.
    for offset in (0..40).step_by(3) {
        for level in [-6.0, -18.0, -28.0] {
            let mut s = Signal::new();
            s.silence_samples(80 + offset);
            for key in KEYS {
                s.key(key, level, 40.0, &mut rng).silence(40.0);
            }
            s.silence(60.0);
            let pcm = s.pcm();
            let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
            let what = || {
                format!("40/40 ms x16 offset {offset} at {level} dBm0: tandem {t:?} spandsp {sp:?}")
            };
            sweep.record(
                "detect, 16 x (40 ms on, 40 ms off), exact",
                what,
                t == all,
                sp == all,
                true,
            );
        }
    }
    // The same at the other limits at once: each tone 1.5 % off (in
    // opposite directions), 8 dB normal or 4 dB reverse twist, in noise.
    for offset in (0..40).step_by(7) {
        for (d, twist, level, snr) in [
            (1.5, 8.0, -20.0, 15.0),
            (-1.5, -4.0, -20.0, 15.0),
            (1.5, -4.0, -26.0, f64::INFINITY),
            (-1.5, 8.0, -6.0, 15.0),
            (1.5, 0.0, -28.0, 15.0),
        ] {
            let (l_db, h_db): (f64, f64) = if twist >= 0.0 {
                (level, level - twist)
            } else {
                (level + twist, level)
            };
            let mut s = Signal::new();
            s.silence_samples(80 + offset);
            for key in KEYS {
                let (lo, hi) = freqs(key);
                s.pair_samples(
                    (lo * (1.0 + d / 100.0), l_db),
                    (hi * (1.0 - d / 100.0), h_db),
                    320,
                    &mut rng,
                )
                .silence(40.0);
            }
            s.silence(60.0);
            if snr.is_finite() {
                let p = common::amp(l_db).powi(2) / 2.0 + common::amp(h_db).powi(2) / 2.0;
                s.add_noise((p / 10f64.powf(snr / 10.0)).sqrt(), &mut rng);
            }
            let pcm = s.pcm();
            let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
            let what = || {
                format!(
                    "40/40 x16 offset {offset}, {d:+}%, twist {twist:+}, {level} dBm0, S/N {snr}: tandem {t:?} spandsp {sp:?}"
                )
            };
            sweep.record(
                "detect, 16 x (40/40 ms) at +-1.5%, twist 8/-4, S/N 15",
                what,
                t == all,
                sp == all,
                true,
            );
        }
    }
    // Single bursts too short to count.
    for ms in [20.0, 15.0, 10.0, 5.0] {
        for key in KEYS {
            for offset in [0, 11, 20, 29] {
                let mut s = Signal::new();
                s.silence_samples(80 + offset)
                    .key(key, -8.0, ms, &mut rng)
                    .silence(100.0);
                let pcm = s.pcm();
                let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
                let what = || format!("{key} {ms} ms offset {offset}: tandem {t:?} spandsp {sp:?}");
                sweep.record(
                    "reject, bursts of 20/15/10/5 ms",
                    what,
                    t.is_empty(),
                    sp.is_empty(),
                    true,
                );
            }
        }
    }
    // Trains of 20 ms bursts with 20 ms gaps must not add up to digits.
    for offset in [0, 20] {
        let mut s = Signal::new();
        s.silence_samples(80 + offset);
        for key in KEYS {
            s.key(key, -8.0, 20.0, &mut rng).silence(20.0);
        }
        let pcm = s.pcm();
        let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
        let what = || format!("20/20 ms train offset {offset}: tandem {t:?} spandsp {sp:?}");
        sweep.record(
            "reject, 16 x (20 ms on, 20 ms off)",
            what,
            t.is_empty(),
            sp.is_empty(),
            true,
        );
    }
    // In between, for the record: 25, 30 and 35 ms bursts.
    for ms in [25.0, 30.0, 35.0] {
        for key in KEYS {
            let mut s = Signal::new();
            s.silence(10.0).key(key, -8.0, ms, &mut rng).silence(100.0);
            let pcm = s.pcm();
            let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
            let expect = key.to_string();
            let what = || format!("{key} {ms} ms: tandem {t:?} spandsp {sp:?}");
            sweep.record(
                "(either) 25/30/35 ms bursts: detected",
                what,
                t == expect,
                sp == expect,
                false,
            );
        }
    }
    sweep.finish(REPORT);
}

#[test]
fn noise_sweep() {
    let mut sweep = Sweep::new("5 white noise (S/N over 0-4 kHz vs both tones)");
    let mut rng = Rng::new(5);
    for (snr, asserted) in [
        (20.0, true),
        (15.0, true),
        (12.0, false),
        (10.0, false),
        (6.0, false),
    ] {
        for key in KEYS {
            for (level, twist) in [(-10.0, 0.0), (-25.0, 0.0), (-10.0, 4.0), (-10.0, -2.0)] {
                let (lo, hi) = freqs(key);
                let (l_db, h_db): (f64, f64) = (level, level - twist);
                let mut s = Signal::new();
                s.silence(40.0)
                    .pair_samples((lo, l_db), (hi, h_db), 400, &mut rng)
                    .silence(60.0);
                let p = common::amp(l_db).powi(2) / 2.0 + common::amp(h_db).powi(2) / 2.0;
                let rms = (p / 10f64.powf(snr / 10.0)).sqrt();
                s.add_noise(rms, &mut rng);
                let pcm = s.pcm();
                let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
                let expect = key.to_string();
                let what = || {
                    format!(
                        "{key} {level} dBm0 twist {twist} S/N {snr} dB: tandem {t:?} spandsp {sp:?}"
                    )
                };
                let class = format!("detect at S/N {snr} dB (50 ms; 4 level/twist mixes)");
                sweep.record(&class, what, t == expect, sp == expect, asserted);
            }
        }
    }
    // 40/40 ms sequences at 15 dB S/N.
    let all: String = KEYS.iter().collect();
    for seed in 0..6 {
        let mut s = Signal::new();
        s.silence_samples(80 + seed * 7);
        for key in KEYS {
            s.key(key, -12.0, 40.0, &mut rng).silence(40.0);
        }
        let p = 2.0 * common::amp(-12.0).powi(2) / 2.0;
        s.add_noise((p / 10f64.powf(1.5)).sqrt(), &mut rng);
        let pcm = s.pcm();
        let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
        let what = || format!("40/40 x16 at S/N 15 dB seed {seed}: tandem {t:?} spandsp {sp:?}");
        sweep.record(
            "detect, 16 x (40 on, 40 off) at S/N 15 dB",
            what,
            t == all,
            sp == all,
            true,
        );
    }
    // Noise alone, from quiet to loud: never a digit.
    for (i, dbm0) in [-40.0, -30.0, -20.0, -10.0, -3.0].into_iter().enumerate() {
        for seed in 0..3 {
            let mut s = Signal::new();
            s.silence_samples(16000);
            s.add_noise(common::amp(dbm0) / 2f64.sqrt(), &mut rng);
            let pcm = s.pcm();
            let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
            let what =
                || format!("noise {dbm0} dBm0 seed {seed} ({i}): tandem {t:?} spandsp {sp:?}");
            sweep.record(
                "reject, 2 s of noise alone (-40 ... -3 dBm0)",
                what,
                t.is_empty(),
                sp.is_empty(),
                true,
            );
        }
    }
    sweep.finish(REPORT);
}

#[test]
fn start_and_end_accuracy() {
    let mut sweep = Sweep::new("6 start/end accuracy (+-10 ms; spandsp reports no positions)");
    let mut rng = Rng::new(6);
    let mut worst = (0i64, 0i64);
    for key in KEYS {
        for trial in 0..8 {
            let lead = 200 + (rng.uniform() * 400.0) as usize;
            let len = 320 + (rng.uniform() * 1600.0) as usize;
            let level = -5.0 - 20.0 * rng.uniform();
            let (lo, hi) = freqs(key);
            let mut s = Signal::new();
            s.silence_samples(lead)
                .pair_samples((lo, level), (hi, level), len, &mut rng)
                .silence(80.0);
            if trial % 2 == 1 {
                let p = 2.0 * common::amp(level).powi(2) / 2.0;
                s.add_noise((p / 10f64.powf(2.0)).sqrt(), &mut rng);
            }
            let pcm = s.pcm();
            let found = tandem(&pcm);
            let sp = spandsp_string(&pcm);
            let (ds, de) = match found.as_slice() {
                [d] if d.digit == key => (
                    d.start as i64 - lead as i64,
                    d.end as i64 - (lead + len) as i64,
                ),
                _ => (i64::MAX, i64::MAX),
            };
            if ds != i64::MAX {
                worst.0 = worst.0.max(ds.abs());
                worst.1 = worst.1.max(de.abs());
            }
            let ok = ds.abs() <= 80 && de.abs() <= 80;
            let what = || {
                format!("{key} lead {lead} len {len}: start {ds:+}, end {de:+} samples ({found:?})")
            };
            sweep.record(
                "start and end within 80 samples",
                what,
                ok,
                sp == key.to_string(),
                true,
            );
        }
    }
    sweep.name = format!(
        "{} - worst |start error| {} samples, |end error| {} samples",
        sweep.name, worst.0, worst.1
    );
    sweep.finish(REPORT);
}

#[test]
fn combined_extremes() {
    let mut sweep = Sweep::new("7 combined extremes (deviation x twist x level x noise, 50 ms)");
    let mut rng = Rng::new(7);
    let modes = |d: f64| {
        [
            ("both", d, d),
            ("opposite", d, -d),
            ("low", d, 0.0),
            ("high", 0.0, d),
        ]
    };
    let mut case = |sweep: &mut Sweep,
                    key: char,
                    (mode, dl, dh): (&str, f64, f64),
                    level: f64,
                    twist: f64,
                    snr: f64,
                    class: &str,
                    accept: Option<bool>| {
        let (lo, hi) = freqs(key);
        let (l_db, h_db) = if twist >= 0.0 {
            (level, level - twist)
        } else {
            (level + twist, level)
        };
        let mut s = Signal::new();
        s.silence(40.0)
            .pair_samples(
                (lo * (1.0 + dl / 100.0), l_db),
                (hi * (1.0 + dh / 100.0), h_db),
                400,
                &mut rng,
            )
            .silence(60.0);
        if snr.is_finite() {
            let p = common::amp(l_db).powi(2) / 2.0 + common::amp(h_db).powi(2) / 2.0;
            s.add_noise((p / 10f64.powf(snr / 10.0)).sqrt(), &mut rng);
        }
        let pcm = s.pcm();
        let (t, sp) = (tandem_string(&pcm), spandsp_string(&pcm));
        let what = || {
            format!(
                "{key} {mode} {dl:+}/{dh:+}% at {level} dBm0 twist {twist:+} S/N {snr}: tandem {t:?} spandsp {sp:?}"
            )
        };
        let expect = key.to_string();
        match accept {
            Some(true) => sweep.record(class, what, t == expect, sp == expect, true),
            Some(false) => sweep.record(class, what, t.is_empty(), sp.is_empty(), true),
            None => sweep.record(class, what, t.is_empty(), sp.is_empty(), false),
        }
    };
    for key in KEYS {
        // Every limit of Q.24 at once: must all be detected.
        for d in [-1.5, 1.5] {
            for mode in modes(d) {
                for (level, twist) in [
                    (-28.0, 0.0),
                    (-22.0, 8.0),
                    (-26.0, -4.0),
                    (-6.0, 8.0),
                    (-6.0, -4.0),
                    (-3.0, 0.0),
                ] {
                    for snr in [f64::INFINITY, 15.0] {
                        let class = "detect, +-1.5% x twist 8/-4 x level x S/N 15";
                        case(&mut sweep, key, mode, level, twist, snr, class, Some(true));
                    }
                }
            }
        }
        // Off frequency, at any level or twist: never.
        for d in [-4.0, -3.5, 3.5, 4.0] {
            for mode in modes(d) {
                for (level, twist) in [(-28.0, 0.0), (-22.0, 8.0), (-6.0, -4.0), (-3.0, 0.0)] {
                    for snr in [f64::INFINITY, 15.0] {
                        let class = "reject, a tone off by 3.5-4% x twist x level x S/N";
                        case(&mut sweep, key, mode, level, twist, snr, class, Some(false));
                    }
                }
            }
        }
        // Too much twist or too little level, with deviation.
        for d in [-1.5, 0.0, 1.5] {
            for mode in modes(d) {
                for (level, twist) in [
                    (-6.0, 10.0),
                    (-6.0, -6.0),
                    (-20.0, 10.0),
                    (-20.0, -6.0),
                    (-40.0, 0.0),
                ] {
                    let class = "reject, twist 10/-6 or -40 dBm0, x +-1.5%";
                    case(
                        &mut sweep,
                        key,
                        mode,
                        level,
                        twist,
                        f64::INFINITY,
                        class,
                        Some(false),
                    );
                    // In noise, a twist 1 dB past the limit is within the
                    // noise's reach: reported only.
                    let class = "(either) same at S/N 15 dB: rejected";
                    case(&mut sweep, key, mode, level, twist, 15.0, class, None);
                }
            }
        }
    }
    sweep.finish(REPORT);
}
