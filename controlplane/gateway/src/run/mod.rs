//! `tandem run`: the gateway.
//!
//! One process, three fronts on one media engine:
//!
//! - the SIP B2BUA ([`b2bua`]) on `sip.listen` (UDP and TCP) and
//!   `sip.tls_listen` (TLS), with trunks, routes and call records from the
//!   configuration;
//! - the rtpengine-compatible ng control port (`--ng-listen`), for
//!   Kamailio's and OpenSIPS's `rtpengine` modules;
//! - HTTP on `--http-listen`: `GET /metrics` and `GET /health`.
//!
//! With `--ng-listen` and neither `--config` nor `--sip-listen`, SIP is
//! off: Tandem is a media relay under a proxy, as before the B2BUA came.
//!
//! Threads: media workers (one per `media.workers`, pinned), SIP readers
//! (UDP, one per TCP or TLS connection; they decrypt and parse), the ng
//! reader, the HTTP server, the CDR writer, a signal watcher, and this
//! control thread, which owns every protocol state machine and waits on
//! all their channels at once.
//!
//! Signals: SIGTERM (or SIGINT) drains: new calls get 503, calls in
//! progress may finish for `drain.timeout`, then the rest are hung up and
//! recorded. SIGHUP re-reads `--config` and swaps trunks and routes for the
//! next call; calls in progress are untouched.

mod b2bua;
mod callcenter;
mod dpdk;
mod hub;
pub(crate) mod kpi_metrics;
mod lookup;
mod media;
mod metrics;
mod net;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use crossbeam_channel::{Receiver, bounded, select};
use prometheus::Registry;
use tandem_dataplane::engine::{Engine, EngineConfig};
use tandem_ng::{NgConfig, NgServer};
use tandem_sip::transaction::TimerConfig;
use tandem_udp::{Backend, UdpConfig, UdpIo};

use crate::cdr::{CdrStore, CdrWriter, WriterConfig};
use crate::cli::CliError;
use crate::config::{Config, Overrides};
use crate::http::{Health, HttpMetrics, HttpServer, gateway_router};
use b2bua::{B2bua, Effect, SipSettings};
pub(crate) use callcenter::{MonitorMode, Services, Supervise};
use hub::{Front, MediaHub};
use media::{EngineMedia, MediaSettings};
use net::{NetCounters, NetInput, SipNet};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The configuration file (TOML; see docs/config.md). Without it,
    /// built-in defaults: SIP on 0.0.0.0:5060, no routes.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// SIP address (UDP and TCP), overriding `sip.listen`.
    #[arg(long, value_name = "ADDR:PORT")]
    sip_listen: Option<SocketAddr>,
    /// Serve /metrics and /health on this address (`http.listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    http_listen: Option<SocketAddr>,
    /// Call-record database (`cdr.database`).
    #[arg(long, value_name = "PATH")]
    cdr_db: Option<PathBuf>,
    /// A route, PREFIX=sip:HOST:PORT[;transport=tcp] (repeatable; an empty
    /// prefix is the default route).
    #[arg(long = "route", value_name = "PREFIX=URI")]
    routes: Vec<String>,
    /// Serve the rtpengine ng control protocol on this UDP address.
    #[arg(long, value_name = "ADDR:PORT")]
    ng_listen: Option<SocketAddr>,
    /// Media ports to allocate from, e.g. 30000-39999 (even ports are RTP).
    #[arg(long, value_name = "LO-HI", value_parser = parse_range)]
    rtp_ports: Option<(u16, u16)>,
    /// Address media ports bind to and SDP advertises (default
    /// `media.rtp_address`; with only --ng-listen, the ng address, or
    /// 127.0.0.1 if that is a wildcard).
    #[arg(long, value_name = "IP")]
    rtp_address: Option<IpAddr>,
    /// Media worker threads (`media.workers`).
    #[arg(long)]
    workers: Option<usize>,
    /// Packet backend: auto (io_uring, falling back to sockets), io_uring,
    /// socket, dpdk (builds with the `dpdk` feature) (`media.packet_io`).
    #[arg(long, value_parser = parse_backend)]
    packet_io: Option<MediaIo>,
    /// DPDK EAL arguments, as one string (`media.dpdk_eal`), e.g.
    /// "-l 2-3 -a 0000:03:00.0" or "--vdev=net_af_packet0,iface=eth1".
    #[arg(long, value_name = "EAL ARGS", allow_hyphen_values = true)]
    dpdk_eal: Option<String>,
    /// The DPDK device for media (`media.dpdk_device`); default: the one
    /// device the EAL found.
    #[arg(long, value_name = "NAME")]
    dpdk_device: Option<String>,
    /// The kernel's exception port for the DPDK device
    /// (`media.dpdk_exception`), e.g. net_tap0 with
    /// --vdev=net_tap0,iface=tandem0 among the EAL arguments.
    #[arg(long, value_name = "NAME")]
    dpdk_exception: Option<String>,
    /// Where `start recording` writes WAV files.
    #[arg(long, default_value = "recordings")]
    recording_dir: PathBuf,
    /// Seconds without RTP before a leg reports a timeout, 0 = never
    /// (`media.rtp_timeout`).
    #[arg(long)]
    rtp_timeout: Option<u32>,
    /// Transcode through the adaptive jitter buffer with loss concealment
    /// (smoother output from jittery or lossy peers, at the buffer's
    /// 20–200 ms delay) instead of packet by packet.
    #[arg(long)]
    transcode_jitter_buffer: bool,
    /// Do not pin media workers to CPUs (by default worker i runs on the
    /// i-th CPU this process may use).
    #[arg(long)]
    no_pin: bool,
    /// Run the media workers at this SCHED_FIFO priority (1-99; 0 = off),
    /// so a datagram's arrival preempts ordinary threads on their CPU
    /// (`media.rt_priority`). Needs CAP_SYS_NICE or RLIMIT_RTPRIO; kernel
    /// UDP backends only.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=tandem_udp::MAX_RT_PRIORITY as i64))]
    rt_priority: Option<u8>,
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or("expected LO-HI, e.g. 30000-39999")?;
    let lo: u16 = lo
        .trim()
        .parse()
        .map_err(|_| format!("bad low port {lo:?}"))?;
    let hi: u16 = hi
        .trim()
        .parse()
        .map_err(|_| format!("bad high port {hi:?}"))?;
    if lo == 0 || hi < lo + 1 {
        return Err(format!(
            "port range {lo}-{hi} must hold at least one even port pair, above 0"
        ));
    }
    Ok((lo, hi))
}

/// The media engine's packet backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaIo {
    /// Kernel UDP: io_uring or sockets.
    Udp(Backend),
    /// DPDK on the `dpdk_*` settings.
    Dpdk,
}

impl From<crate::config::PacketIo> for MediaIo {
    fn from(p: crate::config::PacketIo) -> Self {
        use crate::config::PacketIo;
        match p {
            PacketIo::Auto => MediaIo::Udp(Backend::Auto),
            PacketIo::IoUring => MediaIo::Udp(Backend::Uring),
            PacketIo::Socket => MediaIo::Udp(Backend::Socket),
            PacketIo::Dpdk => MediaIo::Dpdk,
        }
    }
}

fn parse_backend(s: &str) -> Result<MediaIo, String> {
    match s {
        "dpdk" => Ok(MediaIo::Dpdk),
        _ => s
            .parse()
            .map(MediaIo::Udp)
            .map_err(|_| format!("unknown packet backend {s:?} (auto, io_uring, socket, dpdk)")),
    }
}

impl RunArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            sip_listen: self.sip_listen,
            rtp_ports: self.rtp_ports,
            rtp_address: self.rtp_address,
            http_listen: self.http_listen,
            ng_listen: self.ng_listen,
            cdr_db: self.cdr_db.clone(),
            routes: self.routes.clone(),
        }
    }

    fn load_config(&self) -> Result<Config, CliError> {
        let mut config = match &self.config {
            Some(path) => Config::load(path).map_err(|e| CliError::BadInput(e.to_string()))?,
            None => Config::default(),
        };
        config
            .apply_overrides(self.overrides())
            .map_err(|e| CliError::BadInput(e.to_string()))?;
        Ok(config)
    }
}

/// Pins media worker `i` to its CPU unless told not to; says what
/// happened, for the log.
fn pin_worker(i: usize, pin: bool) -> String {
    if !pin {
        return "not pinned (--no-pin)".to_string();
    }
    match tandem_udp::pin_current_thread(i) {
        Ok(cpu) => format!("pinned to CPU {cpu}"),
        Err(e) => format!("not pinned ({e})"),
    }
}

/// The media engine on kernel UDP (io_uring or sockets), its workers at
/// SCHED_FIFO `rt_priority` unless that is 0.
fn start_udp_engine(
    config: &EngineConfig,
    backend: Backend,
    pin: bool,
    rt_priority: u8,
) -> Result<Engine, CliError> {
    let udp = UdpConfig {
        backend,
        // For `tandem_dataplane_relay_latency_seconds`: the kernel stamps
        // each datagram's arrival, the worker measures to its send.
        rx_timestamps: true,
        ..UdpConfig::default()
    };
    Engine::start(config, move |i| {
        let cpu = pin_worker(i, pin);
        let sched = match rt_priority {
            0 => String::new(),
            p => {
                tandem_udp::set_current_thread_realtime(p)
                    .map_err(|e| format!("media worker {i}: {e}"))?;
                format!(", SCHED_FIFO priority {p}")
            }
        };
        let io = UdpIo::new(&udp).map_err(|e| e.to_string())?;
        eprintln!("tandem: media worker {i}: {cpu}{sched}, {}", io.describe());
        Ok(io)
    })
    .map_err(|e| CliError::BadInput(format!("starting the media engine: {e}")))
}

/// What the signal watcher reports.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Stop,
    Reload,
}

fn watch_signals() -> Result<Receiver<Signal>, CliError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| CliError::Output(format!("installing signal handlers: {e}")))?;
    let (tx, rx) = bounded(16);
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for s in signals.forever() {
                let what = if s == SIGHUP {
                    Signal::Reload
                } else {
                    Signal::Stop
                };
                if tx.send(what).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| CliError::Output(format!("starting the signal watcher: {e}")))?;
    Ok(rx)
}

pub(crate) fn run(args: RunArgs) -> Result<(), CliError> {
    let config = args.load_config()?;
    let sip_on = args.config.is_some() || args.sip_listen.is_some() || args.ng_listen.is_none();
    if sip_on && config.media.dtmf == crate::config::DtmfMode::Info {
        // Refused rather than ignored: an operator who asked for INFO
        // must not get telephone-events without knowing.
        return Err(CliError::BadInput(
            "media.dtmf = \"info\": sending DTMF to peers as SIP INFO is not implemented yet \
             (INFO digits from peers are received and played); use \"rfc4733\" or \"inband\""
                .into(),
        ));
    }
    let ng_listen = config.ng.listen;
    let rtp_address = match args.rtp_address {
        Some(ip) => ip,
        // Media relay under a proxy: media where the proxy talks to us.
        None if !sip_on => ng_listen
            .map(|a| a.ip())
            .filter(|ip| !ip.is_unspecified())
            .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        None => config.media.rtp_address,
    };
    let media_io = args
        .packet_io
        .unwrap_or_else(|| config.media.packet_io.into());
    let pin = !args.no_pin;
    let rt_priority = args.rt_priority.unwrap_or(config.media.rt_priority);
    if rt_priority > 0 && media_io == MediaIo::Dpdk {
        // A busy-polling thread at a real-time priority never yields its
        // CPU to anything else (only throttling stops it).
        return Err(CliError::BadInput(
            "media.rt_priority (--rt-priority) applies to the kernel UDP backends; DPDK \
             workers busy-poll and would starve everything else on their CPU: give them \
             isolated CPUs instead"
                .into(),
        ));
    }
    // Each leg holds two descriptors; the default soft limit would cap the
    // gateway at a few hundred calls.
    match tandem_udp::raise_open_files_limit() {
        Ok((before, after)) if after > before => {
            eprintln!("tandem: open files limit raised from {before} to {after}");
        }
        Ok((_, now)) => eprintln!("tandem: open files limit {now}"),
        Err(e) => eprintln!("tandem: cannot raise the open files limit: {e}"),
    }
    let registry = Registry::new();
    let engine_config = EngineConfig {
        workers: args.workers.unwrap_or(config.media.workers).max(1),
        transcode_jitter_buffer: args.transcode_jitter_buffer,
        ..EngineConfig::default()
    };
    let engine = match media_io {
        MediaIo::Udp(backend) => start_udp_engine(&engine_config, backend, pin, rt_priority)?,
        MediaIo::Dpdk => {
            let mut settings = config.media.dpdk.clone();
            if let Some(device) = &args.dpdk_device {
                settings.device = Some(device.clone());
            }
            if let Some(exception) = &args.dpdk_exception {
                settings.exception = Some(exception.clone());
            }
            let eal = args
                .dpdk_eal
                .clone()
                .or_else(|| settings.eal.clone())
                .ok_or_else(|| {
                    CliError::BadInput(
                        "packet_io dpdk needs the EAL arguments (--dpdk-eal or media.dpdk_eal)"
                            .into(),
                    )
                })?;
            dpdk::start_engine(
                &engine_config,
                dpdk::DpdkRequest {
                    eal,
                    settings,
                    rtp_address,
                },
                pin,
                &registry,
            )?
        }
    };
    registry
        .register(Box::new(engine.collector()))
        .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
    let rtp_timeout = args.rtp_timeout.unwrap_or(config.media.rtp_timeout);
    let events = engine.events().clone();
    let hub = Rc::new(MediaHub::new(
        engine,
        rtp_address,
        config.media.rtp_ports,
        rtp_timeout,
    ));
    eprintln!(
        "tandem: media on {rtp_address} ports {}-{}",
        config.media.rtp_ports.0, config.media.rtp_ports.1
    );

    // ng front.
    let mut ng = match ng_listen {
        Some(addr) => {
            let socket = UdpSocket::bind(addr)
                .map_err(|e| CliError::BadInput(format!("--ng-listen {addr}: {e}")))?;
            let reader = socket
                .try_clone()
                .map_err(|e| CliError::Output(format!("ng socket: {e}")))?;
            let (tx, rx) = bounded::<(Vec<u8>, SocketAddr)>(1024);
            thread::Builder::new()
                .name("ng".into())
                .spawn(move || {
                    let mut buf = vec![0u8; 65_536];
                    loop {
                        match reader.recv_from(&mut buf) {
                            Ok((n, from)) => {
                                if tx.send((buf[..n].to_vec(), from)).is_err() {
                                    return;
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                eprintln!("tandem: ng socket: {e}");
                                return;
                            }
                        }
                    }
                })
                .map_err(|e| CliError::Output(format!("ng thread: {e}")))?;
            let settings = MediaSettings {
                rtp_address,
                recording_dir: args.recording_dir.clone(),
                rtp_timeout_secs: rtp_timeout,
            };
            let server =
                NgServer::new(EngineMedia::new(hub.clone(), settings), NgConfig::default());
            eprintln!("tandem: ng control on udp:{addr}");
            Some((server, socket, rx))
        }
        None => None,
    };

    // SIP front.
    let draining = Arc::new(AtomicBool::new(false));
    let active = Arc::new(AtomicU64::new(0));
    let (sip_tx, sip_rx) = bounded::<NetInput>(8192);
    let now = Instant::now();
    let mut sip = if sip_on {
        let sip_metrics = metrics::SipMetrics::register(&registry)
            .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
        let counters = Arc::new(NetCounters::default());
        let tcp = config
            .sip
            .transports
            .contains(&crate::config::Transport::Tcp);
        registry
            .register(Box::new(metrics::NetCollector::new(counters.clone())))
            .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
        let mut net = SipNet::bind(config.sip.listen, tcp, sip_tx.clone(), counters)
            .map_err(|e| CliError::BadInput(format!("sip.listen {}: {e}", config.sip.listen)))?;
        let tls = net
            .start_tls(config.sip.tls.as_ref(), config.sip.tls_ca_file.as_deref())
            .map_err(CliError::BadInput)?;
        let local = net.local_addr();
        let public = |a: SocketAddr| {
            if a.ip().is_unspecified() {
                SocketAddr::new(rtp_address, a.port())
            } else {
                a
            }
        };
        let advertised = public(local);
        let store = CdrStore::open(&config.cdr.database, config.cdr.synchronous)
            .map_err(|e| CliError::BadInput(format!("cdr.database: {e}")))?;
        let writer = CdrWriter::start(store, WriterConfig::default())
            .map_err(|e| CliError::Output(format!("starting the CDR writer: {e}")))?;
        writer
            .register_metrics(&registry)
            .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
        let settings = SipSettings {
            advertised,
            tcp,
            tls: tls.map(public),
            user_agent: config.sip.user_agent.clone(),
            timers: TimerConfig {
                t1: config.sip.t1,
                t2: config.sip.t2,
                t4: config.sip.t4,
            },
            max_calls: config.sip.max_calls,
            codecs: config.media.codecs.clone(),
            opus: cfg!(feature = "opus"),
            telephone_event: config.media.dtmf == crate::config::DtmfMode::Rfc4733,
            accept_unknown: true,
            // The config is validated (min_se >= 90, <= session_expires);
            // a value the stack still refuses turns timers off, loudly.
            session_timer: config.sip.session_expires.and_then(|se| {
                tandem_sip::session_timer::TimerConfig::new(se, config.sip.min_se)
                    .map_err(|e| eprintln!("tandem: session timers off: {e}"))
                    .ok()
            }),
        };
        eprintln!(
            "tandem: SIP on udp{}:{local} (advertised {advertised}), {}; call records in {}",
            if tcp { "+tcp" } else { "" },
            config.summary(),
            config.cdr.database.display()
        );
        let mut services = Services::new(&config, now).map_err(CliError::BadInput)?;
        if let Some(s) = services.as_mut() {
            let publisher = kpi_metrics::register(&registry)
                .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
            let store =
                crate::kpi_store::KpiStore::open(&config.cdr.database, config.cdr.synchronous)
                    .map_err(|e| CliError::BadInput(format!("cdr.database: {e}")))?;
            let voicemail = crate::voicemail::VoicemailStore::from_config(&config)
                .map_err(|e| CliError::BadInput(format!("voicemail: {e}")))?;
            voicemail
                .register_metrics(&registry)
                .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
            let left = voicemail.discard_unfinished();
            if left > 0 {
                eprintln!("tandem: voicemail: removed {left} recordings a crash left unfinished");
            }
            s.attach(&registry, publisher, store, voicemail)
                .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
        }
        let b2bua = B2bua::new(
            settings,
            Rc::new(config.clone()),
            hub.clone(),
            sip_metrics,
            services,
            now,
        );
        net.set_tls_names(b2bua.tls_server_names());
        Some((b2bua, net, writer))
    } else {
        None
    };
    drop(sip_tx);

    // The API's tokens and audit log (see crate::api).
    crate::api::init(&config).map_err(CliError::BadInput)?;
    // API requests from the HTTP threads, answered here (see crate::api).
    let (api_tx, api_rx) = bounded::<crate::api::ApiCall>(256);
    let _http = match config.http.listen {
        Some(addr) => {
            let (d, a) = (draining.clone(), active.clone());
            let router = gateway_router(registry.clone(), move || {
                let health = if d.load(Ordering::Relaxed) {
                    Health::unavailable("draining")
                } else {
                    Health::ok()
                };
                health.with("active_calls", a.load(Ordering::Relaxed) as i64)
            });
            let router = crate::api::routes(router, api_tx.clone());
            let metrics = HttpMetrics::register(&registry)
                .map_err(|e| CliError::Output(format!("metrics: {e}")))?;
            let handle = HttpServer::start(addr, router, metrics)
                .map_err(|e| CliError::BadInput(format!("--http-listen {addr}: {e}")))?;
            eprintln!(
                "tandem: HTTP on {} (/metrics, /health)",
                handle.local_addr()
            );
            Some(handle)
        }
        None => None,
    };

    let lookup_rx = match sip.as_ref() {
        Some((b2bua, _, _)) => b2bua.lookup_receiver(),
        None => crossbeam_channel::never(),
    };
    let signals = watch_signals()?;
    let (ack_tx, ack_rx) = bounded::<u64>(65_536);
    let never = crossbeam_channel::never();
    let never_net = crossbeam_channel::never::<NetInput>();
    let mut next_second = now + Duration::from_secs(1);
    let mut drain_deadline: Option<Instant> = None;
    let mut hung_up = false;
    let mut seconds: u64 = 0;
    loop {
        let now = Instant::now();
        // The once-a-second work runs whichever fronts are on: the wait
        // below is bounded by `next_second`, so it must always move on
        // (with SIP off it once stayed in the past and the loop spun).
        let tick = now >= next_second;
        if tick {
            next_second = now + Duration::from_secs(1);
            // Freed heap goes back to the kernel every 10 s, so the
            // resident size follows the calls up now, not the last burst
            // of transactions.
            seconds += 1;
            if seconds % 10 == 0 {
                tandem_udp::release_free_memory();
            }
        }
        if let Some((b2bua, net, writer)) = sip.as_mut() {
            if b2bua.poll_timeout().is_some_and(|t| t <= now) {
                b2bua.handle_timeout(now);
            }
            if tick {
                b2bua.tick_second(now);
            }
            while let Some(e) = hub.try_event(Front::Sip) {
                b2bua.handle_engine_event(now, e);
            }
            apply_effects(b2bua, net, writer, &ack_tx);
            active.store(b2bua.active_calls() as u64, Ordering::Relaxed);
            if let Some(deadline) = drain_deadline {
                if b2bua.active_calls() == 0 {
                    eprintln!("tandem: drained, stopping");
                    break;
                }
                if now >= deadline && !hung_up {
                    eprintln!(
                        "tandem: drain timeout: hanging up {} calls",
                        b2bua.active_calls()
                    );
                    b2bua.hang_up_all(now);
                    apply_effects(b2bua, net, writer, &ack_tx);
                    hung_up = true;
                    drain_deadline = Some(now + Duration::from_secs(3));
                } else if now >= deadline {
                    eprintln!("tandem: {} calls left unrecorded", b2bua.active_calls());
                    break;
                }
            }
        } else if drain_deadline.is_some() {
            break;
        }
        if let Some((server, _, _)) = ng.as_mut() {
            server.handle_timeout(now);
            server.control_mut().poll_events();
        }
        let mut deadline = next_second;
        if let Some((b2bua, _, _)) = sip.as_ref()
            && let Some(t) = b2bua.poll_timeout()
        {
            deadline = deadline.min(t);
        }
        if let Some(d) = drain_deadline {
            deadline = deadline.min(d);
        }
        let timeout = deadline
            .saturating_duration_since(now)
            .min(Duration::from_millis(200));
        let ng_rx = ng.as_ref().map_or(&never, |(_, _, rx)| rx);
        // With SIP off nothing sends on `sip_rx` and it is disconnected:
        // selecting on it would return at once, forever.
        let net_rx = if sip.is_some() { &sip_rx } else { &never_net };
        select! {
            recv(net_rx) -> m => {
                let Ok(input) = m else { continue };
                if let Some((b2bua, _, _)) = sip.as_mut() {
                    handle_net(b2bua, Instant::now(), input);
                    while let Ok(more) = sip_rx.try_recv() {
                        handle_net(b2bua, Instant::now(), more);
                    }
                }
            }
            recv(events) -> e => {
                let Ok(e) = e else { continue };
                match hub.route_event(&e) {
                    Front::Sip => {
                        if let Some((b2bua, _, _)) = sip.as_mut() {
                            b2bua.handle_engine_event(Instant::now(), e);
                        }
                    }
                    Front::Ng => hub.defer(Front::Ng, e),
                }
            }
            recv(lookup_rx) -> done => {
                if let (Ok(done), Some((b2bua, _, _))) = (done, sip.as_mut()) {
                    b2bua.handle_lookup_done(Instant::now(), done);
                }
            }
            recv(api_rx) -> call => {
                if let Ok(call) = call {
                    let now = Instant::now();
                    let response = match sip.as_mut() {
                        Some((b2bua, _, _)) => b2bua.handle_api(now, &call.request),
                        None => crate::api::handle(None, now, &call.request),
                    };
                    // The HTTP thread may have given up waiting.
                    let _ = call.reply.send(response);
                }
            }
            recv(ack_rx) -> k => {
                if let (Ok(key), Some((b2bua, _, _))) = (k, sip.as_mut()) {
                    b2bua.record_stored(key);
                    while let Ok(key) = ack_rx.try_recv() {
                        b2bua.record_stored(key);
                    }
                }
            }
            recv(ng_rx) -> d => {
                if let (Ok((bytes, from)), Some((server, socket, _))) = (d, ng.as_mut())
                    && let Some(reply) = server.handle_request(Instant::now(), &bytes)
                    && let Err(e) = socket.send_to(&reply, from)
                {
                    eprintln!("tandem: ng reply to {from}: {e}");
                }
            }
            recv(signals) -> s => match s {
                Ok(Signal::Stop) if drain_deadline.is_none() => {
                    let timeout = config.drain.timeout;
                    eprintln!("tandem: stopping: draining calls for up to {} s", timeout.as_secs());
                    draining.store(true, Ordering::Relaxed);
                    if let Some((b2bua, _, _)) = sip.as_mut() {
                        b2bua.drain();
                    }
                    drain_deadline = Some(Instant::now() + timeout);
                }
                Ok(Signal::Stop) => {
                    eprintln!("tandem: second stop signal: exiting now");
                    break;
                }
                Ok(Signal::Reload) => match (&args.config, sip.as_mut()) {
                    (Some(path), Some((b2bua, net, _))) => match args.load_config() {
                        Ok(new) => {
                            eprintln!("tandem: reloaded {}: {}", path.display(), new.summary());
                            if let Err(e) = crate::api::init(&new) {
                                eprintln!("tandem: api: keeping the previous tokens: {e}");
                            }
                            b2bua.reload(Rc::new(new), Instant::now());
                            net.set_tls_names(b2bua.tls_server_names());
                        }
                        Err(e) => eprintln!("tandem: reload of {} refused, keeping the running configuration: {e}", path.display()),
                    },
                    _ => eprintln!("tandem: SIGHUP: no --config to reload"),
                },
                Err(_) => {}
            },
            default(timeout) => {}
        }
    }
    if let Some((mut b2bua, _, writer)) = sip {
        // The call-center figures of the open interval, then the call
        // records queued.
        b2bua.shutdown(Instant::now());
        writer.shutdown();
    }
    Ok(())
}

fn handle_net(b2bua: &mut B2bua, now: Instant, input: NetInput) {
    match input {
        NetInput::Message { from, message } => b2bua.handle_message(now, from, message),
        NetInput::Malformed { from, error } => b2bua.note_malformed(from, &error),
        NetInput::Closed { peer, reason } => b2bua.note_closed(now, peer, &reason),
    }
}

fn apply_effects(
    b2bua: &mut B2bua,
    net: &SipNet,
    writer: &CdrWriter,
    acks: &crossbeam_channel::Sender<u64>,
) {
    while let Some(effect) = b2bua.poll_effect() {
        match effect {
            Effect::Send(to, bytes) => net.send(to, &bytes),
            Effect::Record(key, cdr) => {
                let acks = acks.clone();
                writer.submit(*cdr, move |result| {
                    if let Err(e) = result {
                        eprintln!("tandem: call {key}: record lost: {e}");
                    }
                    let _ = acks.send(key);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_checked() {
        assert_eq!(parse_range("30000-39999"), Ok((30000, 39999)));
        assert!(parse_range("30000").is_err());
        assert!(parse_range("0-10").is_err());
        assert!(parse_range("500-500").is_err());
        assert!(parse_range("a-b").is_err());
    }
}
