//! Dialogs (RFC 3261 §12), in-dialog requests (§12.2, §14, §15) and the
//! reliability of the 2xx to INVITE and its ACK (§13.3.1.4, §13.2.2.4).
//!
//! A [`Dialog`] is the state two user agents share between an INVITE and the
//! BYE: its [`DialogId`] (Call-ID, local tag, remote tag), the local and
//! remote CSeq numbers, the local and remote URIs, the remote target (the
//! peer's Contact) and the route set learnt from Record-Route.
//!
//! - [`Dialog::uac`] builds a dialog from the INVITE we sent and a 1xx with a
//!   To tag or a 2xx (§12.1.2: the route set is the response's Record-Route,
//!   reversed). [`Dialog::uas`] builds one from a received INVITE and the tag
//!   we put in our To (§12.1.1: the route set is Record-Route in order).
//! - [`Dialog::build_request`] builds BYE, re-INVITE, UPDATE, INFO, PRACK,
//!   OPTIONS (and any other in-dialog method) per §12.2.1.1, with loose
//!   (`;lr`, §16.12) or strict routing. [`Dialog::build_ack`] builds the ACK
//!   for a 2xx, which reuses the INVITE's CSeq number (§13.2.2.4). Both return
//!   an [`OutgoingRequest`]: the request and the URI of the next hop, which
//!   the gateway resolves (RFC 3263) and hands to the transaction layer.
//! - [`Dialog::handle_request`] applies §12.2.2 to a request received in the
//!   dialog: a CSeq lower than the last one is refused with 500, a re-INVITE
//!   or UPDATE refreshes the remote target, and a re-INVITE that crosses ours
//!   gets 491 (§14.2). [`Dialog::glare_retry_delay`] gives the §14.1 back-off.
//! - [`InviteResponder`] retransmits our 2xx to an INVITE from T1 doubling up
//!   to T2 until the ACK arrives, and tells the TU to send BYE after 64·T1
//!   (§13.3.1.4). [`AckRetransmitter`] answers each retransmitted 2xx with
//!   the same ACK (§13.2.2.4).
//!
//! Matching: [`DialogId::of_incoming_request`] and
//! [`DialogId::of_incoming_response`] compute the key under which the
//! gateway files its dialogs (a `HashMap<DialogId, Dialog>`); the local tag
//! is the To tag of a request we receive and the From tag of a response.
//!
//! # Time and I/O
//!
//! Nothing here reads a clock or touches a socket. [`Dialog`] has no timers.
//! [`InviteResponder`] and [`AckRetransmitter`] take `now: Instant` and are
//! driven the usual way: `handle_*` with input, `handle_timeout(now)` when
//! `poll_timeout()` is reached, then `poll_output()` until it is empty.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_sip::dialog::{InviteResponder, InviteResponderOutput, T1, T2};
//!
//! # fn ok(invite_2xx: rsip::Response) -> Result<(), tandem_sip::dialog::DialogError> {
//! let start = Instant::now();
//! // The first 2xx goes out through the INVITE server transaction; the
//! // responder only retransmits it.
//! let mut responder = InviteResponder::new(start, invite_2xx, T1, T2)?;
//! let mut now = start;
//! while let Some(deadline) = responder.poll_timeout() {
//!     now = deadline; // a real gateway sleeps until then or until input
//!     responder.handle_timeout(now);
//!     while let Some(output) = responder.poll_output() {
//!         match output {
//!             InviteResponderOutput::Retransmit(response) => { /* send it */ }
//!             InviteResponderOutput::AckTimedOut => { /* §13.3.1.4: send BYE */ }
//!             _ => {}
//!         }
//!     }
//! }
//! assert_eq!(now - start, 64 * T1);
//! # Ok(())
//! # }
//! # let r = rsip::Response::try_from(
//! #     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
//! #      From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n\
//! #      Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").unwrap();
//! # ok(r).unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::param::Tag;
use rsip::{Header, Method, Param, Request, Response, Uri, UriWithParams, typed};

use crate::message::{self, HeaderError};

/// RFC 3261 §17.1.1.1: the round-trip estimate, 500 ms by default.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 §17.1.2.2: the longest retransmit interval, 4 s by default.
pub const T2: Duration = Duration::from_secs(4);

/// The key of a dialog (RFC 3261 §12): Call-ID, local tag and remote tag.
///
/// The remote tag is empty when the peer is an RFC 2543 UA that sent no tag
/// (§12.1.1). Comparison is exact, as §19.3 and §20.8 treat both as opaque.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The Call-ID header value.
    pub call_id: String,
    /// Our tag: From tag of requests we send, To tag of those we receive.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog a received request belongs to: local tag from To, remote
    /// tag from From (§12.2.2). A request without a To tag is outside any
    /// dialog: `Ok(None)`.
    pub fn of_incoming_request(request: &Request) -> Result<Option<Self>, DialogError> {
        let Some(local_tag) = hdr::to_tag(request)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            call_id: hdr::call_id(request)?,
            local_tag,
            remote_tag: hdr::from_tag(request)?.unwrap_or_default(),
        }))
    }

    /// The dialog a received response belongs to: local tag from From,
    /// remote tag from To (§12.1.2). A response without a To tag (a 100, or
    /// a peer that breaks §8.2.6.2) belongs to no dialog: `Ok(None)`.
    pub fn of_incoming_response(response: &Response) -> Result<Option<Self>, DialogError> {
        let Some(remote_tag) = hdr::to_tag(response)? else {
            return Ok(None);
        };
        // We always tag our From (§8.1.1.3); a response without it is not
        // to a request of ours.
        let local_tag = hdr::from_tag(response)?.ok_or(HeaderError::Malformed("From"))?;
        Ok(Some(Self {
            call_id: hdr::call_id(response)?,
            local_tag,
            remote_tag,
        }))
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};local-tag={};remote-tag={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

/// The states of a dialog, named as RFC 3261 §12 names them. A terminated
/// dialog is simply dropped by its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response; ends with a final response.
    Early,
    /// Established by a 2xx.
    Confirmed,
}

/// Which side of the initial INVITE we were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the INVITE (and generated the Call-ID).
    Uac,
    /// We received it.
    Uas,
}

/// An in-dialog request ready to go, and where to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// The request, with `Content-Length: 0`; see [`OutgoingRequest::set_body`].
    pub request: Request,
    /// The next hop (§12.2.1.1, §8.1.2): the first Route, or the remote
    /// target when the route set is empty. The gateway resolves it.
    pub next_hop: Uri,
}

impl OutgoingRequest {
    /// Puts a body in the request and sets Content-Type and Content-Length.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        let headers = &mut self.request.headers;
        headers.retain(|h| !matches!(h, Header::ContentLength(_) | Header::ContentType(_)));
        headers.push(Header::ContentType(rsip::headers::ContentType::new(
            content_type,
        )));
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
            body.len().to_string(),
        )));
        self.request.body = body;
    }
}

/// What to do with a request that [`Dialog::handle_request`] accepted into
/// the dialog's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum RequestVerdict {
    /// Hand it to the TU.
    Accept,
    /// The ACK for a 2xx: feed it to the [`InviteResponder`].
    Ack,
    /// Answer it with this response and go no further.
    Reject(Rejection),
}

/// A response that refuses an in-dialog request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 491 or 500.
    pub status: u16,
    /// Retry-After, in seconds (§14.2 asks for one with a 500 to a second
    /// re-INVITE).
    pub retry_after: Option<u32>,
}

impl Rejection {
    /// Builds the response to `request` (§8.2.6.2: Via, From, To, Call-ID and
    /// CSeq copied; the request is in a dialog so To already has our tag).
    pub fn to_response(&self, request: &Request) -> Response {
        let mut response = message::response_to(request, self.status, None, None);
        if let Some(seconds) = self.retry_after {
            response
                .headers
                .push(Header::RetryAfter(rsip::headers::RetryAfter::new(
                    seconds.to_string(),
                )));
        }
        response
    }
}

/// What a response to one of our in-dialog requests did to the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ResponseOutcome {
    /// Nothing the TU must act on.
    Continue,
    /// The 2xx to the initial INVITE confirmed an early dialog.
    Confirmed,
    /// The dialog is over: a 481 or 408 to an in-dialog request (§12.2.1.2)
    /// or a non-2xx final response to the INVITE of an early dialog (§12.3).
    Terminated,
}

/// A SIP dialog (RFC 3261 §12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    /// Empty (None) on the UAS side until we send our first request (§12.1.1).
    local_seq: Option<u32>,
    /// Empty on the UAC side until the peer sends a request (§12.1.2).
    remote_seq: Option<u32>,
    local_uri: Uri,
    remote_uri: Uri,
    local_contact: Uri,
    remote_target: Uri,
    route_set: Vec<UriWithParams>,
    secure: bool,
    /// CSeq number of the INVITE that created the dialog.
    initial_invite_seq: u32,
    /// CSeq number of our re-INVITE awaiting a final response (§14.1).
    local_invite_pending: Option<u32>,
    /// CSeq number of the peer's INVITE we have not answered finally (§14.2).
    remote_invite_pending: Option<u32>,
}

impl Dialog {
    /// The UAC side (§12.1.2): `invite` is the INVITE we sent, `response` a
    /// 101–199 with a To tag or a 2xx to it. Record-Route in the response,
    /// reversed, is the route set; its Contact is the remote target.
    pub fn uac(invite: &Request, response: &Response) -> Result<Self, DialogError> {
        if invite.method != Method::Invite {
            return Err(DialogError::Misuse(Misuse::NotAnInvite(invite.method)));
        }
        let code = response.status_code.code();
        let state = match code {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            _ => {
                return Err(DialogError::Misuse(Misuse::NotDialogCreating {
                    status: code,
                }));
            }
        };
        let id =
            DialogId::of_incoming_response(response)?.ok_or(if state == DialogState::Early {
                DialogError::Misuse(Misuse::NotDialogCreating { status: code })
            } else {
                DialogError::PeerMisbehaved(PeerMisbehaviour::NoToTag)
            })?;
        let invite_seq = hdr::cseq(invite)?.seq;
        if hdr::from_tag(invite)?.as_deref() != Some(id.local_tag.as_str())
            || hdr::call_id(invite)? != id.call_id
        {
            return Err(DialogError::Misuse(Misuse::WrongDialog));
        }
        let local_contact = hdr::contact(invite)?.ok_or(HeaderError::Missing("Contact"))?;
        // §12.1.2: the remote target is the response's Contact, which a
        // dialog-creating response must carry.
        let remote_target = hdr::contact(response)?.ok_or(HeaderError::Missing("Contact"))?;
        let mut route_set = hdr::record_route(response)?;
        route_set.reverse();
        Ok(Self {
            id,
            role: Role::Uac,
            state,
            local_seq: Some(invite_seq),
            remote_seq: None,
            local_uri: hdr::from_uri(invite)?,
            remote_uri: hdr::to_uri(invite)?,
            local_contact,
            remote_target,
            route_set,
            // A sips Request-URI can only have been sent over TLS (§26.2.2),
            // which is the other half of the §12.1.2 condition.
            secure: hdr::is_sips(&invite.uri),
            initial_invite_seq: invite_seq,
            // A 2xx ends the INVITE transaction; a 1xx leaves it pending.
            local_invite_pending: (state == DialogState::Early).then_some(invite_seq),
            remote_invite_pending: None,
        })
    }

    /// The UAS side (§12.1.1): `invite` is the INVITE we received,
    /// `local_tag` the tag we add to To in our 1xx/2xx, `local_contact` the
    /// Contact we send. The dialog starts [`DialogState::Early`]; it is
    /// confirmed when we send a 2xx ([`Dialog::handle_response_sent`]).
    pub fn uas(invite: &Request, local_tag: &str, local_contact: Uri) -> Result<Self, DialogError> {
        if invite.method != Method::Invite {
            return Err(DialogError::Misuse(Misuse::NotAnInvite(invite.method)));
        }
        if local_tag.is_empty() {
            return Err(DialogError::Misuse(Misuse::EmptyTag));
        }
        let cseq = hdr::cseq(invite)?;
        // §8.1.1.8: an INVITE carries a Contact.
        let remote_target = hdr::contact(invite)?.ok_or(HeaderError::Missing("Contact"))?;
        Ok(Self {
            id: DialogId {
                call_id: hdr::call_id(invite)?,
                local_tag: local_tag.to_owned(),
                remote_tag: hdr::from_tag(invite)?.unwrap_or_default(),
            },
            role: Role::Uas,
            state: DialogState::Early,
            local_seq: None,
            remote_seq: Some(cseq.seq),
            local_uri: hdr::to_uri(invite)?,
            remote_uri: hdr::from_uri(invite)?,
            local_contact,
            remote_target,
            route_set: hdr::record_route(invite)?,
            secure: hdr::is_sips(&invite.uri),
            initial_invite_seq: cseq.seq,
            local_invite_pending: None,
            remote_invite_pending: Some(cseq.seq),
        })
    }

    /// The dialog's key.
    pub fn id(&self) -> &DialogId {
        &self.id
    }
    /// Which side of the initial INVITE we were.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Early or Confirmed.
    pub fn state(&self) -> DialogState {
        self.state
    }
    /// The CSeq number of the last request we sent, if any.
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }
    /// The CSeq number of the last request the peer sent, if any.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }
    /// Our URI (From of our requests).
    pub fn local_uri(&self) -> &Uri {
        &self.local_uri
    }
    /// The peer's URI (To of our requests).
    pub fn remote_uri(&self) -> &Uri {
        &self.remote_uri
    }
    /// The Contact we put in target refresh requests.
    pub fn local_contact(&self) -> &Uri {
        &self.local_contact
    }
    /// The peer's Contact: the Request-URI of our requests (loose routing).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }
    /// The route set, in the order our requests visit it.
    pub fn route_set(&self) -> &[UriWithParams] {
        &self.route_set
    }
    /// Whether the dialog was set up over TLS with a sips Request-URI.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// Whether one of our re-INVITEs waits for its final response.
    pub fn local_invite_pending(&self) -> bool {
        self.local_invite_pending.is_some()
    }

    /// Builds a request within the dialog (§12.2.1.1): BYE, INVITE
    /// (re-INVITE), UPDATE, INFO, PRACK, OPTIONS, NOTIFY, REFER, MESSAGE.
    ///
    /// The local CSeq is incremented. INVITE and UPDATE carry our Contact
    /// (they refresh the target); for PRACK the caller adds RAck (see
    /// [`crate::reliable`]). ACK has its own builder, [`Dialog::build_ack`];
    /// CANCEL is built from the INVITE by the transaction layer (§9.1).
    /// A second re-INVITE while ours is pending is refused (§14.1).
    pub fn build_request(
        &mut self,
        method: Method,
        via: typed::Via,
    ) -> Result<OutgoingRequest, DialogError> {
        match method {
            Method::Ack | Method::Cancel | Method::Register => {
                return Err(DialogError::Misuse(Misuse::MethodNotInDialog(method)));
            }
            Method::Invite if self.local_invite_pending.is_some() => {
                return Err(DialogError::Misuse(Misuse::InvitePending));
            }
            _ => {}
        }
        // §12.2.1.1: an empty local sequence number starts anywhere below
        // 2^31 (§8.1.1.5); 1 is as good as any and easy to read in traces.
        let seq = match self.local_seq {
            None => 1,
            Some(seq) => seq
                .checked_add(1)
                .ok_or(DialogError::Misuse(Misuse::CSeqExhausted))?,
        };
        self.local_seq = Some(seq);
        if method == Method::Invite {
            self.local_invite_pending = Some(seq);
        }
        let target_refresh = matches!(
            method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
        );
        Ok(self.request(method, seq, via, target_refresh))
    }

    /// Builds the ACK for a 2xx to `invite` (§13.2.2.4): same CSeq number,
    /// method ACK, the credentials the INVITE carried, routed like any other
    /// in-dialog request. `via` needs a fresh branch: the ACK for a 2xx is a
    /// transaction of its own (§17.1.1.3). Hand the result to an
    /// [`AckRetransmitter`] after sending it.
    pub fn build_ack(
        &self,
        invite: &Request,
        via: typed::Via,
    ) -> Result<OutgoingRequest, DialogError> {
        if invite.method != Method::Invite {
            return Err(DialogError::Misuse(Misuse::NotAnInvite(invite.method)));
        }
        let seq = hdr::cseq(invite)?.seq;
        let mut out = self.request(Method::Ack, seq, via, false);
        // §13.2.2.4: "the ACK MUST contain the same credentials as the INVITE".
        let credentials = invite
            .headers
            .iter()
            .filter(|h| matches!(h, Header::Authorization(_) | Header::ProxyAuthorization(_)))
            .cloned();
        let at = out.request.headers.iter().count().saturating_sub(1);
        let mut headers: Vec<Header> = out.request.headers.clone().into();
        headers.splice(at..at, credentials);
        out.request.headers = headers.into();
        Ok(out)
    }

    fn request(&self, method: Method, seq: u32, via: typed::Via, contact: bool) -> OutgoingRequest {
        let (uri, routes, next_hop) = self.routing();
        let mut headers: Vec<Header> = vec![
            Header::Via(via.into()),
            Header::MaxForwards(rsip::headers::MaxForwards::new("70")),
        ];
        headers.extend(
            routes
                .into_iter()
                .map(|r| Header::Route(rsip::headers::Route::new(r.to_string()))),
        );
        let from = typed::From {
            display_name: None,
            uri: self.local_uri.clone(),
            params: vec![Param::Tag(Tag::new(self.id.local_tag.clone()))],
        };
        let to = typed::To {
            display_name: None,
            uri: self.remote_uri.clone(),
            params: if self.id.remote_tag.is_empty() {
                vec![]
            } else {
                vec![Param::Tag(Tag::new(self.id.remote_tag.clone()))]
            },
        };
        headers.push(Header::From(from.into()));
        headers.push(Header::To(to.into()));
        headers.push(Header::CallId(rsip::headers::CallId::new(
            self.id.call_id.clone(),
        )));
        headers.push(Header::CSeq(typed::CSeq { seq, method }.into()));
        if contact {
            headers.push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{}>",
                self.local_contact
            ))));
        }
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
        OutgoingRequest {
            request: Request {
                method,
                uri,
                version: rsip::Version::V2,
                headers: headers.into(),
                body: vec![],
            },
            next_hop,
        }
    }

    /// Request-URI, Route entries and next hop per §12.2.1.1.
    fn routing(&self) -> (Uri, Vec<UriWithParams>, Uri) {
        let Some(first) = self.route_set.first() else {
            return (
                self.remote_target.clone(),
                vec![],
                self.remote_target.clone(),
            );
        };
        if hdr::is_loose(first) {
            return (
                self.remote_target.clone(),
                self.route_set.clone(),
                first.uri.clone(),
            );
        }
        // Strict routing (RFC 2543 proxies): the first route becomes the
        // Request-URI, stripped of what a Request-URI may not carry
        // (§19.1.1: `method`), and the remote target goes last in Route so
        // that the strict router can put it back.
        let mut uri = first.uri.clone();
        uri.params.retain(|p| !matches!(p, Param::Method(_)));
        uri.headers.clear();
        let mut routes: Vec<UriWithParams> = self.route_set[1..].to_vec();
        routes.push(UriWithParams {
            uri: self.remote_target.clone(),
            params: vec![],
        });
        (uri.clone(), routes, uri)
    }

    /// Applies §12.2.2 to a request received in this dialog.
    ///
    /// Errors are the peer's (or the caller's, if the request belongs to
    /// another dialog); [`DialogError::to_sip_status`] gives the response,
    /// 500 for a CSeq lower than the last one.
    pub fn handle_request(&mut self, request: &Request) -> Result<RequestVerdict, DialogError> {
        match DialogId::of_incoming_request(request)? {
            Some(id) if id == self.id => {}
            _ => return Err(DialogError::Misuse(Misuse::WrongDialog)),
        }
        let cseq = hdr::cseq(request)?;
        if cseq.method != request.method {
            return Err(HeaderError::CSeqMethodMismatch.into());
        }
        // The ACK for a 2xx reuses the INVITE's number, and other requests
        // may have overtaken it, so it is outside the ordering (§12.2.2).
        // CANCEL matches a transaction, not the dialog.
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Ok(if request.method == Method::Ack {
                RequestVerdict::Ack
            } else {
                RequestVerdict::Accept
            });
        }
        if let Some(remote) = self.remote_seq
            && cseq.seq < remote
        {
            return Err(DialogError::PeerMisbehaved(
                PeerMisbehaviour::CSeqOutOfOrder {
                    received: cseq.seq,
                    last: remote,
                },
            ));
        }
        self.remote_seq = Some(cseq.seq);
        if request.method == Method::Invite {
            // §14.2: a re-INVITE crossing ours gets 491; one arriving while
            // we still owe a final response to the previous gets 500 with a
            // Retry-After chosen between 0 and 10 s (we take the middle).
            if self.local_invite_pending.is_some() {
                return Ok(RequestVerdict::Reject(Rejection {
                    status: 491,
                    retry_after: None,
                }));
            }
            if self.remote_invite_pending.is_some_and(|s| s != cseq.seq) {
                return Ok(RequestVerdict::Reject(Rejection {
                    status: 500,
                    retry_after: Some(5),
                }));
            }
            self.remote_invite_pending = Some(cseq.seq);
        }
        if matches!(request.method, Method::Invite | Method::Update)
            && let Some(target) = hdr::contact(request)?
        {
            self.remote_target = target;
        }
        Ok(RequestVerdict::Accept)
    }

    /// Applies a response we received to one of our requests in this dialog
    /// (the initial INVITE included): confirms an early dialog on 2xx,
    /// refreshes the remote target on a 2xx to INVITE/UPDATE (§12.2.1.2),
    /// clears our pending re-INVITE on its final response, and reports
    /// termination on 481/408.
    pub fn handle_response(&mut self, response: &Response) -> Result<ResponseOutcome, DialogError> {
        let cseq = hdr::cseq(response)?;
        let code = response.status_code.code();
        let matches = match DialogId::of_incoming_response(response)? {
            Some(id) => id == self.id,
            // A 100 or a tagless 4xx to the initial INVITE of an early dialog.
            None => self.state == DialogState::Early && cseq.seq == self.initial_invite_seq,
        };
        if !matches {
            return Err(DialogError::Misuse(Misuse::WrongDialog));
        }
        let is_invite = cseq.method == Method::Invite;
        let initial = is_invite && cseq.seq == self.initial_invite_seq;
        if is_invite && code >= 200 && self.local_invite_pending == Some(cseq.seq) {
            self.local_invite_pending = None;
        }
        if code == 481 || code == 408 {
            return Ok(ResponseOutcome::Terminated);
        }
        if initial && self.state == DialogState::Early {
            if code >= 300 {
                return Ok(ResponseOutcome::Terminated);
            }
            if let Some(target) = hdr::contact(response)? {
                self.remote_target = target;
            }
            if (200..300).contains(&code) {
                // The 2xx fixes the route set of the confirmed dialog; the
                // proxies that answered the 1xx may differ (§12.1.2, §13.2.2.4).
                let mut route_set = hdr::record_route(response)?;
                route_set.reverse();
                self.route_set = route_set;
                self.state = DialogState::Confirmed;
                return Ok(ResponseOutcome::Confirmed);
            }
            return Ok(ResponseOutcome::Continue);
        }
        if (200..300).contains(&code)
            && matches!(cseq.method, Method::Invite | Method::Update)
            && let Some(target) = hdr::contact(response)?
        {
            self.remote_target = target;
        }
        Ok(ResponseOutcome::Continue)
    }

    /// Tells the dialog about a response we sent to one of the peer's
    /// requests: a 2xx to the initial INVITE confirms it, and any final
    /// response to an INVITE ends the §14.2 window.
    pub fn handle_response_sent(&mut self, response: &Response) -> Result<(), DialogError> {
        let cseq = hdr::cseq(response)?;
        let code = response.status_code.code();
        if cseq.method != Method::Invite || code < 200 {
            return Ok(());
        }
        if self.remote_invite_pending == Some(cseq.seq) {
            self.remote_invite_pending = None;
        }
        if (200..300).contains(&code) && cseq.seq == self.initial_invite_seq {
            self.state = DialogState::Confirmed;
        }
        Ok(())
    }

    /// §14.1: after a 491 to our re-INVITE, wait this long before retrying.
    /// The owner of the Call-ID (the UAC of the initial INVITE) waits 2.1–4 s,
    /// the other side 0–2 s, in units of 10 ms.
    pub fn glare_retry_range(&self) -> RangeInclusive<Duration> {
        match self.role {
            Role::Uac => Duration::from_millis(2100)..=Duration::from_secs(4),
            Role::Uas => Duration::ZERO..=Duration::from_secs(2),
        }
    }

    /// A delay within [`Dialog::glare_retry_range`], from a caller-provided
    /// random number (the stack has no random source of its own).
    pub fn glare_retry_delay(&self, random: u32) -> Duration {
        let range = self.glare_retry_range();
        let ticks = (range.end().as_millis() - range.start().as_millis()) / 10 + 1;
        let ticks = u64::try_from(ticks).unwrap_or(1);
        *range.start() + Duration::from_millis(u64::from(random) % ticks * 10)
    }
}

/// Outputs of an [`InviteResponder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InviteResponderOutput {
    /// Send this 2xx again, straight to the transport.
    Retransmit(Response),
    /// No ACK within 64·T1: the TU should confirm and then send BYE
    /// (§13.3.1.4).
    AckTimedOut,
}

/// The UAS core's retransmission of a 2xx to INVITE (RFC 3261 §13.3.1.4):
/// at T1, then doubling up to T2, until the ACK arrives; after 64·T1 it
/// gives up with [`InviteResponderOutput::AckTimedOut`].
#[derive(Debug, Clone)]
pub struct InviteResponder {
    response: Response,
    seq: u32,
    interval: Duration,
    t2: Duration,
    next_retransmit: Option<Instant>,
    give_up_at: Instant,
    acknowledged: bool,
    outputs: VecDeque<InviteResponderOutput>,
}

impl InviteResponder {
    /// Starts after the first transmission of `response` (a 2xx to INVITE),
    /// which the caller makes through the server transaction at `now`.
    pub fn new(
        now: Instant,
        response: Response,
        t1: Duration,
        t2: Duration,
    ) -> Result<Self, DialogError> {
        let cseq = hdr::cseq(&response)?;
        let code = response.status_code.code();
        if cseq.method != Method::Invite || !(200..300).contains(&code) {
            return Err(DialogError::Misuse(Misuse::NotA2xxToInvite));
        }
        Ok(Self {
            response,
            seq: cseq.seq,
            interval: t1,
            t2,
            next_retransmit: Some(now + t1),
            give_up_at: now + 64 * t1,
            acknowledged: false,
            outputs: VecDeque::new(),
        })
    }

    /// The ACK arrived: stop. An ACK with another CSeq number belongs to
    /// another INVITE and is refused as misuse.
    pub fn handle_ack(&mut self, _now: Instant, ack: &Request) -> Result<(), DialogError> {
        let cseq = hdr::cseq(ack)?;
        if ack.method != Method::Ack || cseq.seq != self.seq {
            return Err(DialogError::Misuse(Misuse::WrongDialog));
        }
        self.acknowledged = true;
        self.next_retransmit = None;
        Ok(())
    }

    /// Fires whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(at) = self.next_retransmit {
            if at > now {
                break;
            }
            if at >= self.give_up_at {
                self.next_retransmit = None;
                self.outputs.push_back(InviteResponderOutput::AckTimedOut);
                break;
            }
            self.outputs
                .push_back(InviteResponderOutput::Retransmit(self.response.clone()));
            self.interval = (self.interval * 2).min(self.t2);
            self.next_retransmit = Some((at + self.interval).min(self.give_up_at));
        }
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<InviteResponderOutput> {
        self.outputs.pop_front()
    }

    /// When to call [`InviteResponder::handle_timeout`] next; `None` once
    /// acknowledged or given up.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_retransmit
    }

    /// Whether the ACK arrived.
    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged
    }

    /// Whether the responder has nothing left to do.
    pub fn is_terminated(&self) -> bool {
        self.next_retransmit.is_none() && self.outputs.is_empty()
    }
}

/// Outputs of an [`AckRetransmitter`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckRetransmitterOutput {
    /// Send this ACK again, straight to the transport.
    Retransmit(Request),
}

/// The UAC core's answer to retransmissions of a 2xx (RFC 3261 §13.2.2.4):
/// every 2xx retransmission gets the same ACK again. It keeps the ACK for
/// 64·T1, the longest the UAS retransmits (§13.3.1.4; RFC 6026 Timer M).
#[derive(Debug, Clone)]
pub struct AckRetransmitter {
    ack: Request,
    seq: u32,
    remote_tag: Option<String>,
    expires_at: Option<Instant>,
    outputs: VecDeque<AckRetransmitterOutput>,
}

impl AckRetransmitter {
    /// Starts once `ack` (from [`Dialog::build_ack`]) has been sent at `now`.
    pub fn new(now: Instant, ack: Request, t1: Duration) -> Result<Self, DialogError> {
        if ack.method != Method::Ack {
            return Err(DialogError::Misuse(Misuse::NotAnInvite(ack.method)));
        }
        let seq = hdr::cseq(&ack)?.seq;
        let remote_tag = hdr::to_tag(&ack)?;
        Ok(Self {
            ack,
            seq,
            remote_tag,
            expires_at: Some(now + 64 * t1),
            outputs: VecDeque::new(),
        })
    }

    /// A response arrived for the INVITE. A retransmitted 2xx from the same
    /// dialog queues the ACK again; anything else is ignored (a 2xx from
    /// another fork is a different dialog and needs its own ACK).
    pub fn handle_response(
        &mut self,
        _now: Instant,
        response: &Response,
    ) -> Result<(), DialogError> {
        let cseq = hdr::cseq(response)?;
        let to_tag = hdr::to_tag(response)?;
        if self.expires_at.is_some()
            && cseq.method == Method::Invite
            && cseq.seq == self.seq
            && (200..300).contains(&response.status_code.code())
            && to_tag == self.remote_tag
        {
            self.outputs
                .push_back(AckRetransmitterOutput::Retransmit(self.ack.clone()));
        }
        Ok(())
    }

    /// Forgets the ACK once 64·T1 have passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.expires_at.is_some_and(|at| at <= now) {
            self.expires_at = None;
        }
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<AckRetransmitterOutput> {
        self.outputs.pop_front()
    }

    /// When the ACK may be forgotten.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expires_at
    }

    /// Whether the retransmitter can be dropped.
    pub fn is_terminated(&self) -> bool {
        self.expires_at.is_none() && self.outputs.is_empty()
    }
}

/// Errors of the dialog layer, by who is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// A message we received lacks a header the dialog needs, or the header
    /// does not parse.
    Malformed(HeaderError),
    /// The peer broke RFC 3261.
    PeerMisbehaved(PeerMisbehaviour),
    /// The caller used this API wrongly.
    Misuse(Misuse),
}

/// Ways a peer breaks the dialog rules.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaviour {
    /// §12.2.2: a request with a CSeq below the last one.
    CSeqOutOfOrder {
        /// The CSeq number received.
        received: u32,
        /// The highest the dialog had seen.
        last: u32,
    },
    /// A 2xx to INVITE without a To tag (§8.2.6.2).
    NoToTag,
}

/// Ways a caller misuses this module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// A dialog is built from an INVITE (this module does not do
    /// SUBSCRIBE/NOTIFY dialogs).
    NotAnInvite(Method),
    /// Only 101–199 with a To tag and 2xx create a dialog.
    NotDialogCreating {
        /// The response's status code.
        status: u16,
    },
    /// The message belongs to another dialog or transaction.
    WrongDialog,
    /// ACK, CANCEL and REGISTER are not built as in-dialog requests.
    MethodNotInDialog(Method),
    /// §14.1: no re-INVITE while another is in progress.
    InvitePending,
    /// The local CSeq reached 2^32 − 1.
    CSeqExhausted,
    /// The local tag must not be empty (§19.3).
    EmptyTag,
    /// [`InviteResponder`] takes a 2xx to INVITE.
    NotA2xxToInvite,
}

impl DialogError {
    /// The status a UAS answers with when this error comes from a received
    /// request; `None` when the error is ours, not the peer's.
    pub fn to_sip_status(&self) -> Option<u16> {
        match self {
            Self::Malformed(e) => Some(e.to_sip_status()),
            // §12.2.2: "MUST reject the request with a 500".
            Self::PeerMisbehaved(PeerMisbehaviour::CSeqOutOfOrder { .. }) => Some(500),
            Self::PeerMisbehaved(_) => Some(400),
            // A request handed to a dialog it does not match: §12.2.2 says
            // a request that matches no dialog gets 481.
            Self::Misuse(Misuse::WrongDialog) => Some(481),
            Self::Misuse(_) => None,
        }
    }
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => e.fmt(f),
            Self::PeerMisbehaved(PeerMisbehaviour::CSeqOutOfOrder { received, last }) => write!(
                f,
                "peer sent CSeq {received} after {last} in the same dialog (RFC 3261 §12.2.2)"
            ),
            Self::PeerMisbehaved(PeerMisbehaviour::NoToTag) => {
                write!(f, "peer sent a 2xx to INVITE without a To tag")
            }
            Self::Misuse(m) => match m {
                Misuse::NotAnInvite(method) => write!(f, "expected an INVITE, got {method}"),
                Misuse::NotDialogCreating { status } => {
                    write!(f, "a {status} response does not create a dialog")
                }
                Misuse::WrongDialog => write!(f, "message belongs to another dialog"),
                Misuse::MethodNotInDialog(method) => {
                    write!(f, "{method} is not built as an in-dialog request")
                }
                Misuse::InvitePending => {
                    write!(f, "a re-INVITE is already in progress (RFC 3261 §14.1)")
                }
                Misuse::CSeqExhausted => write!(f, "local CSeq exhausted"),
                Misuse::EmptyTag => write!(f, "the local tag is empty"),
                Misuse::NotA2xxToInvite => write!(f, "expected a 2xx response to INVITE"),
            },
        }
    }
}

impl std::error::Error for DialogError {}

impl From<HeaderError> for DialogError {
    fn from(e: HeaderError) -> Self {
        Self::Malformed(e)
    }
}

/// Builds a Via for [`Dialog::build_request`] (§8.1.1.7): the branch gets
/// the `z9hG4bK` magic cookie if it lacks it.
pub fn via(transport: rsip::Transport, sent_by: rsip::HostWithPort, branch: &str) -> typed::Via {
    let branch = if branch.starts_with("z9hG4bK") {
        branch.to_owned()
    } else {
        format!("z9hG4bK{branch}")
    };
    typed::Via {
        version: rsip::Version::V2,
        transport,
        uri: sent_by.into(),
        params: vec![Param::Branch(rsip::param::Branch::new(branch))],
    }
}

/// Header accessors on top of [`crate::message`]'s, for what it does not
/// cover: the From/To URIs, Record-Route and option-tag lists.
pub(crate) mod hdr {
    use crate::message::{self, CSeqRepr, HeaderError};
    use rsip::headers::ToTypedHeader;
    use rsip::message::HasHeaders;
    use rsip::{Header, Param, Uri, UriWithParams};

    pub(crate) fn call_id(m: &impl HasHeaders) -> Result<String, HeaderError> {
        message::call_id(m).map(str::to_owned)
    }

    pub(crate) fn cseq(m: &impl HasHeaders) -> Result<CSeqRepr, HeaderError> {
        message::cseq(m)
    }

    pub(crate) fn from_tag(m: &impl HasHeaders) -> Result<Option<String>, HeaderError> {
        Ok(message::from_tag(m)?.map(str::to_owned))
    }

    pub(crate) fn to_tag(m: &impl HasHeaders) -> Result<Option<String>, HeaderError> {
        Ok(message::to_tag(m)?.map(str::to_owned))
    }

    pub(crate) fn from_uri(m: &impl HasHeaders) -> Result<Uri, HeaderError> {
        let value = m
            .headers()
            .iter()
            .find_map(|h| match h {
                Header::From(f) => Some(f),
                _ => None,
            })
            .ok_or(HeaderError::Missing("From"))?;
        Ok(value
            .typed()
            .map_err(|_| HeaderError::Malformed("From"))?
            .uri)
    }

    pub(crate) fn to_uri(m: &impl HasHeaders) -> Result<Uri, HeaderError> {
        let value = m
            .headers()
            .iter()
            .find_map(|h| match h {
                Header::To(t) => Some(t),
                _ => None,
            })
            .ok_or(HeaderError::Missing("To"))?;
        Ok(value.typed().map_err(|_| HeaderError::Malformed("To"))?.uri)
    }

    /// The URI of the first Contact, `None` when there is no Contact.
    pub(crate) fn contact(m: &impl HasHeaders) -> Result<Option<Uri>, HeaderError> {
        match message::contact_uri(m) {
            Ok(uri) => Ok(Some(uri)),
            Err(HeaderError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every Record-Route entry, in message order.
    pub(crate) fn record_route(m: &impl HasHeaders) -> Result<Vec<UriWithParams>, HeaderError> {
        let mut routes = Vec::new();
        for header in m.headers().iter() {
            if let Header::RecordRoute(rr) = header {
                let typed = rr
                    .typed()
                    .map_err(|_| HeaderError::Malformed("Record-Route"))?;
                routes.extend(typed.uris().iter().cloned());
            }
        }
        Ok(routes)
    }

    /// §16.12 / §19.1.1: a route is a loose router when its URI has `lr`.
    pub(crate) fn is_loose(route: &UriWithParams) -> bool {
        route.uri.params.iter().any(|p| matches!(p, Param::Lr))
            || route.params.iter().any(|p| matches!(p, Param::Lr))
    }

    pub(crate) fn is_sips(uri: &Uri) -> bool {
        matches!(uri.scheme, Some(rsip::Scheme::Sips))
    }

    pub(crate) use crate::message::option_tags;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Request {
        let m = message::parse(text.replace('\n', "\r\n").as_bytes()).unwrap();
        Request::try_from(m).unwrap()
    }
    fn resp(text: &str) -> Response {
        let m = message::parse(text.replace('\n', "\r\n").as_bytes()).unwrap();
        Response::try_from(m).unwrap()
    }

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>
Content-Length: 0

";

    const OK: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9
Record-Route: <sip:p1.example.com;lr>
Record-Route: <sip:p2.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=8321234356
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

";

    fn via_for(branch: &str) -> typed::Via {
        via(
            rsip::Transport::Udp,
            rsip::HostWithPort::from(rsip::Host::from("10.0.0.1")),
            branch,
        )
    }

    #[test]
    fn uac_dialog_reverses_record_route_and_targets_contact() {
        let d = Dialog::uac(&req(INVITE), &resp(OK)).unwrap();
        assert_eq!(d.state(), DialogState::Confirmed);
        assert_eq!(d.id().local_tag, "9fxced76sl");
        assert_eq!(d.id().remote_tag, "8321234356");
        let hosts: Vec<String> = d
            .route_set()
            .iter()
            .map(|r| r.uri.host().to_string())
            .collect();
        assert_eq!(hosts, ["p2.example.com", "p1.example.com"]);
        assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.4");
    }

    #[test]
    fn uas_dialog_keeps_record_route_order() {
        let mut d = Dialog::uas(
            &req(INVITE),
            "xyz",
            Uri::try_from("sip:bob@192.0.2.4").unwrap(),
        )
        .unwrap();
        assert_eq!(d.state(), DialogState::Early);
        let hosts: Vec<String> = d
            .route_set()
            .iter()
            .map(|r| r.uri.host().to_string())
            .collect();
        assert_eq!(hosts, ["p1.example.com", "p2.example.com"]);
        let out = d.build_request(Method::Bye, via_for("b1")).unwrap();
        assert_eq!(
            out.request.uri.to_string(),
            "sip:alice@client.atlanta.example.com;transport=TCP"
        );
        assert_eq!(out.next_hop.host().to_string(), "p1.example.com");
        let text = out.request.to_string();
        assert!(text.contains("CSeq: 1 BYE"), "{text}");
        assert!(
            text.contains("From: <sip:bob@biloxi.example.com>;tag=xyz"),
            "{text}"
        );
        assert!(
            text.contains("To: <sip:alice@atlanta.example.com>;tag=9fxced76sl"),
            "{text}"
        );
    }

    #[test]
    fn strict_router_gets_request_uri_and_target_goes_last() {
        let ok = OK.replace("<sip:p1.example.com;lr>", "<sip:p1.example.com>");
        let d = Dialog::uac(&req(INVITE), &resp(&ok)).unwrap();
        let mut d = d;
        let out = d.build_request(Method::Info, via_for("b2")).unwrap();
        // Route set reversed: [p2;lr, p1]. p2 is loose, so plain loose routing.
        assert_eq!(out.next_hop.host().to_string(), "p2.example.com");
        let ok = OK.replace("<sip:p2.example.com;lr>", "<sip:p2.example.com>");
        let mut d = Dialog::uac(&req(INVITE), &resp(&ok)).unwrap();
        let out = d.build_request(Method::Info, via_for("b3")).unwrap();
        assert_eq!(out.request.uri.to_string(), "sip:p2.example.com");
        assert_eq!(out.next_hop.to_string(), "sip:p2.example.com");
        let routes: Vec<String> = out
            .request
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Route(r) => Some(r.value().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(routes, ["<sip:p1.example.com;lr>", "<sip:bob@192.0.2.4>"]);
    }

    #[test]
    fn glare_delay_is_in_ten_ms_steps_within_range() {
        let d = Dialog::uac(&req(INVITE), &resp(OK)).unwrap();
        for r in [0, 1, 190, 191, u32::MAX] {
            let delay = d.glare_retry_delay(r);
            assert!(d.glare_retry_range().contains(&delay), "{delay:?}");
            assert_eq!(delay.as_millis() % 10, 0);
        }
    }

    #[test]
    fn compact_headers_are_understood() {
        let r = req("BYE sip:a@b SIP/2.0
v: SIP/2.0/UDP x;branch=z9hG4bK1
f: <sip:a@b>;tag=1
t: <sip:c@d>;tag=2
i: abc
CSeq: 2 BYE
l: 0

");
        let id = DialogId::of_incoming_request(&r).unwrap().unwrap();
        assert_eq!(id.call_id, "abc");
        assert_eq!(id.local_tag, "2");
        assert_eq!(id.remote_tag, "1");
    }

    #[test]
    fn hostile_values_are_errors_not_panics() {
        for value in [
            "",
            "<",
            "<sip:",
            "\"\\",
            ",,,",
            "<sip:a@b>;tag",
            "sip:a@b;tag=;lr",
        ] {
            let text = format!(
                "BYE sip:a@b SIP/2.0\r\nFrom: {value}\r\nTo: {value}\r\nCall-ID: {value}\r\nCSeq: {value}\r\nContact: {value}\r\nRecord-Route: {value}\r\n\r\n"
            );
            if let Ok(rsip::SipMessage::Request(r)) = message::parse(text.as_bytes()) {
                let _ = DialogId::of_incoming_request(&r);
                let _ = Dialog::uas(&r, "t", Uri::default());
            }
        }
    }
}
