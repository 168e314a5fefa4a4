//! The load generator: many RTP senders and receivers on one thread, over
//! one `tandem_udp::UdpIo` (io_uring when the kernel has it), paced by a
//! timer wheel.
//!
//! Each [`Flow`] sends one 20 ms RTP packet per period from its socket to
//! its destination. Flows are spread over [`SLOTS`] slots of the period, so
//! the load is smooth: every slot's packets go out as one burst (one
//! `io_uring_enter`). Between slots the thread parks in
//! [`PacketIo::wait`], which wakes on received datagrams.
//!
//! Latency: each flow keeps a ring of its last [`RING`] send instants,
//! indexed by sequence number. A packet received on a socket whose
//! [`RxSocket::source`] is that flow is matched by sequence number (the
//! offset between the sequence numbers sent and received is learned from
//! the first packet, in case the relay renumbers), and the time from the
//! send to the kernel's receive timestamp (`SO_TIMESTAMPNS`, taken when
//! the datagram reached the generator's socket, so the generator's own
//! delays in reading it do not count) goes into a 1 µs histogram. The
//! send time is taken as the slot's packets are built, just before they
//! are submitted.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tandem_packet_io::{IoError, PacketBuf, PacketIo, PortId, TxPacket};
use tandem_udp::{UdpConfig, UdpIo};

use crate::payload::{FRAME_OCTETS, FrameTable};

/// Slots of the wheel per 20 ms period (500 µs each).
pub const SLOTS: usize = 40;
/// RTP packet interval.
pub const PERIOD: Duration = Duration::from_millis(20);
/// Send instants kept per flow (1.28 s of packets).
pub const RING: usize = 64;
/// RTP header (no CSRC, no extension) plus one 20 ms frame.
pub const PACKET_LEN: usize = 12 + FRAME_OCTETS;

/// One RTP sender.
pub struct Flow {
    /// The generator socket it sends from.
    pub port: PortId,
    /// Where it sends (the relay's port for this side).
    pub to: SocketAddr,
    /// RTP payload type.
    pub payload_type: u8,
    /// Index into the generator's frame tables.
    pub table: usize,
    /// Direction group, for per-direction loss figures.
    pub direction: usize,
    /// RTP SSRC.
    pub ssrc: u32,
    seq: u16,
    first_seq: u16,
    timestamp: u32,
    frame: usize,
    sent: u64,
    ring_at: [u64; RING],
    ring_seq: [u16; RING],
    ring_got: [bool; RING],
}

impl Flow {
    /// A flow starting at a pseudo-random sequence number and timestamp.
    pub fn new(
        port: PortId,
        to: SocketAddr,
        payload_type: u8,
        table: usize,
        direction: usize,
        ssrc: u32,
    ) -> Self {
        let seq = (ssrc.wrapping_mul(2_654_435_761) >> 16) as u16;
        Self {
            port,
            to,
            payload_type,
            table,
            direction,
            ssrc,
            seq,
            first_seq: seq,
            timestamp: ssrc.rotate_left(7),
            frame: (ssrc as usize) % 50,
            sent: 0,
            ring_at: [u64::MAX; RING],
            ring_seq: [0; RING],
            ring_got: [false; RING],
        }
    }

    /// Packets sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

/// One generator socket's receive side.
#[derive(Debug, Clone, Default)]
pub struct RxSocket {
    /// Direction group of what arrives here.
    pub direction: usize,
    /// The flow whose packets the relay forwards here (for latency), if
    /// any (a conference member receives a mix, not a flow).
    pub source: Option<usize>,
    /// Packets received.
    pub received: u64,
    seq_offset: Option<u16>,
    /// Packets whose sequence number did not advance past the previous
    /// one's (repeats or reordering).
    pub seq_not_advancing: u64,
    /// Distinct SSRCs seen (up to 4 are kept).
    pub ssrcs: Vec<u32>,
    last_seq: Option<u16>,
    /// When the first packet arrived.
    pub first_at: Option<Instant>,
    /// When the last packet arrived.
    pub last_at: Option<Instant>,
    /// Longest gap between two received packets.
    pub max_gap: Duration,
    /// An RTCP socket (RTP port + 1): what arrives is counted as RTCP.
    pub rtcp: bool,
}

/// Latency histogram with 1 µs buckets up to 100 ms (and one overflow).
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max_ns: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: vec![0; 100_001],
            count: 0,
            max_ns: 0,
        }
    }
}

impl Histogram {
    /// Adds one sample.
    pub fn record(&mut self, d: Duration) {
        let ns = d.as_nanos() as u64;
        let us = (ns / 1000).min(100_000) as usize;
        self.buckets[us] += 1;
        self.count += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q` quantile (0..=1) in microseconds (upper edge of its bucket;
    /// 100001 means 100 ms or more).
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(us as f64 + 1.0);
            }
        }
        Some(self.max_ns as f64 / 1000.0)
    }

    /// The largest sample in microseconds.
    pub fn max_us(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max_ns as f64 / 1000.0)
    }
}

/// What a run of the generator measured.
#[derive(Default)]
pub struct GenReport {
    /// Packets sent, by direction group.
    pub sent: Vec<u64>,
    /// Packets received, by direction group.
    pub received: Vec<u64>,
    /// Send-to-receive latency of matched packets.
    pub latency: Histogram,
    /// Received packets that matched no recorded send (sequence number
    /// unknown or older than the ring).
    pub unmatched: u64,
    /// Of those: packets carrying another flow's SSRC (misdelivered).
    pub foreign_ssrc: u64,
    /// Of those: sequence numbers older than the ring (stale packets).
    pub stale: u64,
    /// RTCP packets received (the relay's reports; not counted as media).
    pub rtcp: u64,
    /// Packets received twice (same sequence number within the ring).
    pub duplicates: u64,
    /// RTP payload types received, by direction group.
    pub payload_types: Vec<[u64; 128]>,
    /// Wall time from the first send to the end of the drain.
    pub wall: Duration,
    /// Wall time of the sending phase.
    pub send_wall: Duration,
    /// Slots sent more than 2 ms after their due time.
    pub late_slots: u64,
    /// Slots in all.
    pub slots: u64,
    /// Largest delay of a slot behind its due time.
    pub max_lag: Duration,
    /// Packets not sent: no free buffer or refused by the backend.
    pub send_failures: u64,
    /// The backend's own counters at the end.
    pub io: tandem_packet_io::IoStats,
}

impl GenReport {
    /// The payload type received most in a direction group.
    pub fn main_payload_type(&self, direction: usize) -> Option<u8> {
        let pts = self.payload_types.get(direction)?;
        let (pt, n) = pts.iter().enumerate().max_by_key(|(_, n)| **n)?;
        (*n > 0).then_some(pt as u8)
    }

    /// `true` if the generator kept the cadence: under 1 % of slots late
    /// and none more than 10 ms late, nothing failed to send.
    pub fn kept_cadence(&self) -> bool {
        self.late_slots * 100 <= self.slots
            && self.max_lag <= Duration::from_millis(10)
            && self.send_failures == 0
    }
}

/// The generator: a backend, its flows and sockets.
pub struct Generator {
    io: UdpIo,
    /// Senders.
    pub flows: Vec<Flow>,
    /// Receivers, indexed by [`Generator::socket_index`].
    pub sockets: Vec<RxSocket>,
    port_index: Vec<usize>,
    ports: Vec<PortId>,
    tables: Vec<FrameTable>,
    /// The relay may rewrite SSRCs (transcoding): do not count foreign
    /// SSRCs.
    pub transcoding: bool,
    next_port: u16,
}

impl Generator {
    /// A generator on its own io_uring backend (sockets if io_uring is
    /// unavailable) with room for heavy bursts.
    pub fn new(tables: Vec<FrameTable>, first_port: u16) -> Result<Self, IoError> {
        let config = UdpConfig {
            rx_buffers: 16_384,
            tx_buffers: 8192,
            ring_entries: 4096,
            rx_timestamps: true,
            ..UdpConfig::default()
        };
        Ok(Self {
            io: UdpIo::new(&config)?,
            flows: Vec::new(),
            sockets: Vec::new(),
            port_index: Vec::new(),
            ports: Vec::new(),
            tables,
            transcoding: false,
            next_port: first_port & !1,
        })
    }

    /// Which backend and why.
    pub fn describe(&self) -> &str {
        self.io.describe()
    }

    /// Opens an RTP socket on an even port of 127.0.0.1 and, on the port
    /// above, a socket that only counts RTCP (RFC 3550 §11: a relay sends
    /// its RTCP to the RTP port + 1, which must not be another stream's RTP
    /// socket). Pairs taken by other processes are skipped. Returns the RTP
    /// socket's index, port id and address.
    pub fn open_socket(&mut self) -> Result<(usize, PortId, SocketAddr), IoError> {
        loop {
            let p = self.next_port;
            if p >= 65_000 {
                return Err(IoError::Exhausted("generator ports"));
            }
            self.next_port += 2;
            let rtp_addr = SocketAddr::from(([127, 0, 0, 1], p));
            let rtp = match self.io.open(rtp_addr) {
                Ok(port) => port,
                Err(IoError::AddrInUse(_)) => continue,
                Err(e) => return Err(e),
            };
            let rtcp = match self.io.open(SocketAddr::from(([127, 0, 0, 1], p + 1))) {
                Ok(port) => port,
                Err(IoError::AddrInUse(_)) => {
                    self.io.close(rtp)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let index = self.register(rtp, false);
            self.register(rtcp, true);
            return Ok((index, rtp, rtp_addr));
        }
    }

    fn register(&mut self, port: PortId, rtcp: bool) -> usize {
        let index = self.sockets.len();
        self.sockets.push(RxSocket {
            rtcp,
            ..RxSocket::default()
        });
        self.ports.push(port);
        let slot = port.0 as usize;
        if self.port_index.len() <= slot {
            self.port_index.resize(slot + 1, usize::MAX);
        }
        self.port_index[slot] = index;
        index
    }

    /// The socket index of a port id.
    pub fn socket_index(&self, port: PortId) -> Option<usize> {
        self.port_index
            .get(port.0 as usize)
            .copied()
            .filter(|i| *i != usize::MAX)
    }

    /// Receives and discards until the backlog is gone: what the target
    /// sent before the run (a conference mixes from the moment a member
    /// joins) must not count as the run's traffic. Stops at the first 20 ms
    /// window that brings no more than `steady` datagrams (the target's
    /// steady rate), or after `max`. Returns how many were discarded.
    pub fn discard_pending(&mut self, steady: u64, max: Duration) -> Result<u64, IoError> {
        let start = Instant::now();
        let mut rx = Vec::with_capacity(256);
        let mut total = 0;
        loop {
            let window_end = Instant::now() + PERIOD;
            let mut in_window = 0;
            loop {
                let got = self.io.recv_burst(&mut rx, 256)? as u64;
                in_window += got;
                rx.clear();
                let now = Instant::now();
                if now >= window_end {
                    break;
                }
                if got == 0 {
                    self.io
                        .wait((window_end - now).min(Duration::from_millis(5)))?;
                }
            }
            total += in_window;
            if in_window <= steady || start.elapsed() >= max {
                return Ok(total);
            }
        }
    }

    /// Sends every flow's packets for `send_for`, then keeps receiving for
    /// `drain`. `directions` sizes the per-direction counters.
    pub fn run(
        &mut self,
        send_for: Duration,
        drain: Duration,
        directions: usize,
    ) -> Result<GenReport, IoError> {
        let mut report = GenReport {
            sent: vec![0; directions],
            received: vec![0; directions],
            payload_types: vec![[0; 128]; directions],
            ..GenReport::default()
        };
        let mut wheel: Vec<Vec<usize>> = vec![Vec::new(); SLOTS];
        for i in 0..self.flows.len() {
            wheel[i % SLOTS].push(i);
        }
        let slot_len = PERIOD / SLOTS as u32;
        let periods = (send_for.as_nanos() / PERIOD.as_nanos()).max(1) as u64;
        let total_slots = periods * SLOTS as u64;
        let max_burst = wheel.iter().map(Vec::len).max().unwrap_or(0);
        let mut tx = Vec::with_capacity(max_burst);
        let mut rx = Vec::with_capacity(256);
        // TANDEM_BENCH_TRACE_SOCKET=N prints the first packets socket N
        // receives (a debugging aid).
        let trace: Option<usize> = std::env::var("TANDEM_BENCH_TRACE_SOCKET")
            .ok()
            .and_then(|v| v.parse().ok());
        let by_ssrc: std::collections::HashMap<u32, usize> = self
            .flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.ssrc, i))
            .collect();
        let start = Instant::now();
        // The same moment on the system clock, which receive timestamps
        // are on.
        let wall_start = std::time::SystemTime::now();
        let mut slot_no = 0u64;
        let mut send_end = None;
        loop {
            let now = Instant::now();
            // Sends due.
            while slot_no < total_slots {
                let due = start + slot_len * slot_no as u32;
                if due > now {
                    break;
                }
                let lag = now - due;
                report.max_lag = report.max_lag.max(lag);
                if lag > Duration::from_millis(2) {
                    report.late_slots += 1;
                }
                report.slots += 1;
                let at = now.duration_since(start).as_nanos() as u64;
                for &f in &wheel[(slot_no % SLOTS as u64) as usize] {
                    let flow = &mut self.flows[f];
                    let Some(mut buf) = self.io.alloc() else {
                        report.send_failures += 1;
                        continue;
                    };
                    buf.set_len(PACKET_LEN);
                    let d = buf.data_mut();
                    d[0] = 0x80;
                    d[1] = flow.payload_type | if flow.sent == 0 { 0x80 } else { 0 };
                    d[2..4].copy_from_slice(&flow.seq.to_be_bytes());
                    d[4..8].copy_from_slice(&flow.timestamp.to_be_bytes());
                    d[8..12].copy_from_slice(&flow.ssrc.to_be_bytes());
                    d[12..PACKET_LEN].copy_from_slice(self.tables[flow.table].frame(flow.frame));
                    let r = usize::from(flow.seq) % RING;
                    flow.ring_at[r] = at;
                    flow.ring_seq[r] = flow.seq;
                    flow.ring_got[r] = false;
                    flow.seq = flow.seq.wrapping_add(1);
                    flow.timestamp = flow.timestamp.wrapping_add(160);
                    flow.frame += 1;
                    flow.sent += 1;
                    report.sent[flow.direction] += 1;
                    tx.push(TxPacket {
                        port: flow.port,
                        to: flow.to,
                        buf,
                    });
                }
                let n = tx.len();
                let accepted = self.io.send_burst(&mut tx)?;
                report.send_failures += (n - accepted) as u64;
                slot_no += 1;
            }
            self.io.flush()?;
            if slot_no >= total_slots && send_end.is_none() {
                send_end = Some(Instant::now());
            }
            // Receives.
            loop {
                let n = self.io.recv_burst(&mut rx, 256)?;
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                let at = now.duration_since(start).as_nanos() as u64;
                for p in rx.drain(..) {
                    let Some(s) = self.socket_index(p.port) else {
                        continue;
                    };
                    let sock = &mut self.sockets[s];
                    let data = p.buf.data();
                    // RTCP (RFC 5761 §4: second octet 192..=223) is the
                    // relay's own reports, not relayed media.
                    if sock.rtcp || data.get(1).is_some_and(|b| (192..=223).contains(b)) {
                        report.rtcp += 1;
                        continue;
                    }
                    sock.received += 1;
                    report.received[sock.direction] += 1;
                    if let Some(b) = data.get(1) {
                        report.payload_types[sock.direction][usize::from(b & 0x7f)] += 1;
                    }
                    if let Some(last) = sock.last_at {
                        sock.max_gap = sock.max_gap.max(now - last);
                    }
                    sock.last_at = Some(now);
                    sock.first_at.get_or_insert(now);
                    if Some(s) == trace && sock.received <= 40 && data.len() >= 12 {
                        eprintln!(
                            "tandem-bench: trace socket {s}: +{:.3} ms from {} len {} pt {} seq {} ts {} ssrc {:#x}",
                            at as f64 / 1e6,
                            p.from,
                            data.len(),
                            data[1] & 0x7f,
                            u16::from_be_bytes([data[2], data[3]]),
                            u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
                            u32::from_be_bytes([data[8], data[9], data[10], data[11]])
                        );
                    }
                    if data.len() >= 12 {
                        let seq = u16::from_be_bytes([data[2], data[3]]);
                        if let Some(last) = sock.last_seq
                            && seq.wrapping_sub(last).wrapping_sub(1) >= 0x8000
                        {
                            sock.seq_not_advancing += 1;
                        }
                        sock.last_seq = Some(seq);
                        let ssrc = u32::from_be_bytes([data[8], data[9], data[10], data[11]]);
                        if sock.ssrcs.len() < 4 && !sock.ssrcs.contains(&ssrc) {
                            sock.ssrcs.push(ssrc);
                        }
                    }
                    let (Some(source), true) = (sock.source, data.len() >= 12) else {
                        continue;
                    };
                    let seq = u16::from_be_bytes([data[2], data[3]]);
                    let ssrc = u32::from_be_bytes([data[8], data[9], data[10], data[11]]);
                    let flow = &mut self.flows[source];
                    let offset = *sock
                        .seq_offset
                        .get_or_insert(seq.wrapping_sub(flow.first_seq));
                    let sent_seq = seq.wrapping_sub(offset);
                    let r = usize::from(sent_seq) % RING;
                    // Arrival at our socket by the kernel's stamp; when
                    // there is none, when we read it.
                    let arrived = p
                        .buf
                        .rx_timestamp()
                        .and_then(|t| t.duration_since(wall_start).ok())
                        .map_or(at, |d| d.as_nanos() as u64);
                    if flow.ring_seq[r] == sent_seq && flow.ring_at[r] <= at {
                        if flow.ring_got[r] {
                            report.duplicates += 1;
                        } else {
                            flow.ring_got[r] = true;
                            report.latency.record(Duration::from_nanos(
                                arrived.saturating_sub(flow.ring_at[r]),
                            ));
                        }
                    } else {
                        report.unmatched += 1;
                        if ssrc != flow.ssrc && !self.transcoding {
                            report.foreign_ssrc += 1;
                            if report.foreign_ssrc <= 5 {
                                let actual = by_ssrc.get(&ssrc).copied();
                                eprintln!(
                                    "tandem-bench: socket {s} (expects flow {source}, ssrc {:#x}) got ssrc {ssrc:#x} seq {seq} from {}: flow {actual:?}",
                                    flow.ssrc, p.from
                                );
                            }
                        } else if usize::from(flow.seq.wrapping_sub(sent_seq)) > RING {
                            report.stale += 1;
                        }
                    }
                }
            }
            let now = Instant::now();
            let next = if let Some(end) = send_end {
                if now >= end + drain {
                    report.send_wall = end - start;
                    report.wall = now - start;
                    break;
                }
                end + drain
            } else {
                start + slot_len * slot_no as u32
            };
            self.io.wait(
                next.saturating_duration_since(now)
                    .min(Duration::from_millis(5)),
            )?;
        }
        report.io = self.io.stats();
        Ok(report)
    }
}
