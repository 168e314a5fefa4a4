//! The safe layer over the shim (see the crate docs).

use core::fmt;
use std::ffi::{CStr, CString};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[allow(
    non_camel_case_types,
    dead_code,
    missing_docs,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]
#[path = "sys.rs"]
mod sys;

/// A DPDK call that failed: which, and DPDK's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkError {
    /// What was being done.
    pub op: &'static str,
    /// The errno DPDK gave (positive).
    pub code: i32,
    /// DPDK's text for it.
    pub text: String,
}

impl DpdkError {
    fn new(op: &'static str, code: i32) -> DpdkError {
        let code = code.abs();
        // SAFETY: rte_strerror returns a pointer to a static or
        // thread-local NUL-terminated string, valid until the next call on
        // this thread; it is copied at once.
        let text = unsafe {
            let p = sys::tandem_strerror(code);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        DpdkError { op, code, text }
    }

    /// An error with our own explanation of what DPDK's `code` means here.
    pub fn with_text(op: &'static str, code: i32, text: String) -> DpdkError {
        DpdkError {
            op,
            code: code.abs(),
            text,
        }
    }

    fn last(op: &'static str) -> DpdkError {
        // SAFETY: reads DPDK's per-thread rte_errno.
        DpdkError::new(op, unsafe { sys::tandem_errno() })
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (errno {})", self.op, self.text, self.code)
    }
}

impl std::error::Error for DpdkError {}

static EAL_STARTED: AtomicBool = AtomicBool::new(false);

/// The calling thread's CPU affinity, if it can be read.
fn thread_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is a plain bit array, valid zeroed; the size given
    // is its size; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &raw mut set) == 0).then_some(set)
    }
}

/// Sets the calling thread's CPU affinity (best effort).
fn set_thread_affinity(set: &libc::cpu_set_t) {
    // SAFETY: `set` is a valid cpu_set_t of the size given; pid 0 is the
    // calling thread.
    unsafe {
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), set);
    }
}

/// The initialised EAL: proof that DPDK may be used. One per process.
#[derive(Debug)]
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Initialises DPDK's environment abstraction layer with `args` (as
    /// on DPDK's command line, without the program name), e.g.
    /// `["--no-huge", "--no-pci", "-m", "256", "--vdev=net_ring0"]`.
    /// Only once per process: a second call is an error (DPDK cannot be
    /// initialised twice), as is any argument with a NUL byte.
    pub fn init(args: &[&str]) -> Result<Eal, DpdkError> {
        if EAL_STARTED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError {
                op: "rte_eal_init",
                code: libc::EALREADY,
                text: "the EAL is already initialised in this process".into(),
            });
        }
        let mut owned = Vec::with_capacity(args.len() + 1);
        for a in std::iter::once("tandem").chain(args.iter().copied()) {
            match CString::new(a) {
                Ok(c) => owned.push(c),
                Err(_) => {
                    EAL_STARTED.store(false, Ordering::SeqCst);
                    return Err(DpdkError {
                        op: "rte_eal_init",
                        code: libc::EINVAL,
                        text: format!("argument {a:?} holds a NUL byte"),
                    });
                }
            }
        }
        // The EAL may keep pointers into argv (it permutes and stores
        // some): the strings and the array live for the process.
        let argv: &'static mut [*mut libc::c_char] = Box::leak(
            owned
                .into_iter()
                .map(CString::into_raw)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        // rte_eal_init pins the calling thread to the main lcore, and every
        // thread it spawns later would inherit that one CPU: the control
        // plane's threads would all share the first media core. Tandem pins
        // its own workers, so the caller's affinity is put back.
        let affinity = thread_affinity();
        // SAFETY: argv holds `argc` valid NUL-terminated strings that are
        // never freed; rte_eal_init runs once per process (checked above).
        let r = unsafe { sys::tandem_eal_init(argv.len() as libc::c_int, argv.as_mut_ptr()) };
        if let Some(set) = affinity {
            set_thread_affinity(&set);
        }
        if r < 0 {
            // DPDK cannot be initialised again after a failure either.
            return Err(DpdkError::new("rte_eal_init", r));
        }
        Ok(Eal { _private: () })
    }

    /// The ports (devices) DPDK found, PCI or virtual.
    pub fn port_count(&self) -> u16 {
        // SAFETY: the EAL is initialised (self exists).
        unsafe { sys::tandem_port_count() }
    }

    /// Two ring-based ports wired back to back, `NAME_a` and `NAME_b`:
    /// what one sends the other receives, with no device or kernel at all
    /// (a test network). Their ids; start them with [`Port::start`].
    pub fn ring_pair(&self, name: &str) -> Result<(u16, u16), DpdkError> {
        let c = CString::new(name).map_err(|_| DpdkError::new("ring pair name", libc::EINVAL))?;
        let (mut a, mut b) = (0u16, 0u16);
        // SAFETY: the EAL is initialised; `c` is a valid C string and the
        // ids valid u16s to write.
        let r = unsafe { sys::tandem_ring_pair(c.as_ptr(), &raw mut a, &raw mut b) };
        if r < 0 {
            return Err(DpdkError::new("rte_eth_from_rings", r));
        }
        Ok((a, b))
    }

    /// The port id of a device by its name (`net_ring0`, `0000:03:00.0`).
    pub fn port_by_name(&self, name: &str) -> Result<u16, DpdkError> {
        let c = CString::new(name).map_err(|_| DpdkError::new("port name", libc::EINVAL))?;
        let mut port = 0u16;
        // SAFETY: `c` is a valid C string and `port` a valid u16 to write.
        let r = unsafe { sys::tandem_port_by_name(c.as_ptr(), &raw mut port) };
        if r < 0 {
            return Err(DpdkError::new("rte_eth_dev_get_port_by_name", r));
        }
        Ok(port)
    }
}

/// A pool of packet buffers. Pools are created once and live for the rest
/// of the process, so no [`Mbuf`] can outlive its pool.
#[derive(Debug)]
pub struct Mempool {
    ptr: NonNull<sys::rte_mempool>,
}

// SAFETY: a DPDK mempool is designed for concurrent use from several
// threads (per-lcore caches, lock-free ring underneath).
unsafe impl Send for Mempool {}
// SAFETY: as above: `alloc` and `available` may run on several threads.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// A pool of `n` buffers with `data_room` bytes of packet room each
    /// (after DPDK's headroom), with a per-lcore cache of `cache`, on NUMA
    /// socket `socket` (`None`: any). The name must be unique.
    pub fn new(
        _eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: Option<u32>,
    ) -> Result<&'static Mempool, DpdkError> {
        let c = CString::new(name).map_err(|_| DpdkError::new("pool name", libc::EINVAL))?;
        let socket = socket.map_or(-1, |s| s as libc::c_int);
        // SAFETY: the EAL is initialised; `c` is a valid C string.
        let p = unsafe { sys::tandem_pool_create(c.as_ptr(), n, cache, data_room, socket) };
        let ptr = NonNull::new(p).ok_or_else(|| DpdkError::last("rte_pktmbuf_pool_create"))?;
        Ok(Box::leak(Box::new(Mempool { ptr })))
    }

    /// Buffers not in use.
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid for the process's life.
        unsafe { sys::tandem_pool_avail(self.ptr.as_ptr()) }
    }

    /// One empty buffer (length 0), or `None` when the pool is exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid; a non-null result is a fresh mbuf we
        // now own.
        let m = unsafe { sys::tandem_mbuf_alloc(self.ptr.as_ptr()) };
        // SAFETY: a fresh mbuf from the pool is ours.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// A buffer holding a copy of `bytes`; `None` when the pool is
    /// exhausted or `bytes` does not fit.
    pub fn alloc_with(&self, bytes: &[u8]) -> Option<Mbuf> {
        let mut m = self.alloc()?;
        let len = u16::try_from(bytes.len()).ok()?;
        m.set_len(len).ok()?;
        m.data_mut().copy_from_slice(bytes);
        Some(m)
    }
}

/// One packet buffer, owned: freed back to its pool when dropped, or
/// handed to the device by [`TxQueue::send`].
///
/// Just the pointer: where the data is and how long it is are read from
/// the mbuf and moved there, inline, at the field offsets in `shim.h`
/// (which the shim checks against DPDK's headers when it is built), as
/// `rte_pktmbuf_adj` and `rte_pktmbuf_prepend` move them. A handle this
/// small is cheap to pass along the packet path, and a call into the
/// shim, which cannot be inlined, would cost more than the loads.
pub struct Mbuf {
    m: NonNull<sys::rte_mbuf>,
}

// SAFETY: an `Mbuf` is the only handle to its buffer (not Clone, never
// reference-counted by us), so moving it to another thread moves the
// ownership; DPDK's mempools take buffers back from any thread (their
// rings are multi-producer), which is how one worker hands a datagram to
// another.
unsafe impl Send for Mbuf {}

/// Reads the field of `m` at byte offset `at` (a `TANDEM_MBUF_*`).
///
/// # Safety
/// `m` must be a valid mbuf, and `T` the type of its field at `at`.
#[inline]
unsafe fn get<T: Copy>(m: NonNull<sys::rte_mbuf>, at: u32) -> T {
    // SAFETY: the caller's promise; mbufs are cache-line aligned and
    // DPDK aligns each field to its size, so the read is aligned.
    unsafe { m.as_ptr().cast::<u8>().add(at as usize).cast::<T>().read() }
}

/// Writes the field of `m` at byte offset `at` (a `TANDEM_MBUF_*`).
///
/// # Safety
/// As for [`get`], and the caller must own `m`.
#[inline]
unsafe fn set<T: Copy>(m: NonNull<sys::rte_mbuf>, at: u32, v: T) {
    // SAFETY: as in `get`; ownership makes the write unique.
    unsafe {
        m.as_ptr()
            .cast::<u8>()
            .add(at as usize)
            .cast::<T>()
            .write(v)
    }
}

impl Mbuf {
    /// Takes ownership of `m`, a valid mbuf nobody else holds.
    ///
    /// # Safety
    /// `m` must be a valid one-segment mbuf owned by the caller, which
    /// gives that ownership up.
    #[inline]
    unsafe fn from_raw(m: NonNull<sys::rte_mbuf>) -> Mbuf {
        let mb = Mbuf { m };
        mb.check();
        mb
    }

    #[inline]
    fn data_off(&self) -> u16 {
        // SAFETY: we own the mbuf; `data_off` is a u16 there.
        unsafe { get(self.m, sys::TANDEM_MBUF_DATA_OFF) }
    }

    #[inline]
    fn len(&self) -> u16 {
        // SAFETY: we own the mbuf; `data_len` is a u16 there.
        unsafe { get(self.m, sys::TANDEM_MBUF_DATA_LEN) }
    }

    #[inline]
    fn start(&self) -> *mut u8 {
        // SAFETY: we own the mbuf; `buf_addr` is a pointer there.
        let buf: *mut u8 = unsafe { get(self.m, sys::TANDEM_MBUF_BUF_ADDR) };
        buf.wrapping_add(usize::from(self.data_off()))
    }

    /// Moves the data start to `off` bytes into the buffer and sets the
    /// length (`data_off`, `data_len` and `pkt_len`, as `rte_pktmbuf_adj`
    /// and `rte_pktmbuf_prepend` do). The caller has checked that they
    /// stay inside the buffer.
    #[inline]
    fn reshape(&mut self, off: u16, len: u16) {
        // SAFETY: we own the mbuf; `data_off` and `data_len` are u16s
        // there and `pkt_len` a u32.
        unsafe {
            set(self.m, sys::TANDEM_MBUF_DATA_OFF, off);
            set(self.m, sys::TANDEM_MBUF_DATA_LEN, len);
            set(self.m, sys::TANDEM_MBUF_PKT_LEN, u32::from(len));
        }
        self.check();
    }

    /// Checks the fields read here against DPDK's own accessors, through
    /// the shim (debug builds).
    fn check(&self) {
        if cfg!(debug_assertions) {
            let mut len = 0u16;
            // SAFETY: we own the mbuf.
            let p = unsafe { sys::tandem_mbuf_data(self.m.as_ptr(), &raw mut len) };
            debug_assert_eq!((p, len), (self.start(), self.len()));
        }
    }

    /// The packet's bytes (first segment; Tandem's packets have one).
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: the data start and length are the mbuf's own, inside its
        // buffer, valid while we own it; `&self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.start(), usize::from(self.len())) }
    }

    /// The packet's bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.start(), usize::from(self.len())) }
    }

    /// Sets the packet's length (within [`room`](Mbuf::room)); new bytes
    /// are whatever the buffer held.
    #[inline]
    pub fn set_len(&mut self, len: u16) -> Result<(), DpdkError> {
        if self.segments() != 1 || len > self.room() {
            return Err(DpdkError::new("mbuf length", -libc::ENOSPC));
        }
        self.reshape(self.data_off(), len);
        Ok(())
    }

    /// Removes `n` bytes from the front of the packet (a header).
    #[inline]
    pub fn trim_front(&mut self, n: u16) -> Result<(), DpdkError> {
        let len = self.len();
        if n > len {
            return Err(DpdkError::new("rte_pktmbuf_adj", -libc::EINVAL));
        }
        // Within the buffer: the data was.
        self.reshape(self.data_off() + n, len - n);
        Ok(())
    }

    /// Grows the packet by `n` bytes at the front, into the headroom (room
    /// for a header); the new bytes are unspecified until written.
    #[inline]
    pub fn grow_front(&mut self, n: u16) -> Result<(), DpdkError> {
        let off = self.data_off();
        let (Some(off), Some(len)) = (off.checked_sub(n), self.len().checked_add(n)) else {
            return Err(DpdkError::new("rte_pktmbuf_prepend", -libc::ENOSPC));
        };
        self.reshape(off, len);
        Ok(())
    }

    /// Bytes free in front of the packet.
    #[inline]
    pub fn headroom(&self) -> u16 {
        self.data_off()
    }

    /// Bytes the packet may hold.
    #[inline]
    pub fn room(&self) -> u16 {
        // SAFETY: we own the mbuf; `buf_len` is a u16 there.
        let buf_len: u16 = unsafe { get(self.m, sys::TANDEM_MBUF_BUF_LEN) };
        buf_len.saturating_sub(self.data_off())
    }

    /// Segments of the packet (1 unless the device chained buffers).
    #[inline]
    pub fn segments(&self) -> u16 {
        // SAFETY: we own the mbuf; `nb_segs` is a u16 there.
        unsafe { get(self.m, sys::TANDEM_MBUF_NB_SEGS) }
    }

    /// The RSS hash the device computed on receive, if it did.
    pub fn rss_hash(&self) -> Option<u32> {
        let mut h = 0u32;
        // SAFETY: we own the mbuf; `h` is a valid u32 to write.
        let has = unsafe { sys::tandem_mbuf_rss(self.m.as_ptr(), &raw mut h) };
        (has != 0).then_some(h)
    }

    /// What the device found checking this received packet's IPv4 and
    /// UDP checksums, from its receive flags. Meaningful only for a packet
    /// just received on a port that offloads the check
    /// ([`RxQueue::checksum_offload`]): other devices leave the flags as
    /// they were, which for a relayed buffer is what an earlier port said.
    pub fn rx_checksum(&self) -> crate::stack::RxChecksum {
        use crate::stack::DeviceCheck;
        // SAFETY: we own the mbuf; `ol_flags` is a u64 there.
        let flags: u64 = unsafe { get(self.m, sys::TANDEM_MBUF_OL_FLAGS) };
        let check = |mask: u32, good: u32, bad: u32| match flags & u64::from(mask) {
            f if f == u64::from(good) => DeviceCheck::Good,
            f if f == u64::from(bad) => DeviceCheck::Bad,
            _ => DeviceCheck::Unknown,
        };
        crate::stack::RxChecksum {
            ip: check(
                sys::TANDEM_RX_IP_CKSUM_MASK,
                sys::TANDEM_RX_IP_CKSUM_GOOD,
                sys::TANDEM_RX_IP_CKSUM_BAD,
            ),
            l4: check(
                sys::TANDEM_RX_L4_CKSUM_MASK,
                sys::TANDEM_RX_L4_CKSUM_GOOD,
                sys::TANDEM_RX_L4_CKSUM_BAD,
            ),
        }
    }

    /// Asks the device to fill in this IPv4/UDP frame's checksums on send
    /// (its port must offload them; the stack wrote the frame for it):
    /// `l2_len` is the Ethernet header's length with any VLAN tag.
    pub fn request_tx_checksum(&mut self, l2_len: u16) {
        let p = self.m.as_ptr();
        // SAFETY: we own the mbuf; the shim sets its offload fields only.
        unsafe { sys::tandem_tx_csum(&raw const p, 1, l2_len) }
    }

    fn into_raw(self) -> *mut sys::rte_mbuf {
        let p = self.m.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and give it back exactly once.
        unsafe { sys::tandem_mbuf_free(self.m.as_ptr()) }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("len", &self.data().len())
            .finish_non_exhaustive()
    }
}

/// The NUMA socket of device `id`, when known (before it is started, to
/// put its pool beside it).
pub(crate) fn device_socket(id: u16) -> Option<u32> {
    // SAFETY: a plain query; DPDK answers -1 for an unknown port.
    let s = unsafe { sys::tandem_port_socket(id) };
    u32::try_from(s).ok()
}

/// A started device; stopped when the last of its queues is dropped.
#[derive(Debug)]
struct PortInner {
    id: u16,
    /// `TANDEM_*_CKSUM` bits the device was configured with.
    offloads: u32,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: the port was started by `Port::start` and nothing uses
        // its queues any more (they held this Arc).
        unsafe {
            sys::tandem_port_stop(self.id);
        }
    }
}

/// A started device: its id, address and counters.
#[derive(Debug, Clone)]
pub struct Port {
    inner: Arc<PortInner>,
}

/// A device's counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets the device dropped for lack of receive descriptors.
    pub rx_missed: u64,
    /// Receive and transmit errors.
    pub errors: u64,
}

impl Port {
    /// Configures device `id` with `rxq` receive and `txq` transmit queues
    /// of `desc` descriptors each (adjusted to the device's limits), RSS
    /// over UDP ports when it has several receive queues and the device
    /// can, receive buffers from `pool`; starts it. Returns the port and
    /// one handle per queue, to give one of each to each worker.
    pub fn start(
        _eal: &Eal,
        id: u16,
        rxq: u16,
        txq: u16,
        desc: u16,
        pool: &'static Mempool,
    ) -> Result<(Port, Vec<RxQueue>, Vec<TxQueue>), DpdkError> {
        let mut offloads = 0u32;
        // SAFETY: the EAL is initialised; the pool lives for the process;
        // `offloads` is a valid u32 to write.
        let r = unsafe {
            sys::tandem_port_start(id, rxq, txq, desc, pool.ptr.as_ptr(), &raw mut offloads)
        };
        if r < 0 {
            return Err(DpdkError::new("port start", r));
        }
        let inner = Arc::new(PortInner { id, offloads });
        let rx = (0..rxq)
            .map(|q| RxQueue {
                port: inner.clone(),
                queue: q,
            })
            .collect();
        let tx = (0..txq)
            .map(|q| TxQueue {
                port: inner.clone(),
                queue: q,
            })
            .collect();
        Ok((Port { inner }, rx, tx))
    }

    /// The port id.
    pub fn id(&self) -> u16 {
        self.inner.id
    }

    /// Whether the device checks IPv4 and UDP checksums on receive, and
    /// fills them in on send (both configured when it can).
    pub fn checksum_offload(&self) -> (bool, bool) {
        (
            self.inner.offloads & sys::TANDEM_RX_CKSUM != 0,
            self.inner.offloads & sys::TANDEM_TX_CKSUM != 0,
        )
    }

    /// The device's MAC address.
    pub fn mac(&self) -> Result<[u8; 6], DpdkError> {
        let mut mac = [0u8; 6];
        // SAFETY: the port is started; `mac` has room for 6 bytes.
        let r = unsafe { sys::tandem_port_mac(self.inner.id, mac.as_mut_ptr()) };
        if r < 0 {
            return Err(DpdkError::new("rte_eth_macaddr_get", r));
        }
        Ok(mac)
    }

    /// Sets the device's MAC address (a TAP's kernel interface takes it
    /// too).
    pub fn set_mac(&self, mac: [u8; 6]) -> Result<(), DpdkError> {
        // SAFETY: the port is started; `mac` holds the 6 bytes read.
        let r = unsafe { sys::tandem_port_set_mac(self.inner.id, mac.as_ptr()) };
        if r < 0 {
            return Err(DpdkError::new("rte_eth_dev_default_mac_addr_set", r));
        }
        Ok(())
    }

    /// The device's NUMA socket, when known.
    pub fn socket(&self) -> Option<u32> {
        // SAFETY: the port id is valid.
        let s = unsafe { sys::tandem_port_socket(self.inner.id) };
        u32::try_from(s).ok()
    }

    /// The device's counters.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let mut v = [0u64; 6];
        // SAFETY: the port is started; `v` has room for the 6 counters.
        let r = unsafe { sys::tandem_port_stats(self.inner.id, v.as_mut_ptr()) };
        if r < 0 {
            return Err(DpdkError::new("rte_eth_stats_get", r));
        }
        Ok(PortStats {
            rx_packets: v[0],
            rx_bytes: v[1],
            tx_packets: v[2],
            tx_bytes: v[3],
            rx_missed: v[4],
            errors: v[5],
        })
    }
}

/// The most packets one burst call handles.
pub const MAX_BURST: usize = 64;

/// One receive queue of a port, owned by one worker (DPDK queues are not
/// thread-safe: the handle is `Send`, not shareable).
#[derive(Debug)]
pub struct RxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

// SAFETY: a queue may be used from any one thread at a time; the handle is
// not Clone and `recv` takes `&mut self`, so only its owner polls it.
unsafe impl Send for RxQueue {}

impl RxQueue {
    /// Whether the device checks checksums on this queue's packets.
    pub fn checksum_offload(&self) -> bool {
        self.port.offloads & sys::TANDEM_RX_CKSUM != 0
    }

    /// Appends up to `max` (at most [`MAX_BURST`]) received packets to
    /// `out`; returns how many.
    pub fn recv(&mut self, out: &mut Vec<Mbuf>, max: usize) -> usize {
        let mut raw = [std::ptr::null_mut::<sys::rte_mbuf>(); MAX_BURST];
        let n = max.min(MAX_BURST) as u16;
        // SAFETY: this handle is the queue's only user; `raw` has room for
        // `n` pointers.
        let got = unsafe { sys::tandem_rx_burst(self.port.id, self.queue, raw.as_mut_ptr(), n) };
        for &p in &raw[..usize::from(got)] {
            if let Some(p) = NonNull::new(p) {
                // SAFETY: the device handed this mbuf over to us.
                out.push(unsafe { Mbuf::from_raw(p) });
            }
        }
        usize::from(got)
    }
}

/// One transmit queue of a port, owned by one worker.
#[derive(Debug)]
pub struct TxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

// SAFETY: as for `RxQueue`.
unsafe impl Send for TxQueue {}

impl TxQueue {
    /// Whether the device fills in checksums of what this queue sends.
    pub fn checksum_offload(&self) -> bool {
        self.port.offloads & sys::TANDEM_TX_CKSUM != 0
    }

    /// Hands the packets at the front of `pkts` (at most [`MAX_BURST`]) to
    /// the device and removes those it took; returns how many. Packets it
    /// did not take (its ring is full) stay in `pkts`, in order.
    pub fn send(&mut self, pkts: &mut Vec<Mbuf>) -> usize {
        let n = pkts.len().min(MAX_BURST);
        if n == 0 {
            return 0;
        }
        let mut raw = [std::ptr::null_mut::<sys::rte_mbuf>(); MAX_BURST];
        for (slot, m) in raw.iter_mut().zip(pkts.iter()) {
            *slot = m.m.as_ptr();
        }
        // SAFETY: this handle is the queue's only user; `raw` holds `n`
        // mbufs we own. The device takes ownership of the first `sent`.
        let sent = usize::from(unsafe {
            sys::tandem_tx_burst(self.port.id, self.queue, raw.as_mut_ptr(), n as u16)
        });
        for m in pkts.drain(..sent) {
            // Now the device's: do not free.
            let _ = m.into_raw();
        }
        sent
    }
}
