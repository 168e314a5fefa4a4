//! A worker fed a seeded storm of hostile datagrams (random bytes, mutated
//! RTP and RTCP, strangers, every port) interleaved with random commands in
//! any order never panics, and still relays cleanly afterwards.

mod rig;

use rig::{Rig, addr, header, pcmu};
use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{Command, ConferenceId, LegId, MediaFormat};
use tandem_dataplane::prompt::{PlayRequest, Prompt, Repeat};
use tandem_dsp::resample::Rate;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_storm_never_panics_and_the_call_recovers() {
    let mut rig = Rig::new();
    let formats = [
        pcmu(true),
        pcmu(false),
        MediaFormat::new(Codec::Pcma, 8),
        MediaFormat::new(Codec::G722, 9),
    ];
    let mut phones: Vec<_> = (0..4)
        .map(|i| {
            rig.leg(
                i + 1,
                20_000 + 2 * i as u16,
                &format!("10.0.0.{}:5004", 10 + i),
                formats[i as usize],
            )
        })
        .collect();
    let stranger = rig.net.socket(addr("10.9.9.9:7000")).unwrap();
    let mut rng = XorShift(0x5EED_0F7A_4DE4);
    let prompt = Prompt::from_samples("storm.wav", Rate::Hz8000, &[1000; 800]);
    let mut valid = vec![0x80u8, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
    valid.extend_from_slice(&[0x55; 160]);
    for round in 0..3000u32 {
        // A datagram: random, mutated RTP, or RTCP-looking.
        let kind = rng.below(4);
        let mut p = match kind {
            0 => (0..rng.below(300))
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>(),
            1 | 2 => {
                let mut v = valid.clone();
                for _ in 0..rng.below(6) {
                    let i = rng.below(v.len() as u64) as usize;
                    v[i] = rng.next() as u8;
                }
                v.truncate(rng.below(v.len() as u64 + 1) as usize);
                v
            }
            _ => {
                let mut v = vec![0x80 | (rng.below(32) as u8), 200 + rng.below(8) as u8];
                v.extend((0..rng.below(80)).map(|_| rng.next() as u8));
                v
            }
        };
        if p.len() > 2 && rng.below(3) == 0 {
            p[1] = (p[1] & 0x80) | [0, 8, 9, 101][rng.below(4) as usize];
        }
        let port = 20_000 + rng.below(10) as u16;
        let target = addr(&format!("10.0.0.1:{port}"));
        if rng.below(5) == 0 {
            stranger.send_to(&p, target);
        } else {
            let i = rng.below(4) as usize;
            phones[i].socket.send_to(&p, target);
        }
        // Now and then, a random command (results are irrelevant; panics are not).
        if rng.below(8) == 0 {
            let a = LegId(1 + rng.below(5));
            let b = LegId(1 + rng.below(5));
            let cmd = match rng.below(12) {
                0 => Command::Bridge { a, b },
                1 => Command::Unbridge { leg: a },
                2 => Command::JoinConference {
                    leg: a,
                    conference: ConferenceId(rng.below(2)),
                },
                3 => Command::LeaveConference { leg: a },
                4 => Command::SetGain {
                    leg: a,
                    gain_db: (rng.below(200) as f32) - 100.0,
                },
                5 => Command::PlayPrompt {
                    leg: a,
                    request: PlayRequest {
                        prompt: prompt.clone(),
                        repeat: Repeat::Times(2),
                        barge_in: true,
                    },
                },
                6 => Command::SendDtmf {
                    leg: a,
                    digit: ['1', '#', 'D', 'z'][rng.below(4) as usize],
                    duration_ms: 60,
                },
                7 => Command::ModifyLeg {
                    leg: a,
                    remote: None,
                    format: Some(formats[rng.below(4) as usize]),
                },
                8 => Command::StopPrompt { leg: a },
                9 => Command::SetMute {
                    leg: a,
                    muted: rng.below(2) == 0,
                },
                10 => Command::SetWhisper {
                    leg: a,
                    to: (rng.below(3) != 0).then_some(b),
                },
                _ => Command::QueryLeg { leg: a },
            };
            let _ = rig.run(cmd);
        }
        if round % 3 == 0 {
            rig.step();
        }
        for p in &phones {
            let _ = p.received();
        }
    }
    let c = rig.worker.counters();
    let received = c.get(tandem_dataplane::metrics::Counter::RxPackets);
    let dropped: u64 = tandem_dataplane::metrics::DropReason::ALL
        .iter()
        .map(|r| c.drops(*r))
        .sum();
    assert!(received >= 2000, "the storm reached the worker: {received}");
    assert!(
        dropped >= 1000,
        "and most of it was dropped, counted: {dropped}"
    );
    // Put two legs back in a plain bridge: valid RTP flows again.
    for l in 1..=4 {
        let _ = rig.run(Command::LeaveConference { leg: LegId(l) });
        let _ = rig.run(Command::StopPrompt { leg: LegId(l) });
        let _ = rig.run(Command::ModifyLeg {
            leg: LegId(l),
            remote: None,
            format: Some(pcmu(true)),
        });
    }
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    for _ in 0..10 {
        rig.step();
    }
    let _ = phones[1].received();
    let mut got = 0;
    for i in 0..20u16 {
        let mut p = valid.clone();
        p[2..4].copy_from_slice(&(5000 + i).to_be_bytes());
        p[8..12].copy_from_slice(&0xBEEFu32.to_be_bytes());
        phones[0].socket.send_to(&p, phones[0].engine_port);
        rig.step();
        got += phones[1]
            .received()
            .iter()
            .filter(|p| header(p).1 == 0)
            .count();
    }
    assert!(got >= 15, "the call recovered: {got} of 20 packets relayed");
    let _ = &mut phones;
}
