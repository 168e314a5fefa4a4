//! `/api/calls`: the calls the ACD holds.
//!
//! Every call the ACD holds is listed: waiting callers queue by queue in
//! the order they will be served (with their position), then calls being
//! rung (with every agent rung: ring-all rings several) and answered ones
//! (with their agent, and the supervisor monitoring it if any), plus per
//! queue the counts of waiting and ringing.

use tandem_callcenter::acd::CallState;
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
    let (queues, _) = s.acd.len();
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
    let name = |a: AgentId| s.acd.agent_name(a).unwrap_or_default().to_string();
    let list: Vec<Value> = s
        .acd
        .call_list()
        .into_iter()
        .map(|c| {
            let queue = s
                .acd
                .queue_config(c.queue)
                .map_or(String::new(), |q| q.name.clone());
            let (state, position, agents) = match c.state {
                CallState::Waiting { position } => ("waiting", Value::from(position), Vec::new()),
                CallState::Ringing { agents } => (
                    "ringing",
                    Value::Null,
                    agents.into_iter().map(name).collect(),
                ),
                CallState::Answered { agent, held } => (
                    if held { "on_hold" } else { "on_call" },
                    Value::Null,
                    vec![name(agent)],
                ),
            };
            let monitor = s
                .monitors
                .get(&c.call.0)
                .map_or(Value::Null, |(sup, mode, on)| {
                    object([
                        ("supervisor", Value::from(name(*sup))),
                        ("mode", Value::from(mode.as_str())),
                        ("state", Value::from(if *on { "on" } else { "ringing" })),
                    ])
                });
            object([
                ("call", Value::from(c.call.0)),
                ("queue", Value::from(queue.as_str())),
                ("state", Value::from(state)),
                ("position", position),
                ("priority", Value::from(u64::from(c.priority))),
                ("agents", Value::from(agents)),
                ("entered_ms", Value::from(c.entered.as_millis())),
                ("monitor", monitor),
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
