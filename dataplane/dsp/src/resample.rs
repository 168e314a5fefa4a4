//! Sample-rate conversion between 8, 16 and 48 kHz with polyphase FIR filters.
//!
//! Every conversion Tandem needs is an integer ratio — 2 (8 ↔ 16 kHz), 3
//! (16 ↔ 48 kHz) or 6 (8 ↔ 48 kHz) — so there is no fractional-delay
//! machinery here: upsampling by `L` is an `L`-branch polyphase interpolator,
//! downsampling by `M` is an FIR decimator that only computes the outputs it
//! keeps. Both use the same linear-phase low-pass prototype, one per rate
//! pair, running at the higher of the two rates.
//!
//! # Filter design
//!
//! Each prototype is a Kaiser-windowed sinc, sized with Kaiser's formulas
//! (`β = 0.1102·(A − 8.7)`, order `(A − 7.95) / (2.285·Δω)`) for A = 70 dB —
//! 10 dB above the target so the `f32` taps and the measurement have room —
//! with the cut-off halfway between the passband and stop-band edges. It is
//! designed once per process in `f64` and shared, as `f32` taps, by every
//! [`Resampler`] of that rate pair:
//!
//! | pair | runs at | passband | stop band from | taps | delay |
//! |---|---|---|---|---|---|
//! | 8 ↔ 16 kHz | 16 kHz | 0–3.4 kHz | 4 kHz | 117 (59 per branch) | 3.625 ms |
//! | 8 ↔ 48 kHz | 48 kHz | 0–3.4 kHz | 4 kHz | 349 (59 per branch) | 3.625 ms |
//! | 16 ↔ 48 kHz | 48 kHz | 0–7 kHz | 8 kHz | 211 (71 per branch) | 2.1875 ms |
//!
//! The stop band starts exactly at the narrower rate's Nyquist frequency, so
//! images (upsampling) and aliases (downsampling) are attenuated everywhere,
//! not only where they would land in the passband. The length is always
//! `2·r·q + 1` for ratio `r`, which makes the delay a whole number of
//! samples at both rates. Every interpolator branch (and the decimator) is
//! normalised to unity DC gain, so a constant passes through unchanged.
//!
//! Measured by `tests/resampler-response.rs` with sine sweeps through the
//! real code (i16 in, i16 out, −6 dBFS tones, 50 Hz steps, a Hann-windowed
//! DFT bin at the exact frequency):
//!
//! | conversion | passband gain | worst image / alias |
//! |---|---|---|
//! | 8 → 16 | −0.0024 … +0.0014 dB (50–3400 Hz) | −69.5 dB (4025 Hz) |
//! | 16 → 8 | −0.0024 … +0.0012 dB (50–3400 Hz) | −69.6 dB (3975 Hz) |
//! | 8 → 48 | −0.0025 … +0.0013 dB (50–3400 Hz) | −69.5 dB (4025 Hz) |
//! | 48 → 8 | −0.0024 … +0.0012 dB (50–3400 Hz) | −69.6 dB (3975 Hz) |
//! | 16 → 48 | −0.0022 … +0.0024 dB (50–7000 Hz) | −71.1 dB (8025 Hz) |
//! | 48 → 16 | −0.0022 … +0.0024 dB (50–7000 Hz) | −71.1 dB (7975 Hz) |
//!
//! Targets (asserted by the test): ripple within ±0.1 dB, images and aliases
//! at least 60 dB down. The worst case is always right at the stop-band
//! edge; deeper in the stop band the attenuation is larger.
//!
//! # Arithmetic
//!
//! The history is kept as `f32` and the taps are `f32`. An `i16` fixed-point
//! kernel was tried first and rejected: the decimators' taps are small (the
//! largest is about 1/M), so Q14/Q15 rounding left only ~56 dB of
//! stop band at 48 → 8 kHz, and Q15 cannot hold the worst-case sum (the
//! taps' absolute values add up to 2.3) in an `i32`. In `f32` neither
//! problem exists. The dot product keeps eight independent partial sums so
//! the compiler can vectorise it without reordering additions, which keeps
//! the output bit-exact and deterministic. Results are rounded to nearest
//! and saturated (`as i16`), so a full-scale input whose filtered overshoot
//! exceeds the 16-bit range clips instead of wrapping.
//!
//! Cost is one multiply-add per tap of the dot product: in a release build
//! (x86-64 baseline, SSE2) the test's timing print shows about 9 ns per
//! output sample when upsampling (59–71 taps) and 16, 29 and 44 ns per
//! output sample when downsampling by 2, 3 and 6 (117–349 taps).
//!
//! On a CPU with AVX2 (checked once, in [`Resampler::new`]) the filter
//! loop runs a second compilation (module `avx2`) whose dot product keeps
//! the eight partial sums in one 256-bit register, written with
//! intrinsics (the compiler, left alone, keeps two 128-bit halves). The
//! products, sums and final reduction are the twin's IEEE operations in
//! the twin's order, never fused, so the output is bit-identical
//! (`tests::avx2_matches_the_baseline`). It is 1.5–1.6 times as fast when
//! upsampling and 2.0–2.4 times when downsampling (`cargo bench -p
//! tandem-bench --bench codecs`, the resampler table).
//!
//! # Streaming
//!
//! A [`Resampler`] keeps the filter history between calls: feeding a signal
//! 20 ms at a time produces exactly the same samples as one call with the
//! whole signal. It allocates once, in [`Resampler::new`]; `process` never
//! allocates. For 20 ms frames (a multiple of the ratio) every call returns
//! exactly `input.len() * to / from` samples.
//!
//! ```
//! use tandem_dsp::resample::{Rate, Resampler};
//!
//! let mut up = Resampler::new(Rate::Hz8000, Rate::Hz48000);
//! let frame = [0i16; 160]; // 20 ms at 8 kHz
//! let mut out = [0i16; 960];
//! assert_eq!(up.process(&frame, &mut out), 960);
//! ```

use std::fmt;
use std::sync::OnceLock;

/// One of the sample rates Tandem converts between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rate {
    /// 8 kHz: narrowband telephony (G.711, G.729, …).
    Hz8000,
    /// 16 kHz: wideband telephony (G.722, Opus WB, …).
    Hz16000,
    /// 48 kHz: fullband audio (Opus FB, WebRTC).
    Hz48000,
}

impl Rate {
    /// The rate for a frequency in Hz, if it is one we support.
    pub fn from_hz(hz: u32) -> Option<Rate> {
        match hz {
            8000 => Some(Rate::Hz8000),
            16000 => Some(Rate::Hz16000),
            48000 => Some(Rate::Hz48000),
            _ => None,
        }
    }

    /// The rate in Hz.
    pub fn hz(self) -> u32 {
        match self {
            Rate::Hz8000 => 8000,
            Rate::Hz16000 => 16000,
            Rate::Hz48000 => 48000,
        }
    }
}

/// Input samples handled per inner pass. The history buffer holds this many
/// new samples after the filter's memory; bigger inputs are cut into passes.
const CHUNK: usize = 480;

/// Taps are padded with leading zeros to a multiple of this, the number of
/// independent accumulators in [`dot`].
const LANES: usize = 8;

/// Which prototype a rate pair uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pair {
    /// 8 ↔ 16 kHz.
    Narrow2,
    /// 8 ↔ 48 kHz.
    Narrow6,
    /// 16 ↔ 48 kHz.
    Wide3,
}

/// The parameters of a prototype low-pass filter.
struct Spec {
    /// Conversion ratio.
    ratio: usize,
    /// The rate the prototype runs at (the higher one), Hz.
    high_rate: f64,
    /// Passband edge, Hz.
    pass_hz: f64,
    /// Stop-band edge, Hz (the lower rate's Nyquist frequency).
    stop_hz: f64,
    /// Attenuation the Kaiser formulas are asked for, dB. Asked a few dB
    /// above the 60 dB target so that Q15 tap rounding cannot eat the margin.
    design_db: f64,
}

impl Pair {
    fn spec(self) -> Spec {
        match self {
            Pair::Narrow2 => Spec {
                ratio: 2,
                high_rate: 16000.0,
                pass_hz: 3400.0,
                stop_hz: 4000.0,
                design_db: 70.0,
            },
            Pair::Narrow6 => Spec {
                ratio: 6,
                high_rate: 48000.0,
                pass_hz: 3400.0,
                stop_hz: 4000.0,
                design_db: 70.0,
            },
            Pair::Wide3 => Spec {
                ratio: 3,
                high_rate: 48000.0,
                pass_hz: 7000.0,
                stop_hz: 8000.0,
                design_db: 70.0,
            },
        }
    }

    fn index(self) -> usize {
        match self {
            Pair::Narrow2 => 0,
            Pair::Narrow6 => 1,
            Pair::Wide3 => 2,
        }
    }
}

/// The taps of one prototype, in the two layouts the two directions need.
///
/// Both layouts are time-reversed (oldest sample first, so a dot product
/// with the history runs forwards) and padded at the old end with zeros to a
/// multiple of [`LANES`] taps; the padding does not change the delay.
struct Design {
    /// Full prototype, unity DC gain, for the decimator.
    decim: Vec<f32>,
    /// Interpolator branches, `ratio` blocks of `branch_len` taps each, each
    /// with unity DC gain.
    interp: Vec<f32>,
    /// Taps per interpolator branch, padding included.
    branch_len: usize,
    /// The prototype's group delay in samples at the high rate; a multiple
    /// of the ratio by construction.
    half_len: usize,
}

static DESIGNS: [OnceLock<Design>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];

fn design(pair: Pair) -> &'static Design {
    DESIGNS[pair.index()].get_or_init(|| build_design(&pair.spec()))
}

/// Zeroth-order modified Bessel function of the first kind, by its power
/// series (converges quickly for the β values used here, < 10).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    while term > sum * 1e-17 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

fn build_design(spec: &Spec) -> Design {
    use std::f64::consts::PI;
    let r = spec.ratio;
    let a = spec.design_db;
    // Kaiser's formulas: β from the attenuation, the order from attenuation
    // and transition width (in radians per sample at the high rate).
    let beta = 0.1102 * (a - 8.7);
    let transition = 2.0 * PI * (spec.stop_hz - spec.pass_hz) / spec.high_rate;
    let order = ((a - 7.95) / (2.285 * transition)).ceil() as usize;
    // Length 2·r·q + 1: odd (linear phase, integer delay) and a delay of
    // r·q high-rate samples, so the decimator's kept outputs fall on the
    // filter's centre and the delay is a whole number of samples at either
    // rate.
    let q = order.div_ceil(2 * r);
    let half_len = r * q;
    let len = 2 * half_len + 1;

    let cutoff = (spec.pass_hz + spec.stop_hz) / 2.0 / spec.high_rate; // cycles/sample
    let i0_beta = bessel_i0(beta);
    let proto: Vec<f64> = (0..len)
        .map(|n| {
            let t = n as f64 - half_len as f64;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * PI * cutoff * t).sin() / (PI * t)
            };
            let x = t / half_len as f64;
            sinc * bessel_i0(beta * (1.0 - x * x).max(0.0).sqrt()) / i0_beta
        })
        .collect();

    // Decimator: the whole prototype, scaled to unity DC gain. It is
    // symmetric, so reversing it is a no-op.
    let decim = layout(&proto);

    // Interpolator: branch p holds taps p, p + r, p + 2r, … (zero past the
    // end), each branch scaled to unity DC gain so that a constant input
    // gives a constant output.
    let taps_per_branch = len.div_ceil(r);
    let branches: Vec<Vec<f32>> = (0..r)
        .map(|p| {
            let branch: Vec<f64> = (0..taps_per_branch)
                .rev()
                .map(|k| proto.get(p + k * r).copied().unwrap_or(0.0))
                .collect();
            layout(&branch)
        })
        .collect();
    let branch_len = branches[0].len();
    Design {
        decim,
        interp: branches.concat(),
        branch_len,
        half_len,
    }
}

/// Normalises `taps` (already oldest-first) to unity sum, rounds to `f32`
/// and pads at the front to a multiple of [`LANES`].
fn layout(taps: &[f64]) -> Vec<f32> {
    let sum: f64 = taps.iter().sum();
    let padded = taps.len().next_multiple_of(LANES);
    let mut out = vec![0.0; padded - taps.len()];
    out.extend(taps.iter().map(|&h| (h / sum) as f32));
    out
}

/// `Σ x·h` rounded to the nearest `i16`, saturating.
///
/// `LANES` independent partial sums let the compiler use SIMD without being
/// allowed to reassociate floating-point additions; the order of operations
/// is fixed, so results are bit-exact on every IEEE-754 platform.
#[inline(always)]
fn dot(samples: &[f32], taps: &[f32]) -> i16 {
    debug_assert_eq!(samples.len(), taps.len());
    let mut acc = [0.0f32; LANES];
    for (x, h) in samples.chunks_exact(LANES).zip(taps.chunks_exact(LANES)) {
        for k in 0..LANES {
            acc[k] += x[k] * h[k];
        }
    }
    let sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    round_to_i16(sum)
}

/// `x.round() as i16` (half away from zero, saturating, NaN → 0) without
/// the `roundf` library call that baseline x86-64 (no SSE4.1) makes of
/// `round`: a truncating conversion and a comparison on the remainder,
/// exact for every `f32` (below 2^24 the remainder is exact; above, every
/// `f32` is an integer and the result saturates anyway).
#[inline(always)]
fn round_to_i16(x: f32) -> i16 {
    let t = x as i32; // truncates toward zero, saturates, NaN → 0
    let frac = x - t as f32;
    let r = t
        .saturating_add(i32::from(frac >= 0.5))
        .saturating_sub(i32::from(frac <= -0.5));
    r.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// What a [`Resampler`] does.
#[derive(Clone, Copy)]
enum Mode {
    Identity,
    Up { ratio: usize },
    Down { ratio: usize },
}

/// A streaming sample-rate converter for one channel.
///
/// State (the filter history and, when decimating, the position within the
/// ratio) carries across [`process`](Resampler::process) calls. Construction
/// allocates the history buffer; processing never allocates.
#[derive(Clone)]
pub struct Resampler {
    from: Rate,
    to: Rate,
    mode: Mode,
    /// Taps: the interpolator branches or the decimator prototype.
    taps: &'static [f32],
    /// Length of one dot product (branch length or prototype length).
    window: usize,
    /// The last `window - 1` input samples, followed by room for `CHUNK`
    /// new ones.
    history: Vec<f32>,
    /// Decimator only: input samples since the last kept output, modulo the
    /// ratio. An output is produced when an input arrives at phase 0.
    phase: usize,
    /// Group delay in output samples.
    delay: usize,
    /// Run the AVX2 compilation of the filter loop (the CPU has AVX2).
    avx2: bool,
}

impl fmt::Debug for Resampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("taps", &self.taps.len())
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// A converter from `from` to `to`. `from == to` gives a plain copy.
    pub fn new(from: Rate, to: Rate) -> Self {
        let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
        let pair = match (lo, hi) {
            (Rate::Hz8000, Rate::Hz16000) => Some(Pair::Narrow2),
            (Rate::Hz8000, Rate::Hz48000) => Some(Pair::Narrow6),
            (Rate::Hz16000, Rate::Hz48000) => Some(Pair::Wide3),
            _ => None,
        };
        let Some(pair) = pair else {
            return Resampler {
                from,
                to,
                mode: Mode::Identity,
                taps: &[],
                window: 1,
                history: Vec::new(),
                phase: 0,
                delay: 0,
                avx2: false,
            };
        };
        let d = design(pair);
        let ratio = pair.spec().ratio;
        let (mode, taps, window, delay) = if from < to {
            // Output sample m stands for time m - half_len (high rate).
            (Mode::Up { ratio }, &d.interp[..], d.branch_len, d.half_len)
        } else {
            // Kept output j is computed at input j·ratio and centred on
            // input j·ratio - half_len, i.e. half_len / ratio outputs ago.
            (
                Mode::Down { ratio },
                &d.decim[..],
                d.decim.len(),
                d.half_len / ratio,
            )
        };
        Resampler {
            from,
            to,
            mode,
            taps,
            window,
            history: vec![0.0; window - 1 + CHUNK],
            phase: 0,
            delay,
            avx2: avx2::detect(),
        }
    }

    /// The same converter on the baseline compilation even where AVX2 is
    /// there (the twin the AVX2 path is checked and timed against).
    pub fn baseline(mut self) -> Self {
        self.avx2 = false;
        self
    }

    /// The input rate.
    pub fn from_rate(&self) -> Rate {
        self.from
    }

    /// The output rate.
    pub fn to_rate(&self) -> Rate {
        self.to
    }

    /// The most samples [`process`](Resampler::process) can produce from
    /// `input_len` input samples: `input_len · L` when upsampling by `L`,
    /// `⌈input_len / M⌉` when downsampling by `M` (exactly `input_len / M`
    /// when every call's length is a multiple of `M`).
    pub fn max_output_len(&self, input_len: usize) -> usize {
        match self.mode {
            Mode::Identity => input_len,
            Mode::Up { ratio } => input_len * ratio,
            Mode::Down { ratio } => input_len.div_ceil(ratio),
        }
    }

    /// The group delay in output samples: an event at input time `t` appears
    /// at output time `t + delay() / to.hz()`. Always a whole number.
    pub fn delay(&self) -> usize {
        self.delay
    }

    /// Forgets the history, as if newly constructed.
    pub fn reset(&mut self) {
        self.history.fill(0.0);
        self.phase = 0;
    }

    /// Converts `input`, writing to the front of `output` and returning how
    /// many samples were written.
    ///
    /// # Panics
    ///
    /// If `output` is shorter than
    /// [`max_output_len(input.len())`](Resampler::max_output_len).
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) -> usize {
        let needed = self.max_output_len(input.len());
        assert!(
            output.len() >= needed,
            "resampler output buffer holds {} samples, {} needed",
            output.len(),
            needed
        );
        if let Mode::Identity = self.mode {
            output[..input.len()].copy_from_slice(input);
            return input.len();
        }
        if self.avx2 {
            return avx2::process(self, input, output);
        }
        self.process_chunks(input, output, dot)
    }

    /// The filter loop over `CHUNK`-sized pieces with the dot product
    /// `dot`; inlined into each compilation (baseline here, AVX2 in
    /// `avx2::process`).
    #[inline(always)]
    fn process_chunks(
        &mut self,
        input: &[i16],
        output: &mut [i16],
        dot: impl Fn(&[f32], &[f32]) -> i16 + Copy,
    ) -> usize {
        let mut written = 0;
        for chunk in input.chunks(CHUNK) {
            written += self.process_chunk(chunk, &mut output[written..], dot);
        }
        written
    }

    #[inline(always)]
    fn process_chunk(
        &mut self,
        chunk: &[i16],
        output: &mut [i16],
        dot: impl Fn(&[f32], &[f32]) -> i16,
    ) -> usize {
        let keep = self.window - 1;
        let n = chunk.len();
        for (h, &x) in self.history[keep..keep + n].iter_mut().zip(chunk) {
            *h = f32::from(x);
        }
        let mut written = 0;
        match self.mode {
            Mode::Identity => unreachable!("identity never reaches the filter"),
            Mode::Up { ratio } => {
                let branch = self.window;
                for i in 0..n {
                    let samples = &self.history[i..i + branch];
                    let outs = &mut output[written..written + ratio];
                    for (out, taps) in outs.iter_mut().zip(self.taps.chunks_exact(branch)) {
                        *out = dot(samples, taps);
                    }
                    written += ratio;
                }
            }
            Mode::Down { ratio } => {
                let mut i = (ratio - self.phase) % ratio;
                while i < n {
                    output[written] = dot(&self.history[i..i + self.window], self.taps);
                    written += 1;
                    i += ratio;
                }
                self.phase = (self.phase + n) % ratio;
            }
        }
        self.history.copy_within(n..n + keep, 0);
        written
    }
}

/// The filter loop compiled with AVX2, run when the CPU has it.
mod avx2 {
    #![allow(unsafe_code)]

    use super::Resampler;

    /// Whether this CPU runs the AVX2 compilation.
    pub(super) fn detect() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// [`Resampler::process_chunks`] on the AVX2 path.
    pub(super) fn process(r: &mut Resampler, input: &[i16], output: &mut [i16]) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `r.avx2` is only set from `detect()`, which checked
            // that this CPU has AVX2.
            unsafe { process_avx2(r, input, output) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            r.process_chunks(input, output, super::dot)
        }
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_avx2(r: &mut Resampler, input: &[i16], output: &mut [i16]) -> usize {
        // SAFETY: this function only runs where AVX2 is present.
        r.process_chunks(input, output, |x, h| unsafe { dot_avx2(x, h) })
    }

    /// [`super::dot`] with the eight partial sums in one 256-bit register:
    /// the same products and sums, rounded the same way, in the same order
    /// (the reduction adds lanes 0–3 to 4–7, then as the twin does).
    ///
    /// # Safety
    /// The CPU must have AVX2; `x` and `h` have the same length, a
    /// multiple of eight (the taps are padded so).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn dot_avx2(x: &[f32], h: &[f32]) -> i16 {
        use std::arch::x86_64::{
            _mm_add_ps, _mm_cvtss_f32, _mm_shuffle_ps, _mm256_add_ps, _mm256_castps256_ps128,
            _mm256_extractf128_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps,
        };
        debug_assert_eq!(x.len(), h.len());
        debug_assert_eq!(x.len() % 8, 0);
        let n = x.len().min(h.len()) / 8 * 8;
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < n {
            // SAFETY: `i + 8 <= n <= len` for both slices; unaligned loads.
            let (xv, hv) = unsafe {
                (
                    _mm256_loadu_ps(x.as_ptr().add(i)),
                    _mm256_loadu_ps(h.as_ptr().add(i)),
                )
            };
            acc = _mm256_add_ps(acc, _mm256_mul_ps(xv, hv));
            i += 8;
        }
        // [a0+a4, a1+a5, a2+a6, a3+a7]
        let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
        // (s0 + s1) and (s2 + s3), then their sum: the twin's order.
        let pairs = _mm_add_ps(s, _mm_shuffle_ps::<0b11_11_01_01>(s, s));
        let hi = _mm_shuffle_ps::<0b10_10_10_10>(pairs, pairs);
        let sum = _mm_cvtss_f32(_mm_add_ps(pairs, hi));
        super::round_to_i16(sum)
    }
}

/// Converts a whole signal, compensating the filter delay: `output[i]` is
/// the signal at time `i / to.hz()`, like `input[i · from / to]`, and the
/// output holds `input.len() · to / from` samples (rounded down).
pub fn resample_all(from: Rate, to: Rate, input: &[i16]) -> Vec<i16> {
    let out_len = input.len() * to.hz() as usize / from.hz() as usize;
    let mut rs = Resampler::new(from, to);
    let skip = rs.delay();
    let mut out = vec![0i16; skip + out_len + rs.max_output_len(CHUNK)];
    let mut produced = 0;
    for chunk in input.chunks(CHUNK) {
        produced += rs.process(chunk, &mut out[produced..]);
        if produced >= skip + out_len {
            break;
        }
    }
    // Flush the filter with silence until the delayed tail has come out.
    let silence = [0i16; CHUNK];
    while produced < skip + out_len {
        produced += rs.process(&silence, &mut out[produced..]);
    }
    out.truncate(skip + out_len);
    out.drain(..skip);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn avx2_matches_the_baseline() {
        use super::{Rate, Resampler};
        let rates = [Rate::Hz8000, Rate::Hz16000, Rate::Hz48000];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for from in rates {
            for to in rates {
                let fast = Resampler::new(from, to);
                let mut slow = fast.clone().baseline();
                let mut fast = fast;
                let mut a = vec![0i16; 6 * 960];
                let mut b = vec![0i16; 6 * 960];
                // Noise, full-scale steps and silence, in frames of
                // various lengths, so every branch and phase is hit.
                for round in 0..200 {
                    let n = [160, 320, 960, 7, 1][round % 5];
                    let frame: Vec<i16> = (0..n)
                        .map(|i| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            match round % 3 {
                                0 => (seed >> 48) as i16,
                                1 if i % 40 < 20 => i16::MAX,
                                1 => i16::MIN,
                                _ => 0,
                            }
                        })
                        .collect();
                    let na = fast.process(&frame, &mut a);
                    let nb = slow.process(&frame, &mut b);
                    assert_eq!(na, nb);
                    assert_eq!(a[..na], b[..nb], "{from:?} -> {to:?}, round {round}");
                }
            }
        }
    }

    #[test]
    fn fast_rounding_matches_round_for_every_kind_of_value() {
        let mut specials = vec![
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999997,
            -0.49999997,
            32767.4,
            32767.5,
            -32768.5,
            -32767.5,
            1e9,
            -1e9,
            3e9,
            -3e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
            f32::MIN,
            16_777_216.0,
            8_388_607.5,
            -8_388_607.5,
        ];
        let mut z = 0x1234_5678u32;
        for _ in 0..200_000 {
            z ^= z << 13;
            z ^= z >> 17;
            z ^= z << 5;
            let v = f32::from_bits(z);
            if v.is_finite() && v.abs() < 1e6 {
                specials.push(v);
            }
            specials.push((z as i32 as f32) / 65536.0);
        }
        for v in specials {
            assert_eq!(round_to_i16(v), v.round() as i16, "{v:e}");
        }
    }

    use super::*;

    #[test]
    fn rates_round_trip_through_hz() {
        for rate in [Rate::Hz8000, Rate::Hz16000, Rate::Hz48000] {
            assert_eq!(Rate::from_hz(rate.hz()), Some(rate));
        }
        assert_eq!(Rate::from_hz(44100), None);
    }

    #[test]
    fn designs_have_unity_dc_gain() {
        for pair in [Pair::Narrow2, Pair::Narrow6, Pair::Wide3] {
            let d = design(pair);
            let unity =
                |taps: &[f32]| (taps.iter().map(|&h| f64::from(h)).sum::<f64>() - 1.0).abs() < 1e-6;
            assert!(unity(&d.decim));
            for branch in d.interp.chunks_exact(d.branch_len) {
                assert!(unity(branch));
            }
            assert_eq!(d.half_len % pair.spec().ratio, 0);
        }
    }

    #[test]
    fn identity_copies() {
        let input = [1, -2, 3, i16::MAX, i16::MIN];
        let mut rs = Resampler::new(Rate::Hz16000, Rate::Hz16000);
        let mut out = [0; 5];
        assert_eq!(rs.process(&input, &mut out), 5);
        assert_eq!(out, input);
        assert_eq!(resample_all(Rate::Hz8000, Rate::Hz8000, &input), input);
    }
}
