//! Where a call goes, by configuration name.

use std::fmt;

use super::prefix::check_digits;

/// A destination, named as in config; the gateway resolves the names
/// (trunks, agents, queues, menus, boxes) when it places the call.
///
/// The config form is `kind:name` — `trunk:telecom-gz`,
/// `number:13812345678`, `agent:1001`, `queue:sales`, `ivr:main`,
/// `voicemail:sales` — or plain `hangup`; [`Destination::parse`] reads it
/// and `Display` writes it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A SIP trunk by name (the call keeps the dialled 400 number).
    Trunk(String),
    /// A telephone number sent out over the outbound routes (a mobile, a
    /// fixed line), digits with an optional leading `+`.
    Number(String),
    /// An agent by id or name.
    Agent(String),
    /// An ACD queue by name.
    Queue(String),
    /// An IVR menu by name.
    Ivr(String),
    /// A voicemail box by name.
    Voicemail(String),
    /// Release the call (normal clearing, after any ringback/prompt).
    Hangup,
}

/// Why a destination did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestinationError {
    /// No `kind:` or an unknown kind.
    UnknownKind,
    /// `kind:` with nothing (or only spaces) after it.
    EmptyName,
    /// A `number:` that is not digits (with an optional leading `+`).
    BadNumber,
}

impl fmt::Display for DestinationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DestinationError::UnknownKind => {
                "expected trunk:, number:, agent:, queue:, ivr:, voicemail: followed by a name, or hangup"
            }
            DestinationError::EmptyName => "has no name after the colon",
            DestinationError::BadNumber => "is not a telephone number (digits, * or #, optionally after +)",
        })
    }
}

impl std::error::Error for DestinationError {}

impl Destination {
    /// Parses the config form `kind:name` or `hangup` (kinds are
    /// case-insensitive; names are kept as written, trimmed).
    pub fn parse(s: &str) -> Result<Destination, DestinationError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("hangup") {
            return Ok(Destination::Hangup);
        }
        let (kind, name) = s.split_once(':').ok_or(DestinationError::UnknownKind)?;
        let name = name.trim();
        let make: fn(String) -> Destination = match kind.trim().to_ascii_lowercase().as_str() {
            "trunk" => Destination::Trunk,
            "number" => Destination::Number,
            "agent" => Destination::Agent,
            "queue" => Destination::Queue,
            "ivr" => Destination::Ivr,
            "voicemail" => Destination::Voicemail,
            _ => return Err(DestinationError::UnknownKind),
        };
        if name.is_empty() {
            return Err(DestinationError::EmptyName);
        }
        let d = make(name.to_owned());
        if let Destination::Number(n) = &d {
            check_digits(n.strip_prefix('+').unwrap_or(n))
                .map_err(|_| DestinationError::BadNumber)?;
        }
        Ok(d)
    }

    /// The kind as written in config (`trunk`, …, `hangup`).
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Trunk(_) => "trunk",
            Destination::Number(_) => "number",
            Destination::Agent(_) => "agent",
            Destination::Queue(_) => "queue",
            Destination::Ivr(_) => "ivr",
            Destination::Voicemail(_) => "voicemail",
            Destination::Hangup => "hangup",
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Trunk(n)
            | Destination::Number(n)
            | Destination::Agent(n)
            | Destination::Queue(n)
            | Destination::Ivr(n)
            | Destination::Voicemail(n) => write!(f, "{}:{n}", self.kind()),
            Destination::Hangup => f.write_str("hangup"),
        }
    }
}

impl std::str::FromStr for Destination {
    type Err = DestinationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Destination::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_forms_round_trip() {
        for s in [
            "trunk:telecom-gz",
            "number:13812345678",
            "number:+862012345678",
            "agent:1001",
            "queue:sales",
            "ivr:main",
            "voicemail:after-hours",
            "hangup",
        ] {
            assert_eq!(Destination::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Destination::parse(" Queue: sales "),
            Ok(Destination::Queue("sales".into()))
        );
        assert_eq!(Destination::parse("HANGUP"), Ok(Destination::Hangup));
    }

    #[test]
    fn malformed_destinations_are_refused() {
        assert_eq!(Destination::parse(""), Err(DestinationError::UnknownKind));
        assert_eq!(
            Destination::parse("sales"),
            Err(DestinationError::UnknownKind)
        );
        assert_eq!(
            Destination::parse("fax:1"),
            Err(DestinationError::UnknownKind)
        );
        assert_eq!(
            Destination::parse("queue:"),
            Err(DestinationError::EmptyName)
        );
        assert_eq!(
            Destination::parse("number:  "),
            Err(DestinationError::EmptyName)
        );
        assert_eq!(
            Destination::parse("number:138 1234"),
            Err(DestinationError::BadNumber)
        );
        assert_eq!(
            Destination::parse("number:+"),
            Err(DestinationError::BadNumber)
        );
    }
}
