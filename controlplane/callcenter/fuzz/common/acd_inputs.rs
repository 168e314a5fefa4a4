//! The ACD and the KPI engine driven by bytes: each input byte picks an
//! ACD input (or a jump in time) over a small center of every strategy.
//! Checks: no panic; after every step no available member of a queue
//! with a waiting caller; once everyone hangs up the ACD holds nothing and
//! each call that entered left exactly once; the KPI engine takes every
//! event the ACD reports.

use std::collections::HashSet;
use std::time::Duration;

use tandem_call::CallId;
use tandem_callcenter::acd::{
    Acd, AcdConfig, AgentConfig, Event, Input, Member, Output, Overflow, QueueConfig, Strategy,
};
use tandem_callcenter::kpi::KpiEngine;
use tandem_callcenter::{AgentId, QueueId, Timestamp};

const AGENTS: u32 = 6;
const QUEUES: u32 = 3;

pub(crate) fn acd_inputs(data: &[u8]) {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let strategy = Strategy::ALL[usize::from(first) % Strategy::ALL.len()];
    let strategy = if strategy == Strategy::Skills {
        Strategy::Linear
    } else {
        strategy
    };
    let queues = (0..QUEUES)
        .map(|q| {
            let mut c = QueueConfig::new(format!("q{q}"));
            c.strategy = strategy;
            c.members = (0..AGENTS)
                .filter(|a| (a + q) % 3 != 0)
                .map(|a| Member {
                    agent: AgentId(a),
                    weight: a % 3,
                })
                .collect();
            c.ring_timeout = Duration::from_secs(5);
            c.wrap_up = Duration::from_secs(u64::from(q) * 2);
            c.auto_pause_after = (q != 1).then_some(2);
            c.sticky_window = Some(Duration::from_secs(60));
            c.spillover.max_length = Some(3);
            c.spillover.max_wait = Some(Duration::from_secs(40));
            c.spillover.when_no_agents = q == 2;
            c.spillover.to = Some(Overflow::Queue(QueueId((q + 1) % QUEUES)));
            c.announcements.position_every = Some(Duration::from_secs(7));
            c.announcements.periodic_every = Some(Duration::from_secs(11));
            c.exit = Some(('#', Overflow::Callback));
            c
        })
        .collect();
    let config = AcdConfig {
        agents: (0..AGENTS)
            .map(|a| AgentConfig::new(format!("a{a}")))
            .collect(),
        queues,
        max_spill_hops: 2,
        seed: u64::from(first),
    };
    let mut acd = Acd::new(config).expect("the fuzz center is valid");
    let mut kpi = KpiEngine::new();
    let mut now = Timestamp::from_secs(1_800_000_000);
    let mut entered = HashSet::new();
    let mut left = HashSet::new();
    let mut next_call = 0u64;
    let mut rung: Vec<(CallId, AgentId)> = Vec::new();
    let drain = |acd: &mut Acd,
                 kpi: &mut KpiEngine,
                 rung: &mut Vec<(CallId, AgentId)>,
                 left: &mut HashSet<CallId>| {
        while let Some(o) = acd.poll_output() {
            match o {
                Output::Ring { call, agents, .. } => {
                    rung.extend(agents.into_iter().map(|a| (call, a)));
                    if rung.len() > 8 {
                        rung.remove(0);
                    }
                }
                Output::Spill { call, .. } => assert!(left.insert(call), "{call} left twice"),
                Output::Event(e) => {
                    if let Event::CallAbandoned { call, .. } | Event::CallEnded { call, .. } = &e {
                        assert!(left.insert(*call), "{call} left twice");
                    }
                    kpi.handle_event(&e);
                }
                _ => {}
            }
        }
    };
    for pair in data.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let agent = AgentId(u32::from(arg) % (AGENTS + 1));
        let (call, rung_agent) = rung
            .get(usize::from(arg) % rung.len().max(1))
            .copied()
            .unwrap_or((CallId(u64::from(arg) % (next_call + 2)), agent));
        let input = match op % 16 {
            0..=2 => {
                next_call += 1;
                entered.insert(CallId(next_call));
                Input::Enqueue {
                    call: CallId(next_call),
                    queue: QueueId(u32::from(arg) % QUEUES),
                    caller: ["1", "2", "3"][usize::from(arg) % 3],
                    priority: arg % 3,
                    number: None,
                }
            }
            3..=4 => Input::AgentAnswered {
                call,
                agent: rung_agent,
            },
            5 => Input::AgentDeclined {
                call,
                agent: rung_agent,
            },
            6 => Input::Hangup { call },
            7 => Input::Transferred { call },
            8 => Input::Hold { call },
            9 => Input::Resume { call },
            10 => Input::Digit {
                call,
                digit: ['#', '1'][usize::from(arg) % 2],
            },
            11 => Input::Login { agent },
            12 => Input::Logout { agent },
            13 => Input::Pause {
                agent,
                reason: "fuzz",
            },
            14 => Input::Unpause { agent },
            15 if arg & 0x80 != 0 => Input::DirectCall {
                agent,
                active: arg & 1 == 1,
            },
            _ => {
                now = now + Duration::from_millis(u64::from(arg) * 250);
                while let Some(t) = acd.poll_timeout().filter(|t| *t <= now) {
                    acd.handle_timeout(t);
                    drain(&mut acd, &mut kpi, &mut rung, &mut left);
                }
                kpi.handle_timeout(now);
                while kpi.poll_output().is_some() {}
                continue;
            }
        };
        let _ = acd.handle_input(now, input);
        drain(&mut acd, &mut kpi, &mut rung, &mut left);
        for q in 0..QUEUES {
            let s = acd.queue_status(QueueId(q)).expect("queue exists");
            assert!(s.waiting == 0 || s.agents[1] == 0, "q{q}: {s:?}");
        }
    }
    for c in 0..=next_call {
        let _ = acd.handle_input(now, Input::Hangup { call: CallId(c) });
    }
    drain(&mut acd, &mut kpi, &mut rung, &mut left);
    assert_eq!(acd.calls(), 0);
    assert_eq!(left, entered);
    kpi.flush(now);
    while kpi.poll_output().is_some() {}
}
