//! Adaptive jitter buffer with packet-loss concealment, for legs whose
//! media is decoded (transcoding, conferences, recording, DTMF detection).
//!
//! # Contract (sans-IO)
//!
//! The worker hands every RTP packet of the leg to
//! [`JitterBuffer::push`] with its arrival time, and calls
//! [`JitterBuffer::pop`] once per 20 ms tick of its media clock. `pop`
//! returns the next 20 ms [`AudioFrame`] as [`Playout::Audio`] (decoded
//! from packets), [`Playout::Concealed`] (synthesised, wholly or in part),
//! or `None` when there is nothing to play (before the first packet, or
//! when concealment has faded to silence during a long gap such as
//! silence suppression). No clock is read here; both calls take `now`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_dataplane::codec::Codec;
//! use tandem_dataplane::jitter::{JitterBuffer, JitterConfig, Playout};
//! use tandem_wire::Ssrc;
//!
//! let t0 = Instant::now();
//! let mut jb = JitterBuffer::new(Codec::Pcmu, JitterConfig::default())?;
//! let mut played = 0;
//! for k in 0..50u16 {
//!     let now = t0 + Duration::from_millis(20 * u64::from(k));
//!     // Per received packet (after the flow lookup):
//!     jb.push(now, k, 160 * u32::from(k), Ssrc(1), &[0xff; 160])?;
//!     // Per 20 ms media clock tick:
//!     match jb.pop(now) {
//!         Some(Playout::Audio(frame)) | Some(Playout::Concealed(frame)) => {
//!             assert_eq!(frame.samples().len(), 160);
//!             played += 1;
//!         }
//!         None => {} // nothing to play yet
//!     }
//! }
//! assert!(played >= 47);
//! assert_eq!(jb.counters().lost, 0);
//! # Ok::<(), tandem_dataplane::codec::CodecError>(())
//! ```
//!
//! # Design
//!
//! * **Payloads are stored encoded and decoded at playout**, in timestamp
//!   order, so a stateful decoder (G.722's ADPCM, Opus) never sees packets
//!   out of order. Storage is a fixed set of slots (default 32) with one
//!   arena sized at construction for the longest packet of the codec
//!   (60 ms): nothing is allocated per packet. Every buffer is sized for
//!   the codec's rate, so a G.711 leg's buffer takes about 20 KB (15 KB of
//!   it the arena) and an L16/48 kHz one about 210 KB.
//! * **Any ptime.** Packets of 10–60 ms are decoded into a sample buffer
//!   and frames are cut from it; a hole shorter than a frame (a lost
//!   10 ms packet) is concealed at sample granularity.
//! * **Target delay.** Each packet's transit time (arrival minus RTP
//!   timestamp, in µs) is compared with the smallest transit seen (which
//!   drifts slowly upwards to follow clock skew and route changes); the
//!   excess over it is the packet's queueing jitter. The target delay is
//!   the envelope of that excess: it rises at once to a larger value and
//!   decays towards recent values with a time constant of about 256
//!   packets (5 s at 20 ms), clamped to `min_delay..=max_delay`
//!   (20–200 ms by default).
//! * **Playout control.** The playout offset (now minus the RTP time of the
//!   next frame) is steered to the smallest transit plus the target.
//!   *Growing* happens where it costs nothing: when the next frame is
//!   missing and the buffer is ahead of its target, a concealment frame is
//!   played and the timeline waits. *Shrinking* happens at frame
//!   boundaries, at most once per 100 ms: when the offset exceeds the
//!   target by more than a frame, a frame below −40 dBov is dropped;
//!   beyond 4 frames over target, or after 2 s over target without a quiet
//!   frame (continuous music or tone), any frame is dropped. The two
//!   frames around a drop are cross-faded over 2.5 ms.
//! * **Sequence and timestamp hygiene.** Timestamps are unwrapped to 64
//!   bits; duplicates are found from a 64-packet window of sequence
//!   numbers and from the slots; a packet whose audio was already played
//!   or concealed is late; an SSRC change or a timestamp jump of more than
//!   `resync_threshold` (2 s) either way, confirmed by the next packet
//!   following it in sequence and timestamp, flushes the buffer and
//!   restarts the timeline (the decoder is reset; concealment bridges the
//!   gap). The unconfirmed first packet is dropped as `stray`.
//!
//! # Packet-loss concealment
//!
//! Written for this crate in the spirit of ITU-T G.711 Appendix I (no
//! code taken from it or from other projects), at any of the engine's
//! rates:
//!
//! 1. The last 48.75 ms of output are kept as history.
//! 2. When samples go missing, the pitch period is found in the history
//!    by normalised autocorrelation over 5–15 ms (66–200 Hz): a coarse
//!    search on every other 8 kHz-equivalent sample and lag, then a fine
//!    search around the best coarse lag at full resolution.
//! 3. The last pitch period is repeated. Its end is overlap-added over a
//!    quarter period with the samples that precede its start, so the loop
//!    has no seam. After 10 ms the last two periods are repeated, after
//!    20 ms the last three (less buzz), each change cross-faded over a
//!    quarter period.
//! 4. The first 10 ms are played at full level, then the level falls
//!    linearly by 20 % per 10 ms, reaching silence 60 ms into the erasure.
//! 5. When real audio returns it is cross-faded with the continuing
//!    synthesis over a quarter period plus 4 ms per 10 ms of erasure (at
//!    most 10 ms).
//!
//! # Counters ([`JitterCounters`], for metrics)
//!
//! | field | meaning |
//! |---|---|
//! | `pushed` | packets accepted into the buffer |
//! | `popped` | frames returned by `pop` (audio or concealed) |
//! | `late` | packets dropped because their time had passed |
//! | `duplicate` | packets dropped as repeats |
//! | `malformed` | packets whose payload length was invalid |
//! | `decode_errors` | stored packets the decoder rejected |
//! | `overflow` | packets dropped because every slot was full |
//! | `resync` | timeline restarts (SSRC change, timestamp jump) |
//! | `stray` | packets of a possible new stream, dropped until the next one confirms it |
//! | `lost` | frames concealed while later audio was already buffered |
//! | `underrun` | frames concealed with nothing buffered (includes silence suppression) |
//! | `concealed` | frames returned as [`Playout::Concealed`] |
//! | `grown` | concealment frames inserted to raise the delay |
//! | `shrunk` | frames dropped to lower the delay |
//! | `current_delay_ms` | playout offset above the fastest packet's transit |
//! | `target_delay_ms` | the adaptive target |
#![warn(missing_docs)]

use core::fmt;
use std::time::{Duration, Instant};

use tandem_dsp::resample::Rate;
use tandem_wire::Ssrc;

use crate::codec::{Codec, CodecError, Decoder, MAX_PTIME_MS};
use crate::frame::{AudioFrame, frame_len};

/// Settings of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Lowest target delay (default 20 ms).
    pub min_delay: Duration,
    /// Highest target delay (default 200 ms).
    pub max_delay: Duration,
    /// Target before any jitter is measured (default 40 ms).
    pub initial_delay: Duration,
    /// Packets held at most (default 32, at most 1024).
    pub capacity: usize,
    /// A timestamp this far from the playout point, either way, restarts
    /// the timeline (default 2 s).
    pub resync_threshold: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            initial_delay: Duration::from_millis(40),
            capacity: 32,
            resync_threshold: Duration::from_secs(2),
        }
    }
}

/// One 20 ms frame of playout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decoded from received packets only.
    Audio(AudioFrame),
    /// Wholly or partly synthesised by the loss concealment, or a frame
    /// inserted to grow the delay.
    Concealed(AudioFrame),
}

impl Playout {
    /// The frame, whichever kind.
    pub fn frame(&self) -> &AudioFrame {
        match self {
            Playout::Audio(f) | Playout::Concealed(f) => f,
        }
    }

    /// The frame, by value.
    pub fn into_frame(self) -> AudioFrame {
        match self {
            Playout::Audio(f) | Playout::Concealed(f) => f,
        }
    }

    /// Whether any of it was synthesised.
    pub fn is_concealed(&self) -> bool {
        matches!(self, Playout::Concealed(_))
    }
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Buffered,
    /// Stored after restarting the timeline (new SSRC or a jump).
    Resynced,
    /// Dropped: its time had passed.
    Late,
    /// Dropped: already received.
    Duplicate,
    /// Dropped: every slot is full.
    Overflow,
    /// Dropped: from a new SSRC, or far from the playout point; the next
    /// packet following it restarts the timeline ([`PushOutcome::Resynced`]).
    Stray,
}

/// Counters of one jitter buffer (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterCounters {
    /// Packets accepted into the buffer.
    pub pushed: u64,
    /// Frames returned by `pop` (audio or concealed).
    pub popped: u64,
    /// Packets dropped because their time had passed.
    pub late: u64,
    /// Packets dropped as repeats.
    pub duplicate: u64,
    /// Packets whose payload length was invalid.
    pub malformed: u64,
    /// Stored packets the decoder rejected.
    pub decode_errors: u64,
    /// Packets dropped because every slot was full.
    pub overflow: u64,
    /// Timeline restarts (SSRC change, timestamp jump).
    pub resync: u64,
    /// Packets dropped as a possible new stream not yet confirmed by the
    /// packet after it.
    pub stray: u64,
    /// Frames concealed while later audio was already buffered.
    pub lost: u64,
    /// Frames concealed with nothing buffered (includes silence
    /// suppression).
    pub underrun: u64,
    /// Frames returned as [`Playout::Concealed`].
    pub concealed: u64,
    /// Concealment frames inserted to raise the delay.
    pub grown: u64,
    /// Frames dropped to lower the delay.
    pub shrunk: u64,
    /// Playout offset above the fastest packet's transit, at the last pop.
    pub current_delay_ms: u32,
    /// The adaptive target delay.
    pub target_delay_ms: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    used: bool,
    start: i64,
    ticks: u32,
    len: u32,
}

/// The adaptive jitter buffer of one decoded leg.
pub struct JitterBuffer {
    codec: Codec,
    config: JitterConfig,
    decoder: Decoder,
    rate: Rate,
    /// Decoded samples per RTP tick (2 for G.722).
    spt: usize,
    frame_samples: usize,
    frame_us: i64,
    clock: i64,
    slots: Vec<Slot>,
    arena: Vec<u8>,
    slot_bytes: usize,
    used: usize,
    // Stream identity and unwrapping.
    ssrc: Option<Ssrc>,
    ref_ts: u32,
    ref_ext: i64,
    /// A packet that may start a new stream: SSRC, sequence, timestamp.
    candidate: Option<(Ssrc, u16, u32)>,
    seq_top: Option<u16>,
    seq_window: u64,
    // Timeline: the tick of the next sample to emit, and decoded samples
    // from there on.
    started: bool,
    play_ts: i64,
    /// One decoded packet (60 ms at the codec's rate).
    pending: Box<[i16]>,
    pending_start: usize,
    pending_len: usize,
    // Delay estimation, µs.
    epoch: Option<Instant>,
    min_transit: Option<i64>,
    peak_excess: i64,
    pops_since_shrink: u32,
    pops_over_target: u32,
    plc: Box<Plc>,
    counters: JitterCounters,
}

impl fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("codec", &self.codec)
            .field("buffered", &self.used)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// The most slots a buffer may have.
pub const MAX_CAPACITY: usize = 1024;

/// Opus packets are at most 1275 octets per 20 ms frame (RFC 6716 §3.4).
const OPUS_MAX_PACKET: usize = 1275 * 3;

/// Frames below this mean power may be dropped to shrink the delay.
const QUIET_DBOV: f32 = -40.0;

/// Pops between two delay reductions (100 ms).
const SHRINK_SPACING: u32 = 5;

/// Pops spent over target (without a quiet frame to drop) after which a
/// loud frame is dropped anyway (2 s).
const FORCE_SHRINK_AFTER: u32 = 100;

impl JitterBuffer {
    /// A buffer for a leg receiving `codec`. Allocates its storage (once).
    pub fn new(codec: Codec, config: JitterConfig) -> Result<Self, CodecError> {
        let decoder = Decoder::new(codec)?;
        let rate = codec.sample_rate();
        let capacity = config.capacity.clamp(1, MAX_CAPACITY);
        let slot_bytes = codec.payload_bytes(MAX_PTIME_MS).unwrap_or(OPUS_MAX_PACKET);
        Ok(Self {
            codec,
            config,
            decoder,
            rate,
            spt: codec.samples_per_tick(),
            frame_samples: frame_len(rate),
            frame_us: 20_000,
            clock: i64::from(codec.clock_rate()),
            slots: vec![Slot::default(); capacity],
            arena: vec![0; capacity * slot_bytes],
            slot_bytes,
            used: 0,
            ssrc: None,
            ref_ts: 0,
            ref_ext: 0,
            candidate: None,
            seq_top: None,
            seq_window: 0,
            started: false,
            play_ts: 0,
            pending: vec![0; MAX_PTIME_MS as usize * rate.hz() as usize / 1000].into_boxed_slice(),
            pending_start: 0,
            pending_len: 0,
            epoch: None,
            min_transit: None,
            peak_excess: config.initial_delay.as_micros() as i64,
            pops_since_shrink: 0,
            pops_over_target: 0,
            plc: Box::new(Plc::new(rate)),
            counters: JitterCounters {
                target_delay_ms: config.initial_delay.as_millis() as u32,
                ..JitterCounters::default()
            },
        })
    }

    /// The codec decoded.
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The counters, with the current and target delay filled in.
    pub fn counters(&self) -> JitterCounters {
        let mut c = self.counters;
        c.target_delay_ms = (self.target_us() / 1000) as u32;
        c
    }

    /// The adaptive target delay.
    pub fn target_delay(&self) -> Duration {
        Duration::from_micros(self.target_us() as u64)
    }

    /// The playout delay measured at the last `pop` (above the fastest
    /// packet's transit): the figure for the E-model's one-way delay.
    pub fn current_delay(&self) -> Duration {
        Duration::from_millis(u64::from(self.counters.current_delay_ms))
    }

    /// Forgets the stream (packets, timeline, decoder and concealment
    /// state, delay estimate) as if newly built; the counters are kept.
    pub fn reset(&mut self) {
        let counters = self.counters;
        let rate = self.rate;
        for s in &mut self.slots {
            s.used = false;
        }
        self.used = 0;
        self.decoder.reset();
        self.ssrc = None;
        self.candidate = None;
        self.seq_top = None;
        self.seq_window = 0;
        self.started = false;
        self.pending_start = 0;
        self.pending_len = 0;
        self.epoch = None;
        self.min_transit = None;
        self.peak_excess = self.config.initial_delay.as_micros() as i64;
        self.pops_since_shrink = 0;
        self.pops_over_target = 0;
        *self.plc = Plc::new(rate);
        self.counters = counters;
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn target_us(&self) -> i64 {
        let min = self.config.min_delay.as_micros() as i64;
        let max = (self.config.max_delay.as_micros() as i64).max(min);
        self.peak_excess.clamp(min, max)
    }

    fn ts_us(&self, ext: i64) -> i64 {
        ext.saturating_mul(1_000_000) / self.clock
    }

    fn now_us(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_micros() as i64
    }

    /// The tick just after the decoded samples: where the next packet's
    /// audio must start.
    fn decoded_until(&self) -> i64 {
        self.play_ts + (self.pending_len / self.spt) as i64
    }

    /// Offers one received RTP packet of the leg: its arrival time, RTP
    /// sequence number, timestamp and SSRC, and its payload (after the
    /// header, extension and padding). Only the leg's audio payload type
    /// belongs here; telephone-event and comfort noise go elsewhere. The
    /// payload is copied into a slot. A malformed payload length is an
    /// error (counted in `malformed`); every other fate is a
    /// [`PushOutcome`].
    pub fn push(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        ssrc: Ssrc,
        payload: &[u8],
    ) -> Result<PushOutcome, CodecError> {
        let ticks = match self.codec.payload_ticks(payload) {
            Ok(t) if payload.len() <= self.slot_bytes => t,
            Ok(_) => {
                self.counters.malformed += 1;
                return Err(CodecError::BadPayloadLength { len: payload.len() });
            }
            Err(e) => {
                if e.is_peer_error() {
                    self.counters.malformed += 1;
                }
                return Err(e);
            }
        };
        let arrival = self.now_us(now);

        let mut resynced = false;
        let ext = match self.ssrc {
            None => {
                self.ssrc = Some(ssrc);
                self.ref_ts = timestamp;
                self.ref_ext = 1 << 32;
                self.ref_ext
            }
            Some(old) => {
                let ext = self.ref_ext + i64::from(timestamp.wrapping_sub(self.ref_ts) as i32);
                let threshold = self.resync_threshold_ticks();
                let far = self.started && (ext - self.decoded_until()).abs() > threshold;
                if old != ssrc || far {
                    // A new stream must prove itself with a second packet
                    // that follows the first (as RFC 3550 A.1 does for
                    // sequence jumps), so that a stray duplicate or an old
                    // SSRC's straggler cannot flush the buffer.
                    let follows = self.candidate.is_some_and(|(c_ssrc, c_seq, c_ts)| {
                        c_ssrc == ssrc
                            && seq == c_seq.wrapping_add(1)
                            && i64::from(timestamp.wrapping_sub(c_ts) as i32).abs() <= threshold
                    });
                    if !follows {
                        self.candidate = Some((ssrc, seq, timestamp));
                        self.counters.stray += 1;
                        return Ok(PushOutcome::Stray);
                    }
                    self.resync(ssrc, timestamp);
                    resynced = true;
                    self.ref_ext
                } else {
                    ext
                }
            }
        };

        // Duplicate by sequence number.
        if !resynced && self.seen_seq(seq) {
            self.counters.duplicate += 1;
            return Ok(PushOutcome::Duplicate);
        }

        // Transit statistics, from every packet that is not a duplicate
        // (late ones are exactly the news that the target is too small).
        self.observe_transit(arrival - self.ts_us(ext));

        if self.started && ext < self.decoded_until() {
            self.mark_seq(seq);
            self.counters.late += 1;
            return Ok(PushOutcome::Late);
        }
        if self.slots.iter().any(|s| s.used && s.start == ext) {
            self.counters.duplicate += 1;
            return Ok(PushOutcome::Duplicate);
        }
        let Some(index) = self.slots.iter().position(|s| !s.used) else {
            self.counters.overflow += 1;
            return Ok(PushOutcome::Overflow);
        };
        self.mark_seq(seq);
        if i64::from(timestamp.wrapping_sub(self.ref_ts) as i32) > 0 {
            self.ref_ts = timestamp;
            self.ref_ext = ext;
        }
        let base = index * self.slot_bytes;
        self.arena[base..base + payload.len()].copy_from_slice(payload);
        self.slots[index] = Slot {
            used: true,
            start: ext,
            ticks,
            len: payload.len() as u32,
        };
        self.used += 1;
        self.counters.pushed += 1;
        Ok(if resynced {
            PushOutcome::Resynced
        } else {
            PushOutcome::Buffered
        })
    }

    fn resync_threshold_ticks(&self) -> i64 {
        let us = i64::try_from(self.config.resync_threshold.as_micros()).unwrap_or(i64::MAX);
        us.saturating_mul(self.clock) / 1_000_000
    }

    fn resync(&mut self, ssrc: Ssrc, timestamp: u32) {
        self.counters.resync += 1;
        self.candidate = None;
        for s in &mut self.slots {
            s.used = false;
        }
        self.used = 0;
        self.decoder.reset();
        self.pending_len = 0;
        self.pending_start = 0;
        self.started = false;
        self.ssrc = Some(ssrc);
        self.ref_ts = timestamp;
        self.ref_ext = 1 << 32;
        self.seq_top = None;
        self.seq_window = 0;
        self.min_transit = None;
    }

    fn seen_seq(&self, seq: u16) -> bool {
        let Some(top) = self.seq_top else {
            return false;
        };
        let back = top.wrapping_sub(seq);
        back < 64 && self.seq_window & (1 << back) != 0
    }

    fn mark_seq(&mut self, seq: u16) {
        let Some(top) = self.seq_top else {
            self.seq_top = Some(seq);
            self.seq_window = 1;
            return;
        };
        let ahead = seq.wrapping_sub(top) as i16;
        if ahead > 0 {
            let a = ahead as u32;
            self.seq_window = if a >= 64 { 0 } else { self.seq_window << a };
            self.seq_window |= 1;
            self.seq_top = Some(seq);
        } else {
            let back = u32::from(ahead.unsigned_abs());
            if back < 64 {
                self.seq_window |= 1 << back;
            }
        }
    }

    fn observe_transit(&mut self, transit: i64) {
        let min = match self.min_transit {
            None => transit,
            Some(m) if transit < m => transit,
            // Drift up slowly (time constant ~1024 packets) so that clock
            // skew and route changes are followed.
            Some(m) => m + (transit - m) / 1024,
        };
        self.min_transit = Some(min);
        let excess = transit - min;
        if excess > self.peak_excess {
            self.peak_excess = excess;
        } else {
            self.peak_excess -= (self.peak_excess - excess) / 256;
        }
    }

    /// The next 20 ms of playout, for the media clock tick at `now`.
    pub fn pop(&mut self, now: Instant) -> Option<Playout> {
        let now_us = self.now_us(now);
        let min_transit = self.min_transit.unwrap_or(0);
        let target = self.target_us();
        if !self.started {
            let first = self.slots.iter().filter(|s| s.used).map(|s| s.start).min();
            let Some(first) = first else {
                return self.conceal_idle();
            };
            if now_us - self.ts_us(first) < min_transit + target {
                return self.conceal_idle();
            }
            self.started = true;
            self.play_ts = first;
            self.pending_len = 0;
            self.pending_start = 0;
        }

        let offset = now_us - self.ts_us(self.play_ts) - min_transit;
        self.counters.current_delay_ms = (offset.max(0) / 1000) as u32;
        let error = offset - target;
        self.pops_since_shrink = self.pops_since_shrink.saturating_add(1);

        if !self.next_frame_available() && error < 0 {
            // Ahead of the target and the audio is not here yet: wait for
            // it, growing the delay by a frame.
            self.counters.grown += 1;
            return self.conceal_idle();
        }

        let mut out = AudioFrame::silence(self.rate);
        let mut kind = self.assemble(out.samples_mut());

        if error > self.frame_us {
            self.pops_over_target = self.pops_over_target.saturating_add(1);
        } else {
            self.pops_over_target = 0;
        }
        // Over by more than a frame, so that after the drop the offset is
        // still at or above the target: no oscillation with growing.
        let shrink_due = self.pops_since_shrink >= SHRINK_SPACING
            && error > self.frame_us
            && kind == FrameKind::Real
            && self.next_frame_available();
        let forced = error > 4 * self.frame_us || self.pops_over_target >= FORCE_SHRINK_AFTER;
        if shrink_due && (forced || out.level_dbov() < QUIET_DBOV) {
            let dropped = out.clone();
            kind = self.assemble(out.samples_mut());
            crossfade_into(
                dropped.samples(),
                out.samples_mut(),
                self.rate.hz() as usize / 400,
            );
            self.counters.shrunk += 1;
            self.pops_since_shrink = 0;
            self.pops_over_target = 0;
        }

        match kind {
            FrameKind::Real => {
                self.counters.popped += 1;
                Some(Playout::Audio(out))
            }
            FrameKind::Concealed { hole } => {
                if hole {
                    self.counters.lost += 1;
                } else {
                    self.counters.underrun += 1;
                }
                if self.plc.is_silent() && out.samples().iter().all(|&s| s == 0) {
                    return None;
                }
                self.counters.popped += 1;
                self.counters.concealed += 1;
                Some(Playout::Concealed(out))
            }
        }
    }

    /// A concealment frame that does not consume the timeline, or `None`
    /// if concealment has nothing left to say.
    fn conceal_idle(&mut self) -> Option<Playout> {
        if self.plc.is_silent() {
            return None;
        }
        let mut out = AudioFrame::silence(self.rate);
        self.plc.conceal(out.samples_mut());
        self.counters.popped += 1;
        self.counters.concealed += 1;
        Some(Playout::Concealed(out))
    }

    /// Whether the next whole frame can be played without concealment.
    fn next_frame_available(&self) -> bool {
        let mut have = self.pending_len;
        let mut at = self.decoded_until();
        while have < self.frame_samples {
            let Some(slot) = self.slots.iter().find(|s| s.used && s.start == at) else {
                return false;
            };
            have += slot.ticks as usize * self.spt;
            at += i64::from(slot.ticks);
        }
        true
    }

    /// Fills `out` (one frame) from decoded samples, packets and
    /// concealment, advancing the timeline.
    fn assemble(&mut self, out: &mut [i16]) -> FrameKind {
        let mut filled = 0;
        let mut kind = FrameKind::Real;
        while filled < out.len() {
            if self.pending_len > 0 {
                let n = self.pending_len.min(out.len() - filled);
                let s = self.pending_start;
                out[filled..filled + n].copy_from_slice(&self.pending[s..s + n]);
                self.plc.real(&mut out[filled..filled + n]);
                self.pending_start += n;
                self.pending_len -= n;
                if self.pending_len == 0 {
                    self.pending_start = 0;
                }
                self.play_ts += (n / self.spt) as i64;
                filled += n;
                continue;
            }
            let at = self.play_ts;
            // A packet starting here, or one that began earlier and is not
            // yet over (a resync or a misaligned sender).
            let found = self
                .slots
                .iter()
                .position(|s| s.used && s.start <= at && at < s.start + i64::from(s.ticks));
            if let Some(i) = found {
                let slot = self.slots[i];
                self.slots[i].used = false;
                self.used -= 1;
                let base = i * self.slot_bytes;
                let payload = &self.arena[base..base + slot.len as usize];
                match self.decoder.decode_into(payload, &mut self.pending[..]) {
                    Ok(n) => {
                        let skip = ((at - slot.start) as usize * self.spt).min(n);
                        self.pending_start = skip;
                        self.pending_len = n - skip;
                    }
                    Err(_) => self.counters.decode_errors += 1,
                }
                continue;
            }
            // A hole: conceal up to the next packet or the frame's end.
            let next = self
                .slots
                .iter()
                .filter(|s| s.used && s.start > at)
                .map(|s| s.start)
                .min();
            let room = (out.len() - filled) / self.spt;
            let ticks = match next {
                Some(n) => ((n - at) as usize).min(room),
                None => room,
            }
            .max(1);
            let n = ticks * self.spt;
            self.plc.conceal(&mut out[filled..filled + n]);
            self.play_ts += ticks as i64;
            filled += n;
            let hole = next.is_some() || matches!(kind, FrameKind::Concealed { hole: true });
            kind = FrameKind::Concealed { hole };
        }
        kind
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Real,
    /// `hole`: later audio was buffered (a loss), not an underrun.
    Concealed {
        hole: bool,
    },
}

/// Cross-fades the start of `to` from the start of `from` over `len`
/// samples (the splice after a dropped frame).
fn crossfade_into(from: &[i16], to: &mut [i16], len: usize) {
    let len = len.min(from.len()).min(to.len());
    for i in 0..len {
        let w = (i + 1) as f32 / (len + 1) as f32;
        let v = f32::from(from[i]) * (1.0 - w) + f32::from(to[i]) * w;
        to[i] = v as i16;
    }
}

// ---------------------------------------------------------------------------
// Packet-loss concealment
// ---------------------------------------------------------------------------

/// Pitch search range and history at 8 kHz (scaled by rate / 8000).
const PITCH_MIN_8K: usize = 40;
const PITCH_MAX_8K: usize = 120;
/// Three longest periods plus a quarter of one: 48.75 ms.
const HIST_8K: usize = 3 * PITCH_MAX_8K + PITCH_MAX_8K / 4;

/// Pitch-repetition concealment (see the module docs).
#[derive(Clone)]
struct Plc {
    /// rate / 8000.
    m: usize,
    /// 10 ms in samples.
    ten_ms: usize,
    hist: Box<[i16]>,
    /// Valid samples at the end of `hist` (of `HIST_8K · m`).
    hist_len: usize,
    /// History frozen at the start of the current erasure.
    snap: Box<[i16]>,
    snap_len: usize,
    /// Whether the last samples out were synthetic.
    in_erasure: bool,
    /// Samples synthesised in the current (or just ended) erasure; drives
    /// the attenuation, also while merging.
    erased: usize,
    pitch: usize,
    periods: usize,
    /// Read position in the repeated segment.
    pos: usize,
    /// Cross-fade from the previous period count: samples left.
    switch_left: usize,
    switch_pos: usize,
    /// Merge with real audio after an erasure: samples left and total.
    merge_left: usize,
    merge_len: usize,
}

impl Plc {
    fn new(rate: Rate) -> Self {
        let m = rate.hz() as usize / 8000;
        Self {
            m,
            ten_ms: 80 * m,
            hist: vec![0; HIST_8K * m].into_boxed_slice(),
            hist_len: 0,
            snap: vec![0; HIST_8K * m].into_boxed_slice(),
            snap_len: 0,
            in_erasure: false,
            erased: 0,
            pitch: 0,
            periods: 1,
            pos: 0,
            switch_left: 0,
            switch_pos: 0,
            merge_left: 0,
            merge_len: 0,
        }
    }

    fn hist_cap(&self) -> usize {
        HIST_8K * self.m
    }

    /// Whether concealment would only produce silence now.
    fn is_silent(&self) -> bool {
        self.hist_len == 0 || (self.in_erasure && self.erased >= 6 * self.ten_ms)
    }

    fn push_hist(&mut self, s: &[i16]) {
        let cap = self.hist_cap();
        if s.len() >= cap {
            self.hist[..cap].copy_from_slice(&s[s.len() - cap..]);
        } else {
            self.hist.copy_within(s.len()..cap, 0);
            self.hist[cap - s.len()..cap].copy_from_slice(s);
        }
        self.hist_len = (self.hist_len + s.len()).min(cap);
    }

    /// Real samples, about to be played: merged with the synthesis if an
    /// erasure just ended, then remembered.
    fn real(&mut self, samples: &mut [i16]) {
        if self.in_erasure {
            self.in_erasure = false;
            // Quarter period plus 4 ms per 10 ms erased, at most 10 ms.
            let tens = self.erased.div_ceil(self.ten_ms);
            let len = (self.pitch / 4 + tens * 32 * self.m).min(self.ten_ms);
            self.merge_len = len;
            self.merge_left = len;
        }
        if self.merge_left > 0 {
            let n = self.merge_left.min(samples.len());
            for s in samples.iter_mut().take(n) {
                let k = self.merge_len - self.merge_left;
                let w = (k + 1) as f32 / (self.merge_len + 1) as f32;
                let synth = self.synth_sample();
                let v = f32::from(*s) * w + synth * (1.0 - w);
                *s = v.clamp(-32768.0, 32767.0) as i16;
                self.merge_left -= 1;
            }
        }
        self.push_hist(samples);
    }

    /// Synthesises `out.len()` samples of concealment.
    fn conceal(&mut self, out: &mut [i16]) {
        if !self.in_erasure {
            self.start_erasure();
        }
        self.merge_left = 0;
        if self.pitch == 0 {
            out.fill(0);
            self.erased += out.len();
            return;
        }
        for o in out.iter_mut() {
            *o = self.synth_sample().clamp(-32768.0, 32767.0) as i16;
        }
        self.push_hist(out);
    }

    fn start_erasure(&mut self) {
        let cap = self.hist_cap();
        self.in_erasure = true;
        self.erased = 0;
        self.snap_len = self.hist_len;
        self.snap[..cap].copy_from_slice(&self.hist[..cap]);
        self.periods = 1;
        self.switch_left = 0;
        self.pitch = if self.hist_len < cap {
            0
        } else {
            find_pitch(&self.snap[..cap], self.m)
        };
        self.pos = 0;
    }

    /// Sample `j` of the loop of `n` periods: the last `n` periods of the
    /// frozen history, the loop's last quarter period overlap-added with
    /// what precedes its start so that it wraps without a seam.
    fn looped(&self, n: usize, j: usize) -> f32 {
        let cap = self.hist_cap();
        let len = n * self.pitch;
        let q = (self.pitch / 4).max(1);
        let base = cap - len;
        let x = f32::from(self.snap[base + j]);
        if j + q >= len && base >= q {
            let i = j + q - len; // 0..q
            let w = (i + 1) as f32 / (q + 1) as f32;
            let before = f32::from(self.snap[base - q + i]);
            x * (1.0 - w) + before * w
        } else {
            x
        }
    }

    /// The next synthetic sample, with period-count changes and the
    /// attenuation applied; advances the erasure.
    fn synth_sample(&mut self) -> f32 {
        if self.pitch == 0 {
            self.erased += 1;
            return 0.0;
        }
        // 1 period for 10 ms, then 2, then 3.
        let want = (1 + self.erased / self.ten_ms).min(3);
        if want != self.periods {
            // Same phase in the longer loop, starting at its oldest period.
            let phase = self.pos % self.pitch;
            self.switch_pos = self.pos;
            self.switch_left = (self.pitch / 4).max(1);
            self.periods = want;
            self.pos = phase;
        }
        let len = self.periods * self.pitch;
        let mut x = self.looped(self.periods, self.pos);
        if self.switch_left > 0 {
            let q = (self.pitch / 4).max(1);
            let old_len = (self.periods - 1) * self.pitch;
            let w = (q - self.switch_left + 1) as f32 / (q + 1) as f32;
            let old = self.looped(self.periods - 1, self.switch_pos % old_len);
            x = old * (1.0 - w) + x * w;
            self.switch_pos += 1;
            self.switch_left -= 1;
        }
        self.pos = (self.pos + 1) % len;
        // Full level for 10 ms, then −20 % per 10 ms: silent at 60 ms.
        let gain = if self.erased < self.ten_ms {
            1.0
        } else {
            (1.0 - 0.2 * (self.erased - self.ten_ms) as f32 / self.ten_ms as f32).max(0.0)
        };
        self.erased += 1;
        x * gain
    }
}

/// The pitch period of the end of `x` (at `m` × 8 kHz), by maximum
/// normalised autocorrelation of its last 15 ms against earlier windows.
fn find_pitch(x: &[i16], m: usize) -> usize {
    let (pmin, pmax) = (PITCH_MIN_8K * m, PITCH_MAX_8K * m);
    let win = PITCH_MAX_8K * m;
    let end = x.len();
    let score = |p: usize, step: usize| -> f64 {
        let mut c = 0i64;
        let mut e = 0i64;
        let mut i = end - win;
        while i < end {
            let a = i64::from(x[i]);
            let b = i64::from(x[i - p]);
            c += a * b;
            e += b * b;
            i += step;
        }
        if e == 0 || c <= 0 {
            0.0
        } else {
            (c as f64) * (c as f64) / e as f64
        }
    };
    // Coarse: every other 8 kHz sample and lag.
    let step = 2 * m;
    let mut best = pmin;
    let mut best_score = -1.0;
    let mut p = pmin;
    while p <= pmax {
        let s = score(p, step);
        if s > best_score {
            best_score = s;
            best = p;
        }
        p += step;
    }
    // Fine: every lag around the coarse best, every sample.
    let lo = best.saturating_sub(step).max(pmin);
    let hi = (best + step).min(pmax);
    let mut fine_best = best;
    let mut fine_score = -1.0;
    for p in lo..=hi {
        let s = score(p, 1);
        if s > fine_score {
            fine_score = s;
            fine_best = p;
        }
    }
    fine_best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: usize, hz: f64, n: usize, start: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn pitch_of_a_periodic_signal() {
        for (m, rate) in [(1, 8000), (2, 16000), (6, 48000)] {
            // 160 Hz: a 50-sample period at 8 kHz.
            let x = sine(rate, 160.0, HIST_8K * m, 0);
            let p = find_pitch(&x, m);
            assert_eq!(p % (50 * m), 0, "rate {rate}: pitch {p}");
        }
    }

    #[test]
    fn concealment_continues_then_fades() {
        let mut plc = Plc::new(Rate::Hz8000);
        let mut x = sine(8000, 200.0, 400, 0);
        plc.real(&mut x);
        let mut out = [0i16; 160];
        plc.conceal(&mut out);
        let expect = sine(8000, 200.0, 160, 400);
        let err: f64 = out[..80]
            .iter()
            .zip(&expect)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .sum::<f64>()
            / 80.0;
        assert!(err < 300.0, "mean error {err}");
        let mut tail = [0i16; 400];
        plc.conceal(&mut tail);
        assert!(tail[320..].iter().all(|&s| s == 0));
        assert!(plc.is_silent());
    }
}
