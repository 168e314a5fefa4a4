//! RFC 3261 §12.1.2, §12.2.1.1: the UAC's route set is the 2xx's
//! Record-Route reversed, so its BYE visits the proxy nearest to it first,
//! with the callee's Contact as Request-URI (loose routing); the UAS keeps
//! Record-Route in order. Both sides agree on the dialog ID.

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response, SipMessage};
use tandem_sip::dialog::{Dialog, DialogId, DialogState, RequestVerdict, via};
use tandem_sip::message;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\n\
Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK0\r\n\
Max-Forwards: 68\r\n\
Record-Route: <sip:p2.example.com;lr>\r\n\
Record-Route: <sip:p1.example.com;lr>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=alice-tag\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Length: 0\r\n\r\n";

fn parse_request(text: &str) -> Request {
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn parse_response(bytes: &[u8]) -> Response {
    match message::parse(bytes).unwrap() {
        SipMessage::Response(r) => r,
        SipMessage::Request(_) => unreachable!(),
    }
}

fn routes(request: &Request) -> Vec<String> {
    request
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Route(r) => Some(r.value().to_owned()),
            _ => None,
        })
        .collect()
}

fn udp_via(branch: &str) -> rsip::typed::Via {
    via(
        rsip::Transport::Udp,
        rsip::Host::from("192.0.2.1").into(),
        branch,
    )
}

#[test]
fn uac_reverses_and_uas_keeps_record_route() {
    // Bob (UAS) receives the INVITE through p1 then p2 and answers 200.
    let invite = parse_request(INVITE);
    let bob_contact = rsip::Uri::try_from("sip:bob@192.0.2.4").unwrap();
    let mut bob = Dialog::uas(&invite, "bob-tag", bob_contact.clone()).unwrap();
    assert_eq!(bob.state(), DialogState::Early);
    let mut ok = message::response_to(&invite, 200, None, Some("bob-tag"));
    for h in invite.headers.iter() {
        if matches!(h, Header::RecordRoute(_)) {
            ok.headers.push(h.clone());
        }
    }
    ok.headers
        .push(Header::Contact(format!("<{bob_contact}>").into()));
    bob.handle_response_sent(&ok).unwrap();
    assert_eq!(bob.state(), DialogState::Confirmed);

    // Alice (UAC) sees the 2xx (after p1 and p2 strip their Vias).
    let ok = parse_response(&message::encode_response(&ok));
    let mut alice = Dialog::uac(&invite, &ok).unwrap();
    assert_eq!(alice.state(), DialogState::Confirmed);
    assert_eq!(alice.id().local_tag, "alice-tag");
    assert_eq!(alice.id().remote_tag, "bob-tag");

    // Alice's BYE: Request-URI Bob's Contact, Route p1 then p2, next hop p1.
    let bye = alice.build_request(Method::Bye, udp_via("bye1")).unwrap();
    assert_eq!(bye.request.uri, bob_contact);
    assert_eq!(
        routes(&bye.request),
        ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert_eq!(bye.next_hop.to_string(), "sip:p1.example.com;lr");
    assert_eq!(message::cseq(&bye.request).unwrap().seq, 314160);

    // Bob's BYE the other way: Route p2 then p1, to Alice's Contact.
    let bob_bye = bob.build_request(Method::Bye, udp_via("bye2")).unwrap();
    assert_eq!(
        bob_bye.request.uri.to_string(),
        "sip:alice@pc33.atlanta.example.com"
    );
    assert_eq!(
        routes(&bob_bye.request),
        ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    );

    // Alice's BYE, through the wire, lands in Bob's dialog.
    let received =
        parse_request(&String::from_utf8(message::encode_request(&bye.request)).unwrap());
    assert_eq!(
        DialogId::of_incoming_request(&received).unwrap().as_ref(),
        Some(bob.id())
    );
    assert_eq!(
        bob.handle_request(&received).unwrap(),
        RequestVerdict::Accept
    );
}

#[test]
fn every_in_dialog_method_is_built_with_increasing_cseq() {
    let invite = parse_request(INVITE);
    let mut ok = message::response_to(&invite, 200, None, Some("bob-tag"));
    ok.headers
        .push(Header::Contact("<sip:bob@192.0.2.4>".into()));
    let mut alice = Dialog::uac(&invite, &ok).unwrap();
    // The 2xx had no Record-Route: no Route headers, straight to Contact.
    let mut seq = 314159;
    for method in [
        Method::Info,
        Method::Options,
        Method::Update,
        Method::PRack,
        Method::Invite,
        Method::Bye,
    ] {
        let out = alice.build_request(method, udp_via("b")).unwrap();
        seq += 1;
        let cseq = message::cseq(&out.request).unwrap();
        assert_eq!((cseq.seq, cseq.method), (seq, method));
        assert!(routes(&out.request).is_empty());
        assert_eq!(out.next_hop.to_string(), "sip:bob@192.0.2.4");
        message::check_request(&out.request).unwrap();
        // Target refresh requests carry our Contact.
        let has_contact = message::contact_uri(&out.request).is_ok();
        assert_eq!(
            has_contact,
            matches!(method, Method::Invite | Method::Update),
            "{method}"
        );
    }
    // ACK and CANCEL are not built this way.
    assert!(alice.build_request(Method::Ack, udp_via("x")).is_err());
    assert!(alice.build_request(Method::Cancel, udp_via("x")).is_err());
}
