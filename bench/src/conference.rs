//! `conference`: Tandem's engine in this process (one worker on
//! `tandem_udp::UdpIo`), members created with `Command::CreateLeg` and
//! `Command::JoinConference`, each driven by one generator flow over
//! loopback. Reports whether every member's mixed output kept the 20 ms
//! cadence and how much CPU the worker thread used: hence members mixed
//! per core in real time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tandem_dataplane::codec::Codec;
use tandem_dataplane::command::{
    Command, CommandError, ConferenceId, Event, LegConfig, LegId, MediaFormat, RequestId, SessionId,
};
use tandem_dataplane::engine::{Engine, EngineConfig};
use tandem_dataplane::metrics::DropReason;
use tandem_udp::{Backend, UdpConfig, UdpIo};

use crate::cpu;
use crate::generator::{Flow, GenReport, Generator};
use crate::payload::FrameTable;

/// Settings of a conference run.
#[derive(Debug, Clone)]
pub struct ConferenceConfig {
    /// Members in all.
    pub members: usize,
    /// Members per conference.
    pub size: usize,
    /// Seconds of RTP.
    pub seconds: f64,
    /// First local port for the members' legs (even ports upwards).
    pub first_port: u16,
    /// First port of the generator's RTP/RTCP socket pairs.
    pub generator_ports: u16,
}

/// What a conference run measured.
pub struct ConferenceResult {
    /// Members created.
    pub members: usize,
    /// Conferences.
    pub conferences: usize,
    /// CPU seconds of the worker thread over the traffic window.
    pub worker_cpu_seconds: f64,
    /// The generator's figures (received = mixed packets).
    pub traffic: GenReport,
    /// Members whose output missed the cadence (fewer than 98 % of the
    /// expected packets, a gap over 60 ms, or a mean interval under 19 ms).
    pub members_off_cadence: usize,
    /// Fewest and most packets a member received.
    pub received_range: (u64, u64),
    /// Longest gap in any member's output.
    pub worst_gap: Duration,
    /// Shortest and longest mean interval between a member's packets, ms.
    pub interval_ms: (f64, f64),
    /// Mixed packets whose sequence number did not advance, all members.
    pub seq_not_advancing: u64,
    /// Members that received more than one SSRC.
    pub members_with_several_ssrcs: usize,
    /// Packets expected per member.
    pub expected_per_member: u64,
    /// The worker's drops by reason (non-zero only).
    pub drops: Vec<(&'static str, u64)>,
    /// Time to create the members.
    pub setup: Duration,
}

impl ConferenceResult {
    /// Members one fully busy core would mix in real time at this cost.
    pub fn members_per_core(&self) -> Option<f64> {
        (self.worker_cpu_seconds > 0.0).then(|| {
            self.members as f64 * self.traffic.wall.as_secs_f64() / self.worker_cpu_seconds
        })
    }
}

/// Submits commands keeping at most `window` in flight.
struct Pipeline<'a> {
    engine: &'a Engine,
    in_flight: usize,
    window: usize,
    failures: Vec<String>,
}

impl Pipeline<'_> {
    fn submit(&mut self, command: Command) -> Result<RequestId, String> {
        while self.in_flight >= self.window {
            self.collect_one()?;
        }
        // The window (256) is far below the command queue (4096): a full
        // queue means the worker is stuck, an error here.
        let r = self
            .engine
            .submit(command)
            .map_err(|e| format!("submit: {e}"))?;
        self.in_flight += 1;
        Ok(r)
    }

    fn collect_one(&mut self) -> Result<(), String> {
        loop {
            match self.engine.events().recv_timeout(Duration::from_secs(5)) {
                Ok(Event::Done { result, .. }) => {
                    self.in_flight -= 1;
                    if let Err(e) = result {
                        self.failures.push(e.to_string());
                    }
                    return Ok(());
                }
                Ok(_) => {}
                Err(_) => return Err("no answer from the worker in 5 s".into()),
            }
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        while self.in_flight > 0 {
            self.collect_one()?;
        }
        Ok(())
    }
}

/// Runs the conference benchmark.
pub fn run(config: &ConferenceConfig) -> Result<ConferenceResult, String> {
    let size = config.size.max(2);
    let conferences = config.members.div_ceil(size);
    let udp = UdpConfig {
        backend: Backend::Uring,
        ..UdpConfig::default()
    };
    let engine = Engine::start(&EngineConfig::default(), move |_| {
        UdpIo::new(&udp).map_err(|e| e.to_string())
    })
    .map_err(|e| format!("engine: {e}"))?;
    let mut generator = Generator::new(vec![FrameTable::pcmu()], config.generator_ports)
        .map_err(|e| format!("generator: {e}"))?;
    let setup_start = Instant::now();
    let mut pipeline = Pipeline {
        engine: &engine,
        in_flight: 0,
        window: 256,
        failures: Vec::new(),
    };
    let mut port = config.first_port & !1;
    let mut created = 0usize;
    let mut leg_no = 1u64;
    while created < config.members {
        let (sock, gen_port, _gen_addr) = generator
            .open_socket()
            .map_err(|e| format!("generator socket: {e}"))?;
        let conference = (created / size) as u64 + 1;
        // Create the leg and wait for its answer: a port another process
        // holds is skipped.
        let local = loop {
            if port >= 65_000 {
                return Err("ran out of member ports".into());
            }
            let local = SocketAddr::from(([127, 0, 0, 1], port));
            port += 2;
            let leg = LegId(leg_no);
            let request = engine
                .submit(Command::CreateLeg {
                    leg,
                    session: SessionId(conference),
                    config: LegConfig {
                        local,
                        // Learnt from the member's first packet (symmetric
                        // RTP): the mixer sends nothing before the run, so
                        // no backlog builds up during the setup.
                        remote: None,
                        latch: true,
                        format: MediaFormat::new(Codec::Pcmu, 0),
                        rtp_timeout_secs: 0,
                    },
                })
                .map_err(|e| format!("submit: {e}"))?;
            match wait_done(&engine, request, &mut pipeline)? {
                Ok(()) => break local,
                Err(CommandError::Bind(_)) => continue,
                Err(e) => return Err(format!("create leg: {e}")),
            }
        };
        pipeline.submit(Command::JoinConference {
            leg: LegId(leg_no),
            conference: ConferenceId(conference),
        })?;
        leg_no += 1;
        let flow = generator.flows.len();
        generator.flows.push(Flow::new(
            gen_port,
            local,
            0,
            0,
            0,
            0x2000_0000 + created as u32,
        ));
        let _ = flow;
        generator.sockets[sock].direction = 0;
        created += 1;
    }
    pipeline.finish()?;
    if let Some(f) = pipeline.failures.first() {
        return Err(format!(
            "{} commands failed, first: {f}",
            pipeline.failures.len()
        ));
    }
    let setup = setup_start.elapsed();
    let ticks = cpu::clock_ticks();
    let stat = cpu::own_thread_stat("tandem-media-0").ok_or("worker thread not found")?;
    let read = || cpu::stat_cpu_seconds(&stat, ticks).map_err(|e| format!("worker stat: {e}"));
    // The mixer has been sending (silence) to every member since it
    // joined: throw that backlog away so the run counts only its own.
    let _ = generator
        .discard_pending(created as u64 * 3 / 2 + 10, Duration::from_secs(10))
        .map_err(|e| format!("generator: {e}"))?;
    let c0 = read()?;
    let traffic = generator
        .run(
            Duration::from_secs_f64(config.seconds),
            Duration::from_millis(200),
            1,
        )
        .map_err(|e| format!("generator: {e}"))?;
    let c1 = read()?;
    // The mixer keeps its clock through the drain: the whole window counts.
    let expected = (traffic.wall.as_secs_f64() / 0.020).floor() as u64;
    let mut off = 0;
    let mut range = (u64::MAX, 0);
    let mut worst_gap = Duration::ZERO;
    let mut interval_ms = (f64::MAX, 0.0f64);
    let mut seq_not_advancing = 0;
    let mut members_with_several_ssrcs = 0;
    for s in generator.sockets.iter().filter(|s| !s.rtcp) {
        seq_not_advancing += s.seq_not_advancing;
        if s.ssrcs.len() > 1 {
            members_with_several_ssrcs += 1;
        }
        if let (Some(a), Some(b), true) = (s.first_at, s.last_at, s.received > 1) {
            let ms = (b - a).as_secs_f64() * 1e3 / (s.received - 1) as f64;
            interval_ms.0 = interval_ms.0.min(ms);
            interval_ms.1 = interval_ms.1.max(ms);
        }
        range.0 = range.0.min(s.received);
        range.1 = range.1.max(s.received);
        worst_gap = worst_gap.max(s.max_gap);
        // Too fast is off cadence as much as too slow: a mean interval
        // under 19 ms means the member got more than 5 % extra packets.
        let too_fast = match (s.first_at, s.last_at) {
            (Some(a), Some(b)) if s.received > 1 => {
                (b - a).as_secs_f64() * 1e3 / ((s.received - 1) as f64) < 19.0
            }
            _ => false,
        };
        if s.received * 100 < expected * 98 || s.max_gap > Duration::from_millis(60) || too_fast {
            off += 1;
        }
    }
    let counters = engine.counters();
    let drops = DropReason::ALL
        .iter()
        .map(|r| (r.label(), counters.iter().map(|c| c.drops(*r)).sum::<u64>()))
        .filter(|(_, n)| *n > 0)
        .collect();
    engine.shutdown();
    Ok(ConferenceResult {
        members: created,
        conferences,
        worker_cpu_seconds: c1 - c0,
        traffic,
        members_off_cadence: off,
        received_range: range,
        worst_gap,
        interval_ms,
        seq_not_advancing,
        members_with_several_ssrcs,
        expected_per_member: expected,
        drops,
        setup,
    })
}

/// Waits for one request's answer, counting other answers against the
/// pipeline.
fn wait_done(
    engine: &Engine,
    request: RequestId,
    pipeline: &mut Pipeline<'_>,
) -> Result<Result<(), CommandError>, String> {
    loop {
        match engine.events().recv_timeout(Duration::from_secs(5)) {
            Ok(Event::Done { request: r, result }) if r == request => return Ok(result),
            Ok(Event::Done { result, .. }) => {
                pipeline.in_flight -= 1;
                if let Err(e) = result {
                    pipeline.failures.push(e.to_string());
                }
            }
            Ok(_) => {}
            Err(_) => return Err("no answer from the worker in 5 s".into()),
        }
    }
}

/// Prints the conference table with the target; returns whether it was met.
pub fn print_table(config: &ConferenceConfig, r: &ConferenceResult) -> bool {
    println!();
    println!(
        "== conference: {} G.711 members in {} conferences of {}, {} s, Tandem engine in-process (1 worker, io_uring) ==",
        r.members, r.conferences, config.size, config.seconds
    );
    let per_core = r.members_per_core();
    println!(
        "{:<40}{:>14}",
        "member setup s",
        format!("{:.2}", r.setup.as_secs_f64())
    );
    println!("{:<40}{:>14}", "packets sent to members", r.traffic.sent[0]);
    println!(
        "{:<40}{:>14}",
        "mixed packets received", r.traffic.received[0]
    );
    println!("{:<40}{:>14}", "expected per member", r.expected_per_member);
    println!(
        "{:<40}{:>14}",
        "received per member (min..max)",
        format!("{}..{}", r.received_range.0, r.received_range.1)
    );
    println!(
        "{:<40}{:>14}",
        "mean output interval ms (min..max)",
        format!("{:.2}..{:.2}", r.interval_ms.0, r.interval_ms.1)
    );
    println!(
        "{:<40}{:>14}",
        "worst output gap ms",
        format!("{:.1}", r.worst_gap.as_secs_f64() * 1e3)
    );
    println!(
        "{:<40}{:>14}",
        "members off the 20 ms cadence", r.members_off_cadence
    );
    println!(
        "{:<40}{:>14}",
        "worker CPU s in window",
        format!("{:.2}", r.worker_cpu_seconds)
    );
    println!(
        "{:<40}{:>14}",
        "worker CPU load (of one core)",
        format!(
            "{:.1}%",
            100.0 * r.worker_cpu_seconds / r.traffic.wall.as_secs_f64().max(1e-9)
        )
    );
    println!(
        "{:<40}{:>14}",
        "members per core (extrapolated)",
        per_core.map_or("-".into(), |v| format!("{v:.0}"))
    );
    let pts: Vec<String> = r
        .traffic
        .payload_types
        .first()
        .map(|pts| {
            pts.iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(pt, n)| format!("PT{pt}={n}"))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "{:<40}{:>14}",
        "mixed packets by payload type",
        pts.join(" ")
    );
    println!(
        "{:<40}{:>14}",
        "RTCP received (not counted)", r.traffic.rtcp
    );
    println!(
        "{:<40}{:>14}",
        "mixed packets, seq not advancing", r.seq_not_advancing
    );
    println!(
        "{:<40}{:>14}",
        "members receiving several SSRCs", r.members_with_several_ssrcs
    );
    let drops: Vec<String> = r.drops.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "{:<40}{:>14}",
        "worker drops",
        if drops.is_empty() {
            "0".into()
        } else {
            drops.join(" ")
        }
    );
    if !r.traffic.kept_cadence() {
        println!(
            "WARNING: the generator fell behind ({} of {} slots late, max lag {:.1} ms)",
            r.traffic.late_slots,
            r.traffic.slots,
            r.traffic.max_lag.as_secs_f64() * 1e3
        );
    }
    let cadence_ok = r.members_off_cadence == 0;
    let ok = cadence_ok && r.drops.is_empty() && per_core.is_some_and(|v| v >= 5000.0);
    println!();
    println!("targets:");
    println!(
        "  conference >= 5,000 G.711 members per core, every member on cadence, no drops: {} per core, {} off cadence, {} dropped  {}",
        per_core.map_or("-".into(), |v| format!("{v:.0}")),
        r.members_off_cadence,
        r.drops.iter().map(|(_, n)| n).sum::<u64>(),
        if ok { "MET" } else { "MISSED" }
    );
    ok
}
