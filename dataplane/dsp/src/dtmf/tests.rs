use super::*;

/// Appends `ms` milliseconds of `digit` at `dbm0` per tone (or silence for
/// `None`), phases continuing from `n0`.
fn push(sig: &mut Vec<f64>, digit: Option<char>, ms: usize, dbm0: f64) {
    let n = ms * 8;
    match digit.and_then(frequencies) {
        None => sig.extend(std::iter::repeat_n(0.0, n)),
        Some((lo, hi)) => {
            let a = ZERO_DBM0_PEAK * 10f64.powf(dbm0 / 20.0);
            let tau = 2.0 * std::f64::consts::PI;
            for i in 0..n {
                let t = i as f64 / 8000.0;
                sig.push(a * ((tau * lo * t).sin() + (tau * hi * t + 0.7).sin()));
            }
        }
    }
}

fn pcm(sig: &[f64]) -> Vec<i16> {
    sig.iter()
        .map(|&v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Deterministic pseudo-random noise (xorshift), roughly uniform.
fn noise(len: usize, seed: u64, amp: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amp
        })
        .collect()
}

fn digits_of(pcm: &[i16]) -> String {
    detect(pcm).iter().map(|d| d.digit).collect()
}

#[test]
fn every_digit_is_detected_with_its_position() {
    for row in KEYPAD {
        for key in row {
            let mut sig = Vec::new();
            push(&mut sig, None, 30, 0.0);
            push(&mut sig, Some(key), 60, -10.0);
            push(&mut sig, None, 50, 0.0);
            let found = detect(&pcm(&sig));
            assert_eq!(found.len(), 1, "{key}: {found:?}");
            let d = found[0];
            assert_eq!(d.digit, key);
            assert!(d.start.abs_diff(240) <= 40, "{key}: start {}", d.start);
            assert!(d.end.abs_diff(720) <= 40, "{key}: end {}", d.end);
        }
    }
}

#[test]
fn lower_case_letters_map_to_the_keypad() {
    assert_eq!(frequencies('a'), Some((697.0, 1633.0)));
    assert_eq!(frequencies('x'), None);
}

#[test]
fn silence_and_noise_give_nothing() {
    assert!(detect(&vec![0; 16000]).is_empty());
    assert!(detect(&pcm(&noise(16000, 7, 8000.0))).is_empty());
}

#[test]
fn start_is_reported_before_end_while_streaming() {
    let mut sig = Vec::new();
    push(&mut sig, Some('5'), 80, -12.0);
    push(&mut sig, None, 80, 0.0);
    let mut det = DtmfDetector::new();
    let mut log = Vec::new();
    for frame in pcm(&sig).chunks(160) {
        det.process(frame, |e| log.push((det_pos_marker(), e)));
    }
    det.finish(|e| log.push((0, e)));
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(matches!(log[0].1, DtmfEvent::Start { digit: '5', at } if at <= 40));
    assert!(matches!(log[1].1, DtmfEvent::End(Digit { digit: '5', .. })));
}

fn det_pos_marker() -> u64 {
    0
}

/// A signal per channel: different digits, levels, noise and timing.
fn channel_signal(c: usize, len: usize) -> Vec<i16> {
    let keys = ['1', '5', '9', 'D', '0', '#', '*', 'A'];
    let mut sig = Vec::new();
    push(&mut sig, None, 10 + (c * 7) % 50, 0.0);
    for i in 0..6 {
        let key = keys[(c + i) % keys.len()];
        push(
            &mut sig,
            Some(key),
            40 + (c * 13 + i * 17) % 60,
            -6.0 - (c % 20) as f64,
        );
        push(&mut sig, None, 40 + (c * 11 + i * 5) % 40, 0.0);
    }
    sig.resize(len, 0.0);
    let n = noise(len, c as u64 + 1, 30.0 + 200.0 * (c % 3) as f64);
    let mixed: Vec<f64> = sig.iter().zip(&n).map(|(a, b)| a + b).collect();
    pcm(&mixed)
}

type Log = Vec<Vec<DtmfEvent>>;

fn run_bank(bank: &mut DtmfBank, sigs: &[Vec<i16>], frame: usize, interleaved: bool) -> Log {
    let ch = sigs.len();
    let len = sigs[0].len();
    let mut log: Log = vec![Vec::new(); ch];
    let mut buf = Vec::with_capacity(ch * frame);
    let mut at = 0;
    while at < len {
        let n = frame.min(len - at);
        buf.clear();
        if interleaved {
            for i in 0..n {
                buf.extend(sigs.iter().map(|s| s[at + i]));
            }
            bank.process_interleaved(&buf, |c, e| log[c].push(e));
        } else {
            for s in sigs {
                buf.extend_from_slice(&s[at..at + n]);
            }
            bank.process_channel_major(&buf, |c, e| log[c].push(e));
        }
        at += n;
    }
    bank.finish(|c, e| log[c].push(e));
    log
}

fn run_single(sig: &[i16]) -> Vec<DtmfEvent> {
    let mut det = DtmfDetector::new();
    let mut log = Vec::new();
    for frame in sig.chunks(160) {
        det.process(frame, |e| log.push(e));
    }
    det.finish(|e| log.push(e));
    log
}

#[test]
fn bank_matches_single_channel_detectors_in_both_layouts() {
    let sigs: Vec<Vec<i16>> = (0..37).map(|c| channel_signal(c, 8000)).collect();
    let inter = run_bank(&mut DtmfBank::new(37), &sigs, 160, true);
    let major = run_bank(&mut DtmfBank::new(37), &sigs, 160, false);
    // Odd frame lengths split sub-blocks across calls.
    let ragged = run_bank(&mut DtmfBank::new(37), &sigs, 97, true);
    let mut total = 0;
    for (c, sig) in sigs.iter().enumerate() {
        let single = run_single(sig);
        assert_eq!(inter[c], single, "channel {c} interleaved");
        assert_eq!(major[c], single, "channel {c} channel-major");
        assert_eq!(ragged[c], single, "channel {c} ragged frames");
        total += single.len();
    }
    assert!(
        total >= 37 * 2 * 5,
        "too few events ({total}) for a meaningful check"
    );
}

#[test]
fn channels_are_independent() {
    let len = 8000;
    let loud = channel_signal(3, len);
    let mut sigs = vec![vec![0i16; len]; 20];
    sigs[5] = loud.clone();
    let log = run_bank(&mut DtmfBank::new(20), &sigs, 160, true);
    for (c, events) in log.iter().enumerate() {
        if c == 5 {
            assert_eq!(events, &run_single(&loud));
        } else {
            assert!(
                events.is_empty(),
                "channel {c} heard its neighbour: {events:?}"
            );
        }
    }
}

#[test]
fn reset_forgets_the_digit_and_restarts_the_clock() {
    let mut sig = Vec::new();
    push(&mut sig, Some('7'), 100, -10.0);
    let first = pcm(&sig);
    let mut bank = DtmfBank::new(3);
    let mut log: Log = vec![Vec::new(); 3];
    let frames = |s: &[i16]| {
        let mut buf = Vec::new();
        for &v in s {
            buf.extend([0, v, 0]);
        }
        buf
    };
    bank.process_interleaved(&frames(&first[..480]), |c, e| log[c].push(e));
    assert!(matches!(log[1][..], [DtmfEvent::Start { digit: '7', .. }]));
    bank.reset(1);
    // After the reset, silence then a new digit: no End for the '7', and
    // positions count from the reset.
    let mut sig = Vec::new();
    push(&mut sig, None, 50, 0.0);
    push(&mut sig, Some('8'), 60, -10.0);
    push(&mut sig, None, 60, 0.0);
    bank.process_interleaved(&frames(&pcm(&sig)), |c, e| log[c].push(e));
    bank.finish(|c, e| log[c].push(e));
    let after: Vec<_> = log[1][1..].to_vec();
    assert_eq!(after.len(), 2, "{after:?}");
    match after[1] {
        DtmfEvent::End(d) => {
            assert_eq!(d.digit, '8');
            assert!(d.start.abs_diff(400) <= 40, "{d:?}");
            assert!(d.end.abs_diff(880) <= 40, "{d:?}");
        }
        e => panic!("expected the end of '8', got {e:?}"),
    }
    assert!(log[0].is_empty() && log[2].is_empty());
}

#[test]
fn wide_kernels_match_the_scalar_twin() {
    let sigs: Vec<Vec<i16>> = (0..40).map(|c| channel_signal(c, 4000)).collect();
    let mut wide = DtmfBank::new(40);
    let mut twin = DtmfBank::new(40);
    twin.force_baseline();
    let a = run_bank(&mut wide, &sigs, 160, true);
    let b = run_bank(&mut twin, &sigs, 160, true);
    assert_eq!(a, b);
    assert_eq!(wide.groups, twin.groups, "kernel state differs bit-wise");
    eprintln!("wide kernel in use: {:?}", wide.isa);
}

#[test]
fn forty_ms_digits_with_forty_ms_pauses_are_all_heard() {
    let keys = "0123456789*#ABCD";
    for offset in [0, 13, 20, 33] {
        let mut sig = vec![0.0; offset];
        for k in keys.chars() {
            push(&mut sig, Some(k), 40, -20.0);
            push(&mut sig, None, 40, 0.0);
        }
        assert_eq!(digits_of(&pcm(&sig)), keys, "offset {offset}");
    }
}

#[test]
fn twenty_ms_bursts_are_ignored() {
    for offset in [0, 10, 20, 30] {
        let mut sig = vec![0.0; offset];
        for k in "0123456789*#ABCD".chars() {
            push(&mut sig, Some(k), 20, -10.0);
            push(&mut sig, None, 60, 0.0);
        }
        assert_eq!(digits_of(&pcm(&sig)), "", "offset {offset}");
    }
}

#[test]
fn a_pair_with_harmonics_is_not_a_digit() {
    // '5' (770 + 1336 Hz) with each tone's second harmonic 10 dB down:
    // energy share, levels and frequencies all pass, purity must not.
    let tau = 2.0 * std::f64::consts::PI;
    let a = ZERO_DBM0_PEAK * 10f64.powf(-12.0 / 20.0);
    let h = a * 10f64.powf(-10.0 / 20.0);
    let sig: Vec<f64> = (0..1600)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let tone = |f: f64| a * (tau * f * t).sin() + h * (tau * 2.0 * f * t + 1.0).sin();
            if (200..1400).contains(&i) {
                tone(770.0) + tone(1336.0)
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(digits_of(&pcm(&sig)), "");
    // The same pair with harmonics 25 dB down is a digit.
    let h = a * 10f64.powf(-25.0 / 20.0);
    let sig: Vec<f64> = (0..1600)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let tone = |f: f64| a * (tau * f * t).sin() + h * (tau * 2.0 * f * t + 1.0).sin();
            if (200..1400).contains(&i) {
                tone(770.0) + tone(1336.0)
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(digits_of(&pcm(&sig)), "5");
}

#[test]
fn harmonics_of_a_common_fundamental_are_not_a_digit() {
    // Harmonics 3 and 4 of 307 Hz (921 and 1228 Hz: '*' 2.1 % low and
    // 1.6 % high) with the fundamental and second harmonic 12 dB down, as
    // espeak-ng's high female voice produced in the talk-off test.
    let tau = 2.0 * std::f64::consts::PI;
    let a = ZERO_DBM0_PEAK * 10f64.powf(-10.0 / 20.0);
    let weak = a * 10f64.powf(-12.0 / 20.0);
    let sig: Vec<f64> = (0..1600)
        .map(|i| {
            let t = i as f64 / 8000.0;
            a * (tau * 921.0 * t).sin()
                + a * (tau * 1228.0 * t).sin()
                + weak * (tau * 307.0 * t).sin()
                + weak * (tau * 614.0 * t).sin()
        })
        .collect();
    assert_eq!(digits_of(&pcm(&sig)), "");
    // Without the fundamental and its second harmonic it is a '*' (both
    // tones within the 2.5 % the detector allows).
    let sig: Vec<f64> = (0..1600)
        .map(|i| {
            let t = i as f64 / 8000.0;
            a * (tau * 921.0 * t).sin() + a * (tau * 1228.0 * t).sin()
        })
        .collect();
    assert_eq!(digits_of(&pcm(&sig)), "*");
}

#[test]
fn short_interruptions_are_bridged_and_pauses_split() {
    for offset in [0, 9, 17, 25, 33] {
        for (gap_ms, digits) in [(5, 1), (10, 1), (20, 2), (40, 2)] {
            let mut sig = vec![0.0; 80 + offset];
            push(&mut sig, Some('5'), 100, -10.0);
            push(&mut sig, None, gap_ms, 0.0);
            push(&mut sig, Some('5'), 100, -10.0);
            push(&mut sig, None, 60, 0.0);
            let found = detect(&pcm(&sig));
            assert_eq!(
                found.len(),
                digits,
                "gap {gap_ms} ms, offset {offset}: {found:?}"
            );
        }
    }
}

#[test]
fn hostile_input_neither_panics_nor_talks() {
    let len = 8000;
    let signals: Vec<Vec<i16>> = vec![
        vec![i16::MIN; len],
        vec![i16::MAX; len],
        (0..len)
            .map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect(),
        pcm(&noise(len, 3, 60000.0)),
        (0..len)
            .map(|i| ((i * 7919) % 65536) as u16 as i16)
            .collect(),
    ];
    let mut bank = DtmfBank::new(signals.len());
    let mut heard = Vec::new();
    let mut at = 0;
    let mut step = 1;
    while at < len {
        let n = step.min(len - at);
        let frame: Vec<i16> = (at..at + n)
            .flat_map(|i| signals.iter().map(move |s| s[i]))
            .collect();
        bank.process_interleaved(&frame, |c, e| heard.push((c, e)));
        at += n;
        step = step * 3 % 311 + 1;
    }
    bank.finish(|c, e| heard.push((c, e)));
    assert!(heard.is_empty(), "{heard:?}");
}
