//! A call between a phone that signals DTMF in-band and one that uses RFC
//! 4733: digits are translated both ways, reported to the control plane, and
//! the in-band tone never reaches the RFC 4733 side as audio.

mod rig;

use rig::{Rig, header, pcmu, pcmu_audio};
use tandem_dataplane::command::{Command, DtmfSource, Event, LegId};
use tandem_dsp::{dtmf, tone};
use tandem_wire::telephone_event::{TelephoneEventPacket, event_to_digit};

#[test]
fn inband_digits_become_rfc4733_and_the_tone_is_removed() {
    let mut rig = Rig::new();
    let mut inband = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(false));
    let rfc = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(true));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });

    // Speech-level noise, then "159" dialled in-band, then more noise.
    let mut pcm: Vec<i16> = (0..8000)
        .map(|i| ((i * 7919 % 2001) as i16 - 1000) / 4)
        .collect();
    pcm.extend(tone::dtmf_sequence("159", 100, 100, -10.0).unwrap());
    pcm.extend(vec![0i16; 8000]);
    let mut got = Vec::new();
    for chunk in pcm.chunks(160).filter(|c| c.len() == 160) {
        inband.send_pcmu(chunk);
        rig.step();
        got.extend(rfc.received());
    }
    // Digits as telephone events: one per distinct timestamp with the E bit.
    let mut digits = String::new();
    let mut ended = std::collections::HashSet::new();
    for p in got.iter().filter(|p| header(p).1 == 101) {
        let ev = TelephoneEventPacket::new_checked(&p[12..]).unwrap();
        if ev.end() && ended.insert(header(p).3) {
            digits.push(event_to_digit(ev.event()).unwrap());
        }
    }
    assert_eq!(digits, "159");
    // The audio that reached the RFC 4733 side carries no DTMF at all.
    let audio = pcmu_audio(&got);
    assert!(
        audio.len() >= pcm.len() - 160 * 4,
        "audio flowed: {} samples",
        audio.len()
    );
    assert_eq!(dtmf::detect(&audio), vec![], "in-band tone leaked");
    // One sequence: numbering continuous across audio and events.
    for w in got.windows(2) {
        assert_eq!(header(&w[1]).2, header(&w[0]).2.wrapping_add(1));
    }
    let reported: String = rig
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Dtmf {
                leg: LegId(1),
                digit,
                source: DtmfSource::InBand,
                ..
            } => Some(digit),
            _ => None,
        })
        .collect();
    assert_eq!(reported, "159");
}

#[test]
fn rfc4733_digits_are_played_in_band_to_the_other_side() {
    let mut rig = Rig::new();
    let inband = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(false));
    let mut rfc = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(true));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    let mut got = Vec::new();
    let silence = [0i16; 160];
    for tick in 0..60u32 {
        rfc.send_pcmu(&silence);
        // Digit 7 (event 7) from tick 10 for 120 ms, end sent three times.
        if (10..=16).contains(&tick) {
            let start = rfc.ts - 160 * (tick - 10 + 1);
            let dur = ((tick - 10 + 1) * 160).min(960) as u16;
            let end = tick == 16;
            let payload = [
                7u8,
                if end { 0x8a } else { 0x0a },
                (dur >> 8) as u8,
                dur as u8,
            ];
            let repeats = if end { 3 } else { 1 };
            for _ in 0..repeats {
                rfc.send(101, tick == 10, start, &payload);
            }
        }
        rig.step();
        got.extend(inband.received());
    }
    let audio = pcmu_audio(&got);
    let heard: String = dtmf::detect(&audio).iter().map(|d| d.digit).collect();
    assert_eq!(heard, "7");
    assert!(
        got.iter().all(|p| header(p).1 == 0),
        "no events towards the in-band phone"
    );
    let reported: Vec<Event> = rig.events();
    assert!(
        reported.iter().any(|e| matches!(
            e,
            Event::Dtmf {
                leg: LegId(2),
                digit: '7',
                source: DtmfSource::Rfc4733,
                ..
            }
        )),
        "{reported:?}"
    );
}
