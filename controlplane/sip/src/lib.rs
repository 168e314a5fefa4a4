//! Sans-IO SIP (RFC 3261) for Tandem's trunks and B2BUA.
//!
//! - [`message`]: parsing and printing through `rsip`, with size limits,
//!   the mandatory-header checks of RFC 3261 §8.1.1 and §8.2.6 responses.
//! - [`transaction`]: the four transaction state machines of RFC 3261 §17
//!   (with the RFC 6026 corrections), timers A–K, matching per §17.1.3 and
//!   §17.2.3.
//! - [`transport`]: stream framing for TCP/TLS (RFC 3261 §18.3).
//! - [`dialog`]: dialogs (RFC 3261 §12), in-dialog requests, and 2xx/ACK
//!   reliability (§13.3.1.4, §13.2.2.4).
//! - [`auth`]: HTTP digest authentication (RFC 2617, RFC 7616 MD5 and
//!   SHA-256; RFC 3261 §22).
//! - [`session_timer`]: session timers (RFC 4028).
//! - [`reliable`]: reliable provisional responses and PRACK (RFC 3262).
//! - [`transfer`]: Refer-To (RFC 3515), Replaces (RFC 3891) and the
//!   sipfrag NOTIFYs that report a transfer's progress (RFC 3420).
//!
//! Nothing here opens a socket or reads a clock: every state machine takes
//! `now: Instant` and reports its next deadline through `poll_timeout()`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod dialog;
pub mod message;
pub mod reliable;
pub mod session_timer;
pub mod transaction;
pub mod transfer;
pub mod transport;
