//! RFC 3261 §17.2.1 with RFC 6026 §7.1: the INVITE server transaction
//! answers 100 Trying at once, absorbs retransmitted INVITEs by resending
//! its latest response, retransmits a non-2xx final on Timer G (capped at
//! T2) until the ACK or Timer H, waits Timer I in Confirmed, and after a 2xx
//! stays Accepted for Timer L, absorbing INVITEs and passing ACKs up.

#[path = "txn-support/mod.rs"]
mod support;

use rsip::Method;
use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Event, TxId, TxState};
use tandem_sip::transport::Transport;

fn invite_request() -> rsip::Request {
    request(std::str::from_utf8(&incoming("INVITE", "z9hG4bKs1", Transport::Udp)).unwrap())
}

#[test]
fn retransmitted_invite_gets_the_latest_response_not_a_new_event() {
    let mut h = Harness::new();
    let invite = incoming("INVITE", "z9hG4bKs1", Transport::Udp);
    h.receive(remote(Transport::Udp), &invite).unwrap();
    let tx = h.new_request_tx();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Proceeding));
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|(_, _, m)| status(m)).collect::<Vec<_>>(),
        [Some(100)]
    );
    assert_eq!(
        message::to_tag(&sent[0].2),
        Ok(None),
        "100 Trying has no To tag"
    );

    h.run_until(ms(500));
    h.receive(remote(Transport::Udp), &invite).unwrap();
    assert_eq!(status(&h.take_sent()[0].2), Some(100));

    let request = h.layer.server_request(tx).unwrap().clone();
    h.respond(tx, message::response_to(&request, 180, None, Some("me")))
        .unwrap();
    h.take_sent();
    h.receive(remote(Transport::Udp), &invite).unwrap();
    let resent = h.take_sent();
    assert_eq!(status(&resent[0].2), Some(180));
    assert_eq!(h.layer.stats().absorbed_requests, 2);
    assert_eq!(h.layer.stats().retransmitted_responses, 2);
    assert_eq!(
        h.take_events().len(),
        1,
        "only the first INVITE reached the TU"
    );
}

#[test]
fn non_2xx_final_is_retransmitted_on_timer_g_until_the_ack_then_timer_i() {
    let mut h = Harness::new();
    h.receive(
        remote(Transport::Udp),
        &incoming("INVITE", "z9hG4bKs1", Transport::Udp),
    )
    .unwrap();
    let tx = h.new_request_tx();
    h.take_sent();
    let busy = message::response_to(&invite_request(), 486, None, Some("me"));
    h.respond(tx, busy.clone()).unwrap();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Completed));
    h.run_until(ms(11_600));
    let sent = h.take_sent();
    assert!(
        sent.iter()
            .all(|(_, to, m)| status(m) == Some(486) && *to == remote(Transport::Udp))
    );
    // Timer G: 0.5, 1, 2, 4, 4 s.
    assert_eq!(
        times(&sent),
        vec![ms(0), ms(500), ms(1500), ms(3500), ms(7500), ms(11500)]
    );

    // The ACK (same branch as the INVITE) moves it to Confirmed.
    let ack = message::non2xx_ack(&invite_request(), &busy);
    h.receive(remote(Transport::Udp), &message::encode_request(&ack))
        .unwrap();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Confirmed));
    assert!(
        h.take_events()
            .iter()
            .all(|(_, e)| !matches!(e, Event::Ack { .. })),
        "absorbed"
    );
    h.run_until(secs(16));
    assert!(h.take_sent().is_empty(), "Timer G stopped");
    // ACK retransmissions are absorbed during Timer I (T4 = 5 s).
    h.receive(remote(Transport::Udp), &message::encode_request(&ack))
        .unwrap();
    h.run_until(ms(16_599));
    assert_eq!(h.layer.server_state(tx), Some(TxState::Confirmed));
    h.run_until(ms(16_600));
    assert_eq!(h.layer.server_state(tx), None);
    assert!(matches!(&h.take_events()[..], [(_, Event::Terminated(TxId::Server(t)))] if *t == tx));
    assert_eq!(h.layer.stats().retransmitted_responses, 5);
}

#[test]
fn timer_h_gives_up_waiting_for_the_ack() {
    let mut h = Harness::new();
    h.receive(
        remote(Transport::Udp),
        &incoming("INVITE", "z9hG4bKs1", Transport::Udp),
    )
    .unwrap();
    let tx = h.new_request_tx();
    h.take_events();
    h.run_until(secs(1));
    h.respond(
        tx,
        message::response_to(&invite_request(), 603, None, Some("me")),
    )
    .unwrap();
    h.run_until(secs(33));
    let events = h.take_events();
    assert!(matches!(events[0], (at, Event::ServerTimeout { tx: t }) if t == tx && at == secs(33)));
    assert!(matches!(events[1].1, Event::Terminated(TxId::Server(t)) if t == tx));
    assert_eq!(h.layer.stats().timeouts_h, 1);
    // G fired at 1.5, 2.5, 4.5, 8.5, then every 4 s until 32.5: 11 times.
    assert_eq!(h.layer.stats().retransmitted_responses, 10);
    assert!(h.layer.is_empty());
}

#[test]
fn accepted_absorbs_invites_passes_acks_up_and_ends_on_timer_l() {
    let mut h = Harness::new();
    let invite = incoming("INVITE", "z9hG4bKs1", Transport::Udp);
    h.receive(remote(Transport::Udp), &invite).unwrap();
    let tx = h.new_request_tx();
    h.take_events();
    h.take_sent();
    let ok = message::response_to(&invite_request(), 200, None, Some("me"));
    h.respond(tx, ok.clone()).unwrap();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Accepted));
    assert_eq!(status(&h.take_sent()[0].2), Some(200));

    // A retransmitted INVITE is absorbed: the 2xx retransmissions are the TU's.
    h.run_until(secs(1));
    h.receive(remote(Transport::Udp), &invite).unwrap();
    assert!(h.take_sent().is_empty());
    assert!(h.take_events().is_empty());
    // The TU retransmits its 2xx through the transaction.
    h.respond(tx, ok.clone()).unwrap();
    assert_eq!(status(&h.take_sent()[0].2), Some(200));

    // An ACK that matches the transaction goes up (RFC 6026 §7.1); so does
    // the usual ACK for a 2xx, which has its own branch.
    let same_branch_ack = message::non2xx_ack(&invite_request(), &ok);
    h.receive(
        remote(Transport::Udp),
        &message::encode_request(&same_branch_ack),
    )
    .unwrap();
    h.receive(
        remote(Transport::Udp),
        &incoming("ACK", "z9hG4bKnewack", Transport::Udp),
    )
    .unwrap();
    let acks = h.take_events();
    assert_eq!(acks.len(), 2);
    assert!(
        acks.iter()
            .all(|(_, e)| matches!(e, Event::Ack { request, .. } if request.method == Method::Ack))
    );

    h.run_until(ms(31_999));
    assert_eq!(h.layer.server_state(tx), Some(TxState::Accepted));
    h.run_until(secs(32));
    assert_eq!(h.layer.server_state(tx), None);
}
