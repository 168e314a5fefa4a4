//! Per-leg RTP reception statistics, RTCP reports and call-quality scores.
//!
//! # What and which standard
//!
//! * [`SourceStats`]: the receiver side of RFC 3550 Appendix A, kept
//!   exactly as the RFC's reference code so that numbers match other
//!   stacks: sequence validation with `MAX_DROPOUT`, `MAX_MISORDER` and a
//!   probation of `MIN_SEQUENTIAL` packets (A.1), expected / lost /
//!   fraction lost (A.3), interarrival jitter in timestamp units with the
//!   integer ×16 estimator (A.8). Like the RFC, duplicates count as
//!   received, so the cumulative loss can go negative; they are also
//!   counted apart ([`SourceStats::duplicates`]) from a 64-packet window,
//!   which also feeds a two-state loss model for the E-model's burst ratio
//!   ([`SourceStats::burst_ratio`]).
//! * [`RtcpSession`]: one leg's RTCP, sans-IO. It counts what we send
//!   (packets and payload octets for the SR sender info, §6.4.1) and what
//!   we receive, builds a compound SR or RR with one report block plus an
//!   SDES CNAME (§6.1, §6.4, §6.5) into the caller's buffer with
//!   `tandem-wire`'s builders, schedules reports per §6.2 simplified (a
//!   fixed 5 s interval randomised uniformly over 0.5–1.5 of it, the first
//!   report after half an interval, from a seeded generator so tests are
//!   deterministic; no bandwidth scaling, no timer reconsideration), and
//!   reads the peer's SR/RR: its view of our stream (fraction lost,
//!   cumulative lost, jitter) and the round-trip time
//!   **RTT = A − LSR − DLSR** (§6.4.1), all in NTP short format (1/65536 s).
//! * [`r_factor`] and [`mos_from_r`]: the ITU-T G.107 E-model reduced to
//!   what a media gateway measures, R = 93.2 − Id − Ie,eff (the default
//!   R0 − Is with the echo terms Idte, Idle at their defaults), with
//!   Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl) (G.107 §3.5),
//!   the codec's Ie and Bpl from G.113 Appendix I ([`EModelCodec`]), Id the
//!   absolute-delay term Idd of G.107 §3.4 (zero up to 100 ms one way,
//!   then 25·{(1 + X⁶)^⅙ − 3·(1 + (X/3)⁶)^⅙ + 2} with X = log2(Ta / 100)),
//!   and MOS from R per G.107 Annex B.
//!
//! # Time contract
//!
//! No clock is read here. Every input carries `now: Instant` (the
//! monotonic clock, for arrival times, intervals and DLSR) and, where the
//! wire needs wall-clock time, an [`NtpTime`] read by the caller from the
//! same moment. Only differences of our own NTP readings are used (RTT),
//! so the wall clock only needs to be monotonic over a few seconds.
//!
//! # Driving loop
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_dataplane::quality::{NtpTime, RtcpConfig, RtcpSession};
//! use tandem_wire::Ssrc;
//!
//! let t0 = Instant::now();
//! let mut rtcp = RtcpSession::new(t0, RtcpConfig::new(Ssrc(7), 8000, b"gw1@tandem", 42));
//! let mut buf = [0u8; 256];
//! for i in 0..500u16 {
//!     let now = t0 + Duration::from_millis(20 * u64::from(i));
//!     rtcp.handle_rtp_received(now, Ssrc(9), i, 160 * u32::from(i), 160);
//!     rtcp.handle_rtp_sent(now, 160 * u32::from(i), 160);
//!     if let Some(len) = rtcp.poll_report(now, NtpTime::from_unix(now - t0), &mut buf)? {
//!         // send buf[..len] on the RTCP socket
//!         assert!(len > 0);
//!     }
//! }
//! assert!(rtcp.poll_timeout() > t0);
//! # Ok::<(), tandem_wire::Error>(())
//! ```
//!
//! # Counters (per leg, for metrics)
//!
//! | figure | meaning |
//! |---|---|
//! | [`SourceStats::received`] | valid packets (A.1), duplicates included |
//! | [`SourceStats::expected`] | extended highest sequence − base + 1 (A.3) |
//! | [`SourceStats::cumulative_lost`] | expected − received, 24-bit clamped |
//! | [`SourceStats::jitter`] | A.8 interarrival jitter, timestamp units |
//! | [`SourceStats::duplicates`] | repeats seen within the last 64 numbers |
//! | [`SourceStats::restarts`] | A.1 resynchronisations after a big jump |
//! | [`SourceStats::invalid`] | packets refused by A.1 (probation, jumps) |
//! | [`RtcpSession::ssrc_changes`] | the peer's SSRC changed |
//! | [`RemoteReport`] | the peer's last report on our stream, and RTT |
#![warn(missing_docs)]

use std::time::{Duration, Instant};

use tandem_wire::Ssrc;
use tandem_wire::rtcp::{
    CompoundBuilder, CompoundPacket, ReceiverReportRepr, ReportBlock, ReportBlockList,
    ReportBlockRepr, SenderInfo, SenderReportRepr, TypedRtcpPacket,
};

/// RFC 3550 A.1: sequence numbers wrap modulo this.
pub const RTP_SEQ_MOD: u32 = 1 << 16;
/// RFC 3550 A.1: the largest forward jump taken as in-sequence.
pub const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: the largest backward step taken as reordering.
pub const MAX_MISORDER: u16 = 100;
/// RFC 3550 A.1: sequential packets needed before a source is valid.
pub const MIN_SEQUENTIAL: u16 = 2;

/// A 64-bit NTP timestamp (RFC 5905 §6): seconds since 1900 in the high
/// 32 bits, fraction in the low 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Seconds from 1900 to the Unix epoch.
    pub const UNIX_OFFSET_SECS: u64 = 2_208_988_800;

    /// The NTP time of `since_unix` after 1970-01-01 (for example
    /// `SystemTime::now().duration_since(UNIX_EPOCH)` in the caller).
    pub fn from_unix(since_unix: Duration) -> Self {
        let secs = since_unix.as_secs().wrapping_add(Self::UNIX_OFFSET_SECS);
        let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// The middle 32 bits: the "NTP short format" of LSR and RTT.
    pub const fn short(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// A duration in NTP short format units (1/65536 s) as a [`Duration`].
pub fn ntp_short_to_duration(units: u32) -> Duration {
    Duration::from_nanos((u64::from(units) * 1_000_000_000) >> 16)
}

/// A [`Duration`] in NTP short format units, saturating.
pub fn duration_to_ntp_short(d: Duration) -> u32 {
    let units = (d.as_nanos() << 16) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// What [`SourceStats::update_seq`] made of a sequence number (A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Counted as received (in order, reordered or duplicate).
    Valid,
    /// Still on probation: not yet counted.
    Probation,
    /// A jump beyond `MAX_DROPOUT`: ignored unless the next packet
    /// follows it, which then restarts the source.
    BadJump,
}

/// Reception state of one remote source: RFC 3550 A.1, A.3 and A.8.
#[derive(Debug, Clone)]
pub struct SourceStats {
    ssrc: Ssrc,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u16,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Relative transit time of the previous packet (A.8), if any.
    transit: Option<u32>,
    /// Jitter ×16 (A.8 integer form), in 64 bits so that hostile
    /// timestamps (|D| up to 2³¹) cannot overflow it.
    jitter_q4: u64,
    /// Bit i set: extended sequence `window_top − i` was seen.
    window: u64,
    window_top: u32,
    duplicates: u64,
    // Two-state loss model over retired sequence numbers.
    loss_prev: Option<bool>,
    found_steps: u64,
    lost_steps: u64,
    found_to_lost: u64,
    lost_to_found: u64,
    restarts: u64,
    invalid: u64,
    octets: u64,
}

impl SourceStats {
    /// A new source whose first packet has sequence number `seq`; it is on
    /// probation for [`MIN_SEQUENTIAL`] packets (A.1).
    pub fn new(ssrc: Ssrc, seq: u16) -> Self {
        let mut s = Self {
            ssrc,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            window: 0,
            window_top: 0,
            duplicates: 0,
            loss_prev: None,
            found_steps: 0,
            lost_steps: 0,
            found_to_lost: 0,
            lost_to_found: 0,
            restarts: 0,
            invalid: 0,
            octets: 0,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    /// A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.window = 0;
        self.window_top = u32::from(seq);
        self.loss_prev = None;
    }

    /// A.1 `update_seq`, plus duplicate detection.
    pub fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    self.mark_seen(u32::from(seq));
                    return SeqVerdict::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            self.invalid += 1;
            return SeqVerdict::Probation;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a big jump: the source
                // restarted; A.1 says to resynchronise.
                self.init_seq(seq);
                self.restarts += 1;
                self.transit = None;
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                self.invalid += 1;
                return SeqVerdict::BadJump;
            }
        } else {
            // Duplicate or reordered packet.
        }
        self.received += 1;
        let ext = self.extended_of(seq);
        self.mark_seen(ext);
        SeqVerdict::Valid
    }

    /// The extended sequence number of `seq` near the current maximum.
    fn extended_of(&self, seq: u16) -> u32 {
        let max = self.extended_max();
        let delta = seq.wrapping_sub(self.max_seq) as i16;
        max.wrapping_add_signed(i32::from(delta))
    }

    fn mark_seen(&mut self, ext: u32) {
        let ahead = ext.wrapping_sub(self.window_top) as i32;
        if ahead > 0 {
            self.retire(ahead.unsigned_abs());
            self.window = if ahead >= 64 { 0 } else { self.window << ahead };
            self.window_top = ext;
            self.window |= 1;
        } else {
            let back = ahead.unsigned_abs();
            if back < 64 {
                let bit = 1u64 << back;
                if self.window & bit != 0 {
                    self.duplicates += 1;
                }
                self.window |= bit;
            }
        }
    }

    /// Feeds the loss model with the numbers that leave the 64-packet
    /// window when it advances by `shift`: by then a number not seen is
    /// taken as lost (a packet later than 64 numbers is late anyway).
    fn retire(&mut self, shift: u32) {
        let base = self.base_seq;
        let top = self.window_top;
        let valid = |ext: u32| ext.wrapping_sub(base) as i32 >= 0;
        // Oldest first: window bits 63 down to 64 − shift.
        for i in (64u32.saturating_sub(shift)..64).rev() {
            let ext = top.wrapping_sub(i);
            if valid(ext) {
                self.gilbert(self.window & (1 << i) != 0, 1);
            }
        }
        // Numbers skipped entirely by a jump of more than 64.
        if shift > 64 {
            self.gilbert(false, shift - 64);
        }
    }

    /// One step (or `count` equal steps) of the two-state loss model.
    fn gilbert(&mut self, found: bool, count: u32) {
        let count = u64::from(count);
        match (self.loss_prev, found) {
            (Some(true), false) => self.found_to_lost += 1,
            (Some(false), true) => self.lost_to_found += 1,
            _ => {}
        }
        if found {
            self.found_steps += count;
        } else {
            self.lost_steps += count;
        }
        self.loss_prev = Some(found);
    }

    /// The burst ratio BurstR of G.107 §3.5 from a two-state (Gilbert)
    /// model fitted to the losses seen: 1 / (p + q), with p the chance of
    /// losing the packet after a received one and q of receiving the packet
    /// after a lost one. 1 for random loss (and when nothing was lost), more
    /// for bursty loss. A number counts once it is 64 numbers old.
    pub fn burst_ratio(&self) -> f64 {
        if self.lost_steps == 0 || self.found_steps == 0 {
            return 1.0;
        }
        let p = self.found_to_lost as f64 / self.found_steps as f64;
        let q = self.lost_to_found as f64 / self.lost_steps as f64;
        if p + q <= 0.0 { 1.0 } else { 1.0 / (p + q) }
    }

    /// A.8: updates the jitter with a packet of RTP timestamp `ts`
    /// arriving at `arrival` (in timestamp units, any origin).
    pub fn update_jitter(&mut self, arrival: u32, ts: u32) {
        let transit = arrival.wrapping_sub(ts);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // J += (|D| − J) / 16 in the ×16 integer form of A.8.
            self.jitter_q4 = self.jitter_q4 + u64::from(d) - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// The source's SSRC.
    pub const fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Whether the source has passed probation.
    pub const fn is_valid(&self) -> bool {
        self.probation == 0
    }

    /// Extended highest sequence number received (A.3).
    pub const fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(self.max_seq as u32)
    }

    /// Packets expected (A.3).
    pub const fn expected(&self) -> u32 {
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets received and counted by A.1 (duplicates included).
    pub const fn received(&self) -> u32 {
        self.received
    }

    /// Cumulative packets lost, clamped to the 24-bit signed field of the
    /// report block (A.3); negative when duplicates outnumber losses.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7f_ffff) as i32
    }

    /// Fraction lost since the previous call, in 1/256 (A.3); starts the
    /// next interval.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        }
    }

    /// Interarrival jitter in timestamp units (A.8, the report field).
    pub const fn jitter(&self) -> u32 {
        let j = self.jitter_q4 >> 4;
        if j > u32::MAX as u64 {
            u32::MAX
        } else {
            j as u32
        }
    }

    /// Repeated sequence numbers seen within a 64-packet window.
    pub const fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// A.1 restarts (two sequential packets after a jump).
    pub const fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Packets not counted by A.1 (probation, unconfirmed jumps).
    pub const fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Payload octets of the packets counted.
    pub const fn octets(&self) -> u64 {
        self.octets
    }
}

/// Codec parameters of the E-model (ITU-T G.113 Appendix I).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModelCodec {
    /// Equipment impairment factor Ie with no loss.
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
}

impl EModelCodec {
    /// G.711 with packet-loss concealment (G.711 Appendix I): Ie 0, Bpl
    /// 25.1. Tandem's jitter buffer conceals, so this is the default for
    /// G.711 legs.
    pub const G711_PLC: Self = Self { ie: 0.0, bpl: 25.1 };
    /// G.711 without concealment (silence insertion): Ie 0, Bpl 4.3.
    pub const G711_NO_PLC: Self = Self { ie: 0.0, bpl: 4.3 };

    /// Parameters for a leg's codec. G.722, L16 and Opus have no
    /// narrowband G.113 entry; they are given G.711-with-PLC values, which
    /// under-rates them (the wideband E-model, G.107.1, is out of scope).
    pub fn for_codec(_codec: crate::codec::Codec) -> Self {
        Self::G711_PLC
    }
}

/// G.107 default R0 − Is (with Idte, Idle at their defaults): the rating
/// of a perfect narrowband connection.
pub const R_DEFAULT: f64 = 93.2;

/// G.107 §3.4 delay impairment Idd for a one-way (absolute) delay `ta_ms`.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    if ta_ms.is_nan() || ta_ms <= 100.0 {
        return 0.0;
    }
    let x = (ta_ms / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// G.107 §3.5 effective equipment impairment for `loss_percent` (Ppl) and
/// burst ratio `burst_r` (1 for random loss).
pub fn effective_equipment_impairment(codec: EModelCodec, loss_percent: f64, burst_r: f64) -> f64 {
    let ppl = if loss_percent.is_nan() {
        0.0
    } else {
        loss_percent.clamp(0.0, 100.0)
    };
    let burst_r = if burst_r.is_nan() || burst_r < 1.0 {
        1.0
    } else {
        burst_r
    };
    codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst_r + codec.bpl)
}

/// The transmission rating R = 93.2 − Id − Ie,eff.
pub fn r_factor(codec: EModelCodec, loss_percent: f64, burst_r: f64, one_way_delay_ms: f64) -> f64 {
    R_DEFAULT
        - delay_impairment(one_way_delay_ms)
        - effective_equipment_impairment(codec, loss_percent, burst_r)
}

/// Mean opinion score (conversational quality) from R, G.107 Annex B.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        // The polynomial dips just under 1 for R below about 6.5; the
        // scale's floor is 1.
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6).max(1.0)
    }
}

/// Configuration of an [`RtcpSession`].
#[derive(Debug, Clone)]
pub struct RtcpConfig {
    /// Our SSRC on this leg.
    pub local_ssrc: Ssrc,
    /// RTP clock rate of the leg's payload format.
    pub clock_rate: u32,
    /// Our CNAME (at most 255 octets; longer is cut).
    cname: Cname,
    /// Deterministic interval (5 s in RFC 3550 §6.2's minimum).
    pub interval: Duration,
    /// Seed of the interval randomisation.
    pub seed: u64,
}

impl RtcpConfig {
    /// A configuration with the RFC 3550 §6.2 minimum interval of 5 s.
    pub fn new(local_ssrc: Ssrc, clock_rate: u32, cname: &[u8], seed: u64) -> Self {
        Self {
            local_ssrc,
            clock_rate: clock_rate.max(1),
            cname: Cname::new(cname),
            interval: Duration::from_secs(5),
            seed,
        }
    }

    /// The CNAME.
    pub fn cname(&self) -> &[u8] {
        self.cname.as_bytes()
    }
}

/// Octets of a CNAME kept inline in [`Cname`].
const CNAME_INLINE: usize = 22;

/// A CNAME of at most 255 octets (RFC 3550 §6.5: an SDES item's length
/// is one octet). Every leg carries one, so the usual short ones (a fixed
/// name, `user@host`) live inline in 24 bytes and only longer ones take a
/// heap block, rather than every leg reserving 255 octets.
#[derive(Debug, Clone)]
enum Cname {
    Inline { len: u8, bytes: [u8; CNAME_INLINE] },
    Heap(Box<[u8]>),
}

impl Cname {
    /// `cname`, cut to 255 octets.
    fn new(cname: &[u8]) -> Self {
        let cname = &cname[..cname.len().min(255)];
        if cname.len() <= CNAME_INLINE {
            let mut bytes = [0; CNAME_INLINE];
            bytes[..cname.len()].copy_from_slice(cname);
            Cname::Inline {
                len: cname.len() as u8,
                bytes,
            }
        } else {
            Cname::Heap(cname.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Cname::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Cname::Heap(b) => b,
        }
    }
}

/// The peer's last report about our stream, from an SR or RR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteReport {
    /// When the report arrived.
    pub at: Instant,
    /// Fraction of our packets lost in its last interval, in 1/256.
    pub fraction_lost: u8,
    /// Its cumulative loss count for our stream.
    pub cumulative_lost: i32,
    /// Its extended highest sequence number of ours.
    pub extended_highest_seq: u32,
    /// Its jitter estimate of our stream, in timestamp units.
    pub jitter: u32,
    /// RTT = A − LSR − DLSR, if the block echoed one of our SRs.
    pub rtt: Option<Duration>,
}

/// What the peer's last SR told us (for LSR/DLSR of our next block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PeerSr {
    lsr: u32,
    at: Instant,
    packets: u32,
    octets: u32,
}

/// A small deterministic generator (xorshift64*) for the report interval.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Splitmix step so that seeds 0, 1, 2 differ well; never zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Why an RTCP datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpError {
    /// Peer: the datagram is not a well-formed compound packet.
    Malformed(tandem_wire::Error),
}

impl core::fmt::Display for RtcpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RtcpError::Malformed(e) => write!(f, "malformed RTCP: {e}"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// One leg's RTCP: reception and sender statistics, report generation and
/// scheduling, and the peer's reports.
#[derive(Debug, Clone)]
pub struct RtcpSession {
    config: RtcpConfig,
    epoch: Instant,
    rng: Rng,
    next_report: Instant,
    source: Option<SourceStats>,
    ssrc_changes: u64,
    // Sender side.
    packets_sent: u32,
    octets_sent: u32,
    last_sent: Option<(Instant, u32)>,
    sent_this_interval: bool,
    sent_last_interval: bool,
    // The peer's reports.
    peer_sr: Option<PeerSr>,
    remote: Option<RemoteReport>,
    last_rtt: Option<Duration>,
    reports_sent: u64,
    rtcp_received: u64,
    rtcp_malformed: u64,
}

impl RtcpSession {
    /// A session starting at `now`; the first report is due after half a
    /// randomised interval (RFC 3550 §6.2).
    pub fn new(now: Instant, config: RtcpConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let first = scaled(config.interval, (0.5 + rng.next_f64()) / 2.0);
        Self {
            epoch: now,
            next_report: later(now, first),
            rng,
            config,
            source: None,
            ssrc_changes: 0,
            packets_sent: 0,
            octets_sent: 0,
            last_sent: None,
            sent_this_interval: false,
            sent_last_interval: false,
            peer_sr: None,
            remote: None,
            last_rtt: None,
            reports_sent: 0,
            rtcp_received: 0,
            rtcp_malformed: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RtcpConfig {
        &self.config
    }

    /// Counts an RTP packet received from the peer (after the flow lookup)
    /// and returns the A.1 verdict. A new SSRC replaces the old source.
    pub fn handle_rtp_received(
        &mut self,
        now: Instant,
        ssrc: Ssrc,
        seq: u16,
        timestamp: u32,
        payload_len: usize,
    ) -> SeqVerdict {
        let micros = now.saturating_duration_since(self.epoch).as_micros() as u64;
        self.handle_rtp_received_at(micros, ssrc, seq, timestamp, payload_len)
    }

    /// [`handle_rtp_received`](Self::handle_rtp_received) with the arrival
    /// time given as microseconds on a monotonic clock of the caller's,
    /// whose origin does not matter: jitter (§6.4.1) uses only differences
    /// of arrival times. A worker converts its clock once per turn instead
    /// of once per packet. A session takes its arrival times from one
    /// clock: this one or the `Instant`s of `handle_rtp_received`.
    pub fn handle_rtp_received_at(
        &mut self,
        arrival_micros: u64,
        ssrc: Ssrc,
        seq: u16,
        timestamp: u32,
        payload_len: usize,
    ) -> SeqVerdict {
        let arrival = self.arrival_ticks(arrival_micros);
        let source = match &mut self.source {
            Some(s) if s.ssrc == ssrc => s,
            slot => {
                if slot.is_some() {
                    self.ssrc_changes += 1;
                }
                slot.insert(SourceStats::new(ssrc, seq))
            }
        };
        let verdict = source.update_seq(seq);
        if verdict == SeqVerdict::Valid {
            source.update_jitter(arrival, timestamp);
            source.octets += payload_len as u64;
        }
        verdict
    }

    /// Counts an RTP packet we sent with `timestamp` and `payload_len`
    /// octets of payload (the SR's counts, §6.4.1).
    pub fn handle_rtp_sent(&mut self, now: Instant, timestamp: u32, payload_len: usize) {
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload_len as u32);
        self.last_sent = Some((now, timestamp));
        self.sent_this_interval = true;
    }

    /// Reads a compound RTCP datagram from the peer: SR sender info (for
    /// LSR/DLSR) and report blocks about our SSRC (remote loss, jitter,
    /// RTT). `ntp` is our wall clock at `now`.
    pub fn handle_rtcp(
        &mut self,
        now: Instant,
        ntp: NtpTime,
        datagram: &[u8],
    ) -> Result<(), RtcpError> {
        let compound = match CompoundPacket::new_checked(datagram) {
            Ok(c) => c,
            Err(e) => {
                self.rtcp_malformed += 1;
                return Err(RtcpError::Malformed(e));
            }
        };
        self.rtcp_received += 1;
        for packet in compound {
            match packet {
                TypedRtcpPacket::SenderReport(sr) => {
                    let info = sr.sender_info();
                    self.peer_sr = Some(PeerSr {
                        lsr: NtpTime(info.ntp_timestamp).short(),
                        at: now,
                        packets: info.packet_count,
                        octets: info.octet_count,
                    });
                    for block in sr.report_blocks() {
                        self.handle_block(now, ntp, &block);
                    }
                }
                TypedRtcpPacket::ReceiverReport(rr) => {
                    for block in rr.report_blocks() {
                        self.handle_block(now, ntp, &block);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn handle_block(&mut self, now: Instant, ntp: NtpTime, block: &ReportBlock<&[u8]>) {
        if block.ssrc() != self.config.local_ssrc {
            return;
        }
        let rtt = rtt_from_block(ntp, block.last_sr(), block.delay_since_last_sr());
        if rtt.is_some() {
            self.last_rtt = rtt;
        }
        self.remote = Some(RemoteReport {
            at: now,
            fraction_lost: block.fraction_lost(),
            cumulative_lost: block.cumulative_lost(),
            extended_highest_seq: block.extended_highest_seq(),
            jitter: block.jitter(),
            rtt,
        });
    }

    /// When the next report is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    /// If a report is due at `now`, writes it (SR if we sent RTP in this
    /// or the previous interval, else RR; then SDES CNAME) into `buf`,
    /// schedules the next one and returns its length.
    pub fn poll_report(
        &mut self,
        now: Instant,
        ntp: NtpTime,
        buf: &mut [u8],
    ) -> Result<Option<usize>, tandem_wire::Error> {
        if now < self.next_report {
            return Ok(None);
        }
        let len = self.write_report(now, ntp, buf)?;
        let factor = 0.5 + self.rng.next_f64();
        self.next_report = later(now, scaled(self.config.interval, factor));
        Ok(Some(len))
    }

    /// Writes a report now, regardless of the schedule (for example before
    /// a BYE), and starts a new reporting interval.
    pub fn write_report(
        &mut self,
        now: Instant,
        ntp: NtpTime,
        buf: &mut [u8],
    ) -> Result<usize, tandem_wire::Error> {
        let block = self.report_block(now);
        let blocks_storage = [block.unwrap_or_default()];
        let reports = if block.is_some() {
            ReportBlockList::new(&blocks_storage)
        } else {
            ReportBlockList::EMPTY
        };
        let ssrc = self.config.local_ssrc;
        let mut b = CompoundBuilder::new(buf);
        if self.sent_this_interval || self.sent_last_interval {
            let rtp_timestamp = match self.last_sent {
                Some((at, ts)) => {
                    let dt = now.saturating_duration_since(at);
                    let ticks = dt.as_micros() * u128::from(self.config.clock_rate) / 1_000_000;
                    ts.wrapping_add(ticks as u32)
                }
                None => 0,
            };
            b.push_sender_report(&SenderReportRepr {
                ssrc,
                sender_info: SenderInfo {
                    ntp_timestamp: ntp.0,
                    rtp_timestamp,
                    packet_count: self.packets_sent,
                    octet_count: self.octets_sent,
                },
                reports,
                profile_extension: &[],
            })?;
        } else {
            b.push_receiver_report(&ReceiverReportRepr {
                ssrc,
                reports,
                profile_extension: &[],
            })?;
        }
        b.push_sdes_cname(ssrc, self.config.cname())?;
        let len = b.finish();
        self.sent_last_interval = self.sent_this_interval;
        self.sent_this_interval = false;
        self.reports_sent += 1;
        Ok(len)
    }

    /// Our report block on the peer's stream (closing the A.3 interval),
    /// once its source is valid.
    fn report_block(&mut self, now: Instant) -> Option<ReportBlockRepr> {
        let s = self.source.as_mut().filter(|s| s.is_valid())?;
        let (last_sr, delay_since_last_sr) = match self.peer_sr {
            Some(sr) => (
                sr.lsr,
                duration_to_ntp_short(now.saturating_duration_since(sr.at)),
            ),
            None => (0, 0),
        };
        Some(ReportBlockRepr {
            ssrc: s.ssrc,
            fraction_lost: s.take_fraction_lost(),
            cumulative_lost: s.cumulative_lost(),
            extended_highest_seq: s.extended_max(),
            jitter: s.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }

    /// An arrival time in RTP timestamp units; wraps as they do.
    fn arrival_ticks(&self, micros: u64) -> u32 {
        // Whole seconds, then the fraction, so that nothing overflows; the
        // divisions by constants compile to multiplications.
        let rate = u64::from(self.config.clock_rate);
        let whole = (micros / 1_000_000).wrapping_mul(rate);
        let part = (micros % 1_000_000) * rate / 1_000_000;
        whole.wrapping_add(part) as u32
    }

    /// Reception statistics of the peer's stream, once it sent anything.
    pub fn source(&self) -> Option<&SourceStats> {
        self.source.as_ref()
    }

    /// The peer's last report on our stream.
    pub fn remote(&self) -> Option<RemoteReport> {
        self.remote
    }

    /// The last round-trip time measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.last_rtt
    }

    /// Packets and payload octets the peer says it sent in its last SR.
    pub fn peer_sender_counts(&self) -> Option<(u32, u32)> {
        self.peer_sr.map(|sr| (sr.packets, sr.octets))
    }

    /// Packets and payload octets we sent (the SR counts).
    pub const fn sent(&self) -> (u32, u32) {
        (self.packets_sent, self.octets_sent)
    }

    /// Times the peer's SSRC changed.
    pub const fn ssrc_changes(&self) -> u64 {
        self.ssrc_changes
    }

    /// Reports written.
    pub const fn reports_sent(&self) -> u64 {
        self.reports_sent
    }

    /// RTCP datagrams read, and refused as malformed.
    pub const fn rtcp_received(&self) -> (u64, u64) {
        (self.rtcp_received, self.rtcp_malformed)
    }

    /// The A.8 jitter of the peer's stream in milliseconds.
    pub fn jitter_ms(&self) -> Option<f32> {
        let s = self.source.as_ref().filter(|s| s.is_valid())?;
        Some(s.jitter() as f32 * 1000.0 / self.config.clock_rate as f32)
    }

    /// The MOS of what we receive ([`mos_from_r`] of
    /// [`r_factor`](Self::r_factor)).
    pub fn mos(&self, codec: EModelCodec, jitter_buffer_delay: Duration) -> Option<f64> {
        self.r_factor(codec, jitter_buffer_delay).map(mos_from_r)
    }

    /// The E-model rating of what we receive: loss from our own A.3
    /// counts (cumulative), its burstiness from
    /// [`SourceStats::burst_ratio`], one-way delay RTT/2 (0 if unknown) plus
    /// `jitter_buffer_delay`. `None` before the source is valid.
    pub fn r_factor(&self, codec: EModelCodec, jitter_buffer_delay: Duration) -> Option<f64> {
        let s = self.source.as_ref().filter(|s| s.is_valid())?;
        let expected = f64::from(s.expected());
        let lost = f64::from(s.cumulative_lost().max(0));
        let loss_percent = if expected > 0.0 {
            100.0 * lost / expected
        } else {
            0.0
        };
        let one_way = self.last_rtt.unwrap_or_default() / 2 + jitter_buffer_delay;
        Some(r_factor(
            codec,
            loss_percent,
            s.burst_ratio(),
            one_way.as_secs_f64() * 1000.0,
        ))
    }
}

/// `interval · factor`, with the interval capped at a day so that a
/// misconfigured one cannot overflow.
fn scaled(interval: Duration, factor: f64) -> Duration {
    interval
        .min(Duration::from_secs(86_400))
        .mul_f64(factor.clamp(0.0, 2.0))
}

/// `now + d`, or `now` plus a day if the clock cannot represent it.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// RTT = A − LSR − DLSR (RFC 3550 §6.4.1), with A our NTP time at the
/// report's arrival; `None` if the block echoes no SR (LSR 0) or the
/// result is negative (clock trouble or a bogus DLSR).
pub fn rtt_from_block(arrival: NtpTime, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.short().wrapping_sub(lsr).wrapping_sub(dlsr);
    if (rtt as i32) < 0 {
        return None;
    }
    Some(ntp_short_to_duration(rtt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnames_keep_their_octets_inline_or_not_and_are_cut_at_255() {
        for n in [0, 1, CNAME_INLINE, CNAME_INLINE + 1, 255] {
            let name: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let c = RtcpConfig::new(Ssrc(1), 8000, &name, 0);
            assert_eq!(c.cname(), &name[..], "{n} octets");
        }
        let long = [b'x'; 300];
        assert_eq!(
            RtcpConfig::new(Ssrc(1), 8000, &long, 0).cname(),
            &long[..255]
        );
        assert!(size_of::<Cname>() <= 24);
    }

    #[test]
    fn ntp_short_format() {
        let t = NtpTime(0x1234_5678_9abc_def0);
        assert_eq!(t.short(), 0x5678_9abc);
        assert_eq!(
            ntp_short_to_duration(0x0001_8000),
            Duration::from_millis(1500)
        );
        assert_eq!(
            duration_to_ntp_short(Duration::from_millis(1500)),
            0x0001_8000
        );
        let u = NtpTime::from_unix(Duration::from_millis(500));
        assert_eq!(u.0 >> 32, NtpTime::UNIX_OFFSET_SECS);
        assert_eq!(u.0 as u32, 0x8000_0000);
    }

    #[test]
    fn probation_then_valid() {
        let mut s = SourceStats::new(Ssrc(1), 100);
        assert_eq!(s.update_seq(100), SeqVerdict::Probation);
        assert_eq!(s.update_seq(101), SeqVerdict::Valid);
        assert_eq!(s.received(), 1);
        assert_eq!(s.expected(), 1);
    }

    #[test]
    fn mos_reference_points() {
        assert!((mos_from_r(93.2) - 4.41).abs() < 0.01);
        assert_eq!(mos_from_r(-3.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(delay_impairment(100.0), 0.0);
    }
}
