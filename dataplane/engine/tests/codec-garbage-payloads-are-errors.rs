//! Payload lengths come from the peer: odd, empty, oversized or
//! off-grid lengths are errors, and nothing any input does panics.

use tandem_dataplane::codec::{Codec, CodecError, Decoder, Encoder, Transcoder};
use tandem_dataplane::frame::AudioFrame;
use tandem_dsp::resample::Rate;

const CODECS: [Codec; 6] = [
    Codec::Pcmu,
    Codec::Pcma,
    Codec::G722,
    Codec::L16 { rate: Rate::Hz8000 },
    Codec::L16 {
        rate: Rate::Hz16000,
    },
    Codec::L16 {
        rate: Rate::Hz48000,
    },
];

#[test]
fn bad_lengths_are_refused() {
    for codec in CODECS {
        let mut d = Decoder::new(codec).unwrap();
        let ten = codec.payload_bytes(10).unwrap();
        for len in [0, 1, ten - 1, ten + 1, ten * 7, 3 * ten / 2, 100_000] {
            let r = d.push_payload(&vec![0x42; len]);
            assert_eq!(
                r,
                Err(CodecError::BadPayloadLength { len }),
                "{codec}: {len} octets"
            );
            assert!(r.unwrap_err().is_peer_error());
        }
        assert_eq!(
            d.pending_samples(),
            0,
            "{codec}: a refused payload leaves no trace"
        );
        for ms in [10, 20, 30, 40, 50, 60] {
            assert!(
                d.push_payload(&vec![0; codec.payload_bytes(ms).unwrap()])
                    .is_ok()
            );
            while d.pop_frame().is_some() {}
        }
    }
}

#[test]
fn misuse_is_reported_not_panicked() {
    assert_eq!(
        Encoder::new(Codec::Pcmu, 25).unwrap_err(),
        CodecError::BadPtime(25)
    );
    assert_eq!(
        Encoder::new(Codec::Opus, 30).unwrap_err(),
        CodecError::BadPtime(30)
    );
    let mut e = Encoder::new(Codec::G722, 20).unwrap();
    assert_eq!(
        e.push_frame(&AudioFrame::silence(Rate::Hz8000)),
        Err(CodecError::RateMismatch)
    );
    e.push_frame(&AudioFrame::silence(Rate::Hz16000)).unwrap();
    let mut small = [0u8; 10];
    assert_eq!(
        e.poll_payload(&mut small),
        Err(CodecError::BufferTooSmall { needed: 160 })
    );
    // Not draining eventually overflows, with an error.
    let mut d = Decoder::new(Codec::Pcmu).unwrap();
    let mut overflowed = false;
    for _ in 0..20 {
        overflowed |= d.push_payload(&[0; 480]) == Err(CodecError::Overflow);
    }
    assert!(overflowed);
}

#[cfg(not(feature = "opus"))]
#[test]
fn opus_without_the_feature_is_unsupported() {
    assert_eq!(
        Decoder::new(Codec::Opus).unwrap_err(),
        CodecError::Unsupported(Codec::Opus)
    );
    assert!(Transcoder::new(Codec::Pcmu, Codec::Opus, 20).is_err());
}

#[test]
fn random_bytes_through_every_transcoder() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut payload = vec![0u8; 6000];
    let mut out = [0u8; 6000];
    for from in CODECS {
        for to in CODECS {
            for ptime in [10, 30, 60] {
                let mut t = Transcoder::new(from, to, ptime).unwrap();
                for _ in 0..40 {
                    let r = rnd();
                    let len = if r % 3 == 0 {
                        (r >> 8) as usize % payload.len()
                    } else {
                        from.payload_bytes(10 * (1 + (r >> 8) % 6) as u32).unwrap()
                    };
                    for b in payload[..len].iter_mut() {
                        *b = rnd() as u8;
                    }
                    match t.push_payload(&payload[..len]) {
                        Ok(()) => {}
                        Err(e) => assert!(e.is_peer_error(), "{from}→{to}: {e}"),
                    }
                    while let Some(n) = t.poll_payload(&mut out).unwrap() {
                        assert_eq!(Some(n), to.payload_bytes(ptime));
                    }
                }
            }
        }
    }
}
