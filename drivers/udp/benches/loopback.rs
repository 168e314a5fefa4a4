//! Packets per second echoed through each backend on loopback.
//!
//! Two instances of the same backend on one thread: a client sends a burst
//! of 32 datagrams from `alloc`ed buffers, the server receives them and
//! sends each buffer straight back (in-place relay), the client receives
//! the echoes. One iteration is one burst round trip, so each packet
//! crosses the backend four times (two sends, two receives).
//!
//! Two shapes: all 32 packets to one server port, and one packet to each
//! of 32 server ports (a relay carrying many calls, where each port sees
//! one packet per burst: the socket backend then needs a call per port).
//!
//! `cargo bench -p tandem-udp --bench loopback` prints criterion's figures
//! and then a side-by-side table with system calls per packet.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tandem_packet_io::{PacketBuf, PacketIo, PortId, RxPacket, TxPacket};
use tandem_udp::{Backend, RecvMode, UdpBuf, UdpConfig, UdpIo};

const BURST: usize = 32;

struct Pair {
    client: UdpIo,
    server: UdpIo,
    cport: PortId,
    targets: Vec<std::net::SocketAddr>,
    rx: Vec<RxPacket<UdpBuf>>,
    tx: Vec<TxPacket<UdpBuf>>,
    lost: u64,
}

impl Pair {
    fn new(backend: Backend, recv_mode: RecvMode, ports: usize) -> Pair {
        let cfg = UdpConfig {
            backend,
            recv_mode,
            ..UdpConfig::default()
        };
        let mut client = UdpIo::new(&cfg).unwrap();
        let mut server = UdpIo::new(&cfg).unwrap();
        let cport = client.open("127.0.0.1:0".parse().unwrap()).unwrap();
        let targets = (0..ports)
            .map(|_| {
                let p = server.open("127.0.0.1:0".parse().unwrap()).unwrap();
                server.local_addr(p).unwrap()
            })
            .collect();
        Pair {
            client,
            server,
            cport,
            targets,
            rx: Vec::with_capacity(BURST),
            tx: Vec::with_capacity(BURST),
            lost: 0,
        }
    }

    fn recv(io: &mut UdpIo, rx: &mut Vec<RxPacket<UdpBuf>>, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(1);
        while rx.len() < n {
            if io.recv_burst(rx, n - rx.len()).unwrap() == 0 {
                if Instant::now() > deadline {
                    break;
                }
                io.wait(Duration::from_millis(1)).unwrap();
            }
        }
        rx.len()
    }

    /// One burst there and back; returns packets echoed.
    fn round_trip(&mut self) -> usize {
        for i in 0..BURST {
            let to = self.targets[i % self.targets.len()];
            let mut b = self.client.alloc().unwrap();
            b.set_len(172); // a G.711 20 ms RTP packet
            b.data_mut()[0] = i as u8;
            self.tx.push(TxPacket {
                port: self.cport,
                to,
                buf: b,
            });
        }
        self.client.send_burst(&mut self.tx).unwrap();

        let got = Self::recv(&mut self.server, &mut self.rx, BURST);
        for p in self.rx.drain(..) {
            let mut buf = p.buf;
            buf.data_mut()[1] ^= 0xff;
            self.tx.push(TxPacket {
                port: p.port,
                to: p.from,
                buf,
            });
        }
        self.server.send_burst(&mut self.tx).unwrap();

        let back = Self::recv(&mut self.client, &mut self.rx, got);
        black_box(&self.rx);
        self.rx.clear();
        self.lost += (BURST - back) as u64;
        back
    }

    fn syscalls(&self) -> u64 {
        self.client.stats().syscalls + self.server.stats().syscalls
    }
}

const CASES: [(&str, Backend, RecvMode); 3] = [
    ("io_uring multishot", Backend::Uring, RecvMode::Auto),
    ("io_uring single-shot", Backend::Uring, RecvMode::SingleShot),
    (
        "socket (recvmmsg/sendmmsg)",
        Backend::Socket,
        RecvMode::Auto,
    ),
];

fn criterion_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("loopback_echo_burst32");
    g.throughput(Throughput::Elements(BURST as u64));
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    for ports in [1, BURST] {
        for (name, backend, mode) in CASES {
            let mut pair = Pair::new(backend, mode, ports);
            g.bench_function(format!("{name}, {ports} port(s)"), |b| {
                b.iter(|| pair.round_trip())
            });
        }
    }
    g.finish();
}

/// A plain timed run per backend, printed side by side.
fn side_by_side() {
    println!();
    println!(
        "{:<28} {:>6} {:>12} {:>16} {:>6}",
        "backend", "ports", "echoes/s", "syscalls/packet", "lost"
    );
    for (ports, (name, backend, mode)) in [1, BURST]
        .into_iter()
        .flat_map(|p| CASES.into_iter().map(move |c| (p, c)))
    {
        let mut pair = Pair::new(backend, mode, ports);
        for _ in 0..200 {
            pair.round_trip();
        }
        let (calls0, lost0) = (pair.syscalls(), pair.lost);
        let t = Instant::now();
        let mut echoed = 0;
        while t.elapsed() < Duration::from_secs(2) {
            echoed += pair.round_trip();
        }
        let secs = t.elapsed().as_secs_f64();
        // Each echoed packet was sent twice and received twice.
        let per_packet = (pair.syscalls() - calls0) as f64 / (echoed as f64 * 2.0);
        println!(
            "{:<28} {:>6} {:>12.0} {:>16.3} {:>6}",
            name,
            ports,
            echoed as f64 / secs,
            per_packet,
            pair.lost - lost0
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    side_by_side();
}
