//! RFC 3261 §12.2.2: a request whose CSeq is lower than the last one in the
//! dialog is refused with 500; equal or higher numbers (gaps allowed) are
//! accepted, an ACK is outside the ordering, and a re-INVITE or UPDATE
//! refreshes the remote target.

use rsip::{Request, SipMessage};
use tandem_sip::dialog::{Dialog, DialogError, PeerMisbehaviour, RequestVerdict};
use tandem_sip::message;

fn parse(text: &str) -> Request {
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn in_dialog(method: &str, cseq: u32, contact: &str) -> Request {
    parse(&format!(
        "{method} sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\n\
         To: <sip:bob@example.com>;tag=b\r\nCall-ID: call-1\r\nCSeq: {cseq} {method}\r\n\
         {contact}Content-Length: 0\r\n\r\n"
    ))
}

fn dialog() -> Dialog {
    let invite = parse(
        "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK0\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: call-1\r\nCSeq: 10 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\n\
         Content-Length: 0\r\n\r\n",
    );
    let mut d = Dialog::uas(
        &invite,
        "b",
        rsip::Uri::try_from("sip:bob@192.0.2.4").unwrap(),
    )
    .unwrap();
    let ok = message::response_to(&invite, 200, None, Some("b"));
    d.handle_response_sent(&ok).unwrap();
    d
}

#[test]
fn lower_cseq_gets_500() {
    let mut d = dialog();
    assert_eq!(
        d.handle_request(&in_dialog("INFO", 12, "")).unwrap(),
        RequestVerdict::Accept
    );
    let late = in_dialog("INFO", 11, "");
    let err = d.handle_request(&late).unwrap_err();
    assert_eq!(
        err,
        DialogError::PeerMisbehaved(PeerMisbehaviour::CSeqOutOfOrder {
            received: 11,
            last: 12
        })
    );
    assert_eq!(err.to_sip_status(), Some(500));
    // The remote CSeq did not move back.
    assert_eq!(d.remote_seq(), Some(12));
    // Gaps are fine (§12.2.2: higher, not necessarily by one).
    assert_eq!(
        d.handle_request(&in_dialog("BYE", 40, "")).unwrap(),
        RequestVerdict::Accept
    );
}

#[test]
fn ack_for_the_2xx_is_outside_the_ordering() {
    let mut d = dialog();
    // An INFO overtakes the ACK for the INVITE (CSeq 10).
    assert_eq!(
        d.handle_request(&in_dialog("INFO", 11, "")).unwrap(),
        RequestVerdict::Accept
    );
    assert_eq!(
        d.handle_request(&in_dialog("ACK", 10, "")).unwrap(),
        RequestVerdict::Ack
    );
}

#[test]
fn reinvite_and_update_refresh_the_remote_target() {
    let mut d = dialog();
    assert_eq!(d.remote_target().to_string(), "sip:alice@192.0.2.1");
    let reinvite = in_dialog("INVITE", 11, "Contact: <sip:alice@198.51.100.7:5070>\r\n");
    assert_eq!(d.handle_request(&reinvite).unwrap(), RequestVerdict::Accept);
    assert_eq!(d.remote_target().to_string(), "sip:alice@198.51.100.7:5070");
    // INFO is not a target refresh.
    let info = in_dialog("INFO", 12, "Contact: <sip:elsewhere@203.0.113.9>\r\n");
    assert_eq!(d.handle_request(&info).unwrap(), RequestVerdict::Accept);
    assert_eq!(d.remote_target().to_string(), "sip:alice@198.51.100.7:5070");
}

#[test]
fn request_from_another_dialog_is_481() {
    let mut d = dialog();
    let other = in_dialog("BYE", 20, "")
        .to_string()
        .replace("tag=a", "tag=zz");
    let other = parse(&other);
    assert_eq!(
        d.handle_request(&other).unwrap_err().to_sip_status(),
        Some(481)
    );
}
