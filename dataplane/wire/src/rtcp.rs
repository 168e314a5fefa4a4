//! RTCP: RFC 3550 §6.4.1 (SR), §6.4.2 (RR), §6.5 (SDES), §6.6 (BYE) and
//! §6.1 (compound packets).
//!
//! Every RTCP packet starts with the same 4-byte header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|  count  |      PT       |  length (32-bit words − 1)    |
//! ```
//!
//! [`RtcpPacket`] is a view on that header and the body it delimits. The
//! typed views [`SenderReportPacket`], [`ReceiverReportPacket`],
//! [`SdesPacket`] and [`ByePacket`] check their own layout in
//! `new_checked`, after which nothing they offer can panic or fail.
//! [`CompoundPacket`] checks a whole datagram once and then iterates over
//! [`TypedRtcpPacket`]s; types this crate does not decode (APP 204, RTPFB
//! 205, PSFB 206, XR 207 and anything newer) come out as
//! [`TypedRtcpPacket::Other`].
//!
//! Building goes through [`SenderReportRepr`], [`ReceiverReportRepr`],
//! [`ByeRepr`], [`SdesBuilder`] and [`CompoundBuilder`], all writing into
//! the caller's buffer. They never write padding: RFC 3550 only needs it
//! for encryption, which SRTCP handles elsewhere.

use core::fmt;
use core::iter::FusedIterator;
use core::ops::Range;

use crate::bytes::{align4, read_u16, read_u32, write_u16, write_u32};
use crate::{Error, Ssrc, SsrcList};

mod field {
    use core::ops::Range;

    pub(super) const VPC: usize = 0;
    pub(super) const PT: usize = 1;
    pub(super) const LENGTH: Range<usize> = 2..4;
    pub(super) const BODY: usize = 4;

    // SR and RR: sender SSRC first.
    pub(super) const SENDER_SSRC: Range<usize> = 4..8;
    // SR sender info (§6.4.1).
    pub(super) const NTP: Range<usize> = 8..16;
    pub(super) const NTP_SECONDS: Range<usize> = 8..12;
    pub(super) const NTP_FRACTION: Range<usize> = 12..16;
    pub(super) const RTP_TS: Range<usize> = 16..20;
    pub(super) const PACKET_COUNT: Range<usize> = 20..24;
    pub(super) const OCTET_COUNT: Range<usize> = 24..28;
    pub(super) const SR_BLOCKS: usize = 28;
    pub(super) const RR_BLOCKS: usize = 8;

    // Report block, relative to its start.
    pub(super) const RB_SSRC: Range<usize> = 0..4;
    pub(super) const RB_FRACTION: usize = 4;
    pub(super) const RB_CUMULATIVE: Range<usize> = 5..8;
    pub(super) const RB_HIGHEST_SEQ: Range<usize> = 8..12;
    pub(super) const RB_JITTER: Range<usize> = 12..16;
    pub(super) const RB_LSR: Range<usize> = 16..20;
    pub(super) const RB_DLSR: Range<usize> = 20..24;
}

/// Length of the common RTCP header.
pub const HEADER_LEN: usize = field::BODY;
/// Length of one report block (§6.4.1).
pub const REPORT_BLOCK_LEN: usize = 24;
/// The largest value of the 5-bit count field.
pub const MAX_COUNT: usize = 31;
/// The only RTCP version this crate reads or writes.
pub const VERSION: u8 = 2;

const FLAG_PADDING: u8 = 0x20;
/// The length field counts words minus one, so a packet is at most this long.
const MAX_PACKET_LEN: usize = (u16::MAX as usize + 1) * 4;

/// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtcpPacketType {
    /// 200, sender report.
    SenderReport,
    /// 201, receiver report.
    ReceiverReport,
    /// 202, source description.
    SourceDescription,
    /// 203, goodbye.
    Goodbye,
    /// 204, application-defined.
    ApplicationDefined,
    /// 205, transport-layer feedback (RFC 4585).
    TransportFeedback,
    /// 206, payload-specific feedback (RFC 4585).
    PayloadFeedback,
    /// 207, extended report (RFC 3611).
    ExtendedReport,
    /// Any other value.
    Unassigned(u8),
}

impl From<u8> for RtcpPacketType {
    fn from(v: u8) -> Self {
        match v {
            200 => RtcpPacketType::SenderReport,
            201 => RtcpPacketType::ReceiverReport,
            202 => RtcpPacketType::SourceDescription,
            203 => RtcpPacketType::Goodbye,
            204 => RtcpPacketType::ApplicationDefined,
            205 => RtcpPacketType::TransportFeedback,
            206 => RtcpPacketType::PayloadFeedback,
            207 => RtcpPacketType::ExtendedReport,
            other => RtcpPacketType::Unassigned(other),
        }
    }
}

impl From<RtcpPacketType> for u8 {
    fn from(v: RtcpPacketType) -> Self {
        match v {
            RtcpPacketType::SenderReport => 200,
            RtcpPacketType::ReceiverReport => 201,
            RtcpPacketType::SourceDescription => 202,
            RtcpPacketType::Goodbye => 203,
            RtcpPacketType::ApplicationDefined => 204,
            RtcpPacketType::TransportFeedback => 205,
            RtcpPacketType::PayloadFeedback => 206,
            RtcpPacketType::ExtendedReport => 207,
            RtcpPacketType::Unassigned(other) => other,
        }
    }
}

const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_SDES: u8 = 202;
const PT_BYE: u8 = 203;

/// Tells RTCP from RTP on a port carrying both (RFC 5761 §4): the second
/// octet of RTCP, its packet type, falls in 192–223, which as an RTP
/// marker-plus-payload-type octet would mean PT 64–95, a range RTP
/// payload types avoid for exactly this reason.
#[inline]
#[must_use]
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram.get(1), Some(192..=223))
}

// ---------------------------------------------------------------------------
// Common header view
// ---------------------------------------------------------------------------

/// A view on one RTCP packet of any type: the common header and the body
/// its length field delimits. The buffer may extend past that length (the
/// rest of a compound packet); accessors only look at the packet itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RtcpPacket<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        RtcpPacket { buffer }
    }

    /// Wraps a buffer after checking the version, that the length field
    /// fits in the buffer and that any padding fits in the packet.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the lengths only (not the version).
    pub fn check_len(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let total = self.total_len();
        if total > buf.len() {
            return Err(Error::LengthPastEnd);
        }
        if self.has_padding() {
            let count = usize::from(buf[total - 1]);
            if count == 0 {
                return Err(Error::ZeroPadding);
            }
            if HEADER_LEN + count > total {
                return Err(Error::PaddingTooLong);
            }
            // Keeps the body whole words, which SR/RR extensions and SDES
            // alignment rely on.
            if count % 4 != 0 {
                return Err(Error::UnalignedPadding);
            }
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VPC] >> 6
    }

    /// P bit.
    #[inline]
    pub fn has_padding(&self) -> bool {
        self.buffer.as_ref()[field::VPC] & FLAG_PADDING != 0
    }

    /// The 5-bit count field (report count, source count, or subtype).
    #[inline]
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::VPC] & 0x1f
    }

    /// Packet type.
    #[inline]
    pub fn packet_type(&self) -> RtcpPacketType {
        RtcpPacketType::from(self.packet_type_raw())
    }

    /// Packet type as the octet on the wire.
    #[inline]
    pub fn packet_type_raw(&self) -> u8 {
        self.buffer.as_ref()[field::PT]
    }

    /// Length field: the packet's length in 32-bit words, minus one.
    #[inline]
    pub fn length(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Length of the packet in octets, header and padding included.
    #[inline]
    pub fn total_len(&self) -> usize {
        (usize::from(self.length()) + 1) * 4
    }

    /// Padding octets at the end, count octet included (0 without P).
    #[inline]
    pub fn padding_len(&self) -> usize {
        if self.has_padding() {
            usize::from(self.buffer.as_ref()[self.total_len() - 1])
        } else {
            0
        }
    }

    /// The packet's octets, header to padding, without what follows it.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.total_len()]
    }

    /// The body: after the header, before the padding.
    #[inline]
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[self.body_range()]
    }

    #[inline]
    fn body_range(&self) -> Range<usize> {
        HEADER_LEN..self.content_end()
    }

    /// End of the packet's content (start of padding), from its start.
    #[inline]
    fn content_end(&self) -> usize {
        self.total_len() - self.padding_len()
    }
}

// ---------------------------------------------------------------------------
// Report blocks
// ---------------------------------------------------------------------------

/// A view on one 24-octet report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ReportBlock<T> {
    /// Wraps a buffer of at least 24 octets.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        if buffer.as_ref().len() < REPORT_BLOCK_LEN {
            return Err(Error::Truncated);
        }
        Ok(ReportBlock { buffer })
    }

    /// SSRC of the source this block reports on.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(read_u32(self.buffer.as_ref(), field::RB_SSRC))
    }

    /// Fraction lost since the previous report, in 1/256ths.
    #[inline]
    pub fn fraction_lost(&self) -> u8 {
        self.buffer.as_ref()[field::RB_FRACTION]
    }

    /// Cumulative number of packets lost: a signed 24-bit value (negative
    /// when duplicates outnumber losses).
    #[inline]
    pub fn cumulative_lost(&self) -> i32 {
        let b = &self.buffer.as_ref()[field::RB_CUMULATIVE];
        // Place the 24 bits at the top, then shift back to sign-extend.
        i32::from_be_bytes([b[0], b[1], b[2], 0]) >> 8
    }

    /// Extended highest sequence number received.
    #[inline]
    pub fn extended_highest_seq(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::RB_HIGHEST_SEQ)
    }

    /// Interarrival jitter, in timestamp units.
    #[inline]
    pub fn jitter(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::RB_JITTER)
    }

    /// Last SR timestamp (middle 32 bits of its NTP timestamp).
    #[inline]
    pub fn last_sr(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::RB_LSR)
    }

    /// Delay since last SR, in 1/65536 s.
    #[inline]
    pub fn delay_since_last_sr(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::RB_DLSR)
    }
}

impl<T: AsRef<[u8]>> ReportBlock<T> {
    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ReportBlock<T> {
    /// Sets the SSRC the block reports on (when relaying reports across a
    /// gateway that rewrites SSRCs).
    #[inline]
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        write_u32(self.buffer.as_mut(), field::RB_SSRC, ssrc.0);
    }
}

/// A report block in parsed form, and the builder for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlockRepr {
    /// SSRC of the source reported on.
    pub ssrc: Ssrc,
    /// Fraction lost, in 1/256ths.
    pub fraction_lost: u8,
    /// Cumulative packets lost. Emitting clamps it to the signed 24-bit
    /// range, as RFC 3550 §6.4.1 prescribes for overflow.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter.
    pub jitter: u32,
    /// Last SR timestamp.
    pub last_sr: u32,
    /// Delay since last SR.
    pub delay_since_last_sr: u32,
}

impl ReportBlockRepr {
    /// Reads a block.
    #[must_use]
    pub fn parse<T: AsRef<[u8]>>(block: &ReportBlock<T>) -> Self {
        ReportBlockRepr {
            ssrc: block.ssrc(),
            fraction_lost: block.fraction_lost(),
            cumulative_lost: block.cumulative_lost(),
            extended_highest_seq: block.extended_highest_seq(),
            jitter: block.jitter(),
            last_sr: block.last_sr(),
            delay_since_last_sr: block.delay_since_last_sr(),
        }
    }

    /// Writes the block into the first 24 octets of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let buf = buf
            .get_mut(..REPORT_BLOCK_LEN)
            .ok_or(Error::BufferTooSmall)?;
        write_u32(buf, field::RB_SSRC, self.ssrc.0);
        buf[field::RB_FRACTION] = self.fraction_lost;
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff);
        buf[field::RB_CUMULATIVE].copy_from_slice(&lost.to_be_bytes()[1..]);
        write_u32(buf, field::RB_HIGHEST_SEQ, self.extended_highest_seq);
        write_u32(buf, field::RB_JITTER, self.jitter);
        write_u32(buf, field::RB_LSR, self.last_sr);
        write_u32(buf, field::RB_DLSR, self.delay_since_last_sr);
        Ok(REPORT_BLOCK_LEN)
    }
}

/// Iterator over the report blocks of a checked SR or RR.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl<'a> ReportBlocks<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        ReportBlocks {
            chunks: bytes.chunks_exact(REPORT_BLOCK_LEN),
        }
    }
}

impl<'a> Iterator for ReportBlocks<'a> {
    type Item = ReportBlock<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        self.chunks.next().map(|buffer| ReportBlock { buffer })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}
impl FusedIterator for ReportBlocks<'_> {}

/// The report blocks of an SR/RR repr: still on the wire after parsing, or
/// the caller's slice when building. Equality compares contents.
#[derive(Clone, Copy)]
pub struct ReportBlockList<'a>(BlockSource<'a>);

#[derive(Clone, Copy)]
enum BlockSource<'a> {
    Wire(&'a [u8]),
    Reprs(&'a [ReportBlockRepr]),
}

impl<'a> ReportBlockList<'a> {
    /// The empty list.
    pub const EMPTY: ReportBlockList<'static> = ReportBlockList(BlockSource::Reprs(&[]));

    /// A list backed by the caller's blocks.
    #[must_use]
    pub const fn new(blocks: &'a [ReportBlockRepr]) -> Self {
        ReportBlockList(BlockSource::Reprs(blocks))
    }

    /// Number of blocks.
    #[must_use]
    pub const fn len(&self) -> usize {
        match self.0 {
            BlockSource::Wire(b) => b.len() / REPORT_BLOCK_LEN,
            BlockSource::Reprs(r) => r.len(),
        }
    }

    /// True if there are no blocks.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block at `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<ReportBlockRepr> {
        match self.0 {
            BlockSource::Wire(b) => {
                let at = index.checked_mul(REPORT_BLOCK_LEN)?;
                let bytes = b.get(at..at.checked_add(REPORT_BLOCK_LEN)?)?;
                Some(ReportBlockRepr::parse(&ReportBlock { buffer: bytes }))
            }
            BlockSource::Reprs(r) => r.get(index).copied(),
        }
    }

    /// Iterates over the blocks.
    #[must_use]
    pub fn iter(&self) -> ReportBlockListIter<'a> {
        ReportBlockListIter {
            list: *self,
            next: 0,
        }
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut pos = 0;
        for block in self.iter() {
            pos += block.emit(&mut buf[pos..])?;
        }
        Ok(pos)
    }
}

/// Iterator over a [`ReportBlockList`].
#[derive(Debug, Clone)]
pub struct ReportBlockListIter<'a> {
    list: ReportBlockList<'a>,
    next: usize,
}

impl Iterator for ReportBlockListIter<'_> {
    type Item = ReportBlockRepr;

    fn next(&mut self) -> Option<ReportBlockRepr> {
        let item = self.list.get(self.next)?;
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.list.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for ReportBlockListIter<'_> {}
impl FusedIterator for ReportBlockListIter<'_> {}

impl Default for ReportBlockList<'_> {
    fn default() -> Self {
        ReportBlockList::EMPTY
    }
}

impl PartialEq for ReportBlockList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ReportBlockList<'_> {}

impl fmt::Debug for ReportBlockList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

// ---------------------------------------------------------------------------
// SR and RR
// ---------------------------------------------------------------------------

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SenderInfo {
    /// NTP timestamp, seconds in the high 32 bits, fraction in the low.
    pub ntp_timestamp: u64,
    /// RTP timestamp corresponding to the NTP timestamp.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
}

/// Checks the layout shared by SR and RR: type, report blocks fitting.
fn check_report<T: AsRef<[u8]>>(
    packet: &RtcpPacket<T>,
    pt: u8,
    blocks_at: usize,
) -> Result<(), Error> {
    if packet.packet_type_raw() != pt {
        return Err(Error::WrongPacketType(packet.packet_type_raw()));
    }
    let end = packet.content_end();
    if end < blocks_at {
        return Err(Error::Truncated);
    }
    if blocks_at + usize::from(packet.count()) * REPORT_BLOCK_LEN > end {
        return Err(Error::ReportBlocksPastEnd);
    }
    Ok(())
}

macro_rules! report_view_common {
    ($name:ident, $blocks_at:expr) => {
        impl<T: AsRef<[u8]>> $name<T> {
            /// The common RTCP view of this packet.
            #[inline]
            pub fn as_rtcp(&self) -> &RtcpPacket<T> {
                &self.packet
            }

            /// Gives the buffer back.
            #[inline]
            pub fn into_inner(self) -> T {
                self.packet.buffer
            }

            /// SSRC of the packet's sender.
            #[inline]
            pub fn ssrc(&self) -> Ssrc {
                Ssrc(read_u32(self.packet.buffer.as_ref(), field::SENDER_SSRC))
            }

            /// Number of report blocks (the RC field).
            #[inline]
            pub fn report_count(&self) -> u8 {
                self.packet.count()
            }

            /// The report blocks.
            #[inline]
            pub fn report_blocks(&self) -> ReportBlocks<'_> {
                ReportBlocks::new(&self.packet.buffer.as_ref()[self.blocks_range()])
            }

            /// The report block at `index`.
            #[inline]
            pub fn report_block(&self, index: usize) -> Option<ReportBlock<&[u8]>> {
                self.report_blocks().nth(index)
            }

            /// Profile-specific extension after the report blocks (§6.4.1).
            #[inline]
            pub fn profile_extension(&self) -> &[u8] {
                let start = self.blocks_range().end;
                &self.packet.buffer.as_ref()[start..self.packet.content_end()]
            }

            #[inline]
            fn blocks_range(&self) -> Range<usize> {
                $blocks_at..$blocks_at + usize::from(self.packet.count()) * REPORT_BLOCK_LEN
            }
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            /// Sets the sender SSRC.
            #[inline]
            pub fn set_ssrc(&mut self, ssrc: Ssrc) {
                write_u32(self.packet.buffer.as_mut(), field::SENDER_SSRC, ssrc.0);
            }

            /// The report block at `index`, mutable.
            pub fn report_block_mut(&mut self, index: usize) -> Option<ReportBlock<&mut [u8]>> {
                let range = self.blocks_range();
                self.packet.buffer.as_mut()[range]
                    .chunks_exact_mut(REPORT_BLOCK_LEN)
                    .nth(index)
                    .map(|buffer| ReportBlock { buffer })
            }
        }
    };
}

/// A view on a sender report (PT 200, RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReportPacket<T: AsRef<[u8]>> {
    packet: RtcpPacket<T>,
}

impl<T: AsRef<[u8]>> SenderReportPacket<T> {
    /// Wraps a buffer after checking the header, the sender info and that
    /// the report blocks fit.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = RtcpPacket::new_checked(buffer)?;
        check_report(&packet, PT_SR, field::SR_BLOCKS)?;
        Ok(SenderReportPacket { packet })
    }

    /// The sender information.
    #[inline]
    pub fn sender_info(&self) -> SenderInfo {
        let buf = self.packet.buffer.as_ref();
        SenderInfo {
            ntp_timestamp: u64::from(read_u32(buf, field::NTP_SECONDS)) << 32
                | u64::from(read_u32(buf, field::NTP_FRACTION)),
            rtp_timestamp: read_u32(buf, field::RTP_TS),
            packet_count: read_u32(buf, field::PACKET_COUNT),
            octet_count: read_u32(buf, field::OCTET_COUNT),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SenderReportPacket<T> {
    /// Overwrites the sender information.
    pub fn set_sender_info(&mut self, info: &SenderInfo) {
        let buf = self.packet.buffer.as_mut();
        buf[field::NTP].copy_from_slice(&info.ntp_timestamp.to_be_bytes());
        write_u32(buf, field::RTP_TS, info.rtp_timestamp);
        write_u32(buf, field::PACKET_COUNT, info.packet_count);
        write_u32(buf, field::OCTET_COUNT, info.octet_count);
    }
}

report_view_common!(SenderReportPacket, field::SR_BLOCKS);

/// A view on a receiver report (PT 201, RFC 3550 §6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReportPacket<T: AsRef<[u8]>> {
    packet: RtcpPacket<T>,
}

impl<T: AsRef<[u8]>> ReceiverReportPacket<T> {
    /// Wraps a buffer after checking the header and that the report
    /// blocks fit.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = RtcpPacket::new_checked(buffer)?;
        check_report(&packet, PT_RR, field::RR_BLOCKS)?;
        Ok(ReceiverReportPacket { packet })
    }
}

report_view_common!(ReceiverReportPacket, field::RR_BLOCKS);

/// Writes the common header for a packet of `len` octets (a multiple of 4).
fn emit_header(buf: &mut [u8], count: u8, pt: u8, len: usize) -> Result<(), Error> {
    debug_assert!(len % 4 == 0 && len >= HEADER_LEN);
    let words = u16::try_from(len / 4 - 1).map_err(|_| Error::PacketTooLong)?;
    buf[field::VPC] = (VERSION << 6) | (count & 0x1f);
    buf[field::PT] = pt;
    write_u16(buf, field::LENGTH, words);
    Ok(())
}

/// Shared emit checks for SR/RR: block count, extension alignment, size.
fn report_len(blocks_at: usize, reports: &ReportBlockList<'_>, ext: &[u8]) -> Result<usize, Error> {
    if reports.len() > MAX_COUNT {
        return Err(Error::TooManyReportBlocks);
    }
    if ext.len() % 4 != 0 {
        return Err(Error::NotWordAligned);
    }
    let len = blocks_at + reports.len() * REPORT_BLOCK_LEN + ext.len();
    if len > MAX_PACKET_LEN {
        return Err(Error::PacketTooLong);
    }
    Ok(len)
}

/// A sender report in parsed form, and the builder for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderReportRepr<'a> {
    /// SSRC of the sender.
    pub ssrc: Ssrc,
    /// Sender information.
    pub sender_info: SenderInfo,
    /// Report blocks, at most 31.
    pub reports: ReportBlockList<'a>,
    /// Profile-specific extension, a multiple of 4 octets (usually empty).
    pub profile_extension: &'a [u8],
}

impl<'a> SenderReportRepr<'a> {
    /// Parses a sender report (checking it again).
    pub fn parse(packet: &SenderReportPacket<&'a [u8]>) -> Result<Self, Error> {
        let packet = SenderReportPacket::new_checked(packet.packet.buffer)?;
        let buf: &'a [u8] = packet.packet.buffer;
        Ok(SenderReportRepr {
            ssrc: packet.ssrc(),
            sender_info: packet.sender_info(),
            reports: ReportBlockList(BlockSource::Wire(&buf[packet.blocks_range()])),
            profile_extension: &buf[packet.blocks_range().end..packet.packet.content_end()],
        })
    }

    /// Length [`emit`](Self::emit) writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        field::SR_BLOCKS + self.reports.len() * REPORT_BLOCK_LEN + self.profile_extension.len()
    }

    /// Writes the packet at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = report_len(field::SR_BLOCKS, &self.reports, self.profile_extension)?;
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        // Fits in 5 bits: report_len checked it against MAX_COUNT.
        emit_header(buf, self.reports.len() as u8, PT_SR, len)?;
        write_u32(buf, field::SENDER_SSRC, self.ssrc.0);
        let mut view = SenderReportPacket {
            packet: RtcpPacket::new_unchecked(&mut *buf),
        };
        view.set_sender_info(&self.sender_info);
        let n = self.reports.emit(&mut buf[field::SR_BLOCKS..])?;
        buf[field::SR_BLOCKS + n..].copy_from_slice(self.profile_extension);
        Ok(len)
    }
}

/// A receiver report in parsed form, and the builder for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiverReportRepr<'a> {
    /// SSRC of the packet's sender.
    pub ssrc: Ssrc,
    /// Report blocks, at most 31.
    pub reports: ReportBlockList<'a>,
    /// Profile-specific extension, a multiple of 4 octets (usually empty).
    pub profile_extension: &'a [u8],
}

impl<'a> ReceiverReportRepr<'a> {
    /// Parses a receiver report (checking it again).
    pub fn parse(packet: &ReceiverReportPacket<&'a [u8]>) -> Result<Self, Error> {
        let packet = ReceiverReportPacket::new_checked(packet.packet.buffer)?;
        let buf: &'a [u8] = packet.packet.buffer;
        Ok(ReceiverReportRepr {
            ssrc: packet.ssrc(),
            reports: ReportBlockList(BlockSource::Wire(&buf[packet.blocks_range()])),
            profile_extension: &buf[packet.blocks_range().end..packet.packet.content_end()],
        })
    }

    /// Length [`emit`](Self::emit) writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        field::RR_BLOCKS + self.reports.len() * REPORT_BLOCK_LEN + self.profile_extension.len()
    }

    /// Writes the packet at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = report_len(field::RR_BLOCKS, &self.reports, self.profile_extension)?;
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        // Fits in 5 bits: report_len checked it against MAX_COUNT.
        emit_header(buf, self.reports.len() as u8, PT_RR, len)?;
        write_u32(buf, field::SENDER_SSRC, self.ssrc.0);
        let n = self.reports.emit(&mut buf[field::RR_BLOCKS..])?;
        buf[field::RR_BLOCKS + n..].copy_from_slice(self.profile_extension);
        Ok(len)
    }
}

// ---------------------------------------------------------------------------
// SDES
// ---------------------------------------------------------------------------

/// SDES item types (RFC 3550 §6.5, §12.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdesItemType {
    /// 1, canonical end-point identifier.
    Cname,
    /// 2, user name.
    Name,
    /// 3, e-mail address.
    Email,
    /// 4, phone number.
    Phone,
    /// 5, geographic location.
    Location,
    /// 6, application or tool name.
    Tool,
    /// 7, notice/status.
    Note,
    /// 8, private extension (value starts with a prefix length and prefix).
    Private,
    /// Any other non-zero type (0 is END and never appears as an item).
    Other(u8),
}

impl From<u8> for SdesItemType {
    fn from(v: u8) -> Self {
        match v {
            1 => SdesItemType::Cname,
            2 => SdesItemType::Name,
            3 => SdesItemType::Email,
            4 => SdesItemType::Phone,
            5 => SdesItemType::Location,
            6 => SdesItemType::Tool,
            7 => SdesItemType::Note,
            8 => SdesItemType::Private,
            other => SdesItemType::Other(other),
        }
    }
}

impl From<SdesItemType> for u8 {
    fn from(v: SdesItemType) -> Self {
        match v {
            SdesItemType::Cname => 1,
            SdesItemType::Name => 2,
            SdesItemType::Email => 3,
            SdesItemType::Phone => 4,
            SdesItemType::Location => 5,
            SdesItemType::Tool => 6,
            SdesItemType::Note => 7,
            SdesItemType::Private => 8,
            SdesItemType::Other(other) => other,
        }
    }
}

/// One SDES item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// Item type.
    pub kind: SdesItemType,
    /// Value: UTF-8 text per RFC 3550, but not validated here.
    pub value: &'a [u8],
}

/// One SDES chunk: an SSRC and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: Ssrc,
    /// The items, up to (not including) the END item.
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// Iterates over the items.
    #[must_use]
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { rest: self.items }
    }

    /// The first CNAME item's value, if any.
    #[must_use]
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesItemType::Cname)
            .map(|i| i.value)
    }
}

/// Iterator over the items of a checked SDES chunk.
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        // The chunk was checked, so the `?`s only guard against misuse.
        let (&kind, rest) = self.rest.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let value = rest.get(..usize::from(len))?;
        self.rest = &rest[usize::from(len)..];
        Some(SdesItem {
            kind: SdesItemType::from(kind),
            value,
        })
    }
}

impl FusedIterator for SdesItems<'_> {}

/// Reads one chunk starting at `body[pos..]`, where `pos` is 32-bit
/// aligned relative to the packet start (the body starts at offset 4).
/// Returns the chunk and the offset of the next one.
fn read_chunk(body: &[u8], pos: usize) -> Result<(SdesChunk<'_>, usize), Error> {
    let ssrc = body.get(pos..pos + 4).ok_or(Error::SdesChunkPastEnd)?;
    let items_start = pos + 4;
    let mut at = items_start;
    loop {
        let &kind = body.get(at).ok_or(Error::SdesChunkPastEnd)?;
        if kind == 0 {
            // END, then null octets up to the next word boundary (§6.5).
            let next = align4(at + 1);
            if next > body.len() {
                return Err(Error::SdesChunkPastEnd);
            }
            let chunk = SdesChunk {
                ssrc: Ssrc(read_u32(ssrc, 0..4)),
                items: &body[items_start..at],
            };
            return Ok((chunk, next));
        }
        let &len = body.get(at + 1).ok_or(Error::SdesChunkPastEnd)?;
        at += 2 + usize::from(len);
    }
}

/// A view on a source description (PT 202, RFC 3550 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesPacket<T: AsRef<[u8]>> {
    packet: RtcpPacket<T>,
}

impl<T: AsRef<[u8]>> SdesPacket<T> {
    /// Wraps a buffer after walking every chunk: each must end with an END
    /// item and alignment inside the packet, and the source count must
    /// account for the whole body.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = RtcpPacket::new_checked(buffer)?;
        if packet.packet_type_raw() != PT_SDES {
            return Err(Error::WrongPacketType(packet.packet_type_raw()));
        }
        let body = packet.body();
        let mut pos = 0;
        for _ in 0..packet.count() {
            pos = read_chunk(body, pos)?.1;
        }
        if pos != body.len() {
            return Err(Error::TrailingBytes);
        }
        Ok(SdesPacket { packet })
    }

    /// The common RTCP view of this packet.
    #[inline]
    pub fn as_rtcp(&self) -> &RtcpPacket<T> {
        &self.packet
    }

    /// Number of chunks (the SC field).
    #[inline]
    pub fn source_count(&self) -> u8 {
        self.packet.count()
    }

    /// Iterates over the chunks.
    pub fn chunks(&self) -> SdesChunks<'_> {
        SdesChunks {
            body: self.packet.body(),
            pos: 0,
            left: self.packet.count(),
        }
    }
}

/// Iterator over the chunks of a checked SDES packet.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    body: &'a [u8],
    pos: usize,
    left: u8,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 {
            return None;
        }
        // Cannot fail on a checked packet; ending quietly is the safe
        // answer should it ever.
        let Ok((chunk, next)) = read_chunk(self.body, self.pos) else {
            self.left = 0;
            return None;
        };
        self.pos = next;
        self.left -= 1;
        Some(chunk)
    }
}

impl FusedIterator for SdesChunks<'_> {}

/// Writes an SDES packet chunk by chunk into the caller's buffer.
///
/// ```
/// # use tandem_wire::rtcp::{SdesBuilder, SdesItemType};
/// # use tandem_wire::Ssrc;
/// let mut buf = [0u8; 64];
/// let mut b = SdesBuilder::new(&mut buf);
/// b.chunk(Ssrc(0x1234))?.item(SdesItemType::Cname, b"gw1@tandem")?;
/// let len = b.finish()?;
/// assert_eq!(len, 24); // header, SSRC, item (2 + 10), END and alignment
/// # Ok::<(), tandem_wire::Error>(())
/// ```
#[derive(Debug)]
pub struct SdesBuilder<'b> {
    buf: &'b mut [u8],
    pos: usize,
    chunks: u8,
    in_chunk: bool,
}

impl<'b> SdesBuilder<'b> {
    /// Starts an SDES packet at the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        SdesBuilder {
            buf,
            pos: HEADER_LEN,
            chunks: 0,
            in_chunk: false,
        }
    }

    /// Writes a whole SDES packet with one chunk holding one CNAME item,
    /// the minimum RFC 3550 §6.1 asks of every compound packet.
    pub fn emit_cname(buf: &mut [u8], ssrc: Ssrc, cname: &[u8]) -> Result<usize, Error> {
        let mut b = SdesBuilder::new(buf);
        b.chunk(ssrc)?.item(SdesItemType::Cname, cname)?;
        b.finish()
    }

    /// Starts a new chunk for `ssrc`, ending the previous one.
    pub fn chunk(&mut self, ssrc: Ssrc) -> Result<&mut Self, Error> {
        if usize::from(self.chunks) == MAX_COUNT {
            return Err(Error::TooManySources);
        }
        self.end_chunk()?;
        self.put(&ssrc.0.to_be_bytes())?;
        self.chunks += 1;
        self.in_chunk = true;
        Ok(self)
    }

    /// Adds an item to the current chunk.
    ///
    /// # Errors
    /// [`Error::SdesEndItem`] for type 0 or if no chunk was started,
    /// [`Error::TextTooLong`] for a value over 255 octets.
    pub fn item(&mut self, kind: SdesItemType, value: &[u8]) -> Result<&mut Self, Error> {
        let kind = u8::from(kind);
        if kind == 0 || !self.in_chunk {
            return Err(Error::SdesEndItem);
        }
        let len = u8::try_from(value.len()).map_err(|_| Error::TextTooLong)?;
        self.put(&[kind, len])?;
        self.put(value)?;
        Ok(self)
    }

    /// Ends the last chunk, writes the header and returns the length.
    pub fn finish(mut self) -> Result<usize, Error> {
        self.end_chunk()?;
        if self.buf.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall);
        }
        emit_header(self.buf, self.chunks, PT_SDES, self.pos)?;
        Ok(self.pos)
    }

    fn end_chunk(&mut self) -> Result<(), Error> {
        if self.in_chunk {
            // END plus null octets to the next word boundary.
            let end = align4(self.pos + 1);
            self.buf
                .get_mut(self.pos..end)
                .ok_or(Error::BufferTooSmall)?
                .fill(0);
            self.pos = end;
            self.in_chunk = false;
        }
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.pos + bytes.len();
        // Leave room for END and alignment later, and stay inside what
        // the length field can count.
        if align4(end + 1) > MAX_PACKET_LEN {
            return Err(Error::PacketTooLong);
        }
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// BYE
// ---------------------------------------------------------------------------

/// A view on a goodbye packet (PT 203, RFC 3550 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByePacket<T: AsRef<[u8]>> {
    packet: RtcpPacket<T>,
}

impl<T: AsRef<[u8]>> ByePacket<T> {
    /// Wraps a buffer after checking that the SSRC list and any reason fit.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = RtcpPacket::new_checked(buffer)?;
        if packet.packet_type_raw() != PT_BYE {
            return Err(Error::WrongPacketType(packet.packet_type_raw()));
        }
        let body = packet.body();
        let list_len = 4 * usize::from(packet.count());
        let rest = body.get(list_len..).ok_or(Error::ByeSourcesPastEnd)?;
        if let Some((&len, text)) = rest.split_first() {
            let len = usize::from(len);
            if len > text.len() {
                return Err(Error::ByeReasonPastEnd);
            }
            // The reason is padded to the next word and nothing follows it.
            if align4(1 + len) != rest.len() {
                return Err(Error::TrailingBytes);
            }
        }
        Ok(ByePacket { packet })
    }

    /// The common RTCP view of this packet.
    #[inline]
    pub fn as_rtcp(&self) -> &RtcpPacket<T> {
        &self.packet
    }

    /// The SSRCs leaving.
    pub fn sources(&self) -> SsrcList<'_> {
        let body = self.packet.body();
        SsrcList::from_wire(&body[..4 * usize::from(self.packet.count())])
    }

    /// The reason for leaving, if the packet carries one.
    pub fn reason(&self) -> Option<&[u8]> {
        bye_reason(self.packet.body(), self.packet.count())
    }
}

fn bye_reason(body: &[u8], count: u8) -> Option<&[u8]> {
    let rest = body.get(4 * usize::from(count)..)?;
    let (&len, text) = rest.split_first()?;
    text.get(..usize::from(len))
}

/// A goodbye in parsed form, and the builder for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByeRepr<'a> {
    /// SSRCs leaving, at most 31.
    pub sources: SsrcList<'a>,
    /// Reason for leaving, at most 255 octets.
    pub reason: Option<&'a [u8]>,
}

impl<'a> ByeRepr<'a> {
    /// Parses a goodbye (checking it again).
    pub fn parse(packet: &ByePacket<&'a [u8]>) -> Result<Self, Error> {
        let packet = ByePacket::new_checked(packet.packet.buffer)?;
        let buf: &'a [u8] = packet.packet.buffer;
        let body = &buf[packet.packet.body_range()];
        let count = packet.packet.count();
        Ok(ByeRepr {
            sources: SsrcList::from_wire(&body[..4 * usize::from(count)]),
            reason: bye_reason(body, count),
        })
    }

    /// Length [`emit`](Self::emit) writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let reason = self.reason.map_or(0, |r| align4(1 + r.len()));
        HEADER_LEN + 4 * self.sources.len() + reason
    }

    /// Writes the packet at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.sources.len() > MAX_COUNT {
            return Err(Error::TooManySources);
        }
        let reason_len = match self.reason {
            Some(r) => Some(u8::try_from(r.len()).map_err(|_| Error::TextTooLong)?),
            None => None,
        };
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        // Fits in 5 bits: checked against MAX_COUNT above.
        emit_header(buf, self.sources.len() as u8, PT_BYE, len)?;
        let mut pos = HEADER_LEN + 4 * self.sources.len();
        self.sources.write(&mut buf[HEADER_LEN..pos]);
        if let (Some(reason), Some(n)) = (self.reason, reason_len) {
            buf[pos] = n;
            pos += 1;
            buf[pos..pos + reason.len()].copy_from_slice(reason);
            buf[pos + reason.len()..].fill(0);
        }
        Ok(len)
    }
}

// ---------------------------------------------------------------------------
// Compound packets
// ---------------------------------------------------------------------------

/// One packet of a compound packet, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedRtcpPacket<'a> {
    /// SR, PT 200.
    SenderReport(SenderReportPacket<&'a [u8]>),
    /// RR, PT 201.
    ReceiverReport(ReceiverReportPacket<&'a [u8]>),
    /// SDES, PT 202.
    SourceDescription(SdesPacket<&'a [u8]>),
    /// BYE, PT 203.
    Goodbye(ByePacket<&'a [u8]>),
    /// Any other type, header checked, body opaque.
    Other(RtcpPacket<&'a [u8]>),
}

impl<'a> TypedRtcpPacket<'a> {
    /// Checks one packet that exactly fills `bytes`.
    fn check(bytes: &'a [u8]) -> Result<Self, Error> {
        let rtcp = RtcpPacket::new_checked(bytes)?;
        Ok(match rtcp.packet_type_raw() {
            PT_SR => TypedRtcpPacket::SenderReport(SenderReportPacket::new_checked(bytes)?),
            PT_RR => TypedRtcpPacket::ReceiverReport(ReceiverReportPacket::new_checked(bytes)?),
            PT_SDES => TypedRtcpPacket::SourceDescription(SdesPacket::new_checked(bytes)?),
            PT_BYE => TypedRtcpPacket::Goodbye(ByePacket::new_checked(bytes)?),
            _ => TypedRtcpPacket::Other(rtcp),
        })
    }

    /// Wraps one packet of an already checked compound packet by type,
    /// without walking it again.
    fn classify_checked(bytes: &'a [u8]) -> Self {
        let packet = RtcpPacket::new_unchecked(bytes);
        match packet.packet_type_raw() {
            PT_SR => TypedRtcpPacket::SenderReport(SenderReportPacket { packet }),
            PT_RR => TypedRtcpPacket::ReceiverReport(ReceiverReportPacket { packet }),
            PT_SDES => TypedRtcpPacket::SourceDescription(SdesPacket { packet }),
            PT_BYE => TypedRtcpPacket::Goodbye(ByePacket { packet }),
            _ => TypedRtcpPacket::Other(packet),
        }
    }

    /// The common view of the packet, whatever its type.
    #[must_use]
    pub fn as_rtcp(&self) -> RtcpPacket<&'a [u8]> {
        match self {
            TypedRtcpPacket::SenderReport(p) => p.packet,
            TypedRtcpPacket::ReceiverReport(p) => p.packet,
            TypedRtcpPacket::SourceDescription(p) => p.packet,
            TypedRtcpPacket::Goodbye(p) => p.packet,
            TypedRtcpPacket::Other(p) => *p,
        }
    }
}

/// A checked RTCP compound packet (RFC 3550 §6.1): one or more RTCP
/// packets back to back, filling the datagram exactly.
///
/// [`new_checked`](Self::new_checked) checks every packet once; iterating
/// afterwards cannot fail. It does not insist that the first packet be a
/// report or that an SDES CNAME be present, since RFC 5506 reduced-size
/// RTCP drops both rules; [`starts_with_report`](Self::starts_with_report)
/// lets callers that need RFC 3550 §6.1 strictness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompoundPacket<'a> {
    bytes: &'a [u8],
}

impl<'a> CompoundPacket<'a> {
    /// Checks `bytes`: every packet's header and typed layout, lengths
    /// tiling the buffer exactly, and padding only on the last packet.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let mut pos = 0;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            if rest.len() < HEADER_LEN {
                return Err(Error::TrailingBytes);
            }
            let rtcp = RtcpPacket::new_checked(rest)?;
            let end = pos + rtcp.total_len();
            if rtcp.has_padding() && end != bytes.len() {
                return Err(Error::PaddingNotLast);
            }
            TypedRtcpPacket::check(&bytes[pos..end])?;
            pos = end;
        }
        Ok(CompoundPacket { bytes })
    }

    /// The datagram.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterates over the packets.
    #[must_use]
    pub fn iter(&self) -> CompoundIter<'a> {
        CompoundIter { rest: self.bytes }
    }

    /// True if the first packet is an SR or RR, as RFC 3550 §6.1 requires
    /// of full compound packets.
    #[must_use]
    pub fn starts_with_report(&self) -> bool {
        matches!(
            self.iter().next(),
            Some(TypedRtcpPacket::SenderReport(_) | TypedRtcpPacket::ReceiverReport(_))
        )
    }
}

impl<'a> IntoIterator for CompoundPacket<'a> {
    type Item = TypedRtcpPacket<'a>;
    type IntoIter = CompoundIter<'a>;
    fn into_iter(self) -> CompoundIter<'a> {
        self.iter()
    }
}

/// Iterator over the packets of a checked [`CompoundPacket`].
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for CompoundIter<'a> {
    type Item = TypedRtcpPacket<'a>;

    fn next(&mut self) -> Option<TypedRtcpPacket<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // `rest` only ever holds whole packets of a checked compound
        // packet (the field is private and set by `CompoundPacket::iter`),
        // so the split cannot fail; ending quietly beats panicking if it
        // ever did.
        let total = RtcpPacket::new_unchecked(self.rest).total_len();
        let Some((packet, rest)) = self.rest.split_at_checked(total) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        Some(TypedRtcpPacket::classify_checked(packet))
    }
}

impl FusedIterator for CompoundIter<'_> {}

/// Appends RTCP packets into the caller's buffer to form a compound packet.
///
/// ```
/// # use tandem_wire::rtcp::*;
/// # use tandem_wire::Ssrc;
/// let mut buf = [0u8; 256];
/// let mut b = CompoundBuilder::new(&mut buf);
/// b.push_receiver_report(&ReceiverReportRepr { ssrc: Ssrc(1), ..Default::default() })?
///     .push_sdes_cname(Ssrc(1), b"gw1@tandem")?;
/// let len = b.finish();
/// assert_eq!(CompoundPacket::new_checked(&buf[..len])?.iter().count(), 2);
/// # Ok::<(), tandem_wire::Error>(())
/// ```
#[derive(Debug)]
pub struct CompoundBuilder<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> CompoundBuilder<'b> {
    /// Starts a compound packet at the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        CompoundBuilder { buf, pos: 0 }
    }

    /// Appends whatever `write` puts at the start of the slice it is given
    /// (the unused rest of the buffer); `write` returns the length written.
    pub fn push_with(
        &mut self,
        write: impl FnOnce(&mut [u8]) -> Result<usize, Error>,
    ) -> Result<&mut Self, Error> {
        let room = self.buf.len() - self.pos;
        let n = write(&mut self.buf[self.pos..])?;
        // A closure claiming more than it was given is our bug, not the
        // peer's; report it rather than panic on the next push.
        if n > room {
            return Err(Error::BufferTooSmall);
        }
        self.pos += n;
        Ok(self)
    }

    /// Appends a sender report.
    pub fn push_sender_report(&mut self, sr: &SenderReportRepr<'_>) -> Result<&mut Self, Error> {
        self.push_with(|b| sr.emit(b))
    }

    /// Appends a receiver report.
    pub fn push_receiver_report(
        &mut self,
        rr: &ReceiverReportRepr<'_>,
    ) -> Result<&mut Self, Error> {
        self.push_with(|b| rr.emit(b))
    }

    /// Appends an SDES packet with one CNAME.
    pub fn push_sdes_cname(&mut self, ssrc: Ssrc, cname: &[u8]) -> Result<&mut Self, Error> {
        self.push_with(|b| SdesBuilder::emit_cname(b, ssrc, cname))
    }

    /// Appends a goodbye.
    pub fn push_bye(&mut self, bye: &ByeRepr<'_>) -> Result<&mut Self, Error> {
        self.push_with(|b| bye.emit(b))
    }

    /// Appends an already-built packet (APP, feedback, XR…) after checking
    /// that it is exactly one well-formed, unpadded RTCP packet.
    pub fn push_packet(&mut self, packet: &[u8]) -> Result<&mut Self, Error> {
        let rtcp = TypedRtcpPacket::check(packet)?.as_rtcp();
        if rtcp.total_len() != packet.len() {
            return Err(Error::TrailingBytes);
        }
        if rtcp.has_padding() {
            return Err(Error::PaddingNotLast);
        }
        self.push_with(|b| {
            b.get_mut(..packet.len())
                .ok_or(Error::BufferTooSmall)?
                .copy_from_slice(packet);
            Ok(packet.len())
        })
    }

    /// Length written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pos
    }

    /// True if nothing was written yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Returns the total length written.
    #[must_use]
    pub fn finish(self) -> usize {
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SR with one report block followed by SDES CNAME, as a desk phone
    /// sends every few seconds during a call.
    const SR_SDES: [u8; 80] = [
        // SR, RC=1, length 12 words
        0x81, 0xc8, 0x00, 0x0c, //
        0x6b, 0x8b, 0x45, 0x67, // sender SSRC
        0xe9, 0x3c, 0x5a, 0x10, 0x8f, 0x5c, 0x28, 0xf5, // NTP
        0x00, 0x01, 0xf4, 0x00, // RTP timestamp
        0x00, 0x00, 0x01, 0xf4, // packet count 500
        0x00, 0x01, 0x38, 0x80, // octet count 80000
        0x32, 0x7b, 0x23, 0xc6, // report block SSRC
        0x19, 0x00, 0x00, 0x07, // fraction 25/256, cumulative 7
        0x00, 0x01, 0x2c, 0x4a, // extended highest seq
        0x00, 0x00, 0x00, 0x1b, // jitter 27
        0x5a, 0x0f, 0x12, 0x34, // LSR
        0x00, 0x01, 0x80, 0x00, // DLSR 1.5 s
        // SDES, SC=1, length 6 words
        0x81, 0xca, 0x00, 0x06, //
        0x6b, 0x8b, 0x45, 0x67, //
        0x01, 0x0f, b'u', b's', b'e', b'r', b'@', b'1', b'9', b'2', b'.', b'0', b'.', b'2', b'.',
        b'1', b'0', // CNAME
        0x00, 0x00, 0x00, // END + alignment
    ];

    fn packets(bytes: &[u8]) -> Vec<TypedRtcpPacket<'_>> {
        CompoundPacket::new_checked(bytes).unwrap().iter().collect()
    }

    #[test]
    fn reads_phone_sr_and_sdes() {
        let compound = CompoundPacket::new_checked(&SR_SDES).unwrap();
        assert!(compound.starts_with_report());
        let all: Vec<_> = compound.iter().collect();
        assert_eq!(all.len(), 2);
        let TypedRtcpPacket::SenderReport(sr) = all[0] else {
            panic!("{:?}", all[0])
        };
        assert_eq!(sr.ssrc(), Ssrc(0x6b8b_4567));
        assert_eq!(
            sr.sender_info(),
            SenderInfo {
                ntp_timestamp: 0xe93c_5a10_8f5c_28f5,
                rtp_timestamp: 0x0001_f400,
                packet_count: 500,
                octet_count: 80_000,
            }
        );
        assert_eq!(sr.report_count(), 1);
        assert!(sr.profile_extension().is_empty());
        let rb = sr.report_block(0).unwrap();
        assert_eq!(rb.ssrc(), Ssrc(0x327b_23c6));
        assert_eq!(rb.fraction_lost(), 25);
        assert_eq!(rb.cumulative_lost(), 7);
        assert_eq!(rb.extended_highest_seq(), 0x0001_2c4a);
        assert_eq!(rb.jitter(), 27);
        assert_eq!(rb.last_sr(), 0x5a0f_1234);
        assert_eq!(rb.delay_since_last_sr(), 0x0001_8000);
        assert!(sr.report_block(1).is_none());

        let TypedRtcpPacket::SourceDescription(sdes) = all[1] else {
            panic!("{:?}", all[1])
        };
        let chunks: Vec<_> = sdes.chunks().collect();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].ssrc, Ssrc(0x6b8b_4567));
        assert_eq!(chunks[0].cname(), Some(&b"user@192.0.2.10"[..]));
        assert_eq!(chunks[0].items().count(), 1);
    }

    #[test]
    fn parse_then_emit_gives_same_bytes() {
        let mut out = [0u8; 128];
        let mut b = CompoundBuilder::new(&mut out);
        for p in packets(&SR_SDES) {
            match p {
                TypedRtcpPacket::SenderReport(sr) => {
                    b.push_sender_report(&SenderReportRepr::parse(&sr).unwrap())
                        .unwrap();
                }
                TypedRtcpPacket::SourceDescription(sdes) => {
                    let chunk = sdes.chunks().next().unwrap();
                    b.push_sdes_cname(chunk.ssrc, chunk.cname().unwrap())
                        .unwrap();
                }
                other => panic!("{other:?}"),
            }
        }
        let n = b.finish();
        assert_eq!(out[..n], SR_SDES[..]);
    }

    #[test]
    fn cumulative_lost_is_signed_24_bit() {
        let mut block = [0u8; 24];
        block[5..8].copy_from_slice(&[0xff, 0xff, 0xfe]);
        assert_eq!(
            ReportBlock::new_checked(&block[..])
                .unwrap()
                .cumulative_lost(),
            -2
        );
        block[5..8].copy_from_slice(&[0x80, 0x00, 0x00]);
        assert_eq!(
            ReportBlock::new_checked(&block[..])
                .unwrap()
                .cumulative_lost(),
            -0x80_0000
        );
        block[5..8].copy_from_slice(&[0x7f, 0xff, 0xff]);
        assert_eq!(
            ReportBlock::new_checked(&block[..])
                .unwrap()
                .cumulative_lost(),
            0x7f_ffff
        );
        // Emitting clamps out-of-range counts instead of wrapping them.
        for (lost, wire) in [
            (i32::MAX, [0x7f, 0xff, 0xff]),
            (i32::MIN, [0x80, 0x00, 0x00]),
            (-1, [0xff, 0xff, 0xff]),
            (0x12_3456, [0x12, 0x34, 0x56]),
        ] {
            let repr = ReportBlockRepr {
                cumulative_lost: lost,
                ..Default::default()
            };
            let mut out = [0u8; 24];
            repr.emit(&mut out).unwrap();
            assert_eq!(out[5..8], wire, "{lost}");
        }
        assert_eq!(
            ReportBlock::new_checked(&block[..23]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn build_compound_then_parse_gives_same_fields() {
        let blocks = [
            ReportBlockRepr {
                ssrc: Ssrc(0xaaaa_0001),
                fraction_lost: 3,
                cumulative_lost: -5,
                extended_highest_seq: 0x0002_0010,
                jitter: 44,
                last_sr: 0x1234_5678,
                delay_since_last_sr: 99,
            },
            ReportBlockRepr {
                ssrc: Ssrc(0xaaaa_0002),
                ..Default::default()
            },
        ];
        let sr = SenderReportRepr {
            ssrc: Ssrc(42),
            sender_info: SenderInfo {
                ntp_timestamp: u64::MAX - 1,
                rtp_timestamp: 160,
                packet_count: 1,
                octet_count: 160,
            },
            reports: ReportBlockList::new(&blocks),
            profile_extension: &[9, 9, 9, 9],
        };
        let rr = ReceiverReportRepr {
            ssrc: Ssrc(43),
            reports: ReportBlockList::new(&blocks[..1]),
            profile_extension: &[],
        };
        let leaving = [Ssrc(42), Ssrc(43)];
        let bye = ByeRepr {
            sources: SsrcList::new(&leaving),
            reason: Some(b"call ended"),
        };
        let mut buf = [0u8; 512];
        let mut b = CompoundBuilder::new(&mut buf);
        b.push_sender_report(&sr)
            .unwrap()
            .push_receiver_report(&rr)
            .unwrap()
            .push_sdes_cname(Ssrc(42), b"tandem")
            .unwrap()
            .push_bye(&bye)
            .unwrap()
            .push_packet(&[0x80, 204, 0, 2, 0, 0, 0, 42, b'n', b'a', b'm', b'e'])
            .unwrap();
        let n = b.finish();
        assert_eq!(
            n,
            sr.buffer_len() + rr.buffer_len() + 20 + bye.buffer_len() + 12
        );

        let all = packets(&buf[..n]);
        assert_eq!(all.len(), 5);
        let TypedRtcpPacket::SenderReport(p) = all[0] else {
            panic!()
        };
        assert_eq!(SenderReportRepr::parse(&p).unwrap(), sr);
        let TypedRtcpPacket::ReceiverReport(p) = all[1] else {
            panic!()
        };
        assert_eq!(ReceiverReportRepr::parse(&p).unwrap(), rr);
        let TypedRtcpPacket::SourceDescription(p) = all[2] else {
            panic!()
        };
        assert_eq!(p.chunks().next().unwrap().cname(), Some(&b"tandem"[..]));
        let TypedRtcpPacket::Goodbye(p) = all[3] else {
            panic!()
        };
        assert_eq!(ByeRepr::parse(&p).unwrap(), bye);
        assert_eq!(p.reason(), Some(&b"call ended"[..]));
        let TypedRtcpPacket::Other(p) = all[4] else {
            panic!()
        };
        assert_eq!(p.packet_type(), RtcpPacketType::ApplicationDefined);
        assert_eq!(p.count(), 0);
        assert_eq!(p.body(), &[0, 0, 0, 42, b'n', b'a', b'm', b'e']);
    }

    #[test]
    fn sdes_builder_writes_several_chunks_and_items() {
        let mut buf = [0u8; 128];
        let mut b = SdesBuilder::new(&mut buf);
        b.chunk(Ssrc(1))
            .unwrap()
            .item(SdesItemType::Cname, b"ab")
            .unwrap()
            .item(SdesItemType::Tool, b"tandem 0.1")
            .unwrap()
            .chunk(Ssrc(2))
            .unwrap()
            .chunk(Ssrc(3))
            .unwrap()
            .item(SdesItemType::Other(42), b"")
            .unwrap();
        let n = b.finish().unwrap();
        let sdes = SdesPacket::new_checked(&buf[..n]).unwrap();
        assert_eq!(sdes.source_count(), 3);
        let chunks: Vec<_> = sdes.chunks().collect();
        assert_eq!(
            chunks[0].items().collect::<Vec<_>>(),
            [
                SdesItem {
                    kind: SdesItemType::Cname,
                    value: b"ab"
                },
                SdesItem {
                    kind: SdesItemType::Tool,
                    value: b"tandem 0.1"
                },
            ]
        );
        assert_eq!(chunks[1].ssrc, Ssrc(2));
        assert_eq!(chunks[1].items().count(), 0);
        assert_eq!(
            chunks[2].items().next().unwrap().kind,
            SdesItemType::Other(42)
        );
        // Items of 4 + 12 octets, then END and alignment to the next word;
        // an empty chunk is SSRC plus a word of nulls.
        assert_eq!(n, 4 + (4 + 16 + 4) + 8 + 8);

        let mut b = SdesBuilder::new(&mut buf);
        assert_eq!(
            b.item(SdesItemType::Cname, b"x").err(),
            Some(Error::SdesEndItem)
        );
        b.chunk(Ssrc(1)).unwrap();
        assert_eq!(
            b.item(SdesItemType::Other(0), b"x").err(),
            Some(Error::SdesEndItem)
        );
        assert_eq!(
            b.item(SdesItemType::Note, &[b'x'; 256]).err(),
            Some(Error::TextTooLong)
        );
        assert_eq!(
            SdesBuilder::emit_cname(&mut buf[..15], Ssrc(1), b"abcd"),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(
            SdesBuilder::emit_cname(&mut buf[..16], Ssrc(1), b"abcd"),
            Ok(16)
        );
    }

    #[test]
    fn bye_without_reason_and_with_empty_reason() {
        let plain = [0x81, 0xcb, 0x00, 0x01, 0, 0, 0, 7];
        let p = ByePacket::new_checked(&plain[..]).unwrap();
        assert_eq!(p.sources().iter().collect::<Vec<_>>(), [Ssrc(7)]);
        assert_eq!(p.reason(), None);
        let mut out = [0u8; 8];
        assert_eq!(ByeRepr::parse(&p).unwrap().emit(&mut out), Ok(8));
        assert_eq!(out, plain);

        let empty_reason = [0x80, 0xcb, 0x00, 0x01, 0, 0, 0, 0];
        let p = ByePacket::new_checked(&empty_reason[..]).unwrap();
        assert!(p.sources().is_empty());
        assert_eq!(p.reason(), Some(&[][..]));
    }

    #[test]
    fn malformed_packets_are_named() {
        let cases: &[(&[u8], Error)] = &[
            (&[], Error::Truncated),
            (&[0x80, 0xc9, 0x00], Error::Truncated),
            (&[0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 1], Error::BadVersion(1)),
            // length says 3 words follow, 1 does
            (&[0x80, 0xc9, 0x00, 0x03, 0, 0, 0, 1], Error::LengthPastEnd),
            // RR claims one report block, has none
            (
                &[0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1],
                Error::ReportBlocksPastEnd,
            ),
            // SR too short for its sender info
            (&[0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1], Error::Truncated),
            // padding count 0 / longer than the body
            (&[0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0], Error::ZeroPadding),
            (&[0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 5], Error::PaddingTooLong),
            // padding count not a multiple of 4 (fuzzer find)
            (
                &[0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2],
                Error::UnalignedPadding,
            ),
            // RR whose padding eats the SSRC
            (&[0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 4], Error::Truncated),
            // SDES chunk without END
            (
                &[0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 1, 2, b'a', b'b'],
                Error::SdesChunkPastEnd,
            ),
            // SDES item longer than the packet
            (
                &[0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 1, 9, b'a', 0],
                Error::SdesChunkPastEnd,
            ),
            // SDES with SC=0 but a chunk's worth of bytes
            (&[0x80, 0xca, 0x00, 0x01, 0, 0, 0, 1], Error::TrailingBytes),
            // BYE with two sources, room for one
            (
                &[0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1],
                Error::ByeSourcesPastEnd,
            ),
            // BYE reason of 1 octet, then a word more than its padding
            (
                &[
                    0x81, 0xcb, 0x00, 0x03, 0, 0, 0, 1, 1, b'a', 0, 0, 0, 0, 0, 0,
                ],
                Error::TrailingBytes,
            ),
            // BYE reason of 9 octets, room for 3
            (
                &[0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 9, b'a', b'b', b'c'],
                Error::ByeReasonPastEnd,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                CompoundPacket::new_checked(bytes).err(),
                Some(*want),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn compound_rejects_trailing_garbage_and_inner_padding() {
        let mut v = SR_SDES.to_vec();
        v.extend_from_slice(&[0xde, 0xad]);
        assert_eq!(
            CompoundPacket::new_checked(&v).err(),
            Some(Error::TrailingBytes)
        );
        v.extend_from_slice(&[0xbe, 0xef]);
        assert_eq!(
            CompoundPacket::new_checked(&v).err(),
            Some(Error::BadVersion(3))
        );

        // Padding is allowed on the last packet only.
        let rr_padded = [0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4];
        assert!(CompoundPacket::new_checked(&rr_padded).is_ok());
        let mut two = rr_padded.to_vec();
        two.extend_from_slice(&[0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 2]);
        assert_eq!(
            CompoundPacket::new_checked(&two).err(),
            Some(Error::PaddingNotLast)
        );
        let p = RtcpPacket::new_checked(&rr_padded[..]).unwrap();
        assert_eq!(p.padding_len(), 4);
        assert_eq!(p.body(), &[0, 0, 0, 1]);
    }

    #[test]
    fn every_prefix_is_rejected_unless_it_ends_on_a_packet() {
        for n in 0..SR_SDES.len() {
            let r = CompoundPacket::new_checked(&SR_SDES[..n]);
            assert_eq!(r.is_ok(), n == 52, "prefix {n}: {r:?}");
        }
    }

    #[test]
    fn rtcp_mux_demultiplexing() {
        assert!(is_rtcp(&SR_SDES));
        assert!(is_rtcp(&[0x80, 192]));
        assert!(is_rtcp(&[0x80, 223]));
        assert!(!is_rtcp(&[0x80, 191]));
        assert!(!is_rtcp(&[0x80, 224]));
        assert!(!is_rtcp(&[0x80, 0x08, 0, 1])); // PCMA
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn typed_views_check_the_type() {
        let rr = [0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1];
        assert_eq!(
            SenderReportPacket::new_checked(&rr[..]).err(),
            Some(Error::WrongPacketType(201))
        );
        assert_eq!(
            ByePacket::new_checked(&rr[..]).err(),
            Some(Error::WrongPacketType(201))
        );
        assert_eq!(
            SdesPacket::new_checked(&rr[..]).err(),
            Some(Error::WrongPacketType(201))
        );
        let p = ReceiverReportPacket::new_checked(&rr[..]).unwrap();
        assert_eq!(p.as_rtcp().packet_type(), RtcpPacketType::ReceiverReport);
        for t in 0..=255u8 {
            assert_eq!(u8::from(RtcpPacketType::from(t)), t);
            assert_eq!(u8::from(SdesItemType::from(t)), t);
        }
    }

    #[test]
    fn setters_rewrite_ssrcs_in_place() {
        let mut bytes = SR_SDES;
        let mut sr = SenderReportPacket::new_checked(&mut bytes[..52]).unwrap();
        sr.set_ssrc(Ssrc(0x0102_0304));
        sr.report_block_mut(0).unwrap().set_ssrc(Ssrc(0x0506_0708));
        assert!(sr.report_block_mut(1).is_none());
        assert_eq!(bytes[4..8], [1, 2, 3, 4]);
        assert_eq!(bytes[28..32], [5, 6, 7, 8]);
        assert_eq!(bytes[8..28], SR_SDES[8..28]);
    }

    #[test]
    fn emit_rejects_what_the_format_cannot_hold() {
        let blocks = [ReportBlockRepr::default(); 32];
        let mut buf = [0u8; 1024];
        let rr = ReceiverReportRepr {
            ssrc: Ssrc(1),
            reports: ReportBlockList::new(&blocks),
            profile_extension: &[],
        };
        assert_eq!(rr.emit(&mut buf), Err(Error::TooManyReportBlocks));
        let rr = ReceiverReportRepr {
            reports: ReportBlockList::new(&blocks[..31]),
            ..rr
        };
        assert_eq!(rr.emit(&mut buf), Ok(8 + 31 * 24));
        assert_eq!(
            rr.emit(&mut buf[..8 + 31 * 24 - 1]),
            Err(Error::BufferTooSmall)
        );
        let rr = ReceiverReportRepr {
            profile_extension: &[1, 2],
            ..rr
        };
        assert_eq!(rr.emit(&mut buf), Err(Error::NotWordAligned));
        let ids = [Ssrc(0); 32];
        let bye = ByeRepr {
            sources: SsrcList::new(&ids),
            reason: None,
        };
        assert_eq!(bye.emit(&mut buf), Err(Error::TooManySources));
        let bye = ByeRepr {
            sources: SsrcList::EMPTY,
            reason: Some(&[b'x'; 256]),
        };
        assert_eq!(bye.emit(&mut buf), Err(Error::TextTooLong));
        let mut b = CompoundBuilder::new(&mut buf);
        assert_eq!(
            b.push_packet(&[0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1, 0])
                .err(),
            Some(Error::TrailingBytes)
        );
        assert_eq!(
            b.push_packet(&[0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4])
                .err(),
            Some(Error::PaddingNotLast)
        );
        assert!(b.is_empty());
    }
}
