//! The checks the `session_timer_header` fuzz target runs on one input,
//! kept out of `exercise.rs` so a replay test can include it on its own.
//!
//! One input is one header value (UTF-8; other inputs are skipped), read
//! as each of the small headers of RFC 4028 and RFC 3262:
//! 1. `SessionExpires::parse`, `MinSe::parse`, `RAck::parse`: what parses
//!    prints (`Display`, `to_header`) to a value that parses back equal;
//! 2. an INVITE with `Supported: timer` and the value as Session-Expires
//!    and Min-SE goes to `uas_negotiate`: an accepted interval is never
//!    below 90 s nor the request's Min-SE, its headers survive a 2xx, a
//!    422 carries the Min-SE it was given; the timer it arms fires a
//!    refresh (if we refresh) before it expires, and then stops;
//! 3. a 422 with the value as Min-SE and a 2xx with it as Session-Expires
//!    go to a `UacNegotiation` (`handle_422`, `handle_2xx`), and a timer
//!    armed from the 2xx runs out as above;
//! 4. a PRACK carrying the value as RAck goes to a `ProvisionalSender`
//!    whose reliable 183 has RSeq 776656 (RFC 3262's example) for the
//!    INVITE with CSeq 7: it is acknowledged exactly when the value reads
//!    `776656 7 INVITE`;
//! 5. a reliable 183 with the value as RSeq goes to a
//!    `ProvisionalReceiver` twice: the PRACK it asks for carries that
//!    RSeq, and the second copy is a retransmission.

use std::time::{Duration, Instant};

use rsip::{Method, Request, Response, SipMessage};
use tandem_sip::dialog::{Role, T1};
use tandem_sip::message;
use tandem_sip::reliable::{
    PrackVerdict, ProvisionalReceiver, ProvisionalSender, ProvisionalVerdict, RAck,
};
use tandem_sip::session_timer::{
    MIN_SE_FLOOR, MinSe, Negotiated, SessionExpires, SessionTimer, TimerConfig, TimerOutput,
    UacNegotiation, UasDecision, reject_422, uas_negotiate,
};

/// RSeq of the sender's reliable 183: RFC 3262 §10's `RSeq: 776656`.
pub(crate) const RSEQ: u32 = 776_656;

pub(crate) fn session_timer_header(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    round_trips(value);
    uas(value);
    uac(value);
    sender(value);
    receiver(value);
}

fn round_trips(value: &str) {
    if let Ok(se) = SessionExpires::parse(value) {
        let text = se.to_string();
        assert_eq!(SessionExpires::parse(&text), Ok(se), "{text:?}");
        assert!(matches!(se.to_header(), rsip::Header::Other(_, v) if v == text));
    }
    if let Ok(m) = MinSe::parse(value) {
        let rsip::Header::Other(_, text) = m.to_header() else {
            panic!("Min-SE is not an extension header");
        };
        assert_eq!(MinSe::parse(&text), Ok(m), "{text:?}");
    }
    if let Ok(r) = RAck::parse(value) {
        let text = r.to_string();
        assert_eq!(RAck::parse(&text), Ok(r), "{text:?}");
    }
}

fn message(start_line: &str, cseq: &str, extra: &str) -> Option<SipMessage> {
    let text = format!(
        "{start_line}\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@gw.example.com>;tag=tt\r\n\
         From: <sip:alice@example.com>;tag=ft1\r\nCall-ID: fuzz\r\n\
         CSeq: {cseq}\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    message::parse(text.as_bytes()).ok()
}

fn request(method: &str, cseq: &str, extra: &str) -> Option<Request> {
    match message(
        &format!("{method} sip:bob@gw.example.com SIP/2.0"),
        cseq,
        extra,
    )? {
        SipMessage::Request(r) => Some(r),
        SipMessage::Response(_) => None,
    }
}

fn response(status: &str, cseq: &str, extra: &str) -> Option<Response> {
    match message(&format!("SIP/2.0 {status}"), cseq, extra)? {
        SipMessage::Response(r) => Some(r),
        SipMessage::Request(_) => None,
    }
}

/// Runs a timer out: a refresh (only if we refresh) strictly before the
/// expiry, the expiry last, nothing after it.
fn run_out(negotiated: Negotiated, local: Role) {
    // The fake clock's origin; the fuzz harness is not protocol logic.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut timer = SessionTimer::new(start, negotiated, local);
    let mut outputs = Vec::new();
    let mut last = start;
    while let Some(deadline) = timer.poll_timeout() {
        assert!(deadline >= last, "deadline went back");
        assert!(outputs.len() < 2, "timer fired after expiring: {outputs:?}");
        last = deadline;
        timer.handle_timeout(deadline);
        while let Some(o) = timer.poll_output() {
            outputs.push((o, deadline));
        }
    }
    let interval = Duration::from_secs(u64::from(negotiated.interval));
    match (timer.is_refresher(), outputs.as_slice()) {
        (true, [(TimerOutput::Refresh, r), (TimerOutput::Expired, e)]) => {
            assert!(r < e, "refresh not before expiry");
            assert_eq!(*r - start, interval / 2);
        }
        (false, [(TimerOutput::Expired, _)]) => {}
        (refresher, o) => panic!("refresher {refresher}: outputs {o:?}"),
    }
    let expired_after = outputs.last().map(|(_, at)| *at - start);
    assert!(
        expired_after <= Some(interval),
        "expired after the interval"
    );
}

fn uas(value: &str) {
    let extra = format!("Supported: timer\r\nSession-Expires: {value}\r\nMin-SE: {value}\r\n");
    let Some(invite) = request("INVITE", "1 INVITE", &extra) else {
        return;
    };
    let their_min = MinSe::of_message(&invite).ok().flatten();
    let Ok(decision) = uas_negotiate(&TimerConfig::default(), &invite) else {
        return;
    };
    match decision {
        UasDecision::Accept(answer) => {
            let n = answer.negotiated;
            assert!(n.interval >= MIN_SE_FLOOR, "{n:?}");
            if let Some(MinSe(min)) = their_min {
                assert!(n.interval >= min, "{n:?} below the request's Min-SE {min}");
            }
            assert_eq!(answer.session_expires.interval, n.interval);
            let mut ok = message::response_to(&invite, 200, None, Some("t"));
            for h in answer.headers() {
                ok.headers.push(h);
            }
            let wire = message::encode_response(&ok);
            let Ok(SipMessage::Response(ok)) = message::parse(&wire) else {
                panic!("2xx with the answer's headers does not parse: {wire:?}");
            };
            assert_eq!(
                SessionExpires::of_message(&ok),
                Ok(Some(answer.session_expires))
            );
            run_out(n, Role::Uas);
        }
        UasDecision::Reject { min_se } => {
            let resp = reject_422(&invite, min_se, Some("t"));
            let wire = message::encode_response(&resp);
            let Ok(SipMessage::Response(resp)) = message::parse(&wire) else {
                panic!("our 422 does not parse: {wire:?}");
            };
            assert_eq!(MinSe::of_message(&resp), Ok(Some(min_se)));
        }
    }
}

fn uac(value: &str) {
    let config = TimerConfig::default();
    let mut uac = UacNegotiation::new(&config, None);
    if let Some(r422) = response(
        "422 Session Interval Too Small",
        "1 INVITE",
        &format!("Min-SE: {value}\r\n"),
    ) {
        let before = uac.session_expires();
        if uac.handle_422(&r422).is_ok() {
            assert!(
                uac.session_expires() > before,
                "a 422 did not raise the interval"
            );
        }
        let _ = uac.request_headers();
    }
    let Some(ok) = response(
        "200 OK",
        "1 INVITE",
        &format!("Session-Expires: {value}\r\n"),
    ) else {
        return;
    };
    if let Ok(Some(n)) = uac.handle_2xx(&ok) {
        assert!(n.interval >= MIN_SE_FLOOR, "{n:?}");
        run_out(n, Role::Uac);
        let refresh = UacNegotiation::for_refresh(&config, n, Role::Uac);
        assert!(refresh.session_expires() >= n.interval.max(config.min_se));
    }
}

fn sender(value: &str) {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let invite = request("INVITE", "7 INVITE", "").expect("fixed INVITE parses");
    let mut sender = ProvisionalSender::new(&invite, RSEQ - 1, T1).expect("an INVITE");
    let progress = message::response_to(&invite, 183, None, Some("t"));
    let sent = sender.send(now, progress).expect("a 183 to the INVITE");
    assert!(sent.is_some());
    let Some(prack) = request("PRACK", "8 PRACK", &format!("RAck: {value}\r\n")) else {
        return;
    };
    let expected = RAck {
        rseq: RSEQ,
        cseq: 7,
        method: Method::Invite,
    };
    let parsed = RAck::of_prack(&prack);
    match sender.handle_prack(now, &prack) {
        Ok(PrackVerdict::Acknowledged) => {
            assert_eq!(parsed, Ok(expected));
            assert!(!sender.is_awaiting_prack());
            // The same PRACK again matches nothing.
            assert_eq!(sender.handle_prack(now, &prack), Ok(PrackVerdict::NoMatch));
        }
        Ok(PrackVerdict::NoMatch) => assert_ne!(parsed, Ok(expected)),
        Err(_) => assert!(parsed.is_err()),
    }
}

fn receiver(value: &str) {
    let invite = request("INVITE", "7 INVITE", "").expect("fixed INVITE parses");
    let mut receiver = ProvisionalReceiver::new(&invite).expect("an INVITE");
    let Some(progress) = response(
        "183 Session Progress",
        "7 INVITE",
        &format!("Require: 100rel\r\nRSeq: {value}\r\n"),
    ) else {
        return;
    };
    let first = receiver.handle_provisional(&progress);
    if let Ok(ProvisionalVerdict::Prack(rack)) = first {
        assert_eq!(rack.cseq, 7);
        assert_eq!(rack.method, Method::Invite);
        assert_eq!(Ok(Some(rack.rseq)), tandem_sip::reliable::rseq(&progress));
        assert_eq!(
            receiver.handle_provisional(&progress),
            Ok(ProvisionalVerdict::Ignore),
            "a retransmitted reliable 1xx asked for a second PRACK"
        );
    }
}
