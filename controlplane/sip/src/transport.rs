//! Transports as the transaction layer sees them, and stream framing for
//! TCP/TLS (RFC 3261 §18).
//!
//! Nothing here touches a socket. [`Peer`] names the far end of a datagram
//! or connection; the gateway owns the sockets and maps a `Peer` to one.
//!
//! # Stream framing (RFC 3261 §18.3, RFC 5626 §3.5.1)
//!
//! On a stream the only message boundary is `Content-Length`, so it is
//! mandatory there. [`StreamFramer`] takes bytes as they arrive and yields
//! whole messages (still unparsed: hand them to
//! [`message::parse`](crate::message::parse)), plus the CRLF keep-alives of
//! RFC 5626: a double CRLF is a *ping* that the receiver answers with a single
//! CRLF *pong* ([`PONG`]).
//!
//! A stream has no resynchronisation point: once a header block is too long,
//! `Content-Length` is missing or unreadable, or a message is too large, the
//! position of the next message is unknown. The framer then reports a
//! [`FramingError`] and stays broken; the caller must close the connection
//! (after, for a request, optionally sending a 400/513 on it).
//!
//! ```
//! use tandem_sip::transport::{Frame, StreamFramer, PONG};
//!
//! let mut framer = StreamFramer::new();
//! framer.handle_bytes(b"\r\n\r\nOPTIONS sip:a@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n")?;
//! let mut to_send = Vec::new();
//! let mut messages = Vec::new();
//! while let Some(frame) = framer.poll_frame()? {
//!     match frame {
//!         Frame::Ping => to_send.extend_from_slice(PONG),
//!         Frame::Pong => {}
//!         Frame::Message(bytes) => messages.push(bytes),
//!     }
//! }
//! assert_eq!(to_send, b"\r\n");
//! assert_eq!(messages.len(), 1);
//! # Ok::<(), tandem_sip::transport::FramingError>(())
//! ```
//!
//! # Metrics
//!
//! [`FramerStats`] counts, per connection (the gateway sums them):
//! `messages` framed, `pings` and `pongs` seen, and one counter per
//! [`FramingError`] kind (`header_too_long`, `missing_content_length`,
//! `bad_content_length`, `message_too_large`), exported as
//! `tandem_sip_stream_framing_errors_total{reason}`.

use std::fmt;
use std::net::SocketAddr;

use crate::message::MAX_MESSAGE_LEN;

/// The transport protocol of a hop (RFC 3261 §18; the `transport` of the
/// Via's sent-protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: unreliable, so transactions retransmit (timers A, E, G).
    Udp,
    /// TCP: reliable, stream-framed by `Content-Length`.
    Tcp,
    /// TLS over TCP: reliable, stream-framed (`sips:`).
    Tls,
}

impl Transport {
    /// Whether the transport is reliable in the sense of RFC 3261 §17: the
    /// retransmission timers are not armed and the wait timers D, I, J, K
    /// are zero.
    #[must_use]
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// The token used in a Via's sent-protocol (`SIP/2.0/UDP`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        }
    }

    /// The port to use when a sent-by or URI has none (RFC 3261 §18.2.2,
    /// §19.1.2): 5060, or 5061 for TLS.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Udp | Self::Tcp => 5060,
            Self::Tls => 5061,
        }
    }

    /// Parses a Via transport token, case-insensitively (RFC 3261 §20.42).
    /// `None` for transports Tandem does not speak (SCTP, WS, ...).
    #[must_use]
    pub fn from_token(token: &str) -> Option<Self> {
        [Self::Udp, Self::Tcp, Self::Tls]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The far end of one hop: where a message came from, or where to send one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    /// The transport the message travels on.
    pub transport: Transport,
    /// The remote address (for streams, the connection's remote end).
    pub addr: SocketAddr,
}

impl Peer {
    /// A peer on `transport` at `addr`.
    #[must_use]
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Self { transport, addr }
    }

    /// A UDP peer.
    #[must_use]
    pub fn udp(addr: SocketAddr) -> Self {
        Self::new(Transport::Udp, addr)
    }

    /// A TCP peer.
    #[must_use]
    pub fn tcp(addr: SocketAddr) -> Self {
        Self::new(Transport::Tcp, addr)
    }

    /// See [`Transport::is_reliable`].
    #[must_use]
    pub fn is_reliable(&self) -> bool {
        self.transport.is_reliable()
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// The answer to a keep-alive ping: one CRLF (RFC 5626 §3.5.1).
pub const PONG: &[u8] = b"\r\n";

/// The keep-alive ping a client sends: a double CRLF (RFC 5626 §3.5.1).
pub const PING: &[u8] = b"\r\n\r\n";

/// The default limit on a header block (start line and headers) on a stream.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// One unit taken off a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message, header block and exactly `Content-Length` bytes of
    /// body; parse it with [`message::parse`](crate::message::parse).
    Message(Vec<u8>),
    /// A double-CRLF keep-alive: answer with [`PONG`].
    Ping,
    /// A single CRLF: the answer to our ping, or a CRLF before a start line
    /// (RFC 3261 §7.5 says to ignore those). Nothing to do but note the
    /// connection is alive.
    Pong,
}

/// Why a stream cannot be framed any further. Every variant means the
/// connection must be closed: the position of the next message is unknown.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// No empty line within the header limit.
    HeaderTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A message without `Content-Length`, which streams require (§18.3).
    MissingContentLength,
    /// `Content-Length` is not a number, or appears twice with two values.
    BadContentLength,
    /// Header block plus declared body exceed the message limit.
    MessageTooLarge {
        /// Header block plus `Content-Length`, in bytes.
        len: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The caller fed more bytes than two whole messages without polling
    /// frames in between (API misuse), or fed bytes after an error.
    BufferFull,
    /// A previous error broke the stream; bytes after it are refused.
    Broken,
}

impl FramingError {
    /// The response to send before closing, when the broken message was a
    /// request: 513 for size, 400 otherwise (RFC 3261 §21.5.9, §21.4.1).
    #[must_use]
    pub fn to_sip_status(self) -> u16 {
        match self {
            Self::HeaderTooLong { .. } | Self::MessageTooLarge { .. } => 513,
            _ => 400,
        }
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeaderTooLong { limit } => {
                write!(f, "Header block longer than {limit} bytes")
            }
            Self::MissingContentLength => f.write_str("Content-Length is mandatory on streams"),
            Self::BadContentLength => f.write_str("Malformed Content-Length"),
            Self::MessageTooLarge { len, limit } => {
                write!(f, "Message too large ({len} bytes, limit {limit})")
            }
            Self::BufferFull => f.write_str("Stream buffer full (frames not polled)"),
            Self::Broken => f.write_str("Stream already broken by an earlier framing error"),
        }
    }
}

impl std::error::Error for FramingError {}

/// Per-connection framing counters; see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Messages framed.
    pub messages: u64,
    /// Double-CRLF pings received.
    pub pings: u64,
    /// Single CRLFs received.
    pub pongs: u64,
    /// Header blocks over the limit.
    pub header_too_long: u64,
    /// Messages without `Content-Length`.
    pub missing_content_length: u64,
    /// Unreadable or contradictory `Content-Length`.
    pub bad_content_length: u64,
    /// Messages over the size limit.
    pub message_too_large: u64,
}

/// Frames SIP messages out of a TCP/TLS byte stream; see the module docs.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    buf: Vec<u8>,
    max_header_len: usize,
    max_message_len: usize,
    broken: bool,
    stats: FramerStats,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamFramer {
    /// A framer with the default limits: [`MAX_HEADER_LEN`] and
    /// [`MAX_MESSAGE_LEN`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_limits(MAX_HEADER_LEN, MAX_MESSAGE_LEN)
    }

    /// A framer with explicit limits (the header limit is capped by the
    /// message limit).
    #[must_use]
    pub fn with_limits(max_header_len: usize, max_message_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_header_len: max_header_len.min(max_message_len),
            max_message_len,
            broken: false,
            stats: FramerStats::default(),
        }
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> &FramerStats {
        &self.stats
    }

    /// Bytes buffered and not yet framed.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether an error has broken the stream (close the connection).
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Appends bytes read from the connection. Call
    /// [`poll_frame`](Self::poll_frame) until it returns `Ok(None)` after
    /// each call; the buffer holds at most two messages' worth, so reads
    /// larger than that must be split.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        if self.broken {
            return Err(FramingError::Broken);
        }
        if self.buf.len() + bytes.len() > 2 * self.max_message_len {
            self.broken = true;
            return Err(FramingError::BufferFull);
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed, or
    /// the error that broke the stream (reported once; afterwards `Ok(None)`).
    pub fn poll_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        if self.broken {
            return Ok(None);
        }
        match self.next_frame() {
            Ok(frame) => Ok(frame),
            Err(e) => {
                self.broken = true;
                self.buf = Vec::new();
                match e {
                    FramingError::HeaderTooLong { .. } => self.stats.header_too_long += 1,
                    FramingError::MissingContentLength => self.stats.missing_content_length += 1,
                    FramingError::BadContentLength => self.stats.bad_content_length += 1,
                    FramingError::MessageTooLarge { .. } => self.stats.message_too_large += 1,
                    FramingError::BufferFull | FramingError::Broken => {}
                }
                Err(e)
            }
        }
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        let buf = &self.buf;
        if buf.starts_with(PING) {
            self.buf.drain(..PING.len());
            self.stats.pings += 1;
            return Ok(Some(Frame::Ping));
        }
        if buf.starts_with(b"\r\n") {
            // "\r\n\r" may still become a ping: wait for the next byte. A lone
            // "\r\n" (or one followed by a start line) is a pong. A ping split
            // across two reads is then seen as two pongs, and the client
            // retries its ping; splitting four bytes is rare enough.
            if buf.len() == 3 && buf[2] == b'\r' {
                return Ok(None);
            }
            self.buf.drain(..2);
            self.stats.pongs += 1;
            return Ok(Some(Frame::Pong));
        }
        if buf.len() == 1 && buf[0] == b'\r' {
            return Ok(None);
        }
        let search = &buf[..buf.len().min(self.max_header_len)];
        let Some(head_end) = find(search, b"\r\n\r\n") else {
            if buf.len() >= self.max_header_len {
                return Err(FramingError::HeaderTooLong {
                    limit: self.max_header_len,
                });
            }
            return Ok(None);
        };
        let head_len = head_end + 4;
        let body_len = content_length(&buf[..head_end])?;
        let len = head_len.saturating_add(body_len);
        if len > self.max_message_len {
            return Err(FramingError::MessageTooLarge {
                len,
                limit: self.max_message_len,
            });
        }
        if buf.len() < len {
            return Ok(None);
        }
        let rest = self.buf.split_off(len);
        let message = std::mem::replace(&mut self.buf, rest);
        self.stats.messages += 1;
        Ok(Some(Frame::Message(message)))
    }
}

/// The `Content-Length` (or compact `l`) of a header block; the start line
/// is skipped. Folded lines are not expected for a number and are not
/// looked at.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        if value.is_empty() || value.len() > 10 || !value.iter().all(u8::is_ascii_digit) {
            return Err(FramingError::BadContentLength);
        }
        let n = value
            .iter()
            .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'));
        if found.is_some_and(|f| f != n) {
            return Err(FramingError::BadContentLength);
        }
        found = Some(n);
    }
    found.ok_or(FramingError::MissingContentLength)
}

/// The first position of `needle` in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@example.com SIP/2.0\r\nl: 5\r\nCall-ID: x\r\n\r\nhello";

    fn frames(framer: &mut StreamFramer) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = framer.poll_frame().unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn transport_reliability_and_ports() {
        assert!(!Transport::Udp.is_reliable());
        assert!(Transport::Tcp.is_reliable());
        assert!(Transport::Tls.is_reliable());
        assert_eq!(Transport::Tls.default_port(), 5061);
        assert_eq!(Transport::from_token("tcp"), Some(Transport::Tcp));
        assert_eq!(Transport::from_token("SCTP"), None);
        let peer = Peer::udp("192.0.2.1:5060".parse().unwrap());
        assert!(!peer.is_reliable());
        assert_eq!(peer.to_string(), "UDP:192.0.2.1:5060");
    }

    #[test]
    fn frames_by_content_length_byte_by_byte() {
        let mut stream = OPTIONS.to_vec();
        stream.extend_from_slice(OPTIONS);
        let mut framer = StreamFramer::new();
        let mut got = Vec::new();
        for b in &stream {
            framer.handle_bytes(std::slice::from_ref(b)).unwrap();
            got.extend(frames(&mut framer));
        }
        assert_eq!(
            got,
            vec![
                Frame::Message(OPTIONS.to_vec()),
                Frame::Message(OPTIONS.to_vec())
            ]
        );
        assert_eq!(framer.buffered(), 0);
        assert_eq!(framer.stats().messages, 2);
    }

    #[test]
    fn ping_gets_pong_and_lone_crlf_is_a_pong() {
        let mut framer = StreamFramer::new();
        framer.handle_bytes(b"\r\n\r\n\r\n").unwrap();
        framer.handle_bytes(OPTIONS).unwrap();
        assert_eq!(
            frames(&mut framer),
            vec![Frame::Ping, Frame::Pong, Frame::Message(OPTIONS.to_vec())]
        );
        assert_eq!(framer.stats().pings, 1);
        assert_eq!(framer.stats().pongs, 1);
    }

    #[test]
    fn missing_content_length_breaks_the_stream() {
        let mut framer = StreamFramer::new();
        framer
            .handle_bytes(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n")
            .unwrap();
        assert_eq!(framer.poll_frame(), Err(FramingError::MissingContentLength));
        assert!(framer.is_broken());
        assert_eq!(framer.poll_frame(), Ok(None));
        assert_eq!(framer.handle_bytes(b"x"), Err(FramingError::Broken));
        assert_eq!(framer.stats().missing_content_length, 1);
    }

    #[test]
    fn contradictory_content_length_is_an_error() {
        let mut framer = StreamFramer::new();
        framer
            .handle_bytes(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab")
            .unwrap();
        assert_eq!(framer.poll_frame(), Err(FramingError::BadContentLength));
        let mut framer = StreamFramer::new();
        framer
            .handle_bytes(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n")
            .unwrap();
        assert_eq!(framer.poll_frame(), Err(FramingError::BadContentLength));
    }

    #[test]
    fn oversized_header_and_body_are_errors() {
        let mut framer = StreamFramer::with_limits(64, 1000);
        framer.handle_bytes(&[b'a'; 65]).unwrap();
        assert_eq!(
            framer.poll_frame(),
            Err(FramingError::HeaderTooLong { limit: 64 })
        );
        assert_eq!(framer.stats().header_too_long, 1);
        assert_eq!(framer.buffered(), 0);

        let mut framer = StreamFramer::with_limits(64, 100);
        framer
            .handle_bytes(b"OPTIONS sip:a@b SIP/2.0\r\nl: 9999999999\r\n\r\n")
            .unwrap();
        assert!(matches!(
            framer.poll_frame(),
            Err(FramingError::MessageTooLarge { limit: 100, .. })
        ));
    }

    #[test]
    fn feeding_without_polling_is_bounded() {
        let mut framer = StreamFramer::with_limits(64, 100);
        framer.handle_bytes(&[b'a'; 200]).unwrap();
        assert_eq!(framer.handle_bytes(b"a"), Err(FramingError::BufferFull));
    }
}
