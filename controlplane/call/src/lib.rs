//! Tandem's call model: the one vocabulary that the SIP, ISDN (Q.931) and
//! SS7 (ISUP) adapters translate to, so that services (routing, IVR, ACD)
//! never see a trunk technology (DESIGN.md, "One call model").
//!
//! - [`CallEvent`]: setup, progress, alerting, answer and release of one
//!   call ([`CallId`]), with the calling [`Party`] and a call
//!   [`Direction`]. The events follow the basic call of Q.931 §5 and
//!   ISUP Q.764 §2.1, which RFC 3398 §7.1 and §8.1 map to SIP.
//! - [`Cause`]: a release cause, the cause value of ITU-T Q.850 §2.2.5
//!   with Q.850 Table 1's names, its class, and the location field
//!   ([`CauseLocation`], Q.850 §2.2.3).
//! - The cause ↔ SIP status mapping of RFC 3398: [`Cause::to_sip_status`]
//!   (§7.2.4.1, ISUP cause → SIP response) and [`Cause::from_sip_status`]
//!   (§8.2.6.1, SIP response → ISUP cause). Each adapter uses exactly
//!   this mapping (STYLE.md rule 5).
//!
//! # Contract
//!
//! Plain data and pure functions: no I/O, no clock, no panics. Every
//! `u8` and `u16` input has an answer (values outside the tables get the
//! documented defaults).
//!
//! # Example
//!
//! ```
//! use tandem_call::{CallEvent, Cause, Release};
//!
//! // A SIP callee answered 486: release the ISUP side with cause 17.
//! let rel = CallEvent::Release(Release::new(Cause::from_sip_status(486)));
//! assert_eq!(rel, CallEvent::Release(Release::new(Cause::USER_BUSY)));
//!
//! // The ISUP side released with 34: answer the INVITE with 503.
//! assert_eq!(Cause::NO_CIRCUIT_AVAILABLE.to_sip_status(), 503);
//! assert_eq!(Cause::USER_BUSY.to_string(), "17 (user busy)");
//! ```

#![forbid(unsafe_code)]

mod cause;
mod event;

pub use cause::{Cause, CauseClass, CauseLocation, InvalidCause};
pub use event::{Alerting, Answer, CallEvent, CallId, Direction, Party, Progress, Release, Setup};
