//! `tandem run`: the media engine with its rtpengine-compatible ng control
//! port.
//!
//! Workers (one per `--workers`, default 1) each own a packet backend
//! (io_uring by default, plain sockets as the fallback, chosen per
//! `--packet-io`). The ng port is served on this thread: each datagram is
//! parsed and answered by [`tandem_ng::NgServer`], which calls the engine
//! through [`media::EngineMedia`]. Proxies (Kamailio's and OpenSIPS's
//! `rtpengine` modules) drive it exactly as they drive rtpengine.

mod media;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use tandem_dataplane::engine::{Engine, EngineConfig};
use tandem_ng::{NgConfig, NgServer};
use tandem_udp::{Backend, UdpConfig, UdpIo};

use crate::cli::CliError;
use media::{EngineMedia, MediaSettings};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Serve the rtpengine ng control protocol on this UDP address.
    #[arg(long, value_name = "ADDR:PORT")]
    ng_listen: SocketAddr,
    /// Media ports to allocate from, e.g. 30000-39999 (even ports are RTP).
    #[arg(long, value_name = "LO-HI", value_parser = parse_range)]
    rtp_ports: (u16, u16),
    /// Address media ports bind to and SDP advertises (default: the ng
    /// address, or 127.0.0.1 if that is a wildcard).
    #[arg(long, value_name = "IP")]
    rtp_address: Option<IpAddr>,
    /// Media worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Packet backend: auto (io_uring, falling back to sockets), io_uring,
    /// socket.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    packet_io: Backend,
    /// Where `start recording` writes WAV files.
    #[arg(long, default_value = "recordings")]
    recording_dir: PathBuf,
    /// Seconds without RTP before a leg reports a timeout (0 = never).
    #[arg(long, default_value_t = 60)]
    rtp_timeout: u32,
    /// Transcode through the adaptive jitter buffer with loss concealment
    /// (smoother output from jittery or lossy peers, at the buffer's
    /// 20–200 ms delay) instead of packet by packet.
    #[arg(long)]
    transcode_jitter_buffer: bool,
    /// Do not pin media workers to CPUs (by default worker i runs on the
    /// i-th CPU this process may use).
    #[arg(long)]
    no_pin: bool,
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

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
}

pub(crate) fn run(args: RunArgs) -> Result<(), CliError> {
    let rtp_address = args.rtp_address.unwrap_or_else(|| {
        let ip = args.ng_listen.ip();
        if ip.is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            ip
        }
    });
    let socket = UdpSocket::bind(args.ng_listen)
        .map_err(|e| CliError::BadInput(format!("--ng-listen {}: {e}", args.ng_listen)))?;
    let udp = UdpConfig {
        backend: args.packet_io,
        ..UdpConfig::default()
    };
    let pin = !args.no_pin;
    let engine = Engine::start(
        &EngineConfig {
            workers: args.workers.max(1),
            transcode_jitter_buffer: args.transcode_jitter_buffer,
            ..EngineConfig::default()
        },
        move |i| {
            let cpu = if !pin {
                "not pinned (--no-pin)".to_string()
            } else {
                match tandem_udp::pin_current_thread(i) {
                    Ok(cpu) => format!("pinned to CPU {cpu}"),
                    Err(e) => format!("not pinned ({e})"),
                }
            };
            let io = UdpIo::new(&udp).map_err(|e| e.to_string())?;
            eprintln!("tandem: media worker {i}: {cpu}, {}", io.describe());
            Ok(io)
        },
    )
    .map_err(|e| CliError::BadInput(format!("starting the media engine: {e}")))?;
    let settings = MediaSettings {
        rtp_address,
        rtp_ports: args.rtp_ports,
        recording_dir: args.recording_dir,
        rtp_timeout_secs: args.rtp_timeout,
    };
    let mut server = NgServer::new(EngineMedia::new(engine, settings), NgConfig::default());
    eprintln!(
        "tandem: ng control on udp:{}, media on {} ports {}-{}",
        args.ng_listen, rtp_address, args.rtp_ports.0, args.rtp_ports.1
    );
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| CliError::Output(format!("ng socket: {e}")))?;
    let mut buf = vec![0u8; 65_536];
    loop {
        let now = Instant::now();
        server.handle_timeout(now);
        server.control_mut().poll_events();
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(CliError::Output(format!("ng socket: {e}"))),
        };
        if let Some(reply) = server.handle_request(Instant::now(), &buf[..n])
            && let Err(e) = socket.send_to(&reply, from)
        {
            eprintln!("tandem: ng reply to {from}: {e}");
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
