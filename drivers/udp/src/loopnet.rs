//! A test network on the kernel: the engine's [`UringIo`] and peer
//! sockets (phones) on a loopback of their own, so that the media engine's
//! integration tests run unchanged on this backend as on the in-memory
//! one (`tandem-packet-io`'s `MemoryNet`, whose API this mirrors) and on
//! DPDK (`tandem-dpdk`'s loop net).
//!
//! Each net is a new network namespace entered by the calling thread
//! ([`enter_private_loopback`]) with 10.0.0.1/8 on its loopback: every
//! 10.x.y.z address is local, so the addresses the tests were written
//! with work as they are, and nets made by tests running side by side
//! never share a port. Every datagram crosses the kernel's UDP stack; the
//! engine's go through io_uring. Loopback delivery happens within the
//! sender's system call, so tests that step a worker turn by turn see the
//! same packets at the same turns.
//!
//! Needs `CAP_SYS_ADMIN` (root) for the namespace. Sockets belong to the
//! namespace of the thread that opens them: the worker's and the phones'
//! must be opened on the thread that made the net (or on threads it
//! spawned afterwards), and a thread's newest net is the one it is in.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use tandem_packet_io::IoError;

use crate::{UdpConfig, UringIo, enter_private_loopback};

/// The engine's address on every loop net.
pub const ENGINE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// One private loopback network (see the module docs).
pub struct LoopNet {
    /// The namespace's inode number, to catch sockets opened elsewhere.
    ns: u64,
}

impl Default for LoopNet {
    fn default() -> Self {
        Self::new()
    }
}

impl LoopNet {
    /// Moves the calling thread into a new network namespace with
    /// 10.0.0.1/8 on its loopback.
    ///
    /// # Panics
    /// Without `CAP_SYS_ADMIN`, or if the namespace cannot be set up; the
    /// message says why.
    pub fn new() -> LoopNet {
        enter_private_loopback(ENGINE_IP, 8).unwrap_or_else(|e| {
            panic!("a private loopback network for the io_uring tests (needs root): {e}")
        });
        let ns = current_ns().unwrap_or_else(|e| panic!("reading this thread's namespace: {e}"));
        LoopNet { ns }
    }

    /// A worker's backend: io_uring, never the socket fallback, with
    /// kernel receive timestamps on (as `tandem run` has them).
    ///
    /// # Panics
    /// When io_uring is unavailable; the message says why.
    pub fn io(&self) -> UringIo {
        self.check_thread();
        let config = UdpConfig {
            rx_buffers: 1024,
            tx_buffers: 1024,
            ring_entries: 256,
            rx_timestamps: true,
            ..UdpConfig::default()
        };
        UringIo::new(&config).unwrap_or_else(|e| panic!("io_uring for a loop net: {e}"))
    }

    /// A phone's socket bound at `addr` (any 10.x.y.z address).
    pub fn socket(&self, addr: SocketAddr) -> Result<LoopSocket, IoError> {
        self.check_thread();
        let socket = UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(LoopSocket { socket, addr })
    }

    fn check_thread(&self) {
        let here = current_ns().ok();
        assert_eq!(
            here,
            Some(self.ns),
            "a loop net is used from a thread outside its namespace"
        );
    }
}

fn current_ns() -> io::Result<u64> {
    Ok(File::open("/proc/thread-self/ns/net")?.metadata()?.ino())
}

/// A phone on a [`LoopNet`]: a plain kernel UDP socket.
pub struct LoopSocket {
    socket: UdpSocket,
    addr: SocketAddr,
}

impl LoopSocket {
    /// Where this socket is bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends a datagram; `false` if the kernel refused it.
    pub fn send_to(&self, payload: &[u8], to: SocketAddr) -> bool {
        self.socket.send_to(payload, to).is_ok()
    }

    /// The next datagram if one is waiting.
    pub fn try_recv(&self) -> Option<(SocketAddr, Vec<u8>)> {
        let mut buf = vec![0u8; 65536];
        let (n, from) = self.socket.recv_from(&mut buf).ok()?;
        buf.truncate(n);
        Some((from, buf))
    }

    /// The next datagram, waiting up to `timeout` (in the kernel, with
    /// `poll(2)`).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(SocketAddr, Vec<u8>)> {
        if let Some(d) = self.try_recv() {
            return Some(d);
        }
        let mut fd = libc::pollfd {
            fd: self.socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, ours for the call; the socket is open.
        let ready = unsafe { libc::poll(&raw mut fd, 1, ms) };
        if ready > 0 { self.try_recv() } else { None }
    }
}
