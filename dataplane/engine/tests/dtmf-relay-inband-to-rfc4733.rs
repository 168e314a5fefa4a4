//! In-band DTMF in, RFC 4733 out, tone removed from the forwarded audio.

use std::collections::BTreeMap;

use tandem_dataplane::command::DtmfSource;
use tandem_dataplane::dtmf_relay::{InbandToRfc4733, RelayEvent, SenderConfig, TelephoneEventOut};
use tandem_dataplane::frame::{AudioFrame, frame_len};
use tandem_dsp::dtmf::detect;
use tandem_dsp::resample::{Rate, resample_all};
use tandem_dsp::tone::dtmf_sequence;
use tandem_wire::telephone_event::{TelephoneEventPacket, TelephoneEventRepr, event_to_digit};

/// Low-level noise ("speech floor"), deterministic.
fn noise(len: usize, amp: f64, seed: u64) -> Vec<i16> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amp
        })
        .map(|v| v.round() as i16)
        .collect()
}

struct Run {
    /// Forwarded audio, aligned back to the input (delay removed).
    out: Vec<i16>,
    /// (frame index, packet).
    packets: Vec<(usize, TelephoneEventOut)>,
    events: Vec<RelayEvent>,
    relay: InbandToRfc4733,
}

const TS0: u32 = 0xFFFF_F000; // wraps during the run

fn run(rate: Rate, input: &[i16]) -> Run {
    let n = frame_len(rate);
    let mut relay = InbandToRfc4733::new(SenderConfig::new(rate));
    let delay = relay.delay_samples();
    let mut out = Vec::new();
    let mut packets = Vec::new();
    let mut events = Vec::new();
    let mut frame_out = AudioFrame::silence(rate);
    let frames = input.len().div_ceil(n) + 8;
    let mut was_busy = false;
    for k in 0..frames {
        let mut f = AudioFrame::silence(rate);
        let at = k * n;
        if at < input.len() {
            let m = n.min(input.len() - at);
            f.samples_mut()[..m].copy_from_slice(&input[at..at + m]);
        }
        let ts = TS0.wrapping_add((k * n) as u32);
        relay.handle_inband(&f, ts, &mut frame_out);
        let busy = relay.event_in_progress();
        if busy && was_busy {
            // A frame wholly inside an event: silence.
            assert!(frame_out.samples().iter().all(|&s| s == 0), "frame {k}");
        }
        was_busy = busy;
        out.extend_from_slice(frame_out.samples());
        while let Some(p) = relay.poll_telephone_event() {
            packets.push((k, p));
        }
        while let Some(e) = relay.poll_event() {
            events.push(e);
        }
    }
    let out = out[delay..delay + input.len()].to_vec();
    Run {
        out,
        packets,
        events,
        relay,
    }
}

fn parse(p: &TelephoneEventOut) -> TelephoneEventRepr {
    let view = TelephoneEventPacket::new_checked(&p.payload[..]).unwrap();
    TelephoneEventRepr::parse(&view).unwrap()
}

/// Packets grouped by event timestamp, in order.
fn by_event(packets: &[(usize, TelephoneEventOut)]) -> Vec<(u32, Vec<TelephoneEventOut>)> {
    let mut order = Vec::new();
    let mut map: BTreeMap<u32, Vec<TelephoneEventOut>> = BTreeMap::new();
    for (_, p) in packets {
        if !map.contains_key(&p.timestamp) {
            order.push(p.timestamp);
        }
        map.entry(p.timestamp).or_default().push(*p);
    }
    order.into_iter().map(|t| (t, map[&t].clone())).collect()
}

const DIGITS: &str = "1234567890*#ABCD";

/// Digits 100 ms on / 100 ms off at −10 dBm0 per tone, after 130 ms, over
/// −45 dBm0 noise.
fn digits_signal() -> Vec<i16> {
    let mut sig = vec![0i16; 1040];
    sig.extend(dtmf_sequence(DIGITS, 100, 100, -10.0).unwrap());
    sig.extend(vec![0i16; 800]);
    let floor = noise(sig.len(), 200.0, 7);
    sig.iter()
        .zip(&floor)
        .map(|(&s, &f)| s.saturating_add(f))
        .collect()
}

#[test]
fn inband_digits_become_rfc4733_events_with_right_durations() {
    let sig = digits_signal();
    let r = run(Rate::Hz8000, &sig);
    let events = by_event(&r.packets);
    let got: String = events
        .iter()
        .map(|(_, ps)| event_to_digit(parse(&ps[0]).event).unwrap())
        .collect();
    assert_eq!(got, DIGITS);
    let delay = r.relay.delay_samples() as u32;
    for (i, (ts, ps)) in events.iter().enumerate() {
        // Timestamp: the digit's start on the forwarded stream.
        let start = (1040 + i * 1600) as u32;
        let expected = TS0.wrapping_add(start + delay);
        let off = ts.wrapping_sub(expected) as i32;
        assert!(off.abs() <= 40, "digit {i}: timestamp off by {off}");
        // First packet has the marker; no other does.
        assert!(ps[0].marker);
        assert!(ps[1..].iter().all(|p| !p.marker));
        let reprs: Vec<_> = ps.iter().map(parse).collect();
        // Durations never decrease; the end comes three times, last.
        for w in reprs.windows(2) {
            assert!(w[1].duration >= w[0].duration);
        }
        let ends: Vec<_> = reprs.iter().filter(|r| r.end).collect();
        assert_eq!(ends.len(), 3);
        assert!(reprs[reprs.len() - 3..].iter().all(|r| r.end));
        let d = i32::from(ends[0].duration);
        assert!((d - 800).abs() <= 40, "digit {i}: duration {d}");
        assert!(ends.iter().all(|e| i32::from(e.duration) == d));
        // Updates about every 50 ms: a 100 ms digit has 1 start + 1-2
        // updates before its end packets.
        let updates = reprs.iter().filter(|r| !r.end).count();
        assert!(
            (2..=3).contains(&updates),
            "digit {i}: {updates} non-end packets"
        );
        // −10 dBm0 per tone: −7 dBm0 for the pair.
        assert!(
            (6..=8).contains(&reprs[0].volume),
            "volume {}",
            reprs[0].volume
        );
    }
    // Worker events: started and ended, in-band, once per digit.
    let started: String = r
        .events
        .iter()
        .filter_map(|e| match e {
            RelayEvent::DigitStarted {
                digit,
                source: DtmfSource::InBand,
            } => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(started, DIGITS);
    for e in &r.events {
        if let RelayEvent::DigitEnded { duration_ms, .. } = e {
            assert!((95..=105).contains(duration_ms), "{duration_ms} ms");
        }
    }
    assert_eq!(r.relay.counters().digits, DIGITS.len() as u64);
    assert_eq!(r.relay.counters().late_starts, 0);
}

#[test]
fn forwarded_audio_carries_no_detectable_dtmf() {
    let sig = digits_signal();
    let r = run(Rate::Hz8000, &sig);
    // The key property: nothing a DTMF receiver would hear.
    assert_eq!(detect(&r.out), vec![]);
    assert_eq!(detect(&sig).len(), DIGITS.len());
    // Residual tone energy inside the digits: tiny.
    let (mut e_in, mut e_out) = (0.0f64, 0.0f64);
    for i in 0..DIGITS.len() {
        let a = 1040 + i * 1600;
        for (&x, &y) in sig[a..a + 800].iter().zip(&r.out[a..a + 800]) {
            e_in += f64::from(x).powi(2);
            e_out += f64::from(y).powi(2);
        }
    }
    let db = 10.0 * (e_out.max(1.0) / e_in).log10();
    println!("residual tone energy: {db:.1} dB");
    assert!(db < -60.0, "residual {db:.1} dB");
    // The audio around the digits is forwarded untouched: more than 15 ms
    // away from every digit edge, output == input.
    for (j, (&x, &y)) in sig.iter().zip(&r.out).enumerate() {
        let near = (0..DIGITS.len()).any(|i| {
            let a = (1040 + i * 1600) as i64;
            let j = j as i64;
            j >= a - 120 && j < a + 800 + 120
        });
        if !near {
            assert_eq!(x, y, "sample {j} changed");
        }
    }
}

#[test]
fn look_ahead_covers_the_measured_detection_latency() {
    for rate in [Rate::Hz8000, Rate::Hz16000, Rate::Hz48000] {
        let n = frame_len(rate);
        let mut worst = 0u64;
        let step = if rate == Rate::Hz48000 { 23 } else { 9 };
        for (i, offset) in (0..160).step_by(step).enumerate() {
            let level = -3.0 - (i as f32 * 4.0) % 28.0;
            let digit = &"159#D"[i % 5..i % 5 + 1];
            let mut sig8 = vec![0i16; 480 + offset];
            sig8.extend(dtmf_sequence(digit, 60, 200, level).unwrap());
            let sig = if rate == Rate::Hz8000 {
                sig8
            } else {
                resample_all(Rate::Hz8000, rate, &sig8)
            };
            let r = run(rate, &sig);
            let c = r.relay.counters();
            assert_eq!(c.digits, 1, "{rate:?} offset {offset} level {level}");
            assert_eq!(c.late_starts, 0);
            worst = worst.max(r.relay.max_detection_lag());
            // Nothing detectable leaks.
            let out8 = if rate == Rate::Hz8000 {
                r.out.clone()
            } else {
                resample_all(rate, Rate::Hz8000, &r.out)
            };
            assert_eq!(detect(&out8), vec![]);
        }
        let ms = worst as f64 * 1000.0 / f64::from(rate.hz());
        println!("{rate:?}: worst detection lag {ms:.1} ms");
        let budget = (SenderConfig::new(rate).lookahead_frames + 1) * n;
        assert!(worst <= budget as u64, "{ms} ms exceeds the look-ahead");
    }
}

#[test]
fn long_event_is_split_at_duration_ffff() {
    // 9 s of '5' = 72,000 samples: one split.
    let mut sig = vec![0i16; 800];
    sig.extend(dtmf_sequence("5", 9000, 200, -10.0).unwrap());
    let r = run(Rate::Hz8000, &sig);
    let events = by_event(&r.packets);
    assert_eq!(events.len(), 2, "two segments");
    let (ts1, seg1) = &events[0];
    let (ts2, seg2) = &events[1];
    assert_eq!(ts2.wrapping_sub(*ts1), 0xFFFF);
    assert!(seg1[0].marker);
    assert!(seg2.iter().all(|p| !p.marker));
    let last1 = parse(seg1.last().unwrap());
    assert_eq!(last1.duration, 0xFFFF);
    assert!(!last1.end);
    assert!(seg1.iter().all(|p| !parse(p).end));
    let end = parse(seg2.last().unwrap());
    assert!(end.end);
    let total = 0xFFFF + i64::from(end.duration);
    assert!((total - 72_000).abs() <= 40, "total {total}");
    // Updates every 50 ms over 9 s: about 180 packets, not one per frame.
    assert!(
        (170..=190).contains(&r.packets.len()),
        "{}",
        r.packets.len()
    );
}

#[test]
fn update_interval_is_configurable() {
    let mut sig = vec![0i16; 800];
    sig.extend(dtmf_sequence("7", 1000, 200, -10.0).unwrap());
    let mut relay = InbandToRfc4733::new(SenderConfig {
        update_interval_ms: 100,
        ..SenderConfig::new(Rate::Hz8000)
    });
    let mut out = AudioFrame::silence(Rate::Hz8000);
    let mut count = 0;
    for (k, chunk) in sig
        .chunks(160)
        .chain([[0i16; 160].as_slice(); 8])
        .enumerate()
    {
        let mut f = AudioFrame::silence(Rate::Hz8000);
        f.samples_mut()[..chunk.len()].copy_from_slice(chunk);
        relay.handle_inband(&f, (k * 160) as u32, &mut out);
        while relay.poll_telephone_event().is_some() {
            count += 1;
        }
    }
    // 1 s at 100 ms: start + ~9 updates + 3 ends.
    assert!((12..=14).contains(&count), "{count}");
}

#[test]
fn fast_quiet_dialling_over_noise_is_fully_suppressed_at_every_rate() {
    // Q.24's fastest dialling (40 ms on, 40 ms off) at −25 dBm0 per tone,
    // over −40 dBm0 noise; the digits start at an odd offset.
    let digits = "147*2580369#ABCD";
    let mut sig8 = vec![0i16; 1037];
    sig8.extend(dtmf_sequence(digits, 40, 40, -25.0).unwrap());
    sig8.extend(vec![0i16; 800]);
    let floor = noise(sig8.len(), 350.0, 11);
    let sig8: Vec<i16> = sig8
        .iter()
        .zip(&floor)
        .map(|(&s, &f)| s.saturating_add(f))
        .collect();
    assert_eq!(detect(&sig8).len(), digits.len());
    for rate in [Rate::Hz8000, Rate::Hz16000] {
        let sig = if rate == Rate::Hz8000 {
            sig8.clone()
        } else {
            resample_all(Rate::Hz8000, rate, &sig8)
        };
        let r = run(rate, &sig);
        let sent: String = by_event(&r.packets)
            .iter()
            .map(|(_, ps)| event_to_digit(parse(&ps[0]).event).unwrap())
            .collect();
        assert_eq!(sent, digits, "{rate:?}");
        assert_eq!(r.relay.counters().late_starts, 0);
        let out8 = if rate == Rate::Hz8000 {
            r.out
        } else {
            resample_all(rate, Rate::Hz8000, &r.out)
        };
        assert_eq!(detect(&out8), vec![], "{rate:?}");
        // Residual energy in the tone spans (edges aside): the noise floor
        // is gone too, so it is far below the tones.
        let (mut e_in, mut e_out) = (0.0f64, 0.0f64);
        for i in 0..digits.len() {
            let a = 1037 + i * 640 + 40;
            for (&x, &y) in sig8[a..a + 240].iter().zip(&out8[a..a + 240]) {
                e_in += f64::from(x).powi(2);
                e_out += f64::from(y).powi(2);
            }
        }
        let db = 10.0 * (e_out.max(1.0) / e_in).log10();
        assert!(db < -40.0, "{rate:?}: residual {db:.1} dB");
    }
}

#[test]
fn hostile_audio_never_panics() {
    for rate in [Rate::Hz8000, Rate::Hz48000] {
        let n = frame_len(rate);
        let mut relay = InbandToRfc4733::new(SenderConfig::new(rate));
        let mut out = AudioFrame::silence(rate);
        let junk = noise(n * 50, 32767.0, 3);
        for k in 0..200 {
            let mut f = AudioFrame::silence(rate);
            match k % 4 {
                0 => f.samples_mut().fill(i16::MIN),
                1 => f
                    .samples_mut()
                    .copy_from_slice(&junk[(k % 50) * n..(k % 50 + 1) * n]),
                2 => f = AudioFrame::silence(Rate::Hz16000), // wrong rate
                _ => {}
            }
            relay.handle_inband(&f, u32::MAX - k as u32, &mut out);
            while relay.poll_telephone_event().is_some() {}
            while relay.poll_event().is_some() {}
        }
    }
}
