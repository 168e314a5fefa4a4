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
//! silence) and removed (kicked). A member can also *whisper*
//! ([`Conference::set_whisper`]): it is then heard by one other member
//! only, which is how a call-center supervisor coaches an agent (the
//! supervisor hears caller and agent, the agent hears caller and
//! supervisor, the caller hears only the agent). Who hears a member is its
//! [`Audience`]. There is no standard for the mix itself; the shape
//! follows the usual "N−1" bridge of carrier conferencing.
//!
//! # Design
//!
//! * **O(N) mixing.** Every contributing member's samples, gain applied, go
//!   once into an `i32` accumulator; each member's output is the total
//!   minus its own contribution, so a tick costs O(N·samples), not O(N²).
//!   With the gain limited to +20 dB and the member count to
//!   [`MAX_MEMBERS`], the accumulator cannot overflow.
//! * **Whisper, still O(N).** A whisperer's contribution (gain applied, at
//!   the mix rate) stays out of the shared total and is added instead into
//!   its target's own whisper accumulator, in one pass over the members
//!   that only runs when someone whispers this tick. The target hears
//!   `total − own + whispers`, through the same soft limiter and output
//!   resampler as everyone else; nobody else hears the whisperer at all.
//!   A muted whisperer is heard by nobody. When the target leaves, its
//!   whisperers become heard by nobody ([`Audience::Nobody`]), never by
//!   everyone: falling back to the N−1 mix would let the caller hear the
//!   supervisor. A whisperer is never the loudest speaker. The target's
//!   accumulator is allocated by [`Conference::set_whisper`] (control
//!   path) and kept while the target is a member.
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
//!   loudest member heard by everyone (neither muted nor whispering) above
//!   a floor becomes the speaker when the
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
//! conf.add_member(MemberId(3), Rate::Hz8000)?;
//! // Member 3 coaches member 2: only member 2 hears it.
//! conf.set_whisper(MemberId(3), Some(MemberId(2)))?;
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
    /// A member asked to whisper to itself.
    WhisperToSelf(MemberId),
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
            MixerError::WhisperToSelf(id) => write!(f, "{id} cannot whisper to itself"),
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

/// Who hears a member ([`Conference::audience`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every other member: the N−1 mix (a new member's audience).
    Everyone,
    /// This member only: whispering ([`Conference::set_whisper`]).
    Only(MemberId),
    /// Nobody: it whispered to a member that has since left. A whisper
    /// never falls back to everyone by itself; only
    /// [`Conference::set_whisper`] changes the audience again.
    Nobody,
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
    /// Who hears it.
    audience: Audience,
    has_input: bool,
    /// This tick's input at the member's rate.
    input: [i16; MAX_FRAME_SAMPLES],
    /// What the member adds to the mix this tick, at the mix rate.
    contrib: [i32; MAX_FRAME_SAMPLES],
    /// Whether `contrib` went into this tick's total.
    contributing: bool,
    /// Whether `contrib` is this tick's whisper, for its target only.
    whispering: bool,
    /// The whispers addressed to this member this tick, at the mix rate.
    /// Allocated when someone first whispers to it (control path).
    whispers: Option<Box<[i32; MAX_FRAME_SAMPLES]>>,
    /// Whether `whispers` holds something this tick.
    whispered: bool,
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
            audience: Audience::Everyone,
            has_input: false,
            input: [0; MAX_FRAME_SAMPLES],
            contrib: [0; MAX_FRAME_SAMPLES],
            contributing: false,
            whispering: false,
            whispers: None,
            whispered: false,
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
    /// What a whispered-to member hears before the limiter, at the mix rate.
    heard: [i32; MAX_FRAME_SAMPLES],
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
            heard: [0; MAX_FRAME_SAMPLES],
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
    /// not deaf, heard by everyone, 0 dB. Control path: allocates.
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
    /// at the next tick. Members whispering to it are heard by nobody from
    /// now on ([`Audience::Nobody`]).
    pub fn remove(&mut self, id: MemberId) -> Result<(), MixerError> {
        let i = self
            .index
            .remove(&id)
            .ok_or(MixerError::UnknownMember(id))?;
        self.members.swap_remove(i);
        if let Some(moved) = self.members.get(i) {
            self.index.insert(moved.id, i);
        }
        for m in &mut self.members {
            if m.audience == Audience::Only(id) {
                m.audience = Audience::Nobody;
            }
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

    /// Lets a member be heard by one other member only (`Some(to)`: a
    /// supervisor whispering to, coaching, an agent) or by everyone again
    /// (`None`). The whisperer still hears everyone heard by everyone, and
    /// its gain and mute still apply. If `to` leaves, the member is heard
    /// by nobody until the next call. Control path: may allocate the
    /// target's whisper accumulator.
    pub fn set_whisper(&mut self, id: MemberId, to: Option<MemberId>) -> Result<(), MixerError> {
        let &i = self.index.get(&id).ok_or(MixerError::UnknownMember(id))?;
        let audience = match to {
            None => Audience::Everyone,
            Some(t) if t == id => return Err(MixerError::WhisperToSelf(id)),
            Some(t) => {
                let target = self.member_mut(t)?;
                if target.whispers.is_none() {
                    target.whispers = Some(Box::new([0; MAX_FRAME_SAMPLES]));
                }
                Audience::Only(t)
            }
        };
        self.members[i].audience = audience;
        Ok(())
    }

    /// Who hears a member.
    pub fn audience(&self, id: MemberId) -> Result<Audience, MixerError> {
        Ok(self.member(id)?.audience)
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
    /// (silence for a deaf member): everyone heard by everyone but itself,
    /// plus whoever whispers to it. Inputs are consumed: the next tick
    /// starts silent. Hot path: no allocation, no panic.
    pub fn mix(&mut self, mut out: impl FnMut(MemberId, &AudioFrame)) {
        self.counters.ticks += 1;
        let n = frame_len(self.rate);
        let alpha = self.config.speaker.smoothing.clamp(0.0, 1.0);
        let total = &mut self.total[..n];
        total.fill(0);

        // Pass 1: every contributing member into the total, once; a
        // whisperer's contribution is only computed, for pass 1b.
        let mut any_whisper = false;
        for m in &mut self.members {
            let mn = frame_len(m.rate);
            let heard = m.has_input && !m.muted && m.audience != Audience::Nobody;
            let public = heard && m.audience == Audience::Everyone;
            let frame_energy = if public {
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
            m.contributing = public;
            m.whispering = heard && !public;
            m.has_input = false;
            if !heard {
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
            if m.whispering {
                any_whisper = true;
                continue;
            }
            for (t, &c) in total.iter_mut().zip(contrib.iter()) {
                *t += c;
            }
        }

        // Pass 1b: each whisper into its target's accumulator.
        if any_whisper {
            for i in 0..self.members.len() {
                let Audience::Only(to) = self.members[i].audience else {
                    continue;
                };
                if !self.members[i].whispering {
                    continue;
                }
                let Some(&j) = self.index.get(&to) else {
                    continue;
                };
                let Some((from, target)) = source_and_target(&mut self.members, i, j) else {
                    continue;
                };
                let Some(acc) = target.whispers.as_deref_mut() else {
                    continue;
                };
                let (acc, c) = (&mut acc[..n], &from.contrib[..n]);
                if target.whispered {
                    for (a, &x) in acc.iter_mut().zip(c) {
                        *a += x;
                    }
                } else {
                    acc.copy_from_slice(c);
                    target.whispered = true;
                }
            }
        }

        // Pass 2: each member hears the total minus itself, plus whispers.
        for m in &mut self.members {
            let mn = frame_len(m.rate);
            let frame = &mut self.outs[rate_slot(m.rate)];
            let whispered = core::mem::take(&mut m.whispered);
            if m.deaf {
                frame.samples_mut().fill(0);
                out(m.id, frame);
                continue;
            }
            let mixed = &mut self.scratch[..n];
            let own = if m.contributing {
                Some(&m.contrib[..n])
            } else {
                None
            };
            let limited = match m.whispers.as_deref() {
                Some(w) if whispered => {
                    let heard = &mut self.heard[..n];
                    heard.copy_from_slice(total);
                    if let Some(own) = own {
                        for (h, &c) in heard.iter_mut().zip(own) {
                            *h -= c;
                        }
                    }
                    for (h, &x) in heard.iter_mut().zip(&w[..n]) {
                        *h += x;
                    }
                    limit_into(heard, None, mixed)
                }
                _ => limit_into(total, own, mixed),
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
            let public = !m.muted && m.audience == Audience::Everyone;
            if Some(m.id) == self.speaker && public {
                current_energy = m.energy;
            }
            if !public || m.energy < self.floor {
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

/// Member `i` (shared) and member `j` (exclusive), or `None` when they are
/// the same or out of range.
fn source_and_target(members: &mut [Member], i: usize, j: usize) -> Option<(&Member, &mut Member)> {
    if i.max(j) >= members.len() {
        return None;
    }
    if i < j {
        let (lo, hi) = members.split_at_mut(j);
        Some((lo.get(i)?, hi.first_mut()?))
    } else if j < i {
        let (lo, hi) = members.split_at_mut(i);
        Some((hi.first()?, lo.get_mut(j)?))
    } else {
        None
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
    use std::collections::HashMap;

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

    const CALLER: MemberId = MemberId(1);
    const AGENT: MemberId = MemberId(2);
    const SUPERVISOR: MemberId = MemberId(3);
    /// Each party's tone, Hz.
    const CALLER_HZ: f64 = 400.0;
    const AGENT_HZ: f64 = 1000.0;
    const SUPERVISOR_HZ: f64 = 1800.0;

    /// Frame `k` of a sine at `hz`, amplitude `amp`.
    fn tone(rate: Rate, hz: f64, amp: f64, k: usize) -> AudioFrame {
        let n = frame_len(rate);
        let fs = f64::from(rate.hz());
        let mut f = AudioFrame::silence(rate);
        for (i, s) in f.samples_mut().iter_mut().enumerate() {
            let t = (k * n + i) as f64 / fs;
            *s = (amp * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16;
        }
        f
    }

    /// Amplitude of `hz` in `x` (single-bin DFT).
    fn amplitude_at(x: &[i16], hz: f64, rate: Rate) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate.hz());
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &s) in x.iter().enumerate() {
            re += f64::from(s) * (w * n as f64).cos();
            im -= f64::from(s) * (w * n as f64).sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    /// Caller, agent and supervisor at `rates`.
    fn call_center(rates: [Rate; 3]) -> Conference {
        let mut c = Conference::new(ConferenceConfig::default());
        for (id, rate) in [CALLER, AGENT, SUPERVISOR].into_iter().zip(rates) {
            c.add_member(id, rate).unwrap();
        }
        c
    }

    /// Runs `ticks` ticks of everyone talking (tick numbers from `k0`);
    /// returns what each member heard after the first two ticks (the
    /// resamplers' warm-up).
    fn talk(c: &mut Conference, k0: usize, ticks: usize) -> HashMap<MemberId, Vec<i16>> {
        let mut heard: HashMap<MemberId, Vec<i16>> = HashMap::new();
        for k in k0..k0 + ticks {
            for (id, hz) in [
                (CALLER, CALLER_HZ),
                (AGENT, AGENT_HZ),
                (SUPERVISOR, SUPERVISOR_HZ),
            ] {
                let rate = c.member(id).map_or(Rate::Hz8000, |m| m.rate);
                // Ignored for a member that has left.
                let _ = c.put(id, &tone(rate, hz, 4000.0, k));
            }
            c.mix(|id, f| {
                if k >= k0 + 2 {
                    heard.entry(id).or_default().extend_from_slice(f.samples());
                }
            });
        }
        heard
    }

    /// Asserts that `who` hears each of `tones` at about 4000 and none of
    /// the others among the three parties' tones.
    fn assert_hears(heard: &HashMap<MemberId, Vec<i16>>, rate: Rate, who: MemberId, tones: &[f64]) {
        for hz in [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ] {
            let a = amplitude_at(&heard[&who], hz, rate);
            if tones.contains(&hz) {
                assert!((a - 4000.0).abs() < 200.0, "{who} hears {hz} Hz at {a}");
            } else {
                assert!(a < 20.0, "{who} should not hear {hz} Hz: {a}");
            }
        }
    }

    #[test]
    fn the_caller_does_not_hear_a_whispering_supervisor() {
        let mut c = call_center([Rate::Hz8000; 3]);
        c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
        assert_eq!(c.audience(SUPERVISOR), Ok(Audience::Only(AGENT)));
        assert_eq!(c.audience(AGENT), Ok(Audience::Everyone));
        let heard = talk(&mut c, 0, 10);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[AGENT_HZ]);
        assert_hears(&heard, Rate::Hz8000, AGENT, &[CALLER_HZ, SUPERVISOR_HZ]);
        assert_hears(&heard, Rate::Hz8000, SUPERVISOR, &[CALLER_HZ, AGENT_HZ]);

        // Below the knee the agent's mix is exact: caller + supervisor.
        let (fc, fa, fs) = (
            tone(Rate::Hz8000, CALLER_HZ, 3000.0, 0),
            tone(Rate::Hz8000, AGENT_HZ, 3000.0, 0),
            tone(Rate::Hz8000, SUPERVISOR_HZ, 3000.0, 0),
        );
        c.put(CALLER, &fc).unwrap();
        c.put(AGENT, &fa).unwrap();
        c.put(SUPERVISOR, &fs).unwrap();
        let mut got = HashMap::new();
        c.mix(|id, f| {
            got.insert(id, f.samples().to_vec());
        });
        let sum = |x: &AudioFrame, y: &AudioFrame| -> Vec<i16> {
            x.samples()
                .iter()
                .zip(y.samples())
                .map(|(&p, &q)| p + q)
                .collect()
        };
        assert_eq!(got[&CALLER], fa.samples());
        assert_eq!(got[&AGENT], sum(&fc, &fs));
        assert_eq!(got[&SUPERVISOR], sum(&fc, &fa));
    }

    #[test]
    fn whisper_keeps_gain_and_mute_and_never_takes_the_floor() {
        let mut c = call_center([Rate::Hz8000; 3]);
        c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
        c.set_gain(SUPERVISOR, -6.0206).unwrap();
        let fs = tone(Rate::Hz8000, SUPERVISOR_HZ, 8000.0, 0);
        for _ in 0..30 {
            c.put(SUPERVISOR, &fs).unwrap();
            let mut agent = Vec::new();
            c.mix(|id, f| {
                if id == AGENT {
                    agent = f.samples().to_vec();
                }
            });
            for (&x, &y) in fs.samples().iter().zip(&agent) {
                assert!((i32::from(x) / 2 - i32::from(y)).abs() <= 1, "{x} -> {y}");
            }
        }
        // The only talker, yet not the loudest speaker: nobody else hears it.
        assert_eq!(c.speaker(), None);
        // Muted, the whisperer is heard by nobody.
        c.set_mute(SUPERVISOR, true).unwrap();
        c.put(SUPERVISOR, &fs).unwrap();
        c.mix(|_, f| assert!(f.samples().iter().all(|&s| s == 0)));
    }

    #[test]
    fn clearing_the_whisper_lets_everyone_hear_again() {
        let mut c = call_center([Rate::Hz8000; 3]);
        c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
        let heard = talk(&mut c, 0, 5);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[AGENT_HZ]);
        c.set_whisper(SUPERVISOR, None).unwrap();
        assert_eq!(c.audience(SUPERVISOR), Ok(Audience::Everyone));
        let heard = talk(&mut c, 5, 10);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[AGENT_HZ, SUPERVISOR_HZ]);
        assert_hears(&heard, Rate::Hz8000, AGENT, &[CALLER_HZ, SUPERVISOR_HZ]);
        assert_hears(&heard, Rate::Hz8000, SUPERVISOR, &[CALLER_HZ, AGENT_HZ]);
    }

    #[test]
    fn a_whisper_whose_target_left_is_heard_by_nobody() {
        let mut c = call_center([Rate::Hz8000; 3]);
        c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
        c.remove(AGENT).unwrap();
        assert_eq!(c.audience(SUPERVISOR), Ok(Audience::Nobody));
        let heard = talk(&mut c, 0, 10);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[]);
        assert_hears(&heard, Rate::Hz8000, SUPERVISOR, &[CALLER_HZ]);
        // A new member under the old id is not whispered to either.
        c.add_member(AGENT, Rate::Hz8000).unwrap();
        let heard = talk(&mut c, 10, 10);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[AGENT_HZ]);
        assert_hears(&heard, Rate::Hz8000, AGENT, &[CALLER_HZ]);
        // Until told again.
        c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
        let heard = talk(&mut c, 20, 10);
        assert_hears(&heard, Rate::Hz8000, AGENT, &[CALLER_HZ, SUPERVISOR_HZ]);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[AGENT_HZ]);
    }

    #[test]
    fn whisper_errors() {
        let mut c = call_center([Rate::Hz8000; 3]);
        assert_eq!(
            c.set_whisper(SUPERVISOR, Some(SUPERVISOR)),
            Err(MixerError::WhisperToSelf(SUPERVISOR))
        );
        assert_eq!(
            c.set_whisper(SUPERVISOR, Some(MemberId(9))),
            Err(MixerError::UnknownMember(MemberId(9)))
        );
        assert_eq!(
            c.set_whisper(MemberId(9), None),
            Err(MixerError::UnknownMember(MemberId(9)))
        );
        assert_eq!(c.audience(SUPERVISOR), Ok(Audience::Everyone));
    }

    #[test]
    fn whisper_across_rates() {
        // A wideband party in each role in turn (the mix runs at 16 kHz).
        for wide in 0..3 {
            let mut rates = [Rate::Hz8000; 3];
            rates[wide] = Rate::Hz16000;
            let mut c = call_center(rates);
            assert_eq!(c.rate(), Rate::Hz16000);
            c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
            let heard = talk(&mut c, 0, 20);
            let [caller, agent, supervisor] = rates;
            assert_hears(&heard, caller, CALLER, &[AGENT_HZ]);
            assert_hears(&heard, agent, AGENT, &[CALLER_HZ, SUPERVISOR_HZ]);
            assert_hears(&heard, supervisor, SUPERVISOR, &[CALLER_HZ, AGENT_HZ]);
        }
    }

    #[test]
    fn two_whisperers_to_one_target_and_whispering_to_a_whisperer() {
        let mut c = call_center([Rate::Hz8000; 3]);
        // Agent whispers to the supervisor, supervisor to the agent: a
        // side conversation the caller hears none of.
        c.set_whisper(AGENT, Some(SUPERVISOR)).unwrap();
        c.set_whisper(SUPERVISOR, Some(AGENT)).unwrap();
        let heard = talk(&mut c, 0, 10);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[]);
        assert_hears(&heard, Rate::Hz8000, AGENT, &[CALLER_HZ, SUPERVISOR_HZ]);
        assert_hears(&heard, Rate::Hz8000, SUPERVISOR, &[CALLER_HZ, AGENT_HZ]);
        // Caller and supervisor both whisper to the agent.
        c.set_whisper(AGENT, None).unwrap();
        c.set_whisper(CALLER, Some(AGENT)).unwrap();
        let heard = talk(&mut c, 10, 10);
        assert_hears(&heard, Rate::Hz8000, AGENT, &[CALLER_HZ, SUPERVISOR_HZ]);
        assert_hears(&heard, Rate::Hz8000, CALLER, &[AGENT_HZ]);
        assert_hears(&heard, Rate::Hz8000, SUPERVISOR, &[AGENT_HZ]);
    }
}
