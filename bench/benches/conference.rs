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
use tandem_dsp::resample::Rate;

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
    members: Vec<(MemberId, Vec<[u8; FRAME]>)>,
}

fn main() {
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
            conf.add_member(id, Rate::Hz8000).expect("room has space");
            members.push((id, member_frames((r * 16 + m) as u64)));
        }
        total_members += size;
        rooms.push(Room { conf, members });
    }

    let mut tick = 0usize;
    let mut sent = 0u64;
    let mut one_tick = || {
        let f = tick % FRAMES;
        let mut frame = AudioFrame::silence(Rate::Hz8000);
        let mut encoded = [0u8; FRAME];
        for room in &mut rooms {
            for (id, frames) in &room.members {
                g711::decode_alaw(black_box(&frames[f]), frame.samples_mut());
                room.conf.put(*id, &frame).expect("member of this room");
            }
            room.conf.mix(|_, out| {
                g711::encode_alaw(out.samples(), &mut encoded);
                sent += u64::from(black_box(encoded[0]));
            });
            while room.conf.poll_event().is_some() {}
        }
        tick += 1;
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
    println!();
    println!(
        "== Conference mixing: Tandem vs target (one core, G.711 A-law, 3-10 members per room) =="
    );
    println!(
        "{:<36} {:>16} {:>16} {:>14} {:>8}",
        "what", "tandem", "target", "unit", "ratio"
    );
    println!(
        "{:<36} {:>16} {:>16} {:>14} {:>7.2}x",
        format!("mix {total_members} members, 20 ms ticks"),
        human(members_rt),
        human(TARGET),
        "members/core",
        members_rt / TARGET
    );
    println!();
    println!(
        "members per core in real time: {members_rt:.0} (target {TARGET:.0}); {:.0} ns per member-frame",
        0.02 / members_rt * 1e9
    );
    black_box(sent);
}
