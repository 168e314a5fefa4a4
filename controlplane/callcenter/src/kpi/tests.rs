//! Unit tests of the engine: intervals, splitting, robustness.

use super::*;
use crate::acd::SpillReason;

const Q: QueueId = QueueId(0);
const A: AgentId = AgentId(0);
const N: NumberId = NumberId(0);
/// 2027-01-15T08:00:00Z, a quarter hour.
const T0: u64 = 1_800_000_000_000;

fn t(secs: u64) -> Timestamp {
    Timestamp(T0 + secs * 1000)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn state(e: &mut KpiEngine, at: u64, agent: AgentId, to: AgentState) {
    let from = e.agent_state(agent).unwrap_or(AgentState::LoggedOut);
    e.handle_event(&Event::AgentStateChanged {
        at: t(at),
        agent,
        from,
        to,
    });
}

fn queued(e: &mut KpiEngine, at: u64, call: u64, number: Option<NumberId>) {
    e.handle_event(&Event::CallQueued {
        at: t(at),
        call: CallId(call),
        queue: Q,
        number,
        priority: 0,
    });
}

fn answered(e: &mut KpiEngine, at: u64, call: u64, waited: u64) {
    e.handle_event(&Event::CallAnswered {
        at: t(at),
        call: CallId(call),
        queue: Q,
        agent: A,
        waited: secs(waited),
    });
}

fn abandoned(e: &mut KpiEngine, at: u64, call: u64, waited: Duration) {
    e.handle_event(&Event::CallAbandoned {
        at: t(at),
        call: CallId(call),
        queue: Q,
        waited,
    });
}

fn drain(e: &mut KpiEngine) -> Vec<IntervalRow> {
    std::iter::from_fn(|| e.poll_output()).collect()
}

#[test]
fn intervals_align_on_utc_quarter_hours() {
    let mut e = KpiEngine::new();
    assert_eq!(e.poll_timeout(), None);
    queued(&mut e, 7 * 60 + 3, 1, None);
    assert_eq!(e.interval_start(), Some(t(0)));
    assert_eq!(e.poll_timeout(), Some(t(900)));
    e.handle_timeout(t(899));
    assert!(e.poll_output().is_none());
    e.handle_timeout(t(900));
    let rows = drain(&mut e);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entity, Entity::Queue(Q));
    assert_eq!(rows[0].start, t(0));
    assert_eq!(rows[0].end(), t(900));
    assert_eq!(rows[0].counters.offered, 1);
    assert_eq!(e.poll_timeout(), Some(t(1800)));
}

#[test]
fn staffed_time_is_split_at_boundaries_and_rows_come_while_staffed() {
    let mut e = KpiEngine::new();
    state(&mut e, 600, A, AgentState::Available); // 08:10
    state(&mut e, 1000, A, AgentState::Paused); // 08:16:40
    e.handle_timeout(t(3 * 900 + 5)); // 08:45:05
    let rows = drain(&mut e);
    let agent: Vec<_> = rows
        .iter()
        .map(|r| (r.start, r.counters.staffed_ms))
        .collect();
    assert_eq!(
        agent,
        [(t(0), 300_000), (t(900), 900_000), (t(1800), 900_000)]
    );
    assert_eq!(
        rows[0].counters.state_ms[state_index(AgentState::Available)],
        300_000
    );
    assert_eq!(
        rows[1].counters.state_ms[state_index(AgentState::Available)],
        100_000
    );
    assert_eq!(
        rows[1].counters.state_ms[state_index(AgentState::Paused)],
        800_000
    );
    // The live totals include the 5 s of the open interval.
    let live = e.totals(Entity::Agent(A)).unwrap();
    assert_eq!(live.staffed_ms, 2_100_000 + 5_000);
    assert_eq!(
        e.current_interval(Entity::Agent(A)).unwrap().staffed_ms,
        5_000
    );
    // Logging out ends the rows.
    state(&mut e, 3 * 900 + 65, A, AgentState::LoggedOut);
    e.handle_timeout(t(10 * 900));
    let rows = drain(&mut e);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].counters.staffed_ms, 65_000);
    assert_eq!(e.agents_in_state(AgentState::LoggedOut), 1);
    // Nothing staffed: the engine skipped to the current interval.
    assert_eq!(e.interval_start(), Some(t(10 * 900)));
}

#[test]
fn a_long_gap_with_nobody_staffed_emits_nothing() {
    let mut e = KpiEngine::new();
    queued(&mut e, 0, 1, None);
    e.handle_timeout(t(86_400 * 365));
    assert_eq!(drain(&mut e).len(), 1);
    assert_eq!(e.interval_start(), Some(t(86_400 * 365)));
}

#[test]
fn extreme_timestamps_do_not_hang_or_panic() {
    let mut e = KpiEngine::new();
    state(&mut e, 0, A, AgentState::Available);
    e.handle_timeout(Timestamp(T0 + 2 * INTERVAL_MS));
    assert_eq!(drain(&mut e).len(), 2);
    state(&mut e, 0, A, AgentState::LoggedOut);
    e.handle_timeout(Timestamp(u64::MAX));
    e.handle_timeout(Timestamp(u64::MAX));
    queued(&mut e, 0, 9, None);
    e.flush(Timestamp(u64::MAX));
    assert!(e.poll_timeout().is_some());
    drain(&mut e);
}

#[test]
fn late_events_count_in_the_current_interval_and_time_never_runs_backwards() {
    let mut e = KpiEngine::new();
    state(&mut e, 900, A, AgentState::Available); // 08:15
    state(&mut e, 100, A, AgentState::OnCall); // late: 08:01:40
    answered(&mut e, 50, 1, 3);
    state(&mut e, 960, A, AgentState::Available);
    e.handle_timeout(t(1800));
    let rows = drain(&mut e);
    let a = rows.iter().find(|r| r.entity == Entity::Agent(A)).unwrap();
    assert_eq!(a.start, t(900));
    assert_eq!(a.counters.answered, 1);
    assert_eq!(a.counters.staffed_ms, 900_000);
    // The late OnCall lasted from 08:15 (no earlier) to 08:16.
    assert_eq!(a.counters.state_ms[state_index(AgentState::OnCall)], 60_000);
    let q = rows.iter().find(|r| r.entity == Entity::Queue(Q)).unwrap();
    assert_eq!(q.start, t(900));
}

#[test]
fn ids_beyond_the_table_limit_are_ignored() {
    let mut e = KpiEngine::new();
    e.handle_event(&Event::CallQueued {
        at: t(0),
        call: CallId(1),
        queue: QueueId(u32::MAX),
        number: None,
        priority: 0,
    });
    e.handle_event(&Event::CallQueued {
        at: t(0),
        call: CallId(1),
        queue: Q,
        number: Some(NumberId(MAX_ID + 1)),
        priority: 0,
    });
    state(&mut e, 0, AgentId(MAX_ID + 1), AgentState::Available);
    e.handle_number_event(NumberEvent::Offered {
        at: t(0),
        number: NumberId(u32::MAX),
    });
    e.configure_queue(QueueId(u32::MAX), QueueKpiConfig::default());
    assert_eq!(e.ignored_events(), 5);
    assert_eq!(e.entities().count(), 0);
    // The largest allowed id works.
    state(&mut e, 0, AgentId(MAX_ID), AgentState::Available);
    assert_eq!(e.agent_state(AgentId(MAX_ID)), Some(AgentState::Available));
}

#[test]
fn events_for_never_seen_ids_create_them() {
    let mut e = KpiEngine::new();
    answered(&mut e, 10, 77, 4);
    e.handle_event(&Event::CallEnded {
        at: t(20),
        call: CallId(77),
        queue: QueueId(3),
        agent: AgentId(5),
        talk: secs(10),
        hold: Duration::MAX,
        transferred: true,
    });
    e.handle_event(&Event::WrapUpEnded {
        at: t(30),
        agent: AgentId(5),
        queue: QueueId(3),
        duration: Duration::MAX,
    });
    abandoned(&mut e, 40, 78, Duration::MAX);
    assert_eq!(e.waiting(Q), Some(0));
    let c = e.totals(Entity::Agent(AgentId(5))).unwrap();
    assert_eq!(
        (c.handled, c.transferred, c.talk_ms, c.hold_ms),
        (1, 1, 10_000, u64::MAX)
    );
    assert_eq!(c.aht(), Some(Duration::from_nanos(u64::MAX)));
    assert_eq!(e.agent_state(AgentId(5)), Some(AgentState::LoggedOut));
    let entities: Vec<_> = e.entities().collect();
    assert_eq!(
        entities,
        [
            Entity::Queue(Q),
            Entity::Queue(QueueId(3)),
            Entity::Agent(A),
            Entity::Agent(AgentId(5))
        ]
    );
}

#[test]
fn thresholds_are_per_queue_and_inclusive() {
    let mut e = KpiEngine::new();
    e.configure_queue(
        Q,
        QueueKpiConfig {
            service_level_threshold: secs(30),
            short_abandon_threshold: secs(10),
        },
    );
    for (call, waited) in [(1, 30), (2, 31), (3, 0)] {
        queued(&mut e, 0, call, None);
        answered(&mut e, waited, call, waited);
    }
    for (call, waited) in [(4, 10_000), (5, 10_001)] {
        queued(&mut e, 0, call, None);
        abandoned(&mut e, 11, call, Duration::from_millis(waited));
    }
    let c = e.totals(Entity::Queue(Q)).unwrap();
    assert_eq!(
        (c.offered, c.answered, c.answered_within_threshold),
        (5, 3, 2)
    );
    assert_eq!(
        (c.abandoned, c.short_abandoned, c.abandoned_wait_ms),
        (1, 1, 10_001)
    );
    assert_eq!(c.service_level(), Some(0.5));
    assert_eq!(c.abandon_rate(), Some(0.25));
    let h = e.wait_histogram(Q).unwrap();
    assert_eq!(h.count_within(secs(30)), Some(2));
    assert_eq!(h.count(), 3);
    // Another queue keeps the defaults.
    assert_eq!(e.queue_config(QueueId(1)), QueueKpiConfig::default());
    assert!(e.wait_histogram(QueueId(1)).is_none());
    // Changing T restarts the histogram with the new edge.
    e.configure_queue(
        Q,
        QueueKpiConfig {
            service_level_threshold: secs(25),
            ..e.queue_config(Q)
        },
    );
    let h = e.wait_histogram(Q).unwrap();
    assert_eq!((h.count(), h.count_within(secs(25))), (0, Some(0)));
}

#[test]
fn a_number_counts_a_call_once_across_queues_and_waits_from_the_first() {
    let mut e = KpiEngine::new();
    e.handle_number_event(NumberEvent::Offered {
        at: t(0),
        number: N,
    });
    queued(&mut e, 0, 1, Some(N));
    e.handle_event(&Event::CallSpilled {
        at: t(40),
        call: CallId(1),
        queue: Q,
        reason: SpillReason::MaxWait,
        waited: secs(40),
        to: Overflow::Queue(QueueId(1)),
    });
    e.handle_event(&Event::CallQueued {
        at: t(40),
        call: CallId(1),
        queue: QueueId(1),
        number: Some(N),
        priority: 0,
    });
    e.handle_event(&Event::CallAnswered {
        at: t(50),
        call: CallId(1),
        queue: QueueId(1),
        agent: A,
        waited: secs(10),
    });
    // A second call spills out of the center.
    e.handle_number_event(NumberEvent::Offered {
        at: t(60),
        number: N,
    });
    queued(&mut e, 60, 2, Some(N));
    e.handle_event(&Event::CallSpilled {
        at: t(61),
        call: CallId(2),
        queue: Q,
        reason: SpillReason::NoAgents,
        waited: secs(1),
        to: Overflow::Voicemail("vm".into()),
    });
    // Two more never reach a queue: one blocked, one answered at a mobile.
    e.handle_number_event(NumberEvent::Offered {
        at: t(70),
        number: N,
    });
    e.handle_number_event(NumberEvent::Blocked {
        at: t(70),
        number: N,
    });
    e.handle_number_event(NumberEvent::Offered {
        at: t(80),
        number: N,
    });
    e.handle_number_event(NumberEvent::Answered {
        at: t(95),
        number: N,
        waited: secs(15),
    });
    assert_eq!(e.calls_tracked(), 0);
    let n = e.totals(Entity::Number(N)).unwrap();
    assert_eq!((n.offered, n.queued, n.answered, n.blocked), (4, 2, 2, 1));
    assert_eq!(n.answered_wait_ms, 50_000 + 15_000);
    assert_eq!(n.answered_within_threshold, 1);
    assert_eq!(n.spilled_for(SpillReason::NoAgents), 1);
    assert_eq!(n.spilled_for(SpillReason::MaxWait), 0);
    assert_eq!(n.queue_placement_rate(), Some(0.5));
    assert_eq!(n.blocking_rate(), Some(0.25));
    let q0 = e.totals(Entity::Queue(Q)).unwrap();
    assert_eq!((q0.offered, q0.spilled_total(), q0.answered), (2, 2, 0));
    let q1 = e.totals(Entity::Queue(QueueId(1))).unwrap();
    assert_eq!(
        (q1.offered, q1.answered, q1.answered_wait_ms),
        (1, 1, 10_000)
    );
}

#[test]
fn forgotten_calls_are_pruned_after_a_day() {
    let mut e = KpiEngine::new();
    queued(&mut e, 0, 1, Some(N));
    e.handle_timeout(t(86_400 - 900));
    assert_eq!(e.calls_tracked(), 1);
    e.handle_timeout(t(86_400 + 900));
    assert_eq!(e.calls_tracked(), 0);
}

#[test]
fn flushed_rows_and_the_rest_of_the_interval_add_up() {
    let mut e = KpiEngine::new();
    state(&mut e, 0, A, AgentState::Available);
    queued(&mut e, 10, 1, None);
    e.flush(t(300));
    let first = drain(&mut e);
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].counters.staffed_ms, 300_000);
    queued(&mut e, 400, 2, None);
    e.handle_timeout(t(900));
    let second = drain(&mut e);
    assert_eq!(second.len(), 2);
    assert!(
        first
            .iter()
            .zip(&second)
            .all(|(a, b)| a.entity == b.entity && a.start == b.start)
    );
    let mut agent = first[1].counters;
    agent.merge(&second[1].counters);
    assert_eq!(agent.staffed_ms, 900_000);
    assert_eq!(first[0].counters.offered + second[0].counters.offered, 2);
    assert_eq!(e.totals(Entity::Agent(A)).unwrap().staffed_ms, 900_000);
}

#[test]
fn agents_by_state_and_callers_waiting() {
    let mut e = KpiEngine::new();
    for i in 0..5 {
        state(&mut e, 0, AgentId(i), AgentState::Available);
    }
    state(&mut e, 1, AgentId(0), AgentState::OnCall);
    state(&mut e, 1, AgentId(1), AgentState::Paused);
    state(&mut e, 2, AgentId(2), AgentState::LoggedOut);
    assert_eq!(e.agents_in_state(AgentState::Available), 2);
    assert_eq!(e.agents_in_state(AgentState::OnCall), 1);
    assert_eq!(e.agents_in_state(AgentState::Paused), 1);
    assert_eq!(e.agents_in_state(AgentState::LoggedOut), 1);
    assert_eq!(
        AgentState::ALL
            .iter()
            .map(|s| e.agents_in_state(*s))
            .sum::<u32>(),
        5
    );
    for call in 0..4 {
        queued(&mut e, 3, call, None);
    }
    answered(&mut e, 4, 0, 1);
    assert_eq!(e.waiting(Q), Some(3));
    assert_eq!(e.waiting(QueueId(9)), None);
}
