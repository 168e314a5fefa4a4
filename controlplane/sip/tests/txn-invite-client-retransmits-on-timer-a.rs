//! RFC 3261 §17.1.1.2: on UDP the INVITE is retransmitted when Timer A
//! fires, Timer A doubling each time (no T2 cap for INVITE), until Timer B;
//! a provisional response stops the retransmissions.

#[path = "txn-support/mod.rs"]
mod support;

use rsip::Method;
use support::*;
use tandem_sip::transaction::{Event, TxState};
use tandem_sip::transport::Transport;

#[test]
fn invite_is_retransmitted_at_doubling_intervals_until_timer_b() {
    let mut h = Harness::new();
    let tx = h.send_request(
        remote(Transport::Udp),
        outgoing("INVITE", "z9hG4bKa1", Transport::Udp),
    );
    assert_eq!(h.layer.client_state(tx), Some(TxState::Calling));
    h.run_until(secs(31));
    let sent = h.take_sent();
    assert!(
        sent.iter()
            .all(|(_, to, m)| *to == remote(Transport::Udp) && method(m) == Some(Method::Invite))
    );
    // 0, then after 0.5, 1, 2, 4, 8 and 16 s (cumulative).
    assert_eq!(
        times(&sent),
        vec![ms(0), ms(500), ms(1500), ms(3500), ms(7500), ms(15500)]
    );
    h.run_until(secs(32));
    let sent = h.take_sent();
    assert_eq!(times(&sent), vec![ms(31500)]);
    assert_eq!(
        h.layer.stats().retransmitted_requests.get(Method::Invite),
        6
    );
    assert_eq!(h.layer.client_state(tx), None, "Timer B ended it at 32 s");
}

#[test]
fn provisional_response_stops_timer_a() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKa2", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), invite.clone());
    h.run_until(ms(600));
    assert_eq!(h.take_sent().len(), 2);
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&invite, 180, Some("r1")),
    )
    .unwrap();
    assert_eq!(h.layer.client_state(tx), Some(TxState::Proceeding));
    let events = h.take_events();
    assert!(
        matches!(&events[..], [(_, Event::Response { tx: t, response })] if *t == tx && response.status_code.code() == 180)
    );
    // Proceeding: no retransmissions, and Timer B no longer applies.
    h.run_until(secs(120));
    assert!(h.take_sent().is_empty());
    assert_eq!(h.layer.client_state(tx), Some(TxState::Proceeding));
    assert_eq!(h.layer.poll_timeout(), None);
    assert_eq!(h.layer.stats().timeouts_b, 0);
}
