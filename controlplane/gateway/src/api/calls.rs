//! `/api/calls`: the calls the ACD holds.
//!
//! The ACD exposes per agent the call it is ringing for or talking on,
//! and per queue how many callers wait and are being rung, plus the total
//! it holds; it has no iterator over its calls, so a caller still waiting
//! (not yet offered to an agent) is counted in its queue but not listed
//! with its id and position. Calls at agents are listed, one entry per
//! call with every agent rung for it (ring-all rings several).

use std::collections::BTreeMap;

use tandem_callcenter::acd::AgentState;
use tandem_callcenter::{AgentId, QueueId};

use super::json::{Value, object};
use super::{Ctx, Outcome};

/// `GET /api/calls`.
pub(super) fn list(ctx: &mut Ctx<'_>) -> Outcome {
    let Some(s) = ctx.services.as_deref() else {
        return Ok((
            object([
                ("total", Value::from(0u64)),
                ("queues", Value::Array(Vec::new())),
                ("calls", Value::Array(Vec::new())),
            ]),
            None,
        ));
    };
    let (queues, agents) = s.acd.len();
    let mut per_queue = Vec::with_capacity(queues);
    for q in 0..queues {
        let q = QueueId(q as u32);
        if let (Some(status), Some(config)) = (s.acd.queue_status(q), s.acd.queue_config(q)) {
            per_queue.push(object([
                ("queue", Value::from(config.name.as_str())),
                ("waiting", Value::from(status.waiting)),
                ("ringing", Value::from(status.ringing)),
            ]));
        }
    }
    // call id → (state, agents, since)
    let mut calls: BTreeMap<u64, (&'static str, Vec<String>, u64)> = BTreeMap::new();
    for a in 0..agents {
        let a = AgentId(a as u32);
        let Some(status) = s.acd.agent_status(a) else {
            continue;
        };
        let state = match status.state {
            AgentState::Ringing => "ringing",
            AgentState::OnCall => "on_call",
            AgentState::OnHold => "on_hold",
            _ => continue,
        };
        let Some(call) = status.call else { continue };
        let name = s.acd.agent_name(a).unwrap_or_default().to_string();
        let since = status.since.as_millis();
        let entry = calls.entry(call.0).or_insert((state, Vec::new(), since));
        // An answered call outranks the rings of other agents.
        if state != "ringing" {
            entry.0 = state;
            entry.2 = since;
        }
        entry.1.push(name);
    }
    let list: Vec<Value> = calls
        .into_iter()
        .map(|(id, (state, agents, since))| {
            object([
                ("call", Value::from(id)),
                ("state", Value::from(state)),
                ("agents", Value::from(agents)),
                ("since_ms", Value::from(since)),
            ])
        })
        .collect();
    Ok((
        object([
            ("total", Value::from(s.acd.calls() as u64)),
            ("queues", Value::Array(per_queue)),
            ("calls", Value::Array(list)),
        ]),
        None,
    ))
}
