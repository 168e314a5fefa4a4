//! Synchronisation source identifiers and lists of them.

use core::fmt;

use crate::bytes::read_u32;

/// A synchronisation source identifier (RFC 3550 §3, §5.1): the SSRC of
/// an RTP stream, a CSRC, the subject of an RTCP report block or BYE.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

impl fmt::Debug for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssrc({:#010x})", self.0)
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

impl From<u32> for Ssrc {
    #[inline]
    fn from(v: u32) -> Self {
        Ssrc(v)
    }
}

impl From<Ssrc> for u32 {
    #[inline]
    fn from(v: Ssrc) -> Self {
        v.0
    }
}

/// A list of SSRCs (an RTP CSRC list, a BYE source list) that is either
/// still on the wire (after parsing) or a caller's slice (for building).
///
/// Parsing must not allocate and the wire bytes are big-endian, so the list
/// cannot simply be a `&[Ssrc]`; comparing two lists compares their
/// contents whatever their origin.
#[derive(Clone, Copy)]
pub struct SsrcList<'a>(Source<'a>);

#[derive(Clone, Copy)]
enum Source<'a> {
    /// Big-endian words; the length is a multiple of 4.
    Wire(&'a [u8]),
    Ids(&'a [Ssrc]),
}

impl<'a> SsrcList<'a> {
    /// The empty list.
    pub const EMPTY: SsrcList<'static> = SsrcList(Source::Ids(&[]));

    /// A list backed by the caller's identifiers.
    #[must_use]
    pub const fn new(ids: &'a [Ssrc]) -> Self {
        SsrcList(Source::Ids(ids))
    }

    /// A list read from wire bytes; a trailing partial word is ignored.
    #[must_use]
    pub(crate) fn from_wire(bytes: &'a [u8]) -> Self {
        let whole = bytes.len() & !3;
        SsrcList(Source::Wire(&bytes[..whole]))
    }

    /// Number of identifiers.
    #[inline]
    #[must_use]
    pub const fn len(&self) -> usize {
        match self.0 {
            Source::Wire(b) => b.len() / 4,
            Source::Ids(ids) => ids.len(),
        }
    }

    /// True if the list is empty.
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The identifier at `index`, if there is one.
    #[inline]
    #[must_use]
    pub fn get(&self, index: usize) -> Option<Ssrc> {
        match self.0 {
            Source::Wire(b) => {
                let at = index.checked_mul(4)?;
                let w = b.get(at..at.checked_add(4)?)?;
                Some(Ssrc(read_u32(w, 0..4)))
            }
            Source::Ids(ids) => ids.get(index).copied(),
        }
    }

    /// Iterates over the identifiers in order.
    #[must_use]
    pub fn iter(&self) -> SsrcIter<'a> {
        SsrcIter {
            list: *self,
            next: 0,
        }
    }

    /// Writes the list as big-endian words; `out` must be `4 * len()` long.
    pub(crate) fn write(&self, out: &mut [u8]) {
        for (ssrc, w) in self.iter().zip(out.chunks_exact_mut(4)) {
            w.copy_from_slice(&ssrc.0.to_be_bytes());
        }
    }
}

impl Default for SsrcList<'_> {
    fn default() -> Self {
        SsrcList::EMPTY
    }
}

impl PartialEq for SsrcList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for SsrcList<'_> {}

impl fmt::Debug for SsrcList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for SsrcList<'a> {
    type Item = Ssrc;
    type IntoIter = SsrcIter<'a>;
    fn into_iter(self) -> SsrcIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`SsrcList`].
#[derive(Clone, Debug)]
pub struct SsrcIter<'a> {
    list: SsrcList<'a>,
    next: usize,
}

impl Iterator for SsrcIter<'_> {
    type Item = Ssrc;

    fn next(&mut self) -> Option<Ssrc> {
        let item = self.list.get(self.next)?;
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.list.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for SsrcIter<'_> {}
impl core::iter::FusedIterator for SsrcIter<'_> {}
