//! ACD configuration: queues, agents, skills, strategies and spillover
//! thresholds, validated once into the tables the [`Acd`](super::Acd) runs on.

use std::fmt;
use std::time::Duration;

use super::event::Overflow;
use crate::ids::AgentId;

/// How a queue picks among its available agents (CALLCENTER.md, "ACD
/// vocabulary", with the Asterisk and FreeSWITCH names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Ring every available member at once; the first to answer wins
    /// (`ringall`, `ring-all`).
    RingAll,
    /// Always start from the first member in the configured order
    /// (`linear`, `top-down`).
    Linear,
    /// Go round the members in order, starting after the one who took the
    /// last call (`rrmemory`, `round-robin`).
    RoundRobin,
    /// The member idle longest (`leastrecent`, `longest-idle-agent`).
    LongestIdle,
    /// The member who has answered the fewest calls (`fewestcalls`).
    FewestCalls,
    /// The member with the least talk time (`agent-with-least-talk-time`).
    LeastTalkTime,
    /// A uniformly random available member (`random`).
    Random,
    /// A random available member, weighted by the member's weight
    /// (`wrandom`).
    WeightedRandom,
    /// The member whose skills best match the queue's requirements (sum of
    /// levels on the required skills), longest idle first among equals.
    Skills,
}

impl Strategy {
    /// Every strategy, for config errors and tests.
    pub const ALL: [Strategy; 9] = [
        Strategy::RingAll,
        Strategy::Linear,
        Strategy::RoundRobin,
        Strategy::LongestIdle,
        Strategy::FewestCalls,
        Strategy::LeastTalkTime,
        Strategy::Random,
        Strategy::WeightedRandom,
        Strategy::Skills,
    ];

    /// The config name (`ring-all`, `linear`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RingAll => "ring-all",
            Strategy::Linear => "linear",
            Strategy::RoundRobin => "round-robin",
            Strategy::LongestIdle => "longest-idle",
            Strategy::FewestCalls => "fewest-calls",
            Strategy::LeastTalkTime => "least-talk-time",
            Strategy::Random => "random",
            Strategy::WeightedRandom => "weighted-random",
            Strategy::Skills => "skills",
        }
    }

    /// Parses a config name.
    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A skill an agent has, at a level (1 lowest … 100 highest), or a queue
/// requires, at a minimum level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Skill {
    /// The skill's name (`mandarin`, `billing`, …).
    pub name: String,
    /// The level.
    pub level: u8,
}

/// One agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// The agent's name, unique (its login id).
    pub name: String,
    /// Skills and levels.
    pub skills: Vec<Skill>,
    /// After-call work for this agent, overriding every queue's.
    pub wrap_up: Option<Duration>,
}

impl AgentConfig {
    /// An agent with no skills and the queues' wrap-up.
    pub fn new(name: impl Into<String>) -> Self {
        AgentConfig {
            name: name.into(),
            skills: Vec::new(),
            wrap_up: None,
        }
    }
}

/// An agent's membership of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The agent.
    pub agent: AgentId,
    /// Weight for [`Strategy::WeightedRandom`] (default 1; 0 is never picked
    /// while others are available).
    pub weight: u32,
}

/// When a queue sends callers to its overflow destination.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spillover {
    /// Callers already waiting at or above which a new caller spills.
    pub max_length: Option<u32>,
    /// Estimated wait on arrival above which a new caller spills.
    pub max_estimated_wait: Option<Duration>,
    /// Time in the queue after which a waiting caller spills.
    pub max_wait: Option<Duration>,
    /// Spill when no member is signed in (on arrival, and waiting callers
    /// when the last member signs out).
    pub when_no_agents: bool,
    /// Where spilled callers go; `None` releases them (busy treatment).
    pub to: Option<Overflow>,
}

/// Announcements to callers while they wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Announcements {
    /// Announce position and estimated wait at this interval (first one
    /// after one interval).
    pub position_every: Option<Duration>,
    /// Play the queue's periodic announcement at this interval.
    pub periodic_every: Option<Duration>,
}

/// One queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// The queue's name, unique.
    pub name: String,
    /// How an agent is picked.
    pub strategy: Strategy,
    /// Members (agents who take calls from this queue). With
    /// `required_skills` and no members, every agent who has the skills at
    /// the levels is a member.
    pub members: Vec<Member>,
    /// Skills a member must have, each at least at the given level.
    pub required_skills: Vec<Skill>,
    /// How long an agent's phone rings before the next agent is tried.
    pub ring_timeout: Duration,
    /// After-call work after each call of this queue.
    pub wrap_up: Duration,
    /// Consecutive unanswered offers after which an agent is paused
    /// (reason `no-answer`); `None` never pauses.
    pub auto_pause_after: Option<u32>,
    /// Prefer the agent who last served the caller, if available and
    /// within this window of that call's end.
    pub sticky_window: Option<Duration>,
    /// Handle time assumed for the estimated wait until calls have been
    /// handled.
    pub expected_handle_time: Duration,
    /// Spillover thresholds.
    pub spillover: Spillover,
    /// Announcements while waiting.
    pub announcements: Announcements,
    /// A digit the caller may press to leave the queue, and where to.
    pub exit: Option<(char, Overflow)>,
}

impl QueueConfig {
    /// A queue with the carriers' usual defaults: longest idle, 15 s ring,
    /// 30 s wrap-up, pause after 3 unanswered offers, 3 min expected
    /// handle time, no spillover.
    pub fn new(name: impl Into<String>) -> Self {
        QueueConfig {
            name: name.into(),
            strategy: Strategy::LongestIdle,
            members: Vec::new(),
            required_skills: Vec::new(),
            ring_timeout: Duration::from_secs(15),
            wrap_up: Duration::from_secs(30),
            auto_pause_after: Some(3),
            sticky_window: None,
            expected_handle_time: Duration::from_secs(180),
            spillover: Spillover::default(),
            announcements: Announcements::default(),
            exit: None,
        }
    }
}

/// The whole ACD: agents and queues, each indexed by its id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AcdConfig {
    /// Agents; `AgentId(i)` is `agents[i]`.
    pub agents: Vec<AgentConfig>,
    /// Queues; `QueueId(i)` is `queues[i]`.
    pub queues: Vec<QueueConfig>,
    /// How many queue-to-queue spills one call may take before it is
    /// released (the loop guard).
    pub max_spill_hops: u8,
    /// Seed of the generator behind the random strategies.
    pub seed: u64,
}

/// A configuration the ACD cannot run, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where, e.g. `queues[2].members[0].agent`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub(super) fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// A member as the ACD keeps it: the agent, its weight and its skill score
/// for the queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct ResolvedMember {
    pub(super) agent: AgentId,
    pub(super) weight: u32,
    pub(super) score: u32,
}

impl AcdConfig {
    /// Checks the configuration and resolves each queue's members (explicit
    /// or by skills), with their skill scores.
    pub(super) fn resolve(&self) -> Result<Vec<Vec<ResolvedMember>>, ConfigError> {
        if self.agents.len() > u32::MAX as usize / 2 || self.queues.len() > u32::MAX as usize / 2 {
            return Err(err("agents", "too many"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, a) in self.agents.iter().enumerate() {
            if a.name.is_empty() {
                return Err(err(format!("agents[{i}].name"), "must not be empty"));
            }
            if !names.insert(a.name.as_str()) {
                return Err(err(
                    format!("agents[{i}].name"),
                    format!("\"{}\" is defined twice", a.name),
                ));
            }
            for (j, s) in a.skills.iter().enumerate() {
                check_skill(s, &format!("agents[{i}].skills[{j}]"))?;
            }
        }
        names.clear();
        let mut all = Vec::with_capacity(self.queues.len());
        for (i, q) in self.queues.iter().enumerate() {
            let at = |f: &str| format!("queues[{i}].{f}");
            if q.name.is_empty() {
                return Err(err(at("name"), "must not be empty"));
            }
            if !names.insert(q.name.as_str()) {
                return Err(err(at("name"), format!("\"{}\" is defined twice", q.name)));
            }
            if q.ring_timeout.is_zero() {
                return Err(err(at("ring_timeout"), "must be more than zero"));
            }
            if q.auto_pause_after == Some(0) {
                return Err(err(at("auto_pause_after"), "must be at least 1 (or unset)"));
            }
            for (field, d) in [
                (
                    "announcements.position_every",
                    q.announcements.position_every,
                ),
                (
                    "announcements.periodic_every",
                    q.announcements.periodic_every,
                ),
            ] {
                if d.is_some_and(|d| d < Duration::from_secs(1)) {
                    return Err(err(at(field), "must be at least 1 s"));
                }
            }
            for (j, s) in q.required_skills.iter().enumerate() {
                check_skill(s, &at(&format!("required_skills[{j}]")))?;
            }
            if q.strategy == Strategy::Skills && q.required_skills.is_empty() {
                return Err(err(
                    at("required_skills"),
                    "the skills strategy needs at least one",
                ));
            }
            let spill_targets = q
                .spillover
                .to
                .iter()
                .map(|o| ("spillover.to", o))
                .chain(q.exit.iter().map(|(_, o)| ("exit", o)));
            for (field, o) in spill_targets {
                if let Overflow::Queue(t) = o {
                    if t.index() >= self.queues.len() {
                        return Err(err(at(field), format!("{t} does not exist")));
                    }
                    if t.index() == i {
                        return Err(err(at(field), "a queue cannot overflow to itself"));
                    }
                }
            }
            if let Some((d, _)) = q.exit
                && !matches!(d, '0'..='9' | '*' | '#')
            {
                return Err(err(
                    at("exit"),
                    format!("'{d}' is not a DTMF digit 0-9, * or #"),
                ));
            }
            let mut members = Vec::new();
            let mut seen = std::collections::HashSet::new();
            if q.members.is_empty() && !q.required_skills.is_empty() {
                for (a, agent) in self.agents.iter().enumerate() {
                    if let Some(score) = skill_score(&agent.skills, &q.required_skills) {
                        members.push(ResolvedMember {
                            agent: AgentId(a as u32),
                            weight: 1,
                            score,
                        });
                    }
                }
            }
            for (j, m) in q.members.iter().enumerate() {
                let agent = self.agents.get(m.agent.index()).ok_or_else(|| {
                    err(
                        at(&format!("members[{j}].agent")),
                        format!("{} does not exist", m.agent),
                    )
                })?;
                if !seen.insert(m.agent) {
                    return Err(err(
                        at(&format!("members[{j}].agent")),
                        format!("\"{}\" is a member twice", agent.name),
                    ));
                }
                // An explicit member lacking a required skill still takes
                // calls (the operator put it there), ranked last.
                let score = skill_score(&agent.skills, &q.required_skills).unwrap_or(0);
                members.push(ResolvedMember {
                    agent: m.agent,
                    weight: m.weight,
                    score,
                });
            }
            all.push(members);
        }
        Ok(all)
    }
}

fn check_skill(s: &Skill, at: &str) -> Result<(), ConfigError> {
    if s.name.is_empty() {
        return Err(err(format!("{at}.name"), "must not be empty"));
    }
    if !(1..=100).contains(&s.level) {
        return Err(err(
            format!("{at}.level"),
            format!("{} is not within 1-100", s.level),
        ));
    }
    Ok(())
}

/// The sum of the agent's levels on the required skills, if it has each at
/// the required level. A queue without requirements scores everyone 0.
fn skill_score(has: &[Skill], needs: &[Skill]) -> Option<u32> {
    let mut score = 0;
    for need in needs {
        let level = has.iter().find(|s| s.name == need.name)?.level;
        if level < need.level {
            return None;
        }
        score += u32::from(level);
    }
    Some(score)
}
