//! The SIP transaction layer (RFC 3261 §17, with the RFC 6026 corrections).
//!
//! One [`TransactionLayer`] holds every client and server transaction of a
//! SIP endpoint and also plays the transport layer's part of §18 that has no
//! I/O: it stamps `received`/`rport` on incoming requests (§18.2.1, RFC
//! 3581), routes responses (§18.2.2) and encodes what goes on the wire.
//!
//! # State machines
//!
//! States are named as the RFC names them ([`TxState`]):
//!
//! | transaction | states | timers |
//! |---|---|---|
//! | INVITE client (§17.1.1, RFC 6026 §8.4) | Calling → Proceeding → Completed / Accepted → Terminated | A (retransmit, doubling), B (64·T1 timeout), D (32 s wait), M (64·T1 in Accepted) |
//! | non-INVITE client (§17.1.2) | Trying → Proceeding → Completed → Terminated | E (retransmit, capped at T2), F (64·T1 timeout), K (T4 wait) |
//! | INVITE server (§17.2.1, RFC 6026 §7.1) | Proceeding → Completed → Confirmed / Accepted → Terminated | G (response retransmit), H (64·T1 ACK wait), I (T4), L (64·T1 in Accepted) |
//! | non-INVITE server (§17.2.2) | Trying → Proceeding → Completed → Terminated | J (64·T1 wait) |
//!
//! On a reliable transport (TCP, TLS) timers A, E and G are not armed and
//! D, I, J and K are zero: the transaction terminates at once instead of
//! entering the wait. B, F, H, L and M apply to every transport.
//!
//! What the layer does on its own, and what it leaves to the TU:
//!
//! - an INVITE client transaction sends the ACK for a non-2xx final response
//!   itself, and resends it for each retransmission of that response
//!   (§17.1.1.3); the ACK for a 2xx is the TU's (§13.2.2.4): send it with
//!   [`Input::SendStateless`];
//! - in Accepted, every 2xx (retransmissions and forks) goes up to the TU,
//!   which (re-)ACKs; a 2xx for an INVITE whose transaction is gone comes up
//!   as [`Event::Stray2xx`];
//! - a new INVITE gets a 100 Trying at once (§17.2.1 allows waiting 200 ms
//!   for the TU; answering at once is simpler and costs one datagram);
//! - server transactions absorb request retransmissions and resend the
//!   latest response; the 2xx retransmissions of §13.3.1.4 are the TU's
//!   (send them on the transaction while it is Accepted, or stateless);
//! - an ACK that matches no transaction (the ACK for a 2xx) comes up as
//!   [`Event::Ack`]; an ACK for a non-2xx is absorbed;
//! - a CANCEL is its own server transaction; [`Event::Request::cancels`]
//!   names the INVITE server transaction it cancels (same branch and
//!   sent-by, §9.2) so the TU can answer 487 on it;
//! - a request that fails [`message::check_request`] gets a 400 with the
//!   precise reason, sent statelessly, and the call returns
//!   [`TxError::Malformed`] for the caller's logs.
//!
//! # Matching (§17.1.3, §17.2.3) and RFC 2543
//!
//! Responses match a client transaction by top-Via branch and CSeq method,
//! and must carry the sent-by of the request (§18.1.2). Requests match a
//! server transaction by branch, sent-by and method, with ACK matching its
//! INVITE. A request whose branch lacks the `z9hG4bK` magic cookie comes
//! from an RFC 2543 implementation; Tandem does not implement the §17.2.3
//! fallback matching and answers such requests 400 (stateless, reason
//! "RFC 2543 transactions not supported"), returning
//! [`PeerMisbehaved::NoMagicCookie`]. RFC 2543 went out of use with the
//! last century's phones; matching by From/To/Call-ID/CSeq would let any
//! two requests that share them collide.
//!
//! # Driving loop (STYLE.md rule 2)
//!
//! ```
//! use std::time::Instant;
//! use tandem_sip::message;
//! use tandem_sip::transaction::{Event, Input, Output, TimerConfig, TransactionLayer};
//! use tandem_sip::transport::Peer;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # #[allow(clippy::disallowed_methods)]
//! let mut now = Instant::now(); // the gateway's clock; tests use a fake one
//! let mut layer = TransactionLayer::new(TimerConfig::default());
//! let server = Peer::udp("192.0.2.10:5060".parse()?);
//!
//! let options = message::parse(
//!     format!(
//!         "OPTIONS sip:gw@192.0.2.10 SIP/2.0\r\n\
//!          Via: SIP/2.0/UDP 192.0.2.1:5060;branch={}\r\n\
//!          Max-Forwards: 70\r\nTo: <sip:gw@192.0.2.10>\r\n\
//!          From: <sip:tandem@192.0.2.1>;tag={}\r\nCall-ID: {}\r\n\
//!          CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
//!         message::new_branch(),
//!         message::new_tag(),
//!         message::new_call_id(None),
//!     )
//!     .as_bytes(),
//! )?;
//! let rsip::SipMessage::Request(options) = options else { unreachable!() };
//! let tx = layer.send_request(now, server, options)?;
//!
//! // Stand-in for the socket: nothing ever answers.
//! let mut receive = |_deadline: Instant| -> Option<(Peer, Vec<u8>)> { None };
//! let mut timed_out = false;
//! loop {
//!     while let Some(output) = layer.poll_output() {
//!         match output {
//!             Output::Transmit(t) => { /* socket.send_to(&t.bytes, t.to.addr) */ }
//!             Output::Event(Event::ClientTimeout { tx: id, .. }) => timed_out = id == tx,
//!             Output::Event(_) => { /* to the TU */ }
//!         }
//!     }
//!     let Some(deadline) = layer.poll_timeout() else { break };
//!     match receive(deadline) {
//!         Some((from, bytes)) => match message::parse(&bytes) {
//!             Ok(message) => {
//!                 // Errors are for logs and counters; the layer stays usable.
//!                 let _ = layer.handle_input(now, Input::Receive { from, message });
//!             }
//!             Err(_) => { /* count; a request may get a 400 */ }
//!         },
//!         None => {
//!             now = deadline;
//!             layer.handle_timeout(now);
//!         }
//!     }
//! }
//! assert!(timed_out); // Timer F: the TU would now act on a 408
//! assert_eq!(layer.stats().timeouts_f, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Memory
//!
//! Terminated transactions are removed at once; their ids then refer to
//! nothing ([`Misuse::UnknownTransaction`]). Lifetimes, with the default
//! timers: a client transaction lives at most 64·T1 = 32 s in Calling/Trying
//! (B, F), 32 s in Completed (D) or T4 = 5 s (K), and 64·T1 in Accepted
//! (M). An INVITE client transaction in Proceeding waits for a final
//! response as long as the TU lets it ring; once the TU sends a CANCEL for
//! it, Timer B is re-armed and it ends at most 64·T1 later (§9.1). A server
//! transaction lives until the TU answers (the TU must answer every request
//! it is given), then at most 64·T1 (H, J, L) plus T4 (I). The layer
//! refuses new transactions beyond [`TransactionLayer::with_max_transactions`]
//! (503 for requests).
//!
//! # Metrics
//!
//! [`Stats`] are plain counters for the gateway to export:
//!
//! - `retransmitted_requests` (by method, ACK included):
//!   `tandem_sip_retransmissions_total{method}`;
//! - `retransmitted_responses`: `tandem_sip_retransmissions_total{method="response"}`;
//! - `timeouts_b`, `timeouts_f`, `timeouts_h`:
//!   `tandem_sip_transaction_timeouts_total{timer}`;
//! - `unmatched_responses`, `stray_2xx`: `tandem_sip_unmatched_responses_total{kind}`;
//! - `absorbed_requests`, `absorbed_responses`: retransmissions received
//!   and absorbed, `tandem_sip_retransmissions_received_total{kind}`;
//! - `malformed`, `rejected_rfc2543`, `overloaded`:
//!   `tandem_sip_rejected_messages_total{reason}`;
//! - `client_transactions`, `server_transactions`: created,
//!   `tandem_sip_transactions_total{side}`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use rsip::{Method, Request, Response, SipMessage};

use crate::message::{self, HeaderError, ViaRepr};
use crate::transport::Peer;

/// The RFC 3261 timer base values (§17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE
    /// responses; 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network; 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: timers B, F, H, J (unreliable), L and M.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// The initial duration of `timer` on a transport of the given
    /// reliability, as Table 4 of RFC 3261 (and RFC 6026 for L and M)
    /// gives it. `None` for a timer that is not armed on that transport
    /// (A, E, G on reliable ones).
    #[must_use]
    pub fn initial(&self, timer: Timer, reliable: bool) -> Option<Duration> {
        let unreliable_only = |d: Duration| (!reliable).then_some(d);
        match timer {
            Timer::A | Timer::E | Timer::G => unreliable_only(self.t1),
            Timer::B | Timer::F | Timer::H | Timer::L | Timer::M => Some(self.timeout()),
            // "at least 32 seconds" for unreliable transports.
            Timer::D => Some(if reliable {
                Duration::ZERO
            } else {
                self.timeout().max(Duration::from_secs(32))
            }),
            Timer::I | Timer::K => Some(if reliable { Duration::ZERO } else { self.t4 }),
            Timer::J => Some(if reliable {
                Duration::ZERO
            } else {
                self.timeout()
            }),
        }
    }
}

/// The transaction timers of RFC 3261 Table 4 and RFC 6026 (C is a proxy
/// timer and not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE request retransmit interval (Calling).
    A,
    /// INVITE transaction timeout (Calling; re-armed after CANCEL, §9.1).
    B,
    /// Wait time for response retransmits (INVITE client Completed).
    D,
    /// Non-INVITE request retransmit interval.
    E,
    /// Non-INVITE transaction timeout.
    F,
    /// INVITE response retransmit interval (server Completed).
    G,
    /// Wait time for ACK receipt (server Completed).
    H,
    /// Wait time for ACK retransmits (server Confirmed).
    I,
    /// Wait time for non-INVITE request retransmits (server Completed).
    J,
    /// Wait time for response retransmits (non-INVITE client Completed).
    K,
    /// Wait time for accepted INVITE request retransmits (RFC 6026, server
    /// Accepted).
    L,
    /// Wait time for retransmission of 2xx to INVITE or additional 2xx from
    /// other branches of a forked INVITE (RFC 6026, client Accepted).
    M,
}

impl Timer {
    const ALL: [Timer; 12] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
    ];
}

/// Transaction states, named as RFC 3261 §17 and RFC 6026 name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxState {
    /// INVITE client: request sent, no response yet.
    Calling,
    /// Non-INVITE client: request sent; non-INVITE server: request
    /// received, no response yet.
    Trying,
    /// A provisional response was received (client) or sent (server).
    Proceeding,
    /// A final response (non-2xx for INVITE) was received or sent.
    Completed,
    /// A 2xx to an INVITE was received or sent (RFC 6026).
    Accepted,
    /// INVITE server: the ACK for a non-2xx final arrived.
    Confirmed,
    /// Done; the transaction is removed.
    Terminated,
}

/// A client transaction, as the TU refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(u64);

/// A server transaction, as the TU refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(u64);

impl fmt::Display for ClientTxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl fmt::Display for ServerTxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// Either kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxId {
    /// A client transaction.
    Client(ClientTxId),
    /// A server transaction.
    Server(ServerTxId),
}

/// What the layer is told.
#[derive(Debug, Clone)]
pub enum Input {
    /// A message received from the network (parse it with
    /// [`message::parse`]; streams frame it first).
    Receive {
        /// Where it came from (for streams, the connection's remote end).
        from: Peer,
        /// The message.
        message: SipMessage,
    },
    /// The TU answers a request on its server transaction. The response
    /// should come from [`message::response_to`] on that request.
    SendResponse {
        /// The transaction of the request.
        tx: ServerTxId,
        /// The response.
        response: Response,
    },
    /// Send a message outside any transaction: the ACK for a 2xx
    /// (§13.2.2.4), retransmissions of a 2xx (§13.3.1.4), a stateless
    /// response.
    SendStateless {
        /// Where to.
        to: Peer,
        /// The message.
        message: SipMessage,
    },
}

/// Bytes to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them (for streams: on the connection to this peer).
    pub to: Peer,
    /// One whole message, [`message::encode`]d.
    pub bytes: Vec<u8>,
}

/// What the layer tells the TU.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new request (not a retransmission, not an ACK). Answer it with
    /// [`Input::SendResponse`] on `tx`.
    Request {
        /// Its server transaction.
        tx: ServerTxId,
        /// The request, its top Via stamped with `received`/`rport`.
        request: Request,
        /// Where it came from.
        from: Peer,
        /// For a CANCEL: the INVITE server transaction it cancels, if that
        /// still exists (otherwise answer the CANCEL 481, §9.2).
        cancels: Option<ServerTxId>,
    },
    /// An ACK that belongs to no transaction: the ACK for a 2xx
    /// (§13.3.1.4), or one that matched an INVITE server transaction in
    /// Accepted (RFC 6026 §7.1).
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        from: Peer,
    },
    /// A response on a client transaction: provisional, or final. In
    /// Accepted, every further 2xx (retransmission or fork) comes up too.
    Response {
        /// The client transaction.
        tx: ClientTxId,
        /// The response.
        response: Response,
    },
    /// A 2xx to an INVITE whose client transaction is gone: the TU ACKs it
    /// again (§13.2.2.4) or, if it knows no such dialog, ACKs and BYEs.
    Stray2xx {
        /// The response.
        response: Response,
        /// Where it came from.
        from: Peer,
    },
    /// Timer B or F fired: no final response. The TU acts as on a 408
    /// (§8.1.3.1).
    ClientTimeout {
        /// The client transaction (now terminated).
        tx: ClientTxId,
        /// B (INVITE) or F (non-INVITE).
        timer: Timer,
    },
    /// Timer H fired: the ACK for a non-2xx final never came (§17.2.1).
    ServerTimeout {
        /// The server transaction (now terminated).
        tx: ServerTxId,
    },
    /// The transaction is gone; its id refers to nothing from now on.
    Terminated(TxId),
}

/// What the layer asks the caller to do.
// Events carry whole rsip messages; boxing them would cost an allocation
// per event to save a memcpy of a few hundred bytes per output.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Output {
    /// Send bytes.
    Transmit(Transmit),
    /// Tell the TU.
    Event(Event),
}

/// A peer broke the protocol.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMisbehaved {
    /// A request whose branch lacks the magic cookie (RFC 2543); answered
    /// 400.
    NoMagicCookie,
    /// A response with more than one Via (§8.1.3.3); discarded.
    MultipleViasInResponse,
    /// An ACK for an INVITE that has not been answered finally yet.
    AckBeforeFinalResponse,
}

/// The TU used the layer wrongly.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misuse {
    /// The server transaction does not exist (terminated, or never did).
    UnknownTransaction,
    /// A final response was already sent on this transaction.
    FinalResponseAlreadySent,
    /// Status codes are 100..=699.
    InvalidStatus,
    /// The response's Via branch or CSeq method is not the transaction's.
    ResponseDoesNotMatch,
    /// ACK is not a transaction (the ACK for a 2xx goes stateless; the ACK
    /// for a non-2xx is the transaction's).
    AckIsNotATransaction,
    /// The request to send lacks a readable top Via with a magic-cookie
    /// branch, or a CSeq matching its method.
    BadRequest(HeaderError),
    /// A client transaction with this branch and method already exists.
    DuplicateTransaction,
}

/// Why an input was not processed as a normal message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxError {
    /// A received message lacks what matching needs (Via, CSeq) or
    /// fails the §8.1.1 checks; a request was answered 400 if it could be.
    Malformed(HeaderError),
    /// A peer broke the protocol.
    PeerMisbehaved(PeerMisbehaved),
    /// The TU used the API wrongly.
    Misuse(Misuse),
    /// The transaction limit is reached; a request was answered 503.
    Overloaded,
}

impl TxError {
    /// The status a request that caused this error is answered with.
    #[must_use]
    pub fn to_sip_status(self) -> u16 {
        match self {
            Self::Overloaded => 503,
            Self::Misuse(_) => 500,
            Self::Malformed(_) | Self::PeerMisbehaved(_) => 400,
        }
    }
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed message: {e}"),
            Self::PeerMisbehaved(p) => {
                let what = match p {
                    PeerMisbehaved::NoMagicCookie => "RFC 2543 transactions not supported",
                    PeerMisbehaved::MultipleViasInResponse => "response with more than one Via",
                    PeerMisbehaved::AckBeforeFinalResponse => "ACK before a final response",
                };
                write!(f, "peer misbehaved: {what}")
            }
            Self::Misuse(m) => {
                let what = match m {
                    Misuse::UnknownTransaction => "unknown transaction".to_owned(),
                    Misuse::FinalResponseAlreadySent => "final response already sent".to_owned(),
                    Misuse::InvalidStatus => "status code outside 100..=699".to_owned(),
                    Misuse::ResponseDoesNotMatch => {
                        "response does not match the transaction".to_owned()
                    }
                    Misuse::AckIsNotATransaction => "ACK is sent statelessly".to_owned(),
                    Misuse::BadRequest(e) => format!("request cannot start a transaction: {e}"),
                    Misuse::DuplicateTransaction => "branch already in use".to_owned(),
                };
                write!(f, "API misuse: {what}")
            }
            Self::Overloaded => f.write_str("transaction limit reached"),
        }
    }
}

impl std::error::Error for TxError {}

/// Counters per request method (the fourteen `rsip` knows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodCounts([u64; 14]);

impl MethodCounts {
    fn index(method: Method) -> usize {
        Method::all()
            .iter()
            .position(|m| *m == method)
            .unwrap_or(0)
            .min(13)
    }

    /// The count for one method.
    #[must_use]
    pub fn get(&self, method: Method) -> u64 {
        self.0[Self::index(method)]
    }

    /// All methods with their counts (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (Method, u64)> + '_ {
        Method::all().into_iter().zip(self.0.iter().copied())
    }

    /// The sum over methods.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    fn add(&mut self, method: Method) {
        self.0[Self::index(method)] += 1;
    }
}

/// Counters for export; see the module docs for their metric names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests retransmitted by timers A and E, and ACKs resent for
    /// retransmitted non-2xx finals.
    pub retransmitted_requests: MethodCounts,
    /// Responses retransmitted by timer G or for a retransmitted request.
    pub retransmitted_responses: u64,
    /// INVITE client transactions that timed out (Timer B).
    pub timeouts_b: u64,
    /// Non-INVITE client transactions that timed out (Timer F).
    pub timeouts_f: u64,
    /// INVITE server transactions whose ACK never came (Timer H).
    pub timeouts_h: u64,
    /// Responses that match no client transaction (other than 2xx to
    /// INVITE), discarded.
    pub unmatched_responses: u64,
    /// 2xx to INVITE that match no client transaction, passed up.
    pub stray_2xx: u64,
    /// Request retransmissions absorbed by server transactions.
    pub absorbed_requests: u64,
    /// Response retransmissions absorbed by client transactions.
    pub absorbed_responses: u64,
    /// Received messages without readable Via/CSeq, or failing §8.1.1.
    pub malformed: u64,
    /// Requests refused for lacking the magic cookie.
    pub rejected_rfc2543: u64,
    /// Transactions refused at the limit.
    pub overloaded: u64,
    /// Client transactions created.
    pub client_transactions: u64,
    /// Server transactions created.
    pub server_transactions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    branch: String,
    method: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ServerKey {
    branch: String,
    host: String,
    port: u16,
    method: String,
}

impl ServerKey {
    fn new(via: &ViaRepr, method: Method) -> Self {
        let method = if method == Method::Ack {
            Method::Invite
        } else {
            method
        };
        Self {
            branch: via.branch().unwrap_or_default().to_owned(),
            host: via.host.to_ascii_lowercase(),
            port: via.port_or_default(),
            method: method.to_string(),
        }
    }
}

#[derive(Debug)]
struct ClientTx {
    key: ClientKey,
    invite: bool,
    state: TxState,
    method: Method,
    request: Request,
    request_bytes: Vec<u8>,
    via: ViaRepr,
    to: Peer,
    ack_bytes: Option<Vec<u8>>,
    interval: Duration,
}

#[derive(Debug)]
struct ServerTx {
    key: ServerKey,
    invite: bool,
    state: TxState,
    request: Request,
    branch: String,
    target: Peer,
    last_response: Option<Vec<u8>>,
    interval: Duration,
}

/// All client and server transactions of an endpoint; see the module docs.
#[derive(Debug)]
pub struct TransactionLayer {
    timers: TimerConfig,
    max_transactions: usize,
    next_id: u64,
    clients: HashMap<ClientTxId, ClientTx>,
    client_keys: HashMap<ClientKey, ClientTxId>,
    servers: HashMap<ServerTxId, ServerTx>,
    server_keys: HashMap<ServerKey, ServerTxId>,
    deadlines: BTreeSet<(Instant, TxId, Timer)>,
    armed: HashMap<(TxId, Timer), Instant>,
    out: VecDeque<Output>,
    stats: Stats,
}

/// The default limit on live transactions (both kinds together).
pub const DEFAULT_MAX_TRANSACTIONS: usize = 100_000;

impl TransactionLayer {
    /// An empty layer.
    #[must_use]
    pub fn new(timers: TimerConfig) -> Self {
        Self {
            timers,
            max_transactions: DEFAULT_MAX_TRANSACTIONS,
            next_id: 1,
            clients: HashMap::new(),
            client_keys: HashMap::new(),
            servers: HashMap::new(),
            server_keys: HashMap::new(),
            deadlines: BTreeSet::new(),
            armed: HashMap::new(),
            out: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Sets the limit on live transactions.
    #[must_use]
    pub fn with_max_transactions(mut self, max: usize) -> Self {
        self.max_transactions = max;
        self
    }

    /// The timer values in use.
    #[must_use]
    pub fn timer_config(&self) -> &TimerConfig {
        &self.timers
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Live transactions (client, server).
    #[must_use]
    pub fn len(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    /// Whether no transaction is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.servers.is_empty()
    }

    /// The state of a live client transaction.
    #[must_use]
    pub fn client_state(&self, tx: ClientTxId) -> Option<TxState> {
        self.clients.get(&tx).map(|t| t.state)
    }

    /// The state of a live server transaction.
    #[must_use]
    pub fn server_state(&self, tx: ServerTxId) -> Option<TxState> {
        self.servers.get(&tx).map(|t| t.state)
    }

    /// The request that created a live client transaction (to build its
    /// CANCEL with [`message::build_cancel`]). After a final response only
    /// its identity is kept ([`message::strip_to_identity`]).
    #[must_use]
    pub fn client_request(&self, tx: ClientTxId) -> Option<&Request> {
        self.clients.get(&tx).map(|t| &t.request)
    }

    /// The request that created a live server transaction (with its top
    /// Via stamped). After a final response only its identity is kept
    /// ([`message::strip_to_identity`]).
    #[must_use]
    pub fn server_request(&self, tx: ServerTxId) -> Option<&Request> {
        self.servers.get(&tx).map(|t| &t.request)
    }

    /// The next output, if any. Call until `None` after every
    /// `handle_*` and `send_request`.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest timer deadline: call [`handle_timeout`](Self::handle_timeout)
    /// then (or earlier, on input).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _, _)| *at)
    }

    /// Fires every timer due at `now`, in deadline order.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, tx, timer)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            self.armed.remove(&(tx, timer));
            match tx {
                TxId::Client(id) => self.fire_client(now, id, timer),
                TxId::Server(id) => self.fire_server(now, id, timer),
            }
        }
        self.shrink_if_sparse();
    }

    /// Gives back table space after a burst: a second of 1,000 call
    /// set-ups fills these maps for 32 s (RFC 6026), and a hash map keeps
    /// its capacity after its entries go. Shrinking at a quarter full
    /// keeps the cost amortised (it rehashes what is left).
    fn shrink_if_sparse(&mut self) {
        fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
            if map.capacity() > 1024 && map.len() < map.capacity() / 4 {
                map.shrink_to(map.len() * 2);
            }
        }
        shrink(&mut self.clients);
        shrink(&mut self.client_keys);
        shrink(&mut self.servers);
        shrink(&mut self.server_keys);
        shrink(&mut self.armed);
    }

    /// Processes a received message or a TU action.
    pub fn handle_input(&mut self, now: Instant, input: Input) -> Result<(), TxError> {
        match input {
            Input::Receive {
                from,
                message: SipMessage::Request(request),
            } => self.receive_request(now, from, request),
            Input::Receive {
                from,
                message: SipMessage::Response(response),
            } => self.receive_response(now, from, response),
            Input::SendResponse { tx, response } => self.send_response(now, tx, response),
            Input::SendStateless { to, message } => {
                self.transmit(to, message::encode(&message));
                Ok(())
            }
        }
    }

    /// Starts a client transaction: sends `request` to `to` and arms its
    /// timers. The request must carry its final top Via, with a fresh
    /// [`message::new_branch`], and a CSeq with its method.
    ///
    /// This is the one TU action outside [`handle_input`](Self::handle_input)
    /// because it returns the new transaction's id, which every later
    /// [`Event::Response`] carries.
    pub fn send_request(
        &mut self,
        now: Instant,
        to: Peer,
        request: Request,
    ) -> Result<ClientTxId, TxError> {
        let misuse = |e| TxError::Misuse(Misuse::BadRequest(e));
        if request.method == Method::Ack {
            return Err(TxError::Misuse(Misuse::AckIsNotATransaction));
        }
        let via = message::top_via(&request).map_err(misuse)?;
        if !via.has_magic_cookie() {
            return Err(misuse(HeaderError::Malformed("Via")));
        }
        let cseq = message::cseq(&request).map_err(misuse)?;
        if cseq.method != request.method {
            return Err(misuse(HeaderError::CSeqMethodMismatch));
        }
        let key = ClientKey {
            branch: via.branch().unwrap_or_default().to_owned(),
            method: request.method.to_string(),
        };
        if self.client_keys.contains_key(&key) {
            return Err(TxError::Misuse(Misuse::DuplicateTransaction));
        }
        if self.clients.len() + self.servers.len() >= self.max_transactions {
            self.stats.overloaded += 1;
            return Err(TxError::Overloaded);
        }
        let id = ClientTxId(self.next_id());
        let invite = request.method == Method::Invite;
        if request.method == Method::Cancel {
            // §9.1: once cancelled, an INVITE that never gets its final
            // response is given up 64·T1 later (Timer B re-armed).
            let invite_key = ClientKey {
                branch: key.branch.clone(),
                method: Method::Invite.to_string(),
            };
            if let Some(&inv) = self.client_keys.get(&invite_key) {
                if self.clients.get(&inv).map(|t| t.state) == Some(TxState::Proceeding) {
                    self.arm(now, TxId::Client(inv), Timer::B, self.timers.timeout());
                }
            }
        }
        let request_bytes = message::encode_request(&request);
        self.transmit(to, request_bytes.clone());
        let reliable = to.is_reliable();
        let (state, retransmit, timeout) = if invite {
            (TxState::Calling, Timer::A, Timer::B)
        } else {
            (TxState::Trying, Timer::E, Timer::F)
        };
        let tx = TxId::Client(id);
        if let Some(d) = self.timers.initial(retransmit, reliable) {
            self.arm(now, tx, retransmit, d);
        }
        self.arm(now, tx, timeout, self.timers.timeout());
        self.client_keys.insert(key.clone(), id);
        self.clients.insert(
            id,
            ClientTx {
                key,
                invite,
                state,
                method: request.method,
                request,
                request_bytes,
                via,
                to,
                ack_bytes: None,
                interval: self.timers.t1,
            },
        );
        self.stats.client_transactions += 1;
        Ok(id)
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn transmit(&mut self, to: Peer, bytes: Vec<u8>) {
        self.out.push_back(Output::Transmit(Transmit { to, bytes }));
    }

    fn event(&mut self, event: Event) {
        self.out.push_back(Output::Event(event));
    }

    fn arm(&mut self, now: Instant, tx: TxId, timer: Timer, after: Duration) {
        self.disarm(tx, timer);
        let at = now + after;
        self.deadlines.insert((at, tx, timer));
        self.armed.insert((tx, timer), at);
    }

    fn disarm(&mut self, tx: TxId, timer: Timer) {
        if let Some(at) = self.armed.remove(&(tx, timer)) {
            self.deadlines.remove(&(at, tx, timer));
        }
    }

    /// Arms a wait timer, or terminates at once when it is zero (reliable
    /// transports).
    fn arm_wait(&mut self, now: Instant, tx: TxId, timer: Timer, reliable: bool) {
        match self.timers.initial(timer, reliable) {
            Some(d) if !d.is_zero() => self.arm(now, tx, timer, d),
            _ => self.terminate(tx),
        }
    }

    fn terminate(&mut self, tx: TxId) {
        for timer in Timer::ALL {
            self.disarm(tx, timer);
        }
        match tx {
            TxId::Client(id) => {
                if let Some(t) = self.clients.remove(&id) {
                    self.client_keys.remove(&t.key);
                }
            }
            TxId::Server(id) => {
                if let Some(t) = self.servers.remove(&id) {
                    self.server_keys.remove(&t.key);
                }
            }
        }
        self.event(Event::Terminated(tx));
    }

    // -- client side ------------------------------------------------------

    fn fire_client(&mut self, now: Instant, id: ClientTxId, timer: Timer) {
        let Some(t) = self.clients.get_mut(&id) else {
            return;
        };
        let tx = TxId::Client(id);
        match (timer, t.state) {
            (Timer::A, TxState::Calling) => {
                // §17.1.1.2: Timer A doubles without a cap.
                t.interval *= 2;
                let (to, bytes, interval) = (t.to, t.request_bytes.clone(), t.interval);
                self.stats.retransmitted_requests.add(Method::Invite);
                self.transmit(to, bytes);
                self.arm(now, tx, Timer::A, interval);
            }
            (Timer::E, TxState::Trying | TxState::Proceeding) => {
                // §17.1.2.2: doubling up to T2 in Trying, T2 in Proceeding.
                t.interval = if t.state == TxState::Trying {
                    (t.interval * 2).min(self.timers.t2)
                } else {
                    self.timers.t2
                };
                let (to, bytes, interval, method) =
                    (t.to, t.request_bytes.clone(), t.interval, t.method);
                self.stats.retransmitted_requests.add(method);
                self.transmit(to, bytes);
                self.arm(now, tx, Timer::E, interval);
            }
            (Timer::B, TxState::Calling | TxState::Proceeding)
            | (Timer::F, TxState::Trying | TxState::Proceeding) => {
                if timer == Timer::B {
                    self.stats.timeouts_b += 1;
                } else {
                    self.stats.timeouts_f += 1;
                }
                self.event(Event::ClientTimeout { tx: id, timer });
                self.terminate(tx);
            }
            (Timer::D, TxState::Completed)
            | (Timer::K, TxState::Completed)
            | (Timer::M, TxState::Accepted) => self.terminate(tx),
            // A timer left over from an earlier state: disarming on every
            // transition should prevent this; ignore it if not.
            _ => {}
        }
    }

    fn receive_response(
        &mut self,
        now: Instant,
        from: Peer,
        response: Response,
    ) -> Result<(), TxError> {
        let malformed = |stats: &mut Stats, e| {
            stats.malformed += 1;
            TxError::Malformed(e)
        };
        let via = message::top_via(&response).map_err(|e| malformed(&mut self.stats, e))?;
        let cseq = message::cseq(&response).map_err(|e| malformed(&mut self.stats, e))?;
        if message::via_count(&response) > 1 {
            self.stats.malformed += 1;
            return Err(TxError::PeerMisbehaved(
                PeerMisbehaved::MultipleViasInResponse,
            ));
        }
        let code = response.status_code.code();
        let key = ClientKey {
            branch: via.branch().unwrap_or_default().to_owned(),
            method: cseq.method.to_string(),
        };
        let id = self.client_keys.get(&key).copied().filter(|id| {
            self.clients
                .get(id)
                .is_some_and(|t| t.via.same_sent_by(&via))
        });
        let Some(id) = id else {
            if cseq.method == Method::Invite && (200..300).contains(&code) {
                self.stats.stray_2xx += 1;
                self.event(Event::Stray2xx { response, from });
            } else {
                self.stats.unmatched_responses += 1;
            }
            return Ok(());
        };
        let tx = TxId::Client(id);
        let Some(t) = self.clients.get_mut(&id) else {
            return Ok(());
        };
        let reliable = t.to.is_reliable();
        match (t.invite, t.state, code) {
            // -- INVITE client, §17.1.1.2 and RFC 6026 §8.4 --
            (true, TxState::Calling | TxState::Proceeding, 100..=199) => {
                t.state = TxState::Proceeding;
                self.disarm(tx, Timer::A);
                self.disarm(tx, Timer::B);
                self.event(Event::Response { tx: id, response });
            }
            (true, TxState::Calling | TxState::Proceeding, 200..=299) => {
                t.state = TxState::Accepted;
                // From here on the request is only matched, never sent.
                t.request_bytes = Vec::new();
                message::strip_to_identity(&mut t.request);
                self.disarm(tx, Timer::A);
                self.disarm(tx, Timer::B);
                self.arm(now, tx, Timer::M, self.timers.timeout());
                self.event(Event::Response { tx: id, response });
            }
            (true, TxState::Calling | TxState::Proceeding, _) => {
                t.state = TxState::Completed;
                let ack = message::encode_request(&message::non2xx_ack(&t.request, &response));
                t.ack_bytes = Some(ack.clone());
                t.request_bytes = Vec::new();
                message::strip_to_identity(&mut t.request);
                let to = t.to;
                self.disarm(tx, Timer::A);
                self.disarm(tx, Timer::B);
                self.transmit(to, ack);
                self.event(Event::Response { tx: id, response });
                self.arm_wait(now, tx, Timer::D, reliable);
            }
            (true, TxState::Completed, 300..) => {
                // §17.1.1.2: the final was retransmitted, our ACK was lost.
                let (to, ack) = (t.to, t.ack_bytes.clone().unwrap_or_default());
                self.stats.absorbed_responses += 1;
                self.stats.retransmitted_requests.add(Method::Ack);
                self.transmit(to, ack);
            }
            (true, TxState::Accepted, 200..=299) => {
                self.event(Event::Response { tx: id, response });
            }
            // -- non-INVITE client, §17.1.2.2 --
            (false, TxState::Trying | TxState::Proceeding, 100..=199) => {
                t.state = TxState::Proceeding;
                self.event(Event::Response { tx: id, response });
            }
            (false, TxState::Trying | TxState::Proceeding, _) => {
                t.state = TxState::Completed;
                t.request_bytes = Vec::new();
                message::strip_to_identity(&mut t.request);
                self.disarm(tx, Timer::E);
                self.disarm(tx, Timer::F);
                self.event(Event::Response { tx: id, response });
                self.arm_wait(now, tx, Timer::K, reliable);
            }
            // Everything else is a retransmission or a late provisional.
            _ => self.stats.absorbed_responses += 1,
        }
        Ok(())
    }

    // -- server side ------------------------------------------------------

    fn fire_server(&mut self, now: Instant, id: ServerTxId, timer: Timer) {
        let Some(t) = self.servers.get_mut(&id) else {
            return;
        };
        let tx = TxId::Server(id);
        match (timer, t.state) {
            (Timer::G, TxState::Completed) => {
                t.interval = (t.interval * 2).min(self.timers.t2);
                let (to, bytes, interval) = (
                    t.target,
                    t.last_response.clone().unwrap_or_default(),
                    t.interval,
                );
                self.stats.retransmitted_responses += 1;
                self.transmit(to, bytes);
                self.arm(now, tx, Timer::G, interval);
            }
            (Timer::H, TxState::Completed) => {
                self.stats.timeouts_h += 1;
                self.event(Event::ServerTimeout { tx: id });
                self.terminate(tx);
            }
            (Timer::I, TxState::Confirmed)
            | (Timer::J, TxState::Completed)
            | (Timer::L, TxState::Accepted) => self.terminate(tx),
            _ => {}
        }
    }

    /// Sends a stateless response to a request we will not keep (§8.2:
    /// malformed, RFC 2543, overload).
    fn reject(&mut self, request: &Request, via: &ViaRepr, from: Peer, status: u16, reason: &str) {
        if request.method == Method::Ack {
            return;
        }
        let target = message::response_target(via, from).unwrap_or(from);
        let response = message::response_to(request, status, Some(reason), None);
        self.transmit(target, message::encode_response(&response));
    }

    fn receive_request(
        &mut self,
        now: Instant,
        from: Peer,
        mut request: Request,
    ) -> Result<(), TxError> {
        if let Err(e) = message::stamp_received(&mut request, from.addr) {
            // Without a readable Via there is nowhere to send a response.
            self.stats.malformed += 1;
            return Err(TxError::Malformed(e));
        }
        let via = match message::top_via(&request) {
            Ok(v) => v,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(TxError::Malformed(e));
            }
        };
        if !via.has_magic_cookie() {
            self.stats.rejected_rfc2543 += 1;
            let error = TxError::PeerMisbehaved(PeerMisbehaved::NoMagicCookie);
            self.reject(
                &request,
                &via,
                from,
                400,
                "RFC 2543 transactions not supported",
            );
            return Err(error);
        }
        if let Err(e) = message::check_request(&request) {
            self.stats.malformed += 1;
            self.reject(&request, &via, from, 400, &e.to_string());
            return Err(TxError::Malformed(e));
        }
        let key = ServerKey::new(&via, request.method);
        let existing = self.server_keys.get(&key).copied();

        if request.method == Method::Ack {
            let Some(id) = existing else {
                self.event(Event::Ack { request, from });
                return Ok(());
            };
            return self.receive_ack(now, id, from, request);
        }

        if let Some(id) = existing {
            // A retransmission: resend the latest response, if any.
            self.stats.absorbed_requests += 1;
            let Some(t) = self.servers.get(&id) else {
                return Ok(());
            };
            if matches!(t.state, TxState::Proceeding | TxState::Completed) {
                if let Some(bytes) = t.last_response.clone() {
                    let to = t.target;
                    self.stats.retransmitted_responses += 1;
                    self.transmit(to, bytes);
                }
            }
            return Ok(());
        }

        if self.clients.len() + self.servers.len() >= self.max_transactions {
            self.stats.overloaded += 1;
            self.reject(&request, &via, from, 503, "Overloaded");
            return Err(TxError::Overloaded);
        }

        let id = ServerTxId(self.next_id());
        let invite = request.method == Method::Invite;
        let target = message::response_target(&via, from).unwrap_or(from);
        let cancels = if request.method == Method::Cancel {
            self.server_keys
                .get(&ServerKey::new(&via, Method::Invite))
                .copied()
        } else {
            None
        };
        let mut last_response = None;
        let state = if invite {
            // §17.2.1: a 100 Trying at once, which also quenches the
            // client's INVITE retransmissions.
            let trying = message::encode_response(&message::response_to(&request, 100, None, None));
            self.transmit(target, trying.clone());
            last_response = Some(trying);
            TxState::Proceeding
        } else {
            TxState::Trying
        };
        self.server_keys.insert(key.clone(), id);
        self.servers.insert(
            id,
            ServerTx {
                key,
                invite,
                state,
                request: request.clone(),
                branch: via.branch().unwrap_or_default().to_owned(),
                target,
                last_response,
                interval: self.timers.t1,
            },
        );
        self.stats.server_transactions += 1;
        self.event(Event::Request {
            tx: id,
            request,
            from,
            cancels,
        });
        Ok(())
    }

    fn receive_ack(
        &mut self,
        now: Instant,
        id: ServerTxId,
        from: Peer,
        request: Request,
    ) -> Result<(), TxError> {
        let Some(t) = self.servers.get_mut(&id) else {
            return Ok(());
        };
        let tx = TxId::Server(id);
        match t.state {
            TxState::Completed => {
                // §17.2.1: Confirmed; wait T4 for ACK retransmissions.
                t.state = TxState::Confirmed;
                let reliable = t.target.is_reliable();
                self.disarm(tx, Timer::G);
                self.disarm(tx, Timer::H);
                self.arm_wait(now, tx, Timer::I, reliable);
                Ok(())
            }
            TxState::Confirmed => {
                self.stats.absorbed_requests += 1;
                Ok(())
            }
            TxState::Accepted => {
                // RFC 6026 §7.1: an ACK matching an Accepted transaction is
                // passed to the TU.
                self.event(Event::Ack { request, from });
                Ok(())
            }
            _ => {
                self.stats.absorbed_requests += 1;
                Err(TxError::PeerMisbehaved(
                    PeerMisbehaved::AckBeforeFinalResponse,
                ))
            }
        }
    }

    fn send_response(
        &mut self,
        now: Instant,
        id: ServerTxId,
        response: Response,
    ) -> Result<(), TxError> {
        let Some(t) = self.servers.get_mut(&id) else {
            return Err(TxError::Misuse(Misuse::UnknownTransaction));
        };
        let code = response.status_code.code();
        if !(100..=699).contains(&code) {
            return Err(TxError::Misuse(Misuse::InvalidStatus));
        }
        let branch_ok = message::top_via(&response)
            .ok()
            .is_some_and(|v| v.branch() == Some(t.branch.as_str()));
        let method_ok = message::cseq(&response)
            .ok()
            .is_some_and(|c| c.method == t.request.method);
        if !branch_ok || !method_ok {
            return Err(TxError::Misuse(Misuse::ResponseDoesNotMatch));
        }
        let tx = TxId::Server(id);
        let reliable = t.target.is_reliable();
        let to = t.target;
        let bytes = message::encode_response(&response);
        match (t.invite, t.state, code) {
            // -- INVITE server, §17.2.1 and RFC 6026 §7.1 --
            (true, TxState::Proceeding, 100..=199) => {
                t.last_response = Some(bytes.clone());
                self.transmit(to, bytes);
            }
            (true, TxState::Proceeding, 200..=299) => {
                t.state = TxState::Accepted;
                t.last_response = None;
                // From here on the request is only matched, never read.
                message::strip_to_identity(&mut t.request);
                self.transmit(to, bytes);
                self.arm(now, tx, Timer::L, self.timers.timeout());
            }
            (true, TxState::Accepted, 200..=299) => {
                // The TU's 2xx retransmissions (§13.3.1.4).
                self.transmit(to, bytes);
            }
            (true, TxState::Proceeding, _) => {
                t.state = TxState::Completed;
                message::strip_to_identity(&mut t.request);
                t.last_response = Some(bytes.clone());
                self.transmit(to, bytes);
                if let Some(g) = self.timers.initial(Timer::G, reliable) {
                    self.arm(now, tx, Timer::G, g);
                }
                self.arm(now, tx, Timer::H, self.timers.timeout());
            }
            // -- non-INVITE server, §17.2.2 --
            (false, TxState::Trying | TxState::Proceeding, 100..=199) => {
                t.state = TxState::Proceeding;
                t.last_response = Some(bytes.clone());
                self.transmit(to, bytes);
            }
            (false, TxState::Trying | TxState::Proceeding, _) => {
                t.state = TxState::Completed;
                message::strip_to_identity(&mut t.request);
                t.last_response = Some(bytes.clone());
                self.transmit(to, bytes);
                self.arm_wait(now, tx, Timer::J, reliable);
            }
            _ => return Err(TxError::Misuse(Misuse::FinalResponseAlreadySent)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    #[test]
    fn table_4_values() {
        let c = TimerConfig::default();
        let s = Duration::from_secs;
        assert_eq!(c.initial(Timer::A, false), Some(Duration::from_millis(500)));
        assert_eq!(c.initial(Timer::A, true), None);
        assert_eq!(c.initial(Timer::B, true), Some(s(32)));
        assert_eq!(c.initial(Timer::D, false), Some(s(32)));
        assert_eq!(c.initial(Timer::D, true), Some(s(0)));
        assert_eq!(c.initial(Timer::E, true), None);
        assert_eq!(c.initial(Timer::F, false), Some(s(32)));
        assert_eq!(c.initial(Timer::G, false), Some(Duration::from_millis(500)));
        assert_eq!(c.initial(Timer::H, true), Some(s(32)));
        assert_eq!(c.initial(Timer::I, false), Some(s(5)));
        assert_eq!(c.initial(Timer::I, true), Some(s(0)));
        assert_eq!(c.initial(Timer::J, false), Some(s(32)));
        assert_eq!(c.initial(Timer::J, true), Some(s(0)));
        assert_eq!(c.initial(Timer::K, false), Some(s(5)));
        assert_eq!(c.initial(Timer::K, true), Some(s(0)));
        assert_eq!(c.initial(Timer::L, false), Some(s(32)));
        assert_eq!(c.initial(Timer::M, false), Some(s(32)));
    }

    #[test]
    fn method_counts_index_every_method() {
        let mut m = MethodCounts::default();
        for method in Method::all() {
            m.add(method);
        }
        assert!(m.iter().all(|(_, n)| n == 1));
        assert_eq!(m.total(), 14);
    }

    #[test]
    fn misuse_is_reported_not_panicked() {
        #[allow(clippy::disallowed_methods)] // the fake clock's origin
        let now = Instant::now();
        let mut layer = TransactionLayer::new(TimerConfig::default());
        let peer = Peer::new(Transport::Udp, "192.0.2.1:5060".parse().unwrap());
        let SipMessage::Request(ack) = message::parse(
            b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 ACK\r\n\r\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            layer.send_request(now, peer, ack),
            Err(TxError::Misuse(Misuse::AckIsNotATransaction))
        );
        let response = Response::default();
        assert_eq!(
            layer.handle_input(
                now,
                Input::SendResponse {
                    tx: ServerTxId(9),
                    response
                }
            ),
            Err(TxError::Misuse(Misuse::UnknownTransaction))
        );
        assert!(layer.poll_output().is_none());
        assert!(layer.is_empty());
    }
}
