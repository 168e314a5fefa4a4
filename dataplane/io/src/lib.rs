//! `PacketIo`: how a media worker receives and sends UDP datagrams.
//!
//! A media worker (one per core, see `tandem-dataplane`) owns one
//! `PacketIo` instance and never shares it. The trait is shaped so that
//! three very different backends fit it without change:
//!
//! * **io_uring** (`tandem-udp`, the default): one ring per worker, one
//!   kernel UDP socket per media port, multishot receive into a ring of
//!   provided buffers, batched sends;
//! * **plain sockets** (`tandem-udp`, the fallback when io_uring is not
//!   available): `recvmmsg`/`sendmmsg` and `epoll`;
//! * **DPDK** (`drivers/dpdk`): one NIC queue per worker, mbufs, and a
//!   minimal host stack; "opening a port" registers a UDP port in the
//!   worker's table.
//!
//! The common ground is that **the backend owns packet memory**. Received
//! datagrams arrive as [`PacketIo::Buf`] handles (an mbuf, a provided
//! buffer, a heap slab) that the worker may rewrite in place and hand
//! straight back to [`PacketIo::send_burst`]: a relayed packet is never
//! copied. Dropping a handle returns its memory to the backend. Packets the
//! worker originates (RTCP, prompts, mixed audio) start from
//! [`PacketIo::alloc`].
//!
//! Calls take and fill caller-owned `Vec`s whose capacity the worker
//! reserves once, so the packet path does not allocate. Every call is
//! non-blocking except [`PacketIo::wait`], which parks the worker until a
//! datagram may be ready or the timeout passes (io_uring waits for a
//! completion; a busy-polling backend such as DPDK returns at once).
//!
//! [`MemoryIo`] is an in-memory backend: a switchboard of virtual UDP ports
//! that tests and benchmarks use to drive a worker deterministically.
#![forbid(unsafe_code)]

mod id_hash;
mod memory;

use core::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub use id_hash::{IdHasher, IdMap};
pub use memory::{MEMORY_BUF_CAPACITY, MemoryBuf, MemoryIo, MemoryNet, MemorySocket};

/// A local UDP endpoint opened on a backend (a media port of a leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u32);

/// Backend-owned packet memory: the UDP payload of one datagram.
///
/// `len` bytes starting at the payload are valid; `capacity` is how far the
/// payload may grow (for example when a transcoded frame is longer than the
/// received one). Dropping the handle returns the memory to its backend.
pub trait PacketBuf {
    /// The valid payload bytes.
    fn data(&self) -> &[u8];
    /// The valid payload bytes, writable in place.
    fn data_mut(&mut self) -> &mut [u8];
    /// Most bytes the payload can hold.
    fn capacity(&self) -> usize;
    /// Sets the payload length (bytes beyond the old length are
    /// unspecified until written).
    ///
    /// # Panics
    /// If `len > capacity()`: a caller bug, never reachable from input.
    fn set_len(&mut self, len: usize);
    /// When the datagram in this buffer reached the host, by the system
    /// clock, if the backend records it (the kernel's receive timestamp);
    /// `None` when it does not, and for buffers from
    /// [`PacketIo::alloc`]. A worker measures its relay latency with it.
    fn rx_time(&self) -> Option<std::time::SystemTime> {
        None
    }
}

/// A received datagram.
#[derive(Debug)]
pub struct RxPacket<B> {
    /// The local port it arrived on.
    pub port: PortId,
    /// The sender.
    pub from: SocketAddr,
    /// The UDP payload.
    pub buf: B,
}

/// A datagram to send.
#[derive(Debug)]
pub struct TxPacket<B> {
    /// The local port to send from (its address is the source).
    pub port: PortId,
    /// The destination.
    pub to: SocketAddr,
    /// The UDP payload.
    pub buf: B,
}

/// Why a backend call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum IoError {
    /// The local address is taken (another process or leg owns the port).
    AddrInUse(SocketAddr),
    /// The local address cannot be used on this backend (not configured,
    /// wrong family).
    AddrNotAvailable(SocketAddr),
    /// The port id is unknown or already closed: a caller bug.
    UnknownPort(PortId),
    /// The backend ran out of a resource (sockets, buffers, ring slots).
    Exhausted(&'static str),
    /// An operating-system error.
    Os(std::io::Error),
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoError::AddrInUse(a) => write!(f, "address {a} already in use"),
            IoError::AddrNotAvailable(a) => write!(f, "address {a} not available on this backend"),
            IoError::UnknownPort(p) => write!(f, "unknown port id {}", p.0),
            IoError::Exhausted(what) => write!(f, "out of {what}"),
            IoError::Os(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IoError::Os(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for IoError {
    fn from(e: std::io::Error) -> Self {
        IoError::Os(e)
    }
}

/// Counters every backend keeps (monotonic since creation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Datagrams received and handed to the worker.
    pub rx_packets: u64,
    /// Payload bytes received.
    pub rx_bytes: u64,
    /// Datagrams sent.
    pub tx_packets: u64,
    /// Payload bytes sent.
    pub tx_bytes: u64,
    /// Datagrams lost on receive because no buffer was free (ring empty,
    /// mempool empty) or truncated because larger than a buffer.
    pub rx_dropped: u64,
    /// Datagrams the backend could not send (queue full, OS error).
    pub tx_dropped: u64,
    /// System calls made (0 for DPDK): the figure that shows batching works.
    pub syscalls: u64,
}

/// The packet backend of one media worker. See the crate docs.
pub trait PacketIo {
    /// Backend-owned packet memory.
    type Buf: PacketBuf;

    /// A short name for logs and metrics (`"io_uring"`, `"socket"`, `"dpdk"`).
    fn name(&self) -> &'static str;

    /// Opens a UDP port at `local` (port 0 picks a free one) and starts
    /// receiving on it.
    fn open(&mut self, local: SocketAddr) -> Result<PortId, IoError>;

    /// The address a port is bound to.
    fn local_addr(&self, port: PortId) -> Result<SocketAddr, IoError>;

    /// Stops receiving on a port and releases it. Packets already received
    /// from it may still be delivered by the next `recv_burst`.
    fn close(&mut self, port: PortId) -> Result<(), IoError>;

    /// Appends up to `max` received datagrams to `out`; returns how many.
    /// Never blocks.
    fn recv_burst(
        &mut self,
        out: &mut Vec<RxPacket<Self::Buf>>,
        max: usize,
    ) -> Result<usize, IoError>;

    /// An empty buffer for a packet the worker originates, or `None` when
    /// the backend has none free (the caller counts a drop).
    fn alloc(&mut self) -> Option<Self::Buf>;

    /// Queues every packet in `pkts` for transmission, draining the `Vec`,
    /// and returns how many were accepted; the rest are dropped and counted
    /// in [`IoStats::tx_dropped`]. A backend may batch: [`flush`](Self::flush)
    /// pushes out whatever is pending.
    fn send_burst(&mut self, pkts: &mut Vec<TxPacket<Self::Buf>>) -> Result<usize, IoError>;

    /// Pushes out packets queued by `send_burst`.
    fn flush(&mut self) -> Result<(), IoError>;

    /// Parks until a datagram may be ready or `timeout` passes. Spurious
    /// wake-ups are allowed.
    fn wait(&mut self, timeout: Duration) -> Result<(), IoError>;

    /// The backend's counters.
    fn stats(&self) -> IoStats;
}
