//! Call events: what every trunk adapter reports and accepts.
//!
//! The events follow the basic call of ITU-T Q.931 §5.1/§5.3 and ISUP
//! Q.764 §2.1, which SIP maps onto per RFC 3398 §7.1/§8.1:
//!
//! | event        | SIP                    | Q.931              | ISUP      |
//! |--------------|------------------------|--------------------|-----------|
//! | [`Setup`]    | INVITE                 | SETUP              | IAM       |
//! | [`Progress`] | 183 (with SDP)         | CALL PROC/PROGRESS | ACM/CPG   |
//! | [`Alerting`] | 180                    | ALERTING           | ACM/CPG (alerting) |
//! | [`Answer`]   | 200 to INVITE          | CONNECT            | ANM/CON   |
//! | [`Release`]  | BYE/CANCEL/4xx–6xx     | DISCONNECT/RELEASE | REL       |
//!
//! These are plain data: an adapter fills them from its protocol and
//! services act on them without knowing which trunk they came from.

use core::fmt;

use crate::{Cause, CauseLocation};

/// Identifies one call (one leg) inside Tandem. Assigned by whoever
/// creates the call; unrelated to SIP's Call-ID, a Q.931 call reference
/// or an ISUP CIC, which the adapters keep for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Which way a call goes, seen from Tandem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The trunk offered the call to Tandem (we received the setup).
    Inbound,
    /// Tandem offered the call to the trunk (we sent the setup).
    Outbound,
}

/// A party of the call: the calling party's number and how it may be
/// shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// The number (digits, possibly with a leading `+` for an
    /// international number); empty when the network did not provide it.
    pub number: String,
    /// Presentation restricted (Q.931 §4.5.10 octet 3a, ISUP calling party
    /// number APRI; SIP `Privacy: id`, RFC 3323/3325): the number is for
    /// routing and records only, never shown to the other party.
    pub presentation_restricted: bool,
    /// Display name (SIP From display-name, Q.931 Display IE), if any.
    pub display_name: Option<String>,
}

/// A new call (SIP INVITE, Q.931 SETUP, ISUP IAM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The calling party.
    pub caller: Party,
    /// The called number, as dialled (digits).
    pub callee: String,
    /// The original called number when the call was diverted (SIP
    /// History-Info/Diversion, ISUP original called number), if any.
    pub redirecting: Option<String>,
}

/// Progress before alerting (SIP 183, Q.931 CALL PROCEEDING / PROGRESS,
/// ISUP ACM without alerting or CPG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// In-band information is available (Q.931 progress indicator #8,
    /// ISUP "in-band information available", SIP early media): the
    /// caller's media path should be cut through to hear announcements or
    /// tones from the network.
    pub in_band_info: bool,
}

/// The called party is being alerted (SIP 180, Q.931 ALERTING, ISUP ACM
/// "subscriber free" or CPG alerting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Alerting {
    /// In-band ringback is available from the far end (SIP 180 with early
    /// media, Q.931 progress indicator #8); otherwise the caller's side
    /// generates ringback itself.
    pub in_band_info: bool,
}

/// The called party answered (SIP 200 to INVITE, Q.931 CONNECT, ISUP
/// ANM/CON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Answer;

/// The call is cleared, before or after answer (SIP BYE, CANCEL or a
/// failure response; Q.931 DISCONNECT; ISUP REL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// Why (Q.850). SIP adapters translate with
    /// [`Cause::from_sip_status`] and [`Cause::to_sip_status`].
    pub cause: Cause,
    /// Where the cause was generated, when the protocol says.
    pub location: Option<CauseLocation>,
}

impl Release {
    /// A release with no location.
    pub fn new(cause: Cause) -> Self {
        Self {
            cause,
            location: None,
        }
    }
}

/// One event of one call.
///
/// Not `#[non_exhaustive]` on purpose: every adapter and service lives in
/// this workspace, and a new event should fail to compile wherever it is
/// not yet handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A new call.
    Setup(Setup),
    /// Progress before alerting.
    Progress(Progress),
    /// The called party is being alerted.
    Alerting(Alerting),
    /// The called party answered.
    Answer(Answer),
    /// The call is cleared.
    Release(Release),
}

impl CallEvent {
    /// The event's name, for logs (`setup`, `progress`, `alerting`,
    /// `answer`, `release`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Setup(_) => "setup",
            Self::Progress(_) => "progress",
            Self::Alerting(_) => "alerting",
            Self::Answer(_) => "answer",
            Self::Release(_) => "release",
        }
    }
}
