//! Call-center KPIs, live and per 15-minute interval, computed from the
//! ACD's [`Event`]s and a few number-level [`NumberEvent`]s
//! (CALLCENTER.md, "KPI definitions").
//!
//! # What is counted
//!
//! A [`KpiEngine`] keeps [`Counters`] — only counts and sums, never
//! averages — per queue, per agent and per 400 number:
//!
//! | counter | from | queue | agent | number |
//! |---|---|---|---|---|
//! | `offered` | `CallQueued`; [`NumberEvent::Offered`] | ✓ | | ✓ |
//! | `queued` | `CallQueued` (a number counts a call's first queue only) | ✓ | | ✓ |
//! | `answered`, `answered_wait_ms` | `CallAnswered` (`waited`); [`NumberEvent::Answered`] | ✓ | ✓ | ✓ |
//! | `answered_within_threshold` | `CallAnswered` with wait ≤ the queue's T | ✓ | ✓ | ✓ |
//! | `abandoned`, `abandoned_wait_ms` | `CallAbandoned` with wait > the short-abandon threshold; [`NumberEvent::Abandoned`] | ✓ | | ✓ |
//! | `short_abandoned` | `CallAbandoned` with wait ≤ the short-abandon threshold | ✓ | | ✓ |
//! | `spilled[reason]` | `CallSpilled` (a number: only spills out of the ACD) | ✓ | | ✓ |
//! | `ring_no_answer` | `RingNoAnswer` | ✓ | ✓ | |
//! | `handled`, `talk_ms`, `hold_ms`, `transferred` | `CallEnded` | ✓ | ✓ | |
//! | `wrap_up_ms` | `WrapUpEnded` | ✓ | ✓ | |
//! | `blocked` | [`NumberEvent::Blocked`] | | | ✓ |
//! | `staffed_ms`, `state_ms[state]` | `AgentStateChanged`: time in each state but `LoggedOut` | | ✓ | |
//!
//! A number's answered and abandoned calls that went through a queue are
//! counted from the ACD's events (the engine remembers which number each
//! queued call came in on); the number's wait is then the time since the
//! call entered its first queue. [`NumberEvent::Answered`] and
//! [`NumberEvent::Abandoned`] are only for calls that never reached a
//! queue (routed straight to a bound phone); they use the default
//! thresholds of [`QueueKpiConfig`].
//!
//! # KPI formulas
//!
//! Methods of [`Counters`], each `None` when its denominator is 0, rates
//! as fractions (0.8 for 80 %). Short abandons (wait ≤ the queue's
//! short-abandon threshold, default 5 s) are counted apart and excluded
//! from `abandoned` and from the offered calls of the rates:
//!
//! | KPI | formula | CALLCENTER.md |
//! |---|---|---|
//! | [service level](Counters::service_level) | answered within T ÷ (offered − short abandoned) | answered within T ÷ offered |
//! | [ASA](Counters::asa) | answered wait ÷ answered | same |
//! | [abandon rate](Counters::abandon_rate) | abandoned ÷ (offered − short abandoned) | abandoned ÷ offered, short abandons excluded |
//! | [average time to abandon](Counters::average_time_to_abandon) | abandoned wait ÷ abandoned | same |
//! | [answered %](Counters::answered_rate) | answered ÷ offered | same |
//! | [AHT](Counters::aht) | (talk + hold + wrap-up) ÷ handled | talk + hold + after-call work |
//! | [average talk](Counters::average_talk), [hold](Counters::average_hold), [after-call work](Counters::average_wrap_up) | each ÷ handled | wrap-up time per call |
//! | [occupancy](Counters::occupancy) | (talk + hold + wrap-up) ÷ staffed | (talk + hold) ÷ (talk + hold + idle) |
//! | [ready occupancy](Counters::ready_occupancy) | (on call + on hold + wrap-up state time) ÷ (staffed − paused) | |
//! | [calls per agent-hour](Counters::calls_per_agent_hour) | answered ÷ staffed hours | answered ÷ hours logged in |
//! | [transfer rate](Counters::transfer_rate) | transferred ÷ answered | same |
//! | [queue placement rate](Counters::queue_placement_rate) | queued ÷ offered (numbers) | calls queued ÷ calls received |
//! | [blocking rate](Counters::blocking_rate) | blocked ÷ offered (numbers) | same |
//! | [total calls](Counters::total_calls) | blocked + abandoned + short abandoned + answered | blocked + abandoned + answered |
//!
//! Schedule adherence and first-call resolution need the schedule and the
//! disposition codes, which the ACD's events do not carry.
//!
//! # Intervals
//!
//! Time is cut into 15-minute intervals aligned on UTC quarter hours
//! (:00, :15, :30, :45). When time passes an interval's end — an event
//! later than it, or [`KpiEngine::handle_timeout`] — the engine closes the
//! interval and queues one [`IntervalRow`] for every queue, agent and
//! number that had an event in it or staffed time in it, which
//! [`KpiEngine::poll_output`] hands out. A call event is counted whole in
//! the interval in which it happens (an answer counts where the answer
//! is, with its whole wait; a call's talk and hold where it ends); an
//! agent's time in a state is split at interval boundaries. An event
//! older than the current interval is counted in the current one. Rows
//! are only sums and counts, so a day, week or month is the
//! [`merge`](Counters::merge) of its rows, and every KPI of the merge is
//! exact.
//!
//! # Waiting-time histogram
//!
//! Each queue has a [`WaitHistogram`] of the waits of its **answered**
//! calls since start, cumulative like Prometheus, with edges at
//! [`DEFAULT_WAIT_BUCKETS`] plus the queue's service-level threshold T, so
//! `bucket{le="T"} ÷ count` is exactly the share of answered calls
//! answered within T. Changing T with [`KpiEngine::configure_queue`]
//! starts the histogram afresh.
//!
//! # Metrics
//!
//! Suggested names for exporting the live totals ([`KpiEngine::totals`])
//! and state ([`KpiEngine::agents_in_state`], [`KpiEngine::waiting`]),
//! with `kind` one of `queue`, `agent`, `number` ([`EntityKind::as_str`]):
//!
//! - `tandem_callcenter_calls_offered_total{kind,id}`, `…_calls_queued_total`,
//!   `…_calls_answered_total`, `…_calls_answered_within_threshold_total`,
//!   `…_calls_abandoned_total`, `…_calls_short_abandoned_total`,
//!   `…_calls_spilled_total{kind,id,reason}` ([`SpillReason::as_str`](crate::acd::SpillReason::as_str)),
//!   `…_ring_no_answer_total`, `…_calls_handled_total`,
//!   `…_calls_transferred_total`, `…_calls_blocked_total`: the counters above;
//! - `tandem_callcenter_answered_wait_seconds_total`,
//!   `…_abandoned_wait_seconds_total`, `…_talk_seconds_total`,
//!   `…_hold_seconds_total`, `…_wrap_up_seconds_total`,
//!   `…_staffed_seconds_total`, `…_agent_state_seconds_total{id,state}`: the sums;
//! - `tandem_callcenter_queue_wait_seconds{queue}`: the histogram (`_bucket{le}`,
//!   `_sum`, `_count`) of answered calls' waits;
//! - `tandem_callcenter_calls_waiting{queue}`: callers in the queue now;
//! - `tandem_callcenter_agents{state}`: agents in each state now
//!   ([`AgentState::as_str`]).
//!
//! # Driving loop
//!
//! ```
//! use std::time::Duration;
//! use tandem_call::CallId;
//! use tandem_callcenter::acd::{AgentState, Event};
//! use tandem_callcenter::kpi::{Entity, KpiEngine, NumberEvent};
//! use tandem_callcenter::{AgentId, NumberId, QueueId, Timestamp};
//!
//! let mut kpi = KpiEngine::new();
//! let (q, agent, n) = (QueueId(0), AgentId(0), NumberId(0));
//! let t0 = Timestamp::from_secs(1_800_000_000); // 2027-01-15T08:00:00Z
//! let s = |secs| t0 + Duration::from_secs(secs);
//! kpi.handle_event(&Event::AgentStateChanged {
//!     at: t0, agent, from: AgentState::LoggedOut, to: AgentState::Available,
//! });
//! kpi.handle_number_event(NumberEvent::Offered { at: s(60), number: n });
//! kpi.handle_event(&Event::CallQueued {
//!     at: s(60), call: CallId(1), queue: q, number: Some(n), priority: 0,
//! });
//! kpi.handle_event(&Event::CallAnswered {
//!     at: s(72), call: CallId(1), queue: q, agent, waited: Duration::from_secs(12),
//! });
//!
//! // The wallboard reads the live totals at any time.
//! let live = kpi.totals(Entity::Queue(q)).unwrap();
//! assert_eq!(live.service_level(), Some(1.0));
//! assert_eq!(live.asa(), Some(Duration::from_secs(12)));
//!
//! // The I/O loop wakes at poll_timeout(), feeds the time in and stores
//! // the rows of the interval that ended.
//! let mut rows = Vec::new();
//! let now = s(15 * 60);
//! if kpi.poll_timeout().is_some_and(|deadline| now >= deadline) {
//!     kpi.handle_timeout(now);
//! }
//! while let Some(row) = kpi.poll_output() {
//!     rows.push(row); // INSERT … ON CONFLICT DO UPDATE SET col = col + excluded.col
//! }
//! assert_eq!(rows.len(), 3); // the queue, the agent and the number
//! assert_eq!(rows[1].counters.staffed_ms, 15 * 60 * 1000);
//! ```

mod counters;
mod histogram;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tandem_call::CallId;

pub use counters::{Counters, Entity, EntityKind, IntervalRow, Kpis, SPILL_REASONS};
pub use histogram::{DEFAULT_WAIT_BUCKETS, WaitHistogram};

use crate::acd::{AgentState, Event, Overflow};
use crate::ids::{AgentId, NumberId, QueueId};
use crate::time::Timestamp;
use counters::{spill_index, state_index};
use histogram::Histogram;

/// The length of a KPI interval: 15 minutes, aligned on UTC quarter hours.
pub const INTERVAL: Duration = Duration::from_secs(15 * 60);
const INTERVAL_MS: u64 = 15 * 60 * 1000;

/// The largest queue, agent or number id the engine keeps. Ids are dense
/// indices into tables; an event naming a larger id is ignored (and
/// counted by [`KpiEngine::ignored_events`]) rather than growing a table
/// to that size.
pub const MAX_ID: u32 = (1 << 20) - 1;

/// A queued call whose number the engine remembers is forgotten when no
/// event has named it for this long (a call whose end was never reported).
const CALL_MEMORY_MS: u64 = 24 * 3_600_000;

/// Per-queue KPI settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueKpiConfig {
    /// T of the service level: an answer after waiting at most this long
    /// counts as within service level. Default 20 s.
    pub service_level_threshold: Duration,
    /// A caller who hangs up after waiting at most this long is a short
    /// abandon, counted apart and excluded from the abandon rate.
    /// Default 5 s.
    pub short_abandon_threshold: Duration,
}

impl Default for QueueKpiConfig {
    fn default() -> Self {
        QueueKpiConfig {
            service_level_threshold: Duration::from_secs(20),
            short_abandon_threshold: Duration::from_secs(5),
        }
    }
}

/// What happens to calls on a 400 number outside the ACD, reported by the
/// gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberEvent {
    /// A call arrived for the number. Report every call, including those
    /// then blocked: this is the denominator of the blocking and queue
    /// placement rates.
    Offered {
        /// When.
        at: Timestamp,
        /// The number.
        number: NumberId,
    },
    /// The call was refused (busy) for lack of trunks or capacity and
    /// never reached the ACD. Report [`Offered`](Self::Offered) for it too.
    Blocked {
        /// When.
        at: Timestamp,
        /// The number.
        number: NumberId,
    },
    /// A call that never entered a queue (routed straight to a bound
    /// phone) was answered. Calls answered from a queue are counted from
    /// the ACD's `CallAnswered`; do not report them here.
    Answered {
        /// When.
        at: Timestamp,
        /// The number.
        number: NumberId,
        /// From the call's arrival to the answer.
        waited: Duration,
    },
    /// The caller of a call that never entered a queue hung up before an
    /// answer. Calls abandoned in a queue are counted from the ACD's
    /// `CallAbandoned`; do not report them here.
    Abandoned {
        /// When.
        at: Timestamp,
        /// The number.
        number: NumberId,
        /// From the call's arrival to the hang-up.
        waited: Duration,
    },
}

impl NumberEvent {
    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            NumberEvent::Offered { at, .. }
            | NumberEvent::Blocked { at, .. }
            | NumberEvent::Answered { at, .. }
            | NumberEvent::Abandoned { at, .. } => *at,
        }
    }
}

/// Counters of the current interval and of the closed ones.
#[derive(Debug, Clone, Default)]
struct Slot {
    /// The current interval so far.
    open: Counters,
    /// Every closed interval since start, summed.
    closed: Counters,
    /// An event named this entity in the current interval.
    touched: bool,
}

#[derive(Debug, Clone)]
struct QueueEntry {
    slot: Slot,
    config: QueueKpiConfig,
    histogram: Histogram,
    waiting: u64,
}

#[derive(Debug, Clone)]
struct AgentEntry {
    slot: Slot,
    state: AgentState,
    /// When the time in `state` not yet counted started.
    since: Timestamp,
}

impl AgentEntry {
    /// Counts the time in the current state up to `upto`.
    fn settle(&mut self, upto: Timestamp) {
        if upto <= self.since {
            return;
        }
        if self.state.is_staffed() {
            let ms = upto.as_millis() - self.since.as_millis();
            let open = &mut self.slot.open;
            open.staffed_ms = open.staffed_ms.saturating_add(ms);
            let s = &mut open.state_ms[state_index(self.state)];
            *s = s.saturating_add(ms);
        }
        self.since = upto;
    }

    /// The counters `base` plus the time in the current state not yet
    /// counted, up to `now`.
    fn with_open_time(&self, base: Counters, now: Timestamp) -> Counters {
        let mut a = AgentEntry {
            slot: Slot {
                open: base,
                ..Slot::default()
            },
            ..self.clone()
        };
        a.settle(now);
        a.slot.open
    }
}

#[derive(Debug, Clone)]
struct CallEntry {
    number: NumberId,
    /// When the call entered its first queue.
    first_queued: Timestamp,
    /// The last event that named the call.
    seen: Timestamp,
}

/// A table indexed by a dense id: `index[id]` is the position in `items`
/// (or `u32::MAX`), and `items` keeps the entries in the order first seen.
#[derive(Debug, Clone)]
struct Table<T> {
    index: Vec<u32>,
    items: Vec<(u32, T)>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            index: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    fn get(&self, id: u32) -> Option<&T> {
        let pos = *self.index.get(id as usize)?;
        self.items.get(pos as usize).map(|(_, t)| t)
    }

    /// The entry of `id`, made by `make` if new; `None` if `id` > [`MAX_ID`].
    fn entry(&mut self, id: u32, make: impl FnOnce() -> T) -> Option<&mut T> {
        if id > MAX_ID {
            return None;
        }
        let i = id as usize;
        if self.index.len() <= i {
            self.index.resize(i + 1, u32::MAX);
        }
        if self.index[i] == u32::MAX {
            self.index[i] = self.items.len() as u32;
            self.items.push((id, make()));
        }
        let pos = self.index[i] as usize;
        self.items.get_mut(pos).map(|(_, t)| t)
    }
}

/// Counts a call event in an entity's slot.
fn count(slot: &mut Slot, f: impl FnOnce(&mut Counters)) {
    slot.touched = true;
    f(&mut slot.open);
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn inc(c: &mut u64) {
    *c = c.saturating_add(1);
}

fn add(c: &mut u64, v: u64) {
    *c = c.saturating_add(v);
}

/// Counts an answer after `waited` ms against threshold T.
fn count_answer(c: &mut Counters, waited: u64, threshold: u64) {
    inc(&mut c.answered);
    if waited <= threshold {
        inc(&mut c.answered_within_threshold);
    }
    add(&mut c.answered_wait_ms, waited);
}

/// Counts an abandon after `waited` ms against the short-abandon threshold.
fn count_abandon(c: &mut Counters, waited: u64, short: u64) {
    if waited <= short {
        inc(&mut c.short_abandoned);
    } else {
        inc(&mut c.abandoned);
        add(&mut c.abandoned_wait_ms, waited);
    }
}

/// The start of the interval containing `t`.
fn interval_of(t: Timestamp) -> Timestamp {
    Timestamp(t.as_millis() - t.as_millis() % INTERVAL_MS)
}

/// The KPI engine: counters per queue, agent and number, live and per
/// 15-minute interval. See the [module docs](self) for what is counted,
/// the formulas and the driving loop.
///
/// Sans-IO: time comes only from the events and from
/// [`handle_timeout`](Self::handle_timeout). Nothing panics on any input:
/// unknown ids are created on first sight, events out of order are
/// counted in the current interval, durations saturate.
#[derive(Debug, Clone, Default)]
pub struct KpiEngine {
    queues: Table<QueueEntry>,
    agents: Table<AgentEntry>,
    numbers: Table<NumberEntry>,
    /// Queued calls that came in on a number, for the number's counters.
    calls: HashMap<CallId, CallEntry>,
    /// The start of the current interval, once any time has been seen.
    interval: Option<Timestamp>,
    /// The latest time seen.
    now: Timestamp,
    rows: VecDeque<IntervalRow>,
    /// Known agents in each state, indexed as [`AgentState::ALL`].
    in_state: [u32; 7],
    ignored: u64,
}

#[derive(Debug, Clone, Default)]
struct NumberEntry {
    slot: Slot,
}

fn new_queue(config: QueueKpiConfig) -> QueueEntry {
    QueueEntry {
        slot: Slot::default(),
        config,
        histogram: Histogram::new(config.service_level_threshold),
        waiting: 0,
    }
}

impl KpiEngine {
    /// An engine with no queues, agents or numbers yet; time starts with
    /// the first input.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a queue's service-level threshold T and short-abandon
    /// threshold; they apply to events from now on. If T changes, the
    /// queue's waiting-time histogram starts afresh with T as an edge.
    /// Ignored for ids above [`MAX_ID`].
    pub fn configure_queue(&mut self, queue: QueueId, config: QueueKpiConfig) {
        let Some(q) = self.queues.entry(queue.0, || new_queue(config)) else {
            self.ignored = self.ignored.saturating_add(1);
            return;
        };
        if q.config.service_level_threshold != config.service_level_threshold {
            q.histogram = Histogram::new(config.service_level_threshold);
        }
        q.config = config;
    }

    /// A queue's settings (the defaults if never configured).
    pub fn queue_config(&self, queue: QueueId) -> QueueKpiConfig {
        self.queues
            .get(queue.0)
            .map(|q| q.config)
            .unwrap_or_default()
    }

    /// Counts one ACD event. Closes any intervals that ended before it
    /// first (see [`handle_timeout`](Self::handle_timeout)).
    pub fn handle_event(&mut self, event: &Event) {
        let at = event.at();
        if !self.ids_in_range(event) {
            self.ignored = self.ignored.saturating_add(1);
            return;
        }
        self.advance(at);
        self.count_event(at, event);
    }

    /// Whether every id the event names is at most [`MAX_ID`].
    fn ids_in_range(&self, event: &Event) -> bool {
        let (queue, agent, number) = match event {
            Event::CallQueued { queue, number, .. } => (Some(*queue), None, *number),
            Event::CallAnswered { queue, agent, .. }
            | Event::RingNoAnswer { queue, agent, .. }
            | Event::CallEnded { queue, agent, .. }
            | Event::WrapUpEnded { queue, agent, .. } => (Some(*queue), Some(*agent), None),
            Event::CallAbandoned { queue, .. } | Event::CallSpilled { queue, .. } => {
                (Some(*queue), None, None)
            }
            Event::AgentStateChanged { agent, .. } => (None, Some(*agent), None),
        };
        queue.is_none_or(|q| q.0 <= MAX_ID)
            && agent.is_none_or(|a| a.0 <= MAX_ID)
            && number.is_none_or(|n| n.0 <= MAX_ID)
    }

    fn queue(&mut self, queue: QueueId) -> Option<&mut QueueEntry> {
        self.queues
            .entry(queue.0, || new_queue(QueueKpiConfig::default()))
    }

    fn agent(&mut self, agent: AgentId, at: Timestamp) -> Option<&mut AgentEntry> {
        let in_state = &mut self.in_state;
        self.agents.entry(agent.0, || {
            inc32(&mut in_state[state_index(AgentState::LoggedOut)]);
            AgentEntry {
                slot: Slot::default(),
                state: AgentState::LoggedOut,
                since: at,
            }
        })
    }

    fn number(&mut self, number: NumberId) -> Option<&mut NumberEntry> {
        self.numbers.entry(number.0, NumberEntry::default)
    }

    fn count_event(&mut self, at: Timestamp, event: &Event) {
        match event {
            Event::CallQueued {
                call,
                queue,
                number,
                ..
            } => {
                if let Some(q) = self.queue(*queue) {
                    inc(&mut q.waiting);
                    count(&mut q.slot, |c| {
                        inc(&mut c.offered);
                        inc(&mut c.queued);
                    });
                }
                if let Some(n) = number {
                    let first = match self.calls.get_mut(call) {
                        Some(entry) => {
                            entry.seen = at;
                            false
                        }
                        None => {
                            let entry = CallEntry {
                                number: *n,
                                first_queued: at,
                                seen: at,
                            };
                            self.calls.insert(*call, entry);
                            true
                        }
                    };
                    if let Some(num) = self.number(*n) {
                        count(&mut num.slot, |c| {
                            if first {
                                inc(&mut c.queued);
                            }
                        });
                    }
                }
            }
            Event::CallAnswered {
                call,
                queue,
                agent,
                waited,
                ..
            } => {
                let waited = ms(*waited);
                let Some(q) = self.queue(*queue) else { return };
                let config = q.config;
                let threshold = ms(config.service_level_threshold);
                q.waiting = q.waiting.saturating_sub(1);
                q.histogram.observe(waited);
                count(&mut q.slot, |c| count_answer(c, waited, threshold));
                if let Some(a) = self.agent(*agent, at) {
                    count(&mut a.slot, |c| count_answer(c, waited, threshold));
                }
                if let Some(entry) = self.calls.remove(call) {
                    let waited = ms(at.saturating_since(entry.first_queued));
                    if let Some(n) = self.number(entry.number) {
                        count(&mut n.slot, |c| count_answer(c, waited, threshold));
                    }
                }
            }
            Event::CallAbandoned {
                call,
                queue,
                waited,
                ..
            } => {
                let waited = ms(*waited);
                let Some(q) = self.queue(*queue) else { return };
                let short = ms(q.config.short_abandon_threshold);
                q.waiting = q.waiting.saturating_sub(1);
                count(&mut q.slot, |c| count_abandon(c, waited, short));
                if let Some(entry) = self.calls.remove(call) {
                    let waited = ms(at.saturating_since(entry.first_queued));
                    if let Some(n) = self.number(entry.number) {
                        count(&mut n.slot, |c| count_abandon(c, waited, short));
                    }
                }
            }
            Event::CallSpilled {
                call,
                queue,
                reason,
                to,
                ..
            } => {
                let i = spill_index(*reason);
                if let Some(q) = self.queue(*queue) {
                    q.waiting = q.waiting.saturating_sub(1);
                    count(&mut q.slot, |c| inc(&mut c.spilled[i]));
                }
                if let Overflow::Queue(_) = to {
                    // Still in the center: the next CallQueued follows.
                    if let Some(entry) = self.calls.get_mut(call) {
                        entry.seen = at;
                    }
                } else if let Some(entry) = self.calls.remove(call) {
                    if let Some(n) = self.number(entry.number) {
                        count(&mut n.slot, |c| inc(&mut c.spilled[i]));
                    }
                }
            }
            Event::RingNoAnswer { queue, agent, .. } => {
                if let Some(q) = self.queue(*queue) {
                    count(&mut q.slot, |c| inc(&mut c.ring_no_answer));
                }
                if let Some(a) = self.agent(*agent, at) {
                    count(&mut a.slot, |c| inc(&mut c.ring_no_answer));
                }
            }
            Event::CallEnded {
                queue,
                agent,
                talk,
                hold,
                transferred,
                ..
            } => {
                let (talk, hold, transferred) = (ms(*talk), ms(*hold), *transferred);
                let ended = |c: &mut Counters| {
                    inc(&mut c.handled);
                    add(&mut c.talk_ms, talk);
                    add(&mut c.hold_ms, hold);
                    if transferred {
                        inc(&mut c.transferred);
                    }
                };
                if let Some(q) = self.queue(*queue) {
                    count(&mut q.slot, ended);
                }
                if let Some(a) = self.agent(*agent, at) {
                    count(&mut a.slot, ended);
                }
            }
            Event::WrapUpEnded {
                agent,
                queue,
                duration,
                ..
            } => {
                let wrap = ms(*duration);
                if let Some(q) = self.queue(*queue) {
                    count(&mut q.slot, |c| add(&mut c.wrap_up_ms, wrap));
                }
                if let Some(a) = self.agent(*agent, at) {
                    count(&mut a.slot, |c| add(&mut c.wrap_up_ms, wrap));
                }
            }
            Event::AgentStateChanged { agent, to, .. } => {
                let Some(a) = self.agent(*agent, at) else {
                    return;
                };
                a.settle(at);
                let from = a.state;
                a.state = *to;
                a.slot.touched = true;
                let from = &mut self.in_state[state_index(from)];
                *from = from.saturating_sub(1);
                inc32(&mut self.in_state[state_index(*to)]);
            }
        }
    }

    /// Counts one number-level event. Closes any intervals that ended
    /// before it first.
    pub fn handle_number_event(&mut self, event: NumberEvent) {
        let number = match event {
            NumberEvent::Offered { number, .. }
            | NumberEvent::Blocked { number, .. }
            | NumberEvent::Answered { number, .. }
            | NumberEvent::Abandoned { number, .. } => number,
        };
        if number.0 > MAX_ID {
            self.ignored = self.ignored.saturating_add(1);
            return;
        }
        self.advance(event.at());
        let defaults = QueueKpiConfig::default();
        let Some(n) = self.number(number) else { return };
        count(&mut n.slot, |c| match event {
            NumberEvent::Offered { .. } => inc(&mut c.offered),
            NumberEvent::Blocked { .. } => inc(&mut c.blocked),
            NumberEvent::Answered { waited, .. } => {
                count_answer(c, ms(waited), ms(defaults.service_level_threshold))
            }
            NumberEvent::Abandoned { waited, .. } => {
                count_abandon(c, ms(waited), ms(defaults.short_abandon_threshold))
            }
        });
    }

    /// Tells the engine the time is `now`: closes every interval that
    /// ended at or before `now` and queues its rows for
    /// [`poll_output`](Self::poll_output). Call it when
    /// [`poll_timeout`](Self::poll_timeout) is due (late is fine: the
    /// missed intervals are closed in order). A `now` earlier than the
    /// latest time seen changes nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.advance(now);
    }

    /// When the current interval ends, which is when
    /// [`handle_timeout`](Self::handle_timeout) has rows to close; `None`
    /// before the first input.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.interval
            .map(|start| Timestamp(start.as_millis().saturating_add(INTERVAL_MS)))
    }

    /// The next row of a closed interval, oldest interval first; within an
    /// interval queues, then agents, then numbers, each in the order the
    /// engine first saw them.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<IntervalRow> {
        self.rows.pop_front()
    }

    /// Closes the current interval early, at `now` (for a shutdown): its
    /// rows so far are queued for [`poll_output`](Self::poll_output) with
    /// the interval's usual start, and counting goes on from zero in the
    /// same interval. The rows of the rest of the interval, emitted when
    /// it ends, have the same entity and start and add to these.
    pub fn flush(&mut self, now: Timestamp) {
        self.advance(now);
        if let Some(start) = self.interval {
            self.close(start, self.now);
        }
    }

    /// Moves time to `now`, closing the intervals that ended.
    fn advance(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        let Some(mut start) = self.interval else {
            self.interval = Some(interval_of(now));
            return;
        };
        while let Some(end) = start.as_millis().checked_add(INTERVAL_MS).map(Timestamp) {
            if now < end {
                break;
            }
            self.close(start, end);
            start = end;
            if self.staffed_agents() == 0 {
                // Nothing to count until the next input: skip empty intervals.
                start = start.max(interval_of(now));
            }
        }
        self.interval = Some(start);
    }

    /// Agents signed in now.
    fn staffed_agents(&self) -> u32 {
        self.in_state[1..]
            .iter()
            .fold(0u32, |a, b| a.saturating_add(*b))
    }

    /// Ends the counting of interval `start` at `end`: counts agents' time
    /// up to `end`, queues the rows, folds them into the totals.
    fn close(&mut self, start: Timestamp, end: Timestamp) {
        fn emit(
            rows: &mut VecDeque<IntervalRow>,
            entity: Entity,
            start: Timestamp,
            slot: &mut Slot,
        ) {
            if slot.touched || slot.open.staffed_ms > 0 {
                rows.push_back(IntervalRow {
                    entity,
                    start,
                    counters: slot.open,
                });
                slot.closed.merge(&slot.open);
            }
            slot.open = Counters::default();
            slot.touched = false;
        }
        for (id, q) in &mut self.queues.items {
            emit(
                &mut self.rows,
                Entity::Queue(QueueId(*id)),
                start,
                &mut q.slot,
            );
        }
        for (id, a) in &mut self.agents.items {
            a.settle(end);
            emit(
                &mut self.rows,
                Entity::Agent(AgentId(*id)),
                start,
                &mut a.slot,
            );
        }
        for (id, n) in &mut self.numbers.items {
            emit(
                &mut self.rows,
                Entity::Number(NumberId(*id)),
                start,
                &mut n.slot,
            );
        }
        let horizon = self.now.as_millis().saturating_sub(CALL_MEMORY_MS);
        self.calls.retain(|_, c| c.seen.as_millis() >= horizon);
    }

    fn slot(&self, entity: Entity) -> Option<&Slot> {
        match entity {
            Entity::Queue(q) => self.queues.get(q.0).map(|q| &q.slot),
            Entity::Agent(a) => self.agents.get(a.0).map(|a| &a.slot),
            Entity::Number(n) => self.numbers.get(n.0).map(|n| &n.slot),
        }
    }

    /// The live totals of an entity since the engine started: every
    /// closed interval plus the current one so far, agents' time counted
    /// up to the latest time seen. `None` if the engine never saw it.
    pub fn totals(&self, entity: Entity) -> Option<Counters> {
        let slot = self.slot(entity)?;
        let mut c = slot.closed;
        c.merge(&slot.open);
        Some(self.with_open_time(entity, c))
    }

    /// The counters of the current interval so far (agents' time counted
    /// up to the latest time seen). `None` if the engine never saw it.
    pub fn current_interval(&self, entity: Entity) -> Option<Counters> {
        let slot = self.slot(entity)?;
        Some(self.with_open_time(entity, slot.open))
    }

    fn with_open_time(&self, entity: Entity, c: Counters) -> Counters {
        match entity {
            Entity::Agent(a) => match self.agents.get(a.0) {
                Some(agent) => agent.with_open_time(c, self.now),
                None => c,
            },
            _ => c,
        }
    }

    /// The start of the current interval; `None` before the first input.
    pub fn interval_start(&self) -> Option<Timestamp> {
        self.interval
    }

    /// The latest time the engine has seen.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Every queue, agent and number the engine knows, queues first.
    pub fn entities(&self) -> impl Iterator<Item = Entity> + '_ {
        let q = self
            .queues
            .items
            .iter()
            .map(|(id, _)| Entity::Queue(QueueId(*id)));
        let a = self
            .agents
            .items
            .iter()
            .map(|(id, _)| Entity::Agent(AgentId(*id)));
        let n = self
            .numbers
            .items
            .iter()
            .map(|(id, _)| Entity::Number(NumberId(*id)));
        q.chain(a).chain(n)
    }

    /// An agent's current state (`None` if never seen).
    pub fn agent_state(&self, agent: AgentId) -> Option<AgentState> {
        self.agents.get(agent.0).map(|a| a.state)
    }

    /// How many known agents are in `state` now (agents never seen are not
    /// counted as logged out).
    pub fn agents_in_state(&self, state: AgentState) -> u32 {
        self.in_state[state_index(state)]
    }

    /// Callers waiting in a queue now: queued minus answered, abandoned
    /// and spilled since start (`None` if never seen).
    pub fn waiting(&self, queue: QueueId) -> Option<u64> {
        self.queues.get(queue.0).map(|q| q.waiting)
    }

    /// A queue's histogram of answered calls' waits (`None` if never
    /// seen).
    pub fn wait_histogram(&self, queue: QueueId) -> Option<WaitHistogram<'_>> {
        self.queues.get(queue.0).map(|q| WaitHistogram {
            histogram: &q.histogram,
        })
    }

    /// Events and configurations ignored because they named an id above
    /// [`MAX_ID`].
    pub fn ignored_events(&self) -> u64 {
        self.ignored
    }

    /// Queued calls whose number the engine is remembering (for tests and
    /// a memory gauge).
    pub fn calls_tracked(&self) -> usize {
        self.calls.len()
    }
}

fn inc32(c: &mut u32) {
    *c = c.saturating_add(1);
}

#[cfg(test)]
mod tests;
