//! RFC 4028 §9, §7.1: a UAS whose Min-SE is above the requested interval
//! answers 422 with its Min-SE when the UAC supports timers; the UAC retries
//! with the larger value, which the UAS accepts. A UAC without timer
//! support is never sent a 422 it could not understand.

use rsip::{Request, Response, SipMessage};
use tandem_sip::message;
use tandem_sip::session_timer::{
    MinSe, Refresher, SessionExpires, TimerConfig, UacNegotiation, UasDecision, reject_422,
    uas_negotiate,
};

fn invite(extra: &[rsip::Header]) -> Request {
    let text = "INVITE sip:bob@gw.example.com SIP/2.0\r\n\
                Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
                From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@gw.example.com>\r\n\
                Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@a.example.com>\r\n\
                Content-Length: 0\r\n\r\n";
    let SipMessage::Request(mut r) = message::parse(text.as_bytes()).unwrap() else {
        unreachable!()
    };
    r.headers.extend(extra.to_vec());
    r
}

#[test]
fn uas_rejects_then_uac_retries_higher() {
    let uac_config = TimerConfig::new(100, 90).unwrap();
    let uas_config = TimerConfig::new(1800, 300).unwrap();
    let mut uac = UacNegotiation::new(&uac_config, None);

    let first = invite(&uac.request_headers());
    let decision = uas_negotiate(&uas_config, &first).unwrap();
    let UasDecision::Reject { min_se } = decision else {
        panic!("expected 422, got {decision:?}");
    };
    assert_eq!(min_se, MinSe(300));
    let response = reject_422(&first, min_se, Some("uas-tag"));
    assert_eq!(response.status_code.code(), 422);
    // Through the wire and back, as the UAC would see it.
    let bytes = message::encode_response(&response);
    let SipMessage::Response(response) = message::parse(&bytes).unwrap() else {
        unreachable!()
    };
    assert_eq!(MinSe::of_message(&response).unwrap(), Some(MinSe(300)));

    uac.handle_422(&response).unwrap();
    assert_eq!(uac.session_expires(), 300);
    let retry = invite(&uac.request_headers());
    assert_eq!(
        SessionExpires::of_message(&retry)
            .unwrap()
            .map(|s| s.interval),
        Some(300)
    );
    assert_eq!(MinSe::of_message(&retry).unwrap(), Some(MinSe(300)));
    let UasDecision::Accept(answer) = uas_negotiate(&uas_config, &retry).unwrap() else {
        panic!("the retry must be accepted");
    };
    assert_eq!(answer.negotiated.interval, 300);
    // The UAC supports timers and did not choose: our preference (uac),
    // which needs Require: timer in the 2xx.
    assert_eq!(answer.negotiated.refresher, Refresher::Uac);
    assert!(answer.require_timer);
}

#[test]
fn a_422_that_does_not_raise_the_bar_is_not_retried() {
    let mut uac = UacNegotiation::new(&TimerConfig::new(1800, 90).unwrap(), None);
    let text = "SIP/2.0 422 Session Interval Too Small\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
                Min-SE: 600\r\nContent-Length: 0\r\n\r\n";
    let response = Response::try_from(text).unwrap();
    assert!(uac.handle_422(&response).is_err());
    let no_min_se = Response::try_from(text.replace("Min-SE: 600\r\n", "")).unwrap();
    assert!(uac.handle_422(&no_min_se).is_err());
}

#[test]
fn uac_without_timer_support_is_not_sent_422() {
    let uas_config = TimerConfig::new(1800, 300).unwrap();
    // A proxy inserted Session-Expires; the UAC has no Supported: timer.
    let request = invite(&[SessionExpires {
        interval: 120,
        refresher: None,
    }
    .to_header()]);
    let UasDecision::Accept(answer) = uas_negotiate(&uas_config, &request).unwrap() else {
        panic!("must not send 422 to a UAC that does not support it");
    };
    assert_eq!(answer.negotiated.refresher, Refresher::Uas);
    assert!(!answer.require_timer);
    assert_eq!(answer.negotiated.interval, 300);
}

#[test]
fn uas_keeps_the_requested_refresher_and_never_raises_the_interval() {
    let uas_config = TimerConfig::new(1800, 90).unwrap();
    let request = invite(&[
        rsip::Header::Supported("timer, 100rel".into()),
        SessionExpires {
            interval: 600,
            refresher: Some(Refresher::Uas),
        }
        .to_header(),
    ]);
    let UasDecision::Accept(answer) = uas_negotiate(&uas_config, &request).unwrap() else {
        panic!()
    };
    assert_eq!(answer.session_expires.to_string(), "600;refresher=uas");
    assert!(!answer.require_timer);
    // A malformed Session-Expires is a 400.
    let bad = invite(&[rsip::Header::Other("Session-Expires".into(), "soon".into())]);
    assert_eq!(
        uas_negotiate(&uas_config, &bad)
            .unwrap_err()
            .to_sip_status(),
        Some(400)
    );
}
