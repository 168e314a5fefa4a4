//! The counters kept per queue, agent and number, the KPI formulas over
//! them, and the interval rows they are stored as.

use std::fmt;
use std::ops::AddAssign;
use std::time::Duration;

use crate::acd::{AgentState, SpillReason};
use crate::ids::{AgentId, NumberId, QueueId};
use crate::time::Timestamp;

/// Every [`SpillReason`], in the order of [`Counters::spilled`].
pub const SPILL_REASONS: [SpillReason; 5] = [
    SpillReason::QueueFull,
    SpillReason::EstimatedWait,
    SpillReason::MaxWait,
    SpillReason::NoAgents,
    SpillReason::CallerExit,
];

/// The index of `reason` in [`SPILL_REASONS`] and [`Counters::spilled`].
pub(crate) fn spill_index(reason: SpillReason) -> usize {
    match reason {
        SpillReason::QueueFull => 0,
        SpillReason::EstimatedWait => 1,
        SpillReason::MaxWait => 2,
        SpillReason::NoAgents => 3,
        SpillReason::CallerExit => 4,
    }
}

/// The index of `state` in [`AgentState::ALL`] and [`Counters::state_ms`].
pub(crate) fn state_index(state: AgentState) -> usize {
    match state {
        AgentState::LoggedOut => 0,
        AgentState::Available => 1,
        AgentState::Ringing => 2,
        AgentState::OnCall => 3,
        AgentState::OnHold => 4,
        AgentState::WrapUp => 5,
        AgentState::Paused => 6,
    }
}

/// Counts and sums for one queue, agent or 400 number over some span of
/// time (an interval, a day, since start). Only counts and sums, never
/// averages, so that counters of consecutive intervals add up
/// ([`Counters::merge`]) and every KPI of the sum is exact.
///
/// Durations are whole milliseconds. Which fields a kind of row fills is
/// listed in the [module docs](super); the others stay zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Calls offered: to a queue, every `CallQueued` (a call spilled on to
    /// another queue is offered to each); to a number, every call received
    /// ([`NumberEvent::Offered`](super::NumberEvent::Offered)), blocked or
    /// not.
    pub offered: u64,
    /// Calls placed in a queue: for a number, calls that entered their
    /// first queue (a call moved between queues counts once); for a queue,
    /// the same as `offered`.
    pub queued: u64,
    /// Calls answered by an agent.
    pub answered: u64,
    /// Calls answered after waiting at most the service-level threshold T.
    pub answered_within_threshold: u64,
    /// Calls whose caller hung up before an answer after waiting longer
    /// than the short-abandon threshold. Short abandons are not included.
    pub abandoned: u64,
    /// Calls whose caller hung up before an answer within the
    /// short-abandon threshold (wait ≤ threshold).
    pub short_abandoned: u64,
    /// Calls that left for an overflow destination, by reason, indexed as
    /// [`SPILL_REASONS`]. For a number, only spills out of the center
    /// (not to another queue).
    pub spilled: [u64; 5],
    /// Times an agent was rung and did not answer.
    pub ring_no_answer: u64,
    /// Answered calls that ended (`CallEnded`): the denominator of AHT.
    pub handled: u64,
    /// Answered calls the agent transferred away.
    pub transferred: u64,
    /// Calls refused for lack of trunks or capacity before reaching the
    /// ACD (numbers only).
    pub blocked: u64,
    /// Total wait of answered calls.
    pub answered_wait_ms: u64,
    /// Total wait of abandoned calls (short abandons not included).
    pub abandoned_wait_ms: u64,
    /// Total talk time of ended calls (answer to end, minus hold).
    pub talk_ms: u64,
    /// Total hold time of ended calls.
    pub hold_ms: u64,
    /// Total after-call work (wrap-up).
    pub wrap_up_ms: u64,
    /// Time signed in: in any state but `LoggedOut` (agents only).
    pub staffed_ms: u64,
    /// Time in each agent state, indexed as [`AgentState::ALL`]. The
    /// `LoggedOut` slot stays 0, so the slots add up to `staffed_ms`.
    pub state_ms: [u64; 7],
}

/// `n ÷ d`, or `None` when `d` is zero.
fn ratio(n: u64, d: u64) -> Option<f64> {
    (d != 0).then(|| n as f64 / d as f64)
}

/// The mean of `sum_ms` over `count`, to the nanosecond, or `None` when
/// `count` is zero.
fn mean(sum_ms: u64, count: u64) -> Option<Duration> {
    if count == 0 {
        return None;
    }
    let nanos = u128::from(sum_ms) * 1_000_000 / u128::from(count);
    Some(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

impl Counters {
    /// Adds `other` into `self`, field by field (saturating).
    pub fn merge(&mut self, other: &Counters) {
        macro_rules! add {
            ($($f:ident),*) => { $( self.$f = self.$f.saturating_add(other.$f); )* };
        }
        add!(
            offered,
            queued,
            answered,
            answered_within_threshold,
            abandoned,
            short_abandoned,
            ring_no_answer,
            handled,
            transferred,
            blocked,
            answered_wait_ms,
            abandoned_wait_ms,
            talk_ms,
            hold_ms,
            wrap_up_ms,
            staffed_ms
        );
        for (a, b) in self.spilled.iter_mut().zip(other.spilled) {
            *a = a.saturating_add(b);
        }
        for (a, b) in self.state_ms.iter_mut().zip(other.state_ms) {
            *a = a.saturating_add(b);
        }
    }

    /// Calls spilled for `reason`.
    pub fn spilled_for(&self, reason: SpillReason) -> u64 {
        self.spilled[spill_index(reason)]
    }

    /// Calls spilled for any reason.
    pub fn spilled_total(&self) -> u64 {
        self.spilled.iter().fold(0, |a, b| a.saturating_add(*b))
    }

    /// Time spent in `state` (zero for `LoggedOut`, which is not kept).
    pub fn time_in(&self, state: AgentState) -> Duration {
        Duration::from_millis(self.state_ms[state_index(state)])
    }

    /// Staffed (signed-in) time.
    pub fn staffed(&self) -> Duration {
        Duration::from_millis(self.staffed_ms)
    }

    /// Offered calls that count in the rates: offered − short abandoned
    /// (saturating at 0).
    pub fn offered_excluding_short_abandons(&self) -> u64 {
        self.offered.saturating_sub(self.short_abandoned)
    }

    /// **Service level**: answered within T ÷ (offered − short abandoned).
    ///
    /// CALLCENTER.md's formula is answered within T ÷ offered; short
    /// abandons are taken out of the offered calls here as they are out
    /// of the abandon rate, so a caller who hangs up within seconds does
    /// not count against the center. Over one interval the value can
    /// exceed 1 when calls offered in an earlier interval are answered in
    /// this one.
    pub fn service_level(&self) -> Option<f64> {
        ratio(
            self.answered_within_threshold,
            self.offered_excluding_short_abandons(),
        )
    }

    /// **Abandon rate**: abandoned ÷ (offered − short abandoned), short
    /// abandons excluded from both (CALLCENTER.md: "reported apart and
    /// excluded").
    pub fn abandon_rate(&self) -> Option<f64> {
        ratio(self.abandoned, self.offered_excluding_short_abandons())
    }

    /// **Short-abandon rate**: short abandoned ÷ offered.
    pub fn short_abandon_rate(&self) -> Option<f64> {
        ratio(self.short_abandoned, self.offered)
    }

    /// **Answered %**: answered ÷ offered.
    pub fn answered_rate(&self) -> Option<f64> {
        ratio(self.answered, self.offered)
    }

    /// **Average speed of answer**: wait of answered calls ÷ answered.
    pub fn asa(&self) -> Option<Duration> {
        mean(self.answered_wait_ms, self.answered)
    }

    /// **Average time to abandon**: wait of abandoned calls ÷ abandoned
    /// (short abandons excluded from both).
    pub fn average_time_to_abandon(&self) -> Option<Duration> {
        mean(self.abandoned_wait_ms, self.abandoned)
    }

    /// **Average handle time**: (talk + hold + wrap-up) ÷ handled. Equals
    /// [`average_talk`](Self::average_talk) +
    /// [`average_hold`](Self::average_hold) +
    /// [`average_wrap_up`](Self::average_wrap_up) (each is rounded down to
    /// the nanosecond, so the sum may be a few nanoseconds short).
    pub fn aht(&self) -> Option<Duration> {
        mean(self.handle_ms(), self.handled)
    }

    /// Talk + hold + wrap-up, in milliseconds.
    pub fn handle_ms(&self) -> u64 {
        self.talk_ms
            .saturating_add(self.hold_ms)
            .saturating_add(self.wrap_up_ms)
    }

    /// **Average talk time**: talk ÷ handled.
    pub fn average_talk(&self) -> Option<Duration> {
        mean(self.talk_ms, self.handled)
    }

    /// **Average hold time**: hold ÷ handled.
    pub fn average_hold(&self) -> Option<Duration> {
        mean(self.hold_ms, self.handled)
    }

    /// **Average after-call work**: wrap-up ÷ handled.
    pub fn average_wrap_up(&self) -> Option<Duration> {
        mean(self.wrap_up_ms, self.handled)
    }

    /// **Occupancy**: (talk + hold + wrap-up) ÷ staffed time (agents).
    ///
    /// CALLCENTER.md writes (talk + hold) ÷ (talk + hold + idle); here
    /// after-call work counts as busy and the denominator is all signed-in
    /// time, paused included. The state-time variant that leaves pauses
    /// out is [`ready_occupancy`](Self::ready_occupancy).
    pub fn occupancy(&self) -> Option<f64> {
        ratio(self.handle_ms(), self.staffed_ms)
    }

    /// **Occupancy of ready time**, from agent-state time: (on call + on
    /// hold + wrap-up) ÷ (staffed − paused).
    pub fn ready_occupancy(&self) -> Option<f64> {
        let busy = [AgentState::OnCall, AgentState::OnHold, AgentState::WrapUp]
            .iter()
            .fold(0u64, |a, s| {
                a.saturating_add(self.state_ms[state_index(*s)])
            });
        let ready = self
            .staffed_ms
            .saturating_sub(self.state_ms[state_index(AgentState::Paused)]);
        ratio(busy, ready)
    }

    /// **Calls per agent-hour**: answered ÷ staffed hours (agents).
    pub fn calls_per_agent_hour(&self) -> Option<f64> {
        (self.staffed_ms != 0).then(|| self.answered as f64 * 3_600_000.0 / self.staffed_ms as f64)
    }

    /// **Transfer rate**: transferred ÷ answered.
    pub fn transfer_rate(&self) -> Option<f64> {
        ratio(self.transferred, self.answered)
    }

    /// **Queue placement rate**: queued ÷ offered (numbers: calls that
    /// entered a queue ÷ calls received).
    pub fn queue_placement_rate(&self) -> Option<f64> {
        ratio(self.queued, self.offered)
    }

    /// **Blocking rate**: blocked ÷ offered (numbers).
    pub fn blocking_rate(&self) -> Option<f64> {
        ratio(self.blocked, self.offered)
    }

    /// **Total calls**: blocked + abandoned (short ones included) +
    /// answered.
    pub fn total_calls(&self) -> u64 {
        self.blocked
            .saturating_add(self.abandoned)
            .saturating_add(self.short_abandoned)
            .saturating_add(self.answered)
    }

    /// All the KPIs at once, for a wallboard or a report line.
    pub fn kpis(&self) -> Kpis {
        Kpis {
            service_level: self.service_level(),
            asa: self.asa(),
            abandon_rate: self.abandon_rate(),
            short_abandon_rate: self.short_abandon_rate(),
            average_time_to_abandon: self.average_time_to_abandon(),
            answered_rate: self.answered_rate(),
            aht: self.aht(),
            average_talk: self.average_talk(),
            average_hold: self.average_hold(),
            average_wrap_up: self.average_wrap_up(),
            occupancy: self.occupancy(),
            ready_occupancy: self.ready_occupancy(),
            calls_per_agent_hour: self.calls_per_agent_hour(),
            transfer_rate: self.transfer_rate(),
            queue_placement_rate: self.queue_placement_rate(),
            blocking_rate: self.blocking_rate(),
            total_calls: self.total_calls(),
        }
    }
}

impl AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, other: &Counters) {
        self.merge(other);
    }
}

/// Every KPI of one [`Counters`], as [`Counters::kpis`] computes them.
/// Rates are fractions (0.8 for 80 %); `None` where the denominator is 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kpis {
    /// [`Counters::service_level`].
    pub service_level: Option<f64>,
    /// [`Counters::asa`].
    pub asa: Option<Duration>,
    /// [`Counters::abandon_rate`].
    pub abandon_rate: Option<f64>,
    /// [`Counters::short_abandon_rate`].
    pub short_abandon_rate: Option<f64>,
    /// [`Counters::average_time_to_abandon`].
    pub average_time_to_abandon: Option<Duration>,
    /// [`Counters::answered_rate`].
    pub answered_rate: Option<f64>,
    /// [`Counters::aht`].
    pub aht: Option<Duration>,
    /// [`Counters::average_talk`].
    pub average_talk: Option<Duration>,
    /// [`Counters::average_hold`].
    pub average_hold: Option<Duration>,
    /// [`Counters::average_wrap_up`].
    pub average_wrap_up: Option<Duration>,
    /// [`Counters::occupancy`].
    pub occupancy: Option<f64>,
    /// [`Counters::ready_occupancy`].
    pub ready_occupancy: Option<f64>,
    /// [`Counters::calls_per_agent_hour`].
    pub calls_per_agent_hour: Option<f64>,
    /// [`Counters::transfer_rate`].
    pub transfer_rate: Option<f64>,
    /// [`Counters::queue_placement_rate`].
    pub queue_placement_rate: Option<f64>,
    /// [`Counters::blocking_rate`].
    pub blocking_rate: Option<f64>,
    /// [`Counters::total_calls`].
    pub total_calls: u64,
}

/// What a row of counters is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// An ACD queue.
    Queue(QueueId),
    /// An agent.
    Agent(AgentId),
    /// A 400 number.
    Number(NumberId),
}

/// The kind of an [`Entity`], for a `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    /// Rows of a queue.
    Queue,
    /// Rows of an agent.
    Agent,
    /// Rows of a 400 number.
    Number,
}

impl EntityKind {
    /// The label used in storage and metrics: `queue`, `agent`, `number`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Queue => "queue",
            EntityKind::Agent => "agent",
            EntityKind::Number => "number",
        }
    }
}

impl Entity {
    /// The kind of row.
    pub fn kind(self) -> EntityKind {
        match self {
            Entity::Queue(_) => EntityKind::Queue,
            Entity::Agent(_) => EntityKind::Agent,
            Entity::Number(_) => EntityKind::Number,
        }
    }

    /// The id within its kind.
    pub fn id(self) -> u32 {
        match self {
            Entity::Queue(q) => q.0,
            Entity::Agent(a) => a.0,
            Entity::Number(n) => n.0,
        }
    }

    /// Rebuilds an entity from a stored `(kind, id)`.
    pub fn new(kind: EntityKind, id: u32) -> Entity {
        match kind {
            EntityKind::Queue => Entity::Queue(QueueId(id)),
            EntityKind::Agent => Entity::Agent(AgentId(id)),
            EntityKind::Number => Entity::Number(NumberId(id)),
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Queue(q) => q.fmt(f),
            Entity::Agent(a) => a.fmt(f),
            Entity::Number(n) => n.fmt(f),
        }
    }
}

/// The counters of one entity over one 15-minute interval: a row to
/// store. Rows with the same entity and start add up (a flushed partial
/// interval and the rest of it), and a day, week or month is the
/// [`merge`](Counters::merge) of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalRow {
    /// Whose counters.
    pub entity: Entity,
    /// The interval's start: a UTC quarter hour (:00, :15, :30, :45).
    pub start: Timestamp,
    /// What happened in it.
    pub counters: Counters,
}

impl IntervalRow {
    /// The interval's end (exclusive): `start` + 15 min.
    pub fn end(&self) -> Timestamp {
        self.start + super::INTERVAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn indices_follow_the_declared_orders() {
        for (i, s) in AgentState::ALL.iter().enumerate() {
            assert_eq!(state_index(*s), i);
        }
        for (i, r) in SPILL_REASONS.iter().enumerate() {
            assert_eq!(spill_index(*r), i);
        }
    }

    #[test]
    fn empty_counters_have_no_kpis() {
        let k = Counters::default().kpis();
        assert_eq!(k.service_level, None);
        assert_eq!(k.asa, None);
        assert_eq!(k.abandon_rate, None);
        assert_eq!(k.average_time_to_abandon, None);
        assert_eq!(k.aht, None);
        assert_eq!(k.occupancy, None);
        assert_eq!(k.ready_occupancy, None);
        assert_eq!(k.calls_per_agent_hour, None);
        assert_eq!(k.transfer_rate, None);
        assert_eq!(k.queue_placement_rate, None);
        assert_eq!(k.blocking_rate, None);
        assert_eq!(k.total_calls, 0);
    }

    #[test]
    fn call_kpis() {
        let c = Counters {
            offered: 110,
            answered: 80,
            answered_within_threshold: 60,
            abandoned: 15,
            short_abandoned: 10,
            answered_wait_ms: 80 * 12_500,
            abandoned_wait_ms: 15 * 40_000 + 3,
            transferred: 2,
            ..Counters::default()
        };
        // Short abandons out of the offered: 110 − 10 = 100.
        assert_eq!(c.service_level(), Some(0.6));
        assert_eq!(c.abandon_rate(), Some(0.15));
        assert_eq!(c.short_abandon_rate(), Some(10.0 / 110.0));
        assert_eq!(c.answered_rate(), Some(80.0 / 110.0));
        assert_eq!(c.asa(), Some(ms(12_500)));
        assert_eq!(
            c.average_time_to_abandon(),
            Some(Duration::from_nanos(40_000_200_000))
        );
        assert_eq!(c.transfer_rate(), Some(0.025));
        assert_eq!(c.total_calls(), 105);
    }

    #[test]
    fn handle_time_kpis() {
        let c = Counters {
            answered: 30,
            handled: 3,
            talk_ms: 3 * 200_000,
            hold_ms: 3 * 10_000 + 1,
            wrap_up_ms: 3 * 30_000,
            staffed_ms: 3_600_000,
            state_ms: [0, 1_000_000, 0, 600_000, 30_000, 90_000, 1_880_000],
            ..Counters::default()
        };
        assert_eq!(c.aht(), Some(Duration::from_nanos(240_000_333_333)));
        assert_eq!(c.average_talk(), Some(ms(200_000)));
        assert_eq!(c.average_hold(), Some(Duration::from_nanos(10_000_333_333)));
        assert_eq!(c.average_wrap_up(), Some(ms(30_000)));
        assert_eq!(c.occupancy(), Some(720_001.0 / 3_600_000.0));
        // (600 + 30 + 90) s busy of 3600 − 1880 = 1720 s ready.
        assert_eq!(c.ready_occupancy(), Some(720.0 / 1720.0));
        assert_eq!(c.calls_per_agent_hour(), Some(30.0));
        assert_eq!(c.time_in(AgentState::Paused), ms(1_880_000));
        assert_eq!(c.staffed(), ms(3_600_000));
    }

    #[test]
    fn number_kpis() {
        let c = Counters {
            offered: 200,
            queued: 150,
            blocked: 4,
            ..Counters::default()
        };
        assert_eq!(c.queue_placement_rate(), Some(0.75));
        assert_eq!(c.blocking_rate(), Some(0.02));
    }

    #[test]
    fn short_abandons_beyond_offered_saturate() {
        // An interval where calls offered earlier short-abandon.
        let c = Counters {
            offered: 1,
            short_abandoned: 3,
            ..Counters::default()
        };
        assert_eq!(c.offered_excluding_short_abandons(), 0);
        assert_eq!(c.service_level(), None);
        assert_eq!(c.abandon_rate(), None);
    }

    #[test]
    fn merged_counters_give_the_kpis_of_the_whole() {
        let a = Counters {
            offered: 10,
            answered: 8,
            answered_within_threshold: 8,
            answered_wait_ms: 8_000,
            spilled: [1, 0, 0, 0, 2],
            state_ms: [0, 5, 0, 0, 0, 0, 0],
            ..Counters::default()
        };
        let b = Counters {
            offered: 30,
            answered: 12,
            answered_within_threshold: 4,
            answered_wait_ms: 112_000,
            spilled: [0, 0, 3, 0, 0],
            state_ms: [0, 1, 0, 0, 0, 0, 7],
            ..Counters::default()
        };
        let mut sum = a;
        sum += &b;
        assert_eq!(sum.offered, 40);
        assert_eq!(sum.service_level(), Some(0.3));
        assert_eq!(sum.asa(), Some(ms(6_000)));
        assert_eq!(sum.spilled, [1, 0, 3, 0, 2]);
        assert_eq!(sum.spilled_total(), 6);
        assert_eq!(sum.spilled_for(SpillReason::MaxWait), 3);
        assert_eq!(sum.state_ms, [0, 6, 0, 0, 0, 0, 7]);
        let big = Counters {
            talk_ms: u64::MAX,
            handled: 1,
            ..Counters::default()
        };
        let mut s = big;
        s.merge(&big);
        assert_eq!(s.talk_ms, u64::MAX);
        assert_eq!(s.aht(), Some(Duration::from_nanos(u64::MAX)));
    }

    #[test]
    fn entities_round_trip_through_kind_and_id() {
        for e in [
            Entity::Queue(QueueId(3)),
            Entity::Agent(AgentId(7)),
            Entity::Number(NumberId(0)),
        ] {
            assert_eq!(Entity::new(e.kind(), e.id()), e);
        }
        assert_eq!(Entity::Agent(AgentId(7)).to_string(), "agent-7");
        assert_eq!(EntityKind::Number.as_str(), "number");
    }
}
