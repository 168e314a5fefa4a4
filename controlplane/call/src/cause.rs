//! Q.850 cause values and their mapping to and from SIP status codes.
//!
//! - [`Cause`]: the cause value of ITU-T Q.850 §2.2.5 (7 bits, 1..=127),
//!   with the names of Q.850 Table 1 and the class of §2.2.5 (the upper
//!   three bits of the value).
//! - [`CauseLocation`]: the location field of Q.850 §2.2.3.
//! - [`Cause::from_sip_status`]: RFC 3398 §8.2.6.1, a SIP failure response
//!   received on the SIP side, to the cause sent towards ISUP/Q.931.
//! - [`Cause::to_sip_status`]: RFC 3398 §7.2.4.1, a cause received from
//!   ISUP/Q.931, to the SIP final response sent.
//!
//! The two tables are not inverses of each other (RFC 3398 built them
//! independently, e.g. 486 → 17 → 486 but 503 → 41 → 503 while 500 → 41
//! too), so each direction has its own table here.

use core::fmt;

/// A Q.850 cause value (Q.850 §2.2.5): 1..=127; 0 is not a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cause(u8);

/// The class of a cause value (Q.850 §2.2.5, bits 7–5 of the octet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CauseClass {
    /// 0..=31 (classes 000 and 001): normal event.
    NormalEvent,
    /// 32..=47 (010): resource unavailable.
    ResourceUnavailable,
    /// 48..=63 (011): service or option not available.
    ServiceNotAvailable,
    /// 64..=79 (100): service or option not implemented.
    ServiceNotImplemented,
    /// 80..=95 (101): invalid message (e.g. parameter out of range).
    InvalidMessage,
    /// 96..=111 (110): protocol error (e.g. unknown message).
    ProtocolError,
    /// 112..=127 (111): interworking.
    Interworking,
}

impl CauseClass {
    /// The "unspecified" cause of this class, which Q.850 (Table 1, and
    /// Q.931 §5.8.2) tells a receiver to assume for a value it does not know.
    pub fn unspecified(self) -> Cause {
        Cause(match self {
            Self::NormalEvent => 31,
            Self::ResourceUnavailable => 47,
            Self::ServiceNotAvailable => 63,
            Self::ServiceNotImplemented => 79,
            Self::InvalidMessage => 95,
            Self::ProtocolError => 111,
            Self::Interworking => 127,
        })
    }
}

/// Q.850 Table 1: the cause values that are defined, with their names.
const NAMES: &[(u8, &str)] = &[
    (1, "unallocated (unassigned) number"),
    (2, "no route to specified transit network"),
    (3, "no route to destination"),
    (4, "send special information tone"),
    (5, "misdialled trunk prefix"),
    (6, "channel unacceptable"),
    (
        7,
        "call awarded and being delivered in an established channel",
    ),
    (8, "preemption"),
    (9, "preemption - circuit reserved for reuse"),
    (14, "QoR: ported number"),
    (16, "normal call clearing"),
    (17, "user busy"),
    (18, "no user responding"),
    (19, "no answer from user (user alerted)"),
    (20, "subscriber absent"),
    (21, "call rejected"),
    (22, "number changed"),
    (23, "redirection to new destination"),
    (25, "exchange routing error"),
    (26, "non-selected user clearing"),
    (27, "destination out of order"),
    (28, "invalid number format (address incomplete)"),
    (29, "facility rejected"),
    (30, "response to STATUS ENQUIRY"),
    (31, "normal, unspecified"),
    (34, "no circuit/channel available"),
    (38, "network out of order"),
    (39, "permanent frame mode connection out of service"),
    (40, "permanent frame mode connection operational"),
    (41, "temporary failure"),
    (42, "switching equipment congestion"),
    (43, "access information discarded"),
    (44, "requested circuit/channel not available"),
    (46, "precedence call blocked"),
    (47, "resource unavailable, unspecified"),
    (49, "quality of service not available"),
    (50, "requested facility not subscribed"),
    (53, "outgoing calls barred within CUG"),
    (55, "incoming calls barred within CUG"),
    (57, "bearer capability not authorized"),
    (58, "bearer capability not presently available"),
    (
        62,
        "inconsistency in designated outgoing access information and subscriber class",
    ),
    (63, "service or option not available, unspecified"),
    (65, "bearer capability not implemented"),
    (66, "channel type not implemented"),
    (69, "requested facility not implemented"),
    (
        70,
        "only restricted digital information bearer capability is available",
    ),
    (79, "service or option not implemented, unspecified"),
    (81, "invalid call reference value"),
    (82, "identified channel does not exist"),
    (
        83,
        "a suspended call exists, but this call identity does not",
    ),
    (84, "call identity in use"),
    (85, "no call suspended"),
    (
        86,
        "call having the requested call identity has been cleared",
    ),
    (87, "user not member of CUG"),
    (88, "incompatible destination"),
    (90, "non-existent CUG"),
    (91, "invalid transit network selection"),
    (95, "invalid message, unspecified"),
    (96, "mandatory information element is missing"),
    (97, "message type non-existent or not implemented"),
    (
        98,
        "message not compatible with call state or message type non-existent or not implemented",
    ),
    (
        99,
        "information element/parameter non-existent or not implemented",
    ),
    (100, "invalid information element contents"),
    (101, "message not compatible with call state"),
    (102, "recovery on timer expiry"),
    (103, "parameter non-existent or not implemented, passed on"),
    (110, "message with unrecognized parameter, discarded"),
    (111, "protocol error, unspecified"),
    (127, "interworking, unspecified"),
];

/// RFC 3398 §7.2.4.1: ISUP cause value → SIP response. Cause 16 is
/// absent: normal clearing is a BYE or CANCEL, not a failure response.
const TO_SIP: &[(u8, u16)] = &[
    (1, 404),
    (2, 404),
    (3, 404),
    (17, 486),
    (18, 408),
    (19, 480),
    (20, 480),
    (21, 403),
    (22, 410),
    (23, 410),
    (26, 404),
    (27, 502),
    (28, 484),
    (29, 501),
    (31, 480),
    (34, 503),
    (38, 503),
    (41, 503),
    (42, 503),
    (47, 503),
    (55, 403),
    (57, 403),
    (58, 503),
    (65, 488),
    (70, 488),
    (79, 501),
    (87, 403),
    (88, 503),
    (102, 504),
    (111, 500),
    (127, 500),
];

/// RFC 3398 §8.2.6.1: SIP response received → cause value in the REL.
/// 487, 488 and 606 are not in the RFC's table; see
/// [`Cause::from_sip_status`] for what they map to and why.
const FROM_SIP: &[(u16, u8)] = &[
    (400, 41),
    (401, 21),
    (402, 21),
    (403, 21),
    (404, 1),
    (405, 63),
    (406, 79),
    (407, 21),
    (408, 102),
    (410, 22),
    (413, 127),
    (414, 127),
    (415, 79),
    (416, 127),
    (420, 127),
    (421, 127),
    (423, 127),
    (480, 18),
    (481, 41),
    (482, 25),
    (483, 25),
    (484, 28),
    (485, 1),
    (486, 17),
    // Not in RFC 3398: the INVITE was CANCELled by us, so the call is
    // being cleared normally from the PSTN side's point of view (the
    // caller hung up). Q.1912.5 and common gateways send 16 here; 127
    // would count a caller's normal abandonment as an interworking fault
    // in the PSTN's statistics.
    (487, 16),
    // "By Warning header" in RFC 3398: without a Warning code that says
    // more, the media could not be agreed, which is an interworking
    // failure (127). The Warning code is the SIP adapter's to refine.
    (488, 127),
    (500, 41),
    (501, 79),
    (502, 38),
    (503, 41),
    (504, 102),
    (505, 127),
    (513, 127),
    (600, 17),
    (603, 21),
    (604, 1),
    // "By Warning header" in RFC 3398, like 488. A 606 says no
    // destination will accept the session as described (RFC 3261
    // §21.6.4), i.e. the bearer asked for cannot be had: 58, the value
    // gateways commonly send (the RFC itself gives no number).
    (606, 58),
];

impl Cause {
    /// 1: unallocated (unassigned) number.
    pub const UNALLOCATED_NUMBER: Self = Self(1);
    /// 2: no route to specified transit network.
    pub const NO_ROUTE_TRANSIT_NETWORK: Self = Self(2);
    /// 3: no route to destination.
    pub const NO_ROUTE_DESTINATION: Self = Self(3);
    /// 16: normal call clearing.
    pub const NORMAL_CLEARING: Self = Self(16);
    /// 17: user busy.
    pub const USER_BUSY: Self = Self(17);
    /// 18: no user responding.
    pub const NO_USER_RESPONSE: Self = Self(18);
    /// 19: no answer from user (user alerted).
    pub const NO_ANSWER: Self = Self(19);
    /// 20: subscriber absent.
    pub const SUBSCRIBER_ABSENT: Self = Self(20);
    /// 21: call rejected.
    pub const CALL_REJECTED: Self = Self(21);
    /// 22: number changed.
    pub const NUMBER_CHANGED: Self = Self(22);
    /// 25: exchange routing error.
    pub const EXCHANGE_ROUTING_ERROR: Self = Self(25);
    /// 27: destination out of order.
    pub const DESTINATION_OUT_OF_ORDER: Self = Self(27);
    /// 28: invalid number format (address incomplete).
    pub const INVALID_NUMBER_FORMAT: Self = Self(28);
    /// 31: normal, unspecified.
    pub const NORMAL_UNSPECIFIED: Self = Self(31);
    /// 34: no circuit/channel available.
    pub const NO_CIRCUIT_AVAILABLE: Self = Self(34);
    /// 38: network out of order.
    pub const NETWORK_OUT_OF_ORDER: Self = Self(38);
    /// 41: temporary failure.
    pub const TEMPORARY_FAILURE: Self = Self(41);
    /// 42: switching equipment congestion.
    pub const SWITCHING_EQUIPMENT_CONGESTION: Self = Self(42);
    /// 44: requested circuit/channel not available.
    pub const REQUESTED_CHANNEL_NOT_AVAILABLE: Self = Self(44);
    /// 47: resource unavailable, unspecified.
    pub const RESOURCE_UNAVAILABLE: Self = Self(47);
    /// 55: incoming calls barred within CUG.
    pub const INCOMING_CALLS_BARRED_WITHIN_CUG: Self = Self(55);
    /// 57: bearer capability not authorized.
    pub const BEARER_CAPABILITY_NOT_AUTHORIZED: Self = Self(57);
    /// 58: bearer capability not presently available.
    pub const BEARER_CAPABILITY_NOT_AVAILABLE: Self = Self(58);
    /// 63: service or option not available, unspecified.
    pub const SERVICE_NOT_AVAILABLE: Self = Self(63);
    /// 65: bearer capability not implemented.
    pub const BEARER_CAPABILITY_NOT_IMPLEMENTED: Self = Self(65);
    /// 79: service or option not implemented, unspecified.
    pub const SERVICE_NOT_IMPLEMENTED: Self = Self(79);
    /// 87: user not member of CUG.
    pub const USER_NOT_MEMBER_OF_CUG: Self = Self(87);
    /// 88: incompatible destination.
    pub const INCOMPATIBLE_DESTINATION: Self = Self(88);
    /// 102: recovery on timer expiry.
    pub const RECOVERY_ON_TIMER_EXPIRY: Self = Self(102);
    /// 111: protocol error, unspecified.
    pub const PROTOCOL_ERROR: Self = Self(111);
    /// 127: interworking, unspecified.
    pub const INTERWORKING: Self = Self(127);

    /// A cause from its value; `None` outside 1..=127 (the value is 7
    /// bits, Q.850 §2.2.5, and 0 is not assigned).
    pub const fn new(value: u8) -> Option<Self> {
        if value >= 1 && value <= 127 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The cause value.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// The class of the cause (Q.850 §2.2.5).
    pub fn class(self) -> CauseClass {
        match self.0 {
            0..=31 => CauseClass::NormalEvent,
            32..=47 => CauseClass::ResourceUnavailable,
            48..=63 => CauseClass::ServiceNotAvailable,
            64..=79 => CauseClass::ServiceNotImplemented,
            80..=95 => CauseClass::InvalidMessage,
            96..=111 => CauseClass::ProtocolError,
            _ => CauseClass::Interworking,
        }
    }

    /// Q.850's name of the cause, if Q.850 Table 1 defines the value.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|n| n.0 == self.0).map(|n| n.1)
    }

    /// Whether Q.850 Table 1 defines this value.
    pub fn is_defined(self) -> bool {
        self.name().is_some()
    }

    /// The cause a receiver acts on: the value itself if it is defined,
    /// else the "unspecified" cause of its class (Q.850 Table 1 notes;
    /// Q.931 §5.8.2), e.g. an unknown 35 is treated as 47.
    pub fn normalized(self) -> Self {
        if self.is_defined() {
            self
        } else {
            self.class().unspecified()
        }
    }

    /// The cause to send in an ISUP REL / Q.931 DISCONNECT when a SIP
    /// INVITE fails with `status` (RFC 3398 §8.2.6.1).
    ///
    /// Beyond the RFC's table:
    /// - 487 Request Terminated (absent from RFC 3398) → 16 normal
    ///   clearing: a 487 answers our own CANCEL, i.e. the PSTN caller hung
    ///   up; the alternative, 127, would log normal abandonment as an
    ///   interworking fault.
    /// - 488 and 606 ("by Warning header" in the RFC, which gives no
    ///   number) → 127 interworking and 58 bearer capability not presently
    ///   available when no Warning code refines them.
    /// - Other 4xx/5xx/6xx codes are treated as the x00 code of their
    ///   class, as RFC 3261 §8.1.3.2 tells a UAC to treat an unknown final
    ///   response: 4xx → 41, 5xx → 41, 6xx → 17.
    /// - Anything that is not a failure response (below 400, above 699)
    ///   is API misuse; it maps to 127 interworking rather than panicking.
    ///
    /// A `Reason: Q.850;cause=N` header (RFC 3326, RFC 6432) carries the
    /// original cause and should be preferred by the SIP adapter.
    pub fn from_sip_status(status: u16) -> Self {
        if let Some(&(_, c)) = FROM_SIP.iter().find(|e| e.0 == status) {
            return Self(c);
        }
        match status {
            400..=499 => Self::TEMPORARY_FAILURE,
            500..=599 => Self::TEMPORARY_FAILURE,
            600..=699 => Self::USER_BUSY,
            _ => Self::INTERWORKING,
        }
    }

    /// The SIP final response to send when the ISUP/Q.931 side releases
    /// the call with this cause before answer (RFC 3398 §7.2.4.1).
    ///
    /// Beyond the RFC's table: a value Q.850 does not define is first
    /// read as the unspecified cause of its class ([`Self::normalized`],
    /// so an unknown 35 answers like 47, 503); a defined cause the table
    /// does not list (16 normal clearing, which normally becomes a BYE or
    /// CANCEL, or e.g. 44) answers 500.
    pub fn to_sip_status(self) -> u16 {
        let c = self.normalized();
        TO_SIP
            .iter()
            .find(|e| e.0 == c.0)
            .map_or(500, |&(_, status)| status)
    }

    /// [`Self::to_sip_status`], taking the cause's location into account:
    /// RFC 3398 §7.2.4.1 note (+), on 21 call rejected, allows the 6xx
    /// instead of the 4xx when the location is the user: the user's own
    /// refusal holds for every other destination too, so 21 from the user
    /// answers 603 Decline rather than 403 Forbidden.
    pub fn to_sip_status_at(self, location: Option<CauseLocation>) -> u16 {
        match (self, location) {
            (Self::CALL_REJECTED, Some(CauseLocation::User)) => 603,
            _ => self.to_sip_status(),
        }
    }
}

impl TryFrom<u8> for Cause {
    type Error = InvalidCause;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value).ok_or(InvalidCause(value))
    }
}

impl From<Cause> for u8 {
    fn from(c: Cause) -> u8 {
        c.0
    }
}

impl fmt::Display for Cause {
    /// `17 (user busy)`; a value Q.850 does not define prints as
    /// `35 (unassigned, resource unavailable class)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} ({n})", self.0),
            None => {
                let class = match self.class() {
                    CauseClass::NormalEvent => "normal event",
                    CauseClass::ResourceUnavailable => "resource unavailable",
                    CauseClass::ServiceNotAvailable => "service or option not available",
                    CauseClass::ServiceNotImplemented => "service or option not implemented",
                    CauseClass::InvalidMessage => "invalid message",
                    CauseClass::ProtocolError => "protocol error",
                    CauseClass::Interworking => "interworking",
                };
                write!(f, "{} (unassigned, {class} class)", self.0)
            }
        }
    }
}

/// A value outside 1..=127 where a cause was expected: the peer's fault
/// when decoded from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCause(pub u8);

impl fmt::Display for InvalidCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q.850 cause value {} is outside 1..=127", self.0)
    }
}

impl std::error::Error for InvalidCause {}

/// Where the cause was generated (Q.850 §2.2.3, the location field,
/// 4 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CauseLocation {
    /// 0000 U: user.
    User,
    /// 0001 LPN: private network serving the local user.
    PrivateLocal,
    /// 0010 LN: public network serving the local user.
    PublicLocal,
    /// 0011 TN: transit network.
    Transit,
    /// 0100 RLN: public network serving the remote user.
    PublicRemote,
    /// 0101 RPN: private network serving the remote user.
    PrivateRemote,
    /// 0111 INTL: international network.
    International,
    /// 1010 BI: network beyond interworking point.
    BeyondInterworking,
}

impl CauseLocation {
    /// From the 4-bit field; reserved codes are `None`.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::User,
            1 => Self::PrivateLocal,
            2 => Self::PublicLocal,
            3 => Self::Transit,
            4 => Self::PublicRemote,
            5 => Self::PrivateRemote,
            7 => Self::International,
            10 => Self::BeyondInterworking,
            _ => return None,
        })
    }

    /// The 4-bit field.
    pub fn code(self) -> u8 {
        match self {
            Self::User => 0,
            Self::PrivateLocal => 1,
            Self::PublicLocal => 2,
            Self::Transit => 3,
            Self::PublicRemote => 4,
            Self::PrivateRemote => 5,
            Self::International => 7,
            Self::BeyondInterworking => 10,
        }
    }

    /// Q.850's abbreviation (`U`, `LPN`, `LN`, `TN`, `RLN`, `RPN`, `INTL`,
    /// `BI`).
    pub fn abbreviation(self) -> &'static str {
        match self {
            Self::User => "U",
            Self::PrivateLocal => "LPN",
            Self::PublicLocal => "LN",
            Self::Transit => "TN",
            Self::PublicRemote => "RLN",
            Self::PrivateRemote => "RPN",
            Self::International => "INTL",
            Self::BeyondInterworking => "BI",
        }
    }
}

impl fmt::Display for CauseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_only_valid_entries() {
        for &(v, _) in NAMES {
            assert!(Cause::new(v).is_some());
        }
        for &(v, s) in TO_SIP {
            assert!(Cause::new(v).is_some_and(Cause::is_defined), "{v}");
            assert!((400..700).contains(&s));
        }
        for &(s, v) in FROM_SIP {
            assert!((400..700).contains(&s));
            assert!(Cause::new(v).is_some_and(Cause::is_defined), "{s}");
        }
    }

    #[test]
    fn names_are_sorted_and_unique() {
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TO_SIP.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(FROM_SIP.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
