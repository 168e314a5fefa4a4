//! Each distribution strategy, caller priority, sticky agent and fairness
//! across queues, on a virtual clock.

mod acd;

use std::time::Duration;

use acd::{Rig, config, queue};
use tandem_callcenter::AgentId;
use tandem_callcenter::acd::{AgentConfig, AgentState, Input, Output, Skill, Strategy};

const S: Duration = Duration::from_secs(1);

fn rig(strategy: Strategy, agents: u32) -> Rig {
    let mut q = queue("q", &(0..agents).collect::<Vec<_>>());
    q.strategy = strategy;
    let mut r = Rig::new(config(agents as usize, vec![q]));
    r.login_all(agents);
    r
}

#[test]
fn linear_hunting_always_starts_at_the_first_member() {
    let mut r = rig(Strategy::Linear, 3);
    r.call(1, 0, "1", 0);
    assert_eq!(r.rung(1), 0);
    r.serve(1, 0, 10 * S);
    r.call(2, 0, "2", 0);
    assert_eq!(r.rung(2), 0);
    // With a0 busy, a1 is next; with a0 and a1 busy, a2.
    r.answer(2, 0);
    r.call(3, 0, "3", 0);
    assert_eq!(r.rung(3), 1);
    r.answer(3, 1);
    r.call(4, 0, "4", 0);
    assert_eq!(r.rung(4), 2);
}

#[test]
fn round_robin_remembers_where_it_left_off() {
    let mut r = rig(Strategy::RoundRobin, 3);
    let mut order = Vec::new();
    for call in 1..=7 {
        r.call(call, 0, "x", 0);
        let a = r.rung(call);
        order.push(a);
        r.serve(call, a, S);
    }
    assert_eq!(order, [0, 1, 2, 0, 1, 2, 0]);
}

#[test]
fn longest_idle_agent_gets_the_call() {
    let mut r = rig(Strategy::LongestIdle, 3);
    // a0 and a1 take calls in turn; a2, idle since login, is longest idle
    // only while it has not served.
    r.call(1, 0, "x", 0);
    assert_eq!(r.rung(1), 0);
    r.serve(1, 0, 5 * S);
    r.call(2, 0, "x", 0);
    assert_eq!(r.rung(2), 1);
    r.serve(2, 1, 5 * S);
    r.call(3, 0, "x", 0);
    assert_eq!(r.rung(3), 2);
    r.serve(3, 2, 5 * S);
    // a0 became idle first.
    r.call(4, 0, "x", 0);
    assert_eq!(r.rung(4), 0);
}

#[test]
fn fewest_calls_and_least_talk_time_balance_the_load() {
    let mut r = rig(Strategy::FewestCalls, 2);
    r.call(1, 0, "x", 0);
    let first = r.rung(1);
    r.serve(1, first, 100 * S);
    r.call(2, 0, "x", 0);
    let second = r.rung(2);
    assert_ne!(first, second, "the agent with fewer calls is picked");

    let mut r = rig(Strategy::LeastTalkTime, 2);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.call(2, 0, "x", 0);
    r.answer(2, 1);
    r.advance(10 * S);
    r.hangup(2); // a1 talked 10 s
    r.advance(50 * S);
    r.hangup(1); // a0 talked 60 s
    r.advance(60 * S); // both wrap-ups end
    r.take();
    r.call(3, 0, "x", 0);
    assert_eq!(r.rung(3), 1);
}

#[test]
fn random_strategies_follow_their_weights() {
    let mut r = rig(Strategy::Random, 4);
    let mut counts = [0u32; 4];
    for call in 0..4000 {
        r.call(call, 0, "x", 0);
        let a = r.rung(call);
        counts[a as usize] += 1;
        r.serve(call, a, S);
    }
    for c in counts {
        assert!((850..1150).contains(&c), "uniform: {counts:?}");
    }

    let mut q = queue("q", &[0, 1, 2]);
    q.strategy = Strategy::WeightedRandom;
    for (m, w) in q.members.iter_mut().zip([1, 2, 7]) {
        m.weight = w;
    }
    let mut r = Rig::new(config(3, vec![q]));
    r.login_all(3);
    let mut counts = [0u32; 3];
    for call in 0..5000 {
        r.call(call, 0, "x", 0);
        let a = r.rung(call);
        counts[a as usize] += 1;
        r.serve(call, a, S);
    }
    for (c, share) in counts.iter().zip([0.1, 0.2, 0.7]) {
        let got = f64::from(*c) / 5000.0;
        assert!((got - share).abs() < 0.03, "weighted: {counts:?}");
    }
}

#[test]
fn ring_all_rings_everyone_and_the_first_answer_wins() {
    let mut r = rig(Strategy::RingAll, 3);
    r.call(1, 0, "x", 0);
    let rings = r.rings();
    assert_eq!(rings, [(1, vec![0, 1, 2])]);
    r.answer(1, 2);
    let out = r.take();
    let cancelled: Vec<u32> = out
        .iter()
        .filter_map(|o| match o {
            Output::CancelRing { agent, .. } => Some(agent.0),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, [0, 1]);
    assert_eq!(r.state(0), tandem_callcenter::acd::AgentState::Available);
    // A late answer from a cancelled agent is refused.
    assert!(
        r.acd
            .handle_input(
                r.now,
                Input::AgentAnswered {
                    call: tandem_call::CallId(1),
                    agent: AgentId(0)
                }
            )
            .is_err()
    );
}

#[test]
fn skills_route_to_the_best_match_and_exclude_the_unskilled() {
    let skill = |n: &str, l| Skill {
        name: n.into(),
        level: l,
    };
    let mut agents: Vec<AgentConfig> = (0..4).map(|i| AgentConfig::new(format!("a{i}"))).collect();
    agents[0].skills = vec![skill("cantonese", 40), skill("billing", 50)];
    agents[1].skills = vec![skill("cantonese", 90), skill("billing", 80)];
    agents[2].skills = vec![skill("cantonese", 90)];
    agents[3].skills = vec![skill("cantonese", 10), skill("billing", 90)];
    let mut q = tandem_callcenter::acd::QueueConfig::new("hk-billing");
    q.strategy = Strategy::Skills;
    q.required_skills = vec![skill("cantonese", 30), skill("billing", 1)];
    let mut cfg = config(0, vec![q]);
    cfg.agents = agents;
    let mut r = Rig::new(cfg);
    r.login_all(4);
    // Members: a0 (score 90) and a1 (170); a2 lacks billing, a3 is below
    // the cantonese level.
    assert_eq!(r.acd.agent_queues(AgentId(2)), []);
    assert_eq!(r.acd.agent_queues(AgentId(3)), []);
    assert_eq!(
        r.acd.queue_members(tandem_callcenter::QueueId(0)),
        [AgentId(0), AgentId(1)]
    );
    r.call(1, 0, "x", 0);
    assert_eq!(r.rung(1), 1);
    r.answer(1, 1);
    r.call(2, 0, "x", 0);
    assert_eq!(r.rung(2), 0);
    r.answer(2, 0);
    r.call(3, 0, "x", 0);
    assert!(r.rings().is_empty(), "nobody else is skilled");
}

#[test]
fn vip_callers_jump_ahead_and_equal_priorities_keep_arrival_order() {
    let mut r = rig(Strategy::Linear, 1);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.call(2, 0, "plain", 0);
    r.advance(S);
    r.call(3, 0, "plain2", 0);
    r.advance(S);
    r.call(4, 0, "vip", 5);
    assert_eq!(r.acd.position(tandem_call::CallId(4)), Some(1));
    assert_eq!(r.acd.position(tandem_call::CallId(3)), Some(3));
    r.take();
    r.hangup(1);
    r.input(Input::Ready { agent: AgentId(0) });
    assert_eq!(r.rings(), [(4, vec![0])]);
    r.serve(4, 0, S);
    assert_eq!(r.rings(), [(2, vec![0])]);
}

#[test]
fn sticky_agent_serves_a_returning_caller_within_the_window() {
    let mut q = queue("q", &[0, 1, 2]);
    q.strategy = Strategy::Linear;
    q.sticky_window = Some(Duration::from_secs(3600));
    let mut r = Rig::new(config(3, vec![q]));
    r.login_all(3);
    // Occupy a0 so the caller first lands on a1.
    r.call(1, 0, "other", 0);
    r.answer(1, 0);
    r.call(2, 0, "13800000001", 0);
    assert_eq!(r.rung(2), 1);
    r.serve(2, 1, 30 * S);
    r.hangup(1);
    r.input(Input::Ready { agent: AgentId(0) });
    r.take();
    // Back within the hour: a1 again, although linear would pick a0.
    r.advance(Duration::from_secs(600));
    r.call(3, 0, "13800000001", 0);
    assert_eq!(r.rung(3), 1);
    r.serve(3, 1, S);
    // After the window: the strategy decides.
    r.advance(Duration::from_secs(3700));
    r.call(4, 0, "13800000001", 0);
    assert_eq!(r.rung(4), 0);
}

#[test]
fn an_agent_in_two_queues_takes_the_longest_waiting_caller() {
    let sales = queue("sales", &[0]);
    let support = queue("support", &[0, 1]);
    let mut r = Rig::new(config(2, vec![sales, support]));
    r.login_all(2);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.call(2, 1, "x", 0);
    r.answer(2, 1);
    // Waiting: support caller 3 (t=0), sales caller 4 (t=5 s).
    r.call(3, 1, "x", 0);
    r.advance(5 * S);
    r.call(4, 0, "x", 0);
    r.take();
    r.advance(5 * S);
    r.hangup(1);
    r.input(Input::Ready { agent: AgentId(0) });
    // a0 serves both queues; support's caller has waited longer.
    assert_eq!(r.rings(), [(3, vec![0])]);
}

#[test]
fn unanswered_offers_move_on_and_pause_the_agent() {
    let mut q = queue("q", &[0, 1]);
    q.strategy = Strategy::Linear;
    q.auto_pause_after = Some(2);
    q.ring_timeout = 10 * S;
    let mut r = Rig::new(config(2, vec![q]));
    r.login_all(2);
    r.call(1, 0, "x", 0);
    assert_eq!(r.rung(1), 0);
    r.advance(10 * S);
    // a0 did not answer: a1 is tried.
    assert_eq!(r.rung(1), 1);
    r.answer(1, 1);
    r.call(2, 0, "x", 0);
    assert_eq!(r.rung(2), 0);
    r.input(Input::AgentDeclined {
        call: tandem_call::CallId(2),
        agent: AgentId(0),
    });
    // Second miss in a row: paused with reason no-answer; the caller waits.
    let status = r.acd.agent_status(AgentId(0)).unwrap();
    assert_eq!(status.state, tandem_callcenter::acd::AgentState::Paused);
    assert_eq!(status.pause_reason.as_deref(), Some("no-answer"));
    assert_eq!(
        r.acd
            .queue_status(tandem_callcenter::QueueId(0))
            .unwrap()
            .waiting,
        1
    );
    r.take();
    r.input(Input::Unpause { agent: AgentId(0) });
    assert_eq!(r.rung(2), 0);
}

#[test]
fn wrap_up_holds_the_agent_back_per_queue_or_per_agent() {
    let mut q = queue("q", &[0, 1]);
    q.strategy = Strategy::Linear;
    q.wrap_up = 30 * S;
    let mut cfg = config(2, vec![q]);
    cfg.agents[1].wrap_up = Some(5 * S);
    let mut r = Rig::new(cfg);
    r.login_all(2);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.call(2, 0, "x", 0);
    r.answer(2, 1);
    r.advance(10 * S);
    r.hangup(1);
    r.hangup(2);
    r.take();
    r.call(3, 0, "x", 0);
    assert!(r.rings().is_empty(), "both in wrap-up");
    r.advance(5 * S);
    assert_eq!(
        r.rings(),
        [(3, vec![1])],
        "a1's own 5 s wrap-up ended first"
    );
    r.advance(25 * S);
    assert_eq!(r.state(0), tandem_callcenter::acd::AgentState::Available);
    let wraps: Vec<Duration> = r
        .events()
        .filter_map(|e| match e {
            tandem_callcenter::acd::Event::WrapUpEnded { duration, .. } => Some(*duration),
            _ => None,
        })
        .collect();
    assert_eq!(wraps, [30 * S]);
}

#[test]
fn pause_and_logout_asked_during_a_call_apply_after_it() {
    let mut r = rig(Strategy::Linear, 1);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.input(Input::Pause {
        agent: AgentId(0),
        reason: "lunch",
    });
    assert_eq!(r.state(0), tandem_callcenter::acd::AgentState::OnCall);
    r.hangup(1);
    r.input(Input::Ready { agent: AgentId(0) });
    let s = r.acd.agent_status(AgentId(0)).unwrap();
    assert_eq!(s.state, tandem_callcenter::acd::AgentState::Paused);
    assert_eq!(s.pause_reason.as_deref(), Some("lunch"));
    r.input(Input::Unpause { agent: AgentId(0) });
    r.call(2, 0, "x", 0);
    r.answer(2, 0);
    r.input(Input::Logout { agent: AgentId(0) });
    r.hangup(2);
    r.advance(60 * S);
    assert_eq!(r.state(0), tandem_callcenter::acd::AgentState::LoggedOut);
}

#[test]
fn hold_time_is_reported_apart_from_talk_time() {
    let mut r = rig(Strategy::Linear, 1);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.advance(20 * S);
    r.input(Input::Hold {
        call: tandem_call::CallId(1),
    });
    assert_eq!(r.state(0), tandem_callcenter::acd::AgentState::OnHold);
    r.advance(15 * S);
    r.input(Input::Resume {
        call: tandem_call::CallId(1),
    });
    r.advance(5 * S);
    r.input(Input::Transferred {
        call: tandem_call::CallId(1),
    });
    let ended: Vec<_> = r
        .events()
        .filter_map(|e| match e {
            tandem_callcenter::acd::Event::CallEnded {
                talk,
                hold,
                transferred,
                ..
            } => Some((*talk, *hold, *transferred)),
            _ => None,
        })
        .collect();
    assert_eq!(ended, [(25 * S, 15 * S, true)]);
}

#[test]
fn the_call_list_shows_positions_rings_and_answers() {
    use tandem_callcenter::acd::CallState;
    let mut r = rig(Strategy::Linear, 2);
    r.call(1, 0, "x", 0);
    r.answer(1, 0);
    r.input(Input::Hold {
        call: tandem_call::CallId(1),
    });
    r.call(2, 0, "x", 0); // rings a1
    r.call(3, 0, "x", 0);
    r.call(4, 0, "vip", 9);
    let list = r.acd.call_list();
    let states: Vec<(u64, CallState)> = list.iter().map(|c| (c.call.0, c.state.clone())).collect();
    assert_eq!(
        states,
        [
            (4, CallState::Waiting { position: 1 }),
            (3, CallState::Waiting { position: 2 }),
            (
                1,
                CallState::Answered {
                    agent: AgentId(0),
                    held: true
                }
            ),
            (
                2,
                CallState::Ringing {
                    agents: vec![AgentId(1)]
                }
            ),
        ]
    );
    assert_eq!(list[0].priority, 9);
}

#[test]
fn an_agent_on_a_call_the_acd_did_not_route_is_offered_nothing() {
    let mut q = queue("q", &[0, 1]);
    q.strategy = Strategy::Linear;
    q.wrap_up = Duration::ZERO;
    let mut r = Rig::new(config(2, vec![q]));
    r.login_all(2);
    // a0 takes a transferred caller directly: busy, not in the index.
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: true,
    });
    assert_eq!(r.state(0), AgentState::OnCall);
    r.call(1, 0, "138", 0);
    assert_eq!(r.rung(1), 1, "linear would take a0 first, but a0 is busy");
    r.answer(1, 1);
    r.advance(10 * S);
    r.hangup(1);
    // A second direct call (a consultation) and the end of the first:
    // still busy.
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: true,
    });
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: false,
    });
    assert_eq!(r.state(0), AgentState::OnCall);
    // A pause asked meanwhile applies once the last one ends.
    r.input(Input::Pause {
        agent: AgentId(0),
        reason: "coffee",
    });
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: false,
    });
    assert_eq!(r.state(0), AgentState::Paused);
    // An unbalanced end changes nothing.
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: false,
    });
    assert_eq!(r.state(0), AgentState::Paused);
    // A direct call during an ACD call outlives it: after the wrap-up the
    // agent stays on the direct call, then takes the next caller.
    r.input(Input::Unpause { agent: AgentId(0) });
    r.input(Input::Logout { agent: AgentId(1) });
    r.call(2, 0, "139", 0);
    assert_eq!(r.rung(2), 0);
    r.answer(2, 0);
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: true,
    });
    r.hangup(2);
    assert_eq!(r.state(0), AgentState::OnCall);
    r.call(3, 0, "137", 0);
    assert!(r.rings().is_empty(), "a0 is still on its direct call");
    r.input(Input::DirectCall {
        agent: AgentId(0),
        active: false,
    });
    assert_eq!(r.rung(3), 0);
}
