//! A day of a contact center's traffic, replayed through the [`Acd`] in
//! simulated time.
//!
//! Calls arrive over the opening hours with a two-peak daily profile
//! (mid-morning and mid-afternoon), pick a queue, and wait with an
//! exponentially distributed patience; agents work two shifts, answer
//! after a few seconds of ringing (a share of offers go unanswered), talk
//! for an exponentially distributed time and wrap up. Everything is drawn
//! from one seeded generator, so a run is exactly repeatable, and no clock
//! is read: the caller times the run if it wants to (the `tandem-bench acd`
//! command does).
//!
//! Every [`Event`] the ACD reports is handed to the caller, which is how
//! the KPI engine is fed in tests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use tandem_call::CallId;

use crate::acd::{
    Acd, AcdConfig, AgentConfig, ConfigError, Event, Input, Member, Output, Overflow, QueueConfig,
    Strategy,
};
use crate::ids::{AgentId, QueueId};
use crate::rng::Rng;
use crate::time::Timestamp;

/// The shape of the simulated day.
#[derive(Debug, Clone)]
pub struct DayConfig {
    /// Agents (seats), half on the early shift and half on the late one.
    pub seats: u32,
    /// Queues; each agent is a member of `queues_per_agent` of them.
    pub queues: u32,
    /// How many queues each agent serves.
    pub queues_per_agent: u32,
    /// Calls offered over the day.
    pub calls: u32,
    /// Strategies, given to the queues in turn.
    pub strategies: Vec<Strategy>,
    /// Mean talk time.
    pub mean_talk: Duration,
    /// Mean caller patience before hanging up unanswered.
    pub mean_patience: Duration,
    /// After-call work.
    pub wrap_up: Duration,
    /// Offers an agent lets ring out, in thousandths.
    pub no_answer_per_mille: u32,
    /// Callers with priority (VIPs), in thousandths.
    pub vip_per_mille: u32,
    /// The day simulated (midnight UTC); the center opens at 08:00 and
    /// closes at 20:00 of this day.
    pub day: Timestamp,
    /// The generator's seed.
    pub seed: u64,
}

impl DayConfig {
    /// The reference day: a 2,000-seat center taking 100,000 calls
    /// over 12 hours, in 100 queues with every strategy in use.
    pub fn reference() -> DayConfig {
        DayConfig {
            seats: 2000,
            queues: 100,
            queues_per_agent: 3,
            calls: 100_000,
            strategies: Strategy::ALL
                .into_iter()
                .filter(|s| *s != Strategy::Skills)
                .collect(),
            mean_talk: Duration::from_secs(240),
            mean_patience: Duration::from_secs(120),
            wrap_up: Duration::from_secs(30),
            no_answer_per_mille: 30,
            vip_per_mille: 50,
            day: Timestamp::from_secs(1_798_761_600), // 2027-01-01
            seed: 400,
        }
    }
}

/// What happened over the day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayReport {
    /// Calls that entered the ACD.
    pub offered: u64,
    /// Calls answered by an agent.
    pub answered: u64,
    /// Calls whose caller hung up while queued.
    pub abandoned: u64,
    /// Calls sent to an overflow destination outside the ACD.
    pub spilled: u64,
    /// Rings (offers to agents).
    pub rings: u64,
    /// Offers not answered.
    pub no_answers: u64,
    /// Inputs fed to the ACD.
    pub inputs: u64,
    /// Events the ACD reported.
    pub events: u64,
    /// The most callers waiting in one queue at once.
    pub max_waiting: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sim {
    Arrive(u32),
    Answer(u32, AgentId),
    Patience(u32),
    TalkEnd(u32),
    Login(AgentId),
    Logout(AgentId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Waiting,
    Talking,
    Gone,
}

/// Relative call volume per hour from 08:00 to 20:00.
const HOURLY_PROFILE: [u32; 12] = [4, 8, 10, 9, 6, 7, 9, 10, 8, 6, 4, 3];

/// Builds the ACD configuration of the simulated center.
pub fn center(day: &DayConfig) -> Result<AcdConfig, ConfigError> {
    let mut rng = Rng::new(day.seed ^ 0xACD);
    let agents = (0..day.seats)
        .map(|i| AgentConfig::new(format!("agent{i:05}")))
        .collect();
    let mut queues: Vec<QueueConfig> = (0..day.queues)
        .map(|q| {
            let mut cfg = QueueConfig::new(format!("queue{q:04}"));
            if !day.strategies.is_empty() {
                cfg.strategy = day.strategies[q as usize % day.strategies.len()];
            }
            cfg.wrap_up = day.wrap_up;
            cfg.expected_handle_time = day.mean_talk + day.wrap_up;
            cfg.sticky_window = (q % 4 == 0).then_some(Duration::from_secs(3600));
            cfg.spillover.max_wait = Some(Duration::from_secs(300));
            cfg.spillover.to = Some(if q % 10 == 9 {
                Overflow::Voicemail(format!("vm{q}"))
            } else {
                Overflow::Queue(QueueId((q + 1) % day.queues))
            });
            cfg.announcements.position_every = Some(Duration::from_secs(60));
            cfg
        })
        .collect();
    for a in 0..day.seats {
        let mut mine = Vec::new();
        while mine.len() < day.queues_per_agent.min(day.queues) as usize {
            let q = rng.below(u64::from(day.queues)) as usize;
            if !mine.contains(&q) {
                mine.push(q);
                queues[q].members.push(Member {
                    agent: AgentId(a),
                    weight: 1 + rng.below(5) as u32,
                });
            }
        }
    }
    Ok(AcdConfig {
        agents,
        queues,
        max_spill_hops: 2,
        seed: day.seed,
    })
}

/// Replays the day through a fresh ACD, handing each event to `on_event`.
pub fn simulate_day(
    day: &DayConfig,
    mut on_event: impl FnMut(&Event),
) -> Result<DayReport, ConfigError> {
    let mut acd = Acd::new(center(day)?)?;
    let mut rng = Rng::new(day.seed);
    let mut report = DayReport::default();
    let mut agenda: BinaryHeap<Reverse<(Timestamp, u64, Sim)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut at = |agenda: &mut BinaryHeap<_>, t: Timestamp, s: Sim| {
        seq += 1;
        agenda.push(Reverse((t, seq, s)));
    };
    let hour = |h: u64| day.day + Duration::from_secs(h * 3600);
    for a in 0..day.seats {
        // Early shift 07:55–14:30, late shift 13:30–20:05, arrivals spread
        // over ten minutes.
        let jitter = Duration::from_secs(rng.below(600));
        let (start, end) = if a % 2 == 0 {
            (
                hour(8) - Duration::from_secs(300),
                hour(14) + Duration::from_secs(1800),
            )
        } else {
            (
                hour(13) + Duration::from_secs(1800),
                hour(20) + Duration::from_secs(300),
            )
        };
        at(&mut agenda, start + jitter, Sim::Login(AgentId(a)));
        at(&mut agenda, end + jitter, Sim::Logout(AgentId(a)));
    }
    let total: u32 = HOURLY_PROFILE.iter().sum();
    let mut callers = Vec::with_capacity(day.calls as usize);
    for i in 0..day.calls {
        let mut pick = rng.below(u64::from(total)) as u32;
        let mut h = 0;
        while pick >= HOURLY_PROFILE[h] {
            pick -= HOURLY_PROFILE[h];
            h += 1;
        }
        let t = hour(8 + h as u64) + Duration::from_millis(rng.below(3_600_000));
        at(&mut agenda, t, Sim::Arrive(i));
        // Callers come from a pool a third the size of the day's calls, so
        // some call back and meet their sticky agent.
        callers.push(format!("138{:08}", rng.below(u64::from(day.calls / 3 + 1))));
    }
    let mut fate = vec![Fate::Waiting; day.calls as usize];
    let mut outputs = Vec::new();
    loop {
        let next_sim = agenda.peek().map(|Reverse((t, _, _))| *t);
        let next_acd = acd.poll_timeout();
        let now = match (next_sim, next_acd) {
            (None, None) => break,
            (Some(s), Some(a)) if a < s => {
                acd.handle_timeout(a);
                a
            }
            (None, Some(a)) => {
                acd.handle_timeout(a);
                a
            }
            (Some(_), _) => {
                let Some(Reverse((now, _, s))) = agenda.pop() else {
                    break;
                };
                let call = |i: u32| CallId(u64::from(i));
                let input = match s {
                    Sim::Arrive(i) => {
                        report.offered += 1;
                        at(
                            &mut agenda,
                            now + secs(rng.exponential(day.mean_patience.as_secs_f64())),
                            Sim::Patience(i),
                        );
                        Some(Input::Enqueue {
                            call: call(i),
                            queue: QueueId(rng.below(u64::from(day.queues)) as u32),
                            caller: &callers[i as usize],
                            priority: u8::from(rng.below(1000) < u64::from(day.vip_per_mille)),
                            number: None,
                        })
                    }
                    Sim::Answer(i, agent) => Some(Input::AgentAnswered {
                        call: call(i),
                        agent,
                    }),
                    Sim::Patience(i) if fate[i as usize] == Fate::Waiting => {
                        Some(Input::Hangup { call: call(i) })
                    }
                    Sim::TalkEnd(i) => Some(Input::Hangup { call: call(i) }),
                    Sim::Login(agent) => Some(Input::Login { agent }),
                    Sim::Logout(agent) => Some(Input::Logout { agent }),
                    Sim::Patience(_) => None,
                };
                if let Some(input) = input {
                    report.inputs += 1;
                    // Refusals are expected here: an answer that lost the
                    // race with the ring timeout, a hang-up of a call that
                    // already spilled.
                    let _ = acd.handle_input(now, input);
                }
                now
            }
        };
        while let Some(o) = acd.poll_output() {
            outputs.push(o);
        }
        for o in outputs.drain(..) {
            match o {
                Output::Ring { call, agents, .. } => {
                    report.rings += 1;
                    let i = call.0 as u32;
                    // The first agent who picks up answers; one who lets
                    // it ring out does nothing and the ACD times out.
                    let mut answering: Option<(AgentId, u64)> = None;
                    for &agent in &agents {
                        let picks_up = rng.below(1000) >= u64::from(day.no_answer_per_mille);
                        let ms = 2_000 + rng.below(6_000);
                        if picks_up && answering.is_none_or(|(_, best)| ms < best) {
                            answering = Some((agent, ms));
                        }
                    }
                    if let Some((agent, ms)) = answering {
                        at(
                            &mut agenda,
                            now + Duration::from_millis(ms),
                            Sim::Answer(i, agent),
                        );
                    }
                }
                Output::Spill { call, .. } => {
                    report.spilled += 1;
                    fate[call.0 as usize] = Fate::Gone;
                }
                Output::Event(e) => {
                    report.events += 1;
                    match &e {
                        Event::CallAnswered { call, .. } => {
                            report.answered += 1;
                            fate[call.0 as usize] = Fate::Talking;
                            at(
                                &mut agenda,
                                now + secs(rng.exponential(day.mean_talk.as_secs_f64())),
                                Sim::TalkEnd(call.0 as u32),
                            );
                        }
                        Event::CallAbandoned { call, .. } => {
                            report.abandoned += 1;
                            fate[call.0 as usize] = Fate::Gone;
                        }
                        Event::RingNoAnswer { .. } => report.no_answers += 1,
                        Event::CallQueued { queue, .. } => {
                            if let Some(s) = acd.queue_status(*queue) {
                                report.max_waiting = report.max_waiting.max(s.waiting + 1);
                            }
                        }
                        _ => {}
                    }
                    on_event(&e);
                }
                Output::CancelRing { .. }
                | Output::Announce { .. }
                | Output::PeriodicAnnouncement { .. } => {}
            }
        }
    }
    Ok(report)
}

fn secs(s: f64) -> Duration {
    Duration::from_millis((s.max(0.0) * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_day_accounts_for_every_call_and_repeats_exactly() {
        let day = DayConfig {
            seats: 60,
            queues: 6,
            calls: 3_000,
            ..DayConfig::reference()
        };
        let mut answered_events = 0;
        let a = simulate_day(&day, |e| {
            if matches!(e, Event::CallAnswered { .. }) {
                answered_events += 1;
            }
        })
        .unwrap();
        assert_eq!(a.offered, 3_000);
        assert_eq!(a.answered + a.abandoned + a.spilled, a.offered, "{a:?}");
        assert_eq!(answered_events, a.answered);
        assert!(
            a.answered > 1_000 && a.abandoned > 0 && a.no_answers > 0,
            "{a:?}"
        );
        let b = simulate_day(&day, |_| {}).unwrap();
        assert_eq!(a, b);
    }
}
