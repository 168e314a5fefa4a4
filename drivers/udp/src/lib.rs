//! Kernel-UDP packet backends for Tandem's media workers: [`UringIo`]
//! (io_uring, the default) and [`SocketIo`] (`epoll` + `recvmmsg` /
//! `sendmmsg`, the fallback), and [`UdpIo`], which picks one at start-up.
//! All three implement [`tandem_packet_io::PacketIo`]; see that crate for
//! the contract (backend-owned packet memory, bursts, non-blocking calls
//! except `wait`).
//!
//! ```no_run
//! use std::time::Duration;
//! use tandem_packet_io::{PacketBuf, PacketIo, TxPacket};
//! use tandem_udp::{UdpConfig, UdpIo};
//!
//! let mut io = UdpIo::new(&UdpConfig::default())?;
//! eprintln!("packet backend: {}", io.describe()); // what and why
//! let port = io.open("127.0.0.1:20000".parse().unwrap())?;
//! let (mut rx, mut tx) = (Vec::with_capacity(32), Vec::with_capacity(32));
//! loop {
//!     io.wait(Duration::from_millis(1))?;
//!     io.recv_burst(&mut rx, 32)?;
//!     for p in rx.drain(..) {
//!         let mut buf = p.buf; // relay in place: no copy
//!         buf.data_mut()[0] ^= 1;
//!         tx.push(TxPacket { port, to: p.from, buf });
//!     }
//!     io.send_burst(&mut tx)?;
//! }
//! # Ok::<(), tandem_packet_io::IoError>(())
//! ```
//!
//! # io_uring backend
//!
//! One ring per instance (so per worker), set up with
//! `IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG | SINGLE_ISSUER | SUBMIT_ALL`
//! when the kernel has them (5.19 / 6.0 / 5.18; see [`TaskRun`]):
//! completions are produced when the worker next enters the kernel, not by
//! interrupting it, and `IORING_SQ_TASKRUN` tells a busy worker when an
//! enter is worth it, so `recv_burst` makes no system call when there is
//! nothing to collect. Construction probes (`IORING_REGISTER_PROBE`) for
//! `RECVMSG`, `SENDMSG`, `ASYNC_CANCEL` and `TIMEOUT` and reports what it
//! found in [`UringIo::features`] and [`UdpIo::describe`], e.g.
//! "io_uring on Linux 6.18: multishot recvmsg + provided-buffer ring,
//! timed enter, cooperative task run".
//!
//! * **Receive**: one non-blocking UDP socket per port, each with one
//!   *multishot* `IORING_OP_RECVMSG` (`IORING_RECV_MULTISHOT`, Linux 6.0)
//!   that picks buffers from a *provided-buffer ring*
//!   (`IORING_REGISTER_PBUF_RING`, Linux 5.19) shared by all ports:
//!   4096 buffers of 2 KiB by default ([`UdpConfig`]). The kernel writes
//!   `io_uring_recvmsg_out`, the peer address, control data and the payload
//!   into the buffer; the payload starts 112 bytes in, leaving 1936 bytes
//!   of room (more than an Ethernet MTU). The request ends when the ring
//!   runs dry (`ENOBUFS`) or on an error; it is re-armed as soon as a
//!   buffer is back (counted in [`UringIo::rx_starved`], not as a drop:
//!   datagrams wait in the socket meanwhile; only what overflows the
//!   socket's `SO_RCVBUF`, 4 MiB by default, is lost, and counted in
//!   `rx_dropped`).
//!   The feature is chosen at construction: kernel 6.0 or later (multishot
//!   is a flag, not an opcode, so the probe cannot see it) and a
//!   successful buffer-ring registration; otherwise (or with
//!   [`RecvMode::SingleShot`]) each port has one single-shot `RecvMsg`
//!   into a buffer from a free list, re-armed on every completion: one
//!   datagram per port per enter, so a burst on one port costs about two
//!   system calls a packet (one to receive, one to send), many ports
//!   share them.
//! * **Send**: one `IORING_OP_SENDMSG` per packet, all of a burst
//!   submitted by one `io_uring_enter`. The handle (a relayed receive
//!   buffer or an [`alloc`](tandem_packet_io::PacketIo::alloc)ed one) is
//!   parked in a send slot until its completion, then returns to its pool.
//! * **Wait**: `io_uring_enter(GETEVENTS, min_complete = 1)` with the
//!   timeout passed by `IORING_ENTER_EXT_ARG` (5.11), else with a
//!   `IORING_OP_TIMEOUT` request (count 1): an idle worker sleeps in the
//!   kernel.
//! * **Close** cancels the port's receive (`IORING_OP_ASYNC_CANCEL`); the
//!   socket closes when the cancellation completes (in the same call in
//!   practice). Dropping the backend cancels everything and waits for the
//!   kernel to let go of our memory; if it did not within 2 s, the memory
//!   is leaked rather than freed under the kernel.
//!
//! # Socket backend
//!
//! The same sockets in one level-triggered `epoll` set. `recv_burst`
//! drains ready ports round-robin with `recvmmsg` (64 datagrams a call);
//! `send_burst` sends each run of consecutive packets from one port with
//! `sendmmsg` (so a burst that alternates ports costs a call per packet:
//! io_uring has no such limit). The kernel copies payloads during the call,
//! so buffers return to the pool when `send_burst` returns.
//!
//! # Packet memory
//!
//! Each instance owns one arena (`mmap`, page-aligned) of receive buffers
//! and, separately, buffers for originated packets. A [`UdpBuf`] handle
//! owns one buffer exclusively; dropping it returns the buffer (to the
//! kernel's ring, published at once, or to a free list). Handles hold an
//! `Rc` to the arena, are `!Send` (a worker's packets stay on its thread)
//! and may outlive the backend. Both backends use the same handle type, so
//! [`UdpIo`] needs no buffer enum and a relayed packet is never converted.
//!
//! # Counters ([`IoStats`])
//!
//! * `rx_packets`, `rx_bytes`, `tx_packets`, `tx_bytes`: datagrams and
//!   payload bytes delivered to the worker / confirmed sent by the kernel
//!   (io_uring counts a send at its completion).
//! * `rx_dropped`: datagrams the kernel dropped because the socket queue
//!   was full (read from `SO_RXQ_OVFL` on the next datagram of that port,
//!   so it lags), plus datagrams dropped here because they were larger
//!   than a buffer (truncated) or from an unknown address family.
//! * `tx_dropped`: sends that failed (unreachable, socket buffer full) or
//!   were given an unknown or closed port.
//! * `syscalls`: every system call made (`io_uring_enter`, `socket`,
//!   `bind`, `setsockopt`, `recvmmsg`, `epoll_wait`, …).
//!
//! # Measured (loopback, 2 shared cores, Linux 6.18)
//!
//! `cargo bench -p tandem-udp --bench loopback`: two instances of one
//! backend on one thread echo bursts of 32 172-byte datagrams (each packet
//! is sent twice and received twice). Ranges span four runs on a machine
//! shared with other builds (±15 % noise).
//!
//! | backend              | echoes/s, 1 port | echoes/s, 32 ports | system calls per send+receive, 1 / 32 ports |
//! |----------------------|------------------|--------------------|---------------------------------------------|
//! | io_uring multishot   | 121–152 k        | 96–144 k           | 0.031 / 0.031                               |
//! | io_uring single-shot | 95–136 k         | 113–147 k          | 1.03 / 0.55                                 |
//! | socket               | 120–157 k        | 91–145 k           | 0.062 / 1.05                                |
//!
//! On loopback the backends tie on throughput: `perf` puts 96 % of the
//! time in the kernel's UDP/IP path (route lookup, skb build, the
//! receiver's queueing, run inline by each send) and 3 % in this crate.
//! What io_uring buys is system calls: one enter per burst whatever the
//! number of ports, where sockets pay a `sendmmsg` per port and a
//! `recvmmsg` per ready port (1.05 calls per packet with 32 ports, 34×
//! io_uring's). An idle worker in `wait` uses no CPU (tested: under 20 ms
//! of CPU over 200 ms of waiting, on both wait paths).
//!
//! Handles and backends are `!Send`: build the backend on its worker
//! thread.
#![allow(unsafe_code)] // This crate is the driver: every system call and the
// memory shared with the kernel live here (STYLE.md rule 6), each `unsafe`
// block with its `SAFETY:` argument.

mod affinity;
mod buf;
mod limits;
pub mod loopnet;
mod netns;
mod socket;
mod sys;
mod uring;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

pub use affinity::{MAX_RT_PRIORITY, pin_current_thread, set_current_thread_realtime};
pub use buf::{BufferUsage, UdpBuf};
pub use limits::{raise_open_files_limit, release_free_memory};
pub use netns::{enter_netns, enter_private_loopback};
pub use socket::SocketIo;
use tandem_packet_io::{IoError, IoStats, PacketIo, PortId, RxPacket, TxPacket};
pub use uring::{TaskRun, UringFeatures, UringIo};

/// Which backend [`UdpIo::new`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// io_uring when it works here, else sockets.
    #[default]
    Auto,
    /// io_uring or an error.
    Uring,
    /// Sockets, even where io_uring works.
    Socket,
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Backend::Auto),
            "io_uring" | "uring" => Ok(Backend::Uring),
            "socket" => Ok(Backend::Socket),
            _ => Err(format!(
                "unknown packet backend {s:?} (auto, io_uring, socket)"
            )),
        }
    }
}

/// How the io_uring backend receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecvMode {
    /// Multishot into a provided-buffer ring where the kernel has it.
    #[default]
    Auto,
    /// Single-shot receives even where multishot works (tests the path
    /// older kernels take).
    SingleShot,
}

/// Sizes and choices for a backend instance (one per worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpConfig {
    /// Which backend.
    pub backend: Backend,
    /// io_uring receive mode.
    pub recv_mode: RecvMode,
    /// Receive buffers (at most 32768 on io_uring).
    pub rx_buffers: u32,
    /// Buffers for originated packets ([`PacketIo::alloc`]).
    pub tx_buffers: u32,
    /// Bytes per buffer.
    pub buffer_size: u32,
    /// `SO_RCVBUF` for each socket (`SO_RCVBUFFORCE` when privileged), so
    /// a burst can wait in the socket; `None` keeps the system default.
    pub socket_rcvbuf: Option<usize>,
    /// Submission-queue entries of the ring (also the sends in flight).
    pub ring_entries: u32,
    /// Ask the kernel for each datagram's receive time (`SO_TIMESTAMPNS`),
    /// read with [`UdpBuf::rx_timestamp`]: for measuring latency without
    /// the reader's own delays (the load generator does).
    pub rx_timestamps: bool,
}

impl Default for UdpConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Auto,
            recv_mode: RecvMode::Auto,
            rx_buffers: 4096,
            tx_buffers: 4096,
            buffer_size: 2048,
            socket_rcvbuf: Some(4 << 20),
            ring_entries: 1024,
            rx_timestamps: false,
        }
    }
}

/// The backend a worker runs: io_uring or sockets, chosen by
/// [`UdpIo::new`].
// One per worker, built once and never moved on the packet path: boxing
// the larger variant would only add an indirection to every call.
#[allow(clippy::large_enum_variant)]
pub enum UdpIo {
    /// io_uring.
    Uring(UringIo),
    /// `epoll` + `recvmmsg`/`sendmmsg`.
    Socket(SocketIo),
}

impl UdpIo {
    /// Builds the configured backend. With [`Backend::Auto`], io_uring is
    /// tried first and any failure falls back to sockets; the reason is in
    /// [`describe`](Self::describe).
    pub fn new(config: &UdpConfig) -> Result<Self, IoError> {
        match config.backend {
            Backend::Uring => Ok(UdpIo::Uring(UringIo::new(config)?)),
            Backend::Socket => Ok(UdpIo::Socket(SocketIo::new(
                config,
                "chosen by configuration",
            )?)),
            Backend::Auto => match UringIo::new(config) {
                Ok(u) => Ok(UdpIo::Uring(u)),
                Err(e) => Ok(UdpIo::Socket(SocketIo::new(
                    config,
                    &format!("io_uring unavailable: {e}"),
                )?)),
            },
        }
    }

    /// One line for the gateway's log: which backend, with which kernel
    /// features, and (for sockets) why.
    pub fn describe(&self) -> &str {
        match self {
            UdpIo::Uring(u) => u.describe(),
            UdpIo::Socket(s) => s.describe(),
        }
    }

    /// Buffers held by the worker.
    pub fn buffer_usage(&self) -> BufferUsage {
        match self {
            UdpIo::Uring(u) => u.buffer_usage(),
            UdpIo::Socket(s) => s.buffer_usage(),
        }
    }

    /// Times receiving paused for want of buffers.
    pub fn rx_starved(&self) -> u64 {
        match self {
            UdpIo::Uring(u) => u.rx_starved(),
            UdpIo::Socket(s) => s.rx_starved(),
        }
    }
}

macro_rules! both {
    ($self:expr, $io:ident => $e:expr) => {
        match $self {
            UdpIo::Uring($io) => $e,
            UdpIo::Socket($io) => $e,
        }
    };
}

impl PacketIo for UdpIo {
    type Buf = UdpBuf;

    fn name(&self) -> &'static str {
        both!(self, io => io.name())
    }

    fn open(&mut self, local: SocketAddr) -> Result<PortId, IoError> {
        both!(self, io => io.open(local))
    }

    fn local_addr(&self, port: PortId) -> Result<SocketAddr, IoError> {
        both!(self, io => io.local_addr(port))
    }

    fn close(&mut self, port: PortId) -> Result<(), IoError> {
        both!(self, io => io.close(port))
    }

    fn recv_burst(
        &mut self,
        out: &mut Vec<RxPacket<UdpBuf>>,
        max: usize,
    ) -> Result<usize, IoError> {
        both!(self, io => io.recv_burst(out, max))
    }

    fn alloc(&mut self) -> Option<UdpBuf> {
        both!(self, io => io.alloc())
    }

    fn send_burst(&mut self, pkts: &mut Vec<TxPacket<UdpBuf>>) -> Result<usize, IoError> {
        both!(self, io => io.send_burst(pkts))
    }

    fn flush(&mut self) -> Result<(), IoError> {
        both!(self, io => io.flush())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), IoError> {
        both!(self, io => io.wait(timeout))
    }

    fn stats(&self) -> IoStats {
        both!(self, io => io.stats())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes `io_uring_setup` fail with `ENOSYS` for the calling thread
    /// only (seccomp filters are per thread unless synchronised), as on a
    /// kernel without io_uring or under a container's seccomp profile.
    fn deny_io_uring_on_this_thread() {
        const BPF_LD_W_ABS: u16 = 0x20;
        const BPF_JMP_JEQ_K: u16 = 0x15;
        const BPF_RET_K: u16 = 0x06;
        const RET_ALLOW: u32 = 0x7fff_0000;
        const RET_ERRNO: u32 = 0x0005_0000;
        let insn = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        let filter = [
            // A = seccomp_data.nr
            insn(BPF_LD_W_ABS, 0, 0, 0),
            insn(BPF_JMP_JEQ_K, 0, 1, libc::SYS_io_uring_setup as u32),
            insn(BPF_RET_K, 0, 0, RET_ERRNO | libc::ENOSYS as u32),
            insn(BPF_RET_K, 0, 0, RET_ALLOW),
        ];
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: prctl with constant arguments; `prog` points at `filter`,
        // both alive for the call (the kernel copies the program).
        unsafe {
            assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
            assert_eq!(
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &raw const prog
                ),
                0,
                "{}",
                std::io::Error::last_os_error()
            );
        }
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))] // ENOSYS = 38
    fn auto_falls_back_to_sockets_and_says_why() {
        std::thread::spawn(|| {
            deny_io_uring_on_this_thread();
            assert!(matches!(
                UdpIo::new(&UdpConfig {
                    backend: Backend::Uring,
                    ..UdpConfig::default()
                }),
                Err(IoError::Os(_))
            ));
            let mut io = UdpIo::new(&UdpConfig::default()).unwrap();
            assert_eq!(io.name(), "socket");
            assert!(
                io.describe().contains("io_uring unavailable"),
                "{}",
                io.describe()
            );
            assert!(io.describe().contains("38"), "errno in {}", io.describe());
            // And it works.
            let port = io.open("127.0.0.1:0".parse().unwrap()).unwrap();
            let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            peer.send_to(b"x", io.local_addr(port).unwrap()).unwrap();
            io.wait(Duration::from_secs(2)).unwrap();
            let mut rx = Vec::new();
            assert_eq!(io.recv_burst(&mut rx, 4).unwrap(), 1);
        })
        .join()
        .unwrap();
    }
}
