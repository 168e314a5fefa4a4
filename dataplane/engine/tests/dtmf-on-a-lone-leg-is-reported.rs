//! A leg bridged to nothing (a caller in an IVR or waiting in a queue)
//! still reports the digits it receives, as RFC 4733 events or in-band
//! tones, and sends nothing back while it has nothing to play.

mod rig;

use rig::{Rig, pcmu};
use tandem_dataplane::command::{DtmfSource, Event};
use tandem_dsp::tone;
use tandem_wire::telephone_event::{TelephoneEventRepr, digit_to_event};

fn digits(events: Vec<Event>) -> Vec<(char, DtmfSource)> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Dtmf { digit, source, .. } => Some((digit, source)),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc4733_events_on_a_lone_leg_are_reported_once() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    // "7": three packets of one event (the last with E), end repeated.
    let ts = caller.ts;
    for (i, end) in [(0u16, false), (1, false), (2, true), (3, true)] {
        let repr = TelephoneEventRepr {
            event: digit_to_event('7').unwrap(),
            end,
            volume: 10,
            duration: 400 * (i + 1),
        };
        let mut payload = [0u8; 4];
        repr.emit(&mut payload).unwrap();
        caller.send(101, i == 0, ts, &payload);
        rig.step();
    }
    for _ in 0..5 {
        rig.step();
    }
    assert_eq!(digits(rig.events()), [('7', DtmfSource::Rfc4733)]);
    assert!(caller.received().is_empty(), "a silent lone leg sent audio");
}

#[test]
fn inband_digits_on_a_lone_leg_are_detected() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(false));
    let mut pcm = vec![0i16; 1600];
    pcm.extend(tone::dtmf_sequence("42", 100, 100, -10.0).unwrap());
    pcm.extend(vec![0i16; 3200]);
    for chunk in pcm.chunks(160).filter(|c| c.len() == 160) {
        caller.send_pcmu(chunk);
        rig.step();
    }
    assert_eq!(
        digits(rig.events()),
        [('4', DtmfSource::InBand), ('2', DtmfSource::InBand)]
    );
    assert!(caller.received().is_empty(), "a silent lone leg sent audio");
}
