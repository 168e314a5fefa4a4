//! A single worker on a test network, driven turn by turn on a virtual
//! 20 ms clock, with phones that speak RTP to its legs.
//!
//! The network is the in-memory one; with the `dpdk-tests` feature a
//! DPDK loop net (`tandem_dpdk::loopnet`: two ring ports back to back,
//! every datagram framed and parsed by the DPDK backend's host stack);
//! with `uring-tests` an io_uring loop net (`tandem_udp::loopnet`: a
//! loopback of the test's own in a new network namespace, every datagram
//! through the kernel). So every test that drives a worker over a network
//! runs on every backend:
//! `cargo test -p tandem-dataplane --features dpdk-tests` (or
//! `uring-tests`, as root).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, CommandError, Event, LegConfig, LegId, MediaFormat, RequestId, SessionId,
};
use tandem_dataplane::metrics::WorkerShared;
use tandem_dataplane::worker::{QueuedCommand, Worker};
#[cfg(feature = "dpdk-tests")]
pub use tandem_dpdk::DpdkIo as TestIo;
#[cfg(feature = "dpdk-tests")]
pub use tandem_dpdk::loopnet::{LoopNet as TestNet, LoopSocket as TestSocket};
use tandem_dsp::g711;
#[cfg(not(any(feature = "dpdk-tests", feature = "uring-tests")))]
pub use tandem_packet_io::{MemoryIo as TestIo, MemoryNet as TestNet, MemorySocket as TestSocket};
#[cfg(all(feature = "uring-tests", not(feature = "dpdk-tests")))]
pub use tandem_udp::UringIo as TestIo;
#[cfg(all(feature = "uring-tests", not(feature = "dpdk-tests")))]
pub use tandem_udp::loopnet::{LoopNet as TestNet, LoopSocket as TestSocket};

/// The backend the tests run on (`PacketIo::name`), checked when a worker
/// is made so that a feature mix-up cannot pass silently.
pub const BACKEND: &str = if cfg!(feature = "dpdk-tests") {
    "dpdk"
} else if cfg!(feature = "uring-tests") {
    "io_uring"
} else {
    "memory"
};

/// A worker on `net`'s backend, checked to be [`BACKEND`].
pub fn worker_on(
    net: &TestNet,
    commands: Receiver<QueuedCommand>,
    events: Sender<Event>,
) -> Worker<TestIo> {
    let io = net.io();
    assert_eq!(tandem_packet_io::PacketIo::name(&io), BACKEND);
    Worker::new(0, io, commands, events, Arc::new(WorkerShared::default()))
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A phone: its socket and the engine port it talks to.
pub struct Phone {
    pub socket: TestSocket,
    pub engine_port: SocketAddr,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
}

impl Phone {
    /// Sends one RTP packet.
    pub fn send(&mut self, pt: u8, marker: bool, ts: u32, payload: &[u8]) {
        let mut p = vec![
            0x80,
            pt | if marker { 0x80 } else { 0 },
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        p[2..4].copy_from_slice(&self.seq.to_be_bytes());
        p[4..8].copy_from_slice(&ts.to_be_bytes());
        p[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        self.socket.send_to(&p, self.engine_port);
    }

    /// Sends 20 ms of PCMU audio and advances its clock.
    pub fn send_pcmu(&mut self, pcm: &[i16]) {
        assert_eq!(pcm.len(), 160);
        let mut payload = [0u8; 160];
        g711::encode_ulaw(pcm, &mut payload);
        let ts = self.ts;
        self.send(0, false, ts, &payload);
        self.ts = self.ts.wrapping_add(160);
    }

    /// Every RTP packet received so far (RTCP reports from the leg's
    /// RTCP port, which reach this socket when it sent RTCP itself, are
    /// skipped).
    pub fn received(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let rtcp = SocketAddr::new(self.engine_port.ip(), self.engine_port.port() + 1);
        while let Some((from, p)) = self.socket.try_recv() {
            if from == rtcp {
                continue;
            }
            assert_eq!(from, self.engine_port, "packets come from the leg's port");
            out.push(p);
        }
        out
    }
}

/// RTP header fields: (marker, pt, seq, ts, ssrc).
pub fn header(p: &[u8]) -> (bool, u8, u16, u32, u32) {
    (
        p[1] & 0x80 != 0,
        p[1] & 0x7f,
        u16::from_be_bytes([p[2], p[3]]),
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
    )
}

/// Decodes the PCMU audio packets among `packets` (in order).
pub fn pcmu_audio(packets: &[Vec<u8>]) -> Vec<i16> {
    let mut out = Vec::new();
    for p in packets.iter().filter(|p| p[1] & 0x7f == 0) {
        let mut s = vec![0i16; p.len() - 12];
        g711::decode_ulaw(&p[12..], &mut s);
        out.extend(s);
    }
    out
}

pub struct Rig {
    pub net: TestNet,
    pub worker: Worker<TestIo>,
    commands: Sender<QueuedCommand>,
    events: Receiver<Event>,
    pub now: Instant,
    next_req: u64,
    pub seen: Vec<Event>,
}

impl Rig {
    pub fn new() -> Self {
        let net = TestNet::new();
        let (commands, rx) = bounded(64);
        let (etx, events) = bounded(4096);
        let worker = worker_on(&net, rx, etx);
        Rig {
            net,
            worker,
            commands,
            events,
            now: Instant::now(),
            next_req: 1,
            seen: Vec::new(),
        }
    }

    /// Runs a command to completion and returns its result.
    pub fn run(&mut self, command: Command) -> Result<(), CommandError> {
        let id = RequestId(self.next_req);
        self.next_req += 1;
        self.commands.send((id, command)).unwrap();
        self.worker.turn(self.now);
        loop {
            match self.events.try_recv().expect("an answer") {
                Event::Done { request, result } if request == id => return result,
                other => self.seen.push(other),
            }
        }
    }

    pub fn ok(&mut self, command: Command) {
        self.run(command).expect("command succeeds");
    }

    /// Creates leg `id` on 10.0.0.1:`port` facing a new phone at `phone`.
    pub fn leg(&mut self, id: u64, port: u16, phone: &str, format: MediaFormat) -> Phone {
        let engine_port = addr(&format!("10.0.0.1:{port}"));
        self.ok(Command::CreateLeg {
            leg: LegId(id),
            session: SessionId(1),
            config: LegConfig {
                local: engine_port,
                remote: Some(addr(phone)),
                latch: false,
                format,
                rtp_timeout_secs: 0,
            },
        });
        Phone {
            socket: self.net.socket(addr(phone)).unwrap(),
            engine_port,
            seq: 1000 * id as u16,
            ts: 50_000 * id as u32,
            ssrc: 0x1000 + id as u32,
        }
    }

    /// Advances the clock by 20 ms and runs one turn.
    pub fn step(&mut self) {
        self.now += Duration::from_millis(20);
        self.worker.turn(self.now);
    }

    /// Every event so far that was not a command's answer.
    pub fn events(&mut self) -> Vec<Event> {
        let fresh: Vec<Event> = self.events.try_iter().collect();
        self.seen.extend(fresh);
        std::mem::take(&mut self.seen)
    }
}

/// PCMU on PT 0, with or without telephone-event 101.
pub fn pcmu(telephone_event: bool) -> MediaFormat {
    let mut f = MediaFormat::new(Codec::Pcmu, 0);
    f.telephone_event = telephone_event.then_some(101);
    f
}

/// Amplitude of `freq` in `pcm` (single-bin DFT).
pub fn tone_amplitude(pcm: &[i16], freq: f64, rate: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &x) in pcm.iter().enumerate() {
        let w = 2.0 * std::f64::consts::PI * freq * i as f64 / rate;
        re += f64::from(x) * w.cos();
        im += f64::from(x) * w.sin();
    }
    2.0 * (re * re + im * im).sqrt() / pcm.len() as f64
}

/// A sine at 8 kHz.
pub fn sine(n: usize, freq: f64, amp: f64, phase0: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * freq * (i + phase0) as f64 / 8000.0).sin()) as i16
        })
        .collect()
}
