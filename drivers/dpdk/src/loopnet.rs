//! A test network on DPDK: the engine's [`DpdkIo`] on one of two
//! ring-based ports wired back to back, and peer sockets (phones) on the
//! other, so that the media engine's integration tests run unchanged on
//! this backend as on the in-memory one (`tandem-packet-io`'s
//! `MemoryNet`, whose API this mirrors).
//!
//! Every datagram really crosses DPDK: the engine's go through its host
//! stack and out of its port; a phone's are framed (Ethernet, IPv4, UDP
//! with checksums) by a [`HostStack`] holding the phone's address and put
//! on the other port, and what arrives there is parsed back by the stack
//! of the address it is for. Delivery is synchronous (a ring), so tests
//! that step a worker turn by turn see the same packets at the same turns.
//!
//! The engine's port is 10.0.0.1/8: every 10.x.y.z address is on-link.
//! Phones may take any such address; the engine learns each phone's MAC
//! address when the phone is created (as if it had answered ARP), so no
//! first packet is lost to address resolution.
//!
//! One EAL per process (anonymous memory, no devices); each net makes its
//! own pair of ports. Not `Send`: one net per test thread.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tandem_packet_io::IoError;

use crate::dpdk::{Eal, Mbuf, Mempool, Port, RxQueue, TxQueue};
use crate::io::{DpdkConfig, DpdkIo};
use crate::media::Fabric;
use crate::stack::{HostStack, Verdict};

/// The engine's address on every loop net.
pub const ENGINE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn env() -> &'static (Eal, &'static Mempool) {
    static ENV: OnceLock<(Eal, &'static Mempool)> = OnceLock::new();
    ENV.get_or_init(|| {
        let eal = Eal::init(&[
            "--no-huge",
            "--no-pci",
            "--no-shconf",
            "--no-telemetry",
            "-m",
            "512",
            "-l",
            "0",
            "--log-level",
            "lib.eal:error",
        ])
        .unwrap_or_else(|e| panic!("starting DPDK's EAL for a loop net: {e}"));
        let pool = Mempool::new(&eal, "loopnet_pool", 32 * 1024 - 1, 256, 2048, None)
            .unwrap_or_else(|e| panic!("a packet pool for loop nets: {e}"));
        (eal, pool)
    })
}

struct Inner {
    rx: RxQueue,
    tx: TxQueue,
    pool: &'static Mempool,
    engine_mac: [u8; 6],
    phone_mac: [u8; 6],
    /// The engine's queue pair and the fabric it learns neighbours from,
    /// until `io()` takes them.
    engine: Option<(RxQueue, TxQueue)>,
    fabric: Arc<Fabric>,
    /// A stack per phone address: frames what phones send, parses what
    /// arrives for them.
    stacks: HashMap<Ipv4Addr, HostStack>,
    mailboxes: HashMap<SocketAddrV4, VecDeque<(SocketAddr, Vec<u8>)>>,
    next_ephemeral: u16,
    ip_id: u16,
    frames: Vec<Mbuf>,
    reply: Vec<u8>,
}

impl Inner {
    /// Moves what arrived on the phones' port into their mailboxes.
    fn poll(&mut self) {
        #[allow(clippy::disallowed_methods)] // the harness's own clock, for ARP ageing
        let now = Instant::now();
        loop {
            self.frames.clear();
            if self.rx.recv(&mut self.frames, crate::MAX_BURST) == 0 {
                return;
            }
            for m in self.frames.drain(..) {
                let data = m.data();
                // IPv4 destination of an untagged frame.
                let Some(dst) = data.get(30..34) else {
                    continue;
                };
                let dst = Ipv4Addr::new(dst[0], dst[1], dst[2], dst[3]);
                let Some(stack) = self.stacks.get_mut(&dst) else {
                    continue;
                };
                if let Verdict::Udp {
                    from,
                    port,
                    payload,
                } = stack.handle(now, data, &mut self.reply)
                    && let Some(mailbox) = self.mailboxes.get_mut(&SocketAddrV4::new(dst, port))
                    && let Some(bytes) = data.get(payload)
                {
                    mailbox.push_back((SocketAddr::V4(from), bytes.to_vec()));
                }
            }
        }
    }
}

/// See the module docs. Clones share the net.
#[derive(Clone)]
pub struct LoopNet {
    inner: Rc<RefCell<Inner>>,
}

impl Default for LoopNet {
    fn default() -> Self {
        Self::new()
    }
}

impl LoopNet {
    /// A new pair of ports on this process's EAL.
    pub fn new() -> LoopNet {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let (eal, pool) = env();
        let name = format!("loop{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let (a, b) = eal
            .ring_pair(&name)
            .unwrap_or_else(|e| panic!("a ring pair for a loop net: {e}"));
        let (engine_port, mut erx, mut etx) =
            Port::start(eal, a, 1, 1, 1024, pool).expect("the engine's ring port starts");
        let (phone_port, mut prx, mut ptx) =
            Port::start(eal, b, 1, 1, 1024, pool).expect("the phones' ring port starts");
        let engine_mac = engine_port.mac().expect("a MAC address");
        let mut phone_mac = phone_port.mac().expect("a MAC address");
        if phone_mac == engine_mac {
            phone_mac[5] ^= 1;
        }
        LoopNet {
            inner: Rc::new(RefCell::new(Inner {
                rx: prx.remove(0),
                tx: ptx.remove(0),
                pool,
                engine_mac,
                phone_mac,
                engine: Some((erx.remove(0), etx.remove(0))),
                fabric: Arc::new(Fabric::new(1)),
                stacks: HashMap::new(),
                mailboxes: HashMap::new(),
                next_ephemeral: 0,
                ip_id: 0,
                frames: Vec::with_capacity(crate::MAX_BURST),
                reply: vec![0; 2048],
            })),
        }
    }

    /// The engine's backend on this net (once per net).
    pub fn io(&self) -> DpdkIo {
        let mut inner = self.inner.borrow_mut();
        let (rx, tx) = inner
            .engine
            .take()
            .expect("a loop net has one engine backend");
        DpdkIo::shared(
            rx,
            tx,
            inner.pool,
            inner.engine_mac,
            DpdkConfig {
                ip: ENGINE_IP,
                prefix_len: 8,
                gateway: None,
                vlan: None,
            },
            0,
            Arc::clone(&inner.fabric),
        )
    }

    /// A phone bound at `addr` (an IPv4 address in 10/8 other than the
    /// engine's; port 0 picks one).
    pub fn socket(&self, addr: SocketAddr) -> Result<LoopSocket, IoError> {
        let mut inner = self.inner.borrow_mut();
        let SocketAddr::V4(mut a) = addr else {
            return Err(IoError::AddrNotAvailable(addr));
        };
        if a.ip().octets()[0] != 10 || *a.ip() == ENGINE_IP {
            return Err(IoError::AddrNotAvailable(addr));
        }
        if a.port() == 0 {
            loop {
                inner.next_ephemeral = inner.next_ephemeral.wrapping_add(1).max(1);
                let candidate =
                    SocketAddrV4::new(*a.ip(), 40000u16.wrapping_add(inner.next_ephemeral));
                if !inner.mailboxes.contains_key(&candidate) {
                    a = candidate;
                    break;
                }
            }
        } else if inner.mailboxes.contains_key(&a) {
            return Err(IoError::AddrInUse(addr));
        }
        let mac = inner.phone_mac;
        #[allow(clippy::disallowed_methods)] // the harness's own clock, for ARP ageing
        let now = Instant::now();
        inner
            .stacks
            .entry(*a.ip())
            .or_insert_with(|| HostStack::new(mac, *a.ip(), None));
        // As if the phone had answered the engine's ARP request.
        inner.fabric.publish(now, *a.ip(), mac);
        inner.mailboxes.insert(a, VecDeque::new());
        Ok(LoopSocket {
            net: self.clone(),
            addr: a,
        })
    }
}

/// A phone on a [`LoopNet`].
pub struct LoopSocket {
    net: LoopNet,
    addr: SocketAddrV4,
}

impl LoopSocket {
    /// Where this socket is bound.
    pub fn local_addr(&self) -> SocketAddr {
        SocketAddr::V4(self.addr)
    }

    /// Sends a datagram to the engine; `false` if it could not be framed
    /// or the ring was full (only the engine's address is reachable).
    pub fn send_to(&self, payload: &[u8], to: SocketAddr) -> bool {
        let mut inner = self.net.inner.borrow_mut();
        let SocketAddr::V4(to) = to else {
            return false;
        };
        if *to.ip() != ENGINE_IP {
            return false;
        }
        inner.ip_id = inner.ip_id.wrapping_add(1);
        let (id, engine_mac) = (inner.ip_id, inner.engine_mac);
        let Some(mut m) = inner.pool.alloc() else {
            return false;
        };
        let room = usize::from(m.room()).min(1514);
        if m.set_len(room as u16).is_err() {
            return false;
        }
        let Some(stack) = inner.stacks.get(self.addr.ip()) else {
            return false;
        };
        let Some(n) = stack.write_udp(m.data_mut(), self.addr.port(), to, engine_mac, payload, id)
        else {
            return false;
        };
        if m.set_len(n as u16).is_err() {
            return false;
        }
        let mut out = vec![m];
        inner.tx.send(&mut out) == 1
    }

    /// The next datagram if one is waiting.
    pub fn try_recv(&self) -> Option<(SocketAddr, Vec<u8>)> {
        let mut inner = self.net.inner.borrow_mut();
        inner.poll();
        inner.mailboxes.get_mut(&self.addr)?.pop_front()
    }

    /// The next datagram, waiting up to `timeout` (delivery on a loop
    /// net is synchronous: what the engine sent is already there).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(SocketAddr, Vec<u8>)> {
        #[allow(clippy::disallowed_methods)] // the harness's own clock
        let end = Instant::now() + timeout;
        loop {
            if let Some(d) = self.try_recv() {
                return Some(d);
            }
            #[allow(clippy::disallowed_methods)] // the harness's own clock
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Drop for LoopSocket {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.net.inner.try_borrow_mut() {
            inner.mailboxes.remove(&self.addr);
        }
    }
}
