//! What the ACD reports: [`Event`]s for KPIs and the wallboard, and the
//! agent and spillover vocabulary they use.

use std::time::Duration;

use tandem_call::CallId;

use crate::ids::{AgentId, NumberId, QueueId};
use crate::time::Timestamp;

/// An agent's state (CALLCENTER.md, "Agent states").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// Not signed in; takes no calls and is not staffed.
    LoggedOut,
    /// Signed in, idle and ready for a call.
    Available,
    /// A call is being offered to the agent's phone.
    Ringing,
    /// Talking to a caller.
    OnCall,
    /// On a call with the caller on hold.
    OnHold,
    /// After-call work: signed in, not ready until it ends.
    WrapUp,
    /// Signed in and not ready, for a reason code.
    Paused,
}

impl AgentState {
    /// Every state, for exporting gauges by state.
    pub const ALL: [AgentState; 7] = [
        AgentState::LoggedOut,
        AgentState::Available,
        AgentState::Ringing,
        AgentState::OnCall,
        AgentState::OnHold,
        AgentState::WrapUp,
        AgentState::Paused,
    ];

    /// The label used in metrics, the API and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Available => "available",
            AgentState::Ringing => "ringing",
            AgentState::OnCall => "on_call",
            AgentState::OnHold => "on_hold",
            AgentState::WrapUp => "wrap_up",
            AgentState::Paused => "paused",
        }
    }

    /// Signed in (counts towards staffed time and staffed agents).
    pub fn is_staffed(self) -> bool {
        self != AgentState::LoggedOut
    }
}

/// Why a caller left a queue for its overflow destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpillReason {
    /// The queue already held its maximum number of callers.
    QueueFull,
    /// The estimated wait on arrival was over the threshold.
    EstimatedWait,
    /// The caller waited longer than the queue allows.
    MaxWait,
    /// No agent of the queue was signed in.
    NoAgents,
    /// The caller pressed the queue's exit digit.
    CallerExit,
}

impl SpillReason {
    /// The label used in metrics and records.
    pub fn as_str(self) -> &'static str {
        match self {
            SpillReason::QueueFull => "queue_full",
            SpillReason::EstimatedWait => "estimated_wait",
            SpillReason::MaxWait => "max_wait",
            SpillReason::NoAgents => "no_agents",
            SpillReason::CallerExit => "caller_exit",
        }
    }
}

/// Where a caller goes when a queue spills (or the caller leaves it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Another queue (the ACD moves the caller itself, with a loop guard).
    Queue(QueueId),
    /// A telephone number (another site's 400 number, a mobile, …).
    Number(String),
    /// A voicemail box.
    Voicemail(String),
    /// A named SIP trunk.
    Trunk(String),
    /// A callback request is recorded and the call released.
    Callback,
    /// Release the call (busy treatment).
    Hangup,
}

/// Something that happened in the ACD, with the time it happened. The
/// KPI engine and the wallboard are built from these alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A call entered a queue (it was offered to the queue). A call moved
    /// on to another queue by spillover is offered to that queue again.
    CallQueued {
        /// When.
        at: Timestamp,
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueId,
        /// The 400 number it came in on, if any.
        number: Option<NumberId>,
        /// Its priority (higher first).
        priority: u8,
    },
    /// An agent answered a queued call.
    CallAnswered {
        /// When.
        at: Timestamp,
        /// The call.
        call: CallId,
        /// The queue it was answered from.
        queue: QueueId,
        /// The agent.
        agent: AgentId,
        /// Time in this queue before the answer.
        waited: Duration,
    },
    /// The caller hung up while queued.
    CallAbandoned {
        /// When.
        at: Timestamp,
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueId,
        /// Time in the queue before hanging up.
        waited: Duration,
    },
    /// The call left the queue for its overflow destination.
    CallSpilled {
        /// When.
        at: Timestamp,
        /// The call.
        call: CallId,
        /// The queue it left.
        queue: QueueId,
        /// Why.
        reason: SpillReason,
        /// Time in the queue before leaving.
        waited: Duration,
        /// Where it went.
        to: Overflow,
    },
    /// An agent was rung for a call and did not answer in time (or
    /// rejected it).
    RingNoAnswer {
        /// When.
        at: Timestamp,
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueId,
        /// The agent.
        agent: AgentId,
    },
    /// An answered call ended (either side hung up, or the agent
    /// transferred it away).
    CallEnded {
        /// When.
        at: Timestamp,
        /// The call.
        call: CallId,
        /// The queue it was answered from.
        queue: QueueId,
        /// The agent.
        agent: AgentId,
        /// Talk time (answer to end, minus hold).
        talk: Duration,
        /// Time the caller spent on hold.
        hold: Duration,
        /// The agent transferred the call to someone else.
        transferred: bool,
    },
    /// An agent finished after-call work for a call of a queue.
    WrapUpEnded {
        /// When.
        at: Timestamp,
        /// The agent.
        agent: AgentId,
        /// The queue whose call it followed.
        queue: QueueId,
        /// How long the wrap-up lasted.
        duration: Duration,
    },
    /// An agent changed state.
    AgentStateChanged {
        /// When.
        at: Timestamp,
        /// The agent.
        agent: AgentId,
        /// The state it left.
        from: AgentState,
        /// The state it entered.
        to: AgentState,
    },
}

impl Event {
    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            Event::CallQueued { at, .. }
            | Event::CallAnswered { at, .. }
            | Event::CallAbandoned { at, .. }
            | Event::CallSpilled { at, .. }
            | Event::RingNoAnswer { at, .. }
            | Event::CallEnded { at, .. }
            | Event::WrapUpEnded { at, .. }
            | Event::AgentStateChanged { at, .. } => *at,
        }
    }
}
