//! Whisper (supervisor coaching) driven through a worker by phones sending
//! real RTP: caller, agent and supervisor share a conference, the
//! supervisor whispers to the agent, and the caller hears none of it while
//! the agent hears both; `SetWhisper { to: None }` lets everyone hear the
//! supervisor again. A whisper whose target left is heard by nobody.

mod rig;

use rig::{Phone, Rig, pcmu, pcmu_audio, sine, tone_amplitude};
use tandem_dataplane::command::{Command, CommandError, ConferenceId, LegId};

const CALLER: LegId = LegId(1);
const AGENT: LegId = LegId(2);
const SUPERVISOR: LegId = LegId(3);
/// Each party's tone, Hz, in the order caller, agent, supervisor.
const TONES: [f64; 3] = [500.0, 1100.0, 1700.0];
const AMPLITUDE: f64 = 3000.0;
const ROOM: ConferenceId = ConferenceId(7);

/// Caller, agent and supervisor phones, all in [`ROOM`].
fn call_center(rig: &mut Rig) -> Vec<Phone> {
    let phones = (0..3)
        .map(|i| {
            rig.leg(
                i + 1,
                20_000 + 2 * i as u16,
                &format!("10.0.0.{}:5004", 10 + i),
                pcmu(true),
            )
        })
        .collect();
    for leg in [CALLER, AGENT, SUPERVISOR] {
        rig.ok(Command::JoinConference {
            leg,
            conference: ROOM,
        });
    }
    phones
}

/// Everyone talks for `ticks` 20 ms ticks from tick `t0`; returns the
/// audio each phone heard, less the first 10 packets (the path filling up
/// after a change).
fn talk(rig: &mut Rig, phones: &mut [Phone], t0: usize, ticks: usize) -> Vec<Vec<i16>> {
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); phones.len()];
    for tick in t0..t0 + ticks {
        for (p, &hz) in phones.iter_mut().zip(&TONES) {
            p.send_pcmu(&sine(160, hz, AMPLITUDE, tick * 160));
        }
        rig.step();
        for (g, p) in got.iter_mut().zip(phones.iter()) {
            g.extend(p.received());
        }
    }
    got.iter()
        .enumerate()
        .map(|(i, packets)| {
            assert!(
                packets.len() >= ticks - 2,
                "phone {i} got {} packets in {ticks} ticks",
                packets.len()
            );
            pcmu_audio(&packets[10..])
        })
        .collect()
}

/// Asserts that phone `who` hears the parties in `hears` at their level
/// and none of the others.
fn assert_hears(heard: &[Vec<i16>], who: usize, hears: &[usize]) {
    for (party, &hz) in TONES.iter().enumerate() {
        let amp = tone_amplitude(&heard[who], hz, 8000.0);
        if hears.contains(&party) {
            assert!(
                (amp - AMPLITUDE).abs() < 300.0,
                "phone {who} hears party {party} ({hz} Hz) at {amp}, want {AMPLITUDE}"
            );
        } else {
            assert!(
                amp < 60.0,
                "phone {who} must not hear party {party} ({hz} Hz): {amp}"
            );
        }
    }
}

#[test]
fn the_caller_never_hears_the_supervisor_coaching_the_agent() {
    let mut rig = Rig::new();
    let mut phones = call_center(&mut rig);
    rig.ok(Command::SetWhisper {
        leg: SUPERVISOR,
        to: Some(AGENT),
    });
    let heard = talk(&mut rig, &mut phones, 0, 60);
    assert_hears(&heard, 0, &[1]); // the caller: the agent only
    assert_hears(&heard, 1, &[0, 2]); // the agent: caller and supervisor
    assert_hears(&heard, 2, &[0, 1]); // the supervisor: caller and agent

    // The supervisor barges in: everyone hears everyone again.
    rig.ok(Command::SetWhisper {
        leg: SUPERVISOR,
        to: None,
    });
    let heard = talk(&mut rig, &mut phones, 60, 40);
    assert_hears(&heard, 0, &[1, 2]);
    assert_hears(&heard, 1, &[0, 2]);
    assert_hears(&heard, 2, &[0, 1]);

    // And back to coaching.
    rig.ok(Command::SetWhisper {
        leg: SUPERVISOR,
        to: Some(AGENT),
    });
    let heard = talk(&mut rig, &mut phones, 100, 40);
    assert_hears(&heard, 0, &[1]);
    assert_hears(&heard, 1, &[0, 2]);
}

#[test]
fn a_whisper_whose_agent_left_is_heard_by_nobody() {
    let mut rig = Rig::new();
    let mut phones = call_center(&mut rig);
    rig.ok(Command::SetWhisper {
        leg: SUPERVISOR,
        to: Some(AGENT),
    });
    // The agent leaves and comes back: the supervisor's whisper does not
    // fall back to everyone (the caller must never hear it).
    rig.ok(Command::LeaveConference { leg: AGENT });
    rig.ok(Command::JoinConference {
        leg: AGENT,
        conference: ROOM,
    });
    let heard = talk(&mut rig, &mut phones, 0, 40);
    assert_hears(&heard, 0, &[1]);
    assert_hears(&heard, 1, &[0]);
    assert_hears(&heard, 2, &[0, 1]);
    // Coaching again once told so.
    rig.ok(Command::SetWhisper {
        leg: SUPERVISOR,
        to: Some(AGENT),
    });
    let heard = talk(&mut rig, &mut phones, 40, 40);
    assert_hears(&heard, 0, &[1]);
    assert_hears(&heard, 1, &[0, 2]);
}

#[test]
fn whisper_needs_two_members_of_one_conference() {
    let mut rig = Rig::new();
    let _phones = call_center(&mut rig);
    let _outsider = rig.leg(4, 20_010, "10.0.0.20:5004", pcmu(true));
    let whisper = |leg, to| Command::SetWhisper { leg, to: Some(to) };

    assert_eq!(
        rig.run(whisper(LegId(4), AGENT)),
        Err(CommandError::NotInConference(LegId(4)))
    );
    assert_eq!(
        rig.run(whisper(SUPERVISOR, LegId(4))),
        Err(CommandError::NotInConference(LegId(4)))
    );
    assert_eq!(
        rig.run(whisper(SUPERVISOR, LegId(99))),
        Err(CommandError::UnknownLeg(LegId(99)))
    );
    assert!(matches!(
        rig.run(whisper(SUPERVISOR, SUPERVISOR)),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(
        rig.run(Command::SetWhisper {
            leg: LegId(4),
            to: None
        }),
        Err(CommandError::NotInConference(LegId(4)))
    );
    // Another conference of the same session.
    rig.ok(Command::JoinConference {
        leg: LegId(4),
        conference: ConferenceId(8),
    });
    assert!(matches!(
        rig.run(whisper(SUPERVISOR, LegId(4))),
        Err(CommandError::Invalid(_))
    ));
    rig.ok(whisper(SUPERVISOR, AGENT));
}
