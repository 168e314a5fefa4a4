//! Session timers (RFC 4028).
//!
//! A trunk call whose BYE was lost would otherwise hold a channel for ever.
//! RFC 4028 has one side (the *refresher*) re-INVITE or UPDATE the session
//! every half interval; the other side sends BYE when no refresh came.
//!
//! - Headers: [`SessionExpires`] (`Session-Expires: 1800;refresher=uac`,
//!   compact `x`, §4) and [`MinSe`] (`Min-SE: 90`, §5), with parse and build.
//! - UAC (§7): [`UacNegotiation`] puts `Supported: timer`, Session-Expires
//!   and Min-SE in the INVITE, raises both after a 422 carrying a larger
//!   Min-SE (§7.1, §6), and reads the 2xx (§7.2): the interval and refresher
//!   it names, refresher `uac` when a proxy inserted Session-Expires without
//!   one, and no timer when the 2xx has no Session-Expires.
//! - UAS (§9): [`uas_negotiate`] answers 422 with our Min-SE when the
//!   requested interval is below it and the UAC supports timers, otherwise
//!   chooses the interval (never above the request's, never below its
//!   Min-SE) and the refresher (the request's, else our preference when the
//!   UAC supports timers, else `uas`), and says when the 2xx needs
//!   `Require: timer` (refresher `uac`).
//! - [`SessionTimer`]: the refresh clock of §10. The refresher gets
//!   [`TimerOutput::Refresh`] at half the interval; either side gets
//!   [`TimerOutput::Expired`] (send BYE) at `interval − min(32 s,
//!   interval/3)` after the last refresh. Every successful refresh re-arms
//!   it ([`SessionTimer::handle_refreshed`]).
//!
//! # Time and I/O
//!
//! No clock, no socket: the clock is driven as every Tandem state machine.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_sip::dialog::Role;
//! use tandem_sip::session_timer::{Negotiated, Refresher, SessionTimer, TimerOutput};
//!
//! let start = Instant::now();
//! let negotiated = Negotiated { interval: 1800, refresher: Refresher::Uac };
//! // We sent the INVITE and refresh.
//! let mut timer = SessionTimer::new(start, negotiated, Role::Uac);
//! let deadline = timer.poll_timeout().unwrap();
//! assert_eq!(deadline - start, Duration::from_secs(900));
//! timer.handle_timeout(deadline);
//! assert_eq!(timer.poll_output(), Some(TimerOutput::Refresh));
//! // ... the re-INVITE got its 2xx, which renegotiated the same values:
//! timer.handle_refreshed(deadline, negotiated, Role::Uac);
//! assert_eq!(timer.poll_timeout(), Some(deadline + Duration::from_secs(900)));
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use crate::dialog::{Role, hdr};
use crate::message::{self, HeaderError};

/// The option tag of RFC 4028 (§3).
pub const OPTION_TAG: &str = "timer";
/// The lowest Min-SE anyone may use (§4, §5).
pub const MIN_SE_FLOOR: u32 = 90;
/// The interval §4 recommends.
pub const RECOMMENDED_INTERVAL: u32 = 1800;

/// Who refreshes, relative to the transaction that negotiated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refresher {
    /// The client of the negotiating request.
    Uac,
    /// Its server.
    Uas,
}

impl Refresher {
    fn as_str(self) -> &'static str {
        match self {
            Self::Uac => "uac",
            Self::Uas => "uas",
        }
    }
}

/// The Session-Expires header (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    /// The interval, in seconds.
    pub interval: u32,
    /// The `refresher` parameter, if present.
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses `delta-seconds *(";" se-params)`; unknown parameters are
    /// ignored, a refresher other than uac/uas is malformed.
    pub fn parse(value: &str) -> Result<Self, TimerError> {
        const BAD: TimerError = TimerError::Malformed(HeaderError::Malformed("Session-Expires"));
        let mut parts = value.split(';');
        let interval = parse_seconds(parts.next().unwrap_or_default()).ok_or(BAD)?;
        let mut refresher = None;
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.trim().eq_ignore_ascii_case("refresher") {
                refresher = Some(match value.trim() {
                    v if v.eq_ignore_ascii_case("uac") => Refresher::Uac,
                    v if v.eq_ignore_ascii_case("uas") => Refresher::Uas,
                    _ => return Err(BAD),
                });
            }
        }
        Ok(Self {
            interval,
            refresher,
        })
    }

    /// The Session-Expires of a message, if any.
    pub fn of_message(m: &impl rsip::message::HasHeaders) -> Result<Option<Self>, TimerError> {
        extension(m, "Session-Expires", "x")
            .map(Self::parse)
            .transpose()
    }

    /// The header.
    pub fn to_header(&self) -> Header {
        Header::Other("Session-Expires".into(), self.to_string())
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.interval)?;
        if let Some(r) = self.refresher {
            write!(f, ";refresher={}", r.as_str())?;
        }
        Ok(())
    }
}

/// The Min-SE header (§5): the smallest interval a hop accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinSe(pub u32);

impl MinSe {
    /// Parses `delta-seconds *(";" generic-param)`.
    pub fn parse(value: &str) -> Result<Self, TimerError> {
        parse_seconds(value.split(';').next().unwrap_or_default())
            .map(Self)
            .ok_or(TimerError::Malformed(HeaderError::Malformed("Min-SE")))
    }

    /// The Min-SE of a message, if any.
    pub fn of_message(m: &impl rsip::message::HasHeaders) -> Result<Option<Self>, TimerError> {
        extension(m, "Min-SE", "Min-SE")
            .map(Self::parse)
            .transpose()
    }

    /// The header.
    pub fn to_header(self) -> Header {
        Header::Other("Min-SE".into(), self.0.to_string())
    }
}

fn extension<'a>(
    m: &'a impl rsip::message::HasHeaders,
    name: &str,
    compact: &str,
) -> Option<&'a str> {
    // message::parse expands compact names; a message built elsewhere may
    // still carry one.
    message::extension_header(m, name).or_else(|| message::extension_header(m, compact))
}

fn parse_seconds(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The outcome of a negotiation: the interval and who refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Seconds.
    pub interval: u32,
    /// Who refreshes, relative to the negotiating transaction.
    pub refresher: Refresher,
}

impl Negotiated {
    /// Whether we refresh, given our side of the negotiating transaction
    /// (which, for a refresh sent by the callee, is the reverse of the
    /// initial INVITE's).
    pub fn local_is_refresher(&self, local: Role) -> bool {
        matches!(
            (self.refresher, local),
            (Refresher::Uac, Role::Uac) | (Refresher::Uas, Role::Uas)
        )
    }
}

/// Local session-timer policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// The interval we ask for (UAC) or accept at most (UAS), seconds.
    pub session_expires: u32,
    /// The smallest interval we accept, seconds (≥ 90).
    pub min_se: u32,
    /// Who refreshes when we are the UAS, the UAC supports timers and did
    /// not choose (§9 leaves it to us).
    pub preferred_refresher: Refresher,
}

impl TimerConfig {
    /// A policy; `min_se` must be at least 90 and at most `session_expires`.
    pub fn new(session_expires: u32, min_se: u32) -> Result<Self, TimerError> {
        if min_se < MIN_SE_FLOOR || session_expires < min_se {
            return Err(TimerError::Misuse(Misuse::BadConfig));
        }
        Ok(Self {
            session_expires,
            min_se,
            preferred_refresher: Refresher::Uac,
        })
    }
}

impl Default for TimerConfig {
    /// 1800 s, Min-SE 90 s, the UAC refreshes when it can.
    fn default() -> Self {
        Self {
            session_expires: RECOMMENDED_INTERVAL,
            min_se: MIN_SE_FLOOR,
            preferred_refresher: Refresher::Uac,
        }
    }
}

fn supports_timer(m: &impl rsip::message::HasHeaders) -> bool {
    hdr::option_tags(m, true)
        .into_iter()
        .chain(hdr::option_tags(m, false))
        .any(|t| t.eq_ignore_ascii_case(OPTION_TAG))
}

/// The UAC's side of the negotiation for one INVITE (or refresh) (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UacNegotiation {
    session_expires: u32,
    min_se: u32,
    refresher: Option<Refresher>,
    retried: u8,
}

/// A UAS that keeps raising Min-SE could keep us retrying; §7.1 expects one
/// 422 per hop that has a larger minimum.
const MAX_422_RETRIES: u8 = 3;

impl UacNegotiation {
    /// Starts from our policy. `refresher` is left out of the request when
    /// `None`, which lets the UAS choose (§7.1 recommends that).
    pub fn new(config: &TimerConfig, refresher: Option<Refresher>) -> Self {
        Self {
            session_expires: config.session_expires,
            min_se: config.min_se,
            refresher,
            retried: 0,
        }
    }

    /// A re-INVITE or UPDATE we send in a session that has a timer (§7.4):
    /// the same interval, and the same side refreshing. `local` is our side
    /// of the transaction that negotiated `current`; in the new request we
    /// are the UAC, so the refresher is `uac` if we were it, else `uas`.
    pub fn for_refresh(config: &TimerConfig, current: Negotiated, local: Role) -> Self {
        let refresher = Some(if current.local_is_refresher(local) {
            Refresher::Uac
        } else {
            Refresher::Uas
        });
        Self {
            session_expires: current.interval.max(config.min_se),
            min_se: config.min_se,
            refresher,
            retried: 0,
        }
    }

    /// Headers for the request: `Supported: timer`, Session-Expires, Min-SE.
    pub fn request_headers(&self) -> Vec<Header> {
        vec![
            Header::Supported(rsip::headers::Supported::new(OPTION_TAG)),
            SessionExpires {
                interval: self.session_expires,
                refresher: self.refresher,
            }
            .to_header(),
            MinSe(self.min_se).to_header(),
        ]
    }

    /// The interval currently asked for.
    pub fn session_expires(&self) -> u32 {
        self.session_expires
    }

    /// A 422 arrived (§7.1): take its Min-SE as ours and ask for at least
    /// that. Then resend the request (new CSeq) with
    /// [`UacNegotiation::request_headers`].
    pub fn handle_422(&mut self, response: &Response) -> Result<(), TimerError> {
        if response.status_code.code() != 422 {
            return Err(TimerError::Misuse(Misuse::Not422));
        }
        let MinSe(min_se) = MinSe::of_message(response)?
            .ok_or(TimerError::PeerMisbehaved(PeerMisbehaviour::NoMinSeIn422))?;
        // A 422 must raise the bar above what we asked, or retrying would
        // loop (§6: the Min-SE is larger than the Session-Expires).
        if min_se <= self.session_expires || self.retried >= MAX_422_RETRIES {
            return Err(TimerError::PeerMisbehaved(
                PeerMisbehaviour::Min422NotHigher {
                    asked: self.session_expires,
                    min_se,
                },
            ));
        }
        self.retried += 1;
        self.min_se = self.min_se.max(min_se);
        self.session_expires = min_se;
        Ok(())
    }

    /// The 2xx arrived (§7.2). `None`: no session timer.
    pub fn handle_2xx(&self, response: &Response) -> Result<Option<Negotiated>, TimerError> {
        if !(200..300).contains(&response.status_code.code()) {
            return Err(TimerError::Misuse(Misuse::Not2xx));
        }
        let Some(se) = SessionExpires::of_message(response)? else {
            return Ok(None);
        };
        if se.interval < MIN_SE_FLOOR {
            return Err(TimerError::PeerMisbehaved(
                PeerMisbehaviour::IntervalTooSmall(se.interval),
            ));
        }
        // No refresher: a proxy inserted Session-Expires for a UAS that
        // does not support timers, so only we can refresh (§7.2, §8.2).
        Ok(Some(Negotiated {
            interval: se.interval,
            refresher: se.refresher.unwrap_or(Refresher::Uac),
        }))
    }
}

/// The UAS's decision on a request (§9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum UasDecision {
    /// Answer 422 with this Min-SE ([`reject_422`]).
    Reject {
        /// Our minimum.
        min_se: MinSe,
    },
    /// Go on; add [`UasAnswer::headers`] to the 2xx.
    Accept(UasAnswer),
}

/// What the UAS's 2xx says about the session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UasAnswer {
    /// Session-Expires for the 2xx, with the refresher always set.
    pub session_expires: SessionExpires,
    /// `Require: timer` is needed (refresher `uac`, §9).
    pub require_timer: bool,
    /// The result, for [`SessionTimer`] (our side: [`Role::Uas`]).
    pub negotiated: Negotiated,
}

impl UasAnswer {
    /// Session-Expires, and `Require: timer` when needed.
    pub fn headers(&self) -> Vec<Header> {
        let mut headers = vec![self.session_expires.to_header()];
        if self.require_timer {
            headers.push(Header::Require(rsip::headers::Require::new(OPTION_TAG)));
        }
        headers
    }
}

/// Decides on a session-refresh request (INVITE or UPDATE) we received.
pub fn uas_negotiate(config: &TimerConfig, request: &Request) -> Result<UasDecision, TimerError> {
    if !matches!(request.method, Method::Invite | Method::Update) {
        return Err(TimerError::Misuse(Misuse::NotARefreshRequest));
    }
    let uac_supports = supports_timer(request);
    let their_min = MinSe::of_message(request)?.map_or(MIN_SE_FLOOR, |m| m.0.max(MIN_SE_FLOOR));
    let requested = SessionExpires::of_message(request)?;
    let interval = match requested {
        Some(se) if se.interval < config.min_se.max(MIN_SE_FLOOR) => {
            if uac_supports {
                return Ok(UasDecision::Reject {
                    min_se: MinSe(config.min_se.max(MIN_SE_FLOOR)),
                });
            }
            // A proxy put Session-Expires in for a UAC that would not
            // understand 422; we will be the refresher, so raising the
            // interval to our minimum costs the UAC nothing.
            config.min_se.max(their_min)
        }
        // §9: we may lower the interval, never below the request's Min-SE.
        Some(se) => se.interval.min(config.session_expires).max(their_min),
        // §9: a UAS may use timers even when the request asked for none.
        None => config.session_expires.max(their_min),
    };
    let refresher = match (requested.and_then(|se| se.refresher), uac_supports) {
        (Some(Refresher::Uac), true) => Refresher::Uac,
        (Some(Refresher::Uas), _) => Refresher::Uas,
        (None, true) => config.preferred_refresher,
        // A UAC without timer support cannot refresh.
        (_, false) => Refresher::Uas,
    };
    Ok(UasDecision::Accept(UasAnswer {
        session_expires: SessionExpires {
            interval,
            refresher: Some(refresher),
        },
        require_timer: refresher == Refresher::Uac,
        negotiated: Negotiated {
            interval,
            refresher,
        },
    }))
}

/// The 422 answering `request`, with our Min-SE (§6).
pub fn reject_422(request: &Request, min_se: MinSe, to_tag: Option<&str>) -> Response {
    let mut response = message::response_to(request, 422, None, to_tag);
    let mut headers: Vec<Header> = std::mem::take(&mut response.headers).into();
    let at = headers.len().saturating_sub(1);
    headers.insert(at, min_se.to_header());
    response.headers = headers.into();
    response
}

/// Outputs of a [`SessionTimer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimerOutput {
    /// Time to refresh: send a re-INVITE or UPDATE (we are the refresher).
    Refresh,
    /// The session expired without a refresh: send BYE (§10).
    Expired,
}

/// The refresh clock of §10.
#[derive(Debug, Clone)]
pub struct SessionTimer {
    negotiated: Negotiated,
    refresher: bool,
    refresh_at: Option<Instant>,
    expire_at: Option<Instant>,
    outputs: VecDeque<TimerOutput>,
}

impl SessionTimer {
    /// Arms the clock at `now` (the 2xx that negotiated it). `local` is our
    /// side of the negotiating transaction.
    pub fn new(now: Instant, negotiated: Negotiated, local: Role) -> Self {
        let mut timer = Self {
            negotiated,
            refresher: false,
            refresh_at: None,
            expire_at: None,
            outputs: VecDeque::new(),
        };
        timer.arm(now, negotiated, local);
        timer
    }

    fn arm(&mut self, now: Instant, negotiated: Negotiated, local: Role) {
        let interval = Duration::from_secs(u64::from(negotiated.interval));
        self.negotiated = negotiated;
        self.refresher = negotiated.local_is_refresher(local);
        self.refresh_at = self.refresher.then(|| now + interval / 2);
        // §10: the non-refresher sends BYE "at the time ... interval minus
        // the minimum of 32 seconds and one third of the interval". The
        // refresher uses the same limit for a refresh that never succeeds.
        let margin = Duration::from_secs(32).min(interval / 3);
        self.expire_at = Some(now + interval - margin);
    }

    /// A refresh succeeded at `now` (a 2xx to re-INVITE/UPDATE, sent or
    /// received), possibly renegotiating interval and refresher.
    pub fn handle_refreshed(&mut self, now: Instant, negotiated: Negotiated, local: Role) {
        self.outputs.clear();
        self.arm(now, negotiated, local);
    }

    /// Fires whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.refresh_at.is_some_and(|at| at <= now) {
            self.refresh_at = None;
            self.outputs.push_back(TimerOutput::Refresh);
        }
        if self.expire_at.is_some_and(|at| at <= now) {
            self.refresh_at = None;
            self.expire_at = None;
            self.outputs.push_back(TimerOutput::Expired);
        }
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<TimerOutput> {
        self.outputs.pop_front()
    }

    /// The next deadline; `None` once expired.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.refresh_at, self.expire_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether we refresh.
    pub fn is_refresher(&self) -> bool {
        self.refresher
    }

    /// What is in force.
    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }
}

/// Errors of the session-timer layer, by who is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimerError {
    /// Session-Expires or Min-SE does not parse.
    Malformed(HeaderError),
    /// The peer broke RFC 4028.
    PeerMisbehaved(PeerMisbehaviour),
    /// The caller used this API wrongly.
    Misuse(Misuse),
}

/// Ways a peer breaks RFC 4028.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaviour {
    /// A 422 without Min-SE (§6 requires it).
    NoMinSeIn422,
    /// A 422 whose Min-SE does not exceed what we asked (retrying would
    /// loop), or too many 422s in a row.
    Min422NotHigher {
        /// What we asked for.
        asked: u32,
        /// The Min-SE it carried.
        min_se: u32,
    },
    /// A 2xx with an interval below 90 s (§4).
    IntervalTooSmall(u32),
}

/// Ways a caller misuses this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// Min-SE below 90 or above Session-Expires.
    BadConfig,
    /// `handle_422` takes a 422.
    Not422,
    /// `handle_2xx` takes a 2xx.
    Not2xx,
    /// Only INVITE and UPDATE negotiate session timers.
    NotARefreshRequest,
}

impl TimerError {
    /// The status a UAS answers a request with when this error came from
    /// it; `None` for errors that are not the request's.
    pub fn to_sip_status(&self) -> Option<u16> {
        match self {
            Self::Malformed(e) => Some(e.to_sip_status()),
            Self::PeerMisbehaved(_) | Self::Misuse(_) => None,
        }
    }
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => e.fmt(f),
            Self::PeerMisbehaved(PeerMisbehaviour::NoMinSeIn422) => {
                f.write_str("422 without Min-SE (RFC 4028 §6)")
            }
            Self::PeerMisbehaved(PeerMisbehaviour::Min422NotHigher { asked, min_se }) => write!(
                f,
                "422 with Min-SE {min_se} after we asked for {asked}: retrying would not help"
            ),
            Self::PeerMisbehaved(PeerMisbehaviour::IntervalTooSmall(s)) => {
                write!(f, "session interval {s} s is below 90 s (RFC 4028 §4)")
            }
            Self::Misuse(Misuse::BadConfig) => {
                f.write_str("Min-SE must be at least 90 s and at most Session-Expires")
            }
            Self::Misuse(Misuse::Not422) => f.write_str("expected a 422 response"),
            Self::Misuse(Misuse::Not2xx) => f.write_str("expected a 2xx response"),
            Self::Misuse(Misuse::NotARefreshRequest) => {
                f.write_str("only INVITE and UPDATE negotiate session timers")
            }
        }
    }
}

impl std::error::Error for TimerError {}

impl From<HeaderError> for TimerError {
    fn from(e: HeaderError) -> Self {
        Self::Malformed(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expires_round_trips() {
        let se = SessionExpires::parse("1800 ; Refresher=UAC;foo=bar").unwrap();
        assert_eq!(se.interval, 1800);
        assert_eq!(se.refresher, Some(Refresher::Uac));
        assert_eq!(se.to_string(), "1800;refresher=uac");
        assert_eq!(SessionExpires::parse("90").unwrap().refresher, None);
        for bad in [
            "",
            "abc",
            "-1",
            "+90",
            "99999999999",
            "90;refresher=both",
            "1.5",
        ] {
            assert!(SessionExpires::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(MinSe::parse("120;x=y").unwrap(), MinSe(120));
        assert!(MinSe::parse(" ").is_err());
    }

    #[test]
    fn expiry_margin_is_a_third_for_short_intervals() {
        let now = Instant::now_for_tests();
        let t = SessionTimer::new(
            now,
            Negotiated {
                interval: 90,
                refresher: Refresher::Uas,
            },
            Role::Uac,
        );
        // 90 − min(32, 30) = 60 s; we are not the refresher.
        assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(60)));
        assert!(!t.is_refresher());
    }

    trait NowForTests {
        fn now_for_tests() -> Instant;
    }
    impl NowForTests for Instant {
        /// The fake clock's origin: only offsets from it matter.
        #[allow(clippy::disallowed_methods)]
        fn now_for_tests() -> Instant {
            Instant::now()
        }
    }
}
