//! A bridge between a PCMU leg and a G.722 leg transcodes in both
//! directions: what comes out is exactly what the codec chain produces from
//! what went in (compared byte by byte with a reference `Transcoder`), in one
//! continuous RTP stream, with telephone events passed through.

mod rig;

use rig::{TestIo, TestNet, TestSocket};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};
use tandem_dataplane::codec::{Codec, Transcoder};
use tandem_dataplane::command::{
    Command, Event, LegConfig, LegId, MediaFormat, RequestId, SessionId,
};
use tandem_dataplane::worker::{QueuedCommand, Worker};
use tandem_dsp::g711;

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn fields(p: &[u8]) -> (u8, u16, u32, u32) {
    (
        p[1] & 0x7f,
        u16::from_be_bytes([p[2], p[3]]),
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
    )
}

struct Rig {
    worker: Worker<TestIo>,
    commands: Sender<QueuedCommand>,
    now: Instant,
    pcmu_phone: TestSocket,
    g722_phone: TestSocket,
}

const PCMU_PORT: &str = "10.0.0.1:30000";
const G722_PORT: &str = "10.0.0.1:30002";

fn rig() -> Rig {
    rig_with(false)
}

fn rig_with(jitter_buffer: bool) -> Rig {
    let net = TestNet::new();
    let (commands, rx) = bounded(16);
    let (etx, events) = bounded(1024);
    let mut worker = rig::worker_on(&net, rx, etx);
    worker.set_transcode_jitter_buffer(jitter_buffer);
    let pcmu_phone = net.socket(a("10.0.0.9:5004")).unwrap();
    let g722_phone = net.socket(a("10.0.0.8:6000")).unwrap();
    let leg = |local: &str, remote: &str, format| LegConfig {
        local: a(local),
        remote: Some(a(remote)),
        latch: false,
        format,
        rtp_timeout_secs: 0,
    };
    let cmds = [
        Command::CreateLeg {
            leg: LegId(1),
            session: SessionId(1),
            config: leg(PCMU_PORT, "10.0.0.9:5004", MediaFormat::new(Codec::Pcmu, 0)),
        },
        Command::CreateLeg {
            leg: LegId(2),
            session: SessionId(1),
            config: leg(G722_PORT, "10.0.0.8:6000", MediaFormat::new(Codec::G722, 9)),
        },
        Command::Bridge {
            a: LegId(1),
            b: LegId(2),
        },
    ];
    let now = Instant::now();
    for (i, c) in cmds.into_iter().enumerate() {
        commands.send((RequestId(i as u64), c)).unwrap();
    }
    worker.turn(now);
    for e in events.try_iter() {
        if let Event::Done { result, .. } = e {
            result.expect("setup succeeds");
        }
    }
    Rig {
        worker,
        commands,
        now,
        pcmu_phone,
        g722_phone,
    }
}

fn sine(n: usize, freq: f64, amp: f64, rate: f64) -> Vec<i16> {
    (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin()) as i16)
        .collect()
}

#[test]
fn pcmu_to_g722_matches_the_reference_chain_packet_for_packet() {
    let mut r = rig();
    let pcm = sine(160 * 50, 1000.0, 8000.0, 8000.0);
    let mut reference = Transcoder::new(Codec::Pcmu, Codec::G722, 20).unwrap();
    let mut want = Vec::new();
    let mut got = Vec::new();
    let mut scratch = [0u8; 2048];
    for (i, chunk) in pcm.chunks(160).enumerate() {
        let mut payload = vec![0u8; 160];
        g711::encode_ulaw(chunk, &mut payload);
        reference.push_payload(&payload).unwrap();
        while let Some(n) = reference.poll_payload(&mut scratch).unwrap() {
            want.push(scratch[..n].to_vec());
        }
        r.pcmu_phone.send_to(
            &rtp(0, 100 + i as u16, 1000 + 160 * i as u32, &payload),
            a(PCMU_PORT),
        );
        r.now += Duration::from_millis(20);
        r.worker.turn(r.now);
        while let Some((from, p)) = r.g722_phone.try_recv() {
            assert_eq!(from, a(G722_PORT));
            got.push(p);
        }
    }
    assert_eq!(got.len(), want.len());
    assert!(got.len() >= 49, "{} packets", got.len());
    let (_, seq0, ts0, ssrc0) = fields(&got[0]);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let (pt, seq, ts, ssrc) = fields(g);
        assert_eq!(pt, 9);
        assert_eq!(ssrc, ssrc0);
        assert_eq!(seq, seq0.wrapping_add(i as u16));
        assert_eq!(
            ts,
            ts0.wrapping_add(160 * i as u32),
            "G.722 RTP clock is 8 kHz"
        );
        assert_eq!(
            &g[12..],
            &w[..],
            "packet {i} differs from the reference chain"
        );
        assert_eq!(g.len(), 12 + 160);
    }
}

#[test]
fn g722_to_pcmu_carries_the_tone_and_a_lost_packet_advances_the_clock() {
    let mut r = rig();
    let pcm16 = sine(320 * 30, 700.0, 6000.0, 16000.0);
    let mut enc = tandem_dsp::g722::Encoder::new();
    let mut got = Vec::new();
    for (i, chunk) in pcm16.chunks(320).enumerate() {
        let mut payload = vec![0u8; 160];
        enc.encode(chunk, &mut payload);
        if i == 20 {
            continue; // lost on the way in
        }
        r.g722_phone
            .send_to(&rtp(9, i as u16, 160 * i as u32, &payload), a(G722_PORT));
        r.now += Duration::from_millis(20);
        r.worker.turn(r.now);
        while let Some((_, p)) = r.pcmu_phone.try_recv() {
            got.push(p);
        }
    }
    assert_eq!(got.len(), 29);
    let ts: Vec<u32> = got.iter().map(|p| fields(p).2).collect();
    for i in 1..ts.len() {
        let step = ts[i].wrapping_sub(ts[i - 1]);
        assert_eq!(step, if i == 20 { 320 } else { 160 }, "packet {i}");
    }
    // The decoded output is a 700 Hz tone at about the input level.
    let mut pcm8 = Vec::new();
    for p in &got[5..] {
        let mut s = vec![0i16; p.len() - 12];
        g711::decode_ulaw(&p[12..], &mut s);
        pcm8.extend(s);
    }
    let n = pcm8.len() as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &x) in pcm8.iter().enumerate() {
        let w = 2.0 * std::f64::consts::PI * 700.0 * i as f64 / 8000.0;
        re += f64::from(x) * w.cos();
        im += f64::from(x) * w.sin();
    }
    let amp = 2.0 * (re * re + im * im).sqrt() / n;
    assert!((amp - 6000.0).abs() < 600.0, "700 Hz amplitude {amp}");
}

#[test]
fn telephone_events_cross_a_transcoded_bridge_in_sequence() {
    let mut r = rig();
    let mut got = Vec::new();
    for i in 0..5u16 {
        let payload = vec![0xFFu8; 160];
        r.pcmu_phone
            .send_to(&rtp(0, i, 160 * u32::from(i), &payload), a(PCMU_PORT));
        r.now += Duration::from_millis(20);
        r.worker.turn(r.now);
    }
    // Digit 5 starting at the next audio packet's timestamp.
    r.pcmu_phone
        .send_to(&rtp(101, 5, 800, &[5, 0x0a, 0, 160]), a(PCMU_PORT));
    r.now += Duration::from_millis(20);
    r.worker.turn(r.now);
    while let Some((_, p)) = r.g722_phone.try_recv() {
        got.push(p);
    }
    let last = got.last().unwrap();
    let prev = &got[got.len() - 2];
    let (pt, seq, ts, _) = fields(last);
    assert_eq!(pt, 101);
    assert_eq!(&last[12..], &[5, 0x0a, 0, 160]);
    assert_eq!(seq, fields(prev).1.wrapping_add(1));
    assert_eq!(
        ts,
        fields(prev).2.wrapping_add(160),
        "event aligned with the audio clock"
    );
    drop(r.commands);
}

#[test]
fn with_the_jitter_buffer_reordering_and_loss_do_not_break_the_output() {
    let mut r = rig_with(true);
    let pcm = sine(160 * 60, 1000.0, 6000.0, 8000.0);
    let payloads: Vec<Vec<u8>> = pcm
        .chunks(160)
        .map(|c| {
            let mut p = vec![0u8; 160];
            g711::encode_ulaw(c, &mut p);
            p
        })
        .collect();
    let mut got = Vec::new();
    for tick in 0..70usize {
        // Packet 20 is lost; 30 and 31 arrive swapped.
        let send = |r: &Rig, i: usize| {
            r.pcmu_phone.send_to(
                &rtp(0, i as u16, 160 * i as u32, &payloads[i]),
                a(PCMU_PORT),
            );
        };
        match tick {
            20 => {}
            30 => send(&r, 31),
            31 => send(&r, 30),
            t if t < 60 => send(&r, t),
            _ => {}
        }
        r.now += Duration::from_millis(20);
        r.worker.turn(r.now);
        while let Some((_, p)) = r.g722_phone.try_recv() {
            got.push(p);
        }
    }
    // One packet per 20 ms tick from the first output on, numbered and
    // timed without a hole, whatever the input did.
    let audio: Vec<&Vec<u8>> = got.iter().filter(|p| fields(p).0 == 9).collect();
    assert!(audio.len() >= 60, "{} packets", audio.len());
    for w in audio.windows(2) {
        assert_eq!(fields(w[1]).1, fields(w[0]).1.wrapping_add(1));
        assert_eq!(fields(w[1]).2, fields(w[0]).2.wrapping_add(160));
    }
    // The lost packet was concealed: the decoded 16 kHz output carries the
    // tone in every 20 ms frame of the talk spurt (no silent frame).
    let mut dec = tandem_dsp::g722::Decoder::new();
    let mut pcm16 = Vec::new();
    for p in &audio {
        let mut s = vec![0i16; 320];
        dec.decode(&p[12..], &mut s);
        pcm16.extend(s);
    }
    let frames: Vec<f64> = pcm16
        .chunks(320)
        .map(|f| (f.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / 320.0).sqrt())
        .collect();
    let first = frames
        .iter()
        .position(|&e| e > 1000.0)
        .expect("the tone comes through");
    let last = frames.iter().rposition(|&e| e > 1000.0).unwrap();
    assert!(
        last - first >= 55,
        "talk spurt of {} frames",
        last - first + 1
    );
    for (i, e) in frames[first..=last].iter().enumerate() {
        assert!(
            *e > 1000.0,
            "frame {} of the spurt is a hole (rms {e:.0})",
            i
        );
    }
}
