//! Big-endian field access shared by the views.
//!
//! Callers pass ranges that their `check_len` has already proven to be in
//! bounds, so the slicing here cannot fail on a checked view.

use core::ops::Range;

#[inline]
pub(crate) fn read_u16(buf: &[u8], at: Range<usize>) -> u16 {
    let b = &buf[at];
    u16::from_be_bytes([b[0], b[1]])
}

#[inline]
pub(crate) fn read_u32(buf: &[u8], at: Range<usize>) -> u32 {
    let b = &buf[at];
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[inline]
pub(crate) fn write_u16(buf: &mut [u8], at: Range<usize>, value: u16) {
    buf[at].copy_from_slice(&value.to_be_bytes());
}

#[inline]
pub(crate) fn write_u32(buf: &mut [u8], at: Range<usize>, value: u32) {
    buf[at].copy_from_slice(&value.to_be_bytes());
}

/// Rounds `n` up to the next multiple of 4 (RTP/RTCP count in 32-bit words).
#[inline]
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}
