//! Spillover on each threshold, chained with a loop guard; the exit digit;
//! position and estimated-wait announcements.

mod acd;

use std::time::Duration;

use acd::{Rig, config, queue};
use tandem_call::CallId;
use tandem_callcenter::acd::{Event, Input, Output, Overflow, SpillReason};
use tandem_callcenter::{AgentId, QueueId};

const S: Duration = Duration::from_secs(1);

fn spills(r: &mut Rig) -> Vec<(u64, SpillReason, Overflow)> {
    r.take()
        .into_iter()
        .filter_map(|o| match o {
            Output::Spill {
                call, reason, to, ..
            } => Some((call.0, reason, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_full_queue_sends_new_callers_to_its_overflow() {
    let mut q = queue("q", &[0]);
    q.spillover.max_length = Some(2);
    q.spillover.to = Some(Overflow::Voicemail("sales".into()));
    let mut r = Rig::new(config(1, vec![q]));
    r.login_all(1);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.call(2, 0, "x", 0);
    r.call(3, 0, "x", 0);
    r.take();
    r.call(4, 0, "x", 0);
    assert_eq!(
        spills(&mut r),
        [(
            4,
            SpillReason::QueueFull,
            Overflow::Voicemail("sales".into())
        )]
    );
    assert_eq!(r.acd.calls(), 3);
}

#[test]
fn a_long_estimated_wait_spills_on_arrival() {
    let mut q = queue("q", &[0, 1]);
    q.expected_handle_time = 120 * S;
    q.spillover.max_estimated_wait = Some(100 * S);
    q.spillover.to = Some(Overflow::Number("4008001234".into()));
    let mut r = Rig::new(config(2, vec![q]));
    r.login_all(2);
    for call in 1..=2 {
        r.call(call, 0, "x", 0);
        r.answer(call, if call == 1 { 0 } else { 1 });
    }
    // Caller 3: position 1 × 120 s ÷ 2 serving = 60 s, stays.
    r.call(3, 0, "x", 0);
    // Caller 4: 2 × 120 ÷ 2 = 120 s > 100 s, spills.
    r.call(4, 0, "x", 0);
    let s = spills(&mut r);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].0, 4);
    assert_eq!(s[0].1, SpillReason::EstimatedWait);
    let status = r.acd.queue_status(QueueId(0)).unwrap();
    assert_eq!(status.estimated_wait, 120 * S);
}

#[test]
fn waiting_too_long_moves_the_caller_on_and_chains_stop_at_a_loop() {
    // q0 → q1 → q0 would loop: the caller is released instead.
    let mut q0 = queue("first", &[0]);
    q0.spillover.max_wait = Some(60 * S);
    q0.spillover.to = Some(Overflow::Queue(QueueId(1)));
    let mut q1 = queue("second", &[1]);
    q1.spillover.max_wait = Some(30 * S);
    q1.spillover.to = Some(Overflow::Queue(QueueId(0)));
    let mut r = Rig::new(config(2, vec![q0, q1]));
    r.call(1, 0, "x", 0); // nobody signed in
    r.advance(59 * S);
    assert!(spills(&mut r).is_empty());
    r.advance(S);
    // Moved to q1 internally: a spill event, then queued again.
    let moved: Vec<_> = r
        .events()
        .filter_map(|e| match e {
            Event::CallSpilled { queue, reason, .. } => Some((queue.0, *reason)),
            Event::CallQueued { queue, .. } => Some((queue.0, SpillReason::CallerExit)),
            _ => None,
        })
        .collect();
    assert_eq!(
        moved,
        [(0, SpillReason::MaxWait), (1, SpillReason::CallerExit)]
    );
    r.take();
    r.advance(30 * S);
    assert_eq!(
        spills(&mut r),
        [(1, SpillReason::MaxWait, Overflow::Hangup)]
    );
    assert_eq!(r.acd.calls(), 0);
}

#[test]
fn a_caller_being_rung_at_max_wait_spills_if_the_ring_fails() {
    let mut q = queue("q", &[0]);
    q.spillover.max_wait = Some(20 * S);
    q.ring_timeout = 15 * S;
    q.auto_pause_after = None;
    q.spillover.to = Some(Overflow::Trunk("branch".into()));
    let mut r = Rig::new(config(1, vec![q]));
    r.login_all(1);
    r.advance(S);
    r.call(1, 0, "x", 0); // rings a0 at t=0 for 15 s, then again at 15 s
    r.advance(20 * S);
    assert!(spills(&mut r).is_empty(), "still ringing at 20 s");
    r.advance(10 * S);
    assert_eq!(
        spills(&mut r),
        [(1, SpillReason::MaxWait, Overflow::Trunk("branch".into()))]
    );
}

#[test]
fn no_agents_signed_in_spills_on_arrival_and_when_the_last_one_leaves() {
    let mut q = queue("q", &[0]);
    q.spillover.when_no_agents = true;
    q.spillover.to = Some(Overflow::Voicemail("night".into()));
    let mut r = Rig::new(config(1, vec![q]));
    r.call(1, 0, "x", 0);
    assert_eq!(
        spills(&mut r),
        [(
            1,
            SpillReason::NoAgents,
            Overflow::Voicemail("night".into())
        )]
    );
    r.login_all(1);
    r.call(2, 0, "x", 0);
    r.answer(2, 0);
    r.call(3, 0, "x", 0);
    r.input(Input::Logout { agent: AgentId(0) });
    assert!(spills(&mut r).is_empty(), "a0 still on a call");
    r.hangup(2);
    r.advance(60 * S);
    assert_eq!(
        spills(&mut r),
        [(
            3,
            SpillReason::NoAgents,
            Overflow::Voicemail("night".into())
        )]
    );
}

#[test]
fn the_exit_digit_takes_the_caller_to_voicemail_or_callback() {
    let mut q = queue("q", &[0]);
    q.exit = Some(('9', Overflow::Callback));
    let mut r = Rig::new(config(1, vec![q]));
    r.call(1, 0, "x", 0);
    r.input(Input::Digit {
        call: CallId(1),
        digit: '5',
    });
    assert!(spills(&mut r).is_empty());
    r.input(Input::Digit {
        call: CallId(1),
        digit: '9',
    });
    assert_eq!(
        spills(&mut r),
        [(1, SpillReason::CallerExit, Overflow::Callback)]
    );
}

#[test]
fn callers_hear_their_position_and_estimated_wait_at_the_interval() {
    let mut q = queue("q", &[0]);
    q.expected_handle_time = 60 * S;
    q.announcements.position_every = Some(30 * S);
    q.announcements.periodic_every = Some(45 * S);
    let mut r = Rig::new(config(1, vec![q]));
    r.login_all(1);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.call(2, 0, "x", 0);
    r.advance(10 * S);
    r.call(3, 0, "x", 0);
    r.take();
    r.advance(30 * S);
    let heard: Vec<_> = r
        .take()
        .into_iter()
        .filter_map(|o| match o {
            Output::Announce {
                call,
                position,
                estimated_wait,
                ..
            } => Some((call.0, position, estimated_wait)),
            Output::PeriodicAnnouncement { call, .. } => Some((call.0, 0, Duration::ZERO)),
            _ => None,
        })
        .collect();
    // Caller 2 at t=30 s; caller 3 is announced at t=40 s.
    assert_eq!(heard, [(2, 1, 60 * S), (3, 2, 120 * S)]);
    r.advance(5 * S);
    let periodic = r
        .take()
        .into_iter()
        .filter(|o| matches!(o, Output::PeriodicAnnouncement { .. }))
        .count();
    assert_eq!(periodic, 1, "caller 2's periodic announcement at 45 s");
}

#[test]
fn abandons_are_reported_with_the_time_waited() {
    let mut r = Rig::new(config(1, vec![queue("q", &[0])]));
    r.call(1, 0, "x", 0);
    r.advance(42 * S);
    r.hangup(1);
    let abandoned: Vec<_> = r
        .events()
        .filter_map(|e| match e {
            Event::CallAbandoned { waited, .. } => Some(*waited),
            _ => None,
        })
        .collect();
    assert_eq!(abandoned, [42 * S]);
    assert!(matches!(
        r.acd.handle_input(r.now, Input::Hangup { call: CallId(1) }),
        Err(tandem_callcenter::acd::AcdError::UnknownCall(_))
    ));
}
