//! `tandem-bench backend`'s second table: the media engine's relay path
//! on each packet backend, in-process, one thread.
//!
//! A real [`Worker`] holds two legs of one call, bridged, PCMU both ways.
//! Leg 1's peer is leg 2's port and leg 2's peer is leg 1's port, so what
//! leg 2 sends arrives at leg 1, is relayed out of leg 2 again, and so on:
//! a closed loop in which every hop is one packet through the whole relay
//! path (receive, parse the RTP header, look up the flow, check the
//! source, rewrite SSRC, sequence number and timestamp, transmit). The
//! loop is primed with `in_flight` packets from a third address that leg 1
//! is first told is its peer; once they are in, leg 1's peer is changed to
//! leg 2's port.
//!
//! - **io_uring** on loopback: each hop is a kernel UDP send and receive.
//! - **DPDK** on a `net_ring` device (transmit ring = receive ring): each
//!   hop is the host stack's parse and framing, no kernel.
//!
//! Reported as in [`crate::backend`]: ns and cycles (at the nominal clock)
//! per relayed packet, packets per second. The worker spins (never
//! waits), so wall time is its thread's CPU time.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, Event, LegConfig, LegId, MediaFormat, RequestId, SessionId,
};
use tandem_dataplane::metrics::{Counter, DropReason, WorkerShared};
use tandem_dataplane::worker::{QueuedCommand, Worker};
use tandem_packet_io::PacketIo;

use crate::backend::BackendResult;

/// What the relay path run saw besides its speed.
#[derive(Debug, Clone)]
pub struct PathResult {
    /// Packets per hop time, as for the backends alone.
    pub figures: BackendResult,
    /// Packets circulating (primed minus any lost while priming).
    pub in_flight: u64,
    /// Packets the worker dropped during the measured window (must be 0).
    pub dropped: u64,
}

struct Driver<P: PacketIo> {
    worker: Worker<P>,
    commands: Sender<QueuedCommand>,
    events: Receiver<Event>,
    next: u64,
}

impl<P: PacketIo> Driver<P> {
    fn run(&mut self, command: Command) -> Result<(), String> {
        let id = RequestId(self.next);
        self.next += 1;
        self.commands
            .send((id, command))
            .map_err(|_| "the worker's queue closed")?;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            self.worker.turn(Instant::now());
            while let Ok(e) = self.events.try_recv() {
                if let Event::Done { request, result } = e
                    && request == id
                {
                    return result.map_err(|e| format!("{e:?}"));
                }
            }
            if Instant::now() > deadline {
                return Err("the worker did not answer a command".into());
            }
        }
    }

    fn rx(&self) -> u64 {
        self.worker.counters().get(Counter::RxPackets)
    }

    fn dropped(&self) -> u64 {
        let c = self.worker.counters();
        DropReason::ALL.iter().map(|&r| c.drops(r)).sum()
    }
}

fn pcmu() -> MediaFormat {
    let mut f = MediaFormat::new(Codec::Pcmu, 0);
    f.telephone_event = None;
    f
}

/// One run of the relay path on `io` at `ip` for `seconds`. Once the legs
/// exist, `prime(io, to)` sends `in_flight` RTP packets to leg 1 at `to`
/// from `seed_from`.
pub fn relay_path<P: PacketIo>(
    name: &str,
    io: P,
    ip: IpAddr,
    seed_from: SocketAddr,
    prime: impl FnOnce(&mut P, SocketAddr) -> Result<(), String>,
    in_flight: u64,
    seconds: f64,
) -> Result<PathResult, String> {
    let (commands, rx) = bounded(64);
    let (etx, events) = bounded(4096);
    let worker = Worker::new(0, io, rx, etx, Arc::new(WorkerShared::default()));
    let mut d = Driver {
        worker,
        commands,
        events,
        next: 1,
    };
    let one = SocketAddr::new(ip, 41_000);
    let two = SocketAddr::new(ip, 41_002);
    let leg = |local, remote| LegConfig {
        local,
        remote: Some(remote),
        latch: false,
        format: pcmu(),
        rtp_timeout_secs: 0,
    };
    d.run(Command::CreateLeg {
        leg: LegId(1),
        session: SessionId(1),
        config: leg(one, seed_from),
    })?;
    d.run(Command::CreateLeg {
        leg: LegId(2),
        session: SessionId(1),
        config: leg(two, one),
    })?;
    d.run(Command::Bridge {
        a: LegId(1),
        b: LegId(2),
    })?;
    let before = d.rx();
    prime(d.worker.io_mut(), one)?;
    // Take the primers in: they are relayed out of leg 2 towards leg 1,
    // whose peer then becomes leg 2's port.
    let deadline = Instant::now() + Duration::from_secs(2);
    while d.rx() < before + in_flight && Instant::now() < deadline {
        d.worker.turn(Instant::now());
    }
    let primed = d.rx() - before;
    d.run(Command::ModifyLeg {
        leg: LegId(1),
        remote: Some(two),
        format: None,
    })?;
    // Warm up, then measure.
    let warm = Instant::now() + Duration::from_millis(200);
    while Instant::now() < warm {
        d.worker.turn(Instant::now());
    }
    let (rx0, drop0) = (d.rx(), d.dropped());
    let start = Instant::now();
    let window = Duration::from_secs_f64(seconds);
    let mut turns = 0u64;
    loop {
        d.worker.turn(Instant::now());
        turns += 1;
        // Reading the clock every turn would weigh on a 100 ns hop.
        if turns % 256 == 0 && start.elapsed() >= window {
            break;
        }
    }
    let elapsed = start.elapsed();
    let packets = d.rx() - rx0;
    if packets == 0 {
        return Err(format!("{name}: no packet went round the loop"));
    }
    Ok(PathResult {
        figures: BackendResult {
            name: name.to_string(),
            packets,
            elapsed,
        },
        in_flight: primed,
        dropped: d.dropped() - drop0,
    })
}

/// An RTP packet of 20 ms PCMU (172 bytes).
fn rtp(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.resize(172, 0xff);
    p
}

/// The relay path on io_uring over loopback.
pub fn run_uring(in_flight: u64, seconds: f64) -> Result<PathResult, String> {
    let io = tandem_udp::UdpIo::new(&tandem_udp::UdpConfig::default())
        .map_err(|e| format!("io_uring backend: {e}"))?;
    let name = format!("{} (loopback)", io.name());
    let seeder = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let from = seeder.local_addr().map_err(|e| e.to_string())?;
    relay_path(
        &name,
        io,
        IpAddr::from([127, 0, 0, 1]),
        from,
        |_, to| {
            for i in 0..in_flight {
                seeder
                    .send_to(&rtp(i as u16), to)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        },
        in_flight,
        seconds,
    )
}

/// The relay path on DPDK over a `net_ring` device; the primers are sent
/// through the worker's own backend.
#[cfg(feature = "dpdk")]
pub fn run_dpdk(in_flight: u64, seconds: f64) -> Result<PathResult, String> {
    use tandem_packet_io::{PacketBuf, TxPacket};

    let io = crate::backend::dpdk_io_on("net_ring1")?;
    let ip = crate::backend::DPDK_IP;
    let from = SocketAddr::from((ip, 41_004));
    relay_path(
        "dpdk (net_ring)",
        io,
        IpAddr::V4(ip),
        from,
        |io, to| {
            let seed = io.open(from).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for i in 0..in_flight {
                let mut buf = io.alloc().ok_or("no buffer to prime the loop")?;
                let p = rtp(i as u16);
                buf.set_len(p.len());
                buf.data_mut().copy_from_slice(&p);
                out.push(TxPacket {
                    port: seed,
                    to,
                    buf,
                });
            }
            io.send_burst(&mut out).map_err(|e| e.to_string())?;
            io.close(seed).map_err(|e| e.to_string())
        },
        in_flight,
        seconds,
    )
}

/// The table: each backend's relay path and its ratio to the first.
pub fn print_table(results: &[PathResult]) {
    let ghz = crate::backend::nominal_ghz();
    println!(
        "== engine relay path: two bridged PCMU legs in a closed loop, one worker thread ==\n\
         {:<22} {:>10} {:>12} {:>10} {:>10} {:>14} {:>10}",
        "backend", "in flight", "packets", "ns/packet", "Mpps", "cycles/packet", "vs first"
    );
    let first = results.first().map_or(1.0, |r| r.figures.ns_per_packet());
    for r in results {
        let f = &r.figures;
        let cycles = ghz.map_or_else(
            || "-".to_string(),
            |g| format!("{:.0}", f.ns_per_packet() * g),
        );
        println!(
            "{:<22} {:>10} {:>12} {:>10.1} {:>10.2} {:>14} {:>9.1}x",
            f.name,
            r.in_flight,
            f.packets,
            f.ns_per_packet(),
            f.pps() / 1e6,
            cycles,
            first / f.ns_per_packet()
        );
        if r.dropped > 0 {
            println!("  ({} packets dropped during the window)", r.dropped);
        }
    }
    if let Some(g) = ghz {
        println!("(cycles at the nominal {g:.2} GHz of /proc/cpuinfo)");
    }
}
