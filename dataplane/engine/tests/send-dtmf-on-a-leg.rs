//! `SendDtmf` sends a digit the way the leg negotiated: RFC 4733 events
//! (§2.5.1: marker on the first, one timestamp, growing duration, three end
//! packets) in the leg's RTP numbering, or in-band tones when the leg has
//! no telephone-event.

mod rig;

use rig::{Rig, header, pcmu, pcmu_audio};
use tandem_dataplane::command::{Command, LegId};
use tandem_dsp::dtmf;
use tandem_wire::telephone_event::TelephoneEventPacket;

#[test]
fn a_digit_goes_out_as_rfc4733_events() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    let callee = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(true));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    let mut got = Vec::new();
    for tick in 0..30 {
        caller.send_pcmu(&[0; 160]);
        if tick == 10 {
            rig.ok(Command::SendDtmf {
                leg: LegId(2),
                digit: '#',
                duration_ms: 100,
            });
        }
        rig.step();
        got.extend(callee.received());
    }
    let events: Vec<&Vec<u8>> = got.iter().filter(|p| header(p).1 == 101).collect();
    assert!(events.len() >= 7, "{} event packets", events.len());
    let ts0 = header(events[0]).3;
    assert!(header(events[0]).0, "marker on the first packet");
    let mut last_duration = 0;
    for (i, p) in events.iter().enumerate() {
        assert_eq!(header(p).3, ts0, "one timestamp for the whole event");
        assert!(i == 0 || !header(p).0, "marker only on the first");
        let ev = TelephoneEventPacket::new_checked(&p[12..]).unwrap();
        assert_eq!(ev.event(), 11, "'#' is event 11");
        assert!(ev.duration() >= last_duration);
        last_duration = ev.duration();
    }
    let ends = events
        .iter()
        .filter(|p| TelephoneEventPacket::new_checked(&p[12..]).unwrap().end())
        .count();
    assert_eq!(ends, 3, "end packet sent three times");
    assert_eq!(last_duration, 800, "100 ms at 8 kHz");
    // One RTP stream: sequence numbers continuous through audio and events.
    for w in got.windows(2) {
        assert_eq!(header(&w[1]).2, header(&w[0]).2.wrapping_add(1));
    }
    // The event starts on the audio clock, within a packet of the audio
    // sent around it.
    let before = got.iter().take_while(|p| header(p).1 == 0).last().unwrap();
    let gap = ts0.wrapping_sub(header(before).3) as i32;
    assert!(
        gap.abs() <= 320,
        "event starts {gap} units from the last audio packet"
    );
}

#[test]
fn a_digit_goes_out_in_band_without_telephone_event() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(false));
    let callee = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(false));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    let mut got = Vec::new();
    for tick in 0..40 {
        caller.send_pcmu(&[0; 160]);
        if tick == 10 {
            rig.ok(Command::SendDtmf {
                leg: LegId(2),
                digit: '8',
                duration_ms: 120,
            });
        }
        rig.step();
        got.extend(callee.received());
    }
    let heard: String = dtmf::detect(&pcmu_audio(&got))
        .iter()
        .map(|d| d.digit)
        .collect();
    assert_eq!(heard, "8");
    assert!(
        rig.run(Command::SendDtmf {
            leg: LegId(2),
            digit: 'x',
            duration_ms: 100
        })
        .is_err()
    );
}
