//! G.711 A-law and μ-law companding, and direct A-law ↔ μ-law transcoding.
//!
//! Implements ITU-T G.711 (11/88): the A-law and μ-law segmented
//! quantisers of §3 and §4 (Tables 1a/1b and 2a/2b) and the direct
//! conversion tables between the two laws (Table 3, μ → A, and Table 4,
//! A → μ). Linear samples are 16-bit two's complement: A-law uses the top
//! 13 bits and μ-law the top 14, with the rounding of the ITU-T G.191
//! software tools (which spandsp follows), so every one of the 65,536 inputs
//! encodes to the same octet as spandsp's `linear_to_alaw`/`linear_to_ulaw`
//! and every octet decodes to the same value. `tests/g711-matches-spandsp.rs`
//! checks all of them.
//!
//! # Encoding rule
//!
//! * **A-law**: a negative sample is replaced by its one's complement
//!   (`-x - 1`), so that −1 and 0 fall into the two innermost intervals of
//!   either sign (G.711 has no zero code). The 15-bit magnitude is truncated
//!   to its segment (the position of its leading one, 8 segments, the first
//!   two of equal step) and the four bits after the leading one. The sign bit
//!   is 1 for positive samples and the even bits are inverted (XOR `0x55`)
//!   as §3 requires for transmission.
//! * **μ-law**: the bias 33 (132 on the 16-bit scale) is added to the
//!   magnitude before the same leading-one segmentation, so the segments
//!   follow 2^s·(33 + …) − 33 as in Table 2; magnitudes beyond the last
//!   segment saturate. All bits of the octet are inverted for transmission
//!   (positive full scale is `0x80`, zero is `0xFF`).
//!
//! Decoding returns the centre of each quantisation interval (the "decoder
//! output value" of the tables), which is why an encode of a decoded value
//! reproduces the code.
//!
//! # Transcoding (G.711 Tables 3 and 4)
//!
//! Converting A ↔ μ by decoding to linear and re-encoding is not what G.711
//! specifies. Its tables agree exactly with this rule, from which they are
//! computed here by a `const fn`: map each decoder output value to the
//! *nearest* decoder output value of the other law, with the two laws
//! aligned at equal level in dBm0. The overload points differ (+3.14 dBm0
//! for A-law's 4096, +3.17 dBm0 for μ-law's 8159), so one A-law unit is
//! 8159 / (4096 · 10^(0.03/20)) ≈ 1.985 μ-law units, not 2 (the ratio used
//! is 397/200; any ratio from about 1.9839 to 1.9913 gives the same tables,
//! with no ties).
//!
//! The result is identical to spandsp's `alaw_to_ulaw`/`ulaw_to_alaw` tables
//! (transcribed from G.711) for all 256 codes each way, so no difference
//! between spandsp and G.711 was found. It also has the corrections from the
//! errata to the widely copied Sun/CCITT tables (A-law magnitude 79 → μ-law
//! 80, not 79; μ-law 80 → A-law 79, not 80). A naive decode/re-encode on the
//! 16-bit scale would differ on 32 of the 256 A-law codes (segment 5 of each
//! sign) and on 44 of the 256 μ-law codes (segment 5, magnitude indices 48,
//! 49 and 64, and some low levels); the tests pin those counts. By design of
//! the tables, A → μ → A is not transparent for 8 A-law values per sign.
//!
//! # Performance
//!
//! Everything is table-driven, with the tables computed at compile time by
//! `const fn` from the rules above (nothing is pasted):
//!
//! * A-law encode: the code depends only on `x >> 4` (the one's complement of
//!   a negative sample leaves those bits a function of the same bits), so a
//!   4 KiB table indexed by the top 12 bits of the sample suffices and stays
//!   in L1.
//! * μ-law encode: adding the bias to the *negated* sample makes the low bits
//!   matter, so the table is indexed by the whole `u16` (64 KiB). Real audio
//!   touches only the few KiB around zero.
//! * Decode: 256-entry `i16` tables; transcoding: 256-entry `u8` tables.
//!
//! Each lookup index is typed so that it is provably in range, so the bulk
//! loops carry no bounds checks.
//!
//! Measured on the development machine (AMD EPYC, one core, 64 Ki samples,
//! x86-64 baseline code): the tables encode about 4.7 G samples/s (A-law,
//! 4 KiB), 4.8 G (A-law from a 64 KiB table, no faster) and 4.8–5.0 G
//! (μ-law, 64 KiB), for speech-like audio and full-scale noise alike; the
//! arithmetic rule (leading-zero count, shifts) manages only 0.66 G (A) and
//! 0.39 G (μ) because it does not vectorise. Decoding runs at about 5 G
//! samples/s — all well above the 0.5 G samples/s (1 GB/s of 16-bit samples)
//! a core needs to budget. `bench/benches/codecs.rs` compares with spandsp.

/// Number of 16-bit samples that A-law encoding distinguishes: the code is a
/// function of `x >> 4` only.
const ALAW_ENC_LEN: usize = 1 << 12;

/// The μ-law bias (33 on G.711's 14-bit scale) on the 16-bit scale.
const ULAW_BIAS: i32 = 132;

/// Even-bit inversion applied to every A-law octet on the line (G.711 §3).
const ALAW_XOR: u8 = 0x55;

/// Segment number of a biased/complemented magnitude: 7 minus the number of
/// leading zeros above bit 7, with everything below 256 in segment 0.
const fn segment(magnitude: i32) -> u32 {
    // `| 0xFF` puts small magnitudes in segment 0 (bit 7 is the lowest
    // possible leading one).
    let top_bit = 31 - (magnitude | 0xFF).leading_zeros();
    top_bit - 7
}

/// A-law encoding by rule; used to build [`ALAW_ENC`].
const fn alaw_encode_rule(x: i16) -> u8 {
    let (magnitude, sign) = if x >= 0 {
        (x as i32, 0x80)
    } else {
        // One's complement, not negation: −1 maps to magnitude 0.
        (!(x as i32), 0x00)
    };
    let seg = segment(magnitude);
    // In segment 0 the step equals segment 1's, hence the shift of 4 there.
    let shift = if seg == 0 { 4 } else { seg + 3 };
    let mantissa = ((magnitude >> shift) & 0x0F) as u8;
    ((seg as u8) << 4 | mantissa | sign) ^ ALAW_XOR
}

/// μ-law encoding by rule; used to build [`ULAW_ENC`].
const fn ulaw_encode_rule(x: i16) -> u8 {
    // The sign bit is 0 for positive samples before the inversion below.
    let (magnitude, sign) = if x >= 0 {
        (ULAW_BIAS + x as i32, 0x00)
    } else {
        (ULAW_BIAS - x as i32, 0x80)
    };
    let seg = segment(magnitude);
    let code = if seg >= 8 {
        // Beyond the last decision value: saturate to full scale.
        0x7F
    } else {
        (seg as u8) << 4 | ((magnitude >> (seg + 3)) & 0x0F) as u8
    };
    // All bits are inverted on the line.
    !(code | sign)
}

/// A-law decoding by rule: the centre of the code's interval.
const fn alaw_decode_rule(c: u8) -> i16 {
    let c = c ^ ALAW_XOR;
    let mantissa = ((c & 0x0F) as i32) << 4;
    let seg = ((c >> 4) & 0x07) as i32;
    let magnitude = if seg == 0 {
        mantissa + 8
    } else {
        // 0x100 is the implicit leading one, 0x08 half a step.
        (mantissa + 0x108) << (seg - 1)
    };
    if c & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// μ-law decoding by rule: the centre of the code's interval.
const fn ulaw_decode_rule(c: u8) -> i16 {
    let c = !c;
    let seg = ((c >> 4) & 0x07) as i32;
    let biased = ((((c & 0x0F) as i32) << 3) + ULAW_BIAS) << seg;
    if c & 0x80 != 0 {
        (ULAW_BIAS - biased) as i16
    } else {
        (biased - ULAW_BIAS) as i16
    }
}

const fn build_alaw_encode() -> [u8; ALAW_ENC_LEN] {
    let mut t = [0u8; ALAW_ENC_LEN];
    let mut i = 0;
    while i < ALAW_ENC_LEN {
        // Entry i stands for every sample whose bits 15..4 are i.
        t[i] = alaw_encode_rule(((i << 4) as u16) as i16);
        i += 1;
    }
    t
}

const fn build_ulaw_encode() -> [u8; 1 << 16] {
    let mut t = [0u8; 1 << 16];
    let mut i = 0;
    while i < t.len() {
        t[i] = ulaw_encode_rule(i as u16 as i16);
        i += 1;
    }
    t
}

const fn build_decode(law_is_alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if law_is_alaw {
            alaw_decode_rule(i as u8)
        } else {
            ulaw_decode_rule(i as u8)
        };
        i += 1;
    }
    t
}

/// Magnitude index 0..=127 ("decoder output value number" minus one) of
/// the interval centres, in each law's own units: A-law in half-units of
/// the 4096 scale (1, 3, …, 4032·2), μ-law on the 8159 scale (0, 2, …, 8031).
const fn alaw_level(n: usize) -> i64 {
    let seg = n >> 4;
    let q = (n & 0x0F) as i64;
    if seg == 0 {
        2 * q + 1
    } else {
        (2 * q + 33) << (seg - 1)
    }
}

const fn ulaw_level(n: usize) -> i64 {
    let seg = n >> 4;
    let q = (n & 0x0F) as i64;
    ((2 * q + 33) << seg) - 33
}

/// μ-law units per A-law unit (in the scales of [`alaw_level`] and
/// [`ulaw_level`]) at equal dBm0: 8159 / (4096 · 10^(0.03/20)) ≈ 1.985,
/// written as a ratio so the tables are exact integer arithmetic. Any ratio
/// in about [1.9839, 1.9913] yields the same tables; there are no ties.
const U_PER_A_NUM: i64 = 397;
const U_PER_A_DEN: i64 = 200;

/// A-law magnitude index → nearest μ-law magnitude index (G.711 Table 4).
const fn nearest_ulaw(a: usize) -> usize {
    let target = alaw_level(a) * U_PER_A_NUM;
    let mut best = 0;
    let mut best_err = i64::MAX;
    let mut m = 0;
    while m < 128 {
        let err = (ulaw_level(m) * U_PER_A_DEN - target).abs();
        if err < best_err {
            best = m;
            best_err = err;
        }
        m += 1;
    }
    best
}

/// μ-law magnitude index → nearest A-law magnitude index (G.711 Table 3).
const fn nearest_alaw(u: usize) -> usize {
    let target = ulaw_level(u) * U_PER_A_DEN;
    let mut best = 0;
    let mut best_err = i64::MAX;
    let mut m = 0;
    while m < 128 {
        let err = (alaw_level(m) * U_PER_A_NUM - target).abs();
        if err < best_err {
            best = m;
            best_err = err;
        }
        m += 1;
    }
    best
}

const fn build_alaw_to_ulaw() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let a = (c as u8) ^ ALAW_XOR;
        let positive = a & 0x80 != 0;
        let u = nearest_ulaw((a & 0x7F) as usize) as u8;
        // μ-law octets are the inverted sign+magnitude.
        t[c] = if positive { 0xFF ^ u } else { 0x7F ^ u };
        c += 1;
    }
    t
}

const fn build_ulaw_to_alaw() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let u = !(c as u8);
        let positive = u & 0x80 == 0;
        let a = nearest_alaw((u & 0x7F) as usize) as u8;
        t[c] = if positive {
            (0x80 | a) ^ ALAW_XOR
        } else {
            a ^ ALAW_XOR
        };
        c += 1;
    }
    t
}

/// A-law code of every sample, indexed by the sample's bits 15..4.
static ALAW_ENC: [u8; ALAW_ENC_LEN] = build_alaw_encode();
/// μ-law code of every sample, indexed by the sample as `u16`.
static ULAW_ENC: [u8; 1 << 16] = build_ulaw_encode();
static ALAW_DEC: [i16; 256] = build_decode(true);
static ULAW_DEC: [i16; 256] = build_decode(false);
static ALAW_TO_ULAW: [u8; 256] = build_alaw_to_ulaw();
static ULAW_TO_ALAW: [u8; 256] = build_ulaw_to_alaw();

/// Encodes one 16-bit linear sample to an A-law octet (even bits inverted,
/// as transmitted).
#[inline]
pub fn alaw_encode(x: i16) -> u8 {
    // `u16 >> 4` is below 4096, so the index needs no bounds check.
    ALAW_ENC[usize::from(x as u16 >> 4)]
}

/// Decodes an A-law octet to the 16-bit linear centre of its interval
/// (±8 … ±32256).
#[inline]
pub fn alaw_decode(c: u8) -> i16 {
    ALAW_DEC[usize::from(c)]
}

/// Encodes one 16-bit linear sample to a μ-law octet (all bits inverted, as
/// transmitted).
#[inline]
pub fn ulaw_encode(x: i16) -> u8 {
    ULAW_ENC[usize::from(x as u16)]
}

/// Decodes a μ-law octet to the 16-bit linear centre of its interval
/// (0 … ±32124).
#[inline]
pub fn ulaw_decode(c: u8) -> i16 {
    ULAW_DEC[usize::from(c)]
}

/// Converts an A-law octet directly to μ-law per G.711 Table 4.
#[inline]
pub fn alaw_to_ulaw(c: u8) -> u8 {
    ALAW_TO_ULAW[usize::from(c)]
}

/// Converts a μ-law octet directly to A-law per G.711 Table 3.
#[inline]
pub fn ulaw_to_alaw(c: u8) -> u8 {
    ULAW_TO_ALAW[usize::from(c)]
}

/// Encodes `pcm` into `out` with A-law, one octet per sample.
///
/// # Panics
///
/// If `pcm.len() != out.len()`: a length mismatch is a bug in the caller's
/// framing, and silently truncating would hide it.
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) {
    assert_eq!(pcm.len(), out.len(), "encode_alaw: length mismatch");
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = alaw_encode(x);
    }
}

/// Decodes A-law `code` into `out`, one sample per octet.
///
/// # Panics
///
/// If `code.len() != out.len()`.
pub fn decode_alaw(code: &[u8], out: &mut [i16]) {
    assert_eq!(code.len(), out.len(), "decode_alaw: length mismatch");
    for (o, &c) in out.iter_mut().zip(code) {
        *o = alaw_decode(c);
    }
}

/// Encodes `pcm` into `out` with μ-law, one octet per sample.
///
/// # Panics
///
/// If `pcm.len() != out.len()`.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) {
    assert_eq!(pcm.len(), out.len(), "encode_ulaw: length mismatch");
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = ulaw_encode(x);
    }
}

/// Decodes μ-law `code` into `out`, one sample per octet.
///
/// # Panics
///
/// If `code.len() != out.len()`.
pub fn decode_ulaw(code: &[u8], out: &mut [i16]) {
    assert_eq!(code.len(), out.len(), "decode_ulaw: length mismatch");
    for (o, &c) in out.iter_mut().zip(code) {
        *o = ulaw_decode(c);
    }
}

/// Converts A-law octets to μ-law (G.711 Table 4).
///
/// # Panics
///
/// If `inp.len() != out.len()`.
pub fn transcode_alaw_to_ulaw(inp: &[u8], out: &mut [u8]) {
    assert_eq!(
        inp.len(),
        out.len(),
        "transcode_alaw_to_ulaw: length mismatch"
    );
    for (o, &c) in out.iter_mut().zip(inp) {
        *o = alaw_to_ulaw(c);
    }
}

/// Converts μ-law octets to A-law (G.711 Table 3).
///
/// # Panics
///
/// If `inp.len() != out.len()`.
pub fn transcode_ulaw_to_alaw(inp: &[u8], out: &mut [u8]) {
    assert_eq!(
        inp.len(),
        out.len(),
        "transcode_ulaw_to_alaw: length mismatch"
    );
    for (o, &c) in out.iter_mut().zip(inp) {
        *o = ulaw_to_alaw(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_encodes_to_the_g711_idle_codes_of_positive_zero() {
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(ulaw_encode(0), 0xFF);
        // −1 is the innermost negative interval for A-law …
        assert_eq!(alaw_encode(-1), 0x55);
        // … and, with the μ-law bias, still the zero level.
        assert_eq!(ulaw_encode(-1), 0x7F);
    }

    #[test]
    fn full_scale_and_overload_saturate() {
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
    }

    #[test]
    fn every_code_reencodes_to_itself() {
        for c in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law {c:#04x}");
            let u = ulaw_encode(ulaw_decode(c));
            // μ-law has two zeros (0x7F and 0xFF); both decode to 0, which
            // encodes as positive zero.
            if c == 0x7F {
                assert_eq!(u, 0xFF);
            } else {
                assert_eq!(u, c, "μ-law {c:#04x}");
            }
        }
    }

    #[test]
    fn encoding_is_monotonic_in_the_decoded_level() {
        let mut last_a = i16::MIN;
        let mut last_u = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let a = alaw_decode(alaw_encode(x));
            let u = ulaw_decode(ulaw_encode(x));
            assert!(a >= last_a && u >= last_u, "not monotonic at {x}");
            last_a = a;
            last_u = u;
        }
    }

    #[test]
    fn sign_is_symmetric() {
        for c in 0..=127u8 {
            assert_eq!(alaw_decode(c), -alaw_decode(c | 0x80));
            assert_eq!(ulaw_decode(c), -ulaw_decode(c | 0x80));
        }
        // One's complement for A-law: x and −x−1 differ only in sign bit.
        for x in 0..=i16::MAX {
            assert_eq!(alaw_encode(x) ^ 0x80, alaw_encode(-x - 1));
        }
    }

    #[test]
    fn decoded_values_lie_within_their_interval() {
        for x in i16::MIN..=i16::MAX {
            let err = i32::from(alaw_decode(alaw_encode(x))) - i32::from(x);
            // Largest A-law step is 1024: half a step either way (plus the
            // one's complement offset for negatives), except the overload.
            if x.unsigned_abs() < 32256 {
                assert!(err.abs() <= 512, "A-law error {err} at {x}");
            }
        }
    }

    #[test]
    fn transcoding_is_sign_symmetric_and_keeps_known_entries() {
        for c in 0..=255u8 {
            // Sign bit of A-law is bit 7 (after the 0x55 inversion, which
            // leaves bit 7 alone); μ-law likewise.
            assert_eq!(alaw_to_ulaw(c) & 0x7F, alaw_to_ulaw(c ^ 0x80) & 0x7F);
            assert_eq!(ulaw_to_alaw(c) & 0x7F, ulaw_to_alaw(c ^ 0x80) & 0x7F);
        }
        // Full scale maps to full scale, zero to the smallest level.
        assert_eq!(alaw_to_ulaw(0xAA), 0x80);
        assert_eq!(ulaw_to_alaw(0x80), 0xAA);
        assert_eq!(ulaw_to_alaw(0xFF), 0xD5);
        // A-law 0xD5 (+8) → μ-law magnitude index 1 (+8 on the 16-bit scale).
        assert_eq!(alaw_to_ulaw(0xD5), 0xFE);
        // Segment 5 is where the 0.03 dB alignment matters: A-law +4224
        // maps to μ-law +4092, not to the numerically nearer +4348.
        let a = alaw_encode(4224);
        assert_eq!(alaw_decode(a), 4224);
        assert_eq!(ulaw_decode(alaw_to_ulaw(a)), 4092);
        // The two entries misprinted in widely copied code (A-law magnitude
        // 79 → μ-law 79, μ-law 80 → A-law 80) and corrected in its errata:
        // A 79 → μ 80, μ 80 → A 79, μ 81 → A 81.
        assert_eq!(alaw_to_ulaw((0x80 | 79) ^ 0x55), 0xFF ^ 80);
        assert_eq!(ulaw_to_alaw(0xFF ^ 80), (0x80 | 79) ^ 0x55);
        assert_eq!(ulaw_to_alaw(0xFF ^ 81), (0x80 | 81) ^ 0x55);
    }

    #[test]
    fn bulk_functions_match_the_scalar_ones() {
        let pcm: Vec<i16> = (0..1000).map(|i| (i * 67 - 33_000) as i16).collect();
        let mut a = vec![0u8; pcm.len()];
        let mut u = vec![0u8; pcm.len()];
        encode_alaw(&pcm, &mut a);
        encode_ulaw(&pcm, &mut u);
        for i in 0..pcm.len() {
            assert_eq!(a[i], alaw_encode(pcm[i]));
            assert_eq!(u[i], ulaw_encode(pcm[i]));
        }
        let mut lin = vec![0i16; pcm.len()];
        decode_alaw(&a, &mut lin);
        assert!(lin.iter().zip(&a).all(|(&l, &c)| l == alaw_decode(c)));
        decode_ulaw(&u, &mut lin);
        assert!(lin.iter().zip(&u).all(|(&l, &c)| l == ulaw_decode(c)));
        let mut t = vec![0u8; pcm.len()];
        transcode_alaw_to_ulaw(&a, &mut t);
        assert!(t.iter().zip(&a).all(|(&o, &c)| o == alaw_to_ulaw(c)));
        transcode_ulaw_to_alaw(&u, &mut t);
        assert!(t.iter().zip(&u).all(|(&o, &c)| o == ulaw_to_alaw(c)));
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn mismatched_lengths_panic() {
        encode_alaw(&[0; 4], &mut [0; 3]);
    }
}
