//! Reliable provisional responses and PRACK (RFC 3262).
//!
//! A trunk that sends 183 Session Progress with early media wants to know
//! the caller got it. RFC 3262 makes a 1xx reliable: the UAS marks it with
//! `Require: 100rel` and an `RSeq`, retransmits it until a PRACK carrying a
//! matching `RAck` arrives, and the UAC acknowledges each one in order.
//!
//! - UAS side, [`ProvisionalSender`] (§3): numbers RSeq from a random start
//!   and +1 per response; retransmits each reliable 1xx at T1, 2·T1, 4·T1…
//!   and gives up after 64·T1 ([`SenderOutput::Timeout`]: reject the INVITE
//!   with a 5xx); answers a PRACK with 200 when its RAck (RSeq, CSeq number,
//!   method) matches the unacknowledged response and 481 otherwise
//!   ([`PrackVerdict`]); holds back the next reliable 1xx until the previous
//!   one is PRACKed (queued, released as [`SenderOutput::Send`]).
//! - UAC side, [`ProvisionalReceiver`] (§4): tells, for each 1xx, whether it
//!   needs a PRACK and with which [`RAck`]; ignores retransmissions and
//!   out-of-order reliable responses, per early dialog (To tag), so forked
//!   responses each keep their own sequence.
//!
//! The PRACK itself is an in-dialog request: build it with
//! [`crate::dialog::Dialog::build_request`] (`Method::PRack`) and add
//! [`RAck::to_header`].
//!
//! # Time and I/O
//!
//! No clock, no socket. The first transmission of each reliable 1xx goes
//! through the INVITE server transaction; the sender's retransmissions go
//! straight to the transport (§3: the UAS core retransmits).
//!
//! ```
//! use std::time::Instant;
//! use tandem_sip::dialog::T1;
//! use tandem_sip::reliable::{PrackVerdict, ProvisionalSender, SenderOutput};
//!
//! # fn run(invite: rsip::Request, ringing: rsip::Response, prack: rsip::Request)
//! #     -> Result<(), tandem_sip::reliable::ReliableError> {
//! let start = Instant::now();
//! let random = 0x1234_5678; // from the gateway's random source
//! let mut sender = ProvisionalSender::new(&invite, random, T1)?;
//! if let Some(first) = sender.send(start, ringing)? {
//!     // pass `first` to the INVITE server transaction
//! }
//! let mut now = start;
//! while let Some(deadline) = sender.poll_timeout() {
//!     now = deadline;
//!     sender.handle_timeout(now);
//!     while let Some(output) = sender.poll_output() {
//!         match output {
//!             SenderOutput::Send(r) | SenderOutput::Retransmit(r) => { /* send r */ }
//!             SenderOutput::Timeout { .. } => { /* reject the INVITE with 5xx */ }
//!             _ => {}
//!         }
//!     }
//!     # break;
//! }
//! assert_eq!(sender.handle_prack(now, &prack)?, PrackVerdict::Acknowledged);
//! # Ok(())
//! # }
//! # let invite = rsip::Request::try_from("INVITE sip:b@example.com SIP/2.0\r\nCSeq: 7 INVITE\r\n\r\n").unwrap();
//! # let ringing = rsip::Response::try_from("SIP/2.0 180 Ringing\r\nCSeq: 7 INVITE\r\n\r\n").unwrap();
//! # let prack = rsip::Request::try_from(
//! #     "PRACK sip:b@example.com SIP/2.0\r\nCSeq: 8 PRACK\r\nRAck: 305419897 7 INVITE\r\n\r\n").unwrap();
//! # run(invite, ringing, prack).unwrap();
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use crate::dialog::hdr;
use crate::message::{self, HeaderError};

/// The option tag of RFC 3262.
pub const OPTION_TAG: &str = "100rel";

/// RSeq numbers live in 1 ..= 2^31 − 1 at the start and never wrap (§7.1).
const RSEQ_START_MAX: u32 = (1 << 31) - 1;

/// The RAck header (RFC 3262 §7.2): which reliable 1xx a PRACK acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RAck {
    /// RSeq of the provisional response.
    pub rseq: u32,
    /// CSeq number of the request it answered.
    pub cseq: u32,
    /// Method of that request (INVITE).
    pub method: Method,
}

impl RAck {
    /// Parses `response-num CSeq-num Method`.
    pub fn parse(value: &str) -> Result<Self, ReliableError> {
        const BAD: ReliableError = ReliableError::Malformed(HeaderError::Malformed("RAck"));
        let mut parts = value.split_ascii_whitespace();
        let (Some(rseq), Some(cseq), Some(method), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BAD);
        };
        Ok(Self {
            rseq: parse_number(rseq).ok_or(BAD)?,
            cseq: parse_number(cseq).ok_or(BAD)?,
            method: message::method_from_token(method).ok_or(BAD)?,
        })
    }

    /// The RAck of a PRACK request.
    pub fn of_prack(prack: &Request) -> Result<Self, ReliableError> {
        let value = message::extension_header(prack, "RAck")
            .ok_or(ReliableError::Malformed(HeaderError::Missing("RAck")))?;
        Self::parse(value)
    }

    /// The header to add to a PRACK.
    pub fn to_header(&self) -> Header {
        Header::Other("RAck".into(), self.to_string())
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

/// Digits only: `u32::from_str` would accept a leading `+`.
fn parse_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The RSeq of a response, if it has one.
pub fn rseq(response: &Response) -> Result<Option<u32>, ReliableError> {
    message::extension_header(response, "RSeq")
        .map(|v| {
            parse_number(v.trim()).ok_or(ReliableError::Malformed(HeaderError::Malformed("RSeq")))
        })
        .transpose()
}

/// Whether a response is a reliable provisional (§3): a 101–199 with
/// `Require: 100rel`.
pub fn is_reliable(response: &Response) -> bool {
    (101..200).contains(&response.status_code.code())
        && hdr::option_tags(response, false)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(OPTION_TAG))
}

/// What the UAS answers to a PRACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum PrackVerdict {
    /// It acknowledges the outstanding reliable 1xx: answer 200.
    Acknowledged,
    /// It matches no unacknowledged reliable 1xx: answer 481 (§3).
    NoMatch,
}

impl PrackVerdict {
    /// The status of the response to the PRACK.
    pub fn to_sip_status(self) -> u16 {
        match self {
            Self::Acknowledged => 200,
            Self::NoMatch => 481,
        }
    }
}

/// Outputs of a [`ProvisionalSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderOutput {
    /// A queued reliable 1xx may now go: its first transmission, through
    /// the INVITE server transaction.
    Send(Response),
    /// Send this reliable 1xx again, straight to the transport.
    Retransmit(Response),
    /// No PRACK for 64·T1: §3 says reject the INVITE with a 5xx.
    Timeout {
        /// RSeq of the unacknowledged response.
        rseq: u32,
    },
}

#[derive(Debug, Clone)]
struct Unacknowledged {
    response: Response,
    rseq: u32,
    interval: Duration,
    next_retransmit: Instant,
    give_up_at: Instant,
}

/// The UAS side of RFC 3262 for one INVITE server transaction.
#[derive(Debug, Clone)]
pub struct ProvisionalSender {
    t1: Duration,
    invite_cseq: u32,
    next_rseq: Option<u32>,
    unacknowledged: Option<Unacknowledged>,
    /// Reliable 1xx waiting for the previous one's PRACK (§3).
    queue: VecDeque<Response>,
    /// Whether an acknowledged or pending reliable 1xx carried a body (an
    /// offer or answer): see [`ProvisionalSender::may_send_2xx`].
    unacknowledged_body: bool,
    finished: bool,
    outputs: VecDeque<SenderOutput>,
}

/// At most this many reliable 1xx wait behind an unacknowledged one; a TU
/// that produces more is looping.
const MAX_QUEUED: usize = 16;

impl ProvisionalSender {
    /// For the INVITE `invite`. `random` seeds the first RSeq, which §3
    /// wants chosen at random in 1 ..= 2^31 − 1.
    pub fn new(invite: &Request, random: u32, t1: Duration) -> Result<Self, ReliableError> {
        if invite.method != Method::Invite {
            return Err(ReliableError::Misuse(Misuse::NotAnInvite));
        }
        let invite_cseq = hdr::cseq(invite)?.seq;
        Ok(Self {
            t1,
            invite_cseq,
            next_rseq: Some(random % RSEQ_START_MAX + 1),
            unacknowledged: None,
            queue: VecDeque::new(),
            unacknowledged_body: false,
            finished: false,
            outputs: VecDeque::new(),
        })
    }

    /// Makes `response` (a 101–199 to the INVITE) reliable: adds
    /// `Require: 100rel` and the next RSeq. Returns it to transmit now, or
    /// `None` when it waits for the previous one's PRACK and will come out
    /// of [`ProvisionalSender::poll_output`] as [`SenderOutput::Send`].
    pub fn send(
        &mut self,
        now: Instant,
        response: Response,
    ) -> Result<Option<Response>, ReliableError> {
        if self.finished {
            return Err(ReliableError::Misuse(Misuse::FinalResponseSent));
        }
        let code = response.status_code.code();
        if !(101..200).contains(&code) {
            return Err(ReliableError::Misuse(Misuse::NotReliableStatus(code)));
        }
        let cseq = hdr::cseq(&response)?;
        if cseq.method != Method::Invite || cseq.seq != self.invite_cseq {
            return Err(ReliableError::Misuse(Misuse::WrongRequest));
        }
        if self.unacknowledged.is_some() {
            if self.queue.len() >= MAX_QUEUED {
                return Err(ReliableError::Misuse(Misuse::QueueFull));
            }
            self.queue.push_back(response);
            return Ok(None);
        }
        self.start(now, response).map(Some)
    }

    fn start(&mut self, now: Instant, mut response: Response) -> Result<Response, ReliableError> {
        let rseq = self
            .next_rseq
            .ok_or(ReliableError::Misuse(Misuse::RSeqExhausted))?;
        self.next_rseq = rseq.checked_add(1);
        response
            .headers
            .retain(|h| !matches!(h, Header::Other(n, _) if n.eq_ignore_ascii_case("RSeq")));
        if !is_reliable(&response) {
            response
                .headers
                .push(Header::Require(rsip::headers::Require::new(OPTION_TAG)));
        }
        response
            .headers
            .push(Header::Other("RSeq".into(), rseq.to_string()));
        self.unacknowledged_body |= !response.body.is_empty();
        self.unacknowledged = Some(Unacknowledged {
            response: response.clone(),
            rseq,
            interval: self.t1,
            next_retransmit: now + self.t1,
            give_up_at: now + 64 * self.t1,
        });
        Ok(response)
    }

    /// A PRACK arrived in the dialog. A match stops the retransmissions and
    /// releases the next queued reliable 1xx.
    pub fn handle_prack(
        &mut self,
        now: Instant,
        prack: &Request,
    ) -> Result<PrackVerdict, ReliableError> {
        if prack.method != Method::PRack {
            return Err(ReliableError::Misuse(Misuse::NotAPrack));
        }
        let rack = RAck::of_prack(prack)?;
        let matches = self.unacknowledged.as_ref().is_some_and(|u| {
            rack.rseq == u.rseq && rack.cseq == self.invite_cseq && rack.method == Method::Invite
        });
        if !matches {
            return Ok(PrackVerdict::NoMatch);
        }
        let body = self
            .unacknowledged
            .take()
            .is_some_and(|u| !u.response.body.is_empty());
        // The offer/answer in the acknowledged 1xx is settled (§3).
        if body {
            self.unacknowledged_body = false;
        }
        if let Some(next) = self.queue.pop_front() {
            let next = self.start(now, next)?;
            self.outputs.push_back(SenderOutput::Send(next));
        }
        Ok(PrackVerdict::Acknowledged)
    }

    /// The final response went out: stop retransmitting and drop the queue.
    pub fn handle_final_response_sent(&mut self) {
        self.finished = true;
        self.unacknowledged = None;
        self.queue.clear();
    }

    /// §3: a 2xx must wait while an unacknowledged reliable 1xx carries a
    /// session description.
    pub fn may_send_2xx(&self) -> bool {
        let pending_sdp = self.unacknowledged_body && self.unacknowledged.is_some();
        let queued_sdp = self.queue.iter().any(|r| !r.body.is_empty());
        !pending_sdp && !queued_sdp
    }

    /// Whether a reliable 1xx waits for its PRACK.
    pub fn is_awaiting_prack(&self) -> bool {
        self.unacknowledged.is_some()
    }

    /// Fires whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(u) = self.unacknowledged.as_mut() {
            if u.next_retransmit > now {
                break;
            }
            if u.next_retransmit >= u.give_up_at {
                self.outputs
                    .push_back(SenderOutput::Timeout { rseq: u.rseq });
                self.handle_final_response_sent();
                break;
            }
            self.outputs
                .push_back(SenderOutput::Retransmit(u.response.clone()));
            // §3: the interval doubles with no T2 cap, unlike §17.
            u.interval *= 2;
            u.next_retransmit = (u.next_retransmit + u.interval).min(u.give_up_at);
        }
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<SenderOutput> {
        self.outputs.pop_front()
    }

    /// When to call [`ProvisionalSender::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.unacknowledged.as_ref().map(|u| u.next_retransmit)
    }
}

/// What the UAC does with a provisional response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ProvisionalVerdict {
    /// Not reliable: process it, no PRACK.
    Unreliable,
    /// Reliable and in order: process it and send a PRACK with this RAck.
    Prack(RAck),
    /// A retransmission or out of order: neither process nor PRACK (§4).
    Ignore,
}

/// The UAC side of RFC 3262 for one INVITE client transaction.
#[derive(Debug, Clone)]
pub struct ProvisionalReceiver {
    invite_cseq: u32,
    /// Last in-order RSeq per early dialog (To tag): forks number
    /// independently.
    last_rseq: HashMap<String, u32>,
}

/// Early dialogs remembered per INVITE; a peer that forks more is hostile.
const MAX_FORKS: usize = 64;

impl ProvisionalReceiver {
    /// For the INVITE we sent.
    pub fn new(invite: &Request) -> Result<Self, ReliableError> {
        if invite.method != Method::Invite {
            return Err(ReliableError::Misuse(Misuse::NotAnInvite));
        }
        Ok(Self {
            invite_cseq: hdr::cseq(invite)?.seq,
            last_rseq: HashMap::new(),
        })
    }

    /// Classifies a provisional response to our INVITE (§4).
    pub fn handle_provisional(
        &mut self,
        response: &Response,
    ) -> Result<ProvisionalVerdict, ReliableError> {
        let cseq = hdr::cseq(response)?;
        if cseq.method != Method::Invite || cseq.seq != self.invite_cseq {
            return Err(ReliableError::Misuse(Misuse::WrongRequest));
        }
        if !is_reliable(response) {
            return Ok(ProvisionalVerdict::Unreliable);
        }
        let rseq =
            rseq(response)?.ok_or(ReliableError::PeerMisbehaved(PeerMisbehaviour::MissingRSeq))?;
        let to_tag = hdr::to_tag(response)?.ok_or(ReliableError::PeerMisbehaved(
            PeerMisbehaviour::MissingToTag,
        ))?;
        let in_order = match self.last_rseq.get(&to_tag) {
            None => self.last_rseq.len() < MAX_FORKS,
            Some(&last) => last.checked_add(1) == Some(rseq),
        };
        if !in_order {
            return Ok(ProvisionalVerdict::Ignore);
        }
        self.last_rseq.insert(to_tag, rseq);
        Ok(ProvisionalVerdict::Prack(RAck {
            rseq,
            cseq: self.invite_cseq,
            method: Method::Invite,
        }))
    }
}

/// Errors of the RFC 3262 layer, by who is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReliableError {
    /// A header is missing or did not parse.
    Malformed(HeaderError),
    /// The peer broke RFC 3262.
    PeerMisbehaved(PeerMisbehaviour),
    /// The caller used this API wrongly.
    Misuse(Misuse),
}

/// Ways a peer breaks RFC 3262.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaviour {
    /// `Require: 100rel` without RSeq (§7.1).
    MissingRSeq,
    /// A reliable 1xx without a To tag cannot be PRACKed in a dialog.
    MissingToTag,
}

/// Ways a caller misuses this module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// Reliability applies to INVITE transactions.
    NotAnInvite,
    /// Only 101–199 can be sent reliably (§3: never 100).
    NotReliableStatus(u16),
    /// The response answers another request.
    WrongRequest,
    /// `handle_prack` takes a PRACK.
    NotAPrack,
    /// No reliable 1xx after the final response.
    FinalResponseSent,
    /// RSeq would wrap (§7.1 forbids it).
    RSeqExhausted,
    /// Too many reliable 1xx wait for a PRACK.
    QueueFull,
}

impl From<HeaderError> for ReliableError {
    fn from(e: HeaderError) -> Self {
        Self::Malformed(e)
    }
}

impl ReliableError {
    /// The response a UAS sends when a received PRACK caused this error.
    pub fn to_sip_status(&self) -> Option<u16> {
        match self {
            Self::Malformed(_) | Self::PeerMisbehaved(_) => Some(400),
            Self::Misuse(_) => None,
        }
    }
}

impl fmt::Display for ReliableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => e.fmt(f),
            Self::PeerMisbehaved(PeerMisbehaviour::MissingRSeq) => {
                write!(
                    f,
                    "reliable provisional response without RSeq (RFC 3262 §7.1)"
                )
            }
            Self::PeerMisbehaved(PeerMisbehaviour::MissingToTag) => {
                write!(f, "reliable provisional response without a To tag")
            }
            Self::Misuse(m) => match m {
                Misuse::NotAnInvite => write!(f, "reliable provisionals belong to an INVITE"),
                Misuse::NotReliableStatus(code) => write!(f, "a {code} cannot be sent reliably"),
                Misuse::WrongRequest => write!(f, "the response answers another request"),
                Misuse::NotAPrack => write!(f, "expected a PRACK"),
                Misuse::FinalResponseSent => write!(f, "the final response was already sent"),
                Misuse::RSeqExhausted => write!(f, "RSeq would wrap"),
                Misuse::QueueFull => write!(f, "too many reliable provisionals await a PRACK"),
            },
        }
    }
}

impl std::error::Error for ReliableError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::T1;

    /// The fake clock's origin: only offsets from it matter.
    #[allow(clippy::disallowed_methods)]
    fn epoch() -> Instant {
        Instant::now()
    }

    fn invite() -> Request {
        Request::try_from("INVITE sip:b@example.com SIP/2.0\r\nCSeq: 7 INVITE\r\n\r\n").unwrap()
    }
    fn provisional(code: u16, extra: &str) -> Response {
        Response::try_from(format!(
            "SIP/2.0 {code} Progress\r\nTo: <sip:b@example.com>;tag=t1\r\nCSeq: 7 INVITE\r\n{extra}\r\n"
        ))
        .unwrap()
    }

    #[test]
    fn rack_round_trips_and_rejects_garbage() {
        let r = RAck::parse("776656 1 INVITE").unwrap();
        assert_eq!(r.to_string(), "776656 1 INVITE");
        for bad in [
            "",
            "1 2",
            "1 2 INVITE x",
            "+1 2 INVITE",
            "1 -2 INVITE",
            "99999999999 1 INVITE",
            "1 1 FOO",
        ] {
            assert!(RAck::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rseq_starts_in_range_and_counts_up() {
        let now = epoch();
        for random in [0, 1, RSEQ_START_MAX - 1, RSEQ_START_MAX, u32::MAX] {
            let mut s = ProvisionalSender::new(&invite(), random, T1).unwrap();
            let r = s.send(now, provisional(183, "")).unwrap().unwrap();
            let first = rseq(&r).unwrap().unwrap();
            assert!((1..=RSEQ_START_MAX).contains(&first));
            assert!(is_reliable(&r));
            let prack = Request::try_from(format!(
                "PRACK sip:b@example.com SIP/2.0\r\nCSeq: 8 PRACK\r\nRAck: {first} 7 INVITE\r\n\r\n"
            ))
            .unwrap();
            assert_eq!(
                s.handle_prack(now, &prack).unwrap(),
                PrackVerdict::Acknowledged
            );
            let r = s.send(now, provisional(180, "")).unwrap().unwrap();
            assert_eq!(rseq(&r).unwrap(), Some(first + 1));
        }
    }

    #[test]
    fn second_reliable_waits_for_prack() {
        let now = epoch();
        let mut s = ProvisionalSender::new(&invite(), 99, T1).unwrap();
        let first = s.send(now, provisional(183, "")).unwrap().unwrap();
        assert!(s.send(now, provisional(180, "")).unwrap().is_none());
        let rseq1 = rseq(&first).unwrap().unwrap();
        let prack = Request::try_from(format!(
            "PRACK sip:b SIP/2.0\r\nCSeq: 8 PRACK\r\nRAck: {rseq1} 7 INVITE\r\n\r\n"
        ))
        .unwrap();
        assert_eq!(
            s.handle_prack(now, &prack).unwrap(),
            PrackVerdict::Acknowledged
        );
        match s.poll_output() {
            Some(SenderOutput::Send(r)) => {
                assert_eq!(r.status_code.code(), 180);
                assert_eq!(rseq(&r).unwrap(), Some(rseq1 + 1));
            }
            other => panic!("{other:?}"),
        }
        // The same PRACK again no longer matches anything.
        assert_eq!(s.handle_prack(now, &prack).unwrap(), PrackVerdict::NoMatch);
    }

    #[test]
    fn uac_prack_once_per_rseq_per_fork() {
        let mut r = ProvisionalReceiver::new(&invite()).unwrap();
        let rel = |n: u32| provisional(183, &format!("Require: 100rel\r\nRSeq: {n}\r\n"));
        assert_eq!(
            r.handle_provisional(&provisional(180, "")).unwrap(),
            ProvisionalVerdict::Unreliable
        );
        assert!(matches!(
            r.handle_provisional(&rel(10)).unwrap(),
            ProvisionalVerdict::Prack(RAck {
                rseq: 10,
                cseq: 7,
                ..
            })
        ));
        assert_eq!(
            r.handle_provisional(&rel(10)).unwrap(),
            ProvisionalVerdict::Ignore
        );
        assert_eq!(
            r.handle_provisional(&rel(12)).unwrap(),
            ProvisionalVerdict::Ignore
        );
        assert!(matches!(
            r.handle_provisional(&rel(11)).unwrap(),
            ProvisionalVerdict::Prack(_)
        ));
        let other_fork = Response::try_from(
            "SIP/2.0 183 P\r\nTo: <sip:b@example.com>;tag=t2\r\nCSeq: 7 INVITE\r\nRequire: 100rel\r\nRSeq: 500\r\n\r\n",
        )
        .unwrap();
        assert!(matches!(
            r.handle_provisional(&other_fork).unwrap(),
            ProvisionalVerdict::Prack(RAck { rseq: 500, .. })
        ));
        assert_eq!(
            r.handle_provisional(&provisional(183, "Require: 100rel\r\n")),
            Err(ReliableError::PeerMisbehaved(PeerMisbehaviour::MissingRSeq))
        );
        assert!(
            r.handle_provisional(&provisional(183, "Require: 100rel\r\nRSeq: x1\r\n"))
                .is_err()
        );
    }
}
