//! RTP data packets: RFC 3550 §5.1 (fixed header, CSRC list), §5.3.1
//! (header extension) and RFC 8285 §4.2–4.3 (one-byte and two-byte
//! extension elements).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers             |  CC words
//! |      defined by profile       |           length              |  if X
//! |                        header extension                       |  length words
//! |                            payload                            |
//! |                               |    padding    | padding count |  if P
//! ```
//!
//! [`RtpPacket`] is a view for the packet path: [`RtpPacket::new_checked`]
//! proves every length once, after which no accessor can panic, and the
//! fields the media engine rewrites (sequence number, timestamp, SSRC,
//! marker, payload type) sit at fixed offsets, so their setters are a
//! single store. [`RtpRepr`] is the parsed form and the builder.

use core::iter::FusedIterator;
use core::ops::Range;

use crate::bytes::{read_u16, read_u32, write_u16, write_u32};
use crate::{Error, Ssrc, SsrcList};

mod field {
    use core::ops::Range;

    pub(super) const VPXCC: usize = 0;
    pub(super) const MPT: usize = 1;
    pub(super) const SEQUENCE: Range<usize> = 2..4;
    pub(super) const TIMESTAMP: Range<usize> = 4..8;
    pub(super) const SSRC: Range<usize> = 8..12;
    pub(super) const CSRCS: usize = 12;
    // Relative to the start of the header extension.
    pub(super) const EXT_PROFILE: Range<usize> = 0..2;
    pub(super) const EXT_LENGTH: Range<usize> = 2..4;
    pub(super) const EXT_DATA: usize = 4;
}

/// Length of the fixed RTP header (RFC 3550 §5.1).
pub const HEADER_LEN: usize = field::CSRCS;
/// The only RTP version this crate reads or writes.
pub const VERSION: u8 = 2;
/// The largest CSRC count a 4-bit CC field can express.
pub const MAX_CSRCS: usize = 15;
/// Header extension profile of RFC 8285 one-byte elements.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// Header extension profile of RFC 8285 two-byte elements (the low four
/// "appbits" are application-defined, so the profile matches under
/// [`TWO_BYTE_PROFILE_MASK`]).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
/// Mask selecting the fixed part of a two-byte extension profile.
pub const TWO_BYTE_PROFILE_MASK: u16 = 0xFFF0;

const FLAG_PADDING: u8 = 0x20;
const FLAG_EXTENSION: u8 = 0x10;
const FLAG_MARKER: u8 = 0x80;

/// A read/write view on an RTP packet.
///
/// Build it with [`new_checked`](Self::new_checked): accessors on a view
/// made with [`new_unchecked`](Self::new_unchecked) panic on short buffers.
/// There are deliberately no setters for CC, X or P: changing them would
/// move the payload and invalidate the checks; re-emit through [`RtpRepr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        RtpPacket { buffer }
    }

    /// Wraps a buffer after checking that it holds an RTP version 2 packet
    /// whose CSRC list, extension and padding all fit.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        let buf = packet.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        // Version before structure: on a non-RTP datagram (STUN, DTLS
        // multiplexed on the same port) the other checks would report
        // something misleading.
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that every length the header declares fits in the buffer, so
    /// that no accessor can panic. Does not look at the version.
    pub fn check_len(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        let len = buf.len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let mut header_len = HEADER_LEN + 4 * usize::from(buf[field::VPXCC] & 0x0f);
        if header_len > len {
            return Err(Error::CsrcPastEnd);
        }
        if buf[field::VPXCC] & FLAG_EXTENSION != 0 {
            let ext = header_len;
            if ext + field::EXT_DATA > len {
                return Err(Error::ExtensionPastEnd);
            }
            let words = usize::from(read_u16(buf, shift(field::EXT_LENGTH, ext)));
            header_len = ext + field::EXT_DATA + 4 * words;
            if header_len > len {
                return Err(Error::ExtensionPastEnd);
            }
        }
        if buf[field::VPXCC] & FLAG_PADDING != 0 {
            let count = usize::from(buf[len - 1]);
            if count == 0 {
                return Err(Error::ZeroPadding);
            }
            if header_len + count > len {
                return Err(Error::PaddingTooLong);
            }
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer, header, payload and padding.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version field (2 for any packet from [`new_checked`](Self::new_checked)).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VPXCC] >> 6
    }

    /// P bit: the packet ends with padding.
    #[inline]
    pub fn has_padding(&self) -> bool {
        self.buffer.as_ref()[field::VPXCC] & FLAG_PADDING != 0
    }

    /// X bit: a header extension follows the CSRC list.
    #[inline]
    pub fn has_extension(&self) -> bool {
        self.buffer.as_ref()[field::VPXCC] & FLAG_EXTENSION != 0
    }

    /// CC field: number of CSRCs.
    #[inline]
    pub fn csrc_count(&self) -> u8 {
        self.buffer.as_ref()[field::VPXCC] & 0x0f
    }

    /// M bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.buffer.as_ref()[field::MPT] & FLAG_MARKER != 0
    }

    /// PT field (7 bits).
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.buffer.as_ref()[field::MPT] & 0x7f
    }

    /// Sequence number.
    #[inline]
    pub fn sequence_number(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SEQUENCE)
    }

    /// RTP timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::TIMESTAMP)
    }

    /// Synchronisation source.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(read_u32(self.buffer.as_ref(), field::SSRC))
    }

    /// The CSRC list.
    #[inline]
    pub fn csrcs(&self) -> SsrcList<'_> {
        SsrcList::from_wire(&self.buffer.as_ref()[self.csrc_range()])
    }

    /// The header extension, if the X bit is set.
    #[inline]
    pub fn extension(&self) -> Option<RtpExtension<'_>> {
        let buf = self.buffer.as_ref();
        self.extension_range().map(|r| RtpExtension {
            profile: read_u16(buf, shift(field::EXT_PROFILE, r.start)),
            data: &buf[r.start + field::EXT_DATA..r.end],
        })
    }

    /// Length of the header: fixed part, CSRCs and extension.
    #[inline]
    pub fn header_len(&self) -> usize {
        match self.extension_range() {
            Some(r) => r.end,
            None => self.csrc_range().end,
        }
    }

    /// Number of padding octets at the end, count octet included (0 if the
    /// P bit is clear).
    #[inline]
    pub fn padding_len(&self) -> usize {
        let buf = self.buffer.as_ref();
        if self.has_padding() {
            usize::from(buf[buf.len() - 1])
        } else {
            0
        }
    }

    /// The payload, without header or padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }

    #[inline]
    fn csrc_range(&self) -> Range<usize> {
        field::CSRCS..field::CSRCS + 4 * usize::from(self.csrc_count())
    }

    /// Range of the extension, its 4-byte header included.
    #[inline]
    fn extension_range(&self) -> Option<Range<usize>> {
        if !self.has_extension() {
            return None;
        }
        let start = self.csrc_range().end;
        let words = read_u16(self.buffer.as_ref(), shift(field::EXT_LENGTH, start));
        Some(start..start + field::EXT_DATA + 4 * usize::from(words))
    }

    #[inline]
    fn payload_range(&self) -> Range<usize> {
        self.header_len()..self.buffer.as_ref().len() - self.padding_len()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    /// Sets the M bit.
    #[inline]
    pub fn set_marker(&mut self, marker: bool) {
        let b = &mut self.buffer.as_mut()[field::MPT];
        *b = (*b & !FLAG_MARKER) | if marker { FLAG_MARKER } else { 0 };
    }

    /// Sets the PT field; only the low 7 bits of `pt` are used, so that
    /// the hot path need not handle an error for a value it controls.
    #[inline]
    pub fn set_payload_type(&mut self, pt: u8) {
        let b = &mut self.buffer.as_mut()[field::MPT];
        *b = (*b & FLAG_MARKER) | (pt & 0x7f);
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_sequence_number(&mut self, seq: u16) {
        write_u16(self.buffer.as_mut(), field::SEQUENCE, seq);
    }

    /// Sets the timestamp.
    #[inline]
    pub fn set_timestamp(&mut self, ts: u32) {
        write_u32(self.buffer.as_mut(), field::TIMESTAMP, ts);
    }

    /// Sets the SSRC.
    #[inline]
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        write_u32(self.buffer.as_mut(), field::SSRC, ssrc.0);
    }

    /// Replaces the CSRC at `index`; returns false (and changes nothing)
    /// if there is no CSRC at that index.
    #[inline]
    pub fn set_csrc(&mut self, index: usize, csrc: Ssrc) -> bool {
        if index >= usize::from(self.csrc_count()) {
            return false;
        }
        let at = field::CSRCS + 4 * index;
        write_u32(self.buffer.as_mut(), at..at + 4, csrc.0);
        true
    }

    /// The payload, mutable (transcoding in place).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.payload_range();
        &mut self.buffer.as_mut()[range]
    }
}

#[inline]
const fn shift(r: Range<usize>, by: usize) -> Range<usize> {
    r.start + by..r.end + by
}

/// An RTP header extension (RFC 3550 §5.3.1): a 16-bit profile-defined
/// identifier and data whose length is a multiple of 4 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The "defined by profile" field; 0xBEDE and 0x100x are RFC 8285.
    pub profile: u16,
    /// Extension data (without the 4-byte profile/length header).
    pub data: &'a [u8],
}

impl<'a> RtpExtension<'a> {
    /// The RFC 8285 header form, if the profile is one of its two.
    #[must_use]
    pub fn format(&self) -> Option<ExtensionFormat> {
        ExtensionFormat::from_profile(self.profile)
    }

    /// Iterates over RFC 8285 elements; `None` for other profiles.
    #[must_use]
    pub fn elements(&self) -> Option<ExtensionElements<'a>> {
        self.format()
            .map(|format| ExtensionElements::new(format, self.data))
    }
}

/// The two RFC 8285 element header forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionFormat {
    /// One-byte headers (RFC 8285 §4.2): 4-bit ID, 4-bit length−1.
    OneByte,
    /// Two-byte headers (RFC 8285 §4.3): 8-bit ID, 8-bit length.
    TwoByte,
}

impl ExtensionFormat {
    /// The form a profile field announces, if any.
    #[must_use]
    pub const fn from_profile(profile: u16) -> Option<Self> {
        if profile == ONE_BYTE_PROFILE {
            Some(ExtensionFormat::OneByte)
        } else if profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE {
            Some(ExtensionFormat::TwoByte)
        } else {
            None
        }
    }

    /// The profile field to write (appbits zero for the two-byte form).
    #[must_use]
    pub const fn profile(self) -> u16 {
        match self {
            ExtensionFormat::OneByte => ONE_BYTE_PROFILE,
            ExtensionFormat::TwoByte => TWO_BYTE_PROFILE,
        }
    }
}

/// One RFC 8285 extension element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Local identifier negotiated in SDP (`a=extmap`).
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
}

/// Iterator over RFC 8285 extension elements.
///
/// The lengths come from the peer, so every step is bounds-checked: an
/// element running past the end of the extension yields one
/// `Err(ExtensionElementPastEnd)` and ends the iteration. Padding octets
/// (ID 0) are skipped; a one-byte ID of 15 ends the iteration, as RFC 8285
/// §4.2 asks receivers to stop there.
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    format: ExtensionFormat,
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> ExtensionElements<'a> {
    /// Iterates over `data` (an extension body) in the given form.
    #[must_use]
    pub const fn new(format: ExtensionFormat, data: &'a [u8]) -> Self {
        ExtensionElements {
            format,
            data,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Some(&first) = self.data.get(self.pos) else {
                self.done = true;
                return None;
            };
            let (id, start, len) = match self.format {
                ExtensionFormat::OneByte => {
                    let id = first >> 4;
                    if id == 15 {
                        self.done = true;
                        return None;
                    }
                    // Like common implementations, treat any ID-0 octet as
                    // one octet of padding whatever its length nibble says.
                    if id == 0 {
                        self.pos += 1;
                        continue;
                    }
                    (id, self.pos + 1, usize::from(first & 0x0f) + 1)
                }
                ExtensionFormat::TwoByte => {
                    if first == 0 {
                        self.pos += 1;
                        continue;
                    }
                    let Some(&len) = self.data.get(self.pos + 1) else {
                        self.done = true;
                        return Some(Err(Error::ExtensionElementPastEnd));
                    };
                    (first, self.pos + 2, usize::from(len))
                }
            };
            let Some(data) = self.data.get(start..start + len) else {
                self.done = true;
                return Some(Err(Error::ExtensionElementPastEnd));
            };
            self.pos = start + len;
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}

impl FusedIterator for ExtensionElements<'_> {}

/// Writes RFC 8285 elements as an extension body, zero-padded to a
/// multiple of 4 octets, and returns its length. Use the result as the
/// `data` of an [`RtpExtension`] whose profile is `format.profile()`.
pub fn emit_extension_elements(
    format: ExtensionFormat,
    elements: &[ExtensionElement<'_>],
    buf: &mut [u8],
) -> Result<usize, Error> {
    let mut pos = 0;
    for e in elements {
        let header: &[u8] = match format {
            ExtensionFormat::OneByte => {
                if !(1..=14).contains(&e.id) || !(1..=16).contains(&e.data.len()) {
                    return Err(Error::BadExtensionElement);
                }
                // `as` cannot truncate: len - 1 is at most 15 here.
                &[(e.id << 4) | (e.data.len() - 1) as u8]
            }
            ExtensionFormat::TwoByte => {
                let Ok(len) = u8::try_from(e.data.len()) else {
                    return Err(Error::BadExtensionElement);
                };
                if e.id == 0 {
                    return Err(Error::BadExtensionElement);
                }
                &[e.id, len]
            }
        };
        let end = pos + header.len() + e.data.len();
        let out = buf.get_mut(pos..end).ok_or(Error::BufferTooSmall)?;
        out[..header.len()].copy_from_slice(header);
        out[header.len()..].copy_from_slice(e.data);
        pos = end;
    }
    let padded = crate::bytes::align4(pos);
    buf.get_mut(pos..padded)
        .ok_or(Error::BufferTooSmall)?
        .fill(0);
    Ok(padded)
}

/// An RTP packet in parsed form, and the builder for one.
///
/// ```
/// use tandem_wire::rtp::{RtpPacket, RtpRepr};
/// use tandem_wire::{Ssrc, SsrcList};
///
/// let repr = RtpRepr {
///     marker: false,
///     payload_type: 8,
///     sequence_number: 1,
///     timestamp: 160,
///     ssrc: Ssrc(0x1234_5678),
///     csrcs: SsrcList::EMPTY,
///     extension: None,
///     payload: &[0xd5; 160],
///     padding: 0,
/// };
/// let mut buf = [0u8; 1500];
/// let len = repr.emit(&mut buf)?;
/// assert_eq!(len, 12 + 160);
/// let packet = RtpPacket::new_checked(&buf[..len])?;
/// assert_eq!(RtpRepr::parse(&packet)?, repr);
/// # Ok::<(), tandem_wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpRepr<'a> {
    /// M bit.
    pub marker: bool,
    /// Payload type, 0–127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: Ssrc,
    /// Contributing sources, at most 15.
    pub csrcs: SsrcList<'a>,
    /// Header extension; its data must be a multiple of 4 octets.
    pub extension: Option<RtpExtension<'a>>,
    /// Payload.
    pub payload: &'a [u8],
    /// Padding octets to append, count octet included; 0 for none. The
    /// padding octets other than the count are written as zero.
    pub padding: u8,
}

impl<'a> RtpRepr<'a> {
    /// Parses a packet (checking it again, so an unchecked view is fine).
    pub fn parse(packet: &RtpPacket<&'a [u8]>) -> Result<Self, Error> {
        let packet = RtpPacket::new_checked(packet.buffer)?;
        let buf: &'a [u8] = packet.buffer;
        Ok(RtpRepr {
            marker: packet.marker(),
            payload_type: packet.payload_type(),
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
            csrcs: SsrcList::from_wire(&buf[packet.csrc_range()]),
            extension: packet.extension_range().map(|r| RtpExtension {
                profile: read_u16(buf, shift(field::EXT_PROFILE, r.start)),
                data: &buf[r.start + field::EXT_DATA..r.end],
            }),
            payload: &buf[packet.payload_range()],
            // check_len proved the count fits in the packet, and it is an
            // octet on the wire.
            padding: u8::try_from(packet.padding_len()).unwrap_or(u8::MAX),
        })
    }

    /// Length [`emit`](Self::emit) writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + 4 * self.csrcs.len()
            + self.extension.map_or(0, |e| field::EXT_DATA + e.data.len())
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Writes the packet at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.csrcs.len() > MAX_CSRCS {
            return Err(Error::TooManyCsrcs);
        }
        if self.payload_type > 0x7f {
            return Err(Error::PayloadTypeOutOfRange);
        }
        let ext_words = match self.extension {
            Some(e) if e.data.len() % 4 != 0 => return Err(Error::NotWordAligned),
            Some(e) => Some(u16::try_from(e.data.len() / 4).map_err(|_| Error::PacketTooLong)?),
            None => None,
        };
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;

        // The count fits in the CC nibble: checked against MAX_CSRCS above.
        let cc = self.csrcs.len() as u8;
        buf[field::VPXCC] = (VERSION << 6)
            | if self.padding != 0 { FLAG_PADDING } else { 0 }
            | if self.extension.is_some() {
                FLAG_EXTENSION
            } else {
                0
            }
            | cc;
        buf[field::MPT] = if self.marker { FLAG_MARKER } else { 0 } | self.payload_type;
        write_u16(buf, field::SEQUENCE, self.sequence_number);
        write_u32(buf, field::TIMESTAMP, self.timestamp);
        write_u32(buf, field::SSRC, self.ssrc.0);
        let mut pos = field::CSRCS + 4 * self.csrcs.len();
        self.csrcs.write(&mut buf[field::CSRCS..pos]);
        if let (Some(ext), Some(words)) = (self.extension, ext_words) {
            write_u16(buf, shift(field::EXT_PROFILE, pos), ext.profile);
            write_u16(buf, shift(field::EXT_LENGTH, pos), words);
            pos += field::EXT_DATA;
            buf[pos..pos + ext.data.len()].copy_from_slice(ext.data);
            pos += ext.data.len();
        }
        buf[pos..pos + self.payload.len()].copy_from_slice(self.payload);
        pos += self.payload.len();
        if self.padding != 0 {
            buf[pos..len].fill(0);
            buf[len - 1] = self.padding;
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 A-law (PT 8), seq 0x1234, ts 0x0000a0a0, SSRC 0xdeadbeef,
    /// marker set, 8 payload octets of A-law silence (0xd5).
    const PCMA: [u8; 20] = [
        0x80, 0x88, 0x12, 0x34, 0x00, 0x00, 0xa0, 0xa0, 0xde, 0xad, 0xbe, 0xef, 0xd5, 0xd5, 0xd5,
        0xd5, 0xd5, 0xd5, 0xd5, 0xd5,
    ];

    #[test]
    fn reads_pcma_packet() {
        let p = RtpPacket::new_checked(&PCMA[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert!(!p.has_padding());
        assert!(!p.has_extension());
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0xa0a0);
        assert_eq!(p.ssrc(), Ssrc(0xdead_beef));
        assert!(p.csrcs().is_empty());
        assert_eq!(p.extension(), None);
        assert_eq!(p.header_len(), 12);
        assert_eq!(p.payload(), &[0xd5; 8]);
    }

    #[test]
    fn rewrites_fields_in_place() {
        let mut buf = PCMA;
        let mut p = RtpPacket::new_checked(&mut buf[..]).unwrap();
        p.set_sequence_number(0xfffe);
        p.set_timestamp(0x0102_0304);
        p.set_ssrc(Ssrc(0x0a0b_0c0d));
        p.set_marker(false);
        p.set_payload_type(0x80); // bit 7 must not leak into M
        assert!(!p.marker());
        assert_eq!(p.payload_type(), 0);
        p.set_payload_type(101);
        p.set_marker(true);
        assert_eq!(
            buf[..12],
            [
                0x80,
                0x80 | 101,
                0xff,
                0xfe,
                1,
                2,
                3,
                4,
                0x0a,
                0x0b,
                0x0c,
                0x0d
            ]
        );
        assert_eq!(buf[12..], PCMA[12..]);
    }

    #[test]
    fn reads_csrcs_extension_and_padding() {
        let bytes: &[u8] = &[
            0xb2, 0x00, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 3, // V=2 P X CC=2
            0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, // CSRCs
            0xbe, 0xde, 0x00, 0x02, // one-byte ext, 2 words
            0x10, 0xaa, 0x22, 0xbb, 0xcc, 0xdd, 0x00, 0x00, // id1 len1, id2 len3, pad
            0x01, 0x02, 0x03, // payload
            0x00, 0x00, 0x03, // padding, count 3
        ];
        let p = RtpPacket::new_checked(bytes).unwrap();
        assert_eq!(
            p.csrcs().iter().collect::<Vec<_>>(),
            [Ssrc(0x1111_1111), Ssrc(0x2222_2222)]
        );
        let ext = p.extension().unwrap();
        assert_eq!(ext.profile, 0xbede);
        let elems: Vec<_> = ext.elements().unwrap().collect();
        assert_eq!(
            elems,
            [
                Ok(ExtensionElement {
                    id: 1,
                    data: &[0xaa]
                }),
                Ok(ExtensionElement {
                    id: 2,
                    data: &[0xbb, 0xcc, 0xdd]
                }),
            ]
        );
        assert_eq!(p.header_len(), 32);
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.payload(), &[1, 2, 3]);

        // parse -> emit gives the same bytes back.
        let repr = RtpRepr::parse(&p).unwrap();
        assert_eq!(repr.buffer_len(), bytes.len());
        let mut out = [0xffu8; 64];
        let n = repr.emit(&mut out).unwrap();
        assert_eq!(&out[..n], bytes);
    }

    #[test]
    fn two_byte_elements_allow_empty_data() {
        let data = [0x05, 0x00, 0x00, 0x07, 0x02, 0x61, 0x62, 0x00];
        let got: Vec<_> = ExtensionElements::new(ExtensionFormat::TwoByte, &data).collect();
        assert_eq!(
            got,
            [
                Ok(ExtensionElement { id: 5, data: &[] }),
                Ok(ExtensionElement { id: 7, data: b"ab" }),
            ]
        );
    }

    #[test]
    fn one_byte_id_15_stops_iteration() {
        let data = [0x10, 0xaa, 0xf0, 0x20, 0xbb, 0x00, 0x00, 0x00];
        let got: Vec<_> = ExtensionElements::new(ExtensionFormat::OneByte, &data).collect();
        assert_eq!(
            got,
            [Ok(ExtensionElement {
                id: 1,
                data: &[0xaa]
            })]
        );
    }

    #[test]
    fn element_past_end_is_one_error_then_end() {
        let data = [0x10, 0x22, 0x00, 0x7f];
        let mut it = ExtensionElements::new(ExtensionFormat::OneByte, &data);
        assert_eq!(
            it.next(),
            Some(Ok(ExtensionElement {
                id: 1,
                data: &[0x22]
            }))
        );
        assert_eq!(it.next(), Some(Err(Error::ExtensionElementPastEnd)));
        assert_eq!(it.next(), None);
        let mut two = ExtensionElements::new(ExtensionFormat::TwoByte, &[0x03]);
        assert_eq!(two.next(), Some(Err(Error::ExtensionElementPastEnd)));
        assert_eq!(two.next(), None);
    }

    #[test]
    fn element_writer_round_trips() {
        let elems = [
            ExtensionElement {
                id: 3,
                data: &[0x80],
            },
            ExtensionElement {
                id: 14,
                data: &[1, 2, 3, 4, 5],
            },
        ];
        let mut buf = [0xffu8; 16];
        let n = emit_extension_elements(ExtensionFormat::OneByte, &elems, &mut buf).unwrap();
        assert_eq!(n, 8);
        assert_eq!(buf[..n], [0x30, 0x80, 0xe4, 1, 2, 3, 4, 5][..]);
        let back: Vec<_> = ExtensionElements::new(ExtensionFormat::OneByte, &buf[..n])
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, elems);

        let n = emit_extension_elements(ExtensionFormat::TwoByte, &elems, &mut buf).unwrap();
        assert_eq!(buf[..n], [3, 1, 0x80, 14, 5, 1, 2, 3, 4, 5, 0, 0][..]);
        assert_eq!(
            emit_extension_elements(ExtensionFormat::TwoByte, &elems, &mut buf[..11]),
            Err(Error::BufferTooSmall)
        );
        let bad = [ExtensionElement { id: 15, data: &[0] }];
        assert_eq!(
            emit_extension_elements(ExtensionFormat::OneByte, &bad, &mut buf),
            Err(Error::BadExtensionElement)
        );
        let empty = [ExtensionElement { id: 1, data: &[] }];
        assert_eq!(
            emit_extension_elements(ExtensionFormat::OneByte, &empty, &mut buf),
            Err(Error::BadExtensionElement)
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let cases: &[(&[u8], Error)] = &[
            (&[0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], Error::Truncated),
            (
                &[0x40, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
                Error::BadVersion(1),
            ),
            (&[0x81, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], Error::CsrcPastEnd),
            (
                &[0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0],
                Error::ExtensionPastEnd,
            ),
            (
                &[
                    0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0, 0, 0,
                ],
                Error::ExtensionPastEnd,
            ),
            (
                &[0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 0],
                Error::ZeroPadding,
            ),
            (
                &[0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 3],
                Error::PaddingTooLong,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                RtpPacket::new_checked(*bytes).err(),
                Some(*want),
                "{bytes:02x?}"
            );
        }
        // A padding count may cover the whole body, count octet included.
        let all_padding = [0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 2];
        let p = RtpPacket::new_checked(&all_padding[..]).unwrap();
        assert_eq!(p.payload(), &[]);
    }

    #[test]
    fn every_prefix_of_a_padded_packet_is_rejected() {
        let bytes: &[u8] = &[
            0xb1, 0x60, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 3, 0x11, 0x11, 0x11, 0x11, 0xbe, 0xde,
            0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, 0x05, 0x06, 0x00, 0x02,
        ];
        assert!(RtpPacket::new_checked(bytes).is_ok());
        for n in 0..bytes.len() {
            // The last octet carries the padding count, so every shorter
            // prefix misreads it and none may pass.
            assert!(RtpPacket::new_checked(&bytes[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn emit_rejects_what_the_header_cannot_hold() {
        let ids = [Ssrc(1); 16];
        let mut repr = RtpRepr {
            marker: false,
            payload_type: 0,
            sequence_number: 0,
            timestamp: 0,
            ssrc: Ssrc(1),
            csrcs: SsrcList::new(&ids),
            extension: None,
            payload: &[],
            padding: 0,
        };
        let mut buf = [0u8; 128];
        assert_eq!(repr.emit(&mut buf), Err(Error::TooManyCsrcs));
        repr.csrcs = SsrcList::new(&ids[..15]);
        assert_eq!(repr.emit(&mut buf), Ok(72));
        repr.payload_type = 128;
        assert_eq!(repr.emit(&mut buf), Err(Error::PayloadTypeOutOfRange));
        repr.payload_type = 0;
        repr.extension = Some(RtpExtension {
            profile: 1,
            data: &[1, 2, 3],
        });
        assert_eq!(repr.emit(&mut buf), Err(Error::NotWordAligned));
        repr.extension = None;
        assert_eq!(repr.emit(&mut buf[..71]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn build_then_parse_gives_same_fields() {
        let csrcs = [Ssrc(7), Ssrc(8)];
        let repr = RtpRepr {
            marker: true,
            payload_type: 96,
            sequence_number: 65535,
            timestamp: u32::MAX,
            ssrc: Ssrc(0x1234_5678),
            csrcs: SsrcList::new(&csrcs),
            extension: Some(RtpExtension {
                profile: 0x1003,
                data: &[1, 1, 9, 0],
            }),
            payload: b"hello",
            padding: 7,
        };
        let mut buf = [0u8; 64];
        let n = repr.emit(&mut buf).unwrap();
        assert_eq!(n, repr.buffer_len());
        let packet = RtpPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(RtpRepr::parse(&packet).unwrap(), repr);
        assert_eq!(packet.padding_len(), 7);
        assert_eq!(
            packet.extension().unwrap().elements().unwrap().next(),
            Some(Ok(ExtensionElement { id: 1, data: &[9] }))
        );
    }
}
