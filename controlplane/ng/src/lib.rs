//! rtpengine's *ng* control protocol, so that Kamailio's and OpenSIPS's
//! `rtpengine` modules can drive Tandem's media engine as they would drive
//! rtpengine (rtpengine `docs/ng_control_protocol.md`).
//!
//! - [`bencode`]: BEP 3 bencode, zero-copy decoding with depth and size
//!   limits, sorted-key encoding.
//! - [`request`]: the typed commands (`ping`, `offer`, `answer`, `delete`,
//!   `query`, `list`, `play media`, `stop media`, `start/stop recording`,
//!   `block/unblock DTMF`, `play DTMF`), their keys and flags, including
//!   the forms Kamailio's module puts on the wire and `rtpp-flags`.
//! - [`control`]: [`MediaControl`], the trait the media engine implements,
//!   and the statistics it reports.
//! - [`rewrite`]: SDP rewriting (`c=`, `m=`, `a=rtcp`, ICE, origin,
//!   codecs, transport protocol), using `tandem-sdp`.
//! - [`server`]: [`NgServer`], framing (`cookie SP dictionary`), dispatch,
//!   replies, the reply cache keyed by cookie, counters.
//!
//! # I/O and time
//!
//! Nothing here opens a socket or reads a clock. The gateway reads a UDP
//! datagram, passes it with the current time to
//! [`NgServer::handle_request`], and sends back what it returns to the
//! datagram's source; it calls [`NgServer::handle_timeout`] when
//! [`NgServer::poll_timeout`] says so, to expire cached replies.
//!
//! ```
//! use std::time::Instant;
//! use tandem_ng::{control::*, request::*, NgConfig, NgError, NgServer};
//!
//! struct Engine;
//! impl MediaControl for Engine {
//!     fn offer(&mut self, _: Instant, _: &OfferRequest<'_>, sdp: SdpExchange<'_>) -> Result<MediaPlan, NgError> {
//!         let media = sdp.outgoing.media().iter().enumerate()
//!             .map(|(i, _)| MediaEndpoint::new("203.0.113.1".parse().unwrap(), 30000 + 2 * i as u16, None))
//!             .collect();
//!         Ok(MediaPlan { media, ice: None, warning: None })
//!     }
//!     fn answer(&mut self, now: Instant, r: &OfferRequest<'_>, sdp: SdpExchange<'_>) -> Result<MediaPlan, NgError> {
//!         self.offer(now, r, sdp)
//!     }
//!     fn delete(&mut self, _: Instant, _: &DeleteRequest<'_>) -> Result<Option<CallStats>, NgError> { Ok(None) }
//!     fn query(&mut self, _: Instant, _: &CallRef<'_>) -> Result<CallStats, NgError> { Err(NgError::UnknownCall) }
//!     fn list(&mut self, _: Instant, _: &ListRequest) -> Result<Vec<String>, NgError> { Ok(vec![]) }
//! }
//!
//! let mut server = NgServer::new(Engine, NgConfig::default());
//! let now = Instant::now(); // the gateway's clock, not this crate's
//! // Driving loop: for each datagram received, reply with what comes back.
//! let reply = server.handle_request(now, b"5323_1 d7:command4:pinge");
//! assert_eq!(reply.as_deref(), Some(&b"5323_1 d6:result4:ponge"[..]));
//! // And expire cached replies when asked to.
//! if let Some(at) = server.poll_timeout() {
//!     server.handle_timeout(at);
//! }
//! ```

#![forbid(unsafe_code)]

pub mod bencode;
pub mod control;
mod error;
pub mod request;
pub mod rewrite;
pub mod server;

pub use control::MediaControl;
pub use error::NgError;
pub use server::{NgConfig, NgCounters, NgServer};
