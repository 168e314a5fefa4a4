//! DTMF (ITU-T Q.23) and call-progress tone (ITU-T E.180) generation.
//!
//! Two streaming generators fill caller-owned frames, phase-continuous from
//! frame to frame and bit-identical however the output is cut into frames:
//!
//! * [`ToneGenerator`] plays a [`ToneSpec`] — one or more frequencies, a
//!   level, an on/off cadence, optionally amplitude modulation — forever.
//!   The per-country tables behind [`Country::tone`] give the specs for
//!   dial, ringback, busy, congestion and call-waiting tones.
//! * [`DtmfGenerator`] plays a queue of DTMF digits with a given level,
//!   twist and on/off timing, and silence when the queue is empty.
//!
//! [`render`] and [`dtmf_sequence`] are whole-signal conveniences for tests,
//! announcements and tools. Nothing allocates after construction.
//!
//! # Level convention
//!
//! Levels are in dBm0 on the 16-bit linear scale of [`crate::g711`], where
//! the A-law overload point (4096 in G.711's 13-bit scale) is 32 768 and
//! G.711 puts the maximum sine (peak at the overload point) at +3.14 dBm0.
//! A 0 dBm0 sine therefore has a peak about 3.1 dB below 32 768: Tandem
//! fixes it at **22 905** ([`DBM0_PEAK`]), the value the DTMF detector
//! (`dtmf::ZERO_DBM0_PEAK`) and the project's tests use. (Taking exactly
//! 3.14 dB gives 32 768 · 10^(−3.14/20) = 22 827; the 0.03 dB between the
//! two is far inside every tolerance here.) Each dB is the usual 20·log10
//! of amplitude. The level of a multi-frequency tone is given *per
//! component*, as the standards do: a 350 + 440 Hz dial tone at −13 dBm0
//! has two sines of −13 dBm0 each.
//!
//! # Oscillators
//!
//! Each component is a quadrature oscillator in `f64`: a rotation by the
//! phase increment per sample, re-anchored every [`ANCHOR_EVERY`] samples
//! (and at the start of every burst) to the exact phase `frac(n·f/fs)` of
//! the sample number `n`. Rotation is four multiplies per sample instead of
//! a `sin` call; the re-anchoring bounds its rounding drift (well below
//! 10⁻¹² of full scale) and makes every sample a function of its index
//! alone, so frame boundaries cannot change the output. Samples are rounded
//! to nearest and saturated.
//!
//! Cadences switch hard at the sample: the on/off boundaries are exact
//! (`ms · fs / 1000` samples) and the oscillators run on absolute time, so
//! a tone resumes each burst at the phase it would have had if it never
//! stopped. DTMF digits start each burst at phase zero.
//!
//! # DTMF (ITU-T Q.23)
//!
//! Q.23 assigns each key a low-group and a high-group frequency:
//!
//! | | 1209 Hz | 1336 Hz | 1477 Hz | 1633 Hz |
//! |---|---|---|---|---|
//! | **697 Hz** | 1 | 2 | 3 | A |
//! | **770 Hz** | 4 | 5 | 6 | B |
//! | **852 Hz** | 7 | 8 | 9 | C |
//! | **941 Hz** | * | 0 | # | D |
//!
//! Q.23 fixes the frequencies (±1.8 % tolerance; these are exact); the
//! level and twist are the sender's choice within the receiver's acceptance
//! window (Q.24). [`DtmfParams`] sets the low-group level in dBm0 and the
//! twist as high-group level minus low-group level in dB.
//!
//! # Call-progress tones (ITU-T E.180)
//!
//! | country | dial | ringback | busy | congestion | call waiting |
//! |---|---|---|---|---|---|
//! | `itu` (E.180 recommended) | 425, cont. | 425, 1/4 s | 425, 0.5/0.5 | 425, 0.25/0.25 | 425, 0.2/0.2/0.2/5 |
//! | `cn` China | 450, cont. | 450, 1/4 | 450, 0.35/0.35 | 450, 0.7/0.7 | 450, 0.4/4 |
//! | `eu` ETSI / CEPT | 425, cont. | 425, 1/4 | 425, 0.5/0.5 | 425, 0.25/0.25 | 425, 0.2/0.2/0.2/5 |
//! | `us` North America | 350+440, cont. | 440+480, 2/4 | 480+620, 0.5/0.5 | 480+620, 0.25/0.25 | 440, 0.3/9.7 |
//! | `uk` United Kingdom | 350+450, cont. | 400+450, 0.4/0.2/0.4/2 | 400, 0.375/0.375 | 400, 0.4/0.35/0.225/0.525 | 400, 0.1/3 |
//! | `jp` Japan | 400, cont. | 400 AM 16 Hz, 1/2 | 400, 0.5/0.5 | 400, 0.5/0.5 | — |
//!
//! Frequencies in Hz, cadences in seconds on/off (repeating). Sources, per
//! table in [`Country::tone`]: ITU-T E.180 (03/98) recommended values
//! and E.180 Supplement 2 (national tones); ETSI ES 201 970 and ETSI TR
//! 101 041-2 (the CEPT harmonised 425 Hz plan); ITU-T E.300-series
//! Supplement 3 / ANSI T1.401 (North American precise audible tone plan,
//! with its per-component levels); BT SIN 350 (UK); NTT's analogue
//! interface technical reference as summarised in E.180 Supplement 2
//! (Japan); the Chinese national tone plan (YD/T and GB, as listed in E.180
//! Supplement 2). Where a source gives a range, the table takes its
//! recommended or nominal value; where a level is not pinned down by the
//! source (Europe, China, UK, Japan) the table uses a typical network level
//! and says so.

use std::fmt;
use std::str::FromStr;

use crate::resample::Rate;

/// Peak amplitude, on the 16-bit scale, of a 0 dBm0 sine: Tandem's
/// convention, about 3.1 dB below the A-law overload point (see the module
/// docs).
pub const DBM0_PEAK: f64 = 22_905.0;

/// The most frequencies a [`ToneSpec`] may have.
pub const MAX_FREQS: usize = 4;

/// Oscillators are re-anchored to the exact phase this often (in samples).
pub const ANCHOR_EVERY: u64 = 64;

/// The peak amplitude of a sine at `level_dbm0`.
pub fn dbm0_to_amplitude(level_dbm0: f32) -> f64 {
    DBM0_PEAK * 10f64.powf(f64::from(level_dbm0) / 20.0)
}

/// Errors from building or queueing tones. All of them are misuse of this
/// API (bad arguments); generation itself cannot fail.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ToneError {
    /// A character that is not a DTMF key (`0-9 * # A-D`, case-insensitive).
    InvalidDigit(char),
    /// A spec with more than [`MAX_FREQS`] frequencies, or none.
    FrequencyCount(usize),
    /// A frequency that is not finite, not positive, or not below the
    /// sample rate's Nyquist frequency.
    InvalidFrequency(f32),
    /// A level or modulation depth that is not a finite number (depth must
    /// be within 0..=1).
    InvalidLevel(f32),
    /// The DTMF queue has no room for the digits; nothing was queued.
    QueueFull,
    /// A country code that [`Country::from_code`] does not know.
    UnknownCountry,
}

impl fmt::Display for ToneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToneError::InvalidDigit(c) => write!(f, "{c:?} is not a DTMF digit"),
            ToneError::FrequencyCount(n) => {
                write!(f, "a tone needs 1 to {MAX_FREQS} frequencies, got {n}")
            }
            ToneError::InvalidFrequency(hz) => {
                write!(f, "frequency {hz} Hz is not positive and below Nyquist")
            }
            ToneError::InvalidLevel(x) => write!(f, "level or depth {x} is out of range"),
            ToneError::QueueFull => write!(f, "DTMF digit queue is full"),
            ToneError::UnknownCountry => write!(f, "unknown tone country code"),
        }
    }
}

impl std::error::Error for ToneError {}

/// Amplitude modulation of a tone: the sum of the carriers is multiplied by
/// `1 + depth · sin(2π · freq_hz · t)`. The carriers keep the spec's level;
/// each sideband is `20·log10(depth / 2)` dB below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Modulation {
    /// Modulating frequency, Hz.
    pub freq_hz: f32,
    /// Modulation depth, 0..=1.
    pub depth: f32,
}

/// A call-progress tone: what to play and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    /// Component frequencies in Hz, 1 to [`MAX_FREQS`] of them.
    pub freqs: &'static [f32],
    /// Level of *each* component, dBm0.
    pub level_dbm0: f32,
    /// Repeating `(on_ms, off_ms)` steps. Empty, or steps that all have
    /// no off time, means continuous.
    pub cadence: &'static [(u32, u32)],
    /// Optional amplitude modulation (e.g. Japan's 400 Hz × 16 Hz).
    pub modulation: Option<Modulation>,
}

impl ToneSpec {
    /// An unmodulated tone: `freqs` each at `level_dbm0`, switched by the
    /// repeating `(on_ms, off_ms)` steps of `cadence` (empty: continuous).
    pub const fn new(
        freqs: &'static [f32],
        level_dbm0: f32,
        cadence: &'static [(u32, u32)],
    ) -> ToneSpec {
        ToneSpec {
            freqs,
            level_dbm0,
            cadence,
            modulation: None,
        }
    }

    /// Whether the tone never pauses.
    pub fn is_continuous(&self) -> bool {
        self.cadence.iter().all(|&(_, off)| off == 0)
    }

    /// Length of one cadence cycle in ms (0 for a continuous tone).
    pub fn period_ms(&self) -> u32 {
        if self.is_continuous() {
            0
        } else {
            self.cadence.iter().map(|&(on, off)| on + off).sum()
        }
    }

    fn validate(&self, rate: Rate) -> Result<(), ToneError> {
        if self.freqs.is_empty() || self.freqs.len() > MAX_FREQS {
            return Err(ToneError::FrequencyCount(self.freqs.len()));
        }
        let nyquist = rate.hz() as f32 / 2.0;
        let freqs = self.freqs.iter();
        let mods = self.modulation.iter().map(|m| &m.freq_hz);
        if let Some(&bad) = freqs
            .chain(mods)
            .find(|f| !(f.is_finite() && **f > 0.0 && **f < nyquist))
        {
            return Err(ToneError::InvalidFrequency(bad));
        }
        if !self.level_dbm0.is_finite() {
            return Err(ToneError::InvalidLevel(self.level_dbm0));
        }
        if let Some(m) = self.modulation {
            if !(0.0..=1.0).contains(&m.depth) {
                return Err(ToneError::InvalidLevel(m.depth));
            }
        }
        Ok(())
    }
}

/// The call-progress tones Tandem plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgressTone {
    /// Dial tone: ready for digits.
    Dial,
    /// Ringing tone (ringback): the called party is being alerted.
    Ringback,
    /// Busy tone: the called party is busy.
    Busy,
    /// Congestion tone (reorder): the network is congested.
    Congestion,
    /// Call-waiting tone: another call is waiting.
    CallWaiting,
}

impl ProgressTone {
    /// Every tone, in declaration order.
    pub const ALL: [ProgressTone; 5] = [
        ProgressTone::Dial,
        ProgressTone::Ringback,
        ProgressTone::Busy,
        ProgressTone::Congestion,
        ProgressTone::CallWaiting,
    ];
}

/// A national (or the ITU default) set of call-progress tones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Country {
    /// The values ITU-T E.180 recommends for new tone plans.
    Itu,
    /// China.
    China,
    /// Europe: the CEPT/ETSI harmonised 425 Hz plan.
    Europe,
    /// North America (the precise audible tone plan).
    NorthAmerica,
    /// The United Kingdom.
    UnitedKingdom,
    /// Japan.
    Japan,
}

impl Country {
    /// Every country, in declaration order.
    pub const ALL: [Country; 6] = [
        Country::Itu,
        Country::China,
        Country::Europe,
        Country::NorthAmerica,
        Country::UnitedKingdom,
        Country::Japan,
    ];

    /// Parses a configuration code (case-insensitive): `itu`, `cn`, `eu`
    /// (also `etsi`), `us` (also `ca`, `na`), `uk` (also `gb`), `jp`.
    pub fn from_code(code: &str) -> Option<Country> {
        let code = code.to_ascii_lowercase();
        Some(match code.as_str() {
            "itu" => Country::Itu,
            "cn" => Country::China,
            "eu" | "etsi" => Country::Europe,
            "us" | "ca" | "na" => Country::NorthAmerica,
            "uk" | "gb" => Country::UnitedKingdom,
            "jp" => Country::Japan,
            _ => return None,
        })
    }

    /// The canonical code, as accepted by [`from_code`](Country::from_code).
    pub fn code(self) -> &'static str {
        match self {
            Country::Itu => "itu",
            Country::China => "cn",
            Country::Europe => "eu",
            Country::NorthAmerica => "us",
            Country::UnitedKingdom => "uk",
            Country::Japan => "jp",
        }
    }

    /// The spec of `tone` in this country; `None` where the country's plan
    /// has no such tone in our sources (only Japan's call-waiting tone).
    pub fn tone(self, tone: ProgressTone) -> Option<ToneSpec> {
        match self {
            Country::Itu => Some(itu(tone)),
            Country::China => Some(china(tone)),
            Country::Europe => Some(europe(tone)),
            Country::NorthAmerica => Some(north_america(tone)),
            Country::UnitedKingdom => Some(united_kingdom(tone)),
            Country::Japan => japan(tone),
        }
    }
}

impl FromStr for Country {
    type Err = ToneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::from_code(s).ok_or(ToneError::UnknownCountry)
    }
}

const fn spec(freqs: &'static [f32], level_dbm0: f32, cadence: &'static [(u32, u32)]) -> ToneSpec {
    ToneSpec::new(freqs, level_dbm0, cadence)
}

/// ITU-T E.180 (03/98) recommended values: 425 Hz for every tone. Dial
/// tone continuous; ringing tone 1 s on / 4 s off (E.180 allows roughly
/// 0.67–1.5 s on, 3–5 s off); busy tone equal on and off, 0.5/0.5 s taken
/// from the allowed period range; congestion faster than busy, 0.25/0.25 s
/// as in the 425 Hz CEPT plan; call waiting as in the CEPT plan. E.180
/// gives level ranges rather than one value; −10 dBm0 is a typical choice.
fn itu(tone: ProgressTone) -> ToneSpec {
    const F: &[f32] = &[425.0];
    match tone {
        ProgressTone::Dial => spec(F, -10.0, &[]),
        ProgressTone::Ringback => spec(F, -10.0, &[(1000, 4000)]),
        ProgressTone::Busy => spec(F, -10.0, &[(500, 500)]),
        ProgressTone::Congestion => spec(F, -10.0, &[(250, 250)]),
        ProgressTone::CallWaiting => spec(F, -10.0, &[(200, 200), (200, 5000)]),
    }
}

/// China (national tone plan as listed in ITU-T E.180 Supplement 2; YD/T
/// and GB standards): 450 Hz; dial continuous, ringback 1 s/4 s, busy
/// 0.35/0.35 s, congestion 0.7/0.7 s, call waiting 0.4 s on / 4 s off.
/// Level −10 dBm0 (typical network level).
fn china(tone: ProgressTone) -> ToneSpec {
    const F: &[f32] = &[450.0];
    match tone {
        ProgressTone::Dial => spec(F, -10.0, &[]),
        ProgressTone::Ringback => spec(F, -10.0, &[(1000, 4000)]),
        ProgressTone::Busy => spec(F, -10.0, &[(350, 350)]),
        ProgressTone::Congestion => spec(F, -10.0, &[(700, 700)]),
        ProgressTone::CallWaiting => spec(F, -10.0, &[(400, 4000)]),
    }
}

/// Europe, the CEPT/ETSI harmonised plan (ETSI ES 201 970, ETSI TR
/// 101 041-2): 425 Hz; dial continuous, ringing 1 s/4 s, busy 0.5/0.5 s,
/// congestion 0.25/0.25 s, call waiting 0.2 on, 0.2 off, 0.2 on, 5 s off.
/// Level −10 dBm0 (typical network level).
fn europe(tone: ProgressTone) -> ToneSpec {
    const F: &[f32] = &[425.0];
    match tone {
        ProgressTone::Dial => spec(F, -10.0, &[]),
        ProgressTone::Ringback => spec(F, -10.0, &[(1000, 4000)]),
        ProgressTone::Busy => spec(F, -10.0, &[(500, 500)]),
        ProgressTone::Congestion => spec(F, -10.0, &[(250, 250)]),
        ProgressTone::CallWaiting => spec(F, -10.0, &[(200, 200), (200, 5000)]),
    }
}

/// North America, the precise audible tone plan (ANSI T1.401; ITU-T
/// E.300-series Supplement 3), with its per-component levels: dial
/// 350 + 440 Hz at −13 dBm0, continuous; audible ringing 440 + 480 Hz at
/// −19 dBm0, 2 s/4 s; busy (line busy) 480 + 620 Hz at −24 dBm0,
/// 0.5/0.5 s; reorder (network busy) 480 + 620 Hz at −24 dBm0,
/// 0.25/0.25 s; call waiting 440 Hz at −13 dBm0, a 0.3 s burst repeated
/// every 10 s.
fn north_america(tone: ProgressTone) -> ToneSpec {
    match tone {
        ProgressTone::Dial => spec(&[350.0, 440.0], -13.0, &[]),
        ProgressTone::Ringback => spec(&[440.0, 480.0], -19.0, &[(2000, 4000)]),
        ProgressTone::Busy => spec(&[480.0, 620.0], -24.0, &[(500, 500)]),
        ProgressTone::Congestion => spec(&[480.0, 620.0], -24.0, &[(250, 250)]),
        ProgressTone::CallWaiting => spec(&[440.0], -13.0, &[(300, 9700)]),
    }
}

/// United Kingdom (BT SIN 350): dial 350 + 450 Hz continuous; ringing
/// 400 + 450 Hz, 0.4 on, 0.2 off, 0.4 on, 2 s off; busy 400 Hz,
/// 0.375/0.375 s; congestion ("equipment engaged") 400 Hz, 0.4 on,
/// 0.35 off, 0.225 on, 0.525 off; call waiting 400 Hz, 0.1 s every 3.1 s
/// (commonly provisioned value, not checked against SIN 350). Level
/// −19 dBm0 per component (typical network level).
fn united_kingdom(tone: ProgressTone) -> ToneSpec {
    match tone {
        ProgressTone::Dial => spec(&[350.0, 450.0], -19.0, &[]),
        ProgressTone::Ringback => spec(&[400.0, 450.0], -19.0, &[(400, 200), (400, 2000)]),
        ProgressTone::Busy => spec(&[400.0], -19.0, &[(375, 375)]),
        ProgressTone::Congestion => spec(&[400.0], -19.0, &[(400, 350), (225, 525)]),
        ProgressTone::CallWaiting => spec(&[400.0], -19.0, &[(100, 3000)]),
    }
}

/// Japan (NTT, as listed in ITU-T E.180 Supplement 2): 400 Hz; dial
/// continuous; ringback 400 Hz amplitude-modulated at 16 Hz (the plan
/// allows 15–20 Hz), 1 s on / 2 s off; busy 0.5/0.5 s; congestion uses the
/// busy tone. The modulation depth is not given by our sources; 85 % is
/// used. Level −19 dBm0 (typical network level). No call-waiting tone.
fn japan(tone: ProgressTone) -> Option<ToneSpec> {
    const F: &[f32] = &[400.0];
    Some(match tone {
        ProgressTone::Dial => spec(F, -19.0, &[]),
        ProgressTone::Ringback => ToneSpec {
            modulation: Some(Modulation {
                freq_hz: 16.0,
                depth: 0.85,
            }),
            ..spec(F, -19.0, &[(1000, 2000)])
        },
        ProgressTone::Busy | ProgressTone::Congestion => spec(F, -19.0, &[(500, 500)]),
        ProgressTone::CallWaiting => return None,
    })
}

/// One sine component: a unit phasor rotated once per sample.
#[derive(Debug, Clone, Copy, Default)]
struct Oscillator {
    /// Frequency in cycles per sample.
    cycles_per_sample: f64,
    amplitude: f64,
    /// The rotation per sample, `e^{j·2π·cycles_per_sample}`.
    step_cos: f64,
    step_sin: f64,
    /// The phasor for the next sample.
    cos: f64,
    sin: f64,
    /// The sample index the phasor is for; `u64::MAX` before first use.
    next_n: u64,
}

impl Oscillator {
    fn new(freq_hz: f64, amplitude: f64, rate: Rate) -> Self {
        let cycles_per_sample = freq_hz / f64::from(rate.hz());
        let w = std::f64::consts::TAU * cycles_per_sample;
        Oscillator {
            cycles_per_sample,
            amplitude,
            step_cos: w.cos(),
            step_sin: w.sin(),
            cos: 1.0,
            sin: 0.0,
            next_n: u64::MAX,
        }
    }

    /// `amplitude · sin(2π·f·n/fs)`. Consecutive calls should pass
    /// consecutive `n`; any other `n` (the start of a burst) re-anchors, as
    /// does every multiple of [`ANCHOR_EVERY`], so the value depends on `n`
    /// and on the sequence of `n` values only, never on frame boundaries.
    #[inline]
    fn sample(&mut self, n: u64) -> f64 {
        if n != self.next_n || n % ANCHOR_EVERY == 0 {
            // `n` is exact in f64 below 2^53 samples (35 000 years at 8 kHz);
            // the product's rounding error stays far below a microradian
            // for days of continuous tone.
            let phase = (n as f64 * self.cycles_per_sample).fract();
            let (sin, cos) = (std::f64::consts::TAU * phase).sin_cos();
            self.sin = sin;
            self.cos = cos;
        }
        let out = self.amplitude * self.sin;
        let (c, s) = (self.cos, self.sin);
        self.cos = c * self.step_cos - s * self.step_sin;
        self.sin = s * self.step_cos + c * self.step_sin;
        self.next_n = n + 1;
        out
    }
}

/// Rounds and saturates to the 16-bit scale (`as` saturates).
#[inline]
fn to_i16(x: f64) -> i16 {
    x.round() as i16
}

/// A streaming generator for one [`ToneSpec`].
///
/// Construction validates the spec; [`fill`](ToneGenerator::fill) then
/// never fails and never allocates. The tone starts with the first "on"
/// step of the cadence at the first sample.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    spec: ToneSpec,
    rate: Rate,
    carriers: [Oscillator; MAX_FREQS],
    carrier_count: usize,
    modulator: Option<(Oscillator, f64)>,
    /// Samples generated so far (the oscillators' time base).
    n: u64,
    /// Index into the cadence.
    step: usize,
    /// Samples into the current step.
    in_step: u64,
}

impl ToneGenerator {
    /// A generator for `spec` at `rate`.
    ///
    /// # Errors
    ///
    /// [`ToneError::FrequencyCount`], [`ToneError::InvalidFrequency`] (not
    /// below `rate`'s Nyquist frequency) or [`ToneError::InvalidLevel`].
    pub fn new(spec: ToneSpec, rate: Rate) -> Result<Self, ToneError> {
        spec.validate(rate)?;
        let amplitude = dbm0_to_amplitude(spec.level_dbm0);
        let mut carriers = [Oscillator::default(); MAX_FREQS];
        for (osc, &f) in carriers.iter_mut().zip(spec.freqs) {
            *osc = Oscillator::new(f64::from(f), amplitude, rate);
        }
        let modulator = spec.modulation.map(|m| {
            (
                Oscillator::new(f64::from(m.freq_hz), 1.0, rate),
                f64::from(m.depth),
            )
        });
        Ok(ToneGenerator {
            spec,
            rate,
            carriers,
            carrier_count: spec.freqs.len(),
            modulator,
            n: 0,
            step: 0,
            in_step: 0,
        })
    }

    /// The spec being played.
    pub fn spec(&self) -> &ToneSpec {
        &self.spec
    }

    /// Restarts the tone from the beginning of its cadence.
    pub fn reset(&mut self) {
        self.n = 0;
        self.step = 0;
        self.in_step = 0;
    }

    fn ms_to_samples(&self, ms: u32) -> u64 {
        u64::from(ms) * u64::from(self.rate.hz()) / 1000
    }

    /// Fills `out` with the next `out.len()` samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        let mut done = 0;
        while done < out.len() {
            let left = out.len() - done;
            if self.spec.is_continuous() {
                self.synthesise(&mut out[done..]);
                break;
            }
            let (on_ms, off_ms) = self.spec.cadence[self.step];
            let on = self.ms_to_samples(on_ms);
            let total = on + self.ms_to_samples(off_ms);
            let (is_on, run_end) = if self.in_step < on {
                (true, on)
            } else {
                (false, total)
            };
            let run = usize::try_from(run_end - self.in_step).map_or(left, |r| r.min(left));
            let target = &mut out[done..done + run];
            if is_on {
                self.synthesise(target);
            } else {
                target.fill(0);
                self.n += run as u64;
            }
            done += run;
            self.in_step += run as u64;
            if self.in_step >= total {
                self.in_step = 0;
                self.step = (self.step + 1) % self.spec.cadence.len();
            }
        }
    }

    /// Writes tone samples for times `self.n ..` and advances `self.n`.
    fn synthesise(&mut self, out: &mut [i16]) {
        let carriers = &mut self.carriers[..self.carrier_count];
        for s in out {
            let n = self.n;
            let mut x: f64 = carriers.iter_mut().map(|c| c.sample(n)).sum();
            if let Some((m, depth)) = &mut self.modulator {
                x *= 1.0 + *depth * m.sample(n);
            }
            *s = to_i16(x);
            self.n += 1;
        }
    }
}

/// `duration_ms` of `spec` at `rate`, from the start of its cadence.
///
/// # Panics
///
/// If `spec` is invalid (see [`ToneGenerator::new`]); the built-in tables
/// never are.
pub fn render(spec: ToneSpec, rate: Rate, duration_ms: u32) -> Vec<i16> {
    let mut generator = match ToneGenerator::new(spec, rate) {
        Ok(g) => g,
        Err(e) => panic!("render: {e}"),
    };
    let mut out = vec![0; (u64::from(duration_ms) * u64::from(rate.hz()) / 1000) as usize];
    generator.fill(&mut out);
    out
}

/// The Q.23 low-group frequencies, Hz (rows of the keypad).
pub const DTMF_LOW: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// The Q.23 high-group frequencies, Hz (columns of the keypad).
pub const DTMF_HIGH: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

const KEYPAD: [[u8; 4]; 4] = [
    *b"123A", //
    *b"456B", //
    *b"789C", //
    *b"*0#D", //
];

/// The (low, high) frequency pair of a DTMF key (Q.23), accepting
/// `0-9 * #` and `A-D` in either case.
pub fn dtmf_frequencies(digit: char) -> Result<(f32, f32), ToneError> {
    let key = digit.to_ascii_uppercase();
    for (row, keys) in KEYPAD.iter().enumerate() {
        if let Some(col) = keys.iter().position(|&k| char::from(k) == key) {
            return Ok((DTMF_LOW[row], DTMF_HIGH[col]));
        }
    }
    Err(ToneError::InvalidDigit(digit))
}

/// How [`DtmfGenerator`] sends digits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfParams {
    /// Level of the low-group tone, dBm0.
    pub level_dbm0: f32,
    /// High-group level minus low-group level, dB (positive: the high tone
    /// is louder, which offsets the greater line loss at high frequency).
    pub twist_db: f32,
    /// Tone duration per digit, ms.
    pub on_ms: u32,
    /// Silence after each digit, ms.
    pub off_ms: u32,
}

impl Default for DtmfParams {
    /// −8 dBm0 low group, +2 dB twist (high group at −6 dBm0), 100 ms on,
    /// 100 ms off: typical exchange values, well inside Q.24's acceptance.
    fn default() -> Self {
        DtmfParams {
            level_dbm0: -8.0,
            twist_db: 2.0,
            on_ms: 100,
            off_ms: 100,
        }
    }
}

/// Digits a [`DtmfGenerator`] can hold queued.
pub const DTMF_QUEUE: usize = 64;

/// A streaming DTMF sender: queue digits, then fill frames. When the queue
/// is empty it writes silence.
#[derive(Debug, Clone)]
pub struct DtmfGenerator {
    params: DtmfParams,
    rate: Rate,
    on: u64,
    total: u64,
    /// Queued keys as ASCII, a ring buffer.
    queue: [u8; DTMF_QUEUE],
    head: usize,
    len: usize,
    /// The digit being played, if any, and the samples into it.
    current: Option<(Oscillator, Oscillator)>,
    in_digit: u64,
}

impl DtmfGenerator {
    /// A sender with `params` at `rate`.
    ///
    /// # Errors
    ///
    /// [`ToneError::InvalidLevel`] if a level is not finite.
    pub fn new(params: DtmfParams, rate: Rate) -> Result<Self, ToneError> {
        for x in [params.level_dbm0, params.twist_db] {
            if !x.is_finite() {
                return Err(ToneError::InvalidLevel(x));
            }
        }
        let per_ms = u64::from(rate.hz()) / 1000;
        let on = u64::from(params.on_ms) * per_ms;
        Ok(DtmfGenerator {
            params,
            rate,
            on,
            total: on + u64::from(params.off_ms) * per_ms,
            queue: [0; DTMF_QUEUE],
            head: 0,
            len: 0,
            current: None,
            in_digit: 0,
        })
    }

    /// Queues `digits` to be sent after those already queued. Either all of
    /// them are queued or, on error, none.
    ///
    /// # Errors
    ///
    /// [`ToneError::InvalidDigit`] for a character that is not a DTMF key,
    /// [`ToneError::QueueFull`] if they do not all fit.
    pub fn push(&mut self, digits: &str) -> Result<(), ToneError> {
        let mut count = 0;
        for c in digits.chars() {
            dtmf_frequencies(c)?;
            count += 1;
        }
        if self.len + count > DTMF_QUEUE {
            return Err(ToneError::QueueFull);
        }
        for c in digits.chars() {
            self.queue[(self.head + self.len) % DTMF_QUEUE] = c.to_ascii_uppercase() as u8;
            self.len += 1;
        }
        Ok(())
    }

    /// Whether everything queued has been sent (including the pause after
    /// the last digit).
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.len == 0
    }

    /// Drops the queue and any digit being sent.
    pub fn clear(&mut self) {
        self.len = 0;
        self.current = None;
        self.in_digit = 0;
    }

    fn start_next(&mut self) -> bool {
        if self.len == 0 {
            return false;
        }
        let key = char::from(self.queue[self.head]);
        self.head = (self.head + 1) % DTMF_QUEUE;
        self.len -= 1;
        let (low, high) = dtmf_frequencies(key).expect("only keys are queued");
        let low_amp = dbm0_to_amplitude(self.params.level_dbm0);
        let high_amp = dbm0_to_amplitude(self.params.level_dbm0 + self.params.twist_db);
        self.current = Some((
            Oscillator::new(f64::from(low), low_amp, self.rate),
            Oscillator::new(f64::from(high), high_amp, self.rate),
        ));
        self.in_digit = 0;
        true
    }

    /// Fills `out` with the next samples: queued digits, then silence.
    pub fn fill(&mut self, out: &mut [i16]) {
        let mut done = 0;
        while done < out.len() {
            if self.current.is_none() && !self.start_next() {
                out[done..].fill(0);
                return;
            }
            let left = (out.len() - done) as u64;
            let Some((low, high)) = &mut self.current else {
                unreachable!("a digit was just started")
            };
            if self.in_digit < self.on {
                let run = (self.on - self.in_digit).min(left) as usize;
                for (i, s) in out[done..done + run].iter_mut().enumerate() {
                    let n = self.in_digit + i as u64;
                    *s = to_i16(low.sample(n) + high.sample(n));
                }
                done += run;
                self.in_digit += run as u64;
            } else {
                let run = (self.total - self.in_digit).min(left) as usize;
                out[done..done + run].fill(0);
                done += run;
                self.in_digit += run as u64;
            }
            if self.in_digit >= self.total {
                self.current = None;
            }
        }
    }
}

/// `digits` as DTMF at 8 kHz: each digit `on_ms` of tone at `level_dbm0`
/// per frequency (no twist) followed by `off_ms` of silence, so the result
/// is `digits.len() · (on_ms + off_ms)` ms long.
///
/// # Errors
///
/// [`ToneError::InvalidDigit`] for a character that is not a DTMF key, or
/// [`ToneError::InvalidLevel`] for a non-finite level.
pub fn dtmf_sequence(
    digits: &str,
    on_ms: u32,
    off_ms: u32,
    level_dbm0: f32,
) -> Result<Vec<i16>, ToneError> {
    let params = DtmfParams {
        level_dbm0,
        twist_db: 0.0,
        on_ms,
        off_ms,
    };
    let mut generator = DtmfGenerator::new(params, Rate::Hz8000)?;
    for c in digits.chars() {
        dtmf_frequencies(c)?;
    }
    // One digit at a time, each filling exactly its own on + off span, so
    // the queue never runs dry mid-sequence and never overflows.
    let per_digit = (on_ms as usize + off_ms as usize) * 8;
    let mut out = vec![0i16; digits.chars().count() * per_digit];
    let mut buf = [0u8; 4];
    for (c, span) in digits.chars().zip(out.chunks_exact_mut(per_digit.max(1))) {
        generator.push(c.encode_utf8(&mut buf))?;
        generator.fill(span);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_dbm0_is_about_3_1_db_below_a_law_overload() {
        let below_overload = 20.0 * (32768.0 / DBM0_PEAK).log10();
        assert!((3.08..3.16).contains(&below_overload), "{below_overload}");
        assert!((dbm0_to_amplitude(-20.0) - DBM0_PEAK / 10.0).abs() < 1e-9);
    }

    #[test]
    fn keypad_matches_q23() {
        assert_eq!(dtmf_frequencies('1'), Ok((697.0, 1209.0)));
        assert_eq!(dtmf_frequencies('0'), Ok((941.0, 1336.0)));
        assert_eq!(dtmf_frequencies('#'), Ok((941.0, 1477.0)));
        assert_eq!(dtmf_frequencies('d'), Ok((941.0, 1633.0)));
        assert_eq!(dtmf_frequencies('x'), Err(ToneError::InvalidDigit('x')));
    }

    #[test]
    fn country_codes_round_trip() {
        for c in Country::ALL {
            assert_eq!(Country::from_code(c.code()), Some(c));
            assert_eq!(c.code().to_uppercase().parse::<Country>(), Ok(c));
        }
        assert_eq!("xx".parse::<Country>(), Err(ToneError::UnknownCountry));
    }

    #[test]
    fn bad_specs_are_rejected() {
        let nyquist = spec(&[4000.0], -10.0, &[]);
        assert_eq!(
            ToneGenerator::new(nyquist, Rate::Hz8000).err(),
            Some(ToneError::InvalidFrequency(4000.0))
        );
        assert!(ToneGenerator::new(nyquist, Rate::Hz16000).is_ok());
        let none = spec(&[], -10.0, &[]);
        assert_eq!(
            ToneGenerator::new(none, Rate::Hz8000).err(),
            Some(ToneError::FrequencyCount(0))
        );
    }

    #[test]
    fn dtmf_queue_is_all_or_nothing() {
        let mut g = DtmfGenerator::new(DtmfParams::default(), Rate::Hz8000).unwrap();
        assert_eq!(g.push("12x"), Err(ToneError::InvalidDigit('x')));
        assert!(g.is_idle());
        assert_eq!(
            g.push(&"1".repeat(DTMF_QUEUE + 1)),
            Err(ToneError::QueueFull)
        );
        assert!(g.is_idle());
        g.push("1").unwrap();
        assert!(!g.is_idle());
    }
}
