//! RFC 3261 §17.1.1.3: the INVITE client transaction ACKs a non-2xx final
//! response itself, with the INVITE's branch and the response's To tag,
//! resends the ACK for each retransmission of the response while Timer D
//! runs, and never ACKs a 2xx.

#[path = "txn-support/mod.rs"]
mod support;

use rsip::Method;
use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Event, TxId, TxState};
use tandem_sip::transport::Transport;

#[test]
fn busy_here_is_acked_and_reacked_until_timer_d() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKd1", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), invite.clone());
    h.take_sent();
    h.run_until(ms(100));
    let busy = response_bytes(&invite, 486, Some("callee"));
    h.receive(remote(Transport::Udp), &busy).unwrap();
    assert_eq!(h.layer.client_state(tx), Some(TxState::Completed));

    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    let (_, to, ack) = &sent[0];
    assert_eq!(*to, remote(Transport::Udp));
    let rsip::SipMessage::Request(ack) = ack else {
        panic!("not a request")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    assert_eq!(message::top_via(ack).unwrap().branch(), Some("z9hG4bKd1"));
    assert_eq!(message::to_tag(ack), Ok(Some("callee")));
    assert_eq!(message::from_tag(ack), Ok(Some("ft1")));
    assert_eq!(message::call_id(ack), message::call_id(&invite));
    let cseq = message::cseq(ack).unwrap();
    assert_eq!((cseq.seq, cseq.method), (1, Method::Ack));

    let events = h.take_events();
    assert!(
        matches!(&events[..], [(_, Event::Response { response, .. })] if response.status_code.code() == 486)
    );

    // Our ACK was lost: the 486 comes again, and the ACK is resent, but the
    // TU hears of the 486 only once.
    h.run_until(secs(2));
    h.receive(remote(Transport::Udp), &busy).unwrap();
    let again = h.take_sent();
    assert_eq!(again.len(), 1);
    assert_eq!(method(&again[0].2), Some(Method::Ack));
    assert!(h.take_events().is_empty());
    assert_eq!(h.layer.stats().retransmitted_requests.get(Method::Ack), 1);

    // Timer D: 32 s after the 486.
    h.run_until(ms(32_099));
    assert_eq!(h.layer.client_state(tx), Some(TxState::Completed));
    h.run_until(ms(32_100));
    assert_eq!(h.layer.client_state(tx), None);
    assert!(matches!(&h.take_events()[..], [(_, Event::Terminated(TxId::Client(t)))] if *t == tx));
}

#[test]
fn a_2xx_is_not_acked_by_the_transaction() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKd2", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), invite.clone());
    h.take_sent();
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&invite, 200, Some("callee")),
    )
    .unwrap();
    assert_eq!(h.layer.client_state(tx), Some(TxState::Accepted));
    assert!(h.take_sent().is_empty(), "the TU ACKs a 2xx (§13.2.2.4)");
}
