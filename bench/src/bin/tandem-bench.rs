//! `tandem-bench`: load generator comparing Tandem with rtpengine on
//! loopback. See the `tandem_bench` crate docs.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tandem_bench::acd;
use tandem_bench::conference::{self, ConferenceConfig};
use tandem_bench::relay::{self, RelayConfig, Scenario, Target};
use tandem_bench::sip::{self, SipConfig, SipTarget};

#[derive(Parser)]
#[command(
    name = "tandem-bench",
    about = "Loopback load tests: Tandem vs rtpengine"
)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Tandem,
    Rtpengine,
    Both,
    /// No relay (the bench's own latency floor).
    Loopback,
    /// A relay in the bench that only moves datagrams (the CPU floor of a
    /// relay on kernel sockets).
    Floor,
    /// rtpengine, tandem and floor.
    All,
}

#[derive(clap::Args)]
struct RelayArgs {
    /// RTP streams (two per call).
    #[arg(long, default_value_t = 200)]
    streams: usize,
    /// Seconds of RTP.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// System under test.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    target: Which,
    /// The tandem binary (default: `tandem` next to this binary).
    #[arg(long)]
    tandem: Option<PathBuf>,
    /// The rtpengine binary.
    #[arg(long, default_value = "rtpengine")]
    rtpengine: PathBuf,
    /// ng port the target listens on (127.0.0.1).
    #[arg(long, default_value_t = 22_222)]
    ng_port: u16,
    /// `tandem run --workers`.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Pin the target to these CPUs (`taskset -c`, e.g. `1`); pin the
    /// bench itself with `taskset -c 0 tandem-bench ...`.
    #[arg(long)]
    target_cpus: Option<String>,
    /// `tandem run --packet-io` (auto, io_uring, socket); for
    /// `transcode`, `dpdk` runs the engine in-process on DPDK instead.
    #[arg(long, default_value = "io_uring")]
    packet_io: String,
    /// Run both targets' media threads at this SCHED_FIFO priority (1-99):
    /// `tandem run --rt-priority N`, `rtpengine --scheduling=fifo
    /// --priority=N`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=99))]
    rt_priority: Option<u8>,
    /// Let `tandem run` pin worker i to CPU i (its default). Without this
    /// the bench passes `--no-pin`: the generator shares the CPUs, and a
    /// worker pinned to the generator's CPU cannot move away from it, while
    /// rtpengine's threads can.
    #[arg(long)]
    pin_workers: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SipWhich {
    Tandem,
    Kamailio,
    Both,
}

#[derive(clap::Args)]
struct SipArgs {
    /// System under test: `tandem run` as a B2BUA (media anchored) or
    /// Kamailio as a stateful relay.
    #[arg(long, value_enum, default_value_t = SipWhich::Both)]
    target: SipWhich,
    /// One step at this many calls/s (instead of the --rates steps); with
    /// --hold, the setup rate.
    #[arg(long)]
    rate: Option<u32>,
    /// Steps of offered calls/s.
    #[arg(long, value_delimiter = ',', default_value = "200,500,1000,1500")]
    rates: Vec<u32>,
    /// Calls per step (default: --step-seconds worth at each rate).
    #[arg(long)]
    calls: Option<usize>,
    /// Seconds of calls per step when --calls is not given.
    #[arg(long, default_value_t = 10.0)]
    step_seconds: f64,
    /// At most this many calls open at once (SIPp -l; default: no cap).
    #[arg(long)]
    concurrent: Option<usize>,
    /// Call hold in the calls-per-second steps, ms (SIPp -d).
    #[arg(long, default_value_t = 0)]
    hold_ms: u64,
    /// Instead of the steps: set up N calls, hold them all, report memory
    /// per call.
    #[arg(long)]
    hold: Option<usize>,
    /// The tandem binary (default: `tandem` next to this binary).
    #[arg(long)]
    tandem: Option<PathBuf>,
    /// The kamailio binary.
    #[arg(long, default_value = "kamailio")]
    kamailio: PathBuf,
    /// The sipp binary.
    #[arg(long, default_value = "sipp")]
    sipp: PathBuf,
    /// `tandem run --rtp-ports`.
    #[arg(long, default_value = "16000-60999")]
    rtp_ports: String,
    /// `tandem run --rtp-address` (media sockets bind there).
    #[arg(long, default_value = "127.0.0.2")]
    rtp_address: String,
    /// `tandem run --workers`.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Kamailio UDP worker processes.
    #[arg(long, default_value_t = 2)]
    kamailio_children: usize,
    /// Where logs and SIPp's CSV files go (default: a fresh directory in
    /// the temporary directory).
    #[arg(long)]
    workdir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Mode {
    /// SIP calls per second (and --hold: calls held) through the B2BUA
    /// and through Kamailio, SIPp on both ends.
    Sip(SipArgs),
    /// PCMU both ways through the relay.
    Relay(RelayArgs),
    /// Caller PCMU, callee G.722 (transcoding).
    Transcode(RelayArgs),
    /// The ACD in-process: decision latency and a day of traffic.
    Acd {
        /// Decisions timed per kind and size.
        #[arg(long, default_value_t = 20_000)]
        samples: usize,
        /// Seats of the simulated day.
        #[arg(long, default_value_t = 2000)]
        seats: u32,
        /// Calls of the simulated day.
        #[arg(long, default_value_t = 100_000)]
        calls: u32,
    },
    /// The packet backends alone, in-process: a closed-loop relay between
    /// two ports, io_uring on loopback beside DPDK on a net_ring device
    /// (the latter with the `dpdk` feature).
    Backend {
        /// Datagrams relayed per backend.
        #[arg(long, default_value_t = 2_000_000)]
        packets: u64,
        /// Datagrams circulating at once (at most the worker's burst,
        /// 32, in the engine's relay path).
        #[arg(long, default_value_t = 256)]
        in_flight: usize,
        /// Seconds of the engine relay path on each backend.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Tandem's conference mixer in-process.
    Conference {
        /// Members in all.
        #[arg(long, default_value_t = 300)]
        members: usize,
        /// Members per conference (3..10).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(3..=10))]
        size: u16,
        /// Seconds of RTP.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// First local port for members' legs.
        #[arg(long, default_value_t = 10_000)]
        first_port: u16,
        /// Packet backend: io_uring (members on loopback sockets), or dpdk
        /// (a ring pair in this process, no kernel; needs the dpdk feature).
        #[arg(long, default_value = "io_uring")]
        backend: String,
    },
}

fn backend_mode(packets: u64, in_flight: usize, path_seconds: f64) -> Result<bool, String> {
    let uring = tandem_bench::backend::run_uring(in_flight, packets)?;
    #[cfg(feature = "dpdk")]
    let results = vec![uring, tandem_bench::backend::run_dpdk(in_flight, packets)?];
    #[cfg(not(feature = "dpdk"))]
    let results = {
        eprintln!("tandem-bench: built without the dpdk feature: io_uring only");
        vec![uring]
    };
    tandem_bench::backend::print_table(&results);
    println!();
    let in_flight = in_flight.min(tandem_dataplane::worker::BURST) as u64;
    let uring = tandem_bench::engine_path::run_uring(in_flight, path_seconds)?;
    #[cfg(feature = "dpdk")]
    let paths = vec![
        uring,
        tandem_bench::engine_path::run_dpdk(in_flight, path_seconds)?,
    ];
    #[cfg(not(feature = "dpdk"))]
    let paths = vec![uring];
    tandem_bench::engine_path::print_table(&paths);
    Ok(true)
}

/// `transcode --packet-io dpdk`: the engine in-process on a DPDK ring
/// port, the generator on the port wired to it (rtpengine cannot run
/// there, so no side-by-side; the io_uring run is the comparison).
#[cfg(feature = "dpdk")]
fn dpdk_mode(args: &RelayArgs, scenario: Scenario) -> Result<bool, String> {
    use tandem_bench::dpdk_runs;
    match scenario {
        Scenario::Transcode => {
            let calls = args.streams.div_ceil(2).max(1);
            let r = dpdk_runs::run_transcode(calls, args.seconds)?;
            Ok(dpdk_runs::print_transcode_table(args.seconds, &r))
        }
        Scenario::Relay => Err(
            "relay --packet-io dpdk: the relay path on DPDK is measured by `tandem-bench backend`"
                .into(),
        ),
    }
}

#[cfg(not(feature = "dpdk"))]
fn dpdk_mode(_args: &RelayArgs, _scenario: Scenario) -> Result<bool, String> {
    Err("--packet-io dpdk: this tandem-bench was built without the dpdk feature".into())
}

fn default_tandem() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("tandem")))
        .unwrap_or_else(|| PathBuf::from("tandem"))
}

fn relay_mode(args: RelayArgs, scenario: Scenario) -> Result<bool, String> {
    if args.packet_io == "dpdk" {
        return dpdk_mode(&args, scenario);
    }
    let mut config = RelayConfig::new(
        args.streams,
        args.seconds,
        args.tandem.unwrap_or_else(default_tandem),
    );
    config.scenario = scenario;
    config.rtpengine = args.rtpengine;
    config.ng_port = args.ng_port;
    config.tandem_workers = args.workers;
    config.tandem_packet_io = args.packet_io;
    config.target_cpus = args.target_cpus;
    config.rt_priority = args.rt_priority;
    config.pin_workers = args.pin_workers;
    let targets: &[Target] = match args.target {
        Which::Tandem => &[Target::Tandem],
        Which::Rtpengine => &[Target::Rtpengine],
        Which::Both => &[Target::Rtpengine, Target::Tandem],
        Which::Loopback => &[Target::Loopback],
        Which::Floor => &[Target::Floor],
        Which::All => &[Target::Rtpengine, Target::Tandem, Target::Floor],
    };
    let mut results = Vec::new();
    for &t in targets {
        eprintln!(
            "tandem-bench: {}: {} streams for {} s...",
            t.name(),
            config.streams,
            config.seconds
        );
        results.push(relay::run(t, &config)?);
        // Let the target's ports be released.
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    Ok(relay::print_table(&config, &results))
}

fn sip_mode(args: SipArgs) -> Result<bool, String> {
    let mut config = SipConfig::new(args.tandem.unwrap_or_else(default_tandem));
    config.kamailio = args.kamailio;
    config.sipp = args.sipp;
    config.rates = match args.rate {
        Some(r) => vec![r],
        None => args.rates,
    };
    config.calls = args.calls;
    config.step_seconds = args.step_seconds;
    config.concurrent = args.concurrent;
    config.hold_ms = args.hold_ms;
    let (lo, hi) = args
        .rtp_ports
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| format!("--rtp-ports {}: expected LO-HI", args.rtp_ports))?;
    config.rtp_ports = (lo, hi);
    config.rtp_address = args.rtp_address;
    config.tandem_workers = args.workers;
    config.kamailio_children = args.kamailio_children;
    if let Some(w) = args.workdir {
        config.workdir = w;
    }
    let targets: &[SipTarget] = match args.target {
        SipWhich::Tandem => &[SipTarget::Tandem],
        SipWhich::Kamailio => &[SipTarget::Kamailio],
        SipWhich::Both => &[SipTarget::Kamailio, SipTarget::Tandem],
    };
    if let Some(n) = args.hold {
        let rate = args.rate.unwrap_or(500);
        let mut results = Vec::new();
        for &t in targets {
            eprintln!("tandem-bench: sip: {}: {n} calls held...", t.name());
            results.push(sip::run_hold(t, &config, n, rate)?);
        }
        return Ok(sip::print_hold(&results));
    }
    let mut results = Vec::new();
    for &rate in &config.rates {
        for &t in targets {
            eprintln!("tandem-bench: sip: {}: {rate} calls/s...", t.name());
            results.push(sip::run_step(t, &config, rate)?);
            // Let the ports and Kamailio's processes go.
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
    Ok(sip::print_steps(&config, &results))
}

fn acd_mode(samples: usize, seats: u32, calls: u32) -> Result<bool, String> {
    let small = acd::decisions(1_000, 100, samples)?;
    let large = acd::decisions(10_000, 1_000, samples)?;
    let day = acd::day(seats, calls)?;
    Ok(acd::print_tables(&[small, large], &day))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.mode {
        Mode::Sip(a) => sip_mode(a),
        Mode::Relay(a) => relay_mode(a, Scenario::Relay),
        Mode::Transcode(a) => relay_mode(a, Scenario::Transcode),
        Mode::Acd {
            samples,
            seats,
            calls,
        } => acd_mode(samples, seats, calls),
        Mode::Backend {
            packets,
            in_flight,
            seconds,
        } => backend_mode(packets, in_flight, seconds),
        Mode::Conference {
            members,
            size,
            seconds,
            first_port,
            backend,
        } => {
            let config = ConferenceConfig {
                members,
                size: usize::from(size),
                seconds,
                first_port,
                generator_ports: 40_000,
            };
            match backend.as_str() {
                "io_uring" => {
                    conference::run(&config).map(|r| conference::print_table(&config, &r))
                }
                #[cfg(feature = "dpdk")]
                "dpdk" => tandem_bench::dpdk_runs::run(&config)
                    .map(|r| tandem_bench::dpdk_runs::print_table(&config, &r)),
                other => Err(format!(
                    "--backend {other}: io_uring, or dpdk in builds with the dpdk feature"
                )),
            }
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        // Measured, but a target was missed: the table says which.
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("tandem-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
