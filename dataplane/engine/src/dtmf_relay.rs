//! DTMF relay between in-band audio and RFC 4733 telephone events, one
//! leg and one direction per object.
//!
//! # What
//!
//! * [`InbandToRfc4733`]: detects DTMF (ITU-T Q.23/Q.24, with
//!   [`tandem_dsp::dtmf::DtmfDetector`]) in a leg's decoded incoming audio,
//!   sends each digit as RFC 4733 telephone events, and **removes the tone**
//!   from the audio forwarded to the far end, so that the far end hears the
//!   digit once, as an event, and never as audio.
//! * [`Rfc4733ToInband`]: receives RFC 4733 telephone events and plays the
//!   digits as in-band tones ([`tandem_dsp::tone::DtmfGenerator`]) into the
//!   audio sent to a leg that only understands in-band DTMF.
//!
//! Both report [`RelayEvent`]s (digit started / ended, with its source) for
//! the worker to forward to the control plane (IVR, barge-in).
//!
//! # Standards
//!
//! RFC 4733 §2.3 (payload, via [`tandem_wire::telephone_event`]) and:
//!
//! * **Sender, §2.5.1.** The first packet of an event carries the RTP
//!   marker bit (§2.5.1.1); every packet of the event carries the event's
//!   start timestamp and the duration so far (§2.5.1.2, §2.5.1.3); updates
//!   go every [`SenderConfig::update_interval_ms`] (50 ms by default, the
//!   §2.5.1.3 example); the final packet has the E bit and is sent
//!   [`SenderConfig::end_repeats`] times, three by default (§2.5.1.4). An
//!   event longer than 0xFFFF timestamp units is split (§2.5.1.3): the
//!   segment ends with a packet of duration 0xFFFF (E bit clear) and the
//!   next segment starts with timestamp + 0xFFFF, without the marker bit.
//!   The volume is the tone pair's measured power in −dBm0 (§2.3.4),
//!   clamped to 0–63.
//! * **Receiver, §2.5.2.** An event is identified by its timestamp: all
//!   packets with the timestamp of an event already ended (retransmitted end
//!   packets, late updates) are ignored, so each event gives one digit. An
//!   event whose start packets were lost starts at its first packet
//!   received, whatever its marker bit (§2.5.2.1). A packet with a newer
//!   timestamp ends the current event if its end packets were all lost; a
//!   packet older than the current event is ignored (reordering). A
//!   segment continuing a long event (same event, timestamp = previous +
//!   its 0xFFFF duration) continues the digit. A **watchdog** ends a digit
//!   when no packet has arrived for [`ReceiverConfig::watchdog_ms`]
//!   (§2.5.2.3 leaves this to the receiver).
//!
//! # Design: suppressing the in-band tone
//!
//! The detector confirms a digit only after hearing 30 ms of it (Q.24
//! requires ignoring ≤ 20 ms bursts), and reports its estimated first
//! sample. To guarantee that no tone reaches the far end, the forwarded
//! audio goes through a **look-ahead delay** of
//! [`SenderConfig::lookahead_frames`] frames (3 by default: 60 ms). When a
//! digit is confirmed, samples from its start (minus
//! [`SenderConfig::guard_ms`]) have not left yet; from then on every
//! sample is replaced by silence until the detector reports the digit's
//! end (plus the guard). Samples, not whole frames, are silenced, so the
//! speech around a digit survives.
//!
//! The delay needed is the detection latency — the distance from the
//! digit's start to the end of the frame in which it is confirmed — plus
//! the guard. Measured by `tests/dtmf-relay-inband-to-rfc4733.rs` over
//! digits at every phase relative to the frame grid and levels from −3 to
//! −30 dBm0, guard included: at most 50.0 ms at 8 kHz (confirmation
//! ≈ 30–35 ms after the start, plus up to one frame of granularity),
//! 53.6 ms at 16 kHz and 53.1 ms at 48 kHz (the 8 kHz decimator before the
//! detector adds 3.6 ms). The budget is `(lookahead_frames + 1)` frames,
//! because the frame being received is itself already behind the one being
//! forwarded: 80 ms with the default 3, so the 60 ms look-ahead covers it; [`Counters::late_starts`]
//! counts digits whose start had already left (zero in the tests), and
//! [`InbandToRfc4733::max_detection_lag`] exposes the measured maximum.
//! Even then at most a fragment shorter than the detector's 25 ms
//! rejection limit could leak.
//!
//! Telephone events are emitted on the *output* timeline: the first packet
//! of a digit goes out with the output frame that contains the digit's
//! start, so the events line up with the (delayed) audio they replace.
//! Their timestamps are derived from the RTP timestamp the worker passes
//! for each output frame.
//!
//! Legs at 16 or 48 kHz are decimated to 8 kHz for the detector (whose
//! positions are corrected for the decimator's delay); tones are generated
//! at the leg's rate. RFC 4733 durations are in units of the leg's RTP
//! clock, which the relay takes to be the audio rate.
//!
//! Nothing allocates after construction: the delay line, the output and
//! event queues are reserved in `new` and bounded; overflow is counted.
//!
//! # Counters
//!
//! [`Counters`], per relay; the worker sums them per leg direction into
//! `tandem_dtmf_relay_<counter>_total{direction="inband_to_rfc4733"|"rfc4733_to_inband"}`.
//!
//! | counter | meaning |
//! |---|---|
//! | `digits` | digits started (detected in-band, or received) |
//! | `packets` | telephone-event payloads produced (sender) or accepted (receiver) |
//! | `late_starts` | in-band digits confirmed after part of their tone had been forwarded |
//! | `retransmits_ignored` | packets of an already ended event |
//! | `out_of_order` | packets older than the current event, or with a smaller duration |
//! | `lost_ends` | events ended by a newer event because their end packets were lost |
//! | `watchdog_ends` | events ended by the watchdog |
//! | `malformed` | payloads too short, or an event code changing within an event |
//! | `unsupported_events` | events that are not DTMF digits (codes ≥ 16) |
//! | `queue_overflows` | packets or events dropped because a bounded queue was full |
//!
//! # Driving it
//!
//! ```
//! use tandem_dataplane::dtmf_relay::{InbandToRfc4733, SenderConfig};
//! use tandem_dataplane::frame::AudioFrame;
//! use tandem_dsp::resample::Rate;
//!
//! let mut tx = InbandToRfc4733::new(SenderConfig::new(Rate::Hz8000));
//! let mut out = AudioFrame::silence(Rate::Hz8000);
//! let mut ts: u32 = 1000; // RTP timestamp of the next outgoing frame
//! // Every 20 ms, with the decoded incoming frame:
//! tx.handle_inband(&AudioFrame::silence(Rate::Hz8000), ts, &mut out);
//! ts = ts.wrapping_add(160);
//! while let Some(p) = tx.poll_telephone_event() {
//!     let _ = (p.payload, p.marker, p.timestamp); // send with PT telephone-event
//! }
//! // `out` is the cleaned, delayed audio to encode and send.
//! while let Some(e) = tx.poll_event() {
//!     let _ = e; // to the control plane
//! }
//! ```
#![warn(missing_docs)]

use std::collections::VecDeque;

use tandem_dsp::dtmf::{DtmfDetector, DtmfEvent};
use tandem_dsp::resample::{Rate, Resampler};
use tandem_dsp::tone::{DtmfGenerator, DtmfParams, ToneError};
use tandem_wire::telephone_event::{
    MAX_VOLUME, TelephoneEventPacket, TelephoneEventRepr, digit_to_event, event_to_digit,
};

use crate::command::DtmfSource;
use crate::frame::{AudioFrame, MAX_FRAME_SAMPLES, frame_len};

/// What a relay tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEvent {
    /// A digit began.
    DigitStarted {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// Where it came from.
        source: DtmfSource,
    },
    /// A digit ended.
    DigitEnded {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// Where it came from.
        source: DtmfSource,
        /// Its duration, ms (detected tone length, or the RFC 4733
        /// duration received).
        duration_ms: u32,
    },
}

/// One telephone-event payload to send, with what the RTP header needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventOut {
    /// The 4-octet RFC 4733 payload.
    pub payload: [u8; 4],
    /// RTP marker bit (first packet of an event).
    pub marker: bool,
    /// RTP timestamp: the event's (segment's) start.
    pub timestamp: u32,
}

impl TelephoneEventOut {
    /// The payload parsed back.
    pub fn repr(&self) -> TelephoneEventRepr {
        let p = TelephoneEventPacket::new_unchecked(&self.payload[..]);
        TelephoneEventRepr {
            event: p.event(),
            end: p.end(),
            volume: p.volume(),
            duration: p.duration(),
        }
    }
}

/// Why a telephone-event payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelayError {
    /// Payload shorter than four octets (the peer's fault).
    Malformed(tandem_wire::Error),
    /// The event code changed within one event timestamp (the peer breaks
    /// RFC 4733 §2.5.1.2).
    EventChanged {
        /// The event code of the event in progress.
        expected: u8,
        /// The event code received.
        got: u8,
    },
}

impl core::fmt::Display for RelayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RelayError::Malformed(e) => write!(f, "malformed telephone-event payload: {e:?}"),
            RelayError::EventChanged { expected, got } => write!(
                f,
                "peer changed the event code from {expected} to {got} within one event"
            ),
        }
    }
}

impl std::error::Error for RelayError {}

/// A relay's counters (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Digits started.
    pub digits: u64,
    /// Payloads produced (sender) or accepted (receiver).
    pub packets: u64,
    /// In-band digits confirmed after part of their tone had been forwarded.
    pub late_starts: u64,
    /// Packets of an already ended event.
    pub retransmits_ignored: u64,
    /// Packets older than the current event or with a smaller duration.
    pub out_of_order: u64,
    /// Events ended by a newer event (end packets lost).
    pub lost_ends: u64,
    /// Events ended by the watchdog.
    pub watchdog_ends: u64,
    /// Malformed payloads.
    pub malformed: u64,
    /// Non-DTMF events ignored.
    pub unsupported_events: u64,
    /// Packets or events dropped because a bounded queue was full.
    pub queue_overflows: u64,
}

const OUT_QUEUE: usize = 32;
const EVENT_QUEUE: usize = 16;
const MAX_DURATION: u64 = 0xFFFF;

fn push_bounded<T>(q: &mut VecDeque<T>, cap: usize, item: T, overflow: &mut u64) {
    if q.len() >= cap {
        *overflow += 1;
    } else {
        q.push_back(item);
    }
}

fn samples_to_ms(samples: u64, rate: Rate) -> u32 {
    u32::try_from(samples * 1000 / u64::from(rate.hz())).unwrap_or(u32::MAX)
}

fn ms_to_samples(ms: u32, rate: Rate) -> u64 {
    u64::from(ms) * u64::from(rate.hz()) / 1000
}

// ---------------------------------------------------------------------------
// In-band → RFC 4733
// ---------------------------------------------------------------------------

/// Settings of [`InbandToRfc4733`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SenderConfig {
    /// The leg's audio rate (also its RTP clock for telephone events).
    pub rate: Rate,
    /// Frames of look-ahead delay on the forwarded audio (default 3).
    pub lookahead_frames: usize,
    /// Extra silence on each side of a detected digit, ms (default 5; the
    /// detector places edges within about 3 ms).
    pub guard_ms: u32,
    /// Interval between duration updates, ms (default 50, RFC 4733
    /// §2.5.1.3).
    pub update_interval_ms: u32,
    /// Times the final (E bit) packet is sent (default 3, §2.5.1.4).
    pub end_repeats: u32,
}

impl SenderConfig {
    /// Defaults for a leg at `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            lookahead_frames: 3,
            guard_ms: 5,
            update_interval_ms: 50,
            end_repeats: 3,
        }
    }
}

/// A digit being sent as telephone events.
#[derive(Debug, Clone, Copy)]
struct TxEvent {
    event: u8,
    /// First sample (input positions at the leg's rate).
    start: u64,
    /// One past the last sample, once known.
    end: Option<u64>,
    volume: u8,
    /// Start of the current segment (advances by 0xFFFF per split).
    seg_start: u64,
    /// RTP timestamp of the current segment, once the first packet went.
    seg_ts: Option<u32>,
    /// Position at which the next update is due.
    next_update: u64,
}

/// In-band DTMF → RFC 4733, with the tone removed from the forwarded audio
/// (see the module docs).
pub struct InbandToRfc4733 {
    config: SenderConfig,
    n: usize,
    /// Leg samples per 8 kHz sample.
    ratio: u64,
    detector: DtmfDetector,
    decimator: Option<Resampler>,
    /// Decimator delay, in 8 kHz samples.
    decim_delay: u64,
    /// Delay line: `lookahead + 1` frames.
    ring: Vec<[i16; MAX_FRAME_SAMPLES]>,
    frames_in: u64,
    guard: u64,
    update: u64,
    /// Suppression intervals `[start, end)`, input positions; the last may
    /// be open (`end == u64::MAX`) while a digit is under way.
    suppress: VecDeque<(u64, u64)>,
    tx: VecDeque<TxEvent>,
    out: VecDeque<TelephoneEventOut>,
    events: VecDeque<RelayEvent>,
    max_lag: u64,
    counters: Counters,
}

impl core::fmt::Debug for InbandToRfc4733 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InbandToRfc4733")
            .field("rate", &self.config.rate.hz())
            .field("frames_in", &self.frames_in)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl InbandToRfc4733 {
    /// A relay for one leg's incoming audio. Allocates its delay line and
    /// queues here (control path).
    pub fn new(config: SenderConfig) -> Self {
        let config = SenderConfig {
            lookahead_frames: config.lookahead_frames.clamp(1, 16),
            update_interval_ms: config.update_interval_ms.clamp(10, 5000),
            end_repeats: config.end_repeats.clamp(1, 8),
            guard_ms: config.guard_ms.min(40),
            ..config
        };
        let rate = config.rate;
        let decimator = (rate != Rate::Hz8000).then(|| Resampler::new(rate, Rate::Hz8000));
        let decim_delay = decimator.as_ref().map_or(0, |d| d.delay() as u64);
        InbandToRfc4733 {
            n: frame_len(rate),
            ratio: u64::from(rate.hz() / 8000),
            detector: DtmfDetector::new(),
            decimator,
            decim_delay,
            ring: vec![[0; MAX_FRAME_SAMPLES]; config.lookahead_frames + 1],
            frames_in: 0,
            guard: ms_to_samples(config.guard_ms, rate),
            update: ms_to_samples(config.update_interval_ms, rate),
            suppress: VecDeque::with_capacity(8),
            tx: VecDeque::with_capacity(8),
            out: VecDeque::with_capacity(OUT_QUEUE),
            events: VecDeque::with_capacity(EVENT_QUEUE),
            max_lag: 0,
            counters: Counters::default(),
            config,
        }
    }

    /// The look-ahead delay the forwarded audio goes through, in samples at
    /// the leg's rate.
    pub fn delay_samples(&self) -> usize {
        self.config.lookahead_frames * self.n
    }

    /// The largest detection latency seen so far, samples at the leg's rate:
    /// from a digit's start (minus the guard) to the end of the frame in
    /// which it was confirmed. Must stay within
    /// `(lookahead_frames + 1) × frame` for full suppression.
    pub fn max_detection_lag(&self) -> u64 {
        self.max_lag
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether a telephone event is under way on the output timeline (its
    /// first packet sent, its end packets not yet). The forwarded audio is
    /// silence meanwhile; the worker may send it or skip those audio
    /// packets, as its RTP profile prefers.
    pub fn event_in_progress(&self) -> bool {
        self.tx.front().is_some_and(|t| t.seg_ts.is_some())
    }

    /// Takes one 20 ms frame of the leg's decoded incoming audio and writes
    /// the frame to forward into `out`: the audio of `lookahead_frames`
    /// frames ago, with any DTMF replaced by silence. `out_ts` is the RTP
    /// timestamp the worker will send `out` with; telephone events are
    /// stamped relative to it. A frame at the wrong rate is treated as
    /// silence. Hot path: no allocation.
    pub fn handle_inband(&mut self, input: &AudioFrame, out_ts: u32, out: &mut AudioFrame) {
        let n = self.n;
        let slots = self.ring.len() as u64;
        let slot = (self.frames_in % slots) as usize;
        if input.rate() == self.config.rate {
            self.ring[slot][..n].copy_from_slice(input.samples());
        } else {
            self.ring[slot][..n].fill(0);
        }
        self.frames_in += 1;
        let frame_end = self.frames_in * n as u64;

        // Detect.
        let mut detected: [Option<DtmfEvent>; 4] = [None; 4];
        let mut count = 0;
        let mut sink = |e| {
            if let Some(d) = detected.get_mut(count) {
                *d = Some(e);
                count += 1;
            }
        };
        match &mut self.decimator {
            None => self.detector.process(&self.ring[slot][..n], &mut sink),
            Some(dec) => {
                let mut low = [0i16; MAX_FRAME_SAMPLES];
                let got = dec.process(&self.ring[slot][..n], &mut low);
                self.detector.process(&low[..got], &mut sink);
            }
        }
        for e in detected.into_iter().flatten() {
            self.on_detected(e, frame_end);
        }

        // Emit the delayed frame.
        *out = AudioFrame::silence(self.config.rate);
        let look = self.config.lookahead_frames as u64;
        let emitted = self.frames_in - 1;
        if emitted < look {
            // Still filling the look-ahead: send silence, no events yet.
            return;
        }
        let k = emitted - look;
        let f0 = k * n as u64;
        let f1 = f0 + n as u64;
        out.samples_mut()
            .copy_from_slice(&self.ring[(k % slots) as usize][..n]);
        for &(s, e) in &self.suppress {
            let a = s.max(f0);
            let b = e.min(f1);
            if a < b {
                out.samples_mut()[(a - f0) as usize..(b - f0) as usize].fill(0);
            }
        }
        while self.suppress.front().is_some_and(|&(_, e)| e <= f1) {
            self.suppress.pop_front();
        }
        self.send_events(f0, f1, out_ts);
    }

    /// The next telephone-event payload to send, oldest first.
    #[must_use]
    pub fn poll_telephone_event(&mut self) -> Option<TelephoneEventOut> {
        self.out.pop_front()
    }

    /// The next event for the worker, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RelayEvent> {
        self.events.pop_front()
    }

    /// Converts a detector position (8 kHz) to a leg position.
    fn to_leg(&self, at: u64) -> u64 {
        at.saturating_sub(self.decim_delay) * self.ratio
    }

    fn on_detected(&mut self, e: DtmfEvent, now: u64) {
        match e {
            DtmfEvent::Start { digit, at } => {
                let start = self.to_leg(at);
                let from = start.saturating_sub(self.guard);
                self.max_lag = self.max_lag.max(now.saturating_sub(from));
                let look = self.config.lookahead_frames as u64 * self.n as u64;
                // The oldest sample still in the delay line.
                let oldest = (now - self.n as u64).saturating_sub(look);
                if from < oldest && now > look + self.n as u64 {
                    self.counters.late_starts += 1;
                }
                if self.suppress.len() >= self.suppress.capacity().max(8) {
                    self.suppress.pop_front();
                    self.counters.queue_overflows += 1;
                }
                self.suppress.push_back((from, u64::MAX));
                let volume = self.measure_volume(start + self.guard, now);
                let Some(event) = digit_to_event(digit) else {
                    return;
                };
                if self.tx.len() >= 8 {
                    self.counters.queue_overflows += 1;
                } else {
                    self.tx.push_back(TxEvent {
                        event,
                        start,
                        end: None,
                        volume,
                        seg_start: start,
                        seg_ts: None,
                        next_update: start + self.update,
                    });
                }
                self.counters.digits += 1;
                push_bounded(
                    &mut self.events,
                    EVENT_QUEUE,
                    RelayEvent::DigitStarted {
                        digit,
                        source: DtmfSource::InBand,
                    },
                    &mut self.counters.queue_overflows,
                );
            }
            DtmfEvent::End(d) => {
                let start = self.to_leg(d.start);
                let end = self.to_leg(d.end).max(start + 1);
                if let Some(last) = self.suppress.back_mut()
                    && last.1 == u64::MAX
                {
                    last.1 = end + self.guard;
                }
                if let Some(tx) = self.tx.iter_mut().rev().find(|t| t.end.is_none()) {
                    tx.end = Some(end.max(tx.start + 1));
                }
                push_bounded(
                    &mut self.events,
                    EVENT_QUEUE,
                    RelayEvent::DigitEnded {
                        digit: d.digit,
                        source: DtmfSource::InBand,
                        duration_ms: samples_to_ms(end - start, self.config.rate),
                    },
                    &mut self.counters.queue_overflows,
                );
            }
        }
    }

    /// The power of the samples `[from, to)` still in the delay line, as
    /// an RFC 4733 volume (−dBm0, 0–63).
    fn measure_volume(&self, from: u64, to: u64) -> u8 {
        let n = self.n as u64;
        let slots = self.ring.len() as u64;
        let oldest = (to - n).saturating_sub((slots - 1) * n);
        let from = from.max(oldest);
        let mut energy = 0.0f64;
        let mut count = 0u64;
        for pos in from..to {
            let frame = pos / n;
            let s = self.ring[(frame % slots) as usize][(pos % n) as usize];
            energy += f64::from(s) * f64::from(s);
            count += 1;
        }
        if count == 0 || energy <= 0.0 {
            return MAX_VOLUME;
        }
        // 0 dBm0 sine: peak 22 905, mean square 22 905² / 2.
        let zero_dbm0 = 22_905.0f64 * 22_905.0 / 2.0;
        let dbm0 = 10.0 * (energy / count as f64 / zero_dbm0).log10();
        (-dbm0).round().clamp(0.0, f64::from(MAX_VOLUME)) as u8
    }

    fn emit(&mut self, event: u8, end: bool, volume: u8, duration: u64, marker: bool, ts: u32) {
        let repr = TelephoneEventRepr {
            event,
            end,
            volume,
            duration: duration.min(MAX_DURATION) as u16,
        };
        let mut payload = [0u8; 4];
        if repr.emit(&mut payload).is_err() {
            return;
        }
        self.counters.packets += 1;
        push_bounded(
            &mut self.out,
            OUT_QUEUE,
            TelephoneEventOut {
                payload,
                marker,
                timestamp: ts,
            },
            &mut self.counters.queue_overflows,
        );
    }

    /// Sends what falls due in the output frame `[f0, f1)` sent with `ts`.
    fn send_events(&mut self, f0: u64, f1: u64, ts: u32) {
        let stamp = |pos: u64| ts.wrapping_add(pos.wrapping_sub(f0) as u32);
        while let Some(mut t) = self.tx.front().copied() {
            if t.start >= f1 {
                break;
            }
            let mut marker = false;
            if t.seg_ts.is_none() {
                t.seg_ts = Some(stamp(t.seg_start));
                marker = true;
            }
            // Split segments that would overflow the duration field.
            let now = t.end.map_or(f1, |e| e.min(f1));
            while now - t.seg_start > MAX_DURATION {
                let seg_ts = t.seg_ts.unwrap_or_else(|| stamp(t.seg_start));
                self.emit(t.event, false, t.volume, MAX_DURATION, marker, seg_ts);
                marker = false;
                t.seg_start += MAX_DURATION;
                t.seg_ts = Some(seg_ts.wrapping_add(MAX_DURATION as u32));
            }
            let seg_ts = t.seg_ts.unwrap_or_else(|| stamp(t.seg_start));
            match t.end {
                Some(end) if end <= f1 => {
                    let dur = end - t.seg_start;
                    if marker {
                        // A digit wholly inside one frame: start packet first.
                        self.emit(t.event, false, t.volume, dur, true, seg_ts);
                    }
                    for _ in 0..self.config.end_repeats {
                        self.emit(t.event, true, t.volume, dur, false, seg_ts);
                    }
                    self.tx.pop_front();
                    continue;
                }
                _ => {
                    if marker || f1 >= t.next_update {
                        self.emit(t.event, false, t.volume, f1 - t.seg_start, marker, seg_ts);
                        while t.next_update <= f1 {
                            t.next_update += self.update;
                        }
                    }
                    if let Some(front) = self.tx.front_mut() {
                        *front = t;
                    }
                    break;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// RFC 4733 → in-band
// ---------------------------------------------------------------------------

/// How generated tones combine with the leg's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InbandMode {
    /// The tone replaces the audio while it plays (default).
    Replace,
    /// The tone is added to the audio (saturating).
    Mix,
}

/// Settings of [`Rfc4733ToInband`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReceiverConfig {
    /// The leg's audio rate (also the telephone-event RTP clock).
    pub rate: Rate,
    /// Tone level and twist (`on_ms`/`off_ms` are ignored: durations come
    /// from the events).
    pub tone: DtmfParams,
    /// Shortest tone played, ms (default 40, Q.24's minimum).
    pub min_tone_ms: u32,
    /// Least silence between two played digits, ms (default 40).
    pub min_gap_ms: u32,
    /// A digit with no packet for this long is ended, ms (default 250).
    pub watchdog_ms: u32,
    /// Replace or mix.
    pub mode: InbandMode,
}

impl ReceiverConfig {
    /// Defaults for a leg at `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            tone: DtmfParams::default(),
            min_tone_ms: 40,
            min_gap_ms: 40,
            watchdog_ms: 250,
            mode: InbandMode::Replace,
        }
    }
}

/// An event being received.
#[derive(Debug, Clone, Copy)]
struct RxEvent {
    event: u8,
    /// Timestamp of the current segment.
    ts: u32,
    /// Duration of the segments before the current one.
    base: u64,
    /// Largest duration received in the current segment.
    duration: u64,
    /// Samples of playout since the last packet.
    idle: u64,
}

/// A digit waiting to be, or being, played.
#[derive(Debug, Clone, Copy)]
struct ToneJob {
    digit: char,
    played: u64,
    /// Samples to play, once the event has ended.
    target: Option<u64>,
}

/// RFC 4733 → in-band DTMF (see the module docs).
pub struct Rfc4733ToInband {
    config: ReceiverConfig,
    generator: DtmfGenerator,
    current: Option<RxEvent>,
    /// Timestamps (and events) of recently ended events.
    ended: [Option<(u32, u8)>; 8],
    ended_next: usize,
    jobs: VecDeque<ToneJob>,
    playing: bool,
    gap_left: u64,
    events: VecDeque<RelayEvent>,
    counters: Counters,
}

impl core::fmt::Debug for Rfc4733ToInband {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rfc4733ToInband")
            .field("rate", &self.config.rate.hz())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Rfc4733ToInband {
    /// A receiver for one leg. Allocates its queues here.
    ///
    /// # Errors
    /// [`ToneError`] if the tone level or twist is not finite.
    pub fn new(config: ReceiverConfig) -> Result<Self, ToneError> {
        let params = DtmfParams {
            // One digit plays until cleared: 10 minutes is beyond any event.
            on_ms: 600_000,
            off_ms: 0,
            ..config.tone
        };
        Ok(Rfc4733ToInband {
            generator: DtmfGenerator::new(params, config.rate)?,
            config,
            current: None,
            ended: [None; 8],
            ended_next: 0,
            jobs: VecDeque::with_capacity(8),
            playing: false,
            gap_left: 0,
            events: VecDeque::with_capacity(EVENT_QUEUE),
            counters: Counters::default(),
        })
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether a digit is being received or played.
    pub fn is_active(&self) -> bool {
        self.current.is_some() || !self.jobs.is_empty()
    }

    /// Takes one received telephone-event packet: its RTP timestamp and
    /// marker bit and its payload. Hot path: no allocation.
    ///
    /// # Errors
    /// [`RelayError`] for a malformed payload or a peer breaking RFC 4733;
    /// the packet is then ignored (and counted).
    pub fn handle_telephone_event(
        &mut self,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<(), RelayError> {
        let packet = TelephoneEventPacket::new_checked(payload).map_err(|e| {
            self.counters.malformed += 1;
            RelayError::Malformed(e)
        })?;
        let repr = TelephoneEventRepr::parse(&packet).map_err(RelayError::Malformed)?;
        if event_to_digit(repr.event).is_none() {
            self.counters.unsupported_events += 1;
            return Ok(());
        }
        if self
            .ended
            .iter()
            .flatten()
            .any(|&(ts, ev)| ts == timestamp && ev == repr.event)
        {
            self.counters.retransmits_ignored += 1;
            return Ok(());
        }
        let duration = u64::from(repr.duration);
        match self.current {
            Some(cur) if cur.ts == timestamp => {
                if cur.event != repr.event {
                    self.counters.malformed += 1;
                    return Err(RelayError::EventChanged {
                        expected: cur.event,
                        got: repr.event,
                    });
                }
                self.counters.packets += 1;
                let cur = self.current.as_mut().expect("matched Some");
                cur.idle = 0;
                if duration < cur.duration {
                    self.counters.out_of_order += 1;
                } else {
                    cur.duration = duration;
                }
                if repr.end {
                    self.end_current();
                }
                Ok(())
            }
            Some(cur) => {
                let ahead = timestamp.wrapping_sub(cur.ts) as i32;
                if ahead < 0 {
                    self.counters.out_of_order += 1;
                    return Ok(());
                }
                self.counters.packets += 1;
                // A long event's next segment (§2.5.1.3): same event,
                // timestamp advanced by the previous segment's duration.
                if !marker
                    && repr.event == cur.event
                    && cur.duration == MAX_DURATION
                    && u64::from(timestamp.wrapping_sub(cur.ts)) == MAX_DURATION
                {
                    let c = self.current.as_mut().expect("matched Some");
                    c.base += MAX_DURATION;
                    c.ts = timestamp;
                    c.duration = duration;
                    c.idle = 0;
                    if repr.end {
                        self.end_current();
                    }
                    return Ok(());
                }
                // A newer event: the current one's end packets were lost.
                self.counters.lost_ends += 1;
                self.end_current();
                self.start(timestamp, repr.event, duration, repr.end);
                Ok(())
            }
            None => {
                let newest_ended = self.ended[(self.ended_next + 7) % 8];
                if let Some((ts, _)) = newest_ended
                    && (timestamp.wrapping_sub(ts) as i32) < 0
                {
                    self.counters.out_of_order += 1;
                    return Ok(());
                }
                self.counters.packets += 1;
                self.start(timestamp, repr.event, duration, repr.end);
                Ok(())
            }
        }
    }

    /// Writes the in-band tone (if a digit is playing) into the 20 ms of
    /// audio about to be sent to the leg, replacing or mixing per the
    /// config. Call once per outgoing frame: it is also the receiver's
    /// clock (playout and watchdog). Hot path: no allocation.
    pub fn fill_inband(&mut self, audio: &mut AudioFrame) {
        let rate = self.config.rate;
        let n = frame_len(rate);
        let mut tone = [0i16; MAX_FRAME_SAMPLES];
        let mut done = 0usize;
        let min = ms_to_samples(self.config.min_tone_ms, rate);
        let gap = ms_to_samples(self.config.min_gap_ms, rate);
        // Tone samples are written into `tone[a..b]` spans; remember them.
        let mut spans: [(usize, usize); 4] = [(0, 0); 4];
        let mut nspans = 0;
        while done < n {
            if self.gap_left > 0 {
                let k = (self.gap_left.min((n - done) as u64)) as usize;
                self.gap_left -= k as u64;
                done += k;
                continue;
            }
            let Some(job) = self.jobs.front_mut() else {
                break;
            };
            if !self.playing {
                self.generator.clear();
                let mut buf = [0u8; 4];
                if self
                    .generator
                    .push(job.digit.encode_utf8(&mut buf))
                    .is_err()
                {
                    self.jobs.pop_front();
                    continue;
                }
                self.playing = true;
            }
            let left = (n - done) as u64;
            let k = match job.target {
                Some(t) => t.max(min).saturating_sub(job.played).min(left),
                None => left,
            } as usize;
            self.generator.fill(&mut tone[done..done + k]);
            job.played += k as u64;
            if nspans < spans.len() {
                spans[nspans] = (done, done + k);
                nspans += 1;
            }
            done += k;
            if job.target.is_some_and(|t| job.played >= t.max(min)) {
                self.jobs.pop_front();
                self.generator.clear();
                self.playing = false;
                self.gap_left = gap;
            }
        }
        if nspans > 0 && audio.rate() == rate {
            let out = audio.samples_mut();
            for &(a, b) in &spans[..nspans] {
                match self.config.mode {
                    InbandMode::Replace => out[a..b].copy_from_slice(&tone[a..b]),
                    InbandMode::Mix => {
                        for (o, &t) in out[a..b].iter_mut().zip(&tone[a..b]) {
                            *o = o.saturating_add(t);
                        }
                    }
                }
            }
        }
        // Watchdog.
        if let Some(cur) = &mut self.current {
            cur.idle += n as u64;
            if cur.idle >= ms_to_samples(self.config.watchdog_ms, rate) {
                self.counters.watchdog_ends += 1;
                self.end_current();
            }
        }
    }

    /// The next event for the worker, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RelayEvent> {
        self.events.pop_front()
    }

    fn start(&mut self, ts: u32, event: u8, duration: u64, end: bool) {
        let Some(digit) = event_to_digit(event) else {
            return;
        };
        self.counters.digits += 1;
        self.current = Some(RxEvent {
            event,
            ts,
            base: 0,
            duration,
            idle: 0,
        });
        if self.jobs.len() >= 8 {
            self.counters.queue_overflows += 1;
        } else {
            self.jobs.push_back(ToneJob {
                digit,
                played: 0,
                target: None,
            });
        }
        push_bounded(
            &mut self.events,
            EVENT_QUEUE,
            RelayEvent::DigitStarted {
                digit,
                source: DtmfSource::Rfc4733,
            },
            &mut self.counters.queue_overflows,
        );
        if end {
            self.end_current();
        }
    }

    fn end_current(&mut self) {
        let Some(cur) = self.current.take() else {
            return;
        };
        self.ended[self.ended_next] = Some((cur.ts, cur.event));
        self.ended_next = (self.ended_next + 1) % 8;
        let total = cur.base + cur.duration;
        if let Some(job) = self.jobs.back_mut()
            && job.target.is_none()
        {
            job.target = Some(total);
        }
        let digit = event_to_digit(cur.event).unwrap_or('?');
        push_bounded(
            &mut self.events,
            EVENT_QUEUE,
            RelayEvent::DigitEnded {
                digit,
                source: DtmfSource::Rfc4733,
                duration_ms: samples_to_ms(total, self.config.rate),
            },
            &mut self.counters.queue_overflows,
        );
    }
}
