//! Errors: what is wrong with an SDP body, and on which line.
//!
//! A parse error is always the peer's fault (malformed input); an edit error
//! ([`EditError`]) is misuse of this API (an index out of range, a codec
//! name that cannot be offered) and never says anything about the peer.

use core::fmt;

/// What is wrong with one line (or with the body as a whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpErrorKind {
    /// The body is longer than the parser accepts ([`crate::MAX_SDP_LEN`]).
    TooLarge,
    /// The body is empty.
    Empty,
    /// The body is not UTF-8 (RFC 8866 §5: the charset is UTF-8).
    NotUtf8,
    /// A line is not `<type>=<value>` with a lower-case letter type.
    NotTypeEquals,
    /// A line contains a NUL or a bare CR (RFC 8866 §9 `text` excludes them).
    ControlCharacter,
    /// The first line is not `v=0` (RFC 8866 §5.1).
    BadVersion,
    /// A mandatory session-level line is missing; the letter says which.
    MissingLine(char),
    /// A line that may appear once appears again.
    Duplicate(char),
    /// A line type that is not allowed at this level (e.g. `o=` after `m=`).
    Misplaced(char),
    /// A required field of the line is missing.
    MissingField(&'static str),
    /// A numeric field is not a number or is out of range.
    BadNumber(&'static str),
    /// A field has a value outside its grammar.
    BadField(&'static str),
    /// An attribute name is not a `token` (RFC 8866 §9).
    BadAttributeName,
}

impl fmt::Display for SdpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "body larger than {} octets", crate::MAX_SDP_LEN),
            Self::Empty => f.write_str("empty body"),
            Self::NotUtf8 => f.write_str("not UTF-8"),
            Self::NotTypeEquals => f.write_str("not a `<letter>=<value>` line"),
            Self::ControlCharacter => f.write_str("NUL or bare CR in line"),
            Self::BadVersion => f.write_str("first line is not `v=0`"),
            Self::MissingLine(c) => write!(f, "missing mandatory `{c}=` line"),
            Self::Duplicate(c) => write!(f, "second `{c}=` line at this level"),
            Self::Misplaced(c) => write!(f, "`{c}=` line not allowed here"),
            Self::MissingField(w) => write!(f, "missing {w}"),
            Self::BadNumber(w) => write!(f, "bad number in {w}"),
            Self::BadField(w) => write!(f, "bad {w}"),
            Self::BadAttributeName => f.write_str("attribute name is not a token"),
        }
    }
}

/// A parse error: the 1-based line number (0 for the body as a whole) and
/// what is wrong. Always the sender's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpError {
    /// 1-based line number; 0 when the error concerns the whole body.
    pub line: usize,
    /// What is wrong.
    pub kind: SdpErrorKind,
}

impl SdpError {
    pub(crate) fn at(line: usize, kind: SdpErrorKind) -> Self {
        Self { line, kind }
    }
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "SDP: {}", self.kind)
        } else {
            write!(f, "SDP line {}: {}", self.line, self.kind)
        }
    }
}

impl std::error::Error for SdpError {}

/// Misuse of the editing API: the description itself is fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// No media description with that index.
    NoSuchMedia(usize),
    /// The codec has no static payload type and every dynamic one (96–127)
    /// is taken.
    NoFreePayloadType,
    /// A value that would make the line invalid (e.g. a space in a token).
    InvalidValue(&'static str),
    /// The edit would leave an `m=` line without any format, which
    /// RFC 8866 §5.14 does not allow; nothing was changed.
    NoFormatsLeft,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchMedia(i) => write!(f, "no media description #{i}"),
            Self::NoFreePayloadType => f.write_str("no free dynamic payload type"),
            Self::InvalidValue(w) => write!(f, "invalid {w}"),
            Self::NoFormatsLeft => f.write_str("edit would leave no format on the m= line"),
        }
    }
}

impl std::error::Error for EditError {}
