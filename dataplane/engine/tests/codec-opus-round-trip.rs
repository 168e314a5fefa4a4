//! Opus (feature `opus`): payload durations, a tone through encode and
//! decode at several ptimes, PCMU ↔ Opus transcoding, and corrupt packets.
#![cfg(feature = "opus")]

use tandem_dataplane::codec::{Codec, CodecError, Decoder, Encoder, Transcoder};
use tandem_dataplane::frame::AudioFrame;
use tandem_dsp::resample::Rate;

fn tone_frames(rate: Rate, hz: f64, amp: f64, frames: usize) -> Vec<AudioFrame> {
    let len = tandem_dataplane::frame::frame_len(rate);
    (0..frames)
        .map(|f| {
            let s: Vec<i16> = (0..len)
                .map(|i| {
                    let t = (f * len + i) as f64 / f64::from(rate.hz());
                    (amp * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
                })
                .collect();
            AudioFrame::from_samples(rate, &s)
        })
        .collect()
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn opus_tone_round_trip_at_several_ptimes() {
    for ptime in [10, 20, 40, 60] {
        let mut enc = Encoder::new(Codec::Opus, ptime).unwrap();
        let mut dec = Decoder::new(Codec::Opus).unwrap();
        let mut buf = vec![0u8; enc.max_payload_len()];
        let mut out = Vec::new();
        for f in tone_frames(Rate::Hz48000, 440.0, 8000.0, 100) {
            enc.push_frame(&f).unwrap();
            while let Some(n) = enc.poll_payload(&mut buf).unwrap() {
                assert_eq!(
                    Codec::Opus.payload_ticks(&buf[..n]),
                    Ok(48 * ptime),
                    "ptime {ptime}"
                );
                dec.push_payload(&buf[..n]).unwrap();
                while let Some(f) = dec.pop_frame() {
                    out.extend_from_slice(f.samples());
                }
            }
        }
        // Whole packets only: 60 ms packets carry 99 of the 100 frames.
        let frames = 2000 / ptime as usize * ptime as usize / 20;
        assert_eq!(out.len(), frames * 960);
        // After the codec's start-up, the level is within 1.5 dB.
        let db = 20.0 * (rms(&out[48_000..]) / (8000.0 / 2f64.sqrt())).log10();
        eprintln!("opus ptime {ptime}: level {db:+.2} dB");
        assert!(db.abs() < 1.5, "ptime {ptime}: {db:+.2} dB");
    }
}

#[test]
fn pcmu_to_opus_and_back() {
    let mut to_opus = Transcoder::new(Codec::Pcmu, Codec::Opus, 20).unwrap();
    let mut to_pcmu = Transcoder::new(Codec::Opus, Codec::Pcmu, 20).unwrap();
    let mut enc = Encoder::new(Codec::Pcmu, 20).unwrap();
    let mut dec = Decoder::new(Codec::Pcmu).unwrap();
    let (mut a, mut b, mut c) = ([0u8; 160], [0u8; 4000], [0u8; 160]);
    let mut out = Vec::new();
    for f in tone_frames(Rate::Hz8000, 800.0, 8000.0, 100) {
        enc.push_frame(&f).unwrap();
        let n = enc.poll_payload(&mut a).unwrap().unwrap();
        to_opus.push_payload(&a[..n]).unwrap();
        while let Some(n) = to_opus.poll_payload(&mut b).unwrap() {
            to_pcmu.push_payload(&b[..n]).unwrap();
            while let Some(n) = to_pcmu.poll_payload(&mut c).unwrap() {
                dec.push_payload(&c[..n]).unwrap();
                while let Some(f) = dec.pop_frame() {
                    out.extend_from_slice(f.samples());
                }
            }
        }
    }
    let db = 20.0 * (rms(&out[8000..]) / (8000.0 / 2f64.sqrt())).log10();
    eprintln!("PCMU→Opus→PCMU: level {db:+.2} dB");
    assert!(db.abs() < 1.5, "{db:+.2} dB");
}

#[test]
fn corrupt_opus_is_an_error() {
    let mut dec = Decoder::new(Codec::Opus).unwrap();
    // TOC for a 20 ms CELT frame, code 3 (arbitrary count) with a count
    // byte claiming 48 frames: 960 ms, too long.
    assert!(dec.push_payload(&[0xfb, 0x30, 0, 0]).is_err());
    assert!(dec.push_payload(&[]).is_err());
    let mut seed = 7u32;
    for len in 1..400 {
        let p: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        match dec.push_payload(&p) {
            Ok(()) => while dec.pop_frame().is_some() {},
            Err(e) => assert!(e.is_peer_error(), "{len}: {e:?} should blame the peer"),
        }
    }
    assert_eq!(
        Encoder::new(Codec::Opus, 30).unwrap_err(),
        CodecError::BadPtime(30)
    );
}

#[test]
fn opus_through_the_jitter_buffer() {
    use std::time::{Duration, Instant};
    use tandem_dataplane::jitter::{JitterBuffer, JitterConfig};
    use tandem_wire::Ssrc;

    let mut enc = Encoder::new(Codec::Opus, 20).unwrap();
    let mut buf = vec![0u8; enc.max_payload_len()];
    let mut packets = Vec::new();
    for f in tone_frames(Rate::Hz48000, 440.0, 8000.0, 100) {
        enc.push_frame(&f).unwrap();
        while let Some(n) = enc.poll_payload(&mut buf).unwrap() {
            packets.push(buf[..n].to_vec());
        }
    }
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(Codec::Opus, JitterConfig::default()).unwrap();
    let mut audio = Vec::new();
    for k in 0..110usize {
        let now = t0 + Duration::from_millis(20 * k as u64 + 3);
        // Pairs swapped, and packet 60 lost.
        let i = k ^ 1;
        if i < packets.len() && i != 60 {
            jb.push(now, i as u16, 960 * i as u32, Ssrc(5), &packets[i])
                .unwrap();
        }
        if let Some(p) = jb.pop(now) {
            audio.extend_from_slice(p.frame().samples());
        }
    }
    let c = jb.counters();
    assert_eq!((c.lost, c.late, c.decode_errors), (1, 0, 0), "{c:?}");
    let db = 20.0 * (rms(&audio[48_000..90_000]) / (8000.0 / 2f64.sqrt())).log10();
    assert!(db.abs() < 1.5, "{db:+.2} dB");
}
