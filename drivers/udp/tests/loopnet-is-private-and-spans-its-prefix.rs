//! The io_uring test network: every 10.x.y.z address is local, a net's
//! ports are its own (two nets bind the same address and port side by
//! side), and the engine's io_uring backend answers phones on it. Needs
//! root, as the engine's `uring-tests` do.

use std::time::Duration;

use tandem_packet_io::{PacketBuf, PacketIo, RxPacket, TxPacket};
use tandem_udp::enter_private_loopback;
use tandem_udp::loopnet::LoopNet;

fn addr(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

#[test]
fn phones_anywhere_in_the_prefix_reach_the_engine_and_back() {
    let net = LoopNet::new();
    let mut io = net.io();
    assert_eq!(io.name(), "io_uring");
    let port = io.open(addr("10.0.0.1:20000")).unwrap();
    let phone = net.socket(addr("10.200.3.4:5004")).unwrap();
    assert!(phone.send_to(b"hello", addr("10.0.0.1:20000")));

    // Loopback delivery is done when send_to returns: one burst has it.
    let mut rx: Vec<RxPacket<_>> = Vec::new();
    io.recv_burst(&mut rx, 8).unwrap();
    assert_eq!(rx.len(), 1, "delivered within the sender's system call");
    let p = rx.pop().unwrap();
    assert_eq!(p.from, addr("10.200.3.4:5004"));
    assert_eq!(p.buf.data(), b"hello");

    let mut tx = vec![TxPacket {
        port,
        to: p.from,
        buf: p.buf,
    }];
    assert_eq!(io.send_burst(&mut tx).unwrap(), 1);
    let (from, got) = phone.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(from, addr("10.0.0.1:20000"));
    assert_eq!(got, b"hello");
}

#[test]
fn two_nets_are_apart() {
    let first = std::thread::spawn(|| {
        let net = LoopNet::new();
        let a = net.socket(addr("10.0.0.9:5004")).unwrap();
        let b = net.socket(addr("10.0.0.8:5004")).unwrap();
        (net, a, b)
    });
    let (_first_net, a1, b1) = first.join().unwrap();
    // The same addresses and ports again, in another net: no clash, and
    // nothing crosses over.
    let second = std::thread::spawn(move || {
        let net = LoopNet::new();
        let a2 = net.socket(addr("10.0.0.9:5004")).unwrap();
        assert!(a2.send_to(b"second", addr("10.0.0.8:5004")));
        a2
    });
    let _a2 = second.join().unwrap();
    assert!(a1.send_to(b"first", addr("10.0.0.8:5004")));
    let (from, got) = b1.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (from, got.as_slice()),
        (addr("10.0.0.9:5004"), &b"first"[..])
    );
    assert!(
        b1.try_recv().is_none(),
        "the other net's datagram stayed there"
    );
}

#[test]
fn a_prefix_longer_than_an_address_is_refused() {
    let e = enter_private_loopback("10.0.0.1".parse().unwrap(), 33).unwrap_err();
    assert!(e.to_string().contains("33"), "{e}");
}

#[test]
fn recv_timeout_waits_for_a_late_datagram_and_gives_up_on_none() {
    let net = LoopNet::new();
    let a = net.socket(addr("10.0.0.9:5004")).unwrap();
    let b = net.socket(addr("10.0.0.8:5004")).unwrap();
    let start = std::time::Instant::now();
    assert!(b.recv_timeout(Duration::from_millis(60)).is_none());
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "{:?}",
        start.elapsed()
    );
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            assert!(a.send_to(b"late", addr("10.0.0.8:5004")));
        });
        let (from, got) = b
            .recv_timeout(Duration::from_secs(5))
            .expect("the late datagram");
        assert_eq!(
            (from, got.as_slice()),
            (addr("10.0.0.9:5004"), &b"late"[..])
        );
    });
}
