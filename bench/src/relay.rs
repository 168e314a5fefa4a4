//! `relay` and `transcode`: N/2 calls set up over ng exactly as Kamailio
//! sets them up (`offer` with the caller's SDP, `answer` with the callee's,
//! `delete` at the end), RTP from both sides of every call, and the relay's
//! CPU time, loss and added latency.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tandem_ng::bencode::Node;

use crate::child::ChildGuard;
use crate::cpu;
use crate::floor::FloorRelay;
use crate::generator::{Flow, GenReport, Generator};
use crate::ng_client::{NgClient, audio_addr, check_ok, phone_sdp, str_of};
use crate::payload::FrameTable;

/// The system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Tandem's `tandem run`, io_uring backend.
    Tandem,
    /// rtpengine in userspace mode (`--table=-1`).
    Rtpengine,
    /// No relay: callers and callees send to each other directly. The
    /// bench's own floor for latency (kernel loopback plus the
    /// generator's scheduling).
    Loopback,
    /// A relay that only moves datagrams, in the bench's process
    /// ([`crate::floor`]): the floor for CPU per packet on kernel sockets.
    Floor,
}

impl Target {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Target::Tandem => "tandem",
            Target::Rtpengine => "rtpengine",
            Target::Loopback => "loopback",
            Target::Floor => "floor",
        }
    }
}

/// What the callee answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Both sides PCMU: a plain relay.
    Relay,
    /// Caller PCMU, callee G.722 (the offer asks for `transcode: [G722]`).
    Transcode,
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Streams (two per call).
    pub streams: usize,
    /// Seconds of RTP.
    pub seconds: f64,
    /// Relay or transcode.
    pub scenario: Scenario,
    /// The `tandem` binary.
    pub tandem: PathBuf,
    /// The `rtpengine` binary.
    pub rtpengine: PathBuf,
    /// ng port the target listens on.
    pub ng_port: u16,
    /// Media port range of the target.
    pub media_ports: (u16, u16),
    /// `tandem run --workers`.
    pub tandem_workers: usize,
    /// `tandem run --packet-io` (io_uring unless told otherwise).
    pub tandem_packet_io: String,
    /// Receive time after the last send.
    pub drain: Duration,
    /// First port of the generator's RTP/RTCP socket pairs.
    pub generator_ports: u16,
    /// Run the target under `taskset -c` with this CPU list.
    pub target_cpus: Option<String>,
    /// SCHED_FIFO priority of the target's media threads, the same for
    /// both targets.
    pub rt_priority: Option<u8>,
    /// Let `tandem run` pin its workers (else `--no-pin`).
    pub pin_workers: bool,
}

impl RelayConfig {
    /// Defaults for `streams` over `seconds`.
    pub fn new(streams: usize, seconds: f64, tandem: PathBuf) -> Self {
        Self {
            streams,
            seconds,
            scenario: Scenario::Relay,
            tandem,
            rtpengine: PathBuf::from("rtpengine"),
            ng_port: 22_222,
            media_ports: (10_000, 19_999),
            tandem_workers: 1,
            tandem_packet_io: "io_uring".into(),
            drain: Duration::from_millis(500),
            generator_ports: 40_000,
            target_cpus: None,
            rt_priority: None,
            pin_workers: false,
        }
    }
}

/// The figures of one target.
pub struct RelayResult {
    /// Which target.
    pub target: Target,
    /// Calls set up.
    pub calls: usize,
    /// CPU seconds the target used over the traffic window.
    pub cpu_seconds: f64,
    /// CPU seconds the generator (this process) used over it.
    pub generator_cpu_seconds: f64,
    /// The generator's figures.
    pub traffic: GenReport,
    /// Time to set up all calls over ng.
    pub setup: Duration,
    /// ng requests that failed at the end (`delete`).
    pub delete_errors: usize,
    /// Relay addresses the target handed out to more than one call side.
    pub reused_relay_ports: usize,
    /// Tandem's own relay latency histogram after the run
    /// (`tandem_dataplane_relay_latency_seconds`, all workers): upper
    /// bound in µs and cumulative count per bucket.
    pub own_latency: Option<Vec<(f64, u64)>>,
}

impl RelayResult {
    /// Packets the relay forwarded to the generator.
    pub fn relayed(&self) -> u64 {
        self.traffic.received.iter().sum()
    }

    /// Packets sent.
    pub fn sent(&self) -> u64 {
        self.traffic.sent.iter().sum()
    }

    /// Lost packets in a direction (0: caller→callee, 1: callee→caller).
    pub fn lost(&self, direction: usize) -> i64 {
        self.traffic.sent[direction] as i64 - self.traffic.received[direction] as i64
    }

    /// Total loss as a fraction of sent.
    pub fn loss_ratio(&self) -> f64 {
        let sent = self.sent();
        if sent == 0 {
            return 0.0;
        }
        (sent as f64 - self.relayed() as f64) / sent as f64
    }

    /// CPU µs per relayed packet.
    pub fn cpu_us_per_packet(&self) -> Option<f64> {
        let n = self.relayed();
        (n > 0).then(|| self.cpu_seconds * 1e6 / n as f64)
    }

    /// Calls one fully busy core would carry at this cost (calls × wall /
    /// CPU seconds), if the run lost nothing.
    pub fn calls_per_core(&self) -> Option<f64> {
        (self.cpu_seconds > 0.0)
            .then(|| self.calls as f64 * self.traffic.wall.as_secs_f64() / self.cpu_seconds)
    }
}

/// The target's command, under `taskset -c CPUS` when asked (taskset
/// execs the target, so the pid stays the target's).
fn launcher(config: &RelayConfig, program: &std::path::Path) -> Command {
    match &config.target_cpus {
        Some(cpus) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(cpus).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Starts the target, sets up the calls, runs the traffic, deletes the
/// calls and stops the target.
pub fn run(target: Target, config: &RelayConfig) -> Result<RelayResult, String> {
    let calls = config.streams.div_ceil(2).max(1);
    if target == Target::Loopback || target == Target::Floor {
        return run_in_process(target, config, calls);
    }
    let ng_addr = SocketAddr::from(([127, 0, 0, 1], config.ng_port));
    let (lo, hi) = config.media_ports;
    let mut child = match target {
        Target::Tandem => {
            let mut cmd = launcher(config, &config.tandem);
            cmd.arg("run")
                .arg("--ng-listen")
                .arg(ng_addr.to_string())
                .arg("--rtp-ports")
                .arg(format!("{lo}-{hi}"))
                .arg("--rtp-address")
                .arg("127.0.0.1")
                .arg("--packet-io")
                .arg(&config.tandem_packet_io)
                .arg("--workers")
                .arg(config.tandem_workers.to_string())
                .arg("--http-listen")
                .arg(format!("127.0.0.1:{}", metrics_port(config)));
            if let Some(p) = config.rt_priority {
                cmd.arg("--rt-priority").arg(p.to_string());
            }
            if !config.pin_workers {
                cmd.arg("--no-pin");
            }
            ChildGuard::spawn("tandem", cmd)
        }
        Target::Rtpengine => {
            let mut cmd = launcher(config, &config.rtpengine);
            cmd.arg("--table=-1")
                .arg("--interface=127.0.0.1")
                .arg(format!("--listen-ng={ng_addr}"))
                .arg("--foreground")
                .arg("--log-stderr")
                .arg("--log-level=4")
                .arg(format!("--port-min={lo}"))
                .arg(format!("--port-max={hi}"));
            if let Some(p) = config.rt_priority {
                // rtpengine applies it to its media (worker) threads.
                cmd.arg("--scheduling=fifo").arg(format!("--priority={p}"));
            }
            ChildGuard::spawn("rtpengine", cmd)
        }
        Target::Loopback | Target::Floor => unreachable!("handled above"),
    }
    .map_err(|e| format!("starting {}: {e}", target.name()))?;
    let result = drive(target, config, calls, ng_addr, &mut child);
    let result = result.map_err(|e| {
        format!(
            "{}: {e}\n--- last lines of {} ---\n{}",
            target.name(),
            child.log_path().display(),
            child.log_tail(15)
        )
    });
    child.stop();
    result
}

/// The same flows without `tandem run` or rtpengine: each side sends
/// straight to the other (`Loopback`), or through the floor relay in this
/// process (`Floor`).
fn run_in_process(
    target: Target,
    config: &RelayConfig,
    calls: usize,
) -> Result<RelayResult, String> {
    let mut generator = Generator::new(
        vec![FrameTable::pcmu(), FrameTable::g722()],
        config.generator_ports,
    )
    .map_err(|e| format!("generator backend: {e}"))?;
    let setup_start = Instant::now();
    let mut sides = Vec::with_capacity(calls);
    for _ in 0..calls {
        let caller = generator
            .open_socket()
            .map_err(|e| format!("generator socket: {e}"))?;
        let callee = generator
            .open_socket()
            .map_err(|e| format!("generator socket: {e}"))?;
        sides.push((caller, callee));
    }
    let floor = match target {
        Target::Floor => {
            let backend = config
                .tandem_packet_io
                .parse()
                .map_err(|e| format!("floor relay: {e}"))?;
            let pairs: Vec<_> = sides.iter().map(|(a, b)| (a.2, b.2)).collect();
            Some(FloorRelay::start(&pairs, backend)?)
        }
        _ => None,
    };
    for (c, &((caller_i, caller_port, caller_addr), (callee_i, callee_port, callee_addr))) in
        sides.iter().enumerate()
    {
        // Where each side sends: straight to the other, or to the relay.
        let (to_callee, to_caller) = match &floor {
            Some(f) => f.addrs[c],
            None => (callee_addr, caller_addr),
        };
        let caller_flow = generator.flows.len();
        let ssrc = 0x1000_0000u32.wrapping_add((c as u32).wrapping_mul(2));
        let (pt, table) = match config.scenario {
            Scenario::Relay => (0, 0),
            Scenario::Transcode => (9, 1),
        };
        generator
            .flows
            .push(Flow::new(caller_port, to_callee, 0, 0, 0, ssrc));
        generator
            .flows
            .push(Flow::new(callee_port, to_caller, pt, table, 1, ssrc + 1));
        generator.sockets[callee_i].direction = 0;
        generator.sockets[callee_i].source = Some(caller_flow);
        generator.sockets[caller_i].direction = 1;
        generator.sockets[caller_i].source = Some(caller_flow + 1);
    }
    let setup = setup_start.elapsed();
    let ticks = cpu::clock_ticks();
    let me = std::process::id();
    let relay_cpu = |f: &Option<FloorRelay>| f.as_ref().map_or(Ok(0.0), FloorRelay::cpu_seconds);
    let (g0, r0) = (
        cpu::process_cpu_seconds(me, ticks).map_err(|e| e.to_string())?,
        relay_cpu(&floor)?,
    );
    let traffic = generator
        .run(Duration::from_secs_f64(config.seconds), config.drain, 2)
        .map_err(|e| format!("generator: {e}"))?;
    let (g1, r1) = (
        cpu::process_cpu_seconds(me, ticks).map_err(|e| e.to_string())?,
        relay_cpu(&floor)?,
    );
    if let Some(f) = floor {
        f.stop()?;
    }
    Ok(RelayResult {
        target,
        calls,
        cpu_seconds: r1 - r0,
        generator_cpu_seconds: (g1 - g0) - (r1 - r0),
        traffic,
        setup,
        delete_errors: 0,
        reused_relay_ports: 0,
        own_latency: None,
    })
}

fn drive(
    target: Target,
    config: &RelayConfig,
    calls: usize,
    ng_addr: SocketAddr,
    child: &mut ChildGuard,
) -> Result<RelayResult, String> {
    let mut ng = NgClient::new(ng_addr).map_err(|e| format!("ng socket: {e}"))?;
    if let Err(e) = ng.wait_ready(Duration::from_secs(10)) {
        if let Some(status) = child.exited() {
            return Err(format!("exited at start ({status})"));
        }
        return Err(e);
    }
    let mut generator = Generator::new(
        vec![FrameTable::pcmu(), FrameTable::g722()],
        config.generator_ports,
    )
    .map_err(|e| format!("generator backend: {e}"))?;
    let tag = std::process::id();
    let setup_start = Instant::now();
    let mut call_ids = Vec::with_capacity(calls);
    let mut relay_addrs = std::collections::HashSet::new();
    let mut reused_relay_ports = 0usize;
    for c in 0..calls {
        let (caller_i, caller_port, caller_addr) = generator
            .open_socket()
            .map_err(|e| format!("generator socket: {e}"))?;
        let (callee_i, callee_port, callee_addr) = generator
            .open_socket()
            .map_err(|e| format!("generator socket: {e}"))?;
        let call_id = format!("bench-{tag}-{c}@127.0.0.1");
        let from_tag = format!("caller-{c}");
        let to_tag = format!("callee-{c}");
        let via = format!("z9hG4bK-{tag}-{c}");
        let mut offer = Node::dict()
            .with("command", Node::str("offer"))
            .with("call-id", Node::str(&call_id))
            .with("from-tag", Node::str(&from_tag))
            .with("via-branch", Node::str(&via))
            .with(
                "sdp",
                Node::str(&phone_sdp(c as u64, caller_addr.port(), &[(0, "PCMU")])),
            )
            .with("received-from", Node::str_list(["IP4", "127.0.0.1"]))
            .with("replace", Node::str_list(["origin", "session-connection"]))
            .with("ICE", Node::str("remove"))
            .with("flags", Node::str_list(["trust-address"]));
        if config.scenario == Scenario::Transcode {
            offer.insert(
                "codec",
                Node::dict().with("transcode", Node::str_list(["G722"])),
            );
        }
        let reply = check_ok(ng.call(&offer, Duration::from_secs(2))?)
            .map_err(|e| format!("offer of call {c}: {e}"))?;
        let to_callee = str_of(&reply, "sdp")
            .and_then(audio_addr)
            .ok_or_else(|| format!("offer of call {c}: no audio address in the reply SDP"))?;
        let callee_codec = match config.scenario {
            Scenario::Relay => (0, "PCMU"),
            Scenario::Transcode => (9, "G722"),
        };
        let answer = Node::dict()
            .with("command", Node::str("answer"))
            .with("call-id", Node::str(&call_id))
            .with("from-tag", Node::str(&from_tag))
            .with("to-tag", Node::str(&to_tag))
            .with("via-branch", Node::str(&via))
            .with(
                "sdp",
                Node::str(&phone_sdp(
                    1_000_000 + c as u64,
                    callee_addr.port(),
                    &[callee_codec],
                )),
            )
            .with("received-from", Node::str_list(["IP4", "127.0.0.1"]))
            .with("replace", Node::str_list(["origin", "session-connection"]))
            .with("ICE", Node::str("remove"))
            .with("flags", Node::str_list(["trust-address"]));
        let reply = check_ok(ng.call(&answer, Duration::from_secs(2))?)
            .map_err(|e| format!("answer of call {c}: {e}"))?;
        let to_caller = str_of(&reply, "sdp")
            .and_then(audio_addr)
            .ok_or_else(|| format!("answer of call {c}: no audio address in the reply SDP"))?;
        let caller_flow = generator.flows.len();
        let ssrc = 0x1000_0000u32.wrapping_add((c as u32).wrapping_mul(2));
        generator
            .flows
            .push(Flow::new(caller_port, to_caller, 0, 0, 0, ssrc));
        let (pt, table) = match config.scenario {
            Scenario::Relay => (0, 0),
            Scenario::Transcode => (9, 1),
        };
        generator
            .flows
            .push(Flow::new(callee_port, to_callee, pt, table, 1, ssrc + 1));
        // What the caller sends arrives at the callee, and back.
        generator.sockets[callee_i].direction = 0;
        generator.sockets[callee_i].source = Some(caller_flow);
        generator.sockets[caller_i].direction = 1;
        generator.sockets[caller_i].source = Some(caller_flow + 1);
        for a in [to_caller, to_callee] {
            if !relay_addrs.insert(a) {
                if reused_relay_ports == 0 {
                    eprintln!(
                        "tandem-bench: {}: call {c} was given relay port {a}, already given to another call",
                        target.name()
                    );
                }
                reused_relay_ports += 1;
            }
        }
        call_ids.push((call_id, from_tag, to_tag));
    }
    generator.transcoding = config.scenario == Scenario::Transcode;
    generator.transcoding = config.scenario == Scenario::Transcode;
    let setup = setup_start.elapsed();
    // Let the target settle (rtpengine logs, tandem's workers idle).
    std::thread::sleep(Duration::from_millis(300));
    generator
        .discard_pending(calls as u64 + 10, Duration::from_secs(2))
        .map_err(|e| format!("generator: {e}"))?;
    let ticks = cpu::clock_ticks();
    let pid = child.pid();
    let me = std::process::id();
    let read = |p| cpu::process_cpu_seconds(p, ticks).map_err(|e| format!("/proc/{p}/stat: {e}"));
    let (t0, g0) = (read(pid)?, read(me)?);
    let traffic = generator
        .run(Duration::from_secs_f64(config.seconds), config.drain, 2)
        .map_err(|e| format!("generator: {e}"))?;
    let (t1, g1) = (read(pid)?, read(me)?);
    let own_latency = match target {
        Target::Tandem => own_latency(&crate::sip::http_get(metrics_port(config), "/metrics")),
        _ => None,
    };
    let mut delete_errors = 0;
    for (call_id, from_tag, to_tag) in &call_ids {
        let delete = Node::dict()
            .with("command", Node::str("delete"))
            .with("call-id", Node::str(call_id))
            .with("from-tag", Node::str(from_tag))
            .with("to-tag", Node::str(to_tag));
        if let Err(e) = ng.call(&delete, Duration::from_secs(2)).and_then(check_ok) {
            if delete_errors == 0 {
                eprintln!(
                    "tandem-bench: {}: first failed delete ({call_id}): {e}",
                    target.name()
                );
            }
            delete_errors += 1;
        }
    }
    let _ = target;
    Ok(RelayResult {
        target,
        calls,
        cpu_seconds: t1 - t0,
        generator_cpu_seconds: g1 - g0,
        traffic,
        setup,
        delete_errors,
        reused_relay_ports,
        own_latency,
    })
}

/// The port Tandem serves `/metrics` on in a run: the ng port's next.
fn metrics_port(config: &RelayConfig) -> u16 {
    config.ng_port.wrapping_add(1)
}

/// Sums `tandem_dataplane_relay_latency_seconds` over the workers in a
/// `/metrics` text: (upper bound in µs, cumulative count) by bucket,
/// `+Inf` last as infinity. `None` when the family is absent.
pub fn own_latency(metrics: &str) -> Option<Vec<(f64, u64)>> {
    let mut buckets: Vec<(f64, u64)> = Vec::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("tandem_dataplane_relay_latency_seconds_bucket{") else {
            continue;
        };
        let (labels, value) = rest.split_once("} ")?;
        let le = labels.split(',').find_map(|l| l.strip_prefix("le=\""))?;
        let le = le.trim_end_matches('"');
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse::<f64>().ok()? * 1e6
        };
        let n: u64 = value.trim().parse().ok()?;
        match buckets.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, total)) => *total += n,
            None => buckets.push((bound, n)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    (!buckets.is_empty()).then_some(buckets)
}

/// The upper bound (µs) of the bucket holding quantile `q` of a
/// histogram from [`own_latency`].
pub fn bucket_quantile(buckets: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let want = (q * total as f64).ceil() as u64;
    buckets.iter().find(|(_, n)| *n >= want).map(|(b, _)| *b)
}

/// Formats an optional figure.
fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "MET" } else { "MISSED" }
}

/// Prints the side-by-side table of one or two targets (rtpengine first)
/// with the ratio column and the targets, and returns whether every target
/// that applies was met.
pub fn print_table(config: &RelayConfig, results: &[RelayResult]) -> bool {
    let what = match config.scenario {
        Scenario::Relay => "relay, PCMU both ways",
        Scenario::Transcode => "transcode, caller PCMU <-> callee G.722",
    };
    let calls = results.first().map_or(0, |r| r.calls);
    println!();
    println!(
        "== {what}: {calls} calls, {} streams, {} s of 20 ms RTP (172-byte packets), loopback ==",
        calls * 2,
        config.seconds
    );
    if let Some(p) = config.rt_priority {
        println!("   media threads of both targets at SCHED_FIFO priority {p}");
    }
    let mut header = format!("{:<34}", "");
    for r in results {
        header.push_str(&format!("{:>14}", r.target.name()));
    }
    // The ratio column compares the first two: rtpengine, then tandem.
    let both = matches!(
        results,
        [a, b, ..] if a.target == Target::Rtpengine && b.target == Target::Tandem
    );
    if both {
        header.push_str(&format!("{:>12}", "rtpe/tandem"));
    }
    println!("{header}");
    let row = |name: &str, vals: Vec<String>, ratio: Option<f64>| {
        let mut line = format!("{name:<34}");
        for v in &vals {
            line.push_str(&format!("{v:>14}"));
        }
        if both {
            line.push_str(&format!("{:>12}", opt(ratio, 2)));
        }
        println!("{line}");
    };
    let each = |f: &dyn Fn(&RelayResult) -> Option<f64>| -> Vec<Option<f64>> {
        results.iter().map(f).collect()
    };
    let ratio = |v: &[Option<f64>]| -> Option<f64> {
        match v {
            [Some(a), Some(b), ..] if *b > 0.0 => Some(a / b),
            _ => None,
        }
    };
    let show = |name: &str, f: &dyn Fn(&RelayResult) -> Option<f64>, d: usize, with_ratio: bool| {
        let v = each(f);
        row(
            name,
            v.iter().map(|x| opt(*x, d)).collect(),
            if with_ratio { ratio(&v) } else { None },
        );
        v
    };
    show("packets sent", &|r| Some(r.sent() as f64), 0, false);
    show("packets relayed", &|r| Some(r.relayed() as f64), 0, false);
    show(
        "relayed packets/s",
        &|r| Some(r.relayed() as f64 / r.traffic.send_wall.as_secs_f64().max(1e-9)),
        0,
        false,
    );
    show("lost caller->callee", &|r| Some(r.lost(0) as f64), 0, false);
    show("lost callee->caller", &|r| Some(r.lost(1) as f64), 0, false);
    show("loss %", &|r| Some(r.loss_ratio() * 100.0), 3, false);
    show("target CPU s in window", &|r| Some(r.cpu_seconds), 2, true);
    let per_packet = show(
        "CPU us per relayed packet",
        &|r| r.cpu_us_per_packet(),
        3,
        true,
    );
    show(
        "calls per core (extrapolated)",
        &|r| r.calls_per_core(),
        0,
        false,
    );
    show(
        "latency p50 us",
        &|r| r.traffic.latency.quantile_us(0.5),
        0,
        true,
    );
    let p99 = show(
        "latency p99 us",
        &|r| r.traffic.latency.quantile_us(0.99),
        0,
        true,
    );
    show("latency max us", &|r| r.traffic.latency.max_us(), 0, true);
    // Tandem's own view, arrival at the host (kernel receive timestamp) to
    // the relayed copy sent: bucket bounds.
    show(
        "own relay latency p50 us (<=)",
        &|r| {
            r.own_latency
                .as_deref()
                .and_then(|b| bucket_quantile(b, 0.5))
        },
        0,
        false,
    );
    show(
        "own relay latency p99 us (<=)",
        &|r| {
            r.own_latency
                .as_deref()
                .and_then(|b| bucket_quantile(b, 0.99))
        },
        0,
        false,
    );
    show(
        "latency samples",
        &|r| Some(r.traffic.latency.count() as f64),
        0,
        false,
    );
    show(
        "unmatched packets",
        &|r| Some(r.traffic.unmatched as f64),
        0,
        false,
    );
    show(
        "  of which foreign SSRC",
        &|r| Some(r.traffic.foreign_ssrc as f64),
        0,
        false,
    );
    show(
        "  of which stale (> 64 old)",
        &|r| Some(r.traffic.stale as f64),
        0,
        false,
    );
    show(
        "PT received by callee (mostly)",
        &|r| r.traffic.main_payload_type(0).map(f64::from),
        0,
        false,
    );
    show(
        "PT received by caller (mostly)",
        &|r| r.traffic.main_payload_type(1).map(f64::from),
        0,
        false,
    );
    show(
        "RTCP received (not counted)",
        &|r| Some(r.traffic.rtcp as f64),
        0,
        false,
    );
    show(
        "relay ports given twice",
        &|r| Some(r.reused_relay_ports as f64),
        0,
        false,
    );
    show(
        "duplicate packets",
        &|r| Some(r.traffic.duplicates as f64),
        0,
        false,
    );
    show(
        "generator CPU s",
        &|r| Some(r.generator_cpu_seconds),
        2,
        false,
    );
    show(
        "generator late slots",
        &|r| Some(r.traffic.late_slots as f64),
        0,
        false,
    );
    show(
        "generator max lag us",
        &|r| Some(r.traffic.max_lag.as_secs_f64() * 1e6),
        0,
        false,
    );
    show(
        "generator send failures",
        &|r| Some(r.traffic.send_failures as f64),
        0,
        false,
    );
    show(
        "call setup s (ng)",
        &|r| Some(r.setup.as_secs_f64()),
        2,
        false,
    );
    show("delete errors", &|r| Some(r.delete_errors as f64), 0, false);
    for r in results {
        if !r.traffic.kept_cadence() {
            println!(
                "WARNING: the generator fell behind during the {} run ({} of {} slots late by > 2 ms, max lag {:.1} ms, {} send failures): its figures understate the offered load",
                r.target.name(),
                r.traffic.late_slots,
                r.traffic.slots,
                r.traffic.max_lag.as_secs_f64() * 1e3,
                r.traffic.send_failures
            );
        }
    }
    println!();
    println!("targets:");
    let mut all = true;
    let tandem = results.iter().find(|r| r.target == Target::Tandem);
    match config.scenario {
        Scenario::Relay => {
            if let (true, Some(r)) = (both, ratio(&per_packet)) {
                let ok = r >= 3.0;
                all &= ok;
                println!(
                    "  relay CPU per packet >= 3x less than rtpengine: {r:.2}x  {}",
                    verdict(ok)
                );
            } else {
                println!(
                    "  relay CPU per packet >= 3x less than rtpengine: not measured (needs --target both)"
                );
            }
            let floor = results.iter().find(|r| r.target == Target::Floor);
            if let (true, Some(f)) = (both, floor.and_then(RelayResult::cpu_us_per_packet)) {
                let need = per_packet[0].unwrap_or(0.0) / 3.0;
                println!(
                    "  (the floor relay spends {f:.3} us per packet on kernel sockets; 3x under rtpengine is {need:.3} us)"
                );
            }
            if let Some(t) = tandem {
                let lost = t.sent() as i64 - t.relayed() as i64;
                let ok = lost == 0;
                if t.calls >= 1000 {
                    all &= ok;
                    println!(
                        "  zero loss at 1,000 calls (100,000 packets/s): {} calls, {lost} lost  {}",
                        t.calls,
                        verdict(ok)
                    );
                } else {
                    println!(
                        "  zero loss at 1,000 calls: not applicable at {} calls ({lost} lost here)",
                        t.calls
                    );
                }
            }
        }
        Scenario::Transcode => {
            if let Some(t) = tandem {
                let per_core = t.calls_per_core().unwrap_or(0.0);
                let ok = per_core >= 2000.0 && t.sent() == t.relayed();
                all &= ok;
                println!(
                    "  transcode >= 2,000 PCMU<->G.722 calls per core: {per_core:.0} (at {} calls, {} lost)  {}",
                    t.calls,
                    t.sent() as i64 - t.relayed() as i64,
                    verdict(ok)
                );
            }
        }
    }
    if let Some(t) = tandem {
        let p = t.traffic.latency.quantile_us(0.99);
        let ok = p.is_some_and(|p| p < 1000.0);
        all &= ok;
        println!(
            "  tandem added latency p99 < 1 ms: {} us  {}",
            opt(p, 0),
            verdict(ok)
        );
    }
    let _ = p99;
    all
}

#[cfg(test)]
mod own_latency_tests {
    use super::{bucket_quantile, own_latency};

    #[test]
    fn workers_are_summed_and_quantiles_read_off_the_buckets() {
        let text = "\
# TYPE tandem_dataplane_relay_latency_seconds histogram
tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"0.00005\"} 10
tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"0.0001\"} 90
tandem_dataplane_relay_latency_seconds_bucket{worker=\"0\",le=\"+Inf\"} 100
tandem_dataplane_relay_latency_seconds_bucket{worker=\"1\",le=\"0.00005\"} 0
tandem_dataplane_relay_latency_seconds_bucket{worker=\"1\",le=\"0.0001\"} 0
tandem_dataplane_relay_latency_seconds_bucket{worker=\"1\",le=\"+Inf\"} 100
tandem_dataplane_relay_latency_seconds_sum{worker=\"0\"} 0.1
";
        let b = own_latency(text).unwrap();
        assert_eq!(b.len(), 3);
        assert!((b[0].0 - 50.0).abs() < 1e-6 && b[0].1 == 10);
        assert_eq!((b[1].1, b[2].1), (90, 200));
        assert!(b[2].0.is_infinite());
        assert_eq!(bucket_quantile(&b, 0.05), Some(50.0));
        assert_eq!(bucket_quantile(&b, 0.45), Some(100.0));
        assert_eq!(bucket_quantile(&b, 0.99), Some(f64::INFINITY));
        assert_eq!(own_latency("tandem_sip_active_calls 3\n"), None);
        assert_eq!(bucket_quantile(&[(50.0, 0)], 0.5), None);
    }
}
