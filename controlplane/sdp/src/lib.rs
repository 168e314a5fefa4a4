//! SDP, the Session Description Protocol (RFC 8866, which obsoletes
//! RFC 4566), as a media proxy needs it: read every line, keep every line,
//! change a few, write it back.
//!
//! # Model
//!
//! [`SessionDescription::parse`] validates a body against the grammar of
//! RFC 8866 §5 and §9 and keeps it as a list of lines — the session-level
//! lines, then one [`MediaDescription`] per `m=` line — each stored as the
//! text that followed `x=`. Nothing is normalised, unknown attributes and
//! unknown line types are kept in place, so [`SessionDescription::emit`]
//! writes a well-formed body back byte for byte (CRLF line ends, RFC 8866
//! §5; bare LF is accepted on input and written as CRLF).
//!
//! Typed views in [`fields`] read individual lines on demand: `o=`
//! ([`Origin`]), `c=` ([`Connection`]), `b=`, `t=`, `m=` ([`MediaLine`]),
//! `rtpmap`/`fmtp`/`ptime`/`maxptime` (RFC 8866 §6), direction (§6.7),
//! `rtcp` (RFC 3605), `rtcp-mux` (RFC 5761), ICE (RFC 8839 §5), `crypto`
//! (RFC 4568), `setup` (RFC 4145) and `fingerprint` (RFC 8122).
//!
//! The edits a media proxy (rtpengine's ng protocol) makes are methods of
//! [`SessionDescription`] and [`MediaDescription`]: connection and origin
//! address ([`SessionDescription::set_session_connection`],
//! [`SessionDescription::set_origin_address`]), origin version, media port
//! and protocol, ICE removal, direction, `a=rtcp`, and codec
//! strip/keep/add/reorder ([`MediaDescription::strip_codecs`],
//! [`MediaDescription::add_codec`], ...) with telephone-event
//! (RFC 4733 §7.1.1).
//!
//! # Contract
//!
//! Pure functions on bytes: no I/O, no clock. Hostile input (huge bodies,
//! missing fields, numbers out of range, invalid UTF-8) is an [`SdpError`]
//! naming the line, never a panic; bodies over [`MAX_SDP_LEN`] are refused.
//!
//! # Example
//!
//! ```
//! use tandem_sdp::SessionDescription;
//!
//! let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n\
//!              t=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
//! let mut sdp = SessionDescription::parse(offer.as_bytes())?;
//! assert_eq!(sdp.to_string(), offer); // byte-identical round trip
//!
//! sdp.set_session_connection("203.0.113.7".parse().unwrap());
//! sdp.set_media_port(0, 30000).unwrap();
//! sdp.bump_origin_version();
//! assert!(sdp.to_string().contains("c=IN IP4 203.0.113.7\r\n"));
//! assert!(sdp.to_string().contains("m=audio 30000 RTP/AVP 0 8 101\r\n"));
//! assert_eq!(sdp.origin().unwrap().session_version, 2);
//! # Ok::<(), tandem_sdp::SdpError>(())
//! ```

#![forbid(unsafe_code)]

pub mod codec;
mod edit;
mod error;
pub mod fields;
pub mod offer_answer;

use core::fmt;

pub use codec::{Codec, CodecSpec};
pub use error::{EditError, SdpError, SdpErrorKind};
pub use fields::{
    Address, Attribute, Bandwidth, Candidate, Connection, Crypto, Direction, Fingerprint, Fmtp,
    MediaLine, Origin, Rtcp, Rtpmap, Setup, Timing,
};

/// The largest body [`SessionDescription::parse`] accepts, in octets. An
/// SDP carried over UDP (SIP or ng) is far smaller.
pub const MAX_SDP_LEN: usize = 64 * 1024;

/// One `<type>=<value>` line, stored as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    kind: char,
    value: String,
}

impl Line {
    /// The type letter.
    pub fn kind(&self) -> char {
        self.kind
    }

    /// Everything after `=`.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The attribute, for an `a=` line.
    pub fn attribute(&self) -> Option<Attribute<'_>> {
        if self.kind == 'a' {
            Attribute::parse(&self.value).ok()
        } else {
            None
        }
    }

    pub(crate) fn new(kind: char, value: String) -> Self {
        Self { kind, value }
    }

    fn is_attribute(&self, name: &str) -> bool {
        self.attribute().is_some_and(|a| a.name == name)
    }
}

/// One media description: its `m=` line and the lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    m: Line,
    lines: Vec<Line>,
}

/// A session description: session-level lines, then media descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    session: Vec<Line>,
    media: Vec<MediaDescription>,
}

fn attributes(lines: &[Line]) -> impl Iterator<Item = Attribute<'_>> {
    lines.iter().filter_map(Line::attribute)
}

fn direction_of(lines: &[Line]) -> Option<Direction> {
    attributes(lines).find_map(|a| {
        if a.value.is_none() {
            Direction::from_name(a.name)
        } else {
            None
        }
    })
}

impl SessionDescription {
    /// Parses and validates a body (RFC 8866 §5).
    pub fn parse(input: &[u8]) -> Result<Self, SdpError> {
        use SdpErrorKind as K;
        if input.len() > MAX_SDP_LEN {
            return Err(SdpError::at(0, K::TooLarge));
        }
        let text = core::str::from_utf8(input).map_err(|e| {
            let line = input[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            SdpError::at(line, K::NotUtf8)
        })?;
        let body = text.strip_suffix('\n').unwrap_or(text);
        if body.is_empty() {
            return Err(SdpError::at(0, K::Empty));
        }
        let mut session = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        let mut seen = [false; 26];
        let mut media_seen = [false; 26];
        for (index, raw) in body.split('\n').enumerate() {
            let n = index + 1;
            let err = |k| SdpError::at(n, k);
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let bytes = raw.as_bytes();
            if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
                return Err(err(K::NotTypeEquals));
            }
            let kind = char::from(bytes[0]);
            let value = &raw[2..];
            if value.bytes().any(|b| b == b'\r' || b == 0) {
                return Err(err(K::ControlCharacter));
            }
            let slot = usize::from(bytes[0] - b'a');
            if n == 1 {
                if raw != "v=0" {
                    return Err(err(K::BadVersion));
                }
            } else if kind == 'v' {
                return Err(err(K::Misplaced('v')));
            }
            check_line(kind, value).map_err(err)?;
            if kind == 'm' {
                media_seen = [false; 26];
                media.push(MediaDescription {
                    m: Line::new('m', value.into()),
                    lines: Vec::new(),
                });
                continue;
            }
            if let Some(m) = media.last_mut() {
                if "vosuepzrt".contains(kind) {
                    return Err(err(K::Misplaced(kind)));
                }
                if kind == 'i' && std::mem::replace(&mut media_seen[slot], true) {
                    return Err(err(K::Duplicate(kind)));
                }
                m.lines.push(Line::new(kind, value.into()));
            } else {
                if matches!(kind, 'o' | 's' | 'i' | 'u' | 'c' | 'z')
                    && std::mem::replace(&mut seen[slot], true)
                {
                    return Err(err(K::Duplicate(kind)));
                }
                seen[slot] = true;
                session.push(Line::new(kind, value.into()));
            }
        }
        for needed in ['o', 's', 't'] {
            if !seen[usize::from(needed as u8 - b'a')] {
                return Err(SdpError::at(0, K::MissingLine(needed)));
            }
        }
        Ok(Self { session, media })
    }

    /// Writes the body (CRLF line ends) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        let mut put = |l: &Line| {
            out.push(l.kind as u8);
            out.push(b'=');
            out.extend_from_slice(l.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        self.session.iter().for_each(&mut put);
        for m in &self.media {
            put(&m.m);
            m.lines.iter().for_each(&mut put);
        }
    }

    /// The body as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }

    /// Length of what [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let len = |l: &Line| l.value.len() + 4;
        self.session.iter().map(len).sum::<usize>()
            + self
                .media
                .iter()
                .map(|m| len(&m.m) + m.lines.iter().map(len).sum::<usize>())
                .sum::<usize>()
    }

    /// Session-level lines, in order (starting with `v=0`).
    pub fn session_lines(&self) -> &[Line] {
        &self.session
    }

    /// The media descriptions, in order.
    pub fn media(&self) -> &[MediaDescription] {
        &self.media
    }

    /// One media description, to edit.
    pub fn media_mut(&mut self, index: usize) -> Result<&mut MediaDescription, EditError> {
        self.media
            .get_mut(index)
            .ok_or(EditError::NoSuchMedia(index))
    }

    /// All media descriptions, to edit.
    pub fn media_iter_mut(&mut self) -> impl Iterator<Item = &mut MediaDescription> {
        self.media.iter_mut()
    }

    fn line(&self, kind: char) -> Option<&Line> {
        self.session.iter().find(|l| l.kind == kind)
    }

    /// The `o=` line (always present in a parsed description).
    pub fn origin(&self) -> Option<Origin<'_>> {
        Origin::parse(&self.line('o')?.value).ok()
    }

    /// The `s=` text.
    pub fn session_name(&self) -> &str {
        self.line('s').map_or("", |l| &l.value)
    }

    /// The session-level `c=` line, if any.
    pub fn connection(&self) -> Option<Connection<'_>> {
        Connection::parse(&self.line('c')?.value).ok()
    }

    /// Session-level attributes, in order.
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'_>> {
        attributes(&self.session)
    }

    /// The first session-level attribute with this name.
    pub fn attribute(&self, name: &str) -> Option<Attribute<'_>> {
        self.attributes().find(|a| a.name == name)
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.session)
    }

    /// Whether any ICE attribute appears at session or media level.
    pub fn has_ice(&self) -> bool {
        let ice = |a: Attribute<'_>| fields::ICE_ATTRIBUTES.contains(&a.name);
        self.attributes().any(ice) || self.media.iter().any(|m| m.attributes().any(ice))
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every line was validated as UTF-8 text, so this is lossless.
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

fn check_line(kind: char, value: &str) -> Result<(), SdpErrorKind> {
    match kind {
        'o' => Origin::parse(value).map(drop),
        'c' => Connection::parse(value).map(drop),
        'b' => Bandwidth::parse(value).map(drop),
        't' => Timing::parse(value).map(drop),
        'm' => MediaLine::parse(value).map(drop),
        'a' => fields::check_attribute(&Attribute::parse(value)?),
        _ => Ok(()),
    }
}

impl MediaDescription {
    /// The `m=` line (always valid in a parsed description).
    pub fn media_line(&self) -> Option<MediaLine<'_>> {
        MediaLine::parse(&self.m.value).ok()
    }

    /// The media type (`audio`, `video`, ...).
    pub fn media_type(&self) -> &str {
        self.m.value.split(' ').next().unwrap_or("")
    }

    /// The port of the `m=` line (0 when rejected).
    pub fn port(&self) -> u16 {
        self.media_line().map_or(0, |m| m.port)
    }

    /// The transport protocol of the `m=` line.
    pub fn proto(&self) -> &str {
        self.m
            .value
            .split(' ')
            .filter(|s| !s.is_empty())
            .nth(2)
            .unwrap_or("")
    }

    /// The lines under the `m=` line, in order.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The media-level `c=` line, if any.
    pub fn connection(&self) -> Option<Connection<'_>> {
        self.lines
            .iter()
            .find(|l| l.kind == 'c')
            .and_then(|l| Connection::parse(&l.value).ok())
    }

    /// `b=` lines.
    pub fn bandwidths(&self) -> impl Iterator<Item = Bandwidth<'_>> {
        self.lines
            .iter()
            .filter(|l| l.kind == 'b')
            .filter_map(|l| Bandwidth::parse(&l.value).ok())
    }

    /// Media-level attributes, in order.
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'_>> {
        attributes(&self.lines)
    }

    /// The first media-level attribute with this name.
    pub fn attribute(&self, name: &str) -> Option<Attribute<'_>> {
        self.attributes().find(|a| a.name == name)
    }

    /// Values of every attribute with this name.
    pub fn attribute_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.attributes()
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value)
    }

    /// `a=rtpmap` entries.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap<'_>> {
        self.attribute_values("rtpmap")
            .filter_map(|v| Rtpmap::parse(v).ok())
    }

    /// `a=fmtp` for a format.
    pub fn fmtp(&self, format: &str) -> Option<Fmtp<'_>> {
        self.attribute_values("fmtp")
            .filter_map(|v| Fmtp::parse(v).ok())
            .find(|f| f.format == format)
    }

    /// The codecs of an RTP media description in `m=` order: from
    /// `a=rtpmap`, else the static table (RFC 3551 §6). Payload types with
    /// neither are skipped.
    pub fn codecs(&self) -> Vec<Codec<'_>> {
        let Some(m) = self.media_line() else {
            return Vec::new();
        };
        if !fields::is_rtp_proto(m.proto) {
            return Vec::new();
        }
        let maps: Vec<Rtpmap<'_>> = self.rtpmaps().collect();
        m.payload_types()
            .filter_map(|pt| {
                maps.iter()
                    .find(|r| r.payload_type == pt)
                    .map(|r| Codec {
                        payload_type: pt,
                        name: r.encoding,
                        clock_rate: r.clock_rate,
                        channels: r.channels,
                    })
                    .or_else(|| codec::static_codec(pt))
            })
            .collect()
    }

    /// `a=ptime` in milliseconds (a fractional part is dropped).
    pub fn ptime(&self) -> Option<u32> {
        self.millis("ptime")
    }

    /// `a=maxptime` in milliseconds.
    pub fn maxptime(&self) -> Option<u32> {
        self.millis("maxptime")
    }

    fn millis(&self, name: &str) -> Option<u32> {
        let v = self.attribute(name)?.value?.trim_end_matches(' ');
        v.split_once('.').map_or(v, |(i, _)| i).parse().ok()
    }

    /// The media-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.lines)
    }

    /// `a=rtcp` (RFC 3605).
    pub fn rtcp(&self) -> Option<Rtcp<'_>> {
        Rtcp::parse(self.attribute("rtcp")?.value?).ok()
    }

    /// Whether `a=rtcp-mux` is present (RFC 5761 §5.1.1).
    pub fn rtcp_mux(&self) -> bool {
        self.attribute("rtcp-mux").is_some()
    }

    /// `a=ice-ufrag`.
    pub fn ice_ufrag(&self) -> Option<&str> {
        self.attribute("ice-ufrag")?.value
    }

    /// `a=ice-pwd`.
    pub fn ice_pwd(&self) -> Option<&str> {
        self.attribute("ice-pwd")?.value
    }

    /// `a=candidate` lines.
    pub fn candidates(&self) -> impl Iterator<Item = Candidate<'_>> {
        self.attribute_values("candidate")
            .filter_map(|v| Candidate::parse(v).ok())
    }

    /// `a=crypto` lines (RFC 4568).
    pub fn cryptos(&self) -> impl Iterator<Item = Crypto<'_>> {
        self.attribute_values("crypto")
            .filter_map(|v| Crypto::parse(v).ok())
    }

    /// `a=setup` (RFC 4145).
    pub fn setup(&self) -> Option<Setup> {
        Setup::parse(self.attribute("setup")?.value?).ok()
    }

    /// `a=fingerprint` (RFC 8122).
    pub fn fingerprint(&self) -> Option<Fingerprint<'_>> {
        Fingerprint::parse(self.attribute("fingerprint")?.value?).ok()
    }

    /// `a=mid` (RFC 9143).
    pub fn mid(&self) -> Option<&str> {
        self.attribute("mid")?.value
    }
}

#[cfg(test)]
mod tests;
