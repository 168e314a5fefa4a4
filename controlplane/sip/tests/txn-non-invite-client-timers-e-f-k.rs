//! RFC 3261 §17.1.2.2: a non-INVITE request is retransmitted on Timer E,
//! doubling up to T2 in Trying and every T2 in Proceeding; Timer F ends the
//! transaction with a timeout; after a final response Timer K absorbs
//! response retransmissions for T4.

#[path = "txn-support/mod.rs"]
mod support;

use rsip::Method;
use support::*;
use tandem_sip::transaction::{Event, Timer, TxId, TxState};
use tandem_sip::transport::Transport;

#[test]
fn timer_e_doubles_up_to_t2_and_timer_f_times_out() {
    let mut h = Harness::new();
    let tx = h.send_request(
        remote(Transport::Udp),
        outgoing("OPTIONS", "z9hG4bKe1", Transport::Udp),
    );
    assert_eq!(h.layer.client_state(tx), Some(TxState::Trying));
    h.run_until(secs(32));
    let sent = h.take_sent();
    // Intervals 0.5, 1, 2, 4, then 4 s until 32 s.
    let expected: Vec<_> = [
        0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(times(&sent), expected);
    assert_eq!(
        h.layer.stats().retransmitted_requests.get(Method::Options),
        10
    );
    let events = h.take_events();
    assert!(
        matches!(events[0], (at, Event::ClientTimeout { tx: t, timer: Timer::F }) if t == tx && at == secs(32))
    );
    assert_eq!(h.layer.stats().timeouts_f, 1);
    assert!(h.layer.is_empty());
}

#[test]
fn in_proceeding_timer_e_fires_every_t2() {
    let mut h = Harness::new();
    let req = outgoing("BYE", "z9hG4bKe2", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), req.clone());
    h.run_until(ms(100));
    h.receive(remote(Transport::Udp), &response_bytes(&req, 100, None))
        .unwrap();
    assert_eq!(h.layer.client_state(tx), Some(TxState::Proceeding));
    h.take_sent();
    h.run_until(ms(9_600));
    // E was armed for 0.5 s at 0 and fires at 0.5 s; from then on every T2.
    assert_eq!(times(&h.take_sent()), vec![ms(500), ms(4500), ms(8500)]);
}

#[test]
fn final_response_enters_completed_and_timer_k_ends_it() {
    let mut h = Harness::new();
    let req = outgoing("OPTIONS", "z9hG4bKe3", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), req.clone());
    h.take_sent();
    h.run_until(ms(200));
    let ok = response_bytes(&req, 200, Some("r"));
    h.receive(remote(Transport::Udp), &ok).unwrap();
    assert_eq!(h.layer.client_state(tx), Some(TxState::Completed));
    let events = h.take_events();
    assert!(
        matches!(&events[..], [(_, Event::Response { response, .. })] if response.status_code.code() == 200)
    );
    // A retransmitted 200 is absorbed.
    h.run_until(secs(1));
    h.receive(remote(Transport::Udp), &ok).unwrap();
    assert!(h.take_events().is_empty());
    assert_eq!(h.layer.stats().absorbed_responses, 1);
    assert!(
        h.take_sent().is_empty(),
        "no retransmission after the final"
    );
    h.run_until(ms(5_199));
    assert_eq!(h.layer.client_state(tx), Some(TxState::Completed));
    h.run_until(ms(5_200));
    assert_eq!(h.layer.client_state(tx), None);
    assert!(
        matches!(&h.take_events()[..], [(at, Event::Terminated(TxId::Client(t)))] if *t == tx && *at == ms(5_200))
    );
}
