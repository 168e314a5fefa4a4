//! `[callcenter]`, `[[agent]]`, `[[queue]]` and `[[number]]`: the
//! call-center services of `tandem run` (400 numbers, their number plans,
//! ACD queues and agents).
//!
//! Validated into the plain types of `tandem-callcenter` ([`AcdConfig`],
//! [`PlanConfig`]) plus what only the gateway needs (the SIP contact of
//! each agent, prompts). Each agent's phone becomes an internal trunk named
//! `agent:NAME` in [`Config::trunks`](super::Config::trunks), so that calls
//! to agents use the B2BUA's outbound leg (digest, session timers, 100rel,
//! codecs) unchanged.

use std::path::PathBuf;

use tandem_callcenter::acd::AcdConfig;
use tandem_callcenter::kpi::QueueKpiConfig;
use tandem_callcenter::plan::PlanConfig;

use super::TrunkId;

/// The call-center part of the configuration. Empty (no numbers, queues
/// or agents) unless the file has the sections.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallCenter {
    /// UTC offset of the platform's local time, in minutes (`callcenter.
    /// utc_offset`, default `+08:00`): schedules and reports use it.
    pub(crate) utc_offset_minutes: i32,
    /// Agents and queues; `AgentId(i)` is `agents[i]`, `QueueId(i)` is
    /// `queues[i]`.
    pub(crate) acd: AcdConfig,
    /// What the gateway needs of each agent, indexed like `acd.agents`.
    pub(crate) agents: Vec<Agent>,
    /// What the gateway needs of each queue, indexed like `acd.queues`.
    pub(crate) queues: Vec<QueueExtras>,
    /// `[[number]]`: the 400 numbers, each checked to build a
    /// `NumberPlan`; destinations name existing queues, agents and trunks.
    pub(crate) numbers: Vec<PlanConfig>,
    /// Music on hold for queues without their own (`callcenter.
    /// music_on_hold`, a WAV file checked at load).
    pub(crate) music_on_hold: Option<PathBuf>,
}

/// `[[agent]]`: a person at a SIP phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agent {
    /// Unique name (the login id).
    pub(crate) name: String,
    /// The internal trunk of the agent's phone (`agent:NAME`).
    pub(crate) trunk: TrunkId,
    /// The contact's user part: the Request-URI user of calls to the phone.
    pub(crate) user: String,
    /// Signed in when the gateway starts (`login`, default true).
    pub(crate) login_at_start: bool,
}

/// `[[queue]]` settings outside the ACD's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueueExtras {
    /// Service-level threshold and short-abandon threshold.
    pub(crate) kpi: QueueKpiConfig,
    /// Music on hold (`music_on_hold`, default `callcenter.music_on_hold`).
    pub(crate) music_on_hold: Option<PathBuf>,
    /// The periodic announcement (`periodic_announcement`).
    pub(crate) periodic_prompt: Option<PathBuf>,
}

impl CallCenter {
    /// Whether any 400 number is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.numbers.is_empty() && self.acd.queues.is_empty() && self.acd.agents.is_empty()
    }

    /// The plan of a dialled number, if it is one of ours.
    pub(crate) fn number(&self, dialled: &str) -> Option<usize> {
        self.numbers.iter().position(|n| n.number == dialled)
    }
}
