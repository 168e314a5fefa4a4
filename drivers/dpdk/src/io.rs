//! The media engine's [`PacketIo`] over one DPDK port queue pair.
//!
//! A worker owns one [`DpdkIo`]: the RX and TX queue its RSS share
//! arrives on, the pool its packets come from, and a [`HostStack`] with
//! the port's addresses. Receiving runs each frame through the stack: UDP
//! for an open port becomes an [`RxPacket`] whose buffer is the mbuf
//! itself, trimmed to the payload (no copy); ARP and ping replies are
//! queued for sending; the rest goes to the kernel through the exception
//! port when there is one (with copies of ARP, and UDP for ports no worker
//! holds), else it is counted and dropped, and what the kernel sends there
//! goes out of the device. Sending writes Ethernet, IPv4 and UDP
//! headers into the mbuf's headroom in front of the payload (no copy) and
//! hands bursts to the device. A destination whose MAC is not known yet
//! gets an ARP request (at most one a second per address) and the
//! datagram is dropped and counted, as a kernel without a neighbour entry
//! would drop past its small queue.
//!
//! DPDK polls: [`wait`](PacketIo::wait) returns at once, and a worker on
//! this backend spins (its CPU time is then not a measure of load; cycles
//! per packet are).
//!
//! Several workers on one device share a [`Fabric`](crate::media): a
//! datagram for a UDP port another worker opened is handed to it, and a
//! neighbour one worker learns is known to all (see [`crate::MediaPort`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_packet_io::{IoError, IoStats, PacketBuf, PacketIo, PortId, RxPacket, TxPacket};

use super::dpdk::{Mbuf, Mempool, RxQueue, TxQueue};
use crate::media::{Fabric, Handoff};
use crate::stack::{HostStack, Verdict};

/// The addressing of a DPDK media port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpdkConfig {
    /// The port's IPv4 address (the media address in SDP).
    pub ip: Ipv4Addr,
    /// Its prefix length (24 for a /24): peers inside are reached
    /// directly, others through `gateway`.
    pub prefix_len: u8,
    /// The next hop for peers outside the prefix.
    pub gateway: Option<Ipv4Addr>,
    /// The 802.1Q VLAN the port's traffic is tagged with.
    pub vlan: Option<u16>,
}

/// A packet on this backend: an mbuf whose data is the UDP payload (the
/// headers trimmed off on receive, written in front on send).
pub struct DpdkBuf {
    m: Mbuf,
}

impl PacketBuf for DpdkBuf {
    #[inline]
    fn data(&self) -> &[u8] {
        self.m.data()
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        self.m.data_mut()
    }

    fn capacity(&self) -> usize {
        usize::from(self.m.room())
    }

    fn set_len(&mut self, len: usize) {
        assert!(len <= self.capacity(), "payload {len} > capacity");
        let total = u16::try_from(len).expect("within the mbuf's room");
        self.m
            .set_len(total)
            .expect("a length within the room is accepted");
    }
}

impl std::fmt::Debug for DpdkBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkBuf")
            .field("len", &self.data().len())
            .finish()
    }
}

/// The first port `open` picks for port 0.
const EPHEMERAL: u16 = 49152;
/// This worker's queue pair on the kernel's exception port (a TAP): what
/// the host stack does not handle goes to the kernel, and what the kernel
/// sends goes out of the media port, so SSH, routing protocols and the
/// host's own UDP services keep working on the same NIC.
struct KernelPath {
    rx: RxQueue,
    tx: TxQueue,
    to: Vec<Mbuf>,
    from: Vec<Mbuf>,
}

/// What a worker's backend did, for the port's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoReport {
    /// The host stack's frames by outcome.
    pub stack: crate::stack::Counters,
    /// Datagrams dropped for want of the next hop's MAC address.
    pub unresolved: u64,
    /// Frames passed to the kernel's exception port.
    pub to_kernel: u64,
    /// Frames the kernel sent out through the media port.
    pub from_kernel: u64,
    /// Frames for the kernel dropped: no exception port, or it was full.
    pub kernel_drops: u64,
}

/// Attempts on a full transmit ring, without progress, before the rest of
/// a burst is dropped (each a few hundred nanoseconds).
const TX_RETRIES: u32 = 1000;
/// How often a worker on a shared port publishes its stack's counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// Receive bursts between reads of the clock: a few microseconds when
/// idle, well under a millisecond at full load; the clock times ARP
/// retries (a second) and counter publishing (100 ms).
const CLOCK_EVERY: u32 = 16;
/// How often an unresolved address is asked for again.
const ARP_RETRY: Duration = Duration::from_secs(1);

/// The UDP ports a worker has open, as one slot per port number: both
/// lookups on the packet path (a received datagram's destination port to
/// its [`PortId`], a [`PortId`] to send from back to its port number) are
/// an index, not a hash. A [`PortId`] is the port number in its low 16
/// bits and a generation in the high 16, so an id kept after its port
/// was closed never names the port opened next on the same number.
struct PortTable {
    /// The open id of each port number, or [`PortTable::FREE`].
    ids: Box<[u32]>,
    generation: u16,
}

impl PortTable {
    /// No id has generation 0.
    const FREE: u32 = 0;

    fn new() -> PortTable {
        PortTable {
            ids: vec![Self::FREE; 1 << 16].into_boxed_slice(),
            generation: 0,
        }
    }

    fn open(&mut self, udp: u16) -> PortId {
        self.generation = self.generation.checked_add(1).unwrap_or(1);
        let id = u32::from(self.generation) << 16 | u32::from(udp);
        self.ids[usize::from(udp)] = id;
        PortId(id)
    }

    #[inline]
    fn by_udp(&self, udp: u16) -> Option<PortId> {
        let id = self.ids[usize::from(udp)];
        (id != Self::FREE).then_some(PortId(id))
    }

    #[inline]
    fn udp(&self, port: PortId) -> Option<u16> {
        let udp = port.0 as u16;
        (port.0 != Self::FREE && self.ids[usize::from(udp)] == port.0).then_some(udp)
    }

    fn close(&mut self, port: PortId) -> Option<u16> {
        let udp = self.udp(port)?;
        self.ids[usize::from(udp)] = Self::FREE;
        Some(udp)
    }
}

/// One worker's DPDK packet backend; see the module docs.
pub struct DpdkIo {
    rx: RxQueue,
    tx: TxQueue,
    pool: &'static Mempool,
    stack: HostStack,
    config: DpdkConfig,
    ports: PortTable,
    frames: Vec<Mbuf>,
    out: Vec<Mbuf>,
    reply: Vec<u8>,
    asked: HashMap<Ipv4Addr, Instant>,
    ip_id: u16,
    stats: IoStats,
    /// Datagrams dropped because their next hop's MAC was not known yet.
    unresolved: u64,
    /// Exception path counters (see [`IoReport`]).
    to_kernel: u64,
    from_kernel: u64,
    kernel_drops: u64,
    /// This worker's index on a shared port, and what the workers share.
    worker: usize,
    fabric: Option<Arc<Fabric>>,
    /// When the stack's counters are next published to the fabric.
    next_publish: Option<Instant>,
    /// The kernel's path, when the port has one.
    kernel: Option<KernelPath>,
    /// The backend's clock, read every [`CLOCK_EVERY`] receive bursts.
    now: Instant,
    polls: u32,
}

impl DpdkIo {
    /// A backend on one queue pair of a started port whose MAC is `mac`.
    pub fn new(
        rx: RxQueue,
        tx: TxQueue,
        pool: &'static Mempool,
        mac: [u8; 6],
        config: DpdkConfig,
    ) -> DpdkIo {
        let mut stack = HostStack::new(mac, config.ip, config.vlan);
        stack.tx_checksum_offload = tx.checksum_offload();
        DpdkIo {
            rx,
            tx,
            pool,
            stack,
            config,
            ports: PortTable::new(),
            frames: Vec::with_capacity(crate::MAX_BURST),
            out: Vec::with_capacity(crate::MAX_BURST),
            reply: vec![0; 2048],
            asked: HashMap::new(),
            ip_id: 0,
            stats: IoStats::default(),
            unresolved: 0,
            to_kernel: 0,
            from_kernel: 0,
            kernel_drops: 0,
            worker: 0,
            fabric: None,
            next_publish: None,
            kernel: None,
            #[allow(clippy::disallowed_methods)] // the backend's own clock, for ARP ageing
            now: Instant::now(),
            polls: 0,
        }
    }

    /// Worker `worker`'s backend on a port whose queues several workers
    /// poll (built by [`MediaPort::io`](crate::MediaPort::io)).
    pub(crate) fn shared(
        rx: RxQueue,
        tx: TxQueue,
        pool: &'static Mempool,
        mac: [u8; 6],
        config: DpdkConfig,
        worker: usize,
        fabric: Arc<Fabric>,
    ) -> DpdkIo {
        let mut io = DpdkIo::new(rx, tx, pool, mac, config);
        io.worker = worker;
        io.fabric = Some(fabric);
        io
    }

    /// The host stack's counters (ARP, ICMP, drops by reason).
    pub fn stack(&self) -> &HostStack {
        &self.stack
    }

    /// Datagrams dropped because their next hop's MAC was not known yet.
    pub fn unresolved(&self) -> u64 {
        self.unresolved
    }

    /// Gives this backend a queue pair of the kernel's exception port.
    pub fn set_kernel_path(&mut self, rx: RxQueue, tx: TxQueue) {
        self.kernel = Some(KernelPath {
            rx,
            tx,
            to: Vec::with_capacity(crate::MAX_BURST),
            from: Vec::with_capacity(crate::MAX_BURST),
        });
    }

    /// What this backend did (see [`IoReport`]).
    pub fn report(&self) -> IoReport {
        IoReport {
            stack: self.stack.counters(),
            unresolved: self.unresolved,
            to_kernel: self.to_kernel,
            from_kernel: self.from_kernel,
            kernel_drops: self.kernel_drops,
        }
    }

    /// A frame for the kernel: queued for its exception port, or dropped
    /// and counted without one.
    fn pass_to_kernel(&mut self, m: Mbuf) {
        match &mut self.kernel {
            Some(k) => k.to.push(m),
            None => self.kernel_drops += 1,
        }
    }

    /// Sends what is queued for the kernel, and puts what the kernel sent
    /// on the media port's transmit list.
    fn kernel_turn(&mut self) {
        let Some(k) = &mut self.kernel else {
            return;
        };
        while !k.to.is_empty() {
            let sent = k.tx.send(&mut k.to);
            self.to_kernel += sent as u64;
            if sent == 0 {
                self.kernel_drops += k.to.len() as u64;
                k.to.clear();
            }
        }
        k.from.clear();
        let n = k.rx.recv(&mut k.from, crate::MAX_BURST);
        self.from_kernel += n as u64;
        self.out.append(&mut k.from);
    }

    fn next_hop(&self, to: Ipv4Addr) -> Option<Ipv4Addr> {
        let bits = u32::from(self.config.prefix_len.min(32));
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        if u32::from(to) & mask == u32::from(self.config.ip) & mask {
            Some(to)
        } else {
            self.config.gateway
        }
    }

    fn mac_of(&mut self, now: Instant, hop: Ipv4Addr) -> Option<[u8; 6]> {
        if hop == self.config.ip {
            return Some(self.stack.mac());
        }
        if let Some(mac) = self.stack.resolve(now, hop) {
            return Some(mac);
        }
        if let Some((mac, at)) = self.fabric.as_ref().and_then(|f| f.neighbour(now, hop)) {
            self.stack.learn(at, hop, mac);
            let _ = self.stack.take_learned();
            return Some(mac);
        }
        let due = self
            .asked
            .get(&hop)
            .is_none_or(|at| now.saturating_duration_since(*at) >= ARP_RETRY);
        if due {
            if self.asked.len() > 4096 {
                self.asked.clear();
            }
            self.asked.insert(hop, now);
            if let Some(mut m) = self.pool.alloc()
                && m.set_len(64).is_ok()
                && let Some(n) = self.stack.write_arp_request(m.data_mut(), hop)
                && m.set_len(n as u16).is_ok()
            {
                self.out.push(m);
            }
        }
        None
    }
}

/// Whether an Ethernet frame (untagged or with one 802.1Q tag) is ARP.
fn is_arp(frame: &[u8]) -> bool {
    let ethertype = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    match ethertype(12) {
        Some(0x0806) => true,
        Some(0x8100) => ethertype(16) == Some(0x0806),
        _ => false,
    }
}

impl DpdkIo {
    /// A datagram for a UDP port this worker does not hold: to the worker
    /// that does, trimmed to its payload, or dropped and counted.
    fn hand_over(&mut self, mut m: Mbuf, start: u16, len: u16, from: SocketAddrV4, udp: u16) {
        let owner = self
            .fabric
            .as_ref()
            .and_then(|f| f.owner(udp))
            .filter(|&w| w != self.worker);
        let (Some(f), Some(w)) = (&self.fabric, owner) else {
            // No worker's: the host's own UDP (SIP, DNS, NTP, SNMP, ...)
            // when there is a kernel path.
            if self.kernel.is_some() {
                self.pass_to_kernel(m);
            } else {
                self.stats.rx_dropped += 1;
            }
            return;
        };
        if m.set_len(start + len).is_err() || m.trim_front(start).is_err() {
            self.stats.rx_dropped += 1;
            return;
        }
        if !f.hand_to(w, Handoff { m, from, udp }) {
            self.stats.rx_dropped += 1;
        }
    }
}

impl PacketIo for DpdkIo {
    type Buf = DpdkBuf;

    fn name(&self) -> &'static str {
        "dpdk"
    }

    fn open(&mut self, local: SocketAddr) -> Result<PortId, IoError> {
        match local.ip() {
            IpAddr::V4(ip) if ip == self.config.ip || ip.is_unspecified() => {}
            _ => return Err(IoError::AddrNotAvailable(local)),
        }
        let udp = match local.port() {
            0 => (EPHEMERAL..=u16::MAX)
                .find(|p| {
                    self.ports.by_udp(*p).is_none()
                        && !self
                            .fabric
                            .as_ref()
                            .is_some_and(|f| f.taken_by_other(*p, self.worker))
                })
                .ok_or(IoError::Exhausted("UDP ports"))?,
            p if self.ports.by_udp(p).is_some() => return Err(IoError::AddrInUse(local)),
            p => p,
        };
        if let Some(f) = &self.fabric {
            if f.taken_by_other(udp, self.worker) {
                return Err(IoError::AddrInUse(local));
            }
            f.claim(udp, self.worker);
        }
        Ok(self.ports.open(udp))
    }

    fn local_addr(&self, port: PortId) -> Result<SocketAddr, IoError> {
        let udp = self.ports.udp(port).ok_or(IoError::UnknownPort(port))?;
        Ok(SocketAddr::from((self.config.ip, udp)))
    }

    fn close(&mut self, port: PortId) -> Result<(), IoError> {
        let udp = self.ports.close(port).ok_or(IoError::UnknownPort(port))?;
        if let Some(f) = &self.fabric {
            f.release(udp, self.worker);
        }
        Ok(())
    }

    fn recv_burst(
        &mut self,
        out: &mut Vec<RxPacket<DpdkBuf>>,
        max: usize,
    ) -> Result<usize, IoError> {
        // The backend's own clock, for ARP ageing and publishing counters:
        // read every few bursts, not every one (a clock read costs as much
        // as relaying a packet).
        self.polls = self.polls.wrapping_add(1);
        if self.polls % CLOCK_EVERY == 0 {
            #[allow(clippy::disallowed_methods)] // the backend's own clock
            let now = Instant::now();
            self.now = now;
        }
        let now = self.now;
        let mut delivered = 0;
        // First what other workers' queues received for our ports.
        if let Some(f) = self.fabric.clone() {
            while delivered < max {
                let Some(Handoff { m, from, udp }) = f.take(self.worker) else {
                    break;
                };
                let Some(id) = self.ports.by_udp(udp) else {
                    // Closed since it was handed over.
                    self.stats.rx_dropped += 1;
                    continue;
                };
                self.stats.rx_packets += 1;
                self.stats.rx_bytes += m.data().len() as u64;
                out.push(RxPacket {
                    port: id,
                    from: SocketAddr::V4(from),
                    buf: DpdkBuf { m },
                });
                delivered += 1;
            }
        }
        let mut frames = std::mem::take(&mut self.frames);
        while delivered < max {
            frames.clear();
            if self.rx.recv(&mut frames, max - delivered) == 0 {
                break;
            }
            let checked = self.rx.checksum_offload();
            let mac = self.stack.mac();
            for mut m in frames.drain(..) {
                let data = m.data();
                // The kernel learns its neighbours from ARP as we do; not
                // from its own (or our) ARP heard back by a promiscuous
                // port (a TAP media port shares its MAC with the kernel).
                let arp =
                    self.kernel.is_some() && is_arp(data) && data.get(6..12) != Some(&mac[..]);
                if arp && let Some(copy) = self.pool.alloc_with(data) {
                    self.pass_to_kernel(copy);
                }
                let verdict = if checked {
                    self.stack
                        .handle_checked(now, m.data(), &mut self.reply, m.rx_checksum())
                } else {
                    self.stack.handle(now, m.data(), &mut self.reply)
                };
                match verdict {
                    Verdict::Udp {
                        from,
                        port,
                        payload,
                    } => {
                        let (Ok(start), Ok(len)) =
                            (u16::try_from(payload.start), u16::try_from(payload.len()))
                        else {
                            self.stats.rx_dropped += 1;
                            continue;
                        };
                        let Some(id) = self.ports.by_udp(port) else {
                            self.hand_over(m, start, len, from, port);
                            continue;
                        };
                        // Trailing bytes (Ethernet padding) go, then the
                        // headers: the mbuf is the payload.
                        if m.set_len(start + len).is_err() || m.trim_front(start).is_err() {
                            self.stats.rx_dropped += 1;
                            continue;
                        }
                        self.stats.rx_packets += 1;
                        self.stats.rx_bytes += u64::from(len);
                        out.push(RxPacket {
                            port: id,
                            from: SocketAddr::V4(from),
                            buf: DpdkBuf { m },
                        });
                        delivered += 1;
                    }
                    Verdict::Reply(n) => {
                        if let Some(r) = self.reply.get(..n)
                            && let Some(reply) = self.pool.alloc_with(r)
                        {
                            self.out.push(reply);
                        }
                    }
                    Verdict::Exception => self.pass_to_kernel(m),
                    Verdict::Drop(_) => {}
                }
                if let (Some(f), Some((ip, mac))) = (&self.fabric, self.stack.take_learned()) {
                    f.publish(now, ip, mac);
                }
            }
        }
        self.frames = frames;
        self.kernel_turn();
        if let Some(f) = &self.fabric
            && self.next_publish.is_none_or(|at| now >= at)
        {
            f.publish_counters(self.worker, self.report());
            self.next_publish = Some(now + PUBLISH_EVERY);
        }
        if !self.out.is_empty() {
            self.flush()?;
        }
        Ok(delivered)
    }

    fn alloc(&mut self) -> Option<DpdkBuf> {
        let m = self.pool.alloc()?;
        Some(DpdkBuf { m })
    }

    fn send_burst(&mut self, pkts: &mut Vec<TxPacket<DpdkBuf>>) -> Result<usize, IoError> {
        // The clock read by the last receive: a worker receives every
        // turn, and ARP ageing does not need it any closer.
        let now = self.now;
        let hdr = self.stack.header_len();
        let mut accepted = 0;
        for TxPacket { port, to, buf } in pkts.drain(..) {
            let (Some(udp), SocketAddr::V4(to)) = (self.ports.udp(port), to) else {
                self.stats.tx_dropped += 1;
                continue;
            };
            let Some(mac) = self
                .next_hop(*to.ip())
                .and_then(|hop| self.mac_of(now, hop))
            else {
                self.unresolved += 1;
                self.stats.tx_dropped += 1;
                continue;
            };
            let DpdkBuf { mut m } = buf;
            let len = m.data().len();
            if m.grow_front(hdr as u16).is_err() {
                self.stats.tx_dropped += 1;
                continue;
            }
            self.ip_id = self.ip_id.wrapping_add(1);
            let (head, payload) = m.data_mut().split_at_mut(hdr);
            let to = SocketAddrV4::new(*to.ip(), to.port());
            if self
                .stack
                .write_udp_headers(head, udp, to, mac, payload, self.ip_id)
                .is_none()
            {
                self.stats.tx_dropped += 1;
                continue;
            }
            if self.stack.tx_checksum_offload {
                m.request_tx_checksum((hdr - 28) as u16);
            }
            self.stats.tx_bytes += len as u64;
            self.out.push(m);
            accepted += 1;
        }
        self.flush()?;
        Ok(accepted)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        // A mixer's tick sends a packet to every member at once, more than
        // a transmit ring holds; the device drains it at line rate while
        // we push, so a full ring is retried a little before what is left
        // is dropped (a stuck device must not hold the worker up).
        let mut stalled = 0;
        while !self.out.is_empty() {
            let sent = self.tx.send(&mut self.out);
            self.stats.tx_packets += sent as u64;
            if sent > 0 {
                stalled = 0;
                continue;
            }
            stalled += 1;
            if stalled > TX_RETRIES {
                self.stats.tx_dropped += self.out.len() as u64;
                self.out.clear();
            }
            std::hint::spin_loop();
        }
        Ok(())
    }

    fn wait(&mut self, _timeout: Duration) -> Result<(), IoError> {
        // Poll mode: the worker spins.
        Ok(())
    }

    fn stats(&self) -> IoStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::PortTable;

    #[test]
    fn a_closed_ports_id_never_names_the_next_one_on_its_number() {
        let mut t = PortTable::new();
        let a = t.open(20_000);
        assert_eq!(t.by_udp(20_000), Some(a));
        assert_eq!(t.udp(a), Some(20_000));
        assert_eq!(t.close(a), Some(20_000));
        assert_eq!((t.by_udp(20_000), t.udp(a)), (None, None));
        let b = t.open(20_000);
        assert_ne!(a, b);
        assert_eq!((t.udp(a), t.udp(b)), (None, Some(20_000)));
        assert_eq!(t.close(a), None, "a stale id closes nothing");
        assert_eq!(t.by_udp(20_000), Some(b));
        // Port 0 and 65535 are slots like any other.
        let (lo, hi) = (t.open(0), t.open(u16::MAX));
        assert_eq!((t.udp(lo), t.udp(hi)), (Some(0), Some(u16::MAX)));
    }

    #[test]
    fn generations_wrap_past_zero() {
        let mut t = PortTable::new();
        for _ in 0..70_000 {
            let id = t.open(7);
            assert_ne!(id.0, PortTable::FREE);
            assert_eq!(t.close(id), Some(7));
        }
    }
}
