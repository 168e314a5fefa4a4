//! `tandem-bench backend`: the packet backends alone, in-process, side by
//! side: a closed loop of datagrams relayed between two UDP ports of one
//! backend, every received datagram sent straight back (the zero-copy
//! relay path of a worker without the engine's per-leg work).
//!
//! - **io_uring** (`tandem-udp`) on loopback: every datagram crosses the
//!   kernel twice (send and receive).
//! - **DPDK** (`tandem-dpdk`, with this crate's `dpdk` feature) on a
//!   `net_ring` virtual device (its transmit ring is its receive ring):
//!   the host stack parses each frame and the headers are rewritten in
//!   place; no kernel, no NIC, so the figure is the backend's own cost.
//!
//! `in_flight` datagrams circulate; the run stops after `packets` have
//! been received. Reported: wall time per relayed packet (a relayed packet
//! is one receive and one send), packets per second, and cycles per
//! packet at the CPU's nominal clock (`cpu MHz` of `/proc/cpuinfo`: an
//! estimate where the clock scales). One thread, one core: for the
//! spinning DPDK loop wall time is CPU time; for io_uring the thread also
//! waits in the kernel.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tandem_packet_io::{PacketBuf, PacketIo, PortId, RxPacket, TxPacket};

/// One backend's figures.
#[derive(Debug, Clone)]
pub struct BackendResult {
    /// The backend.
    pub name: String,
    /// Datagrams received (each was then sent back).
    pub packets: u64,
    /// Wall time of the loop.
    pub elapsed: Duration,
}

impl BackendResult {
    /// Nanoseconds per relayed packet.
    pub fn ns_per_packet(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e9 / self.packets.max(1) as f64
    }

    /// Relayed packets per second.
    pub fn pps(&self) -> f64 {
        self.packets as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The CPU's nominal clock in GHz from `/proc/cpuinfo`, if it says.
pub fn nominal_ghz() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|mhz| mhz / 1000.0)
}

/// Relays `packets` datagrams between ports `a` and `b` of `io` (bound to
/// `addr_a` and `addr_b`), `in_flight` at a time, 172-byte payloads (a
/// 20 ms G.711 RTP packet).
pub fn relay_loop<P: PacketIo>(
    name: &str,
    io: &mut P,
    (a, addr_a): (PortId, SocketAddr),
    (b, addr_b): (PortId, SocketAddr),
    in_flight: usize,
    packets: u64,
) -> Result<BackendResult, String> {
    let mut tx: Vec<TxPacket<P::Buf>> = Vec::with_capacity(64);
    for i in 0..in_flight {
        let mut buf = io.alloc().ok_or("no buffer to prime the loop")?;
        buf.set_len(172);
        buf.data_mut().fill(i as u8);
        tx.push(TxPacket {
            port: a,
            to: addr_b,
            buf,
        });
        if tx.len() == 64 {
            io.send_burst(&mut tx).map_err(|e| e.to_string())?;
        }
    }
    io.send_burst(&mut tx).map_err(|e| e.to_string())?;
    let mut rx: Vec<RxPacket<P::Buf>> = Vec::with_capacity(64);
    let mut got = 0u64;
    let start = Instant::now();
    let mut last_progress = start;
    while got < packets {
        rx.clear();
        let n = io.recv_burst(&mut rx, 64).map_err(|e| e.to_string())?;
        if n == 0 {
            if last_progress.elapsed() > Duration::from_secs(2) {
                return Err(format!(
                    "{name}: the loop stalled after {got} packets (datagrams lost)"
                ));
            }
            io.wait(Duration::from_millis(1))
                .map_err(|e| e.to_string())?;
            continue;
        }
        last_progress = Instant::now();
        got += n as u64;
        for p in rx.drain(..) {
            let (port, to) = if p.port == a {
                (a, addr_b)
            } else {
                (b, addr_a)
            };
            tx.push(TxPacket {
                port,
                to,
                buf: p.buf,
            });
        }
        io.send_burst(&mut tx).map_err(|e| e.to_string())?;
    }
    let elapsed = start.elapsed();
    // Drain what is still in flight so the backend ends clean.
    let end = Instant::now() + Duration::from_millis(200);
    while Instant::now() < end {
        rx.clear();
        if io.recv_burst(&mut rx, 64).map_err(|e| e.to_string())? == 0 {
            io.wait(Duration::from_millis(1))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(BackendResult {
        name: name.to_string(),
        packets: got,
        elapsed,
    })
}

/// The io_uring backend on loopback.
pub fn run_uring(in_flight: usize, packets: u64) -> Result<BackendResult, String> {
    let mut io = tandem_udp::UdpIo::new(&tandem_udp::UdpConfig::default())
        .map_err(|e| format!("io_uring backend: {e}"))?;
    let a = io
        .open("127.0.0.1:0".parse().expect("literal"))
        .map_err(|e| e.to_string())?;
    let b = io
        .open("127.0.0.1:0".parse().expect("literal"))
        .map_err(|e| e.to_string())?;
    let addr_a = io.local_addr(a).map_err(|e| e.to_string())?;
    let addr_b = io.local_addr(b).map_err(|e| e.to_string())?;
    let name = format!("{} (loopback)", io.name());
    relay_loop(&name, &mut io, (a, addr_a), (b, addr_b), in_flight, packets)
}

/// This process's EAL (two `net_ring` devices, anonymous memory, one
/// lcore) and packet pool, shared by the DPDK runs (DPDK starts once per
/// process).
#[cfg(feature = "dpdk")]
pub fn dpdk_env() -> Result<&'static (tandem_dpdk::Eal, &'static tandem_dpdk::Mempool), String> {
    use std::sync::OnceLock;
    use tandem_dpdk::{Eal, Mempool};
    static ENV: OnceLock<Result<(Eal, &'static Mempool), String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let eal = Eal::init(&[
            "--no-huge",
            "--no-pci",
            "--no-shconf",
            "--no-telemetry",
            "-m",
            "1024",
            "-l",
            "0",
            "--log-level",
            "lib.eal:error",
            "--vdev=net_ring0",
            "--vdev=net_ring1",
        ])
        .map_err(|e| e.to_string())?;
        let pool =
            Mempool::new(&eal, "bench_pool", 65535, 256, 2048, None).map_err(|e| e.to_string())?;
        Ok((eal, pool))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The address of the benches' DPDK ports.
#[cfg(feature = "dpdk")]
pub const DPDK_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 0, 2, 1);

/// A `DpdkIo` on the virtual device `name` (a `net_ring` of this
/// process's EAL), at [`DPDK_IP`]/24.
#[cfg(feature = "dpdk")]
pub fn dpdk_io_on(name: &str) -> Result<tandem_dpdk::DpdkIo, String> {
    use tandem_dpdk::{DpdkConfig, DpdkIo, Port};
    let (eal, pool) = dpdk_env()?;
    let id = eal.port_by_name(name).map_err(|e| e.to_string())?;
    let (port, mut rx, mut tx) =
        Port::start(eal, id, 1, 1, 1024, pool).map_err(|e| e.to_string())?;
    Ok(DpdkIo::new(
        rx.remove(0),
        tx.remove(0),
        pool,
        port.mac().map_err(|e| e.to_string())?,
        DpdkConfig {
            ip: DPDK_IP,
            prefix_len: 24,
            gateway: None,
            vlan: None,
        },
    ))
}

/// The DPDK backend on a `net_ring` device (this process's EAL).
#[cfg(feature = "dpdk")]
pub fn run_dpdk(in_flight: usize, packets: u64) -> Result<BackendResult, String> {
    let mut io = dpdk_io_on("net_ring0")?;
    let addr_a = SocketAddr::from((DPDK_IP, 4000));
    let addr_b = SocketAddr::from((DPDK_IP, 4002));
    let a = io.open(addr_a).map_err(|e| e.to_string())?;
    let b = io.open(addr_b).map_err(|e| e.to_string())?;
    relay_loop(
        "dpdk (net_ring)",
        &mut io,
        (a, addr_a),
        (b, addr_b),
        in_flight,
        packets,
    )
}

/// The table: each backend's figures and its ratio to the first.
pub fn print_table(results: &[BackendResult]) {
    let ghz = nominal_ghz();
    println!(
        "== packet backends: closed-loop relay of 172-byte datagrams, one thread ==\n\
         {:<22} {:>12} {:>12} {:>12} {:>14} {:>10}",
        "backend", "packets", "ns/packet", "Mpps", "cycles/packet", "vs first"
    );
    let first = results.first().map_or(1.0, BackendResult::ns_per_packet);
    for r in results {
        let cycles = ghz.map_or_else(
            || "-".to_string(),
            |g| format!("{:.0}", r.ns_per_packet() * g),
        );
        println!(
            "{:<22} {:>12} {:>12.1} {:>12.2} {:>14} {:>9.1}x",
            r.name,
            r.packets,
            r.ns_per_packet(),
            r.pps() / 1e6,
            cycles,
            first / r.ns_per_packet()
        );
    }
    if let Some(g) = ghz {
        println!("(cycles at the nominal {g:.2} GHz of /proc/cpuinfo)");
    }
}
