//! Conferences, prompts and recordings driven through a worker by phones
//! sending real RTP: each member hears the others and not itself, a prompt
//! replaces the far end's audio until it ends (or a digit barges in), and a
//! recording holds both directions of the call, one per channel.

mod rig;

use rig::{Rig, header, pcmu, pcmu_audio, sine, tone_amplitude};
use tandem_dataplane::command::{Command, ConferenceId, Event, LegId};
use tandem_dataplane::prompt::{PlayRequest, Prompt, Repeat};
use tandem_dataplane::recorder::{Recorder, RecorderConfig};
use tandem_dsp::g711;
use tandem_dsp::resample::Rate;
use tandem_dsp::wav::Wav;

#[test]
fn each_member_hears_the_others_but_not_itself() {
    let mut rig = Rig::new();
    let freqs = [500.0, 1100.0, 1700.0];
    let mut phones: Vec<_> = (0..3)
        .map(|i| {
            rig.leg(
                i + 1,
                20_000 + 2 * i as u16,
                &format!("10.0.0.{}:5004", 10 + i),
                pcmu(true),
            )
        })
        .collect();
    for i in 0..3 {
        rig.ok(Command::JoinConference {
            leg: LegId(i + 1),
            conference: ConferenceId(9),
        });
    }
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
    for tick in 0..60 {
        for (i, p) in phones.iter_mut().enumerate() {
            p.send_pcmu(&sine(160, freqs[i], 3000.0, tick * 160));
        }
        rig.step();
        for (i, p) in phones.iter().enumerate() {
            got[i].extend(p.received());
        }
    }
    for (i, packets) in got.iter().enumerate() {
        assert!(
            packets.len() >= 58,
            "member {i} got {} packets",
            packets.len()
        );
        let audio = pcmu_audio(&packets[10..]);
        for (j, &f) in freqs.iter().enumerate() {
            let amp = tone_amplitude(&audio, f, 8000.0);
            if i == j {
                assert!(amp < 60.0, "member {i} hears itself at {amp}");
            } else {
                assert!(
                    (amp - 3000.0).abs() < 300.0,
                    "member {i} hears {j} at {amp}"
                );
            }
        }
    }
    // Mute member 2: the others stop hearing 1100 Hz.
    rig.ok(Command::SetMute {
        leg: LegId(2),
        muted: true,
    });
    let mut after = Vec::new();
    for tick in 60..100 {
        for (i, p) in phones.iter_mut().enumerate() {
            p.send_pcmu(&sine(160, freqs[i], 3000.0, tick * 160));
        }
        rig.step();
        after.extend(phones[0].received());
        let _ = phones[1].received();
        let _ = phones[2].received();
    }
    let audio = pcmu_audio(&after[5..]);
    assert!(tone_amplitude(&audio, 1100.0, 8000.0) < 60.0);
    assert!(tone_amplitude(&audio, 1700.0, 8000.0) > 2500.0);
    assert!(
        rig.events().iter().any(|e| matches!(
            e,
            Event::LoudestSpeaker {
                conference: ConferenceId(9),
                ..
            }
        )),
        "loudest speaker reported"
    );
    // Leaving and kicking.
    rig.ok(Command::LeaveConference { leg: LegId(3) });
    assert!(rig.run(Command::LeaveConference { leg: LegId(3) }).is_err());
    rig.ok(Command::Kick { leg: LegId(1) });
}

#[test]
fn a_prompt_replaces_the_far_end_until_it_ends() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    let mut callee = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(true));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    let samples = sine(160 * 25, 440.0, 5000.0, 0);
    let prompt = Prompt::from_samples("welcome.wav", Rate::Hz8000, &samples);
    rig.ok(Command::PlayPrompt {
        leg: LegId(1),
        request: PlayRequest {
            prompt,
            repeat: Repeat::Times(1),
            barge_in: false,
        },
    });
    let mut got = Vec::new();
    for tick in 0..45 {
        callee.send_pcmu(&sine(160, 1300.0, 4000.0, tick * 160));
        caller.send_pcmu(&[0; 160]);
        rig.step();
        got.extend(caller.received());
        let _ = callee.received();
    }
    let audio = pcmu_audio(&got);
    // The first 25 frames are the prompt, exactly (through μ-law).
    let want: Vec<i16> = samples
        .iter()
        .map(|&x| g711::ulaw_decode(g711::ulaw_encode(x)))
        .collect();
    assert_eq!(
        &audio[..want.len()],
        &want[..],
        "prompt played sample for sample"
    );
    // Then the callee again.
    let rest = &audio[want.len() + 160..];
    assert!(tone_amplitude(rest, 1300.0, 8000.0) > 3500.0);
    assert!(tone_amplitude(rest, 440.0, 8000.0) < 60.0);
    // One continuous RTP stream across the switch.
    for w in got.windows(2) {
        assert_eq!(
            header(&w[1]).2,
            header(&w[0]).2.wrapping_add(1),
            "sequence continuous"
        );
        assert_eq!(header(&w[1]).4, header(&w[0]).4, "one SSRC");
    }
    let events = rig.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PromptDone {
            leg: LegId(1),
            barged_in: false
        }
    )));
}

#[test]
fn a_digit_barges_into_a_barge_in_prompt() {
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    let prompt = Prompt::from_samples("menu.wav", Rate::Hz8000, &sine(8000, 440.0, 5000.0, 0));
    rig.ok(Command::PlayPrompt {
        leg: LegId(1),
        request: PlayRequest {
            prompt,
            repeat: Repeat::Forever,
            barge_in: true,
        },
    });
    for tick in 0..20u32 {
        caller.send_pcmu(&[0; 160]);
        if tick == 10 {
            let ts = caller.ts;
            caller.send(101, true, ts, &[1, 0x8a, 0, 160]);
        }
        rig.step();
    }
    let events = rig.events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::PromptDone {
                leg: LegId(1),
                barged_in: true
            }
        )),
        "{events:?}"
    );
    let _ = caller.received();
}

#[test]
fn a_recording_holds_both_directions_one_per_channel() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-recording");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("call.wav");
    let mut rig = Rig::new();
    let mut caller = rig.leg(1, 20_000, "10.0.0.9:5004", pcmu(true));
    let mut callee = rig.leg(2, 20_002, "10.0.0.8:6000", pcmu(true));
    rig.ok(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    });
    let recorder = Recorder::create(&path, RecorderConfig::new(Rate::Hz8000)).unwrap();
    rig.ok(Command::StartRecording {
        leg: LegId(1),
        recorder: Box::new(recorder),
    });
    let mut said = Vec::new();
    let mut heard = Vec::new();
    for tick in 0..50 {
        let a = sine(160, 600.0, 3000.0, tick * 160);
        let b = sine(160, 1400.0, 3000.0, tick * 160);
        said.extend(a.iter().map(|&x| g711::ulaw_decode(g711::ulaw_encode(x))));
        heard.extend(b.iter().map(|&x| g711::ulaw_decode(g711::ulaw_encode(x))));
        caller.send_pcmu(&a);
        callee.send_pcmu(&b);
        rig.step();
        let _ = (caller.received(), callee.received());
    }
    rig.ok(Command::StopRecording { leg: LegId(1) });
    let join = rig
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::RecordingStopped {
                leg: LegId(1),
                join,
            } => Some(join),
            _ => None,
        })
        .expect("recording stopped");
    let summary = join.join().unwrap();
    assert_eq!(summary.frames, 50);
    let bytes = std::fs::read(&path).unwrap();
    let wav = Wav::parse(&bytes).unwrap();
    assert_eq!(wav.spec().channels, 2);
    let pcm = wav.decode();
    let left: Vec<i16> = pcm.iter().step_by(2).copied().collect();
    let right: Vec<i16> = pcm.iter().skip(1).step_by(2).copied().collect();
    // Left: what the caller said; right: what the caller heard (the
    // callee). Each sample for sample, after the jitter buffer's delay.
    let d_left = delay_of(&left, &said).expect("left channel is the caller, delayed");
    let d_right = delay_of(&right, &heard).expect("right channel is the callee, delayed");
    assert!(
        d_left <= 1600 && d_right <= 1600,
        "delays {d_left} and {d_right} samples (at most 200 ms)"
    );
}

/// The delay (a whole number of 20 ms frames, at most 10) after which
/// `recorded` equals `original` sample for sample over at least 30 frames.
fn delay_of(recorded: &[i16], original: &[i16]) -> Option<usize> {
    (0..=10).map(|f| f * 160).find(|&d| {
        let n = recorded.len().saturating_sub(d).min(original.len());
        n >= 30 * 160 && recorded[d..d + n] == original[..n]
    })
}
