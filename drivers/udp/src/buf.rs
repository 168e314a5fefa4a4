//! Packet memory: one arena of fixed-size buffers per backend instance,
//! handed out as [`UdpBuf`] handles.
//!
//! Buffer ids `0..rx` are receive buffers, `rx..rx+tx` are for packets the
//! worker originates ([`PacketIo::alloc`](tandem_packet_io::PacketIo::alloc)).
//! Every id is, at any moment, in exactly one place:
//!
//! * in the kernel's hands: in the provided-buffer ring (io_uring
//!   multishot), or named by an in-flight `RecvMsg` (io_uring single-shot);
//! * on a free list (socket backend, single-shot, and all tx buffers);
//! * inside exactly one [`UdpBuf`] handle, which alone may touch its bytes;
//!   a handle queued for sending is parked in the backend until the kernel
//!   is done reading it.
//!
//! Dropping a handle puts its id back where it came from (into the ring,
//! published to the kernel at once, or onto a free list). Handles keep the
//! arena alive through an `Rc`, so they may outlive the backend; they are
//! `!Send`, as a worker's packets never leave its thread.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};

use tandem_packet_io::PacketBuf;

/// An anonymous, page-aligned private mapping.
struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

impl Region {
    fn new(len: usize) -> io::Result<Self> {
        let len = len.max(1);
        // SAFETY: an anonymous private mapping touches no existing memory;
        // the result is checked for MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Self { ptr, len })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping created in `new`, and
        // no reference into it outlives the owning arena (handles hold an
        // `Rc` to the arena).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// `struct io_uring_buf` (16 bytes). In entry 0 the last two bytes are the
/// ring's tail, which the kernel reads.
#[repr(C)]
struct RingEntry {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// Byte offset of the tail inside the ring (`resv` of entry 0).
const TAIL_OFFSET: usize = 14;

/// A provided-buffer ring (`IORING_REGISTER_PBUF_RING`, Linux 5.19): an
/// array shared with the kernel whose entries name free receive buffers.
/// We produce at the tail; the kernel consumes at its private head.
struct BufRing {
    mem: Region,
    entries: u32,
    /// Our copy of the tail; published with a release store.
    tail: Cell<u16>,
}

impl BufRing {
    fn new(entries: u32) -> io::Result<Self> {
        debug_assert!(entries.is_power_of_two() && entries <= 32768);
        Ok(Self {
            mem: Region::new(entries as usize * size_of::<RingEntry>())?,
            entries,
            tail: Cell::new(0),
        })
    }

    /// Writes an entry at the unpublished tail slot.
    fn stage(&self, bid: u16, addr: u64, len: u32) {
        let t = self.tail.get();
        let idx = (u32::from(t) & (self.entries - 1)) as usize;
        // SAFETY: `idx < entries`, so the entry lies inside the mapping.
        // The slot is at or past the published tail, which the kernel never
        // reads. Fields are written one by one through raw pointers so the
        // tail in entry 0's `resv` is neither overwritten nor referenced.
        unsafe {
            let e = self.mem.ptr.as_ptr().cast::<RingEntry>().add(idx);
            (&raw mut (*e).addr).write(addr);
            (&raw mut (*e).len).write(len);
            (&raw mut (*e).bid).write(bid);
        }
        self.tail.set(t.wrapping_add(1));
    }

    /// Makes every staged entry visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail is a 2-byte-aligned u16 inside the mapping (the
        // mapping is page aligned, the offset is even), shared with the
        // kernel which reads it with acquire semantics; we only ever access
        // it atomically.
        let tail = unsafe { AtomicU16::from_ptr(self.mem.ptr.as_ptr().add(TAIL_OFFSET).cast()) };
        tail.store(self.tail.get(), Ordering::Release);
    }
}

/// Which buffers a caller asks about, for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferUsage {
    /// Receive buffers held by the worker (in handles or queued to send).
    pub rx_held: u32,
    /// Receive buffers in all.
    pub rx_total: u32,
    /// Originating buffers held by the worker.
    pub tx_held: u32,
    /// Originating buffers in all.
    pub tx_total: u32,
}

pub(crate) struct Arena {
    mem: Region,
    buf_size: u32,
    n_rx: u32,
    n_tx: u32,
    ring: Option<BufRing>,
    rx_free: RefCell<Vec<u32>>,
    tx_free: RefCell<Vec<u32>>,
    /// Receive buffers currently owned by the kernel (in the ring or named
    /// by an armed receive).
    rx_in_kernel: Cell<u32>,
}

impl Arena {
    /// `with_ring`: receive buffers live in a provided-buffer ring
    /// (io_uring multishot) rather than on a free list.
    pub(crate) fn new(
        buf_size: u32,
        n_rx: u32,
        n_tx: u32,
        with_ring: bool,
    ) -> io::Result<Rc<Self>> {
        let total = (n_rx as usize + n_tx as usize) * buf_size as usize;
        let ring = if with_ring {
            Some(BufRing::new(n_rx.next_power_of_two())?)
        } else {
            None
        };
        let arena = Self {
            mem: Region::new(total)?,
            buf_size,
            n_rx,
            n_tx,
            rx_free: RefCell::new(if with_ring {
                Vec::new()
            } else {
                (0..n_rx).rev().collect()
            }),
            tx_free: RefCell::new((n_rx..n_rx + n_tx).rev().collect()),
            rx_in_kernel: Cell::new(0),
            ring,
        };
        if let Some(ring) = &arena.ring {
            for id in 0..n_rx {
                ring.stage(id as u16, arena.buf_ptr(id) as u64, buf_size);
            }
            ring.publish();
            arena.rx_in_kernel.set(n_rx);
        }
        Ok(Rc::new(arena))
    }

    /// Address and entry count of the provided-buffer ring, to register.
    pub(crate) fn ring(&self) -> Option<(u64, u16)> {
        self.ring
            .as_ref()
            .map(|r| (r.mem.ptr.as_ptr() as u64, r.entries as u16))
    }

    fn buf_ptr(&self, id: u32) -> *mut u8 {
        debug_assert!(id < self.n_rx + self.n_tx);
        // SAFETY: ids are below n_rx + n_tx, so the offset stays inside the
        // mapping of (n_rx + n_tx) * buf_size bytes.
        unsafe {
            self.mem
                .ptr
                .as_ptr()
                .add(id as usize * self.buf_size as usize)
        }
    }

    /// Buffers the kernel may pick from the ring right now.
    pub(crate) fn rx_in_kernel(&self) -> u32 {
        self.rx_in_kernel.get()
    }

    /// Receive buffers on the free list (modes without a ring).
    pub(crate) fn rx_available(&self) -> usize {
        self.rx_free.borrow().len()
    }

    pub(crate) fn usage(&self) -> BufferUsage {
        let rx_idle = if self.ring.is_some() {
            self.rx_in_kernel.get()
        } else {
            self.rx_free.borrow().len() as u32 + self.rx_in_kernel.get()
        };
        BufferUsage {
            rx_held: self.n_rx - rx_idle,
            rx_total: self.n_rx,
            tx_held: self.n_tx - self.tx_free.borrow().len() as u32,
            tx_total: self.n_tx,
        }
    }

    /// Takes the ring buffer `bid` the kernel filled and reported in a
    /// completion.
    pub(crate) fn claim_from_ring(self: &Rc<Self>, bid: u16) -> Option<UdpBuf> {
        let id = u32::from(bid);
        if self.ring.is_none() || id >= self.n_rx {
            return None;
        }
        self.rx_in_kernel.set(self.rx_in_kernel.get() - 1);
        Some(UdpBuf::new(self.clone(), id))
    }

    /// A free receive buffer (non-ring modes).
    pub(crate) fn take_rx(self: &Rc<Self>) -> Option<UdpBuf> {
        let id = self.rx_free.borrow_mut().pop()?;
        Some(UdpBuf::new(self.clone(), id))
    }

    /// A free buffer for an originated packet.
    pub(crate) fn take_tx(self: &Rc<Self>) -> Option<UdpBuf> {
        let id = self.tx_free.borrow_mut().pop()?;
        Some(UdpBuf::new(self.clone(), id))
    }

    /// Notes that a receive buffer taken with `take_rx` was lent to the
    /// kernel for an armed receive, or came back from it.
    pub(crate) fn lend_to_kernel(&self, lent: bool) {
        let n = self.rx_in_kernel.get();
        self.rx_in_kernel.set(if lent { n + 1 } else { n - 1 });
    }

    fn release(&self, id: u32) {
        if id >= self.n_rx {
            self.tx_free.borrow_mut().push(id);
        } else if let Some(ring) = &self.ring {
            ring.stage(id as u16, self.buf_ptr(id) as u64, self.buf_size);
            ring.publish();
            self.rx_in_kernel.set(self.rx_in_kernel.get() + 1);
        } else {
            self.rx_free.borrow_mut().push(id);
        }
    }
}

/// A packet buffer of a [`UringIo`](crate::UringIo) or
/// [`SocketIo`](crate::SocketIo): the UDP payload of one datagram, in
/// backend memory. See the module docs of this crate for the ownership
/// rules; dropping it returns the memory to its backend.
pub struct UdpBuf {
    arena: Rc<Arena>,
    id: u32,
    /// Where the payload starts inside the buffer (multishot receives put
    /// a header, the peer address and control data first).
    off: u32,
    len: u32,
    /// The kernel's receive time, nanoseconds since the Unix epoch (0:
    /// none; see [`UdpConfig::rx_timestamps`](crate::UdpConfig)).
    rx_ns: u64,
}

impl UdpBuf {
    fn new(arena: Rc<Arena>, id: u32) -> Self {
        Self {
            arena,
            id,
            off: 0,
            len: 0,
            rx_ns: 0,
        }
    }

    /// When the kernel received this datagram, by the system clock, if
    /// the backend was asked for receive timestamps
    /// ([`UdpConfig::rx_timestamps`](crate::UdpConfig)): the time it
    /// reached the socket, not when the worker read it.
    pub fn rx_timestamp(&self) -> Option<std::time::SystemTime> {
        (self.rx_ns != 0)
            .then(|| std::time::UNIX_EPOCH + std::time::Duration::from_nanos(self.rx_ns))
    }

    pub(crate) fn set_rx_timestamp(&mut self, ns: Option<u64>) {
        self.rx_ns = ns.unwrap_or(0);
    }

    /// Points the payload at `len` bytes from `off` within the buffer.
    pub(crate) fn set_window(&mut self, off: u32, len: u32) {
        assert!(off <= self.arena.buf_size && len <= self.arena.buf_size - off);
        self.off = off;
        self.len = len;
    }

    /// The whole buffer, for parsing what the kernel wrote in front of the
    /// payload.
    pub(crate) fn whole(&self) -> &[u8] {
        // SAFETY: this handle owns buffer `id` exclusively (module docs), the
        // arena outlives it, and the kernel no longer writes to it.
        unsafe {
            std::slice::from_raw_parts(self.arena.buf_ptr(self.id), self.arena.buf_size as usize)
        }
    }

    /// Start of the payload, for the kernel to read (send).
    pub(crate) fn payload_ptr(&self) -> *mut u8 {
        // SAFETY: `off <= buf_size`, so the pointer stays within (or one
        // past) this buffer.
        unsafe { self.arena.buf_ptr(self.id).add(self.off as usize) }
    }

    /// Payload length.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Room from the payload start to the end of the buffer.
    pub(crate) fn room(&self) -> u32 {
        self.arena.buf_size - self.off
    }
}

impl PacketBuf for UdpBuf {
    fn data(&self) -> &[u8] {
        // SAFETY: exclusive ownership of buffer `id` (module docs);
        // `off + len <= buf_size` by `set_window`/`set_len`.
        unsafe { std::slice::from_raw_parts(self.payload_ptr(), self.len as usize) }
    }

    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.payload_ptr(), self.len as usize) }
    }

    fn capacity(&self) -> usize {
        self.room() as usize
    }

    fn set_len(&mut self, len: usize) {
        assert!(
            len <= self.capacity(),
            "payload {len} beyond capacity {}",
            self.capacity()
        );
        self.len = len as u32;
    }

    fn rx_time(&self) -> Option<std::time::SystemTime> {
        self.rx_timestamp()
    }
}

impl Drop for UdpBuf {
    fn drop(&mut self) {
        self.arena.release(self.id);
    }
}

impl fmt::Debug for UdpBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpBuf")
            .field("id", &self.id)
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_return_to_their_pool() {
        let a = Arena::new(2048, 4, 2, false).unwrap();
        let mut b = a.take_tx().unwrap();
        let c = a.take_tx().unwrap();
        assert!(a.take_tx().is_none());
        assert_eq!(a.usage().tx_held, 2);
        b.set_len(5);
        b.data_mut().copy_from_slice(b"hello");
        assert_eq!(b.data(), b"hello");
        assert_eq!(b.capacity(), 2048);
        drop((b, c));
        assert_eq!(a.usage().tx_held, 0);
        let r = a.take_rx().unwrap();
        assert_eq!(a.usage().rx_held, 1);
        drop(r);
        assert_eq!(a.usage().rx_held, 0);
    }

    #[test]
    fn ring_mode_republishes_released_buffers() {
        let a = Arena::new(256, 8, 1, true).unwrap();
        assert_eq!(a.rx_in_kernel(), 8);
        let mut b = a.claim_from_ring(3).unwrap();
        b.set_window(80, 10);
        assert_eq!(b.capacity(), 176);
        assert_eq!(a.usage().rx_held, 1);
        drop(b);
        assert_eq!(a.rx_in_kernel(), 8);
        assert!(a.claim_from_ring(8).is_none());
    }

    #[test]
    #[should_panic(expected = "beyond capacity")]
    fn set_len_past_capacity_is_a_caller_bug() {
        let a = Arena::new(64, 1, 1, false).unwrap();
        a.take_tx().unwrap().set_len(65);
    }
}
