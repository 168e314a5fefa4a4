//! A seeded storm of valid, out-of-order and bogus inputs against every
//! strategy: no panic, the distribution invariant holds after every step,
//! and every call that entered leaves exactly once.

mod acd;

use std::collections::HashSet;
use std::time::Duration;

use acd::{Rig, config, queue};
use tandem_call::CallId;
use tandem_callcenter::acd::{Event, Input, Output, Overflow, Strategy};
use tandem_callcenter::{AgentId, QueueId};

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_inputs_keep_the_acd_consistent() {
    for (i, strategy) in Strategy::ALL.into_iter().enumerate() {
        if strategy == Strategy::Skills {
            continue; // needs skills; covered by its own test
        }
        let agents = 12u32;
        let mut queues = Vec::new();
        for q in 0..4u32 {
            let members: Vec<u32> = (0..agents).filter(|a| (a + q) % 3 != 0).collect();
            let mut cfg = queue(&format!("q{q}"), &members);
            cfg.strategy = strategy;
            cfg.ring_timeout = Duration::from_secs(8);
            cfg.wrap_up = Duration::from_secs(u64::from(q) * 3);
            cfg.sticky_window = Some(Duration::from_secs(600));
            cfg.spillover.max_length = Some(6);
            cfg.spillover.max_wait = Some(Duration::from_secs(90));
            cfg.spillover.when_no_agents = q == 3;
            cfg.spillover.to = Some(Overflow::Queue(QueueId((q + 1) % 4)));
            cfg.announcements.position_every = Some(Duration::from_secs(20));
            cfg.auto_pause_after = if q % 2 == 0 { Some(3) } else { None };
            cfg.exit = Some(('#', Overflow::Voicemail("vm".into())));
            queues.push(cfg);
        }
        let mut r = Rig::new(config(agents as usize, queues));
        let mut rng = XorShift(0x9E37_79B9 + i as u64);
        let mut entered = HashSet::new();
        let mut next_call = 0u64;
        // Recent rings and answers, so most inputs hit live calls.
        let mut rung: Vec<(CallId, AgentId)> = Vec::new();
        let mut direct = HashSet::new();
        let mut talking: Vec<CallId> = Vec::new();
        for _ in 0..20_000 {
            let mut call = CallId(rng.below(next_call + 3));
            let mut agent = AgentId(rng.below(u64::from(agents) + 1) as u32);
            let pick = rng.below(4);
            if pick < 3 && !rung.is_empty() {
                (call, agent) = rung[rng.below(rung.len() as u64) as usize];
            }
            let talking_call = if pick < 3 && !talking.is_empty() {
                talking[rng.below(talking.len() as u64) as usize]
            } else {
                call
            };
            let input = match rng.below(15) {
                0 | 1 => {
                    next_call += 1;
                    Input::Enqueue {
                        call: CallId(next_call),
                        queue: QueueId(rng.below(5) as u32),
                        caller: ["a", "b", "c", "d"][rng.below(4) as usize],
                        priority: rng.below(3) as u8,
                        number: None,
                    }
                }
                2..=4 => Input::AgentAnswered { call, agent },
                14 => Input::AgentDeclined { call, agent },
                5 | 6 => Input::Hangup { call: talking_call },
                7 => Input::Transferred { call: talking_call },
                8 => Input::Hold { call: talking_call },
                9 => Input::Resume { call: talking_call },
                10 => Input::Digit {
                    call,
                    digit: ['#', '1'][rng.below(2) as usize],
                },
                11 => Input::Login { agent },
                12 => match rng.below(6) {
                    0 => Input::Logout { agent },
                    1 => Input::Pause {
                        agent,
                        reason: "break",
                    },
                    2 => Input::Unpause { agent },
                    // A direct call starts, or the agent's one ends.
                    3 | 4 => Input::DirectCall {
                        agent,
                        active: direct.insert(agent) || !direct.remove(&agent),
                    },
                    _ => Input::Ready { agent },
                },
                _ => {
                    r.advance(Duration::from_millis(rng.below(4_000)));
                    continue;
                }
            };
            if let Input::Enqueue { call, queue, .. } = input
                && queue.0 < 4
            {
                entered.insert(call);
            }
            let _ = r.acd.handle_input(r.now, input);
            while let Some(o) = r.acd.poll_output() {
                match &o {
                    Output::Ring { call, agents, .. } => {
                        rung.extend(agents.iter().map(|a| (*call, *a)));
                    }
                    Output::Event(Event::CallAnswered { call, .. }) => talking.push(*call),
                    _ => {}
                }
                r.out.push(o);
            }
            if rung.len() > 16 {
                rung.drain(..rung.len() - 16);
            }
            if talking.len() > 16 {
                talking.drain(..talking.len() - 16);
            }
            r.check_invariant();
        }
        // Everyone hangs up; the ACD must hold nothing afterwards.
        for c in 0..=next_call {
            let _ = r.acd.handle_input(r.now, Input::Hangup { call: CallId(c) });
        }
        while let Some(o) = r.acd.poll_output() {
            r.out.push(o);
        }
        assert_eq!(r.acd.calls(), 0, "{strategy}");
        // Each call that entered left exactly once: abandoned, ended after
        // an answer, or handed out of the ACD.
        let mut left = HashSet::new();
        for o in &r.out {
            let gone = match o {
                Output::Spill { call, .. } => Some(*call),
                Output::Event(Event::CallAbandoned { call, .. })
                | Output::Event(Event::CallEnded { call, .. }) => Some(*call),
                _ => None,
            };
            if let Some(call) = gone {
                assert!(left.insert(call), "{strategy}: {call} left twice");
            }
        }
        assert_eq!(left, entered, "{strategy}");
        let count = |f: fn(&Output) -> bool| r.out.iter().filter(|o| f(o)).count();
        let answered = count(|o| matches!(o, Output::Event(Event::CallAnswered { .. })));
        let ended = count(|o| matches!(o, Output::Event(Event::CallEnded { .. })));
        let spilled = count(|o| matches!(o, Output::Event(Event::CallSpilled { .. })));
        assert!(
            answered > 100 && ended > 100 && spilled > 100,
            "{strategy}: too quiet"
        );
        // Agent counts per queue still add up to the membership.
        for q in 0..4 {
            let s = r.acd.queue_status(QueueId(q)).unwrap();
            assert_eq!(s.agents.iter().sum::<u32>(), 8, "{strategy} q{q}");
            assert_eq!(s.waiting + s.ringing, 0);
        }
    }
}
