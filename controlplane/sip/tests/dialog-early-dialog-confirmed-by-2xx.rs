//! RFC 3261 §12.1.2, §12.3, §13.2.2.4: a 180 with a To tag creates an early
//! dialog on the UAC; the 2xx confirms it and its Record-Route becomes the
//! route set; a non-2xx final response ends an early dialog; a 1xx without
//! a To tag creates nothing.

use rsip::{Header, Request, Response, SipMessage};
use tandem_sip::dialog::{Dialog, DialogId, DialogState, ResponseOutcome};
use tandem_sip::message;

fn invite() -> Request {
    let text = "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK0\r\n\
                Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
                Call-ID: call-1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\n\
                Content-Length: 0\r\n\r\n";
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn response(code: u16, tag: Option<&str>, contact: &str, record_route: &[&str]) -> Response {
    let mut r = message::response_to(&invite(), code, None, tag);
    for rr in record_route {
        r.headers.push(Header::RecordRoute((*rr).into()));
    }
    if !contact.is_empty() {
        r.headers.push(Header::Contact(contact.into()));
    }
    r
}

#[test]
fn ringing_creates_early_dialog_and_200_confirms_it() {
    let ringing = response(
        180,
        Some("b"),
        "<sip:bob@10.0.0.1>",
        &["<sip:early.example.com;lr>"],
    );
    let mut d = Dialog::uac(&invite(), &ringing).unwrap();
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.route_set()[0].uri.host().to_string(), "early.example.com");
    assert!(d.local_invite_pending());

    let ok = response(
        200,
        Some("b"),
        "<sip:bob@192.0.2.4>",
        &["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"],
    );
    assert_eq!(
        DialogId::of_incoming_response(&ok).unwrap().as_ref(),
        Some(d.id())
    );
    assert_eq!(d.handle_response(&ok).unwrap(), ResponseOutcome::Confirmed);
    assert_eq!(d.state(), DialogState::Confirmed);
    assert!(!d.local_invite_pending());
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.4");
    let hosts: Vec<String> = d
        .route_set()
        .iter()
        .map(|r| r.uri.host().to_string())
        .collect();
    assert_eq!(hosts, ["p1.example.com", "p2.example.com"]);
}

#[test]
fn busy_ends_the_early_dialog() {
    let mut d = Dialog::uac(
        &invite(),
        &response(183, Some("b"), "<sip:bob@10.0.0.1>", &[]),
    )
    .unwrap();
    assert_eq!(
        d.handle_response(&response(486, Some("b"), "", &[]))
            .unwrap(),
        ResponseOutcome::Terminated
    );
}

#[test]
fn provisional_without_to_tag_creates_no_dialog() {
    let trying = response(100, None, "", &[]);
    assert!(Dialog::uac(&invite(), &trying).is_err());
    let tagless = response(180, None, "<sip:bob@10.0.0.1>", &[]);
    assert!(Dialog::uac(&invite(), &tagless).is_err());
    assert_eq!(DialogId::of_incoming_response(&tagless).unwrap(), None);
    // A 2xx without Contact cannot set the remote target.
    let bare_ok = response(200, Some("b"), "", &[]);
    assert_eq!(
        Dialog::uac(&invite(), &bare_ok)
            .unwrap_err()
            .to_sip_status(),
        Some(400)
    );
}
