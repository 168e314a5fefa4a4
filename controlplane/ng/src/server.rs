//! The sans-IO ng server: a datagram in, a datagram out.
//!
//! [`NgServer::handle_request`] takes one received datagram and the current
//! time and returns the reply datagram. Replies are cached by cookie for
//! [`NgConfig::cache_ttl`] (rtpengine keeps them for 30 to 60 s) so that a
//! retransmitted request — the proxy resends over UDP when a reply is
//! slow or lost — gets the same reply and is not executed twice. The cache
//! holds at most [`NgConfig::cache_capacity`] replies and
//! [`NgConfig::cache_max_bytes`] octets; the oldest go first.
//! [`NgServer::poll_timeout`] says when the oldest entry expires and
//! [`NgServer::handle_timeout`] drops expired entries (lookups also ignore
//! them, so calling it is only about memory).
//!
//! # Metrics
//!
//! [`NgCounters`] holds, for the gateway to publish:
//! - `tandem_ng_requests_total{command}`: requests parsed, by command;
//! - `tandem_ng_errors_total`: error replies sent (any cause);
//! - `tandem_ng_parse_failures_total`: datagrams that were not a valid ng
//!   request (no cookie, bad bencode, missing or mistyped keys, bad SDP);
//! - `tandem_ng_retransmissions_total`: requests answered from the cache.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tandem_sdp::SessionDescription;

use crate::bencode::{self, Limits, Node};
use crate::control::{MediaControl, SdpExchange};
use crate::request::{self, Command, OfferRequest, Request};
use crate::{NgError, rewrite};

/// Longest cookie accepted (Kamailio's are about 30 octets).
pub const MAX_COOKIE_LEN: usize = 128;

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NgConfig {
    /// How long a reply stays in the cookie cache.
    pub cache_ttl: Duration,
    /// Most replies cached.
    pub cache_capacity: usize,
    /// Most octets of replies cached (an offer's reply carries an SDP of
    /// up to 64 KiB, so the count alone does not bound memory).
    pub cache_max_bytes: usize,
    /// Bencode limits.
    pub limits: Limits,
}

impl Default for NgConfig {
    /// 30 s, 4096 replies, 16 MiB, default bencode limits.
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(30),
            cache_capacity: 4096,
            cache_max_bytes: 16 << 20,
            limits: Limits::default(),
        }
    }
}

/// Counters (see the module docs for metric names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NgCounters {
    /// Requests by command, indexed by [`Command::index`].
    pub requests: [u64; Command::ALL.len()],
    /// Error replies.
    pub errors: u64,
    /// Datagrams that were not valid requests.
    pub parse_failures: u64,
    /// Requests answered from the cookie cache.
    pub retransmissions: u64,
}

impl NgCounters {
    /// Requests seen for one command.
    pub fn requests_for(&self, c: Command) -> u64 {
        self.requests[c.index()]
    }
}

/// Splits `cookie SP dictionary`.
pub fn split_message(datagram: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = datagram.iter().position(|&b| b == b' ')?;
    let cookie = &datagram[..sp];
    if cookie.is_empty()
        || cookie.len() > MAX_COOKIE_LEN
        || !cookie.iter().all(u8::is_ascii_graphic)
    {
        return None;
    }
    Some((cookie, &datagram[sp + 1..]))
}

/// Writes `cookie SP bencoded-reply`.
pub fn encode_reply(cookie: &[u8], reply: &Node) -> Vec<u8> {
    let mut out = Vec::with_capacity(cookie.len() + 64);
    out.extend_from_slice(cookie);
    out.push(b' ');
    reply.encode(&mut out);
    out
}

/// `{"result": "error", "error-reason": ...}`.
pub fn error_reply(e: &NgError) -> Node {
    Node::dict()
        .with("result", Node::str("error"))
        .with("error-reason", Node::str(&e.error_reason()))
}

fn ok() -> Node {
    Node::dict().with("result", Node::str("ok"))
}

struct Cached {
    expires: Instant,
    reply: Vec<u8>,
}

/// The ng server around an engine.
pub struct NgServer<C> {
    control: C,
    config: NgConfig,
    cache: HashMap<Vec<u8>, Cached>,
    order: VecDeque<(Instant, Vec<u8>)>,
    cached_bytes: usize,
    counters: NgCounters,
}

impl<C: MediaControl> NgServer<C> {
    /// A server driving `control`.
    pub fn new(control: C, config: NgConfig) -> Self {
        Self {
            control,
            config,
            cache: HashMap::new(),
            order: VecDeque::new(),
            cached_bytes: 0,
            counters: NgCounters::default(),
        }
    }

    /// The engine.
    pub fn control(&self) -> &C {
        &self.control
    }

    /// The engine, mutably.
    pub fn control_mut(&mut self) -> &mut C {
        &mut self.control
    }

    /// The counters.
    pub fn counters(&self) -> &NgCounters {
        &self.counters
    }

    /// Replies currently cached.
    pub fn cached_replies(&self) -> usize {
        self.cache.len()
    }

    /// Handles one received datagram; returns the reply datagram, or `None`
    /// when there is no cookie to answer to.
    #[must_use]
    pub fn handle_request(&mut self, now: Instant, datagram: &[u8]) -> Option<Vec<u8>> {
        self.handle_timeout(now);
        let Some((cookie, body)) = split_message(datagram) else {
            self.counters.parse_failures += 1;
            return None;
        };
        if let Some(hit) = self.cache.get(cookie).filter(|c| c.expires > now) {
            self.counters.retransmissions += 1;
            return Some(hit.reply.clone());
        }
        let reply = match self.dispatch(now, body) {
            Ok(node) => node,
            Err(e) => {
                if e.is_malformed_request() {
                    self.counters.parse_failures += 1;
                }
                self.counters.errors += 1;
                error_reply(&e)
            }
        };
        let bytes = encode_reply(cookie, &reply);
        self.remember(now, cookie, &bytes);
        Some(bytes)
    }

    /// Drops cached replies that have expired.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if *at > now {
                break;
            }
            self.evict_oldest();
        }
    }

    /// Drops the oldest cached reply; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some((_, cookie)) = self.order.pop_front() else {
            return false;
        };
        if let Some(old) = self.cache.remove(&cookie) {
            self.cached_bytes = self
                .cached_bytes
                .saturating_sub(cookie.len() + old.reply.len());
        }
        true
    }

    /// Octets of replies cached.
    pub fn cached_bytes(&self) -> usize {
        self.cached_bytes
    }

    /// When the oldest cached reply expires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.order.front().map(|(at, _)| *at)
    }

    fn remember(&mut self, now: Instant, cookie: &[u8], reply: &[u8]) {
        let size = cookie.len() + reply.len();
        if self.config.cache_capacity == 0 || size > self.config.cache_max_bytes {
            return;
        }
        while self.cache.len() >= self.config.cache_capacity
            || self.cached_bytes + size > self.config.cache_max_bytes
        {
            if !self.evict_oldest() {
                break;
            }
        }
        self.cached_bytes += size;
        let expires = now.checked_add(self.config.cache_ttl).unwrap_or(now);
        self.cache.insert(
            cookie.to_vec(),
            Cached {
                expires,
                reply: reply.to_vec(),
            },
        );
        self.order.push_back((expires, cookie.to_vec()));
    }

    fn dispatch(&mut self, now: Instant, body: &[u8]) -> Result<Node, NgError> {
        let value = bencode::decode(body, self.config.limits)?;
        let req = request::parse_request(&value)?;
        self.counters.requests[req.command().index()] += 1;
        let c = &mut self.control;
        Ok(match &req {
            Request::Ping => Node::dict().with("result", Node::str("pong")),
            Request::Offer(r) => offer_answer(c, now, r, true)?,
            Request::Answer(r) => offer_answer(c, now, r, false)?,
            Request::Delete(r) => match c.delete(now, r) {
                Ok(stats) => {
                    let mut reply = ok();
                    if let Some(s) = stats.filter(|_| !r.flags.fast) {
                        s.write_into(&mut reply);
                    }
                    reply
                }
                // rtpengine: without `fatal`, a failed delete is a warning.
                Err(e) if !r.flags.fatal && !e.is_malformed_request() => {
                    ok().with("warning", Node::str(&e.error_reason()))
                }
                Err(e) => return Err(e),
            },
            Request::Query(r) => {
                let mut reply = ok();
                c.query(now, r)?.write_into(&mut reply);
                reply
            }
            Request::List(r) => {
                let mut calls = c.list(now, r)?;
                calls.truncate(r.limit);
                ok().with("calls", Node::str_list(&calls))
            }
            Request::PlayMedia(r) => {
                let reply = ok();
                match c.play_media(now, r)? {
                    Some(ms) => {
                        reply.with("duration", Node::Int(i64::try_from(ms).unwrap_or(i64::MAX)))
                    }
                    None => reply,
                }
            }
            Request::StopMedia(r) => {
                let reply = ok();
                match c.stop_media(now, r)? {
                    Some(pos) => reply.with(
                        "last-frame-pos",
                        Node::Int(i64::try_from(pos).unwrap_or(i64::MAX)),
                    ),
                    None => reply,
                }
            }
            Request::StartRecording(r) => c.start_recording(now, r).map(|()| ok())?,
            Request::StopRecording(r) => c.stop_recording(now, r).map(|()| ok())?,
            Request::BlockDtmf(r) => c.block_dtmf(now, r).map(|()| ok())?,
            Request::UnblockDtmf(r) => c.unblock_dtmf(now, r).map(|()| ok())?,
            Request::PlayDtmf(r) => c.play_dtmf(now, r).map(|()| ok())?,
        })
    }
}

fn offer_answer<C: MediaControl>(
    c: &mut C,
    now: Instant,
    req: &OfferRequest<'_>,
    is_offer: bool,
) -> Result<Node, NgError> {
    let received = SessionDescription::parse(req.sdp.as_bytes())?;
    let mut outgoing = rewrite::prepare_outgoing(&received, req, is_offer)?;
    let exchange = SdpExchange {
        received: &received,
        outgoing: &outgoing,
    };
    let plan = if is_offer {
        c.offer(now, req, exchange)?
    } else {
        c.answer(now, req, exchange)?
    };
    rewrite::apply_plan(&mut outgoing, req, &plan)?;
    let sdp = outgoing.to_bytes();
    let mut reply = ok().with("sdp", Node::Bytes(sdp));
    if let Some(w) = &plan.warning {
        reply.insert("warning", Node::str(w));
    }
    Ok(reply)
}
