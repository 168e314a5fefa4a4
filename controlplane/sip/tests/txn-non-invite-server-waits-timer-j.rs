//! RFC 3261 §17.2.2: the non-INVITE server transaction discards request
//! retransmissions until the TU answers, then resends its latest response
//! for each, and after a final response waits Timer J (64·T1 on UDP).

#[path = "txn-support/mod.rs"]
mod support;

use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Misuse, TxError, TxState};
use tandem_sip::transport::Transport;

#[test]
fn trying_proceeding_completed_then_timer_j() {
    let mut h = Harness::new();
    let options = incoming("OPTIONS", "z9hG4bKj1", Transport::Udp);
    h.receive(remote(Transport::Udp), &options).unwrap();
    let tx = h.new_request_tx();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Trying));
    assert!(h.take_sent().is_empty(), "no 100 for non-INVITE");
    h.receive(remote(Transport::Udp), &options).unwrap();
    assert!(h.take_sent().is_empty(), "nothing to resend yet");

    let request = h.layer.server_request(tx).unwrap().clone();
    h.respond(tx, message::response_to(&request, 100, None, None))
        .unwrap();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Proceeding));
    h.receive(remote(Transport::Udp), &options).unwrap();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|(_, _, m)| status(m)).collect::<Vec<_>>(),
        [Some(100), Some(100)]
    );

    h.run_until(secs(1));
    h.respond(tx, message::response_to(&request, 200, None, Some("me")))
        .unwrap();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Completed));
    h.receive(remote(Transport::Udp), &options).unwrap();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|(_, _, m)| status(m)).collect::<Vec<_>>(),
        [Some(200), Some(200)]
    );
    assert_eq!(h.layer.stats().absorbed_requests, 3);
    assert_eq!(h.take_events().len(), 1);

    // A second final is misuse.
    assert_eq!(
        h.respond(tx, message::response_to(&request, 500, None, Some("me"))),
        Err(TxError::Misuse(Misuse::FinalResponseAlreadySent))
    );

    h.run_until(ms(32_999));
    assert_eq!(h.layer.server_state(tx), Some(TxState::Completed));
    h.run_until(secs(33));
    assert_eq!(h.layer.server_state(tx), None);
    assert_eq!(
        h.respond(tx, message::response_to(&request, 200, None, None)),
        Err(TxError::Misuse(Misuse::UnknownTransaction))
    );
}

#[test]
fn responses_follow_received_and_rport() {
    let mut h = Harness::new();
    // The client is behind a NAT: its Via says 10.0.0.5:5060 and asks for rport.
    let text = String::from_utf8(incoming("OPTIONS", "z9hG4bKj2", Transport::Udp))
        .unwrap()
        .replace(
            "198.51.100.2:5060;branch=z9hG4bKj2",
            "10.0.0.5:5060;rport;branch=z9hG4bKj2",
        );
    let nat = tandem_sip::transport::Peer::udp("198.51.100.2:40123".parse().unwrap());
    h.receive(nat, text.as_bytes()).unwrap();
    let tx = h.new_request_tx();
    let request = h.layer.server_request(tx).unwrap().clone();
    let via = message::top_via(&request).unwrap();
    assert_eq!(via.received(), Some("198.51.100.2"));
    assert_eq!(via.rport(), message::Rport::Port(40123));
    h.respond(tx, message::response_to(&request, 200, None, Some("me")))
        .unwrap();
    let sent = h.take_sent();
    assert_eq!(sent[0].1, nat);
    let back = message::top_via(&sent[0].2).unwrap();
    assert_eq!(back.received(), Some("198.51.100.2"));
}
