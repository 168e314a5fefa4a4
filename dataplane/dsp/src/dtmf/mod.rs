//! Multi-channel DTMF detection (ITU-T Q.23 signals, Q.24 reception).
//!
//! Finds the digits of the Q.23 keypad (`0`–`9`, `*`, `#`, `A`–`D`: one
//! tone of the low group 697/770/852/941 Hz plus one of the high group
//! 1209/1336/1477/1633 Hz) in 8 kHz linear 16-bit audio, on many channels
//! at once, and reports where each digit starts and ends so that the media
//! engine can cut the in-band tone out of the forwarded audio. No I/O, no
//! clock (positions are sample counts), no allocation after construction.
//!
//! # Driving it
//!
//! ```
//! use tandem_dsp::dtmf::{DtmfBank, DtmfEvent};
//!
//! let channels = 32;
//! let mut bank = DtmfBank::new(channels);
//! // One 20 ms frame of every channel, interleaved: frame[n * channels + c].
//! let frame = vec![0i16; 160 * channels];
//! bank.process_interleaved(&frame, |channel, event| match event {
//!     DtmfEvent::Start { digit, at } => println!("{channel}: {digit} from sample {at}"),
//!     DtmfEvent::End(d) => println!("{channel}: {} ended, {}..{}", d.digit, d.start, d.end),
//! });
//! bank.reset(7); // a new call on channel 7
//! ```
//!
//! [`DtmfDetector`] is the same for one channel, and [`detect`] runs one
//! over a whole signal.
//!
//! # What it meets (defaults, [`DtmfConfig`])
//!
//! | Q.24 requirement | setting | tested by |
//! |---|---|---|
//! | accept each tone within ±1.5 % of nominal, reject beyond ±3.5 % | deviation ≤ 2.5 %, measured from phase | `tests/dtmf-q24-conformance.rs` sweep 1, 7 |
//! | accept twist up to 8 dB normal, 4 dB reverse; reject 10 / 6 dB | limits 9 / 5 dB | sweeps 2, 7 |
//! | operate from −3 to −30 dBm0 per tone; not at −40 | each tone ≥ −35 dBm0 | sweeps 3, 7 |
//! | 40 ms tones with 40 ms pauses, each digit; ignore ≤ 20 ms | 3 windows confirm, 6 end | sweep 4 |
//! | 15 dB S/N in white noise | tones ≥ 85 % of the energy | sweeps 5, 7 |
//! | no digits from speech or music | energy share, purity probes | `tests/dtmf-talk-off.rs` |
//!
//! **Levels** are dBm0 per tone with Tandem's convention: G.711 puts the
//! A-law overload point at +3.14 dBm0, so a 0 dBm0 sine has a peak of
//! 22,905 on the 16-bit scale ([`ZERO_DBM0_PEAK`]). **S/N** is the power of
//! white noise over the whole 0–4 kHz band against the power of both tones
//! together.
//!
//! # How it decides
//!
//! Every 5 ms (a *hop*, 40 samples) the detector looks at the last 20 ms
//! (a *window* of four hops):
//!
//! 1. **Resonators.** Eight Goertzel resonators, one per DTMF frequency,
//!    run over each 40-sample sub-block and are read out as complex DFT
//!    values, then restarted. Each value is rotated by `e^{-jω·40·k}` (k the
//!    sub-block number), so the four values of a window add up to the
//!    160-point DFT of the window (50 Hz resolution) while each still tells
//!    its own 5 ms. The sum of squares of the samples is kept per sub-block.
//! 2. **Gate.** Lanes whose strongest low and high bins hold less than 30 %
//!    of the window's energy stop here (silence, most speech). This part is
//!    branch-free and runs 16 channels per vector.
//! 3. **Full check** (per channel, only past the gate). The pair must be
//!    present in all four sub-blocks (each holds ≥ 40 % of the busiest
//!    one's energy), which makes durations count exactly. Each tone's
//!    frequency is *measured*: the phase advance between the two 10 ms
//!    halves gives it to about 1 Hz, the advance between neighbouring
//!    sub-blocks (unambiguous to ±100 Hz) picks the branch. Magnitude alone
//!    cannot separate 1.5 % from 3.5 % in 20 ms: at 697 Hz they are 10 and
//!    24 Hz, both inside the ±50 Hz main lobe. The window's energy is then
//!    re-tuned to the measured frequency (no loss at 1.5 % off), and
//!    the levels, the twist (with 3 dB slack, see below), the share of the
//!    window energy in the two tones (≥ 85 %) and the margin over the other
//!    frequencies of each group (≥ 8 dB) are checked.
//! 4. **Confirmation.** Three windows in a row for the same digit confirm
//!    it, provided the last passes one more check (if it does not, the run
//!    goes on and the next window tries again). Both tones are fitted by
//!    least squares to the window's 160 stored samples: the fit gives the twist free of the
//!    other tone's leakage (which a 20 ms window cannot suppress to better
//!    than ±1 dB at 8 dB twist), and the residual is probed at each tone's
//!    second harmonic and at the neighbours in a harmonic series through
//!    both tones. Voices and instruments put energy there (a high voice's
//!    3rd and 4th harmonics can sit within 2.5 % of `*`, with the
//!    fundamental 12 dB down); a DTMF sender does not. The twist must be
//!    within the exact limits and every probe 15 dB below the weaker tone.
//! 5. **Events.** [`DtmfEvent::Start`] comes with the confirmation (30 ms
//!    after the tone starts), [`DtmfEvent::End`] after six windows without
//!    the digit (30 ms); a different digit confirmed back to back ends the
//!    previous one at once. Start and end are placed inside the edge
//!    sub-blocks from their energy relative to a full one: within 25
//!    samples (3.1 ms) of the truth in the tests.
//!
//! Bursts of 25 ms or less never give three qualifying windows; clean tones
//! of 30 ms and more always do. Interruptions of up to 10 ms are bridged
//! (fewer than six windows lose the pair); pauses of 20 ms and more always
//! end a digit.
//!
//! # Data layout
//!
//! A [`DtmfBank`] keeps channels in groups of 16 (one AVX-512 or two AVX2
//! registers of `f32`). Each group is structure-of-arrays, every array
//! `[frequency or sub-block][lane]`: resonator states, the ring of the last
//! four sub-blocks' rotated DFT values, energies, and samples. Frames come
//! **interleaved** (`frame[n * channels + c]`, the order of a TDM highway,
//! and the fastest: one contiguous load per group and sample) or
//! **channel-major** (`frame[c * n + i]`, one jitter-buffer frame per
//! channel, transposed 40 × 16 at a time). Frames may have any length; the
//! bank keeps its place inside a sub-block. Per-channel scalar state (the
//! confirmation run, the digit in progress) is touched only for channels
//! past the gate or with a digit under way.
//!
//! The two hot loops (resonators, sub-block close) are written once as
//! generic lane loops (the scalar twin, used on CPUs without AVX2) and once
//! with AVX2 intrinsics in the `simd` module, chosen at run time, compiled
//! again with AVX-512VL so the resonators' 16 state registers, the
//! coefficients and the sample fit in its 32 registers. The intrinsic code
//! performs the same IEEE operations in the same order, so results are
//! bit-identical; a unit test compares every state word.
//!
//! # Figures (measured on the development machine, AMD EPYC, one core)
//!
//! * Conformance (`target/dtmf-conformance-report.txt`): every asserted
//!   case passes, 9,135 signals in all. spandsp 0.0.6 `dtmf_rx` on the
//!   same signals: 433 / 448 at ±1.5 % deviation, 388 / 416 within the
//!   twist limits (it refuses exactly 8 dB normal and 4 dB reverse),
//!   659 / 1,536 on the combined extremes, 0 / 30 on 40 ms sequences at the
//!   combined limits, and it answers 39 of 176 tones at −40 to −50 dBm0.
//! * Talk-off (`target/dtmf-talk-off-report.txt`): no digit in 102 minutes
//!   of espeak-ng speech (English and Mandarin, 40 voices and variants,
//!   4 levels), 25 minutes of two- and three-talker babble, nor 3.3 minutes
//!   of synthesised music (spandsp: 0, 0 and 179).
//!   A two-note piano chord held for a second decays to two nearly pure
//!   tones within 0.2–1.7 % of a DTMF pair; both detectors report digits
//!   there (27 and 46), which is what Q.24's acceptance limits ask of a
//!   receiver (reported, not asserted).
//! * Throughput (`cargo bench -p tandem-bench --bench dtmf`): 1,024 channels
//!   of speech-like audio with digits in 20 ms frames. Interleaved frames:
//!   148,000–168,000 channels per core in real time across runs on a
//!   shared machine, against spandsp's 24,600–25,400 (6.0–6.7×); per frame
//!   of all 1,024 channels, 126 µs against 823 µs. Channel-major frames:
//!   124,000–136,000 (5.0–5.4×). Forced onto the scalar twin (what a CPU
//!   without AVX2 runs): about 81,600 (3.1×).

mod kernel;
mod simd;

use kernel::{Coefs, Group, LANES, M, NF, SUB};
use simd::Isa;

/// The sample rate every function here assumes, in Hz.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples per analysis window (20 ms); a decision is taken every
/// [`HOP`] samples on the last `WINDOW` samples.
pub const WINDOW: usize = SUB * M;

/// Samples between decisions (5 ms).
pub const HOP: usize = SUB;

/// Peak amplitude, on the 16-bit scale, of a sine at 0 dBm0.
///
/// G.711 places the A-law overload point (a full-scale sine, ±32,767 here)
/// at +3.14 dBm0, so a 0 dBm0 sine sits about 3.1 dB lower: peak 22,905,
/// RMS ≈ 16,196. Every level in this module and its tests is in dBm0 per
/// tone on this scale.
pub const ZERO_DBM0_PEAK: f64 = 22905.0;

/// The low-group (row) frequencies of Q.23, in Hz.
pub const LOW_GROUP: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// The high-group (column) frequencies of Q.23, in Hz.
pub const HIGH_GROUP: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad of Q.23 Figure 1: `KEYPAD[row][column]`.
pub const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// The two frequencies of `digit` (low, high), or `None` for a character
/// that is not on the keypad.
pub fn frequencies(digit: char) -> Option<(f64, f64)> {
    let d = digit.to_ascii_uppercase();
    for (r, row) in KEYPAD.iter().enumerate() {
        for (c, &key) in row.iter().enumerate() {
            if key == d {
                return Some((LOW_GROUP[r], HIGH_GROUP[c]));
            }
        }
    }
    None
}

/// A detected digit: `start..end` in samples since the channel began (or
/// was last reset), end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digit {
    /// `0`–`9`, `*`, `#`, `A`–`D`.
    pub digit: char,
    /// First sample of the tone pair (estimated).
    pub start: u64,
    /// One past the last sample of the tone pair (estimated).
    pub end: u64,
}

/// What the detector reports about one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A digit has been confirmed (about 30 ms after its start); `at` is its
    /// estimated first sample. The engine can start suppressing the in-band
    /// tone from `at` on.
    Start {
        /// The digit.
        digit: char,
        /// Its estimated first sample.
        at: u64,
    },
    /// The digit that was last started has ended (reported `release_windows`
    /// hops after its end).
    End(Digit),
}

/// Detection thresholds. [`Default`] meets Q.24 as laid out in the module
/// docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfConfig {
    /// Minimum level of each tone, dBm0 (Q.24: operate down to −30 dBm0;
    /// the default −35 leaves 5 dB margin each way to the −40 dBm0 that
    /// must not operate).
    pub min_level_dbm0: f32,
    /// Largest accepted excess of the low tone over the high tone, dB
    /// ("normal" twist). Q.24: accept 8 dB; default 9.
    pub max_normal_twist_db: f32,
    /// Largest accepted excess of the high tone over the low tone, dB
    /// ("reverse" twist). Q.24: accept 4 dB; default 5.
    pub max_reverse_twist_db: f32,
    /// Largest accepted deviation of each tone from its nominal frequency,
    /// as a fraction (Q.24: accept 1.5 %, reject 3.5 %; default 2.5 %).
    pub max_frequency_deviation: f32,
    /// Minimum share of the window's energy that the two tones must carry
    /// (default 0.85). Speech, music and noise spread their energy; a
    /// DTMF pair at 15 dB S/N carries about 0.95.
    pub min_tone_share: f32,
    /// Minimum ratio, dB, between each tone and every other frequency of its
    /// group (default 8 dB).
    pub min_peak_ratio_db: f32,
    /// Minimum ratio, dB, between each tone and its own second harmonic
    /// (default 15 dB), and between the weaker tone and the neighbours of a
    /// harmonic series through both (see the module docs). Telephone sets
    /// keep unwanted components of their DTMF signals well below this;
    /// voices and instruments rarely do, and a two-note chord that lands on
    /// a DTMF pair is told apart by this alone. Checked while a digit is
    /// being confirmed.
    pub min_harmonic_ratio_db: f32,
    /// Minimum share of the window's busiest 5 ms sub-block energy that every
    /// sub-block must hold (default 0.4): the pair must be present through
    /// the whole window, which is what makes the duration count exact.
    pub min_presence: f32,
    /// Consecutive qualifying windows (one per 5 ms hop) before a digit is
    /// confirmed (default 3). A 20 ms window plus two hops: bursts of up to
    /// 25 ms never confirm, clean tones of 30 ms and more always do.
    pub confirm_windows: u32,
    /// Consecutive non-qualifying windows that end a digit (default 6):
    /// interruptions of up to 10 ms are bridged, pauses of 20 ms and more
    /// always end it.
    pub release_windows: u32,
}

impl Default for DtmfConfig {
    fn default() -> Self {
        Self {
            min_level_dbm0: -35.0,
            max_normal_twist_db: 9.0,
            max_reverse_twist_db: 5.0,
            max_frequency_deviation: 0.025,
            min_tone_share: 0.85,
            min_peak_ratio_db: 8.0,
            min_harmonic_ratio_db: 15.0,
            min_presence: 0.4,
            confirm_windows: 3,
            release_windows: 6,
        }
    }
}

/// [`DtmfConfig`] turned into the linear quantities the decision compares.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Minimum |X|² of each tone over a window.
    level: f32,
    normal_twist: f32,
    reverse_twist: f32,
    /// Maximum |phase advance per sub-block| for each frequency, radians.
    max_advance: [f32; NF],
    /// `min_tone_share · WINDOW / 2`: compares |X|² with Σx².
    share: f32,
    peak: f32,
    harmonic: f64,
    presence: f32,
    /// Cheap pre-filter on uncompensated window energies (see
    /// [`kernel::close_sub_block`]), scaled like `share`.
    gate: f32,
    confirm: u32,
    release: u32,
}

/// The rotation period of the sub-block phasors: `e^{-jω·SUB·k}` repeats
/// after 200 sub-blocks for every integer frequency at 8 kHz.
const ROT_PERIOD: usize = 200;

fn all_frequencies() -> [f64; NF] {
    [
        LOW_GROUP[0],
        LOW_GROUP[1],
        LOW_GROUP[2],
        LOW_GROUP[3],
        HIGH_GROUP[0],
        HIGH_GROUP[1],
        HIGH_GROUP[2],
        HIGH_GROUP[3],
    ]
}

impl Limits {
    fn new(c: &DtmfConfig) -> Self {
        let win = WINDOW as f32;
        // A tone of peak A fills the window DFT with |X| = A·WINDOW/2.
        let a_min = ZERO_DBM0_PEAK as f32 * 10f32.powf(c.min_level_dbm0 / 20.0);
        let x_min = a_min * win / 2.0;
        let mut max_advance = [0.0; NF];
        for (adv, f) in max_advance.iter_mut().zip(all_frequencies()) {
            *adv = (2.0 * std::f64::consts::PI * f * SUB as f64 / f64::from(SAMPLE_RATE)) as f32
                * c.max_frequency_deviation;
        }
        Self {
            level: x_min * x_min,
            normal_twist: 10f32.powf(c.max_normal_twist_db / 10.0),
            reverse_twist: 10f32.powf(c.max_reverse_twist_db / 10.0),
            max_advance,
            share: c.min_tone_share * win / 2.0,
            peak: 10f32.powf(c.min_peak_ratio_db / 10.0),
            harmonic: 10f64.powf(f64::from(c.min_harmonic_ratio_db) / 10.0),
            presence: c.min_presence,
            // Within ±1.5 % a pair keeps about half of its energy or more
            // in the nominal bins (the worst, 1633 Hz, loses 3.8 dB, at
            // 4 dB reverse twist): 30 % leaves room for noise.
            gate: 0.3 * win / 2.0,
            confirm: c.confirm_windows.max(1),
            release: c.release_windows.max(1),
        }
    }
}

/// The detector's view of one channel: the confirmation run and the digit
/// in progress. Positions are on the bank's clock.
#[derive(Debug, Clone, Copy)]
struct Track {
    /// Bank position of this channel's sample 0.
    origin: u64,
    run_digit: u8,
    run_len: u32,
    run_start: u64,
    active: Option<Active>,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    digit: u8,
    start: u64,
    end: u64,
    misses: u32,
}

const NO_DIGIT: u8 = u8::MAX;

impl Track {
    fn new(origin: u64) -> Self {
        Self {
            origin,
            run_digit: NO_DIGIT,
            run_len: 0,
            run_start: 0,
            active: None,
        }
    }

    fn busy(&self) -> bool {
        self.run_len > 0 || self.active.is_some()
    }

    fn local(&self, pos: u64) -> u64 {
        pos.saturating_sub(self.origin)
    }

    /// Advances by one window decision.
    fn step(&mut self, hit: Option<Hit>, lim: &Limits, mut emit: impl FnMut(DtmfEvent)) {
        let confirmable = hit.is_some_and(|h| h.confirmable);
        match hit {
            Some(h) if h.digit == self.run_digit => self.run_len += 1,
            Some(h) => {
                self.run_digit = h.digit;
                self.run_len = 1;
                self.run_start = h.start;
            }
            None => {
                self.run_digit = NO_DIGIT;
                self.run_len = 0;
            }
        }
        if let Some(a) = &mut self.active {
            match hit {
                Some(h) if h.digit == a.digit => {
                    a.end = h.end;
                    a.misses = 0;
                }
                _ => a.misses += 1,
            }
            // A different digit confirmed back-to-back also ends this one.
            let other_confirmed =
                self.run_digit != a.digit && self.run_len >= lim.confirm && confirmable;
            if a.misses >= lim.release || other_confirmed {
                let d = *a;
                self.active = None;
                emit(DtmfEvent::End(self.digit(d)));
            }
        }
        if self.active.is_none()
            && self.run_len >= lim.confirm
            && self.run_digit != NO_DIGIT
            && confirmable
        {
            // A run only grows on hits, so `hit` is this window's.
            let end = hit.map_or(self.run_start, |h| h.end);
            self.active = Some(Active {
                digit: self.run_digit,
                start: self.run_start,
                end,
                misses: 0,
            });
            emit(DtmfEvent::Start {
                digit: key(self.run_digit),
                at: self.local(self.run_start),
            });
        }
    }

    fn digit(&self, a: Active) -> Digit {
        Digit {
            digit: key(a.digit),
            start: self.local(a.start),
            end: self.local(a.end),
        }
    }

    fn finish(&mut self, mut emit: impl FnMut(DtmfEvent)) {
        if let Some(a) = self.active.take() {
            emit(DtmfEvent::End(self.digit(a)));
        }
        self.run_digit = NO_DIGIT;
        self.run_len = 0;
    }
}

fn key(code: u8) -> char {
    KEYPAD[usize::from(code / 4)][usize::from(code % 4)]
}

/// A window that qualifies as `digit`, with the estimated tone edges.
#[derive(Debug, Clone, Copy)]
struct Hit {
    digit: u8,
    start: u64,
    end: u64,
    /// Whether this window passed the confirmation check too (or did not
    /// need it): a run confirms on its first window that did.
    confirmable: bool,
}

#[derive(Debug, Clone, Copy)]
struct C32 {
    re: f32,
    im: f32,
}

impl C32 {
    fn mul_conj(self, o: C32) -> C32 {
        C32 {
            re: self.re * o.re + self.im * o.im,
            im: self.im * o.re - self.re * o.im,
        }
    }
    fn add(self, o: C32) -> C32 {
        C32 {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
    fn arg(self) -> f32 {
        self.im.atan2(self.re)
    }
    fn norm2(self) -> f32 {
        self.re * self.re + self.im * self.im
    }
}

/// Phase advance per sub-block of the tone in `w` (the four sub-block DFT
/// values of one frequency, oldest first), and the window energy |X|²
/// re-tuned to that advance.
///
/// The advance between neighbouring sub-blocks is unambiguous to ±100 Hz
/// but each 5 ms DFT lets the other group's tone leak in; the advance
/// between the two 10 ms halves leaks ten times less but is ambiguous
/// beyond ±50 Hz (a 4 % tone at 1633 Hz is 65 Hz off). So the halves give
/// the estimate and the neighbours only pick its branch.
fn tone_fit(w: [C32; M]) -> (f32, f32) {
    let mut z1 = C32 { re: 0.0, im: 0.0 };
    for m in 0..M - 1 {
        z1 = z1.add(w[m + 1].mul_conj(w[m]));
    }
    let coarse = z1.arg();
    let h0 = w[0].add(w[1]);
    let h1 = w[2].add(w[3]);
    let half = h1.mul_conj(h0).arg() / 2.0;
    let pi = std::f32::consts::PI;
    // |a| folded into [0, π]; the arguments here lie within ±3π.
    let dist = |a: f32| {
        let a = a.abs() % (2.0 * pi);
        a.min(2.0 * pi - a)
    };
    let mut adv = half;
    for cand in [half - pi, half + pi] {
        if dist(cand - coarse) < dist(adv - coarse) {
            adv = cand;
        }
    }
    // Re-tune: X' = Σ w[m] e^{-j m adv}.
    let (s, c) = adv.sin_cos();
    let step = C32 { re: c, im: s };
    let mut turn = C32 { re: 1.0, im: 0.0 };
    let mut x = C32 { re: 0.0, im: 0.0 };
    for wm in w {
        x = x.add(wm.mul_conj(turn));
        turn = C32 {
            re: turn.re * step.re - turn.im * step.im,
            im: turn.re * step.im + turn.im * step.re,
        };
    }
    (adv, x.norm2())
}

/// The full Q.24 check of one lane's current window (`newest` = slot of the
/// sub-block just closed). Returns the digit and the estimated filled parts
/// of the first and last sub-blocks, as fractions.
fn qualify(
    g: &Group,
    lane: usize,
    newest: usize,
    lim: &Limits,
    track: &Track,
) -> Option<(u8, f32, f32, bool)> {
    let slot = |m: usize| (newest + 1 + m) % M;
    let e: [f32; M] = std::array::from_fn(|m| g.e[slot(m)][lane]);
    let e_max = e.iter().copied().fold(0.0f32, f32::max);
    if e_max <= 0.0 || e.iter().any(|&v| v < lim.presence * e_max) {
        return None;
    }
    let t: [f32; NF] = std::array::from_fn(|f| g.t[f][lane]);
    let argmax = |r: std::ops::Range<usize>| {
        r.clone()
            .fold(r.start, |best, f| if t[f] > t[best] { f } else { best })
    };
    let (lo, hi) = (argmax(0..4), argmax(4..8));
    let fit = |f: usize| {
        tone_fit(std::array::from_fn(|m| C32 {
            re: g.w_re[slot(m)][f][lane],
            im: g.w_im[slot(m)][f][lane],
        }))
    };
    // Cheap bounds first (speech often gets this far): re-tuning can at
    // most add the sub-blocks' magnitudes coherently.
    let bound = |f: usize| {
        let a: f32 = (0..M)
            .map(|m| {
                C32 {
                    re: g.w_re[slot(m)][f][lane],
                    im: g.w_im[slot(m)][f][lane],
                }
                .norm2()
                .sqrt()
            })
            .sum();
        a * a
    };
    let (b_lo, b_hi) = (bound(lo), bound(hi));
    if b_lo + b_hi < lim.share * g.e_win[lane]
        || b_lo < lim.level
        || b_hi < lim.level
        || (0..4).any(|f| f != lo && t[f] * lim.peak > b_lo)
        || (4..8).any(|f| f != hi && t[f] * lim.peak > b_hi)
    {
        return None;
    }
    let (adv_lo, t_lo) = fit(lo);
    let (adv_hi, t_hi) = fit(hi);
    let ok = adv_lo.abs() <= lim.max_advance[lo]
        && adv_hi.abs() <= lim.max_advance[hi]
        && t_lo >= lim.level
        && t_hi >= lim.level
        && t_lo + t_hi >= lim.share * g.e_win[lane]
        && t_lo <= t_hi * lim.normal_twist * TWIST_SLACK
        && t_hi <= t_lo * lim.reverse_twist * TWIST_SLACK
        && (0..4).all(|f| f == lo || t[f] * lim.peak <= t_lo)
        && (4..8).all(|f| f == hi || t[f] * lim.peak <= t_hi);
    if !ok {
        return None;
    }
    let digit = (lo * 4 + (hi - 4)) as u8;
    // The least-squares check is the costly one, so it runs only on windows
    // that would confirm a digit. One that fails it still extends the run
    // (the pair is there), and the next window tries again: a 40 ms tone
    // has few windows to spare.
    let would_confirm = if digit == track.run_digit {
        track.run_len + 1 >= lim.confirm
    } else {
        lim.confirm <= 1
    };
    let mut confirmable = true;
    if would_confirm && track.active.is_none_or(|a| a.digit != digit) {
        let hz = |f: usize, adv: f32| {
            all_frequencies()[f] + f64::from(adv) * f64::from(SAMPLE_RATE) / (TAU * SUB as f64)
        };
        let x: [f64; WINDOW] =
            std::array::from_fn(|n| f64::from(g.x[slot(n / SUB)][n % SUB][lane]));
        confirmable = fit_pair(&x, hz(lo, adv_lo), hz(hi, adv_hi), lim.harmonic).is_some_and(
            |(pure, [p_lo, p_hi])| {
                pure && p_lo <= p_hi * f64::from(lim.normal_twist)
                    && p_hi <= p_lo * f64::from(lim.reverse_twist)
            },
        );
    }
    // Edges: a sub-block only partly filled by the pair holds that part of
    // a full one's energy (exact when the rest is silence, and bounded to
    // the sub-block otherwise).
    let full = e[1].max(e[2]);
    let head = (e[0] / full).min(1.0);
    let tail = (e[M - 1] / full).min(1.0);
    Some((digit, head, tail, confirmable))
}

const TAU: f64 = 2.0 * std::f64::consts::PI;

/// Slack on the twist limits in the per-window check (3 dB). A 20 ms
/// window cannot keep an 8 dB stronger tone 268 Hz away from biasing the
/// weaker tone's energy by about ±1 dB, so the exact limits are applied to
/// the least-squares fit of both tones ([`fit_pair`]) when a digit is
/// about to be confirmed.
const TWIST_SLACK: f32 = 2.0;

/// Fits the two tones at `f1` < `f2` Hz to `x` by least squares and
/// returns whether `x` is spectrally pure, and the two tones' powers (as
/// |X|² over the window, free of each other's leakage), or `None` if the
/// fit is degenerate.
///
/// Pure means nothing where voices and instruments put energy next to a
/// pair of their partials: at each tone's second harmonic, and at the
/// neighbours in a harmonic series through both tones, whose fundamental
/// would be `d = f2 − f1` or `d / 2` (at `d`, `f1 − d`, `f2 + d`,
/// `(f1 + f2) / 2`, `f1 − d/2`, `f2 + d/2`, `d/2`). Each probe must stay
/// `ratio` (power) below the weaker tone.
///
/// The probes look at the residual after the fit: one can sit within
/// 60 Hz of a tone (2 × 697 = 1394 Hz against 1336 Hz), too close for any
/// 20 ms window to keep the tone out, but the fit removes the tone whole.
/// White noise at 15 dB S/N leaves about 30 dB between a tone and a probe.
fn fit_pair(x: &[f64; WINDOW], f1: f64, f2: f64, ratio: f64) -> Option<(bool, [f64; 2])> {
    let w = [f1, f2].map(|f| TAU * f / f64::from(SAMPLE_RATE));
    // Basis: cos and sin of both tones, by rotating phasors.
    let mut basis = [[0.0f64; WINDOW]; 4];
    for (pair, &wi) in basis.chunks_exact_mut(2).zip(&w) {
        let (s, c) = wi.sin_cos();
        let (mut re, mut im) = (1.0, 0.0);
        let [cos, sin] = pair else {
            unreachable!("chunks of two")
        };
        for (cn, sn) in cos.iter_mut().zip(sin.iter_mut()) {
            (*cn, *sn) = (re, im);
            (re, im) = (re * c - im * s, re * s + im * c);
        }
    }
    // Normal equations G·a = b, solved by Gauss–Jordan on 4 × 5.
    let mut m = [[0.0f64; 5]; 4];
    for i in 0..4 {
        for j in 0..4 {
            m[i][j] = (0..WINDOW).map(|n| basis[i][n] * basis[j][n]).sum();
        }
        m[i][4] = (0..WINDOW).map(|n| basis[i][n] * x[n]).sum();
    }
    for col in 0..4 {
        let p = m[col][col];
        if p.abs() < 1e-9 {
            return None;
        }
        let pivot = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let k = row[col] / p;
                for (v, pv) in row[col..].iter_mut().zip(&pivot[col..]) {
                    *v -= k * pv;
                }
            }
        }
    }
    let a: [f64; 4] = std::array::from_fn(|i| m[i][4] / m[i][i]);
    let residual: [f64; WINDOW] =
        std::array::from_fn(|n| x[n] - (0..4).map(|i| a[i] * basis[i][n]).sum::<f64>());
    let half = WINDOW as f64 / 2.0;
    let tone = |i: usize| (a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1]) * half * half;
    let limit = tone(0).min(tone(1)) / ratio;
    let d = f2 - f1;
    let probes = [
        2.0 * f1,
        2.0 * f2,
        d,
        f1 - d,
        f2 + d,
        (f1 + f2) / 2.0,
        f1 - d / 2.0,
        f2 + d / 2.0,
        d / 2.0,
    ];
    let pure = probes
        .iter()
        .filter(|&&f| (100.0..3900.0).contains(&f))
        .all(|&f| {
            // Goertzel: |X(f)|² = s1² + s2² − 2cos ω · s1 · s2.
            let c = 2.0 * (TAU * f / f64::from(SAMPLE_RATE)).cos();
            let (mut s1, mut s2) = (0.0, 0.0);
            for r in residual {
                (s1, s2) = (r + c * s1 - s2, s1);
            }
            s1 * s1 + s2 * s2 - c * s1 * s2 <= limit
        });
    Some((pure, [tone(0), tone(1)]))
}

/// Many channels in lock-step, structure-of-arrays (see the module docs).
#[derive(Debug, Clone)]
pub struct DtmfBank {
    channels: usize,
    groups: Vec<Group>,
    tracks: Vec<Track>,
    coefs: Coefs,
    rot_re: Vec<[f32; NF]>,
    rot_im: Vec<[f32; NF]>,
    limits: Limits,
    isa: Isa,
    /// Samples processed per channel since the bank was built.
    pos: u64,
}

/// How a frame's samples are laid out in memory.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Interleaved,
    ChannelMajor,
}

impl DtmfBank {
    /// A bank of `channels` detectors with the default configuration.
    pub fn new(channels: usize) -> Self {
        Self::with_config(channels, DtmfConfig::default())
    }

    /// A bank of `channels` detectors.
    ///
    /// # Panics
    /// If `channels` is 0.
    pub fn with_config(channels: usize, config: DtmfConfig) -> Self {
        assert!(channels > 0, "a DTMF bank needs at least one channel");
        let freqs = all_frequencies();
        let sr = f64::from(SAMPLE_RATE);
        let tau = 2.0 * std::f64::consts::PI;
        let coefs = Coefs {
            two_cos: freqs.map(|f| (2.0 * (tau * f / sr).cos()) as f32),
            cos: freqs.map(|f| (tau * f / sr).cos() as f32),
            sin: freqs.map(|f| (tau * f / sr).sin() as f32),
        };
        // e^{-jω·SUB·k}, from the exact integer phase (f·SUB·k mod 8000).
        let phase = |k: usize, f: f64| {
            let cycles = ((f as u64 * SUB as u64 * k as u64) % u64::from(SAMPLE_RATE)) as f64 / sr;
            -tau * cycles
        };
        let rot_re = (0..ROT_PERIOD)
            .map(|k| freqs.map(|f| phase(k, f).cos() as f32))
            .collect();
        let rot_im = (0..ROT_PERIOD)
            .map(|k| freqs.map(|f| phase(k, f).sin() as f32))
            .collect();
        Self {
            channels,
            groups: vec![Group::new(); channels.div_ceil(LANES)],
            tracks: vec![Track::new(0); channels],
            coefs,
            rot_re,
            rot_im,
            limits: Limits::new(&config),
            isa: Isa::detect(),
            pos: 0,
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Samples processed per channel since the bank was built.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Restarts one channel (a new call on that timeslot): its state is
    /// cleared, a digit in progress is dropped without an event, and its
    /// sample positions count from the current position.
    ///
    /// # Panics
    /// If `channel` is not below [`channels`](Self::channels).
    pub fn reset(&mut self, channel: usize) {
        self.groups[channel / LANES].reset_lane(channel % LANES);
        self.tracks[channel] = Track::new(self.pos);
    }

    /// Processes one frame of every channel, **interleaved** (sample-major,
    /// the order of a TDM highway): `frame[n * channels + c]` is sample `n`
    /// of channel `c`. This is the fastest layout: a group's 16 samples of
    /// one instant are one contiguous load. Frames may be of any length
    /// (160 samples per channel is 20 ms); `events(channel, event)` is
    /// called as digits start and end.
    ///
    /// # Panics
    /// If `frame.len()` is not a multiple of the channel count.
    pub fn process_interleaved(&mut self, frame: &[i16], events: impl FnMut(usize, DtmfEvent)) {
        self.run(frame, Layout::Interleaved, events);
    }

    /// As [`process_interleaved`](Self::process_interleaved), but
    /// **channel-major**: `frame[c * n + i]` is sample `i` of channel `c`,
    /// `n = frame.len() / channels` (one jitter-buffer frame per call,
    /// back to back). Transposed 40 samples × 16 channels at a time into the
    /// group's sample ring; about 15 % slower than interleaved in the bench.
    ///
    /// # Panics
    /// If `frame.len()` is not a multiple of the channel count.
    pub fn process_channel_major(&mut self, frame: &[i16], events: impl FnMut(usize, DtmfEvent)) {
        self.run(frame, Layout::ChannelMajor, events);
    }

    /// Ends every digit in progress (the signal is over), reporting
    /// [`DtmfEvent::End`] for each. The bank can go on afterwards.
    pub fn finish(&mut self, mut events: impl FnMut(usize, DtmfEvent)) {
        for (c, tr) in self.tracks.iter_mut().enumerate() {
            tr.finish(|e| events(c, e));
        }
    }

    /// Forces the baseline (SSE2) kernels: the scalar twin, for tests.
    #[cfg(test)]
    fn force_baseline(&mut self) {
        self.isa = Isa::Baseline;
    }

    fn run(&mut self, frame: &[i16], layout: Layout, mut events: impl FnMut(usize, DtmfEvent)) {
        let ch = self.channels;
        assert!(
            frame.len() % ch == 0,
            "frame of {} samples is not a whole number of frames for {ch} channels",
            frame.len()
        );
        let n = frame.len() / ch;
        let pos0 = self.pos;
        for (gi, g) in self.groups.iter_mut().enumerate() {
            let first = gi * LANES;
            let lanes = LANES.min(ch - first);
            let mut done = 0;
            let mut pos = pos0;
            while done < n {
                let phase = (pos % SUB as u64) as usize;
                let take = (SUB - phase).min(n - done);
                // Samples go straight into the group's sample ring, where
                // the resonators read them and the purity check finds them.
                let cur = ((pos / SUB as u64) % M as u64) as usize;
                let x = &mut g.x[cur][phase..phase + take];
                match layout {
                    Layout::Interleaved if lanes == LANES => {
                        for (i, row) in x.iter_mut().enumerate() {
                            let at = (done + i) * ch + first;
                            let src: &[i16; LANES] = frame[at..at + LANES]
                                .try_into()
                                .expect("slice of LANES samples");
                            *row = src.map(f32::from);
                        }
                    }
                    Layout::Interleaved => {
                        for (i, row) in x.iter_mut().enumerate() {
                            let at = (done + i) * ch + first;
                            let src = &frame[at..at + lanes];
                            for (d, &s) in row.iter_mut().zip(src) {
                                *d = f32::from(s);
                            }
                        }
                    }
                    Layout::ChannelMajor => {
                        for l in 0..lanes {
                            let src = &frame[(first + l) * n + done..][..take];
                            for (row, &s) in x.iter_mut().zip(src) {
                                row[l] = f32::from(s);
                            }
                        }
                    }
                }
                self.isa.goertzel(g, cur, phase..phase + take, &self.coefs);
                done += take;
                pos += take as u64;
                if phase + take < SUB {
                    continue;
                }
                // Sub-block `k` is complete: decide on the window ending here.
                let k = pos / SUB as u64 - 1;
                let slot = (k % M as u64) as usize;
                let r = (k % ROT_PERIOD as u64) as usize;
                let mask = self.isa.close_sub_block(
                    g,
                    slot,
                    &self.coefs,
                    &self.rot_re[r],
                    &self.rot_im[r],
                    self.limits.gate,
                );
                let tracks = &mut self.tracks[first..first + lanes];
                for (l, tr) in tracks.iter_mut().enumerate() {
                    if mask & (1 << l) == 0 && !tr.busy() {
                        continue;
                    }
                    let hit = if mask & (1 << l) != 0 {
                        qualify(g, l, slot, &self.limits, tr).map(|(digit, head, tail, ok)| {
                            let sub = SUB as f32;
                            let win_start = pos.saturating_sub(WINDOW as u64);
                            Hit {
                                digit,
                                start: win_start + ((1.0 - head) * sub).round() as u64,
                                end: pos - ((1.0 - tail) * sub).round() as u64,
                                confirmable: ok,
                            }
                        })
                    } else {
                        None
                    };
                    tr.step(hit, &self.limits, |e| events(first + l, e));
                }
            }
        }
        self.pos = pos0 + n as u64;
    }
}

/// One channel, streaming: a [`DtmfBank`] of one. It computes a whole
/// group of 16 lanes, so many channels belong in one bank instead.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    bank: DtmfBank,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfDetector {
    /// A detector with the default configuration.
    pub fn new() -> Self {
        Self::with_config(DtmfConfig::default())
    }

    /// A detector with `config`.
    pub fn with_config(config: DtmfConfig) -> Self {
        Self {
            bank: DtmfBank::with_config(1, config),
        }
    }

    /// Feeds samples (any count); `events` hears digits start and end.
    pub fn process(&mut self, pcm: &[i16], mut events: impl FnMut(DtmfEvent)) {
        self.bank.process_interleaved(pcm, |_, e| events(e));
    }

    /// Ends the digit in progress, if any (the signal is over).
    pub fn finish(&mut self, mut events: impl FnMut(DtmfEvent)) {
        self.bank.finish(|_, e| events(e));
    }

    /// Starts afresh: positions count from the current sample again.
    pub fn reset(&mut self) {
        self.bank.reset(0);
    }

    /// Samples fed since the detector was built.
    pub fn position(&self) -> u64 {
        self.bank.position()
    }
}

/// Detects the digits of a whole single-channel signal.
pub fn detect(pcm: &[i16]) -> Vec<Digit> {
    let mut out = Vec::new();
    let mut det = DtmfDetector::new();
    let mut on_event = |e| {
        if let DtmfEvent::End(d) = e {
            out.push(d);
        }
    };
    det.process(pcm, &mut on_event);
    det.finish(&mut on_event);
    out
}

#[cfg(test)]
mod tests;
