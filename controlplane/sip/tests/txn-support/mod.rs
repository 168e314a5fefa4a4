//! A two-peer harness for the transaction tests: our [`TransactionLayer`]
//! and a scripted remote peer, on a fake clock (a fixed `Instant` plus
//! offsets; time moves only to the next deadline or to a chosen offset).
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use rsip::{Request, Response, SipMessage};
use tandem_sip::message;
use tandem_sip::transaction::{
    ClientTxId, Event, Input, Output, ServerTxId, TimerConfig, TransactionLayer, Transmit, TxError,
};
use tandem_sip::transport::{Peer, Transport};

/// Our address.
pub const LOCAL: &str = "192.0.2.1:5060";
/// The remote peer's address.
pub const REMOTE: &str = "198.51.100.2:5060";

pub fn remote(transport: Transport) -> Peer {
    Peer::new(transport, REMOTE.parse().unwrap())
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub struct Harness {
    pub layer: TransactionLayer,
    pub start: Instant,
    pub now: Instant,
    /// Everything transmitted, with the time since start.
    pub sent: Vec<(Duration, Transmit)>,
    /// Every event, with the time since start.
    pub events: Vec<(Duration, Event)>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        // The fake clock's origin; from here on time moves only by offsets.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Self {
            layer: TransactionLayer::new(TimerConfig::default()),
            start,
            now: start,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves every pending output into `sent` / `events`.
    pub fn drain(&mut self) {
        while let Some(output) = self.layer.poll_output() {
            let at = self.elapsed();
            match output {
                Output::Transmit(t) => self.sent.push((at, t)),
                Output::Event(e) => self.events.push((at, e)),
            }
        }
    }

    /// Advances the clock to `start + t`, firing each deadline on the way
    /// at its exact time.
    pub fn run_until(&mut self, t: Duration) {
        let end = self.start + t;
        while let Some(deadline) = self.layer.poll_timeout() {
            if deadline > end {
                break;
            }
            self.now = self.now.max(deadline);
            self.layer.handle_timeout(self.now);
            self.drain();
        }
        self.now = self.now.max(end);
    }

    /// Runs until no timer is left (at most ten virtual minutes).
    pub fn run_to_idle(&mut self) {
        let cap = self.elapsed() + secs(600);
        self.run_until(cap);
        assert_eq!(self.layer.poll_timeout(), None, "timers still armed");
    }

    pub fn send_request(&mut self, to: Peer, request: Request) -> ClientTxId {
        let id = self.layer.send_request(self.now, to, request).unwrap();
        self.drain();
        id
    }

    pub fn receive(&mut self, from: Peer, bytes: &[u8]) -> Result<(), TxError> {
        let message = message::parse(bytes).expect("test message parses");
        let r = self
            .layer
            .handle_input(self.now, Input::Receive { from, message });
        self.drain();
        r
    }

    pub fn respond(&mut self, tx: ServerTxId, response: Response) -> Result<(), TxError> {
        let r = self
            .layer
            .handle_input(self.now, Input::SendResponse { tx, response });
        self.drain();
        r
    }

    /// The transmissions so far, parsed, and forgets them.
    pub fn take_sent(&mut self) -> Vec<(Duration, Peer, SipMessage)> {
        std::mem::take(&mut self.sent)
            .into_iter()
            .map(|(at, t)| {
                (
                    at,
                    t.to,
                    message::parse(&t.bytes).expect("we send valid SIP"),
                )
            })
            .collect()
    }

    /// The events so far, and forgets them.
    pub fn take_events(&mut self) -> Vec<(Duration, Event)> {
        std::mem::take(&mut self.events)
    }

    /// The server transaction of the only new-request event so far.
    pub fn new_request_tx(&mut self) -> ServerTxId {
        let txs: Vec<ServerTxId> = self
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Request { tx, .. } => Some(*tx),
                _ => None,
            })
            .collect();
        assert_eq!(txs.len(), 1, "events: {:?}", self.events);
        txs[0]
    }
}

/// A request from us to the remote peer.
pub fn outgoing(method: &str, branch: &str, transport: Transport) -> Request {
    let text = format!(
        "{method} sip:bob@198.51.100.2 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {LOCAL};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@198.51.100.2>\r\n\
         From: <sip:alice@192.0.2.1>;tag=ft1\r\n\
         Call-ID: call-{branch}\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:alice@192.0.2.1>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    request(&text)
}

/// A request from the remote peer to us, as bytes.
pub fn incoming(method: &str, branch: &str, transport: Transport) -> Vec<u8> {
    format!(
        "{method} sip:alice@192.0.2.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {REMOTE};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:alice@192.0.2.1>\r\n\
         From: <sip:bob@198.51.100.2>;tag=rt9\r\n\
         Call-ID: in-{branch}\r\n\
         CSeq: 7 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

pub fn request(text: &str) -> Request {
    match message::parse(text.as_bytes()).expect("test request parses") {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

/// The remote peer's response to `request`, as bytes.
pub fn response_bytes(request: &Request, code: u16, to_tag: Option<&str>) -> Vec<u8> {
    message::encode_response(&message::response_to(request, code, None, to_tag))
}

pub fn status(message: &SipMessage) -> Option<u16> {
    match message {
        SipMessage::Response(r) => Some(r.status_code.code()),
        SipMessage::Request(_) => None,
    }
}

pub fn method(message: &SipMessage) -> Option<rsip::Method> {
    match message {
        SipMessage::Request(r) => Some(r.method),
        SipMessage::Response(_) => None,
    }
}

/// The times (since start) of the transmissions.
pub fn times(sent: &[(Duration, Peer, SipMessage)]) -> Vec<Duration> {
    sent.iter().map(|(at, _, _)| *at).collect()
}
