//! Call-center services for 400 (nationwide toll-free) numbers, sans-IO.
//!
//! - [`plan`]: the number plan of each 400 number — time-of-day routing,
//!   routing by caller region, proportional distribution, allow/deny lists
//!   and blacklist, PIN access, forwarding with a hop limit.
//! - [`acd`]: queues and agents — agent states, distribution strategies,
//!   caller priority and fairness across queues, announcements and
//!   spillover.
//! - [`kpi`]: service level, ASA, abandons, handle times, occupancy and
//!   friends, live and per 15-minute interval (CALLCENTER.md, "KPI
//!   definitions").
//! - [`erlang`]: Erlang B and C, and the staffing forecast.
//! - [`ivr`]: menu trees driven by DTMF — digit maps, multi-digit entry,
//!   retries, go back/repeat, HTTP lookups that branch on the answer —
//!   one session per call, recording the call's path and keys.
//! - [`sim`]: a day of a contact center's traffic replayed through the
//!   ACD in simulated time, for tests and the load bench.
//!
//! Services see only the call model ([`tandem_call`]), so a call from a
//! SIP, ISDN PRI or SS7 trunk is treated alike.
//!
//! # Time and I/O contract
//!
//! Nothing here does I/O or reads a clock: every input carries `now` as a
//! [`Timestamp`], timers are deadlines returned by `poll_timeout()`, and
//! decisions come out of `poll_output()` (STYLE.md rules 1 and 2). A day
//! of traffic can therefore be replayed in simulated time, deterministically.

#![forbid(unsafe_code)]

pub mod acd;
pub mod erlang;
mod ids;
pub mod ivr;
pub mod kpi;
pub mod plan;
mod rng;
pub mod sim;
mod time;

pub use ids::{AgentId, NumberId, QueueId};
pub use time::{Date, LocalTime, Timestamp, Weekday};
