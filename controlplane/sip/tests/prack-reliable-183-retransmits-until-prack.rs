//! RFC 3262 §3, §4 on a fake clock: the UAS sends a 183 reliably (Require:
//! 100rel, RSeq), retransmits it at T1, 2·T1, 4·T1... until the UAC's PRACK
//! with the matching RAck arrives (200), answers 481 to a PRACK that
//! matches nothing, and after 64·T1 without a PRACK tells the TU to reject
//! the INVITE. The UAC PRACKs each reliable 1xx once.

use std::time::{Duration, Instant};

use rsip::{Method, Request, Response, SipMessage};
use tandem_sip::dialog::{Dialog, T1, via};
use tandem_sip::message;
use tandem_sip::reliable::{
    PrackVerdict, ProvisionalReceiver, ProvisionalSender, ProvisionalVerdict, RAck, SenderOutput,
    is_reliable, rseq,
};

/// The fake clock's origin: only offsets from it matter.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn invite() -> Request {
    let text = "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK0\r\n\
                Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
                Call-ID: call-1\r\nCSeq: 1 INVITE\r\nSupported: 100rel\r\n\
                Contact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn session_progress() -> Response {
    let mut r = message::response_to(&invite(), 183, None, Some("b"));
    r.headers
        .push(rsip::Header::Contact("<sip:bob@192.0.2.4>".into()));
    r
}

/// Through the wire, as the UAC would receive it.
fn wire(r: &Response) -> Response {
    match message::parse(&message::encode_response(r)).unwrap() {
        SipMessage::Response(r) => r,
        SipMessage::Request(_) => unreachable!(),
    }
}

fn prack_for(alice: &mut Dialog, rack: RAck) -> Request {
    let via = via(
        rsip::Transport::Udp,
        rsip::Host::from("192.0.2.1").into(),
        "prack",
    );
    let mut out = alice.build_request(Method::PRack, via).unwrap();
    out.request.headers.push(rack.to_header());
    match message::parse(&message::encode_request(&out.request)).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

#[test]
fn reliable_183_retransmits_until_prack() {
    let start = epoch();
    let mut bob = ProvisionalSender::new(&invite(), 4242, T1).unwrap();
    let first = bob.send(start, session_progress()).unwrap().unwrap();
    assert!(is_reliable(&first));
    let rseq_value = rseq(&first).unwrap().unwrap();
    assert_eq!(rseq_value, 4243);

    // Alice gets it and PRACKs, but the PRACK is slow: Bob retransmits.
    let received = wire(&first);
    let mut uac = ProvisionalReceiver::new(&invite()).unwrap();
    let ProvisionalVerdict::Prack(rack) = uac.handle_provisional(&received).unwrap() else {
        panic!("a reliable 183 needs a PRACK");
    };
    assert_eq!(rack.to_string(), "4243 1 INVITE");
    let mut alice = Dialog::uac(&invite(), &received).unwrap();
    let prack = prack_for(&mut alice, rack);
    assert_eq!(message::cseq(&prack).unwrap().seq, 2);

    let mut retransmitted_at = Vec::new();
    while let Some(deadline) = bob.poll_timeout() {
        if deadline > start + Duration::from_millis(2000) {
            break;
        }
        bob.handle_timeout(deadline);
        while let Some(out) = bob.poll_output() {
            let SenderOutput::Retransmit(r) = out else {
                panic!("{out:?}")
            };
            assert_eq!(rseq(&r).unwrap(), Some(rseq_value));
            // The retransmission is a retransmission to the UAC too.
            assert_eq!(
                uac.handle_provisional(&wire(&r)).unwrap(),
                ProvisionalVerdict::Ignore
            );
            retransmitted_at.push((deadline - start).as_millis());
        }
    }
    assert_eq!(retransmitted_at, [500, 1500]);

    // The PRACK at 2 s stops it.
    let at = start + Duration::from_millis(2000);
    assert_eq!(
        bob.handle_prack(at, &prack).unwrap(),
        PrackVerdict::Acknowledged
    );
    assert_eq!(PrackVerdict::Acknowledged.to_sip_status(), 200);
    assert_eq!(bob.poll_timeout(), None);
    // The same PRACK again (a new transaction) matches nothing: 481.
    assert_eq!(bob.handle_prack(at, &prack).unwrap().to_sip_status(), 481);
}

#[test]
fn no_prack_for_64_t1_means_reject_the_invite() {
    let start = epoch();
    let mut bob = ProvisionalSender::new(&invite(), 1, T1).unwrap();
    bob.send(start, session_progress()).unwrap().unwrap();
    let mut times = Vec::new();
    let mut timed_out = None;
    while let Some(deadline) = bob.poll_timeout() {
        bob.handle_timeout(deadline);
        while let Some(out) = bob.poll_output() {
            match out {
                SenderOutput::Retransmit(_) => times.push((deadline - start).as_millis()),
                SenderOutput::Timeout { rseq } => timed_out = Some((deadline - start, rseq)),
                other => panic!("{other:?}"),
            }
        }
    }
    // T1 doubling without the T2 cap of §17: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    assert_eq!(times, [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(timed_out, Some((64 * T1, 2)));
    // Nothing more may be sent reliably after giving up.
    assert!(bob.send(start + 64 * T1, session_progress()).is_err());
}

#[test]
fn prack_with_wrong_rack_gets_481() {
    let start = epoch();
    let mut bob = ProvisionalSender::new(&invite(), 99, T1).unwrap();
    let first = wire(&bob.send(start, session_progress()).unwrap().unwrap());
    let mut alice = Dialog::uac(&invite(), &first).unwrap();
    let right = rseq(&first).unwrap().unwrap();
    for rack in [
        RAck {
            rseq: right + 1,
            cseq: 1,
            method: Method::Invite,
        },
        RAck {
            rseq: right,
            cseq: 2,
            method: Method::Invite,
        },
        RAck {
            rseq: right,
            cseq: 1,
            method: Method::Update,
        },
    ] {
        let prack = prack_for(&mut alice, rack);
        assert_eq!(
            bob.handle_prack(start, &prack).unwrap(),
            PrackVerdict::NoMatch,
            "{rack}"
        );
    }
    // A PRACK without RAck is a 400.
    let via = via(
        rsip::Transport::Udp,
        rsip::Host::from("192.0.2.1").into(),
        "p",
    );
    let bare = alice.build_request(Method::PRack, via).unwrap().request;
    assert_eq!(
        bob.handle_prack(start, &bare).unwrap_err().to_sip_status(),
        Some(400)
    );
    // Still waiting for the right one.
    assert!(bob.is_awaiting_prack());
}

#[test]
fn next_reliable_provisional_waits_for_the_prack() {
    let start = epoch();
    let mut bob = ProvisionalSender::new(&invite(), 10, T1).unwrap();
    let first = bob.send(start, session_progress()).unwrap().unwrap();
    let mut ringing = message::response_to(&invite(), 180, None, Some("b"));
    ringing.body = b"v=0\r\n".to_vec();
    assert_eq!(bob.send(start, ringing).unwrap(), None);
    assert!(!bob.may_send_2xx(), "a queued 1xx with SDP blocks the 2xx");
    let mut alice = Dialog::uac(&invite(), &wire(&first)).unwrap();
    let prack = prack_for(
        &mut alice,
        RAck {
            rseq: 11,
            cseq: 1,
            method: Method::Invite,
        },
    );
    assert_eq!(
        bob.handle_prack(start, &prack).unwrap(),
        PrackVerdict::Acknowledged
    );
    let Some(SenderOutput::Send(second)) = bob.poll_output() else {
        panic!()
    };
    assert_eq!(second.status_code.code(), 180);
    assert_eq!(rseq(&second).unwrap(), Some(12));
    assert!(!bob.may_send_2xx());
    let prack = prack_for(
        &mut alice,
        RAck {
            rseq: 12,
            cseq: 1,
            method: Method::Invite,
        },
    );
    assert_eq!(
        bob.handle_prack(start, &prack).unwrap(),
        PrackVerdict::Acknowledged
    );
    assert!(bob.may_send_2xx());
}
