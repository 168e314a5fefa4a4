//! A bridged pair of legs relays RTP: one continuous outgoing stream per
//! leg (own SSRC, continuous sequence numbers and timestamps across
//! upstream SSRC changes and restarts), and nothing from strangers,
//! duplicates, unproven jumps or malformed packets reaches the far end.

mod rig;

use rig::{TestIo, TestNet, TestSocket};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, Event, LegConfig, LegId, MediaFormat, RequestId, SessionId,
};
use tandem_dataplane::metrics::DropReason;
use tandem_dataplane::worker::{QueuedCommand, Worker};

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

struct Header {
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
}

fn header(p: &[u8]) -> Header {
    Header {
        pt: p[1] & 0x7f,
        seq: u16::from_be_bytes([p[2], p[3]]),
        ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
    }
}

struct Rig {
    worker: Worker<TestIo>,
    commands: Sender<QueuedCommand>,
    events: Receiver<Event>,
    now: Instant,
    next_req: u64,
    phone_a: TestSocket,
    phone_b: TestSocket,
    stranger: TestSocket,
    seen: Vec<Event>,
}

const A_PORT: &str = "10.0.0.1:20000";
const B_PORT: &str = "10.0.0.1:20002";

impl Rig {
    fn new(format_b: MediaFormat) -> Self {
        let net = TestNet::new();
        let (commands, rx) = bounded(64);
        let (etx, events) = bounded(1024);
        let worker = rig::worker_on(&net, rx, etx);
        let phone_a = net.socket(a("10.0.0.9:5004")).unwrap();
        let phone_b = net.socket(a("10.0.0.8:6000")).unwrap();
        let stranger = net.socket(a("10.0.0.66:4444")).unwrap();
        let mut rig = Rig {
            worker,
            commands,
            events,
            now: Instant::now(),
            next_req: 1,
            phone_a,
            phone_b,
            stranger,
            seen: Vec::new(),
        };
        let pcmu = MediaFormat::new(Codec::Pcmu, 0);
        rig.ok(Command::CreateLeg {
            leg: LegId(1),
            session: SessionId(7),
            config: LegConfig {
                local: a(A_PORT),
                remote: Some(a("10.0.0.9:5004")),
                latch: false,
                format: pcmu,
                rtp_timeout_secs: 2,
            },
        });
        rig.ok(Command::CreateLeg {
            leg: LegId(2),
            session: SessionId(7),
            config: LegConfig {
                local: a(B_PORT),
                remote: Some(a("10.0.0.8:6000")),
                latch: false,
                format: format_b,
                rtp_timeout_secs: 0,
            },
        });
        rig.ok(Command::Bridge {
            a: LegId(1),
            b: LegId(2),
        });
        rig
    }

    fn ok(&mut self, command: Command) {
        let id = RequestId(self.next_req);
        self.next_req += 1;
        self.commands.send((id, command)).unwrap();
        self.worker.turn(self.now);
        loop {
            match self.events.try_recv().expect("an answer") {
                Event::Done { request, result } if request == id => {
                    result.expect("command succeeds");
                    return;
                }
                other => self.seen.push(other),
            }
        }
    }

    /// Sends from phone A, runs the worker, returns what phone B got.
    fn a_to_b(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        self.phone_a.send_to(packet, a(A_PORT));
        self.step();
        self.phone_b.try_recv().map(|(from, p)| {
            assert_eq!(from, a(B_PORT), "sent from B's port");
            p
        })
    }

    fn step(&mut self) {
        self.now += Duration::from_millis(20);
        self.worker.turn(self.now);
    }

    /// Every event so far that was not a command's answer.
    fn events(&mut self) -> Vec<Event> {
        let fresh: Vec<Event> = self.events.try_iter().collect();
        self.seen.extend(fresh);
        std::mem::take(&mut self.seen)
    }

    fn drops(&self, r: DropReason) -> u64 {
        self.worker.counters().drops(r)
    }
}

#[test]
fn relayed_stream_is_rewritten_to_one_continuous_stream() {
    let mut rig = Rig::new(MediaFormat::new(Codec::Pcmu, 0));
    let payload = [0x55u8; 160];
    let mut out = Vec::new();
    for i in 0..5u16 {
        out.push(
            rig.a_to_b(&rtp(
                0,
                1000 + i,
                8000 + 160 * u32::from(i),
                0xAAAA,
                &payload,
            ))
            .unwrap(),
        );
    }
    let first = header(&out[0]);
    assert_ne!(first.ssrc, 0xAAAA, "the engine's own SSRC");
    for (i, p) in out.iter().enumerate() {
        let h = header(p);
        assert_eq!(h.ssrc, first.ssrc);
        assert_eq!(h.seq, first.seq.wrapping_add(i as u16));
        assert_eq!(h.ts, first.ts.wrapping_add(160 * i as u32));
        assert_eq!(&p[12..], &payload[..], "payload untouched");
    }
    // The phone restarts with a new SSRC and random numbering (re-INVITE):
    // the far end still sees one stream.
    let next = rig
        .a_to_b(&rtp(0, 40_000, 123_456_789, 0xBBBB, &payload))
        .unwrap();
    let h = header(&next);
    assert_eq!(h.ssrc, first.ssrc);
    assert_eq!(h.seq, first.seq.wrapping_add(5));
    assert_eq!(
        h.ts,
        first.ts.wrapping_add(160 * 5),
        "20 ms later, 160 samples on"
    );
    let ev = rig.events();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::SsrcChange {
                leg: LegId(1),
                old: 0xAAAA,
                new: 0xBBBB
            }
        )),
        "{ev:?}"
    );
}

#[test]
fn strangers_duplicates_and_garbage_never_reach_the_far_end() {
    let mut rig = Rig::new(MediaFormat::new(Codec::Pcmu, 0));
    let p = |seq| rtp(0, seq, u32::from(seq) * 160, 0xAAAA, &[1; 160]);
    assert!(rig.a_to_b(&p(1)).is_some());

    // A flood from an unknown source, and from the far phone itself.
    for s in 0..90u16 {
        rig.stranger.send_to(&p(2 + s), a(A_PORT));
    }
    for s in 0..10u16 {
        rig.phone_b.send_to(&p(2 + s), a(A_PORT));
    }
    for _ in 0..4 {
        rig.step();
    }
    assert!(rig.phone_b.try_recv().is_none(), "nothing relayed");
    assert_eq!(rig.drops(DropReason::WrongSource), 100);

    // Duplicates are dropped, late-but-new packets pass.
    assert!(rig.a_to_b(&p(3)).is_some());
    assert!(rig.a_to_b(&p(3)).is_none());
    assert!(rig.a_to_b(&p(2)).is_some(), "reordered, not seen before");
    assert_eq!(rig.drops(DropReason::Duplicate), 1);

    // Garbage and foreign payload types.
    assert!(rig.a_to_b(b"\x00\x01garbage").is_none());
    assert!(rig.a_to_b(&rtp(18, 4, 640, 0xAAAA, &[0; 20])).is_none());
    assert_eq!(rig.drops(DropReason::Malformed), 1);
    assert_eq!(rig.drops(DropReason::UnknownPayloadType), 1);

    // A huge jump is held back until the next packet proves a restart.
    assert!(rig.a_to_b(&p(30_000)).is_none());
    assert_eq!(rig.drops(DropReason::SequenceJump), 1);
    let restarted = rig.a_to_b(&p(30_001)).expect("restart proven");
    let before = rig.a_to_b(&p(30_002)).unwrap();
    assert_eq!(header(&before).seq, header(&restarted).seq.wrapping_add(1));
}

#[test]
fn telephone_events_follow_the_far_legs_payload_type() {
    let mut b = MediaFormat::new(Codec::Pcmu, 0);
    b.telephone_event = Some(96);
    let mut rig = Rig::new(b);
    let out = rig
        .a_to_b(&rtp(101, 1, 0, 0xAAAA, &[5, 0x8a, 0, 160]))
        .unwrap();
    assert_eq!(header(&out).pt, 96);
    assert_eq!(&out[12..], &[5, 0x8a, 0, 160]);
}

#[test]
fn silence_raises_an_rtp_timeout_once() {
    let mut rig = Rig::new(MediaFormat::new(Codec::Pcmu, 0));
    for _ in 0..150 {
        rig.step();
    }
    let timeouts = rig
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::RtpTimeout { leg: LegId(1) }))
        .count();
    assert_eq!(timeouts, 1);
}

#[test]
fn destroyed_legs_report_their_statistics_and_free_the_port() {
    let mut rig = Rig::new(MediaFormat::new(Codec::Pcmu, 0));
    for s in 0..3 {
        rig.a_to_b(&rtp(0, s, u32::from(s) * 160, 0xAAAA, &[0; 160]))
            .unwrap();
    }
    rig.ok(Command::DestroyLeg { leg: LegId(1) });
    let stats = rig
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::Stats {
                leg: LegId(1),
                report,
            } => Some(report),
            _ => None,
        })
        .expect("final stats");
    assert_eq!(stats.packets_in, 3);
    assert_eq!(stats.bytes_in, 3 * 172);
    assert!(
        rig.a_to_b(&rtp(0, 9, 0, 0xAAAA, &[0; 160])).is_none(),
        "port closed"
    );
}
