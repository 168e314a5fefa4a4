//! The plain-socket backend: `epoll` for readiness, `recvmmsg` and
//! `sendmmsg` for batches. See the crate docs.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

use tandem_packet_io::{IoError, IoStats, PacketBuf, PacketIo, PortId, RxPacket, TxPacket};

use crate::UdpConfig;
use crate::buf::{Arena, BufferUsage, UdpBuf};
use crate::sys::{
    self, CONTROL_LEN, LocalAddr, LocalAddrs, NAME_LEN, Ports, RawAddr, RawControl, cvt,
};

/// Datagrams per `recvmmsg`/`sendmmsg` call.
const BATCH: usize = 64;
/// Readiness events per `epoll_wait`.
const EVENTS: usize = 256;

/// One open port (16 bytes, 20 with its slot's generation).
struct Port {
    fd: OwnedFd,
    local: LocalAddr,
    drops_seen: u32,
    /// On the ready list.
    ready: bool,
}

/// The arrays one `recvmmsg`/`sendmmsg` call points into.
struct Batch {
    hdrs: [libc::mmsghdr; BATCH],
    iovs: [libc::iovec; BATCH],
    names: [RawAddr; BATCH],
    controls: [RawControl; BATCH],
}

impl Batch {
    fn new() -> Box<Self> {
        Box::new(Self {
            // SAFETY: `mmsghdr` is plain C data; all-zero is valid.
            hdrs: unsafe { std::mem::zeroed() },
            iovs: [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; BATCH],
            names: [RawAddr::zeroed(); BATCH],
            controls: [RawControl([0; CONTROL_LEN]); BATCH],
        })
    }
}

/// The fallback packet backend for kernels without usable io_uring:
/// non-blocking UDP sockets in one `epoll` set, received with `recvmmsg`
/// and sent with `sendmmsg` (one call per run of packets from the same
/// port).
pub struct SocketIo {
    epoll: OwnedFd,
    ports: Ports<Port>,
    locals: LocalAddrs,
    arena: Rc<Arena>,
    events: Vec<libc::epoll_event>,
    /// Ports reported readable and not yet drained, in turn order.
    ready: VecDeque<PortId>,
    batch: Box<Batch>,
    staging: Vec<UdpBuf>,
    note: String,
    options: sys::SocketOptions,
    stats: IoStats,
    starved: u64,
}

impl SocketIo {
    /// Creates the backend; `why` is logged with it (why not io_uring).
    pub fn new(config: &UdpConfig, why: &str) -> Result<Self, IoError> {
        // SAFETY: plain epoll_create1(2) with a constant flag.
        let raw = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `raw` was just returned by epoll_create1 and is owned by
        // nothing else.
        let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
        let buf_size = config.buffer_size.clamp(256, 65536);
        let arena = Arena::new(
            buf_size,
            config.rx_buffers.clamp(1, 1 << 20),
            config.tx_buffers.max(1),
            false,
        )?;
        Ok(Self {
            epoll,
            ports: Ports::new(),
            locals: LocalAddrs::new(),
            arena,
            events: Vec::with_capacity(EVENTS),
            ready: VecDeque::with_capacity(EVENTS),
            batch: Batch::new(),
            staging: Vec::with_capacity(BATCH),
            note: format!("socket (epoll + recvmmsg/sendmmsg): {why}"),
            options: sys::SocketOptions::of(config),
            stats: IoStats {
                syscalls: 1,
                ..IoStats::default()
            },
            starved: 0,
        })
    }

    /// One line for the gateway's log: backend and why it was chosen.
    pub fn describe(&self) -> &str {
        &self.note
    }

    /// Buffers held by the worker, for tests and metrics.
    pub fn buffer_usage(&self) -> BufferUsage {
        self.arena.usage()
    }

    /// Times a readable port could not be read for want of free buffers.
    pub fn rx_starved(&self) -> u64 {
        self.starved
    }

    /// `epoll_wait` into the ready list.
    fn poll(&mut self, timeout: Duration) -> Result<(), IoError> {
        let ms = if timeout.is_zero() {
            0
        } else {
            // Round up so a short timeout does not become a busy poll.
            i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
        };
        self.events.clear();
        self.stats.syscalls += 1;
        // SAFETY: `events` has capacity for EVENTS entries, the count the
        // kernel may write; `set_len` below trusts only its return value.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                self.events.as_mut_ptr(),
                EVENTS as i32,
                ms,
            )
        };
        let n = match cvt(n) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e.into()),
        };
        // SAFETY: the kernel initialised the first `n <= EVENTS` entries.
        unsafe { self.events.set_len(n) };
        for ev in &self.events {
            let id = PortId(ev.u64 as u32);
            if let Some(p) = self.ports.get_mut(id) {
                if !p.ready {
                    p.ready = true;
                    self.ready.push_back(id);
                }
            }
        }
        Ok(())
    }

    /// Reads up to `want` datagrams from one port. Returns how many were
    /// delivered and whether the port is drained (or unreadable for now).
    fn recv_port(
        &mut self,
        id: PortId,
        out: &mut Vec<RxPacket<UdpBuf>>,
        want: usize,
    ) -> Result<(usize, bool), IoError> {
        let Some(port) = self.ports.get_mut(id) else {
            return Ok((0, true));
        };
        let mut staging = std::mem::take(&mut self.staging);
        while staging.len() < want.min(BATCH) {
            match self.arena.take_rx() {
                Some(b) => staging.push(b),
                None => break,
            }
        }
        if staging.is_empty() {
            // Level-triggered epoll reports the port again once buffers
            // are back; meanwhile the socket queues (and, when full, drops
            // and counts through SO_RXQ_OVFL).
            self.starved += 1;
            self.staging = staging;
            return Ok((0, true));
        }
        let b = &mut *self.batch;
        for (i, buf) in staging.iter_mut().enumerate() {
            let room = buf.room();
            buf.set_window(0, room);
            b.iovs[i] = libc::iovec {
                iov_base: buf.payload_ptr().cast(),
                iov_len: room as usize,
            };
            let h = &mut b.hdrs[i].msg_hdr;
            h.msg_name = b.names[i].as_mut_ptr();
            h.msg_namelen = NAME_LEN as libc::socklen_t;
            h.msg_iov = &raw mut b.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = b.controls[i].0.as_mut_ptr().cast();
            h.msg_controllen = CONTROL_LEN as _;
            h.msg_flags = 0;
            b.hdrs[i].msg_len = 0;
        }
        let asked = staging.len();
        self.stats.syscalls += 1;
        // SAFETY: `hdrs[..asked]` are initialised and point into `names`,
        // `controls`, `iovs` (all in the boxed batch) and into the staged
        // buffers this function owns; all outlive the call.
        let r = unsafe {
            libc::recvmmsg(
                port.fd.as_raw_fd(),
                b.hdrs.as_mut_ptr(),
                asked as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        let got = match cvt(r) {
            Ok(n) => n as usize,
            Err(_) => {
                staging.clear();
                self.staging = staging;
                // EAGAIN: drained. Anything else (an error queued on the
                // socket is consumed by reading it): treat as drained too;
                // level-triggered epoll reports the port again if data
                // remains, so a persistent error cannot spin here.
                return Ok((0, true));
            }
        };
        let mut delivered = 0;
        for (i, mut buf) in staging.drain(..).enumerate() {
            if i >= got {
                break; // the rest go back to the pool
            }
            let h = &b.hdrs[i];
            let namelen = (h.msg_hdr.msg_namelen as usize).min(NAME_LEN);
            let ctllen = sys::control_len(&h.msg_hdr);
            sys::account_drops(
                &b.controls[i].0[..ctllen],
                &mut port.drops_seen,
                &mut self.stats.rx_dropped,
            );
            match sys::decode_addr(&b.names[i].0[..namelen]) {
                Some(from) if h.msg_hdr.msg_flags & libc::MSG_TRUNC == 0 => {
                    buf.set_window(0, h.msg_len);
                    buf.set_rx_timestamp(sys::rx_timestamp(&b.controls[i].0[..ctllen]));
                    self.stats.rx_packets += 1;
                    self.stats.rx_bytes += u64::from(h.msg_len);
                    out.push(RxPacket {
                        port: id,
                        from,
                        buf,
                    });
                    delivered += 1;
                }
                _ => self.stats.rx_dropped += 1,
            }
        }
        self.staging = staging;
        Ok((delivered, got < asked))
    }

    /// Sends `pkts` (all from one port) with as few `sendmmsg` calls as
    /// the kernel allows; returns how many went out.
    fn send_run(&mut self, fd: i32, pkts: &[TxPacket<UdpBuf>]) -> usize {
        let b = &mut *self.batch;
        let mut sent = 0;
        let mut start = 0;
        while start < pkts.len() {
            let n = (pkts.len() - start).min(BATCH);
            for (i, p) in pkts[start..start + n].iter().enumerate() {
                let len = b.names[i].encode(&p.to);
                b.iovs[i] = libc::iovec {
                    iov_base: p.buf.payload_ptr().cast(),
                    iov_len: p.buf.data().len(),
                };
                let h = &mut b.hdrs[i].msg_hdr;
                h.msg_name = b.names[i].as_mut_ptr();
                h.msg_namelen = len;
                h.msg_iov = &raw mut b.iovs[i];
                h.msg_iovlen = 1;
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
                h.msg_flags = 0;
            }
            self.stats.syscalls += 1;
            // SAFETY: `hdrs[..n]` point into the boxed batch and into the
            // payloads of `pkts`, all alive for the call; the kernel only
            // reads them (and writes `msg_len`).
            let r = unsafe { libc::sendmmsg(fd, b.hdrs.as_mut_ptr(), n as libc::c_uint, 0) };
            match cvt(r) {
                Ok(k) => {
                    let k = k as usize;
                    for h in &b.hdrs[..k] {
                        self.stats.tx_bytes += u64::from(h.msg_len);
                    }
                    self.stats.tx_packets += k as u64;
                    sent += k;
                    start += k.max(1);
                    if k == 0 {
                        self.stats.tx_dropped += 1;
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    // Socket buffer full: the rest of the run is dropped
                    // rather than spinning.
                    self.stats.tx_dropped += (pkts.len() - start) as u64;
                    return sent;
                }
                Err(_) => {
                    // The first message failed (unreachable, bad address):
                    // drop it and go on with the rest.
                    self.stats.tx_dropped += 1;
                    start += 1;
                }
            }
        }
        sent
    }
}

impl PacketIo for SocketIo {
    type Buf = UdpBuf;

    fn name(&self) -> &'static str {
        "socket"
    }

    fn open(&mut self, local: SocketAddr) -> Result<PortId, IoError> {
        let (fd, local) = sys::udp_socket(local, self.options, &mut self.stats.syscalls)?;
        let local = self.locals.intern(local)?;
        let raw = fd.as_raw_fd();
        let id = self.ports.insert(Port {
            fd,
            local,
            drops_seen: 0,
            ready: false,
        })?;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: u64::from(id.0),
        };
        self.stats.syscalls += 1;
        // SAFETY: both descriptors are open; `ev` is a live epoll_event.
        let r = unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                raw,
                &raw mut ev,
            )
        };
        if let Err(e) = cvt(r) {
            self.ports.remove(id);
            return Err(e.into());
        }
        Ok(id)
    }

    fn local_addr(&self, port: PortId) -> Result<SocketAddr, IoError> {
        self.ports
            .get(port)
            .map(|p| self.locals.get(p.local))
            .ok_or(IoError::UnknownPort(port))
    }

    fn close(&mut self, port: PortId) -> Result<(), IoError> {
        let p = self.ports.remove(port).ok_or(IoError::UnknownPort(port))?;
        // Closing the socket removes it from the epoll set.
        drop(p);
        self.stats.syscalls += 1;
        self.ready.retain(|&id| id != port);
        Ok(())
    }

    fn recv_burst(
        &mut self,
        out: &mut Vec<RxPacket<UdpBuf>>,
        max: usize,
    ) -> Result<usize, IoError> {
        if self.ready.is_empty() && max > 0 {
            self.poll(Duration::ZERO)?;
        }
        let mut n = 0;
        while n < max {
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            let (got, drained) = self.recv_port(id, out, max - n)?;
            n += got;
            if !drained {
                // Round robin: the port goes to the back of the line.
                self.ready.push_back(id);
            } else if let Some(p) = self.ports.get_mut(id) {
                p.ready = false;
            }
        }
        Ok(n)
    }

    fn alloc(&mut self) -> Option<UdpBuf> {
        self.arena.take_tx()
    }

    fn send_burst(&mut self, pkts: &mut Vec<TxPacket<UdpBuf>>) -> Result<usize, IoError> {
        let mut sent = 0;
        let mut start = 0;
        while start < pkts.len() {
            let port = pkts[start].port;
            let mut end = start + 1;
            while end < pkts.len() && pkts[end].port == port {
                end += 1;
            }
            match self.ports.get(port) {
                Some(p) => {
                    let fd = p.fd.as_raw_fd();
                    sent += self.send_run(fd, &pkts[start..end]);
                }
                None => self.stats.tx_dropped += (end - start) as u64,
            }
            start = end;
        }
        // The kernel copied every payload: the buffers go back now.
        pkts.clear();
        Ok(sent)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), IoError> {
        if self.arena.rx_available() == 0 {
            // Every receive buffer is held: nothing could be received, and
            // level-triggered readiness would return at once. Sleep, as the
            // io_uring backend does with no receive armed.
            self.stats.syscalls += 1;
            std::thread::sleep(timeout);
            return Ok(());
        }
        if self.ready.is_empty() {
            self.poll(timeout)?;
        }
        Ok(())
    }

    fn stats(&self) -> IoStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every socket holds a port entry: keep it small (it was 48 bytes
    /// with a whole `SocketAddr` in it).
    #[test]
    fn a_port_entry_is_small() {
        assert!(size_of::<(u32, Option<Port>)>() <= 20);
    }
}
