//! Audio codecs of a media chain: payload ↔ 20 ms [`AudioFrame`]s, and
//! streaming transcoding between any two of them.
//!
//! # Codecs (RFC 3551 §4.5, RFC 7587)
//!
//! | [`Codec`] | rtpmap | static PT | RTP clock | sampling | 20 ms payload |
//! |---|---|---|---|---|---|
//! | `Pcmu` | `PCMU/8000` | 0 | 8000 | 8 kHz | 160 octets |
//! | `Pcma` | `PCMA/8000` | 8 | 8000 | 8 kHz | 160 octets |
//! | `G722` | `G722/8000` | 9 | 8000 | 16 kHz | 160 octets |
//! | `L16 { rate }` | `L16/8000`, `/16000`, `/48000` | dynamic | = rate | = rate | 2 octets per sample, big-endian |
//! | `Opus` | `opus/48000/2` | dynamic | 48000 | 48 kHz (decoded mono) | variable |
//!
//! G.722's RTP clock runs at 8000 Hz although it samples at 16 kHz, an
//! error in the original RFC 1890 kept for compatibility (RFC 3551
//! §4.5.2): one clock tick is one octet, which is two samples. L16 is
//! big-endian (network order) per RFC 3551 §4.5.11. RFC 4733
//! telephone-event is not audio: [`PayloadFormat::from_rtpmap`] keeps it
//! apart as [`PayloadFormat::TelephoneEvent`].
//!
//! Opus needs the `opus` cargo feature (the `opus` 0.4 crate); without it
//! [`Codec::Opus`] still names the format (so SDP negotiation can see it)
//! but creating a decoder or encoder for it fails with
//! [`CodecError::Unsupported`]. Build note: `opus` 0.4 depends on
//! `opusic-sys` 0.7 with its default `bundled` feature, which compiles the
//! libopus sources it vendors with **CMake** (and a C compiler); it does
//! not link Debian's `libopus-dev`, and a dependent crate cannot turn that
//! default off. So `--features opus` needs `cmake` installed; checked with
//! Debian 12's cmake, where it builds and `tests/codec-opus-round-trip.rs`
//! passes (a 440 Hz tone at 10–60 ms ptime and PCMU → Opus → PCMU keep
//! their level within 0.05 dB).
//!
//! # Design
//!
//! * [`Decoder`] and [`Encoder`] are enums over the codecs' states (no trait
//!   objects). The G.711 and L16 paths are stateless; G.722 carries its
//!   ADPCM state, Opus its libopus state.
//! * A [`Decoder`] accepts a payload of any ptime from 10 to 60 ms in
//!   multiples of 10 ms ([`Decoder::push_payload`]) and hands out 20 ms
//!   frames ([`Decoder::pop_frame`]) through a fixed re-framing buffer. A
//!   10 ms packet yields a frame every second packet, a 30 ms one
//!   yields one or two. [`Decoder::decode_into`] is the raw form (one
//!   payload to samples) that the jitter buffer uses.
//! * An [`Encoder`] takes 20 ms frames ([`Encoder::push_frame`]) and
//!   yields payloads of the configured ptime ([`Encoder::poll_payload`]):
//!   two per frame at 10 ms, one every three frames at 60 ms.
//! * A [`Transcoder`] chains decoder → [`Resampler`] (only when the
//!   sampling rates differ) → encoder.
//!
//! Every buffer is a fixed array inside the value; nothing allocates after
//! construction (a [`Resampler`] allocates its history once, in `new`;
//! libopus allocates its state once). Payload lengths come from the peer
//! and are checked: a length that is not a whole number of samples, is
//! empty, or is not a 10–60 ms multiple of 10 ms is
//! [`CodecError::BadPayloadLength`], never a panic.
//!
//! # Errors and counters
//!
//! This module keeps no counters: every failure is a [`CodecError`] that
//! says who is to blame ([`CodecError::is_peer_error`]), and the caller
//! counts it against the leg (the jitter buffer counts `malformed` and
//! `decode_errors`).
//!
//! ```
//! use tandem_dataplane::codec::{Codec, Transcoder};
//!
//! // PCMU at 20 ms in, G.722 at 30 ms out.
//! let mut t = Transcoder::new(Codec::Pcmu, Codec::G722, 30)?;
//! let mut out = [0u8; 512];
//! let mut sent = 0;
//! for _ in 0..3 {
//!     t.push_payload(&[0xff; 160])?;
//!     while let Some(n) = t.poll_payload(&mut out)? {
//!         assert_eq!(n, 240);
//!         sent += 1;
//!     }
//! }
//! assert_eq!(sent, 2);
//! # Ok::<(), tandem_dataplane::codec::CodecError>(())
//! ```
#![warn(missing_docs)]

use core::fmt;

use tandem_dsp::g711;
use tandem_dsp::g722;
use tandem_dsp::resample::{Rate, Resampler};

use crate::frame::{AudioFrame, FRAME_MS, MAX_FRAME_SAMPLES, frame_len};

/// The longest packet duration accepted, in milliseconds.
pub const MAX_PTIME_MS: u32 = 60;

/// Packet durations (ptime, RFC 4566 §6) an [`Encoder`] can produce.
pub const PTIMES_MS: [u32; 5] = [10, 20, 30, 40, 60];

/// Samples in the longest packet at the highest rate (60 ms at 48 kHz).
pub const MAX_PACKET_SAMPLES: usize = (MAX_PTIME_MS as usize) * 48;

/// The largest payload an [`Encoder`] produces or a [`Decoder`] accepts
/// for a fixed-rate codec: 60 ms of L16 at 48 kHz.
pub const MAX_PAYLOAD_BYTES: usize = 2 * MAX_PACKET_SAMPLES;

/// Room of the re-framing buffers, in ms: a [`Transcoder`]'s encoder may
/// hold almost one outgoing packet when a whole incoming packet's frames
/// arrive, plus a partial frame. Sized per sampling rate at construction
/// (2.2 KB at 8 kHz, 13 KB at 48 kHz).
const REFRAME_MS: usize = 2 * MAX_PTIME_MS as usize + FRAME_MS;

/// An audio codec of the media path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 μ-law (PT 0).
    Pcmu,
    /// G.711 A-law (PT 8).
    Pcma,
    /// G.722 at 64 kbit/s (PT 9): 16 kHz audio on an 8 kHz RTP clock.
    G722,
    /// Linear 16-bit big-endian PCM, mono, at `rate` (dynamic PT).
    L16 {
        /// Sampling rate, equal to the RTP clock rate.
        rate: Rate,
    },
    /// Opus (RFC 7587, dynamic PT), decoded and encoded as 48 kHz mono.
    Opus,
}

impl Codec {
    /// The codec of an SDP `a=rtpmap` encoding name and clock rate
    /// (names compare case-insensitively, RFC 4855 §3). `None` for
    /// anything that is not one of ours, including telephone-event (see
    /// [`PayloadFormat`]).
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<Codec> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        match clock_rate {
            8000 if is("PCMU") => Some(Codec::Pcmu),
            8000 if is("PCMA") => Some(Codec::Pcma),
            8000 if is("G722") => Some(Codec::G722),
            48000 if is("opus") => Some(Codec::Opus),
            hz if is("L16") => Rate::from_hz(hz).map(|rate| Codec::L16 { rate }),
            _ => None,
        }
    }

    /// The codec of a static payload type (RFC 3551 Table 4), if it is one
    /// of ours.
    pub fn from_static_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            9 => Some(Codec::G722),
            _ => None,
        }
    }

    /// The static payload type, or `None` for codecs that need a dynamic
    /// one (L16 at our rates, Opus).
    pub const fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            Codec::L16 { .. } | Codec::Opus => None,
        }
    }

    /// The encoding name for `a=rtpmap`.
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::L16 { .. } => "L16",
            Codec::Opus => "opus",
        }
    }

    /// The RTP timestamp clock rate in Hz (8000 for G.722, RFC 3551
    /// §4.5.2).
    pub const fn clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8000,
            Codec::L16 { rate } => match rate {
                Rate::Hz8000 => 8000,
                Rate::Hz16000 => 16000,
                Rate::Hz48000 => 48000,
            },
            Codec::Opus => 48000,
        }
    }

    /// The rate of the decoded samples (16 kHz for G.722).
    pub const fn sample_rate(self) -> Rate {
        match self {
            Codec::Pcmu | Codec::Pcma => Rate::Hz8000,
            Codec::G722 => Rate::Hz16000,
            Codec::L16 { rate } => rate,
            Codec::Opus => Rate::Hz48000,
        }
    }

    /// Decoded samples per RTP clock tick (2 for G.722, else 1).
    pub const fn samples_per_tick(self) -> usize {
        match self {
            Codec::G722 => 2,
            _ => 1,
        }
    }

    /// RTP timestamp increment of `ms` milliseconds of audio.
    pub const fn ticks_for_ms(self, ms: u32) -> u32 {
        self.clock_rate() / 1000 * ms
    }

    /// Payload octets of one 20 ms frame, or `None` for a variable-rate
    /// codec (Opus).
    pub const fn frame_bytes(self) -> Option<usize> {
        self.payload_bytes(FRAME_MS as u32)
    }

    /// Payload octets of a packet of `ptime_ms`, or `None` for a
    /// variable-rate codec (Opus).
    pub const fn payload_bytes(self, ptime_ms: u32) -> Option<usize> {
        let ticks = self.ticks_for_ms(ptime_ms) as usize;
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => Some(ticks),
            Codec::L16 { .. } => Some(2 * ticks),
            Codec::Opus => None,
        }
    }

    /// The duration of `payload` in RTP clock ticks, after checking that it
    /// is a whole number of samples lasting 10–60 ms in steps of 10 ms
    /// (any Opus packet of at most 60 ms, with the `opus` feature).
    pub fn payload_ticks(self, payload: &[u8]) -> Result<u32, CodecError> {
        let bad = CodecError::BadPayloadLength { len: payload.len() };
        let ticks = match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => payload.len(),
            Codec::L16 { .. } if payload.len() % 2 == 0 => payload.len() / 2,
            Codec::L16 { .. } => return Err(bad),
            Codec::Opus => return opus_ticks(payload),
        };
        let ten_ms = self.ticks_for_ms(10) as usize;
        if ticks == 0 || ticks % ten_ms != 0 || ticks > self.ticks_for_ms(MAX_PTIME_MS) as usize {
            return Err(bad);
        }
        Ok(ticks as u32)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.encoding_name(), self.clock_rate())
    }
}

#[cfg(feature = "opus")]
fn opus_ticks(payload: &[u8]) -> Result<u32, CodecError> {
    match opus::packet::get_nb_samples(payload, 48000) {
        Ok(n) if n > 0 && n <= MAX_PACKET_SAMPLES => Ok(n as u32),
        Ok(_) => Err(CodecError::BadPayloadLength { len: payload.len() }),
        Err(_) => Err(CodecError::CorruptPayload),
    }
}

#[cfg(not(feature = "opus"))]
fn opus_ticks(_payload: &[u8]) -> Result<u32, CodecError> {
    Err(CodecError::Unsupported(Codec::Opus))
}

/// What an `a=rtpmap` line can name on an audio leg: a codec, or the RFC
/// 4733 telephone-event format, which carries DTMF beside the audio and
/// goes to the DTMF relay rather than a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// An audio codec.
    Audio(Codec),
    /// `telephone-event/<clock_rate>` (RFC 4733 §7.1.1).
    TelephoneEvent {
        /// RTP clock rate, which follows the audio codec's.
        clock_rate: u32,
    },
}

impl PayloadFormat {
    /// Classifies an rtpmap encoding name and clock rate.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<PayloadFormat> {
        if name.eq_ignore_ascii_case("telephone-event") {
            return Some(PayloadFormat::TelephoneEvent { clock_rate });
        }
        Codec::from_rtpmap(name, clock_rate).map(PayloadFormat::Audio)
    }
}

/// Why a codec operation failed, by blame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// Peer: the payload length is not a whole number of samples, is
    /// empty, or is not 10–60 ms in steps of 10 ms.
    BadPayloadLength {
        /// The offending length in octets.
        len: usize,
    },
    /// Peer: the decoder rejected the payload (Opus only).
    CorruptPayload,
    /// Configuration: the codec is not built in (Opus without the `opus`
    /// feature) or cannot do what was asked.
    Unsupported(Codec),
    /// API misuse: a ptime other than 10, 20, 30, 40 or 60 ms (30 ms is
    /// not an Opus frame size either).
    BadPtime(u32),
    /// API misuse: a frame at another rate than the encoder's.
    RateMismatch,
    /// API misuse: the output buffer holds fewer octets or samples than
    /// needed.
    BufferTooSmall {
        /// Length that would have been enough.
        needed: usize,
    },
    /// API misuse: the re-framing buffer is full because frames or payloads
    /// were not drained (`pop_frame` / `poll_payload`) between pushes.
    Overflow,
    /// The codec library failed in a way the input does not explain.
    Internal,
}

impl CodecError {
    /// Whether the peer's input is to blame (count it and carry on), as
    /// opposed to our configuration or code.
    pub const fn is_peer_error(&self) -> bool {
        matches!(
            self,
            CodecError::BadPayloadLength { .. } | CodecError::CorruptPayload
        )
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::BadPayloadLength { len } => {
                write!(
                    f,
                    "payload of {len} octets is not 10-60 ms of whole samples"
                )
            }
            CodecError::CorruptPayload => f.write_str("payload rejected by the decoder"),
            CodecError::Unsupported(c) => write!(f, "codec {c} is not supported by this build"),
            CodecError::BadPtime(p) => write!(f, "unsupported ptime {p} ms"),
            CodecError::RateMismatch => f.write_str("frame rate differs from the codec's"),
            CodecError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small ({needed} needed)")
            }
            CodecError::Overflow => f.write_str("re-framing buffer full: drain it between pushes"),
            CodecError::Internal => f.write_str("codec library failure"),
        }
    }
}

impl std::error::Error for CodecError {}

/// A run of samples with a fixed capacity, consumed from the front.
#[derive(Clone)]
struct Reframer {
    buf: Box<[i16]>,
    start: usize,
    len: usize,
}

impl Reframer {
    /// Allocates (once) for `rate`.
    fn new(rate: Rate) -> Self {
        Self {
            buf: vec![0; REFRAME_MS * rate.hz() as usize / 1000].into_boxed_slice(),
            start: 0,
            len: 0,
        }
    }

    /// Room for `n` more samples at the end, moving the content to the
    /// front first if needed; `None` if they do not fit.
    fn reserve(&mut self, n: usize) -> Option<&mut [i16]> {
        let cap = self.buf.len();
        if self.len + n > cap {
            return None;
        }
        if self.start + self.len + n > cap {
            self.buf.copy_within(self.start..self.start + self.len, 0);
            self.start = 0;
        }
        let end = self.start + self.len;
        Some(&mut self.buf[end..end + n])
    }

    fn commit(&mut self, n: usize) {
        self.len += n;
    }

    /// The first `n` samples, consumed, if there are that many.
    fn take(&mut self, n: usize) -> Option<&[i16]> {
        if self.len < n {
            return None;
        }
        let s = self.start;
        self.start += n;
        self.len -= n;
        if self.len == 0 {
            self.start = 0;
        }
        Some(&self.buf[s..s + n])
    }

    fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
    }
}

enum DecoderState {
    Pcmu,
    Pcma,
    G722(Box<g722::Decoder>),
    /// G.722 to 8 kHz: the lower band alone ([`Decoder::with_rate`]).
    G722Narrow(g722::NarrowbandDecoder),
    L16,
    #[cfg(feature = "opus")]
    Opus(Box<opus::Decoder>),
}

/// A payload decoder with a re-framing buffer to 20 ms [`AudioFrame`]s.
pub struct Decoder {
    codec: Codec,
    /// The rate of the decoded samples.
    rate: Rate,
    state: DecoderState,
    pending: Reframer,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("codec", &self.codec)
            .field("pending_samples", &self.pending.len)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for `codec` in its initial state. Allocates its buffers
    /// (once).
    pub fn new(codec: Codec) -> Result<Self, CodecError> {
        let state = match codec {
            Codec::Pcmu => DecoderState::Pcmu,
            Codec::Pcma => DecoderState::Pcma,
            Codec::G722 => DecoderState::G722(Box::new(g722::Decoder::new())),
            Codec::L16 { .. } => DecoderState::L16,
            #[cfg(feature = "opus")]
            Codec::Opus => DecoderState::Opus(Box::new(
                opus::Decoder::new(48000, opus::Channels::Mono)
                    .map_err(|_| CodecError::Internal)?,
            )),
            #[cfg(not(feature = "opus"))]
            Codec::Opus => return Err(CodecError::Unsupported(codec)),
        };
        Ok(Self {
            codec,
            rate: codec.sample_rate(),
            state,
            pending: Reframer::new(codec.sample_rate()),
        })
    }

    /// A decoder for `codec` whose samples come out at `rate`: the codec's
    /// own [`sample_rate`](Codec::sample_rate), or 8 kHz from G.722 (the
    /// lower band alone, [`g722::NarrowbandDecoder`]: what an 8 kHz
    /// destination keeps of the audio, without decoding the higher band
    /// and resampling). Any other rate is [`CodecError::RateMismatch`].
    pub fn with_rate(codec: Codec, rate: Rate) -> Result<Self, CodecError> {
        match (codec, rate) {
            (c, r) if c.sample_rate() == r => Self::new(c),
            (Codec::G722, Rate::Hz8000) => Ok(Self {
                codec,
                rate,
                state: DecoderState::G722Narrow(g722::NarrowbandDecoder::new()),
                pending: Reframer::new(rate),
            }),
            _ => Err(CodecError::RateMismatch),
        }
    }

    /// The codec decoded.
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The rate of the decoded samples.
    pub const fn rate(&self) -> Rate {
        self.rate
    }

    /// Returns to the initial state and drops buffered samples.
    pub fn reset(&mut self) {
        self.pending.clear();
        match &mut self.state {
            DecoderState::G722(d) => d.reset(),
            DecoderState::G722Narrow(d) => d.reset(),
            #[cfg(feature = "opus")]
            DecoderState::Opus(d) => {
                let _ = d.reset_state();
            }
            _ => {}
        }
    }

    /// Decodes one payload into `out` (samples at the decoder's
    /// [`rate`](Self::rate)) and returns how many were written, without
    /// re-framing. `out` needs room for the payload's duration
    /// ([`MAX_PACKET_SAMPLES`] always suffices).
    pub fn decode_into(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        decode_raw(self.codec, &mut self.state, payload, out)
    }

    /// Decodes one payload into the re-framing buffer. Drain it with
    /// [`pop_frame`](Self::pop_frame) after every push; a push that would
    /// not fit fails with [`CodecError::Overflow`] and changes nothing.
    pub fn push_payload(&mut self, payload: &[u8]) -> Result<(), CodecError> {
        let ticks = self.codec.payload_ticks(payload)? as usize;
        let n = ticks * samples_per_tick(self.rate, self.codec);
        // Decode straight into the buffer's free space.
        let room = self.pending.reserve(n).ok_or(CodecError::Overflow)?;
        let written = decode_raw(self.codec, &mut self.state, payload, room)?;
        self.pending.commit(written);
        Ok(())
    }

    /// The next 20 ms frame, once enough samples are buffered.
    pub fn pop_frame(&mut self) -> Option<AudioFrame> {
        let rate = self.rate;
        let samples = self.pending.take(frame_len(rate))?;
        Some(AudioFrame::from_samples(rate, samples))
    }

    /// Samples buffered towards the next frame.
    pub fn pending_samples(&self) -> usize {
        self.pending.len
    }
}

/// Samples per RTP clock tick at `rate` for `codec`'s clock (2 for G.722
/// at 16 kHz, 1 for it at 8 kHz).
fn samples_per_tick(rate: Rate, codec: Codec) -> usize {
    (rate.hz() / codec.clock_rate()) as usize
}

fn decode_raw(
    codec: Codec,
    state: &mut DecoderState,
    payload: &[u8],
    out: &mut [i16],
) -> Result<usize, CodecError> {
    let ticks = codec.payload_ticks(payload)? as usize;
    let spt = match state {
        DecoderState::G722Narrow(_) => 1,
        _ => codec.samples_per_tick(),
    };
    let n = ticks * spt;
    let Some(out) = out.get_mut(..n) else {
        return Err(CodecError::BufferTooSmall { needed: n });
    };
    match state {
        DecoderState::Pcmu => g711::decode_ulaw(payload, out),
        DecoderState::Pcma => g711::decode_alaw(payload, out),
        DecoderState::G722(d) => {
            d.decode(payload, out);
        }
        DecoderState::G722Narrow(d) => {
            d.decode(payload, out);
        }
        DecoderState::L16 => {
            for (o, b) in out.iter_mut().zip(payload.chunks_exact(2)) {
                *o = i16::from_be_bytes([b[0], b[1]]);
            }
        }
        #[cfg(feature = "opus")]
        DecoderState::Opus(d) => {
            let got = d
                .decode(payload, out, false)
                .map_err(|_| CodecError::CorruptPayload)?;
            if got != n {
                return Err(CodecError::CorruptPayload);
            }
        }
    }
    Ok(n)
}

enum EncoderState {
    Pcmu,
    Pcma,
    G722(Box<g722::Encoder>),
    /// G.722 from 8 kHz: the lower band alone ([`Encoder::with_rate`]).
    G722Narrow(g722::NarrowbandEncoder),
    L16,
    #[cfg(feature = "opus")]
    Opus(Box<opus::Encoder>),
}

/// A 20 ms frame encoder producing payloads of a configured ptime.
pub struct Encoder {
    codec: Codec,
    /// The rate of the samples encoded.
    rate: Rate,
    ptime_ms: u32,
    state: EncoderState,
    pending: Reframer,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("codec", &self.codec)
            .field("ptime_ms", &self.ptime_ms)
            .field("pending_samples", &self.pending.len)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for `codec` producing `ptime_ms` packets (one of
    /// [`PTIMES_MS`]; Opus has no 30 ms frame). Allocates its buffers
    /// (once).
    pub fn new(codec: Codec, ptime_ms: u32) -> Result<Self, CodecError> {
        if !PTIMES_MS.contains(&ptime_ms) || (codec == Codec::Opus && ptime_ms == 30) {
            return Err(CodecError::BadPtime(ptime_ms));
        }
        let state = match codec {
            Codec::Pcmu => EncoderState::Pcmu,
            Codec::Pcma => EncoderState::Pcma,
            Codec::G722 => EncoderState::G722(Box::new(g722::Encoder::new())),
            Codec::L16 { .. } => EncoderState::L16,
            #[cfg(feature = "opus")]
            Codec::Opus => EncoderState::Opus(Box::new(
                opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip)
                    .map_err(|_| CodecError::Internal)?,
            )),
            #[cfg(not(feature = "opus"))]
            Codec::Opus => return Err(CodecError::Unsupported(codec)),
        };
        Ok(Self {
            codec,
            rate: codec.sample_rate(),
            ptime_ms,
            state,
            pending: Reframer::new(codec.sample_rate()),
        })
    }

    /// An encoder for `codec` fed with samples at `rate`: the codec's own
    /// [`sample_rate`](Codec::sample_rate), or 8 kHz into G.722 (coded as
    /// its lower band, [`g722::NarrowbandEncoder`]: narrowband audio has
    /// nothing for the higher band, and needs no resampling). Any other
    /// rate is [`CodecError::RateMismatch`].
    pub fn with_rate(codec: Codec, ptime_ms: u32, rate: Rate) -> Result<Self, CodecError> {
        match (codec, rate) {
            (c, r) if c.sample_rate() == r => Self::new(c, ptime_ms),
            (Codec::G722, Rate::Hz8000) => {
                let mut e = Self::new(codec, ptime_ms)?;
                e.rate = rate;
                e.state = EncoderState::G722Narrow(g722::NarrowbandEncoder::new());
                e.pending = Reframer::new(rate);
                Ok(e)
            }
            _ => Err(CodecError::RateMismatch),
        }
    }

    /// The rate of the samples encoded.
    pub const fn rate(&self) -> Rate {
        self.rate
    }

    /// The codec encoded.
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The packet duration produced.
    pub const fn ptime_ms(&self) -> u32 {
        self.ptime_ms
    }

    /// RTP timestamp increment between consecutive payloads.
    pub const fn ticks_per_payload(&self) -> u32 {
        self.codec.ticks_for_ms(self.ptime_ms)
    }

    /// The largest payload [`poll_payload`](Self::poll_payload) can write.
    pub const fn max_payload_len(&self) -> usize {
        match self.codec.payload_bytes(self.ptime_ms) {
            Some(n) => n,
            // RFC 6716 §3.4 R2: at most 1275 octets per frame.
            None => 1275 * (self.ptime_ms as usize).div_ceil(20),
        }
    }

    /// Returns to the initial state and drops buffered samples.
    pub fn reset(&mut self) {
        self.pending.clear();
        match &mut self.state {
            EncoderState::G722(e) => e.reset(),
            EncoderState::G722Narrow(e) => e.reset(),
            #[cfg(feature = "opus")]
            EncoderState::Opus(e) => {
                let _ = e.reset_state();
            }
            _ => {}
        }
    }

    /// Buffers one 20 ms frame at the encoder's [`rate`](Self::rate).
    /// Drain payloads with [`poll_payload`](Self::poll_payload) after every
    /// push.
    pub fn push_frame(&mut self, frame: &AudioFrame) -> Result<(), CodecError> {
        if frame.rate() != self.rate {
            return Err(CodecError::RateMismatch);
        }
        let s = frame.samples();
        let room = self.pending.reserve(s.len()).ok_or(CodecError::Overflow)?;
        room.copy_from_slice(s);
        self.pending.commit(s.len());
        Ok(())
    }

    /// Encodes the next payload into `out` once a whole ptime is buffered;
    /// returns its length, or `None` if more frames are needed.
    pub fn poll_payload(&mut self, out: &mut [u8]) -> Result<Option<usize>, CodecError> {
        let ticks = self.ticks_per_payload() as usize;
        let n = ticks * samples_per_tick(self.rate, self.codec);
        if self.pending.len < n {
            return Ok(None);
        }
        let needed = self.codec.payload_bytes(self.ptime_ms).unwrap_or(1);
        if out.len() < needed {
            return Err(CodecError::BufferTooSmall { needed });
        }
        let Some(pcm) = self.pending.take(n) else {
            return Ok(None);
        };
        let len = match &mut self.state {
            EncoderState::Pcmu => {
                g711::encode_ulaw(pcm, &mut out[..n]);
                n
            }
            EncoderState::Pcma => {
                g711::encode_alaw(pcm, &mut out[..n]);
                n
            }
            EncoderState::G722(e) => e.encode(pcm, &mut out[..ticks]),
            EncoderState::G722Narrow(e) => e.encode(pcm, &mut out[..ticks]),
            EncoderState::L16 => {
                for (o, &x) in out.chunks_exact_mut(2).zip(pcm) {
                    o.copy_from_slice(&x.to_be_bytes());
                }
                2 * n
            }
            #[cfg(feature = "opus")]
            EncoderState::Opus(e) => e.encode(pcm, out).map_err(|_| CodecError::Internal)?,
        };
        Ok(Some(len))
    }
}

/// Streaming decoder → resampler → encoder.
///
/// Between G.722 and an 8 kHz codec (G.711, 8 kHz L16) G.722 runs in its
/// narrowband mode: it is decoded to, or coded from, 8 kHz as its lower
/// band alone (spandsp's `G722_SAMPLE_RATE_8000`, as Asterisk translates),
/// so neither the higher band, the QMF nor a resampler is needed; the far
/// end of a G.711 call has nothing above 4 kHz to send or to hear.
/// Otherwise the resampler is built when the two codecs' sampling rates
/// differ; its group delay (3.625 ms for 8 ↔ 16 kHz) is the only delay
/// added besides re-framing.
pub struct Transcoder {
    decoder: Decoder,
    resampler: Option<Resampler>,
    encoder: Encoder,
}

impl fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcoder")
            .field("decoder", &self.decoder)
            .field("resampler", &self.resampler)
            .field("encoder", &self.encoder)
            .finish()
    }
}

impl Transcoder {
    /// A transcoder from `from` payloads (any ptime) to `to` payloads of
    /// `ptime_ms`.
    pub fn new(from: Codec, to: Codec, ptime_ms: u32) -> Result<Self, CodecError> {
        let narrow = |c: Codec| c.sample_rate() == Rate::Hz8000;
        let (decoder, encoder) = match (from, to) {
            (Codec::G722, to) if narrow(to) => (
                Decoder::with_rate(from, Rate::Hz8000)?,
                Encoder::new(to, ptime_ms)?,
            ),
            (from, Codec::G722) if narrow(from) => (
                Decoder::new(from)?,
                Encoder::with_rate(to, ptime_ms, Rate::Hz8000)?,
            ),
            _ => (Decoder::new(from)?, Encoder::new(to, ptime_ms)?),
        };
        let (a, b) = (decoder.rate(), encoder.rate());
        Ok(Self {
            decoder,
            resampler: (a != b).then(|| Resampler::new(a, b)),
            encoder,
        })
    }

    /// The decoding half.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The encoding half.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Decodes one incoming payload and feeds every complete frame on.
    /// Drain with [`poll_payload`](Self::poll_payload) after every push.
    pub fn push_payload(&mut self, payload: &[u8]) -> Result<(), CodecError> {
        self.decoder.push_payload(payload)?;
        while let Some(frame) = self.decoder.pop_frame() {
            self.push_frame(&frame)?;
        }
        Ok(())
    }

    /// Feeds a decoded frame at the *input* codec's sample rate (for
    /// example a jitter buffer's output, or a concealed frame) towards the
    /// encoder.
    pub fn push_frame(&mut self, frame: &AudioFrame) -> Result<(), CodecError> {
        match &mut self.resampler {
            None => self.encoder.push_frame(frame),
            Some(r) => {
                if frame.rate() != r.from_rate() {
                    return Err(CodecError::RateMismatch);
                }
                let mut out = AudioFrame::silence(r.to_rate());
                let mut tmp = [0i16; MAX_FRAME_SAMPLES];
                let n = r.process(frame.samples(), &mut tmp);
                out.samples_mut().copy_from_slice(&tmp[..n]);
                self.encoder.push_frame(&out)
            }
        }
    }

    /// The next outgoing payload, if a whole ptime is ready.
    pub fn poll_payload(&mut self, out: &mut [u8]) -> Result<Option<usize>, CodecError> {
        self.encoder.poll_payload(out)
    }

    /// Resets all three stages.
    pub fn reset(&mut self) {
        self.decoder.reset();
        if let Some(r) = &mut self.resampler {
            r.reset();
        }
        self.encoder.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_and_static_types() {
        assert_eq!(Codec::from_rtpmap("pcmu", 8000), Some(Codec::Pcmu));
        assert_eq!(Codec::from_rtpmap("G722", 8000), Some(Codec::G722));
        assert_eq!(Codec::from_rtpmap("G722", 16000), None);
        assert_eq!(
            Codec::from_rtpmap("L16", 16000),
            Some(Codec::L16 {
                rate: Rate::Hz16000
            })
        );
        assert_eq!(Codec::from_rtpmap("L16", 44100), None);
        assert_eq!(Codec::from_rtpmap("telephone-event", 8000), None);
        assert_eq!(
            PayloadFormat::from_rtpmap("telephone-event", 8000),
            Some(PayloadFormat::TelephoneEvent { clock_rate: 8000 })
        );
        for c in [Codec::Pcmu, Codec::Pcma, Codec::G722] {
            let pt = c.static_payload_type().unwrap();
            assert_eq!(Codec::from_static_payload_type(pt), Some(c));
        }
        assert_eq!(Codec::G722.clock_rate(), 8000);
        assert_eq!(Codec::G722.sample_rate(), Rate::Hz16000);
        assert_eq!(Codec::G722.frame_bytes(), Some(160));
        assert_eq!(
            Codec::L16 {
                rate: Rate::Hz48000
            }
            .frame_bytes(),
            Some(1920)
        );
        assert_eq!(Codec::Opus.frame_bytes(), None);
    }

    #[test]
    fn payload_lengths() {
        assert_eq!(Codec::Pcmu.payload_ticks(&[0; 80]), Ok(80));
        assert_eq!(Codec::Pcmu.payload_ticks(&[0; 480]), Ok(480));
        assert!(Codec::Pcmu.payload_ticks(&[0; 481]).is_err());
        assert!(Codec::Pcmu.payload_ticks(&[0; 560]).is_err());
        assert!(Codec::Pcmu.payload_ticks(&[]).is_err());
        let l16 = Codec::L16 { rate: Rate::Hz8000 };
        assert_eq!(l16.payload_ticks(&[0; 320]), Ok(160));
        assert!(l16.payload_ticks(&[0; 321]).is_err());
    }

    #[test]
    fn l16_is_big_endian() {
        let mut d = Decoder::new(Codec::L16 { rate: Rate::Hz8000 }).unwrap();
        let mut payload = [0u8; 160];
        payload[0] = 0x12;
        payload[1] = 0x34;
        let mut out = [0i16; 80];
        assert_eq!(d.decode_into(&payload, &mut out), Ok(80));
        assert_eq!(out[0], 0x1234);
    }
}
