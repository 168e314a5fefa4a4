//! RFC 3264 offer/answer for a B2BUA that anchors media in Tandem's engine.
//!
//! Each call leg negotiates its own SDP with its peer; the engine relays
//! when both legs agree on a codec and transcodes when they do not. This
//! module is the per-leg half of that: pure functions over
//! [`SessionDescription`]s, no I/O, no clock, no panics on any input.
//!
//! - [`answer`]: the peer offered (initial INVITE or re-INVITE), we answer
//!   (RFC 3264 §6, §8). One `m=` line per offered `m=` line, in order
//!   (§6); streams we cannot carry are rejected with port 0, never
//!   dropped (§6, §8.2). The first usable audio stream is accepted: the
//!   gateway has one bearer per call (a TDM channel on the far side), so
//!   further audio streams are rejected too.
//! - [`offer`]: we offer on the outgoing leg (§5), every codec of the
//!   [`Capabilities`] in preference order plus telephone-event (RFC 4733
//!   §7.1.1); also the re-offers of §8 (hold, resume, new port).
//! - [`accept_answer`]: the peer answered our offer (§6, §7): same number
//!   of `m=` lines, the answerer's first codec that we offered wins.
//! - [`NegotiatedMedia`]: what the engine needs for the leg: where to send
//!   RTP and RTCP (RFC 3605 `a=rtcp`, RFC 5761 `a=rtcp-mux`), codec and
//!   payload types, telephone-event, ptime, direction and hold.
//!   [`NegotiatedMedia::changes_from`] says what a re-negotiation changed.
//! - [`LocalSession`]: our side of the leg: address and port, our own
//!   hold state, and the `o=` line's session id and version, which goes
//!   up by one exactly when our description changes (§8, RFC 8866 §5.2).
//!
//! # Payload types
//!
//! A payload type number belongs to the side that wrote it: the offerer's
//! numbers say what the offerer will receive, the answerer's what it will
//! receive (§5.1, §6.1). Our answers reuse the offerer's numbers (§6.1,
//! SHOULD), so both directions agree; when a peer answers our offer with
//! different numbers for the same codec (RFC 4317 §2.3), we send with the
//! peer's and receive with ours: [`NegotiatedCodec::send_payload_type`] and
//! [`NegotiatedCodec::recv_payload_type`].
//!
//! # Hold
//!
//! RFC 3264 §8.4: the holder offers `sendonly` (or `inactive` when it was
//! not receiving anyway); the answer mirrors it (`recvonly`, `inactive`).
//! The older form of RFC 2543, `c=0.0.0.0`, is still understood (§8.4
//! requires it): nothing is sent to that address. Our own hold state is
//! [`LocalSession::direction`] and is combined with whatever the peer asks.
//!
//! # Example
//!
//! ```
//! use tandem_sdp::SessionDescription;
//! use tandem_sdp::offer_answer::{answer, Capabilities, EngineSupport, LocalMedia, LocalSession};
//!
//! let offer = SessionDescription::parse(
//!     b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!       m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
//! )?;
//! let caps = Capabilities::new(&["PCMA", "PCMU"], EngineSupport::default())?;
//! let mut leg = LocalSession::new(42, LocalMedia::new("203.0.113.7".parse().unwrap(), 30000));
//! let (sdp, media) = answer(&offer, &mut leg, &caps)?;
//! assert!(sdp.to_string().contains("m=audio 30000 RTP/AVP 8 101\r\n"));
//! assert_eq!(media.codec.name, "PCMA");
//! assert_eq!(media.telephone_event.map(|t| t.send_payload_type), Some(101));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::codec::{self, Codec, CodecSpec};
use crate::fields::{self, Direction, Rtpmap, in_address, is_token};
use crate::{Line, MediaDescription, SessionDescription};

/// The default packetization time, ms, when neither side names one
/// (RFC 3551 §4.5: 20 ms for the frame-less audio codecs).
pub const DEFAULT_PTIME: u32 = 20;

/// Telephone-event clock rates the engine generates and reads (RFC 4733
/// §2.1: the event clock follows the audio clock).
const TELEPHONE_EVENT_RATES: [u32; 3] = [8000, 16000, 48000];

const TELEPHONE_EVENT: &str = "telephone-event";

// ---- capabilities --------------------------------------------------------

/// One codec we are willing to use on a leg: name, RTP clock rate and
/// channels, as in `a=rtpmap` (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodecPreference {
    /// Encoding name (`PCMA`, `G722`, `L16`, `opus`, ...), matched
    /// case-insensitively.
    pub name: String,
    /// RTP clock rate, Hz (8000 for G.722, RFC 3551 §4.5.2).
    pub clock_rate: u32,
    /// Channels (1 for mono; 2 for opus, always, RFC 7587 §7).
    pub channels: u16,
}

impl CodecPreference {
    /// Parses a codec as a trunk's configuration writes it:
    /// `name[/clock rate[/channels]]`, with the conventional clock rate
    /// and channels when they are left out (`PCMA` = `PCMA/8000/1`,
    /// `G722` = `G722/8000/1`, `opus` = `opus/48000/2`).
    pub fn parse(spec: &str) -> Result<Self, OaError> {
        let s = CodecSpec::parse(spec.trim());
        if !is_token(s.name) || s.is_all() || s.name.parse::<u8>().is_ok() {
            return Err(OaError::BadCodecPreference(spec.to_owned()));
        }
        Ok(Self {
            name: s.name.to_owned(),
            clock_rate: s.default_clock_rate(),
            channels: s.default_channels().unwrap_or(1),
        })
    }

    /// Whether an SDP codec is this one (name case-insensitively, clock
    /// rate, channels; absent channels mean 1, RFC 8866 §6.6).
    pub fn matches(&self, codec: &Codec<'_>) -> bool {
        same_codec(
            (&self.name, self.clock_rate, self.channels),
            (codec.name, codec.clock_rate, codec.channels.unwrap_or(1)),
        )
    }
}

impl fmt::Display for CodecPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.clock_rate)?;
        if self.channels != 1 {
            write!(f, "/{}", self.channels)?;
        }
        Ok(())
    }
}

fn same_codec(a: (&str, u32, u16), b: (&str, u32, u16)) -> bool {
    a.0.eq_ignore_ascii_case(b.0) && a.1 == b.1 && a.2 == b.2
}

/// What the media engine can decode and encode, and so transcode between:
/// PCMU, PCMA, G.722, L16 at 8 and 16 kHz, and opus when the engine was
/// built with it. Other codecs can still be negotiated when they are in
/// the [`Capabilities`], but the engine can only relay them unchanged, so
/// both legs must agree on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineSupport {
    /// The engine was built with the `opus` feature.
    pub opus: bool,
}

impl EngineSupport {
    /// Whether the engine can transcode to and from this codec.
    pub fn transcodes(&self, name: &str, clock_rate: u32, channels: u16) -> bool {
        let mono = channels == 1;
        if name.eq_ignore_ascii_case("PCMU") || name.eq_ignore_ascii_case("PCMA") {
            clock_rate == 8000 && mono
        } else if name.eq_ignore_ascii_case("G722") {
            // RFC 3551 §4.5.2: 8000 in SDP, 16 kHz audio.
            clock_rate == 8000 && mono
        } else if name.eq_ignore_ascii_case("L16") {
            matches!(clock_rate, 8000 | 16000) && mono
        } else if name.eq_ignore_ascii_case("opus") {
            self.opus && clock_rate == 48000 && channels == 2
        } else {
            false
        }
    }

    /// [`Self::transcodes`] for a negotiated codec.
    pub fn transcodes_codec(&self, codec: &NegotiatedCodec) -> bool {
        self.transcodes(&codec.name, codec.clock_rate, codec.channels)
    }
}

/// What we accept and offer on one leg (typically from the trunk's
/// configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Codecs in order of preference, most preferred first.
    pub codecs: Vec<CodecPreference>,
    /// What the engine can transcode.
    pub engine: EngineSupport,
    /// Negotiate telephone-event (RFC 4733) for DTMF.
    pub telephone_event: bool,
    /// The packetization time we want to receive, ms (`a=ptime`, RFC 8866
    /// §6.4); `None` leaves it to the peer.
    pub ptime: Option<u32>,
    /// Accept and offer RTP/RTCP multiplexing on one port (RFC 5761).
    pub rtcp_mux: bool,
}

impl Capabilities {
    /// Capabilities from a list of codec names in preference order (see
    /// [`CodecPreference::parse`]), with telephone-event, a 20 ms ptime and
    /// no RTCP multiplexing. A `telephone-event` entry is ignored: it is
    /// [`Self::telephone_event`]'s business.
    pub fn new(codecs: &[&str], engine: EngineSupport) -> Result<Self, OaError> {
        let mut list: Vec<CodecPreference> = Vec::new();
        for spec in codecs {
            let c = CodecPreference::parse(spec)?;
            if c.name.eq_ignore_ascii_case(TELEPHONE_EVENT) || list.contains(&c) {
                continue;
            }
            list.push(c);
        }
        if list.is_empty() {
            return Err(OaError::NoCodecs);
        }
        Ok(Self {
            codecs: list,
            engine,
            telephone_event: true,
            ptime: Some(DEFAULT_PTIME),
            rtcp_mux: false,
        })
    }

    /// The same capabilities with `codec` moved to the front, if present:
    /// a B2BUA uses it to steer the second leg towards the first leg's
    /// codec, so the engine relays instead of transcoding.
    pub fn preferring(&self, codec: &NegotiatedCodec) -> Self {
        let mut caps = self.clone();
        if let Some(i) = caps
            .codecs
            .iter()
            .position(|c| same_codec((&c.name, c.clock_rate, c.channels), codec.key()))
        {
            let c = caps.codecs.remove(i);
            caps.codecs.insert(0, c);
        }
        caps
    }
}

// ---- our side ------------------------------------------------------------

/// Where we receive RTP on this leg (RTCP on `port + 1`, RFC 3550 §11,
/// so no `a=rtcp` is needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    /// Our media address.
    pub address: IpAddr,
    /// Our RTP port.
    pub port: u16,
}

impl LocalMedia {
    /// Our RTP address and port.
    pub fn new(address: IpAddr, port: u16) -> Self {
        Self { address, port }
    }
}

/// Our side of one leg across offer/answer exchanges: the media address,
/// our own hold state, and the `o=` line (RFC 3264 §5 and §8: same
/// session id for the whole session, version up by one whenever our
/// description changes, unchanged otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    /// Where we receive media.
    pub media: LocalMedia,
    /// What we want: [`Direction::SendRecv`] normally, [`Direction::SendOnly`]
    /// while we hold the peer (RFC 3264 §8.4), [`Direction::Inactive`] to
    /// stop media both ways. Combined with the peer's wishes in every
    /// offer and answer.
    pub direction: Direction,
    session_id: u64,
    version: u64,
    /// The last description we produced, encoded: a leg holds it for the
    /// whole call, and the text is a fifth of the parsed form's size.
    last: Option<Box<[u8]>>,
    audio_index: usize,
}

impl LocalSession {
    /// A new leg. The session id is the caller's to choose (RFC 8866 §5.2
    /// suggests an NTP timestamp; sans-IO, we read no clock); the first
    /// version equals it, as in RFC 4317's examples.
    pub fn new(session_id: u64, media: LocalMedia) -> Self {
        Self {
            media,
            direction: Direction::SendRecv,
            session_id,
            version: session_id,
            last: None,
            audio_index: 0,
        }
    }

    /// The `o=` session id.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The `o=` version of the last description we produced (or the one
    /// the next will carry, before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The last description we sent (offer or answer), if any (parsed
    /// again from the text kept; ours always parses).
    pub fn last_sdp(&self) -> Option<SessionDescription> {
        self.last
            .as_deref()
            .and_then(|b| SessionDescription::parse(b).ok())
    }

    fn origin_line(&self, version: u64) -> Line {
        Line::new(
            'o',
            format!(
                "- {} {} {}",
                self.session_id,
                version,
                in_address(self.media.address)
            ),
        )
    }

    fn session_lines(&self, version: u64) -> Vec<Line> {
        vec![
            Line::new('v', "0".into()),
            self.origin_line(version),
            Line::new('s', "-".into()),
            Line::new('c', in_address(self.media.address)),
            Line::new('t', "0 0".into()),
        ]
    }

    /// Builds our description around `media` and versions it: the same
    /// version as last time when nothing else changed, else one more.
    fn finish(&mut self, media: Vec<MediaDescription>, audio_index: usize) -> SessionDescription {
        let version = match &self.last {
            None => self.version,
            Some(last) => {
                let same = SessionDescription {
                    session: self.session_lines(self.version),
                    media: media.clone(),
                };
                if same.to_bytes()[..] == last[..] {
                    self.version
                } else {
                    self.version.saturating_add(1)
                }
            }
        };
        let sdp = SessionDescription {
            session: self.session_lines(version),
            media,
        };
        self.version = version;
        self.last = Some(sdp.to_bytes().into_boxed_slice());
        self.audio_index = audio_index;
        sdp
    }
}

// ---- results ---------------------------------------------------------------

/// A host in a `c=` line or `a=rtcp`: an IP address, or a domain name
/// (RFC 8866 §5.7 allows one; resolving it is the caller's business).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A fully qualified domain name.
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Name(n) => f.write_str(n),
        }
    }
}

/// A transport address of the peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Host.
    pub host: Host,
    /// UDP port.
    pub port: u16,
}

impl Endpoint {
    /// The socket address, when the host is an IP address.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            h => write!(f, "{h}:{}", self.port),
        }
    }
}

/// The codec a leg uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedCodec {
    /// The payload type to put in the RTP we send: the peer's number.
    pub send_payload_type: u8,
    /// The payload type the peer will send us: our number (equal to
    /// `send_payload_type` when we answered).
    pub recv_payload_type: u8,
    /// Encoding name as the peer spelled it.
    pub name: String,
    /// RTP clock rate, Hz.
    pub clock_rate: u32,
    /// Channels.
    pub channels: u16,
    /// The peer's `a=fmtp` parameters for it (e.g. opus's
    /// `maxplaybackrate`), verbatim.
    pub fmtp: Option<String>,
}

impl NegotiatedCodec {
    fn key(&self) -> (&str, u32, u16) {
        (&self.name, self.clock_rate, self.channels)
    }

    /// Whether both are the same codec (name, clock rate and channels),
    /// whatever their payload types: the engine can relay between them
    /// without transcoding.
    pub fn same_codec(&self, other: &NegotiatedCodec) -> bool {
        same_codec(self.key(), other.key())
    }
}

/// Negotiated telephone-event (RFC 4733).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Payload type we send events with (the peer's number).
    pub send_payload_type: u8,
    /// Payload type the peer sends events with (our number).
    pub recv_payload_type: u8,
    /// Event clock rate, Hz.
    pub clock_rate: u32,
}

/// The outcome of one offer/answer exchange for the leg's audio stream:
/// everything the engine must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Index of the audio `m=` line in the descriptions.
    pub media_index: usize,
    /// Where to send RTP (the peer's `c=` and `m=` port). The address is
    /// unspecified (`0.0.0.0`) when the peer holds RFC 2543-style.
    pub remote_rtp: Endpoint,
    /// Where to send RTCP: `a=rtcp` (RFC 3605), else the RTP port + 1
    /// (RFC 3550 §11), or the RTP endpoint with `rtcp_mux`; `None` when
    /// RTP is on port 65535 and there is no `a=rtcp`.
    pub remote_rtcp: Option<Endpoint>,
    /// RTP and RTCP share the port (RFC 5761 §5.1.1, both sides agreed).
    pub rtcp_mux: bool,
    /// The codec.
    pub codec: NegotiatedCodec,
    /// Telephone-event, if both sides do it.
    pub telephone_event: Option<TelephoneEvent>,
    /// The packetization we send with, ms: the peer's `a=ptime`, else
    /// ours, else 20, never above the peer's `a=maxptime`.
    pub ptime: u32,
    /// The stream's direction seen from us: `SendOnly` means we send and
    /// do not receive.
    pub direction: Direction,
    /// The peer has put the stream on hold: it will not receive
    /// (`sendonly`/`inactive` from it, or RFC 2543's `c=0.0.0.0`).
    pub on_hold: bool,
}

impl NegotiatedMedia {
    /// Whether we may send RTP to the peer.
    pub fn can_send(&self) -> bool {
        sends(self.direction)
    }

    /// Whether the peer will send RTP to us.
    pub fn will_receive(&self) -> bool {
        receives(self.direction)
    }

    /// What changed between `old` and `self` (a re-negotiation, RFC 3264
    /// §8).
    pub fn changes_from(&self, old: &NegotiatedMedia) -> MediaChanges {
        MediaChanges {
            remote: self.remote_rtp != old.remote_rtp,
            rtcp: self.remote_rtcp != old.remote_rtcp || self.rtcp_mux != old.rtcp_mux,
            codec: self.codec != old.codec,
            telephone_event: self.telephone_event != old.telephone_event,
            ptime: self.ptime != old.ptime,
            direction: self.direction != old.direction || self.on_hold != old.on_hold,
        }
    }
}

/// What a re-negotiation changed ([`NegotiatedMedia::changes_from`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaChanges {
    /// Remote RTP address or port.
    pub remote: bool,
    /// Remote RTCP address, port or multiplexing.
    pub rtcp: bool,
    /// Codec, its payload types or its parameters.
    pub codec: bool,
    /// Telephone-event added, removed, or its payload types or rate.
    pub telephone_event: bool,
    /// Packetization time.
    pub ptime: bool,
    /// Direction or hold.
    pub direction: bool,
}

impl MediaChanges {
    /// Whether the engine's flow must be updated: a new destination, a
    /// new codec or event payload (it would otherwise drop or mis-decode
    /// packets), or a new direction (it must stop or resume sending).
    /// A changed ptime alone is only worth telling when it transcodes.
    pub fn engine_update_needed(&self) -> bool {
        self.remote || self.rtcp || self.codec || self.telephone_event || self.direction
    }

    /// Whether anything changed.
    pub fn any(&self) -> bool {
        self.engine_update_needed() || self.ptime
    }
}

// ---- errors ---------------------------------------------------------------

/// Why an offer or answer cannot be used. The `Display` text is meant for
/// a `488 Not Acceptable Here` reason or a `Warning` header (RFC 3261
/// §20.43, see [`OaError::warning_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OaError {
    /// The peer's description has no audio stream we could use (none at
    /// all, or all with port 0).
    NoAudioStream,
    /// No offered (or answered) audio codec is one we accept; lists what
    /// was there.
    NoCommonCodec {
        /// The codecs the peer listed, `name/rate` separated by spaces.
        offered: String,
    },
    /// The audio stream's transport is not plain RTP (`RTP/AVP` or
    /// `RTP/AVPF`), e.g. SRTP, which the engine does not terminate.
    UnsupportedTransport {
        /// The `m=` line's proto.
        proto: String,
    },
    /// Neither the audio stream nor the session has a `c=` line.
    NoConnectionAddress,
    /// A multicast or otherwise unusable connection address.
    UnsupportedAddress {
        /// The address as written.
        address: String,
    },
    /// The answer has a different number of `m=` lines than our offer
    /// (RFC 3264 §6: exactly one per offered stream).
    AnswerMediaCount {
        /// `m=` lines we offered.
        offered: usize,
        /// `m=` lines in the answer.
        answered: usize,
    },
    /// The answer's `m=` line has a different media type than ours at the
    /// same position (RFC 3264 §6).
    AnswerMediaMismatch {
        /// Position.
        index: usize,
        /// Our media type.
        offered: String,
        /// The answer's.
        answered: String,
    },
    /// The peer rejected our audio stream (port 0).
    AudioRejected,
    /// API misuse: no codecs in the [`Capabilities`].
    NoCodecs,
    /// API misuse: a codec preference that is not `name[/rate[/channels]]`.
    BadCodecPreference(String),
}

impl OaError {
    /// Whether the peer's description is at fault (as opposed to misuse
    /// of this API).
    pub fn is_peer_fault(&self) -> bool {
        !matches!(self, Self::NoCodecs | Self::BadCodecPreference(_))
    }

    /// The SIP warning code (RFC 3261 §20.43) that explains a 488 for this
    /// error, if one fits.
    pub fn warning_code(&self) -> Option<u16> {
        Some(match self {
            Self::NoAudioStream | Self::AudioRejected => 304,
            Self::NoCommonCodec { .. } => 305,
            Self::UnsupportedTransport { .. } => 302,
            Self::UnsupportedAddress { .. } | Self::NoConnectionAddress => 301,
            Self::AnswerMediaCount { .. } | Self::AnswerMediaMismatch { .. } => 399,
            Self::NoCodecs | Self::BadCodecPreference(_) => return None,
        })
    }
}

impl fmt::Display for OaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAudioStream => f.write_str("no usable audio stream"),
            Self::NoCommonCodec { offered } if offered.is_empty() => {
                f.write_str("no common codec (no codec offered)")
            }
            Self::NoCommonCodec { offered } => write!(f, "no common codec (offered {offered})"),
            Self::UnsupportedTransport { proto } => {
                write!(f, "unsupported media transport {proto}")
            }
            Self::NoConnectionAddress => f.write_str("no connection address (c=) for audio"),
            Self::UnsupportedAddress { address } => {
                write!(f, "unsupported connection address {address}")
            }
            Self::AnswerMediaCount { offered, answered } => {
                write!(f, "answer has {answered} media lines for {offered} offered")
            }
            Self::AnswerMediaMismatch {
                index,
                offered,
                answered,
            } => write!(
                f,
                "answer media line {index} is {answered}, offered {offered}"
            ),
            Self::AudioRejected => f.write_str("audio stream rejected by the peer"),
            Self::NoCodecs => f.write_str("no codecs configured"),
            Self::BadCodecPreference(s) => write!(f, "bad codec in configuration: {s:?}"),
        }
    }
}

impl std::error::Error for OaError {}

// ---- direction helpers -------------------------------------------------------

fn sends(d: Direction) -> bool {
    matches!(d, Direction::SendRecv | Direction::SendOnly)
}

fn receives(d: Direction) -> bool {
    matches!(d, Direction::SendRecv | Direction::RecvOnly)
}

fn from_flags(send: bool, recv: bool) -> Direction {
    match (send, recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// Both wishes at once: media flows one way only if both sides want it to.
fn both(a: Direction, b: Direction) -> Direction {
    from_flags(sends(a) && sends(b), receives(a) && receives(b))
}

/// The direction a description gives a stream: media level, else session
/// level, else `sendrecv` (RFC 8866 §6.7).
fn direction_of(sdp: &SessionDescription, m: &MediaDescription) -> Direction {
    m.direction()
        .or_else(|| sdp.direction())
        .unwrap_or(Direction::SendRecv)
}

// ---- reading the peer's stream ------------------------------------------------

fn is_audio(m: &MediaDescription) -> bool {
    m.media_type().eq_ignore_ascii_case("audio")
}

/// Plain RTP profiles the engine speaks. AVPF is AVP plus feedback
/// messages (RFC 4585 §3.1), which an answer may simply not use.
fn supported_proto(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")
}

fn host_of(address: &fields::Address<'_>) -> Result<Host, OaError> {
    let unsupported = || OaError::UnsupportedAddress {
        address: address.address.to_owned(),
    };
    if address.nettype != "IN" || address.address.contains('/') {
        // Not the Internet, or multicast with a TTL / layer count.
        return Err(unsupported());
    }
    match address.ip() {
        Some(ip) if ip.is_multicast() => Err(unsupported()),
        Some(ip) => Ok(Host::Ip(ip)),
        None => Ok(Host::Name(address.address.to_owned())),
    }
}

/// Where the peer wants RTP and RTCP for stream `m`.
fn peer_transport(
    sdp: &SessionDescription,
    m: &MediaDescription,
    mux: bool,
) -> Result<(Endpoint, Option<Endpoint>), OaError> {
    let conn = m
        .connection()
        .or_else(|| sdp.connection())
        .ok_or(OaError::NoConnectionAddress)?;
    let host = host_of(&conn.0)?;
    let rtp = Endpoint {
        host,
        port: m.port(),
    };
    let rtcp = if mux {
        Some(rtp.clone())
    } else if let Some(r) = m.rtcp() {
        let host = match &r.address {
            Some(a) => host_of(a)?,
            None => rtp.host.clone(),
        };
        Some(Endpoint { host, port: r.port })
    } else {
        rtp.port.checked_add(1).map(|port| Endpoint {
            host: rtp.host.clone(),
            port,
        })
    };
    Ok((rtp, rtcp))
}

fn is_unspecified(host: &Host) -> bool {
    matches!(host, Host::Ip(ip) if ip.is_unspecified())
}

fn is_telephone_event(c: &Codec<'_>) -> bool {
    c.name.eq_ignore_ascii_case(TELEPHONE_EVENT)
}

/// Comfort noise and redundancy ride along a codec; they are never the
/// codec itself.
fn is_auxiliary(c: &Codec<'_>) -> bool {
    is_telephone_event(c) || c.name.eq_ignore_ascii_case("CN") || c.name.eq_ignore_ascii_case("red")
}

fn codec_list(codecs: &[Codec<'_>]) -> String {
    codecs
        .iter()
        .map(|c| format!("{}/{}", c.name, c.clock_rate))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The telephone-event to use next to a codec at `clock_rate`: the one at
/// the same rate (RFC 4733 §2.1), else the first at a rate the engine
/// handles.
fn pick_telephone_event<'a>(codecs: &[Codec<'a>], clock_rate: u32) -> Option<Codec<'a>> {
    let events = || {
        codecs
            .iter()
            .filter(|c| is_telephone_event(c) && TELEPHONE_EVENT_RATES.contains(&c.clock_rate))
    };
    events()
        .find(|c| c.clock_rate == clock_rate)
        .or_else(|| events().next())
        .copied()
}

fn key<'a>(c: &Codec<'a>) -> (&'a str, u32, u16) {
    (c.name, c.clock_rate, c.channels.unwrap_or(1))
}

fn nonzero(v: Option<u32>) -> Option<u32> {
    v.filter(|&v| v > 0)
}

/// Our sending ptime: what the peer asked for, else ours, else 20; never
/// above the peer's maxptime (RFC 8866 §6.4, §6.5).
fn send_ptime(peer: &MediaDescription, ours: Option<u32>) -> u32 {
    let p = nonzero(peer.ptime())
        .or(nonzero(ours))
        .unwrap_or(DEFAULT_PTIME);
    nonzero(peer.maxptime()).map_or(p, |max| p.min(max))
}

fn fmtp_of(m: &MediaDescription, pt: u8) -> Option<String> {
    m.fmtp(&pt.to_string())
        .map(|f| f.params.to_owned())
        .filter(|p| !p.is_empty())
}

// ---- building our lines -----------------------------------------------------

fn rtpmap_line(pt: u8, name: &str, clock_rate: u32, channels: u16) -> Line {
    let map = Rtpmap {
        payload_type: pt,
        encoding: name,
        clock_rate,
        channels: (channels != 1).then_some(channels),
    };
    Line::new('a', format!("rtpmap:{map}"))
}

/// A rejected copy of an offered (or earlier) `m=` line: port 0, same
/// media, proto and formats, no attributes (RFC 3264 §6, §8.2).
fn rejected(m: &MediaDescription) -> MediaDescription {
    let value = match m.media_line() {
        Some(ml) => fields::MediaLine {
            port: 0,
            port_count: None,
            ..ml
        }
        .to_string(),
        // Unreachable for a parsed description; still a valid line.
        None => format!("{} 0 {} 0", m.media_type(), m.proto()),
    };
    MediaDescription {
        m: Line::new('m', value),
        lines: Vec::new(),
    }
}

struct AudioLine<'a> {
    port: u16,
    proto: &'a str,
    /// (payload type, name, clock rate, channels), codecs then events.
    formats: Vec<(u8, String, u32, u16)>,
    event_fmtp: Vec<u8>,
    ptime: Option<u32>,
    rtcp_mux: bool,
    direction: Direction,
}

fn audio_media(a: &AudioLine<'_>) -> MediaDescription {
    let pts: Vec<String> = a.formats.iter().map(|f| f.0.to_string()).collect();
    let m = Line::new(
        'm',
        format!("audio {} {} {}", a.port, a.proto, pts.join(" ")),
    );
    let mut lines = Vec::new();
    for (pt, name, rate, ch) in &a.formats {
        lines.push(rtpmap_line(*pt, name, *rate, *ch));
        if a.event_fmtp.contains(pt) {
            // RFC 4733 §7.1.1: DTMF 0-15 and flash (16).
            lines.push(Line::new('a', format!("fmtp:{pt} 0-16")));
        }
    }
    if let Some(p) = a.ptime {
        lines.push(Line::new('a', format!("ptime:{p}")));
    }
    if a.rtcp_mux {
        lines.push(Line::new('a', "rtcp-mux".into()));
    }
    lines.push(Line::new('a', a.direction.as_str().into()));
    MediaDescription { m, lines }
}

// ---- answer ------------------------------------------------------------------

struct Accepted {
    index: usize,
    media: MediaDescription,
    negotiated: NegotiatedMedia,
}

/// Tries to accept offered stream `index`.
fn accept_offered(
    offer: &SessionDescription,
    index: usize,
    m: &MediaDescription,
    local: &LocalSession,
    caps: &Capabilities,
) -> Result<Accepted, OaError> {
    if !supported_proto(m.proto()) {
        return Err(OaError::UnsupportedTransport {
            proto: m.proto().to_owned(),
        });
    }
    let offered = m.codecs();
    let audio: Vec<Codec<'_>> = offered
        .iter()
        .filter(|c| !is_auxiliary(c))
        .copied()
        .collect();
    let chosen = caps
        .codecs
        .iter()
        .find_map(|pref| audio.iter().find(|c| pref.matches(c)))
        .copied()
        .ok_or_else(|| OaError::NoCommonCodec {
            offered: codec_list(&audio),
        })?;
    let rtcp_mux = caps.rtcp_mux && m.rtcp_mux();
    let (remote_rtp, remote_rtcp) = peer_transport(offer, m, rtcp_mux)?;

    // The offerer's wish, from its side; RFC 2543 hold means it will not
    // receive, whatever the attribute says (RFC 3264 §8.4).
    let mut theirs = direction_of(offer, m);
    if is_unspecified(&remote_rtp.host) {
        theirs = both(theirs, Direction::SendOnly);
    }
    let ours = both(theirs.reversed(), local.direction);

    let event = if caps.telephone_event {
        pick_telephone_event(&offered, chosen.clock_rate)
    } else {
        None
    };
    let channels = chosen.channels.unwrap_or(1);
    let mut formats = vec![(
        chosen.payload_type,
        chosen.name.to_owned(),
        chosen.clock_rate,
        channels,
    )];
    let mut event_fmtp = Vec::new();
    if let Some(e) = event {
        formats.push((e.payload_type, e.name.to_owned(), e.clock_rate, 1));
        event_fmtp.push(e.payload_type);
    }
    let media = audio_media(&AudioLine {
        port: local.media.port,
        proto: m.proto(),
        formats,
        event_fmtp,
        ptime: nonzero(caps.ptime).or(nonzero(m.ptime())),
        rtcp_mux,
        direction: ours,
    });
    let negotiated = NegotiatedMedia {
        media_index: index,
        remote_rtp,
        remote_rtcp,
        rtcp_mux,
        codec: NegotiatedCodec {
            send_payload_type: chosen.payload_type,
            recv_payload_type: chosen.payload_type,
            name: chosen.name.to_owned(),
            clock_rate: chosen.clock_rate,
            channels,
            fmtp: fmtp_of(m, chosen.payload_type),
        },
        telephone_event: event.map(|e| TelephoneEvent {
            send_payload_type: e.payload_type,
            recv_payload_type: e.payload_type,
            clock_rate: e.clock_rate,
        }),
        ptime: send_ptime(m, caps.ptime),
        direction: ours,
        on_hold: !receives(theirs),
    };
    Ok(Accepted {
        index,
        media,
        negotiated,
    })
}

/// Answers the peer's offer (RFC 3264 §6), initial or re-offer (§8).
///
/// Returns our answer, versioned by `local`, and the negotiated audio
/// stream. On error `local` is unchanged, so the session in place before
/// a failed re-offer stays in force (RFC 3261 §14.2: a 488 to a re-INVITE
/// leaves the session as it was).
pub fn answer(
    offer: &SessionDescription,
    local: &mut LocalSession,
    caps: &Capabilities,
) -> Result<(SessionDescription, NegotiatedMedia), OaError> {
    if caps.codecs.is_empty() {
        return Err(OaError::NoCodecs);
    }
    let mut accepted: Option<Accepted> = None;
    let mut first_error: Option<OaError> = None;
    for (i, m) in offer.media().iter().enumerate() {
        // A stream the offerer disabled stays disabled (RFC 3264 §6).
        if accepted.is_some() || !is_audio(m) || m.port() == 0 {
            continue;
        }
        match accept_offered(offer, i, m, local, caps) {
            Ok(a) => accepted = Some(a),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(Accepted {
        index,
        media,
        negotiated,
    }) = accepted
    else {
        return Err(first_error.unwrap_or(OaError::NoAudioStream));
    };
    let mut ours = Some(media);
    let lines: Vec<MediaDescription> = offer
        .media()
        .iter()
        .enumerate()
        .map(|(i, m)| match ours.take_if(|_| i == index) {
            Some(accepted) => accepted,
            None => rejected(m),
        })
        .collect();
    let sdp = local.finish(lines, index);
    Ok((sdp, negotiated))
}

// ---- offer -------------------------------------------------------------------

/// Our offer for the leg (RFC 3264 §5): every codec of `caps` in
/// preference order, telephone-event at each of their clock rates that
/// the engine handles (RFC 4733 §2.1), `a=ptime`, `a=rtcp-mux` if
/// enabled, and [`LocalSession::direction`] (`sendonly` to hold, §8.4).
///
/// A re-offer (§8) keeps the `m=` lines of the last exchange, with the
/// ones not in use at port 0 (§8.2 forbids removing them), keeps the
/// payload type numbers used before for the same codecs (§8.3.2), and
/// carries the same `o=` version if nothing changed, one more otherwise.
/// Our address is in `c=` and `o=`; RTCP is on the next port, so no
/// `a=rtcp` is needed (RFC 3605 §2.1 only asks for it otherwise).
pub fn offer(local: &mut LocalSession, caps: &Capabilities) -> Result<SessionDescription, OaError> {
    if caps.codecs.is_empty() {
        return Err(OaError::NoCodecs);
    }
    let last = local.last_sdp();
    let previous: Vec<(u8, String, u32, u16)> = last
        .as_ref()
        .and_then(|l| l.media().get(local.audio_index))
        .map(|m| {
            m.codecs()
                .iter()
                .map(|c| {
                    (
                        c.payload_type,
                        c.name.to_owned(),
                        c.clock_rate,
                        c.channels.unwrap_or(1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut used = [false; 128];
    previous
        .iter()
        .for_each(|p| used[usize::from(p.0 & 0x7f)] = true);
    let mut formats: Vec<(u8, String, u32, u16)> = Vec::new();
    let mut add = |name: &str, rate: u32, ch: u16, formats: &mut Vec<_>| {
        let pt = previous
            .iter()
            .find(|p| same_codec((&p.1, p.2, p.3), (name, rate, ch)))
            .map(|p| p.0)
            .or_else(|| codec::static_payload_type(name, rate, ch).filter(|&pt| !used[pt as usize]))
            .or_else(|| (96..=127u8).find(|&pt| !used[usize::from(pt)]));
        if let Some(pt) = pt.filter(|pt| !formats.iter().any(|f: &(u8, _, _, _)| f.0 == *pt)) {
            used[usize::from(pt)] = true;
            formats.push((pt, name.to_owned(), rate, ch));
        }
    };
    for c in &caps.codecs {
        add(&c.name, c.clock_rate, c.channels, &mut formats);
    }
    let mut event_fmtp = Vec::new();
    if caps.telephone_event {
        let mut rates: Vec<u32> = Vec::new();
        for c in &caps.codecs {
            if TELEPHONE_EVENT_RATES.contains(&c.clock_rate) && !rates.contains(&c.clock_rate) {
                rates.push(c.clock_rate);
            }
        }
        for rate in rates {
            let before = formats.len();
            add(TELEPHONE_EVENT, rate, 1, &mut formats);
            if let Some(f) = formats.get(before) {
                event_fmtp.push(f.0);
            }
        }
    }
    if formats.is_empty() {
        // Every payload type is taken by earlier codecs: cannot happen
        // with fewer than 128 preferences, but never emit an empty m=.
        return Err(OaError::NoCodecs);
    }
    let audio = audio_media(&AudioLine {
        port: local.media.port,
        proto: "RTP/AVP",
        formats,
        event_fmtp,
        ptime: nonzero(caps.ptime),
        rtcp_mux: caps.rtcp_mux,
        direction: local.direction,
    });
    let index = local.audio_index;
    let media: Vec<MediaDescription> = match &last {
        Some(last) if index < last.media().len() => last
            .media()
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if i == index {
                    audio.clone()
                } else {
                    rejected(m)
                }
            })
            .collect(),
        _ => vec![audio],
    };
    let index = index.min(media.len().saturating_sub(1));
    Ok(local.finish(media, index))
}

// ---- accept_answer -------------------------------------------------------------

/// Reads the peer's answer to our offer (RFC 3264 §6 and §7): checks that
/// it has one `m=` line per offered one with the same media types, and
/// takes the first audio stream both sides kept. The codec is the
/// answerer's first one that we offered (it may list several, §6.1, and
/// formats we did not offer, which are skipped); the payload types may
/// differ from ours (RFC 4317 §2.3).
pub fn accept_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedMedia, OaError> {
    let (offered, answered) = (our_offer.media(), answer.media());
    if offered.len() != answered.len() {
        return Err(OaError::AnswerMediaCount {
            offered: offered.len(),
            answered: answered.len(),
        });
    }
    for (index, (o, a)) in offered.iter().zip(answered).enumerate() {
        if !o.media_type().eq_ignore_ascii_case(a.media_type()) {
            return Err(OaError::AnswerMediaMismatch {
                index,
                offered: o.media_type().to_owned(),
                answered: a.media_type().to_owned(),
            });
        }
    }
    let mut first_error: Option<OaError> = None;
    let mut any_offered = false;
    for (index, (o, a)) in offered.iter().zip(answered).enumerate() {
        if !is_audio(o) || o.port() == 0 || !supported_proto(o.proto()) {
            continue;
        }
        any_offered = true;
        if a.port() == 0 {
            continue;
        }
        match read_answered(our_offer, o, answer, a, index) {
            Ok(n) => return Ok(n),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(if any_offered {
        OaError::AudioRejected
    } else {
        OaError::NoAudioStream
    }))
}

fn read_answered(
    our_offer: &SessionDescription,
    o: &MediaDescription,
    answer: &SessionDescription,
    a: &MediaDescription,
    index: usize,
) -> Result<NegotiatedMedia, OaError> {
    let ours = o.codecs();
    let theirs = a.codecs();
    let (sent, recv) = theirs
        .iter()
        .filter(|c| !is_auxiliary(c))
        .find_map(|t| {
            ours.iter()
                .find(|o| same_codec(key(o), key(t)))
                .map(|o| (*t, *o))
        })
        .ok_or_else(|| OaError::NoCommonCodec {
            offered: codec_list(&theirs),
        })?;
    let event = pick_telephone_event(&theirs, sent.clock_rate).and_then(|t| {
        ours.iter()
            .find(|o| is_telephone_event(o) && o.clock_rate == t.clock_rate)
            .map(|o| TelephoneEvent {
                send_payload_type: t.payload_type,
                recv_payload_type: o.payload_type,
                clock_rate: t.clock_rate,
            })
    });
    let rtcp_mux = o.rtcp_mux() && a.rtcp_mux();
    let (remote_rtp, remote_rtcp) = peer_transport(answer, a, rtcp_mux)?;
    let mut theirs_dir = direction_of(answer, a);
    if is_unspecified(&remote_rtp.host) {
        theirs_dir = both(theirs_dir, Direction::SendOnly);
    }
    // Tolerate an answer that widens what we offered: never more than
    // we asked for.
    let direction = both(theirs_dir.reversed(), direction_of(our_offer, o));
    Ok(NegotiatedMedia {
        media_index: index,
        remote_rtp,
        remote_rtcp,
        rtcp_mux,
        codec: NegotiatedCodec {
            send_payload_type: sent.payload_type,
            recv_payload_type: recv.payload_type,
            name: sent.name.to_owned(),
            clock_rate: sent.clock_rate,
            channels: sent.channels.unwrap_or(1),
            fmtp: fmtp_of(a, sent.payload_type),
        },
        telephone_event: event,
        ptime: send_ptime(a, nonzero(o.ptime())),
        direction,
        on_hold: !receives(theirs_dir),
    })
}
