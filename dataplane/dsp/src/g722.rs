//! G.722 wideband speech codec at 64 kbit/s (sub-band ADPCM).
//!
//! Implements ITU-T G.722 in its 64 kbit/s mode (mode 1): 16 kHz
//! linear samples are split by a 24-tap quadrature mirror filter into a
//! lower and a higher sub-band at 8 kHz each; the lower band is coded with
//! 6-bit and the higher band with 2-bit adaptive differential PCM, giving one
//! octet (`IH IH IL IL IL IL IL IL`, higher-band bits first) per pair of
//! input samples.
//!
//! * [`Encoder`] follows §3 (encoder): transmit QMF, difference signal,
//!   the 60-level lower-band quantiser (QUANTL) and 4-level higher-band
//!   quantiser (QUANTH), inverse quantisers (INVQAL, INVQAH), quantiser
//!   scale adaptation (LOGSCL/SCALEL, LOGSCH/SCALEH) and the adaptive
//!   pole-zero predictor (RECONS, PARREC, UPPOL1/2, UPZERO, FILTEP, FILTEZ,
//!   PREDIC), with the block names of the standard's computational details.
//! * [`Decoder`] follows §4 (decoder): the 6-bit lower-band inverse quantiser
//!   (INVQBL) for the output, the 4-bit truncated one (INVQAL) for the
//!   predictor, the same adaptation and prediction, the output limiters and
//!   the receive QMF.
//!
//! Both start in the reset state of the standard: all predictor state zero,
//! the lower-band scale factor `DETL = 32`, the higher-band one `DETH = 8`.
//!
//! # Bit-exactness and scaling
//!
//! The output is bit-exact with spandsp's `g722_encode`/`g722_decode`
//! (which spandsp reports bit-exact with the ITU-T reference code on the
//! G.722 test sequences), as `tests/g722-matches-spandsp.rs` checks on
//! tones, sweeps, noise, clipping, adversarial full-scale patterns and
//! random code streams. G.722's sub-band arithmetic works on 15-bit
//! signals; as in spandsp, the 16-bit input is halved inside the transmit
//! QMF (its sums are shifted by 14 where the standard shifts 14-bit input
//! by 13) and the receive QMF output is doubled (shifted by 11, not 12)
//! back to 16 bits. The transmit QMF output always fits 16 bits (at most
//! 32768 · 12964 >> 14 = 25928 in magnitude); the receive QMF output need
//! not, and is truncated to 16 bits without saturation exactly as spandsp
//! does, so extreme code streams wrap identically in both.
//!
//! # Performance
//!
//! Frames are processed in blocks of up to 160 pairs on the stack (no
//! allocation). Only the ADPCM recursions are sample-serial, so everything
//! else is pulled out of them:
//!
//! * The encoder runs the transmit QMF over the whole block first. Its delay
//!   line is the previous 22 samples copied in front of the block, so every
//!   output pair is a dot product over one contiguous 24-sample window (a
//!   fixed-size array: no ring-buffer wrap, no bounds checks), which LLVM
//!   compiles to `pmaddwd` SIMD. The decoder likewise runs the receive QMF
//!   over a block of reconstructed sub-band samples.
//! * The lower and higher sub-bands are independent recursions. The encoder
//!   interleaves them in one loop so that their latencies overlap; the
//!   decoder, whose steps are shorter, runs one loop per band, which keeps
//!   each state in registers (each choice measured faster than the other).
//! * The encoder's lower-band recursion runs through QUANTL, so its 29
//!   decision levels (precomputed by `const fn` for each of the 289 possible
//!   scale factors, 64 bytes each) are compared four at a time in the 16-bit
//!   lanes of a `u64` (SWAR) and counted branch-free.
//! * The zero predictor (UPZERO/FILTEZ) runs as eight 16-bit lanes that
//!   LLVM vectorises; saturations the standard specifies but that provably
//!   never act are left out (each with the bound in a comment).
//! * SCALEL and SCALEH are table lookups on `∇ >> 6` (tables computed by
//!   `const fn` from the standard's `ILB` table).
//!
//! `bench/benches/codecs.rs` measures this against spandsp.
//!

/// QMF coefficients h(0)..h(23) of G.722 (symmetric: h(i) = h(23 − i)).
const QMF_H: [i32; 24] = [
    3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32,
    -156, 12, 53, -11, -11, 3,
];

/// Transmit QMF weights over a window `w[0..24]`, oldest sample first: the
/// sample at position `p` has lag `23 − p` and, h being symmetric,
/// coefficient `h(p)`. Even lags (odd `p`) form x_A, odd lags x_B;
/// x_L = x_A + x_B and x_H = x_A − x_B.
const TX_LOW: [i16; 24] = tx_weights(false);
const TX_HIGH: [i16; 24] = tx_weights(true);

const fn tx_weights(high: bool) -> [i16; 24] {
    let mut w = [0i16; 24];
    let mut p = 0;
    while p < 24 {
        let h = QMF_H[p] as i16;
        w[p] = if high && p % 2 == 0 { -h } else { h };
        p += 1;
    }
    w
}

/// Receive QMF weights over 12 values, oldest first: the first output of a
/// pair is Σ h(2i)·x_d(j − i), the second Σ h(2i + 1)·x_s(j − i).
const RX_DIFF: [i16; 12] = rx_weights(0);
const RX_SUM: [i16; 12] = rx_weights(1);

const fn rx_weights(odd: usize) -> [i16; 12] {
    let mut w = [0i16; 12];
    let mut j = 0;
    while j < 12 {
        // Position j (oldest first) holds lag i = 11 − j.
        w[j] = QMF_H[2 * (11 - j) + odd] as i16;
        j += 1;
    }
    w
}

/// Lower-band quantiser decision levels (QUANTL), scaled by DETL >> 12.
const Q6: [i32; 30] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
];

/// 6-bit lower-band inverse quantiser outputs (INVQBL), indexed by IL.
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];

/// 4-bit truncated inverse quantiser (INVQAL), indexed by IL >> 2.
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];

/// Higher-band inverse quantiser (INVQAH), indexed by IH.
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];

/// Lower-band log scale factor multipliers (LOGSCL), indexed by
/// [`RL42`]`[IL >> 2]`.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];

/// Higher-band log scale factor multipliers (LOGSCH), indexed by
/// [`RH2`]`[IH]`.
const WH: [i32; 3] = [0, -214, 798];
const RH2: [usize; 4] = [2, 1, 2, 1];

/// Antilog table of SCALEL/SCALEH: 2048·2^(i/32).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];

/// Upper limits of the log scale factors ∇L and ∇H.
const NBL_MAX: i32 = 18432;
const NBH_MAX: i32 = 22528;

/// Scale factor as a function of `∇ >> 6` (SCALEL with `shift_base` 8,
/// SCALEH with 10): `ILB[∇>>6 & 31]` shifted by `shift_base − (∇ >> 11)`,
/// times 4.
const fn scale_table<const N: usize>(shift_base: i32) -> [i32; N] {
    let mut t = [0i32; N];
    let mut i = 0;
    while i < N {
        let nb = (i as i32) << 6;
        let frac = ((nb >> 6) & 31) as usize;
        let shift = shift_base - (nb >> 11);
        let wd3 = if shift < 0 {
            ILB[frac] << -shift
        } else {
            ILB[frac] >> shift
        };
        t[i] = wd3 << 2;
        i += 1;
    }
    t
}

const DETL_OF: [i32; (NBL_MAX >> 6) as usize + 1] = scale_table(8);
const DETH_OF: [i32; (NBH_MAX >> 6) as usize + 1] = scale_table(10);

/// The G.722 reset values of the scale factors.
const DETL_RESET: i32 = 32;
const DETH_RESET: i32 = 8;

/// Pairs of 16 kHz samples (or octets) handled per stack block.
const BLOCK: usize = 160;

#[inline(always)]
fn sat16(x: i32) -> i32 {
    x.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Sign as G.722 compares it: the sign bit of the 16-bit value (0 is
/// positive).
#[inline(always)]
fn neg(x: i32) -> bool {
    x < 0
}

/// The state of one sub-band's ADPCM: quantiser scale adaptation and the
/// adaptive predictor with two poles and six zeros.
#[derive(Clone, Debug)]
struct Band {
    /// Predictor output s (SL or SH), the estimate of the next band sample.
    s: i32,
    /// Zero-section output sz (SZL or SZH).
    sz: i32,
    /// Twice the reconstructed signal of the previous sample, saturated to
    /// 16 bits: FILTEP's term for r(n − 1), kept from the previous step.
    r1x2: i32,
    /// Pole coefficients a1, a2.
    a: [i32; 2],
    /// Zero coefficients b1..b6, and two lanes of padding so that the zero
    /// section runs as one 8-lane SIMD operation.
    b: [i16; 8],
    /// Partially reconstructed signal p(n − 1), p(n − 2).
    p: [i32; 2],
    /// Quantised difference signal d(n − 1)..d(n − 6), and two lanes of
    /// padding that stay zero.
    d: [i16; 8],
    /// Log scale factor ∇.
    nb: i32,
    /// Scale factor Δ (DETL or DETH).
    det: i32,
}

impl Band {
    const fn reset(det: i32) -> Self {
        Self {
            s: 0,
            sz: 0,
            r1x2: 0,
            a: [0; 2],
            b: [0; 8],
            p: [0; 2],
            d: [0; 8],
            nb: 0,
            det,
        }
    }

    /// LOGSCL + SCALEL: lower-band scale factor adaptation.
    #[inline(always)]
    fn adapt_scale_low(&mut self, il4: usize) {
        let nb = ((self.nb * 127) >> 7) + WL[RL42[il4]];
        self.nb = nb.clamp(0, NBL_MAX);
        // nb ≤ NBL_MAX, so the index is in range (checked at compile time
        // by the table's length).
        self.det = DETL_OF[(self.nb >> 6) as usize];
    }

    /// LOGSCH + SCALEH: higher-band scale factor adaptation.
    #[inline(always)]
    fn adapt_scale_high(&mut self, ih: usize) {
        let nb = ((self.nb * 127) >> 7) + WH[RH2[ih]];
        self.nb = nb.clamp(0, NBH_MAX);
        self.det = DETH_OF[(self.nb >> 6) as usize];
    }

    /// Block 4: reconstruction, predictor adaptation and prediction, given
    /// the quantised difference `dlt` of this sample.
    #[inline(always)]
    fn adapt_predictor(&mut self, dlt: i32) {
        // RECONS and PARREC.
        // p is only ever used for its sign, which the standard's 16-bit
        // saturation of PARREC cannot change, so it is not saturated.
        let r = sat16(self.s + dlt);
        let p = self.sz + dlt;
        let same1 = neg(p) == neg(self.p[0]);
        let same2 = neg(p) == neg(self.p[1]);

        // UPPOL2: second pole coefficient, with leakage 1 − 2^−7. The
        // standard saturates 4·a1 to 16 bits, negates it when the signs
        // agree and limits the result to 32767; saturating ±4·a1 once gives
        // the same value after the shift by 7 (−32768 and −32767 both give
        // −256).
        let wd1 = if same1 {
            -(self.a[0] << 2)
        } else {
            self.a[0] << 2
        };
        let a2 = ((sat16(wd1) >> 7) + if same2 { 128 } else { -128 } + ((self.a[1] * 32512) >> 15))
            .clamp(-12288, 12288);

        // UPPOL1: first pole coefficient, leakage 1 − 2^−8, limited by a2
        // so that the pole pair stays stable. |a1| ≤ 15360 + 12288 before
        // the leakage, so the standard's 16-bit saturation of the sum is
        // never active and is left out.
        let a1 = if same1 { 192 } else { -192 } + ((self.a[0] * 32640) >> 15);
        let lim = 15360 - a2;
        let a1 = a1.clamp(-lim, lim);

        // FILTEP with the new coefficients.
        let rx2 = sat16(r + r);
        let sp = sat16(((a1 * rx2) >> 15) + ((a2 * self.r1x2) >> 15));
        self.r1x2 = rx2;
        self.a = [a1, a2];
        self.p = [p, self.p[0]];

        // UPZERO: sign-sign update of b1..b6 with leakage 1 − 2^−8 (no step
        // when dlt is zero), then FILTEZ over dlt(n)..dlt(n−5) with the new
        // coefficients. Two saturations of the standard drop out because
        // they can never act: |dlt| ≤ 16384 · 20456 >> 15 = 10228 (3704 in
        // the higher band), so 2·dlt fits in 16 bits; and a leaked
        // coefficient is at most 32639 in magnitude, so adding the step of
        // 128 stays within [−32768, 32767].
        // All of this is 16-bit lane arithmetic, written so that it
        // vectorises: the sign test is an XOR, the leakage b·32640 >> 15
        // equals b + ((b · −256) >> 16) (a multiply-high), and the FILTEZ
        // products (b · 2d) >> 15 are formed in 32 bits. The two padding
        // lanes have d = 0 and contribute nothing.
        let dlt16 = dlt as i16;
        let step: i16 = if dlt == 0 { 0 } else { 128 };
        let old = self.d;
        let new = [dlt16, old[0], old[1], old[2], old[3], old[4], 0, 0];
        let mut terms = [0i32; 8];
        for i in 0..8 {
            let differ = (old[i] ^ dlt16) >> 15; // 0 or −1
            let g = (step ^ differ).wrapping_sub(differ);
            let b = self.b[i];
            let leaked = b.wrapping_add(((i32::from(b) * -256) >> 16) as i16);
            let b = leaked.wrapping_add(g);
            self.b[i] = b;
            terms[i] = (i32::from(b) * i32::from(new[i] + new[i])) >> 15;
        }
        let sz: i32 = terms.iter().sum();
        self.d = new;
        self.sz = sat16(sz);

        // PREDIC.
        self.s = sat16(sp + self.sz);
    }
}

/// Decision levels of QUANTL for every scale factor, indexed by `∇L >> 6`
/// (DETL is a function of it): `(Q6[k] · DETL) >> 12` for k = 1..=29, four
/// 16-bit lanes to a `u64` (see [`quantl`]), plus three lanes of 0.
static QUANTL_LEVELS: [[u64; 8]; DETL_OF.len()] = quantl_levels();

const fn quantl_levels() -> [[u64; 8]; DETL_OF.len()] {
    let mut t = [[0u64; 8]; DETL_OF.len()];
    let mut row = 0;
    while row < DETL_OF.len() {
        let mut k = 1;
        while k < 30 {
            // At most 2919 · 16384 >> 12 = 11676: 15 bits.
            let level = ((Q6[k] * DETL_OF[row]) >> 12) as u64;
            t[row][(k - 1) / 4] |= level << (16 * ((k - 1) % 4));
            k += 1;
        }
        row += 1;
    }
    t
}

/// Each 16-bit lane's top bit.
const LANE_TOPS: u64 = 0x8000_8000_8000_8000;
/// Each 16-bit lane's bottom bit.
const LANE_ONES: u64 = 0x0001_0001_0001_0001;

/// QUANTL: the 6-bit lower-band code of difference `el` with the decision
/// levels of the current scale factor.
#[inline(always)]
fn quantl(el: i32, levels: &[u64; 8]) -> u8 {
    // One's complement magnitude, as the standard's QUANTL: 0..=32767.
    let wd = (if el >= 0 { el } else { !el }) as u64;
    // Interval index: 1 + the number of decision levels not above wd (the
    // levels are non-decreasing). The 32 comparisons run four at a time in
    // 16-bit lanes of a u64 (SWAR): with bit 15 set in every lane of wd,
    // `lane − level` never borrows from the next lane and keeps the lane's
    // top bit exactly when wd ≥ level. This is branch-free and short on the
    // encoder's critical path (its recursion runs through QUANTL).
    let wd2 = wd | wd << 16;
    let wide = wd2 | wd2 << 32 | LANE_TOPS;
    let hit = |four: u64| ((wide - four) & LANE_TOPS) >> 15;
    let counts = ((hit(levels[0]) + hit(levels[1])) + (hit(levels[2]) + hit(levels[3])))
        + ((hit(levels[4]) + hit(levels[5])) + (hit(levels[6]) + hit(levels[7])));
    // Horizontal sum of the four lane counts (each ≤ 8) in the top lane;
    // the three zero padding levels always count.
    let passed = (counts.wrapping_mul(LANE_ONES) >> 48) as usize - 3;
    let i = 1 + passed;
    // Code assignment: positive intervals 1..30 → 61..32; negative ones
    // 1, 2 → 63, 62 and 3..30 → 31..4.
    if el < 0 {
        match i {
            1 => 63,
            2 => 62,
            _ => (34 - i) as u8,
        }
    } else {
        (62 - i) as u8
    }
}

/// Encoder of G.722 at 64 kbit/s: 16 kHz samples in, one octet per two
/// samples out.
#[derive(Clone, Debug)]
pub struct Encoder {
    low: Band,
    high: Band,
    /// The last 22 input samples, oldest first: the transmit QMF's delay
    /// line apart from the pair being coded.
    history: [i16; 22],
    /// An odd sample left over from the previous call, coded with the first
    /// sample of the next.
    pending: Option<i16>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder in the G.722 reset state.
    pub const fn new() -> Self {
        Self {
            low: Band::reset(DETL_RESET),
            high: Band::reset(DETH_RESET),
            history: [0; 22],
            pending: None,
        }
    }

    /// Returns to the reset state (and drops a pending odd sample).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Number of octets the next [`encode`](Self::encode) of `samples`
    /// samples will produce (it depends on a pending odd sample).
    pub fn octets_for(&self, samples: usize) -> usize {
        (samples + usize::from(self.pending.is_some())) / 2
    }

    /// Encodes 16 kHz samples, one octet per pair, into `out`; returns the
    /// number of octets written.
    ///
    /// An odd sample at the end is kept and paired with the first sample of
    /// the next call, so a stream split at any point encodes exactly as if
    /// it were whole.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than [`octets_for`](Self::octets_for)`(pcm.len())`.
    pub fn encode(&mut self, pcm16k: &[i16], out: &mut [u8]) -> usize {
        let n_out = self.octets_for(pcm16k.len());
        assert!(out.len() >= n_out, "G.722 encode: output buffer too short");
        let mut pcm = pcm16k;
        let mut out = &mut out[..n_out];
        if let Some(first) = self.pending.take() {
            let Some((&second, rest)) = pcm.split_first() else {
                self.pending = Some(first);
                return 0;
            };
            let (o, rest_out) = out.split_first_mut().expect("sized above");
            self.encode_block(&[first, second], core::slice::from_mut(o));
            pcm = rest;
            out = rest_out;
        }
        let (pairs, tail) = pcm.split_at(pcm.len() & !1);
        for (chunk, o) in pairs.chunks(2 * BLOCK).zip(out.chunks_mut(BLOCK)) {
            self.encode_block(chunk, o);
        }
        self.pending = tail.first().copied();
        n_out
    }

    /// Encodes `pcm.len() / 2 == out.len() ≤ BLOCK` pairs.
    fn encode_block(&mut self, pcm: &[i16], out: &mut [u8]) {
        let n = out.len();
        debug_assert!(n <= BLOCK && pcm.len() == 2 * n);

        // Transmit QMF over the block: delay line then new samples, so that
        // each pair's 24-sample window is contiguous.
        let mut line = [0i16; 22 + 2 * BLOCK];
        line[..22].copy_from_slice(&self.history);
        line[22..22 + 2 * n].copy_from_slice(pcm);
        let mut xl = [0i16; BLOCK];
        let mut xh = [0i16; BLOCK];
        for (k, (l, h)) in xl[..n].iter_mut().zip(&mut xh[..n]).enumerate() {
            let w: &[i16; 24] = line[2 * k..2 * k + 24].try_into().expect("24 samples");
            let (mut sum_l, mut sum_h) = (0i32, 0i32);
            for p in 0..24 {
                sum_l += i32::from(w[p]) * i32::from(TX_LOW[p]);
                sum_h += i32::from(w[p]) * i32::from(TX_HIGH[p]);
            }
            // Within 16 bits by construction (see the module docs).
            *l = (sum_l >> 14) as i16;
            *h = (sum_h >> 14) as i16;
        }
        self.history.copy_from_slice(&line[2 * n..2 * n + 22]);

        // The two sub-bands are independent recursions, each limited by its
        // own latency (the lower band's runs through QUANTL): one loop over
        // both lets the CPU overlap them. Local copies of the states stay in
        // registers more easily than fields behind `&mut self`.
        let mut lo = self.low.clone();
        let mut hi = self.high.clone();
        for ((o, &l), &h) in out.iter_mut().zip(&xl[..n]).zip(&xh[..n]) {
            *o = encode_low(&mut lo, i32::from(l)) | encode_high(&mut hi, i32::from(h));
        }
        self.low = lo;
        self.high = hi;
    }
}

/// Lower-band ADPCM encoder step: SUBTRA, QUANTL, INVQAL, adaptation.
#[inline(always)]
fn encode_low(lo: &mut Band, xl: i32) -> u8 {
    let el = sat16(xl - lo.s);
    let il = quantl(el, &QUANTL_LEVELS[(lo.nb >> 6) as usize]);
    let il4 = usize::from(il >> 2);
    let dlt = (lo.det * QM4[il4]) >> 15;
    lo.adapt_scale_low(il4);
    lo.adapt_predictor(dlt);
    il
}

/// Higher-band ADPCM encoder step: SUBTRA, QUANTH, INVQAH, adaptation;
/// returns IH in the top two bits of the octet.
#[inline(always)]
fn encode_high(hi: &mut Band, xh: i32) -> u8 {
    let eh = sat16(xh - hi.s);
    let wd = if eh >= 0 { eh } else { !eh };
    let outer = wd >= (564 * hi.det) >> 12;
    let ih: usize = match (eh < 0, outer) {
        (true, false) => 1,
        (true, true) => 0,
        (false, false) => 3,
        (false, true) => 2,
    };
    let dh = (hi.det * QM2[ih]) >> 15;
    hi.adapt_scale_high(ih);
    hi.adapt_predictor(dh);
    (ih as u8) << 6
}

/// Decoder of G.722 at 64 kbit/s: one octet in, two 16 kHz samples out.
#[derive(Clone, Debug)]
pub struct Decoder {
    low: Band,
    high: Band,
    /// The last 11 values of r_L − r_H and of r_L + r_H, oldest first: the
    /// receive QMF's delay lines apart from the current pair.
    diff_history: [i16; 11],
    sum_history: [i16; 11],
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder in the G.722 reset state.
    pub const fn new() -> Self {
        Self {
            low: Band::reset(DETL_RESET),
            high: Band::reset(DETH_RESET),
            diff_history: [0; 11],
            sum_history: [0; 11],
        }
    }

    /// Returns to the reset state.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Decodes octets into two 16 kHz samples each; returns the number of
    /// samples written (`2 * code.len()`).
    ///
    /// # Panics
    ///
    /// If `out` is shorter than `2 * code.len()`.
    pub fn decode(&mut self, code: &[u8], out: &mut [i16]) -> usize {
        let n_out = 2 * code.len();
        assert!(out.len() >= n_out, "G.722 decode: output buffer too short");
        for (c, o) in code.chunks(BLOCK).zip(out[..n_out].chunks_mut(2 * BLOCK)) {
            self.decode_block(c, o);
        }
        n_out
    }

    /// Decodes `code.len() ≤ BLOCK` octets into `out` (twice as long).
    fn decode_block(&mut self, code: &[u8], out: &mut [i16]) {
        let n = code.len();
        debug_assert!(n <= BLOCK && out.len() == 2 * n);

        let mut diff = [0i16; 11 + BLOCK];
        let mut sum = [0i16; 11 + BLOCK];
        diff[..11].copy_from_slice(&self.diff_history);
        sum[..11].copy_from_slice(&self.sum_history);
        // The two sub-bands are independent recursions. Without QUANTL they
        // are short enough that one loop over both runs out of registers and
        // issue slots rather than latency, so here each band gets its own
        // loop (measured: about 10% faster than interleaving). The lower band
        // leaves r_L in both arrays; the higher band then forms r_L − r_H
        // and r_L + r_H.
        let mut lo = self.low.clone();
        for (&c, d) in code.iter().zip(&mut diff[11..11 + n]) {
            *d = decode_low(&mut lo, c);
        }
        self.low = lo;
        let mut hi = self.high.clone();
        for ((&c, d), s) in code
            .iter()
            .zip(&mut diff[11..11 + n])
            .zip(&mut sum[11..11 + n])
        {
            let rl = *d;
            let rh = decode_high(&mut hi, c);
            // Both limited to 15 bits, so neither result overflows 16.
            *d = rl - rh;
            *s = rl + rh;
        }
        self.high = hi;
        self.diff_history.copy_from_slice(&diff[n..n + 11]);
        self.sum_history.copy_from_slice(&sum[n..n + 11]);

        // Receive QMF over the block.
        for (k, o) in out.chunks_exact_mut(2).enumerate() {
            let wd: &[i16; 12] = diff[k..k + 12].try_into().expect("12 values");
            let ws: &[i16; 12] = sum[k..k + 12].try_into().expect("12 values");
            let (mut acc_d, mut acc_s) = (0i32, 0i32);
            for j in 0..12 {
                acc_d += i32::from(wd[j]) * i32::from(RX_DIFF[j]);
                acc_s += i32::from(ws[j]) * i32::from(RX_SUM[j]);
            }
            // Truncation to 16 bits as in spandsp (see the module docs).
            o[0] = (acc_d >> 11) as i16;
            o[1] = (acc_s >> 11) as i16;
        }
    }
}

/// The octet's higher-band bits when that band is not coded: IH = 3, the
/// smallest positive step, on which a decoder's higher-band scale factor
/// decays to its floor, so the band it reconstructs fades to silence.
const IH_UNCODED: u8 = 3 << 6;

/// G.722 fed with 8 kHz samples, for narrowband sources: the samples are
/// the lower sub-band itself (halved to G.722's 15 bits), coded exactly as
/// [`Encoder`] codes that band, and the higher band is not coded (every
/// octet carries IH = 3). One octet per sample, a valid 64 kbit/s stream
/// any G.722 decoder plays at 16 kHz.
///
/// This is spandsp's `G722_SAMPLE_RATE_8000` mode, which Asterisk uses to
/// translate between G.722 and 8 kHz audio, and is bit-exact with it
/// (`tests/g722-matches-spandsp.rs`). It does without the transmit QMF,
/// the higher-band recursion and the 8 → 16 kHz resampler a wideband
/// encoding of narrowband audio would need: a G.711 caller has nothing
/// above 4 kHz to send.
#[derive(Clone, Debug)]
pub struct NarrowbandEncoder {
    low: Band,
}

impl Default for NarrowbandEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl NarrowbandEncoder {
    /// An encoder in the G.722 reset state.
    pub const fn new() -> Self {
        Self {
            low: Band::reset(DETL_RESET),
        }
    }

    /// Returns to the reset state.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Encodes 8 kHz samples, one octet each, into `out`; returns the
    /// number of octets written (`pcm8k.len()`).
    ///
    /// # Panics
    ///
    /// If `out` is shorter than `pcm8k`.
    pub fn encode(&mut self, pcm8k: &[i16], out: &mut [u8]) -> usize {
        assert!(
            out.len() >= pcm8k.len(),
            "G.722 encode: output buffer too short"
        );
        let mut lo = self.low.clone();
        for (o, &x) in out.iter_mut().zip(pcm8k) {
            *o = IH_UNCODED | encode_low(&mut lo, i32::from(x >> 1));
        }
        self.low = lo;
        pcm8k.len()
    }
}

/// A G.722 decoder to 8 kHz: the lower sub-band's reconstruction, doubled
/// back to 16 bits, one sample per octet; the higher band is not decoded.
/// spandsp's `G722_SAMPLE_RATE_8000` mode (bit-exact with it), as Asterisk
/// uses it. For 8 kHz destinations it does without the higher-band
/// recursion, the receive QMF and the 16 → 8 kHz resampler; what the
/// higher band carried (4–7 kHz) has no place in 8 kHz audio anyway.
#[derive(Clone, Debug)]
pub struct NarrowbandDecoder {
    low: Band,
}

impl Default for NarrowbandDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl NarrowbandDecoder {
    /// A decoder in the G.722 reset state.
    pub const fn new() -> Self {
        Self {
            low: Band::reset(DETL_RESET),
        }
    }

    /// Returns to the reset state.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Decodes octets into one 8 kHz sample each; returns the number of
    /// samples written (`code.len()`).
    ///
    /// # Panics
    ///
    /// If `out` is shorter than `code`.
    pub fn decode(&mut self, code: &[u8], out: &mut [i16]) -> usize {
        assert!(
            out.len() >= code.len(),
            "G.722 decode: output buffer too short"
        );
        let mut lo = self.low.clone();
        for (o, &c) in out.iter_mut().zip(code) {
            // 15 bits doubled: within 16.
            *o = decode_low(&mut lo, c) << 1;
        }
        self.low = lo;
        code.len()
    }
}

/// Lower-band ADPCM decoder step: INVQBL for the output (limited to 15
/// bits), INVQAL and adaptation for the predictor.
#[inline(always)]
fn decode_low(lo: &mut Band, code: u8) -> i16 {
    let il = usize::from(code & 0x3F);
    let rl = (lo.s + ((lo.det * QM6[il]) >> 15)).clamp(-16384, 16383);
    let il4 = il >> 2;
    let dlt = (lo.det * QM4[il4]) >> 15;
    lo.adapt_scale_low(il4);
    lo.adapt_predictor(dlt);
    rl as i16
}

/// Higher-band ADPCM decoder step: INVQAH, output limited to 15 bits, and
/// adaptation.
#[inline(always)]
fn decode_high(hi: &mut Band, code: u8) -> i16 {
    let ih = usize::from(code >> 6);
    let dh = (hi.det * QM2[ih]) >> 15;
    let rh = (hi.s + dh).clamp(-16384, 16383);
    hi.adapt_scale_high(ih);
    hi.adapt_predictor(dh);
    rh as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_state_uses_the_standard_scale_factors() {
        let e = Encoder::new();
        assert_eq!((e.low.det, e.high.det), (32, 8));
        let d = Decoder::default();
        assert_eq!((d.low.det, d.high.det), (32, 8));
    }

    #[test]
    fn scale_tables_follow_scalel_and_scaleh() {
        // ∇ = 0 gives the reset values.
        assert_eq!(DETL_OF[0], DETL_RESET);
        assert_eq!(DETH_OF[0], DETH_RESET);
        // Largest values: 2048 · 2 · 4.
        assert_eq!(DETL_OF[(NBL_MAX >> 6) as usize], 16384);
        assert_eq!(DETH_OF[(NBH_MAX >> 6) as usize], 16384);
        assert!(DETL_OF.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn qmf_weights_have_the_standard_dc_gain() {
        // Σ h = 2^13: a DC input reaches the lower band unscaled.
        assert_eq!(QMF_H.iter().sum::<i32>(), 8192);
        assert_eq!(TX_LOW.iter().map(|&h| i32::from(h)).sum::<i32>(), 8192);
        assert_eq!(TX_HIGH.iter().map(|&h| i32::from(h)).sum::<i32>(), 0);
        assert_eq!(
            RX_DIFF
                .iter()
                .chain(&RX_SUM)
                .map(|&h| i32::from(h))
                .sum::<i32>(),
            8192
        );
    }

    /// QUANTL as the standard states it: a linear search of the decision
    /// levels scaled by DETL.
    fn quantl_by_linear_search(el: i32, det: i32) -> u8 {
        let wd = if el >= 0 { el } else { !el };
        let mut i = 1;
        while i < 30 && wd >= (Q6[i] * det) >> 12 {
            i += 1;
        }
        match (el < 0, i) {
            (false, _) => (62 - i) as u8,
            (true, 1) => 63,
            (true, 2) => 62,
            (true, _) => (34 - i) as u8,
        }
    }

    #[test]
    fn quantl_matches_the_linear_search_at_every_scale_factor() {
        for (row, levels) in QUANTL_LEVELS.iter().enumerate() {
            for el in (-32768..=32767).step_by(5).chain([-1, 0, 32767]) {
                assert_eq!(
                    quantl(el, levels),
                    quantl_by_linear_search(el, DETL_OF[row]),
                    "el {el}, DETL {}",
                    DETL_OF[row]
                );
            }
        }
    }

    #[test]
    fn quantl_codes_cover_the_60_levels() {
        let row = DETL_OF.iter().position(|&d| d == 1024).expect("DETL 1024");
        let levels = &QUANTL_LEVELS[row];
        assert_eq!(quantl(0, levels), 61);
        assert_eq!(quantl(-1, levels), 63);
        assert_eq!(quantl(i32::from(i16::MAX), levels), 32);
        assert_eq!(quantl(i32::from(i16::MIN), levels), 4);
        let mut seen = [false; 64];
        for el in -40_000..40_000 {
            seen[usize::from(quantl(sat16(el), levels))] = true;
        }
        assert_eq!(seen.iter().filter(|&&s| s).count(), 60);
        assert!(!seen[0] && !seen[1] && !seen[2] && !seen[3]);
    }

    #[test]
    fn silence_starts_with_the_idle_code_and_decodes_to_near_silence() {
        let mut enc = Encoder::new();
        let mut dec = Decoder::new();
        let pcm = [0i16; 3200];
        let mut code = [0u8; 1600];
        assert_eq!(enc.encode(&pcm, &mut code), 1600);
        // Zero difference in both bands at the reset scale factors: DETL = 32
        // puts the first three decision levels below 1, so QUANTL picks
        // interval 4 (IL = 58) and QUANTH the inner positive level (IH = 3).
        // The small reconstructed steps then excite a low-level limit cycle
        // in the predictors (as in every G.722), so only the start is fixed.
        assert!(code[..40].iter().all(|&c| c == 0xFA));
        let mut back = [0i16; 3200];
        assert_eq!(dec.decode(&code, &mut back), 3200);
        let peak = back.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
        assert!(peak < 64, "idle noise peak {peak}");
    }

    #[test]
    fn odd_sample_counts_carry_over_to_the_next_call() {
        let pcm: Vec<i16> = (0..1001)
            .map(|i| ((i * 7919) % 20000 - 10000) as i16)
            .collect();
        let mut whole = vec![0u8; 500];
        let mut a = Encoder::new();
        assert_eq!(a.encode(&pcm[..1000], &mut whole), 500);

        let mut b = Encoder::new();
        let mut split = vec![0u8; 501];
        let mut n = 0;
        for piece in [&pcm[..3], &pcm[3..4], &pcm[4..], &[][..]] {
            n += b.encode(piece, &mut split[n..]);
        }
        assert_eq!(n, 500);
        assert_eq!(&split[..500], &whole[..]);
        assert!(b.pending.is_some());
        b.reset();
        assert!(b.pending.is_none());
    }

    #[test]
    fn reset_restarts_the_stream() {
        let pcm: Vec<i16> = (0..640).map(|i| ((i * 31) % 4000) as i16).collect();
        let mut enc = Encoder::new();
        let mut first = [0u8; 320];
        let mut again = [0u8; 320];
        enc.encode(&pcm, &mut first);
        enc.reset();
        enc.encode(&pcm, &mut again);
        assert_eq!(first, again);

        let mut dec = Decoder::new();
        let mut x = [0i16; 640];
        let mut y = [0i16; 640];
        dec.decode(&first, &mut x);
        dec.reset();
        dec.decode(&first, &mut y);
        assert_eq!(x, y);
    }
}
