//! RFC 4733 §2.3 telephone-event payload (DTMF digits and other events
//! carried in RTP instead of as audio).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! ```
//!
//! The view covers the first four octets of the RTP payload. Octets after
//! them are ignored rather than rejected: a plain telephone-event payload
//! is exactly four octets, and a receiver dropping a digit because a peer
//! appended something would hurt more than it protects.

use crate::Error;
use crate::bytes::{read_u16, write_u16};

mod field {
    use core::ops::Range;

    pub(super) const EVENT: usize = 0;
    pub(super) const FLAGS_VOLUME: usize = 1;
    pub(super) const DURATION: Range<usize> = 2..4;
}

/// Length of a telephone-event payload.
pub const PAYLOAD_LEN: usize = 4;
/// The largest volume (−63 dBm0); the field is 6 bits.
pub const MAX_VOLUME: u8 = 63;

const FLAG_END: u8 = 0x80;
const FLAG_RESERVED: u8 = 0x40;

/// The DTMF digits of RFC 4733 §3.2 table 7, indexed by event code.
const DTMF_DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// The DTMF digit for event codes 0–15 (`0-9 * # A-D`), else `None`.
#[must_use]
pub fn event_to_digit(event: u8) -> Option<char> {
    DTMF_DIGITS.get(usize::from(event)).copied()
}

/// The event code for a DTMF digit (`0-9 * # A-D`, letters in either case).
#[must_use]
pub fn digit_to_event(digit: char) -> Option<u8> {
    let upper = digit.to_ascii_uppercase();
    // Position is below 16, so it fits in a u8.
    DTMF_DIGITS
        .iter()
        .position(|&d| d == upper)
        .map(|i| i as u8)
}

/// A view on a telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TelephoneEventPacket<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        TelephoneEventPacket { buffer }
    }

    /// Wraps a buffer of at least four octets.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds at least four octets.
    #[inline]
    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < PAYLOAD_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Event code (0–15 are DTMF digits, see [`event_to_digit`]).
    #[inline]
    pub fn event(&self) -> u8 {
        self.buffer.as_ref()[field::EVENT]
    }

    /// E bit: this packet reports the end of the event.
    #[inline]
    pub fn end(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS_VOLUME] & FLAG_END != 0
    }

    /// R bit: reserved, sent as zero, ignored by receivers.
    #[inline]
    pub fn reserved(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS_VOLUME] & FLAG_RESERVED != 0
    }

    /// Volume: power level as −dBm0, 0–63.
    #[inline]
    pub fn volume(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS_VOLUME] & MAX_VOLUME
    }

    /// Duration so far, in RTP timestamp units.
    #[inline]
    pub fn duration(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DURATION)
    }

    /// The DTMF digit, if the event is one.
    #[inline]
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TelephoneEventPacket<T> {
    /// Sets the E bit.
    #[inline]
    pub fn set_end(&mut self, end: bool) {
        let b = &mut self.buffer.as_mut()[field::FLAGS_VOLUME];
        *b = (*b & !FLAG_END) | if end { FLAG_END } else { 0 };
    }

    /// Sets the duration.
    #[inline]
    pub fn set_duration(&mut self, duration: u16) {
        write_u16(self.buffer.as_mut(), field::DURATION, duration);
    }
}

/// A telephone event in parsed form, and the builder for one. The R bit is
/// not represented: receivers ignore it and senders write zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEventRepr {
    /// Event code.
    pub event: u8,
    /// E bit.
    pub end: bool,
    /// Volume, 0–63 (−dBm0).
    pub volume: u8,
    /// Duration, in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEventRepr {
    /// Parses a payload (checking it again).
    pub fn parse<T: AsRef<[u8]>>(packet: &TelephoneEventPacket<T>) -> Result<Self, Error> {
        packet.check_len()?;
        Ok(TelephoneEventRepr {
            event: packet.event(),
            end: packet.end(),
            volume: packet.volume(),
            duration: packet.duration(),
        })
    }

    /// The DTMF digit, if the event is one.
    #[must_use]
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }

    /// Length [`emit`](Self::emit) writes.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        PAYLOAD_LEN
    }

    /// Writes the payload at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.volume > MAX_VOLUME {
            return Err(Error::VolumeOutOfRange);
        }
        let buf = buf.get_mut(..PAYLOAD_LEN).ok_or(Error::BufferTooSmall)?;
        buf[field::EVENT] = self.event;
        buf[field::FLAGS_VOLUME] = if self.end { FLAG_END } else { 0 } | self.volume;
        write_u16(buf, field::DURATION, self.duration);
        Ok(PAYLOAD_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_end_of_digit_five() {
        // Digit 5, E set, R clear, volume 10 (−10 dBm0), duration 800
        // (100 ms at 8 kHz): the last packet of a typical key press.
        let bytes = [0x05, 0x8a, 0x03, 0x20];
        let p = TelephoneEventPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.event(), 5);
        assert_eq!(p.digit(), Some('5'));
        assert!(p.end());
        assert!(!p.reserved());
        assert_eq!(p.volume(), 10);
        assert_eq!(p.duration(), 800);
        let repr = TelephoneEventRepr::parse(&p).unwrap();
        let mut out = [0u8; 4];
        assert_eq!(repr.emit(&mut out), Ok(4));
        assert_eq!(out, bytes);
    }

    #[test]
    fn reserved_bit_is_read_but_not_kept() {
        let bytes = [0x0b, 0x7f, 0xff, 0xff];
        let p = TelephoneEventPacket::new_checked(&bytes[..]).unwrap();
        assert!(p.reserved());
        assert!(!p.end());
        assert_eq!(p.volume(), 63);
        assert_eq!(p.digit(), Some('#'));
        let mut out = [0u8; 4];
        TelephoneEventRepr::parse(&p)
            .unwrap()
            .emit(&mut out)
            .unwrap();
        assert_eq!(out, [0x0b, 0x3f, 0xff, 0xff]);
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut bytes = [0x01, 0x4a, 0x00, 0xa0];
        let mut p = TelephoneEventPacket::new_checked(&mut bytes[..]).unwrap();
        p.set_end(true);
        p.set_duration(0x1234);
        assert_eq!(bytes, [0x01, 0xca, 0x12, 0x34]);
    }

    #[test]
    fn digit_table_covers_all_sixteen() {
        let all: String = (0..16).map(|e| event_to_digit(e).unwrap()).collect();
        assert_eq!(all, "0123456789*#ABCD");
        for e in 0..16 {
            assert_eq!(digit_to_event(event_to_digit(e).unwrap()), Some(e));
        }
        assert_eq!(digit_to_event('c'), Some(14));
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('E'), None);
    }

    #[test]
    fn short_and_bad_inputs() {
        for n in 0..4 {
            assert_eq!(
                TelephoneEventPacket::new_checked(&[0u8; 4][..n]).err(),
                Some(Error::Truncated)
            );
        }
        let repr = TelephoneEventRepr {
            event: 1,
            end: false,
            volume: 64,
            duration: 0,
        };
        assert_eq!(repr.emit(&mut [0; 4]), Err(Error::VolumeOutOfRange));
        let repr = TelephoneEventRepr { volume: 63, ..repr };
        assert_eq!(repr.emit(&mut [0; 3]), Err(Error::BufferTooSmall));
    }
}
