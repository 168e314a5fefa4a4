//! `/api/queues`: each ACD queue live (callers waiting and being rung,
//! the longest wait, members by state, the estimated wait of a caller
//! arriving now) with its KPIs since start and in the current 15-minute
//! interval (CALLCENTER.md, "KPI definitions", computed by
//! `tandem_callcenter::kpi::Counters` exactly as on `/metrics`).

use std::time::Duration;

use tandem_callcenter::QueueId;
use tandem_callcenter::acd::AgentState;
use tandem_callcenter::kpi::{Counters, Entity};

use super::json::{Value, object};
use super::{ApiError, Ctx, Outcome};
use crate::run::Services;

/// Seconds as a JSON number (millisecond precision).
pub(super) fn seconds(d: Duration) -> Value {
    Value::from(d.as_millis() as f64 / 1000.0)
}

fn opt_seconds(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, seconds)
}

/// The KPIs of a set of counters.
pub(super) fn kpis_json(c: &Counters) -> Value {
    object([
        ("offered", Value::from(c.offered)),
        ("answered", Value::from(c.answered)),
        (
            "answered_within_threshold",
            Value::from(c.answered_within_threshold),
        ),
        ("abandoned", Value::from(c.abandoned)),
        ("short_abandoned", Value::from(c.short_abandoned)),
        ("spilled", Value::from(c.spilled_total())),
        ("service_level", Value::from(c.service_level())),
        ("abandon_rate", Value::from(c.abandon_rate())),
        ("asa_seconds", opt_seconds(c.asa())),
        (
            "average_time_to_abandon_seconds",
            opt_seconds(c.average_time_to_abandon()),
        ),
        ("aht_seconds", opt_seconds(c.aht())),
    ])
}

/// Members by state, every state present.
pub(super) fn states_json(counts: &[u32; 7]) -> Value {
    Value::Object(
        AgentState::ALL
            .iter()
            .zip(counts)
            .map(|(s, n)| (s.as_str().to_string(), Value::from(*n)))
            .collect(),
    )
}

fn queue_json(services: &Services, at_ms: u64, q: QueueId) -> Option<Value> {
    let status = services.acd.queue_status(q)?;
    let config = services.acd.queue_config(q)?;
    // Listed members, or everyone with the skills of a skills-only queue.
    let members: Vec<String> = services
        .acd
        .queue_members(q)
        .into_iter()
        .filter_map(|a| services.acd.agent_name(a).map(str::to_string))
        .collect();
    let longest = status.oldest_since.map_or(Duration::ZERO, |t| {
        Duration::from_millis(at_ms.saturating_sub(t.as_millis()))
    });
    let entity = Entity::Queue(q);
    let total = services.kpi.totals(entity).unwrap_or_default();
    let current = services.kpi.current_interval(entity).unwrap_or_default();
    let Value::Object(mut interval) = kpis_json(&current) else {
        return None;
    };
    interval.insert(
        0,
        (
            "start_ms".to_string(),
            Value::from(services.kpi.interval_start().map(|t| t.as_millis())),
        ),
    );
    Some(object([
        ("name", Value::from(config.name.as_str())),
        ("strategy", Value::from(config.strategy.as_str())),
        ("members", Value::from(members)),
        ("waiting", Value::from(status.waiting)),
        ("ringing", Value::from(status.ringing)),
        ("longest_wait_seconds", seconds(longest)),
        ("estimated_wait_seconds", seconds(status.estimated_wait)),
        ("handle_time_seconds", seconds(status.handle_time)),
        ("agents", states_json(&status.agents)),
        (
            "service_level_threshold_seconds",
            seconds(services.kpi.queue_config(q).service_level_threshold),
        ),
        (
            "kpis",
            object([
                ("total", kpis_json(&total)),
                ("interval", Value::Object(interval)),
            ]),
        ),
    ]))
}

/// `GET /api/queues`.
pub(super) fn list(ctx: &mut Ctx<'_>) -> Outcome {
    let at_ms = ctx.now_ms();
    let items = match ctx.services.as_deref() {
        Some(s) => (0..s.acd.len().0)
            .filter_map(|i| queue_json(s, at_ms, QueueId(i as u32)))
            .collect(),
        None => Vec::new(),
    };
    Ok((object([("queues", Value::Array(items))]), None))
}

/// `GET /api/queues/{name}`.
pub(super) fn get(ctx: &mut Ctx<'_>) -> Outcome {
    let at_ms = ctx.now_ms();
    let name = ctx.param(0).to_string();
    let services = ctx.services()?;
    services
        .acd
        .queue_id(&name)
        .and_then(|q| queue_json(services, at_ms, q))
        .map(|v| (v, None))
        .ok_or_else(|| ApiError::not_found(format!("no queue named {name:?}")))
}
