//! One behaviour suite, run against every backend on real loopback
//! sockets: io_uring with multishot receive, io_uring with single-shot
//! receive (the path kernels before 6.0 take), and epoll + recvmmsg.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_packet_io::{IoError, PacketBuf, PacketIo, PortId, RxPacket, TxPacket};
use tandem_udp::{Backend, RecvMode, UdpBuf, UdpConfig, UdpIo};

/// Tests that open hundreds of sockets take turns.
static HEAVY: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    UringMultishot,
    UringSingleShot,
    Socket,
}

fn config(kind: Kind) -> UdpConfig {
    UdpConfig {
        backend: match kind {
            Kind::Socket => Backend::Socket,
            _ => Backend::Uring,
        },
        recv_mode: match kind {
            Kind::UringSingleShot => RecvMode::SingleShot,
            _ => RecvMode::Auto,
        },
        rx_buffers: 2048,
        tx_buffers: 256,
        ..UdpConfig::default()
    }
}

fn backend(kind: Kind, cfg: UdpConfig) -> UdpIo {
    let io = UdpIo::new(&cfg).expect("backend");
    match (kind, &io) {
        (Kind::UringMultishot, UdpIo::Uring(u)) => {
            assert!(u.features().multishot_recv, "{}", u.describe())
        }
        (Kind::UringSingleShot, UdpIo::Uring(u)) => assert!(!u.features().multishot_recv),
        (Kind::Socket, UdpIo::Socket(_)) => {}
        _ => panic!("{kind:?} built {}", io.describe()),
    }
    io
}

fn localhost(v6: bool) -> SocketAddr {
    if v6 {
        "[::1]:0".parse().unwrap()
    } else {
        "127.0.0.1:0".parse().unwrap()
    }
}

fn peer(v6: bool) -> UdpSocket {
    let s = UdpSocket::bind(localhost(v6)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Receives until `n` datagrams are in hand (or 5 s pass).
fn recv_n(io: &mut UdpIo, n: usize) -> Vec<RxPacket<UdpBuf>> {
    let mut got = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < n && Instant::now() < deadline {
        io.wait(Duration::from_millis(20)).unwrap();
        io.recv_burst(&mut got, 64).unwrap();
    }
    got
}

/// Receives until a 50 ms wait brings nothing more.
fn recv_until_idle(io: &mut UdpIo, out: &mut Vec<RxPacket<UdpBuf>>) {
    loop {
        io.wait(Duration::from_millis(50)).unwrap();
        if io.recv_burst(out, 64).unwrap() == 0 {
            // One more look: a wait may wake for a send completion.
            io.wait(Duration::from_millis(50)).unwrap();
            if io.recv_burst(out, 64).unwrap() == 0 {
                return;
            }
        }
    }
}

/// Like [`recv_until_idle`], but keeps only each datagram's sequence
/// number, so buffers go straight back.
fn recv_until_idle_dropping(io: &mut UdpIo, rx: &mut Vec<RxPacket<UdpBuf>>, seq: &mut Vec<u32>) {
    rx.clear();
    loop {
        io.wait(Duration::from_millis(50)).unwrap();
        let n = io.recv_burst(rx, 8).unwrap();
        for p in rx.drain(..) {
            seq.push(u32::from_be_bytes(p.buf.data().try_into().unwrap()));
        }
        if n == 0 {
            io.wait(Duration::from_millis(50)).unwrap();
            if io.recv_burst(rx, 8).unwrap() == 0 {
                return;
            }
        }
    }
}

/// Collects `n` datagrams at `sock` on another thread, so the replies of
/// a large burst do not overflow its socket buffer. `progress` counts what
/// has arrived so far, for senders that must not run too far ahead.
fn collect_counting(
    sock: &UdpSocket,
    n: usize,
    progress: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    let sock = sock.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut b = [0u8; 2048];
        (0..n)
            .map(|_| {
                let (len, _) = sock.recv_from(&mut b).expect("reply");
                progress.fetch_add(1, Ordering::Release);
                b[..len].to_vec()
            })
            .collect()
    })
}

fn collect(sock: &UdpSocket, n: usize) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    collect_counting(sock, n, Arc::default())
}

fn round_trip(kind: Kind, v6: bool) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(v6)).unwrap();
    let local = io.local_addr(port).unwrap();
    assert_ne!(local.port(), 0);
    let phone = peer(v6);
    phone.send_to(b"hello", local).unwrap();

    let mut rx = recv_n(&mut io, 1);
    assert_eq!(rx.len(), 1);
    let p = rx.pop().unwrap();
    assert_eq!(
        (p.port, p.from, p.buf.data()),
        (port, phone.local_addr().unwrap(), &b"hello"[..])
    );

    let mut reply = io.alloc().expect("a tx buffer");
    reply.set_len(6);
    reply.data_mut().copy_from_slice(b"world!");
    let mut tx = vec![TxPacket {
        port,
        to: p.from,
        buf: reply,
    }];
    assert_eq!(io.send_burst(&mut tx).unwrap(), 1);
    assert!(tx.is_empty());
    io.flush().unwrap();
    let mut b = [0u8; 64];
    let (n, from) = phone.recv_from(&mut b).unwrap();
    assert_eq!((&b[..n], from), (&b"world!"[..], local));

    let s = io.stats();
    assert_eq!(
        (s.rx_packets, s.rx_bytes, s.tx_packets, s.tx_bytes),
        (1, 5, 1, 6)
    );
    assert_eq!((s.rx_dropped, s.tx_dropped), (0, 0));
}

fn burst_arrives_complete_and_in_order(kind: Kind) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    let phone = peer(false);
    for i in 0u32..1000 {
        phone.send_to(&i.to_be_bytes(), local).unwrap();
    }
    let rx = recv_n(&mut io, 1000);
    let seq: Vec<u32> = rx
        .iter()
        .map(|p| u32::from_be_bytes(p.buf.data().try_into().unwrap()))
        .collect();
    assert_eq!(seq, (0..1000).collect::<Vec<_>>());
    assert_eq!(io.stats().rx_dropped, 0);
}

fn forwards_in_place_without_copy(kind: Kind) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    let phone = peer(false);
    for i in 0u8..32 {
        phone.send_to(&[i, 1, 2, 3], local).unwrap();
    }
    let rx = recv_n(&mut io, 32);
    assert_eq!(rx.len(), 32);
    assert_eq!(io.buffer_usage().rx_held, 32);
    let replies = collect(&phone, 32);
    let mut tx = Vec::with_capacity(32);
    for p in rx {
        let mut buf = p.buf;
        let before = buf.data().as_ptr();
        buf.data_mut()[1] = 0xee;
        assert_eq!(buf.data().as_ptr(), before);
        tx.push(TxPacket {
            port,
            to: p.from,
            buf,
        });
    }
    assert_eq!(io.send_burst(&mut tx).unwrap(), 32);
    io.flush().unwrap();
    // The relayed buffers were receive buffers all along: the pool for
    // originated packets was never touched, and every receive buffer
    // comes back once the kernel has sent it.
    let usage = io.buffer_usage();
    assert_eq!((usage.tx_held, usage.rx_held), (0, 0));
    for (i, r) in replies.join().unwrap().into_iter().enumerate() {
        assert_eq!(r, [i as u8, 0xee, 2, 3]);
    }
    assert_eq!(io.stats().tx_packets, 32);
}

fn many_ports_on_one_instance(kind: Kind) {
    let _turn = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let mut io = backend(kind, config(kind));
    let ports: Vec<PortId> = (0..500)
        .map(|_| io.open(localhost(false)).unwrap())
        .collect();
    let phone = peer(false);
    for (i, &p) in ports.iter().enumerate() {
        phone
            .send_to(&(i as u32).to_be_bytes(), io.local_addr(p).unwrap())
            .unwrap();
    }
    let rx = recv_n(&mut io, 500);
    assert_eq!(rx.len(), 500);
    let mut seen = vec![false; 500];
    for p in &rx {
        let i = u32::from_be_bytes(p.buf.data().try_into().unwrap()) as usize;
        assert_eq!(p.port, ports[i], "datagram {i} on the wrong port");
        assert!(!seen[i]);
        seen[i] = true;
    }
    // Replies from every port, in bursts of 50 (the std peer cannot
    // enlarge its socket buffer to queue all 500 at once).
    let mut rx = rx.into_iter();
    for _ in 0..10 {
        let replies = collect(&phone, 50);
        let mut tx: Vec<_> = rx
            .by_ref()
            .take(50)
            .map(|p| TxPacket {
                port: p.port,
                to: p.from,
                buf: p.buf,
            })
            .collect();
        assert_eq!(io.send_burst(&mut tx).unwrap(), 50);
        io.flush().unwrap();
        assert_eq!(replies.join().unwrap().len(), 50);
    }
    assert_eq!(io.stats().tx_packets, 500);
    for p in ports {
        io.close(p).unwrap();
    }
}

fn close_stops_delivery(kind: Kind) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    let phone = peer(false);
    phone.send_to(b"one", local).unwrap();
    assert_eq!(recv_n(&mut io, 1).len(), 1);

    io.close(port).unwrap();
    assert!(matches!(io.close(port), Err(IoError::UnknownPort(_))));
    assert!(matches!(io.local_addr(port), Err(IoError::UnknownPort(_))));
    let _ = phone.send_to(b"two", local);
    let mut rx = Vec::new();
    recv_until_idle(&mut io, &mut rx);
    assert!(rx.is_empty(), "delivered after close");

    // The address is free again at once, and the new port is not
    // confused with the old one.
    let again = io.open(local).unwrap();
    assert_ne!(again, port);
    phone.send_to(b"three", local).unwrap();
    let rx = recv_n(&mut io, 1);
    assert_eq!((rx[0].port, rx[0].buf.data()), (again, &b"three"[..]));
}

fn taken_port_is_addr_in_use(kind: Kind) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    assert!(matches!(io.open(local), Err(IoError::AddrInUse(a)) if a == local));
    let other = UdpSocket::bind(localhost(true)).unwrap();
    let taken = other.local_addr().unwrap();
    assert!(matches!(io.open(taken), Err(IoError::AddrInUse(_))));
    assert!(matches!(
        io.open("192.0.2.1:5004".parse().unwrap()),
        Err(IoError::AddrNotAvailable(_))
    ));
}

fn send_failures_are_counted_not_fatal(kind: Kind) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let closed = io.open(localhost(false)).unwrap();
    io.close(closed).unwrap();
    let phone = peer(false);
    let packet = |io: &mut UdpIo, port, to| {
        let mut b = io.alloc().unwrap();
        b.set_len(3);
        b.data_mut().copy_from_slice(b"abc");
        TxPacket { port, to, buf: b }
    };
    let mut tx = vec![
        packet(&mut io, closed, phone.local_addr().unwrap()),
        // An IPv4 socket cannot reach an IPv6 peer.
        packet(&mut io, port, "[::1]:9".parse().unwrap()),
        packet(&mut io, port, phone.local_addr().unwrap()),
    ];
    let accepted = io.send_burst(&mut tx).unwrap();
    assert!(tx.is_empty());
    assert!((1..=2).contains(&accepted), "{accepted}");
    io.flush().unwrap();
    let mut b = [0u8; 8];
    let (n, _) = phone.recv_from(&mut b).unwrap();
    assert_eq!(&b[..n], b"abc");
    let s = io.stats();
    assert_eq!((s.tx_packets, s.tx_dropped), (1, 2));
    assert_eq!(io.buffer_usage().tx_held, 0);
}

fn oversized_datagram_is_dropped_and_counted(kind: Kind) {
    let cfg = UdpConfig {
        buffer_size: 512,
        ..config(kind)
    };
    let mut io = backend(kind, cfg);
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    let phone = peer(false);
    phone.send_to(&[7u8; 1400], local).unwrap();
    phone.send_to(b"small", local).unwrap();
    let mut rx = Vec::new();
    recv_until_idle(&mut io, &mut rx);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx[0].buf.data(), b"small");
    assert!(rx[0].buf.capacity() < 1400);
    assert_eq!(io.stats().rx_dropped, 1);
    assert_eq!(io.stats().rx_packets, 1);
}

fn buffer_exhaustion_drops_counted_and_recovers(kind: Kind) {
    let cfg = UdpConfig {
        rx_buffers: 16,
        socket_rcvbuf: Some(16 << 10),
        ..config(kind)
    };
    let mut io = backend(kind, cfg);
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    let phone = peer(false);
    const SENT: usize = 2000;
    for i in 0..SENT as u32 {
        phone.send_to(&i.to_be_bytes(), local).unwrap();
    }
    // Hold everything that arrives: exactly every receive buffer.
    let mut held = Vec::new();
    recv_until_idle(&mut io, &mut held);
    assert_eq!(held.len(), 16);
    let usage = io.buffer_usage();
    assert_eq!(usage.rx_held, usage.rx_total);
    assert!(io.rx_starved() > 0);
    // Starved, a worker's wait sleeps rather than spinning.
    let t = Instant::now();
    io.wait(Duration::from_millis(50)).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(40),
        "{:?}",
        t.elapsed()
    );

    // Give them back: reception resumes from the socket's queue.
    drop(held);
    let mut seq = Vec::new();
    let mut rx = Vec::new();
    loop {
        recv_until_idle_dropping(&mut io, &mut rx, &mut seq);
        if rx.is_empty() {
            break;
        }
    }
    assert!(!seq.is_empty());
    let delivered = 16 + seq.len();
    assert!(delivered < SENT, "the socket queue was meant to overflow");
    // In order, with a gap where the queue overflowed.
    assert!(seq.windows(2).all(|w| w[0] < w[1]), "{seq:?}");

    // The kernel reports its drop count with the next datagram.
    phone.send_to(b"fresh", local).unwrap();
    let rx = recv_n(&mut io, 1);
    assert_eq!(rx[0].buf.data(), b"fresh");
    let s = io.stats();
    assert_eq!(s.rx_packets as usize, delivered + 1);
    assert_eq!(s.rx_dropped as usize, SENT - delivered);
}

fn wait_wakes_on_arrival_and_times_out_when_idle(kind: Kind) {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();

    let t = Instant::now();
    io.wait(Duration::from_millis(100)).unwrap();
    let idle = t.elapsed();
    assert!(idle >= Duration::from_millis(90), "woke after {idle:?}");
    assert!(idle < Duration::from_millis(1000), "woke after {idle:?}");

    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(b"wake", local).unwrap();
    });
    let t = Instant::now();
    let mut rx = Vec::new();
    while rx.is_empty() && t.elapsed() < Duration::from_secs(5) {
        io.wait(Duration::from_secs(5)).unwrap();
        io.recv_burst(&mut rx, 8).unwrap();
    }
    let woke = t.elapsed();
    sender.join().unwrap();
    assert_eq!(rx.len(), 1);
    assert!(woke < Duration::from_millis(1000), "woke after {woke:?}");

    // Something already waiting: no sleep at all.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"now", local).unwrap();
    std::thread::sleep(Duration::from_millis(10));
    let t = Instant::now();
    io.wait(Duration::from_secs(5)).unwrap();
    assert!(t.elapsed() < Duration::from_millis(500));
}

/// Echoes 1,000 datagrams in bursts; returns system calls per packet.
fn echo_syscalls_per_packet(kind: Kind) -> f64 {
    let mut io = backend(kind, config(kind));
    let port = io.open(localhost(false)).unwrap();
    let local = io.local_addr(port).unwrap();
    let phone = peer(false);
    // Let the receive be armed before measuring.
    io.wait(Duration::from_millis(1)).unwrap();
    let before = io.stats().syscalls;
    let arrived = Arc::new(AtomicUsize::new(0));
    let replies = collect_counting(&phone, 1000, arrived.clone());
    for i in 0u32..1000 {
        phone.send_to(&i.to_be_bytes(), local).unwrap();
    }
    let mut rx = Vec::with_capacity(64);
    let mut tx = Vec::with_capacity(64);
    let mut echoed = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while echoed < 1000 && Instant::now() < deadline {
        if io.recv_burst(&mut rx, 64).unwrap() == 0 {
            io.wait(Duration::from_millis(10)).unwrap();
            continue;
        }
        for p in rx.drain(..) {
            tx.push(TxPacket {
                port,
                to: p.from,
                buf: p.buf,
            });
        }
        // The std peer's socket buffer holds ~150 small datagrams: keep at
        // most 32 + one burst in flight towards it, however slowly its
        // thread is scheduled.
        while echoed - arrived.load(Ordering::Acquire) > 32 {
            std::thread::sleep(Duration::from_micros(100));
        }
        echoed += io.send_burst(&mut tx).unwrap();
    }
    io.flush().unwrap();
    assert_eq!(echoed, 1000);
    for (i, r) in replies.join().unwrap().into_iter().enumerate() {
        assert_eq!(r, (i as u32).to_be_bytes());
    }
    (io.stats().syscalls - before) as f64 / 1000.0
}

fn bursts_batch_system_calls(kind: Kind) {
    let per_packet = echo_syscalls_per_packet(kind);
    eprintln!("{kind:?}: {per_packet:.3} system calls per echoed packet");
    // Single-shot receives (kernels before 6.0) take one datagram per
    // socket per enter: a burst on one port costs an enter to receive and
    // one to send each packet. The others batch.
    let limit = if kind == Kind::UringSingleShot {
        2.1
    } else {
        0.25
    };
    assert!(
        per_packet < limit,
        "{kind:?}: {per_packet} syscalls per packet"
    );
}

/// With `rx_timestamps`, each datagram carries the kernel's receive time:
/// after it was sent, before it was read; without, none.
fn receive_timestamps_when_asked(kind: Kind) {
    for asked in [false, true] {
        let mut io = backend(
            kind,
            UdpConfig {
                rx_timestamps: asked,
                ..config(kind)
            },
        );
        let port = io.open(localhost(false)).unwrap();
        let local = io.local_addr(port).unwrap();
        let phone = peer(false);
        // The first socket to ask turns on arrival stamping for the host
        // from a deferred work item; until it has run, the kernel stamps
        // datagrams when they are read. Let it run.
        std::thread::sleep(Duration::from_millis(50));
        let before = std::time::SystemTime::now();
        phone.send_to(b"when", local).unwrap();
        // Arrival and reading apart, so the two times can be told apart.
        std::thread::sleep(Duration::from_millis(30));
        let got = recv_n(&mut io, 1);
        let read = std::time::SystemTime::now();
        assert_eq!(got.len(), 1);
        match (asked, got[0].buf.rx_timestamp()) {
            (false, None) => {}
            (true, Some(at)) => {
                assert!(at >= before, "{kind:?}: received before it was sent");
                let waited = read.duration_since(at).unwrap();
                assert!(
                    waited >= Duration::from_millis(25),
                    "{kind:?}: stamped when read ({waited:?} before), not on arrival"
                );
            }
            (asked, at) => panic!("{kind:?}: asked {asked}, got {at:?}"),
        }
    }
}

macro_rules! conformance {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn round_trip_v4() { round_trip($kind, false) }
            #[test] fn round_trip_v6() { round_trip($kind, true) }
            #[test] fn burst_arrives_complete_and_in_order() { super::burst_arrives_complete_and_in_order($kind) }
            #[test] fn forwards_in_place_without_copy() { super::forwards_in_place_without_copy($kind) }
            #[test] fn many_ports_on_one_instance() { super::many_ports_on_one_instance($kind) }
            #[test] fn close_stops_delivery() { super::close_stops_delivery($kind) }
            #[test] fn taken_port_is_addr_in_use() { super::taken_port_is_addr_in_use($kind) }
            #[test] fn send_failures_are_counted_not_fatal() { super::send_failures_are_counted_not_fatal($kind) }
            #[test] fn oversized_datagram_is_dropped_and_counted() { super::oversized_datagram_is_dropped_and_counted($kind) }
            #[test] fn buffer_exhaustion_drops_counted_and_recovers() { super::buffer_exhaustion_drops_counted_and_recovers($kind) }
            #[test] fn wait_wakes_on_arrival_and_times_out_when_idle() { super::wait_wakes_on_arrival_and_times_out_when_idle($kind) }
            #[test] fn bursts_batch_system_calls() { super::bursts_batch_system_calls($kind) }
            #[test] fn receive_timestamps_when_asked() { super::receive_timestamps_when_asked($kind) }
        }
    )*};
}

conformance! {
    uring_multishot => Kind::UringMultishot,
    uring_single_shot => Kind::UringSingleShot,
    socket => Kind::Socket,
}

#[test]
fn auto_picks_io_uring_here() {
    let io = UdpIo::new(&UdpConfig::default()).unwrap();
    assert_eq!(io.name(), "io_uring", "{}", io.describe());
    let UdpIo::Uring(u) = &io else { unreachable!() };
    assert!(u.features().multishot_recv, "{}", u.describe());
    assert!(io.describe().contains("multishot"));
    eprintln!("{}", io.describe());
}

#[test]
fn forced_socket_backend_says_why() {
    let io = UdpIo::new(&UdpConfig {
        backend: "socket".parse().unwrap(),
        ..UdpConfig::default()
    })
    .unwrap();
    assert_eq!(io.name(), "socket");
    assert!(io.describe().contains("configuration"));
    assert!("bogus".parse::<Backend>().is_err());
}

#[test]
fn io_uring_is_far_cheaper_in_system_calls_than_one_per_packet() {
    let per_packet = echo_syscalls_per_packet(Kind::UringMultishot);
    assert!(per_packet < 0.1, "{per_packet}");
}
