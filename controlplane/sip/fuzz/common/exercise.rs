//! The checks the `sip_message` fuzz target runs on one input; the crate's
//! `tests/fuzz-corpora-replay-cleanly.rs` includes this file to replay
//! the committed corpus on stable.
//!
//! One input is one datagram. It goes through:
//! 1. `message::parse`, then every accessor; a message that parses must
//!    encode to bytes that parse again, with the same start line and body;
//! 2. if a request: `check_request`, and responses built by `response_to`
//!    must encode and parse;
//! 3. a `StreamFramer` fed the input in two pieces, plus a copy with a
//!    ping before it: framed messages are never longer than the input;
//! 4. a `TransactionLayer` that has an INVITE and an OPTIONS outstanding
//!    with the branch `z9hG4bKfuzz` (so crafted responses match them): the
//!    parsed message is received from a UDP and a TCP peer, every new
//!    request is answered (provisional and final), and time runs past every
//!    timer. Every transmitted datagram must parse, and the layer must end
//!    empty with no timer left.

use std::time::{Duration, Instant};

use rsip::{Request, SipMessage};
use tandem_sip::message;
use tandem_sip::transaction::{Event, Input, Output, TimerConfig, TransactionLayer, TxState};
use tandem_sip::transport::{Frame, Peer, StreamFramer, Transport};

pub(crate) fn sip_message(data: &[u8]) {
    frame(data);
    let Ok(msg) = message::parse(data) else {
        return;
    };
    accessors(&msg);
    let wire = message::encode(&msg);
    let again = message::parse(&wire)
        .unwrap_or_else(|e| panic!("our own encoding does not parse ({e}): {wire:?}"));
    assert_eq!(msg.body(), again.body(), "body changed through encode");
    match (&msg, &again) {
        (SipMessage::Request(a), SipMessage::Request(b)) => {
            assert_eq!(a.method, b.method);
        }
        (SipMessage::Response(a), SipMessage::Response(b)) => {
            assert_eq!(a.status_code.code(), b.status_code.code());
        }
        _ => panic!("request/response changed through encode"),
    }
    if let SipMessage::Request(req) = &msg {
        let _ = message::check_request(req);
        for (code, tag) in [(100, None), (180, Some("t")), (486, Some("t")), (200, None)] {
            let resp = message::response_to(req, code, Some("fuzz"), tag);
            let bytes = message::encode_response(&resp);
            message::parse(&bytes).expect("response_to output parses");
        }
        let _ = message::build_cancel(req);
    }
    for transport in [Transport::Udp, Transport::Tcp] {
        transactions(msg.clone(), transport);
    }
}

fn accessors(msg: &SipMessage) {
    let _ = message::top_via(msg).map(|v| {
        let _ = (
            v.branch(),
            v.received_ip(),
            v.rport(),
            v.transport(),
            v.sent_by_ip(),
        );
        let _ = v.to_string();
    });
    let _ = message::via_count(msg);
    let _ = message::call_id(msg);
    let _ = message::cseq(msg);
    let _ = message::from_tag(msg);
    let _ = message::to_tag(msg);
    let _ = message::max_forwards(msg);
    let _ = message::contact_uri(msg);
    let _ = message::content_type(msg);
    let _ = message::content_length(msg);
    let _ = message::extension_header(msg, "Session-Expires");
    let _ = message::body(msg);
}

fn frame(data: &[u8]) {
    let mut with_ping = b"\r\n\r\n".to_vec();
    with_ping.extend_from_slice(data);
    for input in [data, &with_ping[..]] {
        let mut framer = StreamFramer::new();
        let (a, b) = input.split_at(input.len() / 2);
        for piece in [a, b] {
            if framer.handle_bytes(piece).is_err() {
                return;
            }
            while let Ok(Some(frame)) = framer.poll_frame() {
                if let Frame::Message(m) = frame {
                    assert!(m.len() <= input.len());
                    let _ = message::parse(&m);
                }
            }
        }
    }
}

fn outgoing(method: &str, transport: Transport) -> Request {
    let text = format!(
        "{method} sip:bob@198.51.100.2 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 192.0.2.1:5060;branch=z9hG4bKfuzz\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@198.51.100.2>\r\n\
         From: <sip:alice@192.0.2.1>;tag=ft1\r\nCall-ID: fuzz\r\n\
         CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    match message::parse(text.as_bytes()) {
        Ok(SipMessage::Request(r)) => r,
        _ => unreachable!("fixed request parses"),
    }
}

fn transactions(msg: SipMessage, transport: Transport) {
    // The fake clock's origin; the fuzz harness is not protocol logic.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut now = start;
    let peer = Peer::new(transport, "198.51.100.2:5060".parse().unwrap());
    let mut layer = TransactionLayer::new(TimerConfig::default());
    let invite = outgoing("INVITE", transport);
    let invite_tx = layer.send_request(now, peer, invite.clone()).unwrap();
    layer
        .send_request(now, peer, outgoing("OPTIONS", transport))
        .unwrap();
    drain(&mut layer, now);
    now += Duration::from_millis(100);
    let _ = layer.handle_input(
        now,
        Input::Receive {
            from: peer,
            message: msg.clone(),
        },
    );
    let new_requests = drain(&mut layer, now);
    // The same message again: a retransmission.
    let _ = layer.handle_input(
        now,
        Input::Receive {
            from: peer,
            message: msg,
        },
    );
    drain(&mut layer, now);
    for (tx, request) in new_requests {
        for (code, tag) in [(180, Some("t")), (486, Some("t"))] {
            let resp = message::response_to(&request, code, None, tag);
            let _ = layer.handle_input(now, Input::SendResponse { tx, response: resp });
            drain(&mut layer, now);
        }
    }
    // An INVITE left in Proceeding waits for the TU, which cancels it
    // (§9.1: Timer B is re-armed then).
    if layer.client_state(invite_tx) == Some(TxState::Proceeding) {
        layer
            .send_request(now, peer, message::build_cancel(&invite))
            .unwrap();
        drain(&mut layer, now);
    }
    // Run every timer out; nothing may be left after ten virtual minutes.
    while let Some(deadline) = layer.poll_timeout() {
        assert!(
            deadline <= start + Duration::from_secs(600),
            "timer beyond any RFC bound"
        );
        now = now.max(deadline);
        layer.handle_timeout(now);
        drain(&mut layer, now);
    }
    assert!(layer.is_empty(), "transactions left: {:?}", layer.len());
}

/// Checks every output; returns the new requests.
fn drain(
    layer: &mut TransactionLayer,
    _now: Instant,
) -> Vec<(tandem_sip::transaction::ServerTxId, Request)> {
    let mut requests = Vec::new();
    while let Some(output) = layer.poll_output() {
        match output {
            Output::Transmit(t) => {
                message::parse(&t.bytes).unwrap_or_else(|e| {
                    panic!(
                        "we transmitted something that does not parse ({e}): {:?}",
                        t.bytes
                    )
                });
            }
            Output::Event(Event::Request { tx, request, .. }) => requests.push((tx, request)),
            Output::Event(_) => {}
        }
    }
    requests
}
