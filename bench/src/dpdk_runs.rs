//! `conference --backend dpdk` and `transcode --packet-io dpdk`: the
//! engine's conference and transcoding benchmarks on the DPDK backend,
//! with no kernel anywhere. Two ring-based ports are wired back to back in
//! this process (`Eal::ring_pair`): the engine (one worker,
//! `Engine::start` as in `tandem run`) polls one through its `DpdkIo`; the
//! generator, a thread with a `DpdkIo` of its own on the other, plays the
//! streams (conference members, or both sides of calls): one packet per
//! stream every 20 ms, and it checks what comes back (count, gaps,
//! sequence, SSRC) as the io_uring runs do.
//!
//! A polling worker's CPU time is always 100 %, so its load is the time it
//! spent on turns that did work (`tandem_dataplane_busy_seconds_total`):
//! units (members or calls) per core = units × window / busy time. The
//! worker and the generator are pinned to different cores.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, ConferenceId, Event, LegConfig, LegId, MediaFormat, SessionId,
};
use tandem_dataplane::engine::{Engine, EngineConfig};
use tandem_dataplane::metrics::{Counter, DropReason, Gauge};
use tandem_dpdk::{DpdkConfig, DpdkIo, Port};
use tandem_packet_io::{PacketBuf, PacketIo, PortId, RxPacket, TxPacket};

use crate::conference::ConferenceConfig;
use crate::payload::FrameTable;

const ENGINE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const MEMBERS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// What a DPDK run measured.
#[derive(Debug, Clone)]
pub struct DpdkRunResult {
    /// What the target counts per core: conference members, or calls.
    pub units: usize,
    /// Conferences (0 for calls).
    pub groups: usize,
    /// Length of the measured window.
    pub window: Duration,
    /// Worker busy time in the window.
    pub busy: Duration,
    /// Packets the generator sent in the window.
    pub sent: u64,
    /// Packets (mixes, transcoded packets) received in the window.
    pub received: u64,
    /// Packets expected per stream.
    pub expected_per_stream: u64,
    /// Fewest and most packets a stream received.
    pub received_range: (u64, u64),
    /// Longest gap in any stream.
    pub worst_gap: Duration,
    /// Streams off the 20 ms cadence (under 98 % of the expected packets
    /// or a gap over 60 ms).
    pub streams_off_cadence: usize,
    /// Packets whose sequence number did not advance.
    pub seq_not_advancing: u64,
    /// Streams that received more than one SSRC.
    pub streams_with_several_ssrcs: usize,
    /// The worker's drops by reason (non-zero only).
    pub drops: Vec<(&'static str, u64)>,
    /// Slots the generator started more than 5 ms late.
    pub late_slots: u64,
}

impl DpdkRunResult {
    /// Units one fully busy core would handle in real time at this cost.
    pub fn per_core(&self) -> Option<f64> {
        (!self.busy.is_zero())
            .then(|| self.units as f64 * self.window.as_secs_f64() / self.busy.as_secs_f64())
    }
}

#[derive(Default, Clone)]
struct Member {
    received: u64,
    last_at: Option<Instant>,
    max_gap: Duration,
    last_seq: Option<u16>,
    seq_not_advancing: u64,
    ssrcs: HashSet<u32>,
}

/// One stream the generator plays: from its local port `port` to the
/// engine's `to`, payload type `pt` with frames from `table`; what comes
/// back to `port` is counted when its payload type is `expect`.
#[derive(Debug, Clone, Copy)]
pub struct GenFlow {
    /// The generator's UDP port.
    pub port: u16,
    /// The engine's leg it sends to.
    pub to: SocketAddr,
    /// Payload type sent.
    pub pt: u8,
    /// 0: PCMU frames, 1: G.722 frames.
    pub table: usize,
    /// Payload type expected back.
    pub expect: u8,
}

/// The engine on one ring port, and the generator's end wired to it.
struct Harness {
    engine: Engine,
    generator_port: (tandem_dpdk::RxQueue, tandem_dpdk::TxQueue),
    member_mac: [u8; 6],
    pool: &'static tandem_dpdk::Mempool,
}

fn addressing(ip: Ipv4Addr) -> DpdkConfig {
    DpdkConfig {
        ip,
        prefix_len: 24,
        gateway: None,
        vlan: None,
    }
}

fn harness(name: &str) -> Result<Harness, String> {
    let (eal, pool) = crate::backend::dpdk_env()?;
    let pool = *pool;
    let (a, b) = eal.ring_pair(name).map_err(|e| e.to_string())?;
    let (engine_port, erx, etx) =
        Port::start(eal, a, 1, 1, 4096, pool).map_err(|e| e.to_string())?;
    let (member_port, mut mrx, mut mtx) =
        Port::start(eal, b, 1, 1, 4096, pool).map_err(|e| e.to_string())?;
    let engine_mac = engine_port.mac().map_err(|e| e.to_string())?;
    let mut member_mac = member_port.mac().map_err(|e| e.to_string())?;
    if member_mac == engine_mac {
        member_mac[5] ^= 1;
    }
    let queues = Mutex::new(Some(erx.into_iter().zip(etx).next().ok_or("no queue")?));
    let engine = Engine::start(&EngineConfig::default(), move |_| {
        let _ = tandem_udp::pin_current_thread(1);
        let (rx, tx) = queues
            .lock()
            .map_err(|_| "queue lock")?
            .take()
            .ok_or("one worker only")?;
        Ok(DpdkIo::new(rx, tx, pool, engine_mac, addressing(ENGINE)))
    })
    .map_err(|e| format!("engine: {e}"))?;
    Ok(Harness {
        engine,
        generator_port: (mrx.remove(0), mtx.remove(0)),
        member_mac,
        pool,
    })
}

/// Runs a command and waits for its answer.
fn run_command(engine: &Engine, command: Command) -> Result<(), String> {
    let request = engine.submit(command).map_err(|e| format!("submit: {e}"))?;
    loop {
        match engine.events().recv_timeout(Duration::from_secs(5)) {
            Ok(Event::Done { request: r, result }) if r == request => {
                return result.map_err(|e| e.to_string());
            }
            Ok(_) => {}
            Err(_) => return Err("no answer from the worker in 5 s".into()),
        }
    }
}

/// Plays `flows` for `seconds` against the harness's engine and measures.
fn play(h: Harness, flows: Vec<GenFlow>, seconds: f64) -> Result<DpdkRunResult, String> {
    let Harness {
        engine,
        generator_port: (mrx, mtx),
        member_mac,
        pool,
    } = h;
    let (marks, marked) = crossbeam_channel::bounded::<()>(2);
    let generator = std::thread::Builder::new()
        .name("generator".into())
        .spawn(move || {
            let _ = tandem_udp::pin_current_thread(0);
            let io = DpdkIo::new(mrx, mtx, pool, member_mac, addressing(MEMBERS));
            generate(io, &flows, seconds, &marks)
        })
        .map_err(|e| e.to_string())?;
    // The window's busy time, from the counters the worker publishes
    // every 100 ms, read when the generator starts and ends its window
    // (both readings lag alike, by up to 100 ms).
    let busy = || {
        engine
            .counters()
            .first()
            .map_or(0, |c| c.get(Counter::BusyNanos))
    };
    // The control plane reads the engine's events as they come (loudest
    // speaker, statistics), as `tandem run` does.
    let mut readings = Vec::new();
    while readings.len() < 2 {
        while engine.events().try_recv().is_ok() {}
        match marked.recv_timeout(Duration::from_millis(1)) {
            Ok(()) => readings.push(busy()),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    let report = generator.join().map_err(|_| "generator panicked")??;
    let busy = match readings[..] {
        [b0, b1] => Duration::from_nanos(b1.saturating_sub(b0)),
        _ => return Err("the generator ended early".into()),
    };
    let mut drops = drops_of(&engine);
    drops.extend(report.drops.iter().copied());
    engine.shutdown();
    Ok(DpdkRunResult {
        busy,
        drops,
        ..report
    })
}

/// Runs the conference benchmark on DPDK.
pub fn run(config: &ConferenceConfig) -> Result<DpdkRunResult, String> {
    let size = config.size.max(2);
    let members = config.members;
    let h = harness("conf")?;
    // Members: legs latch their peer from its first packet.
    let first = config.first_port & !1;
    let mut flows = Vec::with_capacity(members);
    for m in 0..members {
        let leg = LegId(m as u64 + 1);
        let local = SocketAddr::from((ENGINE, first + 2 * m as u16));
        let conference = (m / size) as u64 + 1;
        run_command(
            &h.engine,
            Command::CreateLeg {
                leg,
                session: SessionId(conference),
                config: LegConfig {
                    local,
                    remote: None,
                    latch: true,
                    format: MediaFormat::new(Codec::Pcmu, 0),
                    rtp_timeout_secs: 0,
                },
            },
        )
        .map_err(|e| format!("member {m}: {e}"))?;
        run_command(
            &h.engine,
            Command::JoinConference {
                leg,
                conference: ConferenceId(conference),
            },
        )
        .map_err(|e| format!("member {m}: {e}"))?;
        flows.push(GenFlow {
            port: first + 2 * m as u16,
            to: local,
            pt: 0,
            table: 0,
            expect: 0,
        });
    }
    let r = play(h, flows, config.seconds)?;
    Ok(DpdkRunResult {
        groups: members.div_ceil(size),
        ..r
    })
}

/// The transcoding benchmark on DPDK: `calls` calls, each a PCMU leg
/// bridged to a G.722 leg, both sides talking; the figure is calls per
/// core (the target: 2,000).
pub fn run_transcode(calls: usize, seconds: f64) -> Result<DpdkRunResult, String> {
    let h = harness("xcode")?;
    let first = 10_000u16;
    let mut flows = Vec::with_capacity(2 * calls);
    for c in 0..calls {
        let base = first + 4 * c as u16;
        let (leg_a, leg_b) = (
            SocketAddr::from((ENGINE, base)),
            SocketAddr::from((ENGINE, base + 2)),
        );
        let (caller, callee) = (
            SocketAddr::from((MEMBERS, base)),
            SocketAddr::from((MEMBERS, base + 2)),
        );
        for (id, local, remote, format) in [
            (
                2 * c as u64 + 1,
                leg_a,
                caller,
                MediaFormat::new(Codec::Pcmu, 0),
            ),
            (
                2 * c as u64 + 2,
                leg_b,
                callee,
                MediaFormat::new(Codec::G722, 9),
            ),
        ] {
            run_command(
                &h.engine,
                Command::CreateLeg {
                    leg: LegId(id),
                    session: SessionId(c as u64 + 1),
                    config: LegConfig {
                        local,
                        remote: Some(remote),
                        latch: false,
                        format,
                        rtp_timeout_secs: 0,
                    },
                },
            )
            .map_err(|e| format!("call {c}: {e}"))?;
        }
        run_command(
            &h.engine,
            Command::Bridge {
                a: LegId(2 * c as u64 + 1),
                b: LegId(2 * c as u64 + 2),
            },
        )
        .map_err(|e| format!("call {c}: {e}"))?;
        // The caller talks PCMU and hears the callee's G.722 as PCMU; the
        // callee the other way round.
        flows.push(GenFlow {
            port: base,
            to: leg_a,
            pt: 0,
            table: 0,
            expect: 0,
        });
        flows.push(GenFlow {
            port: base + 2,
            to: leg_b,
            pt: 9,
            table: 1,
            expect: 9,
        });
    }
    let r = play(h, flows, seconds)?;
    Ok(DpdkRunResult { units: calls, ..r })
}

fn generate(
    mut io: DpdkIo,
    flows: &[GenFlow],
    seconds: f64,
    marks: &crossbeam_channel::Sender<()>,
) -> Result<DpdkRunResult, String> {
    let n = flows.len();
    let ports: Vec<PortId> = flows
        .iter()
        .map(|f| io.open(SocketAddr::from((MEMBERS, f.port))))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("generator port: {e}"))?;
    let by_port: std::collections::HashMap<PortId, usize> =
        ports.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let expect: Vec<u8> = flows.iter().map(|f| f.expect).collect();
    let tables = [FrameTable::pcmu(), FrameTable::g722()];
    let mut stats = vec![Member::default(); n];
    let mut rx: Vec<RxPacket<_>> = Vec::with_capacity(64);
    let mut tx: Vec<TxPacket<_>> = Vec::with_capacity(64);
    let mut payload = [0u8; 172];
    payload[0] = 0x80;
    let slot = Duration::from_millis(20);
    let warmup = 50u32;
    let total = warmup + (seconds / 0.020).round() as u32;
    let start = Instant::now();
    let (mut sent, mut late_slots) = (0u64, 0u64);
    let mut mark0 = start;
    let mut counting = false;
    let mut dropped_before = 0;
    for k in 0..total {
        let due = start + slot * k;
        if k == warmup {
            // Receive what is in flight from the warm-up first.
            receive_until(&mut io, &mut rx, &by_port, &expect, &mut stats, false, due)?;
            counting = true;
            mark0 = Instant::now();
            // The first slot waits for ARP (its datagrams are dropped,
            // as a kernel's would be): only the window's drops count.
            dropped_before = io.stats().tx_dropped;
            let _ = marks.send(());
        }
        // Streams spread over the slot, as phones' are: stream i sends
        // at i/n of the way through it.
        for chunk in (0..n).step_by(64) {
            let chunk_due = due + slot.mul_f64(chunk as f64 / n as f64);
            receive_until(
                &mut io, &mut rx, &by_port, &expect, &mut stats, counting, chunk_due,
            )?;
            if chunk == 0 && Instant::now() > due + Duration::from_millis(5) {
                late_slots += 1;
            }
            for (i, f) in flows.iter().enumerate().skip(chunk).take(64) {
                payload[1] = f.pt;
                payload[2..4].copy_from_slice(&(k as u16).to_be_bytes());
                let per_packet = if f.table == 1 { 320 } else { 160 };
                payload[4..8].copy_from_slice(&(k * per_packet).to_be_bytes());
                payload[8..12].copy_from_slice(&(0x3000_0000 + i as u32).to_be_bytes());
                payload[12..].copy_from_slice(tables[f.table].frame(k as usize));
                let Some(mut buf) = io.alloc() else {
                    return Err("the generator ran out of buffers".into());
                };
                buf.set_len(payload.len());
                buf.data_mut().copy_from_slice(&payload);
                tx.push(TxPacket {
                    port: ports[i],
                    to: f.to,
                    buf,
                });
            }
            io.send_burst(&mut tx).map_err(|e| e.to_string())?;
        }
        if counting {
            sent += n as u64;
        }
    }
    receive_until(
        &mut io,
        &mut rx,
        &by_port,
        &expect,
        &mut stats,
        counting,
        start + slot * total,
    )?;
    let mark1 = Instant::now();
    let _ = marks.send(());
    let window = mark1 - mark0;
    let expected = (window.as_secs_f64() / 0.020).floor() as u64;
    Ok(DpdkRunResult {
        units: n,
        groups: 0,
        window,
        busy: Duration::ZERO,
        sent,
        received: stats.iter().map(|s| s.received).sum(),
        expected_per_stream: expected,
        received_range: (
            stats.iter().map(|s| s.received).min().unwrap_or(0),
            stats.iter().map(|s| s.received).max().unwrap_or(0),
        ),
        worst_gap: stats.iter().map(|s| s.max_gap).max().unwrap_or_default(),
        streams_off_cadence: stats
            .iter()
            .filter(|s| s.received * 100 < expected * 98 || s.max_gap > Duration::from_millis(60))
            .count(),
        seq_not_advancing: stats.iter().map(|s| s.seq_not_advancing).sum(),
        streams_with_several_ssrcs: stats.iter().filter(|s| s.ssrcs.len() > 1).count(),
        // What the generator could not send counts against the run.
        drops: Some((
            "generator_tx_dropped",
            io.stats().tx_dropped - dropped_before,
        ))
        .filter(|(_, n)| *n > 0)
        .into_iter()
        .collect(),
        late_slots,
    })
}

/// Receives until `until`, recording each member's mixes when `counting`.
#[allow(clippy::too_many_arguments)] // the generator's state, passed down
fn receive_until(
    io: &mut DpdkIo,
    rx: &mut Vec<RxPacket<tandem_dpdk::DpdkBuf>>,
    by_port: &std::collections::HashMap<PortId, usize>,
    expect: &[u8],
    stats: &mut [Member],
    counting: bool,
    until: Instant,
) -> Result<(), String> {
    loop {
        let now = Instant::now();
        rx.clear();
        let n = io.recv_burst(rx, 64).map_err(|e| e.to_string())?;
        for p in rx.drain(..) {
            let Some(&m) = by_port.get(&p.port) else {
                continue;
            };
            let d = p.buf.data();
            if !counting || d.len() < 12 || d[1] & 0x7f != expect[m] {
                continue;
            }
            let s = &mut stats[m];
            s.received += 1;
            if let Some(at) = s.last_at {
                s.max_gap = s.max_gap.max(now.saturating_duration_since(at));
            }
            s.last_at = Some(now);
            let seq = u16::from_be_bytes([d[2], d[3]]);
            if s.last_seq
                .is_some_and(|l| seq.wrapping_sub(l).wrapping_sub(1) >= 0x8000)
            {
                s.seq_not_advancing += 1;
            }
            s.last_seq = Some(seq);
            s.ssrcs
                .insert(u32::from_be_bytes([d[8], d[9], d[10], d[11]]));
        }
        if n == 0 && now >= until {
            return Ok(());
        }
    }
}

/// Drops by reason, the backend's own among them, non-zero only.
pub fn drops_of(engine: &Engine) -> Vec<(&'static str, u64)> {
    let counters = engine.counters();
    let gauge = |g: Gauge| counters.iter().map(|c| c.gauges[g as usize]).sum::<u64>();
    DropReason::ALL
        .iter()
        .map(|r| (r.label(), counters.iter().map(|c| c.drops(*r)).sum::<u64>()))
        .chain([
            ("io_rx_dropped", gauge(Gauge::IoRxDropped)),
            ("io_tx_dropped", gauge(Gauge::IoTxDropped)),
        ])
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// What a table calls things: the unit (member, call), its streams'
/// packets, and the target per core.
struct Labels {
    title: String,
    sent: &'static str,
    received: &'static str,
    stream: &'static str,
    unit: &'static str,
    target: &'static str,
    per_core_target: f64,
}

/// Prints a run's table with its target; returns whether it was met.
fn print_run(l: &Labels, r: &DpdkRunResult) -> bool {
    println!();
    println!("{}", l.title);
    let row = |k: &str, v: String| println!("{k:<40}{v:>14}");
    let per_core = r.per_core();
    let per_core_text = per_core.map_or("-".into(), |v| format!("{v:.0}"));
    row(l.sent, r.sent.to_string());
    row(l.received, r.received.to_string());
    row(
        &format!("expected per {}", l.stream),
        r.expected_per_stream.to_string(),
    );
    row(
        &format!("received per {} (min..max)", l.stream),
        format!("{}..{}", r.received_range.0, r.received_range.1),
    );
    row(
        "worst output gap ms",
        format!("{:.1}", r.worst_gap.as_secs_f64() * 1e3),
    );
    row(
        &format!("{}s off the 20 ms cadence", l.stream),
        r.streams_off_cadence.to_string(),
    );
    row(
        "worker busy s in window",
        format!("{:.2}", r.busy.as_secs_f64()),
    );
    row(
        "worker load (busy, of one core)",
        format!(
            "{:.1}%",
            100.0 * r.busy.as_secs_f64() / r.window.as_secs_f64().max(1e-9)
        ),
    );
    row(
        &format!("{}s per core (extrapolated)", l.unit),
        per_core_text.clone(),
    );
    row(
        "packets, seq not advancing",
        r.seq_not_advancing.to_string(),
    );
    row(
        &format!("{}s receiving several SSRCs", l.stream),
        r.streams_with_several_ssrcs.to_string(),
    );
    let drops: Vec<String> = r.drops.iter().map(|(k, v)| format!("{k}={v}")).collect();
    row(
        "drops",
        if drops.is_empty() {
            "0".into()
        } else {
            drops.join(" ")
        },
    );
    if r.late_slots > 0 {
        println!(
            "WARNING: the generator started {} slots more than 5 ms late",
            r.late_slots
        );
    }
    let ok = r.streams_off_cadence == 0
        && r.drops.is_empty()
        && per_core.is_some_and(|v| v >= l.per_core_target);
    println!();
    println!("targets:");
    println!(
        "  {}: {per_core_text} per core, {} off cadence, {} dropped  {}",
        l.target,
        r.streams_off_cadence,
        r.drops.iter().map(|(_, n)| n).sum::<u64>(),
        if ok { "MET" } else { "MISSED" }
    );
    ok
}

/// Prints the conference table with its target; returns whether it was met.
pub fn print_table(config: &ConferenceConfig, r: &DpdkRunResult) -> bool {
    print_run(
        &Labels {
            title: format!(
                "== conference: {} G.711 members in {} conferences of {}, {} s, Tandem engine in-process (1 worker, DPDK on a ring pair, no kernel) ==",
                r.units, r.groups, config.size, config.seconds
            ),
            sent: "packets sent to members",
            received: "mixed packets received",
            stream: "member",
            unit: "member",
            target: "conference >= 5,000 G.711 members per core, every member on cadence, no drops",
            per_core_target: 5000.0,
        },
        r,
    )
}

/// Prints the transcoding table with its target; returns whether it was met.
pub fn print_transcode_table(seconds: f64, r: &DpdkRunResult) -> bool {
    print_run(
        &Labels {
            title: format!(
                "== transcode PCMU<->G.722: {} calls ({} streams), {seconds} s, Tandem engine in-process (1 worker, DPDK on a ring pair, no kernel) ==",
                r.units,
                2 * r.units
            ),
            sent: "packets sent",
            received: "transcoded packets received",
            stream: "stream",
            unit: "call",
            target: "transcode >= 2,000 PCMU<->G.722 calls per core, no loss",
            per_core_target: 2000.0,
        },
        r,
    )
}
