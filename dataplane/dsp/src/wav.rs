//! RIFF/WAVE files: the prompts Tandem plays and the recordings it writes.
//!
//! Supports the three formats a telephony system meets: 16-bit linear PCM
//! (format tag 1), A-law (6) and μ-law (7), each also when wrapped in
//! `WAVE_FORMAT_EXTENSIBLE` (0xFFFE) with the matching sub-format GUID.
//! The layout follows the Microsoft RIFF specification (1991) and the
//! multimedia registration update (1994) that added the `fact` chunk for
//! non-PCM data.
//!
//! Reading is zero-copy: [`Wav::parse`] checks the whole container and
//! returns a view whose [`Wav::data`] borrows the sample bytes. Every length
//! in the file is checked against the bytes actually present, so a hostile or
//! truncated file yields a [`WavError`], never a panic or an over-read.
//! Unknown chunks (`LIST`, `bext`, `cue `, ...) are skipped.
//!
//! Writing is split so that a recorder can stream: [`header`] renders the
//! header for a given data length into a caller's buffer, and is called once
//! at the start (with a provisional length) and once at the end.
//!
//! ```
//! use tandem_dsp::wav::{self, Format, Spec, Wav};
//!
//! let spec = Spec { format: Format::Alaw, channels: 1, sample_rate: 8000 };
//! let payload = [0xd5u8; 160];
//! let mut file = vec![0u8; wav::header_len(spec.format)];
//! wav::header(spec, payload.len() as u32, &mut file)?;
//! file.extend_from_slice(&payload);
//!
//! let parsed = Wav::parse(&file)?;
//! assert_eq!(parsed.spec(), spec);
//! assert_eq!(parsed.data(), &payload[..]);
//! # Ok::<(), wav::WavError>(())
//! ```

use core::fmt;

use crate::g711;

/// Sample encoding of a WAV file's data chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// 16-bit signed little-endian linear PCM (format tag 1).
    Pcm16,
    /// ITU-T G.711 A-law, 8 bits (format tag 6).
    Alaw,
    /// ITU-T G.711 μ-law, 8 bits (format tag 7).
    Ulaw,
}

impl Format {
    /// The `wFormatTag` value written for this format.
    pub const fn tag(self) -> u16 {
        match self {
            Format::Pcm16 => TAG_PCM,
            Format::Alaw => TAG_ALAW,
            Format::Ulaw => TAG_ULAW,
        }
    }

    /// Bytes per sample of one channel.
    pub const fn sample_bytes(self) -> usize {
        match self {
            Format::Pcm16 => 2,
            Format::Alaw | Format::Ulaw => 1,
        }
    }

    const fn bits(self) -> u16 {
        (self.sample_bytes() * 8) as u16
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pcm16 => "16-bit linear PCM",
            Format::Alaw => "A-law",
            Format::Ulaw => "mu-law",
        })
    }
}

/// What a WAV file holds: encoding, channel count and sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    /// Sample encoding.
    pub format: Format,
    /// Interleaved channels (1 = mono, 2 = stereo recording).
    pub channels: u16,
    /// Samples per second per channel.
    pub sample_rate: u32,
}

impl Spec {
    /// Bytes of one sample frame (all channels).
    pub const fn block_align(self) -> usize {
        self.format.sample_bytes() * self.channels as usize
    }
}

/// Why a file is not a WAV file Tandem can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WavError {
    /// The file does not start with a `RIFF` header.
    NotRiff,
    /// A RIFF file whose form type is not `WAVE`.
    NotWave,
    /// The file ends before the header, a chunk, or the data it declares.
    Truncated {
        /// Bytes the file declares (from the start of the file).
        needed: u64,
        /// Bytes actually present.
        present: u64,
    },
    /// No `fmt ` chunk before the `data` chunk.
    MissingFmt,
    /// No `data` chunk.
    MissingData,
    /// A `fmt ` chunk shorter than the 16 bytes every format needs.
    FmtTooShort(u32),
    /// A format tag other than PCM, A-law or μ-law.
    UnsupportedFormat(u16),
    /// A sample width Tandem does not read (PCM must be 16-bit, G.711 8-bit).
    UnsupportedBits {
        /// The format declared.
        format: Format,
        /// Bits per sample declared.
        bits: u16,
    },
    /// Zero channels, a zero sample rate, or a block alignment that does not
    /// match channels × sample width.
    InconsistentFmt,
    /// The data chunk does not hold a whole number of sample frames.
    PartialFrame,
    /// The output buffer is too small for the header.
    BufferTooSmall,
    /// The data is too long for a RIFF file (over 4 GiB).
    TooLong,
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::NotRiff => f.write_str("not a WAV file (no RIFF header)"),
            WavError::NotWave => f.write_str("RIFF file is not WAVE"),
            WavError::Truncated { needed, present } => {
                write!(
                    f,
                    "truncated WAV file: {needed} bytes declared, {present} present"
                )
            }
            WavError::MissingFmt => f.write_str("WAV file has no fmt chunk before its data"),
            WavError::MissingData => f.write_str("WAV file has no data chunk"),
            WavError::FmtTooShort(n) => write!(f, "WAV fmt chunk is {n} bytes, needs 16"),
            WavError::UnsupportedFormat(tag) => write!(
                f,
                "unsupported WAV format tag {tag:#06x} (want PCM 1, A-law 6 or mu-law 7)"
            ),
            WavError::UnsupportedBits { format, bits } => {
                write!(f, "unsupported {format} WAV with {bits} bits per sample")
            }
            WavError::InconsistentFmt => {
                f.write_str("WAV fmt chunk is inconsistent (channels, rate or block alignment)")
            }
            WavError::PartialFrame => {
                f.write_str("WAV data chunk does not hold a whole number of samples")
            }
            WavError::BufferTooSmall => f.write_str("buffer too small for a WAV header"),
            WavError::TooLong => f.write_str("audio too long for a WAV file"),
        }
    }
}

impl std::error::Error for WavError {}

const TAG_PCM: u16 = 1;
const TAG_ALAW: u16 = 6;
const TAG_ULAW: u16 = 7;
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// The tail shared by every `KSDATAFORMAT_SUBTYPE_*` GUID; the first two
/// bytes carry the format tag.
const SUBFORMAT_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// A parsed WAV file borrowing its sample bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wav<'a> {
    spec: Spec,
    data: &'a [u8],
}

impl<'a> Wav<'a> {
    /// Checks a whole WAV file and returns a view of it.
    pub fn parse(file: &'a [u8]) -> Result<Self, WavError> {
        let present = file.len() as u64;
        if file.len() < 12 {
            if file.len() < 4 || &file[..4] != b"RIFF" {
                return Err(WavError::NotRiff);
            }
            return Err(WavError::Truncated {
                needed: 12,
                present,
            });
        }
        if &file[..4] != b"RIFF" {
            return Err(WavError::NotRiff);
        }
        if &file[8..12] != b"WAVE" {
            return Err(WavError::NotWave);
        }
        // The RIFF size is often wrong in files written by streaming tools
        // (0 or 0xFFFFFFFF); the chunk sizes below are what we trust.
        let mut spec = None;
        let mut at = 12usize;
        loop {
            let Some(header) = file.get(at..at + 8) else {
                if at == file.len() {
                    return Err(if spec.is_none() {
                        WavError::MissingFmt
                    } else {
                        WavError::MissingData
                    });
                }
                return Err(WavError::Truncated {
                    needed: at as u64 + 8,
                    present,
                });
            };
            let id = &header[..4];
            let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let body_start = at + 8;
            let body_end = body_start as u64 + u64::from(size);
            if body_end > present {
                return Err(WavError::Truncated {
                    needed: body_end,
                    present,
                });
            }
            let body = &file[body_start..body_end as usize];
            match id {
                b"fmt " => spec = Some(parse_fmt(body)?),
                b"data" => {
                    let spec = spec.ok_or(WavError::MissingFmt)?;
                    if body.len() % spec.block_align() != 0 {
                        return Err(WavError::PartialFrame);
                    }
                    return Ok(Wav { spec, data: body });
                }
                _ => {}
            }
            // Chunks are padded to an even length (RIFF §"chunks").
            at = (body_end + (body_end & 1)) as usize;
        }
    }

    /// Encoding, channels and rate.
    pub fn spec(&self) -> Spec {
        self.spec
    }

    /// The raw sample bytes, interleaved by channel.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.data.len() / self.spec.block_align()
    }

    /// Decodes every sample to 16-bit linear into `out` (interleaved,
    /// `frames() × channels` samples) and returns the count written.
    /// `out` may be shorter; then only what fits is decoded.
    pub fn decode_into(&self, out: &mut [i16]) -> usize {
        match self.spec.format {
            Format::Pcm16 => {
                let mut n = 0;
                for (o, b) in out.iter_mut().zip(self.data.chunks_exact(2)) {
                    *o = i16::from_le_bytes([b[0], b[1]]);
                    n += 1;
                }
                n
            }
            Format::Alaw => {
                let n = out.len().min(self.data.len());
                g711::decode_alaw(&self.data[..n], &mut out[..n]);
                n
            }
            Format::Ulaw => {
                let n = out.len().min(self.data.len());
                g711::decode_ulaw(&self.data[..n], &mut out[..n]);
                n
            }
        }
    }

    /// Decodes every sample to 16-bit linear (interleaved).
    pub fn decode(&self) -> Vec<i16> {
        let mut out = vec![0; self.frames() * usize::from(self.spec.channels)];
        let n = self.decode_into(&mut out);
        out.truncate(n);
        out
    }
}

fn parse_fmt(body: &[u8]) -> Result<Spec, WavError> {
    if body.len() < 16 {
        return Err(WavError::FmtTooShort(body.len() as u32));
    }
    let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32_at(4);
    let block_align = u16_at(12);
    let bits = u16_at(14);
    if tag == TAG_EXTENSIBLE {
        // cbSize(2) validBits(2) channelMask(4) subFormat GUID(16) after the
        // 16-byte base: 40 bytes in all.
        if body.len() < 40 || body[26..40] != SUBFORMAT_TAIL || body[24..26] == [0, 0] {
            return Err(WavError::UnsupportedFormat(TAG_EXTENSIBLE));
        }
        tag = u16_at(24);
    }
    let format = match tag {
        TAG_PCM => Format::Pcm16,
        TAG_ALAW => Format::Alaw,
        TAG_ULAW => Format::Ulaw,
        other => return Err(WavError::UnsupportedFormat(other)),
    };
    if bits != format.bits() {
        return Err(WavError::UnsupportedBits { format, bits });
    }
    if channels == 0
        || sample_rate == 0
        || usize::from(block_align) != format.sample_bytes() * usize::from(channels)
    {
        return Err(WavError::InconsistentFmt);
    }
    Ok(Spec {
        format,
        channels,
        sample_rate,
    })
}

/// Bytes of the header [`header`] writes for `format`: 44 for PCM; 58 for
/// G.711, whose `fmt ` chunk carries `cbSize` and which adds a `fact` chunk,
/// as the RIFF update requires for non-PCM formats.
pub const fn header_len(format: Format) -> usize {
    match format {
        Format::Pcm16 => 44,
        Format::Alaw | Format::Ulaw => 58,
    }
}

/// Writes the header for `data_len` bytes of samples into the start of
/// `out` and returns its length ([`header_len`]).
pub fn header(spec: Spec, data_len: u32, out: &mut [u8]) -> Result<usize, WavError> {
    let len = header_len(spec.format);
    let out = out.get_mut(..len).ok_or(WavError::BufferTooSmall)?;
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(WavError::InconsistentFmt);
    }
    let riff_size = (len as u64 - 8 + u64::from(data_len) + u64::from(data_len & 1))
        .try_into()
        .map_err(|_| WavError::TooLong)?;
    let block_align = spec.block_align() as u16;
    let byte_rate = spec
        .sample_rate
        .checked_mul(u32::from(block_align))
        .ok_or(WavError::InconsistentFmt)?;
    let mut w = Writer { out, at: 0 };
    w.put(b"RIFF");
    w.put(&u32::to_le_bytes(riff_size));
    w.put(b"WAVE");
    w.put(b"fmt ");
    let fmt_size: u32 = if spec.format == Format::Pcm16 { 16 } else { 18 };
    w.put(&fmt_size.to_le_bytes());
    w.put(&spec.format.tag().to_le_bytes());
    w.put(&spec.channels.to_le_bytes());
    w.put(&spec.sample_rate.to_le_bytes());
    w.put(&byte_rate.to_le_bytes());
    w.put(&block_align.to_le_bytes());
    w.put(&spec.format.bits().to_le_bytes());
    if spec.format != Format::Pcm16 {
        w.put(&0u16.to_le_bytes()); // cbSize: no extra format bytes
        w.put(b"fact");
        w.put(&4u32.to_le_bytes());
        let frames = data_len / u32::from(block_align);
        w.put(&frames.to_le_bytes());
    }
    w.put(b"data");
    w.put(&data_len.to_le_bytes());
    debug_assert_eq!(w.at, len);
    Ok(len)
}

/// Renders a complete WAV file: header, samples, and the pad byte RIFF
/// requires after an odd-length chunk.
pub fn to_vec(spec: Spec, data: &[u8]) -> Result<Vec<u8>, WavError> {
    let data_len = u32::try_from(data.len()).map_err(|_| WavError::TooLong)?;
    let mut file = vec![0u8; header_len(spec.format)];
    header(spec, data_len, &mut file)?;
    file.extend_from_slice(data);
    if data.len() % 2 == 1 {
        file.push(0);
    }
    Ok(file)
}

/// Encodes 16-bit linear samples in `format` (for [`to_vec`]).
pub fn encode_samples(format: Format, pcm: &[i16]) -> Vec<u8> {
    match format {
        Format::Pcm16 => pcm.iter().flat_map(|s| s.to_le_bytes()).collect(),
        Format::Alaw => {
            let mut out = vec![0; pcm.len()];
            g711::encode_alaw(pcm, &mut out);
            out
        }
        Format::Ulaw => {
            let mut out = vec![0; pcm.len()];
            g711::encode_ulaw(pcm, &mut out);
            out
        }
    }
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm_file(samples: &[i16]) -> Vec<u8> {
        let spec = Spec {
            format: Format::Pcm16,
            channels: 1,
            sample_rate: 8000,
        };
        to_vec(spec, &encode_samples(Format::Pcm16, samples)).unwrap()
    }

    #[test]
    fn pcm_header_is_the_canonical_44_bytes() {
        let file = pcm_file(&[1, -2]);
        assert_eq!(file.len(), 48);
        assert_eq!(&file[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(file[4..8].try_into().unwrap()), 40);
        assert_eq!(&file[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([file[20], file[21]]), 1);
        assert_eq!(u32::from_le_bytes(file[28..32].try_into().unwrap()), 16000);
        assert_eq!(&file[36..40], b"data");
        assert_eq!(&file[44..], &[1, 0, 0xfe, 0xff]);
    }

    #[test]
    fn every_format_round_trips() {
        for format in [Format::Pcm16, Format::Alaw, Format::Ulaw] {
            for channels in [1u16, 2] {
                let spec = Spec {
                    format,
                    channels,
                    sample_rate: 16000,
                };
                let data: Vec<u8> = (0..(format.sample_bytes() * channels as usize * 7))
                    .map(|i| i as u8)
                    .collect();
                let file = to_vec(spec, &data).unwrap();
                let wav = Wav::parse(&file).unwrap();
                assert_eq!(wav.spec(), spec);
                assert_eq!(wav.data(), &data[..]);
                assert_eq!(wav.frames(), 7);
            }
        }
    }

    #[test]
    fn g711_files_carry_a_fact_chunk_with_the_frame_count() {
        let spec = Spec {
            format: Format::Ulaw,
            channels: 2,
            sample_rate: 8000,
        };
        let file = to_vec(spec, &[0xff; 10]).unwrap();
        assert_eq!(&file[38..42], b"fact");
        assert_eq!(u32::from_le_bytes(file[46..50].try_into().unwrap()), 5);
    }

    #[test]
    fn decode_applies_g711() {
        let spec = Spec {
            format: Format::Alaw,
            channels: 1,
            sample_rate: 8000,
        };
        let file = to_vec(spec, &[g711::alaw_encode(1000), g711::alaw_encode(-1000)]).unwrap();
        let pcm = Wav::parse(&file).unwrap().decode();
        assert_eq!(
            pcm,
            vec![
                g711::alaw_decode(g711::alaw_encode(1000)),
                g711::alaw_decode(g711::alaw_encode(-1000))
            ]
        );
    }

    #[test]
    fn unknown_chunks_and_odd_padding_are_skipped() {
        let mut file = b"RIFF\0\0\0\0WAVE".to_vec();
        file.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd chunk + pad byte
        let full = pcm_file(&[7, 8, 9]);
        file.extend_from_slice(&full[12..]);
        let wav = Wav::parse(&file).unwrap();
        assert_eq!(wav.decode(), vec![7, 8, 9]);
    }

    #[test]
    fn extensible_format_is_understood() {
        let mut file = b"RIFF\0\0\0\0WAVEfmt \x28\0\0\0".to_vec();
        file.extend_from_slice(&TAG_EXTENSIBLE.to_le_bytes());
        file.extend_from_slice(&1u16.to_le_bytes());
        file.extend_from_slice(&8000u32.to_le_bytes());
        file.extend_from_slice(&16000u32.to_le_bytes());
        file.extend_from_slice(&2u16.to_le_bytes());
        file.extend_from_slice(&16u16.to_le_bytes());
        file.extend_from_slice(&22u16.to_le_bytes());
        file.extend_from_slice(&16u16.to_le_bytes());
        file.extend_from_slice(&4u32.to_le_bytes());
        file.extend_from_slice(&TAG_PCM.to_le_bytes());
        file.extend_from_slice(&SUBFORMAT_TAIL);
        file.extend_from_slice(b"data\x02\0\0\0\x05\0");
        let wav = Wav::parse(&file).unwrap();
        assert_eq!(wav.spec().format, Format::Pcm16);
        assert_eq!(wav.decode(), vec![5]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let file = pcm_file(&[1, 2, 3, 4]);
        for n in 0..file.len() {
            assert!(Wav::parse(&file[..n]).is_err(), "prefix {n} accepted");
        }
        assert_eq!(
            Wav::parse(&file[..46]),
            Err(WavError::Truncated {
                needed: 52,
                present: 46
            })
        );
    }

    #[test]
    fn hostile_headers_are_rejected_with_the_reason() {
        assert_eq!(
            Wav::parse(b"hello world, not audio"),
            Err(WavError::NotRiff)
        );
        assert_eq!(Wav::parse(b"RIFF\0\0\0\0AVI LIST"), Err(WavError::NotWave));
        let mut file = pcm_file(&[1]);
        file[20] = 0x55; // format tag 0x0055 (MPEG layer 3)
        assert_eq!(Wav::parse(&file), Err(WavError::UnsupportedFormat(0x55)));
        let mut file = pcm_file(&[1]);
        file[34] = 8; // 8-bit PCM
        assert_eq!(
            Wav::parse(&file),
            Err(WavError::UnsupportedBits {
                format: Format::Pcm16,
                bits: 8
            })
        );
        let mut file = pcm_file(&[1]);
        file[22] = 0; // zero channels
        assert_eq!(Wav::parse(&file), Err(WavError::InconsistentFmt));
        let mut file = pcm_file(&[1, 2]);
        file[40] = 3; // data chunk of 3 bytes: a sample and a half
        assert_eq!(Wav::parse(&file[..47]), Err(WavError::PartialFrame));
        let mut file = pcm_file(&[1]);
        file[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Wav::parse(&file), Err(WavError::Truncated { .. })));
        let no_data = &pcm_file(&[])[..36];
        assert_eq!(Wav::parse(no_data), Err(WavError::MissingData));
        assert_eq!(
            Wav::parse(b"RIFF\0\0\0\0WAVEdata\0\0\0\0"),
            Err(WavError::MissingFmt)
        );
    }

    #[test]
    fn header_refuses_a_short_buffer() {
        let spec = Spec {
            format: Format::Alaw,
            channels: 1,
            sample_rate: 8000,
        };
        assert_eq!(header(spec, 0, &mut [0; 57]), Err(WavError::BufferTooSmall));
    }
}
