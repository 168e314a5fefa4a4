//! Tandem's G.722 (64 kbit/s) is bit-exact with spandsp's: the encoder on
//! silence, tones at many frequencies and levels up to full scale, sweeps,
//! white noise, square waves and hard clipping, and runs of more than ten
//! seconds; the decoder on the same encoded streams and on arbitrary random
//! octet streams; and the two chained (encode → decode) either way.
//!
//! Our side is fed in irregular pieces (odd lengths included) to exercise
//! the block boundaries and the carried odd sample; spandsp gets each signal
//! whole.

use std::f64::consts::PI;

use tandem_dsp::g722::{Decoder, Encoder};
use tandem_spandsp_oracle::{G722Decoder, G722Encoder};

const RATE: f64 = 16_000.0;
/// Piece sizes cycled through when feeding our codec.
const PIECES: [usize; 9] = [320, 1, 319, 2, 1000, 7, 160, 321, 4096];

/// Marsaglia's xorshift64: deterministic noise without dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn sine(freq: f64, amplitude: f64, seconds: f64) -> Vec<i16> {
    let n = (seconds * RATE) as usize;
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / RATE).sin()).round() as i16)
        .collect()
}

/// Logarithmic sweep from `f0` to `f1`.
fn sweep(f0: f64, f1: f64, amplitude: f64, seconds: f64) -> Vec<i16> {
    let n = (seconds * RATE) as usize;
    let k = (f1 / f0).ln() / seconds;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let phase = 2.0 * PI * f0 * ((k * t).exp() - 1.0) / k;
            (amplitude * phase.sin()).round() as i16
        })
        .collect()
}

fn noise(seed: u64, amplitude: i32, seconds: f64) -> Vec<i16> {
    let mut rng = XorShift(seed);
    let n = (seconds * RATE) as usize;
    (0..n)
        .map(|_| {
            let r = (rng.next() >> 48) as i32 - 32768; // uniform in i16
            (r * amplitude / 32768) as i16
        })
        .collect()
}

fn square(freq: f64, amplitude: i16, seconds: f64) -> Vec<i16> {
    let n = (seconds * RATE) as usize;
    let period = RATE / freq;
    (0..n)
        .map(|i| {
            if (i as f64 % period) < period / 2.0 {
                amplitude
            } else {
                -amplitude
            }
        })
        .collect()
}

/// A sine overdriven by `gain` and clipped to 16 bits.
fn clipped_sine(freq: f64, gain: f64, seconds: f64) -> Vec<i16> {
    let n = (seconds * RATE) as usize;
    (0..n)
        .map(|i| {
            let v = gain * 32767.0 * (2.0 * PI * freq * i as f64 / RATE).sin();
            v.clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

fn encode_ours(pcm: &[i16]) -> Vec<u8> {
    let mut enc = Encoder::new();
    let mut out = vec![0u8; pcm.len() / 2];
    let (mut at, mut n, mut k) = (0, 0, 0);
    while at < pcm.len() {
        let take = PIECES[k % PIECES.len()].min(pcm.len() - at);
        n += enc.encode(&pcm[at..at + take], &mut out[n..]);
        at += take;
        k += 1;
    }
    assert_eq!(n, pcm.len() / 2);
    out
}

fn encode_spandsp(pcm: &[i16]) -> Vec<u8> {
    assert_eq!(pcm.len() % 2, 0);
    let mut enc = G722Encoder::new();
    let mut out = vec![0u8; pcm.len() / 2 + 1];
    let n = enc.encode(pcm, &mut out);
    assert_eq!(n, pcm.len() / 2);
    out.truncate(n);
    out
}

fn decode_ours(code: &[u8]) -> Vec<i16> {
    let mut dec = Decoder::new();
    let mut out = vec![0i16; code.len() * 2];
    let (mut at, mut k) = (0, 0);
    while at < code.len() {
        let take = PIECES[k % PIECES.len()].min(code.len() - at);
        assert_eq!(
            dec.decode(&code[at..at + take], &mut out[2 * at..]),
            2 * take
        );
        at += take;
        k += 1;
    }
    out
}

fn decode_spandsp(code: &[u8]) -> Vec<i16> {
    let mut dec = G722Decoder::new();
    let mut out = vec![0i16; code.len() * 2];
    assert_eq!(dec.decode(code, &mut out), code.len() * 2);
    out
}

fn first_mismatch<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// Encoder, decoder and the chain, all against spandsp, on one signal.
fn check(what: &str, pcm: &[i16]) {
    let pcm = &pcm[..pcm.len() & !1];
    let theirs = encode_spandsp(pcm);
    let ours = encode_ours(pcm);
    if let Some(i) = first_mismatch(&ours, &theirs) {
        panic!(
            "{what}: encoder differs first at octet {i} of {}: ours {:#04x}, spandsp {:#04x}",
            ours.len(),
            ours[i],
            theirs[i]
        );
    }
    let back_theirs = decode_spandsp(&theirs);
    let back_ours = decode_ours(&theirs);
    if let Some(i) = first_mismatch(&back_ours, &back_theirs) {
        panic!(
            "{what}: decoder differs first at sample {i} of {}: ours {}, spandsp {}",
            back_ours.len(),
            back_ours[i],
            back_theirs[i]
        );
    }
}

#[test]
fn silence_matches() {
    check("silence", &vec![0i16; 16_000 * 10]);
    // A DC offset is silence to the QMF's higher band only.
    check("DC +1000", &vec![1000i16; 16_000]);
    check("DC -32768", &vec![i16::MIN; 16_000]);
}

#[test]
fn sines_at_many_frequencies_and_levels_match() {
    let freqs = [
        50.0, 100.0, 250.0, 300.0, 440.0, 697.0, 1000.0, 1209.0, 1633.0, 2000.0, 3000.0, 3400.0,
        3999.0, 4000.0, 4001.0, 5000.0, 6000.0, 7000.0, 7500.0, 7999.0,
    ];
    // From −72 dBFS to full scale (and one step beyond, which rounds to
    // the 16-bit extremes).
    let levels = [8.0, 64.0, 512.0, 2048.0, 8192.0, 16384.0, 24000.0, 32767.0];
    for &f in &freqs {
        for &a in &levels {
            check(&format!("sine {f} Hz amplitude {a}"), &sine(f, a, 0.25));
        }
    }
}

#[test]
fn sweeps_match() {
    for &a in &[1000.0, 10_000.0, 32_767.0] {
        check(
            &format!("sweep amplitude {a}"),
            &sweep(20.0, 8000.0, a, 4.0),
        );
    }
    check("downward sweep", &sweep(7900.0, 30.0, 20_000.0, 3.0));
}

#[test]
fn white_noise_matches() {
    for (seed, amplitude) in [(1u64, 100), (2, 3000), (3, 16_000), (4, 32_768)] {
        check(
            &format!("noise seed {seed} amplitude {amplitude}"),
            &noise(0x9E37_79B9_7F4A_7C15 ^ seed, amplitude, 2.0),
        );
    }
}

#[test]
fn square_waves_and_clipping_match() {
    for &f in &[100.0, 1000.0, 3000.0, 7000.0] {
        check(
            &format!("square {f} Hz full scale"),
            &square(f, i16::MAX, 0.5),
        );
        check(&format!("square {f} Hz 1000"), &square(f, 1000, 0.5));
    }
    for &g in &[1.5, 4.0, 100.0] {
        check(
            &format!("clipped sine gain {g}"),
            &clipped_sine(440.0, g, 1.0),
        );
        check(
            &format!("clipped sine 3 kHz gain {g}"),
            &clipped_sine(3000.0, g, 0.5),
        );
    }
    // Alternating extremes: the largest possible step at 16 kHz.
    let alt: Vec<i16> = (0..16_000)
        .map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    check("alternating extremes", &alt);
}

#[test]
fn a_long_mixed_run_of_twelve_seconds_matches() {
    // Speech-like: a tone pair with a slow envelope, noise bursts, silence
    // gaps and a loud passage, all in one continuous stream.
    let mut pcm = Vec::new();
    let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
    for second in 0..12 {
        for i in 0..16_000 {
            let t = (second * 16_000 + i) as f64 / RATE;
            let env = 0.5 + 0.5 * (2.0 * PI * 3.0 * t).sin();
            let tone =
                9000.0 * env * ((2.0 * PI * 220.0 * t).sin() + 0.6 * (2.0 * PI * 1830.0 * t).sin());
            let hiss =
                ((rng.next() >> 52) as f64 - 2048.0) * if second % 3 == 0 { 4.0 } else { 0.5 };
            let v = match second {
                4 => 0.0,
                9 => 3.0 * tone,
                _ => tone + hiss,
            };
            pcm.push(v.clamp(-32768.0, 32767.0) as i16);
        }
    }
    check("twelve-second mix", &pcm);
}

#[test]
fn decoder_matches_on_arbitrary_random_code_streams() {
    for seed in 1..=4u64 {
        let mut rng = XorShift(0x0123_4567_89AB_CDEF ^ seed.wrapping_mul(0x9E37_79B9));
        // Ten seconds of octets.
        let code: Vec<u8> = (0..80_000).map(|_| (rng.next() >> 56) as u8).collect();
        let theirs = decode_spandsp(&code);
        let ours = decode_ours(&code);
        if let Some(i) = first_mismatch(&ours, &theirs) {
            panic!(
                "random stream {seed}: sample {i}: ours {}, spandsp {}",
                ours[i], theirs[i]
            );
        }
    }
    // Streams biased to the extreme codes drive the predictors to their limits.
    let mut rng = XorShift(42);
    let extremes = [0x00u8, 0x04, 0x20, 0x3F, 0x7C, 0xBC, 0xC0, 0xFF];
    let code: Vec<u8> = (0..80_000)
        .map(|_| extremes[(rng.next() >> 61) as usize])
        .collect();
    assert_eq!(
        first_mismatch(&decode_ours(&code), &decode_spandsp(&code)),
        None
    );
}

#[test]
fn chained_encode_decode_matches_either_way() {
    let pcm = sweep(50.0, 7000.0, 12_000.0, 2.0);
    // Ours → ours equals spandsp → spandsp.
    let ours = decode_ours(&encode_ours(&pcm));
    let theirs = decode_spandsp(&encode_spandsp(&pcm));
    assert_eq!(first_mismatch(&ours, &theirs), None);
    // And mixed: our encoder into their decoder, theirs into ours.
    assert_eq!(
        first_mismatch(&decode_spandsp(&encode_ours(&pcm)), &theirs),
        None
    );
    assert_eq!(
        first_mismatch(&decode_ours(&encode_spandsp(&pcm)), &theirs),
        None
    );
    // A tandem of three codecs (as in a chain of gateways) stays in step.
    let mut a = pcm.clone();
    let mut b = pcm;
    for _ in 0..3 {
        a = decode_ours(&encode_ours(&a));
        b = decode_spandsp(&encode_spandsp(&b));
    }
    assert_eq!(first_mismatch(&a, &b), None);
}

/// Full-scale signals built to push the predictors into their limits:
/// random-length runs of the 16-bit extremes, of alternating extremes, of
/// slow ramps and of full-scale noise, back to back.
#[test]
fn adversarial_full_scale_runs_match() {
    let mut rng = XorShift(0x5EED_F0AD_7E25_A1C3);
    for round in 0..4 {
        let mut pcm = Vec::with_capacity(16_000 * 5);
        while pcm.len() < 16_000 * 5 {
            let len = 1 + (rng.next() % 400) as usize;
            let kind = rng.next() % 6;
            for i in 0..len {
                pcm.push(match kind {
                    0 => i16::MAX,
                    1 => i16::MIN,
                    2 => {
                        if i % 2 == 0 {
                            i16::MAX
                        } else {
                            i16::MIN
                        }
                    }
                    3 => (rng.next() >> 48) as u16 as i16,
                    4 => (i as i32 * 65_535 / len as i32 - 32_768) as i16,
                    _ => {
                        if (i / 3) % 2 == 0 {
                            i16::MIN
                        } else {
                            i16::MAX
                        }
                    }
                });
            }
        }
        check(&format!("adversarial round {round}"), &pcm);
    }
}

/// Code streams that hold one code (or alternate two) for long runs drive
/// the decoder's scale factors and pole/zero predictors to their limits,
/// which random streams rarely do.
#[test]
fn decoder_matches_on_long_runs_of_each_code() {
    let mut code = Vec::new();
    for c in 0..=255u8 {
        code.extend(std::iter::repeat_n(c, 600));
        code.extend((0..600).map(|i| if i % 2 == 0 { c } else { !c }));
    }
    let mut rng = XorShift(7);
    while code.len() < 800_000 {
        let c = (rng.next() >> 56) as u8;
        let len = 1 + (rng.next() % 3000) as usize;
        code.extend(std::iter::repeat_n(c, len));
    }
    let ours = decode_ours(&code);
    let theirs = decode_spandsp(&code);
    if let Some(i) = first_mismatch(&ours, &theirs) {
        panic!(
            "long runs: sample {i}: ours {}, spandsp {}",
            ours[i], theirs[i]
        );
    }
}
