//! Conference behaviours: N−1 mixing, mute, deaf, kick, gain, the soft
//! limiter, mixed rates and loudest-speaker events.

use std::collections::HashMap;

use tandem_dataplane::frame::{AudioFrame, frame_len};
use tandem_dataplane::mixer::{
    Conference, ConferenceConfig, Event, LIMITER_CEILING, MemberId, MixerError,
};
use tandem_dsp::resample::Rate;

/// Frame `k` of a sine at `hz`, amplitude `amp`.
fn tone(rate: Rate, hz: f64, amp: f64, k: usize) -> AudioFrame {
    let n = frame_len(rate);
    let fs = f64::from(rate.hz());
    let mut f = AudioFrame::silence(rate);
    for (i, s) in f.samples_mut().iter_mut().enumerate() {
        let t = (k * n + i) as f64 / fs;
        *s = (amp * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16;
    }
    f
}

fn mix_all(c: &mut Conference) -> HashMap<MemberId, AudioFrame> {
    let mut got = HashMap::new();
    c.mix(|id, f| {
        got.insert(id, f.clone());
    });
    got
}

/// Goertzel power of `hz` in `x`, normalised to amplitude.
fn amplitude_at(x: &[i16], hz: f64, fs: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / fs;
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in x.iter().enumerate() {
        re += f64::from(s) * (w * n as f64).cos();
        im -= f64::from(s) * (w * n as f64).sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

const A: MemberId = MemberId(1);
const B: MemberId = MemberId(2);
const C: MemberId = MemberId(3);

fn three() -> Conference {
    let mut c = Conference::new(ConferenceConfig::default());
    for id in [A, B, C] {
        c.add_member(id, Rate::Hz8000).unwrap();
    }
    c
}

#[test]
fn each_member_hears_the_others_exactly_and_not_itself() {
    let mut c = three();
    for k in 0..5 {
        let fa = tone(Rate::Hz8000, 400.0, 3000.0, k);
        let fb = tone(Rate::Hz8000, 1000.0, 4000.0, k);
        let fc = tone(Rate::Hz8000, 1800.0, 5000.0, k);
        c.put(A, &fa).unwrap();
        c.put(B, &fb).unwrap();
        c.put(C, &fc).unwrap();
        let got = mix_all(&mut c);
        assert_eq!(got.len(), 3);
        let sum = |x: &AudioFrame, y: &AudioFrame| -> Vec<i16> {
            x.samples()
                .iter()
                .zip(y.samples())
                .map(|(&p, &q)| p + q)
                .collect()
        };
        // Below the limiter's knee the mix is exact.
        assert_eq!(got[&A].samples(), &sum(&fb, &fc)[..]);
        assert_eq!(got[&B].samples(), &sum(&fa, &fc)[..]);
        assert_eq!(got[&C].samples(), &sum(&fa, &fb)[..]);
    }
}

#[test]
fn missing_input_is_silence_and_inputs_do_not_carry_over() {
    let mut c = three();
    c.put(A, &tone(Rate::Hz8000, 500.0, 8000.0, 0)).unwrap();
    let got = mix_all(&mut c);
    assert!(got[&A].samples().iter().all(|&s| s == 0));
    assert!(got[&B].samples().iter().any(|&s| s != 0));
    // Next tick nobody sent anything.
    let got = mix_all(&mut c);
    for f in got.values() {
        assert!(f.samples().iter().all(|&s| s == 0));
    }
}

#[test]
fn mute_deaf_and_kick() {
    let mut c = three();
    let fa = tone(Rate::Hz8000, 400.0, 3000.0, 0);
    let fb = tone(Rate::Hz8000, 1000.0, 4000.0, 0);
    c.set_mute(A, true).unwrap();
    c.set_deaf(B, true).unwrap();
    c.put(A, &fa).unwrap();
    c.put(B, &fb).unwrap();
    let got = mix_all(&mut c);
    // A is muted: C hears only B; A hears B (muted members still hear).
    assert_eq!(got[&C].samples(), fb.samples());
    assert_eq!(got[&A].samples(), fb.samples());
    // B is deaf: silence.
    assert!(got[&B].samples().iter().all(|&s| s == 0));

    c.remove(B).unwrap();
    assert!(!c.contains(B));
    assert_eq!(c.put(B, &fb), Err(MixerError::UnknownMember(B)));
    c.set_mute(A, false).unwrap();
    c.put(A, &fa).unwrap();
    let got = mix_all(&mut c);
    assert_eq!(got.len(), 2);
    assert_eq!(got[&C].samples(), fa.samples());
}

#[test]
fn gain_scales_what_others_hear() {
    let mut c = three();
    c.set_gain(A, -6.0206).unwrap();
    let fa = tone(Rate::Hz8000, 400.0, 8000.0, 0);
    c.put(A, &fa).unwrap();
    let got = mix_all(&mut c);
    for (&x, &y) in fa.samples().iter().zip(got[&B].samples()) {
        assert!((i32::from(x) / 2 - i32::from(y)).abs() <= 1, "{x} -> {y}");
    }
    assert!((c.gain(A).unwrap() + 6.0206).abs() < 1e-6);
}

#[test]
fn soft_limiter_never_clips_and_keeps_shape() {
    let mut c = Conference::new(ConferenceConfig::default());
    let ids: Vec<MemberId> = (0..10).map(MemberId).collect();
    for &id in &ids {
        c.add_member(id, Rate::Hz8000).unwrap();
    }
    c.set_gain(ids[0], 20.0).unwrap();
    for &id in &ids {
        // All in phase, full scale: a worst case of ~ 19 × 32767.
        c.put(id, &tone(Rate::Hz8000, 300.0, 32767.0, 0)).unwrap();
    }
    let got = mix_all(&mut c);
    for f in got.values() {
        let s = f.samples();
        let peak = s.iter().map(|&x| i32::from(x).abs()).max().unwrap();
        assert!(peak <= LIMITER_CEILING);
        assert!(peak > 30_000, "loud mix stays loud: {peak}");
        // Still a 300 Hz sine, not a square wave: sign follows the input.
        let input = tone(Rate::Hz8000, 300.0, 1.0e4, 0);
        for (&y, &x) in s.iter().zip(input.samples()) {
            if x.abs() > 100 {
                assert_eq!(y.signum(), x.signum());
            }
        }
    }
    assert!(c.counters().limited_frames >= 10);
}

#[test]
fn wideband_member_raises_the_mix_rate_and_everyone_is_resampled() {
    let mut c = Conference::new(ConferenceConfig::default());
    c.add_member(A, Rate::Hz8000).unwrap();
    c.add_member(B, Rate::Hz8000).unwrap();
    assert_eq!(c.rate(), Rate::Hz8000);
    c.add_member(C, Rate::Hz16000).unwrap();
    assert_eq!(c.rate(), Rate::Hz16000);
    assert_eq!(c.poll_event(), Some(Event::RateChanged(Rate::Hz16000)));

    while c.poll_event().is_some() {}
    let mut heard_a = Vec::new();
    let mut heard_c = Vec::new();
    for k in 0..20 {
        c.put(A, &tone(Rate::Hz8000, 1000.0, 8000.0, k)).unwrap();
        c.put(C, &tone(Rate::Hz16000, 2500.0, 6000.0, k)).unwrap();
        let got = mix_all(&mut c);
        assert_eq!(got[&A].rate(), Rate::Hz8000);
        assert_eq!(got[&C].rate(), Rate::Hz16000);
        if k >= 2 {
            heard_a.extend_from_slice(got[&A].samples());
            heard_c.extend_from_slice(got[&C].samples());
        }
    }
    // C hears A's 1 kHz at its level, and none of its own 2.5 kHz.
    assert!((amplitude_at(&heard_c, 1000.0, 16000.0) - 8000.0).abs() < 80.0);
    assert!(amplitude_at(&heard_c, 2500.0, 16000.0) < 10.0);
    // A hears C's 2.5 kHz, at its level, and not itself.
    assert!((amplitude_at(&heard_a, 2500.0, 8000.0) - 6000.0).abs() < 60.0);
    assert!(amplitude_at(&heard_a, 1000.0, 8000.0) < 10.0);

    // The wideband member leaves: back to 8 kHz.
    while c.poll_event().is_some() {}
    c.remove(C).unwrap();
    assert_eq!(c.rate(), Rate::Hz8000);
    assert_eq!(c.poll_event(), Some(Event::RateChanged(Rate::Hz8000)));
}

#[test]
fn loudest_speaker_changes_with_hysteresis_and_hold() {
    let mut c = three();
    let mut events = Vec::new();
    let run = |c: &mut Conference, ticks: usize, a: f64, b: f64, events: &mut Vec<Event>| {
        for k in 0..ticks {
            if a > 0.0 {
                c.put(A, &tone(Rate::Hz8000, 300.0, a, k)).unwrap();
            }
            if b > 0.0 {
                c.put(B, &tone(Rate::Hz8000, 700.0, b, k)).unwrap();
            }
            c.mix(|_, _| {});
            while let Some(e) = c.poll_event() {
                events.push(e);
            }
        }
    };
    // A talks alone: A takes the floor at once.
    run(&mut c, 20, 5000.0, 0.0, &mut events);
    assert_eq!(
        events,
        vec![Event::SpeakerChanged {
            previous: None,
            current: Some(A)
        }]
    );
    events.clear();
    // B slightly louder (1 dB): not enough to take over from a talking A.
    run(&mut c, 50, 5000.0, 5600.0, &mut events);
    assert!(events.is_empty(), "{events:?}");
    // B much louder: takes over.
    run(&mut c, 50, 5000.0, 12000.0, &mut events);
    assert_eq!(
        events,
        vec![Event::SpeakerChanged {
            previous: Some(A),
            current: Some(B)
        }]
    );
    events.clear();
    // A shouts briefly right after: the hold time keeps B.
    let mut c2 = three();
    let mut ev2 = Vec::new();
    run(&mut c2, 5, 0.0, 5000.0, &mut ev2);
    run(&mut c2, 5, 20000.0, 5000.0, &mut ev2);
    assert_eq!(ev2.len(), 1, "{ev2:?}");
    // Everyone stops: the floor becomes free after the hold.
    run(&mut c, 30, 0.0, 0.0, &mut events);
    assert_eq!(
        events,
        vec![Event::SpeakerChanged {
            previous: Some(B),
            current: None
        }]
    );
    assert_eq!(c.speaker(), None);
}

#[test]
fn kicking_the_speaker_frees_the_floor() {
    let mut c = three();
    for k in 0..5 {
        c.put(A, &tone(Rate::Hz8000, 300.0, 5000.0, k)).unwrap();
        c.mix(|_, _| {});
    }
    assert_eq!(c.speaker(), Some(A));
    while c.poll_event().is_some() {}
    c.remove(A).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::SpeakerChanged {
            previous: Some(A),
            current: None
        })
    );
}

#[test]
fn unpolled_events_are_counted_not_lost_silently() {
    let mut c = Conference::new(ConferenceConfig {
        event_capacity: 1,
        ..Default::default()
    });
    c.add_member(A, Rate::Hz16000).unwrap();
    c.add_member(B, Rate::Hz48000).unwrap();
    assert_eq!(c.counters().events_dropped, 1);
}

#[test]
fn hostile_input_at_all_rates_never_panics_or_clips() {
    let mut c = Conference::new(ConferenceConfig::default());
    let rates = [Rate::Hz8000, Rate::Hz16000, Rate::Hz48000];
    for i in 0..9u32 {
        c.add_member(MemberId(i), rates[i as usize % 3]).unwrap();
        c.set_gain(MemberId(i), if i % 2 == 0 { 20.0 } else { -60.0 })
            .unwrap();
    }
    let mut x = 0x9E37_79B9u32;
    for _ in 0..50 {
        for i in 0..9u32 {
            let rate = rates[i as usize % 3];
            let mut f = AudioFrame::silence(rate);
            for s in f.samples_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *s = if x & 1 == 0 { i16::MIN } else { x as i16 };
            }
            c.put(MemberId(i), &f).unwrap();
        }
        c.mix(|_, f| {
            // Members at the mix rate get the limiter's output as is; the
            // others go through a resampler, which saturates (never wraps)
            // on the overshoot of a full-scale mix.
            if f.rate() == Rate::Hz48000 {
                assert!(f.samples().iter().all(|&s| s > i16::MIN));
            }
        });
    }
    // Members come and go between ticks; the rate follows.
    c.remove(MemberId(2)).unwrap();
    c.remove(MemberId(5)).unwrap();
    c.remove(MemberId(8)).unwrap();
    assert_eq!(c.rate(), Rate::Hz16000);
    c.mix(|_, _| {});
}
