//! A media worker: one thread, one core, one packet backend, run to
//! completion.
//!
//! ```text
//! loop {
//!     run queued commands (bounded per turn)
//!     recv_burst(32) -> for each packet: flow lookup -> source check -> parse
//!                       -> leg's chain -> queue for send (or drop, counted)
//!     send_burst
//!     every 20 ms: media clock (timeouts, decoded legs)
//!     every 100 ms: publish counters
//!     idle? wait for the backend until the next deadline
//! }
//! ```
//!
//! The packet path allocates nothing and takes no locks: packets are
//! rewritten in place in the backend's buffers and handed back to it; the
//! flow table maps the backend's port id to a slot in a slab of legs with
//! one indexed load (`flows`); the `Vec`s for bursts are reserved once.
//!
//! **Relay with rewriting.** What a leg sends is one continuous RTP stream
//! whatever happens upstream: the engine's own SSRC, and sequence numbers and
//! timestamps offset so that an SSRC change of the peer (a re-INVITE, a new
//! phone after a transfer, a prompt in between) continues the outgoing
//! numbering instead of jumping. Offsets are re-anchored on the first packet,
//! on an SSRC change, and on a proven stream restart (RFC 3550 A.1: a
//! sequence jump beyond `MAX_DROPOUT` is dropped until the next packet
//! follows it in sequence). Duplicates of recently relayed packets are
//! dropped.
//!
//! **Source check.** A leg accepts packets only from its peer's address;
//! with `latch` it learns that address from the first packet (symmetric
//! RTP). Anything else is dropped and counted as `wrong_source`, so a flood
//! from an unknown source never reaches a leg's chain.

mod flows;
mod media;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tandem_packet_io::{IdMap, PacketBuf, PacketIo, PortId, RxPacket, TxPacket};
use tandem_wire::Ssrc;
use tandem_wire::rtcp::is_rtcp;
use tandem_wire::rtp::RtpPacket;

use crate::codec::{Codec, MAX_PAYLOAD_BYTES, Transcoder};
use crate::command::{
    Command, CommandError, ConferenceId, Event, LegConfig, LegId, LegReport, MediaFormat,
    RequestId, SessionId,
};
use crate::metrics::{Counter, DropReason, Gauge, LocalCounters, PUBLISH_INTERVAL, WorkerShared};
use crate::mixer::{Conference, ConferenceConfig, MemberId};
use crate::prompt::PromptPlayer;
use crate::quality::{EModelCodec, NtpTime, RtcpConfig, RtcpSession};

/// Packets taken from the backend per turn (DPDK's and VPP's customary burst).
pub const BURST: usize = 32;

/// Commands run per turn, so that a storm of commands cannot starve media.
const COMMANDS_PER_TURN: usize = 64;

/// The media clock's period.
pub const TICK: Duration = Duration::from_millis(20);

/// RFC 3550 A.1: larger forward jumps are suspect.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: larger backward jumps are suspect.
const MAX_MISORDER: u16 = 100;

/// Events a worker holds when the event queue is full, before it starts
/// counting them as lost.
const EVENT_BACKLOG: usize = 65_536;

/// A command as queued: its id and body.
pub type QueuedCommand = (RequestId, Command);

/// Where a packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Queued for sending.
    Forward,
    /// Dropped, for this reason.
    Drop(DropReason),
    /// Consumed by the engine (RTCP, telephone events) without output.
    Consumed,
}

/// Outgoing RTP numbering of a leg (what its peer sees from us).
#[derive(Debug, Clone, Copy)]
struct TxRewrite {
    ssrc: u32,
    /// Added to the upstream sequence number.
    seq_delta: u16,
    /// Added to the upstream timestamp.
    ts_delta: u32,
    /// The upstream SSRC the deltas are anchored to (`None`: not anchored).
    anchored_to: Option<u32>,
    last_out_seq: u16,
    last_out_ts: u32,
    last_sent: Option<Instant>,
}

/// One direction of a transcoded bridge.
struct XcodeState {
    transcoder: Transcoder,
    in_codec: Codec,
    in_pt: u8,
    /// The input timestamp the next packet should carry if none is lost.
    expected_in_ts: Option<u32>,
    in_clock: u32,
    out_clock: u32,
    /// Output timestamp of the next packet.
    next_out_ts: u32,
    /// Output ticks per outgoing packet.
    out_ticks: u32,
}

/// Reception state of a leg (what we see from its peer).
#[derive(Debug, Clone, Copy, Default)]
struct RxTrack {
    ssrc: Option<u32>,
    max_seq: u16,
    /// A suspect jump's successor: if the next packet has this number, the
    /// stream restarted.
    bad_seq: Option<u16>,
    /// Sequence numbers seen at and below `max_seq` (bit i = max_seq - i).
    recent: u64,
}

/// One leg. Every leg, busy or idle, holds one of these in the worker's
/// `legs`, so it keeps only what the packet path and the media clock use
/// (664 bytes, 392 of them RTCP); what a leg rarely needs (transcoding,
/// decoded media, a digit being sent) is boxed.
struct Leg {
    id: LegId,
    session: SessionId,
    port: PortId,
    /// Encoding of the leg's RTP ([`LegConfig::format`]).
    format: MediaFormat,
    /// Learn the remote address from the first packet ([`LegConfig::latch`]).
    latch: bool,
    /// [`LegConfig::rtp_timeout_secs`] (0: never).
    rtp_timeout_secs: u32,
    remote: Option<SocketAddr>,
    /// The bridged leg's slot.
    peer: Option<u32>,
    rx: RxTrack,
    tx: TxRewrite,
    /// Decoder → resampler → encoder toward the bridge peer, when the two
    /// legs' codecs differ.
    xcode: Option<Box<XcodeState>>,
    /// Present while the leg's audio is decoded (see [`media`]).
    media: Option<Box<media::DecodedMedia>>,
    counts: LegCounts,
    /// RTCP termination: our SR/RR, the peer's reports (RFC 3550 §6).
    rtcp: RtcpSession,
    /// The leg's RTCP port (RTP port + 1), when it could be opened.
    rtcp_port: Option<PortId>,
    /// Where the peer's RTCP comes from (learned), or goes to by default.
    rtcp_remote: Option<SocketAddr>,
    /// The peer multiplexes RTCP on the RTP port (RFC 5761).
    rtcp_muxed: bool,
    /// A digit being sent as RFC 4733 events (`SendDtmf`).
    dtmf_send: Option<Box<DtmfSend>>,
    /// When the last RTP packet was accepted; the leg's creation before the
    /// first (the RTP timeout counts from either).
    last_rx: Instant,
    /// An RTP packet was accepted (a latching leg has learnt its remote).
    received: bool,
    /// [`Event::RtpTimeout`] was raised and no packet came since.
    timed_out: bool,
}

impl Leg {
    /// The bridged leg's slot.
    fn peer(&self) -> Option<usize> {
        self.peer.map(|p| p as usize)
    }
}

/// A leg's packet counts (the counting part of its [`LegReport`]; the
/// RTCP-derived figures are computed when a report is asked for).
#[derive(Debug, Clone, Copy, Default)]
struct LegCounts {
    packets_in: u64,
    bytes_in: u64,
    packets_out: u64,
    bytes_out: u64,
    dropped: u64,
    remote_ssrc: u32,
}

/// Where a port's packets go: a leg's slot, with the top bit set for the
/// leg's RTCP port (one word per port in the flow table instead of a
/// padded `(usize, bool)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PortRoute(u32);

impl PortRoute {
    const RTCP: u32 = 1 << 31;

    fn new(slot: u32, rtcp: bool) -> Self {
        // A slot needs a leg of some 700 bytes: 2³¹ of them cannot exist.
        debug_assert!(slot < Self::RTCP);
        Self(if rtcp { slot | Self::RTCP } else { slot })
    }

    fn slot(self) -> usize {
        (self.0 & !Self::RTCP) as usize
    }

    fn is_rtcp(self) -> bool {
        self.0 & Self::RTCP != 0
    }
}

/// One media worker. Create it with [`Worker::new`] inside the thread that
/// will run it, then call [`Worker::run`] (or drive it turn by turn with
/// [`Worker::turn`] in tests).
pub struct Worker<P: PacketIo> {
    index: usize,
    io: P,
    commands: Receiver<QueuedCommand>,
    events: Sender<Event>,
    backlog: VecDeque<Event>,
    legs: Vec<Option<Leg>>,
    /// Free slots in `legs`, the last freed first.
    free: Vec<u32>,
    /// Leg → its slot.
    by_id: IdMap<LegId, u32>,
    /// Port → leg slot, and whether it is the leg's RTCP port.
    by_port: flows::FlowTable,
    rx: Vec<RxPacket<P::Buf>>,
    tx: Vec<TxPacket<P::Buf>>,
    /// Kernel arrival times of the packets in `tx`, for the latency
    /// histogram once they are sent.
    tx_arrivals: Vec<std::time::SystemTime>,
    counters: LocalCounters,
    shared: Arc<WorkerShared>,
    next_tick: Option<Instant>,
    next_publish: Option<Instant>,
    ssrc_seed: u64,
    /// Scratch space for one encoded payload.
    scratch: Box<[u8]>,
    /// Conferences of this worker's sessions.
    conferences: HashMap<ConferenceId, Room>,
    /// Events produced while a borrow prevents emitting them.
    pending_events: Vec<Event>,
    /// The time of the current turn.
    now: Instant,
    /// Member ids for conferences.
    next_member: u32,
    /// Wall clock for RTCP's NTP timestamps.
    clock: WallClock,
    /// A packet-handling time and its microseconds on `clock`, converted
    /// once for all the packets of a turn (RTCP's arrival times).
    arrival: (Instant, u64),
    /// Legs whose decoding needs re-evaluating once the tick is over.
    refresh_after_tick: Vec<usize>,
    /// Reused by the media clock: decoded legs of this tick.
    tick_slots: Vec<usize>,
    /// Reused by the media clock: conferences of this tick.
    tick_rooms: Vec<ConferenceId>,
    /// The doorbell port: a datagram here only wakes the worker.
    doorbell: Option<PortId>,
    /// Transcoded bridges go through the decoded path (jitter buffer).
    transcode_jitter_buffer: bool,
}

/// A conference and the slots of its members.
struct Room {
    conference: Conference,
    members: Vec<usize>,
}

impl<P: PacketIo> Worker<P> {
    /// A worker on backend `io`, reading `commands` and reporting to
    /// `events`, publishing counters to `shared`.
    pub fn new(
        index: usize,
        io: P,
        commands: Receiver<QueuedCommand>,
        events: Sender<Event>,
        shared: Arc<WorkerShared>,
    ) -> Self {
        let clock = WallClock::new();
        let arrival = (clock.base, 0);
        Self {
            index,
            io,
            commands,
            events,
            backlog: VecDeque::new(),
            legs: Vec::new(),
            free: Vec::new(),
            by_id: IdMap::default(),
            by_port: flows::FlowTable::new(),
            rx: Vec::with_capacity(BURST),
            tx: Vec::with_capacity(BURST * 2),
            tx_arrivals: Vec::with_capacity(BURST * 2),
            counters: LocalCounters::default(),
            shared,
            next_tick: None,
            next_publish: None,
            // Distinct per worker; mixed per leg below. SSRCs need only be
            // unlikely to collide (RFC 3550 §8.1), not unpredictable.
            scratch: vec![0u8; MAX_PAYLOAD_BYTES].into_boxed_slice(),
            conferences: HashMap::new(),
            pending_events: Vec::new(),
            now: Instant::now(),
            next_member: 1,
            clock,
            arrival,
            refresh_after_tick: Vec::new(),
            tick_slots: Vec::new(),
            tick_rooms: Vec::new(),
            doorbell: None,
            transcode_jitter_buffer: false,
            ssrc_seed: 0x9E37_79B9_7F4A_7C15 ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
        }
    }

    /// Opens a doorbell: a loopback UDP port on which any datagram wakes the
    /// worker from [`PacketIo::wait`], so that a command queued while it
    /// sleeps runs at once instead of at the next timeout. Only for
    /// backends on kernel sockets (io_uring, sockets); a polling backend
    /// never sleeps and needs none. Returns the address to ring.
    pub fn open_doorbell(&mut self) -> Option<SocketAddr> {
        if !matches!(self.io.name(), "io_uring" | "socket") {
            return None;
        }
        let port = self.io.open(SocketAddr::from(([127, 0, 0, 1], 0))).ok()?;
        let addr = self.io.local_addr(port).ok()?;
        self.doorbell = Some(port);
        Some(addr)
    }

    /// Transcode bridges through the adaptive jitter buffer and loss
    /// concealment (decoded path) instead of packet by packet. Applies to
    /// bridges made or changed from now on.
    pub fn set_transcode_jitter_buffer(&mut self, on: bool) {
        self.transcode_jitter_buffer = on;
    }

    /// The worker's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The worker's counters (tests read them directly).
    pub fn counters(&self) -> &LocalCounters {
        &self.counters
    }

    /// The backend (tests inspect its statistics).
    pub fn io(&self) -> &P {
        &self.io
    }

    /// The backend, to send through it beside the worker (benchmarks
    /// prime a closed loop this way). Ports opened here are not the
    /// worker's: what arrives on them is dropped as for an unknown port.
    pub fn io_mut(&mut self) -> &mut P {
        &mut self.io
    }

    /// Runs until the command queue is closed (the engine dropped its
    /// sender) and every queued command has run.
    pub fn run(mut self) {
        loop {
            let now = Instant::now();
            let busy = self.turn(now);
            if !busy.alive {
                self.publish(now);
                return;
            }
            if busy.did_work || busy.ticked {
                let spent = Instant::now().saturating_duration_since(now);
                self.counters
                    .add(Counter::BusyNanos, spent.as_nanos() as u64);
            }
            if !busy.did_work {
                let deadline = self.next_deadline().unwrap_or(now + TICK);
                let wait = deadline.saturating_duration_since(Instant::now()).min(TICK);
                // Packets wake us at once; so does a command, through the
                // doorbell (without one, it waits for the next wake-up).
                let _ = self.io.wait(wait.min(Duration::from_millis(5)));
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.next_tick, self.next_publish) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One turn of the loop at time `now`.
    pub fn turn(&mut self, now: Instant) -> TurnResult {
        self.now = now;
        let mut did_work = false;
        let mut alive = true;
        for _ in 0..COMMANDS_PER_TURN {
            match self.commands.try_recv() {
                Ok((request, command)) => {
                    let result = self.execute(now, command);
                    self.counters.add(Counter::Commands, 1);
                    self.emit(Event::Done { request, result });
                    did_work = true;
                }
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    alive = false;
                    break;
                }
            }
        }

        let mut rx = std::mem::take(&mut self.rx);
        match self.io.recv_burst(&mut rx, BURST) {
            Ok(n) if n > 0 => {
                did_work = true;
                for pkt in rx.drain(..) {
                    if Some(pkt.port) == self.doorbell {
                        continue;
                    }
                    self.counters.add(Counter::RxPackets, 1);
                    self.counters
                        .add(Counter::RxBytes, pkt.buf.data().len() as u64);
                    if let Fate::Drop(reason) = self.handle_packet(now, pkt) {
                        self.counters.drop(reason);
                    }
                }
            }
            _ => {}
        }
        self.rx = rx;
        self.flush_tx();

        let ticked = self.next_tick.is_none_or(|t| now >= t);
        if ticked {
            self.tick(now);
            // The next tick is one period after this one was due, not
            // after it ran: a busy worker that notices its ticks a little
            // late must still mix 50 frames a second (the far end plays
            // 160 samples per packet; a drifting clock starves it). More
            // than a period behind, it starts afresh rather than mixing
            // a burst of frames to catch up.
            self.next_tick = Some(match self.next_tick {
                Some(due) if now.saturating_duration_since(due) < TICK => due + TICK,
                _ => now + TICK,
            });
        }
        if self.next_publish.is_none_or(|t| now >= t) {
            self.publish(now);
            self.next_publish = Some(now + PUBLISH_INTERVAL);
        }
        self.drain_backlog();
        TurnResult {
            did_work,
            alive,
            ticked,
        }
    }

    fn flush_tx(&mut self) {
        if self.tx.is_empty() {
            return;
        }
        let mut bytes = 0u64;
        let queued = self.tx.len();
        for p in &self.tx {
            bytes += p.buf.data().len() as u64;
            if let Some(arrived) = p.buf.rx_time() {
                self.tx_arrivals.push(arrived);
            }
        }
        let result = self.io.send_burst(&mut self.tx);
        // Measured once the burst is sent (the kernel backends have run
        // the send system call), with the system clock read once, and only
        // when some buffer said when its datagram arrived.
        if !self.tx_arrivals.is_empty() {
            let now = std::time::SystemTime::now();
            for arrived in self.tx_arrivals.drain(..) {
                if let Ok(d) = now.duration_since(arrived) {
                    self.counters.observe_latency(d);
                }
            }
        }
        match result {
            Ok(sent) => {
                self.counters.add(Counter::TxPackets, sent as u64);
                self.counters
                    .add(Counter::TxBytes, if sent == queued { bytes } else { 0 });
                for _ in sent..queued {
                    self.counters.drop(DropReason::TxFailed);
                }
            }
            Err(_) => {
                for _ in 0..queued {
                    self.counters.drop(DropReason::TxFailed);
                }
                self.tx.clear();
            }
        }
        let _ = self.io.flush();
    }

    fn publish(&mut self, _now: Instant) {
        self.counters.set(Gauge::Legs, self.by_id.len() as u64);
        self.counters
            .set(Gauge::CommandQueueDepth, self.commands.len() as u64);
        let io = self.io.stats();
        self.counters.set(Gauge::IoSyscalls, io.syscalls);
        self.counters.set(Gauge::IoRxDropped, io.rx_dropped);
        self.counters.set(Gauge::IoTxDropped, io.tx_dropped);
        self.shared.publish(&self.counters);
    }

    /// The media clock: decoded legs, then RTP timeouts.
    fn tick(&mut self, now: Instant) {
        self.media_tick(now);
        self.dtmf_tick(now);
        self.rtcp_tick(now);
        self.flush_tx();
        let mut timeouts = Vec::new();
        for leg in self.legs.iter_mut().flatten() {
            let secs = leg.rtp_timeout_secs;
            if secs == 0 || leg.timed_out {
                continue;
            }
            if now.saturating_duration_since(leg.last_rx) >= Duration::from_secs(u64::from(secs)) {
                leg.timed_out = true;
                timeouts.push(leg.id);
            }
        }
        for leg in timeouts {
            self.emit(Event::RtpTimeout { leg });
        }
    }

    /// Sends the RTCP reports that are due, each written straight into a
    /// backend buffer.
    fn rtcp_tick(&mut self, now: Instant) {
        let ntp = self.clock.ntp(now);
        for leg in self.legs.iter_mut().flatten() {
            if now < leg.rtcp.poll_timeout() {
                continue;
            }
            let (port, to) = if leg.rtcp_muxed {
                (Some(leg.port), leg.rtcp_remote)
            } else {
                let to = leg.rtcp_remote.or_else(|| {
                    leg.remote
                        .and_then(|r| r.port().checked_add(1).map(|p| SocketAddr::new(r.ip(), p)))
                });
                (leg.rtcp_port, to)
            };
            let (Some(port), Some(to)) = (port, to) else {
                // Nowhere to send yet: the report is retried next tick.
                let _ = leg.rtcp.poll_report(now, ntp, &mut []);
                continue;
            };
            let Some(mut buf) = self.io.alloc() else {
                self.counters.drop(DropReason::NoBuffer);
                continue;
            };
            let cap = buf.capacity();
            buf.set_len(cap);
            match leg.rtcp.poll_report(now, ntp, buf.data_mut()) {
                Ok(Some(n)) => {
                    buf.set_len(n);
                    self.tx.push(TxPacket { port, to, buf });
                }
                Ok(None) => {}
                Err(_) => self.counters.drop(DropReason::NoBuffer),
            }
        }
    }

    fn emit(&mut self, event: Event) {
        if !self.backlog.is_empty() {
            self.push_backlog(event);
            return;
        }
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(e)) => self.push_backlog(e),
            Err(TrySendError::Disconnected(_)) => self.counters.add(Counter::EventsDropped, 1),
        }
    }

    fn push_backlog(&mut self, event: Event) {
        if self.backlog.len() < EVENT_BACKLOG {
            self.backlog.push_back(event);
        } else {
            self.counters.add(Counter::EventsDropped, 1);
        }
    }

    fn drain_backlog(&mut self) {
        while let Some(e) = self.backlog.pop_front() {
            match self.events.try_send(e) {
                Ok(()) => {}
                Err(TrySendError::Full(e)) => {
                    self.backlog.push_front(e);
                    return;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.counters
                        .add(Counter::EventsDropped, 1 + self.backlog.len() as u64);
                    self.backlog.clear();
                    return;
                }
            }
        }
    }

    // ---------------------------------------------------------------- packets

    /// Decides one packet's fate and, for `Forward`, queues it.
    pub fn handle_packet(&mut self, now: Instant, pkt: RxPacket<P::Buf>) -> Fate {
        let Some(route) = self.by_port.get(pkt.port) else {
            return Fate::Drop(DropReason::UnknownPort);
        };
        let (slot, rtcp_port) = (route.slot(), route.is_rtcp());
        let Some(leg) = self.legs[slot].as_mut() else {
            return Fate::Drop(DropReason::UnknownPort);
        };
        if rtcp_port {
            // RTCP comes from the peer's host, from whatever port it uses.
            let expected_ip = leg.remote.map(|r| r.ip());
            if expected_ip.is_some_and(|ip| ip != pkt.from.ip()) {
                leg.counts.dropped += 1;
                return Fate::Drop(DropReason::WrongSource);
            }
            leg.rtcp_remote = Some(pkt.from);
            let ntp = self.clock.ntp(now);
            if leg.rtcp.handle_rtcp(now, ntp, pkt.buf.data()).is_err() {
                self.counters.add(Counter::ParseErrors, 1);
                return Fate::Drop(DropReason::Malformed);
            }
            return Fate::Consumed;
        }
        match leg.remote {
            Some(r) if r == pkt.from => {}
            Some(_) if leg.latch && !leg.received => leg.remote = Some(pkt.from),
            None => leg.remote = Some(pkt.from),
            Some(_) => {
                leg.counts.dropped += 1;
                return Fate::Drop(DropReason::WrongSource);
            }
        }
        let mut buf = pkt.buf;
        // RTCP multiplexed on the RTP port (RFC 5761 §4) is terminated
        // here, and our reports go back the same way.
        if is_rtcp(buf.data()) {
            leg.rtcp_muxed = true;
            leg.rtcp_remote = Some(pkt.from);
            let ntp = self.clock.ntp(now);
            if leg.rtcp.handle_rtcp(now, ntp, buf.data()).is_err() {
                self.counters.add(Counter::ParseErrors, 1);
                return Fate::Drop(DropReason::Malformed);
            }
            return Fate::Consumed;
        }
        let (seq, ts, ssrc, pt, marker) = match RtpPacket::new_checked(buf.data()) {
            Ok(p) => (
                p.sequence_number(),
                p.timestamp(),
                p.ssrc().0,
                p.payload_type(),
                p.marker(),
            ),
            Err(_) => {
                self.counters.add(Counter::ParseErrors, 1);
                leg.counts.dropped += 1;
                return Fate::Drop(DropReason::Malformed);
            }
        };
        let format = leg.format;
        if pt != format.payload_type && Some(pt) != format.telephone_event {
            leg.counts.dropped += 1;
            return Fate::Drop(DropReason::UnknownPayloadType);
        }
        leg.last_rx = now;
        leg.received = true;
        leg.timed_out = false;
        let ssrc_change = match leg.rx.ssrc {
            Some(old) if old != ssrc => Some(old),
            _ => None,
        };
        match track(&mut leg.rx, ssrc, seq) {
            Track::Ok => {}
            Track::Duplicate => {
                leg.counts.dropped += 1;
                return Fate::Drop(DropReason::Duplicate);
            }
            Track::Jump => {
                leg.counts.dropped += 1;
                return Fate::Drop(DropReason::SequenceJump);
            }
            Track::Restarted => {
                // Re-anchor the peer's numbering on this packet.
            }
        }
        if pt == format.payload_type {
            if self.arrival.0 != now {
                self.arrival = (now, self.clock.micros(now));
            }
            let payload_len = buf.data().len().saturating_sub(12);
            leg.rtcp
                .handle_rtp_received_at(self.arrival.1, Ssrc(ssrc), seq, ts, payload_len);
        }
        leg.counts.packets_in += 1;
        leg.counts.bytes_in += buf.data().len() as u64;
        leg.counts.remote_ssrc = ssrc;
        let leg_id = leg.id;
        let peer = leg.peer();
        let decoded = leg.media.is_some();
        if let Some(old) = ssrc_change {
            self.emit(Event::SsrcChange {
                leg: leg_id,
                old,
                new: ssrc,
            });
        }
        if decoded {
            self.decoded_packet(slot, &buf, pt, seq, ts, ssrc, marker);
            return Fate::Consumed;
        }
        let Some(peer) = peer else {
            return Fate::Drop(DropReason::NoPeer);
        };
        let Some(out) = self.legs[peer].as_mut() else {
            return Fate::Drop(DropReason::NoPeer);
        };
        let Some(to) = out.remote else {
            return Fate::Drop(DropReason::PeerNoRemote);
        };
        if self.legs[slot].as_ref().is_some_and(|l| l.xcode.is_some()) {
            return self.transcode(now, slot, peer, to, buf);
        }
        let Some(out) = self.legs[peer].as_mut() else {
            return Fate::Drop(DropReason::NoPeer);
        };
        let out_pt = if pt == format.payload_type {
            if out.format.codec != format.codec {
                return Fate::Drop(DropReason::Unsupported);
            }
            out.format.payload_type
        } else {
            match out.format.telephone_event {
                Some(te) => te,
                None => return Fate::Drop(DropReason::Unsupported),
            }
        };
        let clock = u64::from(format.codec.clock_rate());
        let out_clock = u64::from(out.format.codec.clock_rate());
        // Events keep the input's timing, moved to the output's clock.
        let ts = if out_clock == clock {
            ts
        } else {
            (u64::from(ts) * out_clock / clock) as u32
        };
        let (out_seq, out_ts) = out.tx.rewrite(now, ssrc, seq, ts, out_clock);
        let Ok(mut view) = RtpPacket::new_checked(buf.data_mut()) else {
            return Fate::Drop(DropReason::Malformed);
        };
        view.set_ssrc(Ssrc(out.tx.ssrc));
        view.set_sequence_number(out_seq);
        view.set_timestamp(out_ts);
        view.set_payload_type(out_pt);
        out.counts.packets_out += 1;
        out.counts.bytes_out += buf.data().len() as u64;
        out.rtcp
            .handle_rtp_sent(now, out_ts, buf.data().len().saturating_sub(12));
        let port = out.port;
        self.tx.push(TxPacket { port, to, buf });
        if self.tx.len() >= BURST {
            self.flush_tx();
        }
        Fate::Forward
    }

    /// Sends what leg `slot` received, transcoded into its peer's codec.
    /// The first outgoing packet reuses the received buffer; further ones
    /// (when the peer's ptime is shorter) come from the backend's pool.
    /// Telephone events pass through with their payload untouched, numbered
    /// in the transcoded stream.
    fn transcode(
        &mut self,
        now: Instant,
        slot: usize,
        peer: usize,
        to: SocketAddr,
        buf: P::Buf,
    ) -> Fate {
        let Some(mut x) = self.legs[slot].as_mut().and_then(|l| l.xcode.take()) else {
            return Fate::Drop(DropReason::Unsupported);
        };
        let fate = self.transcode_with(now, &mut x, peer, to, buf);
        if let Some(l) = self.legs[slot].as_mut() {
            l.xcode = Some(x);
        }
        fate
    }

    fn transcode_with(
        &mut self,
        now: Instant,
        x: &mut XcodeState,
        peer: usize,
        to: SocketAddr,
        buf: P::Buf,
    ) -> Fate {
        let Ok(view) = RtpPacket::new_checked(buf.data()) else {
            return Fate::Drop(DropReason::Malformed);
        };
        let (pt, ts) = (view.payload_type(), view.timestamp());
        let payload = view.payload();
        let scale = |t: u32| (u64::from(t) * u64::from(x.out_clock) / u64::from(x.in_clock)) as u32;
        if pt != x.in_pt {
            // A telephone event: keep its payload, give it our numbering
            // and the output timestamp of the audio it belongs to.
            let Some(out) = self.legs[peer].as_mut() else {
                return Fate::Drop(DropReason::NoPeer);
            };
            let Some(te) = out.format.telephone_event else {
                return Fate::Drop(DropReason::Unsupported);
            };
            let behind = x.expected_in_ts.map_or(0, |e| e.wrapping_sub(ts));
            let out_ts = x
                .next_out_ts
                .wrapping_sub(scale(behind.min(x.in_clock * 10)));
            let n = payload.len();
            let marker = buf.data()[1] & 0x80;
            self.scratch[..n].copy_from_slice(payload);
            return self.emit_rtp(now, peer, to, buf, marker | te, out_ts, n);
        }
        let in_ticks = match x.in_codec.payload_ticks(payload) {
            Ok(t) => t,
            Err(_) => return Fate::Drop(DropReason::Malformed),
        };
        // Lost or skipped input moves the output clock on by as much, so
        // that the far end's playout stays in step with the talker.
        if let Some(expected) = x.expected_in_ts {
            let gap = ts.wrapping_sub(expected);
            if gap != 0 && gap < x.in_clock * 10 {
                x.next_out_ts = x.next_out_ts.wrapping_add(scale(gap));
            }
        }
        x.expected_in_ts = Some(ts.wrapping_add(in_ticks));
        if x.transcoder.push_payload(payload).is_err() {
            return Fate::Drop(DropReason::Malformed);
        }
        let mut first = Some(buf);
        let mut fate = Fate::Consumed;
        loop {
            let n = match x.transcoder.poll_payload(&mut self.scratch) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(_) => return Fate::Drop(DropReason::Malformed),
            };
            let Some(pkt) = first.take().or_else(|| self.io.alloc()) else {
                self.counters.drop(DropReason::NoBuffer);
                continue;
            };
            let Some(out) = self.legs[peer].as_ref() else {
                return Fate::Drop(DropReason::NoPeer);
            };
            let pt = out.format.payload_type & 0x7f;
            let out_ts = x.next_out_ts;
            x.next_out_ts = x.next_out_ts.wrapping_add(x.out_ticks);
            fate = self.emit_rtp(now, peer, to, pkt, pt, out_ts, n);
        }
        fate
    }

    /// Sends the first `n` scratch bytes as a packet the engine originates
    /// on leg `slot`, in a fresh backend buffer. There is no received packet
    /// whose fate this is, so a failure is counted here.
    #[allow(clippy::too_many_arguments)]
    fn send_originated(
        &mut self,
        now: Instant,
        slot: usize,
        to: SocketAddr,
        marker: bool,
        pt: u8,
        ts: u32,
        n: usize,
    ) {
        let Some(pkt) = self.io.alloc() else {
            self.counters.drop(DropReason::NoBuffer);
            return;
        };
        let marker_pt = if marker { 0x80 | pt } else { pt };
        if let Fate::Drop(r) = self.emit_rtp(now, slot, to, pkt, marker_pt, ts, n) {
            self.counters.drop(r);
        }
    }

    /// Writes a fresh RTP header (our SSRC, next sequence number) and the
    /// first `n` scratch bytes into `pkt` and queues it on leg `peer`.
    #[allow(clippy::too_many_arguments)]
    fn emit_rtp(
        &mut self,
        now: Instant,
        peer: usize,
        to: SocketAddr,
        mut pkt: P::Buf,
        marker_pt: u8,
        ts: u32,
        n: usize,
    ) -> Fate {
        if pkt.capacity() < 12 + n {
            return Fate::Drop(DropReason::NoBuffer);
        }
        let Some(out) = self.legs[peer].as_mut() else {
            return Fate::Drop(DropReason::NoPeer);
        };
        let seq = out.tx.last_out_seq.wrapping_add(1);
        out.tx.last_out_seq = seq;
        // Events carry their start time, not the audio clock: only audio
        // moves the clock the relay path re-anchors on.
        if Some(marker_pt & 0x7f) != out.format.telephone_event {
            out.tx.last_out_ts = ts;
            out.tx.last_sent = Some(now);
        }
        // The relay path must re-anchor if it takes over again.
        out.tx.anchored_to = None;
        pkt.set_len(12 + n);
        let d = pkt.data_mut();
        d[0] = 0x80;
        d[1] = marker_pt;
        d[2..4].copy_from_slice(&seq.to_be_bytes());
        d[4..8].copy_from_slice(&ts.to_be_bytes());
        d[8..12].copy_from_slice(&out.tx.ssrc.to_be_bytes());
        d[12..12 + n].copy_from_slice(&self.scratch[..n]);
        out.counts.packets_out += 1;
        out.counts.bytes_out += (12 + n) as u64;
        out.rtcp.handle_rtp_sent(now, ts, n);
        let port = out.port;
        self.tx.push(TxPacket { port, to, buf: pkt });
        if self.tx.len() >= BURST {
            self.flush_tx();
        }
        Fate::Forward
    }

    /// Sets up (or clears) the transcoders of a bridged pair.
    fn setup_transcoding(&mut self, a: usize, b: usize) -> Result<(), CommandError> {
        for (from, to) in [(a, b), (b, a)] {
            let (fa, fb) = (self.leg_at(from).format, self.leg_at(to).format);
            let x = if fa.codec == fb.codec {
                None
            } else {
                let t = Transcoder::new(fa.codec, fb.codec, u32::from(fb.ptime_ms))
                    .map_err(|e| CommandError::Invalid(format!("cannot transcode: {e}")))?;
                let tx = self.leg_at(to).tx;
                Some(Box::new(XcodeState {
                    transcoder: t,
                    in_codec: fa.codec,
                    in_pt: fa.payload_type,
                    expected_in_ts: None,
                    in_clock: fa.codec.clock_rate(),
                    out_clock: fb.codec.clock_rate(),
                    next_out_ts: tx.last_out_ts.wrapping_add(1),
                    out_ticks: fb.codec.ticks_for_ms(u32::from(fb.ptime_ms)),
                }))
            };
            self.leg_at_mut(from).xcode = x;
        }
        Ok(())
    }

    // --------------------------------------------------------------- commands

    fn execute(&mut self, now: Instant, command: Command) -> Result<(), CommandError> {
        match command {
            Command::CreateLeg {
                leg,
                session,
                config,
            } => self.create_leg(now, leg, session, config),
            Command::ModifyLeg {
                leg,
                remote,
                format,
            } => {
                let l = self.leg_mut(leg)?;
                if let Some(r) = remote {
                    l.remote = Some(r);
                }
                if let Some(f) = format {
                    l.format = f;
                }
                let slot = self.slot(leg)?;
                if let Some(peer) = self.leg_at(slot).peer() {
                    self.setup_transcoding(slot, peer)?;
                }
                // A new codec needs a new decoder.
                if format.is_some() {
                    self.leg_at_mut(slot).media = None;
                }
                self.refresh_decoding(slot);
                Ok(())
            }
            Command::DestroyLeg { leg } => self.destroy_leg(leg),
            Command::Kick { leg } => {
                let _ = self.leave_conference(leg);
                self.destroy_leg(leg)
            }
            Command::Bridge { a, b } => {
                let sa = self.slot(a)?;
                let sb = self.slot(b)?;
                if sa == sb {
                    return Err(CommandError::Invalid(
                        "cannot bridge a leg to itself".into(),
                    ));
                }
                let (session_a, session_b) = (self.leg_at(sa).session, self.leg_at(sb).session);
                if session_a != session_b {
                    return Err(CommandError::CrossSession);
                }
                self.unbridge_slot(sa);
                self.unbridge_slot(sb);
                self.setup_transcoding(sa, sb)?;
                self.leg_at_mut(sa).peer = Some(sb as u32);
                self.leg_at_mut(sb).peer = Some(sa as u32);
                self.refresh_decoding(sa);
                Ok(())
            }
            Command::Unbridge { leg } => {
                let s = self.slot(leg)?;
                self.unbridge_slot(s);
                Ok(())
            }
            Command::QueryLeg { leg } => {
                let report = self.leg_mut(leg)?.full_report();
                self.emit(Event::Stats { leg, report });
                Ok(())
            }
            Command::JoinConference { leg, conference } => self.join_conference(leg, conference),
            Command::LeaveConference { leg } => self.leave_conference(leg),
            Command::SetMute { leg, muted } => self.with_member(leg, |c, m| c.set_mute(m, muted)),
            Command::SetDeaf { leg, deaf } => self.with_member(leg, |c, m| c.set_deaf(m, deaf)),
            Command::SetWhisper { leg, to } => {
                let to = match to {
                    Some(to) => {
                        let (conference, member) = self.member_of(leg)?;
                        let (other, target) = self.member_of(to)?;
                        if other != conference {
                            return Err(CommandError::Invalid(format!(
                                "leg {} cannot whisper to leg {}: they are in different conferences",
                                leg.0, to.0
                            )));
                        }
                        if target == member {
                            return Err(CommandError::Invalid(format!(
                                "leg {} cannot whisper to itself",
                                leg.0
                            )));
                        }
                        Some(target)
                    }
                    None => None,
                };
                self.with_member(leg, |c, m| c.set_whisper(m, to))
            }
            Command::SetGain { leg, gain_db } => {
                self.with_member(leg, |c, m| c.set_gain(m, gain_db))
            }
            Command::PlayPrompt { leg, request } => {
                let slot = self.slot(leg)?;
                let m = self.ensure_media(slot)?;
                if request.prompt.rate() != m.rate {
                    return Err(CommandError::Invalid(format!(
                        "prompt {} is at {} Hz, the leg at {} Hz: load it at the leg's rate",
                        request.prompt.path().display(),
                        request.prompt.rate().hz(),
                        m.rate.hz()
                    )));
                }
                m.prompt = Some(PromptPlayer::new(request));
                self.refresh_decoding(slot);
                Ok(())
            }
            Command::StopPrompt { leg } => {
                let slot = self.slot(leg)?;
                let had = self
                    .leg_at_mut(slot)
                    .media
                    .as_mut()
                    .and_then(|m| m.prompt.take());
                if had.is_some() {
                    self.emit(Event::PromptDone {
                        leg,
                        barged_in: false,
                    });
                    self.refresh_decoding(slot);
                }
                Ok(())
            }
            Command::StartRecording { leg, recorder } => {
                let slot = self.slot(leg)?;
                let m = self.ensure_media(slot)?;
                if let Some(old) = m.recorder.replace(recorder) {
                    self.emit(Event::RecordingStopped {
                        leg,
                        join: old.close(),
                    });
                }
                self.refresh_decoding(slot);
                Ok(())
            }
            Command::StopRecording { leg } => {
                let slot = self.slot(leg)?;
                self.stop_recording(slot);
                self.refresh_decoding(slot);
                Ok(())
            }
            Command::SendDtmf {
                leg,
                digit,
                duration_ms,
            } => self.send_dtmf(leg, digit, duration_ms),
        }
    }

    fn create_leg(
        &mut self,
        now: Instant,
        id: LegId,
        session: SessionId,
        config: LegConfig,
    ) -> Result<(), CommandError> {
        if self.by_id.contains_key(&id) {
            return Err(CommandError::LegExists(id));
        }
        let port = self
            .io
            .open(config.local)
            .map_err(|e| CommandError::Bind(e.to_string()))?;
        // RTCP on the next port up (RFC 3550 §11); a peer that cannot
        // reach it may still multiplex RTCP on the RTP port.
        let rtcp_port = config
            .local
            .port()
            .checked_add(1)
            .filter(|_| config.local.port() != 0)
            .and_then(|p| self.io.open(SocketAddr::new(config.local.ip(), p)).ok());
        self.ssrc_seed = splitmix(self.ssrc_seed ^ id.0);
        let rtcp = RtcpSession::new(
            now,
            RtcpConfig::new(
                Ssrc(self.ssrc_seed as u32),
                config.format.codec.clock_rate(),
                b"tandem",
                self.ssrc_seed,
            ),
        );
        let leg = Leg {
            id,
            session,
            port,
            format: config.format,
            latch: config.latch,
            rtp_timeout_secs: config.rtp_timeout_secs,
            remote: config.remote,
            peer: None,
            rx: RxTrack::default(),
            xcode: None,
            media: None,
            tx: TxRewrite {
                ssrc: self.ssrc_seed as u32,
                seq_delta: 0,
                ts_delta: 0,
                anchored_to: None,
                last_out_seq: (self.ssrc_seed >> 32) as u16,
                last_out_ts: (self.ssrc_seed >> 16) as u32,
                last_sent: None,
            },
            counts: LegCounts::default(),
            rtcp,
            rtcp_port,
            rtcp_remote: None,
            rtcp_muxed: false,
            dtmf_send: None,
            last_rx: now,
            received: false,
            timed_out: false,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.legs[s as usize] = Some(leg);
                s
            }
            None => {
                self.legs.push(Some(leg));
                // Below 2³¹ (see `PortRoute`): each leg holds a descriptor.
                (self.legs.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        self.by_port.insert(port, PortRoute::new(slot, false));
        if let Some(p) = rtcp_port {
            self.by_port.insert(p, PortRoute::new(slot, true));
        }
        // Alone until bridged: decoded, so its digits are heard.
        self.refresh_decoding(slot as usize);
        Ok(())
    }

    fn destroy_leg(&mut self, id: LegId) -> Result<(), CommandError> {
        let slot = self.slot(id)?;
        let _ = self.leave_conference(id);
        self.stop_recording(slot);
        self.unbridge_slot(slot);
        let leg = self.legs[slot].take().expect("slot of a known leg");
        self.by_id.remove(&id);
        self.by_port.remove(leg.port);
        let _ = self.io.close(leg.port);
        if let Some(p) = leg.rtcp_port {
            self.by_port.remove(p);
            let _ = self.io.close(p);
        }
        self.free.push(slot as u32);
        let report = leg.full_report();
        self.emit(Event::Stats { leg: id, report });
        Ok(())
    }

    fn unbridge_slot(&mut self, slot: usize) {
        let leg = self.leg_at_mut(slot);
        leg.xcode = None;
        if let Some(peer) = leg.peer.take().map(|p| p as usize)
            && let Some(p) = self.legs[peer].as_mut()
        {
            p.peer = None;
            p.xcode = None;
            self.refresh_decoding(peer);
        }
        self.refresh_decoding(slot);
    }

    fn send_dtmf(&mut self, id: LegId, digit: char, duration_ms: u32) -> Result<(), CommandError> {
        let event = tandem_wire::telephone_event::digit_to_event(digit)
            .ok_or_else(|| CommandError::Invalid(format!("{digit:?} is not a DTMF digit")))?;
        let duration_ms = duration_ms.clamp(40, 10_000);
        let slot = self.slot(id)?;
        let now = self.now;
        let leg = self.leg_at_mut(slot);
        if leg.format.telephone_event.is_some() {
            let clock = leg.format.codec.clock_rate();
            // Starts "now" on the leg's audio clock.
            let start_ts = leg
                .tx
                .last_out_ts
                .wrapping_add(leg.tx.ticks_since_sent(now, u64::from(clock)));
            leg.dtmf_send = Some(Box::new(DtmfSend {
                event,
                start_ts,
                total: (u64::from(duration_ms) * u64::from(clock) / 1000).min(0xFFFF) as u32,
                elapsed: 0,
                step: clock / 50,
                ends_left: 3,
                started: false,
            }));
            return Ok(());
        }
        // No telephone-event on this leg: play the tone in-band.
        let m = self.ensure_media(slot)?;
        m.play_tone(digit, duration_ms)
            .map_err(|e| CommandError::Invalid(format!("tone: {e}")))?;
        self.refresh_decoding(slot);
        Ok(())
    }

    /// Sends the next packet of each digit being sent as telephone events.
    fn dtmf_tick(&mut self, now: Instant) {
        for slot in 0..self.legs.len() {
            let Some(leg) = self.legs[slot].as_mut() else {
                continue;
            };
            let (Some(sending), Some(te), Some(to)) = (
                leg.dtmf_send.as_deref_mut(),
                leg.format.telephone_event,
                leg.remote,
            ) else {
                continue;
            };
            sending.elapsed = (sending.elapsed + sending.step).min(sending.total);
            let end = sending.elapsed >= sending.total;
            let marker = !sending.started;
            sending.started = true;
            let repeats = if end { sending.ends_left } else { 1 };
            if end {
                sending.ends_left = 0;
            }
            let d = *sending;
            if end {
                leg.dtmf_send = None;
            }
            let volume = 10u8; // −10 dBm0
            let payload = [
                d.event,
                if end { 0x80 | volume } else { volume },
                (d.elapsed >> 8) as u8,
                d.elapsed as u8,
            ];
            for i in 0..repeats {
                self.scratch[..4].copy_from_slice(&payload);
                self.send_originated(now, slot, to, marker && i == 0, te, d.start_ts, 4);
            }
        }
    }

    /// The leg's decoded state, created if needed.
    fn ensure_media(&mut self, slot: usize) -> Result<&mut media::DecodedMedia, CommandError> {
        let leg = self.leg_at_mut(slot);
        if leg.media.is_none() {
            leg.media = media::DecodedMedia::new(leg);
        }
        leg.media
            .as_deref_mut()
            .ok_or(CommandError::Unsupported("decoding this leg's codec"))
    }

    fn stop_recording(&mut self, slot: usize) {
        let leg = self.leg_at_mut(slot);
        let id = leg.id;
        if let Some(rec) = leg.media.as_mut().and_then(|m| m.recorder.take()) {
            self.emit(Event::RecordingStopped {
                leg: id,
                join: rec.close(),
            });
        }
    }

    fn join_conference(
        &mut self,
        leg: LegId,
        conference: ConferenceId,
    ) -> Result<(), CommandError> {
        let slot = self.slot(leg)?;
        if self
            .leg_at(slot)
            .media
            .as_ref()
            .is_some_and(|m| m.conference.is_some())
        {
            self.leave_conference(leg)?;
        }
        self.unbridge_slot(slot);
        let member = MemberId(self.next_member);
        self.next_member = self.next_member.wrapping_add(1);
        let rate = self.ensure_media(slot)?.rate;
        let room = self.conferences.entry(conference).or_insert_with(|| Room {
            conference: Conference::new(ConferenceConfig::default()),
            members: Vec::new(),
        });
        room.conference
            .add_member(member, rate)
            .map_err(|e| CommandError::Invalid(format!("conference: {e}")))?;
        room.members.push(slot);
        if let Some(m) = self.leg_at_mut(slot).media.as_mut() {
            m.conference = Some((conference, member));
        }
        self.refresh_decoding(slot);
        Ok(())
    }

    fn leave_conference(&mut self, leg: LegId) -> Result<(), CommandError> {
        let slot = self.slot(leg)?;
        let Some((id, member)) = self
            .leg_at_mut(slot)
            .media
            .as_mut()
            .and_then(|m| m.conference.take())
        else {
            return Err(CommandError::NotInConference(leg));
        };
        if let Some(room) = self.conferences.get_mut(&id) {
            let _ = room.conference.remove(member);
            room.members.retain(|&s| s != slot);
            if room.members.is_empty() {
                self.conferences.remove(&id);
            }
        }
        self.refresh_decoding(slot);
        Ok(())
    }

    /// The conference a leg is in, and its member id there.
    fn member_of(&self, leg: LegId) -> Result<(ConferenceId, MemberId), CommandError> {
        let slot = self.slot(leg)?;
        self.leg_at(slot)
            .media
            .as_ref()
            .and_then(|m| m.conference)
            .ok_or(CommandError::NotInConference(leg))
    }

    fn with_member(
        &mut self,
        leg: LegId,
        f: impl FnOnce(&mut Conference, MemberId) -> Result<(), crate::mixer::MixerError>,
    ) -> Result<(), CommandError> {
        let (id, member) = self.member_of(leg)?;
        let room = self
            .conferences
            .get_mut(&id)
            .ok_or(CommandError::NotInConference(leg))?;
        f(&mut room.conference, member)
            .map_err(|e| CommandError::Invalid(format!("conference: {e}")))
    }

    fn slot(&self, id: LegId) -> Result<usize, CommandError> {
        self.by_id
            .get(&id)
            .map(|&s| s as usize)
            .ok_or(CommandError::UnknownLeg(id))
    }

    fn leg_at(&self, slot: usize) -> &Leg {
        self.legs[slot].as_ref().expect("slot of a known leg")
    }

    fn leg_at_mut(&mut self, slot: usize) -> &mut Leg {
        self.legs[slot].as_mut().expect("slot of a known leg")
    }

    fn leg_mut(&mut self, id: LegId) -> Result<&mut Leg, CommandError> {
        let s = self.slot(id)?;
        Ok(self.leg_at_mut(s))
    }

    /// The local address of a leg's port (tests and the ng layer use it).
    pub fn local_addr(&self, id: LegId) -> Option<SocketAddr> {
        let slot = *self.by_id.get(&id)? as usize;
        self.io.local_addr(self.leg_at(slot).port).ok()
    }
}

/// What a turn did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnResult {
    /// Something was received or a command ran.
    pub did_work: bool,
    /// `false` once the command queue is closed and drained.
    pub alive: bool,
    /// The 20 ms tick ran (mixing, prompts, timers).
    pub ticked: bool,
}

enum Track {
    Ok,
    Duplicate,
    Jump,
    Restarted,
}

/// RFC 3550 A.1-style sequence tracking for relaying: duplicates and
/// unproven jumps are dropped; a new SSRC or a proven restart re-anchors.
fn track(rx: &mut RxTrack, ssrc: u32, seq: u16) -> Track {
    if rx.ssrc != Some(ssrc) {
        *rx = RxTrack {
            ssrc: Some(ssrc),
            max_seq: seq,
            bad_seq: None,
            recent: 1,
        };
        return Track::Ok;
    }
    let delta = seq.wrapping_sub(rx.max_seq);
    if delta == 0 {
        return Track::Duplicate;
    }
    if delta < MAX_DROPOUT {
        // In order, possibly with a gap.
        rx.recent = if delta >= 64 { 0 } else { rx.recent << delta };
        rx.recent |= 1;
        rx.max_seq = seq;
        rx.bad_seq = None;
        return Track::Ok;
    }
    let behind = rx.max_seq.wrapping_sub(seq);
    if behind <= MAX_MISORDER {
        // Late or reordered: forward unless already seen.
        if behind < 64 {
            let bit = 1u64 << behind;
            if rx.recent & bit != 0 {
                return Track::Duplicate;
            }
            rx.recent |= bit;
        }
        return Track::Ok;
    }
    // A big jump: believe it only when the next packet follows it.
    if rx.bad_seq == Some(seq) {
        *rx = RxTrack {
            ssrc: Some(ssrc),
            max_seq: seq,
            bad_seq: None,
            recent: 1,
        };
        return Track::Restarted;
    }
    rx.bad_seq = Some(seq.wrapping_add(1));
    Track::Jump
}

impl TxRewrite {
    /// Units of `clock` elapsed since the last packet was sent (0 before
    /// the first): where the outgoing stream's clock stands `now`.
    fn ticks_since_sent(&self, now: Instant, clock: u64) -> u32 {
        let us = self
            .last_sent
            .map_or(0, |t| now.saturating_duration_since(t).as_micros() as u64);
        (us * clock / 1_000_000) as u32
    }

    /// Maps an upstream (ssrc, seq, ts) to the outgoing numbering, anchoring
    /// anew on a new upstream SSRC or restart so the output stays continuous.
    fn rewrite(&mut self, now: Instant, ssrc: u32, seq: u16, ts: u32, clock: u64) -> (u16, u32) {
        let out_seq = seq.wrapping_add(self.seq_delta);
        let continuous = self.anchored_to == Some(ssrc) && {
            let d = out_seq.wrapping_sub(self.last_out_seq);
            d < MAX_DROPOUT || self.last_out_seq.wrapping_sub(out_seq) <= MAX_MISORDER
        };
        if !continuous {
            // Continue one packet after the last one sent, with a timestamp
            // advanced by the wall-clock time since (at least one sample).
            let next_seq = self.last_out_seq.wrapping_add(1);
            let advance = self.ticks_since_sent(now, clock).max(1);
            let next_ts = self.last_out_ts.wrapping_add(advance);
            self.seq_delta = next_seq.wrapping_sub(seq);
            self.ts_delta = next_ts.wrapping_sub(ts);
            self.anchored_to = Some(ssrc);
        }
        let out_seq = seq.wrapping_add(self.seq_delta);
        let out_ts = ts.wrapping_add(self.ts_delta);
        // Track the newest packet only (reordered ones must not pull the
        // anchor back).
        if out_seq.wrapping_sub(self.last_out_seq) < MAX_DROPOUT || self.last_sent.is_none() {
            self.last_out_seq = out_seq;
            self.last_out_ts = out_ts;
            self.last_sent = Some(now);
        }
        (out_seq, out_ts)
    }
}

/// A digit the leg sends as RFC 4733 telephone events (§2.5.1): one
/// packet per tick with the duration so far, the first with the marker
/// bit, then the final duration three times with the E bit.
#[derive(Debug, Clone, Copy)]
struct DtmfSend {
    event: u8,
    /// The event's RTP timestamp (its start).
    start_ts: u32,
    /// Its length in timestamp units.
    total: u32,
    /// Units sent so far.
    elapsed: u32,
    /// Per-tick step in timestamp units.
    step: u32,
    /// End packets still to send.
    ends_left: u8,
    started: bool,
}

/// Maps the worker's monotonic `now` to NTP time: read once, so that a
/// worker never reads the wall clock per packet and tests stay
/// deterministic relative to their virtual clock.
struct WallClock {
    base: Instant,
    base_unix: Duration,
}

impl WallClock {
    fn new() -> Self {
        let base_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            base: Instant::now(),
            base_unix,
        }
    }

    /// Microseconds since the base (0 before it): the origin of arrival
    /// times, of which only differences are used.
    fn micros(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.base).as_micros() as u64
    }

    fn ntp(&self, now: Instant) -> NtpTime {
        let since = if now >= self.base {
            self.base_unix + (now - self.base)
        } else {
            self.base_unix.saturating_sub(self.base - now)
        };
        NtpTime::from_unix(since)
    }
}

impl Leg {
    /// The leg's figures with the RTCP-derived ones filled in.
    fn full_report(&self) -> LegReport {
        let c = self.counts;
        let mut r = LegReport {
            packets_in: c.packets_in,
            bytes_in: c.bytes_in,
            packets_out: c.packets_out,
            bytes_out: c.bytes_out,
            dropped: c.dropped,
            remote_ssrc: c.remote_ssrc,
            ..LegReport::default()
        };
        if let Some(s) = self.rtcp.source() {
            r.lost = u64::try_from(s.cumulative_lost().max(0)).unwrap_or(0);
        }
        r.jitter_ms = self.rtcp.jitter_ms().unwrap_or(0.0);
        r.rtt_ms = self.rtcp.rtt().map_or(0.0, |d| d.as_secs_f32() * 1000.0);
        let codec = EModelCodec::for_codec(self.format.codec);
        r.mos = self.rtcp.mos(codec, Duration::ZERO).unwrap_or(0.0) as f32;
        r
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every leg, idle or not, costs `size_of::<Leg>()` in `legs`: keep
    /// it from growing back (it was 1,008 bytes with a 255-octet CNAME
    /// buffer and a copy of the leg's configuration in it).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_leg_stays_small() {
        assert!(size_of::<Leg>() <= 664, "{} bytes", size_of::<Leg>());
        assert_eq!(size_of::<PortRoute>(), 4);
    }

    #[test]
    fn port_routes_keep_slot_and_kind() {
        for (slot, rtcp) in [(0, false), (0, true), (7, true), ((1 << 31) - 1, false)] {
            let r = PortRoute::new(slot, rtcp);
            assert_eq!((r.slot(), r.is_rtcp()), (slot as usize, rtcp));
        }
    }

    #[test]
    fn tracking_drops_duplicates_and_unproven_jumps() {
        let mut rx = RxTrack::default();
        assert!(matches!(track(&mut rx, 1, 100), Track::Ok));
        assert!(matches!(track(&mut rx, 1, 101), Track::Ok));
        assert!(matches!(track(&mut rx, 1, 101), Track::Duplicate));
        assert!(matches!(track(&mut rx, 1, 103), Track::Ok));
        assert!(matches!(track(&mut rx, 1, 102), Track::Ok), "late but new");
        assert!(
            matches!(track(&mut rx, 1, 102), Track::Duplicate),
            "late and seen"
        );
        assert!(matches!(track(&mut rx, 1, 40_000), Track::Jump));
        assert!(
            matches!(track(&mut rx, 1, 104), Track::Ok),
            "old stream goes on"
        );
        assert!(matches!(track(&mut rx, 1, 50_000), Track::Jump));
        assert!(matches!(track(&mut rx, 1, 50_001), Track::Restarted));
        assert!(matches!(track(&mut rx, 1, 50_002), Track::Ok));
        assert!(
            matches!(track(&mut rx, 2, 7), Track::Ok),
            "new SSRC starts fresh"
        );
    }

    #[test]
    fn tracking_survives_wraparound() {
        let mut rx = RxTrack::default();
        for s in [65_534u16, 65_535, 0, 1] {
            assert!(matches!(track(&mut rx, 9, s), Track::Ok));
        }
        assert!(matches!(track(&mut rx, 9, 65_535), Track::Duplicate));
    }

    #[test]
    fn rewrite_stays_continuous_across_an_upstream_ssrc_change() {
        let t0 = Instant::now();
        let mut tx = TxRewrite {
            ssrc: 0x1234,
            seq_delta: 0,
            ts_delta: 0,
            anchored_to: None,
            last_out_seq: 500,
            last_out_ts: 10_000,
            last_sent: None,
        };
        let (s1, t1) = tx.rewrite(t0, 0xAAAA, 7, 1_000_000, 8000);
        assert_eq!((s1, t1), (501, 10_001));
        let (s2, t2) = tx.rewrite(t0 + TICK, 0xAAAA, 8, 1_000_160, 8000);
        assert_eq!((s2, t2), (502, 10_161));
        // A new upstream stream 40 ms later: numbering continues.
        let (s3, t3) = tx.rewrite(t0 + TICK * 3, 0xBBBB, 60_000, 42, 8000);
        assert_eq!(s3, 503);
        assert_eq!(t3, 10_161 + 320);
        let (s4, t4) = tx.rewrite(t0 + TICK * 4, 0xBBBB, 60_001, 202, 8000);
        assert_eq!((s4, t4), (504, 10_161 + 480));
    }
}
