//! RFC 3261 §9.2: a CANCEL is its own server transaction, and the layer
//! tells the TU which INVITE server transaction it cancels (same branch and
//! sent-by), so the TU can answer 200 to the CANCEL and 487 to the INVITE.

#[path = "txn-support/mod.rs"]
mod support;

use rsip::Method;
use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Event, TxState};
use tandem_sip::transport::Transport;

#[test]
fn cancel_names_the_invite_it_cancels() {
    let mut h = Harness::new();
    let invite_bytes = incoming("INVITE", "z9hG4bKc1", Transport::Udp);
    h.receive(remote(Transport::Udp), &invite_bytes).unwrap();
    let invite_tx = h.new_request_tx();
    let invite = h.layer.server_request(invite_tx).unwrap().clone();
    h.respond(
        invite_tx,
        message::response_to(&invite, 180, None, Some("me")),
    )
    .unwrap();
    h.take_events();
    h.take_sent();

    // The caller cancels: same branch, CSeq method CANCEL.
    let cancel = message::build_cancel(&request(std::str::from_utf8(&invite_bytes).unwrap()));
    h.receive(remote(Transport::Udp), &message::encode_request(&cancel))
        .unwrap();
    let events = h.take_events();
    let (cancel_tx, cancels) = match &events[..] {
        [
            (
                _,
                Event::Request {
                    tx,
                    request,
                    cancels,
                    ..
                },
            ),
        ] => {
            assert_eq!(request.method, Method::Cancel);
            (*tx, *cancels)
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(cancels, Some(invite_tx));
    assert_ne!(cancel_tx, invite_tx);

    // The TU: 200 to the CANCEL, 487 to the INVITE (§9.2).
    let cancel_req = h.layer.server_request(cancel_tx).unwrap().clone();
    h.respond(
        cancel_tx,
        message::response_to(&cancel_req, 200, None, Some("me")),
    )
    .unwrap();
    h.respond(
        invite_tx,
        message::response_to(&invite, 487, None, Some("me")),
    )
    .unwrap();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|(_, _, m)| status(m)).collect::<Vec<_>>(),
        [Some(200), Some(487)]
    );
    let cseq = message::cseq(&sent[0].2).unwrap();
    assert_eq!(cseq.method, Method::Cancel);
    assert_eq!(h.layer.server_state(invite_tx), Some(TxState::Completed));

    // A retransmitted CANCEL is absorbed and answered again.
    h.receive(remote(Transport::Udp), &message::encode_request(&cancel))
        .unwrap();
    assert!(h.take_events().is_empty());
    assert_eq!(status(&h.take_sent()[0].2), Some(200));
}

#[test]
fn cancel_for_an_unknown_invite_names_none() {
    let mut h = Harness::new();
    h.receive(
        remote(Transport::Udp),
        &incoming("CANCEL", "z9hG4bKc2", Transport::Udp),
    )
    .unwrap();
    let events = h.take_events();
    assert!(matches!(
        &events[..],
        [(_, Event::Request { cancels: None, .. })]
    ));
}

#[test]
fn cancel_from_another_sent_by_does_not_match() {
    let mut h = Harness::new();
    h.receive(
        remote(Transport::Udp),
        &incoming("INVITE", "z9hG4bKc3", Transport::Udp),
    )
    .unwrap();
    h.take_events();
    let other = String::from_utf8(incoming("CANCEL", "z9hG4bKc3", Transport::Udp))
        .unwrap()
        .replace("198.51.100.2:5060;branch", "203.0.113.9:5060;branch");
    h.receive(remote(Transport::Udp), other.as_bytes()).unwrap();
    let events = h.take_events();
    assert!(matches!(
        &events[..],
        [(_, Event::Request { cancels: None, .. })]
    ));
}
