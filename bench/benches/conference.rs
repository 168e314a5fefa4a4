//! Conference mixing throughput: how many G.711 members one core mixes in
//! real time.
//!
//! 1,000 conferences of 3 to 10 members (6,500 members), all A-law at
//! 8 kHz. One tick, for every conference: each member's 160-octet frame is
//! decoded ([`tandem_dsp::g711::decode_alaw`]) and put, the conference
//! mixes (N−1 sums, gain, soft limiter, loudest-speaker tracking), and each
//! member's output is encoded back to A-law. Members carry speech-like
//! content at a mix of levels, one in three silent, so the limiter and
//! the speaker detector see realistic work. A tick is 20 ms of audio for
//! every member, so `members × 20 ms / (time per tick)` is the number of
//! members one core keeps up with in real time.
//!
//! A second row does the same with one 16 kHz (linear) member per room, so
//! every room mixes at 16 kHz and each G.711 member is resampled in and
//! out: the cost of a wideband participant.
//!
//! There is no peer system for this one; the table prints Tandem's figure
//! against the target (5,000 members per core).
//!
//! `cargo bench -p tandem-bench --bench conference`
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use tandem_bench::{human, throughput};
use tandem_dataplane::frame::AudioFrame;
use tandem_dataplane::mixer::{Conference, ConferenceConfig, MemberId};
use tandem_dsp::g711;
use tandem_dsp::resample::{Rate, resample_all};

const CONFERENCES: usize = 1000;
const FRAME: usize = 160;
/// Distinct frames per member, replayed in a loop.
const FRAMES: usize = 16;
/// The target: members mixed per core in real time.
const TARGET: f64 = 5000.0;

/// xorshift64: deterministic content without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A member's A-law frames: band-limited noise with a syllable envelope,
/// or silence for one member in three.
fn member_frames(seed: u64) -> Vec<[u8; FRAME]> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let silent = seed % 3 == 0;
    let level = 2000.0 + 10000.0 * rng.next();
    let (mut y1, mut y2) = (0.0f64, 0.0f64);
    let mut out = Vec::with_capacity(FRAMES);
    for f in 0..FRAMES {
        let mut pcm = [0i16; FRAME];
        for (i, s) in pcm.iter_mut().enumerate() {
            let t = (f * FRAME + i) as f64 / 8000.0;
            let env = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin()).powi(2);
            // Two-pole resonator around 700 Hz driven by noise.
            let x = rng.next() - 0.5;
            let y = x + 1.6 * y1 - 0.81 * y2;
            (y1, y2) = (y, y1);
            let v = if silent { 0.0 } else { level * env * y / 4.0 };
            *s = v.round().clamp(-32768.0, 32767.0) as i16;
        }
        let mut code = [0u8; FRAME];
        g711::encode_alaw(&pcm, &mut code);
        out.push(code);
    }
    out
}

struct Room {
    conf: Conference,
    /// Each member: id, and its frames as A-law (8 kHz) or linear (16 kHz).
    members: Vec<(MemberId, Input)>,
}

enum Input {
    Alaw(Vec<[u8; FRAME]>),
    Wide(Vec<AudioFrame>),
}

/// `CONFERENCES` rooms of 3..=10 members; with `wideband`, the first member
/// of each room is at 16 kHz, so the room mixes at 16 kHz and every G.711
/// member is resampled in and out.
fn rooms(wideband: bool) -> (Vec<Room>, usize) {
    let mut rooms: Vec<Room> = Vec::with_capacity(CONFERENCES);
    let mut total_members = 0usize;
    for r in 0..CONFERENCES {
        let size = 3 + r % 8; // 3..=10, mean 6.5
        let mut conf = Conference::new(ConferenceConfig {
            max_members: 10,
            ..Default::default()
        });
        let mut members = Vec::with_capacity(size);
        for m in 0..size {
            let id = MemberId((r * 16 + m) as u32);
            let alaw = member_frames((r * 16 + m) as u64);
            let input = if wideband && m == 0 {
                conf.add_member(id, Rate::Hz16000).expect("room has space");
                Input::Wide(
                    alaw.iter()
                        .map(|code| {
                            let mut pcm = [0i16; FRAME];
                            g711::decode_alaw(code, &mut pcm);
                            let wide = resample_all(Rate::Hz8000, Rate::Hz16000, &pcm);
                            let mut f = AudioFrame::silence(Rate::Hz16000);
                            f.samples_mut()[..wide.len()].copy_from_slice(&wide);
                            f
                        })
                        .collect(),
                )
            } else {
                conf.add_member(id, Rate::Hz8000).expect("room has space");
                Input::Alaw(alaw)
            };
            members.push((id, input));
        }
        total_members += size;
        rooms.push(Room { conf, members });
    }
    (rooms, total_members)
}

/// One 20 ms tick of every room: decode, put, mix, encode.
fn tick(rooms: &mut [Room], t: usize, sent: &mut u64) {
    let f = t % FRAMES;
    let mut frame = AudioFrame::silence(Rate::Hz8000);
    let mut encoded = [0u8; FRAME];
    for room in rooms.iter_mut() {
        for (id, input) in &room.members {
            match input {
                Input::Alaw(frames) => {
                    g711::decode_alaw(black_box(&frames[f]), frame.samples_mut());
                    room.conf.put(*id, &frame).expect("member of this room");
                }
                Input::Wide(frames) => {
                    room.conf.put(*id, &frames[f]).expect("member of this room");
                }
            }
        }
        room.conf.mix(|_, out| {
            if out.rate() == Rate::Hz8000 {
                g711::encode_alaw(out.samples(), &mut encoded);
                *sent += u64::from(black_box(encoded[0]));
            } else {
                *sent += black_box(out.samples()[0]) as u64;
            }
        });
        while room.conf.poll_event().is_some() {}
    }
}

fn main() {
    let (mut narrow, total_members) = rooms(false);
    let mut t = 0usize;
    let mut sent = 0u64;
    let mut one_tick = || {
        tick(&mut narrow, t, &mut sent);
        t += 1;
    };

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    {
        let mut g = c.benchmark_group(format!(
            "conference: {CONFERENCES} rooms, {total_members} G.711 members, one 20 ms tick"
        ));
        g.throughput(Throughput::Elements(total_members as u64));
        g.bench_function("decode + put + mix + encode", |b| b.iter(&mut one_tick));
        g.finish();
    }

    // Audio-seconds per call: every member × 20 ms; audio-s/s is members
    // in real time.
    let work = total_members as f64 * FRAME as f64 / 8000.0;
    let members_rt = throughput(work, &mut one_tick);
    let (mut wide, wide_members) = rooms(true);
    let mut tw = 0usize;
    let wide_rt = throughput(wide_members as f64 * 0.02, || {
        tick(&mut wide, tw, &mut sent);
        tw += 1;
    });
    println!();
    println!(
        "== Conference mixing: Tandem vs target (one core, G.711 A-law, 3-10 members per room) =="
    );
    println!(
        "{:<44} {:>12} {:>12} {:>14} {:>8}",
        "what", "tandem", "target", "unit", "ratio"
    );
    for (name, v) in [
        (format!("{total_members} members, all 8 kHz"), members_rt),
        ("  same, one 16 kHz member per room".to_string(), wide_rt),
    ] {
        println!(
            "{:<44} {:>12} {:>12} {:>14} {:>7.2}x",
            name,
            human(v),
            human(TARGET),
            "members/core",
            v / TARGET
        );
    }
    println!();
    println!(
        "members per core in real time: {members_rt:.0} (target {TARGET:.0}), {:.0} ns per member-frame; \
         with a 16 kHz member in every room (all others resampled 8<->16 kHz): {wide_rt:.0}",
        0.02 / members_rt * 1e9
    );
    black_box(sent);
}
