//! A scripted day of a small call center, driven through the KPI engine
//! the way the gateway drives it (events in time order, `handle_timeout`
//! at each `poll_timeout`, rows drained with `poll_output`), checked
//! against answers computed by hand.
//!
//! The day, 2027-01-15 (UTC):
//!
//! - Agent 0 is signed in 08:07:30–12:07:30 (4 h), agent 1 08:00–16:00
//!   (8 h) with a pause 12:00–12:30, agent 2 09:10–09:20.
//! - Queue 0 (defaults: T = 20 s, short abandon ≤ 5 s) is offered 100
//!   calls on number 0, one every 2 minutes from 08:20 to 11:38. Call i's
//!   fate depends on i mod 10: 0–6 are answered after waiting
//!   0, 10, 20, 21, 40, 60, 5 s (by agent i mod 2), 7 hangs up after 3 s
//!   (short abandon), 8 hangs up after 45 s, 9 spills to voicemail after
//!   90 s. Every answered call talks 100 s and wraps up 30 s; calls with
//!   i mod 10 = 0 also hold 20 s, and i mod 10 = 1 are transferred. Calls
//!   with i mod 10 = 3 first ring the other agent, who does not answer.
//! - Queue 1 (T = 30 s, short abandon ≤ 10 s) gets 4 calls around 09:15
//!   with agent 2: answered after 25 s and 35 s, abandoned after 8 s and
//!   12 s. The second call's wrap-up runs across 09:15.
//! - Number 0 also has 5 calls blocked at 13:00–13:04.

use std::time::Duration;

use tandem_call::CallId;
use tandem_callcenter::acd::{AgentState, Event, Overflow, SpillReason};
use tandem_callcenter::kpi::{
    Counters, Entity, IntervalRow, KpiEngine, NumberEvent, QueueKpiConfig,
};
use tandem_callcenter::{AgentId, NumberId, QueueId, Timestamp};

/// 2027-01-15T00:00:00Z.
const MIDNIGHT: u64 = 1_799_971_200;

/// `h:m:s` on the simulated day.
fn at(h: u64, m: u64, s: u64) -> Timestamp {
    Timestamp::from_secs(MIDNIGHT + h * 3600 + m * 60 + s)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const Q0: QueueId = QueueId(0);
const Q1: QueueId = QueueId(1);
const NUM: NumberId = NumberId(0);

enum Input {
    Acd(Event),
    Number(NumberEvent),
}

impl Input {
    fn at(&self) -> Timestamp {
        match self {
            Input::Acd(e) => e.at(),
            Input::Number(e) => e.at(),
        }
    }
}

/// The scripted day, sorted by time (stable, so same-instant events keep
/// the order they are pushed in).
fn day() -> Vec<Input> {
    let mut v = Vec::new();
    let mut agent_state = [AgentState::LoggedOut; 3];
    let mut state = |v: &mut Vec<Input>, t: Timestamp, agent: u32, to: AgentState| {
        let from = agent_state[agent as usize];
        agent_state[agent as usize] = to;
        v.push(Input::Acd(Event::AgentStateChanged {
            at: t,
            agent: AgentId(agent),
            from,
            to,
        }));
    };
    // Staffing. The per-call state changes are pushed in call order below;
    // since each agent's calls never overlap, sorting keeps every agent's
    // states in order.
    state(&mut v, at(8, 0, 0), 1, AgentState::Available);
    state(&mut v, at(8, 7, 30), 0, AgentState::Available);
    state(&mut v, at(9, 10, 0), 2, AgentState::Available);

    let waits = [0, 10, 20, 21, 40, 60, 5];
    for i in 0..100u64 {
        let q = at(8, 20, 0) + secs(120 * i);
        let call = CallId(i);
        let agent = (i % 2) as u32;
        v.push(Input::Number(NumberEvent::Offered { at: q, number: NUM }));
        v.push(Input::Acd(Event::CallQueued {
            at: q,
            call,
            queue: Q0,
            number: Some(NUM),
            priority: 0,
        }));
        match i % 10 {
            k @ 0..=6 => {
                let w = waits[k as usize];
                if k == 3 {
                    v.push(Input::Acd(Event::RingNoAnswer {
                        at: q + secs(1),
                        call,
                        queue: Q0,
                        agent: AgentId(1 - agent),
                    }));
                }
                let a = q + secs(w);
                v.push(Input::Acd(Event::CallAnswered {
                    at: a,
                    call,
                    queue: Q0,
                    agent: AgentId(agent),
                    waited: secs(w),
                }));
                state(&mut v, a, agent, AgentState::OnCall);
                let hold = if k == 0 { 20 } else { 0 };
                if hold > 0 {
                    state(&mut v, a + secs(50), agent, AgentState::OnHold);
                    state(&mut v, a + secs(70), agent, AgentState::OnCall);
                }
                let end = a + secs(100 + hold);
                v.push(Input::Acd(Event::CallEnded {
                    at: end,
                    call,
                    queue: Q0,
                    agent: AgentId(agent),
                    talk: secs(100),
                    hold: secs(hold),
                    transferred: k == 1,
                }));
                state(&mut v, end, agent, AgentState::WrapUp);
                v.push(Input::Acd(Event::WrapUpEnded {
                    at: end + secs(30),
                    agent: AgentId(agent),
                    queue: Q0,
                    duration: secs(30),
                }));
                state(&mut v, end + secs(30), agent, AgentState::Available);
            }
            7 | 8 => {
                let w = if i % 10 == 7 { 3 } else { 45 };
                v.push(Input::Acd(Event::CallAbandoned {
                    at: q + secs(w),
                    call,
                    queue: Q0,
                    waited: secs(w),
                }));
            }
            _ => v.push(Input::Acd(Event::CallSpilled {
                at: q + secs(90),
                call,
                queue: Q0,
                reason: SpillReason::MaxWait,
                waited: secs(90),
                to: Overflow::Voicemail("sales".into()),
            })),
        }
    }

    // Queue 1 with agent 2.
    for (call, q, w, talk) in [(1001, at(9, 11, 0), 25, 60), (1002, at(9, 13, 0), 35, 60)] {
        let call = CallId(call);
        v.push(Input::Acd(Event::CallQueued {
            at: q,
            call,
            queue: Q1,
            number: None,
            priority: 0,
        }));
        let a = q + secs(w);
        v.push(Input::Acd(Event::CallAnswered {
            at: a,
            call,
            queue: Q1,
            agent: AgentId(2),
            waited: secs(w),
        }));
        state(&mut v, a, 2, AgentState::OnCall);
        let end = a + secs(talk);
        v.push(Input::Acd(Event::CallEnded {
            at: end,
            call,
            queue: Q1,
            agent: AgentId(2),
            talk: secs(talk),
            hold: Duration::ZERO,
            transferred: false,
        }));
        state(&mut v, end, 2, AgentState::WrapUp);
        v.push(Input::Acd(Event::WrapUpEnded {
            at: end + secs(30),
            agent: AgentId(2),
            queue: Q1,
            duration: secs(30),
        }));
        state(&mut v, end + secs(30), 2, AgentState::Available);
    }
    for (call, q, w) in [(1003, at(9, 16, 0), 8), (1004, at(9, 17, 0), 12)] {
        let call = CallId(call);
        v.push(Input::Acd(Event::CallQueued {
            at: q,
            call,
            queue: Q1,
            number: None,
            priority: 0,
        }));
        v.push(Input::Acd(Event::CallAbandoned {
            at: q + secs(w),
            call,
            queue: Q1,
            waited: secs(w),
        }));
    }
    state(&mut v, at(9, 20, 0), 2, AgentState::LoggedOut);

    state(&mut v, at(12, 0, 0), 1, AgentState::Paused);
    state(&mut v, at(12, 7, 30), 0, AgentState::LoggedOut);
    state(&mut v, at(12, 30, 0), 1, AgentState::Available);
    for m in 0..5 {
        v.push(Input::Number(NumberEvent::Offered {
            at: at(13, m, 0),
            number: NUM,
        }));
        v.push(Input::Number(NumberEvent::Blocked {
            at: at(13, m, 0),
            number: NUM,
        }));
    }
    state(&mut v, at(16, 0, 0), 1, AgentState::LoggedOut);

    v.sort_by_key(Input::at);
    v
}

/// Runs the day through an engine like the gateway's loop does, up to
/// 17:00, and returns the engine and every row it emitted.
fn run_day() -> (KpiEngine, Vec<IntervalRow>) {
    let mut kpi = KpiEngine::new();
    kpi.configure_queue(
        Q1,
        QueueKpiConfig {
            service_level_threshold: secs(30),
            short_abandon_threshold: secs(10),
        },
    );
    let mut rows = Vec::new();
    for input in day() {
        drive_to(&mut kpi, input.at(), &mut rows);
        match input {
            Input::Acd(e) => kpi.handle_event(&e),
            Input::Number(e) => kpi.handle_number_event(e),
        }
        // Events never close intervals behind the loop's back here.
        assert!(kpi.poll_output().is_none());
    }
    drive_to(&mut kpi, at(17, 0, 0), &mut rows);
    (kpi, rows)
}

/// The gateway's timer: closes every interval that ends by `now`.
fn drive_to(kpi: &mut KpiEngine, now: Timestamp, rows: &mut Vec<IntervalRow>) {
    while let Some(deadline) = kpi.poll_timeout().filter(|d| *d <= now) {
        kpi.handle_timeout(deadline);
        rows.extend(std::iter::from_fn(|| kpi.poll_output()));
    }
}

fn rows_of(rows: &[IntervalRow], e: Entity) -> Vec<&IntervalRow> {
    rows.iter().filter(|r| r.entity == e).collect()
}

fn sum(rows: &[&IntervalRow]) -> Counters {
    let mut c = Counters::default();
    for r in rows {
        c.merge(&r.counters);
    }
    c
}

fn close(got: Option<f64>, want: f64) {
    let got = got.expect("a value");
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

#[test]
fn queue_kpis_of_the_day() {
    let (kpi, _) = run_day();
    let q = kpi.totals(Entity::Queue(Q0)).unwrap();
    assert_eq!(q.offered, 100);
    assert_eq!(q.answered, 70);
    // Waits within 20 s: 0, 10, 20, 5 of each ten calls.
    assert_eq!(q.answered_within_threshold, 40);
    assert_eq!(q.short_abandoned, 10);
    assert_eq!(q.abandoned, 10);
    assert_eq!(q.spilled_for(SpillReason::MaxWait), 10);
    assert_eq!(q.spilled_total(), 10);
    assert_eq!(q.ring_no_answer, 10);
    assert_eq!(q.transferred, 10);
    assert_eq!(q.handled, 70);
    // Service level: 40 ÷ (100 − 10 short abandons).
    close(q.service_level(), 40.0 / 90.0);
    // Abandon rate: 10 ÷ 90; short abandons neither abandoned nor offered.
    close(q.abandon_rate(), 10.0 / 90.0);
    close(q.answered_rate(), 0.70);
    close(q.transfer_rate(), 10.0 / 70.0);
    // ASA: 10 × (0+10+20+21+40+60+5) = 1560 s over 70 answers.
    assert_eq!(
        q.asa(),
        Some(Duration::from_nanos(1_560_000_000_000_000 / 70_000))
    );
    assert_eq!(q.average_time_to_abandon(), Some(secs(45)));
    // AHT: (70 × 100 talk + 10 × 20 hold + 70 × 30 wrap) ÷ 70 = 9300/70 s.
    assert_eq!(q.aht(), Some(Duration::from_nanos(132_857_142_857)));
    assert_eq!(q.average_talk(), Some(secs(100)));
    assert_eq!(q.average_hold(), Some(Duration::from_nanos(2_857_142_857)));
    assert_eq!(q.average_wrap_up(), Some(secs(30)));
    assert_eq!(q.total_calls(), 90);
    assert_eq!(kpi.waiting(Q0), Some(0));

    // The histogram of answered waits: bucket{le=20} ÷ count = 40/70.
    let h = kpi.wait_histogram(Q0).unwrap();
    assert_eq!(h.count(), 70);
    assert_eq!(h.count_within(secs(20)), Some(40));
    assert_eq!(h.count_within(secs(5)), Some(20));
    assert_eq!(h.count_within(secs(30)), Some(50));
    assert_eq!(h.count_within(secs(60)), Some(70));
    assert_eq!(h.sum(), secs(1560));

    // Queue 1's own thresholds: 25 s is within its 30 s; 8 s is a short
    // abandon under its 10 s threshold (it would not be under 5 s).
    let q1 = kpi.totals(Entity::Queue(Q1)).unwrap();
    assert_eq!(
        (q1.offered, q1.answered, q1.answered_within_threshold),
        (4, 2, 1)
    );
    assert_eq!((q1.short_abandoned, q1.abandoned), (1, 1));
    close(q1.service_level(), 1.0 / 3.0);
    close(q1.abandon_rate(), 1.0 / 3.0);
    assert_eq!(q1.asa(), Some(secs(30)));
    assert_eq!(q1.average_time_to_abandon(), Some(secs(12)));
    assert_eq!(
        kpi.wait_histogram(Q1).unwrap().count_within(secs(30)),
        Some(1)
    );
}

#[test]
fn agent_kpis_of_the_day() {
    let (kpi, _) = run_day();
    // Agent 0: 40 calls (i mod 10 ∈ {0, 2, 4, 6}) in 4 h.
    let a0 = kpi.totals(Entity::Agent(AgentId(0))).unwrap();
    assert_eq!(
        (a0.answered, a0.handled, a0.answered_within_threshold),
        (40, 40, 30)
    );
    assert_eq!(a0.staffed(), secs(4 * 3600));
    assert_eq!(
        (a0.talk_ms, a0.hold_ms, a0.wrap_up_ms),
        (4_000_000, 200_000, 1_200_000)
    );
    // Occupancy: (4000 + 200 + 1200) ÷ 14 400.
    close(a0.occupancy(), 5400.0 / 14_400.0);
    close(a0.calls_per_agent_hour(), 10.0);
    assert_eq!(a0.aht(), Some(secs(135)));
    assert_eq!(a0.asa(), Some(Duration::from_millis(16_250)));
    assert_eq!(a0.time_in(AgentState::OnCall), secs(4000));
    assert_eq!(a0.time_in(AgentState::OnHold), secs(200));
    assert_eq!(a0.time_in(AgentState::WrapUp), secs(1200));
    assert_eq!(a0.time_in(AgentState::Available), secs(9000));
    // Calls with i mod 10 = 3 are agent 1's, so agent 0 is the one rung.
    assert_eq!(a0.ring_no_answer, 10);

    // Agent 1: 30 calls in 8 h, 30 min of them paused.
    let a1 = kpi.totals(Entity::Agent(AgentId(1))).unwrap();
    assert_eq!(
        (a1.answered, a1.transferred, a1.ring_no_answer),
        (30, 10, 0)
    );
    assert_eq!(a1.staffed(), secs(8 * 3600));
    close(a1.occupancy(), 3900.0 / 28_800.0);
    close(a1.ready_occupancy(), 3900.0 / 27_000.0);
    close(a1.calls_per_agent_hour(), 3.75);
    assert_eq!(a1.time_in(AgentState::Paused), secs(1800));
    assert_eq!(a1.time_in(AgentState::Available), secs(23_100));

    // Everyone has gone home.
    assert_eq!(kpi.agents_in_state(AgentState::LoggedOut), 3);
    assert_eq!(kpi.agents_in_state(AgentState::Available), 0);
}

#[test]
fn number_kpis_of_the_day() {
    let (kpi, _) = run_day();
    let n = kpi.totals(Entity::Number(NUM)).unwrap();
    assert_eq!((n.offered, n.queued, n.blocked), (105, 100, 5));
    assert_eq!((n.answered, n.answered_within_threshold), (70, 40));
    assert_eq!((n.abandoned, n.short_abandoned), (10, 10));
    assert_eq!(n.spilled_for(SpillReason::MaxWait), 10);
    close(n.queue_placement_rate(), 100.0 / 105.0);
    close(n.blocking_rate(), 5.0 / 105.0);
    // Total calls: 5 blocked + 20 abandoned (10 of them short) + 70 answered.
    assert_eq!(n.total_calls(), 95);
    assert_eq!(kpi.calls_tracked(), 0);
}

#[test]
fn interval_rows_of_the_day() {
    let (kpi, rows) = run_day();
    let count = |e| rows_of(&rows, e).len();
    // Queue 0 has calls in every quarter hour from 08:15 to 11:30.
    assert_eq!(count(Entity::Queue(Q0)), 14);
    assert_eq!(count(Entity::Queue(Q1)), 2);
    // Agent 0: 08:00 … 12:00. Agent 1: 08:00 … 15:45, and a 16:00 row for
    // the log-out at 16:00:00 itself, with no staffed time.
    assert_eq!(count(Entity::Agent(AgentId(0))), 17);
    assert_eq!(count(Entity::Agent(AgentId(1))), 33);
    assert_eq!(count(Entity::Agent(AgentId(2))), 2);
    // Number 0: 08:15 … 11:30, and 13:00 for the blocked calls.
    assert_eq!(count(Entity::Number(NUM)), 15);
    assert_eq!(rows.len(), 14 + 2 + 17 + 33 + 2 + 15);

    // Every row starts on a UTC quarter hour; rows come oldest first.
    for r in &rows {
        assert_eq!(r.start.as_millis() % 900_000, 0);
        assert_eq!(r.end().as_millis() - r.start.as_millis(), 900_000);
    }
    assert!(rows.windows(2).all(|w| w[0].start <= w[1].start));

    // Staffed time split across boundaries.
    let a0 = rows_of(&rows, Entity::Agent(AgentId(0)));
    assert_eq!(
        (a0[0].start, a0[0].counters.staffed_ms),
        (at(8, 0, 0), 450_000)
    );
    assert!(a0[1..16].iter().all(|r| r.counters.staffed_ms == 900_000));
    assert_eq!(
        (a0[16].start, a0[16].counters.staffed_ms),
        (at(12, 0, 0), 450_000)
    );
    let a1 = rows_of(&rows, Entity::Agent(AgentId(1)));
    assert_eq!(
        (a1[32].start, a1[32].counters.staffed_ms),
        (at(16, 0, 0), 0)
    );
    // Agent 2's wrap-up from 09:14:35 to 09:15:05 is split 25 s / 5 s; the
    // WrapUpEnded event counts its 30 s where it happens, at 09:15:05.
    let a2 = rows_of(&rows, Entity::Agent(AgentId(2)));
    assert_eq!(a2[0].start, at(9, 0, 0));
    let (first, second) = (&a2[0].counters, &a2[1].counters);
    assert_eq!((first.staffed_ms, second.staffed_ms), (300_000, 300_000));
    assert_eq!(first.time_in(AgentState::WrapUp), secs(55));
    assert_eq!(second.time_in(AgentState::WrapUp), secs(5));
    assert_eq!(first.time_in(AgentState::OnCall), secs(120));
    assert_eq!(first.time_in(AgentState::Available), secs(125));
    assert_eq!(second.time_in(AgentState::Available), secs(295));
    assert_eq!((first.wrap_up_ms, second.wrap_up_ms), (30_000, 30_000));
    assert_eq!((first.answered, second.answered), (2, 0));

    // Rows add up to the live totals, entity by entity.
    for e in kpi.entities() {
        assert_eq!(sum(&rows_of(&rows, e)), kpi.totals(e).unwrap(), "{e}");
    }
    // Agent state slots add up to staffed time in every row.
    for r in &rows {
        assert_eq!(
            r.counters.state_ms.iter().sum::<u64>(),
            r.counters.staffed_ms
        );
    }
}

#[test]
fn an_hour_report_is_the_sum_of_its_four_rows() {
    let (_, rows) = run_day();
    let hour: Vec<_> = rows_of(&rows, Entity::Queue(Q0))
        .into_iter()
        .filter(|r| r.start >= at(9, 0, 0) && r.start < at(10, 0, 0))
        .collect();
    assert_eq!(hour.len(), 4);
    // Calls 20–49 are offered 09:00–09:58 and all settle within the hour.
    let c = sum(&hour);
    assert_eq!(
        (c.offered, c.answered, c.answered_within_threshold),
        (30, 21, 12)
    );
    assert_eq!((c.short_abandoned, c.abandoned), (3, 3));
    close(c.service_level(), 12.0 / 27.0);
    close(c.abandon_rate(), 3.0 / 27.0);
    assert_eq!(
        c.asa(),
        Some(Duration::from_nanos(3 * 156_000_000_000 / 21))
    );
    // One quarter hour on its own: 09:00–09:15 offers calls 20–27.
    let q = &hour[0].counters;
    assert_eq!((q.offered, q.answered, q.short_abandoned), (8, 7, 1));
}
