//! The one error type of this crate.

use core::fmt;

/// What is wrong with a packet being parsed, or with a request to build one.
///
/// Variants fall into two groups, so callers can tell who is to blame:
/// *malformed input* (the peer sent a broken packet; drop it and count it)
/// and *caller errors* (our own code asked for something the wire format
/// cannot express). [`Error::is_malformed_input`] tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    // ---- malformed input ----
    /// The buffer ends before the fixed part of the header does.
    Truncated,
    /// The version field is not 2 (RFC 3550 §5.1, §6.4.1).
    BadVersion(u8),
    /// The P bit is set but the padding count octet is zero.
    ZeroPadding,
    /// The padding count is larger than the space after the header.
    PaddingTooLong,
    /// An RTCP padding count that is not a multiple of 4 (RFC 3550 §6.4.1
    /// says it is; otherwise the body would end mid-word).
    UnalignedPadding,
    /// The CSRC count points past the end of the packet.
    CsrcPastEnd,
    /// The RTP header extension (its 4-byte header or its declared length)
    /// runs past the end of the packet.
    ExtensionPastEnd,
    /// An RFC 8285 extension element's length runs past the end of the
    /// extension block.
    ExtensionElementPastEnd,
    /// An RTCP length field points past the end of the buffer.
    LengthPastEnd,
    /// The report count of an SR/RR asks for more report blocks than fit
    /// in the packet's length.
    ReportBlocksPastEnd,
    /// An SDES chunk (its SSRC, an item, or the END item and alignment)
    /// runs past the end of the packet's length.
    SdesChunkPastEnd,
    /// A BYE source count asks for more SSRCs than fit in the packet.
    ByeSourcesPastEnd,
    /// A BYE reason length runs past the end of the packet.
    ByeReasonPastEnd,
    /// Bytes are left over where the format allows none (after the last
    /// SDES chunk, after the padding of a BYE reason, or after the last
    /// packet of an RTCP compound packet).
    TrailingBytes,
    /// An RTCP packet other than the last one of a compound packet has
    /// the P bit set (RFC 3550 §6.4.1: only the last one may be padded).
    PaddingNotLast,
    /// A typed RTCP view was asked for on a packet of another type.
    WrongPacketType(u8),

    // ---- caller errors ----
    /// The output buffer is too small for what was to be written.
    BufferTooSmall,
    /// More than 15 CSRCs were given for an RTP header.
    TooManyCsrcs,
    /// More than 31 report blocks were given for one SR/RR.
    TooManyReportBlocks,
    /// More than 31 SSRCs (BYE) or chunks (SDES) were given for one packet.
    TooManySources,
    /// A payload type above 127 was given.
    PayloadTypeOutOfRange,
    /// An SDES item value or BYE reason longer than 255 octets was given.
    TextTooLong,
    /// The END item type (0) was given as an SDES item to write.
    SdesEndItem,
    /// A block that the format counts in 32-bit words (an RTP header
    /// extension, an SR/RR profile-specific extension) is not a multiple
    /// of 4 octets long.
    NotWordAligned,
    /// The packet would be longer than its length field can express.
    PacketTooLong,
    /// An RFC 8285 extension element has an ID or length its header form
    /// cannot carry (one-byte form: ID 1-14, 1-16 octets; two-byte form:
    /// ID 1-255, 0-255 octets).
    BadExtensionElement,
    /// An RFC 4733 volume above 63 was given.
    VolumeOutOfRange,
}

impl Error {
    /// True if the error describes a broken packet from the network, false
    /// if it describes a request from our own code that cannot be met.
    #[must_use]
    pub const fn is_malformed_input(&self) -> bool {
        matches!(
            self,
            Error::Truncated
                | Error::BadVersion(_)
                | Error::ZeroPadding
                | Error::PaddingTooLong
                | Error::UnalignedPadding
                | Error::CsrcPastEnd
                | Error::ExtensionPastEnd
                | Error::ExtensionElementPastEnd
                | Error::LengthPastEnd
                | Error::ReportBlocksPastEnd
                | Error::SdesChunkPastEnd
                | Error::ByeSourcesPastEnd
                | Error::ByeReasonPastEnd
                | Error::TrailingBytes
                | Error::PaddingNotLast
                | Error::WrongPacketType(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("packet truncated before the end of its fixed header"),
            Error::BadVersion(v) => write!(f, "version {v}, expected 2"),
            Error::ZeroPadding => f.write_str("padding bit set but padding count is zero"),
            Error::PaddingTooLong => f.write_str("padding count longer than the packet body"),
            Error::UnalignedPadding => f.write_str("RTCP padding count not a multiple of 4"),
            Error::CsrcPastEnd => f.write_str("CSRC list runs past the end of the packet"),
            Error::ExtensionPastEnd => {
                f.write_str("RTP header extension runs past the end of the packet")
            }
            Error::ExtensionElementPastEnd => {
                f.write_str("header extension element runs past the end of the extension")
            }
            Error::LengthPastEnd => {
                f.write_str("RTCP length field runs past the end of the buffer")
            }
            Error::ReportBlocksPastEnd => f.write_str("report blocks run past the RTCP length"),
            Error::SdesChunkPastEnd => f.write_str("SDES chunk runs past the RTCP length"),
            Error::ByeSourcesPastEnd => f.write_str("BYE SSRC list runs past the RTCP length"),
            Error::ByeReasonPastEnd => f.write_str("BYE reason runs past the RTCP length"),
            Error::TrailingBytes => f.write_str("unexpected trailing bytes"),
            Error::PaddingNotLast => {
                f.write_str("padding on an RTCP packet that is not last in the compound")
            }
            Error::WrongPacketType(pt) => write!(f, "unexpected RTCP packet type {pt}"),
            Error::BufferTooSmall => f.write_str("output buffer too small"),
            Error::TooManyCsrcs => f.write_str("more than 15 CSRCs"),
            Error::TooManyReportBlocks => f.write_str("more than 31 report blocks"),
            Error::TooManySources => f.write_str("more than 31 sources in one RTCP packet"),
            Error::PayloadTypeOutOfRange => f.write_str("payload type above 127"),
            Error::TextTooLong => f.write_str("text longer than 255 octets"),
            Error::SdesEndItem => f.write_str("SDES END item given as an item to write"),
            Error::NotWordAligned => f.write_str("block length is not a multiple of 4 octets"),
            Error::PacketTooLong => f.write_str("packet too long for its length field"),
            Error::BadExtensionElement => {
                f.write_str("extension element ID or length not representable")
            }
            Error::VolumeOutOfRange => f.write_str("telephone-event volume above 63"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn is_small_and_copy() {
        // Wire errors ride along every dropped packet; keep them tiny.
        assert!(size_of::<Error>() <= 2);
        let e = Error::BadVersion(3);
        let f = e;
        assert_eq!(e, f);
    }

    #[test]
    fn display_says_what_is_wrong() {
        assert_eq!(Error::BadVersion(1).to_string(), "version 1, expected 2");
        assert_eq!(
            Error::WrongPacketType(204).to_string(),
            "unexpected RTCP packet type 204"
        );
        assert!(Error::Truncated.is_malformed_input());
        assert!(!Error::BufferTooSmall.is_malformed_input());
        let boxed: Box<dyn std::error::Error> = Box::new(Error::ZeroPadding);
        assert!(boxed.to_string().contains("padding"));
    }
}
