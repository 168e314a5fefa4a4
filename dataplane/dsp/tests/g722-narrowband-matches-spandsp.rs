//! Tandem's G.722 narrowband mode (8 kHz in and out, the higher band not
//! coded) is bit-exact with spandsp's `G722_SAMPLE_RATE_8000`: the encoder
//! on tones, noise, full-scale square waves and clipping at 8 kHz, the
//! decoder on those streams, on arbitrary random octets (whatever a peer's
//! wideband encoder sent) and on runs of each code.
//!
//! Our side is fed in irregular pieces; spandsp gets each signal whole.

use std::f64::consts::PI;

use tandem_dsp::g722::{Decoder, NarrowbandDecoder, NarrowbandEncoder};
use tandem_spandsp_oracle::{G722Decoder, G722Encoder};

const RATE: f64 = 8_000.0;
const PIECES: [usize; 7] = [160, 1, 159, 3, 1000, 80, 4096];

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn sine(freq: f64, amplitude: f64, seconds: f64) -> Vec<i16> {
    let n = (seconds * RATE) as usize;
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / RATE).sin()).round() as i16)
        .collect()
}

fn encode_ours(pcm: &[i16]) -> Vec<u8> {
    let mut enc = NarrowbandEncoder::new();
    let mut out = vec![0u8; pcm.len()];
    let (mut at, mut k) = (0, 0);
    while at < pcm.len() {
        let take = PIECES[k % PIECES.len()].min(pcm.len() - at);
        assert_eq!(enc.encode(&pcm[at..at + take], &mut out[at..]), take);
        at += take;
        k += 1;
    }
    out
}

fn encode_spandsp(pcm: &[i16]) -> Vec<u8> {
    let mut enc = G722Encoder::new_8k();
    let mut out = vec![0u8; pcm.len()];
    assert_eq!(enc.encode(pcm, &mut out), pcm.len());
    out
}

fn decode_ours(code: &[u8]) -> Vec<i16> {
    let mut dec = NarrowbandDecoder::new();
    let mut out = vec![0i16; code.len()];
    let (mut at, mut k) = (0, 0);
    while at < code.len() {
        let take = PIECES[k % PIECES.len()].min(code.len() - at);
        assert_eq!(dec.decode(&code[at..at + take], &mut out[at..]), take);
        at += take;
        k += 1;
    }
    out
}

fn decode_spandsp(code: &[u8]) -> Vec<i16> {
    let mut dec = G722Decoder::new_8k();
    let mut out = vec![0i16; code.len() * 2];
    let n = dec.decode(code, &mut out);
    assert_eq!(n, code.len());
    out.truncate(n);
    out
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, ours: &[T], theirs: &[T]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    if let Some(i) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
        panic!(
            "{what}: differs first at {i} of {}: ours {:?}, spandsp {:?}",
            ours.len(),
            ours[i],
            theirs[i]
        );
    }
}

fn check(what: &str, pcm: &[i16]) {
    let theirs = encode_spandsp(pcm);
    same(&format!("{what} (encoder)"), &encode_ours(pcm), &theirs);
    same(
        &format!("{what} (decoder)"),
        &decode_ours(&theirs),
        &decode_spandsp(&theirs),
    );
}

#[test]
fn tones_at_many_frequencies_and_levels_match() {
    for freq in [50.0, 300.0, 697.0, 1000.0, 1633.0, 2500.0, 3400.0, 3950.0] {
        for amp in [10.0, 300.0, 3000.0, 16_000.0, 32_767.0] {
            check(&format!("{freq} Hz at {amp}"), &sine(freq, amp, 1.0));
        }
    }
}

#[test]
fn noise_squares_and_clipping_match() {
    let mut x = 0x1234_5678_9abc_def0u64;
    let noise: Vec<i16> = (0..80_000).map(|_| xorshift(&mut x) as i16).collect();
    check("full-scale white noise", &noise);
    let square: Vec<i16> = (0..40_000)
        .map(|i| if (i / 7) % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    check("full-scale square", &square);
    let clipped: Vec<i16> = sine(440.0, 200_000.0, 2.0)
        .iter()
        .map(|&s| s.clamp(i16::MIN, i16::MAX))
        .collect();
    check("clipped sine", &clipped);
    check("silence", &vec![0; 16_000]);
}

#[test]
fn decoder_matches_on_random_and_constant_code_streams() {
    let mut x = 0x0dd_ba11_cafe_f00du64;
    let random: Vec<u8> = (0..200_000).map(|_| xorshift(&mut x) as u8).collect();
    same(
        "random octets",
        &decode_ours(&random),
        &decode_spandsp(&random),
    );
    for code in 0..=255u8 {
        let run = vec![code; 4_000];
        same(
            &format!("a run of {code:#04x}"),
            &decode_ours(&run),
            &decode_spandsp(&run),
        );
    }
}

#[test]
fn a_wideband_decoder_plays_the_stream_with_a_silent_higher_band() {
    // What the far end hears from a narrowband-coded tone: the tone, at
    // its level, and nothing above 4 kHz once the higher band's scale
    // factor has decayed.
    let tone = sine(1000.0, 8000.0, 1.0);
    let code = encode_ours(&tone);
    assert!(code.iter().all(|c| c >> 6 == 3), "IH = 3 in every octet");
    let mut wide = vec![0i16; code.len() * 2];
    Decoder::new().decode(&code, &mut wide);
    let tail = &wide[8_000..];
    let amplitude = |pcm: &[i16], f: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in pcm.iter().enumerate() {
            let w = 2.0 * PI * f * i as f64 / 16_000.0;
            re += f64::from(s) * w.cos();
            im += f64::from(s) * w.sin();
        }
        2.0 * (re * re + im * im).sqrt() / pcm.len() as f64
    };
    let a = amplitude(tail, 1000.0);
    assert!((a - 8000.0).abs() < 800.0, "1 kHz at {a:.0}");
    // The image a missing higher band would leave at 8 − 1 = 7 kHz.
    let image = amplitude(tail, 7000.0);
    assert!(image < 80.0, "7 kHz image at {image:.0}");
}
