//! RFC 3261 §17: on TCP/TLS timers A, E and G are not armed and the wait
//! timers D, I, J and K are zero, so transactions end as soon as they
//! complete; B, F and H still apply.

#[path = "txn-support/mod.rs"]
mod support;

use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Event, Timer, TxState};
use tandem_sip::transport::Transport;

#[test]
fn invite_client_on_tcp_only_times_out() {
    let mut h = Harness::new();
    let tx = h.send_request(
        remote(Transport::Tcp),
        outgoing("INVITE", "z9hG4bKr1", Transport::Tcp),
    );
    h.run_until(secs(40));
    assert_eq!(h.take_sent().len(), 1, "no Timer A on TCP");
    assert!(h.take_events().iter().any(
        |(at, e)| matches!(e, Event::ClientTimeout { tx: t, timer: Timer::B } if *t == tx)
            && *at == secs(32)
    ));
}

#[test]
fn non_invite_client_on_tcp_ends_on_its_final_response() {
    let mut h = Harness::new();
    let req = outgoing("OPTIONS", "z9hG4bKr2", Transport::Tcp);
    let tx = h.send_request(remote(Transport::Tcp), req.clone());
    h.run_until(secs(10));
    assert_eq!(h.take_sent().len(), 1, "no Timer E on TCP");
    h.receive(
        remote(Transport::Tcp),
        &response_bytes(&req, 200, Some("r")),
    )
    .unwrap();
    assert_eq!(h.layer.client_state(tx), None, "Timer K is zero");
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);

    // And Timer F still applies on TCP.
    let tx = h.send_request(
        remote(Transport::Tcp),
        outgoing("OPTIONS", "z9hG4bKr3", Transport::Tcp),
    );
    h.run_until(secs(42));
    assert!(
        h.take_events()
            .iter()
            .any(|(_, e)| matches!(e, Event::ClientTimeout { tx: t, timer: Timer::F } if *t == tx))
    );
}

#[test]
fn invite_client_on_tcp_acks_and_ends_at_once() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKr4", Transport::Tcp);
    let tx = h.send_request(remote(Transport::Tcp), invite.clone());
    h.receive(
        remote(Transport::Tcp),
        &response_bytes(&invite, 404, Some("r")),
    )
    .unwrap();
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2, "the INVITE and its ACK");
    assert_eq!(h.layer.client_state(tx), None, "Timer D is zero");
}

#[test]
fn invite_server_on_tcp_has_no_timer_g_and_no_timer_i() {
    let mut h = Harness::new();
    let bytes = incoming("INVITE", "z9hG4bKr5", Transport::Tcp);
    h.receive(remote(Transport::Tcp), &bytes).unwrap();
    let tx = h.new_request_tx();
    let request = h.layer.server_request(tx).unwrap().clone();
    let busy = message::response_to(&request, 486, None, Some("me"));
    h.respond(tx, busy.clone()).unwrap();
    h.run_until(secs(20));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2, "100 and 486, no Timer G");
    assert!(sent.iter().all(|(_, to, _)| *to == remote(Transport::Tcp)));
    h.receive(
        remote(Transport::Tcp),
        &message::encode_request(&message::non2xx_ack(&request, &busy)),
    )
    .unwrap();
    assert_eq!(h.layer.server_state(tx), None, "Timer I is zero");

    // Timer H still applies on TCP.
    h.take_events();
    h.receive(
        remote(Transport::Tcp),
        &incoming("INVITE", "z9hG4bKr6", Transport::Tcp),
    )
    .unwrap();
    let tx = h
        .take_events()
        .into_iter()
        .find_map(|(_, e)| match e {
            Event::Request { tx, .. } => Some(tx),
            _ => None,
        })
        .unwrap();
    let request = h.layer.server_request(tx).unwrap().clone();
    h.respond(tx, message::response_to(&request, 486, None, Some("me")))
        .unwrap();
    assert_eq!(h.layer.server_state(tx), Some(TxState::Completed));
    h.run_until(secs(60));
    assert!(
        h.take_events()
            .iter()
            .any(|(_, e)| matches!(e, Event::ServerTimeout { tx: t } if *t == tx))
    );
}

#[test]
fn non_invite_server_on_tcp_ends_on_its_final_response() {
    let mut h = Harness::new();
    h.receive(
        remote(Transport::Tcp),
        &incoming("REGISTER", "z9hG4bKr7", Transport::Tcp),
    )
    .unwrap();
    let tx = h.new_request_tx();
    let request = h.layer.server_request(tx).unwrap().clone();
    h.respond(tx, message::response_to(&request, 200, None, Some("me")))
        .unwrap();
    assert_eq!(h.layer.server_state(tx), None, "Timer J is zero");
    assert_eq!(h.layer.poll_timeout(), None);
}
