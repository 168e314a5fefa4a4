//! Zero-copy views and builders for the wire formats of Tandem's media
//! path:
//!
//! - [`rtp`]: RTP data packets, RFC 3550 §5.1 and §5.3.1, with RFC 8285
//!   header extension elements;
//! - [`rtcp`]: RTCP SR, RR, SDES and BYE, RFC 3550 §6.4.1, §6.4.2, §6.5,
//!   §6.6, and compound packets, §6.1;
//! - [`telephone_event`]: the RFC 4733 §2.3 telephone-event payload.
//!
//! # Shape
//!
//! Each format has a view, `*Packet<T: AsRef<[u8]>>`, over a buffer the
//! caller owns. `new_checked` proves once that every length the packet
//! declares fits the buffer, so no accessor can panic afterwards, however
//! hostile the input; with `T: AsMut<[u8]>` the view also has setters for
//! fields that can change in place. A `*Repr` is the parsed form and the
//! builder: `parse` reads a view, `buffer_len` says how long the encoding
//! is, and `emit` writes it into the caller's `&mut [u8]` and returns the
//! length written. Nothing here allocates or does I/O, and there is no
//! clock: the crate is plain functions on bytes.
//!
//! Errors are one small `Copy` enum, [`Error`], whose variants say what is
//! wrong and whether the peer ([`Error::is_malformed_input`]) or our own
//! code is to blame.
//!
//! # Example: rewrite an RTP header in place
//!
//! ```
//! use tandem_wire::{Ssrc, rtp::RtpPacket};
//!
//! // PCMA (PT 8), seq 7, ts 160, SSRC 0x11223344, 4 octets of payload.
//! let mut datagram = [
//!     0x80, 0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0xa0,
//!     0x11, 0x22, 0x33, 0x44, 0xd5, 0xd5, 0xd5, 0xd5,
//! ];
//! let mut packet = RtpPacket::new_checked(&mut datagram[..])?;
//! assert_eq!(packet.payload_type(), 8);
//! assert_eq!(packet.payload(), &[0xd5; 4]);
//!
//! packet.set_sequence_number(packet.sequence_number().wrapping_add(1000));
//! packet.set_ssrc(Ssrc(0xcafe_f00d));
//! assert_eq!(datagram[2..4], [0x03, 0xef]);
//! # Ok::<(), tandem_wire::Error>(())
//! ```
//!
//! # Example: read a compound RTCP packet
//!
//! ```
//! use tandem_wire::rtcp::{CompoundPacket, TypedRtcpPacket};
//!
//! // RR with no report blocks, then SDES with CNAME "a".
//! let datagram = [
//!     0x80, 201, 0, 1, 0, 0, 0, 9,
//!     0x81, 202, 0, 2, 0, 0, 0, 9, 1, 1, b'a', 0,
//! ];
//! for packet in CompoundPacket::new_checked(&datagram)? {
//!     match packet {
//!         TypedRtcpPacket::ReceiverReport(rr) => assert_eq!(rr.report_count(), 0),
//!         TypedRtcpPacket::SourceDescription(sdes) => {
//!             let chunk = sdes.chunks().next().unwrap();
//!             assert_eq!(chunk.cname(), Some(&b"a"[..]));
//!         }
//!         _ => unreachable!(),
//!     }
//! }
//! # Ok::<(), tandem_wire::Error>(())
//! ```
#![forbid(unsafe_code)]

mod bytes;
mod error;
pub mod rtcp;
pub mod rtp;
mod ssrc;
pub mod telephone_event;

pub use error::Error;
pub use rtcp::{CompoundPacket, RtcpPacket};
pub use rtp::{RtpPacket, RtpRepr};
pub use ssrc::{Ssrc, SsrcIter, SsrcList};
pub use telephone_event::{TelephoneEventPacket, TelephoneEventRepr};
