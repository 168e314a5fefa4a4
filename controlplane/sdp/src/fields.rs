//! Typed views of individual lines and attributes.
//!
//! Each `parse` reads the value part of one line (what follows `x=` or
//! `a=name:`) and borrows from it; `Display` writes it back in the RFC's
//! canonical form (single spaces). Lines are stored as text, so a line that
//! is only read is re-emitted exactly as received.
//!
//! References: RFC 8866 §5.2 (`o=`), §5.7 (`c=`), §5.8 (`b=`), §5.14
//! (`m=`), §6.4 (`rtpmap`), §6.5 (`maxptime`/`ptime`), §6.7 (direction),
//! §6.15 (`fmtp`); RFC 3605 (`rtcp`); RFC 5761 (`rtcp-mux`); RFC 8839 §5
//! (ICE attributes); RFC 4568 §9.1 (`crypto`); RFC 4145 §4 (`setup`);
//! RFC 8122 §5 (`fingerprint`).

use core::fmt;
use std::net::IpAddr;

use crate::SdpErrorKind;
use crate::SdpErrorKind as K;

fn num<T: core::str::FromStr>(s: &str, what: &'static str) -> Result<T, K> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(K::BadNumber(what));
    }
    s.parse().map_err(|_| K::BadNumber(what))
}

/// RFC 8866 §9 `token-char`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            matches!(b, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'..=b'~')
                || b.is_ascii_alphanumeric()
        })
}

/// `nettype addrtype address`: the address type says how to read the
/// address (RFC 8866 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address<'a> {
    /// Network type, `IN` for the Internet.
    pub nettype: &'a str,
    /// `IP4` or `IP6` (other values are kept as text).
    pub addrtype: &'a str,
    /// The address (or FQDN), possibly with `/ttl[/count]` for multicast.
    pub address: &'a str,
}

impl Address<'_> {
    /// The address as an IP, if it is one (no FQDN, no multicast suffix).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

impl fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.nettype, self.addrtype, self.address)
    }
}

/// `IN IP4 <v4>` / `IN IP6 <v6>` for an [`IpAddr`].
pub(crate) fn in_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("IN IP4 {a}"),
        IpAddr::V6(a) => format!("IN IP6 {a}"),
    }
}

fn address_from<'a>(it: &mut impl Iterator<Item = &'a str>) -> Result<Address<'a>, K> {
    let nettype = it.next().ok_or(K::MissingField("nettype"))?;
    let addrtype = it.next().ok_or(K::MissingField("addrtype"))?;
    let address = it.next().ok_or(K::MissingField("address"))?;
    if !is_token(nettype) {
        return Err(K::BadField("nettype"));
    }
    if !is_token(addrtype) {
        return Err(K::BadField("addrtype"));
    }
    if nettype == "IN" {
        let host = address.split('/').next().unwrap_or_default();
        let ok = match addrtype {
            "IP4" => host.parse::<std::net::Ipv4Addr>().is_ok() || is_fqdn(host),
            "IP6" => host.parse::<std::net::Ipv6Addr>().is_ok() || is_fqdn(host),
            _ => true,
        };
        if !ok {
            return Err(K::BadField("address"));
        }
    }
    Ok(Address {
        nettype,
        addrtype,
        address,
    })
}

fn is_fqdn(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`
/// (RFC 8866 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// User name, `-` when none.
    pub username: &'a str,
    /// Session id: a numeric string (kept as text, it may exceed 64 bits).
    pub session_id: &'a str,
    /// Session version, bumped by whoever changes the description.
    pub session_version: u64,
    /// Where the session was created.
    pub address: Address<'a>,
}

impl<'a> Origin<'a> {
    /// Parses the value of an `o=` line.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let mut it = value.split(' ');
        let username = it
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(K::MissingField("username"))?;
        let session_id = it.next().ok_or(K::MissingField("sess-id"))?;
        if session_id.is_empty() || !session_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(K::BadNumber("sess-id"));
        }
        let version = it.next().ok_or(K::MissingField("sess-version"))?;
        let session_version = num(version, "sess-version")?;
        let address = address_from(&mut it)?;
        if it.next().is_some() {
            return Err(K::BadField("origin (extra fields)"));
        }
        Ok(Self {
            username,
            session_id,
            session_version,
            address,
        })
    }
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.username, self.session_id, self.session_version, self.address
        )
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a>(pub Address<'a>);

impl<'a> Connection<'a> {
    /// Parses the value of a `c=` line.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let mut it = value.split(' ');
        let a = address_from(&mut it)?;
        if it.next().is_some() {
            return Err(K::BadField("connection (extra fields)"));
        }
        Ok(Self(a))
    }
}

impl fmt::Display for Connection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth<'a> {
    /// `CT`, `AS`, `TIAS`, `RS`, `RR`, ...
    pub bwtype: &'a str,
    /// Kilobits per second (bits for `TIAS`).
    pub bandwidth: u64,
}

impl<'a> Bandwidth<'a> {
    /// Parses the value of a `b=` line.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let (t, b) = value.split_once(':').ok_or(K::MissingField("bandwidth"))?;
        if !is_token(t) {
            return Err(K::BadField("bwtype"));
        }
        Ok(Self {
            bwtype: t,
            bandwidth: num(b, "bandwidth")?,
        })
    }
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9), NTP seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Start, 0 for unbounded.
    pub start: u64,
    /// Stop, 0 for unbounded.
    pub stop: u64,
}

impl Timing {
    /// Parses the value of a `t=` line.
    pub fn parse(value: &str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let (a, b) = value.split_once(' ').ok_or(K::MissingField("stop-time"))?;
        Ok(Self {
            start: num(a, "start-time")?,
            stop: num(b, "stop-time")?,
        })
    }
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine<'a> {
    /// `audio`, `video`, `text`, `application`, `message`, `image`.
    pub media: &'a str,
    /// Transport port; 0 rejects or disables the stream (RFC 3264 §6).
    pub port: u16,
    /// The optional `/<number of ports>`.
    pub port_count: Option<u16>,
    /// Transport protocol, e.g. `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, `udptl`.
    pub proto: &'a str,
    /// Media formats: RTP payload type numbers for RTP profiles.
    pub formats: Vec<&'a str>,
}

impl<'a> MediaLine<'a> {
    /// Parses the value of an `m=` line. Runs of spaces between formats and
    /// a trailing space, which some phones send, are tolerated.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let mut it = value.split(' ').filter(|s| !s.is_empty());
        let media = it.next().ok_or(K::MissingField("media"))?;
        if !is_token(media) {
            return Err(K::BadField("media"));
        }
        let port_field = it.next().ok_or(K::MissingField("port"))?;
        let (port, port_count) = match port_field.split_once('/') {
            Some((p, n)) => (num(p, "port")?, Some(num(n, "number of ports")?)),
            None => (num(port_field, "port")?, None),
        };
        let proto = it.next().ok_or(K::MissingField("proto"))?;
        if !proto.split('/').all(is_token) {
            return Err(K::BadField("proto"));
        }
        let formats: Vec<&str> = it.collect();
        if formats.is_empty() {
            return Err(K::MissingField("fmt"));
        }
        if formats.iter().any(|f| !is_token(f)) {
            return Err(K::BadField("fmt"));
        }
        if is_rtp_proto(proto) {
            for f in &formats {
                num::<u8>(f, "payload type").and_then(|pt| {
                    if pt < 128 {
                        Ok(pt)
                    } else {
                        Err(K::BadNumber("payload type"))
                    }
                })?;
            }
        }
        Ok(Self {
            media,
            port,
            port_count,
            proto,
            formats,
        })
    }

    /// Payload types, for RTP profiles (formats that are not numbers are
    /// skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }
}

impl fmt::Display for MediaLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        Ok(())
    }
}

/// True for the RTP profiles, whose formats are payload type numbers.
pub fn is_rtp_proto(proto: &str) -> bool {
    proto.split('/').any(|p| p.eq_ignore_ascii_case("RTP"))
}

/// One `a=` line: `name` or `name:value` (RFC 8866 §5.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute name.
    pub name: &'a str,
    /// The value after `:`, if any.
    pub value: Option<&'a str>,
}

impl<'a> Attribute<'a> {
    /// Parses the value of an `a=` line.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        let (name, v) = match value.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            // `a=sendrecv ` is seen in the wild.
            None => (value.trim_end_matches(' '), None),
        };
        if !is_token(name) {
            return Err(K::BadAttributeName);
        }
        Ok(Self { name, value: v })
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name, e.g. `opus`, `PCMA`, `telephone-event`.
    pub encoding: &'a str,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: channel count for audio.
    pub channels: Option<u16>,
}

impl<'a> Rtpmap<'a> {
    /// Parses an `rtpmap` attribute value.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let (pt, rest) = value
            .split_once(' ')
            .ok_or(K::MissingField("encoding name"))?;
        let payload_type = payload_type(pt)?;
        let mut it = rest.trim_end().split('/');
        let encoding = it
            .next()
            .filter(|s| is_token(s))
            .ok_or(K::BadField("encoding name"))?;
        let clock_rate = num(
            it.next().ok_or(K::MissingField("clock rate"))?,
            "clock rate",
        )?;
        let channels = it.next().map(|c| num(c, "channels")).transpose()?;
        if it.next().is_some() {
            return Err(K::BadField("rtpmap (extra fields)"));
        }
        Ok(Self {
            payload_type,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

fn payload_type(s: &str) -> Result<u8, SdpErrorKind> {
    let pt: u8 = num(s, "payload type")?;
    if pt > 127 {
        return Err(K::BadNumber("payload type"));
    }
    Ok(pt)
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (payload type for RTP).
    pub format: &'a str,
    /// The parameters, verbatim.
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// Parses an `fmtp` attribute value.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let (format, params) = value.split_once(' ').unwrap_or((value, ""));
        if !is_token(format) {
            return Err(K::BadField("fmtp format"));
        }
        Ok(Self { format, params })
    }

    /// `key=value` pairs separated by `;` (the common convention, e.g.
    /// `0-16` for telephone-event has no `=` and yields `("0-16", "")`).
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
    }
}

/// Media direction (RFC 8866 §6.7, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, the default.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// From an attribute name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    /// The direction seen from the other side (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp<'a> {
    /// RTCP port.
    pub port: u16,
    /// RTCP address, when not the media's.
    pub address: Option<Address<'a>>,
}

impl<'a> Rtcp<'a> {
    /// Parses an `rtcp` attribute value.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let mut it = value.split(' ');
        let port = num(it.next().unwrap_or_default(), "rtcp port")?;
        let address = if value.contains(' ') {
            Some(address_from(&mut it)?)
        } else {
            None
        };
        if it.next().is_some() {
            return Err(K::BadField("rtcp (extra fields)"));
        }
        Ok(Self { port, address })
    }
}

impl fmt::Display for Rtcp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(a) = &self.address {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `a=candidate:` (RFC 8839 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Foundation.
    pub foundation: &'a str,
    /// Component id: 1 RTP, 2 RTCP.
    pub component: u16,
    /// Transport, `UDP` (or `TCP`).
    pub transport: &'a str,
    /// Priority.
    pub priority: u32,
    /// Connection address.
    pub address: &'a str,
    /// Port.
    pub port: u16,
    /// `host`, `srflx`, `prflx`, `relay`.
    pub typ: &'a str,
    /// Everything after the type (`raddr`, `rport`, extensions), verbatim.
    pub rest: &'a str,
}

impl<'a> Candidate<'a> {
    /// Parses a `candidate` attribute value.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let mut it = value.splitn(9, ' ');
        let mut next = |w| {
            it.next()
                .filter(|s| !s.is_empty())
                .ok_or(K::MissingField(w))
        };
        let foundation = next("foundation")?;
        let component = num(next("component-id")?, "component-id")?;
        let transport = next("transport")?;
        let priority = num(next("priority")?, "priority")?;
        let address = next("connection-address")?;
        let port = num(next("port")?, "port")?;
        if next("typ")? != "typ" {
            return Err(K::BadField("candidate (no `typ`)"));
        }
        let typ = next("cand-type")?;
        let rest = it.next().unwrap_or("");
        Ok(Self {
            foundation,
            component,
            transport,
            priority,
            address,
            port,
            typ,
            rest,
        })
    }
}

impl fmt::Display for Candidate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.transport,
            self.priority,
            self.address,
            self.port,
            self.typ
        )?;
        if !self.rest.is_empty() {
            write!(f, " {}", self.rest)?;
        }
        Ok(())
    }
}

/// The ICE attribute names (RFC 8839 §5), removed together by
/// [`crate::SessionDescription::remove_ice`].
pub const ICE_ATTRIBUTES: &[&str] = &[
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "ice-pacing",
    "candidate",
    "remote-candidates",
    "end-of-candidates",
];

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]`
/// (RFC 4568 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crypto<'a> {
    /// Tag.
    pub tag: u32,
    /// Suite, e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub suite: &'a str,
    /// Key parameters, e.g. `inline:<base64>|2^20|1:32`.
    pub key_params: &'a str,
    /// Session parameters, verbatim (possibly empty).
    pub session_params: &'a str,
}

impl<'a> Crypto<'a> {
    /// Parses a `crypto` attribute value.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let mut it = value.splitn(4, ' ');
        let tag = num(it.next().unwrap_or_default(), "crypto tag")?;
        let suite = it
            .next()
            .filter(|s| is_token(s))
            .ok_or(K::MissingField("crypto-suite"))?;
        let key_params = it
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(K::MissingField("key-params"))?;
        Ok(Self {
            tag,
            suite,
            key_params,
            session_params: it.next().unwrap_or(""),
        })
    }
}

/// `a=setup:` role (RFC 4145 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// `active`.
    Active,
    /// `passive`.
    Passive,
    /// `actpass`.
    ActPass,
    /// `holdconn`.
    HoldConn,
}

impl Setup {
    /// Parses a `setup` attribute value.
    pub fn parse(value: &str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        Ok(match value {
            "active" => Self::Active,
            "passive" => Self::Passive,
            "actpass" => Self::ActPass,
            "holdconn" => Self::HoldConn,
            _ => return Err(K::BadField("setup role")),
        })
    }

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::ActPass => "actpass",
            Self::HoldConn => "holdconn",
        }
    }
}

/// `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// `sha-256`, ...
    pub hash: &'a str,
    /// Colon-separated upper-case hex.
    pub value: &'a str,
}

impl<'a> Fingerprint<'a> {
    /// Parses a `fingerprint` attribute value.
    pub fn parse(value: &'a str) -> Result<Self, SdpErrorKind> {
        // Trailing spaces are common in the wild and carry nothing.
        let value = value.trim_end_matches(' ');
        let (hash, v) = value
            .split_once(' ')
            .ok_or(K::MissingField("fingerprint"))?;
        if !is_token(hash) || v.is_empty() {
            return Err(K::BadField("fingerprint"));
        }
        Ok(Self { hash, value: v })
    }
}

/// Validates the value of a well-known attribute; unknown attributes are
/// accepted as they are.
pub(crate) fn check_attribute(a: &Attribute<'_>) -> Result<(), SdpErrorKind> {
    let v = a.value.unwrap_or("");
    match a.name {
        "rtpmap" => Rtpmap::parse(v).map(drop),
        "fmtp" => Fmtp::parse(v).map(drop),
        "ptime" | "maxptime" => {
            // Decimal milliseconds are seen in the wild (`ptime:20.0`).
            let v = v.trim_end_matches(' ');
            let int = v.split_once('.').map_or(v, |(i, _)| i);
            num::<u32>(int, "ptime").map(drop)
        }
        "rtcp" => Rtcp::parse(v).map(drop),
        "candidate" => Candidate::parse(v).map(drop),
        "crypto" => Crypto::parse(v).map(drop),
        "setup" => Setup::parse(v).map(drop),
        "fingerprint" => Fingerprint::parse(v).map(drop),
        _ => Ok(()),
    }
}
