//! RFC 3261 §14: a re-INVITE that crosses ours is answered 491; the one
//! who owns the Call-ID backs off 2.1–4 s, the other 0–2 s; and a second
//! re-INVITE while we still owe a final response gets 500 + Retry-After.

use rsip::{Method, Request, SipMessage};
use tandem_sip::dialog::{Dialog, RequestVerdict, Role, via};
use tandem_sip::message;

fn parse(text: &str) -> Request {
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn reinvite(cseq: u32) -> Request {
    parse(&format!(
        "INVITE sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\n\
         To: <sip:bob@example.com>;tag=b\r\nCall-ID: call-1\r\nCSeq: {cseq} INVITE\r\n\
         Contact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n"
    ))
}

fn bob() -> Dialog {
    let invite = reinvite(1).to_string().replace(";tag=b", "");
    let invite = parse(&invite);
    let mut d = Dialog::uas(
        &invite,
        "b",
        rsip::Uri::try_from("sip:bob@192.0.2.4").unwrap(),
    )
    .unwrap();
    d.handle_response_sent(&message::response_to(&invite, 200, None, Some("b")))
        .unwrap();
    d
}

fn udp_via() -> rsip::typed::Via {
    via(
        rsip::Transport::Udp,
        rsip::Host::from("192.0.2.4").into(),
        "z9hG4bKbob",
    )
}

#[test]
fn crossing_reinvite_gets_491_with_the_uas_backoff() {
    let mut bob = bob();
    assert_eq!(bob.role(), Role::Uas);
    let ours = bob.build_request(Method::Invite, udp_via()).unwrap();
    assert!(bob.local_invite_pending());
    // And a second one of ours is refused until the first completes.
    assert!(bob.build_request(Method::Invite, udp_via()).is_err());

    let theirs = reinvite(2);
    let RequestVerdict::Reject(rejection) = bob.handle_request(&theirs).unwrap() else {
        panic!("expected a rejection");
    };
    assert_eq!(rejection.status, 491);
    let response = rejection.to_response(&theirs);
    assert_eq!(response.status_code.code(), 491);
    assert_eq!(message::cseq(&response).unwrap().seq, 2);

    // Bob did not generate the Call-ID: 0 to 2 s, in 10 ms steps.
    assert_eq!(*bob.glare_retry_range().start(), std::time::Duration::ZERO);
    assert_eq!(
        *bob.glare_retry_range().end(),
        std::time::Duration::from_secs(2)
    );
    for r in [0, 7, 200, u32::MAX] {
        let d = bob.glare_retry_delay(r);
        assert!(bob.glare_retry_range().contains(&d));
        assert_eq!(d.as_millis() % 10, 0);
    }

    // Our re-INVITE gets its own 491; once final, we may try again.
    let glare = message::response_to(&ours.request, 491, None, None);
    let _ = bob.handle_response(&glare).unwrap();
    assert!(!bob.local_invite_pending());
    assert!(bob.build_request(Method::Invite, udp_via()).is_ok());
}

#[test]
fn second_reinvite_before_our_final_response_gets_500_retry_after() {
    let mut bob = bob();
    assert_eq!(
        bob.handle_request(&reinvite(2)).unwrap(),
        RequestVerdict::Accept
    );
    let third = reinvite(3);
    let RequestVerdict::Reject(rejection) = bob.handle_request(&third).unwrap() else {
        panic!("expected a rejection");
    };
    assert_eq!(rejection.status, 500);
    let retry_after = rejection.retry_after.unwrap();
    assert!(retry_after <= 10);
    let text = rejection.to_response(&third).to_string();
    assert!(text.contains("Retry-After:"), "{text}");
    // After our 200 to CSeq 2, a new re-INVITE is fine.
    bob.handle_response_sent(&message::response_to(&reinvite(2), 200, None, None))
        .unwrap();
    assert_eq!(
        bob.handle_request(&reinvite(4)).unwrap(),
        RequestVerdict::Accept
    );
}
