//! Automatic call distribution: queues of callers, agents in states, and
//! the strategies that match them (CALLCENTER.md, "ACD vocabulary").
//!
//! # Model
//!
//! - Each queue keeps its waiting callers ordered by priority (higher
//!   first), then by the time they entered the queue. VIP callers are
//!   simply enqueued with a higher priority.
//! - Each queue keeps an index of its *available* members, shaped for its
//!   [`Strategy`]: a B-tree keyed by the strategy's measure (position,
//!   idle-since, calls answered, talk time, skill score) or a list with a
//!   Fenwick tree of weights for the random strategies. Picking an agent
//!   is O(log n); an agent's state change touches only the queues it is a
//!   member of.
//! - **Invariant:** after every input, no available agent is a member of
//!   a queue with a waiting caller. So a new caller is given an available
//!   member at once, and an agent who becomes available takes the best
//!   waiting caller over all of its queues — highest priority, then the
//!   one waiting longest (fairness across queues).
//! - Sticky agent: with `sticky_window`, a caller goes to the agent whose
//!   call with them ended within the window, if that agent is available.
//! - Ringing: [`Output::Ring`] asks the gateway to ring one agent (or all,
//!   for ring-all). The agent answers ([`Input::AgentAnswered`]),
//!   declines ([`Input::AgentDeclined`]: busy, rejected, unreachable) or
//!   the ring times out; the caller then keeps its place and the next
//!   agent is tried (agents already tried for this caller are skipped
//!   until every available member has been tried). After
//!   `auto_pause_after` consecutive unanswered offers an agent is paused
//!   with reason `no-answer`.
//! - After a call, the agent does after-call work (the agent's `wrap_up`,
//!   else the queue's), then becomes available, or goes to the pause or
//!   logout asked for during the call.
//! - Spillover: on arrival when no member is signed in, when the queue
//!   is full, or when the estimated wait is above the threshold; while
//!   waiting after `max_wait`, or when the last member signs out. A spill
//!   to another queue is done here with a loop guard (a queue is never
//!   entered twice, and at most `max_spill_hops` moves); a spill anywhere
//!   else is handed to the gateway as [`Output::Spill`].
//! - Estimated wait = position × recent handle time ÷ serving agents,
//!   where the recent handle time (talk + hold + wrap-up) is a moving
//!   average per queue and serving agents are members signed in and not
//!   paused.
//!
//! # Driving loop (STYLE.md rule 2)
//!
//! ```
//! use std::time::Duration;
//! use tandem_call::CallId;
//! use tandem_callcenter::acd::{Acd, AcdConfig, AgentConfig, Input, Member, Output, QueueConfig};
//! use tandem_callcenter::{AgentId, QueueId, Timestamp};
//!
//! let mut sales = QueueConfig::new("sales");
//! sales.members.push(Member { agent: AgentId(0), weight: 1 });
//! let config = AcdConfig {
//!     agents: vec![AgentConfig::new("alice")],
//!     queues: vec![sales],
//!     ..AcdConfig::default()
//! };
//! let mut acd = Acd::new(config).unwrap();
//! let mut now = Timestamp::from_secs(1_800_000_000);
//! acd.handle_input(now, Input::Login { agent: AgentId(0) }).unwrap();
//! acd.handle_input(now, Input::Enqueue {
//!     call: CallId(1), queue: QueueId(0), caller: "13812345678", priority: 0, number: None,
//! }).unwrap();
//! let mut rang = false;
//! while let Some(out) = acd.poll_output() {
//!     if let Output::Ring { agents, .. } = out {
//!         rang = agents == [AgentId(0)];
//!     }
//! }
//! assert!(rang);
//! // No answer: after the ring timeout the ACD gives up on alice.
//! now = acd.poll_timeout().unwrap();
//! acd.handle_timeout(now);
//! assert_eq!(now, Timestamp::from_secs(1_800_000_015));
//! ```

mod config;
mod event;
mod index;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use tandem_call::CallId;

pub use config::{
    AcdConfig, AgentConfig, Announcements, ConfigError, Member, QueueConfig, Skill, Spillover,
    Strategy,
};
pub use event::{AgentState, Event, Overflow, SpillReason};

use crate::ids::{AgentId, NumberId, QueueId};
use crate::time::Timestamp;
use config::ResolvedMember;
use index::{AvailIndex, Key, Rng};

/// Something the gateway tells the ACD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// A caller is put in a queue.
    Enqueue {
        /// The call (unique among calls the ACD holds).
        call: CallId,
        /// The queue.
        queue: QueueId,
        /// The calling number, for sticky-agent routing.
        caller: &'a str,
        /// Priority: higher is served first (0 for ordinary callers).
        priority: u8,
        /// The 400 number the call came in on, for per-number KPIs.
        number: Option<NumberId>,
    },
    /// An agent rung for a call answered it.
    AgentAnswered {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// An agent rung for a call did not take it (busy, rejected,
    /// unreachable); counted like a ring timeout.
    AgentDeclined {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The call ended: the caller hung up (while waiting, ringing or
    /// talking) or the agent did.
    Hangup {
        /// The call.
        call: CallId,
    },
    /// The agent transferred an answered call away (blind, or attended
    /// once the transfer completed); it ends for this agent.
    Transferred {
        /// The call.
        call: CallId,
    },
    /// The agent put the caller on hold.
    Hold {
        /// The call.
        call: CallId,
    },
    /// The agent took the caller off hold.
    Resume {
        /// The call.
        call: CallId,
    },
    /// The caller pressed a DTMF digit while queued.
    Digit {
        /// The call.
        call: CallId,
        /// `0`–`9`, `*`, `#`.
        digit: char,
    },
    /// An agent signs in.
    Login {
        /// The agent.
        agent: AgentId,
    },
    /// An agent signs out (after the current call, if on one).
    Logout {
        /// The agent.
        agent: AgentId,
    },
    /// An agent goes not-ready with a reason code (after the current call,
    /// if on one).
    Pause {
        /// The agent.
        agent: AgentId,
        /// The reason code (`lunch`, `training`, …).
        reason: &'a str,
    },
    /// A paused agent is ready again.
    Unpause {
        /// The agent.
        agent: AgentId,
    },
    /// An agent in wrap-up ends it early.
    Ready {
        /// The agent.
        agent: AgentId,
    },
    /// The agent's phone took up (`active`) or let go of a call the ACD
    /// did not route: a direct call to the agent, a caller transferred to
    /// the agent, a consultation call the agent placed, a supervisor's
    /// monitoring. While any such call is up the agent is on a call and
    /// is offered no queued caller; when the last one ends the agent is
    /// available again (or paused or signed out, if that was asked
    /// meanwhile). Unbalanced ends are ignored.
    DirectCall {
        /// The agent.
        agent: AgentId,
        /// The call started (`true`) or ended.
        active: bool,
    },
}

/// What the ACD asks of the gateway, or reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Ring these agents' phones for the call (several for ring-all).
    Ring {
        /// The call.
        call: CallId,
        /// The queue it is served from.
        queue: QueueId,
        /// The agents to ring.
        agents: Vec<AgentId>,
    },
    /// Stop ringing this agent for the call (someone else answered, the
    /// caller left, or the ring timed out).
    CancelRing {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The call leaves the ACD for a destination outside it (or is
    /// released, for [`Overflow::Hangup`]).
    Spill {
        /// The call.
        call: CallId,
        /// The queue it left.
        queue: QueueId,
        /// Why.
        reason: SpillReason,
        /// Where to send it.
        to: Overflow,
    },
    /// Tell the caller its position and estimated wait.
    Announce {
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueId,
        /// 1 for the next caller to be served.
        position: u32,
        /// The estimated wait.
        estimated_wait: Duration,
    },
    /// Play the queue's periodic announcement to the caller.
    PeriodicAnnouncement {
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueId,
    },
    /// A fact for KPIs and the wallboard.
    Event(Event),
}

/// An input the ACD refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcdError {
    /// No such queue.
    UnknownQueue(QueueId),
    /// No such agent.
    UnknownAgent(AgentId),
    /// The ACD does not hold this call.
    UnknownCall(CallId),
    /// The call is already queued.
    DuplicateCall(CallId),
    /// The agent is not ringing for this call (its ring timed out, or
    /// another agent answered first): the gateway should release the
    /// agent's leg.
    NotRinging {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The call is not answered, so it cannot be held, resumed or
    /// transferred.
    NotAnswered(CallId),
    /// The input does not apply in the agent's state.
    AgentState {
        /// The agent.
        agent: AgentId,
        /// Its state.
        state: AgentState,
    },
}

impl fmt::Display for AcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcdError::UnknownQueue(q) => write!(f, "{q} does not exist"),
            AcdError::UnknownAgent(a) => write!(f, "{a} does not exist"),
            AcdError::UnknownCall(c) => write!(f, "{c} is not in the ACD"),
            AcdError::DuplicateCall(c) => write!(f, "{c} is already queued"),
            AcdError::NotRinging { call, agent } => write!(f, "{agent} is not ringing for {call}"),
            AcdError::NotAnswered(c) => write!(f, "{c} is not answered"),
            AcdError::AgentState { agent, state } => {
                write!(f, "{agent} cannot do that while {}", state.as_str())
            }
        }
    }
}

impl std::error::Error for AcdError {}

/// A queue's live state, for the wallboard and the API.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStatus {
    /// Callers waiting (not counting those being rung).
    pub waiting: u32,
    /// Callers whose agents are being rung.
    pub ringing: u32,
    /// When the longest-waiting caller entered the queue.
    pub oldest_since: Option<Timestamp>,
    /// Members in each state, indexed like [`AgentState::ALL`].
    pub agents: [u32; 7],
    /// The estimated wait of a caller arriving now.
    pub estimated_wait: Duration,
    /// The recent handle time used for the estimate.
    pub handle_time: Duration,
}

/// Where a call held by the ACD stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallState {
    /// Waiting in its queue, at this position (1 = next).
    Waiting {
        /// 1 for the next caller to be served.
        position: u32,
    },
    /// These agents' phones are ringing for it.
    Ringing {
        /// The agents rung.
        agents: Vec<AgentId>,
    },
    /// An agent answered it.
    Answered {
        /// The agent.
        agent: AgentId,
        /// The caller is on hold.
        held: bool,
    },
}

/// A call the ACD holds, for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStatus {
    /// The call.
    pub call: CallId,
    /// Its queue.
    pub queue: QueueId,
    /// Its priority.
    pub priority: u8,
    /// When it entered the queue.
    pub entered: Timestamp,
    /// Where it stands.
    pub state: CallState,
}

/// An agent's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStatus {
    /// The state.
    pub state: AgentState,
    /// Since when.
    pub since: Timestamp,
    /// The call being rung or handled.
    pub call: Option<CallId>,
    /// The pause reason, while paused.
    pub pause_reason: Option<String>,
    /// Calls answered since the ACD started.
    pub calls_answered: u64,
    /// Consecutive unanswered offers.
    pub no_answers: u32,
}

type WaitKey = (Reverse<u8>, Timestamp, u64);

#[derive(Debug, Clone, Copy)]
struct Membership {
    queue: QueueId,
    slot: u32,
    weight: u32,
    score: u32,
    /// The key the agent was filed under while available.
    key: Key,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    None,
    Pause(String),
    Logout,
}

#[derive(Debug)]
struct Agent {
    name: String,
    state: AgentState,
    since: Timestamp,
    idle_since: Timestamp,
    memberships: Vec<Membership>,
    calls: u64,
    talk_ms: u64,
    no_answers: u32,
    wrap_up: Option<Duration>,
    call: Option<CallId>,
    /// Bumped on each wrap-up so a stale wrap-up timer is ignored.
    wrap_gen: u32,
    wrap_queue: Option<QueueId>,
    /// Talk and hold of the call being wrapped up.
    wrap_handled: Duration,
    pending: Pending,
    pause_reason: Option<String>,
    /// Calls the ACD did not route that the agent's phone is on.
    direct: u32,
}

#[derive(Debug)]
struct Queue {
    cfg: QueueConfig,
    avail: AvailIndex,
    waiting: BTreeMap<WaitKey, CallId>,
    by_age: BTreeSet<(Timestamp, u64)>,
    ringing: u32,
    rr_after: Option<Key>,
    by_state: [u32; 7],
    handle_ms: f64,
}

impl Queue {
    fn staffed(&self) -> u32 {
        self.by_state.iter().sum::<u32>() - self.by_state[state_index(AgentState::LoggedOut)]
    }

    fn serving(&self) -> u32 {
        self.staffed() - self.by_state[state_index(AgentState::Paused)]
    }

    fn estimated_wait(&self, position: u32) -> Duration {
        if !self.avail.is_empty() {
            return Duration::ZERO;
        }
        let ms = f64::from(position) * self.handle_ms / f64::from(self.serving().max(1));
        Duration::from_millis(ms as u64)
    }
}

#[derive(Debug)]
enum Held {
    Waiting,
    Ringing(Vec<AgentId>),
    Answered {
        agent: AgentId,
        at: Timestamp,
        held_since: Option<Timestamp>,
        hold: Duration,
    },
}

#[derive(Debug)]
struct Call {
    caller: u64,
    priority: u8,
    number: Option<NumberId>,
    queue: QueueId,
    entered: Timestamp,
    key: WaitKey,
    state: Held,
    tried: Vec<AgentId>,
    /// Bumped on each queue entry, so timers of an earlier visit are stale.
    visit: u32,
    /// Bumped on each ring, so a stale ring timer is ignored.
    ring: u32,
    /// `max_wait` passed while agents were being rung.
    overdue: bool,
    visited: Vec<QueueId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Ring { call: CallId, ring: u32 },
    MaxWait { call: CallId, visit: u32 },
    Position { call: CallId, visit: u32 },
    Periodic { call: CallId, visit: u32 },
    WrapUp { agent: AgentId, generation: u32 },
}

/// The ACD: feed it [`Input`]s and timeouts, drain [`Output`]s.
#[derive(Debug)]
pub struct Acd {
    agents: Vec<Agent>,
    queues: Vec<Queue>,
    calls: HashMap<CallId, Call>,
    timers: BinaryHeap<Reverse<(Timestamp, u64, Timer)>>,
    seq: u64,
    out: VecDeque<Output>,
    rng: Rng,
    sticky: HashMap<u64, (AgentId, Timestamp)>,
    sticky_order: VecDeque<(Timestamp, u64)>,
    sticky_horizon: Duration,
    max_spill_hops: u8,
}

fn state_index(s: AgentState) -> usize {
    AgentState::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

fn caller_hash(caller: &str) -> u64 {
    let mut h = DefaultHasher::new();
    caller.hash(&mut h);
    h.finish()
}

impl Acd {
    /// An ACD with every agent signed out and no callers.
    pub fn new(config: AcdConfig) -> Result<Acd, ConfigError> {
        let resolved = config.resolve()?;
        let epoch = Timestamp::EPOCH;
        let mut agents: Vec<Agent> = config
            .agents
            .iter()
            .map(|a| Agent {
                name: a.name.clone(),
                state: AgentState::LoggedOut,
                since: epoch,
                idle_since: epoch,
                memberships: Vec::new(),
                calls: 0,
                talk_ms: 0,
                no_answers: 0,
                wrap_up: a.wrap_up,
                call: None,
                wrap_gen: 0,
                wrap_queue: None,
                wrap_handled: Duration::ZERO,
                pending: Pending::None,
                pause_reason: None,
                direct: 0,
            })
            .collect();
        let mut queues = Vec::with_capacity(config.queues.len());
        let mut sticky_horizon = Duration::ZERO;
        for (q, (cfg, members)) in config.queues.into_iter().zip(resolved).enumerate() {
            let avail = match cfg.strategy {
                Strategy::Random => AvailIndex::random(),
                Strategy::WeightedRandom => {
                    AvailIndex::weighted(members.iter().map(|m| m.agent).collect())
                }
                _ => AvailIndex::ordered(),
            };
            for (
                slot,
                ResolvedMember {
                    agent,
                    weight,
                    score,
                },
            ) in members.into_iter().enumerate()
            {
                agents[agent.index()].memberships.push(Membership {
                    queue: QueueId(q as u32),
                    slot: slot as u32,
                    weight,
                    score,
                    key: (0, 0),
                });
            }
            sticky_horizon = sticky_horizon.max(cfg.sticky_window.unwrap_or_default());
            let mut by_state = [0; 7];
            by_state[state_index(AgentState::LoggedOut)] = 0;
            queues.push(Queue {
                handle_ms: cfg.expected_handle_time.as_millis() as f64,
                cfg,
                avail,
                waiting: BTreeMap::new(),
                by_age: BTreeSet::new(),
                ringing: 0,
                rr_after: None,
                by_state,
            });
        }
        for a in &agents {
            for m in &a.memberships {
                queues[m.queue.index()].by_state[state_index(AgentState::LoggedOut)] += 1;
            }
        }
        Ok(Acd {
            agents,
            queues,
            calls: HashMap::new(),
            timers: BinaryHeap::new(),
            seq: 0,
            out: VecDeque::new(),
            rng: Rng::new(config.seed),
            sticky: HashMap::new(),
            sticky_order: VecDeque::new(),
            sticky_horizon,
            max_spill_hops: if config.max_spill_hops == 0 {
                3
            } else {
                config.max_spill_hops
            },
        })
    }

    /// The queue with this name.
    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queues
            .iter()
            .position(|q| q.cfg.name == name)
            .map(|i| QueueId(i as u32))
    }

    /// The agent with this name.
    pub fn agent_id(&self, name: &str) -> Option<AgentId> {
        self.agents
            .iter()
            .position(|a| a.name == name)
            .map(|i| AgentId(i as u32))
    }

    /// A queue's configuration.
    pub fn queue_config(&self, queue: QueueId) -> Option<&QueueConfig> {
        self.queues.get(queue.index()).map(|q| &q.cfg)
    }

    /// An agent's name.
    pub fn agent_name(&self, agent: AgentId) -> Option<&str> {
        self.agents.get(agent.index()).map(|a| a.name.as_str())
    }

    /// Number of queues and agents.
    pub fn len(&self) -> (usize, usize) {
        (self.queues.len(), self.agents.len())
    }

    /// Calls the ACD holds (waiting, ringing or answered).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// A queue's live state at `now`.
    pub fn queue_status(&self, queue: QueueId) -> Option<QueueStatus> {
        let q = self.queues.get(queue.index())?;
        Some(QueueStatus {
            waiting: q.waiting.len() as u32,
            ringing: q.ringing,
            oldest_since: q.by_age.first().map(|(t, _)| *t),
            agents: q.by_state,
            estimated_wait: q.estimated_wait(q.waiting.len() as u32 + 1),
            handle_time: Duration::from_millis(q.handle_ms as u64),
        })
    }

    /// An agent's live state.
    pub fn agent_status(&self, agent: AgentId) -> Option<AgentStatus> {
        let a = self.agents.get(agent.index())?;
        Some(AgentStatus {
            state: a.state,
            since: a.since,
            call: a.call,
            pause_reason: a.pause_reason.clone(),
            calls_answered: a.calls,
            no_answers: a.no_answers,
        })
    }

    /// The agents serving a queue: its listed members and, for a queue
    /// defined by required skills, every agent who has them. O(agents).
    pub fn queue_members(&self, queue: QueueId) -> Vec<AgentId> {
        self.agents
            .iter()
            .enumerate()
            .filter(|(_, a)| a.memberships.iter().any(|m| m.queue == queue))
            .map(|(i, _)| AgentId(i as u32))
            .collect()
    }

    /// The queues an agent is a member of.
    pub fn agent_queues(&self, agent: AgentId) -> Vec<QueueId> {
        self.agents
            .get(agent.index())
            .map(|a| a.memberships.iter().map(|m| m.queue).collect())
            .unwrap_or_default()
    }

    /// Every call the ACD holds, queue by queue, waiting callers in the
    /// order they will be served. O(calls).
    pub fn call_list(&self) -> Vec<CallStatus> {
        let mut out = Vec::with_capacity(self.calls.len());
        for q in &self.queues {
            for (i, call) in q.waiting.values().enumerate() {
                if let Some(c) = self.calls.get(call) {
                    out.push(CallStatus {
                        call: *call,
                        queue: c.queue,
                        priority: c.priority,
                        entered: c.entered,
                        state: CallState::Waiting {
                            position: i as u32 + 1,
                        },
                    });
                }
            }
        }
        let mut others: Vec<CallStatus> = self
            .calls
            .iter()
            .filter_map(|(id, c)| {
                let state = match &c.state {
                    Held::Waiting => return None,
                    Held::Ringing(agents) => CallState::Ringing {
                        agents: agents.clone(),
                    },
                    Held::Answered {
                        agent, held_since, ..
                    } => CallState::Answered {
                        agent: *agent,
                        held: held_since.is_some(),
                    },
                };
                Some(CallStatus {
                    call: *id,
                    queue: c.queue,
                    priority: c.priority,
                    entered: c.entered,
                    state,
                })
            })
            .collect();
        others.sort_by_key(|c| c.call);
        out.extend(others);
        out
    }

    /// A waiting caller's position (1 = next) in its queue. O(position).
    pub fn position(&self, call: CallId) -> Option<u32> {
        let c = self.calls.get(&call)?;
        if !matches!(c.state, Held::Waiting) {
            return None;
        }
        let q = &self.queues[c.queue.index()];
        Some(q.waiting.range(..c.key).count() as u32 + 1)
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest timer (it may turn out to have nothing to do).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Runs every timer due at or before `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some(Reverse((at, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, timer))) = self.timers.pop() else {
                break;
            };
            self.fire(at.max(Timestamp::EPOCH), timer);
        }
    }

    /// Handles one input at `now`.
    pub fn handle_input(&mut self, now: Timestamp, input: Input<'_>) -> Result<(), AcdError> {
        match input {
            Input::Enqueue {
                call,
                queue,
                caller,
                priority,
                number,
            } => self.enqueue(now, call, queue, caller, priority, number),
            Input::AgentAnswered { call, agent } => self.answered(now, call, agent),
            Input::AgentDeclined { call, agent } => {
                self.check_ringing(call, agent)?;
                self.ring_failed(now, call, &[agent]);
                Ok(())
            }
            Input::Hangup { call } => self.hangup(now, call, false),
            Input::Transferred { call } => self.hangup(now, call, true),
            Input::Hold { call } => self.hold(now, call, true),
            Input::Resume { call } => self.hold(now, call, false),
            Input::Digit { call, digit } => self.digit(now, call, digit),
            Input::Login { agent } => self.login(now, agent),
            Input::Logout { agent } => self.logout(now, agent),
            Input::Pause { agent, reason } => self.pause(now, agent, reason),
            Input::Unpause { agent } => self.unpause(now, agent),
            Input::Ready { agent } => {
                let a = self.agent(agent)?;
                if a.state != AgentState::WrapUp {
                    return Err(AcdError::AgentState {
                        agent,
                        state: a.state,
                    });
                }
                self.end_wrap_up(now, agent);
                Ok(())
            }
            Input::DirectCall { agent, active } => self.direct_call(now, agent, active),
        }
    }

    fn direct_call(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        active: bool,
    ) -> Result<(), AcdError> {
        self.agent(agent)?;
        let a = &mut self.agents[agent.index()];
        if active {
            a.direct += 1;
            if a.state == AgentState::Available {
                self.set_state(now, agent, AgentState::OnCall);
            }
            return Ok(());
        }
        if a.direct == 0 {
            return Ok(());
        }
        a.direct -= 1;
        // Free again if nothing else (an ACD call, wrap-up) holds it.
        if a.direct == 0 && a.state == AgentState::OnCall && a.call.is_none() {
            self.after_work(now, agent);
        }
        Ok(())
    }

    fn agent(&self, agent: AgentId) -> Result<&Agent, AcdError> {
        self.agents
            .get(agent.index())
            .ok_or(AcdError::UnknownAgent(agent))
    }

    fn timer(&mut self, at: Timestamp, timer: Timer) {
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, timer)));
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    // ---- callers ----

    fn enqueue(
        &mut self,
        now: Timestamp,
        call: CallId,
        queue: QueueId,
        caller: &str,
        priority: u8,
        number: Option<NumberId>,
    ) -> Result<(), AcdError> {
        if queue.index() >= self.queues.len() {
            return Err(AcdError::UnknownQueue(queue));
        }
        if self.calls.contains_key(&call) {
            return Err(AcdError::DuplicateCall(call));
        }
        self.calls.insert(
            call,
            Call {
                caller: caller_hash(caller),
                priority,
                number,
                queue,
                entered: now,
                key: (Reverse(priority), now, 0),
                state: Held::Waiting,
                tried: Vec::new(),
                visit: 0,
                ring: 0,
                overdue: false,
                visited: Vec::new(),
            },
        );
        self.enter_queue(now, call, queue);
        Ok(())
    }

    /// Puts a held call into `queue`: offer event, arrival spill checks,
    /// then the waiting line and its timers, then distribution.
    fn enter_queue(&mut self, now: Timestamp, call: CallId, queue: QueueId) {
        self.seq += 1;
        let seq = self.seq;
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.queue = queue;
        c.entered = now;
        c.key = (Reverse(c.priority), now, seq);
        c.state = Held::Waiting;
        c.tried.clear();
        c.visit += 1;
        c.overdue = false;
        c.visited.push(queue);
        let (visit, priority, number) = (c.visit, c.priority, c.number);
        self.event(Event::CallQueued {
            at: now,
            call,
            queue,
            number,
            priority,
        });
        let q = &self.queues[queue.index()];
        let spill = &q.cfg.spillover;
        let reason = if spill.when_no_agents && q.staffed() == 0 {
            Some(SpillReason::NoAgents)
        } else if spill
            .max_length
            .is_some_and(|m| q.waiting.len() as u32 >= m)
        {
            Some(SpillReason::QueueFull)
        } else if spill
            .max_estimated_wait
            .is_some_and(|m| q.estimated_wait(q.waiting.len() as u32 + 1) > m)
        {
            Some(SpillReason::EstimatedWait)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.spill(now, call, reason);
            return;
        }
        let cfg = &q.cfg;
        let timers = [
            cfg.spillover
                .max_wait
                .map(|d| (d, Timer::MaxWait { call, visit })),
            cfg.announcements
                .position_every
                .map(|d| (d, Timer::Position { call, visit })),
            cfg.announcements
                .periodic_every
                .map(|d| (d, Timer::Periodic { call, visit })),
        ];
        for (d, t) in timers.into_iter().flatten() {
            self.timer(now + d, t);
        }
        let key = (Reverse(priority), now, seq);
        let q = &mut self.queues[queue.index()];
        q.waiting.insert(key, call);
        q.by_age.insert((now, seq));
        self.dispatch_queue(now, queue);
    }

    /// Takes a waiting call out of its queue's line.
    fn unlink_waiting(&mut self, call: CallId) {
        if let Some(c) = self.calls.get(&call)
            && matches!(c.state, Held::Waiting)
        {
            let q = &mut self.queues[c.queue.index()];
            q.waiting.remove(&c.key);
            q.by_age.remove(&(c.key.1, c.key.2));
        }
    }

    /// Stops ringing every agent rung for the call and makes them
    /// available again (after the call has left the ringing state).
    fn cancel_rings(&mut self, now: Timestamp, call: CallId, agents: Vec<AgentId>) {
        for agent in agents {
            self.out.push_back(Output::CancelRing { call, agent });
            self.agents[agent.index()].call = None;
            self.make_available(now, agent);
        }
    }

    /// Moves the call out of Ringing (back to Waiting, not yet in the line)
    /// and returns who was being rung.
    fn stop_ringing(&mut self, call: CallId) -> Vec<AgentId> {
        let Some(c) = self.calls.get_mut(&call) else {
            return Vec::new();
        };
        match std::mem::replace(&mut c.state, Held::Waiting) {
            Held::Ringing(agents) => {
                self.queues[c.queue.index()].ringing -= 1;
                // The line entry was removed when ringing started; re-file
                // so unlink_waiting/requeue see a consistent state.
                agents
            }
            other => {
                c.state = other;
                Vec::new()
            }
        }
    }

    fn spill(&mut self, now: Timestamp, call: CallId, reason: SpillReason) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let queue = c.queue;
        let waited = now.saturating_since(c.entered);
        let cfg = &self.queues[queue.index()].cfg;
        let to = match reason {
            SpillReason::CallerExit => cfg.exit.as_ref().map(|(_, o)| o.clone()),
            _ => cfg.spillover.to.clone(),
        }
        .unwrap_or(Overflow::Hangup);
        self.unlink_waiting(call);
        let rung = self.stop_ringing(call);
        self.cancel_rings(now, call, rung);
        self.event(Event::CallSpilled {
            at: now,
            call,
            queue,
            reason,
            waited,
            to: to.clone(),
        });
        if let Overflow::Queue(next) = to {
            let c = &self.calls[&call];
            let looped =
                c.visited.contains(&next) || c.visited.len() > usize::from(self.max_spill_hops);
            if !looped {
                self.enter_queue(now, call, next);
                return;
            }
            self.out.push_back(Output::Spill {
                call,
                queue,
                reason,
                to: Overflow::Hangup,
            });
        } else {
            self.out.push_back(Output::Spill {
                call,
                queue,
                reason,
                to,
            });
        }
        self.calls.remove(&call);
    }

    fn hangup(&mut self, now: Timestamp, call: CallId, transferred: bool) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        match c.state {
            Held::Answered { .. } => {
                self.end_call(now, call, transferred);
                Ok(())
            }
            _ if transferred => Err(AcdError::NotAnswered(call)),
            _ => {
                let (queue, waited) = (c.queue, now.saturating_since(c.entered));
                self.unlink_waiting(call);
                let rung = self.stop_ringing(call);
                self.calls.remove(&call);
                self.cancel_rings(now, call, rung);
                self.event(Event::CallAbandoned {
                    at: now,
                    call,
                    queue,
                    waited,
                });
                Ok(())
            }
        }
    }

    fn hold(&mut self, now: Timestamp, call: CallId, on: bool) -> Result<(), AcdError> {
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(AcdError::UnknownCall(call))?;
        let Held::Answered {
            agent,
            held_since,
            hold,
            ..
        } = &mut c.state
        else {
            return Err(AcdError::NotAnswered(call));
        };
        let agent = *agent;
        match (on, *held_since) {
            (true, None) => {
                *held_since = Some(now);
                self.set_state(now, agent, AgentState::OnHold);
            }
            (false, Some(since)) => {
                *hold += now.saturating_since(since);
                *held_since = None;
                self.set_state(now, agent, AgentState::OnCall);
            }
            _ => {}
        }
        Ok(())
    }

    fn digit(&mut self, now: Timestamp, call: CallId, digit: char) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        if matches!(c.state, Held::Answered { .. }) {
            return Ok(());
        }
        let exit = self.queues[c.queue.index()].cfg.exit.as_ref();
        if exit.is_some_and(|(d, _)| *d == digit) {
            self.spill(now, call, SpillReason::CallerExit);
        }
        Ok(())
    }

    // ---- distribution ----

    /// Offers waiting callers of `queue` to its available members until
    /// one of the two runs out.
    fn dispatch_queue(&mut self, now: Timestamp, queue: QueueId) {
        loop {
            let q = &self.queues[queue.index()];
            let Some((_, &call)) = q.waiting.first_key_value() else {
                return;
            };
            if q.avail.is_empty() {
                return;
            }
            let agents = if q.cfg.strategy == Strategy::RingAll {
                q.avail.all()
            } else {
                match self.pick(now, queue, call) {
                    Some(a) => vec![a],
                    None => return,
                }
            };
            self.ring(now, call, agents);
        }
    }

    /// The agent to offer `call` to, by sticky memory then strategy.
    fn pick(&mut self, now: Timestamp, queue: QueueId, call: CallId) -> Option<AgentId> {
        let c = &self.calls[&call];
        let q = &self.queues[queue.index()];
        if let Some(window) = q.cfg.sticky_window
            && let Some(&(agent, at)) = self.sticky.get(&c.caller)
        {
            let a = &self.agents[agent.index()];
            if now.saturating_since(at) <= window
                && a.state == AgentState::Available
                && !c.tried.contains(&agent)
                && a.memberships.iter().any(|m| m.queue == queue)
            {
                return Some(agent);
            }
        }
        let after = if q.cfg.strategy == Strategy::RoundRobin {
            q.rr_after
        } else {
            None
        };
        let tried = &c.tried;
        let picked = q.avail.pick(&mut self.rng, after, |a| tried.contains(&a));
        match picked {
            Some(a) => Some(a),
            None => {
                // Every available member was tried: start a new round.
                let c = self.calls.get_mut(&call)?;
                c.tried.clear();
                self.queues[queue.index()]
                    .avail
                    .pick(&mut self.rng, after, |_| false)
            }
        }
    }

    /// Rings `agents` for a waiting call.
    fn ring(&mut self, now: Timestamp, call: CallId, agents: Vec<AgentId>) {
        self.unlink_waiting(call);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let queue = c.queue;
        c.ring += 1;
        let ring = c.ring;
        c.state = Held::Ringing(agents.clone());
        for &agent in &agents {
            if !c.tried.contains(&agent) {
                c.tried.push(agent);
            }
        }
        let q = &mut self.queues[queue.index()];
        q.ringing += 1;
        let timeout = q.cfg.ring_timeout;
        if q.cfg.strategy == Strategy::RoundRobin
            && let Some(m) = agents.first().and_then(|a| {
                self.agents[a.index()]
                    .memberships
                    .iter()
                    .find(|m| m.queue == queue)
            })
        {
            q.rr_after = Some((u64::from(m.slot), 0));
        }
        for &agent in &agents {
            self.unfile(agent);
            self.agents[agent.index()].call = Some(call);
            self.set_state(now, agent, AgentState::Ringing);
        }
        self.timer(now + timeout, Timer::Ring { call, ring });
        self.out.push_back(Output::Ring {
            call,
            queue,
            agents,
        });
    }

    fn check_ringing(&self, call: CallId, agent: AgentId) -> Result<(), AcdError> {
        self.agent(agent)?;
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        match &c.state {
            Held::Ringing(agents) if agents.contains(&agent) => Ok(()),
            _ => Err(AcdError::NotRinging { call, agent }),
        }
    }

    fn answered(&mut self, now: Timestamp, call: CallId, agent: AgentId) -> Result<(), AcdError> {
        self.check_ringing(call, agent)?;
        let others: Vec<AgentId> = self
            .stop_ringing(call)
            .into_iter()
            .filter(|a| *a != agent)
            .collect();
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(AcdError::UnknownCall(call))?;
        c.state = Held::Answered {
            agent,
            at: now,
            held_since: None,
            hold: Duration::ZERO,
        };
        let (queue, waited) = (c.queue, now.saturating_since(c.entered));
        let a = &mut self.agents[agent.index()];
        a.no_answers = 0;
        a.calls += 1;
        self.set_state(now, agent, AgentState::OnCall);
        self.event(Event::CallAnswered {
            at: now,
            call,
            queue,
            agent,
            waited,
        });
        self.cancel_rings(now, call, others);
        Ok(())
    }

    /// Agents in `failed` did not take the ringing call.
    fn ring_failed(&mut self, now: Timestamp, call: CallId, failed: &[AgentId]) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let queue = c.queue;
        let Held::Ringing(agents) = &mut c.state else {
            return;
        };
        agents.retain(|a| !failed.contains(a));
        let still_ringing = !agents.is_empty();
        if !still_ringing {
            c.state = Held::Waiting;
            let key = c.key;
            let overdue = c.overdue;
            let q = &mut self.queues[queue.index()];
            q.ringing -= 1;
            q.waiting.insert(key, call);
            q.by_age.insert((key.1, key.2));
            if overdue {
                self.spill(now, call, SpillReason::MaxWait);
            } else {
                self.dispatch_queue(now, queue);
            }
        }
        for &agent in failed {
            self.out.push_back(Output::CancelRing { call, agent });
            self.event(Event::RingNoAnswer {
                at: now,
                call,
                queue,
                agent,
            });
            let a = &mut self.agents[agent.index()];
            a.call = None;
            a.no_answers += 1;
            let limit = self.queues[queue.index()].cfg.auto_pause_after;
            if limit.is_some_and(|n| a.no_answers >= n) {
                self.enter_pause(now, agent, "no-answer".to_owned());
            } else {
                self.after_work(now, agent);
            }
        }
    }

    fn end_call(&mut self, now: Timestamp, call: CallId, transferred: bool) {
        let Some(c) = self.calls.remove(&call) else {
            return;
        };
        let Held::Answered {
            agent,
            at,
            held_since,
            mut hold,
        } = c.state
        else {
            return;
        };
        if let Some(since) = held_since {
            hold += now.saturating_since(since);
        }
        let talk = now.saturating_since(at).saturating_sub(hold);
        self.event(Event::CallEnded {
            at: now,
            call,
            queue: c.queue,
            agent,
            talk,
            hold,
            transferred,
        });
        // Sticky memory: this caller last spoke to this agent.
        if self.sticky_horizon > Duration::ZERO {
            self.sticky.insert(c.caller, (agent, now));
            self.sticky_order.push_back((now, c.caller));
            self.prune_sticky(now);
        }
        let a = &mut self.agents[agent.index()];
        a.call = None;
        a.talk_ms += talk.as_millis() as u64;
        let wrap = a
            .wrap_up
            .unwrap_or(self.queues[c.queue.index()].cfg.wrap_up);
        let handled = talk + hold;
        if wrap.is_zero() {
            self.learn_handle_time(c.queue, handled);
            self.after_work(now, agent);
        } else {
            a.wrap_gen += 1;
            a.wrap_queue = Some(c.queue);
            let generation = a.wrap_gen;
            // The handle time is learnt when the wrap-up ends; until then
            // remember the talk and hold part.
            a.wrap_handled = handled;
            self.set_state(now, agent, AgentState::WrapUp);
            self.timer(now + wrap, Timer::WrapUp { agent, generation });
        }
    }
}

impl Acd {
    // ---- agents ----

    /// The ACD learns a queue's recent handle time as an exponentially
    /// weighted moving average (weight 1/16 per call: about the last
    /// half-hour of calls at a busy queue).
    fn learn_handle_time(&mut self, queue: QueueId, handled: Duration) {
        let q = &mut self.queues[queue.index()];
        q.handle_ms += (handled.as_millis() as f64 - q.handle_ms) / 16.0;
    }

    fn end_wrap_up(&mut self, now: Timestamp, agent: AgentId) {
        let a = &mut self.agents[agent.index()];
        a.wrap_gen += 1;
        let duration = now.saturating_since(a.since);
        let handled = a.wrap_handled + duration;
        if let Some(queue) = a.wrap_queue.take() {
            self.event(Event::WrapUpEnded {
                at: now,
                agent,
                queue,
                duration,
            });
            self.learn_handle_time(queue, handled);
        }
        self.after_work(now, agent);
    }

    /// The agent is free of its call (and wrap-up): apply a pause or
    /// logout asked for meanwhile, or make it available.
    fn after_work(&mut self, now: Timestamp, agent: AgentId) {
        match std::mem::replace(&mut self.agents[agent.index()].pending, Pending::None) {
            Pending::None => self.make_available(now, agent),
            Pending::Pause(reason) => self.enter_pause(now, agent, reason),
            Pending::Logout => self.sign_out(now, agent),
        }
    }

    /// Makes a signed-in agent available: it takes the best waiting caller
    /// over all its queues, or is filed in each queue's index.
    fn make_available(&mut self, now: Timestamp, agent: AgentId) {
        // Still on a call the ACD did not route: on a call until it ends.
        if self.agents[agent.index()].direct > 0 {
            self.set_state(now, agent, AgentState::OnCall);
            return;
        }
        let a = &self.agents[agent.index()];
        // Highest priority, then longest waiting, over the agent's queues.
        let best = a
            .memberships
            .iter()
            .filter_map(|m| self.queues[m.queue.index()].waiting.first_key_value())
            .min_by_key(|(key, _)| **key)
            .map(|(_, call)| *call);
        let was_available = a.state == AgentState::Available;
        if !was_available {
            let a = &mut self.agents[agent.index()];
            a.idle_since = now;
            a.pause_reason = None;
            self.set_state(now, agent, AgentState::Available);
        }
        match best {
            Some(call) => {
                if was_available {
                    self.unfile(agent);
                }
                self.ring(now, call, vec![agent]);
            }
            None if !was_available => self.file(agent),
            None => {}
        }
    }

    /// Files an available agent in every queue's index under the key its
    /// queue's strategy ranks by.
    fn file(&mut self, agent: AgentId) {
        let a = &mut self.agents[agent.index()];
        let idle = a.idle_since.as_millis();
        for m in &mut a.memberships {
            let q = &mut self.queues[m.queue.index()];
            m.key = match q.cfg.strategy {
                Strategy::RingAll | Strategy::Linear | Strategy::RoundRobin => {
                    (u64::from(m.slot), 0)
                }
                Strategy::LongestIdle | Strategy::Random | Strategy::WeightedRandom => (idle, 0),
                Strategy::FewestCalls => (a.calls, idle),
                Strategy::LeastTalkTime => (a.talk_ms, idle),
                Strategy::Skills => (u64::from(u32::MAX - m.score), idle),
            };
            q.avail.insert(agent, m.key, m.slot, m.weight);
        }
    }

    /// Takes an agent out of every queue's index.
    fn unfile(&mut self, agent: AgentId) {
        let a = &self.agents[agent.index()];
        for m in &a.memberships {
            self.queues[m.queue.index()]
                .avail
                .remove(agent, m.key, m.slot, m.weight);
        }
    }

    fn set_state(&mut self, now: Timestamp, agent: AgentId, to: AgentState) {
        let a = &mut self.agents[agent.index()];
        let from = a.state;
        if from == to {
            return;
        }
        if from == AgentState::Available {
            // Leaving Available always goes through here; keep the
            // indexes in step.
            for m in &a.memberships {
                self.queues[m.queue.index()]
                    .avail
                    .remove(agent, m.key, m.slot, m.weight);
            }
        }
        a.state = to;
        a.since = now;
        for m in &a.memberships {
            let q = &mut self.queues[m.queue.index()];
            q.by_state[state_index(from)] -= 1;
            q.by_state[state_index(to)] += 1;
        }
        self.event(Event::AgentStateChanged {
            at: now,
            agent,
            from,
            to,
        });
    }

    fn enter_pause(&mut self, now: Timestamp, agent: AgentId, reason: String) {
        self.agents[agent.index()].pause_reason = Some(reason);
        self.set_state(now, agent, AgentState::Paused);
    }

    fn sign_out(&mut self, now: Timestamp, agent: AgentId) {
        let a = &mut self.agents[agent.index()];
        a.pause_reason = None;
        a.wrap_gen += 1;
        a.wrap_queue = None;
        self.set_state(now, agent, AgentState::LoggedOut);
        // Queues left without anyone signed in spill their callers if
        // configured to.
        let queues: Vec<QueueId> = self.agents[agent.index()]
            .memberships
            .iter()
            .map(|m| m.queue)
            .filter(|q| {
                let q = &self.queues[q.index()];
                q.cfg.spillover.when_no_agents && q.staffed() == 0 && !q.waiting.is_empty()
            })
            .collect();
        for queue in queues {
            let calls: Vec<CallId> = self.queues[queue.index()]
                .waiting
                .values()
                .copied()
                .collect();
            for call in calls {
                self.spill(now, call, SpillReason::NoAgents);
            }
        }
    }

    fn login(&mut self, now: Timestamp, agent: AgentId) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        match a.state {
            AgentState::LoggedOut => {
                self.agents[agent.index()].no_answers = 0;
                self.make_available(now, agent);
            }
            // Signing in again while signed in cancels a pending logout.
            _ => self.agents[agent.index()].pending = Pending::None,
        }
        Ok(())
    }

    fn logout(&mut self, now: Timestamp, agent: AgentId) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        match a.state {
            AgentState::LoggedOut => {}
            AgentState::Ringing => {
                let call = a.call;
                self.agents[agent.index()].pending = Pending::Logout;
                if let Some(call) = call {
                    self.ring_failed(now, call, &[agent]);
                }
                // ring_failed may have paused it instead; sign out anyway.
                if self.agents[agent.index()].state != AgentState::LoggedOut {
                    self.agents[agent.index()].pending = Pending::None;
                    self.sign_out(now, agent);
                }
            }
            AgentState::OnCall | AgentState::OnHold => {
                self.agents[agent.index()].pending = Pending::Logout;
            }
            AgentState::Available | AgentState::WrapUp | AgentState::Paused => {
                if a.state == AgentState::WrapUp {
                    self.end_wrap_up_quietly(now, agent);
                }
                self.sign_out(now, agent);
            }
        }
        Ok(())
    }

    /// Ends a wrap-up because the agent signs out: the wrap-up is reported
    /// and learnt, but the agent is not made available.
    fn end_wrap_up_quietly(&mut self, now: Timestamp, agent: AgentId) {
        let a = &mut self.agents[agent.index()];
        a.wrap_gen += 1;
        let duration = now.saturating_since(a.since);
        let handled = a.wrap_handled + duration;
        if let Some(queue) = a.wrap_queue.take() {
            self.event(Event::WrapUpEnded {
                at: now,
                agent,
                queue,
                duration,
            });
            self.learn_handle_time(queue, handled);
        }
    }

    fn pause(&mut self, now: Timestamp, agent: AgentId, reason: &str) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        let reason = reason.to_owned();
        match a.state {
            AgentState::LoggedOut => {
                return Err(AcdError::AgentState {
                    agent,
                    state: a.state,
                });
            }
            AgentState::Available => self.enter_pause(now, agent, reason),
            AgentState::Paused => self.agents[agent.index()].pause_reason = Some(reason),
            AgentState::Ringing => {
                let call = a.call;
                self.agents[agent.index()].pending = Pending::Pause(reason.clone());
                if let Some(call) = call {
                    self.ring_failed(now, call, &[agent]);
                }
                if self.agents[agent.index()].state != AgentState::Paused {
                    self.agents[agent.index()].pending = Pending::None;
                    self.enter_pause(now, agent, reason);
                }
            }
            AgentState::OnCall | AgentState::OnHold | AgentState::WrapUp => {
                self.agents[agent.index()].pending = Pending::Pause(reason);
            }
        }
        Ok(())
    }

    fn unpause(&mut self, now: Timestamp, agent: AgentId) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        match a.state {
            AgentState::Paused => {
                self.agents[agent.index()].no_answers = 0;
                self.make_available(now, agent);
                Ok(())
            }
            AgentState::OnCall | AgentState::OnHold | AgentState::WrapUp => {
                self.agents[agent.index()].pending = Pending::None;
                Ok(())
            }
            AgentState::Available => Ok(()),
            state => Err(AcdError::AgentState { agent, state }),
        }
    }

    fn prune_sticky(&mut self, now: Timestamp) {
        while let Some(&(at, caller)) = self.sticky_order.front() {
            if now.saturating_since(at) <= self.sticky_horizon {
                break;
            }
            self.sticky_order.pop_front();
            if self.sticky.get(&caller).is_some_and(|(_, t)| *t == at) {
                self.sticky.remove(&caller);
            }
        }
    }

    // ---- timers ----

    fn fire(&mut self, now: Timestamp, timer: Timer) {
        match timer {
            Timer::Ring { call, ring } => {
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                if c.ring != ring {
                    return;
                }
                if let Held::Ringing(agents) = &c.state {
                    let agents = agents.clone();
                    self.ring_failed(now, call, &agents);
                }
            }
            Timer::MaxWait { call, visit } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.visit != visit {
                    return;
                }
                match c.state {
                    Held::Waiting => self.spill(now, call, SpillReason::MaxWait),
                    Held::Ringing(_) => c.overdue = true,
                    Held::Answered { .. } => {}
                }
            }
            Timer::Position { call, visit } | Timer::Periodic { call, visit } => {
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                if c.visit != visit || matches!(c.state, Held::Answered { .. }) {
                    return;
                }
                let queue = c.queue;
                let a = &self.queues[queue.index()].cfg.announcements;
                let every = match timer {
                    Timer::Position { .. } => a.position_every,
                    _ => a.periodic_every,
                };
                let Some(every) = every else {
                    return;
                };
                if matches!(c.state, Held::Waiting) {
                    let out = match timer {
                        Timer::Position { .. } => {
                            let position = self.position(call).unwrap_or(1);
                            Output::Announce {
                                call,
                                queue,
                                position,
                                estimated_wait: self.queues[queue.index()].estimated_wait(position),
                            }
                        }
                        _ => Output::PeriodicAnnouncement { call, queue },
                    };
                    self.out.push_back(out);
                }
                self.timer(now + every, timer);
            }
            Timer::WrapUp { agent, generation } => {
                let a = &self.agents[agent.index()];
                if a.wrap_gen == generation && a.state == AgentState::WrapUp {
                    self.end_wrap_up(now, agent);
                }
            }
        }
    }
}
