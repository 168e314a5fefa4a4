//! DPDK without a NIC or hugepages: the EAL on anonymous memory, a
//! `net_ring` virtual device (its transmit ring is its receive ring, so
//! what is sent comes back) and a `net_null` one (sends vanish, receives
//! are empty packets). Runs where `.ci/run` installs `libdpdk-dev`.
//!
//! One test per process: the EAL can be initialised once (nextest runs
//! each test in its own process; plain `cargo test` runs this file's one
//! test alone).

use tandem_dpdk::{Eal, Mempool, Port};

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
        "--log-level",
        "lib.eal:error",
        "--vdev=net_ring0",
        "--vdev=net_null0",
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
}
