//! PCMU ↔ G.722 transcoding keeps a tone's frequency and level, streaming
//! at mixed ptimes. G.722 runs in its narrowband mode there (8 kHz as its
//! lower band): no resampler, and the bytes are exactly the narrowband
//! codec's.

use tandem_dataplane::codec::{Codec, Decoder, Encoder, Transcoder};
use tandem_dataplane::frame::{AudioFrame, frame_len};
use tandem_dsp::resample::Rate;

fn tone(rate: Rate, hz: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (amplitude * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate.hz())).sin())
                as i16
        })
        .collect()
}

fn encode(codec: Codec, ptime: u32, pcm: &[i16]) -> Vec<Vec<u8>> {
    let rate = codec.sample_rate();
    let mut enc = Encoder::new(codec, ptime).unwrap();
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    for c in pcm.chunks_exact(frame_len(rate)) {
        enc.push_frame(&AudioFrame::from_samples(rate, c)).unwrap();
        while let Some(n) = enc.poll_payload(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
    }
    out
}

fn transcode(from: Codec, to: Codec, ptime: u32, payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut t = Transcoder::new(from, to, ptime).unwrap();
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    for p in payloads {
        t.push_payload(p).unwrap();
        while let Some(n) = t.poll_payload(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
    }
    out
}

fn decode(codec: Codec, payloads: &[Vec<u8>]) -> Vec<i16> {
    let mut d = Decoder::new(codec).unwrap();
    let mut out = Vec::new();
    for p in payloads {
        d.push_payload(p).unwrap();
        while let Some(f) = d.pop_frame() {
            out.extend_from_slice(f.samples());
        }
    }
    out
}

/// Level (dB re full-scale sine) and frequency (Hz) of a steady tone: the
/// peak of a Hann-windowed DFT scanned in 2 Hz steps, refined to 0.1 Hz.
fn analyse(x: &[i16], rate: f64) -> (f64, f64) {
    let n = x.len();
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos();
            f64::from(x[i]) * hann
        })
        .collect();
    let mag = |f: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &v) in w.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * f * i as f64 / rate;
            re += v * ph.cos();
            im -= v * ph.sin();
        }
        (re * re + im * im).sqrt()
    };
    // The Hann main lobe is ±2·rate/n (±4 Hz here): scan in 2 Hz steps.
    let coarse = (300..3000)
        .step_by(2)
        .map(f64::from)
        .max_by(|a, b| mag(*a).total_cmp(&mag(*b)))
        .unwrap();
    let mut best = coarse;
    let mut f = coarse - 2.0;
    while f <= coarse + 2.0 {
        if mag(f) > mag(best) {
            best = f;
        }
        f += 0.1;
    }
    // Hann window: coherent gain 0.5; amplitude = 2·|X| / (0.5·n).
    let amplitude = 2.0 * mag(best) / (0.5 * n as f64);
    (20.0 * (amplitude / 32767.0).log10(), best)
}

#[test]
fn pcmu_to_g722_and_back() {
    let hz = 1004.0;
    let amp = 10_000.0; // −10.3 dBFS
    let pcm = tone(Rate::Hz8000, hz, amp, 8000);
    let (ref_db, _) = analyse(&pcm[2000..6000], 8000.0);

    // PCMU 20 ms → G.722 30 ms.
    let pcmu = encode(Codec::Pcmu, 20, &pcm);
    let g722 = transcode(Codec::Pcmu, Codec::G722, 30, &pcmu);
    assert!(g722.iter().all(|p| p.len() == 240));
    let wide = decode(Codec::G722, &g722);
    let (db, f) = analyse(&wide[4000..12000], 16000.0);
    eprintln!("PCMU→G.722: {f:.1} Hz, {:+.2} dB vs input", db - ref_db);
    assert!((f - hz).abs() < 1.0, "frequency {f}");
    assert!((db - ref_db).abs() < 0.5, "level {db} vs {ref_db}");

    // G.722 30 ms → PCMU 10 ms.
    let back = transcode(Codec::G722, Codec::Pcmu, 10, &g722);
    assert!(back.iter().all(|p| p.len() == 80));
    let narrow = decode(Codec::Pcmu, &back);
    let (db, f) = analyse(&narrow[2000..6000], 8000.0);
    eprintln!(
        "PCMU→G.722→PCMU: {f:.1} Hz, {:+.2} dB vs input",
        db - ref_db
    );
    assert!((f - hz).abs() < 1.0, "frequency {f}");
    assert!((db - ref_db).abs() < 0.5, "level {db} vs {ref_db}");
}

#[test]
fn same_rate_transcoding_has_no_resampler() {
    // PCMU → PCMA goes through linear but needs no resampler: the output
    // equals G.711 re-encoding of the decoded samples.
    let pcm = tone(Rate::Hz8000, 440.0, 8000.0, 1600);
    let pcmu = encode(Codec::Pcmu, 20, &pcm);
    let pcma = transcode(Codec::Pcmu, Codec::Pcma, 20, &pcmu);
    let decoded = decode(Codec::Pcmu, &pcmu);
    assert_eq!(pcma, encode(Codec::Pcma, 20, &decoded));
}

#[test]
fn g722_to_and_from_g711_is_the_narrowband_codec_without_a_resampler() {
    use tandem_dsp::g722::{NarrowbandDecoder, NarrowbandEncoder};
    let pcm = tone(Rate::Hz8000, 1000.0, 6000.0, 8000);
    let pcmu = encode(Codec::Pcmu, 20, &pcm);
    let g722 = transcode(Codec::Pcmu, Codec::G722, 20, &pcmu);
    // What the narrowband encoder makes of the decoded PCMU, packet by
    // packet: 160 samples, 160 octets, higher band uncoded.
    let decoded = decode(Codec::Pcmu, &pcmu);
    let mut enc = NarrowbandEncoder::new();
    let mut want = vec![0u8; decoded.len()];
    enc.encode(&decoded, &mut want);
    assert_eq!(g722.concat(), want);
    // And back: the lower band decoded to 8 kHz, then μ-law.
    let back = transcode(Codec::G722, Codec::Pcmu, 20, &g722);
    let mut dec = NarrowbandDecoder::new();
    let mut pcm_back = vec![0i16; want.len()];
    dec.decode(&want, &mut pcm_back);
    assert_eq!(back, encode(Codec::Pcmu, 20, &pcm_back));
    // Through L16 at 16 kHz G.722 stays wideband (decoded whole).
    let wide = Decoder::with_rate(Codec::G722, Rate::Hz16000).unwrap();
    assert_eq!(wide.rate(), Rate::Hz16000);
    assert!(Decoder::with_rate(Codec::Pcmu, Rate::Hz16000).is_err());
    assert!(Encoder::with_rate(Codec::Pcma, 20, Rate::Hz48000).is_err());
}

#[test]
fn transcoder_takes_frames_too() {
    let mut t = Transcoder::new(Codec::Pcmu, Codec::G722, 20).unwrap();
    let mut buf = [0u8; 512];
    t.push_frame(&AudioFrame::silence(Rate::Hz8000)).unwrap();
    assert_eq!(t.poll_payload(&mut buf), Ok(Some(160)));
    // A frame at the wrong rate is refused.
    assert!(t.push_frame(&AudioFrame::silence(Rate::Hz16000)).is_err());
}
