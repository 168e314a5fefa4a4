//! Typed ng requests, parsed from the bencoded dictionary.
//!
//! Keys and values follow the ng protocol document (rtpengine
//! `docs/ng_control_protocol.md`, "Messages description"). As rtpengine
//! does, spaces, hyphens and underscores in key names and flag names are
//! interchangeable (`record call` = `record-call`), and case is ignored;
//! unknown keys are ignored; a known key with the wrong type is an error.
//! Integers may also arrive as decimal strings, because Kamailio's module
//! turns every `key=value` flag it does not know into a string entry.
//!
//! # What Kamailio's `rtpengine` module sends
//!
//! With `rtpengine_offer("trust-address replace-origin
//! replace-session-connection ICE=remove RTP/AVP")` the module (when it
//! parses the flags itself, its default) sends, in this order and not
//! sorted: `supports: ["load limit"]`, `sdp`, `replace: ["origin",
//! "session-connection"]`, `transport-protocol: "RTP/AVP"`,
//! `received-from: ["IP4", "<source ip>"]`, `call-id`, `via-branch`
//! (optional), `from-tag` (and `to-tag`), `command`, `sip-message-type:
//! "sip_request"`, `ICE: "remove"` (any `key=value` flag becomes a string
//! entry), and `flags: ["trust-address"]` (bare words). `codec-strip-X`,
//! `codec-offer-X`, `transcode-X`, ... become a `codec` dictionary of
//! lists; `direction=X` and `internal`/`external` a `direction` list;
//! `TOS=n`, `delete-delay=n`, `repacketize=n` integers. When a via-branch
//! parameter is passed to `rtpengine_offer()`, the module instead sends
//! the raw flag string as `rtpp-flags`, which [`parse_rtpp_flags`] turns
//! into the same structure (with rtpengine's `[ ]` list syntax).

use std::net::IpAddr;

use crate::NgError;
use crate::bencode::Value;

/// The commands this crate understands (ng protocol document, list under
/// "The dictionary of each request must contain at least one key called
/// `command`").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `ping`.
    Ping,
    /// `offer`.
    Offer,
    /// `answer`.
    Answer,
    /// `delete`.
    Delete,
    /// `query`.
    Query,
    /// `list`.
    List,
    /// `play media`.
    PlayMedia,
    /// `stop media`.
    StopMedia,
    /// `start recording`.
    StartRecording,
    /// `stop recording`.
    StopRecording,
    /// `block DTMF`.
    BlockDtmf,
    /// `unblock DTMF`.
    UnblockDtmf,
    /// `play DTMF`.
    PlayDtmf,
}

impl Command {
    /// Every command, in counter order.
    pub const ALL: [Command; 13] = [
        Self::Ping,
        Self::Offer,
        Self::Answer,
        Self::Delete,
        Self::Query,
        Self::List,
        Self::PlayMedia,
        Self::StopMedia,
        Self::StartRecording,
        Self::StopRecording,
        Self::BlockDtmf,
        Self::UnblockDtmf,
        Self::PlayDtmf,
    ];

    /// The on-wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Offer => "offer",
            Self::Answer => "answer",
            Self::Delete => "delete",
            Self::Query => "query",
            Self::List => "list",
            Self::PlayMedia => "play media",
            Self::StopMedia => "stop media",
            Self::StartRecording => "start recording",
            Self::StopRecording => "stop recording",
            Self::BlockDtmf => "block DTMF",
            Self::UnblockDtmf => "unblock DTMF",
            Self::PlayDtmf => "play DTMF",
        }
    }

    /// From an on-wire name (spaces/hyphens/underscores and case ignored).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = normalize(name);
        Self::ALL.into_iter().find(|c| normalize(c.name()) == n)
    }

    /// Index into counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Lower case, with ` ` and `_` turned into `-`.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' | '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Which call (and which party) a request is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRef<'a> {
    /// `call-id`.
    pub call_id: &'a str,
    /// `from-tag`.
    pub from_tag: Option<&'a str>,
    /// `to-tag`.
    pub to_tag: Option<&'a str>,
    /// `via-branch`.
    pub via_branch: Option<&'a str>,
    /// `label` (or `from-label`): selects a party by label.
    pub label: Option<&'a str>,
    /// `to-label`.
    pub to_label: Option<&'a str>,
    /// `all`: the string value (`all`, `none`, `offer-answer`, ...), or
    /// `all` when given as a flag.
    pub all: Option<&'a str>,
}

/// Boolean flags from the `flags` list (ng protocol document, "Optionally
/// included flags"). Flags not named here are kept in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // each field is the flag of the same name
pub struct Flags<'a> {
    pub trust_address: bool,
    pub sip_source_address: bool,
    pub symmetric: bool,
    pub asymmetric: bool,
    pub strict_source: bool,
    pub media_handover: bool,
    pub port_latching: bool,
    pub no_port_latching: bool,
    pub no_rtcp_attribute: bool,
    pub full_rtcp_attribute: bool,
    pub loop_protect: bool,
    pub record_call: bool,
    pub always_transcode: bool,
    pub inject_dtmf: bool,
    pub detect_dtmf: bool,
    pub generate_mid: bool,
    pub original_sendrecv: bool,
    pub early_media: bool,
    pub reject_ice: bool,
    pub trickle_ice: bool,
    pub reset: bool,
    pub single_codec: bool,
    pub strip_extmap: bool,
    pub fatal: bool,
    pub fast: bool,
    pub fragment: bool,
    pub directional: bool,
    /// Flags this crate does not interpret, as received.
    pub other: Vec<&'a str>,
}

impl<'a> Flags<'a> {
    fn set(&mut self, raw: &'a str, norm: &str) {
        let slot = match norm {
            "trust-address" => &mut self.trust_address,
            "sip-source-address" => &mut self.sip_source_address,
            "symmetric" => &mut self.symmetric,
            "asymmetric" => &mut self.asymmetric,
            "strict-source" => &mut self.strict_source,
            "media-handover" => &mut self.media_handover,
            "port-latching" => &mut self.port_latching,
            "no-port-latching" => &mut self.no_port_latching,
            "no-rtcp-attribute" => &mut self.no_rtcp_attribute,
            "full-rtcp-attribute" => &mut self.full_rtcp_attribute,
            "loop-protect" => &mut self.loop_protect,
            "record-call" => &mut self.record_call,
            "always-transcode" => &mut self.always_transcode,
            "inject-dtmf" => &mut self.inject_dtmf,
            "detect-dtmf" => &mut self.detect_dtmf,
            "generate-mid" => &mut self.generate_mid,
            "original-sendrecv" => &mut self.original_sendrecv,
            "early-media" => &mut self.early_media,
            "reject-ice" => &mut self.reject_ice,
            "trickle-ice" => &mut self.trickle_ice,
            "reset" => &mut self.reset,
            "single-codec" => &mut self.single_codec,
            "strip-extmap" => &mut self.strip_extmap,
            "fatal" => &mut self.fatal,
            "fast" => &mut self.fast,
            "fragment" => &mut self.fragment,
            "directional" => &mut self.directional,
            _ => {
                self.other.push(raw);
                return;
            }
        };
        *slot = true;
    }

    /// Whether a flag not interpreted here was given (compared as
    /// rtpengine does: case and `-`/` `/`_` ignored).
    pub fn has_other(&self, name: &str) -> bool {
        let n = normalize(name);
        self.other.iter().any(|o| normalize(o) == n)
    }
}

/// The `replace` list (ng protocol document, "Optionally included
/// replace-flags").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)] // each field is the item of the same name
pub struct Replace {
    pub origin: bool,
    pub origin_full: bool,
    pub session_connection: bool,
    pub sdp_version: bool,
    pub username: bool,
    pub session_name: bool,
    pub force_increment_sdp_ver: bool,
    pub zero_address: bool,
}

impl Replace {
    fn set(&mut self, item: &str) {
        match normalize(item).as_str() {
            "origin" => self.origin = true,
            "origin-full" => self.origin_full = true,
            "session-connection" => self.session_connection = true,
            "sdp-version" => self.sdp_version = true,
            "username" => self.username = true,
            "session-name" => self.session_name = true,
            "force-increment-sdp-ver" => self.force_increment_sdp_ver = true,
            "zero-address" => self.zero_address = true,
            _ => {}
        }
    }
}

/// `ICE` handling (ng protocol document, key `ICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceMode {
    /// Strip ICE attributes.
    Remove,
    /// Strip, then offer the media proxy as the only candidate.
    Force,
    /// `force` if the SDP had ICE, else nothing (the default).
    Default,
    /// Keep candidates but replace `relay` ones with the proxy.
    ForceRelay,
    /// Add the proxy as a low-priority candidate.
    Optional,
}

/// `transport protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportProtocol {
    /// `RTP/AVP`.
    RtpAvp,
    /// `RTP/SAVP`.
    RtpSavp,
    /// `RTP/AVPF`.
    RtpAvpf,
    /// `RTP/SAVPF`.
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP`.
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF`.
    UdpTlsRtpSavpf,
    /// `accept` (answer only): take the answerer's protocol.
    Accept,
}

impl TransportProtocol {
    /// The SDP `proto` string (`accept` has none).
    pub fn as_proto(self) -> Option<&'static str> {
        Some(match self {
            Self::RtpAvp => "RTP/AVP",
            Self::RtpSavp => "RTP/SAVP",
            Self::RtpAvpf => "RTP/AVPF",
            Self::RtpSavpf => "RTP/SAVPF",
            Self::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Self::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Self::Accept => return None,
        })
    }

    /// From a `proto` string or `accept` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "RTP/AVP" => Self::RtpAvp,
            "RTP/SAVP" => Self::RtpSavp,
            "RTP/AVPF" => Self::RtpAvpf,
            "RTP/SAVPF" => Self::RtpSavpf,
            "UDP/TLS/RTP/SAVP" => Self::UdpTlsRtpSavp,
            "UDP/TLS/RTP/SAVPF" => Self::UdpTlsRtpSavpf,
            "ACCEPT" => Self::Accept,
            _ => return None,
        })
    }
}

/// `IP4` / `IP6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
}

impl AddressFamily {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "IP4" | "IPV4" => Some(Self::Ip4),
            "IP6" | "IPV6" => Some(Self::Ip6),
            _ => None,
        }
    }
}

/// The `codec` dictionary (ng protocol document, "Optionally included
/// codec manipulations"); each list holds codec specs such as `PCMA` or
/// `opus/48000/2`, parsed with [`tandem_sdp::CodecSpec::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // each field is the key of the same name
pub struct CodecOps<'a> {
    pub strip: Vec<&'a str>,
    pub offer: Vec<&'a str>,
    pub transcode: Vec<&'a str>,
    pub mask: Vec<&'a str>,
    pub except: Vec<&'a str>,
    pub accept: Vec<&'a str>,
    pub consume: Vec<&'a str>,
    pub ignore: Vec<&'a str>,
    pub set: Vec<&'a str>,
}

impl<'a> CodecOps<'a> {
    fn list(&mut self, name: &str) -> Option<&mut Vec<&'a str>> {
        Some(match normalize(name).as_str() {
            "strip" => &mut self.strip,
            "offer" => &mut self.offer,
            "transcode" => &mut self.transcode,
            "mask" => &mut self.mask,
            "except" => &mut self.except,
            "accept" => &mut self.accept,
            "consume" => &mut self.consume,
            "ignore" => &mut self.ignore,
            "set" => &mut self.set,
            _ => return None,
        })
    }

    /// No codec manipulation requested.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `offer` and `answer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRequest<'a> {
    /// The call and the party.
    pub call: CallRef<'a>,
    /// The SDP body as received.
    pub sdp: &'a str,
    /// `flags`.
    pub flags: Flags<'a>,
    /// `replace`.
    pub replace: Replace,
    /// `ICE`, when given.
    pub ice: Option<IceMode>,
    /// `transport protocol`.
    pub transport_protocol: Option<TransportProtocol>,
    /// `direction`: logical interface names, from then to.
    pub direction: Vec<&'a str>,
    /// `received from`: the SIP message's source.
    pub received_from: Option<IpAddr>,
    /// `media address`: overrides the SDP's address.
    pub media_address: Option<IpAddr>,
    /// `address family`.
    pub address_family: Option<AddressFamily>,
    /// `codec`.
    pub codec: CodecOps<'a>,
    /// `record call`: yes/on or no/off.
    pub record_call: Option<bool>,
    /// `rtcp-mux` list (`offer`, `require`, `demux`, `accept`, `reject`).
    pub rtcp_mux: Vec<&'a str>,
    /// `SDES` list.
    pub sdes: Vec<&'a str>,
    /// `DTLS`.
    pub dtls: Option<&'a str>,
    /// `ptime`.
    pub ptime: Option<u32>,
    /// `TOS`.
    pub tos: Option<u8>,
    /// `sip-message-type` (`sip_request`/`sip_reply`).
    pub sip_message_type: Option<&'a str>,
    /// `metadata`.
    pub metadata: Option<&'a str>,
}

/// `delete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest<'a> {
    /// The call (and optionally the party).
    pub call: CallRef<'a>,
    /// `flags` (`fatal`, `fast`, `to-tag`, ...).
    pub flags: Flags<'a>,
    /// `delete delay` in seconds.
    pub delete_delay: Option<u32>,
}

/// `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRequest {
    /// `limit`, default 32.
    pub limit: usize,
}

/// Where `play media` takes its audio from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaSource<'a> {
    /// `file`: a path on the media engine's host.
    File(&'a str),
    /// `blob`: the file's contents.
    Blob(&'a [u8]),
    /// `db-id`: a database row.
    DbId(i64),
}

/// `play media`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayMediaRequest<'a> {
    /// Who hears it (`from-tag`, `label` or `all`).
    pub call: CallRef<'a>,
    /// What to play.
    pub source: MediaSource<'a>,
    /// `repeat-times`, default 1.
    pub repeat_times: u32,
    /// `repeat-duration` in ms.
    pub repeat_duration_ms: Option<u64>,
    /// `start-pos` (frames).
    pub start_pos: Option<u64>,
    /// `flags`.
    pub flags: Flags<'a>,
}

/// A request that only selects a call or party: `stop media`, `start
/// recording`, `stop recording`, `block DTMF`, `unblock DTMF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectRequest<'a> {
    /// The selection.
    pub call: CallRef<'a>,
    /// `flags`.
    pub flags: Flags<'a>,
}

/// `play DTMF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayDtmfRequest<'a> {
    /// The party that generates the event.
    pub call: CallRef<'a>,
    /// Event code 0–15 (RFC 4733 §3.2: 0–9, `*`=10, `#`=11, A–D=12–15).
    pub code: u8,
    /// Duration in ms (default 250, clamped to 100–5000).
    pub duration_ms: u32,
    /// Volume in dBm0 below 0 (default 8).
    pub volume: u8,
    /// Pause after the event in ms (default 100, clamped to 100–5000).
    pub pause_ms: u32,
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per command
pub enum Request<'a> {
    Ping,
    Offer(OfferRequest<'a>),
    Answer(OfferRequest<'a>),
    Delete(DeleteRequest<'a>),
    Query(CallRef<'a>),
    List(ListRequest),
    PlayMedia(PlayMediaRequest<'a>),
    StopMedia(SelectRequest<'a>),
    StartRecording(SelectRequest<'a>),
    StopRecording(SelectRequest<'a>),
    BlockDtmf(SelectRequest<'a>),
    UnblockDtmf(SelectRequest<'a>),
    PlayDtmf(PlayDtmfRequest<'a>),
}

impl Request<'_> {
    /// The command.
    pub fn command(&self) -> Command {
        match self {
            Self::Ping => Command::Ping,
            Self::Offer(_) => Command::Offer,
            Self::Answer(_) => Command::Answer,
            Self::Delete(_) => Command::Delete,
            Self::Query(_) => Command::Query,
            Self::List(_) => Command::List,
            Self::PlayMedia(_) => Command::PlayMedia,
            Self::StopMedia(_) => Command::StopMedia,
            Self::StartRecording(_) => Command::StartRecording,
            Self::StopRecording(_) => Command::StopRecording,
            Self::BlockDtmf(_) => Command::BlockDtmf,
            Self::UnblockDtmf(_) => Command::UnblockDtmf,
            Self::PlayDtmf(_) => Command::PlayDtmf,
        }
    }
}

// ---- value helpers -------------------------------------------------------

fn wrong(key: &str, expected: &'static str) -> NgError {
    NgError::WrongType {
        key: key.to_owned(),
        expected,
    }
}

fn bad(key: &str, reason: &'static str) -> NgError {
    NgError::BadValue {
        key: key.to_owned(),
        reason,
    }
}

fn string<'a>(key: &str, v: &Value<'a>) -> Result<&'a str, NgError> {
    match v {
        Value::Bytes(b) => core::str::from_utf8(b).map_err(|_| bad(key, "not UTF-8")),
        _ => Err(wrong(key, "string")),
    }
}

/// A list of strings; a single string counts as a list of one.
fn strings<'a>(key: &str, v: &Value<'a>) -> Result<Vec<&'a str>, NgError> {
    match v {
        Value::List(items) => items.iter().map(|i| string(key, i)).collect(),
        Value::Bytes(_) => Ok(vec![string(key, v)?]),
        _ => Err(wrong(key, "list of strings")),
    }
}

fn integer(key: &str, v: &Value<'_>) -> Result<i64, NgError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bytes(b) => core::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| bad(key, "not an integer")),
        _ => Err(wrong(key, "integer")),
    }
}

fn ranged<T: TryFrom<i64>>(key: &str, v: &Value<'_>) -> Result<T, NgError> {
    T::try_from(integer(key, v)?).map_err(|_| bad(key, "out of range"))
}

fn yes_no(key: &str, v: &Value<'_>) -> Result<bool, NgError> {
    if let Value::Int(i) = v {
        return Ok(*i != 0);
    }
    match normalize(string(key, v)?).as_str() {
        "yes" | "on" | "true" | "1" => Ok(true),
        "no" | "off" | "false" | "0" => Ok(false),
        _ => Err(bad(key, "expected yes/no/on/off")),
    }
}

fn ip(key: &str, v: &Value<'_>) -> Result<IpAddr, NgError> {
    string(key, v)?
        .trim()
        .parse()
        .map_err(|_| bad(key, "not an IP address"))
}

// ---- collection ------------------------------------------------------------

/// Everything a request may carry, filled key by key.
#[derive(Default)]
struct Fields<'a> {
    command: Option<&'a str>,
    call_id: Option<&'a str>,
    call: CallRef<'a>,
    sdp: Option<&'a str>,
    flags: Flags<'a>,
    replace: Replace,
    ice: Option<IceMode>,
    transport: Option<TransportProtocol>,
    direction: Vec<&'a str>,
    received_from: Option<IpAddr>,
    media_address: Option<IpAddr>,
    address_family: Option<AddressFamily>,
    codec: CodecOps<'a>,
    record_call: Option<bool>,
    rtcp_mux: Vec<&'a str>,
    sdes: Vec<&'a str>,
    dtls: Option<&'a str>,
    ptime: Option<u32>,
    tos: Option<u8>,
    delete_delay: Option<u32>,
    limit: Option<usize>,
    file: Option<&'a str>,
    blob: Option<&'a [u8]>,
    db_id: Option<i64>,
    repeat_times: Option<u32>,
    repeat_duration: Option<u64>,
    start_pos: Option<u64>,
    code: Option<u8>,
    duration: Option<u32>,
    volume: Option<u8>,
    pause: Option<u32>,
    sip_message_type: Option<&'a str>,
    metadata: Option<&'a str>,
}

const TRANSPORT_TOKENS: [&str; 6] = [
    "RTP/AVP",
    "RTP/SAVP",
    "RTP/AVPF",
    "RTP/SAVPF",
    "UDP/TLS/RTP/SAVP",
    "UDP/TLS/RTP/SAVPF",
];

const CODEC_PREFIXES: [(&str, &str); 10] = [
    ("codec-strip-", "strip"),
    ("codec-offer-", "offer"),
    ("codec-transcode-", "transcode"),
    ("transcode-", "transcode"),
    ("codec-mask-", "mask"),
    ("codec-except-", "except"),
    ("codec-accept-", "accept"),
    ("codec-consume-", "consume"),
    ("codec-ignore-", "ignore"),
    ("codec-set-", "set"),
];

impl<'a> Fields<'a> {
    fn key(&mut self, key: &str, v: &Value<'a>) -> Result<(), NgError> {
        match normalize(key).as_str() {
            "command" => self.command = Some(string(key, v)?),
            "call-id" => self.call_id = Some(string(key, v)?),
            "from-tag" => self.call.from_tag = Some(string(key, v)?),
            "to-tag" => self.call.to_tag = Some(string(key, v)?),
            "via-branch" => self.call.via_branch = Some(string(key, v)?),
            "label" | "from-label" => self.call.label = Some(string(key, v)?),
            "to-label" => self.call.to_label = Some(string(key, v)?),
            "all" => self.call.all = Some(string(key, v)?),
            "sdp" => self.sdp = Some(string(key, v)?),
            "flags" => {
                for f in strings(key, v)? {
                    self.flag(f)?;
                }
            }
            "rtpp-flags" => self.rtpp_flags(string(key, v)?)?,
            "replace" => strings(key, v)?
                .into_iter()
                .for_each(|r| self.replace.set(r)),
            "ice" => {
                for item in strings(key, v)? {
                    match normalize(item).as_str() {
                        "remove" => self.ice = Some(IceMode::Remove),
                        "force" => self.ice = Some(IceMode::Force),
                        "default" => self.ice = Some(IceMode::Default),
                        "force-relay" => self.ice = Some(IceMode::ForceRelay),
                        "optional" => self.ice = Some(IceMode::Optional),
                        "trickle" => self.flags.trickle_ice = true,
                        // `ice2`, `lite-*`: not acted upon here.
                        _ => {}
                    }
                }
            }
            "transport-protocol" => {
                let s = string(key, v)?;
                self.transport = Some(
                    TransportProtocol::parse(s)
                        .ok_or_else(|| bad(key, "unknown transport protocol"))?,
                );
            }
            "direction" => self.direction.extend(strings(key, v)?),
            "received-from" => {
                let items = strings(key, v)?;
                let [family, addr] = items[..] else {
                    return Err(bad(key, "expected [family, address]"));
                };
                let a: IpAddr = addr
                    .trim()
                    .parse()
                    .map_err(|_| bad(key, "not an IP address"))?;
                match AddressFamily::parse(family) {
                    Some(AddressFamily::Ip4) if a.is_ipv4() => {}
                    Some(AddressFamily::Ip6) if a.is_ipv6() => {}
                    _ => return Err(bad(key, "address family does not match the address")),
                }
                self.received_from = Some(a);
            }
            "media-address" => self.media_address = Some(ip(key, v)?),
            "address-family" => {
                let s = string(key, v)?;
                self.address_family =
                    Some(AddressFamily::parse(s).ok_or_else(|| bad(key, "expected IP4 or IP6"))?);
            }
            "codec" => {
                let Value::Dict(entries) = v else {
                    return Err(wrong(key, "dictionary"));
                };
                for (k, list) in entries {
                    let k = core::str::from_utf8(k).map_err(|_| bad(key, "key not UTF-8"))?;
                    let items = strings(k, list)?;
                    if let Some(l) = self.codec.list(k) {
                        l.extend(items);
                    }
                }
            }
            "record-call" => self.record_call = Some(yes_no(key, v)?),
            "rtcp-mux" => self.rtcp_mux.extend(strings(key, v)?),
            "sdes" => self.sdes.extend(strings(key, v)?),
            "dtls" => self.dtls = Some(string(key, v)?),
            "ptime" => self.ptime = Some(ranged(key, v)?),
            "tos" => self.tos = Some(ranged(key, v)?),
            "delete-delay" => self.delete_delay = Some(ranged(key, v)?),
            "limit" => {
                let n: usize = ranged(key, v)?;
                if n == 0 {
                    return Err(bad(key, "must be > 0"));
                }
                self.limit = Some(n);
            }
            "file" => self.file = Some(string(key, v)?),
            "blob" => self.blob = Some(v.as_bytes().ok_or_else(|| wrong(key, "string"))?),
            "db-id" => self.db_id = Some(integer(key, v)?),
            "repeat-times" => self.repeat_times = Some(ranged(key, v)?),
            "repeat-duration" => self.repeat_duration = Some(ranged(key, v)?),
            "start-pos" => self.start_pos = Some(ranged(key, v)?),
            "code" | "digit" => self.code = Some(dtmf_code(key, v)?),
            "duration" => self.duration = Some(ranged(key, v)?),
            "volume" => {
                let db = integer(key, v)?;
                self.volume = Some(u8::try_from(db.unsigned_abs().min(127)).unwrap_or(127));
            }
            "pause" => self.pause = Some(ranged(key, v)?),
            "sip-message-type" => self.sip_message_type = Some(string(key, v)?),
            "metadata" => self.metadata = Some(string(key, v)?),
            _ => {}
        }
        Ok(())
    }

    /// One word of the `flags` list (or of `rtpp-flags`).
    fn flag(&mut self, raw: &'a str) -> Result<(), NgError> {
        if let Some((k, val)) = raw.split_once('=') {
            return self.key(k, &Value::Bytes(val.as_bytes()));
        }
        let norm = normalize(raw);
        if let Some(rest) = norm.strip_prefix("replace-") {
            self.replace.set(rest);
            return Ok(());
        }
        for (prefix, list) in CODEC_PREFIXES {
            if norm.starts_with(prefix) && raw.len() > prefix.len() {
                if let Some(l) = self.codec.list(list) {
                    l.push(&raw[prefix.len()..]);
                }
                return Ok(());
            }
        }
        if let Some(t) = TRANSPORT_TOKENS
            .iter()
            .find(|t| t.eq_ignore_ascii_case(raw))
        {
            self.transport = TransportProtocol::parse(t);
            return Ok(());
        }
        match norm.as_str() {
            "internal" | "external" => self.direction.push(raw),
            "all" => self.call.all = Some("all"),
            _ => self.flags.set(raw, &norm),
        }
        Ok(())
    }

    fn rtpp_flags(&mut self, s: &'a str) -> Result<(), NgError> {
        for item in parse_rtpp_flags(s)? {
            match item {
                RtppItem::Word(w) => self.flag(w)?,
                RtppItem::Pair(k, v) => self.key(k, &v)?,
            }
        }
        Ok(())
    }

    fn call_ref(&self, need_from_tag: bool) -> Result<CallRef<'a>, NgError> {
        let call_id = self.call_id.ok_or(NgError::MissingKey("call-id"))?;
        if need_from_tag && self.call.from_tag.is_none() {
            return Err(NgError::MissingKey("from-tag"));
        }
        Ok(CallRef {
            call_id,
            ..self.call.clone()
        })
    }

    fn offer(self, answer: bool) -> Result<OfferRequest<'a>, NgError> {
        let sdp = self.sdp.ok_or(NgError::MissingKey("sdp"))?;
        let call = self.call_ref(true)?;
        if answer && call.to_tag.is_none() {
            return Err(NgError::MissingKey("to-tag"));
        }
        Ok(OfferRequest {
            call,
            sdp,
            flags: self.flags,
            replace: self.replace,
            ice: self.ice,
            transport_protocol: self.transport,
            direction: self.direction,
            received_from: self.received_from,
            media_address: self.media_address,
            address_family: self.address_family,
            codec: self.codec,
            record_call: self.record_call,
            rtcp_mux: self.rtcp_mux,
            sdes: self.sdes,
            dtls: self.dtls,
            ptime: self.ptime,
            tos: self.tos,
            sip_message_type: self.sip_message_type,
            metadata: self.metadata,
        })
    }

    fn select(self) -> Result<SelectRequest<'a>, NgError> {
        Ok(SelectRequest {
            call: self.call_ref(false)?,
            flags: self.flags,
        })
    }
}

fn dtmf_code(key: &str, v: &Value<'_>) -> Result<u8, NgError> {
    if let Value::Int(i) = v {
        return u8::try_from(*i)
            .ok()
            .filter(|c| *c <= 15)
            .ok_or_else(|| bad(key, "DTMF code outside 0-15"));
    }
    let s = string(key, v)?;
    let code = match s.as_bytes() {
        [d @ b'0'..=b'9'] => d - b'0',
        [b'*'] => 10,
        [b'#'] => 11,
        [c @ (b'A'..=b'D' | b'a'..=b'd')] => c.to_ascii_uppercase() - b'A' + 12,
        _ => s
            .parse::<u8>()
            .ok()
            .filter(|c| *c <= 15)
            .ok_or_else(|| bad(key, "not a DTMF digit"))?,
    };
    Ok(code)
}

/// Parses a request dictionary.
pub fn parse_request<'a>(dict: &Value<'a>) -> Result<Request<'a>, NgError> {
    let entries = dict.as_dict().ok_or(NgError::NotADictionary)?;
    let mut f = Fields::default();
    for (k, v) in entries {
        // Keys that are not UTF-8 cannot be ours.
        if let Ok(k) = core::str::from_utf8(k) {
            f.key(k, v)?;
        }
    }
    let name = f.command.ok_or(NgError::MissingKey("command"))?;
    let command =
        Command::from_name(name).ok_or_else(|| NgError::UnknownCommand(name.to_owned()))?;
    Ok(match command {
        Command::Ping => Request::Ping,
        Command::Offer => Request::Offer(f.offer(false)?),
        Command::Answer => Request::Answer(f.offer(true)?),
        Command::Delete => Request::Delete(DeleteRequest {
            call: f.call_ref(false)?,
            delete_delay: f.delete_delay,
            flags: f.flags,
        }),
        Command::Query => Request::Query(f.call_ref(false)?),
        Command::List => Request::List(ListRequest {
            limit: f.limit.unwrap_or(32),
        }),
        Command::PlayMedia => {
            let source = match (f.file, f.blob, f.db_id) {
                (Some(p), _, _) => MediaSource::File(p),
                (None, Some(b), _) => MediaSource::Blob(b),
                (None, None, Some(id)) => MediaSource::DbId(id),
                (None, None, None) => return Err(NgError::MissingKey("file, blob or db-id")),
            };
            Request::PlayMedia(PlayMediaRequest {
                call: f.call_ref(false)?,
                source,
                repeat_times: f.repeat_times.unwrap_or(1),
                repeat_duration_ms: f.repeat_duration,
                start_pos: f.start_pos,
                flags: f.flags,
            })
        }
        Command::StopMedia => Request::StopMedia(f.select()?),
        Command::StartRecording => Request::StartRecording(f.select()?),
        Command::StopRecording => Request::StopRecording(f.select()?),
        Command::BlockDtmf => Request::BlockDtmf(f.select()?),
        Command::UnblockDtmf => Request::UnblockDtmf(f.select()?),
        Command::PlayDtmf => Request::PlayDtmf(PlayDtmfRequest {
            call: f.call_ref(false)?,
            code: f.code.ok_or(NgError::MissingKey("code"))?,
            duration_ms: f.duration.unwrap_or(250).clamp(100, 5000),
            volume: f.volume.unwrap_or(8),
            pause_ms: f.pause.unwrap_or(100).clamp(100, 5000),
        }),
    })
}

/// One item of an `rtpp-flags` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtppItem<'a> {
    /// A bare word (a flag, `replace-origin`, `RTP/AVP`, ...).
    Word(&'a str),
    /// `key=value`: the value is a string, or a list (`[a b]`), or a
    /// dictionary when the list holds `k=v` items (`codec=[strip=[PCMA]]`).
    Pair(&'a str, Value<'a>),
}

/// Most nesting accepted in an `rtpp-flags` string.
const RTPP_MAX_DEPTH: usize = 8;

/// Parses rtpengine's `rtpp-flags` syntax (ng protocol document, "the
/// flags are formatted as following"): words separated by spaces,
/// `key=value`, and `[ ]` lists that may nest.
pub fn parse_rtpp_flags(s: &str) -> Result<Vec<RtppItem<'_>>, NgError> {
    let mut pos = 0;
    let items = rtpp_items(s, &mut pos, 0)?;
    if pos != s.len() {
        return Err(NgError::BadRtppFlags); // a stray `]`
    }
    Ok(items)
}

fn rtpp_items<'a>(s: &'a str, pos: &mut usize, depth: usize) -> Result<Vec<RtppItem<'a>>, NgError> {
    if depth > RTPP_MAX_DEPTH {
        return Err(NgError::BadRtppFlags);
    }
    let b = s.as_bytes();
    let mut out = Vec::new();
    loop {
        while *pos < b.len() && b[*pos] == b' ' {
            *pos += 1;
        }
        if *pos >= b.len() || b[*pos] == b']' {
            return Ok(out);
        }
        let start = *pos;
        while *pos < b.len() && !matches!(b[*pos], b' ' | b'=' | b'[' | b']') {
            *pos += 1;
        }
        let word = &s[start..*pos];
        if *pos < b.len() && b[*pos] == b'[' {
            return Err(NgError::BadRtppFlags);
        }
        if *pos < b.len() && b[*pos] == b'=' {
            *pos += 1;
            if *pos < b.len() && b[*pos] == b'[' {
                *pos += 1;
                let inner = rtpp_items(s, pos, depth + 1)?;
                if *pos >= b.len() || b[*pos] != b']' {
                    return Err(NgError::BadRtppFlags);
                }
                *pos += 1;
                let value =
                    if inner.iter().all(|i| matches!(i, RtppItem::Pair(..))) && !inner.is_empty() {
                        Value::Dict(
                            inner
                                .into_iter()
                                .filter_map(|i| match i {
                                    RtppItem::Pair(k, v) => Some((k.as_bytes(), v)),
                                    RtppItem::Word(_) => None,
                                })
                                .collect(),
                        )
                    } else {
                        Value::List(
                            inner
                                .into_iter()
                                .map(|i| match i {
                                    RtppItem::Word(w) => Value::Bytes(w.as_bytes()),
                                    RtppItem::Pair(k, _) => Value::Bytes(k.as_bytes()),
                                })
                                .collect(),
                        )
                    };
                out.push(RtppItem::Pair(word, value));
            } else {
                let vstart = *pos;
                while *pos < b.len() && !matches!(b[*pos], b' ' | b']' | b'[') {
                    *pos += 1;
                }
                out.push(RtppItem::Pair(word, Value::Bytes(&b[vstart..*pos])));
            }
        } else if word.is_empty() {
            return Err(NgError::BadRtppFlags);
        } else {
            out.push(RtppItem::Word(word));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bencode::{Limits, decode};

    fn parse(doc: &[u8]) -> Result<Request<'_>, NgError> {
        parse_request(&decode(doc, Limits::default()).unwrap())
    }

    fn offer(doc: &[u8]) -> OfferRequest<'_> {
        match parse(doc).unwrap() {
            Request::Offer(o) => o,
            other => panic!("{other:?}"),
        }
    }

    const HEAD: &str = "7:command5:offer3:sdp3:v=07:call-id1:c8:from-tag1:f";

    fn l(items: &[&str]) -> String {
        format!(
            "l{}e",
            items
                .iter()
                .map(|i| format!("{}:{i}", i.len()))
                .collect::<String>()
        )
    }

    fn with(extra: &str) -> Vec<u8> {
        format!("d{HEAD}{extra}e").into_bytes()
    }

    #[test]
    fn key_spelling_is_normalised() {
        let a = with("11:record call3:yes18:transport protocol8:RTP/SAVP");
        let o = offer(&a);
        assert_eq!(o.record_call, Some(true));
        assert_eq!(o.transport_protocol, Some(TransportProtocol::RtpSavp));
        let b = with("11:record_call2:on18:transport-protocol8:rtp/savp");
        assert_eq!(offer(&b).record_call, Some(true));
        assert_eq!(Command::from_name("Play-Media"), Some(Command::PlayMedia));
        assert_eq!(Command::from_name("block dtmf"), Some(Command::BlockDtmf));
    }

    #[test]
    fn flag_words_as_the_module_or_rtpengine_write_them() {
        let flags = l(&[
            "trust-address",
            "codec-strip-G729/8000",
            "codec-offer-PCMA",
            "transcode-opus/48000",
            "internal",
            "external",
            "RTP/AVPF",
            "replace-origin",
            "ICE=force",
            "all",
            "x-new-flag",
        ]);
        let doc = with(&format!("5:flags{flags}"));
        let o = offer(&doc);
        assert!(o.flags.trust_address);
        assert_eq!(o.codec.strip, ["G729/8000"]);
        assert_eq!(o.codec.offer, ["PCMA"]);
        assert_eq!(o.codec.transcode, ["opus/48000"]);
        assert_eq!(o.direction, ["internal", "external"]);
        assert_eq!(o.transport_protocol, Some(TransportProtocol::RtpAvpf));
        assert!(o.replace.origin);
        assert_eq!(o.ice, Some(IceMode::Force));
        assert_eq!(o.call.all, Some("all"));
        assert!(o.flags.has_other("X_NEW flag"));
    }

    #[test]
    fn integers_may_be_strings_and_types_are_checked() {
        let doc = with("5:ptime2:203:TOSi184e");
        let o = offer(&doc);
        assert_eq!((o.ptime, o.tos), (Some(20), Some(184)));
        let e = parse(&with("3:TOSi999e")).unwrap_err();
        assert_eq!(
            e,
            NgError::BadValue {
                key: "TOS".into(),
                reason: "out of range"
            }
        );
        let e = parse(&with("7:replacei1e")).unwrap_err();
        assert_eq!(
            e,
            NgError::WrongType {
                key: "replace".into(),
                expected: "list of strings"
            }
        );
        let e = parse(&with(&format!(
            "13:received-from{}",
            l(&["IP4", "2001:db8::1"])
        )))
        .unwrap_err();
        assert!(matches!(e, NgError::BadValue { .. }));
        let doc = with(&format!("13:received-from{}", l(&["IP6", "2001:db8::12"])));
        let o = offer(&doc);
        assert_eq!(o.received_from, Some("2001:db8::12".parse().unwrap()));
    }

    #[test]
    fn answer_needs_to_tag_and_later_keys_win() {
        assert_eq!(
            parse(b"d7:command6:answer3:sdp3:v=07:call-id1:c8:from-tag1:fe").unwrap_err(),
            NgError::MissingKey("to-tag")
        );
        let doc = with("5:label1:a5:label1:b");
        let o = offer(&doc);
        assert_eq!(o.call.label, Some("b"));
    }

    #[test]
    fn play_dtmf_codes() {
        for (code, want) in [
            ("1:5", 5),
            ("1:*", 10),
            ("1:#", 11),
            ("1:d", 15),
            ("i12e", 12),
        ] {
            let doc = format!("d7:command9:play DTMF7:call-id1:c4:code{code}e");
            let Request::PlayDtmf(p) = parse(doc.as_bytes()).unwrap() else {
                panic!()
            };
            assert_eq!(p.code, want);
            assert_eq!((p.duration_ms, p.volume, p.pause_ms), (250, 8, 100));
        }
        assert!(parse(b"d7:command9:play DTMF7:call-id1:c4:codei16ee").is_err());
    }
}
