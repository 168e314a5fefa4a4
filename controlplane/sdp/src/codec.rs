//! Codecs: the static payload types of RFC 3551 §6 and codec specifications
//! as ng's `codec` lists write them (`name[/clock rate[/channels]]`).

use core::fmt;

/// A codec as the SDP describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec<'a> {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name.
    pub name: &'a str,
    /// Clock rate, Hz.
    pub clock_rate: u32,
    /// Channels (audio), when given.
    pub channels: Option<u16>,
}

/// RFC 3551 §6 Tables 4 and 5: static payload types.
const STATIC: &[(u8, &str, u32, Option<u16>)] = &[
    (0, "PCMU", 8000, Some(1)),
    (3, "GSM", 8000, Some(1)),
    (4, "G723", 8000, Some(1)),
    (5, "DVI4", 8000, Some(1)),
    (6, "DVI4", 16000, Some(1)),
    (7, "LPC", 8000, Some(1)),
    (8, "PCMA", 8000, Some(1)),
    (9, "G722", 8000, Some(1)),
    (10, "L16", 44100, Some(2)),
    (11, "L16", 44100, Some(1)),
    (12, "QCELP", 8000, Some(1)),
    (13, "CN", 8000, Some(1)),
    (14, "MPA", 90000, None),
    (15, "G728", 8000, Some(1)),
    (16, "DVI4", 11025, Some(1)),
    (17, "DVI4", 22050, Some(1)),
    (18, "G729", 8000, Some(1)),
    (25, "CelB", 90000, None),
    (26, "JPEG", 90000, None),
    (28, "nv", 90000, None),
    (31, "H261", 90000, None),
    (32, "MPV", 90000, None),
    (33, "MP2T", 90000, None),
    (34, "H263", 90000, None),
];

/// The static assignment of payload type `pt`, if it has one.
pub fn static_codec(pt: u8) -> Option<Codec<'static>> {
    STATIC
        .iter()
        .find(|s| s.0 == pt)
        .map(|&(payload_type, name, clock_rate, channels)| Codec {
            payload_type,
            name,
            clock_rate,
            channels,
        })
}

/// The static payload type for a codec, if RFC 3551 assigns one.
pub fn static_payload_type(name: &str, clock_rate: u32, channels: u16) -> Option<u8> {
    STATIC
        .iter()
        .find(|s| {
            s.1.eq_ignore_ascii_case(name) && s.2 == clock_rate && s.3.unwrap_or(1) == channels
        })
        .map(|s| s.0)
}

/// A codec named in an ng `codec` list: `PCMA`, `opus/48000/2`, `all`, or
/// a payload type number (`8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecSpec<'a> {
    /// Encoding name (or payload type number, or `all`/`full`).
    pub name: &'a str,
    /// Clock rate to match, if given.
    pub clock_rate: Option<u32>,
    /// Channels to match, if given.
    pub channels: Option<u16>,
}

impl<'a> CodecSpec<'a> {
    /// Parses `name[/clock[/channels[/...]]]`; fields after channels
    /// (bit rates, options) are ignored, and an unparsable number is
    /// treated as absent.
    pub fn parse(s: &'a str) -> Self {
        let mut it = s.split('/');
        let name = it.next().unwrap_or("");
        let clock_rate = it.next().and_then(|c| c.parse().ok());
        let channels = it.next().and_then(|c| c.parse().ok());
        Self {
            name,
            clock_rate,
            channels,
        }
    }

    /// True for the `all` and `full` keywords.
    pub fn is_all(&self) -> bool {
        self.name.eq_ignore_ascii_case("all") || self.name.eq_ignore_ascii_case("full")
    }

    /// Whether `codec` matches: the name case-insensitively (or the payload
    /// type number), then clock rate and channels where given.
    pub fn matches(&self, codec: &Codec<'_>) -> bool {
        if self.is_all() {
            return true;
        }
        if let Ok(pt) = self.name.parse::<u8>() {
            return pt == codec.payload_type;
        }
        self.name.eq_ignore_ascii_case(codec.name)
            && self.clock_rate.is_none_or(|c| c == codec.clock_rate)
            && self
                .channels
                .is_none_or(|c| c == codec.channels.unwrap_or(1))
    }

    /// The clock rate to use when adding this codec: the given one, else
    /// the conventional one for well-known names (8000 Hz otherwise).
    pub fn default_clock_rate(&self) -> u32 {
        if let Some(c) = self.clock_rate {
            return c;
        }
        match self.name.to_ascii_lowercase().as_str() {
            "opus" => 48000,
            "amr-wb" | "g7221" | "speex" | "silk" => 16000,
            "h261" | "h263" | "h263-1998" | "h264" | "h265" | "vp8" | "vp9" | "av1" => 90000,
            _ => 8000,
        }
    }

    /// Channels to use when adding this codec (opus is always `/2`,
    /// RFC 7587 §7).
    pub fn default_channels(&self) -> Option<u16> {
        if self.channels.is_some() {
            return self.channels;
        }
        if self.name.eq_ignore_ascii_case("opus") {
            Some(2)
        } else {
            None
        }
    }
}

impl fmt::Display for CodecSpec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(c) = self.clock_rate {
            write!(f, "/{c}")?;
            if let Some(ch) = self.channels {
                write!(f, "/{ch}")?;
            }
        }
        Ok(())
    }
}
