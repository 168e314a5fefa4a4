//! RFC 3261 §17.1.1.2 and §8.1.3.1: when Timer B fires in Calling the
//! client transaction reports a timeout, which the TU treats as a 408; §9.1:
//! after a CANCEL, an INVITE without a final response is given up 64·T1
//! later.

#[path = "txn-support/mod.rs"]
mod support;

use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Event, Timer, TxId, TxState};
use tandem_sip::transport::Transport;

#[test]
fn timer_b_reports_a_timeout_the_tu_turns_into_408() {
    let mut h = Harness::new();
    let tx = h.send_request(
        remote(Transport::Udp),
        outgoing("INVITE", "z9hG4bKb1", Transport::Udp),
    );
    let request = h.layer.client_request(tx).unwrap().clone();
    h.run_until(ms(31_999));
    assert!(h.take_events().is_empty());
    h.run_until(secs(32));
    let events = h.take_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(events[0], (at, Event::ClientTimeout { tx: t, timer: Timer::B }) if t == tx && at == secs(32))
    );
    assert!(matches!(events[1].1, Event::Terminated(TxId::Client(t)) if t == tx));
    assert_eq!(h.layer.stats().timeouts_b, 1);
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);

    // The TU synthesises the 408 from the request it sent.
    let timeout = message::response_to(&request, 408, None, None);
    assert_eq!(timeout.status_code.code(), 408);
    assert!(message::encode_response(&timeout).starts_with(b"SIP/2.0 408 Request Timeout\r\n"));
}

#[test]
fn a_late_final_after_timer_b_is_not_matched() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKb2", Transport::Udp);
    h.send_request(remote(Transport::Udp), invite.clone());
    h.run_until(secs(40));
    h.take_events();
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&invite, 486, Some("r")),
    )
    .unwrap();
    assert!(h.take_events().is_empty());
    assert_eq!(h.layer.stats().unmatched_responses, 1);
}

#[test]
fn cancel_rearms_timer_b_on_a_proceeding_invite() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKb3", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), invite.clone());
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&invite, 180, Some("r")),
    )
    .unwrap();
    h.run_until(secs(100));
    assert_eq!(h.layer.client_state(tx), Some(TxState::Proceeding));
    let cancel = message::build_cancel(&invite);
    let cancel_tx = h.send_request(remote(Transport::Udp), cancel.clone());
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&cancel, 200, Some("r")),
    )
    .unwrap();
    // The callee never sends 487: the INVITE is given up 64·T1 later.
    h.take_events();
    h.run_until(secs(132));
    let events = h.take_events();
    assert!(events.iter().any(
        |(at, e)| matches!(e, Event::ClientTimeout { tx: t, timer: Timer::B } if *t == tx)
            && *at == secs(132)
    ));
    assert!(
        events
            .iter()
            .any(|(_, e)| matches!(e, Event::Terminated(TxId::Client(t)) if *t == cancel_tx))
    );
    assert!(h.layer.is_empty());
}
