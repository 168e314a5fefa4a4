//! A small rig around the ACD for the behaviour tests: builds a config
//! from agent and queue names, feeds inputs at a virtual time and keeps
//! the outputs.

#![allow(dead_code)]

use std::time::Duration;

use tandem_call::CallId;
use tandem_callcenter::acd::{
    Acd, AcdConfig, AgentConfig, AgentState, Event, Input, Member, Output, QueueConfig,
};
use tandem_callcenter::{AgentId, QueueId, Timestamp};

pub(crate) struct Rig {
    pub(crate) acd: Acd,
    pub(crate) now: Timestamp,
    pub(crate) out: Vec<Output>,
}

/// `agents` named a0, a1, …; one queue per config, members by index.
pub(crate) fn config(agents: usize, queues: Vec<QueueConfig>) -> AcdConfig {
    AcdConfig {
        agents: (0..agents)
            .map(|i| AgentConfig::new(format!("a{i}")))
            .collect(),
        queues,
        max_spill_hops: 0,
        seed: 42,
    }
}

pub(crate) fn queue(name: &str, members: &[u32]) -> QueueConfig {
    let mut q = QueueConfig::new(name);
    q.members = members
        .iter()
        .map(|&a| Member {
            agent: AgentId(a),
            weight: 1,
        })
        .collect();
    q
}

impl Rig {
    pub(crate) fn new(config: AcdConfig) -> Rig {
        Rig {
            acd: Acd::new(config).expect("valid config"),
            now: Timestamp::from_secs(1_800_000_000),
            out: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(o) = self.acd.poll_output() {
            self.out.push(o);
        }
        self.check_invariant();
    }

    /// No available member of a queue with a waiting caller.
    pub(crate) fn check_invariant(&self) {
        let (queues, _) = self.acd.len();
        for q in 0..queues {
            let s = self.acd.queue_status(QueueId(q as u32)).unwrap();
            let available = s.agents[1];
            assert!(
                s.waiting == 0 || available == 0,
                "queue {q}: {} waiting while {available} available",
                s.waiting
            );
        }
    }

    pub(crate) fn input(&mut self, input: Input<'_>) {
        self.acd
            .handle_input(self.now, input)
            .expect("input accepted");
        self.drain();
    }

    pub(crate) fn login_all(&mut self, n: u32) {
        for a in 0..n {
            self.input(Input::Login { agent: AgentId(a) });
        }
    }

    pub(crate) fn call(&mut self, call: u64, queue: u32, caller: &str, priority: u8) {
        self.input(Input::Enqueue {
            call: CallId(call),
            queue: QueueId(queue),
            caller,
            priority,
            number: None,
        });
    }

    pub(crate) fn answer(&mut self, call: u64, agent: u32) {
        self.input(Input::AgentAnswered {
            call: CallId(call),
            agent: AgentId(agent),
        });
    }

    pub(crate) fn hangup(&mut self, call: u64) {
        self.input(Input::Hangup { call: CallId(call) });
    }

    /// Moves time forward, running every timer on the way.
    pub(crate) fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.acd.poll_timeout() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            self.acd.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// Agents rung (in order) since the last `take`, and clears outputs.
    pub(crate) fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// The agents of each Ring output since the last take.
    pub(crate) fn rings(&mut self) -> Vec<(u64, Vec<u32>)> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Ring { call, agents, .. } => {
                    Some((call.0, agents.into_iter().map(|a| a.0).collect()))
                }
                _ => None,
            })
            .collect()
    }

    /// The single agent rung for `call` since the last take.
    pub(crate) fn rung(&mut self, call: u64) -> u32 {
        let rings: Vec<_> = self
            .rings()
            .into_iter()
            .filter(|(c, _)| *c == call)
            .collect();
        assert_eq!(
            rings.len(),
            1,
            "expected one ring for call {call}: {rings:?}"
        );
        assert_eq!(rings[0].1.len(), 1, "expected one agent: {rings:?}");
        rings[0].1[0]
    }

    /// Answers, talks for `talk`, hangs up and skips the wrap-up.
    pub(crate) fn serve(&mut self, call: u64, agent: u32, talk: Duration) {
        self.answer(call, agent);
        self.advance(talk);
        self.hangup(call);
        self.input(Input::Ready {
            agent: AgentId(agent),
        });
    }

    pub(crate) fn state(&self, agent: u32) -> AgentState {
        self.acd.agent_status(AgentId(agent)).unwrap().state
    }

    pub(crate) fn events(&self) -> impl Iterator<Item = &Event> {
        self.out.iter().filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
    }
}
