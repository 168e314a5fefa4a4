//! Conference mixer: N members, each hears everyone but itself.
//!
//! # What
//!
//! A [`Conference`] takes one decoded 20 ms [`AudioFrame`] per member and
//! tick ([`Conference::put`]; a member with no input this tick is silent)
//! and, once per tick ([`Conference::mix`]), hands every member the sum of
//! all *other* contributing members. Members have a talk gain in dB
//! ([`Conference::set_gain`], applied to what the others hear of them),
//! can be muted (the others do not hear them), deafened (they hear
//! silence) and removed (kicked). There is no standard for the mix itself;
//! the shape follows the usual "N−1" bridge of carrier conferencing.
//!
//! # Design
//!
//! * **O(N) mixing.** Every contributing member's samples, gain applied, go
//!   once into an `i32` accumulator; each member's output is the total
//!   minus its own contribution, so a tick costs O(N·samples), not O(N²).
//!   With the gain limited to +20 dB and the member count to
//!   [`MAX_MEMBERS`], the accumulator cannot overflow.
//! * **Mixed rates.** The conference mixes at the highest member rate
//!   ([`Conference::rate`]). A member at a lower rate has two
//!   [`Resampler`]s, in (member → mix) and out (mix → member). Its own
//!   contribution is subtracted at the mix rate, before the output
//!   resampler, so it hears none of itself (the filters are linear). When
//!   the mix rate changes (a wideband member joins, or the last one leaves)
//!   every member's resamplers are rebuilt: a control-path operation.
//! * **Soft limiter (static curve).** N talkers can sum far beyond 16 bits.
//!   Instead of clipping, each output goes through a static, memoryless
//!   soft-knee curve that is exactly transparent below the knee
//!   `K` = 16 384 (−6 dBFS) and bends smoothly towards full scale
//!   `L` = 32 767 above it:
//!
//!   ```text
//!   y = x                                   for |x| ≤ K
//!   y = sign(x)·(K + d·R / (R + d))         for |x| > K, d = |x| − K, R = L − K
//!   ```
//!
//!   The curve is continuous with slope 1 at the knee (no corner to hear),
//!   monotonic, and approaches `L` asymptotically, so no input of any size
//!   clips or wraps. A static curve was chosen over an attack/release
//!   compressor because it has no state to pump or breathe, costs nothing
//!   below the knee (one vectorised max-abs check per frame decides whether
//!   the curve runs at all), and behaves identically for every member.
//!   It is integer arithmetic, hence bit-exact and deterministic. For a
//!   member below the mix rate the limited mix then goes through the
//!   output resampler, whose filter can overshoot a mix held near full
//!   scale by a few per cent; the resampler saturates there (it never
//!   wraps).
//! * **Loudest speaker.** Each member's frame energy (after gain) is
//!   smoothed (`e ← e + α·(frame − e)`, [`SpeakerConfig::smoothing`]). The
//!   loudest non-muted member above a floor becomes the speaker when the
//!   current one has held the floor at least [`SpeakerConfig::min_hold_ms`]
//!   and is either quiet or beaten by [`SpeakerConfig::hysteresis_db`].
//!   Each change is reported as [`Event::SpeakerChanged`].
//! * **Storage.** Members live in a `Vec` reserved for
//!   [`ConferenceConfig::max_members`] at creation; each member carries its
//!   frames inline. [`Conference::add_member`] allocates (the resamplers,
//!   the index entry): control path. [`Conference::put`] and
//!   [`Conference::mix`] never allocate and never panic; events go into a
//!   ring reserved at creation and are counted, not lost silently, if the
//!   worker does not poll them.
//!
//! # Performance
//!
//! `cargo bench -p tandem-bench --bench conference`: 1,000 rooms of 3–10
//! G.711 A-law members (6,500 members), each tick decoding, mixing and
//! re-encoding every member. On the development machine (2 cores shared
//! with other builds) one core mixes **20,000–40,000 members in real
//! time** across runs (500–970 ns per member-frame), against a target of
//! 5,000. With one 16 kHz member in every room, each G.711 member runs
//! its own 8 ↔ 16 kHz resamplers (about 38,000 multiply-adds per member
//! and tick) and the figure drops to 2,500–3,300. Resampling each rate
//! group's *total* once per tick instead (exact, the filters being
//! linear) would make that cost independent of the member count; it needs
//! a resampler entry point for `i32` sums, which `tandem-dsp` does not
//! have yet.
//!
//! # Counters ([`Conference::counters`])
//!
//! | counter | suggested metric | meaning |
//! |---|---|---|
//! | `ticks` | `tandem_conference_ticks_total` | calls to [`Conference::mix`] |
//! | `limited_frames` | `tandem_conference_limited_frames_total` | member output frames in which the soft limiter acted |
//! | `rejected_frames` | `tandem_conference_rejected_frames_total` | `put` calls refused (unknown member or wrong rate) |
//! | `events_dropped` | `tandem_conference_events_dropped_total` | events lost because the event ring was full |
//!
//! # Driving it
//!
//! ```
//! use tandem_dataplane::frame::AudioFrame;
//! use tandem_dataplane::mixer::{Conference, ConferenceConfig, MemberId};
//! use tandem_dsp::resample::Rate;
//!
//! let mut conf = Conference::new(ConferenceConfig::default());
//! conf.add_member(MemberId(1), Rate::Hz8000)?;
//! conf.add_member(MemberId(2), Rate::Hz16000)?;
//! // Every 20 ms: decoded input of whoever sent something ...
//! conf.put(MemberId(1), &AudioFrame::silence(Rate::Hz8000))?;
//! // ... then one mix, each member's output handed to the encoder.
//! conf.mix(|id, frame| {
//!     let _ = (id, frame.rate()); // encode and send
//! });
//! while let Some(event) = conf.poll_event() {
//!     let _ = event; // forward to the control plane
//! }
//! # Ok::<(), tandem_dataplane::mixer::MixerError>(())
//! ```
#![warn(missing_docs)]

use std::collections::{HashMap, VecDeque};

use tandem_dsp::resample::{Rate, Resampler};

use crate::frame::{AudioFrame, MAX_FRAME_SAMPLES, frame_len};

/// The most members one conference can hold.
pub const MAX_MEMBERS: usize = 1024;

/// Lowest accepted gain, dB.
pub const MIN_GAIN_DB: f32 = -60.0;
/// Highest accepted gain, dB.
pub const MAX_GAIN_DB: f32 = 20.0;

/// Knee of the soft limiter: −6 dBFS.
pub const LIMITER_KNEE: i32 = 16_384;
/// Asymptote of the soft limiter: 16-bit full scale.
pub const LIMITER_CEILING: i32 = 32_767;

/// Q12 unity gain.
const UNITY: i32 = 1 << 12;

/// A member of a conference, as the control plane names it (a leg id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u32);

impl core::fmt::Display for MemberId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "member {}", self.0)
    }
}

/// Why a conference operation was refused. Every variant is a misuse of
/// the API by the caller (the worker or the control plane); media content
/// never causes an error.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum MixerError {
    /// The conference already holds its configured maximum of members.
    Full {
        /// The configured maximum.
        capacity: usize,
    },
    /// A member with this id is already in the conference.
    DuplicateMember(MemberId),
    /// No member with this id.
    UnknownMember(MemberId),
    /// A frame at another rate than the member joined with.
    RateMismatch {
        /// The member.
        id: MemberId,
        /// The rate it joined with.
        expected: Rate,
        /// The rate of the frame.
        got: Rate,
    },
    /// A gain that is not finite or outside [`MIN_GAIN_DB`]..=[`MAX_GAIN_DB`].
    InvalidGain(f32),
}

impl core::fmt::Display for MixerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MixerError::Full { capacity } => write!(f, "conference full ({capacity} members)"),
            MixerError::DuplicateMember(id) => write!(f, "{id} is already in the conference"),
            MixerError::UnknownMember(id) => write!(f, "{id} is not in the conference"),
            MixerError::RateMismatch { id, expected, got } => write!(
                f,
                "{id} joined at {} Hz but sent a frame at {} Hz",
                expected.hz(),
                got.hz()
            ),
            MixerError::InvalidGain(g) => {
                write!(f, "gain {g} dB outside {MIN_GAIN_DB}..={MAX_GAIN_DB} dB")
            }
        }
    }
}

impl std::error::Error for MixerError {}

/// What a conference tells the worker (to forward to the control plane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The loudest speaker changed; `None` means nobody is speaking.
    SpeakerChanged {
        /// The previous speaker.
        previous: Option<MemberId>,
        /// The new speaker.
        current: Option<MemberId>,
    },
    /// The mix rate changed (a member at a higher rate joined, or the last
    /// member at the highest rate left).
    RateChanged(Rate),
}

/// Loudest-speaker detection settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeakerConfig {
    /// Weight of the newest frame in the smoothed energy, 0–1 (default
    /// 0.3: a time constant of about 55 ms).
    pub smoothing: f32,
    /// How much louder (dB, smoothed energy) a challenger must be to take
    /// the floor from a speaker who is still talking (default 3 dB).
    pub hysteresis_db: f32,
    /// Least time a speaker keeps the floor before it can change (default
    /// 300 ms).
    pub min_hold_ms: u32,
    /// Smoothed level below which a member counts as silent, dBov (default
    /// −50 dBov).
    pub floor_dbov: f32,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        Self {
            smoothing: 0.3,
            hysteresis_db: 3.0,
            min_hold_ms: 300,
            floor_dbov: -50.0,
        }
    }
}

/// Conference settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConferenceConfig {
    /// Members reserved for, and the most accepted (at most [`MAX_MEMBERS`]).
    pub max_members: usize,
    /// Events held until polled; more are counted as dropped.
    pub event_capacity: usize,
    /// Loudest-speaker detection.
    pub speaker: SpeakerConfig,
}

impl Default for ConferenceConfig {
    fn default() -> Self {
        Self {
            max_members: 32,
            event_capacity: 16,
            speaker: SpeakerConfig::default(),
        }
    }
}

/// A conference's counters (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls to [`Conference::mix`].
    pub ticks: u64,
    /// Member output frames in which the soft limiter acted.
    pub limited_frames: u64,
    /// `put` calls refused.
    pub rejected_frames: u64,
    /// Events lost because the ring was full.
    pub events_dropped: u64,
}

/// One member's state, frames inline.
struct Member {
    id: MemberId,
    rate: Rate,
    gain_db: f32,
    /// Q12 linear gain.
    gain: i32,
    muted: bool,
    deaf: bool,
    has_input: bool,
    /// This tick's input at the member's rate.
    input: [i16; MAX_FRAME_SAMPLES],
    /// What the member adds to the mix this tick, at the mix rate.
    contrib: [i32; MAX_FRAME_SAMPLES],
    /// Whether `contrib` went into this tick's total.
    contributing: bool,
    /// Member rate → mix rate (`None` when equal).
    up: Option<Resampler>,
    /// Mix rate → member rate (`None` when equal).
    down: Option<Resampler>,
    /// Smoothed mean square, in units of full scale².
    energy: f32,
}

impl Member {
    fn new(id: MemberId, rate: Rate, mix_rate: Rate) -> Self {
        let mut m = Member {
            id,
            rate,
            gain_db: 0.0,
            gain: UNITY,
            muted: false,
            deaf: false,
            has_input: false,
            input: [0; MAX_FRAME_SAMPLES],
            contrib: [0; MAX_FRAME_SAMPLES],
            contributing: false,
            up: None,
            down: None,
            energy: 0.0,
        };
        m.retune(mix_rate);
        m
    }

    fn retune(&mut self, mix_rate: Rate) {
        if self.rate == mix_rate {
            self.up = None;
            self.down = None;
        } else {
            self.up = Some(Resampler::new(self.rate, mix_rate));
            self.down = Some(Resampler::new(mix_rate, self.rate));
        }
    }
}

/// A conference bridge (see the module docs).
pub struct Conference {
    config: ConferenceConfig,
    members: Vec<Member>,
    index: HashMap<MemberId, usize>,
    rate: Rate,
    total: [i32; MAX_FRAME_SAMPLES],
    /// Scratch at the mix rate (resampled input, limited output).
    scratch: [i16; MAX_FRAME_SAMPLES],
    /// Output frames, one per rate (indexed by [`rate_slot`]).
    outs: [AudioFrame; 3],
    events: VecDeque<Event>,
    speaker: Option<MemberId>,
    held_ticks: u32,
    floor: f32,
    hysteresis: f32,
    counters: Counters,
}

impl core::fmt::Debug for Conference {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Conference")
            .field("members", &self.members.len())
            .field("rate", &self.rate.hz())
            .field("speaker", &self.speaker)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Conference {
    /// An empty conference (mixing at 8 kHz until a member joins).
    /// Allocates its member table and event ring here.
    pub fn new(config: ConferenceConfig) -> Self {
        let max_members = config.max_members.clamp(1, MAX_MEMBERS);
        let config = ConferenceConfig {
            max_members,
            event_capacity: config.event_capacity.max(1),
            ..config
        };
        let s = config.speaker;
        Conference {
            members: Vec::with_capacity(max_members),
            index: HashMap::with_capacity(max_members),
            rate: Rate::Hz8000,
            total: [0; MAX_FRAME_SAMPLES],
            scratch: [0; MAX_FRAME_SAMPLES],
            outs: [
                AudioFrame::silence(Rate::Hz8000),
                AudioFrame::silence(Rate::Hz16000),
                AudioFrame::silence(Rate::Hz48000),
            ],
            events: VecDeque::with_capacity(config.event_capacity),
            speaker: None,
            held_ticks: 0,
            floor: 10f32.powf(s.floor_dbov / 10.0),
            hysteresis: 10f32.powf(s.hysteresis_db / 10.0),
            counters: Counters::default(),
            config,
        }
    }

    /// The rate the conference mixes at: the highest member rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the conference has no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: MemberId) -> bool {
        self.index.contains_key(&id)
    }

    /// The current loudest speaker, if anyone is speaking.
    pub fn speaker(&self) -> Option<MemberId> {
        self.speaker
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Adds a member sending and receiving 20 ms frames at `rate`: unmuted,
    /// not deaf, 0 dB. Control path: allocates.
    pub fn add_member(&mut self, id: MemberId, rate: Rate) -> Result<(), MixerError> {
        if self.index.contains_key(&id) {
            return Err(MixerError::DuplicateMember(id));
        }
        if self.members.len() >= self.config.max_members {
            return Err(MixerError::Full {
                capacity: self.config.max_members,
            });
        }
        self.index.insert(id, self.members.len());
        self.members.push(Member::new(id, rate, self.rate));
        self.update_rate();
        Ok(())
    }

    /// Removes (kicks) a member. If it was the speaker, the floor is free
    /// at the next tick.
    pub fn remove(&mut self, id: MemberId) -> Result<(), MixerError> {
        let i = self
            .index
            .remove(&id)
            .ok_or(MixerError::UnknownMember(id))?;
        self.members.swap_remove(i);
        if let Some(moved) = self.members.get(i) {
            self.index.insert(moved.id, i);
        }
        if self.speaker == Some(id) {
            self.change_speaker(None);
        }
        self.update_rate();
        Ok(())
    }

    /// Sets a member's talk gain in dB (what the others hear of it).
    pub fn set_gain(&mut self, id: MemberId, gain_db: f32) -> Result<(), MixerError> {
        if !(MIN_GAIN_DB..=MAX_GAIN_DB).contains(&gain_db) {
            return Err(MixerError::InvalidGain(gain_db));
        }
        let m = self.member_mut(id)?;
        m.gain_db = gain_db;
        m.gain = (10f32.powf(gain_db / 20.0) * UNITY as f32).round() as i32;
        Ok(())
    }

    /// A member's talk gain in dB.
    pub fn gain(&self, id: MemberId) -> Result<f32, MixerError> {
        Ok(self.member(id)?.gain_db)
    }

    /// Mutes or unmutes a member: a muted member is not heard by the others
    /// (it still hears them).
    pub fn set_mute(&mut self, id: MemberId, muted: bool) -> Result<(), MixerError> {
        self.member_mut(id)?.muted = muted;
        Ok(())
    }

    /// Deafens or undeafens a member: a deaf member hears silence (the
    /// others still hear it).
    pub fn set_deaf(&mut self, id: MemberId, deaf: bool) -> Result<(), MixerError> {
        let m = self.member_mut(id)?;
        if m.deaf
            && !deaf
            && let Some(down) = &mut m.down
        {
            // Its output filter sat idle: start it clean.
            down.reset();
        }
        m.deaf = deaf;
        Ok(())
    }

    /// Gives a member's decoded input for this tick. A member that sends
    /// nothing before [`mix`](Self::mix) is silent for the tick; a second
    /// `put` in the same tick replaces the first. Hot path: no allocation.
    pub fn put(&mut self, id: MemberId, frame: &AudioFrame) -> Result<(), MixerError> {
        let Some(&i) = self.index.get(&id) else {
            self.counters.rejected_frames += 1;
            return Err(MixerError::UnknownMember(id));
        };
        let m = &mut self.members[i];
        if frame.rate() != m.rate {
            self.counters.rejected_frames += 1;
            return Err(MixerError::RateMismatch {
                id,
                expected: m.rate,
                got: frame.rate(),
            });
        }
        let n = frame_len(m.rate);
        m.input[..n].copy_from_slice(frame.samples());
        m.has_input = true;
        Ok(())
    }

    /// Mixes one tick: calls `out(id, frame)` once per member, in no
    /// particular order, with what that member hears, at its own rate
    /// (silence for a deaf member). Inputs are consumed: the next tick
    /// starts silent. Hot path: no allocation, no panic.
    pub fn mix(&mut self, mut out: impl FnMut(MemberId, &AudioFrame)) {
        self.counters.ticks += 1;
        let n = frame_len(self.rate);
        let alpha = self.config.speaker.smoothing.clamp(0.0, 1.0);
        let total = &mut self.total[..n];
        total.fill(0);

        // Pass 1: every contributing member into the total, once.
        for m in &mut self.members {
            let mn = frame_len(m.rate);
            let frame_energy = if m.has_input && !m.muted {
                let input = &m.input[..mn];
                let mut sq: i64 = 0;
                for &x in input {
                    sq += i64::from(x) * i64::from(x);
                }
                let g = m.gain as f32 / UNITY as f32;
                sq as f32 / mn as f32 / (32768.0 * 32768.0) * g * g
            } else {
                0.0
            };
            m.energy += alpha * (frame_energy - m.energy);
            m.contributing = m.has_input && !m.muted;
            m.has_input = false;
            if !m.contributing {
                continue;
            }
            let src: &[i16] = match &mut m.up {
                Some(up) => {
                    let got = up.process(&m.input[..mn], &mut self.scratch[..n]);
                    &self.scratch[..got.min(n)]
                }
                None => &m.input[..n],
            };
            let contrib = &mut m.contrib[..n];
            if m.gain == UNITY {
                for (c, &x) in contrib.iter_mut().zip(src) {
                    *c = i32::from(x);
                }
            } else {
                let g = m.gain;
                for (c, &x) in contrib.iter_mut().zip(src) {
                    *c = (i32::from(x) * g) >> 12;
                }
            }
            for (t, &c) in total.iter_mut().zip(contrib.iter()) {
                *t += c;
            }
        }

        // Pass 2: each member hears the total minus itself.
        for m in &mut self.members {
            let mn = frame_len(m.rate);
            let frame = &mut self.outs[rate_slot(m.rate)];
            if m.deaf {
                frame.samples_mut().fill(0);
                out(m.id, frame);
                continue;
            }
            let mixed = &mut self.scratch[..n];
            let limited = if m.contributing {
                limit_into(total, Some(&m.contrib[..n]), mixed)
            } else {
                limit_into(total, None, mixed)
            };
            if limited {
                self.counters.limited_frames += 1;
            }
            match &mut m.down {
                Some(down) => {
                    let mut tmp = [0i16; MAX_FRAME_SAMPLES];
                    let got = down.process(mixed, &mut tmp).min(mn);
                    let dst = frame.samples_mut();
                    dst[..got].copy_from_slice(&tmp[..got]);
                    dst[got..].fill(0);
                }
                None => frame.samples_mut().copy_from_slice(&mixed[..mn]),
            }
            out(m.id, frame);
        }

        self.track_speaker();
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn member(&self, id: MemberId) -> Result<&Member, MixerError> {
        let &i = self.index.get(&id).ok_or(MixerError::UnknownMember(id))?;
        Ok(&self.members[i])
    }

    fn member_mut(&mut self, id: MemberId) -> Result<&mut Member, MixerError> {
        let &i = self.index.get(&id).ok_or(MixerError::UnknownMember(id))?;
        Ok(&mut self.members[i])
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= self.config.event_capacity {
            self.counters.events_dropped += 1;
        } else {
            self.events.push_back(e);
        }
    }

    fn update_rate(&mut self) {
        let rate = self
            .members
            .iter()
            .map(|m| m.rate)
            .max()
            .unwrap_or(self.rate);
        if rate != self.rate {
            self.rate = rate;
            for m in &mut self.members {
                m.retune(rate);
            }
            self.push_event(Event::RateChanged(rate));
        }
    }

    fn change_speaker(&mut self, to: Option<MemberId>) {
        let previous = self.speaker;
        self.speaker = to;
        self.held_ticks = 0;
        self.push_event(Event::SpeakerChanged {
            previous,
            current: to,
        });
    }

    fn track_speaker(&mut self) {
        self.held_ticks = self.held_ticks.saturating_add(1);
        let mut loudest: Option<(MemberId, f32)> = None;
        let mut current_energy = 0.0;
        for m in &self.members {
            if Some(m.id) == self.speaker && !m.muted {
                current_energy = m.energy;
            }
            if m.muted || m.energy < self.floor {
                continue;
            }
            if loudest.is_none_or(|(_, e)| m.energy > e) {
                loudest = Some((m.id, m.energy));
            }
        }
        let hold = self.config.speaker.min_hold_ms / crate::frame::FRAME_MS as u32;
        match (self.speaker, loudest) {
            (None, Some((id, _))) => self.change_speaker(Some(id)),
            (None, None) => {}
            (Some(_), _) if self.held_ticks < hold => {}
            (Some(cur), challenger) => {
                let quiet = current_energy < self.floor;
                match challenger {
                    Some((id, e)) if id != cur => {
                        if quiet || e > current_energy * self.hysteresis {
                            self.change_speaker(Some(id));
                        }
                    }
                    Some(_) => {}
                    None => {
                        if quiet {
                            self.change_speaker(None);
                        }
                    }
                }
            }
        }
    }
}

/// Index of a rate in per-rate arrays.
const fn rate_slot(rate: Rate) -> usize {
    match rate {
        Rate::Hz8000 => 0,
        Rate::Hz16000 => 1,
        Rate::Hz48000 => 2,
    }
}

/// Writes `total − own` through the soft limiter into `out`; returns
/// whether the limiter acted.
fn limit_into(total: &[i32], own: Option<&[i32]>, out: &mut [i16]) -> bool {
    let mut peak = 0i32;
    match own {
        Some(own) => {
            for ((o, &t), &c) in out.iter_mut().zip(total).zip(own) {
                let y = t - c;
                peak = peak.max(y.saturating_abs());
                *o = y as i16;
            }
        }
        None => {
            for (o, &t) in out.iter_mut().zip(total) {
                peak = peak.max(t.saturating_abs());
                *o = t as i16;
            }
        }
    }
    if peak <= LIMITER_KNEE {
        // Transparent below the knee: the plain narrowing above was exact.
        return false;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let y = match own {
            Some(own) => total.get(i).copied().unwrap_or(0) - own.get(i).copied().unwrap_or(0),
            None => total.get(i).copied().unwrap_or(0),
        };
        *o = soft_limit(y);
    }
    true
}

/// The limiter's static curve (see the module docs): identity up to
/// [`LIMITER_KNEE`], then `K + d·R/(R + d)`, approaching
/// [`LIMITER_CEILING`] and never reaching past it.
pub fn soft_limit(x: i32) -> i16 {
    let mag = i64::from(x).abs();
    let k = i64::from(LIMITER_KNEE);
    if mag <= k {
        return x as i16;
    }
    let r = i64::from(LIMITER_CEILING - LIMITER_KNEE);
    let d = mag - k;
    let y = (k + (d * r + (r + d) / 2) / (r + d)).min(i64::from(LIMITER_CEILING));
    if x < 0 { -(y as i16) } else { y as i16 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_curve() {
        assert_eq!(soft_limit(0), 0);
        assert_eq!(soft_limit(16_384), 16_384);
        assert_eq!(soft_limit(-16_384), -16_384);
        assert_eq!(soft_limit(16_385), 16_385);
        let mut prev = soft_limit(LIMITER_KNEE);
        for x in (LIMITER_KNEE..2_000_000).step_by(97) {
            let y = soft_limit(x);
            assert!(y >= prev, "monotonic at {x}");
            assert!(i32::from(y) <= LIMITER_CEILING);
            assert_eq!(soft_limit(-x), -y);
            prev = y;
        }
        assert!(soft_limit(i32::MAX) > 32_700);
        assert!(soft_limit(i32::MIN) >= -32_767);
        // Slope about one just above the knee.
        assert!((i32::from(soft_limit(16_484)) - 16_484).abs() <= 1);
    }

    #[test]
    fn duplicate_full_unknown() {
        let mut c = Conference::new(ConferenceConfig {
            max_members: 2,
            ..Default::default()
        });
        c.add_member(MemberId(1), Rate::Hz8000).unwrap();
        assert_eq!(
            c.add_member(MemberId(1), Rate::Hz8000),
            Err(MixerError::DuplicateMember(MemberId(1)))
        );
        c.add_member(MemberId(2), Rate::Hz8000).unwrap();
        assert_eq!(
            c.add_member(MemberId(3), Rate::Hz8000),
            Err(MixerError::Full { capacity: 2 })
        );
        assert_eq!(
            c.remove(MemberId(3)),
            Err(MixerError::UnknownMember(MemberId(3)))
        );
        assert!(c.set_gain(MemberId(1), f32::NAN).is_err());
        assert!(c.set_gain(MemberId(1), 30.0).is_err());
        assert!(
            c.put(MemberId(1), &AudioFrame::silence(Rate::Hz16000))
                .is_err()
        );
        assert_eq!(c.counters().rejected_frames, 1);
    }
}
