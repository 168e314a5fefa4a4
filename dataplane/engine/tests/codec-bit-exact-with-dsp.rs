//! The engine's codec layer adds nothing to the DSP kernels: decoding and
//! encoding through `codec` at any ptime gives exactly what `tandem_dsp`
//! gives used directly on the whole stream.

use tandem_dataplane::codec::{Codec, Decoder, Encoder};
use tandem_dataplane::frame::{AudioFrame, frame_len};
use tandem_dsp::resample::Rate;
use tandem_dsp::{g711, g722};

/// A deterministic, speech-like test signal (two tones and noise).
fn signal(rate: Rate, n: usize) -> Vec<i16> {
    let mut seed = 0x2545_f491u32;
    (0..n)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let t = i as f64 / f64::from(rate.hz());
            let noise = f64::from((seed >> 20) as i32 - 2048);
            (7000.0 * (2.0 * std::f64::consts::PI * 310.0 * t).sin()
                + 4000.0 * (2.0 * std::f64::consts::PI * 2870.0 * t).sin()
                + noise) as i16
        })
        .collect()
}

fn frames(rate: Rate, pcm: &[i16]) -> Vec<AudioFrame> {
    pcm.chunks_exact(frame_len(rate))
        .map(|c| AudioFrame::from_samples(rate, c))
        .collect()
}

fn encode_all(codec: Codec, ptime: u32, frames: &[AudioFrame]) -> Vec<Vec<u8>> {
    let mut enc = Encoder::new(codec, ptime).unwrap();
    let mut buf = vec![0u8; enc.max_payload_len()];
    let mut out = Vec::new();
    for f in frames {
        enc.push_frame(f).unwrap();
        while let Some(n) = enc.poll_payload(&mut buf).unwrap() {
            assert_eq!(Some(n), codec.payload_bytes(ptime));
            out.push(buf[..n].to_vec());
        }
    }
    out
}

fn decode_all(codec: Codec, payloads: &[Vec<u8>]) -> Vec<i16> {
    let mut dec = Decoder::new(codec).unwrap();
    let mut out = Vec::new();
    for p in payloads {
        dec.push_payload(p).unwrap();
        while let Some(f) = dec.pop_frame() {
            out.extend_from_slice(f.samples());
        }
    }
    assert_eq!(dec.pending_samples(), 0);
    out
}

/// 600 ms: a whole number of packets at every ptime.
const MS: usize = 600;

#[test]
fn g711_matches_dsp_at_every_ptime() {
    let pcm = signal(Rate::Hz8000, 8 * MS);
    let mut ulaw = vec![0u8; pcm.len()];
    let mut alaw = vec![0u8; pcm.len()];
    g711::encode_ulaw(&pcm, &mut ulaw);
    g711::encode_alaw(&pcm, &mut alaw);
    let mut ulaw_dec = vec![0i16; pcm.len()];
    let mut alaw_dec = vec![0i16; pcm.len()];
    g711::decode_ulaw(&ulaw, &mut ulaw_dec);
    g711::decode_alaw(&alaw, &mut alaw_dec);
    for ptime in [10, 20, 30, 40, 60] {
        let f = frames(Rate::Hz8000, &pcm);
        let u = encode_all(Codec::Pcmu, ptime, &f);
        let a = encode_all(Codec::Pcma, ptime, &f);
        assert_eq!(u.concat(), ulaw, "PCMU encode, ptime {ptime}");
        assert_eq!(a.concat(), alaw, "PCMA encode, ptime {ptime}");
        assert_eq!(
            decode_all(Codec::Pcmu, &u),
            ulaw_dec,
            "PCMU decode, ptime {ptime}"
        );
        assert_eq!(
            decode_all(Codec::Pcma, &a),
            alaw_dec,
            "PCMA decode, ptime {ptime}"
        );
    }
}

#[test]
fn g722_matches_dsp_at_every_ptime() {
    let pcm = signal(Rate::Hz16000, 16 * MS);
    let mut enc = g722::Encoder::new();
    let mut code = vec![0u8; pcm.len() / 2];
    enc.encode(&pcm, &mut code);
    let mut dec = g722::Decoder::new();
    let mut decoded = vec![0i16; pcm.len()];
    dec.decode(&code, &mut decoded);
    for ptime in [10, 20, 30, 40, 60] {
        let p = encode_all(Codec::G722, ptime, &frames(Rate::Hz16000, &pcm));
        assert_eq!(p[0].len(), 8 * ptime as usize, "G.722: 8 octets per ms");
        assert_eq!(p.concat(), code, "G.722 encode, ptime {ptime}");
        assert_eq!(
            decode_all(Codec::G722, &p),
            decoded,
            "G.722 decode, ptime {ptime}"
        );
    }
}

#[test]
fn l16_round_trips_big_endian() {
    for rate in [Rate::Hz8000, Rate::Hz16000, Rate::Hz48000] {
        let codec = Codec::L16 { rate };
        let pcm = signal(rate, rate.hz() as usize * MS / 1000);
        for ptime in [10, 20, 60] {
            let p = encode_all(codec, ptime, &frames(rate, &pcm));
            assert_eq!(p[0][..2], pcm[0].to_be_bytes());
            assert_eq!(decode_all(codec, &p), pcm);
        }
    }
}

#[test]
fn decode_into_is_the_raw_form() {
    let mut d = Decoder::new(Codec::G722).unwrap();
    let mut out = [0i16; 960];
    // 30 ms of G.722: 240 octets, 480 samples.
    assert_eq!(d.decode_into(&[0x5a; 240], &mut out), Ok(480));
    // Too small an output buffer is an error, not a panic.
    assert!(d.decode_into(&[0x5a; 240], &mut out[..100]).is_err());
}
