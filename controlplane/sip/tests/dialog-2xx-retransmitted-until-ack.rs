//! RFC 3261 §13.3.1.4 on a fake clock: the UAS retransmits its 2xx at T1,
//! doubling to T2, stops when the ACK arrives, and after 64·T1 without an
//! ACK tells the TU to send BYE. §13.2.2.4: the UAC answers every
//! retransmitted 2xx with the same ACK, carrying the INVITE's CSeq number.

use std::time::{Duration, Instant};

use rsip::{Request, Response, SipMessage};
use tandem_sip::dialog::{
    AckRetransmitter, AckRetransmitterOutput, Dialog, InviteResponder, InviteResponderOutput, T1,
    T2, via,
};
use tandem_sip::message;

/// The fake clock's origin: only offsets from it matter.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn invite() -> Request {
    let text = "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK0\r\n\
                Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
                Call-ID: call-1\r\nCSeq: 7 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\n\
                Proxy-Authorization: Digest username=\"alice\", realm=\"r\", nonce=\"n\", uri=\"sip:bob@example.com\", response=\"0\"\r\n\
                Content-Length: 0\r\n\r\n";
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => unreachable!(),
    }
}

fn ok() -> Response {
    let mut ok = message::response_to(&invite(), 200, None, Some("b"));
    ok.headers
        .push(rsip::Header::Contact("<sip:bob@192.0.2.4>".into()));
    ok
}

/// Every (offset, output) until the responder has nothing left to do.
fn run(
    responder: &mut InviteResponder,
    start: Instant,
    ack_at: Option<Duration>,
    ack: &Request,
) -> Vec<(Duration, InviteResponderOutput)> {
    let mut seen = Vec::new();
    while let Some(deadline) = responder.poll_timeout() {
        if let Some(at) = ack_at.filter(|at| start + *at < deadline) {
            responder.handle_ack(start + at, ack).unwrap();
            continue;
        }
        responder.handle_timeout(deadline);
        while let Some(out) = responder.poll_output() {
            seen.push((deadline - start, out));
        }
    }
    seen
}

#[test]
fn retransmits_at_t1_doubling_to_t2_then_gives_up_at_64_t1() {
    let start = epoch();
    let mut responder = InviteResponder::new(start, ok(), T1, T2).unwrap();
    let ack = invite(); // never used
    let seen = run(&mut responder, start, None, &ack);
    let times: Vec<u64> = seen.iter().map(|(t, _)| t.as_millis() as u64).collect();
    assert_eq!(
        times,
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500, 32000
        ]
    );
    assert!(seen[..10].iter().all(
        |(_, o)| matches!(o, InviteResponderOutput::Retransmit(r) if r.status_code.code() == 200)
    ));
    assert_eq!(seen[10], (64 * T1, InviteResponderOutput::AckTimedOut));
    assert!(responder.is_terminated());
    assert!(!responder.is_acknowledged());
}

#[test]
fn ack_stops_the_retransmissions() {
    let start = epoch();
    let invite = invite();
    let ok = ok();
    let alice = Dialog::uac(&invite, &ok).unwrap();
    let ack = alice
        .build_ack(
            &invite,
            via(
                rsip::Transport::Udp,
                rsip::Host::from("192.0.2.1").into(),
                "ack1",
            ),
        )
        .unwrap();
    // The ACK reuses the INVITE's CSeq number and its credentials.
    let cseq = message::cseq(&ack.request).unwrap();
    assert_eq!((cseq.seq, cseq.method), (7, rsip::Method::Ack));
    assert!(
        ack.request
            .to_string()
            .contains("Proxy-Authorization: Digest username=\"alice\"")
    );
    assert_eq!(ack.request.uri.to_string(), "sip:bob@192.0.2.4");
    // Building the ACK did not consume a CSeq number.
    assert_eq!(alice.local_seq(), Some(7));

    let mut responder = InviteResponder::new(start, ok, T1, T2).unwrap();
    let seen = run(&mut responder, start, Some(ms(2000)), &ack.request);
    let times: Vec<u64> = seen.iter().map(|(t, _)| t.as_millis() as u64).collect();
    assert_eq!(times, [500, 1500]);
    assert!(responder.is_acknowledged());
    assert_eq!(responder.poll_timeout(), None);
}

#[test]
fn uac_resends_the_ack_for_each_retransmitted_2xx() {
    let start = epoch();
    let invite = invite();
    let ok = ok();
    let alice = Dialog::uac(&invite, &ok).unwrap();
    let ack = alice
        .build_ack(
            &invite,
            via(
                rsip::Transport::Udp,
                rsip::Host::from("192.0.2.1").into(),
                "ack1",
            ),
        )
        .unwrap();
    let mut acker = AckRetransmitter::new(start, ack.request.clone(), T1).unwrap();
    for n in 1..=3u64 {
        acker.handle_response(start + ms(500 * n), &ok).unwrap();
        assert_eq!(
            acker.poll_output(),
            Some(AckRetransmitterOutput::Retransmit(ack.request.clone()))
        );
        assert_eq!(acker.poll_output(), None);
    }
    // A 2xx from another fork (another To tag) is not this dialog's.
    let mut forked = message::response_to(&invite, 200, None, Some("other"));
    forked
        .headers
        .push(rsip::Header::Contact("<sip:carol@192.0.2.5>".into()));
    acker.handle_response(start + ms(1700), &forked).unwrap();
    assert_eq!(acker.poll_output(), None);
    // After 64·T1 the ACK is forgotten.
    assert_eq!(acker.poll_timeout(), Some(start + 64 * T1));
    acker.handle_timeout(start + 64 * T1);
    assert!(acker.is_terminated());
    acker.handle_response(start + 64 * T1 + ms(1), &ok).unwrap();
    assert_eq!(acker.poll_output(), None);
}
