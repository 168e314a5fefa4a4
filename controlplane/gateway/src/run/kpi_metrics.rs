//! Prometheus export of the call-center KPIs (`tandem_callcenter_*`).
//!
//! The run loop owns the `KpiEngine` and the ACD; Prometheus scrapes from
//! the HTTP thread. So the run loop builds a plain-data [`KpiSnapshot`]
//! (about once a second: [`KpiSnapshot::from_engine`], then
//! [`KpiSnapshot::set_live`] per queue from `Acd::queue_status`) and hands
//! it to its [`KpiPublisher`]; the publisher adds the last 15 minutes'
//! figures and the Erlang C forecast and swaps the snapshot in behind a
//! mutex; the [`Collector`] registered by [`register`] only reads it.
//!
//! ```ignore
//! let mut publisher = kpi_metrics::register(&registry)?;
//! // every second:
//! let mut snap = KpiSnapshot::from_engine(&kpi, &names, now);
//! for (i, _) in queues.iter().enumerate() {
//!     if let Some(status) = acd.queue_status(QueueId(i as u32)) {
//!         snap.set_live(QueueId(i as u32), QueueLive::from_status(&status, now));
//!     }
//! }
//! publisher.publish(snap);
//! ```
//!
//! # Metrics
//!
//! The KPIs are those of CALLCENTER.md ("KPI definitions"), from
//! `tandem_callcenter::kpi::Counters`: offered calls are `CallQueued`
//! events (a call spilled on to another queue is offered to each), short
//! abandons (wait ≤ the queue's short-abandon threshold) are counted apart
//! and left out of the service level. Counters count since the gateway
//! started; labels are the configured names.
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `tandem_callcenter_calls_offered_total{queue}` | counter | calls that entered the queue |
//! | `tandem_callcenter_calls_answered_total{queue}` | counter | calls answered by an agent |
//! | `tandem_callcenter_calls_answered_within_threshold_total{queue}` | counter | calls answered after waiting at most the queue's service-level threshold T |
//! | `tandem_callcenter_calls_abandoned_total{queue}` | counter | callers who hung up in the queue after the short-abandon threshold |
//! | `tandem_callcenter_calls_transferred_total{queue}`, `tandem_callcenter_agent_calls_transferred_total{agent}` | counter | answered calls the agent transferred away (blind or attended, RFC 3515) |
//! | `tandem_callcenter_calls_short_abandoned_total{queue}` | counter | callers who hung up within the short-abandon threshold |
//! | `tandem_callcenter_calls_spilled_total{queue,reason}` | counter | calls sent to the overflow destination, by reason (`queue_full`, `estimated_wait`, `max_wait`, `no_agents`, `caller_exit`) |
//! | `tandem_callcenter_queue_waiting{queue}` | gauge | callers waiting now (from the ACD, else queued minus answered, abandoned and spilled) |
//! | `tandem_callcenter_queue_longest_wait_seconds{queue}` | gauge | how long the longest-waiting caller has waited (0 with nobody waiting; from the ACD) |
//! | `tandem_callcenter_service_level_ratio{queue}` | gauge | service level over the last 15 minutes: answered within T ÷ (offered − short abandoned); absent while nothing was offered |
//! | `tandem_callcenter_asa_seconds{queue}` | gauge | average speed of answer over the last 15 minutes; absent while nothing was answered |
//! | `tandem_callcenter_service_level_threshold_seconds{queue}` | gauge | the queue's T, the `le` of the histogram bucket that gives the service level |
//! | `tandem_callcenter_agents{queue,state}` | gauge | the queue's member agents in each state (`logged_out`, `available`, `ringing`, `on_call`, `on_hold`, `wrap_up`, `paused`; from the ACD) |
//! | `tandem_callcenter_erlang_agents_needed{queue}` | gauge | Erlang C forecast: agents needed now to answer the queue's target share (`service_level_target`, default 80 %) within T (see below) |
//! | `tandem_callcenter_wait_seconds{queue}` | histogram | waits of **answered** calls; the bucket edges are 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300 s plus T, so `bucket{le="T"} ÷ count` is exactly the share of answered calls answered within T |
//! | `tandem_callcenter_agent_state{agent,state}` | gauge | 1 for the agent's current state, 0 for the six others |
//! | `tandem_callcenter_agent_calls_answered_total{agent}` | counter | calls the agent answered |
//! | `tandem_callcenter_number_calls_offered_total{number}` | counter | calls received on the 400 number, blocked or not |
//! | `tandem_callcenter_number_calls_blocked_total{number}` | counter | calls on the number refused (busy) before reaching the ACD |
//! | `tandem_callcenter_ivr_events_total{menu,event}` | counter | what callers did in the IVR: `entered`, `selected`, `invalid_input`, `no_input`, `retries_exhausted` per menu, `lookup_answered` and `lookup_failed` per HTTP lookup (counted by `run::callcenter`, not this collector) |
//!
//! The histogram's ratio divides by answered calls; the service-level KPI
//! (and the gauge) divides by offered calls less short abandons, so that
//! a caller who hangs up unanswered counts against the center:
//! `increase(…_answered_within_threshold_total[15m]) /
//! (increase(…_offered_total[15m]) - increase(…_short_abandoned_total[15m]))`
//! is the gauge in PromQL.
//!
//! # The Erlang C forecast
//!
//! The publisher keeps, per queue, the totals of the last 15 minutes
//! (sampled every 10 s). From them:
//!
//! - arrival rate λ = calls offered in the window ÷ the window's length
//!   (15 minutes once the gateway has run that long; from the first
//!   publish until then);
//! - AHT = (talk + hold + wrap-up) ÷ handled over the window, or since
//!   start when no call ended in the window;
//! - agents needed = `tandem_callcenter::erlang::agents_needed(λ, AHT, T,
//!   target, 10 000)`: the fewest agents N > λ·AHT whose P(wait ≤ T)
//!   reaches the target.
//!
//! The gauge is 0 when no call was offered in the window, and absent in
//! the first minute (too short a window), without an AHT (no call has
//! ended yet), or when more than 10 000 agents would be needed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus::Registry;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricType::{COUNTER, GAUGE, HISTOGRAM};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use tandem_callcenter::acd::{AgentState, QueueStatus};
use tandem_callcenter::erlang;
use tandem_callcenter::kpi::{Counters, Entity, KpiEngine, SPILL_REASONS};
use tandem_callcenter::{QueueId, Timestamp};

use crate::kpi_store::{EntityNames, counter_values, counters_from_values};

/// The service level the Erlang forecast aims at when the queue's own
/// target is not set: 80 % (of calls answered within T).
pub(crate) const DEFAULT_SERVICE_LEVEL_TARGET: f64 = 0.8;

/// The sliding window of the rate, service-level and ASA gauges.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);

/// A window shorter than this gives no forecast.
const MIN_FORECAST_WINDOW_MS: u64 = 60_000;

/// How often the window keeps a sample of a queue's totals.
const SAMPLE_EVERY_MS: u64 = 10_000;

/// The largest forecast; beyond it the gauge is absent.
const MAX_FORECAST_AGENTS: u32 = 10_000;

/// A queue's live state, from the ACD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueLive {
    /// Callers waiting now (not counting those being rung).
    pub(crate) waiting: u64,
    /// How long the longest-waiting caller has waited.
    pub(crate) longest_wait: Duration,
    /// Member agents in each state, indexed like `AgentState::ALL`.
    pub(crate) agents: [u32; 7],
}

impl QueueLive {
    /// From `Acd::queue_status`, at `now`.
    pub(crate) fn from_status(status: &QueueStatus, now: Timestamp) -> QueueLive {
        QueueLive {
            waiting: u64::from(status.waiting),
            longest_wait: status
                .oldest_since
                .map_or(Duration::ZERO, |since| now.saturating_since(since)),
            agents: status.agents,
        }
    }
}

/// A queue's waiting-time histogram, cumulative.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WaitBuckets {
    /// `(le, answered calls that waited at most le)`, increasing.
    pub(crate) buckets: Vec<(Duration, u64)>,
    /// Answered calls.
    pub(crate) count: u64,
    /// Their total wait.
    pub(crate) sum: Duration,
}

/// One queue's figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueueSnapshot {
    /// The engine's id (the key of the publisher's window).
    pub(crate) id: QueueId,
    /// The configured name (the `queue` label).
    pub(crate) name: String,
    /// Counters since start.
    pub(crate) totals: Counters,
    /// The service-level threshold T.
    pub(crate) threshold: Duration,
    /// The share of calls to answer within T that the forecast aims at.
    pub(crate) service_level_target: f64,
    /// Waits of answered calls since start.
    pub(crate) waits: WaitBuckets,
    /// Callers waiting as the KPI engine counts them.
    pub(crate) waiting: u64,
    /// The ACD's view, when the caller filled it in.
    pub(crate) live: Option<QueueLive>,
    /// Counters over the last [`WINDOW`] (set by [`KpiPublisher::publish`]).
    pub(crate) recent: Counters,
    /// The forecast (set by [`KpiPublisher::publish`]).
    pub(crate) agents_needed: Option<u32>,
}

/// One agent's figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AgentSnapshot {
    /// The configured name (the `agent` label).
    pub(crate) name: String,
    /// The current state.
    pub(crate) state: AgentState,
    /// Counters since start.
    pub(crate) totals: Counters,
}

/// One 400 number's figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumberSnapshot {
    /// The number (the `number` label).
    pub(crate) name: String,
    /// Counters since start.
    pub(crate) totals: Counters,
}

/// Everything the collector exports, as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct KpiSnapshot {
    /// When it was taken.
    pub(crate) at: Timestamp,
    /// Queues, in the engine's order.
    pub(crate) queues: Vec<QueueSnapshot>,
    /// Agents, in the engine's order.
    pub(crate) agents: Vec<AgentSnapshot>,
    /// Numbers, in the engine's order.
    pub(crate) numbers: Vec<NumberSnapshot>,
}

impl KpiSnapshot {
    /// The engine's live totals, agent states and histograms, named with
    /// `names`, at `now` (the time the run loop last fed the engine).
    /// Every queue aims at [`DEFAULT_SERVICE_LEVEL_TARGET`]; the ACD's
    /// live figures are left for [`set_live`](Self::set_live).
    pub(crate) fn from_engine(
        engine: &KpiEngine,
        names: &EntityNames<'_>,
        now: Timestamp,
    ) -> KpiSnapshot {
        let mut snap = KpiSnapshot {
            at: now,
            ..KpiSnapshot::default()
        };
        for entity in engine.entities() {
            let totals = engine.totals(entity).unwrap_or_default();
            let name = names.name(entity).into_owned();
            match entity {
                Entity::Queue(q) => {
                    let waits = engine
                        .wait_histogram(q)
                        .map(|h| WaitBuckets {
                            buckets: h.buckets().collect(),
                            count: h.count(),
                            sum: h.sum(),
                        })
                        .unwrap_or_default();
                    snap.queues.push(QueueSnapshot {
                        id: q,
                        name,
                        totals,
                        threshold: engine.queue_config(q).service_level_threshold,
                        service_level_target: DEFAULT_SERVICE_LEVEL_TARGET,
                        waits,
                        waiting: engine.waiting(q).unwrap_or(0),
                        live: None,
                        recent: Counters::default(),
                        agents_needed: None,
                    });
                }
                Entity::Agent(a) => snap.agents.push(AgentSnapshot {
                    name,
                    state: engine.agent_state(a).unwrap_or(AgentState::LoggedOut),
                    totals,
                }),
                Entity::Number(_) => snap.numbers.push(NumberSnapshot { name, totals }),
            }
        }
        snap
    }

    /// Sets a queue's live figures from the ACD (ignored for a queue the
    /// snapshot does not have).
    pub(crate) fn set_live(&mut self, queue: QueueId, live: QueueLive) {
        if let Some(q) = self.queues.iter_mut().find(|q| q.id == queue) {
            q.live = Some(live);
        }
    }

    /// Sets the service level a queue's forecast aims at (a fraction,
    /// 0.8 for 80 %).
    pub(crate) fn set_service_level_target(&mut self, queue: QueueId, target: f64) {
        if let Some(q) = self.queues.iter_mut().find(|q| q.id == queue) {
            q.service_level_target = target;
        }
    }
}

/// `now − base`, field by field (saturating at 0).
fn difference(now: &Counters, base: &Counters) -> Counters {
    let (n, b) = (counter_values(now), counter_values(base));
    let mut d = [0u64; 27];
    for ((d, n), b) in d.iter_mut().zip(n).zip(b) {
        *d = n.saturating_sub(b);
    }
    counters_from_values(d)
}

/// The run loop's handle: computes the windowed figures and publishes
/// snapshots to the collector.
#[derive(Debug)]
pub(crate) struct KpiPublisher {
    shared: Arc<Mutex<KpiSnapshot>>,
    /// Per queue, samples `(when, totals)`; the first is the window's base.
    windows: HashMap<QueueId, VecDeque<(Timestamp, Counters)>>,
}

impl KpiPublisher {
    /// Completes `snapshot` with each queue's last-15-minutes counters and
    /// Erlang C forecast (see the module docs) and makes it the one the
    /// next scrape exports. Call it about once a second with snapshots of
    /// increasing time.
    pub(crate) fn publish(&mut self, mut snapshot: KpiSnapshot) {
        let now = snapshot.at;
        let window_ms = WINDOW.as_millis() as u64;
        for q in &mut snapshot.queues {
            let samples = self.windows.entry(q.id).or_default();
            match samples.back() {
                Some((last, _)) if now.as_millis() < last.as_millis() + SAMPLE_EVERY_MS => {}
                _ => samples.push_back((now, q.totals)),
            }
            let horizon = now.as_millis().saturating_sub(window_ms);
            while samples.len() >= 2 && samples[1].0.as_millis() <= horizon {
                samples.pop_front();
            }
            let Some((base_at, base)) = samples.front() else {
                continue;
            };
            let span_ms = now.as_millis().saturating_sub(base_at.as_millis());
            q.recent = difference(&q.totals, base);
            q.agents_needed = forecast(q, span_ms);
        }
        let ids: Vec<QueueId> = snapshot.queues.iter().map(|q| q.id).collect();
        self.windows.retain(|id, _| ids.contains(id));
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        *shared = snapshot;
    }
}

/// The Erlang C forecast for a queue whose window spans `span_ms`.
fn forecast(q: &QueueSnapshot, span_ms: u64) -> Option<u32> {
    if span_ms < MIN_FORECAST_WINDOW_MS {
        return None;
    }
    if q.recent.offered == 0 {
        return Some(0);
    }
    let rate = q.recent.offered as f64 * 1000.0 / span_ms as f64;
    let aht = q.recent.aht().or_else(|| q.totals.aht())?;
    erlang::agents_needed(
        rate,
        aht,
        q.threshold,
        q.service_level_target,
        MAX_FORECAST_AGENTS,
    )
    .map(|f| f.agents)
}

/// Registers the call-center collector and returns the publisher that
/// feeds it. Until the first [`KpiPublisher::publish`] it exports nothing.
pub(crate) fn register(registry: &Registry) -> prometheus::Result<KpiPublisher> {
    let shared = Arc::new(Mutex::new(KpiSnapshot::default()));
    registry.register(Box::new(KpiCollector::new(shared.clone())?))?;
    Ok(KpiPublisher {
        shared,
        windows: HashMap::new(),
    })
}

/// One exported metric family.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
}

const fn family(
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
) -> Family {
    Family {
        name,
        help,
        kind,
        labels,
    }
}

/// Every family, in the order [`KpiCollector::collect`] fills them.
const FAMILIES: [Family; 20] = [
    family(
        "tandem_callcenter_calls_offered_total",
        "Calls that entered the queue",
        COUNTER,
        &["queue"],
    ),
    family(
        "tandem_callcenter_calls_answered_total",
        "Queued calls answered by an agent",
        COUNTER,
        &["queue"],
    ),
    family(
        "tandem_callcenter_calls_answered_within_threshold_total",
        "Queued calls answered within the service-level threshold T",
        COUNTER,
        &["queue"],
    ),
    family(
        "tandem_callcenter_calls_abandoned_total",
        "Callers who hung up in the queue after the short-abandon threshold",
        COUNTER,
        &["queue"],
    ),
    family(
        "tandem_callcenter_calls_short_abandoned_total",
        "Callers who hung up in the queue within the short-abandon threshold",
        COUNTER,
        &["queue"],
    ),
    family(
        "tandem_callcenter_calls_spilled_total",
        "Queued calls sent to the overflow destination, by reason",
        COUNTER,
        &["queue", "reason"],
    ),
    family(
        "tandem_callcenter_queue_waiting",
        "Callers waiting in the queue now",
        GAUGE,
        &["queue"],
    ),
    family(
        "tandem_callcenter_queue_longest_wait_seconds",
        "How long the longest-waiting caller has waited",
        GAUGE,
        &["queue"],
    ),
    family(
        "tandem_callcenter_service_level_ratio",
        "Answered within T over offered minus short abandons, last 15 minutes",
        GAUGE,
        &["queue"],
    ),
    family(
        "tandem_callcenter_asa_seconds",
        "Average speed of answer, last 15 minutes",
        GAUGE,
        &["queue"],
    ),
    family(
        "tandem_callcenter_service_level_threshold_seconds",
        "The queue's service-level threshold T",
        GAUGE,
        &["queue"],
    ),
    family(
        "tandem_callcenter_agents",
        "The queue's member agents in each state",
        GAUGE,
        &["queue", "state"],
    ),
    family(
        "tandem_callcenter_erlang_agents_needed",
        "Erlang C forecast of the agents needed to meet the service-level target",
        GAUGE,
        &["queue"],
    ),
    family(
        "tandem_callcenter_wait_seconds",
        "Waits of answered calls; one bucket edge is the queue's T",
        HISTOGRAM,
        &["queue"],
    ),
    family(
        "tandem_callcenter_agent_state",
        "1 for the agent's current state",
        GAUGE,
        &["agent", "state"],
    ),
    family(
        "tandem_callcenter_agent_calls_answered_total",
        "Calls the agent answered",
        COUNTER,
        &["agent"],
    ),
    family(
        "tandem_callcenter_number_calls_offered_total",
        "Calls received on the 400 number",
        COUNTER,
        &["number"],
    ),
    family(
        "tandem_callcenter_number_calls_blocked_total",
        "Calls on the 400 number refused before reaching the ACD",
        COUNTER,
        &["number"],
    ),
    family(
        "tandem_callcenter_calls_transferred_total",
        "Answered calls the agent transferred away",
        COUNTER,
        &["queue"],
    ),
    family(
        "tandem_callcenter_agent_calls_transferred_total",
        "Calls the agent transferred away",
        COUNTER,
        &["agent"],
    ),
];

/// Reads the published [`KpiSnapshot`] at each scrape.
struct KpiCollector {
    shared: Arc<Mutex<KpiSnapshot>>,
    descs: Vec<Desc>,
}

impl KpiCollector {
    fn new(shared: Arc<Mutex<KpiSnapshot>>) -> prometheus::Result<Self> {
        let descs = FAMILIES
            .iter()
            .map(|f| {
                Desc::new(
                    f.name.to_owned(),
                    f.help.to_owned(),
                    f.labels.iter().map(|l| (*l).to_owned()).collect(),
                    HashMap::new(),
                )
            })
            .collect::<prometheus::Result<Vec<Desc>>>()?;
        Ok(KpiCollector { shared, descs })
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(name, value)| {
            let mut l = LabelPair::default();
            l.set_name((*name).to_owned());
            l.set_value((*value).to_owned());
            l
        })
        .collect()
}

fn counter(pairs: &[(&str, &str)], value: u64) -> Metric {
    let mut c = Counter::default();
    c.set_value(value as f64);
    let mut m = Metric::from_label(labels(pairs));
    m.set_counter(c);
    m
}

fn gauge(pairs: &[(&str, &str)], value: f64) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::from_label(labels(pairs));
    m.set_gauge(g);
    m
}

fn histogram(pairs: &[(&str, &str)], waits: &WaitBuckets) -> Metric {
    let buckets = waits
        .buckets
        .iter()
        .map(|(le, count)| {
            let mut b = Bucket::default();
            b.set_upper_bound(le.as_secs_f64());
            b.set_cumulative_count(*count);
            b
        })
        .collect();
    let mut h = Histogram::default();
    h.set_bucket(buckets);
    h.set_sample_count(waits.count);
    h.set_sample_sum(waits.sum.as_secs_f64());
    let mut m = Metric::from_label(labels(pairs));
    m.set_histogram(h);
    m
}

/// The metrics of every family, indexed as [`FAMILIES`].
fn metrics(s: &KpiSnapshot) -> [Vec<Metric>; 20] {
    let mut m: [Vec<Metric>; 20] = Default::default();
    for q in &s.queues {
        let l: &[(&str, &str)] = &[("queue", &q.name)];
        let t = &q.totals;
        m[0].push(counter(l, t.offered));
        m[1].push(counter(l, t.answered));
        m[2].push(counter(l, t.answered_within_threshold));
        m[3].push(counter(l, t.abandoned));
        m[4].push(counter(l, t.short_abandoned));
        for (reason, n) in SPILL_REASONS.iter().zip(t.spilled) {
            m[5].push(counter(
                &[("queue", &q.name), ("reason", reason.as_str())],
                n,
            ));
        }
        let waiting = q.live.map_or(q.waiting, |live| live.waiting);
        m[6].push(gauge(l, waiting as f64));
        if let Some(live) = &q.live {
            m[7].push(gauge(l, live.longest_wait.as_secs_f64()));
            for (state, n) in AgentState::ALL.iter().zip(live.agents) {
                let pairs = [("queue", q.name.as_str()), ("state", state.as_str())];
                m[11].push(gauge(&pairs, f64::from(n)));
            }
        }
        if let Some(sl) = q.recent.service_level() {
            m[8].push(gauge(l, sl));
        }
        if let Some(asa) = q.recent.asa() {
            m[9].push(gauge(l, asa.as_secs_f64()));
        }
        m[10].push(gauge(l, q.threshold.as_secs_f64()));
        if let Some(n) = q.agents_needed {
            m[12].push(gauge(l, f64::from(n)));
        }
        m[13].push(histogram(l, &q.waits));
        m[18].push(counter(l, t.transferred));
    }
    for a in &s.agents {
        for state in AgentState::ALL {
            let pairs = [("agent", a.name.as_str()), ("state", state.as_str())];
            m[14].push(gauge(&pairs, if a.state == state { 1.0 } else { 0.0 }));
        }
        m[15].push(counter(&[("agent", &a.name)], a.totals.answered));
        m[19].push(counter(&[("agent", &a.name)], a.totals.transferred));
    }
    for n in &s.numbers {
        let l: &[(&str, &str)] = &[("number", &n.name)];
        m[16].push(counter(l, n.totals.offered));
        m[17].push(counter(l, n.totals.blocked));
    }
    m
}

impl Collector for KpiCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let per_family = {
            let snapshot = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            metrics(&snapshot)
        };
        FAMILIES
            .iter()
            .zip(per_family)
            .filter(|(_, metrics)| !metrics.is_empty())
            .map(|(f, metrics)| {
                let mut mf = MetricFamily::default();
                mf.set_name(f.name.to_owned());
                mf.set_help(f.help.to_owned());
                mf.set_field_type(f.kind);
                mf.set_metric(metrics);
                mf
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use tandem_call::CallId;
    use tandem_callcenter::acd::{Event, Overflow, SpillReason};
    use tandem_callcenter::kpi::QueueKpiConfig;
    use tandem_callcenter::{AgentId, NumberId};

    use super::*;

    /// 2027-01-15T08:00:00Z.
    const T0: u64 = 1_800_000_000_000;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(T0 + ms)
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn text(registry: &Registry) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap()
    }

    fn has(text: &str, line: &str) {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }

    fn lacks(text: &str, prefix: &str) {
        assert!(
            !text.lines().any(|l| l.starts_with(prefix)),
            "unexpected {prefix:?} in\n{text}"
        );
    }

    #[test]
    fn a_published_snapshot_reaches_the_text_exposition_with_its_histogram() {
        let registry = Registry::new();
        let mut publisher = register(&registry).unwrap();
        // Nothing is exported before the first snapshot.
        assert_eq!(text(&registry), "");

        let (q, agent, n) = (QueueId(0), AgentId(0), NumberId(0));
        let mut kpi = KpiEngine::new();
        kpi.configure_queue(
            q,
            QueueKpiConfig {
                service_level_threshold: secs(25),
                short_abandon_threshold: secs(5),
            },
        );
        kpi.handle_event(&Event::AgentStateChanged {
            at: at(0),
            agent,
            from: AgentState::LoggedOut,
            to: AgentState::Available,
        });
        let queues = vec!["sales".to_string()];
        let agents = vec!["alice".to_string()];
        let numbers = vec!["4001234567".to_string()];
        let names = EntityNames {
            queues: &queues,
            agents: &agents,
            numbers: &numbers,
        };
        publisher.publish(KpiSnapshot::from_engine(&kpi, &names, at(0)));

        let queued = |call, t| Event::CallQueued {
            at: at(t),
            call: CallId(call),
            queue: q,
            number: Some(n),
            priority: 0,
        };
        for call in 1..=5 {
            kpi.handle_number_event(tandem_callcenter::kpi::NumberEvent::Offered {
                at: at(1_000),
                number: n,
            });
            kpi.handle_event(&queued(call, 1_000));
        }
        kpi.handle_number_event(tandem_callcenter::kpi::NumberEvent::Blocked {
            at: at(1_000),
            number: n,
        });
        // Answered after 10 s (within T = 25 s) and after 30 s (not).
        kpi.handle_event(&Event::CallAnswered {
            at: at(11_000),
            call: CallId(1),
            queue: q,
            agent,
            waited: secs(10),
        });
        kpi.handle_event(&Event::AgentStateChanged {
            at: at(11_000),
            agent,
            from: AgentState::Available,
            to: AgentState::OnCall,
        });
        kpi.handle_event(&Event::CallAnswered {
            at: at(31_000),
            call: CallId(2),
            queue: q,
            agent,
            waited: secs(30),
        });
        // A short abandon, and a spill after 40 s; call 5 still waits.
        kpi.handle_event(&Event::CallAbandoned {
            at: at(3_000),
            call: CallId(3),
            queue: q,
            waited: secs(2),
        });
        kpi.handle_event(&Event::CallSpilled {
            at: at(41_000),
            call: CallId(4),
            queue: q,
            reason: SpillReason::MaxWait,
            waited: secs(40),
            to: Overflow::Voicemail("box".into()),
        });
        let mut snap = KpiSnapshot::from_engine(&kpi, &names, at(45_000));
        let mut agents_by_state = [0; 7];
        agents_by_state[3] = 1;
        snap.set_live(
            q,
            QueueLive {
                waiting: 1,
                longest_wait: secs(44),
                agents: agents_by_state,
            },
        );
        publisher.publish(snap);

        let t = text(&registry);
        has(
            &t,
            r#"tandem_callcenter_calls_offered_total{queue="sales"} 5"#,
        );
        has(
            &t,
            r#"tandem_callcenter_calls_answered_total{queue="sales"} 2"#,
        );
        has(
            &t,
            r#"tandem_callcenter_calls_answered_within_threshold_total{queue="sales"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_calls_abandoned_total{queue="sales"} 0"#,
        );
        has(
            &t,
            r#"tandem_callcenter_calls_short_abandoned_total{queue="sales"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_calls_spilled_total{queue="sales",reason="max_wait"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_calls_spilled_total{queue="sales",reason="queue_full"} 0"#,
        );
        has(&t, r#"tandem_callcenter_queue_waiting{queue="sales"} 1"#);
        has(
            &t,
            r#"tandem_callcenter_queue_longest_wait_seconds{queue="sales"} 44"#,
        );
        // Within the 45 s since the first snapshot: 1 of 5 − 1 short.
        has(
            &t,
            r#"tandem_callcenter_service_level_ratio{queue="sales"} 0.25"#,
        );
        has(&t, r#"tandem_callcenter_asa_seconds{queue="sales"} 20"#);
        has(
            &t,
            r#"tandem_callcenter_service_level_threshold_seconds{queue="sales"} 25"#,
        );
        has(
            &t,
            r#"tandem_callcenter_agents{queue="sales",state="on_call"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_agents{queue="sales",state="available"} 0"#,
        );
        // The window is shorter than a minute: no forecast yet.
        lacks(&t, "tandem_callcenter_erlang_agents_needed");
        // The histogram: T = 25 s is an edge, SL = bucket{le="25"} / count.
        has(&t, "# TYPE tandem_callcenter_wait_seconds histogram");
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_bucket{queue="sales",le="5"} 0"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_bucket{queue="sales",le="10"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_bucket{queue="sales",le="25"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_bucket{queue="sales",le="30"} 2"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_bucket{queue="sales",le="300"} 2"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_bucket{queue="sales",le="+Inf"} 2"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_sum{queue="sales"} 40"#,
        );
        has(
            &t,
            r#"tandem_callcenter_wait_seconds_count{queue="sales"} 2"#,
        );
        let buckets = t
            .lines()
            .filter(|l| l.starts_with("tandem_callcenter_wait_seconds_bucket"))
            .count();
        assert_eq!(buckets, 13, "11 default edges, T and +Inf:\n{t}");
        has(
            &t,
            r#"tandem_callcenter_agent_state{agent="alice",state="on_call"} 1"#,
        );
        has(
            &t,
            r#"tandem_callcenter_agent_state{agent="alice",state="available"} 0"#,
        );
        has(
            &t,
            r#"tandem_callcenter_agent_calls_answered_total{agent="alice"} 2"#,
        );
        has(
            &t,
            r#"tandem_callcenter_number_calls_offered_total{number="4001234567"} 5"#,
        );
        has(
            &t,
            r#"tandem_callcenter_number_calls_blocked_total{number="4001234567"} 1"#,
        );
        // Every family has a HELP line.
        for f in &FAMILIES {
            if t.contains(&format!("# TYPE {} ", f.name)) {
                assert!(t.contains(&format!("# HELP {} ", f.name)), "{}", f.name);
            }
        }
    }

    /// A queue with `offered` calls and `handled` ended calls of 180 s
    /// each since start.
    fn queue(offered: u64, handled: u64) -> QueueSnapshot {
        QueueSnapshot {
            id: QueueId(0),
            name: "sales".into(),
            totals: Counters {
                offered,
                handled,
                talk_ms: handled * 180_000,
                ..Counters::default()
            },
            threshold: secs(20),
            service_level_target: DEFAULT_SERVICE_LEVEL_TARGET,
            waits: WaitBuckets::default(),
            waiting: 0,
            live: None,
            recent: Counters::default(),
            agents_needed: None,
        }
    }

    fn snapshot(at_ms: u64, q: QueueSnapshot) -> KpiSnapshot {
        KpiSnapshot {
            at: at(at_ms),
            queues: vec![q],
            ..KpiSnapshot::default()
        }
    }

    #[test]
    fn the_erlang_forecast_follows_the_last_15_minutes() {
        let registry = Registry::new();
        let mut publisher = register(&registry).unwrap();
        let needed = |registry: &Registry| {
            text(registry).lines().find_map(|l| {
                l.strip_prefix(r#"tandem_callcenter_erlang_agents_needed{queue="sales"} "#)
                    .map(str::to_owned)
            })
        };
        // 1,000 calls before the window starts do not count.
        publisher.publish(snapshot(0, queue(1_000, 1_000)));
        assert_eq!(needed(&registry), None);
        // Then 50 calls in 15 minutes with an AHT of 180 s: 100 per half
        // hour, 10 Erlangs, 14 agents for 80 % within 20 s (the Erlang C
        // example of tandem_callcenter::erlang).
        for i in 1..=90 {
            publisher.publish(snapshot(i * 10_000, queue(1_000 + i * 50 / 90, 1_000)));
        }
        assert_eq!(needed(&registry).as_deref(), Some("14"));
        // A higher target needs more agents.
        let mut s = snapshot(900_000, queue(1_050, 1_050));
        s.set_service_level_target(QueueId(0), 0.95);
        publisher.publish(s);
        let more: u32 = needed(&registry).unwrap().parse().unwrap();
        assert!(more > 14, "{more}");
        // Fifteen quiet minutes later nothing was offered in the window.
        for i in 91..=181 {
            publisher.publish(snapshot(i * 10_000, queue(1_050, 1_050)));
        }
        assert_eq!(needed(&registry).as_deref(), Some("0"));
        let t = text(&registry);
        lacks(&t, "tandem_callcenter_service_level_ratio");
        lacks(&t, "tandem_callcenter_asa_seconds");
        // No call has ever ended: no AHT, no forecast.
        let registry = Registry::new();
        let mut publisher = register(&registry).unwrap();
        publisher.publish(snapshot(0, queue(0, 0)));
        publisher.publish(snapshot(120_000, queue(10, 0)));
        assert_eq!(needed(&registry), None);
    }

    #[test]
    fn live_figures_come_from_the_acd_status() {
        let status = QueueStatus {
            waiting: 3,
            ringing: 1,
            oldest_since: Some(at(10_000)),
            agents: [0, 2, 1, 4, 0, 1, 3],
            estimated_wait: secs(30),
            handle_time: secs(200),
        };
        let live = QueueLive::from_status(&status, at(70_500));
        assert_eq!(live.waiting, 3);
        assert_eq!(live.longest_wait, Duration::from_millis(60_500));
        assert_eq!(live.agents, [0, 2, 1, 4, 0, 1, 3]);
        let empty = QueueStatus {
            oldest_since: None,
            ..status
        };
        assert_eq!(
            QueueLive::from_status(&empty, at(0)).longest_wait,
            Duration::ZERO
        );
        // A snapshot ignores live figures for a queue it does not have.
        let mut s = snapshot(0, queue(0, 0));
        s.set_live(QueueId(7), live);
        assert_eq!(s.queues[0].live, None);
    }
}
