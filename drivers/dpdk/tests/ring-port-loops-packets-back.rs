//! DPDK without a NIC or hugepages: the EAL on anonymous memory, a
//! `net_ring` virtual device (its transmit ring is its receive ring, so
//! what is sent comes back) and a `net_null` one (sends vanish, receives
//! are empty packets), then the media engine's `PacketIo` backend
//! (`DpdkIo`) on a second ring port: framing, the host stack, VLAN 42,
//! zero-copy receive and relay, an unresolved next hop. Runs where
//! `.ci/run` installs `libdpdk-dev`.
//!
//! One test per process: the EAL can be initialised once (nextest runs
//! each test in its own process; plain `cargo test` runs this file's one
//! test alone).

use std::net::SocketAddr;

use tandem_dpdk::{DpdkConfig, DpdkIo, Eal, Mempool, Port};
use tandem_packet_io::{IoError, PacketBuf, PacketIo, TxPacket};

#[test]
fn packets_sent_on_a_ring_port_come_back_intact() {
    let eal = Eal::init(&[
        "--no-huge",
        "--no-pci",
        "--no-shconf",
        "-m",
        "256",
        "-l",
        "0",
        "--no-telemetry",
        "--log-level",
        "lib.eal:error",
        "--vdev=net_ring0",
        "--vdev=net_null0",
        "--vdev=net_ring1",
    ])
    .unwrap_or_else(|e| panic!("EAL: {e}"));
    // Twice is refused, not undefined.
    let again = Eal::init(&[]).unwrap_err();
    assert_eq!(again.code, libc::EALREADY, "{again}");

    assert!(eal.port_count() >= 2, "{} ports", eal.port_count());
    let pool = Mempool::new(&eal, "test_pool", 1023, 32, 2048, None).unwrap();
    let total = pool.available();
    assert!(total >= 1000, "{total}");

    let ring = eal.port_by_name("net_ring0").unwrap();
    let (port, mut rx, mut tx) = Port::start(&eal, ring, 1, 1, 256, pool).unwrap();
    let mac = port.mac().unwrap();
    assert_eq!(mac.len(), 6);

    // 32 packets of distinct contents out, and back in order.
    let mut out: Vec<_> = (0..32u8)
        .map(|i| {
            let payload: Vec<u8> = (0..172)
                .map(|j| i.wrapping_mul(7).wrapping_add(j as u8))
                .collect();
            pool.alloc_with(&payload).expect("a buffer")
        })
        .collect();
    assert_eq!(tx[0].send(&mut out), 32);
    assert!(out.is_empty());
    let mut back = Vec::new();
    while back.len() < 32 {
        if rx[0].recv(&mut back, 64) == 0 {
            break;
        }
    }
    assert_eq!(back.len(), 32);
    for (i, m) in back.iter().enumerate() {
        let i = i as u8;
        assert_eq!(m.data().len(), 172);
        assert_eq!(m.segments(), 1);
        assert!(
            m.data()
                .iter()
                .enumerate()
                .all(|(j, &b)| b == i.wrapping_mul(7).wrapping_add(j as u8)),
            "packet {i} changed"
        );
    }
    // Every buffer goes back to the pool when dropped.
    drop(back);
    assert_eq!(pool.available(), total);
    let stats = port.stats().unwrap();
    assert_eq!(stats.tx_packets, 32, "{stats:?}");
    assert_eq!(stats.rx_packets, 32, "{stats:?}");

    // A null port swallows what it is given.
    let null = eal.port_by_name("net_null0").unwrap();
    let (_null, _rx, mut tx) = Port::start(&eal, null, 1, 1, 256, pool).unwrap();
    let mut burst: Vec<_> = (0..64)
        .map(|_| pool.alloc_with(&[0u8; 60]).unwrap())
        .collect();
    assert_eq!(tx[0].send(&mut burst), 64);
    // The null driver frees what it sent.
    assert_eq!(pool.available(), total);
    assert!(eal.port_by_name("net_nothing9").is_err());

    // The media engine's backend on a ring port, VLAN 42: datagrams sent
    // to our own address go out framed, come back, pass the host stack
    // and arrive on the other UDP port, payload intact, without copies.
    let r1 = eal.port_by_name("net_ring1").unwrap();
    let (p1, mut rx, mut tx) = Port::start(&eal, r1, 1, 1, 256, pool).unwrap();
    let config = DpdkConfig {
        ip: "192.0.2.1".parse().unwrap(),
        prefix_len: 24,
        gateway: None,
        vlan: Some(42),
    };
    let mut io = DpdkIo::new(rx.remove(0), tx.remove(0), pool, p1.mac().unwrap(), config);
    assert_eq!(io.name(), "dpdk");
    let a = io.open("192.0.2.1:4000".parse().unwrap()).unwrap();
    let b = io.open("0.0.0.0:4002".parse().unwrap()).unwrap();
    assert!(matches!(
        io.open("192.0.2.1:4000".parse().unwrap()),
        Err(IoError::AddrInUse(_))
    ));
    assert!(matches!(
        io.open("10.0.0.1:5000".parse().unwrap()),
        Err(IoError::AddrNotAvailable(_))
    ));
    let to_b: SocketAddr = "192.0.2.1:4002".parse().unwrap();
    let mut pkts: Vec<_> = (0..10u8)
        .map(|i| {
            let mut buf = io.alloc().unwrap();
            buf.set_len(172);
            buf.data_mut().fill(i);
            TxPacket {
                port: a,
                to: to_b,
                buf,
            }
        })
        .collect();
    assert_eq!(io.send_burst(&mut pkts).unwrap(), 10);
    let mut got = Vec::new();
    io.recv_burst(&mut got, 64).unwrap();
    assert_eq!(got.len(), 10);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.port, b);
        assert_eq!(p.from, "192.0.2.1:4000".parse::<SocketAddr>().unwrap());
        assert_eq!(p.buf.data(), &[i as u8; 172][..], "payload {i}");
    }
    // Relayed back as they are (the received buffers, headers rewritten
    // in place).
    let to_a: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    let mut back: Vec<_> = got
        .into_iter()
        .map(|p| TxPacket {
            port: b,
            to: to_a,
            buf: p.buf,
        })
        .collect();
    assert_eq!(io.send_burst(&mut back).unwrap(), 10);
    let mut again = Vec::new();
    io.recv_burst(&mut again, 64).unwrap();
    assert_eq!(again.len(), 10);
    assert!(
        again
            .iter()
            .all(|p| p.port == a && p.buf.data().len() == 172)
    );
    // A peer whose MAC is unknown: dropped and counted, an ARP request
    // asked (it comes back through the ring: not for us).
    let mut lost = vec![TxPacket {
        port: a,
        to: "192.0.2.9:5000".parse().unwrap(),
        buf: io.alloc().unwrap(),
    }];
    assert_eq!(io.send_burst(&mut lost).unwrap(), 0);
    assert_eq!(io.unresolved(), 1);
    io.recv_burst(&mut again, 64).unwrap();
    assert_eq!(
        io.stack().counters().not_ours,
        1,
        "{:?}",
        io.stack().counters()
    );
    let s = io.stats();
    assert_eq!((s.rx_packets, s.tx_dropped), (20, 1), "{s:?}");
    assert_eq!(s.rx_bytes, 20 * 172);
    drop(again);
    assert_eq!(pool.available(), total, "every mbuf back in the pool");
}
