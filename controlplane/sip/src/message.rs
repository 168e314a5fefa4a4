//! SIP messages: parsing with limits, header accessors, responses, and the
//! identifiers a UA generates (RFC 3261 §7, §8.1.1, §8.2, §18, §20).
//!
//! Messages are [`rsip`] types. [`parse`] does not hand raw bytes to `rsip`:
//! it first checks and normalises what `rsip` would get wrong or accept
//! although Tandem must not:
//!
//! - size: at most [`MAX_MESSAGE_LEN`] bytes and [`MAX_HEADERS`] header
//!   fields; leading CRLFs are skipped (§7.5);
//! - start line: exactly `Method SP Request-URI SP SIP/2.0` or
//!   `SIP/2.0 SP 3DIGIT SP Reason`; other versions are refused with 505
//!   (§8.2.2... via [`ParseError::to_sip_status`]); methods are
//!   case-sensitive (§7.1), and a method `rsip` does not know (its `Method`
//!   is a closed enum) is refused with 501;
//! - header fields: folded lines are unfolded (§7.3.1), whitespace before
//!   the colon is removed, compact names are expanded (§7.3.3, and the
//!   compact forms of later RFCs), comma-separated Via values are split so
//!   that the first `Via` header is the top Via, and the single-valued
//!   Call-ID, CSeq, From, To, Max-Forwards, Content-Type and
//!   Content-Length must not repeat;
//! - body: the datagram rule of §18.3: a body shorter than `Content-Length`
//!   is an error, a longer one is truncated, and without `Content-Length`
//!   the body runs to the end of the datagram. Streams are framed first by
//!   [`crate::transport::StreamFramer`], which makes `Content-Length`
//!   mandatory.
//!
//! Header accessors ([`top_via`], [`call_id`], [`cseq`], [`from_tag`],
//! [`to_tag`], [`max_forwards`], [`contact_uri`], [`content_type`],
//! [`content_length`], [`body`]) parse the header values themselves, never
//! panic, and say which header is missing or malformed ([`HeaderError`]).
//! [`check_request`] checks the mandatory headers of §8.1.1 so that the UAS
//! can answer 400 with a precise reason.
//!
//! Outgoing messages are written with [`encode`], which always writes a
//! correct `Content-Length` and copies the body byte for byte (`rsip`'s
//! `Display` would pass the body through `from_utf8_lossy`).
//!
//! Status codes are `StatusCode::Other(code, reason)`, both in responses
//! [`parse`] returns (keeping the peer's reason phrase) and in those built
//! here (with the RFC's phrase, "486 Busy Here", not `rsip`'s "486
//! BusyHere"): compare status codes with `.code()`, never with `==`.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use rsip::headers::UntypedHeader;
use rsip::message::HasHeaders;
use rsip::{Header, Headers, Method, Request, Response, SipMessage, StatusCode};

pub use crate::transport::{Peer, Transport};

/// The largest message [`parse`] accepts, in bytes (a UDP datagram cannot
/// be larger; streams use the same limit).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The largest number of header fields (after splitting Via lists).
pub const MAX_HEADERS: usize = 256;

/// The branch prefix that marks an RFC 3261 branch (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// Why bytes are not a SIP message Tandem accepts. The `Display` text is
/// short and fit for a 400 reason phrase.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but CRLFs (a keep-alive, not a message).
    Empty,
    /// Larger than [`MAX_MESSAGE_LEN`].
    TooLarge {
        /// The message length, in bytes.
        len: usize,
    },
    /// No empty line ends the header block.
    NoEndOfHeaders,
    /// The start line is neither a request line nor a status line.
    StartLine,
    /// The SIP version is not 2.0.
    Version,
    /// The method is well-formed but not one Tandem implements.
    UnsupportedMethod,
    /// The status code is not three digits in 100..=699.
    StatusCode,
    /// The Request-URI does not parse.
    RequestUri,
    /// A header line has no colon, a bad name, or control characters.
    HeaderLine,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// The header block is not UTF-8.
    NotUtf8,
    /// A header value is malformed in a way that breaks the message (an
    /// empty Via list element, for example).
    HeaderValue(&'static str),
    /// A single-valued header appears more than once.
    DuplicateHeader(&'static str),
    /// Content-Length is not a number, or two of them disagree.
    ContentLength,
    /// The datagram ends before the body Content-Length announces (§18.3).
    BodyShorterThanContentLength {
        /// The Content-Length value.
        declared: usize,
        /// The body bytes present.
        received: usize,
    },
    /// `rsip` refused the normalised message (a header value it cannot
    /// represent, for example).
    Rejected,
}

impl ParseError {
    /// The status a UAS answers with, if it can answer at all (RFC 3261
    /// §8.2: 400, 505 for the version, 501 for the method, 513 for size).
    #[must_use]
    pub fn to_sip_status(self) -> u16 {
        match self {
            Self::TooLarge { .. } => 513,
            Self::Version => 505,
            Self::UnsupportedMethod => 501,
            _ => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty message"),
            Self::TooLarge { len } => {
                write!(
                    f,
                    "Message too large ({len} bytes, limit {MAX_MESSAGE_LEN})"
                )
            }
            Self::NoEndOfHeaders => f.write_str("Header block not terminated by an empty line"),
            Self::StartLine => f.write_str("Malformed start line"),
            Self::Version => f.write_str("Unsupported SIP version"),
            Self::UnsupportedMethod => f.write_str("Unsupported method"),
            Self::StatusCode => f.write_str("Malformed status code"),
            Self::RequestUri => f.write_str("Malformed Request-URI"),
            Self::HeaderLine => f.write_str("Malformed header line"),
            Self::TooManyHeaders => write!(f, "More than {MAX_HEADERS} header fields"),
            Self::NotUtf8 => f.write_str("Header block is not UTF-8"),
            Self::HeaderValue(name) => write!(f, "Malformed {name} header"),
            Self::DuplicateHeader(name) => write!(f, "Duplicate {name} header"),
            Self::ContentLength => f.write_str("Malformed Content-Length"),
            Self::BodyShorterThanContentLength { declared, received } => write!(
                f,
                "Body shorter than Content-Length ({received} of {declared} bytes)"
            ),
            Self::Rejected => f.write_str("Malformed message"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A header that a message needs is missing or unreadable. The `Display`
/// text is fit for a 400 reason phrase.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The header is absent.
    Missing(&'static str),
    /// The header is present but does not parse.
    Malformed(&'static str),
    /// The CSeq method differs from the request method (§8.1.1.5).
    CSeqMethodMismatch,
}

impl HeaderError {
    /// The status to answer a request with: always 400 (§8.2, §21.4.1).
    #[must_use]
    pub fn to_sip_status(self) -> u16 {
        400
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(name) => write!(f, "Missing {name} header"),
            Self::Malformed(name) => write!(f, "Malformed {name} header"),
            Self::CSeqMethodMismatch => f.write_str("CSeq method does not match the request"),
        }
    }
}

impl std::error::Error for HeaderError {}

// ---------------------------------------------------------------------------
// Parsing

/// Parses one datagram (or one message framed off a stream) into a
/// message; see the module docs for what is checked.
pub fn parse(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(ParseError::TooLarge { len: bytes.len() });
    }
    let mut bytes = bytes;
    while let Some(rest) = bytes.strip_prefix(b"\r\n") {
        bytes = rest;
    }
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let head_end = crate::transport::find(bytes, b"\r\n\r\n").ok_or(ParseError::NoEndOfHeaders)?;
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| ParseError::NotUtf8)?;
    let rest = &bytes[head_end + 4..];

    let mut lines = head.split("\r\n");
    let start_line = StartLine::parse(lines.next().unwrap_or_default())?;
    let fields = header_fields(lines)?;

    let mut canonical = String::with_capacity(head.len() + 64);
    start_line.write(&mut canonical);
    let mut content_length: Option<usize> = None;
    let mut seen = [0u8; SINGLE_VALUED.len()];
    for (name, value) in &fields {
        if let Some(i) = SINGLE_VALUED
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
        {
            if i == CONTENT_LENGTH_INDEX {
                let n = parse_content_length(value)?;
                if content_length.is_some_and(|c| c != n) {
                    return Err(ParseError::ContentLength);
                }
                content_length = Some(n);
            } else if seen[i] > 0 {
                return Err(ParseError::DuplicateHeader(SINGLE_VALUED[i]));
            }
            seen[i] = 1;
        }
        canonical.push_str(name);
        canonical.push_str(": ");
        canonical.push_str(value);
        canonical.push_str("\r\n");
    }
    canonical.push_str("\r\n");

    let body = match content_length {
        Some(declared) if rest.len() < declared => {
            return Err(ParseError::BodyShorterThanContentLength {
                declared,
                received: rest.len(),
            });
        }
        Some(declared) => &rest[..declared],
        None => rest,
    };

    let mut message = match SipMessage::try_from(canonical.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            return Err(match start_line {
                StartLine::Request { uri, .. } if rsip::Uri::try_from(uri).is_err() => {
                    ParseError::RequestUri
                }
                _ => ParseError::Rejected,
            });
        }
    };
    *message.body_mut() = body.to_vec();
    if let (SipMessage::Response(response), StartLine::Response { code, reason }) =
        (&mut message, start_line)
    {
        // rsip maps known codes to variants that print their own phrase;
        // keep the peer's (for logs, and when a B2BUA relays it).
        response.status_code = StatusCode::Other(code, reason.to_owned());
    }
    Ok(message)
}

/// Single-valued headers that must not repeat (§7.3.1 allows repetition
/// only for comma-separated lists). Content-Length may repeat with one value.
const SINGLE_VALUED: [&str; 7] = [
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Max-Forwards",
    "Content-Type",
    "Content-Length",
];
const CONTENT_LENGTH_INDEX: usize = 6;

#[derive(Debug, Clone, Copy)]
enum StartLine<'a> {
    Request { method: Method, uri: &'a str },
    Response { code: u16, reason: &'a str },
}

impl<'a> StartLine<'a> {
    fn parse(line: &'a str) -> Result<Self, ParseError> {
        let starts_sip = |s: &str| s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
        if starts_sip(line) {
            let (version, rest) = line.split_once(' ').ok_or(ParseError::StartLine)?;
            if !version.eq_ignore_ascii_case("SIP/2.0") {
                return Err(ParseError::Version);
            }
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::StatusCode);
            }
            let code: u16 = code.parse().map_err(|_| ParseError::StatusCode)?;
            if !(100..=699).contains(&code) {
                return Err(ParseError::StatusCode);
            }
            if reason.chars().any(|c| c.is_control() && c != '\t') {
                return Err(ParseError::StartLine);
            }
            return Ok(Self::Response { code, reason });
        }
        let mut parts = line.split(' ');
        let (Some(method), Some(uri), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::StartLine);
        };
        if method.is_empty() || !method.bytes().all(is_token_byte) || uri.is_empty() {
            return Err(ParseError::StartLine);
        }
        if !is_plausible_uri(uri) {
            return Err(ParseError::RequestUri);
        }
        if !version.eq_ignore_ascii_case("SIP/2.0") {
            if starts_sip(version) {
                return Err(ParseError::Version);
            }
            return Err(ParseError::StartLine);
        }
        let method = method_from_token(method).ok_or(ParseError::UnsupportedMethod)?;
        if rsip::Uri::try_from(uri).is_err() {
            return Err(ParseError::RequestUri);
        }
        Ok(Self::Request { method, uri })
    }

    fn write(&self, out: &mut String) {
        use fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = match self {
            Self::Request { method, uri } => write!(out, "{method} {uri} SIP/2.0\r\n"),
            Self::Response { code, reason } => write!(out, "SIP/2.0 {code} {reason}\r\n"),
        };
    }
}

/// An absolute URI as RFC 3986 §3.1 shapes it: a scheme, a colon, and no
/// characters that are never allowed unescaped (rsip accepts
/// `<sip:user@example.com>` as a Request-URI, RFC 4475 §3.1.2.6).
fn is_plausible_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let mut scheme_chars = scheme.bytes();
    scheme_chars.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_chars.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !rest.is_empty()
        && uri
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"{}|\\^`".contains(&b))
}

/// The method named exactly `token` (methods are case-sensitive, §7.1),
/// if `rsip` has it.
#[must_use]
pub fn method_from_token(token: &str) -> Option<Method> {
    Method::all().into_iter().find(|m| {
        // rsip prints "PRACK" for PRack; compare with what goes on the wire.
        m.to_string() == token
    })
}

/// Splits, unfolds and normalises the header lines.
fn header_fields<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> Result<Vec<(Cow<'a, str>, String)>, ParseError> {
    // §7.3.1: a line starting with whitespace continues the previous one
    // (even between a name and its colon, RFC 4475 §3.1.1.1); the fold is
    // equivalent to one SP.
    let mut logical: Vec<Cow<'a, str>> = Vec::new();
    for line in lines {
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(ParseError::HeaderLine);
        }
        if line.starts_with([' ', '\t']) {
            let last = logical.last_mut().ok_or(ParseError::HeaderLine)?;
            let more = line.trim_matches([' ', '\t']);
            if !more.is_empty() {
                let joined = last.to_mut();
                joined.push(' ');
                joined.push_str(more);
            }
            continue;
        }
        logical.push(Cow::Borrowed(line));
        if logical.len() > MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
    }
    let mut fields: Vec<(Cow<'a, str>, String)> = Vec::with_capacity(logical.len());
    for line in &logical {
        let (name, value) = line.split_once(':').ok_or(ParseError::HeaderLine)?;
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ParseError::HeaderLine);
        }
        let name = Cow::Owned(expand_compact(name).into_owned());
        fields.push((name, value.trim_matches([' ', '\t']).to_owned()));
    }
    // Split Via lists after unfolding (a fold may sit inside a list).
    let mut out = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        if name.eq_ignore_ascii_case("Via") {
            for part in split_list(&value) {
                let part = part.trim_matches([' ', '\t']);
                if part.is_empty() {
                    return Err(ParseError::HeaderValue("Via"));
                }
                out.push((Cow::Borrowed("Via"), part.to_owned()));
            }
        } else {
            out.push((name, value));
        }
    }
    if out.len() > MAX_HEADERS {
        return Err(ParseError::TooManyHeaders);
    }
    Ok(out)
}

/// Long names for the compact forms (RFC 3261 §7.3.3 and the IANA SIP
/// parameters registry), so that `rsip` files them under the right variant.
fn expand_compact(name: &str) -> Cow<'_, str> {
    if name.len() != 1 {
        return Cow::Borrowed(name);
    }
    let long = match name.as_bytes()[0].to_ascii_lowercase() {
        b'a' => "Accept-Contact",
        b'b' => "Referred-By",
        b'c' => "Content-Type",
        b'd' => "Request-Disposition",
        b'e' => "Content-Encoding",
        b'f' => "From",
        b'i' => "Call-ID",
        b'j' => "Reject-Contact",
        b'k' => "Supported",
        b'l' => "Content-Length",
        b'm' => "Contact",
        b'o' => "Event",
        b'r' => "Refer-To",
        b's' => "Subject",
        b't' => "To",
        b'u' => "Allow-Events",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => return Cow::Borrowed(name),
    };
    Cow::Borrowed(long)
}

fn parse_content_length(value: &str) -> Result<usize, ParseError> {
    parse_decimal(value, MAX_MESSAGE_LEN as u64)
        .map(|n| n as usize)
        .ok_or(ParseError::ContentLength)
}

/// `1*DIGIT` up to `max`; leading zeros allowed (RFC 4475 §3.1.1.1 sends
/// `Max-Forwards: 0068`).
fn parse_decimal(value: &str, max: u64) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = value.trim_start_matches('0');
    if digits.len() > 19 {
        return None;
    }
    let n = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    (n <= max).then_some(n)
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Splits a header value at the commas that separate list elements, not
/// at commas inside quoted strings or `<...>` URIs.
#[must_use]
pub fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            ',' if !in_angle => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

// ---------------------------------------------------------------------------
// Encoding

/// The message as bytes for the wire: start line, headers in order with a
/// freshly computed `Content-Length` (any old one dropped), and the body
/// byte for byte.
#[must_use]
pub fn encode(message: &SipMessage) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = Vec::with_capacity(512 + message.body().len());
    // Writing to a Vec cannot fail.
    let _ = match message {
        SipMessage::Request(r) => write!(out, "{} {} SIP/2.0\r\n", r.method, r.uri),
        SipMessage::Response(r) => write!(out, "SIP/2.0 {}\r\n", r.status_code),
    };
    for header in message.headers().iter() {
        if matches!(header, Header::ContentLength(_)) {
            continue;
        }
        let _ = write!(out, "{header}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", message.body().len());
    out.extend_from_slice(message.body());
    out
}

/// [`encode`] for a request.
#[must_use]
pub fn encode_request(request: &Request) -> Vec<u8> {
    encode(&SipMessage::Request(request.clone()))
}

/// [`encode`] for a response.
#[must_use]
pub fn encode_response(response: &Response) -> Vec<u8> {
    encode(&SipMessage::Response(response.clone()))
}

// ---------------------------------------------------------------------------
// Accessors

/// The value of the first header of one `rsip` variant.
macro_rules! first_value {
    ($msg:expr, $variant:ident) => {
        $msg.headers().iter().find_map(|h| match h {
            Header::$variant(v) => Some(v.value()),
            _ => None,
        })
    };
}

/// The top Via: the first `Via` header. [`parse`] splits Via lists, so
/// for a parsed message this is the topmost value; for a built message
/// whose first Via header holds a list, the first element is taken.
pub fn top_via<M: HasHeaders>(message: &M) -> Result<ViaRepr, HeaderError> {
    let value = first_value!(message, Via).ok_or(HeaderError::Missing("Via"))?;
    let first = split_list(value).into_iter().next().unwrap_or_default();
    ViaRepr::parse(first)
}

/// The number of Via values (a UAC discards responses with more than one,
/// §8.1.3.3).
pub fn via_count<M: HasHeaders>(message: &M) -> usize {
    message
        .headers()
        .iter()
        .map(|h| match h {
            Header::Via(v) => split_list(v.value()).len(),
            _ => 0,
        })
        .sum()
}

/// The Call-ID (§8.1.1.4): one word, no whitespace.
pub fn call_id<M: HasHeaders>(message: &M) -> Result<&str, HeaderError> {
    let value = first_value!(message, CallId)
        .ok_or(HeaderError::Missing("Call-ID"))?
        .trim();
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(HeaderError::Malformed("Call-ID"));
    }
    Ok(value)
}

/// A parsed CSeq header (§8.1.1.5, §20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeqRepr {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

/// The CSeq: a 32-bit number and a method that `rsip` knows.
pub fn cseq<M: HasHeaders>(message: &M) -> Result<CSeqRepr, HeaderError> {
    const MALFORMED: HeaderError = HeaderError::Malformed("CSeq");
    let value = first_value!(message, CSeq).ok_or(HeaderError::Missing("CSeq"))?;
    let mut words = value.split_ascii_whitespace();
    let (Some(seq), Some(method), None) = (words.next(), words.next(), words.next()) else {
        return Err(MALFORMED);
    };
    let seq = parse_decimal(seq, u64::from(u32::MAX)).ok_or(MALFORMED)? as u32;
    let method = method_from_token(method).ok_or(MALFORMED)?;
    Ok(CSeqRepr { seq, method })
}

/// The From tag (§8.1.1.3); `Ok(None)` when the From has none (RFC 2543
/// peers).
pub fn from_tag<M: HasHeaders>(message: &M) -> Result<Option<&str>, HeaderError> {
    let value = first_value!(message, From).ok_or(HeaderError::Missing("From"))?;
    name_addr_param(value, "tag").ok_or(HeaderError::Malformed("From"))
}

/// The To tag (§8.2.6.2); `Ok(None)` outside a dialog.
pub fn to_tag<M: HasHeaders>(message: &M) -> Result<Option<&str>, HeaderError> {
    let value = first_value!(message, To).ok_or(HeaderError::Missing("To"))?;
    name_addr_param(value, "tag").ok_or(HeaderError::Malformed("To"))
}

/// Max-Forwards (§8.1.1.6, §20.22): 0..=255.
pub fn max_forwards<M: HasHeaders>(message: &M) -> Result<u8, HeaderError> {
    let value = first_value!(message, MaxForwards)
        .ok_or(HeaderError::Missing("Max-Forwards"))?
        .trim();
    parse_decimal(value, 255)
        .map(|n| n as u8)
        .ok_or(HeaderError::Malformed("Max-Forwards"))
}

/// The URI of the first Contact (§8.1.1.8). `Contact: *` (REGISTER's
/// remove-all) has no URI and is reported as malformed here.
pub fn contact_uri<M: HasHeaders>(message: &M) -> Result<rsip::Uri, HeaderError> {
    const MALFORMED: HeaderError = HeaderError::Malformed("Contact");
    let value = first_value!(message, Contact).ok_or(HeaderError::Missing("Contact"))?;
    let first = split_list(value).into_iter().next().unwrap_or_default();
    let uri = name_addr_uri(first).ok_or(MALFORMED)?;
    rsip::Uri::try_from(uri).map_err(|_| MALFORMED)
}

/// The media type of Content-Type without parameters
/// (`application/sdp`), as written: compare with `eq_ignore_ascii_case`.
pub fn content_type<M: HasHeaders>(message: &M) -> Option<&str> {
    let value = first_value!(message, ContentType)?;
    let media = value.split(';').next().unwrap_or_default().trim();
    (!media.is_empty()).then_some(media)
}

/// The Content-Length header's value, if present.
pub fn content_length<M: HasHeaders>(message: &M) -> Result<Option<usize>, HeaderError> {
    first_value!(message, ContentLength)
        .map(|v| {
            parse_content_length(v.trim()).map_err(|_| HeaderError::Malformed("Content-Length"))
        })
        .transpose()
}

/// The body: after [`parse`], exactly Content-Length bytes.
#[must_use]
pub fn body(message: &SipMessage) -> &[u8] {
    message.body()
}

/// The first value of an extension header that `rsip` has no variant for
/// (`Session-Expires`, `RSeq`, `RAck`, `P-Asserted-Identity`, ...), by
/// case-insensitive name. [`parse`] has already expanded compact names.
pub fn extension_header<'a, M: HasHeaders>(message: &'a M, name: &str) -> Option<&'a str> {
    message.headers().iter().find_map(|h| match h {
        Header::Other(n, v) if n.eq_ignore_ascii_case(name) => Some(v.as_str()),
        _ => None,
    })
}

/// The mandatory-header check of §8.1.1 for a received request: To, From,
/// CSeq, Call-ID, Max-Forwards and Via present and readable, and the CSeq
/// method equal to the request method. The error is the 400 reason.
pub fn check_request(request: &Request) -> Result<(), HeaderError> {
    top_via(request)?;
    to_tag(request)?;
    from_tag(request)?;
    call_id(request)?;
    let cseq = cseq(request)?;
    max_forwards(request)?;
    if cseq.method != request.method {
        return Err(HeaderError::CSeqMethodMismatch);
    }
    Ok(())
}

/// The byte positions of the `<` and `>` of a name-addr, skipping a quoted
/// display name. `Ok(None)` for an addr-spec; `Err` when unbalanced.
fn angle_brackets(value: &str) -> Result<Option<(usize, usize)>, ()> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => {
                let close = value[i..].find('>').ok_or(())? + i;
                return Ok(Some((i, close)));
            }
            // In an addr-spec, the first `;` ends the URI (§20.10).
            ';' => return Ok(None),
            _ => {}
        }
    }
    if in_quotes { Err(()) } else { Ok(None) }
}

/// The header parameters of a name-addr / addr-spec value (`From`, `To`,
/// `Contact`): everything after the `>` of a name-addr, or after the URI of
/// a bare addr-spec (where a `;` starts the header parameters, §20.10).
/// `None` when a `<` or a quote is not closed.
fn header_params(value: &str) -> Option<&str> {
    match angle_brackets(value).ok()? {
        Some((_, close)) => Some(&value[close + 1..]),
        None => Some(value.find(';').map_or("", |i| &value[i..])),
    }
}

/// The URI of a name-addr (between `<` and `>`) or addr-spec (before the
/// first `;`).
fn name_addr_uri(value: &str) -> Option<&str> {
    let value = value.trim();
    let uri = match angle_brackets(value).ok()? {
        Some((open, close)) => &value[open + 1..close],
        None => value.split(';').next().unwrap_or_default(),
    };
    let uri = uri.trim();
    (!uri.is_empty() && uri != "*").then_some(uri)
}

/// `Some(Some(value))` for `name=value`, `Some(None)` when the parameter
/// is absent (or has no value), `None` when the value is malformed.
fn name_addr_param<'a>(value: &'a str, name: &str) -> Option<Option<&'a str>> {
    let params = header_params(value.trim())?;
    Some(find_param(params, name).flatten())
}

/// Looks up `name` in `;a=b;c` parameters: `Some(Some(v))`, `Some(None)`
/// for a valueless parameter, `None` when absent.
fn find_param<'a>(params: &'a str, name: &str) -> Option<Option<&'a str>> {
    split_params(params).find_map(|(n, v)| n.eq_ignore_ascii_case(name).then_some(v))
}

/// Iterates over `;name[=value]` parameters (quotes respected), trimmed.
fn split_params(params: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    split_outside_quotes(params, ';')
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (p, None),
        })
}

fn split_outside_quotes(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
        } else if c == '"' {
            in_quotes = true;
        } else if c == sep {
            parts.push(&value[start..i]);
            start = i + sep.len_utf8();
        }
    }
    parts.push(&value[start..]);
    parts
}

// ---------------------------------------------------------------------------
// Via

/// The `rport` parameter of a Via (RFC 3581).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// No `rport`: respond to the sent-by port.
    Absent,
    /// `;rport` without a value: the client asks to be answered at the
    /// source port; the server fills it in.
    Requested,
    /// `;rport=N`, filled in by the server.
    Port(u16),
}

/// One parsed Via value (§20.42): `SIP/2.0/UDP host:port;params`.
///
/// Parameters keep their order and unknown ones survive [`Display`], so a
/// Via can be read, stamped (`received`, `rport`) and written back.
///
/// [`Display`]: fmt::Display
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaRepr {
    /// The transport token as written, upper-cased (`UDP`, `TCP`, `TLS`,
    /// `SCTP`, `WS`, ...).
    pub transport: String,
    /// The sent-by host as written (an IPv6 reference keeps its brackets).
    pub host: String,
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// The parameters, in order; names as written.
    pub params: Vec<(String, Option<String>)>,
}

impl ViaRepr {
    /// Parses one Via value (not a list). Whitespace around `/`, `:`, `;`
    /// and `=` is allowed, as the grammar's SWS allows it.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        const MALFORMED: HeaderError = HeaderError::Malformed("Via");
        let mut parts = split_outside_quotes(value, ';').into_iter();
        let proto_and_sent_by = parts.next().unwrap_or_default().trim();
        // sent-protocol: SIP / 2.0 / transport, then LWS, then sent-by.
        let mut slashes = proto_and_sent_by.splitn(3, '/');
        let (Some(name), Some(version), Some(rest)) =
            (slashes.next(), slashes.next(), slashes.next())
        else {
            return Err(MALFORMED);
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return Err(MALFORMED);
        }
        let rest = rest.trim_start();
        let split = rest.find([' ', '\t']).ok_or(MALFORMED)?;
        let (transport, sent_by) = rest.split_at(split);
        if transport.is_empty() || !transport.bytes().all(is_token_byte) {
            return Err(MALFORMED);
        }
        let (host, port) = parse_host_port(sent_by.trim()).ok_or(MALFORMED)?;
        let mut params = Vec::new();
        for p in parts {
            let p = p.trim();
            let (n, v) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (p, None),
            };
            if n.is_empty() || !n.bytes().all(is_token_byte) || v.is_some_and(str::is_empty) {
                return Err(MALFORMED);
            }
            params.push((n.to_owned(), v.map(str::to_owned)));
        }
        let via = Self {
            transport: transport.to_ascii_uppercase(),
            host: host.to_owned(),
            port,
            params,
        };
        // A branch must be a token (§20.42); an unreadable rport or
        // received would misdirect responses.
        if via.branch().is_some_and(|b| !b.bytes().all(is_token_byte))
            || via.rport_param().is_err()
            || via.received().is_some_and(|r| r.parse::<IpAddr>().is_err())
        {
            return Err(MALFORMED);
        }
        Ok(via)
    }

    /// A parameter's value: `Some(Some(v))`, `Some(None)` when valueless,
    /// `None` when absent.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Sets (or adds, at the end) a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }

    /// The branch parameter.
    #[must_use]
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// Whether the branch starts with the RFC 3261 magic cookie
    /// (§8.1.1.7); if not, the sender follows RFC 2543.
    #[must_use]
    pub fn has_magic_cookie(&self) -> bool {
        self.branch().is_some_and(|b| {
            b.starts_with(BRANCH_MAGIC_COOKIE) && b.len() > BRANCH_MAGIC_COOKIE.len()
        })
    }

    /// The `received` parameter (§18.2.1).
    #[must_use]
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// The `received` parameter as an address.
    #[must_use]
    pub fn received_ip(&self) -> Option<IpAddr> {
        self.received()?.parse().ok()
    }

    fn rport_param(&self) -> Result<Rport, ()> {
        match self.param("rport") {
            None => Ok(Rport::Absent),
            Some(None) => Ok(Rport::Requested),
            Some(Some(p)) => match p.parse::<u16>() {
                Ok(p) if p != 0 => Ok(Rport::Port(p)),
                _ => Err(()),
            },
        }
    }

    /// The `rport` parameter (RFC 3581).
    #[must_use]
    pub fn rport(&self) -> Rport {
        self.rport_param().unwrap_or(Rport::Absent)
    }

    /// The transport, if Tandem speaks it.
    #[must_use]
    pub fn transport(&self) -> Option<Transport> {
        Transport::from_token(&self.transport)
    }

    /// The sent-by host as an address, when it is an IP literal.
    #[must_use]
    pub fn sent_by_ip(&self) -> Option<IpAddr> {
        let host = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host);
        host.parse().ok()
    }

    /// The sent-by port, or the transport's default (§18.2.2).
    #[must_use]
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or_else(|| self.transport().unwrap_or(Transport::Udp).default_port())
    }

    /// Whether two Vias have the same sent-by (host compared
    /// case-insensitively, ports with defaults applied), as transaction
    /// matching requires (§17.2.3).
    #[must_use]
    pub fn same_sent_by(&self, other: &Self) -> bool {
        self.host.eq_ignore_ascii_case(&other.host)
            && self.port_or_default() == other.port_or_default()
    }
}

impl fmt::Display for ViaRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

/// `host [":" port]` with SWS around the colon; IPv6 references in
/// brackets. Hosts are hostnames or IP literals.
fn parse_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        let host = &s[..=close];
        host[1..close].parse::<std::net::Ipv6Addr>().ok()?;
        let rest = s[close + 1..].trim();
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p.trim()),
            None if rest.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.trim(), Some(p.trim())),
            None => (s, None),
        }
    };
    if host.is_empty()
        || (!host.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            match p.parse::<u16>() {
                Ok(0) | Err(_) => return None,
                Ok(p) => Some(p),
            }
        }
    };
    Some((host, port))
}

/// Server transport processing of a received request (§18.2.1 and RFC 3581
/// §4): adds `received` to the top Via when its sent-by host is not the
/// source address, and when the client asked for `rport`, fills it in with
/// the source port (and adds `received` unconditionally, as RFC 3581
/// requires).
pub fn stamp_received(request: &mut Request, source: SocketAddr) -> Result<(), HeaderError> {
    let source_ip = source.ip().to_canonical();
    let header = request
        .headers
        .iter_mut()
        .find_map(|h| match h {
            Header::Via(v) => Some(v),
            _ => None,
        })
        .ok_or(HeaderError::Missing("Via"))?;
    let values = split_list(header.value());
    let mut via = ViaRepr::parse(values.first().copied().unwrap_or_default())?;
    let rport_requested = via.param("rport").is_some();
    if via.sent_by_ip() != Some(source_ip) || rport_requested {
        via.set_param("received", Some(source_ip.to_string()));
    }
    if rport_requested {
        via.set_param("rport", Some(source.port().to_string()));
    }
    let mut new_value = via.to_string();
    for rest in values.iter().skip(1) {
        new_value.push(',');
        new_value.push_str(rest);
    }
    header.replace(new_value);
    Ok(())
}

/// Where to send a response (§18.2.2, RFC 3581 §4), given the request's
/// (stamped) top Via and the peer it came from:
///
/// - reliable transports: back to the source, on the same connection (if it
///   is gone, the gateway may connect to `received`/sent-by; not done
///   here);
/// - UDP with `rport=N`: the `received` address (or the source) at port N;
/// - UDP otherwise: the `received` address, else the sent-by address, at
///   the sent-by port (default 5060).
///
/// `maddr` (multicast) is not supported and is ignored. `None` when the
/// sent-by is a host name and there is no `received`: the caller would
/// have to resolve it (RFC 3263 §6); [`stamp_received`] prevents that.
#[must_use]
pub fn response_target(via: &ViaRepr, source: Peer) -> Option<Peer> {
    if source.is_reliable() {
        return Some(source);
    }
    let ip = via.received_ip().or_else(|| via.sent_by_ip());
    let addr = match via.rport() {
        Rport::Port(port) => SocketAddr::new(ip.unwrap_or(source.addr.ip()), port),
        Rport::Requested => source.addr,
        Rport::Absent => SocketAddr::new(ip?, via.port.unwrap_or(5060)),
    };
    Some(Peer::udp(addr))
}

// ---------------------------------------------------------------------------
// Building messages

/// The reason phrase RFC 3261 §21 (and later RFCs) give a status code, or a
/// generic one for its class.
#[must_use]
pub fn default_reason(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => match code / 100 {
            1 => "Provisional",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
    }
}

/// A status code that prints with `reason` (control characters replaced),
/// or the default reason phrase.
#[must_use]
pub fn status_code(code: u16, reason: Option<&str>) -> StatusCode {
    let reason = match reason {
        Some(r) => r
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
        None => default_reason(code).to_owned(),
    };
    StatusCode::Other(code, reason)
}

/// A response to `request` (§8.2.6): Via headers (all, in order), From,
/// To, Call-ID and CSeq copied; a To tag added when the To has none, the
/// status is above 100 and `to_tag` is given (§8.2.6.2; 100 Trying never
/// gets one); the Timestamp copied into a 100 (§8.2.6.1);
/// `Content-Length: 0`. Headers the request lacks are left out.
#[must_use]
pub fn response_to(
    request: &Request,
    status: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
) -> Response {
    let mut headers = Headers::default();
    for h in request.headers.iter() {
        if matches!(h, Header::Via(_)) {
            headers.push(h.clone());
        }
    }
    for h in request.headers.iter() {
        match h {
            Header::From(_) | Header::CallId(_) | Header::CSeq(_) => headers.push(h.clone()),
            Header::Timestamp(_) if status == 100 => headers.push(h.clone()),
            Header::To(to) => {
                let has_tag = name_addr_param(to.value(), "tag").flatten().is_some();
                match to_tag {
                    Some(tag) if status > 100 && !has_tag => headers.push(Header::To(
                        rsip::headers::To::new(format!("{};tag={tag}", to.value())),
                    )),
                    _ => headers.push(h.clone()),
                }
            }
            _ => {}
        }
    }
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        "0",
    )));
    Response {
        status_code: status_code(status, reason),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// Reduces a request to what identifies it: its start line and the Via,
/// From, To, Call-ID and CSeq headers, without a body. Transactions and
/// dialogs keep requests for their whole life (32 s after a 2xx, RFC
/// 6026; the call's length for a dialog's INVITE); keeping only this is
/// what makes an idle established call cheap in memory.
pub fn strip_to_identity(request: &mut Request) {
    keep_headers(request, |h| {
        matches!(
            h,
            Header::Via(_) | Header::From(_) | Header::To(_) | Header::CallId(_) | Header::CSeq(_)
        )
    });
}

/// Keeps only the headers `keep` selects, and drops the body.
pub fn keep_headers(request: &mut Request, keep: impl Fn(&Header) -> bool) {
    let kept: Vec<Header> = std::mem::take(&mut request.headers)
        .into_iter()
        .filter(|h| keep(h))
        .collect();
    request.headers = kept.into();
    request.body = Vec::new();
}

/// Inserts headers before the body headers (Content-Type, Content-Length),
/// which the builders here put last.
pub fn insert_before_body_headers(headers: &mut Headers, extra: Vec<Header>) {
    let mut all: Vec<Header> = std::mem::take(headers).into();
    let at = all
        .iter()
        .position(|h| matches!(h, Header::ContentType(_) | Header::ContentLength(_)))
        .unwrap_or(all.len());
    all.splice(at..at, extra);
    *headers = all.into();
}

/// The option tags (RFC 3261 §19.2) of every `Supported` header when
/// `supported`, else of every `Require` header.
#[must_use]
pub fn option_tags<M: HasHeaders>(m: &M, supported: bool) -> Vec<&str> {
    m.headers()
        .iter()
        .filter_map(|h| match h {
            Header::Require(r) if !supported => Some(r.value()),
            Header::Supported(s) if supported => Some(s.value()),
            _ => None,
        })
        .flat_map(split_list)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// The ACK a client INVITE transaction sends for a non-2xx final response
/// (§17.1.1.3): the INVITE's Request-URI, top Via only, Route headers,
/// From, Call-ID and CSeq number; the response's To (with its tag); CSeq
/// method ACK; no body.
#[must_use]
pub fn non2xx_ack(invite: &Request, response: &Response) -> Request {
    let mut headers = Headers::default();
    if let Some(via) = invite.headers.iter().find(|h| matches!(h, Header::Via(_))) {
        let top = match via {
            Header::Via(v) => {
                let first = split_list(v.value()).first().copied().unwrap_or_default();
                Header::Via(rsip::headers::Via::new(first))
            }
            other => other.clone(),
        };
        headers.push(top);
    }
    for h in invite.headers.iter() {
        match h {
            Header::Route(_) | Header::From(_) | Header::CallId(_) => headers.push(h.clone()),
            Header::To(to) => {
                let to = response
                    .headers
                    .iter()
                    .find(|h| matches!(h, Header::To(_)))
                    .cloned()
                    .unwrap_or_else(|| Header::To(to.clone()));
                headers.push(to);
            }
            _ => {}
        }
    }
    let seq = cseq(invite).map(|c| c.seq).unwrap_or(0);
    headers.push(Header::CSeq(rsip::headers::CSeq::new(format!("{seq} ACK"))));
    headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// The CANCEL for a request (§9.1): same Request-URI, top Via (so the
/// same branch), Route headers, From, To, Call-ID and CSeq number, CSeq
/// method CANCEL. Send it as its own client transaction, and only after a
/// provisional response has arrived (§9.1).
#[must_use]
pub fn build_cancel(request: &Request) -> Request {
    let mut headers = Headers::default();
    if let Some(Header::Via(v)) = request.headers.iter().find(|h| matches!(h, Header::Via(_))) {
        let first = split_list(v.value()).first().copied().unwrap_or_default();
        headers.push(Header::Via(rsip::headers::Via::new(first)));
    }
    for h in request.headers.iter() {
        if matches!(
            h,
            Header::Route(_) | Header::From(_) | Header::To(_) | Header::CallId(_)
        ) {
            headers.push(h.clone());
        }
    }
    let seq = cseq(request).map(|c| c.seq).unwrap_or(0);
    headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
        "{seq} CANCEL"
    ))));
    headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
    Request {
        method: Method::Cancel,
        uri: request.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Identifiers

/// 64 bits that differ on every call and between processes: SipHash keyed
/// by std's per-process random keys (`RandomState`), over a counter. Good
/// for branches, tags and Call-IDs (which need uniqueness and some
/// unguessability, §8.1.1.4, §19.3), not for secrets such as digest nonces.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    RandomState::new().hash_one(n)
}

/// A fresh branch with the magic cookie (§8.1.1.7), 96 random bits after
/// it.
#[must_use]
pub fn new_branch() -> String {
    format!(
        "{BRANCH_MAGIC_COOKIE}{:016x}{:08x}",
        random_u64(),
        random_u64() as u32
    )
}

/// A fresh From/To tag (§19.3: at least 32 random bits; this has 64).
#[must_use]
pub fn new_tag() -> String {
    format!("{:016x}", random_u64())
}

/// A fresh Call-ID (§8.1.1.4): 128 random bits, with `@host` when a host
/// is given.
#[must_use]
pub fn new_call_id(host: Option<&str>) -> String {
    let id = format!("{:016x}{:016x}", random_u64(), random_u64());
    match host {
        Some(h) => format!("{id}@{h}"),
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
        Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKold\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        From: \"Alice; <A>\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>;expires=60\r\n\
        Timestamp: 54\r\n\
        Content-Type: application/sdp;charset=utf-8\r\n\
        Content-Length: 4\r\n\r\nv=0\n";

    fn request(text: &str) -> Request {
        match parse(text.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("not a request"),
        }
    }

    #[test]
    fn accessors_read_a_parsed_invite() {
        let req = request(INVITE);
        assert_eq!(req.method, Method::Invite);
        let via = top_via(&req).unwrap();
        assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(via.host, "pc33.atlanta.example.com");
        assert_eq!(via.port, Some(5060));
        assert_eq!(via.transport(), Some(Transport::Udp));
        assert_eq!(via.rport(), Rport::Requested);
        assert!(via.has_magic_cookie());
        assert_eq!(via_count(&req), 2);
        assert_eq!(call_id(&req), Ok("a84b4c76e66710@pc33.atlanta.example.com"));
        assert_eq!(
            cseq(&req),
            Ok(CSeqRepr {
                seq: 314159,
                method: Method::Invite
            })
        );
        assert_eq!(from_tag(&req), Ok(Some("1928301774")));
        assert_eq!(to_tag(&req), Ok(None));
        assert_eq!(max_forwards(&req), Ok(70));
        // rsip prints the transport parameter upper-cased.
        assert!(
            contact_uri(&req)
                .unwrap()
                .to_string()
                .eq_ignore_ascii_case("sip:alice@pc33.atlanta.example.com;transport=udp")
        );
        assert_eq!(content_type(&req), Some("application/sdp"));
        assert_eq!(content_length(&req), Ok(Some(4)));
        assert_eq!(req.body, b"v=0\n");
        assert_eq!(check_request(&req), Ok(()));
    }

    #[test]
    fn compact_folded_and_listed_headers_are_normalised() {
        let req = request(
            "OPTIONS sip:x@example.com SIP/2.0\r\n\
             v: SIP / 2.0 / TCP 192.0.2.1 : 5070 ; branch = z9hG4bKa, SIP/2.0/UDP b.example\r\n\
             t: <sip:x@example.com>\r\n\
             f: <sip:y@example.com>\r\n  ;tag=abc\r\n\
             i: id1\r\n\
             CSeq   : 1\r\n OPTIONS\r\n\
             Max-Forwards: 0\r\n\
             l: 0\r\n\r\n",
        );
        let via = top_via(&req).unwrap();
        assert_eq!(via.host, "192.0.2.1");
        assert_eq!(via.port, Some(5070));
        assert_eq!(via.branch(), Some("z9hG4bKa"));
        assert_eq!(via.transport(), Some(Transport::Tcp));
        assert_eq!(via_count(&req), 2);
        assert_eq!(from_tag(&req), Ok(Some("abc")));
        assert_eq!(cseq(&req).unwrap().method, Method::Options);
        assert_eq!(check_request(&req), Ok(()));
    }

    #[test]
    fn datagram_body_rules_of_18_3() {
        let short = INVITE.replace("Content-Length: 4", "Content-Length: 10");
        assert_eq!(
            parse(short.as_bytes()),
            Err(ParseError::BodyShorterThanContentLength {
                declared: 10,
                received: 4
            })
        );
        let long = INVITE.replace("Content-Length: 4", "Content-Length: 2");
        assert_eq!(parse(long.as_bytes()).unwrap().body(), b"v=");
        let none = INVITE.replace("Content-Length: 4\r\n", "");
        assert_eq!(parse(none.as_bytes()).unwrap().body(), b"v=0\n");
    }

    #[test]
    fn start_line_errors_are_specific() {
        let cases: &[(&str, ParseError)] = &[
            ("", ParseError::Empty),
            ("\r\n\r\n", ParseError::Empty),
            ("INVITE sip:a@b SIP/2.0\r\n", ParseError::NoEndOfHeaders),
            ("INVITE sip:a@b SIP/7.0\r\n\r\n", ParseError::Version),
            ("SIP/1.0 200 OK\r\n\r\n", ParseError::Version),
            (
                "invite sip:a@b SIP/2.0\r\n\r\n",
                ParseError::UnsupportedMethod,
            ),
            (
                "NEWMETHOD sip:a@b SIP/2.0\r\n\r\n",
                ParseError::UnsupportedMethod,
            ),
            ("INVITE  sip:a@b SIP/2.0\r\n\r\n", ParseError::StartLine),
            ("INVITE sip:a@b  SIP/2.0\r\n\r\n", ParseError::StartLine),
            ("SIP/2.0 2000 OK\r\n\r\n", ParseError::StatusCode),
            ("SIP/2.0 099 Low\r\n\r\n", ParseError::StatusCode),
            // Found by the fuzzer: a multi-byte character across byte 4.
            ("SIP\u{167}rSIP/2.T\r\n\r\n", ParseError::StartLine),
            ("INVITE sip:a@b SIP\u{167}\r\n\r\n", ParseError::StartLine),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n",
                ParseError::HeaderLine,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\n folded-first\r\n\r\n",
                ParseError::HeaderLine,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: a\r\nCall-ID: b\r\n\r\n",
                ParseError::DuplicateHeader("Call-ID"),
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab",
                ParseError::ContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n",
                ParseError::ContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nVia: ,\r\n\r\n",
                ParseError::HeaderValue("Via"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text.as_bytes()).err(), Some(*want), "{text:?}");
        }
        assert_eq!(
            parse(&vec![b'a'; MAX_MESSAGE_LEN + 1]),
            Err(ParseError::TooLarge {
                len: MAX_MESSAGE_LEN + 1
            })
        );
        assert_eq!(ParseError::Version.to_sip_status(), 505);
    }

    #[test]
    fn responses_parse_with_empty_reason() {
        let msg = parse(b"SIP/2.0 200 \r\nCSeq: 1 INVITE\r\n\r\n").unwrap();
        let SipMessage::Response(resp) = msg else {
            panic!("not a response")
        };
        assert_eq!(resp.status_code.code(), 200);
        let msg = parse(b"SIP/2.0 180\r\nCSeq: 1 INVITE\r\n\r\n").unwrap();
        assert!(msg.is_response());
        let msg = parse(b"SIP/2.0 486 Busy Here Today\r\nCSeq: 1 INVITE\r\n\r\n").unwrap();
        assert!(encode(&msg).starts_with(b"SIP/2.0 486 Busy Here Today\r\n"));
    }

    #[test]
    fn check_request_names_the_missing_header() {
        let req = request(&INVITE.replace("Max-Forwards: 70\r\n", ""));
        assert_eq!(
            check_request(&req),
            Err(HeaderError::Missing("Max-Forwards"))
        );
        let req = request(&INVITE.replace("CSeq: 314159 INVITE", "CSeq: 314159 BYE"));
        assert_eq!(check_request(&req), Err(HeaderError::CSeqMethodMismatch));
        let req = request(&INVITE.replace("CSeq: 314159 INVITE", "CSeq: 99999999999 INVITE"));
        assert_eq!(check_request(&req), Err(HeaderError::Malformed("CSeq")));
        let req = request(&INVITE.replace("Max-Forwards: 70", "Max-Forwards: 256"));
        assert_eq!(
            check_request(&req),
            Err(HeaderError::Malformed("Max-Forwards"))
        );
        assert_eq!(HeaderError::Missing("To").to_string(), "Missing To header");
    }

    #[test]
    fn response_to_copies_headers_and_adds_tag() {
        let req = request(INVITE);
        let trying = response_to(&req, 100, None, Some("t1"));
        assert_eq!(to_tag(&trying), Ok(None));
        assert!(
            trying
                .headers
                .iter()
                .any(|h| matches!(h, Header::Timestamp(_)))
        );
        let busy = response_to(&req, 486, None, Some("t1"));
        assert_eq!(to_tag(&busy), Ok(Some("t1")));
        assert_eq!(via_count(&busy), 2);
        assert_eq!(top_via(&busy).unwrap().branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(call_id(&busy), call_id(&req));
        assert_eq!(cseq(&busy), cseq(&req));
        assert_eq!(from_tag(&busy), from_tag(&req));
        assert!(
            !busy
                .headers
                .iter()
                .any(|h| matches!(h, Header::Timestamp(_)))
        );
        let wire = encode_response(&busy);
        assert!(wire.starts_with(b"SIP/2.0 486 Busy Here\r\n"));
        let back = parse(&wire).unwrap();
        assert_eq!(to_tag(&back), Ok(Some("t1")));
        let custom = response_to(&req, 400, Some("Missing\r\nheader"), None);
        assert!(encode_response(&custom).starts_with(b"SIP/2.0 400 Missing  header\r\n"));
    }

    #[test]
    fn encode_round_trips_binary_bodies() {
        let mut req = request(INVITE);
        req.body = vec![0xff, 0x00, b'\r', b'\n'];
        let wire = encode_request(&req);
        let back = parse(&wire).unwrap();
        assert_eq!(back.body(), &[0xff, 0x00, b'\r', b'\n']);
        assert_eq!(content_length(&back), Ok(Some(4)));
    }

    #[test]
    fn received_and_rport_are_stamped_and_used_for_routing() {
        let mut req = request(INVITE);
        let source: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        stamp_received(&mut req, source).unwrap();
        let via = top_via(&req).unwrap();
        assert_eq!(via.received(), Some("198.51.100.7"));
        assert_eq!(via.rport(), Rport::Port(40000));
        assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(via_count(&req), 2);
        assert_eq!(
            response_target(&via, Peer::udp(source)),
            Some(Peer::udp(source))
        );

        // No rport: received is added because the host is a name, and the
        // response goes to the received address at the sent-by port.
        let mut req = request(&INVITE.replace(";rport", ""));
        stamp_received(&mut req, source).unwrap();
        let via = top_via(&req).unwrap();
        assert_eq!(via.rport(), Rport::Absent);
        assert_eq!(
            response_target(&via, Peer::udp(source)),
            Some(Peer::udp("198.51.100.7:5060".parse().unwrap()))
        );

        // Sent-by equals the source address: no received.
        let mut req = request(&INVITE.replace(
            "pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport",
            "198.51.100.7:5062;branch=z9hG4bK776asdhds",
        ));
        stamp_received(&mut req, source).unwrap();
        let via = top_via(&req).unwrap();
        assert_eq!(via.received(), None);
        assert_eq!(
            response_target(&via, Peer::udp(source)),
            Some(Peer::udp("198.51.100.7:5062".parse().unwrap()))
        );
        let tcp = Peer::tcp(source);
        assert_eq!(response_target(&via, tcp), Some(tcp));
    }

    #[test]
    fn via_parse_rejects_garbage() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP host:0",
            "SIP/2.0/UDP host:99999",
            "SIP/3.0/UDP host",
            "SIP/2.0/UDP host;branch=",
            "SIP/2.0/UDP [::1;branch=z9hG4bKx",
            "SIP/2.0/UDP host;rport=abc",
            "SIP/2.0/UDP host;received=not-an-ip",
            "SIP/2.0/UDP ho st",
        ] {
            assert!(ViaRepr::parse(bad).is_err(), "{bad:?}");
        }
        let v6 = ViaRepr::parse("SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKx").unwrap();
        assert_eq!(v6.sent_by_ip(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(
            v6.to_string(),
            "SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKx"
        );
    }

    #[test]
    fn generated_identifiers_are_distinct() {
        let a = new_branch();
        let b = new_branch();
        assert!(a.starts_with(BRANCH_MAGIC_COOKIE));
        assert_ne!(a, b);
        assert_ne!(new_tag(), new_tag());
        assert!(new_call_id(Some("h")).ends_with("@h"));
    }

    #[test]
    fn ack_and_cancel_are_built_from_the_invite() {
        let req = request(INVITE);
        let resp = response_to(&req, 486, None, Some("x"));
        let ack = non2xx_ack(&req, &resp);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(via_count(&ack), 1);
        assert_eq!(top_via(&ack).unwrap().branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(to_tag(&ack), Ok(Some("x")));
        assert_eq!(cseq(&ack).unwrap().method, Method::Ack);
        assert_eq!(cseq(&ack).unwrap().seq, 314159);
        assert_eq!(check_request(&ack), Ok(()));
        let cancel = build_cancel(&req);
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(to_tag(&cancel), Ok(None));
        assert_eq!(check_request(&cancel), Ok(()));
    }
}
