//! Hostile or broken input never panics, is counted, and is answered where
//! RFC 3261 says so: requests failing §8.1.1 get a 400 naming the header,
//! RFC 2543 requests (no magic cookie) a 400, responses with two Vias are
//! discarded (§8.1.3.3), unmatched responses are counted; errors say who is
//! to blame.

#[path = "txn-support/mod.rs"]
mod support;

use support::*;
use tandem_sip::message::{self, HeaderError};
use tandem_sip::transaction::{
    Input, Misuse, PeerMisbehaved, TimerConfig, TransactionLayer, TxError,
};
use tandem_sip::transport::Transport;

fn reason(
    sent: &[(
        std::time::Duration,
        tandem_sip::transport::Peer,
        rsip::SipMessage,
    )],
) -> String {
    let bytes = message::encode(&sent[0].2);
    let line = bytes.split(|&b| b == b'\r').next().unwrap();
    String::from_utf8(line.to_vec()).unwrap()
}

#[test]
fn missing_mandatory_header_gets_400_with_the_header_named() {
    let mut h = Harness::new();
    let text = String::from_utf8(incoming("INVITE", "z9hG4bKh1", Transport::Udp))
        .unwrap()
        .replace("Max-Forwards: 70\r\n", "");
    assert_eq!(
        h.receive(remote(Transport::Udp), text.as_bytes()),
        Err(TxError::Malformed(HeaderError::Missing("Max-Forwards")))
    );
    let sent = h.take_sent();
    assert_eq!(reason(&sent), "SIP/2.0 400 Missing Max-Forwards header");
    assert!(h.take_events().is_empty());
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.stats().malformed, 1);
}

#[test]
fn cseq_method_mismatch_gets_400() {
    let mut h = Harness::new();
    let text = String::from_utf8(incoming("OPTIONS", "z9hG4bKh2", Transport::Udp))
        .unwrap()
        .replace("CSeq: 7 OPTIONS", "CSeq: 7 INVITE");
    assert_eq!(
        h.receive(remote(Transport::Udp), text.as_bytes()),
        Err(TxError::Malformed(HeaderError::CSeqMethodMismatch))
    );
    assert_eq!(
        reason(&h.take_sent()),
        "SIP/2.0 400 CSeq method does not match the request"
    );
}

#[test]
fn rfc2543_branch_is_rejected_with_400() {
    let mut h = Harness::new();
    let text = String::from_utf8(incoming("INVITE", "oldstyle1", Transport::Udp)).unwrap();
    assert_eq!(
        h.receive(remote(Transport::Udp), text.as_bytes()),
        Err(TxError::PeerMisbehaved(PeerMisbehaved::NoMagicCookie))
    );
    assert_eq!(
        reason(&h.take_sent()),
        "SIP/2.0 400 RFC 2543 transactions not supported"
    );
    assert_eq!(h.layer.stats().rejected_rfc2543, 1);
    // A bare magic cookie is no better.
    let text = String::from_utf8(incoming("OPTIONS", "z9hG4bK", Transport::Udp)).unwrap();
    assert!(h.receive(remote(Transport::Udp), text.as_bytes()).is_err());
}

#[test]
fn request_without_via_is_dropped_silently() {
    let mut h = Harness::new();
    let text = String::from_utf8(incoming("OPTIONS", "z9hG4bKh3", Transport::Udp))
        .unwrap()
        .replace(
            "Via: SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bKh3\r\n",
            "",
        );
    assert_eq!(
        h.receive(remote(Transport::Udp), text.as_bytes()),
        Err(TxError::Malformed(HeaderError::Missing("Via")))
    );
    assert!(h.take_sent().is_empty(), "nowhere to send a response");
}

#[test]
fn responses_that_match_nothing_are_counted_and_dropped() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKh4", Transport::Udp);
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&invite, 486, Some("x")),
    )
    .unwrap();
    let options = outgoing("OPTIONS", "z9hG4bKh5", Transport::Udp);
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&options, 200, Some("x")),
    )
    .unwrap();
    assert_eq!(h.layer.stats().unmatched_responses, 2);
    assert!(h.take_events().is_empty());

    // Same branch but another method: not ours either (§17.1.3).
    h.send_request(remote(Transport::Udp), options.clone());
    let mut other = options.clone();
    other.method = rsip::Method::Info;
    other
        .headers
        .retain(|h| !matches!(h, rsip::Header::CSeq(_)));
    other
        .headers
        .push(rsip::Header::CSeq(rsip::headers::CSeq::from("1 INFO")));
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&other, 200, Some("x")),
    )
    .unwrap();
    assert_eq!(h.layer.stats().unmatched_responses, 3);
}

#[test]
fn response_with_two_vias_is_discarded() {
    let mut h = Harness::new();
    let options = outgoing("OPTIONS", "z9hG4bKh6", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), options.clone());
    let text = String::from_utf8(response_bytes(&options, 200, Some("x")))
        .unwrap()
        .replace(
            "\r\nFrom:",
            "\r\nVia: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKzz\r\nFrom:",
        );
    assert_eq!(
        h.receive(remote(Transport::Udp), text.as_bytes()),
        Err(TxError::PeerMisbehaved(
            PeerMisbehaved::MultipleViasInResponse
        ))
    );
    assert!(h.take_events().is_empty());
    assert!(h.layer.client_state(tx).is_some());
}

#[test]
fn tu_misuse_is_an_error_not_a_panic() {
    let mut h = Harness::new();
    let options = outgoing("OPTIONS", "z9hG4bKh7", Transport::Udp);
    h.send_request(remote(Transport::Udp), options.clone());
    assert_eq!(
        h.layer
            .send_request(h.now, remote(Transport::Udp), options.clone()),
        Err(TxError::Misuse(Misuse::DuplicateTransaction))
    );
    let no_cookie = outgoing("OPTIONS", "abc", Transport::Udp);
    assert_eq!(
        h.layer
            .send_request(h.now, remote(Transport::Udp), no_cookie),
        Err(TxError::Misuse(Misuse::BadRequest(HeaderError::Malformed(
            "Via"
        ))))
    );

    h.receive(
        remote(Transport::Udp),
        &incoming("OPTIONS", "z9hG4bKh8", Transport::Udp),
    )
    .unwrap();
    let tx = h.new_request_tx();
    let request = h.layer.server_request(tx).unwrap().clone();
    // A response built for another request.
    let wrong = message::response_to(&options, 200, None, None);
    assert_eq!(
        h.respond(tx, wrong),
        Err(TxError::Misuse(Misuse::ResponseDoesNotMatch))
    );
    let mut bad_status = message::response_to(&request, 200, None, None);
    bad_status.status_code = message::status_code(700, None);
    assert_eq!(
        h.respond(tx, bad_status),
        Err(TxError::Misuse(Misuse::InvalidStatus))
    );
    assert_eq!(
        h.layer.server_state(tx),
        Some(tandem_sip::transaction::TxState::Trying)
    );
}

#[test]
fn the_transaction_limit_answers_503() {
    let mut h = Harness::new();
    h.layer = TransactionLayer::new(TimerConfig::default()).with_max_transactions(1);
    h.receive(
        remote(Transport::Udp),
        &incoming("OPTIONS", "z9hG4bKo1", Transport::Udp),
    )
    .unwrap();
    h.take_sent();
    assert_eq!(
        h.receive(
            remote(Transport::Udp),
            &incoming("OPTIONS", "z9hG4bKo2", Transport::Udp)
        ),
        Err(TxError::Overloaded)
    );
    assert_eq!(reason(&h.take_sent()), "SIP/2.0 503 Overloaded");
    assert_eq!(
        h.layer.send_request(
            h.now,
            remote(Transport::Udp),
            outgoing("OPTIONS", "z9hG4bKo3", Transport::Udp)
        ),
        Err(TxError::Overloaded)
    );
    assert_eq!(h.layer.stats().overloaded, 2);
    let _ = h.layer.handle_input(
        h.now,
        Input::SendStateless {
            to: remote(Transport::Udp),
            message: message::response_to(
                &outgoing("OPTIONS", "z9hG4bKo4", Transport::Udp),
                200,
                None,
                None,
            )
            .into(),
        },
    );
}
