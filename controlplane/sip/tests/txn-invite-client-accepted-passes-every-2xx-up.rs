//! RFC 6026 §8.4: after a 2xx the INVITE client transaction stays in
//! Accepted for Timer M (64·T1) and passes every 2xx up, retransmissions
//! and forks alike, so the TU can (re-)ACK each; once it is gone, a 2xx
//! comes up as a stray for the TU to ACK.

#[path = "txn-support/mod.rs"]
mod support;

use support::*;
use tandem_sip::message;
use tandem_sip::transaction::{Event, Input, TxId, TxState};
use tandem_sip::transport::Transport;

#[test]
fn accepted_passes_retransmissions_and_forks_then_timer_m_ends_it() {
    let mut h = Harness::new();
    let invite = outgoing("INVITE", "z9hG4bKm1", Transport::Udp);
    let tx = h.send_request(remote(Transport::Udp), invite.clone());
    h.run_until(ms(300));
    let ok_a = response_bytes(&invite, 200, Some("fork-a"));
    let ok_b = response_bytes(&invite, 200, Some("fork-b"));
    h.receive(remote(Transport::Udp), &ok_a).unwrap();
    assert_eq!(h.layer.client_state(tx), Some(TxState::Accepted));
    h.run_until(secs(1));
    h.receive(remote(Transport::Udp), &ok_a).unwrap();
    h.receive(remote(Transport::Udp), &ok_b).unwrap();
    // A provisional after the 2xx is absorbed.
    h.receive(
        remote(Transport::Udp),
        &response_bytes(&invite, 180, Some("fork-c")),
    )
    .unwrap();
    let tags: Vec<_> = h
        .take_events()
        .into_iter()
        .map(|(_, e)| match e {
            Event::Response { tx: t, response } => {
                assert_eq!(t, tx);
                message::to_tag(&response).unwrap().unwrap().to_owned()
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(tags, ["fork-a", "fork-a", "fork-b"]);

    // The TU ACKs statelessly; the transaction sends nothing itself.
    let ack = message::non2xx_ack(
        &invite,
        &message::response_to(&invite, 200, None, Some("fork-a")),
    );
    h.layer
        .handle_input(
            h.now,
            Input::SendStateless {
                to: remote(Transport::Udp),
                message: ack.into(),
            },
        )
        .unwrap();
    h.drain();
    assert_eq!(h.take_sent().len(), 2, "the INVITE and the TU's ACK");

    // Timer M: 32 s after the first 2xx.
    h.run_until(ms(32_299));
    assert_eq!(h.layer.client_state(tx), Some(TxState::Accepted));
    h.run_until(ms(32_300));
    assert_eq!(h.layer.client_state(tx), None);
    assert!(
        matches!(&h.take_events()[..], [(at, Event::Terminated(TxId::Client(t)))] if *t == tx && *at == ms(32_300))
    );

    // Now a 2xx is a stray.
    h.receive(remote(Transport::Udp), &ok_b).unwrap();
    assert!(
        matches!(&h.take_events()[..], [(_, Event::Stray2xx { from, .. })] if *from == remote(Transport::Udp))
    );
    assert_eq!(h.layer.stats().stray_2xx, 1);
}
