//! RFC 4733 in (with retransmits, lost starts, lost ends, reordering), an
//! in-band tone out that a DTMF receiver hears exactly once per digit.

use tandem_dataplane::command::DtmfSource;
use tandem_dataplane::dtmf_relay::{
    InbandMode, InbandToRfc4733, ReceiverConfig, RelayError, RelayEvent, Rfc4733ToInband,
    SenderConfig,
};
use tandem_dataplane::frame::{AudioFrame, frame_len};
use tandem_dsp::dtmf::detect;
use tandem_dsp::resample::{Rate, resample_all};
use tandem_dsp::tone::dtmf_sequence;
use tandem_wire::telephone_event::{TelephoneEventRepr, digit_to_event};

/// A packet as it arrives: (tick, timestamp, marker, payload).
type Arrival = (usize, u32, bool, [u8; 4]);

fn pkt(digit: char, end: bool, duration: u16) -> [u8; 4] {
    let mut b = [0u8; 4];
    TelephoneEventRepr {
        event: digit_to_event(digit).unwrap(),
        end,
        volume: 10,
        duration,
    }
    .emit(&mut b)
    .unwrap();
    b
}

/// A well-behaved event: start at `tick`, an update every 20 ms, `frames`
/// frames long, then three end packets.
fn event(digit: char, ts: u32, tick: usize, frames: usize) -> Vec<Arrival> {
    let mut v = Vec::new();
    for k in 0..frames {
        v.push((
            tick + k,
            ts,
            k == 0,
            pkt(digit, false, (160 * (k + 1)) as u16),
        ));
    }
    for _ in 0..3 {
        v.push((
            tick + frames,
            ts,
            false,
            pkt(digit, true, (160 * frames) as u16),
        ));
    }
    v
}

/// Plays arrivals through a receiver for `ticks` frames of 8 kHz; returns
/// the audio and the events.
fn play(
    rx: &mut Rfc4733ToInband,
    arrivals: &[Arrival],
    ticks: usize,
) -> (Vec<i16>, Vec<RelayEvent>) {
    let mut audio = Vec::new();
    let mut events = Vec::new();
    for t in 0..ticks {
        for &(_, ts, m, p) in arrivals.iter().filter(|a| a.0 == t) {
            let _ = rx.handle_telephone_event(ts, m, &p);
        }
        let mut f = AudioFrame::silence(Rate::Hz8000);
        rx.fill_inband(&mut f);
        audio.extend_from_slice(f.samples());
        while let Some(e) = rx.poll_event() {
            events.push(e);
        }
    }
    (audio, events)
}

fn digits_of(d: &[tandem_dsp::dtmf::Digit]) -> String {
    d.iter().map(|d| d.digit).collect()
}

#[test]
fn impaired_event_stream_gives_each_digit_exactly_once() {
    let mut arrivals = Vec::new();
    // '1': clean, plus two late retransmits of the end.
    arrivals.extend(event('1', 1000, 5, 5));
    arrivals.push((12, 1000, false, pkt('1', true, 800)));
    arrivals.push((14, 1000, false, pkt('1', true, 800)));
    // '2': start lost (first two packets), marker never seen.
    let mut two = event('2', 5000, 20, 5);
    two.drain(..2);
    arrivals.extend(two);
    // '3': all end packets lost; nothing follows for a long time.
    let mut three = event('3', 9000, 35, 5);
    three.truncate(5);
    arrivals.extend(three);
    // '4': end packets lost, but '5' follows (the newer event ends it).
    let mut four = event('4', 20_000, 70, 5);
    four.truncate(5);
    arrivals.extend(four);
    arrivals.extend(event('5', 21_600, 82, 5));
    // '6': reordered updates, and a stale update after the end.
    let mut six = event('6', 30_000, 100, 5);
    (six[1].0, six[2].0) = (six[2].0, six[1].0);
    arrivals.extend(six);
    arrivals.push((108, 30_000, false, pkt('6', false, 480)));
    // '7': only one end packet survives.
    arrivals.push((120, 40_000, false, pkt('7', true, 400)));
    // A packet from '5' long after: ignored.
    arrivals.push((130, 21_600, false, pkt('5', false, 320)));

    let mut rx = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz8000)).unwrap();
    let (audio, events) = play(&mut rx, &arrivals, 150);
    assert_eq!(digits_of(&detect(&audio)), "1234567");

    let started: String = events
        .iter()
        .filter_map(|e| match e {
            RelayEvent::DigitStarted {
                digit,
                source: DtmfSource::Rfc4733,
            } => Some(*digit),
            _ => None,
        })
        .collect();
    let ended: Vec<(char, u32)> = events
        .iter()
        .filter_map(|e| match e {
            RelayEvent::DigitEnded {
                digit,
                source: DtmfSource::Rfc4733,
                duration_ms,
            } => Some((*digit, *duration_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(started, "1234567");
    assert_eq!(
        ended,
        vec![
            ('1', 100),
            ('2', 100),
            ('3', 100),
            ('4', 100),
            ('5', 100),
            ('6', 100),
            ('7', 50)
        ]
    );
    let c = rx.counters();
    assert_eq!(c.digits, 7);
    assert_eq!(c.watchdog_ends, 1);
    assert_eq!(c.lost_ends, 1);
    // 2 late '1' ends, 2 + 2 + 2 retransmitted ends, '6' stale update,
    // '5' long after.
    assert!(c.retransmits_ignored >= 8, "{c:?}");
    assert!(c.out_of_order >= 1, "{c:?}");
}

#[test]
fn short_events_play_at_least_40_ms() {
    let arrivals = vec![
        (2, 100, true, pkt('9', false, 40)),
        (2, 100, false, pkt('9', true, 80)),
    ];
    let mut rx = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz8000)).unwrap();
    let (audio, _) = play(&mut rx, &arrivals, 20);
    let toned = audio.iter().filter(|&&s| s != 0).count();
    assert!((315..=320).contains(&toned), "{toned} samples of tone");
    assert_eq!(digits_of(&detect(&audio)), "9");
}

#[test]
fn back_to_back_events_keep_a_gap_between_tones() {
    // '1' ends and '1' starts again at once (same key twice): two digits.
    let mut arrivals = event('1', 0, 1, 5);
    arrivals.extend(event('1', 960, 7, 5));
    let mut rx = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz8000)).unwrap();
    let (audio, _) = play(&mut rx, &arrivals, 30);
    assert_eq!(digits_of(&detect(&audio)), "11");
}

#[test]
fn bad_payloads_and_other_events() {
    let mut rx = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz8000)).unwrap();
    assert!(matches!(
        rx.handle_telephone_event(1, true, &[1, 2, 3]),
        Err(RelayError::Malformed(_))
    ));
    // Event 32 (a modem tone): not a digit, ignored.
    assert_eq!(
        rx.handle_telephone_event(1, true, &[32, 0x0a, 0, 160]),
        Ok(())
    );
    rx.handle_telephone_event(500, true, &pkt('3', false, 160))
        .unwrap();
    assert_eq!(
        rx.handle_telephone_event(500, false, &pkt('4', false, 320)),
        Err(RelayError::EventChanged {
            expected: 3,
            got: 4
        })
    );
    let c = rx.counters();
    assert_eq!(c.malformed, 2);
    assert_eq!(c.unsupported_events, 1);
    // Hostile payloads never panic.
    for b in 0..=255u8 {
        let _ = rx.handle_telephone_event(u32::from(b) * 7919, b & 1 == 0, &[b, b, b, b]);
        let mut f = AudioFrame::silence(Rate::Hz8000);
        rx.fill_inband(&mut f);
    }
}

#[test]
fn mix_mode_adds_the_tone_to_the_audio() {
    let mut rx = Rfc4733ToInband::new(ReceiverConfig {
        mode: InbandMode::Mix,
        ..ReceiverConfig::new(Rate::Hz8000)
    })
    .unwrap();
    rx.handle_telephone_event(0, true, &pkt('5', false, 160))
        .unwrap();
    let mut f = AudioFrame::silence(Rate::Hz8000);
    f.samples_mut().fill(1000);
    rx.fill_inband(&mut f);
    let mut g = AudioFrame::silence(Rate::Hz8000);
    let mut rx2 = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz8000)).unwrap();
    rx2.handle_telephone_event(0, true, &pkt('5', false, 160))
        .unwrap();
    g.samples_mut().fill(1000);
    rx2.fill_inband(&mut g);
    for (&m, &r) in f.samples().iter().zip(g.samples()) {
        assert_eq!(m, r.saturating_add(1000));
    }
}

#[test]
fn wideband_leg_gets_a_wideband_tone() {
    let mut rx = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz16000)).unwrap();
    let mut audio = Vec::new();
    for t in 0..20 {
        if t < 5 {
            let ts_units = (320 * (t + 1)) as u16;
            rx.handle_telephone_event(7, t == 0, &pkt('#', t == 4, ts_units))
                .unwrap();
        }
        let mut f = AudioFrame::silence(Rate::Hz16000);
        rx.fill_inband(&mut f);
        assert_eq!(f.samples().len(), frame_len(Rate::Hz16000));
        audio.extend_from_slice(f.samples());
    }
    let at8 = resample_all(Rate::Hz16000, Rate::Hz8000, &audio);
    assert_eq!(digits_of(&detect(&at8)), "#");
}

#[test]
fn sender_to_receiver_loopback_preserves_digits() {
    // In-band on leg A → RFC 4733 → in-band on leg B.
    let mut sig = vec![0i16; 800];
    sig.extend(dtmf_sequence("0815#", 80, 80, -12.0).unwrap());
    sig.extend(vec![0i16; 1600]);
    let mut tx = InbandToRfc4733::new(SenderConfig::new(Rate::Hz8000));
    let mut rx = Rfc4733ToInband::new(ReceiverConfig::new(Rate::Hz8000)).unwrap();
    let mut fwd = AudioFrame::silence(Rate::Hz8000);
    let mut leg_b = Vec::new();
    for (k, chunk) in sig.chunks(160).enumerate() {
        let mut f = AudioFrame::silence(Rate::Hz8000);
        f.samples_mut()[..chunk.len()].copy_from_slice(chunk);
        tx.handle_inband(
            &f,
            4_000_000_000u32.wrapping_add((k * 160) as u32),
            &mut fwd,
        );
        while let Some(p) = tx.poll_telephone_event() {
            rx.handle_telephone_event(p.timestamp, p.marker, &p.payload)
                .unwrap();
        }
        let mut out = fwd.clone();
        rx.fill_inband(&mut out);
        leg_b.extend_from_slice(out.samples());
    }
    assert_eq!(digits_of(&detect(&leg_b)), "0815#");
    assert_eq!(rx.counters().retransmits_ignored, 10);
}
