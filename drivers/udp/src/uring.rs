//! The io_uring backend. See the crate docs for the design.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use io_uring::types::{Fd, Fixed, RecvMsgOut, SubmitArgs, Timespec};
use io_uring::{IoUring, Probe, cqueue, opcode, squeue};
use tandem_packet_io::{IoError, IoStats, PacketIo, PortId, RxPacket, TxPacket};

use crate::buf::{Arena, BufferUsage, UdpBuf};
use crate::sys::{self, CONTROL_LEN, LocalAddr, LocalAddrs, NAME_LEN, Ports, RawAddr, RawControl};
use crate::{RecvMode, UdpConfig};

/// The provided-buffer group id of the receive ring.
const BGID: u16 = 0;

/// Where a multishot payload starts: `struct io_uring_recvmsg_out`
/// (16 bytes), then `NAME_LEN` bytes of peer address, then `CONTROL_LEN`
/// bytes of control messages.
const MULTISHOT_PAYLOAD_OFF: u32 = (16 + NAME_LEN + CONTROL_LEN) as u32;

// user_data: operation kind in the top byte, port id or send slot below.
const UD_KIND: u64 = 0xff << 56;
const UD_RECV: u64 = 1 << 56;
const UD_SEND: u64 = 2 << 56;
const UD_CANCEL: u64 = 3 << 56;
const UD_TIMEOUT: u64 = 4 << 56;

/// Most sockets a ring registers (`IORING_REGISTER_FILES2`, sparse); a
/// worker's ports beyond it are named by descriptor instead. The kernel
/// also caps the table at `RLIMIT_NOFILE`.
const MAX_FIXED_FILES: u32 = 1 << 16;

/// Builds an SQE on a port's socket: by its index in the registered file
/// table when it has one (the kernel then skips `fget`/`fput` per
/// request), else by descriptor.
macro_rules! on_socket {
    ($port:expr, $id:expr, |$t:ident| $build:expr) => {
        match $port.fixed {
            true => {
                let $t = Fixed(Ports::<Port>::slot($id) as u32);
                $build
            }
            false => {
                let $t = Fd($port.fd.as_raw_fd());
                $build
            }
        }
    };
}

/// What the kernel and the ring were found to support at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UringFeatures {
    /// Kernel `(major, minor)` from `/proc/sys/kernel/osrelease`.
    pub kernel: (u32, u32),
    /// Multishot `RecvMsg` into a provided-buffer ring is in use (Linux
    /// 6.0 for multishot recvmsg, 5.19 for buffer rings).
    pub multishot_recv: bool,
    /// `IORING_FEAT_EXT_ARG` (5.11): `wait` passes its timeout to
    /// `io_uring_enter` rather than queueing a timeout request.
    pub ext_arg: bool,
    /// How the kernel runs receive work for us.
    pub taskrun: TaskRun,
    /// Sockets registered with the ring, so requests skip the descriptor
    /// lookup (0: registration failed and every port goes by descriptor).
    pub fixed_files: u32,
    /// `IORING_OP_SEND` with a destination address (Linux 6.1): a send
    /// without a `msghdr` for the kernel to copy in.
    pub send_to: bool,
}

/// When the kernel runs the work that turns a datagram's arrival into a
/// completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRun {
    /// `IORING_SETUP_COOP_TASKRUN` (5.19): at the worker's next entry into
    /// the kernel, without interrupting it.
    Cooperative,
    /// By interrupting the worker (kernels before 5.19).
    Interrupt,
}

/// A single-shot receive in flight: the `msghdr` and everything it points
/// to, at a stable address until the completion arrives.
struct RecvSlot {
    msg: libc::msghdr,
    iov: libc::iovec,
    name: RawAddr,
    control: RawControl,
    buf: Option<UdpBuf>,
}

/// A send in flight: kept until its completion so the kernel may read the
/// `msghdr`, the address and the payload.
struct SendSlot {
    /// Only for `SendMsg` (kernels before 6.1).
    msg: libc::msghdr,
    iov: libc::iovec,
    name: RawAddr,
    buf: Option<UdpBuf>,
}

fn zeroed_msghdr() -> libc::msghdr {
    // SAFETY: `msghdr` is plain C data for which all-zero (null pointers,
    // zero lengths) is a valid value.
    unsafe { std::mem::zeroed() }
}

/// One open port: 24 bytes, 32 with its slot's generation, for every
/// socket the worker holds (four per anchored call).
struct Port {
    fd: OwnedFd,
    /// Registered in the ring's file table, at its `Ports` slot.
    fixed: bool,
    local: LocalAddr,
    /// A receive request is in the kernel.
    armed: bool,
    /// `close` was called; the port goes when its receive completes.
    closing: bool,
    /// Last `SO_RXQ_OVFL` reading.
    drops_seen: u32,
    /// Single-shot mode: waiting for a free buffer to arm a receive.
    starved: bool,
    /// Single-shot mode: the receive's storage.
    single: Option<Box<RecvSlot>>,
}

/// The io_uring packet backend: one ring, one UDP socket per port,
/// multishot receive into a provided-buffer ring (or single-shot receives
/// on older kernels), one `SendMsg` per packet submitted per burst.
pub struct UringIo {
    // Field order matters for drop: the ring goes first (after `Drop`
    // drained it), then the sockets, then our reference to the arena.
    ring: IoUring,
    ports: Ports<Port>,
    locals: LocalAddrs,
    sends: Box<[SendSlot]>,
    send_free: Vec<u32>,
    arena: Rc<Arena>,
    /// The `msghdr` of every multishot receive: only the name and control
    /// lengths matter.
    multi_hdr: Box<libc::msghdr>,
    timeout: Box<Timespec>,
    rx_ready: VecDeque<RxPacket<UdpBuf>>,
    /// Ports whose receive must be (re)armed once buffers allow.
    rearm: Vec<PortId>,
    features: UringFeatures,
    note: String,
    options: sys::SocketOptions,
    inflight_recv: usize,
    inflight_send: usize,
    stats: IoStats,
    starved: u64,
}

impl UringIo {
    /// Sets up a ring and its buffers. Fails when io_uring is unavailable
    /// (old kernel, `kernel.io_uring_disabled`, seccomp) or lacks the
    /// operations this backend needs; the error says why.
    pub fn new(config: &UdpConfig) -> Result<Self, IoError> {
        let kernel = sys::kernel_version();
        let entries = config.ring_entries.clamp(8, 32768).next_power_of_two();
        let cq = (config.rx_buffers.max(1) * 2)
            .max(entries * 2)
            .next_power_of_two();
        // Best first: cooperative task run (5.19) turns arrivals into
        // completions at the worker's next enter without interrupting it
        // (IORING_SQ_TASKRUN says when one is due); plain rings work
        // everywhere. DEFER_TASKRUN (6.1) measured no faster here and
        // caps the work run per enter, costing three times the enters.
        let (ring, taskrun) = if let Ok(r) = IoUring::builder()
            .setup_cqsize(cq)
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .setup_single_issuer()
            .setup_submit_all()
            .build(entries)
        {
            (r, TaskRun::Cooperative)
        } else {
            (
                IoUring::builder().setup_cqsize(cq).build(entries)?,
                TaskRun::Interrupt,
            )
        };
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [
            (opcode::RecvMsg::CODE, "IORING_OP_RECVMSG"),
            (opcode::SendMsg::CODE, "IORING_OP_SENDMSG"),
            (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
            (opcode::Timeout::CODE, "IORING_OP_TIMEOUT"),
        ] {
            if !probe.is_supported(code) {
                return Err(IoError::Os(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    format!("io_uring lacks {name}"),
                )));
            }
        }

        let buf_size = config.buffer_size.clamp(256, 65536);
        let rx = config.rx_buffers.clamp(1, 32768);
        let tx = config.tx_buffers.max(1);
        let want_multishot = config.recv_mode == RecvMode::Auto && kernel >= (6, 0);
        let mut note_multishot = String::new();
        let mut arena = Arena::new(buf_size, rx, tx, want_multishot)?;
        let mut multishot = false;
        if let Some((addr, ring_entries)) = arena.ring() {
            // SAFETY: the ring memory belongs to `arena`, which this
            // backend holds until after the io_uring is torn down (see the
            // field order and `Drop`), and which outlives any request.
            match unsafe {
                ring.submitter()
                    .register_buf_ring_with_flags(addr, ring_entries, BGID, 0)
            } {
                Ok(()) => multishot = true,
                Err(e) => {
                    note_multishot = format!(" (no buffer ring: {e})");
                    arena = Arena::new(buf_size, rx, tx, false)?;
                }
            }
        } else if config.recv_mode == RecvMode::SingleShot {
            note_multishot = " (single-shot forced by configuration)".into();
        } else {
            note_multishot = format!(" (kernel {}.{} < 6.0)", kernel.0, kernel.1);
        }
        let ext_arg = ring.params().is_feature_ext_arg();
        // A sparse table (5.19) filled as ports open; without one every
        // request names its socket by descriptor, as before 5.19.
        let fixed_files = crate::limits::open_files_soft_limit()
            .map_or(0, |n| n.min(u64::from(MAX_FIXED_FILES)) as u32);
        let fixed_files =
            if fixed_files > 0 && ring.submitter().register_files_sparse(fixed_files).is_ok() {
                fixed_files
            } else {
                0
            };
        let features = UringFeatures {
            kernel,
            multishot_recv: multishot,
            ext_arg,
            taskrun,
            fixed_files,
            send_to: kernel >= (6, 1),
        };
        let note = format!(
            "io_uring on Linux {}.{}: {}{}, {}{}{}{}",
            kernel.0,
            kernel.1,
            if multishot {
                "multishot recvmsg + provided-buffer ring"
            } else {
                "single-shot recvmsg"
            },
            note_multishot,
            if ext_arg {
                "timed enter"
            } else {
                "timeout requests"
            },
            match taskrun {
                TaskRun::Cooperative => ", cooperative task run",
                TaskRun::Interrupt => "",
            },
            if fixed_files > 0 {
                format!(", {fixed_files} registered sockets")
            } else {
                String::new()
            },
            if features.send_to {
                ", send with address"
            } else {
                ", sendmsg"
            },
        );

        let mut multi_hdr = Box::new(zeroed_msghdr());
        multi_hdr.msg_namelen = NAME_LEN as libc::socklen_t;
        multi_hdr.msg_controllen = CONTROL_LEN as _;

        let n_sends = (entries as usize).max(64);
        let sends = (0..n_sends)
            .map(|_| SendSlot {
                msg: zeroed_msghdr(),
                iov: libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                },
                name: RawAddr::zeroed(),
                buf: None,
            })
            .collect::<Vec<_>>()
            .into_boxed_slice();
        let stats = IoStats {
            syscalls: 3 + u64::from(multishot) + u64::from(fixed_files > 0),
            ..IoStats::default()
        };
        Ok(Self {
            ring,
            ports: Ports::new(),
            locals: LocalAddrs::new(),
            send_free: (0..n_sends as u32).rev().collect(),
            sends,
            arena,
            multi_hdr,
            timeout: Box::new(Timespec::new()),
            rx_ready: VecDeque::with_capacity(rx as usize + 64),
            rearm: Vec::new(),
            features,
            note,
            options: sys::SocketOptions::of(config),
            inflight_recv: 0,
            inflight_send: 0,
            stats,
            starved: 0,
        })
    }

    /// What was detected at construction.
    pub fn features(&self) -> UringFeatures {
        self.features
    }

    /// One line for the gateway's log: backend and kernel features.
    pub fn describe(&self) -> &str {
        &self.note
    }

    /// Buffers held by the worker, for tests and metrics.
    pub fn buffer_usage(&self) -> BufferUsage {
        self.arena.usage()
    }

    /// Times a receive stopped because no buffer was free (`ENOBUFS` from
    /// a multishot receive, or no buffer to arm a single-shot one). The
    /// datagram is not lost then: it waits in the socket until buffers
    /// come back; only what overflows the socket is (see `rx_dropped`).
    pub fn rx_starved(&self) -> u64 {
        self.starved
    }

    fn push(&mut self, entry: &squeue::Entry) -> Result<(), IoError> {
        loop {
            // SAFETY: every entry pushed here points only at memory that
            // stays valid and unmoved until its completion: the boxed
            // `multi_hdr` (lives as long as the ring), a port's boxed
            // `RecvSlot` (kept until the port's receive completes), a
            // `SendSlot` in the boxed slice (freed only on completion), the
            // boxed `timeout` (read at submission), and buffers owned by
            // those slots or lent to the kernel through the ring.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            self.enter(None)?;
        }
    }

    /// One `io_uring_enter`: submits what is queued and, with `wait`,
    /// blocks until a completion or the timeout.
    fn enter(&mut self, wait: Option<Duration>) -> Result<(), IoError> {
        let r = match wait {
            None => {
                self.stats.syscalls += 1;
                self.ring.submit()
            }
            Some(t) if self.features.ext_arg => {
                self.stats.syscalls += 1;
                let ts = Timespec::from(t);
                self.ring
                    .submitter()
                    .submit_with_args(1, &SubmitArgs::new().timespec(&ts))
            }
            Some(t) => {
                *self.timeout = Timespec::from(t);
                // Completes after one other completion or at the timeout.
                let e = opcode::Timeout::new(&raw const *self.timeout)
                    .count(1)
                    .build()
                    .user_data(UD_TIMEOUT);
                self.push(&e)?;
                self.stats.syscalls += 1;
                self.ring.submit_and_wait(1)
            }
        };
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(IoError::Os(e)),
        }
    }

    /// Whether an enter would find work the kernel has for us.
    fn kernel_has_work(&mut self) -> bool {
        let sq = self.ring.submission();
        !sq.is_empty() || sq.taskrun() || sq.cq_overflow()
    }

    /// Arms receives for ports waiting for one, as far as buffers allow.
    fn arm_pending(&mut self) -> Result<(), IoError> {
        let mut i = 0;
        while i < self.rearm.len() {
            let id = self.rearm[i];
            let Some(port) = self.ports.get_mut(id) else {
                self.rearm.swap_remove(i);
                continue;
            };
            if port.armed || port.closing {
                self.rearm.swap_remove(i);
                continue;
            }
            let entry = if self.features.multishot_recv {
                if self.arena.rx_in_kernel() == 0 {
                    i += 1;
                    continue;
                }
                let hdr = &raw const *self.multi_hdr;
                on_socket!(port, id, |t| opcode::RecvMsgMulti::new(t, hdr, BGID)
                    .build()
                    .user_data(UD_RECV | u64::from(id.0)))
            } else {
                let Some(mut buf) = self.arena.take_rx() else {
                    if !port.starved {
                        port.starved = true;
                        self.starved += 1;
                    }
                    i += 1;
                    continue;
                };
                port.starved = false;
                let room = buf.room();
                buf.set_window(0, room);
                self.arena.lend_to_kernel(true);
                let slot = port.single.get_or_insert_with(|| {
                    Box::new(RecvSlot {
                        msg: zeroed_msghdr(),
                        iov: libc::iovec {
                            iov_base: std::ptr::null_mut(),
                            iov_len: 0,
                        },
                        name: RawAddr::zeroed(),
                        control: RawControl([0; CONTROL_LEN]),
                        buf: None,
                    })
                });
                slot.iov = libc::iovec {
                    iov_base: buf.payload_ptr().cast(),
                    iov_len: room as usize,
                };
                slot.buf = Some(buf);
                slot.msg = zeroed_msghdr();
                slot.msg.msg_name = slot.name.as_mut_ptr();
                slot.msg.msg_namelen = NAME_LEN as libc::socklen_t;
                slot.msg.msg_iov = &raw mut slot.iov;
                slot.msg.msg_iovlen = 1;
                slot.msg.msg_control = slot.control.0.as_mut_ptr().cast();
                slot.msg.msg_controllen = CONTROL_LEN as _;
                let msg = &raw mut slot.msg;
                on_socket!(port, id, |t| opcode::RecvMsg::new(t, msg)
                    .build()
                    .user_data(UD_RECV | u64::from(id.0)))
            };
            port.armed = true;
            self.inflight_recv += 1;
            self.rearm.swap_remove(i);
            if let Err(e) = self.push(&entry) {
                // Not queued: undo, and try again on a later call.
                if let Some(p) = self.ports.get_mut(id) {
                    p.armed = false;
                    if let Some(buf) = p.single.as_mut().and_then(|s| s.buf.take()) {
                        self.arena.lend_to_kernel(false);
                        drop(buf);
                    }
                }
                self.inflight_recv -= 1;
                self.rearm.push(id);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Processes every completion waiting in the ring.
    fn reap(&mut self) {
        let mut batch = [(0u64, 0i32, 0u32); 64];
        loop {
            let mut n = 0;
            for cqe in self.ring.completion().take(batch.len()) {
                batch[n] = (cqe.user_data(), cqe.result(), cqe.flags());
                n += 1;
            }
            if n == 0 {
                return;
            }
            for &(ud, res, flags) in &batch[..n] {
                match ud & UD_KIND {
                    UD_RECV => self.complete_recv(PortId(ud as u32), res, flags),
                    UD_SEND => self.complete_send(ud as u32, res),
                    _ => {} // cancels and timeouts carry nothing
                }
            }
        }
    }

    fn complete_send(&mut self, slot: u32, res: i32) {
        let Some(s) = self.sends.get_mut(slot as usize) else {
            return;
        };
        let Some(buf) = s.buf.take() else {
            return;
        };
        self.inflight_send -= 1;
        if res >= 0 {
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += res as u64;
        } else {
            self.stats.tx_dropped += 1;
        }
        self.send_free.push(slot);
        drop(buf); // back to its pool: a relayed packet's buffer only now
    }

    fn complete_recv(&mut self, id: PortId, res: i32, flags: u32) {
        let multishot = self.features.multishot_recv;
        let Some(port) = self.ports.get_mut(id) else {
            // Cannot happen (a port stays until its receive completes), but
            // never leak a buffer the kernel handed us.
            if let Some(bid) = cqueue::buffer_select(flags) {
                drop(self.arena.claim_from_ring(bid));
            }
            return;
        };
        let finished = !multishot || !cqueue::more(flags);
        let mut delivered = None;
        if multishot {
            if let Some(mut buf) =
                cqueue::buffer_select(flags).and_then(|bid| self.arena.claim_from_ring(bid))
            {
                if res >= 0 && !port.closing {
                    let used = (res as usize).min(buf.whole().len());
                    let parsed = RecvMsgOut::parse(&buf.whole()[..used], &self.multi_hdr)
                        .ok()
                        .map(|out| {
                            sys::account_drops(
                                out.control_data(),
                                &mut port.drops_seen,
                                &mut self.stats.rx_dropped,
                            );
                            (
                                out.is_payload_truncated(),
                                sys::decode_addr(out.name_data()),
                                out.payload_data().len() as u32,
                                sys::rx_timestamp(out.control_data()),
                            )
                        });
                    match parsed {
                        Some((false, Some(from), len, at)) => {
                            buf.set_window(MULTISHOT_PAYLOAD_OFF, len);
                            buf.set_rx_timestamp(at);
                            delivered = Some((from, buf));
                        }
                        _ => self.stats.rx_dropped += 1,
                    }
                }
            }
        } else if let Some(slot) = port.single.as_mut() {
            if let Some(mut buf) = slot.buf.take() {
                self.arena.lend_to_kernel(false);
                if res >= 0 && !port.closing {
                    let namelen = (slot.msg.msg_namelen as usize).min(NAME_LEN);
                    let ctllen = sys::control_len(&slot.msg);
                    sys::account_drops(
                        &slot.control.0[..ctllen],
                        &mut port.drops_seen,
                        &mut self.stats.rx_dropped,
                    );
                    let from = sys::decode_addr(&slot.name.0[..namelen]);
                    match from {
                        Some(from) if slot.msg.msg_flags & libc::MSG_TRUNC == 0 => {
                            buf.set_window(0, res as u32);
                            buf.set_rx_timestamp(sys::rx_timestamp(&slot.control.0[..ctllen]));
                            delivered = Some((from, buf));
                        }
                        _ => self.stats.rx_dropped += 1,
                    }
                }
            }
        }
        if let Some((from, buf)) = delivered {
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += u64::from(buf.len());
            self.rx_ready.push_back(RxPacket {
                port: id,
                from,
                buf,
            });
        }
        if finished {
            port.armed = false;
            self.inflight_recv -= 1;
            if port.closing {
                self.forget(id);
            } else {
                if res == -libc::ENOBUFS {
                    self.starved += 1;
                }
                self.rearm.push(id);
            }
        }
    }

    /// Drops a port whose socket no request uses any more, and its entry
    /// in the file table, which would otherwise keep the socket (and its
    /// UDP port) alive.
    fn forget(&mut self, id: PortId) {
        if let Some(port) = self.ports.remove(id)
            && port.fixed
        {
            self.stats.syscalls += 1;
            let slot = Ports::<Port>::slot(id) as u32;
            // Only fails if the table is gone, and with it the reference.
            let _ = self.ring.submitter().register_files_update(slot, &[-1]);
        }
    }

    /// Cancels every receive and waits (bounded) until the kernel has
    /// finished with all our memory. `false` if it did not in time.
    fn quiesce(&mut self) -> bool {
        let ids: Vec<PortId> = self.ports.ids().collect();
        for id in ids {
            if let Some(p) = self.ports.get_mut(id) {
                p.closing = true;
                if p.armed {
                    let e = opcode::AsyncCancel::new(UD_RECV | u64::from(id.0))
                        .build()
                        .user_data(UD_CANCEL);
                    if self.push(&e).is_err() {
                        return false;
                    }
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.inflight_recv + self.inflight_send > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            if self.enter(Some(deadline - now)).is_err() {
                return false;
            }
            self.reap();
        }
        true
    }
}

impl PacketIo for UringIo {
    type Buf = UdpBuf;

    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn open(&mut self, local: SocketAddr) -> Result<PortId, IoError> {
        let (fd, local) = sys::udp_socket(local, self.options, &mut self.stats.syscalls)?;
        let local = self.locals.intern(local)?;
        let raw = fd.as_raw_fd();
        let id = self.ports.insert(Port {
            fd,
            fixed: false,
            local,
            armed: false,
            closing: false,
            drops_seen: 0,
            starved: false,
            single: None,
        })?;
        let slot = Ports::<Port>::slot(id) as u32;
        if slot < self.features.fixed_files {
            self.stats.syscalls += 1;
            let fixed = matches!(
                self.ring.submitter().register_files_update(slot, &[raw]),
                Ok(1)
            );
            if let Some(p) = self.ports.get_mut(id) {
                p.fixed = fixed;
            }
        }
        self.rearm.push(id);
        // Queued now, submitted with the next enter of any kind.
        self.arm_pending()?;
        Ok(id)
    }

    fn local_addr(&self, port: PortId) -> Result<SocketAddr, IoError> {
        match self.ports.get(port) {
            Some(p) if !p.closing => Ok(self.locals.get(p.local)),
            _ => Err(IoError::UnknownPort(port)),
        }
    }

    fn close(&mut self, port: PortId) -> Result<(), IoError> {
        let p = match self.ports.get_mut(port) {
            Some(p) if !p.closing => p,
            _ => return Err(IoError::UnknownPort(port)),
        };
        if !p.armed {
            self.forget(port);
            self.stats.syscalls += 1; // close(2)
            return Ok(());
        }
        p.closing = true;
        let e = opcode::AsyncCancel::new(UD_RECV | u64::from(port.0))
            .build()
            .user_data(UD_CANCEL);
        self.push(&e)?;
        // Submit now so the socket is released promptly (the receive holds
        // a reference to it until it completes).
        self.enter(None)?;
        self.reap();
        self.stats.syscalls += 1; // close(2), when the port goes
        Ok(())
    }

    fn recv_burst(
        &mut self,
        out: &mut Vec<RxPacket<UdpBuf>>,
        max: usize,
    ) -> Result<usize, IoError> {
        if self.rx_ready.len() < max {
            self.arm_pending()?;
            if self.kernel_has_work() {
                self.enter(None)?;
            }
            self.reap();
        }
        let n = max.min(self.rx_ready.len());
        out.extend(self.rx_ready.drain(..n));
        Ok(n)
    }

    fn alloc(&mut self) -> Option<UdpBuf> {
        self.arena.take_tx()
    }

    fn send_burst(&mut self, pkts: &mut Vec<TxPacket<UdpBuf>>) -> Result<usize, IoError> {
        let mut accepted = 0;
        let mut result = Ok(());
        for p in pkts.drain(..) {
            if result.is_err() {
                self.stats.tx_dropped += 1;
                continue;
            }
            let slot_id = match self.send_free.pop() {
                Some(s) => s,
                None => {
                    // Every slot is in flight: let the kernel finish some.
                    if let Err(e) = self.enter(None) {
                        result = Err(e);
                        self.stats.tx_dropped += 1;
                        continue;
                    }
                    self.reap();
                    match self.send_free.pop() {
                        Some(s) => s,
                        None => {
                            self.stats.tx_dropped += 1;
                            continue;
                        }
                    }
                }
            };
            let Some(port) = self.ports.get(p.port).filter(|port| !port.closing) else {
                self.send_free.push(slot_id);
                self.stats.tx_dropped += 1;
                continue;
            };
            let slot = &mut self.sends[slot_id as usize];
            let namelen = slot.name.encode(&p.to);
            let (data, len) = (p.buf.payload_ptr(), p.buf.len());
            let e = if self.features.send_to {
                let name = slot.name.as_mut_ptr().cast_const().cast();
                on_socket!(port, p.port, |t| opcode::Send::new(t, data, len)
                    .dest_addr(name)
                    .dest_addr_len(namelen)
                    .build())
            } else {
                slot.iov = libc::iovec {
                    iov_base: data.cast(),
                    iov_len: len as usize,
                };
                slot.msg = zeroed_msghdr();
                slot.msg.msg_name = slot.name.as_mut_ptr();
                slot.msg.msg_namelen = namelen;
                slot.msg.msg_iov = &raw mut slot.iov;
                slot.msg.msg_iovlen = 1;
                let msg = &raw const slot.msg;
                on_socket!(port, p.port, |t| opcode::SendMsg::new(t, msg).build())
            }
            .user_data(UD_SEND | u64::from(slot_id));
            slot.buf = Some(p.buf);
            self.inflight_send += 1;
            if let Err(e) = self.push(&e) {
                // Not queued: undo.
                self.complete_send(slot_id, -libc::EIO);
                result = Err(e);
                continue;
            }
            accepted += 1;
        }
        result?;
        if accepted > 0 {
            self.enter(None)?;
            self.reap();
        }
        Ok(accepted)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        if self.kernel_has_work() {
            self.enter(None)?;
        }
        self.reap();
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), IoError> {
        self.arm_pending()?;
        self.reap();
        if !self.rx_ready.is_empty() {
            if !self.ring.submission().is_empty() {
                self.enter(None)?;
            }
            return Ok(());
        }
        self.enter(Some(timeout))?;
        self.reap();
        Ok(())
    }

    fn stats(&self) -> IoStats {
        self.stats
    }
}

impl Drop for UringIo {
    fn drop(&mut self) {
        if !self.quiesce() {
            // The kernel may still write into receive buffers or read send
            // buffers: never let that memory be unmapped or reused.
            std::mem::forget(self.arena.clone());
            std::mem::forget(std::mem::take(&mut self.sends));
            std::mem::forget(std::mem::replace(
                &mut self.multi_hdr,
                Box::new(zeroed_msghdr()),
            ));
            for id in self.ports.ids().collect::<Vec<_>>() {
                if let Some(p) = self.ports.get_mut(id) {
                    std::mem::forget(p.single.take());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_cpu_time() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a live timespec for the kernel to fill.
        let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
        assert_eq!(r, 0);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    fn small() -> UdpConfig {
        UdpConfig {
            rx_buffers: 64,
            tx_buffers: 8,
            ..UdpConfig::default()
        }
    }

    /// Both ways of sleeping (timed enter; timeout request, used before
    /// 5.11) time out on schedule, wake on a datagram, and burn no CPU.
    #[test]
    fn idle_wait_sleeps_in_the_kernel_either_way() {
        for ext_arg in [true, false] {
            let mut io = UringIo::new(&small()).unwrap();
            io.features.ext_arg = ext_arg;
            let port = io.open("127.0.0.1:0".parse().unwrap()).unwrap();
            let local = io.local_addr(port).unwrap();

            let (wall, cpu) = (Instant::now(), thread_cpu_time());
            for _ in 0..5 {
                io.wait(Duration::from_millis(40)).unwrap();
            }
            let (wall, cpu) = (wall.elapsed(), thread_cpu_time() - cpu);
            assert!(wall >= Duration::from_millis(190), "{ext_arg}: {wall:?}");
            assert!(
                cpu < Duration::from_millis(20),
                "{ext_arg}: {cpu:?} CPU idle"
            );

            let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            peer.send_to(b"x", local).unwrap();
            let t = Instant::now();
            let mut rx = Vec::new();
            while rx.is_empty() && t.elapsed() < Duration::from_secs(2) {
                io.wait(Duration::from_secs(2)).unwrap();
                io.recv_burst(&mut rx, 4).unwrap();
            }
            assert_eq!(rx.len(), 1, "{ext_arg}");
            assert!(t.elapsed() < Duration::from_millis(500), "{ext_arg}");
        }
    }

    /// A closed port's socket leaves the registered file table too, so its
    /// UDP port is free again at once, whether a receive was armed or not.
    #[test]
    fn a_closed_port_is_released_from_the_file_table() {
        let mut io = UringIo::new(&small()).unwrap();
        assert!(io.features().fixed_files > 0, "{}", io.describe());
        for armed in [true, false] {
            let port = io.open("127.0.0.1:0".parse().unwrap()).unwrap();
            assert!(io.ports.get(port).unwrap().fixed);
            let local = io.local_addr(port).unwrap();
            if armed {
                io.flush().unwrap();
            } else {
                // Disarmed the way a port is after its receive ended.
                io.ports.get_mut(port).unwrap().armed = false;
                io.rearm.clear();
            }
            io.close(port).unwrap();
            let t = Instant::now();
            while io.ports.get(port).is_some() && t.elapsed() < Duration::from_secs(2) {
                io.wait(Duration::from_millis(10)).unwrap();
            }
            std::net::UdpSocket::bind(local)
                .unwrap_or_else(|e| panic!("armed {armed}: {local} still bound: {e}"));
        }
    }

    /// Sends reach the peer by both opcodes: `Send` with an address (6.1)
    /// and `SendMsg` (before), from registered and unregistered sockets.
    #[test]
    fn sends_go_out_by_either_opcode_and_either_naming() {
        use tandem_packet_io::PacketBuf;
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let to = peer.local_addr().unwrap();
        for (send_to, fixed) in [(true, true), (false, true), (true, false), (false, false)] {
            let mut io = UringIo::new(&small()).unwrap();
            io.features.send_to = send_to;
            if !fixed {
                io.features.fixed_files = 0;
            }
            let port = io.open("127.0.0.1:0".parse().unwrap()).unwrap();
            assert_eq!(io.ports.get(port).unwrap().fixed, fixed);
            let mut buf = io.alloc().unwrap();
            buf.set_len(5);
            buf.data_mut().copy_from_slice(b"hello");
            let mut tx = vec![TxPacket { port, to, buf }];
            assert_eq!(io.send_burst(&mut tx).unwrap(), 1);
            let mut got = [0u8; 16];
            let (n, from) = peer.recv_from(&mut got).unwrap();
            assert_eq!(&got[..n], b"hello", "send_to {send_to} fixed {fixed}");
            assert_eq!(from, io.local_addr(port).unwrap());
        }
    }

    /// Every socket holds a port entry: keep it small (it was 64 bytes
    /// with a whole `SocketAddr` in it).
    #[test]
    fn a_port_entry_is_small() {
        assert!(size_of::<(u32, Option<Port>)>() <= 32);
    }

    /// A handle may outlive its backend: the arena stays mapped until the
    /// last handle goes, and the backend's drop waited for the kernel.
    #[test]
    fn buffers_outlive_their_backend() {
        let mut io = UringIo::new(&small()).unwrap();
        let port = io.open("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = io.local_addr(port).unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.send_to(b"survivor", local).unwrap();
        let mut rx = Vec::new();
        let t = Instant::now();
        while rx.is_empty() && t.elapsed() < Duration::from_secs(2) {
            io.wait(Duration::from_millis(50)).unwrap();
            io.recv_burst(&mut rx, 4).unwrap();
        }
        let spare = io.alloc().unwrap();
        assert_eq!(io.inflight_recv, 1);
        drop(io);
        use tandem_packet_io::PacketBuf;
        assert_eq!(rx[0].buf.data(), b"survivor");
        drop((rx, spare));
    }
}
