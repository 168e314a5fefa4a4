//! `tandem-bench acd`: how fast the ACD decides, and how fast a whole day
//! of a contact center replays through it.
//!
//! - **Decisions.** A center of A agents and Q queues (each agent in five
//!   queues, strategies mixed, every agent signed in) is driven in-process:
//!   - *agent pick*: a caller arrives at a queue with available members
//!     and one is picked and rung (`Enqueue` in, `Ring` out), with about
//!     half of the agents busy on calls;
//!   - *caller pick*: an agent comes free while callers wait in its queues
//!     and takes the best of them over all its queues (`Hangup` in, `Ring`
//!     out).
//!
//!   Each decision is timed alone; the table shows the mean and the 99th
//!   percentile, at a small center and at the size (10,000 agents,
//!   1,000 queues), so the growth with size is visible.
//! - **Day.** [`tandem_callcenter::sim`]'s reference day (2,000 seats,
//!   100,000 calls) replayed in simulated time; the wall time is the
//!   figure.
//!
//! There is no peer in the same run: neither Asterisk (`app_queue`) nor
//! FreeSWITCH (`mod_callcenter`) is among Debian 12's packages.

use std::time::{Duration, Instant};

use tandem_call::CallId;
use tandem_callcenter::acd::{
    Acd, AcdConfig, AgentConfig, Input, Member, Output, QueueConfig, Strategy,
};
use tandem_callcenter::sim::{self, DayConfig, DayReport};
use tandem_callcenter::{AgentId, QueueId, Timestamp};

/// Latencies of one kind of decision.
#[derive(Debug, Clone)]
pub struct Latency {
    /// Decisions timed.
    pub samples: usize,
    /// Mean.
    pub mean: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

/// Decision latencies at one center size.
#[derive(Debug, Clone)]
pub struct DecisionResult {
    /// Agents.
    pub agents: u32,
    /// Queues.
    pub queues: u32,
    /// A caller arrives and an agent is picked.
    pub agent_pick: Latency,
    /// An agent comes free and a waiting caller is picked.
    pub caller_pick: Latency,
}

fn latency(mut v: Vec<Duration>) -> Latency {
    v.sort_unstable();
    let samples = v.len();
    let sum: Duration = v.iter().sum();
    Latency {
        samples,
        mean: sum / samples.max(1) as u32,
        p99: v.get(samples * 99 / 100).copied().unwrap_or_default(),
    }
}

struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn center(agents: u32, queues: u32) -> AcdConfig {
    let mut rng = Xorshift(0x5EED);
    let mut qs: Vec<QueueConfig> = (0..queues)
        .map(|q| {
            let mut c = QueueConfig::new(format!("q{q}"));
            // Skills need requirements; the others share the queues.
            let strategies: Vec<Strategy> = Strategy::ALL
                .into_iter()
                .filter(|s| *s != Strategy::Skills && *s != Strategy::RingAll)
                .collect();
            c.strategy = strategies[q as usize % strategies.len()];
            c.wrap_up = Duration::ZERO;
            c.auto_pause_after = None;
            c.sticky_window = (q % 3 == 0).then_some(Duration::from_secs(600));
            c
        })
        .collect();
    for a in 0..agents {
        let mut mine: Vec<u32> = Vec::new();
        while mine.len() < 5.min(queues as usize) {
            let q = rng.below(u64::from(queues)) as u32;
            if !mine.contains(&q) {
                mine.push(q);
                qs[q as usize].members.push(Member {
                    agent: AgentId(a),
                    weight: 1 + (a % 4),
                });
            }
        }
    }
    AcdConfig {
        agents: (0..agents)
            .map(|a| AgentConfig::new(format!("a{a}")))
            .collect(),
        queues: qs,
        max_spill_hops: 2,
        seed: 1,
    }
}

/// Times both kinds of decision at one center size.
pub fn decisions(agents: u32, queues: u32, samples: usize) -> Result<DecisionResult, String> {
    let mut acd = Acd::new(center(agents, queues)).map_err(|e| e.to_string())?;
    let mut now = Timestamp::from_secs(1_800_000_000);
    let mut rng = Xorshift(0xD1CE);
    for a in 0..agents {
        acd.handle_input(now, Input::Login { agent: AgentId(a) })
            .map_err(|e| e.to_string())?;
    }
    while acd.poll_output().is_some() {}
    let mut next = 0u64;
    let callers: Vec<String> = (0..1000).map(|i| format!("1390000{i:04}")).collect();
    let mut talking: std::collections::VecDeque<CallId> = Default::default();
    let mut rings = Vec::new();

    // Agent pick: keep about half the agents on calls, then time arrivals.
    let mut agent_pick = Vec::with_capacity(samples);
    let busy = (agents / 2) as usize;
    let mut measured = 0;
    while measured < samples {
        if talking.len() >= busy {
            let c = talking.pop_front().unwrap_or(CallId(0));
            let _ = acd.handle_input(now, Input::Hangup { call: c });
            drain(&mut acd, &mut rings);
            answer_all(&mut acd, now, &mut rings, &mut talking);
        }
        now = now + Duration::from_millis(10);
        next += 1;
        let queue = QueueId(rng.below(u64::from(queues)) as u32);
        let input = Input::Enqueue {
            call: CallId(next),
            queue,
            caller: &callers[rng.below(1000) as usize],
            priority: 0,
            number: None,
        };
        let t = Instant::now();
        let r = acd.handle_input(now, input);
        let elapsed = t.elapsed();
        r.map_err(|e| e.to_string())?;
        drain(&mut acd, &mut rings);
        if rings.is_empty() {
            // No member of that queue was free: not an agent pick. Let it
            // go so the center stays at half load.
            let _ = acd.handle_input(now, Input::Hangup { call: CallId(next) });
            drain(&mut acd, &mut rings);
            continue;
        }
        agent_pick.push(elapsed);
        measured += 1;
        answer_all(&mut acd, now, &mut rings, &mut talking);
    }

    // Caller pick: every agent busy and callers waiting in every queue;
    // each hang-up frees an agent who takes the best waiting caller.
    let mut tries = 0u64;
    while talking.len() < agents as usize && tries < u64::from(agents) * 20 {
        tries += 1;
        next += 1;
        let queue = QueueId(rng.below(u64::from(queues)) as u32);
        let _ = acd.handle_input(
            now,
            Input::Enqueue {
                call: CallId(next),
                queue,
                caller: "x",
                priority: 0,
                number: None,
            },
        );
        drain(&mut acd, &mut rings);
        answer_all(&mut acd, now, &mut rings, &mut talking);
    }
    if talking.len() < agents as usize {
        return Err(format!(
            "only {} of {agents} agents could be made busy",
            talking.len()
        ));
    }
    for _ in 0..queues * 3 {
        next += 1;
        let queue = QueueId(rng.below(u64::from(queues)) as u32);
        let priority = u8::from(rng.below(10) == 0);
        acd.handle_input(
            now,
            Input::Enqueue {
                call: CallId(next),
                queue,
                caller: "y",
                priority,
                number: None,
            },
        )
        .map_err(|e| e.to_string())?;
        drain(&mut acd, &mut rings);
        answer_all(&mut acd, now, &mut rings, &mut talking);
    }
    let mut caller_pick = Vec::with_capacity(samples);
    for _ in 0..samples * 4 {
        if caller_pick.len() == samples {
            break;
        }
        let Some(c) = talking.pop_front() else {
            break;
        };
        now = now + Duration::from_millis(10);
        let t = Instant::now();
        let r = acd.handle_input(now, Input::Hangup { call: c });
        let elapsed = t.elapsed();
        r.map_err(|e| e.to_string())?;
        drain(&mut acd, &mut rings);
        if !rings.is_empty() {
            caller_pick.push(elapsed);
        }
        answer_all(&mut acd, now, &mut rings, &mut talking);
        // Keep callers waiting: one new caller per caller served.
        next += 1;
        let queue = QueueId(rng.below(u64::from(queues)) as u32);
        let _ = acd.handle_input(
            now,
            Input::Enqueue {
                call: CallId(next),
                queue,
                caller: "z",
                priority: 0,
                number: None,
            },
        );
        drain(&mut acd, &mut rings);
        answer_all(&mut acd, now, &mut rings, &mut talking);
    }
    Ok(DecisionResult {
        agents,
        queues,
        agent_pick: latency(agent_pick),
        caller_pick: latency(caller_pick),
    })
}

fn drain(acd: &mut Acd, rings: &mut Vec<(CallId, AgentId)>) {
    while let Some(o) = acd.poll_output() {
        if let Output::Ring { call, agents, .. } = o {
            rings.extend(agents.into_iter().map(|a| (call, a)));
        }
    }
}

fn answer_all(
    acd: &mut Acd,
    now: Timestamp,
    rings: &mut Vec<(CallId, AgentId)>,
    talking: &mut std::collections::VecDeque<CallId>,
) {
    for (call, agent) in std::mem::take(rings) {
        if acd
            .handle_input(now, Input::AgentAnswered { call, agent })
            .is_ok()
        {
            talking.push_back(call);
        }
        drain(acd, rings);
    }
}

/// The day replay's figures.
#[derive(Debug, Clone)]
pub struct DayResult {
    /// What the simulation counted.
    pub report: DayReport,
    /// Wall time of the replay.
    pub wall: Duration,
}

/// Replays the reference day (optionally with other seat and call counts).
pub fn day(seats: u32, calls: u32) -> Result<DayResult, String> {
    let config = DayConfig {
        seats,
        calls,
        ..DayConfig::reference()
    };
    let t = Instant::now();
    let report = sim::simulate_day(&config, |_| {}).map_err(|e| e.to_string())?;
    Ok(DayResult {
        report,
        wall: t.elapsed(),
    })
}

/// Prints the tables; returns whether the targets were met
/// (decisions under 10 µs at the largest size, the day under 10 s).
pub fn print_tables(decisions: &[DecisionResult], day: &DayResult) -> bool {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("ACD decisions (one at a time, in-process)");
    println!("| agents | queues | agent pick mean | p99 | caller pick mean | p99 | samples |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for d in decisions {
        println!(
            "| {} | {} | {:.2} µs | {:.2} µs | {:.2} µs | {:.2} µs | {} + {} |",
            d.agents,
            d.queues,
            us(d.agent_pick.mean),
            us(d.agent_pick.p99),
            us(d.caller_pick.mean),
            us(d.caller_pick.p99),
            d.agent_pick.samples,
            d.caller_pick.samples
        );
    }
    let r = &day.report;
    println!();
    println!("A day replayed through the ACD (simulated time)");
    println!(
        "| calls | answered | abandoned | spilled | rings | inputs + events | wall | calls/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.2} s | {:.0} |",
        r.offered,
        r.answered,
        r.abandoned,
        r.spilled,
        r.rings,
        r.inputs + r.events,
        day.wall.as_secs_f64(),
        r.offered as f64 / day.wall.as_secs_f64().max(1e-9)
    );
    let largest = decisions.iter().max_by_key(|d| d.agents);
    let decisions_ok = largest.is_some_and(|d| {
        d.agent_pick.mean < Duration::from_micros(10)
            && d.caller_pick.mean < Duration::from_micros(10)
    });
    let day_ok = day.wall < Duration::from_secs(10);
    println!();
    println!(
        "targets: decision < 10 µs at the largest center: {}; day < 10 s: {}",
        if decisions_ok { "met" } else { "MISSED" },
        if day_ok { "met" } else { "MISSED" }
    );
    decisions_ok && day_ok
}
